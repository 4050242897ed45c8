/* HannWindow, HammingWindow, BlackmanWindow and MelWeightMatrix.
 *
 * Windows are cosine sums a0 - a1 cos(2 pi n/N) + a2 cos(4 pi n/N) with N = size
 * (periodic) or size - 1 (symmetric), computed in double and converted to the
 * output type (integers truncate, as Cast does). A symmetric window of size 1 is
 * [1] (the formula's 0/0 has no value; this is the limit, and what PyTorch gives).
 *
 * MelWeightMatrix follows the ONNX reference step by step, including its float32
 * mel edges, so the triangle corners land on the same DFT bins.
 */
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"

#define PI 3.14159265358979323846264338327950288

typedef struct {
    int32_t dtype;
    int periodic;
    double a0, a1, a2;
} window_state;

onyx_status ox_misc_window_prepare(ox_op_ctx *c) {
    window_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->dtype = (int32_t)ox_attr_int(c, "output_datatype", ONYX_DTYPE_FLOAT);
    s->periodic = ox_attr_int(c, "periodic", 1) != 0;
    const char *op = c->node->op_type;
    if (strcmp(op, "HannWindow") == 0) s->a0 = 0.5, s->a1 = 0.5;
    else if (strcmp(op, "HammingWindow") == 0) s->a0 = 25.0 / 46.0, s->a1 = 21.0 / 46.0;
    else s->a0 = 0.42, s->a1 = 0.5, s->a2 = 0.08;
    OX_TRY(ox_op_status(c));
    if (!ox_misc_is_plain_numeric(s->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'output_datatype' = %d is not a numeric type",
                        (int)s->dtype);
    return ONYX_OK;
}

static onyx_status window_size(const ox_op_ctx *c, int64_t *n) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'size' is required");
    OX_TRY(ox_misc_scalar_int(c->in[0], "size", n));
    if (*n < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'size' = %lld must not be negative", (long long)*n);
    return ONYX_OK;
}

onyx_status ox_misc_window_infer(ox_op_ctx *c) {
    const window_state *s = c->state;
    int64_t n;
    OX_TRY(window_size(c, &n));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], s->dtype, 1, &n);
    return ONYX_OK;
}

onyx_status ox_misc_window_run(ox_op_ctx *c) {
    const window_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    int64_t n;
    OX_TRY(window_size(c, &n));
    double N = (double)(s->periodic ? n : n - 1);
    double v[64];
    for (int64_t i0 = 0; i0 < n; i0 += 64) {
        size_t m = n - i0 < 64 ? (size_t)(n - i0) : 64;
        for (size_t k = 0; k < m; k++) {
            double t = N > 0 ? 2.0 * PI * (double)(i0 + (int64_t)k) / N : 0.0;
            v[k] = N > 0 ? s->a0 - s->a1 * cos(t) + s->a2 * cos(2.0 * t) : 1.0;
        }
        elem_store_f64(s->dtype, v, m, c->out[0]->data, (size_t)i0, 1);
    }
    return ONYX_OK;
}

/* ---- MelWeightMatrix ------------------------------------------------------------------ */

typedef struct {
    int32_t dtype;
} mel_state;

onyx_status ox_misc_mel_prepare(ox_op_ctx *c) {
    mel_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->dtype = (int32_t)ox_attr_int(c, "output_datatype", ONYX_DTYPE_FLOAT);
    OX_TRY(ox_op_status(c));
    if (!ox_misc_is_plain_numeric(s->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'output_datatype' = %d is not a numeric type",
                        (int)s->dtype);
    return ONYX_OK;
}

static onyx_status mel_sizes(const ox_op_ctx *c, int64_t *bins, int64_t *dft) {
    for (size_t i = 0; i < 5; i++)
        if (!ox_has_input(c, i)) return ox_error(ONYX_ERR_INVALID_MODEL, "all five inputs are required");
    OX_TRY(ox_misc_scalar_int(c->in[0], "num_mel_bins", bins));
    OX_TRY(ox_misc_scalar_int(c->in[1], "dft_length", dft));
    if (*bins <= 0 || *dft <= 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs 'num_mel_bins' and 'dft_length' must be positive");
    if (*bins > ((int64_t)1 << 31) || *dft > ((int64_t)1 << 40))
        return ox_error(ONYX_ERR_LIMIT, "inputs 'num_mel_bins' or 'dft_length' are too large");
    return ONYX_OK;
}

onyx_status ox_misc_mel_infer(ox_op_ctx *c) {
    const mel_state *s = c->state;
    int64_t bins, dft;
    OX_TRY(mel_sizes(c, &bins, &dft));
    int64_t dims[2] = {dft / 2 + 1, bins};
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], s->dtype, 2, dims);
    return ONYX_OK;
}

static float hz_to_mel32(float hz) { return 2595.0f * log10f(1.0f + hz / 700.0f); }

onyx_status ox_misc_mel_run(ox_op_ctx *c) {
    const mel_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    int64_t bins, dft, rate;
    double lo_hz, hi_hz;
    OX_TRY(mel_sizes(c, &bins, &dft));
    OX_TRY(ox_misc_scalar_int(c->in[2], "sample_rate", &rate));
    OX_TRY(ox_misc_scalar_float(c->in[3], "lower_edge_hertz", &lo_hz));
    OX_TRY(ox_misc_scalar_float(c->in[4], "upper_edge_hertz", &hi_hz));
    if (rate <= 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'sample_rate' = %lld must be positive", (long long)rate);
    if (!isfinite(lo_hz) || !isfinite(hi_hz))
        return ox_error(ONYX_ERR_INVALID_MODEL, "the edge frequencies must be finite");
    size_t nb = (size_t)bins, nspec = (size_t)(dft / 2 + 1);
    int64_t *fb = ox_malloc_array(nb + 2, sizeof *fb);
    double *out = ox_calloc(nspec * nb, sizeof *out);
    if (!fb || !out) {
        ox_free(fb);
        ox_free(out);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    float lo_mel = hz_to_mel32((float)lo_hz), hi_mel = hz_to_mel32((float)hi_hz);
    float step = (hi_mel - lo_mel) / (float)(nb + 2);
    for (size_t i = 0; i < nb + 2; i++) {
        double mel = (double)i * (double)step + (double)lo_mel;
        double hz = 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
        double b = floor((double)(dft + 1) * hz / (double)rate);
        fb[i] = b != b ? 0 : b > 9e15 ? (int64_t)9e15 : b < -9e15 ? (int64_t)-9e15 : (int64_t)b;
    }
    /* bins outside the spectrum (edges beyond Nyquist or below 0) are left out */
#define SET(j, i, v)                                                                       \
    do {                                                                                   \
        if ((j) >= 0 && (uint64_t)(j) < nspec) out[(size_t)(j) * nb + (i)] = (v);         \
    } while (0)
    for (size_t i = 0; i < nb; i++) {
        int64_t left = fb[i], center = fb[i + 1], right = fb[i + 2];
        int64_t up = center - left, down = right - center;
        int64_t last = (int64_t)nspec - 1;
        if (up == 0) SET(center, i, 1.0);
        else
            for (int64_t j = left < 0 ? 0 : left; j <= center && j <= last; j++)
                SET(j, i, (double)(j - left) / (double)up);
        for (int64_t j = center < 0 ? 0 : center; down > 0 && j < right && j <= last; j++)
            SET(j, i, (double)(right - j) / (double)down);
    }
#undef SET
    elem_store_f64(s->dtype, out, nspec * nb, c->out[0]->data, 0, 1);
    ox_free(fb);
    ox_free(out);
    return ONYX_OK;
}
