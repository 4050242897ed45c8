/* Winograd's F(2x2, 3x3) with the output channels in the vector lanes: the products
 * of a tile group are summed over the input channels in registers, as kernels/conv_oc.h
 * sums a direct convolution's taps, instead of through 16 GEMMs and their output in
 * memory. For each of the 16 elements e of up to OX_WINO_OC_TILES tiles of a tile row
 * and a strip of OX_OC_NR output channels,
 *
 *   M_e[t][m] = sum over c < C of V_e[c][t] * U_e[c][m]
 *
 * (V = B^T d B of the input tile, U = G g G^T of the filter, ops/nn_conv_wino.c has
 * both), which stays in cache until Y = A^T M A turns the tiles into their 2x2
 * outputs: plus bias (and a residual, then the clamp), transposed in registers into
 * the channels' rows.
 * 2.25 times fewer multiply-adds than the direct convolution, and none of the
 * Winograd GEMMs' passes over M. AVX-512 only (ox_wino_oc_supported). */
#ifndef OX_KERNELS_WINO_OC_H
#define OX_KERNELS_WINO_OC_H

#include <stddef.h>

#include "kernels/conv_oc.h"

/* Tiles of a tile row computed at once (28 accumulators with 4 vectors of channels). */
#define OX_WINO_OC_TILES 7

/* Floats of U packed for M output channels of C input channels: strip s (OX_OC_NR
 * channels) holds element e, input channel c at dst[((s*16 + e)*C + c)*OX_OC_NR + m];
 * channels past M are zero. w is M x C x 3 x 3, as ONNX lays it out. */
size_t ox_wino_oc_packed_floats(size_t M, size_t C);
void ox_wino_oc_pack(const float *w, size_t M, size_t C, float *dst);

/* Whether this processor has the kernel (AVX-512 with AVX2 and FMA). */
int ox_wino_oc_supported(void);

/* Scratch floats ox_wino_oc_run_band needs for a band of up to `rows` tile rows of TW
 * tiles: M of all its tiles (in groups of OX_WINO_OC_TILES) and staging rows. */
size_t ox_wino_oc_scratch_floats(size_t TW, size_t rows);

/* One band of tile rows through one strip of output channels. */
typedef struct ox_wino_oc_band {
    size_t C;          /* input channels */
    const float *v;    /* V of the band: element e, channel c, tile t (t = row * TW +
                        * column in the band) at v[e*vs + c*ldt + t] */
    size_t vs, ldt;
    size_t TW, rows;   /* tiles per tile row, tile rows */
    const float *u;    /* the strip's U, as ox_wino_oc_pack lays it out */
    const float *bias; /* the strip's OX_OC_NR biases (zero past mvalid), or NULL */
    float *y;          /* the strip's first channel at the band's first output row */
    const float *res;  /* a residual laid out as y (added before the clamp), or NULL */
    size_t plane;      /* floats between channels of y */
    size_t OW, OH;     /* output row length; rows of y from its first (OH - 2 * ty0) */
    size_t mvalid;     /* channels of the strip that exist (1..OX_OC_NR) */
    /* clamp != 0: y = min(hi, max(lo, y)) as Clip computes it (NaN passes) */
    int clamp;
    float lo, hi;
    float *scratch;    /* ox_wino_oc_scratch_floats(TW, rows), 64-byte aligned */
} ox_wino_oc_band;

/* Returns 0, having computed nothing, where the processor has no kernel. */
int ox_wino_oc_run_band(const ox_wino_oc_band *b);

#if defined(__x86_64__) || defined(__i386__)
void ox_wino_oc_band_avx512(const ox_wino_oc_band *b);
#endif

#endif
