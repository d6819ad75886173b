/* test_stats.c — mean, sample sd, Student t 0.975 quantiles and 95 % intervals (stats.h) against known values. */
#include <math.h>

#include "stats.h"
#include "tap.h"

/* equal to 4 significant digits */
static int same4(double got, double want)
{
    return fabs(got - want) <= 5e-4 * fabs(want);
}

static void test_quantiles(void)
{
    static const struct {
        int64_t df;
        double t;
    } known[] = {{1, 12.706}, {2, 4.303}, {3, 3.182}, {4, 2.776}, {5, 2.571}, {9, 2.262}, {10, 2.228},
                 {29, 2.045}, {30, 2.042}, {31, 2.040}, {40, 2.021}, {60, 2.000}, {120, 1.980}, {1000, 1.962}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        tap_ok(same4(stats_t975(known[i].df), known[i].t), "t(0.975, %lld) = %.4f (want %.3f)",
               (long long)known[i].df, stats_t975(known[i].df), known[i].t);
    tap_ok(fabs(stats_t975(INT64_C(1000000000)) - 1.959964) < 1e-6, "t(0.975, 1e9) tends to 1.959964 (%.7f)",
           stats_t975(INT64_C(1000000000)));
    int mono = 1;
    for (int64_t df = 1; df < 200; df++)
        mono &= stats_t975(df + 1) < stats_t975(df);
    tap_ok(mono, "t(0.975, df) decreases with df (table joins the expansion smoothly)");
    tap_ok(fabs(stats_t975(30) - stats_t975(31)) < 0.004, "no jump between df 30 and 31");
    tap_ok(isnan(stats_t975(0)) && isnan(stats_t975(-3)), "df < 1 has no quantile (NaN)");
}

static void test_summaries(void)
{
    const double x[5] = {2.0, 4.0, 4.0, 4.0, 6.0};
    tap_ok(stats_mean(x, 5) == 4.0, "mean of 2,4,4,4,6 is 4");
    tap_ok(fabs(stats_sd(x, 5) - sqrt(2.0)) < 1e-12, "sample sd of 2,4,4,4,6 is sqrt(2) (n - 1 denominator)");
    pd_stats s;
    stats_summarize(x, 5, &s);
    tap_ok(s.n == 5 && fabs(s.ci95 - 2.776445105 * sqrt(2.0) / sqrt(5.0)) < 1e-9,
           "ci95 = t(4) sd / sqrt(n) = %.6f", s.ci95);
    /* three accuracies: 0.8984, 0.8990, 0.8972 -> mean 0.89820, sd 0.000917, ci95 2.303 * sd / sqrt(3) */
    const double acc[3] = {0.8984, 0.8990, 0.8972};
    stats_summarize(acc, 3, &s);
    tap_ok(fabs(s.mean - 0.8982) < 1e-12 && same4(s.sd, 0.000916515) && same4(s.ci95, 0.0022767),
           "three runs: mean %.5f sd %.6f ci95 %.6f", s.mean, s.sd, s.ci95);
    const double one[1] = {0.5};
    stats_summarize(one, 1, &s);
    tap_ok(s.n == 1 && s.mean == 0.5 && isnan(s.sd) && isnan(s.ci95), "one value: the value, no interval");
    const double gaps[4] = {1.0, NAN, 3.0, INFINITY};
    stats_summarize(gaps, 4, &s);
    tap_ok(s.n == 2 && s.mean == 2.0 && fabs(s.sd - sqrt(2.0)) < 1e-12 && same4(s.ci95, 12.706 * sqrt(2.0) / sqrt(2.0)),
           "values that are not finite are left out (n = %d)", s.n);
    stats_summarize(gaps + 1, 1, &s);
    tap_ok(s.n == 0 && isnan(s.mean) && isnan(s.sd) && isnan(s.ci95), "no finite value: all NaN");
    stats_summarize(x, 0, &s);
    tap_ok(s.n == 0 && isnan(s.mean), "empty input: n = 0, mean NaN");
    tap_ok(isnan(stats_ci95_halfwidth(1.0, 1)) && isnan(stats_ci95_halfwidth(NAN, 5)), "no half-width for n < 2");
}

int main(void)
{
    test_quantiles();
    test_summaries();
    return tap_done();
}
