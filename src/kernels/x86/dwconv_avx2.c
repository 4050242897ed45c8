/* Depthwise convolution on AVX2 + FMA: 8-float vectors, masked loads and stores for
 * the row ends, and an in-register split of even columns for stride 2. dwconv.c
 * calls it only when kernels/cpu.h reports AVX2 and FMA. */
#include "kernels/dwconv_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

typedef __m256 dw_vec;
#define DW_V 8

/* lanes [0, n) set: a window into eight ones then eight zeros */
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i lanes(size_t n) {
    return _mm256_loadu_si256((const __m256i *)(const void *)(mask_tab + 8 - n));
}

static inline __m256 even2(__m256 a, __m256 b) {
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 odd2(__m256 a, __m256 b) {
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)); /* a1 a3 b1 b3 | a5 a7 b5 b7 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

#define DW_LOAD(p) _mm256_loadu_ps(p)
#define DW_STORE(p, v) _mm256_storeu_ps(p, v)
#define DW_LOADN(p, n) _mm256_maskload_ps(p, lanes(n))
#define DW_STOREN(p, v, n) _mm256_maskstore_ps(p, lanes(n), v)
#define DW_SET1(x) _mm256_set1_ps(x)
#define DW_ZERO() _mm256_setzero_ps()
#define DW_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
/* max/min return their second operand when either is NaN: exactly Clip's order */
#define DW_CLAMP(v, lo, hi) _mm256_min_ps(hi, _mm256_max_ps(lo, v))
#define DW_EVEN(a, b) even2(a, b)
#define DW_ODD(a, b) odd2(a, b)
#define DW_NAME(x) x##_avx2
#include "kernels/dwconv_body.h"

#endif
