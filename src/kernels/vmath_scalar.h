/* float32 exp, tanh, sigmoid, erf and gelu for one value, written as straight-line
 * code (no calls, no branches, no tables). Accuracy: within 2-3 ulp of the exact
 * result over the whole float range, NaN and infinities as libm. The polynomials
 * are Chebyshev interpolants (near-minimax) fitted for onyx; exp's is a minimax
 * fit for the relative error.
 *
 * These are the reference algorithms: kernels/vmath.h evaluates the same ones over
 * arrays, several lanes at a time (x86/vmath_*.c, vmath_impl.h). Use those for
 * arrays; these for a value here and there (RNN gates, tests). */
#ifndef OX_KERNELS_VMATH_SCALAR_H
#define OX_KERNELS_VMATH_SCALAR_H

#include <stdint.h>
#include <string.h>

static inline float ox_vm_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* 2^n for integral n in [-126, 127] given as a float. */
static inline float ox_vm_pow2i(float n) {
    return ox_vm_bits_f32((uint32_t)((int32_t)n + 127) << 23);
}

static inline float ox_vm_expf(float x) {
    /* e^x = 2^n * e^r, n = round(x / ln2), |r| <= ln2 / 2. Clamping keeps n in
     * [-150, 128] (beyond, the result is 0 or inf anyway) and NaN out of the
     * integer conversion; the NaN is put back at the end. */
    float xc = x < -104.0f ? -104.0f : x > 89.0f ? 89.0f : x;
    xc = x == x ? xc : 0.0f;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (xc * 1.44269504088896341f + shifter) - shifter;
    float r = xc - n * 0.693359375f;  /* ln2 = 0.693359375 - 2.12194440e-4: the first */
    r = r - n * -2.12194440e-4f;      /* part is exact in 10 bits, so n * it is exact */
    float r2 = r * r;
    /* (e^r - 1 - r) / r^2 on [-ln2/2, ln2/2]: minimax for the relative error of
     * e^r (3.1e-9, 0.05 ulp; 3.8e-9 with the coefficients rounded to float) */
    float p = 1.3814610429e-03f;
    p = p * r + 8.3687109873e-03f;
    p = p * r + 4.1668388993e-02f;
    p = p * r + 1.6666521132e-01f;
    p = p * r + 4.9999994040e-01f;
    p = p * r2 + r + 1.0f;
    /* scale in two halves so 2^n never leaves the normal range: -150 <= n <= 128 */
    float h = (float)((int32_t)n >> 1);
    float y = p * ox_vm_pow2i(h) * ox_vm_pow2i(n - h);
    return x == x ? y : x;
}

static inline float ox_vm_sigmoidf(float x) {
    /* e^-|x| never overflows; for x < 0, e^x / (1 + e^x) keeps the tiny tail,
     * rounded once */
    float e = ox_vm_expf(x < 0 ? x : -x);
    return (x >= 0 ? 1.0f : e) / (1.0f + e);
}

static inline float ox_vm_tanhf(float x) {
    float ax = x < 0 ? -x : x;
    /* small |x|: odd minimax polynomial (no cancellation); else 1 - 2/(e^2x + 1) */
    float z = x * x;
    float p = -6.0967141649e-03f;     /* (tanh x - x) / x^3 in z = x^2 on [0, 0.625^2] */
    p = p * z + 2.0997178999e-02f;
    p = p * z - 5.3850909578e-02f;
    p = p * z + 1.3332769737e-01f;
    p = p * z - 3.3333328944e-01f;
    float small = p * z * x + x;
    small = x == 0 ? x : small; /* tanh(-0) = -0, which the sum would make +0 */
    float e = ox_vm_expf(2.0f * (ax > 20.0f ? 20.0f : ax));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : (x == x ? big : x);
}

/* erfc(a) * e^(a^2) for a in [0.9, 6], in s = (2a - 6.9) / 5.1 */
static inline float ox_vm_erfc_scaled(float a) {
    float s = a * (2.0f / 5.1f) - (6.9f / 5.1f);
    float q = 2.434289559e-04f;
    q = q * s - 4.872417397e-04f;
    q = q * s + 4.912796918e-05f;
    q = q * s - 4.552719616e-05f;
    q = q * s + 1.354690395e-03f;
    q = q * s - 2.508511291e-03f;
    q = q * s + 3.527934484e-03f;
    q = q * s - 6.116366244e-03f;
    q = q * s + 1.079826653e-02f;
    q = q * s - 1.802445791e-02f;
    q = q * s + 2.929756152e-02f;
    q = q * s - 4.654963826e-02f;
    q = q * s + 7.199626952e-02f;
    q = q * s - 1.081457896e-01f;
    return q * s + 1.573868256e-01f;
}

/* erf(x) / x as a function of u = x^2 in [0, 0.81], in s = 2u / 0.81 - 1 */
static inline float ox_vm_erf_small(float u) {
    float s = u * (2.0f / 0.81f) - 1.0f;
    float p = 3.763991978e-07f;
    p = p * s - 6.654296658e-06f;
    p = p * s + 1.010980878e-04f;
    p = p * s - 1.305894018e-03f;
    p = p * s + 1.391165900e-02f;
    p = p * s - 1.201502503e-01f;
    return p * s + 9.929032347e-01f;
}

static inline float ox_vm_erff(float x) {
    float ax = x < 0 ? -x : x;
    float small = x * ox_vm_erf_small(x * x);
    /* from 0.9: 1 - erfc; erf is 1 in float from 3.92 on, so clamping is exact */
    float a = ax > 6.0f ? 6.0f : ax;
    float big = 1.0f - ox_vm_expf(-a * a) * ox_vm_erfc_scaled(a);
    big = x < 0 ? -big : big;
    return ax < 0.9f ? small : (x == x ? big : x);
}

/* x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); for x well below 0 the 1 + erf is
 * computed as erfc directly, without cancellation: relative error within 1e-5
 * (the rounding of z = x / sqrt 2, squared in e^-z^2, dominates) down to x = -8.4,
 * where gelu is -1e-16; below that it is 0 within 1e-17. */
static inline float ox_vm_geluf(float x) {
    float z = x * 0.70710678118654752f;
    float az = z < 0 ? -z : z;
    float a = az > 6.0f ? 6.0f : az;
    /* erfc(az) for az >= 0.9; past the fitted range the e^-z^2 factor still decays
     * (and gives 0 at infinity, so gelu(-inf) = -inf * 0 = NaN as the formula) */
    float t = ox_vm_expf(-az * az) * ox_vm_erfc_scaled(a);
    float near0 = 1.0f + z * ox_vm_erf_small(z * z);
    float one_plus_erf = az < 0.9f ? near0 : z < 0 ? t : 2.0f - t;
    return 0.5f * x * one_plus_erf;
}

#endif
