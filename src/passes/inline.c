#include "passes/inline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/strmap.h"

/* How names of a function body map into the caller's graph. */
typedef struct name_map {
    const ox_function *f;     /* NULL: names stay as they are */
    const ox_node *call;      /* the calling node (actual names, resolved attributes) */
    const char *prefix;       /* for the body's own values */
} name_map;

typedef struct inliner {
    const ox_model *m;
    ox_arena *arena;
    ox_node *nodes; /* growing output, ox_realloc'ed; copied into the arena at the end */
    size_t n, cap;
    size_t calls;   /* counter making prefixes unique */
    ox_strmap prefixes; /* prefixes used so far */
} inliner;

static onyx_status oom(void) { return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory while inlining functions"); }

static const char *rename_value(inliner *in, const name_map *r, const char *name) {
    if (!r->f || !name[0]) return name;
    for (size_t i = 0; i < r->f->n_inputs; i++)
        if (!strcmp(r->f->inputs[i], name))
            return i < r->call->n_inputs ? r->call->inputs[i] : "";
    for (size_t i = 0; i < r->f->n_outputs; i++)
        if (!strcmp(r->f->outputs[i], name))
            return i < r->call->n_outputs ? r->call->outputs[i] : "";
    size_t n = strlen(r->prefix) + strlen(name) + 1;
    char *s = ox_arena_alloc(in->arena, n);
    if (s) snprintf(s, n, "%s%s", r->prefix, name);
    return s;
}

static const ox_function *find_function(const ox_model *m, const ox_node *n) {
    return m->n_functions ? ox_model_function(m, n->domain, n->op_type) : NULL;
}

static int64_t scope_opset(const ox_function *f, const char *domain) {
    if (!f) return 0;
    for (size_t i = 0; i < f->n_opsets; i++)
        if (!strcmp(f->opsets[i].domain, domain)) return f->opsets[i].version;
    return 0;
}

static onyx_status copy_graph_renamed(inliner *in, const name_map *r, const ox_graph *g, ox_strmap *outer_locals,
                                      ox_graph **out);

/* An attribute given as text ("3.5", "1,2,3", "relu") read as type: the type its
 * use site declares, or when that is unknown, the first of int, float, string that
 * fits. */
static onyx_status attr_from_text(inliner *in, const ox_attr *text, int type, ox_attr *out) {
    const char *v = text->s.data;
    *out = *text;
    if (type == OX_ATTR_UNDEFINED) {
        char *end;
        strtoll(v, &end, 10);
        if (*v && !*end) {
            type = OX_ATTR_INT;
        } else {
            strtod(v, &end);
            type = *v && !*end ? OX_ATTR_FLOAT : OX_ATTR_STRING;
        }
    }
    out->type = type;
    if (type == OX_ATTR_STRING) return ONYX_OK;
    size_t n = 1;
    for (const char *p = v; *p; p++) n += *p == ',';
    const char *p = v;
    for (size_t i = 0; i < n; i++) {
        char *end;
        double d = strtod(p, &end);
        long long ll = strtoll(p, NULL, 10);
        if (end == p)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "attribute '%s': cannot read '%s' as %s", text->name, v,
                            type == OX_ATTR_INT || type == OX_ATTR_INTS ? "integers" : "numbers");
        if (type == OX_ATTR_INT) out->i = ll;
        if (type == OX_ATTR_FLOAT) out->f = (float)d;
        if (type == OX_ATTR_INTS || type == OX_ATTR_FLOATS) {
            if (i == 0) {
                out->n = n;
                out->ints = type == OX_ATTR_INTS ? ox_arena_array(in->arena, n, sizeof(int64_t)) : NULL;
                out->floats = type == OX_ATTR_FLOATS ? ox_arena_array(in->arena, n, sizeof(float)) : NULL;
                if (!out->ints && !out->floats) return oom();
            }
            if (out->ints) out->ints[i] = ll;
            if (out->floats) out->floats[i] = (float)d;
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (type != OX_ATTR_INT && type != OX_ATTR_FLOAT && type != OX_ATTR_INTS && type != OX_ATTR_FLOATS)
        return ox_error(ONYX_ERR_UNSUPPORTED, "attribute '%s': values of this type cannot be given as text",
                        text->name);
    return ONYX_OK;
}

/* Copy a body node's attributes, resolving references to the caller's. */
static onyx_status resolve_attrs(inliner *in, const name_map *r, const ox_node *src, ox_node *dst,
                                 ox_strmap *locals) {
    dst->attrs = ox_arena_array(in->arena, src->n_attrs + 1, sizeof(ox_attr));
    if (!dst->attrs) return oom();
    dst->n_attrs = 0;
    for (size_t i = 0; i < src->n_attrs; i++) {
        const ox_attr *a = &src->attrs[i];
        ox_attr v = *a;
        if (a->ref_attr_name && r->f) {
            const ox_attr *found = ox_node_attr(r->call, a->ref_attr_name);
            for (size_t k = 0; !found && k < r->f->n_attribute_protos; k++)
                if (!strcmp(r->f->attribute_protos[k].name, a->ref_attr_name)) found = &r->f->attribute_protos[k];
            if (!found) continue; /* neither given nor defaulted: the attribute is absent */
            if (found->type == OX_ATTR_UNDEFINED && found->s.data) /* given as text */
                OX_TRY(attr_from_text(in, found, a->type, &v));
            else
                v = *found;
            v.name = a->name;
            v.ref_attr_name = NULL;
        }
        if (r->f && v.type == OX_ATTR_GRAPH && v.g) {
            OX_TRY(copy_graph_renamed(in, r, v.g, locals, &v.g));
        } else if (r->f && v.type == OX_ATTR_GRAPHS && v.n) {
            ox_graph **gs = ox_arena_array(in->arena, v.n, sizeof *gs);
            if (!gs) return oom();
            for (size_t k = 0; k < v.n; k++) OX_TRY(copy_graph_renamed(in, r, v.graphs[k], locals, &gs[k]));
            v.graphs = gs;
        }
        dst->attrs[dst->n_attrs++] = v;
    }
    return ONYX_OK;
}

/* A subgraph inside a function body: names it defines stay; names it takes from
 * the body (free variables) are renamed like the body's. */
static onyx_status copy_graph_renamed(inliner *in, const name_map *r, const ox_graph *g, ox_strmap *outer_locals,
                                      ox_graph **out) {
    ox_graph *ng = ox_arena_alloc(in->arena, sizeof *ng);
    if (!ng) return oom();
    *ng = *g;
    ox_strmap locals;
    ox_strmap_init(&locals);
    onyx_status st = ONYX_OK;
    int ok = 1;
    for (size_t i = 0; i < g->n_inputs; i++) ok &= ox_strmap_put(&locals, g->inputs[i].name, 1);
    for (size_t i = 0; i < g->n_initializers; i++) ok &= ox_strmap_put(&locals, g->initializers[i].name, 1);
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i].n_outputs; k++) ok &= ox_strmap_put(&locals, g->nodes[i].outputs[k], 1);
    /* names local to enclosing subgraphs of the same body stay too */
    if (outer_locals)
        for (size_t i = 0; i < outer_locals->cap; i++)
            if (outer_locals->keys[i]) ok &= ox_strmap_put(&locals, outer_locals->keys[i], 1);
    if (!ok) {
        st = oom();
        goto done;
    }
    ng->nodes = ox_arena_array(in->arena, g->n_nodes + 1, sizeof(ox_node));
    ng->outputs = ox_arena_array(in->arena, g->n_outputs + 1, sizeof(ox_value_info));
    if (!ng->nodes || !ng->outputs) {
        st = oom();
        goto done;
    }
    for (size_t i = 0; i < g->n_nodes && st == ONYX_OK; i++) {
        const ox_node *src = &g->nodes[i];
        ox_node *dst = &ng->nodes[i];
        *dst = *src;
        dst->inputs = ox_arena_array(in->arena, src->n_inputs + 1, sizeof(char *));
        if (!dst->inputs) {
            st = oom();
            break;
        }
        for (size_t k = 0; k < src->n_inputs; k++) {
            const char *nm = src->inputs[k];
            dst->inputs[k] = ox_strmap_get(&locals, nm) >= 0 ? nm : rename_value(in, r, nm);
            if (!dst->inputs[k]) st = oom();
        }
        if (st == ONYX_OK) st = resolve_attrs(in, r, src, dst, &locals);
    }
    for (size_t i = 0; i < g->n_outputs && st == ONYX_OK; i++) {
        ng->outputs[i] = g->outputs[i];
        const char *nm = g->outputs[i].name;
        ng->outputs[i].name = ox_strmap_get(&locals, nm) >= 0 ? nm : rename_value(in, r, nm);
        if (!ng->outputs[i].name) st = oom();
    }
    *out = ng;
done:
    ox_strmap_free(&locals);
    return st;
}

