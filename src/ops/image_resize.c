/* Resize (opsets 10-19) and Upsample (1-9).
 *
 * Every mode is separable: an output coordinate along one axis maps to a source
 * coordinate x (coordinate_transformation_mode), and the value is a weighted sum
 * of a few source samples around x. "nearest" picks one sample, so it runs as a
 * pure N-D gather on any element type. "linear" and "cubic" run one 1-D pass per
 * resized axis (float32 and float64 natively, other numeric types through float64).
 *
 * Taps: with xf = floor(x) and r = x - xf, an integral x uses xf - 1 and r = 1
 * (the sample left of x is preferred), so the taps are xf + start + k for
 * k = 0 .. n-1 with start = 1 - n/2, at distance (start + k - r) from x. Samples
 * outside the input repeat the edge (unless exclude_outside drops them).
 * Antialiasing stretches the filter by 1/scale when downsampling. */
#include <math.h>
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"
#include "util/threadpool.h"

enum { M_NEAREST, M_LINEAR, M_CUBIC, M_BILINEAR };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYM, CT_PYTORCH, CT_ALIGN, CT_ASYM, CT_TF_HALF_NN, CT_TF_CROP };
enum { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };
enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER };

/* Output dims above this are refused before any float -> int conversion. */
#define DIM_MAX 281474976710656.0 /* 2^48 */

typedef struct {
    int mode, ctm, nearest, policy;
    int antialias, exclude_outside;
    double cubic_a, extrapolation;
    int scales_attr; /* Upsample 1..8: the scales are attributes */
    size_t n_attr_scales;
    double attr_scales[OX_MAX_RANK];
    int has_axes;
    size_t n_axes;
    int64_t axes[OX_MAX_RANK];
    size_t in_roi, in_scales, in_sizes; /* input slots; 0 = the op has none */
} rs_state;

