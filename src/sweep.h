/* sweep.h — ablations and repeats: one session per value of a key (and per seed), sharing work, and combined
 * tables with 95 % confidence intervals (`pdiff sweep`).
 *
 * sweep_run(base, "latent_noise=0,0.1", 0, dir, ...) makes dir/latent_noise-0 and dir/latent_noise-0.1, each a
 * complete session with the base configuration and that one value. Values are separated by ',' — or by ';'
 * when a value itself is a comma list ("target=bn3;bn2,bn3").
 *
 * Seeds. With n_seeds = N >= 1 (`--seeds N`) every value is run with the seeds base, base + 1, ..., base + N - 1
 * (base = the configured seed); with N > 1 the sessions are dir/KEY-VALUE-seed-S (with N = 1 or n_seeds = 0,
 * dir/KEY-VALUE as before). A sweep over the key seed itself ("seed=1,2,3": dir/seed-1, ...) is one group of
 * runs; --seeds is refused on it (PD_ERR_USAGE).
 *
 * Sharing. Stages that the key does not affect (sweep_first_stage) are run once per seed: for each seed the first
 * value runs everything, the others start from a copy of its earlier stages (pipeline_seed_session) and run the
 * rest. Every session stands alone: it can be reported and resumed on its own. For k, when k_span = 0 and
 * collect_mode = trajectory, the largest k runs first and the others take the first k of its checkpoints
 * (collection is deterministic, so that is exactly what collecting k would give); otherwise k changes the
 * collection and only the train stage is shared.
 *
 * Files. dir/sweep_index.csv lists key,value,seed,session, one row per run (an index without the seed column,
 * from an older sweep, still reports: each row is then one run of its value). The combined tables are written to
 * dir/sweep.csv and dir/sweep.tex, and sweep_report prints them in any format:
 *   - every metric of the sessions' summary.csv, read generically and split into kind and metric
 *     ("noise_0.1_max_iou_mean" -> kind noise_0.1, metric max_iou_mean; a kind is a known one or any prefix P
 *     with a P_best metric; metrics of no kind, such as novelty, have an empty kind); seconds_* and *_parameters
 *     go into a second, small table (cost);
 *   - text and LaTeX: one row per (kind, metric), one column per value: "89.84 ± 0.12" — the mean over the
 *     value's seeds ± the half-width of the 95 % confidence interval (Student t, n - 1 degrees of freedom;
 *     stats.h) — or the plain value when a value has one run, "-" when it has none. Accuracies (best, mean,
 *     median, accuracy, best_of_n) in percent. A sweep over seed shows one column per seed and a last one with
 *     the mean ± interval over them. LaTeX is booktabs, cells $89.84 \pm 0.12$, text escaped.
 *   - CSV (tidy; accuracies as fractions): header table,key,value,seed,kind,metric,n,mean,sd,ci95 where table is
 *     "sweep" or "sweep_cost" ("paired": below). Per run and metric one row with seed = the run's seed and n = 1
 *     (0 when the run has no finite value), mean = the value, sd and ci95 empty; per value and metric one row over
 *     its runs with seed empty, n = the runs with a finite value, mean, sd (sample) and ci95 (half-width), empty
 *     when n < 2. For a sweep over seed the rows over all runs have value "all".
 *   - the paired table (sweep_paired.c), when a value has at least 2 runs (--seeds N >= 2, or a sweep over seed):
 *     differences within each seed, whose spread leaves out the seed-to-seed spread of the task model. Rows
 *     "KIND-original": for every kind but original and task, and for the main metrics mean ("mean" falls back to
 *     "accuracy", the single-model ensemble's), best_of_n, novelty, pair_iou_mean and max_iou_mean, the kind's
 *     value minus the originals' in the same run; with 2 values or more, rows "pdiff-pdiff@FIRST": p-diff's value
 *     at a value minus at the first value in the run of the same seed (none for a seed the first value lacks).
 *     Rows with no finite difference are left out. Text and LaTeX as above, between the metrics and the cost
 *     tables (accuracies in points; the first value's cell of a pdiff-pdiff@FIRST row is "-"; a sweep over seed:
 *     each run's difference and the mean ± interval). CSV rows with table "paired", after the others, in the
 *     same layout: per run seed = its seed, n = 1, mean = the difference; per value seed empty, n = the seeds
 *     with a difference, mean, sd, ci95 (value "all" for a sweep over seed); kind "KIND-original", or
 *     "pdiff@VALUE-pdiff@FIRST" (0.1 against 0: "pdiff@0.1-pdiff@0"); metric "mean" also for the ensemble.
 *     tools/paired_diff.awk computes the same from the "sweep" rows (tests/sweep.sh compares them).
 */
#ifndef PD_SWEEP_H
#define PD_SWEEP_H

#include <stdio.h>

#include "config.h"
#include "error.h"
#include "pipeline.h"
#include "plan.h"
#include "progress.h"
#include "report.h"

#define SWEEP_MAX_SEEDS 32

