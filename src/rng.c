/* rng.c — counter-based random numbers (see rng.h); the hash itself is in rng_hash.h, shared with the GPU. */
#include "rng.h"

#include "rng_hash.h"

uint64_t rng_hash(uint64_t seed, uint64_t index)
{
    return rng_hash_mix(seed, index);
}

float rng_uniform_at(uint64_t seed, uint64_t index)
{
    return rng_hash_uniform(seed, index);
}

float rng_normal_at(uint64_t seed, uint64_t index)
{
    return rng_hash_normal(seed, index);
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
