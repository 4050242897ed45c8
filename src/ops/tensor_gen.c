/* Ops that make tensors from attributes or a few scalars: Constant,
 * ConstantOfShape, Range; and Dropout, which at inference passes its input on. */
#include <math.h>
#include <string.h>

#include "ir/sparse.h"
#include "ops/tensor_util.h"
#include "util/alloc.h"
#include "util/mt19937.h"

/* ---- Constant ------------------------------------------------------------------- */

static const struct {
    const char *name;
    int type;
} const_attrs[] = {
    {"value", OX_ATTR_TENSOR},        {"sparse_value", OX_ATTR_SPARSE_TENSOR},
    {"value_float", OX_ATTR_FLOAT},   {"value_floats", OX_ATTR_FLOATS},
    {"value_int", OX_ATTR_INT},       {"value_ints", OX_ATTR_INTS},
    {"value_string", OX_ATTR_STRING}, {"value_strings", OX_ATTR_STRINGS},
};
enum { C_VALUE, C_SPARSE, C_FLOAT, C_FLOATS, C_INT, C_INTS, C_STRING, C_STRINGS, C_COUNT };

/* Exactly one value attribute must be set; *kind says which. */
static onyx_status const_source(ox_op_ctx *c, const ox_attr **out, int *kind) {
    *out = NULL;
    for (int k = 0; k < C_COUNT; k++) {
        const ox_attr *a = ox_attr_get(c, const_attrs[k].name);
        if (!a) continue;
        if (*out)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attributes '%s' and '%s' are both set",
                            (*out)->name, a->name);
        if (a->type != const_attrs[k].type)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' has the wrong type",
                            const_attrs[k].name);
        *out = a;
        *kind = k;
    }
    if (!*out)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "one of 'value', 'sparse_value' or 'value_*' is required");
    if ((*kind == C_VALUE && !(*out)->t) || (*kind == C_SPARSE && !(*out)->sparse))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' is empty", (*out)->name);
    return ONYX_OK;
}

/* Whether a decoded TensorProto's bytes match its dtype and shape. */
static onyx_status check_proto(const ox_tensor_proto *t, const char *what) {
    size_t count, nbytes;
    if (!ox_dtype_valid(t->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s has unsupported element type %d", what, t->dtype);
    if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &count, &nbytes))
        return ox_error(ONYX_ERR_LIMIT, "%s has an invalid or too large shape", what);
    if (t->nbytes != nbytes || (nbytes && !t->data))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s holds %zu bytes, its shape needs %zu", what,
                        t->nbytes, nbytes);
    return ONYX_OK;
}

onyx_status ox_tx_constant_prepare(ox_op_ctx *c) {
    const ox_attr *a;
    int kind;
    OX_TRY(const_source(c, &a, &kind));
    if (kind == C_VALUE) OX_TRY(check_proto(a->t, "attribute 'value'"));
    if (kind == C_SPARSE) OX_TRY(ox_sparse_check(a->sparse, "sparse_value"));
    return ONYX_OK;
}

onyx_status ox_tx_constant_infer(ox_op_ctx *c) {
    const ox_attr *a;
    int kind;
    OX_TRY(ox_tx_constant_prepare(c));
    OX_TRY(const_source(c, &a, &kind));
    int64_t n = (int64_t)a->n;
    switch (kind) {
    case C_VALUE: ox_set_shape(c->out[0], a->t->dtype, a->t->rank, a->t->dims); break;
    case C_SPARSE:
        ox_set_shape(c->out[0], a->sparse->values.dtype, a->sparse->rank, a->sparse->dims);
        break;
    case C_FLOAT: ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 0, NULL); break;
    case C_FLOATS: ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 1, &n); break;
    case C_INT: ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 0, NULL); break;
    case C_INTS: ox_set_shape(c->out[0], ONYX_DTYPE_INT64, 1, &n); break;
    case C_STRING: ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 0, NULL); break;
    default: ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 1, &n); break;
    }
    return ox_tx_check_size(c->out[0], "constant");
}

