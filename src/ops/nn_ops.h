/* Private to the nn op family (nn*.c): the op callbacks the table in nn.c lists,
 * and the window geometry shared by Conv, ConvTranspose and the pools. */
#ifndef OX_OPS_NN_OPS_H
#define OX_OPS_NN_OPS_H

#include <math.h>

#include "kernels/bias_act.h"
#include "ops/op.h"

/* Spatial ranks the windowed ops handle (1-D, 2-D and 3-D). */
#define OX_NN_MAX_SPATIAL 3

enum { OX_PAD_NOTSET = 0, OX_PAD_SAME_UPPER, OX_PAD_SAME_LOWER, OX_PAD_VALID };

/* Window attributes as written on the node. Lists have n_* entries (0 = absent). */
typedef struct ox_window_attrs {
    int auto_pad;
    int ceil_mode;
    size_t n_kernel, n_strides, n_dilations, n_pads;
    int64_t kernel[OX_NN_MAX_SPATIAL];
    int64_t strides[OX_NN_MAX_SPATIAL];
    int64_t dilations[OX_NN_MAX_SPATIAL];
    int64_t pads[2 * OX_NN_MAX_SPATIAL];
} ox_window_attrs;

/* Read auto_pad, kernel_shape, strides, dilations, pads (and ceil_mode when
 * with_ceil) and check their values. kernel_required: pools need kernel_shape. */
onyx_status ox_window_read(ox_op_ctx *c, ox_window_attrs *w, int kernel_required, int with_ceil);

/* The geometry of one run, always expressed in 3 spatial dims: missing leading
 * dims have size 1, kernel 1, stride 1, dilation 1 and no padding. */
typedef struct ox_window {
    int nd;                         /* spatial dims of the node (1..3) */
    int64_t in[3], k[3], s[3], d[3];
    int64_t pb[3], pe[3];           /* padding before / after, after auto_pad */
    int64_t out[3];
} ox_window;

/* Resolve the window for spatial input dims in[0..nd) and kernel k[0..nd)
 * (kernel_shape, or W's dims for Conv). pool_rules: ceil_mode applies, and a
 * ceil-mode window may not start in the end padding. */
onyx_status ox_window_resolve(const ox_window_attrs *a, int nd, const int64_t *in,
                              const int64_t *k, int pool_rules, ox_window *w);

/* Kernel indices [*lo, *hi) along dim j (0..2) whose taps land inside the input
 * for output index o; empty when *lo >= *hi. */
static inline void ox_window_krange(const ox_window *w, int j, int64_t o, int64_t *lo,
                                    int64_t *hi) {
    int64_t start = o * w->s[j] - w->pb[j], d = w->d[j];
    *lo = start >= 0 ? 0 : (-start + d - 1) / d;
    if (start >= w->in[j]) {
        *hi = 0;
    } else {
        int64_t h = (w->in[j] - 1 - start) / d + 1;
        *hi = h < w->k[j] ? h : w->k[j];
    }
}

/* infer's first check: inputs 0 .. n_in-1 and output 0 are present. */
onyx_status ox_nn_need(const ox_op_ctx *c, size_t n_in);

/* Product of three non-negative dims, overflow-checked (ONYX_ERR_LIMIT). */
onyx_status ox_nn_prod3(const int64_t *d, size_t *out);

/* Check that X has rank 2 + nd for nd in 1..3 and say so by name. */
onyx_status ox_nn_check_spatial_rank(const ox_tensor *x, const char *what);

/* float16 and bfloat16 run on the float32 kernels: ox_nn_run_as_f32 converts every
 * half-precision input to a float32 copy, runs run() on those (with float32 stand-ins
 * for half-precision outputs) and rounds the results back. infer treats the half
 * types like float32 (same shapes, same workspace). */
