/* GridSample, AffineGrid, RoiAlign, MaxRoiPool, NonMaxSuppression and Col2Im
 * against naive references written from the spec's definitions. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor_helpers.h"
#include "test.h"
#include "test_image.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* ---- GridSample ---------------------------------------------------------------------- */

enum { G_NEAREST, G_LINEAR, G_CUBIC };
enum { G_ZEROS, G_BORDER, G_REFLECT };
static const char *g_modes20[] = {"nearest", "linear", "cubic"};
static const char *g_modes16[] = {"nearest", "bilinear", "bicubic"};
static const char *g_pads[] = {"zeros", "border", "reflection"};

typedef struct {
    int mode, pad, align, r;
    const ox_tensor *x;
    int64_t len[3];
} gref;

/* Mirror x at the borders until it lies inside [lo, hi]. */
static double mirror(double x, double lo, double hi) {
    if (hi <= lo) return lo;
    for (int guard = 0; (x < lo || x > hi) && guard < 1000; guard++)
        x = x < lo ? 2 * lo - x : 2 * hi - x;
    return x;
}

/* X[n, c, idx...] with the padding rule for indices outside. */
static double g_pixel(const gref *g, size_t plane, const int64_t *idx) {
    double lo_r = g->align ? 0 : -0.5;
    size_t off = 0;
    for (int d = 0; d < g->r; d++) {
        int64_t i = idx[d], len = g->len[d];
        if (i < 0 || i >= len) {
            if (g->pad == G_ZEROS) return 0;
            if (g->pad == G_BORDER) i = i < 0 ? 0 : len - 1;
            else i = (int64_t)mirror((double)i, lo_r, g->align ? (double)len - 1 : (double)len - 0.5);
            if (i >= len) i = len - 1;
        }
        off = off * (size_t)len + (size_t)i;
    }
    return ox_tensor_get_double(g->x, plane + off);
}

static double g_cubic(double t) {
    double a = -0.75;
    t = fabs(t);
    return t <= 1 ? (a + 2) * t * t * t - (a + 3) * t * t + 1
           : t < 2 ? a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a
                   : 0;
}

/* The value at source coordinates x[0..r) (outermost dim first). */
static double g_sample(const gref *g, size_t plane, const double *xin) {
    double x[3];
    int64_t base[3];
    for (int d = 0; d < g->r; d++) {
        double v = xin[d], len = (double)g->len[d];
        double lo = g->align ? 0 : -0.5, hi = g->align ? len - 1 : len - 0.5;
        if (g->mode == G_NEAREST) v = nearbyint(v);
        if (v < lo || v > hi) {
            if (g->pad == G_BORDER) v = v < 0 ? 0 : v > len - 1 ? len - 1 : v;
            if (g->pad == G_REFLECT) v = mirror(v, lo, hi);
        }
        x[d] = v;
        base[d] = (int64_t)floor(v);
    }
    if (g->mode == G_NEAREST) {
        int64_t idx[3];
        for (int d = 0; d < g->r; d++) idx[d] = (int64_t)trunc(x[d]);
        return g_pixel(g, plane, idx);
    }
    int k = g->mode == G_LINEAR ? 2 : 4, first = g->mode == G_LINEAR ? 0 : -1;
    int combos = 1;
    for (int d = 0; d < g->r; d++) combos *= k;
    double acc = 0;
    for (int cmb = 0; cmb < combos; cmb++) {
        int64_t idx[3];
        double w = 1;
        for (int d = 0, rest = cmb; d < g->r; d++, rest /= k) {
            int t = first + rest % k;
            idx[d] = base[d] + t;
            double dist = x[d] - (double)idx[d];
            w *= g->mode == G_LINEAR ? 1 - fabs(dist) : g_cubic(dist);
        }
        if (w != 0) acc += w * g_pixel(g, plane, idx);
    }
    return acc;
}

