#include "ir/sparse.h"

#include <string.h>

#include "util/status.h"

onyx_status ox_sparse_check(const ox_sparse_tensor *sp, const char *what) {
    const ox_tensor_proto *ix = &sp->indices, *v = &sp->values;
    if (v->dtype == ONYX_DTYPE_STRING)
        return ox_error(ONYX_ERR_UNSUPPORTED, "%s: sparse string tensors are not supported", what);
    if (!ox_dtype_valid(v->dtype) || !ox_shape_count_checked(sp->rank, sp->dims, v->dtype, NULL, NULL))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s: invalid dtype or dims", what);
    size_t nnz = ox_shape_count(v->rank, v->dims);
    if (v->rank != 1 || ix->dtype != ONYX_DTYPE_INT64 || ix->rank < 1 || ix->rank > 2 ||
        (size_t)ix->dims[0] != nnz || (ix->rank == 2 && ix->dims[1] != sp->rank))
        return ox_error(ONYX_ERR_INVALID_MODEL, "%s: needs 1-D values and int64 indices [NNZ] or [NNZ, rank]",
                        what);
    return ONYX_OK;
}

onyx_status ox_sparse_densify(const ox_sparse_tensor *sp, void *dst) {
    size_t es = ox_dtype_size(sp->values.dtype), count = ox_shape_count(sp->rank, sp->dims);
    if (count) memset(dst, 0, count * es);
    int64_t strides[OX_MAX_RANK];
    int64_t st = 1;
    for (int32_t d = sp->rank - 1; d >= 0; d--) {
        strides[d] = st;
        st *= sp->dims[d];
    }
    const int64_t *ix = sp->indices.data;
    size_t nnz = (size_t)sp->values.dims[0];
    for (size_t k = 0; k < nnz; k++) {
        int64_t lin = 0;
        if (sp->indices.rank == 1) {
            lin = ix[k];
            if (lin < 0 || (uint64_t)lin >= count)
                return ox_error(ONYX_ERR_INVALID_MODEL, "sparse index %lld is out of range", (long long)lin);
        } else {
            for (int32_t d = 0; d < sp->rank; d++) {
                int64_t v = ix[k * (size_t)sp->rank + (size_t)d];
                if (v < 0 || v >= sp->dims[d])
                    return ox_error(ONYX_ERR_INVALID_MODEL, "sparse index %lld is out of range for dim %d",
                                    (long long)v, d);
                lin += v * strides[d];
            }
        }
        memcpy((char *)dst + (size_t)lin * es, (const char *)sp->values.data + k * es, es);
    }
    return ONYX_OK;
}
