/* onyx dot MODEL [--function [DOMAIN:]NAME]
 * Writes the graph as Graphviz DOT on stdout: one box per node (op type and node name),
 * graph inputs and outputs as coloured ellipses, initializers as grey boxes, and the
 * bodies of If / Loop / Scan (any graph attribute) as clusters. Edges carry the tensor
 * name and, where the model declares it, its dtype and shape. Values a body captures
 * from an enclosing graph come in as dashed blue edges; each body's outputs point to the
 * node that owns the body with a dashed edge named after the attribute.
 *
 * Every edge is written at the top level after all declarations: in DOT a node named
 * inside a cluster joins that cluster, so an edge written inside a body would pull the
 * outer producer into it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/alloc.h"
#include "util/strmap.h"

/* defined in cli_info.c (the same "float32[N,3]" text `onyx info` prints) */

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} dot_buf;

static void buf_add(dot_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            if (cap > ((size_t)-1) / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *p = ox_realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void buf_str(dot_buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(dot_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(dot_buf *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = ox_malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    ox_free(big);
}

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

/* s as the inside of a DOT "..." string: quotes and backslashes escaped, newlines as
 * DOT line breaks, other control bytes and bytes that are not UTF-8 as '?'. */
static void buf_escaped(dot_buf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            buf_add(b, e, 2);
            p++;
        } else if (*p == '\n') {
            buf_str(b, "\\n");
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            buf_str(b, "?");
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n) {
                buf_add(b, (const char *)p, n);
                p += n;
            } else {
                buf_str(b, "?");
                p++;
            }
        }
    }
}

/* What a body knows about a value name: its type or initializer (for edge labels). */
typedef struct {
    const ox_type *type;
    const ox_tensor_proto *init;
    const ox_sparse_tensor *sparse;
} value_desc;

typedef struct dot_scope {
    const struct dot_scope *parent;
    ox_strmap ids;   /* value name -> DOT node number of its producer */
    ox_strmap descs; /* value name -> index into descs */
    value_desc *desc;
    size_t n_desc, cap_desc;
} dot_scope;

typedef struct {
    const ox_model *m;
    dot_buf out;   /* declarations, in nesting order */
    dot_buf edges; /* every edge, written at the top level at the end */
    int next_id, next_cluster;
    int oom;
} dot_ctx;

static void scope_free(dot_scope *s) {
    ox_strmap_free(&s->ids);
    ox_strmap_free(&s->descs);
    ox_free(s->desc);
}

static void scope_describe(dot_ctx *c, dot_scope *s, const char *name, value_desc d) {
    if (!name || !name[0]) return;
    int k = ox_strmap_get(&s->descs, name);
    if (k >= 0) { /* value_info may repeat what inputs say: keep the first with a shape */
        value_desc *old = &s->desc[k];
        if (!old->init && !old->sparse && d.type && (!old->type || !old->type->has_shape)) old->type = d.type;
        if (d.init) old->init = d.init;
        if (d.sparse) old->sparse = d.sparse;
        return;
    }
    if (s->n_desc == s->cap_desc) {
        size_t cap = s->cap_desc ? s->cap_desc * 2 : 32;
        value_desc *p = ox_realloc(s->desc, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        s->desc = p;
        s->cap_desc = cap;
    }
    s->desc[s->n_desc] = d;
    if (!ox_strmap_put(&s->descs, name, (int)s->n_desc)) c->oom = 1;
    s->n_desc++;
}

/* "float32[2,10]" for a value, looked up from the innermost scope out; "" if unknown. */
static void describe_value(const dot_scope *s, const char *name, char *buf, size_t cap) {
    buf[0] = 0;
    for (; s; s = s->parent) {
        int k = ox_strmap_get(&s->descs, name);
        if (k < 0) continue;
        const value_desc *d = &s->desc[k];
        char shape[256];
        if (d->init) {
            ox_shape_describe(d->init->rank, d->init->dims, shape, sizeof shape);
            snprintf(buf, cap, "%s%s", ox_dtype_name(d->init->dtype), shape);
        } else if (d->sparse) {
            ox_shape_describe(d->sparse->rank, d->sparse->dims, shape, sizeof shape);
            snprintf(buf, cap, "sparse %s%s", ox_dtype_name(d->sparse->values.dtype), shape);
        } else if (d->type) {
            cli_format_type(d->type, buf, cap);
        }
        return;
    }
}

/* Declare a value node (input, output, initializer, unknown) in the current body. */
static int declare_value(dot_ctx *c, const dot_scope *s, const char *indent, const char *name,
                         const char *style) {
    int id = c->next_id++;
    char type[1024];
    describe_value(s, name, type, sizeof type);
    buf_printf(&c->out, "%sn%d [%s, label=\"", indent, id, style);
    buf_escaped(&c->out, name);
    if (type[0]) {
        buf_str(&c->out, "\\n");
        buf_escaped(&c->out, type);
    }
    buf_str(&c->out, "\"];\n");
    return id;
}

#define STYLE_INPUT "shape=ellipse, style=filled, fillcolor=\"#cfe2ff\""
#define STYLE_OUTPUT "shape=ellipse, style=filled, fillcolor=\"#d1e7dd\""
#define STYLE_INIT "shape=box, style=filled, fillcolor=\"#e0e0e0\", color=\"#9e9e9e\""
#define STYLE_UNKNOWN "shape=plaintext, fontcolor=\"#b00020\""

/* The producer of name (declaring it as unknown in s when no scope has it); *captured
 * says it comes from an enclosing graph. */
static int resolve(dot_ctx *c, dot_scope *s, const char *indent, const char *name, int *captured) {
    *captured = 0;
    for (const dot_scope *p = s; p; p = p->parent) {
        int id = ox_strmap_get(&p->ids, name);
        if (id >= 0) {
            *captured = p != s;
            return id;
        }
    }
    int id = declare_value(c, s, indent, name, STYLE_UNKNOWN);
    if (!ox_strmap_put(&s->ids, name, id)) c->oom = 1;
    return id;
}

static void add_edge(dot_ctx *c, const dot_scope *s, int from, int to, const char *name, int captured) {
    char type[1024];
    describe_value(s, name, type, sizeof type);
    buf_printf(&c->edges, "  n%d -> n%d [label=\"", from, to);
    buf_escaped(&c->edges, name);
    if (type[0]) {
        buf_str(&c->edges, "\\n");
        buf_escaped(&c->edges, type);
    }
    buf_str(&c->edges, captured ? "\", style=dashed, color=\"#1f6feb\"];\n" : "\"];\n");
}

static void node_label(dot_buf *b, const ox_node *nd) {
    if (nd->domain[0]) {
        buf_escaped(b, nd->domain);
        buf_str(b, ":");
    }
    buf_escaped(b, nd->op_type);
    if (nd->name[0]) {
        buf_str(b, "\\n");
        buf_escaped(b, nd->name);
    }
}

/* A body: a graph (g) or a function (f) — exactly one is set. */
typedef struct {
    const ox_graph *g;
    const ox_function *f;
} dot_body;

static void emit_body(dot_ctx *c, const dot_scope *parent, dot_body body, int depth, int owner,
                      const char *owner_attr);

/* Two spaces per nesting level (capped): only for people reading the DOT text. */
static void make_indent(char *buf, size_t cap, int depth) {
    size_t pad = (size_t)depth * 2 + 2;
    if (pad > cap - 1) pad = cap - 1;
    memset(buf, ' ', pad);
    buf[pad] = 0;
}

static void emit_subgraphs(dot_ctx *c, const dot_scope *s, const ox_node *nd, int id, int depth) {
    for (size_t a = 0; a < nd->n_attrs; a++) {
        const ox_attr *at = &nd->attrs[a];
        size_t n = at->type == OX_ATTR_GRAPH ? (at->g ? 1 : 0) : at->type == OX_ATTR_GRAPHS ? at->n : 0;
        for (size_t k = 0; k < n; k++) {
            const ox_graph *g = at->type == OX_ATTR_GRAPH ? at->g : at->graphs[k];
            if (!g) continue;
            char indent[80];
            make_indent(indent, sizeof indent, depth);
            buf_printf(&c->out, "%ssubgraph cluster_%d {\n%s  label=\"", indent, c->next_cluster++, indent);
            buf_escaped(&c->out, nd->name[0] ? nd->name : nd->op_type);
            buf_str(&c->out, ": ");
            buf_escaped(&c->out, at->name);
            if (at->type == OX_ATTR_GRAPHS) buf_printf(&c->out, "[%zu]", k);
            buf_printf(&c->out, "\";\n%s  style=\"rounded,dashed\"; color=\"#6c757d\"; fontcolor=\"#6c757d\";\n",
                       indent);
            emit_body(c, s, (dot_body){g, NULL}, depth + 1, id, at->name);
            buf_printf(&c->out, "%s}\n", indent);
        }
    }
}

static void emit_body(dot_ctx *c, const dot_scope *parent, dot_body body, int depth, int owner,
                      const char *owner_attr) {
    char indent[80];
    make_indent(indent, sizeof indent, depth);
    dot_scope s;
    memset(&s, 0, sizeof s);
    s.parent = parent;
    ox_strmap_init(&s.ids);
    ox_strmap_init(&s.descs);
    const ox_graph *g = body.g;
    const ox_function *f = body.f;
    const ox_node *nodes = g ? g->nodes : f->nodes;
    size_t n_nodes = g ? g->n_nodes : f->n_nodes;

    /* what the body says about its values */
    if (g) {
        for (size_t i = 0; i < g->n_initializers; i++)
            scope_describe(c, &s, g->initializers[i].name, (value_desc){NULL, &g->initializers[i], NULL});
        for (size_t i = 0; i < g->n_sparse_initializers; i++)
            scope_describe(c, &s, g->sparse_initializers[i].values.name,
                           (value_desc){NULL, NULL, &g->sparse_initializers[i]});
        for (size_t i = 0; i < g->n_inputs; i++)
            scope_describe(c, &s, g->inputs[i].name, (value_desc){g->inputs[i].type, NULL, NULL});
        for (size_t i = 0; i < g->n_outputs; i++)
            scope_describe(c, &s, g->outputs[i].name, (value_desc){g->outputs[i].type, NULL, NULL});
        for (size_t i = 0; i < g->n_value_info; i++)
            scope_describe(c, &s, g->value_info[i].name, (value_desc){g->value_info[i].type, NULL, NULL});
    } else {
        for (size_t i = 0; i < f->n_value_info; i++)
            scope_describe(c, &s, f->value_info[i].name, (value_desc){f->value_info[i].type, NULL, NULL});
    }

    /* inputs and initializers (an input with an initializer is a constant with a default) */
    if (g) {
        for (size_t i = 0; i < g->n_initializers; i++) {
            const char *name = g->initializers[i].name;
            if (!name[0] || ox_strmap_get(&s.ids, name) >= 0) continue;
            if (!ox_strmap_put(&s.ids, name, declare_value(c, &s, indent, name, STYLE_INIT))) c->oom = 1;
        }
        for (size_t i = 0; i < g->n_sparse_initializers; i++) {
            const char *name = g->sparse_initializers[i].values.name;
            if (!name[0] || ox_strmap_get(&s.ids, name) >= 0) continue;
            if (!ox_strmap_put(&s.ids, name, declare_value(c, &s, indent, name, STYLE_INIT))) c->oom = 1;
        }
    }
    size_t n_in = g ? g->n_inputs : f->n_inputs;
    for (size_t i = 0; i < n_in; i++) {
        const char *name = g ? g->inputs[i].name : f->inputs[i];
        if (!name[0] || ox_strmap_get(&s.ids, name) >= 0) continue;
        if (!ox_strmap_put(&s.ids, name, declare_value(c, &s, indent, name, STYLE_INPUT))) c->oom = 1;
    }

    /* the nodes; their outputs are known before any edge or body is resolved */
    int first = c->next_id;
    for (size_t i = 0; i < n_nodes; i++) {
        const ox_node *nd = &nodes[i];
        int id = c->next_id++;
        int is_call = ox_model_function(c->m, nd->domain, nd->op_type) != NULL;
        buf_printf(&c->out, "%sn%d [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"", indent, id,
                   is_call ? "#fff3cd" : "#ffffff");
        node_label(&c->out, nd);
        buf_str(&c->out, "\"];\n");
        for (size_t k = 0; k < nd->n_outputs; k++)
            if (nd->outputs[k][0] && !ox_strmap_put(&s.ids, nd->outputs[k], id)) c->oom = 1;
    }
    for (size_t i = 0; i < n_nodes; i++) emit_subgraphs(c, &s, &nodes[i], first + (int)i, depth);
    for (size_t i = 0; i < n_nodes; i++) {
        const ox_node *nd = &nodes[i];
        for (size_t k = 0; k < nd->n_inputs; k++) {
            if (!nd->inputs[k][0]) continue;
            int captured;
            int from = resolve(c, &s, indent, nd->inputs[k], &captured);
            add_edge(c, &s, from, first + (int)i, nd->inputs[k], captured);
        }
    }

    /* outputs, and from a body's outputs to the node that runs the body */
    size_t n_out = g ? g->n_outputs : f->n_outputs;
    for (size_t i = 0; i < n_out; i++) {
        const char *name = g ? g->outputs[i].name : f->outputs[i];
        if (!name[0]) continue;
        int captured;
        int from = resolve(c, &s, indent, name, &captured);
        int id = declare_value(c, &s, indent, name, STYLE_OUTPUT);
        add_edge(c, &s, from, id, name, captured);
        if (owner >= 0) {
            buf_printf(&c->edges, "  n%d -> n%d [style=dashed, color=\"#6c757d\", label=\"", id, owner);
            buf_escaped(&c->edges, owner_attr);
            buf_str(&c->edges, "\"];\n");
        }
    }
    scope_free(&s);
}

int cli_dot(int argc, char **argv) {
    const char *path = NULL, *function = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--function")) {
            if (i + 1 >= argc) return cli_fail("--function needs a value");
            function = argv[++i];
        } else if (argv[i][0] == '-') {
            return cli_fail("unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_fail("unexpected argument '%s'", argv[i]);
        }
    }
    if (!path) return cli_fail("usage: onyx dot MODEL [--function [DOMAIN:]NAME]");
    onyx_model *model;
    if (onyx_model_load_file(path, &model) != ONYX_OK) return cli_fail("%s", onyx_last_error());
    const ox_model *m = &model->m;
    dot_body body = {m->graph, NULL};
    char domain[512] = "";
    const char *name = "";
    if (function) {
        /* [DOMAIN:]NAME — the domain is what precedes the last ':' */
        const char *colon = strrchr(function, ':');
        if (colon) snprintf(domain, sizeof domain, "%.*s", (int)(colon - function), function);
        name = colon ? colon + 1 : function;
        body.g = NULL;
        body.f = ox_model_function(m, domain, name);
        if (!body.f) {
            onyx_model_free(model);
            return cli_fail("the model has no function '%s%s%s'", domain, domain[0] ? ":" : "", name);
        }
    } else if (!m->graph) {
        onyx_model_free(model);
        return cli_fail("'%s' has no graph", path);
    }
    dot_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    buf_str(&c.out, "digraph onyx {\n  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=10, label=\"");
    if (body.f) {
        buf_escaped(&c.out, body.f->domain);
        if (body.f->domain[0]) buf_str(&c.out, ":");
        buf_escaped(&c.out, body.f->name);
    } else {
        buf_escaped(&c.out, m->graph->name);
    }
    buf_str(&c.out, "\", labelloc=t];\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=8];\n");
    emit_body(&c, NULL, body, 0, -1, NULL);
    int rc = 0;
    if (c.oom || c.out.oom || c.edges.oom) {
        rc = cli_fail("out of memory");
    } else {
        fputs(c.out.data, stdout);
        if (c.edges.data) fputs(c.edges.data, stdout);
        fputs("}\n", stdout);
        if (fflush(stdout) != 0) rc = cli_fail("cannot write the output");
    }
    ox_free(c.out.data);
    ox_free(c.edges.data);
    onyx_model_free(model);
    return rc;
}