static int grid_sample_case(int64_t opset, int32_t dtype, ox_threadpool *pool) {
    gref g;
    memset(&g, 0, sizeof g);
    g.r = opset < 20 ? 2 : 1 + img_rnd(3);
    g.mode = img_rnd(3);
    g.pad = img_rnd(3);
    g.align = img_rnd(2);
    int64_t N = 1 + img_rnd(2), C = 1 + img_rnd(3), xd[5] = {N, C}, gd[5] = {N}, yd[5] = {N, C};
    for (int d = 0; d < g.r; d++) {
        g.len[d] = xd[2 + d] = 1 + img_rnd(5);
        gd[1 + d] = yd[2 + d] = 1 + img_rnd(4);
    }
    gd[1 + g.r] = g.r;
    ox_tensor x = img_rand(dtype, 2 + g.r, xd, -1, 1);
    ox_tensor grid = img_rand(dtype, 2 + g.r, gd, -1.4, 1.4), y;
    g.x = &x;
    ox_node *n = tn_node("GridSample", 2, 1);
    tn_str(n, "mode", (opset < 20 ? g_modes16 : g_modes20)[g.mode]);
    tn_str(n, "padding_mode", g_pads[g.pad]);
    tn_int(n, "align_corners", g.align);
    int fails = 0;
    onyx_status s = img_run(n, opset, (ox_tensor *[]){&x, &grid}, 2, &y, 1, pool);
    if (s != ONYX_OK || !tx_same_dims(&y, 2 + g.r, yd)) {
        fprintf(stderr, "  GridSample failed: %s\n", onyx_last_error());
        fails = 1;
    } else {
        size_t cnt = ox_tensor_count(&y), sp = cnt / (size_t)(N * C), isp = ox_tensor_count(&x) / (size_t)(N * C);
        double *want = ox_malloc_array(cnt, sizeof(double));
        for (size_t o = 0; o < cnt; o++) {
            size_t nc = o / sp, p = o % sp, nn = nc / (size_t)C;
            double coord[3];
            for (int d = 0; d < g.r; d++) {
                /* the grid lists the innermost dim first */
                double v = ox_tensor_get_double(&grid, (nn * sp + p) * (size_t)g.r + (size_t)(g.r - 1 - d));
                double len = (double)g.len[d];
                if (dtype == ONYX_DTYPE_FLOAT) {
                    float fv = (float)v, fl = (float)len;
                    coord[d] = g.align ? (fv + 1) / 2 * (fl - 1) : ((fv + 1) * fl - 1) / 2;
                } else {
                    coord[d] = g.align ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2;
                }
            }
            want[o] = g_sample(&g, nc * isp, coord);
        }
        char what[96];
        snprintf(what, sizeof what, "GridSample-%lld %dD %s %s align=%d", (long long)opset, g.r,
                 g_modes20[g.mode], g_pads[g.pad], g.align);
        fails = img_expect(&y, want, cnt, 1e-5, what) != 0;
        ox_free(want);
        ox_tensor_free_data(&y);
    }
    img_free((ox_tensor[]){x, grid}, 2);
    return fails;
}

TEST(grid_sample_random) {
    ox_threadpool *pool = ox_threadpool_create(3);
    int fails = 0;
    for (int i = 0; i < 200; i++) fails += grid_sample_case(20, ONYX_DTYPE_FLOAT, i % 2 ? pool : NULL);
    for (int i = 0; i < 60; i++) fails += grid_sample_case(16, ONYX_DTYPE_FLOAT, NULL);
    for (int i = 0; i < 60; i++) fails += grid_sample_case(22, ONYX_DTYPE_DOUBLE, pool);
    ox_threadpool_free(pool);
    CHECK(fails == 0);
    tn_reset();
}

TEST(grid_sample_integers_and_errors) {
    /* integer data: computed in floating point, truncated when stored */
    int32_t xv[4] = {0, 10, 20, 30};
    ox_tensor x = tt_make(ONYX_DTYPE_INT32, 4, (int64_t[]){1, 1, 1, 4}, xv);
    ox_tensor grid = img_f32(4, (int64_t[]){1, 1, 2, 2}, (float[]){-0.5f, 0, 0.1f, 0}), y;
    ox_node *n = tn_node("GridSample", 2, 1);
    tn_int(n, "align_corners", 1);
    REQUIRE_OK(ox_op_run_single(n, 20, (ox_tensor *[]){&x, &grid}, 2, &y, 1));
    /* x = 0.75 -> 7.5 -> 7; x = 1.65 -> 16.5 -> 16 */
    CHECK(((int32_t *)y.data)[0] == 7 && ((int32_t *)y.data)[1] == 16);
    ox_tensor_free_data(&y);
    ox_tensor bad = img_f32(4, (int64_t[]){1, 1, 2, 3}, NULL);
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&x, &bad}, 2, &y, 1) != ONYX_OK);
    ox_tensor x3 = tt_rand(3, (int64_t[]){2, 1, 4}, -1, 1), g3 = tt_rand(3, (int64_t[]){1, 3, 1}, -1, 1);
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&x3, &g3}, 2, &y, 1) != ONYX_OK); /* batch */
    ox_node *m = tn_node("GridSample", 2, 1);
    tn_str(m, "padding_mode", "wrap");
    CHECK(ox_op_run_single(m, 20, (ox_tensor *[]){&x, &grid}, 2, &y, 1) != ONYX_OK);
    /* NaN and huge grid values read zero instead of faulting */
    ox_tensor gn = img_f32(4, (int64_t[]){1, 1, 2, 2}, (float[]){NAN, 0, 1e30f, -1e30f});
    for (int p = 0; p < 3; p++) {
        ox_node *q = tn_node("GridSample", 2, 1);
        tn_str(q, "padding_mode", g_pads[p]);
        tn_str(q, "mode", "cubic");
        ox_tensor xf = tt_rand(4, (int64_t[]){1, 1, 3, 3}, -1, 1);
        REQUIRE_OK(ox_op_run_single(q, 20, (ox_tensor *[]){&xf, &gn}, 2, &y, 1));
        img_free((ox_tensor[]){xf, y}, 2);
    }
    img_free((ox_tensor[]){x, grid, bad, x3, g3, gn}, 6);
    tn_reset();
}

