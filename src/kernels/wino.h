/* The tile transforms of Winograd's F(2x2, 3x3) (ops/nn_conv_wino.c has the whole
 * convolution), over one channel at a time and OX_WINO_VL tiles of a tile row at
 * once: AVX-512 where kernels/cpu.h allows it, else GNU C vectors of 8 floats.
 *
 * Input: the channel's zero-padded input as even and odd column planes (rows of Wq
 * floats; tile (ty, tx) reads rows 2ty..2ty+3, columns tx and tx+1 of each plane).
 * V_k (k = 4i + j) gets (B^T d B)[i][j] for tile t = ty*TW + tx at v[k*ks + t].
 * Output: from M_k at m[k*ks + t], Y = A^T M A into the OH x OW plane y, plus bias,
 * then kind (kernels/bias_act.h: OX_BIAS_ONLY, _RELU or _CLIP with lo, hi).
 * Both may touch up to OX_WINO_VL tiles past the last of a row (v and m need that
 * much room past T; the planes OX_WINO_VL more columns than TW + 1). */
#ifndef OX_KERNELS_WINO_H
#define OX_KERNELS_WINO_H

#include <stddef.h>

#define OX_WINO_VL 16 /* the widest vector step any path takes */

void ox_wino_input(const float *even, const float *odd, size_t Wq, size_t TH, size_t TW, float *v,
                   size_t ks);
void ox_wino_output(const float *m, size_t ks, size_t TH, size_t TW, float *y, size_t OH,
                    size_t OW, float bias, int kind, float lo, float hi);
/* U = G g G^T for one 3x3 filter g (row-major): u[4i + j] = (G g G^T)[i][j]. */
void ox_wino_filter(const float *g, float u[16]);
/* The column split that makes the planes: even[q] = src[2q], odd[q] = src[2q + 1] for
 * q in [0, n) (src has 2n floats). */
void ox_wino_split(const float *src, size_t n, float *even, float *odd);

#if defined(__x86_64__) || defined(__i386__)
void ox_wino_input_avx512(const float *even, const float *odd, size_t Wq, size_t TH, size_t TW,
                          float *v, size_t ks);
void ox_wino_output_avx512(const float *m, size_t ks, size_t TH, size_t TW, float *y, size_t OH,
                           size_t OW, float bias, int kind, float lo, float hi);
void ox_wino_split_avx512(const float *src, size_t n, float *even, float *odd);
#endif

#endif
