/* test_figure.c — figure.h's axis ticks (no cairo needed): nice linear ticks, and whole-number ticks for an axis of
 * seeds or k (a sweep over seed=1,2 or k=1..3 must not tick 1.5 or 2.5). */
#include <math.h>

#include "figure.h"
#include "tap.h"

static int all_whole(const double *t, int n)
{
    for (int i = 0; i < n; i++)
        if (t[i] != floor(t[i]))
            return 0;
    return n > 0;
}

static int increasing(const double *t, int n)
{
    for (int i = 1; i < n; i++)
        if (!(t[i] > t[i - 1]))
            return 0;
    return 1;
}

int main(void)
{
    double t[16];
    int n = fig_ticks(0.92, 2.08, 0, t, 16);
    tap_ok(n >= 3 && !all_whole(t, n), "fig_ticks over 0.92..2.08 ticks fractions (%d ticks, %g %g)", n, t[0], t[1]);
    n = fig_int_ticks(0.92, 2.08, t, 16);
    tap_ok(n == 2 && t[0] == 1 && t[1] == 2, "fig_int_ticks over 0.92..2.08 (seeds 1, 2 padded): 1 2 (%d ticks)", n);
    n = fig_int_ticks(0.84, 3.16, t, 16);
    tap_ok(n == 3 && t[0] == 1 && t[2] == 3, "fig_int_ticks over 0.84..3.16 (k = 1..3): 1 2 3 (%d ticks)", n);
    n = fig_int_ticks(-0.4, 10.4, t, 16);
    tap_ok(all_whole(t, n) && increasing(t, n) && n >= 3 && n <= 6, "fig_int_ticks over -0.4..10.4: %d whole ticks "
           "from %g to %g", n, t[0], t[n - 1]);
    n = fig_int_ticks(0, 25, t, 16);
    tap_ok(all_whole(t, n) && n >= 3 && n <= 6 && t[0] == 0, "fig_int_ticks over 0..25: %d whole ticks (step %g)", n,
           n > 1 ? t[1] - t[0] : 0);
    n = fig_int_ticks(0, 1000, t, 16);
    tap_ok(n >= 3 && n <= 6 && t[0] == 0 && t[n - 1] == 1000, "fig_int_ticks over 0..1000 keeps nice steps (%d ticks)",
           n);
    n = fig_int_ticks(3, 3, t, 16);
    tap_ok(n == 1 && t[0] == 3, "fig_int_ticks over an empty range: the one value");
    return tap_done();
}
