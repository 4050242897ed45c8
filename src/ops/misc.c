/* The misc op family: its registry table and small shared helpers. */
#include "ops/misc.h"
#include "util/alloc.h"

static onyx_status scalar_check(const ox_tensor *t, const char *what) {
    if (t->rank > 1 || ox_tensor_count(t) != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be a scalar", what);
    if (!t->data) return OX_NEED_VALUE;
    return ONYX_OK;
}

onyx_status ox_misc_scalar_int(const ox_tensor *t, const char *what, int64_t *v) {
    if (t->dtype != ONYX_DTYPE_INT32 && t->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected int32 or int64",
                        what, ox_dtype_name(t->dtype));
    onyx_status s = scalar_check(t, what);
    if (s == ONYX_OK) *v = ox_tensor_get_int(t, 0);
    return s;
}

onyx_status ox_misc_scalar_float(const ox_tensor *t, const char *what, double *v) {
    if (!ox_misc_is_float(t->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected a float type",
                        what, ox_dtype_name(t->dtype));
    onyx_status s = scalar_check(t, what);
    if (s == ONYX_OK) *v = ox_tensor_get_double(t, 0);
    return s;
}

int ox_misc_is_float(int32_t dt) {
    return dt == ONYX_DTYPE_FLOAT || dt == ONYX_DTYPE_DOUBLE || dt == ONYX_DTYPE_FLOAT16 ||
           dt == ONYX_DTYPE_BFLOAT16;
}

int ox_misc_is_plain_numeric(int32_t dt) {
    return ox_misc_is_float(dt) ||
           (ox_dtype_is_int(dt) && dt != ONYX_DTYPE_INT4 && dt != ONYX_DTYPE_UINT4);
}

void ox_misc_free_state(void *state) { ox_free(state); }

#define OP(name, since, fn, destroy, types)                                                        \
    {"", name, since, ox_misc_##fn##_prepare, destroy, ox_misc_##fn##_infer, ox_misc_##fn##_run, 0, \
     types}
/* random ops: a fresh draw every run, never folded into a constant while planning */
#define RANDOM_OP(name, since, fn, destroy, types)                                                 \
    {"", name, since, ox_misc_##fn##_prepare, destroy, ox_misc_##fn##_infer, ox_misc_##fn##_run,     \
     OX_OP_NO_FOLD, types}
#define FREE ox_misc_free_state
#define T_FLOAT "float32 float64 float16 bfloat16"
#define T_NUM "float32 float64 float16 bfloat16 int8..int64 uint8..uint64"

const ox_op_def ox_ops_misc[] = {
    OP("QuantizeLinear", 10, quantize, FREE,
       "x: float32 float16 bfloat16 int32; y: int8 uint8 int16 uint16 int4 uint4 float8* float4e2m1"),
    OP("DequantizeLinear", 10, dequantize, FREE,
       "x: int8 uint8 int16 uint16 int32 int4 uint4 float8* float4e2m1; y: float32 float16 bfloat16"),
    OP("DynamicQuantizeLinear", 11, dynquant, NULL, "x: float32; y: uint8"),
    OP("NegativeLogLikelihoodLoss", 12, nll, FREE, T_FLOAT "; target: int32 int64"),
    OP("SoftmaxCrossEntropyLoss", 12, sce, FREE, T_FLOAT "; labels: int32 int64"),
    OP("Einsum", 12, einsum, ox_misc_einsum_destroy, "float32 float64 float16 int8..int64 uint8..uint64"),
    OP("DFT", 17, dft, FREE, T_FLOAT),
    OP("STFT", 17, stft, FREE, T_FLOAT),
    OP("HannWindow", 17, window, FREE, "size: int32 int64; output: " T_NUM),
    OP("HammingWindow", 17, window, FREE, "size: int32 int64; output: " T_NUM),
    OP("BlackmanWindow", 17, window, FREE, "size: int32 int64; output: " T_NUM),
    OP("MelWeightMatrix", 17, mel, FREE, "output: " T_NUM),
    OP("Det", 11, det, NULL, T_FLOAT),
    OP("BitCast", 26, bitcast, FREE, "any type but string, to one of the same bit width"),
    RANDOM_OP("RandomUniform", 1, random, FREE, T_FLOAT),
    RANDOM_OP("RandomNormal", 1, random, FREE, T_FLOAT),
    RANDOM_OP("RandomUniformLike", 1, random, FREE, T_FLOAT),
    RANDOM_OP("RandomNormalLike", 1, random, FREE, T_FLOAT),
    RANDOM_OP("Bernoulli", 15, bernoulli, FREE, "input: " T_FLOAT "; output: numbers and bool"),
    RANDOM_OP("Multinomial", 7, multinomial, FREE, "input: " T_FLOAT "; output: int32 int64"),
    {0},
};
