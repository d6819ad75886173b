/* stage_import.h — models made elsewhere (internal to the pipeline files): init= and checkpoints=.
 *
 * init=FILE: the train stage's task model starts from a safetensors state_dict (model_io_load: every parameter
 * and BatchNorm buffer, names and shapes as the configured architecture and data set make them) instead of its
 * random initialisation, then trains `epochs` epochs (0: used as it is).
 * checkpoints=DIR: the safetensors files of DIR, in name order (strcmp of the file names), are checkpoints made
 * elsewhere: the train stage takes the first as the task model (it trains nothing; epochs is ignored, and said
 * so), the collect stage takes the target tensors of the first k as the K vectors instead of training
 * (stage_import_collect), and reports tensors outside the target that differ from the first checkpoint's.
 */
#ifndef PD_STAGE_IMPORT_H
#define PD_STAGE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline_ctx.h"

/* Before pipeline_run runs anything: the stages of mask that will run (resume skips the ones done[] marks,
 * unless an earlier one runs) get their imports checked cheaply: init and checkpoints both set (train or collect
 * runs); a missing init file, or not a regular file (train runs); a checkpoints folder that cannot be listed or
 * holds no safetensors files (train or collect), or fewer than k (collect). PD_ERR_CONFIG, one line naming the
 * file or folder. */
pd_status stage_import_precheck(const pd_pipeline *p, unsigned mask, int resume, const int64_t *done,
                                pd_error *err);
/* The size and CRC-32 of a file's bytes (a checkpoint signature's record of init=); PD_ERR_IO naming it. */
pd_status stage_import_signature(const char *path, int64_t *size, uint32_t *crc, pd_error *err);
/* Read the safetensors file at path and load it into the task model (model_io_load: strict names and shapes,
 * parameters and BatchNorm buffers). The errors name the file (and the tensor). */
pd_status stage_import_load(pd_pipeline *p, const char *path, pd_error *err);
/* The path of checkpoints=DIR's first file in name order. */
pd_status stage_import_first(const pd_config *c, char *path, size_t size, pd_error *err);
/* The collect stage from checkpoints=: the target of the first k files into vecs [k, d] (host), every file
 * validated; tensors outside the target compared with the task model's (state/task.bin, the first checkpoint):
 * a differing one is logged, and summary.csv gets checkpoints_outside_target_differ (files that differ). Leaves
 * the last file's weights in the task model (the caller reloads state/task.bin). */
pd_status stage_import_collect(pd_pipeline *p, float *vecs, pd_error *err);

#endif
