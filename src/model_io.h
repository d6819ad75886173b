/* model_io.h — a task model (model.h) to and from a PyTorch state_dict in safetensors (safetensors.h).
 *
 * pdiff's task models keep PyTorch's names, shapes and layouts (conv weights [out, in, kh, kw], linear weights
 * [out, in] over the flattened [c, h, w] input, BatchNorm weight/bias/running_mean/running_var [c]), so a state_dict
 * maps one to one and nothing is transposed. The tensors go in the order torch's state_dict() lists them: module
 * registration order, per module its parameters then its buffers — conv1.weight, conv1.bias, bn1.weight, bn1.bias,
 * bn1.running_mean, bn1.running_var, bn1.num_batches_tracked, ... — so that load_state_dict(strict=True) on the
 * torch module written from doc/design.md §6 takes the file as it is.
 *
 *   model_io_save(m, "pdiff-12.safetensors", 0, (const char *[]){"kind", "pdiff"}, 1, &err);
 *   pd_safetensors f; safetensors_read(&f, "resnet.safetensors", &err);
 *   model_io_load(m, &f, &err);      // every tensor present, none extra, shapes equal, values finite
 *   safetensors_free(&f);
 */
#ifndef PD_MODEL_IO_H
#define PD_MODEL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "safetensors.h"

/* Every parameter under its PyTorch name (F32), plus for each BatchNorm running_mean, running_var (F32) and
 * num_batches_tracked (I64 scalar, shape [], = batches_tracked); meta_kv: key0, value0, key1, value1, ... (n_meta
 * pairs) for __metadata__, to which "format": "pt" is added unless meta_kv has a "format". Atomic. */
pd_status model_io_save(pd_model *m, const char *path, int64_t batches_tracked, const char *const *meta_kv,
                        int n_meta, pd_error *err);

/* Every parameter and buffer of m from f (converted to float where stored otherwise). The names and shapes must
 * be the model's: the first tensor that is missing, extra or of another shape is named with what was expected;
 * a non-finite value is refused naming its tensor. num_batches_tracked is accepted (any dtype, one value) and
 * ignored. m is changed only when everything is right. */
pd_status model_io_load(pd_model *m, const pd_safetensors *f, pd_error *err);

/* How many tensors a state_dict of m holds (parameters, buffers and num_batches_tracked) and the i-th name in
 * state_dict order (buf[size]); for tests and messages. */
int model_io_count(const pd_model *m);
const char *model_io_name(const pd_model *m, int i, char *buf, size_t size);

#endif
