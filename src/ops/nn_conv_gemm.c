/* Conv on float32 as GEMMs: per image and group, Y_g (Mg x output positions) =
 * W_g (Mg x Cg*k) times the im2col matrix of X_g (Cg*k x output positions).
 *
 * W_g is packed once per plan by the prepack hook. The im2col matrix is never built:
 *  - 1x1, stride 1, no padding: the input already is that matrix.
 *  - other 1-D and 2-D convolutions: the image is first rewritten as zero-padded
 *    "phase" planes, one per stride phase (padded rows a, a+sy, a+2sy, ... and
 *    columns b, b+sx, ...). There, im2col row (ci, ky, kx) over the output grid
 *    j = oy*Wq + ox is one contiguous run: plane (ci, ky*dy mod sy, kx*dx mod sx)
 *    from offset (ky*dy/sy)*Wq + kx*dx/sx. The GEMM's packer then only copies runs
 *    (no index arithmetic per element, no bounds checks). The price: the grid rows
 *    are Wq >= OW wide, so a few columns per row are computed and dropped (for a 3x3
 *    stride-1 kernel, 2 of W+2). Those go to a scratch C, and the epilogue copies the
 *    kept ones to Y. On small images, where that would waste much, the packer
 *    copies the exact output positions instead (runs of OW, Wq apart).
 *  - 3x3 stride-1 layers with enough channels and tiles: Winograd (nn_conv_wino.c).
 *  - 3-D convolutions: a packer that computes each tap's source position.
 * The epilogue adds the bias and applies the fused activation to each finished tile
 * of C while it is still in cache. */
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/gemm.h"
#include "ops/nn_conv_direct.h"
#include "ops/nn_conv_chain.h"
#include "ops/nn_conv_oc.h"
#include "ops/nn_conv_wino_oc.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* ---- packed filters ---------------------------------------------------------- */

/* The filters of every group, packed for the GEMM, and the weights they were packed
 * from: a run with other weights (never in a plan) ignores them. */
typedef struct conv_packed {
    const float *w;
    size_t groups;
    ox_conv_wino *wino; /* also transformed for Winograd, where that may apply */
    float *direct;      /* instead, for nn_conv_direct.c, where that applies */
    float *oc;          /* instead, for nn_conv_oc.c, where that applies */
    float *wino_oc;     /* instead, for nn_conv_wino_oc.c, where that applies */
    ox_sgemm_packed *g[];
} conv_packed;

void ox_nn_conv_free_prepacked(void *p) {
    conv_packed *cp = p;
    if (!cp) return;
    ox_conv_direct_free(cp->direct);
    ox_conv_oc_free(cp->oc);
    ox_conv_wino_oc_free(cp->wino_oc);
    for (size_t i = 0; i < cp->groups; i++) ox_sgemm_packed_free(cp->g[i]);
    ox_conv_wino_free(cp->wino);
    ox_free(cp);
}

/* Whether the attributes allow Winograd (3x3, stride 1, dilation 1, one group, enough
 * channels); the input shape decides at run time (ox_conv_wino_applies). */
static int wino_candidate(const ox_conv_state *st, const ox_tensor *W) {
    if (W->rank != 4 || W->dims[2] != 3 || W->dims[3] != 3 || st->group != 1) return 0;
    if (W->dims[0] < 16 || W->dims[1] < 16) return 0;
    for (size_t i = 0; i < st->wa.n_strides; i++)
        if (st->wa.strides[i] != 1) return 0;
    for (size_t i = 0; i < st->wa.n_dilations; i++)
        if (st->wa.dilations[i] != 1) return 0;
    return 1;
}

/* Whether a 1x1 Conv with a fused channel scale scales its filters rather than its
 * input: W diag(s) has Mg x C products, diag(s) X has C x positions, and the input is
 * then read in place as an unscaled one is, where packing it scaled copies all of it.
 * The filters are scaled into the step's workspace and the GEMM packs them, two
 * passes over them: with positions under 4 x Mg that costs more than it saves
 * (efficientnet_b0's 672 -> 112 channels on 14x14: 0.148 -> 0.161 ms); from there on
 * it wins (32 -> 16 on 112x112: 0.201 -> 0.098 ms; 144 -> 24 on 56x56: 0.143 ->
 * 0.096). */
