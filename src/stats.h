/* stats.h — small-sample statistics for repeated runs: mean, sample standard deviation and the 95 % confidence
 * interval of the mean (Student t with n - 1 degrees of freedom).
 *
 *   pd_stats s;
 *   stats_summarize(acc, 3, &s);   // s.n = 3, s.mean, s.sd, s.ci95 = t(0.975, 2) * sd / sqrt(3)
 *
 * Values that are not finite (a metric a run could not compute) are left out: n counts the finite ones. With
 * n = 0 every field but n is NaN; with n = 1 the mean is the value and sd, ci95 are NaN (no interval).
 */
#ifndef PD_STATS_H
#define PD_STATS_H

#include <stdint.h>

typedef struct {
    int n;       /* finite values used */
    double mean; /* NaN when n = 0 */
    double sd;   /* sample standard deviation (n - 1 in the denominator); NaN when n < 2 */
    double ci95; /* half-width of the 95 % interval of the mean, t(0.975, n - 1) * sd / sqrt(n); NaN when n < 2 */
} pd_stats;

/* Mean of the finite values (NaN when there are none). */
double stats_mean(const double *x, int n);
/* Sample standard deviation of the finite values (NaN when fewer than 2). */
double stats_sd(const double *x, int n);
/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1; NaN below): exact to 9 digits for
 * df <= 30 (a table), a Cornish-Fisher expansion above (error < 1e-7); tends to 1.959964 as df grows. */
double stats_t975(int64_t df);
/* Half-width of the 95 % confidence interval of a mean of n values with sample standard deviation sd. */
double stats_ci95_halfwidth(double sd, int64_t n);
void stats_summarize(const double *x, int n, pd_stats *out);
/* qsort's comparison of two doubles, ascending (not for NaNs). */
int stats_cmp_double(const void *a, const void *b);

#endif
