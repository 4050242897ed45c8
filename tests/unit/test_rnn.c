/* RNN, GRU and LSTM against a plain double-precision reference written from the
 * ONNX equations, over random shapes, directions, layouts, optional inputs and
 * outputs, activations, clip and element types. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "ops/op.h"
#include "kernels/rnn_kern.h"
#include "test.h"
#include "test_rnn.h"
#include "util/alloc.h"
#include "util/fp16.h"
#include "util/threadpool.h"

/* ---- shared helpers (declared in test_rnn.h) --------------------------------- */

/* rt_run, where prepare sees inputs W and R as non-constants (NULL) when
 * runtime_weights is set: the op then cannot pack them ahead of the run. */
static onyx_status rt_run_opt(const ox_node *node, int64_t opset, ox_tensor *const *in,
                              size_t n_in, ox_tensor *out, const int *present, size_t n_out,
                              ox_threadpool *pool, int runtime_weights) {
    const ox_op_def *def = ox_op_find(node->domain, node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *ins[16], *outs[16];
    if (n_in > 16 || n_out > 16) return ONYX_ERR_LIMIT;
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = present && !present[i] ? NULL : &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = ins,
                   .out = outs, .pool = pool};
    for (size_t i = 1; i < 3 && i < n_in && runtime_weights; i++) ins[i] = NULL;
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i];
    if (s == ONYX_OK) s = def->infer(&c);
    for (size_t i = 0; i < n_out && s == ONYX_OK; i++)
        if (outs[i]) s = ox_tensor_alloc_data(&out[i]);
    if (s == ONYX_OK && c.workspace_bytes) {
        c.workspace = ox_malloc_aligned(c.workspace_bytes);
        if (!c.workspace) s = ONYX_ERR_OUT_OF_MEMORY;
    }
    if (s == ONYX_OK) s = def->run(&c);
    ox_free_aligned(c.workspace);
    if (def->destroy && c.state) def->destroy(c.state);
    if (s != ONYX_OK)
        for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&out[i]);
    return s;
}

onyx_status rt_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                   ox_tensor *out, const int *present, size_t n_out, ox_threadpool *pool) {
    return rt_run_opt(node, opset, in, n_in, out, present, n_out, pool, 0);
}

void rt_strings(ox_node *n, const char *name, size_t count, const char *const *v) {
    /* the node's attributes live in the test arena; a private copy with one more
     * entry is kept here until the process ends */
    static ox_attr attrs[64][8];
    static ox_bytes strs[64][8];
    static int used;
    if (used >= 64 || n->n_attrs >= 8 || count > 8) return;
    ox_attr *a = attrs[used];
    if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    ox_attr *s = &a[n->n_attrs];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->type = OX_ATTR_STRINGS;
    s->n = count;
    s->strings = strs[used];
    for (size_t i = 0; i < count; i++) {
        strs[used][i].data = v[i];
        strs[used][i].len = strlen(v[i]);
    }
    n->attrs = a;
    n->n_attrs++;
    used++;
}

ox_tensor rt_cast(const ox_tensor *t, int32_t dtype) {
    ox_tensor r = tt_make(dtype, t->rank, t->dims, NULL);
    size_t n = ox_tensor_count(t);
    const float *f = t->data;
    for (size_t i = 0; i < n; i++) {
        switch (dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)r.data)[i] = f[i]; break;
        case ONYX_DTYPE_DOUBLE: ((double *)r.data)[i] = f[i]; break;
        case ONYX_DTYPE_FLOAT16: ((uint16_t *)r.data)[i] = ox_f32_to_f16(f[i]); break;
        default: ((uint16_t *)r.data)[i] = ox_f32_to_bf16(f[i]); break;
        }
    }
    return r;
}

