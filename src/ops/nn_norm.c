/* Normalisations: BatchNormalization (inference, and training_mode from opset 14),
 * InstanceNormalization, LayerNormalization, GroupNormalization, LRN.
 * Statistics are accumulated in double (float32: in float lanes moved into doubles every
 * 1024 values, kernels/vmath.h); float32 data is read and written as is. */
#include <math.h>
#include <string.h>

#include "kernels/vmath.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* Half-precision tensors reach the run functions as float32 (ox_nn_run_as_f32). */
static int is_f(int32_t t) { return ox_nn_is_floatlike(t); }

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
    OX_TRY(ox_nn_need(c, 5));
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
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_batchnorm_run);
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
    if (ox_tensor_count(X))
        ox_parallel_for(c->pool, g.N * g.C, 1 + 16384 / (g.sp + 1), bn_planes, &t);
    ox_free(ab);
    return ONYX_OK;
}

/* ---- shared: y = (x - mean) * inv * scale + bias over runs of values ------------- */

/* Mean and 1/sqrt(var + eps) of n consecutive values (population variance). */
static void moments(const ox_tensor *X, size_t base, size_t n, double eps, double *mean,
                    double *inv) {
    if (X->dtype == ONYX_DTYPE_FLOAT) {
        double var;
        ox_vmean_var(n, (const float *)X->data + base, mean, &var);
        *inv = 1.0 / sqrt(var + eps);
        return;
    }
    const double *x = (const double *)X->data + base;
    double s = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double m = n ? s / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) s2 += (x[i] - m) * (x[i] - m);
    *mean = m;
    *inv = 1.0 / sqrt((n ? s2 / (double)n : 0.0) + eps);
}

/* ---- InstanceNormalization --------------------------------------------------------- */

typedef struct eps_state {
    float epsilon;
    int64_t groups;
    int64_t axis;
    int64_t stash_type;
} eps_state;

onyx_status ox_nn_instancenorm_prepare(ox_op_ctx *c) {
    eps_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->epsilon = ox_attr_float(c, "epsilon", 1e-5f);
    return ox_op_status(c);
}

/* X (N x C x ...) with per-channel (or per-group) parameters of length n_params. */
static onyx_status check_nc_params(const ox_op_ctx *c, size_t first, size_t count,
                                   size_t n_params) {
    const ox_tensor *X = c->in[0];
    if (X->rank < 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has rank %d; expected (N x C x ...)",
                        (int)X->rank);
    if (!is_f(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s on %s is not supported", c->node->op_type,
                        ox_dtype_name(X->dtype));
    for (size_t i = first; i < first + count; i++) {
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is required", i);
        const ox_tensor *p = c->in[i];
        if (p->dtype != X->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is %s; X is %s", i,
                            ox_dtype_name(p->dtype), ox_dtype_name(X->dtype));
        if (p->rank != 1 || (size_t)p->dims[0] != n_params)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu must have shape (%zu)", i,
                            n_params);
    }
    return ONYX_OK;
}

onyx_status ox_nn_instancenorm_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 3));
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input is required");
    const ox_tensor *X = c->in[0];
    OX_TRY(check_nc_params(c, 1, 2, X->rank >= 2 ? (size_t)X->dims[1] : 0));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    return ONYX_OK;
}

/* Groups of channels normalised together: InstanceNormalization is one channel per
 * group, GroupNormalization several. Scale and bias are per channel (or, for
 * GroupNormalization-18, per group). */
typedef struct group_task {
    const ox_tensor *X, *scale, *bias;
    ox_tensor *Y;
    size_t C, G, sp; /* channels, groups, spatial size */
    int per_group_params;
    double eps;
} group_task;

