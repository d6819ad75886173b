/* csvio.c — CSV tables through libcsv, atomic CSV writers (see csvio.h).
 *
 * Reading: the whole file is read into memory, a UTF-8 BOM skipped, and the bytes are fed to libcsv one physical
 * line at a time so that errors can name the line (a row that spans lines inside quotes is reported at the line
 * where it starts). Fields are copied into one string arena inside the callbacks (libcsv's pointers die when the
 * callback returns). The finished table is one allocation: header pointers, cell pointers, then the strings;
 * csvio_free() frees t->header only.
 *
 * Numbers are parsed and formatted in the "C" locale (strtod_l / uselocale), whatever LC_NUMERIC says.
 */
#include "csvio.h"

#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "grow.h"

/* ------------------------------------------------------------------------------------------ numbers */

static locale_t csvio_c_locale(void)
{
    /* glibc returns its static C locale object here without allocating. */
    return newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* strtod in the C locale; 0 when s is not entirely a number (surrounding blanks allowed). */
static int csvio_parse_double(const char *s, double *out)
{
    locale_t c = csvio_c_locale();
    char *end;
    errno = 0;
    double v = c ? strtod_l(s, &end, c) : strtod(s, &end);
    if (c)
        freelocale(c);
    if (end == s)
        return 0;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return 0;
    *out = v;
    return 1;
}

static void csvio_format_double(char *buf, size_t size, double v)
{
    locale_t c = csvio_c_locale();
    locale_t old = c ? uselocale(c) : (locale_t)0;
    snprintf(buf, size, "%.9g", v);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    for (char *p = buf; *p; p++) /* belt and braces: never a decimal comma */
        if (*p == ',')
            *p = '.';
}

/* A plain decimal number: [+-] digits [. digits] [e [+-] digits], at least one digit in the mantissa. */
static int csvio_is_number(const char *s)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static int csvio_needs_prefix(const char *s)
{
    return s[0] && strchr("=+-@\t\r", s[0]) && !csvio_is_number(s);
}

void csvio_neutralise(const char *in, char *out, size_t size)
{
    if (!out || size == 0)
        return;
    if (!in)
        in = "";
    size_t o = 0;
    if (csvio_needs_prefix(in) && size > 1)
        out[o++] = '\'';
    size_t n = strlen(in);
    if (n > size - 1 - o)
        n = size - 1 - o;
    memcpy(out + o, in, n);
    out[o + n] = '\0';
}

/* ------------------------------------------------------------------------------------------ reading */

typedef struct {
    const char *path;
    pd_error *err;
    pd_status status;
    char *arena; /* all fields, NUL-terminated, header first */
    size_t alen;
    int64_t acap;
    size_t *offs; /* start of every field in the arena */
    size_t nfields;
    int64_t fcap;
    int64_t cols; /* -1 until the header row is complete */
    int64_t row_fields;
    int64_t rows;
    long line;     /* physical line being fed */
    long row_line; /* line where the current row started */
    int between_rows;
} csvio_reader;

static void csvio_on_field(void *s, size_t len, void *data)
{
    csvio_reader *r = data;
    if (r->status != PD_OK)
        return;
    char *a = pd_grow(r->arena, &r->acap, (int64_t)(r->alen + len + 1), 1, 4096);
    size_t *o = a ? pd_grow(r->offs, &r->fcap, (int64_t)r->nfields + 1, sizeof *o, 1024) : NULL;
    if (a)
        r->arena = a;
    if (!o) {
        r->status = error_set(r->err, PD_ERR_NOMEM, "%s: out of memory reading the file", r->path);
        return;
    }
    r->offs = o;
    r->offs[r->nfields++] = r->alen;
    if (len)
        memcpy(r->arena + r->alen, s, len);
    r->arena[r->alen + len] = '\0';
    r->alen += len + 1;
    r->row_fields++;
}

static void csvio_on_row(int c, void *data)
{
    csvio_reader *r = data;
    (void)c;
    if (r->status != PD_OK)
        return;
    if (r->cols < 0) {
        r->cols = r->row_fields;
    } else if (r->row_fields != r->cols) {
        r->status = error_set(r->err, PD_ERR_FORMAT, "%s:%ld: expected %lld fields, got %lld", r->path,
                              r->row_line, (long long)r->cols, (long long)r->row_fields);
        return;
    } else {
        r->rows++;
    }
    r->row_fields = 0;
    r->between_rows = 1;
}

/* libcsv skips lines made only of blanks and line ends; so must the row-start bookkeeping. */
static int csvio_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 0;
    return 1;
}

