/* MaxPool, AveragePool, LpPool and the global pools against naive references. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "test_nn.h"
#include "kernels/cpu.h"
#include "mbuild.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { P_MAX, P_AVG, P_LP };
static const char *pool_ops[] = {"MaxPool", "AveragePool", "LpPool"};
static const char *pad_modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

typedef struct pool_case {
    int kind, nd, N, C;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    int auto_pad, ceil, incl, storage_order, p, indices;
    int give_strides, give_dilations, give_pads;
    int32_t dtype;
} pool_case;

/* Per-dim output size and begin/end padding, from the spec's formulas. */
static int64_t pool_out(const pool_case *pc, int i, int64_t *pb, int64_t *pe) {
    int64_t ek = (pc->k[i] - 1) * pc->d[i] + 1, in = pc->in[i], s = pc->s[i];
    if (pc->auto_pad == 1 || pc->auto_pad == 2) {
        int64_t out = (in + s - 1) / s, total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        *pb = pc->auto_pad == 1 ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return out;
    }
    *pb = pc->auto_pad == 3 ? 0 : pc->pads[i];
    *pe = pc->auto_pad == 3 ? 0 : pc->pads[pc->nd + i];
    int64_t span = in + *pb + *pe - ek;
    if (!pc->ceil || pc->auto_pad == 3) return span / s + 1;
    int64_t out = (span + s - 1) / s + 1;
    if ((out - 1) * s >= in + *pb) out--; /* windows may not start in the end padding */
    return out;
}

