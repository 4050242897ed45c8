/* The rest of the tensor family (threaded Transpose, Pad, CenterCropPad, Tile,
 * DepthToSpace, SpaceToDepth, the gather and scatter ops, OneHot, NonZero,
 * Compress, Unique, EyeLike, Trilu, CumSum, CumProd, ReverseSequence) against naive
 * references written here. */
#include <math.h>
#include <string.h>

#include "nodes.h"
#include "ops/tensor_util.h"
#include "tensor_helpers.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* Store a small integer value into a numeric buffer of any float or int type. */
static void store_num(void *data, size_t i, int32_t dtype, int v) {
    if (!ox_tx_store_float(data, i, dtype, v)) ox_tx_store_int(data, i, dtype, v);
}

/* ---- Pad ------------------------------------------------------------------------------- */

/* Input coordinate for output coordinate o, or -1 for the constant: walks the
 * reflection step by step rather than by a period. */
static int64_t ref_pad_index(const char *mode, int64_t dim, int64_t b, int64_t e, int64_t o) {
    int64_t lo = b < 0 ? -b : 0, hi = dim - (e < 0 ? -e : 0), i = o - b;
    if (i >= lo && i < hi) return i;
    if (!strcmp(mode, "constant")) return -1;
    if (!strcmp(mode, "edge")) return i < lo ? lo : hi - 1;
    if (!strcmp(mode, "wrap")) {
        while (i < lo) i += hi - lo;
        while (i >= hi) i -= hi - lo;
        return i;
    }
    if (hi - lo == 1) return lo;
    while (i < lo || i >= hi) i = i < lo ? 2 * lo - i : 2 * (hi - 1) - i;
    return i;
}

static void check_pad(const char *mode, int32_t dtype, int32_t rank, const int64_t *dims,
                      const int64_t *pads, int opset) {
    ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
    ox_tensor p = tx_i64((size_t)(2 * rank), pads);
    ox_tensor cv = tx_rand_tensor(dtype, 0, NULL);
    ox_node *n = tn_node("Pad", 3, 1);
    tn_str(n, "mode", mode);
    REQUIRE_OK(ox_op_run_single(n, opset, (ox_tensor *[]){&x, &p, &cv}, 3, &y, 1));
    int64_t od[4], oi[4], ii[4];
    for (int32_t d = 0; d < rank; d++) od[d] = dims[d] + pads[d] + pads[d + rank];
    CHECK(tx_same_dims(&y, rank, od));
    int bad = 0;
    for (size_t k = 0; k < ox_tensor_count(&y); k++) {
        tx_unravel(k, rank, od, oi);
        int constant = 0;
        for (int32_t d = 0; d < rank; d++) {
            ii[d] = ref_pad_index(mode, dims[d], pads[d], pads[d + rank], oi[d]);
            constant |= ii[d] < 0;
        }
        bad += constant ? !tx_elem_eq(&y, k, &cv, 0)
                        : !tx_elem_eq(&y, k, &x, tx_ravel(rank, dims, ii));
    }
    CHECK(bad == 0);
    tx_free_all((ox_tensor[]){x, p, cv, y}, 4);
}

TEST(tensor_pad_random) {
    static const char *modes[4] = {"constant", "edge", "reflect", "wrap"};
    for (int iter = 0; iter < 160; iter++) {
        int32_t rank = 1 + tx_rnd(3), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        const char *mode = modes[iter % 4];
        int64_t dims[3], pads[6];
        tx_rnd_shape(rank, dims, 4);
        for (int32_t d = 0; d < rank; d++) {
            do {
                pads[d] = tx_rnd(8) - 2;
                pads[d + rank] = tx_rnd(8) - 2;
            } while (dims[d] + (pads[d] < 0 ? pads[d] : 0) +
                         (pads[d + rank] < 0 ? pads[d + rank] : 0) <
                     1);
        }
        check_pad(mode, dtype, rank, dims, pads, 19);
    }
    /* opset 2 attributes, float value */
    int64_t dims[2] = {2, 3};
    ox_tensor x = tt_rand(2, dims, -1, 1), y;
    ox_node *n = tn_node("Pad", 1, 1);
    tn_ints(n, "pads", 4, (int64_t[]){1, 0, 0, 2});
    tn_float(n, "value", 7.5f);
    REQUIRE_OK(ox_op_run_single(n, 2, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){3, 5}));
    const float *yf = y.data, *xf = x.data;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            CHECK(yf[i * 5 + j] == (i >= 1 && j < 3 ? xf[(i - 1) * 3 + j] : 7.5f));
    ox_tensor_free_data(&y);
    /* opset 18 axes: pad only the last axis; constant_value omitted -> 0 */
    ox_tensor p = tx_i64(2, (int64_t[]){2, 1}), ax = tx_i64(1, (int64_t[]){-1});
    n = tn_node("Pad", 4, 1);
    tn_omit_input(n, 2);
    REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &p, NULL, &ax}, 4, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){2, 6}));
    yf = y.data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 6; j++)
            CHECK(yf[i * 6 + j] == (j >= 2 && j < 5 ? xf[i * 3 + j - 2] : 0.0f));
    ox_tensor_free_data(&y);
    /* errors: wrong pads length, cropping too much, bad mode */
    ox_tensor bad = tx_i64(3, (int64_t[]){1, 1, 1});
    n = tn_node("Pad", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &bad}, 2, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&bad);
    bad = tx_i64(4, (int64_t[]){-2, 0, -1, 0});
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &bad}, 2, &y, 1) != ONYX_OK);
    n = tn_node("Pad", 2, 1);
    tn_str(n, "mode", "mirror");
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &p}, 2, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, p, ax, bad}, 4);
    tn_reset();
}

