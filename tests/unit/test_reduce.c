/* Reductions, Softmax family, ArgMax/ArgMin, TopK, CumSum against naive double references. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nodes.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* ---- helpers ---------------------------------------------------------------------- */

static int rnd(int n) { return (int)(tt_randf() * (float)n) % n; }

/* Like ox_op_run_single, but with a thread pool. */
static onyx_status run_node(const ox_node *node, int64_t opset, ox_tensor **in, size_t n_in,
                            ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    const ox_op_def *def = ox_op_find("", node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *outs[8];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = in,
                   .out = outs, .pool = pool};
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = def->infer(&c);
    for (size_t i = 0; i < n_out && s == ONYX_OK; i++) s = ox_tensor_alloc_data(&out[i]);
    if (s == ONYX_OK && c.workspace_bytes) c.workspace = ox_malloc_aligned(c.workspace_bytes);
    if (s == ONYX_OK) s = def->run(&c);
    ox_free_aligned(c.workspace);
    if (def->destroy && c.state) def->destroy(c.state);
    if (s != ONYX_OK)
        for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&out[i]);
    return s;
}

/* Only prepare + infer (planning), to see OX_NEED_VALUE and shapes. */
static onyx_status infer_node(const ox_node *node, int64_t opset, ox_tensor **in, size_t n_in,
                              ox_tensor *out, size_t n_out) {
    const ox_op_def *def = ox_op_find("", node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *outs[8];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = in, .out = outs};
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = def->infer(&c);
    if (def->destroy && c.state) def->destroy(c.state);
    return s;
}

/* |a - b| within tol (relative to |b| as well); equal infinities and two NaNs match. */
static int close_to(double a, double b, double tol) {
    if (isnan(b)) return isnan(a);
    if (isinf(b)) return a == b;
    return fabs(a - b) <= tol * (1 + fabs(b));
}

static void rand_shape(int32_t *rank, int64_t *dims, int max_rank, int allow_zero) {
    *rank = rnd(max_rank + 1);
    for (int32_t d = 0; d < *rank; d++) {
        dims[d] = 1 + rnd(4);
        if (allow_zero && rnd(12) == 0) dims[d] = 0;
    }
}

static ox_tensor axes_tensor(size_t n, const int64_t *v) {
    return tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){(int64_t)n}, v);
}

/* ---- reductions ---------------------------------------------------------------------- */

static const char *red_names[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                  "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                  "ReduceLogSumExp", "ReduceSumSquare"};
enum { K_SUM, K_MEAN, K_MAX, K_MIN, K_PROD, K_L1, K_L2, K_LOGSUM, K_LSE, K_SUMSQ };

/* The reference: every input element is folded into its output slot. */
static void ref_reduce(int kind, const double *x, int32_t rank, const int64_t *dims,
                       const uint8_t *mask, double *out) {
    size_t in_n = 1, out_n = 1, ostride[OX_MAX_RANK];
    for (int32_t d = rank - 1; d >= 0; d--) {
        ostride[d] = mask[d] ? 0 : out_n;
        if (!mask[d]) out_n *= (size_t)dims[d];
        in_n *= (size_t)dims[d];
    }
    double *m = ox_malloc_array(out_n + 1, sizeof(double));
    size_t *cnt = ox_calloc(out_n + 1, sizeof(size_t));
    for (size_t o = 0; o < out_n; o++) {
        out[o] = kind == K_PROD ? 1 : kind == K_MAX ? -INFINITY : kind == K_MIN ? INFINITY : 0;
        m[o] = -INFINITY;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < in_n; i++) {
            size_t rem = i, o = 0;
            for (int32_t d = rank - 1; d >= 0; d--) {
                o += (rem % (size_t)dims[d]) * ostride[d];
                rem /= (size_t)dims[d];
            }
            double v = x[i];
            if (pass == 0) {
                cnt[o]++;
                if (v > m[o]) m[o] = v;
                switch (kind) {
                case K_SUM: case K_MEAN: case K_LOGSUM: out[o] += v; break;
                case K_MAX: if (v > out[o]) out[o] = v; break;
                case K_MIN: if (v < out[o]) out[o] = v; break;
                case K_PROD: out[o] *= v; break;
                case K_L1: out[o] += fabs(v); break;
                case K_L2: case K_SUMSQ: out[o] += v * v; break;
                default: break;
                }
            } else if (kind == K_LSE) {
                out[o] += exp(v - m[o]);
            }
        }
    }
    for (size_t o = 0; o < out_n; o++) {
        switch (kind) {
        case K_MEAN: out[o] = out[o] / (double)cnt[o]; break;
        case K_L2: out[o] = sqrt(out[o]); break;
        case K_LOGSUM: out[o] = log(out[o]); break;
        case K_LSE: out[o] = cnt[o] ? m[o] + log(out[o]) : -INFINITY; break;
        default: break;
        }
    }
    ox_free(m);
    ox_free(cnt);
}

