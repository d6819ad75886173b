/* test_core.c — errors (the out-of-memory hook included), RNG, thread pool, and that the CPU backend fills every op slot. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "backend.h"
#include "error.h"
#include "pool.h"
#include "rng.h"
#include "tap.h"

static void test_errors(void)
{
    pd_error e = {0};
    tap_ok(error_set(&e, PD_ERR_CONFIG, "k: bad value %d", 3) == PD_ERR_CONFIG, "error_set returns its status");
    tap_ok(strcmp(e.msg, "k: bad value 3") == 0, "error_set formats the message");
    error_prefix(&e, "%s", "config.csv");
    tap_ok(strcmp(e.msg, "config.csv: k: bad value 3") == 0, "error_prefix prepends context");
    tap_ok(error_exit_code(PD_OK) == 0 && error_exit_code(PD_ERR_DATA) == 1 && error_exit_code(PD_ERR_USAGE) == 2,
           "exit codes 0 / 1 / 2");
    tap_ok(strcmp(error_status_string(PD_ERR_FORMAT), "malformed file") == 0, "status strings from the X-macro");
    tap_ok(error_set(NULL, PD_ERR_IO, "x") == PD_ERR_IO, "a NULL pd_error is allowed");
}

static jmp_buf oom_jump;
static char oom_what[64];
static size_t oom_bytes;

static void oom_catch(const char *what, size_t bytes)
{
    snprintf(oom_what, sizeof oom_what, "%s", what);
    oom_bytes = bytes;
    longjmp(oom_jump, 1);
}

/* An allocation that fails inside an operation with no status to return goes to the out-of-memory hook (the
 * program's clean stop: one line, exit 1; tests/faults.sh runs it under address space limits), never back. */
static void test_out_of_memory(void)
{
    volatile int returned = 0;
    error_set_oom_hook(oom_catch);
    if (setjmp(oom_jump) == 0) {
        error_out_of_memory("a CPU work buffer", (size_t)3 << 30);
        returned = 1;
    }
    error_set_oom_hook(NULL);
    tap_ok(returned == 0 && strcmp(oom_what, "a CPU work buffer") == 0 && oom_bytes == (size_t)3 << 30,
           "error_out_of_memory calls the out-of-memory hook with what and the bytes (%s, %zu)", oom_what, oom_bytes);
}

static void test_rng(void)
{
    tap_ok(rng_hash(1, 2) == rng_hash(1, 2) && rng_hash(1, 2) != rng_hash(1, 3) && rng_hash(1, 2) != rng_hash(2, 2),
           "rng_hash is a pure function of (seed, index)");
    double s = 0, s2 = 0, us = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = rng_normal_at(42, (uint64_t)i);
        s += z;
        s2 += z * z;
        us += rng_uniform_at(42, (uint64_t)i);
    }
    double mean = s / n, var = s2 / n - mean * mean;
    tap_ok(fabs(mean) < 0.01 && fabs(var - 1.0) < 0.015, "normal: mean %.4f var %.4f", mean, var);
    tap_ok(fabs(us / n - 0.5) < 0.005, "uniform: mean %.4f", us / n);
    pd_rng r;
    rng_init(&r, 5);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++)
        counts[rng_below(&r, 7)]++;
    int ok = 1;
    for (int i = 0; i < 7; i++)
        ok = ok && abs(counts[i] - 10000) < 500;
    tap_ok(ok, "rng_below(7) is uniform");
    int32_t a[100];
    for (int i = 0; i < 100; i++)
        a[i] = i;
    rng_shuffle_i32(&r, a, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    ok = moved > 80;
    for (int i = 0; i < 100; i++)
        ok = ok && seen[i] == 1;
    tap_ok(ok, "shuffle gives a permutation");
    tap_ok(rng_derive(1, "ae") != rng_derive(1, "ddpm") && rng_derive(1, "ae") == rng_derive(1, "ae"),
           "rng_derive separates purposes");
}

typedef struct {
    atomic_int hits[1000];
    atomic_int total;
} pool_ctx;

static void pool_task(void *vp, int64_t task, int thread)
{
    pool_ctx *c = vp;
    (void)thread;
    atomic_fetch_add(&c->hits[task], 1);
    atomic_fetch_add(&c->total, (int)task);
}

