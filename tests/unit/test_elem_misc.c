/* Clip, Where, Expand, and elementwise runs on a thread pool. */
#include <float.h>
#include <stdio.h>

#include "elem_testutil.h"
#include "ops/op.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static const int32_t NUMERIC[] = {ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                  ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_INT8, ONYX_DTYPE_INT16,
                                  ONYX_DTYPE_INT32,  ONYX_DTYPE_INT64,  ONYX_DTYPE_UINT8,
                                  ONYX_DTYPE_UINT16, ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64};

TEST(elem_clip) {
    for (size_t t = 0; t < 12; t++) {
        int32_t dt = NUMERIC[t];
        int isi = et_is_int(dt);
        for (int mode = 0; mode < 5; mode++) { /* both, min only, max only, none, min > max */
            ox_tensor x = et_rand(dt, 2, (int64_t[]){3, 5}, isi && !ox_dtype_is_signed_int(dt) ? 0 : -20, 20, isi);
            double lo = mode == 4 ? 12 : 3, hi = mode == 4 ? 4 : 11;
            ox_tensor tlo = et_make(dt, 0, NULL, &lo), thi = et_make(dt, 1, (int64_t[]){1}, &hi);
            ox_node *n = tn_node("Clip", 3, 1);
            if (mode == 2 || mode == 3) tn_omit_input(n, 1);
            if (mode == 1 || mode == 3) tn_omit_input(n, 2);
            ox_tensor *in[3] = {&x, (mode == 2 || mode == 3) ? NULL : &tlo, (mode == 1 || mode == 3) ? NULL : &thi};
            ox_tensor y;
            REQUIRE_OK(ox_op_run_single(n, 13, in, 3, &y, 1));
            CHECK(y.dtype == dt && y.rank == 2 && y.dims[1] == 5);
            for (size_t i = 0; i < 15; i++) {
                double v = et_get(&x, i);
                if (in[1] && v < lo) v = lo;
                if (in[2] && v > hi) v = hi;
                CHECK(et_get(&y, i) == v);
            }
            ox_tensor_free_data(&y);
            ox_tensor_free_data(&x);
            ox_tensor_free_data(&tlo);
            ox_tensor_free_data(&thi);
            tn_reset();
        }
    }
    /* opset 6: float attributes; defaults clip infinities to the float32 range */
    ox_tensor x = et_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){4}, (double[]){-5, 0.5, 5, INFINITY});
    ox_node *n = tn_node("Clip", 1, 1);
    tn_float(n, "min", -1);
    ox_tensor y;
    REQUIRE_OK(ox_op_run_single(n, 6, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(et_get(&y, 0) == -1 && et_get(&y, 1) == 0.5 && et_get(&y, 2) == 5 && et_get(&y, 3) == FLT_MAX);
    ox_tensor_free_data(&y);
    /* NaN passes through */
    et_set(&x, 0, NAN);
    REQUIRE_OK(ox_op_run_single(n, 6, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(isnan(et_get(&y, 0)));
    ox_tensor_free_data(&y);
    /* a non-scalar bound is refused */
    ox_tensor two = tt_rand(1, (int64_t[]){2}, 0, 1);
    CHECK(ox_op_run_single(tn_node("Clip", 2, 1), 13, (ox_tensor *[]){&x, &two}, 2, &y, 1) == ONYX_ERR_INVALID_ARGUMENT);
    ox_tensor_free_data(&two);
    ox_tensor_free_data(&x);
    tn_reset();
}

TEST(elem_where) {
    int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT64, ONYX_DTYPE_UINT8, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BOOL};
    for (int t = 0; t < 5; t++)
        for (int iter = 0; iter < 20; iter++) {
            int32_t ranks[3], r;
            int64_t dims[3][OX_MAX_RANK], d[OX_MAX_RANK];
            et_shapes(3, ranks, dims, &r, d);
            int32_t dt = types[t];
            ox_tensor c = et_rand(ONYX_DTYPE_BOOL, ranks[0], dims[0], 0, 2, 1);
            ox_tensor x = et_rand(dt, ranks[1], dims[1], 0, 100, 1);
            ox_tensor yv = et_rand(dt, ranks[2], dims[2], 0, 100, 1);
            ox_tensor out;
            REQUIRE_OK(ox_op_run_single(tn_node("Where", 3, 1), 16, (ox_tensor *[]){&c, &x, &yv}, 3, &out, 1));
            CHECK(out.dtype == dt && out.rank == r);
            int64_t idx[OX_MAX_RANK] = {0};
            for (size_t e = 0; e < ox_shape_count(r, d); e++, et_next(r, d, idx)) {
                double want = et_get(&c, et_offset(&c, r, idx)) ? et_get(&x, et_offset(&x, r, idx))
                                                                : et_get(&yv, et_offset(&yv, r, idx));
                CHECK(et_get(&out, e) == want);
            }
            ox_tensor_free_data(&out);
            ox_tensor_free_data(&c);
            ox_tensor_free_data(&x);
            ox_tensor_free_data(&yv);
            tn_reset();
        }
    /* strings are copied */
    ox_tensor c = et_make(ONYX_DTYPE_BOOL, 2, (int64_t[]){2, 1}, (double[]){1, 0});
    ox_tensor x = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){2}, NULL);
    ox_tensor yv = tt_make(ONYX_DTYPE_STRING, 0, NULL, NULL);
    const char *xs[] = {"a", "bc"};
    for (int i = 0; i < 2; i++) {
        ox_string *s = (ox_string *)x.data + i;
        s->len = strlen(xs[i]);
        s->data = ox_malloc(s->len + 1);
        memcpy(s->data, xs[i], s->len + 1);
    }
    ((ox_string *)yv.data)->data = ox_malloc(2);
    memcpy(((ox_string *)yv.data)->data, "z", 2);
    ((ox_string *)yv.data)->len = 1;
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Where", 3, 1), 16, (ox_tensor *[]){&c, &x, &yv}, 3, &out, 1));
    REQUIRE(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 2);
    ox_string *o = out.data;
    CHECK(o[0].len == 1 && o[0].data[0] == 'a' && o[1].len == 2 && o[2].data[0] == 'z' && o[3].data[0] == 'z');
    CHECK(o[0].data != ((ox_string *)x.data)[0].data);
    ox_tensor_free_data(&out);
    /* a non-bool condition is refused */
    CHECK(ox_op_run_single(tn_node("Where", 3, 1), 16, (ox_tensor *[]){&x, &x, &yv}, 3, &out, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&c);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&yv);
    tn_reset();
}

