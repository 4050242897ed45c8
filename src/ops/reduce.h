/* Internal to the reduce op family (reduce.c, reduce_index.c, softmax.c):
 * the entry points listed in ox_ops_reduce[] and a few shared helpers. */
#ifndef OX_OPS_REDUCE_H
#define OX_OPS_REDUCE_H

#include <stdint.h>
#include <string.h>

#include "ops/op.h"

/* softmax.c: Softmax, LogSoftmax, Hardmax */
onyx_status ox_softmax_prepare(ox_op_ctx *c);
onyx_status ox_softmax_infer(ox_op_ctx *c);
onyx_status ox_softmax_run(ox_op_ctx *c);
/* Whether this step is a Softmax (not LogSoftmax or Hardmax) that normalises each
 * row of the last dim of an input of `rank` dims (ops/attention_chain.c). */
int ox_softmax_rows_of_last_axis(const ox_op_ctx *c, int rank);
/* Softmax over `rows` contiguous rows of n floats at y, in place, as the op computes
 * it for float32. */
void ox_softmax_rows_f32(float *y, size_t n, size_t rows);

/* reduce_index.c: ArgMax, ArgMin, TopK */
onyx_status ox_argmax_prepare(ox_op_ctx *c);
onyx_status ox_argmax_infer(ox_op_ctx *c);
onyx_status ox_argmax_run(ox_op_ctx *c);
onyx_status ox_topk_prepare(ox_op_ctx *c);
onyx_status ox_topk_infer(ox_op_ctx *c);
onyx_status ox_topk_run(ox_op_ctx *c);

/* Frees a state made with ox_malloc. */
void ox_reduce_free_state(void *state);

/* Product of dims[begin, end). Shapes reaching ops are already checked, so no overflow. */
static inline size_t ox_red_span(const int64_t *dims, int32_t begin, int32_t end) {
    size_t n = 1;
    for (int32_t i = begin; i < end; i++) n *= (size_t)dims[i];
    return n;
}

/* IEEE half and bfloat16 <-> float, round to nearest even. Small private copies so
 * this family does not depend on the shared converter. */
static inline float ox_red_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: value is man * 2^-24 */
        float f = (float)man * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t ox_red_f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow (rounds to inf) */
    if (ax < 0x38800000u) { /* half subnormal or zero: scale so the rounding happens in float */
        float a;
        memcpy(&a, &ax, 4);
        float r = a * 16777216.0f; /* exact: a * 2^24 */
        /* round half to even on the integer part */
        uint32_t q = (uint32_t)r;
        float frac = r - (float)q;
        if (frac > 0.5f || (frac == 0.5f && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t exp = (ax >> 23) - 112u, man = ax & 0x7fffffu;
    uint32_t h = (exp << 10) | (man >> 13), rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++; /* may carry into the exponent */
    return (uint16_t)(sign | h);
}

static inline float ox_red_bf2f(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t ox_red_f2bf(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

#endif
