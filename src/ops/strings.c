/* String ops: StringConcat, StringSplit, StringNormalizer.
 *
 * Every output string owns fresh bytes. Strings are bytes; where characters matter
 * (case changes) they are decoded as UTF-8, and invalid bytes pass through unchanged.
 * StringNormalizer's case mapping is locale-independent and covers Latin, Greek and
 * Cyrillic letters (see ops/text_util.h); the `locale` attribute is accepted and not
 * otherwise used. StringSplit without a delimiter splits on ASCII whitespace
 * (space, \t, \n, \v, \f, \r), as Python's str.split() does for ASCII text. */
#include <string.h>

#include "ops/broadcast.h"
#include "ops/text_util.h"
#include "util/alloc.h"

static onyx_status need_strings(const ox_op_ctx *c, size_t i, const char *what) {
    if (!ox_has_input(c, i))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input %zu ('%s') is required", i, what);
    if (c->in[i]->dtype != ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input '%s' must be a string tensor, not %s", what,
                        ox_dtype_name(c->in[i]->dtype));
    return ONYX_OK;
}

/* ---- StringConcat ------------------------------------------------------------------------------ */

onyx_status ox_text_string_concat_infer(ox_op_ctx *c) {
    OX_TRY(need_strings(c, 0, "X"));
    OX_TRY(need_strings(c, 1, "Y"));
    int32_t r;
    int64_t d[OX_MAX_RANK];
    OX_TRY(ox_broadcast_shape(2, (const ox_tensor *[]){c->in[0], c->in[1]}, &r, d));
    ox_set_shape(c->out[0], ONYX_DTYPE_STRING, r, d);
    return ONYX_OK;
}

onyx_status ox_text_string_concat_run(ox_op_ctx *c) {
    const ox_tensor *x = c->in[0], *y = c->in[1];
    ox_tensor *z = c->out[0];
    size_t n = ox_tensor_count(z);
    if (!n) return ONYX_OK;
    int64_t sx[OX_MAX_RANK], sy[OX_MAX_RANK], idx[OX_MAX_RANK] = {0};
    ox_broadcast_strides(x->rank, x->dims, z->rank, z->dims, sx);
    ox_broadcast_strides(y->rank, y->dims, z->rank, z->dims, sy);
    const ox_string *xs = x->data, *ys = y->data;
    ox_string *zs = z->data;
    size_t ox_ = 0, oy = 0;
    for (size_t i = 0; i < n; i++) {
        const ox_string *a = &xs[ox_], *b = &ys[oy];
        size_t len;
        if (!ox_add_ok(a->len, b->len, &len))
            return ox_error(ONYX_ERR_LIMIT, "concatenated string is too long");
        char *p = ox_malloc(len ? len : 1);
        if (!p) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a %zu-byte string", len);
        if (a->len) memcpy(p, a->data, a->len);
        if (b->len) memcpy(p + a->len, b->data, b->len);
        zs[i].data = p;
        zs[i].len = len;
        for (int32_t d = z->rank - 1; d >= 0; d--) {
            ox_ += (size_t)sx[d];
            oy += (size_t)sy[d];
            if (++idx[d] < z->dims[d]) break;
            ox_ -= (size_t)sx[d] * (size_t)z->dims[d];
            oy -= (size_t)sy[d] * (size_t)z->dims[d];
            idx[d] = 0;
        }
    }
    return ONYX_OK;
}

/* ---- StringSplit -------------------------------------------------------------------------------- */

typedef struct split_state {
    ox_text_state base;
    const char *delim; /* NULL: split on whitespace runs */
    size_t delim_len;
    int64_t maxsplit; /* < 0: unlimited */
} split_state;

onyx_status ox_text_string_split_prepare(ox_op_ctx *c) {
    split_state *s = ox_text_state_new(c, sizeof *s, NULL);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    const ox_attr *a = ox_attr_get(c, "delimiter");
    if (a && a->type == OX_ATTR_STRING && a->s.len) {
        s->delim = a->s.data;
        s->delim_len = a->s.len;
    } else {
        (void)ox_attr_str(c, "delimiter", ""); /* reports a wrongly typed attribute */
    }
    s->maxsplit = ox_attr_int(c, "maxsplit", -1);
    return ox_op_status(c);
}

