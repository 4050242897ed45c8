/* Depthwise convolution, the vector code (see dwconv_kernel.h for the plane layout).
 * Included once per instruction set by a file that first defines
 *   DW_V                  floats per vector (at most OX_DW_VMAX)
 *   dw_vec                the vector type
 *   DW_LOAD(p), DW_STORE(p, v)           unaligned
 *   DW_LOADN(p, n), DW_STOREN(p, v, n)   the first n (1..DW_V) lanes; loads zero the rest
 *   DW_SET1(x), DW_ZERO(), DW_FMA(a, b, c) = a * b + c
 *   DW_CLAMP(v, lo, hi)   Clip's order: v < lo ? lo : v, then > hi ? hi : v (NaN passes)
 *   DW_NAME(x)            x with the set's suffix
 * and optionally
 *   DW_EVEN(a, b)         lanes 0, 2, 4, ... of the concatenation a:b
 *   DW_LOADA(p)           aligned load
 *   DW_ALIGNR(hi, lo, n)  lanes n, n+1, ... of the concatenation lo:hi (n < DW_V a
 *                         constant once inlined; n == 0 gives lo)
 * (the last two for the aligned 3x3 and 5x5 filters, see ox_dw_geom.aligned). */

#define DW_AI static inline __attribute__((always_inline))
#define DW_PRAGMA(x) _Pragma(#x)
#define DW_UNROLL DW_PRAGMA(GCC unroll 8)
#define DW_UNROLL_TAPS DW_PRAGMA(GCC unroll 25)

DW_AI void DW_NAME(dw_zero)(float *d, size_t n) {
    size_t i = 0;
    for (; i + DW_V <= n; i += DW_V) DW_STORE(d + i, DW_ZERO());
    if (i < n) DW_STOREN(d + i, DW_ZERO(), n - i);
}

DW_AI void DW_NAME(dw_copy)(float *d, const float *s, size_t n) {
    size_t i = 0;
    for (; i + DW_V <= n; i += DW_V) DW_STORE(d + i, DW_LOAD(s + i));
    if (i < n) DW_STOREN(d + i, DW_LOADN(s + i, n - i), n - i);
}

/* dw_copy that may write zeros to d[n .. n + DW_V): where the caller writes those
 * floats later, or needs them zero. A whole store lets the loads that soon read it
 * take the value from the store buffer, which a masked store prevents. */
DW_AI void DW_NAME(dw_copy_spill)(float *d, const float *s, size_t n) {
    size_t i = 0;
    for (; i + DW_V <= n; i += DW_V) DW_STORE(d + i, DW_LOAD(s + i));
    if (i < n) DW_STORE(d + i, DW_LOADN(s + i, n - i));
}

/* d[j] = s[2j] for j < n, reading s[0 .. 2n-1) only: the column phases of stride 2.
 * Like dw_copy_spill, may write zeros to d[n .. n + DW_V). */
static void DW_NAME(dw_gather2)(float *d, const float *s, size_t n) {
    size_t j = 0;
#ifdef DW_EVEN
    for (; j + DW_V < n; j += DW_V)
        DW_STORE(d + j, DW_EVEN(DW_LOAD(s + 2 * j), DW_LOAD(s + 2 * j + DW_V)));
    if (j < n) {
        size_t m = n - j, avail = 2 * m - 1; /* source floats left */
        dw_vec lo = DW_LOADN(s + 2 * j, avail < DW_V ? avail : DW_V);
        dw_vec hi = avail > DW_V ? DW_LOADN(s + 2 * j + DW_V, avail - DW_V) : DW_ZERO();
        DW_STORE(d + j, DW_EVEN(lo, hi));
    }
#else
    for (; j < n; j++) d[j] = s[2 * j];
#endif
}

/* The planes for output rows [oy0, oy0 + nb) of one input plane x (NULL: empty).
 * Only what differs between bands and planes is written: the input's columns of
 * each row inside it, whole rows of padding and the slack; padding columns stay
 * zero from the start of the call (dwconv.c). Rows are written in order, so the
 * zeros a row's copy spills past its end land on padding or on rows and slack
 * written after it (the slack is longer than any spill). */
