/* Conv (im2col GEMM, 1x1, Winograd) and Gemm with a fused Sigmoid or SiLU, which
 * their epilogues apply in one pass with the bias (ox_nn_bias_kind, kernels/bias_act.h),
 * with and without a fused residual, against naive double references on every
 * kernel path. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "nodes.h"
#include "ops/op.h"
#include "test.h"

/* A float tensor of values in [lo, hi) from this file's own generator (the shared
 * one of nodes.h would shift the values every later test draws). */
static ox_tensor rnd(int32_t rank, const int64_t *dims, float lo, float hi) {
    static uint32_t state = 12345u;
    ox_tensor t = tt_make(ONYX_DTYPE_FLOAT, rank, dims, NULL);
    float *p = t.data;
    for (size_t i = 0; i < ox_tensor_count(&t); i++) {
        state = state * 1664525u + 1013904223u;
        p[i] = lo + (hi - lo) * (float)(state >> 8) * 0x1p-24f;
    }
    return t;
}

/* The node run as a plan runs it: c->act set, filters packed ahead, a workspace. */
static onyx_status run_act(const ox_node *node, int64_t opset, ox_tensor **in, size_t n_in,
                           ox_tensor *out, int act) {
    return ox_op_run_single_act(node, opset, in, n_in, out, 1, NULL, 1, act, 0.0f, 0.0f);
}

static double act_of(double v, int act) {
    double s = 1 / (1 + exp(-v));
    return act == OX_ACT_SILU ? v * s : s;
}

/* got against act(v), v known to within err: the activation's slope (at most 1.1
 * for SiLU, 0.25 for Sigmoid) times err, plus its own 4 ulp */
static int near_act(float got, double v, double err, int act) {
    double want = act_of(v, act);
    double tol = (act == OX_ACT_SILU ? 1.1 : 0.25) * err + 4 * 0x1p-24 * fabs(want) + 1e-30;
    return fabs((double)got - want) <= tol;
}

/* Conv M x C x k x k, stride s, pads p (all sides), on 1 x C x H x W; residual when
 * res. Returns failures. */
static int check_conv(int64_t C, int64_t M, int64_t H, int64_t W, int64_t k, int64_t s,
                      int64_t p, int act, int res) {
    ox_node *n = tn_node("Conv", res ? 4 : 3, 1);
    int64_t pads[4] = {p, p, p, p}, strides[2] = {s, s};
    tn_ints(n, "pads", 4, pads);
    tn_ints(n, "strides", 2, strides);
    int64_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, k, k}, yd[4] = {1, M, OH, OW};
    ox_tensor X = rnd(4, xd, -2.0f, 2.0f), Wt = rnd(4, wd, -0.7f, 0.7f);
    ox_tensor B = rnd(1, (int64_t[]){M}, -1.0f, 1.0f), R = rnd(4, yd, -3.0f, 3.0f), Y;
    ox_tensor *ins[4] = {&X, &Wt, &B, &R};
    int bad = 0;
    onyx_status st = run_act(n, 13, ins, res ? 4 : 3, &Y, act);
    if (st != ONYX_OK) {
        fprintf(stderr, "  Conv failed (%d): %s\n", st, onyx_last_error());
        bad++;
    } else {
        const float *x = X.data, *w = Wt.data, *b = B.data, *r = R.data, *y = Y.data;
        for (int64_t m = 0; m < M; m++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t at = (m * OH + oy) * OW + ox;
                    double v = b[m] + (res ? r[at] : 0), mag = fabs(v);
                    for (int64_t ci = 0; ci < C; ci++)
                        for (int64_t kh = 0; kh < k; kh++)
                            for (int64_t kw = 0; kw < k; kw++) {
                                int64_t iy = oy * s + kh - p, ix = ox * s + kw - p;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double t = (double)w[((m * C + ci) * k + kh) * k + kw] *
                                           x[(ci * H + iy) * W + ix];
                                v += t;
                                mag += fabs(t);
                            }
                    /* Winograd's transforms round more than a dot product does */
                    double err = 1e-6 * (double)(C * k * k + 2) * mag;
                    if (!near_act(y[at], v, err, act)) {
                        if (bad < 3)
                            fprintf(stderr, "  Conv C%lld M%lld k%lld s%lld act %d res %d at %lld: "
                                    "got %.9g want %.9g\n", (long long)C, (long long)M,
                                    (long long)k, (long long)s, act, res, (long long)at, y[at],
                                    act_of(v, act));
                        bad++;
                    }
                }
        ox_tensor_free_data(&Y);
    }
    ox_tensor all[] = {X, Wt, B, R};
    for (int i = 0; i < 4; i++) ox_tensor_free_data(&all[i]);
    tn_reset();
    return bad;
}