int rt_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what) {
    int bad = 0;
    if (ox_tensor_count(got) != n) {
        fprintf(stderr, "  %s: %zu elements, expected %zu\n", what, ox_tensor_count(got), n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double g = ox_tensor_get_double(got, i), w = want[i];
        int ok = (isnan(w) && isnan(g)) || (isinf(w) && g == w) || fabs(g - w) <= tol + tol * fabs(w);
        if (!ok) {
            if (bad < 5) fprintf(stderr, "  %s[%zu] = %.9g, expected %.9g\n", what, i, g, w);
            bad++;
        }
    }
    return bad ? 1 : 0;
}

int rt_rnd(int n) { return (int)(tt_randf() * (float)n) % (n > 0 ? n : 1); }

/* ---- the reference ---------------------------------------------------------- */

typedef struct rcfg {
    const char *op; /* RNN, GRU, LSTM */
    int dir;        /* 0 forward, 1 reverse, 2 bidirectional */
    int layout;
    size_t T, B, I, H;
    int has_bias, has_lens, has_h0, has_c0, has_p;
    int has_clip;
    float clip;
    int lbr, input_forget;
    int short_lens;      /* with has_lens: lengths T-1, T-2, ... (at least 0), not random */
    int runtime_weights; /* W and R are not constants when the node is prepared */
    size_t n_acts; /* 0: defaults */
    const char *acts[6];
    size_t n_alpha, n_beta;
    float alpha[6], beta[6];
    int present[3];
} rcfg;

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* Activation k of direction d with the alpha/beta it takes (in list order, only
 * activations that have the parameter take one). */
static double act(const rcfg *c, size_t idx, double x) {
    static const char *defaults_rnn[] = {"Tanh"}, *defaults_gru[] = {"Sigmoid", "Tanh"},
                      *defaults_lstm[] = {"Sigmoid", "Tanh", "Tanh"};
    const char *name;
    double alpha = 0, beta = 0;
    if (c->n_acts) {
        size_t na = 0, nb = 0, i;
        for (i = 0; i <= idx; i++) {
            const char *nm = c->acts[i % c->n_acts];
            int ua = !strcmp(nm, "Affine") || !strcmp(nm, "LeakyRelu") ||
                     !strcmp(nm, "ThresholdedRelu") || !strcmp(nm, "ScaledTanh") ||
                     !strcmp(nm, "HardSigmoid") || !strcmp(nm, "Elu");
            int ub = !strcmp(nm, "Affine") || !strcmp(nm, "ScaledTanh") ||
                     !strcmp(nm, "HardSigmoid");
            if (i == idx) {
                alpha = ua && na < c->n_alpha ? c->alpha[na] : -999;
                beta = ub && nb < c->n_beta ? c->beta[nb] : -999;
            }
            if (ua) na++;
            if (ub) nb++;
        }
        name = c->acts[idx % c->n_acts];
    } else {
        size_t k = !strcmp(c->op, "LSTM") ? 3 : !strcmp(c->op, "GRU") ? 2 : 1;
        const char **d = k == 3 ? defaults_lstm : k == 2 ? defaults_gru : defaults_rnn;
        name = d[idx % k];
    }
    if (!strcmp(name, "Relu")) return x > 0 ? x : 0;
    if (!strcmp(name, "Tanh")) return tanh(x);
    if (!strcmp(name, "Sigmoid")) return sigm(x);
    if (!strcmp(name, "Affine")) return (alpha == -999 ? 1 : alpha) * x + (beta == -999 ? 0 : beta);
    if (!strcmp(name, "LeakyRelu")) return x >= 0 ? x : (alpha == -999 ? 0.01 : alpha) * x;
    if (!strcmp(name, "ThresholdedRelu")) return x > (alpha == -999 ? 1 : alpha) ? x : 0;
    if (!strcmp(name, "ScaledTanh"))
        return (alpha == -999 ? 1 : alpha) * tanh((beta == -999 ? 1 : beta) * x);
    if (!strcmp(name, "HardSigmoid")) {
        double v = (alpha == -999 ? 0.2 : alpha) * x + (beta == -999 ? 0.5 : beta);
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    if (!strcmp(name, "Elu")) return x >= 0 ? x : (alpha == -999 ? 1 : alpha) * (exp(x) - 1);
    if (!strcmp(name, "Softsign")) return x / (1 + fabs(x));
    if (!strcmp(name, "Softplus")) return log(1 + exp(x));
    return NAN;
}

static double clipv(const rcfg *c, double x) {
    if (!c->has_clip) return x;
    return x < -c->clip ? -c->clip : x > c->clip ? c->clip : x;
}

static double getf(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

/* Y, Yh, Yc in the node's layout. */
static void reference(const rcfg *c, const ox_tensor *X, const ox_tensor *W, const ox_tensor *R,
                      const ox_tensor *Bt, const int64_t *lens, const ox_tensor *h0,
                      const ox_tensor *c0, const ox_tensor *P, double *Y, double *Yh,
                      double *Yc) {
    const size_t T = c->T, B = c->B, I = c->I, H = c->H, D = c->dir == 2 ? 2 : 1;
    const int lstm = !strcmp(c->op, "LSTM"), gru = !strcmp(c->op, "GRU");
    const size_t G = lstm ? 4 : gru ? 3 : 1, na = lstm ? 3 : gru ? 2 : 1;
    memset(Y, 0, T * D * B * H * sizeof *Y);
    double *h = calloc(H, sizeof *h), *cc = calloc(H, sizeof *cc), *g = calloc(G * H, sizeof *g);
    double *hn = calloc(H, sizeof *hn);
    for (size_t d = 0; d < D; d++) {
        int rev = c->dir == 1 || d == 1;
        for (size_t b = 0; b < B; b++) {
            size_t so = c->layout ? (b * D + d) * H : (d * B + b) * H;
            for (size_t j = 0; j < H; j++) {
                h[j] = h0 ? getf(h0, so + j) : 0;
                cc[j] = c0 ? getf(c0, so + j) : 0;
            }
            size_t len = lens ? (size_t)lens[b] : T;
            for (size_t s = 0; s < len; s++) {
                size_t t = rev ? len - 1 - s : s;
                size_t xo = (c->layout ? b * T + t : t * B + b) * I;
                /* gate k's x W^T + Wb and h R^T + Rb, separately */
                for (size_t k = 0; k < G * H; k++) {
                    double xw = 0, hr = 0;
                    for (size_t i = 0; i < I; i++)
                        xw += getf(X, xo + i) * getf(W, (d * G * H + k) * I + i);
                    for (size_t i = 0; i < H; i++) hr += h[i] * getf(R, (d * G * H + k) * H + i);
                    double wb = Bt ? getf(Bt, d * 2 * G * H + k) : 0;
                    double rb = Bt ? getf(Bt, d * 2 * G * H + G * H + k) : 0;
                    /* GRU's hidden gate gets its recurrent part below */
                    g[k] = xw + wb + (gru && k >= 2 * H ? 0 : hr + rb);
                }
                if (!lstm && !gru) {
                    for (size_t j = 0; j < H; j++) hn[j] = act(c, d * na, clipv(c, g[j]));
                } else if (gru) {
                    for (size_t j = 0; j < 2 * H; j++) g[j] = act(c, d * na, clipv(c, g[j]));
                    const double *z = g, *r = g + H;
                    for (size_t j = 0; j < H; j++) {
                        double rec = 0, rbh = Bt ? getf(Bt, d * 6 * H + 3 * H + 2 * H + j) : 0;
                        if (c->lbr) {
                            for (size_t i = 0; i < H; i++)
                                rec += h[i] * getf(R, (d * 3 * H + 2 * H + j) * H + i);
                            rec = r[j] * (rec + rbh);
                        } else {
                            for (size_t i = 0; i < H; i++)
                                rec += r[i] * h[i] * getf(R, (d * 3 * H + 2 * H + j) * H + i);
                            rec += rbh;
                        }
                        double hh = act(c, d * na + 1, clipv(c, g[2 * H + j] + rec));
                        hn[j] = (1 - z[j]) * hh + z[j] * h[j];
                    }
                } else {
                    for (size_t j = 0; j < H; j++) {
                        double pi = P ? getf(P, d * 3 * H + j) : 0;
                        double po = P ? getf(P, d * 3 * H + H + j) : 0;
                        double pf = P ? getf(P, d * 3 * H + 2 * H + j) : 0;
                        double it = act(c, d * na, clipv(c, g[j] + pi * cc[j]));
                        double ft = act(c, d * na, clipv(c, g[2 * H + j] + pf * cc[j]));
                        if (c->input_forget) ft = 1 - it;
                        double ct = act(c, d * na + 1, clipv(c, g[3 * H + j]));
                        double cn = ft * cc[j] + it * ct;
                        double ot = act(c, d * na, clipv(c, g[H + j] + po * cn));
                        hn[j] = ot * act(c, d * na + 2, cn);
                        cc[j] = cn;
                    }
                }
                memcpy(h, hn, H * sizeof *h);
                size_t yo = (c->layout ? (b * T + t) * D + d : (t * D + d) * B + b) * H;
                memcpy(Y + yo, h, H * sizeof *h);
            }
            memcpy(Yh + so, h, H * sizeof *h);
            memcpy(Yc + so, cc, H * sizeof *h);
        }
    }
    free(h);
    free(cc);
    free(g);
    free(hn);
}

/* ---- running one configuration ----------------------------------------------- */

static void run_cfg(const rcfg *c, int32_t dtype, int64_t opset, ox_threadpool *pool) {
    const int lstm = !strcmp(c->op, "LSTM"), gru = !strcmp(c->op, "GRU");
    const int64_t G = lstm ? 4 : gru ? 3 : 1, D = c->dir == 2 ? 2 : 1;
    const int64_t T = (int64_t)c->T, B = (int64_t)c->B, I = (int64_t)c->I, H = (int64_t)c->H;
    ox_node *n = tn_node(c->op, lstm ? 8 : 6, lstm ? 3 : 2);
    static const char *dirs[] = {"forward", "reverse", "bidirectional"};
    tn_str(n, "direction", dirs[c->dir]);
    tn_int(n, "hidden_size", H);
    if (c->layout) tn_int(n, "layout", 1);
    if (c->has_clip) tn_float(n, "clip", c->clip);
    if (gru && c->lbr) tn_int(n, "linear_before_reset", 1);
    if (lstm && c->input_forget) tn_int(n, "input_forget", 1);
    if (c->n_acts) rt_strings(n, "activations", c->n_acts, c->acts);
    if (c->n_alpha) tn_floats(n, "activation_alpha", c->n_alpha, c->alpha);
    if (c->n_beta) tn_floats(n, "activation_beta", c->n_beta, c->beta);

    int64_t xd[3] = {c->layout ? B : T, c->layout ? T : B, I};
    int64_t sd[3] = {c->layout ? B : D, c->layout ? D : B, H};
    ox_tensor f[8], in[8];
    int has[8] = {1, 1, 1, c->has_bias, c->has_lens, c->has_h0, lstm && c->has_c0,
                  lstm && c->has_p};
    f[0] = tt_rand(3, xd, -1, 1);
    f[1] = tt_rand(3, (int64_t[]){D, G * H, I}, -0.6f, 0.6f);
    f[2] = tt_rand(3, (int64_t[]){D, G * H, H}, -0.6f, 0.6f);
    f[3] = tt_rand(2, (int64_t[]){D, 2 * G * H}, -0.5f, 0.5f);
    int64_t lens[64];
    int32_t lens32[64];
    for (int64_t b = 0; b < B; b++) {
        int64_t l = !c->has_lens ? T : c->short_lens ? T - 1 - b % (T > 0 ? T : 1) : rt_rnd((int)T + 1);
        lens32[b] = (int32_t)(lens[b] = l < 0 ? 0 : l);
    }
    f[4] = tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){B}, lens32);
    f[5] = tt_rand(3, sd, -1, 1);
    f[6] = tt_rand(3, sd, -1, 1);
    f[7] = tt_rand(2, (int64_t[]){D, 3 * H}, -0.5f, 0.5f);
    ox_tensor *ins[8];
    size_t n_in = lstm ? 8 : 6;
    for (size_t i = 0; i < n_in; i++) {
        in[i] = i == 4 ? f[4] : rt_cast(&f[i], dtype);
        ins[i] = has[i] ? &in[i] : NULL;
        if (!has[i]) tn_omit_input(n, i);
    }
    /* the reference reads the values the op sees (rounded to dtype) */
    size_t ny = (size_t)(T * D * B * H), ns = (size_t)(D * B * H);
    double *Y = calloc(ny + 1, sizeof *Y), *Yh = calloc(ns + 1, sizeof *Yh),
           *Yc = calloc(ns + 1, sizeof *Yc);
    reference(c, &in[0], &in[1], &in[2], has[3] ? &in[3] : NULL, lens, has[5] ? &in[5] : NULL,
              has[6] ? &in[6] : NULL, has[7] ? &in[7] : NULL, Y, Yh, Yc);
    ox_tensor out[3];
    size_t n_out = lstm ? 3 : 2;
    onyx_status s = rt_run_opt(n, opset, ins, n_in, out, c->present, n_out, pool,
                               c->runtime_weights);
    CHECK(s == ONYX_OK);
    if (s != ONYX_OK) fprintf(stderr, "  %s: %s\n", c->op, onyx_last_error());
    double tol = dtype == ONYX_DTYPE_DOUBLE ? 1e-10 : dtype == ONYX_DTYPE_FLOAT ? 2e-5 : 2e-2;
    if (s == ONYX_OK) {
        if (c->present[0]) {
            int64_t yd[4] = {T, D, B, H};
            if (c->layout) yd[0] = B, yd[1] = T, yd[2] = D;
            CHECK(out[0].rank == 4 && out[0].dtype == dtype);
            for (int k = 0; k < 4; k++) CHECK(out[0].dims[k] == yd[k]);
            ox_test_failures += rt_expect(&out[0], Y, ny, tol, "Y");
        }
        if (c->present[1]) {
            CHECK(out[1].rank == 3 && out[1].dims[0] == sd[0] && out[1].dims[1] == sd[1]);
            ox_test_failures += rt_expect(&out[1], Yh, ns, tol, "Y_h");
        }
        if (lstm && c->present[2]) ox_test_failures += rt_expect(&out[2], Yc, ns, tol, "Y_c");
    }
    if (ox_test_failures)
        fprintf(stderr, "  case %s dir=%d layout=%d T=%zu B=%zu I=%zu H=%zu dtype=%s lbr=%d "
                "p=%d clip=%d lens=%d runtime_weights=%d cpu=%s\n", c->op, c->dir, c->layout,
                c->T, c->B, c->I, c->H, ox_dtype_name(dtype), c->lbr, c->has_p, c->has_clip,
                c->has_lens, c->runtime_weights, rnn_kern_pick()->name);
    for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&out[i]);
    for (size_t i = 0; i < 8; i++) ox_tensor_free_data(&f[i]);
    for (size_t i = 0; i < n_in; i++)
        if (i != 4) ox_tensor_free_data(&in[i]);
    free(Y);
    free(Yh);
    free(Yc);
}

