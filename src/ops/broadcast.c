#include "ops/broadcast.h"

#include <string.h>

#include "util/threadpool.h"

onyx_status ox_broadcast_dims(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db,
                              int32_t *rank, int64_t *dims) {
    int32_t r = ra > rb ? ra : rb;
    int64_t out[OX_MAX_RANK];
    if (r > OX_MAX_RANK) return ox_error(ONYX_ERR_LIMIT, "rank %d is above the limit", r);
    for (int32_t i = 0; i < r; i++) {
        int64_t x = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t y = i < r - rb ? 1 : db[i - (r - rb)];
        if (x == y || y == 1) {
            out[i] = x;
        } else if (x == 1) {
            out[i] = y;
        } else {
            char sa[160], sb[160];
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "shapes %s and %s cannot be broadcast",
                            ox_shape_describe(ra, da, sa, sizeof sa),
                            ox_shape_describe(rb, db, sb, sizeof sb));
        }
    }
    *rank = r;
    memcpy(dims, out, sizeof(int64_t) * (size_t)r);
    return ONYX_OK;
}

onyx_status ox_broadcast_shape(size_t n, const ox_tensor *const *in, int32_t *rank,
                               int64_t *dims) {
    int32_t r = 0;
    int64_t d[OX_MAX_RANK];
    for (size_t i = 0; i < n; i++) {
        if (!in[i]) continue;
        OX_TRY(ox_broadcast_dims(r, d, in[i]->rank, in[i]->dims, &r, d));
    }
    *rank = r;
    memcpy(dims, d, sizeof(int64_t) * (size_t)r);
    return ONYX_OK;
}

int ox_broadcasts_to(int32_t rank, const int64_t *dims, int32_t out_rank, const int64_t *out_dims) {
    if (rank > out_rank) return 0;
    for (int32_t i = 0; i < rank; i++) {
        int64_t d = dims[i], o = out_dims[out_rank - rank + i];
        if (d != o && d != 1) return 0;
    }
    return 1;
}

void ox_broadcast_strides(int32_t rank, const int64_t *dims, int32_t out_rank,
                          const int64_t *out_dims, int64_t *strides) {
    int64_t s = 1;
    for (int32_t i = out_rank - 1; i >= 0; i--) {
        int32_t j = i - (out_rank - rank);
        int64_t d = j >= 0 ? dims[j] : 1;
        strides[i] = (d == 1 && out_dims[i] != 1) ? 0 : s;
        s *= d;
    }
}

onyx_status ox_bcast_init(ox_bcast *b, size_t n_in, const ox_tensor *const *in, int32_t out_rank,
                          const int64_t *out_dims) {
    if (n_in > OX_BCAST_MAX_IN) return ox_error(ONYX_ERR_LIMIT, "too many broadcast inputs");
    if (out_rank < 0 || out_rank > OX_MAX_RANK)
        return ox_error(ONYX_ERR_LIMIT, "rank %d is above the limit", out_rank);
    memset(b, 0, sizeof *b);
    b->n_in = n_in;
    b->count = ox_shape_count(out_rank, out_dims);
    int64_t full[OX_BCAST_MAX_IN][OX_MAX_RANK];
    for (size_t k = 0; k < n_in; k++) {
        if (!ox_broadcasts_to(in[k]->rank, in[k]->dims, out_rank, out_dims)) {
            char si[160], so[160];
            return ox_error(ONYX_ERR_INVALID_ARGUMENT, "input %zu of shape %s does not broadcast to %s",
                            k, ox_shape_describe(in[k]->rank, in[k]->dims, si, sizeof si),
                            ox_shape_describe(out_rank, out_dims, so, sizeof so));
        }
        ox_broadcast_strides(in[k]->rank, in[k]->dims, out_rank, out_dims, full[k]);
    }
    /* Merge dims (skipping size-1 ones): a dim joins the previous group when every
     * input is broadcast along both or contiguous across both. */
    int32_t r = 0;
    for (int32_t i = 0; i < out_rank; i++) {
        if (out_dims[i] == 1) continue;
        int same = r > 0;
        for (size_t k = 0; k < n_in && same; k++)
            same = (full[k][i] == 0) == (b->strides[k][r - 1] == 0);
        if (same) {
            b->dims[r - 1] *= out_dims[i];
            for (size_t k = 0; k < n_in; k++) b->strides[k][r - 1] = full[k][i];
        } else {
            b->dims[r] = out_dims[i];
            for (size_t k = 0; k < n_in; k++) b->strides[k][r] = full[k][i];
            r++;
        }
    }
    if (r == 0) { /* a single element (or rank 0) */
        b->dims[0] = 1;
        r = 1;
    }
    b->rank = r;
    b->inner = (size_t)b->dims[r - 1];
    for (size_t k = 0; k < n_in; k++) b->step[k] = b->strides[k][r - 1] ? 1 : 0;
    return ONYX_OK;
}

void ox_bcast_range(const ox_bcast *b, size_t begin, size_t end, ox_bcast_fn fn, void *ctx) {
    if (begin >= end) return;
    size_t inner = b->inner, n_in = b->n_in;
    size_t run = begin / inner, pos = begin % inner;
    int64_t idx[OX_MAX_RANK];
    size_t base[OX_BCAST_MAX_IN] = {0}, off[OX_BCAST_MAX_IN];
    for (int32_t d = b->rank - 2; d >= 0; d--) {
        idx[d] = (int64_t)(run % (size_t)b->dims[d]);
        run /= (size_t)b->dims[d];
        for (size_t k = 0; k < n_in; k++) base[k] += (size_t)(idx[d] * b->strides[k][d]);
    }
    while (begin < end) {
        size_t n = inner - pos;
        if (n > end - begin) n = end - begin;
        for (size_t k = 0; k < n_in; k++) off[k] = base[k] + pos * b->step[k];
        fn(ctx, n, begin, off);
        begin += n;
        pos = 0;
        if (begin >= end) break;
        for (int32_t d = b->rank - 2; d >= 0; d--) { /* next run: an odometer step */
            for (size_t k = 0; k < n_in; k++) base[k] += (size_t)b->strides[k][d];
            if (++idx[d] < b->dims[d]) break;
            for (size_t k = 0; k < n_in; k++) base[k] -= (size_t)(b->strides[k][d] * b->dims[d]);
            idx[d] = 0;
        }
    }
}

typedef struct bcast_job {
    const ox_bcast *b;
    ox_bcast_fn fn;
    void *ctx;
} bcast_job;

static void bcast_task(void *arg, size_t begin, size_t end) {
    const bcast_job *j = arg;
    ox_bcast_range(j->b, begin, end, j->fn, j->ctx);
}

void ox_bcast_run(const ox_bcast *b, ox_threadpool *pool, size_t grain, ox_bcast_fn fn,
                  void *ctx) {
    if (b->count == 0) return;
    if (!grain) grain = 1 << 15;
    if (!pool || b->count <= grain) {
        ox_bcast_range(b, 0, b->count, fn, ctx);
        return;
    }
    bcast_job j = {b, fn, ctx};
    ox_parallel_for(pool, b->count, grain, bcast_task, &j);
}
