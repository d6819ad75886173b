/* test_session.c — a session folder's files round trip through the session API and the results snapshot (both go
 * through one reader of losses.csv and summary.csv), the files either accepts or refuses, long paths, and every
 * public free function taking NULL. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ae.h"
#include "backend.h"
#include "config.h"
#include "csvio.h"
#include "dataset.h"
#include "ddpm.h"
#include "evaluate.h"
#include "idx.h"
#include "job.h"
#include "model.h"
#include "pipeline.h"
#include "pool.h"
#include "progress_file.h"
#include "report.h"
#include "results.h"
#include "session.h"
#include "similarity.h"
#include "state.h"
#include "tap.h"
#include "target.h"
#include "unet.h"
#include "zoo.h"

static char workdir[4096];

static void write_raw(const char *path, const char *bytes)
{
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fputs(bytes, fp);
        fclose(fp);
    }
}

/* A fresh session folder under the work folder: name/ without the files of an earlier run. */
static const char *fresh(const char *name)
{
    static char dir[4][4200];
    static int next;
    char *d = dir[next++ % 4];
    snprintf(d, sizeof dir[0], "%s/%s", workdir, name);
    mkdir(d, 0777);
    static const char *const files[] = {"config.csv", "losses.csv", "summary.csv", "similarity.csv", "latents.csv",
                                        "models.csv", "state/models.bin"};
    char p[4400];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        unlink(p);
    }
    return d;
}

