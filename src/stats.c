/* stats.c — mean, sample sd and Student t intervals for repeated runs (see stats.h). */
#include "stats.h"

#include <math.h>

double stats_mean(const double *x, int n)
{
    double sum = 0.0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            sum += x[i];
            m++;
        }
    if (!m)
        return NAN;
    double mean = sum / m, fix = 0.0; /* one correction pass: equal values give exactly that value */
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]))
            fix += x[i] - mean;
    return mean + fix / m;
}

double stats_sd(const double *x, int n)
{
    double mean = stats_mean(x, n), ss = 0.0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            ss += (x[i] - mean) * (x[i] - mean);
            m++;
        }
    return m >= 2 ? sqrt(ss / (m - 1)) : NAN;
}

/* t(0.975, df) for df = 1..30 */
static const double stats_t975_table[30] = {
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135,
    2.262157163,  2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299,
    2.109815578,  2.100922040, 2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
};

double stats_t975(int64_t df)
{
    if (df < 1)
        return NAN;
    if (df <= 30)
        return stats_t975_table[df - 1];
    /* Cornish-Fisher expansion of t around the normal quantile z (Abramowitz & Stegun 26.7.5) */
    const double z = 1.959963984540054, v = (double)df;
    double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
    double g1 = (z3 + z) / 4.0;
    double g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    double g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    double g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

double stats_ci95_halfwidth(double sd, int64_t n)
{
    if (n < 2 || !isfinite(sd))
        return NAN;
    return stats_t975(n - 1) * sd / sqrt((double)n);
}

void stats_summarize(const double *x, int n, pd_stats *out)
{
    out->n = 0;
    for (int i = 0; i < n; i++)
        out->n += isfinite(x[i]) != 0;
    out->mean = stats_mean(x, n);
    out->sd = stats_sd(x, n);
    out->ci95 = stats_ci95_halfwidth(out->sd, out->n);
}

int stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
