/* test_sweep.c — the combined tables of a sweep (sweep_report) on made-up sessions: mean ± 95 % CI per value,
 * every kind's metrics read generically, the tidy CSV layout, LaTeX cells, a sweep over seed, an older index
 * without the seed column, the paired table (differences within each seed), and stage sharing
 * (sweep_first_stage). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sweep.h"
#include "tap.h"

static char work[4096];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* a session folder with a summary.csv of the given accuracy-like numbers, and a config.csv naming its seed */
static void make_session(const char *sweep, const char *name, int seed, double pdiff_best, double noise_iou)
{
    char dir[8192], text[2048];
    snprintf(dir, sizeof dir, "%s/%s", sweep, name);
    mkdir(dir, 0755);
    snprintf(text, sizeof text,
             "\"metric\",\"value\"\n\"task_accuracy\",0.8\n\"seconds_train\",%d\n\"ae_parameters\",1000\n"
             "\"original_best\",0.85\n\"ensemble\",0.84\n\"pdiff_best\",%.17g\n\"pdiff_mean\",0.8\n"
             "\"noise_0.1_best\",0.5\n\"noise_0.1_max_iou_mean\",%.17g\n\"novelty\",0.25\n",
             seed, pdiff_best, noise_iou);
    write_file(dir, "summary.csv", text);
    snprintf(text, sizeof text, "\"key\",\"value\"\n\"seed\",\"%d\"\n", seed);
    write_file(dir, "config.csv", text);
}

static char *report(const char *dir, pd_report_format f, pd_status *st)
{
    static char buf[1 << 16];
    FILE *out = tmpfile();
    pd_error err = {0};
    *st = sweep_report(dir, f, out, &err);
    if (*st != PD_OK)
        tap_diag("sweep_report: %s", err.msg);
    rewind(out);
    size_t n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    fclose(out);
    return buf;
}

/* the numbers after a CSV row's text prefix: n, mean, sd, ci95 (NaN when empty) */
static int csv_numbers(const char *csv, const char *prefix, int *n, double v[3])
{
    const char *p = strstr(csv, prefix);
    if (!p)
        return 0;
    p += strlen(prefix);
    char *end;
    *n = (int)strtol(p, &end, 10);
    for (int i = 0; i < 3; i++) {
        p = end + 1; /* the comma */
        v[i] = (*p == ',' || *p == '\n' || *p == '\r') ? NAN : strtod(p, &end);
        if (isnan(v[i]))
            end = (char *)p;
    }
    return 1;
}

