/* onyx info MODEL */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void format_type(const ox_type *t, char *buf, size_t cap) {
    if (!t) {
        snprintf(buf, cap, "?");
        return;
    }
    char inner[512];
    switch (t->kind) {
    case OX_TYPE_TENSOR:
    case OX_TYPE_SPARSE_TENSOR: {
        size_t o = (size_t)snprintf(buf, cap, "%s%s", t->kind == OX_TYPE_SPARSE_TENSOR ? "sparse " : "",
                                    ox_dtype_name(t->elem_type));
        if (!t->has_shape) {
            if (o < cap) snprintf(buf + o, cap - o, "[?]");
            return;
        }
        if (o < cap) o += (size_t)snprintf(buf + o, cap - o, "[");
        for (int32_t i = 0; i < t->rank && o < cap; i++) {
            const ox_dim *d = &t->dims[i];
            if (d->has_value)
                o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)d->value);
            else
                o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", d->param ? d->param : "?");
        }
        if (o < cap) snprintf(buf + o, cap - o, "]");
        return;
    }
    case OX_TYPE_SEQUENCE:
        format_type(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "sequence(%s)", inner);
        return;
    case OX_TYPE_OPTIONAL:
        format_type(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "optional(%s)", inner);
        return;
    case OX_TYPE_MAP:
        format_type(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "map(%s, %s)", ox_dtype_name(t->elem_type), inner);
        return;
    default: snprintf(buf, cap, "?");
    }
}

typedef struct {
    const char *op;
    size_t count;
} op_count;

static int cmp_op_count(const void *a, const void *b) {
    const op_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->op, y->op);
}

static void count_ops(const ox_graph *g, op_count *counts, size_t *n, size_t cap, size_t *total) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ox_node *nd = &g->nodes[i];
        (*total)++;
        size_t k = 0;
        while (k < *n && strcmp(counts[k].op, nd->op_type) != 0) k++;
        if (k == *n && *n < cap) counts[(*n)++] = (op_count){nd->op_type, 0};
        if (k < *n) counts[k].count++;
    }
}

int cli_info(int argc, char **argv) {
    if (argc != 1) return cli_fail("usage: onyx info MODEL");
    const char *path = argv[0];
    onyx_model *model;
    if (onyx_model_load_file(path, &model) != ONYX_OK) return cli_fail("%s", onyx_last_error());
    const ox_model *m = &model->m;
    char buf[1024];
    printf("model: %s\n", path);
    printf("ir_version: %lld\n", (long long)m->ir_version);
    printf("opsets:");
    for (size_t i = 0; i < m->n_opsets; i++)
        printf(" %s %lld%s", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx",
               (long long)m->opsets[i].version, i + 1 < m->n_opsets ? "," : "");
    printf("\n");
    printf("producer: %s %s\n", m->producer_name, m->producer_version);
    const ox_graph *g = m->graph;
    if (!g) {
        printf("graph: none\n");
        onyx_model_free(model);
        return 0;
    }
    /* inputs that are initializers are constants with a default, not caller inputs */
    printf("inputs:\n");
    for (size_t i = 0; i < g->n_inputs; i++) {
        int is_init = 0;
        for (size_t k = 0; k < g->n_initializers; k++)
            if (!strcmp(g->initializers[k].name, g->inputs[i].name)) is_init = 1;
        if (is_init) continue;
        format_type(g->inputs[i].type, buf, sizeof buf);
        printf("  %s: %s\n", g->inputs[i].name, buf);
    }
    printf("outputs:\n");
    for (size_t i = 0; i < g->n_outputs; i++) {
        format_type(g->outputs[i].type, buf, sizeof buf);
        printf("  %s: %s\n", g->outputs[i].name, buf);
    }
    op_count counts[512];
    size_t n_ops = 0, total = 0;
    count_ops(g, counts, &n_ops, 512, &total);
    qsort(counts, n_ops, sizeof *counts, cmp_op_count);
    printf("nodes: %zu\n", total);
    for (size_t i = 0; i < n_ops; i++) printf("  %s: %zu\n", counts[i].op, counts[i].count);
    size_t params = 0, bytes = 0;
    for (size_t i = 0; i < g->n_initializers; i++) {
        params += ox_shape_count(g->initializers[i].rank, g->initializers[i].dims);
        bytes += g->initializers[i].nbytes;
    }
    printf("parameters: %zu in %zu initializers (%zu bytes)\n", params, g->n_initializers, bytes);
    printf("functions: %zu\n", m->n_functions);
    for (size_t i = 0; i < m->n_functions; i++) {
        const ox_function *f = &m->functions[i];
        printf("  %s%s%s(", f->domain, f->domain[0] ? ":" : "", f->name);
        for (size_t k = 0; k < f->n_inputs; k++) printf("%s%s", k ? ", " : "", f->inputs[k]);
        printf(") -> (");
        for (size_t k = 0; k < f->n_outputs; k++) printf("%s%s", k ? ", " : "", f->outputs[k]);
        printf(")");
        if (f->n_attributes || f->n_attribute_protos) {
            printf(" attributes:");
            for (size_t k = 0; k < f->n_attributes; k++) printf(" %s", f->attributes[k]);
            for (size_t k = 0; k < f->n_attribute_protos; k++) printf(" %s", f->attribute_protos[k].name);
        }
        printf(" nodes: %zu\n", f->n_nodes);
    }
    onyx_session *s;
    if (onyx_session_create(model, NULL, &s) != ONYX_OK) {
        printf("arena: unknown (%s)\n", onyx_last_error());
    } else {
        int known;
        size_t arena = onyx_session_arena_bytes(s, &known);
        if (known)
            printf("arena: %zu bytes (planned peak of a run)\n", arena);
        else
            printf("arena: unknown until input shapes are bound\n");
        onyx_session_free(s);
    }
    onyx_model_free(model);
    return 0;
}
