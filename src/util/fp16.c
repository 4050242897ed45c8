#include "util/fp16.h"

#include <math.h>
#include <string.h>

#include "onyx.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- float16 ---------------------------------------------------------------- */

float ox_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t mag = h & 0x7fff;
    if (mag >= 0x7c00) return bits_f32(sign | 0x7f800000u | ((mag & 0x3ff) << 13));
    if (mag >= 0x0400) return bits_f32(sign | ((mag + ((127 - 15) << 10)) << 13));
    /* subnormal or zero: mag * 2^-24 is exact in float */
    float v = (float)mag * 0x1p-24f;
    return sign ? -v : v;
}

uint16_t ox_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff)); /* quiet NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to infinity */
    if (ax < 0x38800000u) { /* below 2^-14: a half subnormal (quantum 2^-24) or zero */
        if (ax < 0x33000000u) return sign; /* below 2^-25 (2^-25 itself ties to 0) */
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax - ((uint32_t)(127 - 15) << 23);
    uint32_t q = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++; /* a carry moves into the exponent */
    return (uint16_t)(sign | q);
}

/* ---- bfloat16 --------------------------------------------------------------- */

float ox_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ox_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

void ox_f16_to_f32_n(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ox_f16_to_f32(src[i]);
}
void ox_f32_to_f16_n(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ox_f32_to_f16(src[i]);
}
void ox_bf16_to_f32_n(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)src[i] << 16);
}
void ox_f32_to_bf16_n(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ox_f32_to_bf16(src[i]);
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
static const mf_format fmt_e2m1 = {1, 1, 0x7, 0, 0x7, 0x8, 0};

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
    if (isnan(x)) return f == &fmt_e2m1 ? f->max : mf_nan(f, neg);
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
    if (!f->fnuz && f->nan != f->max && f != &fmt_e2m1) {
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
