/* plots.c — a session's figures and figures.tex (see plots.h); sweeps are in plots_sweep.c. */
#include "plots.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csvio.h"
#include "pdiff_build.h"
#include "plots_internal.h"
#include "results.h"
#include "stats.h"

static const char *const plots_all_names[] = {"loss",         "similarity",    "memorization",        "tsne",
                                              "accuracy",     "sweep_metrics", "sweep_max_similarity"};
enum { PLOT_N_NAMES = (int)(sizeof plots_all_names / sizeof plots_all_names[0]) };

const char *plots_names(void)
{
    return "loss similarity memorization tsne accuracy sweep_metrics sweep_max_similarity";
}

/* ------------------------------------------------------------------------------------------------ helpers */

int plots_want(const plots_ctx *c, const char *name)
{
    if (c->o->n_only == 0)
        return 1;
    for (int i = 0; i < c->o->n_only; i++)
        if (strcmp(c->o->only[i], name) == 0)
            return 1;
    return 0;
}

pd_status plots_open(plots_ctx *c, const char *name, double h, pd_figure **f, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_format(path, sizeof path, err, "%s/%s.%s", c->out, name, fig_format_ext(c->o->format)));
    return fig_open(f, path, c->o->format, c->width, h, err);
}

static void plots_tex_escape(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (strchr("#$%&_{}", *s))
            fprintf(fp, "\\%c", *s);
        else if (*s == '\\')
            fputs("\\textbackslash{}", fp);
        else if (*s == '~' || *s == '^')
            fprintf(fp, "\\%c{}", *s);
        else
            fputc(*s, fp);
    }
}

static void plots_tex_entry(FILE *fp, const char *name, fig_format format, const char *caption)
{
    fprintf(fp, "\\begin{figure}[t]\n  \\centering\n");
    if (format == FIG_SVG)
        fprintf(fp, "  \\includesvg[width=\\linewidth]{%s} %% \\usepackage{svg}\n", name);
    else
        fprintf(fp, "  \\includegraphics[width=\\linewidth]{%s.%s}\n", name, fig_format_ext(format));
    fputs("  \\caption{", fp);
    plots_tex_escape(fp, caption);
    fprintf(fp, "}\n  \\label{fig:pdiff-%s}\n\\end{figure}\n\n", name);
}

/* The previous figures.tex's entry of figure name (start, length) when the file it includes is still in the folder. */
static int plots_tex_old_entry(const plots_ctx *c, const char *name, const char **start, size_t *len)
{
    char label[96], file[96];
    snprintf(label, sizeof label, "\\label{fig:pdiff-%s}", name);
    const char *at = c->old_tex ? strstr(c->old_tex, label) : NULL, *b = NULL, *e;
    for (const char *p = c->old_tex; at && (p = strstr(p, "\\begin{figure}")) && p < at; p++)
        b = p;
    if (!b || !(e = strstr(at, "\\end{figure}\n")))
        return 0;
    *start = b;
    *len = (size_t)(e + strlen("\\end{figure}\n") - b);
    for (int k = 0; k < 3; k++) {
        const char *ext = fig_format_ext((fig_format)k);
        snprintf(file, sizeof file, "%s.%s", name, ext);
        char inc[120];
        if (k == FIG_SVG)
            snprintf(inc, sizeof inc, "\\includesvg[width=\\linewidth]{%s}", name);
        else
            snprintf(inc, sizeof inc, "{%s}", file);
        if (strstr(b, inc) && strstr(b, inc) < e && path_file_in(c->out, file))
            return 1;
    }
    return 0;
}

/* With --only: the entries of the figures before figure index upto that this run does not draw, from the previous
 * figures.tex, or with a plain caption when only the file is there (the figures.tex rebuilt from the files present,
 * in plots_all_names' order). */