static void test_values_with_seeds(void)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/ln", work);
    mkdir(dir, 0755);
    write_file(dir, "sweep_index.csv",
               "\"key\",\"value\",\"seed\",\"session\"\n"
               "\"latent_noise\",\"0\",\"1\",\"a1\"\n\"latent_noise\",\"0\",\"2\",\"a2\"\n"
               "\"latent_noise\",\"0\",\"3\",\"a3\"\n\"latent_noise\",\"0.1\",\"1\",\"b1\"\n"
               "\"latent_noise\",\"0.1\",\"2\",\"b2\"\n\"latent_noise\",\"0.1\",\"3\",\"b3\"\n");
    make_session(dir, "a1", 1, 0.90, 0.7);
    make_session(dir, "a2", 2, 0.91, 0.7);
    make_session(dir, "a3", 3, 0.92, 0.7);
    make_session(dir, "b1", 1, 0.80, 0.6);
    make_session(dir, "b2", 2, 0.80, 0.6);
    make_session(dir, "b3", 3, 0.83, 0.6);
    pd_status st;
    const char *csv = report(dir, PD_REPORT_CSV, &st);
    static const char head[] = "\"table\",\"key\",\"value\",\"seed\",\"kind\",\"metric\",\"n\",\"mean\",\"sd\",\"ci95\"\n";
    tap_ok(st == PD_OK && strncmp(csv, head, strlen(head)) == 0,
           "CSV header table,key,value,seed,kind,metric,n,mean,sd,ci95");
    int n = 0;
    double v[3];
    int found = csv_numbers(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"pdiff\",\"best\",", &n, v);
    tap_ok(found && n == 3 && fabs(v[0] - 0.91) < 1e-9 && fabs(v[1] - 0.01) < 1e-9 &&
               fabs(v[2] - 4.302652730 * 0.01 / sqrt(3.0)) < 1e-9,
           "value 0, p-diff best over 3 seeds: n 3, mean 0.91, sd 0.01, ci95 t(2) sd / sqrt(3) (%d %g %g %g)", n,
           v[0], v[1], v[2]);
    found = csv_numbers(csv, "\"sweep\",\"latent_noise\",\"0.1\",\"2\",\"pdiff\",\"best\",", &n, v);
    tap_ok(found && n == 1 && fabs(v[0] - 0.80) < 1e-9 && isnan(v[1]) && isnan(v[2]),
           "a run's row: seed 2, n 1, its value, no sd or interval");
    tap_ok(strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"noise_0.1\",\"max_iou_mean\",3,") &&
               strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"ensemble\",\"accuracy\",3,") &&
               strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"\",\"novelty\",3,") &&
               strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"task\",\"accuracy\",3,"),
           "every metric read generically, split into kind and metric (noise_0.1 max_iou_mean, ensemble, novelty)");
    tap_ok(strstr(csv, "\"sweep_cost\",\"latent_noise\",\"0\",\"\",\"\",\"seconds_train\",3,2,1,") &&
               strstr(csv, "\"sweep_cost\",\"latent_noise\",\"0.1\",\"\",\"\",\"ae_parameters\",3,1000,0,0\n") &&
               strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"task\",\"accuracy\",3,0.8,0,0\n") &&
               !strstr(csv, "\"sweep\",\"latent_noise\",\"0\",\"\",\"\",\"seconds_train\""),
           "seconds and parameter counts go into the cost table");
    const char *text = report(dir, PD_REPORT_TEXT, &st);
    tap_ok(st == PD_OK && strstr(text, "mean ± 95% CI over 3 seeds per value") && strstr(text, "91.00 ± 2.48") &&
               strstr(text, "81.00 ± 4.30"),
           "text: accuracies in percent, mean ± half-width per value");
    tap_ok(strstr(text, "0.7000 ± 0.0000") && strstr(text, "  -          novelty"),
           "text: other metrics as fractions; metrics of no kind under \"-\"");
    const char *tex = report(dir, PD_REPORT_LATEX, &st);
    tap_ok(st == PD_OK && strstr(tex, "\\toprule") && strstr(tex, "pdiff & best & $91.00 \\pm 2.48$ & $81.00 \\pm 4.30$ \\\\") &&
               strstr(tex, "noise\\_0.1 & max\\_iou\\_mean &") && strstr(tex, "\\begin{tabular}{llrr}"),
           "LaTeX: booktabs, $mean \\pm ci$ cells, text escaped");
}

static void test_seed_sweep_and_old_index(void)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/seeds", work);
    mkdir(dir, 0755);
    write_file(dir, "sweep_index.csv", "\"key\",\"value\",\"session\"\n\"seed\",\"1\",\"seed-1\"\n"
                                       "\"seed\",\"2\",\"seed-2\"\n\"seed\",\"3\",\"seed-3\"\n");
    make_session(dir, "seed-1", 1, 0.90, 0.7);
    make_session(dir, "seed-2", 2, 0.91, 0.7);
    make_session(dir, "seed-3", 3, 0.92, 0.7);
    pd_status st;
    const char *text = report(dir, PD_REPORT_TEXT, &st);
    tap_ok(st == PD_OK && strstr(text, "Runs over 3 seeds") && strstr(text, "mean ± 95% CI") &&
               strstr(text, "90.00") && strstr(text, "92.00") && strstr(text, "91.00 ± 2.48"),
           "a sweep over seed (older index, no seed column): each run and the mean ± CI over them");
    const char *csv = report(dir, PD_REPORT_CSV, &st);
    int n;
    double v[3];
    tap_ok(csv_numbers(csv, "\"sweep\",\"seed\",\"all\",\"\",\"pdiff\",\"best\",", &n, v) && n == 3 &&
               strstr(csv, "\"sweep\",\"seed\",\"3\",\"3\",\"pdiff\",\"best\",1,0.92"),
           "CSV of a sweep over seed: runs by seed, the group's row with value all");

    snprintf(dir, sizeof dir, "%s/old", work);
    mkdir(dir, 0755);
    write_file(dir, "sweep_index.csv", "\"key\",\"value\",\"session\"\n\"k\",\"5\",\"k-5\"\n\"k\",\"10\",\"k-10\"\n");
    make_session(dir, "k-5", 7, 0.90, 0.7);
    make_session(dir, "k-10", 7, 0.93, 0.7);
    text = report(dir, PD_REPORT_TEXT, &st);
    tap_ok(st == PD_OK && strstr(text, "one run per value") && strstr(text, "93.00") && !strstr(text, "±"),
           "an older sweep folder (no seed column) still reports: plain values");
    csv = report(dir, PD_REPORT_CSV, &st);
    tap_ok(strstr(csv, "\"sweep\",\"k\",\"10\",\"7\",\"pdiff\",\"best\",1,0.93") != NULL,
           "its runs' seeds come from their config.csv");
    write_file(dir, "sweep_index.csv", "\"key\",\"value\",\"session\"\n\"k\",\"5\",\"k-missing\"\n");
    FILE *out = tmpfile();
    pd_error err = {0};
    st = sweep_report(dir, PD_REPORT_TEXT, out, &err);
    fclose(out);
    tap_ok(st != PD_OK && strstr(err.msg, "k-missing"), "a missing session is named (%s)", err.msg);
}

