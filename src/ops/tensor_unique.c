/* Unique: the distinct values (or slices along an axis) of a tensor, sorted or in
 * order of first occurrence, with first indices, inverse indices and counts.
 * Items are ordered by a stable merge sort, so the first item of each run of
 * equal items is its first occurrence. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

/* Three-way compare of elements i and j of x. NaN sorts after every number and
 * equals other NaNs, so NaNs collapse into one value (as numpy.unique does). */
static int cmp_float(double a, double b) {
    int na = a != a, nb = b != b;
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}

static int cmp_elem(const ox_tensor *x, size_t i, size_t j) {
    const void *d = x->data;
#define CMP(T)                                                                                     \
    {                                                                                              \
        T a, b;                                                                                    \
        memcpy(&a, (const char *)d + i * sizeof(T), sizeof a);                                     \
        memcpy(&b, (const char *)d + j * sizeof(T), sizeof b);                                     \
        return (a > b) - (a < b);                                                                  \
    }
    switch (x->dtype) {
    case ONYX_DTYPE_INT8: CMP(int8_t)
    case ONYX_DTYPE_INT16: CMP(int16_t)
    case ONYX_DTYPE_INT32: CMP(int32_t)
    case ONYX_DTYPE_INT64: CMP(int64_t)
    case ONYX_DTYPE_UINT8:
    case ONYX_DTYPE_BOOL: CMP(uint8_t)
    case ONYX_DTYPE_UINT16: CMP(uint16_t)
    case ONYX_DTYPE_UINT32: CMP(uint32_t)
    case ONYX_DTYPE_UINT64: CMP(uint64_t)
    case ONYX_DTYPE_FLOAT:
    case ONYX_DTYPE_DOUBLE:
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16:
        return cmp_float(ox_tensor_get_double(x, i), ox_tensor_get_double(x, j));
    case ONYX_DTYPE_COMPLEX64: { /* real part, then imaginary part */
        float a[2], b[2];
        memcpy(a, (const char *)d + i * 8, 8);
        memcpy(b, (const char *)d + j * 8, 8);
        int c = cmp_float(a[0], b[0]);
        return c ? c : cmp_float(a[1], b[1]);
    }
    case ONYX_DTYPE_COMPLEX128: {
        double a[2], b[2];
        memcpy(a, (const char *)d + i * 16, 16);
        memcpy(b, (const char *)d + j * 16, 16);
        int c = cmp_float(a[0], b[0]);
        return c ? c : cmp_float(a[1], b[1]);
    }
    case ONYX_DTYPE_STRING: {
        const ox_string *a = (const ox_string *)d + i, *b = (const ox_string *)d + j;
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->data, b->data, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return (a->len > b->len) - (a->len < b->len);
    }
    default: return 0;
    }
#undef CMP
}

typedef struct {
    const ox_tensor *x;
    size_t outer, len, inner; /* items are slices k of x viewed as [outer, len, inner] */
} items;

/* Lexicographic compare of items a and b (their elements in row-major order). */
static int cmp_items(const items *it, size_t a, size_t b) {
    for (size_t o = 0; o < it->outer; o++) {
        size_t base = o * it->len * it->inner;
        for (size_t i = 0; i < it->inner; i++) {
            int c = cmp_elem(it->x, base + a * it->inner + i, base + b * it->inner + i);
            if (c) return c;
        }
    }
    return 0;
}

