/* Softmax, LogSoftmax and Hardmax.
 *
 * Before opset 13 the input is viewed as a matrix [prod(dims[:axis]), prod(dims[axis:])]
 * and normalised over each row (axis defaults to 1); from 13 on it is normalised along
 * the single dim `axis` (default -1). Either way the work is (outer, n, inner): n
 * values spaced `inner` apart. inner == 1 is the fast contiguous path; otherwise
 * columns are processed in chunks of CHUNK so the per-column maxima and sums live on
 * the stack. Softmax subtracts the maximum before exponentiating; LogSoftmax is
 * (x - max) - log(sum(exp(x - max))). Sums are accumulated in double (float32: in float
 * lanes moved into a double every 1024 values). float32 runs the row primitives of
 * kernels/vmath.h; float64 uses libm. float16 and bfloat16 are widened to float32 in the
 * workspace and computed there in place. */
#include <math.h>
#include <string.h>

#include "kernels/vmath.h"
#include "ops/reduce.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { SM_SOFT, SM_LOG, SM_HARD };
#define CHUNK 128

typedef struct {
    int mode;
    int64_t axis;
} smstate;

onyx_status ox_softmax_prepare(ox_op_ctx *c) {
    smstate *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    const char *op = c->node->op_type;
    s->mode = strcmp(op, "LogSoftmax") == 0 ? SM_LOG : strcmp(op, "Hardmax") == 0 ? SM_HARD : SM_SOFT;
    s->axis = ox_attr_int(c, "axis", c->opset >= 13 ? -1 : 1);
    return ox_op_status(c);
}

/* outer, n, inner for x; checks the axis. */
static onyx_status split(const ox_op_ctx *c, const ox_tensor *x, size_t *outer, size_t *n,
                         size_t *inner) {
    const smstate *s = c->state;
    int32_t r = x->rank, a;
    if (c->opset >= 13) {
        if (s->axis < -(int64_t)r || s->axis >= r)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' = %lld is out of range for rank %d",
                            (long long)s->axis, r);
        a = (int32_t)(s->axis < 0 ? s->axis + r : s->axis);
        *outer = ox_red_span(x->dims, 0, a);
        *n = (size_t)x->dims[a];
        *inner = ox_red_span(x->dims, a + 1, r);
    } else { /* coerced to 2-D: axis may also equal the rank */
        if (s->axis < -(int64_t)r || s->axis > r)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' = %lld is out of range for rank %d",
                            (long long)s->axis, r);
        a = (int32_t)(s->axis < 0 ? s->axis + r : s->axis);
        *outer = ox_red_span(x->dims, 0, a);
        *n = ox_red_span(x->dims, a, r);
        *inner = 1;
    }
    return ONYX_OK;
}

static int is_half(int32_t dt) { return dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16; }

onyx_status ox_softmax_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is missing");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output 'output' is missing");
    const ox_tensor *x = c->in[0];
    int32_t dt = x->dtype;
    if (dt != ONYX_DTYPE_FLOAT && dt != ONYX_DTYPE_DOUBLE && !is_half(dt))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input 'input' has unsupported type %s (float types only)",
                        ox_dtype_name(dt));
    size_t outer, n, inner;
    OX_TRY(split(c, x, &outer, &n, &inner));
    ox_set_shape(c->out[0], dt, x->rank, x->dims);
    if (is_half(dt) && !ox_mul_ok(ox_tensor_count(x), sizeof(float), &c->workspace_bytes))
        return ox_error(ONYX_ERR_LIMIT, "input 'input' is too large");
    return ONYX_OK;
}

/* A value that should replace the current maximum b (NaN counts as largest; first one wins). */
#define BETTER(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))

