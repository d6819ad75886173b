/* config.c — the key table, parsing and checking of settings, presets, config.csv (see config.h).
 *
 * config_keys[] is the single source of truth: every key's type, range, choices, TUI group, help line and the
 * field it lives in. config_set(), config_get(), config_validate() (which re-checks every field, so a struct
 * edited directly is still caught) and config_write_csv() all walk it.
 *
 * Numbers are read and written in the "C" locale whatever LC_NUMERIC says. Doubles are written with "%.9g",
 * or "%.17g" when nine digits would not read back as the same double, so a written config reloads exactly.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "csvio.h"


static pd_status cfg_rule_dataset(const char *key, const char *value, char *canon, size_t size, pd_error *err);
static pd_status cfg_rule_file(const char *key, const char *value, char *canon, size_t size, pd_error *err);
static pd_status cfg_rule_target(const char *key, const char *value, char *canon, size_t size, pd_error *err);

#define CFG_F(field) .off = offsetof(pd_config, field), .size = sizeof(((pd_config *)0)->field)
#define CFG_INT(name, d, lo, hi, grp, hlp) {.info = {#name, PD_KEY_INT, lo, hi, NULL, grp, hlp}, CFG_F(name), .def = d}
#define CFG_REAL(name, d, lo, hi, fl, grp, hlp) \
    {.info = {#name, PD_KEY_REAL, lo, hi, NULL, grp, hlp}, CFG_F(name), .def = d, .flags = fl}
#define CFG_CHOICE(name, d, ch, grp, hlp) {.info = {#name, PD_KEY_CHOICE, 0, 0, ch, grp, hlp}, CFG_F(name), .def = d}
#define CFG_STRING(name, d, rl, grp, hlp) \
    {.info = {#name, PD_KEY_STRING, 0, 0, NULL, grp, hlp}, CFG_F(name), .def = d, .rule = rl}
#define CFG_LIST(name, d, lo, hi, fl, nmin, nmax, grp, hlp) \
    {.info = {#name, PD_KEY_LIST, lo, hi, NULL, grp, hlp}, CFG_F(name), .def = d, .flags = fl, .list_min = nmin, \
     .list_max = nmax}

/* Table order is the order of config.csv. "preset" comes first so that reloading a file first resets to the
 * preset and then applies the other rows on top. */
