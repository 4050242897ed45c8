/* Fusion on a plan's steps (see plan.h): Identity steps dropped, BatchNormalization
 * folded into the Conv before it, activations folded into the op before them, a
 * per-channel scale (squeeze-and-excitation's Mul) folded into the 1x1 Conv after it,
 * and the SiLU and GELU patterns PyTorch exports made one step each. All save passes
 * over memory and buffers; folding BatchNormalization also saves its arithmetic. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/nn_ops.h"
#include "plan/plan.h"
#include "util/alloc.h"

/* How many kept steps read each value, plus one for each time it is requested and
 * one if it is a graph output (requested by this plan or not). */
static int *count_uses(const ox_plan *p, const ox_rgraph *g, const int *requested,
                       size_t n_requested) {
    int *uses = ox_calloc(p->cap_values, sizeof *uses);
    if (!uses) return NULL;
    for (size_t st = 0; st < p->n_steps; st++) {
        const ox_pstep *s = &p->steps[st];
        if (s->node < 0) continue;
        for (size_t k = 0; k < s->n_in; k++)
            if (s->in[k] >= 0) uses[s->in[k]]++;
    }
    for (size_t i = 0; i < n_requested; i++) uses[requested[i]]++;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0) uses[g->outputs[i]]++;
    return uses;
}

/* The step (after `from`) that reads value v, or -1. */
static int consumer_of(const ox_plan *p, size_t from, int v) {
    for (size_t st = from + 1; st < p->n_steps; st++) {
        const ox_pstep *s = &p->steps[st];
        if (s->node < 0) continue;
        for (size_t k = 0; k < s->n_in; k++)
            if (s->in[k] == v) return (int)st;
    }
    return -1;
}

static const ox_tensor *const_f32(const ox_plan *p, const ox_pstep *s, size_t k) {
    if (k >= s->n_in || s->in[k] < 0) return NULL;
    const ox_pvalue *v = &p->values[s->in[k]];
    return v->is_const && v->t.dtype == ONYX_DTYPE_FLOAT && v->t.data ? &v->t : NULL;
}

static onyx_status append_label(ox_pstep *s, const char *op) {
    size_t n = strlen(s->label) + strlen(op) + 2;
    char *l = ox_malloc(n);
    if (!l) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    snprintf(l, n, "%s+%s", s->label, op);
    ox_free(s->label);
    s->label = l;
    return ONYX_OK;
}

/* A new plan-owned float32 constant; returns its value index. */
static int new_const(ox_plan *p, int32_t rank, const int64_t *dims) {
    if (p->n_values == p->cap_values) return -1;
    ox_pvalue *v = &p->values[p->n_values];
    memset(v, 0, sizeof *v);
    ox_set_shape(&v->t, ONYX_DTYPE_FLOAT, rank, dims);
    if (ox_tensor_alloc_data(&v->t) != ONYX_OK) return -1;
    v->known = v->is_const = v->owns_data = 1;
    v->first = v->last = -1;
    return (int)p->n_values++;
}

/* At least n inputs for step s, the new ones omitted (-1). */
static onyx_status grow_inputs(ox_pstep *s, size_t n) {
    if (s->n_in >= n) return ONYX_OK;
    int *in = ox_realloc(s->in, n * sizeof *in);
    if (!in) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = s->n_in; k < n; k++) in[k] = -1;
    s->in = in;
    s->n_in = n;
    return ONYX_OK;
}

/* Conv (float32, constant W and B) then BatchNormalization (inference, constant
 * parameters): W'[m] = W[m] * s[m], B'[m] = (B[m] - mean[m]) * s[m] + beta[m] with
 * s = scale / sqrt(var + epsilon). */