int ox_nn_is_half(int32_t t);
int ox_nn_is_floatlike(int32_t t); /* float, double, float16, bfloat16 */
int ox_nn_has_half(const ox_op_ctx *c);
onyx_status ox_nn_run_as_f32(ox_op_ctx *c, onyx_status (*run)(ox_op_ctx *));

/* Small conversions used where parameters may be a different float type. */
double ox_nn_get(const ox_tensor *t, size_t i);

/* ---- ops (nn_gemm.c) ---- */
onyx_status ox_nn_matmul_infer(ox_op_ctx *c);
onyx_status ox_nn_matmul_run(ox_op_ctx *c);
onyx_status ox_nn_matmulinteger_infer(ox_op_ctx *c);
onyx_status ox_nn_matmulinteger_run(ox_op_ctx *c);
onyx_status ox_nn_qlinearmatmul_infer(ox_op_ctx *c);
onyx_status ox_nn_qlinearmatmul_run(ox_op_ctx *c);
onyx_status ox_nn_gemm_prepare(ox_op_ctx *c);
onyx_status ox_nn_gemm_infer(ox_op_ctx *c);
onyx_status ox_nn_gemm_run(ox_op_ctx *c);
/* Gemm's float32 B packed once per plan when it is a constant transposed matrix. */
onyx_status ox_nn_gemm_prepack(ox_op_ctx *c, void **out);
void ox_nn_free_b_packed(void *packed);

/* ---- convolution geometry and im2col, shared by Conv and the integer convs ---- */

typedef struct ox_conv_state {
    ox_window_attrs wa;
    int64_t group;
} ox_conv_state;

/* Everything a convolution run needs, derived from the input shapes. */
typedef struct ox_conv_geom {
    ox_window w;
    size_t N, C, M, Cg, Mg, G;
    size_t in_sp, out_sp, k_sp; /* spatial element counts */
    size_t kdim;                /* Cg * k_sp: rows of the im2col matrix */
    int pointwise;              /* 1x1, stride 1, no pads: the input is the im2col matrix */
    int depthwise;              /* Cg == 1 and Mg == 1 */
    int scaled;                 /* a fused per-input-channel scale (input 4): GEMM path only */
    size_t chunk_rows;          /* output rows (of OW positions) per im2col chunk */
} ox_conv_geom;

/* Check X (N x C x D...), W (M x C/group x k...) and B (M, or NULL) against the
 * attributes in c->state (an ox_conv_state) and resolve the geometry. */
onyx_status ox_conv_geom_of(const ox_op_ctx *c, const ox_tensor *X, const ox_tensor *W,
                            const ox_tensor *B, ox_conv_geom *g);

typedef struct ox_im2col_task {
    const ox_conv_geom *g;
    const float *x;      /* one image's group: Cg x in_sp */
    float *col;          /* kdim x ncols */
    size_t row0, nrows;  /* output rows (flattened oz, oy) of this chunk */
} ox_im2col_task;

/* ox_task_fn: rows [r0, r1) of one chunk's im2col matrix (padding reads as 0). */
void ox_im2col_rows(void *arg, size_t r0, size_t r1);

/* Outputs o in [*lo, *hi) (within [0, out)) whose tap o*s + c lands in [0, in): the
 * part of a row of outputs that one kernel tap reads without padding. */
