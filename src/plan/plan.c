#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/threadpool.h"

#define ARENA_ALIGN 64

onyx_status ox_node_fail(const ox_gnode *gn, onyx_status s) {
    char lb[300];
    if (s == OX_NEED_VALUE) s = ONYX_ERR_RUNTIME; /* a value was missing at run time */
    return ox_error_prefix(s, "%s, opset %lld: ", ox_node_label(gn->node, lb, sizeof lb),
                           (long long)gn->opset);
}

static void free_states(ox_plan_state *st) {
    while (st) {
        ox_plan_state *n = st->next;
        ox_free(st->vals);
        ox_free_aligned(st->arena);
        ox_free(st->in_ptrs);
        ox_free(st->out_ptrs);
        ox_free(st);
        st = n;
    }
}

void ox_plan_free(ox_plan *p) {
    if (!p) return;
    if (p->values)
        for (size_t i = 0; i < p->n_values; i++)
            if (p->values[i].owns_data) ox_tensor_free_data(&p->values[i].t);
    free_states(p->pool);
    pthread_mutex_destroy(&p->mu);
    ox_free(p->requested);
    ox_free(p->input_shapes);
    ox_free(p->values);
    if (p->steps)
        for (size_t i = 0; i < p->n_steps; i++) {
            ox_free(p->steps[i].in);
            ox_free(p->steps[i].out);
            ox_free(p->steps[i].label);
            if (p->steps[i].free_prepacked) p->steps[i].free_prepacked(p->steps[i].prepacked);
        }
    ox_free(p->steps);
    ox_free(p);
}

int ox_plan_matches(const ox_plan *p, const ox_tensor *inputs, const int *requested,
                    size_t n_requested) {
    if (p->n_requested != n_requested) return 0;
    if (n_requested && memcmp(p->requested, requested, n_requested * sizeof(int))) return 0;
    for (size_t i = 0; i < p->n_inputs; i++)
        if (!ox_tensor_same_shape(&p->input_shapes[i], &inputs[i])) return 0;
    return 1;
}

