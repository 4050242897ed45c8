/* Helpers shared by the misc op tests (quantization, losses, Einsum, signal, Det,
 * BitCast, random): typed element access including the 4-bit and float8 types,
 * random shapes, and running one node. */
#ifndef OX_TEST_MISC_TESTUTIL_H
#define OX_TEST_MISC_TESTUTIL_H

#include <math.h>
#include <string.h>

#include "elem_testutil.h"
#include "nodes.h"
#include "test.h"
#include "util/alloc.h"
#include "util/fp16.h"

/* Store v (already representable, or rounded by the type's conversion) at element i. */
static inline void mt_set(ox_tensor *t, size_t i, double v) {
    uint8_t *b = t->data;
    switch (t->dtype) {
    case ONYX_DTYPE_INT4: ((int8_t *)t->data)[i] = (int8_t)(int64_t)v; break;
    case ONYX_DTYPE_UINT4: b[i] = (uint8_t)(int64_t)v; break;
    case ONYX_DTYPE_FLOAT4E2M1: b[i] = ox_f64_to_f4(v); break;
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: b[i] = ox_f64_to_f8(v, t->dtype, 1); break;
    default: et_set(t, i, v);
    }
}

static inline double mt_get(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

static inline ox_tensor mt_make(int32_t dt, int32_t rank, const int64_t *dims) {
    return tt_make(dt, rank, dims, NULL);
}

/* Random dims in [lo, hi]. */
static inline void mt_dims(int32_t rank, int64_t *dims, int lo, int hi) {
    for (int32_t d = 0; d < rank; d++) dims[d] = lo + et_rnd(hi - lo + 1);
}

static inline double mt_uniform(double lo, double hi) { return lo + (hi - lo) * tt_randf(); }

/* Run node n at opset on inputs (NULL = omitted), n_out outputs into out. */
static inline onyx_status mt_run(ox_node *n, int64_t opset, ox_tensor **in, size_t n_in, ox_tensor *out,
                                 size_t n_out) {
    return ox_op_run_single(n, opset, in, n_in, out, n_out);
}

/* Relative closeness with a floor of 1 on the magnitude; NaN matches NaN. */
static inline int mt_close(double got, double want, double tol) { return et_close(got, want, tol); }

#endif