/* ---- AffineGrid ---------------------------------------------------------------------- */

static double ag_pos(int align, int64_t i, int64_t len) {
    if (len == 1) return 0;
    /* centers of len equal cells over [-1, 1], or len points from -1 to 1 */
    return align ? -1 + 2.0 * (double)i / (double)(len - 1) : -1 + (2.0 * (double)i + 1) / (double)len;
}

TEST(affine_grid_random) {
    int fails = 0;
    for (int it = 0; it < 40; it++) {
        int nd = 2 + img_rnd(2), align = img_rnd(2);
        int64_t N = 1 + img_rnd(3), sp[3], size[5] = {N, 1 + img_rnd(3)};
        for (int i = 0; i < nd; i++) size[2 + i] = sp[i] = 1 + img_rnd(5);
        int32_t dt = it % 3 == 2 ? ONYX_DTYPE_DOUBLE : ONYX_DTYPE_FLOAT;
        ox_tensor th = img_rand(dt, 3, (int64_t[]){N, nd, nd + 1}, -2, 2);
        ox_tensor ts = img_i64((size_t)nd + 2, size), y;
        ox_node *n = tn_node("AffineGrid", 2, 1);
        if (align || img_rnd(2)) tn_int(n, "align_corners", align);
        REQUIRE_OK(ox_op_run_single(n, 20, (ox_tensor *[]){&th, &ts}, 2, &y, 1));
        int64_t D = nd == 3 ? sp[0] : 1, H = sp[nd - 2], W = sp[nd - 1];
        size_t cnt = (size_t)(N * D * H * W * nd), o = 0;
        double *want = ox_malloc_array(cnt, sizeof(double));
        for (int64_t b = 0; b < N; b++)
            for (int64_t d = 0; d < D; d++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t w = 0; w < W; w++)
                        for (int k = 0; k < nd; k++) {
                            size_t row = ((size_t)b * (size_t)nd + (size_t)k) * (size_t)(nd + 1);
                            double pos[3] = {ag_pos(align, w, W), ag_pos(align, h, H), ag_pos(align, d, D)};
                            double v = ox_tensor_get_double(&th, row + (size_t)nd); /* translation */
                            for (int j = 0; j < nd; j++) v += ox_tensor_get_double(&th, row + (size_t)j) * pos[j];
                            want[o++] = v;
                        }
        fails += img_expect(&y, want, cnt, 1e-5, "AffineGrid") != 0;
        ox_free(want);
        img_free((ox_tensor[]){th, ts, y}, 3);
    }
    CHECK(fails == 0);
    /* size not known while planning; a batch mismatch is an error */
    ox_tensor th = tt_rand(3, (int64_t[]){2, 2, 3}, -1, 1), y;
    ox_tensor ts = img_i64(4, (int64_t[]){2, 1, 3, 3}), unknown = ts;
    unknown.data = NULL;
    ox_node *n = tn_node("AffineGrid", 2, 1);
    CHECK(img_infer(n, 20, (ox_tensor *[]){&th, &unknown}, 2, &y) == OX_NEED_VALUE);
    ox_tensor bad = img_i64(4, (int64_t[]){3, 1, 3, 3}), neg = img_i64(4, (int64_t[]){2, 1, -3, 3});
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&th, &bad}, 2, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 20, (ox_tensor *[]){&th, &neg}, 2, &y, 1) != ONYX_OK);
    img_free((ox_tensor[]){th, ts, bad, neg}, 4);
    tn_reset();
}

/* ---- RoiAlign and MaxRoiPool ------------------------------------------------------------ */

