#include "ir/graph.h"

#include <stdio.h>
#include <string.h>

#include "ir/sparse.h"
#include "ops/arity.h"
#include "util/alloc.h"

const char *ox_node_label(const ox_node *n, char *buf, size_t cap) {
    snprintf(buf, cap, "node '%s' (%s%s%s)", n->name, n->domain[0] ? n->domain : "",
             n->domain[0] ? "." : "", n->op_type);
    return buf;
}

void ox_rgraph_free(ox_rgraph *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_nodes; i++) {
        ox_free(g->nodes[i].in);
        ox_free(g->nodes[i].out);
    }
    ox_free(g->values);
    ox_free(g->nodes);
    ox_free(g->inputs);
    ox_free(g->outputs);
    for (size_t i = 0; i < g->n_densified; i++) ox_free_aligned((void *)g->densified[i].data);
    ox_free(g->densified);
    ox_strmap_free(&g->names);
    ox_free(g);
}

int ox_rgraph_find(const ox_rgraph *g, const char *name) { return ox_strmap_get(&g->names, name); }

static onyx_status add_value(ox_rgraph *g, const char *name, int kind, int producer, int *idx) {
    if (!ox_strmap_put(&g->names, name, (int)g->n_values))
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_gvalue *v = &g->values[g->n_values];
    v->name = name;
    v->kind = kind;
    v->producer = producer;
    *idx = (int)g->n_values++;
    return ONYX_OK;
}

static const char *kind_word(int kind) {
    return kind == OX_VALUE_INPUT ? "a graph input" :
           kind == OX_VALUE_INITIALIZER ? "an initializer" : "the output of another node";
}

/* Order nodes so every producer precedes its consumers (Kahn's algorithm, stable
 * with respect to file order). */
static onyx_status topo_sort(ox_rgraph *g, const ox_graph *src) {
    size_t n = g->n_nodes;
    ox_gnode *sorted = ox_malloc_array(n ? n : 1, sizeof *sorted);
    size_t *pending = ox_calloc(n ? n : 1, sizeof *pending);
    /* consumers of each node, as a CSR list */
    size_t *cstart = ox_calloc(n + 1, sizeof *cstart);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += g->nodes[i].n_in;
    size_t *clist = ox_malloc_array(total ? total : 1, sizeof *clist);
    size_t *queue = ox_malloc_array(n ? n : 1, sizeof *queue);
    onyx_status s = ONYX_OK;
    if (!sorted || !pending || !cstart || !clist || !queue) {
        s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].kind == OX_VALUE_NODE) {
                cstart[g->values[v].producer + 1]++;
                pending[i]++;
            }
        }
    for (size_t i = 0; i < n; i++) cstart[i + 1] += cstart[i];
    {
        size_t *fill = ox_calloc(n ? n : 1, sizeof *fill);
        if (!fill) {
            s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < g->nodes[i].n_in; k++) {
                int v = g->nodes[i].in[k];
                if (v >= 0 && g->values[v].kind == OX_VALUE_NODE) {
                    size_t p = (size_t)g->values[v].producer;
                    clist[cstart[p] + fill[p]++] = i;
                }
            }
        ox_free(fill);
    }
    size_t head = 0, tail = 0, count = 0;
    for (size_t i = 0; i < n; i++)
        if (!pending[i]) queue[tail++] = i;
    size_t *new_index = ox_malloc_array(n ? n : 1, sizeof *new_index);
    if (!new_index) {
        s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    while (head < tail) {
        size_t i = queue[head++];
        new_index[i] = count;
        sorted[count++] = g->nodes[i];
        for (size_t c = cstart[i]; c < cstart[i + 1]; c++)
            if (--pending[clist[c]] == 0) queue[tail++] = clist[c];
    }
    if (count != n) {
        for (size_t i = 0; i < n; i++)
            if (pending[i]) {
                char lb[256];
                s = ox_error(ONYX_ERR_INVALID_MODEL, "%s is part of a cycle",
                             ox_node_label(&src->nodes[i], lb, sizeof lb));
                break;
            }
        ox_free(new_index);
        goto done;
    }
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].kind == OX_VALUE_NODE)
            g->values[v].producer = (int)new_index[g->values[v].producer];
    ox_free(new_index);
    ox_free(g->nodes);
    g->nodes = sorted;
    sorted = NULL;
done:
    ox_free(sorted);
    ox_free(pending);
    ox_free(cstart);
    ox_free(clist);
    ox_free(queue);
    return s;
}

