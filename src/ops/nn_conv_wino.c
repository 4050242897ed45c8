/* 3x3, stride-1 Conv by Winograd's F(2x2, 3x3): each 2x2 block of outputs comes from
 * a 4x4 block of inputs with 16 multiplications per channel pair instead of 36.
 *
 *   U = G g G^T  (filters, 4x4 per output/input channel pair; packed once per plan)
 *   V = B^T d B  (each 4x4 input tile, overlapping by 2)
 *   M = U . V    (16 GEMMs: M_k (Mg x T) = U_k (Mg x Cg) * V_k (Cg x T), T tiles)
 *   Y = A^T M A  (each tile's 2x2 outputs), then bias and activation
 *
 *   G = | 1    0    0  |   B^T = | 1  0 -1  0 |   A^T = | 1  1  1  0 |
 *       | 1/2  1/2  1/2|         | 0  1  1  0 |         | 0  1 -1 -1 |
 *       | 1/2 -1/2  1/2|         | 0 -1  1  0 |
 *       | 0    0    1  |         | 0  1  0 -1 |
 *
 * The transforms (kernels/wino.h) run over a vector of tiles of a tile row at once.
 * The input is first copied into zero-padded even and odd column planes, so the 4
 * columns of neighbouring tiles (2 apart) are 4 contiguous loads. The products are
 * 2.25 times fewer than the direct GEMM's; the transforms add passes over V and M,
 * so this pays where channels and tiles are many enough (ox_conv_wino_applies) and is
 * left to the direct path elsewhere. */
#include <stdatomic.h>
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/gemm.h"
#include "kernels/prefetch.h"
#include "kernels/wino.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

#define VL OX_WINO_VL /* the transforms touch up to this many tiles past a row */

int ox_conv_wino_applies(const ox_conv_geom *g) {
    const ox_window *w = &g->w;
    if (w->nd != 2 || g->G != 1 || w->k[1] != 3 || w->k[2] != 3) return 0;
    if (w->s[1] != 1 || w->s[2] != 1 || w->d[1] != 1 || w->d[2] != 1) return 0;
    if (w->pb[1] > 2 || w->pb[2] > 2) return 0;
    /* enough channels and tiles for the transforms to pay off */
    size_t tiles = (size_t)((w->out[1] + 1) / 2) * (size_t)((w->out[2] + 1) / 2);
    return g->Cg >= 16 && g->Mg >= 16 && tiles >= 36;
}

/* ---- filters ---------------------------------------------------------------- */

void ox_conv_wino_free(ox_conv_wino *wn) {
    if (!wn) return;
    for (int k = 0; k < 16; k++) ox_sgemm_packed_free(wn->u[k]);
    ox_free(wn);
}

ox_conv_wino *ox_conv_wino_pack(const float *W, size_t M, size_t C) {
    ox_conv_wino *wn = ox_calloc(1, sizeof *wn);
    /* one M x C matrix at a time, so the scratch is a sixteenth of the result */
    float *u = ox_malloc_array(M * C + 1, sizeof(float));
    if (!wn || !u) {
        ox_free(wn);
        ox_free(u);
        return NULL;
    }
    for (int k = 0; k < 16; k++) {
        for (size_t i = 0; i < M * C; i++) {
            float all[16];
            ox_wino_filter(W + i * 9, all);
            u[i] = all[k];
        }
        wn->u[k] = ox_sgemm_pack(0, 0, M, C, u, C);
        if (!wn->u[k]) {
            ox_free(u);
            ox_conv_wino_free(wn);
            return NULL;
        }
    }
    ox_free(u);
    return wn;
}

/* ---- geometry -------------------------------------------------------------------- */

/* The work goes by blocks of whole tile rows, each taken through all three stages
 * (input transform, 16 products, output transform) by one thread in its own scratch:
 * V and M of a block stay in cache, instead of 4x the input and output going through
 * memory between the stages, and the whole Conv is one parallel region. */
