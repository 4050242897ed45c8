#include "util/scratch.h"

#include <pthread.h>
#include <stdatomic.h>

#include "util/alloc.h"

typedef struct scratch {
    void *p[OX_SCRATCH_SLOTS];
    size_t size[OX_SCRATCH_SLOTS];
    unsigned long long tag[OX_SCRATCH_SLOTS]; /* of the last tagged call, else 0 */
} scratch;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void destroy(void *v) {
    scratch *s = v;
    for (int i = 0; i < OX_SCRATCH_SLOTS; i++) ox_free_aligned(s->p[i]);
    ox_free(s);
}

static void make_key(void) { key_ok = pthread_key_create(&key, destroy) == 0; }

void *ox_scratch(int slot, size_t bytes) {
    int kept;
    return ox_scratch_tagged(slot, bytes, 0, &kept);
}

void *ox_scratch_tagged(int slot, size_t bytes, unsigned long long tag, int *kept) {
    *kept = 0;
    pthread_once(&once, make_key);
    if (!key_ok || slot < 0 || slot >= OX_SCRATCH_SLOTS) return NULL;
    scratch *s = pthread_getspecific(key);
    if (!s) {
        s = ox_calloc(1, sizeof *s);
        if (!s || pthread_setspecific(key, s) != 0) {
            ox_free(s);
            return NULL;
        }
    }
    if (s->size[slot] < bytes) {
        ox_free_aligned(s->p[slot]);
        s->p[slot] = ox_malloc_aligned(bytes);
        s->size[slot] = s->p[slot] ? bytes : 0;
        s->tag[slot] = 0;
    }
    *kept = tag != 0 && s->tag[slot] == tag;
    s->tag[slot] = s->p[slot] ? tag : 0;
    return s->p[slot];
}

unsigned long long ox_scratch_new_tag(void) {
    static atomic_ullong last;
    return atomic_fetch_add_explicit(&last, 1, memory_order_relaxed) + 1;
}

void ox_scratch_release(void) {
    pthread_once(&once, make_key);
    if (!key_ok) return;
    scratch *s = pthread_getspecific(key);
    if (s) {
        destroy(s);
        pthread_setspecific(key, NULL);
    }
}
