/* Elementwise ops against naive double-precision references, over every dtype an
 * op takes, random broadcast shapes, rank 0 and empty tensors. */
#include <float.h>
#include <stdio.h>

#include "elem_testutil.h"
#include "ops/op.h"
#include "util/alloc.h"

static const int32_t FLOATS[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                 ONYX_DTYPE_BFLOAT16};
static const int32_t INTS[] = {ONYX_DTYPE_INT8,   ONYX_DTYPE_INT16,  ONYX_DTYPE_INT32,
                               ONYX_DTYPE_INT64,  ONYX_DTYPE_UINT8,  ONYX_DTYPE_UINT16,
                               ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64};

/* ---- binary ------------------------------------------------------------------- */

typedef double (*ref2_fn)(double x, double y, int is_int);

static double r_add(double x, double y, int i) { (void)i; return x + y; }
static double r_sub(double x, double y, int i) { (void)i; return x - y; }
static double r_mul(double x, double y, int i) { (void)i; return x * y; }
static double r_div(double x, double y, int i) { return i ? (y == 0 ? 0 : trunc(x / y)) : x / y; }
static double r_mod(double x, double y, int i) {
    if (i && y == 0) return 0;
    if (!i) {
        double r = fmod(x, y); /* exact; then move it to the divisor's sign */
        return (r != 0 && (r < 0) != (y < 0)) ? r + y : r;
    }
    return x - y * floor(x / y);
}
static double r_fmod(double x, double y, int i) { return i && y == 0 ? 0 : fmod(x, y); }
static double r_max(double x, double y, int i) { (void)i; return x > y ? x : y; }
static double r_min(double x, double y, int i) { (void)i; return x < y ? x : y; }
static double r_pow(double x, double y, int i) {
    if (i && y < 0) return (x == 1 || x == -1) ? pow(x, y) : 0; /* truncated 1/x^-y */
    return i ? trunc(pow(x, y)) : pow(x, y);
}
static double r_prelu(double x, double y, int i) { (void)i; return x < 0 ? x * y : x; }
static double r_eq(double x, double y, int i) { (void)i; return x == y; }
static double r_gt(double x, double y, int i) { (void)i; return x > y; }
static double r_lt(double x, double y, int i) { (void)i; return x < y; }
static double r_ge(double x, double y, int i) { (void)i; return x >= y; }
static double r_le(double x, double y, int i) { (void)i; return x <= y; }
static double r_and(double x, double y, int i) { (void)i; return (int64_t)x & (int64_t)y; }
static double r_or(double x, double y, int i) { (void)i; return (int64_t)x | (int64_t)y; }
static double r_xor(double x, double y, int i) { (void)i; return (int64_t)x ^ (int64_t)y; }

enum { PRED = 1, NONZERO_B = 2, SMALL = 4, UNIDIR = 8 };

/* Run op on random broadcast shapes of dtype dt and compare every element with
 * the reference; values in [lo, hi) (whole numbers for integer types). */
