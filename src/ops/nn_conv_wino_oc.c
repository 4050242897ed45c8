/* float32 3x3 stride-1 Conv by Winograd with output channels in the vector lanes
 * (kernels/wino_oc.h): the work goes by items, a band of tile rows x a strip of
 * output channels; a thread transforms a band's input (ox_conv_wino_input) once for
 * all the strips it takes of that band. */
#include "ops/nn_conv_wino_oc.h"

#include <stdatomic.h>
#include <stdint.h>

#include "kernels/wino.h"
#include "kernels/wino_oc.h"
#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

#define WO_SCRATCH 3 /* the util/scratch.h slot (as the other Conv kernels: one per op) */
/* Tiles per band at most: V of the band (16 x C x tiles) stays in L2 while every strip
 * reads it. */
#define WO_BAND_TILES 64

/* Where Winograd applies at all (ox_conv_wino_applies), this beats both the direct
 * kernels and the Winograd GEMMs, at 1 and 2 threads (ms, 1 / 2 threads, against the
 * path each took before): 16 -> 64 channels on 55x55 0.25 / 0.13 -> 0.20 / 0.11
 * (conv_oc); 64 -> 256 on 13x13 0.20 / 0.10 -> 0.13 / 0.08 (conv_oc); 64 on 56x56
 * 0.71 / 0.38 -> 0.63 / 0.33, 256 on 14x14 0.61 / 0.37 -> 0.50 / 0.29, 512 on 14x14
 * 2.8 / 1.5 -> 1.9 / 1.1 (Winograd GEMMs). */
int ox_conv_wino_oc_applies(const ox_conv_geom *g) {
    return ox_wino_oc_supported() && !g->scaled && ox_conv_wino_applies(g);
}

static size_t packed_floats_k(size_t M, size_t K) { return ox_wino_oc_packed_floats(M, K / 9); }
static void pack_k(const float *w, size_t M, size_t K, float *dst) {
    ox_wino_oc_pack(w, M, K / 9, dst);
}

onyx_status ox_conv_wino_oc_prepack(ox_op_ctx *c, float **out) {
    return ox_conv_prepack_for(c, ox_conv_wino_oc_applies, packed_floats_k, pack_k, out);
}

void ox_conv_wino_oc_free(float *packed) { ox_free_aligned(packed); }

