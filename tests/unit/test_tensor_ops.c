/* Tensor-manipulation ops against naive references: every expected value is
 * computed here with plain index arithmetic, element by element. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "nodes.h"
#include "tensor_helpers.h"
#include "test.h"
#include "util/alloc.h"

/* ---- Identity, Reshape, Flatten, Squeeze, Unsqueeze ------------------------------------ */

TEST(tensor_identity_all_types) {
    for (size_t t = 0; t < TX_N_TYPES; t++) {
        for (int32_t rank = 0; rank <= 3; rank++) {
            int64_t dims[3];
            tx_rnd_shape(rank, dims, 4);
            if (rank == 3) dims[1] = 0; /* empty */
            ox_tensor x = tx_rand_tensor(tx_types[t], rank, dims), y;
            ox_node *n = tn_node("Identity", 1, 1);
            REQUIRE_OK(ox_op_run_single(n, 16, (ox_tensor *[]){&x}, 1, &y, 1));
            CHECK(y.dtype == x.dtype && tx_same_dims(&y, rank, dims));
            for (size_t i = 0; i < ox_tensor_count(&x); i++) CHECK(tx_elem_eq(&y, i, &x, i));
            ox_tensor_free_data(&x);
            ox_tensor_free_data(&y);
        }
    }
    tn_reset();
}

/* Reshape keeps elements in order; check dims against a direct reading of the rules. */
TEST(tensor_reshape) {
    struct {
        int32_t rin;
        int64_t in[4];
        size_t nreq;
        int64_t req[4];
        int allowzero;
        int32_t rout;
        int64_t out[4];
    } cases[] = {
        {2, {2, 6}, 3, {3, 2, 2}, 0, 3, {3, 2, 2}},     {3, {2, 3, 4}, 2, {0, -1}, 0, 2, {2, 12}},
        {3, {2, 3, 4}, 3, {-1, 0, 2}, 0, 3, {4, 3, 2}}, {1, {1}, 0, {0}, 0, 0, {0}},
        {0, {0}, 3, {1, 1, 1}, 0, 3, {1, 1, 1}},        {2, {0, 4}, 2, {0, 4}, 1, 2, {0, 4}},
        {2, {0, 4}, 3, {2, 0, -1}, 0, 3, {2, 4, 0}},    {2, {3, 4}, 2, {-1, 3}, 0, 2, {4, 3}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ox_tensor x = tx_rand_tensor(ONYX_DTYPE_FLOAT, cases[k].rin, cases[k].in);
        ox_tensor s = tx_i64(cases[k].nreq, cases[k].req), y;
        ox_node *n = tn_node("Reshape", 2, 1);
        if (cases[k].allowzero) tn_int(n, "allowzero", 1);
        REQUIRE_OK(ox_op_run_single(n, 14, (ox_tensor *[]){&x, &s}, 2, &y, 1));
        CHECK(tx_same_dims(&y, cases[k].rout, cases[k].out));
        for (size_t i = 0; i < ox_tensor_count(&x); i++) CHECK(tx_elem_eq(&y, i, &x, i));
        tx_free_all((ox_tensor[]){x, s, y}, 3);
    }
    /* opset 1: shape is an attribute */
    int64_t d[2] = {4, 6};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 2, d), y;
    ox_node *n = tn_node("Reshape", 1, 1);
    tn_ints(n, "shape", 3, (int64_t[]){2, -1, 3});
    REQUIRE_OK(ox_op_run_single(n, 1, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 3, (int64_t[]){2, 4, 3}));
    for (size_t i = 0; i < 24; i++) CHECK(tx_elem_eq(&y, i, &x, i));
    ox_tensor_free_data(&y);
    /* errors */
    int64_t bad[][3] = {{-1, -1, 2}, {5, 5, 1}, {0, 0, 0}, {-2, 12, 1}, {7, -1, 1}};
    for (size_t k = 0; k < 5; k++) {
        ox_tensor s = tx_i64(3, bad[k]);
        n = tn_node("Reshape", 2, 1);
        CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s}, 2, &y, 1) != ONYX_OK);
        ox_tensor_free_data(&s);
    }
    /* 0 with allowzero together with -1 is invalid */
    ox_tensor s = tx_i64(3, (int64_t[]){0, -1, 4});
    n = tn_node("Reshape", 2, 1);
    tn_int(n, "allowzero", 1);
    CHECK(ox_op_run_single(n, 14, (ox_tensor *[]){&x, &s}, 2, &y, 1) != ONYX_OK);
    /* the shape value is needed while planning */
    void *keep = s.data;
    s.data = NULL;
    n = tn_node("Reshape", 2, 1);
    CHECK(tx_infer_only(n, 14, (ox_tensor *[]){&x, &s}, 2, &y, 1) == OX_NEED_VALUE);
    s.data = keep;
    tx_free_all((ox_tensor[]){x, s}, 2);
    tn_reset();
}

