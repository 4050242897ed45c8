/* ox_sgemm / ox_dgemm against a plain double-precision triple loop written here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "kernels/gemm_kernel.h"
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

/* ---- the kernel paths (kernels/cpu.h picks AVX-512, AVX2 or the portable one) */

static int have_avx2(void) {
    return (ox_cpu_detected() & (OX_CPU_AVX2 | OX_CPU_FMA)) == (OX_CPU_AVX2 | OX_CPU_FMA);
}

static int have_avx512(void) { return (ox_cpu_detected() & OX_CPU_AVX512) != 0; }

#define AVX2_ONLY (OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C)

/* ox_sgemm against ox_sgemm_ref; the tolerance scales with |alpha| * (|op(A)| |op(B|)
 * + |beta C|, computed by the reference on absolute values, so a single dropped or
 * misplaced term (~|a||b|) is far above it. Padding on every matrix; C's pad cells
 * and, for beta == 0, NaN poison in C must not matter. Returns failures. */
static int check_vs_ref(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta,
                        ox_threadpool *pool, const char *path) {
    size_t pad = 5;
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    size_t na = ar * lda, nb = br * ldb, ncf = M * ldc;
    float *A = rand_buf(na), *B = rand_buf(nb), *C = rand_buf(ncf);
    float *want = ox_malloc_array(ncf, sizeof(float)), *bound = ox_malloc_array(ncf, sizeof(float));
    float *absA = ox_malloc_array(na + 1, sizeof(float)), *absB = ox_malloc_array(nb + 1, sizeof(float));
    for (size_t i = 0; i < na; i++) absA[i] = fabsf(A[i]);
    for (size_t i = 0; i < nb; i++) absB[i] = fabsf(B[i]);
    for (size_t i = 0; i < ncf; i++) bound[i] = fabsf(C[i]);
    memcpy(want, C, ncf * sizeof(float));
    ox_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, want, ldc);
    ox_sgemm_ref(ta, tb, M, N, K, fabsf(alpha), absA, lda, absB, ldb, fabsf(beta), bound, ldc);
    if (beta == 0.0f)
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) C[i * ldc + j] = NAN;
    float *keep = ox_malloc_array(ncf, sizeof(float));
    memcpy(keep, C, ncf * sizeof(float));
    ox_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
    int fails = 0;
    for (size_t i = 0; i < M && fails < 5; i++)
        for (size_t j = 0; j < ldc && fails < 5; j++) {
            size_t at = i * ldc + j;
            if (j >= N) { /* padding: untouched */
                if (memcmp(&C[at], &keep[at], sizeof(float)) != 0) {
                    fprintf(stderr, "  sgemm[%s] wrote pad cell C[%zu][%zu]\n", path, i, j);
                    fails++;
                }
                continue;
            }
            double tol = 2e-6 * (1.0 + (double)K) * (double)bound[at] + 1e-30;
            if (!(fabs((double)C[at] - (double)want[at]) <= tol)) {
                fprintf(stderr, "  sgemm[%s] ta=%d tb=%d %zux%zux%zu a=%g b=%g: C[%zu][%zu] = %.9g, "
                        "expected %.9g\n", path, ta, tb, M, N, K, alpha, beta, i, j, C[at], want[at]);
                fails++;
            }
        }
    ox_free(A);
    ox_free(B);
    ox_free(C);
    ox_free(want);
    ox_free(bound);
    ox_free(absA);
    ox_free(absB);
    ox_free(keep);
    return fails;
}

static const float alphas[4] = {1.0f, 1.0f, 0.5f, -1.5f};
static const float betas[4] = {0.0f, 1.0f, -2.0f, 0.0f};

/* Odd sizes around the 12 x 32 (AVX-512), 6 x 16 (AVX2) and 6 x 8 (portable) tiles and the cache
 * blocks, every transpose and alpha/beta case, on the current path. M <= 6 reads
 * B in place (no packing) where B is not transposed. */
