#include "ir/model.h"

#include <string.h>
#include <sys/mman.h>

#include "util/alloc.h"

const ox_attr *ox_node_attr(const ox_node *n, const char *name) {
    for (size_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static int is_default_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

int64_t ox_model_opset_version(const ox_model *m, const char *domain) {
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if ((is_default_domain(domain) && is_default_domain(d)) ||
            (domain && d && strcmp(d, domain) == 0))
            return m->opsets[i].version;
    }
    return 0;
}

const ox_function *ox_model_function(const ox_model *m, const char *domain, const char *name) {
    for (size_t i = 0; i < m->n_functions; i++) {
        const ox_function *f = &m->functions[i];
        if (strcmp(f->name, name) == 0 && strcmp(f->domain, domain ? domain : "") == 0) return f;
    }
    return NULL;
}

void ox_model_release(ox_model *m) {
    ox_arena_free(&m->arena);
    for (size_t i = 0; i < m->n_ext_maps; i++) munmap(m->ext_maps[i], m->ext_map_sizes[i]);
    ox_free(m->ext_maps);
    ox_free(m->ext_map_sizes);
    if (m->map) munmap(m->map, m->map_size);
    ox_free(m->dir);
    memset(m, 0, sizeof *m);
}
