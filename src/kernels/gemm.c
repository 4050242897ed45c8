/* Portable SGEMM in the classic packed, blocked form:
 *   for each NC-wide column block of C and each KC-deep slice of K, op(B) is packed
 *   into NR-wide strips; for each MC-high row block, op(A) is packed into MR-high
 *   strips; an MR x NR micro-kernel then runs over the packed strips with its
 *   accumulators in registers. Packing makes the micro-kernel's loads contiguous
 *   whatever the transposes, and zero-fills ragged edges so it never branches.
 * The micro-kernel is plain C with constant trip counts so the compiler can keep
 * the tile in vector registers; ISA-specific kernels can replace it later.
 * Single-row / single-column products skip packing (it would cost more than the
 * product itself) and run as dot products or axpys. */
#include "kernels/gemm.h"

#include <string.h>

#include "util/alloc.h"
#include "util/scratch.h"
#include "util/threadpool.h"

#define MR 6
#define NR 8
#define KC 256
#define MC 96  /* multiple of MR */
#define NC 512 /* multiple of NR */

#if defined(__GNUC__)
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

typedef struct sgemm_args {
    int ta, tb;
    size_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    size_t lda, ldb, ldc;
    float *C;
} sgemm_args;

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- reference ---------------------------------------------------------- */

void ox_sgemm_ref(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc) {
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++) {
                float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                s += (double)a * (double)b;
            }
            float *c = &C[i * ldc + j];
            double r = (double)alpha * s;
            if (beta != 0.0f) r += (double)beta * (double)*c;
            *c = (float)r;
        }
    }
}

/* C = beta * C over an M x N block (beta 0 clears without reading). */
static void scale_c(float *C, size_t ldc, size_t M, size_t N, float beta) {
    for (size_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, N * sizeof *c);
        else if (beta != 1.0f)
            for (size_t j = 0; j < N; j++) c[j] *= beta;
    }
}

/* ---- packing ------------------------------------------------------------ */

/* op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into ceil(mc/MR) strips of kc*MR floats:
 * strip s, depth p, lane r holds op(A)[i0 + s*MR + r][p0 + p]. */
static void pack_a(const sgemm_args *g, size_t i0, size_t mc, size_t p0, size_t kc,
                   float *restrict dst) {
    for (size_t s = 0; s < mc; s += MR) {
        size_t rows = min_sz(MR, mc - s);
        float *d = dst + (s / MR) * kc * MR;
        if (g->ta) { /* op(A)[i][p] = A[p*lda + i]: rows are contiguous in memory */
            for (size_t p = 0; p < kc; p++) {
                const float *src = g->A + (p0 + p) * g->lda + i0 + s;
                size_t r = 0;
                for (; r < rows; r++) d[p * MR + r] = src[r];
                for (; r < MR; r++) d[p * MR + r] = 0.0f;
            }
        } else {
            for (size_t r = 0; r < MR; r++) {
                if (r < rows) {
                    const float *src = g->A + (i0 + s + r) * g->lda + p0;
                    for (size_t p = 0; p < kc; p++) d[p * MR + r] = src[p];
                } else {
                    for (size_t p = 0; p < kc; p++) d[p * MR + r] = 0.0f;
                }
            }
        }
    }
}

/* op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into ceil(nc/NR) strips of kc*NR floats:
 * strip s, depth p, lane c holds op(B)[p0 + p][j0 + s*NR + c]. */