const cfg_key config_keys[] = {
    CFG_CHOICE(preset, "default", "default|paper|critique", "run",
               "default/paper reset all settings, critique sets the noise baselines; later keys override it"),
    CFG_STRING(dataset, "fashion-mnist", cfg_rule_dataset, "data",
               "fashion-mnist, mnist, cifar10, cifar100, idx:DIR or cifar:DIR"),
    CFG_STRING(data_dir, "", NULL, "data", "folder holding the data set files (empty: the data set's default)"),
    CFG_CHOICE(arch, "convnet", "mlp|convnet|resnet18", "task", "task model architecture"),
    CFG_INT(width, "64", 1, 4096, "task", "resnet18 base channels (64 = the real ResNet-18)"),
    CFG_INT(epochs, "2", 0, 10000, "task", "training epochs of the task model"),
    CFG_INT(batch, "128", 1, 65536, "task", "task model batch size"),
    CFG_REAL(lr, "0.05", 0, 10, CFG_MIN_OPEN, "task", "task model SGD learning rate"),
    CFG_REAL(momentum, "0.9", 0, 1, CFG_MAX_OPEN, "task", "SGD momentum"),
    CFG_CHOICE(lr_schedule, "cosine", "constant|cosine|step", "task",
               "task learning rate: constant, cosine decay to 0, or step (x lr_gamma at lr_milestones)"),
    CFG_LIST(lr_milestones, "10,20", 1, 10000, CFG_INTEGERS, 1, 16, "task",
             "step schedule: epochs at which the learning rate is multiplied by lr_gamma"),
    CFG_REAL(lr_gamma, "0.1", 0, 1, CFG_MIN_OPEN, "task", "step schedule: factor applied at each milestone"),
    CFG_REAL(weight_decay, "5e-4", 0, 1, 0, "task", "SGD weight decay"),
    CFG_CHOICE(augment, "none", "none|cropflip", "task",
               "task-model augmentation: none, or random 4-pixel-padded crop and horizontal flip"),
    CFG_STRING(init, "", cfg_rule_file, "task",
               "a safetensors state_dict (saved from PyTorch) the task model starts from; empty: random init"),
    CFG_STRING(target, "auto", cfg_rule_target, "collect", "parameters to collect: auto, all, or names/globs a,b"),
    CFG_INT(k, "200", 2, 100000, "collect", "number of checkpoints to collect (K)"),
    CFG_INT(save_every, "2", 1, 1000000, "collect", "training iterations between collected checkpoints"),
    CFG_REAL(collect_lr, "0.01", 0, 10, CFG_MIN_OPEN, "collect", "learning rate while collecting"),
    CFG_INT(k_span, "0", 0, 1000000000, "collect",
            "0: a checkpoint every save_every iterations; N: K checkpoints spread evenly over N iterations"),
    CFG_CHOICE(collect_mode, "trajectory", "trajectory|independent", "collect",
               "checkpoints from one training trajectory, or from collect_runs independently seeded runs"),
    CFG_INT(collect_runs, "10", 1, 100000, "collect", "independent mode: number of independently trained models (R)"),
    CFG_STRING(checkpoints, "", cfg_rule_file, "collect",
               "a folder of safetensors checkpoints made elsewhere, used instead of collecting (the first k by name)"),
    CFG_CHOICE(ae, "small", "small|medium|custom", "ae", "autoencoder geometry (custom: the ae_* values)"),
    CFG_INT(ae_fold, "3", 2, 64, "ae", "autoencoder stride (fold) per layer"),
    CFG_INT(ae_kernel, "3", 1, 64, "ae", "autoencoder convolution kernel size"),
    CFG_LIST(ae_enc, "2,2,2,2", 1, 4096, CFG_INTEGERS, 4, 4, "ae", "encoder channels, 4 numbers"),
    CFG_LIST(ae_dec, "2,64,64,8", 1, 4096, CFG_INTEGERS, 4, 4, "ae", "decoder channels, 4 numbers"),
    CFG_INT(ae_steps, "1000", 0, 10000000, "ae", "autoencoder training steps"),
    CFG_INT(ae_batch, "200", 1, 65536, "ae", "autoencoder batch size"),
    CFG_REAL(ae_lr, "1e-3", 0, 10, CFG_MIN_OPEN, "ae", "autoencoder AdamW learning rate"),
    CFG_REAL(ae_weight_decay, "2e-6", 0, 1, 0, "ae", "autoencoder AdamW weight decay"),
    CFG_REAL(input_noise, "0.001", 0, 1, 0, "ae", "noise mixed into the AE input during training (a)"),
    CFG_REAL(latent_noise, "0.1", 0, 1, 0, "ae", "noise mixed into the latent during training (b)"),
    CFG_CHOICE(normalize, "coordinate", "none|tensor|coordinate", "ae",
               "scaling of the collected vectors for the AE: none, per tensor, or per coordinate"),
    CFG_INT(ddpm_steps, "1500", 0, 10000000, "ddpm", "diffusion model training steps"),
    CFG_INT(ddpm_batch, "200", 1, 65536, "ddpm", "diffusion model batch size"),
    CFG_REAL(ddpm_lr, "1e-3", 0, 10, CFG_MIN_OPEN, "ddpm", "diffusion model AdamW learning rate"),
    CFG_REAL(ddpm_weight_decay, "2e-6", 0, 1, 0, "ddpm", "diffusion model AdamW weight decay"),
    CFG_LIST(ddpm_channels, "16,32,64,128", 1, 4096, CFG_INTEGERS, 4, 4, "ddpm", "UNet channels, 4 numbers"),
    CFG_INT(timesteps, "1000", 2, 100000, "ddpm", "diffusion timesteps (T)"),
    CFG_REAL(beta_start, "1e-4", 0, 1, CFG_MIN_OPEN | CFG_MAX_OPEN, "ddpm", "first beta of the linear schedule"),
    CFG_REAL(beta_end, "2e-2", 0, 1, CFG_MIN_OPEN | CFG_MAX_OPEN, "ddpm", "last beta of the linear schedule"),
    CFG_CHOICE(sampler, "ddpm", "ddpm|ddim", "ddpm", "sampler used to generate"),
    CFG_INT(ddim_steps, "100", 1, 100000, "ddpm", "DDIM sampling steps"),
    CFG_REAL(ddpm_ema, "0", 0, 1, CFG_MAX_OPEN, "ddpm", "EMA decay of the denoiser's weights, sampled from (0 = off)"),
    CFG_INT(n_generate, "100", 1, 100000, "generate", "parameter vectors to generate"),
    CFG_INT(n_recon, "10", 0, 100000, "generate", "autoencoder reconstructions to evaluate"),
    CFG_INT(n_noise, "10", 0, 100000, "generate", "noise-added originals per sigma"),
    CFG_LIST(noise_sigmas, "0.001,0.01,0.05", 0, 100, CFG_MIN_OPEN, 1, 16, "generate", "sigmas of noisy originals"),
    CFG_INT(n_finetune, "10", 0, 100000, "generate", "fine-tuned originals"),
    CFG_INT(finetune_steps, "20", 0, 1000000, "generate", "extra training steps of each fine-tuned original"),
    CFG_INT(best_of_n, "10", 1, 100000, "generate", "n of the expected best-of-n accuracy compared across kinds"),
    {.info = {"seed", PD_KEY_U64, 0, 18446744073709551615.0, NULL, "run", "random seed"}, CFG_F(seed), .def = "1"},
    {.info = {"gen_seed", PD_KEY_U64, 0, 18446744073709551615.0, NULL, "run",
              "seed of the AE, DDPM and sampling (0 = derived from seed)"}, CFG_F(gen_seed), .def = "0"},
    {.info = {"threads", PD_KEY_INT, 0, 256, NULL, "run", "CPU threads (0 = all cores)", .run_only = 1},
     CFG_F(threads), .def = "0"},
    {.info = {"device", PD_KEY_CHOICE, 0, 0, "cpu|cuda", "run", "compute device", .run_only = 1}, CFG_F(device),
     .def = "cpu"},
};

