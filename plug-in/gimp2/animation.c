/* animation.c: the animation filters in GIMP 2.10, plug-in-deepdream-frames
 * and plug-in-deepdream-zoom.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * As GIMP's own animation filters do, the frames go into a new image, so
 * that Playback and GIF or WebP export take exactly them and the image
 * they came from is never touched. Every frame is dreamed in memory
 * before the new image is made: GIMP 2.10 cancels a plug-in by killing
 * it, and a run stopped at any point leaves no image behind.
 */
#include "animation.h"

#include <stdlib.h>

#include "animation-dialog.h"
#include "arguments.h"
#include "image-io.h"
#include "plugin.h"

static const char *
proc_name (AnimationKind kind)
{
  return kind == ANIMATION_ZOOM ? ZOOM_PROC : FRAMES_PROC;
}

void
animation_query (void)
{
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_IMAGE, "new-image", "The new image, one layer per frame, the first at the bottom" },
  };
  const struct {
    AnimationKind kind;
    const char *blurb, *help, *label;
  } procs[] = {
    { ANIMATION_FRAMES, FRAMES_BLURB, FRAMES_HELP, FRAMES_MENU_LABEL },
    { ANIMATION_ZOOM, ZOOM_BLURB, ZOOM_HELP, ZOOM_MENU_LABEL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (procs); i++) {
    gint n_defs;
    GimpParamDef *defs = arguments_make_animation_defs (procs[i].kind, &n_defs);
    gimp_install_procedure (proc_name (procs[i].kind), procs[i].blurb, procs[i].help,
                            PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT, PROCEDURE_DATE, procs[i].label,
                            "RGB*, GRAY*", GIMP_PLUGIN, n_defs, G_N_ELEMENTS (return_vals), defs,
                            return_vals);
    gimp_plugin_menu_register (proc_name (procs[i].kind), ANIMATION_MENU_PATH);
    arguments_free_defs (defs, n_defs);
  }
}

/* ---- Last values ------------------------------------------------------------------- */

/* Kept for the GIMP session, as GIMP's own filters keep theirs, in a key
 * file's text: the settings hold strings, which gimp_set_data's fixed-size
 * blocks cannot. */
#define LAST_GROUP "Animation"

static void
last_values_load (AnimationKind kind, DdDreamParams *params, AnimationValues *values)
{
  gint size = gimp_get_data_size (proc_name (kind));
  if (size <= 0)
    return;
  g_autofree gchar *text = g_malloc0 (size + 1);
  gimp_get_data (proc_name (kind), text);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_data (file, text, size, G_KEY_FILE_NONE, NULL))
    return;
  int n;
  const ProcedureArg *args = procedure_animation_args (kind, &n);
  for (int i = 0; i < n; i++) {
    g_autofree gchar *value = g_key_file_get_string (file, LAST_GROUP, args[i].name, NULL);
    if (!value)
      continue;
    if (args[i].kind == ARG_DREAM) {
      dd_dream_param_set (params, args[i].spec, value, NULL);
    } else {
      gpointer field = (char *) values + args[i].spec->offset;
      if (args[i].spec->type == DD_PARAM_DOUBLE)
        *(double *) field = g_ascii_strtod (value, NULL);
      else
        *(int *) field = atoi (value);
    }
  }
}

static void
last_values_save (AnimationKind kind, const DdDreamParams *params, const AnimationValues *values)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  int n;
  const ProcedureArg *args = procedure_animation_args (kind, &n);
  for (int i = 0; i < n; i++) {
    if (args[i].kind == ARG_DREAM) {
      g_autofree gchar *value = dd_dream_param_get (params, args[i].spec);
      g_key_file_set_string (file, LAST_GROUP, args[i].name, value);
    } else {
      gconstpointer field = (const char *) values + args[i].spec->offset;
      if (args[i].spec->type == DD_PARAM_DOUBLE)
        g_key_file_set_double (file, LAST_GROUP, args[i].name, *(const double *) field);
      else
        g_key_file_set_integer (file, LAST_GROUP, args[i].name, *(const int *) field);
    }
  }
  gsize size;
  g_autofree gchar *text = g_key_file_to_data (file, &size, NULL);
  gimp_set_data (proc_name (kind), text, size);
}

/* ---- Runs -------------------------------------------------------------------------- */