TEST(tensor_flatten) {
    int64_t dims[4] = {2, 3, 4, 5};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_INT16, 4, dims), y;
    for (int64_t axis = -4; axis <= 4; axis++) {
        ox_node *n = tn_node("Flatten", 1, 1);
        tn_int(n, "axis", axis);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
        int64_t a = axis < 0 ? axis + 4 : axis, outer = 1;
        for (int64_t i = 0; i < a; i++) outer *= dims[i];
        CHECK(tx_same_dims(&y, 2, (int64_t[]){outer, 120 / outer}));
        for (size_t i = 0; i < 120; i++) CHECK(tx_elem_eq(&y, i, &x, i));
        ox_tensor_free_data(&y);
    }
    ox_node *n = tn_node("Flatten", 1, 1);
    tn_int(n, "axis", 5);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    n = tn_node("Flatten", 1, 1);
    tn_int(n, "axis", -1);
    CHECK(ox_op_run_single(n, 9, (ox_tensor *[]){&x}, 1, &y, 1) !=
          ONYX_OK); /* negative before 11 */
    ox_tensor_free_data(&x);
    /* rank 0 */
    x = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, (float[]){2.5f});
    n = tn_node("Flatten", 1, 1);
    tn_int(n, "axis", 0);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){1, 1}) && ((float *)y.data)[0] == 2.5f);
    tx_free_all((ox_tensor[]){x, y}, 2);
    tn_reset();
}

TEST(tensor_squeeze_unsqueeze) {
    int64_t dims[5] = {1, 3, 1, 2, 1};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_DOUBLE, 5, dims), y;
    /* all unit dims, attribute and input forms */
    for (int opset = 11; opset <= 13; opset += 2) {
        ox_node *n = tn_node("Squeeze", 1, 1);
        REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(tx_same_dims(&y, 2, (int64_t[]){3, 2}));
        for (size_t i = 0; i < 6; i++) CHECK(tx_elem_eq(&y, i, &x, i));
        ox_tensor_free_data(&y);
    }
    ox_node *n = tn_node("Squeeze", 1, 1);
    tn_ints(n, "axes", 2, (int64_t[]){-1, 0});
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 3, (int64_t[]){3, 1, 2}));
    ox_tensor_free_data(&y);
    ox_tensor ax = tx_i64(1, (int64_t[]){2});
    n = tn_node("Squeeze", 2, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ax}, 2, &y, 1));
    CHECK(tx_same_dims(&y, 4, (int64_t[]){1, 3, 2, 1}));
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&ax);
    ax = tx_i64(1, (int64_t[]){1}); /* size 3: error */
    n = tn_node("Squeeze", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ax}, 2, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&ax);

    /* Unsqueeze: compare with inserting ones at sorted output positions */
    int64_t axes[3] = {-1, 0, 3};
    int32_t r = 8;
    int64_t want[8];
    int ins[8] = {0};
    for (int i = 0; i < 3; i++) ins[axes[i] < 0 ? axes[i] + r : axes[i]] = 1;
    for (int32_t i = 0, k = 0; i < r; i++) want[i] = ins[i] ? 1 : dims[k++];
    for (int opset = 11; opset <= 13; opset += 2) {
        ax = tx_i64(3, axes);
        n = tn_node("Unsqueeze", opset >= 13 ? 2 : 1, 1);
        if (opset < 13) tn_ints(n, "axes", 3, axes);
        REQUIRE_OK(
            ox_op_run_single(n, opset, (ox_tensor *[]){&x, &ax}, opset >= 13 ? 2 : 1, &y, 1));
        CHECK(tx_same_dims(&y, r, want));
        for (size_t i = 0; i < 6; i++) CHECK(tx_elem_eq(&y, i, &x, i));
        tx_free_all((ox_tensor[]){y, ax}, 2);
    }
    ax = tx_i64(2, (int64_t[]){1, -6}); /* duplicate after normalising */
    n = tn_node("Unsqueeze", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ax}, 2, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&ax);
    ax = tx_i64(1, (int64_t[]){8});
    n = tn_node("Unsqueeze", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ax}, 2, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&ax);
    ox_tensor_free_data(&x);
    /* scalar -> [1] */
    x = tt_make(ONYX_DTYPE_INT32, 0, NULL, (int32_t[]){7});
    ax = tx_i64(1, (int64_t[]){0});
    n = tn_node("Unsqueeze", 2, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ax}, 2, &y, 1));
    CHECK(tx_same_dims(&y, 1, (int64_t[]){1}) && ((int32_t *)y.data)[0] == 7);
    tx_free_all((ox_tensor[]){x, ax, y}, 3);
    tn_reset();
}

