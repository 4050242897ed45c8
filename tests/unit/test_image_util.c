/* Helpers for the image op tests. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "test_image.h"
#include "util/alloc.h"
#include "util/fp16.h"


onyx_status img_run(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                   ox_tensor *out, size_t n_out, ox_threadpool *pool) {
    return ox_op_run_single_on(node, opset, in, n_in, out, n_out, pool);
}

onyx_status img_infer(const ox_node *node, int64_t opset, ox_tensor *const *in, size_t n_in,
                      ox_tensor *out) {
    const ox_op_def *def = ox_op_find(node->domain, node->op_type, opset);
    if (!def) return ONYX_ERR_UNSUPPORTED;
    ox_tensor *ins[16];
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i];
    memset(out, 0, sizeof *out);
    ox_op_ctx c = {.node = node, .opset = opset, .n_in = n_in, .n_out = 1, .in = ins, .out = &out};
    onyx_status s = def->prepare ? def->prepare(&c) : ONYX_OK;
    if (s == ONYX_OK) s = def->infer(&c);
    if (def->destroy && c.state) def->destroy(c.state);
    return s;
}

int img_rnd(int n) { return n > 0 ? (int)(tt_randf() * (float)n) % n : 0; }

double img_uniform(double lo, double hi) { return lo + (hi - lo) * tt_randf(); }

ox_tensor img_rand(int32_t dtype, int32_t rank, const int64_t *dims, double lo, double hi) {
    ox_tensor t = tt_make(dtype, rank, dims, NULL);
    size_t n = ox_tensor_count(&t);
    for (size_t i = 0; i < n; i++) {
        double v = img_uniform(lo, hi);
        if (dtype == ONYX_DTYPE_FLOAT) ((float *)t.data)[i] = (float)v;
        else if (dtype == ONYX_DTYPE_DOUBLE) ((double *)t.data)[i] = v;
        else if (dtype == ONYX_DTYPE_FLOAT16) ((uint16_t *)t.data)[i] = ox_f32_to_f16((float)v);
        else if (dtype == ONYX_DTYPE_UINT8) ((uint8_t *)t.data)[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        else if (dtype == ONYX_DTYPE_INT32) ((int32_t *)t.data)[i] = (int32_t)v;
    }
    return t;
}

ox_tensor img_f32(int32_t rank, const int64_t *dims, const float *v) {
    return tt_make(ONYX_DTYPE_FLOAT, rank, dims, v);
}

ox_tensor img_i64(size_t n, const int64_t *v) {
    int64_t d = (int64_t)n;
    return tt_make(ONYX_DTYPE_INT64, 1, &d, v);
}

int img_expect(const ox_tensor *got, const double *want, size_t n, double tol, const char *what) {
    int bad = 0;
    if (ox_tensor_count(got) != n) {
        fprintf(stderr, "  %s: %zu values, expected %zu\n", what, ox_tensor_count(got), n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        double g = ox_tensor_get_double(got, i), w = want[i];
        if ((g != g && w != w) || fabs(g - w) <= tol) continue;
        if (bad++ < 4) fprintf(stderr, "  %s[%zu] = %.9g, expected %.9g\n", what, i, g, w);
    }
    return bad;
}

void img_free(ox_tensor *t, size_t n) {
    for (size_t i = 0; i < n; i++) ox_tensor_free_data(&t[i]);
}
