/* Ops that grow or reshuffle a tensor by index maps: Pad, CenterCropPad, Tile,
 * DepthToSpace, SpaceToDepth. */
#include <string.h>

#include "ops/tensor_util.h"
#include "util/alloc.h"

/* ---- Pad ---------------------------------------------------------------------------- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct {
    int mode;
    int64_t begin[OX_MAX_RANK], end[OX_MAX_RANK]; /* may be negative: crop */
    unsigned char value[16];                      /* constant, one element of the data type */
    ox_string str;                                /* constant for STRING data */
} pad_params;

static onyx_status pad_params_read(ox_op_ctx *c, pad_params *p) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int32_t r = x->rank;
    memset(p, 0, sizeof *p);
    const char *mode = ox_attr_str(c, "mode", "constant");
    OX_TRY(ox_op_status(c));
    if (strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0)
        p->mode = PAD_WRAP;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'mode' = '%s' is not supported", mode);

    int64_t pads[2 * OX_MAX_RANK], axes[OX_MAX_RANK];
    size_t n = 0, n_axes = (size_t)r;
    for (int32_t i = 0; i < r; i++) axes[i] = i;
    if (c->opset < 11) {
        const int64_t *a = ox_attr_ints(c, c->opset < 2 ? "paddings" : "pads", &n);
        float v = ox_attr_float(c, "value", 0.0f);
        OX_TRY(ox_op_status(c));
        if (!a) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'pads' is required");
        if (n > 2 * OX_MAX_RANK)
            n = 2 * OX_MAX_RANK + 1; /* reported as a mismatch below */
        else
            memcpy(pads, a, n * sizeof *a);
        if (!ox_tx_store_float(p->value, 0, x->dtype, v) && v != 0 &&
            !(v > -9.2e18f && v < 9.2e18f && ox_tx_store_int(p->value, 0, x->dtype, (int64_t)v)))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'value' cannot fill %s data",
                            ox_dtype_name(x->dtype));
    } else {
        OX_TRY(ox_tx_need_input(c, 1, "pads"));
        if (!ox_tx_known(c->in[1])) return OX_NEED_VALUE;
        if (ox_has_input(c, 3) && c->opset >= 18) {
            if (!ox_tx_known(c->in[3])) return OX_NEED_VALUE;
            OX_TRY(ox_tx_read_ints(c->in[3], "axes", 1, axes, OX_MAX_RANK, &n_axes));
        }
        OX_TRY(ox_tx_read_ints(c->in[1], "pads", 0, pads, 2 * OX_MAX_RANK, &n));
        if (ox_has_input(c, 2)) {
            const ox_tensor *cv = c->in[2];
            if (cv->dtype != x->dtype || ox_tensor_count(cv) > 1)
                return ox_error(ONYX_ERR_INVALID_MODEL,
                                "input 'constant_value' must be a %s scalar",
                                ox_dtype_name(x->dtype));
            if (ox_tensor_count(cv) == 1) {
                if (!cv->data) return OX_NEED_VALUE;
                if (x->dtype == ONYX_DTYPE_STRING)
                    p->str = *(const ox_string *)cv->data;
                else
                    memcpy(p->value, cv->data, ox_dtype_size(x->dtype));
            }
        }
    }
    if (n != 2 * n_axes)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'pads' has %zu values, expected %zu", n,
                        2 * n_axes);
    int seen[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n_axes; i++) {
        int32_t a;
        OX_TRY(ox_norm_axis(axes[i], r, &a));
        if (seen[a]) return ox_error(ONYX_ERR_INVALID_MODEL, "axis %d is padded twice", a);
        seen[a] = 1;
        int64_t b = pads[i], e = pads[i + n_axes], lim = (int64_t)1 << 62;
        if (b > lim || b < -lim || e > lim || e < -lim)
            return ox_error(ONYX_ERR_LIMIT, "pads for axis %d are too large", a);
        int64_t kept = x->dims[a] - (b < 0 ? -b : 0) - (e < 0 ? -e : 0);
        if (kept < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "negative pads remove more than axis %d holds",
                            a);
        if (p->mode != PAD_CONSTANT && kept == 0 && (b > 0 || e > 0))
            return ox_error(ONYX_ERR_INVALID_MODEL, "%s padding of an empty axis %d", mode, a);
        p->begin[a] = b;
        p->end[a] = e;
    }
    return ONYX_OK;
}

