/* Control flow: If, Loop, Scan and SequenceMap.
 *
 * Each body (GraphProto attribute) becomes a subgraph session when the node is
 * prepared (ox_session_create_sub): it is checked and planned like any graph, and
 * its plans are cached per input-shape signature, so a loop whose shapes are stable
 * plans once. A body reads enclosing values through captures: the engine passes
 * them to the node as implicit inputs after its own (ir/graph.h), and each body
 * takes the subset it needs, by name.
 *
 * These ops live in runtime/ because running a body needs the session machinery;
 * the registry refers to their table like any other family's.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "runtime/session.h"
#include "util/alloc.h"

/* Loops stop with ONYX_ERR_LIMIT after this many iterations, unless the session
 * options say otherwise. */
#define OX_MAX_LOOP_ITERATIONS 100000000LL

typedef struct body {
    onyx_session *s;
    size_t n_formal;  /* the body's own inputs */
    size_t n_outputs;
    size_t *cap_from; /* per body capture: index among the node's implicit inputs */
} body;

typedef struct cf_state {
    body bodies[2];   /* If: then, else; others: bodies[0] */
    size_t n_bodies;
    int64_t max_iterations; /* Loop */
    /* Scan */
    int64_t num_scan_inputs;
    int64_t *in_axes, *in_dirs, *out_axes, *out_dirs;
} cf_state;

static void cf_destroy(void *p) {
    cf_state *st = p;
    if (!st) return;
    for (size_t i = 0; i < st->n_bodies; i++) {
        onyx_session_free(st->bodies[i].s);
        ox_free(st->bodies[i].cap_from);
    }
    ox_free(st->in_axes);
    ox_free(st->in_dirs);
    ox_free(st->out_axes);
    ox_free(st->out_dirs);
    ox_free(st);
}

/* Compile the graph attribute `name` of the node into b. */
static onyx_status body_prepare(ox_op_ctx *c, const char *name, body *b) {
    const ox_attr *a = ox_node_attr(c->node, name);
    if (!a || a->type != OX_ATTR_GRAPH || !a->g)
        return ox_error(ONYX_ERR_INVALID_MODEL, "the graph attribute '%s' is missing", name);
    const onyx_session *parent = c->engine;
    OX_TRY(ox_session_create_sub(parent, a->g, &b->s));
    const ox_rgraph *g = b->s->graph;
    b->n_formal = g->n_formal_inputs;
    b->n_outputs = g->n_outputs;
    const char **caps = NULL;
    size_t n_caps = 0;
    onyx_status st = ox_node_captures(c->node, &caps, &n_caps);
    if (st) return st;
    b->cap_from = ox_malloc_array(b->s->n_captures + 1, sizeof *b->cap_from);
    if (!b->cap_from) st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; st == ONYX_OK && k < b->s->n_captures; k++) {
        size_t j = 0;
        while (j < n_caps && strcmp(caps[j], b->s->captures[k])) j++;
        if (j == n_caps) /* cannot happen: the node's captures include every body's */
            st = ox_error(ONYX_ERR_INVALID_MODEL, "'%s': body value '%s' is not captured", name,
                          b->s->captures[k]);
        b->cap_from[k] = j;
    }
    ox_free(caps);
    return st;
}

/* Run body b: formal inputs, then its captures taken from the node's implicit
 * inputs. results: b->n_outputs new values the caller owns. */
static onyx_status body_run(ox_op_ctx *c, const body *b, const ox_tensor *formal, ox_tensor *results) {
    const ox_rgraph *g = b->s->graph;
    ox_tensor *in = ox_malloc_array(g->n_inputs + 1, sizeof *in);
    if (!in) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < b->n_formal; i++) in[i] = formal[i];
    for (size_t k = 0; k < b->s->n_captures; k++) {
        const ox_tensor *t = c->in[c->node->n_inputs + b->cap_from[k]];
        in[b->n_formal + k] = *t;
    }
    onyx_status st = ox_session_run_values(b->s, in, g->outputs, g->n_outputs, results);
    ox_free(in);
    return st;
}