/* a session for the paired table: originals whose mean accuracy moves with the seed (0.80 + 0.05 seed), p-diff
 * d above them, the ensemble 0.001 seed above them, novelty and max-IoU per kind, no pairwise IoU for the ensemble */
static void paired_session(const char *sweep, const char *name, int seed, double d)
{
    char dir[8192], text[2048];
    double o = 0.80 + 0.05 * seed;
    snprintf(dir, sizeof dir, "%s/%s", sweep, name);
    mkdir(dir, 0755);
    snprintf(text, sizeof text,
             "\"metric\",\"value\"\n\"task_accuracy\",0.7\n\"original_best\",0.99\n\"original_mean\",%.17g\n"
             "\"ensemble\",%.17g\n\"pdiff_best\",0.99\n\"pdiff_mean\",%.17g\n\"original_max_iou_mean\",0.9\n"
             "\"pdiff_max_iou_mean\",%.17g\n\"novelty\",0.5\n\"original_novelty\",0\n\"pdiff_novelty\",%.17g\n"
             "\"original_pair_iou_mean\",0.95\n\"ensemble_pair_iou_mean\",\n\"ensemble_novelty\",1\n",
             o, o + 0.001 * seed, o + d, 0.9 - d, 0.25 * seed);
    write_file(dir, "summary.csv", text);
}

/* the row over the seeds of a value of the paired CSV table: n, mean, sd, ci95 */
static int paired_row(const char *csv, const char *value, const char *kind, const char *metric, int *n, double v[3])
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "\"paired\",\"latent_noise\",\"%s\",\"\",\"%s\",\"%s\",", value, kind, metric);
    return csv_numbers(csv, prefix, n, v);
}

