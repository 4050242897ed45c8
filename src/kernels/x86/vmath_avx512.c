/* kernels/vmath.h on 16 lanes of AVX-512 (this file is compiled with -mavx512f
 * -mavx512dq -mavx512vl -mavx512bw; vmath.c calls it only when kernels/cpu.h
 * reports them). The lanes are in vmath_avx512_lanes.h. */
#include "kernels/vmath_ops.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/x86/vmath_avx512_lanes.h"

#define VM_OPS ox_vmath_avx512
#include "kernels/vmath_impl.h"

#endif
