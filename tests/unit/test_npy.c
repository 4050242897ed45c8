/* .npy reading and writing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/npy.h"
#include "test.h"
#include "util/alloc.h"

static uint64_t npy_rng = 0x2545F4914F6CDD1Dull;
static uint64_t nrnd(void) {
    npy_rng ^= npy_rng << 13;
    npy_rng ^= npy_rng >> 7;
    npy_rng ^= npy_rng << 17;
    return npy_rng;
}

/* A .npy file as numpy writes it: magic, version, header length, dict, padding. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data,
                       size_t nbytes) {
    size_t pre = major == 1 ? 10 : 12, n = strlen(dict), hlen = n + 1;
    while ((pre + hlen) % 64) hlen++;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) out[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + pre, dict, n);
    memset(out + pre + n, ' ', hlen - n - 1);
    out[pre + hlen - 1] = '\n';
    if (nbytes) memcpy(out + pre + hlen, data, nbytes);
    return pre + hlen + nbytes;
}

TEST(npy_reads_numpy_headers) {
    float f[6];
    for (int i = 0; i < 6; i++) f[i] = (float)i * 1.25f - 2.0f;
    unsigned char buf[512];
    for (int major = 1; major <= 3; major++) {
        size_t n = make_npy(
            buf, major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
        ox_tensor t;
        REQUIRE_OK(ox_npy_decode(buf, n, &t));
        CHECK(t.dtype == ONYX_DTYPE_FLOAT && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
        CHECK(memcmp(t.data, f, sizeof f) == 0);
        ox_tensor_free_data(&t);
    }
    /* other spellings numpy has used: key order, double quotes, 1-tuples, scalars, longs */
    int64_t v[3] = {-1, 2, (int64_t)1 << 40};
    size_t n = make_npy(buf, 1, "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<i8\"}",
                        v, sizeof v);
    ox_tensor t;
    REQUIRE_OK(ox_npy_decode(buf, n, &t));
    CHECK(t.dtype == ONYX_DTYPE_INT64 && t.rank == 1 && t.dims[0] == 3);
    CHECK(((int64_t *)t.data)[2] == v[2]);
    ox_tensor_free_data(&t);
    uint8_t b = 7;
    n = make_npy(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", &b, 1);
    REQUIRE_OK(ox_npy_decode(buf, n, &t));
    CHECK(t.dtype == ONYX_DTYPE_BOOL && t.rank == 0 && ((uint8_t *)t.data)[0] == 1);
    ox_tensor_free_data(&t);
    n = make_npy(buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0L, 4L), }", NULL, 0);
    REQUIRE_OK(ox_npy_decode(buf, n, &t));
    CHECK(t.dtype == ONYX_DTYPE_UINT8 && t.rank == 2 && t.dims[0] == 0 && t.dims[1] == 4);
    ox_tensor_free_data(&t);
}

TEST(npy_rejects_malformed) {
    float f[2] = {1, 2};
    const char *bad[] = {
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
        "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", /* data too short */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", /* data too long */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", /* not a tuple */
        "{'descr': '<f4', 'fortran_order': False}",                 /* no shape */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': Nope, 'shape': (2,), }",
    };
    unsigned char buf[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = make_npy(buf, 1, bad[i], f, sizeof f);
        ox_tensor t;
        onyx_status st = ox_npy_decode(buf, n, &t);
        if (st == ONYX_OK) {
            fprintf(stderr, "  accepted: %s\n", bad[i]);
            ox_tensor_free_data(&t);
        }
        CHECK(st != ONYX_OK);
    }
    /* bad magic, unknown version, header length past the end, every truncation */
    size_t n =
        make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f, sizeof f);
    ox_tensor t;
    for (size_t cut = 0; cut < n; cut++) {
        unsigned char *p = malloc(cut ? cut : 1);
        memcpy(p, buf, cut);
        CHECK(ox_npy_decode(p, cut, &t) != ONYX_OK);
        free(p);
    }
    buf[1] = 'X';
    CHECK(ox_npy_decode(buf, n, &t) == ONYX_ERR_PARSE);
    buf[1] = 'N';
    buf[6] = 4;
    CHECK(ox_npy_decode(buf, n, &t) == ONYX_ERR_UNSUPPORTED);
    buf[6] = 1;
    buf[9] = 0x7f;
    CHECK(ox_npy_decode(buf, n, &t) == ONYX_ERR_PARSE);
}

