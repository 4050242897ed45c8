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
 *   DW_EVEN(a, b), DW_ODD(a, b)  lanes 0, 2, 4, ... (1, 3, 5, ...) of a:b
 *   DW_LOADA(p)           aligned load
 *   DW_ALIGNR(hi, lo, n)  lanes n, n+1, ... of the concatenation lo:hi (n < DW_V a
 *                         constant once inlined; n == 0 gives lo)
 * (the last two for the aligned 3x3 and 5x5 filters, see ox_dw_geom.aligned)
 *   DW_COMPRESS(v, m)     the lanes of v set in m packed to the low lanes
 *                         (for ox_dw_geom.cmask). */

#define DW_AI static inline __attribute__((always_inline))
#define DW_PRAGMA(x) _Pragma(#x)
/* clang takes gcc's pragma as a hint and kept the accumulators of some loops in memory
 * (the aligned 3x3 path 3.4x slower than gcc's); it needs full unrolling asked for.
 * Under AddressSanitizer that unrolling takes clang minutes per file, and speed does
 * not matter there: the loops are left to it. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DW_ASAN 1
#endif
#endif
#if defined(__clang__) && !defined(DW_ASAN)
#define DW_UNROLL DW_PRAGMA(clang loop unroll(full))
#else
#define DW_UNROLL DW_PRAGMA(GCC unroll 8)
#endif
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
DW_AI void DW_NAME(dw_gather2)(float *d, const float *s, size_t n) {
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

/* s[0 .. n) dealt out: even-indexed floats to e[0 ..), odd-indexed ones to o[0 ..):
 * both column phases of stride 2 from one pass over the row. Like dw_copy_spill,
 * may write zeros up to DW_V floats past each run. */
DW_AI void DW_NAME(dw_split2)(float *e, float *o, const float *s, size_t n) {
    size_t i = 0;
#ifdef DW_EVEN
    for (; i + 2 * DW_V <= n; i += 2 * DW_V) {
        dw_vec lo = DW_LOAD(s + i), hi = DW_LOAD(s + i + DW_V);
        DW_STORE(e + i / 2, DW_EVEN(lo, hi));
        DW_STORE(o + i / 2, DW_ODD(lo, hi));
    }
    if (i < n) {
        size_t m = n - i;
        dw_vec lo = DW_LOADN(s + i, m < DW_V ? m : DW_V);
        dw_vec hi = m > DW_V ? DW_LOADN(s + i + DW_V, m - DW_V) : DW_ZERO();
        DW_STORE(e + i / 2, DW_EVEN(lo, hi));
        DW_STORE(o + i / 2, DW_ODD(lo, hi));
    }
#else
    for (; i + 1 < n; i += 2) {
        e[i / 2] = s[i];
        o[i / 2] = s[i + 1];
    }
    if (i < n) e[i / 2] = s[i];
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
    size_t PR = nb + g->rowoff, PW = g->PW, sw = p->sw, pl = p->pad_left;
    /* stride 2 reading both column phases: input column c goes to phase (c + pl) % 2,
     * column (c + pl) / 2, for the columns that land before PW */
    int split = sw == 2 && g->used_b == 3u;
    /* with one band per plane, padding rows and slack hold zeros from the start */
    int dirty = g->band < p->OH;
    size_t nsplit = split && 2 * PW > pl ? 2 * PW - pl : 0;
    if (nsplit > p->IW) nsplit = p->IW;
    for (size_t a = 0; a < p->sh; a++) {
        if (!(g->used_a >> a & 1u)) continue;
        float *pa = g->planes + a * sw * g->PS;
        for (size_t i = 0; i < PR; i++) {
            size_t R = (oy0 + i) * p->sh + a; /* row of the padded input */
            if (!x || R < p->pad_top || R - p->pad_top >= p->IH) {
                for (size_t b = 0; b < sw && dirty; b++)
                    if (g->used_b >> b & 1u) DW_NAME(dw_zero)(pa + b * g->PS + i * PW, PW);
                continue;
            }
            const float *row = x + (R - p->pad_top) * p->IW;
            if (split) {
                if (nsplit)
                    DW_NAME(dw_split2)(pa + (pl % 2) * g->PS + i * PW + pl / 2,
                                       pa + ((pl + 1) % 2) * g->PS + i * PW + (pl + 1) / 2, row,
                                       nsplit);
                continue;
            }
            for (size_t b = 0; b < sw; b++) {
                size_t jlo = g->jlo[b], n = g->ncol[b];
                if (!(g->used_b >> b & 1u) || !n) continue;
                float *dst = pa + b * g->PS + i * PW + jlo;
                const float *src = row + g->xcol[b];
                if (sw == 1)
                    DW_NAME(dw_copy_spill)(dst, src, n);
                else if (sw == 2)
                    DW_NAME(dw_gather2)(dst, src, n);
                else
                    for (size_t j = 0; j < n; j++) dst[j] = src[j * sw];
            }
        }
        for (size_t b = 0; b < sw && dirty; b++)
            if (g->used_b >> b & 1u)
                DW_NAME(dw_zero)(pa + b * g->PS + PR * PW, g->coloff + OX_DW_SLACK);
    }
}

