/* Small float formats and Cast/CastLike, against naive references: formats are
 * decoded from their bit fields and rounding picks the nearest code by search. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "elem_testutil.h"
#include "ops/op.h"
#include "util/alloc.h"

/* ---- naive format model ------------------------------------------------------- */

typedef struct fmt {
    int ebits, mbits, bias;
    unsigned max;   /* largest finite magnitude code */
    int ieee;       /* all-ones exponent is inf/NaN */
    int fn;         /* only the all-ones code is NaN */
    int fnuz;       /* 0x80 is NaN, no -0 */
    int32_t dtype;
} fmt;

static const fmt F16 = {5, 10, 15, 0x7bff, 1, 0, 0, ONYX_DTYPE_FLOAT16};
static const fmt BF16 = {8, 7, 127, 0x7f7f, 1, 0, 0, ONYX_DTYPE_BFLOAT16};
static const fmt E4M3FN = {4, 3, 7, 0x7e, 0, 1, 0, ONYX_DTYPE_FLOAT8E4M3FN};
static const fmt E4M3FNUZ = {4, 3, 8, 0x7f, 0, 0, 1, ONYX_DTYPE_FLOAT8E4M3FNUZ};
static const fmt E5M2 = {5, 2, 15, 0x7b, 1, 0, 0, ONYX_DTYPE_FLOAT8E5M2};
static const fmt E5M2FNUZ = {5, 2, 16, 0x7f, 0, 0, 1, ONYX_DTYPE_FLOAT8E5M2FNUZ};
static const fmt E2M1 = {2, 1, 1, 0x7, 0, 0, 0, ONYX_DTYPE_FLOAT4E2M1};

static unsigned sign_bit(const fmt *f) { return 1u << (f->ebits + f->mbits); }

static double decode(const fmt *f, unsigned code) {
    unsigned s = sign_bit(f), mag = code & (s - 1);
    unsigned e = mag >> f->mbits, m = mag & ((1u << f->mbits) - 1), emax = (1u << f->ebits) - 1;
    if (f->fnuz && code == s) return NAN;
    if (f->fn && mag == (s - 1)) return NAN;
    if (f->ieee && e == emax) return m ? NAN : (code & s ? -INFINITY : INFINITY);
    double v = e ? (1 + m / (double)(1u << f->mbits)) * pow(2, (int)e - f->bias)
                 : m / (double)(1u << f->mbits) * pow(2, 1 - f->bias);
    return code & s ? -v : v;
}

/* Nearest finite magnitude code to |x| (ties to the even code); *over when |x|
 * rounds beyond the largest finite value. */
static unsigned nearest(const fmt *f, double ax, int *over) {
    unsigned lo = 0, hi = f->max;
    *over = 0;
    double vmax = decode(f, f->max), next = vmax + (vmax - decode(f, f->max - 1));
    if (ax > vmax) {
        double mid = (vmax + next) / 2;
        if (ax > mid || (ax == mid && (f->max & 1))) *over = 1;
        return f->max;
    }
    while (lo < hi) { /* largest code with value <= ax */
        unsigned m = (lo + hi + 1) / 2;
        if (decode(f, m) <= ax) lo = m;
        else hi = m - 1;
    }
    if (lo == f->max) return lo;
    double a = decode(f, lo), b = decode(f, lo + 1);
    if (ax - a < b - ax) return lo;
    if (ax - a > b - ax) return lo + 1;
    return (lo & 1) ? lo + 1 : lo;
}

/* The expected encoding of x (ONNX Cast rules). */
static unsigned encode_ref(const fmt *f, double x, int saturate) {
    unsigned s = sign_bit(f), sg = signbit(x) ? s : 0;
    unsigned emax_code = ((1u << f->ebits) - 1) << f->mbits;
    if (isnan(x)) return f == &E2M1 ? 0x8 : f->fnuz ? s : sg | (f->ieee ? emax_code | (1u << (f->mbits - 1)) : s - 1);
    int over;
    unsigned code = isinf(x) ? (over = 1, f->max) : nearest(f, fabs(x), &over);
    if (over && !saturate) {
        if (f->ieee) return sg | emax_code;
        return f->fnuz ? s : sg | (s - 1);
    }
    if (code == 0 && f->fnuz) return 0;
    return sg | code;
}

