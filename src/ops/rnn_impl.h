/* The recurrent layer computation, written once for an element type.
 * rnn_run.c includes this file with REAL (float or double), SUF (the suffix of
 * the generated names), RNN_F32 (1 for float), and the functions EXP, TANH,
 * LOG1P, SIGM of that type.
 *
 * For each direction the input projection X * W^T (plus the biases that do not
 * depend on the reset gate) is one product over all time steps; each step then
 * needs one product H_prev * R^T for the whole batch (two for GRU without
 * linear_before_reset, whose hidden gate needs the reset gate first). Float runs
 * multiply with W and R packed into panels (rnn_kern.h) and update the cells of
 * the default activations with fused, vectorised loops; the general code below
 * handles every other activation, peepholes and input_forget. A step's product
 * is small (B x G*H x H): it stays on the calling thread unless it is large
 * enough to pay for waking the pool (rnn_par_worth), as waking it costs more
 * than a product of the usual sizes takes; the directions of a bidirectional
 * layer run side by side instead. */

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
        for (size_t i = 0; i < n; i++) x[i] = SIGM(x[i]);
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

/* The step's recurrent product for gates [g0, g1): HR[:, g0*H .. g1*H) = A * R^T. */
static void RF(step_product)(const rnn_args *a, const void *Rd, size_t g0, size_t g1,
                             const REAL *A, REAL *HR) {
    const size_t B = a->B, H = a->H, GH = (size_t)a->st->gates * H;
#if RNN_F32
    rnn_gemm_gates(a->kern, B, H, H, g0, g1, A, H, Rd, HR, GH, a->pool);
#else
    const REAL *R = Rd;
    int par = rnn_par_worth(B, (g1 - g0) * H, H);
    ox_dgemm(0, 1, B, (g1 - g0) * H, H, 1, A, H, R + g0 * H * H, H, 0, HR + g0 * H, GH,
             par ? a->pool : NULL);
#endif
}

/* 1 when direction d's cells can take the fused float loops of rnn_kern.h. */
static int RF(fused_ok)(const rnn_state *st, const rnn_act *act, const void *P) {
#if RNN_F32
    if (st->kind == RNN_KIND_RNN) return act[0].kind == RNN_ACT_TANH;
    if (act[0].kind != RNN_ACT_SIGMOID || act[1].kind != RNN_ACT_TANH) return 0;
    if (st->kind == RNN_KIND_GRU) return 1;
    return act[2].kind == RNN_ACT_TANH && !P && !st->input_forget;
#else
    (void)st, (void)act, (void)P;
    return 0;
#endif
}

/* The general GRU reset step of one row: z and r into g, r * h into rh. */
static void RF(gru_zr_any)(const rnn_args *a, const rnn_act *act, REAL *g, const REAL *xw,
                           const REAL *h, REAL *rh) {
    const size_t H = a->H;
    RF(add_clip)(g, xw, 2 * H, a->st);
    RF(act_apply)(&act[0], g, 2 * H); /* z and r */
    for (size_t j = 0; j < H; j++) rh[j] = g[H + j] * h[j];
}

/* The general cell update of one row with any activations: h (and c) from the
 * recurrent product g and the input projection xw. rb: GRU's hidden-gate
 * recurrent bias (zeros when none). */