static onyx_status fold_batchnorm(ox_plan *p, const ox_rgraph *g, ox_pstep *conv, ox_pstep *bn) {
    const ox_node *bnode = g->nodes[bn->node].node;
    const ox_tensor *W = const_f32(p, conv, 1), *B = conv->n_in > 2 ? const_f32(p, conv, 2) : NULL;
    if (!W || W->rank < 3 || (conv->n_in > 2 && conv->in[2] >= 0 && !B)) return ONYX_OK;
    if (bn->n_in != 5 || bn->in[0] != conv->out[0]) return ONYX_OK;
    for (size_t k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0) return ONYX_OK; /* training outputs wanted */
    const ox_attr *a = ox_node_attr(bnode, "training_mode");
    if (a && (a->type != OX_ATTR_INT || a->i != 0)) return ONYX_OK;
    a = ox_node_attr(bnode, "spatial");
    if (a && (a->type != OX_ATTR_INT || a->i != 1)) return ONYX_OK;
    float eps = 1e-5f;
    a = ox_node_attr(bnode, "epsilon");
    if (a) {
        if (a->type != OX_ATTR_FLOAT) return ONYX_OK;
        eps = a->f;
    }
    int64_t m = W->dims[0];
    const ox_tensor *prm[4];
    for (size_t k = 0; k < 4; k++) {
        prm[k] = const_f32(p, bn, k + 1);
        if (!prm[k] || prm[k]->rank != 1 || prm[k]->dims[0] != m) return ONYX_OK;
    }
    if (B && (B->rank != 1 || B->dims[0] != m)) return ONYX_OK;
    int w2 = new_const(p, W->rank, W->dims);
    int b2 = w2 < 0 ? -1 : new_const(p, 1, &m);
    if (w2 < 0 || b2 < 0) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory folding BatchNormalization");
    W = const_f32(p, conv, 1); /* p->values did not move: cap_values was reserved */
    const float *scale = prm[0]->data, *beta = prm[1]->data, *mean = prm[2]->data, *var = prm[3]->data;
    const float *w = W->data, *b = B ? B->data : NULL;
    float *nw = p->values[w2].t.data, *nb = p->values[b2].t.data;
    size_t per = ox_tensor_count(W) / (size_t)m;
    for (int64_t i = 0; i < m; i++) {
        float sc = scale[i] / sqrtf(var[i] + eps);
        for (size_t k = 0; k < per; k++) nw[(size_t)i * per + k] = w[(size_t)i * per + k] * sc;
        nb[i] = ((b ? b[i] : 0.0f) - mean[i]) * sc + beta[i];
    }
    OX_TRY(grow_inputs(conv, 3)); /* a Conv without a bias gets one */
    conv->in[1] = w2;
    conv->in[2] = b2;
    conv->out[0] = bn->out[0];
    bn->node = -1;
    return append_label(conv, "BatchNormalization");
}

/* Whether no step in (from, to) writes value v: a value read at `to` that exists
 * before `from` runs (made earlier, or a graph input or constant). */
static int ready_before(const ox_plan *p, size_t from, size_t to, int v) {
    for (size_t st = from + 1; st < to; st++) {
        const ox_pstep *s = &p->steps[st];
        if (s->node < 0) continue;
        for (size_t k = 0; k < s->n_out; k++)
            if (s->out[k] == v) return 0;
    }
    return 1;
}

/* Step s takes in the Add after it: the Add's other operand `other` becomes s's input
 * `slot`, s writes the Add's output, and the Add goes. */
static onyx_status take_add(ox_pstep *s, ox_pstep *add, size_t slot, int other, int *uses) {
    OX_TRY(grow_inputs(s, slot + 1));
    uses[s->out[0]]--;
    s->in[slot] = other;
    s->out[0] = add->out[0];
    add->node = -1;
    return append_label(s, "Add");
}

/* Conv (float32, not depthwise) then Add(conv's output, R) with R of the same shape,
 * ready when the Conv runs: the Conv takes R as a fourth input and adds it in its
 * epilogue, before any activation fused after (the residual blocks of ResNets). */
static onyx_status fuse_residual(ox_plan *p, const ox_rgraph *g, ox_pstep *conv, size_t ci,
                                 ox_pstep *add, size_t ai, int *uses) {
    const ox_node *an = g->nodes[add->node].node;
    if (an->domain[0] || strcmp(an->op_type, "Add") || add->n_in != 2 || add->n_out != 1 ||
        add->out[0] < 0)
        return ONYX_OK;
    int v = conv->out[0], r = add->in[0] == v ? add->in[1] : add->in[0];
    if ((add->in[0] != v && add->in[1] != v) || r < 0 || r == v) return ONYX_OK;
    if (conv->n_in > 3 && conv->in[3] >= 0) return ONYX_OK;
    const ox_pvalue *pv = &p->values[v], *pr = &p->values[r], *po = &p->values[add->out[0]];
    if (!pr->known || !po->known || pr->t.dtype != ONYX_DTYPE_FLOAT ||
        po->t.dtype != ONYX_DTYPE_FLOAT || pr->t.rank != pv->t.rank || po->t.rank != pv->t.rank)
        return ONYX_OK;
    for (int i = 0; i < pv->t.rank; i++)
        if (pr->t.dims[i] != pv->t.dims[i] || po->t.dims[i] != pv->t.dims[i]) return ONYX_OK;
    const ox_tensor *W = const_f32(p, conv, 1);
    /* one input channel per filter: the depthwise kernels, which take no residual */
    if (!W || W->rank < 3 || W->dims[1] == 1) return ONYX_OK;
    if (!ready_before(p, ci, ai, r)) return ONYX_OK;
    return take_add(conv, add, 3, r, uses);
}