onyx_status ox_tx_constant_run(ox_op_ctx *c) {
    const ox_attr *a;
    int kind;
    OX_TRY(const_source(c, &a, &kind));
    void *y = c->out[0]->data;
    switch (kind) {
    case C_VALUE: return ox_tx_copy(y, a->t->data, ox_tensor_count(c->out[0]), a->t->dtype);
    case C_SPARSE: return ox_sparse_densify(a->sparse, y);
    case C_FLOAT: *(float *)y = a->f; return ONYX_OK;
    case C_FLOATS:
        if (a->n) memcpy(y, a->floats, a->n * sizeof(float));
        return ONYX_OK;
    case C_INT: *(int64_t *)y = a->i; return ONYX_OK;
    case C_INTS:
        if (a->n) memcpy(y, a->ints, a->n * sizeof(int64_t));
        return ONYX_OK;
    case C_STRING: {
        ox_string s = {(char *)a->s.data, a->s.len};
        return ox_tx_copy(y, &s, 1, ONYX_DTYPE_STRING);
    }
    default:
        for (size_t i = 0; i < a->n; i++) {
            ox_string s = {(char *)a->strings[i].data, a->strings[i].len};
            OX_TRY(ox_tx_copy((ox_string *)y + i, &s, 1, ONYX_DTYPE_STRING));
        }
        return ONYX_OK;
    }
}

/* ---- ConstantOfShape ------------------------------------------------------------- */

/* The fill value: one element of the attribute's dtype (float32 0 by default). */
static onyx_status cos_value(ox_op_ctx *c, int32_t *dtype, const void **bytes) {
    static const float zero = 0;
    const ox_tensor_proto *v = ox_attr_tensor(c, "value");
    OX_TRY(ox_op_status(c));
    if (!v) {
        *dtype = ONYX_DTYPE_FLOAT;
        *bytes = &zero;
        return ONYX_OK;
    }
    OX_TRY(check_proto(v, "attribute 'value'"));
    if (ox_shape_count(v->rank, v->dims) != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'value' must have one element");
    if (v->dtype == ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'value' cannot be a string");
    *dtype = v->dtype;
    *bytes = v->data;
    return ONYX_OK;
}

onyx_status ox_tx_constant_of_shape_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "input"));
    int32_t dtype;
    const void *bytes;
    OX_TRY(cos_value(c, &dtype, &bytes));
    if (!ox_tx_known(c->in[0])) return OX_NEED_VALUE;
    int64_t dims[OX_MAX_RANK];
    size_t n;
    OX_TRY(ox_tx_read_ints(c->in[0], "input", 0, dims, OX_MAX_RANK, &n));
    for (size_t i = 0; i < n; i++)
        if (dims[i] < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input[%zu] = %lld is negative", i,
                            (long long)dims[i]);
    ox_set_shape(c->out[0], dtype, (int32_t)n, dims);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_constant_of_shape_run(ox_op_ctx *c) {
    int32_t dtype;
    const void *bytes;
    OX_TRY(cos_value(c, &dtype, &bytes));
    size_t es = ox_dtype_size(dtype), n = ox_tensor_count(c->out[0]);
    char *y = c->out[0]->data;
    int zero = 1;
    for (size_t i = 0; i < es; i++) zero &= ((const unsigned char *)bytes)[i] == 0;
    if (zero) {
        memset(y, 0, n * es);
        return ONYX_OK;
    }
    for (size_t i = 0; i < n; i++) memcpy(y + i * es, bytes, es);
    return ONYX_OK;
}

/* ---- Range ------------------------------------------------------------------------ */

static int range_type_ok(int32_t t) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_INT16 ||
           t == ONYX_DTYPE_INT32 || t == ONYX_DTYPE_INT64 || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

