/* Reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
 * ReduceLogSum, ReduceLogSumExp, ReduceSumSquare) and the family's op table.
 *
 * One core serves every reduction: the input shape is collapsed into groups of
 * adjacent dims that are all reduced or all kept (size-1 dims dropped), and the input
 * is walked row by row (a row = the last group) while an odometer over the other
 * groups tracks where in the output each row lands. A reduced last group is a
 * contiguous row reduction; a kept one accumulates a row into a row of the output.
 * Floating types accumulate in double (float16/bfloat16 are widened first); integer
 * types accumulate in 64-bit wrap-around arithmetic and are truncated to their type. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/reduce_rows.h"
#include "ops/reduce.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LSE, R_SUMSQ };

static const struct {
    const char *name;
    int kind;
    int axes_input_since; /* first opset where axes is an input rather than an attribute */
} kinds[] = {
    {"ReduceSum", R_SUM, 13},       {"ReduceMean", R_MEAN, 18},    {"ReduceMax", R_MAX, 18},
    {"ReduceMin", R_MIN, 18},       {"ReduceProd", R_PROD, 18},    {"ReduceL1", R_L1, 18},
    {"ReduceL2", R_L2, 18},         {"ReduceLogSum", R_LOGSUM, 18}, {"ReduceLogSumExp", R_LSE, 18},
    {"ReduceSumSquare", R_SUMSQ, 18},
};

typedef struct {
    int kind, keepdims, noop, axes_input;
    const int64_t *axes; /* attribute form (older opsets); lives in the model */
    size_t n_axes;
} rstate;

void ox_reduce_free_state(void *state) { ox_free(state); }

static onyx_status reduce_prepare(ox_op_ctx *c) {
    int k = -1, since = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(c->node->op_type, kinds[i].name) == 0) {
            k = kinds[i].kind;
            since = kinds[i].axes_input_since;
        }
    if (k < 0) return ox_error(ONYX_ERR_UNSUPPORTED, "unknown reduction");
    rstate *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->kind = k;
    s->keepdims = ox_attr_int(c, "keepdims", 1) != 0;
    s->axes_input = c->opset >= since;
    if (s->axes_input) {
        s->noop = ox_attr_int(c, "noop_with_empty_axes", 0) != 0;
        if (ox_attr_get(c, "axes"))
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "attribute 'axes' is not allowed from opset %d: axes is an input", since);
        if (c->n_in > 2) return ox_error(ONYX_ERR_INVALID_MODEL, "takes 1 or 2 inputs, got %zu", c->n_in);
    } else {
        s->axes = ox_attr_ints(c, "axes", &s->n_axes);
        if (c->n_in > 1)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "takes 1 input before opset %d (axes is an attribute), got %zu", since,
                            c->n_in);
    }
    return ox_op_status(c);
}

/* The reduced axes as a mask over x's dims. */
static onyx_status get_mask(ox_op_ctx *c, const rstate *s, const ox_tensor *x,
                            uint8_t mask[OX_MAX_RANK]) {
    int64_t buf[OX_MAX_RANK];
    const int64_t *ax = s->axes;
    size_t n = s->n_axes;
    if (s->axes_input) {
        n = 0;
        if (ox_has_input(c, 1)) {
            const ox_tensor *t = c->in[1];
            if (t->dtype != ONYX_DTYPE_INT64 && t->dtype != ONYX_DTYPE_INT32)
                return ox_error(ONYX_ERR_INVALID_MODEL, "input 'axes' must be int64, got %s",
                                ox_dtype_name(t->dtype));
            if (t->rank > 1)
                return ox_error(ONYX_ERR_INVALID_MODEL, "input 'axes' must be 1-D, got rank %d",
                                t->rank);
            n = ox_tensor_count(t);
            if (n && !t->data) return OX_NEED_VALUE;
            if (n > (size_t)x->rank)
                return ox_error(ONYX_ERR_INVALID_MODEL, "input 'axes' has %zu entries for rank %d",
                                n, x->rank);
            for (size_t i = 0; i < n; i++) buf[i] = ox_tensor_get_int(t, i);
            ax = buf;
        }
    }
    if (n == 0) {
        memset(mask, s->axes_input && s->noop ? 0 : 1, OX_MAX_RANK);
        return ONYX_OK;
    }
    memset(mask, 0, OX_MAX_RANK);
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        if (ox_norm_axis(ax[i], x->rank, &a) != ONYX_OK)
            return ox_error(ONYX_ERR_INVALID_MODEL, "axes[%zu] = %lld is out of range for rank %d",
                            i, (long long)ax[i], x->rank);
        if (mask[a])
            return ox_error(ONYX_ERR_INVALID_MODEL, "axes lists axis %d twice", a);
        mask[a] = 1;
    }
    return ONYX_OK;
}

