#include "util/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "util/alloc.h"

/* Waking a sleeping thread costs tens of microseconds (a system call, then the
 * scheduler), more than many kernels take. So a worker that finishes a job keeps
 * polling for the next one for a while before it sleeps: long enough to cover the
 * gap between two operators of one run (nearly all such gaps on the bench models
 * are under 128 us), short enough that a session waiting between runs costs no
 * CPU after that. */
#define OX_POOL_SPIN_NS 250000
/* A caller waiting for the workers' last chunks polls too: they are running, so
 * the wait is at most about one chunk, and sleeping would add a wake-up to it. */
#define OX_POOL_WAIT_NS 2000000
/* After this long a polling thread also yields its CPU on each look, so that a
 * thread it is waiting for can run where threads outnumber cores. */
#define OX_POOL_YIELD_NS 50000

/* Chunks are dealt out in a few contiguous ranges, one per thread: each thread
 * starts on its own range and then helps with the others'. A thread so tends to
 * get the same part of the data in consecutive calls of the same size (a chain
 * of element-wise operators, say) and finds it in its own cache. */
#define OX_POOL_SLOTS 8

/* A thread's range of items [begin, end), claimed a chunk at a time from begin. */
typedef struct {
    _Alignas(64) atomic_size_t next; /* first item of the next chunk to claim */
    size_t end;
} ox_slot;

/* One parallel_for call. The job lives on the caller's stack: the caller returns
 * only once it is off the queue and no worker holds it. */
typedef struct ox_job {
    ox_slot slot[OX_POOL_SLOTS];
    ox_task_fn fn;
    void *arg;
    size_t chunk; /* items per claim; each slot ends its range */
    int n_slots;
    atomic_int refs;   /* workers inside this job; changed under the pool mutex */
    int caller_asleep; /* the caller waits on done_cv (guarded by the pool mutex) */
    struct ox_job *qnext;
} ox_job;

typedef struct {
    pthread_t thread;
    struct ox_threadpool *pool;
    int home; /* the worker's own range is home % n_slots */
} ox_worker;

struct ox_threadpool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* sleeping workers wait here for a job */
    pthread_cond_t done_cv; /* sleeping callers wait here for their job's workers */
    ox_job *queue;          /* jobs that may have unclaimed chunks (guarded by mu) */
    atomic_int queued;      /* queue != NULL, for workers polling without mu */
    atomic_int stop;
    int n_sleeping; /* workers in work_cv (guarded by mu) */
    int n_workers;
    ox_worker *workers;
};

static void cpu_relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t elapsed_ns(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000000 + (t.tv_nsec - t0->tv_nsec);
}

/* Polls until ready(ctx) holds or the spin time is over; returns whether it held. */
static int spin_until(int (*ready)(const void *), const void *ctx, int64_t limit_ns) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (int i = 0; i < 32; i++) {
            if (ready(ctx)) return 1;
            cpu_relax();
        }
        int64_t ns = elapsed_ns(&t0);
        if (ns >= limit_ns) return ready(ctx);
        if (ns >= OX_POOL_YIELD_NS) sched_yield();
    }
}

/* The pool mutex is only ever held for a few instructions, so a thread that finds
 * it taken retries for a moment instead of sleeping on it at once: that sleep
 * and the wake-up it needs would cost more than the whole critical section. */
