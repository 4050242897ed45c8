/* The direct convolution (kernels/conv_direct.h, and Conv's route to it through
 * ops/nn_conv_direct.c) against a naive double-precision reference written here, on
 * every vector path. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv_direct.h"
#include "kernels/cpu.h"
#include "nodes.h"
#include "ops/nn_conv_direct.h"
#include "ops/nn_ops.h"
#include "conv_ref.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* ox_cpu_limit masks: every path this machine has, AVX2 at most, portable */
static const unsigned paths[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};

enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_POST, N_ACTS };

#define CLIP_LO (-0.3f)
#define CLIP_HI 0.45f
#define GUARD 19 /* floats after Y that must stay untouched */

typedef struct cd_case {
    size_t N, C, M, IH, IW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
} cd_case;

/* A generator of this file's own (xorshift32), so that adding cases here does not
 * move the values the other tests draw from the shared one. */
static uint32_t rng_state = 0x2545f491u;
static float randf(void) { /* [0, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)(rng_state >> 8) * (1.0f / 16777216.0f);
}

static size_t rnd(size_t n) { return (size_t)(randf() * (float)n) % n; }

static float *rand_floats(size_t n) {
    float *p = ox_malloc_array(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = randf() * 2.0f - 1.0f;
    return p;
}

static ox_tensor rand_tensor(int32_t rank, const int64_t *dims, float lo, float hi) {
    ox_tensor t = tt_make(ONYX_DTYPE_FLOAT, rank, dims, NULL);
    float *p = t.data;
    for (size_t i = 0; i < ox_tensor_count(&t); i++) p[i] = lo + (hi - lo) * randf();
    return t;
}

/* ACT_POST's activation: linear, so applying it twice or to the wrong floats shows */
typedef struct post_log {
    size_t floats;
} post_log;
static void post_fn(float *y, size_t n, const void *ctx) {
    post_log *log = (post_log *)(uintptr_t)ctx; /* the test's own counter */
    log->floats += n;
    for (size_t i = 0; i < n; i++) y[i] = 2.0f * y[i] + 1.0f;
}

/* Runs the kernel on one case, its items in random pieces when split, and checks
 * every output and the guard after Y. Returns failures. */
static int check_kernel(const cd_case *c, int act, int with_bias, int with_res, int split) {
    size_t OH, OW;
    if (!out_dim(c->IH, c->pt, c->pb, c->KH, c->dh, c->sh, &OH) ||
        !out_dim(c->IW, c->pl, c->pr, c->KW, c->dw, c->sw, &OW))
        return 0;
    post_log log = {0};
    ox_conv_direct p = {.N = c->N, .C = c->C, .IH = c->IH, .IW = c->IW, .M = c->M, .OH = OH,
                        .OW = OW, .KH = c->KH, .KW = c->KW, .sh = c->sh, .sw = c->sw,
                        .dh = c->dh, .dw = c->dw, .pad_top = c->pt, .pad_left = c->pl};
    if (act == ACT_RELU) p.clamp = 1, p.lo = 0.0f, p.hi = INFINITY;
    if (act == ACT_CLIP) p.clamp = 1, p.lo = CLIP_LO, p.hi = CLIP_HI;
    if (act == ACT_POST) p.post = post_fn, p.post_ctx = &log;
    size_t K = c->C * c->KH * c->KW, in_n = c->N * c->C * c->IH * c->IW;
    size_t out_n = c->N * c->M * OH * OW, items = ox_conv_direct_items(&p);
    size_t item_floats = ox_conv_direct_item_floats(&p);
    if (!items || !item_floats) {
        fprintf(stderr, "  no items for a valid geometry\n");
        return 1;
    }
    float *x = rand_floats(in_n), *w = rand_floats(c->M * K), *b = rand_floats(c->M);
    float *res = with_res ? rand_floats(out_n) : NULL;
    float *wp = ox_malloc_array(ox_conv_direct_packed_floats(c->M, K), sizeof(float));
    float *ws = ox_malloc_array(items * item_floats, sizeof(float)); /* exact: ASan sees overruns */
    float *y = ox_malloc_array(out_n + GUARD, sizeof(float));
    for (size_t i = 0; i < out_n + GUARD; i++) y[i] = 1234.5f;
    ox_conv_direct_pack(w, c->M, K, wp);
    const float *bias = with_bias ? b : NULL;
    for (size_t i0 = 0; i0 < items;) {
        size_t i1 = split ? i0 + 1 + rnd(3) : items;
        if (i1 > items) i1 = items;
        ox_conv_direct_f32(&p, i0, i1, x, wp, bias, res, y, ws);
        i0 = i1;
    }
    int bad = 0;
    for (size_t n = 0; n < c->N; n++)
        for (size_t m = 0; m < c->M; m++)
            for (size_t oy = 0; oy < OH; oy++)
                for (size_t ox = 0; ox < OW; ox++) {
                    size_t at = ((n * c->M + m) * OH + oy) * OW + ox;
                    double s = bias ? bias[m] : 0.0, mag = fabs(s);
                    for (size_t ci = 0; ci < c->C; ci++)
                        for (size_t kh = 0; kh < c->KH; kh++)
                            for (size_t kw = 0; kw < c->KW; kw++) {
                                int64_t iy = (int64_t)(oy * c->sh + kh * c->dh) - (int64_t)c->pt;
                                int64_t ix = (int64_t)(ox * c->sw + kw * c->dw) - (int64_t)c->pl;
                                if (iy < 0 || iy >= (int64_t)c->IH || ix < 0 ||
                                    ix >= (int64_t)c->IW)
                                    continue;
                                double t = (double)w[(m * c->C + ci) * c->KH * c->KW +
                                                     kh * c->KW + kw] *
                                           x[((n * c->C + ci) * c->IH + (size_t)iy) * c->IW +
                                             (size_t)ix];
                                s += t;
                                mag += fabs(t);
                            }
                    if (res) s += res[at], mag += fabs(res[at]);
                    double tol = 6e-8 * (double)(K + 2) * mag + 1e-6;
                    if (act == ACT_RELU) s = s < 0 ? 0 : s;
                    if (act == ACT_CLIP) {
                        s = s < CLIP_LO ? CLIP_LO : s;
                        s = s > CLIP_HI ? CLIP_HI : s;
                    }
                    if (act == ACT_POST) s = 2.0 * s + 1.0, tol *= 2;
                    if (!(fabs(y[at] - s) <= tol)) {
                        if (bad < 3)
                            fprintf(stderr,
                                    "  %s N%zu C%zu M%zu %zux%zu k%zux%zu s%zu,%zu d%zu,%zu "
                                    "pads %zu %zu %zu %zu act %d res %d: (%zu,%zu,%zu,%zu) got "
                                    "%.9g want %.9g\n",
                                    ox_conv_direct_kernel_name(), c->N, c->C, c->M, c->IH, c->IW,
                                    c->KH, c->KW, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
                                    c->pb, c->pr, act, with_res, n, m, oy, ox, y[at], s);
                        bad++;
                    }
                }
    for (size_t i = out_n; i < out_n + GUARD; i++)
        if (y[i] != 1234.5f) {
            fprintf(stderr, "  wrote past Y at %zu\n", i - out_n);
            bad++;
            break;
        }
    if (act == ACT_POST && log.floats != out_n) {
        fprintf(stderr, "  post saw %zu floats, expected %zu\n", log.floats, out_n);
        bad++;
    }
    ox_free(x);
    ox_free(w);
    ox_free(b);
    ox_free(res);
    ox_free(wp);
    ox_free(ws);
    ox_free(y);
    return bad;
}

TEST(conv_direct_sizes_strides_pads) {
    /* heights and widths 1, 7, 17, 33 by strides 1 and 2 on every path; the other
     * parameters cycle with the case number so each value meets many geometries */
    static const size_t dims[4] = {1, 7, 17, 33}, couts[4] = {1, 7, 17, 33};
    static const size_t ks[5] = {3, 1, 5, 2, 7};
    size_t k = 0;
    for (int pi = 0; pi < 3; pi++) {
        ox_cpu_limit(paths[pi]);
        for (size_t hi = 0; hi < 4; hi++)
            for (size_t wi = 0; wi < 4; wi++)
                for (size_t s = 1; s <= 2; s++, k++) {
                    cd_case c = {.N = 1 + k % 2, .C = 1 + k % 4, .M = couts[(k / 3) % 4],
                                 .IH = dims[hi], .IW = dims[wi], .KH = ks[k % 5],
                                 .KW = ks[(k / 5 + wi) % 5], .sh = s, .sw = 1 + (k + s) % 2,
                                 .dh = 1, .dw = 1, .pt = k % 4, .pl = (k / 4) % 4,
                                 .pb = (k / 2) % 4, .pr = (k / 8) % 4};
                    if (k % 7 == 3) c.dw = 2, c.dh = 1 + k % 2; /* dilation too */
                    ox_test_failures += check_kernel(&c, (int)(k % N_ACTS), k % 3 != 0,
                                                     k % 5 < 2, k % 2 == 0);
                }
    }
    ox_cpu_limit(~0u);
}

TEST(conv_direct_stems_every_act) {
    /* the shapes the kernel is for (3 input channels; 3x3 stride 2; 7x7 stride 2
     * pad 3), odd sizes, every activation with and without a residual */
    cd_case stems[4] = {
        {.N = 1, .C = 3, .M = 33, .IH = 33, .IW = 35, .KH = 3, .KW = 3, .sh = 2, .sw = 2,
         .dh = 1, .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1},
        {.N = 2, .C = 3, .M = 17, .IH = 17, .IW = 67, .KH = 3, .KW = 3, .sh = 2, .sw = 2,
         .dh = 1, .dw = 1},
        {.N = 1, .C = 3, .M = 7, .IH = 19, .IW = 41, .KH = 7, .KW = 7, .sh = 2, .sw = 2,
         .dh = 1, .dw = 1, .pt = 3, .pl = 3, .pb = 3, .pr = 3},
        {.N = 1, .C = 4, .M = 33, .IH = 7, .IW = 255, .KH = 3, .KW = 3, .sh = 1, .sw = 1,
         .dh = 1, .dw = 1, .pt = 2, .pl = 2, .pb = 0, .pr = 1},
    };
    for (int pi = 0; pi < 3; pi++) {
        ox_cpu_limit(paths[pi]);
        for (int i = 0; i < 4; i++)
            for (int act = 0; act < N_ACTS; act++)
                for (int r = 0; r < 2; r++)
                    ox_test_failures += check_kernel(&stems[i], act, 1, r, (act + r) % 2);
    }
    ox_cpu_limit(~0u);
}

TEST(conv_direct_nan_passes_the_clamp) {
    /* a NaN input reaches the outputs whose windows read it, through Relu and Clip,
     * as the standalone ops let it through */
    ox_conv_direct p = {.N = 1, .C = 1, .IH = 5, .IW = 40, .M = 5, .OH = 5, .OW = 40,
                        .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pad_top = 1,
                        .pad_left = 1, .clamp = 1, .lo = 0.0f, .hi = INFINITY};
    float x[200], w[45], wp[72], y[1000];
    for (int i = 0; i < 200; i++) x[i] = 0.01f * (float)(i % 13);
    for (int i = 0; i < 45; i++) w[i] = 0.1f;
    x[2 * 40 + 20] = NAN;
    ox_conv_direct_pack(w, 5, 9, wp);
    size_t items = ox_conv_direct_items(&p), itf = ox_conv_direct_item_floats(&p);
    float *ws = ox_malloc_array(items * itf, sizeof(float));
    REQUIRE(ws);
    for (int pi = 0; pi < 3; pi++) {
        ox_cpu_limit(paths[pi]);
        ox_conv_direct_f32(&p, 0, items, x, wp, NULL, NULL, y, ws);
        for (int m = 0; m < 5; m++)
            for (int oy = 0; oy < 5; oy++)
                for (int ox = 0; ox < 40; ox++) {
                    int reads = oy >= 1 && oy <= 3 && ox >= 19 && ox <= 21;
                    CHECK((isnan(y[(m * 5 + oy) * 40 + ox]) != 0) == reads);
                }
    }
    ox_cpu_limit(~0u);
    ox_free(ws);
}

/* ---- through the Conv op: activations fused by the planner, a residual ------------ */

/* Conv of N x C x H x W by M filters k x k (stride s, pads pad) with act set as the
 * planner sets it, a fused residual when res, through the prepack hook when packed;
 * checks the geometry takes the direct path. Returns failures. */
static int check_conv_op(int64_t N, int64_t C, int64_t M, int64_t H, int64_t W, int64_t k,
                         int64_t s, int64_t pad, int act, int res, int packed,
                         ox_threadpool *pool) {
    ox_node *n = tn_node("Conv", 3, 1);
    int64_t pads[4] = {pad, pad, pad, pad}, strides[2] = {s, s};
    tn_ints(n, "pads", 4, pads);
    tn_ints(n, "strides", 2, strides);
    int64_t OH = (H + 2 * pad - k) / s + 1, OW = (W + 2 * pad - k) / s + 1;
    int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, k, k}, yd[4] = {N, M, OH, OW};
    ox_tensor X = rand_tensor(4, xd, -2.0f, 2.0f), Wt = rand_tensor(4, wd, -1.0f, 1.0f);
    ox_tensor B = rand_tensor(1, (int64_t[]){M}, -0.5f, 0.5f);
    ox_tensor R = rand_tensor(4, yd, -1.0f, 1.0f), Y;
    memset(&Y, 0, sizeof Y);
    ox_tensor *ins[4] = {&X, &Wt, &B, &R}, *outs[1] = {&Y};
    const ox_op_def *def = ox_op_find("", "Conv", 13);
    float alpha = act == OX_ACT_CLIP ? -0.7f : act == OX_ACT_HARD_SIGMOID ? 0.3f : 0.1f;
    float beta = act == OX_ACT_CLIP ? 0.9f : 0.5f;
    ox_op_ctx c = {.node = n, .opset = 13, .n_in = res ? 4 : 3, .n_out = 1, .in = ins,
                   .out = outs, .pool = pool, .act = act, .act_alpha = alpha, .act_beta = beta};
    void *pk = NULL, *ws = NULL;
    int bad = 0;
    ox_conv_geom g;
    onyx_status st = def->prepare(&c);
    if (st == ONYX_OK) st = ox_conv_geom_of(&c, &X, &Wt, &B, &g);
    if (st == ONYX_OK && !ox_conv_direct_applies(&g)) {
        fprintf(stderr, "  Conv %lldx%lld k%lld s%lld does not take the direct path\n",
                (long long)H, (long long)W, (long long)k, (long long)s);
        bad++;
    }
    if (st == ONYX_OK && packed) st = def->prepack(&c, &pk);
    if (packed && st == ONYX_OK && !pk) {
        fprintf(stderr, "  the prepack hook packed nothing\n");
        bad++;
    }
    c.prepacked = pk;
    if (st == ONYX_OK) st = def->infer(&c);
    if (st == ONYX_OK && c.workspace_bytes && !(ws = c.workspace = ox_malloc(c.workspace_bytes)))
        st = ONYX_ERR_OUT_OF_MEMORY;
    if (st == ONYX_OK) st = ox_tensor_alloc_data(&Y);
    if (st == ONYX_OK) st = def->run(&c);
    if (def->destroy && c.state) def->destroy(c.state);
    if (pk) def->free_prepacked(pk);
    if (st != ONYX_OK) {
        fprintf(stderr, "  Conv failed (%d): %s\n", st, onyx_last_error());
        bad++;
    } else {
        const float *x = X.data, *w = Wt.data, *b = B.data, *r = R.data, *y = Y.data;
        for (int64_t i = 0; i < N * M; i++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t m = i % M, img = i / M, at = (i * OH + oy) * OW + ox;
                    double v = b[m], mag = fabs(v);
                    for (int64_t ci = 0; ci < C; ci++)
                        for (int64_t kh = 0; kh < k; kh++)
                            for (int64_t kw = 0; kw < k; kw++) {
                                int64_t iy = oy * s + kh - pad, ix = ox * s + kw - pad;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double t = (double)w[((m * C + ci) * k + kh) * k + kw] *
                                           x[((img * C + ci) * H + iy) * W + ix];
                                v += t;
                                mag += fabs(t);
                            }
                    if (res) v += r[at], mag += fabs(r[at]);
                    double want = act_ref(v, act, alpha, beta);
                    float got = y[at];
                    /* the transcendental activations round to a few ulps of float */
                    if (!(fabs(got - want) <= 6e-8 * (double)(C * k * k + 2) * mag + 1e-6 +
                                                  4e-7 * fabs(want))) {
                        if (bad < 3)
                            fprintf(stderr, "  Conv act %d res %d packed %d at %lld: got %.9g "
                                    "want %.9g\n", act, res, packed, (long long)at, got, want);
                        bad++;
                    }
                }
    }
    ox_free(ws);
    ox_tensor_free_data(&X);
    ox_tensor_free_data(&Wt);
    ox_tensor_free_data(&B);
    ox_tensor_free_data(&R);
    ox_tensor_free_data(&Y);
    tn_reset();
    return bad;
}

TEST(conv_direct_conv_op_fused) {
    /* every activation the planner fuses, with and without a residual and packed
     * filters, serial and on a pool, on every path */
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int pi = 0; pi < 3; pi++) {
        ox_cpu_limit(paths[pi]);
        for (int act = OX_ACT_NONE; act <= OX_ACT_GELU; act++)
            for (int res = 0; res < 2; res++) {
                int packed = (act + res + pi) % 2;
                ox_test_failures += check_conv_op(1, 3, 17, 9, 35, 3, 2, 1, act, res, packed,
                                                  (act + res) % 2 ? pool : NULL);
                ox_test_failures += check_conv_op(2, 1, 7, 7, 33, 3, 1, 0, act, res, !packed, pool);
            }
        ox_test_failures += check_conv_op(1, 3, 33, 17, 37, 7, 2, 3, OX_ACT_RELU, 1, 1, pool);
    }
    ox_cpu_limit(~0u);
    ox_threadpool_free(pool);
}
