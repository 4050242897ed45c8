#include "ir/graph.h"

#include <stdio.h>
#include <string.h>

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

static void attach_info(ox_rgraph *g, const ox_value_info *vi, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int v = ox_rgraph_find(g, vi[i].name);
        if (v >= 0 && !g->values[v].info) g->values[v].info = &vi[i];
    }
}

onyx_status ox_rgraph_build(const ox_model *m, const ox_graph *src, ox_rgraph **out) {
    onyx_status s = ONYX_OK;
    char lb[256];
    ox_rgraph *g = ox_calloc(1, sizeof *g);
    if (!g) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_strmap_init(&g->names);
    size_t max_values = src->n_initializers + src->n_inputs;
    for (size_t i = 0; i < src->n_nodes; i++) max_values += src->nodes[i].n_outputs;
    g->values = ox_calloc(max_values ? max_values : 1, sizeof *g->values);
    g->nodes = ox_calloc(src->n_nodes ? src->n_nodes : 1, sizeof *g->nodes);
    g->inputs = ox_calloc(src->n_inputs ? src->n_inputs : 1, sizeof *g->inputs);
    g->outputs = ox_calloc(src->n_outputs ? src->n_outputs : 1, sizeof *g->outputs);
    if (!g->values || !g->nodes || !g->inputs || !g->outputs) {
        s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    if (src->n_sparse_initializers) {
        s = ox_error(ONYX_ERR_UNSUPPORTED, "sparse initializers are not supported yet");
        goto fail;
    }
    for (size_t i = 0; i < src->n_initializers; i++) {
        const ox_tensor_proto *t = &src->initializers[i];
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
        gn->n_in = n->n_inputs;
        gn->n_out = n->n_outputs;
        gn->in = ox_malloc_array(n->n_inputs ? n->n_inputs : 1, sizeof(int));
        gn->out = ox_malloc_array(n->n_outputs ? n->n_outputs : 1, sizeof(int));
        if (!gn->in || !gn->out) {
            s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < n->n_inputs; k++) gn->in[k] = -1;
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
    return ONYX_OK;
fail:
    ox_rgraph_free(g);
    return s;
}
