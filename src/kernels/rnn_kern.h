/* Float kernels of the recurrent ops (RNN, GRU, LSTM): products with weights
 * packed once into panels, and fused cell updates for the default activations.
 *
 * A weight matrix W (N rows of K, as ONNX stores W and R per gate) is packed as
 * B = W^T (K x N) in panels of RNN_NR columns: panel p holds B[k][p*NR .. p*NR+NR)
 * for k = 0 .. K-1, one row of NR floats per k, zero past column N. A product
 * then streams each panel front to back, whatever N and K are.
 *
 * The cell functions take one batch row: g holds h_prev * R^T for the row (the
 * gates side by side, H floats each, in ONNX order), xw the row's x * W^T plus
 * the biases folded into it. clip bounds every activation input (pass INFINITY
 * when the node has no clip). They are simple loops over j in [0, H) so the
 * compiler vectorises them; the same source is compiled per instruction set
 * (rnn_cell.h). */
#ifndef OX_OPS_RNN_KERN_H
#define OX_OPS_RNN_KERN_H

#include <stddef.h>

typedef struct ox_threadpool ox_threadpool;

#define RNN_NR 64 /* columns per packed panel */

/* Panels of N columns, and floats a packed K x N matrix takes (SIZE_MAX when
 * that overflows). */
size_t rnn_panels(size_t N);
size_t rnn_packed_elems(size_t N, size_t K);

/* Pack W (N rows of K floats, rows ldw apart) into dst (rnn_packed_elems(N, K)). */
void rnn_pack(const float *W, size_t ldw, size_t N, size_t K, float *dst);

typedef struct rnn_kern {
    const char *name;
    /* C[M x cols] (rows ldc apart) = A[M x K] (rows lda apart) * one packed panel
     * b (K rows of RNN_NR); cols <= RNN_NR. Only the cols columns are written. */
    void (*panel)(size_t M, size_t cols, size_t K, const float *A, size_t lda, const float *b,
                  float *C, size_t ldc);
    /* LSTM, gates i o f c, activations Sigmoid Tanh Tanh, no peepholes, no
     * input_forget: updates the cell state c and writes h. */
    void (*lstm)(size_t H, const float *g, const float *xw, float clip, float *c, float *h);
    /* GRU, gates z r h, activations Sigmoid Tanh. Without linear_before_reset:
     * gru_zr puts z in g[0 .. H) and r * h_prev in rh; the caller multiplies rh by
     * the hidden gate's R into g[2H .. 3H), then gru_h updates h. With it, gru_lbr
     * does the whole step; rb is the hidden gate's recurrent bias (zeros if none). */
    void (*gru_zr)(size_t H, float *g, const float *xw, float clip, const float *h, float *rh);
    void (*gru_h)(size_t H, const float *g, const float *xw, float clip, float *h);
    void (*gru_lbr)(size_t H, const float *g, const float *xw, const float *rb, float clip,
                    float *h);
    /* RNN with Tanh: h = tanh(g + xw). */
    void (*rnn)(size_t H, const float *g, const float *xw, float clip, float *h);
    /* x[i] = sigmoid(x[i]), x[i] = tanh(x[i]) */
    void (*sigmoid)(float *x, size_t n);
    void (*tanh)(float *x, size_t n);
} rnn_kern;

/* The kernels for this processor (kernels/cpu.h decides); ask again per run, as
 * tests change the limit between runs. */
const rnn_kern *rnn_kern_pick(void);

extern const rnn_kern rnn_kern_generic;
#if defined(__x86_64__) || defined(__i386__)
extern const rnn_kern rnn_kern_avx2;   /* src/kernels/x86/rnn_avx2.c */
extern const rnn_kern rnn_kern_avx512; /* src/kernels/x86/rnn_avx512.c */
#endif

/* C[:, g*H .. (g+1)*H) = A * (gate g of Bp) for gates g in [g0, g1), with Bp a
 * matrix of G gates packed gate by gate (gate g at g * rnn_packed_elems(H, K)).
 * A is M x K (rows lda apart), C has rows ldc apart. Runs on the pool only when
 * the product is large enough to pay for waking it. */
void rnn_gemm_gates(const rnn_kern *k, size_t M, size_t H, size_t K, size_t g0, size_t g1,
                    const float *A, size_t lda, const float *Bp, float *C, size_t ldc,
                    ox_threadpool *pool);

/* Whether an M x N x K product with N x K weights is worth splitting over the
 * pool: waking a sleeping worker costs several microseconds, more than most
 * per-step products take. Worth it when the product is long (over about 8M
 * multiply-adds) or its weights stream from beyond the core's L2 (over 2 MB),
 * where a second core adds cache and memory bandwidth. */
int rnn_par_worth(size_t M, size_t N, size_t K);

#endif
