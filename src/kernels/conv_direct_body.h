/* The direct convolution's band loop, included once per instruction set after
 * defining:
 *   CD_VEC, CD_V           the vector type and its floats
 *   CD_XV                  most vectors along x per tile (registers: OX_CD_MB * CD_XV
 *                          accumulators, CD_XV inputs and one broadcast weight; rows of
 *                          at most CD_XV / 2 vectors take two channel blocks at once)
 *   CD_LOAD(p), CD_STORE(p, v), CD_LOADN(p, n), CD_STOREN(p, v, n)  (n < CD_V lanes)
 *   CD_SET1(x), CD_FMA(a, b, c) = a*b + c, CD_ADD(a, b), CD_CLAMP(v, lo, hi)
 *   CD_SPLIT2(d0, d1, s)   optional: d0[k] = s[2k], d1[k] = s[2k + 1] for k < CD_V
 *   CD_NAME(x)             the path's name for x
 * (see conv_direct_kernel.h for the buffer layout). */

#include <string.h>

/* One phase row: d[q] = src[q * s + c0] where that is inside [0, IW), else 0, for
 * q < Wq. */
static void CD_NAME(cd_phase_row)(float *d, const float *src, int64_t c0, size_t s, size_t IW,
                                  size_t Wq) {
    int64_t S = (int64_t)s, W = (int64_t)IW;
    int64_t lo = c0 >= 0 ? 0 : (-c0 + S - 1) / S;
    int64_t hi = c0 < W ? (W - 1 - c0) / S + 1 : 0;
    if (hi > (int64_t)Wq) hi = (int64_t)Wq;
    if (lo > hi) lo = hi;
    memset(d, 0, (size_t)lo * sizeof *d);
    size_t n = (size_t)(hi - lo);
    if (n) {
        const float *sp = src + (lo * S + c0);
        float *dp = d + lo;
        size_t k = 0;
        if (s == 1) {
            memcpy(dp, sp, n * sizeof *dp);
            k = n;
        }
        for (; k < n; k++) dp[k] = sp[k * s];
    }
    memset(d + hi, 0, (Wq - (size_t)hi) * sizeof *d);
}

#ifdef CD_SPLIT2
/* d[j] = src[2j + b - pl] where that is inside [0, IW), else 0, for j in [j0, j1). */
static void CD_NAME(cd_fill2)(float *d, const float *src, size_t b, size_t pl, size_t IW,
                              size_t j0, size_t j1) {
    for (size_t j = j0; j < j1; j++) {
        int64_t e = (int64_t)(2 * j + b) - (int64_t)pl;
        if (e >= (int64_t)IW) { /* and so are the ones after */
            memset(d + j, 0, (j1 - j) * sizeof *d);
            return;
        }
        d[j] = e >= 0 ? src[e] : 0.0f;
    }
}

/* Both phase rows of stride 2 in one pass (d_b[q] = src[2q + b - pl], as
 * cd_phase_row): whole vectors over [q0, qe), the q whose sources in both phases
 * lie inside the row (the last vector overlapping the one before), the edges one by
 * one. */
static void CD_NAME(cd_split2)(float *d0, float *d1, const float *src, size_t pl, size_t IW,
                               size_t Wq) {
    size_t q0 = (pl + 1) / 2, qe = (IW + pl) / 2;
    if (qe > Wq) qe = Wq;
    if (qe < q0 + CD_V) {
        qe = q0 < Wq ? q0 : Wq;
    } else {
        for (size_t q = q0; q < qe; q += CD_V) {
            size_t at = q + CD_V <= qe ? q : qe - CD_V;
            CD_SPLIT2(d0 + at, d1 + at, src + (2 * at - pl));
        }
    }
    for (size_t b = 0; b < 2; b++) {
        CD_NAME(cd_fill2)(b ? d1 : d0, src, b, pl, IW, 0, q0 < qe ? q0 : qe);
        CD_NAME(cd_fill2)(b ? d1 : d0, src, b, pl, IW, qe, Wq);
    }
}
#endif

