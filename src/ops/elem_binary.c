/* Binary and variadic elementwise kernels: arithmetic, comparison, logic, bitwise.
 *
 * Integer arithmetic wraps around (two's complement), computed in a wide unsigned
 * type so it never overflows a signed type. Integer division and modulo by zero
 * give 0 rather than trapping (the spec leaves them undefined); INT_MIN / -1 wraps
 * to INT_MIN. Max and Min propagate NaN, as numpy's maximum/minimum do. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises only trivial loops. Before the includes, so the inline
 * helpers get the same options and are inlined. */
#pragma GCC optimize("tree-vectorize")
#endif
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"


/* ---- arithmetic ----------------------------------------------------------- */

#define E_ADD ((tt)((wu)x + (wu)y))
#define E_SUB ((tt)((wu)x - (wu)y))
#define E_MUL ((tt)((wu)x * (wu)y))
ELEM_NUM(ELEM_BIN_SAME, add, E_ADD)
ELEM_NUM(ELEM_BIN_SAME, sub, E_SUB)
ELEM_NUM(ELEM_BIN_SAME, mul, E_MUL)

ELEM_FLT(ELEM_BIN_SAME, div, x / y)
ELEM_SINT(ELEM_BIN_SAME, div, (y == 0 ? (tt)0 : y == -1 ? (tt)(0 - (wu)x) : (tt)(x / y)))
ELEM_UINT(ELEM_BIN_SAME, div, (y == 0 ? (tt)0 : (tt)(x / y)))