static int sweep_paths(const char *path, ox_threadpool *pool) {
    static const size_t small[] = {1, 7, 17, 33};
    static const size_t big[][3] = {{255, 257, 33}, {257, 33, 255}, {33, 255, 257},
                                    {257, 255, 17}, {7, 257, 255}, {255, 1, 257},
                                    {1, 255, 257}, {257, 257, 257}, {2, 257, 255},
                                    {6, 33, 257}};
    int fails = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int ab = 0; ab < 4; ab++)
                for (size_t m = 0; m < 4; m++)
                    for (size_t n = 0; n < 4; n++)
                        for (size_t k = 0; k < 4; k++)
                            fails += check_vs_ref(ta, tb, small[m], small[n], small[k], alphas[ab],
                                                  betas[ab], pool, path);
            for (size_t t = 0; t < sizeof big / sizeof big[0]; t++) {
                int ab = (int)(t + (size_t)(2 * ta + tb)) % 4;
                fails += check_vs_ref(ta, tb, big[t][0], big[t][1], big[t][2], alphas[ab],
                                      betas[ab], pool, path);
            }
        }
    return fails;
}

TEST(gemm_sgemm_avx512_vs_ref) {
    if (!have_avx512()) {
        fprintf(stderr, "  (no AVX-512 on this processor: its path is not tested)\n");
        return;
    }
    unsigned old = ox_cpu_limit(~0u);
    CHECK(strcmp(ox_sgemm_kernel_name(), "avx512") == 0);
    ox_test_failures += sweep_paths("avx512", NULL);
    ox_cpu_limit(old);
}

TEST(gemm_sgemm_avx2_vs_ref) {
    if (!have_avx2()) {
        fprintf(stderr, "  (no AVX2+FMA on this processor: only the generic path is tested)\n");
        return;
    }
    unsigned old = ox_cpu_limit(AVX2_ONLY);
    CHECK(strcmp(ox_sgemm_kernel_name(), "avx2") == 0);
    ox_test_failures += sweep_paths("avx2", NULL);
    ox_cpu_limit(old);
}

TEST(gemm_sgemm_generic_forced_vs_ref) {
    unsigned old = ox_cpu_limit(0);
    CHECK(ox_cpu_features() == 0);
    CHECK(!ox_cpu_has(OX_CPU_AVX2));
    CHECK(strcmp(ox_sgemm_kernel_name(), "generic") == 0);
    ox_test_failures += sweep_paths("generic", NULL);
    ox_cpu_limit(old);
}

/* The kernel paths the tests sweep, by index: 0 AVX-512, 1 AVX2, 2 portable. */
static const char *const path_names[3] = {"avx512", "avx2", "generic"};

/* Limits the processor's features to path `path` (saving the old limit in *old);
 * 0 where this processor lacks that path. */
static int use_path(int path, unsigned *old) {
    if ((path == 0 && !have_avx512()) || (path == 1 && !have_avx2())) return 0;
    *old = ox_cpu_limit(path == 0 ? ~0u : path == 1 ? AVX2_ONLY : 0u);
    return 1;
}

/* Both paths on a pool: the task grid follows each kernel's tile size. */
TEST(gemm_sgemm_paths_threaded) {
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int path = 0; path < 3; path++) {
        unsigned old;
        if (!use_path(path, &old)) continue;
        const char *name = path_names[path];
        ox_test_failures += check_vs_ref(0, 0, 257, 255, 300, 1.0f, 0.0f, pool, name);
        ox_test_failures += check_vs_ref(1, 1, 130, 97, 65, -1.0f, 0.5f, pool, name);
        ox_test_failures += check_vs_ref(0, 1, 33, 530, 17, 2.0f, 1.0f, pool, name);
        ox_test_failures += check_vs_ref(1, 0, 600, 40, 9, 1.0f, 0.0f, pool, name);
        ox_cpu_limit(old);
    }
    ox_threadpool_free(pool);
}

/* The packing routines of every kernel against the layout gemm_kernel.h defines,
 * exactly (lanes past the edge must be zero), then one ragged tile. */