/* The buffer of output rows [oy0, oy1) of image x (C x IH x IW). */
static void CD_NAME(cd_build)(const ox_cd_geom *g, const float *x, size_t oy0, size_t oy1,
                              float *buf) {
    const ox_conv_direct *p = g->p;
    size_t nr = (oy1 - oy0 - 1) * p->sh + (p->KH - 1) * p->dh + 1, sw = p->sw, Wq = g->Wq;
    int64_t r0 = (int64_t)(oy0 * p->sh) - (int64_t)p->pad_top;
    for (size_t j = 0; j < nr; j++)
        for (size_t c = 0; c < p->C; c++) {
            int64_t iy = r0 + (int64_t)j;
            float *d = buf + (j * p->C + c) * sw * Wq;
            if (iy < 0 || iy >= (int64_t)p->IH) {
                memset(d, 0, sw * Wq * sizeof *d);
                continue;
            }
            const float *src = x + (c * p->IH + (size_t)iy) * p->IW;
#ifdef CD_SPLIT2
            if (sw == 2) {
                CD_NAME(cd_split2)(d, d + Wq, src, p->pad_left, p->IW, Wq);
                continue;
            }
#endif
            for (size_t b = 0; b < sw; b++)
                CD_NAME(cd_phase_row)(d + b * Wq, src, (int64_t)b - (int64_t)p->pad_left, sw,
                                      p->IW, Wq);
        }
}

/* nv vectors along x (a constant once inlined) of nb * OX_CD_MB output channels (nb
 * blocks, a constant too), mn of them real: the sum over the K taps, then the bias
 * (already in the accumulators), the residual and the clamp. in: the buffer at the
 * tile's first column; w: the first block's packed taps (the next block follows K *
 * OX_CD_MB floats on); y, res: the first channel at the tile's first column, ld
 * floats between channels; last: floats of the last vector kept. */
static inline __attribute__((always_inline)) void
CD_NAME(cd_tile)(const float *in, const uint32_t *toff, size_t K, const float *w,
                 const float *bias, size_t mn, float *y, const float *res, size_t ld,
                 const int nb, const int nv, size_t last, int clamp, CD_VEC lo, CD_VEC hi) {
    const size_t wstep = K * OX_CD_MB;
    /* named accumulators (channel m, vector v), not an array indexed in unrolled
     * loops: clang 14 kept such an array in memory (a 3-channel 7x7 stem 5x slower) */
#define CD_EACH_V(X, m) X(m, 0) X(m, 1) X(m, 2) X(m, 3) X(m, 4) X(m, 5)
#define CD_EACH(X)                                                                         \
    CD_EACH_V(X, 0) CD_EACH_V(X, 1) CD_EACH_V(X, 2) CD_EACH_V(X, 3) CD_EACH_V(X, 4)        \
    CD_EACH_V(X, 5) CD_EACH_V(X, 6) CD_EACH_V(X, 7)
#define CD_DECL(m, v) CD_VEC c##m##_##v = CD_SET1(bias[m]);
#define CD_LOADX(v) CD_VEC x##v = nv > v ? CD_LOAD(s + v * CD_V) : CD_SET1(0.0f);
#define CD_FMAV(m, v)                                                                      \
    if (nv > v) c##m##_##v = CD_FMA(x##v, wm, c##m##_##v);
#define CD_ROW(m)                                                                          \
    if (nb * OX_CD_MB > m) {                                                               \
        CD_VEC wm = CD_SET1(wt[m / OX_CD_MB * wstep + m % OX_CD_MB]);                      \
        CD_EACH_V(CD_FMAV, m)                                                              \
    }
    CD_EACH(CD_DECL)
    for (size_t t = 0; t < K; t++) {
        const float *s = in + toff[t], *wt = w + t * OX_CD_MB;
        CD_LOADX(0) CD_LOADX(1) CD_LOADX(2) CD_LOADX(3) CD_LOADX(4) CD_LOADX(5)
        CD_ROW(0) CD_ROW(1) CD_ROW(2) CD_ROW(3) CD_ROW(4) CD_ROW(5) CD_ROW(6) CD_ROW(7)
    }
    /* the finished outputs of channels that exist: residual, clamp, store */
#define CD_PUT(m, v)                                                                       \
    if (nv > v) {                                                                          \
        CD_VEC a_ = c##m##_##v;                                                            \
        if (v + 1 < nv || last == CD_V) {                                                  \
            if (rm_) a_ = CD_ADD(a_, CD_LOAD(rm_ + v * CD_V));                             \
            if (clamp) a_ = CD_CLAMP(a_, lo, hi);                                          \
            CD_STORE(ym_ + v * CD_V, a_);                                                  \
        } else {                                                                           \
            if (rm_) a_ = CD_ADD(a_, CD_LOADN(rm_ + v * CD_V, last));                      \
            if (clamp) a_ = CD_CLAMP(a_, lo, hi);                                          \
            CD_STOREN(ym_ + v * CD_V, a_, last);                                           \
        }                                                                                  \
    }
#define CD_PUT_ROW(m)                                                                      \
    if (nb * OX_CD_MB > m && (size_t)m < mn) {                                             \
        float *ym_ = y + (size_t)m * ld;                                                   \
        const float *rm_ = res ? res + (size_t)m * ld : NULL;                              \
        CD_EACH_V(CD_PUT, m)                                                               \
    }
    CD_PUT_ROW(0) CD_PUT_ROW(1) CD_PUT_ROW(2) CD_PUT_ROW(3)
    CD_PUT_ROW(4) CD_PUT_ROW(5) CD_PUT_ROW(6) CD_PUT_ROW(7)
#undef CD_PUT_ROW
#undef CD_PUT
#undef CD_ROW
#undef CD_FMAV
#undef CD_LOADX
#undef CD_DECL
#undef CD_EACH
#undef CD_EACH_V
}

