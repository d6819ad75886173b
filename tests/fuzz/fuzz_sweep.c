/* fuzz_sweep.c — a sweep folder's reader: sweep_report and sweep_report_partial (what `pdiff report SWEEP_DIR`,
 * `pdiff plot SWEEP_DIR` and a continuing sweep read): sweep_index.csv, and through it every run's summary.csv and,
 * for an index without a seed column, its config.csv.
 * A small valid sweep (latent_noise 0 with seeds 1 and 2, 0.1 with seed 1) is written into the scratch folder once;
 * each input replaces one of its files:
 *   input[0] & 3       which file: sweep_index.csv (0 and 3), the first run's summary.csv (1), the third run's
 *                      config.csv (2)
 *   input[0] >> 2 & 3  the format (% 3): text, CSV, LaTeX
 *   input[0] & 0x10    read it as a running sweep (sweep_report_partial)
 *   input[1...]        the file's bytes
 * The file gets its valid bytes back after each input. With PDIFF_FUZZ_SEEDS=DIR set, the target writes the valid
 * files there as seed inputs (how tests/fuzz/corpus/sweep/ was made). */
#include <sys/stat.h>

#include "config.h"
#include "fuzz.h"
#include "path.h"
#include "report.h"
#include "session.h"
#include "sweep.h"

enum { FUZZ_RUNS = 3, FUZZ_FILES = 3 };
static const char *const fuzz_sweep_runs[FUZZ_RUNS] = {"latent_noise-0", "latent_noise-0-seed-2",
                                                         "latent_noise-0.1"};
static const char fuzz_sweep_index[] = "\"key\",\"value\",\"seed\",\"session\"\n"
                                       "\"latent_noise\",\"0\",\"1\",\"latent_noise-0\"\n"
                                       "\"latent_noise\",\"0\",\"2\",\"latent_noise-0-seed-2\"\n"
                                       "\"latent_noise\",\"0.1\",\"1\",\"latent_noise-0.1\"\n";
static char fuzz_sweep_path[FUZZ_FILES][PD_PATH_MAX]; /* the three files an input may replace */
static uint8_t *fuzz_sweep_valid[FUZZ_FILES];
static size_t fuzz_sweep_size[FUZZ_FILES];
static FILE *fuzz_sweep_null;

static void fuzz_sweep_cleanup(void)
{
    if (fuzz_sweep_null)
        fclose(fuzz_sweep_null);
    if (fuzz_dir_[0])
        fuzz_remove_tree(fuzz_dir_, 3); /* the sweep is its folder "sw" */
}

/* Run r: config.csv (its seed) and a summary.csv with metrics of several kinds, through the engine's writers. */
static int fuzz_sweep_run(const char *sw, int r)
{
    char dir[PD_PATH_MAX], path[PD_PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", sw, fuzz_sweep_runs[r]) >= (int)sizeof dir)
        return 0;
    pd_session *s;
    pd_error err = {0};
    if (session_open(&s, dir, 1, &err) != PD_OK)
        return 0;
    pd_config cfg;
    config_defaults(&cfg);
    cfg.seed = r == 1 ? 2 : 1;
    int ok = config_write_csv(&cfg, session_path(s, "config.csv", path, sizeof path), NULL, NULL, 0, &err) == PD_OK;
    static const char *const metrics[] = {"task_accuracy", "original_best", "original_mean", "pdiff_best",
                                          "pdiff_mean",    "pdiff_novelty", "ensemble",      "noise_0.01_best",
                                          "pair_iou_mean", "seconds_ae",    "ddpm_parameters"};
    for (size_t i = 0; ok && i < sizeof metrics / sizeof *metrics; i++)
        ok = session_summary_set(s, metrics[i], 0.9 - 0.01 * (double)i + 0.002 * r) == PD_OK;
    ok = ok && session_summary_write(s, &err) == PD_OK;
    session_free(s);
    return ok;
}

/* The seed inputs: each valid file behind its selector byte, once as a finished and once as a running sweep. */
static void fuzz_sweep_seeds(const char *out)
{
    for (int i = 0; i < FUZZ_FILES; i++)
        for (int partial = 0; partial < 2; partial++) {
            char path[PD_PATH_MAX];
            if (snprintf(path, sizeof path, "%s/file%d%s", out, i, partial ? "-partial" : "") >= (int)sizeof path)
                continue;
            FILE *f = fopen(path, "wb");
            if (!f)
                continue;
            fputc(i | (partial ? 0x10 : 0), f);
            fwrite(fuzz_sweep_valid[i], 1, fuzz_sweep_size[i], f);
            fclose(f);
        }
}

/* The sweep folder (made once), NULL when it cannot be made. */
static const char *fuzz_sweep_dir(void)
{
    static int ready = -1;
    static char sw[PD_PATH_MAX];
    if (ready >= 0)
        return ready ? sw : NULL;
    ready = 0;
    const char *root = fuzz_dir(); /* fuzz.h's scratch folder, in memory where possible */
    if (!root)
        return NULL;
    atexit(fuzz_sweep_cleanup); /* registered after fuzz.h's cleanup, so it runs first and removes the tree */
    snprintf(sw, sizeof sw, "%s/sw", root);
    if (mkdir(sw, 0755) != 0)
        return NULL;
    for (int r = 0; r < FUZZ_RUNS; r++)
        if (!fuzz_sweep_run(sw, r))
            return NULL;
    if (snprintf(fuzz_sweep_path[0], PD_PATH_MAX, "%s/sweep_index.csv", sw) >= PD_PATH_MAX
        || snprintf(fuzz_sweep_path[1], PD_PATH_MAX, "%s/%s/summary.csv", sw, fuzz_sweep_runs[0]) >= PD_PATH_MAX
        || snprintf(fuzz_sweep_path[2], PD_PATH_MAX, "%s/%s/config.csv", sw, fuzz_sweep_runs[2]) >= PD_PATH_MAX
        || !fuzz_write_whole(fuzz_sweep_path[0], fuzz_sweep_index, sizeof fuzz_sweep_index - 1))
        return NULL;
    for (int i = 0; i < FUZZ_FILES; i++)
        if (!fuzz_read_whole(fuzz_sweep_path[i], &fuzz_sweep_valid[i], &fuzz_sweep_size[i]))
            return NULL;
    fuzz_sweep_null = fopen("/dev/null", "w");
    if (!fuzz_sweep_null)
        return NULL;
    if (getenv("PDIFF_FUZZ_SEEDS"))
        fuzz_sweep_seeds(getenv("PDIFF_FUZZ_SEEDS"));
    ready = 1;
    return sw;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *sw = fuzz_sweep_dir();
    if (!sw || size < 1)
        return 0;
    int which = (data[0] & 3) == 3 ? 0 : data[0] & 3;
    pd_report_format fmt = (pd_report_format)((data[0] >> 2 & 3) % 3);
    int partial = (data[0] & 0x10) != 0;
    if (!fuzz_write_whole(fuzz_sweep_path[which], data + 1, size - 1))
        return 0;
    pd_error err = {0};
    if (partial) {
        sweep_report_status status;
        sweep_report_partial(sw, fmt, fuzz_sweep_null, &status, &err);
    } else {
        sweep_report(sw, fmt, fuzz_sweep_null, &err);
    }
    fuzz_write_whole(fuzz_sweep_path[which], fuzz_sweep_valid[which], fuzz_sweep_size[which]);
    return 0;
}
