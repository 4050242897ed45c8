/* NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, little-endian:
 * float16/32/64, int8..int64, uint8..uint64 and bool. Fortran order, big-endian
 * data and other dtypes are refused. */
#ifndef OX_FORMAT_NPY_H
#define OX_FORMAT_NPY_H

#include <stddef.h>

#include "ir/tensor.h"

/* Read a .npy file / parse .npy bytes into *out (data from ox_malloc_aligned; free
 * with ox_tensor_free_data). */
onyx_status ox_npy_read(const char *path, ox_tensor *out);
onyx_status ox_npy_decode(const void *bytes, size_t size, ox_tensor *out);

/* Write t as a version 1.0 .npy file / into *bytes (ox_malloc'ed; free with ox_free). */
onyx_status ox_npy_write(const char *path, const ox_tensor *t);
onyx_status ox_npy_encode(const ox_tensor *t, unsigned char **bytes, size_t *size);

#endif