/* Hand a value the op owns to output i (or free it when the output is omitted). */
static void give_output(ox_op_ctx *c, size_t i, ox_tensor *v) {
    if (i < c->n_out && c->out[i])
        *c->out[i] = *v;
    else
        ox_tensor_free_data(v);
    v->data = NULL;
}

static onyx_status read_scalar_bool(const ox_tensor *t, const char *what, int *out) {
    if (t->dtype == OX_DTYPE_SEQUENCE || t->dtype == OX_DTYPE_NONE || ox_tensor_count(t) != 1 ||
        t->dtype == ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "%s must hold one boolean value", what);
    *out = ox_tensor_get_double(t, 0) != 0;
    return ONYX_OK;
}

static onyx_status need_value(ox_op_ctx *c) {
    (void)c;
    return OX_NEED_VALUE; /* outputs are known only once the body has run */
}

/* The node's state with its bodies compiled: the graph attributes named. */
static onyx_status cf_begin(ox_op_ctx *c, const char *body0, const char *body1, cf_state **out) {
    cf_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st; /* freed by cf_destroy, also when a body fails to compile */
    *out = st;
    st->n_bodies = body1 ? 2 : 1;
    OX_TRY(body_prepare(c, body0, &st->bodies[0]));
    if (body1) OX_TRY(body_prepare(c, body1, &st->bodies[1]));
    return ONYX_OK;
}

/* ---- If -------------------------------------------------------------------- */

static onyx_status if_prepare(ox_op_ctx *c) {
    cf_state *st = NULL;
    OX_TRY(cf_begin(c, "then_branch", "else_branch", &st));
    for (int b = 0; b < 2; b++)
        if (st->bodies[b].n_outputs != c->node->n_outputs)
            return ox_error(ONYX_ERR_INVALID_MODEL, "%s has %zu outputs, the node %zu",
                            b ? "else_branch" : "then_branch", st->bodies[b].n_outputs,
                            c->node->n_outputs);
    return ONYX_OK;
}

static onyx_status if_run(ox_op_ctx *c) {
    cf_state *st = c->state;
    int cond;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "the condition input is missing");
    OX_TRY(read_scalar_bool(c->in[0], "the condition", &cond));
    const body *b = &st->bodies[cond ? 0 : 1];
    ox_tensor *res = ox_calloc(b->n_outputs + 1, sizeof *res);
    if (!res) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    onyx_status s = body_run(c, b, NULL, res);
    if (s == ONYX_OK)
        for (size_t i = 0; i < b->n_outputs; i++) give_output(c, i, &res[i]);
    else
        s = ox_error_prefix(s, "in %s: ", cond ? "then_branch" : "else_branch");
    ox_free(res);
    return s;
}

/* ---- iterations ------------------------------------------------------------
 * A loop runs its body once per iteration. To allocate nothing per iteration, the
 * values carried to the next iteration are not copied: they are views into the
 * memory of the run that made them, held until the following run is done (two
 * holds in turn). A body output that is one of its inputs passed through is copied,
 * since its memory belongs to an earlier run. */

typedef struct iter_state {
    ox_run_hold hold[2];
    int cur;              /* the hold the next run uses */
    ox_tensor *vals;      /* n carried values */
    unsigned char *owned; /* vals[j] is a copy we own, not a view */
    size_t n;
    ox_tensor *in;        /* the body's inputs for one run (formal, then captures) */
} iter_state;

static onyx_status iter_init(iter_state *it, const body *b, size_t n, ox_tensor *const *initial) {
    memset(it, 0, sizeof *it);
    it->vals = ox_calloc(n + 1, sizeof *it->vals);
    it->owned = ox_calloc(n + 1, 1);
    it->in = ox_calloc(b->s->graph->n_inputs + 1, sizeof *it->in);
    if (!it->vals || !it->owned || !it->in) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    it->n = n;
    for (size_t j = 0; j < n; j++) it->vals[j] = *initial[j];
    return ONYX_OK;
}

static void iter_free(iter_state *it) {
    for (size_t j = 0; it->owned && j < it->n; j++)
        if (it->owned[j]) ox_tensor_free_data(&it->vals[j]);
    ox_run_release(&it->hold[0]);
    ox_run_release(&it->hold[1]);
    ox_free(it->vals);
    ox_free(it->owned);
    ox_free(it->in);
    memset(it, 0, sizeof *it);
}

