/* The element types of IR 12/13 -- float8e8m0, uint2, int2 -- in the conversion
 * helpers and in Cast/CastLike, against references written here: e8m0 values come
 * from pow(), rounding from a search over powers of two by repeated doubling, and
 * 2-bit values from arithmetic modulo 4. */
#include <stdio.h>
#include <stdlib.h>

#include "elem_testutil.h"
#include "ops/op.h"
#include "util/alloc.h"

/* ---- float8e8m0 reference ------------------------------------------------------ */

static double e8m0_value(unsigned code) {
    return code == 255 ? NAN : pow(2.0, (double)code - 127.0);
}

/* The exponent k with 2^k <= ax < 2^(k+1), found by doubling/halving (ax finite, > 0). */
static int floor_log2(double ax) {
    int k = 0;
    double p = 1;
    while (p > ax) {
        p /= 2;
        k--;
    }
    while (p * 2 <= ax) {
        p *= 2;
        k++;
    }
    return k;
}

static const char *const kModes[3] = {"up", "down", "nearest"};

/* Expected code of x under mode (0 up, 1 down, 2 nearest) and saturate. */
static unsigned e8m0_ref(double x, int mode, int saturate) {
    unsigned bad = 255;
    if (isnan(x)) return 255;
    double ax = fabs(x); /* the sign is dropped */
    int k;
    if (isinf(ax)) k = 100000;
    else if (ax == 0) k = -100000;
    else {
        k = floor_log2(ax);
        double lo = pow(2.0, k), hi = 2 * lo;
        if (ax > lo) {
            if (mode == 0) k++;
            else if (mode == 2 && hi - ax <= ax - lo) k++;
        }
    }
    if (k > 127) return saturate ? 254 : bad;
    if (k < -127) return saturate ? 0 : bad;
    return (unsigned)(k + 127);
}

TEST(e8m0_all_codes_and_rounding) {
    for (unsigned c = 0; c < 256; c++) {
        double want = e8m0_value(c);
        float got = ox_e8m0_to_f32((uint8_t)c);
        CHECK(isnan(want) ? isnan(got) : (double)got == want);
        for (int mode = 0; mode < 3; mode++)
            for (int sat = 0; sat < 2; sat++) {
                /* the value itself, its negation, and points between it and its
                 * neighbours: just above, the midpoint up, just below the midpoint */
                double probes[6] = {want, -want, want * 1.0000001, want * 1.5, want * 1.4999999,
                                    want * 0.75};
                for (int p = 0; p < 6; p++) {
                    unsigned r = e8m0_ref(probes[p], mode, sat),
                             g = ox_f64_to_e8m0(probes[p], mode, sat);
                    if (r != g) {
                        fprintf(stderr, "  code %u probe %d (%.17g) %s sat %d: got %u want %u\n", c,
                                p, probes[p], kModes[mode], sat, g, r);
                        ox_test_failures++;
                        return;
                    }
                }
                if (c < 255) CHECK(ox_f64_to_e8m0(want, mode, sat) == c);
            }
    }
    /* random magnitudes over the whole double range, float32 subnormals included */
    for (int i = 0; i < 20000; i++) {
        double x = ldexp(0.5 + tt_randf() * 0.5, et_rnd(360) - 180);
        if (i % 7 == 0) x = (double)(float)ldexp(tt_randf(), -126 - et_rnd(24));
        if (i % 11 == 0) x = -x;
        for (int mode = 0; mode < 3; mode++)
            for (int sat = 0; sat < 2; sat++)
                if (ox_f64_to_e8m0(x, mode, sat) != e8m0_ref(x, mode, sat)) {
                    fprintf(stderr, "  %.17g %s sat %d: got %u want %u\n", x, kModes[mode], sat,
                            ox_f64_to_e8m0(x, mode, sat), e8m0_ref(x, mode, sat));
                    ox_test_failures++;
                    return;
                }
    }
    /* the spec's table: saturate+up and non-saturate+nearest */
    double special[] = {0.0, NAN, INFINITY, 1e300, 1e-300};
    unsigned sat_up[] = {0, 255, 254, 254, 0}, nosat_near[] = {255, 255, 255, 255, 255};
    for (int i = 0; i < 5; i++) {
        CHECK(ox_f64_to_e8m0(special[i], OX_E8M0_UP, 1) == sat_up[i]);
        CHECK(ox_f64_to_e8m0(special[i], OX_E8M0_NEAREST, 0) == nosat_near[i]);
    }
}

/* ---- Cast ------------------------------------------------------------------------ */

