/* DFT, STFT, the window ops and MelWeightMatrix against direct double-precision
 * formulas (O(n^2) DFT sums with exact integer angles). */
#include "misc_testutil.h"

#define TWO_PI 6.283185307179586476925286766559

/* X[k] = sum_j x[j] e^{-+2 pi i jk/n} over n values (x zero beyond len). */
static void naive_dft(const double *xr, const double *xi, size_t len, size_t n, int inverse, double *yr,
                      double *yi) {
    for (size_t k = 0; k < n; k++) {
        double sr = 0, si = 0;
        for (size_t j = 0; j < len && j < n; j++) {
            double a = (inverse ? TWO_PI : -TWO_PI) * (double)((j * k) % n) / (double)n;
            sr += xr[j] * cos(a) - xi[j] * sin(a);
            si += xr[j] * sin(a) + xi[j] * cos(a);
        }
        yr[k] = sr, yi[k] = si;
    }
}

static double tol_of(int32_t dt) {
    return dt == ONYX_DTYPE_FLOAT16 ? 5e-3 : dt == ONYX_DTYPE_FLOAT ? 2e-5 : 1e-9;
}

/* One DFT case: x is [outer.., n_axis, inner.., c]; checks every line. */
static void check_dft(int32_t dt, int complex_in, int inverse, int onesided, int64_t opset,
                      int with_len) {
    int32_t rank = 2 + et_rnd(3);
    int64_t dims[OX_MAX_RANK];
    mt_dims(rank - 1, dims, 1, 3);
    int32_t axis = et_rnd(rank - 1);
    static const int64_t lens[] = {1, 2, 3, 5, 8, 12, 16, 31, 64, 65, 97, 100, 128};
    dims[axis] = lens[et_rnd(13)];
    if (inverse && onesided && dims[axis] < 2) dims[axis] = 2;
    dims[rank - 1] = complex_in ? 2 : 1;
    int64_t n = with_len ? 1 + et_rnd(2 * (int)dims[axis] + 2)
                         : inverse && onesided ? 2 * (dims[axis] - 1) : dims[axis];
    ox_tensor x = mt_make(dt, rank, dims), len = tt_make(ONYX_DTYPE_INT64, 0, NULL, &n);
    size_t nx = ox_tensor_count(&x);
    for (size_t i = 0; i < nx; i++) mt_set(&x, i, mt_uniform(-1, 1));
    int64_t axis_v = et_rnd(2) ? axis : axis - rank;
    ox_tensor axt = tt_make(ONYX_DTYPE_INT64, 0, NULL, &axis_v);
    ox_node *nd = tn_node("DFT", opset >= 20 ? 3 : with_len ? 2 : 1, 1);
    if (inverse) tn_int(nd, "inverse", 1);
    if (onesided) tn_int(nd, "onesided", 1);
    ox_tensor y;
    onyx_status st;
    if (opset >= 20) {
        if (!with_len) tn_omit_input(nd, 1);
        st = mt_run(nd, opset, (ox_tensor *[]){&x, with_len ? &len : NULL, &axt}, 3, &y, 1);
    } else {
        tn_int(nd, "axis", axis_v);
        st = mt_run(nd, opset, (ox_tensor *[]){&x, &len}, with_len ? 2 : 1, &y, 1);
    }
    REQUIRE_OK(st);
    int irfft = inverse && onesided;
    size_t out_len = onesided && !inverse ? (size_t)n / 2 + 1 : (size_t)n;
    CHECK(y.rank == rank && y.dims[axis] == (int64_t)out_len && y.dims[rank - 1] == (irfft ? 1 : 2));
    size_t outer = 1, inner = 1, L = (size_t)dims[axis], cin = complex_in ? 2 : 1, cout = irfft ? 1 : 2;
    for (int32_t d = 0; d < axis; d++) outer *= (size_t)dims[d];
    for (int32_t d = axis + 1; d < rank - 1; d++) inner *= (size_t)dims[d];
    size_t N = (size_t)n;
    double *xr = ox_calloc(N + L, sizeof(double)), *xi = ox_calloc(N + L, sizeof(double));
    double *yr = ox_malloc_array(N, sizeof(double)), *yi = ox_malloc_array(N, sizeof(double));
    int bad = 0;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            memset(xr, 0, (N + L) * sizeof(double));
            memset(xi, 0, (N + L) * sizeof(double));
            for (size_t k = 0; k < L; k++) {
                size_t e = ((o * L + k) * inner + i) * cin;
                xr[k] = mt_get(&x, e);
                xi[k] = complex_in ? mt_get(&x, e + 1) : 0;
            }
            if (irfft) { /* the full Hermitian spectrum from bins 0..n/2 */
                size_t use = N / 2 + 1 < L ? N / 2 + 1 : L;
                for (size_t k = use; k < N + L; k++) xr[k] = xi[k] = 0;
                for (size_t k = 1; k < use && N - k > k; k++) xr[N - k] = xr[k], xi[N - k] = -xi[k];
            }
            naive_dft(xr, xi, irfft ? N : L, N, inverse, yr, yi);
            double sc = inverse ? 1.0 / (double)N : 1.0, mag = inverse ? 1.0 : sqrt((double)L);
            for (size_t k = 0; k < out_len; k++) {
                size_t e = ((o * out_len + k) * inner + i) * cout;
                double gr = mt_get(&y, e), wr = yr[k] * sc;
                double t = tol_of(dt) * mag * 2;
                if (fabs(gr - wr) > t) bad++;
                if (cout == 2 && fabs(mt_get(&y, e + 1) - yi[k] * sc) > t) bad++;
            }
        }
    if (bad)
        fprintf(stderr, "  DFT %s n=%lld len=%lld inverse=%d onesided=%d complex=%d: %d bad\n",
                ox_dtype_name(dt), (long long)n, (long long)L, inverse, onesided, complex_in, bad);
    CHECK(bad == 0);
    ox_free(xr), ox_free(xi), ox_free(yr), ox_free(yi);
    ox_tensor_free_data(&x), ox_tensor_free_data(&y), ox_tensor_free_data(&len), ox_tensor_free_data(&axt);
}

