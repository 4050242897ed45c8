/* kernels/pool_rows.h on AVX-512. _mm512_max_ps(v, m) is "v > m ? v : m" lane by
 * lane (the second operand when either is NaN), so a NaN input never wins. */
#include "kernels/pool_rows.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

void ox_max_rows_avx512(float *dst, const float *const *rows, size_t nrows, size_t n) {
    size_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        __m512 m = _mm512_set1_ps(-INFINITY);
        for (size_t r = 0; r < nrows; r++) {
            /* the rows run on into the next windows': fetch two rows ahead (an
             * address, not a pointer past the row: prefetching never faults) */
            _mm_prefetch((const char *)((uintptr_t)(rows[r] + i) + 2 * n * sizeof(float)),
                         _MM_HINT_T0);
            m = _mm512_max_ps(_mm512_maskz_loadu_ps(k, rows[r] + i), m);
        }
        _mm512_mask_storeu_ps(dst + i, k, m);
    }
}

static __mmask16 first(size_t k) { return k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << k) - 1u); }

size_t ox_max_taps_avx512(float *y, const float *src, size_t n, size_t kw, size_t sx, size_t dx) {
    /* masked loads touch no memory in their masked-off lanes, so the tail is one
     * more vector step */
    if (sx == 1) {
        for (size_t o = 0; o < n; o += 16) {
            __mmask16 k = first(n - o);
            __m512 m = _mm512_set1_ps(-INFINITY);
            for (size_t e = 0; e < kw; e++)
                m = _mm512_max_ps(_mm512_maskz_loadu_ps(k, src + o + e * dx), m);
            _mm512_mask_storeu_ps(y + o, k, m);
        }
        return n;
    }
    /* stride 2: the even lanes of the 2r floats starting at each tap (r outputs) */
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (size_t o = 0; o < n; o += 16) {
        size_t r = n - o < 16 ? n - o : 16;
        __mmask16 lo = first(2 * r), hi = first(2 * r > 16 ? 2 * r - 16 : 0);
        __m512 m = _mm512_set1_ps(-INFINITY);
        for (size_t e = 0; e < kw; e++) {
            const float *s = src + 2 * o + e * dx;
            __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, s), even,
                                              _mm512_maskz_loadu_ps(hi, s + 16));
            m = _mm512_max_ps(v, m);
        }
        _mm512_mask_storeu_ps(y + o, first(r), m);
    }
    return n;
}

/* The next window starts two rows on: fetch the lines of those rows' 32 columns from
 * `ahead` (the last row's, an address: prefetching never faults), `in` floats apart. */
static inline __attribute__((always_inline)) void prefetch_next_rows(uintptr_t ahead, size_t in) {
    _mm_prefetch((const char *)(ahead + in * sizeof(float)), _MM_HINT_T0);
    _mm_prefetch((const char *)(ahead + in * sizeof(float) + 64), _MM_HINT_T0);
    _mm_prefetch((const char *)(ahead + 2 * in * sizeof(float)), _MM_HINT_T0);
    _mm_prefetch((const char *)(ahead + 2 * in * sizeof(float) + 64), _MM_HINT_T0);
}

/* 16 outputs of a stride-2 window kw (1..3) wide from its rows' column maxima: a and b
 * the 32 columns from the first one read, c the column after them (lane 0). pl = 1:
 * the first tap is one column back, the odd columns of the 32 before are in
 * *od_before, which gets this step's. */
static inline __attribute__((always_inline)) __m512 taps_s2(__m512 a, __m512 b, __m512 c,
                                                            size_t kw, size_t pl,
                                                            __m512 *od_before) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512 ev = _mm512_permutex2var_ps(a, even, b), m;
    if (pl == 0) {
        /* tap 0: even columns; tap 1: odd ones; tap 2: even ones one output on */
        m = ev;
        if (kw >= 2) m = _mm512_max_ps(_mm512_permutex2var_ps(a, odd, b), m);
        if (kw == 3) {
            __m512i e2 = _mm512_alignr_epi32(_mm512_castps_si512(c), _mm512_castps_si512(ev), 1);
            m = _mm512_max_ps(_mm512_castsi512_ps(e2), m);
        }
    } else {
        /* tap 0: odd columns one output back; tap 1: even ones; tap 2: odd ones */
        __m512 od = _mm512_permutex2var_ps(a, odd, b);
        __m512i o0 = _mm512_alignr_epi32(_mm512_castps_si512(od),
                                         _mm512_castps_si512(*od_before), 15);
        m = _mm512_castsi512_ps(o0);
        if (kw >= 2) m = _mm512_max_ps(ev, m);
        if (kw == 3) m = _mm512_max_ps(od, m);
        *od_before = od;
    }
    return m;
}

/* 16 outputs at a time read input columns 2o .. 2o + 32: two vectors and one more
 * float, the maximum over the rows taken first, then the even columns, the odd ones
 * and the even ones one further along. No intermediate row: the column maxima stay
 * in registers. Rows are addresses until read (uintptr_t): the run's last
 * window may end where a pointer one step on would point past the plane. */
