/* MatMul (numpy matmul semantics) and Gemm. float32 runs on ox_sgemm, float64 on
 * ox_dgemm; integer types use plain loops with wrap-around arithmetic (done in
 * unsigned types, so overflow is defined). */
#include <math.h>
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/fp16.h"
#include "util/threadpool.h"

static int gemm_dtype_ok(int32_t t) {
    return ox_nn_is_floatlike(t) || t == ONYX_DTYPE_INT32 ||
           t == ONYX_DTYPE_INT64 || t == ONYX_DTYPE_UINT32 || t == ONYX_DTYPE_UINT64;
}

/* C (M x N, row stride ldc) += A (M x K) * B (K x N) for the integer types, with
 * A and B given by row/column strides so transposes need no copies. */
#define INT_MM(NAME, T, U)                                                                    \
    static void NAME(size_t M, size_t N, size_t K, const void *a_, size_t a_rs, size_t a_cs,   \
                     const void *b_, size_t b_rs, size_t b_cs, void *c_, size_t ldc) {         \
        const T *a = a_, *b = b_;                                                             \
        T *c = c_;                                                                            \
        for (size_t i = 0; i < M; i++)                                                        \
            for (size_t j = 0; j < N; j++) {                                                  \
                U s = (U)c[i * ldc + j];                                                      \
                for (size_t k = 0; k < K; k++)                                                \
                    s += (U)a[i * a_rs + k * a_cs] * (U)b[k * b_rs + j * b_cs];               \
                c[i * ldc + j] = (T)s;                                                        \
            }                                                                                 \
    }
INT_MM(mm_i32, int32_t, uint32_t)
INT_MM(mm_i64, int64_t, uint64_t)
INT_MM(mm_u32, uint32_t, uint32_t)
INT_MM(mm_u64, uint64_t, uint64_t)

typedef void (*int_mm_fn)(size_t, size_t, size_t, const void *, size_t, size_t, const void *,
                          size_t, size_t, void *, size_t);

static int_mm_fn int_mm_for(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_INT32: return mm_i32;
    case ONYX_DTYPE_INT64: return mm_i64;
    case ONYX_DTYPE_UINT32: return mm_u32;
    case ONYX_DTYPE_UINT64: return mm_u64;
    default: return NULL;
    }
}

/* ---- packed constant B (MatMul and Gemm) ---------------------------------- */

/* op(B) packed for the GEMM once per plan, and the data it was packed from: a run
 * with other data (never in a plan) ignores it. */
typedef struct b_packed {
    const void *from;
    ox_sgemm_packed *pb;
} b_packed;

static onyx_status pack_b_of(const ox_tensor *B, int tb, void **out) {
    size_t K = (size_t)(tb ? B->dims[1] : B->dims[0]), N = (size_t)(tb ? B->dims[0] : B->dims[1]);
    if (K == 0 || N <= 1) return ONYX_OK; /* nothing to gain */
    b_packed *bp = ox_malloc(sizeof *bp);
    if (bp) bp->pb = ox_sgemm_pack(1, tb, K, N, B->data, (size_t)B->dims[1]);
    if (!bp || !bp->pb) {
        ox_free(bp);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory packing input B");
    }
    bp->from = B->data;
    *out = bp;
    return ONYX_OK;
}

void ox_nn_free_b_packed(void *p) {
    b_packed *bp = p;
    if (!bp) return;
    ox_sgemm_packed_free(bp->pb);
    ox_free(bp);
}

static const ox_sgemm_packed *packed_b_for(const ox_op_ctx *c, const ox_tensor *B) {
    const b_packed *bp = c->prepacked;
    return bp && bp->from == B->data ? bp->pb : NULL;
}

/* ---- MatMul ---------------------------------------------------------------- */

/* A constant B that is not transposed costs little to pack per call (rows of B
 * are already rows of the packed strips) and is often read in place: keeping a
 * packed copy would double its memory for a few percent. MatMul has no prepack. */

typedef struct mm_shape {
    size_t M, N, K;
    int nb;                     /* broadcast batch rank */
    int64_t batch[OX_MAX_RANK]; /* broadcast batch dims */
    /* element strides per batch dim, 0 where the dim is broadcast */
    size_t a_bs[OX_MAX_RANK], b_bs[OX_MAX_RANK];
    size_t n_batch;
    int a_vec, b_vec;           /* A or B was 1-D */
} mm_shape;

