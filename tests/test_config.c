/* test_config.c — the key table, set/get, refusals, presets, AE geometry coupling, config.csv round trips. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"



static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

/* err.msg starts with "key: " */
static int names_key(const pd_error *err, const char *key)
{
    size_t n = strlen(key);
    return strncmp(err->msg, key, n) == 0 && err->msg[n] == ':' && !strchr(err->msg, '\n');
}

static void test_table_and_defaults(void)
{
    pd_config c;
    pd_error err = {0};
    config_defaults(&c);
    pd_status s = config_validate(&c, &err);
    tap_ok(s == PD_OK, "defaults pass validate (%s)", s == PD_OK ? "ok" : err.msg);

    int n = config_key_count(), complete = 1;
    for (int i = 0; i < n; i++) {
        const pd_key_info *k = config_key_at(i);
        if (!k || !k->name || !k->help || !*k->help || !k->group || config_key_find(k->name) != k ||
            (k->kind == PD_KEY_CHOICE && !k->choices))
            complete = 0;
    }
    tap_ok(n >= 44 && complete, "key table: %d keys, each with help, group and lookup", n);
    tap_ok(config_key_at(-1) == NULL && config_key_at(n) == NULL && config_key_find("colour") == NULL,
           "out-of-table lookups give NULL");

    char buf[PD_CONFIG_STR];
    static const char *const expect[][2] = {
        {"dataset", "fashion-mnist"}, {"data_dir", ""}, {"arch", "convnet"}, {"width", "64"}, {"epochs", "2"},
        {"batch", "128"}, {"lr", "0.05"}, {"momentum", "0.9"}, {"weight_decay", "0.0005"}, {"target", "auto"},
        {"k", "200"}, {"save_every", "2"}, {"collect_lr", "0.01"}, {"ae", "small"}, {"ae_fold", "3"},
        {"ae_kernel", "3"}, {"ae_enc", "2,2,2,2"}, {"ae_dec", "2,64,64,8"}, {"ae_steps", "1000"},
        {"ae_batch", "200"}, {"ae_lr", "0.001"}, {"ae_weight_decay", "2e-06"}, {"input_noise", "0.001"},
        {"latent_noise", "0.1"}, {"normalize", "coordinate"}, {"ddpm_steps", "1500"}, {"ddpm_batch", "200"},
        {"ddpm_lr", "0.001"}, {"ddpm_weight_decay", "2e-06"}, {"ddpm_channels", "16,32,64,128"},
        {"timesteps", "1000"}, {"beta_start", "0.0001"}, {"beta_end", "0.02"}, {"sampler", "ddpm"},
        {"ddim_steps", "100"}, {"n_generate", "100"}, {"n_recon", "10"}, {"n_noise", "10"},
        {"noise_sigmas", "0.001,0.01,0.05"}, {"n_finetune", "10"}, {"finetune_steps", "20"}, {"seed", "1"},
        {"threads", "0"}, {"device", "cpu"}, {"preset", "default"}, {"lr_schedule", "cosine"},
        {"lr_milestones", "10,20"}, {"lr_gamma", "0.1"}, {"augment", "none"}, {"k_span", "0"},
        {"collect_mode", "trajectory"}, {"collect_runs", "10"}, {"ddpm_ema", "0"}, {"best_of_n", "10"},
        {"gen_seed", "0"}, {"init", ""}, {"checkpoints", ""},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (config_get(&c, expect[i][0], buf, sizeof buf, &err) != PD_OK || strcmp(buf, expect[i][1]) != 0) {
            ok = 0;
            tap_diag("%s: got '%s' want '%s'", expect[i][0], buf, expect[i][1]);
        }
    tap_ok(ok, "default values as specified");
    s = config_get(&c, "colour", buf, sizeof buf, &err);
    tap_ok(s == PD_ERR_CONFIG && strcmp(err.msg, "colour: unknown key (see pdiff --help for the list)") == 0,
           "config_get of an unknown key: %s", err.msg);
    s = config_get(&c, "dataset", buf, 4, &err);
    tap_ok(s != PD_OK, "config_get into a too small buffer fails");

    /* get then set back changes nothing, for every key */
    pd_config d = c;
    ok = 1;
    for (int i = 0; i < n; i++) {
        const char *name = config_key_at(i)->name;
        if (config_get(&c, name, buf, sizeof buf, &err) != PD_OK || config_set(&d, name, buf, &err) != PD_OK)
            ok = 0;
    }
    tap_ok(ok && memcmp(&c, &d, sizeof c) == 0, "get then set of every key is the identity");
}

/* A valid, non-default sample value per key and the canonical string config_get must return. */
static const char *const samples[][3] = {
    {"dataset", "idx:/data/my set", "idx:/data/my set"}, {"data_dir", "/srv/data dir", "/srv/data dir"},
    {"arch", "resnet18", "resnet18"},    {"width", "4096", "4096"},          {"epochs", "0", "0"},
    {"batch", " 65536 ", "65536"},       {"lr", "10", "10"},                 {"momentum", "0", "0"},
    {"lr_schedule", "constant", "constant"},
    {"weight_decay", "1e-4", "0.0001"},  {"target", "layer4.*.bn?, fc", "layer4.*.bn?,fc"},
    {"k", "100000", "100000"},           {"save_every", "7", "7"},           {"collect_lr", "0.125", "0.125"},
    {"ae", "medium", "medium"},          {"ae_fold", "2", "2"},              {"ae_kernel", "1", "1"},
    {"ae_enc", "8, 16,32,4096", "8,16,32,4096"},                             {"ae_dec", "1,1,1,1", "1,1,1,1"},
    {"ae_steps", "30000", "30000"},      {"ae_batch", "1", "1"},             {"ae_lr", "0.0003", "0.0003"},
    {"ae_weight_decay", "0", "0"},       {"input_noise", "1", "1"},          {"latent_noise", "0", "0"},
    {"normalize", "tensor", "tensor"},   {"ddpm_steps", "0", "0"},           {"ddpm_batch", "512", "512"},
    {"ddpm_lr", "2.5e-4", "0.00025"},    {"ddpm_weight_decay", "0.5", "0.5"},
    {"ddpm_channels", "64,128,256,512", "64,128,256,512"},                   {"timesteps", "2", "2"},
    {"beta_start", "0.5", "0.5"},        {"beta_end", "0.75", "0.75"},       {"sampler", "ddim", "ddim"},
    {"ddim_steps", "50", "50"},          {"n_generate", "1", "1"},           {"n_recon", "0", "0"},
    {"n_noise", "3", "3"},               {"noise_sigmas", "1e-3,0.5,2", "0.001,0.5,2"},
    {"n_finetune", "0", "0"},            {"finetune_steps", "5", "5"},
    {"seed", "18446744073709551615", "18446744073709551615"},                {"threads", "256", "256"},
    {"device", "cuda", "cuda"},          {"preset", "paper", "paper"},
    {"lr_milestones", "5, 15,25", "5,15,25"},                                {"lr_gamma", "0.5", "0.5"},
    {"augment", "cropflip", "cropflip"}, {"k_span", "1000000000", "1000000000"},
    {"collect_mode", "independent", "independent"},                          {"collect_runs", "1", "1"},
    {"ddpm_ema", "0.9999", "0.9999"},    {"best_of_n", "1", "1"},            {"gen_seed", "7", "7"},
    {"init", "/data/my model.safetensors", "/data/my model.safetensors"},
    {"checkpoints", "ckpt dir", "ckpt dir"},
};

static void test_set_get(void)
{
    pd_error err = {0};
    char buf[PD_CONFIG_STR];
    int ok = 1, covered = 0;
    for (int i = 0; i < config_key_count(); i++) {
        const char *name = config_key_at(i)->name;
        for (size_t j = 0; j < sizeof samples / sizeof samples[0]; j++) {
            if (strcmp(samples[j][0], name) != 0)
                continue;
            covered++;
            pd_config c;
            config_defaults(&c);
            pd_status s = config_set(&c, name, samples[j][1], &err);
            if (s != PD_OK || config_get(&c, name, buf, sizeof buf, &err) != PD_OK || strcmp(buf, samples[j][2])) {
                ok = 0;
                tap_diag("%s = '%s': %s, got '%s'", name, samples[j][1], s == PD_OK ? "set" : err.msg, buf);
            }
        }
    }
    tap_ok(ok && covered == config_key_count(), "every key (%d of %d) round-trips set -> get", covered,
           config_key_count());
}

static void test_refusals(void)
{
    static const char *const bad[][2] = {
        {"k", "1"},           {"k", "100001"},        {"k", "abc"},          {"k", "5.5"},       {"k", ""},
        {"k", "99999999999999999999"},                {"epochs", "-1"},      {"batch", "0"},     {"lr", "0"},
        {"lr", "10.5"},       {"lr", "0,05"},         {"lr", "nan"},         {"lr", "inf"},      {"momentum", "1"},
        {"input_noise", "1.5"},                       {"latent_noise", "-0.1"},                  {"beta_start", "0"},
        {"beta_end", "1"},    {"timesteps", "1"},     {"threads", "257"},    {"width", "0"},     {"seed", "-1"},
        {"seed", "18446744073709551616"},             {"seed", "1.5"},       {"seed", "0x10"},   {"arch", "vgg"},
        {"sampler", "DDPM"},  {"device", "tpu"},      {"ae", "large"},       {"preset", "fast"},
        {"dataset", "imagenet"},                      {"dataset", "idx:"},   {"dataset", "cifar:"},
        {"target", ""},       {"target", "a b"},      {"target", "layer[1]"},                    {"target", "a,,b"},
        {"target", "all,fc"}, {"ae_enc", "2,2,2"},    {"ae_enc", "2,2,2,2,2"},                   {"ae_enc", "0,2,2,2"},
        {"ae_dec", "2,64,64,4097"},                   {"ae_dec", "2,6.5,64,8"},
        {"ddpm_channels", "a,b,c,d"},                 {"noise_sigmas", ""},  {"noise_sigmas", "0"},
        {"noise_sigmas", "-0.1"},                     {"noise_sigmas", "0.1,"},
        {"noise_sigmas", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"},                                   {"ae_fold", "1"},
        {"ae_kernel", "0"},   {"standardize", "2"},   {"ddim_steps", "0"},   {"n_generate", "0"},
        {"normalize", "std"}, {"lr_schedule", "linear"},                     {"lr_milestones", "1.5"},
        {"lr_milestones", "0"},                       {"lr_gamma", "0"},     {"lr_gamma", "1.5"},
        {"augment", "flip"},  {"k_span", "-1"},       {"collect_mode", "runs"},                  {"collect_runs", "0"},
        {"ddpm_ema", "1"},    {"ddpm_ema", "-0.1"},   {"best_of_n", "0"},    {"gen_seed", "-1"},
    };
    pd_error err = {0};
    int ok = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pd_config c, before;
        config_defaults(&c);
        before = c;
        pd_status s = config_set(&c, bad[i][0], bad[i][1], &err);
        if (s != PD_ERR_CONFIG || !names_key(&err, bad[i][0]) || memcmp(&c, &before, sizeof c) != 0) {
            ok = 0;
            tap_diag("%s = '%s' not refused properly: %s", bad[i][0], bad[i][1], s == PD_OK ? "accepted" : err.msg);
        }
    }
    tap_ok(ok, "%d bad values refused, key named, config untouched", (int)(sizeof bad / sizeof bad[0]));

    pd_config c;
    config_defaults(&c);
    config_set(&c, "k", "abc", &err);
    tap_ok(strcmp(err.msg, "k: must be an integer in [2, 100000], got 'abc'") == 0, "message: %s", err.msg);
    config_set(&c, "lr", "0", &err);
    tap_ok(strcmp(err.msg, "lr: must be a number in (0, 10], got '0'") == 0, "message: %s", err.msg);
    config_set(&c, "arch", "vgg", &err);
    tap_ok(strstr(err.msg, "arch: must be one of") && strstr(err.msg, "resnet18") && strstr(err.msg, "'vgg'"),
           "message: %s", err.msg);
    pd_status s = config_set(&c, "colour", "red", &err);
    tap_ok(s == PD_ERR_CONFIG && strcmp(err.msg, "colour: unknown key (see pdiff --help for the list)") == 0,
           "unknown key: %s", err.msg);

    tap_ok(config_set_pair(&c, "k=50", &err) == PD_OK && c.k == 50, "set_pair k=50");
    tap_ok(config_set_pair(&c, "data_dir=a=b", &err) == PD_OK && strcmp(c.data_dir, "a=b") == 0,
           "set_pair splits at the first '='");
    tap_ok(config_set_pair(&c, "k", &err) == PD_ERR_CONFIG && strstr(err.msg, "KEY=VALUE"), "set_pair without '=': %s",
           err.msg);
    tap_ok(config_set_pair(&c, "=5", &err) == PD_ERR_CONFIG, "set_pair without a key: %s", err.msg);
    tap_ok(config_set_pair(&c, "colour=red", &err) == PD_ERR_CONFIG && names_key(&err, "colour"),
           "set_pair unknown key: %s", err.msg);
}

static void test_validate(void)
{
    pd_config c;
    pd_error err = {0};
    config_defaults(&c);
    config_set(&c, "beta_start", "0.02", &err);
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "beta_start"), "beta_start >= beta_end: %s",
           err.msg);
    config_defaults(&c);
    config_set(&c, "timesteps", "50", &err);
    tap_ok(config_validate(&c, &err) == PD_OK, "ddim_steps > timesteps is fine with the ddpm sampler");
    config_set(&c, "sampler", "ddim", &err);
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "ddim_steps"),
           "ddim_steps > timesteps with the ddim sampler: %s", err.msg);
    config_defaults(&c);
    c.k = 1; /* edited directly, bypassing config_set */
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "k"), "direct edit caught: %s", err.msg);
    config_defaults(&c);
    snprintf(c.ae_enc, sizeof c.ae_enc, "2,2,2");
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "ae_enc"), "3-element ae_enc: %s", err.msg);
    config_defaults(&c);
    c.lr = -1;
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "lr"), "negative lr: %s", err.msg);
    config_defaults(&c);
    config_set(&c, "device", "cuda", &err);
    tap_ok(config_validate(&c, &err) == PD_OK, "device=cuda validates (the backend reports availability)");
    config_preset(&c, "paper", &err);
    tap_ok(config_validate(&c, &err) == PD_OK, "the paper preset validates");

    double xs[8];
    tap_ok(config_parse_list("16, 32,64 ,128", xs, 8) == 4 && xs[0] == 16 && xs[3] == 128, "parse_list");
    tap_ok(config_parse_list("1,2,3", xs, 2) == -1 && config_parse_list("1,x", xs, 8) == -1 &&
               config_parse_list("", xs, 8) == -1 && config_parse_list("1,,2", xs, 8) == -1,
           "parse_list refuses bad lists");
}

