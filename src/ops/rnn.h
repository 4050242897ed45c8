/* Private to the recurrent and attention op family (rnn*.c, attention*.c): the
 * recurrent layer description shared by RNN, GRU and LSTM, and the callbacks the
 * family table in rnn.c lists. */
#ifndef OX_OPS_RNN_H
#define OX_OPS_RNN_H

#include "ops/op.h"
#include "kernels/rnn_kern.h"

enum { RNN_KIND_RNN = 0, RNN_KIND_GRU, RNN_KIND_LSTM };

/* The activation functions the recurrent ops accept. */
enum {
    RNN_ACT_RELU = 0, RNN_ACT_TANH, RNN_ACT_SIGMOID, RNN_ACT_AFFINE, RNN_ACT_LEAKYRELU,
    RNN_ACT_THRESHOLDEDRELU, RNN_ACT_SCALEDTANH, RNN_ACT_HARDSIGMOID, RNN_ACT_ELU,
    RNN_ACT_SOFTSIGN, RNN_ACT_SOFTPLUS
};

typedef struct rnn_act {
    int kind;
    float alpha, beta;
} rnn_act;

/* Attributes of one recurrent node, read by prepare. */
typedef struct rnn_state {
    int kind;          /* RNN_KIND_* */
    int gates;         /* 1, 3 or 4 */
    int n_act;         /* activations per direction: 1, 2 or 3 */
    int direction;     /* 0 forward, 1 reverse, 2 bidirectional */
    int num_dir;       /* 1 or 2 */
    int layout;        /* 0: sequence-major, 1: batch-major */
    int64_t hidden;    /* -1 when the attribute is absent (taken from R) */
    int has_clip;
    float clip;
    int linear_before_reset; /* GRU */
    int input_forget;        /* LSTM */
    rnn_act act[6];          /* n_act per direction, forward first */
    /* W and R packed for the float kernels (rnn_kern.h) when prepare saw them as
     * float32 constants: per direction, gate by gate; NULL otherwise. */
    float *Wp, *Rp;
    size_t pk_I, pk_H; /* the input and hidden sizes they were packed for */
} rnn_state;

/* Where each scratch array of a run starts, in elements of the run's type, each
 * on a 64-byte boundary: the input projection (T*B rows of G*H), the recurrent
 * product (B rows of G*H), h, c and r*h (B rows of H each), the folded biases
 * (G*H, then H for GRU's hidden-gate recurrent bias), and for float runs without
 * packed constants, the packed W and R of one direction. Each direction has
 * its own (total elements apart), so the two of a bidirectional node can run
 * at once. */
typedef struct rnn_layout {
    size_t xw, hr, h, c, rh, bias, wp, rp, total;
} rnn_layout;

/* 0 when the sizes overflow. f32: a float run; pack_w, pack_r: pack per run. */
int rnn_layout_of(const rnn_state *st, size_t T, size_t B, size_t I, size_t H, int f32,
                  int pack_w, int pack_r, rnn_layout *l);

/* Everything a run needs, with the geometry resolved from the input shapes. The
 * element type of the pointers is float or double (see rnn_impl.h). */
typedef struct rnn_args {
    const rnn_state *st;
    size_t T, B, I, H, D;
    const void *X, *W, *R, *Bias, *init_h, *init_c, *P;
    const int64_t *lens; /* B entries, each in [0, T] */
    void *Y, *Y_h, *Y_c; /* NULL when omitted */
    void *work;
    rnn_layout lay;
    const rnn_kern *kern;    /* float runs */
    const float *Wp, *Rp;    /* packed at prepare, or NULL: packed into work per run */
    ox_threadpool *pool;
} rnn_args;

void rnn_run_f32(const rnn_args *a);
void rnn_run_f64(const rnn_args *a);

/* ---- Attention family (attention*.c) ---- */
onyx_status ox_attention_prepare(ox_op_ctx *c);
onyx_status ox_attention_infer(ox_op_ctx *c);
onyx_status ox_attention_run(ox_op_ctx *c);
onyx_status ox_rope_prepare(ox_op_ctx *c);
onyx_status ox_rope_infer(ox_op_ctx *c);
onyx_status ox_rope_run(ox_op_ctx *c);
onyx_status ox_swiglu_prepare(ox_op_ctx *c); /* attention_swiglu.c */
onyx_status ox_swiglu_infer(ox_op_ctx *c);
onyx_status ox_swiglu_run(ox_op_ctx *c);
/* FlexAttention runs its score/prob subgraphs as sessions: runtime/attention_flex.c */
onyx_status ox_flex_prepare(ox_op_ctx *c);
void ox_flex_destroy(void *state);
onyx_status ox_flex_infer(ox_op_ctx *c);
onyx_status ox_flex_run(ox_op_ctx *c);

/* ---- stateful sequence ops (rnn_seq.c) ---- */
onyx_status ox_linattn_prepare(ox_op_ctx *c);
onyx_status ox_linattn_infer(ox_op_ctx *c);
onyx_status ox_linattn_run(ox_op_ctx *c);
onyx_status ox_causalconv_prepare(ox_op_ctx *c);
onyx_status ox_causalconv_infer(ox_op_ctx *c);
onyx_status ox_causalconv_run(ox_op_ctx *c);

void ox_rnn_free_state(void *state);

#endif
