/* The recurrent op family: RNN, GRU and LSTM (attributes, shapes, dispatch),
 * and the family's table, which also lists the attention ops. The compute is in
 * rnn_impl.h (through rnn_run.c). */
#include <string.h>

#include "ops/nn_ops.h"
#include "ops/rnn.h"
#include "util/alloc.h"

void ox_rnn_free_state(void *state) { ox_free(state); }

static void rnn_destroy(void *state) {
    rnn_state *st = state;
    if (!st) return;
    ox_free_aligned(st->Wp);
    ox_free_aligned(st->Rp);
    ox_free(st);
}

/* ---- attributes ------------------------------------------------------------ */

typedef struct act_info {
    const char *name;
    int kind, uses_alpha, uses_beta;
    float alpha, beta; /* defaults, as the ONNX operators of the same name */
} act_info;

static const act_info acts[] = {
    {"Relu", RNN_ACT_RELU, 0, 0, 0, 0},
    {"Tanh", RNN_ACT_TANH, 0, 0, 0, 0},
    {"Sigmoid", RNN_ACT_SIGMOID, 0, 0, 0, 0},
    {"Affine", RNN_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", RNN_ACT_LEAKYRELU, 1, 0, 0.01f, 0},
    {"ThresholdedRelu", RNN_ACT_THRESHOLDEDRELU, 1, 0, 1.0f, 0},
    {"ScaledTanh", RNN_ACT_SCALEDTANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", RNN_ACT_HARDSIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", RNN_ACT_ELU, 1, 0, 1.0f, 0},
    {"Softsign", RNN_ACT_SOFTSIGN, 0, 0, 0, 0},
    {"Softplus", RNN_ACT_SOFTPLUS, 0, 0, 0, 0},
};

/* Names compare without case, as exporters differ ("tanh", "Tanh"). */
static const act_info *find_act(const ox_bytes *s) {
    for (size_t k = 0; k < sizeof acts / sizeof *acts; k++) {
        const char *n = acts[k].name;
        size_t len = strlen(n);
        if (s->len != len) continue;
        size_t i = 0;
        for (; i < len; i++) {
            char a = s->data[i], b = n[i];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
            if (a != b) break;
        }
        if (i == len) return &acts[k];
    }
    return NULL;
}

/* activations, activation_alpha, activation_beta. An alpha (beta) value is taken,
 * in order, by each activation that has one; the others take none. */
static onyx_status read_acts(ox_op_ctx *c, rnn_state *st) {
    static const int defaults[3][3] = {
        {RNN_ACT_TANH, 0, 0},
        {RNN_ACT_SIGMOID, RNN_ACT_TANH, 0},
        {RNN_ACT_SIGMOID, RNN_ACT_TANH, RNN_ACT_TANH},
    };
    size_t want = (size_t)st->n_act * (size_t)st->num_dir;
    for (size_t i = 0; i < want; i++) {
        st->act[i].kind = defaults[st->n_act - 1][i % (size_t)st->n_act];
        st->act[i].alpha = st->act[i].beta = 0;
    }
    const ox_attr *a = ox_attr_get(c, "activations");
    if (!a) return ONYX_OK;
    if (a->type != OX_ATTR_STRINGS)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'activations' must be a list of "
                        "strings");
    /* n_act names for a bidirectional node apply to both directions */
    if (a->n != want && !(st->num_dir == 2 && a->n == (size_t)st->n_act))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'activations' has %zu names; "
                        "expected %zu", a->n, want);
    size_t n_alpha, n_beta, ia = 0, ib = 0;
    const float *alpha = ox_attr_floats(c, "activation_alpha", &n_alpha);
    const float *beta = ox_attr_floats(c, "activation_beta", &n_beta);
    OX_TRY(ox_op_status(c));
    for (size_t i = 0; i < a->n; i++) {
        const act_info *ai = find_act(&a->strings[i]);
        if (!ai)
            return ox_error(ONYX_ERR_UNSUPPORTED, "activation '%.*s' is not one of Relu, Tanh, "
                            "Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, "
                            "HardSigmoid, Elu, Softsign, Softplus",
                            (int)(a->strings[i].len > 64 ? 64 : a->strings[i].len),
                            a->strings[i].data);
        rnn_act *r = &st->act[i];
        r->kind = ai->kind;
        r->alpha = ai->alpha;
        r->beta = ai->beta;
        if (ai->uses_alpha && ia < n_alpha) r->alpha = alpha[ia++];
        if (ai->uses_beta && ib < n_beta) r->beta = beta[ib++];
    }
    if (a->n < want)
        for (size_t i = a->n; i < want; i++) st->act[i] = st->act[i - a->n];
    return ONYX_OK;
}