static void plots_tex_keep(plots_ctx *c, int upto)
{
    for (; c->tex_next < upto && c->tex_next < PLOT_N_NAMES; c->tex_next++) {
        const char *name = plots_all_names[c->tex_next], *start;
        size_t len;
        if (c->o->n_only == 0 || plots_want(c, name))
            continue;
        if (plots_tex_old_entry(c, name, &start, &len)) {
            fprintf(c->tex.fp, "%.*s\n", (int)len, start);
            continue;
        }
        for (int k = 0; k < 3; k++) { /* this run's format first, then the others */
            fig_format fmt = k == 0 ? c->o->format : (fig_format)(k - (k <= (int)c->o->format));
            char file[96], cap[600];
            snprintf(file, sizeof file, "%s.%s", name, fig_format_ext(fmt));
            if (!path_file_in(c->out, file))
                continue;
            snprintf(cap, sizeof cap, "Figure %s of %s, drawn by an earlier pdiff plot.", name, c->name);
            plots_tex_entry(c->tex.fp, name, fmt, cap);
            break;
        }
    }
}

static int plots_index(const char *name)
{
    int k = 0;
    while (k < PLOT_N_NAMES && strcmp(plots_all_names[k], name) != 0)
        k++;
    return k;
}

pd_status plots_close(plots_ctx *c, const char *name, pd_figure **f, const char *caption, pd_error *err)
{
    PD_TRY(fig_close(f, err));
    char path[PD_PATH_MAX];
    PD_TRY(path_format(path, sizeof path, err, "%s/%s.%s", c->out, name, fig_format_ext(c->o->format)));
    if (c->note)
        c->note(path, NULL, c->ctx);
    int k = plots_index(name);
    plots_tex_keep(c, k);
    if (c->tex_next <= k)
        c->tex_next = k + 1;
    plots_tex_entry(c->tex.fp, name, c->o->format, caption);
    return PD_OK;
}

pd_status plots_skip(plots_ctx *c, const char *name, const char *why, pd_error *err)
{
    if (c->o->n_only > 0)
        return error_set(err, PD_ERR_IO, "%s: cannot draw %s: %s", c->dir, name, why);
    char note[PD_ERROR_MSG_MAX];
    snprintf(note, sizeof note, "skipped %s: %.400s", name, why);
    if (c->note)
        c->note(NULL, note, c->ctx);
    return PD_OK;
}

int plots_range(const double *v, int n, double pad, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            a = v[i] < a ? v[i] : a;
            b = v[i] > b ? v[i] : b;
        }
    if (!(b >= a))
        return 0;
    double s = b - a;
    if (s <= 0)
        s = a != 0 ? fabs(a) * 0.1 : 1;
    *lo = a - pad * s;
    *hi = b + pad * s;
    return 1;
}

int plots_quartiles(const double *v, int n, double *q1, double *med, double *q3)
{
    double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    int m = 0;
    for (int i = 0; s && i < n; i++)
        if (isfinite(v[i]))
            s[m++] = v[i];
    if (m > 0) {
        qsort(s, (size_t)m, sizeof *s, stats_cmp_double);
        double p[3] = {0.25, 0.5, 0.75}, *q[3] = {q1, med, q3};
        for (int k = 0; k < 3; k++) {
            double r = p[k] * (m - 1);
            int i = (int)floor(r);
            *q[k] = i + 1 < m ? s[i] + (r - i) * (s[i + 1] - s[i]) : s[i];
        }
    }
    free(s);
    return m > 0;
}

double plots_jitter(int i)
{
    uint32_t h = (uint32_t)i * 2654435761u;
    h ^= h >> 15;
    return (h % 2001) / 1000.0 - 1.0;
}

/* "dataset fashion-mnist, arch convnet, k 200, ..." from the session's config. */
static void plots_settings(const pd_results *r, char *buf, size_t size)
{
    static const char *const keys[] = {"dataset", "arch", "target_tensors", "k", "ae_steps", "ddpm_steps",
                                       "n_generate", "seed"};
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < 8 && used < size; i++) {
        const char *v = results_config(r, keys[i]);
        if (v && v[0])
            used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", used ? ", " : "", keys[i], v);
    }
}

/* ------------------------------------------------------------------------------------------------ losses */

/* The losses of one stage into x, y (and accuracies into acc when not NULL), steps offset by off. */
static int plots_stage_losses(const pd_results *r, const char *stage, double off, double *x, double *y, double *acc)
{
    int n = 0;
    for (int64_t i = 0; i < r->n_losses; i++)
        if (strcmp(r->loss_stage[i], stage) == 0) {
            x[n] = (double)r->loss_step[i] + off;
            y[n] = r->loss[i];
            if (acc)
                acc[n] = r->loss_accuracy[i] * 100;
            n++;
        }
    return n;
}