static void run_pool_case(const pool_case *pc, ox_threadpool *pool) {
    int nd = pc->nd;
    ox_node *n = tn_node(pool_ops[pc->kind], 1, pc->indices ? 2 : 1);
    tn_ints(n, "kernel_shape", (size_t)nd, pc->k);
    if (pc->give_strides) tn_ints(n, "strides", (size_t)nd, pc->s);
    if (pc->give_dilations) tn_ints(n, "dilations", (size_t)nd, pc->d);
    if (pc->auto_pad) tn_str(n, "auto_pad", pad_modes[pc->auto_pad]);
    else if (pc->give_pads) tn_ints(n, "pads", 2 * (size_t)nd, pc->pads);
    if (pc->ceil) tn_int(n, "ceil_mode", 1);
    if (pc->incl) tn_int(n, "count_include_pad", 1);
    if (pc->storage_order) tn_int(n, "storage_order", 1);
    if (pc->kind == P_LP) tn_int(n, "p", pc->p);
    int64_t xd[5] = {pc->N, pc->C}, yd[5] = {pc->N, pc->C};
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1};
    int64_t o3[3] = {1, 1, 1}, b3[3] = {0, 0, 0}, e3[3] = {0, 0, 0};
    for (int i = 0; i < nd; i++) {
        int j = 3 - nd + i;
        xd[2 + i] = in3[j] = pc->in[i];
        k3[j] = pc->k[i];
        s3[j] = pc->s[i];
        d3[j] = pc->d[i];
        yd[2 + i] = o3[j] = pool_out(pc, i, &b3[j], &e3[j]);
    }
    ox_tensor X = nn_rand(pc->dtype, 2 + nd, xd), Y[2];
    size_t isp = (size_t)(in3[0] * in3[1] * in3[2]), osp = (size_t)(o3[0] * o3[1] * o3[2]);
    size_t total = (size_t)(pc->N * pc->C) * osp;
    double *want = ox_malloc_array(total + 1, sizeof(double));
    double *want_i = ox_malloc_array(total + 1, sizeof(double));
    for (size_t pl = 0; pl < (size_t)(pc->N * pc->C); pl++)
        for (int64_t z = 0; z < o3[0]; z++)
            for (int64_t y = 0; y < o3[1]; y++)
                for (int64_t x = 0; x < o3[2]; x++) {
                    double best = -INFINITY, sum = 0, at = -1, cnt = 0, padcnt = 0;
                    for (int64_t a = 0; a < k3[0]; a++)
                        for (int64_t b = 0; b < k3[1]; b++)
                            for (int64_t e = 0; e < k3[2]; e++) {
                                int64_t iz = z * s3[0] - b3[0] + a * d3[0];
                                int64_t iy = y * s3[1] - b3[1] + b * d3[1];
                                int64_t ix = x * s3[2] - b3[2] + e * d3[2];
                                if (iz < in3[0] + e3[0] && iy < in3[1] + e3[1] &&
                                    ix < in3[2] + e3[2])
                                    padcnt++;
                                if (iz < 0 || iz >= in3[0] || iy < 0 || iy >= in3[1] || ix < 0 ||
                                    ix >= in3[2])
                                    continue;
                                size_t off = (size_t)((iz * in3[1] + iy) * in3[2] + ix);
                                double v = ox_tensor_get_double(&X, pl * isp + off);
                                cnt++;
                                if (pc->kind == P_LP) sum += pow(fabs(v), pc->p);
                                else sum += v;
                                if (v > best) {
                                    best = v;
                                    int64_t cm = iz + iy * in3[0] + ix * in3[0] * in3[1];
                                    at = (double)(pl * isp) +
                                         (pc->storage_order ? (double)cm : (double)off);
                                }
                            }
                    size_t oi = pl * osp + (size_t)((z * o3[1] + y) * o3[2] + x);
                    if (pc->kind == P_MAX) want[oi] = best;
                    else if (pc->kind == P_LP) want[oi] = pow(sum, 1.0 / pc->p);
                    else { /* a window with no taps (all in padding) averages to 0 */
                        double div = pc->incl ? padcnt : cnt;
                        want[oi] = div > 0 ? sum / div : 0.0;
                    }
                    want_i[oi] = at;
                }
    int64_t opset = pc->kind == P_AVG ? 19 : pc->kind == P_LP ? 18 : 12;
    onyx_status s = nn_run(n, opset, (ox_tensor *[]){&X}, 1, Y, pc->indices ? 2 : 1, pool);
    CHECK(s == ONYX_OK);
    if (s != ONYX_OK) fprintf(stderr, "  pool failed: %s\n", onyx_last_error());
    if (s == ONYX_OK) {
        int same = Y[0].rank == 2 + nd;
        for (int i = 0; i < 2 + nd && same; i++) same = Y[0].dims[i] == yd[i];
        CHECK(same);
        int f = nn_expect(&Y[0], want, total, pc->dtype == ONYX_DTYPE_FLOAT ? 1e-5 : 1e-12,
                          pool_ops[pc->kind]);
        if (pc->indices) {
            CHECK(Y[1].dtype == ONYX_DTYPE_INT64);
            f += nn_expect(&Y[1], want_i, total, 0, "Indices");
        }
        if (f)
            fprintf(stderr, "  case %s nd=%d in=%lld,%lld,%lld k=%lld,%lld,%lld s=%lld,%lld,%lld "
                    "d=%lld,%lld,%lld pads=%lld,%lld,%lld/%lld,%lld,%lld auto_pad=%s ceil=%d "
                    "incl=%d\n", pool_ops[pc->kind], nd, (long long)in3[0], (long long)in3[1],
                    (long long)in3[2], (long long)k3[0], (long long)k3[1], (long long)k3[2],
                    (long long)s3[0], (long long)s3[1], (long long)s3[2], (long long)d3[0],
                    (long long)d3[1], (long long)d3[2], (long long)b3[0], (long long)b3[1],
                    (long long)b3[2], (long long)e3[0], (long long)e3[1], (long long)e3[2],
                    pad_modes[pc->auto_pad], pc->ceil, pc->incl);
        ox_test_failures += f;
        nn_free(Y, pc->indices ? 2 : 1);
    }
    ox_free(want);
    ox_free(want_i);
    nn_free(&X, 1);
}

static pool_case random_pool_case(int kind) {
    static const int64_t sizes[] = {1, 7, 17, 33};
    pool_case pc;
    memset(&pc, 0, sizeof pc);
    pc.kind = kind;
    pc.nd = 1 + nn_rnd(3);
    pc.N = 1 + nn_rnd(2);
    pc.C = 1 + nn_rnd(3);
    pc.dtype = nn_rnd(3) ? ONYX_DTYPE_FLOAT : ONYX_DTYPE_DOUBLE;
    pc.auto_pad = nn_rnd(4) == 0 ? 1 + nn_rnd(3) : 0;
    pc.ceil = pc.auto_pad == 0 && nn_rnd(2);
    pc.incl = kind == P_AVG && nn_rnd(2);
    pc.indices = kind == P_MAX && nn_rnd(2);
    pc.storage_order = pc.indices && nn_rnd(2);
    pc.p = 1 + nn_rnd(3);
    pc.give_strides = nn_rnd(2);
    pc.give_dilations = nn_rnd(2);
    pc.give_pads = nn_rnd(2);
    for (int i = 0; i < pc.nd; i++) {
        pc.in[i] = pc.nd == 3 ? 1 + nn_rnd(7) : sizes[nn_rnd(4)];
        pc.k[i] = 1 + nn_rnd(3);
        pc.s[i] = pc.give_strides ? 1 + nn_rnd(3) : 1;
        pc.d[i] = pc.give_dilations ? 1 + nn_rnd(2) : 1;
        /* pads smaller than the kernel, so no window lies wholly in the padding */
        pc.pads[i] = pc.give_pads ? nn_rnd((int)pc.k[i]) : 0;
        pc.pads[pc.nd + i] = pc.give_pads ? nn_rnd((int)pc.k[i]) : 0;
        int64_t ek = (pc.k[i] - 1) * pc.d[i] + 1;
        int64_t have = pc.in[i] + (pc.auto_pad == 0 ? pc.pads[i] + pc.pads[pc.nd + i] : 0);
        if (have < ek) pc.in[i] += ek - have;
    }
    return pc;
}