TEST(elem_expand) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t ranks[2], r;
        int64_t dims[2][OX_MAX_RANK], d[OX_MAX_RANK];
        et_shapes(2, ranks, dims, &r, d);
        ox_tensor x = et_rand(ONYX_DTYPE_INT32, ranks[0], dims[0], -100, 100, 1);
        ox_tensor shape = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){ranks[1]}, dims[1]);
        ox_tensor out;
        REQUIRE_OK(ox_op_run_single(tn_node("Expand", 2, 1), 13, (ox_tensor *[]){&x, &shape}, 2, &out, 1));
        REQUIRE(out.rank == r);
        int64_t idx[OX_MAX_RANK] = {0};
        for (size_t e = 0; e < ox_shape_count(r, d); e++, et_next(r, d, idx))
            CHECK(et_get(&out, e) == et_get(&x, et_offset(&x, r, idx)));
        ox_tensor_free_data(&out);
        ox_tensor_free_data(&x);
        ox_tensor_free_data(&shape);
        tn_reset();
    }
    /* the shape may be smaller than the input or hold 1s; a zero dim empties it */
    ox_tensor x = tt_rand(2, (int64_t[]){3, 1}, 0, 1);
    ox_tensor s1 = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){4});
    ox_tensor s0 = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){3}, (int64_t[]){2, 1, 0});
    ox_tensor sn = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, (int64_t[]){-1, 2});
    ox_tensor sb = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 5});
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Expand", 2, 1), 13, (ox_tensor *[]){&x, &s1}, 2, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 3 && out.dims[1] == 4);
    ox_tensor_free_data(&out);
    REQUIRE_OK(ox_op_run_single(tn_node("Expand", 2, 1), 13, (ox_tensor *[]){&x, &s0}, 2, &out, 1));
    CHECK(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 3 && out.dims[2] == 0);
    ox_tensor_free_data(&out);
    CHECK(ox_op_run_single(tn_node("Expand", 2, 1), 13, (ox_tensor *[]){&x, &sn}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(ox_op_run_single(tn_node("Expand", 2, 1), 13, (ox_tensor *[]){&x, &sb}, 2, &out, 1) == ONYX_ERR_INVALID_ARGUMENT);
    /* while planning, an unknown shape value asks for the value */
    const ox_op_def *def = ox_op_find("", "Expand", 13);
    REQUIRE(def != NULL);
    ox_tensor noval = s1;
    noval.data = NULL;
    ox_tensor o;
    memset(&o, 0, sizeof o);
    ox_tensor *ins[2] = {&x, &noval}, *outs[1] = {&o};
    ox_op_ctx ctx = {.node = tn_node("Expand", 2, 1), .opset = 13, .n_in = 2, .n_out = 1, .in = ins, .out = outs};
    CHECK(def->infer(&ctx) == OX_NEED_VALUE);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&s1);
    ox_tensor_free_data(&s0);
    ox_tensor_free_data(&sn);
    ox_tensor_free_data(&sb);
    tn_reset();
}