/* MatMul (float32, B a constant matrix) then Add(its output, c) with c a constant of
 * one value per output column (shape [N], or [1, ..., N]): the MatMul takes c as a
 * third input and adds it to each row in the GEMM's epilogue, before any activation
 * fused after (a Linear layer as PyTorch exports it: MatMul by the transposed
 * weights, then the bias). */
static onyx_status fuse_matmul_bias(ox_plan *p, const ox_rgraph *g, ox_pstep *mm, ox_pstep *add,
                                    int *uses) {
    const ox_node *an = g->nodes[add->node].node;
    if (an->domain[0] || strcmp(an->op_type, "Add") || add->n_in != 2 || add->n_out != 1 ||
        add->out[0] < 0 || mm->n_in != 2)
        return ONYX_OK;
    int v = mm->out[0], c = add->in[0] == v ? add->in[1] : add->in[0];
    if ((add->in[0] != v && add->in[1] != v) || c < 0 || c == v) return ONYX_OK;
    const ox_tensor *B = const_f32(p, mm, 1), *C = &p->values[c].t;
    const ox_pvalue *pv = &p->values[v], *po = &p->values[add->out[0]];
    if (!B || B->rank != 2 || !p->values[c].is_const || C->dtype != ONYX_DTYPE_FLOAT || !C->data ||
        !pv->known || !po->known || po->t.dtype != ONYX_DTYPE_FLOAT || pv->t.rank < 1 ||
        C->rank > pv->t.rank || po->t.rank != pv->t.rank)
        return ONYX_OK;
    for (int i = 0; i < pv->t.rank; i++)
        if (po->t.dims[i] != pv->t.dims[i]) return ONYX_OK;
    int64_t N = pv->t.dims[pv->t.rank - 1];
    if (B->dims[1] != N || C->rank < 1 || C->dims[C->rank - 1] != N) return ONYX_OK;
    for (int i = 0; i + 1 < C->rank; i++)
        if (C->dims[i] != 1) return ONYX_OK;
    return take_add(mm, add, 2, c, uses);
}

/* Whether step s is an activation we can fold, and which. */
static int activation_of(const ox_plan *p, const ox_rgraph *g, const ox_pstep *s, float *alpha, float *beta) {
    const ox_node *n = g->nodes[s->node].node;
    if (s->act != OX_ACT_NONE) { /* a fused pattern's step (SiLU, GELU) */
        *alpha = s->act_alpha;
        *beta = s->act_beta;
        return s->act;
    }
    if (n->domain[0]) return OX_ACT_NONE;
    const char *op = n->op_type;
    const ox_attr *a;
    if (!strcmp(op, "Relu")) return OX_ACT_RELU;
    if (!strcmp(op, "Sigmoid")) return OX_ACT_SIGMOID;
    if (!strcmp(op, "Tanh")) return OX_ACT_TANH;
    if (!strcmp(op, "LeakyRelu")) {
        a = ox_node_attr(n, "alpha");
        if (a && a->type != OX_ATTR_FLOAT) return OX_ACT_NONE;
        *alpha = a ? a->f : 0.01f;
        return OX_ACT_LEAKY_RELU;
    }
    if (!strcmp(op, "HardSigmoid")) {
        const ox_attr *b = ox_node_attr(n, "beta");
        a = ox_node_attr(n, "alpha");
        if ((a && a->type != OX_ATTR_FLOAT) || (b && b->type != OX_ATTR_FLOAT)) return OX_ACT_NONE;
        *alpha = a ? a->f : 0.2f;
        *beta = b ? b->f : 0.5f;
        return OX_ACT_HARD_SIGMOID;
    }
    if (!strcmp(op, "Clip")) {
        *alpha = -INFINITY;
        *beta = INFINITY;
        if (g->nodes[s->node].opset < 11) { /* bounds are attributes */
            a = ox_node_attr(n, "min");
            const ox_attr *b = ox_node_attr(n, "max");
            if ((a && a->type != OX_ATTR_FLOAT) || (b && b->type != OX_ATTR_FLOAT)) return OX_ACT_NONE;
            if (a) *alpha = a->f;
            if (b) *beta = b->f;
            return OX_ACT_CLIP;
        }
        for (size_t k = 1; k < 3; k++) { /* bounds are optional constant scalar inputs */
            if (k >= s->n_in || s->in[k] < 0) continue;
            const ox_tensor *t = const_f32(p, s, k);
            if (!t || ox_tensor_count(t) != 1) return OX_ACT_NONE;
            *(k == 1 ? alpha : beta) = ((const float *)t->data)[0];
        }
        return OX_ACT_CLIP;
    }
    return OX_ACT_NONE;
}

