/* The training optimizers (Adagrad, Adam, Momentum), DeformConv and TensorScatter
 * against references written here with plain loops in double precision. */
#include <math.h>
#include <string.h>

#include "nodes.h"
#include "ops/tensor_util.h"
#include "tensor_helpers.h"
#include "test.h"
#include "text_testutil.h"
#include "util/alloc.h"

#define TRAIN "ai.onnx.preview.training"

static double rnd_range(double lo, double hi) { return lo + (hi - lo) * tt_randf(); }

static ox_tensor rand_real(int32_t dtype, int32_t rank, const int64_t *dims, double lo, double hi) {
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    for (size_t i = 0; i < ox_tensor_count(&t); i++) ox_tx_store_float(t.data, i, dtype, rnd_range(lo, hi));
    return t;
}

static double at(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

/* ---- optimizers --------------------------------------------------------------------------------- */

TEST(training_optimizers_random) {
    for (int iter = 0; iter < 60; iter++) {
        int kind = iter % 4; /* adagrad, adam, momentum, nesterov */
        size_t per = kind == 1 ? 4 : 3, k = (size_t)tx_rnd(3) + 1, n_in = 2 + per * k;
        int32_t dt = tx_rnd(2) ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        ox_tensor in[14], out[9];
        in[0] = rand_real(dt, 0, NULL, 0.01, 0.5);
        int64_t T = tx_rnd(3);
        in[1] = tt_make(ONYX_DTYPE_INT64, 0, NULL, &T);
        for (size_t g = 0; g < k; g++) {
            int32_t rank = tx_rnd(3);
            int64_t dims[2];
            tx_rnd_shape(rank, dims, 3);
            for (size_t j = 0; j < per; j++) /* state tensors must be >= 0 where squared */
                in[2 + j * k + g] = rand_real(dt, rank, dims, j >= 2 ? 0 : -2, 2);
        }
        double alpha = rnd_range(0.5, 0.99), beta = rnd_range(0.1, 0.999), eps = rnd_range(1e-6, 1e-2);
        double norm = rnd_range(0, 0.01), decay = rnd_range(0, 0.2), post = rnd_range(0, 0.01);
        ox_node *nd = txt_node(TRAIN, kind == 0 ? "Adagrad" : kind == 1 ? "Adam" : "Momentum", n_in,
                               (per - 1) * k);
        tn_float(nd, "norm_coefficient", (float)norm);
        if (kind == 0) {
            tn_float(nd, "epsilon", (float)eps);
            tn_float(nd, "decay_factor", (float)decay);
        } else if (kind == 1) {
            tn_float(nd, "alpha", (float)alpha);
            tn_float(nd, "beta", (float)beta);
            tn_float(nd, "epsilon", (float)eps);
            tn_float(nd, "norm_coefficient_post", (float)post);
        } else {
            tn_float(nd, "alpha", (float)alpha);
            tn_float(nd, "beta", (float)beta);
            tn_str(nd, "mode", kind == 2 ? "standard" : "nesterov");
        }
        /* the attributes as the op sees them (float32) */
        alpha = (float)alpha, beta = (float)beta, eps = (float)eps, norm = (float)norm;
        decay = (float)decay, post = (float)post;
        ox_tensor *ptr[14];
        for (size_t i = 0; i < n_in; i++) ptr[i] = &in[i];
        REQUIRE_OK(ox_op_run_single(nd, 1, ptr, n_in, out, (per - 1) * k));
        double r = at(&in[0], 0);
        int bad = 0;
        for (size_t g = 0; g < k; g++) {
            const ox_tensor *X = &in[2 + g], *G = &in[2 + k + g], *A = &in[2 + 2 * k + g];
            for (size_t i = 0; i < ox_tensor_count(X); i++) {
                double x = at(X, i), gr = at(G, i) + norm * x, e[3];
                if (kind == 0) {
                    double h = at(A, i) + gr * gr;
                    e[0] = x - r / (1 + (double)T * decay) * gr / (sqrt(h) + eps);
                    e[1] = h;
                } else if (kind == 1) {
                    double v = alpha * at(A, i) + (1 - alpha) * gr;
                    double h = beta * at(&in[2 + 3 * k + g], i) + (1 - beta) * gr * gr;
                    double lr = T > 0 ? r * sqrt(1 - pow(beta, (double)T)) / (1 - pow(alpha, (double)T)) : r;
                    e[0] = (1 - post) * (x - lr * v / (sqrt(h) + eps));
                    e[1] = v;
                    e[2] = h;
                } else {
                    double v = alpha * at(A, i) + (T > 0 ? beta : 1) * gr;
                    e[0] = kind == 2 ? x - r * v : x - r * (gr + alpha * v);
                    e[1] = v;
                }
                for (size_t j = 0; j + 1 < per; j++) {
                    const ox_tensor *o = &out[j * k + g];
                    double tol = dt == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12;
                    bad += !ox_tensor_same_shape(o, X) || fabs(at(o, i) - e[j]) > tol * (1 + fabs(e[j]));
                }
            }
        }
        CHECK(bad == 0);
        tx_free_all(in, n_in);
        tx_free_all(out, (per - 1) * k);
        txt_reset();
    }
}

TEST(training_optimizers_reject_bad_inputs) {
    ox_tensor r = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, (float[]){0.1f});
    ox_tensor t = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){1});
    ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, NULL);
    ox_tensor b = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL), o[2];
    ox_node *nd = txt_node(TRAIN, "Adagrad", 5, 2);
    CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&r, &t, &a, &b, &a}, 5, o, 2) != ONYX_OK);
    nd = txt_node(TRAIN, "Adagrad", 4, 2);
    CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&r, &t, &a, &a}, 4, o, 2) != ONYX_OK);
    nd = txt_node(TRAIN, "Adagrad", 5, 2);
    CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&t, &t, &a, &a, &a}, 5, o, 2) != ONYX_OK);
    nd = txt_node(TRAIN, "Momentum", 5, 2); /* alpha, beta, mode, norm_coefficient required */
    CHECK(ox_op_run_single(nd, 1, (ox_tensor *[]){&r, &t, &a, &a, &a}, 5, o, 2) != ONYX_OK);
    tx_free_all((ox_tensor[]){r, t, a, b}, 4);
    txt_reset();
}

