/* Status codes and the per-thread error message.
 * Internal code returns onyx_status; ox_error() formats the message for
 * onyx_last_error() and returns the status so a failure reads
 *     return ox_error(ONYX_ERR_PARSE, "tensor '%s': raw_data too short", name);
 */
#ifndef OX_UTIL_STATUS_H
#define OX_UTIL_STATUS_H

#include "onyx.h"

#if defined(__GNUC__)
#define OX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OX_PRINTF(a, b)
#endif

/* Set the calling thread's message (printf format) and return s. */
onyx_status ox_error(onyx_status s, const char *fmt, ...) OX_PRINTF(2, 3);

/* Prefix the calling thread's current message with a context (printf format), e.g.
 * "node 'Conv_3' (Conv): " + existing message, and return s. */
onyx_status ox_error_prefix(onyx_status s, const char *fmt, ...) OX_PRINTF(2, 3);

/* Clear the calling thread's message (public calls do this on entry). */
void ox_error_clear(void);

/* The calling thread's message. */
const char *ox_error_message(void);

#define OX_TRY(expr)                                                                       \
    do {                                                                                   \
        onyx_status ox_try_s_ = (expr);                                                    \
        if (ox_try_s_ != ONYX_OK) return ox_try_s_;                                        \
    } while (0)

#endif
