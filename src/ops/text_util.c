/* Shared helpers of the ops in ops/text.c (see ops/text_util.h). */
#include "ops/text_util.h"

#include <string.h>

#include "util/alloc.h"
#include "util/fp16.h"

/* ---- byte-key hash map ----------------------------------------------------------------------- */

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void ox_bmap_init(ox_bmap *m) { memset(m, 0, sizeof *m); }

void ox_bmap_free(ox_bmap *m) {
    ox_free(m->keys);
    ox_free(m->lens);
    ox_free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t bmap_slot(const ox_bmap *m, const unsigned char *k, size_t len) {
    size_t mask = m->cap - 1, i = (size_t)hash_bytes(k, len) & mask;
    while (m->keys[i] && !(m->lens[i] == len && (len == 0 || memcmp(m->keys[i], k, len) == 0)))
        i = (i + 1) & mask;
    return i;
}

static int bmap_grow(ox_bmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    ox_bmap n = {0};
    n.cap = cap;
    n.keys = ox_calloc(cap, sizeof *n.keys);
    n.lens = ox_calloc(cap, sizeof *n.lens);
    n.vals = ox_calloc(cap, sizeof *n.vals);
    if (!n.keys || !n.lens || !n.vals) {
        ox_bmap_free(&n);
        return 0;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t s = bmap_slot(&n, m->keys[i], m->lens[i]);
        n.keys[s] = m->keys[i];
        n.lens[s] = m->lens[i];
        n.vals[s] = m->vals[i];
    }
    n.count = m->count;
    ox_bmap_free(m);
    *m = n;
    return 1;
}

/* An empty key needs a non-NULL pointer: NULL marks a free slot. */
static const unsigned char empty_key[1];

int ox_bmap_put(ox_bmap *m, const void *key, size_t len, int64_t val) {
    const unsigned char *k = len ? key : empty_key;
    if ((m->count + 1) * 2 > m->cap && !bmap_grow(m)) return 0;
    size_t s = bmap_slot(m, k, len);
    if (!m->keys[s]) {
        m->keys[s] = k;
        m->lens[s] = len;
        m->count++;
    }
    m->vals[s] = val;
    return 1;
}

int64_t ox_bmap_get(const ox_bmap *m, const void *key, size_t len) {
    if (!m->cap) return -1;
    size_t s = bmap_slot(m, len ? key : empty_key, len);
    return m->keys[s] ? m->vals[s] : -1;
}

/* ---- UTF-8 ----------------------------------------------------------------------------------- */

uint32_t ox_utf8_next(const unsigned char *s, size_t n, size_t *i) {
    size_t k = *i;
    unsigned b = s[k];
    size_t need;
    uint32_t cp;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b < 0x80) {
        *i = k + 1;
        return b;
    } else if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        cp = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;      /* no overlong forms */
        else if (b == 0xED) hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        cp = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        else if (b == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *i = k + 1;
        return OX_UTF8_BAD_BASE + b;
    }
    if (n - k - 1 < need) {
        *i = k + 1;
        return OX_UTF8_BAD_BASE + b;
    }
    for (size_t j = 1; j <= need; j++) {
        unsigned c = s[k + j];
        unsigned l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xBF;
        if (c < l || c > h) {
            *i = k + 1;
            return OX_UTF8_BAD_BASE + b;
        }
        cp = (cp << 6) | (c & 0x3F);
    }
    *i = k + 1 + need;
    return cp;
}