/* ---- patterns: x * Sigmoid(x) and the erf GELU -------------------------------- */

static int is_op(const ox_rgraph *g, const ox_pstep *s, const char *op) {
    const ox_node *n = g->nodes[s->node].node;
    return !n->domain[0] && !strcmp(n->op_type, op);
}

/* v is a float32 value of known shape */
static int is_f32(const ox_plan *p, int v) {
    return v >= 0 && p->values[v].known && p->values[v].t.dtype == ONYX_DTYPE_FLOAT;
}

static int same_shape(const ox_plan *p, int a, int b) {
    const ox_tensor *x = &p->values[a].t, *y = &p->values[b].t;
    return x->rank == y->rank && !memcmp(x->dims, y->dims, (size_t)x->rank * sizeof *x->dims);
}

/* Input k of s is a float32 constant with one element; *val receives it. */
static int const_scalar(const ox_plan *p, const ox_pstep *s, size_t k, float *val) {
    const ox_tensor *t = const_f32(p, s, k);
    if (!t || ox_tensor_count(t) != 1) return 0;
    *val = ((const float *)t->data)[0];
    return 1;
}

/* The step whose output 0 is v (a kept step before `before`), or NULL. */
static ox_pstep *producer_of(ox_plan *p, size_t before, int v) {
    for (size_t st = 0; st < before; st++)
        if (p->steps[st].node >= 0 && p->steps[st].n_out >= 1 && p->steps[st].out[0] == v)
            return &p->steps[st];
    return NULL;
}

/* The step after `from` that alone reads the float32 value v (not requested, not a
 * graph output), if it is a binary `op` (default domain); NULL otherwise. */
static ox_pstep *sole_binary(ox_plan *p, const ox_rgraph *g, const int *uses, size_t from, int v,
                             const char *op) {
    if (!is_f32(p, v) || uses[v] != 1) return NULL;
    int c = consumer_of(p, from, v);
    if (c < 0) return NULL;
    ox_pstep *t = &p->steps[c];
    if (!is_op(g, t, op) || t->n_in != 2 || t->n_out < 1 || !is_f32(p, t->out[0])) return NULL;
    return t;
}

/* The other input of binary step t, one of whose inputs is v. */
static int other_input(const ox_pstep *t, int v) { return t->in[0] == v ? t->in[1] : t->in[0]; }

/* Binary step t reads v and the constant c (either order): v * c or v + c. */
static int with_const(const ox_plan *p, const ox_pstep *t, int v, float c) {
    float k;
    return (t->in[0] == v && const_scalar(p, t, 1, &k) && k == c) ||
           (t->in[1] == v && const_scalar(p, t, 0, &k) && k == c);
}

static onyx_status set_label(ox_pstep *s, const char *label) {
    char *l = ox_malloc(strlen(label) + 1);
    if (!l) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    strcpy(l, label);
    ox_free(s->label);
    s->label = l;
    return ONYX_OK;
}

/* Sigmoid step s then Mul(x, s) (either order) becomes the Sigmoid's step computing
 * x * sigmoid(x): the product Mul would compute, rounded the same. */
