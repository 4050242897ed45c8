/* Attention (opset 23, 24, 25): scaled dot-product attention with multi-head,
 * grouped-query and multi-query heads, 3-D or 4-D inputs, a boolean or additive
 * mask, causal and sliding-window masking, an internal (past/present) or external
 * (nonpad_kv_seqlen) key/value cache, softcap and the optional QK output. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "ops/rnn.h"
#include "util/alloc.h"
#include "util/threadpool.h"

typedef struct att_state {
    int is_causal;
    int64_t q_heads, kv_heads; /* 0 when absent */
    int qk_mode;
    int has_scale;
    float scale;
    float softcap;
    int64_t left_window, right_window; /* -1: unbounded */
} att_state;

onyx_status ox_attention_prepare(ox_op_ctx *c) {
    att_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->is_causal = ox_attr_int(c, "is_causal", 0) != 0;
    st->q_heads = ox_attr_int(c, "q_num_heads", 0);
    st->kv_heads = ox_attr_int(c, "kv_num_heads", 0);
    int64_t mode = ox_attr_int(c, "qk_matmul_output_mode", 0);
    st->has_scale = ox_attr_get(c, "scale") != NULL;
    st->scale = ox_attr_float(c, "scale", 1.0f);
    st->softcap = ox_attr_float(c, "softcap", 0.0f);
    int64_t prec = ox_attr_int(c, "softmax_precision", ONYX_DTYPE_FLOAT);
    st->left_window = c->opset >= 25 ? ox_attr_int(c, "left_window_size", -1) : -1;
    st->right_window = c->opset >= 25 ? ox_attr_int(c, "right_window_size", -1) : -1;
    OX_TRY(ox_op_status(c));
    if (mode < 0 || mode > 3)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'qk_matmul_output_mode' is %lld; "
                        "expected 0 to 3", (long long)mode);
    st->qk_mode = (int)mode;
    /* softmax runs in float (double for double inputs) whatever is asked: at
     * least the precision of every allowed choice but double */
    if (prec != ONYX_DTYPE_FLOAT && prec != ONYX_DTYPE_FLOAT16 && prec != ONYX_DTYPE_DOUBLE &&
        prec != ONYX_DTYPE_BFLOAT16)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'softmax_precision' is %lld; "
                        "expected 1, 10, 11 or 16", (long long)prec);
    if (st->q_heads < 0 || st->kv_heads < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "q_num_heads and kv_num_heads must be "
                        "positive");
    if (st->left_window < -1 || st->right_window < -1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "left_window_size and right_window_size must "
                        "be -1 or >= 0");
    if (!(st->softcap >= 0))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'softcap' must be >= 0");
    return ONYX_OK;
}

/* ---- geometry ------------------------------------------------------------- */

typedef struct att_geom {
    size_t B, Hq, Hkv, Sq, Skv, P, T, Dh, Dv;
    int q3d; /* 3-D Q, K, V: (batch, sequence, heads * head size) */
} att_geom;

typedef struct att_run {
    const att_state *st;
    att_geom g;
    double scale;
    const void *Q, *K, *V, *past_k, *past_v;
    const ox_tensor *mask;  /* NULL when absent */
    size_t mstride[4];      /* over (batch, head, query, key); 0 where broadcast */
    size_t mlast;           /* keys the mask covers; later keys are disallowed */
    const ox_tensor *nonpad; /* NULL when absent */
} att_run;

static onyx_status dim_div(int64_t total, int64_t heads, const char *what, size_t *out) {
    if (heads <= 0 || total % heads)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s hidden size %lld is not a multiple of %lld "
                        "heads", what, (long long)total, (long long)heads);
    *out = (size_t)(total / heads);
    return ONYX_OK;
}

