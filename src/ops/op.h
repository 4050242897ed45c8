/* The operator interface.
 *
 * An op knows ONNX semantics: attributes, input/output counts and types,
 * broadcasting, shape rules, and what changed between opset versions. It is
 * registered once by (domain, name) with the oldest opset it implements, and
 * branches on c->opset where versions differ. Heavy compute lives in kernels/.
 *
 * The engine calls, for each node:
 *   prepare(c)  once, when the session is built: read and check attributes, keep
 *               what run needs in c->state (read-only afterwards: runs may be
 *               concurrent). c->in[i] is the input's tensor when it is a constant
 *               (an initializer or a folded value, data set), else NULL.
 *   infer(c)    whenever input shapes are (re)bound: c->in[i] has dtype and shape,
 *               and data when the value is known (always at run time, only for
 *               constants while planning). Check the inputs and set dtype, rank and
 *               dims of every present c->out[i]. If the output shape depends on an
 *               input value that is not known yet, return OX_NEED_VALUE. May set
 *               c->workspace_bytes for scratch memory run needs.
 *   prepack(c)  optional, once per plan: pack constant inputs (weights) for run.
 *               c->workspace_bytes holds infer's figure (or, for a step fusion changed,
 *               the fusion's for the fused op); prepack may lower it where
 *               run then needs less (the packed weights it would have made there).
 *   run(c)      compute: inputs have data, outputs are allocated per infer (unless
 *               the op has OX_OP_ALLOC_IN_RUN: then run sets out[i] dtype/dims and
 *               calls c->alloc_output). c->workspace holds workspace_bytes bytes.
 *
 * Errors: return ox_error(status, "what is wrong"); the engine prefixes the node's
 * name, op type and opset. Attribute readers below record the first problem in
 * c->status and return the default; return ox_op_status(c) at the end of prepare.
 */
#ifndef OX_OPS_OP_H
#define OX_OPS_OP_H

#include <stddef.h>
#include <stdint.h>

#include "ir/model.h"
#include "ir/tensor.h"
#include "util/status.h"

/* infer: an output shape needs an input value that is not known while planning. */
#define OX_NEED_VALUE ((onyx_status)100)

typedef struct ox_threadpool ox_threadpool;
typedef struct ox_op_ctx ox_op_ctx;

struct ox_op_ctx {
    const ox_node *node;
    int64_t opset; /* the model's opset version for the node's domain */
    size_t n_in, n_out;
    ox_tensor **in;  /* n_in entries; NULL for an omitted input ("" name) */
    ox_tensor **out; /* n_out entries; NULL for an omitted output */
    void *state;     /* set by prepare; read-only in infer and run */
    ox_threadpool *pool; /* may be NULL: run on the calling thread */
    size_t workspace_bytes; /* set by infer */
    void *workspace;        /* run: workspace_bytes of 64-byte aligned scratch */
    onyx_status status;     /* first attribute problem (see ox_attr_* below) */
    /* An activation the planner fused into this node (ops with OX_OP_FUSE_ACT): apply
     * it to output 0 (float32) after computing it. */
    int act; /* enum ox_act */
    float act_alpha, act_beta;
    /* What the op's prepack hook made for this step (constant weights in the
     * kernel's layout), or NULL: run must work without it (constant folding and
     * single-op runs have none). */
    const void *prepacked;
    /* Prepack only: the step runs inside a chain of steps (plan/chain.c), so its
     * weights are packed for the chain's kernels. */
    int chained;
    /* OX_OP_ALLOC_IN_RUN ops: allocate out[i]->data for the dtype/dims run set. */
    onyx_status (*alloc_output)(ox_op_ctx *c, size_t i);
    void *engine; /* private to the engine */
};

enum {
    OX_OP_ALLOC_IN_RUN = 1, /* output shapes are known only after computing (NonZero, Unique) */
    OX_OP_SHAPE_ONLY = 2,   /* run reads only input shapes, never input data (Shape, Size) */
    OX_OP_FUSE_ACT = 4,     /* run applies c->act to a float32 output 0 */
    OX_OP_NO_FOLD = 8,      /* never run while planning, even with constant inputs (random ops) */
    /* A unary op whose step the planner may turn into a fused pattern's step: when
     * c->act is set, run computes out[0] = act(in[0]) (float32) instead of the op
     * (the Sigmoid of x * Sigmoid(x) becomes SiLU, the Erf of the GELU pattern GELU). */
    OX_OP_ACT_STEP = 16
};

/* Activations the planner can fuse into the node before them. */
enum ox_act {
    OX_ACT_NONE = 0,
    OX_ACT_RELU,
    OX_ACT_LEAKY_RELU, /* alpha */
    OX_ACT_CLIP,       /* [alpha, beta] */
    OX_ACT_SIGMOID,
    OX_ACT_TANH,
    OX_ACT_HARD_SIGMOID, /* max(0, min(1, alpha * x + beta)) */
    OX_ACT_SILU,         /* x * sigmoid(x) */
    OX_ACT_GELU          /* 0.5 x (1 + erf(x / sqrt 2)) */
};

