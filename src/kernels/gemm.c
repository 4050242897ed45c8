/* SGEMM in the classic packed, blocked form:
 *   for each NC-wide column block of C and each KC-deep slice of K, op(B) is packed
 *   into NR-wide strips; for each MC-high row block, op(A) is packed into MR-high
 *   strips; an MR x NR micro-kernel then runs over the packed strips with its
 *   accumulators in registers. Packing makes the micro-kernel's loads contiguous
 *   whatever the transposes, and zero-fills ragged edges so it never branches.
 * The driver here runs any ox_sgemm_kernel (gemm_kernel.h): the portable one below
 * (plain C with constant trip counts, so the compiler keeps the tile in vector
 * registers) or, when kernels/cpu.h finds them, the AVX-512 one in x86/sgemm_avx512.c
 * or the AVX2 + FMA one in x86/sgemm_avx2.c.
 * Single-row / single-column products skip packing (it would cost more than the
 * product itself) and run as dot products or axpys. */
#include "kernels/gemm.h"

#include <stdatomic.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/gemm_kernel.h"
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
    const ox_sgemm_kernel *kernel;
    const float *pa, *pb; /* packed operands (ox_sgemm_pack layout) or NULL */
    size_t pa_rows, pb_cols; /* their padded row / column counts */
    ox_sgemm_b_packer b_packer;
    const void *b_ctx;
    const float *row_bias, *col_bias, *residual; /* ox_sgemm_call's */
    int row_clamp;
    float row_lo, row_hi;
    ox_sgemm_epilogue epilogue;
    const void *ep_ctx;
    /* not 0: the grid's tasks split N (M), so several on one thread read the same
     * rows of an A (columns of a B) that is not packed: each thread packs its rows
     * (columns) for all of K once and keeps them (util/scratch.h's tag) for its next
     * task on the same ones */
    unsigned long long a_tag, b_tag;
} sgemm_args;

struct ox_sgemm_packed {
    const ox_sgemm_kernel *kernel;
    int side;
    size_t rows, cols; /* op(X) */
    size_t padded;     /* rows (side 0) or columns (side 1) rounded up to the tile */
    float *data;
};

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

/* ---- portable kernel --------------------------------------------------- */

static void pack_a(int ta, const float *A, size_t lda, size_t i0, size_t mc, size_t p0, size_t kc,
                   float *restrict dst) {
    for (size_t s = 0; s < mc; s += MR) {
        size_t rows = min_sz(MR, mc - s);
        float *d = dst + (s / MR) * kc * MR;
        if (ta) { /* op(A)[i][p] = A[p*lda + i]: rows are contiguous in memory */
            for (size_t p = 0; p < kc; p++) {
                const float *src = A + (p0 + p) * lda + i0 + s;
                size_t r = 0;
                for (; r < rows; r++) d[p * MR + r] = src[r];
                for (; r < MR; r++) d[p * MR + r] = 0.0f;
            }
        } else {
            for (size_t r = 0; r < MR; r++) {
                if (r < rows) {
                    const float *src = A + (i0 + s + r) * lda + p0;
                    for (size_t p = 0; p < kc; p++) d[p * MR + r] = src[p];
                } else {
                    for (size_t p = 0; p < kc; p++) d[p * MR + r] = 0.0f;
                }
            }
        }
    }
}

static void pack_b(int tb, const float *B, size_t ldb, size_t p0, size_t kc, size_t j0, size_t nc,
                   float *restrict dst) {
    for (size_t s = 0; s < nc; s += NR) {
        size_t cols = min_sz(NR, nc - s);
        float *d = dst + (s / NR) * kc * NR;
        if (!tb) {
            for (size_t p = 0; p < kc; p++) {
                const float *src = B + (p0 + p) * ldb + j0 + s;
                size_t c = 0;
                for (; c < cols; c++) d[p * NR + c] = src[c];
                for (; c < NR; c++) d[p * NR + c] = 0.0f;
            }
        } else { /* op(B)[p][j] = B[j*ldb + p] */
            for (size_t c = 0; c < NR; c++) {
                if (c < cols) {
                    const float *src = B + (j0 + s + c) * ldb + p0;
                    for (size_t p = 0; p < kc; p++) d[p * NR + c] = src[p];
                } else {
                    for (size_t p = 0; p < kc; p++) d[p * NR + c] = 0.0f;
                }
            }
        }
    }
}

/* acc = a_strip (MR x kc) * b_strip (kc x NR).
 * With GNU C vector types the tile is 12 four-float registers, which fits the 16
 * vector registers of the x86-64 baseline (SSE2) and of most other targets; other
 * compilers get the same arithmetic as plain loops. Loads go through memcpy, so
 * no alignment is assumed. */
