/* Dense matrix multiply kernels.
 *
 * All matrices are row-major with explicit leading dimensions (elements between
 * consecutive rows). op(A) is M x K and op(B) is K x N:
 *   op(A)[i][k] = trans_a ? A[k * lda + i] : A[i * lda + k]
 *   op(B)[k][j] = trans_b ? B[j * ldb + k] : B[k * ldb + j]
 * and C (M x N) becomes alpha * op(A) * op(B) + beta * C. When beta is 0, C is
 * only written (NaN or Inf already in C does not leak into the result), as in BLAS.
 * K may be 0 (C becomes beta * C).
 */
#ifndef OX_KERNELS_GEMM_H
#define OX_KERNELS_GEMM_H

#include <stddef.h>

typedef struct ox_threadpool ox_threadpool;

/* The fast path: cache-blocked, packed, register-blocked. pool may be NULL.
 * Never fails: if scratch memory cannot be had, it computes without packing. */
void ox_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc, ox_threadpool *pool);

/* The plain triple loop (double accumulation), for tests and as the fallback. */
void ox_sgemm_ref(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc);

/* y[i] += a * x[i] for i in [0, n): the row update of direct convolutions. */
void ox_saxpy(size_t n, float a, const float *x, float *y);

/* Double precision, same contract; simple loops in a cache-friendly order. */
void ox_dgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
              const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
              size_t ldc, ox_threadpool *pool);

#endif
