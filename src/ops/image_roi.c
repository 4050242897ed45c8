/* Region-of-interest pooling: RoiAlign (opsets 10, 16, 22) and MaxRoiPool (1, 22).
 * Both take X (N, C, H, W) and boxes in input coordinates, and produce
 * (num_rois, C, out_h, out_w). Box values are data: every one is checked (finite,
 * batch index in range) before it becomes an index. */
#include <math.h>
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"
#include "util/threadpool.h"

/* Sample points one RoiAlign box may take (bins x samples per bin). */
#define RA_MAX_SAMPLES ((double)(1 << 28))
/* Box coordinates are clamped into this before float -> int conversions. */
#define COORD_BOUND 1e15

static onyx_status check_x(const ox_tensor *x) {
    if (!ox_img_floatlike(x->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has type %s, expected a float type",
                        ox_dtype_name(x->dtype));
    if (x->rank != 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X must be (N, C, H, W), got rank %d",
                        x->rank);
    return ONYX_OK;
}

/* ---- RoiAlign ------------------------------------------------------------------------ */

typedef struct {
    int max_mode, half_pixel;
    int64_t out_h, out_w, sampling_ratio;
    double spatial_scale;
} ra_state;

onyx_status ox_img_roi_align_prepare(ox_op_ctx *c) {
    static const char *const modes[] = {"avg", "max"};
    static const char *const ctms[] = {"output_half_pixel", "half_pixel"};
    ra_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = ox_img_enum(c, "mode", "avg", modes, 2, &st->max_mode);
    /* before opset 16 the only behaviour was today's "output_half_pixel" */
    if (s == ONYX_OK && c->opset >= 16)
        s = ox_img_enum(c, "coordinate_transformation_mode", "half_pixel", ctms, 2,
                        &st->half_pixel);
    st->out_h = ox_attr_int(c, "output_height", 1);
    st->out_w = ox_attr_int(c, "output_width", 1);
    st->sampling_ratio = ox_attr_int(c, "sampling_ratio", 0);
    st->spatial_scale = ox_attr_float(c, "spatial_scale", 1.0f);
    if (s == ONYX_OK) s = ox_op_status(c);
    if (s == ONYX_OK && (st->out_h < 1 || st->out_w < 1 || st->out_h > (1 << 20) ||
                         st->out_w > (1 << 20)))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "output_height and output_width must be in 1..2^20");
    if (s == ONYX_OK && (st->sampling_ratio < 0 || st->sampling_ratio > (1 << 16)))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "sampling_ratio = %lld is out of range",
                     (long long)st->sampling_ratio);
    if (s == ONYX_OK && !isfinite(st->spatial_scale))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "spatial_scale is not finite");
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    c->state = st;
    return ONYX_OK;
}

