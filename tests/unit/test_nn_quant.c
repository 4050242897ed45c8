/* MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv against integer
 * references written here. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "test_nn.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static int64_t qv(const ox_tensor *t, size_t i) { return ox_tensor_get_int(t, i); }

/* Random 8-bit values over the full range of the type. */
static ox_tensor q_rand(int32_t dt, int rank, const int64_t *dims) {
    return nn_rand(dt, rank, dims);
}

static int expect_exact(const ox_tensor *got, const int64_t *want, size_t n, const char *what) {
    int fails = 0;
    if (ox_tensor_count(got) != n) {
        fprintf(stderr, "  %s: %zu elements, expected %zu\n", what, ox_tensor_count(got), n);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (qv(got, i) != want[i]) {
            if (fails < 5)
                fprintf(stderr, "  %s[%zu] = %lld, expected %lld\n", what, i,
                        (long long)qv(got, i), (long long)want[i]);
            fails++;
        }
    return fails;
}

static int64_t sat8(int32_t dt, double r) {
    double lo = dt == ONYX_DTYPE_INT8 ? -128 : 0, hi = dt == ONYX_DTYPE_INT8 ? 127 : 255;
    return (int64_t)(r < lo ? lo : r > hi ? hi : r);
}

/* 2-D or batched (B shared) products; zero points scalar, per row of A, per column of B. */
static void check_qmatmul(int linear, int32_t ta, int32_t tb, int batch, int64_t M, int64_t K,
                          int64_t N, int zp_mode, ox_threadpool *pool) {
    int64_t ad[3] = {batch, M, K}, bd[2] = {K, N};
    int ra = batch ? 3 : 2;
    const int64_t *adims = batch ? ad : ad + 1;
    size_t nb = batch ? (size_t)batch : 1;
    ox_tensor A = q_rand(ta, ra, adims), B = q_rand(tb, 2, bd);
    /* zp_mode: 0 scalar, 1 per row of A / per column of B */
    int64_t azd = zp_mode ? M : 1, bzd = zp_mode ? N : 1;
    ox_tensor az = q_rand(ta, 1, &azd), bz = q_rand(tb, 1, &bzd);
    ox_tensor as = tt_rand(1, &azd, 0.01f, 0.05f), bs = tt_rand(1, &bzd, 0.01f, 0.05f);
    ox_tensor ys = tt_rand(0, NULL, 0.5f, 2.0f), yz = q_rand(ta, 0, NULL), Y;
    size_t total = nb * (size_t)(M * N);
    int64_t *want = ox_malloc_array(total + 1, sizeof(int64_t));
    for (size_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                int64_t s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (qv(&A, b * (size_t)(M * K) + (size_t)(i * K + k)) -
                          qv(&az, zp_mode ? (size_t)i : 0)) *
                         (qv(&B, (size_t)(k * N + j)) - qv(&bz, zp_mode ? (size_t)j : 0));
                size_t o = b * (size_t)(M * N) + (size_t)(i * N + j);
                if (!linear) {
                    want[o] = (int32_t)s;
                    continue;
                }
                float f = ((float *)as.data)[zp_mode ? i : 0] * ((float *)bs.data)[zp_mode ? j : 0] /
                          ((float *)ys.data)[0];
                want[o] = sat8(ta, nearbyint((double)s * (double)f) + (double)qv(&yz, 0));
            }
    ox_node *n;
    onyx_status st;
    if (linear) {
        n = tn_node("QLinearMatMul", 8, 1);
        st = nn_run(n, 21, (ox_tensor *[]){&A, &as, &az, &B, &bs, &bz, &ys, &yz}, 8, &Y, 1, pool);
    } else {
        n = tn_node("MatMulInteger", 4, 1);
        st = nn_run(n, 10, (ox_tensor *[]){&A, &B, &az, &bz}, 4, &Y, 1, pool);
    }
    CHECK(st == ONYX_OK);
    if (st != ONYX_OK) fprintf(stderr, "  %s\n", onyx_last_error());
    if (st == ONYX_OK) {
        CHECK(Y.dtype == (linear ? ta : ONYX_DTYPE_INT32));
        ox_test_failures += expect_exact(&Y, want, total, n->op_type);
        nn_free(&Y, 1);
    }
    ox_free(want);
    ox_tensor all[] = {A, B, az, bz, as, bs, ys, yz};
    nn_free(all, 8);
}

TEST(nn_matmulinteger_and_qlinearmatmul) {
    static const int32_t t8[2] = {ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8};
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int linear = 0; linear < 2; linear++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                if (linear && a != b) continue; /* y takes a's type here */
                check_qmatmul(linear, t8[a], t8[b], 0, 7, 17, 5, 0, NULL);
                check_qmatmul(linear, t8[a], t8[b], 0, 4, 33, 9, 1, NULL);
                check_qmatmul(linear, t8[a], t8[b], 3, 5, 7, 6, 1, NULL);
                /* K beyond one 256 slice, with sums well past 2^24 */
                check_qmatmul(linear, t8[a], t8[b], 0, 9, 700, 13, 0, pool);
            }
    ox_threadpool_free(pool);
}