static void test_presets_and_ae(void)
{
    pd_config c, d;
    pd_error err = {0};
    config_defaults(&c);
    config_set(&c, "epochs", "7", &err);
    tap_ok(config_set(&c, "preset", "paper", &err) == PD_OK, "preset=paper");
    tap_ok(strcmp(c.arch, "resnet18") == 0 && c.width == 64 && strcmp(c.target, "layer4.1.bn1,layer4.1.bn2") == 0 &&
               c.k == 200 && strcmp(c.ae, "medium") == 0 && c.ae_fold == 5 && c.ae_kernel == 5 &&
               strcmp(c.ae_enc, "4,4,4,4") == 0 && strcmp(c.ae_dec, "4,256,256,8") == 0 &&
               strcmp(c.ddpm_channels, "64,128,256,512") == 0 && c.ae_steps == 30000 && c.ddpm_steps == 30000 &&
               c.n_generate == 200 && strcmp(c.preset, "paper") == 0,
           "paper preset values");
    tap_ok(c.epochs == 30 && strcmp(c.dataset, "cifar100") == 0 && c.seed == 1 && c.n_recon == 10,
           "a preset resets the other keys to their defaults");
    config_set_pair(&c, "k=50", &err);
    tap_ok(c.k == 50 && strcmp(c.arch, "resnet18") == 0, "a later --set overrides the preset");
    tap_ok(config_preset(&c, "default", &err) == PD_OK, "preset=default");
    config_defaults(&d);
    tap_ok(memcmp(&c, &d, sizeof c) == 0, "the default preset equals config_defaults");
    tap_ok(config_preset(&c, "huge", &err) == PD_ERR_CONFIG && names_key(&err, "preset"), "unknown preset: %s",
           err.msg);

    config_defaults(&c);
    config_set(&c, "ae", "medium", &err);
    tap_ok(c.ae_fold == 5 && c.ae_kernel == 5 && strcmp(c.ae_enc, "4,4,4,4") == 0 &&
               strcmp(c.ae_dec, "4,256,256,8") == 0,
           "ae=medium sets the medium geometry");
    config_set(&c, "ae", "small", &err);
    tap_ok(c.ae_fold == 3 && c.ae_kernel == 3 && strcmp(c.ae_enc, "2,2,2,2") == 0 && strcmp(c.ae_dec, "2,64,64,8") == 0,
           "ae=small sets the small geometry");
    config_set(&c, "ae_fold", "3", &err);
    tap_ok(strcmp(c.ae, "small") == 0, "setting a geometry key to its current value keeps ae=small");
    static const char *const geo[][2] = {
        {"ae_fold", "4"}, {"ae_kernel", "7"}, {"ae_enc", "3,3,3,3"}, {"ae_dec", "3,32,32,4"}};
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        config_set(&c, "ae", "small", &err);
        config_set(&c, geo[i][0], geo[i][1], &err);
        if (strcmp(c.ae, "custom") != 0)
            ok = 0;
    }
    tap_ok(ok, "changing ae_fold / ae_kernel / ae_enc / ae_dec switches ae to custom");
    config_set(&c, "ae_fold", "6", &err);
    config_set(&c, "ae", "custom", &err);
    tap_ok(strcmp(c.ae, "custom") == 0 && c.ae_fold == 6 && strcmp(c.ae_dec, "3,32,32,4") == 0,
           "ae=custom keeps the current geometry");
}

