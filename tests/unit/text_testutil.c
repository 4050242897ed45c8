/* Helpers for the text-op unit tests (see text_testutil.h). */
#include "text_testutil.h"

#include <string.h>

#include "util/alloc.h"
#include "util/arena.h"

static ox_arena arena;

ox_tensor txt_strings_n(int32_t rank, const int64_t *dims, const char *const *v, const size_t *lens) {
    ox_tensor t = tt_make(ONYX_DTYPE_STRING, rank, dims, NULL);
    ox_string *s = t.data;
    for (size_t i = 0; i < ox_tensor_count(&t); i++) {
        size_t len = lens ? lens[i] : strlen(v[i]);
        s[i].data = ox_malloc(len + 1);
        memcpy(s[i].data, v[i], len);
        s[i].len = len;
    }
    return t;
}

ox_tensor txt_strings(int32_t rank, const int64_t *dims, const char *const *v) {
    return txt_strings_n(rank, dims, v, NULL);
}

void txt_attr_strs(ox_node *n, const char *name, size_t count, const char *const *v) {
    ox_attr *a = ox_arena_array(&arena, n->n_attrs + 1, sizeof *a);
    if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
    n->attrs = a;
    a = &a[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = ox_arena_strdup(&arena, name);
    a->type = OX_ATTR_STRINGS;
    a->n = count;
    a->strings = ox_arena_array(&arena, count ? count : 1, sizeof(ox_bytes));
    for (size_t i = 0; i < count; i++) {
        a->strings[i].data = ox_arena_strdup(&arena, v[i]);
        a->strings[i].len = strlen(v[i]);
    }
}

int txt_eq(const ox_tensor *t, size_t i, const char *text, size_t len) {
    if (t->dtype != ONYX_DTYPE_STRING || i >= ox_tensor_count(t)) return 0;
    const ox_string *s = (const ox_string *)t->data + i;
    return s->len == len && (len == 0 || (s->data && memcmp(s->data, text, len) == 0 && s->data != text));
}

int txt_eqz(const ox_tensor *t, size_t i, const char *text) { return txt_eq(t, i, text, strlen(text)); }

ox_node *txt_node(const char *domain, const char *op, size_t n_in, size_t n_out) {
    ox_node *n = tn_node(op, n_in, n_out);
    n->domain = domain;
    return n;
}

void txt_reset(void) {
    ox_arena_free(&arena);
    tn_reset();
}