static void check_binary(const char *op, int64_t opset, int32_t dt, ref2_fn ref, double lo, double hi,
                         unsigned flags) {
    int is_int = et_is_int(dt);
    if (is_int && !ox_dtype_is_signed_int(dt) && lo < 0) lo = 0;
    for (int iter = 0; iter < 25; iter++) {
        int32_t ranks[2], r;
        int64_t dims[2][OX_MAX_RANK], d[OX_MAX_RANK];
        et_shapes(2, ranks, dims, &r, d);
        if (flags & UNIDIR) { /* the first input has the output's shape */
            ranks[0] = r;
            memcpy(dims[0], d, sizeof(int64_t) * (size_t)r);
        }
        ox_tensor a = et_rand(dt, ranks[0], dims[0], lo, hi, is_int);
        ox_tensor b = et_rand(dt, ranks[1], dims[1], lo, hi, is_int);
        if (flags & NONZERO_B)
            for (size_t i = 0; i < ox_tensor_count(&b); i++)
                if (et_get(&b, i) == 0) et_set(&b, i, 3);
        ox_node *n = tn_node(op, 2, 1);
        ox_tensor out;
        onyx_status st = ox_op_run_single(n, opset, (ox_tensor *[]){&a, &b}, 2, &out, 1);
        if (st != ONYX_OK) {
            fprintf(stderr, "  %s %s: %s\n", op, ox_dtype_name(dt), onyx_last_error());
            ox_test_failures++;
        } else {
            CHECK(out.dtype == ((flags & PRED) ? ONYX_DTYPE_BOOL : dt));
            CHECK(out.rank == r);
            for (int32_t i = 0; i < r && i < out.rank; i++) CHECK(out.dims[i] == d[i]);
            int64_t idx[OX_MAX_RANK] = {0};
            size_t count = ox_shape_count(r, d);
            for (size_t e = 0; e < count; e++, et_next(r, d, idx)) {
                double x = et_get(&a, et_offset(&a, r, idx)), y = et_get(&b, et_offset(&b, r, idx));
                double want = ref(x, y, is_int), got = et_get(&out, e);
                /* as the output type stores it: a float16 quotient past 65504 is inf */
                if (!(flags & PRED)) want = et_as(dt, want);
                if (!et_close(got, want, (flags & PRED) ? 0 : et_tol(dt))) {
                    fprintf(stderr, "  %s %s: f(%g, %g) = %.9g, expected %.9g\n", op,
                            ox_dtype_name(dt), x, y, got, want);
                    ox_test_failures++;
                    break;
                }
            }
            ox_tensor_free_data(&out);
        }
        ox_tensor_free_data(&a);
        ox_tensor_free_data(&b);
        tn_reset();
        if (ox_test_failures) return;
    }
}

static void check_binary_types(const char *op, int64_t opset, ref2_fn ref, double lo, double hi,
                               unsigned flags, int floats, int ints) {
    for (size_t i = 0; floats && i < sizeof FLOATS / sizeof *FLOATS; i++)
        check_binary(op, opset, FLOATS[i], ref, lo, hi, flags);
    for (size_t i = 0; ints && i < sizeof INTS / sizeof *INTS; i++)
        check_binary(op, opset, INTS[i], ref, lo, hi, flags);
}

TEST(elem_arith) {
    check_binary_types("Add", 14, r_add, -100, 100, 0, 1, 1);
    check_binary_types("Sub", 14, r_sub, -100, 100, 0, 1, 1);
    check_binary_types("Mul", 14, r_mul, -100, 100, 0, 1, 1); /* int8 products wrap */
    check_binary_types("Div", 14, r_div, -100, 100, NONZERO_B, 1, 1);
    check_binary_types("Max", 13, r_max, -100, 100, 0, 1, 1);
    check_binary_types("Min", 13, r_min, -100, 100, 0, 1, 1);
    check_binary_types("Sum", 13, r_add, -100, 100, 0, 1, 0);
    check_binary_types("PRelu", 16, r_prelu, -10, 10, UNIDIR, 1, 1);
}

static void set_fmod(ox_node *n) { tn_int(n, "fmod", 1); }

