/* kernels/bias_act.h against plain loops, on every path and odd lengths, with NaN
 * passing through ReLU and the lower Clip bound applied first. */
#include <math.h>
#include <string.h>

#include "kernels/bias_act.h"
#include "kernels/cpu.h"
#include "test.h"

static float act_ref(float v, int kind, float lo, float hi) {
    if (kind == OX_BIAS_RELU) return v < 0.0f ? 0.0f : v;
    if (kind == OX_BIAS_CLIP) {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
    return v;
}

static int same(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

TEST(bias_act_paths) {
    static const unsigned limits[2] = {~0u, 0u};
    static const size_t lens[] = {0, 1, 7, 15, 16, 17, 33, 255};
    float src[300], bias[300], dst[300 + 4], want;
    for (int i = 0; i < 300; i++) {
        src[i] = (float)sin(i * 1.3) * 3.0f;
        bias[i] = (float)cos(i * 0.7);
    }
    src[5] = NAN;
    src[20] = -INFINITY;
    for (int l = 0; l < 2; l++) {
        unsigned old = ox_cpu_limit(limits[l]);
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++)
            for (int kind = 0; kind < 3; kind++) {
                size_t n = lens[t];
                for (int i = 0; i < 304; i++) dst[i] = 42.0f; /* guard cells after n */
                ox_bias_act(dst, src, n, 0.25f, kind, -0.5f, 1.5f);
                for (size_t i = 0; i < n; i++) {
                    want = act_ref(src[i] + 0.25f, kind, -0.5f, 1.5f);
                    CHECK(same(dst[i], want));
                }
                CHECK(dst[n] == 42.0f);
                ox_bias_vec_act(dst, src, bias, n, kind, -0.5f, 1.5f);
                for (size_t i = 0; i < n; i++) {
                    want = act_ref(src[i] + bias[i], kind, -0.5f, 1.5f);
                    CHECK(same(dst[i], want));
                }
                CHECK(dst[n] == 42.0f);
                /* three rows of n, strides 37 (source) and 41 (destination) */
                if (n <= 33) {
                    float d2[3 * 41 + 4];
                    for (int i = 0; i < 3 * 41 + 4; i++) d2[i] = 42.0f;
                    ox_bias_act_rows(d2, 41, src, 37, 3, n, bias, kind, -0.5f, 1.5f);
                    for (size_t r = 0; r < 3; r++)
                        for (size_t i = 0; i < 41; i++) {
                            want = i < n ? act_ref(src[r * 37 + i] + bias[r], kind, -0.5f, 1.5f)
                                         : 42.0f;
                            CHECK(same(d2[r * 41 + i], want));
                        }
                    ox_bias_act_rows(d2, 41, src, 37, 3, n, NULL, kind, -0.5f, 1.5f);
                    for (size_t r = 0; r < 3; r++)
                        for (size_t i = 0; i < n; i++)
                            CHECK(same(d2[r * 41 + i], act_ref(src[r * 37 + i], kind, -0.5f, 1.5f)));
                }
            }
        ox_cpu_limit(old);
    }
}