static void pack_b(const sgemm_args *g, size_t p0, size_t kc, size_t j0, size_t nc,
                   float *restrict dst) {
    for (size_t s = 0; s < nc; s += NR) {
        size_t cols = min_sz(NR, nc - s);
        float *d = dst + (s / NR) * kc * NR;
        if (!g->tb) {
            for (size_t p = 0; p < kc; p++) {
                const float *src = g->B + (p0 + p) * g->ldb + j0 + s;
                size_t c = 0;
                for (; c < cols; c++) d[p * NR + c] = src[c];
                for (; c < NR; c++) d[p * NR + c] = 0.0f;
            }
        } else { /* op(B)[p][j] = B[j*ldb + p] */
            for (size_t c = 0; c < NR; c++) {
                if (c < cols) {
                    const float *src = g->B + (j0 + s + c) * g->ldb + p0;
                    for (size_t p = 0; p < kc; p++) d[p * NR + c] = src[p];
                } else {
                    for (size_t p = 0; p < kc; p++) d[p * NR + c] = 0.0f;
                }
            }
        }
    }
}

/* ---- micro-kernel ------------------------------------------------------- */

/* acc = a_strip (MR x kc) * b_strip (kc x NR).
 * With GNU C vector types the tile is 12 four-float registers, which fits the 16
 * vector registers of the x86-64 baseline (SSE2) and of most other targets; other
 * compilers get the same arithmetic as plain loops. Loads go through memcpy, so
 * no alignment is assumed. */
#if defined(__GNUC__)
static void micro_kernel(size_t kc, const float *restrict a, const float *restrict b,
                         float *restrict acc) {
    v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    v4f c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (size_t p = 0; p < kc; p++) {
        v4f b0 = load4(b), b1 = load4(b + 4);
        v4f ai;
        ai = (v4f){a[0], a[0], a[0], a[0]}; c00 += ai * b0; c01 += ai * b1;
        ai = (v4f){a[1], a[1], a[1], a[1]}; c10 += ai * b0; c11 += ai * b1;
        ai = (v4f){a[2], a[2], a[2], a[2]}; c20 += ai * b0; c21 += ai * b1;
        ai = (v4f){a[3], a[3], a[3], a[3]}; c30 += ai * b0; c31 += ai * b1;
        ai = (v4f){a[4], a[4], a[4], a[4]}; c40 += ai * b0; c41 += ai * b1;
        ai = (v4f){a[5], a[5], a[5], a[5]}; c50 += ai * b0; c51 += ai * b1;
        a += MR;
        b += NR;
    }
    v4f out[MR * 2] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    memcpy(acc, out, sizeof out);
}
#else
static void micro_kernel(size_t kc, const float *restrict a, const float *restrict b,
                         float *restrict acc) {
    float t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) t[i][j] = 0.0f;
    for (size_t p = 0; p < kc; p++) {
        const float *ap = a + p * MR, *bp = b + p * NR;
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) t[i][j] += ap[i] * bp[j];
    }
    memcpy(acc, t, sizeof t);
}
#endif

/* C tile (rows x cols, at most MR x NR) from acc. On the first K slice beta
 * applies; later slices accumulate. */
static void store_tile(float *C, size_t ldc, const float *acc, size_t rows, size_t cols,
                       float alpha, float beta, int first) {
    for (size_t i = 0; i < rows; i++) {
        float *c = C + i * ldc;
        const float *t = acc + i * NR;
        if (!first || beta == 1.0f) {
            for (size_t j = 0; j < cols; j++) c[j] += alpha * t[j];
        } else if (beta == 0.0f) {
            for (size_t j = 0; j < cols; j++) c[j] = alpha * t[j];
        } else {
            for (size_t j = 0; j < cols; j++) c[j] = alpha * t[j] + beta * c[j];
        }
    }
}

/* ---- blocked driver ----------------------------------------------------- */

static void gemm_region_ref(const sgemm_args *g, size_t m0, size_t m1, size_t n0, size_t n1) {
    const float *a = g->ta ? g->A + m0 : g->A + m0 * g->lda;
    const float *b = g->tb ? g->B + n0 * g->ldb : g->B + n0;
    ox_sgemm_ref(g->ta, g->tb, m1 - m0, n1 - n0, g->K, g->alpha, a, g->lda, b, g->ldb, g->beta,
                 g->C + m0 * g->ldc + n0, g->ldc);
}

