/* TensorProto and SparseTensorProto: every data encoding into the ox_tensor layout. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/decode.h"
#include "util/alloc.h"
#include "util/status.h"

const char ox_dec_empty[1] = "";

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) &&                                    \
    __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define OX_HOST_LE 0
#else
#define OX_HOST_LE 1
#endif

/* TensorProto field numbers (onnx.proto). */
enum {
    T_DIMS = 1,
    T_DATA_TYPE = 2,
    T_SEGMENT = 3,
    T_FLOAT_DATA = 4,
    T_INT32_DATA = 5,
    T_STRING_DATA = 6,
    T_INT64_DATA = 7,
    T_NAME = 8,
    T_RAW_DATA = 9,
    T_DOUBLE_DATA = 10,
    T_UINT64_DATA = 11,
    T_DOC = 12,
    T_EXTERNAL_DATA = 13,
    T_DATA_LOCATION = 14
};

onyx_status ox_dec_string(ox_dec *d, const ox_pb *r, const ox_pb_field *f, const char *name,
                          const char **out) {
    const uint8_t *p;
    size_t n;
    OX_TRY(ox_pb_bytes(r, f, name, &p, &n));
    if (n == 0) {
        *out = ox_dec_empty;
        return ONYX_OK;
    }
    char *s = ox_arena_strndup(d->arena, (const char *)p, n);
    if (!s) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory copying %s.%s", r->msg, name);
    *out = s;
    return ONYX_OK;
}

onyx_status ox_dec_bytes(ox_dec *d, const ox_pb *r, const ox_pb_field *f, const char *name,
                         ox_bytes *out) {
    OX_TRY(ox_dec_string(d, r, f, name, &out->data));
    out->len = f->len;
    return ONYX_OK;
}

onyx_status ox_dec_string_pair(ox_dec *d, const ox_pb *r, const ox_pb_field *f,
                               ox_string_pair *out) {
    ox_pb s;
    ox_pb_field g;
    int more;
    OX_TRY(ox_pb_sub(r, f, "StringStringEntryProto", &s));
    out->key = out->value = ox_dec_empty;
    while (1) {
        OX_TRY(ox_pb_next(&s, &g, &more));
        if (!more) break;
        if (g.num == 1) OX_TRY(ox_dec_string(d, &s, &g, "key", &out->key));
        if (g.num == 2) OX_TRY(ox_dec_string(d, &s, &g, "value", &out->value));
    }
    return ONYX_OK;
}

/* ---- external data ------------------------------------------------------------- */

static int parse_size(const char *s, size_t *out) {
    size_t v = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        if (!ox_mul_ok(v, 10, &v) || !ox_add_ok(v, (size_t)(*s - '0'), &v)) return 0;
    }
    *out = v;
    return 1;
}

/* A relative path that stays inside the model's folder: not absolute, no ".." part. */
static int location_ok(const char *loc) {
    if (!loc[0] || loc[0] == '/' || loc[0] == '\\') return 0;
    const char *p = loc;
    while (*p) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += n;
        if (*p) p++;
    }
    return 1;
}

static onyx_status remember_map(ox_model *m, void *map, size_t size) {
    if (m->n_ext_maps == m->cap_ext_maps) {
        size_t cap = m->cap_ext_maps ? 2 * m->cap_ext_maps : 8;
        void **a = ox_realloc(m->ext_maps, cap * sizeof *a);
        if (!a) return ONYX_ERR_OUT_OF_MEMORY;
        m->ext_maps = a;
        size_t *b = ox_realloc(m->ext_map_sizes, cap * sizeof *b);
        if (!b) return ONYX_ERR_OUT_OF_MEMORY;
        m->ext_map_sizes = b;
        m->cap_ext_maps = cap;
    }
    m->ext_maps[m->n_ext_maps] = map;
    m->ext_map_sizes[m->n_ext_maps] = size;
    m->n_ext_maps++;
    return ONYX_OK;
}

static size_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)h;
}

