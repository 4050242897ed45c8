/* kernels/bias_act.h against plain loops, on every path and odd lengths, with NaN
 * passing through ReLU and the lower Clip bound applied first. */
#include <math.h>
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/cpu.h"
#include "kernels/vmath.h"
#include "test.h"

static float act_ref(float v, int kind, float lo, float hi) {
    if (kind == OX_BIAS_RELU) return v < 0.0f ? 0.0f : v;
    if (kind == OX_BIAS_CLIP) {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
    return v;
}

static int same(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

TEST(bias_act_paths) {
    static const unsigned limits[2] = {~0u, 0u};
    static const size_t lens[] = {0, 1, 7, 15, 16, 17, 33, 255};
    float src[300], bias[300], dst[300 + 4], want;
    for (int i = 0; i < 300; i++) {
        src[i] = (float)sin(i * 1.3) * 3.0f;
        bias[i] = (float)cos(i * 0.7);
    }
    src[5] = NAN;
    src[20] = -INFINITY;
    for (int l = 0; l < 2; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++)
            for (int kind = 0; kind < 3; kind++) {
                size_t n = lens[t];
                for (int i = 0; i < 304; i++) dst[i] = 42.0f; /* guard cells after n */
                ox_bias_act(dst, src, n, 0.25f, kind, -0.5f, 1.5f);
                for (size_t i = 0; i < n; i++) {
                    want = act_ref(src[i] + 0.25f, kind, -0.5f, 1.5f);
                    CHECK(same(dst[i], want));
                }
                CHECK(dst[n] == 42.0f);
                ox_bias_vec_act(dst, src, bias, n, kind, -0.5f, 1.5f);
                for (size_t i = 0; i < n; i++) {
                    want = act_ref(src[i] + bias[i], kind, -0.5f, 1.5f);
                    CHECK(same(dst[i], want));
                }
                CHECK(dst[n] == 42.0f);
                /* three rows of n, strides 37 (source) and 41 (destination) */
                if (n <= 33) {
                    float d2[3 * 41 + 4];
                    for (int i = 0; i < 3 * 41 + 4; i++) d2[i] = 42.0f;
                    ox_bias_act_rows(d2, 41, src, 37, 3, n, bias, kind, -0.5f, 1.5f);
                    for (size_t r = 0; r < 3; r++)
                        for (size_t i = 0; i < 41; i++) {
                            want = i < n ? act_ref(src[r * 37 + i] + bias[r], kind, -0.5f, 1.5f)
                                         : 42.0f;
                            CHECK(same(d2[r * 41 + i], want));
                        }
                    ox_bias_act_rows(d2, 41, src, 37, 3, n, NULL, kind, -0.5f, 1.5f);
                    for (size_t r = 0; r < 3; r++)
                        for (size_t i = 0; i < n; i++)
                            CHECK(same(d2[r * 41 + i], act_ref(src[r * 37 + i], kind, -0.5f, 1.5f)));
                }
                /* n rows of one float each, end to end (a Conv on a 1x1 map) */
                for (int with_bias = 0; with_bias < 2; with_bias++) {
                    for (int i = 0; i < 304; i++) dst[i] = 42.0f;
                    ox_bias_act_rows(dst, 1, src, 1, n, 1, with_bias ? bias : NULL, kind, -0.5f,
                                     1.5f);
                    for (size_t i = 0; i < n; i++)
                        CHECK(same(dst[i], act_ref(src[i] + (with_bias ? bias[i] : 0.0f), kind,
                                                   -0.5f, 1.5f)));
                    CHECK(dst[n] == 42.0f);
                }
            }
        ox_cpu_limit(old);
    }
}

/* ---- Sigmoid and SiLU after the bias ------------------------------------------ */

/* Error in ulps of the float nearest to want (NaN and infinities must match), less
 * |v| times half the smallest denormal for SiLU, whose sigmoid may be a denormal
 * (the allowance of kernels/vmath.h). */
static double act_err(float got, double want, float v, int silu) {
    float w = (float)want;
    if (isnan(w)) return isnan(got) ? 0 : 1e9;
    if (isinf(w) || isinf(got)) return got == w ? 0 : 1e9;
    double u = fabs((double)nextafterf(w, INFINITY) - (double)w);
    if (u == 0 || w == 0) u = 0x1p-149;
    double e = fabs((double)got - want) / u;
    double slack = silu ? fabs((double)v) * 0x1p-150 / u : 0;
    return e > slack ? e - slack : 0;
}

static double act_want(float v, int kind) {
    double s = 1 / (1 + exp(-(double)v));
    if (isinf(v)) s = v > 0 ? 1 : 0;
    return kind == OX_BIAS_SILU ? (double)v * s : s;
}

/* Every path: the one-pass kinds give, bit for bit, the bias then ox_vsigmoid or
 * ox_vsilu (what the split epilogue computed before), and lie within kernels/vmath.h's
 * bounds (3 and 4 ulp) of a double reference. Values reach the denormal tail and
 * the saturated ends; NaN and infinities pass as the standalone ops give them. */
TEST(bias_act_sigmoid_silu) {
    static const unsigned limits[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};
    static const size_t lens[] = {1, 7, 15, 16, 17, 33, 255};
    static const int kinds[2] = {OX_BIAS_SIGMOID, OX_BIAS_SILU};
    enum { N = 255, G = 5 };
    float src[N], bias[N], dst[N + G], split[N], d2[3 * 86];
    for (int i = 0; i < N; i++) {
        src[i] = (float)(sin(i * 1.3) * (i % 5 == 0 ? 110.0 : 9.0));
        bias[i] = (float)cos(i * 0.7) * 2.0f;
    }
    src[3] = NAN;
    src[8] = -INFINITY;
    src[11] = INFINITY;
    src[14] = -0.25f; /* + 0.25: exactly 0 */
    for (int l = 0; l < 3; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++)
            for (int q = 0; q < 2; q++) {
                int kind = kinds[q], silu = kind == OX_BIAS_SILU;
                size_t n = lens[t];
                double worst = 0;
                /* scalar bias */
                for (int i = 0; i < N + G; i++) dst[i] = 42.0f;
                ox_bias_act(dst, src, n, 0.25f, kind, 0, 0);
                for (size_t i = 0; i < n; i++) split[i] = src[i] + 0.25f;
                silu ? ox_vsilu(n, split, split) : ox_vsigmoid(n, split, split);
                for (size_t i = 0; i < n; i++) {
                    float v = src[i] + 0.25f;
                    double e = act_err(dst[i], act_want(v, kind), v, silu);
                    worst = e > worst ? e : worst;
                    CHECK(same(dst[i], split[i]));
                }
                CHECK(dst[n] == 42.0f);
                /* bias per element, in place */
                for (size_t i = 0; i < n; i++) dst[i] = src[i];
                ox_bias_vec_act(dst, dst, bias, n, kind, 0, 0);
                for (size_t i = 0; i < n; i++) split[i] = src[i] + bias[i];
                silu ? ox_vsilu(n, split, split) : ox_vsigmoid(n, split, split);
                for (size_t i = 0; i < n; i++) {
                    float v = src[i] + bias[i];
                    double e = act_err(dst[i], act_want(v, kind), v, silu);
                    worst = e > worst ? e : worst;
                    CHECK(same(dst[i], split[i]));
                }
                CHECK(dst[n] == 42.0f);
                /* three rows of n, strides n + 2 (source) and n + 3 (destination) */
                size_t lds = n + 2, ldd = n + 3;
                if (n <= 83) {
                    for (size_t i = 0; i < 3 * 86; i++) d2[i] = 42.0f;
                    ox_bias_act_rows(d2, ldd, src, lds, 3, n, bias, kind, 0, 0);
                    for (size_t r = 0; r < 3; r++) {
                        for (size_t i = 0; i < n; i++) split[i] = src[r * lds + i] + bias[r];
                        silu ? ox_vsilu(n, split, split) : ox_vsigmoid(n, split, split);
                        for (size_t i = 0; i < ldd; i++)
                            CHECK(same(d2[r * ldd + i], i < n ? split[i] : 42.0f));
                    }
                }
                /* n rows of one float each, end to end (a Conv on a 1x1 map) */
                for (int i = 0; i < N + G; i++) dst[i] = 42.0f;
                ox_bias_act_rows(dst, 1, src, 1, n, 1, bias, kind, 0, 0);
                for (size_t i = 0; i < n; i++) split[i] = src[i] + bias[i];
                silu ? ox_vsilu(n, split, split) : ox_vsigmoid(n, split, split);
                for (size_t i = 0; i < n; i++) CHECK(same(dst[i], split[i]));
                CHECK(dst[n] == 42.0f);
                if (!(worst <= (silu ? 4 : 3))) {
                    fprintf(stderr, "  limit %#x kind %d n %zu: %g ulp\n", limits[l], kind, n,
                            worst);
                    ox_test_failures++;
                }
            }
        ox_cpu_limit(old);
    }
}
