/* float32 2-D Conv of one group with the output channels in the vector lanes
 * (kernels/conv_oc.h), for the geometries where it beats the GEMM paths: small
 * output planes and strided filters. nn_conv_gemm.c hands those over to it. */
#ifndef OX_OPS_NN_CONV_OC_H
#define OX_OPS_NN_CONV_OC_H

#include "ops/nn_ops.h"

/* Whether a geometry runs here (on this processor). */
int ox_conv_oc_applies(const ox_conv_geom *g);

/* The filters packed for the kernel when the plan's shapes take this path (*out
 * NULL otherwise), freed with ox_conv_oc_free. */
onyx_status ox_conv_oc_prepack(ox_op_ctx *c, float **out);
void ox_conv_oc_free(float *packed);

/* The workspace a run needs, and the run (packed: from ox_conv_oc_prepack for these
 * weights, or NULL to pack them into the workspace). */
onyx_status ox_conv_oc_workspace(const ox_conv_geom *g, size_t *bytes);
onyx_status ox_conv_oc_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed);

#endif
