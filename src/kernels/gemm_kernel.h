/* The parts of a packed SGEMM that change with the instruction set: block sizes,
 * the two packing routines and the register-blocked micro-kernel. gemm.c's blocked
 * driver runs any of them; it holds the portable one and picks an ISA-specific one
 * (src/kernels/x86/) when kernels/cpu.h says the processor has it. */
#ifndef OX_KERNELS_GEMM_KERNEL_H
#define OX_KERNELS_GEMM_KERNEL_H

#include <stddef.h>

/* What a finished tile gets before it is stored (ox_sgemm_call's row_bias, residual
 * and clamp): bias[i] added to row i (bias starts at the tile's first row; NULL:
 * none), then res[i*ldc + j] (the tile's own corner, C's row stride; NULL: none),
 * then, when clamp is set, max with lo and min with hi, a NaN passing through. */
typedef struct ox_tile_ep {
    const float *bias;
    const float *cbias; /* one per column of the tile (from its first), after bias */
    const float *res;
    int clamp;
    float lo, hi;
} ox_tile_ep;

typedef struct ox_sgemm_kernel {
    size_t mr, nr;     /* micro-tile: mr rows x nr columns of C */
    size_t kc, mc, nc; /* cache blocks; mc is a multiple of mr, nc of nr */
    size_t kc_free;    /* K slice depth when A is not prepacked (0: kc) */
    /* op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into ceil(mc/mr) strips of kc*mr floats:
     * strip s, depth p, lane r holds op(A)[i0 + s*mr + r][p0 + p], lanes past the
     * last row zero. op(A)[i][p] = ta ? A[p*lda + i] : A[i*lda + p]. */
    void (*pack_a)(int ta, const float *A, size_t lda, size_t i0, size_t mc, size_t p0,
                   size_t kc, float *dst);
    /* op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into ceil(nc/nr) strips of kc*nr floats:
     * strip s, depth p, lane c holds op(B)[p0 + p][j0 + s*nr + c], lanes past the
     * last column zero. op(B)[p][j] = tb ? B[j*ldb + p] : B[p*ldb + j]. */
    void (*pack_b)(int tb, const float *B, size_t ldb, size_t p0, size_t kc, size_t j0,
                   size_t nc, float *dst);
    /* C (rows x cols, at most mr x nr, row stride ldc) = alpha * a * b + beta * C,
     * where a is one packed strip and b one packed strip (ldb == nr) or, when
     * cols == nr, nr columns of a row-major matrix (rows ldb floats apart); beta == 0
     * writes C without reading it. */
    void (*tile)(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                 size_t rows, size_t cols, float alpha, float beta);
    /* tile, then ep applied in registers before the store; NULL where the kernel
     * has none (the driver then applies ep to the stored tile) */
    void (*tile_ep)(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                    size_t rows, size_t cols, float alpha, float beta, const ox_tile_ep *ep);
    /* tile_ep reading A in place: row i of the tile at a + i*lda, depth p at +p (a
     * row-major op(A), no packing); NULL where the kernel has none */
    void (*tile_da)(size_t kc, const float *a, size_t lda, const float *b, size_t ldb, float *C,
                    size_t ldc, size_t rows, size_t cols, float alpha, float beta,
                    const ox_tile_ep *ep);
    /* What a tile of cols (1 .. nr-1) columns costs, in columns of a full tile's
     * work (a tail in whole vectors costs their width); NULL: nr */
    size_t (*tail_cost)(size_t cols);
} ox_sgemm_kernel;

/* src/kernels/x86/sgemm_avx2.c: 6 x 16 tiles on AVX2 + FMA (x86 builds only). */
#if defined(__x86_64__) || defined(__i386__)
extern const ox_sgemm_kernel ox_sgemm_kernel_avx2;
/* src/kernels/x86/sgemm_avx512.c: 12 x 32 tiles on AVX-512, and ox_sgemm_pack_rows
 * for its 32-wide strips. */
extern const ox_sgemm_kernel ox_sgemm_kernel_avx512;
void ox_sgemv_rows_avx512(size_t K, const float *x, const float *W, size_t ldw, size_t n,
                          float *y, size_t incy, float alpha, float beta);
void ox_sgemm_pack_rows32_avx512(const float *const *rows, const float *scale, size_t n, size_t nc,
                                 size_t stride, float *dst);
#endif

#endif