static onyx_status cast_rm(ox_tensor *x, int32_t to, ox_tensor *y, int saturate, const char *rm) {
    ox_node *n = tn_node("Cast", 1, 1);
    tn_int(n, "to", to);
    if (saturate >= 0) tn_int(n, "saturate", saturate);
    if (rm) tn_str(n, "round_mode", rm);
    return ox_op_run_single(n, 25, (ox_tensor *[]){x}, 1, y, 1);
}

static const int32_t kSources[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                   ONYX_DTYPE_BFLOAT16};

TEST(cast_to_and_from_e8m0) {
    for (size_t s = 0; s < sizeof kSources / sizeof *kSources; s++) {
        int32_t from = kSources[s];
        int64_t n = 64;
        ox_tensor x = tt_make(from, 1, &n, NULL);
        for (size_t i = 0; i < (size_t)n; i++) {
            double v = ldexp(0.5 + tt_randf(), et_rnd(40) - 20);
            if (i < 8) v = (double[]){0, 1, 0.25, 3, 0.75, NAN, INFINITY, -2}[i];
            et_set(&x, i, v);
        }
        for (int mode = -1; mode < 3; mode++)
            for (int sat = -1; sat < 2; sat++) {
                ox_tensor y;
                const char *rm = mode < 0 ? NULL : kModes[mode];
                REQUIRE_OK(cast_rm(&x, ONYX_DTYPE_FLOAT8E8M0, &y, sat, rm));
                CHECK(y.dtype == ONYX_DTYPE_FLOAT8E8M0 && y.rank == 1 && y.dims[0] == n);
                const uint8_t *codes = y.data;
                for (size_t i = 0; i < (size_t)n; i++) {
                    unsigned want = e8m0_ref(et_get(&x, i), mode < 0 ? 0 : mode, sat != 0);
                    if (codes[i] != want) {
                        fprintf(stderr, "  %s %.9g mode %d sat %d: got %u want %u\n",
                                ox_dtype_name(from), et_get(&x, i), mode, sat, codes[i], want);
                        ox_test_failures++;
                    }
                }
                ox_tensor_free_data(&y);
                tn_reset();
                if (ox_test_failures) return;
            }
        ox_tensor_free_data(&x);
    }
    /* every code back to each float type, bool and int32 */
    int64_t n = 256;
    ox_tensor e = tt_make(ONYX_DTYPE_FLOAT8E8M0, 1, &n, NULL);
    for (unsigned c = 0; c < 256; c++) ((uint8_t *)e.data)[c] = (uint8_t)c;
    int32_t to[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16,
                    ONYX_DTYPE_BOOL, ONYX_DTYPE_INT32};
    for (size_t t = 0; t < sizeof to / sizeof *to; t++) {
        ox_tensor y;
        REQUIRE_OK(cast_rm(&e, to[t], &y, -1, NULL));
        for (unsigned c = 0; c < 256; c++) {
            double v = e8m0_value(c), want, got = et_get(&y, c);
            if (to[t] == ONYX_DTYPE_BOOL) want = 1; /* no code is zero; NaN is true */
            else if (to[t] == ONYX_DTYPE_INT32) {
                if (c != 255 && c > 127 + 30) continue; /* out of range: undefined */
                want = isnan(v) ? 0 : trunc(v);
            } else
                want = et_as(to[t], v);
            if (!(isnan(want) ? isnan(got) : got == want)) {
                fprintf(stderr, "  e8m0 %u -> %s: got %.9g want %.9g\n", c, ox_dtype_name(to[t]),
                        got, want);
                ox_test_failures++;
                break;
            }
        }
        ox_tensor_free_data(&y);
        tn_reset();
    }
    /* through text and back: nearest reads the printed value back exactly */
    ox_tensor txt, back;
    REQUIRE_OK(cast_rm(&e, ONYX_DTYPE_STRING, &txt, -1, NULL));
    REQUIRE_OK(cast_rm(&txt, ONYX_DTYPE_FLOAT8E8M0, &back, 1, "nearest"));
    CHECK(memcmp(back.data, e.data, 256) == 0);
    ox_tensor_free_data(&back);
    ox_tensor_free_data(&txt);
    ox_tensor_free_data(&e);
    /* a bad round_mode; and round_mode does not matter for other targets */
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, (double[]){2.5, -1.5});
    ox_tensor y;
    CHECK(cast_rm(&x, ONYX_DTYPE_FLOAT8E8M0, &y, 1, "zero") == ONYX_ERR_INVALID_MODEL);
    CHECK(strstr(onyx_last_error(), "round_mode") != NULL);
    REQUIRE_OK(cast_rm(&x, ONYX_DTYPE_INT8, &y, 1, "down"));
    CHECK(((int8_t *)y.data)[0] == 2 && ((int8_t *)y.data)[1] == -1);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- 2-bit integers ------------------------------------------------------------------ */

