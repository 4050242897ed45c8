/* Fused activations: applied by producers (Conv, Gemm) to their output while it is
 * still in cache, instead of a separate pass over memory, and by the steps of fused
 * patterns (OX_OP_ACT_STEP). Each computes what the standalone ops compute: the
 * same formulas and NaN handling, and the transcendental ones through the same
 * kernels/vmath.h functions (x * sigmoid(x) rounds as Mul after Sigmoid). */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises only trivial loops; the selects below need if-conversion,
 * which gcc does only when it may assume no floating-point traps (onyx never
 * enables them) */
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#include "kernels/vmath.h"
#include "ops/op.h"

void ox_act_apply_to(const float *x, float *y, size_t n, int act, float alpha, float beta) {
    switch (act) {
    case OX_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i]; /* NaN passes, as in Relu */
        break;
    case OX_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : alpha * x[i];
        break;
    case OX_ACT_CLIP:
        for (size_t i = 0; i < n; i++) { /* as Clip: the lower bound first */
            float v = x[i] < alpha ? alpha : x[i];
            y[i] = v > beta ? beta : v;
        }
        break;
    case OX_ACT_SIGMOID: ox_vsigmoid(n, x, y); break;
    case OX_ACT_TANH: ox_vtanh(n, x, y); break;
    case OX_ACT_HARD_SIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = alpha * x[i] + beta;
            y[i] = v < 0 ? 0 : v > 1 ? 1 : v; /* as HardSigmoid's clamp */
        }
        break;
    case OX_ACT_SILU: ox_vsilu(n, x, y); break;
    case OX_ACT_GELU: ox_vgelu(n, x, y); break;
    default:
        if (x != y)
            for (size_t i = 0; i < n; i++) y[i] = x[i];
        break;
    }
}

void ox_act_apply(float *y, size_t n, int act, float alpha, float beta) {
    ox_act_apply_to(y, y, n, act, alpha, beta);
}
