#include "format/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/file.h"
#include "util/status.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define OX_HOST_LE 0
#else
#define OX_HOST_LE 1
#endif

static const struct {
    const char *descr; /* without the byte-order character */
    int32_t dtype;
} kDescr[] = {
    {"f2", ONYX_DTYPE_FLOAT16}, {"f4", ONYX_DTYPE_FLOAT},  {"f8", ONYX_DTYPE_DOUBLE},
    {"i1", ONYX_DTYPE_INT8},    {"i2", ONYX_DTYPE_INT16},  {"i4", ONYX_DTYPE_INT32},
    {"i8", ONYX_DTYPE_INT64},   {"u1", ONYX_DTYPE_UINT8},  {"u2", ONYX_DTYPE_UINT16},
    {"u4", ONYX_DTYPE_UINT32},  {"u8", ONYX_DTYPE_UINT64}, {"b1", ONYX_DTYPE_BOOL},
};

static int32_t dtype_of_descr(const char *s, size_t n) {
    if (n != 3) return 0;
    for (size_t i = 0; i < sizeof kDescr / sizeof kDescr[0]; i++) {
        if (memcmp(s + 1, kDescr[i].descr, 2) != 0) continue;
        int one_byte = kDescr[i].descr[1] == '1';
        /* '<' little-endian; '|' "not applicable", which numpy writes for 1-byte types */
        if (s[0] == '<' || (s[0] == '|' && one_byte)) return kDescr[i].dtype;
        return 0;
    }
    return 0;
}

static const char *descr_of_dtype(int32_t dtype) {
    for (size_t i = 0; i < sizeof kDescr / sizeof kDescr[0]; i++)
        if (kDescr[i].dtype == dtype) return kDescr[i].descr;
    return NULL;
}

/* ---- header: a Python dict literal -------------------------------------------------- */

typedef struct hp {
    const char *s;
    size_t pos, end;
} hp;

