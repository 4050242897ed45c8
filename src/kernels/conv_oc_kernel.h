/* Conv with output channels in the vector lanes: what conv_oc.c plans once per call
 * and hands to the instruction-set code (x86/conv_oc_avx512.c). */
#ifndef OX_KERNELS_CONV_OC_KERNEL_H
#define OX_KERNELS_CONV_OC_KERNEL_H

#include <stddef.h>

#include "kernels/conv_oc.h"

typedef struct ox_oc_geom {
    const ox_conv_oc *p;
    size_t K;      /* taps per output: C * KH * KW */
    size_t XW, XS; /* row and plane stride, in floats, of the input the kernel reads */
    /* padded: the kernel reads, for each item, a zero-padded copy of the input rows
     * its band of output rows spans (XW wide, XS / XW rows at most per channel), which
     * ox_conv_oc_pad_band makes; else the input in place */
    int padded;
    size_t rows;   /* output rows per item */
    size_t bands;  /* items per strip: ceil(OH / rows) */
    size_t strips; /* of OX_OC_NR output channels */
    /* items in band order (the strips of band 0, then of band 1, ...) when every
     * strip's filters fit in L2 together: a band's padded rows then serve all its
     * strips; else in strip order, so that a strip's filters serve all its bands */
    int band_major;
    size_t kc;     /* taps per chunk: a strip's weights for one chunk stay in L2 */
} ox_oc_geom;

static inline size_t ox_oc_item_strip(const ox_oc_geom *g, size_t i) {
    return g->band_major ? i % g->strips : i / g->bands;
}
static inline size_t ox_oc_item_band(const ox_oc_geom *g, size_t i) {
    return g->band_major ? i / g->strips : i % g->bands;
}

/* The padded copy of the input rows output rows [r0, r1) read, from x (C x IH x IW)
 * into dst (C planes XS apart). */
void ox_conv_oc_pad_band(const ox_oc_geom *g, const float *x, size_t r0, size_t r1, float *dst);

#if defined(__x86_64__) || defined(__i386__)
int ox_oc_items_avx512(const ox_oc_geom *g, size_t i0, size_t i1, const float *x,
                       const float *wp, const float *bias, const float *res, float *y);
#endif

#endif
