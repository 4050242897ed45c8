/* The float32 rows of the reductions (ops/reduce.c), accumulated in double as the
 * reductions accumulate: a row's sum or sum of squares, or a row added into a row
 * of double accumulators. AVX-512 where kernels/cpu.h allows it (8 doubles a
 * register, four registers in flight), else plain loops. The order of the additions
 * differs between the two; in double, float inputs round to the same float result
 * but for ties at the last bit. */
#ifndef OX_KERNELS_REDUCE_ROWS_H
#define OX_KERNELS_REDUCE_ROWS_H

#include <stddef.h>

double ox_row_sum_f64(const float *x, size_t n);   /* sum of x[i] */
double ox_row_sumsq_f64(const float *x, size_t n); /* sum of x[i]^2, each in double */
void ox_row_acc_f64(double *acc, const float *x, size_t n); /* acc[i] += x[i] */

#if defined(__x86_64__) || defined(__i386__)
double ox_row_sum_f64_avx512(const float *x, size_t n, int squares);
void ox_row_acc_f64_avx512(double *acc, const float *x, size_t n);
#endif

#endif
