/* report.c — tables of a session as text, tidy CSV or LaTeX (see report.h). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvio.h"
#include "grow.h"
#include "path.h"
#include "session.h"

/* ------------------------------------------------------------------------------------------------ tables */

void report_table_init(pd_report_table *t, const char *title, const char *label, int cols)
{
    memset(t, 0, sizeof *t);
    snprintf(t->title, sizeof t->title, "%s", title);
    snprintf(t->label, sizeof t->label, "%s", label);
    t->cols = cols;
}

void report_table_free(pd_report_table *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->values);
    memset(t, 0, sizeof *t);
}

pd_status report_table_row(pd_report_table *t, const char *const *texts, const double *values, const char *fmt)
{
    int64_t cap = t->cap; /* rows, for both arrays */
    char **nc = pd_grow(t->cells, &cap, t->rows + 1, (size_t)t->cols * sizeof *nc, 16);
    if (!nc)
        return PD_ERR_NOMEM;
    t->cells = nc;
    cap = t->cap;
    double *nv = pd_grow(t->values, &cap, t->rows + 1, (size_t)t->cols * sizeof *nv, 16);
    if (!nv)
        return PD_ERR_NOMEM;
    t->values = nv;
    t->cap = cap;
    for (int c = 0; c < t->cols; c++) {
        char buf[256];
        double v = NAN;
        if (texts && texts[c]) {
            csvio_neutralise(texts[c], buf, sizeof buf);
        } else {
            v = values ? values[c] : NAN;
            if (isfinite(v))
                snprintf(buf, sizeof buf, fmt ? fmt : "%.4g", v);
            else
                snprintf(buf, sizeof buf, "-");
        }
        char **cell = &t->cells[t->rows * t->cols + c];
        t->values[t->rows * t->cols + c] = v;
        if (!(*cell = strdup(buf))) {
            while (c-- > 0) /* the row is not kept: free its cells */
                free(*--cell);
            return PD_ERR_NOMEM;
        }
    }
    t->rows++;
    return PD_OK;
}

void report_latex_escape(const char *s, FILE *out)
{
    static const char pm[] = "±";
    for (; *s; s++) {
        if (strncmp(s, pm, sizeof pm - 1) == 0) {
            fputs("$\\pm$", out);
            s += sizeof pm - 2;
        } else if (strchr("&%$#_{}", *s)) {
            fprintf(out, "\\%c", *s);
        } else if (*s == '~') {
            fputs("\\textasciitilde{}", out);
        } else if (*s == '^') {
            fputs("\\textasciicircum{}", out);
        } else if (*s == '\\') {
            fputs("\\textbackslash{}", out);
        } else {
            fputc(*s, out);
        }
    }
}

void report_latex_begin(const char *title, const char *label, int text_cols, int cols, FILE *out)
{
    fprintf(out, "%% %s\n\\begin{table}[t]\n\\centering\n\\caption{", title);
    report_latex_escape(title, out);
    fprintf(out, "}\n\\label{tab:%s}\n\\begin{tabular}{", label);
    for (int c = 0; c < cols; c++)
        fputc(c < text_cols ? 'l' : 'r', out);
    fputs("}\n\\toprule\n", out);
}

void report_latex_cell(int c, const char *text, int escape, FILE *out)
{
    if (c)
        fputs(" & ", out);
    if (strcmp(text, "-") == 0)
        fputs("--", out);
    else if (escape)
        report_latex_escape(text, out);
    else
        fputs(text, out);
}

void report_latex_row_end(int r, FILE *out)
{
    fputs(" \\\\\n", out);
    if (r == 0)
        fputs("\\midrule\n", out);
}

void report_latex_end(FILE *out)
{
    fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n\n", out);
}

void report_text_rule(const int *width, int cols, FILE *out)
{
    int total = 0;
    for (int c = 0; c < cols; c++)
        total += width[c] + 2;
    fputs("  ", out);
    for (int i = 2; i < total; i++)
        fputc('-', out);
    fputc('\n', out);
}

