#include "format/pb.h"

#include "util/alloc.h"
#include "util/status.h"

static const char *wire_name(uint32_t w) {
    switch (w) {
    case OX_PB_VARINT: return "varint";
    case OX_PB_I64: return "fixed64";
    case OX_PB_LEN: return "length-delimited";
    case OX_PB_SGROUP: return "start-group";
    case OX_PB_EGROUP: return "end-group";
    case OX_PB_I32: return "fixed32";
    default: return "invalid";
    }
}

void ox_pb_init(ox_pb *r, const void *base, size_t size, const char *msg) {
    r->base = base;
    r->pos = 0;
    r->end = size;
    r->depth = 0;
    r->msg = msg;
}

onyx_status ox_pb_next(ox_pb *r, ox_pb_field *f, int *more) {
    if (r->pos >= r->end) {
        *more = 0;
        return ONYX_OK;
    }
    f->tag_off = r->pos;
    uint64_t tag;
    if (!ox_pb_varint(r->base, &r->pos, r->end, &tag))
        return ox_error(ONYX_ERR_PARSE, "%s: bad or truncated field tag at byte %zu", r->msg,
                        f->tag_off);
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return ox_error(ONYX_ERR_PARSE, "%s: invalid field number %llu at byte %zu", r->msg,
                        (unsigned long long)(tag >> 3), f->tag_off);
    f->num = (uint32_t)(tag >> 3);
    f->wire = (uint32_t)(tag & 7);
    f->u = 0;
    f->off = f->len = 0;
    size_t at = r->pos;
    switch (f->wire) {
    case OX_PB_VARINT:
        if (!ox_pb_varint(r->base, &r->pos, r->end, &f->u))
            return ox_error(ONYX_ERR_PARSE, "%s: field %u: bad or truncated varint at byte %zu",
                            r->msg, f->num, at);
        break;
    case OX_PB_I64:
    case OX_PB_I32: {
        size_t n = f->wire == OX_PB_I32 ? 4 : 8;
        if (r->end - r->pos < n)
            return ox_error(ONYX_ERR_PARSE, "%s: field %u: truncated %s value at byte %zu", r->msg,
                            f->num, wire_name(f->wire), at);
        f->u = ox_pb_le(r->base + r->pos, (unsigned)n);
        r->pos += n;
        break;
    }
    case OX_PB_LEN: {
        uint64_t len;
        if (!ox_pb_varint(r->base, &r->pos, r->end, &len))
            return ox_error(ONYX_ERR_PARSE, "%s: field %u: bad or truncated length at byte %zu",
                            r->msg, f->num, at);
        if (len > r->end - r->pos)
            return ox_error(ONYX_ERR_PARSE,
                            "%s: field %u: length %llu at byte %zu runs past the end of the "
                            "message (%zu bytes left)%s",
                            r->msg, f->num, (unsigned long long)len, at, r->end - r->pos,
                            r->depth == 0 ? "; the file may be truncated" : "");
        f->off = r->pos;
        f->len = (size_t)len;
        r->pos += (size_t)len;
        break;
    }
    case OX_PB_SGROUP:
    case OX_PB_EGROUP:
        return ox_error(ONYX_ERR_PARSE,
                        "%s: field %u at byte %zu uses groups (wire type %u), "
                        "which ONNX files never contain",
                        r->msg, f->num, f->tag_off, f->wire);
    default:
        return ox_error(ONYX_ERR_PARSE, "%s: field %u at byte %zu has invalid wire type %u", r->msg,
                        f->num, f->tag_off, f->wire);
    }
    *more = 1;
    return ONYX_OK;
}

onyx_status ox_pb_want(const ox_pb *r, const ox_pb_field *f, uint32_t wire, const char *name) {
    if (f->wire == wire) return ONYX_OK;
    return ox_error(ONYX_ERR_PARSE, "%s.%s (field %u) at byte %zu: expected wire type %s, got %s",
                    r->msg, name, f->num, f->tag_off, wire_name(wire), wire_name(f->wire));
}

