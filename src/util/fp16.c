#if defined(__GNUC__) && !defined(__clang__)
/* The conversions below are branch-free so the bulk loops vectorise; gcc -O2 needs
 * to be asked (and to if-convert float selects, allowed without FP traps, which
 * onyx never enables). */
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#include "util/fp16.h"

#include <math.h>
#include <string.h>

#include "onyx.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- float16 ---------------------------------------------------------------- */

/* static inline cores: exported functions are not inlined under -fPIC */
static inline float f16_to_f32(uint16_t h) {
    uint32_t o = (uint32_t)(h & 0x7fff) << 13; /* exponent and mantissa in place */
    uint32_t e = o & 0x0f800000u;
    o += (uint32_t)(127 - 15) << 23;           /* rebias */
    o += e == 0x0f800000u ? (uint32_t)(128 - 16) << 23 : 0; /* inf/NaN: exponent all ones */
    /* subnormal: let the float unit normalise m * 2^-24 */
    uint32_t sub = f32_bits(bits_f32(o + (1u << 23)) - bits_f32(113u << 23));
    o = e == 0 ? sub : o;
    return bits_f32(o | (uint32_t)(h & 0x8000) << 16);
}

static inline uint16_t f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    /* >= 65536: infinity or NaN (65520..65536 round up to infinity below) */
    uint32_t special = ax > 0x7f800000u ? 0x7e00u : 0x7c00u;
    /* below 2^-14 (half subnormals): adding 0.5 puts the 10 result bits at the
     * bottom of the float's mantissa, rounded to nearest even by the addition */
    uint32_t sub = f32_bits(bits_f32(ax) + 0.5f) - f32_bits(0.5f);
    /* normal: rebias and round to nearest even on the 13 dropped bits */
    uint32_t norm = (ax + ((uint32_t)(15 - 127) << 23) + 0xfffu + ((ax >> 13) & 1)) >> 13;
    uint32_t o = ax >= 0x47800000u ? special : ax < 0x38800000u ? sub : norm;
    return (uint16_t)(o | sign);
}

/* ---- bfloat16 --------------------------------------------------------------- */

float ox_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

static inline uint16_t f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t r = (x + 0x7fffu + ((x >> 16) & 1)) >> 16;
    uint32_t nan = (x >> 16) | 0x40; /* quiet, keeping the sign and top payload */
    return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? nan : r);
}

float ox_f16_to_f32(uint16_t h) { return f16_to_f32(h); }
uint16_t ox_f32_to_f16(float f) { return f32_to_f16(f); }
uint16_t ox_f32_to_bf16(float f) { return f32_to_bf16(f); }

void ox_f16_to_f32_n(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f16_to_f32(src[i]);
}
void ox_f32_to_f16_n(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}
void ox_bf16_to_f32_n(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)src[i] << 16);
}
void ox_f32_to_bf16_n(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

/* ---- generic small formats ---------------------------------------------------
 * A format is sign | exponent | mantissa with the given mantissa width and bias.
 * Codes are compared as magnitudes: everything above max is infinity or NaN. */
typedef struct mf_format {
    int mbits, bias;
    uint32_t max;  /* largest finite magnitude code */
    uint32_t inf;  /* infinity magnitude code, 0 when the format has none */
    uint32_t nan;  /* NaN code (the sign is added, except for fnuz) */
    uint32_t sign; /* the sign bit */
    int fnuz;      /* NaN is the negative-zero pattern; there is no -0 */
} mf_format;

static const mf_format fmt_f16 = {10, 15, 0x7bff, 0x7c00, 0x7e00, 0x8000, 0};
static const mf_format fmt_bf16 = {7, 127, 0x7f7f, 0x7f80, 0x7fc0, 0x8000, 0};
static const mf_format fmt_e4m3fn = {3, 7, 0x7e, 0, 0x7f, 0x80, 0};
static const mf_format fmt_e4m3fnuz = {3, 8, 0x7f, 0, 0x80, 0x80, 1};
static const mf_format fmt_e5m2 = {2, 15, 0x7b, 0x7c, 0x7f, 0x80, 0};
static const mf_format fmt_e5m2fnuz = {2, 16, 0x7f, 0, 0x80, 0x80, 1};
static const mf_format fmt_e2m1 = {1, 1, 0x7, 0, 0, 0x8, 0};

static const mf_format *f8_format(int32_t dtype) {
    switch (dtype) {
    case ONYX_DTYPE_FLOAT8E4M3FN: return &fmt_e4m3fn;
    case ONYX_DTYPE_FLOAT8E4M3FNUZ: return &fmt_e4m3fnuz;
    case ONYX_DTYPE_FLOAT8E5M2: return &fmt_e5m2;
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return &fmt_e5m2fnuz;
    default: return NULL;
    }
}

/* The magnitude code of finite ax >= 0 rounded to nearest-even, with no upper
 * limit on the exponent (the caller checks against max). */
static uint32_t mf_round(double ax, const mf_format *f) {
    if (ax == 0) return 0;
    int e;
    (void)frexp(ax, &e);
    int E = e - 1, emin = 1 - f->bias;
    int qexp = E < emin ? emin : E; /* exponent of the leading mantissa bit */
    /* Scaling by a power of two is exact; q < 2^(mbits+1). Values far below the
     * smallest subnormal scale to (near) zero and round to 0. */
    double q = ldexp(ax, f->mbits - qexp);
    double r = floor(q), frac = q - r;
    if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) != 0)) r += 1;
    uint32_t qi = (uint32_t)r;
    if (E < emin) return qi; /* subnormal; 2^mbits is the smallest normal code */
    if (qi == (2u << f->mbits)) { /* rounding carried into the next binade */
        qi >>= 1;
        E++;
    }
    if (E + f->bias > 0x7fff) return 0xffffffffu;
    return ((uint32_t)(E + f->bias) << f->mbits) | (qi & ((1u << f->mbits) - 1));
}

