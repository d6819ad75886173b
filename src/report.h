/* report.h — the paper-style tables of a session, as text, CSV or LaTeX (`pdiff report`).
 *
 * Tables: the accuracy table (original, ensemble, p-diff, AE reconstruction: best / mean / median), the
 * memorization table when the analysis stage ran (per kind: accuracy best/mean/median, max-similarity
 * mean/min/max, nearest-L2 median), the fair-comparison table when the analysis recorded it (per kind: N,
 * expected best-of-n and mean accuracy, novelty, mean and min pairwise IoU, mean pairwise L2, disagreement with
 * the ensemble; see metrics.h), and the wall time per stage. Text is for the terminal, CSV is tidy (one
 * row per table, row label and metric: table,kind,metric,value; accuracies as fractions), LaTeX is booktabs
 * tabulars ready for a paper (accuracies in percent). Every text cell is neutralised against spreadsheet
 * formulas (csvio_neutralise) and LaTeX-escaped where it goes into LaTeX.
 */
#ifndef PD_REPORT_H
#define PD_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef enum { PD_REPORT_TEXT, PD_REPORT_CSV, PD_REPORT_LATEX } pd_report_format;

pd_status report_parse_format(const char *s, pd_report_format *f, pd_error *err);
/* Write the report of the session in dir to out. */
pd_status report_write(const char *dir, pd_report_format f, FILE *out, pd_error *err);

/* A table under construction, shared by report and sweep: rows of cells, first row the header. */
typedef struct {
    char title[128];
    char label[64];          /* LaTeX label and CSV table name */
    int cols, rows;
    int64_t cap;
    char **cells;            /* rows x cols, malloc'd strings */
    double *values;          /* rows x cols numeric value (NaN for text) for CSV */
} pd_report_table;

void report_table_init(pd_report_table *t, const char *title, const char *label, int cols);
void report_table_free(pd_report_table *t);
/* Append a row: texts[i] for column i (NULL = use value[i] formatted with fmt, e.g. "%.2f"). */
pd_status report_table_row(pd_report_table *t, const char *const *texts, const double *values, const char *fmt);
void report_table_print(const pd_report_table *t, pd_report_format f, FILE *out);
/* The rule under a text table's header: "  " and dashes across cols columns of width[c] characters each separated by
 * two spaces, and a newline (report and sweep). */
void report_text_rule(const int *width, int cols, FILE *out);

/* LaTeX pieces shared by report and sweep. report_latex_escape writes s with & % $ # _ { } ~ ^ and backslash made
 * literal and "±" as $\pm$. A booktabs table: report_latex_begin (a "% title" comment, the table float with the
 * escaped title as caption and tab:label as label, a tabular whose first text_cols of cols columns are
 * left-aligned and the rest right-aligned, \toprule), then per row r its cells (report_latex_cell: " & " before
 * every column c but the first, "-" as "--", the text escaped when escape != 0) and report_latex_row_end(r, out)
 * (\midrule after the header row 0), then report_latex_end. */
void report_latex_escape(const char *s, FILE *out);
void report_latex_begin(const char *title, const char *label, int text_cols, int cols, FILE *out);
void report_latex_cell(int c, const char *text, int escape, FILE *out);
void report_latex_row_end(int r, FILE *out);
void report_latex_end(FILE *out);

#endif