onyx_status ox_pb_sub(const ox_pb *r, const ox_pb_field *f, const char *msg, ox_pb *sub) {
    OX_TRY(ox_pb_want(r, f, OX_PB_LEN, msg));
    if (r->depth + 1 > OX_PB_MAX_DEPTH)
        return ox_error(ONYX_ERR_LIMIT, "%s at byte %zu: messages nested deeper than %d levels",
                        msg, f->tag_off, OX_PB_MAX_DEPTH);
    sub->base = r->base;
    sub->pos = f->off;
    sub->end = f->off + f->len;
    sub->depth = r->depth + 1;
    sub->msg = msg;
    return ONYX_OK;
}

onyx_status ox_pb_i64(const ox_pb *r, const ox_pb_field *f, const char *name, int64_t *out) {
    OX_TRY(ox_pb_want(r, f, OX_PB_VARINT, name));
    *out = ox_pb_u2i64(f->u);
    return ONYX_OK;
}

onyx_status ox_pb_i32(const ox_pb *r, const ox_pb_field *f, const char *name, int32_t *out) {
    OX_TRY(ox_pb_want(r, f, OX_PB_VARINT, name));
    *out = ox_pb_u2i32(f->u);
    return ONYX_OK;
}

static float bits_to_f32(uint32_t b) {
    union {
        uint32_t u;
        float f;
    } c;
    c.u = b;
    return c.f;
}

onyx_status ox_pb_f32(const ox_pb *r, const ox_pb_field *f, const char *name, float *out) {
    OX_TRY(ox_pb_want(r, f, OX_PB_I32, name));
    *out = bits_to_f32((uint32_t)f->u);
    return ONYX_OK;
}

onyx_status ox_pb_bytes(const ox_pb *r, const ox_pb_field *f, const char *name,
                        const uint8_t **data, size_t *len) {
    OX_TRY(ox_pb_want(r, f, OX_PB_LEN, name));
    *data = r->base + f->off;
    *len = f->len;
    return ONYX_OK;
}

onyx_status ox_pb_rep_count(const ox_pb *r, const ox_pb_field *f, uint32_t wire, const char *name,
                            size_t *count) {
    size_t n;
    if (f->wire == wire) {
        n = 1;
    } else if (f->wire == OX_PB_LEN) {
        if (wire == OX_PB_VARINT) {
            /* Validate every varint now so iteration cannot fail later. */
            size_t p = f->off, end = f->off + f->len;
            n = 0;
            while (p < end) {
                size_t at = p;
                uint64_t v;
                if (!ox_pb_varint(r->base, &p, end, &v))
                    return ox_error(ONYX_ERR_PARSE,
                                    "%s.%s (field %u): bad or truncated packed varint at byte %zu",
                                    r->msg, name, f->num, at);
                n++;
            }
        } else {
            size_t w = wire == OX_PB_I32 ? 4 : 8;
            if (f->len % w)
                return ox_error(ONYX_ERR_PARSE,
                                "%s.%s (field %u) at byte %zu: packed length %zu is not a "
                                "multiple of %zu",
                                r->msg, name, f->num, f->tag_off, f->len, w);
            n = f->len / w;
        }
    } else {
        return ox_error(ONYX_ERR_PARSE,
                        "%s.%s (field %u) at byte %zu: expected wire type %s or packed, got %s",
                        r->msg, name, f->num, f->tag_off, wire_name(wire), wire_name(f->wire));
    }
    if (!ox_add_ok(*count, n, count))
        return ox_error(ONYX_ERR_LIMIT, "%s.%s: too many elements", r->msg, name);
    return ONYX_OK;
}

void ox_pb_rep_begin(const ox_pb *r, const ox_pb_field *f, uint32_t wire, ox_pb_iter *it) {
    it->base = r->base;
    it->wire = wire;
    if (f->wire == OX_PB_LEN) {
        it->single = 0;
        it->pos = f->off;
        it->end = f->off + f->len;
    } else {
        it->single = 1;
        it->u = f->u;
        it->pos = it->end = 0;
    }
}