/* Tiles per block at most, where rows allow (V and M of 98 tiles and 128 channels,
 * 1.6 MB, beat 4 blocks of half as much: each block streams all 16 U). */
#define WINO_BLOCK_TILES 128
#define WINO_BLOCK_COST 8 /* a block's pass over all 16 U, in tiles' worth of products */
/* Fewer tiles than this per thread (a 14x14 map's 49) go by output channels. */
#define WINO_SHARE_TILES 64
#define WINO_SCRATCH 3      /* the util/scratch.h slot (0 and 1: GEMM packing; 2: dwconv) */

typedef struct wino_geom {
    size_t TH, TW, T; /* tiles */
    size_t Wq;        /* columns per even / odd plane */
    size_t blocks;    /* blocks of tile rows: block b has rows [b*TH/blocks, (b+1)*TH/blocks) */
    size_t rows_max;  /* tile rows of the largest block */
    size_t ldt;       /* row stride of V and M: the largest block's tiles + VL */
    size_t vs, ms;    /* stride of V's and M's 16 planes (Cg or Mg rows, and a line) */
    size_t xs;        /* floats of one channel's column planes (2 planes) for a block,
                       * rounded up to whole 64-byte lines: every channel reuses them */
    size_t bytes;     /* one block's scratch: planes, V and M */
} wino_geom;

/* The count of blocks of tile rows that costs least: the products' columns as the
 * GEMM's micro-kernels spend them (ox_sgemm_col_cost: 196 tiles in blocks of 42 and
 * 56 cost 256 columns, in blocks of 98 about 198) and, per block, a pass over all 16 U
 * (WINO_BLOCK_COST); blocks of WINO_BLOCK_TILES tiles at most where rows allow; with
 * several threads, a multiple of them (even shares). */
static size_t wino_block_count(size_t TH, size_t TW, size_t threads) {
    size_t step = threads > 1 ? threads : 1, best = 0, best_cost = 0;
    for (size_t nb = step < TH ? step : TH; nb <= TH; nb += step) {
        size_t rows_max = (TH + nb - 1) / nb;
        if (rows_max > 1 && rows_max * TW > WINO_BLOCK_TILES) continue;
        /* block b's rows, (b+1)*TH/nb - b*TH/nb: TH % nb blocks of one more */
        size_t q = TH / nb, more = TH % nb;
        size_t cost = nb * WINO_BLOCK_COST + more * ox_sgemm_col_cost((q + 1) * TW) +
                      (nb - more) * ox_sgemm_col_cost(q * TW);
        if (!best || cost < best_cost) {
            best = nb;
            best_cost = cost;
        }
    }
    return best ? best : TH;
}

/* threads: those the blocks are shared by (0: one block of all the tiles) */
static int wino_geom_of(const ox_conv_geom *g, size_t threads, wino_geom *wg) {
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2];
    wg->TH = (OH + 1) / 2;
    wg->TW = (OW + 1) / 2;
    wg->T = wg->TH * wg->TW;
    /* tile tx reads even and odd columns tx and tx+1; vector steps read up to VL
     * tiles past the last, so the planes are that much wider */
    wg->Wq = wg->TW + 1 + VL;
    size_t nb = threads == 0 ? 1 : wino_block_count(wg->TH, wg->TW, threads);
    wg->blocks = nb;
    wg->rows_max = (wg->TH + nb - 1) / nb;
    wg->ldt = wg->rows_max * wg->TW + VL;
    size_t v, m, n;
    if (!ox_mul_ok(2 * (2 * wg->rows_max + 2), wg->Wq, &wg->xs) || !ox_add_ok(wg->xs, 15, &n))
        return 0;
    wg->xs = n / 16 * 16;
    n = wg->xs;
    /* a line more per plane: the transforms step through the 16 planes at once, and
     * strides of whole 4 KB pages (64 channels of 128 tiles) put all 16 in one cache
     * set (a 64-channel 56x56 layer 13% slower) */
    if (!ox_mul_ok(g->Cg, wg->ldt, &v) || !ox_add_ok(v, 16, &wg->vs) ||
        !ox_mul_ok(g->Mg, wg->ldt, &m) || !ox_add_ok(m, 16, &wg->ms))
        return 0;
    return ox_mul_ok(16, wg->vs, &v) &&
           ox_mul_ok(16, wg->ms, &m) && ox_add_ok(n, v, &n) && ox_add_ok(n, m, &n) &&
           ox_mul_ok(n, sizeof(float), &wg->bytes);
}

