#include "util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "onyx.h"

static onyx_allocator g_alloc;

void onyx_set_allocator(const onyx_allocator *a) {
    if (a && a->alloc && a->realloc && a->free)
        g_alloc = *a;
    else
        memset(&g_alloc, 0, sizeof g_alloc);
}

void *ox_malloc(size_t size) {
    if (size == 0) size = 1;
    if (g_alloc.alloc) return g_alloc.alloc(size, g_alloc.user);
    return malloc(size);
}

void *ox_realloc(void *ptr, size_t size) {
    if (size == 0) size = 1;
    if (g_alloc.realloc) return g_alloc.realloc(ptr, size, g_alloc.user);
    return realloc(ptr, size);
}

void ox_free(void *ptr) {
    if (!ptr) return;
    if (g_alloc.free)
        g_alloc.free(ptr, g_alloc.user);
    else
        free(ptr);
}

void *ox_malloc_array(size_t count, size_t size) {
    size_t n;
    if (!ox_mul_ok(count, size, &n)) return NULL;
    return ox_malloc(n);
}

void *ox_calloc(size_t count, size_t size) {
    size_t n;
    if (!ox_mul_ok(count, size, &n)) return NULL;
    void *p = ox_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

char *ox_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = ox_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* The raw pointer is stored just before the aligned block. */
void *ox_malloc_aligned(size_t size) {
    size_t total;
    if (!ox_add_ok(size, 64 + sizeof(void *), &total)) return NULL;
    unsigned char *raw = ox_malloc(total);
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    unsigned char *p = (unsigned char *)a;
    memcpy(p - sizeof(void *), &raw, sizeof raw);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* Large blocks (weights, arenas) on 2 MB pages where the kernel allows it: one
     * page fault instead of 512 when the block is first written, which on some
     * virtual machines is most of the cost of loading a model. Only whole 2 MB pages
     * inside the block are advised; the advice is a hint and may fail. */
    if (size >= ((size_t)4 << 20)) {
        uintptr_t h = ((uintptr_t)p + ((uintptr_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1);
        uintptr_t e = ((uintptr_t)p + size) & ~(((uintptr_t)2 << 20) - 1);
        if (e > h) (void)madvise((void *)h, (size_t)(e - h), MADV_HUGEPAGE);
    }
#endif
    return p;
}

void ox_free_aligned(void *ptr) {
    if (!ptr) return;
    void *raw;
    memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof raw);
    ox_free(raw);
}
