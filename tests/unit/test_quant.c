/* QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear against references
 * written here: each element's scale is found from its multi-index. */
#include "misc_testutil.h"

enum { M_TENSOR, M_AXIS, M_BLOCK };

typedef struct {
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
    int32_t axis; /* normalised */
    int64_t block;
    int mode;
    ox_tensor scale_shape; /* dims only */
} qgeom;

/* A random x shape and the matching scale shape for the mode. */
static void q_geom(int mode, qgeom *g) {
    memset(g, 0, sizeof *g);
    g->mode = mode;
    g->rank = mode == M_TENSOR ? et_rnd(4) : 1 + et_rnd(3);
    mt_dims(g->rank, g->dims, 1, 5);
    if (mode == M_TENSOR && g->rank && et_rnd(6) == 0) g->dims[et_rnd(g->rank)] = 0;
    if (mode == M_TENSOR) return;
    g->axis = et_rnd(g->rank);
    if (g->dims[g->axis] == 1) g->dims[g->axis] = 2 + et_rnd(4); /* more than one scale */
    ox_tensor *s = &g->scale_shape;
    if (mode == M_AXIS) {
        s->rank = 1;
        s->dims[0] = g->dims[g->axis];
        return;
    }
    g->block = 1 + et_rnd(3);
    s->rank = g->rank;
    memcpy(s->dims, g->dims, sizeof g->dims);
    s->dims[g->axis] = (g->dims[g->axis] + g->block - 1) / g->block;
    if (s->dims[g->axis] == 1) g->block = g->dims[g->axis] - 1, s->dims[g->axis] = 2;
}

/* The scale index of x's element e. */
static size_t q_sidx(const qgeom *g, size_t e) {
    if (g->mode == M_TENSOR) return 0;
    int64_t idx[OX_MAX_RANK];
    size_t rem = e;
    for (int32_t d = g->rank - 1; d >= 0; d--) {
        idx[d] = (int64_t)(rem % (size_t)g->dims[d]);
        rem /= (size_t)g->dims[d];
    }
    if (g->mode == M_AXIS) return (size_t)idx[g->axis];
    size_t s = 0;
    for (int32_t d = 0; d < g->rank; d++) {
        int64_t j = d == g->axis ? idx[d] / g->block : idx[d];
        s = s * (size_t)g->scale_shape.dims[d] + (size_t)j;
    }
    return s;
}

static void q_range(int32_t t, double *lo, double *hi) {
    switch (t) {
    case ONYX_DTYPE_INT8: *lo = -128, *hi = 127; break;
    case ONYX_DTYPE_UINT8: *lo = 0, *hi = 255; break;
    case ONYX_DTYPE_INT16: *lo = -32768, *hi = 32767; break;
    case ONYX_DTYPE_UINT16: *lo = 0, *hi = 65535; break;
    case ONYX_DTYPE_INT4: *lo = -8, *hi = 7; break;
    case ONYX_DTYPE_UINT4: *lo = 0, *hi = 15; break;
    case ONYX_DTYPE_INT2: *lo = -2, *hi = 1; break;
    case ONYX_DTYPE_UINT2: *lo = 0, *hi = 3; break;
    default: *lo = -6, *hi = 6; break; /* float types: a spread of values */
    }
}

static int is_intq(int32_t t) {
    return t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_UINT8 || t == ONYX_DTYPE_INT16 ||
           t == ONYX_DTYPE_UINT16 || t == ONYX_DTYPE_INT4 || t == ONYX_DTYPE_UINT4 || t == ONYX_DTYPE_INT2 ||
           t == ONYX_DTYPE_UINT2;
}

static double round_in(int32_t t, double v) {
    if (t == ONYX_DTYPE_FLOAT16) return ox_f16_to_f32(ox_f64_to_f16(v));
    if (t == ONYX_DTYPE_BFLOAT16) return ox_bf16_to_f32(ox_f64_to_bf16(v));
    return (float)v;
}

/* x of type xt, scale of type st (the division's precision when both are the same
 * float16/bfloat16, float32 otherwise), output yt. */
