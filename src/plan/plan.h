/* The run plan for one request: which nodes run, in what order, the shape of every
 * value, and where each lives in one arena.
 *
 * A plan is built for a set of requested values and the concrete shapes of the graph
 * inputs. While planning, shapes are inferred node by node and every node whose
 * inputs are all known constants (initializers, folded values, or shapes only for
 * shape-reading ops like Shape) is run once and becomes a constant ("constant
 * folding"). Only the nodes the requested values depend on are kept.
 *
 * Static plan: every shape is known, so values get arena offsets (lifetimes
 * overlap-checked, memory reused) and a run allocates nothing per node.
 * Dynamic plan: some shape depends on data (e.g. Reshape of a computed shape,
 * NonZero); such a plan keeps the node order and a run infers shapes and
 * allocates node by node, freeing each value after its last use.
 *
 * A plan is immutable once built, so runs may share it; per-run memory comes from
 * ox_plan_state objects kept in a pool.
 */
#ifndef OX_PLAN_PLAN_H
#define OX_PLAN_PLAN_H

#include <pthread.h>

#include "ir/graph.h"

typedef struct ox_pvalue {
    ox_tensor t;     /* dtype and shape (static plans); data for constants */
    int known;       /* shape known while planning */
    int is_const;    /* initializer or folded value: t.data is valid */
    int owns_data;   /* folded by the plan: freed with it */
    int first, last; /* steps of definition and of last use (-1: unused) */
    size_t offset;   /* arena offset (static plans, non-constant node outputs) */
    int in_chain;    /* made and read inside a chain of steps (plan/chain.c): never stored */
    int in_arena;
} ox_pvalue;

typedef struct ox_pstep {
    int node;            /* index into the graph's nodes */
    int *in, *out;       /* value indices: the node's, as fusion rewired them */
    size_t n_in, n_out;
    int act;             /* activation fused into the node (enum ox_act) */
    float act_alpha, act_beta;
    char *label;         /* op type, or the fused ops ("Conv+BatchNormalization+Relu") */
    size_t ws_offset;    /* workspace offset in the arena (static plans) */
    size_t ws_bytes;
    void *prepacked;     /* the op's packed constant inputs (plan/prepack.c), or NULL */
    int chain;           /* runs the next `chain` steps with it (plan/chain.c); a run skips them */
    int chain_kind;      /* OX_PLAN_CHAIN_CONV or OX_PLAN_CHAIN_ATTENTION */
    int chained;         /* the first step of a chain or one of the steps it runs */
    void (*free_prepacked)(void *);
} ox_pstep;

typedef struct ox_plan_state ox_plan_state;

typedef struct ox_plan {
    int *requested; /* value indices */
    size_t n_requested;
    ox_tensor *input_shapes; /* per graph input: dtype + shape the plan was built for */
    size_t n_inputs;
    int is_static;
    ox_pvalue *values; /* one per graph value, then constants fusion made */
    size_t n_values, cap_values;
    ox_pstep *steps;
    size_t n_steps;
    size_t arena_bytes;
    size_t max_in, max_out; /* largest node arity, for per-run pointer arrays */
    pthread_mutex_t mu;     /* guards the state pool */
    ox_plan_state *pool;
} ox_plan;

/* Per-run memory: the value table and the arena. */
struct ox_plan_state {
    ox_tensor *vals; /* n_values */
    unsigned char *arena;
    ox_tensor **in_ptrs, **out_ptrs;
    ox_plan_state *next;
};

/* Build a plan. inputs: one tensor per graph input (g->inputs order) with dtype and
 * shape set (data ignored). node_state: per node, from prepare. fuse: whether to fold
 * BatchNormalization into Conv and activations into their producers (values that are
 * requested are never fused away). On success *out is owned by the caller
 * (ox_plan_free). */
onyx_status ox_plan_build(const ox_rgraph *g, void *const *node_state, const ox_tensor *inputs,
                          const int *requested, size_t n_requested, ox_threadpool *pool, int fuse,
                          ox_plan **out);

/* Fusion on a plan's steps (plan/fuse.c): Identity steps dropped (their readers read
 * the input; a result's maker writes it), Conv + BatchNormalization with constant
 * parameters become one Conv with new constant weights; Relu, LeakyRelu, Clip,
 * Sigmoid, Tanh and HardSigmoid after an op with OX_OP_FUSE_ACT become part of it;
 * x * Sigmoid(x) and the erf GELU (Div, Erf, Add, Mul, Mul) become one step of the
 * Sigmoid or Erf (OX_OP_ACT_STEP), which may then join the op before it in turn.
 * A value is fused away only when its one consumer is the fused node and it is
 * neither requested nor a graph output. Removed steps are marked node = -1. */
onyx_status ox_plan_fuse(ox_plan *p, const ox_rgraph *g, const int *requested, size_t n_requested,
                         void *const *node_state);
void ox_plan_free(ox_plan *p);

enum { OX_PLAN_CHAIN_CONV = 0, OX_PLAN_CHAIN_ATTENTION = 1 };

/* Mark chains of steps that run as one (plan/chain.c), their intermediates read by
 * the next step alone: a 1x1 Conv, a depthwise Conv and a 1x1 Conv, or the first two
 * (on 2 threads or more), and MatMul, Softmax, MatMul (attention). Static plans,
 * after fusion; the steps stay (their state and packed weights serve the chain), the
 * first gets `chain`, its kind and a label naming them all ("Conv+Clip>Conv+Clip>Conv+Add"). */
onyx_status ox_plan_chain(ox_plan *p, const ox_rgraph *g, const int *requested,
                          size_t n_requested, void *const *node_state, size_t threads);

/* Whether value v is requested or a graph output. */
int ox_plan_is_result(const ox_rgraph *g, const int *requested, size_t n_requested, int v);

/* The context a step's op sees while planning (prepack, chain checks): its inputs'
 * shapes as known, with the data of constants, in shapes[] and in[] (step->n_in
 * entries each; NULL for an omitted or unknown input), no outputs, no pool. */
ox_op_ctx ox_plan_step_ctx(const ox_plan *p, const ox_rgraph *g, void *const *node_state,
                           const ox_pstep *step, ox_tensor *shapes, ox_tensor **in);

/* Let each kept step's op pack its constant inputs once (ox_op_def.prepack);
 * plan/prepack.c. Called by ox_plan_build after fusion. */
onyx_status ox_plan_prepack(ox_plan *p, const ox_rgraph *g, void *const *node_state,
                            ox_threadpool *pool);

/* Whether p was built for these requested values and input shapes. */
int ox_plan_matches(const ox_plan *p, const ox_tensor *inputs, const int *requested,
                    size_t n_requested);

/* Take a run state from the pool (or make one); give it back after the run. */
onyx_status ox_plan_state_get(ox_plan *p, ox_plan_state **out);
void ox_plan_state_put(ox_plan *p, ox_plan_state *st);

/* Describe a node's prepare/infer/run failure: prefix the thread's message with the
 * node's label and opset. Returns s. */
onyx_status ox_node_fail(const ox_gnode *gn, onyx_status s);

#endif
