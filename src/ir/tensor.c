#include "ir/tensor.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

size_t ox_dtype_size(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_FLOAT: return 4;
    case ONYX_DTYPE_UINT8: return 1;
    case ONYX_DTYPE_INT8: return 1;
    case ONYX_DTYPE_UINT16: return 2;
    case ONYX_DTYPE_INT16: return 2;
    case ONYX_DTYPE_INT32: return 4;
    case ONYX_DTYPE_INT64: return 8;
    case ONYX_DTYPE_STRING: return sizeof(ox_string);
    case ONYX_DTYPE_BOOL: return 1;
    case ONYX_DTYPE_FLOAT16: return 2;
    case ONYX_DTYPE_DOUBLE: return 8;
    case ONYX_DTYPE_UINT32: return 4;
    case ONYX_DTYPE_UINT64: return 8;
    case ONYX_DTYPE_COMPLEX64: return 8;
    case ONYX_DTYPE_COMPLEX128: return 16;
    case ONYX_DTYPE_BFLOAT16: return 2;
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ:
    case ONYX_DTYPE_FLOAT8E8M0: return 1;
    case ONYX_DTYPE_UINT2:
    case ONYX_DTYPE_INT2:
    case ONYX_DTYPE_UINT4:
    case ONYX_DTYPE_INT4:
    case ONYX_DTYPE_FLOAT4E2M1: return 1;
    default: return 0;
    }
}

int ox_dtype_valid(int32_t t) { return t > 0 && ox_dtype_size(t) > 0; }

const char *ox_dtype_name(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_FLOAT: return "float32";
    case ONYX_DTYPE_UINT8: return "uint8";
    case ONYX_DTYPE_INT8: return "int8";
    case ONYX_DTYPE_UINT16: return "uint16";
    case ONYX_DTYPE_INT16: return "int16";
    case ONYX_DTYPE_INT32: return "int32";
    case ONYX_DTYPE_INT64: return "int64";
    case ONYX_DTYPE_STRING: return "string";
    case ONYX_DTYPE_BOOL: return "bool";
    case ONYX_DTYPE_FLOAT16: return "float16";
    case ONYX_DTYPE_DOUBLE: return "float64";
    case ONYX_DTYPE_UINT32: return "uint32";
    case ONYX_DTYPE_UINT64: return "uint64";
    case ONYX_DTYPE_COMPLEX64: return "complex64";
    case ONYX_DTYPE_COMPLEX128: return "complex128";
    case ONYX_DTYPE_BFLOAT16: return "bfloat16";
    case ONYX_DTYPE_FLOAT8E4M3FN: return "float8e4m3fn";
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return "float8e4m3fnuz";
    case ONYX_DTYPE_FLOAT8E5M2: return "float8e5m2";
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return "float8e5m2fnuz";
    case ONYX_DTYPE_UINT4: return "uint4";
    case ONYX_DTYPE_INT4: return "int4";
    case ONYX_DTYPE_FLOAT4E2M1: return "float4e2m1";
    case ONYX_DTYPE_FLOAT8E8M0: return "float8e8m0";
    case ONYX_DTYPE_UINT2: return "uint2";
    case ONYX_DTYPE_INT2: return "int2";
    case OX_DTYPE_SEQUENCE: return "sequence";
    case OX_DTYPE_NONE: return "none";
    default: return "unknown";
    }
}

const char *onyx_dtype_name(onyx_dtype t) { return ox_dtype_name(t); }

size_t onyx_dtype_size(onyx_dtype t) {
    if (t == ONYX_DTYPE_STRING || t == ONYX_DTYPE_UINT4 || t == ONYX_DTYPE_INT4 ||
        t == ONYX_DTYPE_FLOAT4E2M1 || t == ONYX_DTYPE_UINT2 || t == ONYX_DTYPE_INT2)
        return 0;
    return ox_dtype_size(t);
}

int ox_dtype_is_float(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_FLOAT:
    case ONYX_DTYPE_DOUBLE:
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16:
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ:
    case ONYX_DTYPE_FLOAT8E8M0:
    case ONYX_DTYPE_FLOAT4E2M1: return 1;
    default: return 0;
    }
}

int ox_dtype_is_signed_int(int32_t t) {
    return t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_INT16 || t == ONYX_DTYPE_INT32 ||
           t == ONYX_DTYPE_INT64 || t == ONYX_DTYPE_INT4 || t == ONYX_DTYPE_INT2;
}

int ox_dtype_is_int(int32_t t) {
    return ox_dtype_is_signed_int(t) || t == ONYX_DTYPE_UINT8 || t == ONYX_DTYPE_UINT16 ||
           t == ONYX_DTYPE_UINT32 || t == ONYX_DTYPE_UINT64 || t == ONYX_DTYPE_UINT4 ||
           t == ONYX_DTYPE_UINT2;
}

size_t ox_shape_count(int32_t rank, const int64_t *dims) {
    size_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || !ox_mul_ok(n, (size_t)dims[i], &n)) return 0;
    }
    return n;
}

int ox_shape_count_checked(int32_t rank, const int64_t *dims, int32_t dtype, size_t *count,
                           size_t *nbytes) {
    if (rank < 0 || rank > OX_MAX_RANK) return 0;
    size_t n = 1, b;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0) return 0;
        if ((uint64_t)dims[i] > (uint64_t)SIZE_MAX || !ox_mul_ok(n, (size_t)dims[i], &n)) return 0;
    }
    if (!ox_mul_ok(n, ox_dtype_size(dtype), &b)) return 0;
    /* Keep byte sizes well inside ptrdiff_t so pointer arithmetic never overflows. */
    if (b > ((size_t)1 << 62)) return 0;
    if (count) *count = n;
    if (nbytes) *nbytes = b;
    return 1;
}