static double random_in_format(const fmt *f) {
    double vmax = decode(f, f->max);
    switch (et_rnd(4)) {
    case 0: return ldexp((tt_randf() - 0.5) * (1 << (f->mbits + 2)), 1 - f->bias - f->mbits); /* subnormals */
    case 1: return (tt_randf() - 0.5) * 2.4 * vmax; /* up to overflow */
    case 2: { /* exact midpoints between neighbours */
        unsigned c = (unsigned)et_rnd((int)f->max);
        return (decode(f, c) + decode(f, c + 1)) / 2 * (et_rnd(2) ? -1 : 1);
    }
    default: return ldexp(tt_randf() * 2 - 1, et_rnd(2 * f->bias + 4) - f->bias);
    }
}

TEST(fp16_decode_all) {
    for (unsigned h = 0; h < 65536; h++) {
        double want = decode(&F16, h);
        float got = ox_f16_to_f32((uint16_t)h);
        CHECK(isnan(want) ? isnan(got) : (double)got == want);
        if (!isnan(want)) CHECK(ox_f32_to_f16(got) == h);
        double bw = decode(&BF16, h);
        float bg = ox_bf16_to_f32((uint16_t)h);
        CHECK(isnan(bw) ? isnan(bg) : (double)bg == bw);
        if (!isnan(bw)) CHECK(ox_f32_to_bf16(bg) == h);
        if (ox_test_failures) return;
    }
}

TEST(fp16_round) {
    for (int i = 0; i < 20000; i++) {
        double x = random_in_format(&F16);
        float xf = (float)x;
        unsigned want = encode_ref(&F16, xf, 0);
        CHECK(ox_f32_to_f16(xf) == want);
        CHECK(ox_f64_to_f16(xf) == want);
        x = random_in_format(&BF16);
        xf = (float)x;
        want = encode_ref(&BF16, xf, 0);
        CHECK(ox_f32_to_bf16(xf) == want);
        CHECK(ox_f64_to_bf16(xf) == want);
        if (ox_test_failures) {
            fprintf(stderr, "  x = %.9g\n", (double)xf);
            return;
        }
    }
    CHECK(ox_f32_to_f16(65519.0f) == 0x7bff && ox_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(ox_f32_to_f16(-INFINITY) == 0xfc00 && (ox_f32_to_f16(NAN) & 0x7fff) > 0x7c00);
    CHECK(isnan(ox_bf16_to_f32(ox_f32_to_bf16(NAN))));
    CHECK(ox_f32_to_bf16(FLT_MAX) == 0x7f80); /* rounds up to infinity */
}

TEST(fp8_all_formats) {
    const fmt *fs[] = {&E4M3FN, &E4M3FNUZ, &E5M2, &E5M2FNUZ};
    for (int k = 0; k < 4; k++) {
        const fmt *f = fs[k];
        for (unsigned c = 0; c < 256; c++) {
            double want = decode(f, c);
            float got = ox_f8_to_f32((uint8_t)c, f->dtype);
            CHECK(isnan(want) ? isnan(got) : (double)got == want);
            if (!isnan(want) && !(f->fnuz && c == 0x80))
                CHECK(ox_f64_to_f8(got, f->dtype, 0) == c || (want == 0 && f->fnuz));
        }
        for (int i = 0; i < 5000; i++) {
            double x = random_in_format(f);
            if (et_rnd(50) == 0) x = et_rnd(2) ? INFINITY : -INFINITY;
            for (int sat = 0; sat < 2; sat++) {
                unsigned want = encode_ref(f, x, sat), got = ox_f64_to_f8(x, f->dtype, sat);
                if (got != want) {
                    fprintf(stderr, "  %s sat %d x %.9g: got 0x%02x want 0x%02x\n",
                            ox_dtype_name(f->dtype), sat, x, got, want);
                    ox_test_failures++;
                    return;
                }
            }
        }
        CHECK(isnan(ox_f8_to_f32(ox_f64_to_f8(NAN, f->dtype, 1), f->dtype)));
    }
    for (unsigned c = 0; c < 16; c++) CHECK((double)ox_f4_to_f32((uint8_t)c) == decode(&E2M1, c));
    for (int i = 0; i < 2000; i++) {
        double x = (tt_randf() - 0.5) * 16;
        if (i < 16) x = decode(&E2M1, (unsigned)i & 7) / 2 + decode(&E2M1, ((unsigned)i & 7) + 1) / 2;
        CHECK(ox_f64_to_f4(x) == encode_ref(&E2M1, x, 1));
    }
    CHECK(ox_f64_to_f4(NAN) == 0x8 && ox_f64_to_f4(-INFINITY) == 0xf);
}

/* ---- Cast --------------------------------------------------------------------- */

static const int32_t PLAIN[] = {ONYX_DTYPE_BOOL,   ONYX_DTYPE_INT8,    ONYX_DTYPE_INT16,
                                ONYX_DTYPE_INT32,  ONYX_DTYPE_INT64,   ONYX_DTYPE_UINT8,
                                ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32,  ONYX_DTYPE_UINT64,
                                ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE,  ONYX_DTYPE_FLOAT16,
                                ONYX_DTYPE_BFLOAT16};

static onyx_status cast(ox_tensor *x, int32_t to, int64_t opset, ox_tensor *y, int saturate) {
    ox_node *n = tn_node("Cast", 1, 1);
    tn_int(n, "to", to);
    if (saturate >= 0) tn_int(n, "saturate", saturate);
    return ox_op_run_single(n, opset, (ox_tensor *[]){x}, 1, y, 1);
}

TEST(cast_plain_matrix) {
    size_t np = sizeof PLAIN / sizeof *PLAIN;
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b < np; b++) {
            int32_t from = PLAIN[a], to = PLAIN[b];
            int isf = !et_is_int(from);
            int32_t r = et_rnd(4);
            int64_t d[4];
            for (int32_t i = 0; i < r; i++) d[i] = et_rnd(8) == 0 ? 0 : 1 + et_rnd(6);
            double lo = from == ONYX_DTYPE_BOOL ? 0 : ox_dtype_is_signed_int(from) || isf ? -120 : 0;
            double hi = from == ONYX_DTYPE_BOOL ? 2 : 250;
            ox_tensor x = et_rand(from, r, d, lo, hi, !isf);
            if (isf && ox_tensor_count(&x) > 2) { /* a few exact zeros and halves */
                et_set(&x, 0, 0);
                et_set(&x, 1, -2.5);
            }
            ox_tensor y;
            REQUIRE_OK(cast(&x, to, 21, &y, -1));
            CHECK(y.dtype == to && y.rank == r);
            for (size_t i = 0; i < ox_tensor_count(&x); i++) {
                double v = et_get(&x, i), want;
                if (to == ONYX_DTYPE_BOOL) want = v != 0;
                else if (et_is_int(to)) want = et_as(to, trunc(v));
                else want = et_as(to, v);
                if (et_get(&y, i) != want) {
                    fprintf(stderr, "  %s -> %s: %.9g gave %.9g, expected %.9g\n", ox_dtype_name(from),
                            ox_dtype_name(to), v, et_get(&y, i), want);
                    ox_test_failures++;
                    break;
                }
            }
            ox_tensor_free_data(&x);
            ox_tensor_free_data(&y);
            tn_reset();
            if (ox_test_failures) return;
        }
}

