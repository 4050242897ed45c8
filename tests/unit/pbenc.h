/* A tiny protobuf encoder and ONNX message builders for the loader tests
 * (test_decode.c, test_decode_files.c). Header-only: every function is static inline. */
#ifndef OX_TEST_PBENC_H
#define OX_TEST_PBENC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/model.h"

/* ---- a tiny protobuf encoder ------------------------------------------------------- */

typedef struct pbuf {
    uint8_t *p;
    size_t n, cap;
} pbuf;

static inline void put(pbuf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static inline void varint(pbuf *b, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        put(b, &c, 1);
    } while (v);
}
static inline void tag(pbuf *b, uint32_t num, uint32_t wire) {
    varint(b, (uint64_t)num << 3 | wire);
}
static inline void f_var(pbuf *b, uint32_t num, uint64_t v) {
    tag(b, num, 0);
    varint(b, v);
}
static inline void f_int(pbuf *b, uint32_t num, int64_t v) { f_var(b, num, (uint64_t)v); }
static inline void le(pbuf *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}
static inline void f_fix32(pbuf *b, uint32_t num, uint32_t v) {
    tag(b, num, 5);
    le(b, v, 4);
}
static inline void f_fix64(pbuf *b, uint32_t num, uint64_t v) {
    tag(b, num, 1);
    le(b, v, 8);
}
static inline uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline uint64_t dbits(double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}
static inline void f_float(pbuf *b, uint32_t num, float v) { f_fix32(b, num, fbits(v)); }
static inline void f_bytes(pbuf *b, uint32_t num, const void *d, size_t n) {
    tag(b, num, 2);
    varint(b, n);
    put(b, d, n);
}
static inline void f_str(pbuf *b, uint32_t num, const char *s) { f_bytes(b, num, s, strlen(s)); }
/* Append sub as a nested message and free it. */
static inline void f_msg(pbuf *b, uint32_t num, pbuf *sub) {
    f_bytes(b, num, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}
static inline void f_packed(pbuf *b, uint32_t num, const uint64_t *v, size_t n) {
    pbuf s = {0};
    for (size_t i = 0; i < n; i++) varint(&s, v[i]);
    f_msg(b, num, &s);
}
/* Unknown fields of every wire type, which a reader must skip. */
static inline void junk(pbuf *b) {
    f_var(b, 900, 12345);
    f_fix64(b, 901, 7);
    f_str(b, 902, "ignored");
    f_fix32(b, 903, 9);
}

static uint64_t rng = 88172645463325252ull;
static inline uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- tensors ------------------------------------------------------------------------ */

/* One tensor's elements in three forms: the ox_tensor layout the decoder must produce,
 * the values of the typed *_data field onnx.proto assigns to the dtype, and raw_data. */
typedef struct tcase {
    int32_t dtype;
    size_t count;
    pbuf expect; /* ox_tensor layout (non-STRING) */
    pbuf raw;    /* raw_data bytes */
    uint64_t *typed;
    size_t n_typed;
    uint32_t field, wire;
    pbuf strs; /* STRING: the strings, back to back */
    size_t *slen;
} tcase;

static inline void add_typed(tcase *c, uint64_t v) { c->typed[c->n_typed++] = v; }

static inline void make_case(tcase *c, int32_t dtype, size_t count) {
    memset(c, 0, sizeof *c);
    c->dtype = dtype;
    c->count = count;
    c->typed = calloc(2 * count + 2, sizeof(uint64_t));
    c->slen = calloc(count + 1, sizeof(size_t));
    c->field = 5;
    c->wire = 0;
    /* bits per element of the packed types: files hold 8 / bits of them per byte */
    unsigned bits = dtype == ONYX_DTYPE_UINT4 || dtype == ONYX_DTYPE_INT4 ||
                            dtype == ONYX_DTYPE_FLOAT4E2M1
                        ? 4
                        : dtype == ONYX_DTYPE_UINT2 || dtype == ONYX_DTYPE_INT2 ? 2 : 0;
    int nib = bits != 0, sign = dtype == ONYX_DTYPE_INT4 || dtype == ONYX_DTYPE_INT2;
    unsigned per = bits ? 8 / bits : 1;
    uint8_t pending = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t r = rnd();
        switch (dtype) {
        case ONYX_DTYPE_FLOAT:
        case ONYX_DTYPE_COMPLEX64:
            c->field = 4, c->wire = 5;
            for (int k = 0; k < (dtype == ONYX_DTYPE_FLOAT ? 1 : 2); k++) {
                float x = (float)((int64_t)(rnd() % 20001) - 10000) / 37.0f;
                put(&c->expect, &x, 4);
                le(&c->raw, fbits(x), 4);
                add_typed(c, fbits(x));
            }
            break;
        case ONYX_DTYPE_DOUBLE:
        case ONYX_DTYPE_COMPLEX128:
            c->field = 10, c->wire = 1;
            for (int k = 0; k < (dtype == ONYX_DTYPE_DOUBLE ? 1 : 2); k++) {
                double x = (double)((int64_t)(rnd() % 200001) - 100000) / 7.0;
                put(&c->expect, &x, 8);
                le(&c->raw, dbits(x), 8);
                add_typed(c, dbits(x));
            }
            break;
        case ONYX_DTYPE_INT64: {
            int64_t x = (int64_t)(r >> 1) * ((r & 1) ? -1 : 1);
            c->field = 7;
            put(&c->expect, &x, 8);
            le(&c->raw, (uint64_t)x, 8);
            add_typed(c, (uint64_t)x);
            break;
        }
        case ONYX_DTYPE_UINT64:
            c->field = 11;
            put(&c->expect, &r, 8);
            le(&c->raw, r, 8);
            add_typed(c, r);
            break;
        case ONYX_DTYPE_UINT32: {
            uint32_t x = (uint32_t)r;
            c->field = 11;
            put(&c->expect, &x, 4);
            le(&c->raw, x, 4);
            add_typed(c, x);
            break;
        }
        case ONYX_DTYPE_INT32: {
            int32_t x = (int32_t)(r % 4000000) - 2000000;
            put(&c->expect, &x, 4);
            le(&c->raw, (uint32_t)x, 4);
            add_typed(c, (uint64_t)(int64_t)x); /* protobuf sign-extends int32 */
            break;
        }
        case ONYX_DTYPE_INT16: {
            int16_t x = (int16_t)((int32_t)(r % 65536) - 32768);
            put(&c->expect, &x, 2);
            le(&c->raw, (uint16_t)x, 2);
            add_typed(c, (uint64_t)(int64_t)x);
            break;
        }
        case ONYX_DTYPE_UINT16:
        case ONYX_DTYPE_FLOAT16:
        case ONYX_DTYPE_BFLOAT16: {
            uint16_t x = (uint16_t)r;
            put(&c->expect, &x, 2);
            le(&c->raw, x, 2);
            add_typed(c, x);
            break;
        }
        case ONYX_DTYPE_INT8: {
            int8_t x = (int8_t)((int32_t)(r % 256) - 128);
            put(&c->expect, &x, 1);
            le(&c->raw, (uint8_t)x, 1);
            add_typed(c, (uint64_t)(int64_t)x);
            break;
        }
        case ONYX_DTYPE_BOOL: {
            uint8_t x = (uint8_t)(r & 1);
            put(&c->expect, &x, 1);
            le(&c->raw, x, 1);
            add_typed(c, x);
            break;
        }
        case ONYX_DTYPE_STRING: {
            size_t n = r % 6;
            c->field = 6;
            for (size_t k = 0; k < n; k++) {
                uint8_t ch = (uint8_t)(rnd() % 4 == 0 ? 0 : 'a' + rnd() % 26);
                put(&c->strs, &ch, 1);
            }
            c->slen[i] = n;
            break;
        }
        default:
            if (nib) {
                unsigned span = 1u << bits;
                uint8_t v = (uint8_t)(r % span);
                int value = sign && v >= span / 2 ? (int)v - (int)span : (int)v;
                uint8_t x = (uint8_t)(int8_t)value;
                put(&c->expect, &x, 1);
                pending = (uint8_t)(pending | v << (bits * (i % per)));
                if (i % per == per - 1) {
                    le(&c->raw, pending, 1);
                    add_typed(c, pending);
                    pending = 0;
                }
            } else { /* UINT8, FLOAT8* (incl. E8M0) */
                uint8_t x = (uint8_t)r;
                put(&c->expect, &x, 1);
                le(&c->raw, x, 1);
                add_typed(c, x);
            }
        }
    }
    if (nib && count % per) {
        le(&c->raw, pending, 1);
        add_typed(c, pending);
    }
}