/* ---- DeformConv ---------------------------------------------------------------------------------- */

/* Multilinear interpolation, one axis at a time (zero outside). */
static double interp(const ox_tensor *x, size_t base, const int64_t *in, int nd, const double *pos) {
    if (nd == 0) return at(x, base);
    size_t stride = 1;
    for (int a = 1; a < nd; a++) stride *= (size_t)in[a];
    double f = floor(pos[0]), w = pos[0] - f, v = 0;
    for (int hi = 0; hi < 2; hi++) {
        double p = f + hi;
        if (p < 0 || p >= (double)in[0]) continue;
        v += (hi ? w : 1 - w) * interp(x, base + (size_t)p * stride, in + 1, nd - 1, pos + 1);
    }
    return v;
}

typedef struct dcase {
    int nd;
    int64_t N, G, Cg, Mg, OG, in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
} dcase;

static int pick_case(dcase *c) {
    c->nd = tx_rnd(3) + 1;
    c->N = tx_rnd(2) + 1;
    c->G = tx_rnd(2) + 1;
    c->Cg = tx_rnd(2) + 1;
    c->Mg = tx_rnd(2) + 1;
    int64_t C = c->G * c->Cg;
    c->OG = tx_rnd(2) && C % 2 == 0 ? 2 : 1;
    for (int a = 0; a < c->nd; a++) {
        c->in[a] = tx_rnd(c->nd == 3 ? 3 : 5) + 1;
        c->k[a] = tx_rnd(3) + 1;
        c->s[a] = tx_rnd(2) + 1;
        c->d[a] = tx_rnd(2) + 1;
        c->pb[a] = tx_rnd(2);
        c->pe[a] = tx_rnd(2);
        int64_t span = (c->k[a] - 1) * c->d[a] + 1, room = c->in[a] + c->pb[a] + c->pe[a];
        if (room < span) return 0;
        c->out[a] = (room - span) / c->s[a] + 1;
    }
    return 1;
}

