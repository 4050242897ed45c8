/* MatMul, Gemm and Conv against naive double-precision references written here. */
#include "test_nn.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "util/alloc.h"
#include "kernels/cpu.h"
#include "util/threadpool.h"

/* ---- helpers ---------------------------------------------------------------- */

onyx_status nn_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                   ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    return ox_op_run_single_on(node, opset, in, n_in, out, n_out, pool);
}

onyx_status nn_run_packed(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                          ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    return ox_op_run_single_ex(node, opset, in, n_in, out, n_out, pool, 1);
}

int nn_rnd(int n) { return (int)(tt_randf() * (float)n) % n; }

ox_tensor nn_rand(int32_t dtype, int32_t rank, const int64_t *dims) {
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) {
        double v = tt_randf() * 2.0 - 1.0;
        switch (dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)t.data)[i] = (float)v; break;
        case ONYX_DTYPE_DOUBLE: ((double *)t.data)[i] = v; break;
        case ONYX_DTYPE_INT32: ((int32_t *)t.data)[i] = nn_rnd(11) - 5; break;
        case ONYX_DTYPE_INT64: ((int64_t *)t.data)[i] = nn_rnd(11) - 5; break;
        case ONYX_DTYPE_UINT32: ((uint32_t *)t.data)[i] = (uint32_t)nn_rnd(11); break;
        case ONYX_DTYPE_UINT64: ((uint64_t *)t.data)[i] = (uint64_t)nn_rnd(11); break;
        case ONYX_DTYPE_INT8: ((int8_t *)t.data)[i] = (int8_t)(nn_rnd(256) - 128); break;
        case ONYX_DTYPE_UINT8: ((uint8_t *)t.data)[i] = (uint8_t)nn_rnd(256); break;
        default: break;
        }
    }
    return t;
}

void nn_free(ox_tensor *t, size_t n) {
    for (size_t i = 0; i < n; i++) ox_tensor_free_data(&t[i]);
}

int nn_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what) {
    int fails = 0;
    if (ox_tensor_count(got) != n) {
        fprintf(stderr, "  %s: %zu elements, expected %zu\n", what, ox_tensor_count(got), n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double g = ox_tensor_get_double(got, i), w = want[i];
        int same_nan = (isnan(g) && isnan(w)) || g == w;
        if (!same_nan && !(fabs(g - w) <= tol * (1.0 + fabs(w)))) {
            if (fails < 5) fprintf(stderr, "  %s[%zu] = %.9g, expected %.9g\n", what, i, g, w);
            fails++;
        }
    }
    return fails;
}

static int same_dims(const ox_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

/* ---- MatMul ------------------------------------------------------------------ */

/* numpy matmul in double over arbitrary ranks; writes the expected dims. */
static double *matmul_ref(const ox_tensor *A, const ox_tensor *B, int *rank, int64_t *dims) {
    int ra = A->rank, rb = B->rank;
    int64_t ad[OX_MAX_RANK], bd[OX_MAX_RANK];
    int na = ra, nb = rb;
    memcpy(ad, A->dims, sizeof(int64_t) * (size_t)ra);
    memcpy(bd, B->dims, sizeof(int64_t) * (size_t)rb);
    if (ra == 1) { ad[1] = ad[0]; ad[0] = 1; na = 2; }
    if (rb == 1) { bd[1] = 1; nb = 2; }
    int64_t M = ad[na - 2], K = ad[na - 1], N = bd[nb - 1];
    int bat = (na > nb ? na : nb) - 2;
    int64_t bdims[OX_MAX_RANK];
    size_t nbatch = 1;
    for (int i = 0; i < bat; i++) {
        int ia = i - (bat - (na - 2)), ib = i - (bat - (nb - 2));
        int64_t x = ia >= 0 ? ad[ia] : 1, y = ib >= 0 ? bd[ib] : 1;
        bdims[i] = x == 1 ? y : x;
        nbatch *= (size_t)bdims[i];
    }
    int r = 0;
    for (int i = 0; i < bat; i++) dims[r++] = bdims[i];
    if (ra != 1) dims[r++] = M;
    if (rb != 1) dims[r++] = N;
    *rank = r;
    double *y = ox_malloc_array(nbatch * (size_t)(M * N) + 1, sizeof(double));
    for (size_t b = 0; b < nbatch; b++) {
        size_t rem = b, aoff = 0, boff = 0, astr = (size_t)(M * K), bstr = (size_t)(K * N);
        for (int i = bat - 1; i >= 0; i--) {
            size_t idx = rem % (size_t)bdims[i];
            rem /= (size_t)bdims[i];
            int ia = i - (bat - (na - 2)), ib = i - (bat - (nb - 2));
            if (ia >= 0) {
                if (ad[ia] != 1) aoff += idx * astr;
                astr *= (size_t)ad[ia];
            }
            if (ib >= 0) {
                if (bd[ib] != 1) boff += idx * bstr;
                bstr *= (size_t)bd[ib];
            }
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += ox_tensor_get_double(A, aoff + (size_t)(i * K + k)) *
                         ox_tensor_get_double(B, boff + (size_t)(k * N + j));
                y[b * (size_t)(M * N) + (size_t)(i * N + j)] = s;
            }
    }
    return y;
}

static void check_matmul(int32_t dt, int ra, const int64_t *adims, int rb, const int64_t *bdims,
                         ox_threadpool *pool) {
    ox_node *n = tn_node("MatMul", 2, 1);
    ox_tensor A = nn_rand(dt, ra, adims), B = nn_rand(dt, rb, bdims), Y;
    int rank;
    int64_t dims[OX_MAX_RANK];
    double *want = matmul_ref(&A, &B, &rank, dims);
    for (int packed = 0; packed < 2; packed++) { /* B packed per call, and once ahead */
        onyx_status s = (packed ? nn_run_packed : nn_run)(n, 13, (ox_tensor *[]){&A, &B}, 2, &Y,
                                                          1, pool);
        CHECK(s == ONYX_OK);
        if (s != ONYX_OK) continue;
        CHECK(same_dims(&Y, rank, dims));
        CHECK(Y.dtype == dt);
        ox_test_failures += nn_expect(&Y, want, ox_shape_count(rank, dims),
                                      dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12, "MatMul");
        ox_tensor_free_data(&Y);
    }
    ox_free(want);
    nn_free(&A, 1);
    nn_free(&B, 1);
}

TEST(nn_matmul_shapes_and_types) {
    static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT32,
                                    ONYX_DTYPE_INT64, ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64};
    for (int t = 0; t < 6; t++) {
        int32_t dt = types[t];
        check_matmul(dt, 1, (int64_t[]){7}, 1, (int64_t[]){7}, NULL);
        check_matmul(dt, 1, (int64_t[]){7}, 3, (int64_t[]){2, 7, 5}, NULL);
        check_matmul(dt, 3, (int64_t[]){2, 3, 17}, 1, (int64_t[]){17}, NULL);
        check_matmul(dt, 2, (int64_t[]){1, 1}, 2, (int64_t[]){1, 1}, NULL);
        check_matmul(dt, 2, (int64_t[]){7, 33}, 2, (int64_t[]){33, 17}, NULL);
        check_matmul(dt, 4, (int64_t[]){2, 1, 3, 5}, 3, (int64_t[]){4, 5, 7}, NULL);
        check_matmul(dt, 2, (int64_t[]){3, 5}, 4, (int64_t[]){2, 3, 5, 7}, NULL);
        check_matmul(dt, 3, (int64_t[]){5, 9, 4}, 2, (int64_t[]){4, 6}, NULL);
        check_matmul(dt, 3, (int64_t[]){1, 9, 4}, 3, (int64_t[]){3, 4, 6}, NULL);
        check_matmul(dt, 2, (int64_t[]){4, 0}, 2, (int64_t[]){0, 3}, NULL); /* K = 0 */
        check_matmul(dt, 3, (int64_t[]){0, 4, 2}, 2, (int64_t[]){2, 3}, NULL);
    }
}

TEST(nn_matmul_threaded) {
    ox_threadpool *pool = ox_threadpool_create(4);
    check_matmul(ONYX_DTYPE_FLOAT, 3, (int64_t[]){16, 9, 8}, 3, (int64_t[]){16, 8, 10}, pool);
    check_matmul(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 33, 40}, 4, (int64_t[]){2, 1, 40, 70}, pool);
    check_matmul(ONYX_DTYPE_FLOAT, 3, (int64_t[]){4, 33, 65}, 2, (int64_t[]){65, 17}, pool);
    check_matmul(ONYX_DTYPE_DOUBLE, 3, (int64_t[]){12, 9, 8}, 3, (int64_t[]){1, 8, 10}, pool);
    ox_threadpool_free(pool);
}