static void random_cfg(rcfg *c, const char *op) {
    memset(c, 0, sizeof *c);
    c->op = op;
    c->dir = rt_rnd(3);
    c->layout = rt_rnd(2);
    c->T = (size_t)rt_rnd(5) + (rt_rnd(8) ? 1 : 0); /* sometimes 0 steps */
    c->B = (size_t)rt_rnd(4) + 1;
    c->I = (size_t)rt_rnd(6) + 1;
    c->H = (size_t)rt_rnd(6) + 1;
    c->has_bias = rt_rnd(2);
    c->has_lens = rt_rnd(2);
    c->has_h0 = rt_rnd(2);
    c->has_c0 = rt_rnd(2);
    c->has_p = rt_rnd(2);
    c->lbr = rt_rnd(2);
    c->input_forget = rt_rnd(4) == 0;
    if (rt_rnd(3) == 0) {
        c->has_clip = 1;
        c->clip = 0.3f + tt_randf();
    }
    for (int i = 0; i < 3; i++) c->present[i] = rt_rnd(4) != 0;
}

TEST(rnn_random_float) {
    static const char *ops[] = {"RNN", "GRU", "LSTM"};
    for (int it = 0; it < 90 && !ox_test_failures; it++) {
        rcfg c;
        random_cfg(&c, ops[it % 3]);
        run_cfg(&c, ONYX_DTYPE_FLOAT, 22, NULL);
    }
    tn_reset();
}

