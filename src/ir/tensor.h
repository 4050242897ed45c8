/* The runtime tensor: dtype, shape and a pointer to its elements.
 * Elements are stored densely in row-major order, in the machine's byte order.
 * For STRING tensors, data points to an array of ox_string.
 * The 4-bit types (INT4, UINT4, FLOAT4E2M1) and the 2-bit types (INT2, UINT2) are
 * stored unpacked, one element per byte, in the low 4 or 2 bits (sign-extended for
 * INT4 and INT2), so every kernel can index them. FLOAT8E8M0 is one byte, its code. */
#ifndef OX_IR_TENSOR_H
#define OX_IR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define OX_MAX_RANK 16

typedef struct ox_string {
    char *data; /* not necessarily nul-terminated; may contain zero bytes */
    size_t len;
} ox_string;

typedef struct ox_tensor {
    int32_t dtype; /* onyx_dtype */
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    void *data;
} ox_tensor;

/* Values that are not tensors travel in the same slot with a pseudo dtype:
 *   OX_DTYPE_SEQUENCE  rank 0; data points to an ox_sequence that owns its items;
 *   OX_DTYPE_NONE      an optional with no value; data is NULL.
 * An optional that holds a value is simply that value. Ops producing these set
 * OX_OP_ALLOC_IN_RUN (their size is known only when they run). */
#define OX_DTYPE_SEQUENCE 1001
#define OX_DTYPE_NONE 1002

typedef struct ox_sequence {
    int32_t elem_dtype; /* element dtype, or ONYX_DTYPE_UNDEFINED while unknown */
    size_t n, cap;
    ox_tensor *items;   /* n tensors, each owning its data (ox_malloc_aligned) */
} ox_sequence;

/* Make *out an empty sequence (allocates the ox_sequence). */
onyx_status ox_sequence_init(ox_tensor *out, int32_t elem_dtype);
/* Insert item at position pos (0..n), taking ownership of item's data. */
onyx_status ox_sequence_insert(ox_sequence *s, size_t pos, ox_tensor *item);
/* A deep copy of a tensor, sequence or none into dst (strings and items copied). */
onyx_status ox_value_copy(const ox_tensor *src, ox_tensor *dst);

/* Bytes one element occupies in an ox_tensor (1 for the 4- and 2-bit types, sizeof(ox_string)
 * for STRING, 0 for UNDEFINED or an unknown value). */
size_t ox_dtype_size(int32_t dtype);
/* Whether dtype is a known ONNX element type. */
int ox_dtype_valid(int32_t dtype);
const char *ox_dtype_name(int32_t dtype);
int ox_dtype_is_float(int32_t dtype); /* float, double, (b)float16, float8* incl. e8m0, float4 */
int ox_dtype_is_int(int32_t dtype);   /* signed or unsigned integer, not bool */
int ox_dtype_is_signed_int(int32_t dtype);

/* Number of elements of a shape, 0 on overflow or negative dim (check with
 * ox_shape_count_checked when the shape is untrusted). */
size_t ox_shape_count(int32_t rank, const int64_t *dims);
/* Element count and byte size of a shape, with overflow and negative dims rejected:
 * returns 1 on success. */
int ox_shape_count_checked(int32_t rank, const int64_t *dims, int32_t dtype, size_t *count,
                           size_t *nbytes);

static inline size_t ox_tensor_count(const ox_tensor *t) { return ox_shape_count(t->rank, t->dims); }
static inline size_t ox_tensor_nbytes(const ox_tensor *t) {
    return ox_tensor_count(t) * ox_dtype_size(t->dtype);
}
/* Same dtype, rank and dims. */
int ox_tensor_same_shape(const ox_tensor *a, const ox_tensor *b);
/* Write "float32[2,3,4]" into buf. */
const char *ox_tensor_describe(const ox_tensor *t, char *buf, size_t cap);
const char *ox_shape_describe(int32_t rank, const int64_t *dims, char *buf, size_t cap);

/* Free t->data allocated with ox_malloc_aligned (for STRING tensors, each string's
 * data was ox_malloc'ed and is freed too; a SEQUENCE frees its items and itself);
 * t->data becomes NULL. */
void ox_tensor_free_data(ox_tensor *t);
/* Allocate t->data (ox_malloc_aligned, zero-filled) for t's dtype and shape; for
 * a sequence or empty optional it only sets data to NULL. */
onyx_status ox_tensor_alloc_data(ox_tensor *t);
/* The same without the zero fill, for data about to be written whole (not strings,
 * whose elements own memory). */
onyx_status ox_tensor_alloc_uninit(ox_tensor *t);

#endif
