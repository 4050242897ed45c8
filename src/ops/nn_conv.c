/* Conv: 1-D to 3-D, groups, strides, dilations, pads / auto_pad, optional bias.
 * float32 runs as GEMMs (nn_conv_gemm.c), except depthwise filters (one input and
 * one output channel per group), which run on kernels/dwconv.h in 1-D and 2-D, with
 * the fused activation, and as direct loops in 3-D. float64: direct loops. */
#include <math.h>
#include <string.h>

#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

onyx_status ox_nn_conv_prepare(ox_op_ctx *c) {
    ox_conv_state *st = ox_malloc(sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    OX_TRY(ox_window_read(c, &st->wa, 0, 0));
    st->group = ox_attr_int(c, "group", 1);
    OX_TRY(ox_op_status(c));
    if (st->group < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute group is %lld; must be >= 1",
                        (long long)st->group);
    return ONYX_OK;
}

/* im2col works on chunks of whole output rows, sized so the chunk matrix stays
 * around this many bytes (but at least a few hundred columns wide): it bounds the
 * workspace and keeps the chunk in cache while the GEMM reads it. */
#define IM2COL_CHUNK_BYTES ((size_t)4 << 20)

onyx_status ox_conv_geom_of(const ox_op_ctx *c, const ox_tensor *X, const ox_tensor *W,
                            const ox_tensor *B, ox_conv_geom *g) {
    const ox_conv_state *st = c->state;
    OX_TRY(ox_nn_check_spatial_rank(X, "X"));
    if (W->rank != X->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input W has rank %d; X has rank %d",
                        (int)W->rank, (int)X->rank);
    int nd = X->rank - 2;
    g->N = (size_t)X->dims[0];
    g->C = (size_t)X->dims[1];
    g->M = (size_t)W->dims[0];
    g->Cg = (size_t)W->dims[1];
    g->G = (size_t)st->group;
    if (g->Cg * g->G != g->C)
        return ox_error(ONYX_ERR_INVALID_MODEL, "X has %zu channels but W expects %zu per group "
                        "x %zu groups", g->C, g->Cg, g->G);
    if (g->M % g->G)
        return ox_error(ONYX_ERR_INVALID_MODEL, "W has %zu filters, not a multiple of group %zu",
                        g->M, g->G);
    g->Mg = g->M / g->G;
    const int64_t *k = W->dims + 2;
    if (st->wa.n_kernel) {
        if (st->wa.n_kernel != (size_t)nd)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute kernel_shape has %zu values; the "
                            "input has %d spatial dims", st->wa.n_kernel, nd);
        for (int i = 0; i < nd; i++)
            if (st->wa.kernel[i] != k[i])
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute kernel_shape[%d] is %lld but "
                                "W's dim is %lld", i, (long long)st->wa.kernel[i],
                                (long long)k[i]);
    }
    if (B) {
        if (B->rank != 1 || (size_t)B->dims[0] != g->M)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input B must have shape (%zu)", g->M);
    }
    OX_TRY(ox_window_resolve(&st->wa, nd, X->dims + 2, k, 0, &g->w));
    const ox_window *w = &g->w;
    OX_TRY(ox_nn_prod3(w->in, &g->in_sp));
    OX_TRY(ox_nn_prod3(w->out, &g->out_sp));
    OX_TRY(ox_nn_prod3(w->k, &g->k_sp));
    if (!ox_mul_ok(g->Cg, g->k_sp, &g->kdim))
        return ox_error(ONYX_ERR_LIMIT, "filter size overflows");
    g->pointwise = g->k_sp == 1;
    for (int j = 0; j < 3; j++)
        g->pointwise &= w->s[j] == 1 && w->pb[j] == 0 && w->pe[j] == 0;
    g->depthwise = g->Cg == 1 && g->Mg == 1 && !g->pointwise;
    g->scaled = ox_has_input(c, 4);
    size_t ow = (size_t)w->out[2], rows = (size_t)(w->out[0] * w->out[1]);
    size_t cols = g->kdim ? IM2COL_CHUNK_BYTES / sizeof(float) / g->kdim : g->out_sp;
    if (cols < 256) cols = 256;
    g->chunk_rows = ow ? (cols + ow - 1) / ow : 1;
    if (g->chunk_rows > rows) g->chunk_rows = rows;
    if (g->chunk_rows == 0) g->chunk_rows = 1;
    return ONYX_OK;
}

