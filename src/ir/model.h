/* The decoded ONNX model: a faithful, read-only picture of ModelProto.
 *
 * Everything here lives in the model's arena (ox_model.arena) and is freed with
 * the model; strings are nul-terminated copies; tensor data is either a view into
 * the mapped file (when aligned and in the machine's layout) or a decoded copy in
 * the arena. Counts are size_t; absent repeated fields have count 0 and NULL arrays.
 * Nothing here is checked beyond what decoding needs: graph rules are checked by
 * ir/graph.c when a session is built.
 */
#ifndef OX_IR_MODEL_H
#define OX_IR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ir/tensor.h"
#include "util/arena.h"

typedef struct ox_graph ox_graph;
typedef struct ox_type ox_type;

/* Bytes that may contain zeros (AttributeProto.s, TensorProto.string_data). Always
 * followed by a terminating zero byte that len does not count. */
typedef struct ox_bytes {
    const char *data;
    size_t len;
} ox_bytes;

typedef struct ox_string_pair {
    const char *key, *value;
} ox_string_pair;

/* A TensorProto, decoded. */
typedef struct ox_tensor_proto {
    const char *name;    /* "" when absent */
    const char *doc;
    int32_t dtype;       /* TensorProto.DataType */
    int32_t rank;        /* number of dims (<= OX_MAX_RANK, else decoding fails) */
    int64_t dims[OX_MAX_RANK];
    /* Elements in ox_tensor layout (see ir/tensor.h): dense, native byte order, 4-bit
     * types unpacked to one byte each, STRING as an ox_string array. NULL when the
     * tensor has zero elements. nbytes = count * ox_dtype_size(dtype). */
    const void *data;
    size_t nbytes;
    /* For data_location = EXTERNAL: the external_data entries, as given. The loader
     * resolves them into data/nbytes; external is set so tools can say so. */
    int external;
    ox_string_pair *external_data;
    size_t n_external_data;
} ox_tensor_proto;

/* A SparseTensorProto: values (1-D) and indices (1-D linearised or 2-D [NNZ, rank]). */
typedef struct ox_sparse_tensor {
    ox_tensor_proto values, indices;
    int32_t rank;
    int64_t dims[OX_MAX_RANK];
} ox_sparse_tensor;

/* Dimension of a TensorShapeProto. */
typedef struct ox_dim {
    int64_t value;     /* >= 0 when known */
    const char *param; /* dim_param, or NULL */
    int has_value;
} ox_dim;

enum ox_type_kind {
    OX_TYPE_UNKNOWN = 0, /* TypeProto with no value set */
    OX_TYPE_TENSOR = 1,
    OX_TYPE_SEQUENCE = 2,
    OX_TYPE_MAP = 3,
    OX_TYPE_OPTIONAL = 4,
    OX_TYPE_SPARSE_TENSOR = 5
};

/* A TypeProto. */
struct ox_type {
    int kind;          /* enum ox_type_kind */
    int32_t elem_type; /* tensor / sparse tensor element type; map key type */
    int has_shape;     /* tensor: whether a shape was given (rank then known) */
    int32_t rank;
    ox_dim *dims;
    ox_type *elem;     /* sequence / optional element type; map value type */
    const char *denotation;
};

typedef struct ox_value_info {
    const char *name;
    const char *doc;
    ox_type *type; /* NULL when absent */
} ox_value_info;

/* AttributeProto.AttributeType */
enum ox_attr_type {
    OX_ATTR_UNDEFINED = 0,
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_GRAPH = 5,
    OX_ATTR_FLOATS = 6,
    OX_ATTR_INTS = 7,
    OX_ATTR_STRINGS = 8,
    OX_ATTR_TENSORS = 9,
    OX_ATTR_GRAPHS = 10,
    OX_ATTR_SPARSE_TENSOR = 11,
    OX_ATTR_SPARSE_TENSORS = 12,
    OX_ATTR_TYPE_PROTO = 13,
    OX_ATTR_TYPE_PROTOS = 14
};