TEST(elem_mod) {
    check_binary_types("Mod", 13, r_mod, -50, 50, NONZERO_B, 0, 1);
    /* fmod=1 needs the attribute: run through a wrapper node */
    for (size_t t = 0; t < sizeof FLOATS / sizeof *FLOATS; t++) {
        int32_t dt = FLOATS[t];
        double xs[] = {5.5, -5.5, 7, -7, 0.25, 3};
        double ys[] = {2, 2, -3, -3, 4, 0.5};
        ox_tensor a = et_make(dt, 1, (int64_t[]){6}, xs), b = et_make(dt, 1, (int64_t[]){6}, ys);
        ox_node *n = tn_node("Mod", 2, 1);
        set_fmod(n);
        ox_tensor out;
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b}, 2, &out, 1));
        for (size_t i = 0; i < 6; i++) CHECK_NEAR(et_get(&out, i), r_fmod(xs[i], ys[i], 0), 1e-6);
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&a);
        ox_tensor_free_data(&b);
        tn_reset();
    }
    /* integer fmod=1 keeps the dividend's sign; both forms give 0 for a zero divisor */
    ox_tensor a = et_make(ONYX_DTYPE_INT32, 1, (int64_t[]){4}, (double[]){-7, 7, -7, 9});
    ox_tensor b = et_make(ONYX_DTYPE_INT32, 1, (int64_t[]){4}, (double[]){3, -3, 0, -1});
    ox_node *n = tn_node("Mod", 2, 1);
    set_fmod(n);
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    CHECK(et_get(&out, 0) == -1 && et_get(&out, 1) == 1 && et_get(&out, 2) == 0 && et_get(&out, 3) == 0);
    ox_tensor_free_data(&out);
    n = tn_node("Mod", 2, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    CHECK(et_get(&out, 0) == 2 && et_get(&out, 1) == -2 && et_get(&out, 2) == 0 && et_get(&out, 3) == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

TEST(elem_compare) {
    check_binary_types("Equal", 19, r_eq, -3, 3, PRED, 1, 1);
    check_binary_types("Greater", 13, r_gt, -3, 3, PRED, 1, 1);
    check_binary_types("Less", 13, r_lt, -3, 3, PRED, 1, 1);
    check_binary_types("GreaterOrEqual", 16, r_ge, -3, 3, PRED, 1, 1);
    check_binary_types("LessOrEqual", 16, r_le, -3, 3, PRED, 1, 1);
}

TEST(elem_logic_bits) {
    check_binary("And", 7, ONYX_DTYPE_BOOL, r_and, 0, 2, PRED);
    check_binary("Or", 7, ONYX_DTYPE_BOOL, r_or, 0, 2, PRED);
    check_binary("Xor", 7, ONYX_DTYPE_BOOL, r_xor, 0, 2, PRED);
    check_binary("Equal", 11, ONYX_DTYPE_BOOL, r_eq, 0, 2, PRED);
    for (size_t i = 0; i < sizeof INTS / sizeof *INTS; i++) {
        check_binary("BitwiseAnd", 18, INTS[i], r_and, -100, 100, 0);
        check_binary("BitwiseOr", 18, INTS[i], r_or, -100, 100, 0);
        check_binary("BitwiseXor", 18, INTS[i], r_xor, -100, 100, 0);
    }
}

TEST(elem_pow) {
    check_binary_types("Pow", 15, r_pow, 0.5, 3, 0, 1, 0);
    check_binary("Pow", 15, ONYX_DTYPE_INT32, r_pow, 0, 6, 0);
    check_binary("Pow", 15, ONYX_DTYPE_INT64, r_pow, -5, 6, 0);
    /* mixed types: the output takes the base's type */
    int32_t bases[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT32, ONYX_DTYPE_INT64, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_DOUBLE};
    int32_t exps[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT32, ONYX_DTYPE_UINT8, ONYX_DTYPE_INT64, ONYX_DTYPE_DOUBLE};
    for (size_t i = 0; i < 5; i++)
        for (size_t k = 0; k < 5; k++) {
            ox_tensor a = et_make(bases[i], 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, -2, 4, 0});
            ox_tensor b = et_make(exps[k], 1, (int64_t[]){3}, (double[]){3, 2, 1});
            ox_tensor out;
            REQUIRE_OK(ox_op_run_single(tn_node("Pow", 2, 1), 15, (ox_tensor *[]){&a, &b}, 2, &out, 1));
            CHECK(out.dtype == bases[i] && out.rank == 2 && out.dims[1] == 3);
            double want[] = {1, 4, 3, -8, 16, 0};
            for (size_t e = 0; e < 6; e++) CHECK_NEAR(et_get(&out, e), want[e], 1e-6);
            ox_tensor_free_data(&out);
            ox_tensor_free_data(&a);
            ox_tensor_free_data(&b);
        }
    /* x^2 on a scalar exponent keeps the sign rules of pow */
    ox_tensor a = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, (double[]){-3, 0.5, -0.0});
    ox_tensor b = et_make(ONYX_DTYPE_FLOAT, 0, NULL, (double[]){2});
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Pow", 2, 1), 15, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    CHECK(et_get(&out, 0) == 9 && et_get(&out, 1) == 0.25 && et_get(&out, 2) == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

/* Integer division edge cases are defined (no trap): x / 0 = 0, INT_MIN / -1 wraps. */
TEST(elem_int_div_edges) {
    ox_tensor a = et_make(ONYX_DTYPE_INT8, 1, (int64_t[]){4}, (double[]){-128, 7, -7, 5});
    ox_tensor b = et_make(ONYX_DTYPE_INT8, 1, (int64_t[]){4}, (double[]){-1, 0, 2, -2});
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Div", 2, 1), 14, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    CHECK(et_get(&out, 0) == -128 && et_get(&out, 1) == 0 && et_get(&out, 2) == -3 && et_get(&out, 3) == -2);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    int64_t big[2] = {INT64_MIN, 5};
    ox_tensor c = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, big);
    ox_tensor m1 = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){-1});
    REQUIRE_OK(ox_op_run_single(tn_node("Div", 2, 1), 14, (ox_tensor *[]){&c, &m1}, 2, &out, 1));
    CHECK(((int64_t *)out.data)[0] == INT64_MIN && ((int64_t *)out.data)[1] == -5);
    ox_tensor_free_data(&out);
    REQUIRE_OK(ox_op_run_single(tn_node("Mul", 2, 1), 14, (ox_tensor *[]){&c, &m1}, 2, &out, 1));
    CHECK(((int64_t *)out.data)[0] == INT64_MIN);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&c);
    ox_tensor_free_data(&m1);
    tn_reset();
}

