/* Chains (plan/chain.c, ops/nn_conv_chain.c): an expansion 1x1 Conv, a depthwise Conv
 * and a projection 1x1 Conv (or the first two, where a squeeze-and-excitation reads
 * the depthwise output) run as one region by bands of rows give what the unfused steps
 * give, on odd shapes, strides, dilations, batches, one band or many, every fused
 * activation kind, 2 and 3 threads and every kernel path; and they are chained only
 * where they may be. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "mbuild.h"
#include "test.h"

/* A Conv node in -> out with filters w{tag}, bias b{tag}; pads (top, left, bottom,
 * right), or NULL for (k - 1) * dil / 2 on every side. */
static void conv_node(mbuild *mb, const char *in, const char *tag, const char *out, int64_t group,
                      int64_t k, int64_t stride, int64_t dil, const int64_t *pads) {
    char w[8], b[8];
    snprintf(w, sizeof w, "w%s", tag);
    snprintf(b, sizeof b, "b%s", tag);
    pbuf n = {0};
    f_str(&n, 1, in);
    f_str(&n, 1, w);
    f_str(&n, 1, b);
    f_str(&n, 2, out);
    f_str(&n, 3, out);
    f_str(&n, 4, "Conv");
    int64_t pad = (k - 1) * dil / 2;
    const char *names[4] = {"kernel_shape", "strides", "dilations", "pads"};
    const int64_t vals[4] = {k, stride, dil, pad};
    for (int i = 0; i < 4; i++) {
        pbuf a = {0};
        f_str(&a, 1, names[i]);
        for (int j = 0; j < (i == 3 ? 4 : 2); j++) f_int(&a, 8, i == 3 && pads ? pads[j] : vals[i]);
        f_int(&a, 20, 7); /* AttributeProto.INTS */
        f_msg(&n, 5, &a);
    }
    pbuf g = {0};
    f_str(&g, 1, "group");
    f_int(&g, 3, group);
    f_int(&g, 20, 2); /* AttributeProto.INT */
    f_msg(&n, 5, &g);
    f_msg(&mb->g, 1, &n);
}

/* Initializer `name` of the given dims: a fixed sequence scaled by 1/sqrt(fan-in). */
static void weights(mbuild *mb, const char *name, int rank, const int64_t *dims, double phase) {
    size_t n = 1, fan = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    for (int i = 1; i < rank; i++) fan *= (size_t)dims[i];
    float *v = malloc(n * sizeof *v);
    if (!v) abort();
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(sin((double)i * 0.731 + phase) / sqrt((double)fan));
    mb_init(mb, name, rank, dims, v);
    free(v);
}

typedef struct chain_case {
    int64_t N, C, E, F, H, W, k, stride, dil;
    int residual;
    int act[3]; /* 0 none, 1 Relu, 2 Clip(0, 6), 3 SiLU (x * Sigmoid(x)) */
    int se;     /* a squeeze-and-excitation between the depthwise Conv and the projection */
    int uneven;      /* the depthwise Conv's pads are `pads`, else (k - 1) * dil / 2 each */
    int64_t pads[4]; /* top, left, bottom, right */
    int noexp;       /* no expansion: the depthwise Conv reads the block input (E == C) */
} chain_case;

static const char *const act_op[4] = {"", "+Relu", "+Clip", "+Sigmoid+Mul"};

/* The block of `cs` into mb; `variant`: 0 as described, 1 the expansion also a graph
 * output, 3 a dense (not depthwise) middle Conv. The block reads Neg(x), a value the
 * plan keeps in its arena, whose last reader is the chain's first Conv (without a
 * residual): the chain's outputs must not take its place while the chain runs. */
