/* Depthwise convolution on AVX-512: 16-float vectors, mask registers for the row
 * ends and one two-source permute for the even columns of stride 2. dwconv.c calls
 * it only when kernels/cpu.h reports AVX-512 (F, DQ, VL, BW) with AVX2 and FMA. */
#include "kernels/dwconv_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

typedef __m512 dw_vec;
#define DW_V 16

static inline __mmask16 lanes(size_t n) { return (__mmask16)((1u << n) - 1u); }

static inline __m512 even2(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}

static inline __m512 odd2(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}

/* lanes n .. n+15 of lo:hi; n is a constant once inlined, as valignd needs */
static inline __attribute__((always_inline)) __m512 alignr(__m512 hi, __m512 lo, int n) {
    __m512i h = _mm512_castps_si512(hi), l = _mm512_castps_si512(lo);
    switch (n) {
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 2));
    case 3: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 3));
    case 4: return _mm512_castsi512_ps(_mm512_alignr_epi32(h, l, 4));
    default: return lo;
    }
}

#define DW_LOAD(p) _mm512_loadu_ps(p)
#define DW_STORE(p, v) _mm512_storeu_ps(p, v)
#define DW_LOADN(p, n) _mm512_maskz_loadu_ps(lanes(n), p)
#define DW_STOREN(p, v, n) _mm512_mask_storeu_ps(p, lanes(n), v)
#define DW_SET1(x) _mm512_set1_ps(x)
#define DW_ZERO() _mm512_setzero_ps()
#define DW_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
/* max/min return their second operand when either is NaN: exactly Clip's order */
#define DW_CLAMP(v, lo, hi) _mm512_min_ps(hi, _mm512_max_ps(lo, v))
#define DW_EVEN(a, b) even2(a, b)
#define DW_ODD(a, b) odd2(a, b)
#define DW_LOADA(p) _mm512_load_ps(p)
#define DW_ALIGNR(hi, lo, n) alignr(hi, lo, n)
#define DW_COMPRESS(v, m) _mm512_maskz_compress_ps((__mmask16)(m), v)
#define DW_NAME(x) x##_avx512
#include "kernels/dwconv_body.h"

#endif
