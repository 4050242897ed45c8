/* TfIdfVectorizer: counts the pool's n-grams in each row of the input, with skips.
 *
 * Pool items (ints or strings) get small ids; an input item outside the pool gets
 * none and ends every n-gram through it. The pool's n-grams (of lengths between
 * min_gram_length and max_gram_length) are keys of a hash map over their id
 * sequences. For each skip distance d = 1..max_skip_count+1 and each start, the
 * n-gram x[s], x[s+d], ... of each wanted length is looked up; unigrams are counted
 * once, not once per distance. Weights (IDF, TFIDF) are indexed by output column, as
 * the reference implementations do. */
#include <string.h>

#include "ops/text_util.h"
#include "util/alloc.h"

enum { TF_TF, TF_IDF, TF_TFIDF };

#define MAX_GRAM 1024

typedef struct tfidf_state {
    ox_text_state base;
    int mode;
    int64_t min_n, max_n, max_skip;
    int strings;        /* pool_strings (else pool_int64s) */
    ox_bmap items;      /* pool item -> id */
    ox_bmap grams;      /* id sequence (int32 bytes) -> n-gram number */
    int32_t *ids;       /* id of each pool item, in pool order (keys of grams point here) */
    const int64_t *indexes; /* ngram_indexes */
    size_t n_indexes;
    int64_t out_size;
    const float *weights;
    size_t n_weights;
} tfidf_state;

static void tfidf_free(void *p) {
    tfidf_state *s = p;
    ox_bmap_free(&s->items);
    ox_bmap_free(&s->grams);
    ox_free(s->ids);
}

static onyx_status bad(const char *msg, long long v) {
    return ox_error(ONYX_ERR_INVALID_MODEL, msg, v);
}

