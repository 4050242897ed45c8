/* Conv with output channels in the vector lanes, AVX-512: a tile is up to 7 output
 * positions of one row x one strip of 64 output channels, 28 accumulators (a last
 * strip of fewer channels computes only the vectors that hold some). Per tap
 * 4 weight vectors and up to 7 broadcast inputs feed 28 FMAs. The finished tile is
 * transposed in registers (8 positions x 16 channels at a time) and written to the
 * channels' rows with masked stores. conv_oc.c calls it only when kernels/cpu.h
 * reports AVX-512 (F, DQ, VL, BW) with AVX2 and FMA. */
#include "kernels/conv_oc_kernel.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdint.h>

#include "kernels/x86/oc_avx512.h"
#include "util/scratch.h"

/* Scratch for the padded bands of strip-order items at most (more when one band is
 * larger): a wide map of many channels would otherwise keep several times its input
 * in each thread's scratch. */
#define OC_COPIES_BYTES ((size_t)4 << 20)

/* What a tile needs besides its position. */
typedef struct oc_tile {
    const ox_oc_geom *g;
    const int32_t *koff; /* tap t reads the input at koff[t] from the position's origin */
    const float *w;      /* the strip's packed weights */
    const float *x;      /* the input, or the padded copy of the item's rows */
    size_t row0;         /* the output row whose taps start at x's first row */
    const float *bias;   /* the strip's 64 biases (zero past M), or NULL */
    const float *res;    /* the strip's first channel of the residual, or NULL */
    float *y;            /* the strip's first output channel */
    float *part;         /* partial sums of the item's positions, 64 floats each */
    size_t mvalid;       /* channels of the strip that exist */
    size_t k0, k1;       /* this chunk's taps */
    int first, last;     /* the chunk is the first / last */
    /* weights the tile prefetches into L2, a line per tap: its share of the next
     * chunk's (pf_lines lines from pf), so that their trip from memory overlaps this
     * chunk's arithmetic (a chunk's first tile would otherwise wait for all of them) */
    const char *pf;
    size_t pf_lines;
} oc_tile;

/* RC positions from (oy, ox) of the output, their partial sums at part + q * 64.
 * SW is the column stride; the row stride and dilations are in the origin and koff.
 * NV: the strip's vectors of 16 channels that hold real ones (a last strip of 16, 32
 * or 48 channels computes only those). */
OC_AI void oc_run_tile(const oc_tile *t, size_t oy, size_t ox, size_t q, int RC, int SW,
                       int NV) {
    const ox_oc_geom *g = t->g;
    const ox_conv_oc *p = g->p;
    /* each chunk sums from zero and then adds what came before (the bias, or the
     * earlier chunks): blocked summation, which rounds less than one long sum */
    const __m512 zero = _mm512_setzero_ps();
    OC_ACCS
    const float *origin = t->x + (oy - t->row0) * p->sh * g->XW + ox * (size_t)SW;
    const float *w = t->w + t->k0 * OX_OC_NR;
    const int32_t *koff = t->koff;
    const char *pf = t->pf;
    size_t pf_lines = t->pf_lines;
    for (size_t k = t->k0; k < t->k1; k++, w += OX_OC_NR) {
        if (pf_lines) {
            _mm_prefetch(pf, _MM_HINT_T1);
            pf += 64;
            pf_lines--;
        }
        const float *a = origin + koff[k];
        __m512 b0 = _mm512_loadu_ps(w);
        __m512 b1 = NV > 1 ? _mm512_loadu_ps(w + 16) : zero;
        __m512 b2 = NV > 2 ? _mm512_loadu_ps(w + 32) : zero;
        OC_TAP(a, SW)
    }
    OC_ACC_ARRAY(acc);
    if (t->first) {
        OC_UNROLL for (int v = 0; v < NV; v++) {
            __m512 b = t->bias ? _mm512_loadu_ps(t->bias + 16 * v) : _mm512_setzero_ps();
            OC_UNROLL for (int r = 0; r < RC; r++) acc[r][v] = _mm512_add_ps(acc[r][v], b);
        }
    } else {
        OC_UNROLL for (int r = 0; r < RC; r++)
            OC_UNROLL for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_add_ps(
                    acc[r][v], _mm512_load_ps(t->part + (q + (size_t)r) * OX_OC_NR + 16 * v));
    }
    if (!t->last) {
        OC_UNROLL for (int r = 0; r < RC; r++)
            OC_UNROLL for (int v = 0; v < NV; v++)
                _mm512_store_ps(t->part + (q + (size_t)r) * OX_OC_NR + 16 * v, acc[r][v]);
        return;
    }
    /* transposed: channel j's RC outputs are consecutive in its row of y */
    size_t P = p->OH * p->OW, at = oy * p->OW + ox;
    __mmask8 m = (__mmask8)((1u << RC) - 1u);
    __m256 lo = _mm256_set1_ps(p->lo), hi = _mm256_set1_ps(p->hi);
    OC_UNROLL for (int v = 0; v < NV; v++) {
        if ((size_t)v * 16 >= t->mvalid) break;
        __m512 rows[8];
        OC_UNROLL for (int r = 0; r < 8; r++) rows[r] = r < RC ? acc[r][v] : _mm512_setzero_ps();
        __m256 col[16];
        tr8x16(rows, col);
        size_t n = t->mvalid - (size_t)v * 16 < 16 ? t->mvalid - (size_t)v * 16 : 16;
        for (size_t j = 0; j < n; j++) {
            size_t off = ((size_t)v * 16 + j) * P + at;
            __m256 o = col[j];
            if (t->res) o = _mm256_add_ps(o, _mm256_maskz_loadu_ps(m, t->res + off));
            /* max/min return their second operand when either is NaN: Clip's order */
            if (p->clamp) o = _mm256_min_ps(hi, _mm256_max_ps(lo, o));
            _mm256_mask_storeu_ps(t->y + off, m, o);
        }
    }
}

