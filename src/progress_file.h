/* progress_file.h — a session's progress.csv: where its writer is, for anyone who follows the run from outside
 * (the TUI watching a session another process writes, a script on a cluster).
 *
 * The pipeline's writer rewrites it (atomically but without fsync: atomic_commit_volatile) when a stage starts, when the reporting unit changes,
 * when a unit completes, and otherwise at most once a second; a file that cannot be written is skipped, never an
 * error. It is left in place when the run ends or is killed: then it tells where the run got to. Columns:
 *   stage          the pipeline stage running (train, collect, ae, ddpm, generate, analyze)
 *   unit           what its progress counts (progress.h: task, collect, ae, ddpm, generate, evaluate, analyze)
 *   done, total    units done out of total (0 and 0 when the stage has just started)
 *   unit_start     the count done when this unit's first report came (a resumed stage's checkpoint step)
 *   unit_seconds   seconds since then; stage_seconds since the stage started
 * So a stage's time left is about (total - done) * unit_seconds / (done - unit_start).
 *   pid            the writer's process id
 */
#ifndef PD_PROGRESS_FILE_H
#define PD_PROGRESS_FILE_H

#include <stdint.h>

#include "error.h"

#define PROGRESS_FILE_NAME "progress.csv"

typedef struct {
    char stage[16], unit[16];
    int64_t done, total, unit_start;
    double unit_seconds, stage_seconds;
    long pid;
} pd_progress_snapshot;

/* dir/progress.csv from *s. */
pd_status progress_file_write(const char *dir, const pd_progress_snapshot *s, pd_error *err);
/* dir/progress.csv into *s: 1 when it holds a well-formed row, 0 when it is missing or malformed (*s zeroed). */
int progress_file_read(const char *dir, pd_progress_snapshot *s);
/* The same, but 1 only for a row process pid wrote (the session's writer now, session_owner): a row a killed run
 * left is not the running one's. */
int progress_file_read_of(const char *dir, long pid, pd_progress_snapshot *s);
/* The stage's time left in seconds, (total - done) * unit_seconds / (done - unit_start); NaN when the row cannot tell
 * (nothing done in this unit yet, or no total). */
double progress_file_seconds_left(const pd_progress_snapshot *s);

#endif