static const char *const mode_names[] = {"nearest", "linear", "cubic", "bilinear"};
static const char *const ctm_names[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                        "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                        "tf_crop_and_resize"};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                            "ceil"};
static const char *const policy_names[] = {"stretch", "not_larger", "not_smaller"};

static onyx_status rs_read_attrs(ox_op_ctx *c, rs_state *st) {
    int upsample = strcmp(c->node->op_type, "Upsample") == 0;
    OX_TRY(ox_img_enum(c, "mode", "nearest", mode_names, 4, &st->mode));
    if (st->mode == M_BILINEAR) st->mode = M_LINEAR;
    st->policy = KA_STRETCH;
    st->cubic_a = -0.75;
    if (upsample || c->opset < 11) {
        /* no coordinate attributes yet: the legacy behaviour is "asymmetric", and
         * nearest rounds down when upsampling and up when downsampling */
        st->ctm = CT_ASYM;
        st->nearest = NM_SIMPLE;
        if (upsample && c->opset < 7) {
            const ox_attr *h = ox_attr_get(c, "height_scale"), *w = ox_attr_get(c, "width_scale");
            if (!h || !w)
                return ox_error(ONYX_ERR_INVALID_MODEL,
                                "attributes 'height_scale' and 'width_scale' are required");
            st->attr_scales[0] = st->attr_scales[1] = 1;
            st->attr_scales[2] = ox_attr_float(c, "height_scale", 1);
            st->attr_scales[3] = ox_attr_float(c, "width_scale", 1);
            st->n_attr_scales = 4;
            st->scales_attr = 1;
        } else if (upsample && c->opset < 9) {
            size_t n;
            const float *s = ox_attr_floats(c, "scales", &n);
            OX_TRY(ox_op_status(c));
            if (!s) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'scales' is required");
            if (n > OX_MAX_RANK)
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'scales' has %zu values", n);
            for (size_t i = 0; i < n; i++) st->attr_scales[i] = s[i];
            st->n_attr_scales = n;
            st->scales_attr = 1;
        } else {
            st->in_scales = 1;
        }
        return ox_op_status(c);
    }
    OX_TRY(ox_img_enum(c, "coordinate_transformation_mode", "half_pixel", ctm_names, 7, &st->ctm));
    OX_TRY(ox_img_enum(c, "nearest_mode", "round_prefer_floor", nearest_names, 4, &st->nearest));
    st->cubic_a = ox_attr_float(c, "cubic_coeff_a", -0.75f);
    st->exclude_outside = ox_attr_int(c, "exclude_outside", 0) != 0;
    st->extrapolation = ox_attr_float(c, "extrapolation_value", 0.0f);
    st->in_roi = 1;
    st->in_scales = 2;
    st->in_sizes = 3;
    if (c->opset >= 18) {
        st->antialias = ox_attr_int(c, "antialias", 0) != 0;
        OX_TRY(ox_img_enum(c, "keep_aspect_ratio_policy", "stretch", policy_names, 3,
                           &st->policy));
        size_t n;
        const int64_t *a = ox_attr_ints(c, "axes", &n);
        OX_TRY(ox_op_status(c));
        if (a) {
            if (n > OX_MAX_RANK)
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axes' has %zu values", n);
            memcpy(st->axes, a, n * sizeof *a);
            st->n_axes = n;
            st->has_axes = 1;
        }
    }
    return ox_op_status(c);
}

onyx_status ox_img_resize_prepare(ox_op_ctx *c) {
    rs_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = rs_read_attrs(c, st);
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    c->state = st;
    return ONYX_OK;
}

/* ---- geometry ------------------------------------------------------------------------ */

typedef struct {
    int32_t rank;
    int64_t in[OX_MAX_RANK], out[OX_MAX_RANK];
    double scale[OX_MAX_RANK], roi0[OX_MAX_RANK], roi1[OX_MAX_RANK];
    int active[OX_MAX_RANK]; /* the axis changes */
} rs_geom;

/* Input i is given with at least one element (an empty tensor stands for "absent"). */
static int rs_given(const ox_op_ctx *c, size_t i) {
    return i && ox_has_input(c, i) && ox_tensor_count(c->in[i]) > 0;
}

static onyx_status rs_read_floats(const ox_tensor *t, const char *what, size_t want, double *v) {
    if (!ox_img_floatlike(t->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected a float type",
                        what, ox_dtype_name(t->dtype));
    size_t n = ox_tensor_count(t);
    if (t->rank != 1 || n != want)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be 1-D with %zu values", what,
                        want);
    if (!t->data) return OX_NEED_VALUE;
    for (size_t i = 0; i < n; i++) {
        v[i] = ox_tensor_get_double(t, i);
        if (!isfinite(v[i]))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s'[%zu] is not finite", what, i);
    }
    return ONYX_OK;
}

static onyx_status rs_geometry(ox_op_ctx *c, const rs_state *st, rs_geom *g) {
    OX_TRY(ox_img_need(c, 1));
    const ox_tensor *x = c->in[0];
    int32_t r = x->rank;
    int64_t axes[OX_MAX_RANK];
    size_t n = (size_t)r;
    g->rank = r;
    for (int32_t d = 0; d < r; d++) {
        axes[d] = d;
        g->in[d] = g->out[d] = x->dims[d];
        g->scale[d] = 1;
        g->roi0[d] = 0;
        g->roi1[d] = 1;
        g->active[d] = 0;
    }
    int listed[OX_MAX_RANK] = {0};
    for (int32_t d = 0; d < r; d++) listed[d] = !st->has_axes;
    if (st->has_axes) {
        int seen[OX_MAX_RANK] = {0};
        n = st->n_axes;
        for (size_t i = 0; i < n; i++) {
            int32_t a;
            OX_TRY(ox_norm_axis(st->axes[i], r, &a));
            if (seen[a]) return ox_error(ONYX_ERR_INVALID_MODEL, "axis %d is repeated", a);
            seen[a] = listed[a] = 1;
            axes[i] = a;
        }
    }
    double scales[OX_MAX_RANK], roi[2 * OX_MAX_RANK];
    int64_t sizes[OX_MAX_RANK];
    int have_scales = 0, have_sizes = 0;
    if (st->scales_attr) {
        if (st->n_attr_scales != n)
            return ox_error(ONYX_ERR_INVALID_MODEL, "%zu scales for an input of rank %d",
                            st->n_attr_scales, r);
        memcpy(scales, st->attr_scales, n * sizeof *scales);
        have_scales = 1;
    }
    if (rs_given(c, st->in_scales)) {
        OX_TRY(rs_read_floats(c->in[st->in_scales], "scales", n, scales));
        have_scales = 1;
    }
    if (rs_given(c, st->in_sizes)) {
        const ox_tensor *t = c->in[st->in_sizes];
        if (t->rank != 1 || ox_tensor_count(t) != n)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'sizes' must be 1-D with %zu values", n);
        if (!t->data) return OX_NEED_VALUE;
        size_t got;
        OX_TRY(ox_tx_read_ints(t, "sizes", 0, sizes, OX_MAX_RANK, &got));
        have_sizes = 1;
    }
    if (have_scales && have_sizes)
        return ox_error(ONYX_ERR_INVALID_MODEL, "only one of 'scales' and 'sizes' may be given");
    if (!have_scales && !have_sizes) {
        if (n == 0) return ONYX_OK; /* nothing to resize */
        return ox_error(ONYX_ERR_INVALID_MODEL, "one of 'scales' and 'sizes' is required");
    }
    if (st->ctm == CT_TF_CROP) {
        if (!rs_given(c, st->in_roi))
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "input 'roi' is required by coordinate_transformation_mode "
                            "tf_crop_and_resize");
        OX_TRY(rs_read_floats(c->in[st->in_roi], "roi", 2 * n, roi));
        for (size_t i = 0; i < n; i++) {
            g->roi0[axes[i]] = roi[i];
            g->roi1[axes[i]] = roi[n + i];
        }
    }
    if (have_scales) {
        for (size_t i = 0; i < n; i++) {
            int64_t d = axes[i];
            double s = scales[i], o = floor(s * (double)g->in[d]);
            if (!(s > 0))
                return ox_error(ONYX_ERR_INVALID_MODEL, "scales[%zu] = %g must be positive", i, s);
            if (!(o < DIM_MAX))
                return ox_error(ONYX_ERR_LIMIT, "scales[%zu] = %g makes axis %lld too large", i,
                                s, (long long)d);
            g->scale[d] = s;
            g->out[d] = (int64_t)o;
        }
    } else {
        double common = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t d = axes[i];
            if (sizes[i] < 0)
                return ox_error(ONYX_ERR_INVALID_MODEL, "sizes[%zu] = %lld is negative", i,
                                (long long)sizes[i]);
            if (st->policy == KA_STRETCH) {
                g->out[d] = sizes[i];
                g->scale[d] = g->in[d] ? (double)sizes[i] / (double)g->in[d] : 1;
                continue;
            }
            if (g->in[d] == 0)
                return ox_error(ONYX_ERR_INVALID_MODEL,
                                "keep_aspect_ratio_policy cannot scale the empty axis %lld",
                                (long long)d);
            double s = (double)sizes[i] / (double)g->in[d];
            if (i == 0 || (st->policy == KA_NOT_LARGER ? s < common : s > common)) common = s;
        }
        if (st->policy != KA_STRETCH) {
            for (size_t i = 0; i < n; i++) {
                int64_t d = axes[i];
                double o = floor(common * (double)g->in[d] + 0.5);
                if (!(o < DIM_MAX))
                    return ox_error(ONYX_ERR_LIMIT, "sizes make axis %lld too large",
                                    (long long)d);
                g->out[d] = (int64_t)o;
                g->scale[d] = common;
            }
        }
    }
    for (int32_t d = 0; d < r; d++) {
        if (g->in[d] == 0 && g->out[d] > 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "cannot resize the empty axis %d to %lld", d,
                            (long long)g->out[d]);
        /* scale 1 is the identity in every mode but tf_half_pixel_for_nn, which
         * shifts by half a pixel */
        g->active[d] = listed[d] && !(g->scale[d] == 1 && g->out[d] == g->in[d] &&
                                      g->roi0[d] == 0 && g->roi1[d] == 1 &&
                                      st->ctm != CT_TF_HALF_NN);
    }
    return ONYX_OK;
}

