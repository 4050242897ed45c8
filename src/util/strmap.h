/* A string -> int map (open addressing). Keys are not copied: they must outlive
 * the map. Used for value names while building graphs. */
#ifndef OX_UTIL_STRMAP_H
#define OX_UTIL_STRMAP_H

#include <stddef.h>

typedef struct ox_strmap {
    const char **keys;
    int *vals;
    size_t cap, count;
} ox_strmap;

void ox_strmap_init(ox_strmap *m);
void ox_strmap_free(ox_strmap *m);
/* Insert or overwrite; returns 0 on out-of-memory. */
int ox_strmap_put(ox_strmap *m, const char *key, int val);
/* The value for key, or -1 when absent. */
int ox_strmap_get(const ox_strmap *m, const char *key);

#endif
