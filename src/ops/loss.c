/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 * The input is (N, C, d1..dk), viewed as (N, C, D) with D = d1*..*dk; the target
 * is (N, d1..dk). Each sample's loss is -logp[n, t, d] * weight[t] (weight 1 when
 * absent), 0 where t == ignore_index. 'mean' divides the sum by the sum of the
 * weights of the samples not ignored (their count when there are no weights), as
 * the ONNX reference does. SoftmaxCrossEntropyLoss takes logp = log_softmax(x)
 * along C. Sums and the softmax run in double.
 */
#include <math.h>
#include <string.h>

#include "ops/elem_common.h"
#include "ops/misc.h"
#include "util/alloc.h"

enum { RED_NONE, RED_SUM, RED_MEAN };

typedef struct {
    int reduction;
    int has_ignore;
    int64_t ignore_index;
} loss_state;

static onyx_status loss_prepare(ox_op_ctx *c) {
    loss_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = s;
    const char *r = ox_attr_str(c, "reduction", "mean");
    s->has_ignore = ox_attr_get(c, "ignore_index") != NULL;
    s->ignore_index = ox_attr_int(c, "ignore_index", 0);
    OX_TRY(ox_op_status(c));
    if (strcmp(r, "none") == 0) s->reduction = RED_NONE;
    else if (strcmp(r, "sum") == 0) s->reduction = RED_SUM;
    else if (strcmp(r, "mean") == 0) s->reduction = RED_MEAN;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute 'reduction' = '%s' is not none, sum or mean", r);
    return ONYX_OK;
}

onyx_status ox_misc_nll_prepare(ox_op_ctx *c) { return loss_prepare(c); }
onyx_status ox_misc_sce_prepare(ox_op_ctx *c) { return loss_prepare(c); }

static int loss_type_ok(int32_t t, int64_t opset) {
    return t == ONYX_DTYPE_FLOAT || t == ONYX_DTYPE_DOUBLE || t == ONYX_DTYPE_FLOAT16 ||
           (t == ONYX_DTYPE_BFLOAT16 && opset >= 13);
}

