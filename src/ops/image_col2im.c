/* Col2Im (opset 18): the inverse of im2col. Input (N, C * prod(block), L) holds,
 * for every block position l (of L, in row-major order over the block grid) and
 * every kernel offset, one value; each is added into the image at
 * l * stride - pad_begin + offset * dilation when that lands inside it.
 * The image shape and block shape are inputs, so the output shape depends on
 * their values. */
#include <string.h>

#include "ops/image_ops.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"

/* Attribute values and image dims above these are refused so that index
 * arithmetic on int64 cannot overflow. */
#define ATTR_MAX ((int64_t)1 << 31)
#define DIM_MAX ((int64_t)1 << 40)

typedef struct {
    size_t n_dil, n_pads, n_strides;
    int64_t dil[OX_MAX_RANK], pads[2 * OX_MAX_RANK], strides[OX_MAX_RANK];
} c2i_state;

static onyx_status c2i_list(ox_op_ctx *c, const char *name, int64_t *dst, size_t cap, size_t *n,
                            int64_t min) {
    const int64_t *v = ox_attr_ints(c, name, n);
    OX_TRY(ox_op_status(c));
    if (!v) return ONYX_OK;
    if (*n > cap) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' has %zu values", name, *n);
    for (size_t i = 0; i < *n; i++) {
        if (v[i] < min || v[i] > ATTR_MAX)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s'[%zu] = %lld is out of range",
                            name, i, (long long)v[i]);
        dst[i] = v[i];
    }
    return ONYX_OK;
}

onyx_status ox_img_col2im_prepare(ox_op_ctx *c) {
    c2i_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = c2i_list(c, "dilations", st->dil, OX_MAX_RANK, &st->n_dil, 1);
    if (s == ONYX_OK) s = c2i_list(c, "pads", st->pads, 2 * OX_MAX_RANK, &st->n_pads, 0);
    if (s == ONYX_OK) s = c2i_list(c, "strides", st->strides, OX_MAX_RANK, &st->n_strides, 1);
    if (s != ONYX_OK) {
        ox_free(st);
        return s;
    }
    c->state = st;
    return ONYX_OK;
}

typedef struct {
    int nd;
    int64_t image[OX_MAX_RANK], block[OX_MAX_RANK], n_blocks[OX_MAX_RANK];
    int64_t dil[OX_MAX_RANK], pad[OX_MAX_RANK], stride[OX_MAX_RANK];
    size_t N, C, K, L; /* K = prod(block) */
} c2i_geom;

static onyx_status c2i_geometry(ox_op_ctx *c, c2i_geom *g) {
    const c2i_state *st = c->state;
    OX_TRY(ox_img_need(c, 3));
    const ox_tensor *x = c->in[0], *im = c->in[1], *bl = c->in[2];
    if (!ox_img_numeric(x->dtype) || x->dtype == ONYX_DTYPE_BOOL)
        return ox_error(ONYX_ERR_UNSUPPORTED, "input of type %s", ox_dtype_name(x->dtype));
    if (x->rank != 3)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input must be (N, C * prod(block_shape), L)");
    if (im->rank != 1 || bl->rank != 1 || im->dims[0] != bl->dims[0] || im->dims[0] < 1 ||
        im->dims[0] > OX_MAX_RANK - 2)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "'image_shape' and 'block_shape' must be 1-D with the same length (1..%d)",
                        OX_MAX_RANK - 2);
    if (!ox_tx_known(im) || !ox_tx_known(bl)) return OX_NEED_VALUE;
    size_t nd, nb;
    OX_TRY(ox_tx_read_ints(im, "image_shape", 0, g->image, OX_MAX_RANK, &nd));
    OX_TRY(ox_tx_read_ints(bl, "block_shape", 0, g->block, OX_MAX_RANK, &nb));
    if ((st->n_dil && st->n_dil != nd) || (st->n_strides && st->n_strides != nd) ||
        (st->n_pads && st->n_pads != 2 * nd))
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "dilations, strides and pads must have %zu, %zu and %zu values", nd, nd,
                        2 * nd);
    g->nd = (int)nd;
    size_t K = 1, L = 1;
    for (size_t i = 0; i < nd; i++) {
        if (g->image[i] < 0 || g->image[i] > DIM_MAX || g->block[i] < 1 || g->block[i] > ATTR_MAX)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "image_shape[%zu] = %lld or block_shape[%zu] = %lld is out of range",
                            i, (long long)g->image[i], i, (long long)g->block[i]);
        g->dil[i] = st->n_dil ? st->dil[i] : 1;
        g->stride[i] = st->n_strides ? st->strides[i] : 1;
        g->pad[i] = st->n_pads ? st->pads[i] : 0;
        int64_t pe = st->n_pads ? st->pads[nd + i] : 0;
        int64_t span = g->image[i] + g->pad[i] + pe - g->dil[i] * (g->block[i] - 1) - 1;
        if (span < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "dim %zu: the dilated block is larger than the padded image", i);
        g->n_blocks[i] = span / g->stride[i] + 1;
        if (!ox_mul_ok(K, (size_t)g->block[i], &K) || !ox_mul_ok(L, (size_t)g->n_blocks[i], &L))
            return ox_error(ONYX_ERR_LIMIT, "block counts overflow");
    }
    if ((size_t)x->dims[1] % K != 0)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input dim 1 (%lld) is not a multiple of prod(block_shape) = %zu",
                        (long long)x->dims[1], K);
    if ((size_t)x->dims[2] != L)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input dim 2 is %lld but the image holds %zu blocks",
                        (long long)x->dims[2], L);
    g->N = (size_t)x->dims[0];
    g->C = (size_t)x->dims[1] / K;
    g->K = K;
    g->L = L;
    return ONYX_OK;
}