/* Slot of loc in the hash index: where it is, or the empty slot where it would go. */
static size_t ext_slot(const ox_dec *d, const char *loc) {
    size_t mask = d->ext_index_cap - 1, i = hash_str(loc) & mask;
    while (d->ext_index[i] && strcmp(d->ext[d->ext_index[i] - 1].location, loc) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Keep the index at most half full; (re)build it with room for one more file. */
static onyx_status ext_index_reserve(ox_dec *d) {
    if (2 * (d->n_ext + 1) <= d->ext_index_cap) return ONYX_OK;
    size_t cap = d->ext_index_cap ? 2 * d->ext_index_cap : 16;
    size_t *idx = ox_calloc(cap, sizeof *idx);
    if (!idx) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    ox_free(d->ext_index);
    d->ext_index = idx;
    d->ext_index_cap = cap;
    for (size_t k = 0; k < d->n_ext; k++) d->ext_index[ext_slot(d, d->ext[k].location)] = k + 1;
    return ONYX_OK;
}

static onyx_status open_ext(ox_dec *d, const char *tname, const char *loc, ox_ext_file **out) {
    OX_TRY(ext_index_reserve(d));
    size_t slot = ext_slot(d, loc);
    if (d->ext_index[slot]) {
        *out = &d->ext[d->ext_index[slot] - 1];
        return ONYX_OK;
    }
    if (d->n_ext == d->cap_ext) {
        size_t cap = d->cap_ext ? 2 * d->cap_ext : 8;
        ox_ext_file *a = ox_realloc(d->ext, cap * sizeof *a);
        if (!a) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        d->ext = a;
        d->cap_ext = cap;
    }
    size_t dl = strlen(d->m->dir), ll = strlen(loc), total;
    if (!ox_add_ok(dl, ll + 2, &total)) return ox_error(ONYX_ERR_LIMIT, "path too long");
    char *path = ox_malloc(total);
    char *name = ox_strdup(loc);
    if (!path || !name) {
        ox_free(path);
        ox_free(name);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(path, d->m->dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, loc, ll + 1);
    onyx_status st = ONYX_OK;
    void *map = NULL;
    size_t size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        st = ox_error(ONYX_ERR_IO, "tensor '%s': cannot open external data file '%s': %s", tname,
                      path, strerror(errno));
    } else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ox_error(ONYX_ERR_IO, "tensor '%s': external data '%s' is not a regular file", tname,
                      path);
    } else if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2) {
        st = ox_error(ONYX_ERR_LIMIT, "tensor '%s': external data file '%s' is too large", tname,
                      path);
    } else if (sb.st_size > 0) {
        size = (size_t)sb.st_size;
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            map = NULL;
            st = ox_error(ONYX_ERR_IO, "tensor '%s': cannot map external data file '%s': %s", tname,
                          path, strerror(errno));
        } else if (remember_map(d->m, map, size) != ONYX_OK) {
            munmap(map, size);
            st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    if (fd >= 0) close(fd);
    ox_free(path);
    if (st != ONYX_OK) {
        ox_free(name);
        return st;
    }
    d->ext_index[slot] = d->n_ext + 1;
    ox_ext_file *e = &d->ext[d->n_ext++];
    e->location = name;
    e->data = map;
    e->size = size;
    *out = e;
    return ONYX_OK;
}

/* Resolve t's external_data into the bytes it names, which must be `expect` long. */
static onyx_status resolve_external(ox_dec *d, const ox_tensor_proto *t, size_t expect,
                                    const uint8_t **data) {
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const ox_string_pair *e = &t->external_data[i];
        if (strcmp(e->key, "location") == 0)
            loc = e->value;
        else if (strcmp(e->key, "offset") == 0)
            off_s = e->value;
        else if (strcmp(e->key, "length") == 0)
            len_s = e->value;
    }
    if (!d->m || !d->m->dir)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s' keeps its data in an external file, which only models "
                        "loaded from a file can use",
                        t->name);
    if (!loc)
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': external data without a location",
                        t->name);
    if (!location_ok(loc))
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s': external data location '%s' must be a relative path inside "
                        "the model's folder (no absolute path, no '..')",
                        t->name, loc);
    size_t off = 0, len = 0;
    if (off_s && !parse_size(off_s, &off))
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': bad external data offset '%s'",
                        t->name, off_s);
    if (len_s && !parse_size(len_s, &len))
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': bad external data length '%s'",
                        t->name, len_s);
    ox_ext_file *e = NULL;
    OX_TRY(open_ext(d, t->name, loc, &e));
    if (off > e->size)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s': external data offset %zu is past the end of '%s' (%zu bytes)",
                        t->name, off, loc, e->size);
    if (!len_s) len = e->size - off;
    if (len > e->size - off)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s': external data range [%zu, %zu+%zu) is outside '%s' (%zu "
                        "bytes)",
                        t->name, off, off, len, loc, e->size);
    if (len != expect)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s': external data holds %zu bytes, the tensor needs %zu", t->name,
                        len, expect);
    *data = e->data ? e->data + off : NULL;
    return ONYX_OK;
}

