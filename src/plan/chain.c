/* Chains on a plan's steps, each intermediate read by the next step alone:
 * - an expansion 1x1 Conv, a depthwise Conv and a projection 1x1 Conv in a row (or
 *   the first two, where more than the projection reads the depthwise output, or the
 *   last two, where the block has no expansion), run as one parallel region by bands
 *   of rows (ops/nn_conv_chain.c), at 2 threads or more, or at 1 where the expansion's
 *   output would not stay in L2;
 * - MatMul, Softmax over the last dim, MatMul: attention, by blocks of query rows
 *   (ops/attention_chain.c). */
#include <stdio.h>
#include <string.h>

#include "ops/attention_chain.h"
#include "ops/nn_conv_chain.h"
#include "plan/plan.h"
#include "util/alloc.h"

#define CHAIN_STEPS OX_CHAIN_STEPS
#define CHAIN_MAX_IN OX_CHAIN_MAX_IN

/* Whether step s is an `op` node a chain can hold: one output, its first input given. */
static int is_op(const ox_rgraph *g, const ox_pstep *s, const char *op) {
    const ox_node *n = g->nodes[s->node].node;
    return !n->domain[0] && !strcmp(n->op_type, op) && s->n_out == 1 && s->out[0] >= 0 &&
           s->n_in >= 1 && s->n_in <= CHAIN_MAX_IN && s->in[0] >= 0;
}

/* Whether value v is read by step `reader` alone and is not a result. */
static int read_once(const ox_plan *p, const ox_rgraph *g, const int *requested,
                     size_t n_requested, int v, size_t reader) {
    if (ox_plan_is_result(g, requested, n_requested, v)) return 0;
    for (size_t st = 0; st < p->n_steps; st++)
        for (size_t k = 0; k < p->steps[st].n_in; k++)
            if (p->steps[st].in[k] == v && (st != reader || k != 0)) return 0;
    return 1;
}

/* How many steps from st (at most `avail`) form a chain, 3, 2 or 0, and its kind. */
static size_t chain_length(const ox_plan *p, const ox_rgraph *g, const int *requested,
                           size_t n_requested, void *const *node_state, size_t threads,
                           size_t st, size_t avail, int *kind) {
    const ox_pstep *s = &p->steps[st];
    ox_tensor shapes[CHAIN_STEPS][CHAIN_MAX_IN], outs[CHAIN_STEPS];
    ox_tensor *in[CHAIN_STEPS][CHAIN_MAX_IN], *out[CHAIN_STEPS];
    ox_op_ctx *ctx[CHAIN_STEPS], c[CHAIN_STEPS];
    /* steps that link up: one op each, each reading the one before */
    int attention = avail >= 3 && is_op(g, &s[0], "MatMul") && is_op(g, &s[1], "Softmax") &&
                    is_op(g, &s[2], "MatMul");
    size_t n = 0;
    while (n < CHAIN_STEPS && n < avail &&
           (attention || (is_op(g, &s[n], "Conv") && s[n].n_in >= 2)) &&
           (n == 0 || s[n].in[0] == s[n - 1].out[0]))
        n++;
    for (size_t i = 0; i < n; i++) {
        c[i] = ox_plan_step_ctx(p, g, node_state, &s[i], shapes[i], in[i]);
        outs[i] = p->values[s[i].out[0]].t;
        out[i] = &outs[i];
        c[i].out = &out[i];
        ctx[i] = &c[i];
    }
    /* every intermediate of the chain read by the next step alone */
    for (; n >= 2; n--) {
        int ok = 1;
        for (size_t i = 1; ok && i < n; i++)
            ok = read_once(p, g, requested, n_requested, s[i - 1].out[0], st + i);
        if (!ok) continue;
        *kind = attention ? OX_PLAN_CHAIN_ATTENTION : OX_PLAN_CHAIN_CONV;
        if (attention ? n == 3 && ox_attention_chain_applies(ctx)
                      : ox_conv_chain_applies(ctx, n, threads))
            return n;
    }
    return 0;
}

onyx_status ox_plan_chain(ox_plan *p, const ox_rgraph *g, const int *requested,
                          size_t n_requested, void *const *node_state, size_t threads) {
    if (!p->is_static) return ONYX_OK;
    for (size_t st = 0; st + 1 < p->n_steps; st++) {
        int kind = OX_PLAN_CHAIN_CONV;
        size_t n = chain_length(p, g, requested, n_requested, node_state, threads, st,
                                p->n_steps - st, &kind);
        if (!n) continue;
        ox_pstep *s = &p->steps[st];
        size_t len = 1;
        for (size_t i = 0; i < n; i++) len += strlen(s[i].label) + 1;
        char *label = ox_malloc(len), *at = label;
        if (!label) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory while planning");
        for (size_t i = 0; i < n; i++) /* the steps' labels joined by '>' */
            at += snprintf(at, len - (size_t)(at - label), "%s%s", i ? ">" : "", s[i].label);
        ox_free(s[0].label);
        s[0].label = label;
        s[0].chain = (int)n - 1;
        s[0].chain_kind = kind;
        for (size_t i = 0; i < n; i++) s[i].chained = 1;
        for (size_t i = 0; i + 1 < n; i++) p->values[s[i].out[0]].in_chain = 1;
        st += n - 1;
    }
    return ONYX_OK;
}