/* Mark the nodes the requested values depend on, stopping at constants. */
static onyx_status mark_needed(const ox_rgraph *g, const ox_pvalue *pv, const int *requested,
                               size_t n_requested, unsigned char *needed) {
    /* each node pushes its inputs once: the stack never holds more than this */
    size_t cap = n_requested + 1;
    for (size_t i = 0; i < g->n_nodes; i++) cap += g->nodes[i].n_in;
    int *stack = ox_malloc_array(cap, sizeof(int));
    unsigned char *seen = ox_calloc(g->n_values ? g->n_values : 1, 1);
    if (!stack || !seen) {
        ox_free(stack);
        ox_free(seen);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memset(needed, 0, g->n_nodes);
    size_t top = 0;
    for (size_t i = 0; i < n_requested; i++) stack[top++] = requested[i];
    while (top) {
        int v = stack[--top];
        if (seen[v]) continue;
        seen[v] = 1;
        if (g->values[v].kind != OX_VALUE_NODE || (pv && pv[v].is_const)) continue;
        int nd = g->values[v].producer;
        if (needed[nd]) continue;
        needed[nd] = 1;
        const ox_gnode *gn = &g->nodes[nd];
        for (size_t k = 0; k < gn->n_in; k++)
            if (gn->in[k] >= 0 && !seen[gn->in[k]]) stack[top++] = gn->in[k];
    }
    ox_free(stack);
    ox_free(seen);
    return ONYX_OK;
}

static onyx_status plan_alloc_output(ox_op_ctx *c, size_t i) {
    return ox_tensor_alloc_data(c->out[i]);
}

/* Run a node whose inputs are all constants, once, while planning. */
static onyx_status fold_node(const ox_gnode *gn, ox_op_ctx *c, ox_pvalue *pv) {
    onyx_status s = ONYX_OK;
    if (!(gn->def->flags & OX_OP_ALLOC_IN_RUN))
        for (size_t k = 0; k < gn->n_out && s == ONYX_OK; k++)
            if (c->out[k]) s = ox_tensor_alloc_data(c->out[k]);
    if (s != ONYX_OK && s != ONYX_ERR_OUT_OF_MEMORY) s = ox_error(s, "an output is too large");
    if (s == ONYX_OK && c->workspace_bytes) {
        c->workspace = ox_malloc_aligned(c->workspace_bytes);
        if (!c->workspace) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for workspace");
    }
    if (s == ONYX_OK) s = gn->def->run(c);
    ox_free_aligned(c->workspace);
    c->workspace = NULL;
    for (size_t k = 0; k < gn->n_out; k++) {
        int v = gn->out[k];
        if (v < 0) continue;
        if (s == ONYX_OK) {
            pv[v].is_const = 1;
            pv[v].owns_data = 1;
        } else {
            ox_tensor_free_data(&pv[v].t);
        }
    }
    return s;
}

typedef struct {
    size_t size;
    int first, last;
    size_t *offset; /* where to write the result */
} arena_block;

static int cmp_block_size(const void *a, const void *b) {
    const arena_block *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->first - y->first;
}

/* A Concat whose output is one block per input (every dimension before the axis is
 * 1), each input made by an earlier step for this Concat alone: the inputs are
 * written in place, at their offsets in the output, and the Concat copies nothing
 * (ox_tx_concat_run skips an input already where it belongs). alias[v] gets the
 * output for such an input v (else -1), delta[v] its byte offset in it; the
 * output's block then starts with the first of its inputs. Static plans only. */
static void concat_in_place(ox_plan *p, const ox_rgraph *g, int *alias, size_t *delta) {
    ox_pvalue *pv = p->values;
    for (size_t v = 0; v < p->n_values; v++) alias[v] = -1;
    for (size_t st = 0; st < p->n_steps; st++) {
        const ox_pstep *step = &p->steps[st];
        const ox_node *node = g->nodes[step->node].node;
        if (strcmp(step->label, "Concat") || node->domain[0] || step->n_out != 1 ||
            step->n_in < 2)
            continue;
        int out = step->out[0];
        if (out < 0 || pv[out].is_const || g->values[out].kind != OX_VALUE_NODE ||
            !pv[out].known || pv[out].t.dtype == ONYX_DTYPE_STRING) /* strings are owned */
            continue;
        const ox_attr *a = ox_node_attr(node, "axis");
        int64_t rank = pv[out].t.rank, axis = a && a->type == OX_ATTR_INT ? a->i : 1;
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) continue;
        int ok = 1;
        for (int64_t d = 0; d < axis; d++) ok &= pv[out].t.dims[d] == 1;
        for (size_t k = 0; ok && k < step->n_in; k++) {
            int v = step->in[k];
            /* made by a node before this step, read by it alone, once, not asked for */
            ok = v >= 0 && !pv[v].is_const && g->values[v].kind == OX_VALUE_NODE &&
                 pv[v].known && pv[v].first >= 0 && pv[v].first < (int)st &&
                 pv[v].last == (int)st && alias[v] < 0 && pv[v].t.dtype == pv[out].t.dtype;
            for (size_t j = 0; ok && j < k; j++) ok = step->in[j] != v;
            for (size_t s2 = 0; ok && s2 < st; s2++) /* no other step reads it */
                for (size_t j = 0; ok && j < p->steps[s2].n_in; j++) ok = p->steps[s2].in[j] != v;
        }
        if (!ok) continue;
        size_t off = 0;
        for (size_t k = 0; k < step->n_in; k++) {
            int v = step->in[k];
            alias[v] = out;
            delta[v] = off;
            off += ox_tensor_nbytes(&pv[v].t);
            if (pv[v].first < pv[out].first) pv[out].first = pv[v].first;
        }
    }
}

/* Place blocks in one arena: largest first, each at the lowest offset that does not
 * overlap a placed block whose lifetime intersects its own. */
static onyx_status assign_offsets(arena_block *b, size_t n, size_t *total) {
    qsort(b, n, sizeof *b, cmp_block_size);
    size_t *order = ox_malloc_array(n ? n : 1, sizeof *order); /* placed, sorted by offset */
    if (!order) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_placed = 0, end = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = 0;
        for (size_t j = 0; j < n_placed; j++) {
            arena_block *o = &b[order[j]];
            if (o->last < b[i].first || b[i].last < o->first) continue; /* lifetimes apart */
            if (off + b[i].size <= *o->offset) break; /* fits before o */
            size_t o_end = *o->offset + o->size;
            if (o_end > off) off = o_end;
        }
        *b[i].offset = off;
        if (off + b[i].size > end) end = off + b[i].size;
        /* insert by offset */
        size_t j = n_placed++;
        while (j > 0 && *b[order[j - 1]].offset > off) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    ox_free(order);
    *total = end;
    return ONYX_OK;
}

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