static void ws(hp *p) {
    while (p->pos < p->end && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int eat(hp *p, char c) {
    ws(p);
    if (p->pos < p->end && p->s[p->pos] == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

static int str_lit(hp *p, const char **s, size_t *n) {
    ws(p);
    if (p->pos >= p->end) return 0;
    char q = p->s[p->pos];
    if (q != '\'' && q != '"') return 0;
    size_t b = ++p->pos;
    while (p->pos < p->end && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\') return 0; /* escapes never occur in valid headers */
        p->pos++;
    }
    if (p->pos >= p->end) return 0;
    *s = p->s + b;
    *n = p->pos - b;
    p->pos++;
    return 1;
}

static int word(hp *p, const char *w) {
    size_t n = strlen(w);
    ws(p);
    if (p->end - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static int int_lit(hp *p, int64_t *v) {
    ws(p);
    size_t b = p->pos;
    uint64_t x = 0;
    while (p->pos < p->end && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        uint64_t dgt = (uint64_t)(p->s[p->pos] - '0');
        if (x > ((uint64_t)INT64_MAX - dgt) / 10) return 0;
        x = x * 10 + dgt;
        p->pos++;
    }
    /* numpy 1.x on some platforms wrote "3L" for longs */
    if (p->pos < p->end && p->s[p->pos] == 'L') p->pos++;
    *v = (int64_t)x;
    return p->pos > b;
}

static int shape_lit(hp *p, int32_t *rank, int64_t *dims) {
    *rank = 0;
    if (!eat(p, '(')) return 0;
    if (eat(p, ')')) return 1;
    while (1) {
        if (*rank >= OX_MAX_RANK) return 0;
        if (!int_lit(p, &dims[*rank])) return 0;
        ++*rank;
        if (eat(p, ')')) return *rank > 1; /* "(3)" is an int, not a tuple */
        if (!eat(p, ',')) return 0;
        if (eat(p, ')')) return 1;
    }
}

static onyx_status bad(const char *what) { return ox_error(ONYX_ERR_PARSE, "npy: %s", what); }

onyx_status ox_npy_decode(const void *bytes, size_t size, ox_tensor *out) {
    const unsigned char *b = bytes;
    if ((!b && size) || !out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "npy: NULL argument");
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return bad("not a .npy file (bad magic)");
    size_t hlen, start;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        start = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (size < 12) return bad("truncated header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        start = 12;
    } else {
        return ox_error(ONYX_ERR_UNSUPPORTED, "npy: format version %u.%u is not supported", b[6],
                        b[7]);
    }
    if (hlen > size - start) return bad("header runs past the end of the file");
    hp p = {(const char *)b, start, start + hlen};
    int32_t dtype = 0, rank = -1, fortran = -1;
    int64_t dims[OX_MAX_RANK];
    if (!eat(&p, '{')) return bad("header is not a dict");
    while (!eat(&p, '}')) {
        const char *k;
        size_t kn;
        if (!str_lit(&p, &k, &kn) || !eat(&p, ':')) return bad("malformed header");
        if (kn == 5 && memcmp(k, "descr", 5) == 0 && !dtype) {
            const char *v;
            size_t vn;
            if (!str_lit(&p, &v, &vn)) return bad("descr is not a string");
            if (!(dtype = dtype_of_descr(v, vn)))
                return ox_error(ONYX_ERR_UNSUPPORTED, "npy: dtype '%.*s' is not supported",
                                (int)(vn > 32 ? 32 : vn), v);
        } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0 && fortran < 0) {
            if (word(&p, "False"))
                fortran = 0;
            else if (word(&p, "True"))
                fortran = 1;
            else
                return bad("fortran_order is not True or False");
        } else if (kn == 5 && memcmp(k, "shape", 5) == 0 && rank < 0) {
            if (!shape_lit(&p, &rank, dims)) return bad("shape is not a tuple of up to 16 ints");
        } else {
            return bad("unknown or repeated key in header");
        }
        if (!eat(&p, ',')) {
            if (!eat(&p, '}')) return bad("malformed header");
            break;
        }
    }
    ws(&p);
    if (p.pos != p.end) return bad("trailing characters after the header dict");
    if (!dtype || rank < 0 || fortran < 0)
        return bad("header misses descr, fortran_order or shape");
    if (fortran)
        return ox_error(ONYX_ERR_UNSUPPORTED, "npy: Fortran-order arrays are not supported");
    size_t count, nbytes;
    if (!ox_shape_count_checked(rank, dims, dtype, &count, &nbytes))
        return ox_error(ONYX_ERR_LIMIT, "npy: shape too large");
    size_t data_off = start + hlen;
    if (size - data_off != nbytes)
        return ox_error(ONYX_ERR_PARSE, "npy: data holds %zu bytes, the shape needs %zu",
                        size - data_off, nbytes);
    ox_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.rank = rank;
    if (rank) memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    t.data = ox_malloc_aligned(nbytes);
    if (!t.data) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "npy: out of memory");
    unsigned char *d = t.data;
    if (nbytes) memcpy(d, b + data_off, nbytes);
    if (dtype == ONYX_DTYPE_BOOL)
        for (size_t i = 0; i < count; i++) d[i] = d[i] != 0;
    size_t es = ox_dtype_size(dtype);
    if (!OX_HOST_LE && es > 1)
        for (size_t i = 0; i < count; i++)
            for (size_t x = 0, y = es - 1; x < y; x++, y--) {
                unsigned char c = d[i * es + x];
                d[i * es + x] = d[i * es + y];
                d[i * es + y] = c;
            }
    *out = t;
    return ONYX_OK;
}

onyx_status ox_npy_read(const char *path, ox_tensor *out) {
    unsigned char *bytes = NULL;
    size_t size = 0;
    OX_TRY(ox_read_file(path, &bytes, &size));
    onyx_status st = ox_npy_decode(bytes, size, out);
    ox_free(bytes);
    if (st != ONYX_OK) return ox_error_prefix(st, "'%s': ", path);
    return ONYX_OK;
}

onyx_status ox_npy_encode(const ox_tensor *t, unsigned char **bytes, size_t *size) {
    const char *descr = descr_of_dtype(t->dtype);
    if (!descr)
        return ox_error(ONYX_ERR_UNSUPPORTED, "npy: cannot write dtype %s",
                        ox_dtype_name(t->dtype));
    size_t count, nbytes;
    if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &count, &nbytes))
        return ox_error(ONYX_ERR_LIMIT, "npy: bad shape");
    char h[512];
    int n = snprintf(h, sizeof h, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     descr[1] == '1' ? '|' : '<', descr);
    for (int32_t i = 0; i < t->rank; i++)
        n += snprintf(h + n, sizeof h - (size_t)n, "%lld%s", (long long)t->dims[i],
                      t->rank == 1 ? "," : (i + 1 < t->rank ? ", " : ""));
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    /* pad with spaces and a newline so the data starts on a 64-byte boundary */
    size_t hlen = (size_t)n + 1;
    while ((10 + hlen) % 64) hlen++;
    size_t total;
    if (!ox_add_ok(10 + hlen, nbytes, &total)) return ox_error(ONYX_ERR_LIMIT, "npy: too large");
    unsigned char *b = ox_malloc(total);
    if (!b) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "npy: out of memory");
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    memcpy(b + 10, h, (size_t)n);
    memset(b + 10 + n, ' ', hlen - (size_t)n - 1);
    b[10 + hlen - 1] = '\n';
    if (nbytes) memcpy(b + 10 + hlen, t->data, nbytes);
    size_t es = ox_dtype_size(t->dtype);
    if (!OX_HOST_LE && es > 1)
        for (size_t i = 0; i < count; i++) {
            unsigned char *e = b + 10 + hlen + i * es;
            for (size_t x = 0, y = es - 1; x < y; x++, y--) {
                unsigned char c = e[x];
                e[x] = e[y];
                e[y] = c;
            }
        }
    *bytes = b;
    *size = total;
    return ONYX_OK;
}

onyx_status ox_npy_write(const char *path, const ox_tensor *t) {
    unsigned char *b = NULL;
    size_t n;
    OX_TRY(ox_npy_encode(t, &b, &n));
    FILE *f = fopen(path, "wb");
    if (!f) {
        ox_free(b);
        return ox_error(ONYX_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    }
    size_t w = fwrite(b, 1, n, f);
    int bad_close = fclose(f);
    ox_free(b);
    if (w != n || bad_close) return ox_error(ONYX_ERR_IO, "cannot write '%s'", path);
    return ONYX_OK;
}
