/* ModelProto, GraphProto, NodeProto, AttributeProto, FunctionProto, ValueInfoProto and
 * TypeProto into the structures of ir/model.h (field numbers from onnx/onnx.proto).
 *
 * Messages with repeated children are read twice: the first pass counts the
 * children so their arrays can be allocated once in the arena, the second fills
 * them. Each pass skips nested payloads in O(1), so decoding stays linear. */
#include <string.h>

#include "format/decode.h"
#include "util/alloc.h"
#include "util/status.h"

#define MAX_FIELD 32

static onyx_status oom(void) {
    return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory decoding the model");
}

/* Occurrences of each field number below MAX_FIELD in message r. */
static onyx_status count_fields(const ox_pb *msg, size_t *counts) {
    ox_pb r = *msg;
    ox_pb_field f;
    int more;
    memset(counts, 0, MAX_FIELD * sizeof *counts);
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) return ONYX_OK;
        if (f.num < MAX_FIELD) counts[f.num]++;
    }
}

/* An arena array of n elements of size sz, or NULL when n is 0. */
static onyx_status alloc_array(ox_dec *d, size_t n, size_t sz, void *out) {
    void *p = NULL;
    if (n) {
        p = ox_arena_array(d->arena, n, sz);
        if (!p) return oom();
    }
    memcpy(out, &p, sizeof p);
    return ONYX_OK;
}

static const char *norm_domain(const char *s) {
    return strcmp(s, "ai.onnx") == 0 ? ox_dec_empty : s;
}

/* ---- TypeProto ------------------------------------------------------------------ */

static onyx_status dec_shape(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_type *t) {
    ox_pb r;
    ox_pb_field f;
    int more;
    size_t counts[MAX_FIELD];
    OX_TRY(ox_pb_sub(parent, pf, "TensorShapeProto", &r));
    OX_TRY(count_fields(&r, counts));
    if (counts[1] > INT32_MAX) return ox_error(ONYX_ERR_LIMIT, "shape has too many dims");
    OX_TRY(alloc_array(d, counts[1], sizeof(ox_dim), &t->dims));
    t->has_shape = 1;
    t->rank = 0;
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        if (f.num != 1) continue;
        ox_dim *dim = &t->dims[t->rank++];
        ox_pb dr;
        ox_pb_field g;
        dim->value = -1;
        OX_TRY(ox_pb_sub(&r, &f, "TensorShapeProto.Dimension", &dr));
        while (1) {
            OX_TRY(ox_pb_next(&dr, &g, &more));
            if (!more) break;
            if (g.num == 1) {
                int64_t v;
                OX_TRY(ox_pb_i64(&dr, &g, "dim_value", &v));
                /* oneof: a later dim_value replaces a dim_param */
                dim->param = NULL;
                dim->has_value = v >= 0;
                dim->value = v >= 0 ? v : -1;
            } else if (g.num == 2) {
                OX_TRY(ox_dec_string(d, &dr, &g, "dim_param", &dim->param));
                dim->has_value = 0;
                dim->value = -1;
            }
        }
    }
    return ONYX_OK;
}

