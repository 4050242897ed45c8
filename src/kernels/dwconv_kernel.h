/* Depthwise convolution: what dwconv.c plans once per call and hands to the
 * vector code (dwconv_body.h, built for each instruction set).
 *
 * The input rows a band of output rows reads are copied, zero-padded, into
 * sh * sw phase planes: plane (a, b) row i, column j holds padded input
 * (i * sh + a, j * sw + b). Tap (kh, kw) of output (oy, ox) then is element
 *   (oy + (kh*dh) / sh) * PW + ox + (kw*dw) / sw   of plane ((kh*dh) % sh, (kw*dw) % sw),
 * so with q = oy * PW + ox every tap reads plane memory at q plus a fixed offset:
 * each output vector is a run of FMAs on contiguous loads, whatever the stride and
 * dilation, and no tap needs a bounds check. Columns PW - OW of each row are
 * computed and dropped. */
#ifndef OX_KERNELS_DWCONV_KERNEL_H
#define OX_KERNELS_DWCONV_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dwconv.h"

/* Widest vector of any path, in floats. */
#define OX_DW_VMAX 16
/* Floats after the last row of each plane, beyond the largest column offset of a
 * tap, that runs may read or copies spill into: the vector that rounds a run up,
 * the neighbour aligned loads take, a spill (within 4 vectors). Kept zero. */
#define OX_DW_SLACK (4 * OX_DW_VMAX)

typedef struct ox_dw_geom {
    const ox_dwconv2d *p;
    size_t PW;             /* floats per plane row: OW + (KW-1)*dw / sw */
    size_t rowoff, coloff; /* largest row and column offset of a tap in its plane */
    size_t band;           /* output rows per band */
    size_t PS;             /* floats per plane: (band + rowoff) rows, then slack of
                            * coloff + OX_DW_SLACK floats (a multiple of 16) */
    /* n > 0: the filter is 3x3 or 5x5 with equal strides of 1 or 2 and no dilation,
     * and PW is a multiple of n, the vector width of the path it was planned for:
     * that path may read the planes with aligned loads */
    size_t aligned;
    unsigned used_a, used_b; /* bit a (b): some tap reads plane row (column) phase a (b) */
    /* column phase b < sw <= 8: plane columns [jlo, jlo + ncol) hold input columns
     * xcol, xcol + sw, ...; the others are padding */
    size_t jlo[8], ncol[8], xcol[8];
    int flat;              /* bands run as one flat vector run (rows of few vectors) */
    /* Flat runs packed straight into y (set for paths with DW_COMPRESS): vector k
     * of a band keeps lanes cmask[k], which go to y + cpos[k] of the band */
    const uint16_t *cmask;
    const uint32_t *cpos;
    size_t T;              /* taps: KH * KW */
    const size_t *toff;    /* T offsets from plane 0's start, in floats */
    float *planes;         /* sh * sw planes of PS floats */
    float *tmp;            /* band * PW + OX_DW_VMAX floats for narrow outputs */
} ox_dw_geom;

/* The channel-block path (x86/dwconv_cb_avx512.c): 16 consecutive channels of one
 * image at a time, lane c of every vector being channel c of the block. A band of
 * output rows reads its input from `buf`, position-major: position (r, col) holds
 * the 16 channels of padded input row R0 + r, column col at buf + (r * BW + col) * 16,
 * with R0 = oy0 * sh the band's first padded row. Then every tap of every output
 * is one aligned load, whatever the stride and dilation. Outputs go position-major
 * into `stage` (row-major over the band's nb x OW outputs) and are transposed back
 * into the 16 planes. */
typedef struct ox_dw_cb_geom {
    const ox_dwconv2d *p;
    size_t BW;     /* positions per buffer row: max(columns read, pad_left + IW) */
    size_t band;   /* output rows per band */
    size_t T;      /* taps: KH * KW */
    /* K > 0: the filter is K x K (3 or 5), strides S (1 or 2), no dilation: the
     * unrolled tap loops. K == 0: tap t is read at toff[t] floats from the output's
     * first tap, outputs sw * 16 floats apart. */
    int K, S;
    /* each output row is cut into nrun runs of U1 outputs (the first nlong) or
     * U1 - 1 (the rest), 1 <= U1 - 1 < OX_DW_CB_UMAX; a run's accumulators stay in
     * registers */
    size_t nrun, U1, nlong;
    const uint32_t *dst;  /* flat input position f of a band's first input row goes
                           * to buffer position dst[f] of that row */
    const size_t *toff;   /* T tap offsets in floats (K == 0) */
    float *buf;           /* the band's input: zero outside the input */
    float *stage;         /* band * OW positions */
    float *wt;            /* the block's filter: T positions */
} ox_dw_cb_geom;

/* Most outputs of one run. */
#define OX_DW_CB_UMAX 14

typedef void (*ox_dw_planes_fn)(const ox_dw_geom *g, size_t C, size_t p0, size_t p1,
                                const float *x, const float *w, const float *bias, float *y);

void ox_dw_planes_generic(const ox_dw_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                          const float *w, const float *bias, float *y);
#if defined(__x86_64__) || defined(__i386__)
void ox_dw_planes_avx2(const ox_dw_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                       const float *w, const float *bias, float *y);
void ox_dw_planes_avx512(const ox_dw_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                         const float *w, const float *bias, float *y);
/* Planes [p0, p1) by blocks of up to 16 channels (ox_dwconv2d_f32's contract); the
 * caller zeroed the buffer. */
void ox_dw_cb_avx512(const ox_dw_cb_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                     const float *w, const float *bias, float *y);
#endif

#endif
