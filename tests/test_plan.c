/* test_plan.c — the plan of a run (plan.h): the work and memory of a small configuration as computed by hand, the
 * time estimates positive and finite, a missing data set planned with its note, a bad target refused, the address
 * space against a limit. TAP. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "plan.h"
#include "plan_measure.h"
#include "tap.h"

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file of n images of s x s (images) or n labels (i % 10). */
static int write_idx(const char *dir, const char *name, int images, uint32_t n, uint32_t s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char hdr[16] = {0, 0, 8, (unsigned char)(images ? 3 : 1)};
    put_be32(hdr + 4, n);
    put_be32(hdr + 8, s);
    put_be32(hdr + 12, s);
    fwrite(hdr, 1, images ? 16 : 8, f);
    for (uint32_t i = 0; i < n * (images ? s * s : 1); i++)
        fputc(images ? (int)(i * 7 % 256) : (int)(i % 10), f);
    return fclose(f);
}

static void set(pd_config *c, const char *kv)
{
    pd_error err = {0};
    if (config_set_pair(c, kv, &err) != PD_OK)
        printf("# %s: %s\n", kv, err.msg);
}

/* The work and memory of the small configuration, by hand. */
static void test_counts(const pd_config *cp)
{
    pd_config c = *cp;
    pd_error err = {0};
    pd_plan p;
    pd_status st = plan_compute(&p, &c, 0, NULL, &err);
    tap_ok(st == PD_OK, "plan without measuring (%s)", err.msg);
    tap_ok(p.data_found && p.data_note[0] == '\0', "the data set is found, no note ('%s')", p.data_note);
    tap_ok(p.n_train == 1000 && p.n_test == 200 && p.c == 1 && p.h == 12 && p.w == 12 && p.classes == 10,
           "data: 1000 + 200 images of 12x12x1, 10 classes (got %d + %d, %dx%dx%d, %d)", p.n_train, p.n_test, p.h,
           p.w, p.c, p.classes);
    tap_ok(p.data_bytes == 1200 * (144 + 4), "data bytes = 1200 x (144 + 4) (got %lld)", (long long)p.data_bytes);
    /* mlp on 144 inputs: fc1 144x256+256, fc2 256x128+128, fc3 128x10+10; auto target = fc3 */
    int64_t P = 144 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
    tap_ok(p.task_params == P, "task model parameters = %lld (got %lld)", (long long)P, (long long)p.task_params);
    tap_ok(p.target_d == 1290 && p.target_tensors == 2, "target D = 1290 in 2 tensors (got %lld in %d)",
           (long long)p.target_d, p.target_tensors);
    tap_ok(p.steps_per_epoch == 20 && p.train_steps == 40, "train: 2 epochs x 20 = 40 steps (got %lld, %lld)",
           (long long)p.steps_per_epoch, (long long)p.train_steps);
    tap_ok(p.collect_iters == 60 && p.collect_runs == 0, "collect: 20 x 3 = 60 iterations (got %lld)",
           (long long)p.collect_iters);
    tap_ok(p.ae_batch == 20 && p.ddpm_batch == 8, "AE batch clamped to K = 20, DDPM batch 8 (got %d, %d)",
           p.ae_batch, p.ddpm_batch);
    tap_ok(p.sample_steps == 10 && p.sample_batch == 256 && p.sample_chunks == 2,
           "sampling: 10 DDIM steps, chunks of 256, 2 chunks (got %lld, %d, %d)", (long long)p.sample_steps,
           p.sample_batch, p.sample_chunks);
    tap_ok(p.eval_generate == 20 + 1 + 4 + 300, "generate evaluates K + ensemble + 4 + 300 = 325 (got %d)",
           p.eval_generate);
    tap_ok(p.eval_analyze == 2 * 5 + 3 + PIPELINE_ANALYZE_AVERAGED + PIPELINE_ANALYZE_GAUSSIAN,
           "analyze evaluates 2 x 5 noise + 3 fine-tuned + 100 + 100 = 213 (got %d)", p.eval_analyze);
    tap_ok(p.finetune_iters == 21, "fine-tuning: 3 x 7 = 21 iterations (got %lld)", (long long)p.finetune_iters);
    /* the task model at max_batch 1000 (the evaluation batch), trainable: parameters, gradients, momentum, one
     * float for the (absent) BatchNorm buffers, and each node's output and its gradient (256, 256, 128, 128, 10
     * per sample); the host batch: 50 x (144 floats + a label) */
    int64_t task = 4 * (3 * P + 1 + 2 * 1000 * (256 + 256 + 128 + 128 + 10));
    int64_t train = p.data_bytes + task + 50 * (144 * 4 + 4);
    tap_ok(p.stage[PD_STAGE_TRAIN].bytes == train, "train memory = data + task model + batch = %lld (got %lld)",
           (long long)train, (long long)p.stage[PD_STAGE_TRAIN].bytes);
    int64_t collect = train + 20 * 1290 * 4 + 2 * 1290 * 4;
    tap_ok(p.stage[PD_STAGE_COLLECT].bytes == collect, "collect memory adds K x D vectors and two of D = %lld (got %lld)",
           (long long)collect, (long long)p.stage[PD_STAGE_COLLECT].bytes);
    tap_ok(p.stage[PD_STAGE_AE].bytes > 3 * 20 * 1290 * 4 + 4 * 4 * p.ae_params,
           "AE memory exceeds the vectors and the AE's weights, gradients and AdamW moments");
    tap_ok(p.stage[PD_STAGE_DDPM].bytes > 4 * 4 * p.unet_params, "DDPM memory exceeds the UNet with its AdamW state");
    int64_t zoo = (int64_t)(325 + 213) * (200 + 1290 * 4);
    tap_ok(p.stage[PD_STAGE_ANALYZE].bytes > p.data_bytes + zoo, "analyze memory holds the zoo's %d models",
           325 + 213);
    int64_t peak = 0;
    for (int s = 0; s < PD_STAGE_COUNT; s++)
        peak = p.stage[s].bytes > peak ? p.stage[s].bytes : peak;
    tap_ok(p.peak_bytes == peak && !p.measured && p.total_seconds == 0.0, "peak = the largest stage; nothing timed");

}

