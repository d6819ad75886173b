/* rng.c — counter-based random numbers (see rng.h). */
#include "rng.h"

#include <math.h>

uint64_t rng_hash(uint64_t seed, uint64_t index)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (index + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    /* a second round decorrelates neighbouring seeds as well as neighbouring indices */
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

float rng_uniform_at(uint64_t seed, uint64_t index)
{
    return (float)(rng_hash(seed, index) >> 40) * (1.0f / 16777216.0f);
}

float rng_normal_at(uint64_t seed, uint64_t index)
{
    uint64_t h = rng_hash(seed, index);
    /* u1 in (0, 1] so the log is finite; u2 in [0, 1) */
    double u1 = ((double)(h >> 32) + 1.0) * (1.0 / 4294967296.0);
    double u2 = (double)(h & 0xFFFFFFFFu) * (1.0 / 4294967296.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t rng_derive(uint64_t seed, const char *purpose)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the purpose */
    for (const unsigned char *p = (const unsigned char *)purpose; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return rng_hash(seed, h);
}

void rng_init(pd_rng *r, uint64_t seed)
{
    r->seed = seed;
    r->counter = 0;
}

uint64_t rng_u64(pd_rng *r)
{
    return rng_hash(r->seed, r->counter++);
}

double rng_uniform(pd_rng *r)
{
    return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

float rng_normal(pd_rng *r)
{
    return rng_normal_at(r->seed, r->counter++);
}

uint32_t rng_below(pd_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection */
    uint64_t m = (uint64_t)(uint32_t)rng_u64(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)rng_u64(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void rng_shuffle_i32(pd_rng *r, int32_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rng_below(r, (uint32_t)(i + 1));
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