static void check_quantize(int32_t xt, int32_t st, int32_t yt, int mode, int with_zp, int64_t opset) {
    qgeom g;
    q_geom(mode, &g);
    int axis_attr = g.axis - (et_rnd(2) ? g.rank : 0);
    ox_tensor x = mt_make(xt, g.rank, g.dims);
    int32_t srank = mode == M_TENSOR ? et_rnd(2) : g.scale_shape.rank;
    int64_t one = 1;
    const int64_t *sdims = mode == M_TENSOR ? &one : g.scale_shape.dims;
    ox_tensor sc = mt_make(st, srank, sdims), zp = mt_make(yt, srank, sdims);
    double lo, hi;
    q_range(yt, &lo, &hi);
    size_t ns = ox_tensor_count(&sc), nx = ox_tensor_count(&x);
    for (size_t i = 0; i < ns; i++) {
        /* powers of two make exact ties (k + 0.5) reachable */
        mt_set(&sc, i, et_rnd(3) ? ldexp(1.0, et_rnd(4) - 2) : mt_uniform(0.3, 3.0));
        mt_set(&zp, i, is_intq(yt) && with_zp ? floor(mt_uniform(lo, hi + 1)) : 0);
    }
    for (size_t i = 0; i < nx; i++) {
        double s = mt_get(&sc, q_sidx(&g, i)), v;
        if (et_rnd(4) == 0) v = (floor(mt_uniform(lo, hi)) + 0.5) * s;
        else v = mt_uniform(lo - (hi - lo) * 0.3, hi + (hi - lo) * 0.3) * s;
        mt_set(&x, i, xt == ONYX_DTYPE_INT32 ? floor(v) : v);
    }
    ox_node *n = tn_node("QuantizeLinear", with_zp ? 3 : 2, 1);
    if (mode != M_TENSOR || et_rnd(2)) tn_int(n, "axis", axis_attr);
    if (mode == M_BLOCK) tn_int(n, "block_size", g.block);
    if (!with_zp && yt != ONYX_DTYPE_UINT8) tn_int(n, "output_dtype", yt);
    ox_tensor y;
    REQUIRE_OK(mt_run(n, opset, (ox_tensor *[]){&x, &sc, &zp}, with_zp ? 3 : 2, &y, 1));
    CHECK(y.dtype == yt && y.rank == x.rank);
    int32_t prec = xt == st && xt != ONYX_DTYPE_INT32 ? xt : ONYX_DTYPE_FLOAT;
    if (xt == ONYX_DTYPE_INT32) prec = ONYX_DTYPE_DOUBLE;
    int bad = 0;
    for (size_t i = 0; i < nx && bad < 5; i++) {
        size_t si = q_sidx(&g, i);
        double q = mt_get(&x, i) / mt_get(&sc, si);
        if (prec != ONYX_DTYPE_DOUBLE) q = round_in(prec, q);
        double want, got = mt_get(&y, i);
        if (is_intq(yt)) {
            want = nearbyint(q) + mt_get(&zp, si);
            want = want < lo ? lo : want > hi ? hi : want;
        } else {
            uint64_t buf[2];
            ox_tensor w = {.dtype = yt, .rank = 0, .data = buf};
            mt_set(&w, 0, q);
            want = mt_get(&w, 0);
        }
        if (!(got == want || (isnan(got) && isnan(want)))) {
            fprintf(stderr, "  quantize %s->%s mode %d: y[%zu] = %g, expected %g (x %g, s %g)\n",
                    ox_dtype_name(xt), ox_dtype_name(yt), mode, i, got, want, mt_get(&x, i),
                    mt_get(&sc, si));
            bad++;
        }
    }
    CHECK(bad == 0);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&sc);
    ox_tensor_free_data(&zp);
    ox_tensor_free_data(&y);
}

