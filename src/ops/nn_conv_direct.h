/* float32 2-D Conv with few taps per output (K = C/group * KH * KW small, one group:
 * the first layer of image networks) by the direct kernel (kernels/conv_direct.h),
 * which writes Y with bias, fused residual and activation applied in registers.
 * nn_conv_gemm.c hands such convolutions over to it. */
#ifndef OX_OPS_NN_CONV_DIRECT_H
#define OX_OPS_NN_CONV_DIRECT_H

#include "ops/nn_ops.h"

/* Whether a geometry runs here. */
int ox_conv_direct_applies(const ox_conv_geom *g);

/* The filters packed for the kernel when the plan's shapes take this path (*out
 * NULL otherwise), freed with ox_conv_direct_free. */
onyx_status ox_conv_direct_prepack(ox_op_ctx *c, float **out);
void ox_conv_direct_free(float *packed);

/* The workspace a run needs, and the run (packed: from ox_conv_direct_prepack for
 * these weights, or NULL to pack them into the workspace). */
onyx_status ox_conv_direct_workspace(const ox_conv_geom *g, size_t *bytes);
onyx_status ox_conv_direct_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed);

#endif