/* ConvInteger / QLinearConv: 2-D, groups, padding, strides, dilations. */
static void check_qconv(int linear, int32_t tx, int32_t tw, int per_channel, int with_bias,
                        int64_t G, int64_t Cg, int64_t Mg, int64_t H, int64_t W, int64_t k,
                        int64_t s, int64_t d, int64_t pad) {
    int64_t N = 2, C = G * Cg, M = G * Mg;
    int64_t xd[4] = {N, C, H, W}, wd[4] = {M, Cg, k, k};
    ox_tensor X = q_rand(tx, 4, xd), Wt = q_rand(tw, 4, wd);
    int64_t pc = per_channel ? M : 1;
    ox_tensor xz = q_rand(tx, 0, NULL), wz = q_rand(tw, 1, &pc), xs = tt_rand(0, NULL, 0.01f, 0.05f);
    ox_tensor ws = tt_rand(1, &pc, 0.01f, 0.05f), ys = tt_rand(0, NULL, 0.5f, 2.0f);
    ox_tensor yz = q_rand(tx, 0, NULL), bias = tt_make(ONYX_DTYPE_INT32, 1, &M, NULL), Y;
    for (int64_t m = 0; m < M; m++) ((int32_t *)bias.data)[m] = nn_rnd(2001) - 1000;
    int64_t ek = (k - 1) * d + 1, OH = (H + 2 * pad - ek) / s + 1, OW = (W + 2 * pad - ek) / s + 1;
    size_t total = (size_t)(N * M * OH * OW);
    int64_t *want = ox_malloc_array(total, sizeof(int64_t));
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t acc = 0, g = m / Mg;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t a = 0; a < k; a++)
                            for (int64_t b = 0; b < k; b++) {
                                int64_t iy = oy * s - pad + a * d, ix = ox * s - pad + b * d;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                int64_t xv = qv(&X, (size_t)(((n * C + g * Cg + ci) * H + iy) * W + ix));
                                int64_t wv = qv(&Wt, (size_t)(((m * Cg + ci) * k + a) * k + b));
                                acc += (xv - qv(&xz, 0)) * (wv - qv(&wz, per_channel ? (size_t)m : 0));
                            }
                    size_t o = (size_t)(((n * M + m) * OH + oy) * OW + ox);
                    if (!linear) {
                        want[o] = acc;
                        continue;
                    }
                    if (with_bias) acc += ((int32_t *)bias.data)[m];
                    float f = ((float *)xs.data)[0] * ((float *)ws.data)[per_channel ? m : 0] /
                              ((float *)ys.data)[0];
                    want[o] = sat8(tx, nearbyint((double)acc * (double)f) + (double)qv(&yz, 0));
                }
    ox_node *node;
    onyx_status st;
    if (linear) {
        node = tn_node("QLinearConv", with_bias ? 9 : 8, 1);
    } else {
        node = tn_node("ConvInteger", 4, 1);
    }
    if (G > 1) tn_int(node, "group", G);
    tn_ints(node, "strides", 2, (int64_t[]){s, s});
    tn_ints(node, "dilations", 2, (int64_t[]){d, d});
    tn_ints(node, "pads", 4, (int64_t[]){pad, pad, pad, pad});
    if (linear)
        st = ox_op_run_single(node, 10, (ox_tensor *[]){&X, &xs, &xz, &Wt, &ws, &wz, &ys, &yz, &bias},
                              with_bias ? 9 : 8, &Y, 1);
    else
        st = ox_op_run_single(node, 10, (ox_tensor *[]){&X, &Wt, &xz, &wz}, 4, &Y, 1);
    CHECK(st == ONYX_OK);
    if (st != ONYX_OK) fprintf(stderr, "  %s\n", onyx_last_error());
    if (st == ONYX_OK) {
        CHECK(Y.rank == 4 && Y.dims[2] == OH && Y.dims[3] == OW);
        ox_test_failures += expect_exact(&Y, want, total, node->op_type);
        nn_free(&Y, 1);
    }
    ox_free(want);
    ox_tensor all[] = {X, Wt, xz, wz, xs, ws, ys, yz, bias};
    nn_free(all, 9);
}