/* Builds and runs a reduction; axes (n_axes, possibly negative) go in an attribute before
 * the version that made them an input. n_axes < 0: no axes at all. */
static onyx_status run_reduce(int kind, int64_t opset, ox_tensor *x, int n_axes,
                              const int64_t *axes, int keepdims, int noop, ox_tensor *out,
                              ox_threadpool *pool) {
    int input_form = opset >= (kind == K_SUM ? 13 : 18);
    ox_node *n = tn_node(red_names[kind], input_form && n_axes >= 0 ? 2 : 1, 1);
    tn_int(n, "keepdims", keepdims);
    if (input_form && noop) tn_int(n, "noop_with_empty_axes", 1);
    ox_tensor at = {0};
    ox_tensor *ins[2] = {x, NULL};
    if (n_axes >= 0) {
        if (input_form) {
            at = axes_tensor((size_t)n_axes, axes);
            ins[1] = &at;
        } else {
            tn_ints(n, "axes", (size_t)n_axes, axes);
        }
    }
    onyx_status s = run_node(n, opset, ins, ins[1] ? 2 : 1, out, 1, pool);
    ox_tensor_free_data(&at);
    return s;
}

static void check_reduce_case(int kind, int64_t opset, int32_t dtype, ox_threadpool *pool) {
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    rand_shape(&rank, dims, 5, kind != K_MEAN);
    if (pool) { /* big enough to be split */
        rank = 3;
        dims[0] = 64 + rnd(8);
        dims[1] = 40 + rnd(50);
        dims[2] = 33;
    }
    ox_tensor x = tt_make(dtype, rank, dims, NULL);
    size_t cnt = ox_tensor_count(&x);
    double *xd = ox_malloc_array(cnt + 1, sizeof(double));
    for (size_t i = 0; i < cnt; i++) {
        double v = 4.0 * tt_randf() - 2.0;
        if (kind == K_LOGSUM) v = 0.1 + tt_randf();
        if (kind == K_PROD) v = 0.5 + tt_randf();
        if (dtype == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = (float)v;
        else if (dtype == ONYX_DTYPE_DOUBLE) ((double *)x.data)[i] = v;
        xd[i] = dtype == ONYX_DTYPE_FLOAT ? (double)(float)v : v;
    }
    /* a random axis set, each axis maybe written negative */
    uint8_t mask[OX_MAX_RANK] = {0};
    int64_t axes[OX_MAX_RANK];
    int n_axes = 0;
    for (int32_t d = 0; d < rank; d++)
        if (rnd(2)) {
            mask[d] = 1;
            axes[n_axes++] = rnd(2) ? d - rank : d;
        }
    /* shuffle the order of the axes list: it must not matter */
    for (int i = n_axes - 1; i > 0; i--) {
        int j = rnd(i + 1);
        int64_t t = axes[i];
        axes[i] = axes[j];
        axes[j] = t;
    }
    int omit = n_axes == 0 && rnd(2); /* no axes given vs an empty list */
    if (n_axes == 0) memset(mask, 1, sizeof mask);
    int keepdims = rnd(2);
    ox_tensor out;
    onyx_status s = run_reduce(kind, opset, &x, omit ? -1 : n_axes, axes, keepdims, 0, &out, pool);
    if (s != ONYX_OK) {
        fprintf(stderr, "  %s opset %lld rank %d: %s\n", red_names[kind], (long long)opset, rank,
                onyx_last_error());
        ox_test_failures++;
    } else {
        int32_t er = 0;
        int dims_ok = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (!mask[d]) dims_ok &= out.dims[er++] == dims[d];
            else if (keepdims) dims_ok &= out.dims[er++] == 1;
        }
        CHECK(out.rank == er);
        CHECK(dims_ok);
        CHECK(out.dtype == dtype);
        size_t on = ox_tensor_count(&out);
        double *ref = ox_malloc_array(on + 1, sizeof(double));
        ref_reduce(kind, xd, rank, dims, mask, ref);
        double tol = dtype == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-11;
        int bad = 0;
        for (size_t i = 0; i < on && bad < 3; i++) {
            double got = ox_tensor_get_double(&out, i);
            if (!close_to(got, ref[i], tol)) {
                fprintf(stderr, "  %s opset %lld out[%zu] = %.9g, expected %.9g\n",
                        red_names[kind], (long long)opset, i, got, ref[i]);
                bad++;
            }
        }
        if (bad) ox_test_failures++;
        ox_free(ref);
        ox_tensor_free_data(&out);
    }
    ox_free(xd);
    ox_tensor_free_data(&x);
}

TEST(reduce_random_float_all_kinds) {
    static const int64_t opsets[] = {11, 13, 18, 20};
    for (int kind = 0; kind < 10; kind++)
        for (int t = 0; t < 60; t++)
            check_reduce_case(kind, opsets[t % 4], t % 3 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_DOUBLE, NULL);
    tn_reset();
}

