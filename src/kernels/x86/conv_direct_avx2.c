/* Direct convolution on AVX2 + FMA: 8-float vectors, tiles of 4 output channels x
 * up to 2 vectors along x (8 accumulators of the 16 registers), masked loads and
 * stores for the row ends and an in-register split of even and odd columns for
 * stride 2. conv_direct.c calls it only when kernels/cpu.h reports AVX2 and FMA. */
#include "kernels/conv_direct_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

/* lanes [0, n) set: a window into eight ones then eight zeros */
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
static inline __m256i lanes(size_t n) {
    return _mm256_loadu_si256((const __m256i *)(const void *)(mask_tab + 8 - n));
}

static inline void split2(float *d0, float *d1, const float *s) {
    __m256 a = _mm256_loadu_ps(s), b = _mm256_loadu_ps(s + 8);
    __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)); /* a1 a3 b1 b3 | a5 a7 b5 b7 */
    _mm256_storeu_ps(d0, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e),
                                                                _MM_SHUFFLE(3, 1, 2, 0))));
    _mm256_storeu_ps(d1, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o),
                                                                _MM_SHUFFLE(3, 1, 2, 0))));
}

#define CD_VEC __m256
#define CD_V 8
#define CD_XV 2
#define CD_LOAD(p) _mm256_loadu_ps(p)
#define CD_STORE(p, v) _mm256_storeu_ps(p, v)
#define CD_LOADN(p, n) _mm256_maskload_ps(p, lanes(n))
#define CD_STOREN(p, v, n) _mm256_maskstore_ps(p, lanes(n), v)
#define CD_SET1(x) _mm256_set1_ps(x)
#define CD_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define CD_ADD(a, b) _mm256_add_ps(a, b)
/* max/min return their second operand when either is NaN: exactly Clip's order */
#define CD_CLAMP(v, lo, hi) _mm256_min_ps(hi, _mm256_max_ps(lo, v))
#define CD_SPLIT2(d0, d1, s) split2(d0, d1, s)
#define CD_NAME(x) x##_avx2
#include "kernels/conv_direct_body.h"

#endif