/* Number of elements; integer types are counted exactly. */
static onyx_status range_count(ox_op_ctx *c, size_t *count) {
    static const char *names[3] = {"start", "limit", "delta"};
    OX_TRY(ox_tx_need_input(c, 0, names[0]));
    int32_t t = c->in[0]->dtype;
    for (size_t i = 0; i < 3; i++) {
        OX_TRY(ox_tx_need_input(c, i, names[i]));
        if (c->in[i]->dtype != t || !range_type_ok(t))
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "input '%s' has type %s; all three must share "
                            "one of float, double, int16, int32, int64, float16, bfloat16",
                            names[i], ox_dtype_name(c->in[i]->dtype));
        if (ox_tensor_count(c->in[i]) != 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be a scalar", names[i]);
    }
    if (c->opset >= 27 && (t == ONYX_DTYPE_FLOAT16 || t == ONYX_DTYPE_BFLOAT16)) {
        int64_t st = ox_attr_int(c, "stash_type", 1);
        OX_TRY(ox_op_status(c));
        if (st != ONYX_DTYPE_FLOAT && st != ONYX_DTYPE_DOUBLE)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'stash_type' = %lld must be 1 or 11",
                            (long long)st);
    }
    for (size_t i = 0; i < 3; i++)
        if (!c->in[i]->data) return OX_NEED_VALUE;
    uint64_t n;
    if (ox_dtype_is_int(t)) {
        int64_t s = ox_tensor_get_int(c->in[0], 0), l = ox_tensor_get_int(c->in[1], 0),
                d = ox_tensor_get_int(c->in[2], 0);
        if (d == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'delta' is zero");
        if (d > 0)
            n = l > s ? ((uint64_t)l - (uint64_t)s - 1) / (uint64_t)d + 1 : 0;
        else
            n = s > l ? ((uint64_t)s - (uint64_t)l - 1) / (0 - (uint64_t)d) + 1 : 0;
    } else {
        double s = ox_tensor_get_double(c->in[0], 0), l = ox_tensor_get_double(c->in[1], 0),
               d = ox_tensor_get_double(c->in[2], 0);
        if (d == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "input 'delta' is zero");
        double f = ceil((l - s) / d);
        if (f != f || f >= 9.0e18)
            return ox_error(ONYX_ERR_LIMIT, "Range from %g to %g by %g has too many elements", s, l,
                            d);
        n = f > 0 ? (uint64_t)f : 0;
    }
    if (n > ((uint64_t)1 << 62)) return ox_error(ONYX_ERR_LIMIT, "Range has too many elements");
    *count = (size_t)n;
    return ONYX_OK;
}

onyx_status ox_tx_range_infer(ox_op_ctx *c) {
    size_t n;
    onyx_status s = range_count(c, &n);
    if (s != ONYX_OK) return s;
    int64_t d = (int64_t)n;
    ox_set_shape(c->out[0], c->in[0]->dtype, 1, &d);
    return ox_tx_check_size(c->out[0], "output");
}

onyx_status ox_tx_range_run(ox_op_ctx *c) {
    size_t n;
    OX_TRY(range_count(c, &n));
    if (n != (size_t)c->out[0]->dims[0])
        return ox_error(ONYX_ERR_RUNTIME, "Range length changed since shapes were inferred");
    int32_t t = c->in[0]->dtype;
    void *y = c->out[0]->data;
    if (ox_dtype_is_int(t)) {
        uint64_t s = (uint64_t)ox_tensor_get_int(c->in[0], 0),
                 d = (uint64_t)ox_tensor_get_int(c->in[2], 0);
        /* every value lies between start and limit, so it fits the type */
        for (size_t i = 0; i < n; i++) ox_tx_store_int(y, i, t, (int64_t)(s + (uint64_t)i * d));
    } else {
        double s = ox_tensor_get_double(c->in[0], 0), d = ox_tensor_get_double(c->in[2], 0);
        for (size_t i = 0; i < n; i++) ox_tx_store_float(y, i, t, s + (double)i * d);
    }
    return ONYX_OK;
}

/* ---- Dropout ---------------------------------------------------------------------- */

