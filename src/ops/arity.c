/* Checks a node's inputs and outputs against the ONNX schema table (ops/arity_table.c),
 * with the rules of the ONNX checker: the counts lie within the schema's bounds, and no
 * required (non-optional, non-variadic) parameter is given as an empty name. */
#include "ops/arity.h"

#include <string.h>

static int cmp_key(const ox_arity *a, const char *domain, const char *op) {
    int c = strcmp(a->domain, domain);
    return c ? c : strcmp(a->op, op);
}

const ox_arity *ox_arity_find(const char *domain, const char *op, int64_t opset) {
    if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
    int known = 0;
    for (size_t i = 0; i < ox_arity_n_domains; i++)
        if (strcmp(ox_arity_domains[i].domain, domain) == 0) known = opset <= ox_arity_domains[i].max_opset;
    /* a newer opset than the table knows may have a newer version of the op */
    if (!known) return NULL;
    size_t lo = 0, hi = ox_arity_n; /* first entry not below (domain, op) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(&ox_arity_table[mid], domain, op) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const ox_arity *found = NULL;
    for (size_t i = lo; i < ox_arity_n && cmp_key(&ox_arity_table[i], domain, op) == 0; i++)
        if (ox_arity_table[i].since <= opset) found = &ox_arity_table[i];
    return found && found->ins ? found : NULL;
}

/* Formal parameter i of a list "X W ?B *inputs": its name (into buf) and kind
 * (' ' required, '?' optional, '*' variadic). Past the last one, a variadic last one
 * goes on; otherwise kind 0. */
static char formal(const char *list, size_t i, char *buf, size_t cap) {
    const char *p = list, *last = NULL;
    size_t k = 0;
    while (*p) {
        const char *end = strchr(p, ' ');
        if (!end) end = p + strlen(p);
        last = p;
        if (k == i) break;
        p = *end ? end + 1 : end;
        k++;
    }
    if (!last || (k != i && *last != '*')) {
        if (cap) buf[0] = 0;
        return 0;
    }
    char kind = *last == '?' || *last == '*' ? *last : ' ';
    const char *name = kind == ' ' ? last : last + 1;
    size_t len = strcspn(name, " ");
    if (len >= cap) len = cap - 1;
    memcpy(buf, name, len);
    buf[len] = 0;
    return kind;
}

static onyx_status check_side(const char *what, const char *list, int lo, int hi,
                              const char *const *names, size_t n) {
    char name[64];
    if ((size_t)lo > n) {
        char kind = formal(list, n, name, sizeof name);
        if (kind == ' ')
            return ox_error(ONYX_ERR_INVALID_MODEL, "%s %zu '%s' is required", what, n, name);
        return ox_error(ONYX_ERR_INVALID_MODEL, "has %zu %s%s, needs at least %d", n, what,
                        n == 1 ? "" : "s", lo);
    }
    if (hi >= 0 && n > (size_t)hi)
        return ox_error(ONYX_ERR_INVALID_MODEL, "has %zu %s%s, at most %d (%s)", n, what, n == 1 ? "" : "s",
                        hi, list[0] ? list : "none");
    for (size_t i = 0; i < n; i++) {
        if (names[i][0]) continue;
        if (formal(list, i, name, sizeof name) == ' ')
            return ox_error(ONYX_ERR_INVALID_MODEL, "%s %zu '%s' is required", what, i, name);
    }
    return ONYX_OK;
}

onyx_status ox_arity_check(const ox_node *n, int64_t opset) {
    const ox_arity *a = ox_arity_find(n->domain, n->op_type, opset);
    if (!a) return ONYX_OK;
    onyx_status s = check_side("input", a->ins, a->min_in, a->max_in, n->inputs, n->n_inputs);
    /* like the ONNX checker: a schema without formal outputs leaves them unchecked */
    if (s == ONYX_OK && a->outs[0])
        s = check_side("output", a->outs, a->min_out, a->max_out, n->outputs, n->n_outputs);
    return s;
}
