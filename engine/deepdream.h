/* deepdream.h: the public API of libdeepdream.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two layers: the network runtime (dd-runtime.h: models, plans, errors)
 * and the DeepDream application on it (here: images, model cards, dream
 * parameters and the dream loop).
 */
#pragma once

#include "dd-runtime.h"

G_BEGIN_DECLS

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
  char *file;         /* absolute path of the .onnx or .caffemodel file */
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
  gboolean assumed; /* no card was found: preprocessing is a guess... */
  gboolean stated;  /* ...unless the model file states it (then set too) */
  char **digests;   /* "sha256:HEX", "sha1:HEX" of the card's files */
  char *card_path;  /* the card's own file, NULL when assumed */
} DdModelCard;

void dd_model_card_free (DdModelCard *card);

/* Where cards and models are looked for: $DEEPDREAM_MODEL_PATH (':'-separated),
 * the user's data dir (~/.local/share/gimp-deepdream/models), then the
 * installed data dir. Returns a newly allocated NULL-terminated list. */
char **dd_model_path (void);

/* The card named name ("googlenet"), or for a model file's path the card
 * that knows that file's checksum, or a card with assumed ImageNet
 * preprocessing (assumed = TRUE) when none does. */
DdModelCard *dd_model_card_find (const char *name_or_file, GError **error);
/* Reads one card file. */
DdModelCard *dd_model_card_load (const char *card_path, GError **error);
/* The names of every card on the model path whose model file is present. */
char **dd_model_card_list_installed (void);

/* The tensor a user's layer name stands for: name itself, or its pre-ReLU
 * tensor when the card says bare conv names mean that (Caffe's behaviour). */
char *dd_model_card_resolve_layer (const DdModelCard *card, DdModel *model, const char *name);

/* Loads the model a user named (card name or model file; NULL or "" means
 * googlenet) with its card; a file without a card that states its own
 * preprocessing gets that (stated = TRUE). */
DdModel *dd_model_open (const char *name_or_file, DdModelCard **card, GError **error);

/* ---- Files ----------------------------------------------------------------- */

/* A file written whole or not at all: the bytes go to a temporary file in
 * the destination's folder, and dd_safe_file_commit() flushes it to the disk
 * and renames it over the destination. Until then the destination is as it
 * was; dd_safe_file_free() without a commit removes the temporary file.
 * Errors name the destination and the cause ("No space left on device").
 * Refuses destinations that exist but are not regular files. */
typedef struct _DdSafeFile DdSafeFile;

DdSafeFile *dd_safe_file_new (const char *path, GError **error);
int dd_safe_file_get_fd (DdSafeFile *file);
gboolean dd_safe_file_write (DdSafeFile *file, const void *data, gsize size, GError **error);
gboolean dd_safe_file_commit (DdSafeFile *file, GError **error);
void dd_safe_file_free (DdSafeFile *file);
/* For writers that take a file name rather than bytes (GIMP's savers): the
 * temporary file is made at once, empty, with a hidden name in the
 * destination's folder that ends with the destination's own (so its
 * extension names the same format); the writer writes it by that name
 * (dd_safe_file_get_temp_path), then dd_safe_file_commit() flushes what the
 * name holds and renames it over the destination. */
DdSafeFile *dd_safe_file_new_named (const char *path, GError **error);
const char *dd_safe_file_get_temp_path (DdSafeFile *file);
/* The whole of data into path, safely. */
gboolean dd_file_set_contents (const char *path, const void *data, gsize size, GError **error);

/* Checks, without opening it (a FIFO would wait for a writer), that path
 * is a regular file: "cannot read 'x': it is a FIFO (named pipe)". */
gboolean dd_file_check_regular (const char *path, GError **error);

/* Checks that path is a regular file, not empty, and, for PNG, JPEG, WebP
 * and OpenEXR, whole, from the structure of the file alone (nothing is
 * decoded): "cannot read 'x.jpg': the JPEG file is damaged or truncated
 * (...)". Other formats pass; their loaders report damage themselves. */
