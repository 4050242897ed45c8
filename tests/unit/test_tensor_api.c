/* The public tensor API beyond plain numbers: strings and sequence outputs. */
#include <string.h>

#include "onyx.h"
#include "test.h"

TEST(api_strings_round_trip) {
    onyx_tensor *t;
    REQUIRE_OK(onyx_tensor_create(ONYX_DTYPE_STRING, 1, (int64_t[]){3}, &t));
    const char *d;
    size_t n;
    REQUIRE_OK(onyx_tensor_string(t, 1, &d, &n));
    CHECK(n == 0);
    REQUIRE_OK(onyx_tensor_set_string(t, 1, "a\0b", 3));
    REQUIRE_OK(onyx_tensor_set_string(t, 2, "hello", 5));
    REQUIRE_OK(onyx_tensor_set_string(t, 2, "hi", 2)); /* replaces, no leak */
    REQUIRE_OK(onyx_tensor_string(t, 1, &d, &n));
    CHECK(n == 3 && memcmp(d, "a\0b", 3) == 0);
    REQUIRE_OK(onyx_tensor_string(t, 2, &d, &n));
    CHECK(n == 2 && memcmp(d, "hi", 2) == 0);
    CHECK(onyx_tensor_string(t, 3, &d, &n) == ONYX_ERR_INVALID_ARGUMENT);
    onyx_tensor_free(t);
    float f[2] = {0};
    onyx_tensor *ft;
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 1, (int64_t[]){2}, f, sizeof f, &ft));
    CHECK(onyx_tensor_string(ft, 0, &d, &n) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(onyx_tensor_sequence_length(ft) == 0);
    onyx_tensor_free(ft);
}

/* tests/models/sequence_output: x [4,3] -> the sequence of its rows, doubled */
TEST(api_sequence_output) {
    onyx_model *m;
    onyx_session *s;
    REQUIRE_OK(onyx_model_load_file("tests/models/sequence_output/model.onnx", &m));
    REQUIRE_OK(onyx_session_create(m, NULL, &s));
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i - 5.5f;
    onyx_tensor *in, *out = NULL;
    REQUIRE_OK(onyx_tensor_wrap(ONYX_DTYPE_FLOAT, 2, (int64_t[]){4, 3}, x, sizeof x, &in));
    const char *name = "x";
    REQUIRE_OK(onyx_session_run(s, 1, &name, (const onyx_tensor *const *)&in, 1, NULL, &out));
    CHECK(onyx_tensor_dtype(out) == ONYX_DTYPE_SEQUENCE);
    CHECK(onyx_tensor_sequence_length(out) == 4);
    for (size_t i = 0; i < 4; i++) {
        onyx_tensor *item;
        REQUIRE_OK(onyx_tensor_sequence_item(out, i, &item));
        CHECK(onyx_tensor_dtype(item) == ONYX_DTYPE_FLOAT && onyx_tensor_rank(item) == 2);
        const float *v = onyx_tensor_data_const(item);
        for (int k = 0; k < 3; k++) CHECK(v[k] == 2 * x[i * 3 + k]);
        onyx_tensor_free(item);
    }
    onyx_tensor *bad;
    CHECK(onyx_tensor_sequence_item(out, 4, &bad) == ONYX_ERR_INVALID_ARGUMENT);
    onyx_tensor_free(out);
    onyx_tensor_free(in);
    onyx_session_free(s);
    onyx_model_free(m);
}