int ox_conv_scales_filters(const ox_conv_geom *g) {
    return g->pointwise && g->scaled && g->G == 1 && g->out_sp >= 4 * g->Mg;
}

const ox_sgemm_packed *ox_conv_gemm_packed(const ox_op_ctx *c) {
    const conv_packed *cp = c->prepacked;
    if (!cp || !ox_has_input(c, 1) || cp->w != c->in[1]->data || cp->groups != 1) return NULL;
    return cp->g[0];
}

onyx_status ox_nn_conv_prepack(ox_op_ctx *c, void **out) {
    /* few taps per output, or channels in lanes: that kernel's filters alone (a
     * chained 1x1 Conv runs as a GEMM) */
    float *dpk = NULL, *opk = NULL, *wpk = NULL;
    if (!c->chained) OX_TRY(ox_conv_wino_oc_prepack(c, &wpk));
    if (!wpk && !c->chained) OX_TRY(ox_conv_direct_prepack(c, &dpk));
    if (!wpk && !dpk && !c->chained) OX_TRY(ox_conv_oc_prepack(c, &opk));
    if (dpk || opk || wpk) {
        conv_packed *dp = ox_calloc(1, sizeof *dp);
        if (!dp) {
            ox_conv_direct_free(dpk);
            ox_conv_oc_free(opk);
            ox_conv_wino_oc_free(wpk);
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing the filters");
        }
        dp->w = c->in[1]->data;
        dp->direct = dpk;
        dp->oc = opk;
        dp->wino_oc = wpk;
        *out = dp;
        /* these kernels' workspace is their packed filters, now made: the run (with
         * this plan's shapes, which chose the kernel) needs none */
        c->workspace_bytes = 0;
        return ONYX_OK;
    }
    const ox_tensor *W = ox_has_input(c, 1) ? c->in[1] : NULL;
    const ox_conv_state *st = c->state;
    if (!W || !W->data || W->dtype != ONYX_DTYPE_FLOAT || W->rank < 3 || W->rank > 5 ||
        st->group < 1)
        return ONYX_OK;
    size_t M = (size_t)W->dims[0], G = (size_t)st->group;
    size_t kdim = M ? ox_tensor_count(W) / M : 0;
    if (M == 0 || kdim == 0 || M % G) return ONYX_OK; /* run reports the problem */
    size_t Mg = M / G;
    if (Mg == 1 && W->dims[1] == 1) return ONYX_OK; /* depthwise: kernels/dwconv */
    /* With X's shape known (static plans) only the form the run will take is packed;
     * otherwise the direct one, plus Winograd's where the attributes allow it. */
    int wino = wino_candidate(st, W), direct = 1;
    const ox_tensor *X = ox_has_input(c, 0) ? c->in[0] : NULL;
    ox_conv_geom g;
    if (X && X->rank == W->rank && ox_conv_geom_of(c, X, W, NULL, &g) == ONYX_OK) {
        wino = ox_conv_wino_applies(&g);
        direct = !wino && !ox_conv_scales_filters(&g); /* scaled filters are packed per run */
    }
    ox_error_clear();
    conv_packed *cp = ox_calloc(1, sizeof *cp + G * sizeof cp->g[0]);
    if (!cp) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing the filters");
    cp->w = W->data;
    cp->groups = G;
    for (size_t gi = 0; direct && gi < G; gi++) {
        cp->g[gi] = ox_sgemm_pack(0, 0, Mg, kdim, (const float *)W->data + gi * Mg * kdim, kdim);
        if (!cp->g[gi]) {
            ox_nn_conv_free_prepacked(cp);
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing the filters");
        }
    }
    if (wino && !(cp->wino = ox_conv_wino_pack(W->data, M, (size_t)W->dims[1]))) {
        ox_nn_conv_free_prepacked(cp);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing the filters");
    }
    *out = cp;
    return ONYX_OK;
}

