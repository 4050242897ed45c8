/* ai.onnx.ml TreeEnsemble (opset 5): sums (or averages, or takes the min / max of)
 * the leaf weights each tree reaches, per target, then applies post_transform.
 *
 * The attributes are checked once: every node and leaf reference lies in range,
 * modes are known, targets are in [0, n_targets). Feature ids are checked against X
 * when its shape is known. A walk longer than the node count means the "tree" has a
 * cycle and is an error. Set-membership nodes take their sets from membership_values
 * (NaN-separated) in the order those nodes appear in nodes_modes. post_transform
 * follows onnxruntime's definitions (the ONNX reference implementation ignores it). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ops/text_util.h"
#include "util/alloc.h"

#define PI 3.14159265358979323846

enum { M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_MEMBER };
enum { AGG_AVG, AGG_SUM, AGG_MIN, AGG_MAX };
enum { PT_NONE, PT_SOFTMAX, PT_LOGISTIC, PT_SOFTMAX_ZERO, PT_PROBIT };

typedef struct tnode {
    int64_t feature;
    double split;
    int64_t next[2]; /* [0]: false branch, [1]: true branch */
    uint8_t leaf[2];
    uint8_t mode, missing_true, degenerate;
    size_t set_off, set_n;
} tnode;

typedef struct tree_state {
    ox_text_state base;
    tnode *nodes;
    size_t n_nodes;
    int64_t *leaf_target;
    double *leaf_weight;
    size_t n_leaves;
    const int64_t *roots;
    size_t n_roots;
    double *members;
    int64_t n_targets;
    int agg, post;
} tree_state;

static void tree_free(void *p) {
    tree_state *s = p;
    ox_free(s->nodes);
    ox_free(s->leaf_target);
    ox_free(s->leaf_weight);
    ox_free(s->members);
}

static onyx_status need_ints(ox_op_ctx *c, const char *name, size_t n, const int64_t **v, int optional) {
    size_t k;
    *v = ox_attr_ints(c, name, &k);
    OX_TRY(ox_op_status(c));
    if (!*v && optional) return ONYX_OK;
    if (!*v && n) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s is required", name);
    if (k != n)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has %zu values; expected %zu", name, k, n);
    return ONYX_OK;
}

