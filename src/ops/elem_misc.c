/* Elementwise ops with their own shape or type rules: Pow (mixed base/exponent
 * types), PRelu (slope broadcasts to X), Clip (bounds from attributes or inputs),
 * Where (three-way broadcast, any type) and Expand (shape from a tensor). */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises only trivial loops. Before the includes, so the inline
 * helpers get the same options and are inlined. */
#pragma GCC optimize("tree-vectorize")
#endif
#include <float.h>
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/elem_common.h"
#include "util/alloc.h"
#include "util/fp16.h"
#include "util/threadpool.h"


#define CHUNK 256

onyx_status elem_prepare_plain(ox_op_ctx *c) {
    elem_state *s;
    return elem_state_new(c, NULL, &s);
}

static int is_half(int32_t dt) { return dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16; }
static int is_real(int32_t dt) {
    return dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || is_half(dt);
}
static int is_numeric(int32_t dt) { return ox_dtype_is_int(dt) || is_real(dt); }

/* ---- Pow ---------------------------------------------------------------------- */

ELEM_BIN_SAME(pow, powf(x, y), f32, float, float, FLOAT)
ELEM_BIN_SAME(pow, pow(x, y), f64, double, double, DOUBLE)
ELEM_BIN_SAME(square, x * x, f32, float, float, FLOAT)
ELEM_BIN_SAME(square, x * x, f64, double, double, DOUBLE)

/* Exact integer power with wrap-around; a negative exponent gives the truncated
 * quotient 1 / b^-e (0 when b is 0, rather than a division by zero). */
static int64_t ipow(int64_t b, int64_t e) {
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, x = (uint64_t)b;
    while (e) {
        if (e & 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return (int64_t)r;
}

typedef struct pow_job {
    const ox_tensor *a, *b;
    ox_tensor *o;
    size_t sa, sb;
} pow_job;

static void pow_piece(void *ctx, size_t n, size_t out_off, const size_t *in_off) {
    const pow_job *j = ctx;
    int32_t ta = j->a->dtype, tb = j->b->dtype;
    int ints = ox_dtype_is_int(ta) && ox_dtype_is_int(tb);
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        size_t oa = in_off[0] + i * j->sa, ob = in_off[1] + i * j->sb;
        if (ints) {
            int64_t x[CHUNK], y[CHUNK];
            elem_load_i64(ta, j->a->data, oa, j->sa, m, x);
            elem_load_i64(tb, j->b->data, ob, j->sb, m, y);
            for (size_t k = 0; k < m; k++) x[k] = ipow(x[k], y[k]);
            elem_store_i64(j->o->dtype, x, m, j->o->data, out_off + i);
        } else {
            double x[CHUNK], y[CHUNK];
            elem_load_f64(ta, j->a->data, oa, j->sa, m, x);
            elem_load_f64(tb, j->b->data, ob, j->sb, m, y);
            for (size_t k = 0; k < m; k++) x[k] = pow(x[k], y[k]);
            elem_store_f64(j->o->dtype, x, m, j->o->data, out_off + i, 1);
        }
    }
}

onyx_status elem_infer_pow(ox_op_ctx *c) {
    OX_TRY(elem_need_inputs(c, 2));
    int32_t ta = c->in[0]->dtype, tb = c->in[1]->dtype;
    if (!is_numeric(ta)) return elem_bad_dtype(c, 0, ta);
    if (!is_numeric(tb)) return elem_bad_dtype(c, 1, tb);
    ox_tensor view;
    const ox_tensor *b;
    OX_TRY(elem_legacy_rhs(c, c->in[0], c->in[1], &view, &b));
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_shape(2, (const ox_tensor *[]){c->in[0], b}, &r, d));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], ta, r, d);
    return ONYX_OK;
}

