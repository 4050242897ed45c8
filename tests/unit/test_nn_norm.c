/* The normalisation ops against naive double-precision references. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "test_nn.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static double g(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

/* Positive random values (for variances). */
static ox_tensor rand_pos(int32_t dt, int rank, const int64_t *dims) {
    ox_tensor t = nn_rand(dt, rank, dims);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) {
        double v = fabs(g(&t, i)) + 0.1;
        if (dt == ONYX_DTYPE_FLOAT) ((float *)t.data)[i] = (float)v;
        else ((double *)t.data)[i] = v;
    }
    return t;
}

/* ---- BatchNormalization --------------------------------------------------------- */

static void check_bn_inference(int32_t dt, int32_t pdt, int rank, const int64_t *dims, int opset,
                               int spatial, ox_threadpool *pool) {
    ox_node *n = tn_node("BatchNormalization", 5, 1);
    float eps = 1e-3f;
    tn_float(n, "epsilon", eps);
    if (!spatial) tn_int(n, "spatial", 0);
    size_t N = (size_t)dims[0], C = rank > 1 ? (size_t)dims[1] : 1;
    size_t sp = rank > 2 ? ox_shape_count(rank - 2, dims + 2) : 1;
    size_t np = spatial ? C : C * sp;
    int64_t pd[OX_MAX_RANK];
    int prank = spatial ? 1 : rank - 1;
    if (spatial) pd[0] = (int64_t)C;
    else for (int i = 1; i < rank; i++) pd[i - 1] = dims[i];
    ox_tensor X = nn_rand(dt, rank, dims), S = nn_rand(pdt, prank, pd), B = nn_rand(pdt, prank, pd);
    ox_tensor M = nn_rand(pdt, prank, pd), V = rand_pos(pdt, prank, pd), Y;
    size_t total = N * C * sp;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    for (size_t i = 0; i < total; i++) {
        size_t ch = i / sp % C, k = spatial ? ch : ch * sp + i % sp;
        want[i] = (g(&X, i) - g(&M, k)) / sqrt(g(&V, k) + eps) * g(&S, k) + g(&B, k);
    }
    (void)np;
    onyx_status s = nn_run(n, opset, (ox_tensor *[]){&X, &S, &B, &M, &V}, 5, &Y, 1, pool);
    CHECK(s == ONYX_OK);
    if (s == ONYX_OK) {
        CHECK(Y.rank == rank && Y.dtype == dt);
        ox_test_failures += nn_expect(&Y, want, total, dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12,
                                      "BatchNormalization");
        nn_free(&Y, 1);
    }
    ox_free(want);
    ox_tensor all[] = {X, S, B, M, V};
    nn_free(all, 5);
}

TEST(nn_batchnorm_inference) {
    ox_threadpool *pool = ox_threadpool_create(3);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 7, 5}, 15, 1, NULL);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 17, 33}, 9, 1, pool);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 2, (int64_t[]){7, 5}, 14, 1, NULL);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 1, (int64_t[]){7}, 15, 1, NULL);
    check_bn_inference(ONYX_DTYPE_DOUBLE, ONYX_DTYPE_DOUBLE, 5, (int64_t[]){2, 2, 3, 1, 4}, 7, 1, pool);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, 4, (int64_t[]){1, 3, 2, 2}, 15, 1, NULL);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 4, 5}, 7, 0, NULL);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 4, 5}, 6, 0, NULL);
    check_bn_inference(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, 4, (int64_t[]){0, 3, 4, 5}, 15, 1, NULL);
    ox_threadpool_free(pool);
}