/* A float tensor attribute read as doubles (n == (size_t)-1: any length, returned in *n). */
static onyx_status read_reals(ox_op_ctx *c, const char *name, size_t *n, double **out, int optional) {
    const ox_tensor_proto *t = ox_attr_tensor(c, name);
    OX_TRY(ox_op_status(c));
    *out = NULL;
    if (!t) {
        if (optional) return ONYX_OK;
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s is required", name);
    }
    size_t k = ox_shape_count(t->rank, t->dims);
    if (!ox_text_is_real(t->dtype) || t->nbytes != k * ox_dtype_size(t->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s must be a float tensor", name);
    if (*n != (size_t)-1 && k != *n)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute %s has %zu values; expected %zu", name, k, *n);
    *n = k;
    *out = ox_malloc_array(k ? k : 1, sizeof **out);
    if (!*out) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < k; i++) (*out)[i] = ox_text_get_f(t->data, t->dtype, i);
    return ONYX_OK;
}

static onyx_status read_nodes(ox_op_ctx *c, tree_state *s) {
    const int64_t *feat, *tid, *fid, *tl, *fl, *miss;
    size_t n = 0;
    feat = ox_attr_ints(c, "nodes_featureids", &n);
    OX_TRY(ox_op_status(c));
    if (!feat) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute nodes_featureids is required");
    OX_TRY(need_ints(c, "nodes_truenodeids", n, &tid, 0));
    OX_TRY(need_ints(c, "nodes_falsenodeids", n, &fid, 0));
    OX_TRY(need_ints(c, "nodes_trueleafs", n, &tl, 0));
    OX_TRY(need_ints(c, "nodes_falseleafs", n, &fl, 0));
    OX_TRY(need_ints(c, "nodes_missing_value_tracks_true", n, &miss, 1));
    const ox_tensor_proto *modes = ox_attr_tensor(c, "nodes_modes");
    OX_TRY(ox_op_status(c));
    if (!modes) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute nodes_modes is required");
    if (ox_shape_count(modes->rank, modes->dims) != n || !ox_dtype_is_int(modes->dtype) ||
        modes->nbytes != n * ox_dtype_size(modes->dtype))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute nodes_modes must be %zu integers", n);
    ox_tensor mt = {.dtype = modes->dtype, .rank = 1, .dims = {(int64_t)n}, .data = (void *)modes->data};
    double *splits;
    size_t ns = n;
    OX_TRY(read_reals(c, "nodes_splits", &ns, &splits, 0));
    s->nodes = ox_calloc(n ? n : 1, sizeof *s->nodes);
    if (!s->nodes) {
        ox_free(splits);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    s->n_nodes = n;
    for (size_t i = 0; i < n; i++) {
        tnode *t = &s->nodes[i];
        int64_t m = ox_tensor_get_int(&mt, i);
        t->feature = feat[i];
        t->split = splits[i];
        t->next[1] = tid[i];
        t->next[0] = fid[i];
        t->leaf[1] = tl[i] != 0;
        t->leaf[0] = fl[i] != 0;
        t->missing_true = miss && miss[i];
        if (m < M_LEQ || m > M_MEMBER) {
            ox_free(splits);
            return ox_error(ONYX_ERR_INVALID_MODEL, "nodes_modes[%zu] is %lld; expected 0..6", i, (long long)m);
        }
        t->mode = (uint8_t)m;
        t->degenerate = t->leaf[0] && t->leaf[1] && t->next[0] == t->next[1];
        if (!t->degenerate && t->feature < 0) {
            ox_free(splits);
            return ox_error(ONYX_ERR_INVALID_MODEL, "nodes_featureids[%zu] is negative", i);
        }
    }
    ox_free(splits);
    return ONYX_OK;
}

static onyx_status read_members(ox_op_ctx *c, tree_state *s) {
    size_t nm = (size_t)-1;
    OX_TRY(read_reals(c, "membership_values", &nm, &s->members, 1));
    size_t pos = 0;
    for (size_t i = 0; i < s->n_nodes; i++) {
        tnode *t = &s->nodes[i];
        if (t->mode != M_MEMBER) continue;
        if (!s->members || pos >= nm)
            return ox_error(ONYX_ERR_INVALID_MODEL, "membership_values has no set for node %zu", i);
        t->set_off = pos;
        while (pos < nm && s->members[pos] == s->members[pos]) pos++;
        t->set_n = pos - t->set_off;
        if (pos < nm) pos++; /* the NaN delimiter */
    }
    return ONYX_OK;
}

onyx_status ox_text_tree_ensemble_prepare(ox_op_ctx *c) {
    tree_state *s = ox_text_state_new(c, sizeof *s, tree_free);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    OX_TRY(read_nodes(c, s));
    OX_TRY(read_members(c, s));
    const int64_t *targets = ox_attr_ints(c, "leaf_targetids", &s->n_leaves);
    s->roots = ox_attr_ints(c, "tree_roots", &s->n_roots);
    s->n_targets = ox_attr_int(c, "n_targets", -1);
    int64_t agg = ox_attr_int(c, "aggregate_function", AGG_SUM);
    int64_t post = ox_attr_int(c, "post_transform", PT_NONE);
    OX_TRY(ox_op_status(c));
    if (!targets) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute leaf_targetids is required");
    if (!s->roots) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute tree_roots is required");
    if (s->n_targets < 1 || s->n_targets > ((int64_t)1 << 31))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute n_targets is %lld; must be >= 1",
                        (long long)s->n_targets);
    if (agg < AGG_AVG || agg > AGG_MAX)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute aggregate_function is %lld; expected 0..3",
                        (long long)agg);
    if (post < PT_NONE || post > PT_PROBIT)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute post_transform is %lld; expected 0..4",
                        (long long)post);
    s->agg = (int)agg;
    s->post = (int)post;
    size_t nl = s->n_leaves;
    OX_TRY(read_reals(c, "leaf_weights", &nl, &s->leaf_weight, 0));
    s->leaf_target = ox_malloc_array(nl ? nl : 1, sizeof *s->leaf_target);
    if (!s->leaf_target) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < nl; i++) {
        if (targets[i] < 0 || targets[i] >= s->n_targets)
            return ox_error(ONYX_ERR_INVALID_MODEL, "leaf_targetids[%zu] is %lld; n_targets is %lld", i,
                            (long long)targets[i], (long long)s->n_targets);
        s->leaf_target[i] = targets[i];
    }
    for (size_t i = 0; i < s->n_nodes; i++)
        for (int b = 0; b < 2; b++) {
            const tnode *t = &s->nodes[i];
            size_t lim = t->leaf[b] ? s->n_leaves : s->n_nodes;
            if (t->next[b] < 0 || (uint64_t)t->next[b] >= lim)
                return ox_error(ONYX_ERR_INVALID_MODEL, "nodes_%snodeids[%zu] is %lld: no such %s",
                                b ? "true" : "false", i, (long long)t->next[b], t->leaf[b] ? "leaf" : "node");
        }
    for (size_t i = 0; i < s->n_roots; i++)
        if (s->roots[i] < 0 || (uint64_t)s->roots[i] >= s->n_nodes)
            return ox_error(ONYX_ERR_INVALID_MODEL, "tree_roots[%zu] is %lld: no such node", i,
                            (long long)s->roots[i]);
    return ONYX_OK;
}

