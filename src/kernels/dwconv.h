/* Depthwise 2-D convolution, float32, NCHW: every channel plane is convolved with
 * its own KH x KW filter (one input and one output channel per group).
 *
 * Output (oy, ox) of a plane is
 *   bias + sum over kh < KH, kw < KW of w[kh * KW + kw] * x[iy][ix],
 *   iy = oy * sh + kh * dh - pad_top,  ix = ox * sw + kw * dw - pad_left,
 * where taps outside the input read 0. The padding after the input (bottom, right)
 * is whatever OH and OW imply; outputs may see only padding. The activation is
 * applied while the output is still in cache: first the clamp, then `post`. */
#ifndef OX_KERNELS_DWCONV_H
#define OX_KERNELS_DWCONV_H

#include <stddef.h>

typedef struct ox_dwconv2d {
    size_t IH, IW, OH, OW;     /* input and output plane sizes */
    size_t KH, KW;             /* filter size, >= 1 */
    size_t sh, sw, dh, dw;     /* strides and dilations, >= 1 */
    size_t pad_top, pad_left;  /* padding before the input */
    /* clamp != 0: y = min(hi, max(lo, y)) computed as Clip does it (y < lo ? lo : y,
     * then v > hi ? hi : v, so NaN passes); Relu is lo = 0, hi = +inf. */
    int clamp;
    float lo, hi;
    /* When set, called on finished outputs (other activations); it runs on the
     * thread that computed them. It must work float by float: y may hold the
     * outputs of up to 16 planes interleaved (the channel-block path), and floats
     * that are no outputs at all (lanes of channels past a block's end), which are
     * dropped afterwards. Each output goes through it exactly once. */
    void (*post)(float *y, size_t n, const void *ctx);
    const void *post_ctx;
    /* Floats from one input (output) plane to the next; 0: IH * IW (OH * OW). A band
     * of rows held in a buffer of taller planes (ops/nn_conv_chain.c) sets them. */
    size_t x_plane, y_plane;
} ox_dwconv2d;

static inline size_t ox_dw_x_plane(const ox_dwconv2d *p) {
    return p->x_plane ? p->x_plane : p->IH * p->IW;
}
static inline size_t ox_dw_y_plane(const ox_dwconv2d *p) {
    return p->y_plane ? p->y_plane : p->OH * p->OW;
}

/* Planes [p0, p1) of a tensor with C channels: plane p reads x + p * ox_dw_x_plane(p),
 * filter w + (p % C) * KH * KW, bias[p % C] (0 when bias is NULL) and writes
 * y + p * ox_dw_y_plane(p). Never fails: it takes its buffers from per-thread scratch
 * (util/scratch.h, slot 2) and computes directly without them if none can be had. */
void ox_dwconv2d_f32(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1, const float *x,
                     const float *w, const float *bias, float *y);

/* Which path ox_dwconv2d_f32 takes now: "avx512", "avx2" or "generic" (kernels/cpu.h). */
const char *ox_dwconv2d_kernel_name(void);

/* Planes per unit of work the caller should hand out (1 or 16): with 16, ranges that
 * start and end on multiples of 16 channels (or an image's end) run fastest. */
size_t ox_dwconv2d_block(const ox_dwconv2d *p, size_t C);

/* For tests: planes [p0, p1) by the channel-block path, whether or not it is faster;
 * returns 0, having done nothing, where that path cannot run (no AVX-512, a buffer
 * too large, no scratch). */
int ox_dwconv2d_f32_blocks(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1,
                           const float *x, const float *w, const float *bias, float *y);

/* The direct loops without buffers (the fallback), for tests. */
void ox_dwconv2d_f32_direct(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1,
                            const float *x, const float *w, const float *bias, float *y);

#endif
