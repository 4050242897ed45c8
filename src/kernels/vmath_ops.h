/* The per-instruction-set tables behind kernels/vmath.h (one per vmath_impl.h
 * instantiation); vmath.c picks one per call. */
#ifndef OX_KERNELS_VMATH_OPS_H
#define OX_KERNELS_VMATH_OPS_H

#include <stddef.h>

typedef void (*ox_vmath_map_fn)(size_t n, const float *x, float *y);

typedef struct ox_vmath_ops {
    ox_vmath_map_fn exp, sigmoid, tanh, erf, gelu, gelu_tanh;
    void (*swish)(size_t n, float alpha, const float *x, float *y);
    float (*max)(size_t n, const float *x);
    double (*exp_sum)(size_t n, const float *x, float shift, float *y);
    void (*exp_sub_acc)(size_t n, const float *x, const float *m, float *y, float *acc);
    void (*scale)(size_t n, const float *x, float a, float *y);
    void (*sub2)(size_t n, const float *x, float a, float b, float *y);
    void (*mean_var)(size_t n, const float *x, double *mean, double *var);
    double (*sum_sq)(size_t n, const float *x);
    double (*sum)(size_t n, const float *x);
    void (*norm_affine)(size_t n, const float *x, float mean, float inv, const float *scale,
                        const float *bias, float *y);
} ox_vmath_ops;

extern const ox_vmath_ops ox_vmath_generic;
#if defined(__x86_64__) || defined(__i386__)
extern const ox_vmath_ops ox_vmath_avx2;   /* x86/vmath_avx2.c */
extern const ox_vmath_ops ox_vmath_avx512; /* x86/vmath_avx512.c */
#endif

#endif
