/* sweep.h — ablations: one session per value of a key, sharing work, and a combined table (`pdiff sweep`).
 *
 * sweep_run(base, "latent_noise=0,0.1", dir, ...) makes dir/latent_noise-0 and dir/latent_noise-0.1, each a
 * complete session with the base configuration and that one value. Values are separated by ',' — or by ';'
 * when a value itself is a comma list ("target=bn3;bn2,bn3"). Stages that the key does not affect are run once
 * and shared: the first session runs everything, the others start from a copy of its earlier stages
 * (pipeline_seed_session). For k the largest value runs first and the others take the first k of its
 * checkpoints — collection is deterministic, so that is exactly what collecting k would give.
 * The combined table (per value: original best, p-diff best / mean / median, novelty) is written to
 * dir/sweep.csv (tidy) and dir/sweep.tex, and sweep_report prints it in any format; dir/sweep_index.csv lists
 * key, value, session.
 */
#ifndef PD_SWEEP_H
#define PD_SWEEP_H

#include <stdio.h>

#include "config.h"
#include "error.h"
#include "pipeline.h"
#include "progress.h"
#include "report.h"

/* The first stage whose result depends on key (PD_STAGE_TRAIN for keys that change everything). */
pd_stage sweep_first_stage(const char *key);
pd_status sweep_run(const pd_config *base, const char *spec, const char *dir, const pd_callbacks *cb,
                    pd_error *err);
/* Print the combined table of the sweep in dir. */
pd_status sweep_report(const char *dir, pd_report_format f, FILE *out, pd_error *err);

#endif
