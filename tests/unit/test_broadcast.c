/* Broadcast shapes and the strided walk, against a naive index computation. */
#include <string.h>

#include "nodes.h"
#include "ops/broadcast.h"
#include "test.h"
#include "util/threadpool.h"

static int rnd(int n) { return (int)(tt_randf() * (float)n) % n; }

/* Random output shape and n input shapes broadcasting to it (some dims 1, some
 * leading dims dropped), occasionally with a zero-size dim. */
static void random_shapes(size_t n, ox_tensor *in, int32_t *out_rank, int64_t *out_dims) {
    int32_t r = rnd(5);
    for (int32_t i = 0; i < r; i++) out_dims[i] = 1 + rnd(4);
    if (r && rnd(8) == 0) out_dims[rnd(r)] = 0;
    *out_rank = r;
    for (size_t k = 0; k < n; k++) {
        memset(&in[k], 0, sizeof in[k]);
        int32_t ir = r ? r - rnd(r + 1) : 0;
        in[k].rank = ir;
        in[k].dtype = ONYX_DTYPE_FLOAT;
        for (int32_t i = 0; i < ir; i++) {
            int64_t d = out_dims[r - ir + i];
            in[k].dims[i] = rnd(3) == 0 ? 1 : d;
        }
    }
}

/* The element of input t read at output multi-index idx. */
static size_t naive_offset(const ox_tensor *t, int32_t out_rank, const int64_t *idx) {
    size_t off = 0;
    for (int32_t i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i], j = idx[out_rank - t->rank + i];
        off = off * (size_t)d + (size_t)(d == 1 ? 0 : j);
    }
    return off;
}

typedef struct walk {
    size_t n_in;
    const ox_bcast *b;
    size_t *got;  /* [count][n_in]: offsets seen per output element */
    int *seen;
    int bad;
} walk;

static void record(void *ctx, size_t n, size_t out_off, const size_t *in_off) {
    walk *w = ctx;
    if (n > w->b->inner) w->bad = 1;
    for (size_t i = 0; i < n; i++) {
        w->seen[out_off + i]++;
        for (size_t k = 0; k < w->n_in; k++)
            w->got[(out_off + i) * w->n_in + k] = in_off[k] + i * w->b->step[k];
    }
}

static void check_walk(size_t n_in, ox_tensor *in, int32_t r, const int64_t *d, ox_threadpool *pool) {
    const ox_tensor *ins[OX_BCAST_MAX_IN];
    for (size_t k = 0; k < n_in; k++) ins[k] = &in[k];
    ox_bcast b;
    REQUIRE_OK(ox_bcast_init(&b, n_in, ins, r, d));
    size_t count = ox_shape_count(r, d);
    CHECK(b.count == count);
    size_t got[512 * 3];
    int seen[512];
    REQUIRE(count <= 512);
    memset(seen, 0, sizeof seen);
    walk w = {n_in, &b, got, seen, 0};
    if (pool) {
        ox_bcast_run(&b, pool, 1, record, &w);
    } else if (count) { /* two pieces split at a random point */
        size_t mid = (size_t)rnd((int)count + 1);
        ox_bcast_range(&b, 0, mid, record, &w);
        ox_bcast_range(&b, mid, count, record, &w);
    }
    CHECK(!w.bad);
    int64_t idx[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < count; e++) {
        CHECK(seen[e] == 1);
        for (size_t k = 0; k < n_in; k++) CHECK(got[e * n_in + k] == naive_offset(&in[k], r, idx));
        for (int32_t i = r - 1; i >= 0; i--) {
            if (++idx[i] < d[i]) break;
            idx[i] = 0;
        }
    }
}

TEST(broadcast_walk_random) {
    for (int iter = 0; iter < 400; iter++) {
        ox_tensor in[3];
        int32_t r;
        int64_t d[OX_MAX_RANK];
        size_t n = 1 + (size_t)rnd(3);
        random_shapes(n, in, &r, d);
        check_walk(n, in, r, d, NULL);
        if (ox_test_failures) return;
    }
}

