/* fuzz_session.c — a session folder's loaders: results_load (config.csv, summary.csv, losses.csv through session.h,
 * state/models.bin, similarity.csv, latents.csv; what the TUI and `sweep` read), report_write (models.csv too) and
 * progress_file_read (progress.csv, what the TUI reads while it watches a run).
 * A small valid session is written into the scratch folder once; each input replaces one of its files:
 *   input[0] & 7      which file: losses.csv, summary.csv, similarity.csv, latents.csv, models.csv,
 *                     config.csv, state/models.bin, progress.csv
 *   input[0] >> 3 & 3 the report's format (% 3): text, CSV, LaTeX
 *   input[0] & 0x80   for models.bin: fix its CRC-32 first (as fuzz_state does), so that the parsing behind it is
 *                     fuzzed too
 *   input[1...]       the file's bytes
 * The file gets its valid bytes back after each input. With PDIFF_FUZZ_SEEDS=DIR set, the target writes the valid
 * files there as seed inputs (how tests/fuzz/corpus/session/ was made). */
#include <math.h>
#include <sys/stat.h>
#include <zlib.h>

#include "config.h"
#include "fuzz.h"
#include "progress_file.h"
#include "report.h"
#include "results.h"
#include "session.h"
#include "zoo.h"

enum { FUZZ_NFILES = 8, FUZZ_MODELS_BIN = 6 };
static const char *const fuzz_session_files[FUZZ_NFILES] = {"losses.csv", "summary.csv", "similarity.csv",
                                                           "latents.csv", "models.csv", "config.csv",
                                                           "state/models.bin", PROGRESS_FILE_NAME};
static uint8_t *fuzz_session_valid[FUZZ_NFILES]; /* each file's valid bytes */
static size_t fuzz_session_size[FUZZ_NFILES];
static char fuzz_session_state[96];
static FILE *fuzz_session_null;

/* The scratch folder's state/ goes after fuzz.h's cleanup (registered later, so run earlier) removed the files. */
static void fuzz_session_cleanup(void)
{
    if (fuzz_session_null)
        fclose(fuzz_session_null);
    if (fuzz_session_state[0])
        fuzz_remove_tree(fuzz_session_state, 0);
    if (fuzz_dir_[0])
        fuzz_remove_tree(fuzz_dir_, 0);
}

/* 3 originals, an ensemble, an AE reconstruction, 3 p-diff models and a noise model, partly analysed: models.bin
 * and models.csv. */
static int fuzz_session_zoo(const pd_session *s)
{
    enum { D = 3, NT = 4 };
    static const char *const kinds[9] = {"original", "original", "original", "ensemble",  "ae_recon",
                                         "pdiff",    "pdiff",    "pdiff",    "noise:0.01"};
    static const int32_t labels[NT] = {0, 1, 2, 3};
    pd_zoo z;
    zoo_init(&z, D, NT);
    int ok = zoo_set_labels(&z, labels) == PD_OK;
    for (int m = 0; ok && m < 9; m++) {
        float vec[D] = {(float)m, 0.5f * (float)m, -1.0f};
        uint8_t pred[NT] = {(uint8_t)(m % 4), 1, (uint8_t)(m % 3), 3};
        ok = zoo_add(&z, kinds[m], vec, 0.5 + 0.05 * m, 1.0 / (m + 1), pred) == m;
        if (ok && m >= 3) {
            z.max_iou[m] = 0.1 * m;
            z.nearest_id[m] = m % 3;
            z.nearest_l2[m] = 0.25 * m;
        }
    }
    pd_error err = {0};
    char path[PD_PATH_MAX];
    ok = ok && zoo_save(&z, session_state_path(s, "models", path, sizeof path), &err) == PD_OK;
    ok = ok && zoo_write_csv(&z, session_path(s, "models.csv", path, sizeof path), &err) == PD_OK;
    zoo_free(&z);
    return ok;
}

static const char fuzz_session_similarity[] = "\"a\",\"b\",\"iou\"\n0,1,0.5\n0,2,0.25\n1,2,1\n5,0,0.2\n5,1,0\n"
                                              "5,2,\n6,0,0.75\n6,1,0.5\n6,2,0.5\n7,0,1\n7,1,0.125\n7,2,0.3\n";