/* Bias plus every tap for U output vectors at flat positions q, q + DW_V, ... The tap
 * loop is the outer one so that U accumulators hide the FMA latency.
 * K == 0: T taps (0: g->T, a loop not unrolled), each read at its offset
 * (unaligned loads).
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
    if (T) {
        DW_UNROLL_TAPS for (size_t t = 0; t < T; t++) {
            dw_vec wv = DW_SET1(w[t]);
            const float *s = base + toff[t];
            DW_UNROLL for (int u = 0; u < U; u++)
                acc[u] = DW_FMA(wv, DW_LOAD(s + (size_t)u * DW_V), acc[u]);
        }
        return;
    }
    for (size_t t = 0, n = g->T; t < n; t++) {
        dw_vec wv = DW_SET1(w[t]);
        const float *s = base + toff[t];
        DW_UNROLL for (int u = 0; u < U; u++)
            acc[u] = DW_FMA(wv, DW_LOAD(s + (size_t)u * DW_V), acc[u]);
    }
}

/* dw_acc for the vectors [k, k + U) of a run, the clamp, and their stores: to
 * dst + (k + u) * DW_V, the run's last vector (index nv - 1) keeping `last` lanes;
 * or, with `compress` (flat runs, sets with DW_COMPRESS), the valid lanes of each
 * vector packed to dst + cpos[k + u], as the band's output rows lie in y. There a
 * whole store is used whenever the floats it writes past its own are inside the
 * band: the following vectors overwrite them. */
DW_AI void DW_NAME(dw_vecs)(const ox_dw_geom *g, const float *w, dw_vec bias, size_t T, int K,
                            int S, size_t q0, size_t k, int U, size_t nv, size_t last, float *dst,
                            int compress, size_t total) {
    dw_vec acc[8];
    DW_NAME(dw_acc)(g, w, bias, T, q0 + k * DW_V, U, K, S, acc);
    if (g->p->clamp) {
        dw_vec lo = DW_SET1(g->p->lo), hi = DW_SET1(g->p->hi);
        DW_UNROLL for (int u = 0; u < U; u++) acc[u] = DW_CLAMP(acc[u], lo, hi);
    }
#ifdef DW_COMPRESS
    if (compress) {
        DW_UNROLL for (int u = 0; u < U; u++) {
            size_t i = k + (size_t)u, pos = g->cpos[i], end = g->cpos[i + 1];
            dw_vec v = DW_COMPRESS(acc[u], g->cmask[i]);
            if (pos + DW_V <= total)
                DW_STORE(dst + pos, v);
            else if (pos < total)
                DW_STOREN(dst + pos, v, (end < total ? end : total) - pos);
        }
        return;
    }
#endif
    (void)compress;
    (void)total;
    DW_UNROLL for (int u = 0; u < U; u++) {
        float *d = dst + (k + (size_t)u) * DW_V;
        if (k + (size_t)u + 1 == nv && last < DW_V)
            DW_STOREN(d, acc[u], last);
        else
            DW_STORE(d, acc[u]);
    }
}

/* Vectors [0, nv) of a run from flat position q0, eight at a time, then the rest in
 * one block: a block's accumulators are independent, while blocks in sequence would
 * each wait out the FMA latency of their taps (and computing a whole block of 8 for
 * the rest costs more than the code of seven block sizes). */