/* The reference's bilinear sample: the four weighted corners (zero outside). */
static void ra_corners(const ox_tensor *x, size_t plane, int64_t H, int64_t W, double y, double xx,
                       double *t) {
    t[0] = t[1] = t[2] = t[3] = 0;
    if (y < -1 || y > (double)H || xx < -1 || xx > (double)W) return;
    y = fmin(fmax(y, 0), (double)(H - 1));
    xx = fmin(fmax(xx, 0), (double)(W - 1));
    int64_t y0 = (int64_t)floor(y), x0 = (int64_t)floor(xx);
    int64_t y1 = y0 + 1 < H ? y0 + 1 : H - 1, x1 = x0 + 1 < W ? x0 + 1 : W - 1;
    double ly = y - (double)y0, lx = xx - (double)x0;
    const int64_t ys[4] = {y0, y0, y1, y1}, xs[4] = {x0, x1, x0, x1};
    const double ws[4] = {(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx};
    for (int k = 0; k < 4; k++)
        t[k] = ws[k] * ox_tensor_get_double(x, plane + (size_t)(ys[k] * W + xs[k]));
}

TEST(roi_align_random) {
    ox_threadpool *pool = ox_threadpool_create(3);
    int fails = 0;
    for (int it = 0; it < 80; it++) {
        int64_t opset = it % 4 == 0 ? 10 : 16 + img_rnd(7);
        int max_mode = img_rnd(2), half = opset >= 16 && img_rnd(2), sr = img_rnd(3);
        int64_t N = 1 + img_rnd(2), C = 1 + img_rnd(3), H = 1 + img_rnd(7), W = 1 + img_rnd(7);
        int64_t R = 1 + img_rnd(4), oh = 1 + img_rnd(3), ow = 1 + img_rnd(3);
        double scale = img_rnd(2) ? 1.0 : 0.5;
        ox_tensor x = tt_rand(4, (int64_t[]){N, C, H, W}, -1, 1);
        ox_tensor rois = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){R, 4}, NULL);
        int64_t bidx[4];
        for (int64_t r = 0; r < R; r++) {
            float *b = (float *)rois.data + r * 4;
            b[0] = (float)img_uniform(-2, (double)W / scale);
            b[1] = (float)img_uniform(-2, (double)H / scale);
            b[2] = b[0] + (float)img_uniform(-0.5, (double)W / scale);
            b[3] = b[1] + (float)img_uniform(-0.5, (double)H / scale);
            bidx[r] = img_rnd((int)N);
        }
        ox_tensor bi = img_i64((size_t)R, bidx), y;
        ox_node *n = tn_node("RoiAlign", 3, 1);
        tn_str(n, "mode", max_mode ? "max" : "avg");
        if (opset >= 16) tn_str(n, "coordinate_transformation_mode", half ? "half_pixel" : "output_half_pixel");
        tn_int(n, "output_height", oh);
        tn_int(n, "output_width", ow);
        tn_int(n, "sampling_ratio", sr);
        tn_float(n, "spatial_scale", (float)scale);
        REQUIRE_OK(img_run(n, opset, (ox_tensor *[]){&x, &rois, &bi}, 3, &y, 1, it % 2 ? pool : NULL));
        REQUIRE(tx_same_dims(&y, 4, (int64_t[]){R, C, oh, ow}));
        double *want = ox_malloc_array((size_t)(R * C * oh * ow), sizeof(double));
        size_t o = 0;
        for (int64_t r = 0; r < R; r++) {
            const float *b = (const float *)rois.data + r * 4;
            double off = half ? 0.5 : 0;
            double x0 = b[0] * scale - off, y0 = b[1] * scale - off;
            double rw = b[2] * scale - off - x0, rh = b[3] * scale - off - y0;
            if (!half) {
                rw = fmax(rw, 1);
                rh = fmax(rh, 1);
            }
            double bh = rh / (double)oh, bw = rw / (double)ow;
            int64_t gh = sr ? sr : (int64_t)ceil(bh), gw = sr ? sr : (int64_t)ceil(bw);
            for (int64_t ch = 0; ch < C; ch++) {
                size_t plane = (size_t)((bidx[r] * C + ch) * H * W);
                for (int64_t ph = 0; ph < oh; ph++)
                    for (int64_t pw = 0; pw < ow; pw++) {
                        double sum = 0, best = 0;
                        int seen = 0;
                        for (int64_t iy = 0; iy < gh; iy++)
                            for (int64_t ix = 0; ix < gw; ix++) {
                                double t[4];
                                ra_corners(&x, plane, H, W, y0 + bh * ((double)ph + ((double)iy + 0.5) / (double)gh),
                                           x0 + bw * ((double)pw + ((double)ix + 0.5) / (double)gw), t);
                                sum += t[0] + t[1] + t[2] + t[3];
                                double m = fmax(fmax(t[0], t[1]), fmax(t[2], t[3]));
                                best = seen ? fmax(best, m) : m;
                                seen = 1;
                            }
                        double cnt = gh > 0 && gw > 0 ? (double)(gh * gw) : 1;
                        want[o++] = max_mode ? best : sum / cnt;
                    }
            }
        }
        char what[64];
        snprintf(what, sizeof what, "RoiAlign-%lld %s half=%d", (long long)opset, max_mode ? "max" : "avg", half);
        fails += img_expect(&y, want, o, 1e-5, what) != 0;
        ox_free(want);
        img_free((ox_tensor[]){x, rois, bi, y}, 4);
    }
    ox_threadpool_free(pool);
    CHECK(fails == 0);
    tn_reset();
}