gboolean dd_image_check_file (const char *path, GError **error);

/* ---- Memory ---------------------------------------------------------------- */

/* Bytes the process may still take: the least of what the address-space
 * limit (RLIMIT_AS, counted against what is mapped now), the cgroup's
 * memory.max and the system's available memory leave. *limit (unless NULL)
 * names the one that binds, or is NULL when none is known. */
gsize dd_memory_available (const char **limit);

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
/* The user's own presets: one key file in the user's configuration folder
 * ($XDG_CONFIG_HOME/gimp-deepdream/presets), listed and applied after the
 * card's, each for the model it was saved with. */
char *dd_user_presets_path (void);
/* Saves p's look (not the model, files, tiles, memory or threads) as the
 * user's preset name of card's model, replacing one of that name; a name of
 * the card's own presets is refused. The file is written whole or not at
 * all, and one that cannot be read is left alone. */
gboolean dd_user_preset_save (const DdModelCard *card, const char *name, const char *description,
                              const DdDreamParams *p, GError **error);

/* ---- Settings that travel with a result ----------------------------------- */

/* The group of a dream's settings text, and the name of the GIMP parasite
 * and image metadata that carry it. */
#define DD_SETTINGS_GROUP "DeepDream"
#define DD_SETTINGS_PARASITE "deepdream-settings"

/* A GKeyFile text of every parameter of p but threads, with seed (the one the dream
 * used), the layers the card's default stood for, the model's sha256 when
 * the card knows it, and the version of libdeepdream. */
char *dd_dream_settings_to_text (const DdDreamParams *p, const DdModelCard *card, int seed);
/* Sets p to the settings of text (the table's defaults for those it does
 * not name) and *model_sha256, unless NULL, to the model's checksum or
 * NULL; p is unchanged on error, which names the key at fault. */
gboolean dd_dream_settings_from_text (DdDreamParams *p, const char *text, gsize length,
                                      char **model_sha256, GError **error);

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

/* Where a dream's time goes, phase by phase, in seconds of wall time. The
 * phases follow one another and together cover the whole of the run, so
 * they add up to its time. The random roll of each step costs nothing of
 * its own: fill and paste read and write the image through it. */
typedef enum {
  DD_PHASE_SETUP,     /* checks, the tiling's choice, the guide's features */
  DD_PHASE_MEMORY,    /* buffers allocated and first touched, the plan made */
  DD_PHASE_RESAMPLE,  /* each octave's base, detail and strength map, zoomed */
  DD_PHASE_FILL,      /* tile windows of the rolled image into the network's input */
  DD_PHASE_FORWARD,   /* the network, forward */
  DD_PHASE_OBJECTIVE, /* the gradient at the layers */
  DD_PHASE_BACKWARD,  /* the network, backward to its input */
  DD_PHASE_PASTE,     /* tiles' gradients back into the image's, the roll undone */
  DD_PHASE_NORMALISE, /* the gradient's norm and the step (Laplacian bands, blur) */
  DD_PHASE_PROGRESS,  /* the caller's progress function */
  DD_PHASE_RESULT,    /* the result into the caller's pixels; the memory given back */
  DD_N_PHASES
} DdDreamPhase;

/* "fill", "forward"...: the phase's name, for reports. */
const char *dd_dream_phase_name (DdDreamPhase phase);

typedef struct {
  int seed;                    /* the seed used */
  int octaves_run;             /* octaves large enough for the network */
  int tiles;                   /* tiles per step at full size (1 = untiled) */
  int tile_width, tile_height; /* window the network saw at full size */
  gsize plan_bytes;            /* largest plan */
  gsize work_bytes;            /* everything the dream allocated, plans included */
  int steps;                   /* steps run, every octave's */
  double seconds[DD_N_PHASES]; /* wall time per DdDreamPhase */
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
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdSafeFile, dd_safe_file_free)

G_END_DECLS
