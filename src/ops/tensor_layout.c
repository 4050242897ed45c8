/* Ops that rearrange elements: Transpose, Concat, Split, Slice, Gather. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

/* ---- Transpose -------------------------------------------------------------------- */

static onyx_status transpose_perm(ox_op_ctx *c, int32_t rank, int32_t *perm) {
    size_t n;
    const int64_t *p = ox_attr_ints(c, "perm", &n);
    OX_TRY(ox_op_status(c));
    if (!p) {
        for (int32_t i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return ONYX_OK;
    }
    if (n != (size_t)rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'perm' has %zu values for rank %d", n,
                        rank);
    int seen[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= rank || seen[p[i]])
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "attribute 'perm' is not a permutation of 0..%d", rank - 1);
        seen[p[i]] = 1;
        perm[i] = (int32_t)p[i];
    }
    return ONYX_OK;
}

onyx_status ox_tx_transpose_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int32_t perm[OX_MAX_RANK];
    OX_TRY(transpose_perm(c, x->rank, perm));
    int64_t dims[OX_MAX_RANK];
    for (int32_t i = 0; i < x->rank; i++) dims[i] = x->dims[perm[i]];
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ONYX_OK;
}

onyx_status ox_tx_transpose_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    int32_t perm[OX_MAX_RANK];
    OX_TRY(transpose_perm(c, x->rank, perm));
    int64_t st[OX_MAX_RANK];
    ox_tx_strides(x->rank, x->dims, st);
    ox_tx_view v = {.rank = x->rank, .offset = 0};
    for (int32_t i = 0; i < x->rank; i++) {
        v.dims[i] = x->dims[perm[i]];
        v.strides[i] = st[perm[i]];
    }
    return ox_tx_strided_copy(c->out[0]->data, x->data, &v, x->dtype, c->pool);
}

/* ---- Concat ------------------------------------------------------------------------ */

static onyx_status concat_axis(ox_op_ctx *c, int32_t *axis) {
    if (c->n_in == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "Concat needs at least one input");
    for (size_t i = 0; i < c->n_in; i++) OX_TRY(ox_tx_need_input(c, i, "inputs"));
    const ox_attr *a = ox_attr_get(c, "axis");
    if (!a && c->opset >= 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' is required");
    int64_t ax = ox_attr_int(c, "axis", 1);
    OX_TRY(ox_op_status(c));
    return ox_norm_axis(ax, c->in[0]->rank, axis);
}

onyx_status ox_tx_concat_infer(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(concat_axis(c, &axis));
    const ox_tensor *x0 = c->in[0];
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t i = 0; i < c->n_in; i++) {
        const ox_tensor *x = c->in[i];
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "input %zu is %s of rank %d, input 0 is %s of "
                            "rank %d",
                            i, ox_dtype_name(x->dtype), x->rank, ox_dtype_name(x0->dtype),
                            x0->rank);
        for (int32_t d = 0; d < x->rank; d++) {
            if (d != axis && x->dims[d] != x0->dims[d]) {
                char a[300], b[300];
                return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu has shape %s, input 0 has %s", i,
                                ox_shape_describe(x->rank, x->dims, a, sizeof a),
                                ox_shape_describe(x0->rank, x0->dims, b, sizeof b));
            }
        }
        if (x->dims[axis] > INT64_MAX - dims[axis])
            return ox_error(ONYX_ERR_LIMIT, "concatenated size is too large");
        dims[axis] += x->dims[axis];
    }
    ox_set_shape(c->out[0], x0->dtype, x0->rank, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_concat_run(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(concat_axis(c, &axis));
    const ox_tensor *y = c->out[0];
    size_t es = ox_dtype_size(y->dtype);
    size_t outer = ox_tx_prod(y->dims, 0, axis), inner = ox_tx_prod(y->dims, axis + 1, y->rank);
    char *dst = y->data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < c->n_in; i++) {
            const ox_tensor *x = c->in[i];
            size_t block = (size_t)x->dims[axis] * inner;
            const char *src = (const char *)x->data + o * block * es;
            /* the planner may have had the input written in place (plan.c) */
            if (block && src != dst) OX_TRY(ox_tx_copy(dst, src, block, y->dtype));
            dst += block * es;
        }
    }
    return ONYX_OK;
}

/* ---- Split ------------------------------------------------------------------------- */