onyx_status ox_conv_wino_workspace(const ox_conv_geom *g, size_t *bytes) {
    wino_geom wg;
    *bytes = 0; /* the blocks work in per-thread scratch */
    if (!wino_geom_of(g, 1, &wg)) return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    return ONYX_OK;
}

typedef struct wino_task {
    const ox_conv_geom *g;
    const wino_geom *wg;
    const ox_conv_wino *wn;
    const float *x;   /* the image: Cg x in_sp */
    float *y;         /* its output: Mg x out_sp */
    const float *y0;  /* the output tensor: the residual is at the same offset */
    const float *bias;
    const float *res; /* a fused residual laid out as y, or NULL */
    int act;
    float act_alpha, act_beta;
    atomic_int failed; /* scratch or a product ran out of memory */
    size_t part_rows;  /* by output channels: rows of U per part */
} wino_task;

/* ---- input transform ----------------------------------------------------------------- */

void ox_conv_wino_input(const ox_conv_geom *g, const float *xc, size_t ty0, size_t nr,
                        size_t Wq, size_t TW, float *ev, float *v, size_t ks) {
    const int64_t IH = g->w.in[1], IW = g->w.in[2], pt = g->w.pb[1], pl = g->w.pb[2];
    const size_t Hb = 2 * nr + 2;
    float *od = ev + Hb * Wq;
    /* q in [lo, hi): both columns 2q - pl and 2q + 1 - pl inside the row */
    int64_t lo = (pl + 1) / 2, hi = (IW + pl) / 2;
    if (hi > (int64_t)Wq) hi = (int64_t)Wq;
    if (lo > hi) lo = hi;
    for (size_t r = 0; r < Hb; r++) {
        int64_t iy = (int64_t)(2 * ty0 + r) - pt;
        float *e = ev + r * Wq, *o = od + r * Wq;
        if (iy < 0 || iy >= IH) {
            memset(e, 0, Wq * sizeof *e);
            memset(o, 0, Wq * sizeof *o);
            continue;
        }
        const float *src = xc + iy * IW;
        /* the columns q with 2q - pl inside the row: the ends with tests, the
         * interior [lo, hi) without; past them only padding */
        int64_t end = (IW + pl + 1) / 2;
        if (end > (int64_t)Wq) end = (int64_t)Wq;
        for (int64_t q = 0; q < end; q++) {
            if (q == lo && hi > lo) {
                ox_wino_split(src + 2 * lo - pl, (size_t)(hi - lo), e + lo, o + lo);
                q = hi - 1;
                continue;
            }
            int64_t ix = 2 * q - pl;
            e[q] = ix >= 0 && ix < IW ? src[ix] : 0.0f;
            o[q] = ix + 1 >= 0 && ix + 1 < IW ? src[ix + 1] : 0.0f;
        }
        memset(e + end, 0, (Wq - (size_t)end) * sizeof *e);
        memset(o + end, 0, (Wq - (size_t)end) * sizeof *o);
    }
    ox_wino_input(ev, od, Wq, nr, TW, v, ks);
}

static void input_block(const wino_task *t, size_t ci, size_t ty0, size_t nr, float *ev,
                        float *v, size_t ks) {
    ox_conv_wino_input(t->g, t->x + ci * t->g->in_sp, ty0, nr, t->wg->Wq, t->wg->TW, ev, v, ks);
}

/* ---- output transform ----------------------------------------------------------------- */