/* Source coordinate of output index y along axis d. */
static double rs_coord(const rs_state *st, const rs_geom *g, int d, int64_t y) {
    double s = g->scale[d], len = (double)g->in[d], yy = (double)y;
    double ow = s * len; /* the output length before flooring */
    switch (st->ctm) {
    case CT_HALF_PIXEL: return (yy + 0.5) / s - 0.5;
    case CT_HALF_PIXEL_SYM: {
        double adjust = (double)g->out[d] / ow;
        return len / 2 * (1 - adjust) + (yy + 0.5) / s - 0.5;
    }
    case CT_PYTORCH: return ow > 1 ? (yy + 0.5) / s - 0.5 : 0;
    case CT_ALIGN: return ow > 1 ? yy * (len - 1) / (ow - 1) : 0;
    case CT_ASYM: return yy / s;
    case CT_TF_HALF_NN: return (yy + 0.5) / s;
    default: { /* tf_crop_and_resize */
        double r0 = g->roi0[d], r1 = g->roi1[d];
        double x = ow > 1 ? yy * (r1 - r0) * (len - 1) / (ow - 1) : (r1 - r0) * (len - 1) / 2;
        return x + r0 * (len - 1);
    }
    }
}

static int rs_outside(const rs_state *st, const rs_geom *g, int d, double x) {
    return st->ctm == CT_TF_CROP && (x < 0 || x > (double)(g->in[d] - 1));
}

