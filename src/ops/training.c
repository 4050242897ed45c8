/* ai.onnx.preview.training optimizers: Adagrad, Adam, Momentum (standard and
 * Nesterov). Each takes a learning rate R and an update count T (scalars), then k
 * groups of tensors (X..., G..., then the optimizer's state tensors...), and returns
 * the k new X values followed by the new state tensors. Group i's tensors share one
 * shape and element type (float or double); arithmetic is done in double. */
#include <math.h>
#include <string.h>

#include "ops/text_util.h"
#include "util/alloc.h"

enum { OPT_ADAGRAD, OPT_ADAM, OPT_MOMENTUM };

typedef struct opt_state {
    ox_text_state base;
    int kind;
    size_t per;       /* tensors per optimized value among the inputs (3 or 4) */
    double decay, eps, norm, norm_post, alpha, beta;
    int nesterov;
} opt_state;

static onyx_status opt_new(ox_op_ctx *c, int kind, opt_state **out) {
    opt_state *s = ox_text_state_new(c, sizeof *s, NULL);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    s->kind = kind;
    s->per = kind == OPT_ADAM ? 4 : 3;
    *out = s;
    return ONYX_OK;
}

onyx_status ox_text_adagrad_prepare(ox_op_ctx *c) {
    opt_state *s = NULL;
    OX_TRY(opt_new(c, OPT_ADAGRAD, &s));
    s->decay = ox_attr_float(c, "decay_factor", 0.0f);
    s->eps = ox_attr_float(c, "epsilon", 0.0f);
    s->norm = ox_attr_float(c, "norm_coefficient", 0.0f);
    return ox_op_status(c);
}

onyx_status ox_text_adam_prepare(ox_op_ctx *c) {
    opt_state *s = NULL;
    OX_TRY(opt_new(c, OPT_ADAM, &s));
    s->alpha = ox_attr_float(c, "alpha", 0.9f);
    s->beta = ox_attr_float(c, "beta", 0.999f);
    s->eps = ox_attr_float(c, "epsilon", 0.0f);
    s->norm = ox_attr_float(c, "norm_coefficient", 0.0f);
    s->norm_post = ox_attr_float(c, "norm_coefficient_post", 0.0f);
    return ox_op_status(c);
}

onyx_status ox_text_momentum_prepare(ox_op_ctx *c) {
    opt_state *s = NULL;
    OX_TRY(opt_new(c, OPT_MOMENTUM, &s));
    static const char *const req[] = {"alpha", "beta", "norm_coefficient", "mode"};
    for (size_t i = 0; i < 4; i++)
        if (!ox_attr_get(c, req[i]))
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s is required", req[i]);
    s->alpha = ox_attr_float(c, "alpha", 0.0f);
    s->beta = ox_attr_float(c, "beta", 0.0f);
    s->norm = ox_attr_float(c, "norm_coefficient", 0.0f);
    const char *mode = ox_attr_str(c, "mode", "standard");
    OX_TRY(ox_op_status(c));
    if (!strcmp(mode, "nesterov")) s->nesterov = 1;
    else if (strcmp(mode, "standard"))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute mode is '%s'; expected standard or nesterov",
                        mode);
    return ONYX_OK;
}

static int is_fd(int32_t t) { return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE; }

