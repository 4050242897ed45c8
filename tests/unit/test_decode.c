/* The ONNX loader: protobuf wire reader, tensor encodings, every field of the model
 * structures, zero-copy data. Files, malformed input and the conformance data are in
 * test_decode_files.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/pb.h"
#include "format/tensor_view.h"
#include "format/testdata.h"
#include "ir/model.h"
#include "pbenc.h"
#include "test.h"
#include "util/alloc.h"
#include "util/status.h"

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
    uint8_t padded[3] = {0x81, 0x80, 0x00};     /* non-minimal but valid */
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
    const uint8_t group[] = {0x0b, 0x0c};        /* field 1 start/end group */
    const uint8_t wire6[] = {0x0e, 0x00};        /* wire type 6 */
    const uint8_t field0[] = {0x00, 0x01};       /* field number 0 */
    const uint8_t longlen[] = {0x0a, 0x05, 'a'}; /* 5 bytes claimed, 1 present */
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

static const int32_t kAllTypes[] = {
    ONYX_DTYPE_FLOAT,      ONYX_DTYPE_UINT8,          ONYX_DTYPE_INT8,
    ONYX_DTYPE_UINT16,     ONYX_DTYPE_INT16,          ONYX_DTYPE_INT32,
    ONYX_DTYPE_INT64,      ONYX_DTYPE_STRING,         ONYX_DTYPE_BOOL,
    ONYX_DTYPE_FLOAT16,    ONYX_DTYPE_DOUBLE,         ONYX_DTYPE_UINT32,
    ONYX_DTYPE_UINT64,     ONYX_DTYPE_COMPLEX64,      ONYX_DTYPE_COMPLEX128,
    ONYX_DTYPE_BFLOAT16,   ONYX_DTYPE_FLOAT8E4M3FN,   ONYX_DTYPE_FLOAT8E4M3FNUZ,
    ONYX_DTYPE_FLOAT8E5M2, ONYX_DTYPE_FLOAT8E5M2FNUZ, ONYX_DTYPE_UINT4,
    ONYX_DTYPE_INT4,       ONYX_DTYPE_FLOAT4E2M1,     ONYX_DTYPE_FLOAT8E8M0,
    ONYX_DTYPE_UINT2,      ONYX_DTYPE_INT2};

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

/* A [count] tensor of dtype whose data is `n` bytes of raw_data (as_int32 = 0) or
 * `n` int32_data values (as_int32 = 1), taken from vals. */
static void enc_small(pbuf *b, int32_t dtype, size_t count, const uint8_t *vals, size_t n,
                      int as_int32) {
    b->n = 0;
    f_int(b, 1, (int64_t)count);
    f_int(b, 2, dtype);
    if (as_int32) {
        uint64_t v[64];
        for (size_t i = 0; i < n; i++) v[i] = vals[i];
        f_packed(b, 5, v, n);
    } else {
        f_bytes(b, 9, vals, n);
    }
}

