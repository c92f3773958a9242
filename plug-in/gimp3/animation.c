/* animation.c: the animation filters in GIMP 3, plug-in-deepdream-frames
 * and plug-in-deepdream-zoom.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * As in GIMP 2.10 and GIMP's own animation filters, the frames go into a
 * new image, so that Playback and GIF or WebP export take exactly them and
 * the image they came from is never touched. Every frame is dreamed in
 * memory before the new image is made: GIMP 3 ends a cancelled plug-in's
 * connection, and a run stopped at any point leaves no image behind.
 */
#include "animation.h"

#include "arguments.h"
#include "dialog.h"
#include "image-io.h"

/* Reads the frames: every layer of image as a frame of its canvas, bottom
 * first, as Playback plays them. */
static gboolean
read_frames (GimpImage *image, const DdDreamParams *params, const AnimationValues *values,
             AnimationRun *run, GError **error)
{
  g_autofree GimpLayer **layers = gimp_image_get_layers (image);
  int n = 0;
  while (layers && layers[n])
    n++;
  const int width = gimp_image_get_width (image), height = gimp_image_get_height (image);
  if (!procedure_animation_begin (run, ANIMATION_FRAMES, params, values, n, width, height,
                                  gimp_image_get_base_type (image) == GIMP_GRAY ? 1 : 3, error))
    return FALSE;
  for (int i = 0; i < n; i++) {
    run->names[i] = g_strdup (gimp_item_get_name (GIMP_ITEM (layers[n - 1 - i])));
    if (!image_io_read_frame (layers[n - 1 - i], width, height, &run->frames[i], error))
      return FALSE;
  }
  return TRUE;
}

/* Reads the zoom's source: the selected part of drawable. */
static gboolean
read_zoom_source (GimpDrawable *drawable, const DdDreamParams *params,
                  const AnimationValues *values, AnimationRun *run, GError **error)
{
  GeglRectangle box;
  return image_io_selection_box (drawable, &box, error) &&
         procedure_animation_begin (run, ANIMATION_ZOOM, params, values, 1, box.width, box.height,
                                    gimp_drawable_is_gray (drawable) ? 1 : 3, error) &&
         image_io_read (drawable, &box, G_MAXINT, &run->first, error);
}

/* The new image of the kind's frames; NULL with error set and nothing
 * changed. */
static GimpImage *
dream (AnimationKind kind, GimpImage *image, GimpDrawable *drawable, const DdDreamParams *params,
       const AnimationValues *values, GError **error)
{
  AnimationRun run = { 0 };
  GimpImage *result = NULL;
  if ((kind == ANIMATION_ZOOM ? read_zoom_source (drawable, params, values, &run, error)
                              : read_frames (image, params, values, &run, error)) &&
      procedure_animation_dream (&run, kind, params, values, error))
    result = image_io_new_animation (image, run.frames, run.names, run.n, error);
  procedure_animation_end (&run);
  return result;
}

static GimpValueArray *
run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image, GimpDrawable **drawables,
     GimpProcedureConfig *config, gpointer data)
{
  const AnimationKind kind = GPOINTER_TO_INT (data);
  DdDreamParams params;
  AnimationValues values;
  GError *error = NULL;
  GimpImage *result = NULL;

  gegl_init (NULL, NULL);
  procedure_animation_defaults (kind, &params, &values);
  arguments_read_animation (config, kind, &params, &values);
  /* Refused before a dialog asks for settings it could not use. */
  gboolean ok = (kind == ANIMATION_ZOOM || dd_sequence_supported (&error)) &&
                arguments_check_animation (kind, image, drawables, &params, &values, &error);
  if (ok && run_mode == GIMP_RUN_INTERACTIVE) {
    if (!animation_dialog (procedure, config, kind)) {
      dd_dream_params_clear (&params);
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
    arguments_read_animation (config, kind, &params, &values);
    ok = arguments_check_animation (kind, image, drawables, &params, &values, &error);
  }
  if (ok)
    result = dream (kind, image, drawables ? drawables[0] : NULL, &params, &values, &error);
  dd_dream_params_clear (&params);
  if (!result)
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  if (run_mode != GIMP_RUN_NONINTERACTIVE) {
    gimp_display_new (result);
    gimp_displays_flush ();
  }
  GimpValueArray *return_values =
      gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_IMAGE (return_values, 1, result);
  return return_values;
}

GimpProcedure *
animation_procedure_new (GimpPlugIn *plug_in, const gchar *name)
{
  AnimationKind kind;
  if (g_strcmp0 (name, FRAMES_PROC) == 0)
    kind = ANIMATION_FRAMES;
  else if (g_strcmp0 (name, ZOOM_PROC) == 0)
    kind = ANIMATION_ZOOM;
  else
    return NULL;
  GimpProcedure *procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                       run, GINT_TO_POINTER (kind), NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  /* The frames are every layer, whichever are selected. */
  gimp_procedure_set_sensitivity_mask (procedure, kind == ANIMATION_ZOOM
                                                      ? GIMP_PROCEDURE_SENSITIVE_DRAWABLE
                                                      : GIMP_PROCEDURE_SENSITIVE_DRAWABLE |
                                                            GIMP_PROCEDURE_SENSITIVE_DRAWABLES |
                                                            GIMP_PROCEDURE_SENSITIVE_NO_DRAWABLES);
  gimp_procedure_set_menu_label (procedure,
                                 kind == ANIMATION_ZOOM ? ZOOM_MENU_LABEL : FRAMES_MENU_LABEL);
  gimp_procedure_add_menu_path (procedure, ANIMATION_MENU_PATH);
  gimp_procedure_set_documentation (procedure, kind == ANIMATION_ZOOM ? ZOOM_BLURB : FRAMES_BLURB,
                                    kind == ANIMATION_ZOOM ? ZOOM_HELP : FRAMES_HELP, name);
  gimp_procedure_set_attribution (procedure, PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT,
                                  PROCEDURE_DATE);
  arguments_add_animation (procedure, kind);
  gimp_procedure_add_image_return_value (
      procedure, "new-image", "New image",
      "The new image, one layer per frame, the first at the bottom", FALSE, G_PARAM_READWRITE);
  return procedure;
}
