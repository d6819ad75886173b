/* augment.h — training-time data augmentation of task-model batches (augment=cropflip).
 *
 * cropflip is torchvision's RandomCrop(size, padding=4) followed by RandomHorizontalFlip(p=0.5), per image:
 * the image is padded with 4 zero-valued pixels (byte 0, before normalisation) on each side, a window of the
 * original size is cut at offset (dy, dx), each in 0..8 ((4, 4) is the original image), and the result is
 * mirrored left-right when `flip`. Output pixel (y, x) of channel ch is therefore source pixel
 * (y + dy - 4, (flip ? w - 1 - x : x) + dx - 4), or byte 0 when that lies outside the image.
 *
 * Every draw is a pure function of (stream, step, position in the batch): a resumed run, and every backend (the
 * batches are gathered and augmented on the host before upload), sees the same images. Evaluation never
 * augments.
 *
 *   uint64_t stream = augment_stream(shuffle_seed);
 *   augment_batch(&ds.train, idx, n, x, y, stream, step);   // like dataset_batch, augmented
 */
#ifndef PD_AUGMENT_H
#define PD_AUGMENT_H

#include <stdint.h>

#include "dataset.h"

#define AUGMENT_PAD 4

typedef struct {
    int32_t dy, dx; /* crop offsets in the padded image, 0..2 * AUGMENT_PAD */
    int32_t flip;   /* 1: mirror left-right after the crop */
} pd_augment_draw;

/* The augmentation stream of a training run, derived from its shuffling seed. */
uint64_t augment_stream(uint64_t shuffle_seed);

/* The draw of the image at position i of the batch of step `step`. */
pd_augment_draw augment_draw(uint64_t stream, int64_t step, int32_t i);

/* Where output pixel (y, x) of an h x w image comes from under draw d: 1 and (*sy, *sx) inside the image, or 0
 * for padding. */
int augment_source(const pd_augment_draw *d, int32_t h, int32_t w, int32_t y, int32_t x, int32_t *sy, int32_t *sx);

/* dataset_batch with each image cropped and flipped by augment_draw(stream, step, i). */
void augment_batch(const pd_split *s, const int32_t *idx, int32_t n, float *x, int32_t *y, uint64_t stream,
                   int64_t step);

#endif