static pd_status csvio_slurp(const char *path, char **buf, size_t *len, pd_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return error_set(err, PD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    size_t cap = 1 << 16;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (size_t)st.st_size + 1;
    char *b = malloc(cap);
    size_t n = 0;
    while (b) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    int bad = !b ? 0 : ferror(fp);
    int e = errno;
    fclose(fp);
    if (!b)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (bad) {
        free(b);
        return error_set(err, PD_ERR_IO, "%s: read error: %s", path, strerror(e));
    }
    *buf = b;
    *len = n;
    return PD_OK;
}

/* Move the arena and offsets into the table's single allocation. */
static pd_status csvio_build(csvio_reader *r, pd_csv_table *t)
{
    size_t nptr = r->nfields;
    size_t bytes = nptr * sizeof(char *) + r->alen;
    char **block = malloc(bytes ? bytes : 1);
    if (!block)
        return error_set(r->err, PD_ERR_NOMEM, "%s: out of memory reading the file", r->path);
    char *strings = (char *)(block + nptr);
    memcpy(strings, r->arena, r->alen);
    for (size_t i = 0; i < nptr; i++)
        block[i] = strings + r->offs[i];
    t->cols = (int32_t)r->cols;
    t->rows = r->rows;
    t->header = block;
    t->cells = block + r->cols;
    return PD_OK;
}

pd_status csvio_read(const char *path, pd_csv_table *t, pd_error *err)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    PD_TRY(csvio_slurp(path, &buf, &len, err));

    struct csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        free(buf);
        return error_set(err, PD_ERR_NOMEM, "%s: cannot initialise the CSV parser", path);
    }
    csvio_reader r = {.path = path, .err = err, .status = PD_OK, .cols = -1, .between_rows = 1};
    const char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end && r.status == PD_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *q = nl ? nl + 1 : end;
        r.line++;
        if (r.between_rows && !csvio_blank(p, q)) {
            r.row_line = r.line;
            r.between_rows = 0;
        }
        size_t want = (size_t)(q - p);
        size_t got = csv_parse(&parser, p, want, csvio_on_field, csvio_on_row, &r);
        if (r.status != PD_OK)
            break;
        if (got != want) {
            int e = csv_error(&parser); /* before csv_fini, which resets it */
            if (e == CSV_EPARSE)
                r.status = error_set(err, PD_ERR_FORMAT,
                                     "%s:%ld: malformed quoting (a quote inside an unquoted field, or text "
                                     "after a closing quote)",
                                     path, r.line);
            else if (e == CSV_ETOOBIG)
                r.status = error_set(err, PD_ERR_FORMAT, "%s:%ld: field too large", path, r.line);
            else
                r.status = error_set(err, PD_ERR_NOMEM, "%s:%ld: %s", path, r.line, csv_strerror(e));
            break;
        }
        p = q;
    }
    if (r.status == PD_OK && csv_fini(&parser, csvio_on_field, csvio_on_row, &r) != 0 && r.status == PD_OK)
        r.status = error_set(err, PD_ERR_FORMAT, "%s:%ld: unterminated quoted field", path, r.row_line);
    csv_free(&parser);
    free(buf);
    if (r.status == PD_OK && r.cols < 0)
        r.status = error_set(err, PD_ERR_FORMAT, "%s: empty file (no header)", path);
    if (r.status == PD_OK)
        r.status = csvio_build(&r, t);
    free(r.arena);
    free(r.offs);
    return r.status;
}

void csvio_free(pd_csv_table *t)
{
    if (!t)
        return;
    free(t->header);
    t->header = NULL;
    t->cells = NULL;
    t->rows = 0;
    t->cols = 0;
}

int csvio_column(const pd_csv_table *t, const char *name)
{
    for (int i = 0; i < t->cols; i++)
        if (strcmp(t->header[i], name) == 0)
            return i;
    return -1;
}

