/* Fusion (plan/fuse.c): Conv+BatchNormalization+Relu folded into one step gives what
 * the unfused graph gives, and a requested intermediate value is never fused away. */
#include <math.h>
#include <string.h>

#include "kernels/cpu.h"
#include "mbuild.h"
#include "onyx.h"
#include "test.h"

/* Run small_cnn on a fixed input; outputs[k] receive the requested values. */
static onyx_status run_cnn(int disable_fusion, size_t n_req, const char *const *req, onyx_tensor **outs) {
    onyx_model *m;
    onyx_session *s = NULL;
    onyx_status st = onyx_model_load_file("examples/small_cnn/model.onnx", &m);
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.disable_fusion = disable_fusion;
    o.node_callback = mb_record;
    if (st == ONYX_OK) st = onyx_session_create(m, &o, &s);
    float x[3 * 16 * 16];
    for (int i = 0; i < 3 * 16 * 16; i++) x[i] = sinf((float)i * 0.37f);
    onyx_tensor *in = NULL;
    if (st == ONYX_OK) st = onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 3, 16, 16}, x, sizeof x, &in);
    const char *name = "x";
    mb_n_labels = 0;
    if (st == ONYX_OK) st = onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, n_req, req, outs);
    onyx_tensor_free(in);
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

static double max_rel_diff(const onyx_tensor *a, const onyx_tensor *b) {
    const float *x = onyx_tensor_data_const(a), *y = onyx_tensor_data_const(b);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < onyx_tensor_count(a); i++) scale = fmax(scale, fabs(x[i]));
    for (size_t i = 0; i < onyx_tensor_count(a); i++) worst = fmax(worst, fabs(x[i] - y[i]) / scale);
    return worst;
}

TEST(fusion_matches_unfused) {
    const char *req[1] = {"y"};
    onyx_tensor *ref = NULL, *got = NULL;
    REQUIRE_OK(run_cnn(1, 1, req, &ref));
    CHECK(mb_any_label("BatchNormalization") && mb_any_label("Relu") && !mb_any_label("Conv+BatchNormalization+Relu"));
    REQUIRE_OK(run_cnn(0, 1, req, &got));
    CHECK(mb_any_label("Conv+BatchNormalization+Relu"));
    CHECK(!mb_any_label("BatchNormalization") && !mb_any_label("Relu"));
    CHECK(onyx_tensor_count(ref) == onyx_tensor_count(got));
    CHECK(max_rel_diff(ref, got) < 1e-5);
    onyx_tensor_free(ref);
    onyx_tensor_free(got);
}

static void check_requested(const char *value, const char *const *want_labels, size_t n_want) {
    const char *req[2] = {value, "y"};
    onyx_tensor *ref[2] = {0}, *got[2] = {0};
    REQUIRE_OK(run_cnn(1, 2, req, ref));
    REQUIRE_OK(run_cnn(0, 2, req, got));
    for (size_t i = 0; i < n_want; i++) {
        if (!mb_any_label(want_labels[i])) {
            fprintf(stderr, "  requesting %s: no step '%s'\n", value, want_labels[i]);
            ox_test_failures++;
        }
    }
    CHECK(max_rel_diff(ref[0], got[0]) < 1e-5);
    CHECK(max_rel_diff(ref[1], got[1]) < 1e-5);
    for (int i = 0; i < 2; i++) {
        onyx_tensor_free(ref[i]);
        onyx_tensor_free(got[i]);
    }
}

TEST(fusion_keeps_requested_values) {
    /* the Conv output requested: the first block cannot fold at all */
    const char *conv_alone[] = {"Conv", "BatchNormalization", "Relu", "Conv+BatchNormalization+Relu"};
    check_requested("/features/features.0/Conv_output_0", conv_alone, 4);
    /* the BN output requested: BN folds into Conv (which then writes it), Relu stays */
    const char *bn_kept[] = {"Conv+BatchNormalization", "Relu", "Conv+BatchNormalization+Relu"};
    check_requested("/features/features.1/BatchNormalization_output_0", bn_kept, 3);
}

/* ---- the SiLU and GELU patterns on small models built here ---------------------- */

#define XN 111 /* elements of x: 3 x 37 in every shape used */

static void fill_x(float *x, double lo, double hi) {
    for (int i = 0; i < XN; i++) x[i] = (float)(lo + (hi - lo) * (0.5 + 0.5 * sin(i * 1.7)));
}

static const int64_t X2[2] = {3, 37};

/* ox_cpu_limit masks for each kernel path: AVX-512, AVX2, portable */
static const unsigned cpu_paths[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};

static double silu_d(double x) { return x / (1 + exp(-x)); }
static double gelu_d(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }

