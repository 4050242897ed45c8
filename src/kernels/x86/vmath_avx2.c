/* kernels/vmath.h on 8 lanes of AVX2 + FMA (this file is compiled with -mavx2
 * -mfma; vmath.c calls it only when kernels/cpu.h reports both). Tails go through
 * a local buffer. */
#include "kernels/vmath_ops.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

typedef __m256 vf;
typedef __m256 vm; /* lanes all ones or all zeros */
#define VM_W 8

static inline vf vf_set(float f) { return _mm256_set1_ps(f); }
static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, size_t k, float pad) {
    float t[VM_W] = {pad, pad, pad, pad, pad, pad, pad, pad};
    memcpy(t, p, k * sizeof *p);
    return _mm256_loadu_ps(t);
}
static inline void vf_store_part(float *p, vf v, size_t k) {
    float t[VM_W];
    _mm256_storeu_ps(t, v);
    memcpy(p, t, k * sizeof *p);
}
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
/* max/min return the second operand when either is NaN: a > b ? a : b */
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vf vf_negabs(vf a) { return _mm256_or_ps(a, _mm256_set1_ps(-0.0f)); }
static inline vf vf_sign_to(vf a, vf s) {
    return _mm256_or_ps(a, _mm256_and_ps(s, _mm256_set1_ps(-0.0f)));
}
static inline vm vf_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vm vf_ge(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
static inline vm vf_isnan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline vf vf_sel(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
static inline int vm_all(vm m) { return _mm256_movemask_ps(m) == 0xff; }
static inline vf vf_pow2(vf k) {
    __m256i b = _mm256_castps_si256(_mm256_add_ps(k, _mm256_set1_ps(12582912.0f)));
    b = _mm256_sub_epi32(b, _mm256_set1_epi32(0x4b400000 - 127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(b, 23));
}
static inline double vf_hsum(vf v) {
    __m256d d = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}
static inline float vf_hmax(vf v) {
    float t[VM_W], m;
    _mm256_storeu_ps(t, v);
    m = t[0];
    for (int i = 1; i < VM_W; i++) m = t[i] > m ? t[i] : m;
    return m;
}

#define VM_OPS ox_vmath_avx2
#include "kernels/vmath_impl.h"

#endif
