/* table.h — column layout and cell formatting for text tables, with no terminal involved (pure functions).
 *
 * ui_table_layout() gives each column a width within a total width: every shown column gets at least its
 * minimum, columns that do not fit are dropped from the right (width 0; the first column is never dropped but
 * may shrink), and what is left is shared out up to each column's maximum. ui_table_fit() pads or truncates one
 * cell's text to a width, ending a truncated text with '~' (ASCII) or '…' (UTF-8). Widths count code points,
 * which matches the terminal for the text pdiff shows (no double-width characters in names it writes).
 */
#ifndef PD_UI_TABLE_H
#define PD_UI_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *title;
    int min_w, max_w; /* max_w 0: no growth beyond min_w */
    int right;        /* right-aligned (numbers) */
} ui_table_col;

/* Widths of n columns within width (one space between shown columns) into widths[n]; returns the number of
 * shown columns (a prefix of the list). */
int ui_table_layout(const ui_table_col *cols, int n, int width, int *widths);
/* Text width in terminal columns (code points of UTF-8). */
int ui_table_text_width(const char *s);
/* text fitted to exactly w columns (padded, or truncated with an ellipsis) into out[size]. */
void ui_table_fit(const char *text, int w, int right, int utf8, char *out, size_t size);
/* text in at most w columns: unchanged when it fits, else cut at the end, in the middle or at the start, with an
 * ellipsis ("…" in UTF-8, "..." in ASCII) where text was left out; not padded. For paths, _START keeps the name. */
enum { UI_ELIDE_END, UI_ELIDE_MIDDLE, UI_ELIDE_START };
void ui_table_elide(const char *text, int w, int where, int utf8, char *out, size_t size);
/* A row of cells laid out by widths (shown columns only) into out[size]. */
void ui_table_row(const char *const *cells, const ui_table_col *cols, const int *widths, int shown, int utf8, char *out,
                  size_t size);

/* Formatting: accuracy fraction as a percentage "39.40" ("-" for NaN); counts with thousands separators
 * "1,234"; durations "0:07", "12:03", "1:02:03" ("-" for NaN/negative). */
void ui_table_fmt_pct(double fraction, char *buf, size_t size);
void ui_table_fmt_count(int64_t n, char *buf, size_t size);
void ui_table_fmt_duration(double seconds, char *buf, size_t size);

#endif
