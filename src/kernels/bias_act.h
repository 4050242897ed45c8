/* dst[k] = act(src[k] + b) over a run of floats: the epilogue of the convolution and
 * GEMM paths, where bias and a fused ReLU, Clip, Sigmoid or SiLU are applied to a
 * finished tile while it is in cache. AVX-512 where kernels/cpu.h allows it (one
 * pass: the sigmoid on the sum while it is in registers), else plain loops (and
 * kernels/vmath.h over the result for Sigmoid and SiLU). */
#ifndef OX_KERNELS_BIAS_ACT_H
#define OX_KERNELS_BIAS_ACT_H

#include <stddef.h>

enum {
    OX_BIAS_ONLY = 0,
    OX_BIAS_RELU = 1,
    OX_BIAS_CLIP = 2,
    OX_BIAS_SIGMOID = 3,
    OX_BIAS_SILU = 4,
};

/* kind: OX_BIAS_ONLY, OX_BIAS_RELU (x < 0 ? 0 : x, NaN passes), OX_BIAS_CLIP
 * (max with lo first, then min with hi, as Clip), OX_BIAS_SIGMOID or OX_BIAS_SILU
 * (v * sigmoid(v)): bit for bit what ox_vsigmoid and ox_vsilu give for the sum v.
 * dst may equal src. */
void ox_bias_act(float *dst, const float *src, size_t n, float b, int kind, float lo, float hi);

/* The same over `rows` runs of n floats: dst + r*ldd from src + r*lds with the bias
 * bias[r] (0 when bias is NULL). One call per tile instead of one per row. */
void ox_bias_act_rows(float *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t n,
                      const float *bias, int kind, float lo, float hi);

/* The same with a bias per element: dst[k] = act(src[k] + bias[k]). */
void ox_bias_vec_act(float *dst, const float *src, const float *bias, size_t n, int kind, float lo,
                     float hi);

#if defined(__x86_64__) || defined(__i386__)
/* src/kernels/x86/bias_act_avx512.c */
void ox_bias_act_avx512(float *dst, const float *src, size_t n, float b, int kind, float lo,
                        float hi);
void ox_bias_vec_act_avx512(float *dst, const float *src, const float *bias, size_t n, int kind,
                            float lo, float hi);
void ox_bias_act_rows_avx512(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                             size_t n, const float *bias, int kind, float lo, float hi);
#endif

#endif