/* One run of body b: formal[fo..fo+n) get the carried values, the rest of formal is
 * the caller's; res receives views of every output (valid until the next iter_run);
 * the carried values become res[ro..ro+n). */
static onyx_status iter_run(ox_op_ctx *c, const body *b, iter_state *it, ox_tensor *formal, size_t fo,
                            ox_tensor *res, size_t ro, unsigned char *is_in) {
    const ox_rgraph *g = b->s->graph;
    ox_tensor *in = it->in;
    for (size_t j = 0; j < it->n; j++) formal[fo + j] = it->vals[j];
    for (size_t i = 0; i < b->n_formal; i++) in[i] = formal[i];
    for (size_t k = 0; k < b->s->n_captures; k++) in[b->n_formal + k] = *c->in[c->node->n_inputs + b->cap_from[k]];
    ox_run_hold *h = &it->hold[it->cur];
    onyx_status st = ox_session_run_hold(b->s, in, g->outputs, g->n_outputs, res, is_in, h);
    if (st) return st;
    /* passed-through inputs live in an earlier run's memory: copy them first */
    for (size_t j = 0; j < it->n && st == ONYX_OK; j++) {
        if (!is_in[ro + j]) continue;
        ox_tensor copy;
        st = ox_value_copy(&res[ro + j], &copy);
        if (st) return ox_error(st, "out of memory");
        res[ro + j] = copy;
    }
    for (size_t j = 0; j < it->n; j++) {
        if (it->owned[j]) ox_tensor_free_data(&it->vals[j]);
        it->vals[j] = res[ro + j];
        it->owned[j] = is_in[ro + j];
    }
    ox_run_release(&it->hold[it->cur ^ 1]);
    it->cur ^= 1;
    return ONYX_OK;
}

