/* plots_sweep.c — a sweep's figures (see plots.h): metrics against the swept value with 95 % intervals, and the
 * p-diff models' max-similarity distribution per value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "plots_internal.h"
#include "results.h"
#include "stats.h"
#include "sweep.h"

#define PLOT_SWEEP_MAX_VALUES 64
#define PLOT_SWEEP_METRICS 4

static const char *const plots_sweep_metric[PLOT_SWEEP_METRICS] = {"pdiff_best", "pdiff_mean", "original_mean",
                                                                    "novelty"};
static const char *const plots_sweep_label[PLOT_SWEEP_METRICS] = {"p-diff best", "p-diff mean", "original mean",
                                                                   "novelty"};

typedef struct {
    char key[64];
    int n_values;
    char value[PLOT_SWEEP_MAX_VALUES][128];
    int runs[PLOT_SWEEP_MAX_VALUES];
    double metric[PLOT_SWEEP_MAX_VALUES][PLOT_SWEEP_METRICS][SWEEP_MAX_SEEDS];
    double *iou[PLOT_SWEEP_MAX_VALUES]; /* p-diff max IoU pooled over the value's runs */
    int n_iou[PLOT_SWEEP_MAX_VALUES];
    int64_t rows, without;               /* the index's runs; those without results yet (left out) */
    char first_without[256];
} plots_sweep_data;

/* One run's metrics and p-diff max IoUs into value v. */
static pd_status plots_sweep_run(plots_sweep_data *d, int v, const char *dir, pd_error *err)
{
    pd_results *r = NULL;
    PD_TRY(results_load(&r, dir, err));
    int k = d->runs[v]++;
    for (int m = 0; m < PLOT_SWEEP_METRICS; m++)
        d->metric[v][m][k] = results_summary(r, plots_sweep_metric[m]) * 100;
    int n = r->have_models ? zoo_ids_of(&r->zoo, "pdiff", NULL) : 0;
    double *grown = realloc(d->iou[v], (size_t)(d->n_iou[v] + n + 1) * sizeof *grown);
    pd_status st = grown ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (grown) {
        d->iou[v] = grown;
        for (int32_t i = 0; r->have_models && i < r->zoo.n; i++)
            if (strcmp(r->zoo.kind[i], "pdiff") == 0)
                grown[d->n_iou[v]++] = r->zoo.max_iou[i];
    }
    results_free(r);
    return st;
}

static pd_status plots_sweep_row(plots_ctx *c, plots_sweep_data *d, const pd_csv_table *t, int64_t row, pd_error *err)
{
    int ck = csvio_column(t, "key"), cv = csvio_column(t, "value"), cs = csvio_column(t, "session");
    const char *value = csvio_cell(t, row, cv);
    snprintf(d->key, sizeof d->key, "%s", csvio_cell(t, row, ck));
    char dir[PD_PATH_MAX];
    PD_TRY(path_join(dir, sizeof dir, c->dir, csvio_cell(t, row, cs), err));
    d->rows++;
    if (!path_file_in(dir, "summary.csv")) {
        if (d->without++ == 0) /* a sweep still running or stopped: this run has no results yet */
            snprintf(d->first_without, sizeof d->first_without, "%s", csvio_cell(t, row, cs));
        return PD_OK;
    }
    int v = 0;
    while (v < d->n_values && strcmp(d->value[v], value) != 0)
        v++;
    if (v == PLOT_SWEEP_MAX_VALUES)
        return error_set(err, PD_ERR_FORMAT, "%s: more than %d values", t->path, PLOT_SWEEP_MAX_VALUES);
    if (v == d->n_values)
        snprintf(d->value[d->n_values++], sizeof d->value[0], "%s", value);
    if (d->runs[v] == SWEEP_MAX_SEEDS)
        return error_set(err, PD_ERR_FORMAT, "%s: more than %d runs of %s", t->path, SWEEP_MAX_SEEDS, value);
    return plots_sweep_run(d, v, dir, err);
}