TEST(tensor_center_crop_pad) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t rank = 1 + tx_rnd(3), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[3], target[3], od[3], oi[3], ii[3];
        tx_rnd_shape(rank, dims, 5);
        for (int32_t d = 0; d < rank; d++) target[d] = tx_rnd(8);
        int use_axes = iter % 2; /* only the last axis, given as -1 */
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
        ox_tensor sh = use_axes ? tx_i32(1, &target[rank - 1]) : tx_i64((size_t)rank, target);
        ox_node *n = tn_node("CenterCropPad", 2, 1);
        if (use_axes) tn_ints(n, "axes", 1, (int64_t[]){-1});
        REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &sh}, 2, &y, 1));
        for (int32_t d = 0; d < rank; d++) od[d] = use_axes && d < rank - 1 ? dims[d] : target[d];
        CHECK(tx_same_dims(&y, rank, od));
        int bad = 0;
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, rank, od, oi);
            int inside = 1;
            for (int32_t d = 0; d < rank; d++) {
                /* crop start (input) and pad start (output), both rounded down */
                int64_t crop = dims[d] > od[d] ? (dims[d] - od[d]) / 2 : 0;
                int64_t pad = od[d] > dims[d] ? (od[d] - dims[d]) / 2 : 0;
                ii[d] = oi[d] - pad + crop;
                inside &=
                    oi[d] >= pad && oi[d] - pad < dims[d] - (dims[d] > od[d] ? dims[d] - od[d] : 0);
            }
            if (inside) {
                bad += !tx_elem_eq(&y, e, &x, tx_ravel(rank, dims, ii));
            } else if (dtype == ONYX_DTYPE_STRING) {
                bad += ((ox_string *)y.data)[e].len != 0;
            } else {
                size_t es = ox_dtype_size(dtype);
                for (size_t b = 0; b < es; b++) bad += ((unsigned char *)y.data)[e * es + b] != 0;
            }
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, sh, y}, 3);
    }
    tn_reset();
}

/* Large transposes split across a thread pool must equal the naive reference. */
TEST(tensor_transpose_threads) {
    ox_threadpool *pool = ox_threadpool_create(4);
    struct {
        int32_t rank;
        int64_t dims[4], perm[4];
    } cases[] = {
        {2, {700, 900}, {1, 0}},        {3, {3, 300, 500}, {0, 2, 1}},
        {3, {40, 60, 130}, {2, 0, 1}},  {4, {2, 64, 48, 50}, {0, 2, 3, 1}},
        {3, {1000, 30, 20}, {1, 0, 2}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int32_t r = cases[k].rank;
        ox_tensor x = tx_rand_tensor(k % 2 ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_INT64, r, cases[k].dims);
        ox_tensor y = {0}, *ins[1] = {&x}, *outs[1] = {&y};
        ox_node *n = tn_node("Transpose", 1, 1);
        tn_ints(n, "perm", (size_t)r, cases[k].perm);
        const ox_op_def *d = ox_op_find("", "Transpose", 13);
        ox_op_ctx c = {
            .node = n, .opset = 13, .n_in = 1, .n_out = 1, .in = ins, .out = outs, .pool = pool};
        REQUIRE_OK(d->infer(&c));
        REQUIRE_OK(ox_tensor_alloc_data(&y));
        REQUIRE_OK(d->run(&c));
        int64_t od[4], oi[4], ii[4];
        for (int32_t i = 0; i < r; i++) od[i] = cases[k].dims[cases[k].perm[i]];
        int bad = 0;
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, r, od, oi);
            for (int32_t i = 0; i < r; i++) ii[cases[k].perm[i]] = oi[i];
            bad += !tx_elem_eq(&y, e, &x, tx_ravel(r, cases[k].dims, ii));
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, y}, 2);
    }
    ox_threadpool_free(pool);
    tn_reset();
}

/* ---- Tile, DepthToSpace, SpaceToDepth ------------------------------------------------------- */

TEST(tensor_tile_random) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t rank = tx_rnd(4), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[3], reps[3], od[3], oi[3], ii[3];
        tx_rnd_shape(rank, dims, 3);
        for (int32_t d = 0; d < rank; d++) reps[d] = tx_rnd(4); /* 0 gives an empty axis */
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), r = tx_i64((size_t)rank, reps), y;
        ox_node *n = tn_node("Tile", 2, 1);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &r}, 2, &y, 1));
        for (int32_t d = 0; d < rank; d++) od[d] = dims[d] * reps[d];
        CHECK(tx_same_dims(&y, rank, od));
        int bad = 0;
        for (size_t k = 0; k < ox_tensor_count(&y); k++) {
            tx_unravel(k, rank, od, oi);
            for (int32_t d = 0; d < rank; d++) ii[d] = oi[d] % dims[d];
            bad += !tx_elem_eq(&y, k, &x, tx_ravel(rank, dims, ii));
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, r, y}, 3);
    }
    tn_reset();
}