DW_AI void DW_NAME(dw_run)(const ox_dw_geom *g, const float *w, dw_vec bias, size_t T, int K,
                           int S, size_t q0, size_t nv, size_t last, float *dst, int compress,
                           size_t total) {
    size_t k = 0;
    for (; k + 8 <= nv; k += 8)
        DW_NAME(dw_vecs)(g, w, bias, T, K, S, q0, k, 8, nv, last, dst, compress, total);
    size_t r = nv - k;
#define DW_REST(m)                                                                               \
    case m: DW_NAME(dw_vecs)(g, w, bias, T, K, S, q0, k, m, nv, last, dst, compress, total); break;
    switch (r) {
        DW_REST(1)
        DW_REST(2)
        DW_REST(3)
        DW_REST(4)
        DW_REST(5)
        DW_REST(6)
        DW_REST(7)
    default: break;
    }
#undef DW_REST
}

typedef void (*DW_NAME(dw_run_fn))(const ox_dw_geom *g, const float *w, dw_vec bias, size_t q0,
                                   size_t nv, size_t last, float *dst, int compress,
                                   size_t total);

/* Output rows [0, nb) of the filled band into y (the band's first output row) with
 * `run`, a dw_run for one filter. Rows of a few vectors waste lanes at their ends:
 * there (g->flat) the band is computed as one flat run over PW-wide rows, packed
 * into y or computed into tmp and copied. */
DW_AI void DW_NAME(dw_band)(const ox_dw_geom *g, const float *w, float bias, float *y, size_t nb,
                            DW_NAME(dw_run_fn) run) {
    size_t OW = g->p->OW, PW = g->PW;
    dw_vec bv = DW_SET1(bias);
    if (g->flat) {
        size_t nf = (nb * PW + DW_V - 1) / DW_V;
#ifdef DW_COMPRESS
        if (g->cmask) {
            run(g, w, bv, 0, nf, DW_V, y, 1, nb * OW);
            return;
        }
#endif
        run(g, w, bv, 0, nf, DW_V, g->tmp, 0, 0);
        /* later rows overwrite what a row spills; nothing past the band may be */
        size_t r = 0;
        for (; (r + 1) * OW + DW_V <= nb * OW; r++)
            DW_NAME(dw_copy_spill)(y + r * OW, g->tmp + r * PW, OW);
        for (; r < nb; r++) DW_NAME(dw_copy)(y + r * OW, g->tmp + r * PW, OW);
        return;
    }
    size_t nv = (OW + DW_V - 1) / DW_V, last = OW - (nv - 1) * DW_V;
    for (size_t r = 0; r < nb; r++) run(g, w, bv, r * PW, nv, last, y + r * OW, 0, 0);
}

/* One run function and one band function per filter: the common ones get their tap
 * loops unrolled. */
typedef void (*DW_NAME(dw_band_fn))(const ox_dw_geom *g, const float *w, float bias, float *y,
                                    size_t nb);
#define DW_BAND(name, T, K, S)                                                                  \
    static void DW_NAME(name##_run)(const ox_dw_geom *g, const float *w, dw_vec bias,          \
                                    size_t q0, size_t nv, size_t last, float *dst,              \
                                    int compress, size_t total) {                               \
        DW_NAME(dw_run)(g, w, bias, T, K, S, q0, nv, last, dst, compress, total);               \
    }                                                                                           \
    static void DW_NAME(name)(const ox_dw_geom *g, const float *w, float bias, float *y,       \
                              size_t nb) {                                                      \
        DW_NAME(dw_band)(g, w, bias, y, nb, DW_NAME(name##_run));                               \
    }
DW_BAND(dw_band9, 9, 0, 1)
DW_BAND(dw_band25, 25, 0, 1)
DW_BAND(dw_bandT, 0, 0, 1)
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
    size_t in_sp = p->IH * p->IW, xs = ox_dw_x_plane(p), ys = ox_dw_y_plane(p);
    DW_NAME(dw_band_fn) band = DW_NAME(dw_pick_band)(g);
    for (size_t pi = p0; pi < p1; pi++) {
        size_t ch = pi % C;
        const float *xp = in_sp ? x + pi * xs : NULL;
        const float *wp = w + ch * g->T;
        float b = bias ? bias[ch] : 0.0f;
        for (size_t oy0 = 0; oy0 < p->OH; oy0 += g->band) {
            size_t nb = p->OH - oy0 < g->band ? p->OH - oy0 : g->band;
            float *yb = y + pi * ys + oy0 * p->OW;
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
#undef DW_ASAN
