/* sweep_report.c — the combined tables of a sweep: every summary metric per kind and value, mean ± 95 % CI over
 * seeds, as text, tidy CSV or LaTeX (see sweep.h; the paired table: sweep_paired.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csvio.h"
#include "grow.h"
#include "path.h"
#include "report.h"
#include "session.h"
#include "stats.h"
#include "sweep.h"
#include "sweep_internal.h"

static void sweep_data_free(sweep_data *d)
{
    csvio_free(&d->idx);
    free(d->seed);
    free(d->group);
    free(d->group_row);
    free(d->metric);
    free(d->val);
}

/* ------------------------------------------------------------------------------------------ reading */

/* The seed of an older index's run: its config.csv's seed row ("" when unreadable). */
static void sweep_config_seed(const char *sess, char *out, size_t size)
{
    char path[PD_PATH_MAX];
    pd_csv_table t;
    out[0] = '\0';
    if (path_join(path, sizeof path, sess, "config.csv", NULL) != PD_OK || csvio_read(path, &t, NULL) != PD_OK)
        return;
    int ck = csvio_column(&t, "key"), cv = csvio_column(&t, "value");
    for (int64_t r = 0; ck >= 0 && cv >= 0 && r < t.rows; r++)
        if (strcmp(csvio_cell(&t, r, ck), "seed") == 0)
            snprintf(out, size, "%s", csvio_cell(&t, r, cv));
    csvio_free(&t);
}

static pd_status sweep_add_metric(sweep_data *d, const char *name, int *m)
{
    for (*m = 0; *m < d->n_metrics; (*m)++)
        if (strcmp(d->metric[*m], name) == 0)
            return PD_OK;
    if (d->n_metrics == d->cap_metrics) { /* room for one more column in every run's row */
        int64_t cap = d->cap_metrics ? 2 * d->cap_metrics : 64;
        double *nv = malloc((size_t)(d->n_runs * cap) * sizeof *nv);
        char(*nm)[SWEEP_NAME_MAX] = realloc(d->metric, (size_t)cap * sizeof *nm);
        if (nm)
            d->metric = nm;
        if (!nv || !nm) {
            free(nv);
            return PD_ERR_NOMEM;
        }
        for (int64_t r = 0; r < d->n_runs; r++)
            for (int64_t c = 0; c < cap; c++)
                nv[r * cap + c] = c < d->n_metrics ? d->val[r * d->cap_metrics + c] : NAN;
        free(d->val);
        d->val = nv;
        d->cap_metrics = cap;
    }
    snprintf(d->metric[d->n_metrics], SWEEP_NAME_MAX, "%s", name);
    *m = d->n_metrics++;
    return PD_OK;
}

/* Run r's summary.csv (through session.h's reader) into d->val. */
static pd_status sweep_read_run(sweep_data *d, const char *dir, int64_t r, pd_error *err)
{
    char sess[PD_PATH_MAX];
    PD_TRY(path_join(sess, sizeof sess, dir, csvio_cell(&d->idx, r, d->cs), err));
    if (d->cseed >= 0)
        snprintf(d->seed[r], sizeof d->seed[r], "%s", csvio_cell(&d->idx, r, d->cseed));
    else if (d->is_seed)
        snprintf(d->seed[r], sizeof d->seed[r], "%s", csvio_cell(&d->idx, r, d->cv));
    else
        sweep_config_seed(sess, d->seed[r], sizeof d->seed[r]);
    if (d->partial && !path_file_in(sess, "summary.csv")) { /* not yet run, or before its first stage ended */
        if (d->n_without++ == 0)
            snprintf(d->first_without, sizeof d->first_without, "%s", csvio_cell(&d->idx, r, d->cs));
        return PD_OK;
    }
    pd_session *s;
    PD_TRY(session_open(&s, sess, 0, err));
    pd_status st = PD_OK;
    for (int i = 0; i < session_summary_count(s) && st == PD_OK; i++) {
        double v;
        const char *name = session_summary_at(s, i, &v);
        int m;
        if (strlen(name) >= SWEEP_NAME_MAX)
            continue;
        st = sweep_add_metric(d, name, &m);
        if (st == PD_OK)
            d->val[r * d->cap_metrics + m] = v;
        else
            st = error_set(err, st, "%s: out of memory reading the sweep", sess);
    }
    session_free(s);
    return st;
}