onyx_status ox_img_col2im_infer(ox_op_ctx *c) {
    c2i_geom g;
    OX_TRY(c2i_geometry(c, &g));
    int64_t dims[OX_MAX_RANK];
    dims[0] = (int64_t)g.N;
    dims[1] = (int64_t)g.C;
    for (int i = 0; i < g.nd; i++) dims[2 + i] = g.image[i];
    ox_set_shape(c->out[0], c->in[0]->dtype, g.nd + 2, dims);
    return ox_tx_check_size(c->out[0], "output");
}

/* Image offset of block l at kernel offset k, or -1 when it lands in the padding. */
static int64_t c2i_target(const c2i_geom *g, size_t k, size_t l) {
    int64_t off = 0;
    int64_t kk[OX_MAX_RANK], ll[OX_MAX_RANK];
    for (int i = g->nd - 1; i >= 0; i--) {
        kk[i] = (int64_t)(k % (size_t)g->block[i]);
        k /= (size_t)g->block[i];
        ll[i] = (int64_t)(l % (size_t)g->n_blocks[i]);
        l /= (size_t)g->n_blocks[i];
    }
    for (int i = 0; i < g->nd; i++) {
        int64_t p = ll[i] * g->stride[i] - g->pad[i] + kk[i] * g->dil[i];
        if (p < 0 || p >= g->image[i]) return -1;
        off = off * g->image[i] + p;
    }
    return off;
}

onyx_status ox_img_col2im_run(ox_op_ctx *c) {
    c2i_geom g;
    OX_TRY(c2i_geometry(c, &g));
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t img = ox_tx_prod(g.image, 0, g.nd), n_out = ox_tensor_count(y);
    if (n_out == 0) return ONYX_OK;
    /* the target of (k, l) is the same for every image and channel */
    size_t kl;
    if (!ox_mul_ok(g.K, g.L, &kl)) return ox_error(ONYX_ERR_LIMIT, "too many blocks");
    int64_t *target = ox_malloc_array(kl ? kl : 1, sizeof *target);
    /* a scratch image: double sums, or uint64 sums for integer types (same size) */
    double *acc = x->dtype == ONYX_DTYPE_FLOAT ? NULL : ox_calloc(img, sizeof *acc);
    if (!target || (x->dtype != ONYX_DTYPE_FLOAT && !acc)) {
        ox_free(target);
        ox_free(acc);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < g.K; k++)
        for (size_t l = 0; l < g.L; l++) target[k * g.L + l] = c2i_target(&g, k, l);
    for (size_t nc = 0; nc < g.N * g.C; nc++) {
        size_t in_base = nc * kl, out_base = nc * img;
        if (x->dtype == ONYX_DTYPE_FLOAT) {
            const float *src = (const float *)x->data + in_base;
            float *dst = (float *)y->data + out_base;
            memset(dst, 0, img * sizeof *dst);
            for (size_t i = 0; i < kl; i++)
                if (target[i] >= 0) dst[target[i]] += src[i];
            continue;
        }
        memset(acc, 0, img * sizeof *acc);
        if (ox_dtype_is_int(x->dtype)) { /* exact sums, wrapping like integer adds */
            uint64_t *iacc = (uint64_t *)acc;
            for (size_t i = 0; i < kl; i++)
                if (target[i] >= 0) iacc[target[i]] += (uint64_t)ox_tensor_get_int(x, in_base + i);
            for (size_t i = 0; i < img; i++)
                ox_tx_store_int(y->data, out_base + i, y->dtype, (int64_t)iacc[i]);
            continue;
        }
        for (size_t i = 0; i < kl; i++)
            if (target[i] >= 0) acc[target[i]] += ox_tensor_get_double(x, in_base + i);
        for (size_t i = 0; i < img; i++) ox_img_put(y->data, out_base + i, y->dtype, acc[i]);
    }
    ox_free(target);
    ox_free(acc);
    return ONYX_OK;
}