/* Pack a constant float32 W (n_rows = G*H rows of K per direction) gate by gate;
 * NULL when it is not one or memory is short (runs then pack per run). */
static float *pack_const(const ox_tensor *t, const rnn_state *st, size_t H) {
    size_t D = (size_t)st->num_dir, G = (size_t)st->gates, GH = G * H;
    if (!t || !t->data || t->dtype != ONYX_DTYPE_FLOAT || t->rank != 3) return NULL;
    if (t->dims[0] != (int64_t)D || t->dims[1] != (int64_t)GH || t->dims[2] <= 0) return NULL;
    size_t K = (size_t)t->dims[2], per = rnn_packed_elems(H, K), n, bytes;
    if (!ox_mul_ok(per, D * G, &n) || !ox_mul_ok(n, sizeof(float), &bytes) || !bytes)
        return NULL;
    float *p = ox_malloc_aligned(bytes);
    if (!p) return NULL;
    const float *w = t->data;
    for (size_t d = 0; d < D; d++)
        for (size_t g = 0; g < G; g++)
            rnn_pack(w + (d * GH + g * H) * K, K, H, K, p + (d * G + g) * per);
    return p;
}

/* W and R as the float kernels read them, once, when they are constants. */
static void pack_consts(ox_op_ctx *c, rnn_state *st) {
    const ox_tensor *W = ox_has_input(c, 1) ? c->in[1] : NULL;
    const ox_tensor *R = ox_has_input(c, 2) ? c->in[2] : NULL;
    int64_t H = st->hidden;
    if (H < 0 && R && R->rank == 3) H = R->dims[2];
    if (H < 0 && W && W->rank == 3 && W->dims[1] % st->gates == 0) H = W->dims[1] / st->gates;
    if (H <= 0 || H > ((int64_t)1 << 40)) return;
    st->pk_H = (size_t)H;
    st->Rp = pack_const(R, st, st->pk_H);
    st->Wp = pack_const(W, st, st->pk_H);
    if (st->Wp) st->pk_I = (size_t)W->dims[2];
}

static onyx_status rnn_prepare(ox_op_ctx *c) {
    rnn_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    const char *op = c->node->op_type;
    st->kind = strcmp(op, "LSTM") == 0 ? RNN_KIND_LSTM
               : strcmp(op, "GRU") == 0 ? RNN_KIND_GRU : RNN_KIND_RNN;
    st->gates = st->kind == RNN_KIND_LSTM ? 4 : st->kind == RNN_KIND_GRU ? 3 : 1;
    st->n_act = st->kind == RNN_KIND_LSTM ? 3 : st->kind == RNN_KIND_GRU ? 2 : 1;
    const char *dir = ox_attr_str(c, "direction", "forward");
    st->hidden = ox_attr_int(c, "hidden_size", -1);
    st->layout = (int)ox_attr_int(c, "layout", 0);
    const ox_attr *clip = ox_attr_get(c, "clip");
    if (clip) st->clip = ox_attr_float(c, "clip", 0);
    st->has_clip = clip != NULL;
    if (st->kind == RNN_KIND_GRU)
        st->linear_before_reset = ox_attr_int(c, "linear_before_reset", 0) != 0;
    if (st->kind == RNN_KIND_LSTM) st->input_forget = ox_attr_int(c, "input_forget", 0) != 0;
    OX_TRY(ox_op_status(c));
    if (strcmp(dir, "forward") == 0)
        st->direction = 0;
    else if (strcmp(dir, "reverse") == 0)
        st->direction = 1;
    else if (strcmp(dir, "bidirectional") == 0)
        st->direction = 2;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'direction' is '%s'; expected "
                        "forward, reverse or bidirectional", dir);
    st->num_dir = st->direction == 2 ? 2 : 1;
    if (st->layout != 0 && st->layout != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'layout' is %d; expected 0 or 1",
                        st->layout);
    if (st->layout && c->opset < 14)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'layout' needs opset 14");
    if (st->hidden != -1 && (st->hidden < 0 || st->hidden > ((int64_t)1 << 40)))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'hidden_size' is %lld",
                        (long long)st->hidden);
    if (st->has_clip && !(st->clip >= 0))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'clip' must be >= 0");
    OX_TRY(read_acts(c, st));
    pack_consts(c, st);
    return ONYX_OK;
}

