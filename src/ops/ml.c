/* ai.onnx.ml ops: LabelEncoder (opsets 1, 2 and 4), ArrayFeatureExtractor, Binarizer.
 * (TreeEnsemble is in ops/ml_tree.c.)
 *
 * LabelEncoder keys are compared by value: integers as int64, floats as double with
 * every NaN equal to every other and -0 equal to +0; strings by their bytes. A
 * repeated key maps to its last value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/tensor_util.h"
#include "ops/text_util.h"
#include "util/alloc.h"

/* ---- LabelEncoder ---------------------------------------------------------------------------- */

typedef struct le_state {
    ox_text_state base;
    int v1;           /* opset 1: strings <-> their index in classes_strings */
    int32_t key_type; /* input element type */
    int32_t val_type; /* output element type */
    size_t n;
    ox_bmap map;      /* canonical key -> index */
    uint64_t *num_keys; /* canonical numeric keys (owned; keys of map point here) */
    int64_t *ival;
    double *dval;
    ox_string *sval; /* views of attribute strings */
    int64_t idef;
    double ddef;
    ox_string sdef;
} le_state;

static void le_free(void *p) {
    le_state *s = p;
    ox_bmap_free(&s->map);
    ox_free(s->num_keys);
    ox_free(s->ival);
    ox_free(s->dval);
    ox_free(s->sval);
}

static int is_float_type(int32_t t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE; }
static int le_type_ok(int32_t t) {
    return t == ONYX_DTYPE_STRING || t == ONYX_DTYPE_INT64 || t == ONYX_DTYPE_FLOAT ||
           t == ONYX_DTYPE_INT32 || t == ONYX_DTYPE_INT16 || t == ONYX_DTYPE_DOUBLE;
}

static uint64_t canon_double(double v) {
    if (v != v) return 0x7FF8000000000000ull;
    if (v == 0) v = 0; /* -0 -> +0 */
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* Canonical key of element i of a numeric buffer. */
static uint64_t canon_at(const void *data, int32_t t, size_t i) {
    switch (t) {
    case ONYX_DTYPE_FLOAT: return canon_double(((const float *)data)[i]);
    case ONYX_DTYPE_DOUBLE: return canon_double(((const double *)data)[i]);
    case ONYX_DTYPE_INT16: return (uint64_t)(int64_t)((const int16_t *)data)[i];
    case ONYX_DTYPE_INT32: return (uint64_t)(int64_t)((const int32_t *)data)[i];
    default: return (uint64_t)((const int64_t *)data)[i];
    }
}

/* A list or tensor attribute as (type, count, data, string views). */
typedef struct le_list {
    int32_t type; /* 0: absent */
    size_t n;
    const void *data;
    const ox_bytes *strs; /* for string lists */
    const ox_string *tstrs; /* for string tensors */
} le_list;

static onyx_status le_pick(ox_op_ctx *c, const char *prefix, le_list *out) {
    static const char *const suffix[] = {"strings", "int64s", "floats", "tensor"};
    char name[32];
    memset(out, 0, sizeof *out);
    int found = 0;
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s_%s", prefix, suffix[k]);
        const ox_attr *a = ox_attr_get(c, name);
        if (!a) continue;
        if (k == 3 && c->opset < 4)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s needs ai.onnx.ml opset 4", name);
        if (++found > 1)
            return ox_error(ONYX_ERR_INVALID_MODEL, "more than one %s_* attribute is set", prefix);
        static const int types[] = {OX_ATTR_STRINGS, OX_ATTR_INTS, OX_ATTR_FLOATS, OX_ATTR_TENSOR};
        if (a->type != types[k])
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has the wrong type", name);
        switch (k) {
        case 0: *out = (le_list){ONYX_DTYPE_STRING, a->n, NULL, a->strings, NULL}; break;
        case 1: *out = (le_list){ONYX_DTYPE_INT64, a->n, a->ints, NULL, NULL}; break;
        case 2: *out = (le_list){ONYX_DTYPE_FLOAT, a->n, a->floats, NULL, NULL}; break;
        default: {
            const ox_tensor_proto *t = a->t;
            if (!le_type_ok(t->dtype))
                return ox_error(ONYX_ERR_UNSUPPORTED, "attribute %s has element type %s", name,
                                ox_dtype_name(t->dtype));
            size_t n = ox_shape_count(t->rank, t->dims);
            if (t->nbytes != n * ox_dtype_size(t->dtype))
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has no data", name);
            *out = (le_list){t->dtype, n, t->data, NULL,
                             t->dtype == ONYX_DTYPE_STRING ? (const ox_string *)t->data : NULL};
        }
        }
    }
    if (!found) return ox_error(ONYX_ERR_INVALID_MODEL, "one %s_* attribute is required", prefix);
    return ONYX_OK;
}