static onyx_status fuse_silu(ox_plan *p, const ox_rgraph *g, int *uses, size_t i) {
    ox_pstep *s = &p->steps[i];
    int x = s->in[0], sg = s->out[0];
    ox_pstep *m = sole_binary(p, g, uses, i, sg, "Mul");
    if (!m || other_input(m, sg) != x || !is_f32(p, x) || !same_shape(p, x, m->out[0])) return ONYX_OK;
    s->out[0] = m->out[0];
    s->act = OX_ACT_SILU;
    m->node = -1;
    uses[x]--; /* the Mul no longer reads it */
    uses[sg] = 0;
    return append_label(s, "Mul");
}

/* The erf GELU as torch exports it (opset 17 and older): d = x / sqrt(2) (or x * 1/sqrt(2)),
 * e = Erf(d), a = e + 1, then y = x * a * 0.5 multiplied in any order: (x * a) * 0.5,
 * (x * 0.5) * a, or x * (a * 0.5). The Erf's step computes y = gelu(x). The constants
 * must be those (sqrt(2) within float rounding): the result then differs from the
 * five ops only by rounding. */
static onyx_status fuse_gelu(ox_plan *p, const ox_rgraph *g, int *uses, size_t i) {
    ox_pstep *e = &p->steps[i];
    int d = e->in[0], eo = e->out[0];
    if (!is_f32(p, d) || uses[d] != 1) return ONYX_OK;
    ox_pstep *div = producer_of(p, i, d);
    if (!div || div->n_in != 2) return ONYX_OK;
    float k;
    int x;
    if (is_op(g, div, "Div") && const_scalar(p, div, 1, &k) && fabsf(k - 1.41421356f) <= 1e-6f)
        x = div->in[0];
    else if (is_op(g, div, "Mul") && const_scalar(p, div, 1, &k) && fabsf(k - 0.707106781f) <= 1e-6f)
        x = div->in[0];
    else if (is_op(g, div, "Mul") && const_scalar(p, div, 0, &k) && fabsf(k - 0.707106781f) <= 1e-6f)
        x = div->in[1];
    else
        return ONYX_OK;
    if (!is_f32(p, x)) return ONYX_OK;
    ox_pstep *add = sole_binary(p, g, uses, i, eo, "Add");
    if (!add || !with_const(p, add, eo, 1.0f)) return ONYX_OK;
    int a = add->out[0];
    ox_pstep *m1 = sole_binary(p, g, uses, i, a, "Mul"), *m2 = NULL, *half = NULL;
    if (!m1) return ONYX_OK;
    int o1 = other_input(m1, a), y;
    if (o1 == x || with_const(p, m1, a, 0.5f)) { /* (x * a) * 0.5 or x * (a * 0.5) */
        m2 = sole_binary(p, g, uses, i, m1->out[0], "Mul");
        if (!m2) return ONYX_OK;
        if (o1 == x ? !with_const(p, m2, m1->out[0], 0.5f) : other_input(m2, m1->out[0]) != x)
            return ONYX_OK;
        y = m2->out[0];
    } else { /* (x * 0.5) * a: o1 comes from a Mul read only here */
        if (!is_f32(p, o1) || uses[o1] != 1) return ONYX_OK;
        half = producer_of(p, (size_t)(m1 - p->steps), o1);
        if (!half || !is_op(g, half, "Mul") || half->n_in != 2 || !with_const(p, half, x, 0.5f))
            return ONYX_OK;
        y = m1->out[0];
    }
    if (!same_shape(p, x, y)) return ONYX_OK; /* no broadcasting against the constants */
    const char *label = is_op(g, div, "Div") ? "Div+Erf+Add+Mul+Mul" : "Mul+Erf+Add+Mul+Mul";
    e->in[0] = x;
    e->out[0] = y;
    e->act = OX_ACT_GELU;
    div->node = add->node = m1->node = -1;
    if (m2) m2->node = -1;
    if (half) half->node = -1;
    uses[x]--; /* read by the Div and one Mul before, by the Erf's step now */
    uses[d] = uses[eo] = uses[a] = 0;
    uses[m2 ? m1->out[0] : half->out[0]] = 0;
    return set_label(e, label);
}

