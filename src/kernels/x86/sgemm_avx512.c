/* SGEMM kernel for AVX-512: 12 x 32 tiles of C held in 24 ZMM accumulators.
 *
 * Per step of K the micro-kernel loads one packed row of B (32 floats, two
 * registers), broadcasts the 12 packed A values one at a time and issues 24 FMAs:
 * 27 of the 32 ZMM registers, and enough independent accumulators to cover the FMA
 * latency on two 512-bit FMA pipes. gemm.c's blocked driver calls it only when
 * kernels/cpu.h reports AVX-512 (this file is compiled with -mavx512f and friends).
 *
 * The structure follows sgemm_avx2.c: packing transposes 8 x 8 blocks in
 * registers where the source runs along K; edge tiles get kernels of their own
 * (fewer rows, or 16 columns); column counts that are not a whole register are
 * written through masked stores. */
#include "kernels/gemm_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#include "kernels/x86/transpose_avx2.h"

#define MR 12
#define NR 32
#define KC 256
/* Deeper slices when A is not prepacked (a MatMul's or Gemm's activations): C is read
 * and written once per slice, and with M at most a few row blocks that pass costs
 * more than the B strip (kc x 32) outgrowing L1 does: 64 x 1024 x 1024 2-5% faster,
 * mlp -2% / -1.4% at 1 / 2 threads. Conv weights (prepacked A, many rows) keep 256:
 * 512 made efficientnet_b0 2% slower. */
#define KC_FREE 512
#define MC 192  /* multiple of MR: the packed A block (MC x KC) stays in L2 */
#define NC 3072 /* multiple of NR */

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* The lanes of a run of n floats (n <= 32) in its first and its second vector of 16 */
static inline __mmask16 lanes_lo(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}
static inline __mmask16 lanes_hi(size_t n) {
    return (__mmask16)(n >= 32 ? 0xffffu : n <= 16 ? 0u : (1u << (n - 16)) - 1u);
}

/* ---- packing ------------------------------------------------------------ */

/* Depths p .. p+n (n <= 16) of the MR rows of A (rows past `rows` zero) into the
 * packed strip at o, o[q*MR + r] = row[r][p + q]: each group of four rows goes
 * through the two in-lane shuffle stages of a 4 x 4 transpose per 128-bit lane,
 * which leaves row group g of depth p + 4L + j in lane L of u[4g + j]; that lane is
 * stored as it is (three 16-byte stores per depth, no cross-lane shuffles). */
#define PACK_A_ROW(i) _mm512_maskz_loadu_ps((i) < rows ? m : 0, row[i] + p)
#define PACK_A_GROUP(g, v0, v1, v2, v3)                                                    \
    {                                                                                      \
        __m512 r0 = PACK_A_ROW(4 * (g)), r1 = PACK_A_ROW(4 * (g) + 1);                     \
        __m512 r2 = PACK_A_ROW(4 * (g) + 2), r3 = PACK_A_ROW(4 * (g) + 3);                 \
        __m512 t0 = _mm512_unpacklo_ps(r0, r1), t1 = _mm512_unpackhi_ps(r0, r1);           \
        __m512 t2 = _mm512_unpacklo_ps(r2, r3), t3 = _mm512_unpackhi_ps(r2, r3);           \
        v0 = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));                           \
        v1 = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));                           \
        v2 = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));                           \
        v3 = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));                           \
    }
#define PACK_A_DEPTH(L, j, a, b, c)                                                        \
    if (4 * (L) + (j) < n) {                                                               \
        float *oq = o + (4 * (L) + (j)) * MR;                                              \
        _mm_storeu_ps(oq, _mm512_extractf32x4_ps(a, L));                                   \
        _mm_storeu_ps(oq + 4, _mm512_extractf32x4_ps(b, L));                               \
        _mm_storeu_ps(oq + 8, _mm512_extractf32x4_ps(c, L));                               \
    }
#define PACK_A_LANE(L)                                                                     \
    PACK_A_DEPTH(L, 0, u0, u4, u8) PACK_A_DEPTH(L, 1, u1, u5, u9)                          \
    PACK_A_DEPTH(L, 2, u2, u6, u10) PACK_A_DEPTH(L, 3, u3, u7, u11)