/* Keeps float -> int64 conversions defined whatever the coordinate. */
static double rs_bound(double x) {
    return x < -DIM_MAX ? -DIM_MAX : x > DIM_MAX ? DIM_MAX : x;
}

/* Source index along axis d for each output index, or -1 for the extrapolation value. */
static void rs_nearest_map(const rs_state *st, const rs_geom *g, int d, int64_t *map) {
    int64_t len = g->in[d];
    for (int64_t o = 0; o < g->out[d]; o++) {
        double x = rs_coord(st, g, d, o);
        if (rs_outside(st, g, d, x)) {
            map[o] = -1;
            continue;
        }
        x = rs_bound(x);
        double f = floor(x), r = x - f, v = f;
        if (st->nearest == NM_SIMPLE)
            v = g->scale[d] < 1 ? ceil(x) : f;
        else if (r > 0)
            switch (st->nearest) {
            case NM_PREFER_FLOOR: v = r <= 0.5 ? f : f + 1; break;
            case NM_PREFER_CEIL: v = r < 0.5 ? f : f + 1; break;
            case NM_FLOOR: v = f; break;
            default: v = f + 1; break;
            }
        int64_t i = (int64_t)v;
        map[o] = i < 0 ? 0 : i >= len ? len - 1 : i;
    }
}

/* ---- nearest: an N-D gather ---------------------------------------------------------- */

typedef struct {
    const rs_geom *g;
    const int64_t *map[OX_MAX_RANK];
    int64_t stride[OX_MAX_RANK]; /* input strides */
    const char *src;
    char *dst;
    size_t es;
    unsigned char fill[16]; /* the extrapolation value as one element */
} gather_task;

/* Input offset of an output row's first element, or -1 when the row lies outside. */
static int64_t gather_row_base(const gather_task *t, size_t row) {
    int32_t r = t->g->rank;
    int64_t off = 0;
    for (int32_t d = r - 2; d >= 0; d--) {
        size_t od = (size_t)t->g->out[d];
        int64_t m = t->map[d][row % od];
        row /= od;
        if (m < 0) return -1;
        off += m * t->stride[d];
    }
    return off;
}

/* One output row from the input row at base (or the fill value where outside). */
#define GATHER_ROW(T)                                                                            \
    do {                                                                                         \
        T *d = (T *)dst, f;                                                                      \
        memcpy(&f, t->fill, sizeof f);                                                           \
        if (base < 0) {                                                                          \
            for (size_t j = 0; j < w; j++) d[j] = f;                                             \
        } else {                                                                                 \
            const T *s = (const T *)t->src + base;                                               \
            for (size_t j = 0; j < w; j++) d[j] = last[j] < 0 ? f : s[last[j]];                 \
        }                                                                                        \
    } while (0)

static void gather_rows(void *arg, size_t r0, size_t r1) {
    const gather_task *t = arg;
    int32_t r = t->g->rank;
    size_t w = (size_t)t->g->out[r - 1], es = t->es;
    const int64_t *last = t->map[r - 1];
    for (size_t row = r0; row < r1; row++) {
        int64_t base = gather_row_base(t, row);
        char *dst = t->dst + row * w * es;
        switch (es) {
        case 1: GATHER_ROW(uint8_t); break;
        case 2: GATHER_ROW(uint16_t); break;
        case 4: GATHER_ROW(uint32_t); break;
        case 8: GATHER_ROW(uint64_t); break;
        default:
            for (size_t j = 0; j < w; j++) {
                const void *from = base < 0 || last[j] < 0
                                       ? (const void *)t->fill
                                       : t->src + (size_t)(base + last[j]) * es;
                memcpy(dst + j * es, from, es);
            }
        }
    }
}

