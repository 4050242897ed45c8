/* Winograd with the output channels in the vector lanes (kernels/wino_oc.h) through
 * the Conv op, against the naive double-precision reference of conv_op_check.h. The
 * kernel exists on AVX-512 only; elsewhere these tests check that it says so. */
#include <math.h>

#include "conv_op_check.h"
#include "conv_ref.h"
#include "kernels/cpu.h"
#include "kernels/wino_oc.h"
#include "ops/nn_conv_wino_oc.h"
#include "test.h"
#include "util/threadpool.h"

/* this file's own stream (conv_ref.h) */
static uint32_t rng_state = 0x2545f491u;
static float randf(void) { return conv_randf(&rng_state); }

TEST(wino_oc_supported_only_with_avx512) {
    CHECK(ox_wino_oc_supported() == ox_cpu_has(OX_CPU_AVX512 | OX_CPU_AVX2 | OX_CPU_FMA));
}

TEST(wino_oc_conv_op_shapes) {
    if (!ox_wino_oc_supported()) return;
    /* odd and even planes (a last tile column or row half outside), groups of 1..7
     * tiles, pads 0..2, channel counts around the strip of 64 and its vectors of 16,
     * two images; serial and on a pool of 3 (bands cut for more items) */
    ox_threadpool *pool = ox_threadpool_create(3);
    static const int64_t dims[][2] = {{14, 14}, {13, 13}, {27, 27}, {55, 55}, {14, 31},
                                      {17, 12}, {40, 9}};
    static const int64_t chans[][2] = {{16, 64}, {17, 16}, {32, 128}, {48, 192}, {33, 65},
                                       {64, 17}, {100, 130}};
    int k = 0;
    for (int d = 0; d < 7; d++)
        for (int ch = 0; ch < 7; ch++, k++) {
            int act = k % (OX_ACT_GELU + 1), res = k % 3 == 1, packed = k % 2;
            conv_op_case c = {1 + k % 5 / 4, chans[ch][0], chans[ch][1], dims[d][0],
                              dims[d][1], 3, 1, k % 3, 1, act, res, packed};
            ox_test_failures += conv_op_check(&c, ox_conv_wino_oc_applies, "wino-oc", randf,
                                              k % 2 ? pool : NULL);
        }
    ox_threadpool_free(pool);
}

TEST(wino_oc_conv_op_every_act) {
    if (!ox_wino_oc_supported()) return;
    /* every activation the planner fuses, with and without a residual, on the layers
     * of squeezenet's fire modules */
    ox_threadpool *pool = ox_threadpool_create(2);
    for (int act = OX_ACT_NONE; act <= OX_ACT_GELU; act++)
        for (int res = 0; res < 2; res++) {
            conv_op_case cases[2] = {{1, 16, 64, 55, 55, 3, 1, 1, 1, act, res, 1},
                                     {1, 64, 256, 13, 13, 3, 1, 1, 1, act, res, 0}};
            for (int i = 0; i < 2; i++)
                ox_test_failures += conv_op_check(&cases[i], ox_conv_wino_oc_applies, "wino-oc",
                                                  randf, (act + i) % 2 ? pool : NULL);
        }
    ox_threadpool_free(pool);
}