/* ---- plan ---------------------------------------------------------------- */

typedef struct {
    int ng;                          /* groups after collapsing, >= 1 */
    size_t size[OX_MAX_RANK];
    size_t ystride[OX_MAX_RANK];     /* 0 for reduced groups */
    int red[OX_MAX_RANK];
    size_t in_count, out_count, n_red; /* n_red: elements reduced into each output */
} rplan;

static void plan_build(rplan *p, const ox_tensor *x, const uint8_t *mask) {
    p->ng = 0;
    p->n_red = p->out_count = 1;
    p->in_count = ox_tensor_count(x);
    for (int32_t d = 0; d < x->rank; d++) {
        size_t n = (size_t)x->dims[d];
        if (mask[d]) p->n_red *= n;
        else p->out_count *= n;
        if (n == 1) continue;
        if (p->ng && p->red[p->ng - 1] == mask[d]) {
            p->size[p->ng - 1] *= n;
        } else {
            p->size[p->ng] = n;
            p->red[p->ng] = mask[d];
            p->ng++;
        }
    }
    if (p->ng == 0) {
        p->size[0] = 1;
        p->red[0] = 0;
        p->ng = 1;
    }
    size_t ys = 1;
    for (int k = p->ng - 1; k >= 0; k--) {
        p->ystride[k] = p->red[k] ? 0 : ys;
        if (!p->red[k]) ys *= p->size[k];
    }
}

/* ---- core ------------------------------------------------------------------ */

enum { OP_SUM, OP_SQ, OP_ABS, OP_MUL, OP_MAX, OP_MIN, OP_EXPSUM, /* integer only: */ OP_UMAX, OP_UMIN };

static inline double dmax(double a, double b) { return (b > a || b != b) ? b : a; }
static inline double dmin(double a, double b) { return (b < a || b != b) ? b : a; }
#define SGN 0x8000000000000000ull
static inline uint64_t smax64(uint64_t a, uint64_t b) { return (b ^ SGN) > (a ^ SGN) ? b : a; }
static inline uint64_t smin64(uint64_t a, uint64_t b) { return (b ^ SGN) < (a ^ SGN) ? b : a; }
static inline uint64_t umax64(uint64_t a, uint64_t b) { return b > a ? b : a; }
static inline uint64_t umin64(uint64_t a, uint64_t b) { return b < a ? b : a; }
static inline uint64_t uabs64(uint64_t v) { return (v >> 63) ? 0u - v : v; }

#define PRE_D(v) ((double)(v))
#define PRE_DSQ(v) ((double)(v) * (double)(v))
#define PRE_DABS(v) fabs((double)(v))
#define PRE_I(v) (v)
#define PRE_ISQ(v) ((v) * (v))
#define ADD(a, b) ((a) + (b))
#define MUL(a, b) ((a) * (b))

/* One row: xr[0..len) into ar[0] (reduced last group, 4 partial accumulators) or
 * elementwise into ar[0..len) (kept last group). */
