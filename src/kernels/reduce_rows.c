#include "kernels/reduce_rows.h"

#include "kernels/cpu.h"

static double sum_plain(const float *x, size_t n, int squares) {
    double p0 = 0.0, p1 = 0.0, p2 = 0.0, p3 = 0.0;
    size_t i = 0;
#define TERM(v) (squares ? (double)(v) * (double)(v) : (double)(v))
    for (; i + 4 <= n; i += 4) {
        p0 += TERM(x[i]);
        p1 += TERM(x[i + 1]);
        p2 += TERM(x[i + 2]);
        p3 += TERM(x[i + 3]);
    }
    for (; i < n; i++) p0 += TERM(x[i]);
#undef TERM
    return (p0 + p1) + (p2 + p3);
}

double ox_row_sum_f64(const float *x, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) return ox_row_sum_f64_avx512(x, n, 0);
#endif
    return sum_plain(x, n, 0);
}

double ox_row_sumsq_f64(const float *x, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) return ox_row_sum_f64_avx512(x, n, 1);
#endif
    return sum_plain(x, n, 1);
}

void ox_row_acc_f64(double *acc, const float *x, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) {
        ox_row_acc_f64_avx512(acc, x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) acc[i] += (double)x[i];
}