static onyx_status mm_shape_of(const ox_tensor *A, const ox_tensor *B, mm_shape *s) {
    int ra = A->rank, rb = B->rank;
    if (ra < 1 || rb < 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "MatMul input %s is a scalar; both inputs need "
                        "rank >= 1", ra < 1 ? "A" : "B");
    memset(s, 0, sizeof *s);
    s->a_vec = ra == 1;
    s->b_vec = rb == 1;
    int64_t ka = A->dims[ra - 1], kb = rb == 1 ? B->dims[0] : B->dims[rb - 2];
    if (ka != kb)
        return ox_error(ONYX_ERR_INVALID_MODEL, "MatMul inner dims differ: A has %lld, B has %lld",
                        (long long)ka, (long long)kb);
    s->K = (size_t)ka;
    s->M = ra == 1 ? 1 : (size_t)A->dims[ra - 2];
    s->N = rb == 1 ? 1 : (size_t)B->dims[rb - 1];
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    s->nb = nba > nbb ? nba : nbb;
    size_t sa = s->M * s->K, sb = s->K * s->N;
    s->n_batch = 1;
    for (int i = s->nb - 1; i >= 0; i--) {
        int ia = i - (s->nb - nba), ib = i - (s->nb - nbb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "MatMul batch dims do not broadcast: A has "
                            "%lld, B has %lld", (long long)da, (long long)db);
        s->batch[i] = da == 1 ? db : da;
        s->a_bs[i] = da == 1 ? 0 : sa;
        s->b_bs[i] = db == 1 ? 0 : sb;
        sa *= (size_t)da;
        sb *= (size_t)db;
        s->n_batch *= (size_t)s->batch[i];
    }
    return ONYX_OK;
}

onyx_status ox_nn_matmul_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    const ox_tensor *A = c->in[0], *B = c->in[1];
    if (!A || !B) return ox_error(ONYX_ERR_INVALID_MODEL, "MatMul needs inputs A and B");
    if (A->dtype != B->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "MatMul inputs differ in type: %s and %s",
                        ox_dtype_name(A->dtype), ox_dtype_name(B->dtype));
    if (!gemm_dtype_ok(A->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "MatMul on %s is not supported",
                        ox_dtype_name(A->dtype));
    mm_shape s;
    OX_TRY(mm_shape_of(A, B, &s));
    int64_t dims[OX_MAX_RANK];
    int r = 0;
    for (int i = 0; i < s.nb; i++) dims[r++] = s.batch[i];
    if (!s.a_vec) dims[r++] = (int64_t)s.M;
    if (!s.b_vec) dims[r++] = (int64_t)s.N;
    ox_set_shape(c->out[0], A->dtype, r, dims);
    return ONYX_OK;
}

static void mm_offsets(const mm_shape *s, size_t b, size_t *ao, size_t *bo) {
    size_t a = 0, bb = 0;
    for (int i = s->nb - 1; i >= 0; i--) {
        size_t d = (size_t)s->batch[i], idx = b % d;
        b /= d;
        a += idx * s->a_bs[i];
        bb += idx * s->b_bs[i];
    }
    *ao = a;
    *bo = bb;
}

/* What the planner fused into a float32 MatMul (plan/fuse.c): a bias per output
 * column (input 2) and an activation. */
typedef struct mm_fused {
    const float *bias; /* N floats, or NULL */
    int act, kind;     /* ox_nn_bias_kind(act) */
    float alpha, beta;
} mm_fused;

/* Both on `rows` finished rows of N floats at y, in one pass where the kind allows. */
static void mm_fused_rows(const mm_fused *e, float *y, size_t rows, size_t N) {
    for (size_t i = 0; i < rows; i++) {
        float *r = y + i * N;
        if (e->bias) ox_bias_vec_act(r, r, e->bias, N, e->kind, e->alpha, e->beta);
        else ox_bias_act(r, r, N, 0.0f, e->kind, e->alpha, e->beta);
        if (e->act && e->kind == OX_BIAS_ONLY) ox_act_apply(r, N, e->act, e->alpha, e->beta);
    }
}

typedef struct mm_task {
    const mm_shape *s;
    const void *A, *B;
    void *Y;
    int32_t dtype;
} mm_task;