static void check_kernel(const ox_sgemm_kernel *kr, const char *name) {
    size_t M = 2 * kr->mr + 3, N = 2 * kr->nr + 5, K = 21, pad = 3;
    for (int t = 0; t < 2; t++) {
        size_t lda = (t ? M : K) + pad, ldb = (t ? K : N) + pad;
        float *A = rand_buf((t ? K : M) * lda), *B = rand_buf((t ? N : K) * ldb);
        size_t i0 = 1, mc = M - 1, p0 = 2, kc = K - 2, j0 = 3, nc = N - 3;
        size_t sa = (mc + kr->mr - 1) / kr->mr, sb = (nc + kr->nr - 1) / kr->nr;
        float *pa = ox_malloc_array(sa * kr->mr * kc, sizeof(float));
        float *pb = ox_malloc_array(sb * kr->nr * kc, sizeof(float));
        kr->pack_a(t, A, lda, i0, mc, p0, kc, pa);
        kr->pack_b(t, B, ldb, p0, kc, j0, nc, pb);
        int bad = 0;
        for (size_t s = 0; s < sa; s++)
            for (size_t p = 0; p < kc; p++)
                for (size_t r = 0; r < kr->mr; r++) {
                    size_t i = s * kr->mr + r;
                    float w = i < mc ? (float)opa(A, lda, t, i0 + i, p0 + p) : 0.0f;
                    bad += pa[(s * kc + p) * kr->mr + r] != w;
                }
        for (size_t s = 0; s < sb; s++)
            for (size_t p = 0; p < kc; p++)
                for (size_t c = 0; c < kr->nr; c++) {
                    size_t j = s * kr->nr + c;
                    float w = j < nc ? (float)opb(B, ldb, t, p0 + p, j0 + j) : 0.0f;
                    bad += pb[(s * kc + p) * kr->nr + c] != w;
                }
        if (bad) fprintf(stderr, "  %s packing (transposed=%d): %d wrong values\n", name, t, bad);
        CHECK(bad == 0);
        /* the last (ragged) strips: C rows x cols = 2 * a * b - C */
        size_t rows = mc - (sa - 1) * kr->mr, cols = nc - (sb - 1) * kr->nr, ldc = cols + 2;
        float *C = rand_buf(rows * ldc), *C0 = ox_malloc_array(rows * ldc, sizeof(float));
        memcpy(C0, C, rows * ldc * sizeof(float));
        const float *as = pa + (sa - 1) * kc * kr->mr, *bs = pb + (sb - 1) * kc * kr->nr;
        kr->tile(kc, as, bs, kr->nr, C, ldc, rows, cols, 2.0f, -1.0f);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < ldc; j++) {
                double s = 0;
                for (size_t p = 0; p < kc; p++) s += (double)as[p * kr->mr + i] * bs[p * kr->nr + j % kr->nr];
                double w = j < cols ? 2.0 * s - C0[i * ldc + j] : C0[i * ldc + j];
                CHECK_NEAR(C[i * ldc + j], w, 1e-5);
            }
        ox_free(A);
        ox_free(B);
        ox_free(pa);
        ox_free(pb);
        ox_free(C);
        ox_free(C0);
    }
}

/* Every tile shape the kernel may get (rows 1..mr, cols 1..nr), each beta case,
 * straight from random packed strips. */