/* ---- phase planes (1-D and 2-D) ------------------------------------------------ */

typedef struct phase_geom {
    size_t sy, sx;   /* strides: phases per dim */
    size_t Hp, Wp;   /* the padded extent the outputs read */
    size_t Hq, Wq;   /* one phase plane */
    size_t plane;    /* Hq * Wq */
    size_t planes;   /* floats of all Cg * sy * sx planes, plus a zero tail */
    int wide;        /* the GEMM runs over the grid of Wq-wide rows and drops Wq - OW */
} phase_geom;

static int uses_phases(const ox_conv_geom *g) { return g->w.nd <= 2 && !g->pointwise; }

/* The sizes of one image's planes. 0 on overflow. */
static int phase_geom_of(const ox_conv_geom *g, phase_geom *ph) {
    const ox_window *w = &g->w;
    size_t OH = (size_t)w->out[1], OW = (size_t)w->out[2];
    ph->sy = (size_t)w->s[1];
    ph->sx = (size_t)w->s[2];
    ph->Hp = (OH - 1) * ph->sy + (size_t)((w->k[1] - 1) * w->d[1]) + 1;
    ph->Wp = (OW - 1) * ph->sx + (size_t)((w->k[2] - 1) * w->d[2]) + 1;
    ph->Hq = (ph->Hp + ph->sy - 1) / ph->sy;
    ph->Wq = (ph->Wp + ph->sx - 1) / ph->sx;
    /* the wide grid when it wastes little (large images); else exact positions */
    ph->wide = ph->Wq != OW && (ph->Wq - OW) * 8 <= OW;
    /* the last grid columns of a run read up to (kw-1)*dw/sw past its plane */
    size_t tail = (size_t)((w->k[2] - 1) * w->d[2]) / ph->sx + 1, n;
    return ox_mul_ok(ph->Hq, ph->Wq, &ph->plane) && ox_mul_ok(g->Cg, ph->sy * ph->sx, &n) &&
           ox_mul_ok(n, ph->plane, &n) && ox_add_ok(n, tail, &ph->planes);
}

typedef struct phase_task {
    const ox_conv_geom *g;
    const phase_geom *ph;
    const float *x; /* Cg x in_sp */
    float *xq;
} phase_task;

/* Channels [c0, c1): every phase plane of each. */
static void build_phases(void *arg, size_t c0, size_t c1) {
    const phase_task *t = arg;
    const ox_window *w = &t->g->w;
    const phase_geom *ph = t->ph;
    const int64_t IH = w->in[1], IW = w->in[2], ph_h = w->pb[1], pw = w->pb[2];
    for (size_t ci = c0; ci < c1; ci++) {
        const float *xc = t->x + ci * t->g->in_sp;
        for (size_t a = 0; a < ph->sy; a++)
            for (size_t b = 0; b < ph->sx; b++) {
                float *dst = t->xq + ((ci * ph->sy + a) * ph->sx + b) * ph->plane;
                /* plane columns q whose padded column b + q*sx is an input column */
                int64_t sx = (int64_t)ph->sx, bb = (int64_t)b;
                int64_t lo = pw - bb <= 0 ? 0 : (pw - bb + sx - 1) / sx;
                int64_t end = IW + pw < (int64_t)ph->Wp ? IW + pw : (int64_t)ph->Wp;
                int64_t hi = end - bb <= 0 ? 0 : (end - bb + sx - 1) / sx;
                if (hi > (int64_t)ph->Wq) hi = (int64_t)ph->Wq;
                if (lo > hi) lo = hi;
                for (size_t r = 0; r < ph->Hq; r++) {
                    float *d = dst + r * ph->Wq;
                    int64_t R = (int64_t)(a + r * ph->sy), iy = R - ph_h;
                    if (R >= (int64_t)ph->Hp || iy < 0 || iy >= IH) {
                        memset(d, 0, ph->Wq * sizeof *d);
                        continue;
                    }
                    const float *src = xc + iy * IW;
                    memset(d, 0, (size_t)lo * sizeof *d);
                    if (sx == 1) {
                        memcpy(d + lo, src + lo + bb - pw, (size_t)(hi - lo) * sizeof *d);
                    } else {
                        for (int64_t q = lo; q < hi; q++) d[q] = src[bb + q * sx - pw];
                    }
                    memset(d + hi, 0, (ph->Wq - (size_t)hi) * sizeof *d);
                }
            }
    }
}