/* C[m0..m1) x [n0..n1), all of K. */
static void gemm_region(const sgemm_args *g, size_t m0, size_t m1, size_t n0, size_t n1) {
    size_t kc_max = min_sz(KC, g->K);
    size_t mc_max = min_sz(MC, m1 - m0), nc_max = min_sz(NC, n1 - n0);
    size_t a_floats = ((mc_max + MR - 1) / MR) * MR * kc_max;
    size_t b_floats = ((nc_max + NR - 1) / NR) * NR * kc_max;
    /* packing buffers: this thread's scratch, kept between calls */
    float *pa = ox_scratch(0, a_floats * sizeof(float));
    float *pb = ox_scratch(1, b_floats * sizeof(float));
    if (!pa || !pb) {
        gemm_region_ref(g, m0, m1, n0, n1);
        return;
    }
    float acc[MR * NR];
    for (size_t jc = n0; jc < n1; jc += NC) {
        size_t nc = min_sz(NC, n1 - jc);
        for (size_t pc = 0; pc < g->K; pc += KC) {
            size_t kc = min_sz(KC, g->K - pc);
            int first = pc == 0;
            pack_b(g, pc, kc, jc, nc, pb);
            for (size_t ic = m0; ic < m1; ic += MC) {
                size_t mc = min_sz(MC, m1 - ic);
                pack_a(g, ic, mc, pc, kc, pa);
                for (size_t jr = 0; jr < nc; jr += NR) {
                    const float *bs = pb + (jr / NR) * kc * NR;
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        micro_kernel(kc, pa + (ir / MR) * kc * MR, bs, acc);
                        store_tile(g->C + (ic + ir) * g->ldc + jc + jr, g->ldc, acc,
                                   min_sz(MR, mc - ir), min_sz(NR, nc - jr), g->alpha, g->beta,
                                   first);
                    }
                }
            }
        }
    }
}

typedef struct grid_task {
    const sgemm_args *g;
    size_t tm, tn;       /* rows and columns per task */
    size_t n_tasks_n;    /* tasks along N */
} grid_task;

static void grid_run(void *arg, size_t begin, size_t end) {
    const grid_task *t = arg;
    for (size_t k = begin; k < end; k++) {
        size_t bm = k / t->n_tasks_n, bn = k % t->n_tasks_n;
        size_t m0 = bm * t->tm, n0 = bn * t->tn;
        gemm_region(t->g, m0, min_sz(m0 + t->tm, t->g->M), n0, min_sz(n0 + t->tn, t->g->N));
    }
}

/* ---- matrix-vector forms -------------------------------------------------- */

/* y[j*incy] = beta*y + alpha * sum_k x[k*incx] * W[k*rs + j*cs], j in [j0, j1). */
typedef struct gemv_args {
    size_t K;
    float alpha, beta;
    const float *x, *W;
    size_t incx, rs, cs, incy;
    float *y;
} gemv_args;

static float dot_contig(const float *restrict a, const float *restrict b, size_t n) {
    size_t k = 0;
    float r;
#if defined(__GNUC__)
    v4f s0 = {0}, s1 = {0};
    for (; k + 8 <= n; k += 8) {
        s0 += load4(a + k) * load4(b + k);
        s1 += load4(a + k + 4) * load4(b + k + 4);
    }
    s0 += s1;
    r = (s0[0] + s0[2]) + (s0[1] + s0[3]);
#else
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; l++) s[l] += a[k + l] * b[k + l];
    r = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
#endif
    for (; k < n; k++) r += a[k] * b[k];
    return r;
}

