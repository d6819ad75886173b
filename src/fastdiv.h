/* fastdiv.h — unsigned 32-bit division by a divisor fixed at run time, as one high multiply, a subtraction and
 * two shifts (Granlund and Montgomery, "Division by invariant integers using multiplication", PLDI 1994, §4),
 * written once for both compilers like rng_hash.h. The CUDA kernels' index arithmetic uses it: splitting a flat
 * index into sample, channel, row and column by divisions the hardware does in tens of instructions each made
 * the convolution's im2col kernel compute-bound (doc/performance.md, "On a GPU"). Not a public header.
 *
 *   pd_fastdiv f = pd_fastdiv_make(d);      // on the host, once per divisor: 1 <= d < 2^32
 *   uint32_t q = pd_fastdiv_div(f, n);      // n / d for every 32-bit n (tests/test_fastdiv.c checks it)
 *   uint32_t q = pd_fastdiv_divmod(f, n, &r);  // and r = n % d
 *   uint32_t r = pd_fastdiv_mod(f, n);      // n % d alone
 *
 * With l = ceil(log2 d) and m = floor(2^32 (2^l - d) / d) + 1 (which fits 32 bits since 2^l - d < d):
 * t = floor(m n / 2^32), n / d = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0), with no overflow anywhere.
 */
#ifndef PD_FASTDIV_H
#define PD_FASTDIV_H

#include <stdint.h>

#ifdef __CUDACC__
#define PD_FASTDIV_FN static __host__ __device__ __forceinline__
#else
#define PD_FASTDIV_FN static inline
#endif

typedef struct {
    uint32_t m;      /* the magic multiplier */
    uint32_t s1, s2; /* the two shifts */
    uint32_t d;      /* the divisor, for the remainder */
} pd_fastdiv;

/* The divider for d (1 <= d; d = 0 is treated as 1, so that a kernel never divides by zero). */
static inline pd_fastdiv pd_fastdiv_make(uint32_t d)
{
    pd_fastdiv f;
    uint32_t l = 0;
    if (d == 0)
        d = 1;
    while (l < 32 && ((uint64_t)1 << l) < d)
        l++;
    f.m = (uint32_t)((((uint64_t)1 << 32) * (((uint64_t)1 << l) - d)) / d + 1);
    f.s1 = l ? 1u : 0u;
    f.s2 = l ? l - 1u : 0u;
    f.d = d;
    return f;
}

PD_FASTDIV_FN uint32_t pd_fastdiv_div(pd_fastdiv f, uint32_t n)
{
#ifdef __CUDA_ARCH__
    uint32_t t = __umulhi(f.m, n);
#else
    uint32_t t = (uint32_t)(((uint64_t)f.m * n) >> 32);
#endif
    return (t + ((n - t) >> f.s1)) >> f.s2;
}

/* n / d, with n % d in *r */
PD_FASTDIV_FN uint32_t pd_fastdiv_divmod(pd_fastdiv f, uint32_t n, uint32_t *r)
{
    uint32_t q = pd_fastdiv_div(f, n);
    *r = n - q * f.d;
    return q;
}

PD_FASTDIV_FN uint32_t pd_fastdiv_mod(pd_fastdiv f, uint32_t n)
{
    return n - pd_fastdiv_div(f, n) * f.d;
}

#endif
