/* The image / geometry op family: its table and shared helpers. The ops live in
 * image_resize.c (Resize, Upsample), image_sample.c (GridSample, AffineGrid),
 * image_roi.c (RoiAlign, MaxRoiPool), image_nms.c (NonMaxSuppression) and
 * image_col2im.c (Col2Im). */
#include <math.h>
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"
#include "util/fp16.h"

void ox_img_free_state(void *state) { ox_free(state); }

int ox_img_floatlike(int32_t t) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

int ox_img_numeric(int32_t t) {
    return ox_img_floatlike(t) || t == ONYX_DTYPE_BOOL ||
           (ox_dtype_is_int(t) && t != ONYX_DTYPE_INT4 && t != ONYX_DTYPE_UINT4);
}

/* v rounded half to even and clamped to [lo, hi]; NaN -> 0. */
static double clamp_round(double v, double lo, double hi) {
    if (v != v) return 0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

void ox_img_put(void *data, size_t i, int32_t dtype, double v) {
    switch (dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)data)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)data)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)data)[i] = ox_f64_to_f16(v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = ox_f64_to_bf16(v); break;
    case ONYX_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)clamp_round(v, -128, 127); break;
    case ONYX_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)clamp_round(v, 0, 255); break;
    case ONYX_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)clamp_round(v, -32768, 32767); break;
    case ONYX_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)clamp_round(v, 0, 65535); break;
    case ONYX_DTYPE_INT32:
        ((int32_t *)data)[i] = (int32_t)clamp_round(v, -2147483648.0, 2147483647.0);
        break;
    case ONYX_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)clamp_round(v, 0, 4294967295.0); break;
    case ONYX_DTYPE_INT64: {
        /* 2^63 is not an int64: the upper clamp is the largest double below it */
        double r = clamp_round(v, -9223372036854775808.0, 9223372036854774784.0);
        ((int64_t *)data)[i] = (int64_t)r;
        break;
    }
    case ONYX_DTYPE_UINT64: {
        double r = clamp_round(v, 0, 18446744073709549568.0);
        ((uint64_t *)data)[i] = (uint64_t)r;
        break;
    }
    case ONYX_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

onyx_status ox_img_need(const ox_op_ctx *c, size_t n_in) {
    static const char *const what[] = {"first", "second", "third", "fourth", "fifth"};
    for (size_t i = 0; i < n_in; i++) {
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "the %s input is required",
                            i < 5 ? what[i] : "next");
        int32_t t = c->in[i]->dtype;
        if (t == OX_DTYPE_SEQUENCE || t == OX_DTYPE_NONE || !ox_dtype_valid(t))
            return ox_error(ONYX_ERR_INVALID_MODEL, "the %s input is not a tensor",
                            i < 5 ? what[i] : "next");
    }
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "the output is required");
    return ONYX_OK;
}

onyx_status ox_img_enum(ox_op_ctx *c, const char *attr, const char *def,
                        const char *const *names, int n, int *out) {
    const char *v = ox_attr_str(c, attr, def);
    OX_TRY(ox_op_status(c));
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(v, names[i]) == 0) {
            *out = i;
            return ONYX_OK;
        }
    return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' = '%s' is not supported", attr, v);
}

/* ---- the table -------------------------------------------------------------------- */

#define NUM_ "float32 float64 float16 bfloat16 int8..int64 uint8..uint64 bool"
const ox_op_def ox_ops_image[] = {
    {"", "Resize", 10, ox_img_resize_prepare, ox_img_free_state, ox_img_resize_infer,
     ox_img_resize_run, 0, NUM_ " (nearest: any type)"},
    {"", "Upsample", 1, ox_img_resize_prepare, ox_img_free_state, ox_img_resize_infer,
     ox_img_resize_run, 0, NUM_ " (nearest: any type)"},
    {"", "GridSample", 16, ox_img_grid_sample_prepare, ox_img_free_state, ox_img_grid_sample_infer,
     ox_img_grid_sample_run, 0, NUM_},
    {"", "AffineGrid", 20, ox_img_affine_grid_prepare, ox_img_free_state,
     ox_img_affine_grid_infer, ox_img_affine_grid_run, 0, "float32 float64 float16 bfloat16"},
    {"", "RoiAlign", 10, ox_img_roi_align_prepare, ox_img_free_state, ox_img_roi_align_infer,
     ox_img_roi_align_run, 0, "float32 float64 float16 bfloat16"},
    {"", "MaxRoiPool", 1, ox_img_max_roi_pool_prepare, ox_img_free_state,
     ox_img_max_roi_pool_infer, ox_img_max_roi_pool_run, 0, "float32 float64 float16 bfloat16"},
    {"", "NonMaxSuppression", 10, ox_img_nms_prepare, ox_img_free_state, ox_img_nms_infer,
     ox_img_nms_run, OX_OP_ALLOC_IN_RUN, "float32 float64 float16 bfloat16 -> int64"},
    {"", "Col2Im", 18, ox_img_col2im_prepare, ox_img_free_state, ox_img_col2im_infer,
     ox_img_col2im_run, 0, "float32 float64 float16 bfloat16 int8..int64 uint8..uint64"},
    {0},
};