/* CenterCropPad: a constant-zero Pad whose per-axis pads center the input in the
 * target size (negative pads crop; odd differences put the extra one at the end). */
static onyx_status ccp_params_read(ox_op_ctx *c, pad_params *p) {
    OX_TRY(ox_tx_need_input(c, 0, "input_data"));
    OX_TRY(ox_tx_need_input(c, 1, "shape"));
    const ox_tensor *x = c->in[0];
    memset(p, 0, sizeof *p);
    p->mode = PAD_CONSTANT;
    size_t n_axes;
    const int64_t *a = ox_attr_ints(c, "axes", &n_axes);
    OX_TRY(ox_op_status(c));
    if (!a) n_axes = (size_t)x->rank;
    if (!ox_tx_known(c->in[1])) return OX_NEED_VALUE;
    int64_t shape[OX_MAX_RANK];
    size_t n;
    OX_TRY(ox_tx_read_ints(c->in[1], "shape", 1, shape, OX_MAX_RANK, &n));
    if (n != n_axes)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'shape' has %zu values for %zu axes", n, n_axes);
    int seen[OX_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t ax = (int32_t)i;
        if (a) OX_TRY(ox_norm_axis(a[i], x->rank, &ax));
        if (seen[ax]) return ox_error(ONYX_ERR_INVALID_MODEL, "axis %d is given twice", ax);
        seen[ax] = 1;
        if (shape[i] < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "shape[%zu] = %lld is negative", i,
                            (long long)shape[i]);
        int64_t diff = shape[i] - x->dims[ax]; /* both >= 0: no overflow */
        int64_t half = diff >= 0 ? diff / 2 : -((-diff) / 2);
        p->begin[ax] = half;
        p->end[ax] = diff - half;
    }
    return ONYX_OK;
}

static onyx_status pad_like_infer(ox_op_ctx *c, const pad_params *pp) {
    const pad_params p = *pp;
    const ox_tensor *x = c->in[0];
    int64_t dims[OX_MAX_RANK];
    for (int32_t d = 0; d < x->rank; d++) dims[d] = x->dims[d] + p.begin[d] + p.end[d];
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ox_tx_check_size(c->out[0], "output");
}

/* Source index along one axis for output coordinate o, or -1 for the constant. */
static int64_t pad_map(const pad_params *p, int32_t d, int64_t dim, int64_t o) {
    int64_t crop = p->begin[d] < 0 ? -p->begin[d] : 0;
    int64_t kept = dim - crop - (p->end[d] < 0 ? -p->end[d] : 0);
    int64_t j = o - (p->begin[d] > 0 ? p->begin[d] : 0); /* coordinate in the kept part */
    if (j < 0 || j >= kept) {
        switch (p->mode) {
        case PAD_CONSTANT: return -1;
        case PAD_EDGE: j = j < 0 ? 0 : kept - 1; break;
        case PAD_WRAP: j = ((j % kept) + kept) % kept; break;
        default: /* reflect: mirror without repeating the edge, period 2(kept-1) */
            if (kept == 1) {
                j = 0;
            } else {
                int64_t period = 2 * (kept - 1);
                j = ((j % period) + period) % period;
                if (j >= kept) j = period - j;
            }
        }
    }
    return crop + j;
}

onyx_status ox_tx_pad_infer(ox_op_ctx *c) {
    pad_params p;
    onyx_status s = pad_params_read(c, &p);
    return s != ONYX_OK ? s : pad_like_infer(c, &p);
}

onyx_status ox_tx_center_crop_pad_infer(ox_op_ctx *c) {
    pad_params p;
    onyx_status s = ccp_params_read(c, &p);
    return s != ONYX_OK ? s : pad_like_infer(c, &p);
}

