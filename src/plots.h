/* plots.h — the figures of a session or a sweep for papers (`pdiff plot`), drawn with figure.h.
 *
 * A session (a folder with config.csv, read through results.h) gives
 *   loss        task train loss (log) and accuracy with the step where collection starts, AE and DDPM losses (log);
 *   similarity  the IoU heatmap of p-diff models x originals, rows and columns sorted by mean IoU, a colour bar;
 *               next to it similarity_cells.csv: each cell's zoo ids (a = p-diff, b = original), IoU and rectangle
 *               in the file's units (pixels for PNG, points otherwise), for checks and annotations;
 *   memorization  accuracy against max IoU with the originals, one marker and colour per kind;
 *   tsne        the t-SNE of the latents per kind;
 *   accuracy    the accuracy distribution per kind (box: quartiles and median; every model as a point).
 * A sweep (a folder with sweep_index.csv) gives
 *   sweep_metrics         p-diff best and mean, original mean and novelty against the swept value (mean over the
 *                         seeds with the 95 % interval, stats.h, when a value has repeats);
 *   sweep_max_similarity  the max IoU of the p-diff models with the originals per swept value.
 * Each figure is OUT/NAME.EXT; OUT/figures.tex includes them all with captions naming what was plotted, the session
 * and its settings. A figure whose data the folder lacks is skipped (noted) unless --only asked for it (an error).
 * With --only, figures.tex keeps the entries of the other figures whose files are in OUT (rebuilt in the order above).
 */
#ifndef PD_PLOTS_H
#define PD_PLOTS_H

#include "error.h"
#include "figure.h"

#define PLOT_MAX_ONLY 16

typedef struct {
    fig_format format;
    double width;                     /* points; 0 = single column (FIG_SINGLE_COLUMN) */
    const char *out;                  /* folder; NULL = DIR/figures */
    const char *only[PLOT_MAX_ONLY];  /* figure names; none = all */
    int n_only;
} pd_plot_opts;

/* Called for every file written (path, note NULL) and every figure skipped (path NULL, note says why). */
typedef void (*plots_note_fn)(const char *path, const char *note, void *ctx);

/* Plot the session or sweep in dir. PD_ERR_IO when dir is neither; PD_ERR_USAGE for an unknown --only name or a
 * width outside 100..2000 points; without cairo, PD_ERR_CONFIG saying what to install. */
pd_status plots_run(const char *dir, const pd_plot_opts *o, plots_note_fn note, void *ctx, pd_error *err);
/* The figure names, space separated (for messages and --help). */
const char *plots_names(void);

#endif