TEST(reduce_random_threaded) {
    ox_threadpool *pool = ox_threadpool_create(4);
    for (int kind = 0; kind < 10; kind++)
        for (int t = 0; t < 4; t++) check_reduce_case(kind, 18, ONYX_DTYPE_FLOAT, pool);
    ox_threadpool_free(pool);
    tn_reset();
}

/* Every rank-3 axis set explicitly (each selects a different collapse pattern). */
TEST(reduce_every_axis_set_rank3) {
    float xv[2 * 3 * 4];
    double xd[24];
    for (int i = 0; i < 24; i++) xd[i] = xv[i] = (float)(i % 7) - 2.5f;
    int64_t dims[3] = {2, 3, 4};
    for (int m = 0; m < 8; m++) {
        uint8_t mask[OX_MAX_RANK] = {0};
        int64_t axes[3];
        int n = 0;
        for (int d = 0; d < 3; d++)
            if (m >> d & 1) {
                mask[d] = 1;
                axes[n++] = d;
            }
        if (!n) memset(mask, 1, sizeof mask);
        for (int kind = 0; kind < 10; kind++) {
            if (kind == K_LOGSUM || kind == K_PROD) continue;
            ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 3, dims, xv), out;
            REQUIRE_OK(run_reduce(kind, 18, &x, n, axes, 1, 0, &out, NULL));
            double ref[24];
            ref_reduce(kind, xd, 3, dims, mask, ref);
            for (size_t i = 0; i < ox_tensor_count(&out); i++)
                CHECK(close_to(((float *)out.data)[i], ref[i], 1e-5));
            ox_tensor_free_data(&out);
            ox_tensor_free_data(&x);
        }
    }
    tn_reset();
}

TEST(reduce_rank0) {
    float v = -3.0f;
    for (int kind = 0; kind < 10; kind++) {
        ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &v), out;
        REQUIRE_OK(run_reduce(kind, 18, &x, -1, NULL, 1, 0, &out, NULL));
        CHECK(out.rank == 0);
        double ref;
        uint8_t mask[OX_MAX_RANK] = {0};
        double xd = v;
        ref_reduce(kind, &xd, 0, NULL, mask, &ref);
        CHECK(close_to(((float *)out.data)[0], ref, 1e-6));
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
        /* an axis on a scalar is out of range */
        x = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &v);
        CHECK(run_reduce(kind, 18, &x, 1, (int64_t[]){0}, 1, 0, &out, NULL) != ONYX_OK);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

