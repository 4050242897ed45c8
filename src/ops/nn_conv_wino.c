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
#include "kernels/wino.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
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

/* (G g G^T)[i][j] for the 3x3 filter g, all 16 at once. */
static void filter_transform(const float *g, float u[16]) {
    float t[4][3]; /* G g */
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = t[i][0];
        u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[4 * i + 3] = t[i][2];
    }
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
            filter_transform(W + i * 9, all);
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

/* ---- geometry and workspace ----------------------------------------------------- */

typedef struct wino_geom {
    size_t TH, TW, T; /* tiles */
    size_t Hp, Wq;    /* padded rows; columns per even / odd plane */
    size_t xs;        /* floats per channel of the column planes (2 * Hp * Wq) */
    size_t v, m;      /* floats of V (16 x Cg x T) and of M (16 x Mg x T) */
} wino_geom;

static int wino_geom_of(const ox_conv_geom *g, wino_geom *wg) {
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2];
    wg->TH = (OH + 1) / 2;
    wg->TW = (OW + 1) / 2;
    wg->T = wg->TH * wg->TW;
    wg->Hp = 2 * wg->TH + 2;
    /* tile tx reads even and odd columns tx and tx+1; vector steps read up to VL
     * tiles past the last, so the planes are that much wider */
    wg->Wq = wg->TW + 1 + VL;
    size_t a, b;
    return ox_mul_ok(2 * wg->Hp, wg->Wq, &wg->xs) && ox_mul_ok(wg->xs, g->Cg, &a) &&
           ox_mul_ok(16 * g->Cg, wg->T + VL, &wg->v) && ox_mul_ok(16 * g->Mg, wg->T + VL, &wg->m) &&
           ox_add_ok(a, wg->v, &b) && ox_add_ok(b, wg->m, &b);
}

onyx_status ox_conv_wino_workspace(const ox_conv_geom *g, size_t *bytes) {
    wino_geom wg;
    size_t n;
    if (!wino_geom_of(g, &wg) || !ox_mul_ok(wg.xs, g->Cg, &n) || !ox_add_ok(n, wg.v, &n) ||
        !ox_add_ok(n, wg.m, &n) || !ox_mul_ok(n, sizeof(float), bytes))
        return ox_error(ONYX_ERR_LIMIT, "convolution buffers overflow");
    return ONYX_OK;
}

/* ---- input transform ----------------------------------------------------------------- */

typedef struct wino_task {
    const ox_conv_geom *g;
    const wino_geom *wg;
    const float *x;   /* Cg x in_sp */
    float *xs;        /* column planes */
    float *v, *mm;    /* V and M: k-major, then channel, then tile (row stride ldt) */
    size_t ldt;       /* T + VL */
    const ox_conv_wino *wn;
    atomic_int failed; /* a product ran out of memory */
    float *y;         /* Mg x out_sp */
    const float *y0;  /* the output tensor: the residual is at the same offset */
    const float *bias;
    const float *res; /* a fused residual laid out as y, or NULL */
    int act;
    float act_alpha, act_beta;
} wino_task;

/* Channels [c0, c1): zero-padded even and odd column planes, then V. */
static void input_transform(void *arg, size_t c0, size_t c1) {
    const wino_task *t = arg;
    const ox_conv_geom *g = t->g;
    const wino_geom *wg = t->wg;
    const int64_t IH = g->w.in[1], IW = g->w.in[2], pt = g->w.pb[1], pl = g->w.pb[2];
    size_t plane = wg->Hp * wg->Wq;
    for (size_t ci = c0; ci < c1; ci++) {
        const float *xc = t->x + ci * g->in_sp;
        float *ev = t->xs + ci * wg->xs, *od = ev + plane;
        for (size_t r = 0; r < wg->Hp; r++) {
            int64_t iy = (int64_t)r - pt;
            float *e = ev + r * wg->Wq, *o = od + r * wg->Wq;
            if (iy < 0 || iy >= IH) {
                memset(e, 0, wg->Wq * sizeof *e);
                memset(o, 0, wg->Wq * sizeof *o);
                continue;
            }
            const float *src = xc + iy * IW;
            /* q in [lo, hi): both columns 2q - pl and 2q + 1 - pl inside the row */
            int64_t lo = (pl + 1) / 2, hi = (IW + pl) / 2, Wq = (int64_t)wg->Wq;
            if (hi > Wq) hi = Wq;
            if (lo > hi) lo = hi;
            for (int64_t q = 0; q < Wq; q++) {
                if (q == lo && hi > lo) { /* the interior, without tests */
                    const float *sp = src + 2 * lo - pl;
                    for (int64_t k = 0; k < hi - lo; k++) {
                        e[lo + k] = sp[2 * k];
                        o[lo + k] = sp[2 * k + 1];
                    }
                    q = hi - 1;
                    continue;
                }
                int64_t ix = 2 * q - pl;
                e[q] = ix >= 0 && ix < IW ? src[ix] : 0.0f;
                o[q] = ix + 1 >= 0 && ix + 1 < IW ? src[ix + 1] : 0.0f;
            }
        }
        ox_wino_input(ev, od, wg->Wq, wg->TH, wg->TW, t->v + ci * t->ldt, g->Cg * t->ldt);
    }
}