int ox_conv_takes_channel_scale(ox_op_ctx *c, size_t *ws_bytes) {
    if (c->n_in < 2 || !ox_has_input(c, 0) || !ox_has_input(c, 1)) return 0;
    const ox_tensor *X = c->in[0], *W = c->in[1];
    if (X->dtype != ONYX_DTYPE_FLOAT || W->dtype != ONYX_DTYPE_FLOAT || X->rank != 4) return 0;
    ox_conv_geom g;
    int yes = ox_conv_geom_of(c, X, W, NULL, &g) == ONYX_OK && g.G == 1 && g.pointwise;
    g.scaled = 1;
    if (yes && ws_bytes) yes = ox_conv_gemm_workspace(&g, ws_bytes) == ONYX_OK;
    ox_error_clear();
    return yes;
}

onyx_status ox_nn_conv_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "Conv needs inputs X and W");
    const ox_tensor *X = c->in[0];
    int32_t t = X->dtype;
    if (!ox_nn_is_floatlike(t))
        return ox_error(ONYX_ERR_UNSUPPORTED, "Conv on %s is not supported", ox_dtype_name(t));
    if (c->in[1]->dtype != t || (ox_has_input(c, 2) && c->in[2]->dtype != t))
        return ox_error(ONYX_ERR_INVALID_MODEL, "Conv inputs differ in type");
    ox_conv_geom g;
    OX_TRY(ox_conv_geom_of(c, c->in[0], c->in[1], ox_has_input(c, 2) ? c->in[2] : NULL, &g));
    int64_t dims[OX_MAX_RANK];
    dims[0] = X->dims[0];
    dims[1] = (int64_t)g.M;
    int nd = g.w.nd;
    for (int i = 0; i < nd; i++) dims[2 + i] = g.w.out[3 - nd + i];
    ox_set_shape(c->out[0], t, X->rank, dims);
    if (ox_has_input(c, 3)) { /* a residual the planner fused in (plan/fuse.c): Y += R */
        const ox_tensor *R = c->in[3];
        int same = R->dtype == ONYX_DTYPE_FLOAT && t == ONYX_DTYPE_FLOAT && R->rank == X->rank &&
                   !g.depthwise;
        for (int i = 0; same && i < X->rank; i++) same = R->dims[i] == dims[i];
        if (!same) return ox_error(ONYX_ERR_RUNTIME, "Conv's fused residual does not match Y");
    }
    if (ox_has_input(c, 4)) { /* a channel scale the planner fused in: X *= S first */
        const ox_tensor *S = c->in[4];
        int ok = S->dtype == ONYX_DTYPE_FLOAT && S->rank == 4 && S->dims[0] == X->dims[0] &&
                 S->dims[1] == X->dims[1] && S->dims[2] == 1 && S->dims[3] == 1 &&
                 ox_conv_takes_channel_scale(c, NULL);
        if (!ok) return ox_error(ONYX_ERR_RUNTIME, "Conv's fused channel scale does not fit");
    }
    c->workspace_bytes = 0;
    if (t != ONYX_DTYPE_DOUBLE && !g.depthwise && g.N && g.M)
        OX_TRY(ox_conv_gemm_workspace(&g, &c->workspace_bytes));
    return ONYX_OK;
}

/* ---- float32 ---------------------------------------------------------------- */

/* Rows [r0, r1) of the chunk's im2col matrix; row r is (channel, kd, kh, kw) in W's
 * order, its columns are the chunk's output positions. */