#define ROW(ACC, PRE, COMB, INIT)                                                          \
    do {                                                                                   \
        if (last_red) {                                                                    \
            ACC p0 = INIT, p1 = INIT, p2 = INIT, p3 = INIT;                                \
            size_t i = 0;                                                                  \
            for (; i + 4 <= len; i += 4) {                                                 \
                p0 = COMB(p0, PRE(xr[i]));                                                 \
                p1 = COMB(p1, PRE(xr[i + 1]));                                             \
                p2 = COMB(p2, PRE(xr[i + 2]));                                             \
                p3 = COMB(p3, PRE(xr[i + 3]));                                             \
            }                                                                              \
            for (; i < len; i++) p0 = COMB(p0, PRE(xr[i]));                                \
            ar[0] = COMB(ar[0], COMB(COMB(p0, p1), COMB(p2, p3)));                         \
        } else {                                                                           \
            for (size_t i = 0; i < len; i++) ar[i] = COMB(ar[i], PRE(xr[i]));              \
        }                                                                                  \
    } while (0)

/* Rows [r0, r1) of the walk; OP_EXPSUM reads the per-output maxima mx. */
#define DEFINE_CORE(NAME, T, ACC, BODY)                                                    \
    static void NAME(const rplan *p, const T *x, ACC *acc, const double *mx, int op,       \
                     size_t r0, size_t r1) {                                               \
        const size_t len = p->size[p->ng - 1];                                             \
        const int last_red = p->red[p->ng - 1];                                            \
        size_t idx[OX_MAX_RANK], yb = 0, r = r0;                                           \
        for (int k = p->ng - 2; k >= 0; k--) {                                             \
            idx[k] = r % p->size[k];                                                       \
            r /= p->size[k];                                                               \
            yb += idx[k] * p->ystride[k];                                                  \
        }                                                                                  \
        for (size_t row = r0; row < r1; row++) {                                           \
            const T *xr = x + row * len;                                                   \
            ACC *ar = acc + yb;                                                            \
            BODY                                                                           \
            for (int k = p->ng - 2; k >= 0; k--) {                                         \
                yb += p->ystride[k];                                                       \
                if (++idx[k] < p->size[k]) break;                                          \
                yb -= p->ystride[k] * p->size[k];                                          \
                idx[k] = 0;                                                                \
            }                                                                              \
        }                                                                                  \
        (void)mx;                                                                          \
    }

#define DOUBLE_BODY                                                                        \
    switch (op) {                                                                          \
    case OP_SUM: ROW(double, PRE_D, ADD, 0.0); break;                                      \
    case OP_SQ: ROW(double, PRE_DSQ, ADD, 0.0); break;                                     \
    case OP_ABS: ROW(double, PRE_DABS, ADD, 0.0); break;                                   \
    case OP_MUL: ROW(double, PRE_D, MUL, 1.0); break;                                      \
    case OP_MAX: ROW(double, PRE_D, dmax, -INFINITY); break;                               \
    case OP_MIN: ROW(double, PRE_D, dmin, INFINITY); break;                                \
    case OP_EXPSUM:                                                                        \
        if (last_red) {                                                                    \
            double m = mx[yb], s = 0;                                                      \
            for (size_t i = 0; i < len; i++) s += exp((double)xr[i] - m);                  \
            ar[0] += s;                                                                    \
        } else {                                                                           \
            for (size_t i = 0; i < len; i++) ar[i] += exp((double)xr[i] - mx[yb + i]);     \
        }                                                                                  \
        break;                                                                             \
    }

#define INT_BODY                                                                           \
    switch (op) {                                                                          \
    case OP_SUM: ROW(uint64_t, PRE_I, ADD, 0u); break;                                     \
    case OP_SQ: ROW(uint64_t, PRE_ISQ, ADD, 0u); break;                                    \
    case OP_ABS: ROW(uint64_t, uabs64, ADD, 0u); break;                                    \
    case OP_MUL: ROW(uint64_t, PRE_I, MUL, 1u); break;                                     \
    case OP_MAX: ROW(uint64_t, PRE_I, smax64, SGN); break;                                 \
    case OP_MIN: ROW(uint64_t, PRE_I, smin64, SGN - 1); break;                             \
    case OP_UMAX: ROW(uint64_t, PRE_I, umax64, 0u); break;                                 \
    case OP_UMIN: ROW(uint64_t, PRE_I, umin64, ~(uint64_t)0); break;                       \
    }

