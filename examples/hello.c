/* hello.c — the onyx C API in a few dozen lines.
 * Loads a model, describes its inputs, feeds each a buffer of 0.5s (symbolic dims
 * taken as 1), runs it and prints the first values of each output.
 *   build/hello examples/linear_tanh/model.onnx */
#include <stdio.h>
#include <stdlib.h>

#include "onyx.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/linear_tanh/model.onnx";
    onyx_model *model = NULL;
    onyx_session *session = NULL;
    if (onyx_model_load_file(path, &model) != ONYX_OK ||
        onyx_session_create(model, NULL, &session) != ONYX_OK) {
        fprintf(stderr, "hello: %s\n", onyx_last_error());
        onyx_model_free(model);
        return 1;
    }
    size_t n_in = onyx_session_input_count(session), n_out = onyx_session_output_count(session);
    const char *names[16];
    onyx_tensor *inputs[16] = {0}, *outputs[16] = {0};
    float *buffers[16] = {0};
    int rc = 1;
    if (n_in > 16 || n_out > 16) goto done;
    for (size_t i = 0; i < n_in; i++) {
        onyx_value_info info;
        onyx_session_input_info(session, i, &info);
        int64_t dims[16];
        size_t count = 1;
        for (int r = 0; r < info.rank && r < 16; r++) {
            dims[r] = info.dims[r] < 0 ? 1 : info.dims[r]; /* a symbolic dim: pick 1 */
            count *= (size_t)dims[r];
        }
        printf("input %s: %s, rank %d\n", info.name, onyx_dtype_name(info.dtype), info.rank);
        if (info.dtype != ONYX_DTYPE_FLOAT || info.rank < 0 || info.rank > 16) goto done;
        buffers[i] = malloc(count * sizeof(float));
        if (!buffers[i]) goto done;
        for (size_t k = 0; k < count; k++) buffers[i][k] = 0.5f;
        /* the tensor wraps our buffer: no copy, and we keep ownership */
        if (onyx_tensor_wrap(info.dtype, info.rank, dims, buffers[i], count * sizeof(float),
                             &inputs[i]) != ONYX_OK)
            goto fail;
        names[i] = info.name;
    }
    /* NULL output names: the graph's outputs; each result is a new tensor we own */
    if (onyx_session_run(session, n_in, names, (const onyx_tensor *const *)inputs, n_out, NULL,
                         outputs) != ONYX_OK)
        goto fail;
    for (size_t i = 0; i < n_out; i++) {
        onyx_value_info info;
        onyx_session_output_info(session, i, &info);
        printf("output %s: %zu values:", info.name, onyx_tensor_count(outputs[i]));
        const float *v = onyx_tensor_data_const(outputs[i]);
        for (size_t k = 0; k < onyx_tensor_count(outputs[i]) && k < 8; k++) printf(" %.5f", v[k]);
        printf("\n");
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "hello: %s\n", onyx_last_error());
done:
    for (size_t i = 0; i < 16; i++) {
        onyx_tensor_free(inputs[i]);
        onyx_tensor_free(outputs[i]);
        free(buffers[i]);
    }
    onyx_session_free(session);
    onyx_model_free(model);
    return rc;
}