static void gemv_run(void *arg, size_t j0, size_t j1) {
    const gemv_args *v = arg;
    if (v->cs == 1 && v->incy == 1) { /* axpy form: rows of W are contiguous in j */
        float *y = v->y;
        for (size_t j = j0; j < j1; j++) y[j] = v->beta == 0.0f ? 0.0f : v->beta * y[j];
        /* four rows of W per pass over y keep y's loads and stores off the
         * critical path */
        size_t k = 0;
        for (; k + 4 <= v->K; k += 4) {
            float x0 = v->alpha * v->x[k * v->incx], x1 = v->alpha * v->x[(k + 1) * v->incx];
            float x2 = v->alpha * v->x[(k + 2) * v->incx], x3 = v->alpha * v->x[(k + 3) * v->incx];
            const float *restrict w0 = v->W + k * v->rs, *restrict w1 = w0 + v->rs;
            const float *restrict w2 = w1 + v->rs, *restrict w3 = w2 + v->rs;
            size_t j = j0;
#if defined(__GNUC__)
            for (; j + 4 <= j1; j += 4) {
                v4f yv = load4(y + j);
                yv += (x0 * load4(w0 + j) + x1 * load4(w1 + j)) +
                      (x2 * load4(w2 + j) + x3 * load4(w3 + j));
                memcpy(y + j, &yv, sizeof yv);
            }
#endif
            for (; j < j1; j++) y[j] += (x0 * w0[j] + x1 * w1[j]) + (x2 * w2[j] + x3 * w3[j]);
        }
        for (; k < v->K; k++) {
            float xk = v->alpha * v->x[k * v->incx];
            const float *w = v->W + k * v->rs;
            for (size_t j = j0; j < j1; j++) y[j] += xk * w[j];
        }
        return;
    }
    for (size_t j = j0; j < j1; j++) {
        float s;
        if (v->rs == 1 && v->incx == 1) {
            s = dot_contig(v->x, v->W + j * v->cs, v->K);
        } else {
            s = 0.0f;
            for (size_t k = 0; k < v->K; k++) s += v->x[k * v->incx] * v->W[k * v->rs + j * v->cs];
        }
        float *y = &v->y[j * v->incy];
        *y = v->beta == 0.0f ? v->alpha * s : v->alpha * s + v->beta * *y;
    }
}

/* ---- entry point -------------------------------------------------------- */

void ox_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
              size_t ldc, ox_threadpool *pool) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        scale_c(C, ldc, M, N, beta);
        return;
    }
    size_t threads = (size_t)ox_threadpool_size(pool);
    double flops = (double)M * (double)N * (double)K;
    if (flops < 32768.0) threads = 1; /* not worth waking workers */

    if (M == 1 || N == 1) {
        gemv_args v = {.K = K, .alpha = alpha, .beta = beta};
        size_t n_out;
        if (M == 1) {
            v.x = A;
            v.incx = trans_a ? lda : 1;
            v.W = B;
            v.rs = trans_b ? 1 : ldb;
            v.cs = trans_b ? ldb : 1;
            v.y = C;
            v.incy = 1;
            n_out = N;
        } else {
            v.x = B;
            v.incx = trans_b ? 1 : ldb;
            v.W = A;
            v.rs = trans_a ? lda : 1;
            v.cs = trans_a ? 1 : lda;
            v.y = C;
            v.incy = ldc;
            n_out = M;
        }
        size_t grain = 64;
        if (threads > 1) ox_parallel_for(pool, n_out, grain, gemv_run, &v);
        else gemv_run(&v, 0, n_out);
        return;
    }

    sgemm_args g = {.ta = trans_a, .tb = trans_b, .M = M, .N = N, .K = K, .alpha = alpha,
                    .beta = beta, .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C};
    if (threads <= 1) {
        gemm_region(&g, 0, M, 0, N);
        return;
    }
    /* A grid of a few tasks per thread. Every task packs the A rows and B columns
     * it covers, so the split minimises the total packed: parts_n * M + parts_m * N. */
    size_t target = threads * 4;
    size_t strips_n = (N + NR - 1) / NR, strips_m = (M + MR - 1) / MR;
    size_t parts_m = 1, parts_n = 1;
    double best = -1.0;
    for (size_t pm = 1; pm <= target && pm <= strips_m; pm++) {
        size_t pn = min_sz((target + pm - 1) / pm, strips_n);
        double cost = (double)pn * (double)M + (double)pm * (double)N;
        if (pm * pn < target && pm * pn < strips_m * strips_n) cost *= 2.0; /* too few tasks */
        if (best < 0.0 || cost < best) {
            best = cost;
            parts_m = pm;
            parts_n = pn;
        }
    }
    grid_task t = {.g = &g};
    t.tn = ((strips_n + parts_n - 1) / parts_n) * NR;
    t.tm = ((strips_m + parts_m - 1) / parts_m) * MR;
    t.n_tasks_n = (N + t.tn - 1) / t.tn;
    size_t n_tasks = t.n_tasks_n * ((M + t.tm - 1) / t.tm);
    ox_parallel_for(pool, n_tasks, 1, grid_run, &t);
}

