/* The fused cell updates of rnn_kern.h, written once and compiled per instruction
 * set: rnn_kern.c (portable) and src/kernels/x86/rnn_*.c include this file after
 * defining RNN_CELL(name), the name of each function in that file. The includer
 * turns on loop vectorisation (#pragma GCC optimize) so each loop becomes vector
 * code of the file's width; sigmoid and tanh are the straight-line functions of
 * kernels/vmath_scalar.h, which vectorise. */
#include "kernels/vmath_scalar.h"

static inline float RNN_CELL(clampf)(float x, float c) {
    x = x < -c ? -c : x;
    return x > c ? c : x; /* NaN stays NaN; c == INFINITY leaves x alone */
}

#ifndef RNN_CELL_OWN_GATES /* the includer has vector ones of its own */
static void RNN_CELL(lstm)(size_t H, const float *restrict g, const float *restrict xw,
                           float clip, float *restrict c, float *restrict h) {
    for (size_t j = 0; j < H; j++) {
        float i = ox_vm_sigmoidf(RNN_CELL(clampf)(g[j] + xw[j], clip));
        float o = ox_vm_sigmoidf(RNN_CELL(clampf)(g[H + j] + xw[H + j], clip));
        float f = ox_vm_sigmoidf(RNN_CELL(clampf)(g[2 * H + j] + xw[2 * H + j], clip));
        float z = ox_vm_tanhf(RNN_CELL(clampf)(g[3 * H + j] + xw[3 * H + j], clip));
        float cn = f * c[j] + i * z;
        c[j] = cn;
        h[j] = o * ox_vm_tanhf(cn);
    }
}

static void RNN_CELL(gru_zr)(size_t H, float *restrict g, const float *restrict xw, float clip,
                             const float *restrict h, float *restrict rh) {
    for (size_t j = 0; j < H; j++) {
        float z = ox_vm_sigmoidf(RNN_CELL(clampf)(g[j] + xw[j], clip));
        float r = ox_vm_sigmoidf(RNN_CELL(clampf)(g[H + j] + xw[H + j], clip));
        g[j] = z;
        rh[j] = r * h[j];
    }
}

static void RNN_CELL(gru_h)(size_t H, const float *restrict g, const float *restrict xw,
                            float clip, float *restrict h) {
    for (size_t j = 0; j < H; j++) {
        float hh = ox_vm_tanhf(RNN_CELL(clampf)(g[2 * H + j] + xw[2 * H + j], clip));
        float z = g[j];
        h[j] = (1 - z) * hh + z * h[j];
    }
}

static void RNN_CELL(gru_lbr)(size_t H, const float *restrict g, const float *restrict xw,
                              const float *restrict rb, float clip, float *restrict h) {
    for (size_t j = 0; j < H; j++) {
        float z = ox_vm_sigmoidf(RNN_CELL(clampf)(g[j] + xw[j], clip));
        float r = ox_vm_sigmoidf(RNN_CELL(clampf)(g[H + j] + xw[H + j], clip));
        float hh = ox_vm_tanhf(RNN_CELL(clampf)(xw[2 * H + j] + r * (g[2 * H + j] + rb[j]), clip));
        h[j] = (1 - z) * hh + z * h[j];
    }
}

static void RNN_CELL(rnn)(size_t H, const float *restrict g, const float *restrict xw, float clip,
                          float *restrict h) {
    for (size_t j = 0; j < H; j++) h[j] = ox_vm_tanhf(RNN_CELL(clampf)(g[j] + xw[j], clip));
}
#endif

static void RNN_CELL(sigmoid)(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = ox_vm_sigmoidf(x[i]);
}

static void RNN_CELL(tanh)(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = ox_vm_tanhf(x[i]);
}
