/* Ops along one axis that return positions: ArgMax, ArgMin, TopK.
 * Each views its input as (outer, n, inner): n values spaced `inner` apart. */
#include <math.h>
#include <string.h>

#include "ops/reduce.h"
#include "util/alloc.h"

/* float32/64, float16, bfloat16 and the 8- to 64-bit integers */
static int numeric(int32_t dt) {
    return dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || dt == ONYX_DTYPE_FLOAT16 ||
           dt == ONYX_DTYPE_BFLOAT16 ||
           (ox_dtype_is_int(dt) && dt != ONYX_DTYPE_INT4 && dt != ONYX_DTYPE_UINT4 &&
            dt != ONYX_DTYPE_INT2 && dt != ONYX_DTYPE_UINT2);
}

/* ---- ArgMax / ArgMin -------------------------------------------------------------- */

typedef struct {
    int is_min, keepdims, last;
    int64_t axis;
} argstate;

onyx_status ox_argmax_prepare(ox_op_ctx *c) {
    argstate *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->is_min = strcmp(c->node->op_type, "ArgMin") == 0;
    s->axis = ox_attr_int(c, "axis", 0);
    s->keepdims = ox_attr_int(c, "keepdims", 1) != 0;
    s->last = ox_attr_int(c, "select_last_index", 0) != 0;
    return ox_op_status(c);
}

onyx_status ox_argmax_infer(ox_op_ctx *c) {
    const argstate *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'data' is missing");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output 'reduced' is missing");
    const ox_tensor *x = c->in[0];
    if (!numeric(x->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input 'data' has unsupported type %s",
                        ox_dtype_name(x->dtype));
    int32_t a;
    if (ox_norm_axis(s->axis, x->rank, &a) != ONYX_OK)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' = %lld is out of range for rank %d",
                        (long long)s->axis, x->rank);
    if (x->dims[a] == 0 &&
        ox_red_span(x->dims, 0, a) * ox_red_span(x->dims, a + 1, x->rank) > 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "axis %d of input 'data' is empty: no index to return", a);
    int64_t dims[OX_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d != a) dims[r++] = x->dims[d];
        else if (s->keepdims) dims[r++] = 1;
    }
    ox_set_shape(c->out[0], ONYX_DTYPE_INT64, r, dims);
    return ONYX_OK;
}

/* Whether v replaces the best value b so far. NaN counts as beyond every number. */
#define ARG_BETTER(v, b, ISNAN)                                                            \
    (is_min ? (last ? ((v) <= (b) || ISNAN(v)) : ((v) < (b) || (ISNAN(v) && !ISNAN(b))))   \
            : (last ? ((v) >= (b) || ISNAN(v)) : ((v) > (b) || (ISNAN(v) && !ISNAN(b)))))
#define NO_NAN(v) 0
#define ID(v) (v)
#define ARG_CHUNK 64

#define DEFINE_ARG(SUF, T, V, LOAD, ISNAN)                                                 \
    static void arg_##SUF(const void *xv, int64_t *y, size_t outer, size_t n, size_t inner, \
                          int is_min, int last) {                                          \
        const T *x = xv;                                                                   \
        V best[ARG_CHUNK];                                                                 \
        int64_t bi[ARG_CHUNK];                                                             \
        for (size_t o = 0; o < outer; o++)                                                 \
            for (size_t c0 = 0; c0 < inner; c0 += ARG_CHUNK) {                             \
                size_t w = inner - c0 < ARG_CHUNK ? inner - c0 : ARG_CHUNK;                \
                const T *xb = x + o * n * inner + c0;                                      \
                for (size_t i = 0; i < w; i++) {                                           \
                    best[i] = LOAD(xb[i]);                                                 \
                    bi[i] = 0;                                                             \
                }                                                                          \
                for (size_t j = 1; j < n; j++)                                             \
                    for (size_t i = 0; i < w; i++) {                                       \
                        V v = LOAD(xb[j * inner + i]);                                     \
                        if (ARG_BETTER(v, best[i], ISNAN)) {                               \
                            best[i] = v;                                                   \
                            bi[i] = (int64_t)j;                                            \
                        }                                                                  \
                    }                                                                      \
                memcpy(y + o * inner + c0, bi, w * sizeof *bi);                            \
            }                                                                              \
    }

