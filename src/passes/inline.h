/* Model-local functions, inlined: every node that calls a function of the model
 * (FunctionProto, matched by domain and name) is replaced by the function's body,
 * recursively, so the planner sees one flat graph.
 *
 * Inside an inlined body: formal inputs/outputs become the caller's actual names;
 * every other value gets a scoped name "<caller node>/<name>" ("<caller node>/<k>/<name>"
 * with a call counter k when the caller has no name or its name is taken); attributes
 * that refer to the caller's (ref_attr_name) take the caller's value, else the
 * function's default (attribute_proto), else are dropped; each node keeps the
 * opset the function imports for its domain. Subgraphs inside bodies have their
 * references to body values renamed the same way.
 */
#ifndef OX_PASSES_INLINE_H
#define OX_PASSES_INLINE_H

#include "ir/model.h"

/* Nesting of function calls beyond this is an error (ONYX_ERR_LIMIT). */
#define OX_MAX_FUNCTION_DEPTH 64

/* *out = g with every function call expanded. When g calls no function, *out is g
 * itself; otherwise a new graph whose memory lives in arena. */
onyx_status ox_inline_functions(const ox_model *m, const ox_graph *g, ox_arena *arena,
                                const ox_graph **out);

/* A graph that runs function f by itself: its inputs and outputs are f's formal
 * ones (untyped), its nodes f's body (expanded). attrs: "name=value" texts for f's
 * attributes, each read as the type its use in the body declares; others take
 * their defaults. Memory lives in arena. */
onyx_status ox_function_graph(const ox_model *m, const ox_function *f, const char *const *attrs,
                              size_t n_attrs, ox_arena *arena, const ox_graph **out);

#endif
