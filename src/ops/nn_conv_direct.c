/* float32 Conv by the direct kernel, for 2-D (and 1-D) convolutions of one group
 * with few taps per output, where the GEMM path would spend most of its time
 * arranging operands (packing, phase planes, a wide-grid output to copy from). */
#include "ops/nn_conv_direct.h"

#include <stdatomic.h>

#include "kernels/conv_direct.h"
#include "ops/nn_conv_oc.h"
#include "ops/nn_conv_wino_oc.h"
#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

/* util/scratch.h's slot for the band buffers (2 as the depthwise kernel: never both
 * in one call) */
#define DIRECT_SCRATCH 2

/* Taps per output (C/group * KH * KW) up to which the direct kernel was measured
 * to beat the GEMM and Winograd paths (3 input channels 3x3, 5x5, 7x7 and 11x11;
 * 4 to 16 channels 3x3; at 32 channels, 288 taps, they are about even), and the
 * narrowest output rows it takes: rows of one 16-float vector leave lanes idle and
 * were about even or slower (1x1 stride-2 128 -> 256 channels 14 wide: 10% slower;
 * 8 -> 128 channels 3x3 7 wide: 1.7 times slower). */
#define DIRECT_MAX_K 160
#define DIRECT_MIN_OW 17

static void params_of(const ox_conv_geom *g, ox_conv_direct *p) {
    const ox_window *w = &g->w;
    *p = (ox_conv_direct){.N = g->N, .C = g->C, .IH = (size_t)w->in[1], .IW = (size_t)w->in[2],
                          .M = g->M, .OH = (size_t)w->out[1], .OW = (size_t)w->out[2],
                          .KH = (size_t)w->k[1], .KW = (size_t)w->k[2], .sh = (size_t)w->s[1],
                          .sw = (size_t)w->s[2], .dh = (size_t)w->d[1], .dw = (size_t)w->d[2],
                          .pad_top = (size_t)w->pb[1], .pad_left = (size_t)w->pb[2]};
}

/* From 16 input channels on, the kernel with the output channels in the lanes
 * (ops/nn_conv_oc.h), where there is one, does better: it wastes no lanes on a row's
 * tail (squeezenet's 16 -> 64 channels 3x3 on 55x55: 0.37 -> 0.36 ms in the model,
 * the model 0.3 to 1% faster at 1 and 2 threads). */
#define DIRECT_OC_FROM_C 16

int ox_conv_direct_applies(const ox_conv_geom *g) {
    if (g->G != 1 || g->w.nd > 2 || g->pointwise || !g->out_sp || !g->N || !g->M ||
        g->kdim > DIRECT_MAX_K || g->w.out[2] < DIRECT_MIN_OW)
        return 0;
    if (ox_conv_wino_oc_applies(g)) return 0;
    if (g->Cg >= DIRECT_OC_FROM_C && ox_conv_oc_applies(g)) return 0;
    ox_conv_direct p;
    params_of(g, &p);
    return ox_conv_direct_items(&p) != 0;
}

onyx_status ox_conv_direct_prepack(ox_op_ctx *c, float **out) {
    return ox_conv_prepack_for(c, ox_conv_direct_applies, ox_conv_direct_packed_floats,
                               ox_conv_direct_pack, out);
}

void ox_conv_direct_free(float *packed) { ox_free_aligned(packed); }

/* The workspace holds the filters packed at run time (when the plan did not pack
 * them); each thread's band buffer comes from its scratch. */
onyx_status ox_conv_direct_workspace(const ox_conv_geom *g, size_t *bytes) {
    if (!ox_mul_ok(ox_conv_direct_packed_floats(g->M, g->kdim), sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    return ONYX_OK;
}

typedef struct direct_task {
    const ox_conv_direct *p;
    const float *x, *wp, *bias, *res;
    float *y;
    size_t buf_bytes;
    atomic_int failed; /* a thread found no scratch */
} direct_task;

static void direct_items(void *arg, size_t i0, size_t i1) {
    direct_task *t = arg;
    float *buf = ox_scratch(DIRECT_SCRATCH, t->buf_bytes);
    if (!buf) {
        atomic_store_explicit(&t->failed, 1, memory_order_relaxed);
        return;
    }
    ox_conv_direct_f32(t->p, i0, i1, t->x, t->wp, t->bias, t->res, t->y, buf);
}

onyx_status ox_conv_direct_run(ox_op_ctx *c, const ox_conv_geom *g, const float *packed) {
    ox_conv_direct p;
    params_of(g, &p);
    p.clamp = ox_nn_act_clamp(c, &p.lo, &p.hi);
    if (!p.clamp && c->act != OX_ACT_NONE) {
        p.post = ox_nn_post_act, p.post_ctx = c;
    }
    size_t items = ox_conv_direct_items(&p);
    direct_task t = {.p = &p, .x = c->in[0]->data, .wp = packed,
                     .bias = ox_has_input(c, 2) ? c->in[2]->data : NULL,
                     .res = ox_has_input(c, 3) ? c->in[3]->data : NULL, /* fused residual */
                     .y = c->out[0]->data,
                     .buf_bytes = ox_conv_direct_band_floats(&p) * sizeof(float)};
    atomic_init(&t.failed, 0);
    if (!packed) {
        if (!c->workspace) return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
        ox_conv_direct_pack(c->in[1]->data, g->M, g->kdim, c->workspace);
        t.wp = c->workspace;
    }
    ox_parallel_for(c->pool, items, 1, direct_items, &t);
    if (atomic_load(&t.failed))
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
    return ONYX_OK;
}
