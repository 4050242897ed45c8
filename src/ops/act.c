/* Fused activations: applied by producers (Conv, Gemm) to their output while it is
 * still in cache, instead of a separate pass over memory. Each computes exactly what
 * the standalone op computes (same formulas, same NaN handling). */
#include "ops/elem_vmath.h"
#include "ops/op.h"

void ox_act_apply(float *y, size_t n, int act, float alpha, float beta) {
    switch (act) {
    case OX_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] < 0 ? 0 : y[i]; /* NaN passes, as in Relu */
        break;
    case OX_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = y[i] >= 0 ? y[i] : alpha * y[i];
        break;
    case OX_ACT_CLIP:
        for (size_t i = 0; i < n; i++) { /* as Clip: the lower bound first */
            float v = y[i] < alpha ? alpha : y[i];
            y[i] = v > beta ? beta : v;
        }
        break;
    case OX_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = ox_vm_sigmoidf(y[i]);
        break;
    case OX_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = ox_vm_tanhf(y[i]);
        break;
    case OX_ACT_HARD_SIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = alpha * y[i] + beta;
            y[i] = v < 0 ? 0 : v > 1 ? 1 : v; /* as HardSigmoid's clamp */
        }
        break;
    default: break;
    }
}
