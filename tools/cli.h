/* Shared pieces of the onyx command-line tool. */
#ifndef ONYX_CLI_H
#define ONYX_CLI_H

#include <stdio.h>

#include "ir/model.h"
#include "onyx.h"
#include "runtime/session.h"

int cli_info(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_ops(int argc, char **argv);
int cli_dot(int argc, char **argv);

/* A TypeProto as text: "float32[batch,3]", "sequence(int64[?])", "optional(...)". */
void cli_format_type(const ox_type *t, char *buf, size_t cap);

/* Print "onyx: " + message to stderr and return 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a tensor from a .npy or .pb (TensorProto) file; data is owned by t (free
 * with ox_tensor_free_data). */
onyx_status cli_read_tensor(const char *path, ox_tensor *t);

/* Read a value for a graph input/output of declared type `type` (NULL: a tensor):
 * a .npy file, or a .pb file holding a TensorProto, SequenceProto or OptionalProto
 * as the type says. Sequences and empty optionals are represented as in
 * ir/tensor.h; free with ox_tensor_free_data. */
onyx_status cli_read_value(const char *path, const ox_type *type, ox_tensor *v);

/* Every input of a session, ready for onyx_session_run. */
typedef struct cli_inputs {
    size_t n;
    ox_tensor *vals;
    onyx_tensor *handles;
    const onyx_tensor **ptrs;
    const char **names;
} cli_inputs;

/* Build the inputs of s: those named in specs ("NAME=FILE", .npy or .pb) from their
 * files, the others from seeded random values of their declared shape (symbolic dims
 * as 1), each with a notice on stderr. Returns 0, or 1 after printing a message. */
int cli_inputs_make(onyx_session *s, const char *const *specs, size_t n_specs, cli_inputs *out);
void cli_inputs_free(cli_inputs *in);

/* Fill t (dtype/shape set) with seeded random values. */
onyx_status cli_random_tensor(ox_tensor *t, unsigned seed);

/* Print "name: dtype[shape] v0 v1 ..." with up to max_values values. */
void cli_print_tensor(FILE *f, const char *name, const ox_tensor *t, size_t max_values);

/* Print a tensor as cli_print_tensor does, a sequence as "name: sequence of N" then
 * one line "  [i] dtype[shape] v0 v1 ..." per item, an empty optional as "name: none". */
void cli_print_value(FILE *f, const char *name, const ox_tensor *v, size_t max_values);

/* Parse a positive int option value; exits with a message on bad input. */
int cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out);
int cli_parse_double(const char *opt, const char *s, double *out);

#endif
