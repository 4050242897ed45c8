/* The float kernels of the recurrent ops (kernels/rnn_kern.h) against plain
 * double-precision loops, on every instruction-set path: packing and the gate
 * product (odd sizes, every row-tile remainder, partial panels, a subset of the
 * gates, the pool), and the fused cell updates (clip or none, large inputs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/rnn_kern.h"
#include "tensor_helpers.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static const unsigned cpu_paths[] = {0u, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};

static float *rand_floats(size_t n, float lo, float hi) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * tt_randf();
    return p;
}

/* C = A * W^T for gates [g0, g1) of G (gate g: rows g*H .. (g+1)*H of W) through
 * rnn_pack and rnn_gemm_gates; columns outside those gates and the padding past
 * each row must keep their sentinel. Returns the failures. */
static int check_gates(size_t M, size_t H, size_t K, size_t G, size_t g0, size_t g1,
                       ox_threadpool *pool) {
    const size_t lda = K + 3, ldc = G * H + 5, per = rnn_packed_elems(H, K);
    float *A = rand_floats(M * lda, -1, 1), *W = rand_floats(G * H * K, -1, 1);
    float *Bp = ox_malloc_aligned((G * per + 1) * sizeof(float));
    float *C = malloc((M * ldc + 1) * sizeof *C);
    const float sentinel = -12345.0f;
    for (size_t i = 0; i < M * ldc; i++) C[i] = sentinel;
    for (size_t g = 0; g < G; g++) rnn_pack(W + g * H * K, K, H, K, Bp + g * per);
    rnn_gemm_gates(rnn_kern_pick(), M, H, K, g0, g1, A, lda, Bp, C, ldc, pool);
    int bad = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < ldc; j++) {
            float got = C[i * ldc + j];
            int in_gates = j >= g0 * H && j < g1 * H;
            if (!in_gates) {
                if (got != sentinel && bad++ < 3)
                    fprintf(stderr, "  C[%zu][%zu] written outside the gates\n", i, j);
                continue;
            }
            double want = 0;
            for (size_t k = 0; k < K; k++) want += (double)A[i * lda + k] * W[j * K + k];
            if (!(fabs(got - want) <= 1e-5 * (1.0 + (double)K)) && bad++ < 3)
                fprintf(stderr, "  C[%zu][%zu] = %.9g, expected %.9g\n", i, j, got, want);
        }
    if (bad)
        fprintf(stderr, "  M=%zu H=%zu K=%zu gates [%zu, %zu) of %zu, %s, pool %d\n", M, H, K,
                g0, g1, G, rnn_kern_pick()->name, ox_threadpool_size(pool));
    free(A);
    free(W);
    ox_free_aligned(Bp);
    free(C);
    return bad;
}

TEST(rnn_kern_gate_product) {
    static const size_t ms[] = {1, 2, 5, 6, 7, 13};
    static const size_t hs[] = {1, 7, 17, 33, 64, 65, 130};
    static const size_t ks[] = {0, 1, 7, 33, 130};
    for (size_t l = 0; l < 3 && !ox_test_failures; l++) {
        ox_cpu_limit(cpu_paths[l]);
        for (size_t m = 0; m < 6; m++)
            for (size_t h = 0; h < 7; h++)
                for (size_t k = 0; k < 5 && !ox_test_failures; k++) {
                    ox_test_failures += check_gates(ms[m], hs[h], ks[k], 2, 0, 2, NULL);
                    ox_test_failures += check_gates(ms[m], hs[h], ks[k], 3, 1, 2, NULL);
                }
    }
    ox_cpu_limit(~0u);
}

TEST(rnn_kern_gate_product_on_pool) {
    /* over 2 MB of weights (split by panels), and over 8M multiply-adds with one
     * panel per gate (split by rows too) */
    ox_threadpool *pool = ox_threadpool_create(4);
    for (size_t l = 0; l < 3 && !ox_test_failures; l++) {
        ox_cpu_limit(cpu_paths[l]);
        ox_test_failures += check_gates(3, 731, 731, 1, 0, 1, pool);
        ox_test_failures += check_gates(131, 40, 1025, 2, 0, 2, pool);
        ox_test_failures += check_gates(1, 500, 600, 3, 2, 3, pool);
        ox_test_failures += check_gates(389, 70, 9, 2, 0, 2, NULL); /* several row chunks */
    }
    ox_cpu_limit(~0u);
    ox_threadpool_free(pool);
}

/* ---- cells ------------------------------------------------------------------- */

static double sig(double x) { return 1 / (1 + exp(-x)); }
static double clampd(double x, double c) { return x < -c ? -c : x > c ? c : x; }

/* within 2e-6 absolute and relative, plus `prop`: what the float rounding of an
 * intermediate that the kernel must round (a gate's sigmoid, within the 3 ulp
 * kernels/vmath.h promises) can move the result by */