static void plots_loss_panel(pd_figure *f, const char *title, const char *ylabel, int logy, const double *x,
                            const double *y, int n, fig_rgb c, int cell, int ncols, int nrows)
{
    fig_axes a = {.logy = logy, .xlabel = "step", .ylabel = ylabel, .title = title};
    double ylo = 0, yhi = 1;
    plots_range(x, n, 0, &a.x0, &a.x1);
    if (logy) {
        double lo = INFINITY, hi = 0;
        for (int i = 0; i < n; i++)
            if (y[i] > 0 && isfinite(y[i])) {
                lo = y[i] < lo ? y[i] : lo;
                hi = y[i] > hi ? y[i] : hi;
            }
        ylo = lo < INFINITY ? lo / 1.2 : 0.1;
        yhi = hi > 0 ? hi * 1.2 : 1;
    } else
        plots_range(y, n, 0.05, &ylo, &yhi);
    a.y0 = ylo;
    a.y1 = yhi;
    int col = cell % ncols, row = cell / ncols;
    fig_panel(f, &a, (double)col / ncols, (double)row / nrows, (double)(col + 1) / ncols, (double)(row + 1) / nrows);
    fig_line(f, x, y, n, c, 0);
}

static pd_status plots_loss(plots_ctx *c, const pd_results *r, pd_error *err)
{
    if (r->n_losses == 0)
        return plots_skip(c, "loss", "losses.csv is empty or absent", err);
    size_t n = (size_t)r->n_losses;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *acc = malloc(n * sizeof *acc);
    pd_figure *f = NULL;
    pd_status st = x && y && acc ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    int ncols = c->width < 400 ? 1 : 2, nrows = 4 / ncols;
    if (st == PD_OK)
        st = plots_open(c, "loss", nrows * (ncols == 1 ? 95.0 : 120.0), &f, err);
    if (st != PD_OK)
        goto done;
    int nt = plots_stage_losses(r, "task", 0, x, y, acc);
    double last = nt > 0 ? x[nt - 1] : 0;
    int nc = plots_stage_losses(r, "collect", last, x + nt, y + nt, NULL);
    plots_loss_panel(f, "task (training)", "train loss", 1, x, y, nt + nc, fig_palette(5), 0, ncols, nrows);
    if (nc > 0)
        fig_vline(f, last, "collection");
    plots_loss_panel(f, "task accuracy", "train accuracy (%)", 0, x, acc, nt, fig_palette(3), 1, ncols, nrows);
    int na = plots_stage_losses(r, "ae", 0, x, y, NULL);
    plots_loss_panel(f, "parameter autoencoder", "AE loss", 1, x, y, na, fig_palette(7), 2, ncols, nrows);
    int nd = plots_stage_losses(r, "ddpm", 0, x, y, NULL);
    plots_loss_panel(f, "latent DDPM", "DDPM loss", 1, x, y, nd, fig_palette(6), 3, ncols, nrows);
    char settings[600], cap[1200];
    plots_settings(r, settings, sizeof settings);
    snprintf(cap, sizeof cap, "Training curves of session %s (%s): task train loss (log scale, the dashed line marks "
             "where checkpoint collection starts) and train accuracy, the parameter autoencoder's and the latent "
             "DDPM's loss (log scale) against the training step.", c->name, settings);
    st = plots_close(c, "loss", &f, cap, err);
done:
    fig_abort(&f);
    free(x), free(y), free(acc);
    return st;
}

/* ------------------------------------------------------------------------------------------------ similarity */

typedef struct {
    double key;
    int index;
} plots_rank;

static int plots_cmp_rank(const void *a, const void *b)
{
    const plots_rank *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? 1 : -1; /* descending */
    return x->index - y->index;
}

/* The order of rows (by_row) or columns of m [rows, cols] by mean of their finite values, highest first. */
static void plots_order(const float *m, int rows, int cols, int by_row, int *order, plots_rank *tmp)
{
    int n = by_row ? rows : cols, k = by_row ? cols : rows;
    for (int i = 0; i < n; i++) {
        double s = 0;
        int cnt = 0;
        for (int j = 0; j < k; j++) {
            float v = by_row ? m[(size_t)i * (size_t)cols + (size_t)j] : m[(size_t)j * (size_t)cols + (size_t)i];
            if (isfinite(v))
                s += v, cnt++;
        }
        tmp[i] = (plots_rank){cnt ? s / cnt : -INFINITY, i};
    }
    qsort(tmp, (size_t)n, sizeof *tmp, plots_cmp_rank);
    for (int i = 0; i < n; i++)
        order[i] = tmp[i].index;
}

