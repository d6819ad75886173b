/* fuzz_csv.c — the CSV reader (csvio.h): every cell of a table it accepts, as text and as a number. */
#include "csvio.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("table.csv", data, size);
    if (!path)
        return 0;
    pd_csv_table t = {0};
    pd_error err = {0};
    if (csvio_read(path, &t, &err) == PD_OK) {
        for (int64_t r = 0; r < t.rows; r++)
            for (int c = 0; c < t.cols; c++) {
                double v;
                const char *cell = csvio_cell(&t, r, c);
                if (!cell)
                    abort(); /* every cell of an accepted table exists */
                csvio_cell_double(&t, r, c, &v, &err);
            }
        csvio_column(&t, "id");
    }
    csvio_free(&t);
    return 0;
}
