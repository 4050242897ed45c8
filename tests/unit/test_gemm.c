/* ox_sgemm / ox_dgemm against a plain double-precision triple loop written here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "nodes.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static double opa(const float *A, size_t lda, int ta, size_t i, size_t k) {
    return ta ? A[k * lda + i] : A[i * lda + k];
}
static double opb(const float *B, size_t ldb, int tb, size_t k, size_t j) {
    return tb ? B[j * ldb + k] : B[k * ldb + j];
}

static float *rand_buf(size_t n) {
    float *p = ox_malloc_array(n ? n : 1, sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = tt_randf() * 2.0f - 1.0f;
    return p;
}

/* One product with padding columns (ld > width) on every matrix. Returns failures. */
static int check_sgemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta,
                       ox_threadpool *pool) {
    size_t pad = 3;
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = rand_buf(ar * lda), *B = rand_buf(br * ldb), *C = rand_buf(M * ldc);
    double *want = ox_malloc_array(M * N + 1, sizeof(double));
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) s += opa(A, lda, ta, i, k) * opb(B, ldb, tb, k, j);
            want[i * N + j] = alpha * s + (beta != 0.0f ? beta * C[i * ldc + j] : 0.0);
        }
    /* beta == 0 must not read C: poison it */
    if (beta == 0.0f)
        for (size_t i = 0; i < M * ldc; i++) C[i] = NAN;
    float *padv = ox_malloc_array(M + 1, sizeof(float));
    for (size_t i = 0; i < M; i++) padv[i] = C[i * ldc + N]; /* a pad cell must stay */
    ox_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
    int fails = 0;
    for (size_t i = 0; i < M && fails < 5; i++) {
        for (size_t j = 0; j < N && fails < 5; j++) {
            double got = C[i * ldc + j], w = want[i * N + j];
            if (!(fabs(got - w) <= 1e-4 * (1.0 + sqrt((double)K)) + 1e-5 * fabs(w))) {
                fprintf(stderr, "  sgemm ta=%d tb=%d %zux%zux%zu a=%g b=%g: C[%zu][%zu] = %g, "
                        "expected %g\n", ta, tb, M, N, K, alpha, beta, i, j, got, w);
                fails++;
            }
        }
        float pv = C[i * ldc + N];
        if (memcmp(&pv, &padv[i], sizeof pv) != 0) {
            fprintf(stderr, "  sgemm wrote outside C (row %zu)\n", i);
            fails++;
        }
    }
    ox_free(A);
    ox_free(B);
    ox_free(C);
    ox_free(want);
    ox_free(padv);
    return fails;
}

TEST(gemm_sgemm_odd_sizes_all_transposes) {
    static const size_t sizes[] = {1, 2, 5, 7, 8, 13, 17, 33};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t a = 0; a < 8; a++)
                for (size_t b = 0; b < 8; b += 2)
                    for (size_t k = 0; k < 8; k += 3)
                        ox_test_failures += check_sgemm(ta, tb, sizes[a], sizes[(b + a) % 8],
                                                        sizes[k], 1.0f, 0.0f, NULL);
}

TEST(gemm_sgemm_alpha_beta) {
    ox_test_failures += check_sgemm(0, 0, 9, 11, 7, 0.5f, 2.0f, NULL);
    ox_test_failures += check_sgemm(1, 0, 9, 11, 7, -1.5f, 1.0f, NULL);
    ox_test_failures += check_sgemm(0, 1, 1, 37, 19, 2.0f, -0.5f, NULL);  /* row vector */
    ox_test_failures += check_sgemm(1, 1, 41, 1, 23, 1.0f, 3.0f, NULL);   /* column vector */
    ox_test_failures += check_sgemm(0, 0, 1, 1, 1, 0.0f, 1.0f, NULL);
    ox_test_failures += check_sgemm(0, 0, 6, 8, 0, 1.0f, 0.5f, NULL);     /* K = 0 */
    ox_test_failures += check_sgemm(0, 0, 6, 8, 0, 1.0f, 0.0f, NULL);
}

TEST(gemm_sgemm_blocking_edges) {
    /* sizes that cross the MC / NC / KC block boundaries and ragged tiles */
    ox_test_failures += check_sgemm(0, 0, 97, 515, 257, 1.0f, 0.0f, NULL);
    ox_test_failures += check_sgemm(1, 1, 193, 130, 513, 1.0f, 1.0f, NULL);
    ox_test_failures += check_sgemm(0, 1, 100, 1, 600, 1.0f, 0.0f, NULL);
    ox_test_failures += check_sgemm(1, 0, 1, 700, 300, 1.0f, 0.0f, NULL);
}

TEST(gemm_sgemm_threaded) {
    ox_threadpool *pool = ox_threadpool_create(4);
    ox_test_failures += check_sgemm(0, 0, 64, 200, 70, 1.0f, 0.0f, pool);
    ox_test_failures += check_sgemm(1, 1, 131, 67, 129, 0.5f, 1.0f, pool);
    ox_test_failures += check_sgemm(0, 1, 7, 999, 33, 1.0f, 0.0f, pool);
    ox_test_failures += check_sgemm(1, 0, 1, 5000, 17, 1.0f, 0.0f, pool);
    ox_test_failures += check_sgemm(0, 0, 3000, 1, 17, 1.0f, 2.0f, pool);
    ox_threadpool_free(pool);
}

TEST(gemm_sgemm_ref_matches_loop) {
    size_t M = 5, N = 3, K = 4;
    float *A = rand_buf(M * K), *B = rand_buf(N * K), *C = rand_buf(M * N);
    float *C0 = ox_malloc_array(M * N, sizeof(float));
    memcpy(C0, C, M * N * sizeof(float));
    ox_sgemm_ref(0, 1, M, N, K, 2.0f, A, K, B, K, 0.5f, C, N);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) s += (double)A[i * K + k] * B[j * K + k];
            CHECK_NEAR(C[i * N + j], 2.0 * s + 0.5 * C0[i * N + j], 1e-5);
        }
    ox_free(A);
    ox_free(B);
    ox_free(C);
    ox_free(C0);
}

TEST(gemm_dgemm_transposes) {
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            size_t M = 17, N = 33, K = 7;
            double *A = ox_malloc_array(M * K, sizeof(double));
            double *B = ox_malloc_array(K * N, sizeof(double));
            double *C = ox_malloc_array(M * N, sizeof(double));
            for (size_t i = 0; i < M * K; i++) A[i] = tt_randf() - 0.5;
            for (size_t i = 0; i < K * N; i++) B[i] = tt_randf() - 0.5;
            for (size_t i = 0; i < M * N; i++) C[i] = tt_randf();
            double *C0 = ox_malloc_array(M * N, sizeof(double));
            memcpy(C0, C, M * N * sizeof(double));
            size_t lda = ta ? M : K, ldb = tb ? K : N;
            ox_dgemm(ta, tb, M, N, K, 1.5, A, lda, B, ldb, -1.0, C, N, ta ? pool : NULL);
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++) {
                    double s = 0;
                    for (size_t k = 0; k < K; k++)
                        s += (ta ? A[k * lda + i] : A[i * lda + k]) *
                             (tb ? B[j * ldb + k] : B[k * ldb + j]);
                    CHECK_NEAR(C[i * N + j], 1.5 * s - C0[i * N + j], 1e-12);
                }
            ox_free(A);
            ox_free(B);
            ox_free(C);
            ox_free(C0);
        }
    ox_threadpool_free(pool);
}
