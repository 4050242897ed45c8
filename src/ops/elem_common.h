/* Shared machinery of the elementwise op family (src/ops/elem_*.c).
 *
 * An op is described by an elem_desc: its kernels per input dtype, its output
 * dtype and an optional hook that reads attributes. The generic prepare finds the
 * desc by op name; generic infer/run functions handle shapes, broadcasting, the
 * thread pool and float16/bfloat16 (computed through the float32 kernel).
 *
 * Kernels are plain loops over contiguous memory so the compiler can vectorise:
 *   binary:  o[i] = f(a[i * sa], b[i * sb]) for i < n, where sa, sb are 0 or 1;
 *   unary:   y[i] = f(x[i]) for i < n.
 * o may alias a (in-place accumulation).
 */
#ifndef OX_OPS_ELEM_COMMON_H
#define OX_OPS_ELEM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

#define ELEM_NTYPES 24 /* dtype values 0..23 index the kernel tables */

typedef struct elem_state elem_state;
typedef void (*elem_bin_fn)(size_t n, const void *a, size_t sa, const void *b, size_t sb,
                            void *o);
typedef void (*elem_un_fn)(size_t n, const void *x, void *y, const elem_state *s);

typedef struct elem_desc {
    const char *name;
    int32_t out_dtype; /* 0: the input's dtype; else fixed (BOOL for predicates) */
    /* optional: read attributes into s (may point s->d at a variant desc) */
    onyx_status (*attrs)(ox_op_ctx *c, elem_state *s);
    elem_un_fn un[ELEM_NTYPES];
    elem_bin_fn bin[ELEM_NTYPES];
} elem_desc;

/* Per-node state: the desc and attribute values, read-only after prepare. */
struct elem_state {
    const elem_desc *d;
    float alpha, beta, gamma;
    int64_t i0, i1;
};

/* Desc lists (zero-terminated), one per family file. */
extern const elem_desc elem_binary_descs[];
extern const elem_desc elem_unary_descs[];
extern const elem_desc elem_math_descs[];

/* ---- generic op functions (elementwise.c) --------------------------------- */
/* Allocate c->state for desc d (prepare functions of ops with their own rules). */
onyx_status elem_state_new(ox_op_ctx *c, const elem_desc *d, elem_state **out);
onyx_status elem_prepare(ox_op_ctx *c);
void elem_destroy(void *state);
onyx_status elem_infer_unary(ox_op_ctx *c);
onyx_status elem_run_unary(ox_op_ctx *c);
onyx_status elem_infer_binary(ox_op_ctx *c);
onyx_status elem_run_binary(ox_op_ctx *c);
onyx_status elem_infer_variadic(ox_op_ctx *c);
onyx_status elem_run_variadic(ox_op_ctx *c);

/* The kernel for dtype (float16/bfloat16 fall back to the float32 one, *via_f32
 * then set); NULL when the op does not take dtype. */
elem_un_fn elem_unary_kernel(const elem_desc *d, int32_t dtype, int *via_f32);
elem_bin_fn elem_binary_kernel(const elem_desc *d, int32_t dtype, int *via_f32);
/* A message naming the dtype the op does not take. */
onyx_status elem_bad_dtype(const ox_op_ctx *c, size_t input, int32_t dtype);
/* Require input i present with data type equal to input 0's. */
onyx_status elem_same_dtype(const ox_op_ctx *c, size_t i);
/* B as binary ops before opset 7 broadcast it onto A (see elementwise.c): *rhs is
 * B itself or view, a reshaped copy of B's header. */
onyx_status elem_legacy_rhs(const ox_op_ctx *c, const ox_tensor *a, const ox_tensor *b,
                            ox_tensor *view, const ox_tensor **rhs);
/* Require inputs 0..n-1 present. */
onyx_status elem_need_inputs(const ox_op_ctx *c, size_t n);

/* float16/bfloat16 (dt) <-> float32 blocks. */
void elem_to_f32(int32_t dt, const void *src, size_t n, float *dst);
void elem_from_f32(int32_t dt, const float *src, size_t n, void *dst);

