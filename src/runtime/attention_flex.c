/* FlexAttention (ai.onnx.preview, version 1): attention on 4-D inputs whose
 * scores and probabilities may be rewritten by user subgraphs (score_mod after
 * Q*K^T, prob_mod after the softmax). The subgraphs see the whole
 * (batch, q_heads, q_len, kv_len) tensor in the softmax precision; they run as
 * subgraph sessions of the session that runs the node, as control-flow bodies do.
 * This is a preview op: it computes in double throughout, for clarity over speed. */
#include <math.h>
#include <string.h>

#include "ir/graph.h"
#include "kernels/gemm.h"
#include "ops/rnn.h"
#include "runtime/session.h"
#include "util/alloc.h"
#include "util/fp16.h"

typedef struct flex_body {
    onyx_session *s;   /* NULL when the attribute is absent */
    size_t *cap_from;  /* per capture of the body: index among the node's implicit inputs */
} flex_body;

typedef struct flex_state {
    int has_scale;
    float scale;
    int32_t prec; /* the softmax precision; 0: float32, or double for double inputs */
    flex_body mods[2]; /* score_mod, prob_mod */
} flex_state;

void ox_flex_destroy(void *p) {
    flex_state *st = p;
    if (!st) return;
    for (int i = 0; i < 2; i++) {
        onyx_session_free(st->mods[i].s);
        ox_free(st->mods[i].cap_from);
    }
    ox_free(st);
}

static onyx_status body_prepare(ox_op_ctx *c, const char *name, flex_body *b) {
    const ox_attr *a = ox_node_attr(c->node, name);
    if (!a) return ONYX_OK;
    if (a->type != OX_ATTR_GRAPH || !a->g)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' must be a graph", name);
    if (!c->engine)
        return ox_error(ONYX_ERR_UNSUPPORTED, "attribute '%s' needs a session to run", name);
    OX_TRY(ox_session_create_sub(c->engine, a->g, &b->s));
    const ox_rgraph *g = b->s->graph;
    if (g->n_formal_inputs != 1 || g->n_outputs != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "subgraph '%s' must have one input and one "
                        "output", name);
    const char **caps = NULL;
    size_t n_caps = 0;
    OX_TRY(ox_node_captures(c->node, &caps, &n_caps));
    onyx_status st = ONYX_OK;
    b->cap_from = ox_malloc_array(b->s->n_captures + 1, sizeof *b->cap_from);
    if (!b->cap_from) st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; st == ONYX_OK && k < b->s->n_captures; k++) {
        size_t j = 0;
        while (j < n_caps && strcmp(caps[j], b->s->captures[k])) j++;
        if (j == n_caps)
            st = ox_error(ONYX_ERR_INVALID_MODEL, "'%s' reads '%s', which the node does not "
                          "capture", name, b->s->captures[k]);
        b->cap_from[k] = j;
    }
    ox_free(caps);
    return st;
}

onyx_status ox_flex_prepare(ox_op_ctx *c) {
    flex_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->has_scale = ox_attr_get(c, "scale") != NULL;
    st->scale = ox_attr_float(c, "scale", 1.0f);
    int64_t prec = ox_attr_int(c, "softmax_precision", 0);
    OX_TRY(ox_op_status(c));
    if (prec != 0 && prec != ONYX_DTYPE_FLOAT && prec != ONYX_DTYPE_FLOAT16 &&
        prec != ONYX_DTYPE_DOUBLE && prec != ONYX_DTYPE_BFLOAT16)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'softmax_precision' is %lld; "
                        "expected 1, 10, 11 or 16", (long long)prec);
    st->prec = (int32_t)prec;
    OX_TRY(body_prepare(c, "score_mod", &st->mods[0]));
    return body_prepare(c, "prob_mod", &st->mods[1]);
}

static int is_float_type(int32_t t) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           t == ONYX_DTYPE_BFLOAT16;
}

onyx_status ox_flex_infer(ox_op_ctx *c) {
    const ox_node *n = c->node;
    if (n->n_inputs < 3 || !ox_has_input(c, 0) || !ox_has_input(c, 1) || !ox_has_input(c, 2))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs Q, K and V are required");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output Y is required");
    const ox_tensor *Q = c->in[0], *K = c->in[1], *V = c->in[2];
    if (!is_float_type(Q->dtype) || K->dtype != Q->dtype || V->dtype != Q->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Q, K and V must have one float type");
    if (Q->rank != 4 || K->rank != 4 || V->rank != 4)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Q, K and V must be rank 4");
    if (K->dims[0] != Q->dims[0] || V->dims[0] != Q->dims[0] || V->dims[1] != K->dims[1] ||
        V->dims[2] != K->dims[2] || K->dims[3] != Q->dims[3])
        return ox_error(ONYX_ERR_INVALID_MODEL, "Q (B, Hq, L, E), K (B, Hkv, S, E) and V (B, "
                        "Hkv, S, Ev) do not agree");
    if (K->dims[1] <= 0 ? Q->dims[1] != 0 : Q->dims[1] % K->dims[1] != 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "q heads (%lld) are not a multiple of kv heads "
                        "(%lld)", (long long)Q->dims[1], (long long)K->dims[1]);
    ox_set_shape(c->out[0], V->dtype, 4, (int64_t[]){Q->dims[0], Q->dims[1], Q->dims[2],
                                                      V->dims[3]});
    return ONYX_OK;
}