static void check_tile_shapes(const ox_sgemm_kernel *kr, const char *name) {
    size_t kc = 13, ldc = kr->nr + 3;
    float *a = rand_buf(kc * kr->mr), *b = rand_buf(kc * kr->nr);
    float *C = ox_malloc_array(kr->mr * ldc, sizeof(float)), *C0 = rand_buf(kr->mr * ldc);
    static const float betas_t[3] = {0.0f, 1.0f, 0.25f};
    for (size_t rows = 1; rows <= kr->mr; rows++)
        for (size_t cols = 1; cols <= kr->nr; cols++)
            for (int bi = 0; bi < 3; bi++) {
                float beta = betas_t[bi];
                memcpy(C, C0, kr->mr * ldc * sizeof(float));
                if (beta == 0.0f)
                    for (size_t i = 0; i < rows; i++)
                        for (size_t j = 0; j < cols; j++) C[i * ldc + j] = NAN;
                kr->tile(kc, a, b, kr->nr, C, ldc, rows, cols, -0.5f, beta);
                int bad = 0;
                for (size_t i = 0; i < kr->mr; i++)
                    for (size_t j = 0; j < ldc; j++) {
                        double w = C0[i * ldc + j];
                        if (i < rows && j < cols) {
                            double s = 0;
                            for (size_t p = 0; p < kc; p++) s += (double)a[p * kr->mr + i] * b[p * kr->nr + j];
                            w = -0.5 * s + (beta != 0.0f ? beta * w : 0.0);
                        }
                        bad += !(fabs(C[i * ldc + j] - w) <= 1e-5);
                    }
                if (bad) fprintf(stderr, "  %s tile %zux%zu beta=%g: %d wrong\n", name, rows, cols, beta, bad);
                CHECK(bad == 0);
            }
    ox_free(a);
    ox_free(b);
    ox_free(C);
    ox_free(C0);
}

TEST(gemm_kernel_packing_and_tile) {
    if (have_avx2()) {
        check_kernel(&ox_sgemm_kernel_avx2, "avx2");
        check_tile_shapes(&ox_sgemm_kernel_avx2, "avx2");
    }
    if (have_avx512()) {
        check_kernel(&ox_sgemm_kernel_avx512, "avx512");
        check_tile_shapes(&ox_sgemm_kernel_avx512, "avx512");
    }
}

TEST(gemm_cpu_limit) {
    unsigned det = ox_cpu_detected();
    unsigned old = ox_cpu_limit(OX_CPU_F16C);
    CHECK(ox_cpu_features() == (det & OX_CPU_F16C));
    CHECK(ox_cpu_limit(old) == OX_CPU_F16C);
    CHECK(ox_cpu_features() == (det & old));
    /* features never claim what the processor lacks */
    CHECK((ox_cpu_features() & ~det) == 0);
}

/* A grid that splits N (M) over tasks, with A (B) not packed: each thread packs its
 * rows of A (columns of B) for all of K once and keeps them for its next task on the
 * same ones. Several K slices; threads whose tasks cover more than one row block
 * (190 x 100 on 3 threads: a thread's tasks span two row blocks) must pack again;
 * every path and transpose. 1008 x 169 and 600 x 100 split M into parts of more
 * than one row block (B kept). */
TEST(gemm_sgemm_threaded_kept_panels) {
    static const size_t sizes[][3] = {{64, 1000, 784}, {190, 100, 600}, {13, 700, 300},
                                      {150, 300, 520}, {1008, 169, 512}, {600, 100, 700}};
    for (int threads = 2; threads <= 3; threads++) {
        ox_threadpool *pool = ox_threadpool_create(threads);
        for (int path = 0; path < 3; path++) {
            unsigned old;
            if (!use_path(path, &old)) continue;
            for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
                for (int ta = 0; ta < 2; ta++)
                    ox_test_failures +=
                        check_vs_ref(ta, (int)t % 2, sizes[t][0], sizes[t][1], sizes[t][2],
                                     alphas[t % 4], betas[t % 4], pool, path_names[path]);
            ox_cpu_limit(old);
        }
        ox_threadpool_free(pool);
    }
}

/* One row block with a large C goes through B a chunk of column strips at a time
 * (gemm.c, CHUNK_MIN_C_BYTES): chunks with a partial last strip, B in place (few
 * rows of A) and packed, several K slices, alone and on a pool; every path. */
TEST(gemm_sgemm_chunked_b) {
    static const size_t sizes[][3] = {{96, 1500, 16}, {13, 12000, 24}, {190, 700, 40},
                                      {150, 1000, 300}};
    ox_threadpool *pool = ox_threadpool_create(2);
    for (int path = 0; path < 3; path++) {
        unsigned old;
        if (!use_path(path, &old)) continue;
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
            for (int tb = 0; tb < 2; tb++)
                ox_test_failures += check_vs_ref((int)t % 2, tb, sizes[t][0], sizes[t][1],
                                                 sizes[t][2], alphas[(t + (size_t)tb) % 4],
                                                 betas[(t + (size_t)tb) % 4],
                                                 t % 2 ? pool : NULL, path_names[path]);
        ox_cpu_limit(old);
    }
    ox_threadpool_free(pool);
}

