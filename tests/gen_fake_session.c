/* gen_fake_session — writes a session folder with fixed, made-up results for the TUI's whole-screen tests
 * (tests/tui_plots.sh): config.csv, summary.csv (with the per-kind metrics and stage times `pdiff report` reads),
 * state/models.bin (every kind of model, analysed), similarity.csv and latents.csv (with pdiff_latent points).
 * Nothing is trained: every number is a fixed function of the model's id, so the screens never change.
 *   gen_fake_session DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zoo.h"

static const struct {
    const char *kind;
    int count;
} fake_kinds[] = {{"original", 12}, {"ensemble", 1}, {"ae_recon", 4},   {"pdiff", 16},
                  {"finetune", 3},  {"averaged", 2}, {"noise:0.01", 3}, {"noise:0.1", 3}};
enum { FAKE_NK = (int)(sizeof fake_kinds / sizeof fake_kinds[0]) };

static double fake_acc(int i) { return 0.930 + 0.001 * ((i * 7) % 13); }
static double fake_iou(int i) { return 0.30 + 0.02 * ((i * 5) % 17); }
static double fake_l2(int i) { return (i % 4 == 0 ? 12.0 : 0.8) * (0.5 + 0.05 * ((i * 3) % 11)); }

static int fake_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* best/mean/median and the memorization metrics of ids [first, first + n) into summary.csv */
static void fake_kind_summary(FILE *f, const char *kind, int first, int n)
{
    char pre[64];
    snprintf(pre, sizeof pre, "%s", kind);
    for (char *c = pre; *c; c++)
        if (*c == ':')
            *c = '_';
    double acc[32], iou[32], l2[32], mean = 0, imean = 0;
    for (int k = 0; k < n; k++) {
        acc[k] = fake_acc(first + k);
        iou[k] = fake_iou(first + k);
        l2[k] = fake_l2(first + k);
        mean += acc[k] / n;
        imean += iou[k] / n;
    }
    qsort(acc, (size_t)n, sizeof *acc, fake_cmp);
    qsort(iou, (size_t)n, sizeof *iou, fake_cmp);
    qsort(l2, (size_t)n, sizeof *l2, fake_cmp);
    double med = n % 2 ? acc[n / 2] : (acc[n / 2 - 1] + acc[n / 2]) / 2;
    double lmed = n % 2 ? l2[n / 2] : (l2[n / 2 - 1] + l2[n / 2]) / 2;
    fprintf(f, "\"%s_best\",%.6g\n\"%s_mean\",%.6g\n\"%s_median\",%.6g\n", pre, acc[n - 1], pre, mean, pre, med);
    fprintf(f, "\"%s_max_iou_mean\",%.6g\n\"%s_max_iou_min\",%.6g\n\"%s_max_iou_max\",%.6g\n", pre, imean, pre, iou[0],
            pre, iou[n - 1]);
    fprintf(f, "\"%s_nearest_l2_median\",%.6g\n", pre, lmed);
}

static int fake_models(const char *dir, FILE *sum)
{
    pd_zoo z;
    zoo_init(&z, 4, 10);
    float vec[4] = {0};
    int id = 0;
    for (int k = 0; k < FAKE_NK; k++) {
        if (strcmp(fake_kinds[k].kind, "ensemble") == 0)
            fprintf(sum, "\"ensemble\",%.6g\n", fake_acc(id));
        else
            fake_kind_summary(sum, fake_kinds[k].kind, id, fake_kinds[k].count);
        for (int j = 0; j < fake_kinds[k].count; j++, id++) {
            int32_t m = zoo_add(&z, fake_kinds[k].kind, vec, fake_acc(id), 0.2 + 0.001 * id, NULL);
            int ens = strcmp(fake_kinds[k].kind, "ensemble") == 0;
            z.max_iou[m] = ens ? NAN : fake_iou(id);
            z.nearest_id[m] = ens ? -1 : id % 12;
            z.nearest_l2[m] = ens ? NAN : fake_l2(id);
        }
    }
    char path[4200];
    pd_error err = {0};
    snprintf(path, sizeof path, "%s/state/models.bin", dir);
    pd_status st = zoo_save(&z, path, &err);
    snprintf(path, sizeof path, "%s/models.csv", dir);
    if (st == PD_OK)
        st = zoo_write_csv(&z, path, &err);
    if (st != PD_OK)
        fprintf(stderr, "gen_fake_session: %s\n", err.msg);
    zoo_free(&z);
    return st == PD_OK ? 0 : 1;
}

static int fake_csvs(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/similarity.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "\"a\",\"b\",\"iou\"\n");
    for (int a = 17; a < 33; a++) /* p-diff ids x original ids */
        for (int b = 0; b < 12; b++)
            fprintf(f, "%d,%d,%.4f\n", a, b, 0.2 + 0.6 * ((a * 37 + b * 11) % 100) / 100.0);
    fclose(f);
    snprintf(path, sizeof path, "%s/latents.csv", dir);
    if (!(f = fopen(path, "w")))
        return 1;
    fprintf(f, "\"id\",\"kind\",\"tsne_x\",\"tsne_y\"\n");
    for (int i = 0; i < 12; i++)
        fprintf(f, "%d,\"original\",%.3f,%.3f\n", i, -10 + cos(i) * 3, sin(i) * 3);
    for (int i = 17; i < 33; i++)
        fprintf(f, "%d,\"pdiff\",%.3f,%.3f\n", i, 8 + cos(i) * 4, 2 + sin(i) * 4);
    for (int i = 17; i < 25; i++)
        fprintf(f, "%d,\"pdiff_latent\",%.3f,%.3f\n", i, 2 + cos(i) * 2, -8 + sin(i) * 2);
    for (int i = 38; i < 44; i++)
        fprintf(f, "%d,\"%s\",%.3f,%.3f\n", i, i < 41 ? "noise:0.01" : "noise:0.1", -6 + cos(i), 9 + sin(i));
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_fake_session DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4200];
    snprintf(path, sizeof path, "%s/state", dir);
    mkdir(dir, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/config.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "\"key\",\"value\"\n\"dataset\",\"idx:data\"\n\"arch\",\"mlp\"\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (!(f = fopen(path, "w")))
        return 1;
    fprintf(f, "\"metric\",\"value\"\n\"task_accuracy\",0.9412\n");
    static const char *const st[] = {"train", "collect", "ae", "ddpm", "generate", "analyze"};
    for (int i = 0; i < 6; i++)
        fprintf(f, "\"seconds_%s\",%.2f\n", st[i], 2.5 * (i + 1) + 0.25 * i);
    int rc = fake_models(dir, f);
    fprintf(f, "\"novelty\",0.125\n");
    fclose(f);
    return rc || fake_csvs(dir);
}