TEST(roi_align_bad_boxes) {
    ox_tensor x = tt_rand(4, (int64_t[]){2, 1, 4, 4}, -1, 1), y;
    ox_tensor rois = img_f32(2, (int64_t[]){1, 4}, (float[]){0, 0, 2, 2});
    ox_tensor nan_rois = img_f32(2, (int64_t[]){1, 4}, (float[]){0, NAN, 2, 2});
    ox_tensor huge = img_f32(2, (int64_t[]){1, 4}, (float[]){0, 0, 1e30f, 1e30f});
    ox_tensor b_bad = img_i64(1, (int64_t[]){2}), b_neg = img_i64(1, (int64_t[]){-1}), b_ok = img_i64(1, (int64_t[]){1});
    ox_tensor b_len = img_i64(2, (int64_t[]){0, 1});
    ox_node *n = tn_node("RoiAlign", 3, 1);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &rois, &b_bad}, 3, &y, 1) == ONYX_ERR_RUNTIME);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &rois, &b_neg}, 3, &y, 1) == ONYX_ERR_RUNTIME);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &nan_rois, &b_ok}, 3, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &huge, &b_ok}, 3, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &rois, &b_len}, 3, &y, 1) != ONYX_OK);
    REQUIRE_OK(ox_op_run_single(n, 16, (ox_tensor *[]){&x, &rois, &b_ok}, 3, &y, 1));
    ox_tensor_free_data(&y);
    img_free((ox_tensor[]){x, rois, nan_rois, huge, b_bad, b_neg, b_ok, b_len}, 8);
    tn_reset();
}

TEST(max_roi_pool_random) {
    int fails = 0;
    for (int it = 0; it < 40; it++) {
        int64_t N = 1 + img_rnd(2), C = 1 + img_rnd(2), H = 1 + img_rnd(8), W = 1 + img_rnd(8);
        int64_t R = 1 + img_rnd(3), ph_n = 1 + img_rnd(3), pw_n = 1 + img_rnd(3);
        float scale = img_rnd(2) ? 1.0f : 0.5f;
        ox_tensor x = tt_rand(4, (int64_t[]){N, C, H, W}, -1, 1);
        ox_tensor rois = tt_make(ONYX_DTYPE_FLOAT, 2, (int64_t[]){R, 5}, NULL);
        for (int64_t r = 0; r < R; r++) {
            float *b = (float *)rois.data + r * 5;
            b[0] = (float)img_rnd((int)N);
            b[1] = (float)img_uniform(-2, (double)W / scale);
            b[2] = (float)img_uniform(-2, (double)H / scale);
            b[3] = b[1] + (float)img_uniform(-1, (double)W / scale);
            b[4] = b[2] + (float)img_uniform(-1, (double)H / scale);
        }
        ox_node *n = tn_node("MaxRoiPool", 2, 1);
        tn_ints(n, "pooled_shape", 2, (int64_t[]){ph_n, pw_n});
        tn_float(n, "spatial_scale", scale);
        ox_tensor y;
        REQUIRE_OK(ox_op_run_single(n, 22, (ox_tensor *[]){&x, &rois}, 2, &y, 1));
        double *want = ox_malloc_array((size_t)(R * C * ph_n * pw_n), sizeof(double));
        size_t o = 0;
        for (int64_t r = 0; r < R; r++) {
            const float *b = (const float *)rois.data + r * 5;
            int64_t bx = (int64_t)b[0], x0 = (int64_t)round(b[1] * scale), y0 = (int64_t)round(b[2] * scale);
            int64_t x1 = (int64_t)round(b[3] * scale), y1 = (int64_t)round(b[4] * scale);
            double rh = (double)(y1 - y0 + 1 > 1 ? y1 - y0 + 1 : 1), rw = (double)(x1 - x0 + 1 > 1 ? x1 - x0 + 1 : 1);
            for (int64_t ch = 0; ch < C; ch++)
                for (int64_t ph = 0; ph < ph_n; ph++)
                    for (int64_t pw = 0; pw < pw_n; pw++) {
                        double m = 0;
                        int any = 0;
                        for (int64_t h = 0; h < H; h++)
                            for (int64_t w = 0; w < W; w++) {
                                /* inside the bin: [floor(p*bin), ceil((p+1)*bin)) from the corner */
                                double hh = (double)(h - y0), ww = (double)(w - x0);
                                if (hh < floor((double)ph * rh / (double)ph_n) || hh >= ceil((double)(ph + 1) * rh / (double)ph_n)) continue;
                                if (ww < floor((double)pw * rw / (double)pw_n) || ww >= ceil((double)(pw + 1) * rw / (double)pw_n)) continue;
                                double v = ((const float *)x.data)[((bx * C + ch) * H + h) * W + w];
                                m = any ? fmax(m, v) : v;
                                any = 1;
                            }
                        want[o++] = m;
                    }
        }
        fails += img_expect(&y, want, o, 1e-6, "MaxRoiPool") != 0;
        ox_free(want);
        img_free((ox_tensor[]){x, rois, y}, 3);
    }
    CHECK(fails == 0);
    ox_tensor x = tt_rand(4, (int64_t[]){1, 1, 2, 2}, -1, 1), y;
    ox_tensor bad = img_f32(2, (int64_t[]){1, 5}, (float[]){1, 0, 0, 1, 1});
    ox_node *n = tn_node("MaxRoiPool", 2, 1);
    tn_ints(n, "pooled_shape", 2, (int64_t[]){1, 1});
    CHECK(ox_op_run_single(n, 1, (ox_tensor *[]){&x, &bad}, 2, &y, 1) == ONYX_ERR_RUNTIME);
    img_free((ox_tensor[]){x, bad}, 2);
    tn_reset();
}