TEST(fusion_silu_pattern) {
    float x[XN];
    fill_x(x, -12, 12);
    for (int order = 0; order < 2; order++) { /* Mul(x, s) and Mul(s, x) */
        mbuild mb;
        mb_begin(&mb, 2, X2);
        mb_node(&mb, "Sigmoid", "x", NULL, NULL, "s");
        mb_node(&mb, "Mul", order ? "s" : "x", order ? "x" : "s", NULL, "y");
        mb_output(&mb, "y");
        const char *req[1] = {"y"};
        onyx_tensor *got;
        double d = mb_fused_vs_plain(&mb, x, 1, req, "Sigmoid+Mul", &got);
        CHECK(d == 0); /* the same sigmoid, then the same product */
        CHECK(!mb_any_label("Mul") && !mb_any_label("Sigmoid"));
        if (got) {
            const float *y = onyx_tensor_data_const(got);
            for (int i = 0; i < XN; i++) CHECK_NEAR(y[i], silu_d(x[i]), 1e-6);
        }
        onyx_tensor_free(got);
        free(mb.g.p);
    }
}

/* Conv (1x1 over 3 channels) or Gemm, then x * Sigmoid(x): one step. */
TEST(fusion_silu_into_conv_and_gemm) {
    float x[XN], w[9], bias[3];
    fill_x(x, -3, 3);
    for (int i = 0; i < 9; i++) w[i] = (float)cos(i * 0.9);
    for (int i = 0; i < 3; i++) bias[i] = 0.1f * (float)i - 0.1f;
    static const int64_t x4[4] = {1, 3, 37, 1}, w4[4] = {3, 3, 1, 1}, b1[1] = {3};
    static const int64_t x2[2] = {37, 3}, w2[2] = {3, 3};
    for (int gemm = 0; gemm < 2; gemm++) {
        mbuild mb;
        mb_begin(&mb, gemm ? 2 : 4, gemm ? x2 : x4);
        mb_init(&mb, "w", gemm ? 2 : 4, gemm ? w2 : w4, w);
        mb_init(&mb, "b", 1, b1, bias);
        mb_node(&mb, gemm ? "Gemm" : "Conv", "x", "w", "b", "c");
        mb_node(&mb, "Sigmoid", "c", NULL, NULL, "s");
        mb_node(&mb, "Mul", "c", "s", NULL, "y");
        mb_output(&mb, "y");
        const char *req[1] = {"y"};
        onyx_tensor *got;
        double d = mb_fused_vs_plain(&mb, x, 1, req, gemm ? "Gemm+Sigmoid+Mul" : "Conv+Sigmoid+Mul", &got);
        CHECK(d >= 0 && d <= 1e-6);
        CHECK(mb_n_labels == 1);
        onyx_tensor_free(got);
        /* the Conv/Gemm output requested: the SiLU step forms but stays apart */
        const char *req2[2] = {"y", "c"};
        d = mb_fused_vs_plain(&mb, x, 2, req2, "Sigmoid+Mul", &got);
        CHECK(d >= 0 && d <= 1e-6);
        CHECK(mb_any_label(gemm ? "Gemm" : "Conv"));
        onyx_tensor_free(got);
        free(mb.g.p);
    }
}

/* The GELU of torch's export, in its orders: d = x / sqrt 2 (or x * (1 / sqrt 2)),
 * e = Erf(d), a = e + 1 (or 1 + e), then x * a * 0.5 in three groupings. */
static void gelu_of(mbuild *mb, const char *x, int variant, float c_sqrt2, float c_one, float c_half) {
    mb_scalar(mb, "k", variant == 3 ? 1.0f / c_sqrt2 : c_sqrt2);
    mb_scalar(mb, "one", c_one);
    mb_scalar(mb, "half", c_half);
    if (variant == 3) mb_node(mb, "Mul", "k", x, NULL, "d");
    else mb_node(mb, "Div", x, "k", NULL, "d");
    mb_node(mb, "Erf", "d", NULL, NULL, "e");
    mb_node(mb, "Add", variant == 1 ? "one" : "e", variant == 1 ? "e" : "one", NULL, "a");
    switch (variant) {
    case 0: case 3: /* (x * a) * 0.5 */
        mb_node(mb, "Mul", x, "a", NULL, "m");
        mb_node(mb, "Mul", "m", "half", NULL, "y");
        break;
    case 1: /* (x * 0.5) * a */
        mb_node(mb, "Mul", x, "half", NULL, "m");
        mb_node(mb, "Mul", "a", "m", NULL, "y");
        break;
    default: /* x * (a * 0.5) */
        mb_node(mb, "Mul", "half", "a", NULL, "m");
        mb_node(mb, "Mul", x, "m", NULL, "y");
        break;
    }
    mb_output(mb, "y");
}

static void build_gelu(mbuild *mb, int variant, float c_sqrt2, float c_one, float c_half) {
    mb_begin(mb, 2, X2);
    gelu_of(mb, "x", variant, c_sqrt2, c_one, c_half);
}

