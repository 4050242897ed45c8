/* Cast and CastLike, and the generic element loaders/storers other ops reuse.
 *
 * Conversions between the plain C types (bool, 8..64-bit integers, float32,
 * float64) and float16/bfloat16 <-> float32 are direct loops. Everything else goes
 * through a chunk of doubles (float sources) or 64-bit integer bits (integer
 * sources), so integers stay exact and floats are rounded once.
 *
 * Rules (ONNX Cast): float -> integer truncates toward zero, then keeps the low
 * bits (out-of-range values are undefined in the spec: NaN gives 0, values beyond
 * 64 bits saturate first); integer -> narrower integer keeps the low bits; to bool
 * is "non-zero" (NaN is true); float -> 4- and 2-bit integers rounds half to even
 * first; float8 saturates per the 'saturate' attribute; float8e8m0 also rounds per
 * 'round_mode' (up, down, nearest; see util/fp16.h). Strings: numbers print as the
 * shortest text that reads back to the same value, numpy style ("1.0", "0.001",
 * "1e-05", "nan", "inf"; scientific from 1e16 for float64, 1e6 for float32 and
 * the other small formats, 1e3 for float16, as numpy 2.3 prints), booleans as "True"/"False"; text parses with strtod
 * (so "INF", "-inf", "NaN" in any case), integers exactly when the text is an
 * integer, "true"/"false" for bool; text that is not a number gives NaN (or 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops/elem_common.h"
#include "util/alloc.h"
#include "util/fp16.h"
#include "util/threadpool.h"

#define CHUNK 256

/* ---- type classes ---------------------------------------------------------- */

static int is_int_like(int32_t dt) { return ox_dtype_is_int(dt) || dt == ONYX_DTYPE_BOOL; }

static int is_float_like(int32_t dt) { return ox_dtype_is_float(dt); }

static int castable(int32_t dt) {
    return is_int_like(dt) || is_float_like(dt) || dt == ONYX_DTYPE_STRING;
}

/* ---- loaders and storers ------------------------------------------------------ */

#define LOAD_CASE(T, DT, CONV)                                                             \
    case ONYX_DTYPE_##DT: {                                                                \
        const T *p = (const T *)base + off;                                                \
        for (size_t i = 0; i < n; i++) out[i] = CONV(p[i * step]);                         \
        break;                                                                             \
    }
#define AS_F64(v) ((double)(v))
#define AS_I64(v) ((int64_t)(v))
#define F16_F64(v) ((double)ox_f16_to_f32(v))
#define BF16_F64(v) ((double)ox_bf16_to_f32(v))
#define F4_F64(v) ((double)ox_f4_to_f32(v))
#define U4_F64(v) ((double)((v) & 0xf))
#define U4_I64(v) ((int64_t)((v) & 0xf))
#define U2_F64(v) ((double)((v) & 0x3))
#define U2_I64(v) ((int64_t)((v) & 0x3))
#define E8M0_F64(v) ((double)ox_e8m0_to_f32(v))

#define INT_LOADS(CONV)                                                                    \
    LOAD_CASE(int8_t, INT8, CONV)                                                          \
    LOAD_CASE(int16_t, INT16, CONV)                                                        \
    LOAD_CASE(int32_t, INT32, CONV)                                                        \
    LOAD_CASE(int64_t, INT64, CONV)                                                        \
    LOAD_CASE(uint8_t, UINT8, CONV)                                                        \
    LOAD_CASE(uint16_t, UINT16, CONV)                                                      \
    LOAD_CASE(uint32_t, UINT32, CONV)                                                      \
    LOAD_CASE(uint64_t, UINT64, CONV)                                                      \
    LOAD_CASE(uint8_t, BOOL, CONV)                                                         \
    LOAD_CASE(int8_t, INT4, CONV)                                                          \
    LOAD_CASE(int8_t, INT2, CONV)

