#include "runtime/session.h"

#include <string.h>
#include <time.h>

#include "ops/attention_chain.h"
#include "ops/nn_conv_chain.h"
#include "passes/inline.h"
#include "util/alloc.h"

void onyx_session_options_init(onyx_session_options *o) {
    memset(o, 0, sizeof *o);
    o->threads = 1;
}

size_t onyx_session_options_size(void) { return sizeof(onyx_session_options); }

/* ---- input/output descriptions ------------------------------------------ */

static void fill_info(ox_io_info *io, const ox_gvalue *v) {
    memset(io, 0, sizeof *io);
    io->pub.name = v->name;
    io->pub.rank = -1;
    io->pub.dims = io->dims;
    io->pub.dim_names = io->dim_names;
    const ox_type *t = v->info ? v->info->type : NULL;
    if (v->kind == OX_VALUE_INITIALIZER) {
        io->pub.dtype = (onyx_dtype)v->init->dtype;
        io->pub.rank = v->init->rank;
        for (int32_t i = 0; i < v->init->rank; i++) io->dims[i] = v->init->dims[i];
        return;
    }
    if (!t || t->kind != OX_TYPE_TENSOR) return;
    io->pub.dtype = (onyx_dtype)t->elem_type;
    if (!t->has_shape || t->rank > OX_MAX_RANK) return;
    io->pub.rank = t->rank;
    for (int32_t i = 0; i < t->rank; i++) {
        io->dims[i] = t->dims[i].has_value ? t->dims[i].value : -1;
        io->dim_names[i] = t->dims[i].param;
    }
}

size_t onyx_session_input_count(const onyx_session *s) { return s ? s->graph->n_inputs : 0; }
size_t onyx_session_output_count(const onyx_session *s) { return s ? s->graph->n_outputs : 0; }

onyx_status onyx_session_input_info(const onyx_session *s, size_t i, onyx_value_info *out) {
    ox_error_clear();
    if (!s || !out || i >= s->graph->n_inputs)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input index %zu is out of range", i);
    *out = s->in_info[i].pub;
    return ONYX_OK;
}

onyx_status onyx_session_output_info(const onyx_session *s, size_t i, onyx_value_info *out) {
    ox_error_clear();
    if (!s || !out || i >= s->graph->n_outputs)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "output index %zu is out of range", i);
    *out = s->out_info[i].pub;
    return ONYX_OK;
}

size_t onyx_session_arena_bytes(const onyx_session *s, int *known) {
    int k = s && s->default_plan && s->default_plan->is_static;
    if (known) *known = k;
    return k ? s->default_plan->arena_bytes : 0;
}

/* ---- creation ------------------------------------------------------------ */

void onyx_session_free(onyx_session *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_plans; i++) ox_plan_free(s->plans[i]);
    ox_free(s->plans);
    if (s->graph && s->node_state) {
        for (size_t i = 0; i < s->graph->n_nodes; i++)
            if (s->node_state[i] && s->graph->nodes[i].def->destroy)
                s->graph->nodes[i].def->destroy(s->node_state[i]);
    }
    ox_free(s->node_state);
    ox_free(s->in_info);
    ox_free(s->out_info);
    ox_rgraph_free(s->graph);
    ox_arena_free(&s->arena);
    if (s->owns_pool) ox_threadpool_free(s->pool);
    ox_free(s->captures);
    pthread_mutex_destroy(&s->mu);
    ox_free(s);
}