TEST(tensor_depth_space) {
    int64_t N = 2, C = 8, H = 3, W = 2, b = 2, Co = C / (b * b);
    int64_t dims[4] = {N, C, H, W};
    for (int crd = 0; crd < 2; crd++) {
        ox_tensor x = tx_rand_tensor(ONYX_DTYPE_FLOAT16, 4, dims), y, z;
        ox_node *n = tn_node("DepthToSpace", 1, 1);
        tn_int(n, "blocksize", b);
        if (crd) tn_str(n, "mode", "CRD");
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1));
        int64_t od[4] = {N, Co, H * b, W * b};
        CHECK(tx_same_dims(&y, 4, od));
        int bad = 0;
        for (int64_t in = 0; in < N; in++)
            for (int64_t c = 0; c < Co; c++)
                for (int64_t h = 0; h < H * b; h++)
                    for (int64_t w = 0; w < W * b; w++) {
                        int64_t i = h % b, j = w % b;
                        int64_t sc = crd ? c * b * b + i * b + j : (i * b + j) * Co + c;
                        int64_t oi[4] = {in, c, h, w}, ii[4] = {in, sc, h / b, w / b};
                        bad += !tx_elem_eq(&y, tx_ravel(4, od, oi), &x, tx_ravel(4, dims, ii));
                    }
        CHECK(bad == 0);
        if (!crd) { /* SpaceToDepth undoes DCR DepthToSpace */
            n = tn_node("SpaceToDepth", 1, 1);
            tn_int(n, "blocksize", b);
            REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&y}, 1, &z, 1));
            CHECK(tx_same_dims(&z, 4, dims));
            for (size_t k = 0; k < ox_tensor_count(&x); k++) bad += !tx_elem_eq(&z, k, &x, k);
            CHECK(bad == 0);
            ox_tensor_free_data(&z);
        }
        tx_free_all((ox_tensor[]){x, y}, 2);
    }
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 6, 2, 2}, NULL), y;
    ox_node *n = tn_node("DepthToSpace", 1, 1);
    tn_int(n, "blocksize", 2); /* 6 channels: not a multiple of 4 */
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    n = tn_node("SpaceToDepth", 1, 1);
    tn_int(n, "blocksize", 3); /* 2x2 spatial: not a multiple of 3 */
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- GatherElements, ScatterElements ----------------------------------------------------------
 */

static ox_tensor rand_indices(int32_t dtype, int32_t rank, const int64_t *dims, int64_t lim) {
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    for (size_t i = 0; i < ox_tensor_count(&t); i++) {
        int64_t v = tx_rnd((int)(2 * lim)) - lim; /* [-lim, lim) */
        if (dtype == ONYX_DTYPE_INT32)
            ((int32_t *)t.data)[i] = (int32_t)v;
        else
            ((int64_t *)t.data)[i] = v;
    }
    return t;
}

TEST(tensor_gather_elements_random) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t rank = 1 + tx_rnd(3), dtype = tx_types[(size_t)iter % TX_N_TYPES];
        int64_t dims[3], id[3], oi[3];
        tx_rnd_shape(rank, dims, 4);
        int32_t axis = tx_rnd(rank);
        for (int32_t d = 0; d < rank; d++)
            id[d] = d == axis ? 1 + tx_rnd(5) : 1 + tx_rnd((int)dims[d]);
        ox_tensor x = tx_rand_tensor(dtype, rank, dims), y;
        ox_tensor ix =
            rand_indices(iter % 2 ? ONYX_DTYPE_INT32 : ONYX_DTYPE_INT64, rank, id, dims[axis]);
        ox_node *n = tn_node("GatherElements", 2, 1);
        tn_int(n, "axis", axis);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1));
        CHECK(tx_same_dims(&y, rank, id));
        int bad = 0;
        for (size_t k = 0; k < ox_tensor_count(&y); k++) {
            tx_unravel(k, rank, id, oi);
            int64_t v = ox_tensor_get_int(&ix, k);
            oi[axis] = v < 0 ? v + dims[axis] : v;
            bad += !tx_elem_eq(&y, k, &x, tx_ravel(rank, dims, oi));
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, ix, y}, 3);
    }
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 2}, NULL), y;
    ox_tensor ix = tt_make(ONYX_DTYPE_INT64, 2, (int64_t[]){1, 1}, (int64_t[]){2});
    ox_node *n = tn_node("GatherElements", 2, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1) == ONYX_ERR_RUNTIME);
    tx_free_all((ox_tensor[]){x, ix}, 2);
    tn_reset();
}

static double ref_reduce(const char *red, double a, double b) {
    if (!strcmp(red, "add")) return a + b;
    if (!strcmp(red, "mul")) return a * b;
    if (!strcmp(red, "max")) return a > b ? a : b;
    if (!strcmp(red, "min")) return a < b ? a : b;
    return b;
}