/* v (an integer) as the 2-bit type keeps it: the residue modulo 4, in [0, 4) or [-2, 2). */
static int two_bit(int64_t v, int sgn) {
    int r = (int)(((v % 4) + 4) % 4);
    return sgn && r >= 2 ? r - 4 : r;
}

static const int32_t kOthers[] = {ONYX_DTYPE_BOOL,   ONYX_DTYPE_INT8,    ONYX_DTYPE_INT16,
                                  ONYX_DTYPE_INT32,  ONYX_DTYPE_INT64,   ONYX_DTYPE_UINT8,
                                  ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32,  ONYX_DTYPE_UINT64,
                                  ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE,  ONYX_DTYPE_FLOAT16,
                                  ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_INT4,  ONYX_DTYPE_UINT4,
                                  ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_UINT2, ONYX_DTYPE_INT2};

TEST(cast_2bit_all_codes) {
    for (int sgn = 0; sgn < 2; sgn++) {
        int32_t dt = sgn ? ONYX_DTYPE_INT2 : ONYX_DTYPE_UINT2;
        /* every code, at rank 2, and a rank-0 and an empty tensor */
        ox_tensor x = tt_make(dt, 2, (int64_t[]){2, 2}, NULL);
        for (int c = 0; c < 4; c++) ((int8_t *)x.data)[c] = (int8_t)(sgn ? c - 2 : c);
        for (size_t t = 0; t < sizeof kOthers / sizeof *kOthers; t++) {
            ox_tensor y;
            REQUIRE_OK(cast_rm(&x, kOthers[t], &y, -1, NULL));
            CHECK(y.dtype == kOthers[t] && y.rank == 2);
            for (size_t i = 0; i < 4; i++) {
                double v = sgn ? (double)i - 2 : (double)i, want;
                if (kOthers[t] == ONYX_DTYPE_BOOL) want = v != 0;
                else if (kOthers[t] == ONYX_DTYPE_UINT2 || kOthers[t] == ONYX_DTYPE_INT2)
                    want = two_bit((int64_t)v, kOthers[t] == ONYX_DTYPE_INT2);
                else if (kOthers[t] == ONYX_DTYPE_INT4) want = v;
                else if (kOthers[t] == ONYX_DTYPE_UINT4) want = (double)(((int)v + 16) % 16);
                else if (kOthers[t] == ONYX_DTYPE_FLOAT8E4M3FN) want = v;
                else want = et_as(kOthers[t], v);
                if (et_get(&y, i) != want) {
                    fprintf(stderr, "  %s %g -> %s: got %g want %g\n", ox_dtype_name(dt), v,
                            ox_dtype_name(kOthers[t]), et_get(&y, i), want);
                    ox_test_failures++;
                }
            }
            ox_tensor_free_data(&y);
            tn_reset();
        }
        ox_tensor_free_data(&x);
        if (ox_test_failures) return;
        ox_tensor s = tt_make(dt, 0, NULL, NULL), e = tt_make(dt, 2, (int64_t[]){3, 0}, NULL), y;
        ((int8_t *)s.data)[0] = (int8_t)(sgn ? -2 : 3);
        REQUIRE_OK(cast_rm(&s, ONYX_DTYPE_INT64, &y, -1, NULL));
        CHECK(y.rank == 0 && ((int64_t *)y.data)[0] == (sgn ? -2 : 3));
        ox_tensor_free_data(&y);
        REQUIRE_OK(cast_rm(&e, ONYX_DTYPE_FLOAT, &y, -1, NULL));
        CHECK(y.rank == 2 && y.dims[1] == 0);
        ox_tensor_free_data(&y);
        ox_tensor_free_data(&s);
        ox_tensor_free_data(&e);
        tn_reset();
    }
}