static onyx_status att_geom_of(const ox_op_ctx *c, att_geom *g) {
    const att_state *st = c->state;
    for (size_t i = 0; i < 3; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "inputs Q, K and V are required");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output Y is required");
    if (c->n_in > (c->opset >= 24 ? 7u : 6u) || c->n_out > 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "too many inputs or outputs");
    const ox_tensor *Q = c->in[0], *K = c->in[1], *V = c->in[2];
    if (!ox_nn_is_floatlike(Q->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input Q is %s; expected a float type",
                        ox_dtype_name(Q->dtype));
    if (K->dtype != Q->dtype || V->dtype != Q->dtype)
        return ox_error(ONYX_ERR_UNSUPPORTED, "inputs Q, K and V must have one element type "
                        "(got %s, %s, %s)", ox_dtype_name(Q->dtype), ox_dtype_name(K->dtype),
                        ox_dtype_name(V->dtype));
    if (Q->rank != K->rank || Q->rank != V->rank || (Q->rank != 3 && Q->rank != 4))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs Q, K and V must all be 3-D or all 4-D");
    memset(g, 0, sizeof *g);
    g->q3d = Q->rank == 3;
    if (Q->dims[0] != K->dims[0] || Q->dims[0] != V->dims[0])
        return ox_error(ONYX_ERR_INVALID_MODEL, "Q, K and V have different batch sizes");
    g->B = (size_t)Q->dims[0];
    size_t dk;
    if (g->q3d) {
        if (st->q_heads <= 0 || st->kv_heads <= 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "3-D inputs need attributes q_num_heads "
                            "and kv_num_heads");
        g->Hq = (size_t)st->q_heads;
        g->Hkv = (size_t)st->kv_heads;
        g->Sq = (size_t)Q->dims[1];
        OX_TRY(dim_div(Q->dims[2], st->q_heads, "Q", &g->Dh));
        OX_TRY(dim_div(K->dims[2], st->kv_heads, "K", &dk));
        OX_TRY(dim_div(V->dims[2], st->kv_heads, "V", &g->Dv));
        if (K->dims[1] != V->dims[1])
            return ox_error(ONYX_ERR_INVALID_MODEL, "K and V have different sequence lengths");
        g->Skv = (size_t)K->dims[1];
    } else {
        g->Hq = (size_t)Q->dims[1];
        g->Sq = (size_t)Q->dims[2];
        g->Dh = (size_t)Q->dims[3];
        g->Hkv = (size_t)K->dims[1];
        dk = (size_t)K->dims[3];
        g->Skv = (size_t)K->dims[2];
        g->Dv = (size_t)V->dims[3];
        if (V->dims[1] != K->dims[1] || V->dims[2] != K->dims[2])
            return ox_error(ONYX_ERR_INVALID_MODEL, "K and V have different heads or sequence "
                            "lengths");
    }
    if (dk != g->Dh)
        return ox_error(ONYX_ERR_INVALID_MODEL, "K's head size %zu differs from Q's %zu", dk,
                        g->Dh);
    if (g->Hkv == 0 || g->Hq % g->Hkv)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%zu query heads are not a multiple of %zu "
                        "key/value heads", g->Hq, g->Hkv);
    int has_pk = ox_has_input(c, 4), has_pv = ox_has_input(c, 5);
    if (has_pk != has_pv)
        return ox_error(ONYX_ERR_INVALID_MODEL, "past_key and past_value must be given together");
    if (has_pk) {
        const ox_tensor *pk = c->in[4], *pv = c->in[5];
        if (pk->dtype != Q->dtype || pv->dtype != Q->dtype || pk->rank != 4 || pv->rank != 4 ||
            pk->dims[0] != (int64_t)g->B || pk->dims[1] != (int64_t)g->Hkv ||
            pk->dims[3] != (int64_t)g->Dh || pv->dims[0] != (int64_t)g->B ||
            pv->dims[1] != (int64_t)g->Hkv || pv->dims[2] != pk->dims[2] ||
            pv->dims[3] != (int64_t)g->Dv)
            return ox_error(ONYX_ERR_INVALID_MODEL, "past_key/past_value must be (batch, "
                            "kv_num_heads, past_length, head_size) of Q's type");
        g->P = (size_t)pk->dims[2];
    }
    g->T = g->P + g->Skv;
    /* head sizes of 0 leave Q, K, V empty whatever the lengths: bound the scores */
    size_t n_scores;
    if (!ox_mul_ok(g->B, g->Hq, &n_scores) || !ox_mul_ok(n_scores, g->Sq, &n_scores) ||
        !ox_mul_ok(n_scores, g->T, &n_scores) || n_scores > ((size_t)1 << 48))
        return ox_error(ONYX_ERR_LIMIT, "attention scores (%zu x %zu x %zu x %zu) are too many",
                        g->B, g->Hq, g->Sq, g->T);
    if (ox_has_input(c, 3)) {
        const ox_tensor *m = c->in[3];
        if (m->rank < 1 || m->rank > 4)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attn_mask has rank %d; expected 1 to 4",
                            (int)m->rank);
        if (m->dtype == ONYX_DTYPE_STRING || ox_dtype_size(m->dtype) == 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attn_mask is %s",
                            ox_dtype_name(m->dtype));
        size_t want[4] = {g->B, g->Hq, g->Sq, g->T};
        for (int k = 0; k < m->rank; k++) {
            int64_t md = m->dims[m->rank - 1 - k], td = (int64_t)want[3 - k];
            if (k == 0 ? md > td : (md != 1 && md != td))
                return ox_error(ONYX_ERR_INVALID_MODEL, "attn_mask dim %d is %lld; it does not "
                                "fit (%zu, %zu, %zu, %zu)", (int)(m->rank - 1 - k),
                                (long long)md, g->B, g->Hq, g->Sq, g->T);
        }
    }
    if (ox_has_input(c, 6)) {
        const ox_tensor *n = c->in[6];
        if (n->dtype != ONYX_DTYPE_INT64 || n->rank != 1 || n->dims[0] != (int64_t)g->B)
            return ox_error(ONYX_ERR_INVALID_MODEL, "nonpad_kv_seqlen must be int64 (batch,)");
        if (has_pk)
            return ox_error(ONYX_ERR_INVALID_MODEL, "nonpad_kv_seqlen cannot be used with "
                            "past_key and past_value");
    }
    return ONYX_OK;
}

