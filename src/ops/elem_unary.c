/* Unary elementwise kernels without transcendental functions: sign and rounding,
 * piecewise-linear activations, predicates, logic and bits. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises only trivial loops. Before the includes, so the inline
 * helpers get the same options and are inlined. */
#pragma GCC optimize("tree-vectorize")
#endif
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "util/fp16.h"


static inline float clamp01f(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
static inline double clamp01d(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
#define clamp01(v) _Generic((v), float: clamp01f, default: clamp01d)(v)

ELEM_FLT(ELEM_UN_SAME, neg, -x)
ELEM_SINT(ELEM_UN_SAME, neg, (tt)(0 - (wu)x))

ELEM_UN_SAME(abs, fabsf(x), f32, float, float, FLOAT)
ELEM_UN_SAME(abs, fabs(x), f64, double, double, DOUBLE)
ELEM_SINT(ELEM_UN_SAME, abs, (x < 0 ? (tt)(0 - (wu)x) : x))
ELEM_UINT(ELEM_UN_SAME, abs, x)

/* NaN stays NaN; both zeros give +0 */
ELEM_FLT(ELEM_UN_SAME, sign, (x > 0 ? (tt)1 : x < 0 ? (tt)-1 : x == 0 ? (tt)0 : x))
ELEM_SINT(ELEM_UN_SAME, sign, (tt)((x > 0) - (x < 0)))
ELEM_UINT(ELEM_UN_SAME, sign, (tt)(x > 0))

ELEM_FLT(ELEM_UN_SAME, recip, (tt)1 / x)
ELEM_UN_SAME(floor, floorf(x), f32, float, float, FLOAT)
ELEM_UN_SAME(floor, floor(x), f64, double, double, DOUBLE)
ELEM_UN_SAME(ceil, ceilf(x), f32, float, float, FLOAT)
ELEM_UN_SAME(ceil, ceil(x), f64, double, double, DOUBLE)
/* rint rounds halves to even in the default rounding mode */
ELEM_UN_SAME(round, rintf(x), f32, float, float, FLOAT)
ELEM_UN_SAME(round, rint(x), f64, double, double, DOUBLE)

ELEM_FLT(ELEM_UN_PRED, isnan, isnan(x))
/* IsInf: alpha = detect_negative, beta = detect_positive */
ELEM_FLT(ELEM_UN_PRED, isinf, ((x == (tt)INFINITY && beta != 0) || (x == -(tt)INFINITY && alpha != 0)))

#define F8_PRED(name, e, sfx, DT)                                                          \
    static void name##_##sfx(size_t n, const void *px, void *py, const elem_state *s) {    \
        const uint8_t *xs = px;                                                            \
        uint8_t *y = py;                                                                   \
        const float alpha = s->alpha, beta = s->beta;                                      \
        (void)alpha;                                                                       \
        (void)beta;                                                                        \
        for (size_t i = 0; i < n; i++) {                                                   \
            float x = ox_f8_to_f32(xs[i], ONYX_DTYPE_##DT);                                \
            y[i] = (uint8_t)(e);                                                           \
        }                                                                                  \
    }
#define F8_PREDS(name, e)                                                                  \
    F8_PRED(name, e, e4m3fn, FLOAT8E4M3FN)                                                 \
    F8_PRED(name, e, e4m3fnuz, FLOAT8E4M3FNUZ)                                             \
    F8_PRED(name, e, e5m2, FLOAT8E5M2) F8_PRED(name, e, e5m2fnuz, FLOAT8E5M2FNUZ)
#define F8_TBL(name)                                                                       \
    [ONYX_DTYPE_FLOAT8E4M3FN] = name##_e4m3fn, [ONYX_DTYPE_FLOAT8E4M3FNUZ] = name##_e4m3fnuz,  \
    [ONYX_DTYPE_FLOAT8E5M2] = name##_e5m2, [ONYX_DTYPE_FLOAT8E5M2FNUZ] = name##_e5m2fnuz
F8_PREDS(isnan, isnan(x))
F8_PREDS(isinf, ((x == INFINITY && beta != 0) || (x == -INFINITY && alpha != 0)))

/* NaN passes through Relu */
ELEM_FLT(ELEM_UN_SAME, relu, (x < 0 ? (tt)0 : x))
ELEM_SINT(ELEM_UN_SAME, relu, (x < 0 ? (tt)0 : x))
ELEM_FLT(ELEM_UN_SAME, leaky, (x < 0 ? alpha * x : x))
ELEM_FLT(ELEM_UN_SAME, thrrelu, (x > alpha ? x : (tt)0))
/* Shrink: alpha = lambd, beta = bias */
ELEM_FLT(ELEM_UN_SAME, shrink, (x < -alpha ? x + beta : x > alpha ? x - beta : (tt)0))
ELEM_INT(ELEM_UN_SAME, shrink,
         ((double)x < -(double)alpha ? (tt)elem_f2bits((double)x + beta)
          : (double)x > (double)alpha ? (tt)elem_f2bits((double)x - beta) : (tt)0))
ELEM_FLT(ELEM_UN_SAME, hsig, clamp01(alpha * x + beta))
ELEM_FLT(ELEM_UN_SAME, hswish, x * clamp01(x * (tt)(1.0 / 6.0) + (tt)0.5))
ELEM_UN_SAME(softsign, x / (1 + fabsf(x)), f32, float, float, FLOAT)
ELEM_UN_SAME(softsign, x / (1 + fabs(x)), f64, double, double, DOUBLE)

ELEM_UN_PRED(not, x == 0, b, uint8_t, uint32_t, BOOL)
ELEM_INT(ELEM_UN_SAME, bnot, (tt)~x)

/* ---- attribute hooks --------------------------------------------------------- */

static onyx_status alpha_attr(ox_op_ctx *c, elem_state *s, float def) {
    s->alpha = ox_attr_float(c, "alpha", def);
    return ox_op_status(c);
}
static onyx_status leaky_attrs(ox_op_ctx *c, elem_state *s) { return alpha_attr(c, s, 0.01f); }
static onyx_status thr_attrs(ox_op_ctx *c, elem_state *s) { return alpha_attr(c, s, 1.0f); }
static onyx_status hsig_attrs(ox_op_ctx *c, elem_state *s) {
    s->beta = ox_attr_float(c, "beta", 0.5f);
    return alpha_attr(c, s, 0.2f);
}
static onyx_status shrink_attrs(ox_op_ctx *c, elem_state *s) {
    s->alpha = ox_attr_float(c, "lambd", 0.5f);
    s->beta = ox_attr_float(c, "bias", 0.0f);
    return ox_op_status(c);
}
static onyx_status isinf_attrs(ox_op_ctx *c, elem_state *s) {
    s->alpha = ox_attr_int(c, "detect_negative", 1) != 0;
    s->beta = ox_attr_int(c, "detect_positive", 1) != 0;
    return ox_op_status(c);
}

#define FLT_TABLE(p) {ELEM_FLT(ELEM_TBL, p, _)}
#define NUM_TABLE(p) {ELEM_NUM(ELEM_TBL, p, _)}

const elem_desc elem_unary_descs[] = {
    {.name = "Neg", .un = {ELEM_SNUM(ELEM_TBL, neg, _)}},
    {.name = "Abs", .un = NUM_TABLE(abs)},
    {.name = "Sign", .un = NUM_TABLE(sign)},
    {.name = "Reciprocal", .un = FLT_TABLE(recip)},
    {.name = "Floor", .un = FLT_TABLE(floor)},
    {.name = "Ceil", .un = FLT_TABLE(ceil)},
    {.name = "Round", .un = FLT_TABLE(round)},
    {.name = "IsNaN", .out_dtype = ONYX_DTYPE_BOOL, .un = {ELEM_FLT(ELEM_TBL, isnan, _) F8_TBL(isnan)}},
    {.name = "IsInf", .out_dtype = ONYX_DTYPE_BOOL, .attrs = isinf_attrs,
     .un = {ELEM_FLT(ELEM_TBL, isinf, _) F8_TBL(isinf)}},
    {.name = "Relu", .un = {ELEM_SNUM(ELEM_TBL, relu, _)}},
    {.name = "LeakyRelu", .attrs = leaky_attrs, .un = FLT_TABLE(leaky)},
    {.name = "ThresholdedRelu", .attrs = thr_attrs, .un = FLT_TABLE(thrrelu)},
    {.name = "Shrink", .attrs = shrink_attrs, .un = NUM_TABLE(shrink)},
    {.name = "HardSigmoid", .attrs = hsig_attrs, .un = FLT_TABLE(hsig)},
    {.name = "HardSwish", .un = FLT_TABLE(hswish)},
    {.name = "Softsign", .un = FLT_TABLE(softsign)},
    {.name = "Not", .out_dtype = ONYX_DTYPE_BOOL, .un = {[ONYX_DTYPE_BOOL] = not_b}},
    {.name = "BitwiseNot", .un = {ELEM_INT(ELEM_TBL, bnot, _)}},
    {0},
};
