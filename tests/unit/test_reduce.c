/* Reductions (ReduceSum ... ReduceSumSquare) against a naive double reference. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/reduce_rows.h"
#include "test_reduce.h"

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

/* The row kernels under the float reductions, each path (AVX-512 where there is
 * one, then the plain loops) against a long double sum in index order, on lengths
 * around their vector widths; the accumulate form must not touch what follows. */
TEST(reduce_row_kernels_paths) {
    static const unsigned limits[2] = {~0u, 0u};
    static const size_t lens[] = {0, 1, 7, 8, 9, 17, 31, 32, 33, 255, 1000};
    static float x[1000];
    static double acc[1000 + 2], base[1000 + 2];
    for (int i = 0; i < 1000; i++) x[i] = (float)(sin(i * 0.37) * 1e3 + (i % 7) * 1e-3);
    for (int l = 0; l < 2; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
            size_t n = lens[t];
            long double s = 0, q = 0;
            for (size_t i = 0; i < n; i++) {
                s += x[i];
                q += (long double)x[i] * x[i];
            }
            double got = ox_row_sum_f64(x, n), gotq = ox_row_sumsq_f64(x, n);
            CHECK(fabs(got - (double)s) <= 1e-12 * (1.0 + fabsl(s)));
            CHECK(fabs(gotq - (double)q) <= 1e-12 * (1.0 + fabsl(q)));
            for (size_t i = 0; i < n + 2; i++) acc[i] = base[i] = cos((double)i);
            ox_row_acc_f64(acc, x, n);
            for (size_t i = 0; i < n + 2; i++) CHECK(acc[i] == (i < n ? base[i] + x[i] : base[i]));
        }
        ox_cpu_limit(old);
    }
}
