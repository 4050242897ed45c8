/* An inverted-residual block as one parallel region: a 1x1 Conv that widens the
 * channels (the expansion), a depthwise Conv, and a 1x1 Conv that narrows them again
 * (the projection, with its fused residual Add), run band of rows by band of rows.
 * Where something else reads the depthwise output (efficientnet's squeeze-and-
 * excitation pools it), the chain is the first two and writes that output's rows;
 * where there is no expansion (mobilenet_v2's first block), the last two.
 *
 * Run op by op, each Conv splits its own work across the threads: the GEMMs by
 * positions, the depthwise one by channels, so at 2 threads half of what each op
 * reads was written by the other core, which on a machine whose cores share no cache
 * costs 3-4x reading one's own (docs/status.md); the depthwise layers ran no faster
 * at 2 threads than at 1. Here each thread takes a range of output rows and takes it
 * through all three Convs in its own scratch: the expansion's rows (kept from one
 * band to the next, so only the range's first band computes its halo) and the
 * depthwise output never leave its cache, and the only rows it reads that the other
 * thread wrote are the block input's (the previous block's output, also by rows). */
#include "ops/nn_conv_chain.h"

#include <stdatomic.h>
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/dwconv.h"
#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/scratch.h"
#include "util/threadpool.h"

#define CHAIN_SCRATCH 4 /* util/scratch.h slot: GEMM packing uses 0 and 1, dwconv 2 */
/* A band's expansion rows and depthwise output stay about this size: in L2 beside
 * the GEMMs' packed strips. mobilenet_v2 at 2 threads against the Convs run one by
 * one: 192 KB -15%, 384 KB -19 to -21%, 512 KB -19%, 768 KB -18%. */
#define CHAIN_BAND_BYTES ((size_t)384 << 10)
/* Chains run at 2 threads or more, on maps of at least this many output rows per
 * thread, where the expansion rows each range's halo computes again are a sixth of
 * the input rows at most. Short GEMMs waste the micro-kernel's tiles, and a 7x7 map
 * split in 4 and 3 rows computes 2 of its 7 rows twice: mobilenet_v2 at 2 threads,
 * its 7x7 blocks chained as well (3 rows per thread): -17% against -21% without
 * them; its 14x14 maps left out (8 rows): -11%. efficientnet_b0's 5x5 filters on
 * 14x14 maps (4 rows of 14 twice) left out: 2% faster. At 1 thread, with nothing
 * crossing cores to save, all its blocks chained made mobilenet_v2 6% slower
 * (band-sized GEMMs, a depthwise call per band): there only large maps are (below). */
#define CHAIN_MIN_ROWS 5
/* At 1 thread a chain runs where the expansion's output would not stay in L2 (1 MB
 * per core here): written whole, it goes out to L3 and comes back for the depthwise
 * Conv, while a band's rows stay in L2. mobilenet_v2 at 1 thread with its 112x112 and
 * 56x56 blocks chained (1.8-4.8 MB): -2.2%, efficientnet_b0 -0.7%; with its 28x28
 * ones too (0.6-0.75 MB) +1.1% and +0.6% on that. */
#define CHAIN_ALONE_MIN_BYTES ((size_t)1 << 20)

/* The geometries of the chain's n Convs, checked; 0 when the chain cannot run them.
 * The depthwise Conv is g[*d]: 1 after an expansion, 0 when the chain starts with it
 * (then a projection follows). */
