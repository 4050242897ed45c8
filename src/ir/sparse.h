/* Sparse tensors (SparseTensorProto) made dense: sparse initializers and Constant's
 * sparse_value. */
#ifndef OX_IR_SPARSE_H
#define OX_IR_SPARSE_H

#include "ir/model.h"

/* Check the parts agree: 1-D values (not strings), int64 indices shaped [NNZ]
 * (linear) or [NNZ, rank]. what names the tensor in the message. */
onyx_status ox_sparse_check(const ox_sparse_tensor *sp, const char *what);

/* Write the dense tensor into dst (count(dims) elements of the values' dtype): zeros,
 * then each value at its index. An index out of range is an error. */
onyx_status ox_sparse_densify(const ox_sparse_tensor *sp, void *dst);

#endif
