/* fuzz_state.c — binary state files (state.h): the container (magic, version, kind, sections, CRC-32) and every
 * section a stage reads back (each name src/ asks state_get for), plus the evaluated-model store state/models.bin
 * (zoo.h).
 * The input's first byte picks what to read; the rest is the file. A fuzzer that must also match the CRC-32 rarely
 * gets past the checksum, so with the first byte's high bit set the target fixes the checksum before reading, and
 * the parsing behind it is fuzzed too. */
#include <zlib.h>

#include "fuzz.h"
#include "state.h"
#include "zoo.h"

static const char *const fuzz_kinds[] = {NULL, "task", "collect", "ae", "ddpm", "stages", "models"};
static const char *const fuzz_sections[] = {
    "accuracy", "arch",     "buffers",    "complete",   "correct", "d",         "done",     "ema",
    "ema_decay", "geometry", "k",         "kind",       "labels",  "latents",   "length",   "loss",
    "loss_acc", "loss_n",   "loss_sum",   "loss_window", "m",      "max_iou",   "mean",     "momentum",
    "n",        "n_test",   "nearest_id", "nearest_l2", "params",  "preds",     "run",      "runs_done",
    "seen",     "shape",    "std",        "step",       "v",       "vector",    "vectors"};

static void fuzz_read_state(const char *path, const char *kind)
{
    pd_state *s = NULL;
    pd_error err = {0};
    if (state_load(&s, path, kind, &err) != PD_OK)
        return;
    for (size_t i = 0; i < sizeof fuzz_sections / sizeof *fuzz_sections; i++) {
        int64_t count = 0, iv;
        double dv;
        for (int dt = PD_DTYPE_F32; dt <= PD_DTYPE_I64; dt++) {
            const uint8_t *p = state_get(s, fuzz_sections[i], (pd_dtype)dt, -1, &count, &err);
            if (p && count > 0) {
                volatile uint8_t sink = p[0]; /* the section's data is readable */
                (void)sink;
            }
        }
        state_get_i64(s, fuzz_sections[i], &iv, &err);
        state_get_f64(s, fuzz_sections[i], &dv, &err);
    }
    state_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t how = data[0];
    data++, size--;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if ((how & 0x80) && size >= 4) { /* a valid checksum over what the fuzzer made */
        uLong crc = crc32(0L, copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    const char *path = fuzz_file("state.bin", copy, size);
    free(copy);
    if (!path)
        return 0;
    size_t k = (how & 0x7f) % (sizeof fuzz_kinds / sizeof *fuzz_kinds);
    fuzz_read_state(path, fuzz_kinds[k]);
    if (k == 6) {
        pd_zoo z;
        memset(&z, 0, sizeof z);
        pd_error err = {0};
        zoo_load(&z, path, &err);
        zoo_free(&z);
    }
    return 0;
}