TEST(tensor_scatter_elements_random) {
    static const char *reds[5] = {"none", "add", "mul", "max", "min"};
    static const int32_t dts[3] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT32, ONYX_DTYPE_DOUBLE};
    for (int iter = 0; iter < 45; iter++) {
        int32_t rank = 1 + tx_rnd(3), dtype = dts[iter % 3];
        const char *red = reds[iter % 5];
        int64_t dims[3], id[3], oi[3];
        tx_rnd_shape(rank, dims, 4);
        int32_t axis = tx_rnd(rank);
        for (int32_t d = 0; d < rank; d++) id[d] = 1 + tx_rnd((int)dims[d] + (d == axis ? 2 : 0));
        ox_tensor x = tt_make(dtype, rank, dims, NULL), u = tt_make(dtype, rank, id, NULL), y;
        for (size_t i = 0; i < ox_tensor_count(&x); i++) store_num(x.data, i, dtype, tx_rnd(9) - 4);
        for (size_t i = 0; i < ox_tensor_count(&u); i++) store_num(u.data, i, dtype, tx_rnd(9) - 4);
        ox_tensor ix = rand_indices(ONYX_DTYPE_INT64, rank, id, dims[axis]);
        ox_node *n = tn_node("ScatterElements", 3, 1);
        tn_int(n, "axis", axis - (iter % 2 ? rank : 0));
        tn_str(n, "reduction", red);
        REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1));
        /* reference: apply the updates in order on a double copy */
        size_t nx = ox_tensor_count(&x);
        double *ref = ox_malloc_array(nx, sizeof *ref);
        for (size_t i = 0; i < nx; i++) ref[i] = ox_tensor_get_double(&x, i);
        for (size_t k = 0; k < ox_tensor_count(&u); k++) {
            tx_unravel(k, rank, id, oi);
            int64_t v = ox_tensor_get_int(&ix, k);
            oi[axis] = v < 0 ? v + dims[axis] : v;
            size_t at = tx_ravel(rank, dims, oi);
            ref[at] = ref_reduce(red, ref[at], ox_tensor_get_double(&u, k));
        }
        CHECK(tx_same_dims(&y, rank, dims));
        for (size_t i = 0; i < nx; i++) CHECK_NEAR(ox_tensor_get_double(&y, i), ref[i], 1e-9);
        ox_free(ref);
        tx_free_all((ox_tensor[]){x, u, ix, y}, 4);
    }
    /* strings, no reduction, through the opset-9 Scatter name */
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 1, (int64_t[]){4}), y;
    ox_tensor u = tx_rand_tensor(ONYX_DTYPE_STRING, 1, (int64_t[]){2});
    ox_tensor ix = tx_i64(2, (int64_t[]){3, -4});
    ox_node *n = tn_node("Scatter", 3, 1);
    REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1));
    CHECK(tx_elem_eq(&y, 0, &u, 1) && tx_elem_eq(&y, 1, &x, 1) && tx_elem_eq(&y, 2, &x, 2) &&
          tx_elem_eq(&y, 3, &u, 0));
    ox_tensor_free_data(&y);
    ((int64_t *)ix.data)[0] = 4;
    CHECK(ox_op_run_single(n, 9, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1) == ONYX_ERR_RUNTIME);
    n = tn_node("ScatterElements", 3, 1);
    tn_str(n, "reduction", "add");
    ((int64_t *)ix.data)[0] = 0;
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, u, ix}, 3);
    tn_reset();
}

/* ---- GatherND, ScatterND -----------------------------------------------------------------------
 */

TEST(tensor_gather_nd) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t r = 1 + tx_rnd(3), b = iter % 3 == 0 && r > 1 ? 1 : 0;
        int32_t q = b + 1 + tx_rnd(2), k = 1 + tx_rnd(r - b);
        int64_t dims[3], id[3];
        tx_rnd_shape(r, dims, 4);
        tx_rnd_shape(q - 1, id, 3);
        if (b) id[0] = dims[0];
        id[q - 1] = k;
        int32_t dtype = tx_types[(size_t)iter % TX_N_TYPES];
        ox_tensor x = tx_rand_tensor(dtype, r, dims), ix = tt_make(ONYX_DTYPE_INT64, q, id, NULL),
                  y;
        size_t tuples = ox_tensor_count(&ix) / (size_t)k;
        for (size_t t = 0; t < tuples; t++)
            for (int32_t j = 0; j < k; j++) {
                int64_t dim = dims[b + j];
                ((int64_t *)ix.data)[t * (size_t)k + (size_t)j] = tx_rnd((int)(2 * dim)) - dim;
            }
        ox_node *n = tn_node("GatherND", 2, 1);
        tn_int(n, "batch_dims", b);
        REQUIRE_OK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix}, 2, &y, 1));
        int64_t od[6], oi[6], ii[3];
        int32_t orank = 0;
        for (int32_t d = 0; d < q - 1; d++) od[orank++] = id[d];
        for (int32_t d = b + k; d < r; d++) od[orank++] = dims[d];
        CHECK(tx_same_dims(&y, orank, od));
        int bad = 0;
        for (size_t e = 0; e < ox_tensor_count(&y); e++) {
            tx_unravel(e, orank, od, oi);
            size_t t = tx_ravel(q - 1, id, oi); /* which tuple */
            for (int32_t d = 0; d < b; d++) ii[d] = oi[d];
            for (int32_t j = 0; j < k; j++) {
                int64_t v = ((int64_t *)ix.data)[t * (size_t)k + (size_t)j];
                ii[b + j] = v < 0 ? v + dims[b + j] : v;
            }
            for (int32_t d = b + k; d < r; d++) ii[d] = oi[q - 1 + d - b - k];
            bad += !tx_elem_eq(&y, e, &x, tx_ravel(r, dims, ii));
        }
        CHECK(bad == 0);
        tx_free_all((ox_tensor[]){x, ix, y}, 3);
    }
    tn_reset();
}