static onyx_status prepare_nodes(onyx_session *s) {
    ox_rgraph *g = s->graph;
    ox_tensor *consts = ox_calloc(g->n_values ? g->n_values : 1, sizeof *consts);
    ox_tensor **in_ptrs = NULL;
    size_t max_in = 1, max_out = 1;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > max_in) max_in = g->nodes[i].n_in;
        if (g->nodes[i].n_out > max_out) max_out = g->nodes[i].n_out;
    }
    in_ptrs = ox_calloc(max_in + max_out, sizeof *in_ptrs);
    if (!consts || !in_ptrs) {
        ox_free(consts);
        ox_free(in_ptrs);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].kind == OX_VALUE_INITIALIZER) {
            const ox_tensor_proto *tp = g->values[v].init;
            ox_set_shape(&consts[v], tp->dtype, tp->rank, tp->dims);
            consts[v].data = (void *)tp->data;
        }
    onyx_status st = ONYX_OK;
    for (size_t i = 0; i < g->n_nodes && st == ONYX_OK; i++) {
        const ox_gnode *gn = &g->nodes[i];
        if (!gn->def->prepare) continue;
        for (size_t k = 0; k < gn->n_in; k++)
            in_ptrs[k] = gn->in[k] >= 0 && g->values[gn->in[k]].kind == OX_VALUE_INITIALIZER
                             ? &consts[gn->in[k]] : NULL;
        ox_op_ctx c = {.node = gn->node, .opset = gn->opset, .n_in = gn->n_in, .n_out = gn->n_out,
                       .in = in_ptrs, .out = in_ptrs + max_in, .pool = s->pool,
                       .engine = s};
        st = gn->def->prepare(&c);
        if (st == ONYX_OK) st = c.status;
        s->node_state[i] = c.state;
        if (st != ONYX_OK) st = ox_node_fail(gn, st);
    }
    ox_free(consts);
    ox_free(in_ptrs);
    return st;
}

/* Shapes of the declared inputs when every dim is a number; 0 otherwise. */
static int declared_static_inputs(const onyx_session *s, ox_tensor *shapes) {
    for (size_t i = 0; i < s->graph->n_inputs; i++) {
        const onyx_value_info *io = &s->in_info[i].pub;
        if (io->rank < 0 || !ox_dtype_valid(io->dtype)) return 0;
        memset(&shapes[i], 0, sizeof shapes[i]);
        shapes[i].dtype = io->dtype;
        shapes[i].rank = io->rank;
        for (int r = 0; r < io->rank; r++) {
            if (io->dims[r] < 0) return 0;
            shapes[i].dims[r] = io->dims[r];
        }
    }
    return 1;
}

static onyx_status get_plan(onyx_session *s, const ox_tensor *inputs, const int *requested,
                            size_t n_requested, ox_plan **out, int *temporary);

