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
 * the CPU), the thread count and the CPU's relevant features. When it
 * loads, libdeepdream switches OpenBLAS to the best kernels the CPU
 * supports unless OPENBLAS_CORETYPE is set. Free with g_free(). */
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

/* ---- Images ---------------------------------------------------------------- */

/* Bilinear resampling of a planar (channel after channel) float image, pixel
 * centres aligned as in PyTorch's interpolate (align_corners=False) and in
 * Caffe's DeepDream zoom. No antialiasing. */
void dd_resize_bilinear (const float *src, int src_width, int src_height, float *dst, int dst_width,
                         int dst_height, int channels);

/* ---- Model cards ----------------------------------------------------------- */

/* What the engine knows about a model: its file, how to preprocess pixels
 * for it, and its good layers. Read from a small key file (models/\*.card). */
typedef struct {
  char *name;         /* "googlenet" */
  char *display_name; /* "BVLC GoogLeNet (Inception v1)" */
  char *file;         /* absolute path of the .onnx file */
  char *sha256;       /* lower-case hex, or NULL when the card does not know it */
  gboolean bgr;       /* channel order of the network input */
  float range;        /* pixel values span 0..range before the mean (255 or 1) */
  float mean[3];      /* in the network's channel order */
  float std[3];       /* in the network's channel order; 1 when unused */
  char *default_layer;
  char *preact_suffix; /* a bare conv name X means X + suffix when that exists */
  char *classifier;    /* logits tensor for class visualisation, or NULL */
  int classifier_size; /* input edge the classifier needs (224), 0 if none */
  char **layers;       /* recommended layers, best first (NULL-terminated) */
  char **descriptions; /* one line for each of layers */
  char *license;
  char *url;
  gboolean assumed; /* no card was found: preprocessing is a guess */
  char *card_path;  /* the card's own file, NULL when assumed */
} DdModelCard;

void dd_model_card_free (DdModelCard *card);

/* Where cards and models are looked for: $DEEPDREAM_MODEL_PATH (':'-separated),
 * the user's data dir (~/.local/share/gimp-deepdream/models), then the
 * installed data dir. Returns a newly allocated NULL-terminated list. */
char **dd_model_path (void);

/* The card named name ("googlenet"), or for a path ending in .onnx the card
 * whose sha256 matches that file, or a card with assumed ImageNet
 * preprocessing (assumed = TRUE) when none does. */
DdModelCard *dd_model_card_find (const char *name_or_file, GError **error);
/* Reads one card file. */
DdModelCard *dd_model_card_load (const char *card_path, GError **error);
/* The names of every card on the model path whose model file is present. */
char **dd_model_card_list_installed (void);

/* The tensor a user's layer name stands for: name itself, or its pre-ReLU
 * tensor when the card says bare conv names mean that (Caffe's behaviour). */
char *dd_model_card_resolve_layer (const DdModelCard *card, DdModel *model, const char *name);

/* Loads the model a user named (card name or .onnx path; NULL or "" means
 * googlenet) with its card. */
DdModel *dd_model_open (const char *name_or_file, DdModelCard **card, GError **error);

/* ---- Dream parameters ------------------------------------------------------ */

typedef enum { DD_START_IMAGE, DD_START_NOISE } DdStart;
/* Whose colours the result has: the dream's, or the source's with only the
 * dream's lightness. */
typedef enum { DD_COLOURS_DREAM, DD_COLOURS_SOURCE } DdColours;

/* Every setting of a dream. Each field is described once, in the table of
 * dd_dream_param_specs(), from which the command line, the GIMP procedure
 * and dialog, and saved settings are made. */
typedef struct {
  char *model;         /* card name or .onnx file; NULL/"" = googlenet */
  char *layers;        /* "NAME[:WEIGHT],..."; NULL/"" = the card's default */
  int channel;         /* one channel of the layers, -1 = all */
  int octaves;         /* scales, smallest first; 1 = full size only */
  double octave_scale; /* size ratio between octaves, > 1 */
  int iterations;      /* steps per octave */
  double step_size;    /* mean change of a pixel per step, in grey levels */
  int jitter;          /* random shift per step, pixels; 0 = none */
  int seed;            /* -1 = random (reported in DdDreamInfo) */
  char *guide;         /* guide image file (command line; the API takes pixels) */
  int class_index;     /* -1 = none; else maximise that class's logit */
  int laplacian;       /* 0 = off; else bands of Laplacian gradient normalisation */
  int start;           /* DdStart */
  int tile;            /* tile edge in pixels, 0 = automatic */
  int memory_mb;       /* working memory budget, 0 = automatic */
  int threads;         /* 0 = every core */
  int colours;         /* DdColours */
  int seamless;        /* 1 = the image wraps around at its edges: the result tiles */
  char *mask;          /* strength map file (command line; the API takes pixels) */
} DdDreamParams;

typedef enum { DD_PARAM_INT, DD_PARAM_DOUBLE, DD_PARAM_STRING, DD_PARAM_CHOICE } DdParamType;

/* Where a parameter appears besides the API. */
typedef enum {
  DD_PARAM_CLI = 1 << 0,    /* a command-line option */
  DD_PARAM_PDB = 1 << 1,    /* a GIMP procedure argument */
  DD_PARAM_DIALOG = 1 << 2, /* a control in the GIMP dialog */
} DdParamUse;

