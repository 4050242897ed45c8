/* 8 x 8 float transposes in AVX2 registers, shared by the x86 packing routines
 * (include only from files compiled with -mavx2). */
#ifndef OX_KERNELS_X86_TRANSPOSE_AVX2_H
#define OX_KERNELS_X86_TRANSPOSE_AVX2_H

#include <immintrin.h>
#include <stddef.h>

/* out[q] = (row[0][p+q], ..., row[7][p+q]) for q < 8, rows n and beyond reading as
 * zero. Rows r and r+4 share a register (4 floats each), so the transpose needs
 * only in-lane shuffles. n is a constant at the hot call sites. */
static inline __attribute__((always_inline)) void
load_transposed8(const float *const row[8], size_t n, size_t p, __m256 out[8]) {
    __m256 x[4], y[4];
    for (size_t r = 0; r < 4; r++) {
        __m128 z = _mm_setzero_ps();
        __m128 l0 = r < n ? _mm_loadu_ps(row[r] + p) : z;
        __m128 l1 = r < n ? _mm_loadu_ps(row[r] + p + 4) : z;
        __m128 h0 = r + 4 < n ? _mm_loadu_ps(row[r + 4] + p) : z;
        __m128 h1 = r + 4 < n ? _mm_loadu_ps(row[r + 4] + p + 4) : z;
        x[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(l0), h0, 1);
        y[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(l1), h1, 1);
    }
    for (int half = 0; half < 2; half++) {
        __m256 *v = half ? y : x;
        __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
        __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
        out[4 * half + 0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        out[4 * half + 1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        out[4 * half + 2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        out[4 * half + 3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    }
}

#endif