TEST(nn_batchnorm_training_mode) {
    ox_node *n = tn_node("BatchNormalization", 5, 3);
    float eps = 1e-2f, mom = 0.8f;
    tn_float(n, "epsilon", eps);
    tn_float(n, "momentum", mom);
    tn_int(n, "training_mode", 1);
    int64_t dims[4] = {3, 2, 4, 5};
    size_t N = 3, C = 2, sp = 20;
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, dims), S = nn_rand(ONYX_DTYPE_FLOAT, 1, dims + 1);
    ox_tensor B = nn_rand(ONYX_DTYPE_FLOAT, 1, dims + 1), M = nn_rand(ONYX_DTYPE_FLOAT, 1, dims + 1);
    ox_tensor V = rand_pos(ONYX_DTYPE_FLOAT, 1, dims + 1), Y[3];
    double want[120], rm[2], rv[2];
    for (size_t ch = 0; ch < C; ch++) {
        double s = 0, s2 = 0;
        for (size_t b = 0; b < N; b++)
            for (size_t i = 0; i < sp; i++) s += g(&X, (b * C + ch) * sp + i);
        double mean = s / (double)(N * sp);
        for (size_t b = 0; b < N; b++)
            for (size_t i = 0; i < sp; i++) {
                double d = g(&X, (b * C + ch) * sp + i) - mean;
                s2 += d * d;
            }
        double var = s2 / (double)(N * sp);
        for (size_t b = 0; b < N; b++)
            for (size_t i = 0; i < sp; i++) {
                size_t k = (b * C + ch) * sp + i;
                want[k] = (g(&X, k) - mean) / sqrt(var + eps) * g(&S, ch) + g(&B, ch);
            }
        rm[ch] = g(&M, ch) * mom + mean * (1 - mom);
        rv[ch] = g(&V, ch) * mom + var * (1 - mom);
    }
    REQUIRE_OK(nn_run(n, 15, (ox_tensor *[]){&X, &S, &B, &M, &V}, 5, Y, 3, NULL));
    ox_test_failures += nn_expect(&Y[0], want, 120, 1e-5, "Y");
    ox_test_failures += nn_expect(&Y[1], rm, 2, 1e-6, "running_mean");
    ox_test_failures += nn_expect(&Y[2], rv, 2, 1e-6, "running_var");
    nn_free(Y, 3);
    /* training outputs before opset 14 are refused; extra outputs need training_mode */
    ox_node *old = tn_node("BatchNormalization", 5, 3);
    CHECK(ox_op_run_single(old, 9, (ox_tensor *[]){&X, &S, &B, &M, &V}, 5, Y, 3) ==
          ONYX_ERR_UNSUPPORTED);
    CHECK(ox_op_run_single(old, 15, (ox_tensor *[]){&X, &S, &B, &M, &V}, 5, Y, 3) ==
          ONYX_ERR_INVALID_MODEL);
    /* parameters of the wrong length */
    ox_node *one = tn_node("BatchNormalization", 5, 1);
    ox_tensor S3 = nn_rand(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3});
    CHECK(ox_op_run_single(one, 15, (ox_tensor *[]){&X, &S3, &B, &M, &V}, 5, Y, 1) ==
          ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(one, 15, (ox_tensor *[]){&X, &S, &B, &M}, 4, Y, 1) ==
          ONYX_ERR_INVALID_MODEL);
    ox_tensor all[] = {X, S, B, M, V, S3};
    nn_free(all, 6);
}

/* ---- Instance / Group normalisation --------------------------------------------- */

static void check_groupnorm(const char *op, int opset, int32_t dt, int rank, const int64_t *dims,
                            int64_t groups, int per_group) {
    ox_node *n = tn_node(op, 3, 1);
    float eps = 1e-4f;
    tn_float(n, "epsilon", eps);
    if (strcmp(op, "GroupNormalization") == 0) tn_int(n, "num_groups", groups);
    size_t N = (size_t)dims[0], C = (size_t)dims[1], sp = ox_shape_count(rank - 2, dims + 2);
    size_t G = (size_t)groups, cg = C / G;
    int64_t pn = per_group ? groups : (int64_t)C;
    ox_tensor X = nn_rand(dt, rank, dims), S = nn_rand(dt, 1, &pn), B = nn_rand(dt, 1, &pn), Y;
    size_t total = N * C * sp;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    for (size_t b = 0; b < N; b++)
        for (size_t gi = 0; gi < G; gi++) {
            size_t base = (b * C + gi * cg) * sp, len = cg * sp;
            double s = 0, s2 = 0;
            for (size_t i = 0; i < len; i++) s += g(&X, base + i);
            double mean = s / (double)len;
            for (size_t i = 0; i < len; i++) s2 += pow(g(&X, base + i) - mean, 2);
            double var = s2 / (double)len;
            for (size_t i = 0; i < len; i++) {
                size_t ch = gi * cg + i / sp, pi = per_group ? gi : ch;
                want[base + i] = (g(&X, base + i) - mean) / sqrt(var + eps) * g(&S, pi) + g(&B, pi);
            }
        }
    onyx_status s = nn_run(n, opset, (ox_tensor *[]){&X, &S, &B}, 3, &Y, 1, NULL);
    CHECK(s == ONYX_OK);
    if (s == ONYX_OK) {
        ox_test_failures += nn_expect(&Y, want, total, dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12, op);
        nn_free(&Y, 1);
    }
    ox_free(want);
    ox_tensor all[] = {X, S, B};
    nn_free(all, 3);
}

