/* The attention chain (plan/chain.c, ops/attention_chain.c): MatMul, Softmax over the
 * last dim, MatMul run as one step give what the three ops give, for 3-D and 4-D
 * inputs, queries and keys of different counts, 1 to 3 threads; and they are chained
 * only where a head's scores are many and nothing else reads them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mbuild.h"
#include "test.h"

typedef struct att_case {
    int rank;         /* 3: [heads, rows, d]; 4: [2, heads, rows, d] */
    int64_t heads, M, N, D;
} att_case;

/* y = MatMul(Softmax(MatMul(x, Kt)), V): x the queries, Kt and V initializers;
 * `request_p`: the probabilities a graph output too. */
static void build(mbuild *mb, const att_case *c, int request_p) {
    int64_t lead = c->rank == 4 ? 2 : 1;
    int64_t xd[4], kd[4], vd[4];
    int r = 0;
    if (c->rank == 4) xd[r] = kd[r] = vd[r] = 2, r++;
    xd[r] = kd[r] = vd[r] = c->heads;
    r++;
    xd[r] = c->M, kd[r] = c->D, vd[r] = c->N;
    r++;
    xd[r] = c->D, kd[r] = c->N, vd[r] = c->D;
    mb_begin(mb, c->rank, xd);
    size_t nk = (size_t)(lead * c->heads * c->D * c->N);
    float *k = malloc(nk * sizeof *k), *v = malloc(nk * sizeof *v);
    if (!k || !v) abort();
    for (size_t i = 0; i < nk; i++) {
        k[i] = (float)sin((double)i * 0.71);
        v[i] = (float)cos((double)i * 0.37);
    }
    mb_init(mb, "kt", c->rank, kd, k);
    mb_init(mb, "v", c->rank, vd, v);
    free(k);
    free(v);
    mb_node(mb, "MatMul", "x", "kt", NULL, "s");
    mb_node(mb, "Softmax", "s", NULL, NULL, "p");
    mb_node(mb, "MatMul", "p", "v", NULL, "y");
    mb_output(mb, "y");
    if (request_p) mb_output(mb, "p");
}

TEST(attention_chain_matches_ops) {
    static const att_case cases[] = {
        {3, 3, 256, 256, 8},  /* square, 256 x 256 scores per head */
        {3, 2, 260, 300, 5},  /* more keys than queries, odd sizes */
        {4, 3, 257, 255, 16}, /* a batch of 2 */
        {3, 4, 64, 64, 8},    /* scores that stay in L2: not chained */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const att_case *c = &cases[ci];
        int64_t lead = c->rank == 4 ? 2 : 1;
        size_t xn = (size_t)(lead * c->heads * c->M * c->D);
        float *x = malloc(xn * sizeof *x);
        if (!x) abort();
        for (size_t i = 0; i < xn; i++) x[i] = (float)(1.5 * sin((double)i * 1.13));
        int want = c->M * c->N >= 256 * 256;
        for (int threads = 1; threads <= 3; threads++)
            for (int request_p = 0; request_p < 2; request_p++) {
                mbuild mb;
                build(&mb, c, request_p);
                const char *req[2] = {"y", "p"};
                onyx_tensor *got = NULL;
                mb_threads = threads;
                double d = mb_fused_vs_plain(&mb, x, request_p ? 2 : 1, req, "", &got);
                mb_threads = 0;
                /* a requested probability keeps the ops apart */
                int chained = mb_any_label("MatMul>Softmax>MatMul");
                if (chained != (want && !request_p)) {
                    fprintf(stderr, "  case %zu, %d threads, p %s: %s expected\n", ci, threads,
                            request_p ? "requested" : "not requested",
                            want && !request_p ? "a chain" : "no chain");
                    mb_print_labels("attention");
                }
                CHECK(d >= 0 && d <= 1e-6);
                if (!(d >= 0 && d <= 1e-6))
                    fprintf(stderr, "  case %zu, %d threads: %g\n", ci, threads, d);
                onyx_tensor_free(got);
                free(mb.g.p);
            }
        free(x);
    }
}