static int is_space(unsigned char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

/* Split one string; calls emit(ctx, start, len) per piece (if emit is not NULL) and
 * returns the number of pieces. Follows Python's str.split(sep, maxsplit). */
typedef void (*piece_fn)(void *ctx, const char *p, size_t len);
static size_t split_one(const split_state *s, const ox_string *str, piece_fn emit, void *ctx) {
    const char *p = str->data;
    size_t n = str->len, count = 0, i = 0;
    int64_t splits = 0;
    if (!s->delim) {
        for (;;) {
            while (i < n && is_space((unsigned char)p[i])) i++;
            if (i >= n) break;
            size_t start = i;
            if (s->maxsplit >= 0 && splits >= s->maxsplit) {
                /* the rest, trailing whitespace included */
                if (emit) emit(ctx, p + start, n - start);
                return count + 1;
            }
            while (i < n && !is_space((unsigned char)p[i])) i++;
            if (emit) emit(ctx, p + start, i - start);
            count++;
            splits++;
        }
        return count;
    }
    size_t start = 0, dl = s->delim_len;
    while (i + dl <= n && (s->maxsplit < 0 || splits < s->maxsplit)) {
        if (memcmp(p + i, s->delim, dl) == 0) {
            if (emit) emit(ctx, p + start, i - start);
            count++;
            splits++;
            i += dl;
            start = i;
        } else {
            i++;
        }
    }
    if (emit) emit(ctx, p + start, n - start);
    return count + 1;
}

static onyx_status split_shape(const ox_op_ctx *c, int64_t *width) {
    const split_state *s = c->state;
    const ox_tensor *x = c->in[0];
    size_t n = ox_tensor_count(x), w = 0;
    const ox_string *xs = x->data;
    for (size_t i = 0; i < n; i++) {
        size_t k = split_one(s, &xs[i], NULL, NULL);
        if (k > w) w = k;
    }
    *width = (int64_t)w;
    return ONYX_OK;
}

static onyx_status split_set_shapes(ox_op_ctx *c, int64_t width) {
    const ox_tensor *x = c->in[0];
    if (x->rank + 1 > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "input X has rank %d; the output would exceed rank %d",
                        x->rank, OX_MAX_RANK);
    int64_t d[OX_MAX_RANK];
    memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
    d[x->rank] = width;
    ox_set_shape(c->out[0], ONYX_DTYPE_STRING, x->rank + 1, d);
    if (ox_has_output(c, 1)) ox_set_shape(c->out[1], ONYX_DTYPE_INT64, x->rank, x->dims);
    return ONYX_OK;
}

onyx_status ox_text_string_split_infer(ox_op_ctx *c) {
    OX_TRY(need_strings(c, 0, "X"));
    if (!c->in[0]->data && ox_tensor_count(c->in[0])) return OX_NEED_VALUE;
    int64_t w;
    OX_TRY(split_shape(c, &w));
    return split_set_shapes(c, w);
}

typedef struct split_emit {
    ox_string *row;
    size_t k;
    onyx_status st;
} split_emit;

static void split_store(void *ctx, const char *p, size_t len) {
    split_emit *e = ctx;
    if (e->st == ONYX_OK) e->st = ox_text_set(&e->row[e->k], p, len);
    e->k++;
}

onyx_status ox_text_string_split_run(ox_op_ctx *c) {
    const split_state *s = c->state;
    int64_t w;
    OX_TRY(split_shape(c, &w));
    OX_TRY(split_set_shapes(c, w));
    for (size_t i = 0; i < c->n_out; i++)
        if (ox_has_output(c, i)) OX_TRY(c->alloc_output(c, i));
    const ox_tensor *x = c->in[0];
    const ox_string *xs = x->data;
    size_t n = ox_tensor_count(x);
    ox_string *ys = c->out[0]->data;
    int64_t *lens = ox_has_output(c, 1) ? c->out[1]->data : NULL;
    for (size_t i = 0; i < n; i++) {
        split_emit e = {ys + i * (size_t)w, 0, ONYX_OK};
        size_t k = split_one(s, &xs[i], split_store, &e);
        OX_TRY(e.st);
        for (; e.k < (size_t)w; e.k++) OX_TRY(ox_text_set(&e.row[e.k], "", 0));
        if (lens) lens[i] = (int64_t)k;
    }
    return ONYX_OK;
}

/* ---- StringNormalizer -------------------------------------------------------------------------- */

enum { CASE_NONE, CASE_LOWER, CASE_UPPER };

typedef struct norm_state {
    ox_text_state base;
    int action;
    int case_sensitive;
    ox_bmap stop;         /* stopwords (lowercased unless case-sensitive) */
    ox_string *lowered;   /* owned lowered copies of the stopwords */
    size_t n_stop;
} norm_state;

static void norm_free(void *p) {
    norm_state *s = p;
    ox_bmap_free(&s->stop);
    if (s->lowered)
        for (size_t i = 0; i < s->n_stop; i++) ox_free(s->lowered[i].data);
    ox_free(s->lowered);
}

/* Case-convert src into a fresh string. */
static onyx_status case_convert(const char *src, size_t len, int action, ox_string *dst) {
    size_t cap;
    /* a code point may grow from 2 bytes to 3 at most when mapped (and bad bytes stay 1) */
    if (!ox_mul_ok(len, 2, &cap)) return ox_error(ONYX_ERR_LIMIT, "string too long");
    unsigned char *out = ox_malloc(cap + 4);
    if (!out) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory for a string");
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp = ox_utf8_next(s, len, &i);
        if (action == CASE_LOWER) cp = ox_case_lower(cp);
        else if (action == CASE_UPPER) cp = ox_case_upper(cp);
        o += ox_utf8_put(cp, out + o);
    }
    dst->data = (char *)out;
    dst->len = o;
    return ONYX_OK;
}