/* Shared by the three ops: check the inputs, give each output its group's shape. */
static onyx_status opt_infer(ox_op_ctx *c) {
    const opt_state *s = c->state;
    if (c->n_in < 2 + s->per || (c->n_in - 2) % s->per)
        return ox_error(ONYX_ERR_INVALID_MODEL, "%zu inputs; expected R, T and %zu tensors per "
                        "optimized value", c->n_in, s->per);
    size_t k = (c->n_in - 2) / s->per, n_state = s->per - 2;
    if (c->n_out > k * (1 + n_state))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%zu outputs; at most %zu expected", c->n_out,
                        k * (1 + n_state));
    for (size_t i = 0; i < c->n_in; i++)
        if (!ox_has_input(c, i)) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is missing", i);
    const ox_tensor *r = c->in[0], *t = c->in[1];
    if (!is_fd(r->dtype) || ox_tensor_count(r) != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input R must be a float or double scalar");
    if (t->dtype != ONYX_DTYPE_INT64 || ox_tensor_count(t) != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input T must be an int64 scalar");
    for (size_t g = 0; g < k; g++) {
        const ox_tensor *x = c->in[2 + g];
        if (!is_fd(x->dtype))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is %s; expected float or double", 2 + g,
                            ox_dtype_name(x->dtype));
        for (size_t j = 1; j < s->per; j++)
            if (!ox_tensor_same_shape(c->in[2 + j * k + g], x))
                return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu must have the type and shape of "
                                "input %zu", 2 + j * k + g, 2 + g);
    }
    for (size_t o = 0; o < c->n_out; o++)
        if (ox_has_output(c, o)) {
            const ox_tensor *src = c->in[2 + o % k];
            ox_set_shape(c->out[o], src->dtype, src->rank, src->dims);
        }
    return ONYX_OK;
}

onyx_status ox_text_adagrad_infer(ox_op_ctx *c) { return opt_infer(c); }
onyx_status ox_text_adam_infer(ox_op_ctx *c) { return opt_infer(c); }
onyx_status ox_text_momentum_infer(ox_op_ctx *c) { return opt_infer(c); }

static double get(const ox_tensor *t, size_t i) { return ox_text_get_f(t->data, t->dtype, i); }

static void put(ox_op_ctx *c, size_t o, size_t i, double v) {
    if (ox_has_output(c, o)) ox_text_put_f(c->out[o]->data, c->out[o]->dtype, i, v);
}

static onyx_status opt_run(ox_op_ctx *c) {
    const opt_state *s = c->state;
    size_t k = (c->n_in - 2) / s->per;
    double r = get(c->in[0], 0);
    int64_t t = ((const int64_t *)c->in[1]->data)[0];
    for (size_t g = 0; g < k; g++) {
        const ox_tensor *X = c->in[2 + g], *G = c->in[2 + k + g], *S1 = c->in[2 + 2 * k + g];
        const ox_tensor *S2 = s->kind == OPT_ADAM ? c->in[2 + 3 * k + g] : NULL;
        size_t n = ox_tensor_count(X);
        for (size_t i = 0; i < n; i++) {
            double x = get(X, i), gr = s->norm * x + get(G, i);
            if (s->kind == OPT_ADAGRAD) {
                double rate = r / (1 + (double)t * s->decay);
                double h = get(S1, i) + gr * gr;
                put(c, g, i, x - rate * gr / (sqrt(h) + s->eps));
                put(c, k + g, i, h);
            } else if (s->kind == OPT_MOMENTUM) {
                double beta = t > 0 ? s->beta : 1;
                double v = s->alpha * get(S1, i) + beta * gr;
                put(c, g, i, s->nesterov ? x - r * (gr + s->alpha * v) : x - r * v);
                put(c, k + g, i, v);
            } else {
                double v = s->alpha * get(S1, i) + (1 - s->alpha) * gr;
                double h = s->beta * get(S2, i) + (1 - s->beta) * gr * gr;
                double rate = r;
                if (t > 0) /* bias correction */
                    rate = r * sqrt(1 - pow(s->beta, (double)t)) / (1 - pow(s->alpha, (double)t));
                double xn = x - rate * v / (sqrt(h) + s->eps);
                put(c, g, i, (1 - s->norm_post) * xn);
                put(c, k + g, i, v);
                put(c, 2 * k + g, i, h);
            }
        }
    }
    return ONYX_OK;
}

onyx_status ox_text_adagrad_run(ox_op_ctx *c) { return opt_run(c); }
onyx_status ox_text_adam_run(ox_op_ctx *c) { return opt_run(c); }
onyx_status ox_text_momentum_run(ox_op_ctx *c) { return opt_run(c); }