#if defined(__GNUC__)
/* kept out of line: inlined into tile(), GCC spills two accumulators (SSE2 has
 * only the 16 registers the tile and its operands need) */
__attribute__((noinline)) static void micro_kernel(size_t kc, const float *restrict a,
                                                   const float *restrict b, size_t ldb,
                                                   float *restrict acc) {
    v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    v4f c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * ldb, *ap = a + p * MR;
        v4f b0 = load4(bp), b1 = load4(bp + 4);
        v4f ai;
        ai = (v4f){ap[0], ap[0], ap[0], ap[0]}; c00 += ai * b0; c01 += ai * b1;
        ai = (v4f){ap[1], ap[1], ap[1], ap[1]}; c10 += ai * b0; c11 += ai * b1;
        ai = (v4f){ap[2], ap[2], ap[2], ap[2]}; c20 += ai * b0; c21 += ai * b1;
        ai = (v4f){ap[3], ap[3], ap[3], ap[3]}; c30 += ai * b0; c31 += ai * b1;
        ai = (v4f){ap[4], ap[4], ap[4], ap[4]}; c40 += ai * b0; c41 += ai * b1;
        ai = (v4f){ap[5], ap[5], ap[5], ap[5]}; c50 += ai * b0; c51 += ai * b1;
    }
    v4f out[MR * 2] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    memcpy(acc, out, sizeof out);
}
#else
static void micro_kernel(size_t kc, const float *restrict a, const float *restrict b, size_t ldb,
                         float *restrict acc) {
    float t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) t[i][j] = 0.0f;
    for (size_t p = 0; p < kc; p++) {
        const float *ap = a + p * MR, *bp = b + p * ldb;
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) t[i][j] += ap[i] * bp[j];
    }
    memcpy(acc, t, sizeof t);
}
#endif

static void tile(size_t kc, const float *a, const float *b, size_t ldb, float *C, size_t ldc,
                 size_t rows, size_t cols, float alpha, float beta) {
    float acc[MR * NR];
    micro_kernel(kc, a, b, ldb, acc);
    for (size_t i = 0; i < rows; i++) {
        float *c = C + i * ldc;
        const float *t = acc + i * NR;
        if (beta == 1.0f) {
            for (size_t j = 0; j < cols; j++) c[j] += alpha * t[j];
        } else if (beta == 0.0f) {
            for (size_t j = 0; j < cols; j++) c[j] = alpha * t[j];
        } else {
            for (size_t j = 0; j < cols; j++) c[j] = alpha * t[j] + beta * c[j];
        }
    }
}

static const ox_sgemm_kernel kernel_portable = {
    .mr = MR, .nr = NR, .kc = KC, .mc = MC, .nc = NC,
    .pack_a = pack_a, .pack_b = pack_b, .tile = tile,
};

/* The kernel for this processor: the AVX2 one where cpu.h allows it. */
static const ox_sgemm_kernel *pick_kernel(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (ox_cpu_has(OX_CPU_AVX512)) return &ox_sgemm_kernel_avx512;
    if (ox_cpu_has(OX_CPU_AVX2 | OX_CPU_FMA)) return &ox_sgemm_kernel_avx2;
#endif
    return &kernel_portable;
}

size_t ox_sgemm_row_unit(void) { return pick_kernel()->mr; }

size_t ox_sgemm_col_cost(size_t n) {
    const ox_sgemm_kernel *k = pick_kernel();
    size_t tail = n % k->nr;
    return n - tail + (!tail ? 0 : k->tail_cost ? k->tail_cost(tail) : k->nr);
}

const char *ox_sgemm_kernel_name(void) {
    const ox_sgemm_kernel *k = pick_kernel();
#if defined(__x86_64__) || defined(__i386__)
    if (k == &ox_sgemm_kernel_avx512) return "avx512";
    if (k == &ox_sgemm_kernel_avx2) return "avx2";
#endif
    return k == &kernel_portable ? "generic" : "other";
}

/* ---- blocked driver ----------------------------------------------------- */

static void gemm_region_ref(const sgemm_args *g, size_t m0, size_t m1, size_t n0, size_t n1) {
    const float *a = g->ta ? g->A + m0 : g->A + m0 * g->lda;
    const float *b = g->tb ? g->B + n0 * g->ldb : g->B + n0;
    ox_sgemm_ref(g->ta, g->tb, m1 - m0, n1 - n0, g->K, g->alpha, a, g->lda, b, g->ldb, g->beta,
                 g->C + m0 * g->ldc + n0, g->ldc);
}

/* The block size for splitting n into the fewest blocks of at most `max`, made
 * about equal and rounded up to a multiple of `unit` (still at most max when max
 * is a multiple of unit). */
