/* onyx run MODEL [--function [DOMAIN:]NAME] [-i NAME=FILE]... [-o NAME]... [--outdir DIR]
 *          [--threads N] [--trace]
 * Inputs come from .npy files or .pb files (a TensorProto, or a SequenceProto /
 * OptionalProto for inputs declared as sequences / optionals). Outputs are printed
 * one per line; a sequence prints one line per item ("NAME: sequence of N: [i]
 * dtype[shape] values") and an empty optional prints "NAME: none". --outdir writes
 * NAME.npy per tensor and NAME_0.npy, NAME_1.npy, ... per sequence item. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "format/npy.h"
#include "util/alloc.h"

#define MAX_ARGS 256

static void trace_node(void *user, const char *name, const char *op_type, double seconds) {
    (void)user;
    fprintf(stderr, "trace: ran node '%s' (%s) in %.3f ms\n", name, op_type, seconds * 1e3);
}

/* Progress on a terminal once a run has taken more than a second. */
typedef struct progress {
    size_t nodes;
    double start, last;
    int shown;
} progress;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress_node(void *user, const char *name, const char *op_type, double seconds) {
    (void)name;
    (void)op_type;
    (void)seconds;
    progress *p = user;
    p->nodes++;
    double t = now_s();
    if (t - p->start > 1.0 && t - p->last > 0.2) {
        fprintf(stderr, "\ronyx: running: %zu nodes done, %.1f s", p->nodes, t - p->start);
        p->last = t;
        p->shown = 1;
    }
}

/* A name usable as a file name: anything but [A-Za-z0-9._-] becomes '_'. */
static void safe_name(const char *name, char *out, size_t cap) {
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        out[i] = ok ? ch : '_';
    }
    out[i] = 0;
    if (!strcmp(out, ".") || !strcmp(out, "..") || !out[0]) snprintf(out, cap, "_");
}

/* Write v under dir: a tensor as NAME.npy, a sequence's items as NAME_0.npy,
 * NAME_1.npy, ...; an empty optional writes nothing. */
static onyx_status write_value(const char *dir, const char *value_name, const ox_tensor *v) {
    char name[512], path[4096];
    safe_name(value_name, name, sizeof name);
    if (v->dtype == OX_DTYPE_NONE) {
        fprintf(stderr, "onyx: notice: output '%s' is an empty optional: no file written\n", value_name);
        return ONYX_OK;
    }
    if (v->dtype != OX_DTYPE_SEQUENCE) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, name);
        return ox_npy_write(path, v);
    }
    const ox_sequence *s = v->data;
    for (size_t i = 0; s && i < s->n; i++) {
        if (s->items[i].dtype == OX_DTYPE_SEQUENCE || s->items[i].dtype == OX_DTYPE_NONE)
            return ox_error(ONYX_ERR_UNSUPPORTED,
                            "output '%s' item %zu is not a tensor: cannot write it as .npy",
                            value_name, i);
        snprintf(path, sizeof path, "%s/%s_%zu.npy", dir, name, i);
        OX_TRY(ox_npy_write(path, &s->items[i]));
    }
    return ONYX_OK;
}