void elem_load_f64(int32_t dt, const void *base, size_t off, size_t step, size_t n, double *out) {
    switch (dt) {
        INT_LOADS(AS_F64)
        LOAD_CASE(uint8_t, UINT4, U4_F64)
        LOAD_CASE(uint8_t, UINT2, U2_F64)
        LOAD_CASE(uint8_t, FLOAT8E8M0, E8M0_F64)
        LOAD_CASE(float, FLOAT, AS_F64)
        LOAD_CASE(double, DOUBLE, AS_F64)
        LOAD_CASE(uint16_t, FLOAT16, F16_F64)
        LOAD_CASE(uint16_t, BFLOAT16, BF16_F64)
        LOAD_CASE(uint8_t, FLOAT4E2M1, F4_F64)
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: {
        const uint8_t *p = (const uint8_t *)base + off;
        for (size_t i = 0; i < n; i++) out[i] = ox_f8_to_f32(p[i * step], dt);
        break;
    }
    default:
        for (size_t i = 0; i < n; i++) out[i] = 0;
    }
}

void elem_load_i64(int32_t dt, const void *base, size_t off, size_t step, size_t n, int64_t *out) {
    switch (dt) {
        INT_LOADS(AS_I64)
        LOAD_CASE(uint8_t, UINT4, U4_I64)
        LOAD_CASE(uint8_t, UINT2, U2_I64)
    default: {
        double tmp[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t m = n - i < CHUNK ? n - i : CHUNK;
            elem_load_f64(dt, base, off + i * step, step, m, tmp);
            for (size_t k = 0; k < m; k++) out[i + k] = (int64_t)elem_f2bits(tmp[k]);
        }
    }
    }
}

#define STORE_CASE(T, DT, CONV)                                                            \
    case ONYX_DTYPE_##DT: {                                                                \
        T *p = (T *)base + off;                                                            \
        for (size_t i = 0; i < n; i++) p[i] = CONV(v[i]);                                  \
        break;                                                                             \
    }
#define TO_BOOL(x) ((uint8_t)((x) != 0))
#define TO_INT4(b) ((int8_t)((int)((b) & 0xf) ^ 8) - 8)
#define TO_UINT4(b) ((uint8_t)((b) & 0xf))
#define TO_INT2(b) ((int8_t)((int)((b) & 0x3) ^ 2) - 2)
#define TO_UINT2(b) ((uint8_t)((b) & 0x3))

void elem_store_i64(int32_t dt, const int64_t *v, size_t n, void *base, size_t off) {
    switch (dt) {
        STORE_CASE(int8_t, INT8, (int8_t))
        STORE_CASE(int16_t, INT16, (int16_t))
        STORE_CASE(int32_t, INT32, (int32_t))
        STORE_CASE(int64_t, INT64, (int64_t))
        STORE_CASE(uint8_t, UINT8, (uint8_t))
        STORE_CASE(uint16_t, UINT16, (uint16_t))
        STORE_CASE(uint32_t, UINT32, (uint32_t))
        STORE_CASE(uint64_t, UINT64, (uint64_t))
        STORE_CASE(uint8_t, BOOL, TO_BOOL)
        STORE_CASE(int8_t, INT4, (int8_t)TO_INT4)
        STORE_CASE(uint8_t, UINT4, TO_UINT4)
        STORE_CASE(int8_t, INT2, (int8_t)TO_INT2)
        STORE_CASE(uint8_t, UINT2, TO_UINT2)
    default: {
        double tmp[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t m = n - i < CHUNK ? n - i : CHUNK;
            for (size_t k = 0; k < m; k++) tmp[k] = (double)v[i + k];
            elem_store_f64(dt, tmp, m, base, off + i, 1);
        }
    }
    }
}

static double rne(double x) { return x - remainder(x, 1.0); }

#define F2I(T) (T) elem_f2bits
#define F2I4(x) TO_INT4(elem_f2bits(rne(x)))
#define F2U4(x) TO_UINT4(elem_f2bits(rne(x)))
#define F2I2(x) TO_INT2(elem_f2bits(rne(x)))
#define F2U2(x) TO_UINT2(elem_f2bits(rne(x)))
#define TO_F16(x) ox_f64_to_f16(x)
#define TO_BF16(x) ox_f64_to_bf16(x)
#define TO_F4(x) ox_f64_to_f4(x)