static int configs_equal(const pd_config *a, const pd_config *b)
{
    char x[PD_CONFIG_STR], y[PD_CONFIG_STR];
    int same = 1;
    for (int i = 0; i < config_key_count(); i++) {
        const char *name = config_key_at(i)->name;
        config_get(a, name, x, sizeof x, NULL);
        config_get(b, name, y, sizeof y, NULL);
        if (strcmp(x, y) != 0) {
            tap_diag("%s: '%s' vs '%s'", name, x, y);
            same = 0;
        }
    }
    return same && memcmp(a, b, sizeof *a) == 0;
}

static void test_csv(void)
{
    pd_config c, d;
    pd_error err = {0};
    config_preset(&c, "paper", &err);
    config_set(&c, "data_dir", "-weird, \"dir\"\nwith newline", &err);
    config_set(&c, "lr", "0.1", &err);
    c.lr += 0.2; /* 0.30000000000000004: needs more than 9 digits */
    config_set(&c, "ae_fold", "4", &err);
    config_set(&c, "seed", "18446744073709551615", &err);
    config_set(&c, "noise_sigmas", "0.001,0.5", &err);
    config_set(&c, "dataset", "cifar:/data/cifar-10-batches-bin", &err);
    const char *path = tap_path("config.csv");
    const char *const keys[] = {"version_pdiff", "version_libcsv", "resolved_target"};
    const char *const vals[] = {"0.1.0", "3.0.3", "=layer4.1.bn1.weight"};
    pd_status s = config_write_csv(&c, path, keys, vals, 3, &err);
    tap_ok(s == PD_OK, "write config.csv (%s)", s == PD_OK ? "ok" : err.msg);

    config_defaults(&d);
    s = config_load_csv(&d, path, 1, &err);
    tap_ok(s == PD_OK, "load it back skipping the extra rows (%s)", s == PD_OK ? "ok" : err.msg);
    tap_ok(configs_equal(&c, &d), "write_csv then load_csv gives an identical config");

    config_defaults(&d);
    s = config_load_csv(&d, path, 0, &err);
    char want[64]; /* the header, a row per key (data_dir spans two lines), then the extras */
    snprintf(want, sizeof want, "config.csv:%d: version_pdiff: unknown key", config_key_count() + 3);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, want),
           "extra rows refused without skip_unknown: %s", err.msg);

    write_text(tap_path("unknown.csv"), "key,value\nk,50\ncolour,red\n");
    config_defaults(&d);
    pd_config before = d;
    s = config_load_csv(&d, tap_path("unknown.csv"), 0, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "unknown.csv:3: colour: unknown key"), "unknown key: %s", err.msg);
    tap_ok(memcmp(&d, &before, sizeof d) == 0, "a refused file leaves the config untouched");
    s = config_load_csv(&d, tap_path("unknown.csv"), 1, &err);
    tap_ok(s == PD_OK && d.k == 50, "unknown key skipped with skip_unknown");

    write_text(tap_path("badvalue.csv"), "key,value\nk,50\nlr,fast\n");
    s = config_load_csv(&d, tap_path("badvalue.csv"), 1, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "badvalue.csv:3: lr: must be a number"), "bad value: %s", err.msg);

    write_text(tap_path("badheader.csv"), "name,value\nk,50\n");
    s = config_load_csv(&d, tap_path("badheader.csv"), 1, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "badheader.csv:1:") && strstr(err.msg, "key,value"),
           "bad header: %s", err.msg);

    write_text(tap_path("ragged.csv"), "key,value\nk,50\nlr\n");
    s = config_load_csv(&d, tap_path("ragged.csv"), 1, &err);
    tap_ok(s == PD_ERR_FORMAT && strstr(err.msg, "ragged.csv:3: expected 2 fields, got 1"), "ragged: %s", err.msg);

    write_text(tap_path("order.csv"), "key,value\nk,77\npreset,paper\n");
    config_defaults(&d);
    s = config_load_csv(&d, tap_path("order.csv"), 0, &err);
    tap_ok(s == PD_OK && d.k == 77 && strcmp(d.arch, "resnet18") == 0, "a preset row applies first wherever it is");

    s = config_load_csv(&d, tap_path("missing.csv"), 0, &err);
    tap_ok(s == PD_ERR_IO && strstr(err.msg, "missing.csv"), "missing file: %s", err.msg);
}