TEST(rnn_random_double_and_half) {
    static const char *ops[] = {"RNN", "GRU", "LSTM"};
    static const int32_t types[] = {ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16};
    for (int it = 0; it < 27 && !ox_test_failures; it++) {
        rcfg c;
        random_cfg(&c, ops[it % 3]);
        run_cfg(&c, types[(it / 3) % 3], 22, NULL);
    }
    tn_reset();
}

TEST(rnn_threaded_large) {
    ox_threadpool *pool = ox_threadpool_create(4);
    static const char *ops[] = {"RNN", "GRU", "LSTM"};
    for (int k = 0; k < 3 && !ox_test_failures; k++) {
        rcfg c = {.op = ops[k], .dir = 2, .T = 7, .B = 9, .I = 40, .H = 33, .has_bias = 1,
                  .has_lens = 1, .has_h0 = 1, .has_c0 = 1, .has_p = 1, .lbr = k == 1,
                  .present = {1, 1, 1}};
        run_cfg(&c, ONYX_DTYPE_FLOAT, 22, pool);
    }
    ox_threadpool_free(pool);
    tn_reset();
}

TEST(rnn_activations) {
    /* every activation the spec lists, with and without alpha/beta values */
    static const char *names[] = {"Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu",
                                  "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu",
                                  "Softsign", "Softplus"};
    for (int it = 0; it < 44 && !ox_test_failures; it++) {
        rcfg c;
        random_cfg(&c, it % 3 == 0 ? "RNN" : it % 3 == 1 ? "GRU" : "LSTM");
        size_t na = it % 3 == 0 ? 1 : it % 3 == 1 ? 2 : 3, D = c.dir == 2 ? 2 : 1;
        c.n_acts = na * D;
        for (size_t i = 0; i < c.n_acts; i++) c.acts[i] = names[(size_t)(it + 5 * (int)i) % 11];
        if (it % 2) {
            c.n_alpha = (size_t)rt_rnd(7);
            c.n_beta = (size_t)rt_rnd(7);
            for (int i = 0; i < 6; i++) {
                c.alpha[i] = 0.1f + tt_randf();
                c.beta[i] = tt_randf() - 0.5f;
            }
        }
        run_cfg(&c, ONYX_DTYPE_FLOAT, 22, NULL);
    }
    tn_reset();
}

