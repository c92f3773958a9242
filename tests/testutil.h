/* testutil.h: helpers shared by the test programs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "onnx.pb-c.h"

/* Path below the shared test data folder (DD_SHARED_DIR), or NULL after
 * skipping the test when that folder is absent. */
char *tu_shared_path (const char *relative);

/* A tensor read from a serialized onnx.TensorProto (.pb) file. */
typedef struct {
  char *name;
  int rank;
  int64_t dims[6];
  float *data;
  gsize count;
} TuTensor;

TuTensor *tu_tensor_load (const char *path, GError **error);
void tu_tensor_free (TuTensor *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TuTensor, tu_tensor_free)

/* An image file read with GEGL, or NULL when GEGL cannot read it. */
typedef struct _GeglBuffer GeglBuffer;
GeglBuffer *tu_load_image (const char *path);
/* Writes width x height pixels in babl format through the GEGL operation
 * saver ("gegl:png-save", "gegl:tiff-save"), with the saver's properties
 * that follow as NULL-terminated name/value pairs; FALSE if no file came of it. */
gboolean tu_save_image (const char *path, const char *saver, const char *format, const void *pixels,
                        int width, int height, const char *first_property, ...);

/* The names in a folder, sorted and joined by spaces ("" when empty or
 * unreadable). */
char *tu_folder_names (const char *folder);

/* Deletes a folder and everything below it (symbolic links, not their
 * targets). */
void tu_remove_tree (const char *path);

/* max|a - b| / max|b| and ||a - b|| / ||b||. */
double tu_max_rel_error (const float *a, const float *b, gsize n);
double tu_rl2_error (const float *a, const float *b, gsize n);
/* The share of elements with |a - b| > tolerance * max|b| (NaNs included). */
double tu_share_off (const float *a, const float *b, gsize n, double tolerance);

/* ---- A small ONNX model builder, for tests that need hand-made graphs ------ */

/* Every message and string the builder makes belongs to the TuModel and is
 * freed with it, so tests may poke at the returned protos (spoil a data type,
 * add external data) without bookkeeping of their own. */
typedef struct _TuModel TuModel;

TuModel *tu_model_new (int opset);
void tu_model_free (TuModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TuModel, tu_model_free)

/* Hands mem (from g_malloc) to the model, which g_free()s it; returns mem. */
gpointer tu_model_own (TuModel *m, gpointer mem);

/* A FLOAT initializer of shape dims[rank], data in row-major order. */
Onnx__TensorProto *tu_model_add_initializer (TuModel *m, const char *name, int rank,
                                             const int64_t *dims, const float *data);

/* A node; inputs and outputs are comma-separated tensor names ("x,w,b"; an
 * empty name is an absent optional input). attrs is a space-separated list of
 * name=value: "[1,2]" gives INTS, an integer INT, another number FLOAT,
 * anything else STRING. E.g. "kernel_shape=[3,3] group=2 alpha=0.1". */
Onnx__NodeProto *tu_model_add_node (TuModel *m, const char *op_type, const char *name,
                                    const char *inputs, const char *outputs, const char *attrs);

/* The graph input (FLOAT, dims[rank]; a negative dim is symbolic) and an
 * output (FLOAT, shape unstated). */
void tu_model_set_input (TuModel *m, const char *name, int rank, const int64_t *dims);
void tu_model_add_output (TuModel *m, const char *name);

/* The serialized ModelProto. */
GBytes *tu_model_pack (TuModel *m);
