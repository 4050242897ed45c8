#include "util/strmap.h"

#include <stdint.h>
#include <string.h>

#include "util/alloc.h"

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void ox_strmap_init(ox_strmap *m) { memset(m, 0, sizeof *m); }

void ox_strmap_free(ox_strmap *m) {
    ox_free(m->keys);
    ox_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int grow(ox_strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    const char **keys = ox_calloc(cap, sizeof *keys);
    int *vals = ox_calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        ox_free(keys);
        ox_free(vals);
        return 0;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = hash_str(m->keys[i]) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    ox_free(m->keys);
    ox_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 1;
}

int ox_strmap_put(ox_strmap *m, const char *key, int val) {
    if ((m->count + 1) * 2 > m->cap && !grow(m)) return 0;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            m->vals[j] = val;
            return 1;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return 1;
}

int ox_strmap_get(const ox_strmap *m, const char *key) {
    if (!m->cap) return -1;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}
