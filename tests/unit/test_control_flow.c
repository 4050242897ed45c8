/* Loops allocate nothing per iteration once their body's plan exists: the number of
 * allocations of a run does not grow with the trip count. */
#include <stdlib.h>
#include <string.h>

#include "mbuild.h"
#include "onyx.h"
#include "test.h"

/* allocations made by one run of examples/loop_scripted with trip count n */
static size_t allocs_for_trips(onyx_session *s, int64_t trips, float *y0) {
    float x[20];
    for (int i = 0; i < 20; i++) x[i] = (float)i / 20.0f - 0.5f;
    onyx_tensor *in[2], *out = NULL;
    onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 10}, x, sizeof x, &in[0]);
    onyx_tensor_wrap(ONYX_DTYPE_INT64, 0, NULL, &trips, sizeof trips, &in[1]);
    const char *names[2] = {"x", "n"};
    mb_count_start();
    onyx_status st = onyx_session_run(s, 2, names, (const onyx_tensor *const *)in, 1, NULL, &out);
    size_t made = mb_count_stop();
    if (st == ONYX_OK && y0) *y0 = ((const float *)onyx_tensor_data_const(out))[0];
    onyx_tensor_free(out);
    onyx_tensor_free(in[0]);
    onyx_tensor_free(in[1]);
    return st == ONYX_OK ? made : (size_t)-1;
}

TEST(loop_allocations_do_not_grow_with_trips) {
    onyx_model *m;
    onyx_session *s;
    REQUIRE_OK(onyx_model_load_file("examples/loop_scripted/model.onnx", &m));
    REQUIRE_OK(onyx_session_create(m, NULL, &s));
    float y;
    allocs_for_trips(s, 3, &y); /* warm-up: plans and run states are made once */
    size_t a10 = allocs_for_trips(s, 10, &y);
    size_t a1000 = allocs_for_trips(s, 1000, &y);
    CHECK(a10 != (size_t)-1);
    CHECK(a10 == a1000);
    if (a10 != a1000) fprintf(stderr, "  10 trips: %zu allocations, 1000 trips: %zu\n", a10, a1000);
    onyx_session_free(s);
    onyx_model_free(m);
}

TEST(loop_stops_at_iteration_limit) {
    onyx_model *m;
    onyx_session *s;
    REQUIRE_OK(onyx_model_load_file("examples/loop_scripted/model.onnx", &m));
    onyx_session_options o;
    onyx_session_options_init(&o);
    o.max_loop_iterations = 5;
    REQUIRE_OK(onyx_session_create(m, &o, &s));
    float x[20] = {0};
    int64_t trips = 5;
    onyx_tensor *in[2], *out = NULL;
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, 10}, x, sizeof x, &in[0]));
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_INT64, 0, NULL, &trips, sizeof trips, &in[1]));
    const char *names[2] = {"x", "n"};
    CHECK(onyx_session_run(s, 2, names, (const onyx_tensor *const *)in, 1, NULL, &out) == ONYX_OK);
    onyx_tensor_free(out);
    out = NULL;
    trips = 6;
    CHECK(onyx_session_run(s, 2, names, (const onyx_tensor *const *)in, 1, NULL, &out) == ONYX_ERR_LIMIT);
    CHECK(strstr(onyx_last_error(), "(Loop)") != NULL);
    CHECK(strstr(onyx_last_error(), "5 iterations") != NULL);
    onyx_tensor_free(in[0]);
    onyx_tensor_free(in[1]);
    onyx_session_free(s);
    onyx_model_free(m);
}
