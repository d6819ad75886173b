/* test_eval_reuse.c — the evaluations a sweep point takes from its shared session (src/eval_reuse.h): a vector
 * found by its exact bytes gets the recorded accuracy, loss and predictions; a vector differing in one bit, a file
 * of another test set or vector length, a damaged or missing file give nothing (the stage then evaluates). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval_reuse.h"
#include "tap.h"
#include "zoo.h"

#define D 4
#define NT 5

static int logged;
static void count_log(void *ud, const char *msg)
{
    (void)ud;
    (void)msg;
    logged++;
}

/* models.bin with three models whose vectors differ, one of them twice the same bytes as another's but later */
static const char *write_zoo(void)
{
    static const int32_t labels[NT] = {0, 1, 2, 1, 0};
    pd_zoo z;
    zoo_init(&z, D, NT);
    zoo_set_labels(&z, labels);
    for (int m = 0; m < 40; m++) {
        float v[D];
        uint8_t pred[NT];
        for (int j = 0; j < D; j++)
            v[j] = (float)(m * 10 + j) * 0.25f;
        for (int i = 0; i < NT; i++)
            pred[i] = (uint8_t)((m + i) % 3);
        zoo_add(&z, m % 2 ? "original" : "noise:0.01", v, 0.5 + m * 0.01, 1.0 / (m + 1), pred);
    }
    const char *path = tap_path("models.bin");
    pd_error err = {0};
    tap_ok(zoo_save(&z, path, &err) == PD_OK, "a zoo of 40 models saved (%s)", err.msg);
    zoo_free(&z);
    return path;
}

int main(void)
{
    tap_workdir("eval_reuse");
    const char *path = write_zoo();
    int32_t labels[NT] = {0, 1, 2, 1, 0};
    pd_callbacks cb = {.on_log = count_log};
    pd_eval_reuse *r;
    eval_reuse_open(&r, path, labels, NT, D, &cb);
    tap_ok(r != NULL, "the file opens for the same test labels and vector length");
    int ok = 1;
    for (int m = 0; m < 40; m++) {
        float v[D];
        uint8_t pred[NT];
        double acc = NAN, loss = NAN;
        for (int j = 0; j < D; j++)
            v[j] = (float)(m * 10 + j) * 0.25f;
        if (!eval_reuse_find(r, v, &acc, &loss, pred) || acc != 0.5 + m * 0.01 || loss != 1.0 / (m + 1))
            ok = 0;
        for (int i = 0; i < NT; i++)
            ok &= pred[i] == (uint8_t)((m + i) % 3);
    }
    tap_ok(ok, "each of the 40 vectors is found with its accuracy, loss and predictions");
    tap_ok(eval_reuse_hits(r) == 40, "40 hits counted");
    float v[D] = {0.0f, 0.25f, 0.5f, 0.75f};
    double acc, loss;
    tap_ok(eval_reuse_find(r, v, &acc, &loss, NULL) == 1, "found without predictions wanted");
    uint32_t bits;
    memcpy(&bits, &v[2], sizeof bits);
    bits ^= 1u;
    memcpy(&v[2], &bits, sizeof bits);
    tap_ok(eval_reuse_find(r, v, &acc, &loss, NULL) == 0, "a vector one bit away is not found");
    eval_reuse_free(r);
    tap_ok(eval_reuse_find(NULL, v, &acc, &loss, NULL) == 0 && eval_reuse_hits(NULL) == 0,
           "no file: nothing is found");

    labels[3] = 2;
    logged = 0;
    eval_reuse_open(&r, path, labels, NT, D, &cb);
    tap_ok(r == NULL && logged == 1, "other test labels: not used, one log line");
    labels[3] = 1;
    eval_reuse_open(&r, path, labels, NT, D + 1, &cb);
    tap_ok(r == NULL, "another vector length: not used");
    eval_reuse_open(&r, tap_path("missing.bin"), labels, NT, D, &cb);
    tap_ok(r == NULL, "a missing file: not used");
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 40, SEEK_SET);
        fputc(0x5a, f);
        fclose(f);
    }
    logged = 0;
    eval_reuse_open(&r, path, labels, NT, D, &cb);
    tap_ok(r == NULL && logged == 1, "a damaged file: not used, one log line");
    eval_reuse_free(r);
    return tap_done();
}