static int near_prop(const char *what, size_t j, float got, double want, double prop) {
    if (fabs(got - want) <= 2e-6 + 2e-6 * fabs(want) + prop) return 0;
    fprintf(stderr, "  %s[%zu] = %.9g, expected %.9g (%s)\n", what, j, got, want,
            rnn_kern_pick()->name);
    return 1;
}

static int near(const char *what, size_t j, float got, double want) {
    return near_prop(what, j, got, want, 0.0);
}

static void check_cells(size_t H, float clip, float scale) {
    const rnn_kern *k = rnn_kern_pick();
    const double cl = clip;
    float *g = rand_floats(4 * H, -scale, scale), *xw = rand_floats(4 * H, -scale, scale);
    float *h0 = rand_floats(H, -1, 1), *c0 = rand_floats(H, -2, 2), *rb = rand_floats(H, -1, 1);
    float *g2 = malloc(4 * H * sizeof *g2), *h = malloc(H * sizeof *h), *c = malloc(H * sizeof *c);
    float *rh = malloc(H * sizeof *rh);
    int bad = 0;

    memcpy(h, h0, H * sizeof *h);
    memcpy(c, c0, H * sizeof *c);
    k->lstm(H, g, xw, clip, c, h);
    for (size_t j = 0; j < H && bad < 3; j++) {
        double i = sig(clampd((double)g[j] + xw[j], cl));
        double o = sig(clampd((double)g[H + j] + xw[H + j], cl));
        double f = sig(clampd((double)g[2 * H + j] + xw[2 * H + j], cl));
        double z = tanh(clampd((double)g[3 * H + j] + xw[3 * H + j], cl));
        double cn = f * c0[j] + i * z;
        bad += near("lstm c", j, c[j], cn);
        bad += near("lstm h", j, h[j], o * tanh(cn));
    }

    memcpy(g2, g, 4 * H * sizeof *g2);
    memcpy(h, h0, H * sizeof *h);
    k->gru_zr(H, g2, xw, clip, h, rh);
    for (size_t j = 0; j < H && bad < 3; j++) {
        double z = sig(clampd((double)g[j] + xw[j], cl));
        double r = sig(clampd((double)g[H + j] + xw[H + j], cl));
        bad += near("gru z", j, g2[j], z);
        bad += near("gru r*h", j, rh[j], r * h0[j]);
    }
    k->gru_h(H, g2, xw, clip, h);
    for (size_t j = 0; j < H && bad < 3; j++) {
        double z = g2[j], hh = tanh(clampd((double)g2[2 * H + j] + xw[2 * H + j], cl));
        bad += near("gru h", j, h[j], (1 - z) * hh + z * h0[j]);
    }

    memcpy(h, h0, H * sizeof *h);
    k->gru_lbr(H, g, xw, rb, clip, h);
    for (size_t j = 0; j < H && bad < 3; j++) {
        double z = sig(clampd((double)g[j] + xw[j], cl));
        double r = sig(clampd((double)g[H + j] + xw[H + j], cl));
        double gr = (double)g[2 * H + j] + rb[j];
        double hh = tanh(clampd(xw[2 * H + j] + r * gr, cl));
        /* r's rounding (3 ulp: 3 * 2^-24 relative) reaches h through r * gr, which
         * the scale makes large, then tanh' and the (1 - z) share */
        double prop = (1 - z) * (1 - hh * hh) * fabs(gr) * r * 3.0 * 0x1p-24;
        bad += near_prop("gru_lbr h", j, h[j], (1 - z) * hh + z * h0[j], prop);
    }

    k->rnn(H, g, xw, clip, h);
    for (size_t j = 0; j < H && bad < 3; j++)
        bad += near("rnn h", j, h[j], tanh(clampd((double)g[j] + xw[j], cl)));

    memcpy(g2, g, 4 * H * sizeof *g2);
    k->sigmoid(g2, 4 * H);
    for (size_t j = 0; j < 4 * H && bad < 3; j++) bad += near("sigmoid", j, g2[j], sig(g[j]));
    memcpy(g2, g, 4 * H * sizeof *g2);
    k->tanh(g2, 4 * H);
    for (size_t j = 0; j < 4 * H && bad < 3; j++) bad += near("tanh", j, g2[j], tanh(g[j]));

    if (bad) fprintf(stderr, "  H=%zu clip=%g scale=%g\n", H, clip, scale);
    ox_test_failures += bad;
    free(g);
    free(xw);
    free(h0);
    free(c0);
    free(rb);
    free(g2);
    free(h);
    free(c);
    free(rh);
}

TEST(rnn_kern_cells) {
    static const size_t hs[] = {1, 7, 17, 33, 255};
    for (size_t l = 0; l < 3 && !ox_test_failures; l++) {
        ox_cpu_limit(cpu_paths[l]);
        for (size_t h = 0; h < 5 && !ox_test_failures; h++) {
            check_cells(hs[h], INFINITY, 3.0f);
            check_cells(hs[h], 0.7f, 3.0f);
            check_cells(hs[h], INFINITY, 60.0f); /* saturated gates */
        }
    }
    ox_cpu_limit(~0u);
}