/* Tile rows [ty0, ty0 + nr) of output channels [m0, m1): Y = A^T M A, then bias and
 * activation; bias and a ReLU or Clip go with the transform, the residual and any
 * other activation take passes of their own over the block's output rows. */
static void output_block(const wino_task *t, size_t ty0, size_t nr, float *mm, size_t m0,
                         size_t m1) {
    const ox_conv_geom *g = t->g;
    const wino_geom *wg = t->wg;
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2];
    size_t oy0 = 2 * ty0, oy1 = 2 * (ty0 + nr) < OH ? 2 * (ty0 + nr) : OH;
    size_t n = (oy1 - oy0) * OW;
    int kind = ox_nn_bias_kind(t->act);
    /* the transform applies ReLU and Clip only (other kinds of kernels/bias_act.h
     * take the passes below) */
    int direct = !t->res && (!t->act || kind == OX_BIAS_RELU || kind == OX_BIAS_CLIP);
    /* the transform's last vector step reads up to VL tiles past the block: zeros,
     * not stale values */
    for (size_t k = 0; k < 16; k++)
        for (size_t m = m0; m < m1; m++)
            memset(mm + k * wg->ms + m * wg->ldt + nr * wg->TW, 0, VL * sizeof(float));
    for (size_t m = m0; m < m1; m++) {
        float *ym = t->y + m * g->out_sp + oy0 * OW;
        float b = t->bias ? t->bias[m] : 0.0f;
        /* the next channel's rows (and residual) while this one's are transformed: at
         * 2 threads their lines are often the other core's (resnet18 -7% at 2 threads
         * when a line's trip between the cores took 0.45 us, -1% at 0.2 us) */
        if (m + 1 < m1) {
            ox_prefetch_for_write(ym + g->out_sp, n * sizeof(float));
            if (t->res) ox_prefetch_for_read(t->res + (ym + g->out_sp - t->y0), n * sizeof(float));
        }
        ox_wino_output(mm + m * wg->ldt, wg->ms, nr, wg->TW, ym, OH - oy0, OW, b,
                       direct ? kind : OX_BIAS_ONLY, t->act_alpha, t->act_beta);
        if (direct) continue;
        if (t->res) { /* then the fused Add, then the activation */
            ox_bias_vec_act(ym, ym, t->res + (ym - t->y0), n, kind, t->act_alpha, t->act_beta);
            if (t->act && kind == OX_BIAS_ONLY)
                ox_act_apply(ym, n, t->act, t->act_alpha, t->act_beta);
        } else { /* an activation the transform does not apply */
            ox_act_apply(ym, n, t->act, t->act_alpha, t->act_beta);
        }
    }
}

/* ---- run ----------------------------------------------------------------------------- */

/* Blocks [b0, b1), each through all three stages in the calling thread's scratch. */
static void wino_blocks(void *arg, size_t b0, size_t b1) {
    wino_task *t = arg;
    const ox_conv_geom *g = t->g;
    const wino_geom *wg = t->wg;
    float *xs = ox_scratch(WINO_SCRATCH, wg->bytes);
    if (!xs) {
        atomic_store(&t->failed, 1);
        return;
    }
    float *v = xs + wg->xs, *mm = v + 16 * wg->vs;
    for (size_t b = b0; b < b1; b++) {
        size_t ty0 = b * wg->TH / wg->blocks, nr = (b + 1) * wg->TH / wg->blocks - ty0;
        size_t tiles = nr * wg->TW;
        for (size_t ci = 0; ci < g->Cg; ci++)
            input_block(t, ci, ty0, nr, xs, v + ci * wg->ldt, wg->vs);
        for (int k = 0; k < 16; k++) {
            ox_sgemm_call call = {.M = g->Mg, .N = tiles, .K = g->Cg, .alpha = 1.0f,
                                  .pa = t->wn->u[k], .B = v + (size_t)k * wg->vs,
                                  .ldb = wg->ldt, .C = mm + (size_t)k * wg->ms,
                                  .ldc = wg->ldt};
            if (ox_sgemm_run(&call, NULL)) {
                atomic_store(&t->failed, 1);
                return;
            }
        }
        output_block(t, ty0, nr, mm, 0, g->Mg);
    }
}

