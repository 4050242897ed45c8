/* Reading a whole file into memory. */
#ifndef OX_UTIL_FILE_H
#define OX_UTIL_FILE_H

#include <stddef.h>

#include "onyx.h"

/* Read all of path into a new ox_malloc'ed buffer (*bytes, caller frees with
 * ox_free) of *size bytes. Fails with ONYX_ERR_IO (message names the file) or
 * ONYX_ERR_OUT_OF_MEMORY. */
onyx_status ox_read_file(const char *path, unsigned char **bytes, size_t *size);

#endif