TEST(nn_pool_random) {
    for (int kind = 0; kind < 3; kind++)
        for (int t = 0; t < 120; t++) {
            pool_case pc = random_pool_case(kind);
            run_pool_case(&pc, NULL);
        }
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int t = 0; t < 30; t++) {
        pool_case pc = random_pool_case(t % 3);
        run_pool_case(&pc, pool);
    }
    ox_threadpool_free(pool);
}

TEST(nn_pool_ceil_and_padding_rules) {
    /* ceil mode whose last window would start in the end padding: dropped */
    pool_case a = {.kind = P_MAX, .nd = 1, .N = 1, .C = 1, .in = {4}, .k = {1}, .s = {2},
                   .d = {1}, .pads = {0, 1}, .ceil = 1, .give_strides = 1, .give_pads = 1,
                   .dtype = ONYX_DTYPE_FLOAT};
    run_pool_case(&a, NULL);
    /* count_include_pad with ceil mode: the overhang beyond the pads is not counted */
    pool_case b = {.kind = P_AVG, .nd = 2, .N = 1, .C = 2, .in = {6, 7}, .k = {3, 2},
                   .s = {2, 2}, .d = {1, 1}, .pads = {1, 0, 1, 0}, .ceil = 1, .incl = 1,
                   .give_strides = 1, .give_pads = 1, .dtype = ONYX_DTYPE_FLOAT};
    run_pool_case(&b, NULL);
    b.incl = 0;
    run_pool_case(&b, NULL);
    /* int8 / uint8 MaxPool, with column-major indices */
    pool_case c = {.kind = P_MAX, .nd = 2, .N = 2, .C = 3, .in = {7, 5}, .k = {2, 3},
                   .s = {1, 2}, .d = {2, 1}, .pads = {1, 1, 0, 1}, .indices = 1,
                   .storage_order = 1, .give_strides = 1, .give_dilations = 1, .give_pads = 1,
                   .dtype = ONYX_DTYPE_INT8};
    run_pool_case(&c, NULL);
    c.dtype = ONYX_DTYPE_UINT8;
    c.storage_order = 0;
    run_pool_case(&c, NULL);
    /* 3-D storage order */
    pool_case d = {.kind = P_MAX, .nd = 3, .N = 1, .C = 2, .in = {4, 5, 6}, .k = {2, 2, 2},
                   .s = {2, 2, 2}, .d = {1, 1, 1}, .indices = 1, .storage_order = 1,
                   .give_strides = 1, .dtype = ONYX_DTYPE_FLOAT};
    run_pool_case(&d, NULL);
}

