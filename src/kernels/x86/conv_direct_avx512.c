/* Direct convolution on AVX-512: 16-float vectors, tiles of 4 output channels x up
 * to 6 vectors along x (24 accumulators, 6 inputs, 1 broadcast weight: 31 of the 32
 * registers; per tap 10 loads feed 24 FMAs), mask registers for the row ends and
 * two-source permutes for the even and odd columns of stride 2. conv_direct.c calls
 * it only when kernels/cpu.h reports AVX-512 (F, DQ, VL, BW) with AVX2 and FMA. */
#include "kernels/conv_direct_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

static inline __mmask16 lanes(size_t n) { return (__mmask16)((1u << n) - 1u); }

static inline void split2(float *d0, float *d1, const float *s) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a = _mm512_loadu_ps(s), b = _mm512_loadu_ps(s + 16);
    _mm512_storeu_ps(d0, _mm512_permutex2var_ps(a, ev, b));
    _mm512_storeu_ps(d1, _mm512_permutex2var_ps(a, od, b));
}

#define CD_VEC __m512
#define CD_V 16
#define CD_XV 6
#define CD_LOAD(p) _mm512_loadu_ps(p)
#define CD_STORE(p, v) _mm512_storeu_ps(p, v)
#define CD_LOADN(p, n) _mm512_maskz_loadu_ps(lanes(n), p)
#define CD_STOREN(p, v, n) _mm512_mask_storeu_ps(p, lanes(n), v)
#define CD_SET1(x) _mm512_set1_ps(x)
#define CD_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define CD_ADD(a, b) _mm512_add_ps(a, b)
/* max/min return their second operand when either is NaN: exactly Clip's order */
#define CD_CLAMP(v, lo, hi) _mm512_min_ps(hi, _mm512_max_ps(lo, v))
#define CD_SPLIT2(d0, d1, s) split2(d0, d1, s)
#define CD_NAME(x) x##_avx512
#include "kernels/conv_direct_body.h"

#endif