/* Hand the final carried values to outputs out0.. (copies of views). */
static onyx_status iter_finish(ox_op_ctx *c, iter_state *it, size_t out0) {
    for (size_t j = 0; j < it->n; j++) {
        ox_tensor v;
        if (it->owned[j]) {
            v = it->vals[j];
            it->owned[j] = 0;
        } else if (ox_value_copy(&it->vals[j], &v) != ONYX_OK) {
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
        give_output(c, out0 + j, &v);
    }
    return ONYX_OK;
}

/* Per-iteration outputs stacked in one growing buffer (doubling: a few
 * allocations per loop, not one per iteration). Items must all have one shape. */
typedef struct gstack {
    ox_tensor item; /* dtype and shape of the first item */
    unsigned char *buf;
    size_t n, item_bytes, cap;
} gstack;

static onyx_status gstack_push(gstack *k, const ox_tensor *v) {
    char a[200], b[200];
    if (v->dtype == ONYX_DTYPE_STRING || v->dtype == OX_DTYPE_SEQUENCE || v->dtype == OX_DTYPE_NONE)
        return ox_error(ONYX_ERR_UNSUPPORTED, "scan outputs of type %s are not supported", ox_dtype_name(v->dtype));
    if (k->n == 0) {
        k->item = *v;
        k->item.data = NULL;
        k->item_bytes = ox_tensor_nbytes(v);
    } else if (!ox_tensor_same_shape(v, &k->item)) {
        return ox_error(ONYX_ERR_RUNTIME, "iteration %zu gives a scan output %s, iteration 0 gave %s", k->n,
                        ox_tensor_describe(v, a, sizeof a), ox_tensor_describe(&k->item, b, sizeof b));
    }
    size_t need;
    if (!ox_mul_ok(k->n + 1, k->item_bytes, &need)) return ox_error(ONYX_ERR_LIMIT, "scan output too large");
    if (need > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : need * 4;
        if (cap < need) cap = need;
        unsigned char *nb = ox_malloc_aligned(cap);
        if (!nb) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for scan outputs");
        if (k->n) memcpy(nb, k->buf, k->n * k->item_bytes);
        ox_free_aligned(k->buf);
        k->buf = nb;
        k->cap = cap;
    }
    if (k->item_bytes) memcpy(k->buf + k->n * k->item_bytes, v->data, k->item_bytes);
    k->n++;
    return ONYX_OK;
}

static void gstack_free(gstack *k) {
    ox_free_aligned(k->buf);
    memset(k, 0, sizeof *k);
}

/* The stacked tensor, with the new axis at `axis` (0..rank of an item); item t goes
 * to position reverse ? n-1-t : t. Zero items give float32[0]. */
static onyx_status gstack_finish(gstack *k, int64_t axis, int reverse, ox_tensor *out) {
    memset(out, 0, sizeof *out);
    if (!k->n) {
        out->dtype = ONYX_DTYPE_FLOAT;
        out->rank = 1;
        return ox_tensor_alloc_data(out);
    }
    const ox_tensor *first = &k->item;
    if (first->rank + 1 > OX_MAX_RANK) return ox_error(ONYX_ERR_LIMIT, "a scan output has too many dims");
    if (axis < 0) axis += first->rank + 1;
    if (axis < 0 || axis > first->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "scan output axis is out of range for rank %d", first->rank + 1);
    out->dtype = first->dtype;
    out->rank = first->rank + 1;
    for (int32_t d = 0, s = 0; d < out->rank; d++) out->dims[d] = d == axis ? (int64_t)k->n : first->dims[s++];
    if (axis == 0 && !reverse) { /* already in order: hand the buffer over */
        out->data = k->buf;
        k->buf = NULL;
        return ONYX_OK;
    }
    OX_TRY(ox_tensor_alloc_data(out));
    size_t es = ox_dtype_size(first->dtype), outer = 1, inner = 1;
    for (int32_t d = 0; d < axis; d++) outer *= (size_t)first->dims[d];
    for (int32_t d = (int32_t)axis; d < first->rank; d++) inner *= (size_t)first->dims[d];
    for (size_t t = 0; t < k->n; t++) {
        size_t pos = reverse ? k->n - 1 - t : t;
        const unsigned char *src = k->buf + t * k->item_bytes;
        unsigned char *dst = out->data;
        for (size_t o = 0; o < outer && inner; o++)
            memcpy(dst + ((o * k->n + pos) * inner) * es, src + o * inner * es, inner * es);
    }
    return ONYX_OK;
}

/* ---- Loop ------------------------------------------------------------------ */

static onyx_status loop_prepare(ox_op_ctx *c) {
    cf_state *st = NULL;
    OX_TRY(cf_begin(c, "body", NULL, &st));
    const body *b = &st->bodies[0];
    const onyx_session *parent = c->engine;
    st->max_iterations = parent->opts.max_loop_iterations > 0 ? parent->opts.max_loop_iterations
                                                               : OX_MAX_LOOP_ITERATIONS;
    if (c->node->n_inputs < 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "Loop needs the inputs M and cond (either may be \"\")");
    size_t n_carried = c->node->n_inputs - 2;
    if (b->n_formal != 2 + n_carried)
        return ox_error(ONYX_ERR_INVALID_MODEL, "the body has %zu inputs, expected 2 + %zu loop-carried", b->n_formal,
                        n_carried);
    if (b->n_outputs < 1 + n_carried || c->node->n_outputs != b->n_outputs - 1)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "the body has %zu outputs and the node %zu: expected 1 + %zu carried + scan outputs, and "
                        "the node one fewer",
                        b->n_outputs, c->node->n_outputs, n_carried);
    return ONYX_OK;
}

