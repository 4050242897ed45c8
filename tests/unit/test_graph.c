/* Graph checks, planning (pruning, folding, arena reuse) and running, on graphs
 * built by hand. */
#include <string.h>

#include "ir/graph.h"
#include "plan/plan.h"
#include "runtime/session.h"
#include "test.h"
#include "util/alloc.h"

typedef struct {
    onyx_model model;
    ox_graph g;
    ox_node nodes[16];
    ox_opset opset;
    ox_value_info inputs[4], outputs[4];
    ox_type in_type;
    ox_dim in_dims[2];
} hand_model;

/* x: float[2,3] -> nodes as given ("op in0 [in1] -> out") */
static void hm_init(hand_model *h) {
    memset(h, 0, sizeof *h);
    ox_model *m = &h->model.m;
    h->opset.domain = "";
    h->opset.version = 17;
    m->opsets = &h->opset;
    m->n_opsets = 1;
    m->graph = &h->g;
    h->in_type.kind = OX_TYPE_TENSOR;
    h->in_type.elem_type = ONYX_DTYPE_FLOAT;
    h->in_type.has_shape = 1;
    h->in_type.rank = 2;
    h->in_dims[0] = (ox_dim){2, NULL, 1};
    h->in_dims[1] = (ox_dim){3, NULL, 1};
    h->in_type.dims = h->in_dims;
    h->inputs[0] = (ox_value_info){"x", "", &h->in_type};
    h->g.inputs = h->inputs;
    h->g.n_inputs = 1;
    h->g.nodes = h->nodes;
    h->g.outputs = h->outputs;
    h->g.name = "hand";
    h->g.doc = "";
}

static const char *names_pool[64][3];
static int names_used;

static void hm_node(hand_model *h, const char *name, const char *op, const char *in0, const char *in1,
                    const char *out) {
    ox_node *n = &h->nodes[h->g.n_nodes++];
    memset(n, 0, sizeof *n);
    const char **io = names_pool[names_used++];
    io[0] = in0;
    io[1] = in1;
    io[2] = out;
    n->name = name;
    n->op_type = op;
    n->domain = "";
    n->overload = "";
    n->doc = "";
    n->inputs = io;
    n->n_inputs = in1 ? 2 : 1;
    n->outputs = io + 2;
    n->n_outputs = 1;
}

static void hm_output(hand_model *h, const char *name) {
    h->outputs[h->g.n_outputs++] = (ox_value_info){name, "", NULL};
}

static int session_error(hand_model *h, const char *needle) {
    onyx_session *s = NULL;
    onyx_status st = onyx_session_create(&h->model, NULL, &s);
    onyx_session_free(s);
    if (st == ONYX_OK) return 0;
    if (!strstr(onyx_last_error(), needle)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", onyx_last_error(), needle);
        return 0;
    }
    return 1;
}

TEST(graph_rejects_cycle) {
    hand_model h;
    hm_init(&h);
    hm_node(&h, "a", "Add", "x", "c", "b");
    hm_node(&h, "b", "Relu", "b", NULL, "c");
    hm_output(&h, "c");
    CHECK(session_error(&h, "cycle"));
}

TEST(graph_rejects_undefined_input) {
    hand_model h;
    hm_init(&h);
    hm_node(&h, "r", "Relu", "nowhere", NULL, "y");
    hm_output(&h, "y");
    CHECK(session_error(&h, "'nowhere'"));
}

TEST(graph_rejects_duplicate_producer) {
    hand_model h;
    hm_init(&h);
    hm_node(&h, "r1", "Relu", "x", NULL, "y");
    hm_node(&h, "r2", "Neg", "x", NULL, "y");
    hm_output(&h, "y");
    CHECK(session_error(&h, "already"));
}

TEST(graph_rejects_unknown_op) {
    hand_model h;
    hm_init(&h);
    hm_node(&h, "mystery", "NoSuchOp", "x", NULL, "y");
    hm_output(&h, "y");
    CHECK(session_error(&h, "node 'mystery' (NoSuchOp)"));
    CHECK(session_error(&h, "opset 17"));
}

TEST(graph_rejects_output_as_input_name) {
    hand_model h;
    hm_init(&h);
    hm_node(&h, "r", "Relu", "x", NULL, "x");
    hm_output(&h, "x");
    CHECK(session_error(&h, "graph input"));
}

/* x -> Relu -> a -> Neg -> b -> Relu -> c -> Neg -> d (outputs d); nodes listed
 * out of order to check sorting. */
static void chain_model(hand_model *h) {
    hm_init(h);
    hm_node(h, "n3", "Neg", "c", NULL, "d");
    hm_node(h, "n0", "Relu", "x", NULL, "a");
    hm_node(h, "n2", "Relu", "b", NULL, "c");
    hm_node(h, "n1", "Neg", "a", NULL, "b");
    hm_output(h, "d");
}

