/* plan.h — what a run will do before it starts: per stage the work, the memory and the estimated time.
 *
 * plan_compute() takes a validated configuration and answers, without touching any session or reading more than
 * the data set's file headers:
 *   - the data (images, shape, classes), from the files when they are found, else the known sizes of the named
 *     data set with a note saying where the files were looked for (the data module's message);
 *   - the networks' sizes: the task model, the target D, the parameter autoencoder and the UNet (real objects
 *     built from the configuration, so the numbers are the run's own);
 *   - per stage (train, collect, ae, ddpm, generate, analyze) the work (steps, iterations, models evaluated),
 *     the memory it holds at its peak (data set, networks with their optimiser state and activations, collected
 *     vectors, the zoo's predictions; device and host together, approximately) and, when measure != 0, the time:
 *     units x the seconds of one unit measured on this machine by running a few real units (a training step, a
 *     collection iteration, an AE step, a UNet step, a sampling step, one model's evaluation) with synthetic
 *     inputs of the run's shapes on the backend and threads the configuration names. A unit too expensive to time
 *     at full size is timed on a smaller batch and scaled linearly, so the whole measurement takes seconds.
 * The plan never prints; plan_format_seconds / plan_format_bytes give human-friendly strings for callers.
 *
 *   pd_plan pl;
 *   if (plan_compute(&pl, &cfg, 1, NULL, &err) != PD_OK) ...
 *   for (int s = 0; s < PD_STAGE_COUNT; s++) printf("%s %s %.0f s\n", pipeline_stage_name(s), pl.stage[s].work,
 *                                                    pl.stage[s].seconds);
 */
#ifndef PD_PLAN_H
#define PD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "pipeline.h"
#include "progress.h"

typedef struct {
    char work[256];        /* "2 epochs x 469 steps = 938 steps of batch 128" */
    char unit[64];         /* the timed unit: "training step (batch 128)" */
    int64_t units;         /* how many of it the stage runs */
    double unit_seconds;   /* measured seconds of one unit (0 when not measured) */
    double once_seconds;   /* measured work done once in the stage besides the units (the evaluator's prefix) */
    double seconds;        /* the estimate: units x unit_seconds + once_seconds (0 when not measured) */
    int64_t bytes;         /* memory held at the stage's peak, approximately */
} pd_plan_stage;

typedef struct {
    /* the data set */
    int data_found;                    /* 0: sizes assumed, data_note says why */
    char data_note[PD_ERROR_MSG_MAX + 64]; /* where the files were expected and what is missing; "" when found */
    int32_t n_train, n_test, c, h, w, classes;
    int64_t data_bytes;                /* both splits in memory (bytes and labels) */
    /* the networks */
    int64_t task_params;               /* parameters of the task model */
    int64_t target_d;                  /* D: numbers in the target */
    int32_t target_tensors;
    int64_t ae_params, unet_params;
    int32_t latent;                    /* numbers in one latent (the UNet's length) */
    /* the work */
    int32_t train_batch;               /* the batch train and collect use */
    int64_t steps_per_epoch;
    int64_t train_steps;               /* train stage steps */
    int64_t collect_runs;              /* independent mode: extra training runs of train_steps each (else 0) */
    int64_t collect_iters;             /* collection iterations */
    int32_t ae_batch, ddpm_batch;      /* as the stages clamp them to K */
    int64_t sample_steps;              /* reverse steps per chunk of samples */
    int32_t sample_chunks, sample_batch;
    int32_t eval_generate;             /* models evaluated by generate: K, the ensemble, reconstructions, p-diff */
    int32_t eval_analyze;              /* models added by analyze: noise, fine-tuned, averaged, gaussian */
    int64_t finetune_iters;            /* SGD iterations of the fine-tuned originals */
    pd_plan_stage stage[PD_STAGE_COUNT];
    /* the estimate */
    int measured;
    double total_seconds;              /* sum of the stages */
    int64_t peak_bytes;                /* the largest stage */
    char backend[16];                  /* "cpu" | "cuda" */
    int threads;                       /* the backend's threads */
    /* address space, what ulimit -v (and Grid Engine's h_vmem) limits; approximate, and without the reservations
     * CUDA makes itself: the process before the run (its libraries, the TUI's own data), plus the largest stage,
     * plus per thread PD_PLAN_THREAD_BYTES (OpenBLAS maps up to two work buffers of 128 MiB per thread that runs a
     * matrix product, and threads have stacks), plus PD_PLAN_SLACK_BYTES; meant to err on the high side */
    int64_t program_bytes, address_bytes;
    int run_threads;                   /* the threads the run will use (cfg threads; 0 = the cores) */
    int64_t address_limit;             /* the process's address space limit (RLIMIT_AS), -1 when it has none */
    int address_short;                 /* 1 when that limit is below address_bytes: the run would stop for lack of it */
    double measure_seconds;            /* how long plan_compute measured */
} pd_plan;

/* Fill *plan for cfg (config_validate'd). measure != 0 times the units on the configured backend (device, threads):
 * a backend that cannot be created fails the plan (PD_ERR_DEVICE). A missing data set is not an error (data_note).
 * A target that selects nothing in the task model, an impossible AE geometry and the like fail with the
 * pipeline's message. cb may be NULL; its cancel hook stops the measurement (PD_ERR_CANCELLED). */
pd_status plan_compute(pd_plan *plan, const pd_config *cfg, int measure, const pd_callbacks *cb, pd_error *err);

#define PD_PLAN_THREAD_BYTES ((int64_t)272 << 20) /* two OpenBLAS work buffers, two stacks (a worker's, OpenBLAS's) */
#define PD_PLAN_SLACK_BYTES ((int64_t)128 << 20)  /* the C library's heaps and the like (measured, doc/pdiff.1 BUGS) */

/* One line on the address space: "address space: up to about 1.93 GiB, limit (ulimit -v) none (the program ... + 4 threads
 * x 272 MiB ...)"; with a limit, "1.00 GiB: too low, the run would stop for lack of memory" or ": enough". */
void plan_format_address(const pd_plan *plan, char *buf, size_t size);
/* "0.4 s", "42 s", "12 min", "3.5 h", "2.1 days" */
void plan_format_seconds(double seconds, char *buf, size_t size);
/* "812 B", "40.0 KiB", "1.3 MiB", "5.20 GiB" */
void plan_format_bytes(int64_t bytes, char *buf, size_t size);

#endif