static void report_table_print_text(const pd_report_table *t, FILE *out)
{
    int width[32] = {0};
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols && c < 32; c++) {
            int l = (int)strlen(t->cells[r * t->cols + c]);
            if (l > width[c])
                width[c] = l;
        }
    fprintf(out, "%s\n", t->title);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols && c < 32; c++) {
            const char *cell = t->cells[r * t->cols + c];
            if (c == 0)
                fprintf(out, "  %-*s", width[c], cell);
            else
                fprintf(out, "  %*s", width[c], cell);
        }
        fputc('\n', out);
        if (r == 0)
            report_text_rule(width, t->cols < 32 ? t->cols : 32, out);
    }
    fputc('\n', out);
}

static void report_table_print_latex(const pd_report_table *t, FILE *out)
{
    report_latex_begin(t->title, t->label, 1, t->cols, out);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++)
            report_latex_cell(c, t->cells[r * t->cols + c], 1, out);
        report_latex_row_end(r, out);
    }
    report_latex_end(out);
}

/* tidy CSV rows: table,kind,metric,value for every numeric cell */
static void report_table_print_csv(const pd_report_table *t, pd_csv_writer *w)
{
    for (int r = 1; r < t->rows; r++)
        for (int c = 1; c < t->cols; c++) {
            double v = t->values[r * t->cols + c];
            if (!isfinite(v))
                continue;
            csvio_text(w, t->label);
            csvio_text(w, t->cells[r * t->cols]);
            csvio_text(w, t->cells[c]);
            csvio_num(w, v);
            csvio_endrow(w);
        }
}

void report_table_print(const pd_report_table *t, pd_report_format f, FILE *out)
{
    if (f == PD_REPORT_LATEX) {
        report_table_print_latex(t, out);
    } else if (f == PD_REPORT_TEXT) {
        report_table_print_text(t, out);
    } else {
        pd_csv_writer *w;
        if (csvio_create_stream(&w, out, NULL) == PD_OK) {
            report_table_print_csv(t, w);
            csvio_commit(w, NULL);
        }
    }
}

/* ------------------------------------------------------------------------------------------------ report */

pd_status report_parse_format(const char *s, pd_report_format *f, pd_error *err)
{
    if (strcmp(s, "text") == 0)
        *f = PD_REPORT_TEXT;
    else if (strcmp(s, "csv") == 0)
        *f = PD_REPORT_CSV;
    else if (strcmp(s, "latex") == 0)
        *f = PD_REPORT_LATEX;
    else
        return error_set(err, PD_ERR_USAGE, "--format: must be text, csv or latex, got '%s'", s);
    return PD_OK;
}

/* summary.csv, read by its one reader (session.h) */
typedef pd_session report_summary;

static double report_get(const report_summary *s, const char *metric)
{
    double v;
    return session_summary_get(s, metric, &v) ? v : NAN;
}

static pd_status report_accuracy_table(const report_summary *s, pd_report_format f, FILE *out)
{
    pd_report_table t;
    int pct = f != PD_REPORT_CSV;
    report_table_init(&t, pct ? "Test accuracy (%)" : "Test accuracy", "accuracy", 4);
    const char *head[4] = {"method", "best", "mean", "median"};
    pd_status st = report_table_row(&t, head, NULL, NULL);
    static const struct {
        const char *name, *prefix;
    } rows[] = {{"original", "original"}, {"ensemble", NULL}, {"p-diff", "pdiff"}, {"AE recon", "ae_recon"}};
    for (int i = 0; i < 4 && st == PD_OK; i++) {
        double v[4] = {NAN, NAN, NAN, NAN};
        const char *txt[4] = {rows[i].name, NULL, NULL, NULL};
        if (rows[i].prefix) {
            static const char *const sfx[3] = {"best", "mean", "median"};
            for (int j = 0; j < 3; j++) {
                char key[64];
                snprintf(key, sizeof key, "%s_%s", rows[i].prefix, sfx[j]);
                v[j + 1] = report_get(s, key);
            }
        } else {
            v[1] = v[2] = v[3] = report_get(s, "ensemble");
        }
        for (int j = 1; j < 4; j++)
            v[j] *= pct ? 100.0 : 1.0;
        st = report_table_row(&t, txt, v, pct ? "%.2f" : "%.4f");
    }
    if (st == PD_OK)
        report_table_print(&t, f, out);
    report_table_free(&t);
    return st;
}

