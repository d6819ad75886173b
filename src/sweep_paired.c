/* sweep_paired.c — the paired table of a sweep (sweep.h): each kind's difference from the originals within each
 * run, and p-diff's difference from the first value within each seed, then the mean ± 95 % CI over the seeds.
 * Comparing within a seed removes the seed-to-seed spread of the task model, which dominates the plain intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

/* The main metrics, in row order ("mean" falls back to "accuracy": the ensemble is one model). */
static const char *const paired_metrics[] = {"mean", "best_of_n", "novelty", "pair_iou_mean", "max_iou_mean"};
#define PAIRED_METRICS ((int)(sizeof paired_metrics / sizeof paired_metrics[0]))

/* A row: metric a minus metric b of the same run (vs_first = 0: KIND - original), or metric a of a run minus
 * metric a of the first value's run of the same seed (vs_first = 1: pdiff - pdiff at the first value). */
typedef struct {
    char kind[SWEEP_NAME_MAX];
    const char *metric;
    int a, b, vs_first;
} paired_row;

/* Every metric's kind and metric name (sweep_split), computed once. */
typedef struct {
    char (*kind)[SWEEP_NAME_MAX];
    const char **name;
} paired_names;

/* The index of kind's metric, "mean" falling back to "accuracy"; -1 when the sweep has neither. */
static int paired_find(const sweep_data *d, const paired_names *nm, const char *kind, const char *metric)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *want = pass ? "accuracy" : metric;
        if (pass && strcmp(metric, "mean") != 0)
            break;
        for (int m = 0; m < d->n_metrics; m++)
            if (strcmp(nm->kind[m], kind) == 0 && strcmp(nm->name[m], want) == 0)
                return m;
    }
    return -1;
}

/* Run r's difference for row w: NaN when a value is missing (or, vs_first, for the first value's runs and for a
 * seed the first value has no run of). */
static double paired_diff(const sweep_data *d, const paired_row *w, int64_t r)
{
    const double *v = d->val;
    int64_t cap = d->cap_metrics;
    if (!w->vs_first)
        return v[r * cap + w->a] - v[r * cap + w->b];
    if (d->group[r] == 0 || !d->seed[r][0])
        return NAN;
    for (int64_t q = 0; q < d->n_runs; q++)
        if (d->group[q] == 0 && strcmp(d->seed[q], d->seed[r]) == 0)
            return v[r * cap + w->a] - v[q * cap + w->a];
    return NAN;
}

/* The finite differences of row w over the runs of group g (g < 0: every run; run >= 0: that run only). */
static void paired_stats(const sweep_data *d, const paired_row *w, int g, int64_t run, double *buf, pd_stats *s)
{
    int n = 0;
    for (int64_t r = 0; r < d->n_runs; r++)
        if (run >= 0 ? r == run : g < 0 || d->group[r] == g)
            buf[n++] = paired_diff(d, w, r);
    stats_summarize(buf, n, s);
}

/* Append the row when both metrics exist and at least one run has a finite difference. */
static void paired_add(const sweep_data *d, const char *kind, const char *metric, int a, int b, int vs_first,
                       double *buf, paired_row *rows, int *n)
{
    if (a < 0 || b < 0)
        return;
    paired_row w = {.metric = metric, .a = a, .b = b, .vs_first = vs_first};
    snprintf(w.kind, sizeof w.kind, "%s", kind);
    pd_stats s;
    paired_stats(d, &w, -1, -1, buf, &s);
    if (s.n > 0)
        rows[(*n)++] = w;
}

/* The rows: for every kind but original and task (in first appearance order), KIND - original for each main
 * metric; then, with two values or more, pdiff against the first value. None with fewer than two runs per value.
 * Returns the count, -1 when out of memory (*rows is then NULL). */
static int paired_rows(const sweep_data *d, paired_row **rows)
{
    paired_names nm = {malloc((size_t)(d->n_metrics + 1) * sizeof *nm.kind),
                       malloc((size_t)(d->n_metrics + 1) * sizeof *nm.name)};
    double *buf = malloc((size_t)d->n_runs * sizeof *buf);
    *rows = malloc((size_t)(d->n_metrics + 1) * PAIRED_METRICS * sizeof **rows);
    int n = nm.kind && nm.name && buf && *rows ? 0 : -1, enough = sweep_most_runs(d) >= 2;
    for (int m = 0; m < d->n_metrics && n == 0; m++)
        sweep_split(d, d->metric[m], nm.kind[m], &nm.name[m]);
    for (int m = 0; m < d->n_metrics && n >= 0 && enough; m++) {
        const char *k = nm.kind[m];
        int seen = !k[0] || strcmp(k, "original") == 0 || strcmp(k, "task") == 0;
        for (int e = 0; e < m && !seen; e++)
            seen = strcmp(nm.kind[e], k) == 0;
        for (int i = 0; i < PAIRED_METRICS && !seen; i++)
            paired_add(d, k, paired_metrics[i], paired_find(d, &nm, k, paired_metrics[i]),
                       paired_find(d, &nm, "original", paired_metrics[i]), 0, buf, *rows, &n);
    }
    for (int i = 0; i < PAIRED_METRICS && n >= 0 && enough && d->n_groups >= 2; i++) {
        int a = paired_find(d, &nm, "pdiff", paired_metrics[i]);
        paired_add(d, "pdiff", paired_metrics[i], a, a, 1, buf, *rows, &n);
    }
    if (n < 0) {
        free(*rows);
        *rows = NULL;
    }
    free(nm.kind);
    free(nm.name);
    free(buf);
    return n;
}

