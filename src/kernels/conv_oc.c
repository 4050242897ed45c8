/* Conv with output channels in the vector lanes: packing, padding, planning and the
 * choice of instruction set. Only AVX-512 has the kernel; elsewhere the callers keep
 * to the GEMM paths (ox_conv_oc_supported says which). */
#include "kernels/conv_oc.h"

#include <stdint.h>
#include <string.h>

#include "kernels/conv_oc_kernel.h"
#include "kernels/cpu.h"
#include "kernels/filter_blocks.h"

/* Output positions per item at most: a strip's partial sums for them (64 floats each)
 * stay in L1 between chunks. With one chunk there are no partial sums, and taller
 * items copy fewer halo rows twice (a 3x3 on 55x55: bands of 4 rows, not 2, copy
 * 1.5 input rows per output row, not 2; squeezenet1_1 0.7% faster at 1 thread, 1.9%
 * at 2; 512 gained nothing more). */
#define ITEM_POS 128
#define ITEM_POS_ONE_CHUNK 256
/* Taps per chunk at most: each chunk is summed on its own and then added to the
 * others (blocked summation, as the GEMM's depth blocks do), which bounds the
 * rounding of long sums; its weights (64 KB) stay in L2 while every row of the
 * item reads them. Sums of up to ONE_CHUNK_TAPS taps go in one chunk: partial sums
 * through memory cost the 3x3 layers of 32 to 64 input channels 4% (squeezenet1_1's
 * expands; 1.5% of the model), and a sum that long rounds within the Conv tests'
 * bounds, where 2304 taps in chunks of 576 did not. */
#define CHUNK_TAPS 256
#define ONE_CHUNK_TAPS 640
/* Items per thread at least, where rows allow (ox_conv_oc.threads). */
#define ITEMS_PER_THREAD 4
/* Bytes of packed filters that stay in L2 beside a band's input rows. */
#define FILTERS_IN_L2 (384 * 1024)

/* The rows and columns of input the outputs' taps span, padding included. */
static size_t padded_rows(const ox_conv_oc *p) {
    return (p->OH - 1) * p->sh + (p->KH - 1) * p->dh + 1;
}
static size_t padded_cols(const ox_conv_oc *p) {
    return (p->OW - 1) * p->sw + (p->KW - 1) * p->dw + 1;
}

/* Whether the taps of every output stay inside the input and it is not scaled: it is
 * read in place. */
static int in_place(const ox_conv_oc *p) {
    return p->pad_top == 0 && p->pad_left == 0 && padded_rows(p) <= p->IH &&
           padded_cols(p) <= p->IW && !p->scale;
}

int ox_conv_oc_supported(const ox_conv_oc *p) {
#if defined(__x86_64__) || defined(__i386__)
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return 0;
    if (!p->C || !p->M || !p->OH || !p->OW || !p->KH || !p->KW || !p->dh || !p->dw) return 0;
    if ((p->sh != 1 && p->sh != 2) || (p->sw != 1 && p->sw != 2)) return 0;
    /* tap offsets are 32-bit */
    const size_t lim = (size_t)1 << 30;
    if (p->KH > lim || p->KW > lim || p->dh > lim || p->dw > lim || p->OH > lim || p->OW > lim ||
        p->IH > lim || p->IW > lim)
        return 0;
    size_t rows = in_place(p) ? p->IH : padded_rows(p), cols = in_place(p) ? p->IW : padded_cols(p);
    if (rows > lim / cols || p->C > lim / (rows * cols)) return 0;
    return 1;
#else
    (void)p;
    return 0;
#endif
}

size_t ox_conv_oc_packed_floats(size_t M, size_t K) {
    return ox_filter_blocks_floats(M, K, OX_OC_NR);
}

void ox_conv_oc_pack(const float *w, size_t M, size_t K, float *dst) {
    ox_filter_blocks_pack(w, M, K, OX_OC_NR, dst);
}

