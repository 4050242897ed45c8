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

/* ---- the general entry: packed operands, a strip source, an epilogue ---------
 *
 * Constant weights are packed once (ox_sgemm_pack) into the layout the micro-kernel
 * reads, so a product with them skips that step. op(B) may also come from a packer
 * callback that writes the kernel's strips straight from another layout (a
 * convolution's input image: im2col without the im2col matrix). An epilogue sees
 * every tile of C once it is final, while it is still in cache (bias, activation). */

typedef struct ox_sgemm_packed ox_sgemm_packed;

/* Pack op(A) (side 0: rows x cols = M x K) or op(B) (side 1: rows x cols = K x N);
 * X[i][j] of op(X) is trans ? X[j*ld + i] : X[i*ld + j]. NULL when out of memory.
 * The packing is for the micro-kernel picked now; a product run later under another
 * one (ox_cpu_limit in tests) ignores it and reads the raw operand. */
ox_sgemm_packed *ox_sgemm_pack(int side, int trans, size_t rows, size_t cols, const float *X,
                               size_t ld);
void ox_sgemm_packed_free(ox_sgemm_packed *p);

/* Writes op(B)[p0 .. p0+kc) x [j0 .. j0+nc) as ceil(nc/nr) strips of kc*nr floats:
 * strip s, depth p, lane c holds op(B)[p0 + p][j0 + s*nr + c], lanes past the last
 * column zero. */
typedef void (*ox_sgemm_b_packer)(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc,
                                  size_t nr, float *dst);

/* A packer's work when row p of op(B) starts at rows[p] (columns j0.. of it) and runs
 * contiguously: n rows x nc columns into strips of nr lanes, row p of strip s at
 * dst + s*stride + p*nr (stride = kc*nr for a whole slice), lanes past nc zero; each
 * row times scale[p] (one rounding) when scale is not NULL. */
void ox_sgemm_pack_rows(const float *const *rows, const float *scale, size_t n, size_t nc,
                        size_t nr, size_t stride, float *dst);

/* Called once per finished block of C: rows [i0, i0+rows) x columns [j0, j0+cols),
 * at c = C + i0*ldc + j0. Called from the worker threads: must be thread-safe. */
typedef void (*ox_sgemm_epilogue)(const void *ctx, float *c, size_t ldc, size_t i0, size_t rows,
                                  size_t j0, size_t cols);

typedef struct ox_sgemm_call {
    size_t M, N, K;
    float alpha, beta; /* C = alpha * op(A) op(B) + beta * C, then the epilogue */
    /* op(A): pa when set and usable, else A (required then) */
    const ox_sgemm_packed *pa;
    int trans_a;
    const float *A;
    size_t lda;
    /* op(B): pb when set and usable, else b_packer when set, else B; a B packed
     * for a plain A is not usable beside pa when its K slices are deeper (K above
     * the kernel's kc: give B or a packer as well then) */
    const ox_sgemm_packed *pb;
    ox_sgemm_b_packer b_packer;
    const void *b_ctx;
    int trans_b;
    const float *B;
    size_t ldb;
    float *C;
    size_t ldc;
    /* optional, on each finished tile before the epilogue: row_bias[i] added to
     * row i of C, col_bias[j] to column j, then residual[i*ldc + j] (laid out as C)
     * added to C[i][j], then, when row_clamp is set, clamped to [row_lo, row_hi] (max
     * then min; a NaN passes): a Conv's bias (by rows) or a MatMul's (by columns),
     * fused Add and ReLU or Clip, applied in registers where the kernel can, each sum
     * rounded as the separate ops round it */
    const float *row_bias;
    const float *col_bias;
    const float *residual;
    int row_clamp;
    float row_lo, row_hi;
    ox_sgemm_epilogue epilogue; /* optional */
    const void *ep_ctx;
    /* when row_end > 0: only rows [row_begin, row_end) of C are computed, in the
     * calling thread (the pool is not used); with pa, row_begin must be a multiple
     * of ox_sgemm_row_unit(). Threads of a caller's own split share one packed A. */
    size_t row_begin, row_end;
} ox_sgemm_call;

/* The rows of A a micro-kernel tile covers, for the kernel picked now: where a
 * packed A may be split (ox_sgemm_call.row_begin). */
size_t ox_sgemm_row_unit(void);

/* What the micro-kernels picked now spend on n columns of C, in columns of a full
 * tile's work: n plus the idle lanes of the last tile (callers that choose the width
 * of their products, such as Winograd's blocks, pick widths that waste little). */
size_t ox_sgemm_col_cost(size_t n);

/* 0, or -1 when out of memory without plain operands to fall back on, or when an
 * operand is missing (C is then incomplete). */
int ox_sgemm_run(const ox_sgemm_call *call, ox_threadpool *pool);

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
