/* Attention, RotaryEmbedding, SwiGLU, LinearAttention, CausalConvWithState and
 * FlexAttention against plain double-precision references written from the
 * ONNX operator descriptions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "test.h"
#include "test_rnn.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static double getf(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

static void free_all(ox_tensor *t, size_t n) {
    for (size_t i = 0; i < n; i++) ox_tensor_free_data(&t[i]);
}

/* ---- Attention ------------------------------------------------------------------ */

typedef struct acfg {
    int q3d;
    size_t B, Hq, Hkv, Sq, Skv, P, Dh, Dv;
    int mask;        /* 0 none, 1 bool, 2 float */
    int mrank;       /* 1..4 */
    int64_t mdims[4];
    int causal;
    int nonpad;
    int64_t nonpad_v[8];
    int has_scale;
    float scale, softcap;
    int qk_out, qk_mode;
    int present;
    int64_t lw, rw; /* windows (opset 25), -1 = none */
} acfg;

/* Row-major index of (b, h, s, d) in a 3-D (B, S, H*D) or 4-D (B, H, S, D) tensor. */
static size_t idx4(int q3d, size_t H, size_t S, size_t D, size_t b, size_t h, size_t s,
                   size_t d) {
    return q3d ? ((b * S + s) * H + h) * D + d : ((b * H + h) * S + s) * D + d;
}

static void att_reference(const acfg *c, const ox_tensor *Q, const ox_tensor *K,
                          const ox_tensor *V, const ox_tensor *M, const ox_tensor *pk,
                          const ox_tensor *pv, double *Y, double *QK, double *PK, double *PV) {
    const size_t T = c->P + c->Skv, grp = c->Hq / c->Hkv;
    double scale = c->has_scale ? c->scale : 1 / sqrt((double)c->Dh);
    double *s = calloc(T + 1, sizeof *s), *bias = calloc(T + 1, sizeof *bias);
    for (size_t b = 0; b < c->B; b++)
        for (size_t hk = 0; hk < c->Hkv; hk++)
            for (size_t j = 0; j < T; j++) {
                for (size_t d = 0; d < c->Dh; d++)
                    PK[((b * c->Hkv + hk) * T + j) * c->Dh + d] =
                        j < c->P ? getf(pk, ((b * c->Hkv + hk) * c->P + j) * c->Dh + d)
                                 : getf(K, idx4(c->q3d, c->Hkv, c->Skv, c->Dh, b, hk, j - c->P, d));
                for (size_t d = 0; d < c->Dv; d++)
                    PV[((b * c->Hkv + hk) * T + j) * c->Dv + d] =
                        j < c->P ? getf(pv, ((b * c->Hkv + hk) * c->P + j) * c->Dv + d)
                                 : getf(V, idx4(c->q3d, c->Hkv, c->Skv, c->Dv, b, hk, j - c->P, d));
            }
    for (size_t b = 0; b < c->B; b++)
        for (size_t h = 0; h < c->Hq; h++) {
            size_t hk = h / grp;
            for (size_t i = 0; i < c->Sq; i++) {
                int64_t valid = (int64_t)T, off = (int64_t)c->P;
                if (c->nonpad) {
                    valid = c->nonpad_v[b];
                    off = valid - (int64_t)c->Sq;
                }
                int all_masked = 1;
                for (size_t j = 0; j < T; j++) {
                    double dot = 0;
                    for (size_t d = 0; d < c->Dh; d++)
                        dot += getf(Q, idx4(c->q3d, c->Hq, c->Sq, c->Dh, b, h, i, d)) *
                               PK[((b * c->Hkv + hk) * T + j) * c->Dh + d];
                    dot *= scale;
                    double capped = c->softcap > 0 ? c->softcap * tanh(dot / c->softcap) : dot;
                    double bj = 0;
                    if (c->mask) {
                        int64_t mlast = c->mdims[c->mrank - 1];
                        if ((int64_t)j >= mlast) {
                            bj = -INFINITY;
                        } else {
                            size_t full[4] = {b, h, i, j}, mi = 0;
                            for (int k = 0; k < c->mrank; k++) {
                                size_t a = full[4 - c->mrank + k];
                                mi = mi * (size_t)c->mdims[k] + (c->mdims[k] == 1 ? 0 : a);
                            }
                            double mv = getf(M, mi);
                            bj = c->mask == 1 ? (mv != 0 ? 0 : -INFINITY) : mv;
                        }
                    }
                    int64_t p = (int64_t)i + off, jj = (int64_t)j;
                    if (c->causal && jj > p) bj = -INFINITY;
                    if (c->lw >= 0 && p - jj > c->lw) bj = -INFINITY;
                    if (c->rw >= 0 && jj - p > c->rw) bj = -INFINITY;
                    if (jj >= valid) bj = -INFINITY;
                    if (bj != -INFINITY) all_masked = 0;
                    bias[j] = bj;
                    s[j] = capped + bj;
                    size_t qo = ((b * c->Hq + h) * c->Sq + i) * T + j;
                    if (c->qk_mode == 0) QK[qo] = dot;
                    if (c->qk_mode == 1) QK[qo] = capped;
                    if (c->qk_mode == 2) QK[qo] = s[j];
                }
                double mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < T; j++) mx = s[j] > mx ? s[j] : mx;
                for (size_t j = 0; j < T; j++) sum += exp(s[j] - mx);
                for (size_t j = 0; j < T; j++) {
                    s[j] = all_masked ? 0 : exp(s[j] - mx) / sum;
                    if (c->qk_mode == 3) QK[((b * c->Hq + h) * c->Sq + i) * T + j] = s[j];
                }
                for (size_t d = 0; d < c->Dv; d++) {
                    double y = 0;
                    for (size_t j = 0; j < T; j++) y += s[j] * PV[((b * c->Hkv + hk) * T + j) * c->Dv + d];
                    Y[idx4(c->q3d, c->Hq, c->Sq, c->Dv, b, h, i, d)] = y;
                }
            }
        }
    free(s);
    free(bias);
}

