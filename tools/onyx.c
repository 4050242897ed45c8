/* onyx — the command-line tool: inspect, run and test ONNX models. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"


int cli_fail(const char *fmt, ...) {
    va_list ap;
    fputs("onyx: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "onyx %s — an ONNX inference engine\n"
            "usage:\n"
            "  onyx info MODEL [--json]                describe a model (--json: as one JSON object)\n"
            "  onyx run MODEL [--function [DOMAIN:]NAME [--attr NAME=VALUE]...]\n"
            "           [-i NAME=FILE]... [-o NAME]...\n"
            "           [--outdir DIR] [--threads N] [--trace]\n"
            "                                          run a model or one of its functions\n"
            "                                          (inputs from .npy or .pb; --outdir writes\n"
            "                                          DIR/NAME.npy, a sequence as NAME_0.npy...)\n"
            "  onyx test [--rtol R] [--atol A] [--threads N] DIR...\n"
            "                                          run ONNX test cases and compare outputs\n"
            "  onyx bench MODEL [-i NAME=FILE]... [--threads N] [--iters K] [--warmup W]\n"
            "           [--json] [--profile]\n"
            "                                          time runs; --profile: time per op\n"
            "  onyx ops [--markdown]                   list the supported operators\n"
            "  onyx dot MODEL [--function [DOMAIN:]NAME]\n"
            "                                          the graph (or a function) as Graphviz DOT\n"
            "                                          (onyx dot m.onnx | dot -Tsvg > m.svg)\n",
            ONYX_VERSION_STRING);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "info")) return cli_info(argc - 2, argv + 2);
    if (!strcmp(verb, "run")) return cli_run(argc - 2, argv + 2);
    if (!strcmp(verb, "test")) return cli_test(argc - 2, argv + 2);
    if (!strcmp(verb, "dot")) return cli_dot(argc - 2, argv + 2);
    if (!strcmp(verb, "bench")) return cli_bench(argc - 2, argv + 2);
    if (!strcmp(verb, "ops")) return cli_ops(argc - 2, argv + 2);
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(verb, "--version")) {
        printf("onyx %s\n", ONYX_VERSION_STRING);
        return 0;
    }
    usage(stderr);
    return cli_fail("unknown command '%s'", verb);
}
