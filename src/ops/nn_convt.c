/* ConvTranspose: 1-D to 3-D, groups, strides, dilations, pads / auto_pad,
 * output_padding, output_shape, optional bias.
 * float32: per image and group, col = W_g^T * X_g on ox_sgemm (Mg*k rows x input
 * positions, in the workspace), then col2im scatters each column into the output
 * planes, which start out holding the bias. float64: direct scatter loops. */
#include <string.h>

#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

typedef struct convt_state {
    ox_window_attrs wa;
    int64_t group;
    size_t n_out_pad, n_out_shape;
    int64_t out_pad[OX_NN_MAX_SPATIAL];
    int64_t out_shape[OX_NN_MAX_SPATIAL + 2];
} convt_state;

onyx_status ox_nn_convtranspose_prepare(ox_op_ctx *c) {
    convt_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    OX_TRY(ox_window_read(c, &st->wa, 0, 0));
    st->group = ox_attr_int(c, "group", 1);
    size_t n;
    const int64_t *op = ox_attr_ints(c, "output_padding", &n);
    const int64_t *os = ox_attr_ints(c, "output_shape", &st->n_out_shape);
    OX_TRY(ox_op_status(c));
    if (st->group < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute group is %lld; must be >= 1",
                        (long long)st->group);
    if (n > OX_NN_MAX_SPATIAL || st->n_out_shape > OX_NN_MAX_SPATIAL + 2)
        return ox_error(ONYX_ERR_UNSUPPORTED, "onyx supports 1 to %d spatial dims",
                        OX_NN_MAX_SPATIAL);
    st->n_out_pad = n;
    for (size_t i = 0; i < n; i++) {
        if (op[i] < 0 || op[i] > ((int64_t)1 << 31))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute output_padding[%zu] is %lld", i,
                            (long long)op[i]);
        st->out_pad[i] = op[i];
    }
    for (size_t i = 0; i < st->n_out_shape; i++) {
        if (os[i] < 0 || os[i] > ((int64_t)1 << 48))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute output_shape[%zu] is %lld", i,
                            (long long)os[i]);
        st->out_shape[i] = os[i];
    }
    return ONYX_OK;
}

typedef struct convt_geom {
    int nd;
    int64_t in[3], k[3], s[3], d[3], pb[3], out[3];
    size_t N, C, M, Cg, Mg, G;
    size_t in_sp, out_sp, k_sp;
} convt_geom;

static onyx_status convt_geom_of(const ox_op_ctx *c, convt_geom *g) {
    const convt_state *st = c->state;
    const ox_window_attrs *a = &st->wa;
    const ox_tensor *X = c->in[0], *W = c->in[1];
    OX_TRY(ox_nn_check_spatial_rank(X, "X"));
    if (W->rank != X->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input W has rank %d; X has rank %d",
                        (int)W->rank, (int)X->rank);
    int nd = X->rank - 2;
    g->nd = nd;
    g->N = (size_t)X->dims[0];
    g->C = (size_t)X->dims[1];
    g->G = (size_t)st->group;
    if ((size_t)W->dims[0] != g->C)
        return ox_error(ONYX_ERR_INVALID_MODEL, "W has %lld input channels; X has %zu",
                        (long long)W->dims[0], g->C);
    if (g->C % g->G)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%zu channels do not split into %zu groups",
                        g->C, g->G);
    g->Cg = g->C / g->G;
    g->Mg = (size_t)W->dims[1];
    g->M = g->Mg * g->G;
    if (ox_has_input(c, 2)) {
        const ox_tensor *B = c->in[2];
        if (B->rank != 1 || (size_t)B->dims[0] != g->M)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input B must have shape (%zu)", g->M);
    }
    size_t want = (size_t)nd;
    if ((a->n_kernel && a->n_kernel != want) || (a->n_strides && a->n_strides != want) ||
        (a->n_dilations && a->n_dilations != want) || (a->n_pads && a->n_pads != 2 * want) ||
        (st->n_out_pad && st->n_out_pad != want))
        return ox_error(ONYX_ERR_INVALID_MODEL, "an attribute's length does not match the %d "
                        "spatial dims", nd);
    if (st->n_out_shape && st->n_out_shape != want && st->n_out_shape != want + 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute output_shape has %zu values; expected "
                        "%d", st->n_out_shape, nd);
    const int64_t *os = st->n_out_shape == want + 2 ? st->out_shape + 2 : st->out_shape;
    int off = 3 - nd;
    for (int j = 0; j < 3; j++) {
        g->in[j] = g->k[j] = g->s[j] = g->d[j] = g->out[j] = 1;
        g->pb[j] = 0;
    }
    for (int i = 0; i < nd; i++) {
        int j = off + i;
        int64_t k = W->dims[2 + i];
        if (a->n_kernel && a->kernel[i] != k)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute kernel_shape[%d] is %lld but W's "
                            "dim is %lld", i, (long long)a->kernel[i], (long long)k);
        if (X->dims[2 + i] > ((int64_t)1 << 40) || k > ((int64_t)1 << 31))
            return ox_error(ONYX_ERR_LIMIT, "spatial dim %d is too large", i);
        g->in[j] = X->dims[2 + i];
        g->k[j] = k;
        g->s[j] = a->n_strides ? a->strides[i] : 1;
        g->d[j] = a->n_dilations ? a->dilations[i] : 1;
        int64_t opad = st->n_out_pad ? st->out_pad[i] : 0;
        if (g->in[j] > 1 && g->in[j] - 1 > (((int64_t)1 << 60) / g->s[j]))
            return ox_error(ONYX_ERR_LIMIT, "spatial dim %d: the output size overflows", i);
        int64_t full = g->s[j] * (g->in[j] - 1) + opad + (k - 1) * g->d[j] + 1;
        if (g->in[j] == 0) full = 0;
        int same = a->auto_pad == OX_PAD_SAME_UPPER || a->auto_pad == OX_PAD_SAME_LOWER;
        if (st->n_out_shape || same) {
            int64_t out = st->n_out_shape ? os[i] : g->in[j] * g->s[j];
            int64_t total = full - out;
            /* the extra padding goes at the end for SAME_UPPER, else at the start */
            g->pb[j] = a->auto_pad == OX_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            if (total < 0) /* floor division for the halves of a negative total */
                g->pb[j] = a->auto_pad == OX_PAD_SAME_UPPER ? -((-total + 1) / 2)
                                                            : total + (-total + 1) / 2;
            g->out[j] = out;
        } else {
            int64_t pb = 0, pe = 0;
            if (a->auto_pad == OX_PAD_NOTSET && a->n_pads) {
                pb = a->pads[i];
                pe = a->pads[nd + i];
            }
            g->pb[j] = pb;
            g->out[j] = full - pb - pe;
            if (g->out[j] < 0)
                return ox_error(ONYX_ERR_INVALID_MODEL, "spatial dim %d: pads (%lld, %lld) exceed "
                                "the output size %lld", i, (long long)pb, (long long)pe,
                                (long long)full);
        }
    }
    OX_TRY(ox_nn_prod3(g->in, &g->in_sp));
    OX_TRY(ox_nn_prod3(g->out, &g->out_sp));
    OX_TRY(ox_nn_prod3(g->k, &g->k_sp));
    return ONYX_OK;
}

