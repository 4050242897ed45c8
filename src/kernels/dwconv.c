/* Depthwise 2-D convolution: planning, the choice of instruction set, the portable
 * vector code (GNU vector types) and the direct loops used when no buffer can be had
 * or the geometry is extreme (large strides, a plane buffer of many megabytes). */
#include "kernels/dwconv.h"

#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/gen_vec4.h"
#include "kernels/dwconv_kernel.h"
#include "util/scratch.h"

/* ---- the portable vector path --------------------------------------------------- */

typedef gen_vec4 dw_vec;
typedef gen_ivec4 dw_ivec;
#define DW_V 4

#define DW_LOAD(p) gen_load(p)
#define DW_STORE(p, v) gen_store(p, v)
#define DW_LOADN(p, n) gen_loadn(p, n)
#define DW_STOREN(p, v, n) gen_storen(p, v, n)
#define DW_SET1(x) gen_set1(x)
#define DW_ZERO() gen_set1(0.0f)
#define DW_FMA(a, b, c) ((a) * (b) + (c))
#define DW_CLAMP(v, lo, hi) gen_clamp(v, lo, hi)
#define DW_NAME(x) x##_generic
#include "kernels/dwconv_body.h"

/* ---- direct loops ------------------------------------------------------------------ */

/* Taps k in [*lo, *hi) of a window starting at `start` (stride-free: one output)
 * with dilation d that land in [0, in). */
static void tap_span(int64_t start, int64_t d, int64_t k, int64_t in, int64_t *lo, int64_t *hi) {
    *lo = start >= 0 ? 0 : (-start + d - 1) / d;
    *hi = start >= in ? 0 : (in - 1 - start) / d + 1;
    if (*hi > k) *hi = k;
    if (*lo > *hi) *lo = *hi;
}

static void clamp_row(float *y, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) {
        float v = y[i] < lo ? lo : y[i];
        y[i] = v > hi ? hi : v;
    }
}

void ox_dwconv2d_f32_direct(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1,
                            const float *x, const float *w, const float *bias, float *y) {
    if (!C) return;
    int64_t IH = (int64_t)p->IH, IW = (int64_t)p->IW, KH = (int64_t)p->KH, KW = (int64_t)p->KW;
    int64_t dh = (int64_t)p->dh, dw = (int64_t)p->dw;
    size_t in_sp = p->IH * p->IW, out_sp = p->OH * p->OW;
    size_t xs = ox_dw_x_plane(p), ys = ox_dw_y_plane(p);
    for (size_t pi = p0; pi < p1; pi++) {
        size_t ch = pi % C;
        const float *xp = in_sp ? x + pi * xs : NULL, *f = w + ch * p->KH * p->KW;
        float *yp = y + pi * ys;
        float b = bias ? bias[ch] : 0.0f;
        for (size_t oy = 0; oy < p->OH; oy++) {
            int64_t y0, y1, sy = (int64_t)(oy * p->sh) - (int64_t)p->pad_top;
            tap_span(sy, dh, KH, IH, &y0, &y1);
            for (size_t ox = 0; ox < p->OW; ox++) {
                int64_t x0, x1, sx = (int64_t)(ox * p->sw) - (int64_t)p->pad_left;
                tap_span(sx, dw, KW, IW, &x0, &x1);
                float s = b;
                for (int64_t kh = y0; kh < y1; kh++) {
                    int64_t row = (sy + kh * dh) * IW + sx;
                    for (int64_t kw = x0; kw < x1; kw++) s += f[kh * KW + kw] * xp[row + kw * dw];
                }
                yp[oy * p->OW + ox] = s;
            }
        }
        if (p->clamp) clamp_row(yp, out_sp, p->lo, p->hi);
        if (p->post && out_sp) p->post(yp, out_sp, p->post_ctx);
    }
}

/* ---- planning ------------------------------------------------------------------------ */

/* Floats in all phase planes at most; beyond, the direct loops run (only extreme
 * dilations or pads get there: the planes hold about one band of padded input). */
#define PLANES_MAX ((size_t)1 << 22)
/* Floats of plane per band aimed at: the band's input stays in L1/L2 while its
 * taps are read. */