/* the process's threads (Linux: /proc/self/status), or -1 */
static int process_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* after pool_free the workers are gone: the count drops back to `want` (the kernel may take a moment after the
 * join to count an exited thread out, so wait up to 10 s) */
static int threads_drop_to(int want)
{
    for (int i = 0; i < 1000 && process_threads() != want; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    return process_threads() == want;
}

static void test_pool(void)
{
    int before = process_threads();
    pd_pool *p = pool_create(3);
    tap_ok(p != NULL && pool_threads(p) == 3, "pool starts 3 threads");
    if (before > 0)
        tap_ok(process_threads() == before + 2, "... the caller and 2 workers (%d threads, %d before)",
               process_threads(), before);
    else
        tap_skip("no /proc/self/status: the process's threads are not counted");
    static pool_ctx c;
    for (int round = 0; round < 50; round++)
        pool_run(p, 1000, pool_task, &c);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok = ok && atomic_load(&c.hits[i]) == 50;
    tap_ok(ok && atomic_load(&c.total) == 50 * 999 * 1000 / 2, "every task runs exactly once per pool_run");
    pool_run(p, 0, pool_task, &c);
    pool_free(p);
    pool_free(NULL); /* a no-op */
    if (before > 0)
        tap_ok(threads_drop_to(before), "pool_free stops the workers (%d threads left, %d before)",
               process_threads(), before);
    else
        tap_skip("no /proc/self/status: the process's threads are not counted");

    /* two threads: 20 000 short jobs back to back, where the worker finds the next job while it polls (on a quiet
     * machine) or is woken for it, then jobs after 20 ms pauses, far longer than any poll (30 us), where the worker
     * has blocked and must be woken */
    static pool_ctx d;
    p = pool_create(2);
    for (int round = 0; round < 20000; round++)
        pool_run(p, 2, pool_task, &d);
    for (int round = 0; round < 5; round++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pool_run(p, 1000, pool_task, &d);
    }
    ok = atomic_load(&d.hits[0]) == 20005 && atomic_load(&d.hits[1]) == 20005;
    for (int i = 2; i < 1000; i++)
        ok = ok && atomic_load(&d.hits[i]) == 5;
    tap_ok(ok && atomic_load(&d.total) == 20000 + 5 * 999 * 1000 / 2,
           "a 2-thread pool: every task once over 20 000 back-to-back jobs and jobs after the worker blocked");
    pool_free(p);
}

/* The poll decision (pool.c): every 512 jobs the caller counts the process's involuntary context switches and
 * polls in the next window only if there were fewer than 32; here the count comes from a fake source. */
static long fake_preemptions(void *arg)
{
    return *(long *)arg;
}

static void run_jobs(pd_pool *p, int jobs, pool_ctx *c)
{
    for (int i = 0; i < jobs; i++)
        pool_run(p, 2, pool_task, c);
}

static void test_pool_backoff(void)
{
    static pool_ctx c;
    long count = 1000;
    pd_pool *p = pool_create(2);
    pool_set_preemption_source(p, fake_preemptions, &count);
    tap_ok(pool_poll_budget_ns(p) == 0, "a new pool does not poll before its first window is counted");
    run_jobs(p, 511, &c);
    int before_window = pool_poll_budget_ns(p);
    run_jobs(p, 1, &c);
    tap_ok(before_window == 0 && pool_poll_budget_ns(p) == 30000,
           "512 jobs without a preemption: the next window polls 30 us (%d, then %d)", before_window,
           pool_poll_budget_ns(p));
    count += 31;
    run_jobs(p, 512, &c);
    tap_ok(pool_poll_budget_ns(p) == 30000, "31 preemptions in 512 jobs: still polls");
    count += 32;
    run_jobs(p, 511, &c);
    before_window = pool_poll_budget_ns(p);
    run_jobs(p, 1, &c);
    tap_ok(before_window == 30000 && pool_poll_budget_ns(p) == 0,
           "32 preemptions in 512 jobs: blocks at once from the next window on, not before (%d, then %d)",
           before_window, pool_poll_budget_ns(p));
    count += 5000;
    pool_set_preemption_source(p, fake_preemptions, &count); /* the window starts over from this count */
    run_jobs(p, 512, &c);
    tap_ok(pool_poll_budget_ns(p) == 30000, "a quiet window after a busy one polls again");
    pool_set_preemption_source(p, NULL, NULL);
    run_jobs(p, 512, &c);
    int ok = atomic_load(&c.hits[0]) == 2560 && atomic_load(&c.hits[1]) == 2560;
    tap_ok(ok && pool_poll_budget_ns(NULL) == 0, "every task ran once per job throughout (getrusage again at the end)");
    pool_free(p);
}

/* Memory handed back and asked for again is zero again, small blocks (reused from the heap) and large ones (fresh
 * pages, not written by alloc) alike; every size is 64-byte aligned, 0 bytes included. */
static void test_backend_alloc_again(pd_backend *be)
{
    static const int64_t sizes[3] = {1000, 3, (int64_t)6 << 20};
    int bad = 0;
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 3; k++) {
            float *y = backend_alloc_floats(be, sizes[k]);
            if (!y || ((uintptr_t)y & 63) != 0) {
                bad++;
                continue;
            }
            for (int64_t i = 0; i < sizes[k]; i += 1 + i / 7)
                bad += y[i] != 0.0f;
            bad += y[sizes[k] - 1] != 0.0f;
            for (int64_t i = 0; i < sizes[k]; i++)
                y[i] = -2.0f;
            be->free(be, y);
        }
    void *z = be->alloc(be, 0);
    tap_ok(bad == 0 && z && ((uintptr_t)z & 63) == 0,
           "memory freed and allocated again is zeroed, 64-byte aligned, also 0 bytes (%d bad)", bad);
    be->free(be, z);
    be->free(be, NULL);
}