TEST(fusion_gelu_pattern) {
    float x[XN];
    fill_x(x, -7, 7);
    for (int variant = 0; variant < 4; variant++) {
        mbuild mb;
        build_gelu(&mb, variant, 1.41421356f, 1.0f, 0.5f);
        const char *req[1] = {"y"};
        onyx_tensor *got;
        double d = mb_fused_vs_plain(&mb, x, 1, req,
                                  variant == 3 ? "Mul+Erf+Add+Mul+Mul" : "Div+Erf+Add+Mul+Mul", &got);
        /* the five ops round x / sqrt 2 and 1 + erf (which cancels below 0): a few
         * float roundings of values up to 7 */
        CHECK(d >= 0 && d <= 4e-7);
        CHECK(mb_n_labels == 1);
        if (got) {
            const float *y = onyx_tensor_data_const(got);
            for (int i = 0; i < XN; i++) CHECK_NEAR(y[i], gelu_d(x[i]), 1e-6);
        }
        onyx_tensor_free(got);
        free(mb.g.p);
    }
    /* after a Gemm: one step */
    static const int64_t x2[2] = {37, 3}, w2[2] = {3, 3};
    float w[9];
    for (int i = 0; i < 9; i++) w[i] = (float)cos(i * 0.7);
    mbuild mb;
    mb_begin(&mb, 2, x2);
    mb_init(&mb, "w", 2, w2, w);
    mb_node(&mb, "Gemm", "x", "w", NULL, "c");
    gelu_of(&mb, "c", 1, 1.41421356f, 1.0f, 0.5f);
    const char *req[1] = {"y"};
    onyx_tensor *got;
    double d = mb_fused_vs_plain(&mb, x, 1, req, "Gemm+Div+Erf+Add+Mul+Mul", &got);
    CHECK(d >= 0 && d <= 4e-7 * 3);
    CHECK(mb_n_labels == 1);
    onyx_tensor_free(got);
    free(mb.g.p);
}

/* MatMul by a constant matrix, then Add of one value per column, then an activation:
 * one step ("MatMul+Add+Relu"), the bias and a ReLU in the GEMM's stores; with the
 * Add's operands either way round, a bias of shape [1, N], a batch of rows (3-D
 * input), GELU after (its erf pattern, applied after the product), every kernel
 * path, 1 and 2 threads. Not fused: a bias of the output's full shape, a bias that is
 * no constant (another MatMul's output). The values are the unfused steps'. */
TEST(fusion_matmul_bias_act) {
    float x[XN], w[37 * 20], bias[3 * 20];
    fill_x(x, -2, 2);
    for (int i = 0; i < 37 * 20; i++) w[i] = (float)cos(i * 0.37) * 0.2f;
    for (int i = 0; i < 3 * 20; i++) bias[i] = 0.05f * (float)(i % 20) - 0.4f;
    static const int64_t X3[3] = {3, 1, 37};
    /* v: 0 plain, 1 Add(b, mm), 2 bias [1, N], 3 3-D x, 4 GELU; 5 bias of the full
     * shape, 6 the bias another MatMul's output */
    static const char *const want[7] = {"MatMul+Add+Relu", "MatMul+Add+Relu", "MatMul+Add+Relu",
                                        "MatMul+Add+Relu", "MatMul+Add+Div+Erf+Add+Mul+Mul",
                                        NULL, NULL};
    for (int k = 0; k < 3 * 7 * 2; k++) { /* kernel path l, variant v, 1 or 2 threads */
        int l = k / 14, v = k / 2 % 7, threads = 1 + k % 2;
        unsigned old = ox_cpu_limit(cpu_paths[l]);
        mbuild mb;
        mb_begin(&mb, v == 3 ? 3 : 2, v == 3 ? X3 : X2);
        int64_t wd[2] = {37, 20}, bd1[1] = {20}, bd2[2] = {1, 20}, bd3[2] = {3, 20};
        mb_init(&mb, "w", 2, wd, w);
        if (v == 2) mb_init(&mb, "b", 2, bd2, bias);
        else if (v == 5) mb_init(&mb, "b", 2, bd3, bias);
        else mb_init(&mb, "b", 1, bd1, bias);
        const char *bn = "b";
        if (v == 6) mb_node(&mb, "MatMul", "x", "w", NULL, bn = "mm2");
        mb_node(&mb, "MatMul", "x", "w", NULL, "mm");
        mb_node(&mb, "Add", v == 1 ? bn : "mm", v == 1 ? "mm" : bn, NULL, "ab");
        if (v == 4) {
            gelu_of(&mb, "ab", 0, sqrtf(2.0f), 1.0f, 0.5f); /* ends in "y" */
        } else {
            mb_node(&mb, "Relu", "ab", NULL, NULL, "y");
            mb_output(&mb, "y");
        }
        const char *req[1] = {"y"};
        onyx_tensor *got;
        mb_threads = threads;
        double d = mb_fused_vs_plain(&mb, x, 1, req, want[v] ? want[v] : "", &got);
        mb_threads = 0;
        CHECK(d >= 0 && d <= 1e-6);
        if (!want[v] && mb_any_label("MatMul+Add+Relu")) mb_print_labels("fused where it must not");
        if (!(d >= 0 && d <= 1e-6))
            fprintf(stderr, "  variant %d, path %d, %d threads: %g\n", v, l, threads, d);
        onyx_tensor_free(got);
        free(mb.g.p);
        ox_cpu_limit(old);
    }
}

/* Identity steps go where nothing needs them: readers read the input instead, and a
 * result's maker writes the result itself; an Identity from a graph input to a graph
 * output stays. The values are those of the graph as written, each requested value
 * included. */