static ox_node *deform_node(const dcase *c, size_t n_in) {
    ox_node *nd = tn_node("DeformConv", n_in, 1);
    int64_t pads[6];
    for (int a = 0; a < c->nd; a++) {
        pads[a] = c->pb[a];
        pads[c->nd + a] = c->pe[a];
    }
    tn_ints(nd, "pads", 2 * (size_t)c->nd, pads);
    tn_ints(nd, "strides", (size_t)c->nd, c->s);
    tn_ints(nd, "dilations", (size_t)c->nd, c->d);
    if (tx_rnd(2)) tn_ints(nd, "kernel_shape", (size_t)c->nd, c->k);
    tn_int(nd, "group", c->G);
    tn_int(nd, "offset_group", c->OG);
    return nd;
}

TEST(deform_conv_random_against_naive) {
    int done = 0;
    for (int iter = 0; iter < 200 && done < 60; iter++) {
        dcase c;
        if (!pick_case(&c)) continue;
        done++;
        int nd = c.nd;
        int64_t C = c.G * c.Cg, M = c.G * c.Mg, K = 1, O = 1;
        for (int a = 0; a < nd; a++) K *= c.k[a], O *= c.out[a];
        int32_t dt = tx_rnd(3) == 0 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        int64_t xd[5] = {c.N, C}, wd[5] = {M, c.Cg}, od[5] = {c.N, c.OG * K * nd}, md[5] = {c.N, c.OG * K};
        for (int a = 0; a < nd; a++) {
            xd[2 + a] = c.in[a];
            wd[2 + a] = c.k[a];
            od[2 + a] = md[2 + a] = c.out[a];
        }
        ox_tensor X = rand_real(dt, nd + 2, xd, -1, 1), W = rand_real(dt, nd + 2, wd, -1, 1);
        ox_tensor off = rand_real(dt, nd + 2, od, -2, 2), B = rand_real(dt, 1, &M, -1, 1);
        ox_tensor mask = rand_real(dt, nd + 2, md, 0, 1), Y;
        int use_b = tx_rnd(2), use_m = tx_rnd(2);
        ox_node *node = deform_node(&c, 5);
        if (!use_b) tn_omit_input(node, 3);
        if (!use_m) tn_omit_input(node, 4);
        REQUIRE_OK(ox_op_run_single(node, 19, (ox_tensor *[]){&X, &W, &off, use_b ? &B : NULL, use_m ? &mask : NULL},
                                    5, &Y, 1));
        int64_t yd[5] = {c.N, M};
        for (int a = 0; a < nd; a++) yd[2 + a] = c.out[a];
        CHECK(Y.dtype == dt && tx_same_dims(&Y, nd + 2, yd));
        int bad = 0;
        int64_t oi[3], ki[3];
        for (int64_t n = 0; n < c.N; n++)
            for (int64_t oc = 0; oc < M; oc++)
                for (int64_t o = 0; o < O; o++) {
                    tx_unravel((size_t)o, nd, c.out, oi);
                    double acc = use_b ? at(&B, (size_t)oc) : 0;
                    int64_t g = oc / c.Mg;
                    for (int64_t ci = 0; ci < c.Cg; ci++) {
                        int64_t ch = g * c.Cg + ci, og = ch / (C / c.OG);
                        for (int64_t k = 0; k < K; k++) {
                            tx_unravel((size_t)k, nd, c.k, ki);
                            double pos[3];
                            for (int a = 0; a < nd; a++) {
                                size_t oc_ch = (size_t)((og * K + k) * nd + a);
                                double dv = at(&off, ((size_t)n * (size_t)(c.OG * K * nd) + oc_ch) * (size_t)O + (size_t)o);
                                pos[a] = (double)(oi[a] * c.s[a] - c.pb[a] + ki[a] * c.d[a]) + dv;
                            }
                            double m = use_m ? at(&mask, ((size_t)(n * c.OG + og) * (size_t)K + (size_t)k) * (size_t)O + (size_t)o) : 1;
                            double v = interp(&X, (size_t)(n * C + ch) * ox_tx_prod(c.in, 0, nd), c.in, nd, pos);
                            acc += at(&W, (size_t)((oc * c.Cg + ci) * K + k)) * m * v;
                        }
                    }
                    double got = at(&Y, (size_t)((n * M + oc) * O + o));
                    bad += fabs(got - acc) > (dt == ONYX_DTYPE_FLOAT ? 1e-4 : 1e-10) * (1 + fabs(acc));
                }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){X, W, off, B, mask, Y}, 6);
        txt_reset();
    }
    CHECK(done >= 30);
}

