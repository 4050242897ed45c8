/* The nn op family: its table, and the window geometry (kernel, strides,
 * dilations, pads, auto_pad, ceil_mode) shared by Conv, ConvTranspose and the
 * pools. The ops themselves live in nn_gemm.c, nn_conv.c, nn_pool.c, nn_norm.c. */
#include <string.h>

#include "ops/nn_ops.h"
#include "util/alloc.h"
#include "util/fp16.h"

/* Attribute values above this are refused so that window arithmetic on int64
 * can never overflow. */
#define WINDOW_ATTR_MAX ((int64_t)1 << 31)
#define SPATIAL_DIM_MAX ((int64_t)1 << 48)

void ox_nn_free_state(void *state) { ox_free(state); }

double ox_nn_get(const ox_tensor *t, size_t i) { return ox_tensor_get_double(t, i); }

onyx_status ox_nn_need(const ox_op_ctx *c, size_t n_in) {
    for (size_t i = 0; i < n_in; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "%s needs at least %zu inputs (input %zu is "
                            "missing)", c->node->op_type, n_in, i);
    if (!ox_has_output(c, 0))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s needs its first output", c->node->op_type);
    return ONYX_OK;
}

onyx_status ox_nn_prod3(const int64_t *d, size_t *out) {
    size_t p = 1;
    for (int i = 0; i < 3; i++)
        if (d[i] < 0 || !ox_mul_ok(p, (size_t)d[i], &p))
            return ox_error(ONYX_ERR_LIMIT, "spatial size overflows");
    *out = p;
    return ONYX_OK;
}

onyx_status ox_nn_check_spatial_rank(const ox_tensor *x, const char *what) {
    if (x->rank < 3)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "input %s has rank %d; expected (N x C x D1 ...) with at least one "
                        "spatial dim", what, (int)x->rank);
    if (x->rank > 2 + OX_NN_MAX_SPATIAL)
        return ox_error(ONYX_ERR_UNSUPPORTED,
                        "input %s has %d spatial dims; onyx supports 1 to %d", what,
                        (int)x->rank - 2, OX_NN_MAX_SPATIAL);
    return ONYX_OK;
}

static onyx_status read_list(ox_op_ctx *c, const char *name, int64_t *dst, size_t cap,
                             size_t *n, int64_t min) {
    size_t len;
    const int64_t *v = ox_attr_ints(c, name, &len);
    *n = 0;
    if (!v) return ONYX_OK;
    if (len > cap)
        return ox_error(ONYX_ERR_UNSUPPORTED,
                        "attribute '%s' has %zu values; onyx supports 1 to %d spatial dims",
                        name, len, OX_NN_MAX_SPATIAL);
    for (size_t i = 0; i < len; i++) {
        if (v[i] < min)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s'[%zu] is %lld; must be >= %lld",
                            name, i, (long long)v[i], (long long)min);
        if (v[i] > WINDOW_ATTR_MAX)
            return ox_error(ONYX_ERR_LIMIT, "attribute '%s'[%zu] is %lld, too large", name, i,
                            (long long)v[i]);
        dst[i] = v[i];
    }
    *n = len;
    return ONYX_OK;
}

onyx_status ox_window_read(ox_op_ctx *c, ox_window_attrs *w, int kernel_required, int with_ceil) {
    memset(w, 0, sizeof *w);
    const char *ap = ox_attr_str(c, "auto_pad", "NOTSET");
    OX_TRY(ox_op_status(c));
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0')
        w->auto_pad = OX_PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        w->auto_pad = OX_PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        w->auto_pad = OX_PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        w->auto_pad = OX_PAD_VALID;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "attribute auto_pad is '%s'; expected NOTSET, SAME_UPPER, SAME_LOWER or "
                        "VALID", ap);
    OX_TRY(read_list(c, "kernel_shape", w->kernel, OX_NN_MAX_SPATIAL, &w->n_kernel, 1));
    OX_TRY(read_list(c, "strides", w->strides, OX_NN_MAX_SPATIAL, &w->n_strides, 1));
    OX_TRY(read_list(c, "dilations", w->dilations, OX_NN_MAX_SPATIAL, &w->n_dilations, 1));
    OX_TRY(read_list(c, "pads", w->pads, 2 * OX_NN_MAX_SPATIAL, &w->n_pads, 0));
    OX_TRY(ox_op_status(c));
    if (w->n_pads % 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute pads has %zu values; expected 2 per "
                        "spatial dim", w->n_pads);
    if (kernel_required && !w->n_kernel)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute kernel_shape is required");
    if (with_ceil) {
        w->ceil_mode = ox_attr_int(c, "ceil_mode", 0) != 0;
        OX_TRY(ox_op_status(c));
    }
    return ONYX_OK;
}