int cli_run(int argc, char **argv) {
    const char *model_path = NULL, *outdir = NULL, *function = NULL;
    const char *in_specs[MAX_ARGS], *out_names[MAX_ARGS], *attrs[MAX_ARGS];
    size_t n_in = 0, n_out = 0, n_attrs = 0;
    int threads = 1, trace = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-i") || !strcmp(a, "-o") || !strcmp(a, "--outdir") || !strcmp(a, "--threads") ||
            !strcmp(a, "--function") || !strcmp(a, "--attr")) {
            if (i + 1 >= argc) return cli_fail("%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "-i")) {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v) return cli_fail("-i needs NAME=FILE, got '%s'", v);
                if (n_in == MAX_ARGS) return cli_fail("too many -i options");
                in_specs[n_in++] = v;
            } else if (!strcmp(a, "-o")) {
                if (n_out == MAX_ARGS) return cli_fail("too many -o options");
                out_names[n_out++] = v;
            } else if (!strcmp(a, "--outdir")) {
                outdir = v;
            } else if (!strcmp(a, "--function")) {
                function = v;
            } else if (!strcmp(a, "--attr")) {
                if (n_attrs == MAX_ARGS) return cli_fail("too many --attr options");
                attrs[n_attrs++] = v;
            } else if (cli_parse_int(a, v, 1, 1024, &threads)) {
                return 1;
            }
        } else if (!strcmp(a, "--trace")) {
            trace = 1;
        } else if (a[0] == '-') {
            return cli_fail("unknown option '%s'", a);
        } else if (!model_path) {
            model_path = a;
        } else {
            return cli_fail("unexpected argument '%s'", a);
        }
    }
    if (n_attrs && !function) return cli_fail("--attr needs --function");
    if (!model_path)
        return cli_fail("usage: onyx run MODEL [--function [DOMAIN:]NAME] [-i NAME=FILE]... [-o NAME]...\n"
                        "                [--outdir DIR] [--threads N] [--trace]\n"
                        "  -i NAME=FILE  an input from .npy, or .pb (TensorProto; SequenceProto or\n"
                        "                OptionalProto for sequence / optional inputs)\n"
                        "  --outdir DIR  write each output as DIR/NAME.npy; a sequence as NAME_0.npy,\n"
                        "                NAME_1.npy, ... (one per item); an empty optional writes nothing");

    int rc = 1;
    onyx_model *model = NULL;
    onyx_session *s = NULL;
    cli_inputs inputs = {0};
    onyx_tensor *results[MAX_ARGS] = {0};
    const char *req[MAX_ARGS];
    size_t n_req = 0;

    if (onyx_model_load_file(model_path, &model) != ONYX_OK) {
        cli_fail("%s", onyx_last_error());
        goto done;
    }
    onyx_session_options opts;
    onyx_session_options_init(&opts);
    opts.threads = threads;
    progress prog = {0};
    if (trace) {
        opts.node_callback = trace_node;
    } else if (isatty(2)) {
        opts.node_callback = progress_node;
        opts.node_callback_user = &prog;
    }
    onyx_status created;
    if (function) {
        /* [DOMAIN:]NAME — the domain is what precedes the last ':' */
        const char *colon = strrchr(function, ':');
        char domain[512] = "";
        if (colon) snprintf(domain, sizeof domain, "%.*s", (int)(colon - function), function);
        created = onyx_session_create_function(model, domain, colon ? colon + 1 : function, attrs, n_attrs,
                                               &opts, &s);
    } else {
        created = onyx_session_create(model, &opts, &s);
    }
    if (created != ONYX_OK) {
        cli_fail("%s", onyx_last_error());
        goto done;
    }
    if (cli_inputs_make(s, in_specs, n_in, &inputs)) goto done;
    if (n_out) {
        for (size_t k = 0; k < n_out; k++) req[k] = out_names[k];
        n_req = n_out;
    } else {
        n_req = onyx_session_output_count(s);
        if (n_req > MAX_ARGS) n_req = MAX_ARGS;
        for (size_t k = 0; k < n_req; k++) {
            onyx_value_info io;
            onyx_session_output_info(s, k, &io);
            req[k] = io.name;
        }
    }
    prog.start = prog.last = now_s();
    onyx_status ran = onyx_session_run(s, inputs.n, inputs.names, inputs.ptrs, n_req, req, results);
    if (prog.shown) fprintf(stderr, "\n");
    if (ran != ONYX_OK) {
        cli_fail("%s", onyx_last_error());
        goto done;
    }
    if (outdir && mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        cli_fail("cannot create '%s': %s", outdir, strerror(errno));
        goto done;
    }
    rc = 0;
    for (size_t k = 0; k < n_req; k++) {
        cli_print_value(stdout, req[k], &results[k]->t, 10);
        if (outdir && write_value(outdir, req[k], &results[k]->t) != ONYX_OK) {
            cli_fail("%s", onyx_last_error());
            rc = 1;
        }
    }
done:
    for (size_t k = 0; k < MAX_ARGS; k++) onyx_tensor_free(results[k]);
    cli_inputs_free(&inputs);
    onyx_session_free(s);
    onyx_model_free(model);
    return rc;
}