/* plan_scale: a unit timed at two sizes is extrapolated along their line, between the last time and its linear
 * scaling; one size is scaled linearly. */
static void test_scale(void)
{
    tap_ok(fabs(plan_scale(0, 0.0, 8, 0.01, 200) - 0.25) < 1e-12, "one size timed: scaled linearly");
    tap_ok(plan_scale(8, 0.005, 200, 0.2, 200) == 0.2, "timed at the full size: that time");
    /* 10 ms fixed + 1 ms an item: 18 ms at 8, 74 ms at 64, 210 ms at 200 (linear from 64 would say 231 ms) */
    tap_ok(fabs(plan_scale(8, 0.018, 64, 0.074, 200) - 0.210) < 1e-12, "a fixed cost is not scaled (%.4f)",
           plan_scale(8, 0.018, 64, 0.074, 200));
    tap_ok(plan_scale(8, 0.05, 64, 0.04, 200) == 0.04, "a larger size timed faster (noise): no less than its time");
    tap_ok(fabs(plan_scale(8, 0.0, 64, 0.064, 200) - 0.2) < 1e-12, "a line steeper than linear: linear at most");
}

static void test_measured(const pd_config *cp)
{
    pd_config c = *cp;
    pd_error err = {0};
    pd_plan p;
    pd_status st;
    /* measured: every stage's time positive and finite, the total their sum */
    st = plan_compute(&p, &c, 1, NULL, &err);
    tap_ok(st == PD_OK && p.measured, "plan with measuring (%s)", err.msg);
    int good = 1;
    double sum = 0.0;
    for (int s = 0; s < PD_STAGE_COUNT; s++) {
        good &= p.stage[s].seconds > 0.0 && isfinite(p.stage[s].seconds) && p.stage[s].unit_seconds > 0.0;
        sum += p.stage[s].seconds;
        printf("# %-9s %lld x %s of %g s + %g s = %g s\n", pipeline_stage_name((pd_stage)s),
               (long long)p.stage[s].units, p.stage[s].unit, p.stage[s].unit_seconds, p.stage[s].once_seconds,
               p.stage[s].seconds);
    }
    tap_ok(good, "every stage's estimate is positive and finite");
    tap_ok(fabs(p.total_seconds - sum) <= 1e-9 * sum, "the total is the sum of the stages");
    tap_ok(strcmp(p.backend, "cpu") == 0 && p.threads == 1, "measured on cpu with 1 thread (got %s, %d)", p.backend,
           p.threads);
    tap_ok(p.stage[PD_STAGE_TRAIN].units == 40 && p.stage[PD_STAGE_GENERATE].units == 325,
           "the stages' units are the counts");

}

/* The address space (plan.h): the program's, the largest stage's and the threads' share add up; an address space
 * limit (set here for a moment) below the estimate is "too low", one above it "enough", none "none". A sanitizer
 * build, whose own reservations dwarf any limit, skips the limit checks. */