static uint32_t mf_nan(const mf_format *f, int neg) {
    if (f->fnuz) return f->nan;
    return (neg ? f->sign : 0) | f->nan;
}

static uint32_t mf_encode(double x, const mf_format *f, int saturate) {
    int neg = signbit(x) != 0;
    uint32_t s = neg ? f->sign : 0;
    if (isnan(x)) return f == &fmt_e2m1 ? f->sign : mf_nan(f, neg);
    double ax = fabs(x);
    uint32_t code = isinf(ax) ? 0xffffffffu : mf_round(ax, f);
    if (code > f->max) {
        if (saturate) return s | f->max;
        if (f->inf) return s | f->inf;
        return mf_nan(f, neg);
    }
    if (code == 0 && f->fnuz) return 0;
    return s | code;
}

static double mf_decode(uint32_t v, const mf_format *f) {
    uint32_t mag = v & (f->sign - 1);
    int neg = (v & f->sign) != 0;
    if (f->fnuz && v == f->nan) return NAN;
    if (f->nan && !f->fnuz) {
        if (f->inf && mag == f->inf) return neg ? -INFINITY : INFINITY;
        if (mag > f->max) return NAN;
    }
    uint32_t e = mag >> f->mbits, m = mag & ((1u << f->mbits) - 1);
    double d = e ? ldexp((double)((1u << f->mbits) | m), (int)e - f->bias - f->mbits)
                 : ldexp((double)m, 1 - f->bias - f->mbits);
    return neg ? -d : d;
}

uint16_t ox_f64_to_f16(double d) { return (uint16_t)mf_encode(d, &fmt_f16, 0); }

uint16_t ox_f64_to_bf16(double d) {
    if (isnan(d)) return ox_f32_to_bf16((float)d);
    return (uint16_t)mf_encode(d, &fmt_bf16, 0);
}

float ox_f8_to_f32(uint8_t v, int32_t dtype) {
    const mf_format *f = f8_format(dtype);
    return f ? (float)mf_decode(v, f) : NAN;
}

uint8_t ox_f64_to_f8(double x, int32_t dtype, int saturate) {
    const mf_format *f = f8_format(dtype);
    return f ? (uint8_t)mf_encode(x, f, saturate) : 0;
}

float ox_f4_to_f32(uint8_t v) { return (float)mf_decode(v & 0xf, &fmt_e2m1); }

uint8_t ox_f64_to_f4(double x) { return (uint8_t)mf_encode(x, &fmt_e2m1, 1); }

/* ---- float8e8m0 ---------------------------------------------------------------- */

float ox_e8m0_to_f32(uint8_t v) {
    if (v == 0xff) return NAN;
    /* code c >= 1 is the float32 exponent field c; code 0 is the subnormal 2^-127 */
    return bits_f32(v ? (uint32_t)v << 23 : 0x00400000u);
}

uint8_t ox_f64_to_e8m0(double x, int round_mode, int saturate) {
    if (isnan(x)) return 0xff;
    double ax = fabs(x);
    if (isinf(ax)) return saturate ? 0xfe : 0xff;
    if (ax == 0) return saturate ? 0x00 : 0xff;
    int e;
    double fr = frexp(ax, &e); /* ax = fr * 2^e, fr in [0.5, 1) */
    int r = e - 1;             /* ax = (2 fr) * 2^r with 2 fr in [1, 2) */
    if (round_mode == OX_E8M0_UP) r += fr > 0.5;
    else if (round_mode == OX_E8M0_NEAREST) r += fr >= 0.75;
    if (r > 127) return saturate ? 0xfe : 0xff;
    if (r < -127) return saturate ? 0x00 : 0xff;
    return (uint8_t)(r + 127);
}
