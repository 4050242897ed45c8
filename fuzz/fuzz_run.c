/* Fuzz target: bytes -> model -> session -> one run with small inputs. Inputs get
 * their declared shape (unknown dims as 2, at most 4096 elements) filled from a
 * fixed pattern; sequences and inputs without a type are skipped (the run then
 * reports a missing input, which is fine). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_IO 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_setup();
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_tensor *in[MAX_IO] = {0}, *out[MAX_IO] = {0};
    const char *names[MAX_IO];
    onyx_session_options o;
    fuzz_options(&o);
    if (onyx_model_load_buffer(data, size, &m) != ONYX_OK || onyx_session_create(m, &o, &s) != ONYX_OK)
        goto done;
    size_t n_in = onyx_session_input_count(s), n_out = onyx_session_output_count(s), given = 0;
    if (n_in > MAX_IO || n_out > MAX_IO) goto done;
    for (size_t i = 0; i < n_in; i++) {
        onyx_value_info info;
        onyx_session_input_info(s, i, &info);
        if (info.rank < 0 || info.rank > 6 || onyx_dtype_size(info.dtype) == 0) continue;
        int64_t dims[6];
        size_t count = 1;
        for (int r = 0; r < info.rank; r++) {
            dims[r] = info.dims[r] < 0 ? 2 : info.dims[r];
            count *= (size_t)(dims[r] ? dims[r] : 1);
            if (count > 4096) break;
        }
        if (count > 4096) continue;
        if (onyx_tensor_create(info.dtype, info.rank, dims, &in[given]) != ONYX_OK) continue;
        unsigned char *p = onyx_tensor_data(in[given]);
        size_t nb = onyx_tensor_nbytes(in[given]);
        for (size_t k = 0; k < nb; k++) p[k] = (unsigned char)(k * 7 + 1); /* small values, some NaN-free */
        names[given++] = info.name;
    }
    (void)onyx_session_run(s, given, names, (const onyx_tensor *const *)in, n_out, NULL, out);
done:
    for (size_t i = 0; i < MAX_IO; i++) {
        onyx_tensor_free(in[i]);
        onyx_tensor_free(out[i]);
    }
    onyx_session_free(s);
    onyx_model_free(m);
    return 0;
}