static void build(mbuild *mb, const chain_case *cs, int variant) {
    static const char *const sig[3] = {"es", "ds", "ps"};
    int64_t x4[4] = {cs->N, cs->C, cs->H, cs->W};
    mb_begin(mb, 4, x4);
    int64_t we[4] = {cs->E, cs->C, 1, 1}, wd[4] = {cs->E, variant == 3 ? cs->E : 1, cs->k, cs->k};
    int64_t wp[4] = {cs->F, cs->E, 1, 1}, be[1] = {cs->E}, bp[1] = {cs->F};
    weights(mb, "we", 4, we, 0.1);
    weights(mb, "be", 1, be, 0.2);
    weights(mb, "wd", 4, wd, 0.3);
    weights(mb, "bd", 1, be, 0.4);
    weights(mb, "wp", 4, wp, 0.5);
    weights(mb, "bp", 1, bp, 0.6);
    mb_scalar(mb, "lo", 0.0f);
    mb_scalar(mb, "hi", 6.0f);
    /* each Conv's output, then its activation's (the same name without one) */
    static const char *const raw[3] = {"e", "d", "p"}, *const act[3] = {"ea", "da", "pa"};
    const char *last = NULL;
    for (int i = 0; i < 3; i++) {
        const char *out = i == 2 && !cs->residual && !cs->act[2] ? "y" : raw[i];
        if (i == 0) {
            mb_node(mb, "Neg", "x", NULL, NULL, "xn");
            if (cs->noexp) {
                last = "xn";
                continue;
            }
            conv_node(mb, "xn", "e", out, 1, 1, 1, 1, NULL);
        }
        int64_t group = variant == 3 ? 1 : cs->E;
        if (i == 1)
            conv_node(mb, last, "d", out, group, cs->k, cs->stride, cs->dil,
                      cs->uneven ? cs->pads : NULL);
        if (i == 2 && cs->se) { /* pooled, squashed, scaling the channels */
            mb_node(mb, "GlobalAveragePool", last, NULL, NULL, "sp");
            mb_node(mb, "Sigmoid", "sp", NULL, NULL, "ss");
            mb_node(mb, "Mul", last, "ss", NULL, "sm");
            last = "sm";
        }
        if (i == 2) conv_node(mb, last, "p", out, 1, 1, 1, 1, NULL);
        last = out;
        if (i == 2 && !cs->residual) out = "y";
        else out = act[i];
        if (cs->act[i] == 3) {
            mb_node(mb, "Sigmoid", last, NULL, NULL, sig[i]);
            mb_node(mb, "Mul", last, sig[i], NULL, out);
        } else if (cs->act[i] == 1) {
            mb_node(mb, "Relu", last, NULL, NULL, out);
        } else if (cs->act[i] == 2) {
            mb_node(mb, "Clip", last, "lo", "hi", out);
        } else {
            continue;
        }
        last = out;
    }
    if (cs->residual) mb_node(mb, "Add", last, "xn", NULL, "y");
    mb_output(mb, "y");
    if (variant == 1) mb_output(mb, cs->act[0] ? "ea" : "e");
}