static void file_in(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* ------------------------------------------------------------------------------------------ the round trip */

static const struct {
    const char *stage;
    int64_t step;
    double loss, accuracy;
} loss_pts[] = {
    {"task", 0, 2.302585, 0.1}, {"task", 50, 0.61, 0.78}, {"task", 100, 0.25, NAN},
    {"collect", 1, 0.125, 0.9}, {"ae", 200, 1.5e-3, NAN}, {"ddpm", 123456789012LL, -4.75, 1},
};
enum { N_LOSS = sizeof loss_pts / sizeof loss_pts[0] };

static const struct {
    const char *metric;
    double value;
} summary_rows[] = {
    {"task_accuracy", 0.903}, {"pdiff_best", 0.9062}, {"time_task", 12.5},
    {"an_unknown_metric", -7}, {"pdiff_median", NAN}, {"task_accuracy", 0.904}, /* replaces the first value */
};
enum { N_SUMMARY_SET = sizeof summary_rows / sizeof summary_rows[0], N_SUMMARY = N_SUMMARY_SET - 1 };

/* The value summary_rows leaves for metric i of the file (first place, last value). */
static double summary_want(int i)
{
    double v = summary_rows[i].value;
    for (int j = i + 1; j < N_SUMMARY_SET; j++)
        if (strcmp(summary_rows[j].metric, summary_rows[i].metric) == 0)
            v = summary_rows[j].value;
    return v;
}

static pd_status write_session(const char *dir, pd_config *cfg, pd_error *err)
{
    pd_session *s;
    PD_TRY(session_open(&s, dir, 1, err));
    static const char *const ek[2] = {"pdiff_version", "backend"}, *const ev[2] = {"9.9.9", "cpu"};
    char path[PD_PATH_MAX];
    config_defaults(cfg);
    pd_status st = config_write_csv(cfg, session_path(s, "config.csv", path, sizeof path), ek, ev, 2, err);
    for (int i = 0; st == PD_OK && i < N_LOSS; i++)
        st = session_loss_add(s, loss_pts[i].stage, loss_pts[i].step, loss_pts[i].loss, loss_pts[i].accuracy);
    for (int i = 0; st == PD_OK && i < N_SUMMARY_SET; i++)
        st = session_summary_set(s, summary_rows[i].metric, summary_rows[i].value);
    if (st == PD_OK)
        st = session_losses_write(s, err);
    if (st == PD_OK)
        st = session_summary_write(s, err);
    session_free(s);
    return st;
}

static void check_session_values(const pd_session *s)
{
    int ok = session_loss_count(s) == N_LOSS;
    for (int64_t i = 0; ok && i < N_LOSS; i++) {
        const char *stage;
        int64_t step;
        double loss, acc;
        session_loss_at(s, i, &stage, &step, &loss, &acc);
        ok = strcmp(stage, loss_pts[i].stage) == 0 && step == loss_pts[i].step && same(loss, loss_pts[i].loss) &&
             same(acc, loss_pts[i].accuracy);
        if (!ok)
            tap_diag("loss point %lld: %s %lld %.17g %.17g", (long long)i, stage, (long long)step, loss, acc);
    }
    tap_ok(ok, "session: %d loss points read back (stage, step, loss, accuracy; NaN accuracy stays NaN)", N_LOSS);
    ok = session_summary_count(s) == N_SUMMARY;
    for (int i = 0; ok && i < N_SUMMARY; i++) {
        double v;
        const char *m = session_summary_at(s, i, &v);
        ok = strcmp(m, summary_rows[i].metric) == 0 && same(v, summary_want(i));
    }
    double v = 0;
    ok = ok && session_summary_get(s, "an_unknown_metric", &v) == 1 && v == -7;
    ok = ok && session_summary_get(s, "not_there", NULL) == 0;
    tap_ok(ok, "session: %d summary metrics in order (an unknown metric, NaN, a replaced value)", N_SUMMARY);
}

static void check_results_values(const pd_results *r, const pd_config *cfg)
{
    int ok = r->n_losses == N_LOSS;
    for (int64_t i = 0; ok && i < N_LOSS; i++)
        ok = strcmp(r->loss_stage[i], loss_pts[i].stage) == 0 && r->loss_step[i] == loss_pts[i].step &&
             same(r->loss[i], loss_pts[i].loss) && same(r->loss_accuracy[i], loss_pts[i].accuracy);
    tap_ok(ok, "results: the same %d loss points", N_LOSS);
    ok = r->n_summary == N_SUMMARY;
    for (int i = 0; ok && i < N_SUMMARY; i++)
        ok = strcmp(r->metric[i], summary_rows[i].metric) == 0 && same(r->value[i], summary_want(i)) &&
             same(results_summary(r, summary_rows[i].metric), summary_want(i));
    tap_ok(ok && isnan(results_summary(r, "not_there")), "results: the same %d summary metrics", N_SUMMARY);
    ok = r->n_config == config_key_count() + 2;
    for (int i = 0; ok && i < config_key_count(); i++) {
        const char *key = config_key_at(i)->name, *got = results_config(r, key);
        char want[400];
        ok = config_get(cfg, key, want, sizeof want, NULL) == PD_OK && got && strcmp(got, want) == 0;
        if (!ok)
            tap_diag("config %s: got '%s', want '%s'", key, got ? got : "(none)", want);
    }
    ok = ok && strcmp(results_config(r, "pdiff_version"), "9.9.9") == 0 &&
         strcmp(results_config(r, "backend"), "cpu") == 0 && !results_config(r, "not_there");
    tap_ok(ok, "results: every config setting and the recorded rows");
    tap_ok(!r->have_models && !r->have_similarity && !r->have_latents, "results: no models, similarity, latents yet");
}

static void test_round_trip(void)
{
    const char *dir = fresh("roundtrip");
    pd_error err = {0};
    pd_config cfg;
    pd_status st = write_session(dir, &cfg, &err);
    if (!tap_ok(st == PD_OK, "write config, losses and summary through the session API (%s)", err.msg))
        return;
    pd_session *s = NULL;
    st = session_open(&s, dir, 0, &err);
    if (tap_ok(st == PD_OK, "session_open reads the session back (%s)", err.msg))
        check_session_values(s);
    session_free(s);
    /* config_load_csv (the typed reader of config.csv) gets the same settings back */
    pd_config back;
    config_defaults(&back);
    back.seed = 12345;
    char path[4400];
    file_in(path, sizeof path, dir, "config.csv");
    st = config_load_csv(&back, path, 0, &err);
    tap_ok(st == PD_OK && back.seed == cfg.seed, "config_load_csv reads config.csv back (%s)", err.msg);
    pd_results *r = NULL;
    st = results_load(&r, dir, &err);
    if (tap_ok(st == PD_OK, "results_load reads the session (%s)", err.msg)) {
        tap_ok(strcmp(r->dir, dir) == 0, "results: dir is the folder as given");
        check_results_values(r, &cfg);
    }
    results_free(r);
}

/* models.bin (2 originals, 3 p-diff models) without and then with similarity.csv, and latents.csv. */
static void test_models(void)
{
    const char *dir = fresh("models");
    pd_error err = {0};
    pd_config cfg;
    if (!tap_ok(write_session(dir, &cfg, &err) == PD_OK, "models: session written (%s)", err.msg))
        return;
    enum { D = 3, NT = 4 };
    pd_zoo z;
    zoo_init(&z, D, NT);
    static const int32_t labels[NT] = {0, 1, 2, 3};
    static const uint8_t preds[5][NT] = {{0, 1, 2, 0}, {1, 1, 2, 3}, {0, 1, 2, 0}, {1, 0, 2, 0}, {0, 1, 2, 3}};
    static const char *const kinds[5] = {"original", "original", "pdiff", "pdiff", "pdiff"};
    float vec[D] = {1, 2, 3};
    int ok = zoo_set_labels(&z, labels) == PD_OK;
    for (int i = 0; ok && i < 5; i++)
        ok = zoo_add(&z, kinds[i], vec, 0.5 + 0.1 * i, 1.0 / (i + 1), preds[i]) == i;
    char path[4400];
    file_in(path, sizeof path, dir, "state/models.bin");
    ok = ok && zoo_save(&z, path, &err) == PD_OK;
    zoo_free(&z);
    tap_ok(ok, "models: state/models.bin written (%s)", err.msg);
    pd_results *r = NULL;
    pd_status st = results_load(&r, dir, &err);
    ok = st == PD_OK && r->have_models && r->zoo.n == 5 && r->have_similarity && r->sim_rows == 3 &&
         r->sim_cols == 2 && r->sim_row_ids[0] == 2 && r->sim_col_ids[1] == 1;
    /* W(0) = {3}, W(1) = {0}, W(2) = {3}, W(3) = {0,1,3}, W(4) = {} */
    ok = ok && r->sim[0] == 1.0f && r->sim[1] == 0.0f && fabsf(r->sim[2] - 1.0f / 3) < 1e-6f &&
         fabsf(r->sim[3] - 1.0f / 3) < 1e-6f && r->sim[4] == 0.0f && r->sim[5] == 0.0f;
    tap_ok(ok, "results: models.bin loaded, p-diff x original similarity from the predictions (%s)", err.msg);
    results_free(r);
    file_in(path, sizeof path, dir, "similarity.csv");
    write_raw(path, "a,b,iou\n2,0,0.25\n4,1,0.5\n0,1,0.75\n3,1,\n");
    file_in(path, sizeof path, dir, "latents.csv");
    write_raw(path, "id,kind,tsne_x,tsne_y\n0,original,1.5,-2\n2,pdiff,0.25,3\n");
    r = NULL;
    st = results_load(&r, dir, &err);
    ok = st == PD_OK && r->have_similarity && r->sim[0] == 0.25f && isnan(r->sim[1]) && r->sim[5] == 0.5f &&
         isnan(r->sim[2]) && isnan(r->sim[3]) && !results_problem(r);
    tap_ok(ok, "results: similarity.csv read into the matrix, other pairs skipped, an empty IoU is NaN (%s)",
           err.msg);
    ok = st == PD_OK && r->have_latents && r->n_latents == 2 && r->latent_id[1] == 2 &&
         strcmp(r->latent_kind[1], "pdiff") == 0 && r->latent_x[0] == 1.5 && r->latent_y[0] == -2;
    tap_ok(ok, "results: latents.csv read");
    results_free(r);
}

/* A session with models.bin (2 originals, 3 p-diff models) and the CSV files of a finished analysis. */
static const char *models_session(const char *name)
{
    const char *dir = fresh(name);
    pd_error err = {0};
    pd_config cfg;
    enum { D = 3, NT = 4 };
    pd_zoo z;
    zoo_init(&z, D, NT);
    static const int32_t labels[NT] = {0, 1, 2, 3};
    static const uint8_t pred[NT] = {0, 1, 2, 0};
    static const char *const kinds[5] = {"original", "original", "pdiff", "pdiff", "pdiff"};
    float vec[D] = {1, 2, 3};
    int ok = write_session(dir, &cfg, &err) == PD_OK && zoo_set_labels(&z, labels) == PD_OK;
    for (int i = 0; ok && i < 5; i++)
        ok = zoo_add(&z, kinds[i], vec, 0.5, 1.0, pred) == i;
    char path[4400];
    file_in(path, sizeof path, dir, "state/models.bin");
    ok = ok && zoo_save(&z, path, &err) == PD_OK;
    zoo_free(&z);
    file_in(path, sizeof path, dir, "similarity.csv");
    write_raw(path, "a,b,iou\n2,0,0.25\n4,1,0.5\n");
    file_in(path, sizeof path, dir, "latents.csv");
    write_raw(path, "id,kind,tsne_x,tsne_y\n0,original,1.5,-2\n2,pdiff,0.25,3\n");
    return ok ? dir : NULL;
}

/* A damaged similarity.csv or latents.csv: the session opens without that part, whose reason names the file, the
 * line and the column (the TUI read row_of[(int32_t)NaN] for an empty id cell). */
static void expect_part_refused(const char *file, const char *content, const char *want1, const char *want2)
{
    const char *dir = models_session("part");
    if (!tap_ok(dir != NULL, "part: session written"))
        return;
    char path[4400];
    file_in(path, sizeof path, dir, file);
    write_raw(path, content);
    pd_error err = {0};
    pd_results *r = NULL;
    pd_status st = results_load(&r, dir, &err);
    int sim = strcmp(file, "similarity.csv") == 0;
    const char *why = r ? (sim ? r->similarity_error : r->latents_error) : "";
    int ok = st == PD_OK && r->have_models && r->n_summary == N_SUMMARY && r->n_losses == N_LOSS &&
             (sim ? !r->have_similarity && r->sim_rows == 0 && r->have_latents
                  : !r->have_latents && r->n_latents == 0 && r->have_similarity) &&
             results_problem(r) == why && strstr(why, path) && strstr(why, want1) && strstr(why, want2) &&
             !strchr(why, '\n');
    tap_ok(ok, "results: %s %s left out: %s", file, want1, why);
    results_free(r);
}

static void test_parts_refused(void)
{
    expect_part_refused("similarity.csv", "\"a\",\"b\",\"iou\"\n,1,0.5\n", ":2: column 'a'", "not a model id");
    expect_part_refused("similarity.csv", "a,b,iou\n2,nan,0.5\n", ":2: column 'b'", "not a model id");
    expect_part_refused("similarity.csv", "a,b,iou\n2,0,0.5\n1e300,0,0.5\n", ":3: column 'a'", "0 to 4");
    expect_part_refused("similarity.csv", "a,b,iou\n5,0,0.5\n", ":2: column 'a'", "'5'");
    expect_part_refused("similarity.csv", "a,b,iou\n-1,0,0.5\n", ":2: column 'a'", "'-1'");
    expect_part_refused("similarity.csv", "a,b,iou\n2.5,0,0.5\n", ":2: column 'a'", "'2.5'");
    expect_part_refused("similarity.csv", "a,b,iou\n2,0,1.5\n", ":2: column 'iou'", "from 0 to 1");
    expect_part_refused("similarity.csv", "a,b,iou\n2,0,inf\n", ":2: column 'iou'", "from 0 to 1");
    expect_part_refused("similarity.csv", "a,b,iou\n2,0,x\n", ":2: column 'iou'", "not a number");
    expect_part_refused("similarity.csv", "a,b\n2,0\n", "expected columns", "a,b,iou");
    expect_part_refused("similarity.csv", "a,b,iou\n\"2\n\",0,0.5\n", ":2: column 'a'", "'2?'"); /* one line */
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\n,pdiff,1,2\n", ":2: column 'id'", "not a model id");
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\nnan,pdiff,1,2\n", ":2: column 'id'", "'nan'");
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\n1e300,pdiff,1,2\n", ":2: column 'id'", "'1e300'");
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\n7,pdiff,1,2\n", ":2: column 'id'", "0 to 4");
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\n2,pdiff,,2\n", ":2: column 'tsne_x'", "not a finite number");
    expect_part_refused("latents.csv", "id,kind,tsne_x,tsne_y\n2,pdiff,1,1e999\n", ":2: column 'tsne_y'", "not a finite number");
}

/* A damaged state/models.bin: summary, losses, config and latents still open; the models and the similarity
 * (which needs them) are left out and models_error says why. */
static void test_models_damaged(void)
{
    const char *dir = models_session("damaged");
    if (!tap_ok(dir != NULL, "damaged: session written"))
        return;
    char path[4400];
    file_in(path, sizeof path, dir, "state/models.bin");
    FILE *fp = fopen(path, "r+b");
    if (fp) { /* a byte in the middle: the checksum no longer matches */
        fseek(fp, 200, SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, 200, SEEK_SET);
        fputc(c ^ 0xff, fp);
        fclose(fp);
    }
    pd_error err = {0};
    pd_results *r = NULL;
    pd_status st = results_load(&r, dir, &err);
    int ok = st == PD_OK && !r->have_models && r->zoo.n == 0 && !r->have_similarity && r->have_latents &&
             r->n_latents == 2 && r->n_summary == N_SUMMARY && r->n_losses == N_LOSS &&
             results_config(r, "arch") != NULL && strstr(r->models_error, path) &&
             results_problem(r) == r->models_error && !r->similarity_error[0] && !r->latents_error[0];
    tap_ok(ok, "results: a damaged models.bin leaves out the models, the rest opens: %s (%s)",
           r ? r->models_error : "", err.msg);
    results_free(r);
    file_in(path, sizeof path, dir, "latents.csv");
    write_raw(path, "id,kind,tsne_x,tsne_y\n0,original,1.5,-2\n2000000000,pdiff,0.25,3\n");
    r = NULL;
    st = results_load(&r, dir, &err);
    tap_ok(st == PD_OK && r->have_latents && r->latent_id[1] == 2000000000,
           "results: without models.bin, latents.csv's ids are whole numbers of any size");
    results_free(r);
}

/* ------------------------------------------------------------------------------------------ edge cases */

static void test_empty(void)
{
    const char *dir = fresh("empty");
    pd_error err = {0};
    pd_session *s = NULL;
    pd_status st = session_open(&s, dir, 1, &err);
    if (st == PD_OK)
        st = session_losses_write(s, &err);
    session_free(s);
    char path[4400];
    file_in(path, sizeof path, dir, "config.csv");
    write_raw(path, "key,value\narch,mlp\n");
    s = NULL;
    st = st == PD_OK ? session_open(&s, dir, 0, &err) : st;
    tap_ok(st == PD_OK && session_loss_count(s) == 0 && session_summary_count(s) == 0,
           "session: an empty losses.csv (header only) and no summary.csv read as empty tables (%s)", err.msg);
    session_free(s);
    pd_results *r = NULL;
    st = results_load(&r, dir, &err);
    tap_ok(st == PD_OK && r->n_losses == 0 && r->n_summary == 0 && r->n_config == 1 &&
               strcmp(results_config(r, "arch"), "mlp") == 0 && isnan(results_summary(r, "task_accuracy")),
           "results: the same empty session (%s)", err.msg);
    results_free(r);
    st = results_load(&r, workdir, &err);
    tap_ok(st == PD_ERR_IO && !r && strstr(err.msg, "no config.csv"), "results: a folder without config.csv: %s",
           err.msg);
    st = session_open(&s, "/nonexistent/pdiff-session", 0, &err);
    tap_ok(st == PD_ERR_IO && !s && strstr(err.msg, "no such session folder"), "session: a missing folder: %s",
           err.msg);
}

/* Files that pdiff did not write but both readers accepted: columns in another order, no accuracy column, extra
 * columns, empty cells. */
static void test_accepted(void)
{
    const char *dir = fresh("accepted");
    char path[4400];
    file_in(path, sizeof path, dir, "config.csv");
    write_raw(path, "key,value\narch,mlp\n");
    file_in(path, sizeof path, dir, "losses.csv");
    write_raw(path, "loss,note,step,stage\n0.5,x,10,task\n,y,20,ae\n");
    file_in(path, sizeof path, dir, "summary.csv");
    write_raw(path, "value,metric\n0.75,custom\n,empty\n");
    pd_error err = {0};
    pd_session *s = NULL;
    pd_status st = session_open(&s, dir, 0, &err);
    int ok = st == PD_OK && session_loss_count(s) == 2 && session_summary_count(s) == 2;
    if (ok) {
        const char *stage;
        int64_t step;
        double loss, acc, v;
        session_loss_at(s, 1, &stage, &step, &loss, &acc);
        ok = strcmp(stage, "ae") == 0 && step == 20 && isnan(loss) && isnan(acc);
        ok = ok && session_summary_get(s, "custom", &v) && v == 0.75 && session_summary_get(s, "empty", &v) &&
             isnan(v);
    }
    tap_ok(ok, "session: reordered and extra columns, no accuracy column, empty cells (%s)", err.msg);
    session_free(s);
    pd_results *r = NULL;
    st = results_load(&r, dir, &err);
    ok = st == PD_OK && r->n_losses == 2 && r->loss_step[0] == 10 && r->loss[0] == 0.5 &&
         isnan(r->loss_accuracy[0]) && r->n_summary == 2 && results_summary(r, "custom") == 0.75;
    tap_ok(ok, "results: the same file (%s)", err.msg);
    results_free(r);
}

/* A damaged file: session_open and results_load both refuse it with the same one-line message. */
static void expect_refused(const char *name, const char *file, const char *content, const char *want1,
                           const char *want2)
{
    const char *dir = fresh(name);
    char path[4400];
    file_in(path, sizeof path, dir, "config.csv");
    write_raw(path, "key,value\narch,mlp\n");
    file_in(path, sizeof path, dir, file);
    write_raw(path, content);
    pd_error err = {0}, rerr = {0};
    pd_session *s = NULL;
    pd_status st = session_open(&s, dir, 0, &err);
    int ok = st == PD_ERR_FORMAT && !s && strstr(err.msg, path) && strstr(err.msg, want1) &&
             strstr(err.msg, want2) && !strchr(err.msg, '\n');
    tap_ok(ok, "session: %s refused: %s", file, err.msg);
    session_free(s);
    pd_results *r = NULL;
    st = results_load(&r, dir, &rerr);
    tap_ok(st == PD_ERR_FORMAT && !r && strcmp(rerr.msg, err.msg) == 0, "results: the same message");
}

static void test_refused(void)
{
    expect_refused("bad_step", "losses.csv", "stage,step,loss,accuracy\ntask,1,0.5,0.1\ntask,abc,0.5,0.2\n",
                   ":3: column 'step'", "not a number");
    expect_refused("frac_step", "losses.csv", "stage,step,loss,accuracy\ntask,1.5,0.5,0.1\n", ":2: column 'step'",
                   "not a whole number");
    expect_refused("empty_step", "losses.csv", "stage,step,loss,accuracy\ntask,,0.5,0.1\n", ":2: column 'step'",
                   "not a whole number");
    expect_refused("bad_loss", "losses.csv", "stage,step,loss,accuracy\ntask,1,0.5x,0.1\n", "column 'loss'",
                   "not a number");
    expect_refused("no_loss", "losses.csv", "stage,step,accuracy\ntask,1,0.1\n", "no 'loss' column",
                   "stage,step,loss[,accuracy]");
    expect_refused("ragged_losses", "losses.csv", "stage,step,loss,accuracy\ntask,1,0.5\n", ":2:", "fields");
    expect_refused("bad_value", "summary.csv", "metric,value\ntask_accuracy,0.9\npdiff_best,high\n",
                   ":3: column 'value'", "not a number");
    expect_refused("no_metric", "summary.csv", "name,value\ntask_accuracy,0.9\n", "no 'metric' column",
                   "metric,value");
}

/* ------------------------------------------------------------------------------------------ progress.csv */

/* progress.csv round trips; a row the watcher could not use as it is reads as none. */
static void test_progress_file(void)
{
    const char *dir = fresh("progress");
    char path[4400];
    snprintf(path, sizeof path, "%s/progress.csv", dir);
    unlink(path);
    pd_progress_snapshot in = {.stage = "generate", .unit = "evaluate", .done = 37, .total = 110, .unit_start = 5,
                               .unit_seconds = 4.25, .stage_seconds = 19.5, .pid = 31337},
                         out;
    tap_ok(!progress_file_read(dir, &out) && out.total == 0 && out.stage[0] == '\0',
           "progress.csv: none when the file is missing");
    pd_error err = {0};
    tap_ok(progress_file_write(dir, &in, &err) == PD_OK && progress_file_read(dir, &out) &&
               strcmp(out.stage, "generate") == 0 && strcmp(out.unit, "evaluate") == 0 && out.done == 37 &&
               out.total == 110 && out.unit_start == 5 && out.unit_seconds == 4.25 && out.stage_seconds == 19.5 &&
               out.pid == 31337,
           "progress.csv: written and read back (%s)", err.msg);
    tap_ok(progress_file_read_of(dir, 31337, &out) && out.done == 37 && !progress_file_read_of(dir, 31338, &out) &&
               out.total == 0,
           "progress.csv: read as the writer's only with the writer's pid");
    tap_ok(fabs(progress_file_seconds_left(&in) - 73.0 * 4.25 / 32.0) < 1e-12,
           "progress.csv: time left = (total - done) * unit_seconds / (done - unit_start)");
    pd_progress_snapshot fresh_unit = in;
    fresh_unit.unit_start = fresh_unit.done;
    tap_ok(isnan(progress_file_seconds_left(&fresh_unit)), "... unknown before the unit has done anything");
    static const char *const head = "stage,unit,done,total,unit_start,unit_seconds,stage_seconds,pid\n";
    static const struct {
        const char *row, *why;
    } bad[] = {
        {"ae,ae,601,600,0,1,1,7\n", "done over total"},
        {"ae,ae,10,600,11,1,1,7\n", "unit_start over done"},
        {"ae,ae,-1,600,0,1,1,7\n", "a negative count"},
        {"ae,ae,1.5,600,0,1,1,7\n", "a fractional count"},
        {"ae,ae,10,600,0,-1,1,7\n", "negative seconds"},
        {"ae,ae,10,600,0,nan,1,7\n", "seconds not a number"},
        {"ae,ae,10,600,0,1,,7\n", "empty seconds"},
        {"a-stage-name-too-long,ae,10,600,0,1,1,7\n", "a stage name longer than 15 characters"},
        {"ae,ae,10,600,0,1,1,7\nae,ae,11,600,0,1,1,7\n", "two rows"},
        {"", "no row"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s", head, bad[i].row);
        write_raw(path, text);
        tap_ok(!progress_file_read(dir, &out) && out.total == 0, "progress.csv with %s reads as none", bad[i].why);
    }
    write_raw(path, "stage,unit,done,total,unit_seconds,stage_seconds,pid\nae,ae,10,600,1,1,7\n");
    tap_ok(!progress_file_read(dir, &out), "progress.csv without its unit_start column reads as none");
    write_raw(path, "pid,stage_seconds,unit_seconds,unit_start,total,done,unit,stage,extra\n7,2,1,3,600,10,ae,ae,x\n");
    tap_ok(progress_file_read(dir, &out) && out.done == 10 && out.unit_start == 3 && out.stage_seconds == 2,
           "progress.csv: columns found by name, in any order, others ignored");
    unlink(path);
}

/* ------------------------------------------------------------------------------------------ paths */

static void test_paths(void)
{
    const char *dir = fresh("paths");
    char slashed[4400], buf[PD_PATH_MAX], want[4400];
    snprintf(slashed, sizeof slashed, "%s//", dir);
    pd_error err = {0};
    pd_session *s = NULL;
    pd_status st = session_open(&s, slashed, 1, &err);
    if (!tap_ok(st == PD_OK, "session_open with trailing slashes (%s)", err.msg))
        return;
    tap_ok(strcmp(session_dir(s), dir) == 0, "session_dir drops the trailing slashes");
    snprintf(want, sizeof want, "%s/models.csv", dir);
    tap_ok(strcmp(session_path(s, "models.csv", buf, sizeof buf), want) == 0, "session_path: %s", buf);
    snprintf(want, sizeof want, "%s/state/task.bin", dir);
    tap_ok(strcmp(session_state_path(s, "task", buf, sizeof buf), want) == 0, "session_state_path: %s", buf);
    tap_ok(!session_file_exists(s, "config.csv") && !session_exists(dir), "no config.csv yet");
    snprintf(want, sizeof want, "%s/config.csv", dir);
    write_raw(want, "key,value\n");
    tap_ok(session_file_exists(s, "config.csv") && session_exists(dir) && session_exists(slashed),
           "session_file_exists / session_exists see config.csv");
    session_free(s);

    /* a folder name that leaves no room for "/state/NAME.bin" */
    static char longdir[PD_PATH_MAX + 200];
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[PD_PATH_MAX - SESSION_PATH_ROOM] = '\0';
    s = NULL;
    st = session_open(&s, longdir, 1, &err);
    tap_ok(st == PD_ERR_IO && !s && strstr(err.msg, "too long") && strlen(err.msg) < 300,
           "session_open refuses a folder path without room for its files: %.40s...%s", err.msg,
           strstr(err.msg, ":") ? strstr(err.msg, ":") : "");
    longdir[PD_PATH_MAX - SESSION_PATH_ROOM] = 'a';
    pd_results *r = NULL;
    st = results_load(&r, longdir, &err);
    tap_ok(st == PD_ERR_IO && !r && strstr(err.msg, "too long"), "results_load refuses a path too long%s",
           strstr(err.msg, ":") ? strstr(err.msg, ":") : "");
    tap_ok(!session_exists(longdir), "session_exists: a path too long is no session");
}

/* ------------------------------------------------------------------------------------------ free(NULL) */

static void test_free_null(void)
{
    session_free(NULL);
    results_free(NULL);
    ae_free(NULL);
    backend_destroy(NULL);
    csvio_free(NULL);
    csvio_abort(NULL);
    dataset_free(NULL);
    ddpm_schedule_free(NULL);
    ddpm_trainer_free(NULL);
    evaluator_free(NULL);
    idx_free(NULL);
    job_free(NULL);
    model_free(NULL);
    pipeline_free(NULL);
    pool_free(NULL);
    report_table_free(NULL);
    similarity_free(NULL);
    state_writer_free(NULL);
    state_free(NULL);
    target_free(NULL);
    unet_free(NULL);
    zoo_free(NULL);
    error_clear(NULL);
    tap_ok(1, "every public free/destroy function takes NULL");
}

int main(void)
{
    snprintf(workdir, sizeof workdir, "%s", tap_workdir("session"));
    test_round_trip();
    test_models();
    test_parts_refused();
    test_models_damaged();
    test_empty();
    test_accepted();
    test_refused();
    test_progress_file();
    test_paths();
    test_free_null();
    return tap_done();
}