void ox_dec_done(ox_dec *d) {
    for (size_t i = 0; i < d->n_ext; i++) ox_free(d->ext[i].location);
    ox_free(d->ext);
    ox_free(d->ext_index);
    d->ext = NULL;
    d->ext_index = NULL;
    d->n_ext = d->cap_ext = d->ext_index_cap = 0;
}

/* ---- tensors ------------------------------------------------------------------- */

/* Bits per element of the types files pack several to a byte (4 or 2), else 0. */
static unsigned packed_bits(int32_t t) {
    switch (t) {
    case ONYX_DTYPE_UINT4:
    case ONYX_DTYPE_INT4:
    case ONYX_DTYPE_FLOAT4E2M1: return 4;
    case ONYX_DTYPE_UINT2:
    case ONYX_DTYPE_INT2: return 2;
    default: return 0;
    }
}

static int packed_signed(int32_t t) { return t == ONYX_DTYPE_INT4 || t == ONYX_DTYPE_INT2; }

/* Bytes (or int32_data values) holding count packed elements of `bits` each. */
static size_t packed_len(size_t count, unsigned bits) {
    size_t per = 8 / bits;
    return count / per + (count % per != 0);
}

/* Bytes the raw or external data of t must hold. */
static size_t raw_len_of(const ox_tensor_proto *t, size_t count) {
    unsigned bits = packed_bits(t->dtype);
    return bits ? packed_len(count, bits) : t->nbytes;
}

/* How elements of a typed *_data field are stored into the ox_tensor layout. */
enum store { ST_U8, ST_BOOL, ST_U16, ST_U32, ST_U64, ST_PACKED, ST_STRING };

typedef struct typed_rule {
    uint32_t field; /* which *_data field holds this dtype */
    uint32_t wire;  /* its element wire type */
    enum store st;
    int per; /* elements of the field per tensor element: 2 for complex; -n when one field
              * value packs n elements (-2 for 4-bit types, -4 for 2-bit types) */
} typed_rule;

static typed_rule rule_for(int32_t dtype) {
    typed_rule r = {T_INT32_DATA, OX_PB_VARINT, ST_U32, 1};
    switch (dtype) {
    case ONYX_DTYPE_FLOAT:
        r.field = T_FLOAT_DATA;
        r.wire = OX_PB_I32;
        break;
    case ONYX_DTYPE_COMPLEX64:
        r.field = T_FLOAT_DATA;
        r.wire = OX_PB_I32;
        r.per = 2;
        break;
    case ONYX_DTYPE_DOUBLE:
        r.field = T_DOUBLE_DATA;
        r.wire = OX_PB_I64;
        r.st = ST_U64;
        break;
    case ONYX_DTYPE_COMPLEX128:
        r.field = T_DOUBLE_DATA;
        r.wire = OX_PB_I64;
        r.st = ST_U64;
        r.per = 2;
        break;
    case ONYX_DTYPE_INT64:
        r.field = T_INT64_DATA;
        r.st = ST_U64;
        break;
    case ONYX_DTYPE_UINT32: r.field = T_UINT64_DATA; break;
    case ONYX_DTYPE_UINT64:
        r.field = T_UINT64_DATA;
        r.st = ST_U64;
        break;
    case ONYX_DTYPE_STRING:
        r.field = T_STRING_DATA;
        r.wire = OX_PB_LEN;
        r.st = ST_STRING;
        break;
    case ONYX_DTYPE_INT32: break;
    case ONYX_DTYPE_INT16:
    case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_FLOAT16:
    case ONYX_DTYPE_BFLOAT16: r.st = ST_U16; break;
    case ONYX_DTYPE_BOOL: r.st = ST_BOOL; break;
    case ONYX_DTYPE_UINT4:
    case ONYX_DTYPE_INT4:
    case ONYX_DTYPE_FLOAT4E2M1:
    case ONYX_DTYPE_UINT2:
    case ONYX_DTYPE_INT2:
        r.st = ST_PACKED;
        r.per = -(int)(8 / packed_bits(dtype));
        break;
    default: r.st = ST_U8; break; /* INT8, UINT8, FLOAT8* (incl. E8M0) */
    }
    return r;
}