static pd_status report_time_table(const report_summary *s, pd_report_format f, FILE *out)
{
    pd_report_table t;
    report_table_init(&t, "Wall time per stage (s)", "time", 2);
    const char *head[2] = {"stage", "seconds"};
    pd_status st = report_table_row(&t, head, NULL, NULL);
    static const char *const stages[] = {"train", "collect", "ae", "ddpm", "generate", "analyze"};
    double total = 0.0;
    int any = 0;
    for (int i = 0; i < 6 && st == PD_OK; i++) {
        char key[64];
        snprintf(key, sizeof key, "seconds_%s", stages[i]);
        double v[2] = {NAN, report_get(s, key)};
        if (!isfinite(v[1]))
            continue;
        total += v[1];
        any = 1;
        const char *txt[2] = {stages[i], NULL};
        st = report_table_row(&t, txt, v, "%.1f");
    }
    if (st == PD_OK && any) {
        double v[2] = {NAN, total};
        const char *txt[2] = {"total", NULL};
        st = report_table_row(&t, txt, v, "%.1f");
    }
    if (st == PD_OK)
        report_table_print(&t, f, out);
    report_table_free(&t);
    return st;
}

/* Distinct kinds of models.csv in order of appearance and their model counts (count may be NULL); returns the
 * number of kinds (0 when absent). */
static int report_kinds(const char *dir, char kinds[][32], int *count, int max, int *analysed, pd_error *err)
{
    char path[PD_PATH_MAX];
    if (path_join(path, sizeof path, dir, "models.csv", err) != PD_OK)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    pd_csv_table t;
    if (csvio_read(path, &t, err) != PD_OK)
        return -1;
    int ck = csvio_column(&t, "kind"), ci = csvio_column(&t, "max_iou"), n = 0;
    *analysed = 0;
    for (int64_t r = 0; ck >= 0 && r < t.rows; r++) {
        const char *k = csvio_cell(&t, r, ck);
        if (ci >= 0 && csvio_cell(&t, r, ci)[0])
            *analysed = 1;
        int seen = -1;
        for (int i = 0; i < n && seen < 0; i++)
            seen = strcmp(kinds[i], k) == 0 ? i : -1;
        if (seen < 0 && n < max) {
            if (count)
                count[n] = 0;
            seen = n;
            snprintf(kinds[n++], 32, "%s", k);
        }
        if (seen >= 0 && count)
            count[seen]++;
    }
    csvio_free(&t);
    return n;
}

static const char *report_kind_label(const char *kind, char *buf, size_t size)
{
    if (strcmp(kind, "pdiff") == 0)
        return "p-diff";
    if (strcmp(kind, "ae_recon") == 0)
        return "AE recon";
    if (strcmp(kind, "finetune") == 0)
        return "fine-tuned";
    if (strncmp(kind, "noise:", 6) == 0) {
        snprintf(buf, size, "noise (sigma %s)", kind + 6);
        return buf;
    }
    return kind;
}

