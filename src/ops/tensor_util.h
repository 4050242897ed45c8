/* Shared helpers of the tensor-manipulation ops (ops/tensor*.c, ops/shape_*.c).
 *
 * These ops move elements without looking at them, so they work on any dtype by
 * element size; STRING elements are ox_string structs whose bytes are duplicated on
 * every copy (an output never shares string storage with an input).
 */
#ifndef OX_OPS_TENSOR_UTIL_H
#define OX_OPS_TENSOR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* Copy n contiguous elements of dtype from src to dst (STRING: duplicates each
 * string's bytes). Fails only when a string copy cannot be allocated. */
onyx_status ox_tx_copy(void *dst, const void *src, size_t n, int32_t dtype);

/* Copy element si of src to element di of dst (same dtype). */
onyx_status ox_tx_copy_one(void *dst, size_t di, const void *src, size_t si, int32_t dtype);

/* A strided view of a source tensor: output element at index (i_0..i_{r-1}) is the
 * source element offset + sum(i_k * strides[k]). The caller guarantees every
 * element addressed lies inside the source. */
typedef struct ox_tx_view {
    int32_t rank;
    int64_t dims[OX_MAX_RANK];    /* output dims */
    int64_t strides[OX_MAX_RANK]; /* source stride of each output dim, in elements */
    int64_t offset;               /* source element of the output's first element */
} ox_tx_view;

/* Fill dst (contiguous, row-major over v->dims) from src through the view; large
 * copies are split over pool (may be NULL). */
onyx_status ox_tx_strided_copy(void *dst, const void *src, const ox_tx_view *v, int32_t dtype,
                               ox_threadpool *pool);

/* Row-major strides (in elements) of a shape. */
void ox_tx_strides(int32_t rank, const int64_t *dims, int64_t *strides);

/* Product of dims[lo..hi) (the caller knows the shape's count fits). */
size_t ox_tx_prod(const int64_t *dims, int32_t lo, int32_t hi);

/* Whether a tensor's value is known: it has data, or it has no elements. */
static inline int ox_tx_known(const ox_tensor *t) { return t->data || ox_tensor_count(t) == 0; }

/* Read a 0-D or 1-D integer tensor (int64; int32 too when allow_int32) into
 * out[0..cap); *n receives the count. what names the input in messages. */
onyx_status ox_tx_read_ints(const ox_tensor *t, const char *what, int allow_int32, int64_t *out,
                            size_t cap, size_t *n);

/* Check that out's dtype and shape give a count and byte size that fit. */
onyx_status ox_tx_check_size(const ox_tensor *out, const char *what);

/* Whether dtype is one of the types Constant/Identity/Reshape... accept (any known). */
static inline int ox_tx_any_type(int32_t dtype) { return ox_dtype_valid(dtype); }

/* Check that input i is present and has a known dtype. */
onyx_status ox_tx_need_input(const ox_op_ctx *c, size_t i, const char *what);

/* float <-> float16 / bfloat16 (round to nearest even). */
uint16_t ox_tx_f32_to_f16(float f);
uint16_t ox_tx_f32_to_bf16(float f);
float ox_tx_f16_to_f32(uint16_t h);
float ox_tx_bf16_to_f32(uint16_t h);

/* Whether ox_tensor_get_int/get_double can read dtype (integers, bool, float32/64,
 * float16, bfloat16). */
int ox_tx_scalar_type(int32_t dtype);

/* Element i of a numeric tensor as int64, floats truncated toward zero; *ok = 0
 * when the value is NaN or outside int64, or the dtype is not ox_tx_scalar_type. */
int64_t ox_tx_get_index(const ox_tensor *t, size_t i, int *ok);

/* Store v at element i of a float32/float64/float16/bfloat16 buffer; returns 0 for
 * other dtypes. */
int ox_tx_store_float(void *data, size_t i, int32_t dtype, double v);

/* Store v at element i of an integer or bool buffer (wrapping to the type's width);
 * returns 0 for other dtypes. */
int ox_tx_store_int(void *data, size_t i, int32_t dtype, int64_t v);

/* ---- ops (tables in ops/tensor.c) ------------------------------------------ */
#define OX_TX_DECLARE(name)                                                                        \
    onyx_status ox_tx_##name##_infer(ox_op_ctx *c);                                                \
    onyx_status ox_tx_##name##_run(ox_op_ctx *c)

OX_TX_DECLARE(identity);
OX_TX_DECLARE(shape);
OX_TX_DECLARE(size);
OX_TX_DECLARE(reshape);
OX_TX_DECLARE(flatten);
OX_TX_DECLARE(squeeze);
OX_TX_DECLARE(unsqueeze);
OX_TX_DECLARE(constant);
OX_TX_DECLARE(constant_of_shape);
OX_TX_DECLARE(range);
OX_TX_DECLARE(dropout);
OX_TX_DECLARE(transpose);
OX_TX_DECLARE(concat);
OX_TX_DECLARE(split);
OX_TX_DECLARE(slice);
OX_TX_DECLARE(gather);
OX_TX_DECLARE(pad);
OX_TX_DECLARE(center_crop_pad);
OX_TX_DECLARE(tile);
OX_TX_DECLARE(depth_to_space);
OX_TX_DECLARE(space_to_depth);
OX_TX_DECLARE(gather_elements);
OX_TX_DECLARE(gather_nd);
OX_TX_DECLARE(scatter_elements);
OX_TX_DECLARE(scatter_nd);
OX_TX_DECLARE(one_hot);
OX_TX_DECLARE(non_zero);
OX_TX_DECLARE(unique);
OX_TX_DECLARE(compress);
OX_TX_DECLARE(eye_like);
OX_TX_DECLARE(trilu);
OX_TX_DECLARE(cumsum);
onyx_status ox_tx_cumprod_run(ox_op_ctx *c); /* infer: ox_tx_cumsum_infer */
OX_TX_DECLARE(reverse_sequence);
onyx_status ox_tx_constant_prepare(ox_op_ctx *c);

#endif
