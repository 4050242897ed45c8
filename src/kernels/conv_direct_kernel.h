/* Direct convolution: what conv_direct.c plans once per call and hands to the
 * vector code (conv_direct_body.h, built for each instruction set).
 *
 * An item is one output row of one image. A call works through its items in bands
 * of up to `band` consecutive rows of one image; a band's buffer holds the
 * zero-padded input rows the band reads, for every channel, each split into sw
 * column phases: buffer row (j, c, b), element q is padded input (r0 + j, q * sw + b)
 * of channel c, r0 the band's first padded row. Tap (c, kh, kw) of output (oy, ox)
 * then is element
 *   ox + (kw*dw) / sw   of buffer row ((oy - oy0) * sh + kh*dh, c, (kw*dw) % sw),
 * so each tap of a run of outputs along x is one contiguous vector load at a fixed
 * offset, whatever the stride, dilation and padding; no tap needs a bounds check.
 * item_floats is room for max(sh, (KH-1)*dh + 1) padded rows: a band of R rows needs
 * (R-1)*sh + (KH-1)*dh + 1 of them, within R * item_floats; a call's bands take turns
 * in one buffer of band * item_floats. */
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
    size_t band;        /* most output rows per band */
    size_t Wq;          /* floats per phase row: a multiple of OX_CD_VMAX, at least
                         * round_up(OW, OX_CD_VMAX) + (KW-1)*dw / sw */
    size_t item_floats; /* max(sh, (KH-1)*dh + 1) * C * sw * Wq */
    const uint32_t *toff; /* K offsets into a band's buffer, for its first row */
    const float *x, *wp, *bias, *res;
    float *y, *buf;
} ox_cd_geom;

/* Items [i0, i1) of the call described by g. */
typedef void (*ox_cd_items_fn)(const ox_cd_geom *g, size_t i0, size_t i1);

void ox_cd_items_generic(const ox_cd_geom *g, size_t i0, size_t i1);
#if defined(__x86_64__) || defined(__i386__)
void ox_cd_items_avx2(const ox_cd_geom *g, size_t i0, size_t i1);
void ox_cd_items_avx512(const ox_cd_geom *g, size_t i0, size_t i1);
#endif

#endif