static onyx_status push_node(inliner *in, const ox_node *n) {
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        ox_node *nn = ox_realloc(in->nodes, cap * sizeof *nn);
        if (!nn) return oom();
        in->nodes = nn;
        in->cap = cap;
    }
    in->nodes[in->n++] = *n;
    return ONYX_OK;
}

static onyx_status expand_nodes(inliner *in, const ox_node *nodes, size_t n_nodes, const name_map *r, int depth);

/* Expand one call of f made by node call (already renamed into the caller's names). */
static onyx_status expand_call(inliner *in, const ox_function *f, const ox_node *call, int depth) {
    char lb[300];
    if (depth >= OX_MAX_FUNCTION_DEPTH)
        return ox_error(ONYX_ERR_LIMIT, "function '%s' nests calls deeper than %d (recursive?)", f->name,
                        OX_MAX_FUNCTION_DEPTH);
    if (call->n_inputs > f->n_inputs || call->n_outputs > f->n_outputs)
        return ox_error(ONYX_ERR_INVALID_MODEL, "node '%s' passes %zu inputs and %zu outputs to function '%s' which has %zu and %zu",
                        call->name, call->n_inputs, call->n_outputs, f->name, f->n_inputs, f->n_outputs);
    /* "<caller>/" when the caller's name is unused so far, else "<caller>/<k>/" */
    const char *base = call->name[0] ? call->name : f->name;
    snprintf(lb, sizeof lb, "%s/", base);
    if (!call->name[0] || ox_strmap_get(&in->prefixes, lb) >= 0) snprintf(lb, sizeof lb, "%s/%zu/", base, in->calls);
    in->calls++;
    name_map r = {f, call, ox_arena_strdup(in->arena, lb)};
    if (!r.prefix || !ox_strmap_put(&in->prefixes, r.prefix, 1)) return oom();
    return expand_nodes(in, f->nodes, f->n_nodes, &r, depth + 1);
}

