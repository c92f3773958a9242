/* procedure.h: what plug-in-deepdream is in both GIMPs: its texts, its
 * arguments in order, the checks of GIMP's own values, the new layer's name.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

/* For GimpLayerMode only, which both GIMPs' libgimp define alike. */
#include <libgimp/gimp.h>

#include "animation.h"
#include "deepdream.h"

#define PLUG_IN_PROC "plug-in-deepdream"
#define PLUG_IN_BINARY "plug-in-deepdream"
#define PLUG_IN_ROLE "gimp-deepdream"

#define PROCEDURE_MENU_LABEL "_DeepDream…"
#define PROCEDURE_MENU_PATH "<Image>/Filters/Artistic"
#define PROCEDURE_BLURB "Dream with a neural network: amplify the patterns it sees in the layer"
#define PROCEDURE_HELP                                                                             \
  "Runs DeepDream on the selected part of the layer (the whole layer without a "                   \
  "selection) with a convolutional network such as GoogLeNet, and puts the result on a "           \
  "new layer above it, masked by the selection, with the chosen mode and opacity. The "            \
  "layer itself is not changed. Deeper network layers give objects (eyes, dogs, "                  \
  "pagodas), shallower ones strokes and textures. The dialog's time estimate says which "          \
  "BLAS kernels run the products (deepdream --version too)."
#define PROCEDURE_AUTHORS "the gimp-deepdream authors"
#define PROCEDURE_COPYRIGHT "Copyright (C) 2026 the gimp-deepdream authors"
#define PROCEDURE_DATE "2026"

/* The engine looks at guides 224 pixels across: a bigger one is read
 * scaled down to this edge, whatever its size in GIMP. */
#define GUIDE_READ_EDGE 1024

/* The arguments after run-mode, image and drawable(s): the table's
 * DD_PARAM_PDB rows in table order, except that the table's guide and mask
 * rows (files, for the command line) stand for drawables here, the guide
 * followed by the new layer's mode and opacity; last comes the preset.
 * Rows added to the table later therefore land after opacity, and scripts
 * written for older versions keep working. Both GIMPs name their arguments
 * after these. */
typedef enum {
  ARG_DREAM,
  ARG_GUIDE,
  ARG_LAYER_MODE,
  ARG_OPACITY,
  ARG_MASK,
  ARG_PRESET,
  ARG_ANIMATION
} ArgKind;

typedef struct {
  ArgKind kind;
  const char *name;
  const DdParamSpec *spec; /* ARG_DREAM (DdDreamParams), ARG_ANIMATION (AnimationValues) */
} ProcedureArg;

/* n_through_opacity: how many come up to and including opacity (2.10's
 * positional calls must give at least those). */
const ProcedureArg *procedure_args (int *n_args, int *n_through_opacity);
/* How many of them GIMP 2.10's plug-in-deepdream takes: those before the
 * artists' controls (colours, seamless, mask, preset). Script-Fu in 2.10
 * calls a procedure with all its arguments in order, so that procedure
 * keeps the arguments it was published with, and the later ones come with
 * a second procedure that takes them all. */
int procedure_n_classic_args (void);
/* The table's help plus what a script writer needs: the range, what ""
 * means, what the numbers of a choice stand for. none_text says how a
 * call asks for no guide ("-1 = none"). */
gchar *procedure_arg_description (const ProcedureArg *arg, const char *none_text);

/* Sets what the preset called name (of params' model: its card's, or the
 * user's own) sets; "" or NULL sets nothing. */
gboolean procedure_apply_preset (DdDreamParams *params, const char *name, GError **error);

/* The new layer's settings that are not the engine's. */
#define PROCEDURE_DEFAULT_LAYER_MODE GIMP_LAYER_MODE_NORMAL
#define PROCEDURE_DEFAULT_OPACITY 100.0

/* Modes a plain layer can have (not paint-only or group-only ones). */
gboolean procedure_layer_mode_ok (GimpLayerMode mode);
/* Checks the new layer's mode and opacity; the message names the argument. */
gboolean procedure_check_layer_values (GimpLayerMode mode, double opacity, GError **error);

/* The engine's progress callback for a run in GIMP (either): the octave,
 * the iteration and the time left in the progress bar's text. data points
 * to the run's start, g_get_monotonic_time()'s. */
