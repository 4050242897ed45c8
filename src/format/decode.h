/* Shared pieces of the ONNX decoder (onnx_decode.c, decode_tensor.c, testdata.c).
 * Internal to src/format/. */
#ifndef OX_FORMAT_DECODE_H
#define OX_FORMAT_DECODE_H

#include "format/pb.h"
#include "ir/model.h"

/* An external data file mapped while decoding. */
typedef struct ox_ext_file {
    char *location; /* as written in the model (ox_malloc'ed) */
    const uint8_t *data;
    size_t size;
} ox_ext_file;

typedef struct ox_dec {
    ox_arena *arena; /* every decoded structure goes here */
    int zero_copy;   /* tensor data may point into the buffer being decoded */
    ox_model *m;     /* model being decoded (external data), or NULL */
    ox_ext_file *ext;
    size_t n_ext, cap_ext;
    size_t *ext_index; /* open-addressing hash of ext by location: index + 1, 0 = empty */
    size_t ext_index_cap;
} ox_dec;

/* The shared empty string for absent fields. */
extern const char ox_dec_empty[1];

/* Release the decoder's temporary state (not the arena, not the model's maps). */
void ox_dec_done(ox_dec *d);

/* An arena copy (nul-terminated) of the string in LEN field f. */
onyx_status ox_dec_string(ox_dec *d, const ox_pb *r, const ox_pb_field *f, const char *name,
                          const char **out);
onyx_status ox_dec_bytes(ox_dec *d, const ox_pb *r, const ox_pb_field *f, const char *name,
                         ox_bytes *out);
onyx_status ox_dec_string_pair(ox_dec *d, const ox_pb *r, const ox_pb_field *f,
                               ox_string_pair *out);

/* TensorProto / SparseTensorProto / TypeProto held in LEN field f of r. */
onyx_status ox_dec_tensor(ox_dec *d, const ox_pb *r, const ox_pb_field *f, ox_tensor_proto *out);
/* The TensorProto that reader msg walks (a top-level message, e.g. a .pb file). */
onyx_status ox_dec_tensor_msg(ox_dec *d, const ox_pb *msg, ox_tensor_proto *out);
onyx_status ox_dec_sparse(ox_dec *d, const ox_pb *r, const ox_pb_field *f, ox_sparse_tensor *out);
onyx_status ox_dec_type(ox_dec *d, const ox_pb *r, const ox_pb_field *f, ox_type **out);

/* Copy a decoded tensor's data into a fresh ox_tensor (ox_malloc_aligned data, strings
 * each ox_malloc'ed), as ox_decode_tensor_file promises. */
onyx_status ox_dec_tensor_copy_out(const ox_tensor_proto *p, ox_tensor *out);

#endif