TEST(reduce_empty_set) {
    /* [2, 0, 3] reduced over axis 1: every output gets the identity of the reduction */
    int64_t dims[3] = {2, 0, 3};
    const double expect[10] = {0, NAN, -INFINITY, INFINITY, 1, 0, 0, -INFINITY, -INFINITY, 0};
    for (int kind = 0; kind < 10; kind++) {
        ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 3, dims, NULL), out;
        REQUIRE_OK(run_reduce(kind, 18, &x, 1, (int64_t[]){1}, 1, 0, &out, NULL));
        CHECK(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 1 && out.dims[2] == 3);
        for (int i = 0; i < 6; i++) CHECK(close_to(((float *)out.data)[i], expect[kind], 0));
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
        /* reducing a non-empty axis of an empty tensor gives an empty result */
        x = tt_make(ONYX_DTYPE_FLOAT, 3, dims, NULL);
        REQUIRE_OK(run_reduce(kind, 18, &x, 1, (int64_t[]){2}, 0, 0, &out, NULL));
        CHECK(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 0);
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    /* integer max/min of nothing: the type's extreme values */
    ox_tensor x = tt_make(ONYX_DTYPE_INT8, 2, (int64_t[]){0, 2}, NULL), out;
    REQUIRE_OK(run_reduce(K_MAX, 18, &x, 1, (int64_t[]){0}, 0, 0, &out, NULL));
    CHECK(out.rank == 1 && out.dims[0] == 2 && ((int8_t *)out.data)[1] == INT8_MIN);
    ox_tensor_free_data(&out);
    REQUIRE_OK(run_reduce(K_MIN, 18, &x, 1, (int64_t[]){0}, 0, 0, &out, NULL));
    CHECK(((int8_t *)out.data)[0] == INT8_MAX);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(reduce_noop_with_empty_axes) {
    float v[6] = {0.5f, 2, 3, 4, 5, 6};
    int64_t dims[2] = {2, 3};
    for (int kind = 0; kind < 10; kind++) {
        ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, dims, v), out;
        int64_t opset = kind == K_SUM ? 13 : 18;
        /* empty axes list and noop: elementwise, shape unchanged */
        REQUIRE_OK(run_reduce(kind, opset, &x, 0, NULL, 1, 1, &out, NULL));
        CHECK(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 3);
        for (int i = 0; i < 6; i++) {
            double e = v[i];
            if (kind == K_SUMSQ) e = e * e;
            if (kind == K_LOGSUM) e = log(e);
            CHECK(close_to(((float *)out.data)[i], e, 1e-6));
        }
        ox_tensor_free_data(&out);
        /* axes omitted and noop: the same */
        REQUIRE_OK(run_reduce(kind, opset, &x, -1, NULL, 0, 1, &out, NULL));
        CHECK(out.rank == 2);
        ox_tensor_free_data(&out);
        /* empty axes without noop: everything reduced */
        REQUIRE_OK(run_reduce(kind, opset, &x, 0, NULL, 0, 0, &out, NULL));
        CHECK(out.rank == 0);
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

TEST(reduce_types) {
    int64_t dims[2] = {3, 5};
    double xd[15];
    for (int i = 0; i < 15; i++) xd[i] = (double)((i * 7) % 11) - 4;
    static const int32_t types[] = {ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_INT8,
                                    ONYX_DTYPE_INT16,   ONYX_DTYPE_INT32,    ONYX_DTYPE_INT64,
                                    ONYX_DTYPE_UINT8,   ONYX_DTYPE_UINT16,   ONYX_DTYPE_UINT32,
                                    ONYX_DTYPE_UINT64};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        int32_t dt = types[t];
        int is_u = dt == ONYX_DTYPE_UINT8 || dt == ONYX_DTYPE_UINT16 || dt == ONYX_DTYPE_UINT32 ||
                   dt == ONYX_DTYPE_UINT64;
        ox_tensor x = tt_make(dt, 2, dims, NULL);
        double src[15];
        for (int i = 0; i < 15; i++) {
            src[i] = is_u ? fabs(xd[i]) : xd[i];
            int64_t iv = (int64_t)src[i];
            switch (dt) {
            case ONYX_DTYPE_FLOAT16: ((uint16_t *)x.data)[i] = 0; break;
            case ONYX_DTYPE_INT8: ((int8_t *)x.data)[i] = (int8_t)iv; break;
            case ONYX_DTYPE_INT16: ((int16_t *)x.data)[i] = (int16_t)iv; break;
            case ONYX_DTYPE_INT32: ((int32_t *)x.data)[i] = (int32_t)iv; break;
            case ONYX_DTYPE_INT64: ((int64_t *)x.data)[i] = iv; break;
            case ONYX_DTYPE_UINT8: ((uint8_t *)x.data)[i] = (uint8_t)iv; break;
            case ONYX_DTYPE_UINT16: ((uint16_t *)x.data)[i] = (uint16_t)iv; break;
            case ONYX_DTYPE_UINT32: ((uint32_t *)x.data)[i] = (uint32_t)iv; break;
            case ONYX_DTYPE_UINT64: ((uint64_t *)x.data)[i] = (uint64_t)iv; break;
            default: break;
            }
        }
        if (dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16) {
            /* small integers are exact in both half formats: build the bit patterns
             * from float32 bits (bfloat16 = top half; float16 via exponent rebias) */
            for (int i = 0; i < 15; i++) {
                float f = (float)src[i];
                uint32_t b;
                memcpy(&b, &f, 4);
                uint16_t h;
                if (dt == ONYX_DTYPE_BFLOAT16) h = (uint16_t)(b >> 16);
                else if (f == 0) h = (uint16_t)((b >> 16) & 0x8000u);
                else h = (uint16_t)(((b >> 16) & 0x8000u) | ((((b >> 23) & 0xffu) - 112u) << 10) |
                                    ((b >> 13) & 0x3ffu));
                ((uint16_t *)x.data)[i] = h;
            }
        }
        uint8_t mask[OX_MAX_RANK] = {0, 1};
        for (int kind = 0; kind < 10; kind++) {
            if (kind == K_LOGSUM || kind == K_LSE || kind == K_L2) {
                if (dt != ONYX_DTYPE_FLOAT16 && dt != ONYX_DTYPE_BFLOAT16) continue;
            }
            ox_tensor out;
            REQUIRE_OK(run_reduce(kind, 18, &x, 1, (int64_t[]){-1}, 0, 0, &out, NULL));
            CHECK(out.dtype == dt && out.rank == 1 && out.dims[0] == 3);
            double ref[3];
            ref_reduce(kind, src, 2, dims, mask, ref);
            for (int i = 0; i < 3; i++) {
                double e = ref[i];
                if (dt != ONYX_DTYPE_FLOAT16 && dt != ONYX_DTYPE_BFLOAT16) {
                    e = trunc(e); /* integer mean truncates */
                    if (kind == K_PROD && dt == ONYX_DTYPE_INT8) e = (double)(int8_t)(int64_t)e;
                    if (kind == K_PROD && dt == ONYX_DTYPE_UINT8) e = (double)(uint8_t)(int64_t)e;
                    if (kind == K_PROD && dt == ONYX_DTYPE_INT16) e = (double)(int16_t)(int64_t)e;
                    if (kind == K_PROD && dt == ONYX_DTYPE_UINT16) e = (double)(uint16_t)(int64_t)e;
                }
                double tol = dt == ONYX_DTYPE_BFLOAT16 ? 1e-2 : dt == ONYX_DTYPE_FLOAT16 ? 2e-3 : 0;
                double got = ox_tensor_get_double(&out, i);
                if (!close_to(got, e, tol)) {
                    fprintf(stderr, "  %s %s [%d] = %g, expected %g\n", red_names[kind],
                            ox_dtype_name(dt), i, got, e);
                    ox_test_failures++;
                }
            }
            ox_tensor_free_data(&out);
        }
        ox_tensor_free_data(&x);
    }
    /* bool max/min: any / all */
    uint8_t b[6] = {0, 1, 0, 0, 0, 0};
    ox_tensor x = tt_make(ONYX_DTYPE_BOOL, 2, (int64_t[]){2, 3}, b), out;
    REQUIRE_OK(run_reduce(K_MAX, 20, &x, 1, (int64_t[]){1}, 0, 0, &out, NULL));
    CHECK(((uint8_t *)out.data)[0] == 1 && ((uint8_t *)out.data)[1] == 0);
    ox_tensor_free_data(&out);
    CHECK(run_reduce(K_SUM, 20, &x, 1, (int64_t[]){1}, 0, 0, &out, NULL) == ONYX_ERR_UNSUPPORTED);
    ox_tensor_free_data(&x);
    /* int64 values beyond 2^53 stay exact */
    int64_t big[2] = {(int64_t)1 << 60, 3};
    x = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, big);
    REQUIRE_OK(run_reduce(K_SUM, 18, &x, -1, NULL, 0, 0, &out, NULL));
    CHECK(((int64_t *)out.data)[0] == ((int64_t)1 << 60) + 3);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(reduce_nan_and_large) {
    /* max/min propagate NaN; LogSumExp of large values does not overflow */
    float v[4] = {1, NAN, 3, 2};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, v), out;
    REQUIRE_OK(run_reduce(K_MAX, 18, &x, -1, NULL, 0, 0, &out, NULL));
    CHECK(isnan(((float *)out.data)[0]));
    ox_tensor_free_data(&out);
    REQUIRE_OK(run_reduce(K_MIN, 18, &x, -1, NULL, 0, 0, &out, NULL));
    CHECK(isnan(((float *)out.data)[0]));
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    float l[3] = {1000, 1000, 999};
    x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, l);
    REQUIRE_OK(run_reduce(K_LSE, 18, &x, -1, NULL, 0, 0, &out, NULL));
    CHECK_NEAR(((float *)out.data)[0], 1000 + log(2 + exp(-1.0)), 1e-3);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(reduce_errors_and_need_value) {
    int64_t dims[2] = {2, 3};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, dims, NULL), out;
    CHECK(run_reduce(K_SUM, 18, &x, 2, (int64_t[]){1, -1}, 1, 0, &out, NULL) == ONYX_ERR_INVALID_MODEL);
    CHECK(run_reduce(K_SUM, 18, &x, 1, (int64_t[]){2}, 1, 0, &out, NULL) == ONYX_ERR_INVALID_MODEL);
    CHECK(run_reduce(K_MEAN, 11, &x, 1, (int64_t[]){-3}, 1, 0, &out, NULL) == ONYX_ERR_INVALID_MODEL);
    /* axes as an input before its opset */
    ox_node *n = tn_node("ReduceMean", 2, 1);
    ox_tensor at = axes_tensor(1, (int64_t[]){0});
    CHECK(run_node(n, 13, (ox_tensor *[]){&x, &at}, 2, &out, 1, NULL) == ONYX_ERR_INVALID_MODEL);
    /* planning with axes not known yet */
    ox_tensor unknown = at;
    unknown.data = NULL;
    CHECK(infer_node(n, 18, (ox_tensor *[]){&x, &unknown}, 2, &out, 1) == OX_NEED_VALUE);
    REQUIRE_OK(infer_node(n, 18, (ox_tensor *[]){&x, &at}, 2, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == 3);
    /* unsupported type */
    ox_tensor s = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){1}, NULL);
    CHECK(run_reduce(K_SUM, 13, &s, -1, NULL, 1, 0, &out, NULL) == ONYX_ERR_UNSUPPORTED);
    ox_tensor_free_data(&s);
    ox_tensor_free_data(&at);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- Softmax, LogSoftmax, Hardmax ----------------------------------------------------- */

