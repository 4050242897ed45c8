/* Fuzz target: bytes -> model -> session (checks, inference, planning). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_setup();
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_session_options o;
    fuzz_options(&o);
    if (onyx_model_load_buffer(data, size, &m) == ONYX_OK) {
        (void)onyx_model_ir_version(m);
        (void)onyx_model_producer(m);
        if (onyx_session_create(m, &o, &s) == ONYX_OK) {
            for (size_t i = 0; i < onyx_session_input_count(s); i++) {
                onyx_value_info info;
                (void)onyx_session_input_info(s, i, &info);
            }
        }
    }
    onyx_session_free(s);
    onyx_model_free(m);
    return 0;
}