onyx_status elem_run_pow(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *a = c->in[0], *b;
    ox_tensor view;
    OX_TRY(elem_legacy_rhs(c, a, c->in[1], &view, &b));
    ox_tensor *o = c->out[0];
    if (a->dtype == b->dtype && is_real(a->dtype)) {
        int half = is_half(a->dtype), f64 = a->dtype == ONYX_DTYPE_DOUBLE;
        elem_bin_fn fn = f64 ? pow_f64 : pow_f32;
        if (ox_tensor_count(b) == 1 && ox_tensor_get_double(b, 0) == 2.0)
            fn = f64 ? square_f64 : square_f32; /* x^2 is common (variance, norms) */
        return elem_binary_apply(c, fn, half, a, b, o);
    }
    ox_bcast bc;
    OX_TRY(ox_bcast_init(&bc, 2, (const ox_tensor *[]){a, b}, o->rank, o->dims));
    pow_job j = {a, b, o, bc.step[0], bc.step[1]};
    ox_bcast_run(&bc, c->pool, 1 << 12, pow_piece, &j);
    return ONYX_OK;
}

/* ---- PRelu -------------------------------------------------------------------- */

onyx_status elem_infer_prelu(ox_op_ctx *c) {
    const elem_state *s = c->state;
    OX_TRY(elem_need_inputs(c, 2));
    OX_TRY(elem_same_dtype(c, 1));
    const ox_tensor *x = c->in[0], *slope;
    int via;
    if (!elem_binary_kernel(s->d, x->dtype, &via)) return elem_bad_dtype(c, 0, x->dtype);
    ox_tensor view;
    OX_TRY(elem_legacy_rhs(c, x, c->in[1], &view, &slope));
    if (!ox_broadcasts_to(slope->rank, slope->dims, x->rank, x->dims)) {
        char a[160], b[160];
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "slope of shape %s does not broadcast to X of shape %s",
                        ox_shape_describe(slope->rank, slope->dims, a, sizeof a),
                        ox_shape_describe(x->rank, x->dims, b, sizeof b));
    }
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

/* ---- Clip --------------------------------------------------------------------- */

typedef void (*clip_fn)(size_t n, const void *x, void *y, const void *lo, const void *hi);

#define CLIP_FN(p, e, sfx, T, U, DT)                                                       \
    static void clip_##sfx(size_t n, const void *px, void *py, const void *plo,            \
                           const void *phi) {                                              \
        const T *x = px;                                                                   \
        T *y = py, lo = 0, hi = 0;                                                         \
        if (plo) memcpy(&lo, plo, sizeof lo);                                              \
        if (phi) memcpy(&hi, phi, sizeof hi);                                              \
        if (plo && phi) {                                                                  \
            for (size_t i = 0; i < n; i++) {                                               \
                T v = x[i] < lo ? lo : x[i];                                               \
                y[i] = v > hi ? hi : v;                                                    \
            }                                                                              \
        } else if (plo) {                                                                  \
            for (size_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i];                   \
        } else if (phi) {                                                                  \
            for (size_t i = 0; i < n; i++) y[i] = x[i] > hi ? hi : x[i];                   \
        } else if (px != py) {                                                             \
            memcpy(y, x, n * sizeof(T));                                                   \
        }                                                                                  \
    }
ELEM_NUM(CLIP_FN, _, _)
static const clip_fn clip_fns[ELEM_NTYPES] = {ELEM_NUM(ELEM_TBL, clip, _)};

typedef struct clip_job {
    clip_fn fn;
    int32_t half;
    const unsigned char *x;
    unsigned char *y;
    size_t esz;
    const void *lo, *hi;
} clip_job;

static void clip_task(void *arg, size_t begin, size_t end) {
    const clip_job *j = arg;
    if (!j->half) {
        j->fn(end - begin, j->x + begin * j->esz, j->y + begin * j->esz, j->lo, j->hi);
        return;
    }
    float buf[CHUNK];
    for (size_t i = begin; i < end; i += CHUNK) {
        size_t m = end - i < CHUNK ? end - i : CHUNK;
        elem_to_f32(j->half, j->x + i * j->esz, m, buf);
        j->fn(m, buf, buf, j->lo, j->hi);
        elem_from_f32(j->half, buf, m, j->y + i * j->esz);
    }
}

