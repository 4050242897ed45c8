/* Winograd with output channels in the vector lanes: packing and the choice of
 * instruction set. Only AVX-512 has the kernel; elsewhere the callers keep to the
 * other paths (ox_wino_oc_supported says which). */
#include "kernels/wino_oc.h"

#include <string.h>

#include "kernels/cpu.h"
#include "kernels/wino.h"

size_t ox_wino_oc_packed_floats(size_t M, size_t C) {
    size_t strips = (M + OX_OC_NR - 1) / OX_OC_NR;
    return strips * 16 * C * OX_OC_NR;
}

void ox_wino_oc_pack(const float *w, size_t M, size_t C, float *dst) {
    memset(dst, 0, ox_wino_oc_packed_floats(M, C) * sizeof *dst);
    for (size_t m = 0; m < M; m++) {
        float *s = dst + (m / OX_OC_NR) * 16 * C * OX_OC_NR + m % OX_OC_NR;
        for (size_t c = 0; c < C; c++) {
            float u[16];
            ox_wino_filter(w + (m * C + c) * 9, u);
            for (size_t e = 0; e < 16; e++) s[(e * C + c) * OX_OC_NR] = u[e];
        }
    }
}

size_t ox_wino_oc_scratch_floats(size_t TW, size_t rows) {
    size_t groups = rows * ((TW + OX_WINO_OC_TILES - 1) / OX_WINO_OC_TILES);
    return groups * 16 * OX_WINO_OC_TILES * OX_OC_NR + 2 * 16 * 16;
}

int ox_wino_oc_supported(void) {
#if defined(__x86_64__) || defined(__i386__)
    return ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA);
#else
    return 0;
#endif
}

int ox_wino_oc_run_band(const ox_wino_oc_band *b) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_wino_oc_supported()) {
        ox_wino_oc_band_avx512(b);
        return 1;
    }
#endif
    (void)b;
    return 0;
}
