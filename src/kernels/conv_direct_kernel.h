/* Direct convolution: what conv_direct.c plans once per call and hands to the
 * vector code (conv_direct_body.h, built for each instruction set).
 *
 * An item is a band of output rows of one image. Its workspace holds, per input
 * channel, the zero-padded input rows the band reads, each split into sw column
 * phases: buffer row (c, j, b), element q is padded input (r0 + j, q * sw + b), r0
 * the band's first padded row. Tap (c, kh, kw) of output (oy, ox) then is element
 *   ox + (kw*dw) / sw   of buffer row (c, (oy - oy0) * sh + kh*dh, (kw*dw) % sw),
 * so each tap of a run of outputs along x is one contiguous vector load at a fixed
 * offset, whatever the stride, dilation and padding; no tap needs a bounds check. */
#ifndef OX_KERNELS_CONV_DIRECT_KERNEL_H
#define OX_KERNELS_CONV_DIRECT_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/conv_direct.h"

/* Widest vector of any path, in floats: phase rows are a multiple of it. */
#define OX_CD_VMAX 16
/* Most taps (C * KH * KW) the kernel takes: their offsets live on the stack. */
#define OX_CD_MAX_TAPS 1024

typedef struct ox_cd_geom {
    const ox_conv_direct *p;
    size_t K;           /* taps: C * KH * KW */
    size_t band, bands; /* output rows per item, items per image */
    size_t rows;        /* padded input rows per channel in an item's buffer */
    size_t Wq;          /* floats per phase row: a multiple of OX_CD_VMAX, at least
                         * round_up(OW, OX_CD_VMAX) + (KW-1)*dw / sw */
    size_t item_floats; /* C * rows * sw * Wq */
    const uint32_t *toff; /* K offsets into the buffer, for the band's first row */
    const float *x, *wp, *bias, *res;
    float *y, *ws;
} ox_cd_geom;

/* Items [i0, i1) of the call described by g. */
typedef void (*ox_cd_items_fn)(const ox_cd_geom *g, size_t i0, size_t i1);

void ox_cd_items_generic(const ox_cd_geom *g, size_t i0, size_t i1);
#if defined(__x86_64__) || defined(__i386__)
void ox_cd_items_avx2(const ox_cd_geom *g, size_t i0, size_t i1);
void ox_cd_items_avx512(const ox_cd_geom *g, size_t i0, size_t i1);
#endif

#endif
