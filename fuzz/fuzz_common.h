/* Shared by the fuzz targets: an allocator that refuses huge blocks (so a hostile
 * model meets ONYX_ERR_OUT_OF_MEMORY instead of exhausting the fuzzer's memory) and
 * small loop limits. */
#ifndef ONYX_FUZZ_COMMON_H
#define ONYX_FUZZ_COMMON_H

#include <stdlib.h>

#include "onyx.h"

#define FUZZ_MAX_BLOCK ((size_t)64 << 20)

static void *fuzz_alloc(size_t n, void *u) {
    (void)u;
    return n > FUZZ_MAX_BLOCK ? NULL : malloc(n);
}
static void *fuzz_realloc(void *p, size_t n, void *u) {
    (void)u;
    return n > FUZZ_MAX_BLOCK ? NULL : realloc(p, n);
}
static void fuzz_free(void *p, void *u) {
    (void)u;
    free(p);
}

static void fuzz_setup(void) {
    static int done;
    if (done) return;
    done = 1;
    static const onyx_allocator a = {fuzz_alloc, fuzz_realloc, fuzz_free, NULL};
    onyx_set_allocator(&a);
}

static void fuzz_options(onyx_session_options *o) {
    onyx_session_options_init(o);
    o->max_loop_iterations = 1000;
}

#endif
