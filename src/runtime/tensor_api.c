/* Public tensor handles. */
#include <string.h>

#include "runtime/session.h"
#include "util/alloc.h"

static onyx_status check_shape(onyx_dtype dtype, int rank, const int64_t *dims, size_t *bytes) {
    if (!ox_dtype_valid(dtype))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "dtype %d is not a known element type", (int)dtype);
    if (rank < 0 || rank > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "rank %d is outside [0, %d]", rank, OX_MAX_RANK);
    if (rank > 0 && !dims) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "dims is NULL for rank %d", rank);
    if (!ox_shape_count_checked(rank, dims, dtype, NULL, bytes))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "a dim is negative or the tensor is too large");
    return ONYX_OK;
}

onyx_status onyx_tensor_create(onyx_dtype dtype, int rank, const int64_t *dims, onyx_tensor **out) {
    ox_error_clear();
    size_t bytes;
    if (!out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "out is NULL");
    OX_TRY(check_shape(dtype, rank, dims, &bytes));
    onyx_tensor *t = ox_calloc(1, sizeof *t);
    if (!t) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_set_shape(&t->t, dtype, rank, dims);
    if (ox_tensor_alloc_data(&t->t) != ONYX_OK) {
        ox_free(t);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for %zu bytes", bytes);
    }
    if (dtype == ONYX_DTYPE_STRING) { /* empty strings, each with its own terminator */
        ox_string *s = t->t.data;
        size_t n = ox_tensor_count(&t->t);
        for (size_t i = 0; i < n; i++) {
            s[i].data = ox_calloc(1, 1);
            if (!s[i].data) {
                ox_tensor_free_data(&t->t);
                ox_free(t);
                return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
            }
        }
    }
    t->owns = 1;
    *out = t;
    return ONYX_OK;
}

onyx_status onyx_tensor_wrap(onyx_dtype dtype, int rank, const int64_t *dims, void *data,
                             size_t nbytes, onyx_tensor **out) {
    ox_error_clear();
    size_t bytes;
    if (!out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "out is NULL");
    if (dtype == ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "string tensors cannot wrap caller memory");
    OX_TRY(check_shape(dtype, rank, dims, &bytes));
    if (nbytes < bytes)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the buffer has %zu bytes, the tensor needs %zu",
                        nbytes, bytes);
    if (bytes && !data) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "data is NULL");
    size_t align = ox_dtype_size(dtype);
    if (align > 8) align = 8;
    if (data && ((uintptr_t)data % align) != 0)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "data is not aligned to %zu bytes for %s", align,
                        ox_dtype_name(dtype));
    onyx_tensor *t = ox_calloc(1, sizeof *t);
    if (!t) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_set_shape(&t->t, dtype, rank, dims);
    t->t.data = data;
    *out = t;
    return ONYX_OK;
}

void onyx_tensor_free(onyx_tensor *t) {
    if (!t) return;
    if (t->owns) ox_tensor_free_data(&t->t);
    ox_free(t);
}

int onyx_tensor_dtype(const onyx_tensor *t) { return t ? t->t.dtype : ONYX_DTYPE_UNDEFINED; }
int onyx_tensor_rank(const onyx_tensor *t) { return t ? t->t.rank : 0; }
const int64_t *onyx_tensor_dims(const onyx_tensor *t) { return t ? t->t.dims : NULL; }
size_t onyx_tensor_count(const onyx_tensor *t) { return t ? ox_tensor_count(&t->t) : 0; }
size_t onyx_tensor_nbytes(const onyx_tensor *t) { return t ? ox_tensor_nbytes(&t->t) : 0; }
void *onyx_tensor_data(onyx_tensor *t) { return t ? t->t.data : NULL; }
const void *onyx_tensor_data_const(const onyx_tensor *t) { return t ? t->t.data : NULL; }

size_t onyx_tensor_sequence_length(const onyx_tensor *t) {
    return t && t->t.dtype == OX_DTYPE_SEQUENCE && t->t.data ? ((const ox_sequence *)t->t.data)->n : 0;
}

onyx_status onyx_tensor_sequence_item(const onyx_tensor *t, size_t i, onyx_tensor **out) {
    ox_error_clear();
    if (!t || !out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "NULL argument");
    size_t n = onyx_tensor_sequence_length(t);
    if (t->t.dtype != OX_DTYPE_SEQUENCE) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the tensor is not a sequence");
    if (i >= n) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "item %zu of a sequence of %zu", i, n);
    onyx_tensor *h = ox_calloc(1, sizeof *h);
    if (!h) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    h->t = ((const ox_sequence *)t->t.data)->items[i]; /* a view: owns nothing */
    *out = h;
    return ONYX_OK;
}

static onyx_status string_at(const onyx_tensor *t, size_t i) {
    if (!t) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "NULL tensor");
    if (t->t.dtype != ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the tensor holds %s, not strings", ox_dtype_name(t->t.dtype));
    if (i >= ox_tensor_count(&t->t))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "element %zu of %zu", i, ox_tensor_count(&t->t));
    return ONYX_OK;
}

onyx_status onyx_tensor_string(const onyx_tensor *t, size_t i, const char **data, size_t *len) {
    ox_error_clear();
    OX_TRY(string_at(t, i));
    if (!data || !len) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "NULL argument");
    const ox_string *s = (const ox_string *)t->t.data + i;
    *data = s->data ? s->data : "";
    *len = s->len;
    return ONYX_OK;
}

onyx_status onyx_tensor_set_string(onyx_tensor *t, size_t i, const char *data, size_t len) {
    ox_error_clear();
    OX_TRY(string_at(t, i));
    if (!data && len) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "data is NULL");
    if (!t->owns) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the tensor does not own its strings");
    size_t total;
    if (!ox_add_ok(len, 1, &total)) return ox_error(ONYX_ERR_LIMIT, "string too long");
    char *copy = ox_malloc(total);
    if (!copy) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    if (len) memcpy(copy, data, len);
    copy[len] = 0;
    ox_string *s = (ox_string *)t->t.data + i;
    ox_free(s->data);
    s->data = copy;
    s->len = len;
    return ONYX_OK;
}
