/* The ONNX loader: protobuf wire reader, every field of the model structures, tensor
 * encodings, external data, malformed input, and the conformance files on disk. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/pb.h"
#include "format/tensor_view.h"
#include "format/testdata.h"
#include "ir/model.h"
#include "test.h"
#include "util/alloc.h"
#include "util/status.h"

/* ---- a tiny protobuf encoder ------------------------------------------------------- */

typedef struct pbuf {
    uint8_t *p;
    size_t n, cap;
} pbuf;

static void put(pbuf *b, const void *d, size_t n) {
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
static void varint(pbuf *b, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        put(b, &c, 1);
    } while (v);
}
static void tag(pbuf *b, uint32_t num, uint32_t wire) { varint(b, (uint64_t)num << 3 | wire); }
static void f_var(pbuf *b, uint32_t num, uint64_t v) { tag(b, num, 0); varint(b, v); }
static void f_int(pbuf *b, uint32_t num, int64_t v) { f_var(b, num, (uint64_t)v); }
static void le(pbuf *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        put(b, &c, 1);
    }
}
static void f_fix32(pbuf *b, uint32_t num, uint32_t v) { tag(b, num, 5); le(b, v, 4); }
static void f_fix64(pbuf *b, uint32_t num, uint64_t v) { tag(b, num, 1); le(b, v, 8); }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t dbits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
static void f_float(pbuf *b, uint32_t num, float v) { f_fix32(b, num, fbits(v)); }
static void f_bytes(pbuf *b, uint32_t num, const void *d, size_t n) {
    tag(b, num, 2);
    varint(b, n);
    put(b, d, n);
}
static void f_str(pbuf *b, uint32_t num, const char *s) { f_bytes(b, num, s, strlen(s)); }
/* Append sub as a nested message and free it. */
static void f_msg(pbuf *b, uint32_t num, pbuf *sub) {
    f_bytes(b, num, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}
static void f_packed(pbuf *b, uint32_t num, const uint64_t *v, size_t n) {
    pbuf s = {0};
    for (size_t i = 0; i < n; i++) varint(&s, v[i]);
    f_msg(b, num, &s);
}
/* Unknown fields of every wire type, which a reader must skip. */
static void junk(pbuf *b) {
    f_var(b, 900, 12345);
    f_fix64(b, 901, 7);
    f_str(b, 902, "ignored");
    f_fix32(b, 903, 9);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- protobuf reader ---------------------------------------------------------------- */

TEST(pb_varint_roundtrip_and_limits) {
    for (int i = 0; i < 2000; i++) {
        uint64_t v = rnd() >> (rnd() % 64);
        pbuf b = {0};
        varint(&b, v);
        size_t pos = 0;
        uint64_t got = 0;
        CHECK(ox_pb_varint(b.p, &pos, b.n, &got) && got == v && pos == b.n);
        /* every truncation fails */
        for (size_t cut = 0; cut < b.n; cut++) {
            pos = 0;
            CHECK(!ox_pb_varint(b.p, &pos, cut, &got));
        }
        free(b.p);
    }
    uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    size_t pos = 0;
    uint64_t v;
    CHECK(ox_pb_varint(max, &pos, 10, &v) && v == UINT64_MAX);
    uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    pos = 0;
    CHECK(!ox_pb_varint(over, &pos, 10, &v)); /* above 64 bits */
    uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    pos = 0;
    CHECK(!ox_pb_varint(eleven, &pos, 11, &v)); /* more than 10 bytes */
    uint8_t padded[3] = {0x81, 0x80, 0x00}; /* non-minimal but valid */
    pos = 0;
    CHECK(ox_pb_varint(padded, &pos, 3, &v) && v == 1 && pos == 3);
}

TEST(pb_fields_every_wire_type) {
    pbuf b = {0};
    f_var(&b, 1, 300);
    f_fix64(&b, 2, 0x0102030405060708ull);
    f_str(&b, 3, "hello");
    f_fix32(&b, 4, 0xdeadbeef);
    f_int(&b, 5, -2); /* negative int32 travels as a 10-byte varint */
    ox_pb r;
    ox_pb_field f;
    int more;
    ox_pb_init(&r, b.p, b.n, "Test");
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(more && f.num == 1 && f.wire == OX_PB_VARINT && f.u == 300);
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(f.num == 2 && f.wire == OX_PB_I64 && f.u == 0x0102030405060708ull);
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(f.num == 3 && f.wire == OX_PB_LEN && f.len == 5 && memcmp(b.p + f.off, "hello", 5) == 0);
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(f.num == 4 && f.wire == OX_PB_I32 && f.u == 0xdeadbeef);
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    int32_t i32;
    REQUIRE_OK(ox_pb_i32(&r, &f, "x", &i32));
    CHECK(i32 == -2);
    CHECK(ox_pb_want(&r, &f, OX_PB_LEN, "x") == ONYX_ERR_PARSE);
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(!more);
    free(b.p);

    /* malformed: groups, bad wire types, field 0, lengths past the end, truncation */
    const uint8_t group[] = {0x0b, 0x0c};          /* field 1 start/end group */
    const uint8_t wire6[] = {0x0e, 0x00};          /* wire type 6 */
    const uint8_t field0[] = {0x00, 0x01};         /* field number 0 */
    const uint8_t longlen[] = {0x0a, 0x05, 'a'};   /* 5 bytes claimed, 1 present */
    const uint8_t hugelen[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    const uint8_t shortfix[] = {0x0d, 0x01, 0x02}; /* fixed32 with 2 bytes */
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{group, sizeof group},     {wire6, sizeof wire6},     {field0, sizeof field0},
               {longlen, sizeof longlen}, {hugelen, sizeof hugelen}, {shortfix, sizeof shortfix}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ox_pb_init(&r, bad[i].p, bad[i].n, "Test");
        onyx_status st = ox_pb_next(&r, &f, &more);
        CHECK(st == ONYX_ERR_PARSE);
        CHECK(strstr(ox_error_message(), "byte") != NULL);
    }
    /* a nested message cannot run past its parent even if the buffer goes on */
    const uint8_t nested[] = {0x0a, 0x02, 0x12, 0x05, 'a', 'b', 'c', 'd', 'e'};
    ox_pb_init(&r, nested, 4, "Outer");
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    ox_pb sub;
    REQUIRE_OK(ox_pb_sub(&r, &f, "Inner", &sub));
    CHECK(ox_pb_next(&sub, &f, &more) == ONYX_ERR_PARSE);
}

TEST(pb_packed_and_unpacked_repeated) {
    uint64_t vals[50];
    for (int i = 0; i < 50; i++) vals[i] = rnd() >> (rnd() % 64);
    pbuf b = {0};
    f_packed(&b, 1, vals, 20);
    for (int i = 20; i < 30; i++) f_var(&b, 1, vals[i]);
    f_packed(&b, 1, vals + 30, 20);
    f_packed(&b, 1, vals, 0); /* empty packed run */
    ox_pb r;
    ox_pb_field f;
    int more;
    size_t count = 0, k = 0;
    ox_pb_init(&r, b.p, b.n, "T");
    while (ox_pb_next(&r, &f, &more) == ONYX_OK && more) {
        REQUIRE_OK(ox_pb_rep_count(&r, &f, OX_PB_VARINT, "v", &count));
        ox_pb_iter it;
        uint64_t v;
        ox_pb_rep_begin(&r, &f, OX_PB_VARINT, &it);
        while (ox_pb_rep_next(&it, &v)) {
            CHECK(k < 50 && v == vals[k]);
            k++;
        }
    }
    CHECK(count == 50 && k == 50);
    free(b.p);
    /* packed fixed32 with a ragged length, packed varint cut short */
    const uint8_t ragged[] = {0x0a, 0x03, 1, 2, 3};
    const uint8_t cut[] = {0x0a, 0x02, 0x01, 0x80};
    ox_pb_init(&r, ragged, sizeof ragged, "T");
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    count = 0;
    CHECK(ox_pb_rep_count(&r, &f, OX_PB_I32, "v", &count) == ONYX_ERR_PARSE);
    ox_pb_init(&r, cut, sizeof cut, "T");
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(ox_pb_rep_count(&r, &f, OX_PB_VARINT, "v", &count) == ONYX_ERR_PARSE);
    /* wrong element wire type */
    pbuf c = {0};
    f_fix64(&c, 1, 5);
    ox_pb_init(&r, c.p, c.n, "T");
    REQUIRE_OK(ox_pb_next(&r, &f, &more));
    CHECK(ox_pb_rep_count(&r, &f, OX_PB_VARINT, "v", &count) == ONYX_ERR_PARSE);
    free(c.p);
}

/* ---- tensors ------------------------------------------------------------------------ */

/* One tensor's elements in three forms: the ox_tensor layout the decoder must produce,
 * the values of the typed *_data field onnx.proto assigns to the dtype, and raw_data. */
typedef struct tcase {
    int32_t dtype;
    size_t count;
    pbuf expect;  /* ox_tensor layout (non-STRING) */
    pbuf raw;     /* raw_data bytes */
    uint64_t *typed;
    size_t n_typed;
    uint32_t field, wire;
    pbuf strs;    /* STRING: the strings, back to back */
    size_t *slen;
} tcase;

static void add_typed(tcase *c, uint64_t v) { c->typed[c->n_typed++] = v; }

static void make_case(tcase *c, int32_t dtype, size_t count) {
    memset(c, 0, sizeof *c);
    c->dtype = dtype;
    c->count = count;
    c->typed = calloc(2 * count + 2, sizeof(uint64_t));
    c->slen = calloc(count + 1, sizeof(size_t));
    c->field = 5;
    c->wire = 0;
    int nib = dtype == ONYX_DTYPE_UINT4 || dtype == ONYX_DTYPE_INT4 || dtype == ONYX_DTYPE_FLOAT4E2M1;
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
                uint8_t v = (uint8_t)(r % 16);
                uint8_t x = dtype == ONYX_DTYPE_INT4 && v >= 8 ? (uint8_t)(int8_t)(v - 16) : v;
                put(&c->expect, &x, 1);
                if (i % 2 == 0) {
                    pending = v;
                } else {
                    uint8_t byte = (uint8_t)(pending | v << 4);
                    le(&c->raw, byte, 1);
                    add_typed(c, byte);
                }
            } else { /* UINT8, FLOAT8* */
                uint8_t x = (uint8_t)r;
                put(&c->expect, &x, 1);
                le(&c->raw, x, 1);
                add_typed(c, x);
            }
        }
    }
    if (nib && count % 2) {
        le(&c->raw, pending, 1);
        add_typed(c, pending);
    }
}