/* Batches [b0, b1), each single-threaded: used when there are many small ones. */
static void mm_batches(void *arg, size_t b0, size_t b1) {
    const mm_task *t = arg;
    const mm_shape *s = t->s;
    size_t esz = ox_dtype_size(t->dtype);
    for (size_t b = b0; b < b1; b++) {
        size_t ao, bo;
        mm_offsets(s, b, &ao, &bo);
        const char *a = (const char *)t->A + ao * esz, *bm = (const char *)t->B + bo * esz;
        char *y = (char *)t->Y + b * s->M * s->N * esz;
        if (t->dtype == ONYX_DTYPE_FLOAT)
            ox_sgemm(0, 0, s->M, s->N, s->K, 1.0f, (const float *)a, s->K, (const float *)bm, s->N,
                     0.0f, (float *)y, s->N, NULL);
        else
            ox_dgemm(0, 0, s->M, s->N, s->K, 1.0, (const double *)a, s->K, (const double *)bm,
                     s->N, 0.0, (double *)y, s->N, NULL);
    }
}

onyx_status ox_nn_matmul_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_matmul_run);
    const ox_tensor *A = c->in[0], *B = c->in[1];
    ox_tensor *Y = c->out[0];
    mm_shape s;
    OX_TRY(mm_shape_of(A, B, &s));
    size_t count = ox_tensor_count(Y), esz = ox_dtype_size(Y->dtype);
    if (count == 0) return ONYX_OK;
    if (s.K == 0) {
        memset(Y->data, 0, count * esz);
        return ONYX_OK;
    }
    int_mm_fn imm = int_mm_for(A->dtype);
    if (imm) {
        memset(Y->data, 0, count * esz);
        for (size_t b = 0; b < s.n_batch; b++) {
            size_t ao, bo;
            mm_offsets(&s, b, &ao, &bo);
            imm(s.M, s.N, s.K, (const char *)A->data + ao * esz, s.K, 1,
                (const char *)B->data + bo * esz, s.N, 1, (char *)Y->data + b * s.M * s.N * esz,
                s.N);
        }
        return ONYX_OK;
    }
    int f32 = A->dtype == ONYX_DTYPE_FLOAT;
    /* a fused bias (float32, one per column) and activation */
    mm_fused ep = {.bias = f32 && c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL,
                   .act = f32 ? c->act : 0, .kind = ox_nn_bias_kind(c->act),
                   .alpha = c->act_alpha, .beta = c->act_beta};
    if (c->n_in > 2 && c->in[2] &&
        (!f32 || c->in[2]->dtype != ONYX_DTYPE_FLOAT || ox_tensor_count(c->in[2]) != s.N))
        return ox_error(ONYX_ERR_RUNTIME, "MatMul's fused bias does not fit its output");
    /* B shared by every batch and A's batches contiguous: one (batch*M) x K product */
    int b_shared = 1;
    for (int i = 0; i < s.nb; i++) b_shared &= s.b_bs[i] == 0;
    if (b_shared) {
        size_t rows = s.n_batch * s.M;
        if (f32) {
            ox_sgemm_call call = {.M = rows, .N = s.N, .K = s.K, .alpha = 1.0f, .A = A->data,
                                  .lda = s.K, .B = B->data, .ldb = s.N,
                                  .C = Y->data, .ldc = s.N};
            /* the bias and a ReLU or Clip in the micro-kernel's stores; another
             * activation after, in one pass (a tile's rows are too short for it) */
            call.col_bias = ep.bias;
            call.row_clamp = ox_nn_act_clamp(c, &call.row_lo, &call.row_hi);
            (void)ox_sgemm_run(&call, c->pool); /* plain operands: never fails */
            if (ep.act && !call.row_clamp)
                ox_act_apply(Y->data, count, ep.act, ep.alpha, ep.beta);
        } else
            ox_dgemm(0, 0, rows, s.N, s.K, 1.0, A->data, s.K, B->data, s.N, 0.0, Y->data, s.N,
                     c->pool);
        return ONYX_OK;
    }
    mm_task t = {.s = &s, .A = A->data, .B = B->data, .Y = Y->data, .dtype = A->dtype};
    size_t threads = (size_t)ox_threadpool_size(c->pool);
    double flops = (double)s.M * (double)s.N * (double)s.K;
    if (threads > 1 && s.n_batch >= 2 * threads && flops < 4.0e6) {
        ox_parallel_for(c->pool, s.n_batch, 1, mm_batches, &t);
        if (ep.bias || ep.act) mm_fused_rows(&ep, Y->data, count / s.N, s.N);
        return ONYX_OK;
    }
    for (size_t b = 0; b < s.n_batch; b++) {
        size_t ao, bo;
        mm_offsets(&s, b, &ao, &bo);
        if (f32)
            ox_sgemm(0, 0, s.M, s.N, s.K, 1.0f, (const float *)A->data + ao, s.K,
                     (const float *)B->data + bo, s.N, 0.0f, (float *)Y->data + b * s.M * s.N, s.N,
                     c->pool);
        else
            ox_dgemm(0, 0, s.M, s.N, s.K, 1.0, (const double *)A->data + ao, s.K,
                     (const double *)B->data + bo, s.N, 0.0, (double *)Y->data + b * s.M * s.N,
                     s.N, c->pool);
    }
    if (ep.bias || ep.act) mm_fused_rows(&ep, Y->data, count / s.N, s.N);
    return ONYX_OK;
}

