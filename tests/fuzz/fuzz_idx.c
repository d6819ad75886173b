/* fuzz_idx.c — the IDX reader (idx.h), plain and gzip-compressed (zlib reads both): images (3 dimensions) and
 * labels (1), the full read and the header-only read. */
#include "fuzz.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("t10k-images-idx3-ubyte", data, size);
    if (!path)
        return 0;
    for (int32_t ndim = 1; ndim <= 3; ndim += 2) {
        pd_idx x = {0};
        pd_error err = {0};
        if (idx_read(path, ndim, &x, &err) == PD_OK) {
            int64_t bytes = 1;
            for (int i = 0; i < x.ndim; i++)
                bytes *= x.dims[i];
            volatile uint8_t sink = bytes > 0 ? x.data[bytes - 1] : 0; /* the whole payload is there */
            (void)sink;
        }
        idx_free(&x);
        int32_t dims[3];
        idx_read_dims(path, ndim, dims, &err);
    }
    return 0;
}