static void att_run_cfg(const acfg *c, int32_t dtype, int64_t opset, ox_threadpool *pool) {
    const int64_t B = (int64_t)c->B, Hq = (int64_t)c->Hq, Hkv = (int64_t)c->Hkv,
                  Sq = (int64_t)c->Sq, Skv = (int64_t)c->Skv, P = (int64_t)c->P,
                  Dh = (int64_t)c->Dh, Dv = (int64_t)c->Dv, T = P + Skv;
    ox_node *n = tn_node("Attention", 7, 4);
    if (c->q3d) {
        tn_int(n, "q_num_heads", Hq);
        tn_int(n, "kv_num_heads", Hkv);
    }
    if (c->causal) tn_int(n, "is_causal", 1);
    if (c->has_scale) tn_float(n, "scale", c->scale);
    if (c->softcap > 0) tn_float(n, "softcap", c->softcap);
    if (c->qk_out) tn_int(n, "qk_matmul_output_mode", c->qk_mode);
    if (c->lw >= 0) tn_int(n, "left_window_size", c->lw);
    if (c->rw >= 0) tn_int(n, "right_window_size", c->rw);
    ox_tensor f[6], in[7];
    if (c->q3d) {
        f[0] = tt_rand(3, (int64_t[]){B, Sq, Hq * Dh}, -1, 1);
        f[1] = tt_rand(3, (int64_t[]){B, Skv, Hkv * Dh}, -1, 1);
        f[2] = tt_rand(3, (int64_t[]){B, Skv, Hkv * Dv}, -1, 1);
    } else {
        f[0] = tt_rand(4, (int64_t[]){B, Hq, Sq, Dh}, -1, 1);
        f[1] = tt_rand(4, (int64_t[]){B, Hkv, Skv, Dh}, -1, 1);
        f[2] = tt_rand(4, (int64_t[]){B, Hkv, Skv, Dv}, -1, 1);
    }
    f[3] = tt_rand(c->mrank ? c->mrank : 1, c->mdims, -1, 1);
    f[4] = tt_rand(4, (int64_t[]){B, Hkv, P, Dh}, -1, 1);
    f[5] = tt_rand(4, (int64_t[]){B, Hkv, P, Dv}, -1, 1);
    ox_tensor *ins[7] = {0};
    for (int i = 0; i < 6; i++) {
        if (i == 3 && c->mask == 1) {
            in[3] = tt_make(ONYX_DTYPE_BOOL, f[3].rank, f[3].dims, NULL);
            for (size_t k = 0; k < ox_tensor_count(&f[3]); k++)
                ((uint8_t *)in[3].data)[k] = ((float *)f[3].data)[k] > -0.6f;
        } else {
            in[i] = rt_cast(&f[i], dtype);
        }
        ins[i] = &in[i];
    }
    in[6] = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){B}, c->nonpad_v);
    ins[6] = &in[6];
    if (!c->mask) ins[3] = NULL, tn_omit_input(n, 3);
    if (!c->P && !c->present) ins[4] = ins[5] = NULL, tn_omit_input(n, 4), tn_omit_input(n, 5);
    if (!c->nonpad) ins[6] = NULL, tn_omit_input(n, 6);
    size_t n_in = c->nonpad ? 7 : 6;
    size_t ny = (size_t)(B * Hq * Sq * Dv), nqk = (size_t)(B * Hq * Sq * T);
    double *Y = calloc(ny + 1, sizeof(double)), *QK = calloc(nqk + 1, sizeof(double));
    double *PK = calloc((size_t)(B * Hkv * T * Dh) + 1, sizeof(double));
    double *PV = calloc((size_t)(B * Hkv * T * Dv) + 1, sizeof(double));
    att_reference(c, &in[0], &in[1], &in[2], &in[3], &in[4], &in[5], Y, QK, PK, PV);
    ox_tensor out[4];
    int present[4] = {1, c->present, c->present, c->qk_out};
    onyx_status s = rt_run(n, opset, ins, n_in, out, present, 4, pool);
    CHECK(s == ONYX_OK);
    if (s != ONYX_OK) fprintf(stderr, "  Attention: %s\n", onyx_last_error());
    double tol = dtype == ONYX_DTYPE_DOUBLE ? 1e-10 : dtype == ONYX_DTYPE_FLOAT ? 2e-5 : 1e-2;
    if (s == ONYX_OK) {
        CHECK(out[0].dtype == dtype && out[0].rank == (c->q3d ? 3 : 4));
        ox_test_failures += rt_expect(&out[0], Y, ny, tol, "Y");
        if (c->present) {
            ox_test_failures += rt_expect(&out[1], PK, (size_t)(B * Hkv * T * Dh), tol, "present_key");
            ox_test_failures += rt_expect(&out[2], PV, (size_t)(B * Hkv * T * Dv), tol, "present_value");
        }
        if (c->qk_out) ox_test_failures += rt_expect(&out[3], QK, nqk, tol, "qk_matmul_output");
    }
    if (ox_test_failures)
        fprintf(stderr, "  case q3d=%d B=%zu Hq=%zu Hkv=%zu Sq=%zu Skv=%zu P=%zu Dh=%zu Dv=%zu "
                "mask=%d/%d causal=%d nonpad=%d softcap=%g mode=%d lw=%lld rw=%lld %s\n",
                c->q3d, c->B, c->Hq, c->Hkv, c->Sq, c->Skv, c->P, c->Dh, c->Dv, c->mask,
                c->mrank, c->causal, c->nonpad, c->softcap, c->qk_mode, (long long)c->lw,
                (long long)c->rw, ox_dtype_name(dtype));
    free_all(out, 4);
    free_all(f, 6);
    free_all(in, 7);
    free(Y);
    free(QK);
    free(PK);
    free(PV);
}

