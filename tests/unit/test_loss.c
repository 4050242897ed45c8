/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against double-precision
 * loops over (n, c, d). */
#include "misc_testutil.h"

static const char *reds[] = {"none", "sum", "mean"};

static void check_loss(int sce, int32_t xt, int32_t tt, int red, int weighted, int ignore, int log_prob) {
    int32_t k = et_rnd(4), rank = 2 + k;
    int64_t dims[OX_MAX_RANK], tdims[OX_MAX_RANK];
    mt_dims(rank, dims, 1, 4);
    if (et_rnd(8) == 0) dims[0] = 0;
    size_t N = (size_t)dims[0], C = (size_t)dims[1], D = 1;
    for (int32_t d = 2; d < rank; d++) D *= (size_t)dims[d];
    tdims[0] = dims[0];
    for (int32_t d = 2; d < rank; d++) tdims[d - 1] = dims[d];
    ox_tensor x = mt_make(xt, rank, dims), t = mt_make(tt, rank - 1, tdims);
    ox_tensor w = mt_make(xt, 1, &dims[1]);
    int64_t ii = et_rnd(2) ? -1 - et_rnd(3) : (int64_t)et_rnd((int)C);
    for (size_t i = 0; i < N * C * D; i++) mt_set(&x, i, mt_uniform(sce ? -4 : -6, sce ? 4 : 0));
    for (size_t i = 0; i < N * D; i++)
        mt_set(&t, i, ignore && et_rnd(4) == 0 ? (double)ii : (double)et_rnd((int)C));
    for (size_t i = 0; i < C; i++) mt_set(&w, i, mt_uniform(0.1, 2.0));
    ox_node *n = tn_node(sce ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss", weighted ? 3 : 2,
                         log_prob ? 2 : 1);
    if (red != 2 || et_rnd(2)) tn_str(n, "reduction", reds[red]);
    if (ignore) tn_int(n, "ignore_index", ii);
    ox_tensor out[2];
    REQUIRE_OK(mt_run(n, 13, (ox_tensor *[]){&x, &t, &w}, weighted ? 3 : 2, out, log_prob ? 2 : 1));
    /* reference */
    double *lp = ox_malloc_array(N * C * D + 1, sizeof(double));
    for (size_t a = 0; a < N; a++)
        for (size_t d = 0; d < D; d++) {
            double mx = -INFINITY, s = 0;
            for (size_t c = 0; c < C; c++) mx = fmax(mx, mt_get(&x, (a * C + c) * D + d));
            for (size_t c = 0; c < C; c++) s += exp(mt_get(&x, (a * C + c) * D + d) - mx);
            for (size_t c = 0; c < C; c++) {
                size_t i = (a * C + c) * D + d;
                lp[i] = sce ? mt_get(&x, i) - mx - log(s) : mt_get(&x, i);
            }
        }
    double tol = xt == ONYX_DTYPE_FLOAT16 ? 3e-3 : xt == ONYX_DTYPE_DOUBLE ? 1e-12 : 1e-5;
    double total = 0, wsum = 0;
    int bad = 0;
    for (size_t a = 0; a < N; a++)
        for (size_t d = 0; d < D; d++) {
            int64_t cls = (int64_t)mt_get(&t, a * D + d);
            double l = 0, wt = 0;
            if (!(ignore && cls == ii)) {
                wt = weighted ? mt_get(&w, (size_t)cls) : 1.0;
                l = -lp[(a * C + (size_t)cls) * D + d] * wt;
            }
            total += l;
            wsum += wt;
            if (red == 0 && !mt_close(mt_get(&out[0], a * D + d), l, tol)) bad++;
        }
    if (red == 0) {
        CHECK(out[0].rank == rank - 1);
    } else {
        double want = red == 1 ? total : total / wsum;
        CHECK(out[0].rank == 0);
        CHECK(mt_close(mt_get(&out[0], 0), want, tol * 10));
    }
    if (log_prob) {
        CHECK(ox_tensor_same_shape(&out[1], &x));
        for (size_t i = 0; i < N * C * D; i++)
            if (!mt_close(mt_get(&out[1], i), lp[i], tol)) bad++;
    }
    CHECK(bad == 0);
    ox_free(lp);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&t);
    ox_tensor_free_data(&w);
    for (int i = 0; i < (log_prob ? 2 : 1); i++) ox_tensor_free_data(&out[i]);
}

TEST(nll_loss_random) {
    const int32_t xts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16};
    for (int rep = 0; rep < 60; rep++)
        check_loss(0, xts[rep % 3], rep % 2 ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32, rep % 3, (rep / 3) % 2,
                   (rep / 6) % 2, 0);
    tn_reset();
}

TEST(softmax_cross_entropy_loss_random) {
    const int32_t xts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16};
    for (int rep = 0; rep < 80; rep++)
        check_loss(1, xts[rep % 3], rep % 2 ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32, rep % 3, (rep / 3) % 2,
                   (rep / 6) % 2, (rep / 12) % 2);
    tn_reset();
}

TEST(loss_errors) {
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    int64_t tv[2] = {0, 3};
    ox_tensor t = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, tv);
    ox_tensor tbad = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){3}, NULL);
    ox_tensor w2 = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, NULL);
    ox_tensor out[2];
    /* class 3 of 3 is out of range */
    ox_node *n = tn_node("NegativeLogLikelihoodLoss", 2, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &t}, 2, out, 1) == ONYX_ERR_RUNTIME);
    n = tn_node("SoftmaxCrossEntropyLoss", 2, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &t}, 2, out, 1) == ONYX_ERR_RUNTIME);
    /* unless it is the ignore_index */
    n = tn_node("SoftmaxCrossEntropyLoss", 2, 1);
    tn_int(n, "ignore_index", 3);
    REQUIRE_OK(mt_run(n, 13, (ox_tensor *[]){&x, &t}, 2, out, 1));
    CHECK_NEAR(mt_get(&out[0], 0), log(3.0), 1e-6);
    ox_tensor_free_data(&out[0]);
    /* negative targets too */
    ((int64_t *)t.data)[1] = -2;
    n = tn_node("NegativeLogLikelihoodLoss", 2, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &t}, 2, out, 1) == ONYX_ERR_RUNTIME);
    n = tn_node("NegativeLogLikelihoodLoss", 2, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &tbad}, 2, out, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("NegativeLogLikelihoodLoss", 3, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &t, &w2}, 3, out, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("NegativeLogLikelihoodLoss", 2, 1);
    tn_str(n, "reduction", "max");
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x, &t}, 2, out, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor x1 = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL);
    n = tn_node("NegativeLogLikelihoodLoss", 2, 1);
    CHECK(mt_run(n, 13, (ox_tensor *[]){&x1, &t}, 2, out, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor *all[] = {&x, &t, &tbad, &w2, &x1};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ox_tensor_free_data(all[i]);
    tn_reset();
}