/* STRING elements are duplicated one by one on the calling thread. */
static onyx_status gather_strings(const gather_task *t, size_t rows) {
    int32_t r = t->g->rank;
    size_t w = (size_t)t->g->out[r - 1];
    for (size_t row = 0; row < rows; row++) {
        int64_t base = gather_row_base(t, row);
        for (size_t j = 0; j < w; j++) {
            if (base < 0 || t->map[r - 1][j] < 0)
                return ox_error(ONYX_ERR_UNSUPPORTED,
                                "tf_crop_and_resize extrapolation of string data");
            OX_TRY(ox_tx_copy_one(t->dst, row * w + j, t->src, (size_t)(base + t->map[r - 1][j]),
                                  ONYX_DTYPE_STRING));
        }
    }
    return ONYX_OK;
}

static onyx_status rs_run_nearest(ox_op_ctx *c, const rs_state *st, const rs_geom *g) {
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    int32_t r = g->rank;
    size_t total = 0;
    for (int32_t d = 0; d < r; d++) total += (size_t)g->out[d];
    int64_t *maps = ox_malloc_array(total ? total : 1, sizeof *maps);
    if (!maps) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    gather_task t = {.g = g, .src = x->data, .dst = y->data, .es = ox_dtype_size(x->dtype)};
    ox_tx_strides(r, x->dims, t.stride);
    for (int32_t d = 0, at = 0; d < r; d++) {
        rs_nearest_map(st, g, d, maps + at);
        t.map[d] = maps + at;
        at += (int32_t)g->out[d];
    }
    memset(t.fill, 0, sizeof t.fill);
    if (ox_img_numeric(x->dtype)) ox_img_put(t.fill, 0, x->dtype, st->extrapolation);
    size_t rows = ox_tensor_count(y) / (size_t)g->out[r - 1];
    onyx_status s = ONYX_OK;
    if (x->dtype == ONYX_DTYPE_STRING) {
        s = gather_strings(&t, rows);
    } else {
        size_t grain = 16384 / ((size_t)g->out[r - 1] + 1) + 1;
        ox_parallel_for(c->pool, rows, grain, gather_rows, &t);
    }
    ox_free(maps);
    return s;
}

/* ---- linear and cubic: one weighted pass per axis ------------------------------------ */

typedef struct {
    int n;                /* taps per output index */
    int64_t *idx;         /* out x n source indices, clamped into the input */
    double *w;            /* out x n weights */
    unsigned char *ext;   /* out flags: the extrapolation value (tf_crop_and_resize) */
    int any_ext;
} rs_taps;

static double rs_kernel(const rs_state *st, double t) {
    t = fabs(t);
    if (st->mode == M_LINEAR) return t < 1 ? 1 - t : 0;
    double a = st->cubic_a, t2 = t * t, t3 = t2 * t;
    if (t <= 1) return (a + 2) * t3 - (a + 3) * t2 + 1;
    if (t < 2) return a * t3 - 5 * a * t2 + 8 * a * t - 4 * a;
    return 0;
}