/* Gemm A (Mr x K) B (K x N) + C, C of shape {N} (a row, added per element), {Mr, 1}
 * (a column: one value per row) or absent. Returns failures. */
static int check_gemm(int64_t Mr, int64_t K, int64_t N, int cshape, int act) {
    ox_node *n = tn_node("Gemm", cshape ? 3 : 2, 1);
    ox_tensor A = rnd(2, (int64_t[]){Mr, K}, -1.0f, 1.0f);
    ox_tensor Bm = rnd(2, (int64_t[]){K, N}, -1.0f, 1.0f);
    ox_tensor Cm = cshape == 1 ? rnd(1, (int64_t[]){N}, -2.0f, 2.0f)
                               : rnd(2, (int64_t[]){Mr, 1}, -2.0f, 2.0f);
    ox_tensor *ins[3] = {&A, &Bm, &Cm}, Y;
    int bad = 0;
    onyx_status st = run_act(n, 13, ins, cshape ? 3 : 2, &Y, act);
    if (st != ONYX_OK) {
        fprintf(stderr, "  Gemm failed (%d): %s\n", st, onyx_last_error());
        bad++;
    } else {
        const float *a = A.data, *bm = Bm.data, *cm = Cm.data, *y = Y.data;
        for (int64_t i = 0; i < Mr; i++)
            for (int64_t j = 0; j < N; j++) {
                double v = cshape == 1 ? cm[j] : cshape == 2 ? cm[i] : 0, mag = fabs(v);
                for (int64_t q = 0; q < K; q++) {
                    double t = (double)a[i * K + q] * bm[q * N + j];
                    v += t;
                    mag += fabs(t);
                }
                if (!near_act(y[i * N + j], v, 1e-6 * (double)(K + 2) * mag, act)) {
                    if (bad < 3)
                        fprintf(stderr, "  Gemm %lldx%lldx%lld c%d act %d at %lld,%lld: got %.9g "
                                "want %.9g\n", (long long)Mr, (long long)K, (long long)N, cshape,
                                act, (long long)i, (long long)j, y[i * N + j], act_of(v, act));
                    bad++;
                }
            }
        ox_tensor_free_data(&Y);
    }
    ox_tensor all[] = {A, Bm, Cm};
    for (int i = 0; i < 3; i++) ox_tensor_free_data(&all[i]);
    tn_reset();
    return bad;
}

TEST(conv_gemm_fused_sigmoid_silu) {
    static const unsigned limits[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};
    static const int acts[2] = {OX_ACT_SIGMOID, OX_ACT_SILU};
    for (int l = 0; l < 3; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (int a = 0; a < 2; a++)
            for (int res = 0; res < 2; res++) {
                int act = acts[a];
                /* a stem: 3 channels, 3x3 stride 2, odd sizes (im2col GEMM) */
                ox_test_failures += check_conv(3, 17, 33, 31, 3, 2, 1, act, res);
                /* 1x1 (the GEMM on X itself) */
                ox_test_failures += check_conv(19, 7, 9, 11, 1, 1, 0, act, res);
                /* 3x3 stride 1 with 16 channels and 17 filters: Winograd when it applies */
                ox_test_failures += check_conv(16, 17, 15, 17, 3, 1, 1, act, res);
            }
        for (int a = 0; a < 2; a++)
            for (int cshape = 0; cshape < 3; cshape++) {
                ox_test_failures += check_gemm(7, 19, 33, cshape, acts[a]);
                ox_test_failures += check_gemm(1, 5, 255, cshape, acts[a]);
            }
        ox_cpu_limit(old);
    }
}
