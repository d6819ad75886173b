/* pool.h — a small persistent thread pool for batch-parallel loops.
 *
 * pool_run(pool, ntasks, fn, ctx) calls fn(ctx, task, thread) for every task in [0, ntasks), spread over the
 * pool's threads (the caller is thread 0 and takes part), and returns when all are done. Tasks are handed out
 * dynamically, so a task's result must not depend on which thread ran it; `thread` is only for picking
 * per-thread scratch. Not re-entrant: do not call pool_run from inside a task.
 *
 * Waiting threads (idle workers, the caller for the workers) poll for up to 30 us before they block, but only
 * while the process is rarely preempted: on a machine shared with other busy processes they block at once
 * (pool.c says how that is decided).
 */
#ifndef PD_POOL_H
#define PD_POOL_H

#include <stdint.h>

typedef struct pd_pool pd_pool;
typedef void (*pd_pool_fn)(void *ctx, int64_t task, int thread);

pd_pool *pool_create(int threads); /* threads >= 1; NULL on failure */
void pool_free(pd_pool *p);        /* NULL is a no-op */
int pool_threads(const pd_pool *p);
void pool_run(pd_pool *p, int64_t ntasks, pd_pool_fn fn, void *ctx);

/* For tests of the poll decision. pool_poll_budget_ns: how long a waiting thread polls now (0: it blocks at
 * once). pool_set_preemption_source: count the process's involuntary context switches with count(arg) instead of
 * getrusage (NULL: getrusage again); the window starts over. Call it between pool_runs, from the caller's thread. */
int pool_poll_budget_ns(const pd_pool *p);
void pool_set_preemption_source(pd_pool *p, long (*count)(void *), void *arg);

#endif