/* similarity_cells.csv: each drawn cell's ids, IoU and rectangle. */
static pd_status plots_cells_csv(plots_ctx *c, const pd_figure *f, const pd_results *r, const int *ro, const int *co,
                                pd_error *err)
{
    char path[PD_PATH_MAX];
    pd_csv_writer *w;
    PD_TRY(path_format(path, sizeof path, err, "%s/similarity_cells.csv", c->out));
    PD_TRY(csvio_create(&w, path, err));
    static const char *const head[] = {"row", "col", "a", "b", "iou", "x", "y", "w", "h"};
    for (int k = 0; k < 9; k++)
        csvio_text(w, head[k]);
    csvio_endrow(w);
    for (int i = 0; i < r->sim_rows; i++)
        for (int j = 0; j < r->sim_cols; j++) {
            double x, y, cw, ch;
            fig_heatmap_cell(f, i, j, &x, &y, &cw, &ch);
            csvio_int(w, i), csvio_int(w, j), csvio_int(w, r->sim_row_ids[ro[i]]);
            csvio_int(w, r->sim_col_ids[co[j]]);
            csvio_num(w, r->sim[(size_t)ro[i] * (size_t)r->sim_cols + (size_t)co[j]]);
            csvio_num(w, x), csvio_num(w, y), csvio_num(w, cw), csvio_num(w, ch);
            csvio_endrow(w);
        }
    return csvio_commit(w, err);
}

static pd_status plots_similarity(plots_ctx *c, const pd_results *r, pd_error *err)
{
    if (!r->have_similarity || r->sim_rows == 0 || r->sim_cols == 0)
        return plots_skip(c, "similarity", r->similarity_error[0] ? r->similarity_error
                                                                  : "no p-diff x original similarities", err);
    int rows = r->sim_rows, cols = r->sim_cols, n = rows > cols ? rows : cols;
    int *ro = malloc((size_t)rows * sizeof *ro), *co = malloc((size_t)cols * sizeof *co);
    plots_rank *tmp = malloc((size_t)n * sizeof *tmp);
    float *m = malloc((size_t)rows * (size_t)cols * sizeof *m);
    pd_figure *f = NULL;
    pd_status st = ro && co && tmp && m ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (st == PD_OK)
        st = plots_open(c, "similarity", c->width * 0.78, &f, err);
    if (st != PD_OK)
        goto done;
    plots_order(r->sim, rows, cols, 1, ro, tmp);
    plots_order(r->sim, rows, cols, 0, co, tmp);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = r->sim[(size_t)ro[i] * (size_t)cols + (size_t)co[j]];
            m[(size_t)i * (size_t)cols + (size_t)j] = v;
            if (isfinite(v))
                lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    fig_axes a = {.x0 = 0, .x1 = cols, .y0 = rows, .y1 = 0, .xlabel = "original model (sorted by mean IoU)",
                  .ylabel = "p-diff model (sorted)", .right = 44};
    fig_panel(f, &a, 0, 0, 1, 1);
    fig_heatmap(f, m, rows, cols, lo <= hi ? lo : 0, lo <= hi ? hi : 1, "IoU of wrong predictions");
    st = plots_cells_csv(c, f, r, ro, co, err);
    char settings[600], cap[1200];
    plots_settings(r, settings, sizeof settings);
    snprintf(cap, sizeof cap, "Similarity of the %d p-diff models (rows) to the %d original models (columns) of "
             "session %s (%s): intersection over union of their wrong test predictions; rows and columns sorted by "
             "their mean IoU, highest first.", rows, cols, c->name, settings);
    if (st == PD_OK)
        st = plots_close(c, "similarity", &f, cap, err);
done:
    fig_abort(&f);
    free(ro), free(co), free(tmp), free(m);
    return st;
}

/* ------------------------------------------------------------------------------------------------ kinds */