void ox_im2col_rows(void *arg, size_t r0, size_t r1) {
    const ox_im2col_task *t = arg;
    const ox_window *w = &t->g->w;
    const int64_t ID = w->in[0], IH = w->in[1], IW = w->in[2];
    const int64_t OH = w->out[1], OW = w->out[2];
    size_t ncols = t->nrows * (size_t)OW;
    for (size_t r = r0; r < r1; r++) {
        int64_t kx = (int64_t)(r % (size_t)w->k[2]);
        int64_t ky = (int64_t)(r / (size_t)w->k[2] % (size_t)w->k[1]);
        int64_t kz = (int64_t)(r / (size_t)(w->k[2] * w->k[1]) % (size_t)w->k[0]);
        size_t ch = r / t->g->k_sp;
        const float *xc = t->x + ch * t->g->in_sp;
        float *dst = t->col + r * ncols;
        /* output columns whose tap lands inside the input along W */
        int64_t off_x = kx * w->d[2] - w->pb[2], sx = w->s[2], ox_lo, ox_hi;
        ox_tap_range(IW, sx, off_x, OW, &ox_lo, &ox_hi);
        for (size_t orow = 0; orow < t->nrows; orow++) {
            int64_t flat = (int64_t)(t->row0 + orow), oz = flat / OH, oy = flat % OH;
            int64_t iz = oz * w->s[0] - w->pb[0] + kz * w->d[0];
            int64_t iy = oy * w->s[1] - w->pb[1] + ky * w->d[1];
            float *d = dst + orow * (size_t)OW;
            if (iz < 0 || iz >= ID || iy < 0 || iy >= IH) {
                memset(d, 0, (size_t)OW * sizeof *d);
                continue;
            }
            const float *src = xc + (iz * IH + iy) * IW;
            for (int64_t o = 0; o < ox_lo; o++) d[o] = 0.0f;
            if (sx == 1) {
                if (ox_hi > ox_lo)
                    memcpy(d + ox_lo, src + ox_lo + off_x, (size_t)(ox_hi - ox_lo) * sizeof *d);
            } else {
                for (int64_t o = ox_lo; o < ox_hi; o++) d[o] = src[o * sx + off_x];
            }
            for (int64_t o = ox_hi; o < OW; o++) d[o] = 0.0f;
        }
    }
}

typedef struct dw_task {
    const ox_conv_geom *g;
    const float *X, *W, *B;
    float *Y;
} dw_task;

/* Depthwise: planes p = n*C + ch in [p0, p1), each with its own filter. The plane
 * starts as the bias; each filter tap then adds a scaled, shifted copy of the
 * input rows it reaches, which vectorises along the row when the stride is 1. */
static void depthwise_planes(void *arg, size_t p0, size_t p1) {
    const dw_task *t = arg;
    const ox_window *w = &t->g->w;
    for (size_t p = p0; p < p1; p++) {
        size_t ch = p % t->g->C;
        const float *x = t->X + p * t->g->in_sp, *f = t->W + ch * t->g->k_sp;
        float *y = t->Y + p * t->g->out_sp;
        float bias = t->B ? t->B[ch] : 0.0f;
        for (size_t o = 0; o < t->g->out_sp; o++) y[o] = bias;
        for (int64_t a = 0; a < w->k[0]; a++) {
            int64_t z0, z1, cz = a * w->d[0] - w->pb[0];
            ox_tap_range(w->in[0], w->s[0], cz, w->out[0], &z0, &z1);
            for (int64_t b = 0; b < w->k[1]; b++) {
                int64_t y0, y1, cy = b * w->d[1] - w->pb[1];
                ox_tap_range(w->in[1], w->s[1], cy, w->out[1], &y0, &y1);
                for (int64_t e = 0; e < w->k[2]; e++) {
                    int64_t x0, x1, cx = e * w->d[2] - w->pb[2];
                    ox_tap_range(w->in[2], w->s[2], cx, w->out[2], &x0, &x1);
                    if (x0 >= x1) continue;
                    float wv = f[(a * w->k[1] + b) * w->k[2] + e];
                    for (int64_t oz = z0; oz < z1; oz++) {
                        int64_t iz = oz * w->s[0] + cz;
                        for (int64_t oy = y0; oy < y1; oy++) {
                            int64_t iy = oy * w->s[1] + cy;
                            const float *xr = x + (iz * w->in[1] + iy) * w->in[2];
                            float *yr = y + (oz * w->out[1] + oy) * w->out[2];
                            if (w->s[2] == 1) {
                                ox_saxpy((size_t)(x1 - x0), wv, xr + x0 + cx, yr + x0);
                            } else {
                                for (int64_t ox = x0; ox < x1; ox++)
                                    yr[ox] += wv * xr[ox * w->s[2] + cx];
                            }
                        }
                    }
                }
            }
        }
    }
}