TEST(tensor_shape_size) {
    int64_t dims[4] = {2, 0, 5, 7};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 4, dims, NULL), y;
    for (int64_t s = -6; s <= 6; s++) {
        for (int64_t e = -6; e <= 6; e++) {
            ox_node *n = tn_node("Shape", 1, 1);
            tn_int(n, "start", s);
            tn_int(n, "end", e);
            REQUIRE_OK(ox_op_run_single(n, 15, (ox_tensor *[]){&x}, 1, &y, 1));
            /* reference: python-style clamping of the axis range */
            int64_t lo = s < 0 ? s + 4 : s, hi = e < 0 ? e + 4 : e;
            lo = lo < 0 ? 0 : lo > 4 ? 4 : lo;
            hi = hi < 0 ? 0 : hi > 4 ? 4 : hi;
            int64_t len = hi > lo ? hi - lo : 0;
            CHECK(y.dtype == ONYX_DTYPE_INT64 && tx_same_dims(&y, 1, &len));
            for (int64_t i = 0; i < len; i++) CHECK(((int64_t *)y.data)[i] == dims[lo + i]);
            ox_tensor_free_data(&y);
        }
    }
    ox_node *n = tn_node("Shape", 1, 1);
    tn_int(n, "start", 1); /* ignored before opset 15 */
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.dims[0] == 4 && ((int64_t *)y.data)[3] == 7);
    ox_tensor_free_data(&y);
    n = tn_node("Size", 1, 1);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.rank == 0 && ((int64_t *)y.data)[0] == 0);
    tx_free_all((ox_tensor[]){x, y}, 2);
    x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 5}, NULL);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(((int64_t *)y.data)[0] == 15);
    tx_free_all((ox_tensor[]){x, y}, 2);
    const ox_op_def *d = ox_op_find("", "Shape", 21);
    CHECK(d && (d->flags & OX_OP_SHAPE_ONLY));
    tn_reset();
}

/* ---- Transpose ------------------------------------------------------------------------ */

static void check_transpose(int32_t dtype, int32_t rank, const int64_t *dims, const int64_t *perm) {
    ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
    ox_node *n = tn_node("Transpose", 1, 1);
    if (perm) tn_ints(n, "perm", (size_t)rank, perm);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    int64_t p[OX_MAX_RANK], od[OX_MAX_RANK], oi[OX_MAX_RANK], ii[OX_MAX_RANK];
    for (int32_t i = 0; i < rank; i++) p[i] = perm ? perm[i] : rank - 1 - i;
    for (int32_t i = 0; i < rank; i++) od[i] = dims[p[i]];
    CHECK(tx_same_dims(&y, rank, od));
    int bad = 0;
    for (size_t k = 0; k < ox_tensor_count(&y); k++) {
        tx_unravel(k, rank, od, oi);
        for (int32_t i = 0; i < rank; i++) ii[p[i]] = oi[i];
        bad += !tx_elem_eq(&y, k, &x, tx_ravel(rank, dims, ii));
    }
    CHECK(bad == 0);
    tx_free_all((ox_tensor[]){x, y}, 2);
}

TEST(tensor_transpose_random) {
    for (int iter = 0; iter < 60; iter++) {
        int32_t rank = tx_rnd(6);
        int64_t dims[6], perm[6];
        tx_rnd_shape(rank, dims, 5);
        for (int32_t i = 0; i < rank; i++) perm[i] = i;
        for (int32_t i = rank - 1; i > 0; i--) { /* Fisher-Yates */
            int j = tx_rnd(i + 1);
            int64_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        check_transpose(tx_types[(size_t)iter % TX_N_TYPES], rank, dims, iter % 5 ? perm : NULL);
    }
    /* tiled paths: 2-D and batched last-two swap, odd sizes */
    for (size_t t = 0; t < TX_N_TYPES; t++) {
        check_transpose(tx_types[t], 2, (int64_t[]){67, 45}, NULL);
        check_transpose(tx_types[t], 3, (int64_t[]){3, 33, 70}, (int64_t[]){0, 2, 1});
        check_transpose(tx_types[t], 4, (int64_t[]){2, 5, 6, 7}, (int64_t[]){0, 2, 3, 1});
    }
    check_transpose(ONYX_DTYPE_FLOAT, 3, (int64_t[]){4, 0, 3}, (int64_t[]){2, 0, 1});
    int64_t dims[2] = {2, 3};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_FLOAT, 2, dims), y;
    ox_node *n = tn_node("Transpose", 1, 1);
    tn_ints(n, "perm", 2, (int64_t[]){0, 0});
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    n = tn_node("Transpose", 1, 1);
    tn_ints(n, "perm", 3, (int64_t[]){0, 1, 2});
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- Concat, Split --------------------------------------------------------------------- */

TEST(tensor_concat_random) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t rank = 1 + tx_rnd(4), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[4];
        tx_rnd_shape(rank, dims, 4);
        int32_t axis = tx_rnd(rank);
        size_t k = 1 + (size_t)tx_rnd(4);
        ox_tensor xs[4], *ins[4], y;
        int64_t off[5] = {0};
        for (size_t i = 0; i < k; i++) {
            int64_t d[4];
            memcpy(d, dims, sizeof d);
            d[axis] = tx_rnd(4); /* may be 0 */
            xs[i] = tx_rand_tensor(dtype, rank, d);
            ins[i] = &xs[i];
            off[i + 1] = off[i] + d[axis];
        }
        ox_node *n = tn_node("Concat", k, 1);
        tn_int(n, "axis", iter % 2 ? axis - rank : axis);
        REQUIRE_OK(ox_op_run_single(n, 13, ins, k, &y, 1));
        int64_t od[4];
        memcpy(od, dims, sizeof od);
        od[axis] = off[k];
        CHECK(tx_same_dims(&y, rank, od));
        int bad = 0;
        int64_t oi[4];
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, rank, od, oi);
            size_t src = 0;
            while (oi[axis] >= off[src + 1]) src++;
            oi[axis] -= off[src];
            bad += !tx_elem_eq(&y, e, &xs[src], tx_ravel(rank, xs[src].dims, oi));
        }
        CHECK(bad == 0);
        tx_free_all(xs, k);
        ox_tensor_free_data(&y);
    }
    /* mismatched dims, missing axis (opset 4+), rank 0 */
    ox_tensor a = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL);
    ox_tensor b = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 3}, NULL), y;
    ox_node *n = tn_node("Concat", 2, 1);
    tn_int(n, "axis", 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b}, 2, &y, 1) != ONYX_OK);
    n = tn_node("Concat", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&a, &b}, 2, &y, 1) != ONYX_OK);
    REQUIRE_OK(ox_op_run_single(n, 1, (ox_tensor *[]){&a, &a}, 2, &y, 1)); /* default axis 1 */
    CHECK(tx_same_dims(&y, 2, (int64_t[]){2, 6}));
    tx_free_all((ox_tensor[]){a, b, y}, 3);
    tn_reset();
}

