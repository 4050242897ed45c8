/* float32 Conv with the output channels in the vector lanes, for 2-D convolutions
 * of one group on small output planes or with strides (see ox_conv_oc_applies). */
#include "ops/nn_conv_oc.h"

#include <stdatomic.h>

#include "kernels/conv_oc.h"
#include "ops/nn_conv_wino_oc.h"
#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

static void params_of(const ox_conv_geom *g, ox_conv_oc *p) {
    const ox_window *w = &g->w;
    *p = (ox_conv_oc){.C = g->C, .IH = (size_t)w->in[1], .IW = (size_t)w->in[2], .M = g->M,
                      .OH = (size_t)w->out[1], .OW = (size_t)w->out[2], .KH = (size_t)w->k[1],
                      .KW = (size_t)w->k[2], .sh = (size_t)w->s[1], .sw = (size_t)w->s[2],
                      .dh = (size_t)w->d[1], .dw = (size_t)w->d[2], .pad_top = (size_t)w->pb[1],
                      .pad_left = (size_t)w->pb[2]};
}

/* Measured against the phase-plane GEMM on single layers (1 thread): 3x3 on 7x7
 * maps, 512 channels 1.48 -> 1.25 ms; 3x3 stride 2, 64 -> 128 channels 56 -> 28:
 * 0.81 -> 0.67 ms; 1x1 stride 2, 128 -> 256 channels: 0.124 -> 0.089 ms; 5x5 on
 * 14x14: 0.42 -> 0.20 ms; 16 or 32 output channels, a quarter of the lanes idle:
 * even. A 1x1 stride-1 layer: see oc_pointwise.
 * Against Winograd, inside the models: its 16 products are as deep as the input
 * channels, and with fewer than 64 (or 128 on maps of under 196 tiles, 28x28) they
 * are too shallow for the transforms to pay: squeezenet's 3x3 layers of 16 to 64
 * input channels run here 0 to 25% faster at 1 thread, 10 to 35% at 2 (13x13, 64
 * -> 256 channels: 0.17 against 0.22 ms at 2 threads). Deeper, Winograd wins: 3x3
 * on 56x56 or 28x28 with 64 or 128 channels, 14x14 with 256: 1.0 against 1.2 ms. */

/* A 1x1 Conv (stride 1) is a plain GEMM, up to 2x faster than here, except on maps
 * whose rows are tiles of 6 or 7 positions (6, 7, 13, 14 wide) with a deep sum and a
 * last strip of channels over one vector (it computes only its vectors): there the
 * GEMM's 32-column strips leave a tail (49 = 32 + 17, 169 = 160 + 9) that those tiles
 * do not. 960 -> 320 channels on 7x7: 0.163 -> 0.152 ms; 320 -> 1280: 0.221 -> 0.211;
 * 960 -> 160: 0.093 -> 0.086; 384 -> 64 on 14x14: 0.052 -> 0.049; 512 -> 1000 on
 * 13x13: 0.99 -> 0.93 (1 thread); mobilenet_v2 1-4% faster, squeezenet1_1 1.3%.
 * Shallower (960 channels from 160, 384 from 64), or with a last strip of one vector
 * (480 -> 80 on 14x14: 11% slower, its 7 accumulators wait on the FMA latency), the
 * GEMM stays ahead. With a fused channel scale (input 4: efficientnet_b0's
 * squeeze-and-excitation before each projection) the GEMM packs B, scaling it, where
 * it would read it in place, and here the rows are copied, scaled, as for padding:
 * 1152 -> 192 channels on 7x7 in a model 0.150 -> 0.102 ms (see oc_scaled). */
static int oc_pointwise(const ox_conv_geom *g) {
    size_t OW = (size_t)g->w.out[2];
    size_t last_tile = OW % OX_OC_RC ? OW % OX_OC_RC : OX_OC_RC, last_strip = g->M % OX_OC_NR;
    return OW <= 2 * OX_OC_RC && last_tile + 1 >= OX_OC_RC && (!last_strip || last_strip > 16) &&
           g->kdim >= 256;
}