TEST(nn_matmul_errors) {
    ox_node *n = tn_node("MatMul", 2, 1);
    ox_tensor A = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    ox_tensor B = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){5, 6});
    ox_tensor C = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 4, 6});
    ox_tensor D = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){3, 3, 4});
    ox_tensor S = nn_rand(ONYX_DTYPE_FLOAT, 0, NULL);
    ox_tensor I = nn_rand(ONYX_DTYPE_INT32, 2, (int64_t[]){4, 2});
    ox_tensor Y;
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&A, &B}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&D, &C}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&S, &A}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&A, &I}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor E = nn_rand(ONYX_DTYPE_INT8, 2, (int64_t[]){3, 4});
    ox_tensor F = nn_rand(ONYX_DTYPE_INT8, 2, (int64_t[]){4, 3});
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&E, &F}, 2, &Y, 1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor all[] = {A, B, C, D, S, I, E, F};
    nn_free(all, 8);
}

/* ---- Gemm ---------------------------------------------------------------------- */

static void check_gemm(int32_t dt, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                       float beta, int c_rank, const int64_t *c_dims, int opset,
                       ox_threadpool *pool) {
    ox_node *n = tn_node("Gemm", c_rank >= 0 ? 3 : 2, 1);
    if (ta) tn_int(n, "transA", 1);
    if (tb) tn_int(n, "transB", 1);
    if (alpha != 1.0f) tn_float(n, "alpha", alpha);
    if (beta != 1.0f) tn_float(n, "beta", beta);
    int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
    ox_tensor A = nn_rand(dt, 2, ad), B = nn_rand(dt, 2, bd), C = {0}, Y;
    if (c_rank >= 0) C = nn_rand(dt, c_rank, c_dims);
    double *want = ox_malloc_array((size_t)(M * N) + 1, sizeof(double));
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += ox_tensor_get_double(&A, (size_t)(ta ? k * M + i : i * K + k)) *
                     ox_tensor_get_double(&B, (size_t)(tb ? j * K + k : k * N + j));
            double cv = 0;
            if (c_rank >= 0) {
                int64_t ci = 0;
                if (c_rank == 2) ci = (c_dims[0] == 1 ? 0 : i) * c_dims[1] + (c_dims[1] == 1 ? 0 : j);
                if (c_rank == 1) ci = c_dims[0] == 1 ? 0 : j;
                cv = ox_tensor_get_double(&C, (size_t)ci);
            }
            want[i * N + j] = alpha * s + beta * cv;
        }
    ox_tensor *ins[3] = {&A, &B, &C};
    for (int packed = 0; packed < 2; packed++) { /* B packed per call, and once ahead */
        onyx_status s = (packed ? nn_run_packed : nn_run)(n, opset, ins, c_rank >= 0 ? 3 : 2, &Y,
                                                          1, pool);
        CHECK(s == ONYX_OK);
        if (s != ONYX_OK) continue;
        CHECK(same_dims(&Y, 2, (int64_t[]){M, N}));
        ox_test_failures += nn_expect(&Y, want, (size_t)(M * N),
                                      dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12, "Gemm");
        ox_tensor_free_data(&Y);
    }
    ox_free(want);
    nn_free(&A, 1);
    nn_free(&B, 1);
    nn_free(&C, 1);
}

