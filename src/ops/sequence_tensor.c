/* Ops between tensors and sequences: SplitToSequence (a tensor into a sequence of
 * parts along an axis) and ConcatFromSequence (a sequence back into one tensor,
 * along an existing or a new axis). Elements move by size, strings duplicated. */
#include <stdint.h>
#include <string.h>

#include "ops/sequence.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"

/* ---- SplitToSequence ------------------------------------------------------------------ */

/* How the input splits along its axis. */
typedef struct {
    int32_t axis;
    int64_t dim;           /* the input's size along axis */
    size_t n;              /* number of parts */
    int64_t chunk;         /* equal parts of this size (the last may be shorter) ... */
    const ox_tensor *list; /* ... or, when not NULL, the 1-D list of part sizes */
    int squeeze;           /* drop the axis from every part (keepdims=0, no split) */
} split_plan;

static int64_t part_len(const split_plan *p, size_t k) {
    if (p->list) return ox_tensor_get_int(p->list, k);
    int64_t start = (int64_t)k * p->chunk;
    return p->dim - start < p->chunk ? p->dim - start : p->chunk;
}

static onyx_status split_attrs(ox_op_ctx *c, int64_t *axis, int64_t *keepdims) {
    *axis = ox_attr_int(c, "axis", 0);
    *keepdims = ox_attr_int(c, "keepdims", 1);
    OX_TRY(ox_op_status(c));
    if (*keepdims != 0 && *keepdims != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'keepdims' is %lld, expected 0 or 1",
                        (long long)*keepdims);
    return ONYX_OK;
}

onyx_status ox_seq_split_prepare(ox_op_ctx *c) {
    int64_t axis, keepdims;
    return split_attrs(c, &axis, &keepdims);
}

static onyx_status split_make_plan(ox_op_ctx *c, split_plan *p) {
    int64_t axis, keepdims;
    OX_TRY(split_attrs(c, &axis, &keepdims));
    OX_TRY(ox_seq_tensor_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    memset(p, 0, sizeof *p);
    OX_TRY(ox_norm_axis(axis, x->rank, &p->axis));
    p->dim = x->dims[p->axis];
    if (!ox_has_input(c, 1)) {
        p->chunk = 1;
        p->n = (size_t)p->dim;
        p->squeeze = keepdims == 0;
        return ONYX_OK;
    }
    const ox_tensor *s = c->in[1];
    char buf[300];
    if (s->dtype != ONYX_DTYPE_INT32 && s->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input 'split' is %s, expected int32 or int64",
                        ox_seq_describe(s, buf, sizeof buf));
    if (s->rank > 1)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input 'split' must be a scalar or 1-D, got shape %s",
                        ox_shape_describe(s->rank, s->dims, buf, sizeof buf));
    if (!ox_tx_known(s)) return OX_NEED_VALUE;
    if (s->rank == 0) {
        p->chunk = ox_tensor_get_int(s, 0);
        if (p->chunk <= 0)
            return ox_error(ONYX_ERR_RUNTIME, "input 'split' is %lld, a part size must be positive",
                            (long long)p->chunk);
        p->n = (size_t)(p->dim / p->chunk + (p->dim % p->chunk != 0));
        return ONYX_OK;
    }
    p->list = s;
    p->n = ox_tensor_count(s);
    int64_t sum = 0;
    for (size_t k = 0; k < p->n; k++) {
        int64_t v = ox_tensor_get_int(s, k);
        if (v < 0)
            return ox_error(ONYX_ERR_RUNTIME, "input 'split' value %zu is %lld, sizes must be >= 0", k,
                            (long long)v);
        if (v > p->dim - sum)
            return ox_error(ONYX_ERR_RUNTIME,
                            "input 'split' sizes add up to more than the input's dim %lld on axis %d",
                            (long long)p->dim, p->axis);
        sum += v;
    }
    if (sum != p->dim)
        return ox_error(ONYX_ERR_RUNTIME,
                        "input 'split' sizes add up to %lld, but the input's dim on axis %d is %lld",
                        (long long)sum, p->axis, (long long)p->dim);
    return ONYX_OK;
}

onyx_status ox_seq_split_infer(ox_op_ctx *c) {
    split_plan p;
    return split_make_plan(c, &p);
}

/* Part k: rows [start, start + len) of the axis, copied out of x. */
static onyx_status split_part(const ox_tensor *x, const split_plan *p, int64_t start, int64_t len,
                              ox_tensor *part) {
    memset(part, 0, sizeof *part);
    part->dtype = x->dtype;
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d == p->axis && p->squeeze) continue;
        part->dims[r++] = d == p->axis ? len : x->dims[d];
    }
    part->rank = r;
    if (ox_tensor_alloc_data(part) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a part of %lld rows", (long long)len);
    size_t outer = ox_tx_prod(x->dims, 0, p->axis);
    size_t inner = ox_tx_prod(x->dims, p->axis + 1, x->rank);
    size_t es = ox_dtype_size(x->dtype), row = (size_t)len * inner;
    const char *src = x->data;
    char *dst = part->data;
    for (size_t o = 0; o < outer && row; o++) {
        size_t from = (o * (size_t)p->dim + (size_t)start) * inner;
        onyx_status st = ox_tx_copy(dst + o * row * es, src + from * es, row, x->dtype);
        if (st != ONYX_OK) {
            ox_tensor_free_data(part);
            return st;
        }
    }
    return ONYX_OK;
}

