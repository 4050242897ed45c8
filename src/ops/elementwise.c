/* The elementwise op family: the generic prepare/infer/run functions and the op
 * table. The kernels live in elem_binary.c, elem_unary.c and elem_math.c; ops with
 * their own shape rules in elem_misc.c (Clip, Where, Expand, PRelu, Pow) and
 * elem_cast.c (Cast, CastLike). */
#include <string.h>

#include "ops/broadcast.h"
#include "ops/elem_common.h"
#include "util/alloc.h"
#include "util/fp16.h"
#include "util/threadpool.h"

#define BLOCK 256          /* elements per float16 <-> float32 conversion block */
#define GRAIN (1u << 14)   /* elements per parallel chunk */

static const elem_desc *find_desc(const char *name) {
    const elem_desc *lists[] = {elem_binary_descs, elem_unary_descs, elem_math_descs};
    for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
        for (const elem_desc *d = lists[l]; d->name; d++)
            if (strcmp(d->name, name) == 0) return d;
    return NULL;
}

onyx_status elem_state_new(ox_op_ctx *c, const elem_desc *d, elem_state **out) {
    elem_state *s = ox_calloc(1, sizeof *s);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    s->d = d;
    c->state = s;
    *out = s;
    return ONYX_OK;
}

onyx_status elem_prepare(ox_op_ctx *c) {
    const elem_desc *d = find_desc(c->node->op_type);
    if (!d) return ox_error(ONYX_ERR_UNSUPPORTED, "no elementwise kernels for %s", c->node->op_type);
    elem_state *s;
    OX_TRY(elem_state_new(c, d, &s));
    onyx_status st = d->attrs ? d->attrs(c, s) : ONYX_OK;
    if (st == ONYX_OK) st = ox_op_status(c);
    if (st != ONYX_OK) {
        ox_free(s);
        c->state = NULL;
    }
    return st;
}

void elem_destroy(void *state) { ox_free(state); }

onyx_status elem_bad_dtype(const ox_op_ctx *c, size_t input, int32_t dtype) {
    return ox_error(ONYX_ERR_UNSUPPORTED, "%s does not take %s (input %zu)", c->node->op_type,
                    ox_dtype_name(dtype), input);
}

onyx_status elem_need_inputs(const ox_op_ctx *c, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!ox_has_input(c, i))
            return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is required", i);
    return ONYX_OK;
}

onyx_status elem_same_dtype(const ox_op_ctx *c, size_t i) {
    if (!ox_has_input(c, i)) return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is required", i);
    if (c->in[i]->dtype != c->in[0]->dtype)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu is %s but input 0 is %s", i,
                        ox_dtype_name(c->in[i]->dtype), ox_dtype_name(c->in[0]->dtype));
    return ONYX_OK;
}

static int is_half(int32_t dt) { return dt == ONYX_DTYPE_FLOAT16 || dt == ONYX_DTYPE_BFLOAT16; }

elem_un_fn elem_unary_kernel(const elem_desc *d, int32_t dtype, int *via_f32) {
    *via_f32 = 0;
    if (dtype <= 0 || dtype >= ELEM_NTYPES) return NULL;
    if (d->un[dtype]) return d->un[dtype];
    if (is_half(dtype) && d->un[ONYX_DTYPE_FLOAT]) {
        *via_f32 = 1;
        return d->un[ONYX_DTYPE_FLOAT];
    }
    return NULL;
}

elem_bin_fn elem_binary_kernel(const elem_desc *d, int32_t dtype, int *via_f32) {
    *via_f32 = 0;
    if (dtype <= 0 || dtype >= ELEM_NTYPES) return NULL;
    if (d->bin[dtype]) return d->bin[dtype];
    if (is_half(dtype) && d->bin[ONYX_DTYPE_FLOAT]) {
        *via_f32 = 1;
        return d->bin[ONYX_DTYPE_FLOAT];
    }
    return NULL;
}

void elem_to_f32(int32_t dt, const void *src, size_t n, float *dst) {
    if (dt == ONYX_DTYPE_FLOAT16) ox_f16_to_f32_n(src, dst, n);
    else ox_bf16_to_f32_n(src, dst, n);
}