TEST(fusion_drops_identities) {
    float x[XN];
    fill_x(x, -3, 3);
    /* v: 0 Relu, Identity, two readers; 1 Neg, Identity as the graph output; 2 the
     * Identity's output also requested; 3 the graph input straight to the output */
    static const char *const req[4][2] = {{"y", NULL}, {"y", NULL}, {"y", "b"}, {"y", NULL}};
    for (int v = 0; v < 4; v++) {
        mbuild mb;
        mb_begin(&mb, 2, X2);
        if (v == 3) {
            mb_node(&mb, "Identity", "x", NULL, NULL, "y");
        } else if (v == 1) {
            mb_node(&mb, "Neg", "x", NULL, NULL, "a");
            mb_node(&mb, "Identity", "a", NULL, NULL, "y");
        } else {
            mb_node(&mb, "Relu", "x", NULL, NULL, "a");
            mb_node(&mb, "Identity", "a", NULL, NULL, "b");
            mb_node(&mb, "Neg", "b", NULL, NULL, "c");
            mb_node(&mb, "Add", "b", "c", NULL, "y");
        }
        mb_output(&mb, "y");
        size_t n_req = req[v][1] ? 2 : 1;
        onyx_tensor *got;
        double d = mb_fused_vs_plain(&mb, x, n_req, req[v], "", &got);
        CHECK(d == 0);
        CHECK(mb_any_label("Identity") == (v == 3));
        if (mb_any_label("Identity") != (v == 3)) mb_print_labels("Identity steps");
        onyx_tensor_free(got);
        free(mb.g.p);
    }
}

/* Intermediate values that are requested or graph outputs, or read elsewhere, and
 * near-miss patterns: nothing fuses, results as written. */
TEST(fusion_patterns_must_not_fuse) {
    float x[XN];
    fill_x(x, -5, 5);
    onyx_tensor *got;
    const char *req_y[1] = {"y"};
    mbuild mb;
    /* SiLU with the Sigmoid output requested */
    mb_begin(&mb, 2, X2);
    mb_node(&mb, "Sigmoid", "x", NULL, NULL, "s");
    mb_node(&mb, "Mul", "x", "s", NULL, "y");
    mb_output(&mb, "y");
    const char *req_ys[2] = {"y", "s"};
    CHECK(mb_fused_vs_plain(&mb, x, 2, req_ys, NULL, &got) == 0);
    onyx_tensor_free(got);
    /* ... a graph output, though not requested */
    mb_output(&mb, "s");
    CHECK(mb_fused_vs_plain(&mb, x, 1, req_y, NULL, &got) == 0);
    onyx_tensor_free(got);
    free(mb.g.p);
    /* ... read by another node */
    mb_begin(&mb, 2, X2);
    mb_node(&mb, "Sigmoid", "x", NULL, NULL, "s");
    mb_node(&mb, "Mul", "x", "s", NULL, "m");
    mb_node(&mb, "Add", "m", "s", NULL, "y");
    mb_output(&mb, "y");
    CHECK(mb_fused_vs_plain(&mb, x, 1, req_y, NULL, &got) == 0);
    onyx_tensor_free(got);
    free(mb.g.p);
    /* a gate: z * Sigmoid(x) with z not x */
    mb_begin(&mb, 2, X2);
    mb_node(&mb, "Neg", "x", NULL, NULL, "z");
    mb_node(&mb, "Sigmoid", "x", NULL, NULL, "s");
    mb_node(&mb, "Mul", "z", "s", NULL, "y");
    mb_output(&mb, "y");
    CHECK(mb_fused_vs_plain(&mb, x, 1, req_y, NULL, &got) == 0);
    onyx_tensor_free(got);
    free(mb.g.p);
    /* GELU with one wrong constant, in every order */
    const float bad[3][3] = {{2.0f, 1.0f, 0.5f}, {1.41421356f, 2.0f, 0.5f}, {1.41421356f, 1.0f, 0.25f}};
    for (int variant = 0; variant < 4; variant++)
        for (int k = 0; k < 3; k++) {
            build_gelu(&mb, variant, bad[k][0], bad[k][1], bad[k][2]);
            CHECK(mb_fused_vs_plain(&mb, x, 1, req_y, NULL, &got) == 0);
            onyx_tensor_free(got);
            free(mb.g.p);
        }
    /* GELU with its Erf output, or the product before the last Mul, requested */
    const char *mids[3] = {"e", "a", "m"};
    for (int k = 0; k < 3; k++) {
        build_gelu(&mb, 0, 1.41421356f, 1.0f, 0.5f);
        const char *req[2] = {"y", mids[k]};
        CHECK(mb_fused_vs_plain(&mb, x, 2, req, NULL, &got) == 0);
        onyx_tensor_free(got);
        free(mb.g.p);
    }
    /* GELU whose constant broadcasts x to a higher rank */
    mb_begin(&mb, 2, X2);
    mb_scalar(&mb, "k", 1.41421356f);
    mb_init(&mb, "one", 3, (const int64_t[]){1, 1, 1}, (const float[]){1.0f});
    mb_scalar(&mb, "half", 0.5f);
    mb_node(&mb, "Div", "x", "k", NULL, "d");
    mb_node(&mb, "Erf", "d", NULL, NULL, "e");
    mb_node(&mb, "Add", "e", "one", NULL, "a");
    mb_node(&mb, "Mul", "x", "a", NULL, "m");
    mb_node(&mb, "Mul", "m", "half", NULL, "y");
    mb_output(&mb, "y");
    CHECK(mb_fused_vs_plain(&mb, x, 1, req_y, NULL, &got) == 0);
    onyx_tensor_free(got);
    free(mb.g.p);
}