static void ref_softmax(int mode, const double *x, size_t outer, size_t n, size_t inner, double *y) {
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            double m = -INFINITY, s = 0;
            size_t best = 0;
            for (size_t j = 0; j < n; j++) {
                double v = x[(o * n + j) * inner + i];
                if (v > m) {
                    m = v;
                    best = j;
                }
            }
            for (size_t j = 0; j < n; j++) s += exp(x[(o * n + j) * inner + i] - m);
            for (size_t j = 0; j < n; j++) {
                size_t e = (o * n + j) * inner + i;
                y[e] = mode == 0 ? exp(x[e] - m) / s : mode == 1 ? x[e] - m - log(s) : j == best;
            }
        }
}

static const char *sm_names[] = {"Softmax", "LogSoftmax", "Hardmax"};

static void check_softmax(int mode, int64_t opset, int32_t dt, ox_threadpool *pool, int big) {
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    rand_shape(&rank, dims, 4, 1);
    if (rank == 0) rank = 1, dims[0] = 3;
    if (big) {
        rank = 3;
        dims[0] = 3;
        dims[1] = 70 + rnd(60);
        dims[2] = rnd(2) ? 1 + rnd(3) : 150 + rnd(200);
    }
    int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
    if (opset < 13 && rnd(3) == 0) axis = rank; /* allowed by the 2-D coercion */
    ox_tensor x = tt_make(dt, rank, dims, NULL), out;
    size_t cnt = ox_tensor_count(&x);
    double *xd = ox_malloc_array(cnt + 1, sizeof(double)), *ref = ox_malloc_array(cnt + 1, sizeof(double));
    double offset = rnd(4) == 0 ? 500 : 0; /* large values must not overflow */
    for (size_t i = 0; i < cnt; i++) {
        double v = (mode == 2 ? (double)rnd(5) : 6 * tt_randf() - 3) + (dt == ONYX_DTYPE_FLOAT16 ? 0 : offset);
        if (dt == ONYX_DTYPE_FLOAT) {
            ((float *)x.data)[i] = (float)v;
        } else if (dt == ONYX_DTYPE_DOUBLE) {
            ((double *)x.data)[i] = v;
        } else { /* float16: quarter steps are exact */
            double q = round(v * 4) / 4;
            float f = (float)q;
            uint32_t b;
            memcpy(&b, &f, 4);
            ((uint16_t *)x.data)[i] = f == 0 ? 0 : (uint16_t)(((b >> 16) & 0x8000u) |
                                                              ((((b >> 23) & 0xffu) - 112u) << 10) |
                                                              ((b >> 13) & 0x3ffu));
        }
        xd[i] = ox_tensor_get_double(&x, i);
    }
    int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
    size_t outer = 1, n = 1, inner = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (d < a) outer *= (size_t)dims[d];
        else if (d == a || opset < 13) n *= (size_t)dims[d];
        else inner *= (size_t)dims[d];
    }
    ref_softmax(mode, xd, outer, n, inner, ref);
    ox_node *node = tn_node(sm_names[mode], 1, 1);
    tn_int(node, "axis", axis);
    onyx_status s = run_node(node, opset, (ox_tensor *[]){&x}, 1, &out, 1, pool);
    if (s != ONYX_OK) {
        fprintf(stderr, "  %s: %s\n", sm_names[mode], onyx_last_error());
        ox_test_failures++;
    } else {
        CHECK(out.rank == rank && out.dtype == dt);
        double tol = dt == ONYX_DTYPE_FLOAT ? 2e-6 : dt == ONYX_DTYPE_DOUBLE ? 1e-12 : 2e-3;
        if (mode == 1 && offset != 0 && dt == ONYX_DTYPE_FLOAT) tol = 1e-5;
        int bad = 0;
        for (size_t i = 0; i < cnt && bad < 3; i++) {
            double got = ox_tensor_get_double(&out, i);
            if (!close_to(got, ref[i], tol)) {
                fprintf(stderr, "  %s opset %lld axis %lld [%zu] = %.9g, expected %.9g\n",
                        sm_names[mode], (long long)opset, (long long)axis, i, got, ref[i]);
                bad++;
            }
        }
        if (bad) ox_test_failures++;
        ox_tensor_free_data(&out);
    }
    ox_free(xd);
    ox_free(ref);
    ox_tensor_free_data(&x);
}