onyx_status ox_plan_build(const ox_rgraph *g, void *const *node_state, const ox_tensor *inputs,
                          const int *requested, size_t n_requested, ox_threadpool *pool, int fuse,
                          ox_plan **out) {
    onyx_status s = ONYX_OK;
    unsigned char *needed = NULL;
    arena_block *blocks = NULL;
    ox_tensor **in_ptrs = NULL, **out_ptrs = NULL;
    ox_plan *p = ox_calloc(1, sizeof *p);
    if (!p) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    p->n_values = g->n_values;
    p->n_inputs = g->n_inputs;
    p->n_requested = n_requested;
    /* room for the constants fusion makes: at most two per node */
    p->cap_values = g->n_values + 2 * g->n_nodes + 1;
    p->values = ox_calloc(p->cap_values, sizeof *p->values);
    p->requested = ox_malloc_array(n_requested ? n_requested : 1, sizeof(int));
    p->input_shapes = ox_malloc_array(g->n_inputs ? g->n_inputs : 1, sizeof(ox_tensor));
    p->steps = ox_calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->steps);
    needed = ox_calloc(g->n_nodes ? g->n_nodes : 1, 1);
    if (!p->values || !p->requested || !p->input_shapes || !p->steps || !needed) goto oom;
    if (n_requested) memcpy(p->requested, requested, n_requested * sizeof(int));
    ox_pvalue *pv = p->values;
    for (size_t v = 0; v < g->n_values; v++) {
        pv[v].first = pv[v].last = -1;
        const ox_gvalue *gv = &g->values[v];
        if (gv->kind == OX_VALUE_INITIALIZER) {
            const ox_tensor_proto *tp = gv->init;
            ox_set_shape(&pv[v].t, tp->dtype, tp->rank, tp->dims);
            pv[v].t.data = (void *)tp->data;
            pv[v].known = pv[v].is_const = 1;
        }
    }
    for (size_t i = 0; i < g->n_inputs; i++) {
        p->input_shapes[i] = inputs[i];
        p->input_shapes[i].data = NULL;
        pv[g->inputs[i]].t = p->input_shapes[i];
        pv[g->inputs[i]].known = 1;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > p->max_in) p->max_in = g->nodes[i].n_in;
        if (g->nodes[i].n_out > p->max_out) p->max_out = g->nodes[i].n_out;
    }
    in_ptrs = ox_malloc_array(p->max_in + 1, sizeof *in_ptrs);
    out_ptrs = ox_malloc_array(p->max_out + 1, sizeof *out_ptrs);
    if (!in_ptrs || !out_ptrs) goto oom;

    /* Pass 1: infer shapes in order and fold constants. */
    if ((s = mark_needed(g, NULL, requested, n_requested, needed))) goto fail;
    p->is_static = 1;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (!needed[i]) continue;
        const ox_gnode *gn = &g->nodes[i];
        int all_known = 1, all_const = 1;
        for (size_t k = 0; k < gn->n_in; k++) {
            int v = gn->in[k];
            in_ptrs[k] = v >= 0 ? &pv[v].t : NULL;
            if (v < 0) continue;
            if (!pv[v].known) all_known = 0;
            if (!pv[v].is_const) all_const = 0;
        }
        for (size_t k = 0; k < gn->n_out; k++) out_ptrs[k] = gn->out[k] >= 0 ? &pv[gn->out[k]].t : NULL;
        /* outputs sized only by running (sequences, NonZero) are planned
         * dynamically unless their inputs are constants and they fold now */
        int alloc_in_run = (gn->def->flags & OX_OP_ALLOC_IN_RUN) != 0;
        if (!all_known || (alloc_in_run && !all_const)) {
            p->is_static = 0;
            continue;
        }
        ox_op_ctx c = {.node = gn->node, .opset = gn->opset, .n_in = gn->n_in, .n_out = gn->n_out,
                       .in = in_ptrs, .out = out_ptrs, .state = node_state[i], .pool = pool,
                       .alloc_output = plan_alloc_output};
        s = gn->def->infer(&c);
        if (s == OX_NEED_VALUE) {
            p->is_static = 0;
            s = ONYX_OK;
            continue;
        }
        if (s != ONYX_OK) {
            s = ox_node_fail(gn, s);
            goto fail;
        }
        int pseudo = 0; /* a sequence or optional passed through: sized only at run time */
        for (size_t k = 0; k < gn->n_out; k++)
            if (gn->out[k] >= 0 && (pv[gn->out[k]].t.dtype == OX_DTYPE_SEQUENCE ||
                                    pv[gn->out[k]].t.dtype == OX_DTYPE_NONE))
                pseudo = 1;
        if (pseudo && !all_const) {
            p->is_static = 0;
            continue;
        }
        for (size_t k = 0; k < gn->n_out && !alloc_in_run && !pseudo; k++) {
            if (gn->out[k] < 0) continue;
            size_t count, bytes;
            ox_tensor *t = &pv[gn->out[k]].t;
            if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &count, &bytes) ||
                !ox_dtype_valid(t->dtype)) {
                char buf[300];
                s = ox_node_fail(gn, ox_error(ONYX_ERR_LIMIT, "output '%s' has an invalid or too large shape %s",
                                              gn->node->outputs[k], ox_tensor_describe(t, buf, sizeof buf)));
                goto fail;
            }
            pv[gn->out[k]].known = 1;
        }
        p->steps[i].ws_bytes = c.workspace_bytes;
        int shape_only = (gn->def->flags & OX_OP_SHAPE_ONLY) != 0;
        int folds = (all_const || shape_only) && !(gn->def->flags & OX_OP_NO_FOLD);
        /* String elements own their bytes: a run must free them at the value's last
         * use, which only dynamic plans track. Strings are rare in fast paths. */
        for (size_t k = 0; k < gn->n_out && !folds; k++)
            if (gn->out[k] >= 0 && pv[gn->out[k]].t.dtype == ONYX_DTYPE_STRING) p->is_static = 0;
        if (folds) {
            if ((s = fold_node(gn, &c, pv))) {
                s = ox_node_fail(gn, s);
                goto fail;
            }
            for (size_t k = 0; k < gn->n_out; k++)
                if (gn->out[k] >= 0) pv[gn->out[k]].known = 1;
        }
    }

    /* Pass 2: keep only the nodes still needed once constants are known. */
    if ((s = mark_needed(g, pv, requested, n_requested, needed))) goto fail;
    size_t n_steps = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (!needed[i]) continue;
        ox_pstep *step = &p->steps[n_steps];
        size_t ws = p->steps[i].ws_bytes; /* i >= n_steps: not yet overwritten */
        const ox_gnode *gn = &g->nodes[i];
        memset(step, 0, sizeof *step);
        step->node = (int)i;
        step->ws_bytes = ws;
        step->n_in = gn->n_in;
        step->n_out = gn->n_out;
        step->in = ox_malloc_array(gn->n_in + 1, sizeof(int));
        step->out = ox_malloc_array(gn->n_out + 1, sizeof(int));
        step->label = ox_strdup(gn->node->op_type);
        n_steps++;
        p->n_steps = n_steps;
        if (!step->in || !step->out || !step->label) goto oom;
        memcpy(step->in, gn->in, gn->n_in * sizeof(int));
        memcpy(step->out, gn->out, gn->n_out * sizeof(int));
    }
    if (fuse && (s = ox_plan_fuse(p, g, requested, n_requested, node_state))) goto fail;
    pv = p->values; /* fusion may add constants */
    /* drop the steps fusion removed */
    size_t kept = 0;
    for (size_t st = 0; st < n_steps; st++) {
        if (p->steps[st].node < 0) {
            ox_free(p->steps[st].in);
            ox_free(p->steps[st].out);
            ox_free(p->steps[st].label);
            continue;
        }
        p->steps[kept++] = p->steps[st];
    }
    n_steps = p->n_steps = kept;
    for (size_t st = 0; st < n_steps; st++) { /* a folded Conv may have gained an input */
        if (p->steps[st].n_in > p->max_in) p->max_in = p->steps[st].n_in;
        if (p->steps[st].n_out > p->max_out) p->max_out = p->steps[st].n_out;
    }
    if (fuse && (s = ox_plan_chain(p, g, requested, n_requested, node_state,
                                   (size_t)ox_threadpool_size(pool))))
        goto fail;
    if ((s = ox_plan_prepack(p, g, node_state, pool))) goto fail;
    for (size_t st = 0; st < n_steps; st++) {
        const ox_pstep *step = &p->steps[st];
        for (size_t k = 0; k < step->n_in; k++)
            if (step->in[k] >= 0) pv[step->in[k]].last = (int)st;
        for (size_t k = 0; k < step->n_out; k++)
            if (step->out[k] >= 0) {
                pv[step->out[k]].first = (int)st;
                if (pv[step->out[k]].last < (int)st) pv[step->out[k]].last = (int)st;
            }
    }
    /* a chain (plan/chain.c) runs its steps at once, on several threads: every value
     * its steps read or write lives from its first step to its last, so that no
     * output it writes takes the place of an input another thread still reads */
    for (size_t st = 0; st < n_steps; st++) {
        int a = (int)st, b = (int)st + p->steps[st].chain;
        for (int i = a; p->steps[st].chain && i <= b; i++) {
            const ox_pstep *step = &p->steps[i];
            for (size_t k = 0; k < step->n_in; k++)
                if (step->in[k] >= 0 && pv[step->in[k]].last < b) pv[step->in[k]].last = b;
            for (size_t k = 0; k < step->n_out; k++)
                if (step->out[k] >= 0) {
                    if (pv[step->out[k]].first > a) pv[step->out[k]].first = a;
                    if (pv[step->out[k]].last < b) pv[step->out[k]].last = b;
                }
        }
    }
    for (size_t i = 0; i < n_requested; i++) pv[requested[i]].last = (int)n_steps;

    if (p->is_static) {
        size_t n_blocks = 0;
        blocks = ox_malloc_array(p->n_values + n_steps + 1, sizeof *blocks);
        int *alias = ox_malloc_array(p->n_values + 1, sizeof *alias);
        size_t *delta = ox_malloc_array(p->n_values + 1, sizeof *delta);
        if (!blocks || !alias || !delta) {
            ox_free(alias);
            ox_free(delta);
            goto oom;
        }
        concat_in_place(p, g, alias, delta);
        for (size_t v = 0; v < p->n_values; v++) {
            if (pv[v].is_const || g->values[v].kind != OX_VALUE_NODE || pv[v].first < 0) continue;
            if (pv[v].in_chain) continue;
            pv[v].in_arena = 1;
            if (alias[v] >= 0) continue; /* placed with its Concat's output, below */
            blocks[n_blocks++] = (arena_block){align_up(ox_tensor_nbytes(&pv[v].t)), pv[v].first,
                                               pv[v].last, &pv[v].offset};
        }
        for (size_t st = 0; st < n_steps; st++)
            if (p->steps[st].ws_bytes)
                blocks[n_blocks++] = (arena_block){align_up(p->steps[st].ws_bytes), (int)st, (int)st,
                                                   &p->steps[st].ws_offset};
        s = assign_offsets(blocks, n_blocks, &p->arena_bytes);
        for (size_t v = 0; !s && v < p->n_values; v++) {
            if (alias[v] < 0) continue;
            size_t off = delta[v]; /* a Concat's output may be another's input */
            int r = alias[v];
            for (; alias[r] >= 0; r = alias[r]) off += delta[r];
            pv[v].offset = pv[r].offset + off;
        }
        ox_free(alias);
        ox_free(delta);
        if (s) goto fail;
    }
    ox_free(blocks);
    ox_free(needed);
    ox_free(in_ptrs);
    ox_free(out_ptrs);
    *out = p;
    return ONYX_OK;
