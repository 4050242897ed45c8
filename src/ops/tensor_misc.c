/* Matrix-shaped helpers and running sums: EyeLike, Trilu, CumSum, CumProd,
 * ReverseSequence. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

/* Whether "one" can be written in dtype (numbers and bool). */
static int has_one(int32_t t) {
    return ox_dtype_is_int(t) || t == ONYX_DTYPE_BOOL || t == ONYX_DTYPE_FLOAT ||
           t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16;
}

static int is_int_scalar(const ox_tensor *t) {
    return (t->dtype == ONYX_DTYPE_INT32 || t->dtype == ONYX_DTYPE_INT64) && t->rank <= 1 &&
           ox_tensor_count(t) == 1;
}

/* ---- EyeLike ------------------------------------------------------------------------------ */

static onyx_status eye_like_check(ox_op_ctx *c, int32_t *dtype, int64_t *k) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    *dtype = (int32_t)ox_attr_int(c, "dtype", x->dtype);
    *k = ox_attr_int(c, "k", 0);
    OX_TRY(ox_op_status(c));
    if (x->rank != 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input must have rank 2, got %d", x->rank);
    if (!has_one(*dtype) || *dtype == ONYX_DTYPE_INT4 || *dtype == ONYX_DTYPE_UINT4 ||
        *dtype == ONYX_DTYPE_INT2 || *dtype == ONYX_DTYPE_UINT2)
        return ox_error(ONYX_ERR_UNSUPPORTED, "EyeLike output type %s is not supported",
                        ox_dtype_name(*dtype));
    return ONYX_OK;
}