TEST(reduce_softmax_random) {
    static const int64_t opsets[] = {1, 11, 13, 19};
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 80; t++)
            check_softmax(mode, opsets[t % 4], t % 5 == 4 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, NULL, 0);
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 12; t++) check_softmax(mode, 13, ONYX_DTYPE_FLOAT16, NULL, 0);
    tn_reset();
}

TEST(reduce_softmax_threaded_big) {
    ox_threadpool *pool = ox_threadpool_create(4);
    for (int mode = 0; mode < 3; mode++)
        for (int t = 0; t < 4; t++) check_softmax(mode, 13, ONYX_DTYPE_FLOAT, pool, 1);
    ox_threadpool_free(pool);
    tn_reset();
}

TEST(reduce_softmax_edge_cases) {
    /* empty input, axis out of range, integer input */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){0, 3}, NULL), out;
    ox_node *n = tn_node("Softmax", 1, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 0 && out.dims[1] == 3);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    ox_node *bad = tn_node("LogSoftmax", 1, 1);
    tn_int(bad, "axis", 2);
    CHECK(ox_op_run_single(bad, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    REQUIRE_OK(ox_op_run_single(bad, 11, (ox_tensor *[]){&x}, 1, &out, 1)); /* 2-D: [6, 1] */
    for (int i = 0; i < 6; i++) CHECK(((float *)out.data)[i] == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){3}, NULL);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor_free_data(&x);
    /* Hardmax picks the first of equal maxima */
    float v[4] = {1, 5, 5, 2};
    x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, v);
    REQUIRE_OK(ox_op_run_single(tn_node("Hardmax", 1, 1), 13, (ox_tensor *[]){&x}, 1, &out, 1));
    float *y = out.data;
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 0 && y[3] == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- ArgMax / ArgMin -------------------------------------------------------------------- */