static onyx_status rs_build_taps(const rs_state *st, const rs_geom *g, int d, rs_taps *tp) {
    int64_t len = g->in[d], out = g->out[d];
    double s = g->scale[d];
    double se = st->antialias && s < 1 ? s : 1; /* the filter is stretched by 1/se */
    double support = st->mode == M_CUBIC ? 2 : 1;
    double fstart = floor(-support / se) + 1;
    /* with at least one output, se >= 0.5 / len, so the filter spans a few lengths */
    if (out == 0) fstart = 0;
    if (!(fstart > -(double)((int64_t)1 << 30)))
        return ox_error(ONYX_ERR_LIMIT, "resize filter along axis %d is too large", d);
    int64_t start = (int64_t)fstart, n = 2 - 2 * start;
    size_t cnt;
    if (!ox_mul_ok((size_t)out, (size_t)n, &cnt))
        return ox_error(ONYX_ERR_LIMIT, "resize filter along axis %d is too large", d);
    tp->n = (int)n;
    tp->idx = ox_malloc_array(cnt ? cnt : 1, sizeof *tp->idx);
    tp->w = ox_malloc_array(cnt ? cnt : 1, sizeof *tp->w);
    tp->ext = ox_calloc(out ? (size_t)out : 1, 1);
    tp->any_ext = 0;
    if (!tp->idx || !tp->w || !tp->ext) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int normalize = st->antialias || st->exclude_outside;
    for (int64_t o = 0; o < out; o++) {
        int64_t *ix = tp->idx + o * n;
        double *w = tp->w + o * n, x = rs_coord(st, g, d, o);
        if (rs_outside(st, g, d, x)) {
            tp->ext[o] = 1;
            tp->any_ext = 1;
            for (int64_t k = 0; k < n; k++) {
                ix[k] = 0;
                w[k] = 0;
            }
            continue;
        }
        x = rs_bound(x);
        double f = floor(x), ratio = x - f;
        if (ratio == 0) {
            ratio = 1;
            f -= 1;
        }
        int64_t base = (int64_t)f + start;
        double sum = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t tap = base + k;
            double wk = rs_kernel(st, ((double)(start + k) - ratio) * se);
            if (st->exclude_outside && (tap < 0 || tap >= len)) wk = 0;
            ix[k] = tap < 0 ? 0 : tap >= len ? len - 1 : tap;
            w[k] = wk;
            sum += wk;
        }
        if (normalize && sum != 0)
            for (int64_t k = 0; k < n; k++) w[k] /= sum;
    }
    return ONYX_OK;
}

static void rs_taps_free(rs_taps *tp) {
    ox_free(tp->idx);
    ox_free(tp->w);
    ox_free(tp->ext);
}

/* One pass: src is outer x len x inner, dst is outer x out x inner. A work unit
 * is one (outer, out) slice of inner elements, or a whole row when inner is 1. */
