/* Depthwise convolution (kernels/dwconv.h and Conv's depthwise branch) against a naive
 * double-precision reference written here, on every vector path. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/dwconv.h"
#include "nodes.h"
#include "ops/nn_ops.h"
#include "conv_ref.h"
#include "test.h"
#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

/* ox_cpu_limit masks: every path this machine has, AVX2 at most, portable */
static const unsigned paths[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};

/* How check_case runs the kernel: as Conv does, the direct loops, or forced onto the
 * channel-block path (16 channels per vector; AVX-512 only) */
enum { RUN_AUTO, RUN_DIRECT, RUN_BLOCKS };

/* Whether this machine has the channel-block path (the cases must then run it). */
static int has_blocks(void) { return ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA); }

/* Blocks the channel-block path cuts planes [p0, p1) into: up to 16 channels, ending
 * on multiples of 16 channels, at an image's end or at p1. */
static size_t count_blocks(size_t C, size_t p0, size_t p1) {
    size_t n = 0;
    for (size_t pi = p0; pi < p1; n++) {
        size_t ch = pi % C, nc = 16 - ch % 16;
        if (nc > C - ch) nc = C - ch;
        if (nc > p1 - pi) nc = p1 - pi;
        pi += nc;
    }
    return n;
}

typedef struct dw_case {
    size_t IH, IW, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr;
} dw_case;