TEST(broadcast_walk_threads) {
    ox_threadpool *pool = ox_threadpool_create(3);
    for (int iter = 0; iter < 100; iter++) {
        ox_tensor in[2];
        int32_t r;
        int64_t d[OX_MAX_RANK];
        random_shapes(2, in, &r, d);
        check_walk(2, in, r, d, pool);
    }
    ox_threadpool_free(pool);
}

TEST(broadcast_shape_rules) {
    int32_t r;
    int64_t d[OX_MAX_RANK];
    REQUIRE_OK(ox_broadcast_dims(3, (int64_t[]){2, 1, 4}, 2, (int64_t[]){3, 1}, &r, d));
    CHECK(r == 3 && d[0] == 2 && d[1] == 3 && d[2] == 4);
    REQUIRE_OK(ox_broadcast_dims(0, NULL, 2, (int64_t[]){0, 5}, &r, d));
    CHECK(r == 2 && d[0] == 0 && d[1] == 5);
    REQUIRE_OK(ox_broadcast_dims(1, (int64_t[]){1}, 1, (int64_t[]){0}, &r, d));
    CHECK(r == 1 && d[0] == 0);
    CHECK(ox_broadcast_dims(2, (int64_t[]){2, 3}, 1, (int64_t[]){4}, &r, d) == ONYX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(onyx_last_error(), "[2,3]") && strstr(onyx_last_error(), "[4]"));
    CHECK(ox_broadcast_dims(1, (int64_t[]){0}, 1, (int64_t[]){3}, &r, d) != ONYX_OK);
    CHECK(ox_broadcasts_to(2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 5}));
    CHECK(!ox_broadcasts_to(2, (int64_t[]){3, 2}, 3, (int64_t[]){2, 3, 5}));
    CHECK(!ox_broadcasts_to(3, (int64_t[]){1, 1, 1}, 2, (int64_t[]){1, 1}));
}

TEST(broadcast_merges_dims) {
    ox_tensor a = {.dtype = ONYX_DTYPE_FLOAT, .rank = 3, .dims = {2, 3, 4}};
    ox_tensor s = {.dtype = ONYX_DTYPE_FLOAT, .rank = 0};
    ox_bcast b;
    REQUIRE_OK(ox_bcast_init(&b, 2, (const ox_tensor *[]){&a, &s}, 3, a.dims));
    CHECK(b.rank == 1 && b.inner == 24 && b.step[0] == 1 && b.step[1] == 0);
    ox_tensor row = {.dtype = ONYX_DTYPE_FLOAT, .rank = 1, .dims = {4}};
    REQUIRE_OK(ox_bcast_init(&b, 2, (const ox_tensor *[]){&a, &row}, 3, a.dims));
    CHECK(b.rank == 2 && b.dims[0] == 6 && b.inner == 4 && b.step[1] == 1);
    ox_tensor col = {.dtype = ONYX_DTYPE_FLOAT, .rank = 3, .dims = {2, 3, 1}};
    REQUIRE_OK(ox_bcast_init(&b, 2, (const ox_tensor *[]){&a, &col}, 3, a.dims));
    CHECK(b.rank == 2 && b.inner == 4 && b.step[1] == 0 && b.strides[1][0] == 1);
    CHECK(ox_bcast_init(&b, 1, (const ox_tensor *[]){&row}, 1, (int64_t[]){3}) != ONYX_OK);
}

TEST(broadcast_strides) {
    int64_t st[3];
    ox_broadcast_strides(2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 5}, st);
    CHECK(st[0] == 0 && st[1] == 1 && st[2] == 0);
    ox_broadcast_strides(3, (int64_t[]){2, 3, 5}, 3, (int64_t[]){2, 3, 5}, st);
    CHECK(st[0] == 15 && st[1] == 5 && st[2] == 1);
}
