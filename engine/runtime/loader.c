/* loader.c: opening a model of either file format.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-model.h"

#include <string.h>

/* Every ONNX exporter writes ModelProto.ir_version (field 1, a varint) first,
 * whose tag is this byte; a Caffe NetParameter's field 1 is a string. */
#define ONNX_FIRST_BYTE 0x08

/* Runs load; on a parse error (not its format at all) clears it and returns
 * NULL with *other set, so that the caller can try the other format. */
static DdModel *
try_load (DdModel *(*load) (const guint8 *, gsize, GError **), const guint8 *data, gsize size,
          gboolean *other, GError **error)
{
  GError *local = NULL;
  DdModel *m = load (data, size, &local);
  *other = !m && g_error_matches (local, DD_ERROR, DD_ERROR_PARSE);
  if (*other)
    g_error_free (local);
  else if (local)
    g_propagate_error (error, local);
  return m;
}

/* m, or NULL when its values would make every pixel NaN. */
static DdModel *
checked (DdModel *m, GError **error)
{
  if (m && !dd_model_check_values (m, error))
    g_clear_pointer (&m, dd_model_unref);
  return m;
}

static DdModel *
load_data (const guint8 *data, gsize size, GError **error)
{
  if (size > 0 && data[0] == ONNX_FIRST_BYTE)
    return dd_onnx_load (data, size, error);
  gboolean other;
  DdModel *m = try_load (dd_onnx_load, data, size, &other, error);
  if (other)
    m = try_load (dd_caffe_load, data, size, &other, error);
  if (other)
    dd_fail (error, DD_ERROR_PARSE,
             "not an ONNX model or a Caffe .caffemodel, or the file is truncated (%zu bytes)",
             size);
  return m;
}

DdModel *
dd_model_new_from_data (const guint8 *data, gsize size, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return checked (load_data (data, size, error), error);
}

DdModel *
dd_model_new_from_file (const char *path, GError **error)
{
  GError *local = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (!file) {
    dd_fail (error, DD_ERROR_IO, "cannot read model '%s': %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (file);
  gsize size = g_mapped_file_get_length (file);
  /* A file named as Caffe's gets Caffe's messages, not a guess's. */
  DdModel *m = g_str_has_suffix (path, ".caffemodel")
                   ? checked (dd_caffe_load (data, size, &local), &local)
                   : dd_model_new_from_data (data, size, &local);
  if (!m) {
    g_set_error (error, DD_ERROR, local->code, "model '%s': %s", path, local->message);
    g_error_free (local);
  }
  return m;
}

gboolean
dd_model_get_preprocessing (DdModel *model, DdPreprocessing *out)
{
  if (model->has_preprocessing)
    *out = model->preprocessing;
  return model->has_preprocessing;
}
