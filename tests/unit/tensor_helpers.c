/* Shared helpers for the tensor-op unit tests (see tensor_helpers.h). */
#include "tensor_helpers.h"

#include <string.h>

#include "util/alloc.h"

int tx_rnd(int n) { return (int)(tt_randf() * (float)n); }

/* A tensor of dtype with random bytes (random short strings for STRING). */
ox_tensor tx_rand_tensor(int32_t dtype, int32_t rank, const int64_t *dims) {
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    if (dtype == ONYX_DTYPE_STRING) {
        ox_string *s = t.data;
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)tx_rnd(6);
            s[i].data = ox_malloc(len + 1);
            for (size_t k = 0; k < len; k++) s[i].data[k] = (char)('a' + tx_rnd(26));
            s[i].data[len] = 0;
            s[i].len = len;
        }
    } else {
        unsigned char *b = t.data;
        for (size_t i = 0; i < n * ox_dtype_size(dtype); i++) b[i] = (unsigned char)tx_rnd(256);
        if (dtype == ONYX_DTYPE_BOOL)
            for (size_t i = 0; i < n; i++) b[i] &= 1;
    }
    return t;
}

/* Element i of a equals element j of b (strings: same bytes, separate storage). */
int tx_elem_eq(const ox_tensor *a, size_t i, const ox_tensor *b, size_t j) {
    if (a->dtype != b->dtype) return 0;
    if (a->dtype == ONYX_DTYPE_STRING) {
        const ox_string *x = (const ox_string *)a->data + i, *y = (const ox_string *)b->data + j;
        return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0) &&
               (x->len == 0 || x->data != y->data);
    }
    size_t es = ox_dtype_size(a->dtype);
    return memcmp((const char *)a->data + i * es, (const char *)b->data + j * es, es) == 0;
}

int tx_same_dims(const ox_tensor *t, int32_t rank, const int64_t *dims) {
    if (t->rank != rank) return 0;
    for (int32_t i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

/* Unravel a linear index into a multi-index (row-major). */
void tx_unravel(size_t lin, int32_t rank, const int64_t *dims, int64_t *idx) {
    for (int32_t d = rank - 1; d >= 0; d--) {
        idx[d] = dims[d] ? (int64_t)(lin % (size_t)dims[d]) : 0;
        if (dims[d]) lin /= (size_t)dims[d];
    }
}

size_t tx_ravel(int32_t rank, const int64_t *dims, const int64_t *idx) {
    size_t lin = 0;
    for (int32_t d = 0; d < rank; d++) lin = lin * (size_t)dims[d] + (size_t)idx[d];
    return lin;
}

ox_tensor tx_i64(size_t n, const int64_t *v) {
    int64_t d = (int64_t)n;
    return tt_make(ONYX_DTYPE_INT64, 1, &d, v);
}

ox_tensor tx_i32(size_t n, const int64_t *v) {
    int64_t d = (int64_t)n;
    ox_tensor t = tt_make(ONYX_DTYPE_INT32, 1, &d, NULL);
    for (size_t i = 0; i < n; i++) ((int32_t *)t.data)[i] = (int32_t)v[i];
    return t;
}

void tx_free_all(ox_tensor *t, size_t n) {
    for (size_t i = 0; i < n; i++) ox_tensor_free_data(&t[i]);
}

/* prepare + infer only, to see what a node needs while planning. */
onyx_status tx_infer_only(const ox_node *n, int64_t opset, ox_tensor **in, size_t n_in,
                          ox_tensor *out, size_t n_out) {
    const ox_op_def *d = ox_op_find("", n->op_type, opset);
    if (!d) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *outs[8];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = n, .opset = opset, .n_in = n_in, .n_out = n_out, .in = in, .out = outs};
    onyx_status s = d->prepare ? d->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = d->infer(&c);
    if (d->destroy && c.state) d->destroy(c.state);
    return s;
}

const int32_t tx_types[TX_N_TYPES] = {ONYX_DTYPE_UINT8, ONYX_DTYPE_FLOAT16,    ONYX_DTYPE_FLOAT,
                                      ONYX_DTYPE_INT64, ONYX_DTYPE_COMPLEX128, ONYX_DTYPE_STRING,
                                      ONYX_DTYPE_BOOL};

void tx_rnd_shape(int32_t rank, int64_t *dims, int maxd) {
    for (int32_t i = 0; i < rank; i++) dims[i] = 1 + tx_rnd(maxd);
}
