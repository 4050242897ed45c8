/* The thread pool: every item is handled once, in chunks of at least the grain;
 * workers woken while they poll or while they sleep always join; idle workers
 * stop using the CPU; the pool can be freed at any moment between calls. Tests
 * named *concurrent* also run under ThreadSanitizer (`make tsan`). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static double now_s(clockid_t clk) {
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void sleep_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0) {
    }
}

typedef struct {
    atomic_int *hits;
    size_t n, grain;
    atomic_int bad_ranges; /* empty, past n, or shorter than grain but not the last */
} cover_job;

static void cover_task(void *arg, size_t b, size_t e) {
    cover_job *j = arg;
    if (b >= e || e > j->n || (e - b < j->grain && e != j->n)) atomic_fetch_add(&j->bad_ranges, 1);
    for (size_t i = b; i < e && i < j->n; i++) atomic_fetch_add(&j->hits[i], 1);
}

static int cover_once(ox_threadpool *p, size_t n, size_t grain) {
    cover_job j = {.n = n, .grain = grain ? grain : 1};
    j.hits = ox_calloc(n ? n : 1, sizeof *j.hits);
    if (!j.hits) return 0;
    for (size_t i = 0; i < n; i++) atomic_init(&j.hits[i], 0);
    atomic_init(&j.bad_ranges, 0);
    ox_parallel_for(p, n, grain, cover_task, &j);
    int ok = atomic_load(&j.bad_ranges) == 0;
    for (size_t i = 0; i < n; i++) ok &= atomic_load(&j.hits[i]) == 1;
    ox_free(j.hits);
    return ok;
}

TEST(threadpool_covers_each_item_once) {
    static const int threads[] = {1, 2, 3, 5};
    static const size_t sizes[] = {0, 1, 2, 7, 17, 33, 255, 1000};
    static const size_t grains[] = {0, 1, 3, 64, 2000};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        ox_threadpool *p = ox_threadpool_create(threads[t]);
        CHECK(ox_threadpool_size(p) == threads[t]);
        CHECK((p == NULL) == (threads[t] == 1));
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) CHECK(cover_once(p, sizes[s], grains[g]));
        ox_threadpool_free(p);
    }
}

/* Each chunk waits until every chunk has started: the job finishes only if as
 * many threads as chunks take part, so a worker that misses its wake-up shows
 * as a timeout instead of a hang. */
typedef struct {
    atomic_int started;
    int n_chunks;
    atomic_int timeouts;
} meet_job;

static void meet_task(void *arg, size_t b, size_t e) {
    meet_job *j = arg;
    atomic_fetch_add(&j->started, 1);
    double t0 = now_s(CLOCK_MONOTONIC);
    while (atomic_load(&j->started) < j->n_chunks) {
        if (now_s(CLOCK_MONOTONIC) - t0 > 3.0) {
            atomic_fetch_add(&j->timeouts, 1);
            return;
        }
        sched_yield();
    }
}

static int meet_once(ox_threadpool *p) {
    meet_job j = {.n_chunks = ox_threadpool_size(p)};
    atomic_init(&j.started, 0);
    atomic_init(&j.timeouts, 0);
    /* n items with grain 1 give one chunk per thread */
    ox_parallel_for(p, (size_t)j.n_chunks, 1, meet_task, &j);
    return atomic_load(&j.timeouts) == 0 && atomic_load(&j.started) == j.n_chunks;
}

TEST(threadpool_concurrent_workers_always_join) {
    static const int threads[] = {2, 4};
    unsigned seed = 12345;
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        ox_threadpool *p = ox_threadpool_create(threads[t]);
        REQUIRE(p);
        CHECK(meet_once(p)); /* workers asleep since creation */
        int ok = 1;
        for (int i = 0; i < 50 && ok; i++) ok = meet_once(p); /* workers polling */
        CHECK(ok);
        /* gaps around the end of the polling window, where a worker goes to sleep */
        for (int i = 0; i < 60 && ok; i++) {
            seed = seed * 1103515245u + 12345u;
            sleep_us((long)((seed >> 8) % 1500));
            ok = meet_once(p);
        }
        CHECK(ok);
        sleep_us(30000);
        CHECK(meet_once(p)); /* workers asleep again */
        ox_threadpool_free(p);
    }
}