void elem_store_f64(int32_t dt, const double *v, size_t n, void *base, size_t off, int saturate) {
    switch (dt) {
        STORE_CASE(float, FLOAT, (float))
        STORE_CASE(double, DOUBLE, (double))
        STORE_CASE(uint16_t, FLOAT16, TO_F16)
        STORE_CASE(uint16_t, BFLOAT16, TO_BF16)
        STORE_CASE(uint8_t, FLOAT4E2M1, TO_F4)
        STORE_CASE(int8_t, INT8, F2I(int8_t))
        STORE_CASE(int16_t, INT16, F2I(int16_t))
        STORE_CASE(int32_t, INT32, F2I(int32_t))
        STORE_CASE(int64_t, INT64, F2I(int64_t))
        STORE_CASE(uint8_t, UINT8, F2I(uint8_t))
        STORE_CASE(uint16_t, UINT16, F2I(uint16_t))
        STORE_CASE(uint32_t, UINT32, F2I(uint32_t))
        STORE_CASE(uint64_t, UINT64, F2I(uint64_t))
        STORE_CASE(uint8_t, BOOL, TO_BOOL)
        STORE_CASE(int8_t, INT4, (int8_t)F2I4)
        STORE_CASE(uint8_t, UINT4, F2U4)
        STORE_CASE(int8_t, INT2, (int8_t)F2I2)
        STORE_CASE(uint8_t, UINT2, F2U2)
    case ONYX_DTYPE_FLOAT8E8M0: {
        uint8_t *p = (uint8_t *)base + off;
        for (size_t i = 0; i < n; i++) p[i] = ox_f64_to_e8m0(v[i], OX_E8M0_UP, saturate);
        break;
    }
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: {
        uint8_t *p = (uint8_t *)base + off;
        for (size_t i = 0; i < n; i++) p[i] = ox_f64_to_f8(v[i], dt, saturate);
        break;
    }
    default: break;
    }
}

/* ---- direct loops between plain C types ------------------------------------------
 * X(sfx, C type, dtype, kind): kind I = integer, F = float, B = bool. */
#define NATIVE_A(X, ...)                                                                   \
    X(__VA_ARGS__, i8, int8_t, INT8, I) X(__VA_ARGS__, i16, int16_t, INT16, I)              \
    X(__VA_ARGS__, i32, int32_t, INT32, I) X(__VA_ARGS__, i64, int64_t, INT64, I)           \
    X(__VA_ARGS__, u8, uint8_t, UINT8, I) X(__VA_ARGS__, u16, uint16_t, UINT16, I)          \
    X(__VA_ARGS__, u32, uint32_t, UINT32, I) X(__VA_ARGS__, u64, uint64_t, UINT64, I)       \
    X(__VA_ARGS__, f32, float, FLOAT, F) X(__VA_ARGS__, f64, double, DOUBLE, F)             \
    X(__VA_ARGS__, b, uint8_t, BOOL, B)
#define NATIVE_B(X)                                                                        \
    X(i8, int8_t, INT8, I) X(i16, int16_t, INT16, I) X(i32, int32_t, INT32, I)              \
    X(i64, int64_t, INT64, I) X(u8, uint8_t, UINT8, I) X(u16, uint16_t, UINT16, I)          \
    X(u32, uint32_t, UINT32, I) X(u64, uint64_t, UINT64, I) X(f32, float, FLOAT, F)         \
    X(f64, double, DOUBLE, F) X(b, uint8_t, BOOL, B)

#define CV_II(D, v) (D)(v)
#define CV_IF(D, v) (D)(v)
#define CV_IB(D, v) (D)((v) != 0)
#define CV_FI(D, v) (D) elem_f2bits(v)
#define CV_FF(D, v) (D)(v)
#define CV_FB(D, v) (D)((v) != 0)
#define CV_BI(D, v) (D)(v)
#define CV_BF(D, v) (D)(v)
#define CV_BB(D, v) (D)((v) != 0)

typedef void (*cv_fn)(const void *src, void *dst, size_t n);

#define CV_FN(ssfx, S, SDT, SK, dsfx, D, DDT, DK)                                          \
    static void cv_##ssfx##_##dsfx(const void *src, void *dst, size_t n) {                 \
        const S *s = src;                                                                  \
        D *d = dst;                                                                        \
        for (size_t i = 0; i < n; i++) d[i] = CV_##SK##DK(D, s[i]);                        \
    }