static pd_status report_memorization_table(const char *dir, const report_summary *s, pd_report_format f, FILE *out,
                                           pd_error *err)
{
    char kinds[64][32];
    int analysed = 0;
    int nk = report_kinds(dir, kinds, NULL, 64, &analysed, err);
    if (nk < 0)
        return err ? err->status : PD_ERR_FORMAT;
    if (nk == 0 || !analysed)
        return PD_OK;
    int pct = f != PD_REPORT_CSV;
    pd_report_table t;
    report_table_init(&t,
                      pct ? "Memorization: accuracy (%), max similarity to the originals (IoU of wrong predictions), "
                            "nearest-original L2"
                          : "Memorization",
                      "memorization", 8);
    const char *head[8] = {"kind", "acc best", "acc mean", "acc median", "max-sim mean", "max-sim min", "max-sim max",
                           "nearest L2 median"};
    pd_status st = report_table_row(&t, head, NULL, NULL);
    for (int i = 0; i < nk && st == PD_OK; i++) {
        char pre[64], key[128], label[64];
        snprintf(pre, sizeof pre, "%.31s", kinds[i]);
        for (char *c = pre; *c; c++)
            if (*c == ':')
                *c = '_';
        double v[8];
        v[0] = NAN;
        if (strcmp(pre, "ensemble") == 0) {
            v[1] = v[2] = v[3] = report_get(s, "ensemble");
        } else {
            static const char *const sfx[3] = {"best", "mean", "median"};
            for (int j = 0; j < 3; j++) {
                snprintf(key, sizeof key, "%s_%s", pre, sfx[j]);
                v[1 + j] = report_get(s, key);
            }
        }
        static const char *const isfx[4] = {"max_iou_mean", "max_iou_min", "max_iou_max", "nearest_l2_median"};
        for (int j = 0; j < 4; j++) {
            snprintf(key, sizeof key, "%s_%s", pre, isfx[j]);
            v[4 + j] = report_get(s, key);
        }
        for (int j = 1; j < 4; j++)
            v[j] *= pct ? 100.0 : 1.0;
        const char *txt[8] = {report_kind_label(kinds[i], label, sizeof label), NULL, NULL, NULL,
                              NULL, NULL, NULL, NULL};
        st = report_table_row(&t, txt, v, pct ? "%.2f" : "%.6g");
        /* similarity and L2 columns want more digits than percentages */
        for (int j = 4; j < 8 && st == PD_OK; j++) {
            char buf[64];
            if (isfinite(v[j])) {
                snprintf(buf, sizeof buf, j == 7 ? "%.4g" : "%.3f", v[j]);
                free(t.cells[(t.rows - 1) * t.cols + j]);
                t.cells[(t.rows - 1) * t.cols + j] = strdup(buf);
                if (!t.cells[(t.rows - 1) * t.cols + j])
                    st = PD_ERR_NOMEM;
            }
        }
    }
    if (st == PD_OK) {
        report_table_print(&t, f, out);
        double nov = report_get(s, "novelty");
        if (f == PD_REPORT_TEXT && isfinite(nov))
            fprintf(out, "Novelty: %.1f %% of the p-diff models have a max similarity below every original's.\n\n",
                    100.0 * nov);
    }
    report_table_free(&t);
    return st == PD_OK ? PD_OK : error_set(err, st, "report: out of memory");
}

/* Row r, column c of t formatted anew with fmt (its value stays). */
static pd_status report_table_reformat(pd_report_table *t, int r, int c, const char *fmt)
{
    double v = t->values[r * t->cols + c];
    char buf[64];
    if (!isfinite(v))
        return PD_OK;
    snprintf(buf, sizeof buf, fmt, v);
    char *cell = strdup(buf);
    if (!cell)
        return PD_ERR_NOMEM;
    free(t->cells[r * t->cols + c]);
    t->cells[r * t->cols + c] = cell;
    return PD_OK;
}

#define REPORT_FAIR_COLS 9

/* One kind's row of the fair-comparison table: N from models.csv, the rest from summary.csv. */
static pd_status report_fair_row(pd_report_table *t, const report_summary *s, const char *kind, int count, int pct)
{
    static const struct {
        const char *suffix, *fmt; /* fmt in text and LaTeX */
        double scale;             /* likewise: percentages */
    } col[REPORT_FAIR_COLS - 2] = {{"best_of_n", "%.2f", 100.0},     {"mean", "%.2f", 100.0},
                                   {"novelty", "%.1f", 100.0},       {"pair_iou_mean", "%.3f", 1.0},
                                   {"pair_iou_min", "%.3f", 1.0},    {"pair_l2_mean", "%.4g", 1.0},
                                   {"disagreement_mean", "%.2f", 100.0}};
    char pre[64], key[128], label[64];
    snprintf(pre, sizeof pre, "%.31s", kind);
    for (char *c = pre; *c; c++)
        if (*c == ':')
            *c = '_';
    double v[REPORT_FAIR_COLS] = {NAN, count};
    for (int j = 0; j < REPORT_FAIR_COLS - 2; j++) {
        snprintf(key, sizeof key, "%s_%s", pre, col[j].suffix);
        v[2 + j] = report_get(s, key);
        if (strcmp(pre, "ensemble") == 0 && j == 1) /* the ensemble's accuracy is summary "ensemble" */
            v[2 + j] = report_get(s, "ensemble");
        v[2 + j] *= pct ? col[j].scale : 1.0;
    }
    const char *txt[REPORT_FAIR_COLS] = {report_kind_label(kind, label, sizeof label)};
    pd_status st = report_table_row(t, txt, v, pct ? "%.0f" : "%.6g");
    for (int j = 0; j < REPORT_FAIR_COLS - 2 && st == PD_OK && pct; j++)
        st = report_table_reformat(t, t->rows - 1, 2 + j, col[j].fmt);
    return st;
}