static int ran_count;
static char ran_names[16][16];
static void record_node(void *user, const char *name, const char *op, double s) {
    (void)user;
    (void)op;
    (void)s;
    if (ran_count < 16) snprintf(ran_names[ran_count], 16, "%s", name);
    ran_count++;
}

TEST(plan_runs_chain_and_reuses_arena) {
    hand_model h;
    chain_model(&h);
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.node_callback = record_node;
    onyx_session *s;
    REQUIRE_OK(onyx_session_create(&h.model, &o, &s));
    int known;
    size_t arena = onyx_session_arena_bytes(s, &known);
    CHECK(known);
    /* four 24-byte values, at most two alive at once: two 64-byte slots */
    CHECK(arena == 128);
    float xv[6] = {-1, 2, -3, 4, 0.5f, -0.25f};
    onyx_tensor *x, *y = NULL;
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, xv, sizeof xv, &x));
    const char *in_name = "x";
    ran_count = 0;
    REQUIRE_OK(onyx_session_run(s, 1, &in_name, (const onyx_tensor *const *)&x, 1, NULL, &y));
    CHECK(ran_count == 4);
    const float *yv = onyx_tensor_data_const(y);
    for (int i = 0; i < 6; i++) {
        float a = xv[i] > 0 ? xv[i] : 0, c = -a > 0 ? -a : 0;
        CHECK(yv[i] == -c);
    }
    onyx_tensor_free(y);
    /* an intermediate value: only the two nodes it needs run */
    const char *want = "b";
    ran_count = 0;
    REQUIRE_OK(onyx_session_run(s, 1, &in_name, (const onyx_tensor *const *)&x, 1, &want, &y));
    CHECK(ran_count == 2);
    CHECK(!strcmp(ran_names[0], "n0") && !strcmp(ran_names[1], "n1"));
    yv = onyx_tensor_data_const(y);
    for (int i = 0; i < 6; i++) CHECK(yv[i] == -(xv[i] > 0 ? xv[i] : 0));
    onyx_tensor_free(y);
    onyx_tensor_free(x);
    onyx_session_free(s);
}

TEST(run_rejects_wrong_inputs) {
    hand_model h;
    chain_model(&h);
    onyx_session *s;
    REQUIRE_OK(onyx_session_create(&h.model, NULL, &s));
    float xv[6] = {0};
    onyx_tensor *x, *x3, *xi, *y = NULL;
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 3}, xv, sizeof xv, &x));
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){3, 2}, xv, sizeof xv, &x3));
    int32_t iv[6] = {0};
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_INT32, 2, (int64_t[]){2, 3}, iv, sizeof iv, &xi));
    const char *good = "x", *bad = "z", *nope = "nope";
    CHECK(onyx_session_run(s, 1, &bad, (const onyx_tensor *const *)&x, 1, NULL, &y) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "'z'") != NULL);
    CHECK(onyx_session_run(s, 0, NULL, NULL, 1, NULL, &y) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "missing") != NULL);
    CHECK(onyx_session_run(s, 1, &good, (const onyx_tensor *const *)&x3, 1, NULL, &y) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "dim 0 must be 2") != NULL);
    CHECK(onyx_session_run(s, 1, &good, (const onyx_tensor *const *)&xi, 1, NULL, &y) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "int32") != NULL);
    CHECK(onyx_session_run(s, 1, &good, (const onyx_tensor *const *)&x, 1, &nope, &y) ==
          ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "'nope'") != NULL);
    onyx_tensor_free(x);
    onyx_tensor_free(x3);
    onyx_tensor_free(xi);
    onyx_session_free(s);
}

/* A random op is drawn anew on every run, not folded into a constant while planning. */
TEST(plan_does_not_fold_random_ops) {
    hand_model h;
    hm_init(&h);
    h.g.n_inputs = 0;
    ox_node *n = &h.nodes[h.g.n_nodes++];
    memset(n, 0, sizeof *n);
    static const char *outs[1] = {"r"};
    static int64_t shape[2] = {4, 4};
    static ox_attr attrs[1];
    attrs[0] = (ox_attr){.name = "shape", .type = OX_ATTR_INTS, .n = 2, .ints = shape};
    n->name = "rand";
    n->op_type = "RandomUniform";
    n->domain = n->overload = n->doc = "";
    n->outputs = outs;
    n->n_outputs = 1;
    n->attrs = attrs;
    n->n_attrs = 1;
    hm_output(&h, "r");
    onyx_session *s;
    REQUIRE_OK(onyx_session_create(&h.model, NULL, &s));
    onyx_tensor *a = NULL, *b = NULL;
    REQUIRE_OK(onyx_session_run(s, 0, NULL, NULL, 1, NULL, &a));
    REQUIRE_OK(onyx_session_run(s, 0, NULL, NULL, 1, NULL, &b));
    CHECK(memcmp(onyx_tensor_data_const(a), onyx_tensor_data_const(b), 16 * sizeof(float)) != 0);
    onyx_tensor_free(a);
    onyx_tensor_free(b);
    onyx_session_free(s);
}
