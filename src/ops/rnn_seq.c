/* Sequence ops that carry a state between calls, for decoder inference:
 *   LinearAttention (opset 27): a recurrent key-value state updated per token
 *     with the linear, gated, delta or gated-delta rule, read by query heads
 *     (grouped-query heads share a state);
 *   CausalConvWithState (opset 27): a causal depthwise 1-D convolution whose
 *     left context comes from the previous call, with optional fused SiLU.
 * Both compute in float32; float16 and bfloat16 run through float copies. */
#include <math.h>
#include <string.h>

#include "ops/nn_ops.h"
#include "ops/rnn.h"
#include "util/alloc.h"

/* ---- LinearAttention ------------------------------------------------------ */

enum { LA_LINEAR = 0, LA_GATED, LA_DELTA, LA_GATED_DELTA };

typedef struct la_state {
    int rule;
    int64_t q_heads, kv_heads;
    float scale; /* 0: 1/sqrt(d_k) */
} la_state;

onyx_status ox_linattn_prepare(ox_op_ctx *c) {
    la_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    const char *rule = ox_attr_str(c, "update_rule", "gated_delta");
    st->q_heads = ox_attr_int(c, "q_num_heads", 0);
    st->kv_heads = ox_attr_int(c, "kv_num_heads", 0);
    st->scale = ox_attr_float(c, "scale", 0.0f);
    (void)ox_attr_int(c, "chunk_size", 64); /* a tuning hint only */
    OX_TRY(ox_op_status(c));
    static const char *const rules[] = {"linear", "gated", "delta", "gated_delta"};
    st->rule = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(rule, rules[i]) == 0) st->rule = i;
    if (st->rule < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'update_rule' is '%s'; expected "
                        "linear, gated, delta or gated_delta", rule);
    if (st->q_heads <= 0 || st->kv_heads <= 0 || st->q_heads % st->kv_heads)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attributes q_num_heads (%lld) and kv_num_heads "
                        "(%lld) are required, positive, and q a multiple of kv",
                        (long long)st->q_heads, (long long)st->kv_heads);
    return ONYX_OK;
}

typedef struct la_geom {
    size_t B, T, Hq, Hkv, Dk, Dv;
    size_t decay_w; /* decay values per (b, t, kv head): 1 or Dk; 0 without decay */
    size_t beta_w;  /* beta values per (b, t): Hkv or 1; 0 without beta */
} la_geom;

static onyx_status la_geom_of(const ox_op_ctx *c, la_geom *g) {
    const la_state *st = c->state;
    for (size_t i = 0; i < 3; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "inputs query, key and value are required");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output is required");
    const ox_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    if (q->dtype != ONYX_DTYPE_FLOAT && !ox_nn_is_half(q->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "query is %s; expected float, float16 or bfloat16",
                        ox_dtype_name(q->dtype));
    if (q->rank != 3 || k->rank != 3 || v->rank != 3)
        return ox_error(ONYX_ERR_INVALID_MODEL, "query, key and value must be rank 3 (B, T, "
                        "H*D)");
    memset(g, 0, sizeof *g);
    g->B = (size_t)q->dims[0];
    g->T = (size_t)q->dims[1];
    g->Hq = (size_t)st->q_heads;
    g->Hkv = (size_t)st->kv_heads;
    if (q->dims[2] % st->q_heads || v->dims[2] % st->kv_heads)
        return ox_error(ONYX_ERR_INVALID_MODEL, "query/value hidden sizes are not multiples of "
                        "their head counts");
    g->Dk = (size_t)(q->dims[2] / st->q_heads);
    g->Dv = (size_t)(v->dims[2] / st->kv_heads);
    for (size_t i = 1; i < 3; i++)
        if (c->in[i]->dims[0] != q->dims[0] || c->in[i]->dims[1] != q->dims[1] ||
            c->in[i]->dtype != q->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "key and value must match query's batch, "
                            "length and type");
    if (k->dims[2] != (int64_t)(g->Hkv * g->Dk))
        return ox_error(ONYX_ERR_INVALID_MODEL, "key's last dim is %lld; expected kv_num_heads "
                        "* d_k = %zu", (long long)k->dims[2], g->Hkv * g->Dk);
    int gating = st->rule == LA_GATED || st->rule == LA_GATED_DELTA;
    int delta = st->rule == LA_DELTA || st->rule == LA_GATED_DELTA;
    if (ox_has_input(c, 3)) {
        const ox_tensor *p = c->in[3];
        if (p->rank != 4 || p->dims[0] != (int64_t)g->B || p->dims[1] != (int64_t)g->Hkv ||
            p->dims[2] != (int64_t)g->Dk || p->dims[3] != (int64_t)g->Dv ||
            (p->dtype != ONYX_DTYPE_FLOAT && !ox_nn_is_half(p->dtype)))
            return ox_error(ONYX_ERR_INVALID_MODEL, "past_state must be a float (B, kv_num_heads, "
                            "d_k, d_v) = (%zu, %zu, %zu, %zu)", g->B, g->Hkv, g->Dk, g->Dv);
    }
    if (gating != ox_has_input(c, 4))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input decay is %s by update_rule",
                        gating ? "required" : "not allowed");
    if (delta != ox_has_input(c, 5))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input beta is %s by update_rule",
                        delta ? "required" : "not allowed");
    if (gating) {
        const ox_tensor *d = c->in[4];
        if (d->rank != 3 || d->dims[0] != q->dims[0] || d->dims[1] != q->dims[1] ||
            d->dtype != q->dtype ||
            (d->dims[2] != (int64_t)g->Hkv && d->dims[2] != (int64_t)(g->Hkv * g->Dk)))
            return ox_error(ONYX_ERR_INVALID_MODEL, "decay must be (B, T, kv_num_heads) or "
                            "(B, T, kv_num_heads * d_k) of query's type");
        g->decay_w = (size_t)d->dims[2] / g->Hkv;
    }
    if (delta) {
        const ox_tensor *b = c->in[5];
        if (b->rank != 3 || b->dims[0] != q->dims[0] || b->dims[1] != q->dims[1] ||
            b->dtype != q->dtype || (b->dims[2] != (int64_t)g->Hkv && b->dims[2] != 1))
            return ox_error(ONYX_ERR_INVALID_MODEL, "beta must be (B, T, kv_num_heads) or "
                            "(B, T, 1) of query's type");
        g->beta_w = (size_t)b->dims[2];
    }
    return ONYX_OK;
}