/* ---- shapes ---------------------------------------------------------------- */

typedef struct rnn_geom {
    size_t T, B, I, H, D;
    int32_t dtype;
} rnn_geom;

static const char *const in_names[] = {"X", "W", "R", "B", "sequence_lens", "initial_h",
                                       "initial_c", "P"};

static onyx_status check_dims(const ox_tensor *t, size_t idx, int rank, const int64_t *want) {
    char buf[96];
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == want[i];
    if (!ok)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %s has shape %s; expected %s",
                        in_names[idx], ox_tensor_describe(t, buf, sizeof buf),
                        ox_shape_describe(rank, want, buf + 48, 48));
    return ONYX_OK;
}

static onyx_status rnn_geom_of(const ox_op_ctx *c, rnn_geom *g) {
    const rnn_state *st = c->state;
    size_t n_in_max = st->kind == RNN_KIND_LSTM ? 8 : 6;
    for (size_t i = 0; i < 3; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s is required", in_names[i]);
    if (c->n_in > n_in_max)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s has at most %zu inputs", c->node->op_type,
                        n_in_max);
    const ox_tensor *X = c->in[0], *W = c->in[1], *R = c->in[2];
    g->dtype = X->dtype;
    if (!ox_nn_is_floatlike(g->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input X is %s; expected a float type",
                        ox_dtype_name(g->dtype));
    if (X->rank != 3 || W->rank != 3 || R->rank != 3)
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs X, W and R must have rank 3");
    int64_t T = st->layout ? X->dims[1] : X->dims[0];
    int64_t B = st->layout ? X->dims[0] : X->dims[1];
    int64_t I = X->dims[2], D = st->num_dir, G = st->gates;
    int64_t H = st->hidden >= 0 ? st->hidden : R->dims[2];
    /* X may be empty (input_size 0) whatever T and B say: bound them */
    if (H > ((int64_t)1 << 40) || T > ((int64_t)1 << 40) || B > ((int64_t)1 << 40))
        return ox_error(ONYX_ERR_LIMIT, "sequence length, batch or hidden size is too large");
    OX_TRY(check_dims(W, 1, 3, (int64_t[]){D, G * H, I}));
    OX_TRY(check_dims(R, 2, 3, (int64_t[]){D, G * H, H}));
    if (ox_has_input(c, 3)) OX_TRY(check_dims(c->in[3], 3, 2, (int64_t[]){D, 2 * G * H}));
    if (ox_has_input(c, 4)) {
        OX_TRY(check_dims(c->in[4], 4, 1, (int64_t[]){B}));
        if (!ox_dtype_is_int(c->in[4]->dtype))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input sequence_lens is %s; expected int32",
                            ox_dtype_name(c->in[4]->dtype));
    }
    int64_t sdims[3] = {st->layout ? B : D, st->layout ? D : B, H};
    for (size_t i = 5; i < 7; i++)
        if (ox_has_input(c, i) && (i == 5 || st->kind == RNN_KIND_LSTM))
            OX_TRY(check_dims(c->in[i], i, 3, sdims));
    if (st->kind == RNN_KIND_LSTM && ox_has_input(c, 7))
        OX_TRY(check_dims(c->in[7], 7, 2, (int64_t[]){D, 3 * H}));
    for (size_t i = 1; i < c->n_in; i++)
        if (i != 4 && ox_has_input(c, i) && c->in[i]->dtype != g->dtype)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %s is %s; X is %s", in_names[i],
                            ox_dtype_name(c->in[i]->dtype), ox_dtype_name(g->dtype));
    if (c->n_out > (st->kind == RNN_KIND_LSTM ? 3u : 2u))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s has too many outputs", c->node->op_type);
    g->T = (size_t)T;
    g->B = (size_t)B;
    g->I = (size_t)I;
    g->H = (size_t)H;
    g->D = (size_t)D;
    return ONYX_OK;
}