static void check_split(const ox_tensor *x, int32_t axis, const ox_tensor *ys, size_t k,
                        const int64_t *sizes) {
    int64_t off = 0, idx[OX_MAX_RANK];
    for (size_t i = 0; i < k; i++) {
        int64_t d[OX_MAX_RANK];
        memcpy(d, x->dims, sizeof d);
        d[axis] = sizes[i];
        CHECK(tx_same_dims(&ys[i], x->rank, d));
        int bad = 0;
        for (size_t e = 0; e < ox_tensor_count(&ys[i]); e++) {
            tx_unravel(e, x->rank, d, idx);
            idx[axis] += off;
            bad += !tx_elem_eq(&ys[i], e, x, tx_ravel(x->rank, x->dims, idx));
        }
        CHECK(bad == 0);
        off += sizes[i];
    }
}

TEST(tensor_split) {
    int64_t dims[3] = {3, 7, 2};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 3, dims), ys[4];
    int64_t sizes[3] = {2, 0, 5};
    /* opset 11: attribute; opset 13/18: input */
    ox_node *n = tn_node("Split", 1, 3);
    tn_int(n, "axis", 1);
    tn_ints(n, "split", 3, sizes);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x}, 1, ys, 3));
    check_split(&x, 1, ys, 3, sizes);
    tx_free_all(ys, 3);
    ox_tensor s = tx_i64(3, sizes);
    for (int opset = 13; opset <= 18; opset += 5) {
        n = tn_node("Split", 2, 3);
        tn_int(n, "axis", -2);
        REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x, &s}, 2, ys, 3));
        check_split(&x, 1, ys, 3, sizes);
        tx_free_all(ys, 3);
    }
    ox_tensor_free_data(&s);
    /* num_outputs (opset 18): 7 into 4 -> 2,2,2,1 */
    n = tn_node("Split", 1, 4);
    tn_int(n, "axis", 1);
    tn_int(n, "num_outputs", 4);
    REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x}, 1, ys, 4));
    check_split(&x, 1, ys, 4, (int64_t[]){2, 2, 2, 1});
    tx_free_all(ys, 4);
    /* equal split along axis 0 */
    n = tn_node("Split", 1, 3);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, ys, 3));
    check_split(&x, 0, ys, 3, (int64_t[]){1, 1, 1});
    tx_free_all(ys, 3);
    /* errors: wrong sum, wrong count, negative, num_outputs mismatch */
    int64_t bad[][3] = {{2, 2, 2}, {8, -1, 0}};
    for (int k = 0; k < 2; k++) {
        s = tx_i64(3, bad[k]);
        n = tn_node("Split", 2, 3);
        tn_int(n, "axis", 1);
        CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s}, 2, ys, 3) != ONYX_OK);
        ox_tensor_free_data(&s);
    }
    s = tx_i64(2, (int64_t[]){3, 4});
    n = tn_node("Split", 2, 3);
    tn_int(n, "axis", 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s}, 2, ys, 3) != ONYX_OK);
    ox_tensor_free_data(&s);
    n = tn_node("Split", 1, 3);
    tn_int(n, "num_outputs", 2);
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x}, 1, ys, 3) != ONYX_OK);
    ox_tensor_free_data(&x);
    /* 2 cannot be split into 4 parts of ceil size */
    x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, NULL);
    n = tn_node("Split", 1, 4);
    tn_int(n, "num_outputs", 4);
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x}, 1, ys, 4) != ONYX_OK);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- Slice ------------------------------------------------------------------------------ */

/* The spec's clamping rules (which differ from Python's for a start below -dim
 * with a negative step), then the indices by stepping. */
