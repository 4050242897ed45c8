/* Weights packed once per plan: after folding and fusion, every kept step whose op
 * has a prepack hook gets to look at its constant inputs (the final ones: a Conv
 * with BatchNormalization folded in sees the folded weights) and keep a packed
 * copy for its runs. The plan owns the copies and frees them with the op's hook. */
#include <string.h>

#include "ops/op.h"
#include "plan/plan.h"
#include "util/alloc.h"

ox_op_ctx ox_plan_step_ctx(const ox_plan *p, const ox_rgraph *g, void *const *node_state,
                           const ox_pstep *step, ox_tensor *shapes, ox_tensor **in) {
    for (size_t k = 0; k < step->n_in; k++) {
        int v = step->in[k];
        in[k] = NULL;
        if (v < 0 || !(p->values[v].known || p->values[v].is_const)) continue;
        shapes[k] = p->values[v].t;
        if (!p->values[v].is_const) shapes[k].data = NULL;
        in[k] = &shapes[k];
    }
    const ox_gnode *gn = &g->nodes[step->node];
    return (ox_op_ctx){.node = gn->node, .opset = gn->opset, .n_in = step->n_in,
                       .n_out = step->n_out, .in = in, .state = node_state[step->node],
                       .act = step->act, .act_alpha = step->act_alpha,
                       .act_beta = step->act_beta, .chained = step->chained};
}

onyx_status ox_plan_prepack(ox_plan *p, const ox_rgraph *g, void *const *node_state,
                            ox_threadpool *pool) {
    ox_tensor **in = ox_malloc_array(p->max_in + 1, sizeof *in);
    ox_tensor *shapes = ox_malloc_array(p->max_in + 1, sizeof *shapes);
    if (!in || !shapes) {
        ox_free(in);
        ox_free(shapes);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory while planning");
    }
    onyx_status s = ONYX_OK;
    for (size_t st = 0; st < p->n_steps && s == ONYX_OK; st++) {
        ox_pstep *step = &p->steps[st];
        const ox_gnode *gn = &g->nodes[step->node];
        if (!gn->def->prepack) continue;
        ox_op_ctx c = ox_plan_step_ctx(p, g, node_state, step, shapes, in);
        c.pool = pool;
        c.workspace_bytes = step->ws_bytes;
        s = gn->def->prepack(&c, &step->prepacked);
        /* what it packed may be what run would have built in its workspace */
        if (s == ONYX_OK && c.workspace_bytes < step->ws_bytes) step->ws_bytes = c.workspace_bytes;
        if (s == ONYX_OK && step->prepacked) step->free_prepacked = gn->def->free_prepacked;
        if (s != ONYX_OK) s = ox_node_fail(gn, s);
    }
    ox_free(in);
    ox_free(shapes);
    return s;
}
