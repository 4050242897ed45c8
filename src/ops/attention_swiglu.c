/* SwiGLU (opset 28): the gated activation of transformer feed-forward blocks,
 * Y = A * sigmoid(alpha * A) * B, on equal shapes (no broadcasting). */
#include <math.h>

#include "ops/nn_ops.h"
#include "ops/rnn.h"
#include "util/alloc.h"

onyx_status ox_swiglu_prepare(ox_op_ctx *c) {
    float *alpha = ox_malloc(sizeof *alpha);
    if (!alpha) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = alpha;
    *alpha = ox_attr_float(c, "alpha", 1.0f);
    return ox_op_status(c);
}

onyx_status ox_swiglu_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    const ox_tensor *a = c->in[0], *b = c->in[1];
    if (!ox_nn_is_floatlike(a->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input A is %s; expected a float type",
                        ox_dtype_name(a->dtype));
    if (b->dtype != a->dtype || b->rank != a->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs A and B must have the same type and "
                        "shape");
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return ox_error(ONYX_ERR_INVALID_MODEL, "inputs A and B differ in dim %d (%lld vs "
                            "%lld); SwiGLU does not broadcast", i, (long long)a->dims[i],
                            (long long)b->dims[i]);
    ox_set_shape(c->out[0], a->dtype, a->rank, a->dims);
    return ONYX_OK;
}

static onyx_status swiglu_run_full(ox_op_ctx *c) {
    const float alpha = *(const float *)c->state;
    size_t n = ox_tensor_count(c->in[0]);
    if (c->in[0]->dtype == ONYX_DTYPE_DOUBLE) {
        const double *a = c->in[0]->data, *b = c->in[1]->data;
        double *y = c->out[0]->data;
        for (size_t i = 0; i < n; i++) y[i] = a[i] / (1.0 + exp(-(double)alpha * a[i])) * b[i];
    } else {
        const float *a = c->in[0]->data, *b = c->in[1]->data;
        float *y = c->out[0]->data;
        for (size_t i = 0; i < n; i++) y[i] = a[i] / (1.0f + expf(-alpha * a[i])) * b[i];
    }
    return ONYX_OK;
}

onyx_status ox_swiglu_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, swiglu_run_full);
    return swiglu_run_full(c);
}
