/* Det (against cofactor expansion), BitCast (bytes unchanged) and the random ops
 * (shapes, types, ranges, seeded repeatability and sample statistics). */
#include "misc_testutil.h"

/* ---- Det ------------------------------------------------------------------------------ */

static double cofactor_det(const double *a, int m) {
    if (m == 0) return 1;
    if (m == 1) return a[0];
    double sub[36], det = 0;
    for (int c = 0; c < m; c++) {
        int k = 0;
        for (int i = 1; i < m; i++)
            for (int j = 0; j < m; j++)
                if (j != c) sub[k++] = a[i * m + j];
        det += (c % 2 ? -1 : 1) * a[c] * cofactor_det(sub, m - 1);
    }
    return det;
}

TEST(det_random) {
    const int32_t dts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16};
    for (int rep = 0; rep < 60; rep++) {
        int32_t dt = dts[rep % 4], nb = et_rnd(3), rank = nb + 2;
        int64_t dims[OX_MAX_RANK];
        mt_dims(nb, dims, 0, 3);
        int m = et_rnd(6);
        dims[nb] = dims[nb + 1] = m;
        ox_tensor x = mt_make(dt, rank, dims), y;
        size_t n = ox_tensor_count(&x), mm = (size_t)(m * m);
        for (size_t i = 0; i < n; i++) mt_set(&x, i, mt_uniform(-2, 2));
        if (rep % 7 == 0 && m >= 2 && n) /* a singular matrix: two equal rows */
            for (int j = 0; j < m; j++) mt_set(&x, (size_t)(m + j), mt_get(&x, (size_t)j));
        ox_node *nd = tn_node("Det", 1, 1);
        REQUIRE_OK(mt_run(nd, 22, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(y.rank == nb && y.dtype == dt);
        size_t batch = mm ? n / mm : ox_shape_count(nb, dims);
        for (size_t b = 0; b < batch; b++) {
            double a[36];
            for (size_t i = 0; i < mm; i++) a[i] = mt_get(&x, b * mm + i);
            double want = cofactor_det(a, m), tol = dt == ONYX_DTYPE_DOUBLE ? 1e-12 : dt == ONYX_DTYPE_FLOAT ? 1e-5 : 2e-2;
            CHECK(fabs(mt_get(&y, b) - want) <= tol * (1 + fabs(want)) * 4);
        }
        ox_tensor_free_data(&x), ox_tensor_free_data(&y);
    }
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, NULL), y;
    ox_node *nd = tn_node("Det", 1, 1);
    CHECK(mt_run(nd, 22, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- BitCast -------------------------------------------------------------------------- */

TEST(bitcast_bytes) {
    static const int32_t groups[][6] = {
        {ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8, ONYX_DTYPE_BOOL, ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E5M2, 0},
        {ONYX_DTYPE_INT16, ONYX_DTYPE_UINT16, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_BFLOAT16, 0},
        {ONYX_DTYPE_INT32, ONYX_DTYPE_UINT32, ONYX_DTYPE_FLOAT, 0},
        {ONYX_DTYPE_INT64, ONYX_DTYPE_UINT64, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_COMPLEX64, 0},
    };
    for (int rep = 0; rep < 60; rep++) {
        const int32_t *g = groups[rep % 4];
        int ng = 0;
        while (g[ng]) ng++;
        int32_t from = g[et_rnd(ng)], to = g[et_rnd(ng)], rank = et_rnd(3);
        int64_t dims[3];
        mt_dims(rank, dims, 0, 4);
        ox_tensor x = mt_make(from, rank, dims), y;
        size_t bytes = ox_tensor_nbytes(&x);
        uint8_t *p = x.data;
        for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)et_rnd(256);
        if (from == ONYX_DTYPE_BOOL)
            for (size_t i = 0; i < bytes; i++) p[i] &= 1;
        ox_node *nd = tn_node("BitCast", 1, 1);
        tn_int(nd, "to", to);
        REQUIRE_OK(mt_run(nd, 26, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(y.dtype == to && y.rank == rank && ox_tensor_nbytes(&y) == bytes);
        CHECK(bytes == 0 || memcmp(x.data, y.data, bytes) == 0);
        ox_tensor_free_data(&x), ox_tensor_free_data(&y);
    }
    /* 4-bit: the nibble is kept, INT4 sign-extends it */
    static const int32_t nib[] = {ONYX_DTYPE_INT4, ONYX_DTYPE_UINT4, ONYX_DTYPE_FLOAT4E2M1};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            ox_tensor x = mt_make(nib[a], 1, (int64_t[]){16}), y;
            for (int v = 0; v < 16; v++)
                ((uint8_t *)x.data)[v] = (uint8_t)(nib[a] == ONYX_DTYPE_INT4 && v >= 8 ? v | 0xF0 : v);
            ox_node *nd = tn_node("BitCast", 1, 1);
            tn_int(nd, "to", nib[b]);
            REQUIRE_OK(mt_run(nd, 26, (ox_tensor *[]){&x}, 1, &y, 1));
            for (int v = 0; v < 16; v++) {
                uint8_t want = (uint8_t)(nib[b] == ONYX_DTYPE_INT4 && v >= 8 ? v | 0xF0 : v);
                CHECK(((uint8_t *)y.data)[v] == want);
            }
            ox_tensor_free_data(&x), ox_tensor_free_data(&y);
        }
    ox_tensor x = mt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){2}), y;
    ox_node *nd = tn_node("BitCast", 1, 1);
    tn_int(nd, "to", ONYX_DTYPE_INT16);
    CHECK(mt_run(nd, 26, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    nd = tn_node("BitCast", 1, 1);
    tn_int(nd, "to", ONYX_DTYPE_STRING);
    CHECK(mt_run(nd, 26, (ox_tensor *[]){&x}, 1, &y, 1) != ONYX_OK);
    nd = tn_node("BitCast", 1, 1);
    CHECK(mt_run(nd, 26, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x);
    tn_reset();
}

/* ---- random ------------------------------------------------------------------------- */

static void moments(const ox_tensor *y, double *mean, double *var, double *mn, double *mx) {
    size_t n = ox_tensor_count(y);
    double s = 0, s2 = 0;
    *mn = INFINITY, *mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = mt_get(y, i);
        s += v, s2 += v * v;
        *mn = fmin(*mn, v), *mx = fmax(*mx, v);
    }
    *mean = s / (double)n;
    *var = s2 / (double)n - *mean * *mean;
}

TEST(random_uniform_and_normal) {
    for (int rep = 0; rep < 8; rep++) {
        int normal = rep % 2, like = (rep / 2) % 2, seeded = (rep / 4) % 2;
        int32_t dt = rep % 3 == 0 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        const char *op = normal ? (like ? "RandomNormalLike" : "RandomNormal")
                                : (like ? "RandomUniformLike" : "RandomUniform");
        int64_t dims[2] = {100, 200};
        ox_tensor in = mt_make(dt, 2, dims), y1, y2;
        ox_node *nd = tn_node(op, like ? 1 : 0, 1);
        if (!like) tn_ints(nd, "shape", 2, dims);
        if (!like || et_rnd(2)) tn_int(nd, "dtype", dt);
        if (seeded) tn_float(nd, "seed", (float)(rep * 7));
        double a = normal ? 3.0 : -2.0, b = normal ? 0.5 : 5.0;
        tn_float(nd, normal ? "mean" : "low", (float)a);
        tn_float(nd, normal ? "scale" : "high", (float)b);
        REQUIRE_OK(mt_run(nd, 22, (ox_tensor *[]){&in}, like ? 1 : 0, &y1, 1));
        REQUIRE_OK(mt_run(nd, 22, (ox_tensor *[]){&in}, like ? 1 : 0, &y2, 1));
        CHECK(y1.dtype == dt && y1.rank == 2 && y1.dims[0] == 100 && y1.dims[1] == 200);
        double mean, var, mn, mx;
        moments(&y1, &mean, &var, &mn, &mx);
        if (normal) {
            CHECK(fabs(mean - a) < 0.02 && fabs(sqrt(var) - b) < 0.02);
        } else {
            CHECK(mn >= a && mx < b && fabs(mean - (a + b) / 2) < 0.1);
            CHECK(fabs(var - (b - a) * (b - a) / 12) < 0.1);
        }
        int same = memcmp(y1.data, y2.data, ox_tensor_nbytes(&y1)) == 0;
        CHECK(seeded ? same : !same);
        ox_tensor_free_data(&in), ox_tensor_free_data(&y1), ox_tensor_free_data(&y2);
    }
    ox_tensor s = mt_make(ONYX_DTYPE_INT32, 1, (int64_t[]){3}), y;
    ox_node *nd = tn_node("RandomUniformLike", 1, 1); /* int32 input and no dtype */
    CHECK(mt_run(nd, 22, (ox_tensor *[]){&s}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    nd = tn_node("RandomNormal", 0, 1); /* no shape */
    CHECK(mt_run(nd, 22, NULL, 0, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&s);
    tn_reset();
}

TEST(bernoulli_and_multinomial) {
    const int32_t outs[] = {0, ONYX_DTYPE_BOOL, ONYX_DTYPE_INT32, ONYX_DTYPE_DOUBLE};
    for (int rep = 0; rep < 8; rep++) {
        int64_t n = 20000;
        ox_tensor p = mt_make(ONYX_DTYPE_FLOAT, 1, &n), y;
        for (int64_t i = 0; i < n; i++) mt_set(&p, (size_t)i, i % 4 == 0 ? 0.0 : i % 4 == 1 ? 1.0 : 0.3);
        ox_node *nd = tn_node("Bernoulli", 1, 1);
        if (outs[rep % 4]) tn_int(nd, "dtype", outs[rep % 4]);
        if (rep % 2) tn_float(nd, "seed", 5.0f);
        REQUIRE_OK(mt_run(nd, 22, (ox_tensor *[]){&p}, 1, &y, 1));
        CHECK(y.dtype == (outs[rep % 4] ? outs[rep % 4] : ONYX_DTYPE_FLOAT));
        double ones = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = mt_get(&y, (size_t)i);
            CHECK(v == 0 || v == 1);
            if (i % 4 == 0) CHECK(v == 0);
            if (i % 4 == 1) CHECK(v == 1);
            if (i % 4 >= 2) ones += v;
        }
        CHECK(fabs(ones / (double)(n / 2) - 0.3) < 0.02);
        ox_tensor_free_data(&y);
        mt_set(&p, 7, 1.5); /* not a probability */
        CHECK(mt_run(nd, 22, (ox_tensor *[]){&p}, 1, &y, 1) == ONYX_ERR_RUNTIME);
        ox_tensor_free_data(&p);
    }
    /* classes with probabilities 0.2, 0.8 and ~0 (log-probabilities, shifted) */
    for (int rep = 0; rep < 4; rep++) {
        double lp[3] = {log(0.2) + 5, log(0.8) + 5, -1000};
        ox_tensor x = mt_make(rep % 2 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}), y;
        for (int i = 0; i < 6; i++) mt_set(&x, (size_t)i, lp[i % 3]);
        ox_node *nd = tn_node("Multinomial", 1, 1);
        tn_int(nd, "sample_size", 10000);
        if (rep / 2) tn_int(nd, "dtype", ONYX_DTYPE_INT64);
        REQUIRE_OK(mt_run(nd, 22, (ox_tensor *[]){&x}, 1, &y, 1));
        CHECK(y.dtype == (rep / 2 ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32) && y.dims[0] == 2 && y.dims[1] == 10000);
        double cnt[3] = {0};
        for (size_t i = 0; i < 20000; i++) {
            int64_t v = ox_tensor_get_int(&y, i);
            CHECK(v >= 0 && v < 3);
            if (v >= 0 && v < 3) cnt[v]++;
        }
        CHECK(cnt[2] == 0 && fabs(cnt[0] / 20000 - 0.2) < 0.02);
        ox_tensor_free_data(&x), ox_tensor_free_data(&y);
    }
    tn_reset();
}