onyx_status ox_dec_type(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_type **out) {
    ox_pb r;
    ox_pb_field f;
    int more;
    OX_TRY(ox_pb_sub(parent, pf, "TypeProto", &r));
    ox_type *t = ox_arena_alloc(d->arena, sizeof *t);
    if (!t) return oom();
    *out = t;
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        if (f.num == 6) {
            OX_TRY(ox_dec_string(d, &r, &f, "denotation", &t->denotation));
            continue;
        }
        const char *name;
        int kind;
        switch (f.num) {
        case 1:
            kind = OX_TYPE_TENSOR;
            name = "TypeProto.Tensor";
            break;
        case 4:
            kind = OX_TYPE_SEQUENCE;
            name = "TypeProto.Sequence";
            break;
        case 5:
            kind = OX_TYPE_MAP;
            name = "TypeProto.Map";
            break;
        case 9:
            kind = OX_TYPE_OPTIONAL;
            name = "TypeProto.Optional";
            break;
        case 8:
            kind = OX_TYPE_SPARSE_TENSOR;
            name = "TypeProto.SparseTensor";
            break;
        default: continue; /* opaque_type and unknown fields */
        }
        /* oneof: the last member present wins */
        t->kind = kind;
        t->elem_type = 0;
        t->has_shape = 0;
        t->rank = 0;
        t->dims = NULL;
        t->elem = NULL;
        ox_pb v;
        ox_pb_field g;
        OX_TRY(ox_pb_sub(&r, &f, name, &v));
        while (1) {
            OX_TRY(ox_pb_next(&v, &g, &more));
            if (!more) break;
            if (kind == OX_TYPE_TENSOR || kind == OX_TYPE_SPARSE_TENSOR) {
                if (g.num == 1)
                    OX_TRY(ox_pb_i32(&v, &g, "elem_type", &t->elem_type));
                else if (g.num == 2)
                    OX_TRY(dec_shape(d, &v, &g, t));
            } else if (kind == OX_TYPE_MAP) {
                if (g.num == 1)
                    OX_TRY(ox_pb_i32(&v, &g, "key_type", &t->elem_type));
                else if (g.num == 2)
                    OX_TRY(ox_dec_type(d, &v, &g, &t->elem));
            } else if (g.num == 1) {
                OX_TRY(ox_dec_type(d, &v, &g, &t->elem));
            }
        }
    }
    return ONYX_OK;
}

static onyx_status dec_value_info(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf,
                                  ox_value_info *vi) {
    ox_pb r;
    ox_pb_field f;
    int more;
    vi->name = vi->doc = ox_dec_empty;
    vi->type = NULL;
    OX_TRY(ox_pb_sub(parent, pf, "ValueInfoProto", &r));
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) return ONYX_OK;
        if (f.num == 1)
            OX_TRY(ox_dec_string(d, &r, &f, "name", &vi->name));
        else if (f.num == 2)
            OX_TRY(ox_dec_type(d, &r, &f, &vi->type));
        else if (f.num == 3)
            OX_TRY(ox_dec_string(d, &r, &f, "doc_string", &vi->doc));
    }
}

static onyx_status dec_opset(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_opset *o) {
    ox_pb r;
    ox_pb_field f;
    int more;
    o->domain = ox_dec_empty;
    o->version = 0;
    OX_TRY(ox_pb_sub(parent, pf, "OperatorSetIdProto", &r));
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        if (f.num == 1)
            OX_TRY(ox_dec_string(d, &r, &f, "domain", &o->domain));
        else if (f.num == 2)
            OX_TRY(ox_pb_i64(&r, &f, "version", &o->version));
    }
    o->domain = norm_domain(o->domain);
    return ONYX_OK;
}

/* ---- AttributeProto / NodeProto / GraphProto -------------------------------------- */

static onyx_status dec_graph(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_graph **out);

/* AttributeProto field numbers */
enum {
    A_NAME = 1,
    A_F = 2,
    A_I = 3,
    A_S = 4,
    A_T = 5,
    A_G = 6,
    A_FLOATS = 7,
    A_INTS = 8,
    A_STRINGS = 9,
    A_TENSORS = 10,
    A_GRAPHS = 11,
    A_DOC = 13,
    A_TP = 14,
    A_TYPE_PROTOS = 15,
    A_TYPE = 20,
    A_REF = 21,
    A_SPARSE = 22,
    A_SPARSES = 23
};

