/* Conv through the op, as a plan runs it (prepare, optional prepack, infer, run with
 * its workspace, a fused activation and residual), against a naive double reference
 * written here: for the tests of each Conv path. Included by one test file each. */
#ifndef OX_TESTS_CONV_OP_CHECK_H
#define OX_TESTS_CONV_OP_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conv_ref.h"
#include "nodes.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

typedef struct conv_op_case {
    int64_t N, C, M, H, W, k, s, pad, dil;
    int act, res, packed;
} conv_op_case;

/* A tensor of uniform values in [lo, hi) from rnd (each test file's own generator, in
 * [0, 1)). */
static ox_tensor conv_rand_tensor(float (*rnd)(void), int32_t rank, const int64_t *dims,
                                  float lo, float hi) {
    ox_tensor t = tt_make(ONYX_DTYPE_FLOAT, rank, dims, NULL);
    float *p = t.data;
    for (size_t i = 0; i < ox_tensor_count(&t); i++) p[i] = lo + (hi - lo) * rnd();
    return t;
}

/* Conv of N x C x H x W by M filters k x k (stride s, pads pad, dilation dil) with act
 * set as the planner sets it, a fused residual when res, through the prepack hook
 * when packed; checks that the geometry takes the path `applies` names. Returns
 * failures. */
static int conv_op_check(const conv_op_case *t, int (*applies)(const ox_conv_geom *),
                         const char *path, float (*rnd)(void), ox_threadpool *pool) {
    int64_t N = t->N, C = t->C, M = t->M, H = t->H, W = t->W, k = t->k, s = t->s;
    int64_t pad = t->pad, dil = t->dil ? t->dil : 1;
    int act = t->act, res = t->res, packed = t->packed;
    ox_node *n = tn_node("Conv", 3, 1);
    int64_t pads[4] = {pad, pad, pad, pad}, strides[2] = {s, s}, dils[2] = {dil, dil};
    tn_ints(n, "pads", 4, pads);
    tn_ints(n, "strides", 2, strides);
    tn_ints(n, "dilations", 2, dils);
    int64_t ek = (k - 1) * dil + 1;
    int64_t OH = (H + 2 * pad - ek) / s + 1, OW = (W + 2 * pad - ek) / s + 1;
    int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, k, k}, yd[4] = {N, M, OH, OW};
    ox_tensor X = conv_rand_tensor(rnd, 4, xd, -2.0f, 2.0f);
    ox_tensor Wt = conv_rand_tensor(rnd, 4, wd, -1.0f, 1.0f);
    ox_tensor B = conv_rand_tensor(rnd, 1, (int64_t[]){M}, -0.5f, 0.5f);
    ox_tensor R = conv_rand_tensor(rnd, 4, yd, -1.0f, 1.0f), Y;
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
    if (st == ONYX_OK && !applies(&g)) {
        fprintf(stderr, "  Conv %lldx%lld k%lld s%lld does not take the %s path\n", (long long)H,
                (long long)W, (long long)k, (long long)s, path);
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
                                int64_t iy = oy * s + kh * dil - pad, ix = ox * s + kw * dil - pad;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double p = (double)w[((m * C + ci) * k + kh) * k + kw] *
                                           x[((img * C + ci) * H + iy) * W + ix];
                                v += p;
                                mag += fabs(p);
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

#endif
