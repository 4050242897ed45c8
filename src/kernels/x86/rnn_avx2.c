/* Recurrent-op kernels for AVX2 + FMA (see kernels/rnn_kern.h); compiled with -mavx2
 * -mfma and called only when kernels/cpu.h reports both.
 *
 * A single row of A (the recurrent product of a batch of one) keeps a whole
 * 64-column panel row in eight YMM accumulators: eight FMA chains. More rows go
 * 16 columns at a time, six rows per tile (12 accumulators, as the SGEMM
 * micro-kernel). Partial panels store through a local buffer. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises the cell loops (rnn_cell.h) only when told to, and needs no
 * trapping math to if-convert their float selects; in ISO C mode it fuses no
 * multiply-add unless asked (clang fuses within an expression by default). */
#pragma GCC optimize("tree-vectorize", "no-trapping-math", "fp-contract=fast")
#endif
#include "kernels/rnn_kern.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

static void row1(size_t cols, size_t K, const float *A, const float *b, float *C) {
    __m256 acc[8];
#pragma GCC unroll 8
    for (size_t q = 0; q < 8; q++) acc[q] = _mm256_setzero_ps();
    for (size_t k = 0; k < K; k++) {
        __m256 a = _mm256_broadcast_ss(A + k);
        const float *bk = b + k * RNN_NR;
#pragma GCC unroll 8
        for (size_t q = 0; q < 8; q++) acc[q] = _mm256_fmadd_ps(a, _mm256_loadu_ps(bk + 8 * q), acc[q]);
    }
    float *dst = C, tmp[RNN_NR];
    if (cols < RNN_NR) dst = tmp;
#pragma GCC unroll 8
    for (size_t q = 0; q < 8; q++) _mm256_storeu_ps(dst + 8 * q, acc[q]);
    if (cols < RNN_NR) memcpy(C, tmp, cols * sizeof(float));
}

/* rows x 16 columns of C from column strip b (K rows, RNN_NR apart); w <= 16
 * columns are stored. */
static inline __attribute__((always_inline)) void
tile(size_t mr, size_t w, size_t K, const float *A, size_t lda, const float *b, float *C,
     size_t ldc) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (size_t r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * RNN_NR), b1 = _mm256_loadu_ps(b + k * RNN_NR + 8);
#pragma GCC unroll 6
        for (size_t r = 0; r < mr; r++) {
            __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (size_t r = 0; r < mr; r++) {
        if (w == 16) {
            _mm256_storeu_ps(C + r * ldc, acc[r][0]);
            _mm256_storeu_ps(C + r * ldc + 8, acc[r][1]);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, acc[r][0]);
            _mm256_storeu_ps(tmp + 8, acc[r][1]);
            memcpy(C + r * ldc, tmp, w * sizeof(float));
        }
    }
}

static void panel_avx2(size_t M, size_t cols, size_t K, const float *A, size_t lda,
                       const float *b, float *C, size_t ldc) {
    if (M == 1) {
        row1(cols, K, A, b, C);
        return;
    }
    for (size_t c0 = 0; c0 < cols; c0 += 16) {
        size_t w = cols - c0 < 16 ? cols - c0 : 16;
        size_t i = 0;
        for (; i + 6 <= M; i += 6) tile(6, w, K, A + i * lda, lda, b + c0, C + i * ldc + c0, ldc);
        const float *a = A + i * lda;
        float *c = C + i * ldc + c0;
        switch (M - i) {
        case 5: tile(5, w, K, a, lda, b + c0, c, ldc); break;
        case 4: tile(4, w, K, a, lda, b + c0, c, ldc); break;
        case 3: tile(3, w, K, a, lda, b + c0, c, ldc); break;
        case 2: tile(2, w, K, a, lda, b + c0, c, ldc); break;
        case 1: tile(1, w, K, a, lda, b + c0, c, ldc); break;
        default: break;
        }
    }
}

#define RNN_CELL(name) name##_avx2
#include "kernels/rnn_cell.h"
#undef RNN_CELL

const rnn_kern rnn_kern_avx2 = {
    "avx2",       panel_avx2, lstm_avx2,    gru_zr_avx2, gru_h_avx2,
    gru_lbr_avx2, rnn_avx2,   sigmoid_avx2, tanh_avx2,
};

#endif
