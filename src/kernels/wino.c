#include "kernels/wino.h"

#include "kernels/cpu.h"

#if defined(__GNUC__)
#define WINO_VL 8
#define WINO_NAME(x) wino_##x##_generic
#define WINO_LINKAGE static
#include "kernels/wino_body.h"
#else
#error "kernels/wino.c needs GNU C vector types"
#endif

void ox_wino_input(const float *even, const float *odd, size_t Wq, size_t TH, size_t TW, float *v,
                   size_t ks) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) {
        ox_wino_input_avx512(even, odd, Wq, TH, TW, v, ks);
        return;
    }
#endif
    wino_input_generic(even, odd, Wq, TH, TW, v, ks);
}

void ox_wino_output(const float *m, size_t ks, size_t TH, size_t TW, float *y, size_t OH,
                    size_t OW, float bias, int kind, float lo, float hi) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) {
        ox_wino_output_avx512(m, ks, TH, TW, y, OH, OW, bias, kind, lo, hi);
        return;
    }
#endif
    wino_output_generic(m, ks, TH, TW, y, OH, OW, bias, kind, lo, hi);
}

void ox_wino_split(const float *src, size_t n, float *even, float *odd) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) {
        ox_wino_split_avx512(src, n, even, odd);
        return;
    }
#endif
    wino_split_generic(src, n, even, odd);
}

void ox_wino_filter(const float *g, float u[16]) {
    float t[4][3]; /* G g */
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = t[i][0];
        u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[4 * i + 3] = t[i][2];
    }
}
