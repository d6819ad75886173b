/* config_csv.c — settings files: reading a --config file or a session's config.csv, writing config.csv, and what a
 * resume may change (see config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "csvio.h"

/* ------------------------------------------------------------------------------------------ config.csv */

static long long cfg_newlines(const char *s)
{
    long long n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The rows pipeline_write_config records after the settings (what ran: versions, resolved values). A session's
 * config.csv is a valid --config file: these rows are facts about that run, never settings, and are skipped. */
static const char *const config_record_keys[] = {
    "pdiff_version", "blas",         "libcsv_version", "zlib_version",   "backend",  "threads_used",
    "data_path",     "classes",      "train_images",   "test_images",    "target_tensors", "target_d",
};

int config_is_record_key(const char *key)
{
    for (size_t i = 0; i < sizeof config_record_keys / sizeof config_record_keys[0]; i++)
        if (strcmp(key, config_record_keys[i]) == 0)
            return 1;
    return 0;
}

/* The file itself, before it is parsed: a regular file of at most CONFIG_FILE_MAX bytes, no NUL byte (libcsv would
 * pass it on and the value would end there). A file that cannot be opened is left to csvio_read to report. */
static pd_status cfg_check_file(const char *path, pd_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return PD_OK;
    if (!S_ISREG(st.st_mode)) /* not opened: a FIFO would block, a device (/dev/zero) never end */
        return error_set(err, PD_ERR_CONFIG, "%s: not a regular file (settings come from a CSV text file)", path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return PD_OK;
    pd_status s = PD_OK;
    char *buf = NULL;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        s = error_set(err, PD_ERR_CONFIG, "%s: not a regular file (settings come from a CSV text file)", path);
    else if (st.st_size > CONFIG_FILE_MAX)
        s = error_set(err, PD_ERR_CONFIG, "%s: too large for a settings file (%lld bytes, at most %d)", path,
                      (long long)st.st_size, CONFIG_FILE_MAX);
    else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        s = error_set(err, PD_ERR_NOMEM, "%s: out of memory", path);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size + 1, fp) : 0; /* one more: a file that grew is seen */
    const char *nul = buf ? memchr(buf, '\0', n) : NULL;
    if (s == PD_OK && n > CONFIG_FILE_MAX)
        s = error_set(err, PD_ERR_CONFIG, "%s: too large for a settings file (over %d bytes)", path, CONFIG_FILE_MAX);
    else if (s == PD_OK && nul) {
        long long line = 1;
        for (const char *q = buf; q < nul; q++)
            line += *q == '\n';
        s = error_set(err, PD_ERR_CONFIG, "%s:%lld: a NUL byte (a settings file is text)", path, line);
    }
    free(buf);
    fclose(fp);
    return s;
}

/* Apply the rows of t to work: the preset row first wherever it stands (it resets everything). seen (NULL: not
 * wanted) gets a 1 for each setting that has a row. */
static pd_status cfg_apply_rows(pd_config *work, const pd_csv_table *t, const char *path, int skip_unknown,
                                unsigned char *seen, pd_error *err)
{
    /* Line numbers count the newlines inside quoted cells; they are exact unless the file has blank lines (libcsv
     * skips them). */
    for (int pass = 0; pass < 2; pass++) {
        long long line = 2 + cfg_newlines(t->header[0]) + cfg_newlines(t->header[1]), next = line;
        for (int64_t r = 0; r < t->rows; r++, line = next) {
            const char *key = csvio_cell(t, r, 0), *value = csvio_cell(t, r, 1);
            int is_preset = strcmp(key, "preset") == 0;
            next = line + 1 + cfg_newlines(key) + cfg_newlines(value);
            if (is_preset != (pass == 0))
                continue;
            const cfg_key *k = cfg_find(strcmp(key, "standardize") == 0 ? "normalize" : key);
            if (!k) {
                if (skip_unknown || config_is_record_key(key))
                    continue;
                return error_set(err, PD_ERR_CONFIG, "%s:%lld: %.64s%s: unknown key (see pdiff --help for the list)",
                                 path, line, key, strlen(key) > 64 ? "..." : "");
            }
            if (seen)
                seen[k - config_keys] = 1;
            /* undo the formula neutralisation csvio applied when writing ("'-x" -> "-x") */
            if (value[0] == '\'' && value[1] && strchr("=+-@\t\r", value[1]))
                value++;
            pd_status st = config_set(work, key, value, err);
            if (st != PD_OK) {
                error_prefix(err, "%s:%lld", path, line);
                return st;
            }
        }
    }
    return PD_OK;
}

static pd_status cfg_load(pd_config *c, const char *path, int skip_unknown, unsigned char *seen, pd_error *err)
{
    pd_csv_table t;
    PD_TRY(cfg_check_file(path, err));
    PD_TRY(csvio_read(path, &t, err));
    pd_config work = *c;
    pd_status s;
    if (t.cols != 2 || strcmp(t.header[0], "key") != 0 || strcmp(t.header[1], "value") != 0)
        s = error_set(err, PD_ERR_CONFIG, "%s:1: header must be 'key,value', got '%.64s%s%.64s'", path, t.header[0],
                      t.cols > 1 ? "," : "", t.cols > 1 ? t.header[1] : "");
    else
        s = cfg_apply_rows(&work, &t, path, skip_unknown, seen, err);
    csvio_free(&t);
    if (s == PD_OK)
        *c = work;
    return s;
}

pd_status config_load_csv(pd_config *c, const char *path, int skip_unknown, pd_error *err)
{
    return cfg_load(c, path, skip_unknown, NULL, err);
}

/* Settings added after sessions had been written: an older session's config.csv has no row for them, and it ran
 * with what is now their default (a preset row in that file must not change them). */
static const char *const cfg_added_keys[] = {"lr_milestones", "lr_gamma", "augment",   "k_span",   "collect_mode",
                                             "collect_runs",  "ddpm_ema", "best_of_n", "gen_seed", "init",
                                             "checkpoints"};

static int cfg_is_added(const char *key)
{
    for (size_t i = 0; i < sizeof cfg_added_keys / sizeof cfg_added_keys[0]; i++)
        if (strcmp(key, cfg_added_keys[i]) == 0)
            return 1;
    return 0;
}

pd_status config_load_session_csv(pd_config *c, const char *path, pd_error *err)
{
    unsigned char seen[CFG_NKEYS];
    memset(seen, 0, sizeof seen);
    pd_config work = *c;
    PD_TRY(cfg_load(&work, path, 1, seen, err));
    for (int i = 0; i < CFG_NKEYS; i++)
        if (!seen[i] && cfg_is_added(config_keys[i].info.name)) {
            cfg_value v;
            PD_ASSERT(cfg_check(&config_keys[i], config_keys[i].def, &v, NULL) == PD_OK);
            cfg_store(&work, &config_keys[i], &v);
        } else if (!seen[i])
            return error_set(err, PD_ERR_CONFIG, "%s: no row for the setting '%s' (a session's config.csv lists every "
                             "setting; restore the row, the session cannot continue without it)",
                             path, config_keys[i].info.name);
    *c = work;
    return PD_OK;
}

const pd_key_info *config_first_change(const pd_config *a, const pd_config *b)
{
    for (int i = 0; i < CFG_NKEYS; i++) {
        const cfg_key *k = &config_keys[i];
        char x[PD_CONFIG_STR + 32], y[PD_CONFIG_STR + 32];
        if (k->info.run_only)
            continue;
        if (!cfg_format(a, k, x, sizeof x) || !cfg_format(b, k, y, sizeof y) || strcmp(x, y) != 0)
            return &k->info;
    }
    return NULL;
}

pd_status config_write_csv(const pd_config *c, const char *path, const char *const *extra_keys,
                           const char *const *extra_values, int n_extra, pd_error *err)
{
    pd_csv_writer *w;
    PD_TRY(csvio_create(&w, path, err));
    csvio_text(w, "key");
    csvio_text(w, "value");
    csvio_endrow(w);
    for (int i = 0; i < CFG_NKEYS; i++) {
        char buf[PD_CONFIG_STR + 32];
        if (!cfg_format(c, &config_keys[i], buf, sizeof buf)) {
            csvio_abort(w);
            return error_set(err, PD_ERR_INTERNAL, "%s: value too long", config_keys[i].info.name);
        }
        csvio_text(w, config_keys[i].info.name);
        csvio_text(w, buf);
        csvio_endrow(w);
    }
    for (int i = 0; i < n_extra; i++) {
        csvio_text(w, extra_keys && extra_keys[i] ? extra_keys[i] : "");
        csvio_text(w, extra_values && extra_values[i] ? extra_values[i] : "");
        csvio_endrow(w);
    }
    return csvio_commit(w, err);
}
