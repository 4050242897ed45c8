/* Direct convolution: packing the filters, planning a call, the choice of
 * instruction set and the portable vector path (GNU vector types). */
#include "kernels/conv_direct.h"

#include <stdint.h>
#include <string.h>

#include "kernels/conv_direct_kernel.h"
#include "kernels/cpu.h"
#include "kernels/filter_blocks.h"
#include "kernels/gen_vec4.h"

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

static ox_cd_items_fn pick(const char **name) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) {
        *name = "avx512";
        return ox_cd_items_avx512;
    }
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) {
        *name = "avx2";
        return ox_cd_items_avx2;
    }
#endif
    *name = "generic";
    return ox_cd_items_generic;
}

const char *ox_conv_direct_kernel_name(void) {
    const char *name;
    pick(&name);
    return name;
}

void ox_conv_direct_f32(const ox_conv_direct *p, size_t i0, size_t i1, const float *x,
                        const float *wp, const float *bias, const float *res, float *y,
                        float *buf) {
    ox_cd_geom g;
    if (i0 >= i1 || !plan(p, &g)) return;
    uint32_t toff[OX_CD_MAX_TAPS];
    size_t t = 0;
    for (size_t c = 0; c < p->C; c++)
        for (size_t kh = 0; kh < p->KH; kh++)
            for (size_t kw = 0; kw < p->KW; kw++, t++) {
                size_t row = (kh * p->dh * p->C + c) * p->sw + kw * p->dw % p->sw;
                toff[t] = (uint32_t)(row * g.Wq + kw * p->dw / p->sw);
            }
    g.toff = toff;
    g.x = x;
    g.wp = wp;
    g.bias = bias;
    g.res = res;
    g.y = y;
    g.buf = buf;
    const char *name;
    pick(&name)(&g, i0, i1);
}