static inline __attribute__((always_inline)) void pack_a16(const float *const row[MR], size_t rows,
                                                           size_t n, size_t p, float *o) {
    __mmask16 m = lanes_lo(n);
    __m512 u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11;
    PACK_A_GROUP(0, u0, u1, u2, u3)
    PACK_A_GROUP(1, u4, u5, u6, u7)
    PACK_A_GROUP(2, u8, u9, u10, u11)
    PACK_A_LANE(0) PACK_A_LANE(1) PACK_A_LANE(2) PACK_A_LANE(3)
}
#undef PACK_A_LANE
#undef PACK_A_DEPTH
#undef PACK_A_GROUP
#undef PACK_A_ROW

static void pack_a(int ta, const float *A, size_t lda, size_t i0, size_t mc, size_t p0, size_t kc,
                   float *restrict dst) {
    for (size_t s = 0; s < mc; s += MR) {
        size_t rows = min_sz(MR, mc - s);
        float *d = dst + (s / MR) * kc * MR;
        if (ta) { /* op(A)[i][p] = A[p*lda + i]: the MR values of one p are contiguous */
            const float *src = A + p0 * lda + i0 + s;
            __mmask16 m = (__mmask16)((1u << rows) - 1u);
            for (size_t p = 0; p < kc; p++) {
                __m512 v = _mm512_maskz_loadu_ps(m, src + p * lda);
                _mm512_mask_storeu_ps(d + p * MR, 0x0fff, v);
            }
            continue;
        }
        const float *row[MR];
        for (size_t r = 0; r < MR; r++) row[r] = A + (i0 + s + min_sz(r, rows - 1)) * lda + p0;
        size_t p = 0;
        for (; p + 16 <= kc; p += 16) {
            if (rows == MR) pack_a16(row, MR, 16, p, d + p * MR); /* constant masks */
            else pack_a16(row, rows, 16, p, d + p * MR);
        }
        if (p < kc) pack_a16(row, rows, kc - p, p, d + p * MR);
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
                    _mm512_storeu_ps(d + p * NR, _mm512_loadu_ps(src + p * ldb));
                    _mm512_storeu_ps(d + p * NR + 16, _mm512_loadu_ps(src + p * ldb + 16));
                }
            } else {
                __mmask16 m0 = lanes_lo(cols), m1 = lanes_hi(cols);
                for (size_t p = 0; p < kc; p++) {
                    _mm512_storeu_ps(d + p * NR, _mm512_maskz_loadu_ps(m0, src + p * ldb));
                    _mm512_storeu_ps(d + p * NR + 16,
                                     _mm512_maskz_loadu_ps(m1, src + p * ldb + 16));
                }
            }
            continue;
        }
        /* op(B)[p][j] = B[j*ldb + p]: rows of B run along p; four 8 x 8 transposes */
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

static inline __attribute__((always_inline)) void pack_rows32(const float *const *rows,
                                                              const float *scale, size_t n,
                                                              size_t nc, size_t stride,
                                                              float *dst) {
    size_t full = nc / NR, rem = nc % NR;
    __mmask16 m0 = lanes_lo(rem), m1 = lanes_hi(rem);
    for (size_t p = 0; p < n; p++) {
        const float *src = rows[p];
        float *d = dst + p * NR;
        __m512 sc = _mm512_set1_ps(scale ? scale[p] : 1.0f);
#define PACK_LANES(v) (scale ? _mm512_mul_ps(v, sc) : (v))
        for (size_t s = 0; s < full; s++) {
            _mm512_storeu_ps(d + s * stride, PACK_LANES(_mm512_loadu_ps(src + s * NR)));
            _mm512_storeu_ps(d + s * stride + 16, PACK_LANES(_mm512_loadu_ps(src + s * NR + 16)));
        }
        if (rem) {
            float *dr = d + full * stride;
            _mm512_storeu_ps(dr, PACK_LANES(_mm512_maskz_loadu_ps(m0, src + full * NR)));
            _mm512_storeu_ps(dr + 16, PACK_LANES(_mm512_maskz_loadu_ps(m1, src + full * NR + 16)));
        }
#undef PACK_LANES
    }
}

void ox_sgemm_pack_rows32_avx512(const float *const *rows, const float *scale, size_t n, size_t nc,
                                 size_t stride, float *dst) {
    if (scale) pack_rows32(rows, scale, n, nc, stride, dst);
    else pack_rows32(rows, NULL, n, nc, stride, dst);
}

/* y[j*incy] = alpha * dot(x, W + j*ldw) (+ beta * y[j*incy]) for j < n: the
 * matrix-vector product when rows of W run along K. Four rows at a time, two
 * accumulators each, so x is loaded once per four rows and eight FMA chains hide
 * the latency; the tail of K through masked loads. */