#define DEFINE_PASS(T, NAME)                                                                     \
    typedef struct {                                                                             \
        const T *src;                                                                            \
        T *dst;                                                                                  \
        size_t len, out, inner;                                                                  \
        const rs_taps *tp;                                                                       \
        T fill;                                                                                  \
    } NAME##_task;                                                                               \
    static void NAME##_rows(void *arg, size_t b0, size_t b1) {                                   \
        const NAME##_task *t = arg;                                                              \
        size_t n = (size_t)t->tp->n;                                                             \
        for (size_t b = b0; b < b1; b++) {                                                       \
            const T *src = t->src + b * t->len;                                                  \
            T *dst = t->dst + b * t->out;                                                        \
            for (size_t o = 0; o < t->out; o++) {                                                \
                const int64_t *ix = t->tp->idx + o * n;                                          \
                const double *w = t->tp->w + o * n;                                              \
                double acc = 0;                                                                  \
                for (size_t k = 0; k < n; k++) acc += w[k] * (double)src[ix[k]];                 \
                dst[o] = t->tp->ext[o] ? t->fill : (T)acc;                                       \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    static void NAME##_slices(void *arg, size_t u0, size_t u1) {                                 \
        const NAME##_task *t = arg;                                                              \
        size_t n = (size_t)t->tp->n, inner = t->inner;                                           \
        for (size_t u = u0; u < u1; u++) {                                                       \
            size_t b = u / t->out, o = u % t->out;                                               \
            T *dst = t->dst + u * inner;                                                         \
            const T *src = t->src + b * t->len * inner;                                          \
            const int64_t *ix = t->tp->idx + o * n;                                              \
            const double *w = t->tp->w + o * n;                                                  \
            for (size_t i = 0; i < inner; i++) dst[i] = t->tp->ext[o] ? t->fill : 0;             \
            for (size_t k = 0; k < n && !t->tp->ext[o]; k++) {                                   \
                if (w[k] == 0) continue;                                                         \
                T wk = (T)w[k];                                                                  \
                const T *s = src + (size_t)ix[k] * inner;                                        \
                for (size_t i = 0; i < inner; i++) dst[i] += wk * s[i];                          \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    static void NAME(ox_threadpool *pool, const NAME##_task *t, size_t outer) {                  \
        size_t work = t->inner * (size_t)t->tp->n + 1;                                           \
        if (t->inner == 1)                                                                       \
            ox_parallel_for(pool, outer, 16384 / (work * t->out + 1) + 1, NAME##_rows,           \
                            (void *)t);                                                          \
        else                                                                                     \
            ox_parallel_for(pool, outer * t->out, 16384 / work + 1, NAME##_slices, (void *)t);   \
    }

DEFINE_PASS(float, pass_f32)
DEFINE_PASS(double, pass_f64)

/* Rows (all dims but the last) of the output where some leading index lies
 * outside get the extrapolation value exactly, as do the outside columns. */
static void rs_fix_extrapolated(const rs_geom *g, rs_taps *taps, void *data, int is_f32,
                                double e) {
    int32_t r = g->rank;
    size_t w = (size_t)g->out[r - 1], rows = 1;
    for (int32_t d = 0; d < r - 1; d++) rows *= (size_t)g->out[d];
    const unsigned char *last = g->active[r - 1] ? taps[r - 1].ext : NULL;
    for (size_t row = 0; row < rows; row++) {
        size_t rr = row;
        int outside = 0;
        for (int32_t d = r - 2; d >= 0; d--) {
            size_t od = (size_t)g->out[d], i = rr % od;
            rr /= od;
            if (g->active[d] && taps[d].ext[i]) outside = 1;
        }
        for (size_t j = 0; j < w; j++) {
            if (!outside && !(last && last[j])) continue;
            if (is_f32)
                ((float *)data)[row * w + j] = (float)e;
            else
                ((double *)data)[row * w + j] = e;
        }
    }
}

/* The passes of a linear/cubic resize and the scratch memory they need: two
 * ping-pong intermediates, and float64 copies of input and output for the types
 * computed through float64. Infer asks for it as workspace so that repeated runs
 * reuse the engine's arena. */
typedef struct {
    int order[OX_MAX_RANK], n_pass;
    int native, is_f32;
    size_t es, biggest, n_in, n_out;
    size_t off_buf1, off_xin, off_yout, bytes;
} rs_plan;

static size_t rs_align(size_t n) { return (n + 63) & ~(size_t)63; }

static onyx_status rs_make_plan(const rs_state *st, const rs_geom *g, int32_t dtype, rs_plan *p) {
    memset(p, 0, sizeof *p);
    if (st->mode == M_NEAREST) return ONYX_OK;
    int32_t r = g->rank;
    /* downsizing axes first keeps the intermediates small */
    for (int pass = 0; pass < 2; pass++)
        for (int32_t d = 0; d < r; d++)
            if (g->active[d] && (g->out[d] < g->in[d]) == (pass == 0)) p->order[p->n_pass++] = d;
    if (!p->n_pass || !ox_img_numeric(dtype)) return ONYX_OK;
    p->native = dtype == ONYX_DTYPE_FLOAT || dtype == ONYX_DTYPE_DOUBLE;
    p->is_f32 = dtype == ONYX_DTYPE_FLOAT;
    p->es = p->is_f32 ? sizeof(float) : sizeof(double);
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, g->in, sizeof dims);
    if (!ox_shape_count_checked(r, g->in, ONYX_DTYPE_DOUBLE, &p->n_in, NULL) ||
        !ox_shape_count_checked(r, g->out, ONYX_DTYPE_DOUBLE, &p->n_out, NULL))
        return ox_error(ONYX_ERR_LIMIT, "resize input or output is too large");
    for (int i = 0; i + 1 < p->n_pass; i++) {
        size_t cnt;
        dims[p->order[i]] = g->out[p->order[i]];
        if (!ox_shape_count_checked(r, dims, ONYX_DTYPE_DOUBLE, &cnt, NULL))
            return ox_error(ONYX_ERR_LIMIT, "resize intermediate is too large");
        if (cnt > p->biggest) p->biggest = cnt;
    }
    /* each part is at most 2^62 bytes (checked above), so the sums fit */
    size_t buf = rs_align(p->biggest * p->es);
    p->off_buf1 = buf;
    p->off_xin = 2 * buf;
    p->off_yout = p->off_xin + (p->native ? 0 : rs_align(p->n_in * sizeof(double)));
    p->bytes = p->off_yout + (p->native ? 0 : rs_align(p->n_out * sizeof(double)));
    if (p->bytes < p->off_yout || p->off_yout < p->off_xin)
        return ox_error(ONYX_ERR_LIMIT, "resize scratch memory is too large");
    return ONYX_OK;
}

static onyx_status rs_run_filter(ox_op_ctx *c, const rs_state *st, const rs_geom *g) {
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    int32_t r = g->rank, dtype = x->dtype;
    if (!ox_img_numeric(dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s mode on %s data", mode_names[st->mode],
                        ox_dtype_name(dtype));
    rs_plan p;
    OX_TRY(rs_make_plan(st, g, dtype, &p));
    char *scratch = c->workspace, *owned = NULL;
    if (p.bytes && (!scratch || c->workspace_bytes < p.bytes)) {
        scratch = owned = ox_malloc_aligned(p.bytes);
        if (!owned) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for resize scratch");
    }
    void *buf[2] = {scratch, scratch + p.off_buf1};
    double *xin = (double *)(scratch + p.off_xin), *yout = (double *)(scratch + p.off_yout);
    if (!p.native)
        for (size_t i = 0; i < p.n_in; i++) xin[i] = ox_tensor_get_double(x, i);
    rs_taps taps[OX_MAX_RANK];
    memset(taps, 0, sizeof taps);
    onyx_status s = ONYX_OK;
    for (int i = 0; i < p.n_pass && s == ONYX_OK; i++)
        s = rs_build_taps(st, g, p.order[i], &taps[p.order[i]]);
    const void *cur = p.native ? x->data : (const void *)xin;
    void *final = p.native ? y->data : (void *)yout;
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, g->in, sizeof dims);
    int any_ext = 0;
    for (int i = 0; i < p.n_pass && s == ONYX_OK; i++) {
        int d = p.order[i];
        size_t outer = ox_tx_prod(dims, 0, d), inner = ox_tx_prod(dims, d + 1, r);
        void *dst = i + 1 == p.n_pass ? final : buf[i % 2];
        any_ext |= taps[d].any_ext;
        if (p.is_f32) {
            pass_f32_task t = {cur, dst, (size_t)g->in[d], (size_t)g->out[d], inner, &taps[d],
                               (float)st->extrapolation};
            pass_f32(c->pool, &t, outer);
        } else {
            pass_f64_task t = {cur, dst, (size_t)g->in[d], (size_t)g->out[d], inner, &taps[d],
                               st->extrapolation};
            pass_f64(c->pool, &t, outer);
        }
        dims[d] = g->out[d];
        cur = dst;
    }
    if (s == ONYX_OK && any_ext && p.n_out)
        rs_fix_extrapolated(g, taps, final, p.is_f32, st->extrapolation);
    if (s == ONYX_OK && !p.native)
        for (size_t i = 0; i < p.n_out; i++) ox_img_put(y->data, i, dtype, yout[i]);
    for (int32_t d = 0; d < r; d++) rs_taps_free(&taps[d]);
    ox_free_aligned(owned);
    return s;
}

onyx_status ox_img_resize_infer(ox_op_ctx *c) {
    const rs_state *st = c->state;
    rs_geom g;
    OX_TRY(rs_geometry(c, st, &g));
    if (st->mode != M_NEAREST && !ox_img_numeric(c->in[0]->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s mode on %s data", mode_names[st->mode],
                        ox_dtype_name(c->in[0]->dtype));
    ox_set_shape(c->out[0], c->in[0]->dtype, g.rank, g.out);
    OX_TRY(ox_tx_check_size(c->out[0], "output"));
    rs_plan p;
    OX_TRY(rs_make_plan(st, &g, c->in[0]->dtype, &p));
    c->workspace_bytes = p.bytes;
    return ONYX_OK;
}

onyx_status ox_img_resize_run(ox_op_ctx *c) {
    const rs_state *st = c->state;
    rs_geom g;
    OX_TRY(rs_geometry(c, st, &g));
    const ox_tensor *x = c->in[0];
    if (ox_tensor_count(c->out[0]) == 0) return ONYX_OK;
    int any = 0;
    for (int32_t d = 0; d < g.rank; d++) any |= g.active[d];
    if (!any) return ox_tx_copy(c->out[0]->data, x->data, ox_tensor_count(x), x->dtype);
    if (st->mode == M_NEAREST) return rs_run_nearest(c, st, &g);
    return rs_run_filter(c, st, &g);
}