/* ---- ox_sgemm_run: packed operands, a strip packer, an epilogue --------------- */

typedef struct plain_b {
    const float *B;
    size_t ldb;
    int tb;
} plain_b;

/* A packer written from the contract in gemm.h, over a plain matrix. */
static void test_packer(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc, size_t nr,
                        float *dst) {
    const plain_b *b = ctx;
    size_t strips = (nc + nr - 1) / nr;
    for (size_t s = 0; s < strips; s++)
        for (size_t p = 0; p < kc; p++)
            for (size_t c = 0; c < nr; c++) {
                size_t j = s * nr + c;
                dst[(s * kc + p) * nr + c] =
                    j < nc ? (float)opb(b->B, b->ldb, b->tb, p0 + p, j0 + j) : 0.0f;
            }
}

typedef struct row_bias {
    const float *bias;
    float *C;
    size_t ldc;
    int calls_ok;
} row_bias;

/* adds bias[i] to row i, and checks it is handed the block it claims */
static void test_epilogue(const void *ctx, float *c, size_t ldc, size_t i0, size_t rows, size_t j0,
                          size_t cols) {
    const row_bias *e = ctx;
    if (c != e->C + i0 * e->ldc + j0 || ldc != e->ldc) ((row_bias *)e)->calls_ok = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) c[i * ldc + j] += e->bias[i0 + i];
}

/* mode bits: 1 packed A, 2 packed B, 4 B from the packer, 8 row bias, residual and
 * clamp. With both packed B is given too (a B packed for a plain A may have deeper K
 * slices than a packed A's; the product then reads B itself). */
static void check_run(int ta, int tb, size_t M, size_t N, size_t K, int mode, ox_threadpool *pool,
                      const char *path) {
    size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
    float *A = rand_buf((ta ? K : M) * lda), *B = rand_buf((tb ? N : K) * ldb);
    float *C = rand_buf(M * ldc), *want = ox_malloc_array(M * ldc, sizeof(float));
    float *bias = rand_buf(M), *rbias = rand_buf(M), *res = rand_buf(M * ldc);
    const float lo = -0.3f, hi = 0.4f;
    memcpy(want, C, M * ldc * sizeof(float));
    ox_sgemm_ref(ta, tb, M, N, K, 1.5f, A, lda, B, ldb, 0.5f, want, ldc);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float v = want[i * ldc + j];
            if (mode & 8) {
                v += rbias[i];
                v += res[i * ldc + j];
                v = v < lo ? lo : v > hi ? hi : v;
            }
            want[i * ldc + j] = v + bias[i];
        }
    ox_sgemm_packed *pa = mode & 1 ? ox_sgemm_pack(0, ta, M, K, A, lda) : NULL;
    ox_sgemm_packed *pb = mode & 2 ? ox_sgemm_pack(1, tb, K, N, B, ldb) : NULL;
    plain_b src = {.B = B, .ldb = ldb, .tb = tb};
    row_bias ep = {.bias = bias, .C = C, .ldc = ldc, .calls_ok = 1};
    ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = 1.5f, .beta = 0.5f, .pa = pa,
                          .trans_a = ta, .A = mode & 1 ? NULL : A, .lda = lda, .pb = pb,
                          .trans_b = tb, .B = mode & 4 || (mode & 3) == 2 ? NULL : B, .ldb = ldb, .C = C,
                          .ldc = ldc, .epilogue = test_epilogue, .ep_ctx = &ep};
    if (mode & 8) {
        call.row_bias = rbias;
        call.residual = res;
        call.row_clamp = 1;
        call.row_lo = lo;
        call.row_hi = hi;
    }
    if (mode & 4) {
        call.b_packer = test_packer;
        call.b_ctx = &src;
    }
    CHECK(ox_sgemm_run(&call, pool) == 0);
    CHECK(ep.calls_ok);
    int bad = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double d = fabs((double)C[i * ldc + j] - (double)want[i * ldc + j]);
            bad += !(d <= 1e-4 * (1.0 + (double)K));
        }
    if (bad)
        fprintf(stderr, "  sgemm_run[%s] mode %d ta=%d tb=%d %zux%zux%zu: %d wrong\n", path, mode,
                ta, tb, M, N, K, bad);
    CHECK(bad == 0);
    ox_sgemm_packed_free(pa);
    ox_sgemm_packed_free(pb);
    ox_free(A);
    ox_free(B);
    ox_free(C);
    ox_free(want);
    ox_free(bias);
    ox_free(rbias);
    ox_free(res);
}