void ox_sgemv_rows_avx512(size_t K, const float *x, const float *W, size_t ldw, size_t n,
                          float *y, size_t incy, float alpha, float beta) {
    size_t k32 = K / 32 * 32, rem = K - k32;
    __mmask16 m0 = lanes_lo(rem), m1 = lanes_hi(rem);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *w0 = W + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0,
               d1 = a0;
        for (size_t k = 0; k < k32; k += 32) {
            __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
            a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w0 + k), a0);
            a1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w0 + k + 16), a1);
            b0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w1 + k), b0);
            b1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w1 + k + 16), b1);
            c0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w2 + k), c0);
            c1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w2 + k + 16), c1);
            d0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w3 + k), d0);
            d1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w3 + k + 16), d1);
        }
        if (rem) {
            __m512 x0 = _mm512_maskz_loadu_ps(m0, x + k32);
            __m512 x1 = _mm512_maskz_loadu_ps(m1, x + k32 + 16);
            a0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m0, w0 + k32), a0);
            a1 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m1, w0 + k32 + 16), a1);
            b0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m0, w1 + k32), b0);
            b1 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m1, w1 + k32 + 16), b1);
            c0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m0, w2 + k32), c0);
            c1 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m1, w2 + k32 + 16), c1);
            d0 = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(m0, w3 + k32), d0);
            d1 = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(m1, w3 + k32 + 16), d1);
        }
        float r[4] = {_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)),
                      _mm512_reduce_add_ps(_mm512_add_ps(b0, b1)),
                      _mm512_reduce_add_ps(_mm512_add_ps(c0, c1)),
                      _mm512_reduce_add_ps(_mm512_add_ps(d0, d1))};
        for (int q = 0; q < 4; q++) {
            float *yj = y + (j + (size_t)q) * incy;
            *yj = beta == 0.0f ? alpha * r[q] : alpha * r[q] + beta * *yj;
        }
    }
    for (; j < n; j++) {
        const float *w0 = W + j * ldw;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (size_t k = 0; k < k32; k += 32) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(w0 + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(w0 + k + 16), a1);
        }
        if (rem) {
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, x + k32),
                                 _mm512_maskz_loadu_ps(m0, w0 + k32), a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, x + k32 + 16),
                                 _mm512_maskz_loadu_ps(m1, w0 + k32 + 16), a1);
        }
        float r = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        float *yj = y + j * incy;
        *yj = beta == 0.0f ? alpha * r : alpha * r + beta * *yj;
    }
}

/* ---- micro-kernel ------------------------------------------------------- */

/* C (rows x 16*halves, row stride ldc) = alpha * a * b + beta * C, beta 0 never
 * reading C; only the columns in the masks m0 (first 16) and m1 (next 16) are
 * read or written. rows (1..MR) and halves (1 or 2) are constants at every call,
 * so each call site becomes its own kernel with the accumulators in registers.
 * With one half, even and odd steps of K go to two accumulator sets (added at the
 * end): twelve chains or fewer alone would wait on the FMA latency. */
#define ROW_FMA(i, off)                                                                    \
    if (rows > i) {                                                                        \
        __m512 ai = _mm512_set1_ps(lda ? a[i * lda + p + (off)] : a[(p + (off)) * MR + i]);\
        if (halves == 2 || (off) % 2 == 0) c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);     \
        if (halves == 2) c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                       \
        else if ((off) % 2 == 1) c##i##1 = _mm512_fmadd_ps(ai, b0, c##i##1);               \
    }
#define STEP(off)                                                                          \
    {                                                                                      \
        const float *bp_ = b + (p + (off)) * ldb;                                          \
        __m512 b0 = _mm512_loadu_ps(bp_);                                                  \
        __m512 b1 = halves == 2 ? _mm512_loadu_ps(bp_ + 16) : b0;                          \
        ROW_FMA(0, off) ROW_FMA(1, off) ROW_FMA(2, off) ROW_FMA(3, off)                    \
        ROW_FMA(4, off) ROW_FMA(5, off) ROW_FMA(6, off) ROW_FMA(7, off)                    \
        ROW_FMA(8, off) ROW_FMA(9, off) ROW_FMA(10, off) ROW_FMA(11, off)                  \
    }