/* The distinct kinds of a list in first-seen order (at most max); returns the count. */
static int plots_kinds(char (*kind)[ZOO_KIND_MAX], int n, const char **out, int max)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(out[j], kind[i]) == 0;
        if (!seen && k < max)
            out[k++] = kind[i];
    }
    return k;
}

/* Drawing order: the subject (p-diff) last, on top; then the originals. */
static int plots_kind_layer(const char *kind)
{
    return strcmp(kind, "pdiff") == 0 ? 2 : strcmp(kind, "original") == 0 || strcmp(kind, "pdiff_latent") == 0;
}

/* A kind's style; the n-th noise level (n = *noise, counted up) a darker shade so that the levels stay apart. */
static fig_kind_style plots_kind_style(const char *kind, int *noise)
{
    fig_kind_style s = fig_kind_of(kind);
    if (strncmp(kind, "noise:", 6) == 0) {
        double k = pow(0.7, (*noise)++);
        s.colour = (fig_rgb){s.colour.r * k, s.colour.g * k, s.colour.b * k};
    }
    return s;
}

/* A scatter of (x, y) per kind with a legend (in first-seen order); returns the points drawn. */
static int plots_kind_scatter(pd_figure *f, char (*kind)[ZOO_KIND_MAX], const double *x, const double *y, int n,
                             double *bx, double *by, int legend_bottom)
{
    const char *kinds[32];
    fig_legend_entry e[32];
    char labels[32][64];
    int nk = plots_kinds(kind, n, kinds, 32), drawn = 0, ne = 0, noise = 0;
    for (int layer = 0; layer < 3; layer++)
        for (int k = 0, nz = 0; k < nk; k++) {
            fig_kind_style s = plots_kind_style(kinds[k], &nz);
            int m = 0;
            for (int i = 0; i < n && plots_kind_layer(kinds[k]) == layer; i++)
                if (strcmp(kind[i], kinds[k]) == 0 && isfinite(x[i]) && isfinite(y[i]))
                    bx[m] = x[i], by[m] = y[i], m++;
            fig_points(f, bx, by, m, s.marker, s.colour);
            drawn += m;
        }
    for (int k = 0; k < nk; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            m += strcmp(kind[i], kinds[k]) == 0 && isfinite(x[i]) && isfinite(y[i]);
        fig_kind_style s = plots_kind_style(kinds[k], &noise);
        if (m == 0)
            continue;
        fig_kind_label(kinds[k], labels[ne], sizeof labels[ne]);
        e[ne] = (fig_legend_entry){labels[ne], s.colour, s.marker, 1, 0};
        ne++;
    }
    fig_legend(f, e, ne, legend_bottom);
    return drawn;
}

static pd_status plots_memorization(plots_ctx *c, const pd_results *r, pd_error *err)
{
    const pd_zoo *z = &r->zoo;
    int n = r->have_models ? z->n : 0, have = 0;
    for (int i = 0; i < n; i++)
        have += isfinite(z->max_iou[i]);
    if (!have)
        return plots_skip(c, "memorization", "no analysed models (state/models.bin without max IoU)", err);
    double *acc = malloc((size_t)n * sizeof *acc), *bx = malloc((size_t)n * sizeof *bx);
    double *by = malloc((size_t)n * sizeof *by);
    pd_figure *f = NULL;
    pd_status st = acc && bx && by ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (st == PD_OK)
        st = plots_open(c, "memorization", c->width * 0.75, &f, err);
    if (st != PD_OK)
        goto done;
    for (int i = 0; i < n; i++)
        acc[i] = isfinite(z->max_iou[i]) ? z->accuracy[i] * 100 : NAN;
    fig_axes a = {.xlabel = "max IoU with the originals", .ylabel = "test accuracy (%)"};
    plots_range(z->max_iou, n, 0.05, &a.x0, &a.x1);
    plots_range(acc, n, 0.08, &a.y0, &a.y1);
    fig_panel(f, &a, 0, 0, 1, 1);
    plots_kind_scatter(f, z->kind, z->max_iou, acc, n, bx, by, 1);
    char settings[600], cap[1200];
    plots_settings(r, settings, sizeof settings);
    snprintf(cap, sizeof cap, "Test accuracy against the largest similarity (IoU of wrong predictions) to any "
             "original model, one marker per kind, session %s (%s). Points at the right memorise an original.",
             c->name, settings);
    st = plots_close(c, "memorization", &f, cap, err);
done:
    fig_abort(&f);
    free(acc), free(bx), free(by);
    return st;
}