TEST(nn_gemm_attributes_and_bias_shapes) {
    static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_INT32,
                                    ONYX_DTYPE_INT64};
    for (int t = 0; t < 4; t++) {
        int32_t dt = types[t];
        int fl = dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE;
        float al = fl ? 0.25f : 2.0f, be = fl ? -1.5f : 3.0f;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(dt, ta, tb, 7, 17, 33, 1.0f, 1.0f, -1, NULL, 13, NULL);
                check_gemm(dt, ta, tb, 7, 17, 33, al, be, 2, (int64_t[]){7, 17}, 13, NULL);
                check_gemm(dt, ta, tb, 1, 33, 7, al, 1.0f, 1, (int64_t[]){33}, 13, NULL);
            }
        check_gemm(dt, 0, 0, 5, 6, 7, 1.0f, be, 0, NULL, 11, NULL);
        check_gemm(dt, 0, 1, 5, 6, 7, al, be, 1, (int64_t[]){1}, 11, NULL);
        check_gemm(dt, 1, 0, 5, 6, 7, 1.0f, be, 2, (int64_t[]){1, 6}, 9, NULL);
        check_gemm(dt, 1, 1, 5, 6, 7, 1.0f, be, 2, (int64_t[]){5, 1}, 7, NULL);
        check_gemm(dt, 0, 0, 5, 6, 7, 1.0f, 0.0f, 2, (int64_t[]){5, 6}, 13, NULL);
        check_gemm(dt, 0, 0, 4, 3, 0, 1.0f, 1.0f, 2, (int64_t[]){4, 3}, 13, NULL); /* K = 0 */
    }
    ox_threadpool *pool = ox_threadpool_create(3);
    check_gemm(ONYX_DTYPE_FLOAT, 0, 1, 1, 1000, 300, 1.0f, 1.0f, 1, (int64_t[]){1000}, 13, pool);
    check_gemm(ONYX_DTYPE_FLOAT, 1, 0, 64, 96, 130, 0.5f, 2.0f, 2, (int64_t[]){64, 1}, 13, pool);
    ox_threadpool_free(pool);
}

TEST(nn_gemm_errors) {
    ox_node *n = tn_node("Gemm", 3, 1);
    ox_tensor A = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 4});
    ox_tensor B = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){4, 5});
    ox_tensor Cbad = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 5});
    ox_tensor B3 = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 4, 5});
    ox_tensor Y;
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&A, &B, &Cbad}, 3, &Y, 1) ==
          ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&A, &B3, &Cbad}, 3, &Y, 1) ==
          ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&B, &A, &Cbad}, 3, &Y, 1) ==
          ONYX_ERR_INVALID_MODEL);
    ox_node *ni = tn_node("Gemm", 2, 1);
    tn_float(ni, "alpha", 0.5f);
    ox_tensor IA = nn_rand(ONYX_DTYPE_INT32, 2, (int64_t[]){3, 4});
    ox_tensor IB = nn_rand(ONYX_DTYPE_INT32, 2, (int64_t[]){4, 5});
    CHECK(ox_op_run_single(ni, 13, (ox_tensor *[]){&IA, &IB}, 2, &Y, 1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor all[] = {A, B, Cbad, B3, IA, IB};
    nn_free(all, 6);
}

/* ---- Conv -------------------------------------------------------------------- */

typedef struct conv_case {
    int nd, N, C, M, G;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    int auto_pad; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    int bias, give_kernel_shape, give_strides, give_dilations;
} conv_case;

static const char *pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

/* Output size and effective begin padding for one dim, straight from the spec. */
static int64_t conv_out(const conv_case *cc, int i, int64_t *pb) {
    int64_t ek = (cc->k[i] - 1) * cc->d[i] + 1, in = cc->in[i], s = cc->s[i];
    if (cc->auto_pad == 1 || cc->auto_pad == 2) {
        int64_t out = (in + s - 1) / s;
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        *pb = cc->auto_pad == 1 ? total / 2 : total - total / 2;
        return out;
    }
    int64_t b = cc->auto_pad == 3 ? 0 : cc->pads[i], e = cc->auto_pad == 3 ? 0 : cc->pads[cc->nd + i];
    *pb = b;
    return (in + b + e - ek) / s + 1;
}

static void run_conv_case(const conv_case *cc, int32_t dt, ox_threadpool *pool) {
    int nd = cc->nd;
    ox_node *n = tn_node("Conv", cc->bias ? 3 : 2, 1);
    if (cc->G != 1) tn_int(n, "group", cc->G);
    if (cc->give_kernel_shape) tn_ints(n, "kernel_shape", (size_t)nd, cc->k);
    if (cc->give_strides) tn_ints(n, "strides", (size_t)nd, cc->s);
    if (cc->give_dilations) tn_ints(n, "dilations", (size_t)nd, cc->d);
    if (cc->auto_pad) tn_str(n, "auto_pad", pad_names[cc->auto_pad]);
    else tn_ints(n, "pads", 2 * (size_t)nd, cc->pads);
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->G};
    for (int i = 0; i < nd; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
    }
    ox_tensor X = nn_rand(dt, 2 + nd, xd), W = nn_rand(dt, 2 + nd, wd);
    ox_tensor B = nn_rand(dt, 1, (int64_t[]){cc->M}), Y;
    /* reference, in 3-D with unit leading dims */
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1};
    int64_t o3[3] = {1, 1, 1}, p3[3] = {0, 0, 0}, yd[5] = {cc->N, cc->M};
    for (int i = 0; i < nd; i++) {
        int j = 3 - nd + i;
        in3[j] = cc->in[i];
        k3[j] = cc->k[i];
        s3[j] = cc->s[i];
        d3[j] = cc->d[i];
        o3[j] = conv_out(cc, i, &p3[j]);
        yd[2 + i] = o3[j];
    }
    size_t osp = (size_t)(o3[0] * o3[1] * o3[2]), isp = (size_t)(in3[0] * in3[1] * in3[2]);
    size_t ksp = (size_t)(k3[0] * k3[1] * k3[2]);
    int Cg = cc->C / cc->G, Mg = cc->M / cc->G;
    size_t total = (size_t)cc->N * (size_t)cc->M * osp;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    for (int b = 0; b < cc->N; b++)
        for (int m = 0; m < cc->M; m++)
            for (int64_t z = 0; z < o3[0]; z++)
                for (int64_t y = 0; y < o3[1]; y++)
                    for (int64_t x = 0; x < o3[2]; x++) {
                        double s = cc->bias ? ox_tensor_get_double(&B, (size_t)m) : 0.0;
                        int g = m / Mg;
                        for (int ci = 0; ci < Cg; ci++)
                            for (int64_t a = 0; a < k3[0]; a++)
                                for (int64_t bb = 0; bb < k3[1]; bb++)
                                    for (int64_t e = 0; e < k3[2]; e++) {
                                        int64_t iz = z * s3[0] - p3[0] + a * d3[0];
                                        int64_t iy = y * s3[1] - p3[1] + bb * d3[1];
                                        int64_t ix = x * s3[2] - p3[2] + e * d3[2];
                                        if (iz < 0 || iz >= in3[0] || iy < 0 || iy >= in3[1] ||
                                            ix < 0 || ix >= in3[2])
                                            continue;
                                        size_t xi = ((size_t)b * (size_t)cc->C +
                                                     (size_t)(g * Cg + ci)) * isp +
                                                    (size_t)((iz * in3[1] + iy) * in3[2] + ix);
                                        size_t wi = ((size_t)m * (size_t)Cg + (size_t)ci) * ksp +
                                                    (size_t)((a * k3[1] + bb) * k3[2] + e);
                                        s += ox_tensor_get_double(&X, xi) *
                                             ox_tensor_get_double(&W, wi);
                                    }
                        want[(((size_t)b * (size_t)cc->M + (size_t)m) * osp) +
                             (size_t)((z * o3[1] + y) * o3[2] + x)] = s;
                    }
    ox_tensor *ins[3] = {&X, &W, &B};
    for (int packed = 0; packed < 2; packed++) { /* filters packed per call, and once ahead */
        onyx_status s = (packed ? nn_run_packed : nn_run)(n, 11, ins, cc->bias ? 3 : 2, &Y, 1, pool);
        CHECK(s == ONYX_OK);
        if (s != ONYX_OK) fprintf(stderr, "  conv failed: %s\n", onyx_last_error());
        if (s != ONYX_OK) continue;
        CHECK(same_dims(&Y, 2 + nd, yd));
        int f = nn_expect(&Y, want, total, dt == ONYX_DTYPE_FLOAT ? 2e-5 : 1e-12, "Conv");
        if (f)
            fprintf(stderr, "  case nd=%d N=%d C=%d M=%d G=%d in=%lld,%lld,%lld k=%lld,%lld,%lld "
                    "s=%lld,%lld,%lld d=%lld,%lld,%lld auto_pad=%s packed=%d\n", nd, cc->N, cc->C,
                    cc->M, cc->G, (long long)in3[0], (long long)in3[1], (long long)in3[2],
                    (long long)k3[0], (long long)k3[1], (long long)k3[2], (long long)s3[0],
                    (long long)s3[1], (long long)s3[2], (long long)d3[0], (long long)d3[1],
                    (long long)d3[2], pad_names[cc->auto_pad], packed);
        ox_test_failures += f;
        ox_tensor_free_data(&Y);
    }
    ox_free(want);
    ox_tensor all[] = {X, W, B};
    nn_free(all, 3);
}

