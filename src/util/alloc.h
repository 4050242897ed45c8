/* The one allocation path of the library. Every allocation goes through these so a
 * caller (or a test injecting out-of-memory faults) can replace the allocator.
 * ox_malloc(0) returns a valid unique pointer. Sizes given as count*size are
 * overflow-checked by ox_malloc_array / ox_calloc. */
#ifndef OX_UTIL_ALLOC_H
#define OX_UTIL_ALLOC_H

#include <stddef.h>

void *ox_malloc(size_t size);
void *ox_calloc(size_t count, size_t size);
void *ox_malloc_array(size_t count, size_t size);
void *ox_realloc(void *ptr, size_t size);
void ox_free(void *ptr);
/* A nul-terminated copy of s (NULL on failure or when s is NULL). */
char *ox_strdup(const char *s);

/* 64-byte aligned allocation for tensor data; free with ox_free_aligned. */
void *ox_malloc_aligned(size_t size);
void ox_free_aligned(void *ptr);

/* a*b, returning 0 (and leaving *out untouched) on overflow. */
static inline int ox_mul_ok(size_t a, size_t b, size_t *out) {
    if (a && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}
static inline int ox_add_ok(size_t a, size_t b, size_t *out) {
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

#endif
