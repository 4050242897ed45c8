/* The sequence and optional op family: SequenceEmpty, SequenceConstruct,
 * SequenceInsert, SequenceAt, SequenceErase, SequenceLength, Optional,
 * OptionalHasElement, OptionalGetElement; SplitToSequence and ConcatFromSequence
 * live in ops/sequence_tensor.c. SequenceMap needs subgraphs and is not here.
 *
 * Ops whose output is a sequence or an optional build it while running
 * (OX_OP_ALLOC_IN_RUN); their infer only checks the inputs. Ops with tensor
 * outputs infer the shape like any op, asking for the value (OX_NEED_VALUE) when
 * the shape depends on a sequence's items.
 */
#include <stdio.h>
#include <string.h>

#include "ops/sequence.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"

/* ---- shared helpers ------------------------------------------------------------------ */

const char *ox_seq_describe(const ox_tensor *t, char *buf, size_t cap) {
    if (t->dtype == OX_DTYPE_SEQUENCE) {
        const ox_sequence *s = t->data;
        if (s)
            snprintf(buf, cap, "a sequence of %zu", s->n);
        else
            snprintf(buf, cap, "a sequence");
    } else if (t->dtype == OX_DTYPE_NONE) {
        snprintf(buf, cap, "an empty optional");
    } else {
        char d[300];
        snprintf(buf, cap, "a tensor %s", ox_tensor_describe(t, d, sizeof d));
    }
    return buf;
}

onyx_status ox_seq_input(const ox_op_ctx *c, size_t i, const char *what, const ox_sequence **out) {
    char buf[400];
    if (!ox_has_input(c, i))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu ('%s') is required", i, what);
    const ox_tensor *t = c->in[i];
    if (t->dtype != OX_DTYPE_SEQUENCE)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' is %s, expected a sequence", what,
                        ox_seq_describe(t, buf, sizeof buf));
    if (!t->data) return OX_NEED_VALUE;
    *out = t->data;
    return ONYX_OK;
}

onyx_status ox_seq_tensor_input(const ox_op_ctx *c, size_t i, const char *what) {
    char buf[400];
    if (!ox_has_input(c, i))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu ('%s') is required", i, what);
    const ox_tensor *t = c->in[i];
    if (!ox_dtype_valid(t->dtype))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' is %s, expected a tensor", what,
                        ox_seq_describe(t, buf, sizeof buf));
    if (!ox_tx_known(t)) return OX_NEED_VALUE;
    return ONYX_OK;
}

onyx_status ox_seq_copy_to_output(ox_op_ctx *c, size_t i, const ox_tensor *src) {
    if (!ox_has_output(c, i)) return ONYX_OK;
    ox_tensor *o = c->out[i];
    if (src->dtype == OX_DTYPE_SEQUENCE || src->dtype == OX_DTYPE_NONE) {
        ox_tensor v;
        onyx_status st = ox_value_copy(src, &v);
        if (st != ONYX_OK) return ox_error(st, "out of memory copying a sequence");
        *o = v;
        return ONYX_OK;
    }
    ox_set_shape(o, src->dtype, src->rank, src->dims);
    o->data = NULL;
    OX_TRY(c->alloc_output(c, i));
    return ox_tx_copy(o->data, src->data, ox_tensor_count(src), src->dtype);
}

void ox_seq_set_output(ox_op_ctx *c, size_t i, ox_tensor *v) {
    if (ox_has_output(c, i))
        *c->out[i] = *v;
    else
        ox_tensor_free_data(v);
    v->data = NULL;
}

/* Whether the node names input i (prepare sees constants only in c->in). */
static int node_has_input(const ox_op_ctx *c, size_t i) {
    return i < c->node->n_inputs && c->node->inputs[i] && c->node->inputs[i][0];
}

/* Read a position input: an int32/int64 scalar (a one-element 1-D tensor is
 * accepted too, as models in the wild use it). */
