/* Malformed nodes must fail cleanly: random input counts, ranks, dims (zeros
 * included), types and attribute values for every nn op. The test passes when
 * nothing crashes (it runs under ASan+UBSan too) and every failure sets a status. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_nn.h"
#include "util/threadpool.h"

static const char *ops[] = {
    "MatMul", "Gemm", "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool",
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "MaxUnpool", "BatchNormalization",
    "InstanceNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization",
    "LpNormalization", "MeanVarianceNormalization", "LRN", "MatMulInteger", "QLinearMatMul",
    "ConvInteger", "QLinearConv"};
static const int typical_inputs[] = {2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 5,
                                     3, 3, 3, 2, 1, 1, 1, 4, 8, 4, 9};
static const char *int_attrs[] = {"group", "transA", "transB", "ceil_mode", "count_include_pad",
                                  "storage_order", "p", "axis", "num_groups", "size",
                                  "training_mode", "spatial", "stash_type"};
static const char *list_attrs[] = {"kernel_shape", "strides", "dilations", "pads",
                                   "output_padding", "output_shape", "axes"};
static const char *pad_modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "bogus"};
static const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                                ONYX_DTYPE_INT8, ONYX_DTYPE_UINT8, ONYX_DTYPE_INT32,
                                ONYX_DTYPE_INT64};

TEST(nn_fuzz_no_crash) {
    ox_threadpool *pool = ox_threadpool_create(2);
    int ok = 0, failed = 0;
    for (int trial = 0; trial < 20000; trial++) {
        int which = nn_rnd((int)(sizeof ops / sizeof *ops));
        const char *op = ops[which];
        size_t n_in = nn_rnd(4) ? (size_t)typical_inputs[which] : (size_t)nn_rnd(10);
        size_t n_out = 1 + (size_t)nn_rnd(3);
        ox_node *n = tn_node(op, n_in, n_out);
        int n_attr = nn_rnd(5);
        for (int a = 0; a < n_attr; a++) {
            int kind = nn_rnd(4);
            if (kind == 0) {
                tn_int(n, int_attrs[nn_rnd((int)(sizeof int_attrs / sizeof *int_attrs))],
                       nn_rnd(9) - 3);
            } else if (kind == 1) {
                int64_t v[6];
                size_t len = (size_t)nn_rnd(7);
                for (size_t i = 0; i < len; i++) v[i] = nn_rnd(7) - 2;
                tn_ints(n, list_attrs[nn_rnd((int)(sizeof list_attrs / sizeof *list_attrs))], len, v);
            } else if (kind == 2) {
                tn_str(n, "auto_pad", pad_modes[nn_rnd(5)]);
            } else {
                tn_float(n, nn_rnd(2) ? "epsilon" : "alpha", (float)(nn_rnd(5) - 2));
            }
        }
        ox_tensor in[10], *pin[10], out[3];
        int32_t base_t = types[nn_rnd(7)];
        for (size_t i = 0; i < n_in; i++) {
            int rank = i == 0 && nn_rnd(2) ? 3 + nn_rnd(2) : nn_rnd(6);
            int64_t dims[5];
            for (int d = 0; d < rank; d++) dims[d] = nn_rnd(5);
            int32_t t = nn_rnd(4) ? base_t : types[nn_rnd(7)];
            in[i] = nn_rand(t, rank, dims);
            pin[i] = &in[i];
            if (nn_rnd(8) == 0) {
                pin[i] = NULL;
                tn_omit_input(n, i);
            }
        }
        onyx_status s = nn_run(n, 7 + nn_rnd(17), pin, n_in, out, n_out, nn_rnd(2) ? pool : NULL);
        if (s == ONYX_OK) {
            ok++;
            nn_free(out, n_out);
        } else {
            failed++;
        }
        nn_free(in, n_in);
    }
    ox_threadpool_free(pool);
    if (getenv("NN_FUZZ_VERBOSE")) fprintf(stderr, "  fuzz: %d ran, %d refused\n", ok, failed);
    /* both outcomes occur: the generator reaches valid and invalid nodes */
    CHECK(ok > 0 && failed > 0);
}