/* Per kind: N, best-of-n, mean accuracy, novelty, diversity and disagreement with the ensemble, computed the same
 * way for every kind (analyze stage); left out for sessions analysed before these metrics existed. */
static pd_status report_fair_table(const char *dir, const report_summary *s, pd_report_format f, FILE *out,
                                   pd_error *err)
{
    char kinds[64][32];
    int count[64], analysed = 0;
    double n = report_get(s, "best_of_n");
    int nk = report_kinds(dir, kinds, count, 64, &analysed, err);
    if (nk < 0)
        return err ? err->status : PD_ERR_FORMAT;
    if (nk == 0 || !analysed || !isfinite(n))
        return PD_OK;
    int pct = f != PD_REPORT_CSV;
    pd_report_table t;
    report_table_init(&t,
                      pct ? "Fair comparison: best-of-n and mean accuracy (%), novelty (%), pairwise IoU and L2 within "
                            "a kind, disagreement (%)"
                          : "Fair comparison",
                      "fair", REPORT_FAIR_COLS);
    char best[32];
    snprintf(best, sizeof best, pct ? "best-of-%.0f" : "best-of-n", n);
    const char *head[REPORT_FAIR_COLS] = {"kind",         "N",           "best",        "acc mean",    "novelty",
                                          "pair IoU mean", "pair IoU min", "pair L2 mean", "disagreement"};
    head[2] = best;
    pd_status st = report_table_row(&t, head, NULL, NULL);
    for (int i = 0; i < nk && st == PD_OK; i++)
        st = report_fair_row(&t, s, kinds[i], count[i], pct);
    if (st == PD_OK)
        report_table_print(&t, f, out);
    report_table_free(&t);
    return st == PD_OK ? PD_OK : error_set(err, st, "report: out of memory");
}

pd_status report_write(const char *dir, pd_report_format f, FILE *out, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "summary.csv", err));
    if (access(path, F_OK) != 0)
        return error_set(err, PD_ERR_IO, "%s: no such file (the generate stage writes it)", path);
    report_summary *s;
    PD_TRY(session_open(&s, dir, 0, err));
    if (f == PD_REPORT_CSV) {
        pd_csv_writer *w;
        if (csvio_create_stream(&w, out, err) == PD_OK) {
            static const char *const head[4] = {"table", "kind", "metric", "value"};
            for (int i = 0; i < 4; i++)
                csvio_text(w, head[i]);
            csvio_endrow(w);
            csvio_commit(w, NULL);
        }
    } else if (f == PD_REPORT_TEXT) {
        double task = report_get(s, "task_accuracy");
        fprintf(out, "Session %s\n", dir);
        if (isfinite(task))
            fprintf(out, "Task model test accuracy: %.2f %%\n", 100.0 * task);
        fputc('\n', out);
    }
    pd_status st = report_accuracy_table(s, f, out);
    if (st == PD_OK)
        st = report_memorization_table(dir, s, f, out, err);
    if (st == PD_OK)
        st = report_fair_table(dir, s, f, out, err);
    if (st == PD_OK)
        st = report_time_table(s, f, out);
    session_free(s);
    if (st != PD_OK && err && err->status != st)
        return error_set(err, st, "report: out of memory");
    return st;
}
