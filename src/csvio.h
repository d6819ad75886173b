/* csvio.h — CSV files through libcsv (RFC 4180, header row, '.' decimal point).
 *
 * Reading loads a whole file into a table of strings: strict parsing, the UTF-8 BOM removed, every row must have
 * as many fields as the header; errors name the file and line ("sess/params.csv:12: expected 257 fields, got 3").
 * Writing goes through an atomic temporary file (atomic.h): text cells are quoted with csv_fwrite and neutralised
 * when a spreadsheet would run them as a formula (a leading = + - @ TAB or CR gets a ' prefix, except for a cell
 * that is just a number); numbers are written with "%.9g" regardless of the locale; NaN/Inf as an empty cell.
 *
 *   pd_csv_table t;
 *   if (csvio_read("sess/summary.csv", &t, &err) != PD_OK) ...
 *   int col = csvio_column(&t, "value");
 *   for (int64_t r = 0; r < t.rows; r++) puts(csvio_cell(&t, r, col));
 *   csvio_free(&t);
 *
 *   pd_csv_writer *w;
 *   csvio_create(&w, "sess/summary.csv", &err);
 *   csvio_text(w, "metric"); csvio_text(w, "value"); csvio_endrow(w);
 *   csvio_text(w, "pdiff_best"); csvio_num(w, 0.9062); csvio_endrow(w);
 *   csvio_commit(w, &err);   // or csvio_abort(w)
 */
#ifndef PD_CSVIO_H
#define PD_CSVIO_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef struct {
    int32_t cols;        /* number of header fields */
    int64_t rows;        /* data rows (header excluded) */
    char **header;       /* [cols] */
    char **cells;        /* [rows * cols], row-major */
    char path[1024];
} pd_csv_table;

pd_status csvio_read(const char *path, pd_csv_table *t, pd_error *err);
void csvio_free(pd_csv_table *t);
int csvio_column(const pd_csv_table *t, const char *name); /* -1 when absent */
const char *csvio_cell(const pd_csv_table *t, int64_t row, int col);
/* Parse a cell as a number; PD_ERR_FORMAT naming file, line and column on failure. Empty cells give NaN. */
pd_status csvio_cell_double(const pd_csv_table *t, int64_t row, int col, double *out, pd_error *err);

typedef struct pd_csv_writer pd_csv_writer;

pd_status csvio_create(pd_csv_writer **w, const char *path, pd_error *err);
/* Or write CSV to an already open stream (stdout for `report --format csv`); commit only flushes. */
pd_status csvio_create_stream(pd_csv_writer **w, FILE *fp, pd_error *err);
void csvio_text(pd_csv_writer *w, const char *s);
void csvio_num(pd_csv_writer *w, double v);
void csvio_int(pd_csv_writer *w, int64_t v);
void csvio_empty(pd_csv_writer *w);
void csvio_endrow(pd_csv_writer *w);
pd_status csvio_commit(pd_csv_writer *w, pd_error *err); /* frees w */
void csvio_abort(pd_csv_writer *w);                      /* frees w, removes the temporary file; NULL ok */

/* The neutralised form of a text cell (for other exporters: LaTeX, text tables). out gets at most size bytes. */
void csvio_neutralise(const char *in, char *out, size_t size);

#endif