void elem_from_f32(int32_t dt, const float *src, size_t n, void *dst) {
    if (dt == ONYX_DTYPE_FLOAT16) ox_f32_to_f16_n(src, dst, n);
    else ox_f32_to_bf16_n(src, dst, n);
}

/* ---- unary ---------------------------------------------------------------- */

typedef struct un_job {
    elem_un_fn fn;
    const elem_state *s;
    const unsigned char *x;
    unsigned char *y;
    size_t ex, ey;
    int32_t half; /* the float16/bfloat16 dtype converted through float32, or 0 */
    int conv_out; /* the output is that dtype too */
} un_job;

static void un_task(void *arg, size_t begin, size_t end) {
    const un_job *j = arg;
    if (!j->half) {
        j->fn(end - begin, j->x + begin * j->ex, j->y + begin * j->ey, j->s);
        return;
    }
    float xf[BLOCK], yf[BLOCK];
    for (size_t i = begin; i < end; i += BLOCK) {
        size_t m = end - i < BLOCK ? end - i : BLOCK;
        elem_to_f32(j->half, j->x + i * j->ex, m, xf);
        if (j->conv_out) {
            j->fn(m, xf, yf, j->s);
            elem_from_f32(j->half, yf, m, j->y + i * j->ey);
        } else {
            j->fn(m, xf, j->y + i * j->ey, j->s);
        }
    }
}

void elem_unary_apply(ox_op_ctx *c, elem_un_fn fn, int via_f32, const elem_state *s,
                      const ox_tensor *x, ox_tensor *y) {
    un_job j = {fn, s, x->data, y->data, ox_dtype_size(x->dtype), ox_dtype_size(y->dtype),
                via_f32 ? x->dtype : 0, via_f32 && y->dtype == x->dtype};
    ox_parallel_for(c->pool, ox_tensor_count(y), GRAIN, un_task, &j);
}

onyx_status elem_infer_unary(ox_op_ctx *c) {
    const elem_state *s = c->state;
    OX_TRY(elem_need_inputs(c, 1));
    const ox_tensor *x = c->in[0];
    int via;
    if (!elem_unary_kernel(s->d, x->dtype, &via)) return elem_bad_dtype(c, 0, x->dtype);
    if (ox_has_output(c, 0))
        ox_set_shape(c->out[0], s->d->out_dtype ? s->d->out_dtype : x->dtype, x->rank, x->dims);
    return ONYX_OK;
}

/* A fused pattern's step (OX_OP_ACT_STEP): out[0] = act(in[0]) in float32. */
typedef struct act_job {
    const float *x;
    float *y;
    int act;
    float alpha, beta;
} act_job;

static void act_task(void *arg, size_t begin, size_t end) {
    const act_job *j = arg;
    ox_act_apply_to(j->x + begin, j->y + begin, end - begin, j->act, j->alpha, j->beta);
}

static onyx_status run_act_step(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0];
    ox_tensor *y = c->out[0];
    if (x->dtype != ONYX_DTYPE_FLOAT || y->dtype != ONYX_DTYPE_FLOAT)
        return ox_error(ONYX_ERR_RUNTIME, "a fused activation needs float32, not %s",
                        ox_dtype_name(x->dtype));
    act_job j = {x->data, y->data, c->act, c->act_alpha, c->act_beta};
    ox_parallel_for(c->pool, ox_tensor_count(y), GRAIN, act_task, &j);
    return ONYX_OK;
}

onyx_status elem_run_unary(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    if (c->act) return run_act_step(c);
    int via;
    elem_un_fn fn = elem_unary_kernel(s->d, c->in[0]->dtype, &via);
    if (!fn) return elem_bad_dtype(c, 0, c->in[0]->dtype);
    elem_unary_apply(c, fn, via, s, c->in[0], c->out[0]);
    return ONYX_OK;
}

/* ---- binary ---------------------------------------------------------------- */

typedef struct bin_job {
    elem_bin_fn fn;
    const unsigned char *a, *b;
    unsigned char *o;
    size_t ea, eb, eo, sa, sb;
    int32_t half;
    int conv_out;
} bin_job;

