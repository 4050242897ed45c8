/* Helpers shared by the elementwise op tests: typed tensors from doubles, random
 * broadcast shapes, and the naive broadcast index. */
#ifndef OX_TEST_ELEM_TESTUTIL_H
#define OX_TEST_ELEM_TESTUTIL_H

#include <math.h>
#include <string.h>

#include "nodes.h"
#include "test.h"
#include "util/fp16.h"

static inline int et_rnd(int n) { return (int)(tt_randf() * (float)n) % n; }

/* Store v in element i (integers: v is an exact integer; narrower types keep
 * the low bits). */
static inline void et_set(ox_tensor *t, size_t i, double v) {
    void *d = t->data;
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)d)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)d)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)d)[i] = ox_f64_to_f16(v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = ox_f64_to_bf16(v); break;
    case ONYX_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)(int64_t)v; break;
    case ONYX_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)(int64_t)v; break;
    case ONYX_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)(int64_t)v; break;
    case ONYX_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case ONYX_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)(int64_t)v; break;
    case ONYX_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)(int64_t)v; break;
    case ONYX_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)(int64_t)v; break;
    case ONYX_DTYPE_UINT64: ((uint64_t *)d)[i] = (uint64_t)(int64_t)v; break;
    case ONYX_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    default: break;
    }
}

static inline double et_get(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

/* v as dtype dt stores it (integer wrap-around, float rounding). */
static inline double et_as(int32_t dt, double v) {
    unsigned char buf[16] = {0};
    ox_tensor t = {.dtype = dt, .rank = 0, .data = buf};
    et_set(&t, 0, v);
    return et_get(&t, 0);
}

static inline ox_tensor et_make(int32_t dt, int32_t rank, const int64_t *dims, const double *v) {
    ox_tensor t = tt_make(dt, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; v && i < n; i++) et_set(&t, i, v[i]);
    return t;
}

/* Random values in [lo, hi); integral: whole numbers only. */
static inline ox_tensor et_rand(int32_t dt, int32_t rank, const int64_t *dims, double lo, double hi,
                                int integral) {
    ox_tensor t = tt_make(dt, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) {
        double v = lo + (hi - lo) * tt_randf();
        et_set(&t, i, integral ? floor(v) : v);
    }
    return t;
}

static inline int et_is_int(int32_t dt) { return ox_dtype_is_int(dt) || dt == ONYX_DTYPE_BOOL; }

/* A random output shape and n shapes broadcasting to it (some dims 1, some
 * leading dims dropped), now and then with a zero-size dim. */
static inline void et_shapes(size_t n, int32_t *ranks, int64_t (*dims)[OX_MAX_RANK],
                             int32_t *out_rank, int64_t *out_dims) {
    int32_t r = et_rnd(5);
    for (int32_t i = 0; i < r; i++) out_dims[i] = 1 + et_rnd(4);
    if (r && et_rnd(10) == 0) out_dims[et_rnd(r)] = 0;
    *out_rank = r;
    for (size_t k = 0; k < n; k++) {
        int32_t ir = r ? r - et_rnd(r + 1) : 0;
        ranks[k] = ir;
        for (int32_t i = 0; i < ir; i++) dims[k][i] = et_rnd(3) == 0 ? 1 : out_dims[r - ir + i];
    }
    if (n && et_rnd(2)) { /* often one input has the full shape */
        ranks[0] = r;
        memcpy(dims[0], out_dims, sizeof(int64_t) * (size_t)r);
    }
    /* the inputs may all be 1 (or absent) where out_dims is not: recompute */
    int32_t rr = 0;
    for (size_t k = 0; k < n; k++) rr = ranks[k] > rr ? ranks[k] : rr;
    for (int32_t i = 0; i < rr; i++) {
        int64_t v = 1;
        for (size_t k = 0; k < n; k++) {
            int32_t j = i - (rr - ranks[k]);
            if (j >= 0 && dims[k][j] != 1) v = dims[k][j];
        }
        out_dims[i] = v;
    }
    *out_rank = rr;
}

/* Offset in t of the element at output multi-index idx. */
static inline size_t et_offset(const ox_tensor *t, int32_t out_rank, const int64_t *idx) {
    size_t off = 0;
    for (int32_t i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i], j = idx[out_rank - t->rank + i];
        off = off * (size_t)d + (size_t)(d == 1 ? 0 : j);
    }
    return off;
}

static inline void et_next(int32_t rank, const int64_t *dims, int64_t *idx) {
    for (int32_t i = rank - 1; i >= 0; i--) {
        if (++idx[i] < dims[i]) break;
        idx[i] = 0;
    }
}

/* |got - want| within tol relative to max(1, |want|); NaN matches NaN. */
static inline int et_close(double got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

/* Tolerance for results of float type dt computed from exact inputs. */
static inline double et_tol(int32_t dt) {
    switch (dt) {
    case ONYX_DTYPE_FLOAT: return 2e-6;
    case ONYX_DTYPE_DOUBLE: return 1e-12;
    case ONYX_DTYPE_FLOAT16: return 1.5e-3;
    case ONYX_DTYPE_BFLOAT16: return 1e-2;
    default: return 0;
    }
}

#endif
