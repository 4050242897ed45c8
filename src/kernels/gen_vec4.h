/* Four-lane GNU C vectors for the portable paths of kernels written once over lane
 * operations (kernels/dwconv_body.h, kernels/conv_direct_body.h): loads and stores
 * through memcpy (no alignment assumed), partial ones for row tails, a lane select
 * and Clip's clamp (NaN passes: a comparison with NaN is false). */
#ifndef OX_KERNELS_GEN_VEC4_H
#define OX_KERNELS_GEN_VEC4_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef float gen_vec4 __attribute__((vector_size(16)));
typedef int32_t gen_ivec4 __attribute__((vector_size(16)));

static inline gen_vec4 gen_load(const float *p) {
    gen_vec4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline gen_vec4 gen_loadn(const float *p, size_t n) {
    gen_vec4 v = {0, 0, 0, 0};
    memcpy(&v, p, n * sizeof(float));
    return v;
}
static inline void gen_store(float *p, gen_vec4 v) { memcpy(p, &v, sizeof v); }
static inline void gen_storen(float *p, gen_vec4 v, size_t n) { memcpy(p, &v, n * sizeof(float)); }
static inline gen_vec4 gen_set1(float x) { return (gen_vec4){x, x, x, x}; }
/* m ? a : b lane by lane, m all ones or zero */
static inline gen_vec4 gen_select(gen_ivec4 m, gen_vec4 a, gen_vec4 b) {
    return (gen_vec4)((m & (gen_ivec4)a) | (~m & (gen_ivec4)b));
}
static inline gen_vec4 gen_clamp(gen_vec4 v, gen_vec4 lo, gen_vec4 hi) {
    v = gen_select(v < lo, lo, v);
    return gen_select(v > hi, hi, v);
}

#endif