static onyx_status kv_bytes(const att_geom *g, size_t d, size_t esize, size_t *out) {
    size_t n;
    if (!ox_mul_ok(g->B, g->Hkv, &n) || !ox_mul_ok(n, g->T, &n) || !ox_mul_ok(n, d, &n) ||
        !ox_mul_ok(n, esize, &n) || !ox_add_ok(n, 64, &n))
        return ox_error(ONYX_ERR_LIMIT, "key/value cache size overflows");
    *out = n / 64 * 64;
    return ONYX_OK;
}

onyx_status ox_attention_infer(ox_op_ctx *c) {
    att_geom g;
    OX_TRY(att_geom_of(c, &g));
    int32_t dt = c->in[0]->dtype;
    int64_t B = (int64_t)g.B, Hq = (int64_t)g.Hq, Hkv = (int64_t)g.Hkv, Sq = (int64_t)g.Sq,
            T = (int64_t)g.T;
    if (g.q3d)
        ox_set_shape(c->out[0], dt, 3, (int64_t[]){B, Sq, Hq * (int64_t)g.Dv});
    else
        ox_set_shape(c->out[0], dt, 4, (int64_t[]){B, Hq, Sq, (int64_t)g.Dv});
    if (ox_has_output(c, 1)) ox_set_shape(c->out[1], dt, 4, (int64_t[]){B, Hkv, T, (int64_t)g.Dh});
    if (ox_has_output(c, 2)) ox_set_shape(c->out[2], dt, 4, (int64_t[]){B, Hkv, T, (int64_t)g.Dv});
    if (ox_has_output(c, 3)) ox_set_shape(c->out[3], dt, 4, (int64_t[]){B, Hq, Sq, T});
    size_t esize = dt == ONYX_DTYPE_DOUBLE ? sizeof(double) : sizeof(float), kb = 0, vb = 0;
    if (!ox_has_output(c, 1)) OX_TRY(kv_bytes(&g, g.Dh, esize, &kb));
    if (!ox_has_output(c, 2)) OX_TRY(kv_bytes(&g, g.Dv, esize, &vb));
    c->workspace_bytes = kb + vb;
    return ONYX_OK;
}

/* ---- masking ---------------------------------------------------------------- */