#define ROW_STORE(i)                                                                       \
    if (rows > i) {                                                                        \
        if (halves == 1) c##i##0 = _mm512_add_ps(c##i##0, c##i##1);                        \
        store16(C, ldc, 0, c##i##0, m0, va, vb, alpha, beta, ep, i);                       \
        if (halves == 2) store16(C, ldc, 16, c##i##1, m1, va, vb, alpha, beta, ep, i);     \
    }

/* Row i, columns off .. off+15 of C: alpha x + beta c, then ep's bias for row i,
 * residual and clamp: max_ps(lo, r) is "r < lo ? lo : r" and min_ps(hi, r) "r > hi ?
 * hi : r", so a NaN passes */
static inline __attribute__((always_inline)) void store16(float *C, size_t ldc, size_t off,
                                                          __m512 x, __mmask16 m, __m512 va,
                                                          __m512 vb, float alpha, float beta,
                                                          const ox_tile_ep *ep, int i) {
    float *c = C + (size_t)i * ldc + off;
    __m512 r;
    if (beta == 0.0f) r = alpha == 1.0f ? x : _mm512_mul_ps(x, va); /* the same bits */
    else if (beta == 1.0f) r = _mm512_fmadd_ps(x, va, _mm512_maskz_loadu_ps(m, c));
    else r = _mm512_fmadd_ps(x, va, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m, c)));
    if (ep) {
        if (ep->bias) r = _mm512_add_ps(r, _mm512_set1_ps(ep->bias[i]));
        if (ep->cbias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, ep->cbias + off));
        if (ep->res) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, ep->res + (size_t)i * ldc + off));
        if (ep->clamp)
            r = _mm512_min_ps(_mm512_set1_ps(ep->hi), _mm512_max_ps(_mm512_set1_ps(ep->lo), r));
    }
    _mm512_mask_storeu_ps(c, m, r);
}

/* Named accumulators and constant row tests (rather than arrays and loops) so that
 * every compiler keeps the tile in registers and drops the unused rows. */
static inline __attribute__((always_inline)) void
kernel(size_t kc, const float *restrict a, const size_t lda, const float *restrict b, size_t ldb,
       float *C, size_t ldc, float alpha, float beta, __mmask16 m0, __mmask16 m1,
       const ox_tile_ep *ep, const int rows, const int halves) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
    __m512 c90 = c00, c91 = c00, c100 = c00, c101 = c00, c110 = c00, c111 = c00;
    if (beta != 0.0f) /* C is read at the end: start bringing it in */
        for (int i = 0; i < rows; i++) {
            _mm_prefetch((const char *)(C + i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + i * ldc + 16 * halves - 1), _MM_HINT_T0);
        }
    /* indexed rather than advanced pointers: B may be the caller's matrix, and a
     * pointer stepped past its end would be undefined even if never read */
    size_t p = 0;
    /* two steps per iteration (the even / odd accumulator sets of one half): with
     * four, GCC's schedule ran out of registers and kept accumulators on the stack */
    for (; p + 2 <= kc; p += 2) {
        STEP(0) STEP(1)
    }
    for (; p < kc; p++) {
        STEP(0)
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
    ROW_STORE(6) ROW_STORE(7) ROW_STORE(8) ROW_STORE(9) ROW_STORE(10) ROW_STORE(11)
}

#define KERNEL_ROWS(rows_, halves_)                                                        \
    static void kernel_##rows_##x##halves_(size_t kc, const float *a, const float *b,     \
                                           size_t ldb, float *C, size_t ldc, float alpha,  \
                                           float beta, __mmask16 m0, __mmask16 m1,         \
                                           const ox_tile_ep *ep) {                         \
        kernel(kc, a, 0, b, ldb, C, ldc, alpha, beta, m0, m1, ep, rows_, halves_);         \
    }                                                                                      \
    static void kernel_da_##rows_##x##halves_(size_t kc, const float *a, size_t lda,       \
                                              const float *b, size_t ldb, float *C,        \
                                              size_t ldc, float alpha, float beta,         \
                                              __mmask16 m0, __mmask16 m1,                  \
                                              const ox_tile_ep *ep) {                      \
        kernel(kc, a, lda, b, ldb, C, ldc, alpha, beta, m0, m1, ep, rows_, halves_);       \
    }
