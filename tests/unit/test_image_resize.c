/* Resize and Upsample against a naive reference written from the spec's formulas:
 * every output element is a sum over input elements of per-axis weights, where
 * an axis's weights come from the source coordinate, the filter kernel evaluated
 * at every integer position within its support, and edge repetition. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor_helpers.h"
#include "test.h"
#include "test_image.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { NEAREST, LINEAR, CUBIC };
enum { HALF_PIXEL, HALF_PIXEL_SYM, PYTORCH, ALIGN, ASYM, TF_CROP, TF_HALF_NN };
static const char *mode_names[] = {"nearest", "linear", "cubic"};
static const char *ctm_names[] = {"half_pixel",    "half_pixel_symmetric", "pytorch_half_pixel",
                                  "align_corners", "asymmetric",           "tf_crop_and_resize",
                                  "tf_half_pixel_for_nn"};
static const char *nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
static const char *policy_names[] = {"stretch", "not_larger", "not_smaller"};

typedef struct {
    int mode, ctm;
    int nearest; /* 0..3 as named; 4 = the legacy rule (down: ceil, up: floor) */
    int exclude, antialias;
    double a, extrap;
    int32_t rank;
    int64_t in[4], out[4];
    double scale[4], r0[4], r1[4];
    int resized[4];
} rcase;

static double ref_coord(const rcase *c, int d, double y) {
    double s = c->scale[d], in = (double)c->in[d], lr = s * in; /* length_resized */
    switch (c->ctm) {
    case HALF_PIXEL: return (y + 0.5) / s - 0.5;
    case HALF_PIXEL_SYM: {
        double adjustment = (double)c->out[d] / lr, center = in / 2;
        return center * (1 - adjustment) + (y + 0.5) / s - 0.5;
    }
    case PYTORCH: return lr > 1 ? (y + 0.5) / s - 0.5 : 0;
    case ALIGN: return lr > 1 ? y * (in - 1) / (lr - 1) : 0;
    case ASYM: return y / s;
    case TF_CROP:
        return lr > 1 ? c->r0[d] * (in - 1) + y * (c->r1[d] - c->r0[d]) * (in - 1) / (lr - 1)
                      : 0.5 * (c->r0[d] + c->r1[d]) * (in - 1);
    default: return (y + 0.5) / s;
    }
}