/* Sizes of the n_out parts along the axis. */
static onyx_status split_sizes(ox_op_ctx *c, int32_t *axis_out, int64_t *sizes) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    int32_t axis;
    int64_t ax = ox_attr_int(c, "axis", 0);
    OX_TRY(ox_op_status(c));
    OX_TRY(ox_norm_axis(ax, x->rank, &axis));
    *axis_out = axis;
    size_t n_out = c->n_out, n = 0;
    int64_t dim = x->dims[axis];
    int explicit_sizes = 0;
    if (n_out == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "Split needs at least one output");
    const int64_t *attr = c->opset < 13 ? ox_attr_ints(c, "split", &n) : NULL;
    OX_TRY(ox_op_status(c));
    if (attr) {
        if (n != n_out) goto count_mismatch;
        memcpy(sizes, attr, n * sizeof *sizes);
        explicit_sizes = 1;
    } else if (ox_has_input(c, 1) && (c->opset >= 13 || c->opset < 2)) {
        const ox_tensor *s = c->in[1];
        if (c->opset >= 18 && ox_attr_get(c, "num_outputs"))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'split' and attribute 'num_outputs' "
                                                    "cannot both be given");
        if (!ox_tx_known(s)) return OX_NEED_VALUE;
        if (ox_tensor_count(s) != n_out) {
            n = ox_tensor_count(s);
            goto count_mismatch;
        }
        if (c->opset >= 13) {
            OX_TRY(ox_tx_read_ints(s, "split", 0, sizes, n_out, &n));
        } else {
            if (!ox_tx_scalar_type(s->dtype) || s->dtype == ONYX_DTYPE_BOOL)
                return ox_error(ONYX_ERR_INVALID_MODEL, "input 'split' must be numeric");
            for (size_t i = 0; i < n_out; i++) {
                int ok;
                sizes[i] = ox_tx_get_index(s, i, &ok);
                if (!ok) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'split' is out of range");
            }
        }
        explicit_sizes = 1;
    } else if (c->opset >= 18 && ox_attr_get(c, "num_outputs")) {
        int64_t k = ox_attr_int(c, "num_outputs", 0);
        OX_TRY(ox_op_status(c));
        if (k != (int64_t)n_out)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "attribute 'num_outputs' = %lld, but the node "
                            "has %zu outputs",
                            (long long)k, n_out);
    }
    if (explicit_sizes) {
        int64_t sum = 0;
        for (size_t i = 0; i < n_out; i++) {
            if (sizes[i] < 0 || sizes[i] > dim - sum)
                return ox_error(ONYX_ERR_INVALID_MODEL,
                                "split sizes do not add up to the axis "
                                "size %lld",
                                (long long)dim);
            sum += sizes[i];
        }
        if (sum != dim)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "split sizes add up to %lld, the axis size "
                            "is %lld",
                            (long long)sum, (long long)dim);
        return ONYX_OK;
    }
    /* Equal parts; when the axis does not divide evenly, every part but the last
     * takes ceil(dim / n) and the last takes the rest. */
    int64_t k = (int64_t)n_out, chunk = dim / k + (dim % k != 0);
    if (chunk * (k - 1) > dim)
        return ox_error(ONYX_ERR_INVALID_MODEL, "cannot split an axis of size %lld into %lld parts",
                        (long long)dim, (long long)k);
    for (size_t i = 0; i + 1 < n_out; i++) sizes[i] = chunk;
    sizes[n_out - 1] = dim - chunk * (k - 1);
    return ONYX_OK;

count_mismatch:
    return ox_error(ONYX_ERR_INVALID_MODEL, "'split' has %zu sizes, but the node has %zu outputs",
                    n, n_out);
}