onyx_status ox_nn_convtranspose_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "ConvTranspose needs inputs X and W");
    const ox_tensor *X = c->in[0];
    int32_t t = X->dtype;
    if (!ox_nn_is_floatlike(t))
        return ox_error(ONYX_ERR_UNSUPPORTED, "ConvTranspose on %s is not supported",
                        ox_dtype_name(t));
    if (c->in[1]->dtype != t || (ox_has_input(c, 2) && c->in[2]->dtype != t))
        return ox_error(ONYX_ERR_INVALID_MODEL, "ConvTranspose inputs differ in type");
    convt_geom g;
    OX_TRY(convt_geom_of(c, &g));
    int64_t dims[OX_MAX_RANK];
    dims[0] = X->dims[0];
    dims[1] = (int64_t)g.M;
    for (int i = 0; i < g.nd; i++) dims[2 + i] = g.out[3 - g.nd + i];
    ox_set_shape(c->out[0], t, X->rank, dims);
    c->workspace_bytes = 0;
    if (t != ONYX_DTYPE_DOUBLE && g.N) {
        size_t n;
        if (!ox_mul_ok(g.Mg * g.k_sp, g.in_sp, &n) || !ox_mul_ok(n, sizeof(float), &n))
            return ox_error(ONYX_ERR_LIMIT, "col2im buffer size overflows");
        c->workspace_bytes = n;
    }
    return ONYX_OK;
}

/* Scatter: Y[m, i*s - pb + k*d] += val(m, k, i) for every in-range target. The
 * source is either the float col matrix or (for double) computed on the fly. */
typedef struct col2im_task {
    const convt_geom *g;
    const float *col; /* Mg*k_sp x in_sp */
    float *y;         /* Mg planes of out_sp */
} col2im_task;

static void col2im_channels(void *arg, size_t m0, size_t m1) {
    const col2im_task *t = arg;
    const convt_geom *g = t->g;
    for (size_t m = m0; m < m1; m++) {
        float *y = t->y + m * g->out_sp;
        for (size_t kk = 0; kk < g->k_sp; kk++) {
            int64_t kx = (int64_t)(kk % (size_t)g->k[2]);
            int64_t ky = (int64_t)(kk / (size_t)g->k[2] % (size_t)g->k[1]);
            int64_t kz = (int64_t)(kk / (size_t)(g->k[2] * g->k[1]));
            const float *src = t->col + (m * g->k_sp + kk) * g->in_sp;
            for (int64_t iz = 0; iz < g->in[0]; iz++) {
                int64_t oz = iz * g->s[0] - g->pb[0] + kz * g->d[0];
                if (oz < 0 || oz >= g->out[0]) continue;
                for (int64_t iy = 0; iy < g->in[1]; iy++) {
                    int64_t oy = iy * g->s[1] - g->pb[1] + ky * g->d[1];
                    if (oy < 0 || oy >= g->out[1]) continue;
                    const float *s = src + (iz * g->in[1] + iy) * g->in[2];
                    float *yr = y + (oz * g->out[1] + oy) * g->out[2];
                    int64_t base = -g->pb[2] + kx * g->d[2];
                    for (int64_t ix = 0; ix < g->in[2]; ix++) {
                        int64_t ox = ix * g->s[2] + base;
                        if (ox >= 0 && ox < g->out[2]) yr[ox] += s[ix];
                    }
                }
            }
        }
    }
}