TEST(gemm_sgemm_run_packed_packer_epilogue) {
    /* column tails of every narrow width (3, 4, 16 + 3, 16 + 4: 196 = 6 * 32 + 4) */
    static const size_t sizes[][3] = {{1, 7, 17},    {7, 1, 33},   {17, 33, 1},  {33, 255, 257},
                                      {257, 17, 300}, {13, 40, 9},  {200, 70, 513},
                                      {12, 196, 40},  {25, 3, 20},  {13, 51, 9},  {30, 20, 33}};
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int path = 0; path < 3; path++) {
        unsigned old;
        if (!use_path(path, &old)) continue;
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
            for (int mode = 0; mode < 16; mode++) {
                if ((mode & 6) == 6) continue; /* packed B wins over the packer: same as 2 */
                int ta = (int)(t + (size_t)mode) % 2, tb = (int)(t / 2 + (size_t)mode) % 2;
                check_run(ta, tb, sizes[t][0], sizes[t][1], sizes[t][2], mode,
                          t % 2 ? pool : NULL, path_names[path]);
            }
        ox_cpu_limit(old);
    }
    ox_threadpool_free(pool);
}

/* The chunked B of one row block (gemm_sgemm_chunked_b) through ox_sgemm_run: strips
 * from a packer, a packed A, the row bias and clamp, the epilogue on every tile. */
TEST(gemm_sgemm_run_chunked_b) {
    static const size_t sizes[][3] = {{96, 1500, 16}, {13, 12000, 24}, {190, 700, 40}};
    static const int modes[4] = {4 | 1, 4 | 8, 1 | 8, 0};
    for (int path = 0; path < 3; path++) {
        unsigned old;
        if (!use_path(path, &old)) continue;
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
            for (int m = 0; m < 4; m++)
                check_run((int)t % 2, m % 2, sizes[t][0], sizes[t][1], sizes[t][2], modes[m],
                          NULL, path_names[path]);
        ox_cpu_limit(old);
    }
}

/* Many rows, few columns, on a pool: B is packed once by all threads into shared
 * slices (several K slices, a partial last strip) and the tasks split the rows;
 * with the row bias and clamp too. */
TEST(gemm_sgemm_run_shared_b_threaded) {
    static const size_t sizes[][3] = {{600, 49, 700}, {300, 17, 257}, {97, 33, 1030}};
    for (int threads = 2; threads <= 3; threads++) {
        ox_threadpool *pool = ox_threadpool_create(threads);
        for (int path = 0; path < 3; path++) {
            unsigned old;
            if (!use_path(path, &old)) continue;
            for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
                for (int mode = 0; mode < 16; mode++) /* plain B or the packer */
                    if (!(mode & 2))
                        check_run((int)t % 2, (mode / 4) % 2, sizes[t][0], sizes[t][1],
                                  sizes[t][2], mode, pool, path_names[path]);
            ox_cpu_limit(old);
        }
        ox_threadpool_free(pool);
    }
}

/* Rows split by the caller (ox_sgemm_call.row_begin/row_end), each part computed
 * alone with a shared packed A, add up to the whole product; a misaligned start with
 * a packed A is refused. */