static size_t even_block(size_t n, size_t max, size_t unit) {
    if (n <= max) return n;
    size_t parts = (n + max - 1) / max;
    size_t b = (n + parts - 1) / parts;
    b = (b + unit - 1) / unit * unit;
    return min_sz(b, max);
}

/* The K slice depth for this product: slices of equal size (a thin last slice
 * would cost a full pass over C), deeper where A is not prepacked (kc_free).
 * ox_sgemm_pack uses the same (A packs as prepacked A, B as beside a plain A), so
 * packed operands line up with the driver's slices. */
static size_t kc_for(const ox_sgemm_kernel *kr, size_t K, int a_packed) {
    size_t kc = a_packed || !kr->kc_free ? kr->kc : kr->kc_free;
    return even_block(K, kc, 8);
}

/* The row strips of a block of mc rows: mr rows each, except that a short tail (at
 * most mr / 2 + 1 rows) shares the rows of the strip before it, when A is packed
 * at run time (a prepacked A keeps whole strips: its layout is fixed). A tile of
 * few rows has few accumulators to cover the FMA latency and loads B for little
 * work: 64 rows as 12 x 4 + 8 + 8 rather than 12 x 5 + 4. Returns the rows of the
 * next to last strip when the tail is shared so, else 0. */
static size_t shared_tail(const sgemm_args *g, size_t mc) {
    size_t mr = g->kernel->mr, t = mc % mr;
    if (g->pa || !t || t > mr / 2 + 1 || mc < mr) return 0;
    return (mr + t + 1) / 2;
}

/* Strip s of a block of mc rows: its first row *r0 and its rows; packed as strip s. */
static size_t strip_rows(const sgemm_args *g, size_t mc, size_t s, size_t *r0) {
    size_t mr = g->kernel->mr, last = mc / mr - 1, h1 = shared_tail(g, mc);
    if (!h1 || s < last) {
        *r0 = s * mr;
        return min_sz(mr, mc - s * mr);
    }
    *r0 = last * mr + (s > last ? h1 : 0);
    return s > last ? mc - *r0 : h1;
}

/* op(A) rows [i, i+mc) of slice pc (depth kc) packed into dst as strip_rows's strips. */
static void pack_a_strips(const sgemm_args *g, size_t i, size_t mc, size_t pc, size_t kc,
                          float *dst) {
    const ox_sgemm_kernel *kr = g->kernel;
    size_t h1 = shared_tail(g, mc);
    if (!h1) {
        kr->pack_a(g->ta, g->A, g->lda, i, mc, pc, kc, dst);
        return;
    }
    size_t last = mc / kr->mr - 1, first = last * kr->mr; /* whole strips, then two */
    if (first) kr->pack_a(g->ta, g->A, g->lda, i, first, pc, kc, dst);
    kr->pack_a(g->ta, g->A, g->lda, i + first, h1, pc, kc, dst + last * kc * kr->mr);
    kr->pack_a(g->ta, g->A, g->lda, i + first + h1, mc - first - h1, pc, kc,
               dst + (last + 1) * kc * kr->mr);
}

/* A's strips for rows [i, i+mc) of slice pc (depth kc): packed once, or packed now
 * into buf. */
static const float *a_block(const sgemm_args *g, size_t i, size_t mc, size_t pc, size_t kc,
                            float *buf) {
    if (g->pa) return g->pa + pc * g->pa_rows + (i / g->kernel->mr) * kc * g->kernel->mr;
    pack_a_strips(g, i, mc, pc, kc, buf);
    return buf;
}

/* op(B) columns [j, j+nc) of slice pc as strips: packed once, from the packer, or
 * packed now into buf. */
static const float *b_block(const sgemm_args *g, size_t j, size_t nc, size_t pc, size_t kc,
                            float *buf) {
    size_t nr = g->kernel->nr;
    if (g->pb) return g->pb + pc * g->pb_cols + (j / nr) * kc * nr;
    if (g->b_packer) g->b_packer(g->b_ctx, pc, kc, j, nc, nr, buf);
    else g->kernel->pack_b(g->tb, g->B, g->ldb, pc, kc, j, nc, buf);
    return buf;
}

/* The row and column biases, residual and clamp on a stored block (rows x cols at c,
 * from row i0 and column j0 of C). */
