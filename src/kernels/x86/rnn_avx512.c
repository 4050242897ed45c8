/* Recurrent-op kernels for AVX-512 (see kernels/rnn_kern.h); compiled with the
 * AVX-512 flags and called only when kernels/cpu.h reports AVX-512.
 *
 * A panel row is 64 floats, four ZMM registers. Up to six rows of A share each
 * loaded panel row (24 accumulators). A single row (the recurrent product of a
 * batch of one) alternates even and odd steps of K between two sets of four
 * accumulators, so eight FMA chains hide the FMA latency. Partial panels store
 * through a lane mask. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises the cell loops (rnn_cell.h) only when told to, and needs no
 * trapping math to if-convert their float selects; in ISO C mode it fuses no
 * multiply-add unless asked (clang fuses within an expression by default). */
#pragma GCC optimize("tree-vectorize", "no-trapping-math", "fp-contract=fast")
#endif
#include "kernels/rnn_kern.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

static inline __mmask16 lane_mask(size_t cols, size_t q) {
    size_t n = cols > 16 * q ? cols - 16 * q : 0;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* The panels stream from L2 (a step's recurrent weights are far larger than
 * L1); the hardware prefetcher alone leaves the loads waiting. PF_ROWS panel
 * rows ahead; the address may lie past the panels (a prefetch never faults),
 * so it is formed as an integer. */
#define PF_ROWS 16
static inline void prefetch(const float *p, size_t ahead) {
    _mm_prefetch((const char *)((uintptr_t)p + ahead * sizeof(float)), _MM_HINT_T0);
}

static inline __attribute__((always_inline)) void
tile(size_t mr, size_t cols, size_t K, const float *A, size_t lda, const float *b, float *C,
     size_t ldc) {
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (size_t r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (size_t q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k++) {
        __m512 bv[4];
#pragma GCC unroll 4
        for (size_t q = 0; q < 4; q++) {
            prefetch(b + k * RNN_NR, RNN_NR * PF_ROWS + 16 * q);
            bv[q] = _mm512_loadu_ps(b + k * RNN_NR + 16 * q);
        }
#pragma GCC unroll 6
        for (size_t r = 0; r < mr; r++) {
            __m512 a = _mm512_set1_ps(A[r * lda + k]);
#pragma GCC unroll 4
            for (size_t q = 0; q < 4; q++) acc[r][q] = _mm512_fmadd_ps(a, bv[q], acc[r][q]);
        }
    }
#pragma GCC unroll 4
    for (size_t q = 0; q < 4; q++) {
        __mmask16 m = lane_mask(cols, q);
#pragma GCC unroll 6
        for (size_t r = 0; r < mr; r++) _mm512_mask_storeu_ps(C + r * ldc + 16 * q, m, acc[r][q]);
    }
}

static void row1(size_t cols, size_t K, const float *A, const float *b, float *C) {
    __m512 c0[4], c1[4];
#pragma GCC unroll 4
    for (size_t q = 0; q < 4; q++) c0[q] = c1[q] = _mm512_setzero_ps();
    size_t k = 0;
    for (; k + 2 <= K; k += 2) {
        __m512 a0 = _mm512_set1_ps(A[k]), a1 = _mm512_set1_ps(A[k + 1]);
        const float *b0 = b + k * RNN_NR, *b1 = b0 + RNN_NR;
#pragma GCC unroll 8
        for (size_t q = 0; q < 8; q++) prefetch(b0, RNN_NR * PF_ROWS + 16 * q);
#pragma GCC unroll 4
        for (size_t q = 0; q < 4; q++) {
            c0[q] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b0 + 16 * q), c0[q]);
            c1[q] = _mm512_fmadd_ps(a1, _mm512_loadu_ps(b1 + 16 * q), c1[q]);
        }
    }
    if (k < K) {
        __m512 a0 = _mm512_set1_ps(A[k]);
#pragma GCC unroll 4
        for (size_t q = 0; q < 4; q++)
            c0[q] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b + k * RNN_NR + 16 * q), c0[q]);
    }
#pragma GCC unroll 4
    for (size_t q = 0; q < 4; q++)
        _mm512_mask_storeu_ps(C + 16 * q, lane_mask(cols, q), _mm512_add_ps(c0[q], c1[q]));
}

static void panel_avx512(size_t M, size_t cols, size_t K, const float *A, size_t lda,
                         const float *b, float *C, size_t ldc) {
    if (M == 1) {
        row1(cols, K, A, b, C);
        return;
    }
    size_t i = 0;
    for (; i + 6 <= M; i += 6) tile(6, cols, K, A + i * lda, lda, b, C + i * ldc, ldc);
    const float *a = A + i * lda;
    float *c = C + i * ldc;
    switch (M - i) {
    case 5: tile(5, cols, K, a, lda, b, c, ldc); break;
    case 4: tile(4, cols, K, a, lda, b, c, ldc); break;
    case 3: tile(3, cols, K, a, lda, b, c, ldc); break;
    case 2: tile(2, cols, K, a, lda, b, c, ldc); break;
    case 1: tile(1, cols, K, a, lda, b, c, ldc); break;
    default: break;
    }
}