/* Python's %: the result takes the divisor's sign. */
static inline int64_t pymod_i(int64_t x, int64_t y) {
    if (y == 0 || y == -1) return 0;
    int64_t r = x % y;
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline double pymod_f(double x, double y) {
    double r = fmod(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline float pymod_ff(float x, float y) {
    float r = fmodf(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
ELEM_SINT(ELEM_BIN_SAME, mod, pymod_i(x, y))
ELEM_UINT(ELEM_BIN_SAME, mod, (y == 0 ? (tt)0 : (tt)(x % y)))
ELEM_BIN_SAME(mod, pymod_ff(x, y), f32, float, float, FLOAT)
ELEM_BIN_SAME(mod, pymod_f(x, y), f64, double, double, DOUBLE)
/* C's fmod: the result takes the dividend's sign. */
ELEM_SINT(ELEM_BIN_SAME, fmod, (y == 0 || y == -1 ? (tt)0 : (tt)(x % y)))
ELEM_BIN_SAME(fmod, fmodf(x, y), f32, float, float, FLOAT)
ELEM_BIN_SAME(fmod, fmod(x, y), f64, double, double, DOUBLE)

ELEM_INT(ELEM_BIN_SAME, max, (x > y ? x : y))
ELEM_INT(ELEM_BIN_SAME, min, (x < y ? x : y))
ELEM_FLT(ELEM_BIN_SAME, max, ((x > y || isnan(x)) ? x : y))
ELEM_FLT(ELEM_BIN_SAME, min, ((x < y || isnan(x)) ? x : y))

/* Mean's final step: divide the sum by the input count (alpha). */
ELEM_FLT(ELEM_UN_SAME, mean_div, x / (tt)alpha)

/* PRelu: slope (y) times negative x. */
ELEM_FLT(ELEM_BIN_SAME, prelu, (x < 0 ? x * y : x))
ELEM_SINT(ELEM_BIN_SAME, prelu, (x < 0 ? (tt)((wu)x * (wu)y) : x))
ELEM_UINT(ELEM_BIN_SAME, prelu, x)

/* ---- comparison ------------------------------------------------------------ */

ELEM_NUM(ELEM_BIN_PRED, eq, x == y)
ELEM_NUM(ELEM_BIN_PRED, gt, x > y)
ELEM_NUM(ELEM_BIN_PRED, lt, x < y)
ELEM_NUM(ELEM_BIN_PRED, ge, x >= y)
ELEM_NUM(ELEM_BIN_PRED, le, x <= y)

static int str_eq(const ox_string *a, const ox_string *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void eq_str(size_t n, const void *pa, size_t sa, const void *pb, size_t sb, void *po) {
    const ox_string *a = pa, *b = pb;
    uint8_t *o = po;
    for (size_t i = 0; i < n; i++) o[i] = (uint8_t)str_eq(&a[i * sa], &b[i * sb]);
}

/* ---- logic and bits --------------------------------------------------------- */

ELEM_BIN_PRED(and, (x != 0) & (y != 0), b, uint8_t, uint32_t, BOOL)
ELEM_BIN_PRED(or, (x != 0) | (y != 0), b, uint8_t, uint32_t, BOOL)
ELEM_BIN_PRED(xor, (x != 0) ^ (y != 0), b, uint8_t, uint32_t, BOOL)

ELEM_INT(ELEM_BIN_SAME, band, (tt)(x & y))
ELEM_INT(ELEM_BIN_SAME, bor, (tt)(x | y))
ELEM_INT(ELEM_BIN_SAME, bxor, (tt)(x ^ y))

/* Shifting by the type's width or more gives 0 (C leaves it undefined). */
ELEM_UINT(ELEM_BIN_SAME, shl, ((uint64_t)y >= sizeof(tt) * 8 ? (tt)0 : (tt)((wu)x << y)))
ELEM_UINT(ELEM_BIN_SAME, shr, ((uint64_t)y >= sizeof(tt) * 8 ? (tt)0 : (tt)(x >> y)))

/* ---- attribute hooks --------------------------------------------------------- */

static const elem_desc *variant(const char *name) {
    for (const elem_desc *d = elem_binary_descs; d->name; d++)
        if (strcmp(d->name, name) == 0) return d;
    return NULL;
}

static onyx_status mod_attrs(ox_op_ctx *c, elem_state *s) {
    int64_t f = ox_attr_int(c, "fmod", 0);
    if (f != 0 && f != 1) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'fmod' must be 0 or 1, not %lld", (long long)f);
    if (f) s->d = variant("Mod.fmod");
    return ONYX_OK;
}

static onyx_status shift_attrs(ox_op_ctx *c, elem_state *s) {
    const char *dir = ox_attr_str(c, "direction", NULL);
    if (!dir) return ox_op_status(c) ? ox_op_status(c) : ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'direction' is required");
    if (strcmp(dir, "LEFT") == 0) s->d = variant("BitShift.left");
    else if (strcmp(dir, "RIGHT") == 0) s->d = variant("BitShift.right");
    else return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'direction' must be LEFT or RIGHT, not '%s'", dir);
    return ONYX_OK;
}

#define NUM_TABLE(p) {ELEM_NUM(ELEM_TBL, p, _)}
#define FLT_TABLE(p) {ELEM_FLT(ELEM_TBL, p, _)}
#define INT_TABLE(p) {ELEM_INT(ELEM_TBL, p, _)}
#define UINT_TABLE(p) {ELEM_UINT(ELEM_TBL, p, _)}
#define PRED_TABLE(p) {ELEM_NUM(ELEM_TBL, p, _)}

const elem_desc elem_binary_descs[] = {
    {.name = "Add", .bin = NUM_TABLE(add)},
    {.name = "Sub", .bin = NUM_TABLE(sub)},
    {.name = "Mul", .bin = NUM_TABLE(mul)},
    {.name = "Div", .bin = NUM_TABLE(div)},
    {.name = "Mod", .attrs = mod_attrs, .bin = NUM_TABLE(mod)},
    {.name = "Mod.fmod", .bin = {ELEM_SINT(ELEM_TBL, fmod, _) ELEM_UINT(ELEM_TBL, mod, _)
                                 ELEM_FLT(ELEM_TBL, fmod, _)}},
    {.name = "Max", .bin = NUM_TABLE(max)},
    {.name = "Min", .bin = NUM_TABLE(min)},
    {.name = "Sum", .bin = FLT_TABLE(add)},
    {.name = "Mean", .bin = FLT_TABLE(add), .un = FLT_TABLE(mean_div)},
    {.name = "PRelu", .bin = NUM_TABLE(prelu)},
    {.name = "Equal", .out_dtype = ONYX_DTYPE_BOOL,
     .bin = {ELEM_NUM(ELEM_TBL, eq, _)[ONYX_DTYPE_BOOL] = eq_u8, [ONYX_DTYPE_STRING] = eq_str}},
    {.name = "Greater", .out_dtype = ONYX_DTYPE_BOOL, .bin = PRED_TABLE(gt)},
    {.name = "Less", .out_dtype = ONYX_DTYPE_BOOL, .bin = PRED_TABLE(lt)},
    {.name = "GreaterOrEqual", .out_dtype = ONYX_DTYPE_BOOL, .bin = PRED_TABLE(ge)},
    {.name = "LessOrEqual", .out_dtype = ONYX_DTYPE_BOOL, .bin = PRED_TABLE(le)},
    {.name = "And", .out_dtype = ONYX_DTYPE_BOOL, .bin = {[ONYX_DTYPE_BOOL] = and_b}},
    {.name = "Or", .out_dtype = ONYX_DTYPE_BOOL, .bin = {[ONYX_DTYPE_BOOL] = or_b}},
    {.name = "Xor", .out_dtype = ONYX_DTYPE_BOOL, .bin = {[ONYX_DTYPE_BOOL] = xor_b}},
    {.name = "BitwiseAnd", .bin = INT_TABLE(band)},
    {.name = "BitwiseOr", .bin = INT_TABLE(bor)},
    {.name = "BitwiseXor", .bin = INT_TABLE(bxor)},
    {.name = "BitShift", .attrs = shift_attrs},
    {.name = "BitShift.left", .bin = UINT_TABLE(shl)},
    {.name = "BitShift.right", .bin = UINT_TABLE(shr)},
    {0},
};