/* The first stage whose result depends on key (PD_STAGE_TRAIN for keys that change everything). */
pd_stage sweep_first_stage(const char *key);
/* The checks sweep_run makes before it runs anything (the spec, --seeds, every run's settings). */
pd_status sweep_validate(const pd_config *base, const char *spec, int n_seeds, pd_error *err);
/* The plan of a sweep before it runs (`pdiff sweep --dry-run`): per run its session name, the stage it starts at
 * (the others of a seed take the stages before from the first value), the evaluations it takes from the first
 * value instead of redoing them, and its estimated time: its plan (plan.h, measured once per value when measure !=
 * 0) over the stages it runs, less the reused evaluations. The total adds the runs one after the other, an upper
 * bound when the values train side by side or run under mpirun; separate_seconds adds their whole plans, what the
 * same runs would take as separate `pdiff run`s. */
typedef struct {
    char session[PD_CONFIG_STR + 96]; /* the folder's name in the sweep's */
    pd_stage from;                    /* the first stage it runs itself */
    int32_t reused_generate;          /* models of generate (of pl.eval_generate) whose evaluations it takes */
    int32_t reused_analyze;           /* models of analyze (of pl.eval_analyze) whose evaluations it takes */
    int32_t evaluated;                /* models it evaluates itself (in the stages it runs) */
    double seconds;                   /* its estimate (0 when not measured) */
    int64_t bytes;                    /* the largest of the stages it runs */
    const pd_plan *pl;                /* its value's plan (owned by the sweep_dry) */
} sweep_dry_run;

typedef struct {
    char key[64];
    int values, seeds, n;             /* n = values x seeds runs, in the order they run */
    pd_stage shared_upto;             /* the stages before it are the first value's (PD_STAGE_TRAIN: none) */
    sweep_dry_run *runs;
    pd_plan *plans;                   /* [values] */
    int plans_computed;               /* how many were computed (1 for a key that changes no unit of work) */
    double total_seconds, measure_seconds;
    double separate_seconds;          /* the same runs as separate `pdiff run`s: every stage, nothing reused */
    int64_t peak_bytes;
} sweep_dry;

/* Fill *d for the sweep spec over base (as sweep_run would run it); sweep_dry_free releases it, also after a
 * failure. */
pd_status sweep_dry_compute(sweep_dry *d, const pd_config *base, const char *spec, int n_seeds, int measure,
                            pd_error *err);
void sweep_dry_free(sweep_dry *d);

/* In one process on the CPU with 2 threads or more, the values of a seed train the stages they do not share (up to
 * the DDPM) side by side, up to 8 at a time, the threads split between them, then generate and analyze one after
 * the other (sweep.c).
 * In a job of several ranks (comm.h) every rank calls sweep_run: the runs are spread over min(ranks, runs) groups
 * of contiguous ranks, each group's first rank running its runs while the group's other ranks evaluate for it. With
 * sharing, the first value of each seed runs its shared stages first (one group per seed) and its leader copies them
 * into the seed's other sessions; then every run's remaining stages are spread over the groups. With a shared
 * collection the groups are formed anew for three phases, so that the others can reuse the first value's
 * evaluations (state/reuse.bin): every run's own stages before generate, the first values' remaining stages, the
 * others' remaining stages. Rank 0 writes the index and the tables. Each session equals a one-process sweep's.
 * A rank's failure is returned on that rank only: the program ends the job.
 * n_seeds: 0 = not given (one run per value at the configured seed), else 1..SWEEP_MAX_SEEDS. */
pd_status sweep_run(const pd_config *base, const char *spec, int n_seeds, const char *dir, const pd_callbacks *cb,
                    pd_error *err);
/* Run again with the same folder, a sweep continues where it stopped (a Ctrl-C, a kill, a job's time limit): the
 * runs that finished are skipped, the others resume from their last saved step, the shared stages are not redone
 * and the sessions already seeded keep what they trained since. sweep_run does so when dir holds this sweep's
 * sweep_index.csv (the same key, values and seeds), or one whose every row this sweep has: a sweep extended with
 * more seeds (--seeds 3 after --seeds 2) or more values runs only the runs it adds. sweep_check_dir says beforehand whether sweep_run will start,
 * continue or refuse dir, writing nothing: PD_ERR_CONFIG naming the file when dir holds another sweep's index,
 * or naming the session and the setting when a session there ran with other settings (threads and device may
 * differ); *continuing (may be NULL) receives 1 when it continues. */
pd_status sweep_check_dir(const pd_config *base, const char *spec, int n_seeds, const char *dir, int *continuing,
                          pd_error *err);
/* Print the combined tables of the sweep in dir. */
pd_status sweep_report(const char *dir, pd_report_format f, FILE *out, pd_error *err);
/* The same for a sweep that is still running or stopped: a run without results yet (no summary.csv: not started,
 * or its first stage not ended) is left out of the tables (their n says how many runs a cell has); status says
 * how many runs there are and how many were left out, and names the first. PD_ERR_STATE naming the folder when
 * no run has results. */
typedef struct {
    int64_t runs, without;
    char first_without[256];
} sweep_report_status;
pd_status sweep_report_partial(const char *dir, pd_report_format f, FILE *out, sweep_report_status *status,
                               pd_error *err);

#endif