/* y = op(x) over all elements (x and y may be the same tensor). */
void elem_unary_apply(ox_op_ctx *c, elem_un_fn fn, int via_f32, const elem_state *s,
                      const ox_tensor *x, ox_tensor *y);

/* out = op(a, b) with broadcasting, a/b/out already shaped; fn from
 * elem_binary_kernel for a's dtype. */
onyx_status elem_binary_apply(ox_op_ctx *c, elem_bin_fn fn, int via_f32, const ox_tensor *a,
                              const ox_tensor *b, ox_tensor *out);
/* out = x broadcast to out's shape (any dtype; strings are copied). */
onyx_status elem_broadcast_copy(ox_op_ctx *c, const ox_tensor *x, ox_tensor *out);
/* A copy of a string into dst (which must not own data yet). */
onyx_status elem_string_copy(ox_string *dst, const ox_string *src);

/* Generic element access (elem_cast.c), for ops that are not speed-critical:
 * load n elements of dtype dt from base[off], base[off + step], ... (step 0 or 1)
 * as doubles or int64; store n values into base[off..off+n) converting per the
 * Cast rules (saturate: for float8). */
void elem_load_f64(int32_t dt, const void *base, size_t off, size_t step, size_t n, double *out);
void elem_load_i64(int32_t dt, const void *base, size_t off, size_t step, size_t n, int64_t *out);
void elem_store_f64(int32_t dt, const double *v, size_t n, void *base, size_t off, int saturate);
void elem_store_i64(int32_t dt, const int64_t *v, size_t n, void *base, size_t off);

/* ---- ops with their own shape or type rules (elem_misc.c, elem_cast.c) ---- */
onyx_status elem_prepare_plain(ox_op_ctx *c); /* a state with no desc and no attributes */
onyx_status elem_infer_pow(ox_op_ctx *c);
onyx_status elem_run_pow(ox_op_ctx *c);
onyx_status elem_infer_prelu(ox_op_ctx *c);
onyx_status elem_prepare_clip(ox_op_ctx *c);
onyx_status elem_infer_clip(ox_op_ctx *c);
onyx_status elem_run_clip(ox_op_ctx *c);
onyx_status elem_infer_where(ox_op_ctx *c);
onyx_status elem_run_where(ox_op_ctx *c);
onyx_status elem_infer_expand(ox_op_ctx *c);
onyx_status elem_run_expand(ox_op_ctx *c);
onyx_status elem_prepare_cast(ox_op_ctx *c);
onyx_status elem_infer_cast(ox_op_ctx *c);
onyx_status elem_run_cast(ox_op_ctx *c);

/* The two's complement bits of trunc(x) for a conversion to an integer type:
 * NaN gives 0, values beyond the 64-bit ranges saturate. Converting the result
 * to a narrower integer type keeps its low bits (the spec's "discard higher
 * bits" for out-of-range integers; C leaves float-to-int overflow undefined). */
static inline uint64_t elem_f2bits(double x) {
    if (!(x == x)) return 0;
    if (x >= 18446744073709551616.0) return UINT64_MAX;
    if (x >= 9223372036854775808.0) return (uint64_t)x;
    if (x <= -9223372036854775808.0) return (uint64_t)1 << 63;
    return (uint64_t)(int64_t)x;
}

/* ---- dtype lists for generating kernels ----------------------------------
 * X(p, e, suffix, C type, wide unsigned type, ONYX dtype) for each type;
 * p and e are passed through (a name prefix and an expression). */
#define ELEM_SINT(X, p, e)                                                                 \
    X(p, e, i8, int8_t, uint32_t, INT8) X(p, e, i16, int16_t, uint32_t, INT16)              \
    X(p, e, i32, int32_t, uint32_t, INT32) X(p, e, i64, int64_t, uint64_t, INT64)
#define ELEM_UINT(X, p, e)                                                                 \
    X(p, e, u8, uint8_t, uint32_t, UINT8) X(p, e, u16, uint16_t, uint32_t, UINT16)          \
    X(p, e, u32, uint32_t, uint32_t, UINT32) X(p, e, u64, uint64_t, uint64_t, UINT64)
