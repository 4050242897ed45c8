/* ConvInteger and QLinearConv: 8-bit convolutions with zero points (and, for
 * QLinearConv, scales, int32 bias and requantisation to 8 bits).
 * x - x_zero_point and w - w_zero_point become floats (magnitudes <= 255), im2col
 * runs on them as for Conv (padding reads 0, which is exactly a zero-point tap),
 * and ox_gemm_int_exact sums the products exactly into int32 accumulators. */
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static int is_q8(int32_t t) { return t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_UINT8; }

static int32_t q8(const ox_tensor *t, size_t i) {
    return t->dtype == ONYX_DTYPE_INT8 ? ((const int8_t *)t->data)[i]
                                       : ((const uint8_t *)t->data)[i];
}

/* Input positions of the two convolutions. */
typedef struct qconv_io {
    int linear; /* QLinearConv */
    const ox_tensor *x, *w, *xzp, *wzp, *bias;
    const ox_tensor *xs, *ws, *ys, *yzp;
} qconv_io;

static const ox_tensor *opt_in(const ox_op_ctx *c, size_t i) {
    return ox_has_input(c, i) ? c->in[i] : NULL;
}

static onyx_status qconv_io_of(const ox_op_ctx *c, qconv_io *io) {
    memset(io, 0, sizeof *io);
    io->linear = strcmp(c->node->op_type, "QLinearConv") == 0;
    if (io->linear) {
        for (size_t i = 0; i < 8; i++)
            if (!ox_has_input(c, i))
                return ox_error(ONYX_ERR_INVALID_MODEL, "QLinearConv needs inputs 0 to 7 (input "
                                "%zu is missing)", i);
        io->x = c->in[0];
        io->xs = c->in[1];
        io->xzp = c->in[2];
        io->w = c->in[3];
        io->ws = c->in[4];
        io->wzp = c->in[5];
        io->ys = c->in[6];
        io->yzp = c->in[7];
        io->bias = opt_in(c, 8);
    } else {
        if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
            return ox_error(ONYX_ERR_INVALID_MODEL, "ConvInteger needs inputs x and w");
        io->x = c->in[0];
        io->w = c->in[1];
        io->xzp = opt_in(c, 2);
        io->wzp = opt_in(c, 3);
    }
    if (!is_q8(io->x->dtype) || !is_q8(io->w->dtype) || (io->yzp && !is_q8(io->yzp->dtype)))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s on %s x %s is not supported", c->node->op_type,
                        ox_dtype_name(io->x->dtype), ox_dtype_name(io->w->dtype));
    if ((io->xzp && io->xzp->dtype != io->x->dtype) || (io->wzp && io->wzp->dtype != io->w->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "a zero point's type differs from its input's");
    if (io->bias && io->bias->dtype != ONYX_DTYPE_INT32)
        return ox_error(ONYX_ERR_INVALID_MODEL, "bias must be int32");
    const ox_tensor *scales[3] = {io->xs, io->ws, io->ys};
    for (int i = 0; i < 3; i++)
        if (scales[i] && scales[i]->dtype != ONYX_DTYPE_FLOAT)
            return ox_error(ONYX_ERR_UNSUPPORTED, "scale of type %s",
                            ox_dtype_name(scales[i]->dtype));
    return ONYX_OK;
}

/* x, y: scalar parameters; w: scalar or one per output channel. */
static onyx_status check_params(const qconv_io *io, size_t M) {
    const ox_tensor *scalars[4] = {io->xzp, io->xs, io->ys, io->yzp};
    for (int i = 0; i < 4; i++)
        if (scalars[i] && ox_tensor_count(scalars[i]) != 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "x and y scales and zero points must be "
                            "scalars");
    const ox_tensor *per_m[2] = {io->wzp, io->ws};
    for (int i = 0; i < 2; i++)
        if (per_m[i] && ox_tensor_count(per_m[i]) != 1 && ox_tensor_count(per_m[i]) != M)
            return ox_error(ONYX_ERR_INVALID_MODEL, "w's scale and zero point need 1 or %zu "
                            "values", M);
    return ONYX_OK;
}

onyx_status ox_nn_qconv_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    qconv_io io;
    OX_TRY(qconv_io_of(c, &io));
    ox_conv_geom g;
    OX_TRY(ox_conv_geom_of(c, io.x, io.w, io.bias, &g));
    OX_TRY(check_params(&io, g.M));
    int64_t dims[OX_MAX_RANK];
    dims[0] = io.x->dims[0];
    dims[1] = (int64_t)g.M;
    for (int i = 0; i < g.w.nd; i++) dims[2 + i] = g.w.out[3 - g.w.nd + i];
    ox_set_shape(c->out[0], io.linear ? io.yzp->dtype : ONYX_DTYPE_INT32, io.x->rank, dims);
    return ONYX_OK;
}

