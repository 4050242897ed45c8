/* The tensor-manipulation op family: the registry table.
 * Implementations:
 *   ops/shape_ops.c     Identity, Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze
 *   ops/tensor_gen.c    Constant, ConstantOfShape, Range, Dropout
 *   ops/tensor_layout.c Transpose, Concat, Split, Slice, Gather
 *   ops/tensor_pad.c    Pad, CenterCropPad, Tile, DepthToSpace, SpaceToDepth
 *   ops/tensor_index.c  GatherElements, GatherND, ScatterElements/Scatter, ScatterND,
 *                       OneHot, NonZero, Compress
 *   ops/tensor_unique.c Unique
 *   ops/tensor_misc.c   EyeLike, Trilu, CumSum, CumProd, ReverseSequence
 *   ops/tensor_util.c   shared element movement (dtype-agnostic copies, strided views)
 */
#include "ops/tensor_util.h"

#define ALL_TYPES "any tensor type (string included)"
#define OP(name, since, fn, flags, types)                                                          \
    { "", name, since, NULL, NULL, ox_tx_##fn##_infer, ox_tx_##fn##_run, flags, types }

const ox_op_def ox_ops_tensor[] = {
    {"", "Constant", 1, ox_tx_constant_prepare, NULL, ox_tx_constant_infer, ox_tx_constant_run, 0,
     ALL_TYPES},
    OP("Identity", 1, identity, 0, ALL_TYPES),
    OP("Shape", 1, shape, OX_OP_SHAPE_ONLY, "any input; int64 output"),
    OP("Size", 1, size, OX_OP_SHAPE_ONLY, "any input; int64 output"),
    OP("Reshape", 1, reshape, 0, ALL_TYPES),
    OP("Flatten", 1, flatten, 0, ALL_TYPES),
    OP("Squeeze", 1, squeeze, 0, ALL_TYPES),
    OP("Unsqueeze", 1, unsqueeze, 0, ALL_TYPES),
    OP("Transpose", 1, transpose, 0, ALL_TYPES),
    OP("Concat", 1, concat, 0, ALL_TYPES),
    OP("Split", 1, split, 0, ALL_TYPES),
    OP("Slice", 1, slice, 0, ALL_TYPES),
    OP("Gather", 1, gather, 0, ALL_TYPES),
    OP("ConstantOfShape", 9, constant_of_shape, 0, "numeric and bool outputs"),
    OP("Range", 11, range, 0, "float32 float64 int16 int32 int64 float16 bfloat16"),
    OP("Dropout", 1, dropout, 0, "float32 float64 float16 bfloat16 (float8 from opset 22)"),
    OP("Pad", 1, pad, 0, ALL_TYPES),
    OP("CenterCropPad", 18, center_crop_pad, 0, ALL_TYPES),
    OP("Tile", 6, tile, 0, ALL_TYPES),
    OP("DepthToSpace", 1, depth_to_space, 0, ALL_TYPES),
    OP("SpaceToDepth", 1, space_to_depth, 0, ALL_TYPES),
    OP("GatherElements", 11, gather_elements, 0, ALL_TYPES),
    OP("GatherND", 11, gather_nd, 0, ALL_TYPES),
    OP("ScatterElements", 11, scatter_elements, 0, ALL_TYPES " (reductions: numbers and bool)"),
    OP("Scatter", 9, scatter_elements, 0, ALL_TYPES),
    OP("ScatterND", 11, scatter_nd, 0, ALL_TYPES " (reductions: numbers and bool)"),
    OP("OneHot", 9, one_hot, 0, "numeric indices and depth; any values type"),
    OP("NonZero", 9, non_zero, OX_OP_ALLOC_IN_RUN, ALL_TYPES),
    OP("Compress", 9, compress, 0, ALL_TYPES),
    OP("Unique", 11, unique, OX_OP_ALLOC_IN_RUN, "numbers, bool, string, complex"),
    OP("EyeLike", 9, eye_like, 0, "numbers and bool"),
    OP("Trilu", 14, trilu, 0, ALL_TYPES),
    OP("CumSum", 11, cumsum, 0, "int32 int64 uint32 uint64 float16 float32 float64 bfloat16"),
    {"", "CumProd", 26, NULL, NULL, ox_tx_cumsum_infer, ox_tx_cumprod_run, 0,
     "int32 int64 uint32 uint64 float16 float32 float64 bfloat16"},
    OP("ReverseSequence", 10, reverse_sequence, 0, ALL_TYPES),
    {0},
};