static void bin_piece(void *ctx, size_t n, size_t out_off, const size_t *in_off) {
    const bin_job *j = ctx;
    const unsigned char *a = j->a + in_off[0] * j->ea, *b = j->b + in_off[1] * j->eb;
    unsigned char *o = j->o + out_off * j->eo;
    if (!j->half) {
        j->fn(n, a, j->sa, b, j->sb, o);
        return;
    }
    float af[BLOCK], bf[BLOCK], of[BLOCK];
    for (size_t i = 0; i < n; i += BLOCK) {
        size_t m = n - i < BLOCK ? n - i : BLOCK;
        elem_to_f32(j->half, a + i * j->sa * j->ea, j->sa ? m : 1, af);
        elem_to_f32(j->half, b + i * j->sb * j->eb, j->sb ? m : 1, bf);
        if (j->conv_out) {
            j->fn(m, af, j->sa, bf, j->sb, of);
            elem_from_f32(j->half, of, m, o + i * j->eo);
        } else {
            j->fn(m, af, j->sa, bf, j->sb, o + i * j->eo);
        }
    }
}

onyx_status elem_binary_apply(ox_op_ctx *c, elem_bin_fn fn, int via_f32, const ox_tensor *a,
                              const ox_tensor *b, ox_tensor *out) {
    ox_bcast bc;
    OX_TRY(ox_bcast_init(&bc, 2, (const ox_tensor *[]){a, b}, out->rank, out->dims));
    bin_job j = {fn, a->data, b->data, out->data, ox_dtype_size(a->dtype), ox_dtype_size(b->dtype),
                 ox_dtype_size(out->dtype), bc.step[0], bc.step[1], via_f32 ? a->dtype : 0,
                 via_f32 && out->dtype == a->dtype};
    ox_bcast_run(&bc, c->pool, 0, bin_piece, &j);
    return ONYX_OK;
}

/* Before opset 7, binary ops broadcast only B onto A, and only with the attribute
 * broadcast=1: B's dims then sit in A's starting at 'axis' (default: aligned to the
 * end). PRelu before 7 applies a 1-D slope along the channel axis (1). *view gets
 * B's data with A's rank; without legacy rules *rhs is B itself (numpy rules,
 * which also accept the equal shapes broadcast=0 demands). */
onyx_status elem_legacy_rhs(const ox_op_ctx *c, const ox_tensor *a, const ox_tensor *b,
                            ox_tensor *view, const ox_tensor **rhs) {
    *rhs = b;
    if (c->opset >= 7) return ONYX_OK;
    int64_t axis;
    if (strcmp(c->node->op_type, "PRelu") == 0) {
        if (b->rank != 1 || a->rank < 2 || b->dims[0] != a->dims[1] || b->dims[0] == 1) return ONYX_OK;
        axis = 1;
    } else {
        const ox_attr *bc = ox_node_attr(c->node, "broadcast");
        if (!bc || bc->type != OX_ATTR_INT || bc->i == 0) return ONYX_OK;
        const ox_attr *ax = ox_node_attr(c->node, "axis");
        axis = ax && ax->type == OX_ATTR_INT ? ax->i : a->rank - b->rank;
        if (axis < 0) axis += a->rank;
    }
    if (axis < 0 || axis + b->rank > a->rank)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "B of rank %d does not fit A of rank %d at axis %lld",
                        b->rank, a->rank, (long long)axis);
    *view = *b;
    view->rank = a->rank;
    for (int32_t i = 0; i < a->rank; i++)
        view->dims[i] = i >= axis && i < axis + b->rank ? b->dims[i - axis] : 1;
    if (!ox_broadcasts_to(view->rank, view->dims, a->rank, a->dims)) {
        char sa[160], sb[160];
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "B of shape %s does not broadcast to A of shape %s",
                        ox_shape_describe(b->rank, b->dims, sb, sizeof sb),
                        ox_shape_describe(a->rank, a->dims, sa, sizeof sa));
    }
    *rhs = view;
    return ONYX_OK;
}

