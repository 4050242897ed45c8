/* Prefetching a region ahead of the stores or loads of the next piece of work.
 *
 * Where cores share no cache, a line that another core wrote last costs a round
 * trip between the cores when this one reads or writes it: 0.2 to 0.5 us on the
 * machine of docs/performance.md, much more than the arithmetic of the few values
 * it holds. A thread meets such lines wherever the split of the work between
 * threads changes from one operator to the next, and wherever the arena hands a
 * value the memory of an earlier one that another thread wrote. Asked for a piece
 * of work ahead, the lines' trips overlap the current piece's arithmetic. */
#ifndef OX_KERNELS_PREFETCH_H
#define OX_KERNELS_PREFETCH_H

#include <stddef.h>

/* Every line of [p, p + bytes), to be written: with PREFETCHW where the processor
 * has it (the line arrives ready to write, the other core's copy dropped), an
 * ordinary prefetch elsewhere. A hint: never faults, never changes a value. */
void ox_prefetch_for_write(const void *p, size_t bytes);

/* Every line of [p, p + bytes), to be read. */
void ox_prefetch_for_read(const void *p, size_t bytes);

#endif
