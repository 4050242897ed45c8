/* Det and BitCast. */
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"

/* ---- Det ---------------------------------------------------------------------------
 * LU factorisation with partial pivoting, in double, one matrix at a time. */

onyx_status ox_misc_det_prepare(ox_op_ctx *c) { return ONYX_OK; }

onyx_status ox_misc_det_infer(ox_op_ctx *c) {
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'X' is required");
    const ox_tensor *x = c->in[0];
    if (!ox_misc_is_float(x->dtype) || (x->dtype == ONYX_DTYPE_BFLOAT16 && c->opset < 22))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'X' has type %s, expected a float type",
                        ox_dtype_name(x->dtype));
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'X' must be [..., M, M]");
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, x->rank - 2, x->dims);
    size_t m = (size_t)x->dims[x->rank - 1], ws;
    if (!ox_mul_ok(m, m, &ws) || !ox_mul_ok(ws, sizeof(double), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input 'X' has too large matrices");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

static double det_lu(double *a, size_t m) {
    double det = 1.0;
    for (size_t k = 0; k < m; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[p * m + k])) p = i;
        if (a[p * m + k] == 0.0) return 0.0 * det; /* singular (keeps NaN from the input) */
        if (p != k) {
            for (size_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[p * m + j];
                a[p * m + j] = t;
            }
            det = -det;
        }
        double piv = a[k * m + k];
        det *= piv;
        for (size_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] / piv;
            if (f == 0.0) continue;
            for (size_t j = k + 1; j < m; j++) a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

onyx_status ox_misc_det_run(ox_op_ctx *c) {
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t m = (size_t)x->dims[x->rank - 1], mm = m * m, batch = ox_tensor_count(y);
    double *a = c->workspace;
    for (size_t b = 0; b < batch; b++) {
        elem_load_f64(x->dtype, x->data, b * mm, 1, mm, a);
        double d = det_lu(a, m);
        elem_store_f64(y->dtype, &d, 1, y->data, b, 1);
    }
    return ONYX_OK;
}

/* ---- BitCast -----------------------------------------------------------------------
 * Same bytes, new type. The 4-bit types are stored one per byte (low nibble, INT4
 * sign-extended), so casts among them move the nibble and re-extend the sign. */

typedef struct {
    int32_t to;
} bitcast_state;

static size_t bit_width(int32_t dt) {
    if (dt == ONYX_DTYPE_INT4 || dt == ONYX_DTYPE_UINT4 || dt == ONYX_DTYPE_FLOAT4E2M1) return 4;
    if (dt == ONYX_DTYPE_STRING || !ox_dtype_valid(dt)) return 0;
    return 8 * ox_dtype_size(dt);
}

onyx_status ox_misc_bitcast_prepare(ox_op_ctx *c) {
    bitcast_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    if (!ox_attr_get(c, "to")) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'to' is required");
    int64_t to = ox_attr_int(c, "to", 0);
    OX_TRY(ox_op_status(c));
    if (to < 0 || to > 1000 || !bit_width((int32_t)to))
        return ox_error(ONYX_ERR_UNSUPPORTED, "attribute 'to' = %lld is not a type BitCast can make",
                        (long long)to);
    s->to = (int32_t)to;
    return ONYX_OK;
}

onyx_status ox_misc_bitcast_infer(ox_op_ctx *c) {
    const bitcast_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' is required");
    const ox_tensor *x = c->in[0];
    size_t bits = bit_width(x->dtype);
    if (!bits)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'input' has type %s, which BitCast cannot read",
                        ox_dtype_name(x->dtype));
    if (bits != bit_width(s->to))
        return ox_error(ONYX_ERR_INVALID_MODEL, "BitCast from %s (%zu bits) to %s (%zu bits): the "
                        "widths differ", ox_dtype_name(x->dtype), bits, ox_dtype_name(s->to),
                        bit_width(s->to));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], s->to, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status ox_misc_bitcast_run(ox_op_ctx *c) {
    const bitcast_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t n = ox_tensor_count(x);
    if (bit_width(x->dtype) != 4) {
        if (n) memcpy(y->data, x->data, n * ox_dtype_size(x->dtype));
        return ONYX_OK;
    }
    const uint8_t *xp = x->data;
    uint8_t *yp = y->data;
    for (size_t i = 0; i < n; i++) {
        unsigned v = xp[i] & 0xFu;
        yp[i] = (uint8_t)(s->to == ONYX_DTYPE_INT4 && (v & 8u) ? v | 0xF0u : v);
    }
    return ONYX_OK;
}
