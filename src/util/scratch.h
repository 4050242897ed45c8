/* Per-thread scratch memory that grows and is kept: kernels that need packing
 * buffers on every call take them from here, so steady-state runs allocate
 * nothing. Freed when the thread exits (or by ox_scratch_release). */
#ifndef OX_UTIL_SCRATCH_H
#define OX_UTIL_SCRATCH_H

#include <stddef.h>

/* Slot `slot` (0..OX_SCRATCH_SLOTS-1) of the calling thread, at least `bytes` long and
 * 64-byte aligned; NULL when memory cannot be had. Contents are not kept across a
 * growth. Valid until the same thread asks for the same slot again. */
#define OX_SCRATCH_SLOTS 5
void *ox_scratch(int slot, size_t bytes);

/* As ox_scratch, for contents one job's calls share on a thread: *kept is 1 when
 * the slot still holds what this thread's last call with the same tag (not 0) left
 * there: no call on the slot since, with this tag or without, and no growth. */
void *ox_scratch_tagged(int slot, size_t bytes, unsigned long long tag, int *kept);

/* A tag no other caller has had (never 0). */
unsigned long long ox_scratch_new_tag(void);

/* Free the calling thread's scratch now. */
void ox_scratch_release(void);

#endif