static int chain_geoms(ox_op_ctx *const *ctx, size_t n, ox_conv_geom *g, size_t *d) {
    if (n < 2 || n > OX_CHAIN_STEPS) return 0;
    for (size_t i = 0; i < n; i++) {
        const ox_op_ctx *c = ctx[i];
        if (c->n_in < 2 || !c->in[0] || !c->in[1] || c->in[0]->dtype != ONYX_DTYPE_FLOAT ||
            c->in[1]->dtype != ONYX_DTYPE_FLOAT || c->in[0]->rank != 4 || c->in[1]->rank != 4 ||
            ox_has_input(c, 4))
            return 0;
        if (ox_has_input(c, 2) && c->in[2]->dtype != ONYX_DTYPE_FLOAT) return 0;
        int ok = ox_conv_geom_of(c, c->in[0], c->in[1], ox_has_input(c, 2) ? c->in[2] : NULL,
                                 &g[i]) == ONYX_OK;
        ox_error_clear();
        if (!ok) return 0;
    }
    *d = n == 2 && g[0].depthwise ? 0 : 1;
    const ox_window *w = &g[*d].w;
    if (!g[*d].depthwise || w->nd != 2 || w->out[1] < 1 || w->out[2] < 1) return 0;
    if (*d == 1 && (!g[0].pointwise || g[0].G != 1 || g[1].C != g[0].M || g[0].N != g[1].N))
        return 0;
    /* a fused residual only on the projection */
    for (size_t i = 0; i <= *d; i++)
        if (ox_has_input(ctx[i], 3)) return 0;
    if (*d + 1 == n) return 1; /* no projection */
    const ox_conv_geom *gp = &g[n - 1];
    if (!gp->pointwise || gp->G != 1 || gp->C != g[*d].M || gp->N != g[*d].N) return 0;
    if (ox_has_input(ctx[n - 1], 3)) { /* the residual: laid out as the output, then the act */
        const ox_tensor *R = ctx[n - 1]->in[3];
        float lo, hi;
        if (R->dtype != ONYX_DTYPE_FLOAT || R->rank != 4 || (size_t)R->dims[0] != gp->N ||
            (size_t)R->dims[1] != gp->M || R->dims[2] != w->out[1] || R->dims[3] != w->out[2] ||
            (ctx[n - 1]->act && !ox_nn_act_clamp(ctx[n - 1], &lo, &hi)))
            return 0;
    }
    return 1;
}

int ox_conv_chain_applies(ox_op_ctx *const *ctx, size_t n, size_t threads) {
    ox_conv_geom g[OX_CHAIN_STEPS];
    size_t d;
    if (!chain_geoms(ctx, n, g, &d)) return 0;
    const ox_window *w = &g[d].w;
    /* the intermediate written whole when run op by op: the expansion's output, or
     * the depthwise output where the chain starts with the depthwise Conv */
    size_t mid = d ? (size_t)w->in[1] * (size_t)w->in[2] : (size_t)w->out[1] * (size_t)w->out[2];
    if (threads < 2) return g[d].C * mid * sizeof(float) >= CHAIN_ALONE_MIN_BYTES;
    /* expansion rows computed twice: each range's halo */
    size_t halo = d ? (size_t)((w->k[1] - 1) * w->d[1] + 1 - w->s[1]) * (threads - 1) : 0;
    return (size_t)w->out[1] >= CHAIN_MIN_ROWS * threads && halo * 6 <= (size_t)w->in[1];
}

typedef struct chain_task {
    const ox_conv_geom *g; /* [n] */
    ox_op_ctx *const *ctx;
    size_t n;         /* Convs in the chain */
    size_t d;         /* the depthwise one: 1 after an expansion, 0 when it comes first */
    int proj;         /* a projection follows it (the last Conv); else its output is the chain's */
    const ox_sgemm_packed *pa, *pc; /* the expansion's and the projection's filters, or NULL */
    const float *x, *res;
    float *y;
    size_t ranges;    /* row ranges per image */
    size_t band;      /* output rows per band */
    size_t erows;     /* expansion rows a band holds at most (0: no expansion) */
    size_t bytes;     /* scratch per thread */
    atomic_int failed;
} chain_task;

/* Input rows [lo, hi) that output rows [r0, r1) of the depthwise Conv read. */
static void rows_read(const ox_window *w, size_t r0, size_t r1, size_t *lo, size_t *hi) {
    int64_t a = (int64_t)r0 * w->s[1] - w->pb[1];
    int64_t b = ((int64_t)r1 - 1) * w->s[1] - w->pb[1] + (w->k[1] - 1) * w->d[1] + 1;
    if (a < 0) a = 0;
    if (b > w->in[1]) b = w->in[1];
    if (b < a) b = a;
    *lo = (size_t)a;
    *hi = (size_t)b;
}