/* ---- Gemm ------------------------------------------------------------------- */

typedef struct gemm_state {
    float alpha, beta;
    int ta, tb;
} gemm_state;

onyx_status ox_nn_gemm_prepare(ox_op_ctx *c) {
    gemm_state *st = ox_malloc(sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->alpha = ox_attr_float(c, "alpha", 1.0f);
    st->beta = ox_attr_float(c, "beta", 1.0f);
    st->ta = ox_attr_int(c, "transA", 0) != 0;
    st->tb = ox_attr_int(c, "transB", 0) != 0;
    return ox_op_status(c);
}

typedef struct gemm_dims {
    size_t M, N, K;
} gemm_dims;

static onyx_status gemm_dims_of(const ox_op_ctx *c, const gemm_state *st, gemm_dims *g) {
    const ox_tensor *A = c->in[0], *B = c->in[1];
    if (A->rank != 2 || B->rank != 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Gemm input %s has rank %d; expected a matrix",
                        A->rank != 2 ? "A" : "B", A->rank != 2 ? (int)A->rank : (int)B->rank);
    int64_t M = st->ta ? A->dims[1] : A->dims[0], Ka = st->ta ? A->dims[0] : A->dims[1];
    int64_t Kb = st->tb ? B->dims[1] : B->dims[0], N = st->tb ? B->dims[0] : B->dims[1];
    if (Ka != Kb)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Gemm inner dims differ: op(A) has K=%lld, op(B) "
                        "has K=%lld", (long long)Ka, (long long)Kb);
    g->M = (size_t)M;
    g->N = (size_t)N;
    g->K = (size_t)Ka;
    if (ox_has_input(c, 2)) {
        const ox_tensor *C = c->in[2];
        int ok = C->rank <= 2;
        if (ok && C->rank == 2) ok = (C->dims[0] == 1 || C->dims[0] == M) &&
                                     (C->dims[1] == 1 || C->dims[1] == N);
        if (ok && C->rank == 1) ok = C->dims[0] == 1 || C->dims[0] == N;
        if (!ok) {
            char buf[96];
            return ox_error(ONYX_ERR_INVALID_MODEL, "Gemm input C %s does not broadcast to "
                            "(%lld, %lld)", ox_tensor_describe(C, buf, sizeof buf), (long long)M,
                            (long long)N);
        }
    }
    return ONYX_OK;
}

onyx_status ox_nn_gemm_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    const gemm_state *st = c->state;
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "Gemm needs inputs A and B");
    int32_t t = c->in[0]->dtype;
    if (c->in[1]->dtype != t || (ox_has_input(c, 2) && c->in[2]->dtype != t))
        return ox_error(ONYX_ERR_INVALID_MODEL, "Gemm inputs differ in type");
    if (!gemm_dtype_ok(t))
        return ox_error(ONYX_ERR_UNSUPPORTED, "Gemm on %s is not supported", ox_dtype_name(t));
    gemm_dims g;
    OX_TRY(gemm_dims_of(c, st, &g));
    int64_t dims[2] = {(int64_t)g.M, (int64_t)g.N};
    ox_set_shape(c->out[0], t, 2, dims);
    return ONYX_OK;
}

onyx_status ox_nn_gemm_prepack(ox_op_ctx *c, void **out) {
    const gemm_state *st = c->state;
    const ox_tensor *B = ox_has_input(c, 1) ? c->in[1] : NULL;
    /* only a transposed B: packing it per call means transposing it (see above) */
    if (!B || !st->tb || B->dtype != ONYX_DTYPE_FLOAT || B->rank != 2 || !B->data) return ONYX_OK;
    return pack_b_of(B, st->tb, out);
}

/* float32 Gemm's epilogue: beta * C (broadcast) and the fused activation, per tile. */
typedef struct gemm_epilogue {
    const float *c; /* NULL: no C */
    size_t rs, cs;  /* C's strides, 0 along broadcast dims */
    float beta;
    int act;
    float act_alpha, act_beta;
} gemm_epilogue;