static void group_rows(void *arg, size_t r0, size_t r1) {
    const group_task *t = arg;
    size_t cg = t->C / t->G, len = cg * t->sp;
    for (size_t r = r0; r < r1; r++) { /* r = n * G + g */
        size_t g = r % t->G, base = r * len;
        double mean, inv;
        moments(t->X, base, len, t->eps, &mean, &inv);
        for (size_t ci = 0; ci < cg; ci++) {
            size_t ch = g * cg + ci, pi = t->per_group_params ? g : ch;
            double a = get(t->scale, pi) * inv, b = get(t->bias, pi) - mean * a;
            size_t off = base + ci * t->sp;
            if (t->X->dtype == ONYX_DTYPE_FLOAT) {
                const float *x = (const float *)t->X->data + off;
                float *y = (float *)t->Y->data + off;
                for (size_t i = 0; i < t->sp; i++) y[i] = (float)((double)x[i] * a + b);
            } else {
                const double *x = (const double *)t->X->data + off;
                double *y = (double *)t->Y->data + off;
                for (size_t i = 0; i < t->sp; i++) y[i] = x[i] * a + b;
            }
        }
    }
}

static void run_groups(ox_op_ctx *c, size_t groups, int per_group_params, double eps) {
    const ox_tensor *X = c->in[0];
    group_task t = {.X = X, .scale = c->in[1], .bias = c->in[2], .Y = c->out[0],
                    .C = (size_t)X->dims[1], .G = groups, .per_group_params = per_group_params,
                    .eps = eps};
    t.sp = ox_shape_count(X->rank - 2, X->dims + 2);
    size_t rows = (size_t)X->dims[0] * groups;
    size_t len = t.G ? t.C / t.G * t.sp : 0;
    ox_parallel_for(c->pool, rows, 1 + 16384 / (len + 1), group_rows, &t);
}

onyx_status ox_nn_instancenorm_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_instancenorm_run);
    if (!ox_tensor_count(c->in[0])) return ONYX_OK;
    const eps_state *st = c->state;
    const ox_tensor *X = c->in[0];
    run_groups(c, (size_t)X->dims[1], 0, st->epsilon);
    return ONYX_OK;
}

/* ---- GroupNormalization ------------------------------------------------------------ */

onyx_status ox_nn_groupnorm_prepare(ox_op_ctx *c) {
    eps_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->epsilon = ox_attr_float(c, "epsilon", 1e-5f);
    st->stash_type = ox_attr_int(c, "stash_type", 1);
    if (!ox_attr_get(c, "num_groups"))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute num_groups is required");
    st->groups = ox_attr_int(c, "num_groups", 1);
    OX_TRY(ox_op_status(c));
    if (st->groups < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute num_groups is %lld; must be >= 1",
                        (long long)st->groups);
    return ONYX_OK;
}

onyx_status ox_nn_groupnorm_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 3));
    const eps_state *st = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *X = c->in[0];
    if (X->rank < 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has rank %d; expected (N x C x ...)",
                        (int)X->rank);
    size_t C = (size_t)X->dims[1];
    if (C % (size_t)st->groups)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%zu channels do not split into %lld groups", C,
                        (long long)st->groups);
    /* GroupNormalization-18 has scale and bias per group, 21 per channel */
    OX_TRY(check_nc_params(c, 1, 2, c->opset < 21 ? (size_t)st->groups : C));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    return ONYX_OK;
}

onyx_status ox_nn_groupnorm_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_groupnorm_run);
    if (!ox_tensor_count(c->in[0])) return ONYX_OK;
    const eps_state *st = c->state;
    run_groups(c, (size_t)st->groups, c->opset < 21, st->epsilon);
    return ONYX_OK;
}

/* ---- LayerNormalization ------------------------------------------------------------ */

onyx_status ox_nn_layernorm_prepare(ox_op_ctx *c) {
    eps_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->epsilon = ox_attr_float(c, "epsilon", 1e-5f);
    st->axis = ox_attr_int(c, "axis", -1);
    st->stash_type = ox_attr_int(c, "stash_type", 1);
    OX_TRY(ox_op_status(c));
    if (st->stash_type != ONYX_DTYPE_FLOAT && st->stash_type != ONYX_DTYPE_DOUBLE &&
        st->stash_type != ONYX_DTYPE_FLOAT16 && st->stash_type != ONYX_DTYPE_BFLOAT16)
        return ox_error(ONYX_ERR_UNSUPPORTED, "stash_type %lld is not supported",
                        (long long)st->stash_type);
    return ONYX_OK;
}