static const char *field_name(uint32_t f) {
    switch (f) {
    case T_FLOAT_DATA: return "float_data";
    case T_INT32_DATA: return "int32_data";
    case T_STRING_DATA: return "string_data";
    case T_INT64_DATA: return "int64_data";
    case T_DOUBLE_DATA: return "double_data";
    case T_UINT64_DATA: return "uint64_data";
    default: return "raw_data";
    }
}

/* The low `bits` bits of b, sign-extended into the byte when sign is set. */
static uint8_t low_bits(unsigned b, unsigned bits, int sign) {
    unsigned m = (1u << bits) - 1, top = 1u << (bits - 1);
    b &= m;
    return sign ? (uint8_t)(int8_t)((int)(b ^ top) - (int)top) : (uint8_t)b;
}

/* Unpack 8/bits elements per byte (first element in the lowest bits) into one
 * byte each. */
static void unpack_bits(const uint8_t *src, uint8_t *dst, size_t count, unsigned bits, int sign) {
    size_t per = 8 / bits;
    for (size_t i = 0; i < count; i++)
        dst[i] = low_bits((unsigned)src[i / per] >> ((i % per) * bits), bits, sign);
}

static void swap_bytes(uint8_t *p, size_t n, size_t w) {
    for (size_t i = 0; i + w <= n; i += w)
        for (size_t a = 0, b = w - 1; a < b; a++, b--) {
            uint8_t x = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = x;
        }
}

/* Little-endian packed bytes (raw_data or external data) into t->data. */
static onyx_status from_raw(ox_dec *d, ox_tensor_proto *t, size_t count, const uint8_t *src,
                            size_t len, int may_alias, const char *what) {
    size_t expect = raw_len_of(t, count);
    unsigned bits = packed_bits(t->dtype);
    if (len != expect)
        return ox_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s' (%s, %zu elements): %s holds %zu bytes, expected %zu", t->name,
                        ox_dtype_name(t->dtype), count, what, len, expect);
    if (count == 0) return ONYX_OK;
    size_t es = ox_dtype_size(t->dtype);
    size_t align = es > 8 ? 8 : es;
    if (!bits && OX_HOST_LE && may_alias && ((uintptr_t)src % align) == 0) {
        t->data = src;
        return ONYX_OK;
    }
    /* written whole below (unpack_bits fills every byte too) */
    uint8_t *dst = ox_arena_alloc_raw(d->arena, t->nbytes);
    if (!dst) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "tensor '%s': out of memory", t->name);
    if (bits) {
        unpack_bits(src, dst, count, bits, packed_signed(t->dtype));
    } else {
        memcpy(dst, src, t->nbytes);
        if (!OX_HOST_LE) {
            size_t w = (t->dtype == ONYX_DTYPE_COMPLEX64 || t->dtype == ONYX_DTYPE_COMPLEX128)
                           ? es / 2
                           : es;
            swap_bytes(dst, t->nbytes, w);
        }
    }
    t->data = dst;
    return ONYX_OK;
}