TEST(gemm_sgemm_run_row_parts) {
    static const size_t sizes[][3] = {{100, 49, 70}, {37, 17, 300}, {13, 1, 5}, {25, 33, 0}};
    for (int path = 0; path < 3; path++) {
        unsigned old;
        if (!use_path(path, &old)) continue;
        size_t unit = ox_sgemm_row_unit();
        for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
            size_t M = sizes[t][0], N = sizes[t][1], K = sizes[t][2];
            float *A = rand_buf(M * K + 1), *B = rand_buf(K * N + 1), *bias = rand_buf(M);
            float *C = rand_buf(M * N), *W = ox_malloc_array(M * N, sizeof(float));
            memcpy(W, C, M * N * sizeof(float));
            ox_sgemm_ref(0, 0, M, N, K, 1.0f, A, K, B, N, 0.5f, W, N);
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++) W[i * N + j] += bias[i];
            ox_sgemm_packed *pa = K ? ox_sgemm_pack(0, 0, M, K, A, K) : NULL;
            for (int packed = 0; packed < 2; packed++) {
                float *Cp = ox_malloc_array(M * N, sizeof(float));
                memcpy(Cp, C, M * N * sizeof(float));
                for (size_t r0 = 0; r0 < M; r0 += 2 * unit) {
                    size_t r1 = r0 + 2 * unit < M ? r0 + 2 * unit : M;
                    ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.5f,
                                          .pa = packed ? pa : NULL, .A = packed && pa ? NULL : A,
                                          .lda = K, .B = B, .ldb = N, .C = Cp, .ldc = N,
                                          .row_bias = bias, .row_begin = r0, .row_end = r1};
                    CHECK(ox_sgemm_run(&call, NULL) == 0);
                }
                int bad = 0;
                for (size_t i = 0; i < M * N; i++)
                    bad += !(fabs((double)Cp[i] - (double)W[i]) <= 1e-4 * (1.0 + (double)K));
                if (bad)
                    fprintf(stderr, "  row parts [%s] %zux%zux%zu packed %d: %d wrong\n",
                            path_names[path], M, N, K, packed, bad);
                CHECK(bad == 0);
                ox_free(Cp);
            }
            if (pa && unit > 1) {
                ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = 1.0f, .pa = pa, .B = B,
                                      .ldb = N, .C = C, .ldc = N, .row_begin = 1, .row_end = M};
                CHECK(ox_sgemm_run(&call, NULL) == -1);
            }
            ox_sgemm_packed_free(pa);
            ox_free(A);
            ox_free(B);
            ox_free(bias);
            ox_free(C);
            ox_free(W);
        }
        ox_cpu_limit(old);
    }
}

/* A packing made for one kernel is ignored under another: the plain operand is used. */
TEST(gemm_packed_other_kernel_falls_back) {
    /* (with ONYX_CPU=generic the packing is the portable kernel's already) */
    if (!have_avx2() || !strcmp(ox_sgemm_kernel_name(), "generic")) return;
    size_t M = 20, N = 30, K = 40;
    float *A = rand_buf(M * K), *B = rand_buf(K * N), *C = rand_buf(M * N), *W = rand_buf(M * N);
    ox_sgemm_ref(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, W, N);
    ox_sgemm_packed *pa = ox_sgemm_pack(0, 0, M, K, A, K); /* the best kernel's layout */
    unsigned old = ox_cpu_limit(0);
    ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = 1.0f, .pa = pa, .A = A, .lda = K,
                          .B = B, .ldb = N, .C = C, .ldc = N};
    CHECK(ox_sgemm_run(&call, NULL) == 0);
    for (size_t i = 0; i < M * N; i++) CHECK_NEAR(C[i], W[i], 1e-4);
    call.A = NULL; /* and without a plain operand it says so */
    CHECK(ox_sgemm_run(&call, NULL) != 0);
    ox_cpu_limit(old);
    ox_sgemm_packed_free(pa);
    ox_free(A);
    ox_free(B);
    ox_free(C);
    ox_free(W);
}