static void att_random(acfg *c, int64_t opset) {
    memset(c, 0, sizeof *c);
    c->q3d = rt_rnd(2);
    c->B = (size_t)rt_rnd(3) + 1;
    c->Hkv = (size_t)rt_rnd(3) + 1;
    c->Hq = c->Hkv * (size_t)(rt_rnd(3) + 1);
    c->Sq = (size_t)rt_rnd(5) + 1;
    c->Skv = (size_t)rt_rnd(6) + (rt_rnd(6) ? 1 : 0);
    c->Dh = (size_t)rt_rnd(6) + 1;
    c->Dv = (size_t)rt_rnd(6) + 1;
    c->nonpad = opset >= 24 && rt_rnd(4) == 0;
    c->P = !c->nonpad && rt_rnd(3) == 0 ? (size_t)rt_rnd(4) : 0;
    c->present = !c->nonpad && rt_rnd(2);
    size_t T = c->P + c->Skv;
    for (size_t b = 0; b < c->B; b++) c->nonpad_v[b] = rt_rnd((int)T + 2);
    c->mask = rt_rnd(3);
    if (c->mask) {
        c->mrank = rt_rnd(4) + 1;
        size_t full[4] = {c->B, c->Hq, c->Sq, T};
        for (int k = 0; k < c->mrank; k++) {
            size_t want = full[4 - c->mrank + k];
            c->mdims[k] = rt_rnd(3) == 0 ? 1 : (int64_t)want;
        }
        /* the key dim may be shorter than the keys (padded with -inf), never broadcast */
        c->mdims[c->mrank - 1] = (int64_t)T - (T && rt_rnd(3) == 0 ? rt_rnd((int)T) : 0);
    }
    c->causal = rt_rnd(2);
    c->has_scale = rt_rnd(3) == 0;
    c->scale = 0.05f + tt_randf();
    c->softcap = rt_rnd(3) == 0 ? 0.5f + 2 * tt_randf() : 0;
    c->qk_out = rt_rnd(2);
    c->qk_mode = rt_rnd(4);
    c->lw = opset >= 25 && rt_rnd(2) ? rt_rnd(4) : -1;
    c->rw = opset >= 25 && rt_rnd(2) ? rt_rnd(4) : -1;
}

