/* Depthwise convolution on AVX-512 by blocks of 16 channels (see ox_dw_cb_geom in
 * dwconv_kernel.h): lane c of every vector is channel c of the block, so a tap of
 * 16 outputs is one FMA of a filter vector and one aligned load, with no masks,
 * phase planes or short rows however small the plane. The price is two 16 x 16
 * transposes per position (input in, output out), cheap next to the per-plane
 * overhead of small planes. dwconv.c calls it only when kernels/cpu.h reports
 * AVX-512 (F, DQ, VL, BW) with AVX2 and FMA. */
#include "kernels/dwconv_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#define CB_AI static inline __attribute__((always_inline))
#define CB_PRAGMA(x) _Pragma(#x)
/* every loop over registers must be unrolled, on every compiler */
#ifdef __clang__
#define CB_UNROLL CB_PRAGMA(clang loop unroll(full))
#define CB_UNROLL_K CB_UNROLL
#define CB_UNROLL_J CB_UNROLL
#else
#define CB_UNROLL CB_PRAGMA(GCC unroll 16)
#define CB_UNROLL_K CB_PRAGMA(GCC unroll 5)
#define CB_UNROLL_J CB_PRAGMA(GCC unroll 32)
#endif

/* Floats ahead of a gather's loads that it prefetches in each row. */
#define CB_PREFETCH 128

/* Positions at the end of a transpose that go one float at a time (a 7x7 plane ends
 * in one: measured 4% faster on 7x7 planes, slower from 4 on). */
#define CB_FEW 2

static inline __mmask16 lanes(size_t n) { return (__mmask16)((1u << n) - 1u); }

/* r[i] = column i of the 16 x 16 matrix whose row j is r[j]. */
CB_AI void tr16(__m512 r[16]) {
    __m512 t[16];
    CB_UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4j + m], 128-bit lane k: column 4k + m of rows 4j .. 4j + 3 */
    __m512 u[16];
    CB_UNROLL for (int j = 0; j < 4; j++) {
        __m512d a = _mm512_castps_pd(t[4 * j]), b = _mm512_castps_pd(t[4 * j + 1]);
        __m512d c = _mm512_castps_pd(t[4 * j + 2]), d = _mm512_castps_pd(t[4 * j + 3]);
        u[4 * j + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    CB_UNROLL for (int m = 0; m < 4; m++) {
        __m512 va = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);
        __m512 vb = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xdd);
        __m512 wa = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
        __m512 wb = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xdd);
        r[m] = _mm512_shuffle_f32x4(va, wa, 0x88);
        r[8 + m] = _mm512_shuffle_f32x4(va, wa, 0xdd);
        r[4 + m] = _mm512_shuffle_f32x4(vb, wb, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(vb, wb, 0xdd);
    }
}

/* Rows c < nc of n floats at s + c * stride, transposed: float f of every row goes
 * to the 16 floats at d + idx[f] * 16 (d + f * 16 when idx is NULL), lane c; lanes
 * nc and up get zeros. d is 64-byte aligned. */
CB_AI void cb_gather_n(const float *s, size_t stride, size_t nc, size_t n, float *d,
                       const uint32_t *idx, int full) {
    for (size_t f = 0; f < n; f += 16) {
        size_t m = n - f < 16 ? n - f : 16;
        const float *sf = s + f;
        if (m <= CB_FEW) {
            /* a few positions left: cheaper one float at a time than transposed */
            for (size_t j = 0; j < m; j++) {
                float *dj = d + (idx ? (size_t)idx[f + j] : f + j) * 16;
                for (size_t c = 0; c < 16; c++) dj[c] = c < nc ? sf[c * stride + j] : 0.0f;
            }
            break;
        }
        __mmask16 k = lanes(m);
        __m512 r[16];
        /* 16 streams at once are more than the hardware prefetcher follows well */
        if (f + CB_PREFETCH < n)
            CB_UNROLL for (int c = 0; c < 16; c++)
                if (full || (size_t)c < nc)
                    _mm_prefetch((const char *)(sf + c * stride + CB_PREFETCH), _MM_HINT_T0);
        if (full && m == 16) {
            CB_UNROLL for (int c = 0; c < 16; c++) r[c] = _mm512_loadu_ps(sf + (size_t)c * stride);
        } else {
            CB_UNROLL for (int c = 0; c < 16; c++)
                r[c] = full || (size_t)c < nc ? _mm512_maskz_loadu_ps(k, sf + (size_t)c * stride)
                                              : _mm512_setzero_ps();
        }
        tr16(r);
        if (m == 16 && idx) {
            CB_UNROLL for (int j = 0; j < 16; j++)
                _mm512_store_ps(d + (size_t)idx[f + (size_t)j] * 16, r[j]);
        } else if (m == 16) {
            CB_UNROLL for (int j = 0; j < 16; j++) _mm512_store_ps(d + (f + (size_t)j) * 16, r[j]);
        } else {
            for (size_t j = 0; j < m; j++)
                _mm512_store_ps(d + (idx ? (size_t)idx[f + j] : f + j) * 16, r[j]);
        }
    }
}