static onyx_status pad_like_run(ox_op_ctx *c, const pad_params *pp) {
    const pad_params p = *pp;
    const ox_tensor *x = c->in[0], *y = c->out[0];
    int32_t r = x->rank;
    size_t es = ox_dtype_size(x->dtype), total = 0, n_out = ox_tensor_count(y);
    if (n_out == 0) return ONYX_OK;
    const void *cval = x->dtype == ONYX_DTYPE_STRING ? (const void *)&p.str : p.value;
    if (r == 0) return ox_tx_copy(y->data, x->data, 1, x->dtype);
    for (int32_t d = 0; d < r; d++) total += (size_t)y->dims[d];
    int64_t *maps = ox_malloc_array(total, sizeof *maps), *map[OX_MAX_RANK];
    if (!maps) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (int32_t d = 0, at = 0; d < r; d++) {
        map[d] = maps + at;
        for (int64_t o = 0; o < y->dims[d]; o++) map[d][o] = pad_map(&p, d, x->dims[d], o);
        at += (int32_t)y->dims[d];
    }
    int64_t st[OX_MAX_RANK], idx[OX_MAX_RANK] = {0};
    ox_tx_strides(r, x->dims, st);
    size_t row = (size_t)y->dims[r - 1], rows = n_out / row;
    char *dst = y->data;
    onyx_status s = ONYX_OK;
    for (size_t o = 0; o < rows && s == ONYX_OK; o++) {
        int64_t base = 0;
        int constant = 0;
        for (int32_t d = 0; d < r - 1; d++) {
            int64_t m = map[d][idx[d]];
            if (m < 0) constant = 1;
            base += m * st[d];
        }
        for (size_t k = 0; k < row && s == ONYX_OK; k++) {
            int64_t m = constant ? -1 : map[r - 1][k];
            s = m < 0 ? ox_tx_copy(dst + k * es, cval, 1, x->dtype)
                      : ox_tx_copy_one(dst, k, x->data, (size_t)(base + m), x->dtype);
        }
        dst += row * es;
        for (int32_t d = r - 2; d >= 0; d--) {
            if (++idx[d] < y->dims[d]) break;
            idx[d] = 0;
        }
    }
    ox_free(maps);
    return s;
}

onyx_status ox_tx_pad_run(ox_op_ctx *c) {
    pad_params p;
    OX_TRY(pad_params_read(c, &p));
    return pad_like_run(c, &p);
}

onyx_status ox_tx_center_crop_pad_run(ox_op_ctx *c) {
    pad_params p;
    OX_TRY(ccp_params_read(c, &p));
    return pad_like_run(c, &p);
}

/* ---- Tile ----------------------------------------------------------------------------- */

static onyx_status tile_repeats(ox_op_ctx *c, int64_t *reps) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    OX_TRY(ox_tx_need_input(c, 1, "repeats"));
    if (!ox_tx_known(c->in[1])) return OX_NEED_VALUE;
    size_t n;
    OX_TRY(ox_tx_read_ints(c->in[1], "repeats", 0, reps, OX_MAX_RANK, &n));
    if (n != (size_t)c->in[0]->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "'repeats' has %zu values for rank %d", n,
                        c->in[0]->rank);
    for (size_t i = 0; i < n; i++)
        if (reps[i] < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "repeats[%zu] = %lld is negative", i,
                            (long long)reps[i]);
    return ONYX_OK;
}