/* Hostile --config files: NUL bytes, a huge unknown key, a device, a file over the size limit. */
static void test_csv_hostile(void)
{
    pd_config d, before;
    pd_error err = {0};
    config_defaults(&d);
    before = d;
    const char *path = tap_path("nul.csv");
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite("key,value\nk,50\nepochs,5\0zz\n", 1, 28, fp);
        fclose(fp);
    }
    pd_status s = config_load_csv(&d, path, 0, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "nul.csv:3: a NUL byte") && memcmp(&d, &before, sizeof d) == 0,
           "a NUL byte inside a value is refused, not cut: %s", err.msg);

    path = tap_path("longkey.csv");
    fp = fopen(path, "w");
    if (fp) {
        fputs("key,value\n", fp);
        for (int i = 0; i < 100000; i++)
            fputc('a', fp);
        fputs(",1\n", fp);
        fclose(fp);
    }
    s = config_load_csv(&d, path, 0, &err);
    /* the message names the file, whose path is as long as the build folder's: measure the rest */
    size_t rest = strlen(err.msg) - (strstr(err.msg, path) ? strlen(path) : 0);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "aaaa...: unknown key (see pdiff --help for the list)") && rest < 300,
           "a 100000-character unknown key is cut in the message (%zu characters besides the path)", rest);
    char key[200];
    memset(key, 'b', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    s = config_set(&d, key, "1", &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "bbb...: unknown key") && strlen(err.msg) < 150,
           "config_set cuts a long unknown key too: %s", err.msg);

    s = config_load_csv(&d, "/dev/zero", 0, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "/dev/zero: not a regular file"), "/dev/zero is refused: %s",
           err.msg);
    s = config_load_csv(&d, tap_path(""), 0, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "not a regular file"), "a folder is refused: %s", err.msg);

    path = tap_path("big.csv");
    fp = fopen(path, "w");
    if (fp) {
        fputs("key,value\n", fp);
        for (int i = 0; i < CONFIG_FILE_MAX / 8; i++)
            fputs("k,50\n\n\n\n", fp);
        fclose(fp);
    }
    s = config_load_csv(&d, path, 0, &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "big.csv: too large for a settings file"), "a file over %d bytes: %s",
           CONFIG_FILE_MAX, err.msg);
}

