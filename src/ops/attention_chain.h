/* Attention as PyTorch exports it (MatMul, Softmax over the last dim, MatMul) run as
 * one step (ops/attention_chain.c); the planner chains the three (plan/chain.c). */
#ifndef OX_OPS_ATTENTION_CHAIN_H
#define OX_OPS_ATTENTION_CHAIN_H

#include "ops/op.h"

/* Whether ctx[0] (MatMul: scores = Q x K), ctx[1] (Softmax of the scores over their
 * last dim) and ctx[2] (MatMul: probabilities x V) are worth running as one, and
 * can: float32, Q, K and V of one rank (2 or more) with the same batch dims, a
 * head's scores too many for L2. Shapes as at planning. */
int ox_attention_chain_applies(ox_op_ctx *const ctx[3]);

/* Run the three: ctx[2]'s output is written, the scores and probabilities are not
 * stored (each thread keeps a block of their rows in scratch). */
onyx_status ox_attention_chain_run(ox_op_ctx *const ctx[3]);

#endif
