/* The engine's check of node inputs and outputs against the ONNX schema table
 * (ops/arity.c): hand-built graphs with a required input missing, too many inputs or
 * outputs, and lists the schemas allow. */
#include <string.h>

#include "ir/graph.h"
#include "ops/arity.h"
#include "runtime/session.h"
#include "test.h"

typedef struct {
    onyx_model model;
    ox_graph g;
    ox_node nodes[4];
    ox_opset opset;
    ox_value_info inputs[2], outputs[4];
    ox_type in_type, scalar_type;
    ox_dim in_dims[4];
    const char *io[4][2][8];
} arity_model;

/* inputs x: float[1,1,4,4] and s: float scalar */
static void am_init(arity_model *h, int64_t opset) {
    memset(h, 0, sizeof *h);
    ox_model *m = &h->model.m;
    h->opset.domain = "";
    h->opset.version = opset;
    m->opsets = &h->opset;
    m->n_opsets = 1;
    m->graph = &h->g;
    h->in_type.kind = OX_TYPE_TENSOR;
    h->in_type.elem_type = ONYX_DTYPE_FLOAT;
    h->in_type.has_shape = 1;
    h->in_type.rank = 4;
    for (int i = 0; i < 4; i++) h->in_dims[i] = (ox_dim){i < 2 ? 1 : 4, NULL, 1};
    h->in_type.dims = h->in_dims;
    h->scalar_type = h->in_type;
    h->scalar_type.rank = 0;
    h->inputs[0] = (ox_value_info){"x", "", &h->in_type};
    h->inputs[1] = (ox_value_info){"s", "", &h->scalar_type};
    h->g.inputs = h->inputs;
    h->g.n_inputs = 2;
    h->g.nodes = h->nodes;
    h->g.outputs = h->outputs;
    h->g.name = "arity";
    h->g.doc = "";
}

/* A node with the given input and output names ("" = omitted); the non-empty outputs
 * become graph outputs. */
static void am_node(arity_model *h, const char *name, const char *op, size_t n_in, const char *const *in,
                    size_t n_out, const char *const *out) {
    size_t k = h->g.n_nodes++;
    ox_node *n = &h->nodes[k];
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < n_in; i++) h->io[k][0][i] = in[i];
    for (size_t i = 0; i < n_out; i++) {
        h->io[k][1][i] = out[i];
        if (out[i][0]) h->outputs[h->g.n_outputs++] = (ox_value_info){out[i], "", NULL};
    }
    n->name = name;
    n->op_type = op;
    n->domain = "";
    n->overload = "";
    n->doc = "";
    n->inputs = h->io[k][0];
    n->n_inputs = n_in;
    n->outputs = h->io[k][1];
    n->n_outputs = n_out;
}

/* Session creation fails with exactly this message (or succeeds when want is NULL). */
static int session_says(arity_model *h, const char *want) {
    onyx_session *s = NULL;
    onyx_status st = onyx_session_create(&h->model, NULL, &s);
    onyx_session_free(s);
    if (!want) {
        if (st != ONYX_OK) fprintf(stderr, "  unexpected error: %s\n", onyx_last_error());
        return st == ONYX_OK;
    }
    if (st != ONYX_ERR_INVALID_MODEL || strcmp(onyx_last_error(), want) != 0) {
        fprintf(stderr, "  status %d, message '%s', expected '%s'\n", (int)st,
                st ? onyx_last_error() : "", want);
        return 0;
    }
    return 1;
}