typedef struct phase_src {
    const ox_conv_geom *g;
    const phase_geom *ph;
    const float *xq;
} phase_src;

/* Row p's tap, as a pointer to grid position 0 in its phase plane. */
typedef struct tap_walk {
    size_t KH, KW, sy, sx, dy, dx, chan;
    size_t kx, ky, ci, ryq, ryr, rxq, rxr;
} tap_walk;

/* (ci, ky, kx) of row p0, then stepped along by tap_next; the tap's padded offsets
 * ry = ky*dy and rx = kx*dx are kept as quotient and remainder by the stride, so no
 * row needs a division. */
static void tap_start(tap_walk *tw, const phase_src *t, size_t p0) {
    const ox_window *w = &t->g->w;
    const phase_geom *ph = t->ph;
    tw->KH = (size_t)w->k[1];
    tw->KW = (size_t)w->k[2];
    tw->sy = ph->sy;
    tw->sx = ph->sx;
    tw->dy = (size_t)w->d[1];
    tw->dx = (size_t)w->d[2];
    tw->chan = tw->sy * tw->sx * ph->plane;
    tw->kx = p0 % tw->KW;
    tw->ky = p0 / tw->KW % tw->KH;
    tw->ci = p0 / (tw->KW * tw->KH);
    tw->ryq = tw->ky * tw->dy / tw->sy;
    tw->ryr = tw->ky * tw->dy % tw->sy;
    tw->rxq = tw->kx * tw->dx / tw->sx;
    tw->rxr = tw->kx * tw->dx % tw->sx;
}

static const float *tap_row(const tap_walk *tw, const phase_src *t) {
    return t->xq + tw->ci * tw->chan + (tw->ryr * tw->sx + tw->rxr) * t->ph->plane +
           tw->ryq * t->ph->Wq + tw->rxq;
}

static void tap_next(tap_walk *tw) {
    if (++tw->kx < tw->KW) {
        tw->rxq += tw->dx / tw->sx;
        tw->rxr += tw->dx % tw->sx;
        if (tw->rxr >= tw->sx) {
            tw->rxr -= tw->sx;
            tw->rxq++;
        }
        return;
    }
    tw->kx = tw->rxq = tw->rxr = 0;
    if (++tw->ky < tw->KH) {
        tw->ryq += tw->dy / tw->sy;
        tw->ryr += tw->dy % tw->sy;
        if (tw->ryr >= tw->sy) {
            tw->ryr -= tw->sy;
            tw->ryq++;
        }
        return;
    }
    tw->ky = tw->ryq = tw->ryr = 0;
    tw->ci++;
}

/* ox_sgemm_b_packer over the phase planes, for the wide grid (positions oy*Wq + ox):
 * every row of the strips is one contiguous run. */
static void phase_pack(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc, size_t nr,
                       float *dst) {
    const phase_src *t = ctx;
    const float *rows[64]; /* row starts, handed over 64 at a time */
    size_t n = 0, first = 0;
    tap_walk tw;
    tap_start(&tw, t, p0);
    for (size_t p = 0; p < kc; p++, tap_next(&tw)) {
        rows[n++] = tap_row(&tw, t) + j0;
        if (n == 64 || p + 1 == kc) {
            ox_sgemm_pack_rows(rows, NULL, n, nc, nr, kc * nr, dst + first * nr);
            first += n;
            n = 0;
        }
    }
}