/* Group the runs by value (a sweep over seed: one group). */
static void sweep_group(sweep_data *d)
{
    for (int64_t r = 0; r < d->n_runs; r++) {
        int g = 0;
        while (g < d->n_groups && !d->is_seed &&
               strcmp(csvio_cell(&d->idx, d->group_row[g], d->cv), csvio_cell(&d->idx, r, d->cv)) != 0)
            g++;
        if (g == d->n_groups)
            d->group_row[d->n_groups++] = r;
        d->group[r] = g;
    }
}

static pd_status sweep_load(sweep_data *d, const char *dir, int partial, pd_error *err)
{
    memset(d, 0, sizeof *d);
    d->partial = partial;
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    PD_TRY(csvio_read(path, &d->idx, err));
    int ck = csvio_column(&d->idx, "key");
    d->cv = csvio_column(&d->idx, "value");
    d->cs = csvio_column(&d->idx, "session");
    d->cseed = csvio_column(&d->idx, "seed");
    if (ck < 0 || d->cv < 0 || d->cs < 0 || d->idx.rows < 1) {
        sweep_data_free(d);
        return error_set(err, PD_ERR_FORMAT, "%s: expected columns key,value,(seed,)session and at least one row",
                         path);
    }
    d->key = csvio_cell(&d->idx, 0, ck);
    d->is_seed = strcmp(d->key, "seed") == 0;
    d->n_runs = d->idx.rows;
    d->seed = calloc((size_t)d->n_runs, sizeof *d->seed);
    d->group = calloc((size_t)d->n_runs, sizeof *d->group);
    d->group_row = calloc((size_t)d->n_runs, sizeof *d->group_row);
    pd_status st = d->seed && d->group && d->group_row ? PD_OK : error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t r = 0; r < d->n_runs && st == PD_OK; r++)
        st = sweep_read_run(d, dir, r, err);
    if (st != PD_OK) {
        sweep_data_free(d);
        return st;
    }
    sweep_group(d);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------ kinds and metrics */

static int sweep_has_metric(const sweep_data *d, const char *name)
{
    for (int m = 0; m < d->n_metrics; m++)
        if (strcmp(d->metric[m], name) == 0)
            return 1;
    return 0;
}

/* A kind: a known one, or any P with a metric P_best (noise_0.1, and kinds added later). */
static int sweep_is_kind(const sweep_data *d, const char *p)
{
    static const char *const known[] = {"original", "ensemble", "pdiff",    "ae_recon", "finetune",
                                        "averaged", "gaussian", "task",     NULL};
    for (int i = 0; known[i]; i++)
        if (strcmp(p, known[i]) == 0)
            return 1;
    char best[SWEEP_NAME_MAX + 8];
    snprintf(best, sizeof best, "%s_best", p);
    return sweep_has_metric(d, best);
}

/* Split a metric name into kind and metric at the longest kind prefix: "ae_recon_max_iou_mean" -> ae_recon,
 * max_iou_mean; "ensemble" -> ensemble, accuracy; "novelty" -> "", novelty. */
void sweep_split(const sweep_data *d, const char *name, char *kind, const char **metric)
{
    kind[0] = '\0';
    *metric = name;
    if (sweep_is_kind(d, name)) {
        snprintf(kind, SWEEP_NAME_MAX, "%s", name);
        *metric = "accuracy";
        return;
    }
    for (const char *u = strchr(name, '_'); u; u = strchr(u + 1, '_')) {
        char p[SWEEP_NAME_MAX];
        snprintf(p, sizeof p, "%.*s", (int)(u - name), name);
        if (sweep_is_kind(d, p)) {
            snprintf(kind, SWEEP_NAME_MAX, "%s", p);
            *metric = u + 1;
        }
    }
}

static int sweep_is_cost(const char *name)
{
    size_t n = strlen(name), l = strlen("_parameters");
    return strncmp(name, "seconds_", 8) == 0 || (n > l && strcmp(name + n - l, "_parameters") == 0);
}

int sweep_is_accuracy(const char *kind, const char *metric)
{
    static const char *const acc[] = {"best", "mean", "median", "accuracy", "best_of_n", NULL};
    for (int i = 0; kind[0] && acc[i]; i++)
        if (strcmp(metric, acc[i]) == 0)
            return 1;
    return 0;
}

