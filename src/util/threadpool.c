#include "util/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>

#include "util/alloc.h"

/* One parallel_for call. Chunks are claimed with an atomic counter by the caller
 * and by any worker that picks the job from the queue. */
typedef struct ox_job {
    ox_task_fn fn;
    void *arg;
    size_t n, chunk, n_chunks;
    atomic_size_t next;  /* next chunk to claim */
    atomic_size_t done;  /* chunks finished */
    int active_workers;  /* workers inside this job (guarded by pool mutex) */
    struct ox_job *qnext;
} ox_job;

struct ox_threadpool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers wait here for a job */
    pthread_cond_t done_cv; /* callers wait here for their job to finish */
    ox_job *queue;          /* jobs with unclaimed chunks */
    int stop;
    int n_workers;
    pthread_t *threads;
};

static void job_work(ox_job *j) {
    for (;;) {
        size_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->n_chunks) return;
        size_t b = c * j->chunk, e = b + j->chunk;
        if (e > j->n) e = j->n;
        j->fn(j->arg, b, e);
        atomic_fetch_add(&j->done, 1);
    }
}

static void queue_remove(ox_threadpool *p, ox_job *j) {
    for (ox_job **pp = &p->queue; *pp; pp = &(*pp)->qnext) {
        if (*pp == j) {
            *pp = j->qnext;
            return;
        }
    }
}

static void *worker_main(void *arg) {
    ox_threadpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !p->queue) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        ox_job *j = p->queue;
        j->active_workers++;
        pthread_mutex_unlock(&p->mu);
        job_work(j);
        pthread_mutex_lock(&p->mu);
        /* every chunk is claimed: nobody else should pick this job up */
        queue_remove(p, j);
        j->active_workers--;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ox_threadpool *ox_threadpool_create(int n_threads) {
    if (n_threads <= 1) return NULL;
    ox_threadpool *p = ox_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = ox_calloc((size_t)n_threads - 1, sizeof(pthread_t));
    if (!p->threads) {
        ox_free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) break;
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
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    ox_free(p->threads);
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
    if (chunk < grain) chunk = grain;
    ox_job j = {.fn = fn, .arg = arg, .n = n, .chunk = chunk};
    j.n_chunks = (n + chunk - 1) / chunk;
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    pthread_mutex_lock(&p->mu);
    j.qnext = p->queue;
    p->queue = &j;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    job_work(&j);

    pthread_mutex_lock(&p->mu);
    queue_remove(p, &j);
    while (atomic_load(&j.done) < j.n_chunks || j.active_workers > 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
