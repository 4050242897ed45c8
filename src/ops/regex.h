/* A small regular-expression engine for RegexFullMatch: patterns in (a subset of)
 * RE2 syntax compile to a Thompson NFA that is simulated breadth-first, so matching
 * takes time linear in the text times the program size, with no backtracking.
 *
 * Supported: literals (UTF-8), `.`, classes `[...]` with ranges, negation, escapes and
 * POSIX names (`[[:alpha:]]`), the escapes \d \D \w \W \s \S \b \B \A \z \n \t \r \f
 * \v \a \xHH \x{H...} \Q...\E and escaped punctuation, anchors ^ $, groups (...),
 * (?:...), (?P<name>...), (?<name>...), flags (?i) (?s) (?m) (?U) and (?flags:...),
 * alternation |, and the quantifiers * + ? {n} {n,} {n,m} (also lazy, which cannot
 * change whether a full match exists). Repeat counts go up to 1000, as in RE2.
 * Not supported (an error when compiling): Unicode classes \p / \P, \C, back-
 * references, and look-around (RE2 has neither). Character classes \d \w \s and \b
 * are ASCII, as in RE2; case folding uses the mapping of ops/text_util.h. */
#ifndef OX_OPS_REGEX_H
#define OX_OPS_REGEX_H

#include <stddef.h>

#include "util/status.h"

typedef struct ox_regex ox_regex;

/* Compile pattern[0..len); on failure the error message names the problem and its
 * byte offset. */
onyx_status ox_regex_compile(const char *pattern, size_t len, ox_regex **out);
void ox_regex_free(ox_regex *re);

/* Bytes of scratch memory one ox_regex_full_match call needs. */
size_t ox_regex_scratch_bytes(const ox_regex *re);
/* 1 when the whole of s[0..n) matches. scratch: ox_regex_scratch_bytes bytes, aligned
 * for uint32_t, used by one call at a time. */
int ox_regex_full_match(const ox_regex *re, const char *s, size_t n, void *scratch);

#endif