static onyx_status fuse_patterns(ox_plan *p, const ox_rgraph *g, int *uses) {
    onyx_status st = ONYX_OK;
    for (size_t i = 0; i < p->n_steps && st == ONYX_OK; i++) {
        ox_pstep *s = &p->steps[i];
        if (s->node < 0 || s->act != OX_ACT_NONE || s->n_in < 1 || s->n_out < 1 || s->in[0] < 0 ||
            !is_f32(p, s->out[0]) || !(g->nodes[s->node].def->flags & OX_OP_ACT_STEP))
            continue;
        if (is_op(g, s, "Sigmoid")) st = fuse_silu(p, g, uses, i);
        else if (is_op(g, s, "Erf")) st = fuse_gelu(p, g, uses, i);
    }
    return st;
}

/* Mul(X, S) with S one value per channel of X (N x C x 1 x 1), read by a 1x1 Conv
 * alone: the Conv takes X and S (its fifth input) and scales its filters' columns or
 * B's rows by S, instead of a pass that writes X * S and one that reads it back
 * (squeeze-and-excitation blocks: efficientnet_b0 has 16). */
static onyx_status fuse_channel_scale(ox_plan *p, const ox_rgraph *g, ox_pstep *conv, size_t ci,
                                      int *uses, void *const *node_state) {
    int v = conv->in[0];
    if (v < 0 || uses[v] != 1 || conv->n_in > 4 || !is_f32(p, v)) return ONYX_OK;
    ox_pstep *mul = producer_of(p, ci, v);
    if (!mul || !is_op(g, mul, "Mul") || mul->n_in != 2 || mul->in[0] < 0 || mul->in[1] < 0)
        return ONYX_OK;
    const ox_tensor *y = &p->values[v].t;
    int x = same_shape(p, mul->in[0], v) ? mul->in[0] : mul->in[1], sc = other_input(mul, x);
    if (!same_shape(p, x, v) || !is_f32(p, x) || !is_f32(p, sc) || y->rank != 4) return ONYX_OK;
    const ox_tensor *st = &p->values[sc].t;
    if (st->rank != 4 || st->dims[0] != y->dims[0] || st->dims[1] != y->dims[1] ||
        st->dims[2] != 1 || st->dims[3] != 1)
        return ONYX_OK;
    ox_tensor *in[3] = {&p->values[x].t, NULL, NULL};
    for (size_t k = 1; k < conv->n_in && k < 3; k++) {
        if (conv->in[k] < 0) continue;
        if (!p->values[conv->in[k]].known) return ONYX_OK;
        in[k] = &p->values[conv->in[k]].t;
    }
    ox_op_ctx cc = {.node = g->nodes[conv->node].node, .opset = g->nodes[conv->node].opset,
                    .n_in = conv->n_in < 3 ? conv->n_in : 3, .in = in,
                    .state = node_state[conv->node]};
    size_t ws = 0;
    if (!ox_conv_takes_channel_scale(&cc, &ws)) return ONYX_OK;
    OX_TRY(grow_inputs(conv, 5));
    conv->ws_bytes = ws; /* what the Conv with its scale needs */
    conv->in[0] = x;
    conv->in[4] = sc;
    uses[v]--;
    mul->node = -1;
    char label[128];
    snprintf(label, sizeof label, "Mul+%s", conv->label);
    return set_label(conv, label);
}

int ox_plan_is_result(const ox_rgraph *g, const int *requested, size_t n_requested, int v) {
    for (size_t i = 0; i < n_requested; i++)
        if (requested[i] == v) return 1;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return 1;
    return 0;
}

/* Identity steps go. Their readers read the input instead; an Identity whose output
 * is a result (requested, or a graph output) stays unless its input is made by an
 * earlier step for it alone, which then writes the result itself. Values a
 * subgraph reads (an If's or Loop's implicit inputs) keep their Identity. */