#undef CFG_NKEYS /* here the table itself gives the count */
#define CFG_NKEYS ((int)(sizeof config_keys / sizeof config_keys[0]))

int config_key_count(void)
{
    return CFG_NKEYS;
}

const pd_key_info *config_key_at(int i)
{
    return i >= 0 && i < CFG_NKEYS ? &config_keys[i].info : NULL;
}

const cfg_key *cfg_find(const char *name)
{
    for (int i = 0; name && i < CFG_NKEYS; i++)
        if (strcmp(config_keys[i].info.name, name) == 0)
            return &config_keys[i];
    return NULL;
}

const pd_key_info *config_key_find(const char *name)
{
    const cfg_key *k = cfg_find(name);
    return k ? &k->info : NULL;
}

/* ------------------------------------------------------------------------------------------ numbers */

static int cfg_parse_double(const char *s, double *out)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    char *end;
    double v = c ? strtod_l(s, &end, c) : strtod(s, &end);
    if (c)
        freelocale(c);
    if (end == s || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* "%.9g" when it reads back exactly, "%.17g" otherwise; always with a '.' decimal point. */
static void cfg_format_double(char *buf, size_t size, double v)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    double back;
    snprintf(buf, size, "%.9g", v);
    if (!cfg_parse_double(buf, &back) || back != v)
        snprintf(buf, size, "%.17g", v);
    if (c) {
        uselocale(old);
        freelocale(c);
    }
}

