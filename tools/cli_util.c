#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format/npy.h"
#include "format/testdata.h"
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

/* The element dtype of a sequence of type t's element type (UNDEFINED when unsaid). */
static int32_t seq_elem_dtype(const ox_type *elem) {
    if (!elem) return ONYX_DTYPE_UNDEFINED;
    if (elem->kind == OX_TYPE_TENSOR) return elem->elem_type;
    if (elem->kind == OX_TYPE_SEQUENCE) return OX_DTYPE_SEQUENCE;
    return ONYX_DTYPE_UNDEFINED;
}

/* Move a decoded test value into the runtime representation; type (may be NULL)
 * supplies what the file does not say (an empty sequence's element type). */
static onyx_status testdata_to_value(ox_testdata *d, const ox_type *type, ox_tensor *out) {
    memset(out, 0, sizeof *out);
    if (d->kind == OX_TESTDATA_TENSOR) {
        *out = d->tensor;
        d->tensor.data = NULL;
        return ONYX_OK;
    }
    if (type && type->kind == OX_TYPE_OPTIONAL) type = type->elem;
    if (d->kind == OX_TESTDATA_OPTIONAL) {
        if (!d->present || !d->elem) {
            out->dtype = OX_DTYPE_NONE;
            return ONYX_OK;
        }
        return testdata_to_value(d->elem, type, out);
    }
    const ox_type *elem = type && type->kind == OX_TYPE_SEQUENCE ? type->elem : NULL;
    if (ox_sequence_init(out, seq_elem_dtype(elem)) != ONYX_OK)
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < d->n_items; i++) {
        ox_tensor item;
        onyx_status st = testdata_to_value(&d->items[i], elem, &item);
        if (st == ONYX_OK && ox_sequence_insert(out->data, i, &item) != ONYX_OK) {
            ox_tensor_free_data(&item);
            st = ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (st != ONYX_OK) {
            ox_tensor_free_data(out);
            return st;
        }
    }
    return ONYX_OK;
}

onyx_status cli_read_value(const char *path, const ox_type *type, ox_tensor *v) {
    int kind = ox_testdata_kind_of(type);
    if (kind == OX_TESTDATA_TENSOR) return cli_read_tensor(path, v);
    if (ends_with(path, ".npy"))
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "'%s': a .npy file holds a tensor, but a %s is expected",
                        path, kind == OX_TESTDATA_SEQUENCE ? "sequence" : "optional value");
    unsigned char *data = NULL;
    size_t size = 0;
    OX_TRY(ox_read_file(path, &data, &size));
    ox_testdata d;
    onyx_status s = ox_testdata_decode(data, size, kind, &d);
    ox_free(data);
    if (s == ONYX_OK) {
        s = testdata_to_value(&d, type, v);
        ox_testdata_free(&d);
    }
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

/* " dtype[shape] v0 v1 ...\n" */
static void print_tensor_body(FILE *f, const ox_tensor *t, size_t max_values) {
    char desc[300];
    fprintf(f, " %s", ox_tensor_describe(t, desc, sizeof desc));
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

void cli_print_tensor(FILE *f, const char *name, const ox_tensor *t, size_t max_values) {
    fprintf(f, "%s:", name);
    print_tensor_body(f, t, max_values);
}

void cli_print_value(FILE *f, const char *name, const ox_tensor *v, size_t max_values) {
    if (v->dtype == OX_DTYPE_NONE) {
        fprintf(f, "%s: none\n", name);
        return;
    }
    if (v->dtype != OX_DTYPE_SEQUENCE) {
        cli_print_tensor(f, name, v, max_values);
        return;
    }
    const ox_sequence *s = v->data;
    size_t n = s ? s->n : 0;
    if (!n) fprintf(f, "%s: sequence of 0\n", name);
    for (size_t i = 0; i < n; i++) {
        const ox_tensor *item = &s->items[i];
        char prefix[600];
        snprintf(prefix, sizeof prefix, "%s: sequence of %zu: [%zu]", name, n, i);
        if (item->dtype == OX_DTYPE_SEQUENCE || item->dtype == OX_DTYPE_NONE) {
            cli_print_value(f, prefix, item, max_values);
        } else {
            fputs(prefix, f);
            print_tensor_body(f, item, max_values);
        }
    }
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

int cli_inputs_make(onyx_session *s, const char *const *specs, size_t n_specs, cli_inputs *in) {
    size_t n = onyx_session_input_count(s);
    memset(in, 0, sizeof *in);
    in->n = n;
    in->vals = ox_calloc(n + 1, sizeof *in->vals);
    in->handles = ox_calloc(n + 1, sizeof *in->handles);
    in->ptrs = ox_calloc(n + 1, sizeof *in->ptrs);
    in->names = ox_calloc(n + 1, sizeof *in->names);
    unsigned char *given = ox_calloc(n + 1, 1);
    if (!in->vals || !in->handles || !in->ptrs || !in->names || !given) {
        ox_free(given);
        return cli_fail("out of memory");
    }
    int rc = 0;
    for (size_t k = 0; k < n_specs && !rc; k++) {
        const char *eq = strchr(specs[k], '=');
        size_t len = eq ? (size_t)(eq - specs[k]) : 0, j = 0;
        for (; eq && j < n; j++) {
            onyx_value_info io;
            onyx_session_input_info(s, j, &io);
            if (strlen(io.name) == len && !strncmp(io.name, specs[k], len)) break;
        }
        if (!eq || j == n) {
            rc = cli_fail("'%.*s' is not an input of the model", (int)len, specs[k]);
        } else if (given[j]) {
            rc = cli_fail("input '%.*s' is given twice", (int)len, specs[k]);
        } else {
            const ox_value_info *info = s->graph->values[s->graph->inputs[j]].info;
            if (cli_read_value(eq + 1, info ? info->type : NULL, &in->vals[j]) != ONYX_OK)
                rc = cli_fail("%s", onyx_last_error());
            given[j] = !rc;
        }
    }
    for (size_t j = 0; j < n && !rc; j++) {
        onyx_value_info io;
        onyx_session_input_info(s, j, &io);
        if (!given[j]) {
            if (io.rank < 0 || !ox_dtype_valid(io.dtype)) {
                rc = cli_fail("input '%s' has no declared type and shape: give it with -i", io.name);
                break;
            }
            ox_tensor *t = &in->vals[j];
            t->dtype = io.dtype;
            t->rank = io.rank;
            for (int r = 0; r < io.rank; r++) {
                t->dims[r] = io.dims[r] >= 0 ? io.dims[r] : 1;
                if (io.dims[r] < 0)
                    fprintf(stderr, "onyx: notice: input '%s' dim %d (%s) set to 1\n", io.name, r,
                            io.dim_names[r] ? io.dim_names[r] : "?");
            }
            if (cli_random_tensor(t, (unsigned)j + 1) != ONYX_OK) {
                rc = cli_fail("input '%s': %s", io.name, onyx_last_error());
                break;
            }
            fprintf(stderr, "onyx: notice: input '%s' not given: using seeded random values\n", io.name);
        }
        in->handles[j].t = in->vals[j];
        in->ptrs[j] = &in->handles[j];
        in->names[j] = io.name;
    }
    ox_free(given);
    return rc;
}

void cli_inputs_free(cli_inputs *in) {
    for (size_t j = 0; in->vals && j < in->n; j++) ox_tensor_free_data(&in->vals[j]);
    ox_free(in->vals);
    ox_free(in->handles);
    ox_free(in->ptrs);
    ox_free(in->names);
    memset(in, 0, sizeof *in);
}