TEST(attention_random_float) {
    for (int it = 0; it < 150 && !ox_test_failures; it++) {
        int64_t opset = 23 + it % 3;
        acfg c;
        att_random(&c, opset);
        att_run_cfg(&c, ONYX_DTYPE_FLOAT, opset, NULL);
    }
    tn_reset();
}

TEST(attention_random_double_half_threads) {
    ox_threadpool *pool = ox_threadpool_create(3);
    static const int32_t types[] = {ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
                                    ONYX_DTYPE_FLOAT};
    for (int it = 0; it < 40 && !ox_test_failures; it++) {
        acfg c;
        att_random(&c, 24);
        att_run_cfg(&c, types[it % 4], 24, it % 2 ? pool : NULL);
    }
    ox_threadpool_free(pool);
    tn_reset();
}

TEST(attention_fully_masked_rows_are_zero) {
    /* an all-false bool row, and causal with a negative external-cache offset */
    acfg c = {.B = 1, .Hq = 2, .Hkv = 2, .Sq = 3, .Skv = 4, .Dh = 3, .Dv = 2, .mask = 1,
              .mrank = 2, .mdims = {3, 4}, .lw = -1, .rw = -1};
    att_run_cfg(&c, ONYX_DTYPE_FLOAT, 23, NULL);
    acfg d = {.B = 2, .Hq = 2, .Hkv = 1, .Sq = 4, .Skv = 4, .Dh = 3, .Dv = 2, .causal = 1,
              .nonpad = 1, .nonpad_v = {2, 4}, .qk_out = 1, .qk_mode = 3, .lw = -1, .rw = -1};
    att_run_cfg(&d, ONYX_DTYPE_FLOAT, 24, NULL);
    tn_reset();
}

TEST(attention_rejects_bad_inputs) {
    ox_tensor Q = tt_rand(4, (int64_t[]){1, 3, 2, 4}, -1, 1);
    ox_tensor K = tt_rand(4, (int64_t[]){1, 2, 2, 4}, -1, 1); /* 3 heads over 2 */
    ox_tensor K3 = tt_rand(3, (int64_t[]){1, 2, 8}, -1, 1);
    ox_tensor M = tt_rand(2, (int64_t[]){2, 5}, -1, 1); /* longer than the keys */
    ox_tensor out[4];
    ox_node *n = tn_node("Attention", 3, 1);
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &K, &K}, 3, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &Q, &K3}, 3, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    n = tn_node("Attention", 4, 1);
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &Q, &Q, &M}, 4, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    n = tn_node("Attention", 3, 1);
    tn_int(n, "qk_matmul_output_mode", 7);
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &Q, &Q}, 3, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    n = tn_node("Attention", 3, 1); /* 3-D without head counts */
    CHECK(rt_run(n, 23, (ox_tensor *[]){&K3, &K3, &K3}, 3, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    n = tn_node("Attention", 5, 1); /* past_key without past_value */
    tn_omit_input(n, 3);
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &Q, &Q, NULL, &Q}, 5, out, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL);
    ox_tensor *all[] = {&Q, &K, &K3, &M};
    for (int i = 0; i < 4; i++) ox_tensor_free_data(all[i]);
    tn_reset();
}

/* ---- RotaryEmbedding ------------------------------------------------------------- */