oom:
    s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory while planning");
fail:
    ox_free(blocks);
    ox_free(needed);
    ox_free(in_ptrs);
    ox_free(out_ptrs);
    ox_plan_free(p);
    return s;
}

onyx_status ox_plan_state_get(ox_plan *p, ox_plan_state **out) {
    pthread_mutex_lock(&p->mu);
    ox_plan_state *st = p->pool;
    if (st) p->pool = st->next;
    pthread_mutex_unlock(&p->mu);
    if (st) {
        *out = st;
        return ONYX_OK;
    }
    st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    st->vals = ox_malloc_array(p->n_values ? p->n_values : 1, sizeof *st->vals);
    st->in_ptrs = ox_malloc_array(p->max_in + 1, sizeof *st->in_ptrs);
    st->out_ptrs = ox_malloc_array(p->max_out + 1, sizeof *st->out_ptrs);
    /* never a NULL arena: empty tensors still get a valid (unread) address */
    if (p->is_static) st->arena = ox_malloc_aligned(p->arena_bytes ? p->arena_bytes : ARENA_ALIGN);
    if (!st->vals || !st->in_ptrs || !st->out_ptrs || (p->is_static && !st->arena)) {
        free_states(st);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a run of %zu arena bytes",
                        p->arena_bytes);
    }
    for (size_t v = 0; v < p->n_values; v++) {
        st->vals[v] = p->values[v].t;
        if (p->values[v].in_arena) st->vals[v].data = st->arena + p->values[v].offset;
    }
    *out = st;
    return ONYX_OK;
}

void ox_plan_state_put(ox_plan *p, ox_plan_state *st) {
    pthread_mutex_lock(&p->mu);
    st->next = p->pool;
    p->pool = st;
    pthread_mutex_unlock(&p->mu);
}