/* Whether t broadcasts unidirectionally to X's shape. */
static int bcasts_to(const ox_tensor *t, const ox_tensor *X) {
    if (t->rank > X->rank) return 0;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dims[t->rank - 1 - i], xd = X->dims[X->rank - 1 - i];
        if (d != 1 && d != xd) return 0;
    }
    return 1;
}

onyx_status ox_nn_layernorm_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    const eps_state *st = c->state;
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs X and Scale are required");
    const ox_tensor *X = c->in[0];
    if (!is_f(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s on %s is not supported", c->node->op_type,
                        ox_dtype_name(X->dtype));
    int32_t axis;
    OX_TRY(ox_norm_axis(st->axis, X->rank, &axis));
    /* RMSNormalization: Scale may have its own float type V, which Y takes */
    int rms = strcmp(c->node->op_type, "RMSNormalization") == 0;
    int32_t yt = rms ? c->in[1]->dtype : X->dtype;
    if (rms && !is_f(yt))
        return ox_error(ONYX_ERR_UNSUPPORTED, "scale of type %s is not supported",
                        ox_dtype_name(yt));
    for (size_t i = 1; i < (rms ? 2u : 3u); i++) {
        if (!ox_has_input(c, i)) continue;
        if (c->in[i]->dtype != yt)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s is %s; X is %s",
                            i == 1 ? "Scale" : "B", ox_dtype_name(c->in[i]->dtype),
                            ox_dtype_name(X->dtype));
        if (!bcasts_to(c->in[i], X))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s does not broadcast to X",
                            i == 1 ? "Scale" : "B");
    }
    ox_set_shape(c->out[0], yt, X->rank, X->dims);
    int64_t sd[OX_MAX_RANK];
    for (int i = 0; i < X->rank; i++) sd[i] = i < axis ? X->dims[i] : 1;
    for (size_t o = 1; o < (rms ? 1u : 3u); o++)
        if (ox_has_output(c, o)) ox_set_shape(c->out[o], (int32_t)st->stash_type, X->rank, sd);
    return ONYX_OK;
}

/* Offset into a tensor that broadcasts to X's shape, for X's flat index i. */
static size_t bcast_offset(const ox_tensor *t, const ox_tensor *X, size_t i) {
    size_t off = 0, stride = 1;
    for (int k = 0; k < t->rank; k++) {
        size_t xd = (size_t)X->dims[X->rank - 1 - k], td = (size_t)t->dims[t->rank - 1 - k];
        size_t idx = i % xd;
        i /= xd;
        if (td != 1) off += idx * stride;
        stride *= td;
    }
    return off;
}

typedef struct ln_task {
    const ox_tensor *X, *scale, *bias;
    ox_tensor *Y, *mean_out, *inv_out;
    size_t inner;
    int direct_scale, direct_bias; /* parameter index == position in the row */
    int rms;                       /* RMSNormalization: no centring */
    int fast;                      /* all float32 and row-indexed parameters */
    double eps;
} ln_task;