onyx_status ox_text_string_normalizer_prepare(ox_op_ctx *c) {
    norm_state *s = ox_text_state_new(c, sizeof *s, norm_free);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    const char *act = ox_attr_str(c, "case_change_action", "NONE");
    s->case_sensitive = ox_attr_int(c, "is_case_sensitive", 0) != 0;
    (void)ox_attr_str(c, "locale", "");
    OX_TRY(ox_op_status(c));
    if (!strcmp(act, "NONE")) s->action = CASE_NONE;
    else if (!strcmp(act, "LOWER")) s->action = CASE_LOWER;
    else if (!strcmp(act, "UPPER")) s->action = CASE_UPPER;
    else
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "attribute case_change_action is '%s'; expected NONE, LOWER or UPPER", act);
    const ox_attr *a = ox_attr_get(c, "stopwords");
    if (!a) return ONYX_OK;
    if (a->type != OX_ATTR_STRINGS)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute stopwords must be a list of strings");
    s->n_stop = a->n;
    s->lowered = ox_calloc(a->n ? a->n : 1, sizeof *s->lowered);
    if (!s->lowered) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < a->n; i++) {
        const char *key = a->strings[i].data;
        size_t len = a->strings[i].len;
        if (!s->case_sensitive) {
            OX_TRY(case_convert(key, len, CASE_LOWER, &s->lowered[i]));
            key = s->lowered[i].data;
            len = s->lowered[i].len;
        }
        if (!ox_bmap_put(&s->stop, key, len, (int64_t)i))
            return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return ONYX_OK;
}

static onyx_status is_stopword(const norm_state *s, const ox_string *str, int *hit) {
    if (!s->stop.count) {
        *hit = 0;
        return ONYX_OK;
    }
    if (s->case_sensitive) {
        *hit = ox_bmap_get(&s->stop, str->data, str->len) >= 0;
        return ONYX_OK;
    }
    ox_string low;
    OX_TRY(case_convert(str->data, str->len, CASE_LOWER, &low));
    *hit = ox_bmap_get(&s->stop, low.data, low.len) >= 0;
    ox_free(low.data);
    return ONYX_OK;
}

static onyx_status norm_check(const ox_op_ctx *c) {
    OX_TRY(need_strings(c, 0, "X"));
    const ox_tensor *x = c->in[0];
    if (!(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1))) {
        char buf[200];
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has shape %s; expected [C] or [1, C]",
                        ox_shape_describe(x->rank, x->dims, buf, sizeof buf));
    }
    return ONYX_OK;
}

/* Number of strings kept (stopwords dropped). */
static onyx_status norm_kept(const ox_op_ctx *c, size_t *kept) {
    const ox_tensor *x = c->in[0];
    const ox_string *xs = x->data;
    size_t n = ox_tensor_count(x), k = 0;
    for (size_t i = 0; i < n; i++) {
        int hit;
        OX_TRY(is_stopword(c->state, &xs[i], &hit));
        k += !hit;
    }
    *kept = k;
    return ONYX_OK;
}

static void norm_set_shape(ox_op_ctx *c, size_t kept) {
    const ox_tensor *x = c->in[0];
    int64_t d[2] = {1, (int64_t)(kept ? kept : 1)};
    if (x->rank == 1) ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 1, d + 1);
    else ox_set_shape(c->out[0], ONYX_DTYPE_STRING, 2, d);
}

onyx_status ox_text_string_normalizer_infer(ox_op_ctx *c) {
    OX_TRY(norm_check(c));
    if (!c->in[0]->data && ox_tensor_count(c->in[0])) return OX_NEED_VALUE;
    size_t kept;
    OX_TRY(norm_kept(c, &kept));
    norm_set_shape(c, kept);
    return ONYX_OK;
}

onyx_status ox_text_string_normalizer_run(ox_op_ctx *c) {
    const norm_state *s = c->state;
    OX_TRY(norm_check(c));
    size_t kept;
    OX_TRY(norm_kept(c, &kept));
    norm_set_shape(c, kept);
    OX_TRY(c->alloc_output(c, 0));
    ox_string *ys = c->out[0]->data;
    const ox_string *xs = c->in[0]->data;
    size_t n = ox_tensor_count(c->in[0]), k = 0;
    for (size_t i = 0; i < n; i++) {
        int hit;
        OX_TRY(is_stopword(s, &xs[i], &hit));
        if (hit) continue;
        OX_TRY(case_convert(xs[i].data, xs[i].len, s->action, &ys[k]));
        k++;
    }
    if (!kept) OX_TRY(ox_text_set(&ys[0], "", 0));
    return ONYX_OK;
}