TEST(nn_instance_and_group_norm) {
    check_groupnorm("InstanceNormalization", 6, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 7, 5}, 3, 0);
    check_groupnorm("InstanceNormalization", 22, ONYX_DTYPE_DOUBLE, 3, (int64_t[]){1, 4, 17}, 4, 0);
    check_groupnorm("InstanceNormalization", 1, ONYX_DTYPE_FLOAT, 5, (int64_t[]){1, 2, 3, 1, 4}, 2, 0);
    check_groupnorm("GroupNormalization", 21, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 6, 5, 3}, 3, 0);
    check_groupnorm("GroupNormalization", 21, ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 4, 7}, 1, 0);
    check_groupnorm("GroupNormalization", 18, ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 6, 5, 3}, 2, 1);
    check_groupnorm("GroupNormalization", 18, ONYX_DTYPE_DOUBLE, 3, (int64_t[]){1, 4, 3}, 4, 1);
    /* channels that do not split into the groups */
    ox_node *n = tn_node("GroupNormalization", 3, 1);
    tn_int(n, "num_groups", 4);
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 6, 2});
    ox_tensor S = nn_rand(ONYX_DTYPE_FLOAT, 1, (int64_t[]){6}), Y;
    CHECK(ox_op_run_single(n, 21, (ox_tensor *[]){&X, &S, &S}, 3, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *m = tn_node("GroupNormalization", 3, 1); /* num_groups missing */
    CHECK(ox_op_run_single(m, 21, (ox_tensor *[]){&X, &S, &S}, 3, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    nn_free(&X, 1);
    nn_free(&S, 1);
}

/* ---- LayerNormalization --------------------------------------------------------- */

static void check_layernorm(int32_t dt, int rank, const int64_t *dims, int64_t axis, int srank,
                            const int64_t *sdims, int with_bias, int stats) {
    ox_node *n = tn_node("LayerNormalization", with_bias ? 3 : 2, stats ? 3 : 1);
    float eps = 1e-3f;
    tn_float(n, "epsilon", eps);
    if (axis != -1) tn_int(n, "axis", axis);
    int ax = (int)(axis < 0 ? axis + rank : axis);
    size_t rows = ox_shape_count(ax, dims), inner = ox_shape_count(rank - ax, dims + ax);
    ox_tensor X = nn_rand(dt, rank, dims), S = nn_rand(dt, srank, sdims),
              B = nn_rand(dt, srank, sdims), Y[3];
    size_t total = rows * inner;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    double *wm = ox_malloc_array(rows + 1, sizeof(double)), *wi = ox_malloc_array(rows + 1, sizeof(double));
    for (size_t r = 0; r < rows; r++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < inner; i++) s += g(&X, r * inner + i);
        double mean = s / (double)inner;
        for (size_t i = 0; i < inner; i++) s2 += pow(g(&X, r * inner + i) - mean, 2);
        double inv = 1.0 / sqrt(s2 / (double)inner + eps);
        wm[r] = mean;
        wi[r] = inv;
        for (size_t i = 0; i < inner; i++) {
            size_t xi = r * inner + i;
            /* broadcast offset of the parameters, computed from the coordinates */
            size_t rem = xi, off = 0, stride = 1;
            for (int k = rank - 1; k >= 0; k--) {
                size_t c = rem % (size_t)dims[k];
                rem /= (size_t)dims[k];
                int sk = k - (rank - srank);
                if (sk >= 0) {
                    if (sdims[sk] != 1) off += c * stride;
                    stride *= (size_t)sdims[sk];
                }
            }
            want[xi] = (g(&X, xi) - mean) * inv * g(&S, off) + (with_bias ? g(&B, off) : 0.0);
        }
    }
    onyx_status s = nn_run(n, 17, (ox_tensor *[]){&X, &S, &B}, with_bias ? 3 : 2, Y,
                           stats ? 3 : 1, NULL);
    CHECK(s == ONYX_OK);
    if (s == ONYX_OK) {
        ox_test_failures += nn_expect(&Y[0], want, total, dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12,
                                      "LayerNormalization");
        if (stats) {
            CHECK(Y[1].dtype == ONYX_DTYPE_FLOAT && Y[1].rank == rank);
            for (int i = 0; i < rank; i++) CHECK(Y[1].dims[i] == (i < ax ? dims[i] : 1));
            ox_test_failures += nn_expect(&Y[1], wm, rows, 1e-6, "Mean");
            ox_test_failures += nn_expect(&Y[2], wi, rows, 1e-5, "InvStdDev");
        }
        nn_free(Y, stats ? 3 : 1);
    }
    ox_free(want);
    ox_free(wm);
    ox_free(wi);
    ox_tensor all[] = {X, S, B};
    nn_free(all, 3);
}

TEST(nn_layernorm) {
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 7, 17}, -1, 1, (int64_t[]){17}, 1, 1);
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 7, 17}, 1, 2, (int64_t[]){7, 17}, 1, 1);
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 7, 17}, 0, 3, (int64_t[]){2, 7, 17}, 0, 1);
    check_layernorm(ONYX_DTYPE_DOUBLE, 4, (int64_t[]){2, 3, 4, 5}, -2, 2, (int64_t[]){4, 5}, 1, 0);
    /* parameters that broadcast inside the row, and with leading 1s */
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){3, 4, 5}, 1, 2, (int64_t[]){1, 5}, 1, 0);
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){3, 4, 5}, 1, 3, (int64_t[]){1, 4, 5}, 1, 0);
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){3, 4, 5}, 2, 1, (int64_t[]){1}, 1, 0);
    /* parameters that vary along an outer axis: the general broadcast path */
    check_layernorm(ONYX_DTYPE_FLOAT, 3, (int64_t[]){3, 2, 3}, 1, 3, (int64_t[]){3, 2, 1}, 1, 0);
    ox_node *n = tn_node("LayerNormalization", 2, 1);
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    ox_tensor S = nn_rand(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}), Y;
    CHECK(ox_op_run_single(n, 17, (ox_tensor *[]){&X, &S}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    tn_int(n, "axis", 2);
    CHECK(ox_op_run_single(n, 17, (ox_tensor *[]){&X, &S}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    nn_free(&X, 1);
    nn_free(&S, 1);
}

/* ---- LRN -------------------------------------------------------------------------- */

TEST(nn_lrn) {
    for (int size = 1; size <= 4; size++) {
        ox_node *n = tn_node("LRN", 1, 1);
        tn_int(n, "size", size);
        float alpha = 0.02f, beta = 0.6f, bias = 1.5f;
        tn_float(n, "alpha", alpha);
        tn_float(n, "beta", beta);
        tn_float(n, "bias", bias);
        int64_t dims[4] = {2, 5, 3, 2};
        ox_tensor X = nn_rand(size == 3 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, 4, dims), Y;
        double want[60];
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 5; c++)
                for (int i = 0; i < 6; i++) {
                    int lo = c - (int)floor((size - 1) / 2.0), hi = c + (int)ceil((size - 1) / 2.0);
                    if (lo < 0) lo = 0;
                    if (hi > 4) hi = 4;
                    double sq = 0;
                    for (int k = lo; k <= hi; k++) sq += pow(g(&X, (size_t)((b * 5 + k) * 6 + i)), 2);
                    size_t xi = (size_t)((b * 5 + c) * 6 + i);
                    want[xi] = g(&X, xi) / pow(bias + alpha / size * sq, beta);
                }
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&X}, 1, &Y, 1));
        ox_test_failures += nn_expect(&Y, want, 60, 1e-5, "LRN");
        nn_free(&Y, 1);
        nn_free(&X, 1);
    }
    ox_node *n = tn_node("LRN", 1, 1); /* size missing */
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 2, 2}), Y;
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&X}, 1, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    nn_free(&X, 1);
}

