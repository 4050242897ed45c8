/* An ox_tensor view of a decoded model tensor (no copy). */
#ifndef OX_FORMAT_TENSOR_VIEW_H
#define OX_FORMAT_TENSOR_VIEW_H

#include <string.h>

#include "ir/model.h"

/* t views p's data: t->data points at p->data (model memory: read it, never write
 * or free it; it lives as long as the model). */
static inline void ox_tensor_from_proto(const ox_tensor_proto *p, ox_tensor *t) {
    memset(t, 0, sizeof *t);
    t->dtype = p->dtype;
    t->rank = p->rank;
    if (p->rank > 0) memcpy(t->dims, p->dims, sizeof(int64_t) * (size_t)p->rank);
    t->data = (void *)(uintptr_t)p->data;
}

#endif