/* With zero offsets and no mask, DeformConv is a plain convolution: compare with Conv. */
TEST(deform_conv_zero_offsets_is_conv) {
    int done = 0;
    for (int iter = 0; iter < 100 && done < 20; iter++) {
        dcase c;
        if (!pick_case(&c) || c.nd != 2) continue;
        done++;
        int64_t C = c.G * c.Cg, M = c.G * c.Mg, K = c.k[0] * c.k[1];
        int64_t xd[4] = {c.N, C, c.in[0], c.in[1]}, wd[4] = {M, c.Cg, c.k[0], c.k[1]};
        int64_t od[4] = {c.N, c.OG * K * 2, c.out[0], c.out[1]};
        ox_tensor X = rand_real(ONYX_DTYPE_FLOAT, 4, xd, -1, 1), W = rand_real(ONYX_DTYPE_FLOAT, 4, wd, -1, 1);
        ox_tensor off = tt_make(ONYX_DTYPE_FLOAT, 4, od, NULL), B = rand_real(ONYX_DTYPE_FLOAT, 1, &M, -1, 1);
        ox_tensor Y1, Y2;
        ox_node *node = deform_node(&c, 4);
        REQUIRE_OK(ox_op_run_single(node, 22, (ox_tensor *[]){&X, &W, &off, &B}, 4, &Y1, 1));
        ox_node *conv = tn_node("Conv", 3, 1);
        int64_t pads[4] = {c.pb[0], c.pb[1], c.pe[0], c.pe[1]};
        tn_ints(conv, "pads", 4, pads);
        tn_ints(conv, "strides", 2, c.s);
        tn_ints(conv, "dilations", 2, c.d);
        tn_int(conv, "group", c.G);
        REQUIRE_OK(ox_op_run_single(conv, 11, (ox_tensor *[]){&X, &W, &B}, 3, &Y2, 1));
        CHECK(ox_tensor_same_shape(&Y1, &Y2));
        int bad = 0;
        for (size_t i = 0; i < ox_tensor_count(&Y1) && ox_tensor_same_shape(&Y1, &Y2); i++)
            bad += fabs(at(&Y1, i) - at(&Y2, i)) > 1e-4;
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){X, W, off, B, Y1, Y2}, 6);
        txt_reset();
    }
}

TEST(deform_conv_rejects_bad_shapes) {
    ox_tensor X = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 3, 3}, NULL);
    ox_tensor W = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 2, 2}, NULL);
    ox_tensor off_bad = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 8, 3, 3}, NULL); /* out is 2x2 */
    ox_tensor off = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 8, 2, 2}, NULL), Y;
    ox_node *nd = tn_node("DeformConv", 3, 1);
    CHECK(ox_op_run_single(nd, 19, (ox_tensor *[]){&X, &W, &off_bad}, 3, &Y, 1) != ONYX_OK);
    nd = tn_node("DeformConv", 3, 1);
    tn_int(nd, "offset_group", 3); /* 2 channels are not divisible by 3 */
    CHECK(ox_op_run_single(nd, 19, (ox_tensor *[]){&X, &W, &off}, 3, &Y, 1) != ONYX_OK);
    nd = tn_node("DeformConv", 3, 1);
    tn_int(nd, "group", 2); /* W would need 1 channel per group */
    CHECK(ox_op_run_single(nd, 19, (ox_tensor *[]){&X, &W, &off}, 3, &Y, 1) != ONYX_OK);
    nd = tn_node("DeformConv", 3, 1);
    REQUIRE_OK(ox_op_run_single(nd, 19, (ox_tensor *[]){&X, &W, &off}, 3, &Y, 1));
    tx_free_all((ox_tensor[]){X, W, off_bad, off, Y}, 5);
    txt_reset();
}