TEST(elem_bitshift) {
    for (size_t t = 4; t < 8; t++) {
        int32_t dt = INTS[t];
        double xs[] = {1, 4, 255, 16, 3};
        double ss[] = {1, 2, 3, 200, 0};
        ox_tensor a = et_make(dt, 1, (int64_t[]){5}, xs), b = et_make(dt, 1, (int64_t[]){5}, ss);
        for (int left = 0; left < 2; left++) {
            ox_node *n = tn_node("BitShift", 2, 1);
            tn_str(n, "direction", left ? "LEFT" : "RIGHT");
            ox_tensor out;
            REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&a, &b}, 2, &out, 1));
            for (size_t i = 0; i < 5; i++) {
                double bits = (double)(8 * ox_dtype_size(dt));
                double want = ss[i] >= bits ? 0 : left ? et_as(dt, xs[i] * pow(2, ss[i])) : floor(xs[i] / pow(2, ss[i]));
                CHECK(et_get(&out, i) == want);
            }
            ox_tensor_free_data(&out);
        }
        ox_node *n = tn_node("BitShift", 2, 1);
        tn_str(n, "direction", "UP");
        ox_tensor out;
        CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&a, &b}, 2, &out, 1) == ONYX_ERR_INVALID_MODEL);
        ox_tensor_free_data(&a);
        ox_tensor_free_data(&b);
        tn_reset();
    }
}