static void rows_ep(const sgemm_args *g, float *c, size_t ldc, size_t i0, size_t rows, size_t j0,
                    size_t cols) {
    if (!g->row_bias && !g->col_bias && !g->residual && !g->row_clamp) return;
    for (size_t i = 0; i < rows; i++) {
        float b = g->row_bias ? g->row_bias[i0 + i] : 0.0f, *r = c + i * ldc;
        const float *res = g->residual ? g->residual + (i0 + i) * ldc + j0 : NULL;
        const float *cb = g->col_bias ? g->col_bias + j0 : NULL;
        for (size_t j = 0; j < cols; j++) {
            float v = r[j] + b;
            if (cb) v += cb[j];
            if (res) v += res[j];
            if (g->row_clamp) {
                v = v < g->row_lo ? g->row_lo : v;
                v = v > g->row_hi ? g->row_hi : v;
            }
            r[j] = v;
        }
    }
}

/* One tile, with the row bias and clamp when it is the last K slice's; a is a packed
 * strip, or, when lda is not 0, the tile's first row of a row-major op(A). */
static void run_tile(const sgemm_args *g, size_t kc, const float *a, size_t lda, const float *b,
                     size_t ldb, float *c, size_t i0, size_t rows, size_t j0, size_t cols,
                     float beta, int last) {
    const ox_sgemm_kernel *kr = g->kernel;
    if (last && (g->row_bias || g->col_bias || g->residual || g->row_clamp)) {
        ox_tile_ep ep = {.bias = g->row_bias ? g->row_bias + i0 : NULL,
                         .cbias = g->col_bias ? g->col_bias + j0 : NULL,
                         .res = g->residual ? g->residual + i0 * g->ldc + j0 : NULL,
                         .clamp = g->row_clamp, .lo = g->row_lo, .hi = g->row_hi};
        if (lda) {
            kr->tile_da(kc, a, lda, b, ldb, c, g->ldc, rows, cols, g->alpha, beta, &ep);
        } else if (kr->tile_ep) {
            kr->tile_ep(kc, a, b, ldb, c, g->ldc, rows, cols, g->alpha, beta, &ep);
        } else {
            kr->tile(kc, a, b, ldb, c, g->ldc, rows, cols, g->alpha, beta);
            rows_ep(g, c, g->ldc, i0, rows, j0, cols);
        }
    } else if (lda) {
        kr->tile_da(kc, a, lda, b, ldb, c, g->ldc, rows, cols, g->alpha, beta, NULL);
    } else {
        kr->tile(kc, a, b, ldb, c, g->ldc, rows, cols, g->alpha, beta);
    }
    if (last && g->epilogue) g->epilogue(g->ep_ctx, c, g->ldc, i0, rows, j0, cols);
}

/* Whether the rows of a row-major B, ld floats apart, spread over L1's sets well
 * enough for a kc x nr block read in place (direct B) to stay in L1. With a stride
 * of a multiple of 4 KB (1024 floats: a layer 1024 wide) every row falls on the same
 * two sets, they evict each other, and the product loses a third of its speed
 * (64 x 1024 x 1024: 130 GFLOP/s in place, 150 packed; 196 in place at width
 * 1000); B is then packed. At 2 KB it still pays to read B in place. */
static int spread_rows(size_t ld) { return ld % 1024 != 0; }

/* The most floats of an operand a thread keeps packed for its next task (half of L2). */
#define KEPT_FLOATS (128 * 1024)

/* With one row block, a product whose C is this large or larger (it does not stay in
 * L2 between runs) goes through B a chunk of column strips at a time, each row strip
 * of A over the whole chunk: a block of 96 rows taking one strip at a time writes 96
 * rows 128 bytes each before moving on, more store streams than the prefetchers
 * follow, and where C is not in cache every store waits for its line. A chunk writes
 * 12 rows of up to 2 KB each instead. A 1x1 Conv 16 -> 96 channels on 112x112 with C
 * out of cache: 0.80 -> 0.46 ms; mobilenet_v2 -4.7% at 1 thread, -1.7% at 2,
 * efficientnet_b0 -3.2% / -1.2%; below the threshold (squeezenet1_1's squeezes on
 * 55x55 at 2 threads) it cost 2%. */
#define CHUNK_MIN_C_BYTES (512 * 1024)
#define CHUNK_B_BYTES (32 * 1024) /* the chunk's packed B stays in L1 */
#define MAX_CHUNK_STRIPS 32

/* A thread's kept panel of `floats` floats in scratch `slot` for the rows (or
 * columns) [lo, hi) of all of K, after a line that says which: *fresh is 1 when the
 * caller must pack it (another call's, other rows, or none yet). NULL when memory
 * cannot be had. */
static float *kept_panel(int slot, unsigned long long tag, size_t lo, size_t hi, size_t floats,
                         int *fresh) {
    int kept;
    size_t *held = ox_scratch_tagged(slot, 64 + floats * sizeof(float), tag, &kept);
    if (!held) return NULL;
    *fresh = !kept || held[0] != lo || held[1] != hi;
    held[0] = lo, held[1] = hi;
    return (float *)(void *)((char *)held + 64);
}