TEST(conv_chain_matches_unchained) {
    static const chain_case cases[] = {
        {1, 5, 19, 5, 23, 9, 3, 1, 1, 1, {2, 2, 0}},     /* mobilenet_v2's block, odd sizes */
        {1, 6, 24, 8, 21, 14, 3, 2, 1, 0, {1, 1, 1}},    /* stride 2, ReLU everywhere */
        {2, 4, 12, 4, 50, 5, 5, 1, 2, 1, {0, 2, 0}},     /* 5x5 dilated, a batch of 2 */
        {1, 3, 256, 4, 12, 200, 3, 1, 1, 0, {2, 2, 0}},  /* bands of one row */
        {1, 3, 160, 3, 27, 100, 3, 2, 1, 0, {2, 2, 2}},  /* stride 2, bands of two rows */
        {1, 8, 96, 8, 30, 64, 3, 1, 1, 1, {2, 2, 0}},    /* bands of 7, 7 and 1 rows */
        {1, 6, 40, 6, 20, 11, 3, 1, 1, 1, {3, 3, 0}},    /* SiLU */
        {1, 6, 40, 6, 20, 11, 3, 1, 1, 1, {3, 3, 0}, 1}, /* efficientnet's block: two chained */
        {2, 5, 36, 7, 25, 9, 5, 2, 1, 0, {3, 3, 0}, 1},  /* the same, 5x5 stride 2, a batch */
        {1, 3, 256, 4, 12, 200, 3, 1, 1, 0, {3, 1, 0}, 1}, /* two chained, bands of one row */
        /* no expansion: the depthwise Conv and the projection (mobilenet_v2's first block) */
        {1, 8, 8, 5, 23, 9, 3, 1, 1, 0, {0, 2, 0}, .noexp = 1},
        {1, 6, 6, 6, 21, 14, 3, 1, 1, 1, {0, 3, 0}, .noexp = 1},   /* SiLU, a residual */
        {2, 5, 5, 7, 25, 11, 5, 2, 2, 0, {0, 1, 1}, .noexp = 1},   /* 5x5 dilated, stride 2 */
        {1, 32, 32, 16, 112, 112, 3, 1, 1, 0, {0, 2, 0}, .noexp = 1}, /* chained at 1 thread */
    };
    static const unsigned limits[3] = {~0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, 0u};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const chain_case *cs = &cases[ci];
        size_t xn = (size_t)(cs->N * cs->C * cs->H * cs->W);
        float *x = malloc(xn * sizeof *x);
        if (!x) abort();
        for (size_t i = 0; i < xn; i++) x[i] = (float)(2.0 * sin((double)i * 1.37));
        char label[96];
        if (cs->noexp)
            snprintf(label, sizeof label, "Conv%s>Conv%s%s", act_op[cs->act[1]],
                     act_op[cs->act[2]], cs->residual ? "+Add" : "");
        else if (cs->se)
            snprintf(label, sizeof label, "Conv%s>Conv%s", act_op[cs->act[0]], act_op[cs->act[1]]);
        else
            snprintf(label, sizeof label, "Conv%s>Conv%s>Conv%s%s", act_op[cs->act[0]],
                     act_op[cs->act[1]], act_op[cs->act[2]], cs->residual ? "+Add" : "");
        int64_t OH = (cs->H - 1) / cs->stride + 1;
        for (int l = 0; l < 3; l++) {
            unsigned old = ox_cpu_limit(limits[l]);
            for (int threads = 1; threads <= 3; threads++) {
                if (l && threads != 2) continue; /* other paths: 2 threads */
                mbuild mb;
                build(&mb, cs, 0);
                const char *req[1] = {"y"};
                onyx_tensor *got = NULL;
                mb_threads = threads;
                double d = mb_fused_vs_plain(&mb, x, 1, req, "", &got);
                /* chained at 2 threads or more, with 5 output rows per thread, where
                 * the ranges' halos (expansion rows computed twice) are a sixth of
                 * the rows at most; at 1 thread where the expansion's output (with
                 * no expansion, the depthwise output) is 1 MB or more */
                int64_t halo = ((cs->k - 1) * cs->dil + 1 - cs->stride) * (threads - 1);
                if (cs->noexp) halo = 0; /* no expansion rows to compute twice */
                int64_t OW = (cs->W - 1) / cs->stride + 1;
                int64_t mid = cs->noexp ? OH * OW : cs->H * cs->W;
                int want = threads >= 2 ? OH >= 5 * threads && halo * 6 <= cs->H
                                        : cs->E * mid * 4 >= (1 << 20);
                if (mb_any_label(label) != want) {
                    fprintf(stderr, "  case %zu, %d threads: %s expected\n", ci, threads,
                            want ? "a chain" : "no chain");
                    mb_print_labels(label);
                }
                CHECK(d >= 0 && d <= 1e-5);
                if (!(d >= 0 && d <= 1e-5))
                    fprintf(stderr, "  case %zu, path %d, %d threads: %g\n", ci, l, threads, d);
                onyx_tensor_free(got);
                free(mb.g.p);
            }
            ox_cpu_limit(old);
        }
        free(x);
    }
    mb_threads = 0;
}

/* Left out of a chain: the expansion when it is also a graph output (the depthwise
 * Conv and the projection after it may still chain), a dense middle Conv. The values
 * are the same either way. */
TEST(conv_chain_must_not_chain) {
    static const chain_case cs = {1, 5, 19, 5, 23, 9, 3, 1, 1, 1, {2, 2, 0}};
    size_t xn = (size_t)(cs.N * cs.C * cs.H * cs.W);
    float x[5 * 23 * 9];
    for (size_t i = 0; i < xn; i++) x[i] = (float)(2.0 * sin((double)i * 1.37));
    for (int variant = 1; variant <= 3; variant += 2) {
        mbuild mb;
        build(&mb, &cs, variant);
        const char *req[2] = {"y", cs.act[0] ? "ea" : "e"};
        onyx_tensor *got = NULL;
        mb_threads = 2;
        double d = mb_fused_vs_plain(&mb, x, variant == 1 ? 2 : 1, req, "", &got);
        for (int i = 0; i < mb_n_labels; i++)
            if (variant == 1 ? !strncmp(mb_labels[i], "Conv+Clip>Conv+Clip>", 20)
                             : strchr(mb_labels[i], '>') != NULL)
                mb_print_labels("chained where it must not");
        if (variant == 1 && !mb_any_label("Conv+Clip>Conv+Add"))
            mb_print_labels("the depthwise Conv and the projection not chained");
        CHECK(d >= 0 && d <= 1e-5);
        onyx_tensor_free(got);
        free(mb.g.p);
    }
    mb_threads = 0;
}