TEST(nn_pool_errors) {
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 4, 4}), Y[2];
    ox_node *a = tn_node("MaxPool", 1, 1); /* no kernel_shape */
    CHECK(ox_op_run_single(a, 12, (ox_tensor *[]){&X}, 1, Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *b = tn_node("MaxPool", 1, 1);
    tn_ints(b, "kernel_shape", 2, (int64_t[]){5, 5}); /* larger than the input */
    CHECK(ox_op_run_single(b, 12, (ox_tensor *[]){&X}, 1, Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *c = tn_node("AveragePool", 1, 1);
    tn_ints(c, "kernel_shape", 1, (int64_t[]){2}); /* wrong rank */
    CHECK(ox_op_run_single(c, 19, (ox_tensor *[]){&X}, 1, Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_node *d = tn_node("AveragePool", 1, 2); /* only MaxPool has Indices */
    tn_ints(d, "kernel_shape", 2, (int64_t[]){2, 2});
    CHECK(ox_op_run_single(d, 19, (ox_tensor *[]){&X}, 1, Y, 2) == ONYX_ERR_INVALID_MODEL);
    ox_node *e = tn_node("MaxPool", 1, 1);
    tn_ints(e, "kernel_shape", 2, (int64_t[]){2, 2});
    tn_ints(e, "pads", 4, (int64_t[]){-1, 0, 0, 0});
    CHECK(ox_op_run_single(e, 12, (ox_tensor *[]){&X}, 1, Y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor I = nn_rand(ONYX_DTYPE_INT32, 4, (int64_t[]){1, 1, 4, 4});
    ox_node *f = tn_node("MaxPool", 1, 1);
    tn_ints(f, "kernel_shape", 2, (int64_t[]){2, 2});
    CHECK(ox_op_run_single(f, 12, (ox_tensor *[]){&I}, 1, Y, 1) == ONYX_ERR_UNSUPPORTED);
    ox_tensor X6 = nn_rand(ONYX_DTYPE_FLOAT, 6, (int64_t[]){1, 1, 2, 2, 2, 2});
    ox_node *g = tn_node("MaxPool", 1, 1);
    tn_ints(g, "kernel_shape", 4, (int64_t[]){1, 1, 1, 1});
    CHECK(ox_op_run_single(g, 12, (ox_tensor *[]){&X6}, 1, Y, 1) == ONYX_ERR_UNSUPPORTED);
    nn_free(&X, 1);
    nn_free(&I, 1);
    nn_free(&X6, 1);
}

TEST(nn_global_pools) {
    static const char *ops[] = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"};
    for (int op = 0; op < 3; op++)
        for (int rank = 3; rank <= 5; rank++) {
            int64_t dims[5] = {2, 3, 7, 5, 3};
            int32_t dt = rank == 4 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
            ox_tensor X = nn_rand(dt, rank, dims), Y;
            ox_node *n = tn_node(ops[op], 1, 1);
            int p = 3;
            if (op == 2) tn_int(n, "p", p);
            size_t sp = ox_shape_count(rank - 2, dims + 2);
            double want[6];
            for (size_t pl = 0; pl < 6; pl++) {
                double s = 0, m = -INFINITY;
                for (size_t i = 0; i < sp; i++) {
                    double v = ox_tensor_get_double(&X, pl * sp + i);
                    s += op == 2 ? pow(fabs(v), p) : v;
                    if (v > m) m = v;
                }
                want[pl] = op == 0 ? s / (double)sp : op == 1 ? m : pow(s, 1.0 / p);
            }
            REQUIRE_OK(ox_op_run_single(n, 2, (ox_tensor *[]){&X}, 1, &Y, 1));
            CHECK(Y.rank == rank && Y.dims[0] == 2 && Y.dims[1] == 3);
            for (int i = 2; i < rank; i++) CHECK(Y.dims[i] == 1);
            ox_test_failures += nn_expect(&Y, want, 6, 1e-5, ops[op]);
            nn_free(&Y, 1);
            nn_free(&X, 1);
        }
    /* LpPool-1 / GlobalLpPool-1 carry p as a float */
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 2, 4}), Y;
    ox_node *n = tn_node("GlobalLpPool", 1, 1);
    tn_float(n, "p", 1.0f);
    REQUIRE_OK(ox_op_run_single(n, 1, (ox_tensor *[]){&X}, 1, &Y, 1));
    for (size_t pl = 0; pl < 2; pl++) {
        double s = 0;
        for (size_t i = 0; i < 4; i++) s += fabs(ox_tensor_get_double(&X, pl * 4 + i));
        CHECK_NEAR(ox_tensor_get_double(&Y, pl), s, 1e-5);
    }
    nn_free(&Y, 1);
    nn_free(&X, 1);
}

TEST(nn_maxunpool) {
    /* MaxPool with indices, then MaxUnpool: every max lands back at its index */
    for (int with_shape = 0; with_shape < 2; with_shape++) {
        int64_t xd[4] = {2, 3, 6, 6};
        ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, xd), P[2], U;
        ox_node *mp = tn_node("MaxPool", 1, 2);
        tn_ints(mp, "kernel_shape", 2, (int64_t[]){2, 2});
        tn_ints(mp, "strides", 2, (int64_t[]){2, 2});
        REQUIRE_OK(ox_op_run_single(mp, 12, (ox_tensor *[]){&X}, 1, P, 2));
        ox_node *up = tn_node("MaxUnpool", with_shape ? 3 : 2, 1);
        tn_ints(up, "kernel_shape", 2, (int64_t[]){2, 2});
        tn_ints(up, "strides", 2, (int64_t[]){2, 2});
        /* the unpooled shape is X's; output_shape may enlarge it */
        int64_t out[4] = {2, 3, with_shape ? 8 : 6, with_shape ? 7 : 6};
        ox_tensor S = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){4}, out);
        REQUIRE_OK(ox_op_run_single(up, 11, (ox_tensor *[]){&P[0], &P[1], &S}, with_shape ? 3 : 2,
                                    &U, 1));
        CHECK(U.rank == 4 && U.dims[2] == out[2] && U.dims[3] == out[3]);
        size_t total = (size_t)(2 * 3 * out[2] * out[3]);
        double *want = ox_calloc(total, sizeof(double));
        const int64_t *idx = P[1].data;
        for (size_t j = 0; j < ox_tensor_count(&P[0]); j++) {
            /* the index is into the 2x3x6x6 unpooled block */
            size_t v = (size_t)idx[j], w = v % 6, h = v / 6 % 6, pl = v / 36;
            want[(pl * (size_t)out[2] + h) * (size_t)out[3] + w] = ox_tensor_get_double(&P[0], j);
        }
        ox_test_failures += nn_expect(&U, want, total, 0, "MaxUnpool");
        ox_free(want);
        nn_free(P, 2);
        nn_free(&U, 1);
        nn_free(&S, 1);
        nn_free(&X, 1);
    }
    /* an index outside the unpooled tensor is a runtime error */
    ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 1, 1, 1}), U;
    int64_t bad = 4;
    ox_tensor I = tt_make(ONYX_DTYPE_INT64, 4, (int64_t[]){1, 1, 1, 1}, &bad);
    ox_node *up = tn_node("MaxUnpool", 2, 1);
    tn_ints(up, "kernel_shape", 2, (int64_t[]){2, 2});
    CHECK(ox_op_run_single(up, 11, (ox_tensor *[]){&X, &I}, 2, &U, 1) == ONYX_ERR_RUNTIME);
    nn_free(&X, 1);
    nn_free(&I, 1);
}

