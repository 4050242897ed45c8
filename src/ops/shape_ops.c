/* Ops that change only a tensor's shape (the elements keep their order):
 * Identity, Reshape, Flatten, Squeeze, Unsqueeze; and Shape/Size, which read
 * only the input's shape. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

/* Output 0 gets input 0's elements unchanged. */
static onyx_status copy_through(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    return ox_tx_copy(c->out[0]->data, x->data, ox_tensor_count(x), x->dtype);
}

/* ---- Identity ------------------------------------------------------------------ */

static int is_pseudo(int32_t dtype) { return dtype == OX_DTYPE_SEQUENCE || dtype == OX_DTYPE_NONE; }

onyx_status ox_tx_identity_infer(ox_op_ctx *c) {
    /* Identity also passes sequences and optionals through (opset 14+/16+) */
    if (ox_has_input(c, 0) && is_pseudo(c->in[0]->dtype)) {
        if (ox_has_output(c, 0)) ox_set_shape(c->out[0], c->in[0]->dtype, 0, NULL);
        return ONYX_OK;
    }
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    if (ox_has_output(c, 0))
        ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_identity_run(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    if (is_pseudo(c->in[0]->dtype)) {
        ox_tensor_free_data(c->out[0]);
        if (ox_value_copy(c->in[0], c->out[0]) != ONYX_OK)
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory copying a sequence");
        return ONYX_OK;
    }
    return copy_through(c);
}

/* ---- Shape, Size ------------------------------------------------------------------ */

/* Shape-15 start/end: clamped into [0, rank] after adding rank to negatives. */
static void shape_range(ox_op_ctx *c, int32_t rank, int32_t *lo, int32_t *hi) {
    int64_t s = 0, e = rank;
    if (c->opset >= 15) {
        s = ox_attr_int(c, "start", 0);
        e = ox_attr_int(c, "end", rank);
    }
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
    *lo = (int32_t)s;
    *hi = (int32_t)(e > s ? e : s);
}

onyx_status ox_tx_shape_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    int32_t lo, hi;
    shape_range(c, c->in[0]->rank, &lo, &hi);
    OX_TRY(ox_op_status(c));
    int64_t n = hi - lo;
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 1, &n);
    return ONYX_OK;
}

onyx_status ox_tx_shape_run(ox_op_ctx *c) {
    int32_t lo, hi;
    shape_range(c, c->in[0]->rank, &lo, &hi);
    int64_t *o = c->out[0]->data;
    for (int32_t i = lo; i < hi; i++) o[i - lo] = c->in[0]->dims[i];
    return ONYX_OK;
}

onyx_status ox_tx_size_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    if (!ox_shape_count_checked(c->in[0]->rank, c->in[0]->dims, c->in[0]->dtype, NULL, NULL))
        return ox_error(ONYX_ERR_LIMIT, "input 'data' has too many elements");
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 0, NULL);
    return ONYX_OK;
}

onyx_status ox_tx_size_run(ox_op_ctx *c) {
    *(int64_t *)c->out[0]->data = (int64_t)ox_tensor_count(c->in[0]);
    return ONYX_OK;
}

/* ---- Reshape ---------------------------------------------------------------------- */

/* The output dims from the requested shape: 0 copies the input dim (unless
 * allowzero), one -1 takes what is left. */
static onyx_status reshape_dims(ox_op_ctx *c, int64_t *dims, int32_t *rank) {
    const ox_tensor *x = c->in[0];
    int64_t req[OX_MAX_RANK];
    size_t n;
    int64_t allowzero = c->opset >= 14 ? ox_attr_int(c, "allowzero", 0) : 0;
    if (c->opset < 5) {
        const int64_t *s = ox_attr_ints(c, "shape", &n);
        OX_TRY(ox_op_status(c));
        if (!s) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'shape' is required");
        if (n > OX_MAX_RANK)
            return ox_error(ONYX_ERR_LIMIT, "attribute 'shape' has %zu dims, at most %d allowed", n,
                            OX_MAX_RANK);
        memcpy(req, s, n * sizeof *req);
    } else {
        OX_TRY(ox_op_status(c));
        OX_TRY(ox_tx_need_input(c, 1, "shape"));
        if (!ox_tx_known(c->in[1])) return OX_NEED_VALUE;
        OX_TRY(ox_tx_read_ints(c->in[1], "shape", 0, req, OX_MAX_RANK, &n));
    }
    int32_t infer_at = -1;
    int has_zero = 0;
    size_t known = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t d = req[i];
        if (d == -1) {
            if (infer_at >= 0)
                return ox_error(ONYX_ERR_INVALID_MODEL, "shape has more than one -1");
            infer_at = (int32_t)i;
            continue;
        }
        if (d < -1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "shape[%zu] = %lld is invalid", i,
                            (long long)d);
        if (d == 0 && !allowzero) {
            if ((int32_t)i >= x->rank)
                return ox_error(ONYX_ERR_INVALID_MODEL,
                                "shape[%zu] = 0 copies an input dim, but the input has rank %d", i,
                                x->rank);
            d = x->dims[i];
        }
        if (d == 0) has_zero = 1;
        dims[i] = d;
        if (!ox_mul_ok(known, (size_t)d, &known))
            return ox_error(ONYX_ERR_LIMIT, "requested shape is too large");
    }
    size_t total = ox_tensor_count(x);
    if (infer_at >= 0) {
        if (allowzero && has_zero)
            return ox_error(ONYX_ERR_INVALID_MODEL, "shape has both 0 and -1 with allowzero=1");
        if (known == 0 || total % known != 0)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "cannot reshape %zu elements: the other dims multiply to %zu", total,
                            known);
        dims[infer_at] = (int64_t)(total / known);
    } else if (known != total) {
        char a[300], b[300];
        return ox_error(ONYX_ERR_INVALID_MODEL, "cannot reshape %s into %s (%zu vs %zu elements)",
                        ox_shape_describe(x->rank, x->dims, a, sizeof a),
                        ox_shape_describe((int32_t)n, dims, b, sizeof b), total, known);
    }
    *rank = (int32_t)n;
    return ONYX_OK;
}