onyx_status ox_linattn_infer(ox_op_ctx *c) {
    la_geom g;
    OX_TRY(la_geom_of(c, &g));
    int32_t dt = c->in[0]->dtype;
    ox_set_shape(c->out[0], dt, 3,
                 (int64_t[]){(int64_t)g.B, (int64_t)g.T, (int64_t)(g.Hq * g.Dv)});
    if (ox_has_output(c, 1))
        ox_set_shape(c->out[1], ox_has_input(c, 3) ? c->in[3]->dtype : dt, 4,
                     (int64_t[]){(int64_t)g.B, (int64_t)g.Hkv, (int64_t)g.Dk, (int64_t)g.Dv});
    size_t n;
    if (!ox_mul_ok(g.Dk, g.Dv, &n) || !ox_add_ok(n, g.Dv, &n) || !ox_mul_ok(n, 4, &n))
        return ox_error(ONYX_ERR_LIMIT, "state size overflows");
    c->workspace_bytes = n + 64;
    return ONYX_OK;
}

static onyx_status la_run_f32(ox_op_ctx *c) {
    const la_state *st = c->state;
    la_geom g;
    OX_TRY(la_geom_of(c, &g));
    const float *Q = c->in[0]->data, *K = c->in[1]->data, *V = c->in[2]->data;
    const float *past = ox_has_input(c, 3) ? c->in[3]->data : NULL;
    const float *decay = g.decay_w ? c->in[4]->data : NULL;
    const float *beta = g.beta_w ? c->in[5]->data : NULL;
    float *Y = c->out[0]->data;
    float *present = ox_has_output(c, 1) ? c->out[1]->data : NULL;
    float *S = c->workspace, *u = S + g.Dk * g.Dv; /* the state of one head; v update */
    const size_t Dk = g.Dk, Dv = g.Dv, group = g.Hq / g.Hkv;
    const float scale = st->scale != 0.0f ? st->scale : (float)(1.0 / sqrt((double)Dk));
    for (size_t b = 0; b < g.B; b++)
        for (size_t h = 0; h < g.Hkv; h++) {
            size_t soff = (b * g.Hkv + h) * Dk * Dv;
            for (size_t i = 0; i < Dk * Dv; i++) S[i] = past ? past[soff + i] : 0.0f;
            for (size_t t = 0; t < g.T; t++) {
                size_t row = b * g.T + t;
                const float *k = K + row * g.Hkv * Dk + h * Dk;
                const float *v = V + row * g.Hkv * Dv + h * Dv;
                if (decay) {
                    const float *dg = decay + (row * g.Hkv + h) * g.decay_w;
                    for (size_t d = 0; d < Dk; d++) {
                        float f = expf(dg[g.decay_w == 1 ? 0 : d]);
                        for (size_t m = 0; m < Dv; m++) S[d * Dv + m] *= f;
                    }
                }
                if (beta) {
                    float be = beta[row * g.beta_w + (g.beta_w == 1 ? 0 : h)];
                    for (size_t m = 0; m < Dv; m++) u[m] = 0;
                    for (size_t d = 0; d < Dk; d++)
                        for (size_t m = 0; m < Dv; m++) u[m] += S[d * Dv + m] * k[d];
                    for (size_t m = 0; m < Dv; m++) u[m] = be * (v[m] - u[m]);
                } else {
                    for (size_t m = 0; m < Dv; m++) u[m] = v[m];
                }
                for (size_t d = 0; d < Dk; d++)
                    for (size_t m = 0; m < Dv; m++) S[d * Dv + m] += k[d] * u[m];
                for (size_t qh = h * group; qh < (h + 1) * group; qh++) {
                    const float *q = Q + row * g.Hq * Dk + qh * Dk;
                    float *y = Y + row * g.Hq * Dv + qh * Dv;
                    for (size_t m = 0; m < Dv; m++) y[m] = 0;
                    for (size_t d = 0; d < Dk; d++)
                        for (size_t m = 0; m < Dv; m++) y[m] += q[d] * S[d * Dv + m];
                    for (size_t m = 0; m < Dv; m++) y[m] *= scale;
                }
            }
            if (present)
                for (size_t i = 0; i < Dk * Dv; i++) present[soff + i] = S[i];
        }
    return ONYX_OK;
}