/* One output row (all channels) from the buffer rows at `in`. */
static void CD_NAME(cd_row)(const ox_cd_geom *g, const float *in, float *y, const float *res) {
    const ox_conv_direct *p = g->p;
    size_t OW = p->OW, ld = p->OH * OW, K = g->K;
    size_t nvec = (OW + CD_V - 1) / CD_V, tiles = (nvec + CD_XV - 1) / CD_XV;
    CD_VEC lo = CD_SET1(p->lo), hi = CD_SET1(p->hi);
    /* narrow rows take two channel blocks per tile, for enough accumulators */
    size_t nb = 2 * nvec <= CD_XV ? 2 : 1, step = nb * OX_CD_MB;
    for (size_t m0 = 0; m0 < p->M; m0 += step) {
        size_t mn = p->M - m0 < step ? p->M - m0 : step;
        float bias[2 * OX_CD_MB] = {0};
        for (size_t m = 0; m < mn && g->bias; m++) bias[m] = g->bias[m0 + m];
        int two = mn > OX_CD_MB; /* the second block has real channels */
        const float *w = g->wp + m0 * K;
        float *ym = y + m0 * ld;
        const float *rm = res ? res + m0 * ld : NULL;
        /* the row's vectors dealt evenly to the tiles: 7 as 4 + 3, not 6 + 1 */
        for (size_t ti = 0, v0 = 0; ti < tiles; ti++) {
            size_t nv = nvec / tiles + (ti < nvec % tiles);
            size_t last = v0 + nv == nvec ? OW - (nvec - 1) * CD_V : CD_V;
            size_t o = v0 * CD_V;
            const float *r = rm ? rm + o : NULL;
            switch (two ? 8 + nv : nv) {
#define CD_CASE(nb_, n)                                                                    \
    case (nb_ - 1) * 8 + n:                                                                \
        CD_NAME(cd_tile)(in + o, g->toff, K, w, bias, mn, ym + o, r, ld, nb_, n, last,     \
                         p->clamp, lo, hi);                                                \
        break;
                CD_CASE(1, 1)
                CD_CASE(2, 1)
#if CD_XV >= 2
                CD_CASE(1, 2)
#endif
#if CD_XV >= 3
                CD_CASE(1, 3)
#endif
#if CD_XV >= 4
                CD_CASE(1, 4)
                CD_CASE(2, 2)
#endif
#if CD_XV >= 5
                CD_CASE(1, 5)
#endif
#if CD_XV >= 6
                CD_CASE(1, 6)
                CD_CASE(2, 3)
#endif
#undef CD_CASE
            default: break;
            }
            v0 += nv;
        }
        if (p->post)
            for (size_t m = 0; m < mn; m++) p->post(ym + m * ld, OW, p->post_ctx);
    }
}

void CD_NAME(ox_cd_items)(const ox_cd_geom *g, size_t i0, size_t i1) {
    const ox_conv_direct *p = g->p;
    size_t in_img = p->C * p->IH * p->IW, out_img = p->M * p->OH * p->OW;
    /* buffer floats from one output row to the next */
    size_t step = p->sh * p->C * p->sw * g->Wq;
    for (size_t i = i0; i < i1;) { /* a band: items i .. i + oy1 - oy0 - 1 */
        size_t n = i / p->OH, oy0 = i % p->OH, oy1 = oy0 + g->band;
        if (oy1 > p->OH) oy1 = p->OH;
        if (oy1 - oy0 > i1 - i) oy1 = oy0 + (i1 - i);
        float *buf = g->buf;
        CD_NAME(cd_build)(g, g->x + n * in_img, oy0, oy1, buf);
        for (size_t oy = oy0; oy < oy1; oy++) {
            size_t at = n * out_img + oy * p->OW;
            CD_NAME(cd_row)(g, buf + (oy - oy0) * step, g->y + at, g->res ? g->res + at : NULL);
        }
        i += oy1 - oy0;
    }
}
