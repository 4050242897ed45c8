/* SGEMM kernel for AVX2 + FMA: 6 x 16 tiles of C held in 12 YMM accumulators.
 *
 * Per step of K the micro-kernel loads one packed row of B (16 floats, two
 * registers), broadcasts the 6 packed A values one at a time and issues 12 FMAs:
 * 15 of the 16 YMM registers, and enough independent accumulators to cover the
 * FMA latency on two FMA pipes. gemm.c's blocked driver calls it only when
 * kernels/cpu.h reports AVX2 and FMA (this file is compiled with -mavx2 -mfma).
 *
 * Packing transposes 8 x 8 blocks in registers where the source runs along K
 * (A not transposed, B transposed) so packing costs little next to the product.
 * Every load and store is unaligned-safe. Edge tiles get kernels of their own
 * (fewer rows, 8 columns, or 1-2 columns computed down the rows) so a ragged edge
 * costs little more than its share; column counts that are not a whole register
 * go through a local buffer. */
#include "kernels/gemm_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "kernels/x86/transpose_avx2.h"

#define MR 6
#define NR 16
#define KC 256
#define MC 144  /* multiple of MR: the packed A block (MC x KC) stays in L2 */
#define NC 3072 /* multiple of NR */

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- packing ------------------------------------------------------------ */

static void pack_a(int ta, const float *A, size_t lda, size_t i0, size_t mc, size_t p0, size_t kc,
                   float *restrict dst) {
    for (size_t s = 0; s < mc; s += MR) {
        size_t rows = min_sz(MR, mc - s);
        float *d = dst + (s / MR) * kc * MR;
        if (ta) { /* op(A)[i][p] = A[p*lda + i]: the MR values of one p are contiguous */
            const float *src = A + p0 * lda + i0 + s;
            if (rows == MR) {
                for (size_t p = 0; p < kc; p++) memcpy(d + p * MR, src + p * lda, MR * sizeof *d);
            } else {
                for (size_t p = 0; p < kc; p++) {
                    size_t r = 0;
                    for (; r < rows; r++) d[p * MR + r] = src[p * lda + r];
                    for (; r < MR; r++) d[p * MR + r] = 0.0f;
                }
            }
            continue;
        }
        /* rows of A run along p: transpose 8 (p) x 8 (rows, the last ones zero) */
        const float *row[8];
        for (size_t r = 0; r < 8; r++) row[r] = A + (i0 + s + min_sz(r, rows - 1)) * lda + p0;
        size_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 v[8];
            if (rows == MR) load_transposed8(row, MR, p, v);
            else load_transposed8(row, rows, p, v);
            float *o = d + p * MR;
            /* 8-float stores overlap: each one's last two lanes are rewritten by the
             * next; the last p of the block stores exactly MR floats */
            for (int q = 0; q < 7; q++) _mm256_storeu_ps(o + q * MR, v[q]);
            _mm_storeu_ps(o + 7 * MR, _mm256_castps256_ps128(v[7]));
            _mm_storeu_si64(o + 7 * MR + 4, _mm_castps_si128(_mm256_extractf128_ps(v[7], 1)));
        }
        for (; p < kc; p++)
            for (size_t r = 0; r < MR; r++) d[p * MR + r] = r < rows ? row[r][p] : 0.0f;
    }
}

static void pack_b(int tb, const float *B, size_t ldb, size_t p0, size_t kc, size_t j0, size_t nc,
                   float *restrict dst) {
    for (size_t s = 0; s < nc; s += NR) {
        size_t cols = min_sz(NR, nc - s);
        float *d = dst + (s / NR) * kc * NR;
        if (!tb) { /* op(B)[p][j] = B[p*ldb + j]: the NR values of one p are contiguous */
            const float *src = B + p0 * ldb + j0 + s;
            if (cols == NR) {
                for (size_t p = 0; p < kc; p++) {
                    _mm256_storeu_ps(d + p * NR, _mm256_loadu_ps(src + p * ldb));
                    _mm256_storeu_ps(d + p * NR + 8, _mm256_loadu_ps(src + p * ldb + 8));
                }
            } else {
                for (size_t p = 0; p < kc; p++) {
                    size_t c = 0;
                    for (; c < cols; c++) d[p * NR + c] = src[p * ldb + c];
                    for (; c < NR; c++) d[p * NR + c] = 0.0f;
                }
            }
            continue;
        }
        /* op(B)[p][j] = B[j*ldb + p]: rows of B run along p; two 8 x 8 transposes */
        const float *col[NR];
        for (size_t c = 0; c < NR; c++) col[c] = B + (j0 + s + min_sz(c, cols - 1)) * ldb + p0;
        size_t k8 = kc - kc % 8;
        for (size_t h = 0; h < NR; h += 8) { /* 8 source rows at a time: 8 read streams */
            size_t n = cols > h ? cols - h : 0;
            for (size_t p = 0; p < k8; p += 8) {
                __m256 v[8];
                if (n >= 8) load_transposed8(col + h, 8, p, v);
                else load_transposed8(col + h, n, p, v);
                for (size_t q = 0; q < 8; q++) _mm256_storeu_ps(d + (p + q) * NR + h, v[q]);
            }
        }
        for (size_t p = k8; p < kc; p++)
            for (size_t c = 0; c < NR; c++) d[p * NR + c] = c < cols ? col[c][p] : 0.0f;
    }
}

