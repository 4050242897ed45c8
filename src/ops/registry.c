/* The op registry and the helpers every op uses. */
#include <pthread.h>
#include <string.h>

#include "ops/op.h"
#include "util/alloc.h"
#include "util/fp16.h"

/* Op families; each file set exports one table ending with a zeroed entry. */
extern const ox_op_def ox_ops_elementwise[];
extern const ox_op_def ox_ops_tensor[];
extern const ox_op_def ox_ops_nn[];
extern const ox_op_def ox_ops_reduce[];
extern const ox_op_def ox_ops_sequence[];
extern const ox_op_def ox_ops_rnn[];
/* If, Loop, Scan, SequenceMap: in runtime/control_flow.c (running bodies needs sessions) */
extern const ox_op_def ox_ops_control[];
/* quantization, losses, Einsum, signal, random: ops/misc.c */
extern const ox_op_def ox_ops_misc[];
/* strings, regex, ai.onnx.ml, training optimizers, DeformConv, TensorScatter: ops/text.c */
extern const ox_op_def ox_ops_text[];
/* Resize, Upsample, GridSample, AffineGrid, RoiAlign, MaxRoiPool, NMS, Col2Im: ops/image.c */
extern const ox_op_def ox_ops_image[];

static const ox_op_def *const families[] = {ox_ops_elementwise, ox_ops_tensor,  ox_ops_nn,
                                             ox_ops_reduce,      ox_ops_sequence, ox_ops_control,
                                             ox_ops_rnn,         ox_ops_misc,     ox_ops_text,
                                             ox_ops_image};

const ox_op_def *ox_op_find(const char *domain, const char *name, int64_t opset) {
    if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        for (const ox_op_def *d = families[f]; d->name; d++) {
            if (strcmp(d->name, name) == 0 && strcmp(d->domain, domain) == 0 &&
                opset >= d->since_version)
                return d;
        }
    }
    return NULL;
}

static const ox_op_def *all_ops[1024];
static size_t n_all_ops;

static void collect_ops(void) {
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        for (const ox_op_def *d = families[f]; d->name && n_all_ops < 1024; d++) all_ops[n_all_ops++] = d;
}

const ox_op_def *const *ox_op_all(size_t *n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, collect_ops);
    *n = n_all_ops;
    return all_ops;
}

/* ---- attributes ---------------------------------------------------------- */

static const char *attr_type_name(int t) {
    static const char *names[] = {"undefined", "float",   "int",     "string",
                                  "tensor",    "graph",   "floats",  "ints",
                                  "strings",   "tensors", "graphs",  "sparse_tensor",
                                  "sparse_tensors", "type_proto", "type_protos"};
    return t >= 0 && t <= 14 ? names[t] : "unknown";
}

const ox_attr *ox_attr_get(ox_op_ctx *c, const char *name) { return ox_node_attr(c->node, name); }

static const ox_attr *attr_typed(ox_op_ctx *c, const char *name, int type) {
    const ox_attr *a = ox_node_attr(c->node, name);
    if (!a) return NULL;
    if (a->type != type) {
        if (c->status == ONYX_OK)
            c->status = ox_error(ONYX_ERR_INVALID_MODEL, "attribute '%s' is %s, expected %s", name,
                                 attr_type_name(a->type), attr_type_name(type));
        return NULL;
    }
    return a;
}

int64_t ox_attr_int(ox_op_ctx *c, const char *name, int64_t def) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_INT);
    return a ? a->i : def;
}

float ox_attr_float(ox_op_ctx *c, const char *name, float def) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_FLOAT);
    return a ? a->f : def;
}

const char *ox_attr_str(ox_op_ctx *c, const char *name, const char *def) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_STRING);
    return a ? a->s.data : def;
}

const int64_t *ox_attr_ints(ox_op_ctx *c, const char *name, size_t *n) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_INTS);
    *n = a ? a->n : 0;
    return a ? a->ints : NULL;
}

const float *ox_attr_floats(ox_op_ctx *c, const char *name, size_t *n) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_FLOATS);
    *n = a ? a->n : 0;
    return a ? a->floats : NULL;
}

const ox_tensor_proto *ox_attr_tensor(ox_op_ctx *c, const char *name) {
    const ox_attr *a = attr_typed(c, name, OX_ATTR_TENSOR);
    return a ? a->t : NULL;
}

/* ---- helpers --------------------------------------------------------------- */