static inline __attribute__((always_inline)) void row_s2(float *y, const uintptr_t *rows,
                                                         size_t nrows, size_t in, size_t n,
                                                         size_t kw, size_t pl) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 od_before = ninf; /* the odd columns of the 32 before c0 (pl = 1) */
    for (size_t o = 0; o < n; o += 16) {
        size_t c0 = 2 * o; /* first input column */
        size_t left = in > c0 ? in - c0 : 0; /* readable columns from c0 */
        __mmask16 ka = first(left), kb = first(left > 16 ? left - 16 : 0);
        __mmask16 kc = left > 32 ? (__mmask16)1 : (__mmask16)0;
        __m512 a = ninf, b = ninf, c = ninf;
        prefetch_next_rows(rows[nrows - 1] + c0 * sizeof(float), in);
        if (left > 32) { /* all 33 columns there: whole loads (and one float) */
            for (size_t r = 0; r < nrows; r++) {
                const float *s = (const float *)(rows[r] + c0 * sizeof(float));
                a = _mm512_max_ps(_mm512_loadu_ps(s), a);
                b = _mm512_max_ps(_mm512_loadu_ps(s + 16), b);
                if (kw == 3) c = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, 1, s + 32), c);
            }
        } else { /* a vector is read only where some of its columns are */
            for (size_t r = 0; r < nrows && ka; r++) {
                const float *s = (const float *)(rows[r] + c0 * sizeof(float));
                a = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, ka, s), a);
                if (kb) b = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, kb, s + 16), b);
                if (kw == 3 && kc) c = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, kc, s + 32), c);
            }
        }
        __m512 m = taps_s2(a, b, c, kw, pl, &od_before);
        _mm512_mask_storeu_ps(y + o, first(n - o), m);
    }
}

/* The maxima of three rows' columns [c, c + 16), -inf at columns past `in`; from -inf
 * with each row as the first operand, so a NaN never wins (and none comes out). */
static inline __attribute__((always_inline)) __m512 col3(const float *s0, const float *s1,
                                                         const float *s2, size_t c, size_t in) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    if (c + 16 <= in) {
        __m512 m = _mm512_max_ps(_mm512_loadu_ps(s0 + c), ninf);
        m = _mm512_max_ps(_mm512_loadu_ps(s1 + c), m);
        return _mm512_max_ps(_mm512_loadu_ps(s2 + c), m);
    }
    if (c >= in) return ninf;
    __mmask16 k = first(in - c);
    __m512 m = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, k, s0 + c), ninf);
    m = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, k, s1 + c), m);
    return _mm512_max_ps(_mm512_mask_loadu_ps(ninf, k, s2 + c), m);
}

/* row_s2 for the common window, 3 rows and 3 columns: 16 outputs read input columns
 * 2o .. 2o + 32, and the maxima of columns 2o + 32 .. 2o + 47 are the next 16's first
 * ones, so each input vector is loaded (and its rows' maximum taken) once. The rows
 * lie `in` floats apart, as row_s2's prefetch assumes too. */
static inline __attribute__((always_inline)) void row3_s2(float *y, const float *s0, size_t in,
                                                          size_t n, size_t pl) {
    const float *s1 = s0 + in, *s2 = s1 + in;
    __m512 od_before = _mm512_set1_ps(-INFINITY); /* the odd columns of the 32 before (pl = 1) */
    __m512 a = col3(s0, s1, s2, 0, in);
    for (size_t o = 0; o < n; o += 16) {
        size_t c0 = 2 * o;
        prefetch_next_rows((uintptr_t)(s2 + c0), in);
        __m512 b = col3(s0, s1, s2, c0 + 16, in), c = col3(s0, s1, s2, c0 + 32, in);
        __m512 m = taps_s2(a, b, c, 3, pl, &od_before);
        if (n - o >= 16) _mm512_storeu_ps(y + o, m);
        else _mm512_mask_storeu_ps(y + o, first(n - o), m);
        a = c;
    }
}

void ox_max_row_s2_avx512(float *y, const float *const *rows, size_t nrows, size_t step,
                          size_t out_rows, size_t in, size_t n, size_t kw, size_t pl) {
    uintptr_t at[OX_MAX_ROW_S2_ROWS];
    for (size_t j = 0; j < out_rows; j++, y += n) {
        for (size_t r = 0; r < nrows; r++) at[r] = (uintptr_t)rows[r] + j * step * sizeof(float);
        /* the common windows with their sizes constant, so the row loops unroll */
        int rows_in_apart = nrows == 3 && at[1] - at[0] == in * sizeof(float) &&
                            at[2] - at[1] == in * sizeof(float);
        if (rows_in_apart && pl == 0 && kw == 3) row3_s2(y, (const float *)at[0], in, n, 0);
        else if (rows_in_apart && pl == 1 && kw == 3) row3_s2(y, (const float *)at[0], in, n, 1);
        else if (pl == 0 && kw == 3) row_s2(y, at, nrows, in, n, 3, 0);
        else if (pl == 1 && kw == 3) row_s2(y, at, nrows, in, n, 3, 1);
        else row_s2(y, at, nrows, in, n, kw, pl);
    }
}

#else
typedef int ox_pool_rows_avx512_unused;
#endif