/* Reads the frames: every layer of image as a frame of its canvas, bottom
 * first, as Playback plays them. */
static gboolean
read_frames (gint32 image, const DdDreamParams *params, const AnimationValues *values,
             AnimationRun *run, GError **error)
{
  gint n;
  g_autofree gint32 *layers = gimp_image_get_layers (image, &n);
  const int width = gimp_image_width (image), height = gimp_image_height (image);
  if (!procedure_animation_begin (run, ANIMATION_FRAMES, params, values, n, width, height,
                                  gimp_image_base_type (image) == GIMP_GRAY ? 1 : 3, error))
    return FALSE;
  for (int i = 0; i < n; i++) {
    run->names[i] = gimp_item_get_name (layers[n - 1 - i]);
    if (!image_io_read_frame (layers[n - 1 - i], width, height, &run->frames[i], error))
      return FALSE;
  }
  return TRUE;
}

/* Reads the zoom's source: the selected part of drawable. */
static gboolean
read_zoom_source (gint32 drawable, const DdDreamParams *params, const AnimationValues *values,
                  AnimationRun *run, GError **error)
{
  GeglRectangle box;
  return image_io_selection_box (drawable, &box, error) &&
         procedure_animation_begin (run, ANIMATION_ZOOM, params, values, 1, box.width, box.height,
                                    gimp_drawable_is_gray (drawable) ? 1 : 3, error) &&
         image_io_read (drawable, &box, &run->first, error);
}

/* The new image of the kind's frames; -1 with error set and nothing
 * changed. */
static gint32
dream (AnimationKind kind, gint32 image, gint32 drawable, const DdDreamParams *params,
       const AnimationValues *values, GError **error)
{
  AnimationRun run = { 0 };
  gint32 result = -1;
  if ((kind == ANIMATION_ZOOM ? read_zoom_source (drawable, params, values, &run, error)
                              : read_frames (image, params, values, &run, error)) &&
      procedure_animation_dream (&run, kind, params, values, error))
    result = image_io_new_animation (image, run.frames, run.names, run.n, error);
  procedure_animation_end (&run);
  return result;
}

/* The settings of this run from the run mode's source; FALSE when there is
 * nothing to run: error is set, or the user cancelled the dialog. */
static gboolean
get_settings (AnimationKind kind, GimpRunMode run_mode, gint32 image, gint32 drawable,
              const GimpParam *param, gint n_params, DdDreamParams *params, AnimationValues *values,
              GError **error)
{
  switch (run_mode) {
  case GIMP_RUN_INTERACTIVE:
    last_values_load (kind, params, values);
    if (!arguments_check_animation (kind, image, drawable, params, values, error) ||
        !animation_dialog (kind, params, values))
      return FALSE;
    last_values_save (kind, params, values);
    return TRUE;
  case GIMP_RUN_WITH_LAST_VALS:
    last_values_load (kind, params, values);
    return TRUE;
  case GIMP_RUN_NONINTERACTIVE:
    return arguments_read_animation (kind, param, n_params, params, values, error);
  }
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "run-mode: %d is not a run mode", run_mode);
  return FALSE;
}

void
animation_run (const gchar *name, gint n_params, const GimpParam *param, gint *n_return_vals,
               GimpParam **return_vals)
{
  const AnimationKind kind = g_strcmp0 (name, ZOOM_PROC) == 0 ? ANIMATION_ZOOM : ANIMATION_FRAMES;
  GimpRunMode run_mode = param[0].data.d_int32;
  gint32 image = param[1].data.d_image, drawable = param[2].data.d_drawable;
  DdDreamParams params;
  AnimationValues vals;
  GError *error = NULL;
  gint32 result = -1;

  gegl_init (NULL, NULL);
  procedure_animation_defaults (kind, &params, &vals);
  /* Refused before a dialog asks for settings it could not use. */
  if ((kind == ANIMATION_ZOOM || dd_sequence_supported (&error)) &&
      get_settings (kind, run_mode, image, drawable, param, n_params, &params, &vals, &error) &&
      arguments_check_animation (kind, image, drawable, &params, &vals, &error))
    result = dream (kind, image, drawable, &params, &vals, &error);

  if (result != -1 && run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_display_new (result);
  plugin_return (run_mode, GIMP_PDB_IMAGE, result, error, n_return_vals, return_vals);
  dd_dream_params_clear (&params);
}