/* ---- micro-kernel ------------------------------------------------------- */

/* C (rows x 8*halves, row stride ldc) = alpha * a * b + beta * C, beta 0 never
 * reading C. rows (1..MR) and halves (1 or 2) are constants at every call, so each
 * call site becomes its own kernel with the accumulators in registers: 6 x 16 for
 * the bulk of C, narrower or shorter ones at its right and bottom edges so ragged
 * tiles do not pay for the full tile. With one half, even and odd steps of K go to
 * the two accumulator sets (added at the end): six chains alone would wait on the
 * FMA latency. */
#define ROW_FMA(i, off)                                                                    \
    if (rows > i) {                                                                        \
        __m256 ai = _mm256_broadcast_ss(a + (p + (off)) * MR + i);                         \
        if (halves == 2 || (off) % 2 == 0) c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);     \
        if (halves == 2) c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                       \
        else if ((off) % 2 == 1) c##i##1 = _mm256_fmadd_ps(ai, b0, c##i##1);               \
    }
#define STEP(off)                                                                          \
    {                                                                                      \
        const float *bp_ = b + (p + (off)) * ldb;                                          \
        __m256 b0 = _mm256_loadu_ps(bp_);                                                  \
        __m256 b1 = halves == 2 ? _mm256_loadu_ps(bp_ + 8) : b0;                           \
        ROW_FMA(0, off) ROW_FMA(1, off) ROW_FMA(2, off)                                    \
        ROW_FMA(3, off) ROW_FMA(4, off) ROW_FMA(5, off)                                    \
    }
#define ROW_STORE(i)                                                                       \
    if (rows > i) {                                                                        \
        if (halves == 1) c##i##0 = _mm256_add_ps(c##i##0, c##i##1);                        \
        store8(C + i * ldc, c##i##0, va, vb, beta);                                        \
        if (halves == 2) store8(C + i * ldc + 8, c##i##1, va, vb, beta);                   \
    }

static inline __attribute__((always_inline)) void store8(float *c, __m256 x, __m256 va,
                                                         __m256 vb, float beta) {
    __m256 r;
    if (beta == 0.0f) r = _mm256_mul_ps(x, va);
    else if (beta == 1.0f) r = _mm256_fmadd_ps(x, va, _mm256_loadu_ps(c));
    else r = _mm256_fmadd_ps(x, va, _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
    _mm256_storeu_ps(c, r);
}

/* Named accumulators and constant row tests (rather than arrays and loops) so that
 * every compiler keeps the tile in registers and drops the unused rows. */
static inline __attribute__((always_inline)) void
kernel(size_t kc, const float *restrict a, const float *restrict b, size_t ldb, float *C,
       size_t ldc, float alpha, float beta, const int rows, const int halves) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    if (beta != 0.0f) /* C is read at the end: start bringing it in */
        for (int i = 0; i < rows; i++) {
            _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + i * ldc + 8 * halves - 1), _MM_HINT_T0);
        }
    /* indexed rather than advanced pointers: B may be the caller's matrix, and a
     * pointer stepped past its end would be undefined even if never read */
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        STEP(0) STEP(1) STEP(2) STEP(3)
    }
    for (; p < kc; p++) {
        STEP(0)
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
}

#define KERNEL_ROWS(rows_, halves_)                                                        \
    static void kernel_##rows_##x##halves_(size_t kc, const float *a, const float *b,     \
                                           size_t ldb, float *C, size_t ldc, float alpha,  \
                                           float beta) {                                   \
        kernel(kc, a, b, ldb, C, ldc, alpha, beta, rows_, halves_);                        \
    }
KERNEL_ROWS(1, 1) KERNEL_ROWS(2, 1) KERNEL_ROWS(3, 1) KERNEL_ROWS(4, 1) KERNEL_ROWS(5, 1)
KERNEL_ROWS(6, 1) KERNEL_ROWS(1, 2) KERNEL_ROWS(2, 2) KERNEL_ROWS(3, 2) KERNEL_ROWS(4, 2)
KERNEL_ROWS(5, 2) KERNEL_ROWS(6, 2)