/* Conv then Add with a value of the same shape, then Relu: one Conv+Add+Relu step
 * whose residual is added before the activation, in either operand order; and not
 * when the other operand broadcasts or is computed after the Conv. */
TEST(fusion_conv_residual_add) {
    float x[XN], w[9], bias[3];
    fill_x(x, -3, 3);
    for (int i = 0; i < 9; i++) w[i] = (float)cos(i * 0.9);
    for (int i = 0; i < 3; i++) bias[i] = 0.1f * (float)i - 0.1f;
    static const int64_t x4[4] = {1, 3, 37, 1}, w4[4] = {3, 3, 1, 1}, b1[1] = {3};
    for (int order = 0; order < 2; order++) {
        mbuild mb;
        mb_begin(&mb, 4, x4);
        mb_init(&mb, "w", 4, w4, w);
        mb_init(&mb, "b", 1, b1, bias);
        mb_node(&mb, "Neg", "x", NULL, NULL, "r"); /* the residual, made before the Conv */
        mb_node(&mb, "Conv", "x", "w", "b", "c");
        mb_node(&mb, "Add", order ? "r" : "c", order ? "c" : "r", NULL, "a");
        mb_node(&mb, "Relu", "a", NULL, NULL, "y");
        mb_output(&mb, "y");
        const char *req[1] = {"y"};
        onyx_tensor *got;
        double d = mb_fused_vs_plain(&mb, x, 1, req, "Conv+Add+Relu", &got);
        CHECK(d >= 0 && d <= 1e-6);
        /* against plain loops: y = relu(conv(x) + b - x) */
        const float *yv = got ? onyx_tensor_data_const(got) : NULL;
        for (int m = 0; yv && m < 3; m++)
            for (int i = 0; i < 37; i++) {
                double s = bias[m];
                for (int c = 0; c < 3; c++) s += (double)w[m * 3 + c] * x[c * 37 + i];
                s -= x[m * 37 + i];
                CHECK_NEAR(yv[m * 37 + i], s > 0 ? s : 0, 1e-5);
            }
        onyx_tensor_free(got);
        free(mb.g.p);
    }
    /* the residual computed after the Conv in step order: must not fuse (it would not
     * exist yet when the Conv runs) */
    mbuild mb;
    mb_begin(&mb, 4, x4);
    mb_init(&mb, "w", 4, w4, w);
    mb_init(&mb, "b", 1, b1, bias);
    mb_node(&mb, "Conv", "x", "w", "b", "c");
    mb_node(&mb, "Neg", "x", NULL, NULL, "r");
    mb_node(&mb, "Add", "c", "r", NULL, "y");
    mb_output(&mb, "y");
    const char *req[1] = {"y"};
    onyx_tensor *got;
    double d = mb_fused_vs_plain(&mb, x, 1, req, NULL, &got);
    CHECK(d >= 0 && d <= 1e-6);
    onyx_tensor_free(got);
    free(mb.g.p);
    /* a broadcast operand: must not fuse */
    mb_begin(&mb, 4, x4);
    mb_init(&mb, "w", 4, w4, w);
    mb_init(&mb, "b", 1, b1, bias);
    mb_init(&mb, "r", 1, b1, bias);
    mb_node(&mb, "Conv", "x", "w", "b", "c");
    mb_node(&mb, "Add", "c", "r", NULL, "y");
    mb_output(&mb, "y");
    d = mb_fused_vs_plain(&mb, x, 1, req, NULL, &got);
    CHECK(d >= 0 && d <= 1e-6);
    onyx_tensor_free(got);
    free(mb.g.p);
}

/* Relu, Clip, a residual Add or SiLU fused into each float Conv path: Winograd (3x3,
 * 16 channels), the micro-kernel's stores (1x1; 3x3 stride 2 on exact positions),
 * the wide grid (3x3 on a large image). The same values as the unfused steps, on
 * every kernel path. */
