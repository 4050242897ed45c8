/* Fusion (plan/fuse.c): Conv+BatchNormalization+Relu folded into one step gives what
 * the unfused graph gives, and a requested intermediate value is never fused away. */
#include <math.h>
#include <string.h>

#include "onyx.h"
#include "test.h"

static char labels[32][64];
static int n_labels;
static void record(void *user, const char *name, const char *op, double s) {
    (void)user;
    (void)name;
    (void)s;
    if (n_labels < 32) snprintf(labels[n_labels++], 64, "%s", op);
}

static int any_label(const char *want) {
    for (int i = 0; i < n_labels; i++)
        if (!strcmp(labels[i], want)) return 1;
    return 0;
}

/* Run small_cnn on a fixed input; outputs[k] receive the requested values. */
static onyx_status run_cnn(int disable_fusion, size_t n_req, const char *const *req, onyx_tensor **outs) {
    onyx_model *m;
    onyx_session *s = NULL;
    onyx_status st = onyx_model_load_file("examples/small_cnn/model.onnx", &m);
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.disable_fusion = disable_fusion;
    o.node_callback = record;
    if (st == ONYX_OK) st = onyx_session_create(m, &o, &s);
    float x[3 * 16 * 16];
    for (int i = 0; i < 3 * 16 * 16; i++) x[i] = sinf((float)i * 0.37f);
    onyx_tensor *in = NULL;
    if (st == ONYX_OK) st = onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 4, (int64_t[]){1, 3, 16, 16}, x, sizeof x, &in);
    const char *name = "x";
    n_labels = 0;
    if (st == ONYX_OK) st = onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, n_req, req, outs);
    onyx_tensor_free(in);
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

static double max_rel_diff(const onyx_tensor *a, const onyx_tensor *b) {
    const float *x = onyx_tensor_data_const(a), *y = onyx_tensor_data_const(b);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < onyx_tensor_count(a); i++) scale = fmax(scale, fabs(x[i]));
    for (size_t i = 0; i < onyx_tensor_count(a); i++) worst = fmax(worst, fabs(x[i] - y[i]) / scale);
    return worst;
}

TEST(fusion_matches_unfused) {
    const char *req[1] = {"y"};
    onyx_tensor *ref = NULL, *got = NULL;
    REQUIRE_OK(run_cnn(1, 1, req, &ref));
    CHECK(any_label("BatchNormalization") && any_label("Relu") && !any_label("Conv+BatchNormalization+Relu"));
    REQUIRE_OK(run_cnn(0, 1, req, &got));
    CHECK(any_label("Conv+BatchNormalization+Relu"));
    CHECK(!any_label("BatchNormalization") && !any_label("Relu"));
    CHECK(onyx_tensor_count(ref) == onyx_tensor_count(got));
    CHECK(max_rel_diff(ref, got) < 1e-5);
    onyx_tensor_free(ref);
    onyx_tensor_free(got);
}

static void check_requested(const char *value, const char *const *want_labels, size_t n_want) {
    const char *req[2] = {value, "y"};
    onyx_tensor *ref[2] = {0}, *got[2] = {0};
    REQUIRE_OK(run_cnn(1, 2, req, ref));
    REQUIRE_OK(run_cnn(0, 2, req, got));
    for (size_t i = 0; i < n_want; i++) {
        if (!any_label(want_labels[i])) {
            fprintf(stderr, "  requesting %s: no step '%s'\n", value, want_labels[i]);
            ox_test_failures++;
        }
    }
    CHECK(max_rel_diff(ref[0], got[0]) < 1e-5);
    CHECK(max_rel_diff(ref[1], got[1]) < 1e-5);
    for (int i = 0; i < 2; i++) {
        onyx_tensor_free(ref[i]);
        onyx_tensor_free(got[i]);
    }
}

TEST(fusion_keeps_requested_values) {
    /* the Conv output requested: the first block cannot fold at all */
    const char *conv_alone[] = {"Conv", "BatchNormalization", "Relu", "Conv+BatchNormalization+Relu"};
    check_requested("/features/features.0/Conv_output_0", conv_alone, 4);
    /* the BN output requested: BN folds into Conv (which then writes it), Relu stays */
    const char *bn_kept[] = {"Conv+BatchNormalization", "Relu", "Conv+BatchNormalization+Relu"};
    check_requested("/features/features.1/BatchNormalization_output_0", bn_kept, 3);
}
