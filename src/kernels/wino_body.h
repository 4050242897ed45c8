/* The bodies of the kernels/wino.h transforms, written once over GNU C vectors of
 * WINO_VL floats (the includer defines WINO_VL, WINO_NAME(x) to name its functions
 * and WINO_LINKAGE: static or nothing), so the same source compiles to 8-float vectors in portable code and
 * 16-float ones in the AVX-512 file. */
#include <string.h>

#include "kernels/bias_act.h"

typedef float wino_vf __attribute__((vector_size(WINO_VL * sizeof(float))));

/* through memcpy (no alignment assumed); macros, since passing a vector by value
 * would depend on the calling convention of the instruction set */
#define WLD(v, p) memcpy(&(v), (p), sizeof(wino_vf))
#define WST(p, v)                                                                          \
    do {                                                                                   \
        wino_vf st_ = (v);                                                                 \
        memcpy((p), &st_, sizeof(wino_vf));                                                \
    } while (0)

WINO_LINKAGE void WINO_NAME(input)(const float *even, const float *odd, size_t Wq, size_t TH, size_t TW,
                      float *v, size_t ks) {
    for (size_t ty = 0; ty < TH; ty++)
        for (size_t tx = 0; tx < TW; tx += WINO_VL) {
            wino_vf d[4][4];
            for (int i = 0; i < 4; i++) {
                const float *e = even + (2 * ty + (size_t)i) * Wq + tx;
                const float *o = odd + (2 * ty + (size_t)i) * Wq + tx;
                WLD(d[i][0], e);
                WLD(d[i][1], o);
                WLD(d[i][2], e + 1);
                WLD(d[i][3], o + 1);
            }
            wino_vf s[4][4]; /* B^T d */
            for (int j = 0; j < 4; j++) {
                s[0][j] = d[0][j] - d[2][j];
                s[1][j] = d[1][j] + d[2][j];
                s[2][j] = d[2][j] - d[1][j];
                s[3][j] = d[1][j] - d[3][j];
            }
            float *vt = v + ty * TW + tx;
            for (int i = 0; i < 4; i++) { /* (B^T d) B */
                WST(vt + (size_t)(4 * i + 0) * ks, s[i][0] - s[i][2]);
                WST(vt + (size_t)(4 * i + 1) * ks, s[i][1] + s[i][2]);
                WST(vt + (size_t)(4 * i + 2) * ks, s[i][2] - s[i][1]);
                WST(vt + (size_t)(4 * i + 3) * ks, s[i][1] - s[i][3]);
            }
        }
}

/* lanes of a and b interleaved: a0 b0 a1 b1 ..., the low and the high half; and
 * back: the even lanes of a then b, the odd ones */
#if WINO_VL == 16
#define WEVEN(a, b)                                                                        \
    __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define WODD(a, b)                                                                         \
    __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define WZIP_LO(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define WZIP_HI(a, b)                                                                      \
    __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#elif WINO_VL == 8
#define WEVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define WODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define WZIP_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define WZIP_HI(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)
#else
#error "WINO_VL must be 8 or 16"
#endif

WINO_LINKAGE void WINO_NAME(split)(const float *src, size_t n, float *even, float *odd) {
    size_t q = 0;
    for (; q + WINO_VL <= n; q += WINO_VL) {
        wino_vf a, b;
        WLD(a, src + 2 * q);
        WLD(b, src + 2 * q + WINO_VL);
        WST(even + q, WEVEN(a, b));
        WST(odd + q, WODD(a, b));
    }
    for (; q < n; q++) {
        even[q] = src[2 * q];
        odd[q] = src[2 * q + 1];
    }
}

typedef int wino_vi __attribute__((vector_size(WINO_VL * sizeof(int))));

/* v = (m lanes set ? a : v), with m from a vector comparison */
#define WSEL(v, m, a) (v) = (wino_vf)(((wino_vi)(v) & ~(m)) | ((wino_vi)(a) & (m)))
/* bias, then the kernels/bias_act.h kind (ONLY, RELU or CLIP) as ox_bias_act does:
 * a NaN passes through */
#define WACT(v)                                                                            \
    do {                                                                                   \
        (v) += vb;                                                                         \
        if (kind == OX_BIAS_RELU) WSEL(v, (v) < 0.0f, (wino_vf){0});                       \
        if (kind == OX_BIAS_CLIP) {                                                        \
            WSEL(v, (v) < vlo, vlo);                                                       \
            WSEL(v, (v) > vhi, vhi);                                                       \
        }                                                                                  \
    } while (0)

WINO_LINKAGE void WINO_NAME(output)(const float *m, size_t ks, size_t TH, size_t TW, float *y,
                                    size_t OH, size_t OW, float bias, int kind, float lo,
                                    float hi) {
    const wino_vf vb = bias - (wino_vf){0}, vlo = lo - (wino_vf){0}, vhi = hi - (wino_vf){0};
    for (size_t ty = 0; ty < TH; ty++) {
        float *r0 = y + 2 * ty * OW, *r1 = r0 + OW;
        int two = 2 * ty + 1 < OH;
        for (size_t tx = 0; tx < TW; tx += WINO_VL) {
            const float *mt = m + ty * TW + tx;
            wino_vf q[16];
            for (int k = 0; k < 16; k++) WLD(q[k], mt + (size_t)k * ks);
            wino_vf s0[4], s1[4]; /* A^T M */
            for (int j = 0; j < 4; j++) {
                s0[j] = q[j] + q[4 + j] + q[8 + j];
                s1[j] = q[4 + j] - q[8 + j] - q[12 + j];
            }
            wino_vf o00 = s0[0] + s0[1] + s0[2], o01 = s0[1] - s0[2] - s0[3];
            wino_vf o10 = s1[0] + s1[1] + s1[2], o11 = s1[1] - s1[2] - s1[3];
            WACT(o00);
            WACT(o01);
            WACT(o10);
            WACT(o11);
            if (2 * (tx + WINO_VL) <= OW) { /* whole rows of 2 x VL outputs */
                size_t ox = 2 * tx;
                WST(r0 + ox, WZIP_LO(o00, o01));
                WST(r0 + ox + WINO_VL, WZIP_HI(o00, o01));
                if (two) {
                    WST(r1 + ox, WZIP_LO(o10, o11));
                    WST(r1 + ox + WINO_VL, WZIP_HI(o10, o11));
                }
                continue;
            }
            size_t n = TW - tx < WINO_VL ? TW - tx : WINO_VL;
            for (size_t l = 0; l < n; l++) { /* the 2x2 block of each tile */
                size_t ox = 2 * (tx + l);
                r0[ox] = o00[l];
                if (ox + 1 < OW) r0[ox + 1] = o01[l];
                if (two) {
                    r1[ox] = o10[l];
                    if (ox + 1 < OW) r1[ox + 1] = o11[l];
                }
            }
        }
    }
}
#undef WZIP_LO
#undef WEVEN
#undef WODD
#undef WSEL
#undef WACT
#undef WZIP_HI