TEST(rnn_activation_names_ignore_case_and_repeat) {
    /* lower-case names; one triple given for both directions */
    static const char *acts[] = {"sigmoid", "tanh", "relu"};
    rcfg c = {.op = "LSTM", .dir = 2, .T = 3, .B = 2, .I = 3, .H = 4, .has_bias = 1,
              .present = {1, 1, 1}, .n_acts = 3};
    memcpy(c.acts, acts, sizeof acts);
    /* the reference reads names case-sensitively: give it the capitalised ones */
    ox_node *n = tn_node("LSTM", 4, 3);
    tn_str(n, "direction", "bidirectional");
    tn_int(n, "hidden_size", 4);
    rt_strings(n, "activations", 3, acts);
    ox_tensor X = tt_rand(3, (int64_t[]){3, 2, 3}, -1, 1);
    ox_tensor W = tt_rand(3, (int64_t[]){2, 16, 3}, -1, 1);
    ox_tensor R = tt_rand(3, (int64_t[]){2, 16, 4}, -1, 1);
    ox_tensor Bt = tt_rand(2, (int64_t[]){2, 32}, -1, 1);
    ox_tensor out[3];
    REQUIRE_OK(rt_run(n, 22, (ox_tensor *[]){&X, &W, &R, &Bt}, 4, out, NULL, 3, NULL));
    static const char *caps[] = {"Sigmoid", "Tanh", "Relu"};
    memcpy(c.acts, caps, sizeof caps);
    double Y[3 * 2 * 2 * 4], Yh[16], Yc[16];
    reference(&c, &X, &W, &R, &Bt, NULL, NULL, NULL, NULL, Y, Yh, Yc);
    ox_test_failures += rt_expect(&out[0], Y, 48, 1e-5, "Y");
    ox_test_failures += rt_expect(&out[2], Yc, 16, 1e-5, "Y_c");
    for (int i = 0; i < 3; i++) ox_tensor_free_data(&out[i]);
    ox_tensor_free_data(&X);
    ox_tensor_free_data(&W);
    ox_tensor_free_data(&R);
    ox_tensor_free_data(&Bt);
    tn_reset();
}