onyx_status ox_text_tfidf_prepare(ox_op_ctx *c) {
    tfidf_state *s = ox_text_state_new(c, sizeof *s, tfidf_free);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    const char *mode = ox_attr_str(c, "mode", NULL);
    s->min_n = ox_attr_int(c, "min_gram_length", 0);
    s->max_n = ox_attr_int(c, "max_gram_length", 0);
    s->max_skip = ox_attr_int(c, "max_skip_count", -1);
    size_t n_counts, n_pool_i;
    const int64_t *counts = ox_attr_ints(c, "ngram_counts", &n_counts);
    s->indexes = ox_attr_ints(c, "ngram_indexes", &s->n_indexes);
    const int64_t *pool_i = ox_attr_ints(c, "pool_int64s", &n_pool_i);
    s->weights = ox_attr_floats(c, "weights", &s->n_weights);
    const ox_attr *ps = ox_attr_get(c, "pool_strings");
    OX_TRY(ox_op_status(c));
    if (!mode) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute mode is required");
    if (!strcmp(mode, "TF")) s->mode = TF_TF;
    else if (!strcmp(mode, "IDF")) s->mode = TF_IDF;
    else if (!strcmp(mode, "TFIDF")) s->mode = TF_TFIDF;
    else return ox_error(ONYX_ERR_INVALID_MODEL, "attribute mode is '%s'; expected TF, IDF or TFIDF", mode);
    if (s->min_n < 1) return bad("attribute min_gram_length is %lld; must be >= 1", (long long)s->min_n);
    if (s->max_n < s->min_n)
        return bad("attribute max_gram_length is %lld; must be >= min_gram_length", (long long)s->max_n);
    if (s->max_n > MAX_GRAM)
        return ox_error(ONYX_ERR_LIMIT, "attribute max_gram_length %lld is above %d",
                        (long long)s->max_n, MAX_GRAM);
    if (s->max_skip < 0) return bad("attribute max_skip_count is %lld; must be >= 0", (long long)s->max_skip);
    if (ps && ps->type != OX_ATTR_STRINGS)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute pool_strings must be a list of strings");
    if ((ps != NULL) == (pool_i != NULL))
        return ox_error(ONYX_ERR_INVALID_MODEL, "exactly one of pool_strings and pool_int64s must be set");
    s->strings = ps != NULL;
    size_t n_pool = ps ? ps->n : n_pool_i;
    if (!s->n_indexes) return ox_error(ONYX_ERR_INVALID_MODEL, "attribute ngram_indexes is required");
    s->out_size = 0;
    for (size_t i = 0; i < s->n_indexes; i++) {
        if (s->indexes[i] < 0 || s->indexes[i] >= ((int64_t)1 << 40))
            return bad("attribute ngram_indexes has an invalid value %lld", (long long)s->indexes[i]);
        if (s->indexes[i] + 1 > s->out_size) s->out_size = s->indexes[i] + 1;
    }
    if (s->mode != TF_TF && s->n_weights && s->n_weights < (size_t)s->out_size)
        return ox_error(ONYX_ERR_INVALID_MODEL, "attribute weights has %zu values; the output has "
                        "%lld columns", s->n_weights, (long long)s->out_size);

    /* ids of the pool items */
    s->ids = ox_malloc_array(n_pool ? n_pool : 1, sizeof *s->ids);
    if (!s->ids) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t next_id = 0;
    for (size_t i = 0; i < n_pool; i++) {
        const void *k = ps ? (const void *)ps->strings[i].data : (const void *)&pool_i[i];
        size_t kl = ps ? ps->strings[i].len : sizeof(int64_t);
        int64_t id = ox_bmap_get(&s->items, k, kl);
        if (id < 0) {
            id = next_id++;
            if (!ox_bmap_put(&s->items, k, kl, id)) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
        s->ids[i] = (int32_t)id;
    }
    /* the n-grams: level k (from 0) holds (k+1)-grams from ngram_counts[k] on */
    size_t gram_no = 0;
    for (size_t k = 0; k < n_counts; k++) {
        int64_t start = counts[k], end = k + 1 < n_counts ? counts[k + 1] : (int64_t)n_pool;
        if (start < 0 || start > (int64_t)n_pool || end < start || end > (int64_t)n_pool)
            return ox_error(ONYX_ERR_INVALID_MODEL, "attribute ngram_counts is not an increasing "
                            "list of pool positions (entry %zu)", k);
        size_t len = k + 1, grams = (size_t)(end - start) / len;
        int wanted = (int64_t)len >= s->min_n && (int64_t)len <= s->max_n;
        for (size_t g = 0; g < grams; g++, gram_no++) {
            if (!wanted) continue;
            if (gram_no >= s->n_indexes)
                return ox_error(ONYX_ERR_INVALID_MODEL, "attribute ngram_indexes has %zu values; "
                                "the pool has more n-grams", s->n_indexes);
            const int32_t *key = s->ids + start + (int64_t)(g * len);
            if (!ox_bmap_put(&s->grams, key, len * sizeof(int32_t), (int64_t)gram_no))
                return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    return ONYX_OK;
}

onyx_status ox_text_tfidf_infer(ox_op_ctx *c) {
    const tfidf_state *s = c->state;
    if (!ox_has_input(c, 0)) return ox_error(ONYX_ERR_INVALID_MODEL, "input X is required");
    const ox_tensor *x = c->in[0];
    if (s->strings ? x->dtype != ONYX_DTYPE_STRING
                   : (x->dtype != ONYX_DTYPE_INT32 && x->dtype != ONYX_DTYPE_INT64))
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X is %s; the pool needs %s", ox_dtype_name(x->dtype),
                        s->strings ? "string" : "int32 or int64");
    if (x->rank > 2)
        return ox_error(ONYX_ERR_INVALID_MODEL, "input X has rank %d; expected [C] or [N, C]", x->rank);
    int64_t d[2] = {x->rank == 2 ? x->dims[0] : 0, s->out_size};
    if (x->rank == 2) ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 2, d);
    else ox_set_shape(c->out[0], ONYX_DTYPE_FLOAT, 1, d + 1);
    size_t cols = x->rank ? (size_t)x->dims[x->rank - 1] : 1, ws;
    if (!ox_mul_ok(cols + (size_t)s->max_n, sizeof(int32_t), &ws))
        return ox_error(ONYX_ERR_LIMIT, "input X is too large");
    c->workspace_bytes = ws;
    return ONYX_OK;
}

onyx_status ox_text_tfidf_run(ox_op_ctx *c) {
    const tfidf_state *s = c->state;
    const ox_tensor *x = c->in[0];
    float *y = c->out[0]->data;
    size_t rows = x->rank == 2 ? (size_t)x->dims[0] : 1;
    size_t cols = x->rank ? (size_t)x->dims[x->rank - 1] : 1;
    size_t width = (size_t)s->out_size;
    int32_t *row_ids = c->workspace, *key = row_ids + cols;
    memset(y, 0, ox_tensor_count(c->out[0]) * sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        float *out = y + r * width;
        for (size_t i = 0; i < cols; i++) {
            size_t e = r * cols + i;
            int64_t id;
            if (s->strings) {
                const ox_string *str = &((const ox_string *)x->data)[e];
                id = ox_bmap_get(&s->items, str->data, str->len);
            } else {
                int64_t v = x->dtype == ONYX_DTYPE_INT32 ? ((const int32_t *)x->data)[e]
                                                         : ((const int64_t *)x->data)[e];
                id = ox_bmap_get(&s->items, &v, sizeof v);
            }
            row_ids[i] = (int32_t)id;
        }
        for (size_t d = 1; d <= (size_t)s->max_skip + 1; d++) {
            for (size_t n = (size_t)s->min_n; n <= (size_t)s->max_n; n++) {
                if (n == 1 && d > 1) continue; /* unigrams once */
                for (size_t st = 0; st < cols; st++) {
                    /* the last item st + (n-1)*d must lie in the row */
                    if ((n - 1) > (cols - 1 - st) / d) break;
                    size_t k = 0;
                    for (; k < n; k++) {
                        int32_t id = row_ids[st + k * d];
                        if (id < 0) break;
                        key[k] = id;
                    }
                    if (k < n) continue;
                    int64_t g = ox_bmap_get(&s->grams, key, n * sizeof(int32_t));
                    if (g >= 0) out[s->indexes[g]] += 1.0f;
                }
            }
        }
        for (size_t i = 0; i < width && s->mode != TF_TF; i++) {
            float w = s->n_weights ? s->weights[i] : 1.0f;
            if (s->mode == TF_IDF) out[i] = out[i] > 0 ? w : 0;
            else if (s->mode == TF_TFIDF) out[i] *= w;
        }
    }
    return ONYX_OK;
}