TEST(fusion_conv_epilogues_every_path) {
    enum { MAXN = 4 * 40 * 40 };
    static const struct { int C, H, k, s; } geo[4] = {{16, 12, 3, 1}, {16, 12, 1, 1}, {5, 13, 3, 2},
                                                      {4, 40, 3, 1}};
    static float x[MAXN], w[16 * 16 * 9], bias[16];
    for (int i = 0; i < MAXN; i++) x[i] = (float)sin(i * 0.37);
    for (int i = 0; i < 16 * 16 * 9; i++) w[i] = (float)cos(i * 0.91) * 0.2f;
    for (int i = 0; i < 16; i++) bias[i] = 0.05f * (float)i - 0.4f;
    static const char *const labels_want[4] = {"Conv+Relu", "Conv+Clip", "Conv+Add+Relu",
                                               "Conv+Sigmoid+Mul"};
    for (int gi = 0; gi < 4; gi++) {
        int C = geo[gi].C, H = geo[gi].H, k = geo[gi].k, st = geo[gi].s, M = C;
        int64_t x4[4] = {1, C, H, H}, w4[4] = {M, C, k, k}, b1[1] = {M};
        for (int l = 0; l < 3; l++) {
            unsigned old = ox_cpu_limit(cpu_paths[l]);
            for (int v = 0; v < 4; v++) {
                if (v == 2 && st != 1) continue; /* the residual needs the output's shape */
                mbuild mb;
                mb_begin(&mb, 4, x4);
                mb_init(&mb, "w", 4, w4, w);
                mb_init(&mb, "b", 1, b1, bias);
                mb_scalar(&mb, "lo", 0.0f);
                mb_scalar(&mb, "hi", 0.3f);
                mb_node(&mb, "Neg", "x", NULL, NULL, "r");
                pbuf pads = {0}, strides = {0}, n = {0};
                f_str(&pads, 1, "pads");
                for (int i = 0; i < 4; i++) f_int(&pads, 8, k / 2);
                f_int(&pads, 20, 7); /* AttributeProto.INTS */
                f_str(&strides, 1, "strides");
                for (int i = 0; i < 2; i++) f_int(&strides, 8, st);
                f_int(&strides, 20, 7);
                f_str(&n, 1, "x");
                f_str(&n, 1, "w");
                f_str(&n, 1, "b");
                f_str(&n, 2, "c");
                f_str(&n, 3, "c");
                f_str(&n, 4, "Conv");
                f_msg(&n, 5, &pads);
                f_msg(&n, 5, &strides);
                f_msg(&mb.g, 1, &n);
                if (v == 0) mb_node(&mb, "Relu", "c", NULL, NULL, "y");
                if (v == 1) mb_node(&mb, "Clip", "c", "lo", "hi", "y");
                if (v == 2) {
                    mb_node(&mb, "Add", "c", "r", NULL, "a");
                    mb_node(&mb, "Relu", "a", NULL, NULL, "y");
                }
                if (v == 3) { /* SiLU */
                    mb_node(&mb, "Sigmoid", "c", NULL, NULL, "s");
                    mb_node(&mb, "Mul", "c", "s", NULL, "y");
                }
                mb_output(&mb, "y");
                const char *req[1] = {"y"};
                onyx_tensor *got;
                double d = mb_fused_vs_plain(&mb, x, 1, req, labels_want[v], &got);
                CHECK(d >= 0 && d <= 1e-6);
                if (!(d >= 0 && d <= 1e-6))
                    fprintf(stderr, "  geometry %d, %s, path %d: %g\n", gi, labels_want[v], l, d);
                onyx_tensor_free(got);
                free(mb.g.p);
            }
            ox_cpu_limit(old);
        }
    }
}

/* A 1x1 Conv node "conv" from `in` with weights w and bias b; stride st, group grp. */
static void conv1x1_node(mbuild *mb, const char *in, const char *out, int64_t st, int64_t grp) {
    pbuf n = {0}, a = {0}, g = {0};
    f_str(&n, 1, in);
    f_str(&n, 1, "w");
    f_str(&n, 1, "b");
    f_str(&n, 2, out);
    f_str(&n, 3, out);
    f_str(&n, 4, "Conv");
    f_str(&a, 1, "strides");
    f_int(&a, 8, st);
    f_int(&a, 8, st);
    f_int(&a, 20, 7); /* AttributeProto.INTS */
    f_msg(&n, 5, &a);
    f_str(&g, 1, "group");
    f_int(&g, 3, grp);
    f_int(&g, 20, 2); /* AttributeProto.INT */
    f_msg(&n, 5, &g);
    f_msg(&mb->g, 1, &n);
}

/* Squeeze-and-excitation's Mul(X, S), S one value per channel, read by a 1x1 Conv: the
 * Conv scales its input or its filters ("Mul+Conv"), also with a residual Add after
 * it, for either operand order, on every kernel path and 1 or 2 threads: 70 channels
 * (the GEMM, B packed scaled 64 rows at a time) on 9 x 13 (column strips with a
 * tail); in batches of 2 (a scale per image), 24 on 20 x 21 (4 positions per channel
 * or more: the filters scaled), 256 on 7 x 7 (on AVX-512 the kernel with the channels
 * in the lanes, which copies the rows scaled) and on 14 x 14 (B packed scaled).
 * Not fused: a strided or grouped Conv, a scale of X's full shape, the product
 * also requested. The same values as the unfused steps. */