TEST(reduce_argmax_random) {
    for (int t = 0; t < 300; t++) {
        int is_min = t & 1, last = (t >> 1) & 1, keep = rnd(2);
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 4, 0);
        if (rank == 0) rank = 1, dims[0] = 5;
        int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
        int32_t dt = t % 3 == 0 ? ONYX_DTYPE_INT32 : t % 3 == 1 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_UINT8;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out;
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) { /* few distinct values: many ties */
            int v = rnd(4);
            if (dt == ONYX_DTYPE_INT32) ((int32_t *)x.data)[i] = v - 2;
            else if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = (float)v * 0.5f;
            else ((uint8_t *)x.data)[i] = (uint8_t)(v + 250);
        }
        ox_node *n = tn_node(is_min ? "ArgMin" : "ArgMax", 1, 1);
        tn_int(n, "axis", axis);
        tn_int(n, "keepdims", keep);
        if (last) tn_int(n, "select_last_index", 1);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        CHECK(out.dtype == ONYX_DTYPE_INT64 && out.rank == (keep ? rank : rank - 1));
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                size_t best = 0;
                for (size_t j = 1; j < n_ax; j++) {
                    double v = ox_tensor_get_double(&x, (o * n_ax + j) * inner + i);
                    double b = ox_tensor_get_double(&x, (o * n_ax + best) * inner + i);
                    if (is_min ? (v < b || (last && v == b)) : (v > b || (last && v == b))) best = j;
                }
                CHECK(((int64_t *)out.data)[o * inner + i] == (int64_t)best);
            }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    /* an empty axis has no index; rank 0 has no axis */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 0}, NULL), out;
    ox_node *n = tn_node("ArgMax", 1, 1);
    tn_int(n, "axis", 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, NULL);
    CHECK(ox_op_run_single(tn_node("ArgMin", 1, 1), 13, (ox_tensor *[]){&x}, 1, &out, 1) != ONYX_OK);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- TopK ------------------------------------------------------------------------------- */

TEST(reduce_topk_random) {
    for (int t = 0; t < 200; t++) {
        int64_t opset = t % 3 == 0 ? 1 : t % 3 == 1 ? 10 : 11;
        int largest = opset >= 11 ? rnd(2) : 1;
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 3, 1);
        if (rank == 0) rank = 1, dims[0] = 6;
        int64_t axis = rnd(rank) - (opset >= 11 && rnd(2) ? rank : 0);
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        int64_t k = rnd((int)dims[a] + 1);
        int32_t dt = t % 2 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out[2];
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) {
            int v = rnd(5) - 2;
            if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = v == 0 && rnd(2) ? -0.0f : (float)v;
            else ((int64_t *)x.data)[i] = v;
        }
        ox_node *n = tn_node("TopK", opset >= 10 ? 2 : 1, 2);
        tn_int(n, "axis", axis);
        if (opset >= 11) tn_int(n, "largest", largest);
        if (opset < 10) tn_int(n, "k", k);
        ox_tensor kt = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, &k);
        REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x, &kt}, opset >= 10 ? 2 : 1, out, 2));
        CHECK(out[0].dtype == dt && out[1].dtype == ONYX_DTYPE_INT64 && out[0].dims[a] == k);
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        /* reference: repeated selection of the best unused element; ties -> lower index */
        uint8_t used[8];
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                memset(used, 0, sizeof used);
                for (size_t j = 0; j < (size_t)k; j++) {
                    size_t best = n_ax;
                    double bv = 0;
                    for (size_t q = 0; q < n_ax; q++) {
                        double v = ox_tensor_get_double(&x, (o * n_ax + q) * inner + i);
                        if (used[q]) continue;
                        if (best == n_ax || (largest ? v > bv : v < bv)) best = q, bv = v;
                    }
                    used[best] = 1;
                    size_t e = (o * (size_t)k + j) * inner + i;
                    CHECK(((int64_t *)out[1].data)[e] == (int64_t)best);
                    CHECK(ox_tensor_get_double(&out[0], e) == bv);
                }
            }
        ox_tensor_free_data(&out[0]);
        ox_tensor_free_data(&out[1]);
        ox_tensor_free_data(&kt);
        ox_tensor_free_data(&x);
    }
    /* k beyond the axis, and k unknown while planning */
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL), out[2];
    int64_t k = 4;
    ox_tensor kt = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, &k);
    ox_node *n = tn_node("TopK", 2, 2);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&x, &kt}, 2, out, 2) == ONYX_ERR_INVALID_MODEL);
    ox_tensor unknown = kt;
    unknown.data = NULL;
    CHECK(infer_node(n, 11, (ox_tensor *[]){&x, &unknown}, 2, out, 2) == OX_NEED_VALUE);
    ox_tensor_free_data(&kt);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- CumSum ----------------------------------------------------------------------------- */