static void spec_slice(int64_t dim, int64_t start, int64_t stop, int64_t step, int64_t *idx,
                       int64_t *n) {
    if (start < 0) start += dim;
    if (stop < 0) stop += dim;
    int64_t lo_s = 0, hi_s = step > 0 ? dim : dim - 1, lo_e = step > 0 ? 0 : -1, hi_e = hi_s;
    start = start < lo_s ? lo_s : start > hi_s ? hi_s : start;
    stop = stop < lo_e ? lo_e : stop > hi_e ? hi_e : stop;
    *n = 0;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
        idx[(*n)++] = i;
        if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
        i += step;
    }
}

static int64_t pick(const int64_t *v, int n) { return v[tx_rnd(n)]; }

TEST(tensor_slice_random) {
    static const int64_t ends_pool[] = {INT64_MIN, INT64_MAX, -100, -3, -1, 0, 1, 2, 3, 5, 100};
    static const int64_t steps_pool[] = {1, 1, 2, 3, -1, -2, -3, 100, INT64_MIN, INT64_MAX};
    for (int iter = 0; iter < 300; iter++) {
        int32_t rank = 1 + tx_rnd(4), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[4];
        tx_rnd_shape(rank, dims, 5);
        if (iter % 17 == 0) dims[tx_rnd(rank)] = 0;
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
        size_t k = (size_t)(1 + tx_rnd(rank));
        int64_t starts[4], ends[4], axes[4], steps[4];
        int used[4] = {0};
        for (size_t i = 0; i < k; i++) {
            int a;
            do a = tx_rnd(rank);
            while (used[a]);
            used[a] = 1;
            axes[i] = iter % 3 == 0 ? a - rank : a;
            starts[i] = pick(ends_pool, 11);
            ends[i] = pick(ends_pool, 11);
            steps[i] = pick(steps_pool, 10);
        }
        int use_i32 = iter % 4 == 1;
        if (use_i32) {
            for (size_t i = 0; i < k; i++) { /* keep values int32 */
                int64_t *v[3] = {&starts[i], &ends[i], &steps[i]};
                for (int j = 0; j < 3; j++)
                    *v[j] = *v[j] > INT32_MAX ? INT32_MAX : *v[j] < INT32_MIN ? INT32_MIN : *v[j];
            }
        }
        ox_tensor ts[4] = {use_i32 ? tx_i32(k, starts) : tx_i64(k, starts),
                           use_i32 ? tx_i32(k, ends) : tx_i64(k, ends),
                           use_i32 ? tx_i32(k, axes) : tx_i64(k, axes),
                           use_i32 ? tx_i32(k, steps) : tx_i64(k, steps)};
        ox_node *n = tn_node("Slice", 5, 1);
        REQUIRE_OK(
            ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ts[0], &ts[1], &ts[2], &ts[3]}, 5, &y, 1));
        /* reference: per-axis index lists, then the cartesian product */
        static int64_t lists[4][64];
        int64_t cnt[4];
        for (int32_t d = 0; d < rank; d++) spec_slice(dims[d], 0, dims[d], 1, lists[d], &cnt[d]);
        for (size_t i = 0; i < k; i++) {
            int32_t a = (int32_t)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (dims[a] == 0) continue;
            spec_slice(dims[a], starts[i], ends[i], steps[i], lists[a], &cnt[a]);
        }
        CHECK(tx_same_dims(&y, rank, cnt));
        int bad = 0;
        int64_t oi[4], ii[4];
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, rank, cnt, oi);
            for (int32_t d = 0; d < rank; d++) ii[d] = lists[d][oi[d]];
            bad += !tx_elem_eq(&y, e, &x, tx_ravel(rank, dims, ii));
        }
        CHECK(bad == 0);
        tx_free_all(ts, 4);
        tx_free_all((ox_tensor[]){x, y}, 2);
    }
    tn_reset();
}

TEST(tensor_slice_versions_and_errors) {
    int64_t dims[2] = {4, 6};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_INT32, 2, dims), y;
    /* opset 1: attributes, axes default to 0..len-1 */
    ox_node *n = tn_node("Slice", 1, 1);
    tn_ints(n, "starts", 2, (int64_t[]){1, -4});
    tn_ints(n, "ends", 2, (int64_t[]){1000, -1});
    REQUIRE_OK(ox_op_run_single(n, 1, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){3, 3}));
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 3; j++)
            CHECK(((int32_t *)y.data)[i * 3 + j] == ((int32_t *)x.data)[(i + 1) * 6 + j + 2]);
    ox_tensor_free_data(&y);
    /* opset 10: inputs without axes/steps */
    ox_tensor s = tx_i64(1, (int64_t[]){2}), e = tx_i64(1, (int64_t[]){3});
    n = tn_node("Slice", 3, 1);
    REQUIRE_OK(ox_op_run_single(n, 10, (ox_tensor *[]){&x, &s, &e}, 3, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){1, 6}));
    for (int64_t j = 0; j < 6; j++) CHECK(((int32_t *)y.data)[j] == ((int32_t *)x.data)[12 + j]);
    ox_tensor_free_data(&y);
    /* omitted axes but present steps */
    ox_tensor st = tx_i64(1, (int64_t[]){-1});
    n = tn_node("Slice", 5, 1);
    tn_omit_input(n, 3);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s, &e, NULL, &st}, 5, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){0, 6}));
    ox_tensor_free_data(&y);
    /* errors: zero step, repeated axis, length mismatch */
    ox_tensor z = tx_i64(1, (int64_t[]){0});
    n = tn_node("Slice", 5, 1);
    tn_omit_input(n, 3);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s, &e, NULL, &z}, 5, &y, 1) != ONYX_OK);
    ox_tensor s2 = tx_i64(2, (int64_t[]){0, 0}), e2 = tx_i64(2, (int64_t[]){1, 1});
    ox_tensor a2 = tx_i64(2, (int64_t[]){1, -1});
    n = tn_node("Slice", 4, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s2, &e2, &a2}, 4, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &s, &e2, NULL}, 3, &y, 1) != ONYX_OK);
    /* unknown starts while planning */
    void *keep = s.data;
    s.data = NULL;
    n = tn_node("Slice", 3, 1);
    CHECK(tx_infer_only(n, 13, (ox_tensor *[]){&x, &s, &e}, 3, &y, 1) == OX_NEED_VALUE);
    s.data = keep;
    tx_free_all((ox_tensor[]){x, s, e, st, z, s2, e2, a2}, 8);
    tn_reset();
}