/* The first value of the sweep (the base of the vs_first rows). */
static const char *paired_first(const sweep_data *d)
{
    return csvio_cell(&d->idx, d->group_row[0], d->cv);
}

static void paired_title(const sweep_data *d, char *out, size_t size)
{
    if (d->is_seed)
        snprintf(out, size,
                 "Paired differences within each of %d runs (kind - original): each run and the mean ± 95%% CI "
                 "(Student t); accuracies in points",
                 (int)d->n_runs);
    else if (d->n_groups >= 2)
        snprintf(out, size,
                 "Paired differences within each seed, over %d seeds per value: kind - original, and pdiff - pdiff "
                 "at %s=%s; mean ± 95%% CI (Student t); accuracies in points",
                 sweep_most_runs(d), d->key, paired_first(d));
    else
        snprintf(out, size,
                 "Paired differences within each seed, over %d seeds: kind - original; mean ± 95%% CI (Student t); "
                 "accuracies in points",
                 sweep_most_runs(d));
}

pd_status sweep_paired_table(const sweep_data *d, sweep_table *t)
{
    paired_row *rows;
    int n = paired_rows(d, &rows);
    double *buf = malloc((size_t)d->n_runs * sizeof *buf);
    t->labels = n >= 0 ? malloc((size_t)(n + 1) * sizeof *t->labels) : NULL;
    if (!buf || !t->labels || sweep_table_alloc(d, n, t) != PD_OK) {
        free(rows);
        free(buf);
        return PD_ERR_NOMEM;
    }
    paired_title(d, t->title, sizeof t->title);
    for (int i = 0; i < n; i++) {
        const paired_row *w = &rows[i];
        sweep_cell *row = &t->cells[(i + 1) * t->cols];
        if (w->vs_first)
            snprintf(t->labels[i], sizeof t->labels[i], "pdiff-pdiff@%s", paired_first(d));
        else
            snprintf(t->labels[i], sizeof t->labels[i], "%s-original", w->kind);
        sweep_label(&row[0], t->labels[i]);
        sweep_label(&row[1], w->metric);
        for (int c = 2; c < t->cols; c++) {
            pd_stats s;
            if (d->is_seed)
                paired_stats(d, w, -1, c < t->cols - 1 ? c - 2 : -1, buf, &s);
            else
                paired_stats(d, w, c - 2, -1, buf, &s);
            row[c] = (sweep_cell){NULL, s.mean, s.ci95, s.n, sweep_is_accuracy(w->kind, w->metric)};
        }
    }
    free(rows);
    free(buf);
    return PD_OK;
}

/* Per row and value: one row per run (its seed, n = 1) and one over the value's runs (seed empty; value "all" for
 * a sweep over seed). The kind is KIND-original, or pdiff@VALUE-pdiff@FIRST. */
pd_status sweep_paired_csv(const sweep_data *d, pd_csv_writer *w)
{
    paired_row *rows;
    int n = paired_rows(d, &rows);
    double *buf = malloc((size_t)d->n_runs * sizeof *buf);
    if (n < 0 || !buf) {
        free(rows);
        free(buf);
        return PD_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        for (int g = rows[i].vs_first ? 1 : 0; g < d->n_groups; g++) {
            const char *value = csvio_cell(&d->idx, d->group_row[g], d->cv);
            char kind[SWEEP_LABEL_MAX];
            if (rows[i].vs_first)
                snprintf(kind, sizeof kind, "pdiff@%s-pdiff@%s", value, paired_first(d));
            else
                snprintf(kind, sizeof kind, "%s-original", rows[i].kind);
            pd_stats s;
            for (int64_t r = 0; r < d->n_runs; r++)
                if (d->group[r] == g) {
                    paired_stats(d, &rows[i], g, r, buf, &s);
                    sweep_csv_row(w, "paired", d, csvio_cell(&d->idx, r, d->cv), d->seed[r], kind, rows[i].metric, &s);
                }
            paired_stats(d, &rows[i], g, -1, buf, &s);
            sweep_csv_row(w, "paired", d, d->is_seed ? "all" : value, "", kind, rows[i].metric, &s);
        }
    free(rows);
    free(buf);
    return PD_OK;
}