static void convt_f32(ox_op_ctx *c, const convt_geom *g) {
    const float *X = c->in[0]->data, *W = c->in[1]->data;
    const float *B = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    float *Y = c->out[0]->data, *col = c->workspace;
    size_t rows = g->Mg * g->k_sp;
    for (size_t n = 0; n < g->N; n++)
        for (size_t gi = 0; gi < g->G; gi++) {
            const float *x = X + (n * g->C + gi * g->Cg) * g->in_sp;
            const float *w = W + gi * g->Cg * rows;
            float *y = Y + (n * g->M + gi * g->Mg) * g->out_sp;
            for (size_t m = 0; m < g->Mg; m++) {
                float b = B ? B[gi * g->Mg + m] : 0.0f;
                for (size_t o = 0; o < g->out_sp; o++) y[m * g->out_sp + o] = b;
            }
            ox_sgemm(1, 0, rows, g->in_sp, g->Cg, 1.0f, w, rows, x, g->in_sp, 0.0f, col, g->in_sp,
                     c->pool);
            col2im_task t = {.g = g, .col = col, .y = y};
            ox_parallel_for(c->pool, g->Mg, 1, col2im_channels, &t);
        }
}

typedef struct convt_d_task {
    const convt_geom *g;
    const double *X, *W, *B;
    double *Y;
} convt_d_task;

/* Output planes p = n*M + m in [p0, p1), scattering every input channel of m's group. */
static void convt_f64_planes(void *arg, size_t p0, size_t p1) {
    const convt_d_task *t = arg;
    const convt_geom *g = t->g;
    for (size_t p = p0; p < p1; p++) {
        size_t n = p / g->M, m = p % g->M, gi = m / g->Mg, mi = m % g->Mg;
        double *y = t->Y + p * g->out_sp;
        for (size_t o = 0; o < g->out_sp; o++) y[o] = t->B ? t->B[m] : 0.0;
        for (size_t ci = 0; ci < g->Cg; ci++) {
            size_t ch = gi * g->Cg + ci;
            const double *x = t->X + (n * g->C + ch) * g->in_sp;
            const double *w = t->W + (ch * g->Mg + mi) * g->k_sp;
            for (int64_t iz = 0; iz < g->in[0]; iz++)
                for (int64_t iy = 0; iy < g->in[1]; iy++)
                    for (int64_t ix = 0; ix < g->in[2]; ix++) {
                        double xv = x[(iz * g->in[1] + iy) * g->in[2] + ix];
                        for (int64_t a = 0; a < g->k[0]; a++) {
                            int64_t oz = iz * g->s[0] - g->pb[0] + a * g->d[0];
                            if (oz < 0 || oz >= g->out[0]) continue;
                            for (int64_t b = 0; b < g->k[1]; b++) {
                                int64_t oy = iy * g->s[1] - g->pb[1] + b * g->d[1];
                                if (oy < 0 || oy >= g->out[1]) continue;
                                for (int64_t e = 0; e < g->k[2]; e++) {
                                    int64_t ox = ix * g->s[2] - g->pb[2] + e * g->d[2];
                                    if (ox < 0 || ox >= g->out[2]) continue;
                                    y[(oz * g->out[1] + oy) * g->out[2] + ox] +=
                                        xv * w[(a * g->k[1] + b) * g->k[2] + e];
                                }
                            }
                        }
                    }
        }
    }
}

onyx_status ox_nn_convtranspose_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_convtranspose_run);
    convt_geom g;
    OX_TRY(convt_geom_of(c, &g));
    if (!ox_tensor_count(c->out[0])) return ONYX_OK;
    if (c->out[0]->dtype == ONYX_DTYPE_FLOAT) {
        if (!c->workspace && g.Mg * g.k_sp * g.in_sp != 0)
            return ox_error(ONYX_ERR_RUNTIME, "ConvTranspose ran without its workspace");
        convt_f32(c, &g);
        return ONYX_OK;
    }
    convt_d_task t = {.g = &g, .X = c->in[0]->data, .W = c->in[1]->data,
                      .B = ox_has_input(c, 2) ? c->in[2]->data : NULL, .Y = c->out[0]->data};
    ox_parallel_for(c->pool, g.N * g.M, 1, convt_f64_planes, &t);
    return ONYX_OK;
}