TEST(tensor_scatter_nd) {
    /* data [4, 3], k = 1 (row updates) and k = 2 (element updates) */
    int64_t dims[2] = {4, 3};
    for (int k = 1; k <= 2; k++) {
        for (int red = 0; red < 3; red++) {
            static const char *reds[3] = {"none", "add", "mul"};
            ox_tensor x = tt_rand(2, dims, -2, 2), y;
            int64_t iv[4] = {2, 1, -1, 0};
            ox_tensor ix = tt_make(ONYX_DTYPE_INT64, 2, (int64_t[]){2, k}, iv);
            int64_t ud[2] = {2, 3};
            ox_tensor u = tt_rand(k == 1 ? 2 : 1, ud, -2, 2);
            ox_node *n = tn_node("ScatterND", 3, 1);
            tn_str(n, "reduction", reds[red]);
            REQUIRE_OK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1));
            double ref[12];
            for (int i = 0; i < 12; i++) ref[i] = ((float *)x.data)[i];
            for (int t = 0; t < 2; t++) {
                if (k == 1) {
                    int64_t row = iv[t] < 0 ? iv[t] + 4 : iv[t];
                    for (int j = 0; j < 3; j++)
                        ref[row * 3 + j] =
                            ref_reduce(reds[red], ref[row * 3 + j], ((float *)u.data)[t * 3 + j]);
                } else {
                    int64_t row = iv[2 * t] < 0 ? iv[2 * t] + 4 : iv[2 * t];
                    int64_t col = iv[2 * t + 1] < 0 ? iv[2 * t + 1] + 3 : iv[2 * t + 1];
                    ref[row * 3 + col] =
                        ref_reduce(reds[red], ref[row * 3 + col], ((float *)u.data)[t]);
                }
            }
            for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)y.data)[i], ref[i], 1e-6);
            tx_free_all((ox_tensor[]){x, ix, u, y}, 4);
        }
    }
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL), y;
    ox_tensor ix = tt_make(ONYX_DTYPE_INT64, 2, (int64_t[]){1, 1}, (int64_t[]){-4});
    ox_tensor u = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){1}, NULL);
    ox_node *n = tn_node("ScatterND", 3, 1);
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1) == ONYX_ERR_RUNTIME);
    ox_tensor_free_data(&u);
    u = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, NULL); /* wrong updates shape */
    ((int64_t *)ix.data)[0] = 0;
    CHECK(ox_op_run_single(n, 13, (ox_tensor *[]){&x, &ix, &u}, 3, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, ix, u}, 3);
    tn_reset();
}

/* ---- OneHot, NonZero, Compress ------------------------------------------------------------------
 */

TEST(tensor_one_hot) {
    int64_t idims[2] = {2, 3}, depth = 4;
    float iv[6] = {0, 3, -1, 5, -4, 2.7f}; /* 5 is out of range; 2.7 truncates to 2 */
    ox_tensor ix = tt_make(ONYX_DTYPE_FLOAT, 2, idims, iv);
    ox_tensor dp = tt_make(ONYX_DTYPE_INT64, 0, NULL, &depth);
    ox_tensor v = tx_rand_tensor(ONYX_DTYPE_STRING, 1, (int64_t[]){2}), y;
    for (int axis = -3; axis <= 2; axis++) {
        ox_node *n = tn_node("OneHot", 3, 1);
        tn_int(n, "axis", axis);
        REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&ix, &dp, &v}, 3, &y, 1));
        int a = axis < 0 ? axis + 3 : axis;
        int64_t od[3], oi[3];
        for (int d = 0, k = 0; d < 3; d++) od[d] = d == a ? depth : idims[k++];
        CHECK(tx_same_dims(&y, 3, od));
        int bad = 0;
        for (size_t e = 0; e < 12; e++) {
            tx_unravel(e, 3, od, oi);
            int64_t ii[2], c = oi[a];
            for (int d = 0, k = 0; d < 3; d++)
                if (d != a) ii[k++] = oi[d];
            int64_t val = (int64_t)iv[ii[0] * 3 + ii[1]];
            if (val < 0) val += depth;
            bad += !tx_elem_eq(&y, e, &v, val == c ? 1 : 0);
        }
        CHECK(bad == 0);
        ox_tensor_free_data(&y);
    }
    ox_tensor_free_data(&dp);
    dp = tt_make(ONYX_DTYPE_INT64, 0, NULL, (int64_t[]){-1});
    ox_node *n = tn_node("OneHot", 3, 1);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&ix, &dp, &v}, 3, &y, 1) != ONYX_OK);
    /* element types the scalar readers cannot read are refused, not misread */
    ox_tensor i4 = tt_make(ONYX_DTYPE_INT4, 1, (int64_t[]){2}, NULL);
    ox_tensor f8 = tt_make(ONYX_DTYPE_FLOAT8E4M3FN, 0, NULL, (uint8_t[]){0x40});
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&i4, &dp, &v}, 3, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&ix, &f8, &v}, 3, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){i4, f8}, 2);
    tx_free_all((ox_tensor[]){ix, dp, v}, 3);
    tn_reset();
}

