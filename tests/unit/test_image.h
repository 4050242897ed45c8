/* Helpers shared by the image op tests (test_image*.c). */
#ifndef OX_TEST_IMAGE_H
#define OX_TEST_IMAGE_H

#include "ir/tensor.h"
#include "nodes.h"
#include "ops/op.h"

typedef struct ox_threadpool ox_threadpool;

/* Like ox_op_run_single, with a thread pool (may be NULL); ops that size their
 * outputs while running get an alloc_output callback. */
onyx_status img_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                    ox_tensor *out, size_t n_out, ox_threadpool *pool);

/* prepare + infer only (what planning sees). */
onyx_status img_infer(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                      ox_tensor *out);

int img_rnd(int n);                  /* uniform in [0, n); 0 when n <= 0 */
double img_uniform(double lo, double hi);
/* A float tensor of dtype (float32/64/16) with uniform values in [lo, hi). */
ox_tensor img_rand(int32_t dtype, int32_t rank, const int64_t *dims, double lo, double hi);
ox_tensor img_f32(int32_t rank, const int64_t *dims, const float *v);
ox_tensor img_i64(size_t n, const int64_t *v); /* 1-D int64 */

/* Compare got against want (n doubles) with |got - want| <= tol (NaN matches NaN);
 * prints the first few mismatches; returns the number of mismatches. */
int img_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what);

void img_free(ox_tensor *t, size_t n);

#endif