static onyx_status loop_run(ox_op_ctx *c) {
    const cf_state *cs = c->state;
    const body *b = &cs->bodies[0];
    size_t n_carried = c->node->n_inputs - 2, n_scan = b->n_outputs - 1 - n_carried;
    int64_t max_trips = INT64_MAX; /* no M and no cond: runs until the iteration limit */
    int cond = 1, cond_given = ox_has_input(c, 1);
    if (ox_has_input(c, 0)) {
        const ox_tensor *m = c->in[0];
        if (ox_tensor_count(m) != 1 || !ox_dtype_is_int(m->dtype))
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the trip count M must be one integer");
        max_trips = ox_tensor_get_int(m, 0);
    }
    if (cond_given) OX_TRY(read_scalar_bool(c->in[1], "the condition", &cond));
    for (size_t j = 0; j < n_carried; j++)
        if (!ox_has_input(c, 2 + j)) return ox_error(ONYX_ERR_INVALID_MODEL, "loop-carried input %zu is missing", j);
    iter_state it;
    onyx_status s = iter_init(&it, b, n_carried, c->in + 2);
    ox_tensor *formal = ox_calloc(b->n_formal + 1, sizeof *formal);
    ox_tensor *res = ox_calloc(b->n_outputs + 1, sizeof *res);
    unsigned char *is_in = ox_calloc(b->n_outputs + 1, 1);
    gstack *scans = ox_calloc(n_scan + 1, sizeof *scans);
    if (s == ONYX_OK && (!formal || !res || !is_in || !scans)) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t iter = 0;
    uint8_t cond_byte = 1;
    if (s == ONYX_OK) {
        formal[0] = (ox_tensor){.dtype = ONYX_DTYPE_INT64, .rank = 0, .data = &iter};
        formal[1] = (ox_tensor){.dtype = ONYX_DTYPE_BOOL, .rank = 0, .data = &cond_byte};
    }
    for (iter = 0; s == ONYX_OK && iter < max_trips && cond; iter++) {
        if (iter >= cs->max_iterations) {
            s = ox_error(ONYX_ERR_LIMIT, "the loop ran %lld iterations, the limit (see max_loop_iterations)",
                         (long long)iter);
            break;
        }
        cond_byte = (uint8_t)cond;
        if ((s = iter_run(c, b, &it, formal, 2, res, 1, is_in))) {
            s = ox_error_prefix(s, "in the body, iteration %lld: ", (long long)iter);
            break;
        }
        int next = 1;
        s = read_scalar_bool(&res[0], "the body's condition output", &next);
        for (size_t k = 0; k < n_scan && s == ONYX_OK; k++) s = gstack_push(&scans[k], &res[1 + n_carried + k]);
        if (cond_given) cond = next;
    }
    if (s == ONYX_OK) s = iter_finish(c, &it, 0);
    for (size_t k = 0; k < n_scan && s == ONYX_OK; k++) {
        ox_tensor v;
        if ((s = gstack_finish(&scans[k], 0, 0, &v)) == ONYX_OK) give_output(c, n_carried + k, &v);
    }
    for (size_t k = 0; scans && k < n_scan; k++) gstack_free(&scans[k]);
    iter_free(&it);
    ox_free(formal);
    ox_free(res);
    ox_free(is_in);
    ox_free(scans);
    return s;
}

/* ---- Scan ------------------------------------------------------------------ */

static onyx_status read_axes(ox_op_ctx *c, const char *name, size_t count, int64_t **out) {
    size_t n;
    const int64_t *v = ox_attr_ints(c, name, &n);
    if (v && n != count)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' has %zu values, expected %zu", name, n, count);
    *out = ox_calloc(count + 1, sizeof **out);
    if (!*out) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; v && i < count; i++) (*out)[i] = v[i];
    return ONYX_OK;
}

static onyx_status scan_prepare(ox_op_ctx *c) {
    cf_state *st = NULL;
    OX_TRY(cf_begin(c, "body", NULL, &st));
    const body *b = &st->bodies[0];
    st->num_scan_inputs = ox_attr_int(c, "num_scan_inputs", -1);
    OX_TRY(ox_op_status(c));
    size_t first = c->opset < 9 ? 1 : 0; /* opset 8: sequence_lens comes first */
    if (st->num_scan_inputs < 1 || (size_t)st->num_scan_inputs > c->node->n_inputs - first)
        return ox_error(ONYX_ERR_INVALID_MODEL, "num_scan_inputs must be in [1, %zu]", c->node->n_inputs - first);
    size_t m = (size_t)st->num_scan_inputs, n_state = c->node->n_inputs - first - m;
    if (b->n_formal != n_state + m || b->n_outputs < n_state || b->n_outputs != c->node->n_outputs)
        return ox_error(ONYX_ERR_INVALID_MODEL, "the body's inputs/outputs (%zu/%zu) do not match %zu states, %zu scan "
                        "inputs and the node's %zu outputs", b->n_formal, b->n_outputs, n_state, m, c->node->n_outputs);
    size_t k = b->n_outputs - n_state;
    const char *dir_name = c->opset < 9 ? "directions" : "scan_input_directions";
    OX_TRY(read_axes(c, dir_name, m, &st->in_dirs));
    OX_TRY(read_axes(c, "scan_input_axes", m, &st->in_axes));
    OX_TRY(read_axes(c, "scan_output_axes", k, &st->out_axes));
    OX_TRY(read_axes(c, "scan_output_directions", k, &st->out_dirs));
    return ox_op_status(c);
}

