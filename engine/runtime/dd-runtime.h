/* dd-runtime.h: the network runtime of libdeepdream.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A DdModel is a CNN loaded into memory (weights and graph) from an ONNX
 * file or a Caffe .caffemodel. A DdPlan
 * runs that model for one input size up to a chosen set of target tensors:
 * made once, then forward and backward run any number of times without
 * allocating. Backward pushes gradients set at the targets back to the input
 * image (never to the weights).
 *
 * Typical use, one DeepDream step:
 *
 *   g_autoptr (DdModel) model = dd_model_new_from_file ("googlenet.onnx", &error);
 *   const char *targets[] = { "inception_4c/output" };
 *   g_autoptr (DdPlan) plan = dd_plan_new (model, 1024, 768, targets, 1, 0, &error);
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

#include <gio/gio.h>
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

/* ---- Kernels --------------------------------------------------------------- */

/* One line on what runs the products: the BLAS library and version, the
 * OpenBLAS kernels in use and why (OpenBLAS's own choice, the user's
 * OPENBLAS_CORETYPE, or chosen by libdeepdream when OpenBLAS did not know
 * the CPU), the engine's own kernel for the convolutions' products where
 * the CPU has one (AVX-512, AVX2), the thread count and wait policy, and
 * the CPU's relevant
 * features. When it loads, libdeepdream switches OpenBLAS to the best
 * kernels the CPU supports unless OPENBLAS_CORETYPE is set. Free with
 * g_free(). */
char *dd_blas_describe (void);

/* Programs call this first thing in main, before any thread exists: unless
 * OMP_WAIT_POLICY or GOMP_SPINCOUNT is set, it runs the program again (same
 * process, same arguments) with OMP_WAIT_POLICY=passive, so that OpenMP's
 * threads sleep instead of spinning while they wait. Spinning gains nothing
 * measurable on an idle machine and halves the speed beside other busy
 * programs. Returns only when it did not re-execute. */
void dd_process_init (char **argv);

/* ---- Models ---------------------------------------------------------------- */

typedef struct _DdModel DdModel;

/* Loads a model from a file or from memory: ONNX, or Caffe's .caffemodel
 * (V1 and V2 layers; run as Caffe's TEST phase). Checks every op,
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
/* The model's doc_string ("" when absent; a Caffe net's name). */
const char *dd_model_get_doc (DdModel *model);

/* How pixels are prepared for a model: input = (pixel * range / 255 -
 * mean) / std per channel, channels in BGR order when bgr is set. */
typedef struct {
  gboolean bgr;
  float range;
  float mean[3], std[3];
} DdPreprocessing;

/* The preprocessing the model file itself states (a Caffe training net's
 * data layer does); FALSE when it states none. */
gboolean dd_model_get_preprocessing (DdModel *model, DdPreprocessing *out);

#define DD_MAX_DIMS 6

/* One activation tensor of the graph, with its shape for a given input size. */
typedef struct {
  const char *name;    /* owned by the model */
  const char *op_type; /* of the node that makes it ("Conv", "Relu"...) */
  int rank;
  int64_t dims[DD_MAX_DIMS];
} DdTensorInfo;

/* Number of elements of a tensor. */
gsize dd_tensor_info_numel (const DdTensorInfo *info);

/* Every activation tensor (not weights) in graph order, with shapes for an
 * input of width x height pixels. Returns a GArray of DdTensorInfo, or NULL with an
 * error when the model cannot take that size. */
GArray *dd_model_list_tensors (DdModel *model, int width, int height, GError **error);

/* ---- Plans ----------------------------------------------------------------- */

typedef struct _DdPlan DdPlan;

typedef enum {
  DD_PLAN_DEFAULT = 0,
  DD_PLAN_FORWARD_ONLY = 1 << 0, /* no backward: less memory */
  DD_PLAN_MEASURE_ONLY = 1 << 1, /* lay out but allocate nothing: for dd_plan_get_memory() */
} DdPlanFlags;

/* Plans a run of model on a 1 x C x height x width input (note: width
 * first in the arguments, as everywhere in this API) up to the named
 * target tensors: keeps only the nodes they need, infers every shape and
 * lays every buffer out in one arena. */
DdPlan *dd_plan_new (DdModel *model, int width, int height, const char *const *targets,
                     int n_targets, DdPlanFlags flags, GError **error);
void dd_plan_free (DdPlan *plan);
/* Plans the same targets for a width x height input instead, in the
 * plan's memory when the new layout fits there: a dream planned once at
 * its largest size and reshaped for each octave does not map and fault in
 * fresh pages at every octave. Inputs, gradients and targets start anew.
 * On failure the plan is as it was. */
gboolean dd_plan_reshape (DdPlan *plan, int width, int height, GError **error);

/* Bytes the plan holds (arena, work space, gradients), without the weights. */
gsize dd_plan_get_memory (DdPlan *plan);

/* The input buffer, 1 x C x H x W floats, preprocessed by the caller. */
float *dd_plan_get_input (DdPlan *plan);
/* Runs every planned node forward. */
void dd_plan_forward (DdPlan *plan);

int dd_plan_get_n_targets (DdPlan *plan);
/* Target i's activations after dd_plan_forward(), valid until
 * dd_plan_backward(); its shape goes to info unless info is NULL. */
const float *dd_plan_get_target (DdPlan *plan, int i, DdTensorInfo *info);
/* Where the caller writes the gradient of its objective at target i, after
 * dd_plan_forward() and before dd_plan_backward(), which may use it as
 * scratch. Same shape as the target. */
float *dd_plan_get_target_grad (DdPlan *plan, int i);
/* Pushes the target gradients back to the input. Needs a plan made without
 * DD_PLAN_FORWARD_ONLY and a dd_plan_forward() since the last input change. */
void dd_plan_backward (DdPlan *plan);
/* The gradient at the input after dd_plan_backward(), 1 x C x H x W floats. */
const float *dd_plan_get_input_grad (DdPlan *plan);

/* Per-op-type time spent in this plan's forward and backward while
 * profiling was on (enabling it resets the sums), for benchmarks: calls
 * fn (op_type, forward_seconds, backward_seconds); op_type is static. */
void dd_plan_set_profiling (DdPlan *plan, gboolean enable);
void dd_plan_foreach_profile (DdPlan *plan,
                              void (*fn) (const char *op_type, double forward_s, double backward_s,
                                          gpointer user_data),
                              gpointer user_data);
/* The same per node, in the order they run: fn (node_name, op_type,
 * forward_seconds, backward_seconds); both names belong to the plan. */
void dd_plan_foreach_node_profile (DdPlan *plan,
                                   void (*fn) (const char *node, const char *op_type,
                                               double forward_s, double backward_s,
                                               gpointer user_data),
                                   gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdModel, dd_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdPlan, dd_plan_free)

G_END_DECLS
