/* Direct convolution: packing the filters, planning a call, the choice of
 * instruction set and the portable vector path (GNU vector types). */
#include "kernels/conv_direct.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv_direct_kernel.h"
#include "kernels/cpu.h"
#include "kernels/filter_blocks.h"
#include "kernels/gen_vec4.h"
#include "kernels/pool_rows.h"

/* ---- the portable vector path --------------------------------------------------- */

typedef gen_vec4 cd_vec;
typedef gen_ivec4 cd_ivec;

#define CD_VEC cd_vec
#define CD_V 4
#define CD_XV 2 /* 8 accumulators: fits 16 registers of 4 floats */
#define CD_LOAD(p) gen_load(p)
#define CD_STORE(p, v) gen_store(p, v)
#define CD_LOADN(p, n) gen_loadn(p, n)
#define CD_STOREN(p, v, n) gen_storen(p, v, n)
#define CD_SET1(x) gen_set1(x)
#define CD_FMA(a, b, c) ((a) * (b) + (c))
#define CD_ADD(a, b) ((a) + (b))
#define CD_CLAMP(v, lo, hi) gen_clamp(v, lo, hi)
#define CD_NAME(x) x##_generic
#include "kernels/conv_direct_body.h"

/* ---- filters --------------------------------------------------------------------- */

size_t ox_conv_direct_packed_floats(size_t M, size_t K) {
    return ox_filter_blocks_floats(M, K, OX_CD_MB);
}

void ox_conv_direct_pack(const float *w, size_t M, size_t K, float *dst) {
    ox_filter_blocks_pack(w, M, K, OX_CD_MB, dst);
}

/* ---- planning -------------------------------------------------------------------- */

/* Output rows per band: enough to share most of the input rows a tap window spans
 * between neighbouring output rows, few enough that the band's buffer stays in the
 * first-level cache for 3 input channels 224 wide (measured: 4 beat 1, 2 and 8). */
#define CD_BAND 4

/* The geometry of a call; 0 when it is too large (or empty). */
static int plan(const ox_conv_direct *p, ox_cd_geom *g) {
    memset(g, 0, sizeof *g);
    g->p = p;
    if (!p->N || !p->C || !p->M || !p->OH || !p->OW || !p->KH || !p->KW || !p->sh || !p->sw ||
        !p->dh || !p->dw)
        return 0;
    const size_t big = (size_t)1 << 31; /* offsets are 32-bit; all sizes below stay far under */
    if (p->C > big / p->KH / p->KW || p->C * p->KH * p->KW > OX_CD_MAX_TAPS) return 0;
    g->K = p->C * p->KH * p->KW;
    if (p->KH > big / p->dh || p->KW > big / p->dw || p->OW > big || p->sh > big || p->sw > big)
        return 0;
    g->band = CD_BAND;
    size_t span = (p->KH - 1) * p->dh + 1, rows = span > p->sh ? span : p->sh;
    size_t qmax = (p->KW - 1) * p->dw / p->sw, V = OX_CD_VMAX;
    g->Wq = ((p->OW + V - 1) / V * V + qmax + V - 1) / V * V;
    /* a band's buffer, band * item_floats at most, is addressed by 32-bit offsets */
    if (rows > big / CD_BAND / p->sw || CD_BAND * rows * p->sw > big / g->Wq ||
        CD_BAND * rows * p->sw * g->Wq > big / p->C || p->N > SIZE_MAX / p->OH)
        return 0;
    g->item_floats = rows * p->C * p->sw * g->Wq;
    return 1;
}

size_t ox_conv_direct_items(const ox_conv_direct *p) {
    ox_cd_geom g;
    return plan(p, &g) ? p->N * p->OH : 0;
}

size_t ox_conv_direct_band_floats(const ox_conv_direct *p) {
    ox_cd_geom g;
    return plan(p, &g) ? g.band * g.item_floats : 0;
}