/* Stable bottom-up merge sort of idx[0..n) by cmp_items; tmp has n entries. */
static void sort_items(const items *it, size_t *idx, size_t *tmp, size_t n) {
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = cmp_items(it, idx[b], idx[a]) < 0 ? idx[b++] : idx[a++];
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

/* The result of one Unique: for each output position u, first[u] and count[u];
 * for each item k, inv[k]. */
typedef struct {
    items it;
    int32_t axis; /* -1: flattened */
    size_t n, u;
    size_t *first, *count, *inv, *scratch;
} unique_result;

static void unique_free(unique_result *r) {
    ox_free(r->first);
    ox_free(r->count);
    ox_free(r->inv);
    ox_free(r->scratch);
}

static onyx_status unique_compute(ox_op_ctx *c, unique_result *r) {
    memset(r, 0, sizeof *r);
    OX_TRY(ox_tx_need_input(c, 0, "X"));
    const ox_tensor *x = c->in[0];
    const ox_attr *a = ox_attr_get(c, "axis");
    int64_t av = ox_attr_int(c, "axis", 0), sorted = ox_attr_int(c, "sorted", 1);
    OX_TRY(ox_op_status(c));
    int32_t t = x->dtype;
    if (!ox_tx_scalar_type(t) && t != ONYX_DTYPE_STRING && t != ONYX_DTYPE_COMPLEX64 &&
        t != ONYX_DTYPE_COMPLEX128)
        return ox_error(ONYX_ERR_UNSUPPORTED, "Unique of %s is not supported", ox_dtype_name(t));
    r->axis = -1;
    r->it.x = x;
    if (a) {
        OX_TRY(ox_norm_axis(av, x->rank, &r->axis));
        r->it.outer = ox_tx_prod(x->dims, 0, r->axis);
        r->it.len = (size_t)x->dims[r->axis];
        r->it.inner = ox_tx_prod(x->dims, r->axis + 1, x->rank);
    } else {
        r->it.outer = 1;
        r->it.len = ox_tensor_count(x);
        r->it.inner = 1;
    }
    if (!ox_tx_known(x)) return OX_NEED_VALUE;
    size_t n = r->n = r->it.len, m = n ? n : 1;
    size_t *idx = ox_malloc_array(m, sizeof *idx), *tmp = ox_malloc_array(m, sizeof *tmp);
    r->first = ox_malloc_array(m, sizeof *r->first);
    r->count = ox_malloc_array(m, sizeof *r->count);
    r->inv = ox_malloc_array(m, sizeof *r->inv);
    r->scratch = idx;
    if (!idx || !tmp || !r->first || !r->count || !r->inv) {
        ox_free(tmp);
        unique_free(r);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < n; k++) idx[k] = k;
    sort_items(&r->it, idx, tmp, n);
    /* each run of equal items in sorted order is one unique item */
    size_t u = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || cmp_items(&r->it, idx[k - 1], idx[k]) != 0) {
            r->first[u] = idx[k];
            r->count[u] = 0;
            u++;
        }
        r->count[u - 1]++;
        r->inv[idx[k]] = u - 1;
    }
    r->u = u;
    if (!sorted) {           /* renumber runs by first occurrence */
        size_t *order = tmp; /* order[j] = run at output position j, by first index */
        for (size_t j = 0; j < u; j++) order[j] = j;
        for (size_t w = 1; w < u; w *= 2) { /* merge sort on the runs' first indices */
            for (size_t lo = 0; lo < u; lo += 2 * w) {
                size_t mid = lo + w < u ? lo + w : u, hi = lo + 2 * w < u ? lo + 2 * w : u;
                size_t p = lo, q = mid, k = lo;
                while (p < mid && q < hi)
                    idx[k++] = r->first[order[q]] < r->first[order[p]] ? order[q++] : order[p++];
                while (p < mid) idx[k++] = order[p++];
                while (q < hi) idx[k++] = order[q++];
            }
            memcpy(order, idx, u * sizeof *order);
        }
        /* pos[run] = output position; reuse idx */
        for (size_t j = 0; j < u; j++) idx[order[j]] = j;
        for (size_t k = 0; k < n; k++) r->inv[k] = idx[r->inv[k]];
        size_t *f2 = ox_malloc_array(u ? u : 1, sizeof *f2),
               *c2 = ox_malloc_array(u ? u : 1, sizeof *c2);
        if (!f2 || !c2) {
            ox_free(f2);
            ox_free(c2);
            ox_free(tmp);
            unique_free(r);
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
        for (size_t j = 0; j < u; j++) {
            f2[j] = r->first[order[j]];
            c2[j] = r->count[order[j]];
        }
        ox_free(r->first);
        ox_free(r->count);
        r->first = f2;
        r->count = c2;
    }
    ox_free(tmp);
    return ONYX_OK;
}

static void unique_shapes(ox_op_ctx *c, const unique_result *r) {
    const ox_tensor *x = c->in[0];
    int64_t u = (int64_t)r->u, n = (int64_t)r->n;
    if (ox_has_output(c, 0)) {
        if (r->axis < 0) {
            ox_set_shape(c->out[0], x->dtype, 1, &u);
        } else {
            ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
            c->out[0]->dims[r->axis] = u;
        }
    }
    if (ox_has_output(c, 1)) ox_set_shape(c->out[1], ONYX_DTYPE_INT64, 1, &u);
    if (ox_has_output(c, 2)) ox_set_shape(c->out[2], ONYX_DTYPE_INT64, 1, &n);
    if (ox_has_output(c, 3)) ox_set_shape(c->out[3], ONYX_DTYPE_INT64, 1, &u);
}

onyx_status ox_tx_unique_infer(ox_op_ctx *c) {
    unique_result r;
    onyx_status s = unique_compute(c, &r);
    if (s != ONYX_OK) return s;
    unique_shapes(c, &r);
    unique_free(&r);
    return ONYX_OK;
}

onyx_status ox_tx_unique_run(ox_op_ctx *c) {
    unique_result r;
    OX_TRY(unique_compute(c, &r));
    unique_shapes(c, &r);
    onyx_status s = ONYX_OK;
    for (size_t i = 0; i < 4 && s == ONYX_OK; i++)
        if (ox_has_output(c, i)) s = c->alloc_output(c, i);
    const ox_tensor *x = c->in[0];
    size_t es = ox_dtype_size(x->dtype), in = r.it.inner, len = r.it.len;
    if (s == ONYX_OK && ox_has_output(c, 0)) {
        char *y = c->out[0]->data;
        for (size_t o = 0; o < r.it.outer && s == ONYX_OK; o++)
            for (size_t j = 0; j < r.u && s == ONYX_OK; j++)
                s = ox_tx_copy(y + ((o * r.u + j) * in) * es,
                               (const char *)x->data + ((o * len + r.first[j]) * in) * es, in,
                               x->dtype);
    }
    for (size_t j = 0; s == ONYX_OK && j < r.u; j++) {
        if (ox_has_output(c, 1)) ((int64_t *)c->out[1]->data)[j] = (int64_t)r.first[j];
        if (ox_has_output(c, 3)) ((int64_t *)c->out[3]->data)[j] = (int64_t)r.count[j];
    }
    for (size_t k = 0; s == ONYX_OK && ox_has_output(c, 2) && k < r.n; k++)
        ((int64_t *)c->out[2]->data)[k] = (int64_t)r.inv[k];
    unique_free(&r);
    return s;
}