static float *rand_floats(size_t n) {
    float *p = ox_malloc_array(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = tt_randf() * 2.0f - 1.0f;
    return p;
}


/* Runs planes [p0, p1) of an N*C-plane tensor and checks every output (and that the
 * planes outside and the floats past the end are untouched). Returns failures. */
static int check_case(const dw_case *c, int act, size_t C, size_t nplanes, size_t p0, size_t p1,
                      int with_bias, int mode, int nan_at) {
    size_t OH, OW;
    if (!out_dim(c->IH, c->pt, c->pb, c->KH, c->dh, c->sh, &OH) ||
        !out_dim(c->IW, c->pl, c->pr, c->KW, c->dw, c->sw, &OW))
        return 0;
    size_t in_sp = c->IH * c->IW, out_sp = OH * OW, T = c->KH * c->KW, guard = 37;
    float *x = rand_floats(nplanes * in_sp), *w = rand_floats(C * T);
    float *bias = with_bias ? rand_floats(C) : NULL;
    float *y = ox_malloc_array(nplanes * out_sp + guard, sizeof(float));
    const float sentinel = 12345.0f;
    for (size_t i = 0; i < nplanes * out_sp + guard; i++) y[i] = sentinel;
    if (nan_at >= 0 && in_sp) x[(size_t)nan_at % (nplanes * in_sp)] = NAN;
    post_log log = {0, 0};
    ox_dwconv2d p = {.IH = c->IH, .IW = c->IW, .OH = OH, .OW = OW, .KH = c->KH, .KW = c->KW,
                     .sh = c->sh, .sw = c->sw, .dh = c->dh, .dw = c->dw, .pad_top = c->pt,
                     .pad_left = c->pl};
    if (act == ACT_RELU) p.clamp = 1, p.lo = 0.0f, p.hi = INFINITY;
    if (act == ACT_CLIP) p.clamp = 1, p.lo = CONV_CLIP_LO, p.hi = CONV_CLIP_HI;
    if (act == ACT_POST) p.post = post_fn, p.post_ctx = &log;
    int bad = 0;
    if (mode == RUN_DIRECT) {
        ox_dwconv2d_f32_direct(&p, C, p0, p1, in_sp ? x : NULL, w, bias, y);
    } else if (mode == RUN_BLOCKS) {
        if (!ox_dwconv2d_f32_blocks(&p, C, p0, p1, in_sp ? x : NULL, w, bias, y)) {
            if (has_blocks()) {
                fprintf(stderr, "  in %zux%zu k %zux%zu: the channel-block path did not run\n",
                        c->IH, c->IW, c->KH, c->KW);
                bad++;
            }
            goto done; /* nothing computed to check */
        }
    } else {
        ox_dwconv2d_f32(&p, C, p0, p1, in_sp ? x : NULL, w, bias, y);
    }
    for (size_t pi = 0; pi < nplanes; pi++) {
        size_t ch = pi % C;
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t ox = 0; ox < OW; ox++) {
                float got = y[pi * out_sp + oy * OW + ox];
                if (pi < p0 || pi >= p1) {
                    if (got != sentinel && bad++ < 3)
                        fprintf(stderr, "  plane %zu outside [%zu, %zu) was written\n", pi, p0, p1);
                    continue;
                }
                double s = bias ? bias[ch] : 0.0, mag = fabs(s);
                for (size_t kh = 0; kh < c->KH; kh++)
                    for (size_t kw = 0; kw < c->KW; kw++) {
                        int64_t iy = (int64_t)(oy * c->sh + kh * c->dh) - (int64_t)c->pt;
                        int64_t ix = (int64_t)(ox * c->sw + kw * c->dw) - (int64_t)c->pl;
                        if (iy < 0 || ix < 0 || iy >= (int64_t)c->IH || ix >= (int64_t)c->IW)
                            continue;
                        double t = (double)w[ch * T + kh * c->KW + kw] *
                                   x[pi * in_sp + (size_t)iy * c->IW + (size_t)ix];
                        s += t;
                        mag += fabs(t);
                    }
                if (act == ACT_RELU) s = s < 0 ? 0 : s;
                if (act == ACT_CLIP) {
                    s = s < CONV_CLIP_LO ? CONV_CLIP_LO : s;
                    s = s > CONV_CLIP_HI ? CONV_CLIP_HI : s;
                }
                double tol = 6e-8 * (double)(T + 2) * mag + 1e-7;
                if (act == ACT_POST) s = 2.0 * s + 1.0, tol *= 2;
                int ok = isnan(s) ? isnan(got) : fabs((double)got - s) <= tol;
                if (!ok && bad < 3)
                    fprintf(stderr, "  in %zux%zu k %zux%zu s %zu,%zu d %zu,%zu pads %zu,%zu,%zu,%zu "
                            "act %d plane %zu (%zu,%zu): got %.9g want %.9g\n",
                            c->IH, c->IW, c->KH, c->KW, c->sh, c->sw, c->dh, c->dw, c->pt, c->pl,
                            c->pb, c->pr, act, pi, oy, ox, got, s);
                bad += !ok;
            }
    }
    for (size_t i = 0; i < guard; i++)
        if (y[nplanes * out_sp + i] != sentinel && bad++ < 3)
            fprintf(stderr, "  %zu floats past the output were written\n", i + 1);
    /* the channel-block path hands post all 16 lanes of each block's positions */
    size_t plain = (p1 - p0) * out_sp, blocked = count_blocks(C, p0, p1) * 16 * out_sp;
    if (act == ACT_POST && !(mode == RUN_DIRECT ? log.floats == plain
                             : mode == RUN_BLOCKS ? log.floats == blocked
                                                  : log.floats == plain || log.floats == blocked)) {
        fprintf(stderr, "  post saw %zu floats, want %zu\n", log.floats,
                mode == RUN_BLOCKS ? blocked : plain);
        bad++;
    }
done:
    ox_free(x);
    ox_free(w);
    ox_free(bias);
    ox_free(y);
    return bad;
}

/* Every activation, with and without bias, all planes and a middle range of them. */
static void check_all_acts(const dw_case *c, int mode) {
    for (int act = 0; act < N_ACTS; act++) {
        ox_test_failures += check_case(c, act, 3, 6, 0, 6, act % 2, mode, -1);
        ox_test_failures += check_case(c, act, 5, 5, 1, 4, (act + 1) % 2, mode, -1);
    }
}

static const size_t widths[] = {1, 2, 7, 17, 33, 113};

TEST(dwconv_fast_filters) {
    /* 3x3 and 5x5, stride 1 and 2, 'same' padding, on odd sizes, every path */
    for (int pi = 0; pi < 3; pi++) {
        unsigned old = ox_cpu_limit(paths[pi]);
        for (size_t k = 3; k <= 5; k += 2)
            for (size_t s = 1; s <= 2; s++)
                for (size_t i = 0; i < 6; i++)
                    for (size_t j = 0; j < 6; j += 1 + (i + j) % 2) {
                        dw_case c = {widths[i], widths[j], k, k, s, s, 1, 1, k / 2, k / 2, k / 2, k / 2};
                        check_all_acts(&c, 0);
                    }
        ox_cpu_limit(old);
    }
}