static pd_status plots_sweep_load(plots_ctx *c, plots_sweep_data *d, pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_csv_table t;
    PD_TRY(path_join(path, sizeof path, c->dir, "sweep_index.csv", err));
    PD_TRY(csvio_read(path, &t, err));
    pd_status st = PD_OK;
    if (csvio_column(&t, "key") < 0 || csvio_column(&t, "value") < 0 || csvio_column(&t, "session") < 0)
        st = error_set(err, PD_ERR_FORMAT, "%s: expected columns key,value,session", path);
    for (int64_t i = 0; st == PD_OK && i < t.rows; i++)
        st = plots_sweep_row(c, d, &t, i, err);
    if (st == PD_OK && d->n_values == 0)
        st = d->without > 0 ? error_set(err, PD_ERR_STATE, "%s: none of the sweep's %lld runs has results yet (no "
                                        "summary.csv in %s or the others)", c->dir, (long long)d->rows,
                                        d->first_without)
                            : error_set(err, PD_ERR_FORMAT, "%s: no runs", path);
    if (st == PD_OK && d->without > 0 && c->note) {
        char note[PD_ERROR_MSG_MAX];
        snprintf(note, sizeof note, "%lld of the sweep's %lld runs have no results yet (%.200s%s): the figures show "
                 "the others", (long long)d->without, (long long)d->rows, d->first_without,
                 d->without > 1 ? ", ..." : "");
        c->note(NULL, note, c->ctx);
    }
    csvio_free(&t);
    return st;
}

/* x of every value: the number when all values are numbers, else its index (categorical). */
static int plots_sweep_x(const plots_sweep_data *d, double *x)
{
    for (int v = 0; v < d->n_values; v++) {
        char *end;
        x[v] = strtod(d->value[v], &end);
        if (end == d->value[v] || *end || !isfinite(x[v])) {
            for (int k = 0; k < d->n_values; k++)
                x[k] = k;
            return 0;
        }
    }
    return 1;
}

/* One panel: metrics m0..m1 against the value, mean +- 95 % interval per value. */
static void plots_sweep_panel(pd_figure *f, const plots_sweep_data *d, const double *x, int numeric, int m0, int m1,
                             const char *ylabel, double fy0, double fy1)
{
    double mean[PLOT_SWEEP_METRICS][PLOT_SWEEP_MAX_VALUES], lo[PLOT_SWEEP_METRICS][PLOT_SWEEP_MAX_VALUES];
    double hi[PLOT_SWEEP_METRICS][PLOT_SWEEP_MAX_VALUES], all[2 * PLOT_SWEEP_METRICS * PLOT_SWEEP_MAX_VALUES];
    const char *cats[PLOT_SWEEP_MAX_VALUES];
    int na = 0;
    for (int m = m0; m <= m1; m++)
        for (int v = 0; v < d->n_values; v++) {
            pd_stats s;
            stats_summarize(d->metric[v][m], d->runs[v], &s);
            double h = isfinite(s.ci95) ? s.ci95 : 0;
            mean[m][v] = s.mean, lo[m][v] = s.mean - h, hi[m][v] = s.mean + h;
            all[na++] = lo[m][v], all[na++] = hi[m][v];
        }
    for (int v = 0; v < d->n_values; v++)
        cats[v] = d->value[v];
    int whole = numeric;
    for (int v = 0; v < d->n_values; v++)
        whole = whole && x[v] == floor(x[v]);
    fig_axes a = {.xlabel = d->key, .ylabel = ylabel, .xcats = numeric ? NULL : cats,
                  .n_xcats = numeric ? 0 : d->n_values, .xint = whole};
    if (!plots_range(x, d->n_values, 0.08, &a.x0, &a.x1) || !plots_range(all, na, 0.1, &a.y0, &a.y1))
        a.x1 = a.y1 = 1;
    fig_panel(f, &a, 0, fy0, 1, fy1);
    fig_legend_entry e[PLOT_SWEEP_METRICS];
    for (int m = m0; m <= m1; m++) {
        fig_rgb col = fig_palette(m == 0 ? 6 : m == 1 ? 1 : m == 2 ? 2 : 5);
        fig_marker mk = m < 2 ? FIG_MARK_STAR : m == 2 ? FIG_MARK_CIRCLE : FIG_MARK_SQUARE;
        fig_line(f, x, mean[m], d->n_values, col, m == 1);
        fig_points(f, x, mean[m], d->n_values, mk, col);
        for (int v = 0; v < d->n_values; v++)
            if (hi[m][v] > lo[m][v])
                fig_errorbar(f, x[v], lo[m][v], hi[m][v], col);
        e[m - m0] = (fig_legend_entry){plots_sweep_label[m], col, mk, 1, 1};
    }
    fig_legend(f, e, m1 - m0 + 1, 1);
}