/* y[i] = act(y[i]) for i in [0, n). */
void ox_act_apply(float *y, size_t n, int act, float alpha, float beta);
/* y[i] = act(x[i]) for i in [0, n); y may be x, else the two must not overlap. */
void ox_act_apply_to(const float *x, float *y, size_t n, int act, float alpha, float beta);

typedef struct ox_op_def {
    const char *domain;  /* "" = default ONNX domain */
    const char *name;
    int since_version;   /* oldest opset implemented */
    onyx_status (*prepare)(ox_op_ctx *c); /* optional */
    void (*destroy)(void *state);         /* optional: frees c->state */
    onyx_status (*infer)(ox_op_ctx *c);
    onyx_status (*run)(ox_op_ctx *c);
    unsigned flags;
    const char *types; /* documentation: the element types run accepts, e.g. "float32 int64" */
    /* optional: once per plan, after folding and fusion, with c->in[i] holding the
     * dtype and shape of each input the plan knows them for (NULL otherwise) and data
     * for the constant ones only (NULL otherwise), and c->act the fused activation; may set
     * *out to packed data that run then finds in c->prepacked. Returning without
     * setting *out is fine (the op runs unpacked). */
    onyx_status (*prepack)(ox_op_ctx *c, void **out);
    void (*free_prepacked)(void *packed);
} ox_op_def;

/* Find the op for (domain, name) at an opset; NULL if none. */
const ox_op_def *ox_op_find(const char *domain, const char *name, int64_t opset);
/* Every registered op, for documentation; *n receives the count. */
const ox_op_def *const *ox_op_all(size_t *n);

/* ---- attributes (record the first problem in c->status) ------------------ */
const ox_attr *ox_attr_get(ox_op_ctx *c, const char *name); /* NULL when absent */
int64_t ox_attr_int(ox_op_ctx *c, const char *name, int64_t def);
float ox_attr_float(ox_op_ctx *c, const char *name, float def);
/* Nul-terminated string attribute (def when absent). */
const char *ox_attr_str(ox_op_ctx *c, const char *name, const char *def);
/* List attributes: NULL and *n = 0 when absent. */
const int64_t *ox_attr_ints(ox_op_ctx *c, const char *name, size_t *n);
const float *ox_attr_floats(ox_op_ctx *c, const char *name, size_t *n);
const ox_tensor_proto *ox_attr_tensor(ox_op_ctx *c, const char *name);
static inline onyx_status ox_op_status(const ox_op_ctx *c) { return c->status; }

/* ---- small helpers for ops ---------------------------------------------- */
static inline int ox_has_input(const ox_op_ctx *c, size_t i) { return i < c->n_in && c->in[i]; }
static inline int ox_has_output(const ox_op_ctx *c, size_t i) { return i < c->n_out && c->out[i]; }
/* Normalise axis (may be negative) into [0, rank); error if outside [-rank, rank). */
onyx_status ox_norm_axis(int64_t axis, int32_t rank, int32_t *out);
/* Set out's dtype and shape. */
void ox_set_shape(ox_tensor *out, int32_t dtype, int32_t rank, const int64_t *dims);
/* Read element i of an integer tensor (int8..int64, uint8..uint64, bool) as int64. */
int64_t ox_tensor_get_int(const ox_tensor *t, size_t i);
/* Read element i of a float/double/float16/bfloat16/integer tensor as double. */
double ox_tensor_get_double(const ox_tensor *t, size_t i);

/* ---- running one op outside a session (unit tests, constant folding) ------
 * Prepares, infers, allocates outputs (ox_malloc_aligned, caller frees each
 * out[i].data with ox_tensor_free_data) and runs a node. in[i] may be NULL for
 * omitted inputs; every input needs data. out has n_out slots. */
onyx_status ox_op_run_single(const ox_node *node, int64_t opset, ox_tensor *const *in,
                             size_t n_in, ox_tensor *out, size_t n_out);
/* The same with a thread pool for the op's kernels. */
onyx_status ox_op_run_single_on(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool);
/* The same, and with prepack set, through the op's prepack hook first (as a plan
 * would with all inputs constant), so tests reach the packed paths. */
onyx_status ox_op_run_single_ex(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool,
                                int prepack);
/* The same with an activation fused into the node (ox_op_ctx.act and its alpha and
 * beta), as the planner's fusion sets it. */
onyx_status ox_op_run_single_act(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                 size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool,
                                 int prepack, int act, float act_alpha, float act_beta);

#endif