TEST(dwconv_network_shapes) {
    /* the plane sizes of small image networks: narrow rows, wide rows, several bands */
    static const size_t sz[] = {7, 14, 28, 56, 112};
    for (int pi = 0; pi < 3; pi++) {
        unsigned old = ox_cpu_limit(paths[pi]);
        for (size_t i = 0; i < 5; i++)
            for (size_t k = 3; k <= 5; k += 2)
                for (size_t s = 1; s <= 2; s++) {
                    dw_case c = {sz[i], sz[i], k, k, s, s, 1, 1, k / 2, k / 2, k / 2, k / 2};
                    ox_test_failures += check_case(&c, ACT_CLIP, 4, 4, 0, 4, 1, 0, -1);
                }
        ox_cpu_limit(old);
    }
}

static size_t rnd(size_t n) { return (size_t)(tt_randf() * (float)n) % n; }

static dw_case random_case(void) {
    dw_case c;
    c.IH = rnd(3) ? widths[rnd(6)] : 1 + rnd(12);
    c.IW = rnd(3) ? widths[rnd(6)] : 1 + rnd(40);
    c.KH = 1 + rnd(7);
    c.KW = 1 + rnd(7);
    c.sh = 1 + rnd(3);
    c.sw = 1 + rnd(3);
    c.dh = 1 + rnd(3);
    c.dw = 1 + rnd(3);
    c.pt = rnd(c.KH + 1);
    c.pb = rnd(c.KH + 1);
    c.pl = rnd(c.KW + 1);
    c.pr = rnd(c.KW + 1);
    return c;
}

TEST(dwconv_random_general) {
    /* any kernel size, stride 1-3, dilation 1-3, asymmetric pads */
    for (int pi = 0; pi < 3; pi++) {
        unsigned old = ox_cpu_limit(paths[pi]);
        for (int it = 0; it < 150; it++) {
            dw_case c = random_case();
            int act = (int)rnd(N_ACTS);
            ox_test_failures += check_case(&c, act, 1 + rnd(4), 4, 0, 4, (int)rnd(2), 0, -1);
        }
        ox_cpu_limit(old);
    }
}

TEST(dwconv_direct_loops) {
    for (int it = 0; it < 60; it++) {
        dw_case c = random_case();
        check_all_acts(&c, RUN_DIRECT);
    }
}