static void free_case(tcase *c) {
    free(c->expect.p);
    free(c->raw.p);
    free(c->typed);
    free(c->strs.p);
    free(c->slen);
}

enum { ENC_RAW, ENC_PACKED, ENC_UNPACKED, ENC_SPLIT };

/* TensorProto fields in a scrambled order, with unknown fields mixed in. */
static void enc_tensor(pbuf *b, const tcase *c, int enc, int32_t rank, const int64_t *dims,
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
            if (c->wire == 0) f_var(b, c->field, c->typed[i]);
            else if (c->wire == 5) f_fix32(b, c->field, (uint32_t)c->typed[i]);
            else f_fix64(b, c->field, c->typed[i]);
        }
    }
    f_int(b, 2, c->dtype); /* data_type after the data: field order must not matter */
}

static int same_data(const tcase *c, const ox_tensor *t) {
    if (c->dtype != ONYX_DTYPE_STRING)
        return c->expect.n == 0 || memcmp(t->data, c->expect.p, c->expect.n) == 0;
    const ox_string *s = t->data;
    size_t off = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (s[i].len != c->slen[i] || (c->slen[i] && memcmp(s[i].data, c->strs.p + off, c->slen[i])))
            return 0;
        off += c->slen[i];
    }
    return 1;
}

static const int32_t kAllTypes[] = {
    ONYX_DTYPE_FLOAT,   ONYX_DTYPE_UINT8,         ONYX_DTYPE_INT8,           ONYX_DTYPE_UINT16,
    ONYX_DTYPE_INT16,   ONYX_DTYPE_INT32,         ONYX_DTYPE_INT64,          ONYX_DTYPE_STRING,
    ONYX_DTYPE_BOOL,    ONYX_DTYPE_FLOAT16,       ONYX_DTYPE_DOUBLE,         ONYX_DTYPE_UINT32,
    ONYX_DTYPE_UINT64,  ONYX_DTYPE_COMPLEX64,     ONYX_DTYPE_COMPLEX128,     ONYX_DTYPE_BFLOAT16,
    ONYX_DTYPE_FLOAT8E4M3FN, ONYX_DTYPE_FLOAT8E4M3FNUZ, ONYX_DTYPE_FLOAT8E5M2, ONYX_DTYPE_FLOAT8E5M2FNUZ,
    ONYX_DTYPE_UINT4,   ONYX_DTYPE_INT4,          ONYX_DTYPE_FLOAT4E2M1};