/* ---- output transform ----------------------------------------------------------------- */

/* Output channels [m0, m1): Y = A^T M A per tile, then bias and activation. */
static void output_transform(void *arg, size_t m0, size_t m1) {
    const wino_task *t = arg;
    const ox_conv_geom *g = t->g;
    const wino_geom *wg = t->wg;
    size_t OH = (size_t)g->w.out[1], OW = (size_t)g->w.out[2];
    int kind = ox_nn_bias_kind(t->act);
    for (size_t m = m0; m < m1; m++) {
        float *ym = t->y + m * g->out_sp;
        ox_wino_output(t->mm + m * t->ldt, g->Mg * t->ldt, wg->TH, wg->TW, ym, OH, OW);
        ox_bias_act(ym, ym, g->out_sp, t->bias ? t->bias[m] : 0.0f, t->res ? OX_BIAS_ONLY : kind,
                    t->act_alpha, t->act_beta);
        if (t->res) /* then the fused Add, then the activation */
            ox_bias_vec_act(ym, ym, t->res + (ym - t->y0), g->out_sp, kind, t->act_alpha,
                            t->act_beta);
        if (t->act && kind == OX_BIAS_ONLY) ox_act_apply(ym, g->out_sp, t->act, t->act_alpha, t->act_beta);
    }
}

/* ---- run ----------------------------------------------------------------------------- */

/* Products [k0, k1): M_k = U_k V_k, each on the calling thread. */
static void wino_products(void *arg, size_t k0, size_t k1) {
    wino_task *t = arg;
    const ox_conv_geom *g = t->g;
    for (size_t k = k0; k < k1; k++) {
        ox_sgemm_call call = {.M = g->Mg, .N = t->wg->T, .K = g->Cg, .alpha = 1.0f,
                              .pa = t->wn->u[k], .B = t->v + k * g->Cg * t->ldt, .ldb = t->ldt,
                              .C = t->mm + k * g->Mg * t->ldt, .ldc = t->ldt};
        if (ox_sgemm_run(&call, NULL)) atomic_store(&t->failed, 1);
    }
}

onyx_status ox_conv_wino_run(ox_op_ctx *c, const ox_conv_geom *g, const ox_conv_wino *wn) {
    wino_geom wg;
    if (!wino_geom_of(g, &wg) || !c->workspace)
        return ox_error(ONYX_ERR_RUNTIME, "Conv ran without its workspace");
    const float *X = c->in[0]->data;
    const float *B = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    float *xs = c->workspace;
    wino_task t = {.g = g, .wg = &wg, .xs = xs, .v = xs + wg.xs * g->Cg, .ldt = wg.T + VL,
                   .bias = B, .act = c->act, .act_alpha = c->act_alpha, .act_beta = c->act_beta,
                   .res = ox_has_input(c, 3) ? c->in[3]->data : NULL, .y0 = c->out[0]->data,
                   .wn = wn};
    atomic_init(&t.failed, 0);
    t.mm = t.v + wg.v;
    /* the output transform's last vector step reads up to VL tiles past T: zeros */
    for (size_t r = 0; r < 16 * g->Mg; r++) memset(t.mm + r * t.ldt + wg.T, 0, VL * sizeof(float));
    for (size_t n = 0; n < g->N; n++) {
        t.x = X + n * g->C * g->in_sp;
        t.y = (float *)c->out[0]->data + n * g->M * g->out_sp;
        ox_parallel_for(c->pool, g->Cg, 1, input_transform, &t);
        /* the 16 products are independent: one task each, in one parallel region
         * (instead of waking the pool inside each of 16 smaller ones) */
        ox_parallel_for(c->pool, 16, 1, wino_products, &t);
        if (atomic_load(&t.failed))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the convolution");
        ox_parallel_for(c->pool, g->Mg, 1, output_transform, &t);
    }
    return ONYX_OK;
}