static ox_string list_str(const le_list *l, size_t i) {
    if (l->strs) return (ox_string){(char *)l->strs[i].data, l->strs[i].len};
    return l->tstrs[i];
}

static onyx_status le_prepare_v1(ox_op_ctx *c, le_state *s) {
    const ox_attr *a = ox_attr_get(c, "classes_strings");
    s->idef = ox_attr_int(c, "default_int64", -1);
    const ox_attr *ds = ox_attr_get(c, "default_string");
    OX_TRY(ox_op_status(c));
    if (a && a->type != OX_ATTR_STRINGS)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute classes_strings must be a list of strings");
    if (ds && ds->type != OX_ATTR_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute default_string must be a string");
    s->sdef = ds ? (ox_string){(char *)ds->s.data, ds->s.len} : (ox_string){(char *)"_Unused", 7};
    s->v1 = 1;
    s->n = a ? a->n : 0;
    s->sval = ox_malloc_array(s->n ? s->n : 1, sizeof *s->sval);
    if (!s->sval) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < s->n; i++) {
        s->sval[i] = (ox_string){(char *)a->strings[i].data, a->strings[i].len};
        /* a repeated class maps to its last index, as repeated keys do from opset 2 */
        if (!ox_bmap_put(&s->map, a->strings[i].data, a->strings[i].len, (int64_t)i))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return ONYX_OK;
}

static onyx_status le_defaults(ox_op_ctx *c, le_state *s, const le_list *vals) {
    const ox_attr *dt = c->opset >= 4 ? ox_attr_get(c, "default_tensor") : NULL;
    if (dt) {
        if (dt->type != OX_ATTR_TENSOR)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute default_tensor must be a tensor");
        const ox_tensor_proto *t = dt->t;
        if (t->dtype != s->val_type || ox_shape_count(t->rank, t->dims) != 1 ||
            t->nbytes != ox_dtype_size(t->dtype))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute default_tensor must hold one %s",
                            ox_dtype_name(s->val_type));
        if (t->dtype == ONYX_DTYPE_STRING) s->sdef = *(const ox_string *)t->data;
        else if (is_float_type(t->dtype)) s->ddef = ox_text_get_f(t->data, t->dtype, 0);
        else s->idef = (int64_t)canon_at(t->data, t->dtype, 0);
        return ONYX_OK;
    }
    /* the defaults of the default_* attributes; values_tensor uses the same ones */
    s->idef = ox_attr_int(c, "default_int64", -1);
    s->ddef = ox_attr_float(c, "default_float", -0.0f);
    const ox_attr *ds = ox_attr_get(c, "default_string");
    if (ds && ds->type != OX_ATTR_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute default_string must be a string");
    s->sdef = ds ? (ox_string){(char *)ds->s.data, ds->s.len} : (ox_string){(char *)"_Unused", 7};
    (void)vals;
    return ox_op_status(c);
}

onyx_status ox_text_label_encoder_prepare(ox_op_ctx *c) {
    le_state *s = ox_text_state_new(c, sizeof *s, le_free);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    if (c->opset < 2) return le_prepare_v1(c, s);
    le_list keys, vals;
    OX_TRY(le_pick(c, "keys", &keys));
    OX_TRY(le_pick(c, "values", &vals));
    if (keys.n != vals.n)
        return ox_error(ONYX_ERR_INVALID_MODEL, "keys has %zu entries but values has %zu", keys.n, vals.n);
    s->key_type = keys.type;
    s->val_type = vals.type;
    s->n = keys.n;
    OX_TRY(le_defaults(c, s, &vals));
    size_t n1 = s->n ? s->n : 1;
    if (keys.type != ONYX_DTYPE_STRING) {
        s->num_keys = ox_malloc_array(n1, sizeof *s->num_keys);
        if (!s->num_keys) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (vals.type == ONYX_DTYPE_STRING) s->sval = ox_malloc_array(n1, sizeof *s->sval);
    else if (is_float_type(vals.type)) s->dval = ox_malloc_array(n1, sizeof *s->dval);
    else s->ival = ox_malloc_array(n1, sizeof *s->ival);
    if (!s->sval && !s->dval && !s->ival) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < s->n; i++) {
        int ok;
        if (keys.type == ONYX_DTYPE_STRING) {
            ox_string k = list_str(&keys, i);
            ok = ox_bmap_put(&s->map, k.data, k.len, (int64_t)i);
        } else {
            s->num_keys[i] = canon_at(keys.data, keys.type, i);
            ok = ox_bmap_put(&s->map, &s->num_keys[i], sizeof(uint64_t), (int64_t)i);
        }
        if (!ok) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        if (s->sval) s->sval[i] = list_str(&vals, i);
        else if (s->dval) s->dval[i] = ox_text_get_f(vals.data, vals.type, i);
        else s->ival[i] = (int64_t)canon_at(vals.data, vals.type, i);
    }
    return ONYX_OK;
}

onyx_status ox_text_label_encoder_infer(ox_op_ctx *c) {
    const le_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *x = c->in[0];
    int32_t out_type;
    if (s->v1) {
        if (x->dtype != ONYX_DTYPE_STRING && x->dtype != ONYX_DTYPE_INT64)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; expected string or int64",
                            ox_dtype_name(x->dtype));
        out_type = x->dtype == ONYX_DTYPE_STRING ? ONYX_DTYPE_INT64 : ONYX_DTYPE_STRING;
    } else {
        if (x->dtype != s->key_type)
            return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s but the keys are %s",
                            ox_dtype_name(x->dtype), ox_dtype_name(s->key_type));
        out_type = s->val_type;
    }
    ox_set_shape(c->out[0], out_type, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status ox_text_label_encoder_run(ox_op_ctx *c) {
    const le_state *s = c->state;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t n = ox_tensor_count(x);
    for (size_t i = 0; i < n; i++) {
        int64_t idx;
        if (s->v1 && x->dtype == ONYX_DTYPE_INT64) {
            int64_t v = ((const int64_t *)x->data)[i];
            const ox_string *str = v >= 0 && (uint64_t)v < s->n ? &s->sval[v] : &s->sdef;
            OX_TRY(ox_text_set(&((ox_string *)y->data)[i], str->data, str->len));
            continue;
        }
        if (x->dtype == ONYX_DTYPE_STRING) {
            const ox_string *str = &((const ox_string *)x->data)[i];
            idx = ox_bmap_get(&s->map, str->data, str->len);
        } else {
            uint64_t k = canon_at(x->data, x->dtype, i);
            idx = ox_bmap_get(&s->map, &k, sizeof k);
        }
        if (s->v1) {
            ((int64_t *)y->data)[i] = idx >= 0 ? idx : s->idef;
        } else if (s->sval) {
            const ox_string *str = idx >= 0 ? &s->sval[idx] : &s->sdef;
            OX_TRY(ox_text_set(&((ox_string *)y->data)[i], str->data, str->len));
        } else if (s->dval) {
            ox_text_put_f(y->data, y->dtype, i, idx >= 0 ? s->dval[idx] : s->ddef);
        } else {
            ox_tx_store_int(y->data, i, y->dtype, idx >= 0 ? s->ival[idx] : s->idef);
        }
    }
    return ONYX_OK;
}

/* ---- ArrayFeatureExtractor --------------------------------------------------------------------- */

onyx_status ox_text_array_feature_extractor_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "X"));
    OX_TRY(ox_tx_need_input(c, 1, "Y"));
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    int32_t t = x->dtype;
    if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_DOUBLE && t != ONYX_DTYPE_INT64 &&
        t != ONYX_DTYPE_INT32 && t != ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; expected float, double, int64, "
                        "int32 or string", ox_dtype_name(t));
    if (ix->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input Y (indices) must be int64, not %s",
                        ox_dtype_name(ix->dtype));
    if (x->rank < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "input X must have rank >= 1");
    int64_t d[OX_MAX_RANK];
    int32_t r = x->rank == 1 ? 2 : x->rank;
    if (x->rank == 1) d[0] = 1;
    else memcpy(d, x->dims, sizeof(int64_t) * (size_t)(x->rank - 1));
    d[r - 1] = (int64_t)ox_tensor_count(ix);
    ox_set_shape(c->out[0], t, r, d);
    return ONYX_OK;
}

