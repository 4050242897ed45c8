/* ox_bias_act on AVX-512: 16 floats per step, the tail through a masked load and
 * store (never touching memory past n). Sigmoid and SiLU are kernels/vmath_fn.h's
 * on the lanes of x86/vmath_avx512.c, so they match ox_vsigmoid and ox_vsilu bit
 * for bit. */
#include "kernels/bias_act.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "kernels/x86/vmath_avx512_lanes.h"
#include "kernels/vmath_fn.h"

/* One vector: relu keeps NaN (x < 0 is false for NaN), as the scalar rule; clip
 * compares the same way, lower bound first. */
static inline __m512 apply(__m512 v, int kind, __m512 lo, __m512 hi) {
    if (kind == OX_BIAS_RELU) {
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mov_ps(v, neg, _mm512_setzero_ps());
    }
    if (kind == OX_BIAS_CLIP) {
        v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, lo, _CMP_LT_OQ), lo);
        return _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, hi, _CMP_GT_OQ), hi);
    }
    if (kind == OX_BIAS_SIGMOID) return vm_sigmoid(v);
    if (kind == OX_BIAS_SILU) return _mm512_mul_ps(v, vm_sigmoid(v));
    return v;
}

static inline __attribute__((always_inline)) void run(float *dst, const float *src, size_t n,
                                                      float b, const int kind, float lo,
                                                      float hi) {
    __m512 vb = _mm512_set1_ps(b), vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    size_t k = 0;
    for (; k + 16 <= n; k += 16)
        _mm512_storeu_ps(dst + k, apply(_mm512_add_ps(_mm512_loadu_ps(src + k), vb), kind, vlo, vhi));
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, src + k), vb);
        _mm512_mask_storeu_ps(dst + k, m, apply(v, kind, vlo, vhi));
    }
}

static inline __attribute__((always_inline)) void run_vec(float *dst, const float *src,
                                                          const float *bias, size_t n,
                                                          const int kind, float lo, float hi) {
    __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(src + k), _mm512_loadu_ps(bias + k));
        _mm512_storeu_ps(dst + k, apply(v, kind, vlo, vhi));
    }
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, src + k), _mm512_maskz_loadu_ps(m, bias + k));
        _mm512_mask_storeu_ps(dst + k, m, apply(v, kind, vlo, vhi));
    }
}

void ox_bias_vec_act_avx512(float *dst, const float *src, const float *bias, size_t n, int kind,
                            float lo, float hi) {
    switch (kind) {
    case OX_BIAS_RELU: run_vec(dst, src, bias, n, OX_BIAS_RELU, lo, hi); break;
    case OX_BIAS_CLIP: run_vec(dst, src, bias, n, OX_BIAS_CLIP, lo, hi); break;
    case OX_BIAS_SIGMOID: run_vec(dst, src, bias, n, OX_BIAS_SIGMOID, lo, hi); break;
    case OX_BIAS_SILU: run_vec(dst, src, bias, n, OX_BIAS_SILU, lo, hi); break;
    default: run_vec(dst, src, bias, n, OX_BIAS_ONLY, lo, hi); break;
    }
}

void ox_bias_act_avx512(float *dst, const float *src, size_t n, float b, int kind, float lo,
                        float hi) {
    switch (kind) {
    case OX_BIAS_RELU: run(dst, src, n, b, OX_BIAS_RELU, lo, hi); break;
    case OX_BIAS_CLIP: run(dst, src, n, b, OX_BIAS_CLIP, lo, hi); break;
    case OX_BIAS_SIGMOID: run(dst, src, n, b, OX_BIAS_SIGMOID, lo, hi); break;
    case OX_BIAS_SILU: run(dst, src, n, b, OX_BIAS_SILU, lo, hi); break;
    default: run(dst, src, n, b, OX_BIAS_ONLY, lo, hi); break;
    }
}

void ox_bias_act_rows_avx512(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                             size_t n, const float *bias, int kind, float lo, float hi) {
    for (size_t r = 0; r < rows; r++) {
        float b = bias ? bias[r] : 0.0f;
        switch (kind) {
        case OX_BIAS_RELU: run(dst + r * ldd, src + r * lds, n, b, OX_BIAS_RELU, lo, hi); break;
        case OX_BIAS_CLIP: run(dst + r * ldd, src + r * lds, n, b, OX_BIAS_CLIP, lo, hi); break;
        case OX_BIAS_SIGMOID:
            run(dst + r * ldd, src + r * lds, n, b, OX_BIAS_SIGMOID, lo, hi);
            break;
        case OX_BIAS_SILU: run(dst + r * ldd, src + r * lds, n, b, OX_BIAS_SILU, lo, hi); break;
        default: run(dst + r * ldd, src + r * lds, n, b, OX_BIAS_ONLY, lo, hi); break;
        }
    }
}

#else
typedef int ox_bias_act_avx512_unused;
#endif
