/* The 16-lane AVX-512 operations that kernels/vmath_fn.h and kernels/vmath_impl.h
 * are written over (the list is in vmath_impl.h), for the files compiled with the
 * AVX-512 flags: x86/vmath_avx512.c (the array functions) and x86/bias_act_avx512.c
 * (bias + sigmoid or SiLU in one pass). Tails use masked loads and stores, which
 * touch no memory in the masked-off lanes. */
#ifndef OX_KERNELS_X86_VMATH_AVX512_LANES_H
#define OX_KERNELS_X86_VMATH_AVX512_LANES_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef __m512 vf;
typedef __mmask16 vm;
#define VM_W 16

static inline __mmask16 vf_lanes(size_t k) { return (__mmask16)((1u << k) - 1u); }
static inline vf vf_set(float f) { return _mm512_set1_ps(f); }
static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_load_part(const float *p, size_t k, float pad) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(pad), vf_lanes(k), p);
}
static inline void vf_store_part(float *p, vf v, size_t k) {
    _mm512_mask_storeu_ps(p, vf_lanes(k), v);
}
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
/* p * 2^n with one rounding, denormal and overflowing results included */
#define VM_SCALEF 1
static inline vf vf_scalef(vf p, vf n) { return _mm512_scalef_ps(p, n); }
/* max/min return the second operand when either is NaN: a > b ? a : b */
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vf_abs(vf a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff)));
}
static inline vf vf_negabs(vf a) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
}
static inline vf vf_sign_to(vf a, vf s) {
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32(INT32_MIN));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), sign));
}
static inline vm vf_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm vf_ge(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline vm vf_isnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vf vf_sel(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
static inline int vm_all(vm m) { return m == 0xffff; }
static inline vf vf_pow2(vf k) {
    __m512i b = _mm512_castps_si512(_mm512_add_ps(k, _mm512_set1_ps(12582912.0f)));
    b = _mm512_sub_epi32(b, _mm512_set1_epi32(0x4b400000 - 127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(b, 23));
}
static inline double vf_hsum(vf v) {
    __m512d d = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                              _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    return _mm512_reduce_add_pd(d);
}
static inline float vf_hmax(vf v) {
    float t[VM_W], m;
    _mm512_storeu_ps(t, v);
    m = t[0];
    for (int i = 1; i < VM_W; i++) m = t[i] > m ? t[i] : m;
    return m;
}

#endif
