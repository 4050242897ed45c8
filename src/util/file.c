#include "util/file.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

onyx_status ox_read_file(const char *path, unsigned char **bytes, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return ox_error(ONYX_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = ox_malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : ox_realloc(buf, cap * 2);
        if (!nb) {
            ox_free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
    if (err) {
        ox_free(buf);
        return ox_error(ONYX_ERR_IO, "cannot read '%s'", path);
    }
    *bytes = buf;
    *size = n;
    return ONYX_OK;
}