onyx_status ox_norm_axis(int64_t axis, int32_t rank, int32_t *out) {
    if (axis < -(int64_t)rank || axis >= (int64_t)rank)
        return ox_error(ONYX_ERR_INVALID_MODEL, "axis %lld is out of range for rank %d",
                        (long long)axis, rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return ONYX_OK;
}

void ox_set_shape(ox_tensor *out, int32_t dtype, int32_t rank, const int64_t *dims) {
    out->dtype = dtype;
    out->rank = rank;
    for (int32_t i = 0; i < rank; i++) out->dims[i] = dims[i];
}

int64_t ox_tensor_get_int(const ox_tensor *t, size_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case ONYX_DTYPE_INT8: return ((const int8_t *)d)[i];
    case ONYX_DTYPE_INT16: return ((const int16_t *)d)[i];
    case ONYX_DTYPE_INT32: return ((const int32_t *)d)[i];
    case ONYX_DTYPE_INT64: return ((const int64_t *)d)[i];
    case ONYX_DTYPE_INT4:
    case ONYX_DTYPE_INT2: return ((const int8_t *)d)[i];
    case ONYX_DTYPE_UINT4:
    case ONYX_DTYPE_UINT2:
    case ONYX_DTYPE_UINT8:
    case ONYX_DTYPE_BOOL: return ((const uint8_t *)d)[i];
    case ONYX_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case ONYX_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case ONYX_DTYPE_UINT64: return (int64_t)((const uint64_t *)d)[i];
    default: {
        /* floats: truncated toward zero, NaN as 0, out-of-range values clamped */
        double v = ox_tensor_get_double(t, i);
        if (v != v) return 0;
        if (v >= 9.2233720368547758e18) return INT64_MAX;
        if (v <= -9.2233720368547758e18) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

double ox_tensor_get_double(const ox_tensor *t, size_t i) {
    const void *d = t->data;
    switch (t->dtype) {
    case ONYX_DTYPE_FLOAT: return ((const float *)d)[i];
    case ONYX_DTYPE_DOUBLE: return ((const double *)d)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)d)[i]);
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(((const uint16_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E4M3FN:
    case ONYX_DTYPE_FLOAT8E4M3FNUZ:
    case ONYX_DTYPE_FLOAT8E5M2:
    case ONYX_DTYPE_FLOAT8E5M2FNUZ: return ox_f8_to_f32(((const uint8_t *)d)[i], t->dtype);
    case ONYX_DTYPE_FLOAT4E2M1: return ox_f4_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_FLOAT8E8M0: return ox_e8m0_to_f32(((const uint8_t *)d)[i]);
    case ONYX_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    case ONYX_DTYPE_INT8:
    case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_INT32:
    case ONYX_DTYPE_INT64:
    case ONYX_DTYPE_INT4:
    case ONYX_DTYPE_UINT4:
    case ONYX_DTYPE_INT2:
    case ONYX_DTYPE_UINT2:
    case ONYX_DTYPE_UINT8:
    case ONYX_DTYPE_BOOL:
    case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_UINT32: return (double)ox_tensor_get_int(t, i);
    default: return 0; /* strings, complex: not numbers */
    }
}

/* ---- running one node ---------------------------------------------------- */

static onyx_status single_alloc_output(ox_op_ctx *c, size_t i) {
    return ox_tensor_alloc_data(c->out[i]);
}

onyx_status ox_op_run_single(const ox_node *node, int64_t opset, ox_tensor *const *in,
                             size_t n_in, ox_tensor *out, size_t n_out) {
    return ox_op_run_single_on(node, opset, in, n_in, out, n_out, NULL);
}

onyx_status ox_op_run_single_on(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    return ox_op_run_single_ex(node, opset, in, n_in, out, n_out, pool, 0);
}

onyx_status ox_op_run_single_ex(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool,
                                int prepack) {
    return ox_op_run_single_act(node, opset, in, n_in, out, n_out, pool, prepack, 0, 0.0f,
                                0.0f);
}

onyx_status ox_op_run_single_act(const ox_node *node, int64_t opset, ox_tensor *const *in,
                                 size_t n_in, ox_tensor *out, size_t n_out, ox_threadpool *pool,
                                 int prepack, int act, float act_alpha, float act_beta) {
    const ox_op_def *def = ox_op_find(node->domain, node->op_type, opset);
    if (!def)
        return ox_error(ONYX_ERR_UNSUPPORTED, "no operator %s%s%s at opset %lld",
                        node->domain[0] ? node->domain : "", node->domain[0] ? "." : "",
                        node->op_type, (long long)opset);
    ox_tensor *outs[64];
    ox_tensor *ins[64];
    if (n_in > 64 || n_out > 64) return ox_error(ONYX_ERR_LIMIT, "too many inputs or outputs");
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out,
                   .in = ins, .out = outs, .pool = pool, .alloc_output = single_alloc_output,
                   .act = act, .act_alpha = act_alpha, .act_beta = act_beta};
    onyx_status s = ONYX_OK;
    if (def->prepare) s = def->prepare(&c);
    if (s == ONYX_OK) s = def->infer(&c);
    if (s == ONYX_OK && !(def->flags & OX_OP_ALLOC_IN_RUN)) {
        for (size_t i = 0; i < n_out && s == ONYX_OK; i++) {
            s = ox_tensor_alloc_data(&out[i]);
            if (s != ONYX_OK) s = ox_error(s, "output %zu is too large", i);
        }
    }
    if (s == ONYX_OK && c.workspace_bytes) {
        c.workspace = ox_malloc_aligned(c.workspace_bytes);
        if (!c.workspace) s = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for workspace");
    }
    void *packed = NULL;
    if (s == ONYX_OK && prepack && def->prepack) {
        ox_op_ctx pc = c; /* every input counts as constant here */
        pc.out = NULL;
        s = def->prepack(&pc, &packed);
        c.prepacked = packed;
    }
    if (s == ONYX_OK) s = def->run(&c);
    if (packed && def->free_prepacked) def->free_prepacked(packed);
    ox_free_aligned(c.workspace);
    if (def->destroy && c.state) def->destroy(c.state);
    if (s != ONYX_OK)
        for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&out[i]);
    return s;
}