TEST(tensor_non_zero) {
    for (int iter = 0; iter < 30; iter++) {
        int32_t rank = tx_rnd(4);
        int64_t dims[3], idx[3];
        tx_rnd_shape(rank, dims, 4);
        ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, rank, dims, NULL), y;
        size_t n = ox_tensor_count(&x), nz = 0;
        float *xf = x.data;
        for (size_t i = 0; i < n; i++) {
            int r = tx_rnd(4);
            xf[i] = r == 0 ? 0.0f : r == 1 ? -0.0f : r == 2 ? NAN : (float)tx_rnd(5) + 1;
            nz += r >= 2;
        }
        ox_node *node = tn_node("NonZero", 1, 1);
        REQUIRE_OK(ox_op_run_single(node, 13, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(tx_same_dims(&y, 2, (int64_t[]){rank, (int64_t)nz}));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (xf[i] == 0.0f) continue;
            tx_unravel(i, rank, dims, idx);
            for (int32_t d = 0; d < rank; d++)
                CHECK(((int64_t *)y.data)[(size_t)d * nz + k] == idx[d]);
            k++;
        }
        tx_free_all((ox_tensor[]){x, y}, 2);
    }
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 1, (int64_t[]){5}), y;
    size_t nz = 0;
    for (size_t i = 0; i < 5; i++) nz += ((ox_string *)x.data)[i].len != 0;
    ox_node *node = tn_node("NonZero", 1, 1);
    REQUIRE_OK(ox_op_run_single(node, 13, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(y.dims[1] == (int64_t)nz);
    tx_free_all((ox_tensor[]){x, y}, 2);
    CHECK(ox_op_find("", "NonZero", 13)->flags & OX_OP_ALLOC_IN_RUN);
    tn_reset();
}

TEST(tensor_compress) {
    int64_t dims[2] = {3, 4};
    ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 2, dims), y;
    uint8_t cv[3] = {1, 0, 1};
    ox_tensor cond = tt_make(ONYX_DTYPE_BOOL, 1, (int64_t[]){3}, cv);
    /* axis 1: columns 0 and 2 of every row (condition shorter than the axis) */
    ox_node *n = tn_node("Compress", 2, 1);
    tn_int(n, "axis", -1);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x, &cond}, 2, &y, 1));
    CHECK(tx_same_dims(&y, 2, (int64_t[]){3, 2}));
    for (size_t r = 0; r < 3; r++)
        CHECK(tx_elem_eq(&y, r * 2, &x, r * 4) && tx_elem_eq(&y, r * 2 + 1, &x, r * 4 + 2));
    ox_tensor_free_data(&y);
    /* no axis: flattened */
    n = tn_node("Compress", 2, 1);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x, &cond}, 2, &y, 1));
    CHECK(tx_same_dims(&y, 1, (int64_t[]){2}) && tx_elem_eq(&y, 0, &x, 0) &&
          tx_elem_eq(&y, 1, &x, 2));
    ox_tensor_free_data(&y);
    /* a true entry past the axis is an error */
    ox_tensor_free_data(&cond);
    cond = tt_make(ONYX_DTYPE_BOOL, 1, (int64_t[]){5}, (uint8_t[]){0, 0, 0, 0, 1});
    n = tn_node("Compress", 2, 1);
    tn_int(n, "axis", 1);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&x, &cond}, 2, &y, 1) != ONYX_OK);
    tx_free_all((ox_tensor[]){x, cond}, 2);
    tn_reset();
}

/* Unique against an O(n^2) reference: items are slices along the axis (or single
 * elements), compared element by element as int32 values. */
static int ref_item_cmp(const int32_t *x, size_t outer, size_t len, size_t inner, size_t a,
                        size_t b) {
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            int32_t p = x[(o * len + a) * inner + i], q = x[(o * len + b) * inner + i];
            if (p != q) return p < q ? -1 : 1;
        }
    return 0;
}

