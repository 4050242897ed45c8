/* Element movement shared by the tensor-manipulation ops: dtype-agnostic copies
 * (by element size, strings duplicated), a strided gather used by Transpose and
 * Slice, and small readers/writers for integer lists and float types. */
#include "ops/tensor_util.h"

#include <string.h>

#include "util/alloc.h"
#include "util/threadpool.h"

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
#define ROW(T)                                                                                     \
    for (size_t k = 0; k < n; k++) {                                                               \
        T v;                                                                                       \
        memcpy(&v, src + (ptrdiff_t)((int64_t)k * stride) * (ptrdiff_t)sizeof(T), sizeof v);       \
        memcpy(dst + k * sizeof(T), &v, sizeof v);                                                 \
    }                                                                                              \
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

/* out[i][j] = src[i + j*cstride] for lo <= i < hi, j < cols; out row-major (rows x cols).
 * Blocked in TB x TB tiles so both sides stay in cache; inside a tile, MB x MB
 * blocks pass through a local array so each write is one contiguous run (plain
 * tiling with power-of-two strides thrashed the cache: 4096^2 floats took 5x longer). */
#define TB 64
#define MB 8
#define AT(base, T, k) ((base) + (ptrdiff_t)(k) * (ptrdiff_t)sizeof(T))
#define T2D_BLOCK(T)                                                                               \
    if (i + MB <= i1 && j + MB <= j1) {                                                            \
        T t[MB][MB];                                                                               \
        for (size_t b = 0; b < MB; b++) {                                                          \
            const char *s = AT(src, T, (int64_t)(j + b) * cstride + (int64_t)i);                   \
            for (size_t a = 0; a < MB; a++) memcpy(&t[a][b], AT(s, T, a), sizeof(T));              \
        }                                                                                          \
        for (size_t a = 0; a < MB; a++) memcpy(AT(dst, T, (i + a) * cols + j), t[a], sizeof t[a]); \
    } else {                                                                                       \
        size_t ie = i + MB < i1 ? i + MB : i1, je = j + MB < j1 ? j + MB : j1;                     \
        for (size_t b = j; b < je; b++)                                                            \
            for (size_t a = i; a < ie; a++)                                                        \
                memcpy(AT(dst, T, a * cols + b), AT(src, T, (int64_t)b * cstride + (int64_t)a),    \
                       sizeof(T));                                                                 \
    }
#define T2D(T)                                                                                     \
    for (size_t i0 = lo; i0 < hi; i0 += TB) {                                                      \
        size_t i1 = i0 + TB < hi ? i0 + TB : hi;                                                   \
        for (size_t j0 = 0; j0 < cols; j0 += TB) {                                                 \
            size_t j1 = j0 + TB < cols ? j0 + TB : cols;                                           \
            for (size_t i = i0; i < i1; i += MB)                                                   \
                for (size_t j = j0; j < j1; j += MB) T2D_BLOCK(T)                                  \
        }                                                                                          \
    }                                                                                              \
    break;

static void transpose_2d(char *dst, const char *src, size_t lo, size_t hi, size_t cols,
                         int64_t cstride, size_t es) {
    switch (es) {
    case 1: T2D(uint8_t)
    case 2: T2D(uint16_t)
    case 4: T2D(uint32_t)
    case 8: T2D(uint64_t)
    default: T2D(u128_t)
    }
}
#undef T2D
#undef T2D_BLOCK
#undef AT
#undef MB
#undef TB

/* A strided copy after coalescing: the outer dims are walked like an odometer;
 * each outer index copies one row (inner elements at istride), or, when the last
 * two dims are swapped relative to the source, one 2-D transpose split into row
 * blocks. Work items are (outer index, row block). */
typedef struct {
    int32_t outer_rank;
    int64_t dims[OX_MAX_RANK], str[OX_MAX_RANK];
    const char *base;
    char *out;
    size_t es, inner, block, row_blocks, rows;
    int64_t istride;
    int tiled;
} copy_plan;

enum { ROW_BLOCK = 64 };