onyx_status ox_text_array_feature_extractor_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0], *ix = c->in[1];
    const int64_t *idx = ix->data;
    size_t k = ox_tensor_count(ix), last = (size_t)x->dims[x->rank - 1];
    size_t rows = last ? ox_tensor_count(x) / last : ox_tx_prod(x->dims, 0, x->rank - 1);
    for (size_t j = 0; j < k; j++)
        if (idx[j] < 0 || (uint64_t)idx[j] >= last)
            return ox_error(ONYX_ERR_RUNTIME, "index %lld in Y is out of range for the last "
                            "dimension of X (%zu)", (long long)idx[j], last);
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < k; j++)
            OX_TRY(ox_tx_copy_one(c->out[0]->data, r * k + j, x->data, r * last + (size_t)idx[j],
                                  x->dtype));
    return ONYX_OK;
}

/* ---- Binarizer ---------------------------------------------------------------------------------- */

typedef struct bin_state {
    ox_text_state base;
    float threshold;
} bin_state;

onyx_status ox_text_binarizer_prepare(ox_op_ctx *c) {
    bin_state *s = ox_text_state_new(c, sizeof *s, NULL);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    s->threshold = ox_attr_float(c, "threshold", 0.0f);
    return ox_op_status(c);
}

onyx_status ox_text_binarizer_infer(ox_op_ctx *c) {
    OX_TRY(ox_tx_need_input(c, 0, "X"));
    const ox_tensor *x = c->in[0];
    int32_t t = x->dtype;
    if (t != ONYX_DTYPE_FLOAT && t != ONYX_DTYPE_DOUBLE && t != ONYX_DTYPE_INT64 && t != ONYX_DTYPE_INT32)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; expected float, double, int64 or int32",
                        ox_dtype_name(t));
    ox_set_shape(c->out[0], t, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status ox_text_binarizer_run(ox_op_ctx *c) {
    const bin_state *s = c->state;
    const ox_tensor *x = c->in[0];
    void *y = c->out[0]->data;
    size_t n = ox_tensor_count(x);
    double th = s->threshold;
    for (size_t i = 0; i < n; i++) {
        switch (x->dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)y)[i] = ((const float *)x->data)[i] > s->threshold ? 1.0f : 0.0f; break;
        case ONYX_DTYPE_DOUBLE: ((double *)y)[i] = ((const double *)x->data)[i] > th ? 1.0 : 0.0; break;
        case ONYX_DTYPE_INT32: ((int32_t *)y)[i] = (double)((const int32_t *)x->data)[i] > th; break;
        default: ((int64_t *)y)[i] = (double)((const int64_t *)x->data)[i] > th; break;
        }
    }
    return ONYX_OK;
}