static onyx_status read_position(const ox_tensor *t, int64_t *out) {
    char buf[300];
    if (t->dtype != ONYX_DTYPE_INT32 && t->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                        "input 'position' is %s, expected an int32 or int64 scalar",
                        ox_seq_describe(t, buf, sizeof buf));
    if (t->rank > 1 || ox_tensor_count(t) != 1)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input 'position' must be a scalar, got shape %s",
                        ox_shape_describe(t->rank, t->dims, buf, sizeof buf));
    if (!t->data) return OX_NEED_VALUE;
    *out = ox_tensor_get_int(t, 0);
    return ONYX_OK;
}

/* Turn position p into an index: accepted range [-n, n - 1], or [-n, n] when
 * allow_end (inserting after the last item). */
static onyx_status norm_position(int64_t p, size_t n, int allow_end, size_t *out) {
    int64_t len = (int64_t)n, hi = allow_end ? len : len - 1;
    if (p < -len || p > hi) {
        if (hi < -len)
            return ox_error(ONYX_ERR_RUNTIME,
                            "position %lld is out of range: the sequence is empty (length 0)",
                            (long long)p);
        return ox_error(ONYX_ERR_RUNTIME,
                        "position %lld is out of range [%lld, %lld] for a sequence of length %zu",
                        (long long)p, (long long)-len, (long long)hi, n);
    }
    *out = (size_t)(p < 0 ? p + len : p);
    return ONYX_OK;
}

/* Insert a copy of v into s at pos. */
static onyx_status insert_copy(ox_sequence *s, size_t pos, const ox_tensor *v) {
    ox_tensor item;
    onyx_status st = ox_value_copy(v, &item);
    if (st != ONYX_OK) return ox_error(st, "out of memory copying a sequence item");
    st = ox_sequence_insert(s, pos, &item);
    if (st != ONYX_OK) {
        ox_tensor_free_data(&item);
        return ox_error(st, "out of memory growing a sequence");
    }
    return ONYX_OK;
}

/* A new sequence in *out holding copies of src's items except the one at skip
 * (SIZE_MAX: keep all). */
static onyx_status copy_sequence(const ox_sequence *src, size_t skip, ox_tensor *out) {
    ox_tensor v;
    if (ox_sequence_init(&v, src->elem_dtype) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a sequence");
    for (size_t i = 0; i < src->n; i++) {
        if (i == skip) continue;
        onyx_status st = insert_copy(v.data, ((ox_sequence *)v.data)->n, &src->items[i]);
        if (st != ONYX_OK) {
            ox_tensor_free_data(&v);
            return st;
        }
    }
    *out = v;
    return ONYX_OK;
}

/* ---- SequenceEmpty ------------------------------------------------------------------- */

static onyx_status empty_dtype(ox_op_ctx *c, int32_t *dtype) {
    int64_t d = ox_attr_int(c, "dtype", ONYX_DTYPE_FLOAT);
    OX_TRY(ox_op_status(c));
    if (d <= ONYX_DTYPE_UNDEFINED || d > 0x7fffffff || !ox_dtype_valid((int32_t)d))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'dtype' is %lld, not a tensor element type",
                        (long long)d);
    *dtype = (int32_t)d;
    return ONYX_OK;
}

static onyx_status seq_empty_prepare(ox_op_ctx *c) {
    int32_t d = ONYX_DTYPE_FLOAT;
    return empty_dtype(c, &d);
}

static onyx_status seq_empty_infer(ox_op_ctx *c) {
    int32_t d = ONYX_DTYPE_FLOAT;
    return empty_dtype(c, &d);
}