TEST(arity_missing_required_input) {
    arity_model h;
    /* W given as an empty name */
    am_init(&h, 17);
    am_node(&h, "conv", "Conv", 2, (const char *[]){"x", ""}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'conv' (Conv): input 1 'W' is required"));
    /* W not listed at all */
    am_init(&h, 17);
    am_node(&h, "conv", "Conv", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'conv' (Conv): input 1 'W' is required"));
    /* the first input of Range, the bug class fuzzing found */
    am_init(&h, 17);
    am_node(&h, "r", "Range", 3, (const char *[]){"", "x", "x"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'r' (Range): input 0 'start' is required"));
    /* a variadic list needs its first entry */
    am_init(&h, 17);
    am_node(&h, "cat", "Concat", 0, NULL, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'cat' (Concat): has 0 inputs, needs at least 1"));
}

TEST(arity_too_many_inputs_and_outputs) {
    arity_model h;
    am_init(&h, 17);
    am_node(&h, "relu", "Relu", 2, (const char *[]){"x", "x"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'relu' (Relu): has 2 inputs, at most 1 (X)"));
    /* Clip took one input before opset 11 */
    am_init(&h, 6);
    am_node(&h, "clip", "Clip", 3, (const char *[]){"x", "x", "x"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'clip' (Clip): has 3 inputs, at most 1 (input)"));
    am_init(&h, 17);
    am_node(&h, "relu", "Relu", 1, (const char *[]){"x"}, 2, (const char *[]){"y", "z"});
    CHECK(session_says(&h, "node 'relu' (Relu): has 2 outputs, at most 1 (Y)"));
    /* a required output given as an empty name */
    am_init(&h, 17);
    am_node(&h, "drop", "Dropout", 1, (const char *[]){"x"}, 2, (const char *[]){"", "mask"});
    CHECK(session_says(&h, "node 'drop' (Dropout): output 0 'output' is required"));
    am_init(&h, 17);
    am_node(&h, "relu", "Relu", 1, (const char *[]){"x"}, 0, NULL);
    CHECK(session_says(&h, "node 'relu' (Relu): output 0 'Y' is required"));
    am_init(&h, 17);
    am_node(&h, "k", "Constant", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, "node 'k' (Constant): has 1 input, at most 0 (none)"));
}

TEST(arity_accepts_what_the_schema_allows) {
    arity_model h;
    /* omitted optional inputs, in the middle and at the end */
    am_init(&h, 13);
    am_node(&h, "clip", "Clip", 3, (const char *[]){"x", "", "s"}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, NULL));
    am_init(&h, 13);
    am_node(&h, "clip", "Clip", 2, (const char *[]){"x", ""}, 1, (const char *[]){"y"});
    CHECK(session_says(&h, NULL));
    /* an omitted optional output */
    am_init(&h, 13);
    am_node(&h, "drop", "Dropout", 1, (const char *[]){"x"}, 2, (const char *[]){"y", ""});
    CHECK(session_says(&h, NULL));
    /* a long variadic list */
    am_init(&h, 13);
    am_node(&h, "sum", "Sum", 7, (const char *[]){"x", "x", "x", "x", "x", "x", "x"}, 1,
            (const char *[]){"y"});
    CHECK(session_says(&h, NULL));
}

TEST(arity_leaves_unknown_ops_to_the_op) {
    arity_model h;
    /* an opset newer than the table: not judged by the table (the op's own checks run) */
    int newest = 0;
    for (size_t i = 0; i < ox_arity_n_domains; i++)
        if (!ox_arity_domains[i].domain[0]) newest = ox_arity_domains[i].max_opset;
    REQUIRE(newest >= 13);
    am_init(&h, newest + 1);
    am_node(&h, "relu", "Relu", 2, (const char *[]){"x", "x"}, 1, (const char *[]){"y"});
    onyx_session *s = NULL;
    if (onyx_session_create(&h.model, NULL, &s) != ONYX_OK) CHECK(!strstr(onyx_last_error(), "at most"));
    onyx_session_free(s);
    CHECK(ox_arity_find("", "Relu", newest + 1) == NULL);
    CHECK(ox_arity_find("com.example", "Relu", 1) == NULL);
    CHECK(ox_arity_find("", "NoSuchOp", 13) == NULL);
    CHECK(ox_arity_find("", "Relu", 0) == NULL); /* before its first version */
    CHECK(ox_arity_find("", "Upsample", 10) == NULL); /* deprecated there */
    const ox_arity *up = ox_arity_find("", "Upsample", 9);
    CHECK(up && up->since == 9 && up->min_in == 2);
}

TEST(arity_table_lookup) {
    /* sorted by (domain, op, since): the lookup's binary search relies on it */
    for (size_t i = 1; i < ox_arity_n; i++) {
        const ox_arity *a = &ox_arity_table[i - 1], *b = &ox_arity_table[i];
        int c = strcmp(a->domain, b->domain);
        if (!c) c = strcmp(a->op, b->op);
        CHECK(c < 0 || (c == 0 && a->since < b->since));
    }
    /* every entry is found at its own version, under both names of the default domain */
    for (size_t i = 0; i < ox_arity_n; i++) {
        const ox_arity *a = &ox_arity_table[i];
        const ox_arity *f = ox_arity_find(a->domain, a->op, a->since);
        CHECK(a->ins ? f == a : f == NULL);
        if (!a->domain[0]) CHECK(ox_arity_find("ai.onnx", a->op, a->since) == f);
        if (a->ins) CHECK(a->min_in >= 0 && (a->max_in < 0 || a->max_in >= a->min_in));
    }
    const ox_arity *c11 = ox_arity_find("", "Clip", 12), *c6 = ox_arity_find("", "Clip", 10);
    REQUIRE(c11 && c6);
    CHECK(c11->since == 12 && c11->max_in == 3 && c6->since == 6 && c6->max_in == 1);
    const ox_arity *lstm = ox_arity_find("ai.onnx", "LSTM", 15);
    REQUIRE(lstm);
    CHECK(lstm->since == 14 && lstm->min_in == 3 && lstm->max_in == 8);
    const ox_arity *concat = ox_arity_find("", "Concat", 13);
    REQUIRE(concat);
    CHECK(concat->max_in == -1);
}