/* float rows: sums and sums of squares by kernels/reduce_rows.h (vectorised) */
#define F32_BODY                                                                           \
    if (op == OP_SUM && last_red) ar[0] += ox_row_sum_f64(xr, len);                       \
    else if (op == OP_SQ && last_red) ar[0] += ox_row_sumsq_f64(xr, len);                 \
    else if (op == OP_SUM) ox_row_acc_f64(ar, xr, len);                                    \
    else {                                                                                 \
        DOUBLE_BODY                                                                        \
    }

DEFINE_CORE(core_f32, float, double, F32_BODY)
DEFINE_CORE(core_f64, double, double, DOUBLE_BODY)
DEFINE_CORE(core_int, uint64_t, uint64_t, INT_BODY)

enum { DOM_F32, DOM_F64, DOM_INT };

typedef struct {
    const rplan *p;
    int dom, op;
    const void *x;
    void *acc;
    const double *mx;
    size_t rows_per_item; /* rows per index of the first group */
} core_task;

static void core_range(const core_task *t, size_t r0, size_t r1) {
    switch (t->dom) {
    case DOM_F32: core_f32(t->p, t->x, t->acc, t->mx, t->op, r0, r1); break;
    case DOM_F64: core_f64(t->p, t->x, t->acc, t->mx, t->op, r0, r1); break;
    default: core_int(t->p, t->x, t->acc, t->mx, t->op, r0, r1); break;
    }
}

static void core_task_fn(void *arg, size_t begin, size_t end) {
    const core_task *t = arg;
    core_range(t, begin * t->rows_per_item, end * t->rows_per_item);
}

/* Runs the walk; splits it over the pool when the first group is kept, so that
 * chunks write disjoint outputs. */
static void core_run(ox_threadpool *pool, const rplan *p, int dom, int op, const void *x,
                     void *acc, const double *mx) {
    if (p->in_count == 0) return;
    size_t rows = p->in_count / p->size[p->ng - 1];
    core_task t = {p, dom, op, x, acc, mx, 0};
    if (pool && p->ng > 1 && !p->red[0] && p->in_count >= (1u << 16)) {
        t.rows_per_item = rows / p->size[0];
        size_t per_item = p->in_count / p->size[0];
        size_t grain = per_item >= (1u << 14) ? 1 : ((size_t)1 << 14) / per_item;
        ox_parallel_for(pool, p->size[0], grain, core_task_fn, &t);
    } else {
        core_range(&t, 0, rows);
    }
}

/* ---- type handling ----------------------------------------------------------- */

static int type_ok(int kind, int32_t dt) {
    switch (dt) {
    case ONYX_DTYPE_FLOAT: case ONYX_DTYPE_DOUBLE: case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: case ONYX_DTYPE_INT8: case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_INT32: case ONYX_DTYPE_INT64: case ONYX_DTYPE_UINT8:
    case ONYX_DTYPE_UINT16: case ONYX_DTYPE_UINT32: case ONYX_DTYPE_UINT64:
        return 1;
    case ONYX_DTYPE_BOOL: return kind == R_MAX || kind == R_MIN;
    default: return 0;
    }
}

/* Which domain the core runs in, and the workspace: accumulators (out_count doubles or
 * 64-bit ints, twice for LogSumExp) followed by the widened input when needed. */
typedef struct {
    int dom;
    size_t acc_bytes, conv_bytes;
} rlayout;