static void test_backend(void)
{
    pd_backend *be;
    pd_error e = {0};
    tap_ok(backend_cpu_create(&be, 2, &e) == PD_OK, "cpu backend starts: %s", e.msg);
    /* every slot after `threads` up to the end of the struct is a function pointer */
    void (**slots)(void) = (void (**)(void))((char *)be + offsetof(pd_backend, alloc));
    size_t n = (sizeof(pd_backend) - offsetof(pd_backend, alloc)) / sizeof(void (*)(void));
    size_t missing = 0;
    for (size_t i = 0; i < n; i++)
        missing += slots[i] == NULL;
    tap_ok(missing == 0, "all %zu backend slots are filled (%zu missing)", n, missing);
    float *x = backend_alloc_floats(be, 1000);
    int zero = 1;
    for (int i = 0; i < 1000; i++)
        zero = zero && x[i] == 0.0f;
    tap_ok(x && zero && ((uintptr_t)x & 63) == 0, "alloc is zeroed and 64-byte aligned");
    for (int i = 0; x && i < 1000; i++)
        x[i] = 1.0f;
    be->free(be, x);
    test_backend_alloc_again(be);
    pd_backend *cuda = NULL;
    pd_status st = backend_create(&cuda, PD_BACKEND_CUDA, 1, &e);
    tap_ok(st == PD_OK || (st == PD_ERR_DEVICE && strstr(e.msg, "cuda")), "device=cuda without a GPU: '%s'",
           st == PD_OK ? "available" : e.msg);
    backend_destroy(cuda);
    pd_conv2d_shape s = conv2d_shape_make(2, 3, 28, 28, 8, 3, 2, 1);
    tap_ok(s.ho == 14 && s.wo == 14, "conv2d shape 28 -> 14 with stride 2, pad 1");
    pd_conv1d_shape c1 = conv1d_shape_make(1, 1, 2106, 2, 3, 3, 0);
    pd_conv1d_shape t1 = convt1d_shape_make(1, 4, 3, 4, 5, 5, 0);
    tap_ok(c1.lo == 702 && t1.lo == 15, "conv1d 2106 -> 702, convt1d 3 -> 15");
    backend_destroy(be);
    backend_destroy(NULL);
}

int main(void)
{
    test_errors();
    test_out_of_memory();
    test_rng();
    test_pool();
    test_pool_backoff();
    test_backend();
    return tap_done();
}
