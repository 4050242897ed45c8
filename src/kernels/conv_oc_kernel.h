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
    size_t rows;   /* output rows per item */
    size_t bands;  /* items per strip: ceil(OH / rows) */
    size_t kc;     /* taps per chunk: a strip's weights for one chunk stay in L2 */
} ox_oc_geom;

#if defined(__x86_64__) || defined(__i386__)
int ox_oc_items_avx512(const ox_oc_geom *g, size_t i0, size_t i1, const float *x,
                       const float *wp, const float *bias, const float *res, float *y);
#endif

#endif