TEST(decode_tensor_every_dtype_and_encoding) {
    for (size_t ti = 0; ti < sizeof kAllTypes / sizeof kAllTypes[0]; ti++) {
        int32_t dtype = kAllTypes[ti];
        for (int trial = 0; trial < 12; trial++) {
            int32_t rank = (int32_t)(rnd() % 5);
            int64_t dims[OX_MAX_RANK];
            size_t count = 1;
            for (int32_t i = 0; i < rank; i++) {
                dims[i] = (int64_t)(rnd() % (trial == 0 ? 2 : 5)); /* trial 0: often empty */
                count *= (size_t)dims[i];
            }
            tcase c;
            make_case(&c, dtype, count);
            for (int enc = ENC_RAW; enc <= ENC_SPLIT; enc++) {
                if (dtype == ONYX_DTYPE_STRING && enc != ENC_UNPACKED) continue;
                pbuf b = {0};
                enc_tensor(&b, &c, enc, rank, dims, trial % 2 ? "tname" : NULL);
                ox_tensor t;
                char *name = NULL;
                onyx_status st = ox_decode_tensor_file(b.p, b.n, &t, &name);
                if (st != ONYX_OK) {
                    fprintf(stderr, "  %s enc %d count %zu: %s\n", ox_dtype_name(dtype), enc, count,
                            onyx_last_error());
                    CHECK(0);
                } else {
                    CHECK(t.dtype == dtype && t.rank == rank);
                    for (int32_t i = 0; i < rank; i++) CHECK(t.dims[i] == dims[i]);
                    CHECK(t.data != NULL);
                    CHECK(same_data(&c, &t));
                    CHECK(strcmp(name, trial % 2 ? "tname" : "") == 0);
                    ox_tensor_free_data(&t);
                    ox_free(name);
                }
                free(b.p);
            }
            free_case(&c);
        }
    }
}

static onyx_status decode_bytes(const pbuf *b) {
    ox_tensor t;
    onyx_status st = ox_decode_tensor_file(b->p, b->n, &t, NULL);
    if (st == ONYX_OK) ox_tensor_free_data(&t);
    return st;
}

TEST(decode_tensor_rejects_inconsistent_data) {
    int64_t dims[2] = {2, 3};
    tcase c;
    make_case(&c, ONYX_DTYPE_FLOAT, 6);
    pbuf b = {0};
    /* raw_data one byte short / long */
    for (int d = -1; d <= 1; d += 2) {
        f_int(&b, 1, 2);
        f_int(&b, 1, 3);
        f_int(&b, 2, ONYX_DTYPE_FLOAT);
        f_bytes(&b, 9, c.raw.p, c.raw.n + (size_t)d);
        CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
        b.n = 0;
    }
    /* typed count off by one */
    f_int(&b, 1, 7);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    for (int i = 0; i < 6; i++) f_float(&b, 4, 1.0f);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* typed field that does not belong to the dtype */
    f_int(&b, 1, 1);
    f_int(&b, 2, ONYX_DTYPE_INT64);
    f_float(&b, 4, 1.0f);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* raw_data and a typed field both */
    f_int(&b, 1, 1);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    f_float(&b, 4, 1.0f);
    f_bytes(&b, 9, "abcd", 4);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* elements but no data */
    f_int(&b, 1, 2);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* STRING in raw_data */
    f_int(&b, 2, ONYX_DTYPE_STRING);
    f_bytes(&b, 9, "ab", 2);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* rank above the limit */
    for (int i = 0; i < OX_MAX_RANK + 1; i++) f_int(&b, 1, 1);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    f_bytes(&b, 9, "abcd", 4);
    CHECK(decode_bytes(&b) == ONYX_ERR_LIMIT);
    b.n = 0;
    /* negative dim */
    f_int(&b, 1, -1);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* element count overflow */
    for (int i = 0; i < 4; i++) f_int(&b, 1, (int64_t)1 << 40);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    CHECK(decode_bytes(&b) == ONYX_ERR_LIMIT);
    b.n = 0;
    /* data types: missing, unknown, outside onyx */
    f_bytes(&b, 9, "", 0);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    f_int(&b, 2, 99);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    f_int(&b, 2, 26); /* INT2 */
    CHECK(decode_bytes(&b) == ONYX_ERR_UNSUPPORTED);
    b.n = 0;
    /* segments are refused, not silently misread */
    pbuf seg = {0};
    f_int(&seg, 1, 0);
    f_int(&seg, 2, 1);
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    f_msg(&b, 3, &seg);
    CHECK(decode_bytes(&b) == ONYX_ERR_UNSUPPORTED);
    b.n = 0;
    /* external data in a standalone file */
    pbuf kv = {0};
    f_str(&kv, 1, "location");
    f_str(&kv, 2, "w.bin");
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    f_msg(&b, 13, &kv);
    f_int(&b, 14, 1);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    b.n = 0;
    /* a valid scalar still decodes after all that */
    f_int(&b, 2, ONYX_DTYPE_FLOAT);
    f_float(&b, 4, 2.5f);
    ox_tensor t;
    REQUIRE_OK(ox_decode_tensor_file(b.p, b.n, &t, NULL));
    CHECK(t.rank == 0 && *(float *)t.data == 2.5f);
    ox_tensor_free_data(&t);
    free(b.p);
    free_case(&c);
    (void)dims;
}

/* ---- whole models ------------------------------------------------------------------- */

static void enc_kv(pbuf *b, uint32_t num, const char *k, const char *v) {
    pbuf s = {0};
    f_str(&s, 1, k);
    f_str(&s, 2, v);
    f_msg(b, num, &s);
}

static void enc_opset(pbuf *b, uint32_t num, const char *domain, int64_t v) {
    pbuf s = {0};
    if (domain) f_str(&s, 1, domain);
    f_int(&s, 2, v);
    junk(&s);
    f_msg(b, num, &s);
}

/* TypeProto.Tensor with elem type and dims (value >= 0, or a param name, or neither). */
static void enc_tensor_type(pbuf *tp, uint32_t num, int32_t elem, int rank, const int64_t *vals,
                            const char *const *params) {
    pbuf t = {0}, shape = {0};
    f_int(&t, 1, elem);
    if (rank >= 0) {
        for (int i = 0; i < rank; i++) {
            pbuf d = {0};
            if (params && params[i]) f_str(&d, 2, params[i]);
            else if (vals[i] >= 0) f_int(&d, 1, vals[i]);
            f_msg(&shape, 1, &d);
        }
        f_msg(&t, 2, &shape);
    }
    f_msg(tp, num, &t);
}

