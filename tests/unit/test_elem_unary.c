/* Unary elementwise ops against naive double-precision references. */
#include <stdio.h>

#include "elem_testutil.h"
#include "ops/op.h"

static const int32_t FLOATS[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                 ONYX_DTYPE_BFLOAT16};
static const int32_t INTS[] = {ONYX_DTYPE_INT8,   ONYX_DTYPE_INT16,  ONYX_DTYPE_INT32,
                               ONYX_DTYPE_INT64,  ONYX_DTYPE_UINT8,  ONYX_DTYPE_UINT16,
                               ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64};

typedef double (*ref1_fn)(double x, const double *p);

/* v rounded to float32. Out of line: gcc 12's SLP vectoriser drops the rounding
 * in p[2] = {(float)a, (float)b} (double -> float -> double pairs). */
__attribute__((noinline)) static double f32(double v) {
    volatile float f = (float)v;
    return f;
}

static double sigm(double x) { return 1 / (1 + exp(-x)); }
static double softplus(double x) { return log(1 + exp(x)); }
static double r_neg(double x, const double *p) { (void)p; return -x; }
static double r_abs(double x, const double *p) { (void)p; return x < 0 ? -x : x; }
static double r_sign(double x, const double *p) { (void)p; return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double r_recip(double x, const double *p) { (void)p; return 1 / x; }
static double r_floor(double x, const double *p) { (void)p; return floor(x); }
static double r_ceil(double x, const double *p) { (void)p; return ceil(x); }
static double r_round(double x, const double *p) {
    (void)p;
    double f = floor(x), d = x - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2) != 0)) return f + 1;
    return f;
}
static double r_sqrt(double x, const double *p) { (void)p; return sqrt(x); }
static double r_exp(double x, const double *p) { (void)p; return exp(x); }
static double r_log(double x, const double *p) { (void)p; return log(x); }
static double r_tanh(double x, const double *p) { (void)p; return (exp(2 * x) - 1) / (exp(2 * x) + 1); }
static double r_sigmoid(double x, const double *p) { (void)p; return sigm(x); }
static double r_erf(double x, const double *p) { (void)p; return erf(x); }
static double r_sin(double x, const double *p) { (void)p; return sin(x); }
static double r_cos(double x, const double *p) { (void)p; return cos(x); }
static double r_tan(double x, const double *p) { (void)p; return sin(x) / cos(x); }
static double r_asin(double x, const double *p) { (void)p; return asin(x); }
static double r_acos(double x, const double *p) { (void)p; return acos(x); }
static double r_atan(double x, const double *p) { (void)p; return atan(x); }
static double r_sinh(double x, const double *p) { (void)p; return (exp(x) - exp(-x)) / 2; }
static double r_cosh(double x, const double *p) { (void)p; return (exp(x) + exp(-x)) / 2; }
static double r_asinh(double x, const double *p) { (void)p; return log(x + sqrt(x * x + 1)); }
static double r_acosh(double x, const double *p) { (void)p; return log(x + sqrt(x * x - 1)); }
static double r_atanh(double x, const double *p) { (void)p; return 0.5 * log((1 + x) / (1 - x)); }
static double r_softplus(double x, const double *p) { (void)p; return softplus(x); }
static double r_softsign(double x, const double *p) { (void)p; return x / (1 + fabs(x)); }
static double r_relu(double x, const double *p) { (void)p; return x > 0 ? x : 0; }
static double r_leaky(double x, const double *p) { return x < 0 ? p[0] * x : x; }
static double r_thr(double x, const double *p) { return x > p[0] ? x : 0; }
static double r_elu(double x, const double *p) { return x < 0 ? p[0] * (exp(x) - 1) : x; }
static double r_selu(double x, const double *p) { return x <= 0 ? p[1] * (p[0] * exp(x) - p[0]) : p[1] * x; }
static double r_celu(double x, const double *p) {
    return fmax(0, x) + fmin(0, p[0] * (exp(x / p[0]) - 1));
}
static double r_hsig(double x, const double *p) { return fmax(0, fmin(1, p[0] * x + p[1])); }
static double r_hswish(double x, const double *p) { (void)p; return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double r_gelu(double x, const double *p) { (void)p; return 0.5 * x * (1 + erf(x / sqrt(2))); }
static double r_gelu_tanh(double x, const double *p) {
    (void)p;
    return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
static double r_mish(double x, const double *p) { (void)p; return x * tanh(softplus(x)); }
static double r_swish(double x, const double *p) { return x * sigm(p[0] * x); }
static double r_shrink(double x, const double *p) {
    return x < -p[0] ? x + p[1] : x > p[0] ? x - p[1] : 0;
}

enum { U_FLOAT = 1, U_INT = 2, U_SINT = 4 };

typedef struct un_case {
    const char *op;
    int64_t opset;
    ref1_fn ref;
    double lo, hi;
    unsigned types;
    const char *attr[2];   /* float attributes (NULL: none) */
    double val[2];         /* their values, also the reference's parameters */
    const char *sattr, *sval; /* a string attribute */
} un_case;

static const un_case CASES[] = {
    {"Neg", 13, r_neg, -50, 50, U_FLOAT | U_SINT, {0}, {0}, 0, 0},
    {"Abs", 13, r_abs, -50, 50, U_FLOAT | U_INT, {0}, {0}, 0, 0},
    {"Sign", 13, r_sign, -3, 3, U_FLOAT | U_INT, {0}, {0}, 0, 0},
    {"Reciprocal", 13, r_recip, 0.2, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Floor", 13, r_floor, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Ceil", 13, r_ceil, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Round", 22, r_round, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Sqrt", 13, r_sqrt, 0, 10, U_FLOAT, {0}, {0}, 0, 0},
    {"Exp", 13, r_exp, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Log", 13, r_log, 0.01, 10, U_FLOAT, {0}, {0}, 0, 0},
    {"Tanh", 13, r_tanh, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Sigmoid", 13, r_sigmoid, -8, 8, U_FLOAT, {0}, {0}, 0, 0},
    {"Erf", 13, r_erf, -3, 3, U_FLOAT, {0}, {0}, 0, 0},
    {"Sin", 22, r_sin, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Cos", 22, r_cos, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Tan", 22, r_tan, -1.4, 1.4, U_FLOAT, {0}, {0}, 0, 0},
    {"Asin", 22, r_asin, -0.99, 0.99, U_FLOAT, {0}, {0}, 0, 0},
    {"Acos", 22, r_acos, -0.99, 0.99, U_FLOAT, {0}, {0}, 0, 0},
    {"Atan", 22, r_atan, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Sinh", 22, r_sinh, -4, 4, U_FLOAT, {0}, {0}, 0, 0},
    {"Cosh", 22, r_cosh, -4, 4, U_FLOAT, {0}, {0}, 0, 0},
    {"Asinh", 22, r_asinh, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Acosh", 22, r_acosh, 1, 10, U_FLOAT, {0}, {0}, 0, 0},
    {"Atanh", 22, r_atanh, -0.9, 0.9, U_FLOAT, {0}, {0}, 0, 0},
    {"Softplus", 22, r_softplus, -8, 8, U_FLOAT, {0}, {0}, 0, 0},
    {"Softsign", 22, r_softsign, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Relu", 14, r_relu, -5, 5, U_FLOAT | U_SINT, {0}, {0}, 0, 0},
    {"LeakyRelu", 16, r_leaky, -5, 5, U_FLOAT, {0}, {0.01}, 0, 0},
    {"LeakyRelu", 16, r_leaky, -5, 5, U_FLOAT, {"alpha"}, {0.25}, 0, 0},
    {"ThresholdedRelu", 22, r_thr, -5, 5, U_FLOAT, {0}, {1.0}, 0, 0},
    {"ThresholdedRelu", 22, r_thr, -5, 5, U_FLOAT, {"alpha"}, {-0.5}, 0, 0},
    {"Elu", 22, r_elu, -5, 5, U_FLOAT, {0}, {1.0}, 0, 0},
    {"Elu", 22, r_elu, -5, 5, U_FLOAT, {"alpha"}, {0.5}, 0, 0},
    {"Selu", 22, r_selu, -5, 5, U_FLOAT, {0}, {1.67326319217681884765625, 1.05070102214813232421875}, 0, 0},
    {"Selu", 22, r_selu, -5, 5, U_FLOAT, {"alpha", "gamma"}, {2, 3}, 0, 0},
    {"Celu", 12, r_celu, -5, 5, U_FLOAT, {"alpha"}, {2}, 0, 0},
    {"HardSigmoid", 22, r_hsig, -5, 5, U_FLOAT, {0}, {0.2, 0.5}, 0, 0},
    {"HardSigmoid", 22, r_hsig, -5, 5, U_FLOAT, {"alpha", "beta"}, {0.5, 0.25}, 0, 0},
    {"HardSwish", 22, r_hswish, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Gelu", 20, r_gelu, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Gelu", 20, r_gelu_tanh, -5, 5, U_FLOAT, {0}, {0}, "approximate", "tanh"},
    {"Mish", 22, r_mish, -5, 5, U_FLOAT, {0}, {0}, 0, 0},
    {"Swish", 24, r_swish, -5, 5, U_FLOAT, {0}, {1}, 0, 0},
    {"Swish", 24, r_swish, -5, 5, U_FLOAT, {"alpha"}, {0.5}, 0, 0},
    {"Shrink", 9, r_shrink, -5, 5, U_FLOAT | U_INT, {0}, {0.5, 0}, 0, 0},
    {"Shrink", 9, r_shrink, -5, 5, U_FLOAT | U_INT, {"lambd", "bias"}, {1.5, 2}, 0, 0},
};

static void check_unary(const un_case *uc, int32_t dt) {
    int is_int = et_is_int(dt);
    double lo = uc->lo, hi = uc->hi;
    if (is_int && !ox_dtype_is_signed_int(dt) && lo < 0) lo = 0;
    for (int iter = 0; iter < 12; iter++) {
        int32_t r = et_rnd(5);
        int64_t d[OX_MAX_RANK];
        for (int32_t i = 0; i < r; i++) d[i] = et_rnd(12) == 0 ? 0 : 1 + et_rnd(5);
        ox_tensor x = et_rand(dt, r, d, lo, hi, is_int);
        ox_node *n = tn_node(uc->op, 1, 1);
        for (int k = 0; k < 2; k++)
            if (uc->attr[k]) tn_float(n, uc->attr[k], (float)uc->val[k]);
        if (uc->sattr) tn_str(n, uc->sattr, uc->sval);
        double p[2] = {f32(uc->val[0]), f32(uc->val[1])}; /* attributes are float32 */
        ox_tensor y;
        onyx_status st = ox_op_run_single(n, uc->opset, (ox_tensor *[]){&x}, 1, &y, 1);
        if (st != ONYX_OK) {
            fprintf(stderr, "  %s %s: %s\n", uc->op, ox_dtype_name(dt), onyx_last_error());
            ox_test_failures++;
        } else {
            CHECK(y.dtype == dt && y.rank == r);
            size_t count = ox_tensor_count(&x);
            for (size_t e = 0; e < count; e++) {
                double v = et_get(&x, e), want = uc->ref(v, p), got = et_get(&y, e);
                if (is_int) want = et_as(dt, trunc(want));
                if (!et_close(got, want, is_int ? 0 : 2 * et_tol(dt))) {
                    fprintf(stderr, "  %s %s: f(%.9g) = %.9g, expected %.17g\n", uc->op,
                            ox_dtype_name(dt), v, got, want);
                    ox_test_failures++;
                    break;
                }
            }
            ox_tensor_free_data(&y);
        }
        ox_tensor_free_data(&x);
        tn_reset();
        if (ox_test_failures) return;
    }
}

TEST(elem_unary_all) {
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        const un_case *uc = &CASES[c];
        for (size_t t = 0; (uc->types & U_FLOAT) && t < 4; t++) check_unary(uc, FLOATS[t]);
        for (size_t t = 0; t < 8; t++)
            if ((uc->types & U_INT) || ((uc->types & U_SINT) && t < 4)) check_unary(uc, INTS[t]);
    }
}

static ox_tensor run1(const char *op, int64_t opset, ox_tensor *x, onyx_status *st) {
    ox_tensor y;
    memset(&y, 0, sizeof y);
    *st = ox_op_run_single(tn_node(op, 1, 1), opset, (ox_tensor *[]){x}, 1, &y, 1);
    return y;
}

TEST(elem_unary_special_values) {
    double v[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 2.5, -2.5, 0.5, 1.5, -0.5};
    for (size_t t = 0; t < 4; t++) {
        ox_tensor x = et_make(FLOATS[t], 1, (int64_t[]){10}, v);
        onyx_status st;
        ox_tensor y = run1("Round", 22, &x, &st);
        REQUIRE_OK(st);
        double want[] = {NAN, INFINITY, -INFINITY, 0, 0, 2, -2, 0, 2, 0};
        for (size_t i = 0; i < 10; i++) CHECK(et_close(et_get(&y, i), want[i], 0));
        CHECK(signbit(et_get(&y, 4)));
        ox_tensor_free_data(&y);
        y = run1("IsNaN", 20, &x, &st);
        REQUIRE_OK(st);
        CHECK(y.dtype == ONYX_DTYPE_BOOL);
        for (size_t i = 0; i < 10; i++) CHECK(et_get(&y, i) == (i == 0));
        ox_tensor_free_data(&y);
        y = run1("IsInf", 20, &x, &st);
        REQUIRE_OK(st);
        for (size_t i = 0; i < 10; i++) CHECK(et_get(&y, i) == (i == 1 || i == 2));
        ox_tensor_free_data(&y);
        ox_node *n = tn_node("IsInf", 1, 1);
        tn_int(n, "detect_negative", 0);
        REQUIRE_OK(ox_op_run_single(n, 20, (ox_tensor *[]){&x}, 1, &y, 1));
        for (size_t i = 0; i < 10; i++) CHECK(et_get(&y, i) == (i == 1));
        ox_tensor_free_data(&y);
        y = run1("Relu", 14, &x, &st);
        REQUIRE_OK(st);
        CHECK(isnan(et_get(&y, 0)) && et_get(&y, 1) == INFINITY && et_get(&y, 2) == 0);
        ox_tensor_free_data(&y);
        y = run1("Sign", 13, &x, &st);
        REQUIRE_OK(st);
        CHECK(isnan(et_get(&y, 0)) && et_get(&y, 1) == 1 && et_get(&y, 2) == -1 && et_get(&y, 3) == 0);
        ox_tensor_free_data(&y);
        y = run1("Sigmoid", 13, &x, &st);
        REQUIRE_OK(st);
        CHECK(isnan(et_get(&y, 0)) && et_get(&y, 1) == 1 && et_get(&y, 2) == 0 && et_get(&y, 3) == 0.5);
        ox_tensor_free_data(&y);
        ox_tensor_free_data(&x);
        tn_reset();
    }
    /* large arguments: sigmoid and softplus neither overflow nor lose the tail */
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, (double[]){-100, 100, 80, -80});
    onyx_status st;
    ox_tensor y = run1("Softplus", 22, &x, &st);
    REQUIRE_OK(st);
    CHECK_NEAR(et_get(&y, 0), 0, 1e-30);
    CHECK_NEAR(et_get(&y, 1), 100, 1e-5);
    CHECK_NEAR(et_get(&y, 2), 80, 1e-5);
    ox_tensor_free_data(&y);
    y = run1("Sigmoid", 13, &x, &st);
    REQUIRE_OK(st);
    CHECK(et_get(&y, 0) >= 0 && et_get(&y, 0) < 1e-40 && et_get(&y, 1) == 1);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(elem_unary_float8_predicates) {
    int32_t f8[] = {ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E4M3FNUZ, ONYX_DTYPE_FLOAT8E5M2,
                    ONYX_DTYPE_FLOAT8E5M2FNUZ};
    for (int k = 0; k < 4; k++) {
        ox_tensor x = tt_make(f8[k], 1, (int64_t[]){256}, NULL);
        uint8_t *p = x.data;
        for (int i = 0; i < 256; i++) p[i] = (uint8_t)i;
        onyx_status st;
        ox_tensor nan = run1("IsNaN", 20, &x, &st);
        REQUIRE_OK(st);
        ox_tensor inf = run1("IsInf", 20, &x, &st);
        REQUIRE_OK(st);
        for (int i = 0; i < 256; i++) {
            float v = ox_f8_to_f32((uint8_t)i, f8[k]);
            CHECK(et_get(&nan, (size_t)i) == (isnan(v) != 0));
            CHECK(et_get(&inf, (size_t)i) == (isinf(v) != 0));
        }
        ox_tensor_free_data(&nan);
        ox_tensor_free_data(&inf);
        ox_tensor_free_data(&x);
        tn_reset();
    }
}

TEST(elem_unary_logic_bits) {
    ox_tensor b = et_make(ONYX_DTYPE_BOOL, 2, (int64_t[]){2, 2}, (double[]){1, 0, 0, 1});
    onyx_status st;
    ox_tensor y = run1("Not", 1, &b, &st);
    REQUIRE_OK(st);
    CHECK(y.dtype == ONYX_DTYPE_BOOL && et_get(&y, 0) == 0 && et_get(&y, 1) == 1);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&b);
    for (size_t t = 0; t < 8; t++) {
        ox_tensor x = et_rand(INTS[t], 1, (int64_t[]){20}, 0, 100, 1);
        y = run1("BitwiseNot", 18, &x, &st);
        REQUIRE_OK(st);
        for (size_t i = 0; i < 20; i++) CHECK(et_get(&y, i) == et_as(INTS[t], -et_get(&x, i) - 1));
        ox_tensor_free_data(&y);
        ox_tensor_free_data(&x);
    }
    /* wrong types are refused with the type named */
    ox_tensor f = tt_rand(1, (int64_t[]){3}, 0, 1);
    y = run1("Not", 1, &f, &st);
    CHECK(st == ONYX_ERR_UNSUPPORTED && strstr(onyx_last_error(), "float32"));
    ox_tensor i8 = et_make(ONYX_DTYPE_UINT8, 1, (int64_t[]){3}, NULL);
    y = run1("Sqrt", 13, &i8, &st);
    CHECK(st == ONYX_ERR_UNSUPPORTED);
    y = run1("Neg", 13, &i8, &st);
    CHECK(st == ONYX_ERR_UNSUPPORTED);
    ox_node *n = tn_node("Gelu", 1, 1);
    tn_str(n, "approximate", "fast");
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&f}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("LeakyRelu", 1, 1);
    tn_int(n, "alpha", 1);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&f}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&f);
    ox_tensor_free_data(&i8);
    tn_reset();
}

#include "kernels/vmath_scalar.h"

/* Error of got in units of the last place of the float nearest to want. */
static double ulps(float got, double want) {
    float w = (float)want;
    if (isnan(w)) return isnan(got) ? 0 : 1e9;
    if (isinf(w) || isinf(got)) return got == w ? 0 : 1e9;
    double u = fabs((double)nextafterf(w, INFINITY) - (double)w);
    if (u == 0 || w == 0) u = 0x1p-149;
    return fabs((double)got - want) / u;
}

TEST(elem_vmath_accuracy) {
    double worst[5] = {0};
    for (uint64_t b = 0; b < 0x100000000ull; b += 4099) { /* all exponents, both signs */
        uint32_t u = (uint32_t)b;
        float x;
        memcpy(&x, &u, 4);
        double e = ulps(ox_vm_expf(x), exp((double)x));
        double t = ulps(ox_vm_tanhf(x), tanh((double)x));
        double s = ulps(ox_vm_sigmoidf(x), 1 / (1 + exp(-(double)x)));
        worst[0] = e > worst[0] ? e : worst[0];
        worst[1] = t > worst[1] ? t : worst[1];
        worst[2] = s > worst[2] ? s : worst[2];
        double r = ulps(ox_vm_erff(x), erf((double)x));
        worst[3] = r > worst[3] ? r : worst[3];
        double xd = x, gw = 0.5 * xd * erfc(-xd / sqrt(2.0));
        /* Gelu: relative to the value (the float rounding of x / sqrt 2, squared in the
         * tail exp(-z^2), costs up to ~5e-6 near x = -8), absolute where it is tiny */
        double g = fabs(ox_vm_geluf(x) - gw) / (fabs(gw) > 1e-30 ? fabs(gw) : 1);
        if (isnan(gw) || isinf(gw)) g = (isnan(gw) ? isnan(ox_vm_geluf(x)) : ox_vm_geluf(x) == gw) ? 0 : 1;
        else if (xd < -8.4) g = fabs(ox_vm_geluf(x) - gw) < 1e-17 ? 0 : 1; /* tiny: absolute */
        worst[4] = g > worst[4] ? g : worst[4];
    }
    CHECK(worst[0] <= 2 && worst[1] <= 2 && worst[2] <= 3 && worst[3] <= 3 && worst[4] <= 1e-5);
    if (ox_test_failures)
        fprintf(stderr, "  worst ulps: exp %g tanh %g sigmoid %g erf %g; gelu rel %g\n", worst[0],
                worst[1], worst[2], worst[3], worst[4]);
    CHECK(isnan(ox_vm_expf(NAN)) && ox_vm_expf(INFINITY) == INFINITY && ox_vm_expf(-INFINITY) == 0);
    CHECK(ox_vm_tanhf(INFINITY) == 1 && ox_vm_tanhf(-INFINITY) == -1 && isnan(ox_vm_tanhf(NAN)));
    CHECK(ox_vm_sigmoidf(-INFINITY) == 0 && ox_vm_sigmoidf(INFINITY) == 1 && isnan(ox_vm_sigmoidf(NAN)));
    CHECK(ox_vm_expf(-103.0f) > 0 && ox_vm_expf(88.7f) < INFINITY && ox_vm_expf(88.73f) == INFINITY);
    CHECK(ox_vm_erff(INFINITY) == 1 && ox_vm_erff(-INFINITY) == -1 && isnan(ox_vm_erff(NAN)));
    CHECK(ox_vm_geluf(INFINITY) == INFINITY && isnan(ox_vm_geluf(NAN)));
}
