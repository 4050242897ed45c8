/* TensorProto / SequenceProto / OptionalProto test-data files (onnx-data.proto). */
#include "format/testdata.h"

#include <string.h>

#include "format/decode.h"
#include "util/alloc.h"
#include "util/status.h"

/* SequenceProto and OptionalProto share their field numbers. */
enum {
    V_NAME = 1,
    V_ELEM_TYPE = 2,
    V_TENSOR = 3,
    V_SPARSE = 4,
    V_SEQUENCE = 5,
    V_MAP = 6,
    V_OPTIONAL = 7
};

int ox_testdata_kind_of(const ox_type *t) {
    if (t && t->kind == OX_TYPE_SEQUENCE) return OX_TESTDATA_SEQUENCE;
    if (t && t->kind == OX_TYPE_OPTIONAL) return OX_TESTDATA_OPTIONAL;
    return OX_TESTDATA_TENSOR;
}

void ox_testdata_free(ox_testdata *v) {
    if (!v) return;
    ox_free(v->name);
    ox_tensor_free_data(&v->tensor);
    for (size_t i = 0; i < v->n_items; i++) ox_testdata_free(&v->items[i]);
    ox_free(v->items);
    if (v->elem) {
        ox_testdata_free(v->elem);
        ox_free(v->elem);
    }
    memset(v, 0, sizeof *v);
}

static const char *kind_msg(int kind) {
    return kind == OX_TESTDATA_SEQUENCE   ? "SequenceProto"
           : kind == OX_TESTDATA_OPTIONAL ? "OptionalProto"
                                          : "TensorProto";
}

static int kind_of_field(uint32_t num) {
    return num == V_TENSOR     ? OX_TESTDATA_TENSOR
           : num == V_SEQUENCE ? OX_TESTDATA_SEQUENCE
                               : OX_TESTDATA_OPTIONAL;
}

static onyx_status dec_value(ox_dec *d, const ox_pb *r, int kind, ox_testdata *out);

static onyx_status dec_sub(ox_dec *d, const ox_pb *r, const ox_pb_field *f, ox_testdata *out) {
    ox_pb s;
    int kind = kind_of_field(f->num);
    OX_TRY(ox_pb_sub(r, f, kind_msg(kind), &s));
    return dec_value(d, &s, kind, out);
}

static onyx_status dec_container(ox_dec *d, const ox_pb *msg, ox_testdata *out) {
    ox_pb r = *msg;
    ox_pb_field f;
    int more;
    size_t n = 0;
    const char *name = ox_dec_empty;
    int seq = out->kind == OX_TESTDATA_SEQUENCE;
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        switch (f.num) {
        case V_NAME: OX_TRY(ox_dec_string(d, &r, &f, "name", &name)); break;
        case V_SPARSE:
        case V_MAP:
            return ox_error(ONYX_ERR_UNSUPPORTED,
                            "%s at byte %zu holds a %s, which is not "
                            "supported",
                            r.msg, f.tag_off, f.num == V_MAP ? "map" : "sparse tensor");
        case V_TENSOR:
        case V_SEQUENCE:
        case V_OPTIONAL:
            OX_TRY(ox_pb_want(&r, &f, OX_PB_LEN, "value"));
            n++;
            break;
        default: break;
        }
    }
    if (!(out->name = ox_strdup(name))) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    if (n == 0) return ONYX_OK;
    if (!seq && n > 1)
        return ox_error(ONYX_ERR_PARSE, "OptionalProto holds %zu values, at most one allowed", n);
    ox_testdata *items = ox_calloc(n, sizeof *items);
    if (!items) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    if (seq)
        out->items = items;
    else
        out->elem = items;
    r = *msg;
    size_t k = 0;
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        if (f.num != V_TENSOR && f.num != V_SEQUENCE && f.num != V_OPTIONAL) continue;
        onyx_status st = dec_sub(d, &r, &f, &items[k]);
        if (seq) out->n_items = k + 1; /* so a failure frees what was decoded */
        if (st != ONYX_OK) return seq ? ox_error_prefix(st, "sequence element %zu: ", k) : st;
        k++;
    }
    out->present = !seq;
    return ONYX_OK;
}

static onyx_status dec_value(ox_dec *d, const ox_pb *r, int kind, ox_testdata *out) {
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (kind != OX_TESTDATA_TENSOR) return dec_container(d, r, out);
    ox_tensor_proto p;
    OX_TRY(ox_dec_tensor_msg(d, r, &p));
    if (!(out->name = ox_strdup(p.name))) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    return ox_dec_tensor_copy_out(&p, &out->tensor);
}

onyx_status ox_testdata_decode(const void *bytes, size_t size, int kind, ox_testdata *out) {
    if ((!bytes && size) || !out)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "test data bytes and out must not be NULL");
    if (kind != OX_TESTDATA_TENSOR && kind != OX_TESTDATA_SEQUENCE && kind != OX_TESTDATA_OPTIONAL)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "unknown test data kind %d", kind);
    ox_arena arena;
    ox_dec d;
    ox_pb r;
    ox_testdata v;
    ox_arena_init(&arena);
    memset(&d, 0, sizeof d);
    d.arena = &arena;
    d.zero_copy = 1; /* tensors are copied out of the arena */
    ox_pb_init(&r, bytes, size, kind_msg(kind));
    onyx_status st = dec_value(&d, &r, kind, &v);
    ox_dec_done(&d);
    ox_arena_free(&arena);
    if (st != ONYX_OK) {
        ox_testdata_free(&v);
        return st;
    }
    *out = v;
    return ONYX_OK;
}
