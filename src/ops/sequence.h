/* Shared pieces of the sequence and optional ops (ops/sequence.c, ops/sequence_tensor.c).
 *
 * Values travel as ir/tensor.h describes: a sequence is an OX_DTYPE_SEQUENCE slot
 * whose data is an ox_sequence owning its items; an empty optional is OX_DTYPE_NONE;
 * an optional holding a value is that value. Inputs are read-only, so every item an
 * op puts into a new value is a copy.
 */
#ifndef OX_OPS_SEQUENCE_H
#define OX_OPS_SEQUENCE_H

#include "ops/op.h"

/* "a sequence of 3", "an empty optional", "a tensor float32[2,3]" for messages. */
const char *ox_seq_describe(const ox_tensor *t, char *buf, size_t cap);

/* Input i must be a present sequence; *out receives it. OX_NEED_VALUE when its
 * data is not known yet. */
onyx_status ox_seq_input(const ox_op_ctx *c, size_t i, const char *what, const ox_sequence **out);

/* Input i must be a present tensor (not a sequence or an empty optional) with a
 * known dtype; OX_NEED_VALUE when its elements are not known yet. */
onyx_status ox_seq_tensor_input(const ox_op_ctx *c, size_t i, const char *what);

/* Copy src (tensor, sequence or none) into output i: tensors through
 * c->alloc_output, other values with ox_value_copy. */
onyx_status ox_seq_copy_to_output(ox_op_ctx *c, size_t i, const ox_tensor *src);

/* Move a built value into output i (or free it when the output is omitted). */
void ox_seq_set_output(ox_op_ctx *c, size_t i, ox_tensor *v);

/* SplitToSequence and ConcatFromSequence (ops/sequence_tensor.c). */
onyx_status ox_seq_split_prepare(ox_op_ctx *c);
onyx_status ox_seq_split_infer(ox_op_ctx *c);
onyx_status ox_seq_split_run(ox_op_ctx *c);
onyx_status ox_seq_concat_prepare(ox_op_ctx *c);
onyx_status ox_seq_concat_infer(ox_op_ctx *c);
onyx_status ox_seq_concat_run(ox_op_ctx *c);

#endif