#include "kernels/x86/vmath_avx512_lanes.h"
#include "kernels/vmath_fn.h"

/* clip: max with -clip first, then min with clip, a NaN passing (as clampf) */
static inline __m512 clamp16(__m512 x, __m512 lo, __m512 hi) {
    x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), lo);
    return _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), hi);
}

/* Units j .. j+15 of a cell (H units): their lanes, and the clip bounds. */
typedef struct units16 {
    size_t H, j;
    __mmask16 m;
    __m512 lo, hi;
} units16;

static inline units16 units_at(size_t H, size_t j, float clip) {
    return (units16){.H = H, .j = j, .m = vf_lanes(H - j < 16 ? H - j : 16),
                     .lo = _mm512_set1_ps(-clip), .hi = _mm512_set1_ps(clip)};
}

static inline __m512 load16(const units16 *u, const float *p) {
    return _mm512_maskz_loadu_ps(u->m, p + u->j);
}

static inline void store16(const units16 *u, float *p, __m512 v) {
    _mm512_mask_storeu_ps(p + u->j, u->m, v);
}

/* g + xw of gate k, clipped: the argument of the gate's activation */
static inline __m512 gate16(const units16 *u, const float *g, const float *xw, size_t k) {
    return clamp16(_mm512_add_ps(load16(u, g + k * u->H), load16(u, xw + k * u->H)), u->lo,
                   u->hi);
}

/* The cells with vmath_fn.h's sigmoid and tanh on 16 units at a time: the generic
 * cells' loops, vectorised by the compiler, computed both branches of every tanh
 * (the LSTM cell took a fifth of an LSTM layer's time at hidden size 128). */
static void lstm_avx512(size_t H, const float *g, const float *xw, float clip, float *c,
                        float *h) {
    for (size_t j = 0; j < H; j += 16) {
        units16 u = units_at(H, j, clip);
        __m512 i = vm_sigmoid(gate16(&u, g, xw, 0)), o = vm_sigmoid(gate16(&u, g, xw, 1));
        __m512 f = vm_sigmoid(gate16(&u, g, xw, 2)), z = vm_tanh(gate16(&u, g, xw, 3));
        __m512 cn = _mm512_fmadd_ps(f, load16(&u, c), _mm512_mul_ps(i, z));
        store16(&u, c, cn);
        store16(&u, h, _mm512_mul_ps(o, vm_tanh(cn)));
    }
}

/* (1 - z) * hh + z * h, as the generic cell rounds it with contracted multiplies */
static inline __m512 gru_mix(__m512 z, __m512 hh, __m512 h) {
    return _mm512_fmadd_ps(z, h, _mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), z), hh));
}

static void gru_zr_avx512(size_t H, float *g, const float *xw, float clip, const float *h,
                          float *rh) {
    for (size_t j = 0; j < H; j += 16) {
        units16 u = units_at(H, j, clip);
        __m512 z = vm_sigmoid(gate16(&u, g, xw, 0)), r = vm_sigmoid(gate16(&u, g, xw, 1));
        store16(&u, g, z);
        store16(&u, rh, _mm512_mul_ps(r, load16(&u, h)));
    }
}

static void gru_h_avx512(size_t H, const float *g, const float *xw, float clip, float *h) {
    for (size_t j = 0; j < H; j += 16) {
        units16 u = units_at(H, j, clip);
        __m512 hh = vm_tanh(gate16(&u, g, xw, 2));
        store16(&u, h, gru_mix(load16(&u, g), hh, load16(&u, h)));
    }
}

static void gru_lbr_avx512(size_t H, const float *g, const float *xw, const float *rb, float clip,
                           float *h) {
    for (size_t j = 0; j < H; j += 16) {
        units16 u = units_at(H, j, clip);
        __m512 z = vm_sigmoid(gate16(&u, g, xw, 0)), r = vm_sigmoid(gate16(&u, g, xw, 1));
        __m512 rg = _mm512_add_ps(load16(&u, g + 2 * H), load16(&u, rb));
        __m512 hh = vm_tanh(clamp16(_mm512_fmadd_ps(r, rg, load16(&u, xw + 2 * H)), u.lo, u.hi));
        store16(&u, h, gru_mix(z, hh, load16(&u, h)));
    }
}

static void rnn_avx512(size_t H, const float *g, const float *xw, float clip, float *h) {
    for (size_t j = 0; j < H; j += 16) {
        units16 u = units_at(H, j, clip);
        store16(&u, h, vm_tanh(gate16(&u, g, xw, 0)));
    }
}

#define RNN_CELL_OWN_GATES
#define RNN_CELL(name) name##_avx512
#include "kernels/rnn_cell.h"
#undef RNN_CELL
#undef RNN_CELL_OWN_GATES

const rnn_kern rnn_kern_avx512 = {
    "avx512",       panel_avx512, lstm_avx512,    gru_zr_avx512, gru_h_avx512,
    gru_lbr_avx512, rnn_avx512,   sigmoid_avx512, tanh_avx512,
};

#endif