/* A random valid case: sizes drawn from {1, 7, 17, 33} (smaller for 3-D). */
static conv_case random_conv_case(void) {
    static const int64_t sizes[] = {1, 7, 17, 33};
    conv_case cc;
    memset(&cc, 0, sizeof cc);
    cc.nd = 1 + nn_rnd(3);
    cc.N = 1 + nn_rnd(2);
    cc.G = 1 + nn_rnd(3);
    cc.C = cc.G * (1 + nn_rnd(3));
    cc.M = cc.G * (1 + nn_rnd(3));
    cc.auto_pad = nn_rnd(4);
    cc.bias = nn_rnd(2);
    cc.give_kernel_shape = nn_rnd(2);
    cc.give_strides = nn_rnd(2);
    cc.give_dilations = nn_rnd(2);
    for (int i = 0; i < cc.nd; i++) {
        cc.in[i] = cc.nd == 3 ? 1 + nn_rnd(7) : sizes[nn_rnd(4)];
        cc.k[i] = 1 + nn_rnd(3);
        cc.s[i] = cc.give_strides ? 1 + nn_rnd(3) : 1;
        cc.d[i] = cc.give_dilations ? 1 + nn_rnd(2) : 1;
        cc.pads[i] = nn_rnd(3);
        cc.pads[cc.nd + i] = nn_rnd(3);
        /* make the padded input at least as large as the dilated kernel */
        int64_t ek = (cc.k[i] - 1) * cc.d[i] + 1;
        int64_t have = cc.in[i] + (cc.auto_pad == 0 ? cc.pads[i] + cc.pads[cc.nd + i] : 0);
        if (have < ek) cc.in[i] += ek - have;
    }
    return cc;
}

TEST(nn_conv_random_float) {
    for (int t = 0; t < 150; t++) {
        conv_case cc = random_conv_case();
        run_conv_case(&cc, ONYX_DTYPE_FLOAT, NULL);
    }
}

TEST(nn_conv_random_double_and_threaded) {
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int t = 0; t < 60; t++) {
        conv_case cc = random_conv_case();
        run_conv_case(&cc, t % 2 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, pool);
    }
    ox_threadpool_free(pool);
}