/* The attribute type a field implies, for files that omit `type` (IR version < 2). */
static int type_of_field(uint32_t num) {
    switch (num) {
    case A_F: return OX_ATTR_FLOAT;
    case A_I: return OX_ATTR_INT;
    case A_S: return OX_ATTR_STRING;
    case A_T: return OX_ATTR_TENSOR;
    case A_G: return OX_ATTR_GRAPH;
    case A_SPARSE: return OX_ATTR_SPARSE_TENSOR;
    case A_TP: return OX_ATTR_TYPE_PROTO;
    case A_FLOATS: return OX_ATTR_FLOATS;
    case A_INTS: return OX_ATTR_INTS;
    case A_STRINGS: return OX_ATTR_STRINGS;
    case A_TENSORS: return OX_ATTR_TENSORS;
    case A_GRAPHS: return OX_ATTR_GRAPHS;
    case A_SPARSES: return OX_ATTR_SPARSE_TENSORS;
    case A_TYPE_PROTOS: return OX_ATTR_TYPE_PROTOS;
    default: return OX_ATTR_UNDEFINED;
    }
}

static uint32_t field_of_list(int type) {
    switch (type) {
    case OX_ATTR_FLOATS: return A_FLOATS;
    case OX_ATTR_INTS: return A_INTS;
    case OX_ATTR_STRINGS: return A_STRINGS;
    case OX_ATTR_TENSORS: return A_TENSORS;
    case OX_ATTR_GRAPHS: return A_GRAPHS;
    case OX_ATTR_SPARSE_TENSORS: return A_SPARSES;
    case OX_ATTR_TYPE_PROTOS: return A_TYPE_PROTOS;
    default: return 0;
    }
}