/* Copy the slice of t at index i along axis into out (allocated for it already). */
static void copy_slice(const ox_tensor *t, int32_t axis, int64_t i, ox_tensor *out) {
    size_t es = ox_dtype_size(t->dtype), outer = 1, inner = 1, len = (size_t)t->dims[axis];
    for (int32_t d = 0; d < axis; d++) outer *= (size_t)t->dims[d];
    for (int32_t d = axis + 1; d < t->rank; d++) inner *= (size_t)t->dims[d];
    for (size_t o = 0; o < outer && inner; o++)
        memcpy((unsigned char *)out->data + o * inner * es,
               (const unsigned char *)t->data + ((o * len + (size_t)i) * inner) * es, inner * es);
}

/* A tensor shaped like t without axis, with its own (reused) memory. */
static onyx_status alloc_slice(const ox_tensor *t, int32_t axis, ox_tensor *out) {
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->rank = t->rank - 1;
    for (int32_t d = 0, s = 0; d < t->rank; d++)
        if (d != axis) out->dims[s++] = t->dims[d];
    return ox_tensor_alloc_data(out);
}

/* One scan over states[n_state] and scan inputs xs[m]; outputs into outs[n_state + k]
 * (owned by the caller on success). */
static onyx_status scan_once(ox_op_ctx *c, const cf_state *st, ox_tensor *const *states, const ox_tensor *xs,
                             ox_tensor *outs) {
    const body *b = &st->bodies[0];
    size_t m = (size_t)st->num_scan_inputs, n_state = b->n_formal - m, k = b->n_outputs - n_state;
    int32_t axes[64];
    int64_t len = -1;
    if (m > 64) return ox_error(ONYX_ERR_LIMIT, "more than 64 scan inputs");
    for (size_t j = 0; j < m; j++) {
        const ox_tensor *x = &xs[j];
        if (x->dtype == ONYX_DTYPE_STRING || x->dtype == OX_DTYPE_SEQUENCE || x->dtype == OX_DTYPE_NONE || x->rank < 1)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "scan input %zu must be a numeric tensor of rank >= 1", j);
        OX_TRY(ox_norm_axis(st->in_axes[j], x->rank, &axes[j]));
        if (len >= 0 && x->dims[axes[j]] != len)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "scan inputs have different lengths (%lld and %lld)",
                            (long long)len, (long long)x->dims[axes[j]]);
        len = x->dims[axes[j]];
    }
    iter_state it;
    onyx_status s = iter_init(&it, b, n_state, states);
    ox_tensor *formal = ox_calloc(b->n_formal + 1, sizeof *formal);
    ox_tensor *res = ox_calloc(b->n_outputs + 1, sizeof *res);
    unsigned char *is_in = ox_calloc(b->n_outputs + 1, 1);
    gstack *scans = ox_calloc(k + 1, sizeof *scans);
    if (s == ONYX_OK && (!formal || !res || !is_in || !scans)) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t j = 0; j < m && s == ONYX_OK; j++) s = alloc_slice(&xs[j], axes[j], &formal[n_state + j]);
    for (int64_t t = 0; t < len && s == ONYX_OK; t++) {
        for (size_t j = 0; j < m; j++) copy_slice(&xs[j], axes[j], st->in_dirs[j] ? len - 1 - t : t, &formal[n_state + j]);
        if ((s = iter_run(c, b, &it, formal, 0, res, 0, is_in))) {
            s = ox_error_prefix(s, "in the body, iteration %lld: ", (long long)t);
            break;
        }
        for (size_t q = 0; q < k && s == ONYX_OK; q++) s = gstack_push(&scans[q], &res[n_state + q]);
    }
    size_t made = 0;
    if (s == ONYX_OK) {
        for (size_t j = 0; j < n_state && s == ONYX_OK; j++, made++) {
            if (it.owned[j]) {
                outs[j] = it.vals[j];
                it.owned[j] = 0;
            } else {
                s = ox_value_copy(&it.vals[j], &outs[j]);
            }
        }
        for (size_t q = 0; q < k && s == ONYX_OK; q++, made++)
            s = gstack_finish(&scans[q], st->out_axes[q], st->out_dirs[q] != 0, &outs[n_state + q]);
        if (s)
            for (size_t i = 0; i + 1 < made; i++) ox_tensor_free_data(&outs[i]);
    }
    for (size_t j = 0; formal && j < m; j++) ox_tensor_free_data(&formal[n_state + j]);
    for (size_t q = 0; scans && q < k; q++) gstack_free(&scans[q]);
    iter_free(&it);
    ox_free(formal);
    ox_free(res);
    ox_free(is_in);
    ox_free(scans);
    return s;
}