static onyx_status check_len(const char *name, size_t n, size_t want) {
    if (n && n != want)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has %zu values; the input has %zu "
                        "spatial dims", name, n, want / (strcmp(name, "pads") == 0 ? 2 : 1));
    return ONYX_OK;
}

onyx_status ox_window_resolve(const ox_window_attrs *a, int nd, const int64_t *in,
                              const int64_t *k, int pool_rules, ox_window *w) {
    if (nd < 1 || nd > OX_NN_MAX_SPATIAL)
        return ox_error(ONYX_ERR_UNSUPPORTED, "%d spatial dims; onyx supports 1 to %d", nd,
                        OX_NN_MAX_SPATIAL);
    OX_TRY(check_len("kernel_shape", a->n_kernel, (size_t)nd));
    OX_TRY(check_len("strides", a->n_strides, (size_t)nd));
    OX_TRY(check_len("dilations", a->n_dilations, (size_t)nd));
    OX_TRY(check_len("pads", a->n_pads, 2 * (size_t)nd));
    w->nd = nd;
    int off = 3 - nd;
    for (int i = 0; i < 3; i++) {
        w->in[i] = w->k[i] = w->s[i] = w->d[i] = w->out[i] = 1;
        w->pb[i] = w->pe[i] = 0;
    }
    for (int i = 0; i < nd; i++) {
        int j = off + i;
        if (in[i] < 0 || in[i] > SPATIAL_DIM_MAX)
            return ox_error(ONYX_ERR_LIMIT, "spatial dim %d of the input is %lld", i,
                            (long long)in[i]);
        if (k[i] < 1 || k[i] > WINDOW_ATTR_MAX)
            return ox_error(ONYX_ERR_INVALID_MODEL, "kernel dim %d is %lld", i, (long long)k[i]);
        w->in[j] = in[i];
        w->k[j] = k[i];
        w->s[j] = a->n_strides ? a->strides[i] : 1;
        w->d[j] = a->n_dilations ? a->dilations[i] : 1;
        int64_t ek = (w->k[j] - 1) * w->d[j] + 1; /* extent of the dilated window */
        int64_t s = w->s[j];
        if (a->auto_pad == OX_PAD_SAME_UPPER || a->auto_pad == OX_PAD_SAME_LOWER) {
            int64_t out = (in[i] + s - 1) / s;
            int64_t total = (out > 0 ? (out - 1) * s : 0) + ek - in[i];
            if (total < 0) total = 0;
            int64_t small = total / 2;
            w->pb[j] = a->auto_pad == OX_PAD_SAME_UPPER ? small : total - small;
            w->pe[j] = total - w->pb[j];
            w->out[j] = out;
            continue;
        }
        if (a->auto_pad == OX_PAD_NOTSET && a->n_pads) {
            w->pb[j] = a->pads[i];
            w->pe[j] = a->pads[nd + i];
        }
        int64_t span = in[i] + w->pb[j] + w->pe[j] - ek;
        if (span < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "spatial dim %d: the input (%lld, padded %lld) is smaller than the "
                            "kernel's extent %lld", i, (long long)in[i],
                            (long long)(in[i] + w->pb[j] + w->pe[j]), (long long)ek);
        int64_t out = span / s + 1;
        if (pool_rules && a->ceil_mode && a->auto_pad == OX_PAD_NOTSET) {
            out = (span + s - 1) / s + 1;
            /* the last window must start inside the input or the begin padding */
            if ((out - 1) * s >= in[i] + w->pb[j]) out--;
        }
        w->out[j] = out;
    }
    return ONYX_OK;
}