onyx_status ox_seq_split_run(ox_op_ctx *c) {
    split_plan p;
    OX_TRY(split_make_plan(c, &p));
    const ox_tensor *x = c->in[0];
    ox_tensor v;
    if (ox_sequence_init(&v, x->dtype) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a sequence");
    int64_t start = 0;
    for (size_t k = 0; k < p.n; k++) {
        int64_t len = part_len(&p, k);
        ox_tensor part;
        onyx_status st = split_part(x, &p, start, len, &part);
        if (st == ONYX_OK && ox_sequence_insert(v.data, k, &part) != ONYX_OK) {
            ox_tensor_free_data(&part);
            st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory growing a sequence");
        }
        if (st != ONYX_OK) {
            ox_tensor_free_data(&v);
            return st;
        }
        start += len;
    }
    ox_seq_set_output(c, 0, &v);
    return ONYX_OK;
}

/* ---- ConcatFromSequence --------------------------------------------------------------- */

static onyx_status concat_attrs(ox_op_ctx *c, int64_t *axis, int64_t *new_axis) {
    if (!ox_attr_get(c, "axis"))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' is required");
    *axis = ox_attr_int(c, "axis", 0);
    *new_axis = ox_attr_int(c, "new_axis", 0);
    OX_TRY(ox_op_status(c));
    if (*new_axis != 0 && *new_axis != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'new_axis' is %lld, expected 0 or 1",
                        (long long)*new_axis);
    return ONYX_OK;
}

onyx_status ox_seq_concat_prepare(ox_op_ctx *c) {
    int64_t axis, new_axis;
    return concat_attrs(c, &axis, &new_axis);
}

/* Check the items and compute the output's shape into out (dtype, rank, dims);
 * *axis_out is the axis in the output. */
static onyx_status concat_shape(ox_op_ctx *c, const ox_sequence **seq, ox_tensor *out,
                                int32_t *axis_out) {
    int64_t axis, new_axis;
    char b1[300], b2[300];
    OX_TRY(concat_attrs(c, &axis, &new_axis));
    OX_TRY(ox_seq_input(c, 0, "input_sequence", seq));
    const ox_sequence *s = *seq;
    if (s->n == 0)
        return ox_error(ONYX_ERR_RUNTIME, "the input sequence is empty: there is nothing to concatenate");
    const ox_tensor *first = &s->items[0];
    if (!ox_dtype_valid(first->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "item 0 of the sequence is not a tensor");
    int32_t r = first->rank;
    if (s->n > (size_t)INT64_MAX) return ox_error(ONYX_ERR_LIMIT, "the sequence is too long");
    if (new_axis && r + 1 > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "stacking rank-%d tensors exceeds rank %d", r, OX_MAX_RANK);
    int32_t ax;
    OX_TRY(ox_norm_axis(axis, new_axis ? r + 1 : r, &ax));
    int64_t total = 0;
    for (size_t k = 0; k < s->n; k++) {
        const ox_tensor *t = &s->items[k];
        if (t->dtype != first->dtype || t->rank != r)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "item %zu is %s but item 0 is %s", k,
                            ox_seq_describe(t, b1, sizeof b1), ox_seq_describe(first, b2, sizeof b2));
        for (int32_t d = 0; d < r; d++)
            if ((new_axis || d != ax) && t->dims[d] != first->dims[d])
                return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                                "item %zu has shape %s but item 0 has %s: they may differ only on axis %d",
                                k, ox_shape_describe(t->rank, t->dims, b1, sizeof b1),
                                ox_shape_describe(r, first->dims, b2, sizeof b2), ax);
        if (!new_axis) {
            if (t->dims[ax] > INT64_MAX - total)
                return ox_error(ONYX_ERR_LIMIT, "the concatenated size on axis %d is too large", ax);
            total += t->dims[ax];
        }
    }
    memset(out, 0, sizeof *out);
    out->dtype = first->dtype;
    out->rank = new_axis ? r + 1 : r;
    for (int32_t d = 0, j = 0; d < out->rank; d++) {
        if (new_axis && d == ax) {
            out->dims[d] = (int64_t)s->n;
            continue;
        }
        out->dims[d] = first->dims[j++];
    }
    if (!new_axis) out->dims[ax] = total;
    *axis_out = ax;
    return ox_tx_check_size(out, "the output");
}

onyx_status ox_seq_concat_infer(ox_op_ctx *c) {
    const ox_sequence *s;
    ox_tensor shape;
    int32_t ax;
    OX_TRY(concat_shape(c, &s, &shape, &ax));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], shape.dtype, shape.rank, shape.dims);
    return ONYX_OK;
}

onyx_status ox_seq_concat_run(ox_op_ctx *c) {
    const ox_sequence *s;
    ox_tensor shape;
    int32_t ax;
    OX_TRY(concat_shape(c, &s, &shape, &ax));
    if (!ox_has_output(c, 0)) return ONYX_OK;
    ox_tensor *o = c->out[0];
    if (!ox_tensor_same_shape(&shape, o))
        return ox_error(ONYX_ERR_RUNTIME, "the items' shapes changed since shapes were inferred");
    /* Every item contributes one block per index of the dims before the axis: its
     * dims from the axis on (with a new axis, the item's whole trailing shape). */
    size_t outer = ox_tx_prod(o->dims, 0, ax);
    size_t es = ox_dtype_size(o->dtype);
    char *dst = o->data;
    for (size_t i = 0; i < outer; i++)
        for (size_t k = 0; k < s->n; k++) {
            const ox_tensor *t = &s->items[k];
            size_t block = ox_tx_prod(t->dims, ax, t->rank);
            if (!block) continue;
            OX_TRY(ox_tx_copy(dst, (const char *)t->data + i * block * es, block, o->dtype));
            dst += block * es;
        }
    return ONYX_OK;
}
