/*
 * onyx — an ONNX inference engine in C.
 *
 * The whole public API. Conventions:
 *  - every call that can fail returns an onyx_status; ONYX_OK (0) is success;
 *  - on failure, onyx_last_error() returns a message for the calling thread that
 *    names where and what went wrong (node name, op type, the problem); the string
 *    is owned by the library and stays as it is until the thread's next call that
 *    returns an onyx_status (getters and free functions leave it alone);
 *  - out-parameters are written only on success, and each says who owns it;
 *  - dims are int64_t, counts are size_t.
 */
#ifndef ONYX_H
#define ONYX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ONYX_VERSION_MAJOR 0
#define ONYX_VERSION_MINOR 1
#define ONYX_VERSION_PATCH 0
#define ONYX_VERSION_STRING "0.1.0"

typedef enum onyx_status {
    ONYX_OK = 0,
    ONYX_ERR_INVALID_ARGUMENT = 1, /* a bad argument to an API call (NULL, unknown name, wrong dtype/shape) */
    ONYX_ERR_IO = 2,               /* a file could not be opened or read */
    ONYX_ERR_PARSE = 3,            /* malformed protobuf bytes */
    ONYX_ERR_INVALID_MODEL = 4,    /* well-formed bytes, but the graph breaks the ONNX rules */
    ONYX_ERR_UNSUPPORTED = 5,      /* an operator, opset, dtype or feature onyx does not implement */
    ONYX_ERR_OUT_OF_MEMORY = 6,    /* an allocation failed */
    ONYX_ERR_RUNTIME = 7,          /* a failure while running (e.g. an index out of range in the data) */
    ONYX_ERR_LIMIT = 8             /* a documented limit was exceeded (rank, nesting, loop trips) */
} onyx_status;

/* Element types; values equal ONNX TensorProto.DataType. */
typedef enum onyx_dtype {
    ONYX_DTYPE_UNDEFINED = 0,
    ONYX_DTYPE_FLOAT = 1,
    ONYX_DTYPE_UINT8 = 2,
    ONYX_DTYPE_INT8 = 3,
    ONYX_DTYPE_UINT16 = 4,
    ONYX_DTYPE_INT16 = 5,
    ONYX_DTYPE_INT32 = 6,
    ONYX_DTYPE_INT64 = 7,
    ONYX_DTYPE_STRING = 8,
    ONYX_DTYPE_BOOL = 9,
    ONYX_DTYPE_FLOAT16 = 10,
    ONYX_DTYPE_DOUBLE = 11,
    ONYX_DTYPE_UINT32 = 12,
    ONYX_DTYPE_UINT64 = 13,
    ONYX_DTYPE_COMPLEX64 = 14,
    ONYX_DTYPE_COMPLEX128 = 15,
    ONYX_DTYPE_BFLOAT16 = 16,
    ONYX_DTYPE_FLOAT8E4M3FN = 17,
    ONYX_DTYPE_FLOAT8E4M3FNUZ = 18,
    ONYX_DTYPE_FLOAT8E5M2 = 19,
    ONYX_DTYPE_FLOAT8E5M2FNUZ = 20,
    ONYX_DTYPE_UINT4 = 21,
    ONYX_DTYPE_INT4 = 22,
    ONYX_DTYPE_FLOAT4E2M1 = 23,
    ONYX_DTYPE_FLOAT8E8M0 = 24, /* a power of two, 2^(code-127); 0xff is NaN */
    ONYX_DTYPE_UINT2 = 25,
    ONYX_DTYPE_INT2 = 26
} onyx_dtype;

typedef struct onyx_model onyx_model;
typedef struct onyx_session onyx_session;
typedef struct onyx_tensor onyx_tensor;

/* ---- errors ---------------------------------------------------------------- */

/* The message of the calling thread's last failed call ("" if none). Owned by the
 * library; it changes at the same thread's next call that returns an onyx_status. */
const char *onyx_last_error(void);

/* A constant name for a status ("ONYX_OK", "ONYX_ERR_PARSE", ...). */
const char *onyx_status_name(onyx_status s);

/* A constant name for a dtype ("float32", "int64", ...), or "unknown". */
const char *onyx_dtype_name(onyx_dtype t);

/* Bytes per element of a dtype (0 for STRING, UNDEFINED and the 4-bit and 2-bit
 * types, which files pack two or four to a byte; in onyx_tensor memory they take
 * one byte each, see onyx_tensor_data). */
