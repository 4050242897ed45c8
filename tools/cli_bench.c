/* onyx bench MODEL [-i NAME=FILE]... [--threads N] [--iters K] [--warmup W] [--json] [--profile]
 *                  [--profile-all]
 * Runs the model W times to warm up, then K timed runs; prints min/median/max latency.
 * --profile adds the time per op type and the 20 slowest nodes (from extra runs with a
 * per-node callback, so the timed runs carry no profiling cost); --profile-all lists every
 * node in the order they ran instead of the 20 slowest (bench/profile_compare.py lines
 * them up with the comparison runtime's trace). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util/alloc.h"

#define MAX_ARGS 256

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Per-node times, run by run: each node's figure is its median over the runs (the
 * sum of its calls in each), which one stall of the machine (a millisecond now and
 * then on a shared host) does not move the way it moves a mean. Nodes are told apart
 * by their op_type string, which each decoded node owns. */
typedef struct prof_entry {
    const char *name, *op;
    double cur;  /* this run's time so far, ms */
    double *run; /* per finished run, ms */
    double ms;   /* the median, once the runs are done (op types: their nodes' sum) */
    size_t count; /* op types: their nodes */
} prof_entry;

typedef struct profile {
    prof_entry *nodes;
    size_t n_nodes, cap_nodes;
    int runs, done; /* runs to record; runs finished */
    int failed;     /* out of memory while recording */
} profile;

static void on_node(void *user, const char *name, const char *op, double seconds) {
    profile *p = user;
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].op == op) {
            p->nodes[i].cur += seconds * 1e3;
            return;
        }
    if (p->n_nodes == p->cap_nodes) {
        size_t c = p->cap_nodes ? p->cap_nodes * 2 : 64;
        prof_entry *na = realloc(p->nodes, c * sizeof *na);
        if (!na) {
            p->failed = 1;
            return;
        }
        p->nodes = na;
        p->cap_nodes = c;
    }
    /* a node first seen in a later run (a branch) took no time in the earlier ones */
    double *run = calloc((size_t)p->runs + 1, sizeof *run);
    if (!run) {
        p->failed = 1;
        return;
    }
    p->nodes[p->n_nodes++] = (prof_entry){name, op, seconds * 1e3, run, 0, 0};
}

/* The end of a run: its times to the record (none while warming up, done < 0). */
static void prof_end_run(profile *p) {
    for (size_t i = 0; i < p->n_nodes; i++) {
        if (p->done >= 0 && p->done < p->runs) p->nodes[i].run[p->done] = p->nodes[i].cur;
        p->nodes[i].cur = 0;
    }
    p->done++;
}

static void prof_free(profile *p) {
    for (size_t i = 0; i < p->n_nodes; i++) free(p->nodes[i].run);
    free(p->nodes);
    memset(p, 0, sizeof *p);
}

