/* The public model functions of include/onyx.h: load (file or buffer), free, metadata. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/model.h"
#include "util/alloc.h"
#include "util/status.h"

/* The folder part of path ("." when it has none). */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return ox_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = ox_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

static onyx_status finish_load(onyx_model *om, onyx_model **out) {
    onyx_status st = ox_decode_model(&om->m);
    if (st != ONYX_OK) {
        ox_model_release(&om->m);
        ox_free(om);
        return st;
    }
    *out = om;
    return ONYX_OK;
}

onyx_status onyx_model_load_file(const char *path, onyx_model **out) {
    ox_error_clear();
    if (!path || !out)
        return ox_error(ONYX_ERR_INVALID_ARGUMENT, "model path and out must not be NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ox_error(ONYX_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return ox_error(ONYX_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ox_error(ONYX_ERR_IO, "'%s' is not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return ox_error(ONYX_ERR_PARSE, "'%s' is empty, not an ONNX model", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2) {
        close(fd);
        return ox_error(ONYX_ERR_LIMIT, "'%s' is too large", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return ox_error(ONYX_ERR_IO, "cannot map '%s': %s", path, strerror(map_errno));
    onyx_model *om = ox_calloc(1, sizeof *om);
    char *dir = dir_of(path);
    if (!om || !dir) {
        munmap(map, size);
        ox_free(om);
        ox_free(dir);
        return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory loading '%s'", path);
    }
    ox_arena_init(&om->m.arena);
    om->m.map = map;
    om->m.map_size = size;
    om->m.bytes = map;
    om->m.size = size;
    om->m.dir = dir;
    onyx_status st = finish_load(om, out);
    if (st != ONYX_OK) return ox_error_prefix(st, "loading '%s': ", path);
    return ONYX_OK;
}

onyx_status onyx_model_load_buffer(const void *data, size_t size, onyx_model **out) {
    ox_error_clear();
    if (!out) return ox_error(ONYX_ERR_INVALID_ARGUMENT, "out must not be NULL");
    if (!data || size == 0)
        return ox_error(data ? ONYX_ERR_PARSE : ONYX_ERR_INVALID_ARGUMENT, "model buffer is %s",
                        data ? "empty" : "NULL");
    onyx_model *om = ox_calloc(1, sizeof *om);
    if (!om) return ox_error(ONYX_ERR_OUT_OF_MEMORY, "out of memory loading a model");
    ox_arena_init(&om->m.arena);
    om->m.bytes = data;
    om->m.size = size;
    return finish_load(om, out);
}

void onyx_model_free(onyx_model *m) {
    if (!m) return;
    ox_model_release(&m->m);
    ox_free(m);
}

int64_t onyx_model_ir_version(const onyx_model *m) {
    return m ? m->m.ir_version : 0;
}

const char *onyx_model_producer(const onyx_model *m) {
    return m && m->m.producer_name ? m->m.producer_name : "";
}

int64_t onyx_model_opset(const onyx_model *m, const char *domain) {
    return m ? ox_model_opset_version(&m->m, domain) : 0;
}
