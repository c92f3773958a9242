/* dd-model.h: the loaded graph, shared by the loaders and the planner.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "dd-runtime.h"
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
  gboolean has_preprocessing; /* the file states it (Caffe's transform_param) */
  DdPreprocessing preprocessing;
};

/* A node's attribute as a loader describes it. */
typedef enum {
  DD_ATTR_INT,
  DD_ATTR_FLOAT,
  DD_ATTR_INTS,
  DD_ATTR_STRING,
  DD_ATTR_OTHER, /* a kind no op reads (tensors, graphs, lists of floats...) */
} DdAttrType;

typedef struct {
  const char *name;
  DdAttrType type;
  int64_t i;
  float f;
  const int64_t *ints;
  gsize n_ints;
  const char *s;
} DdAttr;

/* A node as a loader describes it, whatever its file format: an op of the
 * runtime by its ONNX name, with ONNX's attributes, which every op reads.
 * All borrowed from the loader, for the time of dd_model_add_nodes. */
typedef struct {
  const char *op;
  const char *name;
  int n_inputs;
  const char *const *inputs; /* "" or NULL for an absent optional input */
  int n_outputs;
  const char *const *outputs; /* outputs past the first are not computed */
  int n_attrs;
  const DdAttr *attrs;
} DdNodeSpec;

/* Real CNNs have hundreds of nodes (GoogLeNet 142 after folding, ResNet-152
 * about 500); planning is quadratic in the node count. */
#define DD_MAX_NODES 10000
/* The largest constant any loader accepts, in elements (4 GiB of floats). */
#define DD_MAX_CONST_ELEMENTS (INT64_C (1) << 30)

/* graph.c: building a model's graph from any loader's descriptions. */
/* A new activation or constant named name; -1 when the name is taken. */
int dd_model_add_value (DdModel *m, const char *name, GError **error);
/* Adds the nodes, in any order: wires them by tensor names, sorts them
 * topologically, lets each op read its attributes and folds constant views.
 * The specs array is reordered. */
gboolean dd_model_add_nodes (DdModel *m, DdNodeSpec *specs, int n, GError **error);
/* The graph's output: the tensor named name, which a node must make. */
gboolean dd_model_set_output (DdModel *m, const char *name, GError **error);

/* The loaders; both fail with DD_ERROR_PARSE when data is not of their
 * format at all. */
DdModel *dd_onnx_load (const guint8 *data, gsize size, GError **error);
DdModel *dd_caffe_load (const guint8 *data, gsize size, GError **error);

/* model.c */
DdModel *dd_model_alloc (void);
int dd_model_find (DdModel *m, const char *name); /* -1 when absent */
/* Refuses weights and float attributes that are not finite, and a
 * BatchNormalization variance that is not above -epsilon: they would turn
 * every pixel NaN. loader.c calls it on every model either loader makes. */
gboolean dd_model_check_values (const DdModel *m, GError **error);
/* Shapes of every value for a 1 x C x height x width input. keep[] (or NULL
 * for all) selects the nodes to infer; shapes of others are left rank 0. */
/* How far (in input pixels) the targets' pixels see around their centre,
 * half their theoretical receptive field; and in *stride, the largest
 * spacing of their pixels in input pixels. */
int dd_model_receptive_radius (DdModel *m, const char *const *targets, int n_targets, int *stride);
gboolean dd_model_infer_shapes (DdModel *m, int height, int width, const gboolean *keep,
                                DdShape *shapes, GError **error);