typedef struct dw2_task {
    ox_dwconv2d p;
    size_t C, blk, nblk; /* planes per unit of work (the kernel's block), units per image */
    const float *X, *W, *B;
    float *Y;
} dw2_task;

/* Units [u0, u1): unit u is block u % nblk of image u / nblk, so that ranges start on
 * the kernel's blocks and never split one. */
static void dw2_planes(void *arg, size_t u0, size_t u1) {
    const dw2_task *t = arg;
    size_t p0 = u0 / t->nblk * t->C + u0 % t->nblk * t->blk;
    size_t p1 = u1 / t->nblk * t->C + u1 % t->nblk * t->blk;
    ox_dwconv2d_f32(&t->p, t->C, p0, p1, t->X, t->W, t->B, t->Y);
}

void ox_nn_post_act(float *y, size_t n, const void *ctx) {
    const ox_op_ctx *c = ctx;
    ox_act_apply(y, n, c->act, c->act_alpha, c->act_beta);
}

onyx_status ox_conv_prepack_for(ox_op_ctx *c, int (*applies)(const ox_conv_geom *g),
                                size_t (*floats)(size_t M, size_t K),
                                void (*pack)(const float *w, size_t M, size_t K, float *dst),
                                float **out) {
    *out = NULL;
    const ox_tensor *X = ox_has_input(c, 0) ? c->in[0] : NULL;
    const ox_tensor *W = ox_has_input(c, 1) ? c->in[1] : NULL;
    ox_conv_geom g;
    if (!X || !W || !W->data || W->dtype != ONYX_DTYPE_FLOAT || X->rank != W->rank)
        return ONYX_OK;
    int yes = ox_conv_geom_of(c, X, W, NULL, &g) == ONYX_OK && applies(&g);
    ox_error_clear();
    if (!yes) return ONYX_OK;
    size_t bytes;
    if (!ox_mul_ok(floats(g.M, g.kdim), sizeof(float), &bytes))
        return ox_error(ONYX_ERR_LIMIT, "Conv filters too large to pack");
    float *wp = ox_malloc_aligned(bytes);
    if (!wp) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing the filters");
    pack(W->data, g.M, g.kdim, wp);
    *out = wp;
    return ONYX_OK;
}

/* Depthwise float32 (1x1 too) in 1-D or 2-D (no depth dim), the fused activation
 * included. Returns 0, having done nothing, for other convolutions. */
static int depthwise_2d(ox_op_ctx *c, const ox_conv_geom *g) {
    const ox_window *w = &g->w;
    if (g->Cg != 1 || g->Mg != 1 || w->in[0] != 1 || w->k[0] != 1 || w->pb[0] || w->pe[0] ||
        ox_has_input(c, 3) || ox_has_input(c, 4)) /* fused inputs belong to the GEMM path */
        return 0;
    dw2_task t = {.C = g->C, .X = c->in[0]->data, .W = c->in[1]->data,
                  .B = ox_has_input(c, 2) ? c->in[2]->data : NULL, .Y = c->out[0]->data};
    t.p = (ox_dwconv2d){.IH = (size_t)w->in[1], .IW = (size_t)w->in[2], .OH = (size_t)w->out[1],
                        .OW = (size_t)w->out[2], .KH = (size_t)w->k[1], .KW = (size_t)w->k[2],
                        .sh = (size_t)w->s[1], .sw = (size_t)w->s[2], .dh = (size_t)w->d[1],
                        .dw = (size_t)w->d[2], .pad_top = (size_t)w->pb[1],
                        .pad_left = (size_t)w->pb[2]};
    t.p.clamp = ox_nn_act_clamp(c, &t.p.lo, &t.p.hi);
    if (!t.p.clamp && c->act != OX_ACT_NONE) {
        t.p.post = ox_nn_post_act, t.p.post_ctx = c;
    }
    t.blk = ox_dwconv2d_block(&t.p, g->C);
    t.nblk = (g->C + t.blk - 1) / t.blk;
    ox_parallel_for(c->pool, g->N * t.nblk, 1, dw2_planes, &t);
    return 1;
}