void ox_conv_oc_pad_band(const ox_oc_geom *g, const float *x, size_t r0, size_t r1, float *dst) {
    const ox_conv_oc *p = g->p;
    size_t PW = g->XW;
    /* input columns [0, n) land at padded columns [pl, pl + n) */
    size_t pl = p->pad_left < PW ? p->pad_left : PW;
    size_t n = PW - pl < p->IW ? PW - pl : p->IW;
    /* padded rows [first, first + rows) */
    size_t first = r0 * p->sh, rows = (r1 - r0 - 1) * p->sh + (p->KH - 1) * p->dh + 1;
    if (PW == p->IW && p->pad_left == 0 && first >= p->pad_top &&
        first + rows - p->pad_top <= p->IH) {
        /* no padding in these rows (a scaled copy): whole planes' runs at once */
        size_t len = rows * PW;
        for (size_t c = 0; c < p->C; c++) {
            const float *s = x + c * p->IH * p->IW + (first - p->pad_top) * p->IW;
            float *d = dst + c * g->XS, k = p->scale ? p->scale[c] : 1.0f;
            for (size_t j = 0; j < len; j++) d[j] = s[j] * k;
        }
        return;
    }
    for (size_t c = 0; c < p->C; c++) {
        float *d = dst + c * g->XS;
        const float *s = x + c * p->IH * p->IW;
        for (size_t r = first; r < first + rows; r++, d += PW) {
            size_t ir = r - p->pad_top; /* wraps when r < pad_top */
            if (r < p->pad_top || ir >= p->IH) {
                memset(d, 0, PW * sizeof *d);
                continue;
            }
            memset(d, 0, pl * sizeof *d);
            if (p->scale) {
                float k = p->scale[c];
                for (size_t j = 0; j < n; j++) d[pl + j] = s[ir * p->IW + j] * k;
            } else {
                memcpy(d + pl, s + ir * p->IW, n * sizeof *d);
            }
            memset(d + pl + n, 0, (PW - pl - n) * sizeof *d);
        }
    }
}

static void plan(const ox_conv_oc *p, ox_oc_geom *g) {
    memset(g, 0, sizeof *g);
    g->p = p;
    g->K = p->C * p->KH * p->KW;
    size_t pos = g->K <= ONE_CHUNK_TAPS ? ITEM_POS_ONE_CHUNK : ITEM_POS;
    g->rows = pos / p->OW ? pos / p->OW : 1;
    if (g->rows > p->OH) g->rows = p->OH;
    g->bands = (p->OH + g->rows - 1) / g->rows;
    g->strips = (p->M + OX_OC_NR - 1) / OX_OC_NR;
    /* a few items per thread: 3 strips of a 7x7 map in one band each left one of two
     * threads 96 channels and the other 64 */
    if (p->threads > 1 && g->strips * g->bands < ITEMS_PER_THREAD * p->threads) {
        size_t want = (ITEMS_PER_THREAD * p->threads + g->strips - 1) / g->strips;
        if (want > p->OH) want = p->OH;
        g->rows = (p->OH + want - 1) / want;
        g->bands = (p->OH + g->rows - 1) / g->rows;
    }
    g->band_major = g->strips * g->K * OX_OC_NR * sizeof(float) <= FILTERS_IN_L2;
    if (in_place(p)) {
        g->XW = p->IW;
        g->XS = p->IH * p->IW;
    } else {
        /* a copy per item, by the thread that reads it: a copy of the whole input
         * made by all threads would have each read the others' rows, which where
         * cores share no cache costs more than copying */
        g->padded = 1;
        g->XW = padded_cols(p);
        g->XS = ((g->rows - 1) * p->sh + (p->KH - 1) * p->dh + 1) * g->XW;
    }
    size_t chunks = g->K <= ONE_CHUNK_TAPS ? 1 : (g->K + CHUNK_TAPS - 1) / CHUNK_TAPS;
    g->kc = (g->K + chunks - 1) / chunks;
}

size_t ox_conv_oc_items(const ox_conv_oc *p) {
    ox_oc_geom g;
    plan(p, &g);
    return g.strips * g.bands;
}

int ox_conv_oc_f32(const ox_conv_oc *p, size_t i0, size_t i1, const float *x, const float *wp,
                   const float *bias, const float *res, float *y) {
    ox_oc_geom g;
    plan(p, &g);
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA))
        return ox_oc_items_avx512(&g, i0, i1, x, wp, bias, res, y);
#endif
    (void)i0, (void)i1, (void)x, (void)wp, (void)bias, (void)res, (void)y;
    return 0;
}