static void cb_gather(const float *s, size_t stride, size_t nc, size_t n, float *d,
                      const uint32_t *idx) {
    if (nc == 16)
        cb_gather_n(s, stride, 16, n, d, idx, 1);
    else
        cb_gather_n(s, stride, nc, n, d, idx, 0);
}

/* The nq positions at st (16 floats each), transposed back: lane c of position q
 * goes to y[c * ystride + q], for c < nc. */
CB_AI void cb_scatter_n(const float *st, size_t nq, size_t nc, float *y, size_t ystride,
                        int full) {
    for (size_t q = 0; q < nq; q += 16) {
        size_t m = nq - q < 16 ? nq - q : 16;
        const float *sq = st + q * 16;
        float *yq = y + q;
        if (m <= CB_FEW) {
            for (size_t c = 0; c < nc; c++)
                for (size_t j = 0; j < m; j++) yq[c * ystride + j] = sq[j * 16 + c];
            break;
        }
        __m512 r[16];
        if (m == 16) {
            CB_UNROLL for (int j = 0; j < 16; j++) r[j] = _mm512_load_ps(sq + j * 16);
        } else {
            CB_UNROLL for (int j = 0; j < 16; j++)
                r[j] = (size_t)j < m ? _mm512_load_ps(sq + j * 16) : _mm512_setzero_ps();
        }
        tr16(r);
        if (full && m == 16) {
            CB_UNROLL for (int c = 0; c < 16; c++) _mm512_storeu_ps(yq + (size_t)c * ystride, r[c]);
        } else {
            __mmask16 k = lanes(m);
            CB_UNROLL for (int c = 0; c < 16; c++)
                if ((size_t)c < nc) _mm512_mask_storeu_ps(yq + (size_t)c * ystride, k, r[c]);
        }
    }
}

static void cb_scatter(const float *st, size_t nq, size_t nc, float *y, size_t ystride) {
    if (nc == 16)
        cb_scatter_n(st, nq, 16, y, ystride, 1);
    else
        cb_scatter_n(st, nq, nc, y, ystride, 0);
}

/* What the output rows of one band need. */
typedef struct cb_band {
    const ox_dw_cb_geom *g;
    const float *buf, *wt;
    float *stage;
    __m512 bias, lo, hi;
    int clamp;
    size_t row_f;      /* floats per buffer row: BW * 16 */
    size_t orow_f;     /* floats between the first taps of two output rows: sh * row_f */
    size_t col_f;      /* floats between the first taps of two outputs: sw * 16 */
} cb_band;

/* R rows (1 or 2) of U outputs from `in` (the first tap of the first output) into
 * out, position-major, the rows ostride floats apart. With K > 0 every load is a base
 * register plus a constant; K == 0 reads the taps at the offsets g->toff. Two rows
 * share the filter's loads and give short rows enough accumulators to hide the FMA
 * latency. */
