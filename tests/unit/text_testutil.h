/* Helpers for the unit tests of the ops in src/ops/text.c: string tensors, string
 * list attributes, and comparisons. Attributes live until txt_reset(). */
#ifndef OX_TEST_TEXT_TESTUTIL_H
#define OX_TEST_TEXT_TESTUTIL_H

#include <stddef.h>

#include "nodes.h"

/* A string tensor holding copies of v[0..count) (nul-terminated texts). */
ox_tensor txt_strings(int32_t rank, const int64_t *dims, const char *const *v);
/* The same with explicit lengths (texts may hold any bytes). */
ox_tensor txt_strings_n(int32_t rank, const int64_t *dims, const char *const *v, const size_t *lens);
/* A list-of-strings attribute. */
void txt_attr_strs(ox_node *n, const char *name, size_t count, const char *const *v);
/* Element i of a string tensor equals text[0..len) and owns separate storage. */
int txt_eq(const ox_tensor *t, size_t i, const char *text, size_t len);
int txt_eqz(const ox_tensor *t, size_t i, const char *text); /* nul-terminated text */
/* Run a node of a given domain (op_run_single finds it by the node's domain). */
ox_node *txt_node(const char *domain, const char *op, size_t n_in, size_t n_out);
/* Frees attribute storage and the test nodes (calls tn_reset). */
void txt_reset(void);

#endif