onyx_status elem_infer_binary(ox_op_ctx *c) {
    const elem_state *s = c->state;
    OX_TRY(elem_need_inputs(c, 2));
    OX_TRY(elem_same_dtype(c, 1));
    int via;
    if (!elem_binary_kernel(s->d, c->in[0]->dtype, &via)) return elem_bad_dtype(c, 0, c->in[0]->dtype);
    ox_tensor view;
    const ox_tensor *b;
    OX_TRY(elem_legacy_rhs(c, c->in[0], c->in[1], &view, &b));
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_shape(2, (const ox_tensor *[]){c->in[0], b}, &r, d));
    if (ox_has_output(c, 0))
        ox_set_shape(c->out[0], s->d->out_dtype ? s->d->out_dtype : c->in[0]->dtype, r, d);
    return ONYX_OK;
}

onyx_status elem_run_binary(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    int via;
    elem_bin_fn fn = elem_binary_kernel(s->d, c->in[0]->dtype, &via);
    if (!fn) return elem_bad_dtype(c, 0, c->in[0]->dtype);
    ox_tensor view;
    const ox_tensor *b;
    OX_TRY(elem_legacy_rhs(c, c->in[0], c->in[1], &view, &b));
    return elem_binary_apply(c, fn, via, c->in[0], b, c->out[0]);
}

/* ---- variadic (Max, Min, Sum, Mean) ------------------------------------------ */

onyx_status elem_infer_variadic(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (c->n_in < 1) return ox_error(ONYX_ERR_INVALID_MODEL, "needs at least one input");
    for (size_t i = 0; i < c->n_in; i++) OX_TRY(elem_same_dtype(c, i));
    int via;
    if (!elem_binary_kernel(s->d, c->in[0]->dtype, &via)) return elem_bad_dtype(c, 0, c->in[0]->dtype);
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_shape(c->n_in, (const ox_tensor *const *)c->in, &r, d));
    if (ox_has_output(c, 0)) ox_set_shape(c->out[0], c->in[0]->dtype, r, d);
    return ONYX_OK;
}

onyx_status elem_run_variadic(ox_op_ctx *c) {
    const elem_state *s = c->state;
    if (!ox_has_output(c, 0)) return ONYX_OK;
    ox_tensor *out = c->out[0];
    int via;
    elem_bin_fn fn = elem_binary_kernel(s->d, c->in[0]->dtype, &via);
    if (!fn) return elem_bad_dtype(c, 0, c->in[0]->dtype);
    OX_TRY(elem_broadcast_copy(c, c->in[0], out));
    for (size_t i = 1; i < c->n_in; i++) OX_TRY(elem_binary_apply(c, fn, via, out, c->in[i], out));
    int uvia;
    elem_un_fn post = elem_unary_kernel(s->d, out->dtype, &uvia);
    if (post) { /* Mean: divide by the input count */
        elem_state t = *s;
        t.alpha = (float)c->n_in;
        elem_unary_apply(c, post, uvia, &t, out, out);
    }
    return ONYX_OK;
}

/* ---- broadcast copy ------------------------------------------------------- */

onyx_status elem_string_copy(ox_string *dst, const ox_string *src) {
    dst->data = NULL;
    dst->len = 0;
    if (!src->data) return ONYX_OK;
    char *p = ox_malloc(src->len + 1);
    if (!p) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory copying a string");
    if (src->len) memcpy(p, src->data, src->len);
    p[src->len] = 0;
    dst->data = p;
    dst->len = src->len;
    return ONYX_OK;
}

typedef struct copy_job {
    const unsigned char *x;
    unsigned char *o;
    size_t esz, step;
    int str;
    onyx_status status; /* strings only, which run on one thread */
} copy_job;

#define COPY_LOOP(T)                                                                       \
    do {                                                                                   \
        const T *xs = (const T *)(const void *)x;                                          \
        T *os = (T *)(void *)o;                                                            \
        if (j->step)                                                                       \
            memcpy(os, xs, n * sizeof(T));                                                 \
        else                                                                               \
            for (size_t i = 0; i < n; i++) os[i] = xs[0];                                  \
    } while (0)