onyx_status ox_tx_split_infer(ox_op_ctx *c) {
    int64_t *sizes = ox_malloc_array(c->n_out ? c->n_out : 1, sizeof *sizes);
    if (!sizes) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t axis;
    onyx_status s = split_sizes(c, &axis, sizes);
    for (size_t i = 0; s == ONYX_OK && i < c->n_out; i++) {
        if (!c->out[i]) continue;
        ox_set_shape(c->out[i], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
        c->out[i]->dims[axis] = sizes[i];
    }
    ox_free(sizes);
    return s;
}

onyx_status ox_tx_split_run(ox_op_ctx *c) {
    int64_t *sizes = ox_malloc_array(c->n_out ? c->n_out : 1, sizeof *sizes);
    if (!sizes) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t axis;
    onyx_status s = split_sizes(c, &axis, sizes);
    const ox_tensor *x = c->in[0];
    size_t es = ox_dtype_size(x->dtype);
    size_t outer = s == ONYX_OK ? ox_tx_prod(x->dims, 0, axis) : 0;
    size_t inner = s == ONYX_OK ? ox_tx_prod(x->dims, axis + 1, x->rank) : 0;
    const char *src = x->data;
    for (size_t o = 0; o < outer && s == ONYX_OK; o++) {
        for (size_t i = 0; i < c->n_out && s == ONYX_OK; i++) {
            size_t block = (size_t)sizes[i] * inner;
            if (c->out[i] && block)
                s = ox_tx_copy((char *)c->out[i]->data + o * block * es, src, block, x->dtype);
            src += block * es;
        }
    }
    ox_free(sizes);
    return s;
}

/* ---- Slice ------------------------------------------------------------------------- */

/* Per input axis: first element, step and output size. */
static onyx_status slice_params(ox_op_ctx *c, int64_t *first, int64_t *step, int64_t *count) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int64_t starts[OX_MAX_RANK], ends[OX_MAX_RANK], axes[OX_MAX_RANK], steps[OX_MAX_RANK];
    size_t n, n_end, n_axes = 0, n_steps = 0;
    int has_axes = 0, has_steps = 0;
    if (c->opset < 10) {
        const int64_t *s = ox_attr_ints(c, "starts", &n), *e = ox_attr_ints(c, "ends", &n_end),
                      *a = ox_attr_ints(c, "axes", &n_axes);
        OX_TRY(ox_op_status(c));
        if (!s || !e)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attributes 'starts' and 'ends' are required");
        if (n > OX_MAX_RANK || n_end > OX_MAX_RANK || n_axes > OX_MAX_RANK)
            return ox_error(ONYX_ERR_INVALID_MODEL, "too many slice values for rank %d", x->rank);
        memcpy(starts, s, n * sizeof *s);
        memcpy(ends, e, n_end * sizeof *e);
        if (a) memcpy(axes, a, n_axes * sizeof *a);
        has_axes = a != NULL;
    } else {
        static const char *names[5] = {"data", "starts", "ends", "axes", "steps"};
        for (size_t i = 1; i < 5; i++) {
            if (i < 3) OX_TRY(ox_tx_need_input(c, i, names[i]));
            if (ox_has_input(c, i) && !ox_tx_known(c->in[i])) return OX_NEED_VALUE;
        }
        OX_TRY(ox_tx_read_ints(c->in[1], "starts", 1, starts, OX_MAX_RANK, &n));
        OX_TRY(ox_tx_read_ints(c->in[2], "ends", 1, ends, OX_MAX_RANK, &n_end));
        if ((has_axes = ox_has_input(c, 3)))
            OX_TRY(ox_tx_read_ints(c->in[3], "axes", 1, axes, OX_MAX_RANK, &n_axes));
        if ((has_steps = ox_has_input(c, 4)))
            OX_TRY(ox_tx_read_ints(c->in[4], "steps", 1, steps, OX_MAX_RANK, &n_steps));
    }
    if (n_end != n || (has_axes && n_axes != n) || (has_steps && n_steps != n))
        return ox_error(ONYX_ERR_INVALID_MODEL, "starts, ends, axes and steps differ in length");
    for (int32_t d = 0; d < x->rank; d++) {
        first[d] = 0;
        step[d] = 1;
        count[d] = x->dims[d];
    }
    int seen[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t a;
        if (has_axes) {
            OX_TRY(ox_norm_axis(axes[i], x->rank, &a));
        } else {
            if ((int64_t)i >= x->rank)
                return ox_error(ONYX_ERR_INVALID_MODEL, "%zu starts for rank %d", n, x->rank);
            a = (int32_t)i;
        }
        if (seen[a]) return ox_error(ONYX_ERR_INVALID_MODEL, "axis %d is sliced twice", a);
        seen[a] = 1;
        int64_t st = has_steps ? steps[i] : 1, dim = x->dims[a], s = starts[i], e = ends[i];
        if (st == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "steps[%zu] is zero", i);
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        uint64_t k;
        if (dim == 0) {
            s = 0;
            k = 0;
        } else if (st > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            k = e > s ? (uint64_t)(e - s - 1) / (uint64_t)st + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            k = s > e ? (uint64_t)(s - e - 1) / ((uint64_t)(-(st + 1)) + 1) + 1 : 0;
        }
        first[a] = s;
        step[a] = st;
        count[a] = (int64_t)k;
    }
    return ONYX_OK;
}