onyx_status elem_prepare_clip(ox_op_ctx *c) {
    float lo = -FLT_MAX, hi = FLT_MAX; /* opset 6 defaults */
    if (c->opset < 11) {
        lo = ox_attr_float(c, "min", lo);
        hi = ox_attr_float(c, "max", hi);
        OX_TRY(ox_op_status(c));
    }
    elem_state *s;
    OX_TRY(elem_state_new(c, NULL, &s));
    s->alpha = lo;
    s->beta = hi;
    return ONYX_OK;
}

onyx_status elem_infer_clip(ox_op_ctx *c) {
    OX_TRY(elem_need_inputs(c, 1));
    const ox_tensor *x = c->in[0];
    int32_t dt = x->dtype;
    if (c->opset < 11 ? !is_real(dt) : !is_numeric(dt)) return elem_bad_dtype(c, 0, dt);
    for (size_t i = 1; i < 3 && c->opset >= 11; i++) {
        if (!ox_has_input(c, i)) continue;
        OX_TRY(elem_same_dtype(c, i));
        if (ox_tensor_count(c->in[i]) != 1)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input %zu (%s) must be a scalar", i,
                            i == 1 ? "min" : "max");
    }
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], dt, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status elem_run_clip(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    int32_t dt = x->dtype, kdt = is_half(dt) ? ONYX_DTYPE_FLOAT : dt;
    unsigned char bounds[2][8];
    const void *lo = NULL, *hi = NULL;
    for (size_t i = 0; i < 2; i++) {
        if (c->opset < 11) { /* float attributes, x is a float type */
            double v = i ? s->beta : s->alpha;
            if (kdt == ONYX_DTYPE_DOUBLE) memcpy(bounds[i], &v, 8);
            else {
                float f = (float)v;
                memcpy(bounds[i], &f, 4);
            }
        } else if (ox_has_input(c, i + 1)) {
            const ox_tensor *b = c->in[i + 1];
            if (is_half(dt)) {
                float f = (float)ox_tensor_get_double(b, 0);
                memcpy(bounds[i], &f, 4);
            } else {
                memcpy(bounds[i], b->data, ox_dtype_size(dt));
            }
        } else {
            continue;
        }
        if (i) hi = bounds[1];
        else lo = bounds[0];
    }
    clip_job j = {clip_fns[kdt], is_half(dt) ? dt : 0, x->data, c->out[0]->data,
                  ox_dtype_size(dt), lo, hi};
    if (!j.fn) return elem_bad_dtype(c, 0, dt);
    ox_parallel_for(c->pool, ox_tensor_count(x), 1 << 14, clip_task, &j);
    return ONYX_OK;
}

/* ---- Where -------------------------------------------------------------------- */

typedef struct where_job {
    const uint8_t *cond;
    const unsigned char *x, *y;
    unsigned char *o;
    size_t esz, sc, sx, sy;
    int str;            /* strings: copied one by one, on one thread */
    onyx_status status; /* strings only */
} where_job;

#define WHERE_LOOP(T)                                                                      \
    do {                                                                                   \
        const T *xs = (const T *)(const void *)x, *ys = (const T *)(const void *)y;        \
        T *os = (T *)(void *)o;                                                            \
        if (j->sc && j->sx && j->sy)                                                       \
            for (size_t i = 0; i < n; i++) os[i] = cond[i] ? xs[i] : ys[i];                \
        else                                                                               \
            for (size_t i = 0; i < n; i++)                                                 \
                os[i] = cond[i * j->sc] ? xs[i * j->sx] : ys[i * j->sy];                   \
    } while (0)