TEST(elem_variadic) {
    const char *ops[] = {"Max", "Min", "Sum", "Mean"};
    for (int o = 0; o < 4; o++)
        for (size_t t = 0; t < 4; t++)
            for (size_t n_in = 1; n_in <= 4; n_in++) {
                int32_t dt = FLOATS[t], ranks[4], r;
                int64_t dims[4][OX_MAX_RANK], d[OX_MAX_RANK];
                et_shapes(n_in, ranks, dims, &r, d);
                ox_tensor in[4], *pin[4];
                for (size_t k = 0; k < n_in; k++) {
                    in[k] = et_rand(dt, ranks[k], dims[k], -10, 10, 0);
                    pin[k] = &in[k];
                }
                ox_tensor out;
                REQUIRE_OK(ox_op_run_single(tn_node(ops[o], n_in, 1), 13, pin, n_in, &out, 1));
                REQUIRE(out.rank == r);
                int64_t idx[OX_MAX_RANK] = {0};
                for (size_t e = 0; e < ox_shape_count(r, d); e++, et_next(r, d, idx)) {
                    double acc = et_get(&in[0], et_offset(&in[0], r, idx));
                    for (size_t k = 1; k < n_in; k++) {
                        double v = et_get(&in[k], et_offset(&in[k], r, idx));
                        acc = o == 0 ? fmax(acc, v) : o == 1 ? fmin(acc, v) : acc + v;
                        acc = et_as(dt, acc); /* each step rounds to the type */
                    }
                    if (o == 3) acc /= (double)n_in;
                    CHECK(et_close(et_get(&out, e), acc, et_tol(dt)));
                }
                ox_tensor_free_data(&out);
                for (size_t k = 0; k < n_in; k++) ox_tensor_free_data(&in[k]);
                tn_reset();
            }
    /* integer Max/Min */
    for (size_t t = 0; t < 8; t++) {
        check_binary("Max", 13, INTS[t], r_max, -100, 100, 0);
        check_binary("Min", 13, INTS[t], r_min, -100, 100, 0);
    }
}

TEST(elem_nan_propagation) {
    ox_tensor a = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, (double[]){NAN, 1, NAN});
    ox_tensor b = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, (double[]){1, NAN, NAN});
    const char *ops[] = {"Max", "Min"};
    for (int o = 0; o < 2; o++) {
        ox_tensor out;
        REQUIRE_OK(ox_op_run_single(tn_node(ops[o], 2, 1), 13, (ox_tensor *[]){&a, &b}, 2, &out, 1));
        for (size_t i = 0; i < 3; i++) CHECK(isnan(et_get(&out, i)));
        ox_tensor_free_data(&out);
    }
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Equal", 2, 1), 13, (ox_tensor *[]){&a, &a}, 2, &out, 1));
    CHECK(et_get(&out, 0) == 0 && et_get(&out, 1) == 1);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