static void cfg_format_range(char *buf, size_t size, const cfg_key *k)
{
    char lo[32], hi[32];
    cfg_format_double(lo, sizeof lo, k->info.min);
    cfg_format_double(hi, sizeof hi, k->info.max);
    snprintf(buf, size, "%c%s, %s%c", (k->flags & CFG_MIN_OPEN) ? '(' : '[', lo, hi,
             (k->flags & CFG_MAX_OPEN) ? ')' : ']');
}

static int cfg_in_range(const cfg_key *k, double v)
{
    return ((k->flags & CFG_MIN_OPEN) ? v > k->info.min : v >= k->info.min) &&
           ((k->flags & CFG_MAX_OPEN) ? v < k->info.max : v <= k->info.max);
}

int config_parse_list(const char *s, double *out, int max)
{
    int n = 0;
    if (!s)
        return -1;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char item[64];
        while (len && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof item || n >= max)
            return -1;
        memcpy(item, s, len);
        item[len] = '\0';
        if (!cfg_parse_double(item, &out[n]))
            return -1;
        n++;
        if (!comma)
            return n;
        s = comma + 1;
    }
}

/* ------------------------------------------------------------------------------------------ string rules */

static pd_status cfg_copy(const char *key, const char *value, char *canon, size_t size, pd_error *err)
{
    if (strlen(value) >= size)
        return error_set(err, PD_ERR_CONFIG, "%s: too long (at most %zu characters)", key, size - 1);
    snprintf(canon, size, "%s", value);
    return PD_OK;
}

/* A file or folder the run reads (init, checkpoints): a relative path that exists is made absolute, so that the
 * session's config.csv names the same file whatever folder a later resume runs in. */
static pd_status cfg_rule_file(const char *key, const char *value, char *canon, size_t size, pd_error *err)
{
    char *abs = value[0] && value[0] != '/' ? realpath(value, NULL) : NULL;
    pd_status st = cfg_copy(key, abs ? abs : value, canon, size, err);
    free(abs);
    return st;
}

static pd_status cfg_rule_dataset(const char *key, const char *value, char *canon, size_t size, pd_error *err)
{
    int named = !strcmp(value, "fashion-mnist") || !strcmp(value, "mnist") || !strcmp(value, "cifar10");
    if (named || !strcmp(value, "cifar100") || (!strncmp(value, "idx:", 4) && value[4]) ||
        (!strncmp(value, "cifar:", 6) && value[6]))
        return cfg_copy(key, value, canon, size, err);
    return error_set(err, PD_ERR_CONFIG,
                     "%s: must be fashion-mnist, mnist, cifar10, cifar100, idx:DIR or cifar:DIR, got '%s'", key,
                     value);
}

static pd_status cfg_rule_target(const char *key, const char *value, char *canon, size_t size, pd_error *err)
{
    if (strcmp(value, "auto") == 0 || strcmp(value, "all") == 0)
        return cfg_copy(key, value, canon, size, err);
    char out[PD_CONFIG_STR];
    size_t o = 0;
    const char *s = value;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        while (len && *s == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (len == 0)
            return error_set(err, PD_ERR_CONFIG, "%s: empty name in the list '%s'", key, value);
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._*?") < len)
            return error_set(err, PD_ERR_CONFIG, "%s: '%.*s' is not a name or glob (letters, digits, . _ * ?)", key,
                             (int)len, s);
        if ((len == 3 && !memcmp(s, "all", 3)) || (len == 4 && !memcmp(s, "auto", 4)))
            return error_set(err, PD_ERR_CONFIG, "%s: '%.*s' cannot be combined with other names", key, (int)len, s);
        if (o + len + 2 > sizeof out)
            return error_set(err, PD_ERR_CONFIG, "%s: too long (at most %zu characters)", key, size - 1);
        if (o)
            out[o++] = ',';
        memcpy(out + o, s, len);
        o += len;
        if (!comma)
            break;
        s = comma + 1;
    }
    out[o] = '\0';
    return cfg_copy(key, out, canon, size, err);
}