/* ---- Gather ----------------------------------------------------------------------------- */

TEST(tensor_gather_random) {
    for (int iter = 0; iter < 60; iter++) {
        int32_t rank = 1 + tx_rnd(3), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[3], idims[2];
        tx_rnd_shape(rank, dims, 4);
        int32_t axis = tx_rnd(rank), q = tx_rnd(3);
        tx_rnd_shape(q, idims, 3);
        if (iter % 13 == 0 && q) idims[0] = 0;
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
        size_t ni = ox_shape_count(q, idims);
        int64_t iv[9];
        for (size_t i = 0; i < ni; i++) iv[i] = tx_rnd((int)(2 * dims[axis])) - dims[axis];
        ox_tensor ix = tt_make(iter % 2 ? ONYX_DTYPE_INT32 : ONYX_DTYPE_INT64, q, idims, NULL);
        for (size_t i = 0; i < ni; i++) {
            if (iter % 2)
                ((int32_t *)ix.data)[i] = (int32_t)iv[i];
            else
                ((int64_t *)ix.data)[i] = iv[i];
        }
        ox_node *n = tn_node("Gather", 2, 1);
        tn_int(n, "axis", iter % 3 ? axis : axis - rank);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1));
        int64_t od[6], oi[6], ii[3];
        int32_t r = 0;
        for (int32_t d = 0; d < axis; d++) od[r++] = dims[d];
        for (int32_t d = 0; d < q; d++) od[r++] = idims[d];
        for (int32_t d = axis + 1; d < rank; d++) od[r++] = dims[d];
        CHECK(tx_same_dims(&y, r, od));
        int bad = 0;
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, r, od, oi);
            int64_t jj[2] = {0, 0};
            for (int32_t d = 0; d < q; d++) jj[d] = oi[axis + d];
            int64_t k = iv[tx_ravel(q, idims, jj)];
            for (int32_t d = 0; d < rank; d++)
                ii[d] = d < axis ? oi[d] : d == axis ? (k < 0 ? k + dims[axis] : k) : oi[d + q - 1];
            bad += !tx_elem_eq(&y, e, &x, tx_ravel(rank, dims, ii));
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, ix, y}, 3);
    }
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL), y;
    ox_tensor ix = tx_i64(2, (int64_t[]){1, 3});
    ox_node *n = tn_node("Gather", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1) == ONYX_ERR_RUNTIME);
    ((int64_t *)ix.data)[1] = -4;
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1) == ONYX_ERR_RUNTIME);
    tx_free_all((ox_tensor[]){x, ix}, 2);
    tn_reset();
}

/* ---- Constant, ConstantOfShape, Range, Dropout ---------------------------------------------- */

