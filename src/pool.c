/* pool.c — persistent pthread pool (see pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

/* How long a thread that waits for the pool (a worker for the next job, the caller for the workers) polls before it
 * blocks. The steps of the small networks hand out a job every 100-200 us; waking a blocked thread costs tens of
 * microseconds (more on a virtual machine, whose idle vCPU has to be woken too). A short poll catches the next job
 * without that. When the machine is shared, polling keeps the core from another process (with two processes on two
 * cores the DDPM ran 20 % slower than without polling), and the kernel then preempts this process's threads far
 * more often: about 1 preemption per 100 jobs alone, more than 100 per 100 jobs with a second busy process. So the
 * caller counts the process's involuntary context switches every POOL_CHECK_JOBS jobs and polls in the next
 * window only while there were fewer than one per POOL_QUIET_JOBS jobs; it never polls longer than POOL_SPIN_NS. */
#define POOL_SPIN_NS 30000
#define POOL_CHECK_JOBS 512
#define POOL_QUIET_JOBS 16

struct pd_pool {
    int threads;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    atomic_uint_fast64_t generation; /* bumped for every job; workers wait for a change */
    atomic_int busy;                 /* workers still inside the current job */
    atomic_int quit;
    atomic_int spin_ns; /* the current poll budget: POOL_SPIN_NS, or 0 while the machine looks shared */
    int64_t jobs;       /* the caller's: jobs since the last count of preemptions, and that count */
    long preempted;
    long (*count_preemptions)(void *); /* getrusage's count, or a test's (pool_set_preemption_source) */
    void *count_arg;
    /* the current job */
    pd_pool_fn fn;
    void *ctx;
    int64_t ntasks;
    atomic_int_fast64_t next;
};

typedef struct {
    pd_pool *pool;
    int index;
} pool_worker_arg;

static void pool_drain(pd_pool *p, int thread)
{
    for (;;) {
        int64_t t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            break;
        p->fn(p->ctx, t, thread);
    }
}

static void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t pool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Poll until ready(p, arg) or POOL_SPIN_NS have passed; 1 when it became ready. */
static int pool_spin(pd_pool *p, int (*ready)(pd_pool *, uint64_t), uint64_t arg)
{
    int64_t until = 0, budget = atomic_load_explicit(&p->spin_ns, memory_order_relaxed);
    if (budget == 0)
        return ready(p, arg);
    for (int i = 0;; i++) {
        if (ready(p, arg))
            return 1;
        if ((i & 63) == 0) {
            int64_t now = pool_now_ns();
            if (i == 0)
                until = now + budget;
            else if (now >= until)
                return 0;
        }
        pool_relax();
    }
}

static long pool_rusage_preemptions(void *unused)
{
    (void)unused;
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/* The caller, once per job: every POOL_CHECK_JOBS jobs decide whether the next ones poll. */
static void pool_tune_spin(pd_pool *p)
{
    if (++p->jobs < POOL_CHECK_JOBS)
        return;
    long now = p->count_preemptions(p->count_arg);
    int quiet = now - p->preempted < POOL_CHECK_JOBS / POOL_QUIET_JOBS;
    atomic_store_explicit(&p->spin_ns, quiet ? POOL_SPIN_NS : 0, memory_order_relaxed);
    p->preempted = now;
    p->jobs = 0;
}

static int pool_job_ready(pd_pool *p, uint64_t seen)
{
    return atomic_load(&p->quit) || atomic_load(&p->generation) != seen;
}

static int pool_workers_done(pd_pool *p, uint64_t unused)
{
    (void)unused;
    return atomic_load(&p->busy) == 0;
}

static void *pool_worker(void *argp)
{
    pool_worker_arg *arg = argp;
    pd_pool *p = arg->pool;
    int index = arg->index;
    free(arg);
    uint64_t seen = 0;
    for (;;) {
        if (!pool_spin(p, pool_job_ready, seen)) {
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit))
            break;
        seen = atomic_load(&p->generation);
        pool_drain(p, index);
        if (atomic_fetch_sub(&p->busy, 1) == 1) { /* the last one: the caller may be blocked */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

pd_pool *pool_create(int threads)
{
    if (threads < 1)
        threads = 1;
    pd_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->generation, 0);
    atomic_init(&p->busy, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->spin_ns, 0); /* the first window finds out */
    p->count_preemptions = pool_rusage_preemptions;
    p->count_arg = NULL;
    p->preempted = pool_rusage_preemptions(NULL);
    p->tid = calloc((size_t)threads, sizeof *p->tid);
    if (!p->tid) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < threads; i++) {
        pool_worker_arg *arg = malloc(sizeof *arg);
        if (!arg || (arg->pool = p, arg->index = i, pthread_create(&p->tid[i], NULL, pool_worker, arg) != 0)) {
            free(arg);
            p->threads = i; /* keep the ones that started */
            break;
        }
    }
    return p;
}

void pool_free(pd_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->tid);
    free(p);
}

void pool_set_preemption_source(pd_pool *p, long (*count)(void *), void *arg)
{
    if (!p)
        return;
    p->count_preemptions = count ? count : pool_rusage_preemptions;
    p->count_arg = count ? arg : NULL;
    p->preempted = p->count_preemptions(p->count_arg);
    p->jobs = 0;
}

int pool_poll_budget_ns(const pd_pool *p)
{
    return p ? atomic_load_explicit(&p->spin_ns, memory_order_relaxed) : 0;
}

int pool_threads(const pd_pool *p)
{
    return p ? p->threads : 1;
}

void pool_run(pd_pool *p, int64_t ntasks, pd_pool_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (!p || p->threads == 1 || ntasks == 1) {
        for (int64_t t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pool_tune_spin(p);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->busy, p->threads - 1);
    atomic_fetch_add(&p->generation, 1); /* after the job's fields: a polling worker reads them once it sees this */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pool_drain(p, 0);
    if (pool_spin(p, pool_workers_done, 0))
        return;
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->busy) > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
