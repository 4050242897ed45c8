/* The recurrent layer computation, written once for an element type.
 * rnn_run.c includes this file with REAL (float or double), SUF (the suffix of
 * the generated names), GEMM (ox_sgemm or ox_dgemm) and the libm functions
 * EXP, TANH, LOG1P of that type.
 *
 * For each direction the input projection X * W^T (plus the biases that do not
 * depend on the reset gate) is one GEMM over all time steps; each step then
 * needs one GEMM H_prev * R^T for the whole batch (two for GRU without
 * linear_before_reset, whose hidden gate needs the reset gate first). */

#define RNN_CAT2(a, b) a##_##b
#define RNN_CAT(a, b) RNN_CAT2(a, b)
#define RF(name) RNN_CAT(name, SUF)

static void RF(act_apply)(const rnn_act *a, REAL *x, size_t n) {
    const REAL al = (REAL)a->alpha, be = (REAL)a->beta;
    switch (a->kind) {
    case RNN_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
        break;
    case RNN_ACT_TANH:
        for (size_t i = 0; i < n; i++) x[i] = TANH(x[i]);
        break;
    case RNN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) {
            REAL v = x[i];
            if (v >= 0) {
                x[i] = 1 / (1 + EXP(-v));
            } else {
                REAL e = EXP(v);
                x[i] = e / (1 + e);
            }
        }
        break;
    case RNN_ACT_AFFINE:
        for (size_t i = 0; i < n; i++) x[i] = al * x[i] + be;
        break;
    case RNN_ACT_LEAKYRELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : al * x[i];
        break;
    case RNN_ACT_THRESHOLDEDRELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > al ? x[i] : 0;
        break;
    case RNN_ACT_SCALEDTANH:
        for (size_t i = 0; i < n; i++) x[i] = al * TANH(be * x[i]);
        break;
    case RNN_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            REAL v = al * x[i] + be;
            x[i] = v < 0 ? 0 : (v > 1 ? 1 : v);
        }
        break;
    case RNN_ACT_ELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : al * (EXP(x[i]) - 1);
        break;
    case RNN_ACT_SOFTSIGN:
        for (size_t i = 0; i < n; i++) x[i] = x[i] / (1 + (x[i] < 0 ? -x[i] : x[i]));
        break;
    case RNN_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) {
            REAL v = x[i];
            x[i] = v > 0 ? v + LOG1P(EXP(-v)) : LOG1P(EXP(v));
        }
        break;
    default:
        break;
    }
}

/* Bound x to [-clip, clip] when the node has a clip attribute. */
static void RF(clip)(REAL *x, size_t n, const rnn_state *st) {
    if (!st->has_clip) return;
    const REAL c = (REAL)st->clip;
    for (size_t i = 0; i < n; i++) x[i] = x[i] < -c ? -c : (x[i] > c ? c : x[i]);
}

/* x[i] += y[i], then clip. */
static void RF(add_clip)(REAL *x, const REAL *y, size_t n, const rnn_state *st) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
    RF(clip)(x, n, st);
}