TEST(quantize_linear_integer_types) {
    const int32_t ys[] = {ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8, ONYX_DTYPE_INT16, ONYX_DTYPE_UINT16,
                          ONYX_DTYPE_INT4, ONYX_DTYPE_UINT4};
    for (int rep = 0; rep < 12; rep++)
        for (size_t k = 0; k < sizeof ys / sizeof *ys; k++)
            for (int mode = 0; mode < 3; mode++) check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ys[k], mode, rep % 3 != 0, 21 + rep % 5);
    /* the 2-bit types come with opset 25 */
    for (int rep = 0; rep < 6; rep++)
        for (int mode = 0; mode < 3; mode++) {
            check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT2, mode, rep % 3 != 0, 25);
            check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ONYX_DTYPE_UINT2, mode, rep % 3 != 0, 25);
        }
    tn_reset();
}

TEST(quantize_linear_old_opsets) {
    for (int rep = 0; rep < 10; rep++) {
        check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, rep % 2 ? ONYX_DTYPE_INT8 : ONYX_DTYPE_UINT8, M_TENSOR, 1, 10);
        check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT8, M_AXIS, 1, 13);
        check_quantize(ONYX_DTYPE_INT32, ONYX_DTYPE_FLOAT, ONYX_DTYPE_UINT8, M_AXIS, 1, 13);
    }
    tn_reset();
}

TEST(quantize_linear_half_precision_inputs) {
    for (int rep = 0; rep < 10; rep++) {
        check_quantize(ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_INT8, rep % 3, 1, 21);
        check_quantize(ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_BFLOAT16, ONYX_DTYPE_UINT8, rep % 3, 1, 21);
        check_quantize(ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT16, rep % 3, 1, 23);
    }
    tn_reset();
}

TEST(quantize_linear_float_outputs) {
    const int32_t ys[] = {ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E4M3FNUZ, ONYX_DTYPE_FLOAT8E5M2,
                          ONYX_DTYPE_FLOAT8E5M2FNUZ, ONYX_DTYPE_FLOAT4E2M1};
    for (int rep = 0; rep < 8; rep++)
        for (size_t k = 0; k < sizeof ys / sizeof *ys; k++)
            check_quantize(ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT, ys[k], rep % 3, rep % 2, 25);
    tn_reset();
}

/* Without saturate, float8 values out of range become NaN (or inf for e5m2). */
TEST(quantize_linear_float8_no_saturate) {
    float xs[3] = {1e6f, -1e6f, 2.0f};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, xs);
    float one = 1.0f;
    ox_tensor s = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &one);
    ox_node *n = tn_node("QuantizeLinear", 2, 1);
    tn_int(n, "saturate", 0);
    tn_int(n, "output_dtype", ONYX_DTYPE_FLOAT8E4M3FN);
    ox_tensor y;
    REQUIRE_OK(mt_run(n, 21, (ox_tensor *[]){&x, &s}, 2, &y, 1));
    CHECK(isnan(mt_get(&y, 0)) && isnan(mt_get(&y, 1)) && mt_get(&y, 2) == 2.0);
    ox_tensor_free_data(&y);
    n = tn_node("QuantizeLinear", 2, 1);
    tn_int(n, "output_dtype", ONYX_DTYPE_FLOAT8E4M3FN);
    REQUIRE_OK(mt_run(n, 21, (ox_tensor *[]){&x, &s}, 2, &y, 1));
    CHECK(mt_get(&y, 0) == 448.0 && mt_get(&y, 1) == -448.0);
    ox_tensor_free_data(&y);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&s);
    tn_reset();
}