/* ---- float16 / bfloat16 through the float32 kernels ------------------------------- */

int ox_nn_is_half(int32_t t) { return t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16; }

int ox_nn_is_floatlike(int32_t t) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || ox_nn_is_half(t);
}

int ox_nn_has_half(const ox_op_ctx *c) {
    for (size_t i = 0; i < c->n_in; i++)
        if (c->in[i] && ox_nn_is_half(c->in[i]->dtype)) return 1;
    for (size_t i = 0; i < c->n_out; i++)
        if (c->out[i] && ox_nn_is_half(c->out[i]->dtype)) return 1;
    return 0;
}

#define MAX_IO 16

onyx_status ox_nn_run_as_f32(ox_op_ctx *c, onyx_status (*run)(ox_op_ctx *)) {
    if (c->n_in > MAX_IO || c->n_out > MAX_IO)
        return ox_error(ONYX_ERR_LIMIT, "too many inputs or outputs");
    ox_tensor tin[MAX_IO], tout[MAX_IO];
    ox_tensor *pin[MAX_IO], *pout[MAX_IO];
    onyx_status s = ONYX_OK;
    for (size_t i = 0; i < c->n_in; i++) {
        pin[i] = c->in[i];
        tin[i].data = NULL;
        if (!c->in[i] || !ox_nn_is_half(c->in[i]->dtype)) continue;
        tin[i] = *c->in[i];
        tin[i].dtype = ONYX_DTYPE_FLOAT;
        size_t n = ox_tensor_count(c->in[i]);
        tin[i].data = ox_malloc_array(n ? n : 1, sizeof(float));
        if (!tin[i].data) {
            s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory converting input %zu", i);
            break;
        }
        if (c->in[i]->dtype == ONYX_DTYPE_FLOAT16)
            ox_f16_to_f32_n(c->in[i]->data, tin[i].data, n);
        else
            ox_bf16_to_f32_n(c->in[i]->data, tin[i].data, n);
        pin[i] = &tin[i];
    }
    for (size_t i = 0; i < c->n_out; i++) {
        pout[i] = c->out[i];
        tout[i].data = NULL;
        if (s != ONYX_OK || !c->out[i] || !ox_nn_is_half(c->out[i]->dtype)) continue;
        tout[i] = *c->out[i];
        tout[i].dtype = ONYX_DTYPE_FLOAT;
        size_t n = ox_tensor_count(c->out[i]);
        tout[i].data = ox_calloc(n ? n : 1, sizeof(float));
        if (!tout[i].data) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for output %zu", i);
        pout[i] = &tout[i];
    }
    if (s == ONYX_OK) {
        ox_op_ctx f = *c;
        f.in = pin;
        f.out = pout;
        s = run(&f);
    }
    for (size_t i = 0; i < c->n_out; i++) {
        if (!tout[i].data) continue;
        if (s == ONYX_OK) {
            size_t n = ox_tensor_count(c->out[i]);
            if (c->out[i]->dtype == ONYX_DTYPE_FLOAT16)
                ox_f32_to_f16_n(tout[i].data, c->out[i]->data, n);
            else
                ox_f32_to_bf16_n(tout[i].data, c->out[i]->data, n);
        }
        ox_free(tout[i].data);
    }
    for (size_t i = 0; i < c->n_in; i++) ox_free(tin[i].data);
    return s;
}

/* ---- the table ------------------------------------------------------------ */