/* The bias and an activation other than ReLU or Clip, on a finished tile of C: as the
 * Conv's own GEMM path applies them (ox_conv_gemm_f32), in one pass where it can. */
static void act_epilogue(const void *ctx, float *c, size_t ldc, size_t i0, size_t rows,
                         size_t j0, size_t cols) {
    const ox_op_ctx *op = ctx;
    (void)j0;
    int kind = ox_nn_bias_kind(op->act);
    const float *bias = ox_has_input(op, 2) ? (const float *)op->in[2]->data + i0 : NULL;
    ox_bias_act_rows(c, ldc, c, ldc, rows, cols, bias, kind, op->act_alpha, op->act_beta);
    if (kind == OX_BIAS_ONLY)
        for (size_t i = 0; i < rows; i++)
            ox_act_apply(c + i * ldc, cols, op->act, op->act_alpha, op->act_beta);
}

/* A 1x1 Conv on n positions: y (ldc) = W b (ldb) with its bias, residual and act. */
static void gemm_rows(ox_op_ctx *c, const ox_conv_geom *g, const ox_sgemm_packed *pa,
                      const float *b, size_t ldb, size_t n, float *y, size_t ldc,
                      const float *res, atomic_int *failed) {
    ox_sgemm_call call = {.M = g->M, .N = n, .K = g->C, .alpha = 1.0f, .pa = pa,
                          .A = c->in[1]->data, .lda = g->C, .B = b, .ldb = ldb, .C = y,
                          .ldc = ldc, .residual = res};
    call.row_clamp = ox_nn_act_clamp(c, &call.row_lo, &call.row_hi);
    if (c->act && !call.row_clamp) {
        call.epilogue = act_epilogue;
        call.ep_ctx = c;
    } else {
        call.row_bias = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    }
    if (ox_sgemm_run(&call, NULL)) atomic_store(failed, 1);
}

/* Ranges [i0, i1): range i is image i / ranges, its share i % ranges of the rows. */
static void chain_ranges(void *arg, size_t i0, size_t i1) {
    chain_task *t = arg;
    const ox_conv_geom *gd = &t->g[t->d], *gp = &t->g[t->n - 1];
    const ox_window *w = &gd->w;
    size_t E = gd->C, H = (size_t)w->in[1], W = (size_t)w->in[2];
    size_t OH = (size_t)w->out[1], OW = (size_t)w->out[2];
    /* plane strides of the expansion rows and (with a projection) the depthwise output's */
    size_t ep = t->erows * W, dp = t->proj ? t->band * OW : OH * OW;
    float *ebuf = ox_scratch(CHAIN_SCRATCH, t->bytes);
    if (!ebuf) {
        atomic_store(&t->failed, 1);
        return;
    }
    float *dbuf = ebuf + E * ep;
    ox_op_ctx *cd = t->ctx[t->d];
    ox_dwconv2d dw = {.IW = W, .OW = OW, .KH = (size_t)w->k[1], .KW = (size_t)w->k[2],
                      .sh = (size_t)w->s[1], .sw = (size_t)w->s[2], .dh = (size_t)w->d[1],
                      .dw = (size_t)w->d[2], .pad_left = (size_t)w->pb[2],
                      .x_plane = t->d ? ep : H * W, .y_plane = dp};
    dw.clamp = ox_nn_act_clamp(cd, &dw.lo, &dw.hi);
    if (!dw.clamp && cd->act) { /* as the depthwise Conv run alone applies it */
        dw.post = ox_nn_post_act;
        dw.post_ctx = cd;
    }
    const float *wd = cd->in[1]->data, *bd = ox_has_input(cd, 2) ? cd->in[2]->data : NULL;
    for (size_t i = i0; i < i1 && !atomic_load(&t->failed); i++) {
        size_t n = i / t->ranges, part = i % t->ranges;
        size_t R0 = part * OH / t->ranges, R1 = (part + 1) * OH / t->ranges;
        const float *x = t->x + n * t->g[0].C * H * W;
        float *y = t->y + n * gp->M * gp->out_sp;
        const float *res = t->res ? t->res + n * gp->M * gp->out_sp : NULL;
        size_t have_lo = 0, have_hi = 0; /* expansion rows in ebuf: [have_lo, have_hi) */
        for (size_t r0 = R0; r0 < R1; r0 += t->band) {
            size_t r1 = r0 + t->band < R1 ? r0 + t->band : R1, lo, hi;
            rows_read(w, r0, r1, &lo, &hi);
            const float *rows = x + lo * W; /* the depthwise Conv's input rows [lo, hi) */
            if (t->d) {
                size_t keep = 0;
                if (have_hi > have_lo && lo >= have_lo && lo < have_hi && hi >= have_hi) {
                    keep = have_hi - lo;
                    if (lo > have_lo)
                        for (size_t e = 0; e < E; e++)
                            memmove(ebuf + e * ep, ebuf + e * ep + (lo - have_lo) * W,
                                    keep * W * sizeof(float));
                }
                if (hi > lo + keep)
                    gemm_rows(t->ctx[0], &t->g[0], t->pa, x + (lo + keep) * W, H * W,
                              (hi - lo - keep) * W, ebuf + keep * W, ep, NULL, &t->failed);
                have_lo = lo;
                have_hi = hi;
                rows = ebuf;
            }
            /* rows [lo, hi) as a plane of their own: padding above it only at the top */
            dw.IH = hi - lo;
            dw.OH = r1 - r0;
            dw.pad_top = (size_t)((int64_t)lo - ((int64_t)r0 * w->s[1] - w->pb[1]));
            if (!t->proj) { /* the depthwise output's rows in place */
                ox_dwconv2d_f32(&dw, E, 0, E, rows, wd, bd, y + r0 * OW);
                continue;
            }
            ox_dwconv2d_f32(&dw, E, 0, E, rows, wd, bd, dbuf);
            gemm_rows(t->ctx[t->n - 1], gp, t->pc, dbuf, dp, (r1 - r0) * OW, y + r0 * OW,
                      OH * OW, res ? res + r0 * OW : NULL, &t->failed);
        }
    }
}