CB_AI void cb_tile(const cb_band *b, const float *in, float *out, size_t ostride, int R, int U,
                   int K, int S) {
    __m512 acc[2][OX_DW_CB_UMAX];
    CB_UNROLL for (int i = 0; i < R; i++) CB_UNROLL for (int u = 0; u < U; u++)
        acc[i][u] = b->bias;
    if (K) {
        /* each input of a buffer row is loaded once and feeds every output using it:
         * (U - 1) * S + K loads for U * K FMAs, where one load per FMA would have the
         * load ports limit the FMAs (measured 25-30% slower) */
        CB_UNROLL_K for (int kh = 0; kh < K; kh++) {
            __m512 wv[5];
            CB_UNROLL_K for (int kw = 0; kw < K; kw++)
                wv[kw] = _mm512_load_ps(b->wt + (size_t)(kh * K + kw) * 16);
            CB_UNROLL for (int i = 0; i < R; i++) {
                const float *r = in + (size_t)i * b->orow_f + (size_t)kh * b->row_f;
                CB_UNROLL_J for (int j = 0; j < (U - 1) * S + K; j++) {
                    __m512 v = _mm512_load_ps(r + (size_t)j * 16);
                    /* kept in a register: the compiler would fold the load into each FMA */
                    __asm__("" : "+v"(v));
                    CB_UNROLL_K for (int kw = 0; kw < K; kw++) {
                        int d = j - kw;
                        if (d >= 0 && d % S == 0 && d / S < U)
                            acc[i][d / S] = _mm512_fmadd_ps(wv[kw], v, acc[i][d / S]);
                    }
                }
            }
        }
    } else {
        const size_t *toff = b->g->toff, cf = b->col_f;
        for (size_t t = 0, T = b->g->T; t < T; t++) {
            __m512 wv = _mm512_load_ps(b->wt + t * 16);
            CB_UNROLL for (int i = 0; i < R; i++) {
                const float *s = in + (size_t)i * b->orow_f + toff[t];
                CB_UNROLL for (int u = 0; u < U; u++)
                    acc[i][u] = _mm512_fmadd_ps(wv, _mm512_load_ps(s + (size_t)u * cf), acc[i][u]);
            }
        }
    }
    if (b->clamp) {
        /* max/min return their second operand when either is NaN: Clip's order */
        CB_UNROLL for (int i = 0; i < R; i++) CB_UNROLL for (int u = 0; u < U; u++)
            acc[i][u] = _mm512_min_ps(b->hi, _mm512_max_ps(b->lo, acc[i][u]));
    }
    CB_UNROLL for (int i = 0; i < R; i++) CB_UNROLL for (int u = 0; u < U; u++)
        _mm512_store_ps(out + (size_t)i * ostride + (size_t)u * 16, acc[i][u]);
}

/* Output rows [r0, r1) of the band into stage, run by run; rows in pairs where runs
 * are short (OX_DW_CB_UMAX / 2 at most). */
CB_AI void cb_rows(const cb_band *b, size_t r0, size_t r1, int K, int S) {
    const ox_dw_cb_geom *g = b->g;
    size_t OW = g->p->OW, ostride = OW * 16;
    int pairs = g->U1 <= OX_DW_CB_UMAX / 2;
    for (size_t r = r0; r < r1;) {
        const float *in = b->buf + r * b->orow_f;
        float *out = b->stage + r * ostride;
        int R = pairs && r + 1 < r1 ? 2 : 1;
        size_t ox = 0;
        for (size_t i = 0; i < g->nrun; i++) {
            size_t U = i < g->nlong ? g->U1 : g->U1 - 1;
            const float *s = in + ox * b->col_f;
            float *d = out + ox * 16;
#define CB_CASE(n) \
    case n: cb_tile(b, s, d, ostride, 1, n, K, S); break;
#define CB_CASE2(n) \
    case n: cb_tile(b, s, d, ostride, 2, n, K, S); break;
            if (R == 2) {
                switch (U) {
                    CB_CASE2(1) CB_CASE2(2) CB_CASE2(3) CB_CASE2(4) CB_CASE2(5) CB_CASE2(6)
                    CB_CASE2(7)
                default: break;
                }
            } else {
                switch (U) {
                    CB_CASE(1) CB_CASE(2) CB_CASE(3) CB_CASE(4) CB_CASE(5) CB_CASE(6) CB_CASE(7)
                    CB_CASE(8) CB_CASE(9) CB_CASE(10) CB_CASE(11) CB_CASE(12) CB_CASE(13)
                    CB_CASE(14)
                default: break;
                }
            }
#undef CB_CASE
#undef CB_CASE2
            ox += U;
        }
        r += (size_t)R;
    }
}

typedef void (*cb_rows_fn)(const cb_band *b, size_t r0, size_t r1);
static void cb_rows_gen(const cb_band *b, size_t r0, size_t r1) { cb_rows(b, r0, r1, 0, 1); }
static void cb_rows_31(const cb_band *b, size_t r0, size_t r1) { cb_rows(b, r0, r1, 3, 1); }
static void cb_rows_32(const cb_band *b, size_t r0, size_t r1) { cb_rows(b, r0, r1, 3, 2); }
static void cb_rows_51(const cb_band *b, size_t r0, size_t r1) { cb_rows(b, r0, r1, 5, 1); }
static void cb_rows_52(const cb_band *b, size_t r0, size_t r1) { cb_rows(b, r0, r1, 5, 2); }

