#include "nodes.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

static ox_arena arena;

static ox_attr *add_attr(ox_node *n, const char *name, int type) {
    ox_attr *a = ox_arena_array(&arena, n->n_attrs + 1, sizeof *a);
    if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    n->attrs = a;
    a = &a[n->n_attrs++];
    a->name = ox_arena_strdup(&arena, name);
    a->type = type;
    return a;
}

ox_node *tn_node(const char *op_type, size_t n_in, size_t n_out) {
    ox_node *n = ox_arena_alloc(&arena, sizeof *n);
    n->name = "test_node";
    n->op_type = ox_arena_strdup(&arena, op_type);
    n->domain = "";
    n->overload = "";
    n->doc = "";
    n->inputs = ox_arena_array(&arena, n_in + 1, sizeof(char *));
    n->outputs = ox_arena_array(&arena, n_out + 1, sizeof(char *));
    char buf[32];
    for (size_t i = 0; i < n_in; i++) {
        snprintf(buf, sizeof buf, "i%zu", i);
        n->inputs[i] = ox_arena_strdup(&arena, buf);
    }
    for (size_t i = 0; i < n_out; i++) {
        snprintf(buf, sizeof buf, "o%zu", i);
        n->outputs[i] = ox_arena_strdup(&arena, buf);
    }
    n->n_inputs = n_in;
    n->n_outputs = n_out;
    return n;
}

void tn_omit_input(ox_node *n, size_t i) { n->inputs[i] = ""; }

void tn_int(ox_node *n, const char *name, int64_t v) { add_attr(n, name, OX_ATTR_INT)->i = v; }
void tn_float(ox_node *n, const char *name, float v) { add_attr(n, name, OX_ATTR_FLOAT)->f = v; }
void tn_str(ox_node *n, const char *name, const char *v) {
    ox_attr *a = add_attr(n, name, OX_ATTR_STRING);
    a->s.data = ox_arena_strdup(&arena, v);
    a->s.len = strlen(v);
}
void tn_ints(ox_node *n, const char *name, size_t count, const int64_t *v) {
    ox_attr *a = add_attr(n, name, OX_ATTR_INTS);
    a->n = count;
    a->ints = ox_arena_array(&arena, count ? count : 1, sizeof(int64_t));
    if (count) memcpy(a->ints, v, count * sizeof(int64_t));
}
void tn_floats(ox_node *n, const char *name, size_t count, const float *v) {
    ox_attr *a = add_attr(n, name, OX_ATTR_FLOATS);
    a->n = count;
    a->floats = ox_arena_array(&arena, count ? count : 1, sizeof(float));
    if (count) memcpy(a->floats, v, count * sizeof(float));
}
void tn_tensor(ox_node *n, const char *name, int32_t dtype, int32_t rank, const int64_t *dims,
               const void *data) {
    ox_attr *a = add_attr(n, name, OX_ATTR_TENSOR);
    ox_tensor_proto *t = ox_arena_alloc(&arena, sizeof *t);
    t->name = "";
    t->doc = "";
    t->dtype = dtype;
    t->rank = rank;
    for (int32_t i = 0; i < rank; i++) t->dims[i] = dims[i];
    t->nbytes = ox_shape_count(rank, dims) * ox_dtype_size(dtype);
    void *d = ox_arena_alloc(&arena, t->nbytes);
    if (t->nbytes) memcpy(d, data, t->nbytes);
    t->data = t->nbytes ? d : NULL;
    a->t = t;
}

void tn_reset(void) { ox_arena_free(&arena); }

ox_tensor tt_make(int32_t dtype, int32_t rank, const int64_t *dims, const void *data) {
    ox_tensor t;
    memset(&t, 0, sizeof t);
    ox_set_shape(&t, dtype, rank, dims);
    if (ox_tensor_alloc_data(&t) == ONYX_OK && data) memcpy(t.data, data, ox_tensor_nbytes(&t));
    return t;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
float tt_randf(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

ox_tensor tt_rand(int32_t rank, const int64_t *dims, float lo, float hi) {
    ox_tensor t = tt_make(ONYX_DTYPE_FLOAT, rank, dims, NULL);
    float *p = t.data;
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * tt_randf();
    return t;
}