static void drop_identities(ox_plan *p, const ox_rgraph *g, const int *requested,
                            size_t n_requested, int *uses) {
    for (size_t i = 0; i < p->n_steps; i++) {
        ox_pstep *s = &p->steps[i];
        if (s->node < 0) continue;
        const ox_node *n = g->nodes[s->node].node;
        if (n->domain[0] || strcmp(n->op_type, "Identity") || s->n_in != 1 || s->n_out != 1 ||
            s->in[0] < 0 || s->out[0] < 0)
            continue;
        int v = s->in[0], u = s->out[0], ok = 1;
        if (ox_plan_is_result(g, requested, n_requested, u)) {
            int at = -1; /* v's maker, when the Identity alone reads v */
            for (size_t j = 0; at < 0 && j < i; j++)
                for (size_t k = 0; p->steps[j].node >= 0 && k < p->steps[j].n_out; k++)
                    if (p->steps[j].out[k] == v) at = (int)j;
            if (at < 0 || uses[v] != 1 || ox_plan_is_result(g, requested, n_requested, v)) continue;
            for (size_t k = 0; k < p->steps[at].n_out; k++)
                if (p->steps[at].out[k] == v) p->steps[at].out[k] = u;
            uses[v] = 0;
            s->node = -1;
            continue;
        }
        for (size_t j = i + 1; ok && j < p->n_steps; j++) {
            const ox_pstep *r = &p->steps[j];
            if (r->node < 0) continue;
            size_t own = g->nodes[r->node].node->n_inputs; /* past them: implicit inputs */
            for (size_t k = own; ok && k < r->n_in; k++) ok = r->in[k] != u;
        }
        if (!ok) continue;
        for (size_t j = i + 1; j < p->n_steps; j++)
            for (size_t k = 0; p->steps[j].node >= 0 && k < p->steps[j].n_in; k++)
                if (p->steps[j].in[k] == u) p->steps[j].in[k] = v;
        uses[v] += uses[u] - 1;
        uses[u] = 0;
        s->node = -1;
    }
}

onyx_status ox_plan_fuse(ox_plan *p, const ox_rgraph *g, const int *requested, size_t n_requested,
                         void *const *node_state) {
    int *uses = count_uses(p, g, requested, n_requested);
    if (!uses) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    drop_identities(p, g, requested, n_requested, uses);
    onyx_status st = fuse_patterns(p, g, uses);
    for (size_t i = 0; i < p->n_steps && st == ONYX_OK; i++) {
        ox_pstep *s = &p->steps[i];
        if (s->node < 0 || s->n_out < 1 || s->out[0] < 0) continue;
        const ox_gnode *gn = &g->nodes[s->node];
        if (!(gn->def->flags & OX_OP_FUSE_ACT) || !p->values[s->out[0]].known ||
            p->values[s->out[0]].t.dtype != ONYX_DTYPE_FLOAT)
            continue;
        /* Conv then BatchNormalization, then a residual Add, then an activation:
         * each step takes the next one in when the value between them is read by it
         * alone */
        int is_conv = !strcmp(gn->node->op_type, "Conv") && !gn->node->domain[0];
        int is_matmul = !strcmp(gn->node->op_type, "MatMul") && !gn->node->domain[0];
        if (is_conv) st = fuse_channel_scale(p, g, s, i, uses, node_state);
        if (st != ONYX_OK) break;
        for (int round = 0; round < 3 && st == ONYX_OK; round++) {
            int v = s->out[0];
            if (uses[v] != 1 || s->act != OX_ACT_NONE) break;
            int c = consumer_of(p, i, v);
            if (c < 0) break;
            ox_pstep *t = &p->steps[c];
            const ox_node *tn = g->nodes[t->node].node;
            if (round == 0 && is_conv && !tn->domain[0] &&
                !strcmp(tn->op_type, "BatchNormalization")) {
                st = fold_batchnorm(p, g, s, t); /* when it declines, t stays and ends the chain */
                continue;
            }
            if (round <= 1 && is_conv && !tn->domain[0] && !strcmp(tn->op_type, "Add")) {
                st = fuse_residual(p, g, s, i, t, (size_t)c, uses);
                round = 1;
                continue; /* if it declined, the Add is no activation and ends the chain */
            }
            if (round == 0 && is_matmul && !tn->domain[0] && !strcmp(tn->op_type, "Add")) {
                st = fuse_matmul_bias(p, g, s, t, uses);
                round = 1;
                continue; /* if it declined, the Add is no activation and ends the chain */
            }
            float alpha = 0, beta = 0;
            int act = activation_of(p, g, t, &alpha, &beta);
            if (act == OX_ACT_NONE || t->in[0] != v || t->n_out < 1 || t->out[0] < 0) break;
            s->act = act;
            s->act_alpha = alpha;
            s->act_beta = beta;
            s->out[0] = t->out[0];
            t->node = -1;
            st = append_label(s, t->label); /* the op, or a fused pattern's ops */
            break;
        }
    }
    ox_free(uses);
    return st;
}