static void ln_rows(void *arg, size_t r0, size_t r1) {
    const ln_task *t = arg;
    for (size_t r = r0; r < r1; r++) {
        size_t base = r * t->inner;
        double mean = 0.0, inv;
        if (t->rms && t->X->dtype == ONYX_DTYPE_FLOAT) {
            double s2 = ox_vsum_sq(t->inner, (const float *)t->X->data + base);
            inv = 1.0 / sqrt((t->inner ? s2 / (double)t->inner : 0.0) + t->eps);
        } else if (t->rms) {
            double s2 = 0.0;
            for (size_t i = 0; i < t->inner; i++) {
                double v = get(t->X, base + i);
                s2 += v * v;
            }
            inv = 1.0 / sqrt((t->inner ? s2 / (double)t->inner : 0.0) + t->eps);
        } else {
            moments(t->X, base, t->inner, t->eps, &mean, &inv);
        }
        if (t->mean_out) put(t->mean_out, r, mean);
        if (t->inv_out) put(t->inv_out, r, inv);
        if (t->fast) { /* float32, parameters indexed by the row position */
            const float *x = (const float *)t->X->data + base;
            const float *sc = t->scale->data, *bs = t->bias ? t->bias->data : NULL;
            float *y = (float *)t->Y->data + base;
            ox_vnorm_affine(t->inner, x, (float)mean, (float)inv, sc, bs, y);
            continue;
        }
        for (size_t i = 0; i < t->inner; i++) {
            size_t xi = base + i;
            double s = get(t->scale, t->direct_scale ? i : bcast_offset(t->scale, t->X, xi));
            double b = 0.0;
            if (t->bias) b = get(t->bias, t->direct_bias ? i : bcast_offset(t->bias, t->X, xi));
            put(t->Y, xi, (get(t->X, xi) - mean) * inv * s + b);
        }
    }
}

/* Whether a parameter's offset is simply the position within a normalised row: its
 * dims match X's from axis on and are 1 before it (missing dims count as 1). */
static int row_indexed(const ox_tensor *t, const ox_tensor *X, int axis) {
    for (int k = 0; k < t->rank; k++) {
        int j = X->rank - 1 - k;
        int64_t td = t->dims[t->rank - 1 - k];
        if (j >= axis ? td != X->dims[j] : td != 1) return 0;
    }
    for (int j = axis; j < X->rank - t->rank; j++)
        if (X->dims[j] != 1) return 0;
    return 1;
}

onyx_status ox_nn_layernorm_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_layernorm_run);
    if (!ox_tensor_count(c->in[0])) return ONYX_OK;
    const eps_state *st = c->state;
    int rms = strcmp(c->node->op_type, "RMSNormalization") == 0;
    const ox_tensor *X = c->in[0];
    int32_t axis;
    OX_TRY(ox_norm_axis(st->axis, X->rank, &axis));
    ln_task t = {.X = X, .scale = c->in[1], .bias = ox_has_input(c, 2) ? c->in[2] : NULL,
                 .Y = c->out[0], .mean_out = ox_has_output(c, 1) ? c->out[1] : NULL,
                 .inv_out = ox_has_output(c, 2) ? c->out[2] : NULL, .eps = st->epsilon,
                 .rms = rms};
    if (rms) t.bias = t.mean_out = t.inv_out = NULL;
    t.inner = ox_shape_count(X->rank - axis, X->dims + axis);
    size_t rows = ox_shape_count(axis, X->dims);
    t.direct_scale = row_indexed(t.scale, X, axis);
    t.direct_bias = t.bias && row_indexed(t.bias, X, axis);
    t.fast = X->dtype == ONYX_DTYPE_FLOAT && t.scale->dtype == ONYX_DTYPE_FLOAT &&
             t.Y->dtype == ONYX_DTYPE_FLOAT && t.direct_scale &&
             (!t.bias || (t.bias->dtype == ONYX_DTYPE_FLOAT && t.direct_bias));
    ox_parallel_for(c->pool, rows, 1 + 16384 / (t.inner + 1), ln_rows, &t);
    return ONYX_OK;
}

/* ---- LRN ----------------------------------------------------------------------------- */

typedef struct lrn_state {
    float alpha, beta, bias;
    int64_t size;
} lrn_state;

onyx_status ox_nn_lrn_prepare(ox_op_ctx *c) {
    lrn_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->alpha = ox_attr_float(c, "alpha", 1e-4f);
    st->beta = ox_attr_float(c, "beta", 0.75f);
    st->bias = ox_attr_float(c, "bias", 1.0f);
    if (!ox_attr_get(c, "size"))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute size is required");
    st->size = ox_attr_int(c, "size", 1);
    OX_TRY(ox_op_status(c));
    if (st->size < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute size is %lld; must be >= 1",
                        (long long)st->size);
    return ONYX_OK;
}