static onyx_status expand_nodes(inliner *in, const ox_node *nodes, size_t n_nodes, const name_map *r, int depth) {
    for (size_t i = 0; i < n_nodes; i++) {
        const ox_node *src = &nodes[i];
        ox_node n = *src;
        if (r->f) {
            n.inputs = ox_arena_array(in->arena, src->n_inputs + 1, sizeof(char *));
            n.outputs = ox_arena_array(in->arena, src->n_outputs + 1, sizeof(char *));
            if (!n.inputs || !n.outputs) return oom();
            for (size_t k = 0; k < src->n_inputs; k++)
                if (!(n.inputs[k] = rename_value(in, r, src->inputs[k]))) return oom();
            for (size_t k = 0; k < src->n_outputs; k++)
                if (!(n.outputs[k] = rename_value(in, r, src->outputs[k]))) return oom();
            OX_TRY(resolve_attrs(in, r, src, &n, NULL));
            if (!n.opset) n.opset = scope_opset(r->f, n.domain);
            if (!n.name[0] && r->prefix[0]) { /* unnamed: "<prefix><op type>" */
                size_t len = strlen(r->prefix) + strlen(n.op_type) + 1;
                char *nm = ox_arena_alloc(in->arena, len);
                if (!nm) return oom();
                snprintf(nm, len, "%s%s", r->prefix, n.op_type);
                n.name = nm;
            }
        }
        const ox_function *f = find_function(in->m, &n);
        if (f)
            OX_TRY(expand_call(in, f, &n, depth));
        else
            OX_TRY(push_node(in, &n));
    }
    return ONYX_OK;
}

static onyx_status finish(inliner *in, const ox_graph *g, const ox_graph **out, ox_graph *ng) {
    *ng = *g;
    ng->nodes = ox_arena_array(in->arena, in->n + 1, sizeof(ox_node));
    if (!ng->nodes) return oom();
    if (in->n) memcpy(ng->nodes, in->nodes, in->n * sizeof(ox_node));
    ng->n_nodes = in->n;
    *out = ng;
    return ONYX_OK;
}