static double mask_value(const ox_tensor *m, size_t i) {
    switch (m->dtype) {
    case ONYX_DTYPE_BOOL: return ((const uint8_t *)m->data)[i] ? 0.0 : -INFINITY;
    case ONYX_DTYPE_FLOAT: return ((const float *)m->data)[i];
    case ONYX_DTYPE_DOUBLE: return ((const double *)m->data)[i];
    default: return ox_tensor_get_double(m, i);
    }
}

/* The additive bias of query row i against every key: the mask, the causal and
 * window frontiers and the external cache's padding. Returns 1 when every key is
 * disallowed (-inf), which makes the row's probabilities zero. */
static int att_bias_row(const att_run *r, size_t b, size_t h, size_t i, double *bias) {
    const att_geom *g = &r->g;
    const att_state *st = r->st;
    int64_t valid = (int64_t)g->T, offset = (int64_t)g->P;
    if (r->nonpad) {
        valid = ((const int64_t *)r->nonpad->data)[b];
        offset = valid - (int64_t)g->Sq;
    }
    int64_t pos = (int64_t)i + offset;
    size_t mbase = b * r->mstride[0] + h * r->mstride[1] + i * r->mstride[2];
    int all_masked = 1;
    for (size_t j = 0; j < g->T; j++) {
        double v = 0;
        int64_t jj = (int64_t)j, diff = pos - jj;
        if (r->mask) v = j < r->mlast ? mask_value(r->mask, mbase + j * r->mstride[3]) : -INFINITY;
        if ((st->is_causal && jj > pos) || (st->left_window >= 0 && diff > st->left_window) ||
            (st->right_window >= 0 && -diff > st->right_window) || jj >= valid)
            v += -INFINITY;
        bias[j] = v;
        if (!(v == -INFINITY)) all_masked = 0;
    }
    return all_masked;
}

#define REAL float
#define SUF f32
#define GEMM ox_sgemm
#define EXP expf
#define TANH tanhf
#include "ops/attention_impl.h"
#undef REAL
#undef SUF
#undef GEMM
#undef EXP
#undef TANH

#define REAL double
#define SUF f64
#define GEMM ox_dgemm
#define EXP exp
#define TANH tanh
#include "ops/attention_impl.h"
#undef REAL
#undef SUF
#undef GEMM
#undef EXP
#undef TANH

static onyx_status att_run_full(ox_op_ctx *c) {
    const att_state *st = c->state;
    att_run r = {.st = st};
    OX_TRY(att_geom_of(c, &r.g));
    const att_geom *g = &r.g;
    r.scale = st->has_scale ? st->scale : (g->Dh ? 1.0 / sqrt((double)g->Dh) : 1.0);
    r.Q = c->in[0]->data;
    r.K = c->in[1]->data;
    r.V = c->in[2]->data;
    if (ox_has_input(c, 4)) {
        r.past_k = c->in[4]->data;
        r.past_v = c->in[5]->data;
    }
    if (ox_has_input(c, 3)) {
        const ox_tensor *m = c->in[3];
        size_t stride = 1;
        r.mask = m;
        for (int k = 0; k < m->rank; k++) {
            size_t md = (size_t)m->dims[m->rank - 1 - k];
            r.mstride[3 - k] = k == 0 || md != 1 ? stride : 0;
            stride *= md;
        }
        r.mlast = (size_t)m->dims[m->rank - 1];
    }
    if (ox_has_input(c, 6)) r.nonpad = c->in[6];
    int dbl = c->in[0]->dtype == ONYX_DTYPE_DOUBLE;
    size_t kb = 0;
    if (!ox_has_output(c, 1)) OX_TRY(kv_bytes(g, g->Dh, dbl ? 8 : 4, &kb));
    void *Kt = ox_has_output(c, 1) ? c->out[1]->data : c->workspace;
    void *Vt = ox_has_output(c, 2) ? c->out[2]->data : (char *)c->workspace + kb;
    void *QK = ox_has_output(c, 3) ? c->out[3]->data : NULL;
    if (dbl) return att_compute_f64(&r, Kt, Vt, c->out[0]->data, QK, c->pool);
    return att_compute_f32(&r, Kt, Vt, c->out[0]->data, QK, c->pool);
}

onyx_status ox_attention_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, att_run_full);
    return att_run_full(c);
}