onyx_status ox_tx_reshape_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    int64_t dims[OX_MAX_RANK];
    int32_t rank = 0;
    onyx_status s = reshape_dims(c, dims, &rank);
    if (s != ONYX_OK) return s;
    ox_set_shape(c->out[0], c->in[0]->dtype, rank, dims);
    return ONYX_OK;
}

onyx_status ox_tx_reshape_run(ox_op_ctx *c) { return copy_through(c); }

/* ---- Flatten ------------------------------------------------------------------------ */

onyx_status ox_tx_flatten_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    int64_t axis = ox_attr_int(c, "axis", 1);
    OX_TRY(ox_op_status(c));
    if (axis < 0 && c->opset >= 11) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "attribute 'axis' = %lld is out of range for rank %d",
                        (long long)ox_attr_int(c, "axis", 1), x->rank);
    int64_t dims[2] = {(int64_t)ox_tx_prod(x->dims, 0, (int32_t)axis),
                       (int64_t)ox_tx_prod(x->dims, (int32_t)axis, x->rank)};
    ox_set_shape(c->out[0], x->dtype, 2, dims);
    return ONYX_OK;
}

onyx_status ox_tx_flatten_run(ox_op_ctx *c) { return copy_through(c); }

/* ---- Squeeze, Unsqueeze -------------------------------------------------------------- */

/* The axes list: an attribute before opset 13, an input from 13. *present is 0 when
 * neither is given. */
static onyx_status read_axes(ox_op_ctx *c, int64_t *axes, size_t *n, int *present) {
    *present = 0;
    *n = 0;
    if (c->opset < 13) {
        const int64_t *a = ox_attr_ints(c, "axes", n);
        OX_TRY(ox_op_status(c));
        if (!a) return ONYX_OK;
        if (*n > OX_MAX_RANK)
            return ox_error(ONYX_ERR_LIMIT, "attribute 'axes' has %zu values, at most %d allowed",
                            *n, OX_MAX_RANK);
        memcpy(axes, a, *n * sizeof *axes);
        *present = 1;
        return ONYX_OK;
    }
    if (!ox_has_input(c, 1)) return ONYX_OK;
    if (!ox_tx_known(c->in[1])) return OX_NEED_VALUE;
    OX_TRY(ox_tx_read_ints(c->in[1], "axes", 0, axes, OX_MAX_RANK, n));
    *present = 1;
    return ONYX_OK;
}

onyx_status ox_tx_squeeze_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int64_t axes[OX_MAX_RANK];
    size_t n;
    int present;
    onyx_status s = read_axes(c, axes, &n, &present);
    if (s != ONYX_OK) return s;
    int drop[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        OX_TRY(ox_norm_axis(axes[i], x->rank, &a));
        if (x->dims[a] != 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "cannot squeeze axis %lld: its size is %lld",
                            (long long)axes[i], (long long)x->dims[a]);
        drop[a] = 1;
    }
    /* An empty axes list squeezes every unit dim, as an absent one does. */
    if (!present || n == 0)
        for (int32_t a = 0; a < x->rank; a++) drop[a] = x->dims[a] == 1;
    int64_t dims[OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t a = 0; a < x->rank; a++)
        if (!drop[a]) dims[r++] = x->dims[a];
    ox_set_shape(c->out[0], x->dtype, r, dims);
    return ONYX_OK;
}

onyx_status ox_tx_squeeze_run(ox_op_ctx *c) { return copy_through(c); }

onyx_status ox_tx_unsqueeze_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int64_t axes[OX_MAX_RANK];
    size_t n;
    int present;
    onyx_status s = read_axes(c, axes, &n, &present);
    if (s != ONYX_OK) return s;
    if (!present) return ox_error(ONYX_ERR_INVALID_MODEL, "'axes' is required");
    if ((size_t)x->rank + n > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "output rank %zu exceeds %d", (size_t)x->rank + n,
                        OX_MAX_RANK);
    int32_t r = x->rank + (int32_t)n;
    int ins[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        OX_TRY(ox_norm_axis(axes[i], r, &a));
        if (ins[a])
            return ox_error(ONYX_ERR_INVALID_MODEL, "'axes' repeats axis %lld", (long long)axes[i]);
        ins[a] = 1;
    }
    int64_t dims[OX_MAX_RANK];
    for (int32_t a = 0, k = 0; a < r; a++) dims[a] = ins[a] ? 1 : x->dims[k++];
    ox_set_shape(c->out[0], x->dtype, r, dims);
    return ONYX_OK;
}

onyx_status ox_tx_unsqueeze_run(ox_op_ctx *c) { return copy_through(c); }