/* The metrics of one table (cost or not) in row order: kinds by first appearance, then metrics by theirs. */
static int sweep_order(const sweep_data *d, int cost, int *order)
{
    int n = 0;
    char (*kinds)[SWEEP_NAME_MAX] = malloc((size_t)(d->n_metrics + 1) * sizeof *kinds);
    if (!kinds)
        return -1;
    for (int m = 0; m < d->n_metrics; m++) {
        if (sweep_is_cost(d->metric[m]) != cost)
            continue;
        const char *metric;
        sweep_split(d, d->metric[m], kinds[m], &metric);
        int seen = 0;
        for (int e = 0; e < m && !seen; e++)
            seen = sweep_is_cost(d->metric[e]) == cost && strcmp(kinds[e], kinds[m]) == 0;
        if (seen)
            continue;
        for (int e = m; e < d->n_metrics; e++) {
            char k[SWEEP_NAME_MAX];
            if (sweep_is_cost(d->metric[e]) != cost)
                continue;
            sweep_split(d, d->metric[e], k, &metric);
            if (strcmp(k, kinds[m]) == 0)
                order[n++] = e;
        }
    }
    free(kinds);
    return n;
}

/* ------------------------------------------------------------------------------------------ tables */

/* The finite values of metric m over the runs of group g (g < 0: every run; run >= 0: that run only). */
static void sweep_stats(const sweep_data *d, int m, int g, int64_t run, double *buf, pd_stats *s)
{
    int n = 0;
    for (int64_t r = 0; r < d->n_runs; r++)
        if (run >= 0 ? r == run : g < 0 || d->group[r] == g)
            buf[n++] = d->val[r * d->cap_metrics + m];
    stats_summarize(buf, n, s);
}

void sweep_label(sweep_cell *c, const char *text)
{
    c->label = text;
    c->n = -1;
}

pd_status sweep_table_alloc(const sweep_data *d, int n, sweep_table *t)
{
    t->cols = 2 + (int)(d->is_seed ? d->n_runs + 1 : d->n_groups);
    t->rows = n + 1;
    t->cells = n >= 0 ? calloc((size_t)t->rows * (size_t)t->cols, sizeof *t->cells) : NULL;
    if (!t->cells)
        return PD_ERR_NOMEM;
    sweep_label(&t->cells[0], "kind");
    sweep_label(&t->cells[1], "metric");
    for (int c = 2; c < t->cols; c++) {
        int64_t r = d->is_seed ? c - 2 : d->group_row[c - 2];
        sweep_label(&t->cells[c], d->is_seed && c == t->cols - 1 ? "mean ± 95% CI" : csvio_cell(&d->idx, r, d->cv));
    }
    return PD_OK;
}

void sweep_table_free(sweep_table *t)
{
    free(t->cells);
    free(t->labels);
    t->cells = NULL;
    t->labels = NULL;
}

/* One row per (kind, metric) of the table (cost: the seconds and parameter counts), one column per value — for
 * a sweep over seed one per run and the mean over them. Labels point into d, kinds and names. */
static pd_status sweep_table_build(const sweep_data *d, int cost, int pct, char (*kinds)[SWEEP_NAME_MAX],
                                   sweep_table *t)
{
    int *order = malloc((size_t)(d->n_metrics + 1) * sizeof *order);
    double *buf = malloc((size_t)d->n_runs * sizeof *buf);
    int n = order && buf ? sweep_order(d, cost, order) : -1;
    if (sweep_table_alloc(d, n, t) != PD_OK) {
        free(order);
        free(buf);
        return PD_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        sweep_cell *row = &t->cells[(i + 1) * t->cols];
        const char *metric;
        sweep_split(d, d->metric[order[i]], kinds[order[i]], &metric);
        if (kinds[order[i]][0])
            sweep_label(&row[0], kinds[order[i]]);
        else
            row[0] = (sweep_cell){.n = 0}; /* no kind: shown as "-" */
        sweep_label(&row[1], metric);
        for (int c = 2; c < t->cols; c++) {
            pd_stats s;
            if (d->is_seed)
                sweep_stats(d, order[i], -1, c < t->cols - 1 ? c - 2 : -1, buf, &s);
            else
                sweep_stats(d, order[i], c - 2, -1, buf, &s);
            row[c] = (sweep_cell){NULL, s.mean, s.ci95, s.n, pct && sweep_is_accuracy(kinds[order[i]], metric)};
        }
    }
    free(order);
    free(buf);
    return PD_OK;
}