TEST(dft_random) {
    const int32_t dts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16};
    for (int rep = 0; rep < 160; rep++) {
        int inverse = rep % 2, onesided = (rep / 2) % 2;
        int complex_in = onesided && !inverse ? 0 : (rep / 4) % 2 || (onesided && inverse);
        check_dft(dts[rep % 3], complex_in, inverse, onesided, rep % 5 == 0 ? 17 : 20, (rep / 8) % 2);
        if (rep % 40 == 39) tn_reset();
    }
    tn_reset();
}

TEST(dft_errors) {
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 4, 3}, NULL), y;
    ox_node *n = tn_node("DFT", 1, 1); /* last dim must be 1 or 2 */
    CHECK(mt_run(n, 20, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x);
    x = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, 4, 1}, NULL);
    int64_t bad_axis = 2, zero = 0, neg = -1;
    ox_tensor ax = tt_make(ONYX_DTYPE_INT64, 0, NULL, &bad_axis);
    ox_tensor z = tt_make(ONYX_DTYPE_INT64, 0, NULL, &zero), m1 = tt_make(ONYX_DTYPE_INT64, 0, NULL, &neg);
    n = tn_node("DFT", 3, 1);
    tn_omit_input(n, 1);
    CHECK(mt_run(n, 20, (ox_tensor *[]){&x, NULL, &ax}, 3, &y, 1) == ONYX_ERR_INVALID_MODEL);
    CHECK(mt_run(n, 20, (ox_tensor *[]){&x, NULL, &m1}, 3, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("DFT", 2, 1);
    CHECK(mt_run(n, 20, (ox_tensor *[]){&x, &z}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("DFT", 1, 1);
    tn_int(n, "axis", 2);
    CHECK(mt_run(n, 17, (ox_tensor *[]){&x}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x), ox_tensor_free_data(&ax), ox_tensor_free_data(&z), ox_tensor_free_data(&m1);
    tn_reset();
}

static void check_stft(int32_t dt, int complex_in, int onesided, int with_window, int with_len) {
    int64_t B = 1 + et_rnd(2), L = 8 + et_rnd(60), fl = 1 + et_rnd((int)L), step = 1 + et_rnd(9);
    int64_t wl = with_window ? (with_len ? 1 + et_rnd((int)fl + 3) : fl) : fl;
    ox_tensor x = mt_make(dt, 3, (int64_t[]){B, L, complex_in ? 2 : 1});
    ox_tensor w = mt_make(dt, 1, &wl);
    ox_tensor stp = tt_make(et_rnd(2) ? ONYX_DTYPE_INT64 : ONYX_DTYPE_INT32, 0, NULL, NULL);
    ox_tensor flt = tt_make(ONYX_DTYPE_INT64, 0, NULL, &fl);
    mt_set(&stp, 0, (double)step);
    size_t nx = ox_tensor_count(&x);
    for (size_t i = 0; i < nx; i++) mt_set(&x, i, mt_uniform(-1, 1));
    for (int64_t i = 0; i < wl; i++) mt_set(&w, (size_t)i, mt_uniform(0, 1));
    ox_node *n = tn_node("STFT", 4, 1);
    if (!with_window) tn_omit_input(n, 2);
    if (!with_len) tn_omit_input(n, 3);
    if (!onesided) tn_int(n, "onesided", 0);
    ox_tensor y;
    REQUIRE_OK(mt_run(n, 17, (ox_tensor *[]){&x, &stp, with_window ? &w : NULL, with_len ? &flt : NULL}, 4,
                      &y, 1));
    if (!with_len && !with_window) fl = L;
    size_t frames = 1 + (size_t)((L - fl) / step), bins = onesided ? (size_t)fl / 2 + 1 : (size_t)fl;
    CHECK(y.rank == 4 && y.dims[0] == B && y.dims[1] == (int64_t)frames && y.dims[2] == (int64_t)bins &&
          y.dims[3] == 2);
    size_t N = (size_t)fl, cin = complex_in ? 2 : 1;
    double *xr = ox_calloc(N, sizeof(double)), *xi = ox_calloc(N, sizeof(double));
    double *yr = ox_malloc_array(N, sizeof(double)), *yi = ox_malloc_array(N, sizeof(double));
    int bad = 0;
    for (size_t b = 0; b < (size_t)B; b++)
        for (size_t f = 0; f < frames; f++) {
            for (size_t k = 0; k < N; k++) {
                size_t pos = f * (size_t)step + k;
                int in = (!with_window || k < (size_t)wl) && pos < (size_t)L;
                double wk = with_window && in ? mt_get(&w, k) : 1.0;
                xr[k] = in ? mt_get(&x, (b * (size_t)L + pos) * cin) * wk : 0;
                xi[k] = in && complex_in ? mt_get(&x, (b * (size_t)L + pos) * cin + 1) * wk : 0;
            }
            naive_dft(xr, xi, N, N, 0, yr, yi);
            for (size_t k = 0; k < bins; k++) {
                size_t e = ((b * frames + f) * bins + k) * 2;
                double t = tol_of(dt) * sqrt((double)N) * 2;
                if (fabs(mt_get(&y, e) - yr[k]) > t || fabs(mt_get(&y, e + 1) - yi[k]) > t) bad++;
            }
        }
    CHECK(bad == 0);
    ox_free(xr), ox_free(xi), ox_free(yr), ox_free(yi);
    ox_tensor_free_data(&x), ox_tensor_free_data(&w), ox_tensor_free_data(&stp), ox_tensor_free_data(&flt);
    ox_tensor_free_data(&y);
}

TEST(stft_random) {
    for (int rep = 0; rep < 60; rep++)
        check_stft(rep % 3 == 0 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT, (rep / 2) % 2, rep % 2, (rep / 4) % 2,
                   (rep / 8) % 2);
    int64_t L = 10, big = 11, one = 1, zero = 0;
    ox_tensor x = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){1, L, 1}, NULL), y;
    ox_tensor s1 = tt_make(ONYX_DTYPE_INT64, 0, NULL, &one), s0 = tt_make(ONYX_DTYPE_INT64, 0, NULL, &zero);
    ox_tensor fl = tt_make(ONYX_DTYPE_INT64, 0, NULL, &big);
    ox_node *n = tn_node("STFT", 4, 1); /* frame longer than the signal */
    tn_omit_input(n, 2);
    CHECK(mt_run(n, 17, (ox_tensor *[]){&x, &s1, NULL, &fl}, 4, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("STFT", 2, 1); /* step 0 */
    CHECK(mt_run(n, 17, (ox_tensor *[]){&x, &s0}, 2, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&x), ox_tensor_free_data(&s1), ox_tensor_free_data(&s0), ox_tensor_free_data(&fl);
    tn_reset();
}

TEST(window_ops) {
    static const char *ops[] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
    const int32_t dts[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16, ONYX_DTYPE_INT32};
    for (int rep = 0; rep < 48; rep++) {
        int op = rep % 3, periodic = (rep / 3) % 2;
        int32_t dt = dts[(rep / 6) % 4];
        int64_t size = rep % 8 == 1 ? 1 : et_rnd(40);
        ox_tensor s = tt_make(rep % 2 ? ONYX_DTYPE_INT32 : ONYX_DTYPE_INT64, 0, NULL, NULL), y;
        mt_set(&s, 0, (double)size);
        ox_node *n = tn_node(ops[op], 1, 1);
        if (!periodic || et_rnd(2)) tn_int(n, "periodic", periodic);
        if (dt != ONYX_DTYPE_FLOAT || et_rnd(2)) tn_int(n, "output_datatype", dt);
        REQUIRE_OK(mt_run(n, 17, (ox_tensor *[]){&s}, 1, &y, 1));
        CHECK(y.dtype == dt && y.rank == 1 && y.dims[0] == size);
        double N = (double)(periodic ? size : size - 1);
        for (int64_t k = 0; k < size; k++) {
            double t = N > 0 ? TWO_PI * (double)k / N : 0, w;
            if (N == 0) w = 1; /* a symmetric window of one point */
            else if (op == 0) w = sin(t / 2) * sin(t / 2);
            else if (op == 1) w = 25.0 / 46.0 - 21.0 / 46.0 * cos(t);
            else w = 0.42 - 0.5 * cos(t) + 0.08 * cos(2 * t);
            if (dt == ONYX_DTYPE_INT32) CHECK(mt_get(&y, (size_t)k) == trunc(w));
            else CHECK(fabs(mt_get(&y, (size_t)k) - w) <= (dt == ONYX_DTYPE_FLOAT16 ? 1e-3 : 1e-6));
        }
        ox_tensor_free_data(&s), ox_tensor_free_data(&y);
    }
    int64_t neg = -3;
    ox_tensor s = tt_make(ONYX_DTYPE_INT64, 0, NULL, &neg), y;
    ox_node *n = tn_node("HannWindow", 1, 1);
    CHECK(mt_run(n, 17, (ox_tensor *[]){&s}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    n = tn_node("HannWindow", 1, 1);
    tn_int(n, "output_datatype", ONYX_DTYPE_STRING);
    CHECK(mt_run(n, 17, (ox_tensor *[]){&s}, 1, &y, 1) == ONYX_ERR_INVALID_MODEL);
    ox_tensor_free_data(&s);
    tn_reset();
}

/* The triangles: rows are DFT bins, columns mel bands; corners at the floor of
 * (dft_length + 1) * hz / rate for mel-spaced edges (float32 mel edges). */
TEST(mel_weight_matrix) {
    for (int rep = 0; rep < 30; rep++) {
        int64_t bins = 1 + et_rnd(12), dft = 8 + et_rnd(120), rate = 4000 + et_rnd(20000);
        float lo = (float)mt_uniform(0, 200), hi = (float)mt_uniform(lo + 100, (double)rate / 2);
        ox_tensor a = tt_make(ONYX_DTYPE_INT64, 0, NULL, &bins), b = tt_make(ONYX_DTYPE_INT64, 0, NULL, &dft);
        ox_tensor r = tt_make(ONYX_DTYPE_INT64, 0, NULL, &rate);
        ox_tensor l = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &lo), h = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &hi), y;
        ox_node *n = tn_node("MelWeightMatrix", 5, 1);
        if (rep % 2) tn_int(n, "output_datatype", ONYX_DTYPE_DOUBLE);
        REQUIRE_OK(mt_run(n, 17, (ox_tensor *[]){&a, &b, &r, &l, &h}, 5, &y, 1));
        size_t nspec = (size_t)dft / 2 + 1;
        CHECK(y.rank == 2 && y.dims[0] == (int64_t)nspec && y.dims[1] == bins);
        float lm = 2595.0f * log10f(1.0f + lo / 700.0f), hm = 2595.0f * log10f(1.0f + hi / 700.0f);
        float step = (hm - lm) / (float)(bins + 2);
        int64_t edge[16];
        for (int64_t i = 0; i < bins + 2; i++) {
            double hz = 700.0 * (pow(10.0, ((double)i * step + lm) / 2595.0) - 1.0);
            edge[i] = (int64_t)floor((double)(dft + 1) * hz / (double)rate);
        }
        int bad = 0;
        for (size_t j = 0; j < nspec; j++)
            for (int64_t i = 0; i < bins; i++) {
                int64_t L = edge[i], C = edge[i + 1], R = edge[i + 2], J = (int64_t)j;
                double want = 0;
                if (J >= L && J <= C) want = C == L ? (J == C) : (double)(J - L) / (double)(C - L);
                if (J >= C && J < R) want = (double)(R - J) / (double)(R - C);
                if (fabs(mt_get(&y, j * (size_t)bins + (size_t)i) - want) > 1e-6) bad++;
            }
        CHECK(bad == 0);
        ox_tensor *all[] = {&a, &b, &r, &l, &h, &y};
        for (int k = 0; k < 6; k++) ox_tensor_free_data(all[k]);
    }
    tn_reset();
}
