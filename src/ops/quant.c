/* QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear.
 *
 * x is viewed as (outer, dim, inner) around the quantization axis. The scale (and
 * zero point) is one value (per-tensor), one per position along the axis
 * (per-axis), or one per block of block_size positions along the axis with every
 * other dim kept (blocked). A scale/zero point with a single element is per-tensor
 * whatever its rank, as in the ONNX reference.
 *
 * Arithmetic follows the reference: QuantizeLinear divides in the precision type
 * (the attribute, else the type NumPy would promote x and scale to), rounds half to
 * even and saturates; DequantizeLinear computes (x - zero_point) * scale in float32
 * and converts the result to the output type. A NaN input quantizes to the zero
 * point (NumPy leaves the result unspecified).
 */
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"
#include "util/fp16.h"

typedef struct {
    int64_t axis, block_size;
    int32_t output_dtype; /* 0: from the zero point / scale */
    int32_t precision;    /* 0: from the input types */
    int saturate;
} quant_state;

typedef struct {
    size_t outer, dim, inner; /* x as (outer, dim, inner) */
    size_t block;             /* blocked: positions per scale along the axis; else 0 */
    size_t sdim;              /* blocked: scale positions along the axis */
    int per_tensor;
} qlayout;

static int is_f8(int32_t t) {
    return t == ONYX_DTYPE_FLOAT8E4M3FN || t == ONYX_DTYPE_FLOAT8E4M3FNUZ ||
           t == ONYX_DTYPE_FLOAT8E5M2 || t == ONYX_DTYPE_FLOAT8E5M2FNUZ;
}

/* Whether t is a quantized type at this opset (int32 is only a DequantizeLinear input). */
static int quant_type_ok(int32_t t, int64_t opset) {
    if (t == ONYX_DTYPE_INT8 || t == ONYX_DTYPE_UINT8) return 1;
    if (is_f8(t)) return opset >= 19;
    if (t == ONYX_DTYPE_INT16 || t == ONYX_DTYPE_UINT16 || t == ONYX_DTYPE_INT4 ||
        t == ONYX_DTYPE_UINT4)
        return opset >= 21;
    if (t == ONYX_DTYPE_FLOAT4E2M1) return opset >= 23;
    if (t == ONYX_DTYPE_INT2 || t == ONYX_DTYPE_UINT2) return opset >= 25;
    return 0;
}

static void int_range(int32_t t, double *lo, double *hi) {
    switch (t) {
    case ONYX_DTYPE_INT8: *lo = -128, *hi = 127; break;
    case ONYX_DTYPE_UINT8: *lo = 0, *hi = 255; break;
    case ONYX_DTYPE_INT16: *lo = -32768, *hi = 32767; break;
    case ONYX_DTYPE_UINT16: *lo = 0, *hi = 65535; break;
    case ONYX_DTYPE_INT4: *lo = -8, *hi = 7; break;
    case ONYX_DTYPE_UINT4: *lo = 0, *hi = 15; break;
    case ONYX_DTYPE_INT2: *lo = -2, *hi = 1; break;
    case ONYX_DTYPE_UINT2: *lo = 0, *hi = 3; break;
    default: *lo = -2147483648.0, *hi = 2147483647.0; break;
    }
}

static onyx_status quant_prepare(ox_op_ctx *c, int is_q) {
    quant_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    s->axis = c->opset >= 13 ? ox_attr_int(c, "axis", 1) : 1;
    s->saturate = is_q && c->opset >= 19 ? ox_attr_int(c, "saturate", 1) != 0 : 1;
    s->block_size = c->opset >= 21 ? ox_attr_int(c, "block_size", 0) : 0;
    if ((is_q && c->opset >= 21) || (!is_q && c->opset >= 23))
        s->output_dtype = (int32_t)ox_attr_int(c, "output_dtype", 0);
    if (is_q && c->opset >= 23) s->precision = (int32_t)ox_attr_int(c, "precision", 0);
    OX_TRY(ox_op_status(c));
    if (s->block_size < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'block_size' = %lld must not be negative",
                        (long long)s->block_size);
    if (s->precision && !ox_misc_is_float(s->precision))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'precision' = %d is not a float type",
                        (int)s->precision);
    return ONYX_OK;
}

