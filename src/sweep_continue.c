/* sweep_continue.c — a sweep run again in its folder continues where it stopped (sweep_run_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "pipeline.h"
#include "sweep_run_internal.h"

/* 1 when the session at sess has every stage of mask marked complete (a missing session has none). */
int sweep_session_has(const char *sess, unsigned mask)
{
    int done[PD_STAGE_COUNT];
    pd_error e = {0};
    if (pipeline_stages_done(sess, done, &e) != PD_OK)
        return 0;
    for (int t = 0; t < PD_STAGE_COUNT; t++)
        if ((mask & (1u << t)) && !done[t])
            return 0;
    return 1;
}

/* A session of this sweep made before a stop must have been run with this sweep's settings for it (threads and
 * device may differ, as in a resume); PD_ERR_CONFIG naming the session and the setting otherwise. */
static pd_status sweep_check_session(const pd_config *base, const sweep_spec *s, int i, int j, const char *dir,
                                     pd_error *err)
{
    pd_config want, had;
    char sess[PD_PATH_MAX], path[PD_PATH_MAX];
    PD_TRY(sweep_config(base, s, i, j, &want, err));
    PD_TRY(sweep_session_dir(dir, s, i, want.seed, sess, sizeof sess, err));
    PD_TRY(path_join(path, sizeof path, sess, "config.csv", err));
    FILE *f = fopen(path, "rb");
    if (!f)
        return PD_OK; /* not started, or seeded and not yet run */
    fclose(f);
    config_defaults(&had);
    PD_TRY(config_load_session_csv(&had, path, err));
    const pd_key_info *k = config_first_change(&had, &want);
    if (!k)
        return PD_OK;
    char was[PD_CONFIG_STR + 32] = "", now[PD_CONFIG_STR + 32] = "";
    config_get(&had, k->name, was, sizeof was, NULL);
    config_get(&want, k->name, now, sizeof now, NULL);
    return error_set(err, PD_ERR_CONFIG, "%s: ran with %s '%.60s', this sweep has '%.60s'; continue the sweep with "
                     "the settings it started with, or pick another --session", sess, k->name, was, now);
}

/* 1 when have (the folder's index) has lines and every one of them is a line of want (this sweep's): the folder
 * holds this sweep, or a part of it that this one extends with more seeds or values. */
static int sweep_index_within(const char *have, size_t nh, const char *want, size_t nw)
{
    if (!have || !want || nh == 0)
        return 0;
    for (size_t at = 0; at < nh;) {
        const char *nl = memchr(have + at, '\n', nh - at);
        size_t len = nl ? (size_t)(nl - (have + at)) : nh - at;
        int found = 0;
        for (size_t w = 0; w < nw && !found;) {
            const char *wl = memchr(want + w, '\n', nw - w);
            size_t wlen = wl ? (size_t)(wl - (want + w)) : nw - w;
            found = wlen == len && memcmp(want + w, have + at, len) == 0;
            w += wlen + 1;
        }
        if (!found)
            return 0;
        at += len + 1;
    }
    return 1;
}

pd_status sweep_continuing(const char *dir, const pd_config *base, sweep_spec *s, pd_error *err)
{
    char path[PD_PATH_MAX];
    PD_TRY(path_join(path, sizeof path, dir, "sweep_index.csv", err));
    FILE *f = fopen(path, "rb");
    if (!f)
        return PD_OK;
    fclose(f);
    char *want = NULL;
    size_t nh, nw = 0;
    char *have = path_read_small(path, &nh);
    FILE *m = open_memstream(&want, &nw);
    pd_csv_writer *w = NULL;
    pd_status st = csvio_create_stream(&w, m, err);
    if (st == PD_OK && (st = sweep_index_rows(w, base, s, err)) == PD_OK)
        st = csvio_commit(w, err);
    else
        csvio_abort(w);
    if (m)
        fclose(m);
    if (st == PD_OK && !sweep_index_within(have, nh, want, nw))
        st = error_set(err, PD_ERR_CONFIG, "%s: the folder holds another sweep (another key, or runs this one does "
                       "not have); continue that one with the command that started it, or pick another --session",
                       path);
    free(have);
    free(want);
    for (int i = 0; i < s->n && st == PD_OK; i++)
        for (int j = 0; j < sweep_seed_count(s) && st == PD_OK; j++)
            st = sweep_check_session(base, s, i, j, dir, err);
    s->cont = st == PD_OK;
    return st;
}