TEST(rnn_hidden_size_from_R_and_old_opsets) {
    /* no hidden_size attribute: taken from R; opset 1 and 7 run the same */
    for (int k = 0; k < 3; k++) {
        int64_t opset = k == 0 ? 1 : k == 1 ? 7 : 14;
        ox_node *n = tn_node("GRU", 3, 2);
        ox_tensor X = tt_rand(3, (int64_t[]){2, 1, 3}, -1, 1);
        ox_tensor W = tt_rand(3, (int64_t[]){1, 6, 3}, -1, 1);
        ox_tensor R = tt_rand(3, (int64_t[]){1, 6, 2}, -1, 1);
        ox_tensor out[2];
        REQUIRE_OK(rt_run(n, opset, (ox_tensor *[]){&X, &W, &R}, 3, out, NULL, 2, NULL));
        rcfg c = {.op = "GRU", .T = 2, .B = 1, .I = 3, .H = 2};
        double Y[4], Yh[2], Yc[2];
        reference(&c, &X, &W, &R, NULL, NULL, NULL, NULL, NULL, Y, Yh, Yc);
        ox_test_failures += rt_expect(&out[0], Y, 4, 1e-5, "Y");
        ox_test_failures += rt_expect(&out[1], Yh, 2, 1e-5, "Y_h");
        for (int i = 0; i < 2; i++) ox_tensor_free_data(&out[i]);
        ox_tensor_free_data(&X);
        ox_tensor_free_data(&W);
        ox_tensor_free_data(&R);
    }
    tn_reset();
}

