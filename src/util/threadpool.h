/* A pool of worker threads for heavy kernels. A worker that finishes a job polls
 * for the next one for a fraction of a millisecond (the gap between two operators
 * of one run), then sleeps on a condition variable: a session waiting between runs
 * costs no CPU. A NULL pool runs everything on the caller. */
#ifndef OX_UTIL_THREADPOOL_H
#define OX_UTIL_THREADPOOL_H

#include <stddef.h>

typedef struct ox_threadpool ox_threadpool;

/* fn(arg, begin, end) handles items [begin, end). */
typedef void (*ox_task_fn)(void *arg, size_t begin, size_t end);

/* A pool with n_threads workers in all (the caller counts as one); NULL when
 * n_threads <= 1 or on failure (callers then run serially). */
ox_threadpool *ox_threadpool_create(int n_threads);
void ox_threadpool_free(ox_threadpool *p);
int ox_threadpool_size(const ox_threadpool *p); /* 1 for NULL */

/* Split [0, n) into chunks of at least grain items and run them on the pool;
 * returns when all are done. Safe to call from several threads at once. */
void ox_parallel_for(ox_threadpool *p, size_t n, size_t grain, ox_task_fn fn, void *arg);

#endif