void procedure_show_progress (double fraction, int octave, int n_octaves, int iteration,
                              int n_iterations, gpointer data);

/* Dreams pixels in place with GIMP's progress bar (either GIMP), guide and
 * mask optional; on success sets the new layer's name and the settings
 * text its parasite keeps (free both). */
gboolean procedure_dream (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                          const DdImage *guide, const DdImage *mask, DdImage *pixels,
                          gchar **layer_name, gchar **settings, GError **error);

/* "DeepDream inception_4c", "DeepDream squeezenet fire5+fire7". */
gchar *procedure_layer_name (const DdModelCard *card, const DdDreamParams *params);

/* ---- The animation filters ------------------------------------------------------- */

#define FRAMES_PROC "plug-in-deepdream-frames"
#define FRAMES_MENU_LABEL "DeepDream _Frames…"
#define FRAMES_BLURB "Dream every layer as a frame of an animation, the dream following the motion"
#define FRAMES_HELP                                                                                \
  "Dreams the layers of the image as the frames of an animation, the bottom layer first as "       \
  "Filters > Animation > Playback plays them, into a new image with one layer per frame, named "   \
  "as its source (frame timings such as \"(100ms)\" are kept). Each frame starts from the "        \
  "previous frame's dream carried along the motion between the two layers (optical flow), "        \
  "blended with the new layer, so the dream moves with the picture instead of flickering. The "    \
  "image itself is not changed. Needs a libdeepdream built with OpenCV."

#define ZOOM_PROC "plug-in-deepdream-zoom"
#define ZOOM_MENU_LABEL "DeepDream _Zoom…"
#define ZOOM_BLURB "Make an endless dream zoom into the layer, as the layers of a new image"
#define ZOOM_HELP                                                                                  \
  "Makes an endless zoom into the layer: the first frame is the layer dreamed, each next frame "   \
  "the one before zoomed in (and turned) about its centre and dreamed again, its colours held to " \
  "the first frame's. The frames go into a new image, one layer each, the first at the bottom, "   \
  "ready for Filters > Animation > Playback and export as GIF or WebP. A few steps per frame "     \
  "are enough: the dream builds up from frame to frame. The image itself is not changed."

#define ANIMATION_MENU_PATH "<Image>/Filters/Animation"

/* The arguments after run-mode, image and drawable(s): the kind's own
 * (AnimationValues), then the dream's as in procedure_args() without the
 * guide and the new layer's mode and opacity, under the same names. The
 * zoom's octaves and iterations default to a few steps a frame. */
const ProcedureArg *procedure_animation_args (AnimationKind kind, int *n_args);
/* params and values with the kind's defaults. */
void procedure_animation_defaults (AnimationKind kind, DdDreamParams *params,
                                   AnimationValues *values);

/* Progress of an animation in the progress bar: the frame and the time
 * left. data points to the run's start, g_get_monotonic_time()'s. */
void procedure_show_frame_progress (double fraction, int frame, int n_frames, gpointer data);

/* One run of an animation filter: the model, and the frames in memory
 * (bottom layer first) with the names of the layers they become. */
typedef struct {
  DdModel *model;
  DdModelCard *card;
  int n;           /* frames */
  DdImage *frames; /* n; the frames filter reads its layers into them */
  char **names;    /* n + 1; the frames filter fills it with its layers' names */
  DdImage first;   /* the zoom's source, which it reads */
} AnimationRun;

/* Checks what can be checked from the sizes, before any pixel is read: n
 * layers of width x height with channels colour channels (1 or 3) for the
 * frames (two at least), the zoom's source for the zoom; opens the model
 * and makes room for the frames. */
gboolean procedure_animation_begin (AnimationRun *run, AnimationKind kind,
                                    const DdDreamParams *params, const AnimationValues *values,
                                    int n_layers, int width, int height, int channels,
                                    GError **error);
/* Dreams the frames with the progress bar over the whole run. */
gboolean procedure_animation_dream (AnimationRun *run, AnimationKind kind,
                                    const DdDreamParams *params, const AnimationValues *values,
                                    GError **error);
void procedure_animation_end (AnimationRun *run);