static void plan_items(void *arg, size_t begin, size_t end) {
    const copy_plan *p = arg;
    size_t o = begin / p->row_blocks, rb = begin % p->row_blocks;
    int64_t idx[OX_MAX_RANK], off = 0;
    size_t rest = o;
    for (int32_t d = p->outer_rank - 1; d >= 0; d--) {
        idx[d] = (int64_t)(rest % (size_t)p->dims[d]);
        rest /= (size_t)p->dims[d];
        off += idx[d] * p->str[d];
    }
    for (size_t item = begin; item < end; item++) {
        const char *s = p->base + (ptrdiff_t)off * (ptrdiff_t)p->es;
        char *out = p->out + o * p->block * p->es;
        if (p->tiled) {
            size_t lo = rb * ROW_BLOCK, hi = lo + ROW_BLOCK < p->rows ? lo + ROW_BLOCK : p->rows;
            transpose_2d(out, s, lo, hi, p->inner, p->istride, p->es);
        } else if (p->istride == 1) {
            memcpy(out, s, p->inner * p->es);
        } else {
            copy_row(out, s, p->inner, p->istride, p->es);
        }
        if (++rb < p->row_blocks) continue;
        rb = 0;
        o++;
        for (int32_t d = p->outer_rank - 1; d >= 0; d--) {
            off += p->str[d];
            if (++idx[d] < p->dims[d]) break;
            off -= p->str[d] * p->dims[d];
            idx[d] = 0;
        }
    }
}

onyx_status ox_tx_strided_copy(void *dst, const void *src, const ox_tx_view *v, int32_t dtype,
                               ox_threadpool *pool) {
    copy_plan p;
    p.es = ox_dtype_size(dtype);
    int32_t r = 0;
    /* Drop unit dims and merge dims that are contiguous with each other in the source. */
    for (int32_t i = 0; i < v->rank; i++) {
        if (v->dims[i] == 0) return ONYX_OK;
        if (v->dims[i] == 1) continue;
        if (r > 0 && p.str[r - 1] == v->strides[i] * v->dims[i]) {
            p.dims[r - 1] *= v->dims[i];
            p.str[r - 1] = v->strides[i];
        } else {
            p.dims[r] = v->dims[i];
            p.str[r] = v->strides[i];
            r++;
        }
    }
    p.base = (const char *)src + (size_t)v->offset * p.es;
    p.out = dst;
    if (r == 0) return ox_tx_copy(p.out, p.base, 1, dtype);
    p.inner = (size_t)p.dims[r - 1];
    p.istride = p.str[r - 1];
    size_t total = ox_tx_prod(p.dims, 0, r);

    if (dtype == ONYX_DTYPE_STRING) { /* element by element: each copy may fail */
        int64_t idx[OX_MAX_RANK] = {0}, off = 0;
        for (size_t k = 0; k < total; k++) {
            OX_TRY(ox_tx_copy((ox_string *)p.out + k, (const ox_string *)p.base + off, 1, dtype));
            for (int32_t d = r - 1; d >= 0; d--) {
                off += p.str[d];
                if (++idx[d] < p.dims[d]) break;
                off -= p.str[d] * p.dims[d];
                idx[d] = 0;
            }
        }
        return ONYX_OK;
    }
    p.tiled =
        r >= 2 && p.istride != 1 && p.str[r - 2] == 1 && p.es <= 16 && (p.es & (p.es - 1)) == 0;
    p.outer_rank = p.tiled ? r - 2 : r - 1;
    p.rows = p.tiled ? (size_t)p.dims[r - 2] : 1;
    p.block = p.inner * p.rows;
    p.row_blocks = p.tiled ? (p.rows + ROW_BLOCK - 1) / ROW_BLOCK : 1;
    size_t items = ox_tx_prod(p.dims, 0, p.outer_rank) * p.row_blocks;
    size_t item_bytes = total * p.es / items;
    /* about 256 KiB per task; small copies stay on the calling thread */
    size_t grain =
        item_bytes >= ((size_t)1 << 18) ? 1 : ((size_t)1 << 18) / (item_bytes ? item_bytes : 1);
    if (pool && total * p.es >= ((size_t)1 << 20))
        ox_parallel_for(pool, items, grain, plan_items, &p);
    else
        plan_items(&p, 0, items);
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
    int32_t t = c->in[i]->dtype;
    if (t == OX_DTYPE_SEQUENCE || t == OX_DTYPE_NONE)
        return ox_error(ONYX_ERR_UNSUPPORTED, "input '%s' is a %s; this op takes tensors", what,
                        t == OX_DTYPE_SEQUENCE ? "sequence" : "empty optional");
    if (!ox_dtype_valid(t))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has an unknown element type %d", what,
                        t);
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

int ox_tx_scalar_type(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_INT8:
    case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_INT32:
    case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_UINT8:
    case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_UINT32:
    case ONYX_DTYPE_UINT64:
    case ONYX_DTYPE_BOOL:
    case ONYX_DTYPE_FLOAT:
    case ONYX_DTYPE_DOUBLE:
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: return 1;
    default: return 0;
    }
}

int64_t ox_tx_get_index(const ox_tensor *t, size_t i, int *ok) {
    *ok = 1;
    if (!ox_tx_scalar_type(t->dtype)) {
        *ok = 0;
        return 0;
    }
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