/* A session waiting between runs must cost nothing: once a job is done the
 * workers poll only briefly, then sleep. The clock of the process may count a
 * busy worker's last few milliseconds late (at its next tick or sleep), so the
 * idle window starts a little after the job. */
TEST(threadpool_idle_workers_sleep) {
    ox_threadpool *p = ox_threadpool_create(3);
    REQUIRE(p);
    for (int i = 0; i < 20; i++) CHECK(meet_once(p));
    sleep_us(30000);
    double cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID), wall0 = now_s(CLOCK_MONOTONIC);
    sleep_us(200000);
    double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0, wall = now_s(CLOCK_MONOTONIC) - wall0;
    /* two workers polling all along would use 2 * wall */
    CHECK(wall >= 0.2);
    CHECK(cpu < 0.005);
    if (cpu >= 0.005) fprintf(stderr, "  idle pool used %.2f ms of CPU in %.1f ms\n", cpu * 1e3, wall * 1e3);
    CHECK(meet_once(p)); /* and they still wake */
    ox_threadpool_free(p);
}

/* Several threads share one pool, and tasks call into the pool themselves. */
typedef struct {
    ox_threadpool *p;
    atomic_long sum;
} nest_job;

static void nest_inner(void *arg, size_t b, size_t e) {
    nest_job *j = arg;
    for (size_t i = b; i < e; i++) atomic_fetch_add(&j->sum, (long)i);
}

static void nest_outer(void *arg, size_t b, size_t e) {
    for (size_t i = b; i < e; i++) ox_parallel_for(((nest_job *)arg)->p, 100, 7, nest_inner, arg);
}

typedef struct {
    ox_threadpool *p;
    int index, failures;
} caller_args;

static void *caller_main(void *arg) {
    caller_args *a = arg;
    for (int r = 0; r < 200; r++) {
        size_t n = (size_t)(1 + (r * 37 + a->index * 11) % 300);
        if (!cover_once(a->p, n, (size_t)(r % 5))) a->failures++;
        if (r % 20 == 0) {
            nest_job j = {.p = a->p};
            atomic_init(&j.sum, 0);
            ox_parallel_for(a->p, 9, 1, nest_outer, &j);
            if (atomic_load(&j.sum) != 9 * 4950) a->failures++;
        }
        if (r % 50 == 0) sleep_us(2000);
    }
    return NULL;
}

TEST(threadpool_concurrent_callers) {
    ox_threadpool *p = ox_threadpool_create(3);
    REQUIRE(p);
    enum { CALLERS = 4 };
    caller_args a[CALLERS];
    pthread_t t[CALLERS];
    int started = 0;
    for (int i = 0; i < CALLERS; i++) {
        a[i] = (caller_args){p, i, 0};
        if (pthread_create(&t[i], NULL, caller_main, &a[i]) != 0) break;
        started++;
    }
    CHECK(started == CALLERS);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].failures == 0);
    }
    ox_threadpool_free(p);
}

/* Freeing returns whether the workers are starting, polling or asleep. */
TEST(threadpool_concurrent_free_any_time) {
    for (int i = 0; i < 40; i++) {
        ox_threadpool *p = ox_threadpool_create(2 + i % 3);
        REQUIRE(p);
        if (i % 4 >= 1) CHECK(cover_once(p, 64, 1));
        if (i % 4 == 2) sleep_us(100 + 37 * i);
        if (i % 4 == 3) sleep_us(5000);
        ox_threadpool_free(p);
    }
    ox_threadpool_free(NULL);
    CHECK(ox_threadpool_size(NULL) == 1);
}