KERNEL_ROWS(1, 1) KERNEL_ROWS(2, 1) KERNEL_ROWS(3, 1) KERNEL_ROWS(4, 1) KERNEL_ROWS(5, 1)
KERNEL_ROWS(6, 1) KERNEL_ROWS(7, 1) KERNEL_ROWS(8, 1) KERNEL_ROWS(9, 1) KERNEL_ROWS(10, 1)
KERNEL_ROWS(11, 1) KERNEL_ROWS(12, 1)
KERNEL_ROWS(1, 2) KERNEL_ROWS(2, 2) KERNEL_ROWS(3, 2) KERNEL_ROWS(4, 2) KERNEL_ROWS(5, 2)
KERNEL_ROWS(6, 2) KERNEL_ROWS(7, 2) KERNEL_ROWS(8, 2) KERNEL_ROWS(9, 2) KERNEL_ROWS(10, 2)
KERNEL_ROWS(11, 2) KERNEL_ROWS(12, 2)

typedef void (*kernel_fn)(size_t, const float *, const float *, size_t, float *, size_t, float,
                          float, __mmask16, __mmask16, const ox_tile_ep *);
static const kernel_fn kernels[2][MR] = {
    {kernel_1x1, kernel_2x1, kernel_3x1, kernel_4x1, kernel_5x1, kernel_6x1, kernel_7x1,
     kernel_8x1, kernel_9x1, kernel_10x1, kernel_11x1, kernel_12x1},
    {kernel_1x2, kernel_2x2, kernel_3x2, kernel_4x2, kernel_5x2, kernel_6x2, kernel_7x2,
     kernel_8x2, kernel_9x2, kernel_10x2, kernel_11x2, kernel_12x2},
};
typedef void (*kernel_da_fn)(size_t, const float *, size_t, const float *, size_t, float *,
                             size_t, float, float, __mmask16, __mmask16, const ox_tile_ep *);
static const kernel_da_fn kernels_da[2][MR] = {
    {kernel_da_1x1, kernel_da_2x1, kernel_da_3x1, kernel_da_4x1, kernel_da_5x1, kernel_da_6x1,
     kernel_da_7x1, kernel_da_8x1, kernel_da_9x1, kernel_da_10x1, kernel_da_11x1, kernel_da_12x1},
    {kernel_da_1x2, kernel_da_2x2, kernel_da_3x2, kernel_da_4x2, kernel_da_5x2, kernel_da_6x2,
     kernel_da_7x2, kernel_da_8x2, kernel_da_9x2, kernel_da_10x2, kernel_da_11x2, kernel_da_12x2},
};

#define NARROW_COL(c, acc)                                                                 \
    if (cols > c) acc = _mm512_fmadd_ps(av, _mm512_set1_ps(bp[c]), acc);
#define NARROW_STEP(q)                                                                     \
    {                                                                                      \
        __m512 av = _mm512_maskz_loadu_ps(0x0fff, a + (p + (q)) * MR);                     \
        const float *bp = b + (p + (q)) * ldb;                                             \
        NARROW_COL(0, x##q) NARROW_COL(1, y##q) NARROW_COL(2, z##q) NARROW_COL(3, w##q)    \
    }

/* C (rows x cols, cols 1 to NARROW_MAX): the last columns of C, where a full-width
 * kernel would spend 16 lanes per column (a 14x14 map's 196 columns end in a strip of
 * 4). Here a register runs down the MR rows and each column costs one FMA per step of
 * K, in four chains to cover the FMA latency. */
#define NARROW_MAX 4
static inline __attribute__((always_inline)) void
narrow(size_t kc, const float *restrict a, const float *restrict b, size_t ldb, float *C,
       size_t ldc, size_t rows, float alpha, float beta, const ox_tile_ep *ep, const int cols) {
    __m512 x0 = _mm512_setzero_ps(), x1 = x0, x2 = x0, x3 = x0, y0 = x0, y1 = x0, y2 = x0;
    __m512 y3 = x0, z0 = x0, z1 = x0, z2 = x0, z3 = x0, w0 = x0, w1 = x0, w2 = x0, w3 = x0;
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        NARROW_STEP(0) NARROW_STEP(1) NARROW_STEP(2) NARROW_STEP(3)
    }
    for (; p < kc; p++) { /* the last steps go to the first chains */
        NARROW_STEP(0)
    }
    float t[NARROW_MAX][16];
    _mm512_storeu_ps(t[0], _mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)));
    _mm512_storeu_ps(t[1], _mm512_add_ps(_mm512_add_ps(y0, y1), _mm512_add_ps(y2, y3)));
    _mm512_storeu_ps(t[2], _mm512_add_ps(_mm512_add_ps(z0, z1), _mm512_add_ps(z2, z3)));
    _mm512_storeu_ps(t[3], _mm512_add_ps(_mm512_add_ps(w0, w1), _mm512_add_ps(w2, w3)));
    for (size_t r = 0; r < rows; r++) {
        float *cr = C + r * ldc;
        for (int c = 0; c < cols; c++) {
            float v = beta == 0.0f ? alpha * t[c][r] : alpha * t[c][r] + beta * cr[c];
            if (ep && ep->bias) v += ep->bias[r];
            if (ep && ep->cbias) v += ep->cbias[c];
            if (ep && ep->res) v += ep->res[r * ldc + (size_t)c];
            if (ep && ep->clamp) {
                v = v < ep->lo ? ep->lo : v;
                v = v > ep->hi ? ep->hi : v;
            }
            cr[c] = v;
        }
    }
}
#undef NARROW_STEP
#undef NARROW_COL

