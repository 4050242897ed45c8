/* Numpy-style (multidirectional) broadcasting and a strided walk over the result.
 *
 *   int32_t r; int64_t d[OX_MAX_RANK];
 *   OX_TRY(ox_broadcast_shape(2, (const ox_tensor *[]){a, b}, &r, d));      // infer
 *
 *   ox_bcast bc;                                                            // run
 *   OX_TRY(ox_bcast_init(&bc, 2, (const ox_tensor *[]){a, b}, out->rank, out->dims));
 *   ox_bcast_run(&bc, c->pool, 0, my_fn, &my_ctx);
 *
 * ox_bcast_init merges adjacent dimensions that every input treats alike (all
 * contiguous, or all broadcast), so same-shape inputs become one flat run and a
 * scalar operand becomes a run with step 0. my_fn(ctx, n, out_off, in_off) then
 * handles n consecutive output elements from out_off; input i's elements start at
 * in_off[i] and advance by bc.step[i] (0 or 1) per output element. Offsets are in
 * elements, not bytes.
 */
#ifndef OX_OPS_BROADCAST_H
#define OX_OPS_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "ir/tensor.h"
#include "util/status.h"

#define OX_BCAST_MAX_IN 8

/* The broadcast shape of two shapes; an error names both when they do not match. */
onyx_status ox_broadcast_dims(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db,
                              int32_t *rank, int64_t *dims);

/* The broadcast shape of n tensors (n >= 1; NULL entries are skipped). */
onyx_status ox_broadcast_shape(size_t n, const ox_tensor *const *in, int32_t *rank,
                               int64_t *dims);

/* Whether a shape broadcasts to out (unidirectional: out is not changed). */
int ox_broadcasts_to(int32_t rank, const int64_t *dims, int32_t out_rank, const int64_t *out_dims);

/* Element strides of a dense tensor of shape (rank, dims) read as shape
 * (out_rank, out_dims): 0 along broadcast (size-1 or missing) dims. The shape must
 * broadcast to out (see ox_broadcasts_to). */
void ox_broadcast_strides(int32_t rank, const int64_t *dims, int32_t out_rank,
                          const int64_t *out_dims, int64_t *strides);

typedef struct ox_bcast {
    size_t n_in;
    int32_t rank;                 /* merged rank, >= 1 */
    int64_t dims[OX_MAX_RANK];    /* merged output dims */
    int64_t strides[OX_BCAST_MAX_IN][OX_MAX_RANK]; /* merged element strides per input */
    size_t count;                 /* output elements */
    size_t inner;                 /* dims[rank - 1]: the length of one run */
    size_t step[OX_BCAST_MAX_IN]; /* each input's stride inside a run: 0 or 1 */
} ox_bcast;

/* Prepare a walk over the output shape for n_in inputs (each must broadcast to the
 * output shape; an error says which does not). */
onyx_status ox_bcast_init(ox_bcast *b, size_t n_in, const ox_tensor *const *in, int32_t out_rank,
                          const int64_t *out_dims);

typedef void (*ox_bcast_fn)(void *ctx, size_t n, size_t out_off, const size_t *in_off);

/* Call fn over all output elements, in pieces no longer than one run. With a pool,
 * ranges of at least grain elements (0: a default for cheap elementwise work) run
 * in parallel; fn must then only write its own output range. */
typedef struct ox_threadpool ox_threadpool;
void ox_bcast_run(const ox_bcast *b, ox_threadpool *pool, size_t grain, ox_bcast_fn fn,
                  void *ctx);

/* The same walk over output elements [begin, end) on the calling thread. */
void ox_bcast_range(const ox_bcast *b, size_t begin, size_t end, ox_bcast_fn fn, void *ctx);

#endif