static onyx_status loss_infer(ox_op_ctx *c, int sce) {
    const loss_state *s = c->state;
    const char *xn = sce ? "scores" : "input", *tn = sce ? "labels" : "target";
    const char *wn = sce ? "weights" : "weight";
    if (!ox_has_input(c, 0) || !ox_has_input(c, 1))
        return ox_error(ONYX_ERR_INVALID_MODEL, "inputs '%s' and '%s' are required", xn, tn);
    const ox_tensor *x = c->in[0], *t = c->in[1];
    if (!loss_type_ok(x->dtype, c->opset))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected a float type", xn,
                        ox_dtype_name(x->dtype));
    if (t->dtype != ONYX_DTYPE_INT32 && t->dtype != ONYX_DTYPE_INT64)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' has type %s, expected int32 or int64", tn,
                        ox_dtype_name(t->dtype));
    if (x->rank < 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must have rank >= 2 (N, C, ...), not %d",
                        xn, x->rank);
    int ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int32_t d = 1; ok && d < t->rank; d++) ok = t->dims[d] == x->dims[d + 1];
    if (!ok)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must have %s's shape without dim 1", tn, xn);
    if (ox_has_input(c, 2)) {
        const ox_tensor *w = c->in[2];
        if (w->dtype != x->dtype || w->rank != 1 || w->dims[0] != x->dims[1])
            return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be a 1-D %s tensor of %lld values",
                            wn, ox_dtype_name(x->dtype), (long long)x->dims[1]);
    }
    if (ox_has_output(c, 0)) {
        if (s->reduction == RED_NONE) ox_set_shape(c->out[0], x->dtype, t->rank, t->dims);
        else ox_set_shape(c->out[0], x->dtype, 0, NULL);
    }
    if (sce && ox_has_output(c, 1)) ox_set_shape(c->out[1], x->dtype, x->rank, x->dims);
    size_t D = ox_shape_count(x->rank - 2, x->dims + 2), ws = 0;
    if (sce && !ox_mul_ok(D, 3 * sizeof(double), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input '%s' is too large", xn);
    c->workspace_bytes = ws;
    return ONYX_OK;
}

onyx_status ox_misc_nll_infer(ox_op_ctx *c) { return loss_infer(c, 0); }
onyx_status ox_misc_sce_infer(ox_op_ctx *c) { return loss_infer(c, 1); }

/* For one n: logp of every (c, d) is x[c, d] - lse[d]; lse from the row buffers. */
static void log_sum_exp(const ox_tensor *x, size_t base, size_t C, size_t D, double *mx, double *sm,
                        double *row) {
    for (size_t d = 0; d < D; d++) mx[d] = -INFINITY, sm[d] = 0;
    for (size_t k = 0; k < C; k++) {
        elem_load_f64(x->dtype, x->data, base + k * D, 1, D, row);
        for (size_t d = 0; d < D; d++)
            if (row[d] > mx[d] || row[d] != row[d]) mx[d] = row[d];
    }
    for (size_t k = 0; k < C; k++) {
        elem_load_f64(x->dtype, x->data, base + k * D, 1, D, row);
        for (size_t d = 0; d < D; d++) sm[d] += exp(row[d] - mx[d]);
    }
    /* a column of -inf gives NaN, as in NumPy */
    for (size_t d = 0; d < D; d++) mx[d] = mx[d] + log(sm[d]);
}

static onyx_status loss_run(ox_op_ctx *c, int sce) {
    const loss_state *s = c->state;
    const ox_tensor *x = c->in[0], *t = c->in[1];
    const ox_tensor *w = ox_has_input(c, 2) ? c->in[2] : NULL;
    size_t N = (size_t)x->dims[0], C = (size_t)x->dims[1];
    size_t D = ox_shape_count(x->rank - 2, x->dims + 2);
    double *lse = NULL, *sm = NULL, *row = NULL;
    if (sce && D) {
        lse = c->workspace;
        sm = lse + D;
        row = sm + D;
    }
    ox_tensor *out = ox_has_output(c, 0) ? c->out[0] : NULL;
    ox_tensor *lp = sce && ox_has_output(c, 1) ? c->out[1] : NULL;
    double total = 0, wsum = 0;
    for (size_t n = 0; n < N; n++) {
        size_t xbase = n * C * D;
        if (sce) {
            log_sum_exp(x, xbase, C, D, lse, sm, row);
            if (lp)
                for (size_t k = 0; k < C; k++) {
                    size_t off = xbase + k * D;
                    elem_load_f64(x->dtype, x->data, off, 1, D, row);
                    for (size_t d = 0; d < D; d++) row[d] -= lse[d];
                    elem_store_f64(lp->dtype, row, D, lp->data, off, 1);
                }
        }
        for (size_t d = 0; d < D; d++) {
            size_t ti = n * D + d;
            int64_t cls = ox_tensor_get_int(t, ti);
            double l = 0, wt = 0;
            if (!(s->has_ignore && cls == s->ignore_index)) {
                if (cls < 0 || (uint64_t)cls >= C)
                    return ox_error(ONYX_ERR_RUNTIME, "target value %lld at element %zu is outside "
                                    "[0, %zu)", (long long)cls, ti, C);
                size_t xi = xbase + (size_t)cls * D + d;
                double v = ox_tensor_get_double(x, xi);
                if (sce) v -= lse[d];
                wt = w ? ox_tensor_get_double(w, (size_t)cls) : 1.0;
                l = -v * wt;
            }
            total += l;
            wsum += wt;
            if (out && s->reduction == RED_NONE) elem_store_f64(out->dtype, &l, 1, out->data, ti, 1);
        }
    }
    if (out && s->reduction != RED_NONE) {
        double r = s->reduction == RED_SUM ? total : total / wsum;
        elem_store_f64(out->dtype, &r, 1, out->data, 0, 1);
    }
    return ONYX_OK;
}

onyx_status ox_misc_nll_run(ox_op_ctx *c) { return loss_run(c, 0); }
onyx_status ox_misc_sce_run(ox_op_ctx *c) { return loss_run(c, 1); }