/* C[m0..m1) x [n0..n1), all of K. -1 when out of memory with no plain operands to
 * fall back on (C is then incomplete). */
static int gemm_region(const sgemm_args *g, size_t m0, size_t m1, size_t n0, size_t n1) {
    const ox_sgemm_kernel *kr = g->kernel;
    size_t mr = kr->mr, nr = kr->nr;
    size_t kc_max = kc_for(kr, g->K, g->pa != NULL);
    size_t mc_max = even_block(m1 - m0, kr->mc, mr), nc_max = min_sz(kr->nc, n1 - n0);
    /* With a single row block every B strip is used by one pass over the A block:
     * it is then packed just before that pass, into a buffer that stays in L1,
     * instead of through a large packed panel that goes out to L2 or L3 and back. */
    int one_block = m1 - m0 <= kr->mc;
    /* With one strip of columns each value of A is used once: packing it would
     * cost a full read and write of A for nothing, so the kernel reads it in place
     * where it can and A's rows run along K (64 x 10 x 1024, a classifier: 15 -> 11
     * us). With more strips the packed layout, one contiguous run of MR values per
     * depth, is faster than MR rows read side by side (3-8%). */
    size_t lda = kr->tile_da && !g->pa && g->A && !g->ta && n1 - n0 <= nr ? g->lda : 0;
    size_t a_floats = g->pa || lda ? 0 : ((mc_max + mr - 1) / mr) * mr * kc_max;
    /* one block: B strips a chunk at a time (see below) */
    size_t chunk_strips = 1;
    if (one_block && g->M * g->N * sizeof(float) >= CHUNK_MIN_C_BYTES) {
        chunk_strips = CHUNK_B_BYTES / (kc_max * nr * sizeof(float));
        chunk_strips = chunk_strips < 1 ? 1 : min_sz(chunk_strips, MAX_CHUNK_STRIPS);
    }
    size_t b_floats = g->pb ? 0 : (one_block ? chunk_strips : (nc_max + nr - 1) / nr) * nr * kc_max;
    /* A's rows (one block) or B's columns (one panel) for all of K, kept for the
     * thread's next task on them: slice pc at pc * rows (columns), ox_sgemm_pack's
     * layout */
    size_t whole_rows = ((m1 - m0 + mr - 1) / mr) * mr, whole_cols = ((n1 - n0 + nr - 1) / nr) * nr;
    float *a_whole = NULL, *b_whole = NULL;
    int fresh;
    if (one_block && a_floats && g->a_tag && whole_rows * g->K <= KEPT_FLOATS &&
        (a_whole = kept_panel(0, g->a_tag, m0, m1, whole_rows * g->K, &fresh))) {
        if (fresh)
            for (size_t pc = 0; pc < g->K; pc += kc_max)
                pack_a_strips(g, m0, m1 - m0, pc, min_sz(kc_max, g->K - pc),
                              a_whole + pc * whole_rows);
        a_floats = 0;
    }
    if (!one_block && b_floats && g->b_tag && n1 - n0 <= nc_max &&
        whole_cols * g->K <= KEPT_FLOATS &&
        (b_whole = kept_panel(1, g->b_tag, n0, n1, whole_cols * g->K, &fresh))) {
        if (fresh)
            for (size_t pc = 0; pc < g->K; pc += kc_max)
                b_block(g, n0, n1 - n0, pc, min_sz(kc_max, g->K - pc), b_whole + pc * whole_cols);
        b_floats = 0;
    }
    /* packing buffers: this thread's scratch, kept between calls */
    float *pa = a_floats ? ox_scratch(0, a_floats * sizeof(float)) : NULL;
    float *pb = b_floats ? ox_scratch(1, b_floats * sizeof(float)) : NULL;
    if ((a_floats && !pa) || (b_floats && !pb)) {
        /* out of memory: the plain loops need no buffer, when there are plain operands */
        if (!g->A || !g->B) return -1;
        gemm_region_ref(g, m0, m1, n0, n1);
        rows_ep(g, g->C + m0 * g->ldc + n0, g->ldc, m0, m1 - m0, n0, n1 - n0);
        if (g->epilogue)
            g->epilogue(g->ep_ctx, g->C + m0 * g->ldc + n0, g->ldc, m0, m1 - m0, n0, n1 - n0);
        return 0;
    }
    if (one_block) {
        size_t mc = m1 - m0;
        /* B is read from B itself, unpacked, when its rows run along N and the A
         * block has few strips: the kc x nr block each strip reads then stays in L1
         * between strips (with many strips, rows of B far apart would thrash L1),
         * and packing, which each B value would need for only a few strips of A,
         * costs more than it saves */
        int direct_b = !g->pb && !g->b_packer && !g->tb && mc <= 8 * mr && spread_rows(g->ldb);
        for (size_t pc = 0; pc < g->K; pc += kc_max) {
            size_t kc = min_sz(kc_max, g->K - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            int last = pc + kc == g->K;
            const float *as = lda       ? g->A + m0 * lda + pc
                              : a_whole ? a_whole + pc * whole_rows
                                        : a_block(g, m0, mc, pc, kc, pa);
            for (size_t jc = n0; jc < n1; jc += chunk_strips * nr) {
                size_t jend = min_sz(n1, jc + chunk_strips * nr);
                const float *bss[MAX_CHUNK_STRIPS];
                size_t ldbss[MAX_CHUNK_STRIPS];
                for (size_t jr = jc, q = 0; jr < jend; jr += nr, q++) {
                    size_t cols = min_sz(nr, jend - jr);
                    if (direct_b && cols == nr) { /* read in place: no copy */
                        bss[q] = g->B + pc * g->ldb + jr;
                        ldbss[q] = g->ldb;
                    } else {
                        bss[q] = b_block(g, jr, cols, pc, kc, pb ? pb + q * nr * kc : NULL);
                        ldbss[q] = nr;
                    }
                }
                for (size_t st = 0, ir = 0, rows; ir < mc; st++, ir += rows) {
                    rows = strip_rows(g, mc, st, &ir);
                    for (size_t jr = jc, q = 0; jr < jend; jr += nr, q++) {
                        float *c = g->C + (m0 + ir) * g->ldc + jr;
                        const float *a = lda ? as + ir * lda : as + st * kc * mr;
                        run_tile(g, kc, a, lda, bss[q], ldbss[q], c, m0 + ir, rows, jr,
                                 min_sz(nr, jend - jr), beta, last);
                    }
                }
            }
        }
        return 0;
    }
    for (size_t jc = n0; jc < n1; jc += nc_max) {
        size_t nc = min_sz(nc_max, n1 - jc);
        for (size_t pc = 0; pc < g->K; pc += kc_max) {
            size_t kc = min_sz(kc_max, g->K - pc);
            /* beta applies on the first K slice; later slices accumulate */
            float beta = pc == 0 ? g->beta : 1.0f;
            int last = pc + kc == g->K;
            const float *bp = b_whole ? b_whole + pc * whole_cols : b_block(g, jc, nc, pc, kc, pb);
            for (size_t ic = m0; ic < m1; ic += mc_max) {
                size_t mc = min_sz(mc_max, m1 - ic);
                const float *ap = lda ? g->A + ic * lda + pc : a_block(g, ic, mc, pc, kc, pa);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    const float *bs = bp + (jr / nr) * kc * nr;
                    for (size_t st = 0, ir = 0, rows; ir < mc; st++, ir += rows) {
                        rows = strip_rows(g, mc, st, &ir);
                        float *c = g->C + (ic + ir) * g->ldc + jc + jr;
                        size_t cols = min_sz(nr, nc - jr);
                        const float *a = lda ? ap + ir * lda : ap + st * kc * mr;
                        run_tile(g, kc, a, lda, bs, nr, c, ic + ir, rows, jc + jr, cols, beta,
                                 last);
                    }
                }
            }
        }
    }
    return 0;
}