static int cmp_entry(const void *a, const void *b) {
    const prof_entry *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Op types: the sum of their nodes' medians. */
static int print_profile(profile *p, int all_nodes) {
    int runs = p->runs;
    prof_entry *ops = calloc(p->n_nodes + 1, sizeof *ops);
    size_t n_ops = 0;
    if (!ops || p->failed) {
        free(ops);
        return cli_fail("out of memory for the profile");
    }
    double total = 0;
    for (size_t i = 0; i < p->n_nodes; i++) {
        prof_entry *e = &p->nodes[i];
        e->ms = median_of(e->run, runs);
        total += e->ms;
        size_t k = 0;
        while (k < n_ops && strcmp(ops[k].op, e->op)) k++;
        if (k == n_ops) ops[n_ops++] = (prof_entry){.op = e->op};
        ops[k].ms += e->ms;
        ops[k].count++;
    }
    qsort(ops, n_ops, sizeof *ops, cmp_entry);
    if (!all_nodes) qsort(p->nodes, p->n_nodes, sizeof *p->nodes, cmp_entry);
    printf("time per op type (median of %d runs):\n", runs);
    for (size_t i = 0; i < n_ops; i++)
        printf("  %-28s %9.3f ms %5.1f%%  %zu nodes\n", ops[i].op, ops[i].ms,
               total > 0 ? 100 * ops[i].ms / total : 0, ops[i].count);
    printf(all_nodes ? "nodes in run order:\n" : "slowest nodes:\n");
    for (size_t i = 0; i < p->n_nodes && (all_nodes || i < 20); i++)
        printf("  %-40s %-20s %9.3f ms\n", p->nodes[i].name[0] ? p->nodes[i].name : "(unnamed)",
               p->nodes[i].op, p->nodes[i].ms);
    free(ops);
    return 0;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

int cli_bench(int argc, char **argv) {
    const char *model_path = NULL, *specs[MAX_ARGS];
    size_t n_specs = 0;
    int threads = 1, iters = 50, warmup = 5, json = 0, prof = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-i") || !strcmp(a, "--threads") || !strcmp(a, "--iters") || !strcmp(a, "--warmup")) {
            if (i + 1 >= argc) return cli_fail("%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "-i")) {
                if (n_specs == MAX_ARGS) return cli_fail("too many -i options");
                specs[n_specs++] = v;
            } else if (cli_parse_int(a, v, !strcmp(a, "--warmup") ? 0 : 1, 1000000,
                                     !strcmp(a, "--threads") ? &threads : !strcmp(a, "--iters") ? &iters : &warmup)) {
                return 1;
            }
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--profile-all")) {
            prof = 2;
        } else if (!strcmp(a, "--profile")) {
            prof = 1;
        } else if (a[0] == '-') {
            return cli_fail("unknown option '%s'", a);
        } else if (!model_path) {
            model_path = a;
        } else {
            return cli_fail("unexpected argument '%s'", a);
        }
    }
    if (!model_path)
        return cli_fail("usage: onyx bench MODEL [-i NAME=FILE]... [--threads N] [--iters K] [--warmup W] [--json] "
                        "[--profile] [--profile-all]");
    int rc = 1;
    onyx_model *model = NULL;
    onyx_session *s = NULL, *sp = NULL;
    cli_inputs in = {0};
    size_t n_out = 0;
    onyx_tensor **outs = NULL;
    double *ms = malloc((size_t)iters * sizeof *ms);
    profile p = {0};
    onyx_session_options opts;
    onyx_session_options_init(&opts);
    opts.threads = threads;
    double t0 = now_ms();
    if (!ms) {
        cli_fail("out of memory");
        goto done;
    }
    if (onyx_model_load_file(model_path, &model) != ONYX_OK || onyx_session_create(model, &opts, &s) != ONYX_OK) {
        cli_fail("%s", onyx_last_error());
        goto done;
    }
    double load_ms = now_ms() - t0;
    if (cli_inputs_make(s, specs, n_specs, &in)) goto done;
    n_out = onyx_session_output_count(s);
    outs = calloc(n_out + 1, sizeof *outs);
    if (!outs) {
        cli_fail("out of memory");
        goto done;
    }
    for (int r = 0; r < warmup + iters; r++) {
        if (!json && warmup + iters >= 20 && r % ((warmup + iters) / 10) == 0)
            fprintf(stderr, "\ronyx: bench %d/%d", r, warmup + iters);
        double a = now_ms();
        if (onyx_session_run(s, in.n, in.names, in.ptrs, n_out, NULL, outs) != ONYX_OK) {
            cli_fail("%s", onyx_last_error());
            goto done;
        }
        if (r >= warmup) ms[r - warmup] = now_ms() - a;
        for (size_t k = 0; k < n_out; k++) {
            onyx_tensor_free(outs[k]);
            outs[k] = NULL;
        }
    }
    if (!json && warmup + iters >= 20) fprintf(stderr, "\r%40s\r", "");
    qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
    double med = iters % 2 ? ms[iters / 2] : 0.5 * (ms[iters / 2 - 1] + ms[iters / 2]);
    if (json) {
        printf("{\"model\": ");
        json_string(model_path);
        printf(", \"threads\": %d, \"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"load_ms\": %.4f}\n",
               threads, med, ms[0], ms[iters - 1], load_ms);
    } else {
        printf("model: %s\nthreads: %d\nload + session: %.3f ms\n", model_path, threads, load_ms);
        printf("latency: min %.3f ms, median %.3f ms, max %.3f ms (%d runs after %d warm-up)\n", ms[0], med,
               ms[iters - 1], iters, warmup);
    }
    if (prof) {
        opts.node_callback = on_node;
        opts.node_callback_user = &p;
        if (onyx_session_create(model, &opts, &sp) != ONYX_OK) {
            cli_fail("%s", onyx_last_error());
            goto done;
        }
        /* the profiling session warms up as the timed one did (its first run plans,
         * and a new pool's workers fault in their scratch: with one run left out,
         * small nodes at 2 threads read up to 2.7x their time) */
        int skip = warmup > 1 ? warmup : 1;
        p.runs = iters < 20 ? iters : 20;
        p.done = -skip;
        for (int r = 0; r < p.runs + skip; r++) {
            if (onyx_session_run(sp, in.n, in.names, in.ptrs, n_out, NULL, outs) != ONYX_OK) {
                cli_fail("%s", onyx_last_error());
                goto done;
            }
            prof_end_run(&p);
            for (size_t k = 0; k < n_out; k++) {
                onyx_tensor_free(outs[k]);
                outs[k] = NULL;
            }
        }
        if (print_profile(&p, prof == 2)) goto done;
    }
    rc = 0;
done:
    prof_free(&p);
    free(ms);
    free(outs);
    cli_inputs_free(&in);
    onyx_session_free(sp);
    onyx_session_free(s);
    onyx_model_free(model);
    return rc;
}