static onyx_status scan_run(ox_op_ctx *c) {
    const cf_state *st = c->state;
    const body *b = &st->bodies[0];
    size_t first = c->opset < 9 ? 1 : 0, m = (size_t)st->num_scan_inputs, n_state = b->n_formal - m;
    size_t n_out = b->n_outputs;
    for (size_t j = first; j < c->node->n_inputs; j++)
        if (!ox_has_input(c, j)) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is missing", j);
    ox_tensor *vals = ox_calloc(n_state + m + 1, sizeof *vals), *xs = vals + n_state;
    ox_tensor **state_ptrs = ox_calloc(n_state + 1, sizeof *state_ptrs);
    ox_tensor *outs = ox_calloc(n_out + 1, sizeof *outs);
    onyx_status s = ONYX_OK;
    if (!vals || !state_ptrs || !outs) {
        ox_free(vals);
        ox_free(state_ptrs);
        ox_free(outs);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t j = 0; j < n_state; j++) state_ptrs[j] = &vals[j];
    if (c->opset >= 9) {
        for (size_t j = 0; j < n_state + m; j++) vals[j] = *c->in[j];
        s = scan_once(c, st, state_ptrs, xs, outs);
        for (size_t i = 0; i < n_out && s == ONYX_OK; i++) give_output(c, i, &outs[i]);
    } else {
        /* opset 8: every input has a leading batch axis; each batch entry is one scan */
        int64_t batch = -1;
        for (size_t j = 1; j < c->node->n_inputs; j++) {
            const ox_tensor *t = c->in[j];
            if (t->rank < 1 || (batch >= 0 && t->dims[0] != batch)) {
                s = ox_error(ONYX_ERR_INVALID_ARGUMENT, "inputs need the same leading batch dim");
                break;
            }
            batch = t->dims[0];
        }
        if (s == ONYX_OK && ox_has_input(c, 0)) {
            const ox_tensor *sl = c->in[0];
            for (size_t i = 0; i < ox_tensor_count(sl) && s == ONYX_OK; i++)
                if (ox_tensor_get_int(sl, i) != c->in[1 + n_state]->dims[1])
                    s = ox_error(ONYX_ERR_UNSUPPORTED, "sequence_lens shorter than the scan length is not supported");
        }
        gstack *per_out = ox_calloc(n_out + 1, sizeof *per_out);
        if (!per_out && s == ONYX_OK) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t j = 0; j < n_state + m && s == ONYX_OK; j++) s = alloc_slice(c->in[1 + j], 0, &vals[j]);
        for (int64_t bi = 0; bi < batch && s == ONYX_OK; bi++) {
            for (size_t j = 0; j < n_state + m; j++) copy_slice(c->in[1 + j], 0, bi, &vals[j]);
            s = scan_once(c, st, state_ptrs, xs, outs);
            for (size_t i = 0; i < n_out && s == ONYX_OK; i++) s = gstack_push(&per_out[i], &outs[i]);
            for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&outs[i]);
        }
        for (size_t i = 0; i < n_out && s == ONYX_OK; i++) {
            ox_tensor v;
            s = gstack_finish(&per_out[i], 0, 0, &v);
            if (s == ONYX_OK) give_output(c, i, &v);
        }
        for (size_t i = 0; per_out && i < n_out; i++) gstack_free(&per_out[i]);
        for (size_t j = 0; j < n_state + m; j++) ox_tensor_free_data(&vals[j]);
        ox_free(per_out);
    }
    ox_free(vals);
    ox_free(state_ptrs);
    ox_free(outs);
    return s;
}