/* ------------------------------------------------------------------------------------------ one key */

void cfg_trim(const char *in, char *out, size_t size)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n'))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}


/* Check value against key k; on success fill v (the canonical form for strings and lists). */
pd_status cfg_check(const cfg_key *k, const char *raw, cfg_value *v, pd_error *err)
{
    const char *name = k->info.name;
    char value[PD_CONFIG_STR + 2], range[96];
    if (strlen(raw) > PD_CONFIG_STR)
        return error_set(err, PD_ERR_CONFIG, "%s: value too long (%zu characters)", name, strlen(raw));
    if (k->info.kind == PD_KEY_STRING && !k->rule) /* free text (a folder): taken literally */
        snprintf(value, sizeof value, "%s", raw);
    else
        cfg_trim(raw, value, sizeof value);
    cfg_format_range(range, sizeof range, k);

    switch (k->info.kind) {
    case PD_KEY_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(value, &end, 10);
        if (end == value || *end || errno || x < (long long)k->info.min || x > (long long)k->info.max)
            return error_set(err, PD_ERR_CONFIG, "%s: must be an integer in %s, got '%s'", name, range, value);
        v->i = (int32_t)x;
        return PD_OK;
    }
    case PD_KEY_U64: {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end || errno)
            return error_set(err, PD_ERR_CONFIG, "%s: must be a whole number in [0, 18446744073709551615], got '%s'",
                             name, value);
        v->u = (uint64_t)x;
        return PD_OK;
    }
    case PD_KEY_REAL:
        if (!cfg_parse_double(value, &v->d) || !cfg_in_range(k, v->d))
            return error_set(err, PD_ERR_CONFIG, "%s: must be a number in %s, got '%s'", name, range, value);
        return PD_OK;
    case PD_KEY_CHOICE: {
        const char *c = k->info.choices;
        size_t n = strlen(value);
        while (*c) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && memcmp(c, value, n) == 0)
                return cfg_copy(name, value, v->s, k->size, err);
            c += len + (bar ? 1 : 0);
        }
        return error_set(err, PD_ERR_CONFIG, "%s: must be one of %s, got '%s'", name, k->info.choices, value);
    }
    case PD_KEY_STRING:
        return k->rule ? k->rule(name, value, v->s, k->size, err) : cfg_copy(name, value, v->s, k->size, err);
    case PD_KEY_LIST: {
        double xs[16];
        int n = config_parse_list(value, xs, k->list_max);
        int ok = n >= k->list_min && n <= k->list_max;
        for (int i = 0; ok && i < n; i++)
            ok = cfg_in_range(k, xs[i]) && (!(k->flags & CFG_INTEGERS) || xs[i] == floor(xs[i]));
        if (!ok) {
            char count[32];
            snprintf(count, sizeof count, k->list_min == k->list_max ? "%d" : "%d to %d", k->list_min, k->list_max);
            return error_set(err, PD_ERR_CONFIG, "%s: must be %s comma-separated %s in %s, got '%s'", name, count,
                             (k->flags & CFG_INTEGERS) ? "integers" : "numbers", range, value);
        }
        size_t o = 0;
        v->s[0] = '\0';
        for (int i = 0; i < n; i++) {
            char num[32];
            cfg_format_double(num, sizeof num, xs[i]);
            if (o + strlen(num) + 2 > k->size)
                return error_set(err, PD_ERR_CONFIG, "%s: too long (at most %zu characters)", name, k->size - 1);
            o += (size_t)snprintf(v->s + o, k->size - o, "%s%s", i ? "," : "", num);
        }
        return PD_OK;
    }
    }
    return error_set(err, PD_ERR_INTERNAL, "%s: bad key kind", name);
}