static void gemm_epilogue_run(const void *ctx, float *y, size_t ldy, size_t i0, size_t rows,
                              size_t j0, size_t cols) {
    const gemm_epilogue *e = ctx;
    int kind = ox_nn_bias_kind(e->act);
    int rest = e->act != OX_ACT_NONE && kind == OX_BIAS_ONLY; /* applied after the add */
    for (size_t i = 0; i < rows; i++) {
        float *row = y + i * ldy;
        if (!e->c) {
            ox_bias_act(row, row, cols, 0.0f, kind, e->act_alpha, e->act_beta);
        } else if (e->cs == 1 && e->beta == 1.0f) {
            ox_bias_vec_act(row, row, e->c + (i0 + i) * e->rs + j0, cols, kind, e->act_alpha,
                            e->act_beta);
        } else if (e->cs == 0 && e->beta == 1.0f) {
            ox_bias_act(row, row, cols, e->c[(i0 + i) * e->rs], kind, e->act_alpha, e->act_beta);
        } else {
            const float *cr = e->c + (i0 + i) * e->rs;
            for (size_t j = 0; j < cols; j++) row[j] += e->beta * cr[(j0 + j) * e->cs];
            ox_bias_act(row, row, cols, 0.0f, kind, e->act_alpha, e->act_beta);
        }
        if (rest) ox_act_apply(row, cols, e->act, e->act_alpha, e->act_beta);
    }
}

/* C's strides for broadcasting over M x N (0 along broadcast dims). */
static void c_strides(const ox_tensor *C, size_t *rs, size_t *cs) {
    *rs = *cs = 0;
    if (C->rank == 2) {
        *rs = C->dims[0] == 1 ? 0 : (size_t)C->dims[1];
        *cs = C->dims[1] == 1 ? 0 : 1;
    } else if (C->rank == 1) {
        *cs = C->dims[0] == 1 ? 0 : 1;
    }
}

/* Y = beta * C broadcast over M x N. Integer types use beta_i (wrapping). */
static void gemm_fill_c(const ox_tensor *C, double beta, int64_t beta_i, void *Y, size_t M,
                        size_t N) {
    size_t rs, cs;
    c_strides(C, &rs, &cs);
    uint64_t bu = (uint64_t)beta_i;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            size_t src = i * rs + j * cs, dst = i * N + j;
            switch (C->dtype) {
            case ONYX_DTYPE_FLOAT:
                ((float *)Y)[dst] = (float)beta * ((const float *)C->data)[src];
                break;
            case ONYX_DTYPE_DOUBLE:
                ((double *)Y)[dst] = beta * ((const double *)C->data)[src];
                break;
            case ONYX_DTYPE_INT32:
            case ONYX_DTYPE_UINT32: {
                uint32_t v;
                memcpy(&v, (const char *)C->data + src * 4, 4);
                v = (uint32_t)bu * v;
                memcpy((char *)Y + dst * 4, &v, 4);
                break;
            }
            case ONYX_DTYPE_INT64:
            case ONYX_DTYPE_UINT64: {
                uint64_t v;
                memcpy(&v, (const char *)C->data + src * 8, 8);
                v = bu * v;
                memcpy((char *)Y + dst * 8, &v, 8);
                break;
            }
            default: break;
            }
        }
}

/* alpha for integer Gemm: the attribute is a float; an integral value is required. */
static onyx_status int_scalar(float f, const char *name, int64_t *out) {
    if (!(f >= -9.0e18f && f <= 9.0e18f) || (float)(int64_t)f != f)
        return ox_error(ONYX_ERR_UNSUPPORTED, "integer Gemm with non-integral %s %g", name,
                        (double)f);
    *out = (int64_t)f;
    return ONYX_OK;
}

