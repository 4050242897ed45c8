/* GridSample (opsets 16, 20, 22) and AffineGrid (20).
 *
 * GridSample: for every output point the grid gives a normalized position per
 * spatial dim (listed innermost dim first). Each position becomes per-dim taps
 * (1 for nearest, 2 for linear, 4 for cubic) with weights; the product of the
 * per-dim taps is computed once per point and applied to every channel. Padding
 * modes decide what a tap outside the input reads: zero, the clamped edge, or the
 * reflected position. */
#include <math.h>
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { GS_NEAREST, GS_LINEAR, GS_CUBIC };
enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECTION };

/* Taps one output point may combine (4^5 for 5-D cubic, 2^10 for linear). */
#define GS_MAX_TAPS 1024
/* Coordinates are kept inside this before any float -> int conversion. */
#define GS_BOUND 1e15

typedef struct {
    int mode, padding, align;
} gs_state;

onyx_status ox_img_grid_sample_prepare(ox_op_ctx *c) {
    static const char *const modes[] = {"bilinear", "nearest", "bicubic", "linear", "cubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    gs_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int m = 0;
    onyx_status s = ox_img_enum(c, "mode", c->opset < 20 ? "bilinear" : "linear", modes, 5, &m);
    if (s == ONYX_OK) s = ox_img_enum(c, "padding_mode", "zeros", pads, 3, &st->padding);
    st->align = ox_attr_int(c, "align_corners", 0) != 0;
    if (s == ONYX_OK) s = ox_op_status(c);
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    st->mode = m == 1 ? GS_NEAREST : (m == 2 || m == 4) ? GS_CUBIC : GS_LINEAR;
    c->state = st;
    return ONYX_OK;
}

onyx_status ox_img_grid_sample_infer(ox_op_ctx *c) {
    const gs_state *st = c->state;
    OX_TRY(ox_img_need(c, 2));
    const ox_tensor *x = c->in[0], *grid = c->in[1];
    if (!ox_img_numeric(x->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input X of type %s", ox_dtype_name(x->dtype));
    if (!ox_img_floatlike(grid->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'grid' has type %s, expected a float type",
                        ox_dtype_name(grid->dtype));
    if (x->rank < 3)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has rank %d; expected (N, C, D1, ...)",
                        x->rank);
    int32_t r = x->rank - 2;
    if (grid->rank != x->rank || grid->dims[r + 1] != r || grid->dims[0] != x->dims[0])
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'grid' must have shape (N=%lld, D1_out, ..., %d) for %d spatial "
                        "dims", (long long)x->dims[0], r, r);
    int per_dim = st->mode == GS_NEAREST ? 1 : st->mode == GS_LINEAR ? 2 : 4;
    long taps = 1;
    for (int32_t i = 0; i < r && taps <= GS_MAX_TAPS; i++) taps *= per_dim;
    if (taps > GS_MAX_TAPS)
        return ox_error(ONYX_ERR_UNSUPPORTED, "%d spatial dims in this mode", r);
    int64_t dims[OX_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int32_t i = 0; i < r; i++) dims[2 + i] = grid->dims[1 + i];
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ox_tx_check_size(c->out[0], "output");
}

/* Reflect x into [lo, hi] (repeatedly, by the nearer border first). */
static double gs_reflect(double x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        double dx = lo - x, k = floor(dx / range), rem = dx - k * range;
        return fmod(k, 2) == 0 ? lo + rem : hi - rem;
    }
    if (x > hi) {
        double dx = x - hi, k = floor(dx / range), rem = dx - k * range;
        return fmod(k, 2) == 0 ? hi - rem : lo + rem;
    }
    return x;
}

static double gs_cubic(double t) {
    const double a = -0.75;
    t = fabs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
}

typedef struct {
    const gs_state *st;
    const ox_tensor *x, *grid;
    ox_tensor *y;
    int32_t r;              /* spatial dims */
    int64_t len[OX_MAX_RANK]; /* input spatial dims */
    size_t in_sp, out_sp, C;
} gs_task;

/* Input index of tap i along a dim of length len, or -1 to read zero. */
static int64_t gs_pixel(const gs_state *st, double i, int64_t len, double lo, double hi) {
    if (st->padding == PAD_ZEROS) return i >= 0 && i < (double)len ? (int64_t)i : -1;
    if (st->padding == PAD_BORDER) return i < 0 ? 0 : i > (double)(len - 1) ? len - 1 : (int64_t)i;
    double v = gs_reflect(i, lo, hi);
    int64_t k = (int64_t)v;
    return k < 0 ? 0 : k >= len ? len - 1 : k;
}

/* The per-dim taps of one coordinate: n entries of (index or -1, weight). */
static int gs_dim_taps(const gs_state *st, double v, int is_f32, int64_t len, int64_t *idx,
                       double *w) {
    double x, lo = st->align ? 0 : -0.5, hi = st->align ? (double)len - 1 : (double)len - 0.5;
    if (is_f32) { /* denormalize in the grid's precision, as the reference does */
        float fv = (float)v, fl = (float)len;
        x = st->align ? (fv + 1.0f) / 2.0f * (fl - 1.0f) : ((fv + 1.0f) * fl - 1.0f) / 2.0f;
    } else {
        x = st->align ? (v + 1) / 2 * ((double)len - 1) : ((v + 1) * (double)len - 1) / 2;
    }
    int n = st->mode == GS_NEAREST ? 1 : st->mode == GS_LINEAR ? 2 : 4;
    if (x != x || (st->padding == PAD_REFLECTION && !isfinite(x))) {
        for (int k = 0; k < n; k++) {
            idx[k] = -1;
            w[k] = 0;
        }
        return n;
    }
    if (st->mode == GS_NEAREST) x = nearbyint(x); /* halfway rounds to even */
    if (x < lo || x > hi) {
        if (st->padding == PAD_BORDER)
            x = x < 0 ? 0 : x > (double)(len - 1) ? (double)(len - 1) : x;
        else if (st->padding == PAD_REFLECTION)
            x = gs_reflect(x, lo, hi);
    }
    x = x < -GS_BOUND ? -GS_BOUND : x > GS_BOUND ? GS_BOUND : x;
    if (st->mode == GS_NEAREST) {
        idx[0] = gs_pixel(st, trunc(x), len, lo, hi);
        w[0] = 1;
        return 1;
    }
    double f = floor(x), t = x - f;
    if (st->mode == GS_LINEAR) {
        idx[0] = gs_pixel(st, f, len, lo, hi);
        idx[1] = gs_pixel(st, f + 1, len, lo, hi);
        w[0] = 1 - t;
        w[1] = t;
        return 2;
    }
    for (int k = 0; k < 4; k++) {
        idx[k] = gs_pixel(st, f - 1 + k, len, lo, hi);
        w[k] = gs_cubic(t + 1 - k);
    }
    return 4;
}

static void gs_points(void *arg, size_t u0, size_t u1) {
    const gs_task *t = arg;
    int32_t r = t->r;
    int is_f32g = t->grid->dtype != ONYX_DTYPE_DOUBLE;
    int xf32 = t->x->dtype == ONYX_DTYPE_FLOAT, xint = !ox_img_floatlike(t->x->dtype);
    int64_t offs[2][GS_MAX_TAPS];
    double wts[2][GS_MAX_TAPS];
    for (size_t u = u0; u < u1; u++) {
        size_t n = u / t->out_sp, p = u % t->out_sp;
        /* combine the per-dim taps, outermost spatial dim first; taps that read
         * zero are dropped */
        int64_t *off = offs[0];
        double *wt = wts[0];
        size_t cnt = 1;
        off[0] = 0;
        wt[0] = 1;
        for (int32_t d = 0; d < r; d++) {
            int64_t idx[4];
            double w[4];
            double v = ox_tensor_get_double(t->grid, u * (size_t)r + (size_t)(r - 1 - d));
            int k = gs_dim_taps(t->st, v, is_f32g, t->len[d], idx, w);
            int64_t *noff = off == offs[0] ? offs[1] : offs[0];
            double *nw = wt == wts[0] ? wts[1] : wts[0];
            size_t m = 0;
            for (size_t a = 0; a < cnt; a++)
                for (int b = 0; b < k; b++) {
                    if (idx[b] < 0 || w[b] == 0) continue;
                    noff[m] = off[a] * t->len[d] + idx[b];
                    nw[m] = wt[a] * w[b];
                    m++;
                }
            off = noff;
            wt = nw;
            cnt = m;
        }
        for (size_t ch = 0; ch < t->C; ch++) {
            size_t base = (n * t->C + ch) * t->in_sp, o = (n * t->C + ch) * t->out_sp + p;
            double acc = 0;
            if (xf32) {
                const float *xs = (const float *)t->x->data + base;
                for (size_t k = 0; k < cnt; k++) acc += wt[k] * xs[off[k]];
                ((float *)t->y->data)[o] = (float)acc;
            } else {
                for (size_t k = 0; k < cnt; k++)
                    acc += wt[k] * ox_tensor_get_double(t->x, base + (size_t)off[k]);
                ox_img_put(t->y->data, o, t->y->dtype, xint ? trunc(acc) : acc);
            }
        }
    }
}

onyx_status ox_img_grid_sample_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    gs_task t = {.st = c->state, .x = x, .grid = c->in[1], .y = c->out[0], .r = x->rank - 2};
    t.C = (size_t)x->dims[1];
    t.in_sp = ox_tx_prod(x->dims, 2, x->rank);
    t.out_sp = ox_tx_prod(c->out[0]->dims, 2, x->rank);
    for (int32_t d = 0; d < t.r; d++) t.len[d] = x->dims[2 + d];
    size_t units = (size_t)x->dims[0] * t.out_sp;
    if (ox_tensor_count(c->out[0]) == 0) return ONYX_OK;
    if (t.in_sp == 0) { /* every tap falls outside an empty input */
        for (size_t i = 0; i < ox_tensor_count(c->out[0]); i++)
            ox_img_put(c->out[0]->data, i, c->out[0]->dtype, 0);
        return ONYX_OK;
    }
    ox_parallel_for(c->pool, units, 256 / (t.C + 1) + 1, gs_points, &t);
    return ONYX_OK;
}