onyx_status ox_tx_slice_infer(ox_op_ctx *c) {
    int64_t first[OX_MAX_RANK], step[OX_MAX_RANK], count[OX_MAX_RANK];
    onyx_status s = slice_params(c, first, step, count);
    if (s != ONYX_OK) return s;
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, count);
    return ONYX_OK;
}

onyx_status ox_tx_slice_run(ox_op_ctx *c) {
    int64_t first[OX_MAX_RANK], step[OX_MAX_RANK], count[OX_MAX_RANK], st[OX_MAX_RANK];
    OX_TRY(slice_params(c, first, step, count));
    const ox_tensor *x = c->in[0];
    if (ox_shape_count(x->rank, count) == 0) return ONYX_OK;
    ox_tx_strides(x->rank, x->dims, st);
    ox_tx_view v = {.rank = x->rank, .offset = 0};
    for (int32_t d = 0; d < x->rank; d++) {
        v.dims[d] = count[d];
        v.offset += first[d] * st[d];
        /* with two or more elements |step| < dim, so this cannot overflow */
        v.strides[d] = count[d] > 1 ? step[d] * st[d] : 0;
    }
    return ox_tx_strided_copy(c->out[0]->data, x->data, &v, x->dtype, c->pool);
}

/* ---- Gather ------------------------------------------------------------------------ */

static onyx_status gather_check(ox_op_ctx *c, int32_t *axis) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    OX_TRY(ox_tx_need_input(c, 1, "indices"));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    int64_t ax = ox_attr_int(c, "axis", 0);
    OX_TRY(ox_op_status(c));
    if (x->rank < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'data' must have rank >= 1");
    OX_TRY(ox_norm_axis(ax, x->rank, axis));
    if (ix->dtype != ONYX_DTYPE_INT32 && ix->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'indices' has type %s, expected int32 or "
                        "int64",
                        ox_dtype_name(ix->dtype));
    if (ix->rank + x->rank - 1 > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "output rank %d exceeds %d", ix->rank + x->rank - 1,
                        OX_MAX_RANK);
    return ONYX_OK;
}

onyx_status ox_tx_gather_infer(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(gather_check(c, &axis));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    int64_t dims[OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < axis; d++) dims[r++] = x->dims[d];
    for (int32_t d = 0; d < ix->rank; d++) dims[r++] = ix->dims[d];
    for (int32_t d = axis + 1; d < x->rank; d++) dims[r++] = x->dims[d];
    ox_set_shape(c->out[0], x->dtype, r, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_gather_run(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(gather_check(c, &axis));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    size_t es = ox_dtype_size(x->dtype), nidx = ox_tensor_count(ix);
    int64_t dim = x->dims[axis];
    /* check every index before writing anything */
    for (size_t k = 0; k < nidx; k++) {
        int64_t i = ox_tensor_get_int(ix, k);
        if (i < -dim || i >= dim)
            return ox_error(ONYX_ERR_RUNTIME,
                            "indices[%zu] = %lld is out of range for axis size "
                            "%lld",
                            k, (long long)i, (long long)dim);
    }
    size_t outer = ox_tx_prod(x->dims, 0, axis), inner = ox_tx_prod(x->dims, axis + 1, x->rank);
    size_t block = inner * es;
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (size_t o = 0; o < outer; o++) {
        const char *base = src + o * (size_t)dim * block;
        for (size_t k = 0; k < nidx; k++) {
            int64_t i = ox_tensor_get_int(ix, k);
            if (i < 0) i += dim;
            if (x->dtype == ONYX_DTYPE_STRING)
                OX_TRY(ox_tx_copy(dst, base + (size_t)i * block, inner, x->dtype));
            else
                memcpy(dst, base + (size_t)i * block, block);
            dst += block;
        }
    }
    return ONYX_OK;
}