static void enc_value_info(pbuf *b, uint32_t num, const char *name, pbuf *type) {
    pbuf v = {0};
    f_str(&v, 1, name);
    if (type) f_msg(&v, 2, type);
    f_str(&v, 3, "vi doc");
    f_msg(b, num, &v);
}

static void enc_small_tensor(pbuf *b, uint32_t num, int32_t dtype, int64_t n, const char *name,
                             int64_t base) {
    pbuf t = {0};
    f_int(&t, 1, n);
    f_int(&t, 2, dtype);
    if (name) f_str(&t, 8, name);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == ONYX_DTYPE_FLOAT) f_float(&t, 4, (float)(base + i));
        else if (dtype == ONYX_DTYPE_INT64) f_int(&t, 7, base + i);
        else f_int(&t, 5, base + i);
    }
    f_msg(b, num, &t);
}

static void enc_graph_one_node(pbuf *b, uint32_t num, const char *gname, const char *op) {
    pbuf g = {0}, n = {0};
    f_str(&n, 1, "a");
    f_str(&n, 2, "b");
    f_str(&n, 4, op);
    f_msg(&g, 1, &n);
    f_str(&g, 2, gname);
    f_msg(b, num, &g);
}

static void enc_sparse(pbuf *b, uint32_t num) {
    pbuf s = {0};
    enc_small_tensor(&s, 1, ONYX_DTYPE_FLOAT, 2, "sv", 10);
    enc_small_tensor(&s, 2, ONYX_DTYPE_INT64, 2, "si", 1);
    f_int(&s, 3, 3);
    f_int(&s, 3, 3);
    f_msg(b, num, &s);
}

/* An attribute; `typed` = write the type field (else the reader must infer it). */
static void attr_begin(pbuf *a, const char *name, int type, int typed) {
    memset(a, 0, sizeof *a);
    f_str(a, 1, name);
    if (typed) f_int(a, 20, type);
    junk(a);
}