TEST(nn_convinteger_and_qlinearconv) {
    static const int32_t t8[2] = {ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8};
    for (int linear = 0; linear < 2; linear++)
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                check_qconv(linear, t8[a], t8[b], 0, 1, 1, 3, 4, 7, 9, 3, 1, 1, 1);
                check_qconv(linear, t8[a], t8[b], 1, 0, 2, 2, 3, 8, 7, 3, 2, 2, 2);
                check_qconv(linear, t8[a], t8[b], 1, 1, 3, 1, 1, 6, 6, 3, 1, 1, 1); /* depthwise */
                check_qconv(linear, t8[a], t8[b], 0, 1, 1, 5, 2, 5, 5, 1, 1, 1, 0); /* 1x1 */
            }
    /* K = 64*9 = 576: more than one exact slice */
    check_qconv(1, ONYX_DTYPE_UINT8, ONYX_DTYPE_INT8, 1, 1, 1, 64, 3, 6, 5, 3, 1, 1, 1);
    check_qconv(0, ONYX_DTYPE_INT8, ONYX_DTYPE_INT8, 0, 0, 1, 64, 3, 6, 5, 3, 1, 1, 1);
}

TEST(nn_quant_errors) {
    ox_tensor A = q_rand(ONYX_DTYPE_INT8, 2, (int64_t[]){3, 4});
    ox_tensor B = q_rand(ONYX_DTYPE_INT8, 2, (int64_t[]){4, 5});
    ox_tensor Z2 = q_rand(ONYX_DTYPE_INT8, 1, (int64_t[]){2});
    ox_tensor Zu = q_rand(ONYX_DTYPE_UINT8, 0, NULL);
    ox_tensor F = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 4}), Y;
    ox_node *n = tn_node("MatMulInteger", 3, 1);
    CHECK(ox_op_run_single(n, 10, (ox_tensor *[]){&A, &B, &Z2}, 3, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 10, (ox_tensor *[]){&A, &B, &Zu}, 3, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 10, (ox_tensor *[]){&F, &B, &Zu}, 3, &Y, 1) == ONYX_ERR_UNSUPPORTED);
    ox_node *q = tn_node("QLinearMatMul", 8, 1);
    CHECK(ox_op_run_single(q, 21, (ox_tensor *[]){&A, &F, &Z2, &B, &F, &Z2, &F, &Z2}, 8, &Y, 1) !=
          ONYX_OK);
    ox_tensor all[] = {A, B, Z2, Zu, F};
    nn_free(all, 5);
}

TEST(nn_matmulinteger_extremes_exact) {
    /* every product is -255*255 and K = 1000: the sums leave float's exact range
     * unless the product is summed in slices */
    int64_t K = 1000;
    ox_tensor A = tt_make(ONYX_DTYPE_INT8, 2, (int64_t[]){2, K}, NULL);
    ox_tensor B = tt_make(ONYX_DTYPE_INT8, 2, (int64_t[]){K, 3}, NULL);
    memset(A.data, 127, (size_t)(2 * K));
    memset(B.data, 0x80, (size_t)(3 * K)); /* -128 */
    int8_t za = -128, zb = 127;
    ox_tensor AZ = tt_make(ONYX_DTYPE_INT8, 0, NULL, &za), BZ = tt_make(ONYX_DTYPE_INT8, 0, NULL, &zb), Y;
    ((int8_t *)A.data)[5] = 126; /* one odd product so the total is odd */
    ox_node *n = tn_node("MatMulInteger", 4, 1);
    REQUIRE_OK(ox_op_run_single(n, 10, (ox_tensor *[]){&A, &B, &AZ, &BZ}, 4, &Y, 1));
    int64_t want[6];
    for (int i = 0; i < 6; i++) want[i] = -(int64_t)255 * 255 * K + (i < 3 ? 255 : 0);
    ox_test_failures += expect_exact(&Y, want, 6, "MatMulInteger");
    ox_tensor all[] = {A, B, AZ, BZ, Y};
    nn_free(all, 5);
}