static inline void free_case(tcase *c) {
    free(c->expect.p);
    free(c->raw.p);
    free(c->typed);
    free(c->strs.p);
    free(c->slen);
}

enum { ENC_RAW, ENC_PACKED, ENC_UNPACKED, ENC_SPLIT };

/* TensorProto fields in a scrambled order, with unknown fields mixed in. */
static inline void enc_tensor(pbuf *b, const tcase *c, int enc, int32_t rank, const int64_t *dims,
                              const char *name) {
    if (name) f_str(b, 8, name);
    if (rank % 2) {
        uint64_t d[OX_MAX_RANK];
        for (int32_t i = 0; i < rank; i++) d[i] = (uint64_t)dims[i];
        f_packed(b, 1, d, (size_t)rank);
    } else {
        for (int32_t i = 0; i < rank; i++) f_int(b, 1, dims[i]);
    }
    junk(b);
    if (c->dtype == ONYX_DTYPE_STRING) {
        size_t off = 0;
        for (size_t i = 0; i < c->count; i++) {
            f_bytes(b, 6, c->strs.p + off, c->slen[i]);
            off += c->slen[i];
        }
    } else if (enc == ENC_RAW) {
        f_bytes(b, 9, c->raw.p, c->raw.n);
    } else {
        size_t split = enc == ENC_PACKED ? c->n_typed : enc == ENC_UNPACKED ? 0 : c->n_typed / 2;
        if (split) {
            if (c->wire == 0) {
                f_packed(b, c->field, c->typed, split);
            } else {
                pbuf s = {0};
                for (size_t i = 0; i < split; i++) le(&s, c->typed[i], c->wire == 5 ? 4 : 8);
                f_msg(b, c->field, &s);
            }
        }
        for (size_t i = split; i < c->n_typed; i++) {
            if (c->wire == 0)
                f_var(b, c->field, c->typed[i]);
            else if (c->wire == 5)
                f_fix32(b, c->field, (uint32_t)c->typed[i]);
            else
                f_fix64(b, c->field, c->typed[i]);
        }
    }
    f_int(b, 2, c->dtype); /* data_type after the data: field order must not matter */
}