static void copy_piece(void *ctx, size_t n, size_t out_off, const size_t *in_off) {
    copy_job *j = ctx;
    const unsigned char *x = j->x + in_off[0] * j->esz;
    unsigned char *o = j->o + out_off * j->esz;
    if (j->str) {
        const ox_string *xs = (const ox_string *)(const void *)x;
        ox_string *os = (ox_string *)(void *)o;
        for (size_t i = 0; i < n && j->status == ONYX_OK; i++)
            j->status = elem_string_copy(&os[i], &xs[i * j->step]);
        return;
    }
    switch (j->esz) {
    case 1: COPY_LOOP(uint8_t); break;
    case 2: COPY_LOOP(uint16_t); break;
    case 4: COPY_LOOP(uint32_t); break;
    case 8: COPY_LOOP(uint64_t); break;
    default:
        if (j->step)
            memcpy(o, x, n * j->esz);
        else
            for (size_t i = 0; i < n; i++) memcpy(o + i * j->esz, x, j->esz);
    }
}

onyx_status elem_broadcast_copy(ox_op_ctx *c, const ox_tensor *x, ox_tensor *out) {
    size_t esz = ox_dtype_size(x->dtype);
    int str = x->dtype == ONYX_DTYPE_STRING;
    if (!esz) return ox_error(ONYX_ERR_UNSUPPORTED, "cannot copy elements of %s", ox_dtype_name(x->dtype));
    if (x->data == out->data) return ONYX_OK;
    ox_bcast bc;
    OX_TRY(ox_bcast_init(&bc, 1, &x, out->rank, out->dims));
    copy_job j = {x->data, out->data, esz, bc.step[0], str, ONYX_OK};
    ox_bcast_run(&bc, str ? NULL : c->pool, 0, copy_piece, &j);
    return j.status;
}

/* ---- the op table ----------------------------------------------------------- */

#define UNARY(name, since, types)                                                          \
    {"", name, since, elem_prepare, elem_destroy, elem_infer_unary, elem_run_unary, 0, types}
/* a unary op whose step a fused pattern may take over (ops/op.h) */
#define UNARY_ACT_STEP(name, since, types)                                                 \
    {"", name, since, elem_prepare, elem_destroy, elem_infer_unary, elem_run_unary,         \
     OX_OP_ACT_STEP, types}
#define BINARY(name, since, types)                                                         \
    {"", name, since, elem_prepare, elem_destroy, elem_infer_binary, elem_run_binary, 0, types}
#define VARIADIC(name, since, types)                                                       \
    {"", name, since, elem_prepare, elem_destroy, elem_infer_variadic, elem_run_variadic, 0, types}

#define T_FLOAT "float32 float64 float16 bfloat16"
#define T_INT "int8 int16 int32 int64 uint8 uint16 uint32 uint64"
#define T_SINT "int8 int16 int32 int64"
#define T_UINT "uint8 uint16 uint32 uint64"
#define T_NUM T_FLOAT " " T_INT
#define T_ALL T_NUM " bool string"
#define T_F8 "float8e4m3fn float8e4m3fnuz float8e5m2 float8e5m2fnuz"