static int layout(int kind, int32_t dt, size_t in_count, size_t out_count, rlayout *l) {
    int via_double = kind == R_L2 || kind == R_LOGSUM || kind == R_LSE;
    size_t conv_elem = 0;
    if (dt == ONYX_DTYPE_FLOAT) {
        l->dom = DOM_F32;
    } else if (dt == ONYX_DTYPE_DOUBLE) {
        l->dom = DOM_F64;
    } else if (dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16) {
        l->dom = DOM_F32;
        conv_elem = 4;
    } else {
        l->dom = via_double ? DOM_F64 : DOM_INT;
        conv_elem = 8;
    }
    return ox_mul_ok(out_count, kind == R_LSE ? 16 : 8, &l->acc_bytes) &&
           ox_mul_ok(in_count, conv_elem, &l->conv_bytes) &&
           ox_add_ok(l->acc_bytes, l->conv_bytes, &(size_t){0});
}

static void widen(const ox_tensor *x, size_t n, void *dst) {
    const void *d = x->data;
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT16:
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = ox_red_h2f(((const uint16_t *)d)[i]);
        return;
    case ONYX_DTYPE_BFLOAT16:
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = ox_red_bf2f(((const uint16_t *)d)[i]);
        return;
    default: break;
    }
    /* integers: as int64 bit patterns */
#define WIDEN(T)                                                                           \
    for (size_t i = 0; i < n; i++) ((uint64_t *)dst)[i] = (uint64_t)(int64_t)((const T *)d)[i]; \
    return;
    switch (x->dtype) {
    case ONYX_DTYPE_INT8: WIDEN(int8_t)
    case ONYX_DTYPE_INT16: WIDEN(int16_t)
    case ONYX_DTYPE_INT32: WIDEN(int32_t)
    case ONYX_DTYPE_INT64: WIDEN(int64_t)
    case ONYX_DTYPE_UINT8: case ONYX_DTYPE_BOOL: WIDEN(uint8_t)
    case ONYX_DTYPE_UINT16: WIDEN(uint16_t)
    case ONYX_DTYPE_UINT32: WIDEN(uint32_t)
    case ONYX_DTYPE_UINT64:
        memcpy(dst, d, n * 8);
        return;
    default: return;
    }
#undef WIDEN
}

/* Integer bit patterns to doubles, in place. */
static void ints_to_double(void *buf, size_t n, int is_u64) {
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (char *)buf + i * 8, 8);
        double d = is_u64 ? (double)v : (v >> 63) ? -(double)(0u - v) : (double)v;
        memcpy((char *)buf + i * 8, &d, 8);
    }
}

/* The smallest and largest value of an integer type, as int64 bit patterns. */
static void int_range(int32_t dt, uint64_t *lo, uint64_t *hi) {
    int64_t l = 0, h = 0;
    switch (dt) {
    case ONYX_DTYPE_INT8: l = INT8_MIN; h = INT8_MAX; break;
    case ONYX_DTYPE_INT16: l = INT16_MIN; h = INT16_MAX; break;
    case ONYX_DTYPE_INT32: l = INT32_MIN; h = INT32_MAX; break;
    case ONYX_DTYPE_INT64: l = INT64_MIN; h = INT64_MAX; break;
    case ONYX_DTYPE_UINT8: h = UINT8_MAX; break;
    case ONYX_DTYPE_UINT16: h = UINT16_MAX; break;
    case ONYX_DTYPE_UINT32: h = UINT32_MAX; break;
    case ONYX_DTYPE_BOOL: h = 1; break;
    default: break;
    }
    *lo = (uint64_t)l;
    *hi = dt == ONYX_DTYPE_UINT64 ? ~(uint64_t)0 : (uint64_t)h;
}

static void store_int(int32_t dt, void *y, size_t i, uint64_t v) {
    switch (dt) {
    case ONYX_DTYPE_INT8: ((int8_t *)y)[i] = (int8_t)v; break;
    case ONYX_DTYPE_INT16: ((int16_t *)y)[i] = (int16_t)v; break;
    case ONYX_DTYPE_INT32: ((int32_t *)y)[i] = (int32_t)v; break;
    case ONYX_DTYPE_INT64: ((int64_t *)y)[i] = (int64_t)v; break;
    case ONYX_DTYPE_UINT8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    case ONYX_DTYPE_BOOL: ((uint8_t *)y)[i] = v != 0; break;
    case ONYX_DTYPE_UINT16: ((uint16_t *)y)[i] = (uint16_t)v; break;
    case ONYX_DTYPE_UINT32: ((uint32_t *)y)[i] = (uint32_t)v; break;
    case ONYX_DTYPE_UINT64: ((uint64_t *)y)[i] = v; break;
    default: break;
    }
}