TEST(tensor_unique) {
    for (int iter = 0; iter < 40; iter++) {
        int32_t rank = 1 + tx_rnd(3), sorted = iter % 2, use_axis = iter % 3 != 0;
        int64_t dims[3];
        tx_rnd_shape(rank, dims, 4);
        int32_t axis = tx_rnd(rank);
        ox_tensor x = tt_make(ONYX_DTYPE_INT32, rank, dims, NULL), ys[4];
        int32_t *xv = x.data;
        size_t total = ox_tensor_count(&x);
        for (size_t i = 0; i < total; i++) xv[i] = tx_rnd(3) - 1;
        ox_node *n = tn_node("Unique", 1, 4);
        tn_int(n, "sorted", sorted);
        if (use_axis) tn_int(n, "axis", axis - (iter % 2 ? rank : 0));
        REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x}, 1, ys, 4));
        size_t outer = 1;
        for (int32_t d = 0; use_axis && d < axis; d++) outer *= (size_t)dims[d];
        size_t len = use_axis ? (size_t)dims[axis] : total,
               inner = total / (outer * (len ? len : 1));
        /* reference: distinct items in first-occurrence order, then sorted if asked */
        size_t uniq[64], nu = 0, cnt[64] = {0};
        for (size_t k = 0; k < len; k++) {
            size_t j = 0;
            while (j < nu && ref_item_cmp(xv, outer, len, inner, uniq[j], k) != 0) j++;
            if (j == nu) uniq[nu++] = k;
            cnt[j]++;
        }
        for (size_t a = 0; sorted && a < nu; a++) /* selection sort, carrying counts */
            for (size_t b = a + 1; b < nu; b++)
                if (ref_item_cmp(xv, outer, len, inner, uniq[b], uniq[a]) < 0) {
                    size_t t = uniq[a], tc = cnt[a];
                    uniq[a] = uniq[b], cnt[a] = cnt[b];
                    uniq[b] = t, cnt[b] = tc;
                }
        CHECK(ys[1].dims[0] == (int64_t)nu && ys[3].dims[0] == (int64_t)nu &&
              ys[2].dims[0] == (int64_t)len);
        if (ys[1].dims[0] != (int64_t)nu) {
            tx_free_all(ys, 4);
            ox_tensor_free_data(&x);
            continue;
        }
        for (size_t j = 0; j < nu; j++) {
            CHECK(((int64_t *)ys[1].data)[j] == (int64_t)uniq[j]);
            CHECK(((int64_t *)ys[3].data)[j] == (int64_t)cnt[j]);
        }
        for (size_t k = 0; k < len; k++) {
            int64_t j = ((int64_t *)ys[2].data)[k];
            CHECK(j >= 0 && (size_t)j < nu && ref_item_cmp(xv, outer, len, inner, uniq[j], k) == 0);
        }
        /* Y holds the unique items in order */
        const int32_t *yv = ys[0].data;
        int bad = 0;
        for (size_t o = 0; o < outer; o++)
            for (size_t j = 0; j < nu; j++)
                for (size_t i = 0; i < inner; i++)
                    bad += yv[(o * nu + j) * inner + i] != xv[(o * len + uniq[j]) * inner + i];
        CHECK(bad == 0);
        tx_free_all(ys, 4);
        ox_tensor_free_data(&x);
    }
    /* strings, sorted bytewise; only Y requested */
    ox_tensor x = tt_make(ONYX_DTYPE_STRING, 1, (int64_t[]){5}, NULL), y;
    const char *words[5] = {"pear", "fig", "pear", "", "figs"};
    for (int i = 0; i < 5; i++) {
        ((ox_string *)x.data)[i].len = strlen(words[i]);
        ((ox_string *)x.data)[i].data = ox_malloc(strlen(words[i]) + 1);
        memcpy(((ox_string *)x.data)[i].data, words[i], strlen(words[i]) + 1);
    }
    ox_node *n = tn_node("Unique", 1, 1);
    REQUIRE_OK(ox_op_run_single(n, 11, (ox_tensor *[]){&x}, 1, &y, 1));
    CHECK(tx_same_dims(&y, 1, (int64_t[]){4}));
    const char *want[4] = {"", "fig", "figs", "pear"};
    for (int i = 0; i < 4; i++) {
        const ox_string *s = (const ox_string *)y.data + i;
        CHECK(s->len == strlen(want[i]) && memcmp(s->data, want[i], s->len) == 0);
    }
    tx_free_all((ox_tensor[]){x, y}, 2);
    CHECK(ox_op_find("", "Unique", 11)->flags & OX_OP_ALLOC_IN_RUN);
    tn_reset();
}

/* ---- EyeLike, Trilu, CumSum, ReverseSequence
 * ----------------------------------------------------- */