int ox_tensor_same_shape(const ox_tensor *a, const ox_tensor *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    return a->rank == 0 || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) == 0;
}

const char *ox_shape_describe(int32_t rank, const int64_t *dims, char *buf, size_t cap) {
    size_t o = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int32_t i = 0; i < rank && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

const char *ox_tensor_describe(const ox_tensor *t, char *buf, size_t cap) {
    char shape[256];
    ox_shape_describe(t->rank, t->dims, shape, sizeof shape);
    snprintf(buf, cap, "%s%s", ox_dtype_name(t->dtype), shape);
    return buf;
}

void ox_tensor_free_data(ox_tensor *t) {
    if (!t->data) return;
    if (t->dtype == OX_DTYPE_SEQUENCE) {
        ox_sequence *s = t->data;
        for (size_t i = 0; i < s->n; i++) ox_tensor_free_data(&s->items[i]);
        ox_free(s->items);
        ox_free(s);
        t->data = NULL;
        return;
    }
    if (t->dtype == ONYX_DTYPE_STRING) {
        ox_string *s = t->data;
        size_t n = ox_tensor_count(t);
        for (size_t i = 0; i < n; i++) ox_free(s[i].data);
    }
    ox_free_aligned(t->data);
    t->data = NULL;
}

onyx_status ox_tensor_alloc_uninit(ox_tensor *t) {
    size_t n, bytes;
    /* sequences and empty optionals have no element data: the op builds them */
    if (t->dtype == OX_DTYPE_SEQUENCE || t->dtype == OX_DTYPE_NONE) {
        t->data = NULL;
        return ONYX_OK;
    }
    if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &n, &bytes))
        return ONYX_ERR_LIMIT;
    t->data = ox_malloc_aligned(bytes);
    return t->data ? ONYX_OK : ONYX_ERR_OUT_OF_MEMORY;
}

onyx_status ox_tensor_alloc_data(ox_tensor *t) {
    OX_TRY(ox_tensor_alloc_uninit(t));
    if (t->data) memset(t->data, 0, ox_tensor_nbytes(t));
    return ONYX_OK;
}

onyx_status ox_sequence_init(ox_tensor *out, int32_t elem_dtype) {
    memset(out, 0, sizeof *out);
    ox_sequence *s = ox_calloc(1, sizeof *s);
    if (!s) return ONYX_ERR_OUT_OF_MEMORY;
    s->elem_dtype = elem_dtype;
    out->dtype = OX_DTYPE_SEQUENCE;
    out->data = s;
    return ONYX_OK;
}

onyx_status ox_sequence_insert(ox_sequence *s, size_t pos, ox_tensor *item) {
    if (pos > s->n) return ONYX_ERR_INVALID_ARGUMENT;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        ox_tensor *items = ox_realloc(s->items, cap * sizeof *items);
        if (!items) return ONYX_ERR_OUT_OF_MEMORY;
        s->items = items;
        s->cap = cap;
    }
    memmove(&s->items[pos + 1], &s->items[pos], (s->n - pos) * sizeof *s->items);
    s->items[pos] = *item;
    s->n++;
    if (s->elem_dtype == ONYX_DTYPE_UNDEFINED) s->elem_dtype = item->dtype;
    item->data = NULL;
    return ONYX_OK;
}

onyx_status ox_value_copy(const ox_tensor *src, ox_tensor *dst) {
    if (src->dtype == OX_DTYPE_NONE) {
        *dst = *src;
        dst->data = NULL;
        return ONYX_OK;
    }
    if (src->dtype == OX_DTYPE_SEQUENCE) {
        const ox_sequence *a = src->data;
        OX_TRY(ox_sequence_init(dst, a->elem_dtype));
        for (size_t i = 0; i < a->n; i++) {
            ox_tensor item;
            onyx_status st = ox_value_copy(&a->items[i], &item);
            if (st == ONYX_OK) st = ox_sequence_insert(dst->data, i, &item);
            if (st != ONYX_OK) {
                ox_tensor_free_data(&item);
                ox_tensor_free_data(dst);
                return st;
            }
        }
        return ONYX_OK;
    }
    *dst = *src;
    dst->data = NULL;
    /* plain elements are all copied over: no zeroing first (3 MB outputs would be
     * written twice) */
    OX_TRY(src->dtype == ONYX_DTYPE_STRING ? ox_tensor_alloc_data(dst)
                                           : ox_tensor_alloc_uninit(dst));
    size_t n = ox_tensor_count(src);
    if (src->dtype == ONYX_DTYPE_STRING) {
        const ox_string *a = src->data;
        ox_string *b = dst->data;
        for (size_t i = 0; i < n; i++) {
            b[i].len = a[i].len;
            b[i].data = ox_malloc(a[i].len + 1);
            if (!b[i].data) {
                ox_tensor_free_data(dst);
                return ONYX_ERR_OUT_OF_MEMORY;
            }
            if (a[i].len) memcpy(b[i].data, a[i].data, a[i].len);
            b[i].data[a[i].len] = 0;
        }
    } else if (n) {
        memcpy(dst->data, src->data, ox_tensor_nbytes(src));
    }
    return ONYX_OK;
}