/* A cell as text ("89.84 ± 0.12") or LaTeX ("$89.84 \pm 0.12$"); labels are neutralised, not escaped. */
static void sweep_cell_format(const sweep_cell *c, int tex, char *buf, size_t size)
{
    if (c->label) {
        csvio_neutralise(c->label, buf, size);
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        return;
    }
    if (c->n <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    double scale = c->pct ? 100.0 : 1.0, mean = c->mean * scale, ci = c->ci * scale;
    int dec = c->pct ? 2 : fabs(mean) >= 1000.0 ? 0 : fabs(mean) >= 10.0 ? 2 : 4;
    if (!isfinite(ci))
        snprintf(buf, size, "%.*f", dec, mean);
    else
        snprintf(buf, size, tex ? "$%.*f \\pm %.*f$" : "%.*f ± %.*f", dec, mean, dec, ci);
}

/* characters on screen of a UTF-8 string */
static int sweep_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

void sweep_print_text(const sweep_table *t, FILE *out)
{
    int *width = calloc((size_t)t->cols, sizeof *width);
    if (!width)
        return;
    char buf[320];
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++) {
            sweep_cell_format(&t->cells[r * t->cols + c], 0, buf, sizeof buf);
            if (sweep_width(buf) > width[c])
                width[c] = sweep_width(buf);
        }
    fprintf(out, "%s\n", t->title);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            sweep_cell_format(&t->cells[r * t->cols + c], 0, buf, sizeof buf);
            int pad = width[c] - sweep_width(buf);
            if (c < 2)
                fprintf(out, "  %s%*s", buf, pad, "");
            else
                fprintf(out, "  %*s%s", pad, "", buf);
        }
        fputc('\n', out);
        if (r == 0)
            report_text_rule(width, t->cols, out);
    }
    fputc('\n', out);
    free(width);
}

void sweep_print_latex(const sweep_table *t, FILE *out)
{
    report_latex_begin(t->title, t->name, 2, t->cols, out);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            const sweep_cell *cell = &t->cells[r * t->cols + c];
            char buf[320];
            sweep_cell_format(cell, 1, buf, sizeof buf);
            report_latex_cell(c, buf, cell->label != NULL, out); /* a label is never "-": neutralised to "'-" */
        }
        report_latex_row_end(r, out);
    }
    report_latex_end(out);
}

/* ------------------------------------------------------------------------------------------ CSV */

void sweep_csv_row(pd_csv_writer *w, const char *table, const sweep_data *d, const char *value, const char *seed,
                   const char *kind, const char *metric, const pd_stats *s)
{
    csvio_text(w, table);
    csvio_text(w, d->key);
    csvio_text(w, value);
    csvio_text(w, seed);
    csvio_text(w, kind);
    csvio_text(w, metric);
    csvio_int(w, s->n);
    csvio_num(w, s->mean);
    csvio_num(w, s->sd);
    csvio_num(w, s->ci95);
    csvio_endrow(w);
}

