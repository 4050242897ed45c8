#include "kernels/pool_rows.h"

#include <math.h>

#include "kernels/cpu.h"

void ox_max_rows(float *dst, const float *const *rows, size_t nrows, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) {
        ox_max_rows_avx512(dst, rows, nrows, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) { /* dst may be one of the rows */
        float m = -INFINITY;
        for (size_t r = 0; r < nrows; r++) m = rows[r][i] > m ? rows[r][i] : m;
        dst[i] = m;
    }
}

void ox_max_taps(float *y, const float *src, size_t n, size_t kw, size_t sx, size_t dx) {
    size_t o = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512) && (sx == 1 || sx == 2))
        o = ox_max_taps_avx512(y, src, n, kw, sx, dx);
#endif
    for (; o < n; o++) {
        const float *s = src + o * sx;
        float m = -INFINITY;
        for (size_t e = 0; e < kw; e++) m = s[e * dx] > m ? s[e * dx] : m;
        y[o] = m;
    }
}

int ox_max_row_s2(float *y, const float *const *rows, size_t nrows, size_t step, size_t out_rows,
                  size_t in, size_t n, size_t kw, size_t pl) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512) && kw >= 1 && kw <= 3 && pl <= 1 && nrows >= 1 &&
        nrows <= OX_MAX_ROW_S2_ROWS) {
        ox_max_row_s2_avx512(y, rows, nrows, step, out_rows, in, n, kw, pl);
        return 1;
    }
#endif
    (void)y, (void)rows, (void)nrows, (void)step, (void)out_rows, (void)in, (void)n, (void)kw,
        (void)pl;
    return 0;
}
