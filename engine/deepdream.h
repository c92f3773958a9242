/* deepdream.h: the public API of libdeepdream.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A DdModel is an ONNX CNN loaded into memory (weights and graph). A DdPlan
 * runs that model for one input size up to a chosen set of target tensors:
 * made once, then forward and backward run any number of times without
 * allocating. Backward pushes gradients set at the targets back to the input
 * image (never to the weights).
 *
 * Typical use, one DeepDream step:
 *
 *   g_autoptr (DdModel) model = dd_model_new_from_file ("googlenet.onnx", &error);
 *   const char *targets[] = { "inception_4c/output" };
 *   g_autoptr (DdPlan) plan = dd_plan_new (model, 768, 1024, targets, 1, 0, &error);
 *   memcpy (dd_plan_get_input (plan), image, ...);   // 1 x C x H x W floats
 *   dd_plan_forward (plan);
 *   // gradient of 0.5 * sum(a^2) at the target is a itself:
 *   memcpy (dd_plan_get_target_grad (plan, 0), dd_plan_get_target (plan, 0), ...);
 *   dd_plan_backward (plan);
 *   const float *g = dd_plan_get_input_grad (plan);
 *
 * Errors are reported through GError in the DD_ERROR domain with messages
 * that name the file, node, op or value at fault. A plan is not thread-safe;
 * distinct plans may run in distinct threads.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DD_ERROR (dd_error_quark ())
GQuark dd_error_quark (void);

typedef enum {
  DD_ERROR_IO,          /* a file could not be read or written */
  DD_ERROR_PARSE,       /* not an ONNX model, or truncated */
  DD_ERROR_UNSUPPORTED, /* an op, attribute or data type we do not run */
  DD_ERROR_INVALID,     /* inconsistent graph: missing tensor, cycle, bad shape */
  DD_ERROR_ARGUMENT,    /* a caller's parameter is out of range */
  DD_ERROR_MEMORY,      /* the job would not fit in memory */
  DD_ERROR_CANCELLED,
} DdError;

/* ---- Models ---------------------------------------------------------------- */

typedef struct _DdModel DdModel;

/* Loads an ONNX model (protobuf) from a file or from memory. Checks every op,
 * attribute and constant it will need; fails with a DD_ERROR naming the
 * problem. */
DdModel *dd_model_new_from_file (const char *path, GError **error);
DdModel *dd_model_new_from_data (const guint8 *data, gsize size, GError **error);
DdModel *dd_model_ref (DdModel *model);
void dd_model_unref (DdModel *model);

/* The graph's image input (e.g. "data") and its first output (e.g. "prob"). */
const char *dd_model_get_input_name (DdModel *model);
const char *dd_model_get_output_name (DdModel *model);
/* Input channels (3 for RGB/BGR nets). */
int dd_model_get_input_channels (DdModel *model);
/* The model's doc_string ("" when absent). */
const char *dd_model_get_doc (DdModel *model);

#define DD_MAX_DIMS 6

/* One activation tensor of the graph, with its shape for a given input size. */
typedef struct {
  const char *name;    /* owned by the model */
  const char *op_type; /* of the node that makes it ("Conv", "Relu"...) */
  int rank;
  int64_t dims[DD_MAX_DIMS];
} DdTensorInfo;

/* Every activation tensor (not weights) in graph order, with shapes for an
 * input of height x width. Returns a GArray of DdTensorInfo, or NULL with an
 * error when the model cannot take that size. */
GArray *dd_model_list_tensors (DdModel *model, int height, int width, GError **error);

/* ---- Plans ----------------------------------------------------------------- */

typedef struct _DdPlan DdPlan;

typedef enum {
  DD_PLAN_DEFAULT = 0,
  DD_PLAN_FORWARD_ONLY = 1 << 0, /* no backward: less memory */
} DdPlanFlags;

/* Plans a run of model on a 1 x C x height x width input up to the named
 * target tensors: keeps only the nodes they need, infers every shape and
 * lays every buffer out in one arena. */
DdPlan *dd_plan_new (DdModel *model, int height, int width, const char *const *targets,
                     int n_targets, DdPlanFlags flags, GError **error);
void dd_plan_free (DdPlan *plan);

/* Bytes the plan holds (arena, work space, gradients), without the weights. */
gsize dd_plan_get_memory (DdPlan *plan);

/* The input buffer, 1 x C x H x W floats, preprocessed by the caller. */
float *dd_plan_get_input (DdPlan *plan);
/* Runs every planned node forward. */
void dd_plan_forward (DdPlan *plan);

int dd_plan_get_n_targets (DdPlan *plan);
/* Target i's activations after dd_plan_forward(), and its shape. */
const float *dd_plan_get_target (DdPlan *plan, int i, DdTensorInfo *info);
/* Where the caller writes the gradient of its objective at target i, after
 * dd_plan_forward() and before dd_plan_backward(). Same shape as the target. */
float *dd_plan_get_target_grad (DdPlan *plan, int i);
/* Pushes the target gradients back to the input. Needs a plan made without
 * DD_PLAN_FORWARD_ONLY and a dd_plan_forward() since the last input change. */
void dd_plan_backward (DdPlan *plan);
/* The gradient at the input after dd_plan_backward(), 1 x C x H x W floats. */
const float *dd_plan_get_input_grad (DdPlan *plan);

/* Per-op-type time spent in this plan's forward and backward since it was
 * made, for benchmarks: calls fn (op_type, forward_seconds, backward_seconds). */
void dd_plan_set_profiling (DdPlan *plan, gboolean enable);
void dd_plan_foreach_profile (DdPlan *plan,
                              void (*fn) (const char *op_type, double forward_s,
                                          double backward_s, gpointer user_data),
                              gpointer user_data);

/* ---- Images ---------------------------------------------------------------- */

/* Bilinear resampling of a planar (channel after channel) float image, pixel
 * centres aligned as in PyTorch's interpolate (align_corners=False) and in
 * Caffe's DeepDream zoom. No antialiasing. */
void dd_resize_bilinear (const float *src, int src_width, int src_height, float *dst,
                         int dst_width, int dst_height, int channels);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdModel, dd_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdPlan, dd_plan_free)

G_END_DECLS