static onyx_status seq_empty_run(ox_op_ctx *c) {
    int32_t d = ONYX_DTYPE_FLOAT;
    OX_TRY(empty_dtype(c, &d));
    ox_tensor v;
    if (ox_sequence_init(&v, d) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a sequence");
    ox_seq_set_output(c, 0, &v);
    return ONYX_OK;
}

/* ---- SequenceConstruct ---------------------------------------------------------------- */

static onyx_status seq_construct_infer(ox_op_ctx *c) {
    if (c->n_in == 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "SequenceConstruct needs at least one input");
    onyx_status need = ONYX_OK;
    for (size_t i = 0; i < c->n_in; i++) {
        onyx_status st = ox_seq_tensor_input(c, i, "inputs");
        if (st == OX_NEED_VALUE) {
            need = st;
            continue;
        }
        OX_TRY(st);
        if (c->in[i]->dtype != c->in[0]->dtype)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                            "input %zu is %s but input 0 is %s: all inputs must have one type", i,
                            ox_dtype_name(c->in[i]->dtype), ox_dtype_name(c->in[0]->dtype));
    }
    return need;
}

static onyx_status seq_construct_run(ox_op_ctx *c) {
    OX_TRY(seq_construct_infer(c));
    ox_tensor v;
    if (ox_sequence_init(&v, c->in[0]->dtype) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a sequence");
    for (size_t i = 0; i < c->n_in; i++) {
        onyx_status st = insert_copy(v.data, i, c->in[i]);
        if (st != ONYX_OK) {
            ox_tensor_free_data(&v);
            return st;
        }
    }
    ox_seq_set_output(c, 0, &v);
    return ONYX_OK;
}

/* ---- SequenceInsert ------------------------------------------------------------------- */

/* Checks the inputs; *pos receives the insertion index. */
static onyx_status seq_insert_check(ox_op_ctx *c, const ox_sequence **seq, size_t *pos) {
    OX_TRY(ox_seq_input(c, 0, "input_sequence", seq));
    OX_TRY(ox_seq_tensor_input(c, 1, "tensor"));
    const ox_tensor *t = c->in[1];
    int32_t ed = (*seq)->elem_dtype;
    if (ed != ONYX_DTYPE_UNDEFINED && t->dtype != ed)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                        "input 'tensor' is %s but the sequence holds %s tensors", ox_dtype_name(t->dtype),
                        ox_dtype_name(ed));
    int64_t p = (int64_t)(*seq)->n;
    if (ox_has_input(c, 2)) OX_TRY(read_position(c->in[2], &p));
    return norm_position(p, (*seq)->n, 1, pos);
}

static onyx_status seq_insert_infer(ox_op_ctx *c) {
    const ox_sequence *s;
    size_t pos;
    return seq_insert_check(c, &s, &pos);
}

static onyx_status seq_insert_run(ox_op_ctx *c) {
    const ox_sequence *s;
    size_t pos;
    OX_TRY(seq_insert_check(c, &s, &pos));
    ox_tensor v;
    OX_TRY(copy_sequence(s, (size_t)-1, &v));
    onyx_status st = insert_copy(v.data, pos, c->in[1]);
    if (st != ONYX_OK) {
        ox_tensor_free_data(&v);
        return st;
    }
    ox_seq_set_output(c, 0, &v);
    return ONYX_OK;
}

/* ---- SequenceAt ----------------------------------------------------------------------- */

static onyx_status seq_at_item(ox_op_ctx *c, const ox_tensor **item) {
    const ox_sequence *s;
    int64_t p = 0;
    size_t pos;
    onyx_status st = ox_seq_input(c, 0, "input_sequence", &s);
    if (!ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 1 ('position') is required");
    onyx_status sp = read_position(c->in[1], &p);
    if (st != ONYX_OK) return st;
    if (sp != ONYX_OK) return sp;
    OX_TRY(norm_position(p, s->n, 0, &pos));
    *item = &s->items[pos];
    if (!ox_dtype_valid((*item)->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "item %zu of the sequence is not a tensor", pos);
    return ONYX_OK;
}

static onyx_status seq_at_infer(ox_op_ctx *c) {
    const ox_tensor *item;
    OX_TRY(seq_at_item(c, &item));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], item->dtype, item->rank, item->dims);
    return ONYX_OK;
}