/* ox_sgemm_b_packer over the phase planes for the exact output positions
 * (oy*OW + ox): each row of the strips is OW-long runs, Wq apart in the plane. Used
 * where the wide grid would waste much (small images). */
static void phase_pack_exact(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc,
                             size_t nr, float *dst) {
    const phase_src *t = ctx;
    size_t OW = (size_t)t->g->w.out[2], Wq = t->ph->Wq, strips = (nc + nr - 1) / nr;
    size_t oy0 = j0 / OW, ox0 = j0 % OW;
    tap_walk tw;
    tap_start(&tw, t, p0);
    for (size_t p = 0; p < kc; p++, tap_next(&tw)) {
        const float *src = tap_row(&tw, t);
        size_t q = 0, s = 0, lane = 0, oy = oy0, ox = ox0;
        while (q < nc) {
            size_t piece = OW - ox;
            if (piece > nc - q) piece = nc - q;
            if (piece > nr - lane) piece = nr - lane;
            float *d = dst + s * kc * nr + p * nr + lane;
            const float *sp = src + oy * Wq + ox;
            for (size_t k = 0; k < piece; k++) d[k] = sp[k];
            q += piece;
            ox += piece;
            lane += piece;
            if (ox == OW) {
                ox = 0;
                oy++;
            }
            if (lane == nr) {
                lane = 0;
                s++;
            }
        }
        if (lane) memset(dst + s * kc * nr + p * nr + lane, 0, (nr - lane) * sizeof *dst);
        for (s++; s < strips; s++) memset(dst + s * kc * nr + p * nr, 0, nr * sizeof *dst);
    }
}

/* ---- general packer (3-D) --------------------------------------------------------- */

typedef struct im2col_src {
    const ox_conv_geom *g;
    const float *x; /* Cg x in_sp */
} im2col_src;

/* ox_sgemm_b_packer: rows [p0, p0+kc) (channel, kd, kh, kw) by output positions
 * [j0, j0+nc) of the im2col matrix. Positions go by runs along one output row, so a
 * tap's source is a strided run of one input row, with padding read as zero. */
static void im2col_pack(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc, size_t nr,
                        float *dst) {
    const im2col_src *t = ctx;
    const ox_conv_geom *g = t->g;
    const ox_window *w = &g->w;
    const int64_t ID = w->in[0], IH = w->in[1], IW = w->in[2];
    const size_t OH = (size_t)w->out[1], OW = (size_t)w->out[2];
    size_t strips = (nc + nr - 1) / nr;
    for (size_t p = 0; p < kc; p++) {
        size_t r = p0 + p;
        int64_t kx = (int64_t)(r % (size_t)w->k[2]);
        int64_t ky = (int64_t)(r / (size_t)w->k[2] % (size_t)w->k[1]);
        int64_t kz = (int64_t)(r / (size_t)(w->k[2] * w->k[1]) % (size_t)w->k[0]);
        const float *xc = t->x + r / g->k_sp * g->in_sp;
        int64_t off_x = kx * w->d[2] - w->pb[2], sx = w->s[2], lo, hi;
        ox_tap_range(IW, sx, off_x, (int64_t)OW, &lo, &hi); /* columns inside the input */
        size_t j = j0, end = j0 + nc;
        size_t flat = j / OW, o = j % OW;
        while (j < end) {
            int64_t oz = (int64_t)(flat / OH), oy = (int64_t)(flat % OH);
            int64_t iz = oz * w->s[0] - w->pb[0] + kz * w->d[0];
            int64_t iy = oy * w->s[1] - w->pb[1] + ky * w->d[1];
            int inside = iz >= 0 && iz < ID && iy >= 0 && iy < IH;
            const float *src = inside ? xc + (iz * IH + iy) * IW : NULL;
            size_t seg_end = j + (OW - o) < end ? j + (OW - o) : end;
            while (j < seg_end) { /* pieces that stay within one strip */
                size_t q = j - j0, lane = q % nr, piece = nr - lane;
                if (piece > seg_end - j) piece = seg_end - j;
                float *d = dst + (q / nr) * kc * nr + p * nr + lane;
                int64_t a = (int64_t)o, b = (int64_t)(o + piece);
                if (!inside || b <= lo || a >= hi) {
                    memset(d, 0, piece * sizeof *d);
                } else {
                    int64_t m0 = a > lo ? a : lo, m1 = b < hi ? b : hi;
                    for (int64_t k = a; k < m0; k++) d[k - a] = 0.0f;
                    for (int64_t k = m0; k < m1; k++) d[k - a] = src[k * sx + off_x];
                    for (int64_t k = m1; k < b; k++) d[k - a] = 0.0f;
                }
                j += piece;
                o += piece;
            }
            if (o == OW) {
                o = 0;
                flat++;
            }
        }
        for (size_t q = nc; q < strips * nr; q++) dst[(q / nr) * kc * nr + p * nr + q % nr] = 0.0f;
    }
}

