/* The recurrent layer kernels in float and double (see rnn_impl.h). */
#if defined(__GNUC__) && !defined(__clang__)
/* gcc -O2 vectorises these loops only when told to (see elem_math.c) */
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#include <math.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/vmath_scalar.h"
#include "ops/rnn.h"
#include "util/threadpool.h"

#define REAL float
#define SUF f32
#define RNN_F32 1
#define EXP expf
#define TANH ox_vm_tanhf
#define SIGM ox_vm_sigmoidf
#define LOG1P log1pf
#include "ops/rnn_impl.h"
#undef REAL
#undef SUF
#undef RNN_F32
#undef EXP
#undef TANH
#undef SIGM
#undef LOG1P

/* e^-|v| never overflows; for v < 0, e^v / (1 + e^v) keeps the tiny tail */
static double sigm_f64(double v) {
    if (v >= 0) return 1 / (1 + exp(-v));
    double e = exp(v);
    return e / (1 + e);
}

#define REAL double
#define SUF f64
#define RNN_F32 0
#define EXP exp
#define TANH tanh
#define SIGM sigm_f64
#define LOG1P log1p
#include "ops/rnn_impl.h"
#undef REAL
#undef SUF
#undef RNN_F32
#undef EXP
#undef TANH
#undef SIGM
#undef LOG1P