#define F_ "float32 float64 float16 bfloat16"
const ox_op_def ox_ops_nn[] = {
    {"", "MatMul", 1, NULL, NULL, ox_nn_matmul_infer, ox_nn_matmul_run, OX_OP_FUSE_ACT,
     F_ " int32 int64 uint32 uint64"},
    {"", "MatMulInteger", 10, NULL, NULL, ox_nn_matmulinteger_infer, ox_nn_matmulinteger_run, 0,
     "int8 uint8 -> int32"},
    {"", "QLinearMatMul", 10, NULL, NULL, ox_nn_qlinearmatmul_infer, ox_nn_qlinearmatmul_run, 0,
     "int8 uint8"},
    {"", "Gemm", 1, ox_nn_gemm_prepare, ox_nn_free_state, ox_nn_gemm_infer, ox_nn_gemm_run, OX_OP_FUSE_ACT,
     F_ " int32 int64 uint32 uint64", ox_nn_gemm_prepack, ox_nn_free_b_packed},
    {"", "Conv", 1, ox_nn_conv_prepare, ox_nn_free_state, ox_nn_conv_infer, ox_nn_conv_run, OX_OP_FUSE_ACT, F_,
     ox_nn_conv_prepack, ox_nn_conv_free_prepacked},
    {"", "ConvInteger", 10, ox_nn_conv_prepare, ox_nn_free_state, ox_nn_qconv_infer,
     ox_nn_qconv_run, 0, "int8 uint8 -> int32"},
    {"", "QLinearConv", 10, ox_nn_conv_prepare, ox_nn_free_state, ox_nn_qconv_infer,
     ox_nn_qconv_run, 0, "int8 uint8"},
    {"", "ConvTranspose", 1, ox_nn_convtranspose_prepare, ox_nn_free_state,
     ox_nn_convtranspose_infer, ox_nn_convtranspose_run, 0, F_},
    {"", "MaxPool", 1, ox_nn_maxpool_prepare, ox_nn_free_state, ox_nn_pool_infer,
     ox_nn_pool_run, 0, F_ " int8 uint8"},
    {"", "AveragePool", 1, ox_nn_avgpool_prepare, ox_nn_free_state, ox_nn_pool_infer,
     ox_nn_pool_run, 0, F_},
    {"", "LpPool", 1, ox_nn_lppool_prepare, ox_nn_free_state, ox_nn_pool_infer, ox_nn_pool_run,
     0, F_},
    {"", "GlobalLpPool", 1, ox_nn_global_prepare, ox_nn_free_state, ox_nn_global_infer,
     ox_nn_global_run, 0, F_},
    {"", "GlobalAveragePool", 1, ox_nn_global_prepare, ox_nn_free_state, ox_nn_global_infer,
     ox_nn_global_run, 0, F_},
    {"", "GlobalMaxPool", 1, ox_nn_global_prepare, ox_nn_free_state, ox_nn_global_infer,
     ox_nn_global_run, 0, F_},
    {"", "MaxUnpool", 9, ox_nn_maxunpool_prepare, ox_nn_free_state, ox_nn_maxunpool_infer,
     ox_nn_maxunpool_run, 0, F_},
    {"", "BatchNormalization", 1, ox_nn_batchnorm_prepare, ox_nn_free_state,
     ox_nn_batchnorm_infer, ox_nn_batchnorm_run, 0, F_},
    {"", "InstanceNormalization", 1, ox_nn_instancenorm_prepare, ox_nn_free_state,
     ox_nn_instancenorm_infer, ox_nn_instancenorm_run, 0, F_},
    {"", "LayerNormalization", 17, ox_nn_layernorm_prepare, ox_nn_free_state,
     ox_nn_layernorm_infer, ox_nn_layernorm_run, 0, F_},
    {"", "GroupNormalization", 18, ox_nn_groupnorm_prepare, ox_nn_free_state,
     ox_nn_groupnorm_infer, ox_nn_groupnorm_run, 0, F_},
    {"", "RMSNormalization", 23, ox_nn_layernorm_prepare, ox_nn_free_state,
     ox_nn_layernorm_infer, ox_nn_layernorm_run, 0, F_},
    {"", "LpNormalization", 1, ox_nn_lpnorm_prepare, ox_nn_free_state, ox_nn_lpnorm_infer,
     ox_nn_lpnorm_run, 0, F_},
    {"", "MeanVarianceNormalization", 9, ox_nn_mvn_prepare, ox_nn_free_state, ox_nn_mvn_infer,
     ox_nn_mvn_run, 0, F_},
    {"", "LRN", 1, ox_nn_lrn_prepare, ox_nn_free_state, ox_nn_lrn_infer, ox_nn_lrn_run, 0, F_},
    {0},
};