/* ---- epilogue -------------------------------------------------------------------- */

typedef struct conv_epilogue {
    const float *bias; /* the group's, or NULL */
    int act;
    float alpha, beta;
    float *y;          /* wide grids: the group's output, out_sp per channel */
    size_t Wq, OW, out_sp;
    const float *res;  /* a fused residual laid out as the group's output, or NULL */
} conv_epilogue;

/* rows x n floats at dst (row stride ld) += the residual at res (same stride), then
 * the activation kind: a fused Add (and Relu or Clip) after the bias. */
static void add_residual(float *dst, const float *res, size_t ld, size_t rows, size_t n, int kind,
                         float lo, float hi) {
    for (size_t i = 0; i < rows; i++)
        ox_bias_vec_act(dst + i * ld, dst + i * ld, res + i * ld, n, kind, lo, hi);
}

static void conv_epilogue_run(const void *ctx, float *c, size_t ldc, size_t i0, size_t rows,
                              size_t j0, size_t cols) {
    const conv_epilogue *e = ctx;
    int kind = ox_nn_bias_kind(e->act);
    int rest = e->act && kind == OX_BIAS_ONLY; /* applied by ox_act_apply after */
    int k1 = e->res ? OX_BIAS_ONLY : kind;       /* with a residual, act after adding it */
    const float *bias = e->bias ? e->bias + i0 : NULL;
    if (!e->y) { /* in place */
        ox_bias_act_rows(c, ldc, c, ldc, rows, cols, bias, k1, e->alpha, e->beta);
        if (e->res)
            add_residual(c, e->res + i0 * e->out_sp + j0, ldc, rows, cols, kind, e->alpha, e->beta);
        for (size_t i = 0; rest && i < rows; i++)
            ox_act_apply(c + i * ldc, cols, e->act, e->alpha, e->beta);
        return;
    }
    /* the tile's columns by runs along one grid row; the kept part of each run goes
     * to Y for all the tile's rows at once */
    size_t j = j0, end = j0 + cols, oy = j / e->Wq, ox = j % e->Wq;
    while (j < end) {
        size_t run = e->Wq - ox < end - j ? e->Wq - ox : end - j;
        if (ox < e->OW) {
            size_t keep = e->OW - ox < run ? e->OW - ox : run;
            size_t at = i0 * e->out_sp + oy * e->OW + ox;
            float *y = e->y + at;
            ox_bias_act_rows(y, e->out_sp, c + (j - j0), ldc, rows, keep, bias, k1, e->alpha,
                             e->beta);
            if (e->res) add_residual(y, e->res + at, e->out_sp, rows, keep, kind, e->alpha, e->beta);
            for (size_t i = 0; rest && i < rows; i++)
                ox_act_apply(y + i * e->out_sp, keep, e->act, e->alpha, e->beta);
        }
        j += run;
        ox += run;
        if (ox == e->Wq) {
            ox = 0;
            oy++;
        }
    }
}