#define DEFINE_SOFTMAX(SUF, T, EXP, LOG)                                                   \
    static void rows_##SUF(const T *x, T *y, size_t n, size_t r0, size_t r1, int mode) {   \
        for (size_t r = r0; r < r1; r++) {                                                 \
            const T *xr = x + r * n;                                               \
            T *yr = y + r * n;                                                     \
            if (mode == SM_HARD) {                                                         \
                size_t best = 0;                                                           \
                for (size_t j = 1; j < n; j++)                                             \
                    if (BETTER(xr[j], xr[best])) best = j;                                 \
                for (size_t j = 0; j < n; j++) yr[j] = 0;                                  \
                yr[best] = 1;                                                              \
                continue;                                                                  \
            }                                                                              \
            T m = xr[0];                                                                   \
            for (size_t j = 1; j < n; j++) m = xr[j] > m ? xr[j] : m;                      \
            double s = 0;                                                                  \
            if (mode == SM_SOFT) {                                                         \
                for (size_t j = 0; j < n; j++) {                                           \
                    T e = EXP(xr[j] - m);                                                  \
                    yr[j] = e;                                                             \
                    s += e;                                                                \
                }                                                                          \
                T inv = (T)(1.0 / s);                                                      \
                for (size_t j = 0; j < n; j++) yr[j] *= inv;                               \
            } else {                                                                       \
                for (size_t j = 0; j < n; j++) s += EXP(xr[j] - m);                        \
                T ls = (T)log(s);                                                          \
                for (size_t j = 0; j < n; j++) yr[j] = (xr[j] - m) - ls;                   \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    /* Tasks [t0, t1) of outer * ceil(inner / CHUNK) column chunks. */                     \
    static void cols_##SUF(const T *x, T *y, size_t n, size_t inner, size_t t0, size_t t1, \
                           int mode) {                                                     \
        size_t nch = (inner + CHUNK - 1) / CHUNK;                                          \
        T m[CHUNK];                                                                        \
        double s[CHUNK];                                                                   \
        size_t bi[CHUNK];                                                                  \
        for (size_t t = t0; t < t1; t++) {                                                 \
            size_t o = t / nch, c0 = (t % nch) * CHUNK;                                    \
            size_t w = inner - c0 < CHUNK ? inner - c0 : CHUNK;                            \
            const T *xb = x + o * n * inner + c0;                                          \
            T *yb = y + o * n * inner + c0;                                                \
            for (size_t i = 0; i < w; i++) {                                               \
                m[i] = xb[i];                                                              \
                s[i] = 0;                                                                  \
                bi[i] = 0;                                                                 \
            }                                                                              \
            if (mode == SM_HARD) {                                                         \
                for (size_t j = 1; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) {                                       \
                        T v = xb[j * inner + i];                                           \
                        if (BETTER(v, m[i])) {                                             \
                            m[i] = v;                                                      \
                            bi[i] = j;                                                     \
                        }                                                                  \
                    }                                                                      \
                for (size_t j = 0; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) yb[j * inner + i] = bi[i] == j;         \
                continue;                                                                  \
            }                                                                              \
            for (size_t j = 1; j < n; j++)                                                 \
                for (size_t i = 0; i < w; i++) {                                           \
                    T v = xb[j * inner + i];                                               \
                    m[i] = v > m[i] ? v : m[i];                                            \
                }                                                                          \
            if (mode == SM_SOFT) {                                                         \
                for (size_t j = 0; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) {                                       \
                        T e = EXP(xb[j * inner + i] - m[i]);                               \
                        yb[j * inner + i] = e;                                             \
                        s[i] += e;                                                         \
                    }                                                                      \
                for (size_t i = 0; i < w; i++) s[i] = 1.0 / s[i];                          \
                for (size_t j = 0; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) yb[j * inner + i] *= (T)s[i];           \
            } else {                                                                       \
                for (size_t j = 0; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) s[i] += EXP(xb[j * inner + i] - m[i]);  \
                for (size_t i = 0; i < w; i++) s[i] = log(s[i]);                           \
                for (size_t j = 0; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++)                                         \
                        yb[j * inner + i] = (xb[j * inner + i] - m[i]) - (T)s[i];          \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_SOFTMAX(f64, double, exp, log)

/* ---- float32: the row primitives of kernels/vmath.h ------------------------------ */

static void rows_f32(const float *x, float *y, size_t n, size_t r0, size_t r1, int mode) {
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        if (mode == SM_HARD) {
            size_t best = 0;
            for (size_t j = 1; j < n; j++)
                if (BETTER(xr[j], xr[best])) best = j;
            memset(yr, 0, n * sizeof *yr);
            yr[best] = 1;
            continue;
        }
        float m = ox_vmax(n, xr);
        if (mode == SM_SOFT) {
            double s = ox_vexp_sum(n, xr, m, yr);
            ox_vscale(n, yr, (float)(1.0 / s), yr);
        } else {
            double s = ox_vexp_sum(n, xr, m, NULL);
            ox_vsub2(n, xr, m, (float)log(s), yr);
        }
    }
}

/* Tasks [t0, t1) of outer * ceil(inner / CHUNK) column chunks: each row of a chunk
 * is w consecutive values, one per column. */
static void cols_f32(const float *x, float *y, size_t n, size_t inner, size_t t0, size_t t1,
                     int mode) {
    size_t nch = (inner + CHUNK - 1) / CHUNK;
    float m[CHUNK], e[CHUNK], fs[CHUNK];
    double s[CHUNK];
    size_t bi[CHUNK];
    for (size_t t = t0; t < t1; t++) {
        size_t o = t / nch, c0 = (t % nch) * CHUNK;
        size_t w = inner - c0 < CHUNK ? inner - c0 : CHUNK;
        const float *xb = x + o * n * inner + c0;
        float *yb = y + o * n * inner + c0;
        for (size_t i = 0; i < w; i++) {
            m[i] = xb[i];
            s[i] = fs[i] = 0;
            bi[i] = 0;
        }
        if (mode == SM_HARD) {
            for (size_t j = 1; j < n; j++)
                for (size_t i = 0; i < w; i++) {
                    float v = xb[j * inner + i];
                    if (BETTER(v, m[i])) {
                        m[i] = v;
                        bi[i] = j;
                    }
                }
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; i < w; i++) yb[j * inner + i] = bi[i] == j;
            continue;
        }
        for (size_t j = 1; j < n; j++) {
            const float *xr = xb + j * inner;
            for (size_t i = 0; i < w; i++) m[i] = xr[i] > m[i] ? xr[i] : m[i];
        }
        for (size_t j = 0; j < n; j++) {
            /* exp sums in float, moved into doubles every 256 rows */
            ox_vexp_sub_acc(w, xb + j * inner, m, mode == SM_SOFT ? yb + j * inner : e, fs);
            if ((j & 255) == 255 || j == n - 1)
                for (size_t i = 0; i < w; i++) {
                    s[i] += fs[i];
                    fs[i] = 0;
                }
        }
        if (mode == SM_SOFT) {
            for (size_t i = 0; i < w; i++) e[i] = (float)(1.0 / s[i]);
            for (size_t j = 0; j < n; j++) {
                float *yr = yb + j * inner;
                for (size_t i = 0; i < w; i++) yr[i] *= e[i];
            }
        } else {
            for (size_t i = 0; i < w; i++) e[i] = (float)log(s[i]);
            for (size_t j = 0; j < n; j++) {
                const float *xr = xb + j * inner;
                float *yr = yb + j * inner;
                for (size_t i = 0; i < w; i++) yr[i] = (xr[i] - m[i]) - e[i];
            }
        }
    }
}

typedef struct {
    const void *x;
    void *y;
    size_t n, inner;
    int mode, f64;
} smtask;

static void sm_task(void *arg, size_t b, size_t e) {
    const smtask *t = arg;
    if (t->inner == 1) {
        if (t->f64) rows_f64(t->x, t->y, t->n, b, e, t->mode);
        else rows_f32(t->x, t->y, t->n, b, e, t->mode);
    } else {
        if (t->f64) cols_f64(t->x, t->y, t->n, t->inner, b, e, t->mode);
        else cols_f32(t->x, t->y, t->n, t->inner, b, e, t->mode);
    }
}

int ox_softmax_rows_of_last_axis(const ox_op_ctx *c, int rank) {
    const smstate *s = c->state;
    /* before opset 13 the rows from `axis` on: the last dim alone when it is last */
    return s && s->mode == SM_SOFT && rank >= 1 && (s->axis == -1 || s->axis == rank - 1);
}

void ox_softmax_rows_f32(float *y, size_t n, size_t rows) {
    rows_f32(y, y, n, 0, rows, SM_SOFT);
}

onyx_status ox_softmax_run(ox_op_ctx *c) {
    const smstate *s = c->state;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t outer, n, inner;
    OX_TRY(split(c, x, &outer, &n, &inner));
    size_t count = ox_tensor_count(x);
    if (count == 0) return ONYX_OK;
    int32_t dt = x->dtype;
    smtask t = {x->data, y->data, n, inner, s->mode, dt == ONYX_DTYPE_DOUBLE};
    if (is_half(dt)) {
        if (c->workspace_bytes < count * sizeof(float))
            return ox_error(ONYX_ERR_RUNTIME, "workspace is smaller than the shapes need");
        float *w = c->workspace;
        const uint16_t *h = x->data;
        if (dt == ONYX_DTYPE_FLOAT16)
            for (size_t i = 0; i < count; i++) w[i] = ox_red_h2f(h[i]);
        else
            for (size_t i = 0; i < count; i++) w[i] = ox_red_bf2f(h[i]);
        t.x = t.y = w;
    }
    size_t items = inner == 1 ? outer : outer * ((inner + CHUNK - 1) / CHUNK);
    size_t per_item = inner == 1 ? n : n * (inner < CHUNK ? inner : CHUNK);
    size_t grain = per_item >= 8192 ? 1 : 8192 / (per_item ? per_item : 1);
    ox_parallel_for(c->pool, items, grain, sm_task, &t);
    if (is_half(dt)) {
        const float *w = c->workspace;
        uint16_t *o = y->data;
        if (dt == ONYX_DTYPE_FLOAT16)
            for (size_t i = 0; i < count; i++) o[i] = ox_red_f2h(w[i]);
        else
            for (size_t i = 0; i < count; i++) o[i] = ox_red_f2bf(w[i]);
    }
    return ONYX_OK;
}
