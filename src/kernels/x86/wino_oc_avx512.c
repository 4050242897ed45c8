/* Winograd F(2x2, 3x3) with output channels in the vector lanes, AVX-512
 * (kernels/wino_oc.h). A group is up to 7 tiles of a tile row x one strip of 64
 * output channels: for each of the 16 elements, 28 accumulators summed over the input
 * channels (per channel 4 weight vectors and 7 broadcast V values feed 28 FMAs, as in
 * conv_oc_avx512.c), then stored to L1; the output transform then reads each tile's
 * 16 vectors back and writes its 2x2 outputs, transposed into the channels' rows. */
#include "kernels/wino_oc.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

#include "kernels/x86/oc_avx512.h"

#define WT OX_WINO_OC_TILES

/* M_e of RC tiles from vt (the group's first tile in V) into mb[(e*WT + r)*64 + 16v]. */
OC_AI void wo_products(const ox_wino_oc_band *b, size_t e, const float *vt, float *mb, int RC,
                       int NV) {
    const size_t C = b->C, ldt = b->ldt;
    const __m512 zero = _mm512_setzero_ps();
    OC_ACCS
    const float *a = vt + e * b->vs;
    const float *w = b->u + e * C * OX_OC_NR;
    for (size_t c = 0; c < C; c++, a += ldt, w += OX_OC_NR) {
        __m512 b0 = _mm512_loadu_ps(w);
        __m512 b1 = NV > 1 ? _mm512_loadu_ps(w + 16) : zero;
        __m512 b2 = NV > 2 ? _mm512_loadu_ps(w + 32) : zero;
        OC_TAP(a, 1)
    }
    OC_ACC_ARRAY(acc);
    float *me = mb + e * WT * OX_OC_NR;
    OC_UNROLL for (int r = 0; r < RC; r++)
        OC_UNROLL for (int v = 0; v < NV; v++)
            _mm512_store_ps(me + (size_t)r * OX_OC_NR + 16 * v, acc[r][v]);
}

/* The group's outputs from mb: Y = A^T M A per tile plus bias into the staging rows
 * st (2 rows of 2*RC positions x 16 channels, per vector of channels in turn), then
 * transposed into y with the residual and the clamp. */
OC_AI void wo_outputs(const ox_wino_oc_band *b, const float *mb, float *st, size_t oy,
                      size_t ox, int RC, int NV) {
    const __m256 lo = _mm256_set1_ps(b->lo), hi = _mm256_set1_ps(b->hi);
    size_t npos = b->OW - ox < 2 * (size_t)RC ? b->OW - ox : 2 * (size_t)RC;
    int two = oy + 1 < b->OH;
    for (int v = 0; v < NV; v++) {
        if ((size_t)v * 16 >= b->mvalid) break;
        __m512 bias = b->bias ? _mm512_loadu_ps(b->bias + 16 * v) : _mm512_setzero_ps();
        for (int r = 0; r < RC; r++) {
            const float *m = mb + (size_t)r * OX_OC_NR + 16 * v;
            __m512 q[16];
            OC_UNROLL for (int e = 0; e < 16; e++)
                q[e] = _mm512_load_ps(m + (size_t)e * WT * OX_OC_NR);
            __m512 s0[4], s1[4]; /* A^T M */
            OC_UNROLL for (int j = 0; j < 4; j++) {
                s0[j] = _mm512_add_ps(_mm512_add_ps(q[j], q[4 + j]), q[8 + j]);
                s1[j] = _mm512_sub_ps(_mm512_sub_ps(q[4 + j], q[8 + j]), q[12 + j]);
            }
            __m512 o[4] = {_mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]),
                           _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]),
                           _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]),
                           _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3])};
            OC_UNROLL for (int k = 0; k < 4; k++) o[k] = _mm512_add_ps(o[k], bias);
            /* row k / 2, column 2r + k % 2 */
            OC_UNROLL for (int k = 0; k < 4; k++)
                _mm512_store_ps(st + ((size_t)(k / 2) * 16 + 2 * (size_t)r + (size_t)(k % 2)) * 16,
                                o[k]);
        }
        size_t nch = b->mvalid - (size_t)v * 16 < 16 ? b->mvalid - (size_t)v * 16 : 16;
        for (int row = 0; row < 1 + two; row++) {
            size_t at = (size_t)v * 16 * b->plane + (oy + (size_t)row) * b->OW + ox;
            float *yr = b->y + at;
            const float *rr = b->res ? b->res + at : NULL;
            for (size_t p0 = 0; p0 < npos; p0 += 8) {
                __m512 rows[8];
                OC_UNROLL for (int i = 0; i < 8; i++)
                    rows[i] = _mm512_load_ps(st + ((size_t)row * 16 + p0 + (size_t)i) * 16);
                __m256 col[16];
                tr8x16(rows, col);
                size_t n = npos - p0 < 8 ? npos - p0 : 8;
                __mmask8 k = (__mmask8)((1u << n) - 1u);
                for (size_t j = 0; j < nch; j++) {
                    size_t off = j * b->plane + p0;
                    __m256 o = col[j];
                    if (b->res) o = _mm256_add_ps(o, _mm256_maskz_loadu_ps(k, rr + off));
                    /* max/min return their second operand when either is NaN: Clip's order */
                    if (b->clamp) o = _mm256_min_ps(hi, _mm256_max_ps(lo, o));
                    _mm256_mask_storeu_ps(yr + off, k, o);
                }
            }
        }
    }
}