static void DW_NAME(dw_fill)(const ox_dw_geom *g, const float *x, size_t oy0, size_t nb) {
    const ox_dwconv2d *p = g->p;
    size_t PR = nb + g->rowoff, PW = g->PW, sw = p->sw;
    for (size_t a = 0; a < p->sh; a++) {
        if (!(g->used_a >> a & 1u)) continue;
        for (size_t b = 0; b < sw; b++) {
            if (!(g->used_b >> b & 1u)) continue;
            float *pln = g->planes + (a * sw + b) * g->PS;
            size_t jlo = g->jlo[b], n = g->ncol[b];
            for (size_t i = 0; i < PR; i++) {
                size_t R = (oy0 + i) * p->sh + a; /* row of the padded input */
                float *dst = pln + i * PW;
                if (!x || R < p->pad_top || R - p->pad_top >= p->IH) {
                    DW_NAME(dw_zero)(dst, PW);
                    continue;
                }
                if (!n) continue;
                const float *src = x + (R - p->pad_top) * p->IW + g->xcol[b];
                if (sw == 1)
                    DW_NAME(dw_copy_spill)(dst + jlo, src, n);
                else if (sw == 2)
                    DW_NAME(dw_gather2)(dst + jlo, src, n);
                else
                    for (size_t j = 0; j < n; j++) dst[jlo + j] = src[j * sw];
            }
            DW_NAME(dw_zero)(pln + PR * PW, g->coloff + 2 * OX_DW_VMAX);
        }
    }
}

/* Bias plus every tap for U output vectors at flat positions q, q + DW_V, ... The tap
 * loop is the outer one so that U accumulators hide the FMA latency.
 * K == 0: any filter, T taps, each read at its offset (unaligned loads).
 * K > 0 (3 or 5, stride S, no dilation, PW and q multiples of DW_V; sets with
 * DW_ALIGNR only): each plane row is loaded once, aligned, and the taps further
 * along it are shifted out of two neighbouring vectors in registers, which is
 * cheaper than a load that straddles two cache lines. */
DW_AI void DW_NAME(dw_acc)(const ox_dw_geom *g, const float *w, dw_vec bias, size_t T, size_t q,
                           int U, int K, int S, dw_vec *acc) {
    /* the accumulators must live in registers: unrolled on every compiler */
    DW_UNROLL for (int u = 0; u < U; u++) acc[u] = bias;
#ifdef DW_ALIGNR
    if (K) {
        DW_UNROLL for (int kh = 0; kh < K; kh++) {
            DW_UNROLL for (int b = 0; b < S; b++) {
                const float *r = g->planes + (size_t)((kh % S) * S + b) * g->PS +
                                 (size_t)(kh / S) * g->PW + q;
                dw_vec v[9];
                DW_UNROLL for (int u = 0; u <= U; u++) v[u] = DW_LOADA(r + (size_t)u * DW_V);
                DW_UNROLL for (int kw = b; kw < K; kw += S) {
                    dw_vec wv = DW_SET1(w[kh * K + kw]);
                    DW_UNROLL for (int u = 0; u < U; u++)
                        acc[u] = DW_FMA(wv, DW_ALIGNR(v[u + 1], v[u], kw / S), acc[u]);
                }
            }
        }
        return;
    }
#endif
    (void)K;
    (void)S;
    const float *base = g->planes + q;
    const size_t *toff = g->toff;
    DW_UNROLL_TAPS for (size_t t = 0; t < T; t++) {
        dw_vec wv = DW_SET1(w[t]);
        const float *s = base + toff[t];
        DW_UNROLL for (int u = 0; u < U; u++) acc[u] = DW_FMA(wv, DW_LOAD(s + (size_t)u * DW_V), acc[u]);
    }
}

/* dw_acc, the clamp, and the stores to dst; the vector `part` (if < U) keeps only
 * `last` lanes. */
DW_AI void DW_NAME(dw_vecs)(const ox_dw_geom *g, const float *w, dw_vec bias, size_t T, size_t q,
                            int U, int K, int S, float *dst, int part, size_t last) {
    dw_vec acc[8];
    DW_NAME(dw_acc)(g, w, bias, T, q, U, K, S, acc);
    if (g->p->clamp) {
        dw_vec lo = DW_SET1(g->p->lo), hi = DW_SET1(g->p->hi);
        DW_UNROLL for (int u = 0; u < U; u++) acc[u] = DW_CLAMP(acc[u], lo, hi);
    }
    DW_UNROLL for (int u = 0; u < U; u++) {
        if (u == part)
            DW_STOREN(dst + (size_t)u * DW_V, acc[u], last);
        else
            DW_STORE(dst + (size_t)u * DW_V, acc[u]);
    }
}

/* nv vectors from flat position q0 into dst, the last one holding `last` floats. */
DW_AI void DW_NAME(dw_run)(const ox_dw_geom *g, const float *w, dw_vec bias, size_t T, int K,
                           int S, size_t q0, size_t nv, size_t last, float *dst) {
    size_t j = 0;
    int full = last == DW_V;
    for (; j + 8 <= nv; j += 8)
        DW_NAME(dw_vecs)(g, w, bias, T, q0 + j * DW_V, 8, K, S, dst + j * DW_V,
                         full || j + 8 < nv ? -1 : 7, last);
    if (nv - j >= 4) {
        DW_NAME(dw_vecs)(g, w, bias, T, q0 + j * DW_V, 4, K, S, dst + j * DW_V,
                         full || j + 4 < nv ? -1 : 3, last);
        j += 4;
    }
    if (nv - j >= 2) {
        DW_NAME(dw_vecs)(g, w, bias, T, q0 + j * DW_V, 2, K, S, dst + j * DW_V,
                         full || j + 2 < nv ? -1 : 1, last);
        j += 2;
    }
    if (nv - j >= 1)
        DW_NAME(dw_vecs)(g, w, bias, T, q0 + j * DW_V, 1, K, S, dst + j * DW_V, full ? -1 : 0,
                         last);
}

