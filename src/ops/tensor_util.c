/* Element movement shared by the tensor-manipulation ops: dtype-agnostic copies
 * (by element size, strings duplicated), a strided gather used by Transpose and
 * Slice, and small readers/writers for integer lists and float types. */
#include "ops/tensor_util.h"

#include <string.h>

#include "util/alloc.h"

static onyx_status dup_strings(ox_string *d, const ox_string *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t len = s[i].len;
        char *p = ox_malloc(len + 1);
        if (!p) {
            /* leave the rest empty so the output can still be freed */
            for (size_t k = i; k < n; k++) d[k].data = NULL, d[k].len = 0;
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory copying strings");
        }
        if (len) memcpy(p, s[i].data, len);
        p[len] = 0;
        d[i].data = p;
        d[i].len = len;
    }
    return ONYX_OK;
}

onyx_status ox_tx_copy(void *dst, const void *src, size_t n, int32_t dtype) {
    if (n == 0) return ONYX_OK;
    if (dtype == ONYX_DTYPE_STRING) return dup_strings(dst, src, n);
    memcpy(dst, src, n * ox_dtype_size(dtype));
    return ONYX_OK;
}

onyx_status ox_tx_copy_one(void *dst, size_t di, const void *src, size_t si, int32_t dtype) {
    size_t es = ox_dtype_size(dtype);
    return ox_tx_copy((char *)dst + di * es, (const char *)src + si * es, 1, dtype);
}

