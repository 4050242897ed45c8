/* Building nodes and tensors by hand for op unit tests.
 *   ox_node *n = tn_node("Gemm", 3, 1);   inputs "i0".."i2", outputs "o0"
 *   tn_int(n, "transB", 1);
 *   ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, data);  copies data
 *   ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b, &c}, 3, out, 1);
 * Nodes live until tn_reset(); tensors are freed with ox_tensor_free_data. */
#ifndef OX_TEST_NODES_H
#define OX_TEST_NODES_H

#include "ir/model.h"
#include "ops/op.h"

ox_node *tn_node(const char *op_type, size_t n_in, size_t n_out);
/* Mark input i omitted (""), as in an optional input left out. */
void tn_omit_input(ox_node *n, size_t i);
void tn_int(ox_node *n, const char *name, int64_t v);
void tn_float(ox_node *n, const char *name, float v);
void tn_str(ox_node *n, const char *name, const char *v);
void tn_ints(ox_node *n, const char *name, size_t count, const int64_t *v);
void tn_floats(ox_node *n, const char *name, size_t count, const float *v);
/* A tensor attribute (e.g. Constant's value, ConstantOfShape's value); data copied. */
void tn_tensor(ox_node *n, const char *name, int32_t dtype, int32_t rank, const int64_t *dims,
               const void *data);
void tn_reset(void);

/* A tensor with a copy of data (count * dtype size bytes; NULL = zeros). */
ox_tensor tt_make(int32_t dtype, int32_t rank, const int64_t *dims, const void *data);
/* Uniform random floats in [lo, hi) from a fixed-seed generator. */
ox_tensor tt_rand(int32_t rank, const int64_t *dims, float lo, float hi);
float tt_randf(void);

#endif
