/* Helpers shared by the nn op tests (test_nn*.c). */
#ifndef OX_TEST_NN_H
#define OX_TEST_NN_H

#include "ir/tensor.h"
#include "nodes.h"
#include "ops/op.h"

typedef struct ox_threadpool ox_threadpool;

/* Like ox_op_run_single, with a thread pool (may be NULL). */
onyx_status nn_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                   ox_tensor *out, size_t n_out, ox_threadpool *pool);
/* nn_run through the op's prepack hook first: the packed-weights paths. */
onyx_status nn_run_packed(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                          ox_tensor *out, size_t n_out, ox_threadpool *pool);

/* A uniform integer in [0, n). */
int nn_rnd(int n);

/* A tensor of random values in [-1, 1) (floats) or [-5, 5] (integers). */
ox_tensor nn_rand(int32_t dtype, int32_t rank, const int64_t *dims);

void nn_free(ox_tensor *t, size_t n);

/* Compare a tensor against expected doubles; prints the first few mismatches and
 * returns the number of failures. */
int nn_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what);

#endif