static onyx_status try_node(ox_node *n, int64_t opset, ox_tensor **in, size_t n_in) {
    ox_tensor out[3];
    onyx_status s = rt_run(n, opset, in, n_in, out, NULL, 2, NULL);
    if (s == ONYX_OK)
        for (int i = 0; i < 2; i++) ox_tensor_free_data(&out[i]);
    return s;
}

TEST(rnn_rejects_bad_nodes) {
    ox_tensor X = tt_rand(3, (int64_t[]){2, 1, 3}, -1, 1);
    ox_tensor W = tt_rand(3, (int64_t[]){1, 4, 3}, -1, 1);
    ox_tensor R = tt_rand(3, (int64_t[]){1, 4, 4}, -1, 1);
    ox_tensor Rbad = tt_rand(3, (int64_t[]){1, 4, 3}, -1, 1);
    ox_tensor lens = tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){1}, (int32_t[]){3});
    ox_tensor Xi = tt_make(ONYX_DTYPE_INT32, 3, (int64_t[]){2, 1, 3}, NULL);
    ox_node *n = tn_node("RNN", 3, 2);
    tn_str(n, "direction", "sideways");
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, &R}, 3) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("RNN", 3, 2);
    tn_int(n, "hidden_size", 4);
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, &Rbad}, 3) == ONYX_ERR_INVALID_MODEL);
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, NULL}, 3) == ONYX_ERR_INVALID_MODEL);
    CHECK(try_node(n, 22, (ox_tensor *[]){&Xi, &W, &R}, 3) != ONYX_OK);
    n = tn_node("RNN", 5, 2);
    tn_omit_input(n, 3);
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, &R, NULL, &lens}, 5) ==
          ONYX_ERR_INVALID_ARGUMENT); /* a length past seq_length */
    n = tn_node("RNN", 3, 2);
    tn_int(n, "layout", 1);
    CHECK(try_node(n, 7, (ox_tensor *[]){&X, &W, &R}, 3) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("RNN", 3, 2);
    static const char *bad[] = {"Swishy"};
    rt_strings(n, "activations", 1, bad);
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, &R}, 3) == ONYX_ERR_UNSUPPORTED);
    n = tn_node("RNN", 3, 2);
    static const char *two[] = {"Tanh", "Tanh"};
    rt_strings(n, "activations", 2, two);
    CHECK(try_node(n, 22, (ox_tensor *[]){&X, &W, &R}, 3) == ONYX_ERR_INVALID_MODEL);
    ox_tensor *all[] = {&X, &W, &R, &Rbad, &lens, &Xi};
    for (int i = 0; i < 6; i++) ox_tensor_free_data(all[i]);
    tn_reset();
}

