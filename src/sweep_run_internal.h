/* sweep_run_internal.h — shared by the files that run a sweep (sweep.h): sweep.c runs it, sweep_continue.c decides
 * whether a folder holds a stopped run of it; private to them. */
#ifndef PD_SWEEP_RUN_INTERNAL_H
#define PD_SWEEP_RUN_INTERNAL_H

#include "config.h"
#include "csvio.h"
#include "error.h"

#define SWEEP_MAX_VALUES 64

typedef struct {
    char key[64];
    int n;
    int n_seeds; /* as given: 0 = one run per value at the configured seed, folders KEY-VALUE */
    char values[SWEEP_MAX_VALUES][PD_CONFIG_STR];
    int cont; /* continuing a stopped sweep in its folder: complete runs are skipped, the others resume */
} sweep_spec;

int sweep_seed_count(const sweep_spec *s);
/* The configuration of value i, seed number j (seed = the base seed + j when --seeds is given). */
pd_status sweep_config(const pd_config *base, const sweep_spec *s, int i, int j, pd_config *cfg, pd_error *err);
/* The folder of value i at seed `seed` under dir. */
pd_status sweep_session_dir(const char *dir, const sweep_spec *s, int i, uint64_t seed, char *out, size_t size,
                            pd_error *err);
/* sweep_index.csv's rows (with its header) into w. */
pd_status sweep_index_rows(pd_csv_writer *w, const pd_config *base, const sweep_spec *s, pd_error *err);
/* 1 when the session at sess has every stage of mask marked complete (a missing session has none). */
int sweep_session_has(const char *sess, unsigned mask);
/* Run again in a folder that holds this sweep's sweep_index.csv, or the index of a part of it (fewer seeds or
 * values: this one extends it), a sweep continues where it stopped: s->cont becomes 1. With no index it is a new
 * sweep. Another sweep's index, or a session made with other settings (threads and device may differ), is refused
 * (PD_ERR_CONFIG naming the file or session) before anything is written. */
pd_status sweep_continuing(const char *dir, const pd_config *base, sweep_spec *s, pd_error *err);

#endif