/* The instruction set's items and rows functions. */
static ox_cd_items_fn pick(const char **name, ox_cd_rows_fn *rows) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) {
        *name = "avx512";
        *rows = ox_cd_rows_avx512;
        return ox_cd_items_avx512;
    }
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) {
        *name = "avx2";
        *rows = ox_cd_rows_avx2;
        return ox_cd_items_avx2;
    }
#endif
    *name = "generic";
    *rows = ox_cd_rows_generic;
    return ox_cd_items_generic;
}

const char *ox_conv_direct_kernel_name(void) {
    const char *name;
    ox_cd_rows_fn rows;
    pick(&name, &rows);
    return name;
}

/* g's tap offsets (into toff, OX_CD_MAX_TAPS of them) and operands; g planned. */
static void bind(ox_cd_geom *g, uint32_t *toff, const float *x, const float *wp,
                 const float *bias, const float *res, float *y, float *buf) {
    const ox_conv_direct *p = g->p;
    size_t t = 0;
    for (size_t c = 0; c < p->C; c++)
        for (size_t kh = 0; kh < p->KH; kh++)
            for (size_t kw = 0; kw < p->KW; kw++, t++) {
                size_t row = (kh * p->dh * p->C + c) * p->sw + kw * p->dw % p->sw;
                toff[t] = (uint32_t)(row * g->Wq + kw * p->dw / p->sw);
            }
    g->toff = toff;
    g->x = x;
    g->wp = wp;
    g->bias = bias;
    g->res = res;
    g->y = y;
    g->buf = buf;
}

void ox_conv_direct_f32(const ox_conv_direct *p, size_t i0, size_t i1, const float *x,
                        const float *wp, const float *bias, const float *res, float *y,
                        float *buf) {
    ox_cd_geom g;
    if (i0 >= i1 || !plan(p, &g)) return;
    uint32_t toff[OX_CD_MAX_TAPS];
    bind(&g, toff, x, wp, bias, res, y, buf);
    const char *name;
    ox_cd_rows_fn rows;
    pick(&name, &rows)(&g, i0, i1);
}

/* ---- the fused MaxPool ----------------------------------------------------------- */

/* Pooled rows per band: its windows' convolution rows (2 * CD_POOL_BAND - 2 + kh,
 * the last one kept for the next band) are computed together, then pooled while in
 * cache. */
#define CD_POOL_BAND 4

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* Convolution rows a band's windows span at most. */
static size_t pool_span(const ox_cd_pool *q) { return 2 * (CD_POOL_BAND - 1) + q->kh; }

/* Floats of the row the portable pooling path pads with -inf: the columns every
 * window reads, plus ox_max_taps's slack. */
static size_t pool_line(const ox_conv_direct *p, const ox_cd_pool *q) {
    size_t taps = 2 * (q->PW - 1) + q->kw, in = q->pl + p->OW;
    return (taps > in ? taps : in) + OX_MAX_TAPS_SLACK;
}

/* Whether the pool suits the kernel (see ox_cd_pool), with sizes far from overflow. */
static int pool_ok(const ox_conv_direct *p, const ox_cd_pool *q, ox_cd_geom *g) {
    const size_t big = (size_t)1 << 31;
    if (!plan(p, g) || q->kh < 1 || q->kh > 3 || q->kw < 1 || q->kw > 3 || q->pt > 1 ||
        q->pl > 1 || q->pt >= q->kh || q->pl >= q->kw || !q->PH || !q->PW || q->PH > big ||
        q->PW > big || p->M > big / pool_span(q) / p->OW || p->N > SIZE_MAX / q->PH)
        return 0;
    /* the last windows start inside the convolution's output */
    return 2 * (q->PH - 1) < p->OH + q->pt && 2 * (q->PW - 1) < p->OW + q->pl;
}

size_t ox_conv_direct_pool_items(const ox_conv_direct *p, const ox_cd_pool *q) {
    ox_cd_geom g;
    return pool_ok(p, q, &g) ? p->N * q->PH : 0;
}

size_t ox_conv_direct_pool_floats(const ox_conv_direct *p, const ox_cd_pool *q) {
    ox_cd_geom g;
    if (!pool_ok(p, q, &g)) return 0;
    return round16(g.band * g.item_floats) + round16(p->M * pool_span(q) * p->OW) +
           round16(pool_line(p, q));
}