/* A session's config.csv to continue it: every setting must have its row; only run settings may change. */
static void test_session_csv(void)
{
    pd_config c, d;
    pd_error err = {0};
    config_defaults(&c);
    config_set(&c, "k", "50", &err);
    const char *path = tap_path("session.csv");
    const char *const keys[] = {"pdiff_version"};
    const char *const vals[] = {"0.1.0"};
    config_write_csv(&c, path, keys, vals, 1, &err);
    config_defaults(&d);
    pd_status s = config_load_session_csv(&d, path, &err);
    tap_ok(s == PD_OK && configs_equal(&c, &d), "config_load_session_csv reads a whole config.csv (%s)", err.msg);

    /* the k row blanked (an empty line: libcsv skips it), and the ae_steps row emptied to "","" */
    FILE *in = fopen(path, "r"), *out = fopen(tap_path("blanked.csv"), "w");
    char line[1024];
    while (in && out && fgets(line, sizeof line, in))
        fputs(strncmp(line, "\"k\",", 4) == 0 ? "\n" : strncmp(line, "\"ae_steps\",", 11) == 0 ? "\"\",\"\"\n" : line, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    config_defaults(&d);
    pd_config before = d;
    s = config_load_session_csv(&d, tap_path("blanked.csv"), &err);
    tap_ok(s == PD_ERR_CONFIG && strstr(err.msg, "blanked.csv: no row for the setting 'k'") &&
               memcmp(&d, &before, sizeof d) == 0,
           "a blanked row is refused naming file and key, not filled with the default: %s", err.msg);
    s = config_load_csv(&d, tap_path("blanked.csv"), 1, &err);
    tap_ok(s == PD_OK && d.k == 200, "(config_load_csv, for --config files, still takes a partial file)");

    const pd_key_info *th = config_key_find("threads"), *dev = config_key_find("device"), *k = config_key_find("k");
    tap_ok(th && th->run_only && dev && dev->run_only && k && !k->run_only, "threads and device are run-only, k is not");
    config_defaults(&d);
    d = c;
    config_set(&d, "threads", "3", &err);
    config_set(&d, "device", "cuda", &err);
    tap_ok(config_first_change(&c, &d) == NULL, "config_first_change ignores run-only settings");
    config_set(&d, "lr", "0.01", &err);
    config_set(&d, "seed", "9", &err);
    const pd_key_info *ch = config_first_change(&c, &d);
    tap_ok(ch && strcmp(ch->name, "lr") == 0, "config_first_change names the first changed setting (%s)",
           ch ? ch->name : "none");
    d = c;
    config_set(&d, "preset", "paper", &err);
    ch = config_first_change(&c, &d);
    tap_ok(ch && strcmp(ch->name, "preset") == 0, "a preset counts as a change (%s)", ch ? ch->name : "none");
}

/* The paper's v1 experiment, the critique's noise grid, the standardize alias, settings older sessions lack. */
static void test_issue13_keys(void)
{
    pd_config c, d;
    pd_error err = {0};
    config_defaults(&c);
    config_preset(&c, "paper", &err);
    tap_ok(strcmp(c.dataset, "cifar100") == 0 && strcmp(c.augment, "cropflip") == 0 && c.lr == 0.1 &&
               c.momentum == 0.9 && c.weight_decay == 5e-4 && c.batch == 64 && c.epochs == 30 &&
               strcmp(c.lr_schedule, "step") == 0 && strcmp(c.lr_milestones, "10,20") == 0 && c.lr_gamma == 0.1 &&
               c.save_every == 782 && strcmp(c.normalize, "none") == 0 && c.ae_batch == 200 && c.ae_lr == 1e-3 &&
               c.ae_weight_decay == 2e-6 && c.ddpm_batch == 200 && c.ddpm_lr == 1e-3 &&
               c.ddpm_weight_decay == 2e-6 && c.ddpm_ema == 0.9999,
           "preset=paper is the paper's v1 experiment (CIFAR-100, crop/flip, step lr, no normalisation, EMA)");
    config_set(&c, "preset", "critique", &err);
    tap_ok(strcmp(c.noise_sigmas, "0.06,0.12") == 0 && c.n_noise == 300 && strcmp(c.dataset, "cifar100") == 0 &&
               strcmp(c.preset, "critique") == 0 && config_validate(&c, &err) == PD_OK,
           "preset=critique sets the noise grid (0.06, 0.12; 300 each) on top of the paper preset");
    const char *path = tap_path("critique.csv");
    config_write_csv(&c, path, NULL, NULL, 0, &err);
    config_defaults(&d);
    tap_ok(config_load_session_csv(&d, path, &err) == PD_OK && configs_equal(&c, &d),
           "paper + critique reloads exactly from config.csv");

    config_defaults(&c);
    tap_ok(config_set(&c, "standardize", "0", &err) == PD_OK && strcmp(c.normalize, "none") == 0 &&
               config_set(&c, "standardize", " 1", &err) == PD_OK && strcmp(c.normalize, "coordinate") == 0,
           "standardize=0|1 is an alias of normalize=none|coordinate");
    /* an older session: standardize instead of normalize, none of the settings added since, a paper preset row */
    config_defaults(&c);
    config_preset(&c, "paper", &err);
    config_set(&c, "normalize", "none", &err);
    path = tap_path("old.csv");
    config_write_csv(&c, path, NULL, NULL, 0, &err);
    static const char *const added[] = {"lr_milestones", "lr_gamma", "augment",  "k_span",    "collect_mode",
                                        "collect_runs",  "ddpm_ema", "best_of_n", "gen_seed", "normalize",
                                        "init",          "checkpoints"};
    FILE *in = fopen(path, "r"), *out = fopen(tap_path("old2.csv"), "w");
    char line[1024];
    while (in && out && fgets(line, sizeof line, in)) {
        int skip = 0;
        for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
            char head[64];
            snprintf(head, sizeof head, "\"%s\",", added[i]);
            skip |= strncmp(line, head, strlen(head)) == 0;
        }
        if (strncmp(line, "\"normalize\",", 12) == 0)
            fputs("\"standardize\",\"0\"\n", out);
        else if (!skip)
            fputs(line, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    config_defaults(&d);
    pd_status s = config_load_session_csv(&d, tap_path("old2.csv"), &err);
    tap_ok(s == PD_OK && strcmp(d.normalize, "none") == 0 && strcmp(d.augment, "none") == 0 && d.ddpm_ema == 0 &&
               strcmp(d.dataset, "cifar100") == 0 && d.gen_seed == 0,
           "an older session's config.csv loads: standardize read as normalize, the settings added since at their "
           "defaults, not the preset's (%s)", err.msg);

    config_defaults(&c);
    FILE *mk = fopen(tap_path("init.safetensors"), "w");
    if (mk)
        fclose(mk);
    char cwd[4096];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    tap_ok(have_cwd && chdir(tap_path("")) == 0 && config_set(&c, "init", "init.safetensors", &err) == PD_OK &&
               c.init[0] == '/' && strstr(c.init, "/init.safetensors") && chdir(cwd) == 0,
           "init: a relative path that exists is made absolute (%s)", c.init);
    config_set(&c, "k_span", "100", &err);
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "k_span"), "k_span < k: %s", err.msg);
    config_set(&c, "k_span", "400", &err);
    tap_ok(config_validate(&c, &err) == PD_OK, "k_span >= k validates");
    config_set(&c, "collect_mode", "independent", &err);
    config_set(&c, "collect_runs", "201", &err);
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "collect_runs"), "collect_runs > k: %s",
           err.msg);
    config_defaults(&c);
    config_set(&c, "lr_milestones", "20,10", &err);
    tap_ok(config_validate(&c, &err) == PD_ERR_CONFIG && names_key(&err, "lr_milestones"),
           "decreasing milestones: %s", err.msg);
}