const char *csvio_cell(const pd_csv_table *t, int64_t row, int col)
{
    PD_ASSERT(row >= 0 && row < t->rows && col >= 0 && col < t->cols);
    return t->cells[row * t->cols + col];
}

pd_status csvio_cell_double(const pd_csv_table *t, int64_t row, int col, double *out, pd_error *err)
{
    const char *s = csvio_cell(t, row, col);
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *out = NAN;
        return PD_OK;
    }
    if (!csvio_parse_double(s, out))
        /* line = row + 2: exact for files without blank lines or multi-line cells, i.e. every file pdiff writes */
        return error_set(err, PD_ERR_FORMAT, "%s:%lld: column '%s': not a number: '%.60s'", t->path,
                         (long long)row + 2, t->header[col], s);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------ writing */

struct pd_csv_writer {
    pd_atomic_file af; /* unused for a stream writer */
    FILE *fp;
    int stream;
    int col; /* cells written in the current row */
    int failed;
};

pd_status csvio_create(pd_csv_writer **w, const char *path, pd_error *err)
{
    *w = NULL;
    pd_csv_writer *nw = calloc(1, sizeof *nw);
    if (!nw)
        return error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    pd_status s = atomic_open(&nw->af, path, err);
    if (s != PD_OK) {
        free(nw);
        return s;
    }
    nw->fp = nw->af.fp;
    *w = nw;
    return PD_OK;
}

pd_status csvio_create_stream(pd_csv_writer **w, FILE *fp, pd_error *err)
{
    *w = NULL;
    if (!fp)
        return error_set(err, PD_ERR_INTERNAL, "csv: no stream to write to");
    pd_csv_writer *nw = calloc(1, sizeof *nw);
    if (!nw)
        return error_set(err, PD_ERR_NOMEM, "csv: out of memory");
    nw->fp = fp;
    nw->stream = 1;
    *w = nw;
    return PD_OK;
}

static void csvio_sep(pd_csv_writer *w)
{
    if (w->col++ > 0 && fputc(',', w->fp) == EOF)
        w->failed = 1;
}

void csvio_text(pd_csv_writer *w, const char *s)
{
    if (!s)
        s = "";
    csvio_sep(w);
    size_t n = strlen(s);
    char small[512];
    char *buf = n + 2 <= sizeof small ? small : malloc(n + 2);
    if (!buf) {
        w->failed = 1;
        return;
    }
    csvio_neutralise(s, buf, n + 2);
    if (csv_fwrite(w->fp, buf, strlen(buf)) != 0)
        w->failed = 1;
    if (buf != small)
        free(buf);
}

void csvio_num(pd_csv_writer *w, double v)
{
    csvio_sep(w);
    if (!isfinite(v))
        return;
    char buf[64];
    csvio_format_double(buf, sizeof buf, v);
    if (fputs(buf, w->fp) == EOF)
        w->failed = 1;
}

void csvio_int(pd_csv_writer *w, int64_t v)
{
    csvio_sep(w);
    if (fprintf(w->fp, "%" PRId64, v) < 0)
        w->failed = 1;
}

void csvio_empty(pd_csv_writer *w)
{
    csvio_sep(w);
}

void csvio_endrow(pd_csv_writer *w)
{
    if (fputc('\n', w->fp) == EOF)
        w->failed = 1;
    w->col = 0;
}

pd_status csvio_commit(pd_csv_writer *w, pd_error *err)
{
    if (!w)
        return error_set(err, PD_ERR_INTERNAL, "csv: commit of no writer");
    pd_status s = PD_OK;
    if (w->stream) {
        if (fflush(w->fp) != 0 || ferror(w->fp) || w->failed)
            s = error_set(err, PD_ERR_IO, "(output): write failed: %s", strerror(errno ? errno : EIO));
    } else if (w->failed) {
        int e = errno ? errno : EIO;
        s = error_set(err, PD_ERR_IO, "%s: write failed: %s", w->af.path, strerror(e));
        atomic_abort(&w->af);
    } else {
        s = atomic_commit(&w->af, err);
    }
    free(w);
    return s;
}

void csvio_abort(pd_csv_writer *w)
{
    if (!w)
        return;
    if (w->stream)
        fflush(w->fp);
    else
        atomic_abort(&w->af);
    free(w);
}