/* ox_op_run_single with a thread pool in the context. */
static onyx_status run_pooled(ox_threadpool *pool, const ox_node *node, int64_t opset, ox_tensor **in,
                              size_t n_in, ox_tensor *out) {
    return ox_op_run_single_on(node, opset, in, n_in, out, 1, pool);
}

TEST(elem_threaded) {
    ox_threadpool *pool = ox_threadpool_create(4);
    ox_tensor a = et_rand(ONYX_DTYPE_FLOAT16, 3, (int64_t[]){7, 300, 77}, -4, 4, 0);
    ox_tensor b = et_rand(ONYX_DTYPE_FLOAT16, 2, (int64_t[]){300, 1}, -4, 4, 0);
    ox_tensor out;
    REQUIRE_OK(run_pooled(pool, tn_node("Mul", 2, 1), 14, (ox_tensor *[]){&a, &b}, 2, &out));
    int64_t idx[OX_MAX_RANK] = {0};
    size_t bad = 0;
    for (size_t e = 0; e < ox_tensor_count(&out); e++, et_next(3, out.dims, idx)) {
        double want = et_get(&a, et_offset(&a, 3, idx)) * et_get(&b, et_offset(&b, 3, idx));
        if (!et_close(et_get(&out, e), want, et_tol(ONYX_DTYPE_FLOAT16))) bad++;
    }
    CHECK(bad == 0);
    ox_tensor_free_data(&out);
    REQUIRE_OK(run_pooled(pool, tn_node("Tanh", 1, 1), 13, (ox_tensor *[]){&a}, 1, &out));
    bad = 0;
    for (size_t e = 0; e < ox_tensor_count(&out); e++)
        if (!et_close(et_get(&out, e), tanh(et_get(&a, e)), et_tol(ONYX_DTYPE_FLOAT16))) bad++;
    CHECK(bad == 0);
    ox_tensor_free_data(&out);
    ox_node *n = tn_node("Cast", 1, 1);
    tn_int(n, "to", ONYX_DTYPE_INT32);
    REQUIRE_OK(run_pooled(pool, n, 13, (ox_tensor *[]){&a}, 1, &out));
    bad = 0;
    for (size_t e = 0; e < ox_tensor_count(&out); e++)
        if (et_get(&out, e) != trunc(et_get(&a, e))) bad++;
    CHECK(bad == 0);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&a);
    ox_tensor_free_data(&b);
    ox_threadpool_free(pool);
    tn_reset();
}

/* Every binary op on rank-0 and empty operands. */
TEST(elem_rank0_and_empty) {
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Greater", "Equal", "PRelu"};
    ox_tensor s = et_make(ONYX_DTYPE_FLOAT, 0, NULL, (double[]){3});
    ox_tensor e = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){0, 4}, NULL);
    ox_tensor e1 = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){1}, NULL);
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
        ox_tensor out;
        REQUIRE_OK(ox_op_run_single(tn_node(ops[k], 2, 1), 16, (ox_tensor *[]){&s, &s}, 2, &out, 1));
        CHECK(out.rank == 0 && ox_tensor_count(&out) == 1);
        ox_tensor_free_data(&out);
        REQUIRE_OK(ox_op_run_single(tn_node(ops[k], 2, 1), 16, (ox_tensor *[]){&e, &e1}, 2, &out, 1));
        CHECK(out.rank == 2 && out.dims[0] == 0 && out.dims[1] == 4);
        ox_tensor_free_data(&out);
    }
    ox_tensor out;
    REQUIRE_OK(ox_op_run_single(tn_node("Add", 2, 1), 14, (ox_tensor *[]){&s, &s}, 2, &out, 1));
    CHECK(et_get(&out, 0) == 6);
    ox_tensor_free_data(&out);
    ox_tensor_free_data(&s);
    ox_tensor_free_data(&e);
    ox_tensor_free_data(&e1);
    tn_reset();
}
