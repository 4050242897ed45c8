/* Private to the image op family (ops/image*.c): the op callbacks the table in
 * image.c lists, and the small helpers they share. */
#ifndef OX_OPS_IMAGE_OPS_H
#define OX_OPS_IMAGE_OPS_H

#include "ops/op.h"

/* Element types the interpolating ops compute on (through double): the float
 * types, the integers and bool. */
int ox_img_numeric(int32_t dtype);
/* float, double, float16, bfloat16. */
int ox_img_floatlike(int32_t dtype);

/* Store v as element i of a numeric buffer of dtype. Floats round to the type;
 * integers and bool round half to even and saturate to the type's range (NaN
 * becomes 0), as a value computed in floating point and cast back. */
void ox_img_put(void *data, size_t i, int32_t dtype, double v);

/* Inputs 0 .. n_in-1 and output 0 are present and are tensors. */
onyx_status ox_img_need(const ox_op_ctx *c, size_t n_in);

/* Read a string attribute and map it to an index in names[] (n entries); an
 * unknown value is an error naming the attribute. */
onyx_status ox_img_enum(ox_op_ctx *c, const char *attr, const char *def,
                        const char *const *names, int n, int *out);

void ox_img_free_state(void *state);

/* ---- ops ---------------------------------------------------------------------- */
#define OX_IMG_DECLARE(name)                                                                \
    onyx_status ox_img_##name##_prepare(ox_op_ctx *c);                                      \
    onyx_status ox_img_##name##_infer(ox_op_ctx *c);                                        \
    onyx_status ox_img_##name##_run(ox_op_ctx *c)

OX_IMG_DECLARE(resize);      /* Resize, Upsample (image_resize.c) */
OX_IMG_DECLARE(grid_sample); /* image_sample.c */
OX_IMG_DECLARE(affine_grid); /* image_sample.c */
OX_IMG_DECLARE(roi_align);   /* image_roi.c */
OX_IMG_DECLARE(max_roi_pool); /* image_roi.c */
OX_IMG_DECLARE(nms);         /* NonMaxSuppression (image_nms.c) */
OX_IMG_DECLARE(col2im);      /* image_col2im.c */

#endif
