/* Packing, the portable kernels and the threaded gate product of rnn_kern.h. */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises these loops only when told to (see elem_math.c) */
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#include "kernels/rnn_kern.h"

#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

size_t rnn_panels(size_t N) { return N / RNN_NR + (N % RNN_NR != 0); }

size_t rnn_packed_elems(size_t N, size_t K) {
    size_t cols, n;
    if (!ox_mul_ok(rnn_panels(N), RNN_NR, &cols) || !ox_mul_ok(cols, K, &n)) return SIZE_MAX;
    return n;
}

void rnn_pack(const float *W, size_t ldw, size_t N, size_t K, float *dst) {
    for (size_t p = 0; p < rnn_panels(N); p++) {
        float *d = dst + p * K * RNN_NR;
        size_t j0 = p * RNN_NR, cols = min_sz(RNN_NR, N - j0);
        for (size_t k = 0; k < K; k++) {
            float *row = d + k * RNN_NR;
            for (size_t c = 0; c < cols; c++) row[c] = W[(j0 + c) * ldw + k];
            for (size_t c = cols; c < RNN_NR; c++) row[c] = 0.0f;
        }
    }
}

/* ---- portable kernels ------------------------------------------------------ */

#if defined(__GNUC__)
/* 32 columns at a time in eight 4-float vectors: few enough for 16 registers,
 * enough independent sums to hide the add latency. */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void panel_generic(size_t M, size_t cols, size_t K, const float *A, size_t lda,
                          const float *b, float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t h = 0; h < cols; h += 32) {
            v4f acc[8];
#pragma GCC unroll 8
            for (size_t q = 0; q < 8; q++) acc[q] = (v4f){0, 0, 0, 0};
            const float *a = A + i * lda;
            for (size_t k = 0; k < K; k++) {
                const v4f ak = {a[k], a[k], a[k], a[k]};
                const float *bk = b + k * RNN_NR + h;
#pragma GCC unroll 8
                for (size_t q = 0; q < 8; q++) acc[q] += ak * load4(bk + 4 * q);
            }
            size_t w = cols - h < 32 ? cols - h : 32;
            memcpy(C + i * ldc + h, acc, w * sizeof(float));
        }
}
#else
static void panel_generic(size_t M, size_t cols, size_t K, const float *A, size_t lda,
                          const float *b, float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++) {
        float acc[RNN_NR];
        for (size_t c = 0; c < RNN_NR; c++) acc[c] = 0.0f;
        const float *a = A + i * lda;
        for (size_t k = 0; k < K; k++) {
            const float ak = a[k], *bk = b + k * RNN_NR;
            for (size_t c = 0; c < RNN_NR; c++) acc[c] += ak * bk[c];
        }
        memcpy(C + i * ldc, acc, cols * sizeof(float));
    }
}
#endif

#define RNN_CELL(name) name##_generic
#include "kernels/rnn_cell.h"
#undef RNN_CELL

const rnn_kern rnn_kern_generic = {
    "generic",  panel_generic, lstm_generic,    gru_zr_generic, gru_h_generic,
    gru_lbr_generic, rnn_generic, sigmoid_generic, tanh_generic,
};

const rnn_kern *rnn_kern_pick(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA)) return &rnn_kern_avx512;
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) return &rnn_kern_avx2;
#endif
    return &rnn_kern_generic;
}

/* ---- the gate product ------------------------------------------------------- */

typedef struct gates_task {
    const rnn_kern *k;
    size_t M, H, K, g0, npan, per_gate, n_cols_items, mchunk;
    const float *A, *Bp;
    size_t lda, ldc;
    float *C;
} gates_task;

/* Items run over (row chunk, gate, panel). */
static void gates_run(void *arg, size_t i0, size_t i1) {
    const gates_task *t = arg;
    for (size_t it = i0; it < i1; it++) {
        size_t mi = it / t->n_cols_items, ni = it % t->n_cols_items;
        size_t g = t->g0 + ni / t->npan, q = ni % t->npan;
        size_t m0 = mi * t->mchunk, m = min_sz(t->mchunk, t->M - m0);
        size_t col = q * RNN_NR;
        t->k->panel(m, min_sz(RNN_NR, t->H - col), t->K, t->A + m0 * t->lda, t->lda,
                    t->Bp + g * t->per_gate + q * t->K * RNN_NR,
                    t->C + m0 * t->ldc + g * t->H + col, t->ldc);
    }
}

int rnn_par_worth(size_t M, size_t N, size_t K) {
    double w = (double)N * (double)K;
    return (double)M * w >= 8388608.0 || w >= 524288.0;
}

void rnn_gemm_gates(const rnn_kern *k, size_t M, size_t H, size_t K, size_t g0, size_t g1,
                    const float *A, size_t lda, const float *Bp, float *C, size_t ldc,
                    ox_threadpool *pool) {
    if (M == 0 || H == 0 || g1 <= g0) return;
    /* Row chunks outermost: a chunk of A stays in cache while the panels pass
     * (many time steps at once in the input projection) */
    gates_task t = {.k = k, .M = M, .H = H, .K = K, .g0 = g0, .npan = rnn_panels(H),
                    .per_gate = rnn_packed_elems(H, K), .A = A, .Bp = Bp, .lda = lda,
                    .ldc = ldc, .C = C, .mchunk = M < 192 ? M : 192};
    t.n_cols_items = (g1 - g0) * t.npan;
    size_t threads = (size_t)ox_threadpool_size(pool);
    int par = threads > 1 && rnn_par_worth(M, (g1 - g0) * t.npan * RNN_NR, K);
    /* on the pool, a few items per thread: smaller row chunks (a multiple of the
     * 6-row tiles) when the columns alone give too few */
    size_t want = threads * 4, n_m = (M + t.mchunk - 1) / t.mchunk;
    if (par && n_m * t.n_cols_items < want) {
        size_t parts = (want + t.n_cols_items - 1) / t.n_cols_items;
        size_t chunk = ((M + parts - 1) / parts + 5) / 6 * 6;
        if (chunk < t.mchunk) t.mchunk = chunk;
        n_m = (M + t.mchunk - 1) / t.mchunk;
    }
    if (par)
        ox_parallel_for(pool, n_m * t.n_cols_items, 1, gates_run, &t);
    else
        gates_run(&t, 0, n_m * t.n_cols_items);
}