static void test_address(const pd_config *cp)
{
    pd_config c = *cp;
    pd_error err = {0};
    pd_plan p;
    char line[400];
    set(&c, "threads=3");
    pd_status st = plan_compute(&p, &c, 0, NULL, &err);
    struct rlimit old;
    int have = getrlimit(RLIMIT_AS, &old) == 0;
    tap_ok(st == PD_OK && p.run_threads == 3 && p.program_bytes > 0 &&
               p.address_bytes == p.program_bytes + p.peak_bytes + 3 * PD_PLAN_THREAD_BYTES + PD_PLAN_SLACK_BYTES,
           "address space = the program (%lld) + the largest stage + 3 threads' share + the slack (%lld)",
           (long long)p.program_bytes, (long long)p.address_bytes);
    plan_format_address(&p, line, sizeof line);
    tap_ok(have && (old.rlim_cur == RLIM_INFINITY ? p.address_limit == -1 && strstr(line, "limit (ulimit -v) none")
                                                  : p.address_limit == (int64_t)old.rlim_cur),
           "the limit as the process has it: %s", line);
#if defined(__SANITIZE_ADDRESS__)
    tap_skip("a sanitizer build: no address space limit");
    tap_skip("a sanitizer build: no address space limit");
#else
    struct rlimit low = old, high = old;
    low.rlim_cur = (rlim_t)(p.program_bytes + ((int64_t)512 << 20));
    high.rlim_cur = (rlim_t)(p.address_bytes + ((int64_t)1 << 30));
    int can = have && (old.rlim_max == RLIM_INFINITY || old.rlim_max >= high.rlim_cur);
    int ok_low = 0, ok_high = 0;
    if (can && setrlimit(RLIMIT_AS, &low) == 0) {
        ok_low = plan_compute(&p, &c, 0, NULL, &err) == PD_OK && p.address_short;
        plan_format_address(&p, line, sizeof line);
        ok_low = ok_low && strstr(line, "too low") != NULL;
        setrlimit(RLIMIT_AS, &old);
    }
    tap_ok(ok_low, "a limit below the estimate: too low (%s)", line);
    if (can && setrlimit(RLIMIT_AS, &high) == 0) {
        ok_high = plan_compute(&p, &c, 0, NULL, &err) == PD_OK && !p.address_short;
        plan_format_address(&p, line, sizeof line);
        ok_high = ok_high && strstr(line, ": enough") != NULL;
        setrlimit(RLIMIT_AS, &old);
    }
    tap_ok(ok_high, "a limit above it: enough (%s)", line);
#endif
}

static void test_missing(const pd_config *cp)
{
    pd_config c = *cp;
    pd_error err = {0};
    pd_plan p;
    pd_status st;
    /* a missing data folder: a plan with the note, not a failure */
    set(&c, "dataset=idx:/nonexistent/pdiff-plan-data");
    st = plan_compute(&p, &c, 0, NULL, &err);
    tap_ok(st == PD_OK && !p.data_found, "a missing idx folder is planned (%s)", st == PD_OK ? "" : err.msg);
    tap_ok(strstr(p.data_note, "/nonexistent/pdiff-plan-data") && strstr(p.data_note, "not found"),
           "the note says where the files were expected: %s", p.data_note);
    tap_ok(p.n_train == 60000 && p.n_test == 10000 && p.h == 28, "sizes assumed: 60000 + 10000 of 28x28");
    config_defaults(&c);
    set(&c, "dataset=cifar100");
    set(&c, "data_dir=/nonexistent/cifar");
    set(&c, "k=10");
    st = plan_compute(&p, &c, 0, NULL, &err);
    tap_ok(st == PD_OK && !p.data_found && strstr(p.data_note, "CIFAR-100"),
           "missing CIFAR-100: the data module's hint (%s)", p.data_note);
    tap_ok(p.n_train == 50000 && p.c == 3 && p.h == 32 && p.classes == 100, "CIFAR-100's known sizes");

    /* a target that selects nothing fails with the target's message */
    config_defaults(&c);
    set(&c, "target=nosuchlayer");
    st = plan_compute(&p, &c, 0, NULL, &err);
    tap_ok(st != PD_OK && strstr(err.msg, "nosuchlayer"), "a bad target is refused: %s", err.msg);

}

int main(void)
{
    char dir[] = "/tmp/pdiff-test-plan-XXXXXX";
    if (!mkdtemp(dir)) {
        puts("Bail out! mkdtemp");
        return 1;
    }
    int w = write_idx(dir, "train-images-idx3-ubyte", 1, 1000, 12) | write_idx(dir, "train-labels-idx1-ubyte", 0, 1000, 0) |
            write_idx(dir, "t10k-images-idx3-ubyte", 1, 200, 12) | write_idx(dir, "t10k-labels-idx1-ubyte", 0, 200, 0);
    tap_ok(w == 0, "the small IDX data set is written");

    /* the small configuration */
    pd_config c;
    config_defaults(&c);
    char spec[600];
    snprintf(spec, sizeof spec, "dataset=idx:%s", dir);
    set(&c, spec);
    const char *kv[] = {"arch=mlp", "epochs=2", "batch=50", "k=20", "save_every=3", "ae_steps=30", "ae_batch=64",
                        "ddpm_steps=40", "ddpm_batch=8", "ddpm_channels=8,8,8,8", "timesteps=50", "sampler=ddim",
                        "ddim_steps=10", "n_generate=300", "n_recon=4", "n_noise=5", "noise_sigmas=0.01,0.1",
                        "n_finetune=3", "finetune_steps=7", "threads=1"};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        set(&c, kv[i]);
    pd_error err = {0};
    tap_ok(config_validate(&c, &err) == PD_OK, "the small configuration is valid (%s)", err.msg);

    test_scale();
    test_counts(&c);
    test_measured(&c);
    test_missing(&c);
    test_address(&c);

    char path[700];
    const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return tap_done();
}
