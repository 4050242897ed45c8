/* RotaryEmbedding (opset 23): rotary position embedding of 3-D (batch, seq,
 * heads * head) or 4-D (batch, heads, seq, head) inputs, full or partial,
 * half-split or interleaved pairs, with cos/sin caches indexed by position_ids
 * or given per (batch, seq). */
#include <string.h>

#include "ops/nn_ops.h"
#include "ops/rnn.h"
#include "util/alloc.h"

typedef struct rope_state {
    int interleaved;
    int64_t num_heads; /* 0 when absent */
    int64_t rot_dim;   /* 0: the whole head */
} rope_state;

onyx_status ox_rope_prepare(ox_op_ctx *c) {
    rope_state *st = ox_calloc(1, sizeof *st);
    if (!st) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    c->state = st;
    st->interleaved = ox_attr_int(c, "interleaved", 0) != 0;
    st->num_heads = ox_attr_int(c, "num_heads", 0);
    st->rot_dim = ox_attr_int(c, "rotary_embedding_dim", 0);
    OX_TRY(ox_op_status(c));
    if (st->num_heads < 0 || st->rot_dim < 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "num_heads and rotary_embedding_dim must not "
                        "be negative");
    return ONYX_OK;
}

typedef struct rope_geom {
    size_t B, S, NH, HD, RD; /* batch, sequence, heads, head size, rotated dims */
    int x3d;
} rope_geom;

static onyx_status rope_geom_of(const ox_op_ctx *c, rope_geom *g) {
    const rope_state *st = c->state;
    for (size_t i = 0; i < 3; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "inputs X, cos_cache and sin_cache are "
                            "required");
    if (!ox_has_output(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "output Y is required");
    const ox_tensor *X = c->in[0], *cs = c->in[1], *sn = c->in[2];
    if (X->dtype != ONYX_DTYPE_FLOAT && !ox_nn_is_half(X->dtype))
        return ox_error(ONYX_ERR_UNSUPPORTED, "input X is %s; expected float, float16 or "
                        "bfloat16", ox_dtype_name(X->dtype));
    if (cs->dtype != X->dtype || sn->dtype != X->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "cos_cache and sin_cache must have X's type");
    memset(g, 0, sizeof *g);
    if (X->rank == 4) {
        g->B = (size_t)X->dims[0];
        g->NH = (size_t)X->dims[1];
        g->S = (size_t)X->dims[2];
        g->HD = (size_t)X->dims[3];
    } else if (X->rank == 3) {
        if (st->num_heads <= 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "a 3-D input needs attribute num_heads");
        if (X->dims[2] % st->num_heads)
            return ox_error(ONYX_ERR_INVALID_MODEL, "hidden size %lld is not a multiple of "
                            "num_heads %lld", (long long)X->dims[2], (long long)st->num_heads);
        g->x3d = 1;
        g->B = (size_t)X->dims[0];
        g->S = (size_t)X->dims[1];
        g->NH = (size_t)st->num_heads;
        g->HD = (size_t)(X->dims[2] / st->num_heads);
    } else {
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has rank %d; expected 3 or 4",
                        (int)X->rank);
    }
    g->RD = st->rot_dim ? (size_t)st->rot_dim : g->HD;
    if (g->RD > g->HD || g->RD % 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "rotary dim %zu must be even and at most the "
                        "head size %zu", g->RD, g->HD);
    int64_t half = (int64_t)(g->RD / 2);
    if (ox_has_input(c, 3)) {
        const ox_tensor *p = c->in[3];
        if (!ox_dtype_is_int(p->dtype) || p->rank != 2 || p->dims[0] != (int64_t)g->B ||
            p->dims[1] != (int64_t)g->S)
            return ox_error(ONYX_ERR_INVALID_MODEL, "position_ids must be integers of shape "
                            "(batch, sequence)");
        if (cs->rank != 2 || sn->rank != 2 || cs->dims[1] != half || sn->dims[1] != half ||
            sn->dims[0] != cs->dims[0])
            return ox_error(ONYX_ERR_INVALID_MODEL, "with position_ids, cos_cache and sin_cache "
                            "must be (max_position + 1, %lld)", (long long)half);
    } else {
        int64_t want[3] = {(int64_t)g->B, (int64_t)g->S, half};
        for (int k = 0; k < 3; k++)
            if (cs->rank != 3 || sn->rank != 3 || cs->dims[k] != want[k] ||
                sn->dims[k] != want[k])
                return ox_error(ONYX_ERR_INVALID_MODEL, "without position_ids, cos_cache and "
                                "sin_cache must be (%lld, %lld, %lld)", (long long)want[0],
                                (long long)want[1], (long long)want[2]);
    }
    return ONYX_OK;
}

onyx_status ox_rope_infer(ox_op_ctx *c) {
    rope_geom g;
    OX_TRY(rope_geom_of(c, &g));
    ox_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
    return ONYX_OK;
}

static onyx_status rope_run_f32(ox_op_ctx *c) {
    const rope_state *st = c->state;
    rope_geom g;
    OX_TRY(rope_geom_of(c, &g));
    const float *X = c->in[0]->data, *cs = c->in[1]->data, *sn = c->in[2]->data;
    float *Y = c->out[0]->data;
    size_t half = g.RD / 2;
    int64_t n_pos = ox_has_input(c, 3) ? c->in[1]->dims[0] : 0;
    for (size_t b = 0; b < g.B; b++)
        for (size_t s = 0; s < g.S; s++) {
            size_t row = b * g.S + s;
            if (ox_has_input(c, 3)) {
                int64_t p = ox_tensor_get_int(c->in[3], row);
                if (p < 0 || p >= n_pos)
                    return ox_error(ONYX_ERR_INVALID_ARGUMENT, "position_ids[%zu][%zu] is %lld; "
                                    "the caches hold %lld positions", b, s, (long long)p,
                                    (long long)n_pos);
                row = (size_t)p;
            }
            const float *cr = cs + row * half, *sr = sn + row * half;
            for (size_t h = 0; h < g.NH; h++) {
                size_t off = g.x3d ? ((b * g.S + s) * g.NH + h) * g.HD
                                   : ((b * g.NH + h) * g.S + s) * g.HD;
                const float *x = X + off;
                float *y = Y + off;
                for (size_t k = 0; k < half; k++) {
                    size_t i1 = st->interleaved ? 2 * k : k;
                    size_t i2 = st->interleaved ? 2 * k + 1 : k + half;
                    float x1 = x[i1], x2 = x[i2];
                    y[i1] = cr[k] * x1 - sr[k] * x2;
                    y[i2] = sr[k] * x1 + cr[k] * x2;
                }
                for (size_t k = g.RD; k < g.HD; k++) y[k] = x[k];
            }
        }
    return ONYX_OK;
}

onyx_status ox_rope_run(ox_op_ctx *c) {
    if (ox_nn_has_half(c)) return ox_nn_run_as_f32(c, rope_run_f32);
    return rope_run_f32(c);
}
