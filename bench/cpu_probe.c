/* The multiply-add throughput of the calling CPU, registers only, in GFLOP/s (one
 * line on stdout). `make bench` runs it on each CPU before and after its rounds: on a
 * VM whose host shares a core with other work, one CPU can deliver a fraction of
 * another's for minutes, which 2-thread figures then show. Built by bench/bench.py
 * with the machine's own instruction set; the figure is for comparing CPUs with one
 * another, not a peak. */
#include <stdio.h>
#include <time.h>

typedef float v8 __attribute__((vector_size(32)));

int main(void) {
    v8 acc[16], mul, add;
    for (int l = 0; l < 8; l++) mul[l] = 1.0000001f, add[l] = 1e-9f;
    for (int i = 0; i < 16; i++)
        for (int l = 0; l < 8; l++) acc[i][l] = (float)(i * 8 + l) * 1e-9f;
    const long steps = 4000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < steps; k++)
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) acc[i] = acc[i] * mul + add;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    float sum = 0.0f;
    for (int i = 0; i < 16; i++)
        for (int l = 0; l < 8; l++) sum += acc[i][l];
    /* the sum keeps the loop; it is never this large */
    printf("%.1f\n", sum > 1e30f ? 0.0 : (double)steps * 16 * 8 * 2 / s / 1e9);
    return 0;
}