/* The 2-D float MaxPool row kernels (kernels/pool_rows.h) on every instruction-set
 * path, on widths that fill whole vectors and leave odd tails, strides 1 to 3; with
 * stride 2, at most one column of left padding and windows 1 to 3 wide the one-pass
 * row kernel (ceil mode and right padding reaching past the input too, windows cut
 * by top and bottom padding between runs of whole ones). */
TEST(nn_maxpool2d_rows_all_paths) {
    static const unsigned limits[] = {0, OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C, ~0u};
    static const int64_t widths[] = {16, 33, 55, 111, 113};
    unsigned saved = ox_cpu_limit(~0u);
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
        ox_cpu_limit(limits[l]);
        for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
            for (int64_t s = 1; s <= 3; s++)
                for (int v = 0; v < 9; v++) {
                    pool_case pc;
                    memset(&pc, 0, sizeof pc);
                    pc.kind = P_MAX;
                    pc.nd = 2;
                    pc.N = 1;
                    pc.C = 3;
                    pc.dtype = ONYX_DTYPE_FLOAT;
                    pc.give_strides = pc.give_dilations = pc.give_pads = 1;
                    pc.in[0] = 9 + (int64_t)(wi % 2);
                    pc.in[1] = widths[wi];
                    pc.k[0] = 3;
                    pc.k[1] = v == 3 ? 5 : v == 4 || v == 7 ? 2 : v == 5 || v == 8 ? 1 : 3;
                    pc.s[0] = pc.s[1] = s;
                    pc.d[0] = 1;
                    pc.d[1] = v == 2 ? 2 : 1;
                    pc.pads[1] = pc.pads[3] = v & 1 && v < 4;
                    pc.pads[3] += v == 6;
                    if (v >= 7) pc.pads[0] = pc.pads[1] = 1; /* top and left */
                    pc.pads[2] = v == 8;                       /* bottom */
                    pc.ceil = v == 1 || (v >= 4 && v != 8);
                    run_pool_case(&pc, NULL);
                }
    }
    ox_cpu_limit(saved);
}

/* NaN inputs never win, on the one-pass stride-2 row kernel as on the portable
 * loops ("v > m ? v : m" from -inf): both give the same outputs, bit for bit. */
