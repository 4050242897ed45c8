/* The recurrent layer kernels in float and double (see rnn_impl.h). */
#include <math.h>

#include "kernels/gemm.h"
#include "ops/rnn.h"

#define REAL float
#define SUF f32
#define GEMM ox_sgemm
#define EXP expf
#define TANH tanhf
#define LOG1P log1pf
#include "ops/rnn_impl.h"
#undef REAL
#undef SUF
#undef GEMM
#undef EXP
#undef TANH
#undef LOG1P

#define REAL double
#define SUF f64
#define GEMM ox_dgemm
#define EXP exp
#define TANH tanh
#define LOG1P log1p
#include "ops/rnn_impl.h"
#undef REAL
#undef SUF
#undef GEMM
#undef EXP
#undef TANH
#undef LOG1P
