/* A bump allocator: many small allocations freed together. The loaded model keeps
 * all of its decoded structures in one arena. */
#ifndef OX_UTIL_ARENA_H
#define OX_UTIL_ARENA_H

#include <stddef.h>

typedef struct ox_arena_block ox_arena_block;
typedef struct ox_arena {
    ox_arena_block *head;
    size_t used, cap; /* within head */
} ox_arena;

void ox_arena_init(ox_arena *a);
/* 16-byte aligned, zero-filled memory that lives until ox_arena_free; NULL on failure. */
void *ox_arena_alloc(ox_arena *a, size_t size);
/* The same without the zero fill, for memory the caller writes whole at once (tensor
 * data copied from the file: filling it first would touch it twice). */
void *ox_arena_alloc_raw(ox_arena *a, size_t size);
void *ox_arena_array(ox_arena *a, size_t count, size_t size);
/* A nul-terminated copy of n bytes at s. */
char *ox_arena_strndup(ox_arena *a, const char *s, size_t n);
char *ox_arena_strdup(ox_arena *a, const char *s);
void ox_arena_free(ox_arena *a);

#endif
