/* float32 3x3 stride-1 Conv by Winograd's F(2x2, 3x3) with the output channels in the
 * vector lanes (kernels/wino_oc.h), for the layers where it beats the direct kernels
 * and the Winograd GEMMs. nn_conv_gemm.c hands those over to it. */
#ifndef OX_OPS_NN_CONV_WINO_OC_H
#define OX_OPS_NN_CONV_WINO_OC_H

#include "ops/nn_ops.h"

/* Whether a geometry runs here (on this processor). */
int ox_conv_wino_oc_applies(const ox_conv_geom *g);

/* The filters transformed and packed for the kernel when the plan's shapes take this
 * path (*out NULL otherwise), freed with ox_conv_wino_oc_free. */
onyx_status ox_conv_wino_oc_prepack(ox_op_ctx *c, float **out);
void ox_conv_wino_oc_free(float *packed);

/* The workspace a run needs, and the run (packed: from ox_conv_wino_oc_prepack for
 * these weights, or NULL to pack them into the workspace). */
onyx_status ox_conv_wino_oc_workspace(const ox_conv_geom *g, size_t *bytes);
onyx_status ox_conv_wino_oc_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed);

#endif