static inline int same_data(const tcase *c, const ox_tensor *t) {
    if (c->dtype != ONYX_DTYPE_STRING)
        return c->expect.n == 0 || memcmp(t->data, c->expect.p, c->expect.n) == 0;
    const ox_string *s = t->data;
    size_t off = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (s[i].len != c->slen[i] ||
            (c->slen[i] && memcmp(s[i].data, c->strs.p + off, c->slen[i])))
            return 0;
        off += c->slen[i];
    }
    return 1;
}

/* ---- whole models ------------------------------------------------------------------- */

static inline void enc_kv(pbuf *b, uint32_t num, const char *k, const char *v) {
    pbuf s = {0};
    f_str(&s, 1, k);
    f_str(&s, 2, v);
    f_msg(b, num, &s);
}

static inline void enc_opset(pbuf *b, uint32_t num, const char *domain, int64_t v) {
    pbuf s = {0};
    if (domain) f_str(&s, 1, domain);
    f_int(&s, 2, v);
    junk(&s);
    f_msg(b, num, &s);
}

/* TypeProto.Tensor with elem type and dims (value >= 0, or a param name, or neither). */
static inline void enc_tensor_type(pbuf *tp, uint32_t num, int32_t elem, int rank,
                                   const int64_t *vals, const char *const *params) {
    pbuf t = {0}, shape = {0};
    f_int(&t, 1, elem);
    if (rank >= 0) {
        for (int i = 0; i < rank; i++) {
            pbuf d = {0};
            if (params && params[i])
                f_str(&d, 2, params[i]);
            else if (vals[i] >= 0)
                f_int(&d, 1, vals[i]);
            f_msg(&shape, 1, &d);
        }
        f_msg(&t, 2, &shape);
    }
    f_msg(tp, num, &t);
}

static inline void enc_value_info(pbuf *b, uint32_t num, const char *name, pbuf *type) {
    pbuf v = {0};
    f_str(&v, 1, name);
    if (type) f_msg(&v, 2, type);
    f_str(&v, 3, "vi doc");
    f_msg(b, num, &v);
}

static inline void enc_small_tensor(pbuf *b, uint32_t num, int32_t dtype, int64_t n,
                                    const char *name, int64_t base) {
    pbuf t = {0};
    f_int(&t, 1, n);
    f_int(&t, 2, dtype);
    if (name) f_str(&t, 8, name);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == ONYX_DTYPE_FLOAT)
            f_float(&t, 4, (float)(base + i));
        else if (dtype == ONYX_DTYPE_INT64)
            f_int(&t, 7, base + i);
        else
            f_int(&t, 5, base + i);
    }
    f_msg(b, num, &t);
}

