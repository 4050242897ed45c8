/* The Mersenne Twister MT19937 with NumPy's legacy RandomState seeding, so seeded
 * random ops (and training-mode Dropout) draw what the ONNX reference draws. */
#ifndef OX_UTIL_MT19937_H
#define OX_UTIL_MT19937_H

#include <stdint.h>

typedef struct ox_mt19937 {
    uint32_t mt[624];
    int pos;
} ox_mt19937;

void ox_mt_seed(ox_mt19937 *r, uint32_t seed);
uint32_t ox_mt_next(ox_mt19937 *r);
/* Uniform in [0, 1) with 53 random bits, from two draws (NumPy's random_sample). */
double ox_mt_double(ox_mt19937 *r);

#endif