/* A double copy of a float tensor's elements. */
static double *load_double(const ox_tensor *t) {
    size_t n = ox_tensor_count(t);
    double *d = ox_malloc_array(n ? n : 1, sizeof(double));
    if (d)
        for (size_t i = 0; i < n; i++) d[i] = ox_tensor_get_double(t, i);
    return d;
}

static void store_double(ox_tensor *t, const double *v, size_t n) {
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT:
        for (size_t i = 0; i < n; i++) ((float *)t->data)[i] = (float)v[i];
        break;
    case ONYX_DTYPE_DOUBLE: memcpy(t->data, v, n * sizeof(double)); break;
    case ONYX_DTYPE_FLOAT16:
        for (size_t i = 0; i < n; i++) ((uint16_t *)t->data)[i] = ox_f64_to_f16(v[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++) ((uint16_t *)t->data)[i] = ox_f64_to_bf16(v[i]);
        break;
    }
}

/* Run modifier b on x (shape dims, element type prec) and read its result back. */
static onyx_status run_mod(ox_op_ctx *c, const flex_body *b, const char *name, int32_t prec,
                           const int64_t *dims, double *x) {
    const ox_rgraph *g = b->s->graph;
    size_t n = ox_shape_count(4, dims);
    ox_tensor *in = ox_calloc(g->n_inputs + 1, sizeof *in);
    if (!in) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_set_shape(&in[0], prec, 4, dims);
    onyx_status st = ox_tensor_alloc_data(&in[0]);
    if (st == ONYX_OK) {
        store_double(&in[0], x, n);
        for (size_t k = 0; k < b->s->n_captures; k++)
            in[1 + k] = *c->in[c->node->n_inputs + b->cap_from[k]];
        ox_tensor out = {0};
        st = ox_session_run_values(b->s, in, g->outputs, 1, &out);
        if (st == ONYX_OK) {
            int ok = is_float_type(out.dtype) && out.rank == 4;
            for (int i = 0; ok && i < 4; i++) ok = out.dims[i] == dims[i];
            if (!ok)
                st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "subgraph '%s' must return a float "
                              "tensor of its input's shape", name);
            else
                for (size_t i = 0; i < n; i++) x[i] = ox_tensor_get_double(&out, i);
        }
        ox_tensor_free_data(&out);
    }
    ox_tensor_free_data(&in[0]);
    ox_free(in);
    return st;
}

onyx_status ox_flex_run(ox_op_ctx *c) {
    const flex_state *st = c->state;
    const ox_tensor *Qt = c->in[0], *Kt = c->in[1], *Vt = c->in[2];
    const size_t B = (size_t)Qt->dims[0], Hq = (size_t)Qt->dims[1], L = (size_t)Qt->dims[2],
                 E = (size_t)Qt->dims[3], Hkv = (size_t)Kt->dims[1], S = (size_t)Kt->dims[2],
                 Ev = (size_t)Vt->dims[3];
    int32_t prec = st->prec ? st->prec
                            : (Qt->dtype == ONYX_DTYPE_DOUBLE ? ONYX_DTYPE_DOUBLE
                                                              : ONYX_DTYPE_FLOAT);
    const double scale = st->has_scale ? st->scale : (E ? 1.0 / sqrt((double)E) : 1.0);
    int64_t sdims[4] = {(int64_t)B, (int64_t)Hq, (int64_t)L, (int64_t)S};
    size_t n_s, n_y = ox_tensor_count(c->out[0]);
    if (!ox_shape_count_checked(4, sdims, ONYX_DTYPE_DOUBLE, &n_s, &(size_t){0}))
        return ox_error(ONYX_ERR_LIMIT, "score tensor too large");
    double *Q = load_double(Qt), *K = load_double(Kt), *V = load_double(Vt);
    double *P = ox_malloc_array(n_s ? n_s : 1, sizeof(double));
    double *Y = ox_malloc_array(n_y ? n_y : 1, sizeof(double));
    onyx_status s = ONYX_OK;
    if (!Q || !K || !V || !P || !Y) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    size_t group = Hkv ? Hq / Hkv : 1;
    for (size_t p = 0; s == ONYX_OK && p < B * Hq; p++) {
        size_t b = p / Hq, hk = (p % Hq) / group;
        ox_dgemm(0, 1, L, S, E, scale, Q + p * L * E, E, K + (b * Hkv + hk) * S * E, E, 0,
                 P + p * L * S, S, NULL);
    }
    if (s == ONYX_OK && st->mods[0].s) s = run_mod(c, &st->mods[0], "score_mod", prec, sdims, P);
    for (size_t r = 0; s == ONYX_OK && S && r < B * Hq * L; r++) {
        double *row = P + r * S, mx = row[0], sum = 0;
        for (size_t j = 1; j < S; j++) mx = row[j] > mx ? row[j] : mx;
        for (size_t j = 0; j < S; j++) sum += (row[j] = exp(row[j] - mx));
        for (size_t j = 0; j < S; j++) row[j] /= sum;
    }
    if (s == ONYX_OK && st->mods[1].s) s = run_mod(c, &st->mods[1], "prob_mod", prec, sdims, P);
    for (size_t p = 0; s == ONYX_OK && p < B * Hq; p++) {
        size_t b = p / Hq, hk = (p % Hq) / group;
        ox_dgemm(0, 0, L, Ev, S, 1, P + p * L * S, S, V + (b * Hkv + hk) * S * Ev, Ev, 0,
                 Y + p * L * Ev, Ev, NULL);
    }
    if (s == ONYX_OK) store_double(c->out[0], Y, n_y);
    ox_free(Q);
    ox_free(K);
    ox_free(V);
    ox_free(P);
    ox_free(Y);
    return s;
}