#define CV_ROW(ssfx, S, SDT, SK) NATIVE_A(CV_FN, ssfx, S, SDT, SK)
NATIVE_B(CV_ROW)

#define CV_ENTRY(ssfx, S, SDT, SK, dsfx, D, DDT, DK)                                       \
    [ONYX_DTYPE_##SDT][ONYX_DTYPE_##DDT] = cv_##ssfx##_##dsfx,
#define CV_TROW(ssfx, S, SDT, SK) NATIVE_A(CV_ENTRY, ssfx, S, SDT, SK)

static void cv_f16_f32(const void *s, void *d, size_t n) { ox_f16_to_f32_n(s, d, n); }
static void cv_f32_f16(const void *s, void *d, size_t n) { ox_f32_to_f16_n(s, d, n); }
static void cv_bf16_f32(const void *s, void *d, size_t n) { ox_bf16_to_f32_n(s, d, n); }
static void cv_f32_bf16(const void *s, void *d, size_t n) { ox_f32_to_bf16_n(s, d, n); }

static const cv_fn cv_table[ELEM_NTYPES][ELEM_NTYPES] = {
    NATIVE_B(CV_TROW)
    [ONYX_DTYPE_FLOAT16][ONYX_DTYPE_FLOAT] = cv_f16_f32,
    [ONYX_DTYPE_FLOAT][ONYX_DTYPE_FLOAT16] = cv_f32_f16,
    [ONYX_DTYPE_BFLOAT16][ONYX_DTYPE_FLOAT] = cv_bf16_f32,
    [ONYX_DTYPE_FLOAT][ONYX_DTYPE_BFLOAT16] = cv_f32_bf16,
};

/* ---- strings ------------------------------------------------------------------- */

/* The value as the source type would round it (to test a printed value). */
static double round_to(double v, int32_t dt) {
    switch (dt) {
    case ONYX_DTYPE_FLOAT: return (double)(float)v;
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(ox_f64_to_f16(v));
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(ox_f64_to_bf16(v));
    case ONYX_DTYPE_FLOAT4E2M1: return ox_f4_to_f32(ox_f64_to_f4(v));
    case ONYX_DTYPE_FLOAT8E8M0: return ox_e8m0_to_f32(ox_f64_to_e8m0(v, OX_E8M0_NEAREST, 1));
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return ox_f8_to_f32(ox_f64_to_f8(v, dt, 1), dt);
    default: return v;
    }
}

/* Shortest round-trip text of v (a value of float type dt), numpy style. */
static void format_float(char *out, size_t cap, double v, int32_t dt) {
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* numpy prints positionally from 1e-4 up to a per-type limit, then switches
     * to scientific notation */
    double limit = dt == ONYX_DTYPE_DOUBLE ? 1e16 : dt == ONYX_DTYPE_FLOAT16 ? 1e3 : 1e6;
    int positional = fabs(v) >= 1e-4 && fabs(v) < limit;
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        if (round_to(strtod(sci, NULL), dt) == v) break;
    }
    /* sci is [-]d[.ddd]e[+-]xx: split into digits and exponent */
    char digits[24];
    size_t nd = 0;
    const char *q = sci;
    int neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    size_t o = 0;
    char buf[64];
    if (neg) buf[o++] = '-';
    if (positional) {
        if (exp10 < 0) {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int k = 0; k < -exp10 - 1; k++) buf[o++] = '0';
            for (size_t k = 0; k < nd; k++) buf[o++] = digits[k];
        } else {
            for (int k = 0; k <= exp10; k++) buf[o++] = (size_t)k < nd ? digits[k] : '0';
            buf[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t k = (size_t)exp10 + 1; k < nd; k++) buf[o++] = digits[k];
            else
                buf[o++] = '0';
        }
        buf[o] = 0;
    } else {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            for (size_t k = 1; k < nd; k++) buf[o++] = digits[k];
        }
        snprintf(buf + o, sizeof buf - o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
    snprintf(out, cap, "%s", buf);
}

static onyx_status set_string(ox_string *s, const char *text) {
    ox_string src = {(char *)text, strlen(text)};
    return elem_string_copy(s, &src);
}