#define BAND_FLOATS 8192

static size_t mul_sat(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }
static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* The path for this processor and what it can do. */
typedef struct dw_path {
    ox_dw_planes_fn run;
    const char *name;
    size_t V;     /* floats per vector */
    int aligned;  /* has the aligned 3x3 / 5x5 filters (ox_dw_geom.aligned) */
    int compress; /* packs flat runs straight into y (ox_dw_geom.cmask) */
} dw_path;

static dw_path pick(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA))
        return (dw_path){ox_dw_planes_avx512, "avx512", 16, 1, 1};
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) return (dw_path){ox_dw_planes_avx2, "avx2", 8, 0, 0};
#endif
    return (dw_path){ox_dw_planes_generic, "generic", 4, 0, 0};
}

const char *ox_dwconv2d_kernel_name(void) { return pick().name; }

/* ---- the channel-block path (AVX-512) ------------------------------------------------ */

/* Bytes of input buffer and staged outputs per band aimed at (measured: smaller bands
 * cost more in halo rows and calls than they gain in cache; both stay in L2). */
#define CB_BAND_BYTES ((size_t)192 << 10)
/* Beyond this for a band of one output row, the plane path runs. */
#define CB_MAX_BYTES ((size_t)1 << 20)

static size_t round64(size_t n) { return add_sat(n, 63) & ~(size_t)63; }

/* Plans and runs the channel-block path; 0, having done nothing, where it cannot. */
static int cb_run(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1, const float *x,
                  const float *w, const float *bias, float *y) {
#if defined(__x86_64__) || defined(__i386__)
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return 0;
    ox_dw_cb_geom g = {.p = p};
    size_t OH = p->OH, OW = p->OW, in_sp = p->IH * p->IW;
    size_t need = add_sat(add_sat(mul_sat(OW - 1, p->sw), mul_sat(p->KW - 1, p->dw)), 1);
    /* every input column gets a place, read or not: the transposes need no test */
    size_t span = add_sat(p->pad_left, p->IW);
    g.BW = need > span ? need : span;
    size_t brmin = add_sat(mul_sat(p->KH - 1, p->dh), 1);
    g.T = mul_sat(p->KH, p->KW);
    /* positions of a band of one output row, and of each further row */
    size_t one = add_sat(add_sat(mul_sat(brmin, g.BW), OW), g.T);
    if (one > CB_MAX_BYTES / 64) return 0;
    size_t more = add_sat(mul_sat(p->sh, g.BW), OW), aim = CB_BAND_BYTES / 64;
    size_t nb = one < aim ? (aim - one) / more + 1 : 1;
    if (nb > OH) nb = OH;
    size_t nbands = (OH + nb - 1) / nb;
    g.band = (OH + nbands - 1) / nbands;
    /* nb rows take at most `aim` positions (or are one row, within the limit) */
    size_t brmax = (g.band - 1) * p->sh + brmin;
    if (p->KH == p->KW && (p->KH == 3 || p->KH == 5) && p->sh == p->sw && p->sh <= 2 &&
        p->dh == 1 && p->dw == 1)
        g.K = (int)p->KH, g.S = (int)p->sh;
    g.nrun = (OW + OX_DW_CB_UMAX - 1) / OX_DW_CB_UMAX;
    g.U1 = (OW + g.nrun - 1) / g.nrun;
    g.nlong = OW - g.nrun * (g.U1 - 1);
    size_t in_rows = in_sp ? (p->IH < brmax ? p->IH : brmax) : 0, ndst = in_rows * p->IW;
    size_t buf_b = brmax * g.BW * 64, stage_b = g.band * OW * 64, wt_b = g.T * 64;
    size_t toff_b = round64(g.T * sizeof(size_t)), dst_b = round64(ndst * sizeof(uint32_t));
    char *s = ox_scratch(2, buf_b + stage_b + wt_b + toff_b + dst_b);
    if (!s) return 0;
    g.buf = (float *)(void *)s;
    g.stage = (float *)(void *)(s + buf_b);
    g.wt = (float *)(void *)(s + buf_b + stage_b);
    size_t *toff = (size_t *)(void *)(s + buf_b + stage_b + wt_b);
    uint32_t *dst = (uint32_t *)(void *)(s + buf_b + stage_b + wt_b + toff_b);
    for (size_t kh = 0; kh < p->KH; kh++)
        for (size_t kw = 0; kw < p->KW; kw++)
            toff[kh * p->KW + kw] = (kh * p->dh * g.BW + kw * p->dw) * 16;
    for (size_t r = 0, f = 0; r < in_rows; r++)
        for (size_t c = 0; c < p->IW; c++) dst[f++] = (uint32_t)(r * g.BW + p->pad_left + c);
    g.toff = toff;
    g.dst = dst;
    memset(g.buf, 0, buf_b);
    ox_dw_cb_avx512(&g, C, p0, p1, x, w, bias, y);
    return 1;
#else
    (void)p, (void)C, (void)p0, (void)p1, (void)x, (void)w, (void)bias, (void)y;
    return 0;
#endif
}

