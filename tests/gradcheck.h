/* gradcheck.h — finite-difference gradient checks for backend ops (header-only, used with tap.h).
 *
 * The op under test runs in float32; the check perturbs one input element at a time by a central
 * difference and evaluates the scalar loss L = sum_j r_j out_j (r fixed random weights, so dL/dout = r)
 * accumulated in double precision, then compares (L(x+h) - L(x-h)) / (2h) with the analytic gradient:
 *
 *   double loss(void *ctx) { run forward; return gradcheck_dot(out, r, n_out); }
 *   gradcheck("conv2d din", x, dx_analytic, n_in, loss, ctx, 1e-2, 2e-3, 2e-2, 200);
 *
 * The step h is applied in float and the actual difference (after rounding) is used; an element that fails
 * is retried with h/4 and h/16 (a kink of ReLU or max-pool near x spoils one step size, a wrong gradient all
 * of them). Up to max_checks
 * indices spread evenly over the array are checked; one TAP line reports the worst relative error.
 * Avoid inputs at kinks (ReLU at 0, ties in max-pool, clamp bounds) when building test data.
 */
#ifndef PD_GRADCHECK_H
#define PD_GRADCHECK_H

#include "tap.h"

typedef double (*gradcheck_loss_fn)(void *ctx);

__attribute__((unused)) static double gradcheck_dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

__attribute__((unused)) static int gradcheck(const char *name, float *x, const float *analytic, int64_t n,
                                             gradcheck_loss_fn loss, void *ctx, double h, double atol,
                                             double rtol, int64_t max_checks)
{
    int64_t stride = n > max_checks && max_checks > 0 ? n / max_checks : 1;
    double worst = 0.0, worst_num = 0.0, worst_ana = 0.0;
    int64_t worst_i = -1, bad = 0, checked = 0;
    for (int64_t i = 0; i < n; i += stride) {
        float x0 = x[i];
        double ana = analytic[i], num = 0.0, d = 0.0, tol = 0.0;
        /* a ReLU or max-pool kink inside [x-h, x+h] spoils the central difference; retry with smaller steps
         * (a wrong gradient fails at every step size) */
        for (double hh = h; hh >= h / 16; hh /= 4) {
            float xp = (float)(x0 + hh), xm = (float)(x0 - hh);
            x[i] = xp;
            double lp = loss(ctx);
            x[i] = xm;
            double lm = loss(ctx);
            x[i] = x0;
            num = (lp - lm) / ((double)xp - (double)xm);
            d = fabs(num - ana);
            tol = atol + rtol * fabs(num);
            if (d <= tol)
                break;
        }
        checked++;
        if (!(d <= tol))
            bad++;
        double rel = d / (tol > 0 ? tol : 1.0);
        if (worst_i < 0 || rel > worst || rel != rel) {
            worst = rel;
            worst_i = i;
            worst_num = num;
            worst_ana = ana;
        }
    }
    loss(ctx); /* leave the forward state as it was */
    return tap_ok(bad == 0, "gradcheck %s: %lld of %lld checked outside tolerance; worst [%lld] numeric %.6g analytic %.6g",
                  name, (long long)bad, (long long)checked, (long long)worst_i, worst_num, worst_ana);
}

#endif