static inline void enc_graph_one_node(pbuf *b, uint32_t num, const char *gname, const char *op) {
    pbuf g = {0}, n = {0};
    f_str(&n, 1, "a");
    f_str(&n, 2, "b");
    f_str(&n, 4, op);
    f_msg(&g, 1, &n);
    f_str(&g, 2, gname);
    f_msg(b, num, &g);
}

static inline void enc_sparse(pbuf *b, uint32_t num) {
    pbuf s = {0};
    enc_small_tensor(&s, 1, ONYX_DTYPE_FLOAT, 2, "sv", 10);
    enc_small_tensor(&s, 2, ONYX_DTYPE_INT64, 2, "si", 1);
    f_int(&s, 3, 3);
    f_int(&s, 3, 3);
    f_msg(b, num, &s);
}

/* An attribute; `typed` = write the type field (else the reader must infer it). */
static inline void attr_begin(pbuf *a, const char *name, int type, int typed) {
    memset(a, 0, sizeof *a);
    f_str(a, 1, name);
    if (typed) f_int(a, 20, type);
    junk(a);
}

static inline void enc_all_attrs(pbuf *node, int typed) {
    pbuf a, t = {0};
    attr_begin(&a, "f", OX_ATTR_FLOAT, typed);
    f_float(&a, 2, 1.5f);
    f_msg(node, 5, &a);
    attr_begin(&a, "i", OX_ATTR_INT, typed);
    f_int(&a, 3, -7);
    f_msg(node, 5, &a);
    attr_begin(&a, "s", OX_ATTR_STRING, typed);
    f_bytes(&a, 4, "a\0b", 3);
    f_str(&a, 13, "attr doc");
    f_msg(node, 5, &a);
    attr_begin(&a, "t", OX_ATTR_TENSOR, typed);
    enc_small_tensor(&a, 5, ONYX_DTYPE_INT32, 3, "tt", -1);
    f_msg(node, 5, &a);
    attr_begin(&a, "g", OX_ATTR_GRAPH, typed);
    enc_graph_one_node(&a, 6, "sub", "Identity");
    f_msg(node, 5, &a);
    attr_begin(&a, "sp", OX_ATTR_SPARSE_TENSOR, typed);
    enc_sparse(&a, 22);
    f_msg(node, 5, &a);
    attr_begin(&a, "tp", OX_ATTR_TYPE_PROTO, typed);
    enc_tensor_type(&t, 1, ONYX_DTYPE_INT8, -1, NULL, NULL);
    f_msg(&a, 14, &t);
    f_msg(node, 5, &a);
    attr_begin(&a, "floats", OX_ATTR_FLOATS, typed);
    pbuf pk = {0};
    le(&pk, fbits(1.0f), 4);
    le(&pk, fbits(-2.0f), 4);
    f_msg(&a, 7, &pk);     /* packed ... */
    f_float(&a, 7, 3.25f); /* ... then unpacked */
    f_msg(node, 5, &a);
    attr_begin(&a, "ints", OX_ATTR_INTS, typed);
    f_int(&a, 8, -1);
    uint64_t iv[2] = {5, (uint64_t)1 << 40};
    f_packed(&a, 8, iv, 2);
    f_msg(node, 5, &a);
    attr_begin(&a, "strings", OX_ATTR_STRINGS, typed);
    f_str(&a, 9, "x");
    f_str(&a, 9, "");
    f_str(&a, 9, "yy");
    f_msg(node, 5, &a);
    attr_begin(&a, "tensors", OX_ATTR_TENSORS, typed);
    enc_small_tensor(&a, 10, ONYX_DTYPE_FLOAT, 1, "t0", 4);
    enc_small_tensor(&a, 10, ONYX_DTYPE_INT64, 2, "t1", 8);
    f_msg(node, 5, &a);
    attr_begin(&a, "graphs", OX_ATTR_GRAPHS, typed);
    enc_graph_one_node(&a, 11, "g0", "Neg");
    enc_graph_one_node(&a, 11, "g1", "Abs");
    f_msg(node, 5, &a);
    attr_begin(&a, "sparses", OX_ATTR_SPARSE_TENSORS, typed);
    enc_sparse(&a, 23);
    f_msg(node, 5, &a);
    attr_begin(&a, "tps", OX_ATTR_TYPE_PROTOS, typed);
    enc_tensor_type(&t, 1, ONYX_DTYPE_FLOAT, -1, NULL, NULL);
    f_msg(&a, 15, &t);
    enc_tensor_type(&t, 1, ONYX_DTYPE_BOOL, -1, NULL, NULL);
    f_msg(&a, 15, &t);
    f_msg(node, 5, &a);
}