onyx_status ox_inline_functions(const ox_model *m, const ox_graph *g, ox_arena *arena,
                                const ox_graph **out) {
    int calls = 0;
    for (size_t i = 0; i < g->n_nodes && !calls; i++) calls = find_function(m, &g->nodes[i]) != NULL;
    if (!calls) {
        *out = g;
        return ONYX_OK;
    }
    inliner in = {.m = m, .arena = arena};
    name_map top = {0};
    ox_graph *ng = ox_arena_alloc(arena, sizeof *ng);
    onyx_status st = ng ? expand_nodes(&in, g->nodes, g->n_nodes, &top, 0) : oom();
    if (st == ONYX_OK) st = finish(&in, g, out, ng);
    ox_free(in.nodes);
    ox_strmap_free(&in.prefixes);
    return st;
}

onyx_status ox_function_graph(const ox_model *m, const ox_function *f, const char *const *attrs,
                              size_t n_attrs, ox_arena *arena, const ox_graph **out) {
    inliner in = {.m = m, .arena = arena};
    ox_graph *ng = ox_arena_alloc(arena, sizeof *ng);
    ox_node *call = ox_arena_alloc(arena, sizeof *call);
    onyx_status st = ONYX_OK;
    if (!ng || !call) return oom();
    /* a call with the formal names as actual ones and no attributes: the body's
     * names stay readable and attributes take their defaults */
    call->name = f->name;
    call->op_type = f->name;
    call->domain = f->domain;
    call->overload = "";
    call->doc = "";
    call->inputs = f->inputs;
    call->n_inputs = f->n_inputs;
    call->outputs = f->outputs;
    call->n_outputs = f->n_outputs;
    call->attrs = ox_arena_array(arena, n_attrs + 1, sizeof(ox_attr));
    if (!call->attrs) return oom();
    for (size_t i = 0; i < n_attrs; i++) {
        const char *eq = attrs[i] ? strchr(attrs[i], '=') : NULL;
        if (!eq || eq == attrs[i])
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "attribute %zu: expected name=value, got '%s'", i,
                            attrs[i] ? attrs[i] : "(null)");
        size_t k = 0;
        const char *nm = ox_arena_strndup(arena, attrs[i], (size_t)(eq - attrs[i]));
        if (!nm) return oom();
        while (k < f->n_attributes && strcmp(f->attributes[k], nm)) k++;
        for (size_t j = 0; k == f->n_attributes && j < f->n_attribute_protos; j++)
            if (!strcmp(f->attribute_protos[j].name, nm)) k = 0;
        if (k == f->n_attributes && !f->n_attribute_protos)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "function '%s' has no attribute '%s'", f->name, nm);
        ox_attr *a = &call->attrs[call->n_attrs++];
        a->name = nm;
        a->type = OX_ATTR_UNDEFINED; /* read as the type of its use */
        a->s.data = ox_arena_strdup(arena, eq + 1);
        if (!a->s.data) return oom();
        a->s.len = strlen(eq + 1);
    }
    name_map r = {f, call, ""};
    st = expand_nodes(&in, f->nodes, f->n_nodes, &r, 1);
    ox_graph base = {.name = f->name, .doc = f->doc};
    base.inputs = ox_arena_array(arena, f->n_inputs + 1, sizeof(ox_value_info));
    base.outputs = ox_arena_array(arena, f->n_outputs + 1, sizeof(ox_value_info));
    if (st == ONYX_OK && (!base.inputs || !base.outputs)) st = oom();
    if (st == ONYX_OK) {
        for (size_t i = 0; i < f->n_inputs; i++) base.inputs[i] = (ox_value_info){f->inputs[i], "", NULL};
        for (size_t i = 0; i < f->n_outputs; i++) base.outputs[i] = (ox_value_info){f->outputs[i], "", NULL};
        base.n_inputs = f->n_inputs;
        base.n_outputs = f->n_outputs;
        base.value_info = f->value_info;
        base.n_value_info = f->n_value_info;
        st = finish(&in, &base, out, ng);
    }
    ox_free(in.nodes);
    ox_strmap_free(&in.prefixes);
    return st;
}
