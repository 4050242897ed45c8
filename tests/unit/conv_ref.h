/* What the Conv kernel tests compute their references with: the activations a plan
 * fuses into a node (ops/op.h's OX_ACT_*) in double, and the output size of a
 * window. */
#ifndef OX_TESTS_CONV_REF_H
#define OX_TESTS_CONV_REF_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ops/op.h"
#include "util/alloc.h"

/* xorshift32 on a state of the test file's own, so that adding cases to one file does
 * not move the values another draws: a float in [0, 1). */
static inline float conv_randf(uint32_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return (float)(*state >> 8) * (1.0f / 16777216.0f);
}

/* n floats in [-1, 1) (at least one allocated), freed with ox_free. */
static inline float *conv_rand_floats(uint32_t *state, size_t n) {
    float *p = ox_malloc_array(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = conv_randf(state) * 2.0f - 1.0f;
    return p;
}

/* A kernel's `post` callback for the tests: linear, so that applying it twice or to
 * the wrong floats shows, and counting the floats it sees (ctx: a post_log). */
typedef struct post_log {
    size_t calls, floats;
} post_log;
static inline void post_fn(float *y, size_t n, const void *ctx) {
    post_log *log = (post_log *)(uintptr_t)ctx; /* the test's own counter */
    log->calls++;
    log->floats += n;
    for (size_t i = 0; i < n; i++) y[i] = 2.0f * y[i] + 1.0f;
}

static inline double act_ref(double v, int act, double alpha, double beta) {
    switch (act) {
    case OX_ACT_RELU: return v < 0 ? 0 : v;
    case OX_ACT_LEAKY_RELU: return v >= 0 ? v : alpha * v;
    case OX_ACT_CLIP: v = v < alpha ? alpha : v; return v > beta ? beta : v;
    case OX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case OX_ACT_TANH: return tanh(v);
    case OX_ACT_HARD_SIGMOID: v = alpha * v + beta; return v < 0 ? 0 : v > 1 ? 1 : v;
    case OX_ACT_SILU: return v / (1.0 + exp(-v));
    case OX_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    default: return v;
    }
}

/* Outputs along one dimension: in, padded by pb and pe, under a kernel k with
 * dilation d and stride s; 0 when the window does not fit. */
static inline int out_dim(size_t in, size_t pb, size_t pe, size_t k, size_t d, size_t s,
                          size_t *out) {
    size_t ek = (k - 1) * d + 1;
    if (in + pb + pe < ek) return 0;
    *out = (in + pb + pe - ek) / s + 1;
    return 1;
}

/* ---- a direct Conv kernel's output against the naive sum ------------------------ */

/* The activations the kernel tests fuse: none, ReLU, Clip to [CONV_CLIP_LO,
 * CONV_CLIP_HI], and post_fn. */
enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_POST, N_ACTS };
#define CONV_CLIP_LO (-0.3f)
#define CONV_CLIP_HI 0.45f
#define CONV_GUARD 19         /* floats after Y that must stay untouched */
#define CONV_GUARD_VAL 1234.5f

/* One image's geometry: input C x IH x IW, output M x OH x OW, filters KH x KW,
 * strides, dilations, padding before. */
typedef struct conv_ref_geom {
    size_t C, IH, IW, M, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl;
} conv_ref_geom;

/* Checks y (one image, M x OH x OW) against the sum in double of x (C x IH x IW), w
 * (M x C x KH x KW), bias (or NULL), res (or NULL) and act, within the rounding of
 * float sums of K + 2 terms; then (last) the guard after out_n floats of y and, for
 * ACT_POST, that post_fn saw out_n floats. what names the case in messages. Returns
 * failures. */
static inline int conv_ref_check(const conv_ref_geom *g, const float *x, const float *w,
                                 const float *bias, const float *res, const float *y, int act,
                                 const char *what) {
    size_t K = g->C * g->KH * g->KW;
    int bad = 0;
    for (size_t m = 0; m < g->M; m++)
        for (size_t oy = 0; oy < g->OH; oy++)
            for (size_t ox = 0; ox < g->OW; ox++) {
                size_t at = (m * g->OH + oy) * g->OW + ox;
                double s = bias ? bias[m] : 0.0, mag = fabs(s);
                for (size_t ci = 0; ci < g->C; ci++)
                    for (size_t kh = 0; kh < g->KH; kh++)
                        for (size_t kw = 0; kw < g->KW; kw++) {
                            int64_t iy = (int64_t)(oy * g->sh + kh * g->dh) - (int64_t)g->pt;
                            int64_t ix = (int64_t)(ox * g->sw + kw * g->dw) - (int64_t)g->pl;
                            if (iy < 0 || iy >= (int64_t)g->IH || ix < 0 || ix >= (int64_t)g->IW)
                                continue;
                            double t = (double)w[(m * g->C + ci) * g->KH * g->KW + kh * g->KW + kw] *
                                       x[(ci * g->IH + (size_t)iy) * g->IW + (size_t)ix];
                            s += t;
                            mag += fabs(t);
                        }
                if (res) s += res[at], mag += fabs(res[at]);
                double tol = 6e-8 * (double)(K + 2) * mag + 1e-6;
                if (act == ACT_RELU) s = s < 0 ? 0 : s;
                if (act == ACT_CLIP) {
                    s = s < CONV_CLIP_LO ? CONV_CLIP_LO : s;
                    s = s > CONV_CLIP_HI ? CONV_CLIP_HI : s;
                }
                if (act == ACT_POST) s = 2.0 * s + 1.0, tol *= 2;
                if (!(fabs(y[at] - s) <= tol)) {
                    if (bad < 3)
                        fprintf(stderr, "  %s: act %d res %d: (%zu,%zu,%zu) got %.9g want %.9g\n",
                                what, act, res != NULL, m, oy, ox, y[at], s);
                    bad++;
                }
            }
    return bad;
}

/* The guard after y's out_n floats, and the floats post_fn saw for ACT_POST. */
static inline int conv_ref_check_tail(const float *y, size_t out_n, int act, const post_log *log) {
    int bad = 0;
    for (size_t i = out_n; i < out_n + CONV_GUARD; i++)
        if (y[i] != CONV_GUARD_VAL) {
            fprintf(stderr, "  wrote past Y at %zu\n", i - out_n);
            bad++;
            break;
        }
    if (act == ACT_POST && log->floats != out_n) {
        fprintf(stderr, "  post saw %zu floats, expected %zu\n", log->floats, out_n);
        bad++;
    }
    return bad;
}

#endif