static size_t per_m(const ox_tensor *t, size_t m) { return ox_tensor_count(t) == 1 ? 0 : m; }

/* int32 accumulators (N x M x out_sp) of the zero-point-corrected convolution. */
static onyx_status qconv_accumulate(ox_op_ctx *c, const qconv_io *io, const ox_conv_geom *g,
                                    int32_t *acc) {
    size_t nx = ox_tensor_count(io->x), nw = ox_tensor_count(io->w);
    size_t ow = (size_t)g->w.out[2], rows = (size_t)(g->w.out[0] * g->w.out[1]);
    size_t cols = g->chunk_rows * ow;
    float *xf = ox_malloc_array(nx ? nx : 1, sizeof(float));
    float *wf = ox_malloc_array(nw ? nw : 1, sizeof(float));
    float *col = g->pointwise ? NULL : ox_malloc_array(g->kdim * cols + 1, sizeof(float));
    float *tmp = ox_malloc_array(g->Mg * cols + 1, sizeof(float));
    onyx_status st = ONYX_OK;
    if (!xf || !wf || !tmp || (!g->pointwise && !col)) {
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    int32_t xz = io->xzp ? q8(io->xzp, 0) : 0;
    for (size_t i = 0; i < nx; i++) xf[i] = (float)(q8(io->x, i) - xz);
    for (size_t i = 0; i < nw; i++) {
        size_t m = g->kdim ? i / g->kdim : 0;
        wf[i] = (float)(q8(io->w, i) - (io->wzp ? q8(io->wzp, per_m(io->wzp, m)) : 0));
    }
    memset(acc, 0, g->N * g->M * g->out_sp * sizeof *acc);
    for (size_t n = 0; n < g->N; n++)
        for (size_t gi = 0; gi < g->G; gi++) {
            const float *x = xf + (n * g->C + gi * g->Cg) * g->in_sp;
            const float *wg = wf + gi * g->Mg * g->kdim;
            int32_t *a = acc + (n * g->M + gi * g->Mg) * g->out_sp;
            for (size_t r0 = 0; r0 < rows; r0 += g->chunk_rows) {
                size_t nr = rows - r0 < g->chunk_rows ? rows - r0 : g->chunk_rows;
                size_t ncols = nr * ow;
                const float *b = x + r0 * ow;
                size_t ldb = g->in_sp;
                if (!g->pointwise) {
                    ox_im2col_task t = {.g = g, .x = x, .col = col, .row0 = r0, .nrows = nr};
                    ox_parallel_for(c->pool, g->kdim, 1 + 16384 / (ncols + 1), ox_im2col_rows, &t);
                    b = col;
                    ldb = ncols;
                }
                ox_gemm_int_exact(g->Mg, ncols, g->kdim, wg, g->kdim, b, ldb, a + r0 * ow,
                                  g->out_sp, tmp, c->pool);
            }
        }
done:
    ox_free(xf);
    ox_free(wf);
    ox_free(col);
    ox_free(tmp);
    return st;
}

onyx_status ox_nn_qconv_run(ox_op_ctx *c) {
    qconv_io io;
    OX_TRY(qconv_io_of(c, &io));
    ox_conv_geom g;
    OX_TRY(ox_conv_geom_of(c, io.x, io.w, io.bias, &g));
    OX_TRY(check_params(&io, g.M));
    ox_tensor *Y = c->out[0];
    size_t total = ox_tensor_count(Y);
    if (!total) return ONYX_OK;
    if (!io.linear) return qconv_accumulate(c, &io, &g, Y->data);
    int32_t *acc = ox_malloc_array(total, sizeof(int32_t));
    if (!acc) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status st = qconv_accumulate(c, &io, &g, acc);
    if (st == ONYX_OK) {
        float xs = ((const float *)io.xs->data)[0], ys = ((const float *)io.ys->data)[0];
        int32_t yz = q8(io.yzp, 0);
        for (size_t i = 0; i < total; i++) {
            size_t m = i / g.out_sp % g.M;
            uint32_t a = (uint32_t)acc[i];
            if (io.bias) a += (uint32_t)((const int32_t *)io.bias->data)[m];
            int32_t v;
            memcpy(&v, &a, sizeof v);
            /* the scale product in float32, as the reference computes it */
            float f = xs * ((const float *)io.ws->data)[per_m(io.ws, m)] / ys;
            double r = nearbyint((double)v * (double)f) + (double)yz;
            if (Y->dtype == ONYX_DTYPE_INT8)
                ((int8_t *)Y->data)[i] = (int8_t)(r < -128.0 ? -128.0 : r > 127.0 ? 127.0 : r);
            else
                ((uint8_t *)Y->data)[i] = (uint8_t)(r < 0.0 ? 0.0 : r > 255.0 ? 255.0 : r);
        }
    }
    ox_free(acc);
    return st;
}