onyx_status ox_conv_chain_run(ox_op_ctx *const *ctx, size_t n) {
    ox_conv_geom g[OX_CHAIN_STEPS];
    size_t d;
    if (!chain_geoms(ctx, n, g, &d))
        return ox_error(ONYX_ERR_RUNTIME, "the Conv chain's shapes changed since planning");
    int proj = d + 1 < n;
    const ox_window *w = &g[d].w;
    size_t E = g[d].C, W = (size_t)w->in[2], OH = (size_t)w->out[1], OW = (size_t)w->out[2];
    size_t sh = (size_t)w->s[1], reach = (size_t)((w->k[1] - 1) * w->d[1]) + 1;
    size_t threads = (size_t)ox_threadpool_size(ctx[0]->pool);
    chain_task t = {.g = g, .ctx = ctx, .n = n, .d = d, .proj = proj,
                    .pa = d ? ox_conv_gemm_packed(ctx[0]) : NULL,
                    .pc = proj ? ox_conv_gemm_packed(ctx[n - 1]) : NULL,
                    .x = ctx[0]->in[0]->data,
                    .res = proj && ox_has_input(ctx[n - 1], 3) ? ctx[n - 1]->in[3]->data : NULL,
                    .y = ctx[n - 1]->out[0]->data};
    atomic_init(&t.failed, 0);
    t.ranges = threads < OH ? threads : OH;
    /* bytes a band holds per output row: its expansion rows, the depthwise output */
    size_t per_row = E * ((d ? sh * W : 0) + (proj ? OW : 0)) * sizeof(float);
    size_t most = (OH + t.ranges - 1) / t.ranges;
    t.band = CHAIN_BAND_BYTES / (per_row ? per_row : 1);
    if (t.band < 1) t.band = 1;
    if (t.band > most) t.band = most;
    t.erows = d ? (t.band - 1) * sh + reach : 0;
    t.bytes = E * (t.erows * W + (proj ? t.band * OW : 0)) * sizeof(float);
    ox_parallel_for(ctx[0]->pool, g[0].N * t.ranges, 1, chain_ranges, &t);
    if (atomic_load(&t.failed))
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the Conv chain");
    return ONYX_OK;
}