static double kern(const rcase *c, double t) {
    t = fabs(t);
    if (c->mode == LINEAR) return t < 1 ? 1 - t : 0;
    double a = c->a;
    if (t <= 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
    if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
    return 0;
}

/* Dense weights over the input axis for output index y; returns 1 when y is
 * outside (tf_crop_and_resize extrapolation). */
static int ref_weights(const rcase *c, int d, int64_t y, double *wv) {
    int64_t len = c->in[d];
    for (int64_t i = 0; i < len; i++) wv[i] = 0;
    if (!c->resized[d]) {
        wv[y] = 1;
        return 0;
    }
    double x = ref_coord(c, d, (double)y);
    if (c->ctm == TF_CROP && (x < 0 || x > (double)(len - 1))) return 1;
    if (c->mode == NEAREST) {
        double v;
        switch (c->nearest) {
        case 0: v = ceil(x - 0.5); break;  /* round half down */
        case 1: v = floor(x + 0.5); break; /* round half up */
        case 2: v = floor(x); break;
        case 3: v = ceil(x); break;
        default: v = c->scale[d] < 1 ? ceil(x) : floor(x); break;
        }
        int64_t i = (int64_t)v;
        wv[i < 0 ? 0 : i >= len ? len - 1 : i] = 1;
        return 0;
    }
    double se = c->antialias && c->scale[d] < 1 ? c->scale[d] : 1;
    double support = (c->mode == LINEAR ? 1 : 2) / se, sum = 0;
    for (int64_t i = (int64_t)floor(x - support); i <= (int64_t)ceil(x + support); i++) {
        double w = kern(c, ((double)i - x) * se);
        if (w == 0 || (c->exclude && (i < 0 || i >= len))) continue;
        wv[i < 0 ? 0 : i >= len ? len - 1 : i] += w;
        sum += w;
    }
    if ((c->antialias || c->exclude) && sum != 0)
        for (int64_t i = 0; i < len; i++) wv[i] /= sum;
    return 0;
}

/* want[] for every output element. */
static void ref_resize(const rcase *c, const ox_tensor *x, double *want) {
    int32_t r = c->rank;
    double *w[4];
    unsigned char *outside[4];
    for (int32_t d = 0; d < r; d++) {
        w[d] = ox_malloc_array((size_t)(c->out[d] * c->in[d]) + 1, sizeof(double));
        outside[d] = ox_malloc((size_t)c->out[d] + 1);
        for (int64_t y = 0; y < c->out[d]; y++)
            outside[d][y] = (unsigned char)ref_weights(c, d, y, w[d] + y * c->in[d]);
    }
    size_t n_out = ox_shape_count(r, c->out), n_in = ox_shape_count(r, c->in);
    for (size_t o = 0; o < n_out; o++) {
        int64_t oi[4];
        tx_unravel(o, r, c->out, oi);
        int out_flag = 0;
        for (int32_t d = 0; d < r; d++) out_flag |= outside[d][oi[d]];
        if (out_flag) {
            want[o] = c->extrap;
            continue;
        }
        double acc = 0;
        for (size_t i = 0; i < n_in; i++) {
            int64_t ii[4];
            tx_unravel(i, r, c->in, ii);
            double p = 1;
            for (int32_t d = 0; d < r && p != 0; d++) p *= w[d][oi[d] * c->in[d] + ii[d]];
            if (p != 0) acc += p * ox_tensor_get_double(x, i);
        }
        want[o] = acc;
    }
    for (int32_t d = 0; d < r; d++) {
        ox_free(w[d]);
        ox_free(outside[d]);
    }
}

static const float scale_choices[] = {0.5f, 0.6f, 0.75f, 1.0f, 1.25f, 1.5f, 2.0f, 2.5f, 3.0f, 0.34f};

/* One random Resize case at opset (10..19) on dtype; returns the failures. */
static int resize_random_case(int64_t opset, int32_t dtype, ox_threadpool *pool) {
    rcase c;
    memset(&c, 0, sizeof c);
    int legacy = opset < 11;
    c.rank = 1 + img_rnd(4);
    for (int32_t d = 0; d < c.rank; d++) c.in[d] = 1 + img_rnd(c.rank > 2 ? 4 : 6);
    c.mode = img_rnd(legacy ? 2 : 3);
    c.ctm = legacy ? ASYM : opset == 11 ? img_rnd(7) : img_rnd(opset >= 19 ? 6 : 6);
    if (opset < 19 && c.ctm == HALF_PIXEL_SYM) c.ctm = HALF_PIXEL;
    c.nearest = legacy ? 4 : img_rnd(4);
    c.exclude = !legacy && c.mode != NEAREST && img_rnd(3) == 0;
    c.antialias = opset >= 18 && c.mode != NEAREST && img_rnd(2);
    c.a = img_rnd(2) ? -0.75 : -0.5;
    c.extrap = img_rnd(2) ? 0 : 10.5;
    /* the axes the scales/sizes/roi name, in their order */
    int64_t axes[4], axes_attr[4];
    size_t na = (size_t)c.rank;
    for (int32_t d = 0; d < c.rank; d++) axes[d] = d;
    int use_axes = opset >= 18 && img_rnd(2);
    if (use_axes) {
        for (int32_t d = c.rank - 1; d > 0; d--) { /* shuffle, keep a random prefix */
            int j = img_rnd(d + 1);
            int64_t t = axes[d];
            axes[d] = axes[j];
            axes[j] = t;
        }
        na = 1 + (size_t)img_rnd(c.rank);
        for (size_t i = 0; i < na; i++) axes_attr[i] = img_rnd(2) ? axes[i] - c.rank : axes[i];
    }
    int use_sizes = !legacy && img_rnd(2);
    int policy = use_sizes && opset >= 18 ? img_rnd(3) : 0;
    float scales[4], roi[8];
    int64_t sizes[4];
    for (int32_t d = 0; d < c.rank; d++) {
        c.out[d] = c.in[d];
        c.scale[d] = 1;
        c.r0[d] = 0;
        c.r1[d] = 1;
    }
    for (size_t i = 0; i < na; i++) {
        int d = (int)axes[i];
        c.resized[d] = 1;
        roi[i] = (float)img_uniform(-0.3, 0.4);
        roi[na + i] = (float)img_uniform(0.6, 1.3);
        c.r0[d] = roi[i];
        c.r1[d] = roi[na + i];
        if (use_sizes) {
            sizes[i] = 1 + img_rnd(8);
        } else {
            scales[i] = scale_choices[img_rnd(10)];
            c.scale[d] = scales[i];
            c.out[d] = (int64_t)floor((double)scales[i] * (double)c.in[d]);
        }
    }
    if (use_sizes) {
        double common = policy == 1 ? INFINITY : 0;
        for (size_t i = 0; i < na; i++) {
            int d = (int)axes[i];
            double s = (double)sizes[i] / (double)c.in[d];
            c.out[d] = sizes[i];
            c.scale[d] = s;
            if (policy == 1 && s < common) common = s;
            if (policy == 2 && s > common) common = s;
        }
        if (policy)
            for (size_t i = 0; i < na; i++) {
                int d = (int)axes[i];
                c.scale[d] = common;
                c.out[d] = (int64_t)floor(common * (double)c.in[d] + 0.5);
            }
    }
    /* nodes */
    ox_node *n = tn_node(opset < 11 ? "Resize" : "Resize", legacy ? 2 : use_sizes ? 4 : 3, 1);
    tn_str(n, "mode", mode_names[c.mode]);
    if (!legacy) {
        tn_str(n, "coordinate_transformation_mode", ctm_names[c.ctm]);
        tn_str(n, "nearest_mode", nearest_names[c.nearest]);
        if (c.exclude) tn_int(n, "exclude_outside", 1);
        if (c.a != -0.75 || img_rnd(2)) tn_float(n, "cubic_coeff_a", (float)c.a);
        if (c.extrap != 0) tn_float(n, "extrapolation_value", (float)c.extrap);
        if (c.antialias) tn_int(n, "antialias", 1);
        if (use_axes) tn_ints(n, "axes", na, axes_attr);
        if (policy || (use_sizes && opset >= 18 && img_rnd(2)))
            tn_str(n, "keep_aspect_ratio_policy", policy_names[policy]);
    }
    ox_tensor x = img_rand(dtype, c.rank, c.in, dtype == ONYX_DTYPE_UINT8 ? 0 : -1,
                           dtype == ONYX_DTYPE_UINT8 ? 255 : 1);
    int64_t nroi = c.ctm == TF_CROP ? 2 * (int64_t)na : 0, nsc = use_sizes ? 0 : (int64_t)na;
    ox_tensor troi = tt_make(ONYX_DTYPE_FLOAT, 1, &nroi, nroi ? roi : NULL);
    ox_tensor tsc = tt_make(ONYX_DTYPE_FLOAT, 1, &nsc, nsc ? scales : NULL);
    ox_tensor tsz = img_i64(na, sizes);
    ox_tensor *in[4] = {&x, &troi, &tsc, &tsz};
    if (legacy) in[1] = &tsc;
    if (opset >= 13) { /* omitted inputs rather than empty ones */
        if (!nroi) in[1] = NULL;
        if (use_sizes) in[2] = NULL;
    }
    size_t n_in = legacy ? 2 : use_sizes ? 4 : 3;
    ox_tensor y;
    int fails = 0;
    onyx_status s = img_run(n, opset, in, n_in, &y, 1, pool);
    if (s != ONYX_OK) {
        fprintf(stderr, "  Resize-%lld %s/%s failed: %s\n", (long long)opset, mode_names[c.mode],
                ctm_names[c.ctm], onyx_last_error());
        fails = 1;
    } else if (!tx_same_dims(&y, c.rank, c.out) || y.dtype != dtype) {
        fprintf(stderr, "  Resize-%lld: wrong output shape\n", (long long)opset);
        fails = 1;
    } else {
        size_t cnt = ox_tensor_count(&y);
        double *want = ox_malloc_array(cnt + 1, sizeof(double));
        ref_resize(&c, &x, want);
        double tol = dtype == ONYX_DTYPE_FLOAT16 ? 1e-2 : 2e-5;
        if (dtype == ONYX_DTYPE_UINT8 || dtype == ONYX_DTYPE_INT32) {
            for (size_t i = 0; i < cnt; i++) { /* the cast rounds and saturates */
                double v = nearbyint(want[i]);
                want[i] = dtype == ONYX_DTYPE_UINT8 ? (v < 0 ? 0 : v > 255 ? 255 : v) : v;
            }
            tol = 1; /* a halfway value may round either way after float error */
        }
        char what[160];
        snprintf(what, sizeof what, "Resize-%lld %s %s nearest=%d aa=%d excl=%d %s",
                 (long long)opset, mode_names[c.mode], ctm_names[c.ctm], c.nearest, c.antialias,
                 c.exclude, ox_dtype_name(dtype));
        fails = img_expect(&y, want, cnt, tol, what) != 0;
        for (int32_t d = 0; fails && d < c.rank; d++)
            fprintf(stderr, "    axis %d: %lld -> %lld, scale %g%s\n", d, (long long)c.in[d],
                    (long long)c.out[d], c.scale[d], c.resized[d] ? "" : " (not listed)");
        ox_free(want);
        ox_tensor_free_data(&y);
    }
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&troi);
    ox_tensor_free_data(&tsc);
    ox_tensor_free_data(&tsz);
    return fails;
}

