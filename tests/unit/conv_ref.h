/* The activations a plan fuses into a node (ops/op.h's OX_ACT_*), in double: the
 * reference the fused kernels are checked against. */
#ifndef OX_TESTS_ACT_REF_H
#define OX_TESTS_ACT_REF_H

#include <math.h>

#include "ops/op.h"

static inline double act_ref(double v, int act, double alpha, double beta) {
    switch (act) {
    case OX_ACT_RELU: return v < 0 ? 0 : v;
    case OX_ACT_LEAKY_RELU: return v >= 0 ? v : alpha * v;
    case OX_ACT_CLIP: v = v < alpha ? alpha : v; return v > beta ? beta : v;
    case OX_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case OX_ACT_TANH: return tanh(v);
    case OX_ACT_HARD_SIGMOID: v = alpha * v + beta; return v < 0 ? 0 : v > 1 ? 1 : v;
    case OX_ACT_SILU: return v / (1.0 + exp(-v));
    case OX_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    default: return v;
    }
}

#endif