typedef struct grid_task {
    const sgemm_args *g;
    size_t parts_m, parts_n;   /* tasks along M and N */
    size_t strips_m, strips_n; /* whole micro-tiles along M and N */
    atomic_int failed;
} grid_task;

/* Part p of `parts` of n items in whole units of `unit` (strips of them): [*b, *e),
 * the strips dealt evenly (98 strips in 8 parts: 12 or 13 each, not 13 and a last of
 * 7, which left one thread 13% more columns than the other). */
static void grid_part(size_t p, size_t parts, size_t strips, size_t unit, size_t n, size_t *b,
                      size_t *e) {
    *b = min_sz(p * strips / parts * unit, n);
    *e = min_sz((p + 1) * strips / parts * unit, n);
}

static void grid_run(void *arg, size_t begin, size_t end) {
    grid_task *t = arg;
    const sgemm_args *g = t->g;
    for (size_t k = begin; k < end; k++) {
        size_t m0, m1, n0, n1;
        grid_part(k / t->parts_n, t->parts_m, t->strips_m, g->kernel->mr, g->M, &m0, &m1);
        grid_part(k % t->parts_n, t->parts_n, t->strips_n, g->kernel->nr, g->N, &n0, &n1);
        if (m0 < m1 && n0 < n1 && gemm_region(g, m0, m1, n0, n1)) atomic_store(&t->failed, 1);
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
#if defined(__x86_64__) || defined(__i386__)
    if (v->rs == 1 && v->incx == 1 && ox_cpu_has(OX_CPU_AVX512)) {
        ox_sgemv_rows_avx512(v->K, v->x, v->W + j0 * v->cs, v->cs, j1 - j0, v->y + j0 * v->incy,
                             v->incy, v->alpha, v->beta);
        return;
    }
#endif
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
    ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                          .trans_a = trans_a, .A = A, .lda = lda, .trans_b = trans_b, .B = B,
                          .ldb = ldb, .C = C, .ldc = ldc};
    (void)ox_sgemm_run(&call, pool); /* plain operands: never fails */
}