static void where_piece(void *ctx, size_t n, size_t out_off, const size_t *in_off) {
    where_job *j = ctx;
    const uint8_t *cond = j->cond + in_off[0];
    const unsigned char *x = j->x + in_off[1] * j->esz, *y = j->y + in_off[2] * j->esz;
    unsigned char *o = j->o + out_off * j->esz;
    switch (j->str ? 0 : j->esz) {
    case 1: WHERE_LOOP(uint8_t); break;
    case 2: WHERE_LOOP(uint16_t); break;
    case 4: WHERE_LOOP(uint32_t); break;
    case 8: WHERE_LOOP(uint64_t); break;
    default: {
        for (size_t i = 0; i < n; i++) {
            const unsigned char *src = cond[i * j->sc] ? x + i * j->sx * j->esz : y + i * j->sy * j->esz;
            if (j->str) {
                if (j->status == ONYX_OK)
                    j->status = elem_string_copy((ox_string *)(void *)(o + i * j->esz),
                                                 (const ox_string *)(const void *)src);
            } else {
                memcpy(o + i * j->esz, src, j->esz);
            }
        }
    }
    }
}

onyx_status elem_infer_where(ox_op_ctx *c) {
    OX_TRY(elem_need_inputs(c, 3));
    if (c->in[0]->dtype != ONYX_DTYPE_BOOL)
        return ox_error(ONYX_ERR_INVALID_MODEL, "condition must be bool, not %s",
                        ox_dtype_name(c->in[0]->dtype));
    if (c->in[1]->dtype != c->in[2]->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "X is %s but Y is %s", ox_dtype_name(c->in[1]->dtype),
                        ox_dtype_name(c->in[2]->dtype));
    if (!ox_dtype_size(c->in[1]->dtype)) return elem_bad_dtype(c, 1, c->in[1]->dtype);
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_shape(3, (const ox_tensor *const *)c->in, &r, d));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], c->in[1]->dtype, r, d);
    return ONYX_OK;
}

onyx_status elem_run_where(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    ox_tensor *o = c->out[0];
    ox_bcast bc;
    OX_TRY(ox_bcast_init(&bc, 3, (const ox_tensor *const *)c->in, o->rank, o->dims));
    int str = o->dtype == ONYX_DTYPE_STRING;
    where_job j = {c->in[0]->data, c->in[1]->data, c->in[2]->data, o->data, ox_dtype_size(o->dtype),
                   bc.step[0], bc.step[1], bc.step[2], str, ONYX_OK};
    ox_bcast_run(&bc, str ? NULL : c->pool, 0, where_piece, &j);
    return j.status;
}

/* ---- Expand -------------------------------------------------------------------- */

onyx_status elem_infer_expand(ox_op_ctx *c) {
    OX_TRY(elem_need_inputs(c, 2));
    const ox_tensor *x = c->in[0], *shape = c->in[1];
    if (shape->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL, "shape must be int64, not %s", ox_dtype_name(shape->dtype));
    if (shape->rank != 1) return ox_error(ONYX_ERR_INVALID_MODEL, "shape must be 1-D, not rank %d", shape->rank);
    if (shape->dims[0] > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "shape has %lld dims, above the limit of %d",
                        (long long)shape->dims[0], OX_MAX_RANK);
    if (!shape->data && shape->dims[0] > 0) return OX_NEED_VALUE;
    if (!ox_dtype_size(x->dtype)) return elem_bad_dtype(c, 0, x->dtype);
    int32_t n = (int32_t)shape->dims[0];
    const int64_t *want = shape->data;
    for (int32_t i = 0; i < n; i++)
        if (want[i] < 0)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "shape[%d] is %lld, must not be negative", i,
                            (long long)want[i]);
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_dims(x->rank, x->dims, n, want, &r, d));
    if (!ox_shape_count_checked(r, d, x->dtype, NULL, NULL))
        return ox_error(ONYX_ERR_LIMIT, "the expanded tensor is too large");
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, r, d);
    return ONYX_OK;
}

onyx_status elem_run_expand(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    return elem_broadcast_copy(c, c->in[0], c->out[0]);
}