static void enc_all_attrs(pbuf *node, int typed) {
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
    f_msg(&a, 7, &pk);         /* packed ... */
    f_float(&a, 7, 3.25f);     /* ... then unpacked */
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

static void check_all_attrs(const ox_node *n) {
    const ox_attr *a;
    REQUIRE((a = ox_node_attr(n, "f")) && a->type == OX_ATTR_FLOAT && a->f == 1.5f);
    REQUIRE((a = ox_node_attr(n, "i")) && a->type == OX_ATTR_INT && a->i == -7);
    REQUIRE((a = ox_node_attr(n, "s")) && a->type == OX_ATTR_STRING && a->s.len == 3);
    CHECK(memcmp(a->s.data, "a\0b", 4) == 0 && strcmp(a->doc, "attr doc") == 0);
    REQUIRE((a = ox_node_attr(n, "t")) && a->type == OX_ATTR_TENSOR && a->t);
    CHECK(a->t->dtype == ONYX_DTYPE_INT32 && a->t->rank == 1 && a->t->dims[0] == 3);
    CHECK(((const int32_t *)a->t->data)[0] == -1 && ((const int32_t *)a->t->data)[2] == 1);
    CHECK(strcmp(a->t->name, "tt") == 0 && a->t->nbytes == 12);
    REQUIRE((a = ox_node_attr(n, "g")) && a->type == OX_ATTR_GRAPH && a->g);
    CHECK(strcmp(a->g->name, "sub") == 0 && a->g->n_nodes == 1);
    CHECK(strcmp(a->g->nodes[0].op_type, "Identity") == 0 && a->g->nodes[0].n_inputs == 1);
    REQUIRE((a = ox_node_attr(n, "sp")) && a->type == OX_ATTR_SPARSE_TENSOR && a->sparse);
    CHECK(a->sparse->rank == 2 && a->sparse->dims[1] == 3 && a->sparse->values.dims[0] == 2);
    CHECK(((const float *)a->sparse->values.data)[1] == 11.0f);
    CHECK(((const int64_t *)a->sparse->indices.data)[1] == 2);
    REQUIRE((a = ox_node_attr(n, "tp")) && a->type == OX_ATTR_TYPE_PROTO && a->tp);
    CHECK(a->tp->kind == OX_TYPE_TENSOR && a->tp->elem_type == ONYX_DTYPE_INT8 && !a->tp->has_shape);
    REQUIRE((a = ox_node_attr(n, "floats")) && a->type == OX_ATTR_FLOATS && a->n == 3);
    CHECK(a->floats[0] == 1.0f && a->floats[1] == -2.0f && a->floats[2] == 3.25f);
    REQUIRE((a = ox_node_attr(n, "ints")) && a->type == OX_ATTR_INTS && a->n == 3);
    CHECK(a->ints[0] == -1 && a->ints[1] == 5 && a->ints[2] == (int64_t)1 << 40);
    REQUIRE((a = ox_node_attr(n, "strings")) && a->type == OX_ATTR_STRINGS && a->n == 3);
    CHECK(strcmp(a->strings[0].data, "x") == 0 && a->strings[1].len == 0 &&
          a->strings[2].len == 2);
    REQUIRE((a = ox_node_attr(n, "tensors")) && a->type == OX_ATTR_TENSORS && a->n == 2);
    CHECK(((const float *)a->tensors[0].data)[0] == 4.0f);
    CHECK(((const int64_t *)a->tensors[1].data)[1] == 9 && strcmp(a->tensors[1].name, "t1") == 0);
    REQUIRE((a = ox_node_attr(n, "graphs")) && a->type == OX_ATTR_GRAPHS && a->n == 2);
    CHECK(strcmp(a->graphs[1]->name, "g1") == 0 && strcmp(a->graphs[1]->nodes[0].op_type, "Abs") == 0);
    REQUIRE((a = ox_node_attr(n, "sparses")) && a->type == OX_ATTR_SPARSE_TENSORS && a->n == 1);
    CHECK(a->sparse_tensors[0].indices.dims[0] == 2);
    REQUIRE((a = ox_node_attr(n, "tps")) && a->type == OX_ATTR_TYPE_PROTOS && a->n == 2);
    CHECK(a->type_protos[1]->elem_type == ONYX_DTYPE_BOOL);
    for (size_t i = 0; i < n->n_attrs; i++)
        CHECK(n->attrs[i].ref_attr_name == NULL || strcmp(n->attrs[i].name, "ref") == 0);
}

/* A model using every field onyx reads, unknown fields at every level. */
static void enc_full_model(pbuf *m) {
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

static void check_full_model(const ox_model *m) {
    CHECK(m->ir_version == 9 && m->model_version == 7);
    REQUIRE(m->n_opsets == 2);
    CHECK(strcmp(m->opsets[0].domain, "") == 0 && m->opsets[0].version == 18);
    CHECK(strcmp(m->opsets[1].domain, "com.x") == 0 && m->opsets[1].version == 2);
    CHECK(ox_model_opset_version(m, "") == 18 && ox_model_opset_version(m, "com.x") == 2);
    CHECK(strcmp(m->producer_name, "onyx-test") == 0 && strcmp(m->producer_version, "1.2") == 0);
    CHECK(strcmp(m->domain, "org.test") == 0 && strcmp(m->doc, "model doc") == 0);
    REQUIRE(m->n_metadata == 2);
    CHECK(strcmp(m->metadata[1].key, "k2") == 0 && strcmp(m->metadata[1].value, "v2") == 0);
    const ox_graph *g = m->graph;
    REQUIRE(g);
    CHECK(strcmp(g->name, "main") == 0 && strcmp(g->doc, "graph doc") == 0);
    REQUIRE(g->n_inputs == 3 && g->n_outputs == 2 && g->n_value_info == 1);
    const ox_type *x = g->inputs[0].type;
    REQUIRE(x && x->kind == OX_TYPE_TENSOR && x->elem_type == ONYX_DTYPE_FLOAT && x->has_shape);
    REQUIRE(x->rank == 3);
    CHECK(x->dims[0].has_value && x->dims[0].value == 2 && !x->dims[0].param);
    CHECK(!x->dims[1].has_value && strcmp(x->dims[1].param, "N") == 0);
    CHECK(!x->dims[2].has_value && !x->dims[2].param);
    CHECK(strcmp(x->denotation, "IMAGE") == 0 && strcmp(g->inputs[0].doc, "vi doc") == 0);
    const ox_type *s = g->inputs[1].type;
    REQUIRE(s && s->kind == OX_TYPE_SEQUENCE && s->elem);
    CHECK(s->elem->kind == OX_TYPE_TENSOR && s->elem->elem_type == ONYX_DTYPE_INT64);
    CHECK(g->inputs[2].type == NULL && strcmp(g->inputs[2].name, "W") == 0);
    const ox_type *y = g->outputs[0].type;
    REQUIRE(y && y->kind == OX_TYPE_OPTIONAL && y->elem);
    CHECK(y->elem->has_shape && y->elem->rank == 0);
    const ox_type *mp = g->outputs[1].type;
    REQUIRE(mp && mp->kind == OX_TYPE_MAP && mp->elem_type == ONYX_DTYPE_INT64 && mp->elem);
    CHECK(mp->elem->elem_type == ONYX_DTYPE_FLOAT);
    const ox_type *sp = g->value_info[0].type;
    REQUIRE(sp && sp->kind == OX_TYPE_SPARSE_TENSOR && sp->rank == 1 && sp->dims[0].value == 3);
    REQUIRE(g->n_initializers == 1 && g->n_sparse_initializers == 1);
    const ox_tensor_proto *w = &g->initializers[0];
    CHECK(strcmp(w->name, "W") == 0 && w->dtype == ONYX_DTYPE_FLOAT && w->nbytes == 16);
    CHECK(((const float *)w->data)[3] == 4.0f && !w->external);
    ox_tensor view;
    ox_tensor_from_proto(w, &view);
    CHECK(view.rank == 1 && view.dims[0] == 4 && view.data == w->data && ox_tensor_nbytes(&view) == 16);
    CHECK(g->sparse_initializers[0].dims[0] == 3);
    REQUIRE(g->n_nodes == 2);
    const ox_node *n = &g->nodes[0];
    REQUIRE(n->n_inputs == 3 && n->n_outputs == 1);
    CHECK(strcmp(n->inputs[0], "X") == 0 && strcmp(n->inputs[1], "") == 0);
    CHECK(strcmp(n->outputs[0], "Y") == 0 && strcmp(n->name, "n0") == 0);
    CHECK(strcmp(n->op_type, "Foo") == 0 && strcmp(n->domain, "") == 0);
    CHECK(strcmp(n->overload, "ov") == 0 && strcmp(n->doc, "node doc") == 0);
    check_all_attrs(n);
    const ox_attr *ref = ox_node_attr(n, "ref");
    REQUIRE(ref && ref->ref_attr_name && strcmp(ref->ref_attr_name, "outer") == 0);
    const ox_node *n1 = &g->nodes[1];
    CHECK(strcmp(n1->name, "") == 0 && strcmp(n1->op_type, "") == 0 && strcmp(n1->domain, "com.x") == 0);
    CHECK(n1->n_inputs == 0 && n1->inputs == NULL && n1->overload && n1->doc);
    check_all_attrs(n1);
    REQUIRE(m->n_functions == 1);
    const ox_function *f = ox_model_function(m, "com.x", "F");
    REQUIRE(f);
    CHECK(f->n_inputs == 1 && f->n_outputs == 1 && strcmp(f->outputs[0], "b") == 0);
    CHECK(f->n_attributes == 1 && strcmp(f->attributes[0], "alpha") == 0);
    REQUIRE(f->n_attribute_protos == 1);
    CHECK(f->attribute_protos[0].i == 3);
    REQUIRE(f->n_nodes == 1);
    CHECK(strcmp(f->nodes[0].op_type, "Identity") == 0);
    REQUIRE(f->n_opsets == 1);
    CHECK(strcmp(f->opsets[0].domain, "") == 0 && f->opsets[0].version == 13);
    CHECK(f->n_value_info == 1 && strcmp(f->doc, "function doc") == 0 && strcmp(f->overload, "ov2") == 0);
}

TEST(decode_model_every_field) {
    pbuf b;
    enc_full_model(&b);
    onyx_model *om = NULL;
    REQUIRE_OK(onyx_model_load_buffer(b.p, b.n, &om));
    check_full_model(&om->m);
    CHECK(onyx_model_ir_version(om) == 9);
    CHECK(strcmp(onyx_model_producer(om), "onyx-test") == 0);
    CHECK(onyx_model_opset(om, "") == 18 && onyx_model_opset(om, "ai.onnx") == 18);
    CHECK(onyx_model_opset(om, NULL) == 18 && onyx_model_opset(om, "com.x") == 2);
    CHECK(onyx_model_opset(om, "com.none") == 0);
    onyx_model_free(om);
    free(b.p);
}

TEST(decode_model_nesting_limit) {
    for (int levels = 5; levels <= 40; levels += 35) {
        pbuf g = {0};
        f_str(&g, 2, "innermost");
        for (int i = 0; i < levels; i++) {
            pbuf a = {0}, n = {0}, outer = {0};
            f_str(&a, 1, "body");
            f_int(&a, 20, OX_ATTR_GRAPH);
            f_msg(&a, 6, &g);
            f_str(&n, 4, "Loop");
            f_msg(&n, 5, &a);
            f_msg(&outer, 1, &n);
            g = outer;
        }
        pbuf m = {0};
        f_msg(&m, 7, &g);
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_buffer(m.p, m.n, &om);
        if (levels == 5) {
            CHECK(st == ONYX_OK);
            const ox_graph *gg = om ? om->m.graph : NULL;
            for (int i = 0; gg && i < levels; i++) gg = gg->nodes[0].attrs[0].g;
            CHECK(gg && strcmp(gg->name, "innermost") == 0);
        } else {
            CHECK(st == ONYX_ERR_LIMIT);
        }
        onyx_model_free(om);
        free(m.p);
    }
}

static size_t find_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return i;
    return (size_t)-1;
}

TEST(decode_raw_data_zero_copy_when_aligned) {
    const int32_t types[] = {ONYX_DTYPE_FLOAT, ONYX_DTYPE_INT64, ONYX_DTYPE_UINT8,
                             ONYX_DTYPE_COMPLEX128, ONYX_DTYPE_INT4, ONYX_DTYPE_FLOAT16};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        tcase c;
        int64_t dims[1] = {9};
        make_case(&c, types[ti], 9);
        pbuf m = {0}, g = {0}, t = {0};
        enc_tensor(&t, &c, ENC_RAW, 1, dims, "w");
        f_msg(&g, 5, &t);
        f_msg(&m, 7, &g);
        size_t off = find_bytes(m.p, m.n, c.raw.p, c.raw.n);
        REQUIRE(off != (size_t)-1);
        uint8_t *buf = ox_malloc_aligned(m.n + 16);
        int copies = 0, views = 0;
        for (size_t shift = 0; shift < 16; shift++) {
            memset(buf, 0, m.n + 16);
            memcpy(buf + shift, m.p, m.n);
            onyx_model *om = NULL;
            REQUIRE_OK(onyx_model_load_buffer(buf + shift, m.n, &om));
            const ox_tensor_proto *w = &om->m.graph->initializers[0];
            const uint8_t *at = buf + shift + off;
            size_t es = ox_dtype_size(types[ti]);
            size_t align = es > 8 ? 8 : es;
            int is_4bit = types[ti] == ONYX_DTYPE_INT4;
            if (!is_4bit && (uintptr_t)at % align == 0) {
                CHECK(w->data == at);
                views++;
            } else {
                CHECK((const uint8_t *)w->data < buf || (const uint8_t *)w->data >= buf + m.n + 16);
                copies++;
            }
            CHECK(w->nbytes == c.expect.n && memcmp(w->data, c.expect.p, c.expect.n) == 0);
            onyx_model_free(om);
        }
        CHECK(copies > 0 || ox_dtype_size(types[ti]) == 1);
        CHECK(views > 0 || types[ti] == ONYX_DTYPE_INT4);
        ox_free_aligned(buf);
        free(m.p);
        free_case(&c);
    }
}