onyx_status ox_tx_eye_like_infer(ox_op_ctx *c) {
    int32_t dtype;
    int64_t k;
    OX_TRY(eye_like_check(c, &dtype, &k));
    ox_set_shape(c->out[0], dtype, 2, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_eye_like_run(ox_op_ctx *c) {
    int32_t dtype;
    int64_t k;
    OX_TRY(eye_like_check(c, &dtype, &k));
    ox_tensor *y = c->out[0];
    int64_t rows = y->dims[0], cols = y->dims[1];
    memset(y->data, 0, ox_tensor_nbytes(y));
    if (k >= cols || k <= -rows) return ONYX_OK;
    for (int64_t i = k < 0 ? -k : 0; i < rows && i + k < cols; i++) {
        size_t at = (size_t)(i * cols + i + k);
        if (!ox_tx_store_float(y->data, at, dtype, 1.0)) ox_tx_store_int(y->data, at, dtype, 1);
    }
    return ONYX_OK;
}

/* ---- Trilu --------------------------------------------------------------------------------- */

onyx_status ox_tx_trilu_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    if (x->rank < 2) return ox_error(ONYX_ERR_INVALID_MODEL, "input must have rank >= 2");
    if (ox_has_input(c, 1) &&
        (c->in[1]->dtype != ONYX_DTYPE_INT64 || ox_tensor_count(c->in[1]) != 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'k' must be one int64");
    ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status ox_tx_trilu_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    int64_t upper = ox_attr_int(c, "upper", 1);
    OX_TRY(ox_op_status(c));
    int64_t k = ox_has_input(c, 1) ? ox_tensor_get_int(c->in[1], 0) : 0;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    size_t n = ox_tensor_count(x), es = ox_dtype_size(x->dtype);
    char *y = c->out[0]->data;
    static const ox_string empty = {"", 0};
    for (size_t e = 0; e < n; e++) {
        int64_t j = (int64_t)(e % (size_t)cols), i = (int64_t)((e / (size_t)cols) % (size_t)rows);
        int keep = upper ? j - i >= k : j - i <= k;
        if (keep)
            OX_TRY(ox_tx_copy_one(y, e, x->data, e, x->dtype));
        else if (x->dtype == ONYX_DTYPE_STRING)
            OX_TRY(ox_tx_copy(y + e * es, &empty, 1, x->dtype));
        else
            memset(y + e * es, 0, es);
    }
    return ONYX_OK;
}

/* ---- CumSum --------------------------------------------------------------------------------- */

static onyx_status cumsum_axis(ox_op_ctx *c, int32_t *axis) {
    OX_TRY(ox_tx_need_input(c, 0, "x"));
    OX_TRY(ox_tx_need_input(c, 1, "axis"));
    const ox_tensor *x = c->in[0], *a = c->in[1];
    int32_t t = x->dtype;
    if (!(ox_dtype_is_int(t) || t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE ||
          t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16) ||
        t == ONYX_DTYPE_INT4 || t == ONYX_DTYPE_UINT4 || t == ONYX_DTYPE_INT2 ||
        t == ONYX_DTYPE_UINT2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x' has unsupported type %s",
                        ox_dtype_name(t));
    if (!is_int_scalar(a))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'axis' must be one int32 or int64");
    if (!a->data) return OX_NEED_VALUE;
    return ox_norm_axis(ox_tensor_get_int(a, 0), x->rank, axis);
}

onyx_status ox_tx_cumsum_infer(ox_op_ctx *c) {
    int32_t axis;
    onyx_status s = cumsum_axis(c, &axis);
    if (s != ONYX_OK && s != OX_NEED_VALUE) return s;
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

/* Running sums (prod = 0) or products (prod = 1) along the axis. */
static onyx_status cumulate(ox_op_ctx *c, int prod) {
    int32_t axis;
    OX_TRY(cumsum_axis(c, &axis));
    int64_t exclusive = ox_attr_int(c, "exclusive", 0), reverse = ox_attr_int(c, "reverse", 0);
    OX_TRY(ox_op_status(c));
    const ox_tensor *x = c->in[0];
    int32_t t = x->dtype;
    size_t outer = ox_tx_prod(x->dims, 0, axis), len = (size_t)x->dims[axis];
    size_t inner = ox_tx_prod(x->dims, axis + 1, x->rank);
    void *y = c->out[0]->data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            uint64_t ia = (uint64_t)prod; /* integers wrap like the type does */
            float fa = (float)prod;       /* float32 accumulates in float32, like the reference */
            double da = (double)prod;
            for (size_t s = 0; s < len; s++) {
                size_t at = (o * len + (reverse ? len - 1 - s : s)) * inner + i;
                if (ox_dtype_is_int(t)) {
                    uint64_t v = (uint64_t)ox_tensor_get_int(x, at), before = ia;
                    ia = prod ? ia * v : ia + v;
                    ox_tx_store_int(y, at, t, (int64_t)(exclusive ? before : ia));
                } else if (t == ONYX_DTYPE_FLOAT) {
                    float v = ((const float *)x->data)[at], before = fa;
                    fa = prod ? fa * v : fa + v;
                    ((float *)y)[at] = exclusive ? before : fa;
                } else {
                    double v = ox_tensor_get_double(x, at), before = da;
                    da = prod ? da * v : da + v;
                    ox_tx_store_float(y, at, t, exclusive ? before : da);
                }
            }
        }
    }
    return ONYX_OK;
}

onyx_status ox_tx_cumsum_run(ox_op_ctx *c) { return cumulate(c, 0); }
onyx_status ox_tx_cumprod_run(ox_op_ctx *c) { return cumulate(c, 1); }

/* ---- ReverseSequence ----------------------------------------------------------------------------
 */

static onyx_status reverse_sequence_check(ox_op_ctx *c, int32_t *batch_axis, int32_t *time_axis) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    OX_TRY(ox_tx_need_input(c, 1, "sequence_lens"));
    const ox_tensor *x = c->in[0], *sl = c->in[1];
    int64_t b = ox_attr_int(c, "batch_axis", 1), t = ox_attr_int(c, "time_axis", 0);
    OX_TRY(ox_op_status(c));
    if (x->rank < 2) return ox_error(ONYX_ERR_INVALID_MODEL, "input must have rank >= 2");
    if (!((b == 0 && t == 1) || (b == 1 && t == 0)))
        return ox_error(ONYX_ERR_INVALID_MODEL, "batch_axis and time_axis must be 0 and 1 in some "
                                                "order");
    if (sl->dtype != ONYX_DTYPE_INT64 || sl->rank != 1 || sl->dims[0] != x->dims[b])
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'sequence_lens' must be int64 [batch]");
    *batch_axis = (int32_t)b;
    *time_axis = (int32_t)t;
    return ONYX_OK;
}

onyx_status ox_tx_reverse_sequence_infer(ox_op_ctx *c) {
    int32_t b, t;
    OX_TRY(reverse_sequence_check(c, &b, &t));
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_reverse_sequence_run(ox_op_ctx *c) {
    int32_t ba, ta;
    OX_TRY(reverse_sequence_check(c, &ba, &ta));
    const ox_tensor *x = c->in[0], *sl = c->in[1];
    int64_t B = x->dims[ba], T = x->dims[ta], st[OX_MAX_RANK];
    for (int64_t b = 0; b < B; b++) {
        int64_t len = ((const int64_t *)sl->data)[b];
        if (len < 0 || len > T)
            return ox_error(ONYX_ERR_RUNTIME, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                            (long long)b, (long long)len, (long long)T);
    }
    ox_tx_strides(x->rank, x->dims, st);
    size_t inner = ox_tx_prod(x->dims, 2, x->rank), es = ox_dtype_size(x->dtype);
    for (int64_t b = 0; b < B; b++) {
        int64_t len = ((const int64_t *)sl->data)[b];
        for (int64_t t = 0; t < T; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            size_t d = (size_t)(b * st[ba] + t * st[ta]), s = (size_t)(b * st[ba] + from * st[ta]);
            OX_TRY(ox_tx_copy((char *)c->out[0]->data + d * es, (const char *)x->data + s * es,
                              inner, x->dtype));
        }
    }
    return ONYX_OK;
}