static const char fuzz_session_latents[] = "\"id\",\"kind\",\"tsne_x\",\"tsne_y\"\n0,\"original\",1.5,-2\n"
                                           "1,\"original\",0.5,3\n5,\"pdiff\",-4,0.25\n8,\"noise:0.01\",2,2\n";

/* The valid session: written through the engine's own writers, then kept in memory, file by file. */
static int fuzz_session_write(const char *dir)
{
    pd_session *s;
    pd_error err = {0};
    if (session_open(&s, dir, 1, &err) != PD_OK)
        return 0;
    char path[PD_PATH_MAX];
    pd_config cfg;
    config_defaults(&cfg);
    int ok = config_write_csv(&cfg, session_path(s, "config.csv", path, sizeof path), NULL, NULL, 0, &err) == PD_OK;
    static const char *const stages[4] = {"task", "collect", "ae", "ddpm"};
    for (int i = 0; ok && i < 8; i++)
        ok = session_loss_add(s, stages[i / 2], 10 * i, 1.0 / (i + 1), i % 2 ? 0.5 : NAN) == PD_OK;
    static const char *const metrics[6] = {"task_accuracy", "original_best", "pdiff_best",
                                           "pdiff_mean",    "novelty",       "seconds_ae"};
    for (int i = 0; ok && i < 6; i++)
        ok = session_summary_set(s, metrics[i], 0.9 - 0.01 * i) == PD_OK;
    ok = ok && session_losses_write(s, &err) == PD_OK && session_summary_write(s, &err) == PD_OK;
    ok = ok && fuzz_session_zoo(s);
    FILE *f = fopen(session_path(s, "similarity.csv", path, sizeof path), "wb");
    ok = ok && f && fputs(fuzz_session_similarity, f) >= 0;
    ok = f && fclose(f) == 0 && ok;
    f = fopen(session_path(s, "latents.csv", path, sizeof path), "wb");
    ok = ok && f && fputs(fuzz_session_latents, f) >= 0;
    ok = f && fclose(f) == 0 && ok;
    pd_progress_snapshot ps = {.stage = "ae", .unit = "ae", .done = 250, .total = 600, .unit_start = 100,
                               .unit_seconds = 7.5, .stage_seconds = 7.75, .pid = 4242};
    ok = ok && progress_file_write(dir, &ps, &err) == PD_OK;
    session_free(s);
    return ok;
}

/* Read a file of the valid session into memory. */
static int fuzz_session_keep(const char *dir, int i)
{
    char path[PD_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, fuzz_session_files[i]);
    return fuzz_read_whole(path, &fuzz_session_valid[i], &fuzz_session_size[i]);
}

/* The seed inputs: each valid file behind its selector byte. */
static void fuzz_session_seeds(const char *out)
{
    for (int i = 0; i < FUZZ_NFILES; i++) {
        char path[PD_PATH_MAX], name[64];
        snprintf(name, sizeof name, "%s", fuzz_session_files[i]);
        for (char *c = name; *c; c++)
            if (*c == '/' || *c == '.')
                *c = '_';
        snprintf(path, sizeof path, "%s/%s", out, name);
        FILE *f = fopen(path, "wb");
        if (!f)
            continue;
        fputc(i | (i == FUZZ_MODELS_BIN ? 0x80 : 0), f);
        fwrite(fuzz_session_valid[i], 1, fuzz_session_size[i], f);
        fclose(f);
    }
}