#define OC_TILE(RC, SW, NV)                                                                     \
    static void oc_tile_##RC##_##SW##_##NV(const oc_tile *t, size_t oy, size_t ox, size_t q) { \
        oc_run_tile(t, oy, ox, q, RC, SW, NV);                                                  \
    }
#define OC_TILES(SW, NV) OC_TILE(1, SW, NV) OC_TILE(2, SW, NV) OC_TILE(3, SW, NV) \
    OC_TILE(4, SW, NV) OC_TILE(5, SW, NV) OC_TILE(6, SW, NV) OC_TILE(7, SW, NV)
OC_TILES(1, 1) OC_TILES(1, 2) OC_TILES(1, 3) OC_TILES(1, 4)
OC_TILES(2, 1) OC_TILES(2, 2) OC_TILES(2, 3) OC_TILES(2, 4)
#undef OC_TILES
#undef OC_TILE

typedef void (*oc_tile_fn)(const oc_tile *t, size_t oy, size_t ox, size_t q);
#define OC_ROW_FNS(SW, NV)                                                                      \
    {oc_tile_1_##SW##_##NV, oc_tile_2_##SW##_##NV, oc_tile_3_##SW##_##NV, oc_tile_4_##SW##_##NV, \
     oc_tile_5_##SW##_##NV, oc_tile_6_##SW##_##NV, oc_tile_7_##SW##_##NV}
/* [column stride - 1][vectors - 1][positions - 1] */
static const oc_tile_fn oc_tiles[2][4][OX_OC_RC] = {
    {OC_ROW_FNS(1, 1), OC_ROW_FNS(1, 2), OC_ROW_FNS(1, 3), OC_ROW_FNS(1, 4)},
    {OC_ROW_FNS(2, 1), OC_ROW_FNS(2, 2), OC_ROW_FNS(2, 3), OC_ROW_FNS(2, 4)},
};
#undef OC_ROW_FNS

int ox_oc_items_avx512(const ox_oc_geom *g, size_t i0, size_t i1, const float *x,
                       const float *wp, const float *bias, const float *res, float *y) {
    const ox_conv_oc *p = g->p;
    size_t K = g->K, P = p->OH * p->OW, npos = g->rows * p->OW;
    size_t koff_bytes = (K * sizeof(int32_t) + 63) & ~(size_t)63;
    int chunked = g->kc < K;
    size_t part_bytes = chunked ? npos * OX_OC_NR * sizeof(float) : 0;
    /* the padded rows of a band: one copy at a time in band order (a band's strips
     * follow each other), one per band in strip order (each band serves every strip
     * this call takes) up to OC_COPIES_BYTES, made when first needed (a band whose
     * slot another band took is made again) */
    size_t copy_floats = p->C * g->XS, copies = 0;
    if (g->padded) {
        size_t fit = OC_COPIES_BYTES / (copy_floats * sizeof(float));
        copies = g->band_major ? 1 : g->bands < fit ? g->bands : fit ? fit : 1;
    }
    size_t held_bytes = (copies * sizeof(size_t) + 63) & ~(size_t)63;
    size_t bias_bytes = OX_OC_NR * sizeof(float); /* a multiple of 64: copies stay aligned */
    int kept;
    char *buf = ox_scratch_tagged(3, koff_bytes + part_bytes + bias_bytes + held_bytes +
                                         copies * copy_floats * sizeof(float),
                                  p->tag, &kept);
    if (!buf) return 0;
    int32_t *koff = (int32_t *)(void *)buf;
    float *part = (float *)(void *)(buf + koff_bytes);
    float *bstrip = (float *)(void *)(buf + koff_bytes + part_bytes); /* a tail strip's biases */
    size_t *held = (size_t *)(void *)(buf + koff_bytes + part_bytes + bias_bytes);
    float *copy = (float *)(void *)(buf + koff_bytes + part_bytes + bias_bytes + held_bytes);
    /* the tap offsets and the copies this thread made in an earlier call for the
     * same image, or none */
    if (!kept) {
        for (size_t c = 0; c < copies; c++) held[c] = SIZE_MAX; /* the band each copy holds */
        for (size_t c = 0, k = 0; c < p->C; c++)
            for (size_t kh = 0; kh < p->KH; kh++)
                for (size_t kw = 0; kw < p->KW; kw++)
                    koff[k++] = (int32_t)(c * g->XS + kh * p->dh * g->XW + kw * p->dw);
    }
    for (size_t i = i0; i < i1; i++) {
        size_t s = ox_oc_item_strip(g, i), b = ox_oc_item_band(g, i), r0 = b * g->rows;
        size_t r1 = r0 + g->rows < p->OH ? r0 + g->rows : p->OH;
        size_t ntiles = (r1 - r0) * ((p->OW + OX_OC_RC - 1) / OX_OC_RC);
        size_t m0 = s * OX_OC_NR, mvalid = p->M - m0 < OX_OC_NR ? p->M - m0 : OX_OC_NR;
        const oc_tile_fn *tiles = oc_tiles[p->sw - 1][(mvalid + 15) / 16 - 1];
        oc_tile t = {.g = g, .koff = koff, .w = wp + s * K * OX_OC_NR, .x = x,
                     .res = res ? res + m0 * P : NULL, .y = y + m0 * P, .part = part,
                     .mvalid = mvalid};
        if (g->padded) {
            size_t c = b % copies;
            if (held[c] != b) {
                ox_conv_oc_pad_band(g, x, r0, r1, copy + c * copy_floats);
                held[c] = b;
            }
            t.x = copy + c * copy_floats;
            t.row0 = r0;
        }
        if (bias && mvalid == OX_OC_NR) {
            t.bias = bias + m0;
        } else if (bias) {
            for (size_t m = 0; m < OX_OC_NR; m++) bstrip[m] = m < mvalid ? bias[m0 + m] : 0.0f;
            t.bias = bstrip;
        }
        for (size_t k0 = 0; k0 < K; k0 += g->kc) {
            t.k0 = k0;
            t.k1 = k0 + g->kc < K ? k0 + g->kc : K;
            t.first = k0 == 0;
            t.last = t.k1 == K;
            /* the next chunk's weights: this strip's, or the next item's first (in
             * band order all the filters stay in L2: nothing to fetch) */
            const float *next = NULL;
            size_t next_floats = 0;
            if (!t.last) {
                next = t.w + t.k1 * OX_OC_NR;
                next_floats = (t.k1 + g->kc < K ? g->kc : K - t.k1) * OX_OC_NR;
            } else if (!g->band_major && i + 1 < i1 && ox_oc_item_strip(g, i + 1) != s) {
                next = wp + ox_oc_item_strip(g, i + 1) * K * OX_OC_NR;
                next_floats = (g->kc < K ? g->kc : K) * OX_OC_NR;
            }
            /* in 64-byte lines: a tap's 64 weights are 4 whole lines */
            size_t lines = next_floats * sizeof(float) / 64, share = (lines + ntiles - 1) / ntiles;
            const char *pf = (const char *)next;
            for (size_t oy = r0, q = 0; oy < r1; oy++)
                for (size_t ox = 0; ox < p->OW; ox += OX_OC_RC) {
                    size_t rc = p->OW - ox < OX_OC_RC ? p->OW - ox : OX_OC_RC;
                    t.pf = pf;
                    t.pf_lines = lines < share ? lines : share;
                    lines -= t.pf_lines;
                    if (t.pf_lines) pf += t.pf_lines * 64;
                    tiles[rc - 1](&t, oy, ox, q);
                    q += rc;
                }
        }
        if (p->post)
            for (size_t m = 0; m < mvalid; m++)
                p->post(t.y + m * P + r0 * p->OW, (r1 - r0) * p->OW, p->post_ctx);
    }
    return 1;
}

#endif
