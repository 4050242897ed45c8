/* Unary elementwise kernels built on libm: exponentials, logarithms, trigonometry
 * and the smooth activations. float32 kernels call the float functions (type-
 * generic math picks them), float64 ones the double functions; the float32 exp,
 * tanh, sigmoid, erf, gelu and swish run the vector code of kernels/vmath.h. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises only trivial loops, and the selects below also need
 * if-conversion, which gcc only does when it may assume no floating-point traps
 * (onyx never enables them). Before the includes, so the inline helpers get the
 * same options and are inlined. */
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#include <string.h>
#include <tgmath.h>

#include "ops/elem_common.h"
#include "kernels/vmath.h"

/* Helpers defined once for float and once for double: name_f / name_d. */
#define DEF2(name, body)                                                                   \
    __attribute__((unused)) static inline float name##_f(float x, float alpha) {                                   \
        typedef float tt;                                                                  \
        (void)sizeof(tt);                                                                  \
        (void)alpha;                                                                       \
        body                                                                               \
    }                                                                                      \
    __attribute__((unused)) static inline double name##_d(double x, float alpha) {                                 \
        typedef double tt;                                                                 \
        (void)sizeof(tt);                                                                  \
        (void)alpha;                                                                       \
        body                                                                               \
    }
#define CALL2(name, x, alpha) _Generic((x), float: name##_f, default: name##_d)(x, alpha)

/* Stable in both tails: never divides by an overflowed exp. */
DEF2(sigmoid, {
    if (x >= 0) return (tt)1 / ((tt)1 + exp(-x));
    tt e = exp(x);
    return e / ((tt)1 + e);
})
/* log(1 + exp(x)) without overflow for large x */
DEF2(softplus, { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); })
DEF2(celu, {
    tt neg = (tt)alpha * expm1(x / (tt)alpha);
    return (x > 0 ? x : (tt)0) + (neg < 0 ? neg : (tt)0);
})
DEF2(gelu, { return (tt)0.5 * x * ((tt)1 + erf(x * (tt)0.70710678118654752440)); })
DEF2(gelu_tanh, {
    tt inner = (tt)0.79788456080286535588 * (x + (tt)0.044715 * x * x * x);
    return (tt)0.5 * x * ((tt)1 + tanh(inner));
})
DEF2(mish, { return x * tanh(CALL2(softplus, x, alpha)); })
DEF2(swish, { return x * CALL2(sigmoid, (tt)alpha * x, alpha); })

/* float32 through kernels/vmath.h */
#define VMATH_KERNEL(p, call)                                                              \
    static void p##_f32(size_t n, const void *px, void *py, const elem_state *s) {         \
        const float *x = px;                                                               \
        float *y = py;                                                                     \
        (void)s;                                                                           \
        call;                                                                              \
    }
VMATH_KERNEL(exp, ox_vexp(n, x, y))
VMATH_KERNEL(tanh, ox_vtanh(n, x, y))
VMATH_KERNEL(sigmoid, ox_vsigmoid(n, x, y))
VMATH_KERNEL(erf, ox_verf(n, x, y))
VMATH_KERNEL(gelu, ox_vgelu(n, x, y))
VMATH_KERNEL(gelu_tanh, ox_vgelu_tanh(n, x, y))
VMATH_KERNEL(swish, ox_vswish(n, s->alpha, x, y))

ELEM_FLT(ELEM_UN_SAME, sqrt, sqrt(x))
ELEM_UN_SAME(exp, exp(x), f64, double, double, DOUBLE)
ELEM_FLT(ELEM_UN_SAME, log, log(x))
ELEM_UN_SAME(tanh, tanh(x), f64, double, double, DOUBLE)
ELEM_UN_SAME(erf, erf(x), f64, double, double, DOUBLE)
ELEM_FLT(ELEM_UN_SAME, sin, sin(x))
ELEM_FLT(ELEM_UN_SAME, cos, cos(x))
ELEM_FLT(ELEM_UN_SAME, tan, tan(x))
ELEM_FLT(ELEM_UN_SAME, asin, asin(x))
ELEM_FLT(ELEM_UN_SAME, acos, acos(x))
ELEM_FLT(ELEM_UN_SAME, atan, atan(x))
ELEM_FLT(ELEM_UN_SAME, sinh, sinh(x))
ELEM_FLT(ELEM_UN_SAME, cosh, cosh(x))
ELEM_FLT(ELEM_UN_SAME, asinh, asinh(x))
ELEM_FLT(ELEM_UN_SAME, acosh, acosh(x))
ELEM_FLT(ELEM_UN_SAME, atanh, atanh(x))
ELEM_UN_SAME(sigmoid, sigmoid_d(x, alpha), f64, double, double, DOUBLE)
ELEM_FLT(ELEM_UN_SAME, softplus, CALL2(softplus, x, alpha))
ELEM_FLT(ELEM_UN_SAME, elu, (x < 0 ? (tt)alpha * expm1(x) : x))
/* Selu: alpha, gamma */
ELEM_FLT(ELEM_UN_SAME, selu, (x <= 0 ? (tt)gam * ((tt)alpha * exp(x) - (tt)alpha) : (tt)gam * x))
ELEM_FLT(ELEM_UN_SAME, celu, CALL2(celu, x, alpha))
ELEM_UN_SAME(gelu, gelu_d(x, alpha), f64, double, double, DOUBLE)
ELEM_UN_SAME(gelu_tanh, gelu_tanh_d(x, alpha), f64, double, double, DOUBLE)
ELEM_FLT(ELEM_UN_SAME, mish, CALL2(mish, x, alpha))
ELEM_UN_SAME(swish, swish_d(x, alpha), f64, double, double, DOUBLE)