/* Sparse initializers become dense ones (named by their values tensor). */
static onyx_status densify_sparse(ox_rgraph *g, const ox_graph *src) {
    if (!src->n_sparse_initializers) return ONYX_OK;
    g->densified = ox_calloc(src->n_sparse_initializers, sizeof *g->densified);
    if (!g->densified) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < src->n_sparse_initializers; i++) {
        const ox_sparse_tensor *sp = &src->sparse_initializers[i];
        ox_tensor_proto *t = &g->densified[g->n_densified];
        size_t bytes;
        OX_TRY(ox_sparse_check(sp, sp->values.name));
        if (!ox_shape_count_checked(sp->rank, sp->dims, sp->values.dtype, NULL, &bytes))
            return ox_error(ONYX_ERR_LIMIT, "sparse initializer '%s' is too large", sp->values.name);
        void *data = ox_malloc_aligned(bytes);
        if (!data) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for sparse initializer '%s'", sp->values.name);
        t->data = data;
        g->n_densified++;
        t->name = sp->values.name;
        t->doc = "";
        t->dtype = sp->values.dtype;
        t->rank = sp->rank;
        memcpy(t->dims, sp->dims, sizeof t->dims);
        t->nbytes = bytes;
        OX_TRY(ox_sparse_densify(sp, data));
    }
    return ONYX_OK;
}

static void attach_info(ox_rgraph *g, const ox_value_info *vi, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int v = ox_rgraph_find(g, vi[i].name);
        if (v >= 0 && !g->values[v].info) g->values[v].info = &vi[i];
    }
}

/* A deduplicated list of names. */
typedef struct name_list {
    const char **v;
    size_t n, cap;
    ox_strmap seen;
} name_list;

static int list_add(name_list *l, const char *name) {
    if (ox_strmap_get(&l->seen, name) >= 0) return 1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **v = ox_realloc(l->v, cap * sizeof *v);
        if (!v) return 0;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = name;
    return ox_strmap_put(&l->seen, name, 1);
}

static onyx_status collect_free(const ox_graph *g, name_list *out, int depth);

/* Free variables of a node's graph attributes into out, except names in local. */
static onyx_status collect_node_free(const ox_node *nd, const ox_strmap *local, name_list *out, int depth) {
    for (size_t a = 0; a < nd->n_attrs; a++) {
        const ox_attr *at = &nd->attrs[a];
        size_t n_graphs = at->type == OX_ATTR_GRAPH ? (at->g ? 1 : 0) : at->type == OX_ATTR_GRAPHS ? at->n : 0;
        for (size_t k = 0; k < n_graphs; k++) {
            const ox_graph *sub = at->type == OX_ATTR_GRAPH ? at->g : at->graphs[k];
            name_list inner = {0};
            ox_strmap_init(&inner.seen);
            onyx_status st = collect_free(sub, &inner, depth + 1);
            for (size_t i = 0; i < inner.n && st == ONYX_OK; i++)
                if ((!local || ox_strmap_get(local, inner.v[i]) < 0) && !list_add(out, inner.v[i]))
                    st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
            ox_free(inner.v);
            ox_strmap_free(&inner.seen);
            if (st) return st;
        }
    }
    return ONYX_OK;
}

static onyx_status collect_free(const ox_graph *g, name_list *out, int depth) {
    if (depth > OX_MAX_GRAPH_DEPTH)
        return ox_error(ONYX_ERR_LIMIT, "subgraphs nest deeper than %d levels", OX_MAX_GRAPH_DEPTH);
    ox_strmap local;
    ox_strmap_init(&local);
    int ok = 1;
    onyx_status st = ONYX_OK;
    for (size_t i = 0; i < g->n_inputs; i++) ok &= ox_strmap_put(&local, g->inputs[i].name, 1);
    for (size_t i = 0; i < g->n_initializers; i++) ok &= ox_strmap_put(&local, g->initializers[i].name, 1);
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k][0]) ok &= ox_strmap_put(&local, g->nodes[i].outputs[k], 1);
    for (size_t i = 0; ok && i < g->n_nodes && st == ONYX_OK; i++) {
        const ox_node *nd = &g->nodes[i];
        for (size_t k = 0; k < nd->n_inputs; k++)
            if (nd->inputs[k][0] && ox_strmap_get(&local, nd->inputs[k]) < 0) ok &= list_add(out, nd->inputs[k]);
        st = collect_node_free(nd, &local, out, depth);
    }
    for (size_t i = 0; ok && i < g->n_outputs; i++)
        if (ox_strmap_get(&local, g->outputs[i].name) < 0) ok &= list_add(out, g->outputs[i].name);
    ox_strmap_free(&local);
    if (!ok && st == ONYX_OK) st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    return st;
}

