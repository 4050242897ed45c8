/* The round trip of one cache line between two CPUs, in nanoseconds (one line on
 * stdout): a thread on each CPU, pinned, hands a counter back and forth 200000 times.
 * `make bench` runs it between CPU 0 and CPU 1 before and after its rounds: 2-thread
 * runs hand data between the cores at every operator, and on this project's VM the
 * figure moved between about 240 and 510 ns over one session while each CPU's
 * multiply-add speed (bench/cpu_probe.c) stayed the same. Built by bench/bench.py;
 * not part of `make`.
 *
 *   xcore_probe [CPU_A CPU_B]     (default 0 1) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS 200000

static _Alignas(64) atomic_long turn;

static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* answers every trip, pinned or not (the caller waits on it), and says whether the
 * pinning failed */
static void *answer(void *arg) {
    int unpinned = pin(*(const int *)arg) != 0;
    for (long i = 0; i < TRIPS; i++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 1) {
        }
        atomic_store_explicit(&turn, 2 * i + 2, memory_order_release);
    }
    return unpinned ? (void *)1 : NULL;
}

int main(int argc, char **argv) {
    int a = argc > 2 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 1;
    pthread_t t;
    if (pin(a) != 0 || pthread_create(&t, NULL, answer, &b) != 0) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < TRIPS; i++) {
        atomic_store_explicit(&turn, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * i + 2) {
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    void *failed;
    pthread_join(t, &failed);
    if (failed) return 1;
    double ns = 1e9 * (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%.0f\n", ns / TRIPS);
    return 0;
}