static onyx_status dec_attr_body(ox_dec *d, ox_pb *r, ox_attr *a) {
    ox_pb r2 = *r;
    ox_pb_field f;
    int more, type = 0, has_type = 0;
    size_t n[MAX_FIELD];
    int seen[MAX_FIELD];
    memset(n, 0, sizeof n);
    memset(seen, 0, sizeof seen);
    /* pass 1: singular fields, list lengths */
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        if (f.num < MAX_FIELD) seen[f.num] = 1;
        switch (f.num) {
        case A_NAME: OX_TRY(ox_dec_string(d, r, &f, "name", &a->name)); break;
        case A_REF: OX_TRY(ox_dec_string(d, r, &f, "ref_attr_name", &a->ref_attr_name)); break;
        case A_DOC: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &a->doc)); break;
        case A_TYPE: {
            int32_t v;
            OX_TRY(ox_pb_i32(r, &f, "type", &v));
            type = v;
            has_type = 1;
            break;
        }
        case A_F: OX_TRY(ox_pb_f32(r, &f, "f", &a->f)); break;
        case A_I: OX_TRY(ox_pb_i64(r, &f, "i", &a->i)); break;
        case A_S: OX_TRY(ox_dec_bytes(d, r, &f, "s", &a->s)); break;
        case A_T:
            if (!a->t && !(a->t = ox_arena_alloc(d->arena, sizeof *a->t))) return oom();
            OX_TRY(ox_dec_tensor(d, r, &f, a->t));
            break;
        case A_G: OX_TRY(dec_graph(d, r, &f, &a->g)); break;
        case A_SPARSE:
            if (!a->sparse && !(a->sparse = ox_arena_alloc(d->arena, sizeof *a->sparse)))
                return oom();
            OX_TRY(ox_dec_sparse(d, r, &f, a->sparse));
            break;
        case A_TP: OX_TRY(ox_dec_type(d, r, &f, &a->tp)); break;
        case A_FLOATS: OX_TRY(ox_pb_rep_count(r, &f, OX_PB_I32, "floats", &n[f.num])); break;
        case A_INTS: OX_TRY(ox_pb_rep_count(r, &f, OX_PB_VARINT, "ints", &n[f.num])); break;
        case A_STRINGS:
        case A_TENSORS:
        case A_GRAPHS:
        case A_SPARSES:
        case A_TYPE_PROTOS:
            OX_TRY(ox_pb_want(r, &f, OX_PB_LEN, "list"));
            n[f.num]++;
            break;
        default: break;
        }
    }
    if (!has_type || type == OX_ATTR_UNDEFINED) {
        static const uint32_t order[] = {A_F,       A_I,      A_S,       A_T,          A_G,
                                         A_SPARSE,  A_TP,     A_FLOATS,  A_INTS,       A_STRINGS,
                                         A_TENSORS, A_GRAPHS, A_SPARSES, A_TYPE_PROTOS};
        type = OX_ATTR_UNDEFINED;
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            if (seen[order[i]] && (order[i] < A_FLOATS || order[i] == A_TP ||
                                   order[i] == A_SPARSE || n[order[i]] > 0)) {
                type = type_of_field(order[i]);
                break;
            }
    } else if (type < 0 || type > OX_ATTR_TYPE_PROTOS) {
        return ox_error(ONYX_ERR_INVALID_MODEL, "invalid attribute type %d", type);
    }
    a->type = type;
    uint32_t lf = field_of_list(type);
    if (!lf || n[lf] == 0) return ONYX_OK;
    /* pass 2: the list the type names */
    size_t cnt = n[lf];
    switch (lf) {
    case A_FLOATS: OX_TRY(alloc_array(d, cnt, sizeof(float), &a->floats)); break;
    case A_INTS: OX_TRY(alloc_array(d, cnt, sizeof(int64_t), &a->ints)); break;
    case A_STRINGS: OX_TRY(alloc_array(d, cnt, sizeof(ox_bytes), &a->strings)); break;
    case A_TENSORS: OX_TRY(alloc_array(d, cnt, sizeof(ox_tensor_proto), &a->tensors)); break;
    case A_GRAPHS: OX_TRY(alloc_array(d, cnt, sizeof(ox_graph *), &a->graphs)); break;
    case A_SPARSES:
        OX_TRY(alloc_array(d, cnt, sizeof(ox_sparse_tensor), &a->sparse_tensors));
        break;
    default: OX_TRY(alloc_array(d, cnt, sizeof(ox_type *), &a->type_protos)); break;
    }
    size_t k = 0;
    while (1) {
        OX_TRY(ox_pb_next(&r2, &f, &more));
        if (!more) break;
        if (f.num != lf) continue;
        if (lf == A_FLOATS || lf == A_INTS) {
            ox_pb_iter it;
            uint64_t v;
            ox_pb_rep_begin(&r2, &f, lf == A_FLOATS ? OX_PB_I32 : OX_PB_VARINT, &it);
            while (ox_pb_rep_next(&it, &v)) {
                if (lf == A_INTS) {
                    a->ints[k++] = ox_pb_u2i64(v);
                } else {
                    uint32_t b = (uint32_t)v;
                    memcpy(&a->floats[k++], &b, 4);
                }
            }
            continue;
        }
        switch (lf) {
        case A_STRINGS: OX_TRY(ox_dec_bytes(d, &r2, &f, "strings", &a->strings[k])); break;
        case A_TENSORS: OX_TRY(ox_dec_tensor(d, &r2, &f, &a->tensors[k])); break;
        case A_GRAPHS: OX_TRY(dec_graph(d, &r2, &f, &a->graphs[k])); break;
        case A_SPARSES: OX_TRY(ox_dec_sparse(d, &r2, &f, &a->sparse_tensors[k])); break;
        default: OX_TRY(ox_dec_type(d, &r2, &f, &a->type_protos[k])); break;
        }
        k++;
    }
    a->n = k;
    return ONYX_OK;
}

static onyx_status dec_attr(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_attr *a) {
    ox_pb r;
    memset(a, 0, sizeof *a);
    a->name = a->doc = ox_dec_empty;
    a->s.data = ox_dec_empty;
    OX_TRY(ox_pb_sub(parent, pf, "AttributeProto", &r));
    onyx_status st = dec_attr_body(d, &r, a);
    if (st != ONYX_OK) return ox_error_prefix(st, "attribute '%s': ", a->name);
    return ONYX_OK;
}