DEFINE_ARG(f32, float, float, ID, isnan)
DEFINE_ARG(f64, double, double, ID, isnan)
DEFINE_ARG(f16, uint16_t, float, ox_red_h2f, isnan)
DEFINE_ARG(bf16, uint16_t, float, ox_red_bf2f, isnan)
DEFINE_ARG(i8, int8_t, int8_t, ID, NO_NAN)
DEFINE_ARG(i16, int16_t, int16_t, ID, NO_NAN)
DEFINE_ARG(i32, int32_t, int32_t, ID, NO_NAN)
DEFINE_ARG(i64, int64_t, int64_t, ID, NO_NAN)
DEFINE_ARG(u8, uint8_t, uint8_t, ID, NO_NAN)
DEFINE_ARG(u16, uint16_t, uint16_t, ID, NO_NAN)
DEFINE_ARG(u32, uint32_t, uint32_t, ID, NO_NAN)
DEFINE_ARG(u64, uint64_t, uint64_t, ID, NO_NAN)

onyx_status ox_argmax_run(ox_op_ctx *c) {
    const argstate *s = c->state;
    const ox_tensor *x = c->in[0];
    int32_t a;
    OX_TRY(ox_norm_axis(s->axis, x->rank, &a));
    size_t outer = ox_red_span(x->dims, 0, a), n = (size_t)x->dims[a];
    size_t inner = ox_red_span(x->dims, a + 1, x->rank);
    if (outer * inner == 0) return ONYX_OK;
    if (n == 0) return ox_error(ONYX_ERR_RUNTIME, "axis %d of input 'data' is empty", a);
    void (*fn)(const void *, int64_t *, size_t, size_t, size_t, int, int);
    switch (x->dtype) {
    case ONYX_DTYPE_FLOAT: fn = arg_f32; break;
    case ONYX_DTYPE_DOUBLE: fn = arg_f64; break;
    case ONYX_DTYPE_FLOAT16: fn = arg_f16; break;
    case ONYX_DTYPE_BFLOAT16: fn = arg_bf16; break;
    case ONYX_DTYPE_INT8: fn = arg_i8; break;
    case ONYX_DTYPE_INT16: fn = arg_i16; break;
    case ONYX_DTYPE_INT32: fn = arg_i32; break;
    case ONYX_DTYPE_INT64: fn = arg_i64; break;
    case ONYX_DTYPE_UINT8: fn = arg_u8; break;
    case ONYX_DTYPE_UINT16: fn = arg_u16; break;
    case ONYX_DTYPE_UINT32: fn = arg_u32; break;
    case ONYX_DTYPE_UINT64: fn = arg_u64; break;
    default: return ox_error(ONYX_ERR_UNSUPPORTED, "input 'data' has unsupported type");
    }
    fn(x->data, c->out[0]->data, outer, n, inner, s->is_min, s->last);
    return ONYX_OK;
}

/* ---- TopK ------------------------------------------------------------------------- */

typedef struct {
    int64_t axis, k_attr;
    int largest;
} topkstate;

onyx_status ox_topk_prepare(ox_op_ctx *c) {
    topkstate *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->axis = ox_attr_int(c, "axis", -1);
    s->largest = c->opset >= 11 ? ox_attr_int(c, "largest", 1) != 0 : 1;
    if (c->opset < 10) {
        if (!ox_attr_get(c, "k"))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'k' is required before opset 10");
        s->k_attr = ox_attr_int(c, "k", 0);
    }
    /* 'sorted' = 0 leaves the order unspecified: the sorted order is a valid answer. */
    return ox_op_status(c);
}