onyx_status ox_misc_quantize_prepare(ox_op_ctx *c) { return quant_prepare(c, 1); }
onyx_status ox_misc_dequantize_prepare(ox_op_ctx *c) { return quant_prepare(c, 0); }

/* Check the scale and zero point against x and describe the layout. */
static onyx_status quant_layout(const quant_state *s, const ox_tensor *x, const ox_tensor *sc,
                                const ox_tensor *zp, const char *sname, qlayout *L) {
    memset(L, 0, sizeof *L);
    size_t n_sc = ox_tensor_count(sc);
    if (zp) {
        /* one element each is per-tensor whatever the ranks (the conformance data
         * pairs a scalar scale with a [1] zero point) */
        int same = n_sc == ox_tensor_count(zp);
        if (same && n_sc != 1) {
            same = zp->rank == sc->rank;
            for (int32_t d = 0; same && d < sc->rank; d++) same = zp->dims[d] == sc->dims[d];
        }
        if (!same) return ox_error(ONYX_ERR_INVALID_MODEL, "the zero point's shape differs from the scale's");
    }
    if (n_sc == 1) {
        L->per_tensor = 1;
        L->outer = L->dim = 1;
        L->inner = ox_tensor_count(x);
        return ONYX_OK;
    }
    int32_t a;
    if (ox_norm_axis(s->axis, x->rank, &a) != ONYX_OK)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'axis' = %lld is out of range for rank %d",
                        (long long)s->axis, x->rank);
    L->outer = ox_shape_count(a, x->dims);
    L->dim = (size_t)x->dims[a];
    L->inner = ox_shape_count(x->rank - a - 1, x->dims + a + 1);
    if (!s->block_size) {
        if (sc->rank != 1 || sc->dims[0] != x->dims[a])
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "input '%s' must be a scalar or a 1-D tensor of %lld values (axis %d)",
                            sname, (long long)x->dims[a], a);
        return ONYX_OK;
    }
    int ok = sc->rank == x->rank;
    for (int32_t d = 0; ok && d < x->rank; d++)
        if (d != a && sc->dims[d] != x->dims[d]) ok = 0;
    if (!ok)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "blocked quantization: input '%s' must have x's shape except along axis %d",
                        sname, a);
    int64_t B = s->block_size, D = x->dims[a], S = sc->dims[a];
    if (D / B + (D % B != 0) != S)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "blocked quantization: block_size %lld does not split %lld positions into "
                        "%lld blocks",
                        (long long)B, (long long)D, (long long)S);
    L->block = (size_t)B;
    L->sdim = (size_t)S;
    return ONYX_OK;
}

/* The scale index of x's element (o, j, 0) and the step along inner. */
static size_t scale_index(const qlayout *L, size_t o, size_t j, size_t *step) {
    if (L->per_tensor) {
        *step = 0;
        return 0;
    }
    if (!L->block) {
        *step = 0;
        return j;
    }
    *step = 1;
    return (o * L->sdim + j / L->block) * L->inner;
}

static int scale_type_ok(int32_t t, int64_t opset) {
    if (t == ONYX_DTYPE_FLOAT) return 1;
    if (t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16) return opset >= 19;
    return 0;
}

static const ox_tensor *opt_in(const ox_op_ctx *c, size_t i) {
    return ox_has_input(c, i) ? c->in[i] : NULL;
}

/* ---- QuantizeLinear ----------------------------------------------------------------- */

static int32_t quant_out_dtype(const ox_op_ctx *c) {
    const quant_state *s = c->state;
    const ox_tensor *zp = opt_in(c, 2);
    if (zp) return zp->dtype;
    return s->output_dtype ? s->output_dtype : ONYX_DTYPE_UINT8;
}