/* ---- SequenceMap ----------------------------------------------------------- */

static onyx_status seqmap_prepare(ox_op_ctx *c) {
    cf_state *st = NULL;
    OX_TRY(cf_begin(c, "body", NULL, &st));
    const body *b = &st->bodies[0];
    if (b->n_formal != c->node->n_inputs || b->n_outputs != c->node->n_outputs)
        return ox_error(ONYX_ERR_INVALID_MODEL, "the body has %zu inputs and %zu outputs, the node %zu and %zu",
                        b->n_formal, b->n_outputs, c->node->n_inputs, c->node->n_outputs);
    return ONYX_OK;
}

static onyx_status seqmap_run(ox_op_ctx *c) {
    const body *b = &((const cf_state *)c->state)->bodies[0];
    size_t n_in = c->node->n_inputs;
    for (size_t j = 0; j < n_in; j++)
        if (!ox_has_input(c, j)) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is missing", j);
    if (c->in[0]->dtype != OX_DTYPE_SEQUENCE) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input 0 must be a sequence");
    size_t len = ((const ox_sequence *)c->in[0]->data)->n;
    for (size_t j = 1; j < n_in; j++)
        if (c->in[j]->dtype == OX_DTYPE_SEQUENCE && ((const ox_sequence *)c->in[j]->data)->n != len)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "sequence input %zu has %zu items, input 0 has %zu", j,
                            ((const ox_sequence *)c->in[j]->data)->n, len);
    onyx_status s = ONYX_OK;
    ox_tensor *formal = ox_calloc(n_in + 1, sizeof *formal);
    ox_tensor *res = ox_calloc(b->n_outputs + 1, sizeof *res);
    ox_tensor *seqs = ox_calloc(b->n_outputs + 1, sizeof *seqs);
    if (!formal || !res || !seqs) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; k < b->n_outputs && s == ONYX_OK; k++) s = ox_sequence_init(&seqs[k], ONYX_DTYPE_UNDEFINED);
    for (size_t i = 0; i < len && s == ONYX_OK; i++) {
        for (size_t j = 0; j < n_in; j++)
            formal[j] = c->in[j]->dtype == OX_DTYPE_SEQUENCE ? ((const ox_sequence *)c->in[j]->data)->items[i]
                                                             : *c->in[j];
        if ((s = body_run(c, b, formal, res))) {
            s = ox_error_prefix(s, "in the body, item %zu: ", i);
            break;
        }
        for (size_t k = 0; k < b->n_outputs; k++) {
            ox_sequence *q = seqs[k].data;
            if (s == ONYX_OK) s = ox_sequence_insert(q, q->n, &res[k]);
            ox_tensor_free_data(&res[k]);
        }
    }
    for (size_t k = 0; seqs && k < b->n_outputs; k++) {
        if (s == ONYX_OK)
            give_output(c, k, &seqs[k]);
        else
            ox_tensor_free_data(&seqs[k]);
    }
    ox_free(formal);
    ox_free(res);
    ox_free(seqs);
    return s;
}

#define CF_OP(name, since, prep, run)                                                                 \
    { "", name, since, prep, cf_destroy, need_value, run, OX_OP_ALLOC_IN_RUN, "any" }

const ox_op_def ox_ops_control[] = {
    CF_OP("If", 1, if_prepare, if_run),
    CF_OP("Loop", 1, loop_prepare, loop_run),
    CF_OP("Scan", 8, scan_prepare, scan_run),
    CF_OP("SequenceMap", 17, seqmap_prepare, seqmap_run),
    {0},
};
