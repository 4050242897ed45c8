/* Helpers shared by the text, ml, training and misc ops of ops/text.c:
 * a hash map keyed by byte strings, UTF-8 decoding and encoding that never fails
 * on bad bytes, and a locale-independent case mapping.
 *
 * Case mapping covers the simple (one code point to one code point) upper/lower
 * pairs of ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (U+0000..U+052F).
 * Other code points (and characters whose case change needs several code points,
 * such as German sharp s) are left unchanged. */
#ifndef OX_OPS_TEXT_UTIL_H
#define OX_OPS_TEXT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* ---- byte-key hash map ----------------------------------------------------------------------
 * Keys are (pointer, length) and are NOT copied: they must outlive the map. Putting
 * an existing key overwrites its value (the last one wins). */
typedef struct ox_bmap {
    const unsigned char **keys;
    size_t *lens;
    int64_t *vals;
    size_t cap, count;
} ox_bmap;

void ox_bmap_init(ox_bmap *m);
void ox_bmap_free(ox_bmap *m);
/* Returns 0 when out of memory. */
int ox_bmap_put(ox_bmap *m, const void *key, size_t len, int64_t val);
/* The value for key, or -1 when absent. */
int64_t ox_bmap_get(const ox_bmap *m, const void *key, size_t len);

/* ---- UTF-8 ----------------------------------------------------------------------------------
 * Decoding reads one code point at s[*i] (advancing *i). A byte that does not start a
 * valid, shortest-form sequence decodes alone to OX_UTF8_BAD_BASE + byte, a value
 * above every code point, so invalid input is carried through unchanged. */
#define OX_UTF8_BAD_BASE 0x110000u
#define OX_UTF8_MAX_VALUE (OX_UTF8_BAD_BASE + 0xFFu) /* the largest decoded value */
uint32_t ox_utf8_next(const unsigned char *s, size_t n, size_t *i);
/* Encode a decoded value into out (room for 4 bytes); returns the byte count. Bad-byte
 * values are written back as their original byte. */
size_t ox_utf8_put(uint32_t cp, unsigned char *out);

uint32_t ox_case_lower(uint32_t cp);
uint32_t ox_case_upper(uint32_t cp);

/* Copy len bytes into a fresh ox_malloc'ed ox_string (data non-NULL even for len 0). */
onyx_status ox_text_set(ox_string *dst, const void *src, size_t len);

/* Read element i of a float-typed tensor buffer / store into one (double in between). */
double ox_text_get_f(const void *data, int32_t dtype, size_t i);
void ox_text_put_f(void *data, int32_t dtype, size_t i, double v);
/* float32, float64, float16 or bfloat16 */
int ox_text_is_real(int32_t dtype);

/* ---- op entry points (table in ops/text.c) ---------------------------------------------- */
#define OX_TEXT_OP(name)                                                                           \
    onyx_status ox_text_##name##_prepare(ox_op_ctx *c);                                            \
    onyx_status ox_text_##name##_infer(ox_op_ctx *c);                                              \
    onyx_status ox_text_##name##_run(ox_op_ctx *c)

OX_TEXT_OP(string_concat);
OX_TEXT_OP(string_split);
OX_TEXT_OP(string_normalizer);
OX_TEXT_OP(regex_full_match);
OX_TEXT_OP(tfidf);
OX_TEXT_OP(label_encoder);
OX_TEXT_OP(array_feature_extractor);
OX_TEXT_OP(binarizer);
OX_TEXT_OP(tree_ensemble);
OX_TEXT_OP(adagrad);
OX_TEXT_OP(adam);
OX_TEXT_OP(momentum);
OX_TEXT_OP(deform_conv);
OX_TEXT_OP(tensor_scatter);
/* Frees any state built by a prepare above (each state starts with its destroy hook). */
void ox_text_destroy(void *state);

/* Every state of these ops starts with this header so one destroy fits all. */
typedef struct ox_text_state {
    void (*free_fn)(void *state); /* frees the contents (not the state itself); may be NULL */
} ox_text_state;

/* Allocate a zeroed state of size bytes (>= sizeof(ox_text_state)) into c->state. */
void *ox_text_state_new(ox_op_ctx *c, size_t size, void (*free_fn)(void *));

#endif