/* ---- TensorScatter ------------------------------------------------------------------------------ */

TEST(tensor_scatter_random) {
    static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_STRING, ONYX_DTYPE_UINT8, ONYX_DTYPE_INT64};
    for (int iter = 0; iter < 120; iter++) {
        int32_t rank = tx_rnd(3) + 2, t = types[tx_rnd(4)];
        int64_t pd[4], ud[4];
        tx_rnd_shape(rank, pd, 4);
        int32_t axis = tx_rnd(rank - 1) + 1;
        memcpy(ud, pd, sizeof pd);
        ud[axis] = tx_rnd((int)pd[axis] + 1);
        int circular = tx_rnd(2), with_idx = tx_rnd(3) != 0;
        int64_t wi[4], max_seq = pd[axis], seq = ud[axis];
        for (int64_t b = 0; b < pd[0]; b++)
            wi[b] = circular ? tx_rnd(20) - 10 : tx_rnd((int)(max_seq - seq + 1));
        ox_tensor past = tx_rand_tensor(t, rank, pd), upd = tx_rand_tensor(t, rank, ud);
        ox_tensor idx = tx_i64((size_t)pd[0], wi), y;
        ox_node *nd = tn_node("TensorScatter", 3, 1);
        if (!with_idx) tn_omit_input(nd, 2);
        tn_int(nd, "axis", tx_rnd(2) ? axis : axis - rank);
        if (circular || tx_rnd(2)) tn_str(nd, "mode", circular ? "circular" : "linear");
        REQUIRE_OK(ox_op_run_single(nd, 24, (ox_tensor *[]){&past, &upd, with_idx ? &idx : NULL}, 3, &y, 1));
        CHECK(tx_same_dims(&y, rank, pd));
        /* reference: for each output element, find the update element written there, if any */
        int bad = 0;
        int64_t oi[4], ui[4];
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, rank, pd, oi);
            int64_t w = with_idx ? wi[oi[0]] : 0, src = -1;
            for (int64_t q = 0; q < seq; q++) {
                int64_t pos = w + q;
                if (circular) pos = ((pos % max_seq) + max_seq) % max_seq;
                if (pos == oi[axis]) src = q;
            }
            if (src < 0) {
                bad += !tx_elem_eq(&y, e, &past, e);
            } else {
                memcpy(ui, oi, sizeof oi);
                ui[axis] = src;
                bad += !tx_elem_eq(&y, e, &upd, tx_ravel(rank, ud, ui));
            }
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){past, upd, idx, y}, 4);
        txt_reset();
    }
}

TEST(tensor_scatter_rejects) {
    ox_tensor past = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 4, 3}, NULL);
    ox_tensor upd = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 2, 3}, NULL);
    ox_tensor big = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){2, 5, 3}, NULL);
    ox_tensor idx = tx_i64(2, (int64_t[]){1, 3}), y; /* 3 + 2 > 4 in linear mode */
    ox_node *nd = tn_node("TensorScatter", 3, 1);
    tn_int(nd, "axis", 1);
    CHECK(ox_op_run_single(nd, 24, (ox_tensor *[]){&past, &upd, &idx}, 3, &y, 1) == ONYX_ERR_RUNTIME);
    CHECK(ox_op_run_single(nd, 24, (ox_tensor *[]){&past, &big, NULL}, 3, &y, 1) != ONYX_OK);
    nd = tn_node("TensorScatter", 2, 1);
    tn_int(nd, "axis", 0);
    CHECK(ox_op_run_single(nd, 24, (ox_tensor *[]){&past, &upd}, 2, &y, 1) != ONYX_OK);
    nd = tn_node("TensorScatter", 2, 1);
    tn_str(nd, "mode", "ring");
    CHECK(ox_op_run_single(nd, 24, (ox_tensor *[]){&past, &upd}, 2, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){past, upd, big, idx}, 4);
    txt_reset();
}
