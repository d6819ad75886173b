/* fuzz_config.c — settings files (--config FILE, a session's config.csv; config.h): strict and tolerant reads, then
 * validation and writing back what was accepted. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("config.csv", data, size);
    if (!path)
        return 0;
    for (int skip_unknown = 0; skip_unknown <= 1; skip_unknown++) {
        pd_config c;
        config_defaults(&c);
        pd_error err = {0};
        if (config_load_csv(&c, path, skip_unknown, &err) == PD_OK && config_validate(&c, &err) == PD_OK) {
            char buf[4096];
            for (int i = 0; i < config_key_count(); i++)
                config_get(&c, config_key_at(i)->name, buf, sizeof buf, &err);
        }
    }
    return 0;
}
