#include "kernels/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define OX_CPU_X86 1
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned detected;
static atomic_uint limit = ~0u;

#ifdef OX_CPU_X86
/* XCR0: which register states the OS saves on context switch. Written as the raw
 * instruction so this file needs no -mxsave. */
static unsigned long long xgetbv0(void) {
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect_x86(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0; /* XMM and YMM state */
    unsigned f = 0;
    if (fma) f |= OX_CPU_FMA;
    if (f16c) f |= OX_CPU_F16C;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b >> 5) & 1) f |= OX_CPU_AVX2;
        /* opmask, upper ZMM halves and ZMM16-31 must be saved too */
        /* F (bit 16), DQ (17), BW (30), VL (31) */
        unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
        if ((b & need) == need && (xcr0 & 0xe6) == 0xe6) f |= OX_CPU_AVX512;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && ((c >> 8) & 1)) f |= OX_CPU_PRFCHW;
    return f;
}
#endif

static void init(void) {
#ifdef OX_CPU_X86
    detected = detect_x86();
#else
    detected = 0;
#endif
    const char *env = getenv("ONYX_CPU");
    if (env && strcmp(env, "generic") == 0) atomic_store(&limit, 0u);
    if (env && strcmp(env, "avx2") == 0)
        atomic_store(&limit, (unsigned)(OX_CPU_AVX2 | OX_CPU_FMA | OX_CPU_F16C));
}

unsigned ox_cpu_detected(void) {
    pthread_once(&once, init);
    return detected;
}

unsigned ox_cpu_features(void) { return ox_cpu_detected() & atomic_load(&limit); }

int ox_cpu_has(unsigned bits) { return (ox_cpu_features() & bits) == bits; }

unsigned ox_cpu_limit(unsigned mask) {
    pthread_once(&once, init);
    return atomic_exchange(&limit, mask);
}
