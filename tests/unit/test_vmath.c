/* kernels/vmath.h on every path this machine has (generic, AVX2, AVX-512): each
 * function against a double-precision reference over every float exponent and both
 * signs, the special values, and short lengths (nothing touched past n, in place). */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/vmath.h"
#include "test.h"

static const unsigned path_mask[3] = {0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};
static const char *const path_name[3] = {"generic", "avx2", "avx512"};

/* Limit the CPU to path p; 0 when this machine does not have it. */
static int use_path(int p) {
    unsigned d = ox_cpu_detected();
    if (p == 1 && (d & (OX_CPU_AVX2 | OX_CPU_FMA)) != (OX_CPU_AVX2 | OX_CPU_FMA)) return 0;
    if (p == 2 && (d & (OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) !=
                      (OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA))
        return 0;
    ox_cpu_limit(path_mask[p]);
    if (strcmp(ox_vmath_kernel_name(), path_name[p]) != 0) {
        fprintf(stderr, "  path %s runs %s\n", path_name[p], ox_vmath_kernel_name());
        ox_test_failures++;
    }
    return 1;
}

static float f_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Error of got in units of the last place of the float nearest to want; NaN and
 * infinities must match exactly. */
static double ulps(float got, double want) {
    float w = (float)want;
    if (isnan(w)) return isnan(got) ? 0 : 1e9;
    if (isinf(w) || isinf(got)) return got == w ? 0 : 1e9;
    double u = fabs((double)nextafterf(w, INFINITY) - (double)w);
    if (u == 0 || w == 0) u = 0x1p-149;
    return fabs((double)got - want) / u;
}

static double sigmoid_d(double x) { return 1 / (1 + exp(-x)); }
static double gelu_d(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double gelu_tanh_d(double x) {
    return 0.5 * x * (1 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
}

/* gelu: relative to the value (rounding x / sqrt 2, squared in the tail e^-z^2,
 * costs up to ~5e-6 near x = -8), absolute where the value is below 1e-16 */
static double gelu_err(float got, double want, double x) {
    if (isnan(want) || isinf(want)) return (isnan(want) ? isnan(got) : got == want) ? 0 : 1;
    if (x < -8.4) return fabs(got - want) < 1e-17 ? 0 : 1;
    return fabs(got - want) / (fabs(want) > 1e-30 ? fabs(want) : 1);
}

/* gelu, tanh form: 1 + tanh(u) cancels for u < 0, so the error is absolute there,
 * a few ulp of 1 scaled by 0.5 |x|, on top of a few ulp of the value */
static double gelu_tanh_err(float got, double want, double x) {
    if (isnan(want) || isinf(want)) return (isnan(want) ? isnan(got) : got == want) ? 0 : 1e9;
    double tol = 4 * 0x1p-24 * fabs(want) + 0.5 * fabs(x) * 4 * 0x1p-24 + 0x1p-149;
    return fabs(got - want) / tol; /* <= 1 passes */
}

enum { F_EXP, F_TANH, F_SIGMOID, F_ERF, F_GELU, F_GELU_TANH, F_SILU, F_SWISH, NF };
static const char *const fname[NF] = {"exp", "tanh", "sigmoid", "erf", "gelu", "gelu_tanh", "silu", "swish"};
/* The bounds documented in kernels/vmath.h (gelu: relative; gelu_tanh: scaled, <= 1) */
static const double bound[NF] = {2, 2, 3, 3, 1e-5, 1, 4, 4};

#define SWISH_ALPHA 1.702f

static void run_fn(int f, size_t n, const float *x, float *y) {
    switch (f) {
    case F_EXP: ox_vexp(n, x, y); break;
    case F_TANH: ox_vtanh(n, x, y); break;
    case F_SIGMOID: ox_vsigmoid(n, x, y); break;
    case F_ERF: ox_verf(n, x, y); break;
    case F_GELU: ox_vgelu(n, x, y); break;
    case F_GELU_TANH: ox_vgelu_tanh(n, x, y); break;
    case F_SILU: ox_vsilu(n, x, y); break;
    default: ox_vswish(n, SWISH_ALPHA, x, y); break;
    }
}

static double ref_fn(int f, float xf) {
    double x = xf;
    switch (f) {
    case F_EXP: return exp(x);
    case F_TANH: return tanh(x);
    case F_SIGMOID: return sigmoid_d(x);
    case F_ERF: return erf(x);
    case F_GELU: return gelu_d(x);
    case F_GELU_TANH: return gelu_tanh_d(x);
    case F_SILU: return x * sigmoid_d(x);
    /* alpha * x is rounded to float first, as the function computes it */
    default: return x * sigmoid_d((double)(SWISH_ALPHA * xf));
    }
}

/* silu, swish: x * sigmoid(alpha x); where the sigmoid is a denormal its rounding
 * (half the smallest denormal) is multiplied by |x|, so that much is allowed on top
 * of the ulps (returned in ulps of the result) */
static double swish_err(float got, double want, float x) {
    if (isinf(x)) return (x > 0 ? got == x : isnan(got)) ? 0 : 1e9; /* -inf * 0 = NaN */
    double u = ulps(got, want);
    if (u >= 1e9) return u;
    double ulp = fabs((double)nextafterf((float)want, INFINITY) - (double)(float)want);
    if (ulp == 0 || want == 0) ulp = 0x1p-149;
    double slack = fabs((double)x) * 0x1p-150 / ulp;
    return u > slack ? u - slack : 0;
}

static double err_fn(int f, float got, double want, float x) {
    if (f == F_GELU) return gelu_err(got, want, x);
    if (f == F_GELU_TANH) return gelu_tanh_err(got, want, x);
    if (f == F_SILU || f == F_SWISH) return swish_err(got, want, x);
    return ulps(got, want);
}

#define CHUNK 4096

TEST(vmath_accuracy_all_paths) {
    unsigned saved_limit = ox_cpu_limit(~0u);
    static float xs[CHUNK], ys[CHUNK];
    static double ref[NF][CHUNK];
    double worst[3][NF] = {{0}};
    float worst_x[3][NF] = {{0}};
    uint64_t b = 0;
    while (b < 0x100000000ull) { /* every exponent, both signs, about a million values */
        size_t n = 0;
        for (; n < CHUNK && b < 0x100000000ull; n++, b += 4099) xs[n] = f_of((uint32_t)b);
        for (int f = 0; f < NF; f++)
            for (size_t i = 0; i < n; i++) ref[f][i] = ref_fn(f, xs[i]);
        for (int p = 0; p < 3; p++) {
            if (!use_path(p)) continue;
            for (int f = 0; f < NF; f++) {
                run_fn(f, n, xs, ys);
                for (size_t i = 0; i < n; i++) {
                    double e = err_fn(f, ys[i], ref[f][i], xs[i]);
                    if (e > worst[p][f]) {
                        worst[p][f] = e;
                        worst_x[p][f] = xs[i];
                    }
                }
            }
        }
    }
    ox_cpu_limit(saved_limit);
    for (int p = 0; p < 3; p++)
        for (int f = 0; f < NF; f++)
            if (!(worst[p][f] <= bound[f])) {
                fprintf(stderr, "  %s %s: error %g at x = %.9g (bound %g)\n", path_name[p], fname[f],
                        worst[p][f], worst_x[p][f], bound[f]);
                ox_test_failures++;
            }
}

TEST(vmath_special_values) {
    unsigned saved_limit = ox_cpu_limit(~0u);
    const float sp[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN, -FLT_MIN, 0x1p-149f,
                        -0x1p-149f, FLT_MAX, -FLT_MAX, 88.72f, 88.73f, -87.4f, -103.0f, -104.5f,
                        0.625f, -0.625f, 0.9f, -0.9f, 3.92f, 6.0f, -6.0f, 20.0f, -8.4f, 1e-20f};
    const size_t n = sizeof sp / sizeof *sp;
    float y[sizeof sp / sizeof *sp];
    for (int p = 0; p < 3; p++) {
        if (!use_path(p)) continue;
        for (int f = 0; f < NF; f++) {
            run_fn(f, n, sp, y);
            for (size_t i = 0; i < n; i++) {
                double e = err_fn(f, y[i], ref_fn(f, sp[i]), sp[i]);
                if (!(e <= bound[f])) {
                    fprintf(stderr, "  %s %s(%g) = %.9g, expected %.9g\n", path_name[p], fname[f],
                            (double)sp[i], (double)y[i], ref_fn(f, sp[i]));
                    ox_test_failures++;
                }
            }
        }
        /* the edges the libm contract fixes exactly */
        ox_vexp(n, sp, y);
        CHECK(isnan(y[0]) && y[2] == INFINITY && y[3] == 0 && y[4] == 1 && y[5] == 1);
        CHECK(y[12] < INFINITY && y[13] == INFINITY && y[15] > 0);
        ox_vtanh(n, sp, y);
        CHECK(isnan(y[0]) && y[2] == 1 && y[3] == -1 && y[4] == 0 && signbit(y[5]));
        ox_vsigmoid(n, sp, y);
        CHECK(isnan(y[0]) && y[2] == 1 && y[3] == 0 && y[4] == 0.5f);
        ox_verf(n, sp, y);
        CHECK(isnan(y[0]) && y[2] == 1 && y[3] == -1 && y[4] == 0 && signbit(y[5]));
        ox_vgelu(n, sp, y);
        CHECK(isnan(y[0]) && y[2] == INFINITY && isnan(y[3]) && y[4] == 0);
    }
    ox_cpu_limit(saved_limit);
}

/* Lengths around the vector widths, out of place and in place: the values match the
 * whole-array results, and the guard cells after n are never written. */
TEST(vmath_lengths_and_tails) {
    unsigned saved_limit = ox_cpu_limit(~0u);
    static const size_t lens[] = {0, 1, 7, 8, 15, 16, 17, 33, 255};
    enum { G = 24 };
    float x[255 + G], y[255 + G], full[255];
    for (size_t i = 0; i < 255 + G; i++) x[i] = (float)sin((double)i * 0.77) * 9.0f;
    for (int p = 0; p < 3; p++) {
        if (!use_path(p)) continue;
        for (int f = 0; f < NF; f++) {
            run_fn(f, 255, x, full);
            for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
                size_t n = lens[l];
                for (size_t i = 0; i < 255 + G; i++) y[i] = -12345.0f;
                run_fn(f, n, x, y);
                int ok = 1;
                for (size_t i = 0; i < n; i++) ok &= memcmp(&y[i], &full[i], 4) == 0;
                for (size_t i = n; i < 255 + G; i++) ok &= y[i] == -12345.0f;
                memcpy(y, x, sizeof x); /* in place */
                run_fn(f, n, y, y);
                for (size_t i = 0; i < n; i++) ok &= memcmp(&y[i], &full[i], 4) == 0;
                for (size_t i = n; i < 255 + G; i++) ok &= y[i] == x[i];
                if (!ok) {
                    fprintf(stderr, "  %s %s, n = %zu\n", path_name[p], fname[f], n);
                    ox_test_failures++;
                }
            }
        }
    }
    ox_cpu_limit(saved_limit);
}

TEST(vmath_softmax_rows) {
    unsigned saved_limit = ox_cpu_limit(~0u);
    static const size_t lens[] = {0, 1, 7, 17, 33, 255, 2100};
    static float x[2100 + 32], y[2100 + 32], m[2100], acc[2100 + 32];
    for (int p = 0; p < 3; p++) {
        if (!use_path(p)) continue;
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
            size_t n = lens[l];
            for (size_t i = 0; i < n + 32; i++) x[i] = (float)(sin((double)i * 1.3 + (double)n) * 20.0);
            /* max */
            float want = -INFINITY;
            for (size_t i = 0; i < n; i++) want = x[i] > want ? x[i] : want;
            CHECK(ox_vmax(n, x) == want);
            if (n > 3) {
                float keep = x[2];
                x[2] = NAN; /* NaN never wins */
                float w2 = -INFINITY;
                for (size_t i = 0; i < n; i++) w2 = x[i] > w2 ? x[i] : w2;
                CHECK(ox_vmax(n, x) == w2);
                x[2] = keep;
            }
            /* exp sum, with and without the values */
            double sref = 0;
            for (size_t i = 0; i < n; i++) sref += exp((double)x[i] - want);
            for (size_t i = 0; i < n + 32; i++) y[i] = -7.0f;
            double s = ox_vexp_sum(n, x, want, y);
            CHECK(fabs(s - sref) <= 1e-6 * sref);
            CHECK(fabs(ox_vexp_sum(n, x, want, NULL) - s) <= 0);
            double worst = 0;
            for (size_t i = 0; i < n; i++) {
                double e = ulps(y[i], exp((double)(x[i] - want)));
                worst = e > worst ? e : worst;
            }
            CHECK(worst <= 2);
            for (size_t i = n; i < n + 32; i++) CHECK(y[i] == -7.0f);
            /* per-column shift with accumulation */
            for (size_t i = 0; i < n; i++) m[i] = (float)i * 0.01f;
            for (size_t i = 0; i < n + 32; i++) acc[i] = y[i] = 1.0f;
            ox_vexp_sub_acc(n, x, m, y, acc);
            worst = 0;
            for (size_t i = 0; i < n; i++) {
                double e = ulps(y[i], exp((double)(x[i] - m[i])));
                worst = e > worst ? e : worst;
                CHECK(acc[i] == 1.0f + y[i]);
            }
            CHECK(worst <= 2);
            for (size_t i = n; i < n + 32; i++) CHECK(y[i] == 1.0f && acc[i] == 1.0f);
            /* scale and log-softmax's output, rounded as written */
            for (size_t i = 0; i < n + 32; i++) y[i] = -7.0f;
            ox_vscale(n, x, 0.37f, y);
            for (size_t i = 0; i < n; i++) CHECK(y[i] == x[i] * 0.37f);
            for (size_t i = n; i < n + 32; i++) CHECK(y[i] == -7.0f);
            ox_vsub2(n, x, 1.25f, 0.3f, y);
            for (size_t i = 0; i < n; i++) CHECK(y[i] == (x[i] - 1.25f) - 0.3f);
            for (size_t i = n; i < n + 32; i++) CHECK(y[i] == -7.0f);
        }
    }
    ox_cpu_limit(saved_limit);
}

TEST(vmath_norm_rows) {
    unsigned saved_limit = ox_cpu_limit(~0u);
    static const size_t lens[] = {0, 1, 7, 17, 33, 255, 3000};
    static float x[3000 + 32], y[3000 + 32], sc[3000], bs[3000];
    for (int p = 0; p < 3; p++) {
        if (!use_path(p)) continue;
        for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
            size_t n = lens[l];
            /* a large offset: the variance must not cancel */
            for (size_t i = 0; i < n + 32; i++) x[i] = 1000.0f + (float)sin((double)i * 0.91) * 0.5f;
            for (size_t i = 0; i < n; i++) {
                sc[i] = 0.5f + (float)i * 0.001f;
                bs[i] = (float)cos((double)i);
            }
            double s = 0, s2 = 0, q = 0;
            for (size_t i = 0; i < n; i++) s += x[i];
            double mr = n ? s / (double)n : 0;
            for (size_t i = 0; i < n; i++) {
                s2 += (x[i] - mr) * (x[i] - mr);
                q += (double)x[i] * x[i];
            }
            double vr = n ? s2 / (double)n : 0, mean, var;
            ox_vmean_var(n, x, &mean, &var);
            CHECK(fabs(mean - mr) <= 1e-12 * 1000);
            CHECK(fabs(var - vr) <= 1e-5 * vr + 1e-12);
            CHECK(fabs(ox_vsum_sq(n, x) - q) <= 1e-6 * q);
            CHECK(fabs(ox_vsum(n, x) - s) <= 1e-6 * fabs(s));
            if (n) CHECK(fabs(ox_vsum(n - 1, x + 1) - (s - x[0])) <= 1e-6 * fabs(s) + 1e-3);
            float mf = (float)mr, iv = (float)(1 / sqrt(vr + 1e-5));
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                for (size_t i = 0; i < n + 32; i++) y[i] = -7.0f;
                ox_vnorm_affine(n, x, mf, iv, sc, with_bias ? bs : NULL, y);
                for (size_t i = 0; i < n; i++) {
                    double want = ((double)x[i] - mf) * iv * sc[i] + (with_bias ? bs[i] : 0);
                    CHECK_NEAR(y[i], want, 1e-5);
                }
                for (size_t i = n; i < n + 32; i++) CHECK(y[i] == -7.0f);
            }
        }
    }
    ox_cpu_limit(saved_limit);
}