/* A session for graph g of model m (g: the main graph or a function's). */
static onyx_status session_create(const ox_model *m, const ox_graph *g_src, const ox_function *f,
                                  const char *const *attrs, size_t n_attrs,
                                  const onyx_session_options *opts, const onyx_session *parent,
                                  onyx_session **out) {
    onyx_session *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    ox_arena_init(&s->arena);
    s->model = m;
    if (opts)
        s->opts = *opts;
    else
        onyx_session_options_init(&s->opts);
    const ox_graph *flat = NULL;
    onyx_status st = f ? ox_function_graph(m, f, attrs, n_attrs, &s->arena, &flat)
                       : ox_inline_functions(m, g_src, &s->arena, &flat);
    if (st) goto fail;
    if (parent && (st = ox_graph_free_vars(flat, &s->captures, &s->n_captures))) goto fail;
    if ((st = ox_rgraph_build(m, flat, s->captures, s->n_captures, &s->graph))) goto fail;
    ox_rgraph *g = s->graph;
    s->node_state = ox_calloc(g->n_nodes ? g->n_nodes : 1, sizeof(void *));
    s->in_info = ox_calloc(g->n_inputs ? g->n_inputs : 1, sizeof *s->in_info);
    s->out_info = ox_calloc(g->n_outputs ? g->n_outputs : 1, sizeof *s->out_info);
    if (!s->node_state || !s->in_info || !s->out_info) {
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < g->n_inputs; i++) fill_info(&s->in_info[i], &g->values[g->inputs[i]]);
    for (size_t i = 0; i < g->n_outputs; i++) fill_info(&s->out_info[i], &g->values[g->outputs[i]]);
    if (parent) {
        s->pool = parent->pool;
    } else if (s->opts.threads > 1) {
        s->pool = ox_threadpool_create(s->opts.threads);
        s->owns_pool = 1;
    }
    if ((st = prepare_nodes(s))) goto fail;
    /* With static input shapes the plan for the graph outputs is built now: errors
     * show at creation and the arena size is known before anything runs. */
    ox_tensor *shapes = ox_calloc(g->n_inputs ? g->n_inputs : 1, sizeof *shapes);
    if (!shapes) {
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    if (declared_static_inputs(s, shapes))
        st = get_plan(s, shapes, g->outputs, g->n_outputs, &s->default_plan, NULL);
    ox_free(shapes);
    if (st) goto fail;
    *out = s;
    return ONYX_OK;
fail:
    onyx_session_free(s);
    return st;
}

onyx_status onyx_session_create(const onyx_model *model, const onyx_session_options *opts,
                                onyx_session **out) {
    ox_error_clear();
    if (!model || !out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "model and out must not be NULL");
    if (!model->m.graph) return ox_error(ONYX_ERR_INVALID_MODEL, "the model has no graph");
    return session_create(&model->m, model->m.graph, NULL, NULL, 0, opts, NULL, out);
}

onyx_status onyx_session_create_function(const onyx_model *model, const char *domain, const char *name,
                                         const char *const *attributes, size_t n_attributes,
                                         const onyx_session_options *opts, onyx_session **out) {
    ox_error_clear();
    if (!model || !name || !out)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "model, name and out must not be NULL");
    if (!domain) domain = "";
    const ox_function *f = ox_model_function(&model->m, domain, name);
    if (!f)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "the model has no function '%s%s%s'", domain,
                        domain[0] ? ":" : "", name);
    if (n_attributes && !attributes)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "attributes is NULL but n_attributes is %zu", n_attributes);
    return session_create(&model->m, NULL, f, attributes, n_attributes, opts, NULL, out);
}

onyx_status ox_session_create_sub(const onyx_session *parent, const ox_graph *body, onyx_session **out) {
    return session_create(parent->model, body, NULL, NULL, 0, &parent->opts, parent, out);
}

/* ---- running ------------------------------------------------------------- */

/* Plans kept per session; past this (shapes that change every run, as in a loop
 * body that grows a tensor) plans are built for one run and dropped. */
#define OX_MAX_CACHED_PLANS 32