void ox_gemm_int_exact(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                       size_t ldb, int32_t *C, size_t ldc, float *tmp, ox_threadpool *pool) {
    for (size_t k0 = 0; k0 < K; k0 += 256) {
        size_t kc = min_sz(256, K - k0);
        ox_sgemm(0, 0, M, N, kc, 1.0f, A + k0, lda, B + k0 * ldb, ldb, 0.0f, tmp, N, pool);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                uint32_t acc = (uint32_t)C[i * ldc + j] + (uint32_t)(int32_t)tmp[i * N + j];
                memcpy(&C[i * ldc + j], &acc, sizeof acc);
            }
    }
}

void ox_saxpy(size_t n, float a, const float *x, float *y) {
    size_t i = 0;
#if defined(__GNUC__)
    for (; i + 8 <= n; i += 8) {
        v4f y0 = load4(y + i), y1 = load4(y + i + 4);
        y0 += a * load4(x + i);
        y1 += a * load4(x + i + 4);
        memcpy(y + i, &y0, sizeof y0);
        memcpy(y + i + 4, &y1, sizeof y1);
    }
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

/* ---- double --------------------------------------------------------------- */

typedef struct dgemm_args {
    int ta, tb;
    size_t N, K;
    double alpha, beta;
    const double *A, *B;
    size_t lda, ldb, ldc;
    double *C;
} dgemm_args;

static void dgemm_rows(void *arg, size_t i0, size_t i1) {
    const dgemm_args *g = arg;
    for (size_t i = i0; i < i1; i++) {
        double *c = g->C + i * g->ldc;
        for (size_t j = 0; j < g->N; j++) c[j] = g->beta == 0.0 ? 0.0 : g->beta * c[j];
        if (!g->tb) {
            for (size_t k = 0; k < g->K; k++) {
                double a = g->alpha * (g->ta ? g->A[k * g->lda + i] : g->A[i * g->lda + k]);
                const double *b = g->B + k * g->ldb;
                for (size_t j = 0; j < g->N; j++) c[j] += a * b[j];
            }
        } else {
            for (size_t j = 0; j < g->N; j++) {
                const double *b = g->B + j * g->ldb;
                double s = 0.0;
                for (size_t k = 0; k < g->K; k++)
                    s += (g->ta ? g->A[k * g->lda + i] : g->A[i * g->lda + k]) * b[k];
                c[j] += g->alpha * s;
            }
        }
    }
}

void ox_dgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, double alpha,
              const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
              size_t ldc, ox_threadpool *pool) {
    if (M == 0 || N == 0) return;
    dgemm_args g = {.ta = trans_a, .tb = trans_b, .N = N, .K = K, .alpha = alpha, .beta = beta,
                    .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C};
    size_t grain = (size_t)(1 + 65536 / ((double)N * (double)(K + 1) + 1));
    ox_parallel_for(pool, M, grain, dgemm_rows, &g);
}
