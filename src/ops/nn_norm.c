/* Normalisations: BatchNormalization (inference, and training_mode from opset 14),
 * InstanceNormalization, LayerNormalization, GroupNormalization, LRN.
 * Statistics are accumulated in double; float32 data is read and written as is. */
#include <math.h>
#include <string.h>

#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static int is_f(int32_t t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE; }

static double get(const ox_tensor *t, size_t i) {
    return t->dtype == ONYX_DTYPE_FLOAT ? (double)((const float *)t->data)[i]
                                        : ((const double *)t->data)[i];
}

static void put(ox_tensor *t, size_t i, double v) {
    if (t->dtype == ONYX_DTYPE_FLOAT)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

/* ---- BatchNormalization ------------------------------------------------------- */

typedef struct bn_state {
    float epsilon, momentum;
    int training;
    int spatial;
} bn_state;

onyx_status ox_nn_batchnorm_prepare(ox_op_ctx *c) {
    bn_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->epsilon = ox_attr_float(c, "epsilon", 1e-5f);
    st->momentum = ox_attr_float(c, "momentum", 0.9f);
    st->spatial = 1;
    if (c->opset < 9) st->spatial = ox_attr_int(c, "spatial", 1) != 0;
    if (c->opset >= 14) st->training = ox_attr_int(c, "training_mode", 0) != 0;
    return ox_op_status(c);
}

typedef struct bn_geom {
    size_t N, C, sp;  /* X as N x C x sp */
    size_t n_params;  /* C, or C*sp when not spatial */
} bn_geom;

static onyx_status bn_geom_of(const ox_op_ctx *c, bn_geom *g) {
    const bn_state *st = c->state;
    const ox_tensor *X = c->in[0];
    if (X->rank < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is a scalar");
    g->N = (size_t)X->dims[0];
    g->C = X->rank >= 2 ? (size_t)X->dims[1] : 1;
    g->sp = X->rank > 2 ? ox_shape_count(X->rank - 2, X->dims + 2) : 1;
    g->n_params = st->spatial ? g->C : g->C * g->sp;
    static const char *names[] = {"X", "scale", "B", "mean", "var"};
    for (size_t i = 1; i < 5; i++) {
        const ox_tensor *p = c->in[i];
        if (!is_f(p->dtype))
            return ox_error(ONYX_ERR_UNSUPPORTED, "input %s is %s", names[i],
                            ox_dtype_name(p->dtype));
        if (ox_tensor_count(p) != g->n_params || (st->spatial && p->rank != 1))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s has %zu elements; expected %s%zu",
                            names[i], ox_tensor_count(p), st->spatial ? "shape " : "",
                            g->n_params);
    }
    return ONYX_OK;
}

onyx_status ox_nn_batchnorm_infer(ox_op_ctx *c) {
    const bn_state *st = c->state;
    if (c->n_in < 5)
        return ox_error(ONYX_ERR_INVALID_MODEL, "needs 5 inputs (X, scale, B, mean, var)");
    for (size_t i = 0; i < 5; i++)
        if (!c->in[i]) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is required", i);
    const ox_tensor *X = c->in[0];
    if (!is_f(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "BatchNormalization on %s is not supported",
                        ox_dtype_name(X->dtype));
    int extra = 0;
    for (size_t i = 1; i < c->n_out; i++) extra |= c->out[i] != NULL;
    if (c->opset < 14 && extra)
        return ox_error(ONYX_ERR_UNSUPPORTED, "BatchNormalization training outputs (mean, var, "
                        "saved_mean, saved_var) before opset 14 are not supported");
    if (c->opset >= 14 && !st->training && extra)
        return ox_error(ONYX_ERR_INVALID_MODEL, "BatchNormalization with training_mode=0 may only "
                        "have output Y");
    bn_geom g;
    OX_TRY(bn_geom_of(c, &g));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    if (st->training) {
        int64_t cd = (int64_t)g.C;
        if (ox_has_output(c, 1)) ox_set_shape(c->out[1], c->in[3]->dtype, 1, &cd);
        if (ox_has_output(c, 2)) ox_set_shape(c->out[2], c->in[4]->dtype, 1, &cd);
    }
    return ONYX_OK;
}

typedef struct bn_task {
    const bn_geom *g;
    const ox_tensor *X;
    ox_tensor *Y;
    const double *a, *b; /* y = x * a[k] + b[k] */
} bn_task;

/* Planes p = n*C + ch in [p0, p1). */
static void bn_planes(void *arg, size_t p0, size_t p1) {
    const bn_task *t = arg;
    size_t sp = t->g->sp, C = t->g->C;
    int spatial = t->g->n_params == C;
    for (size_t p = p0; p < p1; p++) {
        size_t ch = p % C, base = p * sp;
        if (t->X->dtype == ONYX_DTYPE_FLOAT) {
            const float *x = (const float *)t->X->data + base;
            float *y = (float *)t->Y->data + base;
            if (spatial) {
                float a = (float)t->a[ch], b = (float)t->b[ch];
                for (size_t i = 0; i < sp; i++) y[i] = x[i] * a + b;
            } else {
                const double *a = t->a + ch * sp, *b = t->b + ch * sp;
                for (size_t i = 0; i < sp; i++) y[i] = (float)((double)x[i] * a[i] + b[i]);
            }
        } else {
            const double *x = (const double *)t->X->data + base;
            double *y = (double *)t->Y->data + base;
            for (size_t i = 0; i < sp; i++) {
                size_t k = spatial ? ch : ch * sp + i;
                y[i] = x[i] * t->a[k] + t->b[k];
            }
        }
    }
}

onyx_status ox_nn_batchnorm_run(ox_op_ctx *c) {
    const bn_state *st = c->state;
    bn_geom g;
    OX_TRY(bn_geom_of(c, &g));
    const ox_tensor *X = c->in[0], *scale = c->in[1], *B = c->in[2], *mean = c->in[3],
                    *var = c->in[4];
    double *ab = ox_malloc_array(g.n_params ? 2 * g.n_params : 1, sizeof(double));
    if (!ab) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    double *a = ab, *b = ab + g.n_params;
    for (size_t k = 0; k < g.n_params; k++) {
        double m = get(mean, k), v = get(var, k);
        if (st->training) {
            /* batch statistics over N and the spatial dims (population variance) */
            double s = 0.0, s2 = 0.0, cnt = (double)(g.N * g.sp);
            for (size_t n = 0; n < g.N; n++)
                for (size_t i = 0; i < g.sp; i++) s += get(X, (n * g.C + k) * g.sp + i);
            m = cnt > 0 ? s / cnt : 0.0;
            for (size_t n = 0; n < g.N; n++)
                for (size_t i = 0; i < g.sp; i++) {
                    double d = get(X, (n * g.C + k) * g.sp + i) - m;
                    s2 += d * d;
                }
            double bv = cnt > 0 ? s2 / cnt : 0.0, mo = st->momentum;
            if (ox_has_output(c, 1)) put(c->out[1], k, get(mean, k) * mo + m * (1.0 - mo));
            if (ox_has_output(c, 2)) put(c->out[2], k, get(var, k) * mo + bv * (1.0 - mo));
            v = bv;
        }
        a[k] = get(scale, k) / sqrt(v + (double)st->epsilon);
        b[k] = get(B, k) - m * a[k];
    }
    bn_task t = {.g = &g, .X = X, .Y = c->out[0], .a = a, .b = b};
    ox_parallel_for(c->pool, g.N * g.C, 1 + 16384 / (g.sp + 1), bn_planes, &t);
    ox_free(ab);
    return ONYX_OK;
}