/* Output rows [0, nb) of the filled band into y (the band's first output row). Rows
 * of a few vectors waste lanes at their ends: there the band is computed as one flat
 * run over PW-wide rows into tmp and the rows are copied out. */
DW_AI void DW_NAME(dw_band)(const ox_dw_geom *g, const float *w, float bias, float *y, size_t nb,
                            size_t T, int K, int S) {
    size_t OW = g->p->OW, PW = g->PW;
    size_t nv = (OW + DW_V - 1) / DW_V;
    dw_vec bv = DW_SET1(bias);
    if (nv < 4 || nv * DW_V * 4 > 5 * PW) {
        size_t nf = (nb * PW + DW_V - 1) / DW_V;
        DW_NAME(dw_run)(g, w, bv, T, K, S, 0, nf, DW_V, g->tmp);
        /* later rows overwrite what a row spills; nothing past the band may be */
        size_t r = 0;
        for (; (r + 1) * OW + DW_V <= nb * OW; r++)
            DW_NAME(dw_copy_spill)(y + r * OW, g->tmp + r * PW, OW);
        for (; r < nb; r++) DW_NAME(dw_copy)(y + r * OW, g->tmp + r * PW, OW);
        return;
    }
    size_t last = OW - (nv - 1) * DW_V;
    for (size_t r = 0; r < nb; r++)
        DW_NAME(dw_run)(g, w, bv, T, K, S, r * PW, nv, last, y + r * OW);
}

/* The common filters get their tap loops unrolled. */
typedef void (*DW_NAME(dw_band_fn))(const ox_dw_geom *g, const float *w, float bias, float *y,
                                    size_t nb);
#define DW_BAND(name, T, K, S)                                                                  \
    static void DW_NAME(name)(const ox_dw_geom *g, const float *w, float bias, float *y,       \
                              size_t nb) {                                                      \
        DW_NAME(dw_band)(g, w, bias, y, nb, T, K, S);                                           \
    }
DW_BAND(dw_band9, 9, 0, 1)
DW_BAND(dw_band25, 25, 0, 1)
DW_BAND(dw_bandT, g->T, 0, 1)
#ifdef DW_ALIGNR
DW_BAND(dw_band_a31, 9, 3, 1)
DW_BAND(dw_band_a32, 9, 3, 2)
DW_BAND(dw_band_a51, 25, 5, 1)
DW_BAND(dw_band_a52, 25, 5, 2)
#endif
#undef DW_BAND

static DW_NAME(dw_band_fn) DW_NAME(dw_pick_band)(const ox_dw_geom *g) {
#ifdef DW_ALIGNR
    if (g->aligned == DW_V) {
        int k = (int)g->p->KH, s = (int)g->p->sh;
        if (k == 3) return s == 1 ? DW_NAME(dw_band_a31) : DW_NAME(dw_band_a32);
        return s == 1 ? DW_NAME(dw_band_a51) : DW_NAME(dw_band_a52);
    }
#endif
    return g->T == 9 ? DW_NAME(dw_band9) : g->T == 25 ? DW_NAME(dw_band25) : DW_NAME(dw_bandT);
}

void DW_NAME(ox_dw_planes)(const ox_dw_geom *g, size_t C, size_t p0, size_t p1, const float *x,
                           const float *w, const float *bias, float *y) {
    const ox_dwconv2d *p = g->p;
    size_t in_sp = p->IH * p->IW, out_sp = p->OH * p->OW;
    DW_NAME(dw_band_fn) band = DW_NAME(dw_pick_band)(g);
    for (size_t pi = p0; pi < p1; pi++) {
        size_t ch = pi % C;
        const float *xp = in_sp ? x + pi * in_sp : NULL;
        const float *wp = w + ch * g->T;
        float b = bias ? bias[ch] : 0.0f;
        for (size_t oy0 = 0; oy0 < p->OH; oy0 += g->band) {
            size_t nb = p->OH - oy0 < g->band ? p->OH - oy0 : g->band;
            float *yb = y + pi * out_sp + oy0 * p->OW;
            DW_NAME(dw_fill)(g, xp, oy0, nb);
            band(g, wp, b, yb, nb);
            if (p->post) p->post(yb, nb * p->OW, p->post_ctx);
        }
    }
}

#undef DW_AI
#undef DW_PRAGMA
#undef DW_UNROLL
#undef DW_UNROLL_TAPS