void ox_tx_strides(int32_t rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

size_t ox_tx_prod(const int64_t *dims, int32_t lo, int32_t hi) {
    size_t n = 1;
    for (int32_t i = lo; i < hi; i++) n *= (size_t)dims[i];
    return n;
}

/* ---- strided copy ------------------------------------------------------------ */

typedef struct {
    uint64_t a, b;
} u128_t;

/* One row: n elements from src at stride (elements), into contiguous dst. */
static void copy_row(char *dst, const char *src, size_t n, int64_t stride, size_t es) {
#define ROW(T)                                                                              \
    for (size_t k = 0; k < n; k++) {                                                        \
        T v;                                                                                \
        memcpy(&v, src + (ptrdiff_t)((int64_t)k * stride) * (ptrdiff_t)sizeof(T), sizeof v); \
        memcpy(dst + k * sizeof(T), &v, sizeof v);                                          \
    }                                                                                       \
    break;
    switch (es) {
    case 1: ROW(uint8_t)
    case 2: ROW(uint16_t)
    case 4: ROW(uint32_t)
    case 8: ROW(uint64_t)
    case 16: ROW(u128_t)
    default:
        for (size_t k = 0; k < n; k++)
            memcpy(dst + k * es, src + (ptrdiff_t)((int64_t)k * stride) * (ptrdiff_t)es, es);
    }
#undef ROW
}

/* out[i][j] = src[i + j*cstride] for i < rows, j < cols; out row-major (rows x cols).
 * Tiled so both sides stay in cache. */
static void transpose_2d(char *dst, const char *src, size_t rows, size_t cols, int64_t cstride,
                         size_t es) {
    enum { TILE = 32 };
    for (size_t i0 = 0; i0 < rows; i0 += TILE) {
        size_t i1 = i0 + TILE < rows ? i0 + TILE : rows;
        for (size_t j0 = 0; j0 < cols; j0 += TILE) {
            size_t j1 = j0 + TILE < cols ? j0 + TILE : cols;
#define TILE_LOOP(T)                                                                        \
    for (size_t j = j0; j < j1; j++) {                                                      \
        const char *s = src + (ptrdiff_t)((int64_t)j * cstride) * (ptrdiff_t)sizeof(T);      \
        for (size_t i = i0; i < i1; i++) {                                                  \
            T v;                                                                            \
            memcpy(&v, s + i * sizeof(T), sizeof v);                                        \
            memcpy(dst + (i * cols + j) * sizeof(T), &v, sizeof v);                         \
        }                                                                                   \
    }                                                                                       \
    break;
            switch (es) {
            case 1: TILE_LOOP(uint8_t)
            case 2: TILE_LOOP(uint16_t)
            case 4: TILE_LOOP(uint32_t)
            case 8: TILE_LOOP(uint64_t)
            default: TILE_LOOP(u128_t)
            }
#undef TILE_LOOP
        }
    }
}

onyx_status ox_tx_strided_copy(void *dst, const void *src, const ox_tx_view *v, int32_t dtype) {
    size_t es = ox_dtype_size(dtype);
    int64_t dims[OX_MAX_RANK], str[OX_MAX_RANK];
    int32_t r = 0;
    /* Drop unit dims and merge dims that are contiguous with each other in the source. */
    for (int32_t i = 0; i < v->rank; i++) {
        if (v->dims[i] == 0) return ONYX_OK;
        if (v->dims[i] == 1) continue;
        if (r > 0 && str[r - 1] == v->strides[i] * v->dims[i]) {
            dims[r - 1] *= v->dims[i];
            str[r - 1] = v->strides[i];
        } else {
            dims[r] = v->dims[i];
            str[r] = v->strides[i];
            r++;
        }
    }
    const char *base = (const char *)src + (size_t)v->offset * es;
    char *out = dst;
    if (r == 0) return ox_tx_copy(out, base, 1, dtype);

    size_t inner = (size_t)dims[r - 1];
    int64_t istride = str[r - 1];
    int tiled = dtype != ONYX_DTYPE_STRING && r >= 2 && istride != 1 && str[r - 2] == 1 &&
                es <= 16 && (es & (es - 1)) == 0;
    int32_t outer_rank = tiled ? r - 2 : r - 1;
    size_t block = tiled ? inner * (size_t)dims[r - 2] : inner;
    size_t outer = ox_tx_prod(dims, 0, outer_rank);
    int64_t idx[OX_MAX_RANK] = {0};
    int64_t off = 0;
    for (size_t o = 0; o < outer; o++) {
        const char *s = base + (ptrdiff_t)off * (ptrdiff_t)es;
        if (tiled) {
            transpose_2d(out, s, (size_t)dims[r - 2], inner, istride, es);
        } else if (istride == 1) {
            OX_TRY(ox_tx_copy(out, s, inner, dtype));
        } else if (dtype == ONYX_DTYPE_STRING) {
            for (size_t k = 0; k < inner; k++)
                OX_TRY(ox_tx_copy(out + k * es, s + (ptrdiff_t)((int64_t)k * istride) * (ptrdiff_t)es,
                                  1, dtype));
        } else {
            copy_row(out, s, inner, istride, es);
        }
        out += block * es;
        /* advance the outer index like an odometer */
        for (int32_t d = outer_rank - 1; d >= 0; d--) {
            off += str[d];
            if (++idx[d] < dims[d]) break;
            off -= str[d] * dims[d];
            idx[d] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- readers and writers ------------------------------------------------------ */

onyx_status ox_tx_read_ints(const ox_tensor *t, const char *what, int allow_int32, int64_t *out,
                            size_t cap, size_t *n) {
    if (t->dtype != ONYX_DTYPE_INT64 && !(allow_int32 && t->dtype == ONYX_DTYPE_INT32))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected %s", what,
                        ox_dtype_name(t->dtype), allow_int32 ? "int32 or int64" : "int64");
    if (t->rank > 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be 1-D, got rank %d", what,
                        t->rank);
    size_t count = ox_tensor_count(t);
    if (count > cap)
        return ox_error(ONYX_ERR_LIMIT, "input '%s' has %zu values, at most %zu allowed", what,
                        count, cap);
    for (size_t i = 0; i < count; i++) out[i] = ox_tensor_get_int(t, i);
    *n = count;
    return ONYX_OK;
}

onyx_status ox_tx_check_size(const ox_tensor *out, const char *what) {
    if (!ox_shape_count_checked(out->rank, out->dims, out->dtype, NULL, NULL)) {
        char buf[300];
        return ox_error(ONYX_ERR_LIMIT, "%s shape %s is too large", what,
                        ox_shape_describe(out->rank, out->dims, buf, sizeof buf));
    }
    return ONYX_OK;
}

onyx_status ox_tx_need_input(const ox_op_ctx *c, size_t i, const char *what) {
    if (!ox_has_input(c, i))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu ('%s') is required", i, what);
    if (!ox_dtype_valid(c->in[i]->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has an unknown element type %d", what,
                        c->in[i]->dtype);
    return ONYX_OK;
}

uint16_t ox_tx_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past the largest half */
    if (ax < 0x38800000u) { /* half subnormal (or zero): units of 2^-24 */
        if (ax < 0x33000000u) return sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e, h = m >> shift, rem = m & ((1u << shift) - 1),
                 halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t r = ax - 0x38000000u, h = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

uint16_t ox_tx_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

float ox_tx_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0 && m == 0) {
        bits = sign;
    } else if (e == 0) { /* subnormal: m * 2^-24 */
        float f = (float)m * (1.0f / 16777216.0f);
        return sign ? -f : f;
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float ox_tx_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int64_t ox_tx_get_index(const ox_tensor *t, size_t i, int *ok) {
    *ok = 1;
    if (!ox_dtype_is_float(t->dtype)) return ox_tensor_get_int(t, i);
    double v = ox_tensor_get_double(t, i);
    if (!(v > -9.2e18 && v < 9.2e18)) {
        *ok = 0;
        return 0;
    }
    return (int64_t)v;
}

int ox_tx_store_float(void *data, size_t i, int32_t dtype, double v) {
    switch (dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)data)[i] = (float)v; return 1;
    case ONYX_DTYPE_DOUBLE: ((double *)data)[i] = v; return 1;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)data)[i] = ox_tx_f32_to_f16((float)v); return 1;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = ox_tx_f32_to_bf16((float)v); return 1;
    default: return 0;
    }
}

int ox_tx_store_int(void *data, size_t i, int32_t dtype, int64_t v) {
    uint64_t u = (uint64_t)v;
    switch (dtype) {
    case ONYX_DTYPE_INT8:
    case ONYX_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)u; return 1;
    case ONYX_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; return 1;
    case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)u; return 1;
    case ONYX_DTYPE_INT32:
    case ONYX_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)u; return 1;
    case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_UINT64: ((uint64_t *)data)[i] = u; return 1;
    default: return 0;
    }
}
