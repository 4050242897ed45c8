/* Times the depthwise kernel (kernels/dwconv.h) on one image of C channels, square
 * planes, K x K filters with 'same' padding, one thread. Not part of `make`; build it
 * against a built library, e.g.
 *
 *   cc -O2 -Iinclude -Isrc bench/dwconv_bench.c BUILD/libonyx.a -lm -lpthread -o dwb
 *   dwb [-r ms] [-b] [S K stride C ...]
 *
 * (add -DDWB_NO_BLOCKS for a library without the channel-block path).
 *
 * Without shapes it runs planes 7, 14, 28, 56, 112 x filters 3, 5 x strides 1, 2 x
 * channels 32, 96, 144, 480, 960. Each line: S K stride C, then the median time in
 * microseconds of ox_dwconv2d_f32 (the path it picks), and with -b of the
 * channel-block path forced (ox_dwconv2d_f32_blocks; a library that has it). Times
 * are the thread's CPU time, so other work on a busy machine counts less; compare
 * two libraries by alternating runs of two binaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dwconv.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run(const ox_dwconv2d *p, size_t C, const float *x, const float *w, const float *b,
                float *y, int blocks) {
#ifndef DWB_NO_BLOCKS
    if (blocks) {
        ox_dwconv2d_f32_blocks(p, C, 0, C, x, w, b, y);
        return;
    }
#endif
    (void)blocks;
    ox_dwconv2d_f32(p, C, 0, C, x, w, b, y);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct shape {
    size_t S, K, s, C;
} shape;

/* Median microseconds per call over samples of about budget_ms / 9 each. */
static double time_one(const shape *sh, int blocks, double budget_ms) {
    size_t S = sh->S, K = sh->K, C = sh->C, pad = K / 2;
    size_t O = (S + 2 * pad - K) / sh->s + 1;
    ox_dwconv2d p = {.IH = S, .IW = S, .OH = O, .OW = O, .KH = K, .KW = K, .sh = sh->s,
                     .sw = sh->s, .dh = 1, .dw = 1, .pad_top = pad, .pad_left = pad,
                     .clamp = 1, .lo = 0.0f, .hi = 6.0f};
    float *x = malloc(C * S * S * sizeof(float)), *w = malloc(C * K * K * sizeof(float));
    float *b = malloc(C * sizeof(float)), *y = malloc(C * O * O * sizeof(float));
    if (!x || !w || !b || !y) exit(1);
    srand(1);
    for (size_t i = 0; i < C * S * S; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < C * K * K; i++) w[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < C; i++) b[i] = 0.1f;
    /* calls per sample: about budget / 9 */
    double t0 = now();
    size_t calls = 0;
    while (now() - t0 < 2e-3 || calls < 3) {
        run(&p, C, x, w, b, y, blocks);
        calls++;
    }
    double per = (now() - t0) / (double)calls;
    size_t reps = (size_t)(budget_ms * 1e-3 / 9 / per) + 1;
    double t[9];
    for (int k = 0; k < 9; k++) {
        double a = now();
        for (size_t r = 0; r < reps; r++) {
            run(&p, C, x, w, b, y, blocks);
        }
        t[k] = (now() - a) / (double)reps * 1e6;
    }
    qsort(t, 9, sizeof t[0], cmp_double);
    free(x);
    free(w);
    free(b);
    free(y);
    return t[4];
}

int main(int argc, char **argv) {
    double budget = 40;
    int blocks = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            budget = atof(argv[++i]);
        else if (!strcmp(argv[i], "-b"))
            blocks = 1;
    }
    shape list[128];
    size_t n = 0;
    if (i < argc) {
        for (; i + 3 < argc && n < 128; i += 4)
            list[n++] = (shape){(size_t)atol(argv[i]), (size_t)atol(argv[i + 1]),
                                (size_t)atol(argv[i + 2]), (size_t)atol(argv[i + 3])};
    } else {
        static const size_t S[] = {7, 14, 28, 56, 112}, Cs[] = {32, 96, 144, 480, 960};
        for (int a = 0; a < 5; a++)
            for (size_t K = 3; K <= 5; K += 2)
                for (size_t s = 1; s <= 2; s++)
                    for (int c = 0; c < 5; c++) list[n++] = (shape){S[a], K, s, Cs[c]};
    }
    for (size_t k = 0; k < n; k++) {
        printf("%zu %zu %zu %zu %.2f", list[k].S, list[k].K, list[k].s, list[k].C,
               time_one(&list[k], 0, budget));
        if (blocks) printf(" %.2f", time_one(&list[k], 1, budget));
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
