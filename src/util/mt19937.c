#include "util/mt19937.h"

void ox_mt_seed(ox_mt19937 *r, uint32_t seed) {
    r->mt[0] = seed;
    for (uint32_t i = 1; i < 624; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + i;
    r->pos = 624;
}

uint32_t ox_mt_next(ox_mt19937 *r) {
    if (r->pos >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
            r->mt[i] = r->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        r->pos = 0;
    }
    uint32_t y = r->mt[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

double ox_mt_double(ox_mt19937 *r) {
    uint32_t a = ox_mt_next(r) >> 5, b = ox_mt_next(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}
