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
#include <stdint.h>

typedef struct ox_threadpool ox_threadpool;

/* The fast path: cache-blocked, packed, register-blocked. pool may be NULL.
 * Never fails: if scratch memory cannot be had, it computes without packing. */
void ox_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc, ox_threadpool *pool);

/* Which micro-kernel ox_sgemm runs now: "avx512", "avx2" or "generic" (kernels/cpu.h decides). */
const char *ox_sgemm_kernel_name(void);

/* The plain triple loop (double accumulation), for tests and as the fallback. */
void ox_sgemm_ref(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc);

/* Exact integer products through the float kernel: A and B hold integers of
 * magnitude <= 255 stored as floats (zero points already subtracted), so every
 * partial sum over a K slice of 256 is an integer below 2^24 and exact in float.
 * C (int32, M x N, row stride ldc) += A * B, summed slice by slice with 32-bit
 * wrap-around. tmp is scratch for M*N floats. */
void ox_gemm_int_exact(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                       size_t ldb, int32_t *C, size_t ldc, float *tmp, ox_threadpool *pool);

/* y[i] += a * x[i] for i in [0, n): the row update of direct convolutions. */
void ox_saxpy(size_t n, float a, const float *x, float *y);

/* Double precision, same contract; simple loops in a cache-friendly order. */
void ox_dgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
              const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
              size_t ldc, ox_threadpool *pool);

#endif
