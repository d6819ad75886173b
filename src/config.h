/* config.h — the experiment configuration: one flat set of key=value settings (doc/design.md §6).
 *
 * Defaults are built in (the CPU default experiment: Fashion-MNIST, convnet, target = last two BatchNorm
 * layers, K = 200, small AE, narrow UNet). Values arrive as strings from --set KEY=VALUE, from a --config FILE
 * (CSV "key,value" rows with a header, the format of a session's config.csv) or from the TUI, and are checked
 * one by one against a key table (type, range, choices); unknown keys and out-of-range values are refused with
 * one line naming the key. config_validate() then checks the rules that involve several keys.
 *
 * The pseudo-key "preset" applies a preset, so later --set options override it: default and paper reset every
 * setting (paper = the p-diff paper's v1 CIFAR-100 experiment), critique sets only the noise baselines (σ 0.06 and
 * 0.12, 300 models each, as in Zeng et al.'s critique) on top of whatever is set. The old key "standardize" (0 | 1)
 * is accepted as an alias of normalize (none | coordinate), from --set and from older sessions' config.csv.
 * config_write_csv() writes every effective setting plus the extra rows the caller adds (library versions,
 * resolved target, ...). The key table is public so that the TUI can list and edit settings generically.
 *
 *   pd_config c; config_defaults(&c);
 *   if (config_set(&c, "k", "50", &err) != PD_OK) ...      // err.msg: "k: must be an integer in [2, 100000], got 'x'"
 *   if (config_validate(&c, &err) != PD_OK) ...
 */
#ifndef PD_CONFIG_H
#define PD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PD_CONFIG_STR 256

typedef struct {
    /* data and task model */
    char dataset[PD_CONFIG_STR];       /* fashion-mnist | mnist | cifar10 | cifar100 | idx:DIR | cifar:DIR */
    char data_dir[PD_CONFIG_STR];      /* "" = the data set's default folder */
    char arch[16];                     /* mlp | convnet | resnet18 */
    int32_t width;                     /* resnet18 base channels (64 = the real ResNet-18) */
    int32_t epochs;
    int32_t batch;
    double lr, momentum, weight_decay;
    char lr_schedule[16];              /* constant | cosine (per step, down to 0 at the end) | step */
    char lr_milestones[64];            /* step: epochs at which the learning rate is multiplied by lr_gamma */
    double lr_gamma;
    char augment[16];                  /* none | cropflip (4-pixel padded random crop + horizontal flip) */
    char init[PD_CONFIG_STR];          /* "" or a safetensors state_dict the task model starts from */
    /* collection */
    char target[PD_CONFIG_STR];        /* auto | all | comma list of names, prefixes or globs */
    int32_t k;                         /* checkpoints to collect */
    int32_t save_every;                /* iterations between checkpoints */
    double collect_lr;
    int32_t k_span;                    /* 0: every save_every iterations; N: K checkpoints spread over N iterations */
    char collect_mode[16];             /* trajectory | independent (K checkpoints from collect_runs runs) */
    int32_t collect_runs;              /* independent: number of independently seeded training runs (R) */
    char checkpoints[PD_CONFIG_STR];   /* "" or a folder of safetensors checkpoints made elsewhere, used instead of
                                        * collecting (the first k in name order) */
    /* parameter autoencoder */
    char ae[16];                       /* small | medium | custom */
    int32_t ae_fold, ae_kernel;        /* custom geometry */
    char ae_enc[64], ae_dec[64];       /* custom channel lists, 4 numbers each: "2,2,2,2" */
    int32_t ae_steps, ae_batch;
    double ae_lr, ae_weight_decay;
    double input_noise, latent_noise;
    char normalize[16];                /* none | tensor | coordinate: how the K vectors are scaled for the AE */
    /* latent diffusion */
    int32_t ddpm_steps, ddpm_batch;
    double ddpm_lr, ddpm_weight_decay;
    char ddpm_channels[64];            /* 4 numbers: "16,32,64,128" */
    int32_t timesteps;
    double beta_start, beta_end;
    char sampler[8];                   /* ddpm | ddim */
    int32_t ddim_steps;
    double ddpm_ema;                   /* EMA decay of the denoiser's weights used for sampling (0 = off) */
    /* generation and analysis */
    int32_t n_generate;
    int32_t n_recon;                   /* AE reconstructions evaluated */
    int32_t n_noise;                   /* noise-added originals per sigma */
    char noise_sigmas[128];            /* comma list of sigmas */
    int32_t n_finetune;
    int32_t finetune_steps;
    int32_t best_of_n;                 /* n of the expected best-of-n accuracy reported for every kind */
    /* run */
    uint64_t seed;
    uint64_t gen_seed;                 /* seed of the AE, DDPM and sampling (0 = derived from seed) */
    int32_t threads;                   /* 0 = all cores */
    char device[8];                    /* cpu | cuda */
    char preset[16];                   /* default | paper | critique (the last preset applied) */
} pd_config;