/* ---- NonMaxSuppression ------------------------------------------------------------------ */

static double iou_ref(const float *a, const float *b, int center) {
    double ax0, ay0, ax1, ay1, bx0, by0, bx1, by1;
    if (center) {
        ax0 = a[0] - a[2] / 2.0, ax1 = a[0] + a[2] / 2.0, ay0 = a[1] - a[3] / 2.0, ay1 = a[1] + a[3] / 2.0;
        bx0 = b[0] - b[2] / 2.0, bx1 = b[0] + b[2] / 2.0, by0 = b[1] - b[3] / 2.0, by1 = b[1] + b[3] / 2.0;
    } else {
        ay0 = fmin(a[0], a[2]), ay1 = fmax(a[0], a[2]), ax0 = fmin(a[1], a[3]), ax1 = fmax(a[1], a[3]);
        by0 = fmin(b[0], b[2]), by1 = fmax(b[0], b[2]), bx0 = fmin(b[1], b[3]), bx1 = fmax(b[1], b[3]);
    }
    double iw = fmin(ax1, bx1) - fmax(ax0, bx0), ih = fmin(ay1, by1) - fmax(ay0, by0);
    if (iw <= 0 || ih <= 0) return 0;
    double inter = iw * ih, ua = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
    return ua > 0 ? inter / ua : 0;
}