onyx_status ox_tx_tile_infer(ox_op_ctx *c) {
    int64_t reps[OX_MAX_RANK], dims[OX_MAX_RANK];
    onyx_status s = tile_repeats(c, reps);
    if (s != ONYX_OK) return s;
    const ox_tensor *x = c->in[0];
    for (int32_t d = 0; d < x->rank; d++) {
        if (x->dims[d] && reps[d] > INT64_MAX / x->dims[d])
            return ox_error(ONYX_ERR_LIMIT, "tiled axis %d is too large", d);
        dims[d] = x->dims[d] * reps[d];
    }
    ox_set_shape(c->out[0], x->dtype, x->rank, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_tile_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0], *y = c->out[0];
    int32_t r = x->rank;
    size_t n_out = ox_tensor_count(y), es = ox_dtype_size(x->dtype);
    if (n_out == 0) return ONYX_OK;
    if (r == 0) return ox_tx_copy(y->data, x->data, 1, x->dtype);
    int64_t st[OX_MAX_RANK], idx[OX_MAX_RANK] = {0};
    ox_tx_strides(r, x->dims, st);
    size_t in_row = (size_t)x->dims[r - 1], out_row = (size_t)y->dims[r - 1];
    size_t rows = n_out / out_row;
    char *dst = y->data;
    for (size_t o = 0; o < rows; o++) {
        int64_t base = 0;
        for (int32_t d = 0; d < r - 1; d++) base += (idx[d] % x->dims[d]) * st[d];
        const char *src = (const char *)x->data + (size_t)base * es;
        for (size_t k = 0; k < out_row; k += in_row)
            OX_TRY(ox_tx_copy(dst + k * es, src, in_row, x->dtype));
        dst += out_row * es;
        for (int32_t d = r - 2; d >= 0; d--) {
            if (++idx[d] < y->dims[d]) break;
            idx[d] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------------------- */

/* Both are a 6-D reshape + transpose of an NCHW tensor; v receives the view. */
static onyx_status d2s_view(ox_op_ctx *c, int to_space, ox_tx_view *v, int64_t *out_dims) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    const ox_tensor *x = c->in[0];
    int64_t b = ox_attr_int(c, "blocksize", 0);
    const char *mode = to_space && c->opset >= 11 ? ox_attr_str(c, "mode", "DCR") : "DCR";
    OX_TRY(ox_op_status(c));
    if (!ox_attr_get(c, "blocksize") || b <= 0 || b > INT32_MAX)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'blocksize' must be a positive int");
    int crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'mode' = '%s' is not DCR or CRD", mode);
    if (x->rank != 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input must have rank 4, got %d", x->rank);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    size_t hw, chw;
    if (!ox_mul_ok((size_t)H, (size_t)W, &hw) || !ox_mul_ok(hw, (size_t)C, &chw) ||
        chw > (size_t)INT64_MAX)
        return ox_error(ONYX_ERR_LIMIT, "input is too large");
    int64_t HW = (int64_t)hw, CHW = (int64_t)chw;
    v->rank = 6;
    v->offset = 0;
    if (to_space) {
        if (C % (b * b))
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "channels %lld are not a multiple of "
                            "blocksize^2 = %lld",
                            (long long)C, (long long)(b * b));
        int64_t Co = C / (b * b);
        if ((H && b > INT64_MAX / H) || (W && b > INT64_MAX / W))
            return ox_error(ONYX_ERR_LIMIT, "output is too large");
        int64_t d[6] = {N, Co, H, b, W, b};
        /* source strides of (n, c', h, b1, w, b2) */
        int64_t sc = crd ? b * b * HW : HW, sb1 = crd ? b * HW : b * Co * HW,
                sb2 = crd ? HW : Co * HW;
        int64_t s[6] = {CHW, sc, W, sb1, 1, sb2};
        memcpy(v->dims, d, sizeof d);
        memcpy(v->strides, s, sizeof s);
        out_dims[0] = N, out_dims[1] = Co, out_dims[2] = H * b, out_dims[3] = W * b;
    } else {
        if (H % b || W % b)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "height %lld and width %lld must be multiples "
                            "of blocksize %lld",
                            (long long)H, (long long)W, (long long)b);
        int64_t Ho = H / b, Wo = W / b;
        int64_t d[6] = {N, b, b, C, Ho, Wo};
        int64_t s[6] = {CHW, W, 1, HW, b * W, b};
        memcpy(v->dims, d, sizeof d);
        memcpy(v->strides, s, sizeof s);
        out_dims[0] = N, out_dims[1] = C * b * b, out_dims[2] = Ho, out_dims[3] = Wo;
        if (C && b * b > INT64_MAX / C) return ox_error(ONYX_ERR_LIMIT, "output is too large");
    }
    return ONYX_OK;
}

static onyx_status d2s_infer(ox_op_ctx *c, int to_space) {
    ox_tx_view v;
    int64_t dims[4];
    OX_TRY(d2s_view(c, to_space, &v, dims));
    ox_set_shape(c->out[0], c->in[0]->dtype, 4, dims);
    return ox_tx_check_size(c->out[0], "output");
}

static onyx_status d2s_run(ox_op_ctx *c, int to_space) {
    ox_tx_view v;
    int64_t dims[4];
    OX_TRY(d2s_view(c, to_space, &v, dims));
    return ox_tx_strided_copy(c->out[0]->data, c->in[0]->data, &v, c->in[0]->dtype, c->pool);
}

onyx_status ox_tx_depth_to_space_infer(ox_op_ctx *c) { return d2s_infer(c, 1); }
onyx_status ox_tx_depth_to_space_run(ox_op_ctx *c) { return d2s_run(c, 1); }
onyx_status ox_tx_space_to_depth_infer(ox_op_ctx *c) { return d2s_infer(c, 0); }
onyx_status ox_tx_space_to_depth_run(ox_op_ctx *c) { return d2s_run(c, 0); }