TEST(fusion_channel_scale_into_conv) {
    static const int64_t shapes[4][4] = {
        {1, 70, 9, 13}, {2, 24, 20, 21}, {2, 256, 7, 7}, {2, 256, 14, 14}};
    static float x[2 * 256 * 14 * 14], w[256 * 256], bias[256];
    for (int sh = 0; sh < 4; sh++) {
        const int64_t N = shapes[sh][0], C = shapes[sh][1], H = shapes[sh][2], W = shapes[sh][3];
        for (int64_t i = 0; i < N * C * H * W; i++) x[i] = (float)sin((double)i * 0.37);
        for (int64_t i = 0; i < C * C; i++) w[i] = (float)cos((double)i * 0.91) * 0.1f;
        for (int64_t i = 0; i < C; i++) bias[i] = 0.01f * (float)i - 0.3f;
        int64_t x4[4] = {N, C, H, W}, w4[4] = {C, C, 1, 1}, b1[1] = {C};
            /* v: 0 plain, 1 operands swapped, 2 with a residual Add; 3.. must not fuse:
         * 3 stride 2, 4 group = C, 5 the scale of X's shape, 6 the product requested too */
        static const char *const want[7] = {"Mul+Conv", "Mul+Conv", "Mul+Conv+Add", NULL, NULL,
                                             NULL, NULL};
        for (int l = 0; l < 3; l++) {
            unsigned old = ox_cpu_limit(cpu_paths[l]);
            for (int v = 0; v < 7; v++)
                for (int threads = 1; threads <= 2; threads++) {
                    mbuild mb;
                    mb_begin(&mb, 4, x4);
                    mb_init(&mb, "w", 4, v == 4 ? (int64_t[]){C, 1, 1, 1} : w4, w);
                    mb_init(&mb, "b", 1, b1, bias);
                    mb_node(&mb, "GlobalAveragePool", "x", NULL, NULL, "g");
                    if (v == 5) mb_node(&mb, "Neg", "x", NULL, NULL, "s");
                    else mb_node(&mb, "Sigmoid", "g", NULL, NULL, "s");
                    mb_node(&mb, "Mul", v == 1 ? "s" : "x", v == 1 ? "x" : "s", NULL, "m");
                    conv1x1_node(&mb, "m", "c", v == 3 ? 2 : 1, v == 4 ? C : 1);
                    const char *out = "c";
                    if (v == 2) {
                        mb_node(&mb, "Neg", "x", NULL, NULL, "r");
                        mb_node(&mb, "Add", "c", "r", NULL, out = "y");
                    }
                    mb_output(&mb, out);
                    if (v == 6) mb_output(&mb, "m");
                    const char *req[2] = {out, "m"};
                    onyx_tensor *got;
                    mb_threads = threads;
                    double d = mb_fused_vs_plain(&mb, x, v == 6 ? 2 : 1, req, want[v], &got);
                    mb_threads = 0;
                    CHECK(d >= 0 && d <= 1e-6);
                    if (!(d >= 0 && d <= 1e-6))
                        fprintf(stderr, "  shape %d, variant %d, path %d, %d threads: %g\n", sh, v,
                                l, threads, d);
                    onyx_tensor_free(got);
                    free(mb.g.p);
                }
            ox_cpu_limit(old);
        }
    }
}

/* ---- the planner's in-place Concat ------------------------------------------------ */

static void mb_concat(mbuild *mb, const char *a, const char *b, int64_t axis, const char *out) {
    pbuf attr = {0}, n = {0};
    f_str(&attr, 1, "axis");
    f_int(&attr, 3, axis);
    f_int(&attr, 20, 2); /* AttributeProto.INT */
    f_str(&n, 1, a);
    f_str(&n, 1, b);
    f_str(&n, 2, out);
    f_str(&n, 3, out);
    f_str(&n, 4, "Concat");
    f_msg(&n, 5, &attr);
    f_msg(&mb->g, 1, &n);
}

/* y = Concat(Relu(x), Neg(x)) and variants: inputs written in place where the plan
 * allows (one reader, not requested, nothing before the axis but 1s, nested), a
 * copy elsewhere; the values are the same either way. */