TEST(cast_special_values) {
    /* float -> bool: NaN and -0 */
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, (double[]){NAN, -0.0, 0.25, -INFINITY});
    ox_tensor y;
    REQUIRE_OK(cast(&x, ONYX_DTYPE_BOOL, 13, &y, -1));
    CHECK(et_get(&y, 0) == 1 && et_get(&y, 1) == 0 && et_get(&y, 2) == 1 && et_get(&y, 3) == 1);
    ox_tensor_free_data(&y);
    /* NaN -> int is defined here as 0 (the spec leaves it undefined); no trap */
    REQUIRE_OK(cast(&x, ONYX_DTYPE_INT32, 13, &y, -1));
    CHECK(et_get(&y, 0) == 0 && et_get(&y, 2) == 0);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    /* integers wider than a double's mantissa stay exact */
    int64_t big[2] = {INT64_MAX, INT64_MIN + 1};
    x = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, big);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_UINT64, 13, &y, -1));
    CHECK(((uint64_t *)y.data)[0] == (uint64_t)INT64_MAX && ((uint64_t *)y.data)[1] == (uint64_t)(INT64_MIN + 1));
    ox_tensor_free_data(&y);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_INT4, 21, &y, -1));
    CHECK(((int8_t *)y.data)[0] == -1 && ((int8_t *)y.data)[1] == 1);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    uint64_t u = UINT64_MAX;
    x = tt_make(ONYX_DTYPE_UINT64, 0, NULL, &u);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_FLOAT, 13, &y, -1));
    CHECK(et_get(&y, 0) == 18446744073709551616.0);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(cast_4bit_and_8bit) {
    double v[] = {-9, -8, -7, -1, 0, 1, 7, 8, 15, 16, 2.5, 3.5, -2.5};
    int32_t src[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_DOUBLE};
    for (int s = 0; s < 3; s++) {
        ox_tensor x = et_make(src[s], 1, (int64_t[]){13}, v);
        ox_tensor y;
        REQUIRE_OK(cast(&x, ONYX_DTYPE_INT4, 21, &y, -1));
        for (int i = 0; i < 13; i++) {
            double r = nearbyint(v[i]);
            int64_t w = ((((int64_t)r) & 0xf) ^ 8) - 8;
            CHECK(((int8_t *)y.data)[i] == w);
        }
        ox_tensor_free_data(&y);
        REQUIRE_OK(cast(&x, ONYX_DTYPE_UINT4, 21, &y, -1));
        for (int i = 0; i < 13; i++) CHECK(((uint8_t *)y.data)[i] == (((int64_t)nearbyint(v[i])) & 0xf));
        ox_tensor_free_data(&y);
        const fmt *fs[] = {&E4M3FN, &E4M3FNUZ, &E5M2, &E5M2FNUZ, &E2M1};
        for (int k = 0; k < 5; k++)
            for (int sat = 0; sat < 2; sat++) {
                if (k == 4 && !sat) continue;
                ox_tensor big = et_make(src[s], 1, (int64_t[]){4}, (double[]){1e4, -1e4, 0.3, -70000});
                REQUIRE_OK(cast(&big, fs[k]->dtype, 23, &y, sat));
                for (int i = 0; i < 4; i++)
                    CHECK(((uint8_t *)y.data)[i] == encode_ref(fs[k], et_get(&big, (size_t)i), sat));
                ox_tensor z;
                REQUIRE_OK(cast(&y, src[s], 23, &z, -1)); /* and back */
                for (int i = 0; i < 4; i++) {
                    double back = decode(fs[k], ((uint8_t *)y.data)[i]);
                    CHECK(isnan(back) ? isnan(et_get(&z, (size_t)i)) : et_get(&z, (size_t)i) == back);
                }
                ox_tensor_free_data(&z);
                ox_tensor_free_data(&y);
                ox_tensor_free_data(&big);
            }
        ox_tensor_free_data(&x);
        tn_reset();
    }
}