/* Reserve n elements at *off, rounded up to 16 (64 bytes of float). */
static int lay_take(size_t *off, size_t n, size_t *at) {
    size_t r;
    if (!ox_add_ok(n, 15, &r)) return 0;
    *at = *off;
    return ox_add_ok(*off, r / 16 * 16, off);
}

int rnn_layout_of(const rnn_state *st, size_t T, size_t B, size_t I, size_t H, int f32,
                  int pack_w, int pack_r, rnn_layout *l) {
    size_t G = (size_t)st->gates, GH, tb, xw, bgh, bh, pw = 0, pr = 0, off = 0;
    if (!ox_mul_ok(G, H, &GH) || !ox_mul_ok(T, B, &tb) || !ox_mul_ok(tb, GH, &xw) ||
        !ox_mul_ok(B, GH, &bgh) || !ox_mul_ok(B, H, &bh))
        return 0;
    if (f32 && pack_w && !ox_mul_ok(rnn_packed_elems(H, I), G, &pw)) return 0;
    if (f32 && pack_r && !ox_mul_ok(rnn_packed_elems(H, H), G, &pr)) return 0;
    memset(l, 0, sizeof *l);
    return lay_take(&off, xw, &l->xw) && lay_take(&off, bgh, &l->hr) &&
           lay_take(&off, bh, &l->h) && lay_take(&off, bh, &l->c) &&
           lay_take(&off, bh, &l->rh) && lay_take(&off, GH + H, &l->bias) &&
           lay_take(&off, pw, &l->wp) && lay_take(&off, pr, &l->rp) && (l->total = off, 1);
}

/* Whether a run of this geometry uses the packed constants. */
static int use_wp(const rnn_state *st, const rnn_geom *g) {
    return st->Wp && st->pk_H == g->H && st->pk_I == g->I && g->dtype != ONYX_DTYPE_DOUBLE;
}
static int use_rp(const rnn_state *st, const rnn_geom *g) {
    return st->Rp && st->pk_H == g->H && g->dtype != ONYX_DTYPE_DOUBLE;
}

static int layout_for(const rnn_state *st, const rnn_geom *g, rnn_layout *l) {
    return rnn_layout_of(st, g->T, g->B, g->I, g->H, g->dtype != ONYX_DTYPE_DOUBLE,
                         !use_wp(st, g), !use_rp(st, g), l);
}

/* Bytes before the float scratch: the sequence lengths as int64, padded to 64. */
static size_t lens_bytes(size_t B) { return (B * sizeof(int64_t) + 63) / 64 * 64; }

static onyx_status rnn_infer(ox_op_ctx *c) {
    const rnn_state *st = c->state;
    rnn_geom g;
    OX_TRY(rnn_geom_of(c, &g));
    int64_t T = (int64_t)g.T, B = (int64_t)g.B, D = (int64_t)g.D, H = (int64_t)g.H;
    if (ox_has_output(c, 0)) {
        int64_t yd[4] = {T, D, B, H};
        if (st->layout) {
            yd[0] = B;
            yd[1] = T;
            yd[2] = D;
        }
        ox_set_shape(c->out[0], g.dtype, 4, yd);
    }
    int64_t sd[3] = {st->layout ? B : D, st->layout ? D : B, H};
    for (size_t i = 1; i < c->n_out; i++)
        if (ox_has_output(c, i)) ox_set_shape(c->out[i], g.dtype, 3, sd);
    size_t bytes;
    size_t esize = g.dtype == ONYX_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    rnn_layout lay;
    if (!layout_for(st, &g, &lay) || !ox_mul_ok(lay.total, esize * g.D, &bytes) ||
        !ox_add_ok(bytes, lens_bytes(g.B) + 64, &bytes))
        return ox_error(ONYX_ERR_LIMIT, "scratch memory size overflows");
    c->workspace_bytes = bytes;
    return ONYX_OK;
}