/* ---- external data ------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

/* An initializer of `count` floats (or int64) whose data lives in an external file. */
static void enc_ext_init(pbuf *g, const char *name, int32_t dtype, int64_t count, const char *loc,
                         const char *off, const char *len) {
    pbuf t = {0};
    f_str(&t, 8, name);
    f_int(&t, 1, count);
    f_int(&t, 2, dtype);
    if (loc) enc_kv(&t, 13, "location", loc);
    if (off) enc_kv(&t, 13, "offset", off);
    if (len) enc_kv(&t, 13, "length", len);
    enc_kv(&t, 13, "checksum", "ignored");
    f_int(&t, 14, 1);
    f_msg(g, 5, &t);
}

static void write_model(const char *dir, const char *name, pbuf *g) {
    pbuf m = {0};
    f_int(&m, 1, 8);
    f_msg(&m, 7, g);
    write_file(dir, name, m.p, m.n);
    free(m.p);
}

static char tmpdir[256];
static float ext_w[1024];
static int64_t ext_v[2] = {-5, (int64_t)1 << 50};

static void make_ext_dir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/onyx-decode-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    for (int i = 0; i < 1024; i++) ext_w[i] = (float)i * 0.5f - 7.0f;
    write_file(tmpdir, "w.bin", ext_w, sizeof ext_w);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    mkdir(sub, 0700);
    write_file(tmpdir, "sub/v.bin", ext_v, sizeof ext_v);
    write_file(tmpdir, "empty.onnx", "", 0);
}

static void remove_ext_dir(void) {
    const char *files[] = {"w.bin", "sub/v.bin", "empty.onnx", "good.onnx", "bad.onnx"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
}

static onyx_status load_in_tmp(const char *name, onyx_model **om) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    *om = NULL;
    return onyx_model_load_file(path, om);
}

static void enc_good_ext_graph(pbuf *g) {
    memset(g, 0, sizeof *g);
    enc_ext_init(g, "A", ONYX_DTYPE_FLOAT, 4, "w.bin", "0", "16");
    enc_ext_init(g, "B", ONYX_DTYPE_FLOAT, 2, "./w.bin", "4088", "8");
    enc_ext_init(g, "C", ONYX_DTYPE_INT64, 2, "sub/v.bin", NULL, NULL);
    enc_ext_init(g, "D", ONYX_DTYPE_FLOAT, 1, "w.bin", "6", "4"); /* unaligned: copied */
    enc_ext_init(g, "E", ONYX_DTYPE_FLOAT, 0, "w.bin", "4096", "0");
}