onyx_status ox_nn_gemm_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, ox_nn_gemm_run);
    const gemm_state *st = c->state;
    const ox_tensor *A = c->in[0], *B = c->in[1];
    ox_tensor *Y = c->out[0];
    gemm_dims g;
    OX_TRY(gemm_dims_of(c, st, &g));
    size_t M = g.M, N = g.N, K = g.K;
    if (M == 0 || N == 0) return ONYX_OK;
    int with_c = ox_has_input(c, 2) && st->beta != 0.0f;
    size_t lda = (size_t)A->dims[1], ldb = (size_t)B->dims[1];
    int32_t t = Y->dtype;
    if (t == ONYX_DTYPE_FLOAT) {
        gemm_epilogue ep = {.c = with_c ? c->in[2]->data : NULL, .beta = st->beta, .act = c->act,
                            .act_alpha = c->act_alpha, .act_beta = c->act_beta};
        if (with_c) c_strides(c->in[2], &ep.rs, &ep.cs);
        ox_sgemm_call call = {.M = M, .N = N, .K = K, .alpha = st->alpha, .trans_a = st->ta,
                              .A = A->data, .lda = lda, .pb = packed_b_for(c, B),
                              .trans_b = st->tb, .B = B->data, .ldb = ldb, .C = Y->data, .ldc = N};
        /* C as a bias by columns (a Linear layer's) or by rows, and then a ReLU or
         * Clip, go into the micro-kernel's stores, in the epilogue's order and
         * rounding; other forms of C and other activations stay in the epilogue */
        if (with_c && st->beta == 1.0f && ep.rs == 0 && ep.cs == 1) call.col_bias = ep.c;
        else if (with_c && st->beta == 1.0f && ep.rs == 1 && ep.cs == 0) call.row_bias = ep.c;
        if (call.col_bias || call.row_bias) ep.c = NULL;
        if ((!with_c || !ep.c) && ox_nn_act_clamp(c, &call.row_lo, &call.row_hi)) {
            call.row_clamp = 1;
            ep.act = OX_ACT_NONE;
        }
        if (ep.c || ep.act) {
            call.epilogue = gemm_epilogue_run;
            call.ep_ctx = &ep;
        }
        (void)ox_sgemm_run(&call, c->pool); /* plain operands: never fails */
        return ONYX_OK;
    }
    if (t == ONYX_DTYPE_DOUBLE) {
        if (with_c) gemm_fill_c(c->in[2], st->beta, 0, Y->data, M, N);
        ox_dgemm(st->ta, st->tb, M, N, K, st->alpha, A->data, lda, B->data, ldb,
                 with_c ? 1.0 : 0.0, Y->data, N, c->pool);
        return ONYX_OK;
    }
    int64_t alpha = 0, beta = 0;
    OX_TRY(int_scalar(st->alpha, "alpha", &alpha));
    if (with_c) {
        OX_TRY(int_scalar(st->beta, "beta", &beta));
        gemm_fill_c(c->in[2], 0.0, beta, Y->data, M, N);
    } else {
        memset(Y->data, 0, M * N * ox_dtype_size(t));
    }
    /* the product goes to a scratch matrix, then Y += alpha * product */
    size_t esz = ox_dtype_size(t);
    void *P = ox_calloc(M * N, esz);
    if (!P) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a %zux%zu product", M, N);
    int_mm_for(t)(M, N, K, A->data, st->ta ? 1 : lda, st->ta ? lda : 1, B->data,
                  st->tb ? 1 : ldb, st->tb ? ldb : 1, P, N);
    for (size_t i = 0; i < M * N; i++) {
        if (esz == 4) {
            uint32_t y, p;
            memcpy(&y, (char *)Y->data + i * 4, 4);
            memcpy(&p, (char *)P + i * 4, 4);
            y += (uint32_t)alpha * p;
            memcpy((char *)Y->data + i * 4, &y, 4);
        } else {
            uint64_t y, p;
            memcpy(&y, (char *)Y->data + i * 8, 8);
            memcpy(&p, (char *)P + i * 8, 8);
            y += (uint64_t)alpha * p;
            memcpy((char *)Y->data + i * 8, &y, 8);
        }
    }
    ox_free(P);
    return ONYX_OK;
}

/* ---- MatMulInteger and QLinearMatMul ------------------------------------------- */

static int is_q8(int32_t t) { return t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_UINT8; }

static int32_t q8(const ox_tensor *t, size_t i) {
    return t->dtype == ONYX_DTYPE_INT8 ? ((const int8_t *)t->data)[i]
                                       : ((const uint8_t *)t->data)[i];
}

/* Which quantisation parameter applies to a row of A (per_row) or a column of B:
 * a scalar, one per row/column, or one per row/column of every batch matrix. */
typedef struct qparam {
    const ox_tensor *t; /* NULL: absent (zero point 0) */
    size_t per;         /* M for A's rows, N for B's columns */
} qparam;

static onyx_status qparam_check(const ox_tensor *t, size_t per, size_t n_batch, const char *name) {
    if (!t) return ONYX_OK;
    size_t n = ox_tensor_count(t);
    if (n != 1 && n != per && n != per * n_batch)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %s has %zu elements; expected 1, %zu or "
                        "%zu", name, n, per, per * n_batch);
    return ONYX_OK;
}

