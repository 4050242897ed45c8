/* Which instruction-set extensions the kernels may use, found once per process.
 *
 * Kernels in src/kernels/x86/ are compiled for AVX2+FMA+F16C, and those in files
 * named *_avx512.c also for AVX-512 (F, DQ, VL, BW); the portable code calls them
 * only when ox_cpu_has() says the processor and the operating system (saved YMM /
 * ZMM state, checked with xgetbv) support them. Setting the environment variable
 * ONYX_CPU=generic before the first kernel call forces the portable code
 * everywhere, ONYX_CPU=avx2 stops at AVX2 + FMA + F16C: for testing and for
 * comparing results. */
#ifndef OX_KERNELS_CPU_H
#define OX_KERNELS_CPU_H

enum {
    OX_CPU_AVX2 = 1u << 0,    /* AVX and AVX2 (with OS-enabled YMM state) */
    OX_CPU_FMA = 1u << 1,     /* FMA3 */
    OX_CPU_F16C = 1u << 2,    /* half <-> float conversions */
    OX_CPU_AVX512 = 1u << 3, /* AVX-512 F, DQ, VL and BW (with OS-enabled ZMM state) */
    OX_CPU_PRFCHW = 1u << 4, /* PREFETCHW: a prefetch that asks for the line to write */
};

/* The usable feature bits: detected, minus what ONYX_CPU or ox_cpu_limit removed. */
unsigned ox_cpu_features(void);

/* 1 when every bit of `bits` is usable. */
int ox_cpu_has(unsigned bits);

/* What the processor offers, regardless of ONYX_CPU and ox_cpu_limit. */
unsigned ox_cpu_detected(void);

/* Restrict the usable bits to detected & mask (tests run both paths with it);
 * returns the previous mask. ~0u lifts the limit; ONYX_CPU=generic starts it at 0.
 * Not meant to be changed while kernels run on other threads. */
unsigned ox_cpu_limit(unsigned mask);

#endif