TEST(rnn_empty_and_huge_empty_inputs) {
    /* batch 0 and input size 0 run; lengths too large for any scratch are refused */
    rcfg c = {.op = "LSTM", .dir = 2, .T = 3, .B = 0, .I = 2, .H = 3, .has_bias = 1,
              .present = {1, 1, 1}};
    run_cfg(&c, ONYX_DTYPE_FLOAT, 22, NULL);
    rcfg d = {.op = "GRU", .dir = 1, .T = 3, .B = 2, .I = 0, .H = 3, .has_h0 = 1,
              .present = {1, 1, 0}};
    run_cfg(&d, ONYX_DTYPE_FLOAT, 22, NULL);
    ox_tensor X = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){(int64_t)1 << 50, 1 << 20, 0}, NULL);
    ox_tensor W = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 2, 0}, NULL);
    ox_tensor R = tt_rand(3, (int64_t[]){1, 2, 2}, -1, 1);
    ox_node *n = tn_node("RNN", 3, 2);
    ox_tensor out[2];
    onyx_status s = rt_run(n, 22, (ox_tensor *[]){&X, &W, &R}, 3, out, (int[]){0, 1}, 2, NULL);
    CHECK(s == ONYX_ERR_LIMIT);
    if (s == ONYX_OK) ox_tensor_free_data(&out[1]);
    ox_tensor_free_data(&X);
    ox_tensor_free_data(&W);
    ox_tensor_free_data(&R);
    tn_reset();
}

/* Hidden sizes around the 16-lane vectors and 64-column panels of the float
 * kernels, batches around their 6-row tiles, on every instruction-set path, with
 * W and R packed at prepare and per run. Default activations take the fused cell
 * loops; peepholes and input_forget the general ones. */
TEST(rnn_sizes_every_path) {
    static const unsigned limits[] = {0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};
    static const size_t hs[] = {1, 7, 17, 33, 65};
    static const char *ops[] = {"RNN", "GRU", "GRU", "LSTM", "LSTM"};
    for (size_t l = 0; l < 3 && !ox_test_failures; l++) {
        ox_cpu_limit(limits[l]);
        for (size_t h = 0; h < 5 && !ox_test_failures; h++)
            for (size_t o = 0; o < 5 && !ox_test_failures; o++) {
                size_t k = l * 25 + h * 5 + o;
                rcfg c = {.op = ops[o], .dir = (int)(k % 3), .layout = (int)(k / 3 % 2),
                          .T = 5, .B = k % 2 ? 7 : 1, .I = 9, .H = hs[h], .has_bias = 1,
                          .has_lens = (int)(k % 4 != 0), .short_lens = 1, .has_h0 = 1,
                          .has_c0 = 1, .has_p = o == 4, .lbr = o == 2,
                          .input_forget = o == 4 && k % 2, .has_clip = (int)(k % 5 == 1),
                          .clip = 0.8f, .runtime_weights = (int)(k / 2 % 2),
                          .present = {1, 1, 1}};
                run_cfg(&c, ONYX_DTYPE_FLOAT, 22, NULL);
            }
    }
    ox_cpu_limit(~0u);
    tn_reset();
}

/* Products large enough for the pool: LSTM recurrent weights over 2 MB split over
 * the threads at every step, both with packed constants and per-run packing; the
 * two directions of a bidirectional node on two threads. */
TEST(rnn_threaded_wide_hidden) {
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int rw = 0; rw < 2 && !ox_test_failures; rw++) {
        rcfg c = {.op = "LSTM", .dir = rw ? 1 : 0, .T = 2, .B = 2, .I = 5, .H = 363,
                  .has_bias = 1, .has_lens = 1, .short_lens = 1, .has_h0 = 1, .has_c0 = 1,
                  .runtime_weights = rw, .present = {1, 1, 1}};
        run_cfg(&c, ONYX_DTYPE_FLOAT, 22, pool);
        rcfg g = {.op = "GRU", .T = 2, .B = 3, .I = 4, .H = 420, .has_bias = 1, .lbr = rw,
                  .runtime_weights = rw, .present = {1, 1, 0}};
        run_cfg(&g, ONYX_DTYPE_FLOAT, 22, pool);
        /* bidirectional, long enough for one thread per direction */
        rcfg b = {.op = rw ? "GRU" : "LSTM", .dir = 2, .layout = rw, .T = 10, .B = 4, .I = 30,
                  .H = 70, .has_bias = 1, .has_lens = 1, .short_lens = 1, .has_h0 = 1,
                  .has_c0 = 1, .has_p = rw, .runtime_weights = rw, .present = {1, 1, 1}};
        run_cfg(&b, ONYX_DTYPE_FLOAT, 22, pool);
        b.has_p = 0;
        run_cfg(&b, ONYX_DTYPE_DOUBLE, 22, pool);
    }
    ox_threadpool_free(pool);
    tn_reset();
}