/* A repeated string field into an arena array (count known from the first pass). */
static onyx_status dec_str_list(ox_dec *d, const ox_pb *r, const ox_pb_field *f, const char *name,
                                const char **arr, size_t *n) {
    return ox_dec_string(d, r, f, name, &arr[(*n)++]);
}

static onyx_status dec_node_body(ox_dec *d, ox_pb *r, ox_node *n) {
    size_t c[MAX_FIELD];
    ox_pb_field f;
    int more;
    OX_TRY(count_fields(r, c));
    OX_TRY(alloc_array(d, c[1], sizeof(char *), &n->inputs));
    OX_TRY(alloc_array(d, c[2], sizeof(char *), &n->outputs));
    OX_TRY(alloc_array(d, c[5], sizeof(ox_attr), &n->attrs));
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        switch (f.num) {
        case 1: OX_TRY(dec_str_list(d, r, &f, "input", n->inputs, &n->n_inputs)); break;
        case 2: OX_TRY(dec_str_list(d, r, &f, "output", n->outputs, &n->n_outputs)); break;
        case 3: OX_TRY(ox_dec_string(d, r, &f, "name", &n->name)); break;
        case 4: OX_TRY(ox_dec_string(d, r, &f, "op_type", &n->op_type)); break;
        case 5: OX_TRY(dec_attr(d, r, &f, &n->attrs[n->n_attrs++])); break;
        case 6: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &n->doc)); break;
        case 7: OX_TRY(ox_dec_string(d, r, &f, "domain", &n->domain)); break;
        case 8: OX_TRY(ox_dec_string(d, r, &f, "overload", &n->overload)); break;
        default: break;
        }
    }
    n->domain = norm_domain(n->domain);
    return ONYX_OK;
}

static onyx_status dec_node(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf, ox_node *n,
                            size_t index) {
    ox_pb r;
    memset(n, 0, sizeof *n);
    n->name = n->op_type = n->domain = n->overload = n->doc = ox_dec_empty;
    OX_TRY(ox_pb_sub(parent, pf, "NodeProto", &r));
    onyx_status st = dec_node_body(d, &r, n);
    if (st != ONYX_OK)
        return ox_error_prefix(st, "node %zu%s%s%s%s%s: ", index, n->name[0] ? " '" : "", n->name,
                               n->name[0] ? "'" : "", n->op_type[0] ? " " : "", n->op_type);
    return ONYX_OK;
}

static onyx_status dec_graph_body(ox_dec *d, ox_pb *r, ox_graph *g) {
    size_t c[MAX_FIELD];
    ox_pb_field f;
    int more;
    OX_TRY(count_fields(r, c));
    OX_TRY(alloc_array(d, c[1], sizeof(ox_node), &g->nodes));
    OX_TRY(alloc_array(d, c[5], sizeof(ox_tensor_proto), &g->initializers));
    OX_TRY(alloc_array(d, c[15], sizeof(ox_sparse_tensor), &g->sparse_initializers));
    OX_TRY(alloc_array(d, c[11], sizeof(ox_value_info), &g->inputs));
    OX_TRY(alloc_array(d, c[12], sizeof(ox_value_info), &g->outputs));
    OX_TRY(alloc_array(d, c[13], sizeof(ox_value_info), &g->value_info));
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        switch (f.num) {
        case 1:
            OX_TRY(dec_node(d, r, &f, &g->nodes[g->n_nodes], g->n_nodes));
            g->n_nodes++;
            break;
        case 2: OX_TRY(ox_dec_string(d, r, &f, "name", &g->name)); break;
        case 5: {
            ox_tensor_proto *t = &g->initializers[g->n_initializers++];
            onyx_status st = ox_dec_tensor(d, r, &f, t);
            if (st != ONYX_OK)
                return ox_error_prefix(st, "initializer %zu: ", g->n_initializers - 1);
            break;
        }
        case 15: {
            ox_sparse_tensor *t = &g->sparse_initializers[g->n_sparse_initializers++];
            onyx_status st = ox_dec_sparse(d, r, &f, t);
            if (st != ONYX_OK)
                return ox_error_prefix(st,
                                       "sparse initializer %zu: ", g->n_sparse_initializers - 1);
            break;
        }
        case 10: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &g->doc)); break;
        case 11: OX_TRY(dec_value_info(d, r, &f, &g->inputs[g->n_inputs++])); break;
        case 12: OX_TRY(dec_value_info(d, r, &f, &g->outputs[g->n_outputs++])); break;
        case 13: OX_TRY(dec_value_info(d, r, &f, &g->value_info[g->n_value_info++])); break;
        default: break;
        }
    }
    return ONYX_OK;
}

