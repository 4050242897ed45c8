/* Times ox_sgemm next to OpenBLAS's cblas_sgemm on square products, one thread and
 * two, in the same process. Built and run by `make bench-sgemm` (arguments in
 * SGEMM_ARGS; needs Debian's libopenblas-dev); not part of `make` or `make test`.
 *
 *   sgemm_bench [-r rounds] [-t max_threads] [-w] [n ...]     (default n: 256 512 1024 2048)
 *
 * Each figure is the best of several timed repetitions: GFLOP/s = 2 n^3 / seconds.
 * On one thread the time is the calling thread's CPU time (both libraries then run
 * on the caller), so other work on a busy machine does not count; with more threads
 * it is wall time, so the machine should be otherwise idle. -w uses wall time
 * throughout. ONYX_CPU=generic times the portable kernel, ONYX_CPU=avx2 the AVX2 one. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct problem {
    size_t n;
    float *A, *B, *C;
    ox_threadpool *pool;
    int threads;
} problem;

static void run_onyx(const problem *p) {
    ox_sgemm(0, 0, p->n, p->n, p->n, 1.0f, p->A, p->n, p->B, p->n, 0.0f, p->C, p->n, p->pool);
}

static void run_blas(const problem *p) {
    blasint n = (blasint)p->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, p->A, n, p->B, n, 0.0f,
                p->C, n);
}

/* Best seconds per product over `reps` repetitions of at least ~20 ms each. */
static double best_time(void (*fn)(const problem *), const problem *p, int reps) {
    fn(p); /* warm caches, scratch buffers and worker threads */
    double t0 = now();
    fn(p);
    double one = now() - t0;
    int iters = one > 0.02 ? 1 : (int)(0.02 / (one > 1e-7 ? one : 1e-7)) + 1;
    double best = one;
    for (int r = 0; r < reps; r++) {
        t0 = now();
        for (int i = 0; i < iters; i++) fn(p);
        double t = (now() - t0) / iters;
        if (t < best) best = t;
    }
    return best;
}

/* Largest |onyx - openblas| relative to the largest |C|: a sanity check only. */
static double compare(const problem *p) {
    size_t nn = p->n * p->n;
    float *ref = ox_malloc_array(nn, sizeof(float));
    if (!ref) return NAN;
    run_blas(p);
    memcpy(ref, p->C, nn * sizeof(float));
    run_onyx(p);
    double md = 0.0, mc = 0.0;
    for (size_t i = 0; i < nn; i++) {
        double d = fabs((double)p->C[i] - (double)ref[i]), c = fabs((double)ref[i]);
        if (d > md || d != d) md = d;
        if (c > mc) mc = c;
    }
    ox_free(ref);
    return md / (mc > 0.0 ? mc : 1.0);
}

int main(int argc, char **argv) {
    int rounds = 3, max_threads = 2, wall = 0;
    size_t sizes[16];
    size_t n_sizes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-w") == 0) {
            wall = 1;
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            max_threads = atoi(argv[++i]);
        } else if (n_sizes < 16 && atol(argv[i]) > 0) {
            sizes[n_sizes++] = (size_t)atol(argv[i]);
        } else {
            fprintf(stderr, "usage: %s [-r rounds] [-t max_threads] [-w] [n ...]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    if (max_threads < 1) max_threads = 1;
    if (n_sizes == 0) {
        static const size_t def[] = {256, 512, 1024, 2048};
        for (size_t i = 0; i < 4; i++) sizes[n_sizes++] = def[i];
    }
    printf("onyx kernel: %s; OpenBLAS %s (core %s)\n", ox_sgemm_kernel_name(),
           openblas_get_config(), openblas_get_corename());
    printf("GFLOP/s, best of %d rounds; C = A * B, row-major, n x n\n", rounds);
    printf("%6s %7s %5s %10s %10s %7s %10s\n", "n", "threads", "time", "onyx", "openblas", "ratio",
           "max rel");
    for (int threads = 1; threads <= max_threads; threads++) {
        ox_threadpool *pool = threads > 1 ? ox_threadpool_create(threads) : NULL;
        openblas_set_num_threads(threads);
        clock_id = threads == 1 && !wall ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
        for (size_t s = 0; s < n_sizes; s++) {
            problem p = {.n = sizes[s], .pool = pool, .threads = threads};
            size_t nn = p.n * p.n;
            p.A = ox_malloc_aligned(nn * sizeof(float));
            p.B = ox_malloc_aligned(nn * sizeof(float));
            p.C = ox_malloc_aligned(nn * sizeof(float));
            if (!p.A || !p.B || !p.C) {
                fprintf(stderr, "out of memory at n = %zu\n", p.n);
                return 1;
            }
            srand(1);
            for (size_t i = 0; i < nn; i++) {
                p.A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
                p.B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
            }
            double err = compare(&p);
            int reps = p.n >= 2048 ? 3 : 5;
            double t_ox = 1e30, t_bl = 1e30;
            for (int r = 0; r < rounds; r++) {
                /* OpenBLAS workers spin a while after a call: let them settle */
                pause_ms(50);
                double t = best_time(run_onyx, &p, reps);
                if (t < t_ox) t_ox = t;
                t = best_time(run_blas, &p, reps);
                if (t < t_bl) t_bl = t;
            }
            double fl = 2.0 * (double)p.n * (double)p.n * (double)p.n * 1e-9;
            printf("%6zu %7d %5s %10.1f %10.1f %6.0f%% %10.1e\n", p.n, threads,
                   clock_id == CLOCK_MONOTONIC ? "wall" : "cpu", fl / t_ox, fl / t_bl,
                   100.0 * t_bl / t_ox, err);
            fflush(stdout);
            ox_free_aligned(p.A);
            ox_free_aligned(p.B);
            ox_free_aligned(p.C);
        }
        ox_threadpool_free(pool);
    }
    return 0;
}