#define NARROW_COLS(n)                                                                     \
    static void narrow_##n(size_t kc, const float *a, const float *b, size_t ldb, float *C, \
                           size_t ldc, size_t rows, float alpha, float beta,                \
                           const ox_tile_ep *ep) {                                          \
        narrow(kc, a, b, ldb, C, ldc, rows, alpha, beta, ep, n);                            \
    }
NARROW_COLS(1) NARROW_COLS(2) NARROW_COLS(3) NARROW_COLS(4)
#undef NARROW_COLS

typedef void (*narrow_fn)(size_t, const float *, const float *, size_t, float *, size_t, size_t,
                          float, float, const ox_tile_ep *);
static const narrow_fn narrows[NARROW_MAX] = {narrow_1, narrow_2, narrow_3, narrow_4};

static void tile_ep(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                    size_t rows, size_t cols, float alpha, float beta, const ox_tile_ep *ep) {
    if (cols <= NARROW_MAX) {
        narrows[cols - 1](kc, a, b, ldb, C, ldc, rows, alpha, beta, ep);
        return;
    }
    if (cols > 16 && cols <= 16 + NARROW_MAX) { /* 16 columns, then the rest narrow */
        kernels[0][rows - 1](kc, a, b, ldb, C, ldc, alpha, beta, 0xffff, 0, ep);
        ox_tile_ep rest; /* the residual's corner and the column biases move with C's */
        if (ep && (ep->res || ep->cbias)) {
            rest = *ep;
            if (rest.res) rest.res += 16;
            if (rest.cbias) rest.cbias += 16;
            ep = &rest;
        }
        narrows[cols - 17](kc, a, b + 16, ldb, C + 16, ldc, rows, alpha, beta, ep);
        return;
    }
    int halves = cols > 16 ? 2 : 1;
    __mmask16 m0 = lanes_lo(cols), m1 = lanes_hi(cols);
    kernels[halves - 1][rows - 1](kc, a, b, ldb, C, ldc, alpha, beta, m0, m1, ep);
}

static void tile(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                 size_t rows, size_t cols, float alpha, float beta) {
    tile_ep(kc, a, b, ldb, C, ldc, rows, cols, alpha, beta, NULL);
}

/* tile_ep with A read where it is: a[i*lda + p] for row i and depth p (no packing;
 * the broadcasts do not care whether A's rows or its columns are contiguous) */
static void tile_da(size_t kc, const float *a, size_t lda, const float *b, size_t ldb, float *C,
                    size_t ldc, size_t rows, size_t cols, float alpha, float beta,
                    const ox_tile_ep *ep) {
    int halves = cols > 16 ? 2 : 1;
    __mmask16 m0 = lanes_lo(cols), m1 = lanes_hi(cols);
    kernels_da[halves - 1][rows - 1](kc, a, lda, b, ldb, C, ldc, alpha, beta, m0, m1, ep);
}

/* tile_ep's choice: narrow columns take one FMA per step of K for MR rows (a full
 * tile's column takes 3/4 of one), the rest whole vectors of 16 */
static size_t tail_cost(size_t cols) {
    size_t narrow = cols <= NARROW_MAX ? cols : cols > 16 && cols <= 16 + NARROW_MAX ? cols - 16 : 0;
    return (cols - narrow + 15) / 16 * 16 + (4 * narrow + 2) / 3;
}

const ox_sgemm_kernel ox_sgemm_kernel_avx512 = {
    .mr = MR, .nr = NR, .kc = KC, .kc_free = KC_FREE, .mc = MC, .nc = NC,
    .pack_a = pack_a, .pack_b = pack_b, .tile = tile, .tile_ep = tile_ep, .tile_da = tile_da,
    .tail_cost = tail_cost,
};

#else
typedef int ox_sgemm_avx512_unused; /* keeps the translation unit non-empty */
#endif
