#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define OX_MSG_CAP 1024

static _Thread_local char tls_msg[OX_MSG_CAP];

onyx_status ox_error(onyx_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
    va_end(ap);
    return s;
}

onyx_status ox_error_prefix(onyx_status s, const char *fmt, ...) {
    char prefix[OX_MSG_CAP], old[OX_MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_msg, sizeof old);
    size_t n = strlen(prefix);
    memcpy(tls_msg, prefix, n + 1);
    if (n + 1 < sizeof tls_msg) {
        size_t m = strlen(old);
        if (m > sizeof tls_msg - n - 1) m = sizeof tls_msg - n - 1;
        memcpy(tls_msg + n, old, m);
        tls_msg[n + m] = 0;
    }
    return s;
}

void ox_error_clear(void) { tls_msg[0] = 0; }

const char *ox_error_message(void) { return tls_msg; }

const char *onyx_last_error(void) { return tls_msg; }

const char *onyx_status_name(onyx_status s) {
    switch (s) {
    case ONYX_OK: return "ONYX_OK";
    case ONYX_ERR_INVALID_ARGUMENT: return "ONYX_ERR_INVALID_ARGUMENT";
    case ONYX_ERR_IO: return "ONYX_ERR_IO";
    case ONYX_ERR_PARSE: return "ONYX_ERR_PARSE";
    case ONYX_ERR_INVALID_MODEL: return "ONYX_ERR_INVALID_MODEL";
    case ONYX_ERR_UNSUPPORTED: return "ONYX_ERR_UNSUPPORTED";
    case ONYX_ERR_OUT_OF_MEMORY: return "ONYX_ERR_OUT_OF_MEMORY";
    case ONYX_ERR_RUNTIME: return "ONYX_ERR_RUNTIME";
    case ONYX_ERR_LIMIT: return "ONYX_ERR_LIMIT";
    }
    return "ONYX_ERR_UNKNOWN";
}