static size_t qparam_index(const qparam *q, size_t batch, size_t k) {
    size_t n = ox_tensor_count(q->t);
    return n == 1 ? 0 : n == q->per ? k : batch * q->per + k;
}

/* Number of matrices of mat elements in t (1 when empty). */
static size_t mat_count(const ox_tensor *t, size_t mat) {
    return mat != 0 ? ox_tensor_count(t) / mat : 1;
}

/* X - zero point as floats, for A (rows) or B (columns) of a MatMul. */
static float *q_to_float(const ox_tensor *X, const ox_tensor *zp, int rows, size_t M, size_t K,
                         size_t N) {
    size_t n = ox_tensor_count(X);
    float *f = ox_malloc_array(n ? n : 1, sizeof(float));
    if (!f) return NULL;
    qparam q = {.t = zp, .per = rows ? M : N};
    size_t mat = rows ? M * K : K * N;
    for (size_t i = 0; i < n; i++) {
        int32_t z = 0;
        if (zp) {
            size_t k = rows ? i / K % M : i % N;
            z = q8(zp, qparam_index(&q, mat ? i / mat : 0, k));
        }
        f[i] = (float)(q8(X, i) - z);
    }
    return f;
}

/* Integer product of every batch into acc (int32, n_batch x M x N). */
static onyx_status q_matmul(ox_op_ctx *c, const ox_tensor *A, const ox_tensor *azp,
                            const ox_tensor *B, const ox_tensor *bzp, const mm_shape *s,
                            int32_t *acc) {
    size_t nba = mat_count(A, s->M * s->K), nbb = mat_count(B, s->K * s->N);
    OX_TRY(qparam_check(azp, s->M, nba, "a_zero_point"));
    OX_TRY(qparam_check(bzp, s->N, nbb, "b_zero_point"));
    memset(acc, 0, s->n_batch * s->M * s->N * sizeof *acc);
    if (!s->n_batch || !s->M || !s->N || !s->K) return ONYX_OK;
    float *af = q_to_float(A, azp, 1, s->M, s->K, s->N);
    float *bf = q_to_float(B, bzp, 0, s->M, s->K, s->N);
    float *tmp = ox_malloc_array(s->M * s->N, sizeof(float));
    onyx_status st = ONYX_OK;
    if (!af || !bf || !tmp) {
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
        for (size_t b = 0; b < s->n_batch; b++) {
            size_t ao, bo;
            mm_offsets(s, b, &ao, &bo);
            ox_gemm_int_exact(s->M, s->N, s->K, af + ao, s->K, bf + bo, s->N,
                              acc + b * s->M * s->N, s->N, tmp, c->pool);
        }
    }
    ox_free(af);
    ox_free(bf);
    ox_free(tmp);
    return st;
}

static onyx_status q_shape_out(ox_op_ctx *c, const ox_tensor *A, const ox_tensor *B, int32_t t) {
    mm_shape s;
    OX_TRY(mm_shape_of(A, B, &s));
    int64_t dims[OX_MAX_RANK];
    int r = 0;
    for (int i = 0; i < s.nb; i++) dims[r++] = s.batch[i];
    if (!s.a_vec) dims[r++] = (int64_t)s.M;
    if (!s.b_vec) dims[r++] = (int64_t)s.N;
    ox_set_shape(c->out[0], t, r, dims);
    return ONYX_OK;
}

