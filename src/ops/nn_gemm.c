/* MatMul (numpy matmul semantics) and Gemm. float32 runs on ox_sgemm, float64 on
 * ox_dgemm; integer types use plain loops with wrap-around arithmetic (done in
 * unsigned types, so overflow is defined). */
#include <string.h>

#include "kernels/gemm.h"
#include "ops/nn_ops.h"
#include "util/alloc.h"
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

/* ---- MatMul ---------------------------------------------------------------- */

typedef struct mm_shape {
    size_t M, N, K;
    int nb;                     /* broadcast batch rank */
    int64_t batch[OX_MAX_RANK]; /* broadcast batch dims */
    size_t a_bs[OX_MAX_RANK], b_bs[OX_MAX_RANK]; /* element strides per batch dim, 0 when broadcast */
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
    /* B shared by every batch and A's batches contiguous: one (batch*M) x K product */
    int b_shared = 1;
    for (int i = 0; i < s.nb; i++) b_shared &= s.b_bs[i] == 0;
    if (b_shared) {
        size_t rows = s.n_batch * s.M;
        if (f32)
            ox_sgemm(0, 0, rows, s.N, s.K, 1.0f, A->data, s.K, B->data, s.N, 0.0f, Y->data, s.N,
                     c->pool);
        else
            ox_dgemm(0, 0, rows, s.N, s.K, 1.0, A->data, s.K, B->data, s.N, 0.0, Y->data, s.N,
                     c->pool);
        return ONYX_OK;
    }
    mm_task t = {.s = &s, .A = A->data, .B = B->data, .Y = Y->data, .dtype = A->dtype};
    size_t threads = (size_t)ox_threadpool_size(c->pool);
    double flops = (double)s.M * (double)s.N * (double)s.K;
    if (threads > 1 && s.n_batch >= 2 * threads && flops < 4.0e6) {
        ox_parallel_for(c->pool, s.n_batch, 1, mm_batches, &t);
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

/* Y = beta * C broadcast over M x N. Integer types use beta_i (wrapping). */
static void gemm_fill_c(const ox_tensor *C, double beta, int64_t beta_i, void *Y, size_t M,
                        size_t N) {
    size_t rs = 0, cs = 0; /* C strides, 0 along broadcast dims */
    if (C->rank == 2) {
        rs = C->dims[0] == 1 ? 0 : (size_t)C->dims[1];
        cs = C->dims[1] == 1 ? 0 : 1;
    } else if (C->rank == 1) {
        cs = C->dims[0] == 1 ? 0 : 1;
    }
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
    if (t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE) {
        if (with_c) gemm_fill_c(c->in[2], st->beta, 0, Y->data, M, N);
        if (t == ONYX_DTYPE_FLOAT)
            ox_sgemm(st->ta, st->tb, M, N, K, st->alpha, A->data, lda, B->data, ldb,
                     with_c ? 1.0f : 0.0f, Y->data, N, c->pool);
        else
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
