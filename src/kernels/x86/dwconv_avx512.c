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

/* lanes n .. n+15 of lo:hi; n is a constant once inlined, as valignd needs. The
 * instruction is written out: clang turned the intrinsic into a two-source permute,
 * whose index vectors (one per shift) left too few registers for the accumulators and
 * rows, and the spills made the aligned path 3.4x slower than gcc's. */
#define DW_VALIGND(n)                                                                             \
    __asm__("valignd $" #n ", %2, %1, %0" : "=v"(r) : "v"(hi), "v"(lo))
static inline __attribute__((always_inline)) __m512 alignr(__m512 hi, __m512 lo, int n) {
    __m512 r;
    switch (n) {
    case 1: DW_VALIGND(1); return r;
    case 2: DW_VALIGND(2); return r;
    case 3: DW_VALIGND(3); return r;
    case 4: DW_VALIGND(4); return r;
    default: return lo;
    }
}
#undef DW_VALIGND

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