static onyx_status get_plan(onyx_session *s, const ox_tensor *inputs, const int *requested,
                            size_t n_requested, ox_plan **out, int *temporary) {
    onyx_status st = ONYX_OK;
    if (temporary) *temporary = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_plans; i++)
        if (ox_plan_matches(s->plans[i], inputs, requested, n_requested)) {
            *out = s->plans[i];
            pthread_mutex_unlock(&s->mu);
            return ONYX_OK;
        }
    if (s->n_plans >= OX_MAX_CACHED_PLANS && temporary) {
        pthread_mutex_unlock(&s->mu);
        *temporary = 1;
        return ox_plan_build(s->graph, s->node_state, inputs, requested, n_requested, s->pool,
                             !s->opts.disable_fusion, out);
    }
    if (s->n_plans == s->cap_plans) {
        size_t cap = s->cap_plans ? s->cap_plans * 2 : 4;
        ox_plan **np = ox_realloc(s->plans, cap * sizeof *np);
        if (!np) {
            pthread_mutex_unlock(&s->mu);
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
        s->plans = np;
        s->cap_plans = cap;
    }
    ox_plan *p = NULL;
    st = ox_plan_build(s->graph, s->node_state, inputs, requested, n_requested, s->pool,
                       !s->opts.disable_fusion, &p);
    if (st == ONYX_OK) {
        s->plans[s->n_plans++] = p;
        *out = p;
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

static onyx_status run_alloc_output(ox_op_ctx *c, size_t i) {
    size_t n, bytes;
    ox_tensor *t = c->out[i];
    if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &n, &bytes))
        return ox_error(ONYX_ERR_LIMIT, "output %zu has an invalid or too large shape", i);
    return ox_tensor_alloc_data(t);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copy a value into a new tensor the caller owns. */
static onyx_status copy_out(const ox_tensor *src, ox_tensor *dst) {
    onyx_status st = ox_value_copy(src, dst);
    return st ? ox_error(st, "out of memory for an output") : ONYX_OK;
}

/* A step's context for a run: in[] and out[] (step->n_in and n_out entries) point at
 * its values in the run state. */
static ox_op_ctx step_ctx(onyx_session *s, const ox_pstep *step, ox_plan_state *stt,
                          ox_tensor **in, ox_tensor **out) {
    const ox_gnode *gn = &s->graph->nodes[step->node];
    for (size_t i = 0; i < step->n_in; i++)
        in[i] = step->in[i] >= 0 ? &stt->vals[step->in[i]] : NULL;
    for (size_t i = 0; i < step->n_out; i++)
        out[i] = step->out[i] >= 0 ? &stt->vals[step->out[i]] : NULL;
    return (ox_op_ctx){.node = gn->node, .opset = gn->opset, .n_in = step->n_in,
                       .n_out = step->n_out, .in = in, .out = out,
                       .state = s->node_state[step->node], .pool = s->pool,
                       .alloc_output = run_alloc_output, .act = step->act,
                       .act_alpha = step->act_alpha, .act_beta = step->act_beta,
                       .prepacked = step->prepacked};
}

/* Steps k .. k + step->chain of a static plan as one chain (plan/chain.c makes them
 * at most OX_CHAIN_STEPS long, each of one output and at most OX_CHAIN_MAX_IN
 * inputs). */
static onyx_status run_chain(onyx_session *s, ox_plan *p, ox_plan_state *stt, size_t k) {
    enum { STEPS = OX_CHAIN_STEPS, MAX_IN = OX_CHAIN_MAX_IN };
    ox_tensor *in[STEPS][MAX_IN], *out[STEPS];
    ox_op_ctx c[STEPS];
    ox_op_ctx *ctx[STEPS];
    size_t n = (size_t)p->steps[k].chain + 1;
    for (size_t i = 0; i < n && i < STEPS; i++) {
        c[i] = step_ctx(s, &p->steps[k + i], stt, in[i], &out[i]);
        ctx[i] = &c[i];
    }
    if (p->steps[k].chain_kind == OX_PLAN_CHAIN_ATTENTION) return ox_attention_chain_run(ctx);
    return ox_conv_chain_run(ctx, n);
}

/* Execute the plan's steps on a state whose vals hold the inputs. */
static onyx_status execute(onyx_session *s, ox_plan *p, ox_plan_state *stt, unsigned char *owned) {
    const ox_rgraph *g = s->graph;
    onyx_status st = ONYX_OK;
    for (size_t k = 0; k < p->n_steps; k++) {
        const ox_pstep *step = &p->steps[k];
        const ox_gnode *gn = &g->nodes[step->node];
        const int *sin = step->in, *sout = step->out;
        ox_op_ctx c = step_ctx(s, step, stt, stt->in_ptrs, stt->out_ptrs);
        double t0 = s->opts.node_callback ? now_seconds() : 0;
        if (p->is_static && step->chain) {
            st = run_chain(s, p, stt, k);
            k += (size_t)step->chain;
        } else if (p->is_static) {
            c.workspace_bytes = step->ws_bytes;
            c.workspace = step->ws_bytes ? stt->arena + step->ws_offset : NULL;
            st = gn->def->run(&c);
        } else {
            st = gn->def->infer(&c);
            /* ops that size their outputs while running may not know them yet */
            if (st == OX_NEED_VALUE && (gn->def->flags & OX_OP_ALLOC_IN_RUN)) st = ONYX_OK;
            if (st == ONYX_OK && !(gn->def->flags & OX_OP_ALLOC_IN_RUN))
                for (size_t i = 0; i < step->n_out && st == ONYX_OK; i++) {
                    if (sout[i] < 0) continue;
                    st = run_alloc_output(&c, i);
                    if (st == ONYX_OK) owned[sout[i]] = 1;
                }
            if (st == ONYX_OK && c.workspace_bytes) {
                c.workspace = ox_malloc_aligned(c.workspace_bytes);
                if (!c.workspace) st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for workspace");
            }
            if (st == ONYX_OK) st = gn->def->run(&c);
            ox_free_aligned(c.workspace);
            for (size_t i = 0; i < step->n_out; i++)
                if (sout[i] >= 0) owned[sout[i]] = stt->vals[sout[i]].data != NULL;
            /* free values whose last use was this step */
            for (size_t i = 0; i < step->n_in; i++) {
                int v = sin[i];
                if (v >= 0 && owned[v] && p->values[v].last == (int)k) {
                    ox_tensor_free_data(&stt->vals[v]);
                    owned[v] = 0;
                }
            }
        }
        if (st != ONYX_OK) return ox_node_fail(gn, st);
        if (s->opts.node_callback)
            s->opts.node_callback(s->opts.node_callback_user, gn->node->name, step->label,
                                  now_seconds() - t0);
    }
    return ONYX_OK;
}

void ox_run_release(ox_run_hold *h) {
    if (!h->plan) return;
    if (h->owned) {
        for (size_t v = 0; v < h->plan->n_values; v++)
            if (h->owned[v]) ox_tensor_free_data(&h->state->vals[v]);
        /* restore the plan's view of every value for the next run */
        for (size_t v = 0; v < h->plan->n_values; v++) h->state->vals[v] = h->plan->values[v].t;
        ox_free(h->owned);
    }
    ox_plan_state_put(h->plan, h->state);
    if (h->temporary) ox_plan_free(h->plan);
    memset(h, 0, sizeof *h);
}

onyx_status ox_session_run_hold(onyx_session *s, const ox_tensor *inputs, const int *requested,
                                size_t n_requested, ox_tensor *views, unsigned char *is_input,
                                ox_run_hold *h) {
    memset(h, 0, sizeof *h);
    onyx_status st = get_plan(s, inputs, requested, n_requested, &h->plan, &h->temporary);
    if (st) return st;
    if ((st = ox_plan_state_get(h->plan, &h->state))) {
        if (h->temporary) ox_plan_free(h->plan);
        memset(h, 0, sizeof *h);
        return st;
    }
    const ox_rgraph *g = s->graph;
    for (size_t i = 0; i < g->n_inputs; i++) h->state->vals[g->inputs[i]].data = inputs[i].data;
    if (!h->plan->is_static) {
        h->owned = ox_calloc(h->plan->n_values ? h->plan->n_values : 1, 1);
        if (!h->owned) st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (st == ONYX_OK) st = execute(s, h->plan, h->state, h->owned);
    if (st) {
        ox_run_release(h);
        return st;
    }
    for (size_t i = 0; i < n_requested; i++) {
        views[i] = h->state->vals[requested[i]];
        if (is_input) is_input[i] = g->values[requested[i]].kind == OX_VALUE_INPUT;
    }
    return ONYX_OK;
}

onyx_status ox_session_run_values(onyx_session *s, const ox_tensor *inputs, const int *requested,
                                  size_t n_requested, ox_tensor *results) {
    ox_run_hold h;
    OX_TRY(ox_session_run_hold(s, inputs, requested, n_requested, results, NULL, &h));
    onyx_status st = ONYX_OK;
    size_t n_done = 0;
    for (; st == ONYX_OK && n_done < n_requested; n_done++) {
        ox_tensor view = results[n_done];
        st = copy_out(&view, &results[n_done]);
    }
    if (st)
        for (size_t i = 0; i + 1 < n_done; i++) ox_tensor_free_data(&results[i]);
    ox_run_release(&h);
    return st;
}

/* Check a caller's tensor against the declared type of graph input i. */
static onyx_status check_input(const onyx_session *s, size_t i, const ox_tensor *t) {
    const onyx_value_info *io = &s->in_info[i].pub;
    char buf[300];
    if (io->dtype != ONYX_DTYPE_UNDEFINED && t->dtype != (int32_t)io->dtype)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' has dtype %s, expected %s", io->name,
                        ox_dtype_name(t->dtype), ox_dtype_name(io->dtype));
    if (io->rank >= 0) {
        if (t->rank != io->rank)
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' has rank %d (shape %s), expected rank %d",
                            io->name, t->rank, ox_shape_describe(t->rank, t->dims, buf, sizeof buf),
                            io->rank);
        for (int r = 0; r < io->rank; r++)
            if (io->dims[r] >= 0 && io->dims[r] != t->dims[r])
                return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                                "input '%s' has shape %s, but dim %d must be %lld", io->name,
                                ox_shape_describe(t->rank, t->dims, buf, sizeof buf), r,
                                (long long)io->dims[r]);
    }
    return ONYX_OK;
}