size_t ox_utf8_put(uint32_t cp, unsigned char *out) {
    if (cp >= OX_UTF8_BAD_BASE) {
        out[0] = (unsigned char)(cp - OX_UTF8_BAD_BASE);
        return 1;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- case mapping ------------------------------------------------------------------------------
 * Inside the paired ranges upper and lower case alternate: `even_upper` says whether
 * the even code point is the capital. */
static int in(uint32_t cp, uint32_t lo, uint32_t hi) { return cp >= lo && cp <= hi; }

static uint32_t pair_lower(uint32_t cp, int even_upper) {
    return ((cp & 1u) == 0) == (even_upper != 0) ? cp + 1 : cp;
}
static uint32_t pair_upper(uint32_t cp, int even_upper) {
    return ((cp & 1u) == 1) == (even_upper != 0) ? cp - 1 : cp;
}

uint32_t ox_case_lower(uint32_t cp) {
    if (cp < 0x80) return in(cp, 'A', 'Z') ? cp + 32 : cp;
    if (in(cp, 0xC0, 0xDE) && cp != 0xD7) return cp + 32;
    if (cp < 0x100) return cp;
    if (cp == 0x130) return 'i';
    if (in(cp, 0x100, 0x137)) return pair_lower(cp, 1);
    if (in(cp, 0x139, 0x148)) return pair_lower(cp, 0);
    if (in(cp, 0x14A, 0x177)) return pair_lower(cp, 1);
    if (cp == 0x178) return 0xFF;
    if (in(cp, 0x179, 0x17E)) return pair_lower(cp, 0);
    if (cp == 0x386) return 0x3AC;
    if (in(cp, 0x388, 0x38A)) return cp + 37;
    if (cp == 0x38C) return 0x3CC;
    if (in(cp, 0x38E, 0x38F)) return cp + 63;
    if (in(cp, 0x391, 0x3AB) && cp != 0x3A2) return cp + 32;
    if (in(cp, 0x400, 0x40F)) return cp + 80;
    if (in(cp, 0x410, 0x42F)) return cp + 32;
    if (in(cp, 0x460, 0x481) || in(cp, 0x48A, 0x4BF) || in(cp, 0x4D0, 0x52F))
        return pair_lower(cp, 1);
    if (cp == 0x4C0) return 0x4CF;
    if (in(cp, 0x4C1, 0x4CE)) return pair_lower(cp, 0);
    return cp;
}

uint32_t ox_case_upper(uint32_t cp) {
    if (cp < 0x80) return in(cp, 'a', 'z') ? cp - 32 : cp;
    if (cp == 0xB5) return 0x39C;
    if (in(cp, 0xE0, 0xFE) && cp != 0xF7) return cp - 32;
    if (cp == 0xFF) return 0x178;
    if (cp < 0x100) return cp;
    if (cp == 0x131) return 'I';
    if (cp == 0x17F) return 'S';
    if (in(cp, 0x100, 0x137) && cp != 0x130) return pair_upper(cp, 1);
    if (in(cp, 0x139, 0x148)) return pair_upper(cp, 0);
    if (in(cp, 0x14A, 0x177)) return pair_upper(cp, 1);
    if (in(cp, 0x179, 0x17E)) return pair_upper(cp, 0);
    if (cp == 0x3AC) return 0x386;
    if (in(cp, 0x3AD, 0x3AF)) return cp - 37;
    if (cp == 0x3C2) return 0x3A3;
    if (in(cp, 0x3B1, 0x3CB)) return cp - 32;
    if (cp == 0x3CC) return 0x38C;
    if (in(cp, 0x3CD, 0x3CE)) return cp - 63;
    if (in(cp, 0x430, 0x44F)) return cp - 32;
    if (in(cp, 0x450, 0x45F)) return cp - 80;
    if (in(cp, 0x460, 0x481) || in(cp, 0x48A, 0x4BF) || in(cp, 0x4D0, 0x52F))
        return pair_upper(cp, 1);
    if (cp == 0x4CF) return 0x4C0;
    if (in(cp, 0x4C1, 0x4CE)) return pair_upper(cp, 0);
    return cp;
}

/* ---- small shared pieces ----------------------------------------------------------------------- */

onyx_status ox_text_set(ox_string *dst, const void *src, size_t len) {
    char *p = ox_malloc(len ? len : 1);
    if (!p) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a string of %zu bytes", len);
    if (len) memcpy(p, src, len);
    dst->data = p;
    dst->len = len;
    return ONYX_OK;
}

int ox_text_is_real(int32_t dtype) {
    return dtype == ONYX_DTYPE_FLOAT || dtype == ONYX_DTYPE_DOUBLE || dtype == ONYX_DTYPE_FLOAT16 ||
           dtype == ONYX_DTYPE_BFLOAT16;
}

double ox_text_get_f(const void *data, int32_t dtype, size_t i) {
    switch (dtype) {
    case ONYX_DTYPE_FLOAT: return ((const float *)data)[i];
    case ONYX_DTYPE_DOUBLE: return ((const double *)data)[i];
    case ONYX_DTYPE_FLOAT16: return ox_f16_to_f32(((const uint16_t *)data)[i]);
    case ONYX_DTYPE_BFLOAT16: return ox_bf16_to_f32(((const uint16_t *)data)[i]);
    default: return 0;
    }
}

void ox_text_put_f(void *data, int32_t dtype, size_t i, double v) {
    switch (dtype) {
    case ONYX_DTYPE_FLOAT: ((float *)data)[i] = (float)v; break;
    case ONYX_DTYPE_DOUBLE: ((double *)data)[i] = v; break;
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)data)[i] = ox_f64_to_f16(v); break;
    case ONYX_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = ox_f64_to_bf16(v); break;
    default: break;
    }
}

void *ox_text_state_new(ox_op_ctx *c, size_t size, void (*free_fn)(void *)) {
    ox_text_state *s = ox_calloc(1, size);
    if (!s) return NULL;
    s->free_fn = free_fn;
    c->state = s;
    return s;
}

void ox_text_destroy(void *state) {
    ox_text_state *s = state;
    if (!s) return;
    if (s->free_fn) s->free_fn(s);
    ox_free(s);
}