/* Per run and metric, then per value and metric over its runs; then the paired table (sweep.h). */
static pd_status sweep_print_csv(const sweep_data *d, FILE *out, pd_error *err)
{
    int *order = malloc((size_t)(d->n_metrics + 1) * sizeof *order);
    double *buf = malloc((size_t)d->n_runs * sizeof *buf);
    pd_csv_writer *w = NULL;
    pd_status st = order && buf ? csvio_create_stream(&w, out, err) : error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    static const char *const head[10] = {"table", "key", "value", "seed", "kind", "metric", "n", "mean", "sd", "ci95"};
    for (int c = 0; c < 10 && st == PD_OK; c++)
        csvio_text(w, head[c]);
    if (st == PD_OK)
        csvio_endrow(w);
    for (int cost = 0; cost < 2 && st == PD_OK; cost++) {
        int n = sweep_order(d, cost, order);
        for (int i = 0; i < n; i++) {
            char kind[SWEEP_NAME_MAX];
            const char *metric;
            sweep_split(d, d->metric[order[i]], kind, &metric);
            for (int g = 0; g < d->n_groups; g++) {
                pd_stats s;
                for (int64_t r = 0; r < d->n_runs; r++)
                    if (d->group[r] == g) {
                        sweep_stats(d, order[i], g, r, buf, &s);
                        sweep_csv_row(w, cost ? "sweep_cost" : "sweep", d, csvio_cell(&d->idx, r, d->cv), d->seed[r],
                                      kind, metric, &s);
                    }
                sweep_stats(d, order[i], g, -1, buf, &s);
                sweep_csv_row(w, cost ? "sweep_cost" : "sweep", d,
                              d->is_seed ? "all" : csvio_cell(&d->idx, d->group_row[g], d->cv), "", kind, metric, &s);
            }
        }
    }
    if (st == PD_OK && sweep_paired_csv(d, w) != PD_OK)
        st = error_set(err, PD_ERR_NOMEM, "sweep: out of memory");
    if (st == PD_OK)
        st = csvio_commit(w, err);
    else
        csvio_abort(w);
    free(order);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------------------------ report */

int sweep_most_runs(const sweep_data *d)
{
    int most = 0;
    for (int g = 0; g < d->n_groups; g++) {
        int n = 0;
        for (int64_t r = 0; r < d->n_runs; r++)
            n += d->group[r] == g;
        most = n > most ? n : most;
    }
    return most;
}

static void sweep_title(const sweep_data *d, int cost, int pct, char *out, size_t size)
{
    int most = sweep_most_runs(d);
    if (cost)
        snprintf(out, size, "Cost of the sweep over %s: seconds per stage and parameter counts%s", d->key,
                 most > 1 ? " (mean ± 95% CI)" : "");
    else if (d->is_seed)
        snprintf(out, size, "Runs over %d seeds: each run and the mean ± 95%% CI (Student t)%s", (int)d->n_runs,
                 pct ? "; accuracies in %" : "");
    else if (most > 1)
        snprintf(out, size, "Sweep over %s: mean ± 95%% CI over %d seeds per value (Student t)%s", d->key, most,
                 pct ? "; accuracies in %" : "");
    else
        snprintf(out, size, "Sweep over %s: one run per value%s", d->key, pct ? "; accuracies in %" : "");
}

static pd_status sweep_report_data(sweep_data *d, const char *dir, pd_report_format f, FILE *out, pd_error *err)
{
    if (f == PD_REPORT_CSV)
        return sweep_print_csv(d, out, err);
    char(*kinds)[SWEEP_NAME_MAX] = malloc((size_t)(d->n_metrics + 1) * sizeof *kinds);
    pd_status st = kinds ? PD_OK : PD_ERR_NOMEM;
    for (int i = 0; i < 3 && st == PD_OK; i++) { /* the metrics, the paired differences, the cost */
        static const char *const names[3] = {"sweep", "sweep_paired", "sweep_cost"};
        sweep_table t = {.name = names[i]};
        if (i == 1) {
            st = sweep_paired_table(d, &t);
        } else {
            sweep_title(d, i == 2, 1, t.title, sizeof t.title);
            st = sweep_table_build(d, i == 2, 1, kinds, &t);
        }
        if (st == PD_OK && t.rows > 1)
            (f == PD_REPORT_LATEX ? sweep_print_latex : sweep_print_text)(&t, out);
        sweep_table_free(&t);
    }
    if (st == PD_ERR_NOMEM)
        error_set(err, st, "%s: out of memory building the sweep tables", dir);
    free(kinds);
    return st;
}

pd_status sweep_report(const char *dir, pd_report_format f, FILE *out, pd_error *err)
{
    sweep_data d;
    PD_TRY(sweep_load(&d, dir, 0, err));
    pd_status st = sweep_report_data(&d, dir, f, out, err);
    sweep_data_free(&d);
    return st;
}

pd_status sweep_report_partial(const char *dir, pd_report_format f, FILE *out, sweep_report_status *status,
                               pd_error *err)
{
    sweep_data d;
    PD_TRY(sweep_load(&d, dir, 1, err));
    *status = (sweep_report_status){.runs = d.n_runs, .without = d.n_without};
    snprintf(status->first_without, sizeof status->first_without, "%s", d.first_without);
    pd_status st = PD_OK;
    if (d.n_without == d.n_runs)
        st = error_set(err, PD_ERR_STATE, "%s: none of the sweep's %lld runs has results yet (no summary.csv in %s "
                       "or the others)", dir, (long long)d.n_runs, d.first_without);
    else
        st = sweep_report_data(&d, dir, f, out, err);
    sweep_data_free(&d);
    return st;
}