/* Text -> number. *is_int is set when the whole text is an integer (then *iv
 * holds it exactly); *fv always holds the value as a double (NaN if not a number). */
static void parse_number(const ox_string *s, double *fv, int64_t *iv, int *is_int) {
    char buf[128];
    size_t n = s->len < sizeof buf - 1 ? s->len : sizeof buf - 1;
    if (n) memcpy(buf, s->data, n);
    buf[n] = 0;
    char *end;
    *is_int = 0;
    *fv = NAN;
    *iv = 0;
    const char *p = buf;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return;
    if (strcasecmp(p, "true") == 0 || strcasecmp(p, "false") == 0) {
        *is_int = 1;
        *iv = (p[0] == 't' || p[0] == 'T');
        *fv = (double)*iv;
        return;
    }
    if (*p == '-') {
        long long v = strtoll(p, &end, 10);
        if (end != p && *end == 0) {
            *is_int = 1;
            *iv = v;
        }
    } else {
        unsigned long long v = strtoull(p, &end, 10);
        if (end != p && *end == 0) {
            *is_int = 1;
            *iv = (int64_t)v;
        }
    }
    double d = strtod(p, &end);
    if (end != p) *fv = d;
}

/* ---- the op ------------------------------------------------------------------ */

typedef struct cast_job {
    int32_t from, to;
    const unsigned char *x;
    unsigned char *y;
    size_t ex, ey;
    int saturate, round_mode;
    onyx_status status; /* string conversions only (those run on one thread) */
} cast_job;

/* Store m doubles as y's type, rounding float8e8m0 per the node's round_mode. */
static void store_doubles(const cast_job *j, const double *v, size_t m, size_t at) {
    if (j->to == ONYX_DTYPE_FLOAT8E8M0) {
        uint8_t *p = j->y + at;
        for (size_t k = 0; k < m; k++) p[k] = ox_f64_to_e8m0(v[k], j->round_mode, j->saturate);
    } else {
        elem_store_f64(j->to, v, m, j->y, at, j->saturate);
    }
}

static void cast_strings_from(cast_job *j, size_t begin, size_t end) {
    const ox_string *xs = (const ox_string *)(const void *)j->x;
    int four_bit = j->to == ONYX_DTYPE_INT4 || j->to == ONYX_DTYPE_UINT4 ||
                   j->to == ONYX_DTYPE_INT2 || j->to == ONYX_DTYPE_UINT2;
    double fv[CHUNK];
    int64_t iv[CHUNK];
    for (size_t i = begin; i < end; i += CHUNK) {
        size_t m = end - i < CHUNK ? end - i : CHUNK;
        for (size_t k = 0; k < m; k++) {
            int is_int;
            parse_number(&xs[i + k], &fv[k], &iv[k], &is_int);
            if (j->to == ONYX_DTYPE_BOOL) iv[k] = fv[k] != 0;
            else if (!is_int) iv[k] = (int64_t)elem_f2bits(four_bit ? rne(fv[k]) : fv[k]);
        }
        if (is_int_like(j->to)) {
            elem_store_i64(j->to, iv, m, j->y, i);
        } else {
            store_doubles(j, fv, m, i);
        }
    }
}

static void cast_strings_to(cast_job *j, size_t begin, size_t end) {
    ox_string *ys = (ox_string *)(void *)j->y;
    char text[64];
    double fv[CHUNK];
    int64_t iv[CHUNK];
    for (size_t i = begin; i < end && j->status == ONYX_OK; i += CHUNK) {
        size_t m = end - i < CHUNK ? end - i : CHUNK;
        if (is_int_like(j->from)) elem_load_i64(j->from, j->x, i, 1, m, iv);
        else elem_load_f64(j->from, j->x, i, 1, m, fv);
        for (size_t k = 0; k < m && j->status == ONYX_OK; k++) {
            if (j->from == ONYX_DTYPE_BOOL)
                snprintf(text, sizeof text, "%s", iv[k] ? "True" : "False");
            else if (j->from == ONYX_DTYPE_UINT64)
                snprintf(text, sizeof text, "%llu", (unsigned long long)(uint64_t)iv[k]);
            else if (is_int_like(j->from))
                snprintf(text, sizeof text, "%lld", (long long)iv[k]);
            else
                format_float(text, sizeof text, fv[k], j->from);
            j->status = set_string(&ys[i + k], text);
        }
    }
}