static void test_paired(void)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/paired", work);
    mkdir(dir, 0755);
    /* value 0 has seeds 1 and 2, value 0.1 seeds 3, 1, 2 (in that order): pairs are found by seed, not position */
    write_file(dir, "sweep_index.csv",
               "\"key\",\"value\",\"seed\",\"session\"\n"
               "\"latent_noise\",\"0\",\"1\",\"a1\"\n\"latent_noise\",\"0\",\"2\",\"a2\"\n"
               "\"latent_noise\",\"0.1\",\"3\",\"b3\"\n\"latent_noise\",\"0.1\",\"1\",\"b1\"\n"
               "\"latent_noise\",\"0.1\",\"2\",\"b2\"\n");
    paired_session(dir, "a1", 1, 0.010);
    paired_session(dir, "a2", 2, 0.014);
    paired_session(dir, "b3", 3, 0.030);
    paired_session(dir, "b1", 1, 0.020);
    paired_session(dir, "b2", 2, 0.022);
    pd_status st;
    const char *csv = report(dir, PD_REPORT_CSV, &st);
    int n = 0;
    double v[3];
    int found = paired_row(csv, "0", "pdiff-original", "mean", &n, v);
    tap_ok(st == PD_OK && found && n == 2 && fabs(v[0] - 0.012) < 1e-9 && fabs(v[1] - 0.002 * sqrt(2.0)) < 1e-9 &&
               fabs(v[2] - 12.706204736 * 0.002) < 1e-9,
           "paired: p-diff - originals within each seed of value 0: mean 0.012, sd, ci95 t(1) sd / sqrt(2) "
           "(%d %g %g %g)",
           n, v[0], v[1], v[2]);
    found = paired_row(csv, "0.1", "pdiff-original", "mean", &n, v);
    tap_ok(found && n == 3 && fabs(v[0] - 0.024) < 1e-9 && fabs(v[1] - sqrt(28e-6)) < 1e-9 &&
               fabs(v[2] - 4.302652730 * sqrt(28e-6) / sqrt(3.0)) < 1e-9,
           "paired: value 0.1 over 3 seeds: mean 0.024, t(2) interval (%d %g %g %g)", n, v[0], v[1], v[2]);
    found = paired_row(csv, "0.1", "pdiff@0.1-pdiff@0", "mean", &n, v);
    tap_ok(found && n == 2 && fabs(v[0] - 0.009) < 1e-9 && fabs(v[1] - 0.001 * sqrt(2.0)) < 1e-9,
           "paired: pdiff at 0.1 - at 0 over the seeds both have (1 and 2, matched by seed): 0.009 (%d %g %g)", n,
           v[0], v[1]);
    tap_ok(strstr(csv, "\"paired\",\"latent_noise\",\"0.1\",\"3\",\"pdiff@0.1-pdiff@0\",\"mean\",0,,,\n") &&
               strstr(csv, "\"paired\",\"latent_noise\",\"0.1\",\"1\",\"pdiff@0.1-pdiff@0\",\"mean\",1,0.01,,\n") &&
               strstr(csv, "\"paired\",\"latent_noise\",\"0.1\",\"2\",\"pdiff-original\",\"mean\",1,0.022,,\n"),
           "paired CSV: one row per run (seed 3 has no pair at value 0: n 0)");
    int nov = paired_row(csv, "0.1", "pdiff-original", "novelty", &n, v) && n == 3 && fabs(v[0] - 0.5) < 1e-9;
    int iou = paired_row(csv, "0.1", "pdiff-original", "max_iou_mean", &n, v) && n == 3 && fabs(v[0] + 0.024) < 1e-9;
    found = paired_row(csv, "0.1", "ensemble-original", "mean", &n, v);
    tap_ok(found && n == 3 && fabs(v[0] - 0.002) < 1e-9 && nov && iou,
           "paired: the ensemble's accuracy stands for its mean; novelty and max_iou_mean per kind");
    tap_ok(!strstr(csv, "\"ensemble-original\",\"pair_iou_mean\"") && !strstr(csv, "task-original") &&
               !strstr(csv, "\"-original\"") && !strstr(csv, "original-original") &&
               !strstr(csv, "\"pdiff-original\",\"best\"") &&
               !strstr(csv, "\"paired\",\"latent_noise\",\"0\",\"\",\"pdiff@0-"),
           "paired: no row without values (ensemble pair IoU), none for task, kindless metrics, originals or best");
    const char *text = report(dir, PD_REPORT_TEXT, &st);
    tap_ok(st == PD_OK && strstr(text, "Paired differences within each seed, over 3 seeds per value") &&
               strstr(text, "pdiff - pdiff at latent_noise=0") && strstr(text, "1.20 ± 2.54") &&
               strstr(text, "2.40 ± 1.31") && strstr(text, "0.5000 ± 0.0000"),
           "paired text: accuracies in points, other metrics as they are");
    const char *pd = strstr(text, "  pdiff-pdiff@0");
    tap_ok(pd && strstr(pd, "mean") && strstr(pd, "  -  ") && strstr(pd, "0.90 ± 1.27"),
           "paired text: pdiff-pdiff@0 has no cell at the first value, the difference at 0.1");
    const char *tex = report(dir, PD_REPORT_LATEX, &st);
    tap_ok(st == PD_OK && strstr(tex, "\\label{tab:sweep_paired}") &&
               strstr(tex, "pdiff-original & mean & $1.20 \\pm 2.54$ & $2.40 \\pm 1.31$ \\\\") &&
               strstr(tex, "pdiff-pdiff@0 & mean & -- & $0.90 \\pm 1.27$ \\\\"),
           "paired LaTeX: booktabs rows like the other tables");
}

/* a sweep over seed: the paired table shows each run's difference and the mean ± CI over them; one run per value
 * gives no paired table */
