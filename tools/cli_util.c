#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format/npy.h"
#include "util/alloc.h"
#include "util/file.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

onyx_status cli_read_tensor(const char *path, ox_tensor *t) {
    if (ends_with(path, ".npy")) return ox_npy_read(path, t);
    unsigned char *data = NULL;
    size_t size = 0;
    OX_TRY(ox_read_file(path, &data, &size));
    onyx_status s = ox_decode_tensor_file(data, size, t, NULL);
    ox_free(data);
    if (s) ox_error_prefix(s, "'%s': ", path);
    return s;
}

onyx_status cli_random_tensor(ox_tensor *t, unsigned seed) {
    OX_TRY(ox_tensor_alloc_data(t));
    uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t)seed * 0xBF58476D1CE4E5B9ull;
    size_t n = ox_tensor_count(t);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
        switch (t->dtype) {
        case ONYX_DTYPE_FLOAT: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case ONYX_DTYPE_DOUBLE: ((double *)t->data)[i] = 2 * u - 1; break;
        case ONYX_DTYPE_INT64: ((int64_t *)t->data)[i] = (int64_t)(u * 10); break;
        case ONYX_DTYPE_INT32: ((int32_t *)t->data)[i] = (int32_t)(u * 10); break;
        case ONYX_DTYPE_BOOL: ((uint8_t *)t->data)[i] = u < 0.5; break;
        case ONYX_DTYPE_UINT8:
        case ONYX_DTYPE_INT8: ((uint8_t *)t->data)[i] = (uint8_t)(u * 10); break;
        default: break; /* zeros */
        }
    }
    return ONYX_OK;
}

void cli_print_tensor(FILE *f, const char *name, const ox_tensor *t, size_t max_values) {
    char desc[300];
    fprintf(f, "%s: %s", name, ox_tensor_describe(t, desc, sizeof desc));
    size_t n = ox_tensor_count(t);
    if (n > max_values) n = max_values;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == ONYX_DTYPE_STRING) {
            const ox_string *s = (const ox_string *)t->data + i;
            fprintf(f, " \"%.*s\"", (int)(s->len > 40 ? 40 : s->len), s->data);
        } else if (ox_dtype_is_float(t->dtype)) {
            fprintf(f, " %.6g", ox_tensor_get_double(t, i));
        } else if (t->dtype == ONYX_DTYPE_UINT64) {
            fprintf(f, " %llu", (unsigned long long)((const uint64_t *)t->data)[i]);
        } else if (t->dtype == ONYX_DTYPE_COMPLEX64 || t->dtype == ONYX_DTYPE_COMPLEX128) {
            fprintf(f, " ?");
        } else {
            fprintf(f, " %lld", (long long)ox_tensor_get_int(t, i));
        }
    }
    if (ox_tensor_count(t) > n) fprintf(f, " ...");
    fputc('\n', f);
}

int cli_parse_int(const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return cli_fail("%s needs an integer in [%d, %d], got '%s'", opt, lo, hi, s ? s : "");
    *out = (int)v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !(v >= 0))
        return cli_fail("%s needs a non-negative number, got '%s'", opt, s ? s : "");
    *out = v;
    return 0;
}