static ox_tensor strings(size_t n, const char *const *s) {
    ox_tensor t = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){(int64_t)n}, NULL);
    ox_string *p = t.data;
    for (size_t i = 0; i < n; i++) {
        p[i].len = strlen(s[i]);
        p[i].data = ox_malloc(p[i].len + 1);
        memcpy(p[i].data, s[i], p[i].len + 1);
    }
    return t;
}

static int str_is(const ox_tensor *t, size_t i, const char *want) {
    const ox_string *s = (const ox_string *)t->data + i;
    int ok = s->len == strlen(want) && memcmp(s->data, want, s->len) == 0;
    if (!ok) fprintf(stderr, "  string %zu is '%.*s', expected '%s'\n", i, (int)s->len, s->data, want);
    return ok;
}

TEST(cast_strings) {
    double v[] = {1, 0.1, -2.5, 1e-5, 1e16, 123456.75, 0, -0.0, NAN, INFINITY, -INFINITY, 3.14159274};
    const char *f32[] = {"1.0", "0.1", "-2.5", "1e-05", "1e+16", "123456.75", "0.0", "-0.0", "nan",
                         "inf", "-inf", "3.1415927"};
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){12}, v);
    ox_tensor y;
    REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1));
    for (size_t i = 0; i < 12; i++) CHECK(str_is(&y, i, f32[i]));
    /* and back: every printed float reads back exactly */
    ox_tensor z;
    REQUIRE_OK(cast(&y, ONYX_DTYPE_FLOAT, 13, &z, -1));
    for (size_t i = 0; i < 12; i++) CHECK(et_close(et_get(&z, i), et_get(&x, i), 0));
    ox_tensor_free_data(&z);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    /* where scientific notation starts depends on the type */
    double lim[] = {999, 1000, 999999, 1e6, 1e15, 1e16};
    const char *lim_txt[3][6] = {
        {"999.0", "1e+03", "inf", "inf", "inf", "inf"},                   /* float16 */
        {"999.0", "1000.0", "999999.0", "1e+06", "1e+15", "1e+16"},       /* float32 */
        {"999.0", "1000.0", "999999.0", "1000000.0", "1000000000000000.0", "1e+16"}}; /* float64 */
    int32_t lim_types[] = {ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE};
    for (int t = 0; t < 3; t++) {
        x = et_make(lim_types[t], 1, (int64_t[]){6}, lim);
        REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1));
        for (size_t i = 0; i < 6; i++) CHECK(str_is(&y, i, lim_txt[t][i]));
        ox_tensor_free_data(&y);
        ox_tensor_free_data(&x);
    }
    /* random float32 and float16 values round-trip through text */
    int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16};
    for (int t = 0; t < 4; t++) {
        x = et_rand(types[t], 1, (int64_t[]){200}, -1e5, 1e5, 0);
        for (size_t i = 0; i < 50; i++) et_set(&x, i, ldexp(tt_randf(), -et_rnd(30)));
        REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1));
        REQUIRE_OK(cast(&y, types[t], 13, &z, -1));
        for (size_t i = 0; i < 200; i++) CHECK(et_get(&z, i) == et_get(&x, i));
        ox_tensor_free_data(&z);
        ox_tensor_free_data(&y);
        ox_tensor_free_data(&x);
    }
    /* integers and bools */
    int64_t iv[3] = {-42, 0, INT64_MAX};
    x = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){3}, iv);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1));
    CHECK(str_is(&y, 0, "-42") && str_is(&y, 1, "0") && str_is(&y, 2, "9223372036854775807"));
    REQUIRE_OK(cast(&y, ONYX_DTYPE_INT64, 13, &z, -1));
    CHECK(memcmp(z.data, iv, sizeof iv) == 0);
    ox_tensor_free_data(&z);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    x = et_make(ONYX_DTYPE_BOOL, 1, (int64_t[]){2}, (double[]){1, 0});
    REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1));
    CHECK(str_is(&y, 0, "True") && str_is(&y, 1, "False"));
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    /* text -> numbers, with the spec's special spellings */
    const char *txt[] = {"3.5", "-INF", "+INF", "inf", "NaN", "1E8", "1e-5", "  7", "hello", ""};
    x = strings(10, txt);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_DOUBLE, 13, &y, -1));
    double want[] = {3.5, -INFINITY, INFINITY, INFINITY, NAN, 1e8, 1e-5, 7, NAN, NAN};
    for (size_t i = 0; i < 10; i++) CHECK(et_close(et_get(&y, i), want[i], 0));
    ox_tensor_free_data(&y);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_INT32, 13, &y, -1));
    CHECK(et_get(&y, 0) == 3 && et_get(&y, 5) == 100000000 && et_get(&y, 7) == 7 && et_get(&y, 8) == 0);
    ox_tensor_free_data(&y);
    REQUIRE_OK(cast(&x, ONYX_DTYPE_STRING, 13, &y, -1)); /* same type: a deep copy */
    CHECK(str_is(&y, 1, "-INF") && ((ox_string *)y.data)[1].data != ((ox_string *)x.data)[1].data);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(cast_like_and_errors) {
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 2}, (double[]){1.5, -2.5, 300, 0});
    ox_tensor like = tt_make(ONYX_DTYPE_UINT8, 1, (int64_t[]){0}, NULL);
    ox_tensor y;
    REQUIRE_OK(ox_op_run_single(tn_node("CastLike", 2, 1), 15, (ox_tensor *[]){&x, &like}, 2, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_UINT8 && y.rank == 2 && et_get(&y, 0) == 1 && et_get(&y, 1) == 254 &&
          et_get(&y, 2) == 44);
    ox_tensor_free_data(&y);
    ox_node *n = tn_node("Cast", 1, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(strstr(onyx_last_error(), "'to'") != NULL);
    CHECK(cast(&x, ONYX_DTYPE_COMPLEX64, 13, &y, -1) == ONYX_ERR_UNSUPPORTED);
    CHECK(cast(&x, 99, 13, &y, -1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor c = tt_make(ONYX_DTYPE_COMPLEX64, 1, (int64_t[]){2}, NULL);
    CHECK(cast(&c, ONYX_DTYPE_FLOAT, 13, &y, -1) == ONYX_ERR_UNSUPPORTED);
    /* rank 0 and empty */
    ox_tensor s = et_make(ONYX_DTYPE_DOUBLE, 0, NULL, (double[]){-7.9});
    REQUIRE_OK(cast(&s, ONYX_DTYPE_INT16, 13, &y, -1));
    CHECK(y.rank == 0 && et_get(&y, 0) == -7);
    ox_tensor_free_data(&y);
    ox_tensor e = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 0, 3}, NULL);
    REQUIRE_OK(cast(&e, ONYX_DTYPE_STRING, 13, &y, -1));
    CHECK(y.rank == 3 && y.dims[1] == 0);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&like);
    ox_tensor_free_data(&c);
    ox_tensor_free_data(&s);
    ox_tensor_free_data(&e);
    tn_reset();
}