/* k, the axis and its length; OX_NEED_VALUE when K is not known yet. */
static onyx_status topk_args(ox_op_ctx *c, const ox_tensor *x, int64_t *k, int32_t *a) {
    const topkstate *s = c->state;
    if (ox_norm_axis(s->axis, x->rank, a) != ONYX_OK)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' = %lld is out of range for rank %d",
                        (long long)s->axis, x->rank);
    if (c->opset < 10) {
        *k = s->k_attr;
    } else {
        if (!ox_has_input(c, 1)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'K' is missing");
        const ox_tensor *kt = c->in[1];
        if (kt->dtype != ONYX_DTYPE_INT64 || ox_tensor_count(kt) != 1 || kt->rank > 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'K' must be an int64 tensor of one element");
        if (!kt->data) return OX_NEED_VALUE;
        *k = ((const int64_t *)kt->data)[0];
    }
    if (*k < 0 || *k > x->dims[*a])
        return ox_error(ONYX_ERR_INVALID_MODEL, "k = %lld is outside [0, %lld] (the length of axis %d)",
                        (long long)*k, (long long)x->dims[*a], *a);
    return ONYX_OK;
}

onyx_status ox_topk_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'X' is missing");
    const ox_tensor *x = c->in[0];
    if (!numeric(x->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input 'X' has unsupported type %s",
                        ox_dtype_name(x->dtype));
    int64_t k;
    int32_t a;
    onyx_status st = topk_args(c, x, &k, &a);
    if (st != ONYX_OK) return st;
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[a] = k;
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    if (ox_has_output(c, 1)) ox_set_shape(c->out[1], ONYX_DTYPE_INT64, x->rank, dims);
    /* the heap of the k best (key, index) pairs of one line */
    if (!ox_mul_ok((size_t)k, 16, &c->workspace_bytes))
        return ox_error(ONYX_ERR_LIMIT, "input 'X' is too large");
    return ONYX_OK;
}

typedef struct {
    uint64_t key; /* order-preserving image of the value */
    int64_t idx;
} kv;

static uint64_t order_key(const ox_tensor *x, size_t i) {
    int32_t dt = x->dtype;
    if (ox_dtype_is_signed_int(dt)) return (uint64_t)ox_tensor_get_int(x, i) ^ 0x8000000000000000ull;
    if (dt == ONYX_DTYPE_UINT64) return ((const uint64_t *)x->data)[i];
    if (ox_dtype_is_int(dt)) return (uint64_t)ox_tensor_get_int(x, i);
    double d = ox_tensor_get_double(x, i);
    if (d == 0) d = 0;          /* -0 ties with +0 */
    if (d != d) d = (double)NAN; /* every NaN the same, above +inf */
    uint64_t b;
    memcpy(&b, &d, 8);
    return (b >> 63) ? ~b : b | 0x8000000000000000ull;
}

/* The output order: larger (or smaller) keys first, equal keys by lower index. */
static inline int kv_before(kv a, kv b, int largest) {
    if (a.key != b.key) return largest ? a.key > b.key : a.key < b.key;
    return a.idx < b.idx;
}

/* A binary heap whose root is the pair that comes last in the output order. */
static void heap_down(kv *h, size_t n, size_t i, int largest) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && kv_before(h[w], h[l], largest)) w = l;
        if (r < n && kv_before(h[w], h[r], largest)) w = r;
        if (w == i) return;
        kv t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heap_up(kv *h, size_t i, int largest) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!kv_before(h[p], h[i], largest)) return;
        kv t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

onyx_status ox_topk_run(ox_op_ctx *c) {
    const topkstate *s = c->state;
    const ox_tensor *x = c->in[0];
    int64_t k;
    int32_t a;
    OX_TRY(topk_args(c, x, &k, &a));
    size_t outer = ox_red_span(x->dims, 0, a), n = (size_t)x->dims[a];
    size_t inner = ox_red_span(x->dims, a + 1, x->rank), es = ox_dtype_size(x->dtype);
    if (outer * inner == 0 || k == 0) return ONYX_OK;
    if (c->workspace_bytes < (size_t)k * sizeof(kv))
        return ox_error(ONYX_ERR_RUNTIME, "workspace is smaller than the shapes need");
    kv *heap = c->workspace;
    char *vals = ox_has_output(c, 0) ? c->out[0]->data : NULL;
    int64_t *idxs = ox_has_output(c, 1) ? c->out[1]->data : NULL;
    const char *xd = x->data;
    size_t kk = (size_t)k;
    const int lg = s->largest;
    /* Selection in O(n log k): most values lose one comparison against the root. */
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t size = 0;
            for (size_t j = 0; j < n; j++) {
                kv e = {order_key(x, (o * n + j) * inner + i), (int64_t)j};
                if (size < kk) {
                    heap[size] = e;
                    heap_up(heap, size++, lg);
                } else if (kv_before(e, heap[0], lg)) {
                    heap[0] = e;
                    heap_down(heap, kk, 0, lg);
                }
            }
            for (size_t pos = kk; pos-- > 0;) { /* the root is the last in order */
                size_t dst = (o * kk + pos) * inner + i;
                int64_t src = heap[0].idx;
                if (vals) memcpy(vals + dst * es, xd + ((o * n + (size_t)src) * inner + i) * es, es);
                if (idxs) idxs[dst] = src;
                heap[0] = heap[--size];
                heap_down(heap, size, 0, lg);
            }
        }
    return ONYX_OK;
}
