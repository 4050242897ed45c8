/* What the Conv kernel tests compute their references with: the activations a plan
 * fuses into a node (ops/op.h's OX_ACT_*) in double, and the output size of a
 * window. */
#ifndef OX_TESTS_CONV_REF_H
#define OX_TESTS_CONV_REF_H

#include <math.h>
#include <stddef.h>

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

/* Outputs along one dimension: in, padded by pb and pe, under a kernel k with
 * dilation d and stride s; 0 when the window does not fit. */
static inline int out_dim(size_t in, size_t pb, size_t pe, size_t k, size_t d, size_t s,
                          size_t *out) {
    size_t ek = (k - 1) * d + 1;
    if (in + pb + pe < ek) return 0;
    *out = (in + pb + pe - ek) / s + 1;
    return 1;
}

#endif