TEST(npy_roundtrip_every_dtype) {
    const int32_t types[] = {ONYX_DTYPE_FLOAT,  ONYX_DTYPE_DOUBLE, ONYX_DTYPE_FLOAT16,
                             ONYX_DTYPE_INT8,   ONYX_DTYPE_INT16,  ONYX_DTYPE_INT32,
                             ONYX_DTYPE_INT64,  ONYX_DTYPE_UINT8,  ONYX_DTYPE_UINT16,
                             ONYX_DTYPE_UINT32, ONYX_DTYPE_UINT64, ONYX_DTYPE_BOOL};
    char path[] = "/tmp/onyx-npy-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        for (int trial = 0; trial < 8; trial++) {
            ox_tensor t;
            memset(&t, 0, sizeof t);
            t.dtype = types[ti];
            t.rank = (int32_t)(nrnd() % 5);
            for (int32_t i = 0; i < t.rank; i++) t.dims[i] = (int64_t)(nrnd() % 4);
            REQUIRE_OK(ox_tensor_alloc_data(&t));
            size_t nb = ox_tensor_nbytes(&t);
            unsigned char *d = t.data;
            for (size_t i = 0; i < nb; i++)
                d[i] = (unsigned char)(t.dtype == ONYX_DTYPE_BOOL ? nrnd() & 1 : nrnd());
            unsigned char *bytes;
            size_t n;
            REQUIRE_OK(ox_npy_encode(&t, &bytes, &n));
            CHECK((n - nb) % 64 == 0 && bytes[n - nb - 1] == '\n');
            ox_tensor u;
            REQUIRE_OK(ox_npy_decode(bytes, n, &u));
            CHECK(ox_tensor_same_shape(&t, &u) && (nb == 0 || memcmp(t.data, u.data, nb) == 0));
            ox_tensor_free_data(&u);
            ox_free(bytes);
            if (trial == 0) {
                REQUIRE_OK(ox_npy_write(path, &t));
                REQUIRE_OK(ox_npy_read(path, &u));
                CHECK(ox_tensor_same_shape(&t, &u) && (nb == 0 || memcmp(t.data, u.data, nb) == 0));
                ox_tensor_free_data(&u);
            }
            ox_tensor_free_data(&t);
        }
    }
    unlink(path);
    ox_tensor s;
    memset(&s, 0, sizeof s);
    s.dtype = ONYX_DTYPE_BFLOAT16;
    unsigned char *bytes;
    size_t n;
    CHECK(ox_npy_encode(&s, &bytes, &n) == ONYX_ERR_UNSUPPORTED);
    CHECK(ox_npy_read("/nonexistent/x.npy", &s) == ONYX_ERR_IO);
}

/* The exact bytes numpy 1.x/2.x np.save writes for np.array([1, -2, 300], dtype=np.int16). */
TEST(npy_reads_literal_numpy_file) {
    static const char head[] = "\x93NUMPY\x01\x00\x76\x00"
                               "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }";
    unsigned char buf[128 + 6];
    size_t hn = sizeof head - 1;
    memcpy(buf, head, hn);
    memset(buf + hn, ' ', 127 - hn);
    buf[127] = '\n';
    const unsigned char data[6] = {0x01, 0x00, 0xfe, 0xff, 0x2c, 0x01};
    memcpy(buf + 128, data, 6);
    ox_tensor t;
    REQUIRE_OK(ox_npy_decode(buf, sizeof buf, &t));
    CHECK(t.dtype == ONYX_DTYPE_INT16 && t.rank == 1 && t.dims[0] == 3);
    const int16_t *v = t.data;
    CHECK(v[0] == 1 && v[1] == -2 && v[2] == 300);
    /* and our writer produces the same bytes */
    unsigned char *out;
    size_t n;
    REQUIRE_OK(ox_npy_encode(&t, &out, &n));
    CHECK(n == sizeof buf && memcmp(out, buf, n) == 0);
    ox_free(out);
    ox_tensor_free_data(&t);
}