/* ---- AffineGrid ------------------------------------------------------------------- */

typedef struct {
    int align;
} ag_state;

onyx_status ox_img_affine_grid_prepare(ox_op_ctx *c) {
    ag_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    st->align = ox_attr_int(c, "align_corners", 0) != 0;
    onyx_status s = ox_op_status(c);
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    c->state = st;
    return ONYX_OK;
}

/* The spatial sizes (D,) H, W from 'size'; *nd = 2 or 3. */
static onyx_status ag_sizes(ox_op_ctx *c, int *nd, int64_t *sp) {
    OX_TRY(ox_img_need(c, 2));
    const ox_tensor *theta = c->in[0], *size = c->in[1];
    if (!ox_img_floatlike(theta->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'theta' has type %s, expected a float type",
                        ox_dtype_name(theta->dtype));
    if (theta->rank != 3 || !((theta->dims[1] == 2 && theta->dims[2] == 3) ||
                              (theta->dims[1] == 3 && theta->dims[2] == 4)))
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'theta' must have shape (N, 2, 3) or (N, 3, 4)");
    *nd = (int)theta->dims[1];
    if (size->rank != 1 || ox_tensor_count(size) != (size_t)*nd + 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'size' must hold %d values", *nd + 2);
    if (!size->data) return OX_NEED_VALUE;
    int64_t v[5];
    size_t n;
    OX_TRY(ox_tx_read_ints(size, "size", 0, v, 5, &n));
    if (v[0] != theta->dims[0])
        return ox_error(ONYX_ERR_INVALID_MODEL, "size[0] = %lld but theta holds %lld matrices",
                        (long long)v[0], (long long)theta->dims[0]);
    for (int i = 0; i < *nd; i++) {
        sp[i] = v[2 + i];
        if (sp[i] < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "size[%d] = %lld is negative", 2 + i,
                            (long long)sp[i]);
    }
    return ONYX_OK;
}

onyx_status ox_img_affine_grid_infer(ox_op_ctx *c) {
    int nd;
    int64_t sp[3], dims[5];
    OX_TRY(ag_sizes(c, &nd, sp));
    dims[0] = c->in[0]->dims[0];
    for (int i = 0; i < nd; i++) dims[1 + i] = sp[i];
    dims[1 + nd] = nd;
    ox_set_shape(c->out[0], c->in[0]->dtype, nd + 2, dims);
    return ox_tx_check_size(c->out[0], "output");
}

/* Normalized position of index i along a dim of length len. */
static double ag_base(int align, int64_t i, int64_t len) {
    if (len <= 1) return 0;
    if (align) return -1 + 2.0 * (double)i / (double)(len - 1);
    return (2.0 * (double)i + 1) / (double)len - 1;
}

onyx_status ox_img_affine_grid_run(ox_op_ctx *c) {
    const ag_state *st = c->state;
    int nd;
    int64_t sp[3];
    OX_TRY(ag_sizes(c, &nd, sp));
    const ox_tensor *theta = c->in[0];
    ox_tensor *y = c->out[0];
    if (ox_tensor_count(y) == 0) return ONYX_OK; /* other dims may still be huge */
    int64_t D = nd == 3 ? sp[0] : 1, H = sp[nd - 2], W = sp[nd - 1];
    size_t o = 0, cols = (size_t)nd + 1;
    for (int64_t n = 0; n < theta->dims[0]; n++) {
        double th[12];
        for (size_t k = 0; k < (size_t)nd * cols; k++)
            th[k] = ox_tensor_get_double(theta, (size_t)n * (size_t)nd * cols + k);
        for (int64_t d = 0; d < D; d++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    /* homogeneous position, innermost dim first: (x, y[, z], 1) */
                    double pos[4] = {ag_base(st->align, w, W), ag_base(st->align, h, H), 0, 0};
                    if (nd == 3) pos[2] = ag_base(st->align, d, D);
                    pos[nd] = 1;
                    for (int k = 0; k < nd; k++) {
                        double acc = 0;
                        for (size_t j = 0; j < cols; j++) acc += th[(size_t)k * cols + j] * pos[j];
                        ox_img_put(y->data, o++, y->dtype, acc);
                    }
                }
    }
    return ONYX_OK;
}