TEST(resize_random_float32) {
    int fails = 0;
    for (int i = 0; i < 300; i++) fails += resize_random_case(19, ONYX_DTYPE_FLOAT, NULL);
    for (int i = 0; i < 60; i++) fails += resize_random_case(13, ONYX_DTYPE_FLOAT, NULL);
    for (int i = 0; i < 60; i++) fails += resize_random_case(11, ONYX_DTYPE_FLOAT, NULL);
    for (int i = 0; i < 60; i++) fails += resize_random_case(10, ONYX_DTYPE_FLOAT, NULL);
    CHECK(fails == 0);
    tn_reset();
}

TEST(resize_random_other_types) {
    int fails = 0;
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int i = 0; i < 80; i++) fails += resize_random_case(19, ONYX_DTYPE_DOUBLE, pool);
    for (int i = 0; i < 60; i++) fails += resize_random_case(18, ONYX_DTYPE_FLOAT16, NULL);
    for (int i = 0; i < 60; i++) fails += resize_random_case(19, ONYX_DTYPE_UINT8, pool);
    for (int i = 0; i < 40; i++) fails += resize_random_case(13, ONYX_DTYPE_INT32, NULL);
    for (int i = 0; i < 80; i++) fails += resize_random_case(19, ONYX_DTYPE_FLOAT, pool);
    ox_threadpool_free(pool);
    CHECK(fails == 0);
    tn_reset();
}

