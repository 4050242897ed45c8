/* Helpers shared by the recurrent and attention op tests (test_rnn.c,
 * test_attention.c). */
#ifndef OX_TEST_RNN_H
#define OX_TEST_RNN_H

#include "ir/tensor.h"
#include "nodes.h"
#include "ops/op.h"

typedef struct ox_threadpool ox_threadpool;

/* Prepare, infer, allocate and run a node like ox_op_run_single, except that
 * output i is omitted (NULL to the op) where present is non-NULL and present[i]
 * is 0, and that a thread pool may be given. */
onyx_status rt_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                   ox_tensor *out, const int *present, size_t n_out, ox_threadpool *pool);

/* Add a list-of-strings attribute (the strings must outlive the node). */
void rt_strings(ox_node *n, const char *name, size_t count, const char *const *v);

/* A copy of a float32 tensor in dtype (float32, float64, float16, bfloat16). */
ox_tensor rt_cast(const ox_tensor *t, int32_t dtype);

/* Compare got (any float type) against want; prints the first mismatches and
 * returns the number of failures. tol is absolute plus the same relative. */
int rt_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what);

/* Uniform in [0, n). */
int rt_rnd(int n);

#endif
