/* png_cells.c — reads back the heatmap PNG of `pdiff plot` and checks that its cells' colours order as their IoUs.
 *
 *   png_cells similarity.png < cells        (lines "x y w h iou": a cell's rectangle in pixels and its IoU)
 *
 * The colour map (viridis) gets lighter as the IoU grows, so the luminance at each cell's centre must rise with its
 * IoU: for every pair of listed cells whose IoUs differ by more than 2 % of their range, the one with the higher IoU
 * must be the lighter. Prints one line per failure and the number of pairs compared; exit 0 when all agree, 1 on a
 * failure or when the PNG does not decode. */
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_CELLS 256

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: png_cells FILE.png < cells\n");
        return 2;
    }
    cairo_surface_t *s = cairo_image_surface_create_from_png(argv[1]);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "%s: %s\n", argv[1], cairo_status_to_string(cairo_surface_status(s)));
        return 1;
    }
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *px = cairo_image_surface_get_data(s);
    double lum[MAX_CELLS], iou[MAX_CELLS], lo = 1e9, hi = -1e9;
    int n = 0, bad = 0, pairs = 0;
    double x, y, cw, ch, v;
    while (n < MAX_CELLS && scanf("%lf %lf %lf %lf %lf", &x, &y, &cw, &ch, &v) == 5) {
        int cx = (int)(x + cw / 2), cy = (int)(y + ch / 2);
        if (cx < 0 || cy < 0 || cx >= w || cy >= h) {
            printf("cell at (%g, %g) lies outside the %dx%d image\n", x, y, w, h);
            return 1;
        }
        uint32_t p = *(const uint32_t *)(px + (size_t)cy * (size_t)stride + (size_t)cx * 4);
        lum[n] = 0.2126 * ((p >> 16) & 255) + 0.7152 * ((p >> 8) & 255) + 0.0722 * (p & 255);
        iou[n] = v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        n++;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (iou[i] - iou[j] > 0.02 * (hi - lo)) {
                pairs++;
                if (!(lum[i] > lum[j])) {
                    printf("IoU %g (luminance %.1f) is not lighter than IoU %g (luminance %.1f)\n", iou[i], lum[i],
                           iou[j], lum[j]);
                    bad++;
                }
            }
    printf("%d cells, %d pairs compared, %d out of order\n", n, pairs, bad);
    cairo_surface_destroy(s);
    return bad || n < 2 || pairs == 0;
}