static pd_status plots_sweep_metrics(plots_ctx *c, const plots_sweep_data *d, pd_error *err)
{
    pd_figure *f = NULL;
    double x[PLOT_SWEEP_MAX_VALUES];
    int numeric = plots_sweep_x(d, x), repeats = 0;
    PD_TRY(plots_open(c, "sweep_metrics", c->width * 1.1, &f, err));
    plots_sweep_panel(f, d, x, numeric, 0, 2, "test accuracy (%)", 0, 0.55);
    plots_sweep_panel(f, d, x, numeric, 3, 3, "novelty (%)", 0.55, 1);
    for (int v = 0; v < d->n_values; v++)
        repeats = d->runs[v] > repeats ? d->runs[v] : repeats;
    char cap[1200];
    snprintf(cap, sizeof cap, "Sweep %s over %s (%d values, up to %d runs each): p-diff best and mean accuracy, the "
             "originals' mean accuracy and the novelty of the p-diff models against %s; %s.", c->name, d->key,
             d->n_values, repeats, d->key,
             repeats > 1 ? "points are means over the runs (seeds), bars their 95 % confidence intervals "
                           "(Student t)" : "one run per value");
    return plots_close(c, "sweep_metrics", &f, cap, err);
}

static pd_status plots_sweep_similarity(plots_ctx *c, const plots_sweep_data *d, pd_error *err)
{
    pd_figure *f = NULL;
    const char *cats[PLOT_SWEEP_MAX_VALUES];
    int total = 0;
    for (int v = 0; v < d->n_values; v++)
        cats[v] = d->value[v], total += d->n_iou[v];
    if (total == 0)
        return plots_skip(c, "sweep_max_similarity", "no p-diff models in the sweep's sessions", err);
    double *all = malloc((size_t)total * sizeof *all), *bx = malloc((size_t)total * sizeof *bx);
    pd_status st = all && bx ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (st == PD_OK)
        st = plots_open(c, "sweep_max_similarity", c->width * 0.75, &f, err);
    if (st != PD_OK)
        goto done;
    for (int v = 0, k = 0; v < d->n_values; v++)
        for (int i = 0; i < d->n_iou[v]; i++)
            all[k++] = d->iou[v][i];
    fig_axes a = {.x0 = -0.6, .x1 = d->n_values - 0.4, .xlabel = d->key, .ylabel = "max IoU with the originals",
                  .xcats = cats, .n_xcats = d->n_values};
    if (!plots_range(all, total, 0.05, &a.y0, &a.y1))
        a.y0 = 0, a.y1 = 1;
    fig_panel(f, &a, 0, 0, 1, 1);
    fig_kind_style s = fig_kind_of("pdiff");
    for (int v = 0; v < d->n_values; v++) {
        double q1, med, q3;
        for (int i = 0; i < d->n_iou[v]; i++)
            bx[i] = v + 0.25 * plots_jitter(i);
        if (plots_quartiles(d->iou[v], d->n_iou[v], &q1, &med, &q3))
            fig_box(f, v, 0.35, q1, med, q3, (fig_rgb){0.3, 0.3, 0.3});
        fig_points(f, bx, d->iou[v], d->n_iou[v], s.marker, s.colour);
    }
    char cap[1200];
    snprintf(cap, sizeof cap, "Sweep %s over %s: the largest similarity (IoU of wrong predictions) of every p-diff "
             "model to the originals, pooled over each value's runs; boxes span the quartiles, a line at the "
             "median.", c->name, d->key);
    st = plots_close(c, "sweep_max_similarity", &f, cap, err);
done:
    fig_abort(&f);
    free(all), free(bx);
    return st;
}

pd_status plots_sweep(plots_ctx *c, pd_error *err)
{
    plots_sweep_data *d = calloc(1, sizeof *d);
    if (!d)
        return error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    pd_status st = plots_sweep_load(c, d, err);
    if (st == PD_OK && plots_want(c, "sweep_metrics"))
        st = plots_sweep_metrics(c, d, err);
    if (st == PD_OK && plots_want(c, "sweep_max_similarity"))
        st = plots_sweep_similarity(c, d, err);
    for (int v = 0; v < PLOT_SWEEP_MAX_VALUES; v++)
        free(d->iou[v]);
    free(d);
    return st;
}
