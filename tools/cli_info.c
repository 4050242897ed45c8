/* onyx info MODEL [--json]
 * The text form is for people; --json prints the same facts as one JSON object (see
 * docs/cli.md for its fields). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"


void cli_format_type(const ox_type *t, char *buf, size_t cap) {
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
        cli_format_type(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "sequence(%s)", inner);
        return;
    case OX_TYPE_OPTIONAL:
        cli_format_type(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "optional(%s)", inner);
        return;
    case OX_TYPE_MAP:
        cli_format_type(t->elem, inner, sizeof inner);
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

static int info_json(const char *path, onyx_model *model);

static const char until_bound[] = "unknown until input shapes are bound";

/* The planned arena bytes of a run of the model's main graph: 1 with *bytes set, or 0
 * with *why saying why not (until_bound, or the library's message). */
static int planned_arena(onyx_model *model, size_t *bytes, const char **why) {
    onyx_session *s;
    if (onyx_session_create(model, NULL, &s) != ONYX_OK) {
        *why = onyx_last_error();
        return 0;
    }
    int known;
    *bytes = onyx_session_arena_bytes(s, &known);
    onyx_session_free(s);
    *why = until_bound;
    return known;
}

int cli_info(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-')
            return cli_fail("unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return cli_fail("unexpected argument '%s'", argv[i]);
    }
    if (!path) return cli_fail("usage: onyx info MODEL [--json]");
    onyx_model *model;
    if (onyx_model_load_file(path, &model) != ONYX_OK) return cli_fail("%s", onyx_last_error());
    if (json) return info_json(path, model);
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
        cli_format_type(g->inputs[i].type, buf, sizeof buf);
        printf("  %s: %s\n", g->inputs[i].name, buf);
    }
    printf("outputs:\n");
    for (size_t i = 0; i < g->n_outputs; i++) {
        cli_format_type(g->outputs[i].type, buf, sizeof buf);
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
    size_t arena;
    const char *why;
    if (planned_arena(model, &arena, &why))
        printf("arena: %zu bytes (planned peak of a run)\n", arena);
    else if (why == until_bound)
        printf("arena: %s\n", why);
    else
        printf("arena: unknown (%s)\n", why);
    onyx_model_free(model);
    return 0;
}

/* ---- --json ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s, or 0 when the bytes there are not one. */
static size_t utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (!n) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    /* overlong three/four-byte forms, surrogates and values past U+10FFFF */
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

/* A JSON string; bytes that are not UTF-8 (names are bytes in the file) become U+FFFD
 * so the output always parses. */
static void json_bytes(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    putchar('"');
    while (p < end) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
            p++;
        } else if (ch == '\n') {
            fputs("\\n", stdout);
            p++;
        } else if (ch == '\t') {
            fputs("\\t", stdout);
            p++;
        } else if (ch == '\r') {
            fputs("\\r", stdout);
            p++;
        } else if (ch < 0x20 || ch == 0x7f) {
            printf("\\u%04x", ch);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n && n <= (size_t)(end - p)) {
                fwrite(p, 1, n, stdout);
                p += n;
            } else {
                fputs("\\ufffd", stdout);
                p++;
            }
        }
    }
    putchar('"');
}

static void json_str(const char *s) {
    if (!s) {
        fputs("null", stdout);
        return;
    }
    json_bytes(s, strlen(s));
}

static void json_float(double v) {
    if (isfinite(v))
        printf("%.9g", v);
    else
        fputs("null", stdout); /* JSON has no NaN or infinity */
}

/* {"kind": "tensor", "dtype": ..., "dims": [...] | null}, sequences and optionals with
 * "elem", maps with "key" and "value"; null when the type is not given. */
static void json_type_fields(const ox_type *t) {
    static const char *const kinds[] = {"unknown", "tensor", "sequence", "map", "optional", "sparse_tensor"};
    printf("\"kind\": ");
    json_str(t->kind >= 0 && t->kind <= OX_TYPE_SPARSE_TENSOR ? kinds[t->kind] : "unknown");
    switch (t->kind) {
    case OX_TYPE_TENSOR:
    case OX_TYPE_SPARSE_TENSOR:
        printf(", \"dtype\": ");
        json_str(ox_dtype_name(t->elem_type));
        printf(", \"dims\": ");
        if (!t->has_shape) {
            printf("null");
            break;
        }
        printf("[");
        for (int32_t i = 0; i < t->rank; i++) {
            const ox_dim *d = &t->dims[i];
            if (i) printf(", ");
            if (d->has_value)
                printf("%lld", (long long)d->value);
            else
                json_str(d->param); /* a symbolic dim by name; null when it has none */
        }
        printf("]");
        break;
    case OX_TYPE_SEQUENCE:
    case OX_TYPE_OPTIONAL:
        printf(", \"elem\": ");
        if (t->elem) {
            printf("{");
            json_type_fields(t->elem);
            printf("}");
        } else {
            printf("null");
        }
        break;
    case OX_TYPE_MAP:
        printf(", \"key\": ");
        json_str(ox_dtype_name(t->elem_type));
        printf(", \"value\": ");
        if (t->elem) {
            printf("{");
            json_type_fields(t->elem);
            printf("}");
        } else {
            printf("null");
        }
        break;
    default: break;
    }
}

static void json_value(const ox_value_info *v) {
    printf("{\"name\": ");
    json_str(v->name);
    if (v->type) {
        printf(", ");
        json_type_fields(v->type);
    } else {
        printf(", \"kind\": null");
    }
    printf("}");
}

/* An attribute's default value: a number, a list, a string, or a short description
 * of what JSON cannot hold ("<tensor>", "<graph>", ...). */