TEST(tensor_eye_like_trilu) {
    int64_t dims[2] = {3, 5};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, dims, NULL), y;
    for (int64_t k = -4; k <= 6; k++) {
        ox_node *n = tn_node("EyeLike", 1, 1);
        tn_int(n, "k", k);
        tn_int(n, "dtype", ONYX_DTYPE_INT32);
        REQUIRE_OK(ox_op_run_single(n, 9, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(y.dtype == ONYX_DTYPE_INT32 && tx_same_dims(&y, 2, dims));
        for (int64_t i = 0; i < 3; i++)
            for (int64_t j = 0; j < 5; j++) CHECK(((int32_t *)y.data)[i * 5 + j] == (j - i == k));
        ox_tensor_free_data(&y);
    }
    ox_tensor_free_data(&x);
    int64_t td[3] = {2, 4, 3};
    x = tx_rand_tensor(ONYX_DTYPE_INT64, 3, td);
    for (int upper = 0; upper < 2; upper++) {
        for (int64_t k = -5; k <= 5; k++) {
            ox_tensor kt = tt_make(ONYX_DTYPE_INT64, 0, NULL, &k);
            ox_node *n = tn_node("Trilu", 2, 1);
            tn_int(n, "upper", upper);
            REQUIRE_OK(ox_op_run_single(n, 14, (ox_tensor *[]){&x, &kt}, 2, &y, 1));
            int bad = 0;
            for (int64_t b = 0; b < 2; b++)
                for (int64_t i = 0; i < 4; i++)
                    for (int64_t j = 0; j < 3; j++) {
                        size_t at = (size_t)((b * 4 + i) * 3 + j);
                        int keep = upper ? j >= i + k : j <= i + k;
                        bad += ((int64_t *)y.data)[at] != (keep ? ((int64_t *)x.data)[at] : 0);
                    }
            CHECK(bad == 0);
            tx_free_all((ox_tensor[]){kt, y}, 2);
        }
    }
    ox_tensor_free_data(&x);
    tn_reset();
}

static void check_cumulative(int prod) {
    int64_t dims[3] = {2, 5, 3};
    static const int32_t dts[3] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT32, ONYX_DTYPE_DOUBLE};
    for (int t = 0; t < 3; t++) {
        ox_tensor x = tt_make(dts[t], 3, dims, NULL), y;
        for (size_t i = 0; i < 30; i++) store_num(x.data, i, dts[t], tx_rnd(11) - 5);
        for (int axis = -3; axis < 3; axis++) {
            for (int mode = 0; mode < 4; mode++) {
                int excl = mode & 1, rev = mode >> 1, a = axis < 0 ? axis + 3 : axis;
                ox_tensor at = tt_make(ONYX_DTYPE_INT32, 0, NULL, (int32_t[]){axis});
                ox_node *n = tn_node(prod ? "CumProd" : "CumSum", 2, 1);
                tn_int(n, "exclusive", excl);
                tn_int(n, "reverse", rev);
                REQUIRE_OK(ox_op_run_single(n, 26, (ox_tensor *[]){&x, &at}, 2, &y, 1));
                int64_t oi[3], ii[3];
                for (size_t e = 0; e < 30; e++) {
                    tx_unravel(e, 3, dims, oi);
                    double want = prod;
                    for (int64_t s = 0; s < dims[a]; s++) {
                        int in =
                            rev ? (excl ? s > oi[a] : s >= oi[a]) : (excl ? s < oi[a] : s <= oi[a]);
                        if (!in) continue;
                        memcpy(ii, oi, sizeof ii);
                        ii[a] = s;
                        double v = ox_tensor_get_double(&x, tx_ravel(3, dims, ii));
                        want = prod ? want * v : want + v;
                    }
                    CHECK_NEAR(ox_tensor_get_double(&y, e), want, 1e-9);
                }
                tx_free_all((ox_tensor[]){at, y}, 2);
            }
        }
        ox_tensor_free_data(&x);
    }
    tn_reset();
}

TEST(tensor_cumsum_cumprod) {
    check_cumulative(0);
    check_cumulative(1);
}

TEST(tensor_reverse_sequence) {
    int64_t dims[3] = {4, 3, 2};
    for (int batch_axis = 0; batch_axis < 2; batch_axis++) {
        int time_axis = 1 - batch_axis;
        int64_t B = dims[batch_axis], T = dims[time_axis];
        ox_tensor x = tx_rand_tensor(ONYX_DTYPE_STRING, 3, dims), y;
        int64_t lens[4];
        for (int64_t b = 0; b < B; b++) lens[b] = tx_rnd((int)T + 1);
        ox_tensor sl = tx_i64((size_t)B, lens);
        ox_node *n = tn_node("ReverseSequence", 2, 1);
        tn_int(n, "batch_axis", batch_axis);
        tn_int(n, "time_axis", time_axis);
        REQUIRE_OK(ox_op_run_single(n, 10, (ox_tensor *[]){&x, &sl}, 2, &y, 1));
        int64_t oi[3], ii[3];
        int bad = 0;
        for (size_t e = 0; e < 24; e++) {
            tx_unravel(e, 3, dims, oi);
            memcpy(ii, oi, sizeof ii);
            int64_t len = lens[oi[batch_axis]], t = oi[time_axis];
            if (t < len) ii[time_axis] = len - 1 - t;
            bad += !tx_elem_eq(&y, e, &x, tx_ravel(3, dims, ii));
        }
        CHECK(bad == 0);
        ox_tensor_free_data(&y);
        lens[0] = T + 1;
        ox_tensor_free_data(&sl);
        sl = tx_i64((size_t)B, lens);
        CHECK(ox_op_run_single(n, 10, (ox_tensor *[]){&x, &sl}, 2, &y, 1) != ONYX_OK);
        tx_free_all((ox_tensor[]){x, sl}, 2);
    }
    tn_reset();
}