/* Whether ox_dwconv2d_f32 takes the channel-block path for this geometry. */
static int cb_wins(const ox_dwconv2d *p, size_t C) {
#if defined(__x86_64__) || defined(__i386__)
    if (!ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return 0;
    /* Measured on Zen 5, 1 thread (bench/dwconv_bench.c): blocks win 1.4-6x on
     * planes up to 28x28, 1.3-2.5x with stride 2 on larger ones (a tie at 112x112
     * with under 100 channels), from 8 channels on; with fewer channels a block pays
     * for 16 lanes it does not use. With stride 1 on larger planes the plane path
     * has little per-plane overhead left to lose, while blocks pay for the staging
     * pass and read 16 planes at once: there they tie at 56x56 with 3x3 and lose up
     * to 20% at 112x112 with 3x3 and 5x5 (the channel counts networks have there),
     * and win with larger filters. */
    if (C < 8) return 0;
    size_t T = p->KH * p->KW;
    int unit = p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && T >= 9 && T <= 25;
    return !(unit && p->OH * p->OW >= (T <= 9 ? 56 * 56 : 56 * 56 + 1));
#else
    (void)p, (void)C;
    return 0;
#endif
}

size_t ox_dwconv2d_block(const ox_dwconv2d *p, size_t C) { return cb_wins(p, C) ? 16 : 1; }

int ox_dwconv2d_f32_blocks(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1,
                           const float *x, const float *w, const float *bias, float *y) {
    if (p0 >= p1 || !C || !p->OH || !p->OW) return 1;
    return cb_run(p, C, p0, p1, x, w, bias, y);
}

void ox_dwconv2d_f32(const ox_dwconv2d *p, size_t C, size_t p0, size_t p1, const float *x,
                     const float *w, const float *bias, float *y) {
    if (p0 >= p1 || !C || !p->OH || !p->OW) return;
    if (cb_wins(p, C) && cb_run(p, C, p0, p1, x, w, bias, y)) return;
    ox_dw_geom g = {.p = p};
    /* used_a / used_b are bit sets: strides above 8 go to the direct loops */
    if (p->sh > 8 || p->sw > 8) {
        ox_dwconv2d_f32_direct(p, C, p0, p1, x, w, bias, y);
        return;
    }
    dw_path path = pick();
    size_t V = path.V;
    g.rowoff = mul_sat(p->KH - 1, p->dh) / p->sh;
    g.coloff = mul_sat(p->KW - 1, p->dw) / p->sw;
    g.PW = add_sat(p->OW, g.coloff);
    /* aligned rows for the common filters, unless that widens them by over 1/8 */
    int common = (p->KH == 3 || p->KH == 5) && p->KW == p->KH && p->sh <= 2 && p->sw == p->sh &&
                 p->dh == 1 && p->dw == 1;
    if (path.aligned && common) {
        size_t pa = (g.PW + V - 1) / V * V;
        if (pa * 8 <= g.PW * 9) g.PW = pa, g.aligned = V;
    }
    /* rows of under four vectors, or wasting over a fifth of their lanes, run flat */
    size_t nv = (p->OW + V - 1) / V;
    g.flat = nv < 4 || mul_sat(nv * V, 4) > mul_sat(g.PW, 5);
    size_t nplanes = p->sh * p->sw;
    size_t per_row = mul_sat(nplanes, g.PW);
    size_t rows = BAND_FLOATS / (per_row ? per_row : 1);
    g.band = rows > g.rowoff + 4 ? rows - g.rowoff : 4;
    if (g.band > p->OH) g.band = p->OH;
    g.PS = add_sat(mul_sat(add_sat(g.band, g.rowoff), g.PW), add_sat(g.coloff, OX_DW_SLACK));
    g.PS = add_sat(g.PS, 15) & ~(size_t)15;
    size_t plane_floats = mul_sat(nplanes, g.PS);
    g.T = mul_sat(p->KH, p->KW);
    if (plane_floats > PLANES_MAX || g.T > PLANES_MAX) {
        ox_dwconv2d_f32_direct(p, C, p0, p1, x, w, bias, y);
        return;
    }
    size_t tmp_floats = g.band * g.PW + OX_DW_VMAX;
    size_t toff_bytes = (g.T * sizeof(size_t) + 63) & ~(size_t)63;
    int compress = path.compress && g.flat;
    size_t nf = (g.band * g.PW + V - 1) / V; /* vectors of a flat band */
    size_t table_bytes = compress ? nf * sizeof(uint16_t) + (nf + 1) * sizeof(uint32_t) + 8 : 0;
    char *buf = ox_scratch(2, (plane_floats + tmp_floats) * sizeof(float) + toff_bytes +
                                  table_bytes);
    if (!buf) {
        ox_dwconv2d_f32_direct(p, C, p0, p1, x, w, bias, y);
        return;
    }
    size_t *toff = (size_t *)(void *)buf;
    g.planes = (float *)(void *)(buf + toff_bytes);
    g.tmp = g.planes + plane_floats;
    g.toff = toff;
    if (compress) {
        /* lane l of vector k is flat position k*V + l: output column col of row row,
         * kept when col < OW */
        uint32_t *cpos = (uint32_t *)(void *)(g.tmp + tmp_floats);
        uint16_t *cmask = (uint16_t *)(void *)(cpos + nf + 1);
        size_t row = 0, col = 0;
        cpos[0] = 0;
        for (size_t k = 0; k < nf; k++) {
            unsigned m = 0, n = 0;
            for (size_t l = 0; l < V; l++) {
                if (row < g.band && col < p->OW) m |= 1u << l, n++;
                if (++col == g.PW) col = 0, row++;
            }
            cmask[k] = (uint16_t)m;
            cpos[k + 1] = cpos[k] + n;
        }
        g.cmask = cmask;
        g.cpos = cpos;
    }
    for (size_t kh = 0; kh < p->KH; kh++) {
        size_t a = kh * p->dh % p->sh, ro = kh * p->dh / p->sh;
        g.used_a |= 1u << a;
        for (size_t kw = 0; kw < p->KW; kw++) {
            size_t b = kw * p->dw % p->sw, co = kw * p->dw / p->sw;
            g.used_b |= 1u << b;
            toff[kh * p->KW + kw] = (a * p->sw + b) * g.PS + ro * g.PW + co;
        }
    }
    for (size_t b = 0; b < p->sw; b++) {
        size_t sw = p->sw, pl = p->pad_left, IW = p->IW;
        size_t jlo = b >= pl ? 0 : (pl - b + sw - 1) / sw;
        size_t jhi = IW + pl > b ? (IW + pl - b + sw - 1) / sw : 0;
        if (jhi > g.PW) jhi = g.PW;
        if (jlo > jhi) jlo = jhi;
        g.jlo[b] = jlo;
        g.ncol[b] = jhi - jlo;
        g.xcol[b] = jhi > jlo ? jlo * sw + b - pl : 0;
    }
    memset(g.planes, 0, plane_floats * sizeof(float));
    path.run(&g, C, p0, p1, x, w, bias, y);
}