/* xorshift32: a draw in [0, n) */
static int64_t draw(uint32_t *r, int64_t n) {
    *r ^= *r << 13;
    *r ^= *r >> 17;
    *r ^= *r << 5;
    return (int64_t)(*r % (uint32_t)n);
}

/* Random blocks (a fixed seed): sizes from 1, strides, dilations, uneven pads, every
 * activation kind, with and without the squeeze-and-excitation, 2 to 4 threads;
 * chained or not, the values are the unfused steps'. */
TEST(conv_chain_random_blocks) {
    uint32_t r = 2463534242u;
#define RND(n) draw(&r, (n))
    int chained = 0;
    for (int it = 0; it < 60; it++) {
        chain_case cs = {0}; /* one draw per statement: a fixed order */
        cs.N = 1 + RND(2);
        cs.C = 1 + RND(8);
        cs.E = 1 + RND(48);
        cs.F = 1 + RND(8);
        cs.H = 24 + RND(48);
        cs.W = 1 + RND(24);
        cs.k = 1 + 2 * RND(3);
        cs.stride = 1 + RND(2);
        cs.dil = 1 + RND(2);
        cs.se = RND(3) == 0;
        if (cs.k == 1) cs.k = 3; /* a 1x1 depthwise filter of stride 1 is no depthwise path */
        int64_t reach = (cs.k - 1) * cs.dil + 1;
        for (int i = 0; i < 4; i++) cs.pads[i] = RND(reach);
        cs.uneven = (int)RND(2);
        for (int i = 0; i < 3; i++) cs.act[i] = (int)RND(4);
        int64_t pt = cs.uneven ? cs.pads[0] : (cs.k - 1) * cs.dil / 2;
        int64_t pb = cs.uneven ? cs.pads[2] : pt;
        int64_t pl = cs.uneven ? cs.pads[1] : pt, pr = cs.uneven ? cs.pads[3] : pt;
        if (cs.H + pt + pb < reach || cs.W + pl + pr < reach) cs.H += reach, cs.W += reach;
        int64_t OH = (cs.H + pt + pb - reach) / cs.stride + 1;
        int64_t OW = (cs.W + pl + pr - reach) / cs.stride + 1;
        /* a residual where the output has the input's shape */
        cs.residual = !cs.se && cs.F == cs.C && OH == cs.H && OW == cs.W && RND(2);
        if (cs.residual) cs.act[2] = 0;
        int threads = 2 + (int)RND(3);
        cs.noexp = RND(4) == 0; /* the depthwise Conv reads the block input */
        if (cs.noexp) cs.E = cs.C;
        size_t xn = (size_t)(cs.N * cs.C * cs.H * cs.W);
        float *x = malloc(xn * sizeof *x);
        if (!x) abort();
        for (size_t i = 0; i < xn; i++) x[i] = (float)(2.0 * sin((double)i * 1.37 + it));
        mbuild mb;
        build(&mb, &cs, 0);
        const char *req[1] = {"y"};
        onyx_tensor *got = NULL;
        mb_threads = threads;
        double d = mb_fused_vs_plain(&mb, x, 1, req, "", &got);
        for (int i = 0; i < mb_n_labels; i++) chained += strchr(mb_labels[i], '>') != NULL;
        CHECK(d >= 0 && d <= 1e-5);
        if (!(d >= 0 && d <= 1e-5))
            fprintf(stderr, "  block %d (N %lld C %lld E %lld F %lld %lldx%lld k %lld s %lld d %lld, "
                    "%d threads): %g\n", it, (long long)cs.N, (long long)cs.C, (long long)cs.E,
                    (long long)cs.F, (long long)cs.H, (long long)cs.W, (long long)cs.k,
                    (long long)cs.stride, (long long)cs.dil, threads, d);
        onyx_tensor_free(got);
        free(mb.g.p);
        free(x);
    }
#undef RND
    mb_threads = 0;
    CHECK(chained >= 20); /* most of them chained: the test tests the chains */
    if (chained < 20) fprintf(stderr, "  only %d of 60 blocks chained\n", chained);
}