static void check_dequantize(int32_t xt, int32_t st, int32_t yt_attr, int mode, int with_zp, int64_t opset) {
    qgeom g;
    q_geom(mode, &g);
    ox_tensor x = mt_make(xt, g.rank, g.dims);
    int32_t srank = mode == M_TENSOR ? et_rnd(2) : g.scale_shape.rank;
    int64_t one = 1;
    const int64_t *sdims = mode == M_TENSOR ? &one : g.scale_shape.dims;
    ox_tensor sc = mt_make(st, srank, sdims), zp = mt_make(xt, srank, sdims);
    double lo, hi;
    q_range(xt, &lo, &hi);
    if (xt == ONYX_DTYPE_INT32) lo = -1e6, hi = 1e6;
    size_t ns = ox_tensor_count(&sc), nx = ox_tensor_count(&x);
    int fx = !is_intq(xt) && xt != ONYX_DTYPE_INT32;
    for (size_t i = 0; i < ns; i++) {
        mt_set(&sc, i, mt_uniform(0.01, 2.0));
        mt_set(&zp, i, with_zp && !fx ? floor(mt_uniform(lo, hi + 1)) : 0);
    }
    for (size_t i = 0; i < nx; i++) mt_set(&x, i, fx ? mt_uniform(lo, hi) : floor(mt_uniform(lo, hi + 1)));
    ox_node *n = tn_node("DequantizeLinear", with_zp ? 3 : 2, 1);
    if (mode != M_TENSOR) tn_int(n, "axis", g.axis);
    if (mode == M_BLOCK) tn_int(n, "block_size", g.block);
    if (yt_attr) tn_int(n, "output_dtype", yt_attr);
    ox_tensor y;
    REQUIRE_OK(mt_run(n, opset, (ox_tensor *[]){&x, &sc, &zp}, with_zp ? 3 : 2, &y, 1));
    int32_t yt = yt_attr ? yt_attr : st;
    CHECK(y.dtype == yt);
    int bad = 0;
    for (size_t i = 0; i < nx && bad < 5; i++) {
        size_t si = q_sidx(&g, i);
        float d = (float)mt_get(&x, i) - (float)mt_get(&zp, si);
        double want = round_in(yt, (float)(d * (float)mt_get(&sc, si))), got = mt_get(&y, i);
        if (got != want) {
            fprintf(stderr, "  dequantize %s: y[%zu] = %g, expected %g\n", ox_dtype_name(xt), i, got, want);
            bad++;
        }
    }
    CHECK(bad == 0);
    ox_tensor_free_data(&x);
    ox_tensor_free_data(&sc);
    ox_tensor_free_data(&zp);
    ox_tensor_free_data(&y);
}

TEST(dequantize_linear_types_and_modes) {
    const int32_t xs[] = {ONYX_DTYPE_INT8,  ONYX_DTYPE_UINT8,          ONYX_DTYPE_INT16,
                          ONYX_DTYPE_UINT16, ONYX_DTYPE_INT32,         ONYX_DTYPE_INT4,
                          ONYX_DTYPE_UINT4,  ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E5M2,
                          ONYX_DTYPE_FLOAT4E2M1, ONYX_DTYPE_INT2,         ONYX_DTYPE_UINT2};
    for (int rep = 0; rep < 8; rep++)
        for (size_t k = 0; k < sizeof xs / sizeof *xs; k++)
            for (int mode = 0; mode < 3; mode++) {
                int32_t st = rep % 3 == 0 ? ONYX_DTYPE_FLOAT16 : rep % 3 == 1 ? ONYX_DTYPE_BFLOAT16 : ONYX_DTYPE_FLOAT;
                int32_t yt = rep % 4 == 3 ? ONYX_DTYPE_FLOAT : 0;
                check_dequantize(xs[k], st, yt, mode, rep % 2, 25);
            }
    for (int rep = 0; rep < 6; rep++) {
        check_dequantize(ONYX_DTYPE_UINT8, ONYX_DTYPE_FLOAT, 0, M_TENSOR, rep % 2, 10);
        check_dequantize(ONYX_DTYPE_INT8, ONYX_DTYPE_FLOAT, 0, M_AXIS, rep % 2, 13);
    }
    tn_reset();
}