TEST(decode_external_data) {
    make_ext_dir();
    pbuf g;
    enc_good_ext_graph(&g);
    write_model(tmpdir, "good.onnx", &g);
    onyx_model *om;
    onyx_status st = load_in_tmp("good.onnx", &om);
    CHECK(st == ONYX_OK);
    if (st == ONYX_OK) {
        const ox_graph *gr = om->m.graph;
        const float *a = gr->initializers[0].data, *b = gr->initializers[1].data;
        CHECK(gr->initializers[0].external && gr->initializers[0].n_external_data == 4);
        CHECK(a[0] == ext_w[0] && a[3] == ext_w[3]);
        CHECK(b[0] == ext_w[1022] && b[1] == ext_w[1023]);
        const int64_t *cv = gr->initializers[2].data;
        CHECK(cv[0] == ext_v[0] && cv[1] == ext_v[1]);
        float d;
        memcpy(&d, (const uint8_t *)ext_w + 6, 4);
        CHECK(memcmp(gr->initializers[3].data, &d, 4) == 0);
        CHECK(gr->initializers[4].nbytes == 0 && gr->initializers[4].data == NULL);
        CHECK(om->m.n_ext_maps == 3); /* one map per location: w.bin, ./w.bin, sub/v.bin */
        onyx_model_free(om);
    } else {
        fprintf(stderr, "  %s\n", onyx_last_error());
    }
    /* the same model from a buffer cannot reach its files */
    pbuf m = {0};
    enc_good_ext_graph(&g);
    f_msg(&m, 7, &g);
    om = NULL;
    CHECK(onyx_model_load_buffer(m.p, m.n, &om) == ONYX_ERR_INVALID_MODEL && om == NULL);
    free(m.p);

    char abs_loc[400];
    snprintf(abs_loc, sizeof abs_loc, "%s/w.bin", tmpdir);
    const struct {
        const char *loc, *off, *len;
        onyx_status want;
    } bad[] = {
        {"../w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {abs_loc, NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub/../../w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub/..", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"sub\\..\\..\\w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {"", NULL, NULL, ONYX_ERR_INVALID_MODEL},
        {NULL, NULL, "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "4097", NULL, ONYX_ERR_INVALID_MODEL},      /* offset past the end */
        {"w.bin", "4090", "16", ONYX_ERR_INVALID_MODEL},      /* range past the end */
        {"w.bin", "18446744073709551615", "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "0", "12", ONYX_ERR_INVALID_MODEL},         /* length != tensor size */
        {"w.bin", NULL, NULL, ONYX_ERR_INVALID_MODEL},        /* whole file != tensor size */
        {"w.bin", "-1", "16", ONYX_ERR_INVALID_MODEL},
        {"w.bin", "1x", "16", ONYX_ERR_INVALID_MODEL},
        {"missing.bin", NULL, "16", ONYX_ERR_IO},
        {"sub", NULL, "16", ONYX_ERR_IO},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pbuf gb = {0};
        enc_ext_init(&gb, "A", ONYX_DTYPE_FLOAT, 4, "w.bin", "0", "16"); /* fine */
        enc_ext_init(&gb, "X", ONYX_DTYPE_FLOAT, 4, bad[i].loc, bad[i].off, bad[i].len);
        write_model(tmpdir, "bad.onnx", &gb);
        st = load_in_tmp("bad.onnx", &om);
        if (st != bad[i].want)
            fprintf(stderr, "  case %zu (%s): got %d: %s\n", i, bad[i].loc ? bad[i].loc : "-",
                    (int)st, onyx_last_error());
        CHECK(st == bad[i].want && om == NULL);
        CHECK(strstr(onyx_last_error(), "'X'") != NULL || bad[i].want == ONYX_ERR_IO);
    }
    remove_ext_dir();
}

TEST(model_api_files_and_arguments) {
    make_ext_dir();
    onyx_model *om = NULL;
    CHECK(load_in_tmp("empty.onnx", &om) == ONYX_ERR_PARSE && om == NULL);
    CHECK(strlen(onyx_last_error()) > 0);
    CHECK(load_in_tmp("nothere.onnx", &om) == ONYX_ERR_IO && om == NULL);
    CHECK(load_in_tmp("sub", &om) == ONYX_ERR_IO && om == NULL);
    CHECK(onyx_model_load_file(NULL, &om) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(onyx_model_load_buffer(NULL, 4, &om) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(onyx_model_load_buffer("x", 0, &om) != ONYX_OK);
    CHECK(onyx_model_load_buffer("\x08\x07", 2, NULL) == ONYX_ERR_INVALID_ARGUMENT);
    /* a model without a graph loads; metadata defaults */
    REQUIRE_OK(onyx_model_load_buffer("\x08\x07", 2, &om));
    CHECK(strcmp(onyx_last_error(), "") == 0);
    CHECK(onyx_model_ir_version(om) == 7 && strcmp(onyx_model_producer(om), "") == 0);
    CHECK(om->m.graph == NULL && om->m.dir == NULL && onyx_model_opset(om, "") == 0);
    onyx_model_free(om);
    onyx_model_free(NULL);
    CHECK(onyx_model_ir_version(NULL) == 0 && onyx_model_opset(NULL, "") == 0);
    /* m->dir is the file's folder */
    pbuf g = {0};
    f_str(&g, 2, "g");
    write_model(tmpdir, "good.onnx", &g);
    REQUIRE_OK(load_in_tmp("good.onnx", &om));
    CHECK(om->m.dir && strcmp(om->m.dir, tmpdir) == 0);
    onyx_model_free(om);
    remove_ext_dir();
}

/* ---- malformed input ----------------------------------------------------------------- */

TEST(decode_truncated_and_corrupted_models) {
    pbuf b;
    enc_full_model(&b);
    size_t ok = 0, failed = 0;
    uint8_t *copy = malloc(b.n);
    /* Every prefix: an exact-size heap copy so ASan sees any read past the end. */
    for (size_t cut = 1; cut < b.n; cut++) {
        uint8_t *p = malloc(cut);
        memcpy(p, b.p, cut);
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_buffer(p, cut, &om);
        if (st == ONYX_OK) {
            ok++;
            onyx_model_free(om);
        } else {
            failed++;
            CHECK(om == NULL && strlen(onyx_last_error()) > 0);
        }
        free(p);
    }
    CHECK(failed > b.n / 2);
    /* every byte replaced by a few values */
    const uint8_t subst[] = {0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12};
    for (size_t i = 0; i < b.n; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(copy, b.p, b.n);
            copy[i] = subst[k];
            onyx_model *om = NULL;
            if (onyx_model_load_buffer(copy, b.n, &om) == ONYX_OK) onyx_model_free(om);
        }
    }
    /* random bytes, and random bytes behind a valid prefix */
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 1 + rnd() % 300;
        uint8_t *p = malloc(n);
        size_t keep = iter % 2 ? rnd() % (n < b.n ? n : b.n) : 0;
        memcpy(p, b.p, keep);
        for (size_t i = keep; i < n; i++) p[i] = (uint8_t)rnd();
        onyx_model *om = NULL;
        if (onyx_model_load_buffer(p, n, &om) == ONYX_OK) onyx_model_free(om);
        ox_tensor t;
        if (ox_decode_tensor_file(p, n, &t, NULL) == ONYX_OK) ox_tensor_free_data(&t);
        for (int kind = OX_TESTDATA_TENSOR; kind <= OX_TESTDATA_OPTIONAL; kind++) {
            ox_testdata v;
            if (ox_testdata_decode(p, n, kind, &v) == ONYX_OK) ox_testdata_free(&v);
        }
        free(p);
    }
    free(copy);
    free(b.p);
    (void)ok;
}

/* ---- allocation failures --------------------------------------------------------------- */

static long fail_after, live_allocs;
static void *fa_alloc(size_t n, void *u) {
    (void)u;
    if (fail_after-- <= 0) return NULL;
    void *p = malloc(n);
    if (p) live_allocs++;
    return p;
}
static void *fa_realloc(void *p, size_t n, void *u) {
    (void)u;
    if (fail_after-- <= 0) return NULL;
    void *q = realloc(p, n);
    if (q && !p) live_allocs++;
    return q;
}
static void fa_free(void *p, void *u) {
    (void)u;
    live_allocs--;
    free(p);
}

TEST(decode_out_of_memory_leaks_nothing) {
    make_ext_dir();
    pbuf g;
    enc_good_ext_graph(&g);
    write_model(tmpdir, "good.onnx", &g);
    pbuf b;
    enc_full_model(&b);
    onyx_allocator fa = {fa_alloc, fa_realloc, fa_free, NULL};
    for (int which = 0; which < 2; which++) {
        int done = 0;
        for (long k = 0; k < 10000 && !done; k++) {
            fail_after = k;
            live_allocs = 0;
            onyx_set_allocator(&fa);
            onyx_model *om = NULL;
            onyx_status st = which ? load_in_tmp("good.onnx", &om)
                                   : onyx_model_load_buffer(b.p, b.n, &om);
            if (st == ONYX_OK) {
                done = 1;
                onyx_model_free(om);
            } else {
                CHECK(st == ONYX_ERR_OUT_OF_MEMORY && om == NULL);
            }
            onyx_set_allocator(NULL);
            CHECK(live_allocs == 0);
        }
        CHECK(done);
    }
    free(b.p);
    remove_ext_dir();
}

/* ---- the ONNX conformance files ---------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 12, len = 0;
    uint8_t *p = malloc(cap);
    size_t got;
    while ((got = fread(p + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) p = realloc(p, cap *= 2);
    }
    fclose(f);
    *n = len;
    return p;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir starting with prefix (caller frees each and the array). */
static char **list_dir(const char *dir, const char *prefix, size_t *n) {
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (*n == cap) names = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(names, *n, sizeof *names, by_name);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Graph input k that is fed by input_k.pb: the k-th input that is not an initializer. */
static const ox_value_info *fed_input(const ox_graph *g, size_t k) {
    for (size_t i = 0; i < g->n_inputs; i++) {
        int init = 0;
        for (size_t j = 0; j < g->n_initializers && !init; j++)
            init = strcmp(g->initializers[j].name, g->inputs[i].name) == 0;
        if (init) continue;
        if (k-- == 0) return &g->inputs[i];
    }
    return NULL;
}

typedef struct walk_counts {
    size_t models, models_ok, models_unsupported, files, files_ok, files_unsupported;
    size_t seq, opt;
} walk_counts;

static void check_data_file(const char *path, const ox_value_info *vi, walk_counts *c) {
    size_t n;
    uint8_t *p = slurp(path, &n);
    if (!p) {
        CHECK(0);
        return;
    }
    c->files++;
    int kind = ox_testdata_kind_of(vi ? vi->type : NULL);
    ox_testdata v;
    onyx_status st = ox_testdata_decode(p, n, kind, &v);
    if (st == ONYX_OK) {
        c->files_ok++;
        c->seq += kind == OX_TESTDATA_SEQUENCE;
        c->opt += kind == OX_TESTDATA_OPTIONAL;
        if (kind == OX_TESTDATA_TENSOR && vi && vi->type && vi->type->kind == OX_TYPE_TENSOR &&
            vi->type->elem_type)
            CHECK(v.tensor.dtype == vi->type->elem_type);
        ox_testdata_free(&v);
    } else if (st == ONYX_ERR_UNSUPPORTED) {
        c->files_unsupported++;
        if (getenv("ONYX_TEST_VERBOSE")) printf("  unsupported: %s: %s\n", path, onyx_last_error());
    } else {
        fprintf(stderr, "  %s: %s\n", path, onyx_last_error());
        CHECK(0);
    }
    free(p);
}

TEST(decode_conformance_files) {
    const char *root = getenv("ONYX_ONNX_TESTS");
    char node_dir[1024];
    snprintf(node_dir, sizeof node_dir, "%s/node", root ? root : "../shared/onnx-tests");
    size_t n_cases;
    char **cases = list_dir(node_dir, "test_", &n_cases);
    if (!cases) {
        printf("  decode_conformance_files: %s not found, skipped\n", node_dir);
        return;
    }
    walk_counts c;
    memset(&c, 0, sizeof c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n_cases; i++) {
        char dir[2048], path[4096];
        snprintf(dir, sizeof dir, "%s/%s", node_dir, cases[i]);
        snprintf(path, sizeof path, "%s/model.onnx", dir);
        if (access(path, R_OK) != 0) continue;
        c.models++;
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_file(path, &om);
        if (st == ONYX_ERR_UNSUPPORTED) {
            c.models_unsupported++;
            continue;
        }
        if (st != ONYX_OK) {
            fprintf(stderr, "  %s: %s\n", path, onyx_last_error());
            CHECK(0);
            continue;
        }
        c.models_ok++;
        const ox_graph *g = om->m.graph;
        CHECK(g != NULL);
        size_t n_sets;
        char **sets = list_dir(dir, "test_data_set_", &n_sets);
        for (size_t s = 0; g && s < n_sets; s++) {
            char sdir[3072];
            snprintf(sdir, sizeof sdir, "%s/%s", dir, sets[s]);
            size_t n_files;
            char **files = list_dir(sdir, "", &n_files);
            for (size_t f = 0; f < n_files; f++) {
                unsigned k;
                const ox_value_info *vi = NULL;
                if (sscanf(files[f], "input_%u.pb", &k) == 1) vi = fed_input(g, k);
                else if (sscanf(files[f], "output_%u.pb", &k) == 1)
                    vi = k < g->n_outputs ? &g->outputs[k] : NULL;
                else continue;
                snprintf(path, sizeof path, "%s/%s", sdir, files[f]);
                check_data_file(path, vi, &c);
            }
            free_list(files, n_files);
        }
        free_list(sets, n_sets);
        onyx_model_free(om);
    }
    free_list(cases, n_cases);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("  decode_conformance_files: %zu models: %zu ok, %zu unsupported dtype; "
           "%zu data files: %zu ok (%zu sequences, %zu optionals), %zu unsupported; %.0f ms\n",
           c.models, c.models_ok, c.models_unsupported, c.files, c.files_ok, c.seq, c.opt,
           c.files_unsupported, ms);
    CHECK(c.models_ok > 0);
}
