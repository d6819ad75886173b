/* rng_hash.h — the counter-based hash behind every random number in pdiff (see rng.h), written once for both
 * compilers: gcc reads it through src/rng.c, nvcc through kernels/cuda_internal.cuh, so the CPU's and the GPU's
 * streams cannot drift apart. Not a public header: use rng.h's functions on the host.
 *
 *   uint64_t h = rng_hash_mix(seed, i);      // SplitMix64 finaliser, two rounds
 *   float z = rng_hash_normal(seed, i);      // Box-Muller on the two 32-bit halves of h (the cosine branch)
 *
 * The normal transform is computed in double and rounded to float; under nvcc's device pass the products and
 * the sum go through the explicit _rn intrinsics so nothing is contracted into an FMA (gcc contracts nothing
 * here: no product feeds an addition), which keeps the two bit for bit equal.
 */
#ifndef PD_RNG_HASH_H
#define PD_RNG_HASH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define RNG_HASH_FN static __host__ __device__ __forceinline__
#else
#define RNG_HASH_FN static inline
#endif

#ifdef __CUDA_ARCH__
#define RNG_HASH_DMUL(a, b) __dmul_rn((a), (b))
#define RNG_HASH_DADD(a, b) __dadd_rn((a), (b))
#else
#define RNG_HASH_DMUL(a, b) ((a) * (b))
#define RNG_HASH_DADD(a, b) ((a) + (b))
#endif

/* The index-th 64-bit hash of stream seed. */
RNG_HASH_FN uint64_t rng_hash_mix(uint64_t seed, uint64_t index)
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

/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
RNG_HASH_FN float rng_hash_uniform(uint64_t seed, uint64_t index)
{
    return (float)(rng_hash_mix(seed, index) >> 40) * (1.0f / 16777216.0f);
}

/* Standard normal: Box-Muller in double on the two halves of one hash, rounded to float. */
RNG_HASH_FN float rng_hash_normal(uint64_t seed, uint64_t index)
{
    uint64_t h = rng_hash_mix(seed, index);
    /* u1 in (0, 1] so the log is finite; u2 in [0, 1) */
    double u1 = RNG_HASH_DMUL(RNG_HASH_DADD((double)(h >> 32), 1.0), 1.0 / 4294967296.0);
    double u2 = RNG_HASH_DMUL((double)(h & 0xFFFFFFFFu), 1.0 / 4294967296.0);
    return (float)RNG_HASH_DMUL(sqrt(RNG_HASH_DMUL(-2.0, log(u1))), cos(RNG_HASH_DMUL(6.283185307179586, u2)));
}

#undef RNG_HASH_FN
#undef RNG_HASH_DMUL
#undef RNG_HASH_DADD

#endif