TEST(cast_to_2bit_wraps_and_rounds) {
    /* floats round half to even first, then keep the low two bits */
    double v[] = {-9, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 7, 130};
    size_t nv = sizeof v / sizeof *v;
    for (size_t s = 0; s < sizeof kSources / sizeof *kSources; s++) {
        ox_tensor x = et_make(kSources[s], 1, (int64_t[]){(int64_t)nv}, v);
        for (int sgn = 0; sgn < 2; sgn++) {
            ox_tensor y;
            REQUIRE_OK(cast_rm(&x, sgn ? ONYX_DTYPE_INT2 : ONYX_DTYPE_UINT2, &y, -1, NULL));
            for (size_t i = 0; i < nv; i++) {
                double r = floor(v[i]), frac = v[i] - r;
                if (frac > 0.5 || (frac == 0.5 && fmod(r, 2) != 0)) r += 1; /* half to even */
                int want = two_bit((int64_t)r, sgn);
                int got = sgn ? ((int8_t *)y.data)[i] : ((uint8_t *)y.data)[i];
                if (got != want) {
                    fprintf(stderr, "  %s %g -> %s: got %d want %d\n", ox_dtype_name(kSources[s]),
                            v[i], sgn ? "int2" : "uint2", got, want);
                    ox_test_failures++;
                }
            }
            ox_tensor_free_data(&y);
            tn_reset();
        }
        ox_tensor_free_data(&x);
    }
    /* integers keep their low two bits, random 64-bit values included */
    int64_t iv[64];
    for (int i = 0; i < 64; i++) {
        uint64_t u = (uint64_t)et_rnd(1 << 30) << 34 ^ (uint64_t)et_rnd(1 << 30) << 4 ^
                     (uint64_t)et_rnd(16);
        memcpy(&iv[i], &u, 8);
    }
    iv[0] = INT64_MIN;
    iv[1] = INT64_MAX;
    ox_tensor x = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){64}, iv);
    for (int sgn = 0; sgn < 2; sgn++) {
        ox_tensor y;
        REQUIRE_OK(cast_rm(&x, sgn ? ONYX_DTYPE_INT2 : ONYX_DTYPE_UINT2, &y, -1, NULL));
        for (int i = 0; i < 64; i++) {
            int got = sgn ? ((int8_t *)y.data)[i] : ((uint8_t *)y.data)[i];
            CHECK(got == two_bit((int64_t)((uint64_t)iv[i] & 3), sgn));
        }
        ox_tensor_free_data(&y);
        tn_reset();
    }
    ox_tensor_free_data(&x);
    /* CastLike takes the 2-bit type from its second input */
    ox_tensor f = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, (double[]){1, 2, -1});
    ox_tensor like = tt_make(ONYX_DTYPE_INT2, 1, (int64_t[]){0}, NULL), y;
    ox_node *cl = tn_node("CastLike", 2, 1);
    REQUIRE_OK(ox_op_run_single(cl, 25, (ox_tensor *[]){&f, &like}, 2, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_INT2 && ((int8_t *)y.data)[0] == 1 && ((int8_t *)y.data)[1] == -2 &&
          ((int8_t *)y.data)[2] == -1);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&f);
    ox_tensor_free_data(&like);
    tn_reset();
}

TEST(dtype_facts_for_new_types) {
    CHECK(strcmp(ox_dtype_name(ONYX_DTYPE_FLOAT8E8M0), "float8e8m0") == 0);
    CHECK(strcmp(ox_dtype_name(ONYX_DTYPE_UINT2), "uint2") == 0);
    CHECK(strcmp(ox_dtype_name(ONYX_DTYPE_INT2), "int2") == 0);
    int32_t ts[] = {ONYX_DTYPE_FLOAT8E8M0, ONYX_DTYPE_UINT2, ONYX_DTYPE_INT2};
    for (int i = 0; i < 3; i++) {
        CHECK(ox_dtype_valid(ts[i]) && ox_dtype_size(ts[i]) == 1);
        CHECK(onyx_dtype_size((onyx_dtype)ts[i]) == (i == 0 ? 1u : 0u));
    }
    CHECK(ox_dtype_is_float(ONYX_DTYPE_FLOAT8E8M0) && !ox_dtype_is_int(ONYX_DTYPE_FLOAT8E8M0));
    CHECK(ox_dtype_is_int(ONYX_DTYPE_UINT2) && !ox_dtype_is_signed_int(ONYX_DTYPE_UINT2));
    CHECK(ox_dtype_is_signed_int(ONYX_DTYPE_INT2) && !ox_dtype_is_float(ONYX_DTYPE_INT2));
    CHECK(!ox_dtype_valid(27));
    /* the generic element readers */
    int8_t i2[4] = {-2, -1, 0, 1};
    uint8_t u2[4] = {0, 1, 2, 3}, e8[4] = {0, 127, 254, 255};
    ox_tensor a = {.dtype = ONYX_DTYPE_INT2, .rank = 1, .dims = {4}, .data = i2};
    ox_tensor b = {.dtype = ONYX_DTYPE_UINT2, .rank = 1, .dims = {4}, .data = u2};
    ox_tensor c = {.dtype = ONYX_DTYPE_FLOAT8E8M0, .rank = 1, .dims = {4}, .data = e8};
    for (size_t i = 0; i < 4; i++) {
        CHECK(ox_tensor_get_int(&a, i) == i2[i] && ox_tensor_get_double(&a, i) == i2[i]);
        CHECK(ox_tensor_get_int(&b, i) == u2[i] && ox_tensor_get_double(&b, i) == u2[i]);
        double v = e8m0_value(e8[i]), got = ox_tensor_get_double(&c, i);
        CHECK(isnan(v) ? isnan(got) : got == v);
    }
    CHECK(ox_tensor_get_int(&c, 1) == 1 && ox_tensor_get_int(&c, 0) == 0);
}