TEST(tensor_constant) {
    ox_tensor y;
    float v[6] = {1, 2, 3, 4, 5, 6};
    ox_node *n = tn_node("Constant", 0, 1);
    tn_tensor(n, "value", ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, v);
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){2, 3}) && memcmp(y.data, v, sizeof v) == 0);
    ox_tensor_free_data(&y);
    n = tn_node("Constant", 0, 1);
    tn_float(n, "value_float", 1.5f);
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(y.rank == 0 && y.dtype == ONYX_DTYPE_FLOAT && ((float *)y.data)[0] == 1.5f);
    ox_tensor_free_data(&y);
    n = tn_node("Constant", 0, 1);
    tn_ints(n, "value_ints", 3, (int64_t[]){-1, 5, 9});
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_INT64 && tx_same_dims(&y, 1, (int64_t[]){3}) &&
          ((int64_t *)y.data)[2] == 9);
    ox_tensor_free_data(&y);
    n = tn_node("Constant", 0, 1);
    tn_int(n, "value_int", -7);
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(y.rank == 0 && ((int64_t *)y.data)[0] == -7);
    ox_tensor_free_data(&y);
    n = tn_node("Constant", 0, 1);
    tn_floats(n, "value_floats", 0, NULL);
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(tx_same_dims(&y, 1, (int64_t[]){0}));
    ox_tensor_free_data(&y);
    n = tn_node("Constant", 0, 1);
    tn_str(n, "value_string", "hello");
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_STRING && ((ox_string *)y.data)->len == 5 &&
          memcmp(((ox_string *)y.data)->data, "hello", 5) == 0);
    ox_tensor_free_data(&y);
    /* a string tensor value is deep-copied */
    ox_string strs[2] = {{"ab", 2}, {"", 0}};
    n = tn_node("Constant", 0, 1);
    tn_tensor(n, "value", ONYX_DTYPE_STRING, 1, (int64_t[]){2}, strs);
    REQUIRE_OK(ox_op_run_single(n, 13, NULL, 0, &y, 1));
    ox_string *ys = y.data;
    CHECK(ys[0].len == 2 && ys[0].data != strs[0].data && memcmp(ys[0].data, "ab", 2) == 0);
    CHECK(ys[1].len == 0);
    ox_tensor_free_data(&y);
    /* none, or two, value attributes */
    n = tn_node("Constant", 0, 1);
    CHECK(ox_op_run_single(n, 13, NULL, 0, &y, 1) != ONYX_OK);
    n = tn_node("Constant", 0, 1);
    tn_int(n, "value_int", 1);
    tn_float(n, "value_float", 1);
    CHECK(ox_op_run_single(n, 13, NULL, 0, &y, 1) != ONYX_OK);
    n = tn_node("Constant", 0, 1);
    tn_int(n, "value_floats", 1); /* wrong attribute type */
    CHECK(ox_op_run_single(n, 13, NULL, 0, &y, 1) != ONYX_OK);
    tn_reset();
}

TEST(tensor_constant_of_shape) {
    ox_tensor shp = tx_i64(3, (int64_t[]){2, 1, 3}), y;
    ox_node *n = tn_node("ConstantOfShape", 1, 1);
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_FLOAT && tx_same_dims(&y, 3, (int64_t[]){2, 1, 3}));
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == 0.0f);
    ox_tensor_free_data(&y);
    int32_t seven = 7;
    n = tn_node("ConstantOfShape", 1, 1);
    tn_tensor(n, "value", ONYX_DTYPE_INT32, 1, (int64_t[]){1}, &seven);
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1));
    CHECK(y.dtype == ONYX_DTYPE_INT32);
    for (int i = 0; i < 6; i++) CHECK(((int32_t *)y.data)[i] == 7);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&shp);
    shp = tx_i64(0, NULL); /* scalar */
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1));
    CHECK(y.rank == 0 && ((int32_t *)y.data)[0] == 7);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&shp);
    shp = tx_i64(2, (int64_t[]){4, 0}); /* empty */
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){4, 0}));
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&shp);
    shp = tx_i64(2, (int64_t[]){4, -1});
    CHECK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&shp);
    shp = tx_i64(3, (int64_t[]){INT64_MAX, 4, 4});
    CHECK(ox_op_run_single(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1) == ONYX_ERR_LIMIT);
    void *keep = shp.data;
    shp.data = NULL;
    CHECK(tx_infer_only(n, 9, (ox_tensor *[]){&shp}, 1, &y, 1) == OX_NEED_VALUE);
    shp.data = keep;
    ox_tensor_free_data(&shp);
    tn_reset();
}

static void range_case(int32_t dtype, double s, double l, double d) {
    ox_tensor in[3];
    for (int i = 0; i < 3; i++) {
        double v = i == 0 ? s : i == 1 ? l : d;
        in[i] = tt_make(dtype, 0, NULL, NULL);
        if (dtype == ONYX_DTYPE_FLOAT) *(float *)in[i].data = (float)v;
        if (dtype == ONYX_DTYPE_DOUBLE) *(double *)in[i].data = v;
        if (dtype == ONYX_DTYPE_INT16) *(int16_t *)in[i].data = (int16_t)v;
        if (dtype == ONYX_DTYPE_INT32) *(int32_t *)in[i].data = (int32_t)v;
        if (dtype == ONYX_DTYPE_INT64) *(int64_t *)in[i].data = (int64_t)v;
    }
    ox_tensor y;
    ox_node *n = tn_node("Range", 3, 1);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&in[0], &in[1], &in[2]}, 3, &y, 1));
    /* reference: count by stepping */
    double fs = ox_tensor_get_double(&in[0], 0), fl = ox_tensor_get_double(&in[1], 0),
           fd = ox_tensor_get_double(&in[2], 0);
    int64_t cnt = 0;
    for (double v = fs; fd > 0 ? v < fl : v > fl; v = fs + (double)(++cnt) * fd) {
    }
    CHECK(y.dtype == dtype && y.rank == 1 && y.dims[0] == cnt);
    for (int64_t i = 0; i < cnt; i++)
        CHECK_NEAR(ox_tensor_get_double(&y, (size_t)i), fs + (double)i * fd, 1e-5);
    tx_free_all(in, 3);
    ox_tensor_free_data(&y);
}