typedef enum {
    PD_KEY_INT,     /* int32 with [min, max] */
    PD_KEY_U64,     /* seed */
    PD_KEY_REAL,    /* double with [min, max] */
    PD_KEY_CHOICE,  /* one of the '|' separated choices */
    PD_KEY_STRING,  /* free text checked by a key-specific rule */
    PD_KEY_LIST     /* comma list of numbers */
} pd_key_kind;

typedef struct {
    const char *name;
    pd_key_kind kind;
    double min, max;       /* INT, REAL, and every element of LIST */
    const char *choices;   /* CHOICE: "ddpm|ddim" */
    const char *group;     /* "data", "task", "collect", "ae", "ddpm", "generate", "run" — for the TUI */
    const char *help;      /* one line */
    int run_only;          /* 1: says only how a run goes (threads, device), not what it computes: a resume may
                            * change it; every other setting is fixed once a session has run */
} pd_key_info;

void config_defaults(pd_config *c);
/* Apply a preset by name ("default", "paper" or "critique"); PD_ERR_CONFIG for an unknown one. */
pd_status config_preset(pd_config *c, const char *name, pd_error *err);
/* Set one key from its string form; "preset" applies a preset. */
pd_status config_set(pd_config *c, const char *key, const char *value, pd_error *err);
/* Parse "KEY=VALUE" and set it. */
pd_status config_set_pair(pd_config *c, const char *pair, pd_error *err);
/* The string form of a key's value ("0.05", "bn2,bn3"); PD_ERR_CONFIG for an unknown key. */
pd_status config_get(const pd_config *c, const char *key, char *buf, size_t size, pd_error *err);
/* Cross-key rules (beta_start < beta_end, ddim_steps <= timesteps, custom AE lists, ...). */
pd_status config_validate(const pd_config *c, pd_error *err);
/* Read a CSV file of key,value rows (header "key,value"). The rows a session's config.csv records after the
 * settings (config_is_record_key: versions, resolved values) are always skipped; any other key that is not a
 * setting is skipped when skip_unknown != 0, refused otherwise (a typo names its line). The file must be a regular
 * file of at most CONFIG_FILE_MAX bytes without NUL bytes. On failure c is left untouched. */
#define CONFIG_FILE_MAX (1024 * 1024)
pd_status config_load_csv(pd_config *c, const char *path, int skip_unknown, pd_error *err);
/* A session's own config.csv, to continue the session: as config_load_csv with skip_unknown, and every setting must
 * have its row (a missing or blanked row is refused naming the file and the key, never filled with a default). */
pd_status config_load_session_csv(pd_config *c, const char *path, pd_error *err);
/* The first setting, in table order, whose value differs between a and b and that is not run_only; NULL when
 * they agree on every such setting (what a resume may change). */
const pd_key_info *config_first_change(const pd_config *a, const pd_config *b);
/* 1 when key is one of the rows pipeline_write_config records after the settings. */
int config_is_record_key(const char *key);
/* Write every setting as key,value (atomic), followed by extra rows (extra_keys[i], extra_values[i]). */
pd_status config_write_csv(const pd_config *c, const char *path, const char *const *extra_keys,
                           const char *const *extra_values, int n_extra, pd_error *err);

/* The key table (for the TUI and --help). */
int config_key_count(void);
const pd_key_info *config_key_at(int i);
const pd_key_info *config_key_find(const char *name);

/* Parse a comma list of numbers ("16,32,64,128") into out[max]; returns the count or -1 on a bad element. */
int config_parse_list(const char *s, double *out, int max);

#endif