onyx_status ox_tx_dropout_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "data"));
    const ox_tensor *x = c->in[0];
    int32_t t = x->dtype;
    int f8 = t == ONYX_DTYPE_FLOAT8E4M3FN || t == ONYX_DTYPE_FLOAT8E4M3FNUZ ||
             t == ONYX_DTYPE_FLOAT8E5M2 || t == ONYX_DTYPE_FLOAT8E5M2FNUZ;
    if (!(t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
          t == ONYX_DTYPE_BFLOAT16 || (f8 && c->opset >= 22)))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'data' has type %s, expected a float type",
                        ox_dtype_name(t));
    if (c->opset >= 12) {
        if (ox_has_input(c, 1) &&
            (!ox_dtype_is_float(c->in[1]->dtype) || !ox_tx_scalar_type(c->in[1]->dtype) ||
             ox_tensor_count(c->in[1]) != 1))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'ratio' must be a float scalar");
        if (ox_has_input(c, 2) &&
            (c->in[2]->dtype != ONYX_DTYPE_BOOL || ox_tensor_count(c->in[2]) != 1))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input 'training_mode' must be a bool scalar");
    }
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    if (ox_has_output(c, 1))
        ox_set_shape(c->out[1], c->opset >= 10 ? ONYX_DTYPE_BOOL : x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

/* Training mode (opset 12+, training_mode true, ratio > 0): keep each element with
 * probability 1 - ratio and scale it by 1 / (1 - ratio). */
static onyx_status dropout_train(ox_op_ctx *c, double ratio) {
    const ox_tensor *x = c->in[0];
    int32_t t = x->dtype;
    if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_DOUBLE && t != ONYX_DTYPE_FLOAT16 &&
        t != ONYX_DTYPE_BFLOAT16)
        return ox_error(ONYX_ERR_UNSUPPORTED, "training-mode Dropout of %s is not supported",
                        ox_dtype_name(t));
    if (!(ratio >= 0 && ratio < 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input 'ratio' = %g must be in [0, 1)", ratio);
    ox_mt19937 *rng = ox_malloc(sizeof *rng);
    if (!rng) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    /* seeded like NumPy's RandomState, as the ONNX reference draws its mask */
    ox_mt_seed(rng, (uint32_t)ox_attr_int(c, "seed", 0));
    double scale = 1.0 / (1.0 - ratio);
    size_t n = ox_tensor_count(x);
    uint8_t *mask = ox_has_output(c, 1) ? c->out[1]->data : NULL;
    for (size_t i = 0; i < n; i++) {
        int keep = ox_mt_double(rng) >= ratio;
        if (ox_has_output(c, 0))
            ox_tx_store_float(c->out[0]->data, i, t,
                              keep ? ox_tensor_get_double(x, i) * scale : 0.0);
        if (mask) mask[i] = (uint8_t)keep;
    }
    ox_free(rng);
    return ONYX_OK;
}

onyx_status ox_tx_dropout_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    /* Before opset 12 there is no training input: an inference engine runs these
     * versions in test mode (is_test is ignored; its default 0 is a training-time
     * leftover in most exported models). */
    if (c->opset >= 12 && ox_has_input(c, 2) && ox_tensor_get_int(c->in[2], 0)) {
        double ratio = ox_has_input(c, 1) ? ox_tensor_get_double(c->in[1], 0) : 0.5;
        if (ratio != 0) return dropout_train(c, ratio);
    }
    if (ox_has_output(c, 0))
        OX_TRY(ox_tx_copy(c->out[0]->data, x->data, ox_tensor_count(x), x->dtype));
    if (ox_has_output(c, 1)) {
        ox_tensor *m = c->out[1];
        size_t n = ox_tensor_count(m);
        if (m->dtype == ONYX_DTYPE_BOOL)
            memset(m->data, 1, n);
        else
            for (size_t i = 0; i < n; i++) ox_tx_store_float(m->data, i, m->dtype, 1.0);
    }
    return ONYX_OK;
}
