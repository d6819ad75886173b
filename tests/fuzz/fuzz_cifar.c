/* fuzz_cifar.c — the CIFAR-10 and CIFAR-100 batch reader (cifar.h). */
#include "cifar.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("data_batch_1.bin", data, size);
    if (!path)
        return 0;
    for (int32_t classes = 10; classes <= 100; classes += 90) {
        uint8_t *pixels = NULL;
        int32_t *labels = NULL, n = 0;
        pd_error err = {0};
        if (cifar_read_file(path, classes, &pixels, &labels, &n, &err) == PD_OK)
            for (int32_t i = 0; i < n; i++)
                if (labels[i] < 0 || labels[i] >= classes)
                    abort(); /* the reader promises labels in range */
        free(pixels);
        free(labels);
    }
    return 0;
}