const ox_op_def ox_ops_elementwise[] = {
    /* arithmetic */
    BINARY("Add", 1, T_NUM),
    BINARY("Sub", 1, T_NUM),
    BINARY("Mul", 1, T_NUM),
    BINARY("Div", 1, T_NUM),
    BINARY("Mod", 10, T_NUM),
    {"", "Pow", 1, elem_prepare_plain, elem_destroy, elem_infer_pow, elem_run_pow, 0,
     "base: int32 int64 " T_FLOAT "; exponent: " T_NUM},
    {"", "PRelu", 1, elem_prepare, elem_destroy, elem_infer_prelu, elem_run_binary, 0,
     T_FLOAT " " T_INT},
    VARIADIC("Max", 6, T_NUM),
    VARIADIC("Min", 6, T_NUM),
    VARIADIC("Sum", 6, T_FLOAT),
    VARIADIC("Mean", 6, T_FLOAT),
    /* comparison and logic */
    BINARY("Equal", 1, T_NUM " bool string"),
    BINARY("Greater", 1, T_NUM),
    BINARY("Less", 1, T_NUM),
    BINARY("GreaterOrEqual", 12, T_NUM),
    BINARY("LessOrEqual", 12, T_NUM),
    BINARY("And", 1, "bool"),
    BINARY("Or", 1, "bool"),
    BINARY("Xor", 1, "bool"),
    UNARY("Not", 1, "bool"),
    BINARY("BitShift", 11, T_UINT),
    BINARY("BitwiseAnd", 18, T_INT),
    BINARY("BitwiseOr", 18, T_INT),
    BINARY("BitwiseXor", 18, T_INT),
    UNARY("BitwiseNot", 18, T_INT),
    /* simple unary */
    UNARY("Neg", 6, T_FLOAT " " T_SINT),
    UNARY("Abs", 6, T_NUM),
    UNARY("Sign", 9, T_NUM),
    UNARY("Reciprocal", 6, T_FLOAT),
    UNARY("Floor", 6, T_FLOAT),
    UNARY("Ceil", 6, T_FLOAT),
    UNARY("Round", 11, T_FLOAT),
    UNARY("IsNaN", 9, T_FLOAT " " T_F8),
    UNARY("IsInf", 10, T_FLOAT " " T_F8),
    UNARY("Relu", 6, T_FLOAT " " T_SINT),
    UNARY("LeakyRelu", 6, T_FLOAT),
    UNARY("ThresholdedRelu", 10, T_FLOAT),
    UNARY("Shrink", 9, T_NUM),
    UNARY("HardSigmoid", 6, T_FLOAT),
    UNARY("HardSwish", 14, T_FLOAT),
    UNARY("Softsign", 1, T_FLOAT),
    /* transcendental */
    UNARY("Sqrt", 6, T_FLOAT),
    UNARY("Exp", 6, T_FLOAT),
    UNARY("Log", 6, T_FLOAT),
    UNARY("Tanh", 6, T_FLOAT),
    UNARY_ACT_STEP("Sigmoid", 6, T_FLOAT),
    UNARY_ACT_STEP("Erf", 9, T_FLOAT),
    UNARY("Sin", 7, T_FLOAT),
    UNARY("Cos", 7, T_FLOAT),
    UNARY("Tan", 7, T_FLOAT),
    UNARY("Asin", 7, T_FLOAT),
    UNARY("Acos", 7, T_FLOAT),
    UNARY("Atan", 7, T_FLOAT),
    UNARY("Sinh", 9, T_FLOAT),
    UNARY("Cosh", 9, T_FLOAT),
    UNARY("Asinh", 9, T_FLOAT),
    UNARY("Acosh", 9, T_FLOAT),
    UNARY("Atanh", 9, T_FLOAT),
    UNARY("Softplus", 1, T_FLOAT),
    UNARY("Elu", 6, T_FLOAT),
    UNARY("Selu", 6, T_FLOAT),
    UNARY("Celu", 12, T_FLOAT),
    UNARY("Gelu", 20, T_FLOAT),
    UNARY("Mish", 18, T_FLOAT),
    UNARY("Swish", 24, T_FLOAT),
    /* own shape rules */
    {"", "Clip", 6, elem_prepare_clip, elem_destroy, elem_infer_clip, elem_run_clip, 0, T_NUM},
    {"", "Where", 9, NULL, NULL, elem_infer_where, elem_run_where, 0, "condition: bool; " T_ALL},
    {"", "Expand", 8, NULL, NULL, elem_infer_expand, elem_run_expand, 0, T_ALL},
    {"", "Cast", 6, elem_prepare_cast, elem_destroy, elem_infer_cast, elem_run_cast, 0,
     T_ALL " " T_F8 " int4 uint4 float4e2m1"},
    {"", "CastLike", 15, elem_prepare_cast, elem_destroy, elem_infer_cast, elem_run_cast, 0,
     T_ALL " " T_F8 " int4 uint4 float4e2m1"},
    {0},
};