TEST(decode_tensor_2bit_and_e8m0_layout_and_lengths) {
    /* 2-bit: element k of a byte sits in bits 2k..2k+1, read here with division and
     * modulo rather than shifts; INT2 is two's complement in two bits */
    for (int sgn = 0; sgn < 2; sgn++) {
        int32_t dtype = sgn ? ONYX_DTYPE_INT2 : ONYX_DTYPE_UINT2;
        for (size_t count = 0; count <= 13; count++) {
            size_t need = (count + 3) / 4;
            uint8_t bytes[8];
            for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (uint8_t)rnd();
            for (int as_int32 = 0; as_int32 < 2; as_int32++) {
                pbuf b = {0};
                for (int d = -1; d <= 1; d++) {
                    if (d < 0 && need == 0) continue;
                    enc_small(&b, dtype, count, bytes, (size_t)((int)need + d), as_int32);
                    ox_tensor t;
                    onyx_status st = ox_decode_tensor_file(b.p, b.n, &t, NULL);
                    if (d != 0) {
                        CHECK(st == ONYX_ERR_INVALID_MODEL);
                        if (st == ONYX_OK) ox_tensor_free_data(&t);
                        continue;
                    }
                    REQUIRE_OK(st);
                    CHECK(t.dtype == dtype && t.rank == 1 && t.dims[0] == (int64_t)count);
                    for (size_t i = 0; i < count; i++) {
                        unsigned byte = bytes[i / 4], pos = (unsigned)(i % 4);
                        unsigned code = (byte / (1u << (2 * pos))) % 4;
                        int want = sgn && code >= 2 ? (int)code - 4 : (int)code;
                        int got = sgn ? ((const int8_t *)t.data)[i] : ((const uint8_t *)t.data)[i];
                        CHECK(got == want);
                    }
                    ox_tensor_free_data(&t);
                }
                free(b.p);
            }
        }
    }
    /* float8e8m0: one code per byte / per int32 value, kept as is */
    uint8_t codes[7] = {0, 1, 127, 128, 200, 254, 255};
    for (int as_int32 = 0; as_int32 < 2; as_int32++) {
        pbuf b = {0};
        enc_small(&b, ONYX_DTYPE_FLOAT8E8M0, 7, codes, 7, as_int32);
        ox_tensor t;
        REQUIRE_OK(ox_decode_tensor_file(b.p, b.n, &t, NULL));
        CHECK(t.dtype == ONYX_DTYPE_FLOAT8E8M0 && memcmp(t.data, codes, 7) == 0);
        ox_tensor_free_data(&t);
        enc_small(&b, ONYX_DTYPE_FLOAT8E8M0, 7, codes, 6, as_int32);
        CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
        enc_small(&b, ONYX_DTYPE_FLOAT8E8M0, 6, codes, 7, as_int32);
        CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
        free(b.p);
    }
    /* 2-bit types take no other typed field */
    pbuf b = {0};
    f_int(&b, 1, 4);
    f_int(&b, 2, ONYX_DTYPE_INT2);
    f_int(&b, 7, 1);
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
    free(b.p);
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
    f_int(&b, 2, 27); /* one past INT2, the last type onyx knows */
    CHECK(decode_bytes(&b) == ONYX_ERR_INVALID_MODEL);
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
    CHECK(a->tp->kind == OX_TYPE_TENSOR && a->tp->elem_type == ONYX_DTYPE_INT8 &&
          !a->tp->has_shape);
    REQUIRE((a = ox_node_attr(n, "floats")) && a->type == OX_ATTR_FLOATS && a->n == 3);
    CHECK(a->floats[0] == 1.0f && a->floats[1] == -2.0f && a->floats[2] == 3.25f);
    REQUIRE((a = ox_node_attr(n, "ints")) && a->type == OX_ATTR_INTS && a->n == 3);
    CHECK(a->ints[0] == -1 && a->ints[1] == 5 && a->ints[2] == (int64_t)1 << 40);
    REQUIRE((a = ox_node_attr(n, "strings")) && a->type == OX_ATTR_STRINGS && a->n == 3);
    CHECK(strcmp(a->strings[0].data, "x") == 0 && a->strings[1].len == 0 && a->strings[2].len == 2);
    REQUIRE((a = ox_node_attr(n, "tensors")) && a->type == OX_ATTR_TENSORS && a->n == 2);
    CHECK(((const float *)a->tensors[0].data)[0] == 4.0f);
    CHECK(((const int64_t *)a->tensors[1].data)[1] == 9 && strcmp(a->tensors[1].name, "t1") == 0);
    REQUIRE((a = ox_node_attr(n, "graphs")) && a->type == OX_ATTR_GRAPHS && a->n == 2);
    CHECK(strcmp(a->graphs[1]->name, "g1") == 0 &&
          strcmp(a->graphs[1]->nodes[0].op_type, "Abs") == 0);
    REQUIRE((a = ox_node_attr(n, "sparses")) && a->type == OX_ATTR_SPARSE_TENSORS && a->n == 1);
    CHECK(a->sparse_tensors[0].indices.dims[0] == 2);
    REQUIRE((a = ox_node_attr(n, "tps")) && a->type == OX_ATTR_TYPE_PROTOS && a->n == 2);
    CHECK(a->type_protos[1]->elem_type == ONYX_DTYPE_BOOL);
    for (size_t i = 0; i < n->n_attrs; i++)
        CHECK(n->attrs[i].ref_attr_name == NULL || strcmp(n->attrs[i].name, "ref") == 0);
}

/* A model using every field onyx reads, unknown fields at every level. */
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
    CHECK(view.rank == 1 && view.dims[0] == 4 && view.data == w->data &&
          ox_tensor_nbytes(&view) == 16);
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
    CHECK(strcmp(n1->name, "") == 0 && strcmp(n1->op_type, "") == 0 &&
          strcmp(n1->domain, "com.x") == 0);
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
    CHECK(f->n_value_info == 1 && strcmp(f->doc, "function doc") == 0 &&
          strcmp(f->overload, "ov2") == 0);
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

TEST(decode_attribute_type_rules) {
    /* explicit type 0 is inferred; a bad type is refused; a list of the wrong kind is
     * left empty (the type field decides) */
    const struct {
        int64_t type; /* -1: no type field */
        int want_type;
        onyx_status want;
    } cases[] = {{-1, OX_ATTR_INTS, ONYX_OK},
                 {0, OX_ATTR_INTS, ONYX_OK},
                 {OX_ATTR_FLOATS, OX_ATTR_FLOATS, ONYX_OK},
                 {15, 0, ONYX_ERR_INVALID_MODEL},
                 {-3, 0, ONYX_ERR_INVALID_MODEL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pbuf a = {0}, n = {0}, g = {0}, m = {0};
        f_str(&a, 1, "x");
        if (cases[i].type >= 0 || cases[i].type == -3) f_int(&a, 20, cases[i].type);
        f_int(&a, 8, 4);
        f_int(&a, 8, 5);
        f_msg(&n, 5, &a);
        f_msg(&g, 1, &n);
        f_msg(&m, 7, &g);
        onyx_model *om = NULL;
        onyx_status st = onyx_model_load_buffer(m.p, m.n, &om);
        CHECK(st == cases[i].want);
        if (st == ONYX_OK) {
            const ox_attr *x = &om->m.graph->nodes[0].attrs[0];
            CHECK(x->type == cases[i].want_type);
            CHECK(x->type == OX_ATTR_INTS ? x->n == 2 && x->ints[1] == 5 : x->n == 0);
        } else {
            CHECK(strstr(onyx_last_error(), "attribute 'x'") != NULL);
        }
        onyx_model_free(om);
        free(m.p);
    }
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
    const int32_t types[] = {ONYX_DTYPE_FLOAT,      ONYX_DTYPE_INT64, ONYX_DTYPE_UINT8,
                             ONYX_DTYPE_COMPLEX128, ONYX_DTYPE_INT4,  ONYX_DTYPE_FLOAT16};
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