static onyx_status dec_graph(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf,
                             ox_graph **out) {
    ox_pb r;
    ox_graph *g = ox_arena_alloc(d->arena, sizeof *g);
    if (!g) return oom();
    g->name = g->doc = ox_dec_empty;
    *out = g;
    OX_TRY(ox_pb_sub(parent, pf, "GraphProto", &r));
    onyx_status st = dec_graph_body(d, &r, g);
    if (st != ONYX_OK && g->name[0]) return ox_error_prefix(st, "graph '%s': ", g->name);
    if (st != ONYX_OK) return ox_error_prefix(st, "graph: ");
    return ONYX_OK;
}

/* ---- FunctionProto / ModelProto ------------------------------------------------------ */

static onyx_status dec_function_body(ox_dec *d, ox_pb *r, ox_function *fn) {
    size_t c[MAX_FIELD];
    ox_pb_field f;
    int more;
    OX_TRY(count_fields(r, c));
    OX_TRY(alloc_array(d, c[4], sizeof(char *), &fn->inputs));
    OX_TRY(alloc_array(d, c[5], sizeof(char *), &fn->outputs));
    OX_TRY(alloc_array(d, c[6], sizeof(char *), &fn->attributes));
    OX_TRY(alloc_array(d, c[11], sizeof(ox_attr), &fn->attribute_protos));
    OX_TRY(alloc_array(d, c[7], sizeof(ox_node), &fn->nodes));
    OX_TRY(alloc_array(d, c[9], sizeof(ox_opset), &fn->opsets));
    OX_TRY(alloc_array(d, c[12], sizeof(ox_value_info), &fn->value_info));
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        switch (f.num) {
        case 1: OX_TRY(ox_dec_string(d, r, &f, "name", &fn->name)); break;
        case 4: OX_TRY(dec_str_list(d, r, &f, "input", fn->inputs, &fn->n_inputs)); break;
        case 5: OX_TRY(dec_str_list(d, r, &f, "output", fn->outputs, &fn->n_outputs)); break;
        case 6:
            OX_TRY(dec_str_list(d, r, &f, "attribute", fn->attributes, &fn->n_attributes));
            break;
        case 11: OX_TRY(dec_attr(d, r, &f, &fn->attribute_protos[fn->n_attribute_protos++])); break;
        case 7:
            OX_TRY(dec_node(d, r, &f, &fn->nodes[fn->n_nodes], fn->n_nodes));
            fn->n_nodes++;
            break;
        case 8: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &fn->doc)); break;
        case 9: OX_TRY(dec_opset(d, r, &f, &fn->opsets[fn->n_opsets++])); break;
        case 10: OX_TRY(ox_dec_string(d, r, &f, "domain", &fn->domain)); break;
        case 12: OX_TRY(dec_value_info(d, r, &f, &fn->value_info[fn->n_value_info++])); break;
        case 13: OX_TRY(ox_dec_string(d, r, &f, "overload", &fn->overload)); break;
        default: break;
        }
    }
    return ONYX_OK;
}