size_t onyx_dtype_size(onyx_dtype t);

/* ---- allocation ------------------------------------------------------------ */

/* Replace the allocator used for every allocation the library makes (NULL
 * functions restore malloc/realloc/free). Call before any other onyx call; not
 * thread-safe. Returning NULL from alloc/realloc makes the call fail cleanly with
 * ONYX_ERR_OUT_OF_MEMORY. */
typedef struct onyx_allocator {
    void *(*alloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} onyx_allocator;
void onyx_set_allocator(const onyx_allocator *a);

/* ---- models ---------------------------------------------------------------- */

/* Load an ONNX model (ModelProto) from a file. The file is mapped, and weights are
 * used in place where their bytes are aligned; external data is resolved relative to
 * the file's folder and may not leave it. On success *out is a new model owned by the
 * caller (free with onyx_model_free). */
onyx_status onyx_model_load_file(const char *path, onyx_model **out);

/* Load a model from a caller's buffer. The buffer is not copied: it must stay valid
 * and unchanged until onyx_model_free. Models loaded this way cannot use external
 * data. On success *out is owned by the caller. */
onyx_status onyx_model_load_buffer(const void *data, size_t size, onyx_model **out);

/* Free a model (NULL is allowed). Sessions made from it must be freed first. */
void onyx_model_free(onyx_model *m);

/* Metadata; strings are owned by the model. */
int64_t onyx_model_ir_version(const onyx_model *m);
const char *onyx_model_producer(const onyx_model *m);
/* The opset version the model imports for a domain ("" or "ai.onnx" = default
 * domain), or 0 when it imports none. */
int64_t onyx_model_opset(const onyx_model *m, const char *domain);

/* ---- sessions -------------------------------------------------------------- */

typedef struct onyx_session_options {
    int threads; /* worker threads for heavy kernels; 0 or 1 = run on the calling thread */
    /* Called after each node runs, with its wall time (NULL: none) — for profiling
     * and tracing. It runs on the thread that called onyx_session_run. */
    void (*node_callback)(void *user, const char *node_name, const char *op_type, double seconds);
    void *node_callback_user;
    /* A Loop stops with ONYX_ERR_LIMIT after this many iterations (0: 100,000,000). */
    int64_t max_loop_iterations;
    /* 1: run every node as written. 0 (default): fold BatchNormalization into the Conv
     * before it and activations into the Conv/Gemm before them, and run x * Sigmoid(x)
     * and the erf GELU (Div, Erf, Add, Mul, Mul) as one step each, where no value in
     * between is requested or a graph output (results then differ in the last bits). */
    int disable_fusion;
} onyx_session_options;

/* Fill options with the defaults (1 thread). */
void onyx_session_options_init(onyx_session_options *o);

/* sizeof(onyx_session_options) in this library: bindings check their copy of the
 * struct against it (new fields are only ever appended). */
size_t onyx_session_options_size(void);

/* Make a session that runs the model's main graph. The session checks the graph,
 * infers types and shapes and, when every input shape is static, builds the run plan
 * at once. opts may be NULL for the defaults. The model must outlive the session.
 * On success *out is owned by the caller (free with onyx_session_free). */
onyx_status onyx_session_create(const onyx_model *m, const onyx_session_options *opts,
                                onyx_session **out);

/* Make a session that runs one model-local function (FunctionProto) by itself,
 * found by domain ("" or NULL for the default domain) and name. Its inputs and
 * outputs are the function's formal ones (their types come from the tensors given
 * at run time). attributes: n_attributes texts "name=value" giving the function's
 * attributes (a number, a comma-separated list of numbers, or a string; read as the
 * type the function's body uses it as); attributes not given take the function's
 * defaults. Calls to other functions inside it are expanded. On success *out is
 * owned by the caller. */
onyx_status onyx_session_create_function(const onyx_model *m, const char *domain, const char *name,
                                         const char *const *attributes, size_t n_attributes,
                                         const onyx_session_options *opts, onyx_session **out);

/* Free a session (NULL is allowed). */
void onyx_session_free(onyx_session *s);

/* Describes one graph input or output. All pointers are owned by the session. */
typedef struct onyx_value_info {
    const char *name;
    onyx_dtype dtype;         /* UNDEFINED when the model does not say */
    int rank;                 /* -1 when the rank is unknown */
    const int64_t *dims;      /* rank entries; -1 for a dim that is not a fixed number */
    const char *const *dim_names; /* rank entries; the symbolic name (dim_param) or NULL */
} onyx_value_info;

size_t onyx_session_input_count(const onyx_session *s);
size_t onyx_session_output_count(const onyx_session *s);
/* Describe input/output i (0-based); fails with INVALID_ARGUMENT when out of range. */
onyx_status onyx_session_input_info(const onyx_session *s, size_t i, onyx_value_info *out);
onyx_status onyx_session_output_info(const onyx_session *s, size_t i, onyx_value_info *out);

/* Bytes of the activation arena a run needs, when the plan for the session's
 * static input shapes is known (0 and *known = 0 otherwise). */
size_t onyx_session_arena_bytes(const onyx_session *s, int *known);

/* Run the session.
 *  inputs: n_inputs tensors, matched by input_names (graph inputs; every required
 *          input must be given). The caller keeps ownership; they are only read.
 *  output_names: the values wanted — any value of the graph, not only its outputs;
 *          NULL means the graph's outputs in order (then n_outputs must equal
 *          onyx_session_output_count). Only the nodes these depend on run.
 *  outputs: an array of n_outputs slots; on success each holds a new tensor owned by
 *          the caller (free each with onyx_tensor_free). On failure none are set.
 * A session may be run from several threads at once. */
onyx_status onyx_session_run(onyx_session *s, size_t n_inputs, const char *const *input_names,
                             const onyx_tensor *const *inputs, size_t n_outputs,
                             const char *const *output_names, onyx_tensor **outputs);

/* ---- tensors --------------------------------------------------------------- */

/* A run's output may also be a sequence of tensors or an empty optional (graphs with
 * sequence/optional values): onyx_tensor_dtype() then returns one of these. */
#define ONYX_DTYPE_SEQUENCE 1001
#define ONYX_DTYPE_NONE 1002

/* A new zero-filled tensor that owns its memory. dims may be NULL when rank is 0.
 * On success *out is owned by the caller (free with onyx_tensor_free). */
onyx_status onyx_tensor_create(onyx_dtype dtype, int rank, const int64_t *dims,
                               onyx_tensor **out);

/* A tensor over the caller's memory (not copied, not freed by onyx): data must hold
 * at least the tensor's byte size (checked against nbytes) and outlive the tensor.
 * STRING tensors cannot be wrapped. On success *out is owned by the caller. */
onyx_status onyx_tensor_wrap(onyx_dtype dtype, int rank, const int64_t *dims, void *data,
                             size_t nbytes, onyx_tensor **out);

/* Free a tensor handle (NULL allowed); owned memory is freed with it. */
void onyx_tensor_free(onyx_tensor *t);

/* onyx_dtype, or ONYX_DTYPE_SEQUENCE / ONYX_DTYPE_NONE (returned as int: those two are
 * not ONNX element types). */
int onyx_tensor_dtype(const onyx_tensor *t);
int onyx_tensor_rank(const onyx_tensor *t);
/* rank entries, owned by the tensor. */
const int64_t *onyx_tensor_dims(const onyx_tensor *t);
/* Number of elements (1 for rank 0). */
size_t onyx_tensor_count(const onyx_tensor *t);
/* Size of the data in bytes. */
size_t onyx_tensor_nbytes(const onyx_tensor *t);
/* The element data, owned by the tensor (or by the caller for wrapped tensors):
 * dense, row-major, in the machine's byte order. The 4-bit and 2-bit types take one
 * byte per element, in its low bits (sign-extended for INT4 and INT2); FLOAT8E8M0
 * is one byte, its code. */
void *onyx_tensor_data(onyx_tensor *t);
const void *onyx_tensor_data_const(const onyx_tensor *t);

/* Sequences: the number of items (0 when t is not a sequence), and item i as a new
 * handle that views the item (owned by the caller; free it with onyx_tensor_free before
 * the sequence; the item's data stays the sequence's). */
size_t onyx_tensor_sequence_length(const onyx_tensor *t);
onyx_status onyx_tensor_sequence_item(const onyx_tensor *t, size_t i, onyx_tensor **out);

/* STRING tensors: element i's bytes (not nul-terminated in general; may contain zero
 * bytes), owned by the tensor; and replacing element i with a copy of len bytes. */
onyx_status onyx_tensor_string(const onyx_tensor *t, size_t i, const char **data, size_t *len);
onyx_status onyx_tensor_set_string(onyx_tensor *t, size_t i, const char *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* ONYX_H */
