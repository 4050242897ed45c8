#include "kernels/bias_act.h"

#include "kernels/cpu.h"
#include "kernels/vmath.h"

#if defined(__x86_64__) || defined(__i386__)
/* Sigmoid and SiLU ask for what kernels/vmath.h asks of its AVX-512 code, so the one
 * pass gives what ox_vsigmoid and ox_vsilu give under any ox_cpu_limit. */
static int use_avx512(int kind) {
    unsigned need = OX_CPU_AVX512;
    if (kind == OX_BIAS_SIGMOID || kind == OX_BIAS_SILU) need |= OX_CPU_AVX2 | OX_CPU_FMA;
    return ox_cpu_has(need);
}
#endif

static inline float act1(float v, int kind, float lo, float hi) {
    if (kind == OX_BIAS_RELU) return v < 0.0f ? 0.0f : v;
    if (kind == OX_BIAS_CLIP) {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
    return v;
}

/* Sigmoid and SiLU over the finished sums, by the vmath.h path this CPU runs (the
 * same values as the AVX-512 pass computes in registers). */
static void act_after(float *dst, size_t n, int kind) {
    if (kind == OX_BIAS_SIGMOID) ox_vsigmoid(n, dst, dst);
    if (kind == OX_BIAS_SILU) ox_vsilu(n, dst, dst);
}

void ox_bias_vec_act(float *dst, const float *src, const float *bias, size_t n, int kind, float lo,
                     float hi) {
#if defined(__x86_64__) || defined(__i386__)
    if (n >= 16 && use_avx512(kind)) {
        ox_bias_vec_act_avx512(dst, src, bias, n, kind, lo, hi);
        return;
    }
#endif
    for (size_t k = 0; k < n; k++) dst[k] = act1(src[k] + bias[k], kind, lo, hi);
    act_after(dst, n, kind);
}

static void bias_act_c(float *dst, const float *src, size_t n, float b, int kind, float lo,
                       float hi) {
    switch (kind) {
    case OX_BIAS_RELU:
        for (size_t k = 0; k < n; k++) {
            float v = src[k] + b;
            dst[k] = v < 0.0f ? 0.0f : v;
        }
        break;
    case OX_BIAS_CLIP:
        for (size_t k = 0; k < n; k++) {
            float v = src[k] + b;
            v = v < lo ? lo : v;
            dst[k] = v > hi ? hi : v;
        }
        break;
    default:
        for (size_t k = 0; k < n; k++) dst[k] = src[k] + b;
        act_after(dst, n, kind);
        break;
    }
}

void ox_bias_act(float *dst, const float *src, size_t n, float b, int kind, float lo, float hi) {
#if defined(__x86_64__) || defined(__i386__)
    if (n >= 16 && use_avx512(kind)) {
        ox_bias_act_avx512(dst, src, n, b, kind, lo, hi);
        return;
    }
#endif
    bias_act_c(dst, src, n, b, kind, lo, hi);
}

void ox_bias_act_rows(float *dst, size_t ldd, const float *src, size_t lds, size_t rows, size_t n,
                      const float *bias, int kind, float lo, float hi) {
    /* rows of one float laid end to end (a Conv on a 1x1 map, a matrix-vector
     * product): one pass over the column, not a vector pass per float */
    if (n == 1 && ldd == 1 && lds == 1 && rows > 1) {
        if (bias) ox_bias_vec_act(dst, src, bias, rows, kind, lo, hi);
        else ox_bias_act(dst, src, rows, 0.0f, kind, lo, hi);
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    if (use_avx512(kind)) {
        ox_bias_act_rows_avx512(dst, ldd, src, lds, rows, n, bias, kind, lo, hi);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++)
        bias_act_c(dst + r * ldd, src + r * lds, n, bias ? bias[r] : 0.0f, kind, lo, hi);
}