void cfg_store(pd_config *c, const cfg_key *k, const cfg_value *v)
{
    char *field = (char *)c + k->off;
    switch (k->info.kind) {
    case PD_KEY_INT: *(int32_t *)field = v->i; break;
    case PD_KEY_U64: *(uint64_t *)field = v->u; break;
    case PD_KEY_REAL: *(double *)field = v->d; break;
    default:
        memset(field, 0, k->size); /* zero padding, so equal configs compare equal byte for byte */
        memcpy(field, v->s, strlen(v->s));
        break;
    }
}

/* The string form of a field; 0 when buf is too small. */
int cfg_format(const pd_config *c, const cfg_key *k, char *buf, size_t size)
{
    const char *field = (const char *)c + k->off;
    char tmp[PD_CONFIG_STR + 32];
    switch (k->info.kind) {
    case PD_KEY_INT: snprintf(tmp, sizeof tmp, "%" PRId32, *(const int32_t *)field); break;
    case PD_KEY_U64: snprintf(tmp, sizeof tmp, "%" PRIu64, *(const uint64_t *)field); break;
    case PD_KEY_REAL: cfg_format_double(tmp, sizeof tmp, *(const double *)field); break;
    default:
        snprintf(tmp, sizeof tmp, "%.*s", (int)strnlen(field, k->size), field);
        break;
    }
    if (!buf || strlen(tmp) >= size)
        return 0;
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 1;
}

/* ------------------------------------------------------------------------------------------ presets */

static void cfg_ae_geometry(pd_config *c, const char *ae)
{
    static const char *const geo[2][5] = {{"small", "3", "3", "2,2,2,2", "2,64,64,8"},
                                          {"medium", "5", "5", "4,4,4,4", "4,256,256,8"}};
    static const char *const keys[5] = {"ae", "ae_fold", "ae_kernel", "ae_enc", "ae_dec"};
    const char *const *g = geo[strcmp(ae, "medium") == 0];
    for (int i = 0; i < 5; i++) {
        const cfg_key *k = cfg_find(keys[i]);
        cfg_value v;
        PD_ASSERT(cfg_check(k, g[i], &v, NULL) == PD_OK);
        cfg_store(c, k, &v);
    }
}

void config_defaults(pd_config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < CFG_NKEYS; i++) {
        cfg_value v;
        PD_ASSERT(cfg_check(&config_keys[i], config_keys[i].def, &v, NULL) == PD_OK);
        cfg_store(c, &config_keys[i], &v);
    }
}

/* The p-diff paper's v1 experiment (Wang et al. 2024, the official code's CIFAR-100 ResNet-18 run): SGD with
 * crop/flip for 30 epochs, lr 0.1 x0.1 at epochs 10 and 20; then only layer4.1's two BatchNorm layers keep training
 * for 200 epochs (782 iterations of batch 64 over 50 000 images), one checkpoint per epoch, at the lr the schedule
 * ended with; no normalisation; the medium AE and a 64-128-256-512 UNet, AdamW 1e-3 / 2e-6, batch 200, 30 000 steps
 * each, EMA 0.9999; 200 generated models. */
static const char *const cfg_paper[][2] = {
    {"dataset", "cifar100"},
    {"arch", "resnet18"},
    {"width", "64"},
    {"augment", "cropflip"},
    {"epochs", "30"},
    {"batch", "64"},
    {"lr", "0.1"},
    {"momentum", "0.9"},
    {"weight_decay", "5e-4"},
    {"lr_schedule", "step"},
    {"lr_milestones", "10,20"},
    {"lr_gamma", "0.1"},
    {"target", "layer4.1.bn1,layer4.1.bn2"},
    {"k", "200"},
    {"save_every", "782"},
    {"collect_lr", "0.001"},
    {"normalize", "none"},
    {"ae", "medium"},
    {"ae_steps", "30000"},
    {"ae_batch", "200"},
    {"ae_lr", "1e-3"},
    {"ae_weight_decay", "2e-6"},
    {"ddpm_channels", "64,128,256,512"},
    {"ddpm_steps", "30000"},
    {"ddpm_batch", "200"},
    {"ddpm_lr", "1e-3"},
    {"ddpm_weight_decay", "2e-6"},
    {"ddpm_ema", "0.9999"},
    {"n_generate", "200"},
};