typedef struct {
  const char *name;     /* "octave-scale": procedure argument and settings key */
  const char *cli_name; /* long option */
  char cli_short;       /* short option or 0 */
  DdParamType type;
  double def, min, max;       /* numbers */
  const char *def_string;     /* strings and choices */
  const char *const *choices; /* DD_PARAM_CHOICE: NULL-terminated names */
  const char *label;          /* dialog label, with mnemonic */
  const char *help;           /* one line: tooltip, --help, procedure blurb */
  const char *arg;            /* --help placeholder ("N") */
  gsize offset;               /* of the field in DdDreamParams */
  guint use;                  /* DdParamUse */
} DdParamSpec;

const DdParamSpec *dd_dream_param_specs (int *n_specs);
const DdParamSpec *dd_dream_param_find (const char *name);
/* Fills p with the defaults. */
void dd_dream_params_init (DdDreamParams *p);
void dd_dream_params_clear (DdDreamParams *p);
void dd_dream_params_copy (DdDreamParams *dst, const DdDreamParams *src);
/* Checks every field against its range; the error names the parameter. */
gboolean dd_dream_params_validate (const DdDreamParams *p, GError **error);
/* Sets one field from text ("1.4", "noise", "inception_4c/output:2"). */
gboolean dd_dream_param_set (DdDreamParams *p, const DdParamSpec *spec, const char *value,
                             GError **error);
/* The field as text, for saving settings. */
char *dd_dream_param_get (const DdDreamParams *p, const DdParamSpec *spec);

/* ---- Presets --------------------------------------------------------------- */

/* A card's [Preset NAME] groups are named sets of dream parameters (keys
 * are the table's names, "octave-scale"), each with a Description. The
 * names of card's presets in the card's order, and their descriptions in
 * *descriptions unless NULL; empty lists for a card without presets. */
char **dd_model_card_list_presets (const DdModelCard *card, char ***descriptions);
/* Sets every parameter that card's preset name sets, leaving the others
 * as they are: front ends apply a preset first and the user's own
 * settings over it. The error names the preset and, for a bad preset, the
 * parameter at fault. */
gboolean dd_dream_params_apply_preset (DdDreamParams *p, const DdModelCard *card, const char *name,
                                       GError **error);

/* ---- Dreams ---------------------------------------------------------------- */

typedef enum { DD_PIXEL_U8, DD_PIXEL_FLOAT } DdPixelType;

/* An image in memory: interleaved channels (1 grey, 2 grey + alpha, 3 RGB,
 * 4 RGBA), perceptual (gamma-encoded) values, 0..255 for DD_PIXEL_U8 and
 * 0..1 for DD_PIXEL_FLOAT, rows stride bytes apart. */
typedef struct {
  void *pixels;
  int width, height, channels;
  gsize stride;
  DdPixelType type;
} DdImage;

typedef struct {
  int seed;                    /* the seed used */
  int octaves_run;             /* octaves large enough for the network */
  int tiles;                   /* tiles per step at full size (1 = untiled) */
  int tile_width, tile_height; /* window the network saw at full size */
  gsize plan_bytes;            /* largest plan */
  gsize work_bytes;            /* everything the dream allocated, plans included */
} DdDreamInfo;

/* fraction of the whole run done, octave (1 = smallest) and iteration (1..). */
typedef void (*DdProgressFunc) (double fraction, int octave, int n_octaves, int iteration,
                                int n_iterations, gpointer user_data);

/* Dreams image in place. Nothing in image changes unless the whole dream
 * succeeds: on an error or a cancel it is left as it was. guide may be NULL.
 * Alpha is kept as it is; grey images stay grey. */
gboolean dd_dream_run (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                       const DdImage *guide, DdImage *image, DdProgressFunc progress,
                       gpointer progress_data, GCancellable *cancellable, DdDreamInfo *info,
                       GError **error);
/* The same, with the strength of the dream at each pixel taken from mask
 * (NULL = full strength everywhere): an image of image's size whose grey
 * value (the mean of its colour channels; alpha is ignored) scales each
 * pixel's step, 0 = untouched, 1 (255) = full. Pixels where mask is 0 keep
 * their bytes. */
gboolean dd_dream_run_masked (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                              const DdImage *guide, const DdImage *mask, DdImage *image,
                              DdProgressFunc progress, gpointer progress_data,
                              GCancellable *cancellable, DdDreamInfo *info, GError **error);

/* Checks, before any pixel is read, that a dream of a width x height image
 * with channels as in DdImage can run: the parameters and layers, the
 * image's size, and that the dream fits the memory budget (params->memory_mb)
 * even in the smallest tiles; the error says how much it needs. Stores that
 * least amount in *need_bytes when not NULL. dd_dream_run makes the same
 * checks; callers use this one to refuse before reading a huge image. */
gboolean dd_dream_check (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                         int width, int height, int channels, gsize *need_bytes, GError **error);

/* The smallest image edge the model can dream on for these layers. */
int dd_dream_min_size (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdModelCard, dd_model_card_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdModel, dd_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdPlan, dd_plan_free)

G_END_DECLS