/* Malformed scales, zero points and attributes are errors, never crashes. */
TEST(quantize_linear_errors) {
    float xs[6] = {1, 2, 3, 4, 5, 6}, s3[3] = {1, 1, 1};
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, xs);
    ox_tensor s3t = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){3}, s3);
    ox_tensor s2t = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, s3);
    ox_tensor zp2 = tt_make(ONYX_DTYPE_UINT8, 1, (int64_t[]){2}, NULL);
    ox_tensor zi4 = tt_make(ONYX_DTYPE_INT4, 1, (int64_t[]){3}, NULL);
    ox_tensor y;
    ox_node *n = tn_node("QuantizeLinear", 2, 1); /* axis 1 has 3 values, scale has 2 */
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &s2t}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("QuantizeLinear", 3, 1); /* zero point shape differs */
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &s3t, &zp2}, 3, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("QuantizeLinear", 2, 1);
    tn_int(n, "axis", 2);
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &s3t}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("QuantizeLinear", 3, 1); /* int4 before opset 21 */
    CHECK(mt_run(n, 19, (ox_tensor *[]){&x, &s3t, &zi4}, 3, &y, 1) == ONYX_ERR_UNSUPPORTED);
    n = tn_node("QuantizeLinear", 3, 1);
    tn_int(n, "output_dtype", ONYX_DTYPE_INT8); /* differs from the zero point's int4 */
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &s3t, &zi4}, 3, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("QuantizeLinear", 2, 1); /* blocked: 3 positions, block 1 needs 3 scales */
    tn_int(n, "axis", 1);
    tn_int(n, "block_size", 1);
    ox_tensor sb = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 2}, NULL);
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &sb}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("QuantizeLinear", 2, 1);
    tn_int(n, "block_size", -1);
    CHECK(mt_run(n, 21, (ox_tensor *[]){&x, &s3t}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("DequantizeLinear", 3, 1); /* zero point type differs from x */
    ox_tensor xi8 = tt_make(ONYX_DTYPE_INT8, 2, (int64_t[]){2, 3}, NULL);
    CHECK(mt_run(n, 21, (ox_tensor *[]){&xi8, &s3t, &zi4}, 3, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor *all[] = {&x, &s3t, &s2t, &zp2, &zi4, &sb, &xi8};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) ox_tensor_free_data(all[i]);
    tn_reset();
}

/* The reference's float32 steps, written out. */
static void check_dynquant(int32_t rank, const int64_t *dims, double lo, double hi) {
    ox_tensor x = mt_make(ONYX_DTYPE_FLOAT, rank, dims);
    size_t n = ox_tensor_count(&x);
    float *xp = x.data;
    for (size_t i = 0; i < n; i++) xp[i] = (float)mt_uniform(lo, hi);
    ox_tensor out[3];
    ox_node *nd = tn_node("DynamicQuantizeLinear", 1, 3);
    REQUIRE_OK(mt_run(nd, 11, (ox_tensor *[]){&x}, 1, out, 3));
    float mx = 0, mn = 0;
    for (size_t i = 0; i < n; i++) mx = xp[i] > mx ? xp[i] : mx, mn = xp[i] < mn ? xp[i] : mn;
    float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    float z0 = 0.0f - mn / scale;
    float zp = nearbyintf(z0 < 0 ? 0 : z0 > 255 ? 255 : z0);
    CHECK(out[1].rank == 0 && *(float *)out[1].data == scale);
    CHECK(out[2].rank == 0 && *(uint8_t *)out[2].data == (uint8_t)zp);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float v = nearbyintf(xp[i] / scale) + zp;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        if (((uint8_t *)out[0].data)[i] != (uint8_t)v) bad++;
    }
    CHECK(bad == 0);
    for (int k = 0; k < 3; k++) ox_tensor_free_data(&out[k]);
    ox_tensor_free_data(&x);
}

TEST(dynamic_quantize_linear) {
    for (int rep = 0; rep < 20; rep++) {
        int32_t rank = et_rnd(4);
        int64_t dims[3];
        mt_dims(rank, dims, 0, 6);
        double lo = mt_uniform(-10, 5), hi = lo + mt_uniform(0, 10);
        check_dynquant(rank, dims, lo, hi);
    }
    check_dynquant(1, (int64_t[]){4}, 0, 0);   /* all zero: scale 1/255 */
    check_dynquant(1, (int64_t[]){4}, -3, -1); /* all negative: zero point 255 */
    tn_reset();
}