TEST(nms_random) {
    int fails = 0;
    for (int it = 0; it < 100; it++) {
        int64_t B = 1 + img_rnd(2), C = 1 + img_rnd(3), NB = img_rnd(12);
        int center = img_rnd(2), use_max = img_rnd(4) != 0, use_iou = img_rnd(3) != 0, use_score = img_rnd(2);
        int64_t max_out = img_rnd(5);
        float iou = (float)img_uniform(0, 0.7), sthr = (float)img_uniform(0, 0.5);
        ox_tensor boxes = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){B, NB, 4}, NULL);
        ox_tensor scores = tt_make(ONYX_DTYPE_FLOAT, 3, (int64_t[]){B, C, NB}, NULL);
        float *bx = boxes.data, *sc = scores.data;
        for (int64_t i = 0; i < B * NB; i++) {
            float *b = bx + 4 * i;
            if (center) {
                b[0] = (float)img_uniform(0, 6), b[1] = (float)img_uniform(0, 6);
                b[2] = (float)img_uniform(0.5, 4), b[3] = (float)img_uniform(0.5, 4);
            } else {
                b[0] = (float)img_uniform(0, 6), b[1] = (float)img_uniform(0, 6);
                b[2] = b[0] + (float)img_uniform(-3, 4), b[3] = b[1] + (float)img_uniform(-3, 4);
            }
        }
        for (int64_t i = 0; i < B * C * NB; i++) sc[i] = (float)img_rnd(6) / 5.0f; /* ties */
        ox_tensor tmax = tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){1}, &max_out);
        ox_tensor tiou = tt_make(ONYX_DTYPE_FLOAT, 0, NULL, &iou);
        ox_tensor tsc = tt_make(ONYX_DTYPE_FLOAT, 1, (int64_t[]){1}, &sthr), y;
        ox_node *n = tn_node("NonMaxSuppression", 5, 1);
        if (center || img_rnd(2)) tn_int(n, "center_point_box", center);
        ox_tensor *in[5] = {&boxes, &scores, use_max ? &tmax : NULL, use_iou ? &tiou : NULL,
                            use_score ? &tsc : NULL};
        REQUIRE_OK(img_run(n, 11, in, 5, &y, 1, NULL));
        /* greedy reference: repeatedly take the best remaining box */
        int64_t want[3 * 2 * 3 * 12];
        size_t nw = 0;
        double thr = use_iou ? iou : 0;
        int64_t limit = use_max ? max_out : 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t k = 0; k < C; k++) {
                int used[12] = {0};
                int64_t kept[12], n_kept = 0;
                while (n_kept < limit) {
                    int64_t best = -1;
                    for (int64_t i = 0; i < NB; i++) {
                        float s = sc[(b * C + k) * NB + i];
                        if (used[i] || (use_score && !(s > sthr))) continue;
                        if (best < 0 || s > sc[(b * C + k) * NB + best]) best = i;
                    }
                    if (best < 0) break;
                    used[best] = 1;
                    int ok = 1;
                    for (int64_t j = 0; j < n_kept; j++)
                        if (iou_ref(bx + 4 * (b * NB + best), bx + 4 * (b * NB + kept[j]), center) > thr) ok = 0;
                    if (!ok) continue;
                    kept[n_kept++] = best;
                    want[nw++] = b;
                    want[nw++] = k;
                    want[nw++] = best;
                }
            }
        if (!tx_same_dims(&y, 2, (int64_t[]){(int64_t)nw / 3, 3}) ||
            (nw && memcmp(y.data, want, nw * sizeof(int64_t)) != 0)) {
            fprintf(stderr, "  NMS case %d: %lld rows, expected %zu\n", it, (long long)y.dims[0], nw / 3);
            fails++;
        }
        img_free((ox_tensor[]){boxes, scores, tmax, tiou, tsc, y}, 6);
    }
    CHECK(fails == 0);
    /* malformed shapes */
    ox_tensor boxes = tt_rand(3, (int64_t[]){1, 3, 4}, 0, 1), scores = tt_rand(3, (int64_t[]){1, 1, 2}, 0, 1), y;
    ox_node *n = tn_node("NonMaxSuppression", 2, 1);
    CHECK(ox_op_run_single(n, 11, (ox_tensor *[]){&boxes, &scores}, 2, &y, 1) != ONYX_OK);
    ox_node *m = tn_node("NonMaxSuppression", 2, 1);
    tn_int(m, "center_point_box", 2);
    CHECK(ox_op_run_single(m, 11, (ox_tensor *[]){&boxes, &boxes}, 2, &y, 1) != ONYX_OK);
    img_free((ox_tensor[]){boxes, scores}, 2);
    tn_reset();
}

/* ---- Col2Im ------------------------------------------------------------------------------ */