/* With a fused channel scale only where the GEMM's columns are one strip and a tail
 * (7x7 maps): the rows copied scaled cost about what the GEMM's scaled packing does,
 * and on larger maps the GEMM then wins (672 -> 112 channels on 14x14: 0.148 here
 * against 0.181 ms). */
static int oc_scaled(const ox_conv_geom *g) {
    return g->out_sp <= 64 && !ox_conv_scales_filters(g);
}

static int winograd_preferred(const ox_conv_geom *g) {
    if (!ox_conv_wino_applies(g)) return 0;
    size_t tiles = (size_t)((g->w.out[1] + 1) / 2) * (size_t)((g->w.out[2] + 1) / 2);
    return g->Cg >= 128 || (g->Cg >= 64 && tiles >= 196);
}

int ox_conv_oc_applies(const ox_conv_geom *g) {
    if (g->G != 1 || g->w.nd > 2 || !g->out_sp || !g->N || !g->M) return 0;
    if (g->pointwise && (!oc_pointwise(g) || (g->scaled && !oc_scaled(g)))) return 0;
    if (winograd_preferred(g) || ox_conv_wino_oc_applies(g)) return 0;
    ox_conv_oc p;
    params_of(g, &p);
    return ox_conv_oc_supported(&p);
}

onyx_status ox_conv_oc_prepack(ox_op_ctx *c, float **out) {
    return ox_conv_prepack_for(c, ox_conv_oc_applies, ox_conv_oc_packed_floats,
                               ox_conv_oc_pack, out);
}

void ox_conv_oc_free(float *packed) { ox_free_aligned(packed); }

onyx_status ox_conv_oc_workspace(const ox_conv_geom *g, size_t *bytes) {
    if (!ox_mul_ok(ox_conv_oc_packed_floats(g->M, g->kdim), sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    return ONYX_OK;
}

typedef struct oc_task {
    const ox_conv_oc *p;
    const float *x, *wp, *bias, *res;
    float *y;
    atomic_int failed; /* a thread found no scratch */
} oc_task;

static void oc_items(void *arg, size_t i0, size_t i1) {
    oc_task *t = arg;
    if (!ox_conv_oc_f32(t->p, i0, i1, t->x, t->wp, t->bias, t->res, t->y))
        atomic_store_explicit(&t->failed, 1, memory_order_relaxed);
}

onyx_status ox_conv_oc_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed) {
    ox_conv_oc p;
    params_of(g, &p);
    p.clamp = ox_nn_act_clamp(c, &p.lo, &p.hi);
    if (!p.clamp && c->act != OX_ACT_NONE) {
        p.post = ox_nn_post_act, p.post_ctx = c;
    }
    p.threads = (size_t)ox_threadpool_size(c->pool);
    size_t items = ox_conv_oc_items(&p);
    if (!packed) {
        if (!c->workspace) return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
        ox_conv_oc_pack(c->in[1]->data, g->M, g->kdim, c->workspace);
        packed = c->workspace;
    }
    const float *X = c->in[0]->data, *R = ox_has_input(c, 3) ? c->in[3]->data : NULL;
    const float *S = ox_has_input(c, 4) ? c->in[4]->data : NULL; /* fused channel scale */
    float *Y = c->out[0]->data;
    for (size_t n = 0; n < g->N; n++) {
        p.tag = ox_scratch_new_tag();
        p.scale = S ? S + n * g->C : NULL;
        oc_task t = {.p = &p, .x = X + n * g->C * g->in_sp, .wp = packed,
                     .bias = ox_has_input(c, 2) ? c->in[2]->data : NULL,
                     .res = R ? R + n * g->M * g->out_sp : NULL, /* fused residual */
                     .y = Y + n * g->M * g->out_sp};
        ox_parallel_for(c->pool, items, 1, oc_items, &t);
        if (atomic_load(&t.failed))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
    }
    return ONYX_OK;
}