typedef void (*kernel_fn)(size_t, const float *, const float *, size_t, float *, size_t, float,
                          float);
static const kernel_fn kernels[2][MR] = {
    {kernel_1x1, kernel_2x1, kernel_3x1, kernel_4x1, kernel_5x1, kernel_6x1},
    {kernel_1x2, kernel_2x2, kernel_3x2, kernel_4x2, kernel_5x2, kernel_6x2},
};

/* MR packed A values of step p in one register (lanes 6 and 7 zero). */
static inline __m256 a_column(const float *a) {
    __m128 lo = _mm_loadu_ps(a), hi = _mm_castsi128_ps(_mm_loadu_si64(a + 4));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

#define NARROW_STEP(q, x, y)                                                               \
    {                                                                                      \
        __m256 av = a_column(a + (p + (q)) * MR);                                          \
        const float *bp = b + (p + (q)) * ldb;                                             \
        x = _mm256_fmadd_ps(av, _mm256_broadcast_ss(bp), x);                               \
        if (cols == 2) y = _mm256_fmadd_ps(av, _mm256_broadcast_ss(bp + 1), y);           \
    }

/* C (rows x cols, cols 1 or 2): the last columns of C, where a full-width kernel
 * would spend 8 lanes per column. Here a register runs down the MR rows and each
 * column costs one FMA per step of K, in four chains to cover the FMA latency. */
static inline __attribute__((always_inline)) void
narrow(size_t kc, const float *restrict a, const float *restrict b, size_t ldb, float *C,
       size_t ldc, size_t rows, float alpha, float beta, const int cols) {
    __m256 x0 = _mm256_setzero_ps(), x1 = x0, x2 = x0, x3 = x0;
    __m256 y0 = x0, y1 = x0, y2 = x0, y3 = x0;
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        NARROW_STEP(0, x0, y0) NARROW_STEP(1, x1, y1) NARROW_STEP(2, x2, y2)
        NARROW_STEP(3, x3, y3)
    }
    for (; p < kc; p++) {
        NARROW_STEP(0, x0, y0)
    }
    float t[2][8];
    _mm256_storeu_ps(t[0], _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)));
    _mm256_storeu_ps(t[1], _mm256_add_ps(_mm256_add_ps(y0, y1), _mm256_add_ps(y2, y3)));
    for (size_t r = 0; r < rows; r++) {
        float *cr = C + r * ldc;
        for (int c = 0; c < cols; c++)
            cr[c] = beta == 0.0f ? alpha * t[c][r] : alpha * t[c][r] + beta * cr[c];
    }
}

static void narrow_1(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                     size_t rows, float alpha, float beta) {
    narrow(kc, a, b, ldb, C, ldc, rows, alpha, beta, 1);
}
static void narrow_2(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                     size_t rows, float alpha, float beta) {
    narrow(kc, a, b, ldb, C, ldc, rows, alpha, beta, 2);
}

static void tile(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                 size_t rows, size_t cols, float alpha, float beta) {
    if (cols <= 2) {
        if (cols == 1) narrow_1(kc, a, b, ldb, C, ldc, rows, alpha, beta);
        else narrow_2(kc, a, b, ldb, C, ldc, rows, alpha, beta);
        return;
    }
    int halves = cols > 8 ? 2 : 1;
    kernel_fn k = kernels[halves - 1][rows - 1];
    if (cols == (size_t)(8 * halves)) {
        k(kc, a, b, ldb, C, ldc, alpha, beta);
        return;
    }
    /* a column count that is not a whole register: via a buffer */
    float t[MR * NR];
    k(kc, a, b, ldb, t, NR, 1.0f, 0.0f);
    for (size_t i = 0; i < rows; i++) {
        float *c = C + i * ldc;
        const float *x = t + i * NR;
        if (beta == 0.0f)
            for (size_t j = 0; j < cols; j++) c[j] = alpha * x[j];
        else
            for (size_t j = 0; j < cols; j++) c[j] = alpha * x[j] + beta * c[j];
    }
}

/* tile's choice: 1 or 2 columns narrow, one FMA per step of K for MR rows (a full
 * tile's column takes 3/4 of one), the rest whole vectors of 8 */
static size_t tail_cost(size_t cols) { return cols <= 2 ? (4 * cols + 2) / 3 : (cols + 7) / 8 * 8; }

const ox_sgemm_kernel ox_sgemm_kernel_avx2 = {
    .mr = MR, .nr = NR, .kc = KC, .mc = MC, .nc = NC,
    .pack_a = pack_a, .pack_b = pack_b, .tile = tile, .tail_cost = tail_cost,
};

#else
typedef int ox_sgemm_avx2_unused; /* keeps the translation unit non-empty */
#endif
