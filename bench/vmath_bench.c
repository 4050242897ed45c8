/* Micro-benchmark of kernels/vmath.h and kernels/bias_act.h: ns per element of the
 * activation maps over an array that stays in cache, on every path this machine has.
 * Not part of any build target; compile against a built library:
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc bench/vmath_bench.c \
 *      build/libonyx.a -lm -lpthread -o /tmp/vmath_bench
 *   /tmp/vmath_bench [n=16384] [reps=4000]
 * Each figure is the fastest of 9 timed runs of reps calls (the machine may be
 * shared; the fastest is the one least disturbed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/bias_act.h"
#include "kernels/cpu.h"
#include "kernels/vmath.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { F_EXP, F_SIGMOID, F_SILU, F_TANH, F_BIAS_SILU_SPLIT, F_BIAS_SILU_FUSED, NF };
static const char *const fname[NF] = {"exp",  "sigmoid",      "silu",
                                      "tanh", "bias+silu 2x", "bias+silu fused"};

static void call(int f, size_t n, const float *x, float *y) {
    switch (f) {
    case F_EXP: ox_vexp(n, x, y); break;
    case F_SIGMOID: ox_vsigmoid(n, x, y); break;
    case F_SILU: ox_vsilu(n, x, y); break;
    case F_TANH: ox_vtanh(n, x, y); break;
    case F_BIAS_SILU_SPLIT:
        ox_bias_act(y, x, n, 0.1f, OX_BIAS_ONLY, 0, 0);
        ox_vsilu(n, y, y);
        break;
    default: ox_bias_act(y, x, n, 0.1f, OX_BIAS_SILU, 0, 0); break;
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 16384;
    int reps = argc > 2 ? atoi(argv[2]) : 4000;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (!x || !y) return 1;
    /* conv outputs: mostly within a few units of 0, both signs */
    for (size_t i = 0; i < n; i++) x[i] = (float)(sin((double)i * 0.731) * 6.0);
    static const unsigned limits[3] = {0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};
    for (int p = 0; p < 3; p++) {
        ox_cpu_limit(limits[p]);
        printf("%-8s", ox_vmath_kernel_name());
        for (int f = 0; f < NF; f++) {
            double t[9];
            call(f, n, x, y);
            for (int k = 0; k < 9; k++) {
                double t0 = now();
                for (int r = 0; r < reps / (p ? 1 : 8); r++) call(f, n, x, y);
                t[k] = (now() - t0) / ((double)(reps / (p ? 1 : 8)) * (double)n) * 1e9;
            }
            qsort(t, 9, sizeof *t, cmp);
            printf("  %s %.3f", fname[f], t[0]);
        }
        printf("  ns/elem\n");
    }
    ox_cpu_limit(~0u);
    free(x);
    free(y);
    return 0;
}