/* Store the elements of one typed field; *k counts field elements stored so far. */
static void store_field(const ox_pb *r, const ox_pb_field *f, const typed_rule *ru, int32_t dtype,
                        uint8_t *dst, size_t count, size_t *k) {
    ox_pb_iter it;
    uint64_t v;
    size_t i = *k;
    ox_pb_rep_begin(r, f, ru->wire, &it);
    switch (ru->st) {
    case ST_U8:
        while (ox_pb_rep_next(&it, &v)) dst[i++] = (uint8_t)v;
        break;
    case ST_BOOL:
        while (ox_pb_rep_next(&it, &v)) dst[i++] = (uint8_t)((uint32_t)v != 0);
        break;
    case ST_U16:
        while (ox_pb_rep_next(&it, &v)) {
            uint16_t x = (uint16_t)v;
            memcpy(dst + 2 * i++, &x, 2);
        }
        break;
    case ST_U32:
        while (ox_pb_rep_next(&it, &v)) {
            uint32_t x = (uint32_t)v;
            memcpy(dst + 4 * i++, &x, 4);
        }
        break;
    case ST_U64:
        while (ox_pb_rep_next(&it, &v)) memcpy(dst + 8 * i++, &v, 8);
        break;
    case ST_PACKED: {
        int sign = packed_signed(dtype);
        unsigned bits = packed_bits(dtype);
        size_t per = (size_t)-ru->per;
        /* i counts int32 values here; value i holds elements per*i .. per*i + per-1,
         * the first in its lowest bits */
        while (ox_pb_rep_next(&it, &v)) {
            for (size_t j = 0; j < per && per * i + j < count; j++)
                dst[per * i + j] = low_bits((unsigned)(v >> (j * bits)), bits, sign);
            i++;
        }
        break;
    }
    case ST_STRING: break;
    }
    *k = i;
}

typedef struct tscan {
    size_t n[16];       /* elements per typed field number */
    int seen[16];       /* field number present */
    const uint8_t *raw; /* last raw_data */
    size_t raw_len;
    int32_t location;
} tscan;

static onyx_status check_dtype(const ox_tensor_proto *t) {
    if (ox_dtype_valid(t->dtype)) return ONYX_OK;
    if (t->dtype == 0)
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' has no data type", t->name);
    return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' has invalid data type %d", t->name,
                    (int)t->dtype);
}

static onyx_status scan_tensor(ox_dec *d, ox_pb *r, ox_tensor_proto *t, tscan *s) {
    ox_pb_field f;
    int more;
    while (1) {
        OX_TRY(ox_pb_next(r, &f, &more));
        if (!more) break;
        if (f.num < 16) s->seen[f.num] = 1;
        switch (f.num) {
        case T_DIMS: {
            size_t n = 0;
            OX_TRY(ox_pb_rep_count(r, &f, OX_PB_VARINT, "dims", &n));
            if (n > (size_t)(OX_MAX_RANK - t->rank))
                return ox_error(ONYX_ERR_LIMIT, "tensor at byte %zu: more than %d dims", f.tag_off,
                                OX_MAX_RANK);
            ox_pb_iter it;
            uint64_t v;
            ox_pb_rep_begin(r, &f, OX_PB_VARINT, &it);
            while (ox_pb_rep_next(&it, &v)) t->dims[t->rank++] = ox_pb_u2i64(v);
            break;
        }
        case T_DATA_TYPE: OX_TRY(ox_pb_i32(r, &f, "data_type", &t->dtype)); break;
        case T_FLOAT_DATA:
            OX_TRY(ox_pb_rep_count(r, &f, OX_PB_I32, "float_data", &s->n[f.num]));
            break;
        case T_DOUBLE_DATA:
            OX_TRY(ox_pb_rep_count(r, &f, OX_PB_I64, "double_data", &s->n[f.num]));
            break;
        case T_INT32_DATA:
        case T_INT64_DATA:
        case T_UINT64_DATA:
            OX_TRY(ox_pb_rep_count(r, &f, OX_PB_VARINT, field_name(f.num), &s->n[f.num]));
            break;
        case T_STRING_DATA:
        case T_EXTERNAL_DATA:
            OX_TRY(ox_pb_want(r, &f, OX_PB_LEN,
                              f.num == T_STRING_DATA ? "string_data" : "external_data"));
            s->n[f.num]++;
            break;
        case T_NAME: OX_TRY(ox_dec_string(d, r, &f, "name", &t->name)); break;
        case T_DOC: OX_TRY(ox_dec_string(d, r, &f, "doc_string", &t->doc)); break;
        case T_RAW_DATA: OX_TRY(ox_pb_bytes(r, &f, "raw_data", &s->raw, &s->raw_len)); break;
        case T_DATA_LOCATION: OX_TRY(ox_pb_i32(r, &f, "data_location", &s->location)); break;
        case T_SEGMENT:
            return ox_error(ONYX_ERR_UNSUPPORTED,
                            "tensor at byte %zu: segmented tensors are not supported", f.tag_off);
        default: break;
        }
    }
    return ONYX_OK;
}

