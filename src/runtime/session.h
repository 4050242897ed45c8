/* Sessions: a checked graph, per-node prepared state, and a cache of plans, one
 * per (requested values, input shapes). */
#ifndef OX_RUNTIME_SESSION_H
#define OX_RUNTIME_SESSION_H

#include <pthread.h>

#include "plan/plan.h"
#include "util/threadpool.h"

struct onyx_tensor {
    ox_tensor t;
    int owns; /* data allocated by onyx (freed with the handle) */
};

typedef struct ox_io_info {
    onyx_value_info pub;
    int64_t dims[OX_MAX_RANK];
    const char *dim_names[OX_MAX_RANK];
} ox_io_info;

struct onyx_session {
    const ox_model *model;
    ox_arena arena;    /* the graph with functions inlined, when it differs from the model's */
    ox_rgraph *graph;
    void **node_state; /* per graph node, from prepare */
    onyx_session_options opts;
    ox_threadpool *pool;
    int owns_pool;     /* 0 for subgraph sessions, which share their parent's */
    const char **captures; /* subgraph sessions: the enclosing values the body reads */
    size_t n_captures;
    ox_io_info *in_info, *out_info;
    pthread_mutex_t mu; /* guards the plan cache */
    ox_plan **plans;
    size_t n_plans, cap_plans;
    ox_plan *default_plan; /* for the declared static input shapes, when there are some */
};

/* A session for a subgraph (an If branch, a Loop/Scan body) of a graph that parent
 * runs. Its inputs are the body's own, then its captures: the enclosing graphs'
 * values the body reads (s->captures, in order). It shares parent's model, options
 * and thread pool. On success *out is owned by the caller (onyx_session_free). */
onyx_status ox_session_create_sub(const onyx_session *parent, const ox_graph *body, onyx_session **out);

/* A finished run whose values stay readable until ox_run_release: the plan state
 * (arena) it used, and for dynamic plans the values it allocated. */
typedef struct ox_run_hold {
    ox_plan *plan;
    ox_plan_state *state;
    unsigned char *owned; /* dynamic plans: values allocated by the run */
    int temporary;        /* the plan was built for this run only */
} ox_run_hold;

/* Like ox_session_run_values, but views[i] are not copies: they point into memory h
 * keeps alive until ox_run_release(h). is_input (optional) marks views that are
 * simply one of the inputs passed through. Used by loops to avoid copying every
 * iteration's values. On failure nothing is held. */
onyx_status ox_session_run_hold(onyx_session *s, const ox_tensor *inputs, const int *requested,
                                size_t n_requested, ox_tensor *views, unsigned char *is_input,
                                ox_run_hold *h);
void ox_run_release(ox_run_hold *h);

/* Run with internal tensors: inputs[i] feeds graph input i (g->inputs order, all
 * given); requested values by index; results as new tensors the caller frees with
 * ox_tensor_free_data. Used by the public run and by tools/tests. */
onyx_status ox_session_run_values(onyx_session *s, const ox_tensor *inputs, const int *requested,
                                  size_t n_requested, ox_tensor *results);

#endif