/* ---- RMSNormalization, LpNormalization, MeanVarianceNormalization ------------------ */

TEST(nn_rms_normalization) {
    int64_t dims[3] = {2, 3, 7};
    for (int axis = -2; axis <= 2; axis++) {
        int ax = axis < 0 ? axis + 3 : axis;
        ox_node *n = tn_node("RMSNormalization", 2, 1);
        tn_int(n, "axis", axis);
        tn_float(n, "epsilon", 1e-3f);
        ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 3, dims);
        ox_tensor S = nn_rand(ONYX_DTYPE_FLOAT, 3 - ax, dims + ax), Y;
        size_t rows = ox_shape_count(ax, dims), inner = ox_shape_count(3 - ax, dims + ax);
        double want[42];
        for (size_t r = 0; r < rows; r++) {
            double s2 = 0;
            for (size_t i = 0; i < inner; i++) s2 += pow(g(&X, r * inner + i), 2);
            double rms = sqrt(s2 / (double)inner + 1e-3);
            for (size_t i = 0; i < inner; i++) want[r * inner + i] = g(&X, r * inner + i) / rms * g(&S, i);
        }
        REQUIRE_OK(ox_op_run_single(n, 23, (ox_tensor *[]){&X, &S}, 2, &Y, 1));
        ox_test_failures += nn_expect(&Y, want, 42, 1e-5, "RMSNormalization");
        nn_free(&Y, 1);
        nn_free(&X, 1);
        nn_free(&S, 1);
    }
    /* Scale may be of another float type, which Y takes */
    ox_node *n = tn_node("RMSNormalization", 2, 1);
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    ox_tensor S = nn_rand(ONYX_DTYPE_DOUBLE, 1, (int64_t[]){4}), Y;
    REQUIRE_OK(ox_op_run_single(n, 23, (ox_tensor *[]){&X, &S}, 2, &Y, 1));
    CHECK(Y.dtype == ONYX_DTYPE_DOUBLE);
    nn_free(&Y, 1);
    nn_free(&X, 1);
    nn_free(&S, 1);
}

