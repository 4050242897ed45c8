/* What the AVX-512 kernels with output channels in the vector lanes share
 * (conv_oc_avx512.c, wino_oc_avx512.c): the FMA with a weight vector as its memory
 * operand, and the transpose of a tile's positions into the channels' rows. */
#ifndef OX_KERNELS_X86_OC_AVX512_H
#define OX_KERNELS_X86_OC_AVX512_H

#include <immintrin.h>

#define OC_AI static inline __attribute__((always_inline))
#define OC_PRAGMA(x) _Pragma(#x)
#define OC_UNROLL OC_PRAGMA(GCC unroll 8)
/* acc += x * (the 16 floats at mem), the weights read by the FMA itself. A tile's 28
 * accumulators, its 4 weight vectors and the broadcast input are 33 registers, one
 * more than AVX-512 has: left to itself, gcc kept an accumulator on the stack, a store
 * and a reload in every tap's dependency chain (5% of a 16 -> 64 3x3 layer on 55x55).
 * With the fourth weight vector as a memory operand, 32 registers hold the rest. */
#define OC_FMA_MEM(acc, x, mem)                                                                 \
    __asm__("vfmadd231ps %2, %1, %0"                                                          \
            : "+v"(acc)                                                                         \
            : "v"(x), "m"(*(const float(*)[16])(const void *)(mem)))

/* A tile's 7 x 4 accumulators as named variables (an array indexed in the unrolled
 * loop stayed in memory under clang 14, 3x slower), one tap's 28 FMAs, and the
 * accumulators as an array once the taps are done. OC_TAP reads from its scope the
 * weight vectors b0..b2 and w (the fourth vector is w + 48, the FMA's memory operand)
 * and the constants RC (positions) and NV (vectors of channels); position r's input
 * is a[r * SW]. */
#define OC_ACC(r) __m512 a##r##0 = zero, a##r##1 = zero, a##r##2 = zero, a##r##3 = zero;
#define OC_ACCS OC_ACC(0) OC_ACC(1) OC_ACC(2) OC_ACC(3) OC_ACC(4) OC_ACC(5) OC_ACC(6)
#define OC_TAP_ROW(r, a, SW)                                                                    \
    if (RC > r) {                                                                               \
        __m512 xv = _mm512_set1_ps((a)[r * (SW)]);                                              \
        a##r##0 = _mm512_fmadd_ps(xv, b0, a##r##0);                                             \
        if (NV > 1) a##r##1 = _mm512_fmadd_ps(xv, b1, a##r##1);                                 \
        if (NV > 2) a##r##2 = _mm512_fmadd_ps(xv, b2, a##r##2);                                 \
        if (NV > 3) OC_FMA_MEM(a##r##3, xv, w + 48);                                            \
    }
#define OC_TAP(a, SW)                                                                           \
    OC_TAP_ROW(0, a, SW) OC_TAP_ROW(1, a, SW) OC_TAP_ROW(2, a, SW) OC_TAP_ROW(3, a, SW)          \
    OC_TAP_ROW(4, a, SW) OC_TAP_ROW(5, a, SW) OC_TAP_ROW(6, a, SW)
#define OC_ACC_ARRAY(acc)                                                                       \
    __m512 acc[7][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23},       \
                        {a30, a31, a32, a33}, {a40, a41, a42, a43}, {a50, a51, a52, a53},       \
                        {a60, a61, a62, a63}}

/* Rows r[0..8) (positions; lanes are channels) to columns: out[j] lanes 0..7 are
 * r[0..8)[j], for the 16 channels j. */
OC_AI void tr8x16(const __m512 r[8], __m256 out[16]) {
    __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
    __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
    __m512 t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]);
    __m512 t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
    /* u[i] (u[4+i]): rows 0-3 (4-7) of column 4L + i in 128-bit lane L */
    __m512 u[8] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                   _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE),
                   _mm512_shuffle_ps(t4, t6, 0x44), _mm512_shuffle_ps(t4, t6, 0xEE),
                   _mm512_shuffle_ps(t5, t7, 0x44), _mm512_shuffle_ps(t5, t7, 0xEE)};
    OC_UNROLL for (int i = 0; i < 4; i++) {
        __m512 lo = _mm512_shuffle_f32x4(u[i], u[4 + i], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 hi = _mm512_shuffle_f32x4(u[i], u[4 + i], _MM_SHUFFLE(3, 2, 3, 2));
        lo = _mm512_shuffle_f32x4(lo, lo, _MM_SHUFFLE(3, 1, 2, 0));
        hi = _mm512_shuffle_f32x4(hi, hi, _MM_SHUFFLE(3, 1, 2, 0));
        out[i] = _mm512_castps512_ps256(lo);
        out[4 + i] = _mm512_extractf32x8_ps(lo, 1);
        out[8 + i] = _mm512_castps512_ps256(hi);
        out[12 + i] = _mm512_extractf32x8_ps(hi, 1);
    }
}

#endif