/* ---- by output channels ------------------------------------------------------------ */

/* With fewer tiles than make a block per thread (a 14x14 map), blocks would leave
 * threads idle: the tiles then form one block, and each thread takes a share of the
 * output channels through all three stages. Each transforms the whole input itself
 * (a small part of the work: it saves passing V between cores, which on some
 * machines costs more than computing it), streams only its rows of U and writes
 * only its channels of Y. */
static void wino_row_parts(void *arg, size_t p0, size_t p1) {
    wino_task *t = arg;
    const ox_conv_geom *g = t->g;
    const wino_geom *wg = t->wg;
    float *xs = ox_scratch(WINO_SCRATCH, wg->bytes);
    if (!xs) {
        atomic_store(&t->failed, 1);
        return;
    }
    float *v = xs + wg->xs, *mm = v + 16 * wg->vs;
    for (size_t ci = 0; ci < g->Cg; ci++)
        input_block(t, ci, 0, wg->TH, xs, v + ci * wg->ldt, wg->vs);
    for (size_t part = p0; part < p1; part++) {
        size_t m0 = t->part_rows * part, m1 = m0 + t->part_rows < g->Mg ? m0 + t->part_rows : g->Mg;
        if (m0 >= m1) continue;
        for (size_t k = 0; k < 16; k++) {
            ox_sgemm_call call = {.M = g->Mg, .N = wg->T, .K = g->Cg, .alpha = 1.0f,
                                  .pa = t->wn->u[k], .B = v + k * wg->vs,
                                  .ldb = wg->ldt, .C = mm + k * wg->ms, .ldc = wg->ldt,
                                  .row_begin = m0, .row_end = m1};
            if (ox_sgemm_run(&call, NULL)) {
                atomic_store(&t->failed, 1);
                return;
            }
        }
        output_block(t, 0, wg->TH, mm, m0, m1);
    }
}

onyx_status ox_conv_wino_run(ox_op_ctx *c, const ox_conv_geom *g, const ox_conv_wino *wn) {
    wino_geom wg;
    size_t threads = (size_t)ox_threadpool_size(c->pool);
    if (!wino_geom_of(g, threads, &wg))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    /* fewer tiles than a block per thread: one block, split by output channels */
    int by_rows = threads > 1 && wg.T < threads * WINO_SHARE_TILES;
    if (by_rows && !wino_geom_of(g, 0, &wg))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    const float *X = c->in[0]->data;
    wino_task t = {.g = g, .wg = &wg, .wn = wn, .y0 = c->out[0]->data,
                   .bias = ox_has_input(c, 2) ? c->in[2]->data : NULL,
                   .res = ox_has_input(c, 3) ? c->in[3]->data : NULL, .act = c->act,
                   .act_alpha = c->act_alpha, .act_beta = c->act_beta};
    atomic_init(&t.failed, 0);
    for (size_t n = 0; n < g->N; n++) {
        t.x = X + n * g->C * g->in_sp;
        t.y = (float *)c->out[0]->data + n * g->M * g->out_sp;
        if (by_rows) {
            /* parts of whole micro-kernel tiles, one per thread */
            size_t unit = ox_sgemm_row_unit(), tiles = (g->Mg + unit - 1) / unit;
            t.part_rows = (tiles + threads - 1) / threads * unit;
            size_t parts = (g->Mg + t.part_rows - 1) / t.part_rows;
            ox_parallel_for(c->pool, parts, 1, wino_row_parts, &t);
        } else {
            ox_parallel_for(c->pool, wg.blocks, 1, wino_blocks, &t);
        }
        if (atomic_load(&t.failed))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
    }
    return ONYX_OK;
}
