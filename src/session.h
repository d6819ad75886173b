/* session.h — a session directory: the files one pipeline run writes (doc/design.md §5; the files themselves: sessions/README).
 *
 * The session object keeps the small tables in memory (loss curve points, summary metrics) and writes them
 * whole, atomically, whenever a stage ends or saves (so a killed run leaves complete files). Large per-stage
 * data (task weights, collected vectors, AE/DDPM weights) lives in state/ as binary state files (state.h),
 * written by the stages themselves through session_state_path().
 *
 *   pd_session *s;
 *   session_open(&s, "sessions/run1", 1, &err);          // creates run1/ and run1/state/
 *   session_loss_add(s, "task", 50, 0.61, 0.78);
 *   session_summary_set(s, "task_accuracy", 0.903);
 *   session_losses_write(s, &err); session_summary_write(s, &err);
 *   session_free(s);
 *
 * losses.csv and summary.csv have one reader, session_open (results.h's snapshot reads them through it):
 *   losses.csv   columns stage, step, loss and optionally accuracy, in any order (others ignored); step a whole
 *                number, loss and accuracy numbers or empty (NaN);
 *   summary.csv  columns metric, value; any metric name; value a number or empty (NaN); a repeated metric keeps
 *                its first place and its last value.
 * A missing file is an empty table; a malformed one fails with one line naming the file (and line, column).
 */
#ifndef PD_SESSION_H
#define PD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct pd_session pd_session;

/* The longest file name session_path / session_state_path take, and the room session_open keeps for it after
 * the folder's name ("/state/" NAME ".bin"): a folder path longer than PD_PATH_MAX - 1 - SESSION_PATH_ROOM is
 * refused (PD_ERR_IO), so every session path fits in a PD_PATH_MAX buffer. */
#define SESSION_NAME_MAX 64
#define SESSION_PATH_ROOM (SESSION_NAME_MAX + 12)

/* Open (create != 0: create the folder and state/ when missing) and load existing losses.csv/summary.csv. An
 * empty dir is refused (PD_ERR_IO).
 * create != 0 opens the session as its one writer: it takes the lock dir/.lock (flock) until session_free and
 * writes "PID NAME" and "host HOST" in it (NAME: session_set_writer_name). While another process or another
 * pd_session holds it, session_open fails with PD_ERR_IO "DIR: in use by pdiff run (pid 123) on HOST; ...". The
 * lock of a dead process is released by the system, so it never blocks. With the lock taken, the temporary files
 * (atomic.h) that killed writers left in dir and dir/state are removed. Readers (create == 0) take no lock. */
pd_status session_open(pd_session **out, const char *dir, int create, pd_error *err);
void session_free(pd_session *s); /* NULL is a no-op; releases the writer lock */
/* PD_OK when no writer holds dir's lock (or dir has none), else PD_ERR_IO with session_open's "in use by" message.
 * Takes no lock (a shared probe, released at once): for a front end that wants to say so before anything else. */
pd_status session_check_unlocked(const char *dir, pd_error *err);
/* Who runs a session: the process holding its writer lock, as the lock file records it. */
typedef struct {
    long pid;          /* 0 while the owner is still writing the lock file */
    char host[256];    /* gethostname() of the owner; "" in locks of older pdiff versions */
    char command[64];  /* "pdiff run", "pdiff tui", ... */
} pd_session_owner;
/* 1 when a writer holds dir's lock (another process, or a pd_session of this one), its pid, host and command in
 * *who; 0 (and *who zeroed) when none does. A shared probe like session_check_unlocked: cheap enough to poll. The
 * lock file holds "PID COMMAND" then "host HOST" (readers of older versions use the first line). */
int session_owner(const char *dir, pd_session_owner *who);
/* The name the lock file gives this process ("pdiff run", "pdiff tui"; default "pdiff"). Set it once, before
 * any session is opened for writing (it is not synchronised). */
void session_set_writer_name(const char *name);
const char *session_dir(const pd_session *s);
/* dir/name into buf (at least PD_PATH_MAX bytes; name at most SESSION_NAME_MAX characters, else PD_ASSERT
 * fails); returns buf. */
const char *session_path(const pd_session *s, const char *name, char *buf, size_t size);
/* dir/state/name.bin into buf, on the same terms; returns buf. */
const char *session_state_path(const pd_session *s, const char *name, char *buf, size_t size);
int session_file_exists(const pd_session *s, const char *name);

/* Loss points; accuracy NaN when none. session_loss_drop_stage forgets a stage's points after `from_step`
 * (a restarted or resumed stage rewrites its tail). */
pd_status session_loss_add(pd_session *s, const char *stage, int64_t step, double loss, double accuracy);
void session_loss_drop_stage(pd_session *s, const char *stage, int64_t from_step);
pd_status session_losses_write(pd_session *s, pd_error *err);
int64_t session_loss_count(const pd_session *s);
void session_loss_at(const pd_session *s, int64_t i, const char **stage, int64_t *step, double *loss,
                     double *accuracy);

/* Summary metrics, kept in insertion order; setting an existing metric replaces its value. */
pd_status session_summary_set(pd_session *s, const char *metric, double value);
int session_summary_get(const pd_session *s, const char *metric, double *value); /* 1 found, 0 absent */
pd_status session_summary_write(pd_session *s, pd_error *err);
int session_summary_count(const pd_session *s);
const char *session_summary_at(const pd_session *s, int i, double *value);

/* Append "YYYY-MM-DD HH:MM:SS line" to dir/run.log (opened on first use, append-only, line-buffered). Only the
 * writer logs (a reader's call does nothing); a log that cannot be written is skipped, never an error. */
void session_log(pd_session *s, const char *line);

/* Does dir look like a session (has config.csv)? 0 for an empty or NULL dir. */
int session_exists(const char *dir);

#endif