/* `run` pooled rows (PW floats apart in y): the first from the convolution rows
 * rows[0..nr) (OW floats each), each next one from the rows two further down; line:
 * a pool_line buffer for the portable path. */
static void pool_rows(float *y, const float *const *rows, size_t nr, size_t run,
                      const ox_conv_direct *p, const ox_cd_pool *q, float *line) {
    if (ox_max_row_s2(y, rows, nr, 2 * p->OW, run, p->OW, q->PW, q->kw, q->pl)) return;
    size_t n = pool_line(p, q);
    for (size_t i = 0; i < q->pl; i++) line[i] = -INFINITY;
    for (size_t i = q->pl + p->OW; i < n; i++) line[i] = -INFINITY;
    for (size_t k = 0; k < run; k++) {
        const float *at[3];
        for (size_t r = 0; r < nr; r++) at[r] = rows[r] + 2 * k * p->OW;
        ox_max_rows(line + q->pl, at, nr, p->OW);
        ox_max_taps(y + k * q->PW, line, q->PW, q->kw, 2, 1);
    }
}

void ox_conv_direct_pool_f32(const ox_conv_direct *p, const ox_cd_pool *q, size_t i0, size_t i1,
                             const float *x, const float *wp, const float *bias, float *y,
                             float *buf, ox_cd_held *held) {
    ox_cd_geom g;
    if (i0 >= i1 || !pool_ok(p, q, &g)) return;
    uint32_t toff[OX_CD_MAX_TAPS];
    bind(&g, toff, x, wp, bias, NULL, NULL, buf);
    const char *name;
    ox_cd_rows_fn conv_rows;
    pick(&name, &conv_rows);
    size_t OW = p->OW, ld = pool_span(q) * OW; /* a channel's rows in the ring */
    float *ring = buf + round16(g.band * g.item_floats), *line = ring + round16(p->M * ld);
    for (size_t i = i0; i < i1;) {
        size_t n = i / q->PH, j = i % q->PH, je = j + CD_POOL_BAND;
        if (je > q->PH) je = q->PH;
        if (je - j > i1 - i) je = j + (i1 - i);
        /* the convolution rows the band's windows read: [lo, hi) */
        size_t lo = 2 * j > q->pt ? 2 * j - q->pt : 0, hi = 2 * (je - 1) + q->kh - q->pt;
        if (hi > p->OH) hi = p->OH;
        size_t from = lo;
        if (held->n == n && held->lo <= lo && lo < held->hi) {
            /* the rows from lo that the last band computed move to the ring's front */
            size_t keep = (held->hi < hi ? held->hi : hi) - lo;
            if (lo > held->lo)
                for (size_t m = 0; m < p->M; m++)
                    memmove(ring + m * ld, ring + m * ld + (lo - held->lo) * OW,
                            keep * OW * sizeof *ring);
            from = lo + keep;
        }
        if (from < hi) conv_rows(&g, n, from, hi, ring + (from - lo) * OW, ld);
        *held = (ox_cd_held){.n = n, .lo = lo, .hi = hi};
        for (size_t m = 0; m < p->M; m++) {
            float *ym = y + (n * p->M + m) * q->PH * q->PW;
            for (size_t jj = j; jj < je;) {
                size_t r0 = 2 * jj > q->pt ? 2 * jj - q->pt : 0, r1 = 2 * jj + q->kh - q->pt;
                if (r1 > p->OH) r1 = p->OH;
                const float *rows[3];
                for (size_t r = r0; r < r1; r++) rows[r - r0] = ring + m * ld + (r - lo) * OW;
                /* a run of whole windows in one call, each two rows further down */
                size_t run = 1;
                if (r1 - r0 == q->kh && 2 * jj >= q->pt)
                    while (jj + run < je && 2 * (jj + run) + q->kh - q->pt <= p->OH) run++;
                pool_rows(ym + jj * q->PW, rows, r1 - r0, run, p, q, line);
                jj += run;
            }
        }
        i += je - j;
    }
}