onyx_status ox_linattn_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, la_run_f32);
    return la_run_f32(c);
}

/* ---- CausalConvWithState --------------------------------------------------- */

onyx_status ox_causalconv_prepare(ox_op_ctx *c) {
    int *silu = ox_calloc(1, sizeof *silu);
    if (!silu) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = silu;
    const char *act = ox_attr_str(c, "activation", "none");
    OX_TRY(ox_op_status(c));
    if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
        *silu = 1;
    else if (strcmp(act, "none") != 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'activation' is '%s'; expected "
                        "silu, swish or none", act);
    return ONYX_OK;
}

static onyx_status cc_check(const ox_op_ctx *c, size_t *Kout) {
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs input and weight are required");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output is required");
    const ox_tensor *x = c->in[0], *w = c->in[1];
    if (x->dtype != ONYX_DTYPE_FLOAT && !ox_nn_is_half(x->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input is %s; expected float, float16 or "
                        "bfloat16", ox_dtype_name(x->dtype));
    if (x->rank != 3 || w->rank != 3 || w->dims[0] != x->dims[1] || w->dims[1] != 1 ||
        w->dims[2] < 1 || w->dtype != x->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input must be (batch, channels, length) and "
                        "weight (channels, 1, k) of the same type");
    int64_t K = w->dims[2];
    if (ox_has_input(c, 2)) {
        const ox_tensor *b = c->in[2];
        if (b->rank != 1 || b->dims[0] != x->dims[1] || b->dtype != x->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "bias must be (channels) of input's type");
    }
    if (ox_has_input(c, 3)) {
        const ox_tensor *p = c->in[3];
        if (p->rank != 3 || p->dims[0] != x->dims[0] || p->dims[1] != x->dims[1] ||
            p->dims[2] != K - 1 || p->dtype != x->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "past_state must be (batch, channels, k-1) "
                            "= (%lld, %lld, %lld)", (long long)x->dims[0],
                            (long long)x->dims[1], (long long)(K - 1));
    }
    *Kout = (size_t)K;
    return ONYX_OK;
}

onyx_status ox_causalconv_infer(ox_op_ctx *c) {
    size_t K;
    OX_TRY(cc_check(c, &K));
    const ox_tensor *x = c->in[0];
    ox_set_shape(c->out[0], x->dtype, 3, x->dims);
    if (ox_has_output(c, 1))
        ox_set_shape(c->out[1], x->dtype, 3, (int64_t[]){x->dims[0], x->dims[1], (int64_t)K - 1});
    size_t n;
    if (!ox_add_ok((size_t)x->dims[2], K, &n) || !ox_mul_ok(n, sizeof(float), &n))
        return ox_error(ONYX_ERR_LIMIT, "sequence too long");
    c->workspace_bytes = n;
    return ONYX_OK;
}

static onyx_status cc_run_f32(ox_op_ctx *c) {
    size_t K;
    OX_TRY(cc_check(c, &K));
    const int silu = *(const int *)c->state;
    const ox_tensor *x = c->in[0];
    const size_t B = (size_t)x->dims[0], C = (size_t)x->dims[1], L = (size_t)x->dims[2];
    const float *X = x->data, *W = c->in[1]->data;
    const float *bias = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    const float *past = ox_has_input(c, 3) ? c->in[3]->data : NULL;
    float *Y = c->out[0]->data;
    float *present = ox_has_output(c, 1) ? c->out[1]->data : NULL;
    float *pad = c->workspace; /* the past context, then the input: L + K - 1 values */
    for (size_t b = 0; b < B; b++)
        for (size_t ch = 0; ch < C; ch++) {
            size_t row = b * C + ch;
            for (size_t i = 0; i + 1 < K; i++) pad[i] = past ? past[row * (K - 1) + i] : 0.0f;
            for (size_t i = 0; i < L; i++) pad[K - 1 + i] = X[row * L + i];
            const float *w = W + ch * K;
            for (size_t t = 0; t < L; t++) {
                float s = bias ? bias[ch] : 0.0f;
                for (size_t j = 0; j < K; j++) s += w[j] * pad[t + j];
                if (silu) s = s / (1.0f + expf(-s));
                Y[row * L + t] = s;
            }
            if (present)
                for (size_t i = 0; i + 1 < K; i++) present[row * (K - 1) + i] = pad[L + i];
        }
    return ONYX_OK;
}

onyx_status ox_causalconv_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, cc_run_f32);
    return cc_run_f32(c);
}