static void pool_lock(ox_threadpool *p) {
    for (int i = 0; i < 256; i++) {
        if (pthread_mutex_trylock(&p->mu) == 0) return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
}

static int pool_has_news(const void *ctx) {
    const ox_threadpool *p = ctx;
    return atomic_load_explicit(&p->queued, memory_order_relaxed) ||
           atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static int job_released(const void *ctx) {
    const ox_job *j = ctx;
    return atomic_load_explicit(&j->refs, memory_order_acquire) == 0;
}

static void job_work(ox_job *j, int home) {
    for (int k = 0; k < j->n_slots; k++) {
        ox_slot *s = &j->slot[(home + k) % j->n_slots];
        for (;;) {
            /* next only grows by chunk per claim: with ranges far below SIZE_MAX it
             * cannot wrap */
            size_t b = atomic_fetch_add_explicit(&s->next, j->chunk, memory_order_relaxed);
            if (b >= s->end) break;
            size_t e = s->end - b < j->chunk ? s->end : b + j->chunk;
            j->fn(j->arg, b, e);
        }
    }
}

static int job_claimed(const ox_job *j) {
    for (int k = 0; k < j->n_slots; k++)
        if (atomic_load_explicit(&j->slot[k].next, memory_order_relaxed) < j->slot[k].end) return 0;
    return 1;
}

/* Called with mu held. */
static void queue_remove(ox_threadpool *p, ox_job *j) {
    for (ox_job **pp = &p->queue; *pp; pp = &(*pp)->qnext) {
        if (*pp == j) {
            *pp = j->qnext;
            break;
        }
    }
    atomic_store_explicit(&p->queued, p->queue != NULL, memory_order_relaxed);
}

static void *worker_main(void *arg) {
    ox_worker *w = arg;
    ox_threadpool *p = w->pool;
    int polled = 1; /* a new worker sleeps until the first job */
    pool_lock(p);
    for (;;) {
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
        ox_job *j = p->queue;
        if (j && job_claimed(j)) {
            /* its last chunks are running already: nothing to join, but more
             * jobs are likely to follow */
            queue_remove(p, j);
            polled = 0;
        } else if (j) {
            atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
            pthread_mutex_unlock(&p->mu);
            job_work(j, w->home);
            pool_lock(p);
            /* every chunk is claimed: nobody else should pick this job up */
            queue_remove(p, j);
            int wake = j->caller_asleep;
            /* the caller may return as soon as it sees refs reach 0: j is not
             * touched after this */
            atomic_fetch_sub_explicit(&j->refs, 1, memory_order_release);
            if (wake) pthread_cond_broadcast(&p->done_cv);
            polled = 0;
        } else if (!polled) {
            pthread_mutex_unlock(&p->mu);
            spin_until(pool_has_news, p, OX_POOL_SPIN_NS);
            pool_lock(p);
            polled = 1;
        } else {
            p->n_sleeping++;
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->n_sleeping--;
            /* woken for a job that others may have finished already: more are
             * likely to follow, so poll before sleeping again */
            polled = 0;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ox_threadpool *ox_threadpool_create(int n_threads) {
    if (n_threads <= 1) return NULL;
    ox_threadpool *p = ox_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = ox_calloc((size_t)n_threads - 1, sizeof *p->workers);
    if (!p->workers) {
        ox_free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->queued, 0);
    atomic_init(&p->stop, 0);
    for (int i = 0; i < n_threads - 1; i++) {
        p->workers[i].pool = p;
        p->workers[i].home = i + 1;
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) break;
        p->n_workers++;
    }
    if (p->n_workers == 0) {
        ox_threadpool_free(p);
        return NULL;
    }
    return p;
}

void ox_threadpool_free(ox_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    ox_free(p->workers);
    ox_free(p);
}

int ox_threadpool_size(const ox_threadpool *p) { return p ? p->n_workers + 1 : 1; }

void ox_parallel_for(ox_threadpool *p, size_t n, size_t grain, ox_task_fn fn, void *arg) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t threads = (size_t)ox_threadpool_size(p);
    if (!p || n <= grain) {
        fn(arg, 0, n);
        return;
    }
    /* a few chunks per thread balance uneven work */
    size_t chunk = (n + threads * 4 - 1) / (threads * 4);
    chunk = (chunk + grain - 1) / grain * grain; /* whole grains */
    size_t n_chunks = (n + chunk - 1) / chunk;
    ox_job j = {.fn = fn, .arg = arg, .chunk = chunk};
    size_t slots = threads < OX_POOL_SLOTS ? threads : OX_POOL_SLOTS;
    if (slots > n_chunks) slots = n_chunks;
    j.n_slots = (int)slots;
    /* ranges of equal size (in whole grains): dealt in whole chunks, 28 items on 2
     * threads in chunks of 4 would be 12 and 16, and the thread with 12 would wait */
    size_t grains = (n + grain - 1) / grain;
    for (size_t s = 0; s < slots; s++) {
        size_t b = s * grains / slots * grain, e = (s + 1) * grains / slots * grain;
        atomic_init(&j.slot[s].next, b);
        j.slot[s].end = e < n ? e : n;
    }
    atomic_init(&j.refs, 0);
    pool_lock(p);
    j.qnext = p->queue;
    p->queue = &j;
    atomic_store_explicit(&p->queued, 1, memory_order_relaxed);
    /* polling workers see the job without help; wake only as many sleepers as
     * there are chunks beyond the caller's first */
    size_t want = n_chunks - 1;
    if (p->n_sleeping > 0 && want > 0) {
        if (want >= (size_t)p->n_sleeping)
            pthread_cond_broadcast(&p->work_cv);
        else
            for (size_t i = 0; i < want; i++) pthread_cond_signal(&p->work_cv);
    }
    pthread_mutex_unlock(&p->mu);

    job_work(&j, 0);

    /* off the queue first, so that no worker joins once refs is seen at 0 */
    pool_lock(p);
    queue_remove(p, &j);
    int busy = atomic_load_explicit(&j.refs, memory_order_acquire) > 0;
    pthread_mutex_unlock(&p->mu);
    if (!busy || spin_until(job_released, &j, OX_POOL_WAIT_NS)) return;
    pool_lock(p);
    j.caller_asleep = 1;
    while (atomic_load_explicit(&j.refs, memory_order_acquire) > 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
