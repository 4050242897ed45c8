/* Out of memory anywhere in load, session creation or run: fail the n-th
 * allocation for every n, and check each time that the call fails cleanly with
 * ONYX_ERR_OUT_OF_MEMORY (or succeeds, where a kernel has a fallback) and that
 * nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "onyx.h"
#include "test.h"
#include "util/scratch.h"

static long fail_at = -1; /* index of the allocation to fail; -1: none */
static long n_calls, live;

static void *t_alloc(size_t size, void *user) {
    (void)user;
    if (n_calls++ == fail_at) return NULL;
    void *p = malloc(size);
    if (p) live++;
    return p;
}
static void *t_realloc(void *p, size_t size, void *user) {
    (void)user;
    if (n_calls++ == fail_at) return NULL;
    void *q = realloc(p, size);
    if (q && !p) live++;
    return q;
}
static void t_free(void *p, void *user) {
    (void)user;
    if (p) live--;
    free(p);
}

/* Load, create a session, run once with the first test data set's inputs given as
 * zero-filled tensors of the declared shapes (symbolic dims as 1). */
static onyx_status load_create_run(const char *path) {
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_tensor *in[8] = {0}, *out[8] = {0};
    const char *names[8];
    onyx_status st = onyx_model_load_file(path, &m);
    if (st == ONYX_OK) st = onyx_session_create(m, NULL, &s);
    size_t n_in = st == ONYX_OK ? onyx_session_input_count(s) : 0;
    size_t n_out = st == ONYX_OK ? onyx_session_output_count(s) : 0;
    for (size_t i = 0; st == ONYX_OK && i < n_in && i < 8; i++) {
        onyx_value_info info;
        onyx_session_input_info(s, i, &info);
        int64_t dims[16];
        for (int r = 0; r < info.rank; r++) dims[r] = info.dims[r] < 0 ? 1 : info.dims[r];
        names[i] = info.name;
        st = onyx_tensor_create(info.dtype, info.rank, dims, &in[i]);
        /* a trip count of 3 for loops */
        if (st == ONYX_OK && info.dtype == ONYX_DTYPE_INT64 && info.rank == 0)
            *(int64_t *)onyx_tensor_data(in[i]) = 3;
    }
    if (st == ONYX_OK && n_in <= 8 && n_out <= 8)
        st = onyx_session_run(s, n_in, names, (const onyx_tensor *const *)in, n_out, NULL, out);
    for (int i = 0; i < 8; i++) {
        onyx_tensor_free(in[i]);
        onyx_tensor_free(out[i]);
    }
    onyx_session_free(s);
    onyx_model_free(m);
    return st;
}

static void check_every_failure(const char *path) {
    onyx_allocator a = {t_alloc, t_realloc, t_free, NULL};
    ox_scratch_release(); /* made by earlier tests with the default allocator */
    onyx_set_allocator(&a);
    fail_at = -1;
    n_calls = live = 0;
    onyx_status st = load_create_run(path);
    ox_scratch_release();
    long total = n_calls;
    if (st != ONYX_OK || live != 0) {
        onyx_set_allocator(NULL);
        fprintf(stderr, "  %s: clean run gave %d (%s), %ld live blocks\n", path, st, onyx_last_error(), live);
        ox_test_failures++;
        return;
    }
    int bad = 0;
    for (long n = 0; n < total && bad < 5; n++) {
        fail_at = n;
        n_calls = live = 0;
        st = load_create_run(path);
        ox_scratch_release();
        if ((st != ONYX_OK && st != ONYX_ERR_OUT_OF_MEMORY) || live != 0 ||
            (st != ONYX_OK && !onyx_last_error()[0])) {
            fprintf(stderr, "  %s: failing allocation %ld of %ld: status %d '%s', %ld blocks leaked\n", path, n,
                    total, st, onyx_last_error(), live);
            bad++;
        }
    }
    onyx_set_allocator(NULL);
    fail_at = -1;
    if (bad) ox_test_failures++;
}

TEST(oom_small_cnn) { check_every_failure("examples/small_cnn/model.onnx"); }
TEST(oom_functions) { check_every_failure("examples/functions/model.onnx"); }
TEST(oom_loop) { check_every_failure("examples/loop_scripted/model.onnx"); }
TEST(oom_if) { check_every_failure("examples/if_scripted/model.onnx"); }
TEST(oom_nested_capture) { check_every_failure("tests/models/nested_capture/model.onnx"); }
TEST(oom_scan) { check_every_failure("tests/models/scan_axes_directions/model.onnx"); }