/* Returns whether the fused activation was applied. */
static onyx_status conv_f32(ox_op_ctx *c, const ox_conv_geom *g, int *act_done) {
    const float *X = c->in[0]->data, *W = c->in[1]->data;
    const float *B = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    float *Y = c->out[0]->data;
    *act_done = 0;
    if (g->depthwise) {
        dw_task t = {.g = g, .X = X, .W = W, .B = B, .Y = Y};
        ox_parallel_for(c->pool, g->N * g->C, 1, depthwise_planes, &t);
        return ONYX_OK;
    }
    OX_TRY(ox_conv_gemm_f32(c, g));
    *act_done = 1;
    return ONYX_OK;
}

/* ---- float64: direct ---------------------------------------------------------- */

typedef struct direct_task {
    const ox_conv_geom *g;
    const double *X, *W, *B;
    double *Y;
} direct_task;

/* Output planes p = n*M + m in [p0, p1). */
static void direct_planes(void *arg, size_t p0, size_t p1) {
    const direct_task *t = arg;
    const ox_conv_geom *g = t->g;
    const ox_window *w = &g->w;
    for (size_t p = p0; p < p1; p++) {
        size_t n = p / g->M, m = p % g->M, gi = m / g->Mg;
        double *y = t->Y + p * g->out_sp;
        for (int64_t oz = 0; oz < w->out[0]; oz++) {
            int64_t z0, z1;
            ox_window_krange(w, 0, oz, &z0, &z1);
            for (int64_t oy = 0; oy < w->out[1]; oy++) {
                int64_t y0, y1;
                ox_window_krange(w, 1, oy, &y0, &y1);
                for (int64_t ox = 0; ox < w->out[2]; ox++) {
                    int64_t x0, x1;
                    ox_window_krange(w, 2, ox, &x0, &x1);
                    double s = t->B ? t->B[m] : 0.0;
                    for (size_t ci = 0; ci < g->Cg; ci++) {
                        const double *x = t->X + (n * g->C + gi * g->Cg + ci) * g->in_sp;
                        const double *f = t->W + (m * g->Cg + ci) * g->k_sp;
                        for (int64_t a = z0; a < z1; a++) {
                            int64_t iz = oz * w->s[0] - w->pb[0] + a * w->d[0];
                            for (int64_t b = y0; b < y1; b++) {
                                int64_t iy = oy * w->s[1] - w->pb[1] + b * w->d[1];
                                for (int64_t e = x0; e < x1; e++) {
                                    int64_t ix = ox * w->s[2] - w->pb[2] + e * w->d[2];
                                    s += x[(iz * w->in[1] + iy) * w->in[2] + ix] *
                                         f[(a * w->k[1] + b) * w->k[2] + e];
                                }
                            }
                        }
                    }
                    y[(oz * w->out[1] + oy) * w->out[2] + ox] = s;
                }
            }
        }
    }
}

onyx_status ox_nn_conv_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_conv_run);
    ox_conv_geom g;
    OX_TRY(ox_conv_geom_of(c, c->in[0], c->in[1], ox_has_input(c, 2) ? c->in[2] : NULL, &g));
    if (!ox_tensor_count(c->out[0])) return ONYX_OK;
    if (c->out[0]->dtype == ONYX_DTYPE_FLOAT) {
        if (depthwise_2d(c, &g)) return ONYX_OK;
        int act_done;
        OX_TRY(conv_f32(c, &g, &act_done));
        if (c->act && !act_done)
            ox_act_apply(c->out[0]->data, ox_tensor_count(c->out[0]), c->act, c->act_alpha, c->act_beta);
        return ONYX_OK;
    }
    direct_task t = {.g = &g, .X = c->in[0]->data, .W = c->in[1]->data,
                     .B = ox_has_input(c, 2) ? c->in[2]->data : NULL, .Y = c->out[0]->data};
    ox_parallel_for(c->pool, g.N * g.M, 1, direct_planes, &t);
    return ONYX_OK;
}

/* ConvTranspose lives in nn_convt.c. */
