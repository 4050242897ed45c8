/* Ops driven by index tensors: GatherElements, GatherND, ScatterElements (and the
 * older Scatter), ScatterND, OneHot, NonZero, Compress. Every index read from
 * data is checked before anything is written. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

static int is_index_type(int32_t t) { return t == ONYX_DTYPE_INT32 || t == ONYX_DTYPE_INT64; }

static onyx_status index_type_check(const ox_tensor *ix) {
    if (!is_index_type(ix->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'indices' has type %s, expected int32 or "
                        "int64",
                        ox_dtype_name(ix->dtype));
    return ONYX_OK;
}

/* Index k of ix, checked against [-dim, dim) and made non-negative. */
static onyx_status index_at(const ox_tensor *ix, size_t k, int64_t dim, int64_t *out) {
    int64_t i = ox_tensor_get_int(ix, k);
    if (i < -dim || i >= dim)
        return ox_error(ONYX_ERR_RUNTIME,
                        "indices[%zu] = %lld is out of range for an axis of "
                        "size %lld",
                        k, (long long)i, (long long)dim);
    *out = i < 0 ? i + dim : i;
    return ONYX_OK;
}

/* The element-wise ops need data and indices of one rank, with indices no larger
 * than data off the axis. */
static onyx_status elements_check(ox_op_ctx *c, int32_t *axis) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    OX_TRY(ox_tx_need_input(c, 1, "indices"));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    int64_t a = ox_attr_int(c, "axis", 0);
    OX_TRY(ox_op_status(c));
    OX_TRY(index_type_check(ix));
    if (x->rank < 1 || ix->rank != x->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "'data' (rank %d) and 'indices' (rank %d) need "
                        "one rank >= 1",
                        x->rank, ix->rank);
    OX_TRY(ox_norm_axis(a, x->rank, axis));
    for (int32_t d = 0; d < x->rank; d++)
        if (d != *axis && ix->dims[d] > x->dims[d])
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "indices dim %d (%lld) exceeds data dim "
                            "(%lld)",
                            d, (long long)ix->dims[d], (long long)x->dims[d]);
    return ONYX_OK;
}

/* Linear data offset of every indices element (the axis coordinate replaced by the
 * index value), checked. offs has count(indices) entries. */
