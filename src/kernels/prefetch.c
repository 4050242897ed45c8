#include "kernels/prefetch.h"

#include <stdint.h>

#include "kernels/cpu.h"

/* The lines are addresses (uintptr_t) until prefetched: a region's end may lie one
 * past an object, and prefetching an address never faults. */
#define LINE 64

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
__attribute__((target("prfchw"))) static void prefetchw_lines(uintptr_t a, uintptr_t end) {
    for (; a < end; a += LINE) __builtin_prefetch((const void *)a, 1, 3);
}
#define OX_HAVE_PREFETCHW 1
#endif

static void write_lines(uintptr_t a, uintptr_t end, int prefetchw) {
#ifdef OX_HAVE_PREFETCHW
    if (prefetchw) {
        prefetchw_lines(a, end);
        return;
    }
#endif
    (void)prefetchw;
    for (; a < end; a += LINE) __builtin_prefetch((const void *)a, 1, 3);
}

static void read_lines(uintptr_t a, uintptr_t end) {
    for (; a < end; a += LINE) __builtin_prefetch((const void *)a, 0, 3);
}

void ox_prefetch_for_write(const void *p, size_t bytes) {
    write_lines((uintptr_t)p & ~(uintptr_t)(LINE - 1), (uintptr_t)p + bytes,
                ox_cpu_has(OX_CPU_PRFCHW));
}

void ox_prefetch_for_read(const void *p, size_t bytes) {
    read_lines((uintptr_t)p & ~(uintptr_t)(LINE - 1), (uintptr_t)p + bytes);
}
