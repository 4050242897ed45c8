/* Softmax, LogSoftmax, Hardmax, ArgMax/ArgMin, TopK and CumSum against naive double
 * references. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test_reduce.h"

/* ---- Softmax, LogSoftmax, Hardmax ----------------------------------------------------- */

static void ref_softmax(int mode, const double *x, size_t outer, size_t n, size_t inner, double *y) {
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            double m = -INFINITY, s = 0;
            size_t best = 0;
            for (size_t j = 0; j < n; j++) {
                double v = x[(o * n + j) * inner + i];
                if (v > m) {
                    m = v;
                    best = j;
                }
            }
            for (size_t j = 0; j < n; j++) s += exp(x[(o * n + j) * inner + i] - m);
            for (size_t j = 0; j < n; j++) {
                size_t e = (o * n + j) * inner + i;
                y[e] = mode == 0 ? exp(x[e] - m) / s : mode == 1 ? x[e] - m - log(s) : j == best;
            }
        }
}

static const char *sm_names[] = {"Softmax", "LogSoftmax", "Hardmax"};

static void check_softmax(int mode, int64_t opset, int32_t dt, ox_threadpool *pool, int big) {
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    rand_shape(&rank, dims, 4, 1);
    if (rank == 0) rank = 1, dims[0] = 3;
    if (big) {
        rank = 3;
        dims[0] = 3;
        dims[1] = 70 + rnd(60);
        dims[2] = rnd(2) ? 1 + rnd(3) : 150 + rnd(200);
    }
    int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
    if (opset < 13 && rnd(3) == 0) axis = rank; /* allowed by the 2-D coercion */
    ox_tensor x = tt_make(dt, rank, dims, NULL), out;
    size_t cnt = ox_tensor_count(&x);
    double *xd = ox_malloc_array(cnt + 1, sizeof(double)), *ref = ox_malloc_array(cnt + 1, sizeof(double));
    double offset = rnd(4) == 0 ? 500 : 0; /* large values must not overflow */
    for (size_t i = 0; i < cnt; i++) {
        double v = (mode == 2 ? (double)rnd(5) : 6 * tt_randf() - 3) + (dt == ONYX_DTYPE_FLOAT16 ? 0 : offset);
        if (dt == ONYX_DTYPE_FLOAT) {
            ((float *)x.data)[i] = (float)v;
        } else if (dt == ONYX_DTYPE_DOUBLE) {
            ((double *)x.data)[i] = v;
        } else { /* float16: quarter steps are exact */
            double q = round(v * 4) / 4;
            float f = (float)q;
            uint32_t b;
            memcpy(&b, &f, 4);
            ((uint16_t *)x.data)[i] = f == 0 ? 0 : (uint16_t)(((b >> 16) & 0x8000u) |
                                                              ((((b >> 23) & 0xffu) - 112u) << 10) |
                                                              ((b >> 13) & 0x3ffu));
        }
        xd[i] = ox_tensor_get_double(&x, i);
    }
    int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
    size_t outer = 1, n = 1, inner = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (d < a) outer *= (size_t)dims[d];
        else if (d == a || opset < 13) n *= (size_t)dims[d];
        else inner *= (size_t)dims[d];
    }
    ref_softmax(mode, xd, outer, n, inner, ref);
    ox_node *node = tn_node(sm_names[mode], 1, 1);
    tn_int(node, "axis", axis);
    onyx_status s = run_node(node, opset, (ox_tensor *[]){&x}, 1, &out, 1, pool);
    if (s != ONYX_OK) {
        fprintf(stderr, "  %s: %s\n", sm_names[mode], onyx_last_error());
        ox_test_failures++;
    } else {
        CHECK(out.rank == rank && out.dtype == dt);
        double tol = dt == ONYX_DTYPE_FLOAT ? 2e-6 : dt == ONYX_DTYPE_DOUBLE ? 1e-12 : 2e-3;
        if (mode == 1 && offset != 0 && dt == ONYX_DTYPE_FLOAT) tol = 1e-5;
        int bad = 0;
        for (size_t i = 0; i < cnt && bad < 3; i++) {
            double got = ox_tensor_get_double(&out, i);
            if (!close_to(got, ref[i], tol)) {
                fprintf(stderr, "  %s opset %lld axis %lld [%zu] = %.9g, expected %.9g\n",
                        sm_names[mode], (long long)opset, (long long)axis, i, got, ref[i]);
                bad++;
            }
        }
        if (bad) ox_test_failures++;
        ox_tensor_free_data(&out);
    }
    ox_free(xd);
    ox_free(ref);
    ox_tensor_free_data(&x);
}

TEST(reduce_softmax_random) {
    static const int64_t opsets[] = {1, 11, 13, 19};
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 80; t++)
            check_softmax(mode, opsets[t % 4], t % 5 == 4 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, NULL, 0);
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 12; t++) check_softmax(mode, 13, ONYX_DTYPE_FLOAT16, NULL, 0);
    tn_reset();
}