static onyx_status seq_at_run(ox_op_ctx *c) {
    const ox_tensor *item;
    OX_TRY(seq_at_item(c, &item));
    if (!ox_has_output(c, 0)) return ONYX_OK;
    if (!ox_tensor_same_shape(item, c->out[0]))
        return ox_error(ONYX_ERR_RUNTIME, "the item's shape changed since shapes were inferred");
    return ox_tx_copy(c->out[0]->data, item->data, ox_tensor_count(item), item->dtype);
}

/* ---- SequenceErase -------------------------------------------------------------------- */

static onyx_status seq_erase_check(ox_op_ctx *c, const ox_sequence **seq, size_t *pos) {
    OX_TRY(ox_seq_input(c, 0, "input_sequence", seq));
    int64_t p = -1;
    if (ox_has_input(c, 1)) OX_TRY(read_position(c->in[1], &p));
    return norm_position(p, (*seq)->n, 0, pos);
}

static onyx_status seq_erase_infer(ox_op_ctx *c) {
    const ox_sequence *s;
    size_t pos;
    return seq_erase_check(c, &s, &pos);
}

static onyx_status seq_erase_run(ox_op_ctx *c) {
    const ox_sequence *s;
    size_t pos;
    OX_TRY(seq_erase_check(c, &s, &pos));
    ox_tensor v;
    OX_TRY(copy_sequence(s, pos, &v));
    ox_seq_set_output(c, 0, &v);
    return ONYX_OK;
}

/* ---- SequenceLength --------------------------------------------------------------------- */

/* The length is a scalar whatever the items: only the input's kind is needed to plan. */
static onyx_status seq_length_infer(ox_op_ctx *c) {
    const ox_sequence *s;
    onyx_status st = ox_seq_input(c, 0, "input_sequence", &s);
    if (st != ONYX_OK && st != OX_NEED_VALUE) return st;
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 0, NULL);
    return ONYX_OK;
}

static onyx_status seq_length_run(ox_op_ctx *c) {
    const ox_sequence *s;
    OX_TRY(ox_seq_input(c, 0, "input_sequence", &s));
    if (ox_has_output(c, 0)) *(int64_t *)c->out[0]->data = (int64_t)s->n;
    return ONYX_OK;
}

/* ---- Optional ---------------------------------------------------------------------------- */

static onyx_status optional_check_type(ox_op_ctx *c, int *has_type) {
    const ox_attr *a = ox_attr_get(c, "type");
    *has_type = a != NULL;
    if (!a) return ONYX_OK;
    if (a->type != OX_ATTR_TYPE_PROTO || !a->tp)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'type' must be a type_proto");
    if (a->tp->kind != OX_TYPE_TENSOR && a->tp->kind != OX_TYPE_SEQUENCE)
        return ox_error(ONYX_ERR_UNSUPPORTED,
                        "attribute 'type' must be a tensor or sequence type (optional values of other "
                        "kinds are not supported)");
    return ONYX_OK;
}

static onyx_status optional_prepare(ox_op_ctx *c) {
    int has_type;
    OX_TRY(optional_check_type(c, &has_type));
    if (c->node->n_inputs > 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Optional takes at most one input, got %zu",
                        c->node->n_inputs);
    if (!node_has_input(c, 0) && !has_type)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "Optional without an input needs the 'type' attribute to make an empty optional");
    return ONYX_OK;
}

static onyx_status optional_infer(ox_op_ctx *c) {
    OX_TRY(optional_prepare(c));
    if (ox_has_input(c, 0) && c->in[0]->dtype == OX_DTYPE_SEQUENCE && !c->in[0]->data)
        return OX_NEED_VALUE;
    return ONYX_OK;
}

static onyx_status optional_run(ox_op_ctx *c) {
    OX_TRY(optional_infer(c));
    if (ox_has_input(c, 0)) return ox_seq_copy_to_output(c, 0, c->in[0]);
    if (ox_has_output(c, 0)) {
        memset(c->out[0], 0, sizeof *c->out[0]);
        c->out[0]->dtype = OX_DTYPE_NONE;
    }
    return ONYX_OK;
}

/* ---- OptionalHasElement / OptionalGetElement --------------------------------------------- */