static onyx_status elements_offsets(const ox_tensor *x, const ox_tensor *ix, int32_t axis,
                                    size_t *offs) {
    int64_t st[OX_MAX_RANK], idx[OX_MAX_RANK] = {0};
    ox_tx_strides(x->rank, x->dims, st);
    size_t n = ox_tensor_count(ix);
    for (size_t k = 0; k < n; k++) {
        int64_t v = 0, off = 0;
        OX_TRY(index_at(ix, k, x->dims[axis], &v));
        for (int32_t d = 0; d < x->rank; d++) off += (d == axis ? v : idx[d]) * st[d];
        offs[k] = (size_t)off;
        for (int32_t d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < ix->dims[d]) break;
            idx[d] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- GatherElements ------------------------------------------------------------------- */

onyx_status ox_tx_gather_elements_infer(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(elements_check(c, &axis));
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[1]->rank, c->in[1]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_gather_elements_run(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(elements_check(c, &axis));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    size_t n = ox_tensor_count(ix);
    size_t *offs = ox_malloc_array(n ? n : 1, sizeof *offs);
    if (!offs) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = elements_offsets(x, ix, axis, offs);
    for (size_t k = 0; k < n && s == ONYX_OK; k++)
        s = ox_tx_copy_one(c->out[0]->data, k, x->data, offs[k], x->dtype);
    ox_free(offs);
    return s;
}

/* ---- reductions for the scatter ops ------------------------------------------------------- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static onyx_status read_reduction(ox_op_ctx *c, int32_t dtype, int *red) {
    *red = RED_NONE;
    if (c->opset < 16) return ONYX_OK;
    const char *s = ox_attr_str(c, "reduction", "none");
    OX_TRY(ox_op_status(c));
    if (strcmp(s, "none") == 0) return ONYX_OK;
    if (strcmp(s, "add") == 0)
        *red = RED_ADD;
    else if (strcmp(s, "mul") == 0)
        *red = RED_MUL;
    else if (strcmp(s, "max") == 0)
        *red = RED_MAX;
    else if (strcmp(s, "min") == 0)
        *red = RED_MIN;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'reduction' = '%s' is not supported", s);
    if (!(ox_dtype_is_int(dtype) || dtype == ONYX_DTYPE_BOOL || dtype == ONYX_DTYPE_FLOAT ||
          dtype == ONYX_DTYPE_DOUBLE || dtype == ONYX_DTYPE_FLOAT16 ||
          dtype == ONYX_DTYPE_BFLOAT16) ||
        dtype == ONYX_DTYPE_INT4 || dtype == ONYX_DTYPE_UINT4 || dtype == ONYX_DTYPE_INT2 ||
        dtype == ONYX_DTYPE_UINT2)
        return ox_error(ONYX_ERR_UNSUPPORTED, "reduction '%s' on %s data is not supported", s,
                        ox_dtype_name(dtype));
    return ONYX_OK;
}

static double red_f(double a, double b, int red) {
    switch (red) {
    case RED_ADD: return a + b;
    case RED_MUL: return a * b;
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

/* d = d (op) s for one element; integers wrap. */
static void reduce_one(char *d, const char *s, int32_t t, int red) {
#define RED_INT(T)                                                                                 \
    {                                                                                              \
        T a, b, r;                                                                                 \
        memcpy(&a, d, sizeof a);                                                                   \
        memcpy(&b, s, sizeof b);                                                                   \
        if (red == RED_ADD)                                                                        \
            r = (T)((uint64_t)a + (uint64_t)b);                                                    \
        else if (red == RED_MUL)                                                                   \
            r = (T)((uint64_t)a * (uint64_t)b);                                                    \
        else if (red == RED_MAX)                                                                   \
            r = a > b ? a : b;                                                                     \
        else                                                                                       \
            r = a < b ? a : b;                                                                     \
        memcpy(d, &r, sizeof r);                                                                   \
        return;                                                                                    \
    }
#define RED_FLT(T)                                                                                 \
    {                                                                                              \
        T a, b, r;                                                                                 \
        memcpy(&a, d, sizeof a);                                                                   \
        memcpy(&b, s, sizeof b);                                                                   \
        r = (T)red_f(a, b, red);                                                                   \
        memcpy(d, &r, sizeof r);                                                                   \
        return;                                                                                    \
    }
    switch (t) {
    case ONYX_DTYPE_INT8: RED_INT(int8_t)
    case ONYX_DTYPE_INT16: RED_INT(int16_t)
    case ONYX_DTYPE_INT32: RED_INT(int32_t)
    case ONYX_DTYPE_INT64: RED_INT(int64_t)
    case ONYX_DTYPE_UINT8: RED_INT(uint8_t)
    case ONYX_DTYPE_UINT16: RED_INT(uint16_t)
    case ONYX_DTYPE_UINT32: RED_INT(uint32_t)
    case ONYX_DTYPE_UINT64: RED_INT(uint64_t)
    case ONYX_DTYPE_FLOAT: RED_FLT(float)
    case ONYX_DTYPE_DOUBLE: RED_FLT(double)
    case ONYX_DTYPE_BOOL: {
        uint8_t a = (uint8_t)*d, b = (uint8_t)*s;
        *d = (char)(red == RED_ADD || red == RED_MAX ? (a | b) : (a & b));
        return;
    }
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: {
        uint16_t a, b;
        memcpy(&a, d, 2);
        memcpy(&b, s, 2);
        int h = t == ONYX_DTYPE_FLOAT16;
        double fa = h ? ox_tx_f16_to_f32(a) : ox_tx_bf16_to_f32(a);
        double fb = h ? ox_tx_f16_to_f32(b) : ox_tx_bf16_to_f32(b);
        float r = (float)red_f(fa, fb, red);
        uint16_t o = h ? ox_tx_f32_to_f16(r) : ox_tx_f32_to_bf16(r);
        memcpy(d, &o, 2);
        return;
    }
    default: return;
    }
#undef RED_INT
#undef RED_FLT
}

/* Write update element si into output element di: replace, or reduce into it. */
static onyx_status scatter_one(ox_tensor *y, size_t di, const ox_tensor *u, size_t si, int red) {
    size_t es = ox_dtype_size(y->dtype);
    char *d = (char *)y->data + di * es;
    const char *s = (const char *)u->data + si * es;
    if (red != RED_NONE) {
        reduce_one(d, s, y->dtype, red);
        return ONYX_OK;
    }
    if (y->dtype == ONYX_DTYPE_STRING) ox_free(((ox_string *)d)->data); /* the copy it replaces */
    return ox_tx_copy(d, s, 1, y->dtype);
}

/* ---- ScatterElements, Scatter ------------------------------------------------------------ */

static onyx_status scatter_elements_check(ox_op_ctx *c, int32_t *axis, int *red) {
    OX_TRY(elements_check(c, axis));
    OX_TRY(ox_tx_need_input(c, 2, "updates"));
    const ox_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    if (u->dtype != x->dtype || u->rank != ix->rank ||
        memcmp(u->dims, ix->dims, sizeof(int64_t) * (size_t)ix->rank) != 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'updates' must have the type of 'data' and the "
                                                "shape of 'indices'");
    return read_reduction(c, x->dtype, red);
}

onyx_status ox_tx_scatter_elements_infer(ox_op_ctx *c) {
    int32_t axis;
    int red;
    OX_TRY(scatter_elements_check(c, &axis, &red));
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_scatter_elements_run(ox_op_ctx *c) {
    int32_t axis;
    int red;
    OX_TRY(scatter_elements_check(c, &axis, &red));
    const ox_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    ox_tensor *y = c->out[0];
    size_t n = ox_tensor_count(ix);
    size_t *offs = ox_malloc_array(n ? n : 1, sizeof *offs);
    if (!offs) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = elements_offsets(x, ix, axis, offs);
    if (s == ONYX_OK) s = ox_tx_copy(y->data, x->data, ox_tensor_count(x), x->dtype);
    for (size_t k = 0; k < n && s == ONYX_OK; k++) s = scatter_one(y, offs[k], u, k, red);
    ox_free(offs);
    return s;
}

/* ---- GatherND, ScatterND ------------------------------------------------------------------- */

/* Shared checks: k = last indices dim, b batch dims (GatherND only). */
static onyx_status nd_check(ox_op_ctx *c, int64_t b, int64_t *k) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    OX_TRY(ox_tx_need_input(c, 1, "indices"));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    OX_TRY(index_type_check(ix));
    if (x->rank < 1 || ix->rank < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'data' and 'indices' need rank >= 1");
    if (b < 0 || b >= x->rank || b >= ix->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "batch_dims = %lld must be below both ranks",
                        (long long)b);
    for (int64_t d = 0; d < b; d++)
        if (x->dims[d] != ix->dims[d])
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "batch dim %lld differs between data and "
                            "indices",
                            (long long)d);
    *k = ix->dims[ix->rank - 1];
    if (*k > x->rank - b)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "indices' last dim %lld exceeds data rank %d - "
                        "batch_dims %lld",
                        (long long)*k, x->rank, (long long)b);
    return ONYX_OK;
}

/* Data offset (in elements, within one batch) of each index tuple. */
static onyx_status nd_offsets(const ox_tensor *x, const ox_tensor *ix, int32_t b, int32_t k,
                              size_t *offs, size_t n_tuples) {
    int64_t st[OX_MAX_RANK];
    ox_tx_strides(x->rank, x->dims, st);
    for (size_t t = 0; t < n_tuples; t++) {
        int64_t off = 0;
        for (int32_t j = 0; j < k; j++) {
            int64_t v = 0;
            OX_TRY(index_at(ix, t * (size_t)k + (size_t)j, x->dims[b + j], &v));
            off += v * st[b + j];
        }
        offs[t] = (size_t)off;
    }
    return ONYX_OK;
}

static onyx_status gather_nd_check(ox_op_ctx *c, int64_t *b, int64_t *k) {
    *b = ox_attr_int(c, "batch_dims", 0);
    OX_TRY(ox_op_status(c));
    if (c->opset < 12) *b = 0;
    OX_TRY(nd_check(c, *b, k));
    if (c->in[1]->rank - 1 + c->in[0]->rank - *k - *b > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "output rank exceeds %d", OX_MAX_RANK);
    return ONYX_OK;
}

onyx_status ox_tx_gather_nd_infer(ox_op_ctx *c) {
    int64_t b, k;
    OX_TRY(gather_nd_check(c, &b, &k));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    int64_t dims[OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < ix->rank - 1; d++) dims[r++] = ix->dims[d];
    for (int32_t d = (int32_t)(b + k); d < x->rank; d++) dims[r++] = x->dims[d];
    ox_set_shape(c->out[0], x->dtype, r, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_gather_nd_run(ox_op_ctx *c) {
    int64_t b, k;
    OX_TRY(gather_nd_check(c, &b, &k));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    size_t n_tuples = ox_tx_prod(ix->dims, 0, ix->rank - 1);
    size_t batches = ox_tx_prod(x->dims, 0, (int32_t)b);
    size_t per_batch = batches && n_tuples ? n_tuples / batches : 1;
    size_t batch_size = ox_tx_prod(x->dims, (int32_t)b, x->rank);
    size_t slice = ox_tx_prod(x->dims, (int32_t)(b + k), x->rank), es = ox_dtype_size(x->dtype);
    size_t *offs = ox_malloc_array(n_tuples ? n_tuples : 1, sizeof *offs);
    if (!offs) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = nd_offsets(x, ix, (int32_t)b, (int32_t)k, offs, n_tuples);
    char *dst = c->out[0]->data;
    for (size_t t = 0; t < n_tuples && s == ONYX_OK; t++) {
        size_t src = (t / per_batch) * batch_size + offs[t];
        s = ox_tx_copy(dst + t * slice * es, (const char *)x->data + src * es, slice, x->dtype);
    }
    ox_free(offs);
    return s;
}

static onyx_status scatter_nd_check(ox_op_ctx *c, int64_t *k, int *red) {
    OX_TRY(nd_check(c, 0, k));
    OX_TRY(ox_tx_need_input(c, 2, "updates"));
    const ox_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    int64_t want[2 * OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < ix->rank - 1; d++) want[r++] = ix->dims[d];
    for (int32_t d = (int32_t)*k; d < x->rank; d++) want[r++] = x->dims[d];
    int ok = u->dtype == x->dtype && u->rank == r;
    for (int32_t d = 0; ok && d < r; d++) ok = u->dims[d] == want[d];
    if (!ok)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'updates' must have the type of 'data' and shape "
                                                "indices.shape[:-1] + data.shape[k:]");
    return read_reduction(c, x->dtype, red);
}

onyx_status ox_tx_scatter_nd_infer(ox_op_ctx *c) {
    int64_t k;
    int red;
    OX_TRY(scatter_nd_check(c, &k, &red));
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status ox_tx_scatter_nd_run(ox_op_ctx *c) {
    int64_t k;
    int red;
    OX_TRY(scatter_nd_check(c, &k, &red));
    const ox_tensor *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    ox_tensor *y = c->out[0];
    size_t n_tuples = ox_tx_prod(ix->dims, 0, ix->rank - 1);
    size_t slice = ox_tx_prod(x->dims, (int32_t)k, x->rank);
    size_t *offs = ox_malloc_array(n_tuples ? n_tuples : 1, sizeof *offs);
    if (!offs) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = nd_offsets(x, ix, 0, (int32_t)k, offs, n_tuples);
    if (s == ONYX_OK) s = ox_tx_copy(y->data, x->data, ox_tensor_count(x), x->dtype);
    for (size_t t = 0; t < n_tuples && s == ONYX_OK; t++)
        for (size_t e = 0; e < slice && s == ONYX_OK; e++)
            s = scatter_one(y, offs[t] + e, u, t * slice + e, red);
    ox_free(offs);
    return s;
}

/* ---- OneHot --------------------------------------------------------------------------------- */

static onyx_status one_hot_check(ox_op_ctx *c, int32_t *axis, int64_t *depth) {
    static const char *names[3] = {"indices", "depth", "values"};
    for (size_t i = 0; i < 3; i++) OX_TRY(ox_tx_need_input(c, i, names[i]));
    const ox_tensor *ix = c->in[0], *dp = c->in[1], *v = c->in[2];
    int64_t a = ox_attr_int(c, "axis", -1);
    OX_TRY(ox_op_status(c));
    if (ix->dtype == ONYX_DTYPE_BOOL || !ox_tx_scalar_type(ix->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'indices' must be numeric");
    if (v->rank != 1 || v->dims[0] != 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'values' must be [off_value, on_value]");
    if (ix->rank + 1 > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "output rank exceeds %d", OX_MAX_RANK);
    OX_TRY(ox_norm_axis(a, ix->rank + 1, axis));
    if (ox_tensor_count(dp) != 1 || dp->rank > 1 || dp->dtype == ONYX_DTYPE_BOOL ||
        !ox_tx_scalar_type(dp->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'depth' must be one number");
    if (!dp->data) return OX_NEED_VALUE;
    int ok;
    *depth = ox_tx_get_index(dp, 0, &ok);
    if (!ok || *depth < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'depth' is negative or out of range");
    return ONYX_OK;
}

onyx_status ox_tx_one_hot_infer(ox_op_ctx *c) {
    int32_t axis;
    int64_t depth;
    onyx_status s = one_hot_check(c, &axis, &depth);
    if (s != ONYX_OK) return s;
    const ox_tensor *ix = c->in[0];
    int64_t dims[OX_MAX_RANK];
    for (int32_t d = 0, k = 0; d <= ix->rank; d++) dims[d] = d == axis ? depth : ix->dims[k++];
    ox_set_shape(c->out[0], c->in[2]->dtype, ix->rank + 1, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_one_hot_run(ox_op_ctx *c) {
    int32_t axis;
    int64_t depth;
    OX_TRY(one_hot_check(c, &axis, &depth));
    const ox_tensor *ix = c->in[0], *v = c->in[2];
    size_t outer = ox_tx_prod(ix->dims, 0, axis), inner = ox_tx_prod(ix->dims, axis, ix->rank);
    size_t o = 0;
    for (size_t i = 0; i < outer; i++) {
        for (int64_t d = 0; d < depth; d++) {
            for (size_t j = 0; j < inner; j++, o++) {
                int ok;
                int64_t k = ox_tx_get_index(ix, i * inner + j, &ok);
                if (ok && k < 0) k += depth;
                OX_TRY(ox_tx_copy_one(c->out[0]->data, o, v->data, ok && k == d ? 1 : 0, v->dtype));
            }
        }
    }
    return ONYX_OK;
}

/* ---- NonZero ------------------------------------------------------------------------------- */

static int nonzero_at(const ox_tensor *t, size_t i) {
    const unsigned char *p = (const unsigned char *)t->data + i * ox_dtype_size(t->dtype);
    switch (t->dtype) {
    case ONYX_DTYPE_STRING: return ((const ox_string *)t->data)[i].len != 0;
    case ONYX_DTYPE_FLOAT: {
        uint32_t b;
        memcpy(&b, p, 4);
        return (b & 0x7fffffffu) != 0;
    }
    case ONYX_DTYPE_DOUBLE: {
        uint64_t b;
        memcpy(&b, p, 8);
        return (b & 0x7fffffffffffffffull) != 0;
    }
    case ONYX_DTYPE_COMPLEX64: {
        uint32_t b[2];
        memcpy(b, p, 8);
        return ((b[0] | b[1]) & 0x7fffffffu) != 0;
    }
    case ONYX_DTYPE_COMPLEX128: {
        uint64_t b[2];
        memcpy(b, p, 16);
        return ((b[0] | b[1]) & 0x7fffffffffffffffull) != 0;
    }
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: {
        uint16_t b;
        memcpy(&b, p, 2);
        return (b & 0x7fffu) != 0;
    }
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E5M2: return (p[0] & 0x7f) != 0;
    case ONYX_DTYPE_FLOAT4E2M1: return (p[0] & 0x7) != 0;
    case ONYX_DTYPE_FLOAT8E8M0: return 1; /* every code is a power of two or NaN */
    default: { /* integers, bool, the fnuz floats (no negative zero) */
        for (size_t k = 0; k < ox_dtype_size(t->dtype); k++)
            if (p[k]) return 1;
        return 0;
    }
    }
}

static size_t nonzero_count(const ox_tensor *x) {
    size_t n = ox_tensor_count(x), nz = 0;
    for (size_t i = 0; i < n; i++) nz += (size_t)nonzero_at(x, i);
    return nz;
}

onyx_status ox_tx_non_zero_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "X"));
    const ox_tensor *x = c->in[0];
    if (!ox_tx_known(x)) return OX_NEED_VALUE;
    int64_t dims[2] = {x->rank, (int64_t)nonzero_count(x)};
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims);
    return ONYX_OK;
}

onyx_status ox_tx_non_zero_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    size_t nz = nonzero_count(x), n = ox_tensor_count(x);
    int64_t dims[2] = {x->rank, (int64_t)nz}, idx[OX_MAX_RANK] = {0};
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 2, dims);
    OX_TRY(c->alloc_output(c, 0));
    int64_t *y = c->out[0]->data;
    for (size_t i = 0, k = 0; i < n; i++) {
        if (nonzero_at(x, i)) {
            for (int32_t d = 0; d < x->rank; d++) y[(size_t)d * nz + k] = idx[d];
            k++;
        }
        for (int32_t d = x->rank - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d]) break;
            idx[d] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- Compress -------------------------------------------------------------------------------- */

/* axis = -1 when the input is flattened; *kept = number of selected slices. */
static onyx_status compress_check(ox_op_ctx *c, int32_t *axis, int64_t *kept) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    OX_TRY(ox_tx_need_input(c, 1, "condition"));
    const ox_tensor *x = c->in[0], *cond = c->in[1];
    const ox_attr *a = ox_attr_get(c, "axis");
    int64_t av = ox_attr_int(c, "axis", 0);
    OX_TRY(ox_op_status(c));
    *axis = -1;
    if (a) {
        if (x->rank < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "input must have rank >= 1");
        OX_TRY(ox_norm_axis(av, x->rank, axis));
    }
    if (cond->dtype != ONYX_DTYPE_BOOL || cond->rank != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'condition' must be a 1-D bool tensor");
    if (!ox_tx_known(cond)) return OX_NEED_VALUE;
    size_t len = *axis >= 0 ? (size_t)x->dims[*axis] : ox_tensor_count(x),
           n = ox_tensor_count(cond);
    const uint8_t *cv = cond->data;
    *kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cv[i]) continue;
        if (i >= len)
            return ox_error(ONYX_ERR_INVALID_MODEL, "condition[%zu] selects past the end (%zu)", i,
                            len);
        ++*kept;
    }
    return ONYX_OK;
}

onyx_status ox_tx_compress_infer(ox_op_ctx *c) {
    int32_t axis;
    int64_t kept;
    onyx_status s = compress_check(c, &axis, &kept);
    if (s != ONYX_OK) return s;
    const ox_tensor *x = c->in[0];
    if (axis < 0) {
        ox_set_shape(c->out[0], x->dtype, 1, &kept);
    } else {
        ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
        c->out[0]->dims[axis] = kept;
    }
    return ONYX_OK;
}

onyx_status ox_tx_compress_run(ox_op_ctx *c) {
    int32_t axis;
    int64_t kept;
    OX_TRY(compress_check(c, &axis, &kept));
    const ox_tensor *x = c->in[0], *cond = c->in[1];
    size_t outer = axis < 0 ? 1 : ox_tx_prod(x->dims, 0, axis);
    size_t len = axis < 0 ? ox_tensor_count(x) : (size_t)x->dims[axis];
    size_t inner = axis < 0 ? 1 : ox_tx_prod(x->dims, axis + 1, x->rank);
    size_t n = ox_tensor_count(cond) < len ? ox_tensor_count(cond) : len;
    size_t es = ox_dtype_size(x->dtype);
    const uint8_t *cv = cond->data;
    char *dst = c->out[0]->data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < n; i++) {
            if (!cv[i]) continue;
            OX_TRY(ox_tx_copy(dst, (const char *)x->data + (o * len + i) * inner * es, inner,
                              x->dtype));
            dst += inner * es;
        }
    }
    return ONYX_OK;
}
