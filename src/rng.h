/* rng.h — seeded, counter-based random numbers.
 *
 * Every random number in pdiff is a pure function of (seed, index): rng_hash mixes the two with the
 * SplitMix64 finaliser. That makes runs repeat exactly, lets many threads (or a GPU) fill a buffer in any
 * order with the same result, and lets a resumed run continue a stream by remembering one counter.
 *
 *   pd_rng r; rng_init(&r, rng_derive(seed, "shuffle"));   // independent stream per purpose
 *   uint32_t j = rng_below(&r, n);
 *   float z = rng_normal_at(seed2, i);                      // i-th standard normal of stream seed2
 */
#ifndef PD_RNG_H
#define PD_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t seed;
    uint64_t counter;
} pd_rng;

uint64_t rng_hash(uint64_t seed, uint64_t index);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rng_uniform_at(uint64_t seed, uint64_t index);
/* Standard normal (Box-Muller on the two 32-bit halves of one hash; the cosine branch). */
float rng_normal_at(uint64_t seed, uint64_t index);
/* A sub-seed for a named purpose, so stages draw from independent streams. */
uint64_t rng_derive(uint64_t seed, const char *purpose);

void rng_init(pd_rng *r, uint64_t seed);
uint64_t rng_u64(pd_rng *r);
double rng_uniform(pd_rng *r);          /* [0, 1), 53 bits */
float rng_normal(pd_rng *r);
uint32_t rng_below(pd_rng *r, uint32_t n); /* uniform in [0, n), n > 0, unbiased */
void rng_shuffle_i32(pd_rng *r, int32_t *a, int64_t n); /* Fisher-Yates */

#endif
