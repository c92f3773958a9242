/* dd-model.h: the loaded graph, shared by the loader and the planner.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"
#include "dd-ops.h"

/* A tensor of the graph: a constant (weights, shapes) or an activation. */
typedef struct {
  char *name;
  DdShape shape; /* constants: their shape; the graph input: -1 for free dims */
  float *floats; /* float constants (owned) */
  int64_t *ints; /* int64 constants (owned) */
  gboolean is_const;
  int producer;      /* node index, -1 for constants and the graph input */
  gboolean unusable; /* a secondary output we do not compute (Dropout mask...) */
} DdValue;

typedef struct {
  const DdOpClass *klass;
  char *name;
  int n_in;              /* data inputs after setup */
  int in[DD_MAX_INPUTS]; /* value ids, -1 for an absent optional input */
  int out;
  DdAttrs a;
} DdNode;

struct _DdModel {
  gint ref_count;
  DdValue *values;
  int n_values;
  DdNode *nodes; /* in topological order */
  int n_nodes;
  GHashTable *by_name; /* value name -> id + 1 */
  int input, output;
  int opset;
  char *doc;
};

/* model.c */
DdModel *dd_model_alloc (void);
int dd_model_find (DdModel *m, const char *name); /* -1 when absent */
/* Refuses weights and float attributes that are not finite, and a
 * BatchNormalization variance that is not above -epsilon: they would turn
 * every pixel NaN. Any loader calls it on the model it made. */
gboolean dd_model_check_values (const DdModel *m, GError **error);
/* Shapes of every value for a 1 x C x height x width input. keep[] (or NULL
 * for all) selects the nodes to infer; shapes of others are left rank 0. */
/* How far (in input pixels) the targets' pixels see around their centre,
 * half their theoretical receptive field; and in *stride, the largest
 * spacing of their pixels in input pixels. */
int dd_model_receptive_radius (DdModel *m, const char *const *targets, int n_targets, int *stride);
gboolean dd_model_infer_shapes (DdModel *m, int height, int width, const gboolean *keep,
                                DdShape *shapes, GError **error);