onyx_status ox_dec_tensor(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf,
                          ox_tensor_proto *t) {
    ox_pb r;
    memset(t, 0, sizeof *t);
    t->name = t->doc = ox_dec_empty;
    OX_TRY(ox_pb_sub(parent, pf, "TensorProto", &r));
    return ox_dec_tensor_msg(d, &r, t);
}

onyx_status ox_dec_tensor_msg(ox_dec *d, const ox_pb *msg, ox_tensor_proto *t) {
    ox_pb r = *msg, r2 = *msg;
    tscan s;
    memset(t, 0, sizeof *t);
    memset(&s, 0, sizeof s);
    t->name = t->doc = ox_dec_empty;
    OX_TRY(scan_tensor(d, &r, t, &s));
    OX_TRY(check_dtype(t));
    size_t count;
    for (int32_t i = 0; i < t->rank; i++)
        if (t->dims[i] < 0)
            return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': negative dim %lld", t->name,
                            (long long)t->dims[i]);
    if (!ox_shape_count_checked(t->rank, t->dims, t->dtype, &count, &t->nbytes))
        return ox_error(ONYX_ERR_LIMIT, "tensor '%s': element count overflows", t->name);

    typed_rule ru = rule_for(t->dtype);
    int typed_fields = 0;
    for (uint32_t fn = T_FLOAT_DATA; fn <= T_UINT64_DATA; fn++) {
        if (fn == T_NAME || fn == T_RAW_DATA || !s.seen[fn]) continue;
        typed_fields++;
        if (fn != ru.field)
            return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' of type %s has %s", t->name,
                            ox_dtype_name(t->dtype), field_name(fn));
    }
    int has_raw = s.seen[T_RAW_DATA];
    if (s.location != 0 && s.location != 1)
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': invalid data_location %d", t->name,
                        (int)s.location);
    t->external = s.location == 1;
    if ((t->external && (has_raw || typed_fields)) || (has_raw && typed_fields))
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' stores its data in more than one way",
                        t->name);
    if (has_raw && t->dtype == ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': STRING tensors cannot use raw_data",
                        t->name);

    size_t need = 0; /* elements the typed field must hold */
    if (typed_fields) {
        if (ru.per == 2)
            need = 2 * count;
        else if (ru.per < 0)
            need = packed_len(count, packed_bits(t->dtype));
        else
            need = count;
        if (s.n[ru.field] != need)
            return ox_error(ONYX_ERR_INVALID_MODEL,
                            "tensor '%s' (%s, %zu elements): %s holds %zu values, expected %zu",
                            t->name, ox_dtype_name(t->dtype), count, field_name(ru.field),
                            s.n[ru.field], need);
    } else if (!has_raw && !t->external && count > 0) {
        return ox_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' has %zu elements but no data", t->name,
                        count);
    }

    /* second pass: typed values and external_data entries */
    if (s.n[T_EXTERNAL_DATA]) {
        t->external_data = ox_arena_array(d->arena, s.n[T_EXTERNAL_DATA], sizeof(ox_string_pair));
        if (!t->external_data) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    }
    uint8_t *dst = NULL;
    if (typed_fields && count > 0) {
        dst = ox_arena_alloc(d->arena, t->nbytes);
        if (!dst) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "tensor '%s': out of memory", t->name);
        t->data = dst;
    }
    if (t->external_data || dst) {
        ox_pb_field f;
        int more;
        size_t k = 0;
        while (1) {
            OX_TRY(ox_pb_next(&r2, &f, &more));
            if (!more) break;
            if (f.num == T_EXTERNAL_DATA) {
                OX_TRY(ox_dec_string_pair(d, &r2, &f, &t->external_data[t->n_external_data++]));
            } else if (dst && f.num == ru.field) {
                if (ru.st == ST_STRING) {
                    ox_string *sv = (ox_string *)dst;
                    const char *str;
                    OX_TRY(ox_dec_string(d, &r2, &f, "string_data", &str));
                    sv[k].data = (char *)(uintptr_t)str; /* arena memory, never written */
                    sv[k].len = f.len;
                    k++;
                } else {
                    store_field(&r2, &f, &ru, t->dtype, dst, count, &k);
                }
            }
        }
    }
    if (t->external) {
        size_t expect = raw_len_of(t, count);
        const uint8_t *src = NULL;
        OX_TRY(resolve_external(d, t, expect, &src));
        return from_raw(d, t, count, src, expect, 1, "external data");
    }
    if (has_raw) return from_raw(d, t, count, s.raw, s.raw_len, d->zero_copy, "raw_data");
    return ONYX_OK;
}