onyx_status ox_nn_lrn_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 1));
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *X = c->in[0];
    OX_TRY(check_nc_params(c, 1, 0, 0));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    return ONYX_OK;
}

typedef struct lrn_task {
    const lrn_state *st;
    const ox_tensor *X;
    ox_tensor *Y;
    size_t C, sp;
} lrn_task;

/* Planes p = n*C + ch in [p0, p1). */
static void lrn_planes(void *arg, size_t p0, size_t p1) {
    const lrn_task *t = arg;
    /* floor and ceil of (size - 1) / 2 */
    int64_t lo_off = (t->st->size - 1) / 2, hi_off = t->st->size / 2;
    double scale = (double)t->st->alpha / (double)t->st->size;
    for (size_t p = p0; p < p1; p++) {
        size_t n = p / t->C;
        int64_t ch = (int64_t)(p % t->C);
        int64_t lo = ch - lo_off < 0 ? 0 : ch - lo_off;
        int64_t hi = ch + hi_off > (int64_t)t->C - 1 ? (int64_t)t->C - 1 : ch + hi_off;
        for (size_t i = 0; i < t->sp; i++) {
            double sq = 0.0;
            for (int64_t k = lo; k <= hi; k++) {
                double v = get(t->X, (n * t->C + (size_t)k) * t->sp + i);
                sq += v * v;
            }
            size_t xi = p * t->sp + i;
            put(t->Y, xi, get(t->X, xi) / pow((double)t->st->bias + scale * sq,
                                               (double)t->st->beta));
        }
    }
}

onyx_status ox_nn_lrn_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_lrn_run);
    if (!ox_tensor_count(c->in[0])) return ONYX_OK;
    const ox_tensor *X = c->in[0];
    lrn_task t = {.st = c->state, .X = X, .Y = c->out[0], .C = (size_t)X->dims[1]};
    t.sp = ox_shape_count(X->rank - 2, X->dims + 2);
    ox_parallel_for(c->pool, (size_t)X->dims[0] * t.C, 1 + 4096 / (t.sp + 1), lrn_planes, &t);
    return ONYX_OK;
}

/* ---- LpNormalization ----------------------------------------------------------------- */

typedef struct lpn_state {
    int64_t axis, p;
} lpn_state;

onyx_status ox_nn_lpnorm_prepare(ox_op_ctx *c) {
    lpn_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->axis = ox_attr_int(c, "axis", -1);
    st->p = ox_attr_int(c, "p", 2);
    OX_TRY(ox_op_status(c));
    if (st->p != 1 && st->p != 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute p is %lld; only 1 and 2 are defined",
                        (long long)st->p);
    return ONYX_OK;
}

onyx_status ox_nn_lpnorm_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 1));
    const lpn_state *st = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input is required");
    const ox_tensor *X = c->in[0];
    if (!is_f(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "LpNormalization on %s is not supported",
                        ox_dtype_name(X->dtype));
    int32_t axis;
    OX_TRY(ox_norm_axis(st->axis, X->rank, &axis));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    return ONYX_OK;
}

onyx_status ox_nn_lpnorm_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_lpnorm_run);
    if (!ox_tensor_count(c->in[0])) return ONYX_OK;
    const lpn_state *st = c->state;
    const ox_tensor *X = c->in[0];
    int32_t axis;
    OX_TRY(ox_norm_axis(st->axis, X->rank, &axis));
    size_t outer = ox_shape_count(axis, X->dims), len = (size_t)X->dims[axis];
    size_t inner = ox_shape_count(X->rank - axis - 1, X->dims + axis + 1);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double s = 0.0;
            for (size_t k = 0; k < len; k++) {
                double v = get(X, base + k * inner);
                s += st->p == 1 ? fabs(v) : v * v;
            }
            double norm = st->p == 1 ? s : sqrt(s);
            for (size_t k = 0; k < len; k++) {
                size_t xi = base + k * inner;
                put(c->out[0], xi, norm == 0.0 ? 0.0 : get(X, xi) / norm);
            }
        }
    return ONYX_OK;
}