/* A double into an integer type: truncated, saturated, NaN -> 0 (no undefined casts). */
static uint64_t double_to_int_bits(int32_t dt, double v) {
    uint64_t lo, hi;
    int_range(dt, &lo, &hi);
    if (v != v) return 0;
    if (dt == ONYX_DTYPE_UINT64) {
        if (v <= 0) return 0;
        if (v >= 18446744073709551616.0) return hi;
        return (uint64_t)v;
    }
    double dl = (double)(int64_t)lo, dh = (double)(int64_t)hi;
    if (v <= dl) return lo;
    if (v >= dh) return hi;
    return (uint64_t)(int64_t)v;
}

static void store_double(int32_t dt, void *y, size_t i, double v) {
    switch (dt) {
    case ONYX_DTYPE_FLOAT: ((float *)y)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)y)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)y)[i] = ox_red_f2h((float)v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)y)[i] = ox_red_f2bf((float)v); break;
    default: store_int(dt, y, i, double_to_int_bits(dt, v)); break;
    }
}

/* ---- infer / run --------------------------------------------------------------- */

static onyx_status reduce_infer(ox_op_ctx *c) {
    const rstate *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'data' is missing");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output 'reduced' is missing");
    const ox_tensor *x = c->in[0];
    if (!type_ok(s->kind, x->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input 'data' has unsupported type %s",
                        ox_dtype_name(x->dtype));
    uint8_t mask[OX_MAX_RANK];
    onyx_status st = get_mask(c, s, x, mask);
    if (st != ONYX_OK) return st;
    int64_t dims[OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (!mask[d]) dims[r++] = x->dims[d];
        else if (s->keepdims) dims[r++] = 1;
    }
    ox_set_shape(c->out[0], x->dtype, r, dims);
    rplan p;
    plan_build(&p, x, mask);
    rlayout l;
    if (!layout(s->kind, x->dtype, p.in_count, p.out_count, &l))
        return ox_error(ONYX_ERR_LIMIT, "input 'data' is too large");
    c->workspace_bytes = l.acc_bytes + l.conv_bytes;
    return ONYX_OK;
}

