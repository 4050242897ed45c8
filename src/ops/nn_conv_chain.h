/* An expansion 1x1 Conv, a depthwise Conv and a projection 1x1 Conv (or the first
 * two alone, or the last two) run as one parallel region by bands of rows
 * (ops/nn_conv_chain.c); the planner chains them (plan/chain.c). */
#ifndef OX_OPS_NN_CONV_CHAIN_H
#define OX_OPS_NN_CONV_CHAIN_H

#include "kernels/gemm.h"
#include "ops/op.h"

#define OX_CHAIN_STEPS 3  /* the Convs of a chain at most */
#define OX_CHAIN_MAX_IN 8 /* inputs of a chained step at most */

/* Whether ctx[0] (a 1x1 Conv), ctx[1] (a depthwise 2-D Conv reading ctx[0]'s output)
 * and, when n is 3, ctx[2] (a 1x1 Conv reading ctx[1]'s, with or without a fused
 * residual) are worth running as a chain on `threads` threads and can: float32, 4-D,
 * no channel scale. With n = 2 ctx[0] may also be the depthwise Conv and ctx[1] the
 * projection. Shapes as at planning; no data is read. */
int ox_conv_chain_applies(ox_op_ctx *const *ctx, size_t n, size_t threads);

/* Run the n Convs of a chain, with the filters their steps packed for the GEMM
 * (ox_conv_gemm_packed; without them the GEMM packs per call): ctx[n-1]'s output is
 * written, the others' are not. */
onyx_status ox_conv_chain_run(ox_op_ctx *const *ctx, size_t n);

/* A Conv step's filters packed for the GEMM (one group), or NULL. */
const ox_sgemm_packed *ox_conv_gemm_packed(const ox_op_ctx *c);

#endif