static void test_comma_locale(void)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8",
                                        "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++) {
        if (setlocale(LC_NUMERIC, names[i])) {
            char probe[16];
            snprintf(probe, sizeof probe, "%.1f", 0.5);
            if (strcmp(probe, "0,5") == 0)
                got = names[i];
            else
                setlocale(LC_NUMERIC, "C");
        }
    }
    if (!got) {
        tap_ok(1, "comma-decimal locale # SKIP no de_DE/fr_FR/... locale installed");
        return;
    }
    pd_config c, d;
    pd_error err = {0};
    config_defaults(&c);
    pd_status s = config_set(&c, "lr", "0.125", &err);
    char buf[64] = "";
    config_get(&c, "lr", buf, sizeof buf, &err);
    tap_ok(s == PD_OK && c.lr == 0.125 && strcmp(buf, "0.125") == 0, "LC_NUMERIC=%s: set/get use '.' (%s)", got, buf);
    const char *path = tap_path("config_locale.csv");
    config_write_csv(&c, path, NULL, NULL, 0, &err);
    FILE *fp = fopen(path, "r");
    char text[8192] = "";
    size_t n = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
    text[n] = '\0';
    if (fp)
        fclose(fp);
    tap_ok(strstr(text, "\"lr\",\"0.125\"") && strstr(text, "\"momentum\",\"0.9\"") && !strstr(text, "0,"),
           "LC_NUMERIC=%s: config.csv written with '.'", got);
    config_defaults(&d);
    s = config_load_csv(&d, path, 0, &err);
    tap_ok(s == PD_OK && configs_equal(&c, &d), "LC_NUMERIC=%s: reloads identically", got);
    setlocale(LC_NUMERIC, "C");
}

int main(void)
{
    tap_workdir("config");
    test_table_and_defaults();
    test_set_get();
    test_refusals();
    test_validate();
    test_presets_and_ae();
    test_csv();
    test_csv_hostile();
    test_session_csv();
    test_issue13_keys();
    test_comma_locale();
    return tap_done();
}