/* ---- packing from row pointers ------------------------------------------- */

void ox_sgemm_pack_rows(const float *const *rows, const float *scale, size_t n, size_t nc,
                        size_t nr, size_t stride, float *dst) {
#if defined(__x86_64__) || defined(__i386__)
    if (nr == 32 && ox_cpu_has(OX_CPU_AVX512)) {
        ox_sgemm_pack_rows32_avx512(rows, scale, n, nc, stride, dst);
        return;
    }
#endif
    size_t full = nc / nr, rem = nc % nr;
    for (size_t p = 0; p < n; p++) {
        const float *src = rows[p];
        float *d = dst + p * nr;
        for (size_t s = 0; s < full; s++) memcpy(d + s * stride, src + s * nr, nr * sizeof *d);
        if (rem) {
            float *dr = d + full * stride;
            memcpy(dr, src + full * nr, rem * sizeof *dr);
            memset(dr + rem, 0, (nr - rem) * sizeof *dr);
        }
        if (scale)
            for (size_t s = 0; s * nr < nc; s++)
                for (size_t c = 0; c < nr; c++) d[s * stride + c] *= scale[p];
    }
}

/* ---- packed operands ------------------------------------------------------ */

ox_sgemm_packed *ox_sgemm_pack(int side, int trans, size_t rows, size_t cols, const float *X,
                               size_t ld) {
    const ox_sgemm_kernel *kr = pick_kernel();
    ox_sgemm_packed *p = ox_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->kernel = kr;
    p->side = side;
    p->rows = rows;
    p->cols = cols;
    size_t K = side == 0 ? cols : rows, other = side == 0 ? rows : cols;
    size_t unit = side == 0 ? kr->mr : kr->nr;
    p->padded = (other + unit - 1) / unit * unit;
    size_t n;
    if (!ox_mul_ok(p->padded, K, &n) || !ox_mul_ok(n, sizeof(float), &n) ||
        !(p->data = ox_malloc_aligned(n ? n : 1))) {
        ox_free(p);
        return NULL;
    }
    size_t kc_max = kc_for(kr, K, side == 0);
    /* slice pc holds all rows (columns) at depth kc, at pc * padded */
    for (size_t pc = 0; pc < K; pc += kc_max) {
        size_t kc = min_sz(kc_max, K - pc);
        if (side == 0) kr->pack_a(trans, X, ld, 0, rows, pc, kc, p->data + pc * p->padded);
        else kr->pack_b(trans, X, ld, pc, kc, 0, cols, p->data + pc * p->padded);
    }
    return p;
}

void ox_sgemm_packed_free(ox_sgemm_packed *p) {
    if (!p) return;
    ox_free_aligned(p->data);
    ox_free(p);
}

/* ---- entry point -------------------------------------------------------- */

/* Whether p is op(X) of this shape, packed for kernel kr. */
static int packed_fits(const ox_sgemm_packed *p, int side, size_t rows, size_t cols,
                       const ox_sgemm_kernel *kr) {
    return p && p->side == side && p->rows == rows && p->cols == cols && p->kernel == kr;
}

/* Runs the epilogue over rows [r0, r1) of C as one block. */
static void epilogue_rows(const ox_sgemm_call *c, size_t r0, size_t r1) {
    sgemm_args g = {.row_bias = c->row_bias, .col_bias = c->col_bias, .residual = c->residual,
                    .row_clamp = c->row_clamp,
                    .row_lo = c->row_lo, .row_hi = c->row_hi};
    float *rows = c->C + r0 * c->ldc;
    rows_ep(&g, rows, c->ldc, r0, r1 - r0, 0, c->N);
    if (c->epilogue) c->epilogue(c->ep_ctx, rows, c->ldc, r0, r1 - r0, 0, c->N);
}

