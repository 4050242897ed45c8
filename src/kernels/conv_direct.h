/* Direct 2-D convolution, float32, NCHW, one group, for filters with few taps per
 * output (K = C * KH * KW small: the first layer of image networks, 3 input
 * channels). There the GEMM formulation spends more time arranging its operands
 * than multiplying; this computes each output row straight into Y.
 *
 * Output (m, oy, ox) is
 *   bias[m] + sum over c < C, kh < KH, kw < KW of w[m][c][kh][kw] * x[c][iy][ix],
 *   iy = oy * sh + kh * dh - pad_top,  ix = ox * sw + kw * dw - pad_left,
 * where taps outside the input read 0 (the padding after the input is whatever OH
 * and OW imply). Then, in registers: + res[m][oy][ox] when a residual is given,
 * and the clamp; `post` runs on each finished output row of a channel. */
#ifndef OX_KERNELS_CONV_DIRECT_H
#define OX_KERNELS_CONV_DIRECT_H

#include <stddef.h>

/* Output channels computed together: the packed filters come in blocks of this
 * many, the same for every instruction set. */
#define OX_CD_MB 4

typedef struct ox_conv_direct {
    size_t N, C, IH, IW;       /* images, input channels, input plane */
    size_t M, OH, OW;          /* output channels and plane */
    size_t KH, KW;             /* filter size, >= 1 */
    size_t sh, sw, dh, dw;     /* strides and dilations, >= 1 */
    size_t pad_top, pad_left;  /* padding before the input */
    /* clamp != 0: y = min(hi, max(lo, y)) as Clip computes it (y < lo ? lo : y, then
     * v > hi ? hi : v; NaN passes); Relu is lo = 0, hi = +inf */
    int clamp;
    float lo, hi;
    /* When set, called on each finished output row (n floats) of one channel, on the
     * thread that computed it (other activations). */
    void (*post)(float *y, size_t n, const void *ctx);
    const void *post_ctx;
} ox_conv_direct;

/* Floats of the packed filters for M output channels of K = C * KH * KW taps; the
 * packing of w (M x K, as ONNX lays it out) into dst. */
size_t ox_conv_direct_packed_floats(size_t M, size_t K);
void ox_conv_direct_pack(const float *w, size_t M, size_t K, float *dst);

/* The work is split into items, the output rows of every image (N * OH). A call works
 * through its items band by band in a buffer of ox_conv_direct_band_floats floats,
 * which the caller gives it (one per thread: the buffer stays in cache from band to
 * band, where a region per item, 1.5 MB for a 7x7 stem, went through memory on every
 * run). Both are 0 when the geometry is too large for the kernel (a buffer over 2^31
 * floats) or empty. */
size_t ox_conv_direct_items(const ox_conv_direct *p);
size_t ox_conv_direct_band_floats(const ox_conv_direct *p);

/* Items [i0, i1): x (N x C x IH x IW), the packed filters wp, bias (M, or NULL),
 * res (N x M x OH x OW, or NULL), y (N x M x OH x OW); buf, ox_conv_direct_band_floats
 * floats (64-byte aligned for the fastest loads), for this call alone. */
void ox_conv_direct_f32(const ox_conv_direct *p, size_t i0, size_t i1, const float *x,
                        const float *wp, const float *bias, const float *res, float *y,
                        float *buf);

/* Which path ox_conv_direct_f32 takes now: "avx512", "avx2" or "generic". */
const char *ox_conv_direct_kernel_name(void);

#endif