TEST(reduce_softmax_threaded_big) {
    ox_threadpool *pool = ox_threadpool_create(4);
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 4; t++) check_softmax(mode, 13, ONYX_DTYPE_FLOAT, pool, 1);
    ox_threadpool_free(pool);
    tn_reset();
}

TEST(reduce_softmax_edge_cases) {
    /* empty input, axis out of range, integer input */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){0, 3}, NULL), out;
    ox_node *n = tn_node("Softmax", 1, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 0 && out.dims[1] == 3);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    ox_node *bad = tn_node("LogSoftmax", 1, 1);
    tn_int(bad, "axis", 2);
    CHECK(ox_op_run_single(bad, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    REQUIRE_OK(ox_op_run_single(bad, 11, (ox_tensor *[]){&x}, 1, &out, 1)); /* 2-D: [6, 1] */
    for (int i = 0; i < 6; i++) CHECK(((float *)out.data)[i] == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){3}, NULL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor_free_data(&x);
    /* Hardmax picks the first of equal maxima */
    float v[4] = {1, 5, 5, 2};
    x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, v);
    REQUIRE_OK(ox_op_run_single(tn_node("Hardmax", 1, 1), 13, (ox_tensor *[]){&x}, 1, &out, 1));
    float *y = out.data;
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 0 && y[3] == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- ArgMax / ArgMin -------------------------------------------------------------------- */

TEST(reduce_argmax_random) {
    for (int t = 0; t < 300; t++) {
        int is_min = t & 1, last = (t >> 1) & 1, keep = rnd(2);
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 4, 0);
        if (rank == 0) rank = 1, dims[0] = 5;
        int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
        int32_t dt = t % 3 == 0 ? ONYX_DTYPE_INT32 : t % 3 == 1 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_UINT8;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out;
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) { /* few distinct values: many ties */
            int v = rnd(4);
            if (dt == ONYX_DTYPE_INT32) ((int32_t *)x.data)[i] = v - 2;
            else if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = (float)v * 0.5f;
            else ((uint8_t *)x.data)[i] = (uint8_t)(v + 250);
        }
        ox_node *n = tn_node(is_min ? "ArgMin" : "ArgMax", 1, 1);
        tn_int(n, "axis", axis);
        tn_int(n, "keepdims", keep);
        if (last) tn_int(n, "select_last_index", 1);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        CHECK(out.dtype == ONYX_DTYPE_INT64 && out.rank == (keep ? rank : rank - 1));
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                size_t best = 0;
                for (size_t j = 1; j < n_ax; j++) {
                    double v = ox_tensor_get_double(&x, (o * n_ax + j) * inner + i);
                    double b = ox_tensor_get_double(&x, (o * n_ax + best) * inner + i);
                    if (is_min ? (v < b || (last && v == b)) : (v > b || (last && v == b))) best = j;
                }
                CHECK(((int64_t *)out.data)[o * inner + i] == (int64_t)best);
            }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    /* an empty axis has no index; rank 0 has no axis */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 0}, NULL), out;
    ox_node *n = tn_node("ArgMax", 1, 1);
    tn_int(n, "axis", 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, NULL);
    CHECK(ox_op_run_single(tn_node("ArgMin", 1, 1), 13, (ox_tensor *[]){&x}, 1, &out, 1) != ONYX_OK);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- TopK ------------------------------------------------------------------------------- */

TEST(reduce_topk_random) {
    for (int t = 0; t < 200; t++) {
        int64_t opset = t % 3 == 0 ? 1 : t % 3 == 1 ? 10 : 11;
        int largest = opset >= 11 ? rnd(2) : 1;
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 3, 1);
        if (rank == 0) rank = 1, dims[0] = 6;
        int64_t axis = rnd(rank) - (opset >= 11 && rnd(2) ? rank : 0);
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        int64_t k = rnd((int)dims[a] + 1);
        int32_t dt = t % 2 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out[2];
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) {
            int v = rnd(5) - 2;
            if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = v == 0 && rnd(2) ? -0.0f : (float)v;
            else ((int64_t *)x.data)[i] = v;
        }
        ox_node *n = tn_node("TopK", opset >= 10 ? 2 : 1, 2);
        tn_int(n, "axis", axis);
        if (opset >= 11) tn_int(n, "largest", largest);
        if (opset < 10) tn_int(n, "k", k);
        ox_tensor kt = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, &k);
        REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x, &kt}, opset >= 10 ? 2 : 1, out, 2));
        CHECK(out[0].dtype == dt && out[1].dtype == ONYX_DTYPE_INT64 && out[0].dims[a] == k);
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        /* reference: repeated selection of the best unused element; ties -> lower index */
        uint8_t used[8];
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                memset(used, 0, sizeof used);
                for (size_t j = 0; j < (size_t)k; j++) {
                    size_t best = n_ax;
                    double bv = 0;
                    for (size_t q = 0; q < n_ax; q++) {
                        double v = ox_tensor_get_double(&x, (o * n_ax + q) * inner + i);
                        if (used[q]) continue;
                        if (best == n_ax || (largest ? v > bv : v < bv)) best = q, bv = v;
                    }
                    used[best] = 1;
                    size_t e = (o * (size_t)k + j) * inner + i;
                    CHECK(((int64_t *)out[1].data)[e] == (int64_t)best);
                    CHECK(ox_tensor_get_double(&out[0], e) == bv);
                }
            }
        ox_tensor_free_data(&out[0]);
        ox_tensor_free_data(&out[1]);
        ox_tensor_free_data(&kt);
        ox_tensor_free_data(&x);
    }
    /* k beyond the axis, and k unknown while planning */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL), out[2];
    int64_t k = 4;
    ox_tensor kt = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, &k);
    ox_node *n = tn_node("TopK", 2, 2);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&x, &kt}, 2, out, 2) == ONYX_ERR_INVALID_MODEL);
    ox_tensor unknown = kt;
    unknown.data = NULL;
    CHECK(infer_node(n, 11, (ox_tensor *[]){&x, &unknown}, 2, out, 2) == OX_NEED_VALUE);
    ox_tensor_free_data(&kt);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- CumSum (implemented in ops/tensor.c; checked against the same kind of reference) --- */

