/* onyx test [--rtol R] [--atol A] [--threads N] DIR...
 * Each DIR is an ONNX test case (model.onnx + test_data_set_N/{input,output}_K.pb,
 * matched to the graph's inputs and outputs by position) or a folder of them. Each
 * .pb holds a TensorProto, SequenceProto or OptionalProto, as the graph value's
 * declared type says; sequences compare item by item, empty optionals by presence. */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "util/alloc.h"

typedef struct {
    double rtol, atol;
    int threads;
    int passed, failed;
} test_opts;

/* snprintf whose truncation is reported (returns 0 when the text did not fit). */
static int fmt_ok(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fmt_ok(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of entries in dir starting with prefix (NULL: all but dot files).
 * Caller frees each name and the array. */
static char **list_dir(const char *dir, const char *prefix, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (prefix && strncmp(e->d_name, prefix, strlen(prefix))) continue;
        if (*n == cap) {
            char **nn = realloc(names, (cap *= 2) * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static void index_of(const ox_tensor *t, size_t flat, char *buf, size_t cap) {
    int64_t idx[OX_MAX_RANK];
    for (int r = t->rank - 1; r >= 0; r--) {
        idx[r] = t->dims[r] ? (int64_t)(flat % (size_t)t->dims[r]) : 0;
        flat = t->dims[r] ? flat / (size_t)t->dims[r] : 0;
    }
    ox_shape_describe(t->rank, idx, buf, cap);
}

/* "a sequence of 3", "an empty optional", "a tensor float32[2]" */
static const char *value_kind(const ox_tensor *t, char *buf, size_t cap) {
    char d[300];
    if (t->dtype == OX_DTYPE_SEQUENCE)
        snprintf(buf, cap, "a sequence of %zu", t->data ? ((const ox_sequence *)t->data)->n : (size_t)0);
    else if (t->dtype == OX_DTYPE_NONE)
        snprintf(buf, cap, "an empty optional");
    else
        snprintf(buf, cap, "a tensor %s", ox_tensor_describe(t, d, sizeof d));
    return buf;
}

/* Compare got with expected; on a difference write a description into msg. */
static int compare(const ox_tensor *exp, const ox_tensor *got, double rtol, double atol, char *msg,
                   size_t cap) {
    char a[300], b[300];
    if (exp->dtype != got->dtype || exp->rank != got->rank ||
        (exp->rank && memcmp(exp->dims, got->dims, sizeof(int64_t) * (size_t)exp->rank))) {
        snprintf(msg, cap, "got %s, expected %s", ox_tensor_describe(got, a, sizeof a),
                 ox_tensor_describe(exp, b, sizeof b));
        return 0;
    }
    size_t n = ox_tensor_count(exp);
    if (exp->dtype == ONYX_DTYPE_STRING) {
        const ox_string *x = exp->data, *y = got->data;
        for (size_t i = 0; i < n; i++)
            if (x[i].len != y[i].len || memcmp(x[i].data, y[i].data, x[i].len)) {
                index_of(exp, i, a, sizeof a);
                snprintf(msg, cap, "strings differ at %s", a);
                return 0;
            }
        return 1;
    }
    if (exp->dtype == ONYX_DTYPE_COMPLEX64 || exp->dtype == ONYX_DTYPE_COMPLEX128) {
        /* compare as pairs of reals */
        size_t m = n * 2;
        int is64 = exp->dtype == ONYX_DTYPE_COMPLEX64;
        for (size_t i = 0; i < m; i++) {
            double x = is64 ? ((const float *)exp->data)[i] : ((const double *)exp->data)[i];
            double y = is64 ? ((const float *)got->data)[i] : ((const double *)got->data)[i];
            if (!(fabs(x - y) <= atol + rtol * fabs(x)) && !(isnan(x) && isnan(y))) {
                snprintf(msg, cap, "complex element %zu differs: got %g, expected %g", i / 2, y, x);
                return 0;
            }
        }
        return 1;
    }
    int is_float = ox_dtype_is_float(exp->dtype);
    double worst = -1;
    size_t worst_i = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        int ok;
        double diff;
        if (is_float) {
            double x = ox_tensor_get_double(exp, i), y = ox_tensor_get_double(got, i);
            if (isnan(x) || isnan(y)) {
                ok = isnan(x) && isnan(y);
                diff = ok ? 0 : INFINITY;
            } else if (isinf(x) || isinf(y)) {
                ok = x == y;
                diff = ok ? 0 : INFINITY;
            } else {
                diff = fabs(x - y);
                ok = diff <= atol + rtol * fabs(x);
            }
        } else if (exp->dtype == ONYX_DTYPE_UINT64) {
            uint64_t x = ((const uint64_t *)exp->data)[i], y = ((const uint64_t *)got->data)[i];
            ok = x == y;
            diff = x > y ? (double)(x - y) : (double)(y - x);
        } else {
            int64_t x = ox_tensor_get_int(exp, i), y = ox_tensor_get_int(got, i);
            ok = x == y;
            diff = fabs((double)x - (double)y);
        }
        if (!ok) {
            bad++;
            if (diff > worst) {
                worst = diff;
                worst_i = i;
            }
        }
    }
    if (!bad) return 1;
    index_of(exp, worst_i, a, sizeof a);
    snprintf(msg, cap, "%zu of %zu values differ, max abs diff %g at %s (got %.9g, expected %.9g)", bad, n,
             worst, a, ox_tensor_get_double(got, worst_i), ox_tensor_get_double(exp, worst_i));
    return 0;
}

/* Compare values: tensors as above; sequences item by item (lengths must match);
 * empty optionals only match empty optionals. */
static int compare_value(const ox_tensor *exp, const ox_tensor *got, double rtol, double atol, char *msg,
                         size_t cap) {
    char a[300], b[300];
    int exp_seq = exp->dtype == OX_DTYPE_SEQUENCE, got_seq = got->dtype == OX_DTYPE_SEQUENCE;
    int exp_none = exp->dtype == OX_DTYPE_NONE, got_none = got->dtype == OX_DTYPE_NONE;
    if (exp_seq != got_seq || exp_none != got_none) {
        snprintf(msg, cap, "got %s, expected %s", value_kind(got, a, sizeof a), value_kind(exp, b, sizeof b));
        return 0;
    }
    if (exp_none) return 1;
    if (!exp_seq) return compare(exp, got, rtol, atol, msg, cap);
    const ox_sequence *x = exp->data, *y = got->data;
    if (x->n != y->n) {
        snprintf(msg, cap, "got %s, expected %s", value_kind(got, a, sizeof a), value_kind(exp, b, sizeof b));
        return 0;
    }
    if (x->n == 0 && x->elem_dtype != ONYX_DTYPE_UNDEFINED && y->elem_dtype != ONYX_DTYPE_UNDEFINED &&
        x->elem_dtype != y->elem_dtype) {
        snprintf(msg, cap, "got an empty sequence of %s, expected one of %s", ox_dtype_name(y->elem_dtype),
                 ox_dtype_name(x->elem_dtype));
        return 0;
    }
    for (size_t i = 0; i < x->n; i++) {
        char why[600];
        if (!compare_value(&x->items[i], &y->items[i], rtol, atol, why, sizeof why)) {
            fmt_ok(msg, cap, "sequence item %zu: %s", i, why);
            return 0;
        }
    }
    return 1;
}

/* The declared type of graph value v, or NULL. */
static const ox_type *value_type(const ox_rgraph *g, int v) {
    const ox_value_info *info = g->values[v].info;
    return info ? info->type : NULL;
}

/* Run one data set; returns 1 pass, 0 fail (msg says why), -1 error (msg says why). */
static int run_data_set(onyx_session *s, const char *dir, test_opts *o, char *msg, size_t cap) {
    const ox_rgraph *g = s->graph;
    char path[4096];
    size_t n_in = 0, n_out = 0;
    while (fmt_ok(path, sizeof path, "%s/input_%zu.pb", dir, n_in) && is_file(path)) n_in++;
    while (fmt_ok(path, sizeof path, "%s/output_%zu.pb", dir, n_out) && is_file(path)) n_out++;
    if (n_in != g->n_inputs) {
        fmt_ok(msg, cap, "%s has %zu input files, the graph has %zu inputs", dir, n_in, g->n_inputs);
        return -1;
    }
    if (n_out != g->n_outputs) {
        fmt_ok(msg, cap, "%s has %zu output files, the graph has %zu outputs", dir, n_out, g->n_outputs);
        return -1;
    }
    ox_tensor *in = ox_calloc(n_in + 1, sizeof *in);
    ox_tensor *exp = ox_calloc(n_out + 1, sizeof *exp);
    ox_tensor *got = ox_calloc(n_out + 1, sizeof *got);
    int result = -1, ran = 0;
    if (!in || !exp || !got) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_in; i++) {
        fmt_ok(path, sizeof path, "%s/input_%zu.pb", dir, i);
        if (cli_read_value(path, value_type(g, g->inputs[i]), &in[i]) != ONYX_OK) {
            snprintf(msg, cap, "%s", onyx_last_error());
            goto done;
        }
    }
    for (size_t i = 0; i < n_out; i++) {
        fmt_ok(path, sizeof path, "%s/output_%zu.pb", dir, i);
        if (cli_read_value(path, value_type(g, g->outputs[i]), &exp[i]) != ONYX_OK) {
            snprintf(msg, cap, "%s", onyx_last_error());
            goto done;
        }
    }
    if (ox_session_run_values(s, in, g->outputs, g->n_outputs, got) != ONYX_OK) {
        snprintf(msg, cap, "%s", onyx_last_error());
        goto done;
    }
    ran = 1;
    result = 1;
    for (size_t i = 0; i < n_out && result == 1; i++) {
        char why[700];
        if (!compare_value(&exp[i], &got[i], o->rtol, o->atol, why, sizeof why)) {
            fmt_ok(msg, cap, "output '%s': %s", g->values[g->outputs[i]].name, why);
            result = 0;
        }
    }
done:
    for (size_t i = 0; in && i < n_in; i++) ox_tensor_free_data(&in[i]);
    for (size_t i = 0; exp && i < n_out; i++) ox_tensor_free_data(&exp[i]);
    for (size_t i = 0; ran && i < n_out; i++) ox_tensor_free_data(&got[i]);
    ox_free(in);
    ox_free(exp);
    ox_free(got);
    return result;
}

static void run_case(const char *dir, test_opts *o) {
    const char *name = strrchr(dir, '/');
    name = name && name[1] ? name + 1 : dir;
    char path[4096], msg[1200];
    fmt_ok(path, sizeof path, "%s/model.onnx", dir);
    onyx_model *m = NULL;
    onyx_session *s = NULL;
    onyx_session_options opts;
    onyx_session_options_init(&opts);
    opts.threads = o->threads;
    int result = -1;
    if (onyx_model_load_file(path, &m) != ONYX_OK || onyx_session_create(m, &opts, &s) != ONYX_OK) {
        snprintf(msg, sizeof msg, "%s", onyx_last_error());
    } else {
        size_t n_sets;
        char **sets = list_dir(dir, "test_data_set_", &n_sets);
        result = 1;
        if (!n_sets) {
            snprintf(msg, sizeof msg, "no test_data_set_* folders");
            result = -1;
        }
        for (size_t i = 0; i < n_sets && result == 1; i++) {
            char sub[4096], why[1000];
            fmt_ok(sub, sizeof sub, "%s/%s", dir, sets[i]);
            result = run_data_set(s, sub, o, why, sizeof why);
            if (result != 1) fmt_ok(msg, sizeof msg, "%s: %s", sets[i], why);
        }
        free_list(sets, n_sets);
    }
    if (result == 1) {
        printf("PASS %s\n", name);
        o->passed++;
    } else {
        printf("%s %s: %s\n", result == 0 ? "FAIL" : "ERROR", name, msg);
        o->failed++;
    }
    fflush(stdout);
    onyx_session_free(s);
    onyx_model_free(m);
}

static void run_path(const char *dir, test_opts *o) {
    char path[4096];
    if (fmt_ok(path, sizeof path, "%s/model.onnx", dir) && is_file(path)) {
        run_case(dir, o);
        return;
    }
    size_t n;
    char **names = list_dir(dir, NULL, &n);
    for (size_t i = 0; i < n; i++) {
        char sub[4096];
        if (fmt_ok(sub, sizeof sub, "%s/%s", dir, names[i]) &&
            fmt_ok(path, sizeof path, "%s/model.onnx", sub) && is_file(path))
            run_case(sub, o);
    }
    free_list(names, n);
}

int cli_test(int argc, char **argv) {
    test_opts o = {.rtol = 1e-3, .atol = 1e-5, .threads = 1};
    int n_dirs = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--rtol") || !strcmp(a, "--atol") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc) return cli_fail("%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--rtol") ? cli_parse_double(a, v, &o.rtol)
                : !strcmp(a, "--atol") ? cli_parse_double(a, v, &o.atol)
                                       : cli_parse_int(a, v, 1, 1024, &o.threads))
                return 1;
        } else if (a[0] == '-') {
            return cli_fail("unknown option '%s'", a);
        }
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--rtol") || !strcmp(a, "--atol") || !strcmp(a, "--threads")) {
            i++;
            continue;
        }
        if (!is_dir(a)) {
            printf("ERROR %s: not a folder\n", a);
            o.failed++;
            continue;
        }
        n_dirs++;
        run_path(a, &o);
    }
    if (!n_dirs && !o.failed) return cli_fail("usage: onyx test [--rtol R] [--atol A] [--threads N] DIR...");
    printf("%d passed, %d failed\n", o.passed, o.failed);
    return o.failed ? 1 : 0;
}