/* ---- MeanVarianceNormalization --------------------------------------------------------- */

typedef struct mvn_state {
    size_t n_axes;
    int64_t axes[OX_MAX_RANK];
} mvn_state;

onyx_status ox_nn_mvn_prepare(ox_op_ctx *c) {
    mvn_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    size_t n;
    const int64_t *axes = ox_attr_ints(c, "axes", &n);
    OX_TRY(ox_op_status(c));
    if (!axes) {
        static const int64_t def[3] = {0, 2, 3};
        axes = def;
        n = 3;
    }
    if (n > OX_MAX_RANK) return ox_error(ONYX_ERR_INVALID_MODEL, "too many axes");
    memcpy(st->axes, axes, n * sizeof *axes);
    st->n_axes = n;
    return ONYX_OK;
}

/* Which dims are reduced, from the axes and X's rank. */
static onyx_status mvn_mask(const mvn_state *st, int32_t rank, int *reduced) {
    for (int i = 0; i < rank; i++) reduced[i] = 0;
    for (size_t i = 0; i < st->n_axes; i++) {
        int32_t a;
        OX_TRY(ox_norm_axis(st->axes[i], rank, &a));
        if (reduced[a])
            return ox_error(ONYX_ERR_INVALID_MODEL, "axis %lld is repeated",
                            (long long)st->axes[i]);
        reduced[a] = 1;
    }
    return ONYX_OK;
}

onyx_status ox_nn_mvn_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 1));
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *X = c->in[0];
    if (!is_f(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "MeanVarianceNormalization on %s is not supported",
                        ox_dtype_name(X->dtype));
    int reduced[OX_MAX_RANK];
    OX_TRY(mvn_mask(c->state, X->rank, reduced));
    ox_set_shape(c->out[0], X->dtype, X->rank, X->dims);
    return ONYX_OK;
}

/* The statistics slot of flat index i: its coordinates along the kept dims. */
static size_t mvn_slot(const ox_tensor *X, const int *reduced, size_t i) {
    size_t slot = 0, stride = 1;
    for (int k = X->rank - 1; k >= 0; k--) {
        size_t d = (size_t)X->dims[k], coord = i % d;
        i /= d;
        if (!reduced[k]) {
            slot += coord * stride;
            stride *= d;
        }
    }
    return slot;
}

/* Y = (X - mean) / (sqrt(variance) + 1e-9) with the statistics over the axes, as
 * the operator's function body defines it. */
onyx_status ox_nn_mvn_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_mvn_run);
    const ox_tensor *X = c->in[0];
    int reduced[OX_MAX_RANK];
    OX_TRY(mvn_mask(c->state, X->rank, reduced));
    size_t n = ox_tensor_count(X), slots = 1, group = 1;
    for (int k = 0; k < X->rank; k++) {
        if (reduced[k]) group *= (size_t)X->dims[k];
        else slots *= (size_t)X->dims[k];
    }
    if (n == 0) return ONYX_OK;
    double *st = ox_calloc(2 * slots, sizeof(double));
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    double *mean = st, *var = st + slots;
    for (size_t i = 0; i < n; i++) mean[mvn_slot(X, reduced, i)] += get(X, i);
    for (size_t s = 0; s < slots; s++) mean[s] /= (double)group;
    for (size_t i = 0; i < n; i++) {
        size_t s = mvn_slot(X, reduced, i);
        double d = get(X, i) - mean[s];
        var[s] += d * d;
    }
    for (size_t s = 0; s < slots; s++) var[s] = sqrt(var[s] / (double)group) + 1e-9;
    for (size_t i = 0; i < n; i++) {
        size_t s = mvn_slot(X, reduced, i);
        put(c->out[0], i, (get(X, i) - mean[s]) / var[s]);
    }
    ox_free(st);
    return ONYX_OK;
}