static onyx_status dec_function(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf,
                                ox_function *fn, size_t index) {
    ox_pb r;
    memset(fn, 0, sizeof *fn);
    fn->name = fn->domain = fn->overload = fn->doc = ox_dec_empty;
    OX_TRY(ox_pb_sub(parent, pf, "FunctionProto", &r));
    onyx_status st = dec_function_body(d, &r, fn);
    if (st != ONYX_OK) return ox_error_prefix(st, "function %zu ('%s'): ", index, fn->name);
    return ONYX_OK;
}

static onyx_status dec_model(ox_dec *d, ox_pb *r, ox_model *m) {
    size_t c[MAX_FIELD];
    ox_pb_field f;
    int more;
    m->producer_name = m->producer_version = m->domain = m->doc = ox_dec_empty;
    OX_TRY(count_fields(r, c));
    OX_TRY(alloc_array(d, c[8], sizeof(ox_opset), &m->opsets));
    OX_TRY(alloc_array(d, c[14], sizeof(ox_string_pair), &m->metadata));
    OX_TRY(alloc_array(d, c[25], sizeof(ox_function), &m->functions));
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        switch (f.num) {
        case 1: OX_TRY(ox_pb_i64(r, &f, "ir_version", &m->ir_version)); break;
        case 2: OX_TRY(ox_dec_string(d, r, &f, "producer_name", &m->producer_name)); break;
        case 3: OX_TRY(ox_dec_string(d, r, &f, "producer_version", &m->producer_version)); break;
        case 4: OX_TRY(ox_dec_string(d, r, &f, "domain", &m->domain)); break;
        case 5: OX_TRY(ox_pb_i64(r, &f, "model_version", &m->model_version)); break;
        case 6: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &m->doc)); break;
        case 7: OX_TRY(dec_graph(d, r, &f, &m->graph)); break;
        case 8: OX_TRY(dec_opset(d, r, &f, &m->opsets[m->n_opsets++])); break;
        case 14: OX_TRY(ox_dec_string_pair(d, r, &f, &m->metadata[m->n_metadata++])); break;
        case 25:
            OX_TRY(dec_function(d, r, &f, &m->functions[m->n_functions], m->n_functions));
            m->n_functions++;
            break;
        default: break;
        }
    }
    return ONYX_OK;
}

onyx_status ox_decode_model(ox_model *m) {
    ox_dec d;
    ox_pb r;
    memset(&d, 0, sizeof d);
    d.arena = &m->arena;
    d.zero_copy = 1;
    d.m = m;
    if (!m->bytes && m->size) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "model bytes are NULL");
    ox_pb_init(&r, m->bytes, m->size, "ModelProto");
    onyx_status st = dec_model(&d, &r, m);
    ox_dec_done(&d);
    return st;
}

onyx_status ox_decode_tensor_file(const void *bytes, size_t size, ox_tensor *out, char **name_out) {
    if (!bytes && size) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "tensor bytes are NULL");
    if (!out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "no output tensor");
    ox_arena arena;
    ox_dec d;
    ox_pb r;
    ox_tensor_proto p;
    ox_arena_init(&arena);
    memset(&d, 0, sizeof d);
    d.arena = &arena;
    d.zero_copy = 1; /* copied out below */
    ox_pb_init(&r, bytes, size, "TensorProto");
    onyx_status st = ox_dec_tensor_msg(&d, &r, &p);
    char *name = NULL;
    if (st == ONYX_OK && name_out && !(name = ox_strdup(p.name))) st = oom();
    ox_tensor t;
    if (st == ONYX_OK) st = ox_dec_tensor_copy_out(&p, &t);
    ox_dec_done(&d);
    ox_arena_free(&arena);
    if (st != ONYX_OK) {
        ox_free(name);
        return st;
    }
    *out = t;
    if (name_out) *name_out = name;
    return ONYX_OK;
}