onyx_status ox_conv_wino_oc_workspace(const ox_conv_geom *g, size_t *bytes) {
    if (!ox_mul_ok(ox_wino_oc_packed_floats(g->M, g->C), sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    return ONYX_OK;
}

typedef struct wo_geom {
    size_t TH, TW;     /* tiles */
    size_t bands, strips;
    size_t rows_max;   /* tile rows of the largest band */
    size_t Wq;         /* columns of the even / odd planes */
    size_t ldt, vs;    /* V: channel stride (a band's rows of tiles + VL), element stride */
    size_t plane_floats, bytes; /* a channel's planes; one thread's scratch */
} wo_geom;

/* Band b's first tile row: band b has tile rows [b*TH/bands, (b+1)*TH/bands). */
static size_t band_first(const wo_geom *w, size_t b) { return b * w->TH / w->bands; }

static int geom_of(const ox_conv_geom *g, size_t threads, wo_geom *w) {
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2];
    w->TH = (OH + 1) / 2;
    w->TW = (OW + 1) / 2;
    w->strips = (g->M + OX_OC_NR - 1) / OX_OC_NR;
    /* one thread: bands of up to WO_BAND_TILES tiles, U_e serving all of them; more:
     * one tile row per band, items for the pool to balance (at 2 threads, 13x13 maps
     * of 48 and 64 channels 8-11% faster than in bands of 2-4 rows, 27x27 and 55x55
     * even; bands cut within rows, 10-15% slower where two threads then write the
     * same lines of output) */
    size_t rows = threads > 1 ? 1 : WO_BAND_TILES / w->TW ? WO_BAND_TILES / w->TW : 1;
    if (rows > w->TH) rows = w->TH;
    w->bands = (w->TH + rows - 1) / rows;
    w->rows_max = (w->TH + w->bands - 1) / w->bands;
    w->Wq = w->TW + 1 + OX_WINO_VL;
    size_t v, n;
    if (!ox_mul_ok(w->rows_max, w->TW, &v) || !ox_add_ok(v, OX_WINO_VL, &w->ldt)) return 0;
    /* a line more per element: strides of whole pages put all 16 in one cache set */
    if (!ox_mul_ok(g->C, w->ldt, &v) || !ox_add_ok(v, 16, &w->vs)) return 0;
    w->plane_floats = (2 * (2 * w->rows_max + 2) * w->Wq + 15) / 16 * 16;
    /* plus a line for the index of the band in V */
    return ox_mul_ok(16, w->vs, &v) && ox_add_ok(v, w->plane_floats + 16, &n) &&
           ox_add_ok(n, ox_wino_oc_scratch_floats(w->TW, w->rows_max), &n) &&
           ox_mul_ok(n, sizeof(float), &w->bytes);
}

typedef struct wo_task {
    const ox_conv_geom *g;
    const wo_geom *w;
    const ox_op_ctx *c;
    const float *x, *u, *bias, *res;
    float *y;
    unsigned long long tag; /* one per image: a thread's V serves its later calls */
    int clamp;
    float lo, hi;
    atomic_int failed; /* a thread found no scratch */
} wo_task;

/* Items [i0, i1): item i is band i / strips, strip i % strips. */
static void wo_items(void *arg, size_t i0, size_t i1) {
    wo_task *t = arg;
    const ox_conv_geom *g = t->g;
    const wo_geom *w = t->w;
    int kept;
    float *ks = ox_scratch_tagged(WO_SCRATCH, w->bytes, t->tag, &kept);
    if (!ks) {
        atomic_store_explicit(&t->failed, 1, memory_order_relaxed);
        return;
    }
    float *planes = ks + ox_wino_oc_scratch_floats(w->TW, w->rows_max);
    float *v = planes + w->plane_floats;
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2], P = g->out_sp;
    /* the band whose V is in v: a thread's chunks of items come in several calls (V
     * made again for each call ran the input transform 4 times at 2 threads) */
    size_t *have = (size_t *)(void *)(v + 16 * w->vs);
    if (!kept) *have = SIZE_MAX;
    float bstrip[OX_OC_NR];
    for (size_t i = i0; i < i1; i++) {
        size_t band = i / w->strips, s = i % w->strips;
        size_t ty0 = band_first(w, band), nr = band_first(w, band + 1) - ty0;
        if (band != *have) {
            for (size_t ci = 0; ci < g->C; ci++)
                ox_conv_wino_input(g, t->x + ci * g->in_sp, ty0, nr, w->Wq, w->TW, planes,
                                   v + ci * w->ldt, w->vs);
            *have = band;
        }
        size_t m0 = s * OX_OC_NR, mvalid = g->M - m0 < OX_OC_NR ? g->M - m0 : OX_OC_NR;
        size_t at = m0 * P + 2 * ty0 * OW;
        const float *bias = NULL;
        if (t->bias && mvalid == OX_OC_NR) {
            bias = t->bias + m0;
        } else if (t->bias) {
            for (size_t m = 0; m < OX_OC_NR; m++) bstrip[m] = m < mvalid ? t->bias[m0 + m] : 0.0f;
            bias = bstrip;
        }
        ox_wino_oc_band b = {.C = g->C, .v = v, .vs = w->vs, .ldt = w->ldt, .TW = w->TW,
                             .rows = nr, .u = t->u + s * 16 * g->C * OX_OC_NR, .bias = bias,
                             .y = t->y + at, .res = t->res ? t->res + at : NULL, .plane = P,
                             .OW = OW, .OH = OH - 2 * ty0, .mvalid = mvalid, .clamp = t->clamp,
                             .lo = t->lo, .hi = t->hi, .scratch = ks};
        ox_wino_oc_run_band(&b);
        /* the fused activation other than a clamp, over the band's output rows */
        size_t oy1 = 2 * (ty0 + nr) < OH ? 2 * (ty0 + nr) : OH;
        if (t->c->act != OX_ACT_NONE && !t->clamp)
            for (size_t m = 0; m < mvalid; m++)
                ox_nn_post_act(b.y + m * P, (oy1 - 2 * ty0) * OW, t->c);
    }
}

onyx_status ox_conv_wino_oc_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed) {
    wo_geom w;
    size_t threads = (size_t)ox_threadpool_size(c->pool);
    if (!geom_of(g, threads, &w)) return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    if (!packed) {
        if (!c->workspace) return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
        ox_wino_oc_pack(c->in[1]->data, g->M, g->C, c->workspace);
        packed = c->workspace;
    }
    const float *X = c->in[0]->data, *R = ox_has_input(c, 3) ? c->in[3]->data : NULL;
    float *Y = c->out[0]->data;
    wo_task t = {.g = g, .w = &w, .c = c, .u = packed,
                 .bias = ox_has_input(c, 2) ? c->in[2]->data : NULL};
    t.clamp = ox_nn_act_clamp(c, &t.lo, &t.hi);
    atomic_init(&t.failed, 0);
    for (size_t n = 0; n < g->N; n++) {
        t.x = X + n * g->C * g->in_sp;
        t.y = Y + n * g->M * g->out_sp;
        t.res = R ? R + n * g->M * g->out_sp : NULL;
        t.tag = ox_scratch_new_tag();
        ox_parallel_for(c->pool, w.bands * w.strips, 1, wo_items, &t);
        if (atomic_load(&t.failed))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
    }
    return ONYX_OK;
}