/* A few values worked out by hand from the spec's formulas. */
TEST(resize_hand_values) {
    ox_tensor x = img_f32(1, (int64_t[]){4}, (float[]){0, 1, 2, 3}), y;
    /* antialiased linear halving: the filter spans 4 inputs, weights 1:3:3:1 */
    ox_node *n = tn_node("Resize", 3, 1);
    tn_omit_input(n, 1);
    tn_str(n, "mode", "linear");
    tn_int(n, "antialias", 1);
    ox_tensor sc = img_f32(1, (int64_t[]){1}, (float[]){0.5f});
    REQUIRE_OK(ox_op_run_single(n, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, &y, 1));
    CHECK(tx_same_dims(&y, 1, (int64_t[]){2}));
    CHECK_NEAR(((float *)y.data)[0], 0.625, 1e-6);
    CHECK_NEAR(((float *)y.data)[1], 2.375, 1e-6);
    ox_tensor_free_data(&y);
    /* align_corners to 7 samples: thirds between the inputs */
    n = tn_node("Resize", 4, 1);
    tn_omit_input(n, 1);
    tn_omit_input(n, 2);
    tn_str(n, "mode", "linear");
    tn_str(n, "coordinate_transformation_mode", "align_corners");
    ox_tensor sz = img_i64(1, (int64_t[]){7});
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, NULL, NULL, &sz}, 4, &y, 1));
    for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)y.data)[i], i * 0.5, 1e-6);
    ox_tensor_free_data(&y);
    /* Upsample-7 nearest x2 repeats every element */
    n = tn_node("Upsample", 1, 1);
    tn_floats(n, "scales", 1, (float[]){2});
    REQUIRE_OK(ox_op_run_single(n, 7, (ox_tensor *[]){&x}, 1, &y, 1));
    for (int i = 0; i < 8; i++) CHECK(((float *)y.data)[i] == (float)(i / 2));
    ox_tensor_free_data(&y);
    /* Upsample-9 linear x2 (asymmetric): halves, the last repeats the edge */
    n = tn_node("Upsample", 2, 1);
    tn_str(n, "mode", "linear");
    ox_tensor s2 = img_f32(1, (int64_t[]){1}, (float[]){2});
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&x, &s2}, 2, &y, 1));
    for (int i = 0; i < 8; i++) CHECK_NEAR(((float *)y.data)[i], i < 7 ? i * 0.5 : 3, 1e-6);
    ox_tensor_free_data(&y);
    /* Upsample-1: height_scale / width_scale on NCHW */
    ox_tensor x4 = img_f32(4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 2, 3, 4});
    n = tn_node("Upsample", 1, 1);
    tn_float(n, "height_scale", 2);
    tn_float(n, "width_scale", 3);
    REQUIRE_OK(ox_op_run_single(n, 1, (ox_tensor *[]){&x4}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 4, (int64_t[]){1, 1, 4, 6}));
    for (int i = 0; i < 24; i++)
        CHECK(((float *)y.data)[i] == (float)(1 + (i / 6 / 2) * 2 + (i % 6) / 3));
    ox_tensor_free_data(&y);
    img_free((ox_tensor[]){x, sc, sz, s2, x4}, 5);
    tn_reset();
}

