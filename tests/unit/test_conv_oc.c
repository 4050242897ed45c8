/* The convolution with output channels in the vector lanes (kernels/conv_oc.h)
 * against a naive double-precision reference written here. The kernel exists on
 * AVX-512 only; elsewhere these tests check that it says so. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv_oc.h"
#include "kernels/cpu.h"
#include "ops/nn_conv_oc.h"
#include "conv_op_check.h"
#include "conv_ref.h"
#include "test.h"
#include "util/alloc.h"
#include "util/scratch.h"

typedef struct oc_case {
    size_t C, M, IH, IW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
} oc_case;

/* this file's own stream (conv_ref.h) */
static uint32_t rng_state = 0x9e3779b9u;
static float randf(void) { return conv_randf(&rng_state); }
static size_t rnd(size_t n) { return (size_t)(randf() * (float)n) % n; }
static float *rand_floats(size_t n) { return conv_rand_floats(&rng_state, n); }

/* One image through the kernel, its items in random pieces when split, its input
 * channels scaled when `scaled` (the reference reads the scaled input); checks every
 * output and the guard after Y. Returns failures. */
static int check_kernel(const oc_case *c, int act, int with_bias, int with_res, int split,
                        int scaled) {
    size_t OH, OW;
    if (!out_dim(c->IH, c->pt, c->pb, c->KH, c->dh, c->sh, &OH) ||
        !out_dim(c->IW, c->pl, c->pr, c->KW, c->dw, c->sw, &OW))
        return 0;
    post_log log = {0};
    ox_conv_oc p = {.C = c->C, .IH = c->IH, .IW = c->IW, .M = c->M, .OH = OH, .OW = OW,
                    .KH = c->KH, .KW = c->KW, .sh = c->sh, .sw = c->sw, .dh = c->dh,
                    .dw = c->dw, .pad_top = c->pt, .pad_left = c->pl,
                    .threads = split ? 3 : 1}; /* split: items cut for 3 threads */
    if (act == ACT_RELU) p.clamp = 1, p.lo = 0.0f, p.hi = INFINITY;
    if (act == ACT_CLIP) p.clamp = 1, p.lo = CONV_CLIP_LO, p.hi = CONV_CLIP_HI;
    if (act == ACT_POST) p.post = post_fn, p.post_ctx = &log;
    if (!ox_conv_oc_supported(&p)) {
        fprintf(stderr, "  geometry not supported\n");
        return 1;
    }
    size_t K = c->C * c->KH * c->KW, in_n = c->C * c->IH * c->IW, out_n = c->M * OH * OW;
    size_t items = ox_conv_oc_items(&p);
    float *x = rand_floats(in_n), *w = rand_floats(c->M * K), *b = rand_floats(c->M);
    float *res = with_res ? rand_floats(out_n) : NULL;
    float *scale = scaled ? rand_floats(c->C) : NULL, *xs = NULL;
    if (scaled) { /* what the reference reads: each product rounded, as the kernel's copy */
        xs = ox_malloc_array(in_n, sizeof(float));
        for (size_t i = 0; i < in_n; i++) xs[i] = x[i] * scale[i / (c->IH * c->IW)];
        p.scale = scale;
    }
    float *wp = ox_malloc_array(ox_conv_oc_packed_floats(c->M, K), sizeof(float));
    float *y = ox_malloc_array(out_n + CONV_GUARD, sizeof(float));
    for (size_t i = 0; i < out_n + CONV_GUARD; i++) y[i] = CONV_GUARD_VAL;
    ox_conv_oc_pack(w, c->M, K, wp);
    const float *bias = with_bias ? b : NULL;
    int bad = 0;
    /* split calls share the padded rows they made through the scratch tag; first
     * an image of other values under another tag, whose copies must not be reused */
    if (split) {
        float *other = rand_floats(in_n);
        p.tag = ox_scratch_new_tag();
        CHECK(ox_conv_oc_f32(&p, 0, items, other, wp, bias, res, y));
        ox_free(other);
        memset(&log, 0, sizeof log);
        p.tag = ox_scratch_new_tag();
    }
    for (size_t i0 = 0; i0 < items;) {
        size_t i1 = split ? i0 + 1 + rnd(3) : items;
        if (i1 > items) i1 = items;
        if (!ox_conv_oc_f32(&p, i0, i1, x, wp, bias, res, y)) {
            fprintf(stderr, "  kernel computed nothing\n");
            bad++;
        }
        i0 = i1;
    }
    conv_ref_geom rg = {.C = c->C, .IH = c->IH, .IW = c->IW, .M = c->M, .OH = OH, .OW = OW,
                        .KH = c->KH, .KW = c->KW, .sh = c->sh, .sw = c->sw, .dh = c->dh,
                        .dw = c->dw, .pt = c->pt, .pl = c->pl};
    char what[160];
    snprintf(what, sizeof what, "C%zu M%zu %zux%zu k%zux%zu s%zu,%zu d%zu,%zu pads %zu %zu %zu %zu",
             c->C, c->M, c->IH, c->IW, c->KH, c->KW, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
             c->pb, c->pr);
    if (scaled) snprintf(what + strlen(what), sizeof what - strlen(what), ", scaled");
    bad += conv_ref_check(&rg, scaled ? xs : x, w, bias, res, y, act, what);
    bad += conv_ref_check_tail(y, out_n, act, &log);
    ox_free(x);
    ox_free(xs);
    ox_free(scale);
    ox_free(w);
    ox_free(b);
    ox_free(res);
    ox_free(wp);
    ox_free(y);
    return bad;
}

