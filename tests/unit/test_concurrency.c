/* One session run from several threads at once gives every thread the result a
 * lone run gives (plans are shared and immutable; each run takes its own state).
 * `make tsan` runs this under ThreadSanitizer. */
#include <pthread.h>
#include <string.h>

#include "onyx.h"
#include "test.h"

#define N_THREADS 4
#define N_RUNS 20

typedef struct {
    onyx_session *s;
    const char *in_name;
    onyx_tensor *in;
    const onyx_tensor *want;
    int mismatches, errors;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    for (int r = 0; r < N_RUNS; r++) {
        onyx_tensor *out = NULL;
        if (onyx_session_run(w->s, 1, &w->in_name, (const onyx_tensor *const *)&w->in, 1, NULL, &out) != ONYX_OK) {
            w->errors++;
            continue;
        }
        if (onyx_tensor_nbytes(out) != onyx_tensor_nbytes(w->want) ||
            memcmp(onyx_tensor_data_const(out), onyx_tensor_data_const(w->want), onyx_tensor_nbytes(out)))
            w->mismatches++;
        onyx_tensor_free(out);
    }
    return NULL;
}

static void run_concurrently(const char *path, int threads_per_session) {
    onyx_model *m;
    onyx_session *s;
    REQUIRE_OK(onyx_model_load_file(path, &m));
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.threads = threads_per_session;
    REQUIRE_OK(onyx_session_create(m, &o, &s));
    onyx_value_info info;
    REQUIRE_OK(onyx_session_input_info(s, 0, &info));
    int64_t dims[8];
    for (int r = 0; r < info.rank; r++) dims[r] = info.dims[r] < 0 ? 2 : info.dims[r];
    onyx_tensor *in, *want = NULL;
    REQUIRE_OK(onyx_tensor_create(info.dtype, info.rank, dims, &in));
    float *x = onyx_tensor_data(in);
    for (size_t i = 0; i < onyx_tensor_count(in); i++) x[i] = (float)((i * 37) % 11) / 7.0f - 0.6f;
    REQUIRE_OK(onyx_session_run(s, 1, &info.name, (const onyx_tensor *const *)&in, 1, NULL, &want));
    /* a fresh session, so the threads also race to build its plan */
    onyx_session_free(s);
    REQUIRE_OK(onyx_session_create(m, &o, &s));
    worker w[N_THREADS];
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){s, info.name, in, want, 0, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].errors == 0);
        CHECK(w[i].mismatches == 0);
    }
    onyx_tensor_free(in);
    onyx_tensor_free(want);
    onyx_session_free(s);
    onyx_model_free(m);
}

TEST(concurrent_runs_cnn) { run_concurrently("examples/small_cnn/model.onnx", 1); }
TEST(concurrent_runs_cnn_pool) { run_concurrently("examples/small_cnn/model.onnx", 2); }
TEST(concurrent_runs_if) { run_concurrently("examples/if_scripted/model.onnx", 1); }
TEST(concurrent_runs_functions) { run_concurrently("examples/functions/model.onnx", 1); }
