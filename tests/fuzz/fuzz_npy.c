/* fuzz_npy.c — the .npy reader (npy.h) on any bytes: the preamble, the hand-written parser of the header's dict
 * and the data length. An accepted array written again by npy_write_f32 must read back the same (shape and bits),
 * else abort(), which counts as a crash. */
#include "fuzz.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *v = NULL, *w = NULL;
    int nd = 0, nd2 = 0;
    int64_t shape[PD_ST_MAX_DIMS], shape2[PD_ST_MAX_DIMS];
    pd_error err = {0};
    if (npy_parse_f32(data, size, "fuzz.npy", &v, &nd, shape, &err) != PD_OK) {
        if (strchr(err.msg, '\n') || v) {
            fprintf(stderr, "fuzz_npy: a message of more than one line, or data left: %s\n", err.msg);
            abort();
        }
        return 0;
    }
    int64_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= shape[d];
    const char *path = fuzz_file("rewrite.npy", (const uint8_t *)"", 0); /* registered for clean-up */
    if (path) {
        if (npy_write_f32(path, v, nd, shape, &err) != PD_OK || npy_read_f32(path, &w, &nd2, shape2, &err) != PD_OK) {
            fprintf(stderr, "fuzz_npy: rewriting failed: %s\n", err.msg);
            abort();
        }
        if (nd2 != nd || memcmp(shape, shape2, (size_t)nd * sizeof *shape) != 0 ||
            (n && memcmp(v, w, (size_t)n * sizeof *v) != 0)) {
            fprintf(stderr, "fuzz_npy: the rewritten array differs\n");
            abort();
        }
    }
    free(v);
    free(w);
    return 0;
}