TEST(resize_nearest_any_type) {
    /* strings and int64 move unchanged; strings are copies */
    int64_t dims[2] = {3, 2};
    int32_t types[3] = {ONYX_DTYPE_STRING, ONYX_DTYPE_INT64, ONYX_DTYPE_BOOL};
    for (int t = 0; t < 3; t++) {
        ox_tensor x = tx_rand_tensor(types[t], 2, dims), y;
        ox_node *n = tn_node("Resize", 3, 1);
        tn_omit_input(n, 1);
        tn_str(n, "coordinate_transformation_mode", "asymmetric");
        tn_str(n, "nearest_mode", "floor");
        ox_tensor sc = img_f32(1, (int64_t[]){2}, (float[]){2, 1.5f});
        REQUIRE_OK(ox_op_run_single(n, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, &y, 1));
        REQUIRE(tx_same_dims(&y, 2, (int64_t[]){6, 3}));
        for (int64_t i = 0; i < 6; i++)
            for (int64_t j = 0; j < 3; j++) {
                int64_t si = i / 2, sj = (int64_t)floor((double)j / 1.5);
                CHECK(tx_elem_eq(&y, (size_t)(i * 3 + j), &x, (size_t)(si * 2 + sj)));
            }
        img_free((ox_tensor[]){x, y, sc}, 3);
    }
    tn_reset();
}

TEST(resize_shapes_and_values_needed) {
    ox_tensor x = tt_rand(4, (int64_t[]){1, 2, 3, 4}, -1, 1), y;
    ox_node *n = tn_node("Resize", 4, 1);
    tn_omit_input(n, 1);
    tn_omit_input(n, 2);
    /* sizes not known while planning */
    ox_tensor sz = img_i64(4, (int64_t[]){1, 2, 6, 2});
    ox_tensor unknown = sz;
    unknown.data = NULL;
    CHECK(img_infer(n, 19, (ox_tensor *[]){&x, NULL, NULL, &unknown}, 4, &y) == OX_NEED_VALUE);
    REQUIRE_OK(img_infer(n, 19, (ox_tensor *[]){&x, NULL, NULL, &sz}, 4, &y));
    CHECK(tx_same_dims(&y, 4, (int64_t[]){1, 2, 6, 2}));
    /* an empty axis that stays empty, and a zero output size */
    ox_tensor e = tt_rand(2, (int64_t[]){0, 3}, -1, 1);
    ox_tensor sz2 = img_i64(2, (int64_t[]){0, 5});
    REQUIRE_OK(ox_op_run_single(n, 19, (ox_tensor *[]){&e, NULL, NULL, &sz2}, 4, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){0, 5}));
    ox_tensor_free_data(&y);
    ox_tensor sz3 = img_i64(2, (int64_t[]){2, 0});
    ox_tensor x2 = tt_rand(2, (int64_t[]){2, 3}, -1, 1);
    REQUIRE_OK(ox_op_run_single(n, 19, (ox_tensor *[]){&x2, NULL, NULL, &sz3}, 4, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){2, 0}));
    ox_tensor_free_data(&y);
    img_free((ox_tensor[]){x, sz, e, sz2, sz3, x2}, 6);
    tn_reset();
}

/* Each malformed case must fail cleanly with a message. */
static void expect_fail(ox_node *n, int64_t opset, ox_tensor **in, size_t n_in, const char *what) {
    ox_tensor y;
    onyx_status s = ox_op_run_single(n, opset, in, n_in, &y, 1);
    if (s == ONYX_OK) {
        fprintf(stderr, "  %s: expected a failure\n", what);
        ox_tensor_free_data(&y);
    }
    CHECK(s != ONYX_OK && s != OX_NEED_VALUE);
    CHECK(onyx_last_error()[0] != '\0');
}