onyx_status ox_graph_free_vars(const ox_graph *g, const char ***names, size_t *n) {
    name_list l = {0};
    ox_strmap_init(&l.seen);
    onyx_status st = collect_free(g, &l, 0);
    ox_strmap_free(&l.seen);
    if (st) {
        ox_free(l.v);
        return st;
    }
    *names = l.v;
    *n = l.n;
    return ONYX_OK;
}

onyx_status ox_node_captures(const ox_node *node, const char ***names, size_t *n) {
    name_list l = {0};
    ox_strmap_init(&l.seen);
    onyx_status st = collect_node_free(node, NULL, &l, 0);
    ox_strmap_free(&l.seen);
    if (st) {
        ox_free(l.v);
        return st;
    }
    *names = l.v;
    *n = l.n;
    return ONYX_OK;
}

onyx_status ox_rgraph_build(const ox_model *m, const ox_graph *src, const char *const *captures,
                            size_t n_captures, ox_rgraph **out) {
    onyx_status s = ONYX_OK;
    char lb[256];
    const char ***node_caps = NULL; /* per node: names its subgraphs capture */
    size_t *n_node_caps = NULL;
    ox_rgraph *g = ox_calloc(1, sizeof *g);
    if (!g) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_strmap_init(&g->names);
    size_t max_values = src->n_initializers + src->n_sparse_initializers + src->n_inputs + n_captures;
    for (size_t i = 0; i < src->n_nodes; i++) max_values += src->nodes[i].n_outputs;
    g->values = ox_calloc(max_values ? max_values : 1, sizeof *g->values);
    g->nodes = ox_calloc(src->n_nodes ? src->n_nodes : 1, sizeof *g->nodes);
    g->inputs = ox_calloc(src->n_inputs + n_captures + 1, sizeof *g->inputs);
    node_caps = ox_calloc(src->n_nodes + 1, sizeof *node_caps);
    n_node_caps = ox_calloc(src->n_nodes + 1, sizeof *n_node_caps);
    g->outputs = ox_calloc(src->n_outputs ? src->n_outputs : 1, sizeof *g->outputs);
    if (!g->values || !g->nodes || !g->inputs || !g->outputs || !node_caps || !n_node_caps) {
        s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    if ((s = densify_sparse(g, src))) goto fail;
    for (size_t i = 0; i < src->n_initializers + g->n_densified; i++) {
        const ox_tensor_proto *t =
            i < src->n_initializers ? &src->initializers[i] : &g->densified[i - src->n_initializers];
        int idx = -1;
        if (!t->name[0]) {
            s = ox_error(ONYX_ERR_INVALID_MODEL, "initializer %zu has no name", i);
            goto fail;
        }
        if (ox_rgraph_find(g, t->name) >= 0) {
            s = ox_error(ONYX_ERR_INVALID_MODEL, "initializer '%s' is defined twice", t->name);
            goto fail;
        }
        if ((s = add_value(g, t->name, OX_VALUE_INITIALIZER, -1, &idx))) goto fail;
        g->values[idx].init = t;
    }
    for (size_t i = 0; i < src->n_inputs; i++) {
        const char *name = src->inputs[i].name;
        int idx = ox_rgraph_find(g, name);
        if (idx >= 0) {
            if (g->values[idx].kind == OX_VALUE_INITIALIZER) continue; /* input with a default */
            s = ox_error(ONYX_ERR_INVALID_MODEL, "graph input '%s' is listed twice", name);
            goto fail;
        }
        if (!name[0]) {
            s = ox_error(ONYX_ERR_INVALID_MODEL, "graph input %zu has no name", i);
            goto fail;
        }
        if ((s = add_value(g, name, OX_VALUE_INPUT, -1, &idx))) goto fail;
        g->values[idx].info = &src->inputs[i];
        g->inputs[g->n_inputs++] = idx;
    }
    g->n_formal_inputs = g->n_inputs;
    for (size_t i = 0; i < n_captures; i++) {
        int idx = ox_rgraph_find(g, captures[i]);
        if (idx >= 0) continue; /* defined here after all: not a capture */
        if ((s = add_value(g, captures[i], OX_VALUE_INPUT, -1, &idx))) goto fail;
        g->inputs[g->n_inputs++] = idx;
    }
    /* nodes: find each op, define each output */
    for (size_t i = 0; i < src->n_nodes; i++) {
        const ox_node *n = &src->nodes[i];
        ox_gnode *gn = &g->nodes[i];
        gn->node = n;
        g->n_nodes = i + 1;
        gn->opset = n->opset ? n->opset : ox_model_opset_version(m, n->domain);
        if (gn->opset <= 0) {
            s = ox_error(ONYX_ERR_INVALID_MODEL, "%s: the model imports no opset for domain '%s'",
                         ox_node_label(n, lb, sizeof lb), n->domain[0] ? n->domain : "ai.onnx");
            goto fail;
        }
        gn->def = ox_op_find(n->domain, n->op_type, gn->opset);
        if (!gn->def) {
            s = ox_error(ONYX_ERR_UNSUPPORTED,
                         "%s: operator '%s' of domain '%s' at opset %lld is not supported",
                         ox_node_label(n, lb, sizeof lb), n->op_type,
                         n->domain[0] ? n->domain : "ai.onnx", (long long)gn->opset);
            goto fail;
        }
        if ((s = ox_arity_check(n, gn->opset))) {
            s = ox_error_prefix(s, "%s: ", ox_node_label(n, lb, sizeof lb));
            goto fail;
        }
        if ((s = ox_node_captures(n, &node_caps[i], &n_node_caps[i]))) {
            s = ox_error_prefix(s, "%s: ", ox_node_label(n, lb, sizeof lb));
            goto fail;
        }
        gn->n_in = n->n_inputs + n_node_caps[i];
        gn->n_out = n->n_outputs;
        gn->in = ox_malloc_array(gn->n_in ? gn->n_in : 1, sizeof(int));
        gn->out = ox_malloc_array(n->n_outputs ? n->n_outputs : 1, sizeof(int));
        if (!gn->in || !gn->out) {
            s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < gn->n_in; k++) gn->in[k] = -1;
        for (size_t k = 0; k < n->n_outputs; k++) {
            const char *name = n->outputs[k];
            gn->out[k] = -1;
            if (!name[0]) continue;
            int prev = ox_rgraph_find(g, name);
            if (prev >= 0) {
                s = ox_error(ONYX_ERR_INVALID_MODEL, "%s: output '%s' is already %s",
                             ox_node_label(n, lb, sizeof lb), name, kind_word(g->values[prev].kind));
                goto fail;
            }
            if ((s = add_value(g, name, OX_VALUE_NODE, (int)i, &gn->out[k]))) goto fail;
        }
    }
    for (size_t i = 0; i < src->n_nodes; i++) {
        const ox_node *n = &src->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            if (!n->inputs[k][0]) continue;
            int v = ox_rgraph_find(g, n->inputs[k]);
            if (v < 0) {
                s = ox_error(ONYX_ERR_INVALID_MODEL,
                             "%s: input '%s' is not a graph input, an initializer or any node's output",
                             ox_node_label(n, lb, sizeof lb), n->inputs[k]);
                goto fail;
            }
            g->nodes[i].in[k] = v;
        }
        for (size_t k = 0; k < n_node_caps[i]; k++) {
            int v = ox_rgraph_find(g, node_caps[i][k]);
            if (v < 0) {
                s = ox_error(ONYX_ERR_INVALID_MODEL,
                             "%s: a subgraph reads '%s', which no enclosing graph defines",
                             ox_node_label(n, lb, sizeof lb), node_caps[i][k]);
                goto fail;
            }
            g->nodes[i].in[n->n_inputs + k] = v;
        }
    }
    for (size_t i = 0; i < src->n_outputs; i++) {
        int v = ox_rgraph_find(g, src->outputs[i].name);
        if (v < 0) {
            s = ox_error(ONYX_ERR_INVALID_MODEL, "graph output '%s' is not defined",
                         src->outputs[i].name);
            goto fail;
        }
        g->outputs[g->n_outputs++] = v;
    }
    attach_info(g, src->outputs, src->n_outputs);
    attach_info(g, src->value_info, src->n_value_info);
    if ((s = topo_sort(g, src))) goto fail;
    *out = g;
    g = NULL;
fail:
    if (node_caps)
        for (size_t i = 0; i < src->n_nodes; i++) ox_free(node_caps[i]);
    ox_free(node_caps);
    ox_free(n_node_caps);
    ox_rgraph_free(g);
    return s;
}