TEST(reduce_cumsum_random) {
    for (int t = 0; t < 200; t++) {
        int excl = rnd(2), rev = rnd(2);
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 4, 1);
        if (rank == 0) rank = 1, dims[0] = 4;
        int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        int32_t dt = t % 3 == 0 ? ONYX_DTYPE_INT32 : t % 3 == 1 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_DOUBLE;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out;
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) {
            double v = rnd(21) - 10 + (dt == ONYX_DTYPE_INT32 ? 0 : 0.25 * rnd(4));
            if (dt == ONYX_DTYPE_INT32) ((int32_t *)x.data)[i] = (int32_t)v;
            else if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = (float)v;
            else ((double *)x.data)[i] = v;
        }
        ox_node *n = tn_node("CumSum", 2, 1);
        if (excl) tn_int(n, "exclusive", 1);
        if (rev) tn_int(n, "reverse", 1);
        int32_t ax32 = (int32_t)axis;
        ox_tensor at = t % 2 ? tt_make(ONYX_DTYPE_INT64, 0, NULL, &axis)
                             : tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){1}, &ax32);
        REQUIRE_OK(ox_op_run_single(n, 14, (ox_tensor *[]){&x, &at}, 2, &out, 1));
        CHECK(out.dtype == dt && out.rank == rank);
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++)
                for (size_t j = 0; j < n_ax; j++) {
                    double s = 0;
                    for (size_t q = 0; q < n_ax; q++) {
                        int in = rev ? (excl ? q > j : q >= j) : (excl ? q < j : q <= j);
                        if (in) s += ox_tensor_get_double(&x, (o * n_ax + q) * inner + i);
                    }
                    CHECK(ox_tensor_get_double(&out, (o * n_ax + j) * inner + i) == s);
                }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&at);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

/* The float32 exp: relative accuracy across the whole range, exact zeros for -inf (masks),
 * NaN kept, in both the contiguous and the strided layout. */
TEST(reduce_softmax_exp_range) {
    enum { N = 203 };
    for (int strided = 0; strided < 2; strided++) {
        float v[2 * N];
        for (int j = 0; j < N; j++) {
            float val = j == 5 ? -INFINITY : -0.45f * (float)j; /* 0 down to -90.9 */
            if (strided) v[2 * j] = v[2 * j + 1] = val;
            else v[j] = v[N + j] = val;
        }
        if (strided) v[2 * 7 + 1] = NAN; /* poisons column 1 only */
        else v[N + 7] = NAN;             /* poisons row 1 only */
        double s = 0;
        for (int j = 0; j < N; j++) s += j == 5 ? 0 : exp((double)(-0.45f * (float)j));
        ox_tensor x = strided ? tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){N, 2}, v)
                              : tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, N}, v), out;
        ox_node *n = tn_node("Softmax", 1, 1);
        tn_int(n, "axis", strided ? 0 : 1);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
        const float *y = out.data;
        for (int j = 0; j < N; j++) {
            double e = j == 5 ? 0 : exp((double)(-0.45f * (float)j)) / s;
            double got = strided ? y[2 * j] : y[j];
            double bad = strided ? y[2 * j + 1] : y[N + j];
            CHECK(isnan(bad));
            if (e < 1.5e-38) CHECK(got >= 0 && got < 3e-38);
            else if (fabs(got - e) > 1e-6 * e) {
                fprintf(stderr, "  softmax exp [%d] = %.9g, expected %.9g\n", j, got, e);
                ox_test_failures++;
            }
        }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}