static void test_paired_seeds(void)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/paired-seeds", work);
    mkdir(dir, 0755);
    write_file(dir, "sweep_index.csv", "\"key\",\"value\",\"seed\",\"session\"\n\"seed\",\"1\",\"1\",\"s1\"\n"
                                       "\"seed\",\"2\",\"2\",\"s2\"\n\"seed\",\"3\",\"3\",\"s3\"\n");
    paired_session(dir, "s1", 1, 0.020);
    paired_session(dir, "s2", 2, 0.022);
    paired_session(dir, "s3", 3, 0.030);
    pd_status st;
    const char *text = report(dir, PD_REPORT_TEXT, &st);
    const char *row = strstr(text, "\n  pdiff-original     mean  ");
    const char *c1 = row ? strstr(row, " 2.00 ") : NULL, *c2 = c1 ? strstr(c1, " 2.20 ") : NULL;
    const char *c3 = c2 ? strstr(c2, " 3.00 ") : NULL, *c4 = c3 ? strstr(c3, " 2.40 ± 1.31\n") : NULL;
    tap_ok(st == PD_OK && strstr(text, "Paired differences within each of 3 runs") && c4 &&
               c4 < strchr(row + 1, '\n') + 1 && !strstr(text, "pdiff-pdiff@"),
           "paired over seed: each run's difference (points) and the mean ± CI, on one row");
    const char *csv = report(dir, PD_REPORT_CSV, &st);
    int n;
    double v[3];
    tap_ok(csv_numbers(csv, "\"paired\",\"seed\",\"all\",\"\",\"pdiff-original\",\"mean\",", &n, v) && n == 3 &&
               fabs(v[0] - 0.024) < 1e-9 &&
               strstr(csv, "\"paired\",\"seed\",\"3\",\"3\",\"pdiff-original\",\"mean\",1,0.03,"),
           "paired CSV over seed: each run, and value all over them");

    snprintf(dir, sizeof dir, "%s/paired-one", work);
    mkdir(dir, 0755);
    write_file(dir, "sweep_index.csv", "\"key\",\"value\",\"seed\",\"session\"\n\"k\",\"5\",\"1\",\"a\"\n"
                                       "\"k\",\"10\",\"1\",\"b\"\n");
    paired_session(dir, "a", 1, 0.020);
    paired_session(dir, "b", 1, 0.030);
    csv = report(dir, PD_REPORT_CSV, &st);
    tap_ok(st == PD_OK && !strstr(csv, "\"paired\"") && strstr(csv, "\"sweep\",\"k\",\"10\""),
           "one run per value: no paired rows");
    text = report(dir, PD_REPORT_TEXT, &st);
    tap_ok(st == PD_OK && strstr(text, "one run per value") && !strstr(text, "Paired"),
           "one run per value: no paired table");
}

static void test_stages(void)
{
    tap_ok(sweep_first_stage("latent_noise") == PD_STAGE_AE && sweep_first_stage("gen_seed") == PD_STAGE_AE &&
               sweep_first_stage("normalize") == PD_STAGE_AE && sweep_first_stage("standardize") == PD_STAGE_AE,
           "latent_noise, gen_seed, normalize (and standardize) share train and collect");
    tap_ok(sweep_first_stage("ddpm_ema") == PD_STAGE_DDPM && sweep_first_stage("best_of_n") == PD_STAGE_ANALYZE &&
               sweep_first_stage("k_span") == PD_STAGE_COLLECT && sweep_first_stage("collect_mode") == PD_STAGE_COLLECT &&
               sweep_first_stage("collect_runs") == PD_STAGE_COLLECT,
           "ddpm_ema from ddpm, best_of_n from analyze, k_span and collect_mode/runs from collect");
    tap_ok(sweep_first_stage("seed") == PD_STAGE_TRAIN && sweep_first_stage("augment") == PD_STAGE_TRAIN &&
               sweep_first_stage("lr_milestones") == PD_STAGE_TRAIN && sweep_first_stage("lr_gamma") == PD_STAGE_TRAIN,
           "seed, augment and the learning-rate schedule change everything");
}

int main(void)
{
    snprintf(work, sizeof work, "%s", tap_workdir("test_sweep"));
    test_values_with_seeds();
    test_seed_sweep_and_old_index();
    test_paired();
    test_paired_seeds();
    test_stages();
    return tap_done();
}