TEST(nn_conv_special_paths) {
    /* 1x1, stride 1, no pads: the direct GEMM path */
    conv_case pw = {.nd = 2, .N = 2, .C = 6, .M = 5, .G = 1, .in = {7, 17}, .k = {1, 1},
                    .s = {1, 1}, .d = {1, 1}, .bias = 1};
    run_conv_case(&pw, ONYX_DTYPE_FLOAT, NULL);
    pw.G = 3;
    pw.M = 9;
    run_conv_case(&pw, ONYX_DTYPE_FLOAT, NULL);
    /* depthwise, padded, strided, dilated */
    conv_case dw = {.nd = 2, .N = 2, .C = 4, .M = 4, .G = 4, .in = {17, 33}, .k = {3, 3},
                    .s = {2, 1}, .d = {1, 2}, .pads = {1, 2, 1, 0}, .bias = 1,
                    .give_strides = 1, .give_dilations = 1};
    run_conv_case(&dw, ONYX_DTYPE_FLOAT, NULL);
    dw.nd = 1;
    dw.bias = 0;
    run_conv_case(&dw, ONYX_DTYPE_FLOAT, NULL);
    /* stride larger than the kernel; 1x1 with stride 2 */
    conv_case st = {.nd = 2, .N = 1, .C = 3, .M = 2, .G = 1, .in = {7, 7}, .k = {1, 2},
                    .s = {3, 2}, .d = {1, 1}, .give_strides = 1, .auto_pad = 1};
    run_conv_case(&st, ONYX_DTYPE_FLOAT, NULL);
    st.auto_pad = 2;
    st.k[1] = 1;
    run_conv_case(&st, ONYX_DTYPE_FLOAT, NULL);
    /* larger: more than one GEMM block along every dim */
    conv_case big = {.nd = 2, .N = 1, .C = 40, .M = 100, .G = 1, .in = {33, 33}, .k = {3, 3},
                     .s = {1, 1}, .d = {1, 1}, .pads = {1, 1, 1, 1}, .bias = 1};
    ox_threadpool *pool = ox_threadpool_create(4);
    run_conv_case(&big, ONYX_DTYPE_FLOAT, pool);
    /* 3x3 stride 1 with enough channels and tiles for Winograd (when packed): odd and
     * even output sizes, asymmetric pads, no pads, two images */
    conv_case wino = {.nd = 2, .N = 2, .C = 17, .M = 19, .G = 1, .in = {31, 26}, .k = {3, 3},
                      .s = {1, 1}, .d = {1, 1}, .pads = {0, 1, 2, 0}, .bias = 1};
    run_conv_case(&wino, ONYX_DTYPE_FLOAT, NULL);
    wino.N = 1;
    wino.bias = 0;
    memset(wino.pads, 0, sizeof wino.pads);
    wino.in[0] = 30;
    run_conv_case(&wino, ONYX_DTYPE_FLOAT, pool);
    /* enough channels that im2col runs in several chunks of output rows */
    conv_case chunked = {.nd = 2, .N = 1, .C = 256, .M = 4, .G = 1, .in = {40, 40},
                         .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pads = {1, 1, 1, 1}, .bias = 1};
    run_conv_case(&chunked, ONYX_DTYPE_FLOAT, NULL);
    conv_case chunked3 = {.nd = 3, .N = 2, .C = 64, .M = 3, .G = 1, .in = {8, 10, 12},
                          .k = {3, 3, 3}, .s = {1, 1, 1}, .d = {1, 1, 1},
                          .pads = {1, 1, 1, 1, 1, 1}};
    run_conv_case(&chunked3, ONYX_DTYPE_FLOAT, NULL);
    /* empty batch */
    conv_case empty = {.nd = 1, .N = 0, .C = 2, .M = 2, .G = 1, .in = {7}, .k = {3}, .s = {1},
                       .d = {1}};
    run_conv_case(&empty, ONYX_DTYPE_FLOAT, NULL);
    ox_threadpool_free(pool);
}