/* The critique's noise baselines (Zeng et al. 2025): two sigmas, 300 noise-added originals each. */
static const char *const cfg_critique[][2] = {{"noise_sigmas", "0.06,0.12"}, {"n_noise", "300"}};

pd_status config_preset(pd_config *c, const char *name, pd_error *err)
{
    int paper = name && strcmp(name, "paper") == 0, critique = name && strcmp(name, "critique") == 0;
    if (!name || (strcmp(name, "default") != 0 && !paper && !critique))
        return error_set(err, PD_ERR_CONFIG, "preset: must be one of default/paper/critique, got '%s'",
                         name ? name : "");
    if (!critique)
        config_defaults(c);
    for (size_t i = 0; paper && i < sizeof cfg_paper / sizeof cfg_paper[0]; i++)
        PD_ASSERT(config_set(c, cfg_paper[i][0], cfg_paper[i][1], NULL) == PD_OK);
    for (size_t i = 0; critique && i < sizeof cfg_critique / sizeof cfg_critique[0]; i++)
        PD_ASSERT(config_set(c, cfg_critique[i][0], cfg_critique[i][1], NULL) == PD_OK);
    cfg_value v = {0};
    snprintf(v.s, sizeof v.s, "%s", name);
    cfg_store(c, cfg_find("preset"), &v);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------ set / get */

static int cfg_is_geometry(const char *key)
{
    return !strcmp(key, "ae_fold") || !strcmp(key, "ae_kernel") || !strcmp(key, "ae_enc") || !strcmp(key, "ae_dec");
}

/* "KEY: unknown key (...)" with a long key cut to 64 characters. */
static pd_status cfg_unknown_key(const char *key, pd_error *err)
{
    if (!key)
        key = "";
    return error_set(err, PD_ERR_CONFIG, "%.64s%s: unknown key (see pdiff --help for the list)", key,
                     strlen(key) > 64 ? "..." : "");
}

/* "standardize" (0 | 1), the key older versions had, sets normalize (none | coordinate). */
static pd_status cfg_set_standardize(pd_config *c, const char *value, pd_error *err)
{
    char v[8];
    cfg_trim(value, v, sizeof v);
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return error_set(err, PD_ERR_CONFIG, "standardize: must be 0 or 1 (it is now normalize=none|coordinate), "
                         "got '%.32s'", value);
    return config_set(c, "normalize", v[0] == '1' ? "coordinate" : "none", err);
}

pd_status config_set(pd_config *c, const char *key, const char *value, pd_error *err)
{
    if (!value)
        value = "";
    if (key && strcmp(key, "standardize") == 0)
        return cfg_set_standardize(c, value, err);
    const cfg_key *k = cfg_find(key);
    if (!k)
        return cfg_unknown_key(key, err);
    cfg_value v;
    PD_TRY(cfg_check(k, value, &v, err));
    if (strcmp(key, "preset") == 0)
        return config_preset(c, v.s, err);
    if (strcmp(key, "ae") == 0) {
        if (strcmp(v.s, "custom") == 0)
            cfg_store(c, k, &v); /* keeps the current geometry as the starting point */
        else
            cfg_ae_geometry(c, v.s);
        return PD_OK;
    }
    if (cfg_is_geometry(key)) {
        pd_config before = *c;
        cfg_store(c, k, &v);
        if (memcmp((char *)&before + k->off, (char *)c + k->off, k->size) != 0)
            cfg_store(c, cfg_find("ae"), &(const cfg_value){.s = "custom"});
        return PD_OK;
    }
    cfg_store(c, k, &v);
    return PD_OK;
}

pd_status config_set_pair(pd_config *c, const char *pair, pd_error *err)
{
    const char *eq = pair ? strchr(pair, '=') : NULL;
    if (!eq || eq == pair)
        return error_set(err, PD_ERR_CONFIG, "%s: expected KEY=VALUE", pair ? pair : "");
    char key[64];
    size_t n = (size_t)(eq - pair);
    if (n >= sizeof key)
        return error_set(err, PD_ERR_CONFIG, "%.*s...: unknown key (see pdiff --help for the list)", 40, pair);
    memcpy(key, pair, n);
    key[n] = '\0';
    char trimmed[64];
    cfg_trim(key, trimmed, sizeof trimmed);
    return config_set(c, trimmed, eq + 1, err);
}

pd_status config_get(const pd_config *c, const char *key, char *buf, size_t size, pd_error *err)
{
    const cfg_key *k = cfg_find(key);
    if (!k)
        return cfg_unknown_key(key, err);
    if (!cfg_format(c, k, buf, size))
        return error_set(err, PD_ERR_INTERNAL, "%s: buffer of %zu bytes too small for the value", key, size);
    return PD_OK;
}

/* ------------------------------------------------------------------------------------------ validate */

pd_status config_validate(const pd_config *c, pd_error *err)
{
    /* Every field on its own, through its string form (the struct may have been edited directly). This covers
     * the single-key rules too: ae_fold >= 2, ae_kernel >= 1, channel lists of exactly 4, batches >= 1, ... */
    for (int i = 0; i < CFG_NKEYS; i++) {
        const cfg_key *k = &config_keys[i];
        char buf[PD_CONFIG_STR + 32];
        cfg_value v;
        int text = k->info.kind != PD_KEY_INT && k->info.kind != PD_KEY_U64 && k->info.kind != PD_KEY_REAL;
        if ((text && !memchr((const char *)c + k->off, '\0', k->size)) || !cfg_format(c, k, buf, sizeof buf))
            return error_set(err, PD_ERR_CONFIG, "%s: value not terminated or too long", k->info.name);
        PD_TRY(cfg_check(k, buf, &v, err));
    }
    if (!(c->beta_start < c->beta_end))
        return error_set(err, PD_ERR_CONFIG, "beta_start: must be below beta_end (%g), got %g", c->beta_end,
                         c->beta_start);
    if (strcmp(c->sampler, "ddim") == 0 && c->ddim_steps > c->timesteps)
        return error_set(err, PD_ERR_CONFIG, "ddim_steps: must be at most timesteps (%d), got %d", (int)c->timesteps,
                         (int)c->ddim_steps);
    if (c->k_span > 0 && c->k_span < c->k)
        return error_set(err, PD_ERR_CONFIG, "k_span: must be 0 or at least k (%d iterations for %d checkpoints), "
                         "got %d", (int)c->k, (int)c->k, (int)c->k_span);
    if (strcmp(c->collect_mode, "independent") == 0 && c->collect_runs > c->k)
        return error_set(err, PD_ERR_CONFIG, "collect_runs: must be at most k (%d) so that every run gives a "
                         "checkpoint, got %d", (int)c->k, (int)c->collect_runs);
    double ms[16];
    int nm = config_parse_list(c->lr_milestones, ms, 16);
    for (int i = 1; i < nm; i++)
        if (ms[i] <= ms[i - 1])
            return error_set(err, PD_ERR_CONFIG, "lr_milestones: must be increasing epochs, got '%s'",
                             c->lr_milestones);
    /* device=cuda is accepted here; the backend reports when no GPU is usable. */
    return PD_OK;
}
