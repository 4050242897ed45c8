/* Max pooling of one output row in two passes: the column maxima of the window's
 * input rows (contiguous, so vectorised), then the horizontal taps over that single
 * row. A 3x3 window then costs 2 vector maxima per 16 inputs plus 3 per 16 outputs
 * instead of 9 scalar compares per output. AVX-512 where kernels/cpu.h allows it.
 *
 * Both follow MaxPool's "v > m ? v : m" from -inf: a NaN input never wins. */
#ifndef OX_KERNELS_POOL_ROWS_H
#define OX_KERNELS_POOL_ROWS_H

#include <stddef.h>

/* dst[i] = max over r < nrows of rows[r][i], for i < n (-inf when nrows is 0). */
void ox_max_rows(float *dst, const float *const *rows, size_t nrows, size_t n);

/* y[o] = max over e < kw of src[o*sx + e*dx], for o < n; src must have every one of
 * those indices readable, plus OX_MAX_TAPS_SLACK floats past the last. */
#define OX_MAX_TAPS_SLACK 1
void ox_max_taps(float *y, const float *src, size_t n, size_t kw, size_t sx, size_t dx);

/* Output rows of a stride-2 window kw (1..3) wide, dilation 1, pl (0 or 1) columns
 * of padding on the left, in one pass each: for j < out_rows and o < n,
 * y[j*n + o] = max over r < nrows, e < kw of rows[r][j*step + 2o + e - pl], columns
 * before 0 or at or past `in` reading -inf (a run of output rows whose windows are
 * the same rows `step` floats further down each time).
 * Returns whether it ran (0: no such kernel here, kw out of range, or more than
 * OX_MAX_ROW_S2_ROWS rows). Reads no column at or past `in`. */
#define OX_MAX_ROW_S2_ROWS 64
int ox_max_row_s2(float *y, const float *const *rows, size_t nrows, size_t step, size_t out_rows,
                  size_t in, size_t n, size_t kw, size_t pl);

#if defined(__x86_64__) || defined(__i386__)
void ox_max_row_s2_avx512(float *y, const float *const *rows, size_t nrows, size_t step,
                          size_t out_rows, size_t in, size_t n, size_t kw, size_t pl);
void ox_max_rows_avx512(float *dst, const float *const *rows, size_t nrows, size_t n);
/* ox_max_taps for sx 1 or 2; returns how many outputs it wrote (all of them) */
size_t ox_max_taps_avx512(float *y, const float *src, size_t n, size_t kw, size_t sx, size_t dx);
#endif

#endif
