#include "util/arena.h"

#include <string.h>

#include "util/alloc.h"

struct ox_arena_block {
    ox_arena_block *next;
    size_t pad; /* keeps data 16-byte aligned */
    _Alignas(16) unsigned char data[];
};

#define OX_ARENA_BLOCK 65536

void ox_arena_init(ox_arena *a) { memset(a, 0, sizeof *a); }

void *ox_arena_alloc_raw(ox_arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (!a->head || a->cap - a->used < size) {
        size_t cap = size > OX_ARENA_BLOCK ? size : OX_ARENA_BLOCK, total;
        if (!ox_add_ok(cap, sizeof(ox_arena_block), &total)) return NULL;
        ox_arena_block *b = ox_malloc(total);
        if (!b) return NULL;
        b->next = a->head;
        a->head = b;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->data + a->used;
    a->used += size;
    return p;
}

void *ox_arena_alloc(ox_arena *a, size_t size) {
    void *p = ox_arena_alloc_raw(a, size);
    if (p) memset(p, 0, size ? size : 1);
    return p;
}

void *ox_arena_array(ox_arena *a, size_t count, size_t size) {
    size_t n;
    if (!ox_mul_ok(count, size, &n)) return NULL;
    return ox_arena_alloc(a, n);
}

char *ox_arena_strndup(ox_arena *a, const char *s, size_t n) {
    size_t total;
    if (!ox_add_ok(n, 1, &total)) return NULL;
    char *p = ox_arena_alloc(a, total);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *ox_arena_strdup(ox_arena *a, const char *s) { return ox_arena_strndup(a, s, strlen(s)); }

void ox_arena_free(ox_arena *a) {
    ox_arena_block *b = a->head;
    while (b) {
        ox_arena_block *n = b->next;
        ox_free(b);
        b = n;
    }
    memset(a, 0, sizeof *a);
}