static inline void ox_tap_range(int64_t in, int64_t s, int64_t c, int64_t out, int64_t *lo,
                                int64_t *hi) {
    int64_t l = c >= 0 ? 0 : (-c + s - 1) / s;
    int64_t h = in - 1 - c >= 0 ? (in - 1 - c) / s + 1 : 0;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* Whether the fused activation is a clamp that the Conv kernels apply in registers
 * (ReLU: [0, +inf), Clip: [alpha, beta]); *lo and *hi get its bounds. */
static inline int ox_nn_act_clamp(const ox_op_ctx *c, float *lo, float *hi) {
    if (c->act != OX_ACT_RELU && c->act != OX_ACT_CLIP) return 0;
    *lo = c->act == OX_ACT_RELU ? 0.0f : c->act_alpha;
    *hi = c->act == OX_ACT_RELU ? INFINITY : c->act_beta;
    return 1;
}

/* A Conv kernel's `post` callback for the fused activations it does not apply in
 * registers: ctx is the op's ox_op_ctx. */
void ox_nn_post_act(float *y, size_t n, const void *ctx);

/* The prepack hook's work for a Conv path with filters of its own layout: when X's
 * and W's shapes are known and `applies` takes the geometry, *out gets W packed by
 * pack into floats(M, K) floats (aligned, on 2 MB pages where the system allows:
 * runs stream them), freed with ox_free_aligned; NULL otherwise. */
onyx_status ox_conv_prepack_for(ox_op_ctx *c, int (*applies)(const ox_conv_geom *g),
                                size_t (*floats)(size_t M, size_t K),
                                void (*pack)(const float *w, size_t M, size_t K, float *dst),
                                float **out);

/* The bias_act kind (kernels/bias_act.h) that applies a fused activation in the same
 * pass as the bias: ReLU, Clip, Sigmoid and SiLU (the same values as ox_act_apply
 * gives); OX_BIAS_ONLY for the others, which the caller applies after with
 * ox_act_apply. */
static inline int ox_nn_bias_kind(int act) {
    switch (act) {
    case OX_ACT_RELU: return OX_BIAS_RELU;
    case OX_ACT_CLIP: return OX_BIAS_CLIP;
    case OX_ACT_SIGMOID: return OX_BIAS_SIGMOID;
    case OX_ACT_SILU: return OX_BIAS_SILU;
    default: return OX_BIAS_ONLY;
    }
}

/* ---- ops (nn_conv.c) ---- */
onyx_status ox_nn_conv_prepare(ox_op_ctx *c);
onyx_status ox_nn_conv_infer(ox_op_ctx *c);
onyx_status ox_nn_conv_run(ox_op_ctx *c);
/* 3x3 stride-1 float32 Conv by Winograd's F(2x2, 3x3) (nn_conv_wino.c): whether a
 * geometry takes it, the filters transformed and packed (NULL when out of memory),
 * the workspace and the run (bias and c->act included). */
typedef struct ox_sgemm_packed ox_sgemm_packed;
typedef struct ox_conv_wino {
    ox_sgemm_packed *u[16];
} ox_conv_wino;
int ox_conv_wino_applies(const ox_conv_geom *g);
ox_conv_wino *ox_conv_wino_pack(const float *W, size_t M, size_t C);
void ox_conv_wino_free(ox_conv_wino *wn);
onyx_status ox_conv_wino_workspace(const ox_conv_geom *g, size_t *bytes);
onyx_status ox_conv_wino_run(ox_op_ctx *c, const ox_conv_geom *g, const ox_conv_wino *wn);
/* V of tile rows [ty0, ty0 + nr) of one input channel xc (IH x IW), through
 * zero-padded even and odd column planes of its padded rows 2*ty0 ... 2*(ty0+nr)+1 in
 * ev (2 * (2*nr + 2) * Wq floats; Wq = TW + 1 + OX_WINO_VL): element k of tile t at
 * v[k*ks + t], up to OX_WINO_VL tiles past the last written. */
void ox_conv_wino_input(const ox_conv_geom *g, const float *xc, size_t ty0, size_t nr,
                        size_t Wq, size_t TW, float *ev, float *v, size_t ks);

/* float32 Conv on the GEMM (nn_conv_gemm.c): packing the filters once per plan, the
 * workspace a run needs, and the run itself (bias and c->act included). */
onyx_status ox_nn_conv_prepack(ox_op_ctx *c, void **out);
void ox_nn_conv_free_prepacked(void *packed);
/* Whether a Conv can take a per-channel scale of its input as a fifth input (the
 * planner's fusion of Mul(X, S), S of shape N x C x 1 x 1): float32, one group, 1x1
 * without strides or padding, so that the scale lands on the rows of its GEMM's B
 * (or the columns of its filters). c's inputs need shapes and types only. When
 * ws_bytes is not NULL, *ws_bytes gets the workspace the Conv then needs. */
int ox_conv_takes_channel_scale(ox_op_ctx *c, size_t *ws_bytes);

/* Whether a 1x1 Conv with a fused channel scale scales its filters (the GEMM path,
 * reading its input in place) rather than its input. */
int ox_conv_scales_filters(const ox_conv_geom *g);

onyx_status ox_conv_gemm_workspace(const ox_conv_geom *g, size_t *bytes);
onyx_status ox_conv_gemm_f32(ox_op_ctx *c, const ox_conv_geom *g);
onyx_status ox_nn_qconv_infer(ox_op_ctx *c); /* ConvInteger, QLinearConv (nn_qconv.c) */
onyx_status ox_nn_qconv_run(ox_op_ctx *c);
onyx_status ox_nn_convtranspose_prepare(ox_op_ctx *c);
onyx_status ox_nn_convtranspose_infer(ox_op_ctx *c);
onyx_status ox_nn_convtranspose_run(ox_op_ctx *c);

/* ---- ops (nn_pool.c) ---- */
onyx_status ox_nn_maxpool_prepare(ox_op_ctx *c);
onyx_status ox_nn_avgpool_prepare(ox_op_ctx *c);
onyx_status ox_nn_lppool_prepare(ox_op_ctx *c);
onyx_status ox_nn_pool_infer(ox_op_ctx *c);
onyx_status ox_nn_pool_run(ox_op_ctx *c);
onyx_status ox_nn_global_prepare(ox_op_ctx *c);
onyx_status ox_nn_global_infer(ox_op_ctx *c);
onyx_status ox_nn_global_run(ox_op_ctx *c);
onyx_status ox_nn_maxunpool_prepare(ox_op_ctx *c);
onyx_status ox_nn_maxunpool_infer(ox_op_ctx *c);
onyx_status ox_nn_maxunpool_run(ox_op_ctx *c);

/* ---- ops (nn_norm.c) ---- */
onyx_status ox_nn_batchnorm_prepare(ox_op_ctx *c);
onyx_status ox_nn_batchnorm_infer(ox_op_ctx *c);
onyx_status ox_nn_batchnorm_run(ox_op_ctx *c);
onyx_status ox_nn_instancenorm_prepare(ox_op_ctx *c);
onyx_status ox_nn_instancenorm_infer(ox_op_ctx *c);
onyx_status ox_nn_instancenorm_run(ox_op_ctx *c);
onyx_status ox_nn_layernorm_prepare(ox_op_ctx *c);
onyx_status ox_nn_layernorm_infer(ox_op_ctx *c);
onyx_status ox_nn_layernorm_run(ox_op_ctx *c);
onyx_status ox_nn_groupnorm_prepare(ox_op_ctx *c);
onyx_status ox_nn_groupnorm_infer(ox_op_ctx *c);
onyx_status ox_nn_groupnorm_run(ox_op_ctx *c);
onyx_status ox_nn_lpnorm_prepare(ox_op_ctx *c);
onyx_status ox_nn_lpnorm_infer(ox_op_ctx *c);
onyx_status ox_nn_lpnorm_run(ox_op_ctx *c);
onyx_status ox_nn_mvn_prepare(ox_op_ctx *c);
onyx_status ox_nn_mvn_infer(ox_op_ctx *c);
onyx_status ox_nn_mvn_run(ox_op_ctx *c);
onyx_status ox_nn_lrn_prepare(ox_op_ctx *c);
onyx_status ox_nn_lrn_infer(ox_op_ctx *c);
onyx_status ox_nn_lrn_run(ox_op_ctx *c);

/* prepare callbacks keep their state in one ox_malloc'ed block */
void ox_nn_free_state(void *state);

#endif
