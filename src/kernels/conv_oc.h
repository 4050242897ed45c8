/* 2-D convolution, float32, NCHW, one group, with the output channels in the vector
 * lanes: the filters are packed in strips of OX_OC_NR output channels, and a run of
 * up to OX_OC_RC output positions along one output row is computed at once, each
 * position's input value broadcast against the strip's weights (RC x NR/16
 * accumulators). The input is read where it lies (or, when the convolution pads,
 * from a zero-padded copy of the rows one item reads, made by the thread that reads
 * it), whatever the stride: no phase planes, no im2col.
 *
 * It pays where the GEMM paths lose width: small output planes (7x7, 14x14), whose
 * few positions fill the GEMM's column tiles badly, and strided convolutions, whose
 * operands the GEMM path must first rearrange.
 *
 * Output (m, oy, ox) is
 *   bias[m] + sum over c < C, kh < KH, kw < KW of w[m][c][kh][kw] * x[c][iy][ix],
 *   iy = oy * sh + kh * dh - pad_top,  ix = ox * sw + kw * dw - pad_left,
 * where taps outside the input read 0 (the padding after the input is whatever OH
 * and OW imply) and x[c] is scaled by scale[c] when a scale is given; then
 * + res[m][oy][ox] when a residual is given, then the clamp; `post` runs on each
 * channel's finished rows. */
#ifndef OX_KERNELS_CONV_OC_H
#define OX_KERNELS_CONV_OC_H

#include <stddef.h>

/* Output channels per packed strip, and the most output positions computed at once. */
#define OX_OC_NR 64
#define OX_OC_RC 7

typedef struct ox_conv_oc {
    size_t C, IH, IW;          /* input channels and plane */
    size_t M, OH, OW;          /* output channels and plane */
    size_t KH, KW;             /* filter size, >= 1 */
    size_t sh, sw, dh, dw;     /* strides (1 or 2) and dilations, >= 1 */
    size_t pad_top, pad_left;  /* padding before the input */
    /* Not NULL: input channel c is multiplied by scale[c] first (a channel scale the
     * planner fused in); the kernel then reads copies of the input rows, scaled, as
     * it does padded ones. */
    const float *scale;
    /* clamp != 0: y = min(hi, max(lo, y)) as Clip computes it (NaN passes) */
    int clamp;
    float lo, hi;
    /* When set, called on each channel's finished output rows (n floats, contiguous
     * in y), on the thread that computed them (other activations). */
    void (*post)(float *y, size_t n, const void *ctx);
    const void *post_ctx;
    /* Not 0: the calls for one image share what each thread made for it (the
     * padded rows) through util/scratch.h's tag; a new ox_scratch_new_tag() per
     * image. 0: every call makes its own. */
    unsigned long long tag;
    /* The threads the items are shared by (0 or 1: one). With few strips and bands
     * the items are cut into more bands, so that dealing them out leaves no thread
     * with a strip more than the others. */
    size_t threads;
} ox_conv_oc;

/* Whether this processor has the kernel (AVX-512) and the geometry suits it: strides
 * 1 or 2, every size within the kernel's index range. */
int ox_conv_oc_supported(const ox_conv_oc *p);

/* Floats of the packed filters for M output channels of K = C * KH * KW taps; the
 * packing of w (M x K, as ONNX lays it out) into dst: strip s holds channels
 * [s*NR, s*NR + NR) tap by tap, dst[(s*K + t)*NR + m]; channels past M are zero. */
size_t ox_conv_oc_packed_floats(size_t M, size_t K);
void ox_conv_oc_pack(const float *w, size_t M, size_t K, float *dst);

/* The work for one image is split into items (strips of channels x bands of output
 * rows), in band or in strip order (conv_oc_kernel.h): a range of items shares its
 * bands' input rows or its strips' filters. */
size_t ox_conv_oc_items(const ox_conv_oc *p);

/* Items [i0, i1) of one image: x its input (C x IH x IW), wp the packed filters,
 * bias (M, or NULL), res (M x OH x OW, or NULL), y (M x OH x OW). Takes its buffers
 * from per-thread scratch (util/scratch.h, slot 3); returns 0 when none can be had,
 * having computed nothing. */
int ox_conv_oc_f32(const ox_conv_oc *p, size_t i0, size_t i1, const float *x, const float *wp,
                   const float *bias, const float *res, float *y);

#endif