TEST(tensor_range) {
    range_case(ONYX_DTYPE_INT32, 3, 9, 3);
    range_case(ONYX_DTYPE_INT32, 10, 4, -2);
    range_case(ONYX_DTYPE_INT64, -5, 17, 4);
    range_case(ONYX_DTYPE_INT16, 0, 0, 1);
    range_case(ONYX_DTYPE_INT16, 5, 0, 1);
    range_case(ONYX_DTYPE_FLOAT, 1, 2.05, 0.1);
    range_case(ONYX_DTYPE_DOUBLE, 0.5, -3.25, -0.75);
    /* int64 extremes: counted exactly */
    ox_tensor a = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){INT64_MIN});
    ox_tensor b = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){INT64_MAX});
    ox_tensor d = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){INT64_MAX}), y;
    ox_node *n = tn_node("Range", 3, 1);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&a, &b, &d}, 3, &y, 1));
    CHECK(y.dims[0] == 3 && ((int64_t *)y.data)[0] == INT64_MIN && ((int64_t *)y.data)[1] == -1 &&
          ((int64_t *)y.data)[2] == INT64_MAX - 1);
    ox_tensor_free_data(&y);
    *(int64_t *)d.data = 1; /* 2^64 elements */
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&a, &b, &d}, 3, &y, 1) == ONYX_ERR_LIMIT);
    *(int64_t *)d.data = 0;
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&a, &b, &d}, 3, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){a, b, d}, 3);
    /* float16 via stash type */
    a = tt_make(ONYX_DTYPE_FLOAT16, 0, NULL, (uint16_t[]){0x3c00}); /* 1 */
    b = tt_make(ONYX_DTYPE_FLOAT16, 0, NULL, (uint16_t[]){0x4500}); /* 5 */
    d = tt_make(ONYX_DTYPE_FLOAT16, 0, NULL, (uint16_t[]){0x3e00}); /* 1.5 */
    REQUIRE_OK(ox_op_run_single(n, 27, (ox_tensor *[]){&a, &b, &d}, 3, &y, 1));
    CHECK(y.dims[0] == 3 && ((uint16_t *)y.data)[1] == 0x4100 && ((uint16_t *)y.data)[2] == 0x4400);
    tx_free_all((ox_tensor[]){a, b, d, y}, 4);
    tn_reset();
}

TEST(tensor_dropout) {
    int64_t dims[2] = {3, 5};
    ox_tensor x = tt_rand(2, dims, -1, 1), ys[2];
    /* inference (no training_mode): identity and all-true mask */
    for (int opset = 7; opset <= 13; opset += 3) {
        ox_node *n = tn_node("Dropout", 1, 2);
        REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x}, 1, ys, 2));
        CHECK(memcmp(ys[0].data, x.data, 15 * sizeof(float)) == 0);
        CHECK(ys[1].dtype == (opset >= 10 ? ONYX_DTYPE_BOOL : ONYX_DTYPE_FLOAT));
        for (size_t i = 0; i < 15; i++) CHECK(ox_tensor_get_double(&ys[1], i) == 1.0);
        tx_free_all(ys, 2);
    }
    /* training mode with ratio 0.5: kept elements doubled, dropped ones zero */
    ox_tensor r = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, (float[]){0.5f});
    ox_tensor t = tt_make(ONYX_DTYPE_BOOL, 0, NULL, (uint8_t[]){1});
    ox_node *n = tn_node("Dropout", 3, 2);
    tn_int(n, "seed", 3);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &r, &t}, 3, ys, 2));
    int kept = 0;
    for (size_t i = 0; i < 15; i++) {
        uint8_t m = ((uint8_t *)ys[1].data)[i];
        kept += m;
        CHECK_NEAR(((float *)ys[0].data)[i], m ? 2 * ((float *)x.data)[i] : 0.0, 1e-6);
    }
    CHECK(kept > 0 && kept < 15);
    tx_free_all(ys, 2);
    *(float *)r.data = 0; /* ratio 0 keeps everything */
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &r, &t}, 3, ys, 2));
    CHECK(memcmp(ys[0].data, x.data, 15 * sizeof(float)) == 0);
    tx_free_all(ys, 2);
    /* seed 0 draws what NumPy's RandomState(0).uniform() gives: 0.549, 0.715,
     * 0.603, 0.545, 0.424, ... so ratio 0.6 keeps elements 1 and 2 of the first five */
    ox_tensor x5 = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){5}, (float[]){1, 2, 3, 4, 5});
    *(float *)r.data = 0.6f;
    n = tn_node("Dropout", 3, 2);
    tn_int(n, "seed", 0);
    REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x5, &r, &t}, 3, ys, 2));
    for (int i = 0; i < 5; i++) {
        int keep = i == 1 || i == 2;
        CHECK(((uint8_t *)ys[1].data)[i] == keep);
        CHECK_NEAR(((float *)ys[0].data)[i], keep ? (i + 1) / (1 - 0.6f) : 0.0, 1e-5);
    }
    tx_free_all(ys, 2);
    ox_tensor_free_data(&x5);
    *(float *)r.data = 1; /* invalid in training */
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &r, &t}, 3, ys, 2) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, r, t}, 3);
    tn_reset();
}