TEST(col2im_random) {
    int fails = 0, done = 0;
    for (int it = 0; it < 400 && done < 80; it++) {
        int nd = 1 + img_rnd(3), give_dil = img_rnd(2);
        int64_t img[3], blk[3], dil[3], str[3], pads[6], nbl[3];
        int64_t K = 1, L = 1;
        int ok = 1;
        for (int i = 0; i < nd; i++) {
            img[i] = 1 + img_rnd(6);
            blk[i] = 1 + img_rnd(3);
            dil[i] = give_dil ? 1 + img_rnd(2) : 1;
            str[i] = 1 + img_rnd(2);
            pads[i] = img_rnd(3);
            pads[nd + i] = img_rnd(3);
            int64_t span = img[i] + pads[i] + pads[nd + i] - dil[i] * (blk[i] - 1) - 1;
            if (span < 0) ok = 0;
            nbl[i] = ok ? span / str[i] + 1 : 0;
            K *= blk[i];
            L *= nbl[i];
        }
        if (!ok) continue;
        done++;
        int64_t N = 1 + img_rnd(2), C = 1 + img_rnd(3);
        int32_t dt = it % 3 == 0 ? ONYX_DTYPE_DOUBLE : it % 3 == 1 ? ONYX_DTYPE_INT32 : ONYX_DTYPE_FLOAT;
        ox_tensor x = img_rand(dt, 3, (int64_t[]){N, C * K, L}, -20, 20);
        ox_tensor ti = img_i64((size_t)nd, img), tb = img_i64((size_t)nd, blk), y;
        ox_node *n = tn_node("Col2Im", 3, 1);
        if (give_dil) tn_ints(n, "dilations", (size_t)nd, dil);
        int all_one = 1;
        for (int i = 0; i < nd; i++) all_one &= str[i] == 1;
        if (!all_one || img_rnd(2)) tn_ints(n, "strides", (size_t)nd, str);
        tn_ints(n, "pads", 2 * (size_t)nd, pads);
        REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ti, &tb}, 3, &y, 1));
        size_t isz = (size_t)(img[0] * (nd > 1 ? img[1] : 1) * (nd > 2 ? img[2] : 1));
        double *want = ox_malloc_array((size_t)(N * C) * isz, sizeof(double));
        for (int64_t nc = 0; nc < N * C; nc++)
            for (size_t p = 0; p < isz; p++) {
                int64_t pi[3];
                tx_unravel(p, nd, img, pi);
                double acc = 0;
                /* gather: every kernel offset whose block position is whole and in range */
                for (int64_t k = 0; k < K; k++) {
                    int64_t ki[3], li[3];
                    tx_unravel((size_t)k, nd, blk, ki);
                    int hit = 1;
                    for (int i = 0; i < nd && hit; i++) {
                        int64_t num = pi[i] + pads[i] - ki[i] * dil[i];
                        if (num < 0 || num % str[i] || num / str[i] >= nbl[i]) hit = 0;
                        else li[i] = num / str[i];
                    }
                    if (!hit) continue;
                    size_t l = tx_ravel(nd, nbl, li);
                    acc += ox_tensor_get_double(&x, ((size_t)nc * (size_t)K + (size_t)k) * (size_t)L + l);
                }
                want[(size_t)nc * isz + p] = acc;
            }
        fails += img_expect(&y, want, (size_t)(N * C) * isz, 1e-4, "Col2Im") != 0;
        ox_free(want);
        img_free((ox_tensor[]){x, ti, tb, y}, 4);
    }
    CHECK(fails == 0 && done > 20);
    /* shape checks and values needed while planning */
    ox_tensor x = tt_rand(3, (int64_t[]){1, 4, 9}, -1, 1), y;
    ox_tensor ti = img_i64(2, (int64_t[]){4, 4}), tb = img_i64(2, (int64_t[]){2, 2}), unknown = ti;
    unknown.data = NULL;
    ox_node *n = tn_node("Col2Im", 3, 1);
    CHECK(img_infer(n, 18, (ox_tensor *[]){&x, &unknown, &tb}, 3, &y) == OX_NEED_VALUE);
    REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ti, &tb}, 3, &y, 1));
    CHECK(tx_same_dims(&y, 4, (int64_t[]){1, 1, 4, 4}));
    ox_tensor_free_data(&y);
    ox_tensor tb3 = img_i64(2, (int64_t[]){3, 3}), tb0 = img_i64(2, (int64_t[]){0, 2});
    ox_tensor ti_small = img_i64(2, (int64_t[]){1, 4});
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ti, &tb3}, 3, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ti, &tb0}, 3, &y, 1) != ONYX_OK);
    CHECK(ox_op_run_single(n, 18, (ox_tensor *[]){&x, &ti_small, &tb}, 3, &y, 1) != ONYX_OK);
    /* int64 sums stay exact beyond 2^53: two blocks of 2 overlapping by one */
    int64_t big[4] = {((int64_t)1 << 60) + 1, 5, 7, ((int64_t)1 << 58) + 3};
    ox_tensor xi = tt_make(ONYX_DTYPE_INT64, 3, (int64_t[]){1, 2, 2}, big);
    ox_tensor ti3 = img_i64(1, (int64_t[]){3}), tb2 = img_i64(1, (int64_t[]){2});
    REQUIRE_OK(ox_op_run_single(n, 18, (ox_tensor *[]){&xi, &ti3, &tb2}, 3, &y, 1));
    /* column (k, l): k = offset in the block, l = block; image[l + k] += x[k][l] */
    CHECK(((int64_t *)y.data)[0] == big[0]);
    CHECK(((int64_t *)y.data)[1] == big[1] + big[2]);
    CHECK(((int64_t *)y.data)[2] == big[3]);
    img_free((ox_tensor[]){x, ti, tb, tb3, tb0, ti_small, xi, ti3, tb2, y}, 10);
    tn_reset();
}