typedef struct ox_attr {
    const char *name;
    const char *ref_attr_name; /* inside functions: refers to the caller's attribute; or NULL */
    const char *doc;
    int type; /* enum ox_attr_type; when the file omits it, inferred from the field set */
    float f;
    int64_t i;
    ox_bytes s;
    ox_tensor_proto *t;
    ox_graph *g;
    ox_sparse_tensor *sparse;
    ox_type *tp;
    /* lists: exactly one is used, per type; n is its length */
    size_t n;
    float *floats;
    int64_t *ints;
    ox_bytes *strings;
    ox_tensor_proto *tensors;
    ox_graph **graphs;
    ox_sparse_tensor *sparse_tensors;
    ox_type **type_protos;
} ox_attr;

typedef struct ox_node {
    const char *name;    /* "" when absent */
    const char *op_type;
    const char *domain;  /* "" for the default domain (also "ai.onnx" is normalised to "") */
    const char *overload;
    const char *doc;
    const char **inputs; /* "" marks an omitted optional input */
    size_t n_inputs;
    const char **outputs; /* "" marks an omitted optional output */
    size_t n_outputs;
    ox_attr *attrs;
    size_t n_attrs;
    int64_t opset; /* 0: the model's import for domain; set for nodes inlined from functions */
} ox_node;

struct ox_graph {
    const char *name;
    const char *doc;
    ox_node *nodes;
    size_t n_nodes;
    ox_tensor_proto *initializers;
    size_t n_initializers;
    ox_sparse_tensor *sparse_initializers;
    size_t n_sparse_initializers;
    ox_value_info *inputs;
    size_t n_inputs;
    ox_value_info *outputs;
    size_t n_outputs;
    ox_value_info *value_info;
    size_t n_value_info;
};

typedef struct ox_opset {
    const char *domain; /* "" for the default domain ("ai.onnx" normalised to "") */
    int64_t version;
} ox_opset;

typedef struct ox_function {
    const char *name;
    const char *domain;
    const char *overload;
    const char *doc;
    const char **inputs;
    size_t n_inputs;
    const char **outputs;
    size_t n_outputs;
    const char **attributes; /* attribute names without defaults */
    size_t n_attributes;
    ox_attr *attribute_protos; /* attributes with default values */
    size_t n_attribute_protos;
    ox_node *nodes;
    size_t n_nodes;
    ox_opset *opsets;
    size_t n_opsets;
    ox_value_info *value_info;
    size_t n_value_info;
} ox_function;

typedef struct ox_model {
    int64_t ir_version;
    ox_opset *opsets;
    size_t n_opsets;
    const char *producer_name;
    const char *producer_version;
    const char *domain;
    int64_t model_version;
    const char *doc;
    ox_graph *graph; /* NULL when the file has none (an error for sessions) */
    ox_function *functions;
    size_t n_functions;
    ox_string_pair *metadata;
    size_t n_metadata;

    /* storage */
    ox_arena arena;
    const unsigned char *bytes; /* the whole file / buffer */
    size_t size;
    void *map;                  /* mmap'ed region to unmap, or NULL */
    size_t map_size;
    char *dir;                  /* folder for external data, or NULL (buffer loads) */
    /* external data files mapped while loading, unmapped with the model */
    void **ext_maps;
    size_t *ext_map_sizes;
    size_t n_ext_maps, cap_ext_maps;
} ox_model;

/* ox_model is the public onyx_model. */
struct onyx_model {
    ox_model m;
};

/* Decode a ModelProto from bytes[0..size) into m (fields above, arena included).
 * m->bytes/size/dir must be set by the caller; on failure m may hold partial
 * data that ox_model_release frees. External data is resolved through m->dir
 * (NULL: external data is an error). */
onyx_status ox_decode_model(ox_model *m);

/* Decode a standalone TensorProto (e.g. a test's input_0.pb) into an ox_tensor whose
 * data is a fresh ox_malloc_aligned copy owned by the caller (free with
 * ox_tensor_free_data). name_out, if not NULL, receives an ox_malloc'ed copy of the
 * tensor's name (caller frees with ox_free). */
onyx_status ox_decode_tensor_file(const void *bytes, size_t size, ox_tensor *out, char **name_out);

/* Release everything a model holds (arena, maps, dir); m itself is not freed. */
void ox_model_release(ox_model *m);

/* Lookups; NULL when absent. */
const ox_attr *ox_node_attr(const ox_node *n, const char *name);
int64_t ox_model_opset_version(const ox_model *m, const char *domain);
const ox_function *ox_model_function(const ox_model *m, const char *domain, const char *name);

#endif