onyx_status ox_img_roi_align_infer(ox_op_ctx *c) {
    const ra_state *st = c->state;
    OX_TRY(ox_img_need(c, 3));
    const ox_tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    OX_TRY(check_x(x));
    if (!ox_img_floatlike(rois->dtype) || rois->rank != 2 || rois->dims[1] != 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'rois' must be a float (num_rois, 4) tensor");
    if (!ox_dtype_is_int(bi->dtype) || bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input 'batch_indices' must be an integer (num_rois,) tensor");
    int64_t dims[4] = {rois->dims[0], x->dims[1], st->out_h, st->out_w};
    ox_set_shape(c->out[0], x->dtype, 4, dims);
    return ox_tx_check_size(c->out[0], "output");
}

/* One bilinear sample: up to 4 input offsets and weights (weight 0 reads nothing). */
typedef struct {
    int64_t pos[4];
    double w[4];
} ra_sample;

static void ra_sample_at(double y, double x, int64_t H, int64_t W, ra_sample *s) {
    memset(s, 0, sizeof *s);
    if (y < -1.0 || y > (double)H || x < -1.0 || x > (double)W || H == 0 || W == 0) return;
    if (y < 0) y = 0;
    if (x < 0) x = 0;
    int64_t yl = (int64_t)y, xl = (int64_t)x, yh, xh;
    if (yl >= H - 1) {
        yh = yl = H - 1;
        y = (double)yl;
    } else {
        yh = yl + 1;
    }
    if (xl >= W - 1) {
        xh = xl = W - 1;
        x = (double)xl;
    } else {
        xh = xl + 1;
    }
    double ly = y - (double)yl, lx = x - (double)xl, hy = 1 - ly, hx = 1 - lx;
    s->pos[0] = yl * W + xl;
    s->pos[1] = yl * W + xh;
    s->pos[2] = yh * W + xl;
    s->pos[3] = yh * W + xh;
    s->w[0] = hy * hx;
    s->w[1] = hy * lx;
    s->w[2] = ly * hx;
    s->w[3] = ly * lx;
}

typedef struct {
    const ra_state *st;
    const ox_tensor *x, *rois, *bi;
    ox_tensor *y;
    unsigned char *fail; /* per roi: 1 = a bad box, 2 = too many samples */
} ra_task;

static double ra_value(const ox_tensor *x, size_t base, const ra_sample *s, int k) {
    return s->w[k] == 0 ? 0 : s->w[k] * ox_tensor_get_double(x, base + (size_t)s->pos[k]);
}

static void ra_rois(void *arg, size_t r0, size_t r1) {
    const ra_task *t = arg;
    const ra_state *st = t->st;
    int64_t C = t->x->dims[1], H = t->x->dims[2], W = t->x->dims[3];
    int64_t ph_n = st->out_h, pw_n = st->out_w;
    for (size_t r = r0; r < r1; r++) {
        int64_t b = ox_tensor_get_int(t->bi, r);
        double box[4], off = st->half_pixel ? 0.5 : 0.0;
        int ok = b >= 0 && b < t->x->dims[0];
        for (int k = 0; k < 4; k++) {
            box[k] = ox_tensor_get_double(t->rois, r * 4 + (size_t)k) * st->spatial_scale - off;
            if (!isfinite(box[k]) || fabs(box[k]) > COORD_BOUND) ok = 0;
        }
        if (!ok) {
            t->fail[r] = 1;
            continue;
        }
        double rw = box[2] - box[0], rh = box[3] - box[1];
        if (!st->half_pixel) { /* malformed boxes become 1 x 1 */
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        double bh = rh / (double)ph_n, bw = rw / (double)pw_n;
        double gh = st->sampling_ratio > 0 ? (double)st->sampling_ratio : ceil(bh);
        double gw = st->sampling_ratio > 0 ? (double)st->sampling_ratio : ceil(bw);
        if (gh < 0) gh = 0;
        if (gw < 0) gw = 0;
        if (gh * gw * (double)(ph_n * pw_n) > RA_MAX_SAMPLES) {
            t->fail[r] = 2;
            continue;
        }
        int64_t ngh = (int64_t)gh, ngw = (int64_t)gw;
        double count = gh * gw > 1 ? gh * gw : 1;
        for (int64_t ch = 0; ch < C; ch++) {
            size_t base = ((size_t)b * (size_t)C + (size_t)ch) * (size_t)(H * W);
            size_t obase = (r * (size_t)C + (size_t)ch) * (size_t)(ph_n * pw_n);
            for (int64_t ph = 0; ph < ph_n; ph++)
                for (int64_t pw = 0; pw < pw_n; pw++) {
                    double acc = 0;
                    int first = 1;
                    for (int64_t iy = 0; iy < ngh; iy++) {
                        double yy = box[1] + (double)ph * bh + ((double)iy + 0.5) * bh / gh;
                        for (int64_t ix = 0; ix < ngw; ix++) {
                            double xx = box[0] + (double)pw * bw + ((double)ix + 0.5) * bw / gw;
                            ra_sample s;
                            ra_sample_at(yy, xx, H, W, &s);
                            if (!st->max_mode) {
                                for (int k = 0; k < 4; k++) acc += ra_value(t->x, base, &s, k);
                                continue;
                            }
                            /* max mode keeps the largest weighted corner (the
                             * reference behaviour), not the interpolated value */
                            double v = ra_value(t->x, base, &s, 0);
                            for (int k = 1; k < 4; k++) {
                                double vk = ra_value(t->x, base, &s, k);
                                if (vk > v) v = vk;
                            }
                            if (first || v > acc) acc = v;
                            first = 0;
                        }
                    }
                    if (!st->max_mode) acc /= count;
                    ox_img_put(t->y->data, obase + (size_t)(ph * pw_n + pw), t->y->dtype, acc);
                }
        }
    }
}

onyx_status ox_img_roi_align_run(ox_op_ctx *c) {
    size_t n = (size_t)c->in[1]->dims[0];
    if (n == 0 || ox_tensor_count(c->out[0]) == 0) return ONYX_OK;
    unsigned char *fail = ox_calloc(n, sizeof *fail);
    if (!fail) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ra_task t = {c->state, c->in[0], c->in[1], c->in[2], c->out[0], fail};
    ox_parallel_for(c->pool, n, 1, ra_rois, &t);
    onyx_status s = ONYX_OK;
    for (size_t r = 0; r < n && s == ONYX_OK; r++) {
        if (fail[r] == 1)
            s = ox_error(ONYX_ERR_RUNTIME,
                         "roi %zu: batch index %lld is outside [0, %lld) or a coordinate is not "
                         "finite", r, (long long)ox_tensor_get_int(c->in[2], r),
                         (long long)c->in[0]->dims[0]);
        else if (fail[r])
            s = ox_error(ONYX_ERR_LIMIT, "roi %zu needs too many sample points", r);
    }
    ox_free(fail);
    return s;
}

/* ---- MaxRoiPool ------------------------------------------------------------------------ */

typedef struct {
    int64_t ph, pw;
    double spatial_scale;
} mrp_state;

onyx_status ox_img_max_roi_pool_prepare(ox_op_ctx *c) {
    mrp_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n;
    const int64_t *ps = ox_attr_ints(c, "pooled_shape", &n);
    st->spatial_scale = ox_attr_float(c, "spatial_scale", 1.0f);
    onyx_status s = ox_op_status(c);
    if (s == ONYX_OK && (!ps || n != 2))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'pooled_shape' (2 values) is required");
    if (s == ONYX_OK && (ps[0] < 1 || ps[1] < 1 || ps[0] > (1 << 20) || ps[1] > (1 << 20)))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "pooled_shape values must be in 1..2^20");
    if (s == ONYX_OK && !isfinite(st->spatial_scale))
        s = ox_error(ONYX_ERR_INVALID_MODEL, "spatial_scale is not finite");
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    st->ph = ps[0];
    st->pw = ps[1];
    c->state = st;
    return ONYX_OK;
}

onyx_status ox_img_max_roi_pool_infer(ox_op_ctx *c) {
    const mrp_state *st = c->state;
    OX_TRY(ox_img_need(c, 2));
    const ox_tensor *x = c->in[0], *rois = c->in[1];
    OX_TRY(check_x(x));
    if (!ox_img_floatlike(rois->dtype) || rois->rank != 2 || rois->dims[1] != 5)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'rois' must be a float (num_rois, 5) tensor");
    int64_t dims[4] = {rois->dims[0], x->dims[1], st->ph, st->pw};
    ox_set_shape(c->out[0], x->dtype, 4, dims);
    return ox_tx_check_size(c->out[0], "output");
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

onyx_status ox_img_max_roi_pool_run(ox_op_ctx *c) {
    const mrp_state *st = c->state;
    const ox_tensor *x = c->in[0], *rois = c->in[1];
    ox_tensor *y = c->out[0];
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    size_t o = 0;
    for (int64_t r = 0; r < rois->dims[0]; r++) {
        double v[5];
        for (int k = 0; k < 5; k++) {
            v[k] = ox_tensor_get_double(rois, (size_t)r * 5 + (size_t)k);
            if (k) v[k] *= st->spatial_scale;
            if (!isfinite(v[k]) || fabs(v[k]) > COORD_BOUND)
                return ox_error(ONYX_ERR_RUNTIME, "roi %lld: a coordinate is not finite or too "
                                "large", (long long)r);
        }
        int64_t b = (int64_t)v[0];
        if (v[0] < 0 || b >= N)
            return ox_error(ONYX_ERR_RUNTIME, "roi %lld: batch index %g is outside [0, %lld)",
                            (long long)r, v[0], (long long)N);
        /* corners round half away from zero; a box covers its end pixel */
        int64_t x0 = (int64_t)round(v[1]), y0 = (int64_t)round(v[2]);
        int64_t x1 = (int64_t)round(v[3]), y1 = (int64_t)round(v[4]);
        int64_t rw = x1 - x0 + 1 > 1 ? x1 - x0 + 1 : 1, rh = y1 - y0 + 1 > 1 ? y1 - y0 + 1 : 1;
        double bh = (double)rh / (double)st->ph, bw = (double)rw / (double)st->pw;
        for (int64_t ch = 0; ch < C; ch++) {
            size_t base = ((size_t)b * (size_t)C + (size_t)ch) * (size_t)(H * W);
            for (int64_t ph = 0; ph < st->ph; ph++) {
                int64_t hs = clamp64((int64_t)floor((double)ph * bh) + y0, 0, H);
                int64_t he = clamp64((int64_t)ceil((double)(ph + 1) * bh) + y0, 0, H);
                for (int64_t pw = 0; pw < st->pw; pw++) {
                    int64_t ws = clamp64((int64_t)floor((double)pw * bw) + x0, 0, W);
                    int64_t we = clamp64((int64_t)ceil((double)(pw + 1) * bw) + x0, 0, W);
                    double m = 0;
                    int empty = 1;
                    for (int64_t h = hs; h < he; h++)
                        for (int64_t w = ws; w < we; w++) {
                            double val = ox_tensor_get_double(x, base + (size_t)(h * W + w));
                            if (empty || val > m) m = val;
                            empty = 0;
                        }
                    ox_img_put(y->data, o++, y->dtype, m);
                }
            }
        }
    }
    return ONYX_OK;
}