TEST(plan_concat_in_place) {
    float x[XN];
    fill_x(x, -2, 2);
    static const int64_t x4[4] = {1, 3, 37, 1};
    size_t arena_in_place = 0;
    for (int v = 0; v < 6; v++) {
        mbuild mb;
        mb_begin(&mb, 4, x4);
        mb_node(&mb, "Relu", "x", NULL, NULL, "a");
        mb_node(&mb, "Neg", "x", NULL, NULL, "b");
        int64_t axis = v == 2 ? 2 : 1;       /* axis 2: 3 blocks per input, a copy */
        mb_concat(&mb, "a", v == 4 ? "a" : "b", axis, "y");
        if (v == 1) mb_node(&mb, "Abs", "a", NULL, NULL, "z"); /* a read twice */
        if (v == 5) { /* nested: Concat(a2, Concat(a, b)) */
            mb_node(&mb, "Sigmoid", "x", NULL, NULL, "a2");
            mb_concat(&mb, "a2", "y", 1, "w");
        }
        mb_output(&mb, v == 5 ? "w" : "y");
        if (v == 1) mb_output(&mb, "z");
        const char *req[3] = {v == 5 ? "w" : "y", "z", "a"};
        size_t n_req = v == 1 ? 2 : v == 3 ? 1 : 1;
        if (v == 3) { /* a requested too */
            req[1] = "a";
            n_req = 2;
        }
        onyx_tensor *out[3] = {0};
        onyx_status st = mb_run(&mb, 0, x, n_req, req, out);
        CHECK(st == ONYX_OK);
        if (st == ONYX_OK) {
            const float *y = onyx_tensor_data_const(out[0]);
            size_t n = onyx_tensor_count(out[0]), bad = 0;
            CHECK(n == (v == 5 ? 3 * XN : 2 * XN));
            for (size_t i = 0; i < n && i < 3 * XN; i++) {
                double want;
                if (v == 2) { /* along axis 2: per channel, 37 of a then 37 of b */
                    size_t c = i / 74, k = i % 74;
                    float xv = x[c * 37 + (k % 37)];
                    want = k < 37 ? (xv > 0 ? xv : 0) : -xv;
                } else {
                    size_t part = i / XN, k = i % XN;
                    if (v == 5) part = (part + 2) % 3; /* a2 first */
                    if (part == 0 || (v == 4 && part == 1)) want = x[k] > 0 ? x[k] : 0;
                    else if (part == 1) want = -x[k];
                    else want = 1 / (1 + exp(-(double)x[k]));
                }
                bad += !(fabs(y[i] - want) <= 1e-6);
            }
            if (bad) fprintf(stderr, "  variant %d: %zu wrong\n", v, bad);
            CHECK(bad == 0);
            if (v == 1 || v == 3) { /* the other output too */
                const float *z = onyx_tensor_data_const(out[1]);
                for (size_t i = 0; i < XN; i++) {
                    double want = x[i] > 0 ? x[i] : 0;
                    CHECK_NEAR(z[i], want, 1e-6);
                }
            }
        }
        /* in place, a and b need no room of their own: y's alone (3 blocks less
         * than the same sizes copied along axis 2) */
        if (v == 0) arena_in_place = mb_last_arena;
        if (v == 2) CHECK(arena_in_place > 0 && arena_in_place < mb_last_arena);
        for (int k = 0; k < 3; k++) onyx_tensor_free(out[k]);
        free(mb.g.p);
    }
}

/* Gemm with C of each shape (a bias by columns, [1, N], by rows [M, 1], a scalar,
 * the full [M, N]), then a Relu or a Clip: fused into one step, C and the clamp go
 * into the micro-kernel's stores where they can and into the epilogue otherwise;
 * either way the same as the graph run op by op, on every kernel path. */
TEST(fusion_gemm_bias_clamp) {
    enum { N = 40 };
    float x[XN], w[37 * N], c[3 * N];
    fill_x(x, -2, 2);
    for (int i = 0; i < 37 * N; i++) w[i] = (float)cos(i * 0.37) * 0.2f;
    for (int i = 0; i < 3 * N; i++) c[i] = 0.05f * (float)(i % 23) - 0.5f;
    static const int64_t cshape[5][2] = {{N, 0}, {1, N}, {3, 1}, {1, 0}, {3, N}};
    static const int crank[5] = {1, 2, 2, 1, 2};
    for (int k = 0; k < 3 * 5 * 2 * 2; k++) { /* path, C's shape, Relu or Clip, threads */
        int l = k / 20, v = k / 4 % 5, clip = k / 2 % 2, threads = 1 + k % 2;
        unsigned old = ox_cpu_limit(cpu_paths[l]);
        mbuild mb;
        mb_begin(&mb, 2, X2);
        int64_t wd[2] = {37, N};
        mb_init(&mb, "w", 2, wd, w);
        mb_init(&mb, "c", crank[v], cshape[v], c);
        mb_node(&mb, "Gemm", "x", "w", "c", "g");
        if (clip) {
            mb_scalar(&mb, "lo", -0.3f);
            mb_scalar(&mb, "hi", 0.4f);
            mb_node(&mb, "Clip", "g", "lo", "hi", "y");
        } else {
            mb_node(&mb, "Relu", "g", NULL, NULL, "y");
        }
        mb_output(&mb, "y");
        const char *req[1] = {"y"};
        onyx_tensor *got;
        mb_threads = threads;
        double d = mb_fused_vs_plain(&mb, x, 1, req, clip ? "Gemm+Clip" : "Gemm+Relu", &got);
        mb_threads = 0;
        CHECK(d == 0.0);
        /* and against the product summed in double, C broadcast, then the clamp */
        const float *y = onyx_tensor_data_const(got);
        int bad = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < N; j++) {
                double r = 0;
                for (int p = 0; p < 37; p++) r += (double)x[i * 37 + p] * w[p * N + j];
                r += c[v == 0 || v == 1 ? j : v == 2 ? i : v == 3 ? 0 : i * N + j];
                r = clip ? fmin(fmax(r, -0.3), 0.4) : fmax(r, 0.0);
                bad += !(fabs(y[i * N + j] - r) <= 1e-5);
            }
        CHECK(bad == 0);
        if (d != 0.0 || bad)
            fprintf(stderr, "  C shape %d, %s, path %d, %d threads: %g, %d wrong\n", v,
                    clip ? "Clip" : "Relu", l, threads, d, bad);
        onyx_tensor_free(got);
        free(mb.g.p);
        ox_cpu_limit(old);
    }
}