/* Before opset 18 the input is required; from 18 a missing input is an empty optional.
 * A value that is present (a tensor or a sequence) counts as holding an element in
 * every version, since an optional holding a value is that value. */
static onyx_status has_element_prepare(ox_op_ctx *c) {
    if (c->node->n_inputs > 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "OptionalHasElement takes at most one input, got %zu",
                        c->node->n_inputs);
    if (c->opset < 18 && !node_has_input(c, 0))
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 0 ('input') is required before opset 18 (opset %lld)", (long long)c->opset);
    return ONYX_OK;
}

static onyx_status has_element_infer(ox_op_ctx *c) {
    OX_TRY(has_element_prepare(c));
    if (ox_has_input(c, 0)) {
        int32_t d = c->in[0]->dtype;
        if (d != OX_DTYPE_SEQUENCE && d != OX_DTYPE_NONE && !ox_dtype_valid(d))
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input 'input' has an unknown type %d", d);
    }
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], ONYX_DTYPE_BOOL, 0, NULL);
    return ONYX_OK;
}

static onyx_status has_element_run(ox_op_ctx *c) {
    OX_TRY(has_element_infer(c));
    int has = ox_has_input(c, 0) && c->in[0]->dtype != OX_DTYPE_NONE;
    if (ox_has_output(c, 0)) *(uint8_t *)c->out[0]->data = (uint8_t)has;
    return ONYX_OK;
}

static onyx_status get_element_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 0 ('input') is required");
    const ox_tensor *t = c->in[0];
    if (t->dtype == OX_DTYPE_NONE)
        return ox_error(ONYX_ERR_RUNTIME, "input 'input' is an empty optional: it has no element to get");
    if (t->dtype == OX_DTYPE_SEQUENCE) return t->data ? ONYX_OK : OX_NEED_VALUE;
    return ox_seq_tensor_input(c, 0, "input");
}

static onyx_status get_element_run(ox_op_ctx *c) {
    OX_TRY(get_element_infer(c));
    return ox_seq_copy_to_output(c, 0, c->in[0]);
}

/* ---- the table -------------------------------------------------------------------------- */

#define ELEMS "any tensor element type"
#define POS ELEMS " (int32/int64 position)"
#define DYN OX_OP_ALLOC_IN_RUN

const ox_op_def ox_ops_sequence[] = {
    {"", "SequenceEmpty", 11, seq_empty_prepare, NULL, seq_empty_infer, seq_empty_run, DYN, ELEMS},
    {"", "SequenceConstruct", 11, NULL, NULL, seq_construct_infer, seq_construct_run, DYN, ELEMS},
    {"", "SequenceInsert", 11, NULL, NULL, seq_insert_infer, seq_insert_run, DYN, POS},
    {"", "SequenceAt", 11, NULL, NULL, seq_at_infer, seq_at_run, 0, POS},
    {"", "SequenceErase", 11, NULL, NULL, seq_erase_infer, seq_erase_run, DYN, POS},
    {"", "SequenceLength", 11, NULL, NULL, seq_length_infer, seq_length_run, 0, ELEMS "; int64 output"},
    {"", "SplitToSequence", 11, ox_seq_split_prepare, NULL, ox_seq_split_infer, ox_seq_split_run, DYN,
     ELEMS " (int32/int64 split)"},
    {"", "ConcatFromSequence", 11, ox_seq_concat_prepare, NULL, ox_seq_concat_infer, ox_seq_concat_run, 0,
     ELEMS},
    {"", "Optional", 15, optional_prepare, NULL, optional_infer, optional_run, DYN,
     "tensors of " ELEMS " and sequences of them"},
    {"", "OptionalHasElement", 15, has_element_prepare, NULL, has_element_infer, has_element_run, 0,
     "optional, tensor or sequence input; bool output"},
    {"", "OptionalGetElement", 15, NULL, NULL, get_element_infer, get_element_run, DYN,
     "optional, tensor or sequence input"},
    {0},
};
