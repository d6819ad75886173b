/* test_fastdiv.c — fastdiv.h's division by an invariant divisor against the `/` and `%` operators: every n for small
 * divisors, and the numbers around each multiple, the powers of two and the top of the range for many more. The
 * CUDA kernels' index arithmetic relies on it (kernels/cuda_conv2d.cu); it is the same code on both compilers. */
#include "fastdiv.h"
#include "rng_hash.h"
#include "tap.h"

/* n / d and n % d through every entry point: div, divmod and mod */
static int right(pd_fastdiv f, uint32_t n, uint32_t d)
{
    uint32_t r = UINT32_MAX;
    uint32_t q = pd_fastdiv_divmod(f, n, &r);
    return pd_fastdiv_div(f, n) == n / d && q == n / d && r == n % d && pd_fastdiv_mod(f, n) == n % d;
}

/* n / d for every n in [0, 2^16) and for the numbers around each of the first multiples of d */
static int check_low(uint32_t d)
{
    pd_fastdiv f = pd_fastdiv_make(d);
    for (uint32_t n = 0; n < 65536u; n++)
        if (!right(f, n, d))
            return 0;
    for (uint64_t q = 1; q < 4096 && q * d <= UINT32_MAX; q++)
        for (int64_t off = -1; off <= 1; off++) {
            uint64_t n = q * d + (uint64_t)off;
            if (n <= UINT32_MAX && !right(f, (uint32_t)n, d))
                return 0;
        }
    return 1;
}

/* n / d around the last multiples of d below 2^32, the powers of two and 2^32 - 1, and at random n */
static int check_high(uint32_t d, uint64_t seed)
{
    pd_fastdiv f = pd_fastdiv_make(d);
    uint64_t top = UINT32_MAX / d;
    for (uint64_t q = top > 64 ? top - 64 : 0; q <= top; q++)
        for (int64_t off = -1; off <= 1; off++) {
            int64_t n = (int64_t)(q * d) + off;
            if (n >= 0 && n <= (int64_t)UINT32_MAX && !right(f, (uint32_t)n, d))
                return 0;
        }
    for (int b = 0; b < 32; b++)
        for (int64_t off = -1; off <= 1; off++) {
            int64_t n = ((int64_t)1 << b) + off;
            if (n >= 0 && n <= (int64_t)UINT32_MAX && !right(f, (uint32_t)n, d))
                return 0;
        }
    for (uint64_t i = 0; i < 20000; i++) {
        uint32_t n = (uint32_t)rng_hash_mix(seed, i);
        if (!right(f, n, d))
            return 0;
    }
    return 1;
}

int main(void)
{
    int ok = 1;
    uint32_t first_bad = 0;
    for (uint32_t d = 1; d <= 3000 && ok; d++)
        if (!(ok = check_low(d) && check_high(d, d)))
            first_bad = d;
    tap_ok(ok, "every divisor 1..3000: n / d and n %% d exactly (every n below 2^16, around multiples, the top, "
               "random n)");
    if (!ok)
        tap_diag("first failing divisor: %u", first_bad);

    static const uint32_t special[] = {4096u, 65535u, 65536u, 65537u, 1000003u, 6700417u, 16777216u,
                                       2147483647u, 2147483648u, 2147483649u, 3000000019u, 4294967295u};
    ok = 1;
    for (size_t i = 0; i < sizeof special / sizeof special[0] && ok; i++)
        if (!(ok = check_high(special[i], 100 + i)))
            first_bad = special[i];
    tap_ok(ok, "powers of two and their neighbours, primes, 2^31 and 2^32 - 1 as divisors");
    if (!ok)
        tap_diag("failing divisor: %u", first_bad);

    ok = 1;
    for (uint64_t i = 0; i < 2000 && ok; i++) {
        uint32_t d = (uint32_t)rng_hash_mix(7, i) >> (i % 32);
        if (d && !(ok = check_high(d, 1000 + i)))
            first_bad = d;
    }
    tap_ok(ok, "2000 random divisors of every magnitude");
    if (!ok)
        tap_diag("failing divisor: %u", first_bad);

    pd_fastdiv z = pd_fastdiv_make(0);
    tap_ok(pd_fastdiv_div(z, 12345u) == 12345u && pd_fastdiv_mod(z, 12345u) == 0,
           "a zero divisor divides by 1 (a kernel never divides by zero)");
    return tap_done();
}