static pd_status plots_tsne(plots_ctx *c, const pd_results *r, pd_error *err)
{
    if (!r->have_latents || r->n_latents == 0)
        return plots_skip(c, "tsne", r->latents_error[0] ? r->latents_error : "no latents.csv", err);
    int n = r->n_latents;
    double *bx = malloc((size_t)n * sizeof *bx), *by = malloc((size_t)n * sizeof *by);
    pd_figure *f = NULL;
    pd_status st = bx && by ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (st == PD_OK)
        st = plots_open(c, "tsne", c->width * 0.8, &f, err);
    if (st != PD_OK)
        goto done;
    fig_axes a = {.xlabel = "t-SNE 1", .ylabel = "t-SNE 2"};
    plots_range(r->latent_x, n, 0.05, &a.x0, &a.x1);
    plots_range(r->latent_y, n, 0.05, &a.y0, &a.y1);
    a.x1 += (a.x1 - a.x0) * 0.35; /* room for the legend */
    fig_panel(f, &a, 0, 0, 1, 1);
    plots_kind_scatter(f, r->latent_kind, r->latent_x, r->latent_y, n, bx, by, 0);
    char settings[600], cap[1200];
    plots_settings(r, settings, sizeof settings);
    snprintf(cap, sizeof cap, "t-SNE of the autoencoder latents of %d models per kind, session %s (%s).", n,
             c->name, settings);
    st = plots_close(c, "tsne", &f, cap, err);
done:
    fig_abort(&f);
    free(bx), free(by);
    return st;
}

/* One box and strip per kind at x = 0 .. nk - 1. */
static void plots_strips(pd_figure *f, const pd_zoo *z, const char **kinds, int nk, double *bx, double *by)
{
    for (int k = 0, noise = 0; k < nk; k++) {
        int m = 0;
        for (int i = 0; i < z->n; i++)
            if (strcmp(z->kind[i], kinds[k]) == 0)
                bx[m] = k + 0.25 * plots_jitter(i), by[m] = z->accuracy[i] * 100, m++;
        fig_kind_style s = plots_kind_style(kinds[k], &noise);
        double q1, med, q3;
        if (plots_quartiles(by, m, &q1, &med, &q3))
            fig_box(f, k, 0.35, q1, med, q3, (fig_rgb){0.3, 0.3, 0.3});
        fig_points(f, bx, by, m, s.marker, s.colour);
    }
}

static pd_status plots_accuracy(plots_ctx *c, const pd_results *r, pd_error *err)
{
    if (!r->have_models || r->zoo.n == 0)
        return plots_skip(c, "accuracy", r->models_error[0] ? r->models_error : "no state/models.bin", err);
    const pd_zoo *z = &r->zoo;
    const char *kinds[32];
    char labels[32][64];
    const char *lp[32];
    int nk = plots_kinds(z->kind, z->n, kinds, 32);
    double *bx = malloc((size_t)z->n * sizeof *bx), *by = malloc((size_t)z->n * sizeof *by);
    pd_figure *f = NULL;
    pd_status st = bx && by ? PD_OK : error_set(err, PD_ERR_NOMEM, "plot: out of memory");
    if (st == PD_OK)
        st = plots_open(c, "accuracy", c->width * 0.75, &f, err);
    if (st != PD_OK)
        goto done;
    for (int k = 0; k < nk; k++)
        fig_kind_label(kinds[k], labels[k], sizeof labels[k]), lp[k] = labels[k];
    for (int i = 0; i < z->n; i++)
        by[i] = z->accuracy[i] * 100;
    fig_axes a = {.x0 = -0.6, .x1 = nk - 0.4, .ylabel = "test accuracy (%)", .xcats = lp, .n_xcats = nk};
    plots_range(by, z->n, 0.05, &a.y0, &a.y1);
    fig_panel(f, &a, 0, 0, 1, 1);
    plots_strips(f, z, kinds, nk, bx, by);
    char settings[600], cap[1200];
    plots_settings(r, settings, sizeof settings);
    snprintf(cap, sizeof cap, "Test accuracy of every model per kind, session %s (%s): each model a point, the box "
             "spans the quartiles with a line at the median.", c->name, settings);
    st = plots_close(c, "accuracy", &f, cap, err);
done:
    fig_abort(&f);
    free(bx), free(by);
    return st;
}

