/* TensorScatter (opset 24): write `update` into a copy of `past_cache` along the
 * sequence axis, starting at each batch entry's write index (a KV-cache update).
 * In linear mode the written range must lie inside the cache; in circular mode
 * positions wrap modulo the cache length. Any element type (strings are copied). */
#include <string.h>

#include "ops/tensor_util.h"
#include "ops/text_util.h"
#include "util/alloc.h"

typedef struct ts_state {
    ox_text_state base;
    int64_t axis;
    int circular;
} ts_state;

onyx_status ox_text_tensor_scatter_prepare(ox_op_ctx *c) {
    ts_state *s = ox_text_state_new(c, sizeof *s, NULL);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    s->axis = ox_attr_int(c, "axis", -2);
    const char *mode = ox_attr_str(c, "mode", "linear");
    OX_TRY(ox_op_status(c));
    if (!strcmp(mode, "circular")) s->circular = 1;
    else if (strcmp(mode, "linear"))
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute mode is '%s'; expected linear or circular", mode);
    return ONYX_OK;
}

static onyx_status ts_check(const ox_op_ctx *c, int32_t *axis) {
    const ts_state *s = c->state;
    OX_TRY(ox_tx_need_input(c, 0, "past_cache"));
    OX_TRY(ox_tx_need_input(c, 1, "update"));
    const ox_tensor *p = c->in[0], *u = c->in[1];
    if (u->dtype != p->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input update is %s; past_cache is %s",
                        ox_dtype_name(u->dtype), ox_dtype_name(p->dtype));
    if (p->rank < 2 || u->rank != p->rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "past_cache and update must have one rank >= 2 "
                        "(they have %d and %d)", p->rank, u->rank);
    OX_TRY(ox_norm_axis(s->axis, p->rank, axis));
    if (*axis == 0) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute axis cannot be the batch axis 0");
    for (int32_t d = 0; d < p->rank; d++) {
        if (d != *axis && u->dims[d] != p->dims[d])
            return ox_error(ONYX_ERR_INVALID_MODEL, "update dim %d is %lld; past_cache has %lld", d,
                            (long long)u->dims[d], (long long)p->dims[d]);
        if (d == *axis && u->dims[d] > p->dims[d])
            return ox_error(ONYX_ERR_INVALID_MODEL, "update's sequence length %lld exceeds the cache's %lld",
                            (long long)u->dims[d], (long long)p->dims[d]);
    }
    if (ox_has_input(c, 2)) {
        const ox_tensor *w = c->in[2];
        if (w->dtype != ONYX_DTYPE_INT64 || w->rank != 1 || w->dims[0] != p->dims[0])
            return ox_error(ONYX_ERR_INVALID_MODEL, "input write_indices must be int64 [%lld]",
                            (long long)p->dims[0]);
    }
    return ONYX_OK;
}

onyx_status ox_text_tensor_scatter_infer(ox_op_ctx *c) {
    int32_t axis;
    OX_TRY(ts_check(c, &axis));
    const ox_tensor *p = c->in[0];
    ox_set_shape(c->out[0], p->dtype, p->rank, p->dims);
    c->workspace_bytes = (size_t)p->dims[axis] * sizeof(int64_t) + 8;
    return ONYX_OK;
}

onyx_status ox_text_tensor_scatter_run(ox_op_ctx *c) {
    const ts_state *s = c->state;
    int32_t axis;
    OX_TRY(ts_check(c, &axis));
    const ox_tensor *p = c->in[0], *u = c->in[1];
    const int64_t *wi = ox_has_input(c, 2) ? c->in[2]->data : NULL;
    size_t batch = (size_t)p->dims[0], outer = ox_tx_prod(p->dims, 0, axis);
    size_t inner = ox_tx_prod(p->dims, axis + 1, p->rank), es = ox_dtype_size(p->dtype);
    int64_t max_seq = p->dims[axis], seq = u->dims[axis];
    int64_t *map = c->workspace;
    const char *pd = p->data, *ud = u->data;
    char *yd = c->out[0]->data;
    for (size_t o = 0; o < outer; o++) {
        size_t b = o / (outer / batch);
        int64_t w = wi ? wi[b] : 0;
        for (int64_t q = 0; q < max_seq; q++) map[q] = -1;
        if (s->circular) {
            int64_t base = max_seq ? ((w % max_seq) + max_seq) % max_seq : 0;
            for (int64_t q = 0; q < seq; q++) map[(base + q) % max_seq] = q;
        } else {
            if (w < 0 || w > max_seq - seq)
                return ox_error(ONYX_ERR_RUNTIME, "write_indices[%zu] is %lld; with %lld updates it "
                                "must lie in [0, %lld]", b, (long long)w, (long long)seq,
                                (long long)(max_seq - seq));
            for (int64_t q = 0; q < seq; q++) map[w + q] = q;
        }
        for (int64_t q = 0; q < max_seq; q++) {
            const char *src = map[q] >= 0 ? ud + ((o * (size_t)seq + (size_t)map[q]) * inner) * es
                                          : pd + ((o * (size_t)max_seq + (size_t)q) * inner) * es;
            OX_TRY(ox_tx_copy(yd + ((o * (size_t)max_seq + (size_t)q) * inner) * es, src, inner, p->dtype));
        }
    }
    return ONYX_OK;
}