static void RF(cell_any)(const rnn_args *a, const rnn_act *act, const REAL *P, const REAL *rb,
                         REAL *g, const REAL *xw, REAL *h, REAL *cst) {
    const rnn_state *st = a->st;
    const size_t H = a->H, GH = (size_t)st->gates * H;
    if (st->kind == RNN_KIND_RNN) {
        RF(add_clip)(g, xw, H, st);
        RF(act_apply)(&act[0], g, H);
        for (size_t j = 0; j < H; j++) h[j] = g[j];
    } else if (st->kind == RNN_KIND_GRU) {
        REAL *z = g, *r = g + H, *hh = g + 2 * H;
        if (st->linear_before_reset) {
            RF(add_clip)(g, xw, 2 * H, st);
            RF(act_apply)(&act[0], g, 2 * H);
            for (size_t j = 0; j < H; j++) hh[j] = xw[2 * H + j] + r[j] * (hh[j] + rb[j]);
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
    const REAL *Wb = a->Bias ? (const REAL *)a->Bias + d * 2 * GH : NULL;
    const REAL *Rb = Wb ? Wb + GH : NULL;
    const REAL *P = a->P ? (const REAL *)a->P + d * 3 * H : NULL;
    REAL *work = a->work;
    REAL *XW = work + a->lay.xw, *HR = work + a->lay.hr, *Hs = work + a->lay.h;
    REAL *Cs = work + a->lay.c, *RH = work + a->lay.rh, *bias = work + a->lay.bias;
    REAL *rbh = bias + GH; /* GRU's hidden-gate recurrent bias, or zeros */
    REAL *Y = a->Y;
    const int fused = RF(fused_ok)(st, act, P);

    /* Input projection for every (t, b) row of X at once; rows keep X's order. */
#if RNN_F32
    const size_t wsize = G * rnn_packed_elems(H, I), rsize = G * rnn_packed_elems(H, H);
    const float *Wd = a->Wp ? a->Wp + d * wsize : work + a->lay.wp;
    const float *Rd = a->Rp ? a->Rp + d * rsize : work + a->lay.rp;
    for (size_t g = 0; g < G && !a->Wp; g++)
        rnn_pack((const float *)a->W + (d * GH + g * H) * I, I, H, I,
                 work + a->lay.wp + g * (wsize / G));
    for (size_t g = 0; g < G && !a->Rp; g++)
        rnn_pack((const float *)a->R + (d * GH + g * H) * H, H, H, H,
                 work + a->lay.rp + g * (rsize / G));
    rnn_gemm_gates(a->kern, T * B, H, I, 0, G, X, I, Wd, XW, GH, a->pool);
    const float clip = st->has_clip ? st->clip : INFINITY;
#else
    const REAL *Rd = (const REAL *)a->R + d * GH * H;
    ox_dgemm(0, 1, T * B, GH, I, 1, X, I, (const REAL *)a->W + d * GH * I, I, 0, XW, GH,
             a->pool);
    (void)fused;
#endif
    for (size_t j = 0; j < GH; j++) {
        /* GRU's hidden-gate recurrent bias sits inside the reset product with
         * linear_before_reset, so it cannot be folded in there */
        int fold_rb = !(gru && lbr && j >= 2 * H);
        bias[j] = Wb ? Wb[j] + (fold_rb ? Rb[j] : 0) : 0;
    }
    for (size_t j = 0; j < H; j++) rbh[j] = Rb && gru && lbr ? Rb[2 * H + j] : 0;
    if (Wb)
        for (size_t r = 0; r < T * B; r++) {
            REAL *row = XW + r * GH;
            for (size_t j = 0; j < GH; j++) row[j] += bias[j];
        }

    /* Initial state. */
    for (size_t b = 0; b < B; b++) {
        size_t off = layout ? (b * D + d) * H : (d * B + b) * H;
        for (size_t j = 0; j < H; j++) {
            Hs[b * H + j] = a->init_h ? ((const REAL *)a->init_h)[off + j] : 0;
            Cs[b * H + j] = a->init_c ? ((const REAL *)a->init_c)[off + j] : 0;
            RH[b * H + j] = 0; /* rows past their length still enter the product */
        }
    }

    for (size_t s = 0; s < T; s++) {
        /* The recurrent product for all batch rows (rows past their length are
         * computed but not used: one product beats many small ones). */
        RF(step_product)(a, Rd, 0, gru && !lbr ? 2 : G, Hs, HR);
        if (gru && !lbr) {
            for (size_t b = 0; b < B; b++) {
                size_t len = (size_t)a->lens[b];
                if (s >= len) continue;
                size_t t = reverse ? len - 1 - s : s;
                const REAL *xw = XW + (layout ? b * T + t : t * B + b) * GH;
#if RNN_F32
                if (fused) {
                    a->kern->gru_zr(H, HR + b * GH, xw, clip, Hs + b * H, RH + b * H);
                    continue;
                }
#endif
                RF(gru_zr_any)(a, act, HR + b * GH, xw, Hs + b * H, RH + b * H);
            }
            RF(step_product)(a, Rd, 2, 3, RH, HR);
        }
        for (size_t b = 0; b < B; b++) {
            size_t len = (size_t)a->lens[b];
            if (s >= len) continue;
            size_t t = reverse ? len - 1 - s : s;
            const REAL *xw = XW + (layout ? b * T + t : t * B + b) * GH;
            REAL *g = HR + b * GH, *h = Hs + b * H, *cst = Cs + b * H;
#if RNN_F32
            if (fused) {
                if (st->kind == RNN_KIND_LSTM) a->kern->lstm(H, g, xw, clip, cst, h);
                else if (!gru) a->kern->rnn(H, g, xw, clip, h);
                else if (lbr) a->kern->gru_lbr(H, g, xw, rbh, clip, h);
                else a->kern->gru_h(H, g, xw, clip, h);
            } else
#endif
            {
                RF(cell_any)(a, act, P, rbh, g, xw, h, cst);
            }
            if (Y) {
                REAL *y = Y + (layout ? (b * T + t) * D + d : (t * D + d) * B + b) * H;
                memcpy(y, h, H * sizeof *h);
            }
        }
    }

    for (size_t b = 0; b < B; b++) {
        size_t off = layout ? (b * D + d) * H : (d * B + b) * H;
        if (a->Y_h) memcpy((REAL *)a->Y_h + off, Hs + b * H, H * sizeof(REAL));
        if (a->Y_c) memcpy((REAL *)a->Y_c + off, Cs + b * H, H * sizeof(REAL));
    }
}

/* Directions [d0, d1) each on one thread, with scratch of their own. */
static void RF(dir_task)(void *arg, size_t d0, size_t d1) {
    const rnn_args *a = arg;
    for (size_t d = d0; d < d1; d++) {
        rnn_args ad = *a;
        ad.pool = NULL;
        ad.work = (REAL *)a->work + d * a->lay.total;
        RF(run_dir)(&ad, d);
    }
}

void RF(rnn_run)(const rnn_args *a) {
    /* Steps past a sequence's length leave zeros in Y; every other row of Y is
     * written by its step. */
    int short_seq = 0;
    for (size_t b = 0; b < a->B; b++) short_seq |= (size_t)a->lens[b] < a->T;
    if (a->Y && short_seq) memset(a->Y, 0, a->T * a->D * a->B * a->H * sizeof(REAL));
    /* The two directions of a bidirectional layer are independent chains: one
     * thread each, woken once, unless the steps' own products are worth more
     * threads than two. */
    size_t threads = (size_t)ox_threadpool_size(a->pool), GH = (size_t)a->st->gates * a->H;
    double macs = (double)a->T * (double)a->B * (double)GH * (double)(a->I + a->H);
    if (a->D == 2 && threads > 1 && macs >= 1048576.0 &&
        !(threads > 2 && rnn_par_worth(a->B, GH, a->H))) {
        ox_parallel_for(a->pool, 2, 1, RF(dir_task), (void *)a);
        return;
    }
    for (size_t d = 0; d < a->D; d++) RF(run_dir)(a, d);
}

#undef RF
#undef RNN_CAT
#undef RNN_CAT2
