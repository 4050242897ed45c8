/* A protobuf wire-format reader over a byte range, without copies.
 *
 * A reader walks the fields of one message, each ox_pb_next() call consuming a
 * whole field (so unknown fields are skipped by ignoring them). Offsets are
 * absolute in the underlying buffer, so nested readers report positions in the
 * file. Every length is checked against the enclosing message; malformed bytes
 * give ONYX_ERR_PARSE with the byte offset, nesting deeper than OX_PB_MAX_DEPTH
 * gives ONYX_ERR_LIMIT. Groups (wire types 3 and 4, unused by ONNX) are refused.
 */
#ifndef OX_FORMAT_PB_H
#define OX_FORMAT_PB_H

#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define OX_PB_MAX_DEPTH 64

enum ox_pb_wire {
    OX_PB_VARINT = 0,
    OX_PB_I64 = 1,
    OX_PB_LEN = 2,
    OX_PB_SGROUP = 3,
    OX_PB_EGROUP = 4,
    OX_PB_I32 = 5
};

typedef struct ox_pb {
    const uint8_t *base; /* the whole buffer; pos/end are offsets into it */
    size_t pos, end;
    int depth;
    const char *msg; /* message name, for errors ("NodeProto") */
} ox_pb;

typedef struct ox_pb_field {
    uint32_t num;
    uint32_t wire;
    size_t tag_off; /* where the field's tag starts */
    uint64_t u;     /* VARINT value, or the I32 / I64 bits */
    size_t off;     /* LEN: payload offset */
    size_t len;     /* LEN: payload length */
} ox_pb_field;

/* A reader for the top-level message base[0..size). */
void ox_pb_init(ox_pb *r, const void *base, size_t size, const char *msg);

/* Read the next field into *f; *more = 0 (and OK) at the end of the message. */
onyx_status ox_pb_next(ox_pb *r, ox_pb_field *f, int *more);

/* A reader for the message held in LEN field f (one level deeper). */
onyx_status ox_pb_sub(const ox_pb *r, const ox_pb_field *f, const char *msg, ox_pb *sub);

/* Fails with a PARSE error unless f has wire type `wire`; name is the field's name. */
onyx_status ox_pb_want(const ox_pb *r, const ox_pb_field *f, uint32_t wire, const char *name);

/* Scalars, with wire-type checks. int32 values are the low 32 bits, as protobuf
 * specifies for a (sign-extended) varint read as int32. */
onyx_status ox_pb_i64(const ox_pb *r, const ox_pb_field *f, const char *name, int64_t *out);
onyx_status ox_pb_i32(const ox_pb *r, const ox_pb_field *f, const char *name, int32_t *out);
onyx_status ox_pb_f32(const ox_pb *r, const ox_pb_field *f, const char *name, float *out);
/* LEN field: pointer and length of the payload (no copy). */
onyx_status ox_pb_bytes(const ox_pb *r, const ox_pb_field *f, const char *name,
                        const uint8_t **data, size_t *len);

/* Repeated scalars, packed (one LEN field) or not (one field per element). `wire`
 * is the element's wire type: OX_PB_VARINT, OX_PB_I32 or OX_PB_I64.
 * ox_pb_rep_count adds the number of elements in f to *count. */
onyx_status ox_pb_rep_count(const ox_pb *r, const ox_pb_field *f, uint32_t wire, const char *name,
                            size_t *count);

/* Iterates the elements of one repeated-scalar field (after ox_pb_rep_count accepted it). */
typedef struct ox_pb_iter {
    const uint8_t *base;
    size_t pos, end;
    uint32_t wire;
    int single; /* an unpacked element: value in `u` */
    uint64_t u;
} ox_pb_iter;
void ox_pb_rep_begin(const ox_pb *r, const ox_pb_field *f, uint32_t wire, ox_pb_iter *it);

/* Decode a varint at base[*pos..end): 1 on success (advancing *pos), 0 when it is
 * truncated, longer than 10 bytes or above 64 bits. */
static inline int ox_pb_varint(const uint8_t *base, size_t *pos, size_t end, uint64_t *out) {
    size_t p = *pos;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= end) return 0;
        uint8_t b = base[p++];
        if (shift == 63 && b > 1) return 0; /* the 10th byte holds only bit 63 */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pos = p;
            *out = v;
            return 1;
        }
    }
    return 0;
}

static inline uint64_t ox_pb_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Next element's raw value (varint value, or I32/I64 bits); 0 at the end. Malformed
 * packed data was rejected by ox_pb_rep_count, so this cannot fail. */
static inline int ox_pb_rep_next(ox_pb_iter *it, uint64_t *v) {
    if (it->single) {
        it->single = 0;
        *v = it->u;
        return 1;
    }
    if (it->pos >= it->end) return 0;
    if (it->wire == OX_PB_VARINT) return ox_pb_varint(it->base, &it->pos, it->end, v);
    unsigned n = it->wire == OX_PB_I32 ? 4 : 8;
    *v = ox_pb_le(it->base + it->pos, n);
    it->pos += n;
    return 1;
}

/* Reinterpret helpers (no UB for values outside the signed range). */
static inline int64_t ox_pb_u2i64(uint64_t v) {
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}
static inline int32_t ox_pb_u2i32(uint64_t v) {
    uint32_t w = (uint32_t)v;
    return w <= (uint32_t)INT32_MAX ? (int32_t)w : -(int32_t)(~w) - 1;
}

#endif