TEST(elem_binary_errors) {
    ox_tensor a = tt_rand(2, (int64_t[]){2, 3}, 0, 1), b = tt_rand(1, (int64_t[]){4}, 0, 1);
    ox_tensor i = et_make(ONYX_DTYPE_INT32, 1, (int64_t[]){3}, NULL);
    ox_tensor s = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){3}, NULL);
    ox_tensor out;
    CHECK(ox_op_run_single(tn_node("Add", 2, 1), 14, (ox_tensor *[]){&a, &b}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "[2,3]") != NULL);
    CHECK(ox_op_run_single(tn_node("Add", 2, 1), 14, (ox_tensor *[]){&a, &i}, 2, &out, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(strstr(onyx_last_error(), "int32") != NULL);
    CHECK(ox_op_run_single(tn_node("Add", 2, 1), 14, (ox_tensor *[]){&s, &s}, 2, &out, 1) == ONYX_ERR_UNSUPPORTED);
    CHECK(ox_op_run_single(tn_node("And", 2, 1), 7, (ox_tensor *[]){&a, &a}, 2, &out, 1) == ONYX_ERR_UNSUPPORTED);
    ox_node *n = tn_node("Add", 2, 1);
    tn_omit_input(n, 1);
    CHECK(ox_op_run_single(n, 14, (ox_tensor *[]){&a, NULL}, 2, &out, 1) == ONYX_ERR_INVALID_MODEL);
    /* PRelu's slope must broadcast to X without growing it */
    ox_tensor big = tt_rand(3, (int64_t[]){4, 2, 3}, 0, 1);
    CHECK(ox_op_run_single(tn_node("PRelu", 2, 1), 16, (ox_tensor *[]){&a, &big}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    ox_tensor_free_data(&i);
    ox_tensor_free_data(&s);
    ox_tensor_free_data(&big);
    tn_reset();
}

TEST(elem_equal_strings) {
    const char *xs[] = {"abc", "", "a\0b", "x"};
    size_t lens[] = {3, 0, 3, 1};
    ox_tensor a = tt_make(ONYX_DTYPE_STRING, 2, (int64_t[]){2, 2}, NULL);
    ox_tensor b = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){2}, NULL);
    ox_string *sa = a.data, *sb = b.data;
    for (size_t i = 0; i < 4; i++) {
        sa[i].data = ox_malloc(lens[i] + 1);
        memcpy(sa[i].data, xs[i], lens[i]);
        sa[i].len = lens[i];
    }
    sb[0].data = ox_malloc(4);
    memcpy(sb[0].data, "a\0b", 3);
    sb[0].len = 3;
    sb[1].data = NULL; /* empty */
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Equal", 2, 1), 19, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    CHECK(out.dtype == ONYX_DTYPE_BOOL && out.rank == 2);
    uint8_t *o = out.data;
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == 1 && o[3] == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    tn_reset();
}

/* Before opset 7: B broadcasts onto A at 'axis' when broadcast=1; PRelu's 1-D slope
 * runs along the channel axis. */
TEST(elem_legacy_broadcast) {
    ox_tensor a = tt_rand(3, (int64_t[]){2, 3, 4}, -5, 5), b = tt_rand(1, (int64_t[]){3}, -5, 5);
    ox_node *n = tn_node("Add", 2, 1);
    tn_int(n, "broadcast", 1);
    tn_int(n, "axis", 1);
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(n, 6, (ox_tensor *[]){&a, &b}, 2, &out, 1));
    REQUIRE(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == 4);
    for (size_t i = 0; i < 24; i++) CHECK_NEAR(et_get(&out, i), et_get(&a, i) + et_get(&b, (i / 4) % 3), 1e-6);
    ox_tensor_free_data(&out);
    /* the default axis aligns B's dims to the end of A's */
    ox_tensor b2 = tt_rand(2, (int64_t[]){3, 4}, -5, 5);
    n = tn_node("Mul", 2, 1);
    tn_int(n, "broadcast", 1);
    REQUIRE_OK(ox_op_run_single(n, 6, (ox_tensor *[]){&a, &b2}, 2, &out, 1));
    for (size_t i = 0; i < 24; i++) CHECK_NEAR(et_get(&out, i), et_get(&a, i) * et_get(&b2, i % 12), 1e-5);
    ox_tensor_free_data(&out);
    /* B that does not fit at the axis */
    n = tn_node("Sub", 2, 1);
    tn_int(n, "broadcast", 1);
    tn_int(n, "axis", 2);
    CHECK(ox_op_run_single(n, 6, (ox_tensor *[]){&a, &b}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    /* from opset 7 the same attributes are ignored and numpy rules apply */
    CHECK(ox_op_run_single(n, 7, (ox_tensor *[]){&a, &b}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    /* PRelu opset 6: slope [C] on [N, C, L] */
    ox_tensor x = tt_rand(3, (int64_t[]){2, 3, 4}, -5, 5);
    REQUIRE_OK(ox_op_run_single(tn_node("PRelu", 2, 1), 6, (ox_tensor *[]){&x, &b}, 2, &out, 1));
    for (size_t i = 0; i < 24; i++) {
        double v = et_get(&x, i);
        CHECK_NEAR(et_get(&out, i), v < 0 ? v * et_get(&b, (i / 4) % 3) : v, 1e-5);
    }
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    ox_tensor_free_data(&b2);
    ox_tensor_free_data(&x);
    tn_reset();
}
