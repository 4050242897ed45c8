/* Attention as PyTorch exports scaled dot-product attention at opset 17: scores =
 * MatMul(Q, K^T) (the scale already applied to Q), Softmax over the scores' last
 * dim, MatMul(probabilities, V). Run op by op, the scores are written whole, read
 * and written again by the Softmax, and read by the second MatMul: for 4 heads of
 * 128 x 128 that is a megabyte each way through the caches. Here each thread takes
 * blocks of query rows of one head through all three: the block's scores stay in
 * its scratch, the Softmax runs on them in place (the op's own row code), and only
 * the output rows are stored. Every value is the op-by-op one: the same GEMM on the
 * same rows, the same Softmax rows. */
#include "ops/attention_chain.h"

#include <stdatomic.h>

#include "kernels/gemm.h"
#include "ops/reduce.h"
#include "util/scratch.h"
#include "util/threadpool.h"

#define ATT_SCRATCH 4 /* util/scratch.h slot: the GEMM packs in 0 and 1 */
/* Scores per block at most: a block of rows stays in L2 between its three passes. */
#define ATT_BLOCK_BYTES ((size_t)128 << 10)
/* Chained where a head's scores are this many at least (256 x 256, 256 KB). With 4
 * heads of 64, against the ops one by one: 128 x 128 even at 1 thread, 16% slower
 * at 2 (each head's 64 KB of scores stay in L2 either way; transformer and
 * bert_like at sequence 128 are even); 256: -1% / -30%; 512: -10% / -20%; 1024:
 * -21% / -28% (10-12 alternated pairs). */
#define ATT_MIN_SCORES ((size_t)256 * 256)

typedef struct att_shape {
    size_t batch;   /* product of the batch dims (heads) */
    size_t M, K, N; /* Q: M x K, K^T: K x N, scores M x N */
    size_t D;       /* V: N x D, output M x D */
} att_shape;

static int matmul_plain(const ox_op_ctx *c) {
    return c->n_in == 2 && c->n_out == 1 && c->in[0] && c->in[1] && c->out[0] && !c->act &&
           c->in[0]->dtype == ONYX_DTYPE_FLOAT && c->in[1]->dtype == ONYX_DTYPE_FLOAT;
}

static int shape_of(ox_op_ctx *const ctx[3], att_shape *s) {
    if (!matmul_plain(ctx[0]) || !matmul_plain(ctx[2]) || ctx[1]->n_in < 1 || !ctx[1]->in[0])
        return 0;
    const ox_tensor *Q = ctx[0]->in[0], *Kt = ctx[0]->in[1], *V = ctx[2]->in[1];
    int r = Q->rank;
    if (r < 2 || Kt->rank != r || V->rank != r || ctx[1]->in[0]->dtype != ONYX_DTYPE_FLOAT ||
        !ox_softmax_rows_of_last_axis(ctx[1], r))
        return 0;
    s->batch = 1;
    for (int i = 0; i + 2 < r; i++) {
        if (Kt->dims[i] != Q->dims[i] || V->dims[i] != Q->dims[i]) return 0;
        s->batch *= (size_t)Q->dims[i];
    }
    s->M = (size_t)Q->dims[r - 2];
    s->K = (size_t)Q->dims[r - 1];
    s->N = (size_t)Kt->dims[r - 1];
    s->D = (size_t)V->dims[r - 1];
    return (size_t)Kt->dims[r - 2] == s->K && (size_t)V->dims[r - 2] == s->N && s->M && s->K &&
           s->N && s->D;
}

int ox_attention_chain_applies(ox_op_ctx *const ctx[3]) {
    att_shape s;
    return shape_of(ctx, &s) && s.M * s.N >= ATT_MIN_SCORES;
}

typedef struct att_task {
    att_shape s;
    const float *Q, *Kt, *V;
    float *Y;
    size_t rows, blocks; /* query rows per block, blocks per head */
    atomic_int failed;
} att_task;

/* Items [i0, i1): item i is block i % blocks of head i / blocks. */
static void att_items(void *arg, size_t i0, size_t i1) {
    att_task *t = arg;
    const att_shape *s = &t->s;
    float *S = ox_scratch(ATT_SCRATCH, t->rows * s->N * sizeof(float));
    if (!S) {
        atomic_store(&t->failed, 1);
        return;
    }
    for (size_t i = i0; i < i1; i++) {
        size_t b = i / t->blocks, r0 = i % t->blocks * t->rows;
        size_t n = s->M - r0 < t->rows ? s->M - r0 : t->rows;
        ox_sgemm(0, 0, n, s->N, s->K, 1.0f, t->Q + (b * s->M + r0) * s->K, s->K,
                 t->Kt + b * s->K * s->N, s->N, 0.0f, S, s->N, NULL);
        ox_softmax_rows_f32(S, s->N, n);
        ox_sgemm(0, 0, n, s->D, s->N, 1.0f, S, s->N, t->V + b * s->N * s->D, s->D, 0.0f,
                 t->Y + (b * s->M + r0) * s->D, s->D, NULL);
    }
}

onyx_status ox_attention_chain_run(ox_op_ctx *const ctx[3]) {
    att_task t = {.Q = ctx[0]->in[0]->data, .Kt = ctx[0]->in[1]->data,
                  .V = ctx[2]->in[1]->data, .Y = ctx[2]->out[0]->data};
    if (!shape_of(ctx, &t.s))
        return ox_error(ONYX_ERR_RUNTIME, "the attention chain's shapes changed since planning");
    /* blocks that fit ATT_BLOCK_BYTES, and at least two items per thread */
    size_t threads = (size_t)ox_threadpool_size(ctx[0]->pool);
    size_t fit = ATT_BLOCK_BYTES / (t.s.N * sizeof(float));
    size_t blocks = (t.s.M + (fit ? fit : 1) - 1) / (fit ? fit : 1);
    size_t want = (2 * threads + t.s.batch - 1) / t.s.batch;
    if (blocks < want) blocks = want < t.s.M ? want : t.s.M;
    t.rows = (t.s.M + blocks - 1) / blocks;
    t.blocks = (t.s.M + t.rows - 1) / t.rows;
    atomic_init(&t.failed, 0);
    ox_parallel_for(ctx[0]->pool, t.s.batch * t.blocks, 1, att_items, &t);
    if (atomic_load(&t.failed))
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for the attention chain");
    return ONYX_OK;
}