onyx_status ox_misc_quantize_infer(ox_op_ctx *c) {
    const quant_state *s = c->state;
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs 'x' and 'y_scale' are required");
    const ox_tensor *x = c->in[0], *sc = c->in[1], *zp = opt_in(c, 2);
    int32_t xt = x->dtype;
    if (!(xt == ONYX_DTYPE_FLOAT || xt == ONYX_DTYPE_INT32 ||
          ((xt == ONYX_DTYPE_FLOAT16 || xt == ONYX_DTYPE_BFLOAT16) && c->opset >= 19)))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x' has type %s, expected float, float16, "
                        "bfloat16 or int32", ox_dtype_name(xt));
    if (!scale_type_ok(sc->dtype, c->opset) && !(sc->dtype == ONYX_DTYPE_INT32 && c->opset >= 23))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'y_scale' has unsupported type %s",
                        ox_dtype_name(sc->dtype));
    if (zp && s->output_dtype && s->output_dtype != zp->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'output_dtype' (%s) differs from the "
                        "type of 'y_zero_point' (%s)", ox_dtype_name(s->output_dtype),
                        ox_dtype_name(zp->dtype));
    int32_t yt = quant_out_dtype(c);
    if (!quant_type_ok(yt, c->opset))
        return ox_error(ONYX_ERR_UNSUPPORTED, "quantizing to %s is not supported at opset %lld",
                        ox_dtype_name(yt), (long long)c->opset);
    qlayout L;
    OX_TRY(quant_layout(s, x, sc, zp, "y_scale", &L));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], yt, x->rank, x->dims);
    size_t ws;
    if (!ox_mul_ok(ox_tensor_count(sc), 2 * sizeof(double), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input 'y_scale' is too large");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

/* The division's type: NumPy's promotion of x and the scale (int32 makes it float64). */
static int32_t quant_precision(const quant_state *s, int32_t xt, int32_t st) {
    if (s->precision) return s->precision;
    if (xt == st && xt != ONYX_DTYPE_INT32) return xt;
    if (xt == ONYX_DTYPE_INT32 || st == ONYX_DTYPE_INT32) return ONYX_DTYPE_DOUBLE;
    return ONYX_DTYPE_FLOAT;
}

/* v rounded to dtype p (a float type). */
static double round_to(int32_t p, double v) {
    switch (p) {
    case ONYX_DTYPE_FLOAT: return (float)v;
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(ox_f64_to_f16(v));
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(ox_f64_to_bf16(v));
    default: return v;
    }
}

/* Round half to even without a libm call: adding and subtracting 1.5 * 2^23 leaves
 * the nearest integer (ties to even, the default rounding mode) for |q| < 2^22;
 * larger values are clamped first (they saturate anyway). NaN stays NaN. */
static inline float rne_clamped(float q) {
    q = q > 4194304.f ? 4194304.f : q < -4194304.f ? -4194304.f : q;
    return (q + 12582912.f) - 12582912.f;
}

/* The common case: float32 x and scale, 8-bit integer output. */
static void quantize_f32_q8(const ox_tensor *x, const qlayout *L, const double *sc, const double *zp,
                            ox_tensor *y) {
    const float *xp = x->data;
    int sgn = y->dtype == ONYX_DTYPE_INT8;
    float lo = sgn ? -128.f : 0.f, hi = sgn ? 127.f : 255.f;
    for (size_t o = 0; o < L->outer; o++)
        for (size_t j = 0; j < L->dim; j++) {
            size_t step, si = scale_index(L, o, j, &step);
            size_t base = (o * L->dim + j) * L->inner;
            for (size_t i = 0; i < L->inner; i++, si += step) {
                float s = (float)sc[si], z = (float)zp[si];
                float q = rne_clamped(xp[base + i] / s);
                float v = q == q ? q + z : z;
                v = v < lo ? lo : v > hi ? hi : v;
                if (sgn) ((int8_t *)y->data)[base + i] = (int8_t)v;
                else ((uint8_t *)y->data)[base + i] = (uint8_t)v;
            }
        }
}

#define QCHUNK 256

onyx_status ox_misc_quantize_run(ox_op_ctx *c) {
    const quant_state *s = c->state;
    const ox_tensor *x = c->in[0], *sct = c->in[1], *zpt = opt_in(c, 2);
    ox_tensor *y = c->out[0];
    if (!y) return ONYX_OK;
    qlayout L;
    OX_TRY(quant_layout(s, x, sct, zpt, "y_scale", &L));
    if (!ox_tensor_count(x)) return ONYX_OK;
    size_t ns = ox_tensor_count(sct);
    double *sc = c->workspace, *zp = sc + ns;
    elem_load_f64(sct->dtype, sct->data, 0, 1, ns, sc);
    if (zpt) elem_load_f64(zpt->dtype, zpt->data, 0, 1, ns, zp);
    else memset(zp, 0, ns * sizeof *zp);
    int32_t yt = y->dtype, p = quant_precision(s, x->dtype, sct->dtype);
    if (x->dtype == ONYX_DTYPE_FLOAT && p == ONYX_DTYPE_FLOAT &&
        (yt == ONYX_DTYPE_INT8 || yt == ONYX_DTYPE_UINT8)) {
        quantize_f32_q8(x, &L, sc, zp, y);
        return ONYX_OK;
    }
    int is_int = !is_f8(yt) && yt != ONYX_DTYPE_FLOAT4E2M1;
    double lo, hi;
    int_range(yt, &lo, &hi);
    double xb[QCHUNK];
    int64_t ib[QCHUNK];
    for (size_t o = 0; o < L.outer; o++)
        for (size_t j = 0; j < L.dim; j++) {
            size_t step, si = scale_index(&L, o, j, &step);
            size_t base = (o * L.dim + j) * L.inner;
            for (size_t i0 = 0; i0 < L.inner; i0 += QCHUNK) {
                size_t m = L.inner - i0 < QCHUNK ? L.inner - i0 : QCHUNK;
                elem_load_f64(x->dtype, x->data, base + i0, 1, m, xb);
                for (size_t k = 0; k < m; k++) {
                    size_t idx = si + (i0 + k) * step;
                    double sv = round_to(p, sc[idx]);
                    double q = round_to(p, round_to(p, xb[k]) / sv);
                    if (is_int) {
                        double v = q == q ? nearbyint(q) + zp[idx] : zp[idx];
                        ib[k] = (int64_t)(v < lo ? lo : v > hi ? hi : v);
                    } else if (yt == ONYX_DTYPE_FLOAT4E2M1) {
                        xb[k] = zpt ? q + zp[idx] : q;
                    } else {
                        /* float8: the reference ignores a zero zero point (keeping -0) */
                        xb[k] = zp[idx] != 0 ? q + zp[idx] : q;
                    }
                }
                if (is_int) elem_store_i64(yt, ib, m, y->data, base + i0);
                else elem_store_f64(yt, xb, m, y->data, base + i0, s->saturate);
            }
        }
    return ONYX_OK;
}

/* ---- DequantizeLinear --------------------------------------------------------------- */

onyx_status ox_misc_dequantize_infer(ox_op_ctx *c) {
    const quant_state *s = c->state;
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs 'x' and 'x_scale' are required");
    const ox_tensor *x = c->in[0], *sc = c->in[1], *zp = opt_in(c, 2);
    if (!quant_type_ok(x->dtype, c->opset) && x->dtype != ONYX_DTYPE_INT32)
        return ox_error(ONYX_ERR_UNSUPPORTED, "dequantizing %s is not supported at opset %lld",
                        ox_dtype_name(x->dtype), (long long)c->opset);
    if (zp && zp->dtype != x->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x_zero_point' has type %s, expected %s (x's)",
                        ox_dtype_name(zp->dtype), ox_dtype_name(x->dtype));
    if (!scale_type_ok(sc->dtype, c->opset))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x_scale' has unsupported type %s",
                        ox_dtype_name(sc->dtype));
    int32_t yt = s->output_dtype ? s->output_dtype : sc->dtype;
    if (!scale_type_ok(yt, 19))
        return ox_error(ONYX_ERR_INVALID_MODEL, "output type %s is not float, float16 or bfloat16",
                        ox_dtype_name(yt));
    qlayout L;
    OX_TRY(quant_layout(s, x, sc, zp, "x_scale", &L));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], yt, x->rank, x->dims);
    size_t ws;
    if (!ox_mul_ok(ox_tensor_count(sc), 2 * sizeof(float), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input 'x_scale' is too large");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

static void load_f32(const ox_tensor *t, float *out, size_t n) {
    double tmp[QCHUNK];
    for (size_t i = 0; i < n; i += QCHUNK) {
        size_t m = n - i < QCHUNK ? n - i : QCHUNK;
        elem_load_f64(t->dtype, t->data, i, 1, m, tmp);
        for (size_t k = 0; k < m; k++) out[i + k] = (float)tmp[k];
    }
}

onyx_status ox_misc_dequantize_run(ox_op_ctx *c) {
    const quant_state *s = c->state;
    const ox_tensor *x = c->in[0], *sct = c->in[1], *zpt = opt_in(c, 2);
    ox_tensor *y = c->out[0];
    if (!y) return ONYX_OK;
    qlayout L;
    OX_TRY(quant_layout(s, x, sct, zpt, "x_scale", &L));
    if (!ox_tensor_count(x)) return ONYX_OK;
    size_t ns = ox_tensor_count(sct);
    float *sc = c->workspace, *zp = sc + ns;
    load_f32(sct, sc, ns);
    if (zpt) load_f32(zpt, zp, ns);
    else memset(zp, 0, ns * sizeof *zp);
    int fast = (x->dtype == ONYX_DTYPE_UINT8 || x->dtype == ONYX_DTYPE_INT8) &&
               y->dtype == ONYX_DTYPE_FLOAT;
    double xb[QCHUNK];
    for (size_t o = 0; o < L.outer; o++)
        for (size_t j = 0; j < L.dim; j++) {
            size_t step, si = scale_index(&L, o, j, &step);
            size_t base = (o * L.dim + j) * L.inner;
            if (fast) {
                float *yp = (float *)y->data + base;
                if (x->dtype == ONYX_DTYPE_UINT8) {
                    const uint8_t *xp = (const uint8_t *)x->data + base;
                    for (size_t i = 0; i < L.inner; i++, si += step)
                        yp[i] = ((float)xp[i] - zp[si]) * sc[si];
                } else {
                    const int8_t *xp = (const int8_t *)x->data + base;
                    for (size_t i = 0; i < L.inner; i++, si += step)
                        yp[i] = ((float)xp[i] - zp[si]) * sc[si];
                }
                continue;
            }
            for (size_t i0 = 0; i0 < L.inner; i0 += QCHUNK) {
                size_t m = L.inner - i0 < QCHUNK ? L.inner - i0 : QCHUNK;
                elem_load_f64(x->dtype, x->data, base + i0, 1, m, xb);
                for (size_t k = 0; k < m; k++) {
                    size_t idx = si + (i0 + k) * step;
                    float d = (float)xb[k] - zp[idx];
                    xb[k] = (double)(d * sc[idx]);
                }
                elem_store_f64(y->dtype, xb, m, y->data, base + i0, 1);
            }
        }
    return ONYX_OK;
}

/* ---- DynamicQuantizeLinear ---------------------------------------------------------- */

onyx_status ox_misc_dynquant_prepare(ox_op_ctx *c) { return ONYX_OK; }

onyx_status ox_misc_dynquant_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x' is required");
    const ox_tensor *x = c->in[0];
    if (x->dtype != ONYX_DTYPE_FLOAT)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'x' has type %s, expected float",
                        ox_dtype_name(x->dtype));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], ONYX_DTYPE_UINT8, x->rank, x->dims);
    if (ox_has_output(c, 1)) ox_set_shape(c->out[1], ONYX_DTYPE_FLOAT, 0, NULL);
    if (ox_has_output(c, 2)) ox_set_shape(c->out[2], ONYX_DTYPE_UINT8, 0, NULL);
    return ONYX_OK;
}

/* Scale and zero point from the range of x widened to include 0, in float32 as
 * the reference computes them; NaNs are left out of the range. */
onyx_status ox_misc_dynquant_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    const float *xp = x->data;
    size_t n = ox_tensor_count(x);
    float mn = 0.f, mx = 0.f;
    for (size_t i = 0; i < n; i++) {
        if (xp[i] < mn) mn = xp[i];
        if (xp[i] > mx) mx = xp[i];
    }
    float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    float zp0 = 0.0f - mn / scale;
    float zp = nearbyintf(zp0 < 0.f ? 0.f : zp0 > 255.f ? 255.f : zp0);
    if (ox_has_output(c, 0)) {
        uint8_t *y = c->out[0]->data;
        for (size_t i = 0; i < n; i++) {
            float q = rne_clamped(xp[i] / scale);
            float v = q == q ? q + zp : zp;
            y[i] = (uint8_t)(v < 0.f ? 0.f : v > 255.f ? 255.f : v);
        }
    }
    if (ox_has_output(c, 1)) *(float *)c->out[1]->data = scale;
    if (ox_has_output(c, 2)) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
    return ONYX_OK;
}