TEST(nn_conv_errors) {
    ox_node *n = tn_node("Conv", 2, 1);
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 3, 5, 5});
    ox_tensor W = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 2, 3, 3}); /* channel mismatch */
    ox_tensor W7 = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 7, 7}); /* kernel too big */
    ox_tensor W3 = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 3, 3});    /* rank mismatch */
    ox_tensor X2 = nn_rand(ONYX_DTYPE_FLOAT, 2, (int64_t[]){1, 3});
    ox_tensor Y;
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&X, &W}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&X, &W7}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&X, &W3}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&X2, &W3}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *g = tn_node("Conv", 2, 1);
    tn_int(g, "group", 2); /* 3 channels do not split into 2 groups */
    ox_tensor W1 = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 1, 3, 3});
    CHECK(ox_op_run_single(g, 11, (ox_tensor *[]){&X, &W1}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *p = tn_node("Conv", 2, 1);
    tn_ints(p, "pads", 3, (int64_t[]){1, 1, 1});
    ox_tensor Wok = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){2, 3, 3, 3});
    CHECK(ox_op_run_single(p, 11, (ox_tensor *[]){&X, &Wok}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *a = tn_node("Conv", 2, 1);
    tn_str(a, "auto_pad", "SAME");
    CHECK(ox_op_run_single(a, 11, (ox_tensor *[]){&X, &Wok}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *k = tn_node("Conv", 2, 1);
    tn_ints(k, "kernel_shape", 2, (int64_t[]){3, 2});
    CHECK(ox_op_run_single(k, 11, (ox_tensor *[]){&X, &Wok}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *sn = tn_node("Conv", 2, 1);
    tn_ints(sn, "strides", 2, (int64_t[]){0, 1});
    CHECK(ox_op_run_single(sn, 11, (ox_tensor *[]){&X, &Wok}, 2, &Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor all[] = {X, W, W7, W3, X2, W1, Wok};
    nn_free(all, 7);
}

/* ---- ConvTranspose ------------------------------------------------------------ */

typedef struct convt_case {
    int nd, N, C, M, G; /* M: output channels */
    int64_t in[3], k[3], s[3], d[3], pads[6], opad[3], oshape[3];
    int mode; /* 0 pads, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID, 4 output_shape */
    int bias, give_opad;
} convt_case;

static void run_convt_case(const convt_case *cc, int32_t dt, ox_threadpool *pool) {
    int nd = cc->nd;
    ox_node *n = tn_node("ConvTranspose", cc->bias ? 3 : 2, 1);
    if (cc->G != 1) tn_int(n, "group", cc->G);
    tn_ints(n, "strides", (size_t)nd, cc->s);
    tn_ints(n, "dilations", (size_t)nd, cc->d);
    if (cc->give_opad) tn_ints(n, "output_padding", (size_t)nd, cc->opad);
    if (cc->mode == 0) tn_ints(n, "pads", 2 * (size_t)nd, cc->pads);
    if (cc->mode >= 1 && cc->mode <= 3) tn_str(n, "auto_pad", pad_names[cc->mode]);
    if (cc->mode == 4) tn_ints(n, "output_shape", (size_t)nd, cc->oshape);
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->C, cc->M / cc->G}, yd[5] = {cc->N, cc->M};
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1};
    int64_t o3[3] = {1, 1, 1}, p3[3] = {0, 0, 0};
    for (int i = 0; i < nd; i++) {
        int j = 3 - nd + i;
        xd[2 + i] = in3[j] = cc->in[i];
        wd[2 + i] = k3[j] = cc->k[i];
        s3[j] = cc->s[i];
        d3[j] = cc->d[i];
        int64_t op = cc->give_opad ? cc->opad[i] : 0;
        int64_t full = cc->s[i] * (cc->in[i] - 1) + op + (cc->k[i] - 1) * cc->d[i] + 1;
        if (cc->mode == 0) {
            p3[j] = cc->pads[i];
            o3[j] = full - cc->pads[i] - cc->pads[nd + i];
        } else if (cc->mode == 3) {
            o3[j] = full;
        } else {
            o3[j] = cc->mode == 4 ? cc->oshape[i] : cc->in[i] * cc->s[i];
            int64_t total = full - o3[j];
            int64_t half = (int64_t)floor((double)total / 2.0);
            p3[j] = cc->mode == 1 ? half : total - half;
        }
        yd[2 + i] = o3[j];
    }
    ox_tensor X = nn_rand(dt, 2 + nd, xd), W = nn_rand(dt, 2 + nd, wd);
    ox_tensor B = nn_rand(dt, 1, (int64_t[]){cc->M}), Y;
    size_t osp = (size_t)(o3[0] * o3[1] * o3[2]), isp = (size_t)(in3[0] * in3[1] * in3[2]);
    size_t ksp = (size_t)(k3[0] * k3[1] * k3[2]);
    int Cg = cc->C / cc->G, Mg = cc->M / cc->G;
    size_t total = (size_t)cc->N * (size_t)cc->M * osp;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    for (size_t i = 0; i < total; i++)
        want[i] = cc->bias ? ox_tensor_get_double(&B, i / osp % (size_t)cc->M) : 0.0;
    for (int b = 0; b < cc->N; b++)
        for (int ch = 0; ch < cc->C; ch++)
            for (int mi = 0; mi < Mg; mi++) {
                int m = ch / Cg * Mg + mi;
                for (size_t ii = 0; ii < isp; ii++) {
                    int64_t iz = (int64_t)ii / (in3[1] * in3[2]), iy = (int64_t)ii / in3[2] % in3[1];
                    int64_t ix = (int64_t)ii % in3[2];
                    double xv = ox_tensor_get_double(&X, ((size_t)b * (size_t)cc->C + (size_t)ch) * isp + ii);
                    for (size_t kk = 0; kk < ksp; kk++) {
                        int64_t a = (int64_t)kk / (k3[1] * k3[2]), bb = (int64_t)kk / k3[2] % k3[1];
                        int64_t e = (int64_t)kk % k3[2];
                        int64_t oz = iz * s3[0] - p3[0] + a * d3[0];
                        int64_t oy = iy * s3[1] - p3[1] + bb * d3[1];
                        int64_t ox = ix * s3[2] - p3[2] + e * d3[2];
                        if (oz < 0 || oz >= o3[0] || oy < 0 || oy >= o3[1] || ox < 0 || ox >= o3[2])
                            continue;
                        double wv = ox_tensor_get_double(&W, ((size_t)ch * (size_t)Mg + (size_t)mi) * ksp + kk);
                        want[((size_t)b * (size_t)cc->M + (size_t)m) * osp +
                             (size_t)((oz * o3[1] + oy) * o3[2] + ox)] += xv * wv;
                    }
                }
            }
    ox_tensor *ins[3] = {&X, &W, &B};
    onyx_status s = nn_run(n, 11, ins, cc->bias ? 3 : 2, &Y, 1, pool);
    CHECK(s == ONYX_OK);
    if (s != ONYX_OK) fprintf(stderr, "  convtranspose failed: %s\n", onyx_last_error());
    if (s == ONYX_OK) {
        CHECK(same_dims(&Y, 2 + nd, yd));
        int f = nn_expect(&Y, want, total, dt == ONYX_DTYPE_FLOAT ? 2e-5 : 1e-12, "ConvTranspose");
        if (f)
            fprintf(stderr, "  case nd=%d N=%d C=%d M=%d G=%d mode=%d in=%lld,%lld,%lld "
                    "k=%lld,%lld,%lld s=%lld,%lld,%lld\n", nd, cc->N, cc->C, cc->M, cc->G,
                    cc->mode, (long long)in3[0], (long long)in3[1], (long long)in3[2],
                    (long long)k3[0], (long long)k3[1], (long long)k3[2], (long long)s3[0],
                    (long long)s3[1], (long long)s3[2]);
        ox_test_failures += f;
        ox_tensor_free_data(&Y);
    }
    ox_free(want);
    ox_tensor all[] = {X, W, B};
    nn_free(all, 3);
}

TEST(nn_convtranspose_random) {
    static const int64_t sizes[] = {1, 2, 7, 17};
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int t = 0; t < 160; t++) {
        convt_case cc;
        memset(&cc, 0, sizeof cc);
        cc.nd = 1 + nn_rnd(3);
        cc.N = 1 + nn_rnd(2);
        cc.G = 1 + nn_rnd(3);
        cc.C = cc.G * (1 + nn_rnd(3));
        cc.M = cc.G * (1 + nn_rnd(3));
        cc.mode = nn_rnd(5);
        cc.bias = nn_rnd(2);
        cc.give_opad = nn_rnd(2);
        for (int i = 0; i < cc.nd; i++) {
            cc.in[i] = cc.nd == 3 ? 1 + nn_rnd(5) : sizes[nn_rnd(4)];
            cc.k[i] = 1 + nn_rnd(3);
            cc.s[i] = 1 + nn_rnd(3);
            cc.d[i] = 1 + nn_rnd(2);
            cc.opad[i] = nn_rnd((int)cc.s[i]);
            int64_t op = cc.give_opad ? cc.opad[i] : 0;
            int64_t full = cc.s[i] * (cc.in[i] - 1) + op + (cc.k[i] - 1) * cc.d[i] + 1;
            cc.pads[i] = nn_rnd((int)cc.k[i]);
            cc.pads[cc.nd + i] = nn_rnd((int)cc.k[i]);
            if (cc.pads[i] + cc.pads[cc.nd + i] >= full) cc.pads[i] = cc.pads[cc.nd + i] = 0;
            cc.oshape[i] = full - nn_rnd(2) + nn_rnd(2); /* a little smaller or larger */
            if (cc.oshape[i] < 1) cc.oshape[i] = 1;
        }
        run_convt_case(&cc, t % 3 == 2 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, t % 2 ? pool : NULL);
    }
    ox_threadpool_free(pool);
}

/* ---- float16 / bfloat16 ---------------------------------------------------------- */

#include "util/fp16.h"

/* Round a float tensor's values to the half type in place (so the float32 run sees
 * exactly the representable values), and return the half-typed twin. */
static ox_tensor to_half(ox_tensor *f, int32_t ht) {
    ox_tensor h = tt_make(ht, f->rank, f->dims, NULL);
    float *fd = f->data;
    uint16_t *hd = h.data;
    for (size_t i = 0; i < ox_tensor_count(f); i++) {
        hd[i] = ht == ONYX_DTYPE_FLOAT16 ? ox_f32_to_f16(fd[i]) : ox_f32_to_bf16(fd[i]);
        fd[i] = ht == ONYX_DTYPE_FLOAT16 ? ox_f16_to_f32(hd[i]) : ox_bf16_to_f32(hd[i]);
    }
    return h;
}

/* Run node on float inputs and on their half twins; the half results must be the
 * float results rounded (to within one rounding of the half type). Float outputs
 * past the first n_half stay float (LayerNormalization's statistics). */
static void check_half_n(ox_node *n, int64_t opset, ox_tensor *fin, size_t n_in, size_t n_out,
                         int32_t ht, size_t n_half) {
    ox_tensor hin[6], fo[3], ho[3];
    ox_tensor *fp[6], *hp[6];
    for (size_t i = 0; i < n_in; i++) {
        hin[i] = fin[i].dtype == ONYX_DTYPE_FLOAT ? to_half(&fin[i], ht) : fin[i];
        fp[i] = &fin[i];
        hp[i] = &hin[i];
    }
    onyx_status s1 = nn_run(n, opset, fp, n_in, fo, n_out, NULL);
    onyx_status s2 = nn_run(n, opset, hp, n_in, ho, n_out, NULL);
    CHECK(s1 == ONYX_OK && s2 == ONYX_OK);
    if (s2 != ONYX_OK) fprintf(stderr, "  %s on %s: %s\n", n->op_type, ox_dtype_name(ht), onyx_last_error());
    if (s1 == ONYX_OK && s2 == ONYX_OK) {
        for (size_t o = 0; o < n_out; o++) {
            size_t cnt = ox_tensor_count(&fo[o]);
            CHECK(ho[o].dtype == (fo[o].dtype == ONYX_DTYPE_FLOAT && o < n_half ? ht : fo[o].dtype));
            double *want = ox_malloc_array(cnt + 1, sizeof(double));
            for (size_t i = 0; i < cnt; i++) want[i] = ox_tensor_get_double(&fo[o], i);
            ox_test_failures += nn_expect(&ho[o], want, cnt,
                                          ht == ONYX_DTYPE_FLOAT16 ? 1e-3 : 8e-3, n->op_type);
            ox_free(want);
        }
    }
    if (s1 == ONYX_OK) nn_free(fo, n_out);
    if (s2 == ONYX_OK) nn_free(ho, n_out);
    for (size_t i = 0; i < n_in; i++)
        if (fin[i].dtype == ONYX_DTYPE_FLOAT) nn_free(&hin[i], 1);
}

static void check_half(ox_node *n, int64_t opset, ox_tensor *fin, size_t n_in, size_t n_out,
                       int32_t ht) {
    check_half_n(n, opset, fin, n_in, n_out, ht, n_out);
}

TEST(nn_half_precision_ops) {
    static const int32_t hts[] = {ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16};
    for (int h = 0; h < 2; h++) {
        int32_t ht = hts[h];
        {
            ox_tensor in[2] = {tt_rand(3, (int64_t[]){2, 5, 7}, -1, 1),
                               tt_rand(2, (int64_t[]){7, 3}, -1, 1)};
            check_half(tn_node("MatMul", 2, 1), 13, in, 2, 1, ht);
            nn_free(in, 2);
        }
        {
            ox_node *n = tn_node("Gemm", 3, 1);
            tn_int(n, "transB", 1);
            tn_float(n, "alpha", 0.5f);
            ox_tensor in[3] = {tt_rand(2, (int64_t[]){4, 6}, -1, 1),
                               tt_rand(2, (int64_t[]){5, 6}, -1, 1), tt_rand(1, (int64_t[]){5}, -1, 1)};
            check_half(n, 13, in, 3, 1, ht);
            nn_free(in, 3);
        }
        {
            ox_node *n = tn_node("Conv", 3, 1);
            tn_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
            ox_tensor in[3] = {tt_rand(4, (int64_t[]){1, 3, 7, 6}, -1, 1),
                               tt_rand(4, (int64_t[]){4, 3, 3, 3}, -1, 1), tt_rand(1, (int64_t[]){4}, -1, 1)};
            check_half(n, 11, in, 3, 1, ht);
            nn_free(in, 3);
        }
        {
            ox_node *n = tn_node("ConvTranspose", 2, 1);
            tn_ints(n, "strides", 1, (int64_t[]){2});
            ox_tensor in[2] = {tt_rand(3, (int64_t[]){1, 3, 7}, -1, 1),
                               tt_rand(3, (int64_t[]){3, 2, 3}, -1, 1)};
            check_half(n, 11, in, 2, 1, ht);
            nn_free(in, 2);
        }
        {
            ox_node *n = tn_node("MaxPool", 1, 2);
            tn_ints(n, "kernel_shape", 2, (int64_t[]){2, 2});
            ox_tensor in[1] = {tt_rand(4, (int64_t[]){1, 2, 5, 5}, -1, 1)};
            check_half(n, 12, in, 1, 2, ht);
            ox_node *a = tn_node("AveragePool", 1, 1);
            tn_ints(a, "kernel_shape", 2, (int64_t[]){3, 2});
            check_half(a, 19, in, 1, 1, ht);
            check_half(tn_node("GlobalAveragePool", 1, 1), 1, in, 1, 1, ht);
            ox_node *l = tn_node("LRN", 1, 1);
            tn_int(l, "size", 3);
            check_half(l, 13, in, 1, 1, ht);
            nn_free(in, 1);
        }
        {
            ox_tensor in[5] = {tt_rand(4, (int64_t[]){2, 3, 4, 2}, -1, 1),
                               tt_rand(1, (int64_t[]){3}, -1, 1), tt_rand(1, (int64_t[]){3}, -1, 1),
                               tt_rand(1, (int64_t[]){3}, -1, 1), tt_rand(1, (int64_t[]){3}, 0.5f, 1)};
            check_half(tn_node("BatchNormalization", 5, 1), 15, in, 5, 1, ht);
            check_half(tn_node("InstanceNormalization", 3, 1), 6, in, 3, 1, ht);
            nn_free(in, 5);
        }
        {
            ox_node *n = tn_node("LayerNormalization", 3, 3);
            ox_tensor in[3] = {tt_rand(3, (int64_t[]){2, 3, 8}, -1, 1),
                               tt_rand(1, (int64_t[]){8}, -1, 1), tt_rand(1, (int64_t[]){8}, -1, 1)};
            check_half_n(n, 17, in, 3, 3, ht, 1);
            nn_free(in, 3);
        }
    }
}

/* The float32 Conv paths (packed filters, phase planes, epilogue) on every kernel. */
TEST(nn_conv_every_kernel) {
    static const unsigned limits[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};
    for (int l = 0; l < 3; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (int t = 0; t < 25; t++) {
            conv_case cc = random_conv_case();
            run_conv_case(&cc, ONYX_DTYPE_FLOAT, NULL);
        }
        /* one Winograd case (when packed): odd output sizes, asymmetric pads */
        conv_case wino = {.nd = 2, .N = 1, .C = 16, .M = 17, .G = 1, .in = {29, 35},
                          .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pads = {1, 0, 0, 2}, .bias = 1};
        run_conv_case(&wino, ONYX_DTYPE_FLOAT, NULL);
        /* 64 channels (the accuracy Winograd keeps must hold for real layer
         * widths), several blocks of tile rows, with a pool */
        conv_case wide = {.nd = 2, .N = 1, .C = 64, .M = 32, .G = 1, .in = {28, 28},
                          .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pads = {1, 1, 1, 1}, .bias = 1};
        ox_threadpool *pool = ox_threadpool_create(2);
        run_conv_case(&wide, ONYX_DTYPE_FLOAT, pool);
        wide.in[0] = wide.in[1] = 14;
        run_conv_case(&wide, ONYX_DTYPE_FLOAT, pool);
        /* few tiles: one block, split by output channels (the 14x14 case above
         * too, where that path has the 64 input channels Winograd keeps for itself
         * on AVX-512); many outputs rather than many inputs: F(2x2)'s rounding,
         * about twice the direct sum's, grows with the inputs per output */
        conv_case deep = {.nd = 2, .N = 2, .C = 24, .M = 1400, .G = 1, .in = {12, 12},
                          .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pads = {1, 1, 1, 1}, .bias = 1};
        run_conv_case(&deep, ONYX_DTYPE_FLOAT, pool);
        /* Winograd on every kernel (64 channels on at least 196 tiles): odd and
         * even widths with 0, 1 and 2 columns of left padding (the column planes'
         * edges); no more channels, since the sum's rounding grows with them */
        conv_case edges = {.nd = 2, .N = 1, .C = 64, .M = 19, .G = 1, .in = {28, 29},
                           .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pads = {1, 0, 0, 2}, .bias = 1};
        run_conv_case(&edges, ONYX_DTYPE_FLOAT, pool);
        edges.in[1] = 28;
        memcpy(edges.pads, (int64_t[]){0, 2, 2, 1}, sizeof(int64_t[4]));
        run_conv_case(&edges, ONYX_DTYPE_FLOAT, NULL);
        edges.in[1] = 27;
        memcpy(edges.pads, (int64_t[]){2, 1, 1, 1}, sizeof(int64_t[4]));
        run_conv_case(&edges, ONYX_DTYPE_FLOAT, pool);
        /* 29 tile rows of 23 tiles: blocks of unequal rows (at most 128 tiles each),
         * serial and shared by two threads */
        edges.in[0] = 58;
        edges.in[1] = 45;
        run_conv_case(&edges, ONYX_DTYPE_FLOAT, pool);
        run_conv_case(&edges, ONYX_DTYPE_FLOAT, NULL);
        ox_threadpool_free(pool);
        ox_cpu_limit(old);
    }
}