static onyx_status rnn_run_full(ox_op_ctx *c) {
    const rnn_state *st = c->state;
    rnn_geom g;
    OX_TRY(rnn_geom_of(c, &g));
    rnn_layout lay;
    if (!layout_for(st, &g, &lay))
        return ox_error(ONYX_ERR_LIMIT, "scratch memory size overflows");
    int64_t *lens = c->workspace;
    for (size_t b = 0; b < g.B; b++) {
        int64_t v = ox_has_input(c, 4) ? ox_tensor_get_int(c->in[4], b) : (int64_t)g.T;
        if (v < 0 || v > (int64_t)g.T)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "sequence_lens[%zu] is %lld; expected "
                            "0 to %zu", b, (long long)v, g.T);
        lens[b] = v;
    }
    rnn_args a = {
        .st = st, .T = g.T, .B = g.B, .I = g.I, .H = g.H, .D = g.D,
        .X = c->in[0]->data, .W = c->in[1]->data, .R = c->in[2]->data,
        .Bias = ox_has_input(c, 3) ? c->in[3]->data : NULL,
        .init_h = ox_has_input(c, 5) ? c->in[5]->data : NULL,
        .init_c = st->kind == RNN_KIND_LSTM && ox_has_input(c, 6) ? c->in[6]->data : NULL,
        .P = st->kind == RNN_KIND_LSTM && ox_has_input(c, 7) ? c->in[7]->data : NULL,
        .lens = lens,
        .Y = ox_has_output(c, 0) ? c->out[0]->data : NULL,
        .Y_h = ox_has_output(c, 1) ? c->out[1]->data : NULL,
        .Y_c = st->kind == RNN_KIND_LSTM && ox_has_output(c, 2) ? c->out[2]->data : NULL,
        .work = (char *)c->workspace + lens_bytes(g.B),
        .lay = lay,
        .kern = rnn_kern_pick(),
        .Wp = use_wp(st, &g) ? st->Wp : NULL,
        .Rp = use_rp(st, &g) ? st->Rp : NULL,
        .pool = c->pool,
    };
    if (c->in[0]->dtype == ONYX_DTYPE_DOUBLE)
        rnn_run_f64(&a);
    else
        rnn_run_f32(&a);
    return ONYX_OK;
}

static onyx_status rnn_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, rnn_run_full);
    return rnn_run_full(c);
}

/* ---- the table ------------------------------------------------------------- */

#define F_ "float32 float64 float16 bfloat16"
const ox_op_def ox_ops_rnn[] = {
    {"", "RNN", 1, rnn_prepare, rnn_destroy, rnn_infer, rnn_run, 0, F_},
    {"", "GRU", 1, rnn_prepare, rnn_destroy, rnn_infer, rnn_run, 0, F_},
    {"", "LSTM", 1, rnn_prepare, rnn_destroy, rnn_infer, rnn_run, 0, F_},
    {"", "Attention", 23, ox_attention_prepare, ox_rnn_free_state, ox_attention_infer,
     ox_attention_run, 0, F_},
    {"", "RotaryEmbedding", 23, ox_rope_prepare, ox_rnn_free_state, ox_rope_infer, ox_rope_run, 0,
     "float32 float16 bfloat16"},
    {"", "SwiGLU", 28, ox_swiglu_prepare, ox_rnn_free_state, ox_swiglu_infer, ox_swiglu_run, 0,
     F_},
    {"", "LinearAttention", 27, ox_linattn_prepare, ox_rnn_free_state, ox_linattn_infer,
     ox_linattn_run, 0, "float32 float16 bfloat16"},
    {"", "CausalConvWithState", 27, ox_causalconv_prepare, ox_rnn_free_state,
     ox_causalconv_infer, ox_causalconv_run, 0, "float32 float16 bfloat16"},
    {"ai.onnx.preview", "FlexAttention", 1, ox_flex_prepare, ox_flex_destroy, ox_flex_infer,
     ox_flex_run, 0, F_},
    {0},
};