onyx_status ox_nn_matmulinteger_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 2));
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs A and B are required");
    const ox_tensor *A = c->in[0], *B = c->in[1];
    if (!is_q8(A->dtype) || !is_q8(B->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "MatMulInteger on %s x %s is not supported",
                        ox_dtype_name(A->dtype), ox_dtype_name(B->dtype));
    if ((ox_has_input(c, 2) && c->in[2]->dtype != A->dtype) ||
        (ox_has_input(c, 3) && c->in[3]->dtype != B->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "a zero point's type differs from its input's");
    return q_shape_out(c, A, B, ONYX_DTYPE_INT32);
}

onyx_status ox_nn_matmulinteger_run(ox_op_ctx *c) {
    const ox_tensor *A = c->in[0], *B = c->in[1];
    mm_shape s;
    OX_TRY(mm_shape_of(A, B, &s));
    return q_matmul(c, A, ox_has_input(c, 2) ? c->in[2] : NULL, B,
                    ox_has_input(c, 3) ? c->in[3] : NULL, &s, c->out[0]->data);
}

onyx_status ox_nn_qlinearmatmul_infer(ox_op_ctx *c) {
    OX_TRY(ox_nn_need(c, 8));
    for (size_t i = 0; i < 8; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "QLinearMatMul needs 8 inputs (input %zu is "
                            "missing)", i);
    const ox_tensor *A = c->in[0], *B = c->in[3], *yzp = c->in[7];
    if (!is_q8(A->dtype) || !is_q8(B->dtype) || !is_q8(yzp->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "QLinearMatMul on %s, %s -> %s is not supported",
                        ox_dtype_name(A->dtype), ox_dtype_name(B->dtype),
                        ox_dtype_name(yzp->dtype));
    if (c->in[2]->dtype != A->dtype || c->in[5]->dtype != B->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "a zero point's type differs from its input's");
    static const size_t scales[3] = {1, 4, 6};
    for (int i = 0; i < 3; i++) {
        int32_t t = c->in[scales[i]]->dtype;
        if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_FLOAT16 && t != ONYX_DTYPE_BFLOAT16)
            return ox_error(ONYX_ERR_UNSUPPORTED, "scale of type %s", ox_dtype_name(t));
    }
    if (ox_tensor_count(c->in[6]) != 1 || ox_tensor_count(yzp) != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "y_scale and y_zero_point must be scalars");
    return q_shape_out(c, A, B, yzp->dtype);
}

static float round16(int32_t t, float v) {
    return t == ONYX_DTYPE_FLOAT16 ? ox_f16_to_f32(ox_f32_to_f16(v))
                                   : ox_bf16_to_f32(ox_f32_to_bf16(v));
}

/* a * b / y in the scales' type: float32 arithmetic, rounded after each step for
 * the 16-bit types as the reference computes them. */
static double scale_factor(int32_t t, double a, double b, double y) {
    if (t == ONYX_DTYPE_FLOAT) return (double)((float)a * (float)b / (float)y);
    float ab = (float)a * (float)b;
    ab = round16(t, ab);
    return round16(t, ab / (float)y);
}

/* Round half to even, add the zero point, saturate to the 8-bit type. */
static void q_store(ox_tensor *Y, size_t i, double v, int32_t zp) {
    double r = nearbyint(v) + (double)zp;
    if (Y->dtype == ONYX_DTYPE_INT8) {
        r = r < -128.0 ? -128.0 : r > 127.0 ? 127.0 : r;
        ((int8_t *)Y->data)[i] = (int8_t)r;
    } else {
        r = r < 0.0 ? 0.0 : r > 255.0 ? 255.0 : r;
        ((uint8_t *)Y->data)[i] = (uint8_t)r;
    }
}

onyx_status ox_nn_qlinearmatmul_run(ox_op_ctx *c) {
    const ox_tensor *A = c->in[0], *as = c->in[1], *azp = c->in[2], *B = c->in[3];
    const ox_tensor *bs = c->in[4], *bzp = c->in[5], *ys = c->in[6], *yzp = c->in[7];
    mm_shape s;
    OX_TRY(mm_shape_of(A, B, &s));
    size_t nba = mat_count(A, s.M * s.K), nbb = mat_count(B, s.K * s.N);
    OX_TRY(qparam_check(as, s.M, nba, "a_scale"));
    OX_TRY(qparam_check(bs, s.N, nbb, "b_scale"));
    size_t total = s.n_batch * s.M * s.N;
    int32_t *acc = ox_malloc_array(total ? total : 1, sizeof(int32_t));
    if (!acc) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status st = q_matmul(c, A, azp, B, bzp, &s, acc);
    if (st == ONYX_OK) {
        qparam qa = {.t = as, .per = s.M}, qb = {.t = bs, .per = s.N};
        double y = ox_tensor_get_double(ys, 0);
        int32_t z = q8(yzp, 0);
        for (size_t b = 0; b < s.n_batch; b++) {
            size_t ao, bo;
            mm_offsets(&s, b, &ao, &bo);
            size_t ab = s.M * s.K != 0 ? ao / (s.M * s.K) : 0;
            size_t bb = s.K * s.N != 0 ? bo / (s.K * s.N) : 0;
            for (size_t i = 0; i < s.M; i++)
                for (size_t j = 0; j < s.N; j++) {
                    double f = scale_factor(as->dtype,
                                            ox_tensor_get_double(as, qparam_index(&qa, ab, i)),
                                            ox_tensor_get_double(bs, qparam_index(&qb, bb, j)), y);
                    size_t k = (b * s.M + i) * s.N + j;
                    q_store(c->out[0], k, (double)acc[k] * f, z);
                }
        }
    }
    ox_free(acc);
    return st;
}