TEST(nn_maxpool2d_s2_nan_like_portable) {
    for (int pad = 0; pad < 2; pad++) { /* the one-pass kernel without and with a left pad */
        ox_node *n = tn_node("MaxPool", 1, 1);
        tn_ints(n, "kernel_shape", 2, (int64_t[]){3, 3});
        tn_ints(n, "strides", 2, (int64_t[]){2, 2});
        tn_int(n, "ceil_mode", 1);
        if (pad) tn_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
        ox_tensor X = nn_rand(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 7, 37});
        float *x = X.data;
        for (size_t i = 0; i < ox_tensor_count(&X); i += 5) x[i] = i % 3 ? NAN : -INFINITY;
        ox_tensor Y[2];
        unsigned saved = ox_cpu_limit(~0u);
        for (int l = 0; l < 2; l++) {
            ox_cpu_limit(l ? 0u : ~0u);
            REQUIRE_OK(ox_op_run_single(n, 12, (ox_tensor *[]){&X}, 1, &Y[l], 1));
        }
        ox_cpu_limit(saved);
        REQUIRE(ox_tensor_count(&Y[0]) == ox_tensor_count(&Y[1]));
        const float *a = Y[0].data, *b = Y[1].data;
        for (size_t i = 0; i < ox_tensor_count(&Y[0]); i++)
            CHECK(memcmp(&a[i], &b[i], sizeof *a) == 0);
        nn_free(Y, 2);
        nn_free(&X, 1);
    }
}

/* ---- no allocation per node in a run ------------------------------------------------ */

/* Allocations of the second run of `pools` MaxPools (3x3, stride 1, pads 1) in a row
 * on a 2 x 9 x 11 input: the first run builds what runs reuse. */
static size_t allocs_of_maxpools(int pools) {
    int64_t dims[4] = {1, 2, 9, 11};
    float x[2 * 9 * 11];
    for (int i = 0; i < 2 * 9 * 11; i++) x[i] = (float)sin(i * 0.7);
    mbuild mb;
    mb_begin(&mb, 4, dims);
    for (int i = 0; i < pools; i++) {
        char in[8], out[8];
        snprintf(in, sizeof in, i ? "p%d" : "x", i);
        snprintf(out, sizeof out, i + 1 < pools ? "p%d" : "y", i + 1);
        pbuf n = {0};
        f_str(&n, 1, in);
        f_str(&n, 2, out);
        f_str(&n, 3, out);
        f_str(&n, 4, "MaxPool");
        static const char *const names[3] = {"kernel_shape", "strides", "pads"};
        static const int64_t vals[3] = {3, 1, 1};
        for (int a = 0; a < 3; a++) {
            pbuf at = {0};
            f_str(&at, 1, names[a]);
            for (int j = 0; j < (a == 2 ? 4 : 2); j++) f_int(&at, 8, vals[a]);
            f_int(&at, 20, 7); /* AttributeProto.INTS */
            f_msg(&n, 5, &at);
        }
        f_msg(&mb.g, 1, &n);
    }
    mb_output(&mb, "y");
    pbuf m = {0};
    mb_model(&mb, &m);
    onyx_model *model = NULL;
    onyx_session *s = NULL;
    onyx_tensor *in = NULL, *out = NULL;
    size_t made = (size_t)-1;
    const char *name = "x";
    if (onyx_model_load_buffer(m.p, m.n, &model) == ONYX_OK &&
        onyx_session_create(model, NULL, &s) == ONYX_OK &&
        onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 4, dims, x, sizeof x, &in) == ONYX_OK &&
        onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, 1, NULL, &out) == ONYX_OK) {
        onyx_tensor_free(out);
        out = NULL;
        mb_count_start();
        onyx_status st = onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, 1, NULL, &out);
        made = mb_count_stop();
        if (st != ONYX_OK) made = (size_t)-1;
    }
    onyx_tensor_free(out);
    onyx_tensor_free(in);
    onyx_session_free(s);
    onyx_model_free(model);
    free(m.p);
    free(mb.g.p);
    return made;
}

/* A run of a static plan allocates its outputs and its own bookkeeping, nothing per
 * node: one MaxPool or five, the same count (the pools' index ranges live in their
 * workspace). */
TEST(nn_pool_run_allocates_nothing_per_node) {
    size_t one = allocs_of_maxpools(1), five = allocs_of_maxpools(5);
    CHECK(one != (size_t)-1 && one == five);
    if (one != five) fprintf(stderr, "  1 MaxPool: %zu allocations, 5: %zu\n", one, five);
}