/* The session folder (made once), NULL when it cannot be made. */
static const char *fuzz_session_dir(void)
{
    static int ready = -1;
    if (ready >= 0)
        return ready ? fuzz_dir_ : NULL;
    ready = 0;
    atexit(fuzz_session_cleanup);
    /* on tmpfs when there is one: rewriting a file on ext4 flushes it to the disk (auto_da_alloc), some ms an input;
     * fuzz_dir() then keeps this folder, fuzz_session_cleanup removes it */
    snprintf(fuzz_dir_, sizeof fuzz_dir_, "/dev/shm/pdiff-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir_))
        fuzz_dir_[0] = '\0';
    const char *dir = fuzz_dir();
    if (!dir)
        return NULL;
    snprintf(fuzz_session_state, sizeof fuzz_session_state, "%s/state", dir);
    if (!fuzz_session_write(dir))
        return NULL;
    for (int i = 0; i < FUZZ_NFILES; i++)
        if (!fuzz_session_keep(dir, i) || !fuzz_file(fuzz_session_files[i], fuzz_session_valid[i],
                                                     fuzz_session_size[i]))
            return NULL;
    fuzz_session_null = fopen("/dev/null", "w");
    if (!fuzz_session_null)
        return NULL;
    if (getenv("PDIFF_FUZZ_SEEDS"))
        fuzz_session_seeds(getenv("PDIFF_FUZZ_SEEDS"));
    ready = 1;
    return dir;
}

/* Everything a front end would look at in the snapshot. */
static void fuzz_session_use(const pd_results *r)
{
    volatile double sink = 0;
    for (int i = 0; i < r->n_summary; i++)
        sink += r->value[i] + (double)strlen(r->metric[i]);
    for (int i = 0; i < r->n_config; i++)
        sink += (double)strlen(r->key[i]) + (double)strlen(r->config_value[i]);
    for (int64_t i = 0; i < r->n_losses; i++)
        sink += r->loss[i] + r->loss_accuracy[i] + (double)r->loss_step[i] + (double)strlen(r->loss_stage[i]);
    for (int32_t i = 0; r->have_models && i < r->zoo.n; i++)
        sink += r->zoo.accuracy[i] + (double)strlen(r->zoo.kind[i]) + r->zoo.max_iou[i];
    for (int64_t i = 0; r->have_similarity && i < (int64_t)r->sim_rows * r->sim_cols; i++)
        sink += (double)r->sim[i];
    for (int32_t i = 0; r->have_similarity && i < r->sim_rows; i++)
        sink += (double)r->zoo.kind[r->sim_row_ids[i]][0];
    for (int32_t i = 0; r->have_similarity && i < r->sim_cols; i++)
        sink += (double)r->zoo.kind[r->sim_col_ids[i]][0];
    for (int32_t i = 0; r->have_latents && i < r->n_latents; i++)
        sink += r->latent_x[i] + r->latent_y[i] + (double)r->latent_id[i] + (double)strlen(r->latent_kind[i]);
    const char *why = results_problem(r);
    if (why && (!why[0] || strchr(why, '\n')))
        abort(); /* a reason is one line */
    sink += results_summary(r, "pdiff_best") + (results_config(r, "arch") != NULL);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_session_dir();
    if (!dir || size < 1)
        return 0;
    int which = (data[0] & 7) % FUZZ_NFILES, fmt = ((data[0] >> 3) & 3) % 3;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    size--;
    if (which == FUZZ_MODELS_BIN && (data[0] & 0x80) && size >= 4) { /* a valid checksum over what the fuzzer made */
        uLong crc = crc32(0L, copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    const char *path = fuzz_file(fuzz_session_files[which], copy, size);
    free(copy);
    if (path) {
        pd_results *r = NULL;
        pd_error err = {0};
        pd_status st = results_load(&r, dir, &err);
        if ((st == PD_OK) != (r != NULL) || (st != PD_OK && (!err.msg[0] || strchr(err.msg, '\n'))))
            abort(); /* a snapshot, or a one-line reason */
        if (r)
            fuzz_session_use(r);
        results_free(r);
        err = (pd_error){0};
        report_write(dir, (pd_report_format)fmt, fuzz_session_null, &err);
        pd_progress_snapshot ps;
        if (progress_file_read(dir, &ps) && (ps.done > ps.total || ps.unit_start > ps.done || !(ps.unit_seconds >= 0) ||
                                             !(ps.stage_seconds >= 0) || !memchr(ps.stage, 0, sizeof ps.stage) ||
                                             !memchr(ps.unit, 0, sizeof ps.unit)))
            abort(); /* a row the watcher can use as it is, or none */
    }
    fuzz_file(fuzz_session_files[which], fuzz_session_valid[which], fuzz_session_size[which]);
    return 0;
}
