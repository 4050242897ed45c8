/* Values of ONNX test-data files (test_data_set_N/input_K.pb, output_K.pb): a
 * TensorProto, a SequenceProto or an OptionalProto (onnx-data.proto). Which one a
 * file holds is not in the bytes: it follows from the graph input's or output's type
 * (see ox_testdata_kind_of). Maps and sparse tensors are not supported. */
#ifndef OX_FORMAT_TESTDATA_H
#define OX_FORMAT_TESTDATA_H

#include <stddef.h>

#include "ir/model.h"
#include "ir/tensor.h"

enum ox_testdata_kind {
    OX_TESTDATA_TENSOR = 1,
    OX_TESTDATA_SEQUENCE = 2,
    OX_TESTDATA_OPTIONAL = 3
};

typedef struct ox_testdata ox_testdata;
struct ox_testdata {
    int kind;   /* enum ox_testdata_kind */
    char *name; /* the proto's name ("" when absent), ox_malloc'ed */
    /* TENSOR: data from ox_malloc_aligned (strings each ox_malloc'ed) */
    ox_tensor tensor;
    /* SEQUENCE: n_items values (tensors, or nested sequences / optionals) */
    ox_testdata *items;
    size_t n_items;
    /* OPTIONAL: present = 0 for an empty optional; else *elem is the value */
    int present;
    ox_testdata *elem;
};

/* The kind of value a graph input/output of type t carries (TENSOR when t is NULL
 * or unknown). */
int ox_testdata_kind_of(const ox_type *t);

/* Decode a file's bytes as `kind`. On success *out owns everything it points at
 * (free with ox_testdata_free). */
onyx_status ox_testdata_decode(const void *bytes, size_t size, int kind, ox_testdata *out);

/* Free what v holds (v itself is not freed) and zero it. */
void ox_testdata_free(ox_testdata *v);

#endif