TEST(nn_lp_normalization) {
    int64_t dims[3] = {3, 4, 5};
    for (int p = 1; p <= 2; p++)
        for (int axis = -1; axis < 3; axis++) {
            int ax = axis < 0 ? axis + 3 : axis;
            ox_node *n = tn_node("LpNormalization", 1, 1);
            tn_int(n, "axis", axis);
            tn_int(n, "p", p);
            ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 3, dims), Y;
            /* one line of zeros: its output is zero */
            float *xd = X.data;
            size_t stride = ox_shape_count(2 - ax, dims + ax + 1);
            for (int64_t k = 0; k < dims[ax]; k++) xd[(size_t)k * stride] = 0.0f;
            double want[60];
            for (size_t i = 0; i < 60; i++) {
                size_t c0 = i / 20, c1 = i / 5 % 4, c2 = i % 5, co[3] = {c0, c1, c2};
                double s = 0;
                for (int64_t k = 0; k < dims[ax]; k++) {
                    size_t cc[3] = {co[0], co[1], co[2]};
                    cc[ax] = (size_t)k;
                    double v = g(&X, cc[0] * 20 + cc[1] * 5 + cc[2]);
                    s += p == 1 ? fabs(v) : v * v;
                }
                double norm = p == 1 ? s : sqrt(s);
                want[i] = norm == 0 ? 0 : g(&X, i) / norm;
            }
            REQUIRE_OK(ox_op_run_single(n, 22, (ox_tensor *[]){&X}, 1, &Y, 1));
            ox_test_failures += nn_expect(&Y, want, 60, 1e-6, "LpNormalization");
            nn_free(&Y, 1);
            nn_free(&X, 1);
        }
    ox_node *n = tn_node("LpNormalization", 1, 1);
    tn_int(n, "p", 3);
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}), Y;
    CHECK(ox_op_run_single(n, 22, (ox_tensor *[]){&X}, 1, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    nn_free(&X, 1);
}

TEST(nn_mean_variance_normalization) {
    int64_t dims[4] = {2, 3, 4, 2};
    static const int64_t axes_sets[3][3] = {{0, 2, 3}, {1, -1, 0}, {2, 0, 0}};
    static const size_t n_axes[3] = {3, 2, 1};
    for (int set = 0; set < 3; set++) {
        ox_node *n = tn_node("MeanVarianceNormalization", 1, 1);
        if (set) tn_ints(n, "axes", n_axes[set], axes_sets[set]);
        int red[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < n_axes[set]; i++) red[(axes_sets[set][i] + 4) % 4] = 1;
        ox_tensor X = nn_rand(ONYX_DTYPE_DOUBLE, 4, dims), Y;
        double want[48];
        for (size_t i = 0; i < 48; i++) {
            size_t ci[4] = {i / 24, i / 8 % 3, i / 2 % 4, i % 2};
            double s = 0, s2 = 0, cnt = 0;
            for (size_t j = 0; j < 48; j++) {
                size_t cj[4] = {j / 24, j / 8 % 3, j / 2 % 4, j % 2};
                int same = 1;
                for (int k = 0; k < 4; k++) same &= red[k] || ci[k] == cj[k];
                if (!same) continue;
                s += g(&X, j);
                s2 += g(&X, j) * g(&X, j);
                cnt++;
            }
            double mean = s / cnt, var = s2 / cnt - mean * mean;
            want[i] = (g(&X, i) - mean) / (sqrt(var) + 1e-9);
        }
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&X}, 1, &Y, 1));
        ox_test_failures += nn_expect(&Y, want, 48, 1e-9, "MeanVarianceNormalization");
        nn_free(&Y, 1);
        nn_free(&X, 1);
    }
}
