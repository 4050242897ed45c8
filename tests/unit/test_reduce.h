/* Helpers shared by the reduce family's unit tests (test_reduce.c, test_reduce_softmax.c). */
#ifndef OX_TEST_REDUCE_H
#define OX_TEST_REDUCE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nodes.h"
#include "test.h"
#include "util/alloc.h"
#include "util/threadpool.h"

static inline int rnd(int n) { return (int)(tt_randf() * (float)n) % n; }

/* Like ox_op_run_single, but with a thread pool. */
static inline onyx_status run_node(const ox_node *node, int64_t opset, ox_tensor **in, size_t n_in,
                                   ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    const ox_op_def *def = ox_op_find("", node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *outs[8];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = in,
                   .out = outs, .pool = pool};
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = def->infer(&c);
    for (size_t i = 0; i < n_out && s == ONYX_OK; i++) s = ox_tensor_alloc_data(&out[i]);
    if (s == ONYX_OK && c.workspace_bytes) c.workspace = ox_malloc_aligned(c.workspace_bytes);
    if (s == ONYX_OK) s = def->run(&c);
    ox_free_aligned(c.workspace);
    if (def->destroy && c.state) def->destroy(c.state);
    if (s != ONYX_OK)
        for (size_t i = 0; i < n_out; i++) ox_tensor_free_data(&out[i]);
    return s;
}

/* Only prepare + infer (planning), to see OX_NEED_VALUE and shapes. */
static inline onyx_status infer_node(const ox_node *node, int64_t opset, ox_tensor **in, size_t n_in,
                                     ox_tensor *out, size_t n_out) {
    const ox_op_def *def = ox_op_find("", node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *outs[8];
    for (size_t i = 0; i < n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        outs[i] = &out[i];
    }
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = n_out, .in = in, .out = outs};
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = def->infer(&c);
    if (def->destroy && c.state) def->destroy(c.state);
    return s;
}

/* |a - b| within tol (relative to |b| as well); equal infinities and two NaNs match. */
static inline int close_to(double a, double b, double tol) {
    if (isnan(b)) return isnan(a);
    if (isinf(b)) return a == b;
    return fabs(a - b) <= tol * (1 + fabs(b));
}

static inline void rand_shape(int32_t *rank, int64_t *dims, int max_rank, int allow_zero) {
    *rank = rnd(max_rank + 1);
    for (int32_t d = 0; d < *rank; d++) {
        dims[d] = 1 + rnd(4);
        if (allow_zero && rnd(12) == 0) dims[d] = 0;
    }
}

static inline ox_tensor axes_tensor(size_t n, const int64_t *v) {
    return tt_make(ONYX_DTYPE_INT64, 1, (int64_t[]){(int64_t)n}, v);
}

#endif