static void json_attr_value(const ox_attr *a) {
    switch (a->type) {
    case OX_ATTR_FLOAT: json_float(a->f); return;
    case OX_ATTR_INT: printf("%lld", (long long)a->i); return;
    case OX_ATTR_STRING: json_bytes(a->s.data ? a->s.data : "", a->s.len); return;
    case OX_ATTR_FLOATS:
    case OX_ATTR_INTS:
    case OX_ATTR_STRINGS:
        printf("[");
        for (size_t k = 0; k < a->n; k++) {
            if (k) printf(", ");
            if (a->type == OX_ATTR_FLOATS) json_float(a->floats[k]);
            else if (a->type == OX_ATTR_INTS) printf("%lld", (long long)a->ints[k]);
            else json_bytes(a->strings[k].data ? a->strings[k].data : "", a->strings[k].len);
        }
        printf("]");
        return;
    case OX_ATTR_TENSOR: json_str("<tensor>"); return;
    case OX_ATTR_GRAPH: json_str("<graph>"); return;
    case OX_ATTR_SPARSE_TENSOR: json_str("<sparse tensor>"); return;
    case OX_ATTR_TYPE_PROTO: json_str("<type>"); return;
    default: json_str("<list>"); return;
    }
}

static void json_names(const char **names, size_t n) {
    printf("[");
    for (size_t k = 0; k < n; k++) {
        if (k) printf(", ");
        json_str(names[k]);
    }
    printf("]");
}

static int info_json(const char *path, onyx_model *model) {
    const ox_model *m = &model->m;
    const ox_graph *g = m->graph;
    printf("{\n  \"model\": ");
    json_str(path);
    printf(",\n  \"ir_version\": %lld,\n  \"opsets\": [", (long long)m->ir_version);
    for (size_t i = 0; i < m->n_opsets; i++) {
        printf("%s{\"domain\": ", i ? ", " : "");
        json_str(m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx");
        printf(", \"version\": %lld}", (long long)m->opsets[i].version);
    }
    printf("],\n  \"producer\": {\"name\": ");
    json_str(m->producer_name);
    printf(", \"version\": ");
    json_str(m->producer_version);
    printf("},\n  \"graph\": %s,\n  \"inputs\": [", g ? "true" : "false");
    size_t shown = 0;
    for (size_t i = 0; g && i < g->n_inputs; i++) {
        int is_init = 0; /* as in the text form: inputs with an initializer are constants */
        for (size_t k = 0; k < g->n_initializers; k++)
            if (!strcmp(g->initializers[k].name, g->inputs[i].name)) is_init = 1;
        if (is_init) continue;
        printf("%s\n    ", shown++ ? "," : "");
        json_value(&g->inputs[i]);
    }
    printf("%s],\n  \"outputs\": [", shown ? "\n  " : "");
    for (size_t i = 0; g && i < g->n_outputs; i++) {
        printf("%s\n    ", i ? "," : "");
        json_value(&g->outputs[i]);
    }
    printf("%s],\n", g && g->n_outputs ? "\n  " : "");
    op_count counts[512];
    size_t n_ops = 0, total = 0;
    if (g) count_ops(g, counts, &n_ops, 512, &total);
    qsort(counts, n_ops, sizeof *counts, cmp_op_count);
    printf("  \"nodes\": %zu,\n  \"op_counts\": {", total);
    for (size_t i = 0; i < n_ops; i++) {
        printf("%s", i ? ", " : "");
        json_str(counts[i].op);
        printf(": %zu", counts[i].count);
    }
    size_t params = 0, bytes = 0;
    for (size_t i = 0; g && i < g->n_initializers; i++) {
        params += ox_shape_count(g->initializers[i].rank, g->initializers[i].dims);
        bytes += g->initializers[i].nbytes;
    }
    printf("},\n  \"parameters\": {\"count\": %zu, \"initializers\": %zu, \"bytes\": %zu},\n", params,
           g ? g->n_initializers : 0, bytes);
    printf("  \"functions\": [");
    for (size_t i = 0; i < m->n_functions; i++) {
        const ox_function *f = &m->functions[i];
        printf("%s\n    {\"domain\": ", i ? "," : "");
        json_str(f->domain);
        printf(", \"name\": ");
        json_str(f->name);
        printf(", \"inputs\": ");
        json_names(f->inputs, f->n_inputs);
        printf(", \"outputs\": ");
        json_names(f->outputs, f->n_outputs);
        printf(", \"attributes\": [");
        for (size_t k = 0; k < f->n_attributes; k++) {
            printf("%s{\"name\": ", k ? ", " : "");
            json_str(f->attributes[k]);
            printf(", \"has_default\": false, \"default\": null}");
        }
        for (size_t k = 0; k < f->n_attribute_protos; k++) {
            printf("%s{\"name\": ", k || f->n_attributes ? ", " : "");
            json_str(f->attribute_protos[k].name);
            printf(", \"has_default\": true, \"default\": ");
            json_attr_value(&f->attribute_protos[k]);
            printf("}");
        }
        printf("], \"nodes\": %zu}", f->n_nodes);
    }
    printf("%s],\n", m->n_functions ? "\n  " : "");
    /* arena_bytes is null when unknown; arena_note then says why */
    size_t arena;
    const char *why;
    if (!g) {
        printf("  \"arena_bytes\": null,\n  \"arena_note\": \"no graph\"\n}\n");
    } else if (planned_arena(model, &arena, &why)) {
        printf("  \"arena_bytes\": %zu,\n  \"arena_note\": null\n}\n", arena);
    } else {
        printf("  \"arena_bytes\": null,\n  \"arena_note\": ");
        json_str(why);
        printf("\n}\n");
    }
    onyx_model_free(model);
    return 0;
}