int ox_sgemm_run(const ox_sgemm_call *call, ox_threadpool *pool) {
    size_t M = call->M, N = call->N, K = call->K;
    float *C = call->C;
    size_t ldc = call->ldc;
    if (M == 0 || N == 0) return 0;
    const ox_sgemm_kernel *kr = pick_kernel();
    const ox_sgemm_packed *pa = packed_fits(call->pa, 0, M, K, kr) ? call->pa : NULL;
    /* B is packed in slices for a plain A: with a packed A as well, when their
     * slices differ, B is taken from B (or the packer) */
    const ox_sgemm_packed *pb = packed_fits(call->pb, 1, K, N, kr) &&
                                        (!pa || kc_for(kr, K, 1) == kc_for(kr, K, 0))
                                    ? call->pb
                                    : NULL;
    if ((!pa && !call->A) || (!pb && !call->b_packer && !call->B)) return -1;
    if (call->row_end && (call->row_begin >= call->row_end || call->row_end > M ||
                          (pa && call->row_begin % kr->mr)))
        return -1;
    if (K == 0) {
        size_t r0 = call->row_end ? call->row_begin : 0, r1 = call->row_end ? call->row_end : M;
        scale_c(C + r0 * ldc, ldc, r1 - r0, N, call->beta);
        epilogue_rows(call, r0, r1);
        return 0;
    }
    size_t threads = (size_t)ox_threadpool_size(pool);
    double flops = (double)M * (double)N * (double)K;
    if (flops < 32768.0) threads = 1; /* not worth waking workers */

    if ((M == 1 || N == 1) && call->A && call->B && !call->row_end) {
        int trans_a = call->trans_a, trans_b = call->trans_b;
        size_t lda = call->lda, ldb = call->ldb;
        const float *A = call->A, *B = call->B;
        gemv_args v = {.K = K, .alpha = call->alpha, .beta = call->beta};
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
        epilogue_rows(call, 0, M);
        return 0;
    }

    sgemm_args g = {.ta = call->trans_a, .tb = call->trans_b, .M = M, .N = N, .K = K,
                    .alpha = call->alpha, .beta = call->beta, .A = call->A, .B = call->B,
                    .lda = call->lda, .ldb = call->ldb, .ldc = ldc, .C = C, .kernel = kr,
                    .b_packer = call->b_packer, .b_ctx = call->b_ctx,
                    .row_bias = call->row_bias, .col_bias = call->col_bias,
                    .residual = call->residual,
                    .row_clamp = call->row_clamp,
                    .row_lo = call->row_lo, .row_hi = call->row_hi,
                    .epilogue = call->epilogue, .ep_ctx = call->ep_ctx};
    if (pa) {
        g.pa = pa->data;
        g.pa_rows = pa->padded;
    }
    if (pb) {
        g.pb = pb->data;
        g.pb_cols = pb->padded;
    }
    if (call->row_end) return gemm_region(&g, call->row_begin, call->row_end, 0, N);
    if (threads <= 1) return gemm_region(&g, 0, M, 0, N);
    size_t target = threads * 4;
    size_t mr = kr->mr, nr = kr->nr;
    size_t strips_n = (N + nr - 1) / nr, strips_m = (M + mr - 1) / mr;
    /* No B shared between tasks (packed once by all threads, then read by each):
     * on a machine whose cores share no cache, reading what the other core packed
     * cost more than packing or reading B again (a 1x1 Conv 576 -> 96 channels on
     * 14x14: 0.121 ms shared, 0.065 ms without; mobilenet_v2 at 2 threads -4%). */
    /* A grid of a few tasks per thread. Each task reads the A rows and B columns it
     * covers: packs them, or streams them where they are packed already (half the
     * cost). The split minimises that total, parts_n * M + parts_m * N weighted. */
    size_t parts_m = 1, parts_n = 1;
    double best = -1.0, wa = g.pa ? 1.0 : 2.0, wb = g.pb ? 1.0 : 2.0;
    for (size_t pm = 1; pm <= target && pm <= strips_m; pm++) {
        size_t pn = min_sz((target + pm - 1) / pm, strips_n);
        double cost = wa * (double)pn * (double)M + wb * (double)pm * (double)N;
        if (pm * pn < target && pm * pn < strips_m * strips_n) cost *= 2.0; /* too few tasks */
        if (best < 0.0 || cost < best) {
            best = cost;
            parts_m = pm;
            parts_n = pn;
        }
    }
    if (parts_n > 1 && !g.pa) g.a_tag = ox_scratch_new_tag();
    if (parts_m > 1 && !g.pb) g.b_tag = ox_scratch_new_tag();
    grid_task t = {.g = &g, .parts_m = parts_m, .parts_n = parts_n, .strips_m = strips_m,
                   .strips_n = strips_n};
    atomic_init(&t.failed, 0);
    size_t n_tasks = parts_m * parts_n;
    ox_parallel_for(pool, n_tasks, 1, grid_run, &t);
    return atomic_load(&t.failed) ? -1 : 0;
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