onyx_status ox_dec_sparse(ox_dec *d, const ox_pb *parent, const ox_pb_field *pf,
                          ox_sparse_tensor *out) {
    ox_pb r;
    ox_pb_field f;
    int more;
    memset(out, 0, sizeof *out);
    out->values.name = out->values.doc = out->indices.name = out->indices.doc = ox_dec_empty;
    OX_TRY(ox_pb_sub(parent, pf, "SparseTensorProto", &r));
    while (1) {
        OX_TRY(ox_pb_next(&r, &f, &more));
        if (!more) break;
        if (f.num == 1) {
            OX_TRY(ox_dec_tensor(d, &r, &f, &out->values));
        } else if (f.num == 2) {
            OX_TRY(ox_dec_tensor(d, &r, &f, &out->indices));
        } else if (f.num == 3) {
            size_t n = 0;
            OX_TRY(ox_pb_rep_count(&r, &f, OX_PB_VARINT, "dims", &n));
            if (n > (size_t)(OX_MAX_RANK - out->rank))
                return ox_error(ONYX_ERR_LIMIT, "sparse tensor at byte %zu: more than %d dims",
                                f.tag_off, OX_MAX_RANK);
            ox_pb_iter it;
            uint64_t v;
            ox_pb_rep_begin(&r, &f, OX_PB_VARINT, &it);
            while (ox_pb_rep_next(&it, &v)) {
                int64_t dim = ox_pb_u2i64(v);
                if (dim < 0)
                    return ox_error(ONYX_ERR_INVALID_MODEL, "sparse tensor: negative dim %lld",
                                    (long long)dim);
                out->dims[out->rank++] = dim;
            }
        }
    }
    return ONYX_OK;
}

onyx_status ox_dec_tensor_copy_out(const ox_tensor_proto *p, ox_tensor *out) {
    ox_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = p->dtype;
    t.rank = p->rank;
    if (p->rank) memcpy(t.dims, p->dims, sizeof(int64_t) * (size_t)p->rank);
    t.data = ox_malloc_aligned(p->nbytes);
    if (!t.data) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "tensor '%s': out of memory", p->name);
    if (p->dtype == ONYX_DTYPE_STRING) {
        size_t n = p->nbytes / sizeof(ox_string);
        ox_string *dst = t.data;
        const ox_string *src = p->data;
        memset(dst, 0, p->nbytes);
        for (size_t i = 0; i < n; i++) {
            dst[i].data = ox_malloc(src[i].len + 1);
            if (!dst[i].data) {
                ox_tensor_free_data(&t);
                return ox_error(ONYX_ERR_OUT_OF_MEMORY, "tensor '%s': out of memory", p->name);
            }
            if (src[i].len) memcpy(dst[i].data, src[i].data, src[i].len);
            dst[i].data[src[i].len] = 0;
            dst[i].len = src[i].len;
        }
    } else if (p->nbytes) {
        memcpy(t.data, p->data, p->nbytes);
    }
    *out = t;
    return ONYX_OK;
}