onyx_status onyx_session_run(onyx_session *s, size_t n_inputs, const char *const *input_names,
                             const onyx_tensor *const *inputs, size_t n_outputs,
                             const char *const *output_names, onyx_tensor **outputs) {
    ox_error_clear();
    if (!s || (n_inputs && (!input_names || !inputs)) || (n_outputs && !outputs))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "NULL argument to onyx_session_run");
    const ox_rgraph *g = s->graph;
    if (!output_names && n_outputs != g->n_outputs)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT,
                        "output_names is NULL, so n_outputs must be the graph's %zu outputs (got %zu)",
                        g->n_outputs, n_outputs);
    onyx_status st = ONYX_OK;
    ox_tensor *in = ox_calloc(g->n_inputs + 1, sizeof *in);
    unsigned char *given = ox_calloc(g->n_inputs + 1, 1);
    int *req = ox_malloc_array(n_outputs + 1, sizeof *req);
    ox_tensor *res = ox_calloc(n_outputs + 1, sizeof *res);
    if (!in || !given || !req || !res) {
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        const char *name = input_names[i];
        if (!name || !inputs[i]) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "input %zu has a NULL name or tensor", i);
            goto done;
        }
        size_t k = 0;
        while (k < g->n_inputs && strcmp(g->values[g->inputs[k]].name, name) != 0) k++;
        if (k == g->n_inputs) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "'%s' is not an input of the graph", name);
            goto done;
        }
        if (given[k]) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' is given twice", name);
            goto done;
        }
        if ((st = check_input(s, k, &inputs[i]->t))) goto done;
        given[k] = 1;
        in[k] = inputs[i]->t;
    }
    for (size_t k = 0; k < g->n_inputs; k++)
        if (!given[k]) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "input '%s' is missing", g->values[g->inputs[k]].name);
            goto done;
        }
    for (size_t i = 0; i < n_outputs; i++) {
        if (!output_names) {
            req[i] = g->outputs[i];
            continue;
        }
        if (!output_names[i]) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "output name %zu is NULL", i);
            goto done;
        }
        req[i] = ox_rgraph_find(g, output_names[i]);
        if (req[i] < 0) {
            st = ox_error(ONYX_ERR_INVALID_ARGUMENT, "'%s' is not a value of the graph", output_names[i]);
            goto done;
        }
    }
    if ((st = ox_session_run_values(s, in, req, n_outputs, res))) goto done;
    size_t made = 0;
    for (; made < n_outputs; made++) {
        onyx_tensor *h = ox_calloc(1, sizeof *h);
        if (!h) break;
        h->t = res[made];
        h->owns = 1;
        outputs[made] = h;
    }
    if (made < n_outputs) {
        for (size_t i = 0; i < made; i++) {
            onyx_tensor_free(outputs[i]);
            outputs[i] = NULL;
        }
        for (size_t i = made; i < n_outputs; i++) ox_tensor_free_data(&res[i]);
        st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
done:
    ox_free(in);
    ox_free(given);
    ox_free(req);
    ox_free(res);
    return st;
}