onyx_status ox_text_tree_ensemble_infer(ox_op_ctx *c) {
    const tree_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *x = c->in[0];
    if (x->dtype != ONYX_DTYPE_FLOAT && x->dtype != ONYX_DTYPE_DOUBLE && x->dtype != ONYX_DTYPE_FLOAT16)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; expected float, double or float16",
                        ox_dtype_name(x->dtype));
    if (x->rank != 2) return ox_error(ONYX_ERR_INVALID_MODEL, "input X must be [N, F]; it has rank %d", x->rank);
    for (size_t i = 0; i < s->n_nodes; i++)
        if (!s->nodes[i].degenerate && s->nodes[i].feature >= x->dims[1])
            return ox_error(ONYX_ERR_INVALID_MODEL, "nodes_featureids[%zu] is %lld; X has %lld features",
                            i, (long long)s->nodes[i].feature, (long long)x->dims[1]);
    int64_t d[2] = {x->dims[0], s->n_targets};
    ox_set_shape(c->out[0], x->dtype, 2, d);
    size_t ws;
    if (!ox_mul_ok((size_t)s->n_targets, sizeof(double), &ws))
        return ox_error(ONYX_ERR_LIMIT, "too many targets");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

static int goes_true(const tree_state *s, const tnode *t, double v) {
    if (v != v && t->missing_true) return 1;
    switch (t->mode) {
    case M_LEQ: return v <= t->split;
    case M_LT: return v < t->split;
    case M_GTE: return v >= t->split;
    case M_GT: return v > t->split;
    case M_EQ: return v == t->split;
    case M_NEQ: return v != t->split;
    default:
        for (size_t k = 0; k < t->set_n; k++)
            if (s->members[t->set_off + k] == v) return 1;
        return 0;
    }
}

/* sqrt(2) * erfinv(2p - 1): an initial guess refined by Newton steps on erf. */
static double probit(double p) {
    double x = 2 * p - 1;
    if (!(x > -1)) return x == -1 ? -INFINITY : NAN;
    if (!(x < 1)) return x == 1 ? INFINITY : NAN;
    double w = log((1 - x) * (1 + x)), a = 0.147;
    double t = 2 / (PI * a) + w / 2;
    double y = copysign(sqrt(sqrt(t * t - w / a) - t), x);
    for (int k = 0; k < 3; k++) {
        double d = 2 / sqrt(PI) * exp(-y * y);
        if (d == 0) break;
        y -= (erf(y) - x) / d;
    }
    return sqrt(2.0) * y;
}

static void post_transform(int post, double *v, size_t n) {
    if (post == PT_SOFTMAX || post == PT_SOFTMAX_ZERO) {
        double mx = -INFINITY, sum = 0;
        for (size_t i = 0; i < n; i++)
            if (v[i] > mx) mx = v[i];
        for (size_t i = 0; i < n; i++) {
            int zero = post == PT_SOFTMAX_ZERO && fabs(v[i]) <= 1e-7;
            v[i] = zero ? 0 : exp(v[i] - mx);
            sum += v[i];
        }
        if (sum > 0)
            for (size_t i = 0; i < n; i++) v[i] /= sum;
    } else if (post == PT_LOGISTIC) {
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] >= 0 ? 1 / (1 + exp(-v[i])) : exp(v[i]) / (1 + exp(v[i]));
    } else if (post == PT_PROBIT) {
        for (size_t i = 0; i < n; i++) v[i] = probit(v[i]);
    }
}

onyx_status ox_text_tree_ensemble_run(ox_op_ctx *c) {
    const tree_state *s = c->state;
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    size_t rows = (size_t)x->dims[0], feats = (size_t)x->dims[1], nt = (size_t)s->n_targets;
    double *acc = c->workspace;
    double init = s->agg == AGG_MIN ? (x->dtype == ONYX_DTYPE_FLOAT16 ? 65504.0 : x->dtype == ONYX_DTYPE_FLOAT ? FLT_MAX : DBL_MAX)
                : s->agg == AGG_MAX ? (x->dtype == ONYX_DTYPE_FLOAT16 ? -65504.0 : x->dtype == ONYX_DTYPE_FLOAT ? -FLT_MAX : -DBL_MAX)
                                    : 0.0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t k = 0; k < nt; k++) acc[k] = init;
        for (size_t t = 0; t < s->n_roots; t++) {
            int64_t id = s->roots[t];
            const tnode *nd = &s->nodes[id];
            size_t leaf, steps = 0;
            for (;;) {
                if (nd->degenerate) { /* both branches reach the same leaf */
                    leaf = (size_t)nd->next[0];
                    break;
                }
                double v = ox_text_get_f(x->data, x->dtype, r * feats + (size_t)nd->feature);
                int b = goes_true(s, nd, v);
                if (nd->leaf[b]) {
                    leaf = (size_t)nd->next[b];
                    break;
                }
                if (++steps > s->n_nodes)
                    return ox_error(ONYX_ERR_INVALID_MODEL, "tree %zu has a cycle", t);
                nd = &s->nodes[nd->next[b]];
            }
            double w = s->leaf_weight[leaf];
            size_t k = (size_t)s->leaf_target[leaf];
            switch (s->agg) {
            case AGG_AVG: acc[k] += w / (double)s->n_roots; break;
            case AGG_SUM: acc[k] += w; break;
            case AGG_MIN: acc[k] = w < acc[k] ? w : acc[k]; break;
            default: acc[k] = w > acc[k] ? w : acc[k]; break;
            }
        }
        post_transform(s->post, acc, nt);
        for (size_t k = 0; k < nt; k++) ox_text_put_f(y->data, y->dtype, r * nt + k, acc[k]);
    }
    return ONYX_OK;
}
