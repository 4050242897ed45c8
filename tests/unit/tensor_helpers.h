/* Helpers for the tensor-op unit tests: random tensors of any dtype, element
 * comparison (strings must be equal but separately stored), index arithmetic. */
#ifndef OX_TEST_TENSOR_HELPERS_H
#define OX_TEST_TENSOR_HELPERS_H

#include "nodes.h"

#define TX_N_TYPES 7
extern const int32_t tx_types[TX_N_TYPES]; /* one dtype of each element size, string, bool */

int tx_rnd(int n);                                        /* uniform in [0, n) */
void tx_rnd_shape(int32_t rank, int64_t *dims, int maxd); /* dims in [1, maxd] */
/* A tensor of dtype with random bytes (random short strings for STRING). */
ox_tensor tx_rand_tensor(int32_t dtype, int32_t rank, const int64_t *dims);
/* Element i of a equals element j of b (strings: same bytes, separate storage). */
int tx_elem_eq(const ox_tensor *a, size_t i, const ox_tensor *b, size_t j);
int tx_same_dims(const ox_tensor *t, int32_t rank, const int64_t *dims);
void tx_unravel(size_t lin, int32_t rank, const int64_t *dims, int64_t *idx);
size_t tx_ravel(int32_t rank, const int64_t *dims, const int64_t *idx);
ox_tensor tx_i64(size_t n, const int64_t *v); /* 1-D int64 */
ox_tensor tx_i32(size_t n, const int64_t *v); /* 1-D int32 */
void tx_free_all(ox_tensor *t, size_t n);
/* prepare + infer only, to see what a node needs while planning. */
onyx_status tx_infer_only(const ox_node *n, int64_t opset, ox_tensor **in, size_t n_in,
                          ox_tensor *out, size_t n_out);

#endif