/* ---- attribute hooks --------------------------------------------------------- */

static onyx_status alpha1(ox_op_ctx *c, elem_state *s) {
    s->alpha = ox_attr_float(c, "alpha", 1.0f);
    return ox_op_status(c);
}
static onyx_status celu_attrs(ox_op_ctx *c, elem_state *s) {
    OX_TRY(alpha1(c, s));
    if (s->alpha == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'alpha' must not be 0");
    return ONYX_OK;
}
static onyx_status selu_attrs(ox_op_ctx *c, elem_state *s) {
    s->alpha = ox_attr_float(c, "alpha", 1.67326319217681884765625f);
    s->gamma = ox_attr_float(c, "gamma", 1.05070102214813232421875f);
    return ox_op_status(c);
}
static onyx_status gelu_attrs(ox_op_ctx *c, elem_state *s) {
    const char *a = ox_attr_str(c, "approximate", "none");
    OX_TRY(ox_op_status(c));
    if (strcmp(a, "tanh") == 0) {
        for (const elem_desc *d = elem_math_descs; d->name; d++)
            if (strcmp(d->name, "Gelu.tanh") == 0) s->d = d;
    } else if (strcmp(a, "none") != 0) {
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'approximate' must be none or tanh, not '%s'", a);
    }
    return ONYX_OK;
}

#define FLT_TABLE(p) {ELEM_FLT(ELEM_TBL, p, _)}

const elem_desc elem_math_descs[] = {
    {.name = "Sqrt", .un = FLT_TABLE(sqrt)},
    {.name = "Exp", .un = FLT_TABLE(exp)},
    {.name = "Log", .un = FLT_TABLE(log)},
    {.name = "Tanh", .un = FLT_TABLE(tanh)},
    {.name = "Sigmoid", .un = FLT_TABLE(sigmoid)},
    {.name = "Erf", .un = FLT_TABLE(erf)},
    {.name = "Sin", .un = FLT_TABLE(sin)},
    {.name = "Cos", .un = FLT_TABLE(cos)},
    {.name = "Tan", .un = FLT_TABLE(tan)},
    {.name = "Asin", .un = FLT_TABLE(asin)},
    {.name = "Acos", .un = FLT_TABLE(acos)},
    {.name = "Atan", .un = FLT_TABLE(atan)},
    {.name = "Sinh", .un = FLT_TABLE(sinh)},
    {.name = "Cosh", .un = FLT_TABLE(cosh)},
    {.name = "Asinh", .un = FLT_TABLE(asinh)},
    {.name = "Acosh", .un = FLT_TABLE(acosh)},
    {.name = "Atanh", .un = FLT_TABLE(atanh)},
    {.name = "Softplus", .un = FLT_TABLE(softplus)},
    {.name = "Elu", .attrs = alpha1, .un = FLT_TABLE(elu)},
    {.name = "Selu", .attrs = selu_attrs, .un = FLT_TABLE(selu)},
    {.name = "Celu", .attrs = celu_attrs, .un = FLT_TABLE(celu)},
    {.name = "Gelu", .attrs = gelu_attrs, .un = FLT_TABLE(gelu)},
    {.name = "Gelu.tanh", .un = FLT_TABLE(gelu_tanh)},
    {.name = "Mish", .un = FLT_TABLE(mish)},
    {.name = "Swish", .attrs = alpha1, .un = FLT_TABLE(swish)},
    {0},
};