/* ---- a channel scale fused in ------------------------------------------------------ */

/* B of a 1x1 Conv whose input channels are scaled first (the planner's fusion of a
 * squeeze-and-excitation Mul): row k is channel k of x times s[k], rounded as the Mul
 * rounds it. */
typedef struct scaled_src {
    const float *x, *s;
    size_t ld;
} scaled_src;

static void scaled_pack(const void *ctx, size_t p0, size_t kc, size_t j0, size_t nc, size_t nr,
                        float *dst) {
    const scaled_src *t = ctx;
    const float *rows[64];
    for (size_t p = 0; p < kc; p += 64) { /* 64 rows at a time */
        size_t n = kc - p < 64 ? kc - p : 64;
        for (size_t k = 0; k < n; k++) rows[k] = t->x + (p0 + p + k) * t->ld + j0;
        ox_sgemm_pack_rows(rows, t->s + p0 + p, n, nc, nr, kc * nr, dst + p * nr);
    }
}

/* ---- driver ----------------------------------------------------------------------- */

onyx_status ox_conv_gemm_workspace(const ox_conv_geom *g, size_t *bytes) {
    *bytes = 0;
    if (ox_conv_wino_oc_applies(g)) return ox_conv_wino_oc_workspace(g, bytes);
    if (ox_conv_direct_applies(g)) return ox_conv_direct_workspace(g, bytes);
    if (ox_conv_oc_applies(g)) return ox_conv_oc_workspace(g, bytes);
    if (ox_conv_scales_filters(g) && !ox_mul_ok(g->Mg * g->kdim, sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    if (!uses_phases(g) || g->out_sp == 0) return ONYX_OK;
    size_t wino = 0;
    if (ox_conv_wino_applies(g)) OX_TRY(ox_conv_wino_workspace(g, &wino));
    phase_geom ph;
    size_t n = 0;
    if (!phase_geom_of(g, &ph) ||
        (ph.wide && !ox_mul_ok(g->Mg * (size_t)g->w.out[1], ph.Wq, &n)) ||
        !ox_add_ok(ph.planes, n, &n) || !ox_mul_ok(n, sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    if (wino > *bytes) *bytes = wino;
    return ONYX_OK;
}

onyx_status ox_conv_gemm_f32(ox_op_ctx *c, const ox_conv_geom *g) {
    const float *X = c->in[0]->data, *W = c->in[1]->data;
    const float *B = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    const float *R = ox_has_input(c, 3) ? c->in[3]->data : NULL; /* fused residual */
    const float *S = ox_has_input(c, 4) ? c->in[4]->data : NULL; /* fused channel scale */
    float *Y = c->out[0]->data;
    const conv_packed *cp = c->prepacked;
    if (ox_conv_wino_oc_applies(g))
        return ox_conv_wino_oc_run(c, g, cp && cp->w == W ? cp->wino_oc : NULL);
    if (ox_conv_direct_applies(g))
        return ox_conv_direct_run(c, g, cp && cp->w == W ? cp->direct : NULL);
    if (ox_conv_oc_applies(g)) return ox_conv_oc_run(c, g, cp && cp->w == W ? cp->oc : NULL);
    if (cp && (cp->w != W || cp->groups != g->G)) cp = NULL;
    if (cp && cp->wino && ox_conv_wino_applies(g)) return ox_conv_wino_run(c, g, cp->wino);
    int phases = uses_phases(g);
    phase_geom ph;
    float *xq = NULL, *cbuf = NULL;
    if (phases) {
        if (!phase_geom_of(g, &ph) || !c->workspace)
            return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
        xq = c->workspace;
        cbuf = ph.wide ? xq + ph.planes : NULL;
        memset(xq + ph.planes - ((size_t)((g->w.k[2] - 1) * g->w.d[2]) / ph.sx + 1), 0,
               ((size_t)((g->w.k[2] - 1) * g->w.d[2]) / ph.sx + 1) * sizeof *xq);
    }
    for (size_t n = 0; n < g->N; n++) {
        for (size_t gi = 0; gi < g->G; gi++) {
            const float *x = X + (n * g->C + gi * g->Cg) * g->in_sp;
            float *y = Y + (n * g->M + gi * g->Mg) * g->out_sp;
            conv_epilogue ep = {.bias = B ? B + gi * g->Mg : NULL, .act = c->act,
                                .alpha = c->act_alpha, .beta = c->act_beta,
                                .out_sp = g->out_sp, .res = R ? R + (y - Y) : NULL};
            ox_sgemm_call call = {.M = g->Mg, .N = g->out_sp, .K = g->kdim, .alpha = 1.0f,
                                  .pa = cp ? cp->g[gi] : NULL, .A = W + gi * g->Mg * g->kdim,
                                  .lda = g->kdim, .C = y, .ldc = g->out_sp,
                                  .epilogue = conv_epilogue_run, .ep_ctx = &ep};
            phase_src psrc;
            im2col_src isrc = {.g = g, .x = x};
            scaled_src ssrc = {.x = x, .s = S ? S + n * g->C : NULL, .ld = g->out_sp};
            if (g->pointwise && S && ox_conv_scales_filters(g)) { /* W diag(s) X */
                if (!c->workspace)
                    return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
                float *ws = c->workspace;
                const float *s = S + n * g->C, *wg = W + gi * g->Mg * g->kdim;
                for (size_t m = 0; m < g->Mg; m++)
                    for (size_t k = 0; k < g->kdim; k++)
                        ws[m * g->kdim + k] = wg[m * g->kdim + k] * s[k];
                call.pa = NULL;
                call.A = ws;
                call.B = x;
                call.ldb = g->out_sp;
            } else if (g->pointwise && S) { /* B's rows scaled as they are packed */
                call.b_packer = scaled_pack;
                call.b_ctx = &ssrc;
            } else if (g->pointwise) {
                call.B = x;
                call.ldb = g->out_sp;
            } else if (phases) {
                phase_task pt = {.g = g, .ph = &ph, .x = x, .xq = xq};
                size_t grain = 1 + 65536 / (ph.plane * ph.sy * ph.sx + 1);
                ox_parallel_for(c->pool, g->Cg, grain, build_phases, &pt);
                psrc = (phase_src){.g = g, .ph = &ph, .xq = xq};
                call.b_packer = ph.wide || ph.Wq == (size_t)g->w.out[2] ? phase_pack
                                                                        : phase_pack_exact;
                call.b_ctx = &psrc;
                if (ph.wide) {
                    call.N = (size_t)g->w.out[1] * ph.Wq;
                    call.C = cbuf;
                    call.ldc = call.N;
                    ep.y = y;
                    ep.Wq = ph.Wq;
                    ep.OW = (size_t)g->w.out[2];
                    ep.out_sp = g->out_sp;
                }
            } else {
                call.b_packer = im2col_pack;
                call.b_ctx = &isrc;
            }
            /* bias, a residual and a ReLU or Clip go into the micro-kernel's
             * stores; the epilogue is left with other activations and the wide
             * grid's copy (and the residual there: it is laid out as Y, not C) */
            float lo = 0.0f, hi = 0.0f;
            int clamp = ox_nn_act_clamp(c, &lo, &hi);
            if ((!R || !ep.y) && (!c->act || clamp)) {
                call.row_bias = ep.bias;
                call.residual = ep.res;
                call.row_clamp = clamp;
                call.row_lo = lo;
                call.row_hi = hi;
                ep.bias = NULL;
                ep.res = NULL;
                ep.act = 0;
            }
            if (!ep.bias && !ep.act && !ep.y && !ep.res) call.epilogue = NULL;
            if (ox_sgemm_run(&call, c->pool))
                return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
        }
    }
    return ONYX_OK;
}