static inline void enc_full_model(pbuf *m) {
    memset(m, 0, sizeof *m);
    junk(m);
    f_int(m, 1, 9);
    enc_opset(m, 8, "ai.onnx", 18);
    enc_opset(m, 8, "com.x", 2);
    f_str(m, 2, "onyx-test");
    f_str(m, 3, "1.2");
    f_str(m, 4, "org.test");
    f_int(m, 5, 7);
    f_str(m, 6, "model doc");
    enc_kv(m, 14, "k1", "v1");
    enc_kv(m, 14, "k2", "v2");

    pbuf g = {0}, tp = {0}, inner = {0}, node = {0};
    junk(&g);
    f_str(&g, 2, "main");
    f_str(&g, 10, "graph doc");
    int64_t xd[3] = {2, -1, -1};
    const char *xp[3] = {NULL, "N", NULL};
    enc_tensor_type(&tp, 1, ONYX_DTYPE_FLOAT, 3, xd, xp);
    f_str(&tp, 6, "IMAGE");
    enc_value_info(&g, 11, "X", &tp);
    enc_tensor_type(&inner, 1, ONYX_DTYPE_INT64, -1, NULL, NULL); /* seq(tensor(int64)) */
    pbuf seq = {0};
    f_msg(&seq, 1, &inner);
    f_msg(&tp, 4, &seq);
    enc_value_info(&g, 11, "S", &tp);
    enc_value_info(&g, 11, "W", NULL);
    enc_tensor_type(&inner, 1, ONYX_DTYPE_FLOAT, 0, NULL, NULL); /* optional(tensor(float)[]) */
    pbuf opt = {0};
    f_msg(&opt, 1, &inner);
    f_msg(&tp, 9, &opt);
    enc_value_info(&g, 12, "Y", &tp);
    pbuf map = {0};
    f_int(&map, 1, ONYX_DTYPE_INT64);
    enc_tensor_type(&inner, 1, ONYX_DTYPE_FLOAT, -1, NULL, NULL);
    f_msg(&map, 2, &inner);
    f_msg(&tp, 5, &map);
    enc_value_info(&g, 12, "M", &tp);
    int64_t three = 3;
    enc_tensor_type(&tp, 8, ONYX_DTYPE_FLOAT, 1, &three, NULL); /* sparse_tensor_type */
    enc_value_info(&g, 13, "T", &tp);
    enc_small_tensor(&g, 5, ONYX_DTYPE_FLOAT, 4, "W", 1);
    enc_sparse(&g, 15);

    f_str(&node, 1, "X");
    f_str(&node, 1, "");
    f_str(&node, 1, "W");
    f_str(&node, 2, "Y");
    f_str(&node, 3, "n0");
    f_str(&node, 4, "Foo");
    f_str(&node, 7, "ai.onnx");
    f_str(&node, 8, "ov");
    f_str(&node, 6, "node doc");
    junk(&node);
    enc_all_attrs(&node, 1);
    pbuf a;
    attr_begin(&a, "ref", OX_ATTR_INT, 1);
    f_str(&a, 21, "outer");
    f_msg(&node, 5, &a);
    f_msg(&g, 1, &node);
    enc_all_attrs(&node, 0); /* the same attributes without `type` */
    f_str(&node, 7, "com.x");
    f_msg(&g, 1, &node);
    f_msg(m, 7, &g);

    pbuf fn = {0};
    f_str(&fn, 1, "F");
    f_str(&fn, 10, "com.x");
    f_str(&fn, 4, "a");
    f_str(&fn, 5, "b");
    f_str(&fn, 6, "alpha");
    attr_begin(&a, "beta", OX_ATTR_INT, 1);
    f_int(&a, 3, 3);
    f_msg(&fn, 11, &a);
    f_str(&node, 1, "a");
    f_str(&node, 2, "b");
    f_str(&node, 4, "Identity");
    f_msg(&fn, 7, &node);
    enc_opset(&fn, 9, "ai.onnx", 13);
    enc_value_info(&fn, 12, "a", NULL);
    f_str(&fn, 8, "function doc");
    f_str(&fn, 13, "ov2");
    junk(&fn);
    f_msg(m, 25, &fn);
}

#endif