static void cast_task(void *arg, size_t begin, size_t end) {
    cast_job *j = arg;
    if (j->from == ONYX_DTYPE_STRING) {
        cast_strings_from(j, begin, end);
        return;
    }
    if (j->to == ONYX_DTYPE_STRING) {
        cast_strings_to(j, begin, end);
        return;
    }
    cv_fn direct = cv_table[j->from][j->to];
    if (direct) {
        direct(j->x + begin * j->ex, j->y + begin * j->ey, end - begin);
        return;
    }
    for (size_t i = begin; i < end; i += CHUNK) {
        size_t m = end - i < CHUNK ? end - i : CHUNK;
        if (is_int_like(j->from) && is_int_like(j->to)) {
            int64_t iv[CHUNK];
            elem_load_i64(j->from, j->x, i, 1, m, iv);
            elem_store_i64(j->to, iv, m, j->y, i);
        } else {
            double fv[CHUNK];
            elem_load_f64(j->from, j->x, i, 1, m, fv);
            store_doubles(j, fv, m, i);
        }
    }
}

onyx_status elem_prepare_cast(ox_op_ctx *c) {
    int64_t to = 0; /* CastLike: 0, the type comes from input 1 */
    if (strcmp(c->node->op_type, "Cast") == 0) {
        if (!ox_attr_get(c, "to")) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'to' is required");
        to = ox_attr_int(c, "to", 0);
        OX_TRY(ox_op_status(c));
        if (to <= 0 || to >= ELEM_NTYPES || !ox_dtype_valid((int32_t)to) || !castable((int32_t)to))
            return ox_error(ONYX_ERR_UNSUPPORTED, "cannot cast to data type %lld", (long long)to);
    }
    int64_t saturate = ox_attr_int(c, "saturate", 1);
    const char *rm = ox_attr_str(c, "round_mode", "up");
    OX_TRY(ox_op_status(c));
    int64_t round_mode;
    if (strcmp(rm, "up") == 0)
        round_mode = OX_E8M0_UP;
    else if (strcmp(rm, "down") == 0)
        round_mode = OX_E8M0_DOWN;
    else if (strcmp(rm, "nearest") == 0)
        round_mode = OX_E8M0_NEAREST;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "attribute 'round_mode' = '%s' must be 'up', 'down' or 'nearest'", rm);
    elem_state *s;
    OX_TRY(elem_state_new(c, NULL, &s));
    s->i0 = to;
    s->i1 = (saturate != 0) | round_mode << 1; /* bit 0: saturate; above: round_mode */
    return ONYX_OK;
}

onyx_status elem_infer_cast(ox_op_ctx *c) {
    const elem_state *s = c->state;
    OX_TRY(elem_need_inputs(c, 1));
    int32_t to = (int32_t)s->i0;
    if (!to) {
        OX_TRY(elem_need_inputs(c, 2));
        to = c->in[1]->dtype;
    }
    int32_t from = c->in[0]->dtype;
    if (from <= 0 || from >= ELEM_NTYPES || !castable(from))
        return ox_error(ONYX_ERR_UNSUPPORTED, "cannot cast from %s", ox_dtype_name(from));
    if (to <= 0 || to >= ELEM_NTYPES || !castable(to))
        return ox_error(ONYX_ERR_UNSUPPORTED, "cannot cast to %s", ox_dtype_name(to));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], to, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

onyx_status elem_run_cast(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    if (x->dtype == y->dtype) return elem_broadcast_copy(c, x, y);
    cast_job j = {x->dtype, y->dtype, x->data, y->data, ox_dtype_size(x->dtype),
                  ox_dtype_size(y->dtype), (int)(s->i1 & 1), (int)(s->i1 >> 1), ONYX_OK};
    size_t n = ox_tensor_count(y);
    if (x->dtype == ONYX_DTYPE_STRING || y->dtype == ONYX_DTYPE_STRING)
        cast_task(&j, 0, n);
    else
        ox_parallel_for(c->pool, n, 1 << 14, cast_task, &j);
    return j.status;
}