/* ------------------------------------------------------------------------------------------------ entry */

static pd_status plots_session(plots_ctx *c, pd_error *err)
{
    pd_results *r = NULL;
    PD_TRY(results_load(&r, c->dir, err));
    pd_status (*const fn[])(plots_ctx *, const pd_results *, pd_error *) = {plots_loss, plots_similarity,
                                                                           plots_memorization, plots_tsne,
                                                                           plots_accuracy};
    static const char *const names[] = {"loss", "similarity", "memorization", "tsne", "accuracy"};
    pd_status st = PD_OK;
    for (int i = 0; i < 5 && st == PD_OK; i++)
        if (plots_want(c, names[i]))
            st = fn[i](c, r, err);
    results_free(r);
    return st;
}

static pd_status plots_check(const plots_ctx *c, int sweep, pd_error *err)
{
    if (c->width < 100 || c->width > 2000)
        return error_set(err, PD_ERR_USAGE, "--width: %g points is outside 100..2000 (single column 246, double "
                         "510)", c->width);
    for (int i = 0; i < c->o->n_only; i++) {
        int k = plots_index(c->o->only[i]);
        if (k == PLOT_N_NAMES)
            return error_set(err, PD_ERR_USAGE, "--only: unknown figure '%s' (one of: %s)", c->o->only[i],
                             plots_names());
        if ((k >= 5) != sweep)
            return error_set(err, PD_ERR_USAGE, "--only: %s is a figure of a %s, and %s is a %s", c->o->only[i],
                             k >= 5 ? "sweep" : "session", c->dir, sweep ? "sweep" : "session");
    }
    return PD_OK;
}

pd_status plots_run(const char *dir, const pd_plot_opts *o, plots_note_fn note, void *ctx, pd_error *err)
{
    plots_ctx c = {.o = o, .width = o->width > 0 ? o->width : FIG_SINGLE_COLUMN, .note = note, .ctx = ctx};
    pd_figure *none = NULL;
    if (!fig_available())
        return fig_open(&none, "", FIG_PDF, 1, 1, err); /* says what to install */
    int sweep = path_file_in(dir, "sweep_index.csv");
    if (!sweep && !path_file_in(dir, "config.csv"))
        return error_set(err, PD_ERR_IO, "%s: not a session (no config.csv) nor a sweep (no sweep_index.csv)", dir);
    PD_TRY(path_format(c.dir, sizeof c.dir, err, "%s", dir));
    PD_TRY(plots_check(&c, sweep, err));
    if (o->out)
        PD_TRY(path_format(c.out, sizeof c.out, err, "%s", o->out));
    else
        PD_TRY(path_join(c.out, sizeof c.out, dir, "figures", err));
    size_t len = strlen(c.dir);
    while (len > 1 && c.dir[len - 1] == '/')
        c.dir[--len] = '\0';
    c.name = strrchr(c.dir, '/') ? strrchr(c.dir, '/') + 1 : c.dir;
    PD_TRY(atomic_mkdirs(c.out, err));
    char tex[PD_PATH_MAX];
    PD_TRY(path_join(tex, sizeof tex, c.out, "figures.tex", err));
    if (o->n_only > 0)
        c.old_tex = path_read_small(tex, NULL);
    pd_status st = atomic_open(&c.tex, tex, err);
    if (st != PD_OK)
        goto done;
    fprintf(c.tex.fp, "%% pdiff %s plot of %s: one figure environment per file; \\usepackage{graphicx}\n\n",
            PACKAGE_VERSION, c.dir);
    st = sweep ? plots_sweep(&c, err) : plots_session(&c, err);
    if (st != PD_OK) {
        atomic_abort(&c.tex);
        goto done;
    }
    plots_tex_keep(&c, PLOT_N_NAMES);
    st = atomic_commit(&c.tex, err);
done:
    free(c.old_tex);
    if (st != PD_OK)
        return st;
    if (note)
        note(tex, NULL, ctx);
    return PD_OK;
}