static onyx_status reduce_run(ox_op_ctx *c) {
    const rstate *s = c->state;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    uint8_t mask[OX_MAX_RANK];
    OX_TRY(get_mask(c, s, x, mask));
    rplan p;
    plan_build(&p, x, mask);
    rlayout l;
    if (!layout(s->kind, x->dtype, p.in_count, p.out_count, &l) ||
        c->workspace_bytes < l.acc_bytes + l.conv_bytes)
        return ox_error(ONYX_ERR_RUNTIME, "workspace is smaller than the shapes need");
    const size_t no = p.out_count;
    char *ws = c->workspace;
    void *acc = ws;
    double *mx = s->kind == R_LSE && no ? (double *)ws + no : NULL;
    const void *src = x->data;
    const int32_t dt = x->dtype;
    if (l.conv_bytes) {
        void *conv = ws + l.acc_bytes;
        widen(x, p.in_count, conv);
        if (l.dom == DOM_F64) ints_to_double(conv, p.in_count, dt == ONYX_DTYPE_UINT64);
        src = conv;
    }

    if (l.dom == DOM_INT) {
        uint64_t *a = acc, lo, hi, init = 0;
        int u64 = dt == ONYX_DTYPE_UINT64;
        int op = OP_SUM;
        int_range(dt, &lo, &hi);
        switch (s->kind) {
        case R_MAX: op = u64 ? OP_UMAX : OP_MAX; init = lo; break;
        case R_MIN: op = u64 ? OP_UMIN : OP_MIN; init = hi; break;
        case R_PROD: op = OP_MUL; init = 1; break;
        case R_L1: op = OP_ABS; break;
        case R_SUMSQ: op = OP_SQ; break;
        default: break;
        }
        for (size_t i = 0; i < no; i++) a[i] = init;
        core_run(c->pool, &p, DOM_INT, op, src, a, NULL);
        for (size_t i = 0; i < no; i++) {
            uint64_t v = a[i];
            if (s->kind == R_MEAN) {
                if (p.n_red == 0) v = 0;
                else if (u64) v /= p.n_red;
                else v = (v >> 63) ? 0u - ((0u - v) / p.n_red) : v / p.n_red;
            }
            store_int(dt, y->data, i, v);
        }
        return ONYX_OK;
    }

    double *a = acc, init = 0;
    int op = OP_SUM;
    switch (s->kind) {
    case R_MAX: op = OP_MAX; init = -INFINITY; break;
    case R_MIN: op = OP_MIN; init = INFINITY; break;
    case R_PROD: op = OP_MUL; init = 1; break;
    case R_L1: op = OP_ABS; break;
    case R_L2: case R_SUMSQ: op = OP_SQ; break;
    default: break;
    }
    if (s->kind == R_LSE) {
        for (size_t i = 0; i < no; i++) mx[i] = -INFINITY;
        core_run(c->pool, &p, l.dom, OP_MAX, src, mx, NULL);
        op = OP_EXPSUM;
    }
    for (size_t i = 0; i < no; i++) a[i] = init;
    core_run(c->pool, &p, l.dom, op, src, a, mx);
    for (size_t i = 0; i < no; i++) {
        double v = a[i];
        switch (s->kind) {
        case R_MEAN: v = v / (double)p.n_red; break;
        case R_L2: v = sqrt(v); break;
        case R_LOGSUM: v = log(v); break;
        case R_LSE: v = isfinite(mx[i]) ? mx[i] + log(v) : mx[i]; break;
        default: break;
        }
        store_double(dt, y->data, i, v);
    }
    return ONYX_OK;
}

/* ---- the family's table ------------------------------------------------------------ */

#define NUMERIC "float32 float64 float16 bfloat16 int8 int16 int32 int64 uint8 uint16 uint32 uint64"
#define RED(op, ty)                                                                     \
    {.domain = "", .name = op, .since_version = 1, .prepare = reduce_prepare,              \
     .destroy = ox_reduce_free_state, .infer = reduce_infer, .run = reduce_run, .types = ty}
#define FAMILY(op, since, fn, ty)                                                       \
    {.domain = "", .name = op, .since_version = since, .prepare = ox_##fn##_prepare,       \
     .destroy = ox_reduce_free_state, .infer = ox_##fn##_infer, .run = ox_##fn##_run,      \
     .types = ty}

const ox_op_def ox_ops_reduce[] = {
    RED("ReduceSum", NUMERIC),
    RED("ReduceMean", NUMERIC),
    RED("ReduceMax", NUMERIC " bool"),
    RED("ReduceMin", NUMERIC " bool"),
    RED("ReduceProd", NUMERIC),
    RED("ReduceL1", NUMERIC),
    RED("ReduceL2", NUMERIC),
    RED("ReduceLogSum", NUMERIC),
    RED("ReduceLogSumExp", NUMERIC),
    RED("ReduceSumSquare", NUMERIC),
    FAMILY("Softmax", 1, softmax, "float32 float64 float16 bfloat16"),
    FAMILY("LogSoftmax", 1, softmax, "float32 float64 float16 bfloat16"),
    FAMILY("Hardmax", 1, softmax, "float32 float64 float16 bfloat16"),
    FAMILY("ArgMax", 1, argmax, NUMERIC),
    FAMILY("ArgMin", 1, argmax, NUMERIC),
    FAMILY("TopK", 1, topk, NUMERIC),
    {0},
};