#define ELEM_FLT(X, p, e) X(p, e, f32, float, float, FLOAT) X(p, e, f64, double, double, DOUBLE)
#define ELEM_INT(X, p, e) ELEM_SINT(X, p, e) ELEM_UINT(X, p, e)
#define ELEM_SNUM(X, p, e) ELEM_SINT(X, p, e) ELEM_FLT(X, p, e)
#define ELEM_NUM(X, p, e) ELEM_INT(X, p, e) ELEM_FLT(X, p, e)

/* A designated table entry: [ONYX_DTYPE_x] = p_suffix, */
#define ELEM_TBL(p, e, sfx, T, U, DT) [ONYX_DTYPE_##DT] = p##_##sfx,

/* A binary kernel p_suffix computing e from x (a's element) and y (b's element);
 * inside e, tt is the element type and wu its wide unsigned type. TO is the
 * output type (tt, or uint8_t for predicates). */
#define ELEM_BIN_KERNEL(p, e, sfx, T, U, TO)                                               \
    static void p##_##sfx(size_t n, const void *pa, size_t sa, const void *pb, size_t sb,    \
                          void *po) {                                                      \
        typedef T tt;                                                                      \
        typedef U wu;                                                                      \
        (void)sizeof(wu);                                                                  \
        const tt *a = pa, *b = pb;                                                         \
        TO *o = po;                                                                        \
        if (sa && sb) {                                                                    \
            for (size_t i = 0; i < n; i++) {                                               \
                tt x = a[i], y = b[i];                                                     \
                (void)x;                                                                   \
                (void)y;                                                                   \
                o[i] = (TO)(e);                                                            \
            }                                                                              \
        } else if (sa) {                                                                   \
            const tt y = b[0];                                                             \
            (void)y;                                                                       \
            for (size_t i = 0; i < n; i++) {                                               \
                tt x = a[i];                                                               \
                o[i] = (TO)(e);                                                            \
            }                                                                              \
        } else if (sb) {                                                                   \
            const tt x = a[0];                                                             \
            for (size_t i = 0; i < n; i++) {                                               \
                tt y = b[i];                                                               \
                (void)y;                                                                   \
                o[i] = (TO)(e);                                                            \
            }                                                                              \
        } else {                                                                           \
            const tt x = a[0], y = b[0];                                                   \
            (void)y;                                                                       \
            const TO v = (TO)(e);                                                          \
            for (size_t i = 0; i < n; i++) o[i] = v;                                       \
        }                                                                                  \
    }
#define ELEM_BIN_SAME(p, e, sfx, T, U, DT) ELEM_BIN_KERNEL(p, e, sfx, T, U, T)
#define ELEM_BIN_PRED(p, e, sfx, T, U, DT) ELEM_BIN_KERNEL(p, e, sfx, T, U, uint8_t)

/* A unary kernel p_suffix computing e from x; the attribute values alpha, beta,
 * gam (float) and s are in scope. TO is the output type. */
#define ELEM_UN_KERNEL(p, e, sfx, T, U, TO)                                                \
    static void p##_##sfx(size_t n, const void *px, void *py, const elem_state *s) {       \
        typedef T tt;                                                                      \
        typedef U wu;                                                                      \
        (void)sizeof(wu);                                                                  \
        const float alpha = s->alpha, beta = s->beta, gam = s->gamma;                      \
        (void)alpha;                                                                       \
        (void)beta;                                                                        \
        (void)gam;                                                                         \
        const tt *xs = px;                                                                 \
        TO *y = py;                                                                        \
        for (size_t i = 0; i < n; i++) {                                                   \
            tt x = xs[i];                                                                  \
            y[i] = (TO)(e);                                                                \
        }                                                                                  \
    }
#define ELEM_UN_SAME(p, e, sfx, T, U, DT) ELEM_UN_KERNEL(p, e, sfx, T, U, T)
#define ELEM_UN_PRED(p, e, sfx, T, U, DT) ELEM_UN_KERNEL(p, e, sfx, T, U, uint8_t)

#endif