TEST(resize_errors) {
    ox_tensor x = tt_rand(2, (int64_t[]){2, 3}, -1, 1);
    ox_tensor sc = img_f32(1, (int64_t[]){2}, (float[]){2, 2});
    ox_tensor sc_bad[4] = {img_f32(1, (int64_t[]){2}, (float[]){0, 2}),
                           img_f32(1, (int64_t[]){2}, (float[]){-1, 2}),
                           img_f32(1, (int64_t[]){2}, (float[]){NAN, 2}),
                           img_f32(1, (int64_t[]){3}, (float[]){1, 2, 2})};
    ox_tensor sz = img_i64(2, (int64_t[]){4, 4}), sz_neg = img_i64(2, (int64_t[]){-1, 4});
    ox_tensor big = img_f32(1, (int64_t[]){2}, (float[]){1e30f, 1});
    ox_node *n = tn_node("Resize", 4, 1);
    tn_omit_input(n, 1);
    expect_fail(n, 19, (ox_tensor *[]){&x, NULL, &sc, &sz}, 4, "scales and sizes");
    expect_fail(n, 19, (ox_tensor *[]){&x, NULL, NULL, NULL}, 4, "neither");
    for (int i = 0; i < 4; i++) expect_fail(n, 19, (ox_tensor *[]){&x, NULL, &sc_bad[i], NULL}, 4, "bad scales");
    expect_fail(n, 19, (ox_tensor *[]){&x, NULL, &big, NULL}, 4, "huge scale");
    expect_fail(n, 19, (ox_tensor *[]){&x, NULL, NULL, &sz_neg}, 4, "negative size");
    ox_node *tf = tn_node("Resize", 3, 1);
    tn_str(tf, "coordinate_transformation_mode", "tf_crop_and_resize");
    expect_fail(tf, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, "no roi");
    ox_node *dup = tn_node("Resize", 3, 1);
    tn_ints(dup, "axes", 2, (int64_t[]){1, -1});
    expect_fail(dup, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, "repeated axis");
    ox_node *bad_axis = tn_node("Resize", 3, 1);
    tn_ints(bad_axis, "axes", 2, (int64_t[]){0, 2});
    expect_fail(bad_axis, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, "axis out of range");
    ox_node *mode = tn_node("Resize", 3, 1);
    tn_str(mode, "mode", "lanczos");
    expect_fail(mode, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, "unknown mode");
    ox_tensor e = tt_rand(2, (int64_t[]){0, 3}, -1, 1);
    expect_fail(n, 19, (ox_tensor *[]){&e, NULL, NULL, &sz}, 4, "empty axis grown");
    ox_tensor s = tx_rand_tensor(ONYX_DTYPE_STRING, 2, (int64_t[]){2, 3});
    ox_node *lin = tn_node("Resize", 3, 1);
    tn_str(lin, "mode", "linear");
    expect_fail(lin, 19, (ox_tensor *[]){&s, NULL, &sc}, 3, "linear strings");
    img_free((ox_tensor[]){x, sc, sz, sz_neg, big, e, s}, 7);
    img_free(sc_bad, 4);
    tn_reset();
}

/* Splitting the work over threads gives bit-identical results. */
TEST(resize_threads_match) {
    ox_threadpool *pool = ox_threadpool_create(4);
    ox_tensor x = tt_rand(4, (int64_t[]){2, 3, 37, 29}, -1, 1);
    ox_tensor sc = img_f32(1, (int64_t[]){4}, (float[]){1, 1, 1.7f, 0.45f});
    for (int m = 0; m < 3; m++) {
        ox_node *n = tn_node("Resize", 3, 1);
        tn_omit_input(n, 1);
        tn_str(n, "mode", mode_names[m]);
        tn_int(n, "antialias", 1);
        ox_tensor a, b;
        REQUIRE_OK(img_run(n, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, &a, 1, NULL));
        REQUIRE_OK(img_run(n, 19, (ox_tensor *[]){&x, NULL, &sc}, 3, &b, 1, pool));
        CHECK(ox_tensor_same_shape(&a, &b) && memcmp(a.data, b.data, ox_tensor_nbytes(&a)) == 0);
        img_free((ox_tensor[]){a, b}, 2);
    }
    ox_threadpool_free(pool);
    img_free((ox_tensor[]){x, sc}, 2);
    tn_reset();
}
