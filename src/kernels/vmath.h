/* float32 transcendental functions over arrays, and the row primitives of softmax
 * and layer normalisation.
 *
 * Each function picks, per call, the widest code kernels/cpu.h allows: AVX-512
 * (x86/vmath_avx512.c), AVX2 + FMA (x86/vmath_avx2.c), or portable C (vmath.c).
 * All three evaluate the same algorithms as the scalar versions in
 * kernels/vmath_scalar.h (the vector ones with fused multiply-adds; vmath_fn.h), so
 * they agree to a rounding. Accuracy against the exact result (tests/unit/test_vmath.c
 * checks the bounds on every path over a million floats of every exponent and sign):
 *   exp <= 2 ulp, tanh <= 2, sigmoid <= 3, erf <= 3 (measured over all 2^32 floats
 *   by bench/vmath_exhaustive.c, worst path: 1.01, 1.33, 2.40, 1.92);
 *   gelu (erf form) within 1e-5 relative (5.7e-6 measured, see vmath_scalar.h);
 *   gelu (tanh form) within 2.4e-7 relative plus 1.2e-7 |x| (1 + tanh cancels below
 *   0; half of that measured);
 *   silu/swish within 4 ulp (silu: 3.28 measured) of x * sigmoid(alpha * x), plus |x|
 *   times half the smallest denormal where the sigmoid is a denormal.
 * NaN and infinities come out as libm gives them (tanh and erf keep -0).
 *
 * Arrays: y may be the same array as x (in place) but must not overlap it
 * otherwise. Nothing is read or written past n (tails: masked loads and stores, or a
 * local buffer). */
#ifndef OX_KERNELS_VMATH_H
#define OX_KERNELS_VMATH_H

#include <stddef.h>

/* y[i] = f(x[i]) for i in [0, n) */
void ox_vexp(size_t n, const float *x, float *y);
void ox_vsigmoid(size_t n, const float *x, float *y);
void ox_vtanh(size_t n, const float *x, float *y);
void ox_verf(size_t n, const float *x, float *y);
/* 0.5 x (1 + erf(x / sqrt 2)), with 1 + erf computed as erfc in the negative tail */
void ox_vgelu(size_t n, const float *x, float *y);
/* 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
void ox_vgelu_tanh(size_t n, const float *x, float *y);
/* x * sigmoid(alpha * x); ox_vsilu is alpha = 1 */
void ox_vswish(size_t n, float alpha, const float *x, float *y);
void ox_vsilu(size_t n, const float *x, float *y);

/* ---- softmax rows --------------------------------------------------------- */
/* The largest x[i] (NaN never wins; -inf when n = 0 or all are NaN). */
float ox_vmax(size_t n, const float *x);
/* y[i] = exp(x[i] - shift) (y may be NULL: sum only); returns the sum of those
 * values, added in float lanes that are moved into a double every 1024 values. */
double ox_vexp_sum(size_t n, const float *x, float shift, float *y);
/* Strided softmax (several columns at once): y[i] = exp(x[i] - m[i]), acc[i] += y[i]. */
void ox_vexp_sub_acc(size_t n, const float *x, const float *m, float *y, float *acc);
/* y[i] = x[i] * a */
void ox_vscale(size_t n, const float *x, float a, float *y);
/* y[i] = (x[i] - a) - b: log-softmax's output, rounded as written */
void ox_vsub2(size_t n, const float *x, float a, float b, float *y);

/* ---- normalisation rows --------------------------------------------------- */
/* Mean and population variance of x[0..n) (0 and 0 when n = 0): the sum, then the
 * centred sum of squares with its rounding correction, in float lanes moved into
 * doubles every 1024 values. */
void ox_vmean_var(size_t n, const float *x, double *mean, double *var);
/* The sum of x[i]^2, accumulated the same way. */
double ox_vsum_sq(size_t n, const float *x);
/* The sum of x[i], accumulated the same way. */
double ox_vsum(size_t n, const float *x);
/* y[i] = (x[i] - mean) * inv * scale[i] + bias[i] (bias may be NULL: no term). */
void ox_vnorm_affine(size_t n, const float *x, float mean, float inv, const float *scale,
                     const float *bias, float *y);

/* Which code the functions run now: "avx512", "avx2" or "generic". */
const char *ox_vmath_kernel_name(void);

#endif
