/* float32 exp, tanh and sigmoid written as straight-line code (no calls, no
 * branches, no tables) so that loops over them vectorise. Accuracy: within 2 ulp
 * of the exact result over the whole float range, NaN and infinities as libm.
 * Other op families may include this for their own loops (softmax, RNN gates). */
#ifndef OX_OPS_ELEM_VMATH_H
#define OX_OPS_ELEM_VMATH_H

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
    float r = xc - n * 0.693359375f;  /* ln2 split in two (Cody-Waite) */
    r = r - n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;       /* minimax polynomial for e^r on [-ln2/2, ln2/2] */
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    /* scale in two halves so 2^n never leaves the normal range: -150 <= n <= 128 */
    float h = (float)((int32_t)n >> 1);
    float y = p * ox_vm_pow2i(h) * ox_vm_pow2i(n - h);
    return x == x ? y : x;
}

static inline float ox_vm_sigmoidf(float x) {
    /* e^-|x| never overflows; for x < 0, e^x / (1 + e^x) keeps the tiny tail */
    float e = ox_vm_expf(x < 0 ? x : -x);
    float s = 1.0f / (1.0f + e);
    return x >= 0 ? s : e * s;
}

static inline float ox_vm_tanhf(float x) {
    float ax = x < 0 ? -x : x;
    /* small |x|: odd minimax polynomial (no cancellation); else 1 - 2/(e^2x + 1) */
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float e = ox_vm_expf(2.0f * (ax > 20.0f ? 20.0f : ax));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : (x == x ? big : x);
}

#endif