#define WO_FN(RC, NV)                                                                           \
    static void wo_prod_##RC##_##NV(const ox_wino_oc_band *b, size_t e, const float *vt,       \
                                    float *mb) {                                                \
        wo_products(b, e, vt, mb, RC, NV);                                                      \
    }                                                                                           \
    static void wo_out_##RC##_##NV(const ox_wino_oc_band *b, const float *mb, float *st,       \
                                   size_t oy, size_t ox) {                                      \
        wo_outputs(b, mb, st, oy, ox, RC, NV);                                                  \
    }
#define WO_FNS(NV) WO_FN(1, NV) WO_FN(2, NV) WO_FN(3, NV) WO_FN(4, NV) WO_FN(5, NV) \
    WO_FN(6, NV) WO_FN(7, NV)
WO_FNS(1) WO_FNS(2) WO_FNS(3) WO_FNS(4)
#undef WO_FNS
#undef WO_FN

typedef void (*wo_prod_fn)(const ox_wino_oc_band *b, size_t e, const float *vt, float *mb);
typedef void (*wo_out_fn)(const ox_wino_oc_band *b, const float *mb, float *st, size_t oy,
                          size_t ox);
#define WO_ROW_FNS(K, NV)                                                                       \
    {wo_##K##_1_##NV, wo_##K##_2_##NV, wo_##K##_3_##NV, wo_##K##_4_##NV, wo_##K##_5_##NV,     \
     wo_##K##_6_##NV, wo_##K##_7_##NV}
/* [vectors - 1][tiles - 1] */
static const wo_prod_fn wo_prods[4][WT] = {WO_ROW_FNS(prod, 1), WO_ROW_FNS(prod, 2),
                                           WO_ROW_FNS(prod, 3), WO_ROW_FNS(prod, 4)};
static const wo_out_fn wo_outs[4][WT] = {WO_ROW_FNS(out, 1), WO_ROW_FNS(out, 2),
                                         WO_ROW_FNS(out, 3), WO_ROW_FNS(out, 4)};
#undef WO_ROW_FNS

/* Element by element over all the band's groups, so that U_e (C x 64 floats) stays in
 * L1 while every group reads it: group by group, a strip's whole U (16 x C x 64)
 * streamed once per group, from L3 once it outgrew L2. Then the outputs, group by
 * group. */
void ox_wino_oc_band_avx512(const ox_wino_oc_band *b) {
    float *st = b->scratch + ox_wino_oc_scratch_floats(b->TW, b->rows) - 2 * 16 * 16;
    /* staging rows hold 16 positions: positions past 2*RC are read by the transpose
     * (their lanes are never stored) and must be numbers in memory */
    for (size_t i = 0; i < 2 * 16 * 16; i++) st[i] = 0.0f;
    size_t nv = (b->mvalid + 15) / 16 - 1, gpr = (b->TW + WT - 1) / WT; /* groups per row */
    for (size_t e = 0; e < 16; e++)
        for (size_t g = 0; g < b->rows * gpr; g++) {
            size_t t = g / gpr * b->TW + g % gpr * WT, rc = b->TW - g % gpr * WT;
            wo_prods[nv][(rc < WT ? rc : WT) - 1](b, e, b->v + t,
                                                  b->scratch + g * 16 * WT * OX_OC_NR);
        }
    for (size_t g = 0; g < b->rows * gpr; g++) {
        size_t tr = g / gpr, tx = g % gpr * WT, rc = b->TW - tx;
        wo_outs[nv][(rc < WT ? rc : WT) - 1](b, b->scratch + g * 16 * WT * OX_OC_NR, st, 2 * tr,
                                             2 * tx);
    }
}

#else
typedef int ox_wino_oc_avx512_unused;
#endif
