/* kernels/reduce_rows.h on AVX-512: 8 floats at a time widened to double. */
#include "kernels/reduce_rows.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

static inline __m512d term(__m256 v, int squares) {
    __m512d d = _mm512_cvtps_pd(v);
    return squares ? _mm512_mul_pd(d, d) : d;
}

double ox_row_sum_f64_avx512(const float *x, size_t n, int squares) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_pd(a0, term(_mm256_loadu_ps(x + i), squares));
        a1 = _mm512_add_pd(a1, term(_mm256_loadu_ps(x + i + 8), squares));
        a2 = _mm512_add_pd(a2, term(_mm256_loadu_ps(x + i + 16), squares));
        a3 = _mm512_add_pd(a3, term(_mm256_loadu_ps(x + i + 24), squares));
    }
    for (; i < n; i += 8) { /* masked lanes read as 0, which adds nothing */
        size_t k = n - i < 8 ? n - i : 8;
        __m256 v = _mm256_maskz_loadu_ps((__mmask8)((1u << k) - 1u), x + i);
        a0 = _mm512_add_pd(a0, term(v, squares));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

void ox_row_acc_f64_avx512(double *acc, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm512_storeu_pd(acc + i, _mm512_add_pd(_mm512_loadu_pd(acc + i),
                                                _mm512_cvtps_pd(_mm256_loadu_ps(x + i))));
    for (; i < n; i++) acc[i] += (double)x[i];
}

#else
typedef int ox_reduce_rows_avx512_unused; /* keeps the translation unit non-empty */
#endif