TEST(conv_oc_sizes_strides_pads) {
    ox_conv_oc probe = {.C = 1, .IH = 1, .IW = 1, .M = 1, .OH = 1, .OW = 1, .KH = 1, .KW = 1,
                        .sh = 1, .sw = 1, .dh = 1, .dw = 1};
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) {
        CHECK(!ox_conv_oc_supported(&probe));
        return;
    }
    /* planes 1, 7, 17, 33 (partial tiles of 1..7 positions), channel counts around
     * the strip of 64, filters 1x1 to 7x7, both strides; the other parameters
     * cycle with the case number so each value meets many geometries */
    static const size_t dims[4] = {1, 7, 17, 33}, couts[5] = {1, 17, 64, 65, 130};
    static const size_t ks[5] = {3, 1, 5, 2, 7};
    size_t k = 0;
    for (size_t hi = 0; hi < 4; hi++)
        for (size_t wi = 0; wi < 4; wi++)
            for (size_t s = 1; s <= 2; s++, k++) {
                oc_case c = {.C = 1 + k % 9, .M = couts[(k / 3) % 5], .IH = dims[hi],
                             .IW = dims[wi], .KH = ks[k % 5], .KW = ks[(k / 5 + wi) % 5],
                             .sh = s, .sw = 1 + (k + s) % 2, .dh = 1, .dw = 1, .pt = k % 4,
                             .pl = (k / 4) % 4, .pb = (k / 2) % 4, .pr = (k / 8) % 4};
                if (k % 7 == 3) c.dw = 2, c.dh = 1 + k % 2; /* dilation too */
                ox_test_failures += check_kernel(&c, (int)(k % N_ACTS), k % 3 != 0, k % 5 < 2,
                                                 k % 2 == 0, k % 4 == 1);
            }
}

TEST(conv_oc_layers_chunked) {
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return;
    /* shapes the kernel is for: small planes with many channels (taps in several
     * chunks), strided 3x3 and 1x1 read in place, every activation */
    oc_case layers[8] = {
        {.C = 130, .M = 70, .IH = 7, .IW = 7, .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1}, /* 1170 taps: several chunks */
        {.C = 300, .M = 64, .IH = 5, .IW = 9, .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1}, /* 2700 taps */
        {.C = 24, .M = 128, .IH = 15, .IW = 15, .KH = 3, .KW = 3, .sh = 2, .sw = 2, .dh = 1,
         .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1},
        {.C = 33, .M = 96, .IH = 14, .IW = 14, .KH = 1, .KW = 1, .sh = 2, .sw = 2, .dh = 1,
         .dw = 1}, /* read in place */
        {.C = 5, .M = 64, .IH = 9, .IW = 40, .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1, .pt = 0, .pl = 0, .pb = 0, .pr = 0}, /* in place, 3x3 */
        {.C = 72, .M = 200, .IH = 20, .IW = 19, .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1, .pt = 1, .pl = 2, .pb = 1, .pr = 0}, /* filters past L2: items in strip
                                                        * order, a padded copy per band */
        {.C = 60, .M = 96, .IH = 13, .IW = 13, .KH = 3, .KW = 3, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1}, /* 540 taps: still one chunk */
        {.C = 300, .M = 192, .IH = 7, .IW = 7, .KH = 1, .KW = 1, .sh = 1, .sw = 1, .dh = 1,
         .dw = 1}, /* a projection after a squeeze-and-excitation: scaled, chunked */
    };
    for (int i = 0; i < 8; i++)
        for (int act = 0; act < N_ACTS; act++)
            for (int r = 0; r < 2; r++)
                ox_test_failures += check_kernel(&layers[i], act, (act + r) % 3 != 0, r,
                                                 (act + r) % 2, i == 7 || (act + r + i) % 3 == 0);
}

