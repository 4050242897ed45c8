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
#include "conv_op_check.h"
#include "conv_ref.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* ox_cpu_limit masks: every path this machine has, AVX2 at most, portable */
static const unsigned paths[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};

typedef struct cd_case {
    size_t N, C, M, IH, IW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
} cd_case;

/* this file's own stream (conv_ref.h) */
static uint32_t rng_state = 0x2545f491u;
static float randf(void) { return conv_randf(&rng_state); }
static size_t rnd(size_t n) { return (size_t)(randf() * (float)n) % n; }
static float *rand_floats(size_t n) { return conv_rand_floats(&rng_state, n); }

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
    if (act == ACT_CLIP) p.clamp = 1, p.lo = CONV_CLIP_LO, p.hi = CONV_CLIP_HI;
    if (act == ACT_POST) p.post = post_fn, p.post_ctx = &log;
    size_t K = c->C * c->KH * c->KW, in_n = c->N * c->C * c->IH * c->IW;
    size_t out_n = c->N * c->M * OH * OW, items = ox_conv_direct_items(&p);
    size_t band_floats = ox_conv_direct_band_floats(&p);
    if (!items || !band_floats) {
        fprintf(stderr, "  no items for a valid geometry\n");
        return 1;
    }
    float *x = rand_floats(in_n), *w = rand_floats(c->M * K), *b = rand_floats(c->M);
    float *res = with_res ? rand_floats(out_n) : NULL;
    float *wp = ox_malloc_array(ox_conv_direct_packed_floats(c->M, K), sizeof(float));
    float *ws = ox_malloc_array(band_floats, sizeof(float)); /* exact: ASan sees overruns */
    float *y = ox_malloc_array(out_n + CONV_GUARD, sizeof(float));
    for (size_t i = 0; i < out_n + CONV_GUARD; i++) y[i] = CONV_GUARD_VAL;
    ox_conv_direct_pack(w, c->M, K, wp);
    const float *bias = with_bias ? b : NULL;
    for (size_t i0 = 0; i0 < items;) {
        size_t i1 = split ? i0 + 1 + rnd(3) : items;
        if (i1 > items) i1 = items;
        ox_conv_direct_f32(&p, i0, i1, x, wp, bias, res, y, ws);
        i0 = i1;
    }
    conv_ref_geom rg = {.C = c->C, .IH = c->IH, .IW = c->IW, .M = c->M, .OH = OH, .OW = OW,
                        .KH = c->KH, .KW = c->KW, .sh = c->sh, .sw = c->sw, .dh = c->dh,
                        .dw = c->dw, .pt = c->pt, .pl = c->pl};
    char what[192];
    int bad = 0;
    for (size_t n = 0; n < c->N; n++) {
        snprintf(what, sizeof what,
                 "%s image %zu of %zu: C%zu M%zu %zux%zu k%zux%zu s%zu,%zu d%zu,%zu pads %zu %zu "
                 "%zu %zu", ox_conv_direct_kernel_name(), n, c->N, c->C, c->M, c->IH, c->IW, c->KH,
                 c->KW, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl, c->pb, c->pr);
        bad += conv_ref_check(&rg, x + n * c->C * c->IH * c->IW, w, bias,
                              res ? res + n * c->M * OH * OW : NULL, y + n * c->M * OH * OW, act,
                              what);
    }
    bad += conv_ref_check_tail(y, out_n, act, &log);
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
    size_t items = ox_conv_direct_items(&p);
    float *ws = ox_malloc_array(ox_conv_direct_band_floats(&p), sizeof(float));
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

TEST(conv_direct_conv_op_fused) {
    /* every activation the planner fuses, with and without a residual and packed
     * filters, serial and on a pool, on every path */
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int pi = 0; pi < 3; pi++) {
        ox_cpu_limit(paths[pi]);
        for (int act = OX_ACT_NONE; act <= OX_ACT_GELU; act++)
            for (int res = 0; res < 2; res++) {
                int packed = (act + res + pi) % 2;
                conv_op_case a = {1, 3, 17, 9, 35, 3, 2, 1, 1, act, res, packed};
                conv_op_case b = {2, 1, 7, 7, 33, 3, 1, 0, 1, act, res, !packed};
                ox_test_failures += conv_op_check(&a, ox_conv_direct_applies, "direct", randf,
                                                  (act + res) % 2 ? pool : NULL);
                ox_test_failures += conv_op_check(&b, ox_conv_direct_applies, "direct", randf, pool);
            }
        conv_op_case stem = {1, 3, 33, 17, 37, 7, 2, 3, 1, OX_ACT_RELU, 1, 1};
        ox_test_failures += conv_op_check(&stem, ox_conv_direct_applies, "direct", randf, pool);
    }
    ox_cpu_limit(~0u);
    ox_threadpool_free(pool);
}