TEST(rotary_embedding_random) {
    for (int it = 0; it < 60 && !ox_test_failures; it++) {
        int x3d = rt_rnd(2), inter = rt_rnd(2), with_pos = rt_rnd(2);
        int32_t dtype = it % 5 == 4 ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT;
        int64_t B = rt_rnd(3) + 1, S = rt_rnd(4) + 1, NH = rt_rnd(3) + 1,
                HD = 2 * (rt_rnd(4) + 1), RD = rt_rnd(2) ? 2 * (rt_rnd((int)HD / 2) + 1) : 0;
        int64_t rd = RD ? RD : HD, half = rd / 2, npos = rt_rnd(6) + 1;
        ox_node *n = tn_node("RotaryEmbedding", with_pos ? 4 : 3, 1);
        if (inter) tn_int(n, "interleaved", 1);
        if (RD) tn_int(n, "rotary_embedding_dim", RD);
        if (x3d) tn_int(n, "num_heads", NH);
        ox_tensor fx = x3d ? tt_rand(3, (int64_t[]){B, S, NH * HD}, -1, 1)
                           : tt_rand(4, (int64_t[]){B, NH, S, HD}, -1, 1);
        ox_tensor fc = with_pos ? tt_rand(2, (int64_t[]){npos, half}, -1, 1)
                                : tt_rand(3, (int64_t[]){B, S, half}, -1, 1);
        ox_tensor fs = with_pos ? tt_rand(2, (int64_t[]){npos, half}, -1, 1)
                                : tt_rand(3, (int64_t[]){B, S, half}, -1, 1);
        int64_t pos[64];
        for (int64_t i = 0; i < B * S; i++) pos[i] = rt_rnd((int)npos);
        ox_tensor X = rt_cast(&fx, dtype), C = rt_cast(&fc, dtype), Sn = rt_cast(&fs, dtype);
        ox_tensor Pt = tt_make(ONYX_DTYPE_INT64, 2, (int64_t[]){B, S}, pos);
        size_t nx = ox_tensor_count(&X);
        double *want = calloc(nx, sizeof *want);
        for (int64_t b = 0; b < B; b++)
            for (int64_t s = 0; s < S; s++)
                for (int64_t h = 0; h < NH; h++) {
                    size_t off = (size_t)(x3d ? ((b * S + s) * NH + h) * HD
                                              : ((b * NH + h) * S + s) * HD);
                    size_t crow = (size_t)(with_pos ? pos[b * S + s] : b * S + s);
                    for (int64_t k = 0; k < HD; k++) want[off + (size_t)k] = getf(&X, off + (size_t)k);
                    for (int64_t k = 0; k < half; k++) {
                        size_t a = off + (size_t)(inter ? 2 * k : k);
                        size_t bb = off + (size_t)(inter ? 2 * k + 1 : k + half);
                        double cv = getf(&C, crow * (size_t)half + (size_t)k);
                        double sv = getf(&Sn, crow * (size_t)half + (size_t)k);
                        double x1 = getf(&X, a), x2 = getf(&X, bb);
                        want[a] = cv * x1 - sv * x2;
                        want[bb] = sv * x1 + cv * x2;
                    }
                }
        ox_tensor Y;
        onyx_status s = rt_run(n, 23, (ox_tensor *[]){&X, &C, &Sn, &Pt}, with_pos ? 4 : 3, &Y,
                               NULL, 1, NULL);
        CHECK(s == ONYX_OK);
        if (s == ONYX_OK) {
            ox_test_failures += rt_expect(&Y, want, nx, dtype == ONYX_DTYPE_FLOAT ? 1e-6 : 5e-3,
                                          "RotaryEmbedding");
            ox_tensor_free_data(&Y);
        }
        ox_tensor all[] = {fx, fc, fs, X, C, Sn, Pt};
        free_all(all, 7);
        free(want);
    }
    /* a position past the caches is an error, not a read out of bounds */
    ox_node *n = tn_node("RotaryEmbedding", 4, 1);
    ox_tensor X = tt_rand(4, (int64_t[]){1, 1, 2, 4}, -1, 1);
    ox_tensor C = tt_rand(2, (int64_t[]){3, 2}, -1, 1);
    ox_tensor Pt = tt_make(ONYX_DTYPE_INT64, 2, (int64_t[]){1, 2}, (int64_t[]){1, 3});
    ox_tensor Y;
    CHECK(rt_run(n, 23, (ox_tensor *[]){&X, &C, &C, &Pt}, 4, &Y, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_ARGUMENT);
    ox_tensor all[] = {X, C, Pt};
    free_all(all, 3);
    tn_reset();
}

/* ---- SwiGLU ------------------------------------------------------------------------ */

TEST(swiglu_random) {
    static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                    ONYX_DTYPE_BFLOAT16};
    for (int it = 0; it < 16 && !ox_test_failures; it++) {
        int32_t rank = rt_rnd(4);
        int64_t dims[3];
        for (int k = 0; k < rank; k++) dims[k] = rt_rnd(4); /* zero-size dims too */
        ox_tensor fa = tt_rand(rank, dims, -4, 4), fb = tt_rand(rank, dims, -2, 2);
        ox_tensor A = rt_cast(&fa, types[it % 4]), Bt = rt_cast(&fb, types[it % 4]);
        float alpha = it % 2 ? 0.5f + tt_randf() : 1.0f;
        ox_node *n = tn_node("SwiGLU", 2, 1);
        if (it % 2) tn_float(n, "alpha", alpha);
        size_t cnt = ox_tensor_count(&A);
        double *want = calloc(cnt + 1, sizeof *want);
        for (size_t i = 0; i < cnt; i++) {
            double a = getf(&A, i);
            want[i] = a / (1 + exp(-alpha * a)) * getf(&Bt, i);
        }
        ox_tensor Y;
        REQUIRE_OK(rt_run(n, 28, (ox_tensor *[]){&A, &Bt}, 2, &Y, NULL, 1, NULL));
        CHECK(Y.rank == rank && Y.dtype == types[it % 4]);
        ox_test_failures += rt_expect(&Y, want, cnt, it % 4 >= 2 ? 1e-2 : 1e-6, "SwiGLU");
        ox_tensor all[] = {fa, fb, A, Bt, Y};
        free_all(all, 5);
        free(want);
    }
    ox_tensor a = tt_rand(1, (int64_t[]){3}, -1, 1), b = tt_rand(1, (int64_t[]){1}, -1, 1), Y;
    ox_node *n = tn_node("SwiGLU", 2, 1);
    CHECK(rt_run(n, 28, (ox_tensor *[]){&a, &b}, 2, &Y, NULL, 1, NULL) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

/* ---- LinearAttention --------------------------------------------------------------- */

TEST(linear_attention_random) {
    static const char *rules[] = {"linear", "gated", "delta", "gated_delta"};
    for (int it = 0; it < 48 && !ox_test_failures; it++) {
        int rule = it % 4, gating = rule == 1 || rule == 3, delta = rule >= 2;
        int with_past = rt_rnd(2), decay_full = rt_rnd(2), beta_one = rt_rnd(2);
        int32_t dtype = it % 6 == 5 ? ONYX_DTYPE_FLOAT16 : ONYX_DTYPE_FLOAT;
        int64_t B = rt_rnd(2) + 1, T = rt_rnd(4) + 1, Hkv = rt_rnd(2) + 1,
                Hq = Hkv * (rt_rnd(2) + 1), Dk = rt_rnd(4) + 1, Dv = rt_rnd(4) + 1;
        float scale = it % 3 == 0 ? 0.3f : 0.0f;
        ox_node *n = tn_node("LinearAttention", 6, 2);
        tn_str(n, "update_rule", rules[rule]);
        tn_int(n, "q_num_heads", Hq);
        tn_int(n, "kv_num_heads", Hkv);
        if (scale != 0) tn_float(n, "scale", scale);
        ox_tensor f[6] = {
            tt_rand(3, (int64_t[]){B, T, Hq * Dk}, -1, 1),
            tt_rand(3, (int64_t[]){B, T, Hkv * Dk}, -0.5f, 0.5f),
            tt_rand(3, (int64_t[]){B, T, Hkv * Dv}, -1, 1),
            tt_rand(4, (int64_t[]){B, Hkv, Dk, Dv}, -0.3f, 0.3f),
            tt_rand(3, (int64_t[]){B, T, decay_full ? Hkv * Dk : Hkv}, -0.3f, 0),
            tt_rand(3, (int64_t[]){B, T, beta_one ? 1 : Hkv}, 0, 1),
        };
        ox_tensor in[6];
        ox_tensor *ins[6];
        for (int i = 0; i < 6; i++) {
            in[i] = rt_cast(&f[i], dtype);
            ins[i] = &in[i];
        }
        if (!with_past) ins[3] = NULL, tn_omit_input(n, 3);
        if (!gating) ins[4] = NULL, tn_omit_input(n, 4);
        if (!delta) ins[5] = NULL, tn_omit_input(n, 5);
        size_t ny = (size_t)(B * T * Hq * Dv), ns = (size_t)(B * Hkv * Dk * Dv);
        double *Y = calloc(ny, sizeof *Y), *St = calloc(ns, sizeof *St);
        double *u = calloc((size_t)Dv, sizeof *u);
        double sc = scale != 0 ? scale : 1 / sqrt((double)Dk);
        for (size_t i = 0; i < ns; i++) St[i] = with_past ? getf(&in[3], i) : 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t t = 0; t < T; t++)
                for (int64_t h = 0; h < Hkv; h++) {
                    double *S = St + (size_t)((b * Hkv + h) * Dk * Dv);
                    size_t row = (size_t)(b * T + t);
                    for (int64_t d = 0; d < Dk && gating; d++) {
                        size_t gi = decay_full ? row * (size_t)(Hkv * Dk) + (size_t)(h * Dk + d)
                                               : row * (size_t)Hkv + (size_t)h;
                        for (int64_t m = 0; m < Dv; m++) S[d * Dv + m] *= exp(getf(&in[4], gi));
                    }
                    for (int64_t m = 0; m < Dv; m++) {
                        double v = getf(&in[2], row * (size_t)(Hkv * Dv) + (size_t)(h * Dv + m));
                        if (delta) {
                            double r = 0;
                            for (int64_t d = 0; d < Dk; d++)
                                r += S[d * Dv + m] *
                                     getf(&in[1], row * (size_t)(Hkv * Dk) + (size_t)(h * Dk + d));
                            double be = getf(&in[5], beta_one ? row : row * (size_t)Hkv + (size_t)h);
                            v = be * (v - r);
                        }
                        u[m] = v;
                    }
                    for (int64_t d = 0; d < Dk; d++)
                        for (int64_t m = 0; m < Dv; m++)
                            S[d * Dv + m] +=
                                getf(&in[1], row * (size_t)(Hkv * Dk) + (size_t)(h * Dk + d)) * u[m];
                    for (int64_t qh = h * (Hq / Hkv); qh < (h + 1) * (Hq / Hkv); qh++)
                        for (int64_t m = 0; m < Dv; m++) {
                            double y = 0;
                            for (int64_t d = 0; d < Dk; d++)
                                y += getf(&in[0], row * (size_t)(Hq * Dk) + (size_t)(qh * Dk + d)) *
                                     S[d * Dv + m];
                            Y[row * (size_t)(Hq * Dv) + (size_t)(qh * Dv + m)] = sc * y;
                        }
                }
        ox_tensor out[2];
        onyx_status s = rt_run(n, 27, ins, 6, out, NULL, 2, NULL);
        CHECK(s == ONYX_OK);
        if (s == ONYX_OK) {
            double tol = dtype == ONYX_DTYPE_FLOAT ? 1e-5 : 2e-2;
            ox_test_failures += rt_expect(&out[0], Y, ny, tol, "output");
            ox_test_failures += rt_expect(&out[1], St, ns, tol, "present_state");
            free_all(out, 2);
        }
        free_all(f, 6);
        free_all(in, 6);
        free(Y);
        free(St);
        free(u);
    }
    /* the rule decides which of decay and beta must be given */
    ox_node *n = tn_node("LinearAttention", 3, 1);
    tn_int(n, "q_num_heads", 1);
    tn_int(n, "kv_num_heads", 1);
    ox_tensor q = tt_rand(3, (int64_t[]){1, 1, 2}, -1, 1), Y;
    CHECK(rt_run(n, 27, (ox_tensor *[]){&q, &q, &q}, 3, &Y, NULL, 1, NULL) ==
          ONYX_ERR_INVALID_MODEL); /* gated_delta by default: needs decay and beta */
    ox_tensor_free_data(&q);
    tn_reset();
}

/* ---- CausalConvWithState ----------------------------------------------------------- */

TEST(causal_conv_with_state_random) {
    for (int it = 0; it < 40 && !ox_test_failures; it++) {
        int silu = rt_rnd(3), has_bias = rt_rnd(2), has_past = rt_rnd(2);
        int32_t dtype = it % 5 == 4 ? ONYX_DTYPE_BFLOAT16 : ONYX_DTYPE_FLOAT;
        int64_t B = rt_rnd(3) + 1, C = rt_rnd(4) + 1, L = rt_rnd(6), K = rt_rnd(4) + 1;
        ox_node *n = tn_node("CausalConvWithState", 4, 2);
        if (silu) tn_str(n, "activation", silu == 1 ? "silu" : "swish");
        ox_tensor f[4] = {tt_rand(3, (int64_t[]){B, C, L}, -1, 1),
                          tt_rand(3, (int64_t[]){C, 1, K}, -1, 1),
                          tt_rand(1, (int64_t[]){C}, -1, 1),
                          tt_rand(3, (int64_t[]){B, C, K - 1}, -1, 1)};
        ox_tensor in[4];
        ox_tensor *ins[4];
        for (int i = 0; i < 4; i++) {
            in[i] = rt_cast(&f[i], dtype);
            ins[i] = &in[i];
        }
        if (!has_bias) ins[2] = NULL, tn_omit_input(n, 2);
        if (!has_past) ins[3] = NULL, tn_omit_input(n, 3);
        size_t ny = (size_t)(B * C * L), ns = (size_t)(B * C * (K - 1));
        double *Y = calloc(ny + 1, sizeof *Y), *St = calloc(ns + 1, sizeof *St);
        for (int64_t b = 0; b < B; b++)
            for (int64_t c = 0; c < C; c++) {
                /* x at padded position p: the past for p < K-1, then the input */
                for (int64_t t = 0; t < L; t++) {
                    double acc = has_bias ? getf(&in[2], (size_t)c) : 0;
                    for (int64_t j = 0; j < K; j++) {
                        int64_t p = t + j;
                        double x = p < K - 1 ? (has_past ? getf(&in[3], (size_t)((b * C + c) * (K - 1) + p)) : 0)
                                             : getf(&in[0], (size_t)((b * C + c) * L + p - (K - 1)));
                        acc += getf(&in[1], (size_t)(c * K + j)) * x;
                    }
                    Y[(b * C + c) * L + t] = silu ? acc / (1 + exp(-acc)) : acc;
                }
                for (int64_t i = 0; i < K - 1; i++) {
                    int64_t p = L + i;
                    St[(b * C + c) * (K - 1) + i] =
                        p < K - 1 ? (has_past ? getf(&in[3], (size_t)((b * C + c) * (K - 1) + p)) : 0)
                                  : getf(&in[0], (size_t)((b * C + c) * L + p - (K - 1)));
                }
            }
        ox_tensor out[2];
        onyx_status s = rt_run(n, 27, ins, 4, out, NULL, 2, NULL);
        CHECK(s == ONYX_OK);
        if (s == ONYX_OK) {
            double tol = dtype == ONYX_DTYPE_FLOAT ? 1e-5 : 3e-2;
            ox_test_failures += rt_expect(&out[0], Y, ny, tol, "output");
            ox_test_failures += rt_expect(&out[1], St, ns, tol, "present_state");
            free_all(out, 2);
        }
        free_all(f, 4);
        free_all(in, 4);
        free(Y);
        free(St);
    }
    tn_reset();
}

/* ---- FlexAttention ------------------------------------------------------------------ */

TEST(flex_attention_without_modifiers) {
    for (int it = 0; it < 12 && !ox_test_failures; it++) {
        int32_t dtype = it % 3 == 0 ? ONYX_DTYPE_DOUBLE : it % 3 == 1 ? ONYX_DTYPE_FLOAT
                                                                      : ONYX_DTYPE_FLOAT16;
        acfg c = {.B = (size_t)rt_rnd(2) + 1, .Hkv = (size_t)rt_rnd(2) + 1,
                  .Sq = (size_t)rt_rnd(4) + 1, .Skv = (size_t)rt_rnd(4) + 1,
                  .Dh = (size_t)rt_rnd(5) + 1, .Dv = (size_t)rt_rnd(5) + 1, .lw = -1, .rw = -1,
                  .has_scale = it % 2, .scale = 0.4f};
        c.Hq = c.Hkv * (size_t)(rt_rnd(2) + 1);
        ox_node *n = tn_node("FlexAttention", 3, 1);
        n->domain = "ai.onnx.preview";
        if (c.has_scale) tn_float(n, "scale", c.scale);
        int64_t B = (int64_t)c.B;
        ox_tensor f[3] = {tt_rand(4, (int64_t[]){B, (int64_t)c.Hq, (int64_t)c.Sq, (int64_t)c.Dh}, -1, 1),
                          tt_rand(4, (int64_t[]){B, (int64_t)c.Hkv, (int64_t)c.Skv, (int64_t)c.Dh}, -1, 1),
                          tt_rand(4, (int64_t[]){B, (int64_t)c.Hkv, (int64_t)c.Skv, (int64_t)c.Dv}, -1, 1)};
        ox_tensor in[3] = {rt_cast(&f[0], dtype), rt_cast(&f[1], dtype), rt_cast(&f[2], dtype)};
        size_t ny = c.B * c.Hq * c.Sq * c.Dv, T = c.Skv;
        double *Y = calloc(ny, sizeof *Y), *QK = calloc(c.B * c.Hq * c.Sq * T, sizeof *QK);
        double *PK = calloc(c.B * c.Hkv * T * c.Dh, sizeof *PK);
        double *PV = calloc(c.B * c.Hkv * T * c.Dv, sizeof *PV);
        att_reference(&c, &in[0], &in[1], &in[2], NULL, NULL, NULL, Y, QK, PK, PV);
        ox_tensor out;
        onyx_status s = rt_run(n, 1, (ox_tensor *[]){&in[0], &in[1], &in[2]}, 3, &out, NULL, 1,
                               NULL);
        CHECK(s == ONYX_OK);
        if (s == ONYX_OK) {
            double tol = dtype == ONYX_DTYPE_DOUBLE ? 1e-10 : dtype == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-2;
            ox_test_failures += rt_expect(&out, Y, ny, tol, "FlexAttention");
            ox_tensor_free_data(&out);
        }
        free_all(f, 3);
        free_all(in, 3);
        free(Y);
        free(QK);
        free(PK);
        free(PV);
    }
    tn_reset();
}

TEST(attention_huge_lengths_with_empty_heads_refused) {
    /* head size 0 leaves the tensors empty; the score count must still be bounded */
    int64_t big = (int64_t)1 << 40;
    ox_tensor Q = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 1, big, 0}, NULL);
    ox_tensor K = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 1, big, 0}, NULL);
    ox_node *n = tn_node("Attention", 3, 1);
    ox_tensor out;
    CHECK(rt_run(n, 23, (ox_tensor *[]){&Q, &K, &K}, 3, &out, NULL, 1, NULL) == ONYX_ERR_LIMIT);
    ox_tensor_free_data(&Q);
    ox_tensor_free_data(&K);
    tn_reset();
}
