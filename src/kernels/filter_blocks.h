/* Conv filters (M x K, as ONNX lays them out) in blocks of B output channels, tap by
 * tap: block b holds channels [b*B, b*B + B) as dst[(b*K + t)*B + m], so the B
 * weights of one tap are adjacent; channels past M are zero. The layout of the
 * direct and the channels-in-lanes Conv kernels (B = 4 and 64). */
#ifndef OX_KERNELS_FILTER_BLOCKS_H
#define OX_KERNELS_FILTER_BLOCKS_H

#include <stddef.h>

static inline size_t ox_filter_blocks_floats(size_t M, size_t K, size_t B) {
    return (M + B - 1) / B * B * K;
}

static inline void ox_filter_blocks_pack(const float *w, size_t M, size_t K, size_t B, float *dst) {
    for (size_t b = 0; b * B < M; b++)
        for (size_t t = 0; t < K; t++)
            for (size_t m = 0; m < B; m++) {
                size_t ch = b * B + m;
                dst[(b * K + t) * B + m] = ch < M ? w[ch * K + t] : 0.0f;
            }
}

#endif