static cb_rows_fn cb_pick(const ox_dw_cb_geom *g) {
    if (g->K == 3) return g->S == 1 ? cb_rows_31 : cb_rows_32;
    if (g->K == 5) return g->S == 1 ? cb_rows_51 : cb_rows_52;
    return cb_rows_gen;
}

/* Output rows computed per step of a band: enough positions for a few whole
 * transposes, few enough that a step's input and outputs are still in L1 when they
 * are transposed. */
#define CB_STEP_POSITIONS 256

void ox_dw_cb_avx512(const ox_dw_cb_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                     const float *w, const float *bias, float *y) {
    const ox_dwconv2d *p = g->p;
    size_t IH = p->IH, IW = p->IW, OW = p->OW, in_sp = IH * IW;
    size_t xstride = ox_dw_x_plane(p), ystride = ox_dw_y_plane(p);
    size_t T = g->T, BW = g->BW, pt = p->pad_top, reach = (p->KH - 1) * p->dh + 1;
    cb_band b = {.g = g, .buf = g->buf, .wt = g->wt, .stage = g->stage, .clamp = p->clamp,
                 .row_f = BW * 16, .orow_f = p->sh * BW * 16, .col_f = p->sw * 16};
    b.lo = _mm512_set1_ps(p->lo);
    b.hi = _mm512_set1_ps(p->hi);
    cb_rows_fn rows = cb_pick(g);
    size_t step = (CB_STEP_POSITIONS + OW - 1) / OW;
    step += step % 2; /* whole pairs of rows */
    /* buffer rows [plo, phi) hold input of the last fill; the rest are zero */
    size_t plo = 0, phi = 0;
    for (size_t pi = p0; pi < p1;) {
        size_t ch = pi % C, nc = 16 - ch % 16;
        if (nc > C - ch) nc = C - ch;
        if (nc > p1 - pi) nc = p1 - pi;
        cb_gather(w + ch * T, T, nc, T, g->wt, NULL);
        b.bias = bias ? _mm512_maskz_loadu_ps(lanes(nc), bias + ch) : _mm512_setzero_ps();
        for (size_t oy0 = 0; oy0 < p->OH; oy0 += g->band) {
            size_t nb = p->OH - oy0 < g->band ? p->OH - oy0 : g->band;
            /* padded rows [R0, R0 + BR) are read: input rows [ylo, yhi) of them */
            size_t R0 = oy0 * p->sh, BR = (nb - 1) * p->sh + reach;
            size_t ylo = R0 > pt ? R0 - pt : 0, yhi = R0 + BR > pt ? R0 + BR - pt : 0;
            if (yhi > IH) yhi = IH;
            size_t rlo = 0, rhi = 0;
            if (ylo < yhi && in_sp) rlo = ylo + pt - R0, rhi = rlo + (yhi - ylo);
            for (size_t r = plo; r < phi; r++)
                if (r < rlo || r >= rhi) memset(g->buf + r * BW * 16, 0, BW * 16 * sizeof(float));
            plo = rlo, phi = rhi;
            const float *xs = rhi > rlo ? x + pi * xstride + ylo * IW : NULL;
            float *ys = y + pi * ystride + oy0 * OW, *bd = g->buf + rlo * BW * 16;
            /* the input is transposed in just before the rows that read it, outputs
             * out as soon as they make whole transposes */
            size_t fin = 0, nin = (rhi - rlo) * IW, qout = 0, nq = nb * OW;
            for (size_t r0 = 0; r0 < nb; r0 += step) {
                size_t r1 = r0 + step < nb ? r0 + step : nb;
                size_t rows_in = (r1 - 1) * p->sh + reach; /* buffer rows read */
                size_t need = rows_in > rlo ? (rows_in - rlo) * IW : 0;
                if (need > nin || r1 == nb) need = nin;
                if (need > fin) {
                    size_t end = (need + 15) & ~(size_t)15;
                    if (end > nin) end = nin;
                    cb_gather(xs + fin, xstride, nc, end - fin, bd, g->dst + fin);
                    fin = end;
                }
                rows(&b, r0, r1);
                size_t qend = r1 == nb ? nq : r1 * OW / 16 * 16;
                if (qend > qout) {
                    float *st = g->stage + qout * 16;
                    /* post is element-wise: it may see the block's positions interleaved */
                    if (p->post) p->post(st, (qend - qout) * 16, p->post_ctx);
                    cb_scatter(st, qend - qout, nc, ys + qout, ystride);
                    qout = qend;
                }
            }
        }
        pi += nc;
    }
}

#endif