TEST(conv_oc_nan_passes_the_clamp) {
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return;
    /* a NaN input reaches the outputs whose windows read it, through Relu */
    ox_conv_oc p = {.C = 1, .IH = 5, .IW = 12, .M = 5, .OH = 5, .OW = 12, .KH = 3, .KW = 3,
                    .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pad_top = 1, .pad_left = 1,
                    .clamp = 1, .lo = 0.0f, .hi = INFINITY};
    float x[60], w[45], y[300];
    for (int i = 0; i < 60; i++) x[i] = 0.01f * (float)(i % 13);
    for (int i = 0; i < 45; i++) w[i] = 0.1f;
    x[2 * 12 + 6] = NAN;
    float *wp = ox_malloc_array(ox_conv_oc_packed_floats(5, 9), sizeof(float));
    REQUIRE(wp);
    ox_conv_oc_pack(w, 5, 9, wp);
    CHECK(ox_conv_oc_f32(&p, 0, ox_conv_oc_items(&p), x, wp, NULL, NULL, y));
    for (int m = 0; m < 5; m++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 12; ox++) {
                int reads = oy >= 1 && oy <= 3 && ox >= 5 && ox <= 7;
                CHECK((isnan(y[(m * 5 + oy) * 12 + ox]) != 0) == reads);
            }
    ox_free(wp);
}

/* ---- through the Conv op: the path the planner's geometries take ------------------ */

TEST(conv_oc_conv_op_fused) {
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return;
    /* every activation the planner fuses, with and without a residual and packed
     * filters, serial and on a pool: a small map (Winograd has too few tiles), strided
     * 3x3 and 1x1, a dilated 3x3, two images, deep 1x1s on 7 and 14 columns */
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int act = OX_ACT_NONE; act <= OX_ACT_GELU; act++)
        for (int res = 0; res < 2; res++) {
            int packed = (act + res) % 2;
            conv_op_case cases[9] = {
                {1, 40, 70, 7, 7, 3, 1, 1, 1, act, res, packed},
                {2, 9, 33, 15, 13, 3, 2, 1, 1, act, res, !packed},
                {1, 24, 65, 14, 14, 1, 2, 0, 1, act, res, packed},
                {1, 16, 20, 11, 12, 3, 1, 2, 2, act, res, !packed},
                /* 1x1 on 7-wide and 14-wide maps, whole strips of channels, deep */
                {1, 300, 128, 7, 7, 1, 1, 0, 1, act, res, !packed},
                {2, 256, 64, 14, 14, 1, 1, 0, 1, act, res, packed},
                /* deep 1x1s whose last strip is 32 channels (two vectors), on the
                 * pool's 3 threads cut into more bands than one per strip */
                {1, 576, 160, 7, 7, 1, 1, 0, 1, act, res, packed},
                {1, 384, 96, 14, 14, 1, 1, 0, 1, act, res, !packed},
                /* 13 wide (tiles of 7 and 6), a last strip of 40 channels */
                {1, 256, 104, 13, 13, 1, 1, 0, 1, act, res, packed},
            };
            for (int i = 0; i < 9; i++)
                ox_test_failures += conv_op_check(&cases[i], ox_conv_oc_applies, "channels-in-lanes",
                                                  randf, (act + res + i) % 2 ? pool : NULL);
        }
    ox_threadpool_free(pool);
}