TEST(reduce_cumsum_random) {
    for (int t = 0; t < 200; t++) {
        int excl = rnd(2), rev = rnd(2);
        int32_t rank;
        int64_t dims[OX_MAX_RANK];
        rand_shape(&rank, dims, 4, 1);
        if (rank == 0) rank = 1, dims[0] = 4;
        int64_t axis = rnd(rank) - (rnd(2) ? rank : 0);
        int32_t a = (int32_t)(axis < 0 ? axis + rank : axis);
        int32_t dt = t % 3 == 0 ? ONYX_DTYPE_INT32 : t % 3 == 1 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_DOUBLE;
        ox_tensor x = tt_make(dt, rank, dims, NULL), out;
        size_t cnt = ox_tensor_count(&x);
        for (size_t i = 0; i < cnt; i++) {
            double v = rnd(21) - 10 + (dt == ONYX_DTYPE_INT32 ? 0 : 0.25 * rnd(4));
            if (dt == ONYX_DTYPE_INT32) ((int32_t *)x.data)[i] = (int32_t)v;
            else if (dt == ONYX_DTYPE_FLOAT) ((float *)x.data)[i] = (float)v;
            else ((double *)x.data)[i] = v;
        }
        ox_node *n = tn_node("CumSum", 2, 1);
        if (excl) tn_int(n, "exclusive", 1);
        if (rev) tn_int(n, "reverse", 1);
        int32_t ax32 = (int32_t)axis;
        ox_tensor at = t % 2 ? tt_make(ONYX_DTYPE_INT64, 0, NULL, &axis)
                             : tt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){1}, &ax32);
        REQUIRE_OK(ox_op_run_single(n, 14, (ox_tensor *[]){&x, &at}, 2, &out, 1));
        CHECK(out.dtype == dt && out.rank == rank);
        size_t outer = 1, n_ax = (size_t)dims[a], inner = 1;
        for (int32_t d = 0; d < rank; d++) {
            if (d < a) outer *= (size_t)dims[d];
            if (d > a) inner *= (size_t)dims[d];
        }
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++)
                for (size_t j = 0; j < n_ax; j++) {
                    double s = 0;
                    for (size_t q = 0; q < n_ax; q++) {
                        int in = rev ? (excl ? q > j : q >= j) : (excl ? q < j : q <= j);
                        if (in) s += ox_tensor_get_double(&x, (o * n_ax + q) * inner + i);
                    }
                    CHECK(ox_tensor_get_double(&out, (o * n_ax + j) * inner + i) == s);
                }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&at);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

/* The float32 exp: relative accuracy across the whole range, exact zeros for -inf (masks),
 * NaN kept, in both the contiguous and the strided layout. */
TEST(reduce_softmax_exp_range) {
    enum { N = 203 };
    for (int strided = 0; strided < 2; strided++) {
        float v[2 * N];
        for (int j = 0; j < N; j++) {
            float val = j == 5 ? -INFINITY : -0.45f * (float)j; /* 0 down to -90.9 */
            if (strided) v[2 * j] = v[2 * j + 1] = val;
            else v[j] = v[N + j] = val;
        }
        if (strided) v[2 * 7 + 1] = NAN; /* poisons column 1 only */
        else v[N + 7] = NAN;             /* poisons row 1 only */
        double s = 0;
        for (int j = 0; j < N; j++) s += j == 5 ? 0 : exp((double)(-0.45f * (float)j));
        ox_tensor x = strided ? tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){N, 2}, v)
                              : tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, N}, v), out;
        ox_node *n = tn_node("Softmax", 1, 1);
        tn_int(n, "axis", strided ? 0 : 1);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &out, 1));
        const float *y = out.data;
        for (int j = 0; j < N; j++) {
            double e = j == 5 ? 0 : exp((double)(-0.45f * (float)j)) / s;
            double got = strided ? y[2 * j] : y[j];
            double bad = strided ? y[2 * j + 1] : y[N + j];
            CHECK(isnan(bad));
            if (e < 1.5e-38) CHECK(got >= 0 && got < 3e-38);
            else if (fabs(got - e) > 1e-6 * e) {
                fprintf(stderr, "  softmax exp [%d] = %.9g, expected %.9g\n", j, got, e);
                ox_test_failures++;
            }
        }
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
    }
    tn_reset();
}
