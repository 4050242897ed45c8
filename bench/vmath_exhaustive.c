/* The worst error of kernels/vmath.h's exp, sigmoid, silu, tanh and erf over every
 * float (all 2^32 bit patterns), on each path this machine has, measured as
 * tests/unit/test_vmath.c measures it (ulps of the float nearest the exact value;
 * silu with the allowance for a denormal sigmoid). The unit test samples a million
 * values; this is how the figures in kernels/vmath.h were measured. Not part of any
 * build target; compile against a built library:
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc bench/vmath_exhaustive.c \
 *      build/libonyx.a -lm -lpthread -o /tmp/vmath_exhaustive
 *   /tmp/vmath_exhaustive [stride=1] [functions=esStE]   (minutes per function)
 * A stride above 1 samples every stride-th pattern instead. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/vmath.h"

static float f_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double ulps(float got, double want) {
    float w = (float)want;
    if (isnan(w)) return isnan(got) ? 0 : 1e9;
    if (isinf(w) || isinf(got)) return got == w ? 0 : 1e9;
    double u = fabs((double)nextafterf(w, INFINITY) - (double)w);
    if (u == 0 || w == 0) u = 0x1p-149;
    return fabs((double)got - want) / u;
}

static double silu_err(float got, double want, float x) {
    if (isinf(x)) return (x > 0 ? got == x : isnan(got)) ? 0 : 1e9;
    double u = ulps(got, want);
    if (u >= 1e9) return u;
    double ulp = fabs((double)nextafterf((float)want, INFINITY) - (double)(float)want);
    if (ulp == 0 || want == 0) ulp = 0x1p-149;
    double slack = fabs((double)x) * 0x1p-150 / ulp;
    return u > slack ? u - slack : 0;
}

enum { CHUNK = 1 << 16 };

int main(int argc, char **argv) {
    uint64_t stride = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    const char *fns = argc > 2 ? argv[2] : "esStE";
    static const unsigned limits[3] = {0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};
    static float x[CHUNK], y[CHUNK];
    static double ref[CHUNK];
    if (stride == 0) stride = 1;
    for (const char *f = fns; *f; f++) {
        double worst[3] = {0};
        float at[3] = {0};
        int have[3];
        for (int p = 0; p < 3; p++) {
            ox_cpu_limit(limits[p]);
            const char *want = p == 0 ? "generic" : p == 1 ? "avx2" : "avx512";
            have[p] = !strcmp(ox_vmath_kernel_name(), want);
        }
        for (uint64_t b = 0; b < 0x100000000ull;) {
            size_t n = 0;
            for (; n < CHUNK && b < 0x100000000ull; n++, b += stride) x[n] = f_of((uint32_t)b);
            for (size_t i = 0; i < n; i++) {
                double v = x[i];
                switch (*f) {
                case 'e': ref[i] = exp(v); break;
                case 's': ref[i] = 1 / (1 + exp(-v)); break;
                case 'S': ref[i] = v / (1 + exp(-v)); break;
                case 't': ref[i] = tanh(v); break;
                default: ref[i] = erf(v); break;
                }
            }
            for (int p = 0; p < 3; p++) {
                if (!have[p]) continue;
                ox_cpu_limit(limits[p]);
                switch (*f) {
                case 'e': ox_vexp(n, x, y); break;
                case 's': ox_vsigmoid(n, x, y); break;
                case 'S': ox_vsilu(n, x, y); break;
                case 't': ox_vtanh(n, x, y); break;
                default: ox_verf(n, x, y); break;
                }
                for (size_t i = 0; i < n; i++) {
                    double e = *f == 'S' ? silu_err(y[i], ref[i], x[i]) : ulps(y[i], ref[i]);
                    if (e > worst[p]) {
                        worst[p] = e;
                        at[p] = x[i];
                    }
                }
            }
        }
        const char *name = *f == 'e' ? "exp" : *f == 's' ? "sigmoid" : *f == 'S' ? "silu"
                                   : *f == 't' ? "tanh" : "erf";
        for (int p = 0; p < 3; p++)
            if (have[p])
                printf("%-8s %-7s worst %.3f ulp at x = %.9g\n", name,
                       p == 0 ? "generic" : p == 1 ? "avx2" : "avx512", worst[p], (double)at[p]);
        fflush(stdout);
    }
    ox_cpu_limit(~0u);
    return 0;
}