TEST(dwconv_padding_only_and_large_kernels) {
    for (int pi = 0; pi < 3; pi++) {
        unsigned old = ox_cpu_limit(paths[pi]);
        /* the kernel is larger than the input; some outputs see only padding */
        dw_case big = {2, 3, 7, 7, 1, 1, 1, 1, 6, 6, 6, 6};
        check_all_acts(&big, 0);
        dw_case far = {1, 1, 3, 3, 2, 2, 1, 1, 9, 10, 8, 11};
        check_all_acts(&far, 0);
        /* no input at all: every output is the bias */
        dw_case empty = {0, 5, 1, 3, 1, 1, 1, 1, 2, 1, 1, 1};
        check_all_acts(&empty, 0);
        dw_case empty_w = {4, 0, 3, 1, 1, 2, 1, 1, 1, 1, 1, 2};
        check_all_acts(&empty_w, 0);
        /* a row far wider than a band's buffer, and a tall thin plane */
        dw_case wide = {5, 3001, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        ox_test_failures += check_case(&wide, ACT_RELU, 2, 2, 0, 2, 1, 0, -1);
        dw_case tall = {3001, 3, 5, 3, 2, 1, 1, 1, 2, 1, 2, 1};
        ox_test_failures += check_case(&tall, ACT_CLIP, 2, 2, 0, 2, 1, 0, -1);
        /* narrow rows (computed flat) in several bands, the last one shorter */
        dw_case bands = {1001, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        ox_test_failures += check_case(&bands, ACT_POST, 2, 2, 0, 2, 1, 0, -1);
        dw_case bands2 = {2001, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
        ox_test_failures += check_case(&bands2, ACT_RELU, 2, 2, 0, 2, 1, 0, -1);
        /* strides past what the plane buffer takes, and a dilation that would need a
         * buffer of megabytes: the direct loops */
        dw_case strided = {40, 50, 3, 2, 9, 10, 1, 2, 1, 0, 1, 1};
        check_all_acts(&strided, 0);
        dw_case dilated = {3, 4, 2, 3, 1, 1, 2, 3000000, 0, 3000000, 1, 3000000};
        check_all_acts(&dilated, 0);
        ox_cpu_limit(old);
    }
}

TEST(dwconv_nan_passes) {
    /* Relu and Clip keep NaN, as the standalone ops do */
    for (int pi = 0; pi < 3; pi++) {
        unsigned old = ox_cpu_limit(paths[pi]);
        dw_case c = {9, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        for (int act = ACT_RELU; act <= ACT_CLIP; act++) {
            ox_test_failures += check_case(&c, act, 1, 1, 0, 1, 1, RUN_AUTO, 100);
            ox_test_failures += check_case(&c, act, 1, 1, 0, 1, 1, RUN_DIRECT, 100);
        }
        ox_cpu_limit(old);
    }
}

/* ---- the channel-block path, forced (where the machine has it) --------------------- */

static const size_t block_channels[] = {1, 7, 16, 17, 33, 100};

TEST(dwconv_blocks_planes_and_filters) {
    /* every plane with every filter, the channel count going round the list */
    static const size_t planes[][2] = {{1, 1},   {3, 5},   {7, 7},  {13, 11},
                                       {14, 14}, {29, 31}, {56, 56}};
    /* KH, KW, stride, dilation */
    static const size_t filters[][4] = {{3, 3, 1, 1}, {3, 3, 2, 1}, {5, 5, 1, 1}, {5, 5, 2, 1},
                                        {1, 1, 1, 1}, {3, 1, 1, 1}, {7, 7, 1, 1}, {3, 3, 3, 1},
                                        {3, 3, 1, 2}, {5, 3, 2, 2}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof planes / sizeof planes[0]; i++)
        for (size_t j = 0; j < sizeof filters / sizeof filters[0]; j++, n++) {
            const size_t *f = filters[j];
            size_t C = block_channels[n % 6], ph = f[0] / 2 * f[3], pw = f[1] / 2 * f[3];
            dw_case c = {planes[i][0], planes[i][1], f[0], f[1], f[2], f[2], f[3], f[3],
                         ph, pw, ph, pw};
            ox_test_failures +=
                check_case(&c, (int)(n % N_ACTS), C, C, 0, C, (int)(n % 3 != 0), RUN_BLOCKS, -1);
            /* asymmetric pads: one side only */
            dw_case a = c;
            a.pt = ph + (n % 2), a.pb = 0, a.pl = 0, a.pr = pw + 1;
            ox_test_failures +=
                check_case(&a, (int)((n + 1) % N_ACTS), C, C, 0, C, 1, RUN_BLOCKS, -1);
        }
}

TEST(dwconv_blocks_images_and_ranges) {
    /* two images whose channels are no multiple of 16 (no block may span both), all
     * planes and ranges that start and end inside blocks */
    static const size_t planes[][2] = {{7, 7}, {14, 14}, {13, 11}};
    static const size_t filters[][3] = {{3, 3, 1}, {3, 3, 2}, {5, 5, 1}};
    for (size_t ci = 0; ci < 6; ci++)
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 3; j++) {
                size_t C = block_channels[ci], k = filters[j][0], st = filters[j][2];
                dw_case c = {planes[i][0], planes[i][1], k, k, st, st, 1, 1,
                             k / 2, k / 2, k / 2, k / 2};
                int act = (int)((ci + i + j) % N_ACTS);
                ox_test_failures += check_case(&c, act, C, 2 * C, 0, 2 * C, 1, RUN_BLOCKS, -1);
                size_t p0 = 2 * C / 7, p1 = 2 * C - 2 * C / 5;
                ox_test_failures += check_case(&c, act, C, 2 * C, p0, p1, 0, RUN_BLOCKS, -1);
                if (C > 2)
                    ox_test_failures +=
                        check_case(&c, act, C, 2 * C, C - 1, C + 2, 1, RUN_BLOCKS, -1);
            }
}

TEST(dwconv_blocks_random_general) {
    /* any kernel size, stride 1-3, dilation 1-3, asymmetric pads, 1-2 images, any range */
    for (int it = 0; it < 200; it++) {
        dw_case c = random_case();
        size_t C = block_channels[rnd(6)], np = (1 + rnd(2)) * C;
        size_t p0 = rnd(np), p1 = p0 + 1 + rnd(np - p0);
        ox_test_failures +=
            check_case(&c, (int)rnd(N_ACTS), C, np, p0, p1, (int)rnd(2), RUN_BLOCKS, -1);
    }
}

TEST(dwconv_blocks_bands_and_edges) {
    /* several bands (the last shorter, padding rows moving), rows wider than a band's
     * buffer aims at, outputs of padding only, no input at all, large strides */
    static const dw_case cases[] = {
        {1001, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {2001, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
        {5, 3001, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {301, 7, 5, 3, 2, 1, 2, 1, 4, 1, 3, 1},
        {112, 112, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {2, 3, 7, 7, 1, 1, 1, 1, 6, 6, 6, 6},
        {1, 1, 3, 3, 2, 2, 1, 1, 9, 10, 8, 11},   {0, 5, 1, 3, 1, 1, 1, 1, 2, 1, 1, 1},
        {4, 0, 3, 1, 1, 2, 1, 1, 1, 1, 1, 2},     {40, 50, 3, 2, 9, 10, 1, 2, 1, 0, 1, 1},
        {8, 8, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},     {20, 20, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t C = i % 2 ? 17 : 5;
        ox_test_failures += check_case(&cases[i], (int)(i % N_ACTS), C, 2 * C, 1, 2 * C - 1,
                                       (int)(i % 2), RUN_BLOCKS, -1);
    }
}

TEST(dwconv_blocks_nan_passes) {
    /* Relu and Clip keep NaN on the channel-block path too, in full and tail blocks */
    dw_case c = {9, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int act = ACT_RELU; act <= ACT_CLIP; act++)
        for (int at = 0; at < 4; at++)
            ox_test_failures += check_case(&c, act, 17, 34, 0, 34, 1, RUN_BLOCKS, 100 + at * 1700);
}

static void *fail_alloc(size_t n, void *u) {
    (void)n;
    (void)u;
    return NULL;
}
static void *fail_realloc(void *p, size_t n, void *u) {
    (void)p;
    (void)n;
    (void)u;
    return NULL;
}
static void plain_free(void *p, void *u) {
    (void)u;
    free(p);
}

TEST(dwconv_without_scratch) {
    /* no scratch memory to be had: the kernel still computes, directly (2 channels:
     * the plane path's fallback; 20: the channel-block path's, then the plane path's) */
    for (size_t C = 2; C <= 20; C += 18) {
        float *x = rand_floats(C * 13 * 29), *w = rand_floats(C * 9);
        size_t OH = 7, OW = 29, n = C * OH * OW;
        float *want = ox_malloc_array(n, sizeof(float)), *got = ox_malloc_array(n, sizeof(float));
        ox_dwconv2d p = {.IH = 13, .IW = 29, .OH = OH, .OW = OW, .KH = 3, .KW = 3, .sh = 2,
                         .sw = 1, .dh = 1, .dw = 1, .pad_top = 1, .pad_left = 1, .clamp = 1,
                         .lo = 0.0f, .hi = INFINITY};
        ox_dwconv2d_f32_direct(&p, C, 0, C, x, w, NULL, want);
        ox_scratch_release();
        onyx_allocator a = {fail_alloc, fail_realloc, plain_free, NULL};
        onyx_set_allocator(&a);
        ox_dwconv2d_f32(&p, C, 0, C, x, w, NULL, got);
        int forced = ox_dwconv2d_f32_blocks(&p, C, 0, C, x, w, NULL, got);
        onyx_set_allocator(NULL);
        CHECK(!forced); /* the channel-block path has nothing to run in */
        CHECK(memcmp(want, got, n * sizeof(float)) == 0);
        ox_free(x);
        ox_free(w);
        ox_free(want);
        ox_free(got);
    }
}

/* ---- through the Conv op, with an activation fused by the planner ---------------- */

/* Conv (group = C) on N x C x [H x] W with act set as the planner sets it; pool may
 * be NULL. 1-D when H is 0. Returns failures. */
static int check_conv_op(int64_t N, int64_t C, int64_t H, int64_t W, int64_t k, int64_t s,
                         int64_t pad, int act, ox_threadpool *pool) {
    int nd = H ? 2 : 1;
    ox_node *n = tn_node("Conv", 3, 1);
    tn_int(n, "group", C);
    int64_t pads[4] = {pad, pad, pad, pad}, strides[2] = {s, s};
    tn_ints(n, "pads", 2 * (size_t)nd, pads);
    tn_ints(n, "strides", (size_t)nd, strides);
    int64_t xd[4] = {N, C, H ? H : W, W}, wd[4] = {C, 1, k, k};
    ox_tensor X = tt_rand(2 + nd, xd, -2.0f, 2.0f), Wt = tt_rand(2 + nd, wd, -1.0f, 1.0f);
    ox_tensor B = tt_rand(1, (int64_t[]){C}, -0.5f, 0.5f), Y;
    memset(&Y, 0, sizeof Y);
    ox_tensor *ins[3] = {&X, &Wt, &B}, *outs[1] = {&Y};
    const ox_op_def *def = ox_op_find("", "Conv", 13);
    float alpha = act == OX_ACT_CLIP ? -0.7f : act == OX_ACT_HARD_SIGMOID ? 0.3f : 0.1f;
    float beta = act == OX_ACT_CLIP ? 0.9f : 0.5f;
    ox_op_ctx c = {.node = n, .opset = 13, .n_in = 3, .n_out = 1, .in = ins, .out = outs,
                   .pool = pool, .act = act, .act_alpha = alpha, .act_beta = beta};
    int bad = 0;
    onyx_status st = def->prepare(&c);
    if (st == ONYX_OK) st = def->infer(&c);
    if (st == ONYX_OK && c.workspace_bytes) st = ONYX_ERR_RUNTIME; /* depthwise needs none */
    if (st == ONYX_OK) st = ox_tensor_alloc_data(&Y);
    if (st == ONYX_OK) st = def->run(&c);
    if (def->destroy && c.state) def->destroy(c.state);
    if (st != ONYX_OK) {
        fprintf(stderr, "  Conv failed (%d): %s\n", st, onyx_last_error());
        bad++;
    } else {
        const float *x = X.data, *w = Wt.data, *b = B.data, *y = Y.data;
        int64_t IH = H ? H : 1, KH = H ? k : 1, PH = H ? pad : 0, SH = H ? s : 1;
        int64_t OH = (IH + 2 * PH - KH) / SH + 1, OW = (W + 2 * pad - k) / s + 1;
        for (int64_t i = 0; i < N * C; i++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t ch = i % C;
                    double v = b[ch], mag = fabs(v);
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < k; kw++) {
                            int64_t iy = oy * SH + kh - PH, ix = ox * s + kw - pad;
                            if (iy < 0 || iy >= IH || ix < 0 || ix >= W) continue;
                            double t = (double)w[ch * KH * k + kh * k + kw] * x[(i * IH + iy) * W + ix];
                            v += t;
                            mag += fabs(t);
                        }
                    double want = act_ref(v, act, alpha, beta);
                    float got = y[(i * OH + oy) * OW + ox];
                    if (!(fabs(got - want) <= 6e-8 * (double)(KH * k + 2) * mag + 1e-6)) {
                        if (bad < 3)
                            fprintf(stderr, "  Conv %dd act %d at %lld: got %.9g want %.9g\n", nd,
                                    act, (long long)((i * OH + oy) * OW + ox), got, want);
                        bad++;
                    }
                }
    }
    ox_tensor_free_data(&X);
    ox_tensor_free_data(&Wt);
    ox_tensor_free_data(&B);
    ox_tensor_free_data(&Y);
    tn_reset();
    return bad;
}

TEST(dwconv_conv_op_fused_activations) {
    /* each activation exactly once, 1-D and 2-D, 1x1 too, serial and on a pool */
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int act = OX_ACT_NONE; act <= OX_ACT_HARD_SIGMOID; act++) {
        ox_test_failures += check_conv_op(2, 5, 9, 13, 3, 1, 1, act, NULL);
        ox_test_failures += check_conv_op(1, 7, 17, 17, 5, 2, 2, act, pool);
        ox_test_failures += check_conv_op(2, 3, 0, 29, 3, 2, 1, act, pool);
        ox_test_failures += check_conv_op(2, 6, 5, 11, 1, 1, 0, act, NULL); /* 1x1 */
        /* enough channels for the channel-block path (on AVX-512), blocks of 16 and a
         * tail per image handed out to the pool's threads */
        ox_test_failures += check_conv_op(2, 40, 14, 14, 3, 1, 1, act, pool);
        ox_test_failures += check_conv_op(3, 24, 7, 9, 5, 2, 2, act, pool);
        ox_test_failures += check_conv_op(1, 33, 0, 30, 3, 1, 1, act, pool);
    }
    ox_threadpool_free(pool);
}