static void RF(run_dir)(const rnn_args *a, size_t d) {
    const rnn_state *st = a->st;
    const size_t T = a->T, B = a->B, I = a->I, H = a->H, D = a->D;
    const size_t G = (size_t)st->gates, GH = G * H;
    const int layout = st->layout, gru = st->kind == RNN_KIND_GRU;
    const int lbr = st->linear_before_reset;
    const int reverse = st->direction == 1 || (st->direction == 2 && d == 1);
    const rnn_act *act = st->act + (size_t)st->n_act * d;
    const REAL *X = a->X;
    const REAL *W = (const REAL *)a->W + d * GH * I;
    const REAL *R = (const REAL *)a->R + d * GH * H;
    const REAL *Wb = a->Bias ? (const REAL *)a->Bias + d * 2 * GH : NULL;
    const REAL *Rb = Wb ? Wb + GH : NULL;
    const REAL *P = a->P ? (const REAL *)a->P + d * 3 * H : NULL;
    REAL *XW = a->work;
    REAL *HR = XW + T * B * GH;
    REAL *Hs = HR + B * GH;
    REAL *Cs = Hs + B * H;
    REAL *RH = Cs + B * H;
    REAL *Y = a->Y;

    /* Input projection for every (t, b) row of X at once; rows keep X's order. */
    GEMM(0, 1, T * B, GH, I, 1, X, I, W, I, 0, XW, GH, a->pool);
    if (Wb) {
        for (size_t r = 0; r < T * B; r++) {
            REAL *row = XW + r * GH;
            for (size_t j = 0; j < GH; j++) {
                /* GRU's hidden-gate recurrent bias sits inside the reset product
                 * with linear_before_reset, so it cannot be folded in there */
                int fold_rb = !(gru && lbr && j >= 2 * H);
                row[j] += Wb[j] + (fold_rb ? Rb[j] : 0);
            }
        }
    }

    /* Initial state. */
    for (size_t b = 0; b < B; b++) {
        size_t off = layout ? (b * D + d) * H : (d * B + b) * H;
        for (size_t j = 0; j < H; j++) {
            Hs[b * H + j] = a->init_h ? ((const REAL *)a->init_h)[off + j] : 0;
            Cs[b * H + j] = a->init_c ? ((const REAL *)a->init_c)[off + j] : 0;
            RH[b * H + j] = 0; /* rows past their length still enter the GEMM */
        }
    }

    for (size_t s = 0; s < T; s++) {
        /* The recurrent product for all batch rows (rows past their length are
         * computed but not used: one GEMM beats many small ones). */
        size_t n1 = gru && !lbr ? 2 * H : GH;
        GEMM(0, 1, B, n1, H, 1, Hs, H, R, H, 0, HR, GH, a->pool);
        if (gru && !lbr) {
            for (size_t b = 0; b < B; b++) {
                size_t len = (size_t)a->lens[b];
                if (s >= len) continue;
                size_t t = reverse ? len - 1 - s : s;
                const REAL *xw = XW + (layout ? b * T + t : t * B + b) * GH;
                REAL *g = HR + b * GH;
                RF(add_clip)(g, xw, 2 * H, st);
                RF(act_apply)(&act[0], g, 2 * H); /* z and r */
                for (size_t j = 0; j < H; j++) RH[b * H + j] = g[H + j] * Hs[b * H + j];
            }
            GEMM(0, 1, B, H, H, 1, RH, H, R + 2 * H * H, H, 0, HR + 2 * H, GH, a->pool);
        }
        for (size_t b = 0; b < B; b++) {
            size_t len = (size_t)a->lens[b];
            if (s >= len) continue;
            size_t t = reverse ? len - 1 - s : s;
            const REAL *xw = XW + (layout ? b * T + t : t * B + b) * GH;
            REAL *g = HR + b * GH, *h = Hs + b * H, *cst = Cs + b * H;
            if (st->kind == RNN_KIND_RNN) {
                RF(add_clip)(g, xw, H, st);
                RF(act_apply)(&act[0], g, H);
                for (size_t j = 0; j < H; j++) h[j] = g[j];
            } else if (gru) {
                REAL *z = g, *r = g + H, *hh = g + 2 * H;
                if (lbr) {
                    RF(add_clip)(g, xw, 2 * H, st);
                    RF(act_apply)(&act[0], g, 2 * H);
                    for (size_t j = 0; j < H; j++) {
                        REAL rec = hh[j] + (Rb ? Rb[2 * H + j] : 0);
                        hh[j] = xw[2 * H + j] + r[j] * rec;
                    }
                    RF(clip)(hh, H, st);
                } else {
                    RF(add_clip)(hh, xw + 2 * H, H, st);
                }
                RF(act_apply)(&act[1], hh, H);
                for (size_t j = 0; j < H; j++) h[j] = (1 - z[j]) * hh[j] + z[j] * h[j];
            } else {
                /* LSTM gates in i, o, f, c order; peepholes in i, o, f order */
                REAL *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
                for (size_t j = 0; j < GH; j++) g[j] += xw[j];
                if (P)
                    for (size_t j = 0; j < H; j++) {
                        gi[j] += P[j] * cst[j];
                        gf[j] += P[2 * H + j] * cst[j];
                    }
                /* the output gate is clipped once its peephole term is in */
                RF(clip)(gi, H, st);
                RF(clip)(gf, 2 * H, st); /* f and c */
                RF(act_apply)(&act[0], gi, H);
                if (st->input_forget) {
                    for (size_t j = 0; j < H; j++) gf[j] = 1 - gi[j];
                } else {
                    RF(act_apply)(&act[0], gf, H);
                }
                RF(act_apply)(&act[1], gc, H);
                for (size_t j = 0; j < H; j++) cst[j] = gf[j] * cst[j] + gi[j] * gc[j];
                if (P)
                    for (size_t j = 0; j < H; j++) go[j] += P[H + j] * cst[j];
                RF(clip)(go, H, st);
                RF(act_apply)(&act[0], go, H);
                for (size_t j = 0; j < H; j++) gc[j] = cst[j];
                RF(act_apply)(&act[2], gc, H);
                for (size_t j = 0; j < H; j++) h[j] = go[j] * gc[j];
            }
            if (Y) {
                REAL *y = Y + (layout ? (b * T + t) * D + d : (t * D + d) * B + b) * H;
                for (size_t j = 0; j < H; j++) y[j] = h[j];
            }
        }
    }

    for (size_t b = 0; b < B; b++) {
        size_t off = layout ? (b * D + d) * H : (d * B + b) * H;
        for (size_t j = 0; j < H; j++) {
            if (a->Y_h) ((REAL *)a->Y_h)[off + j] = Hs[b * H + j];
            if (a->Y_c) ((REAL *)a->Y_c)[off + j] = Cs[b * H + j];
        }
    }
}

void RF(rnn_run)(const rnn_args *a) {
    /* Steps past a sequence's length leave zeros in Y. */
    if (a->Y) {
        REAL *Y = a->Y;
        size_t n = a->T * a->D * a->B * a->H;
        for (size_t i = 0; i < n; i++) Y[i] = 0;
    }
    for (size_t d = 0; d < a->D; d++) RF(run_dir)(a, d);
}

#undef RF
#undef RNN_CAT
#undef RNN_CAT2
