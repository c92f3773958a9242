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
#include "pixels.h"

/* The frames of image, bottom layer first, as Playback plays them; NULL
 * with error set and nothing changed, or the new image. */
static GimpImage *
dream_frames (GimpImage *image, const DdDreamParams *params, const AnimationValues *values,
              GError **error)
{
  g_autofree GimpLayer **layers = gimp_image_get_layers (image);
  int n = 0;
  while (layers && layers[n])
    n++;
  const int width = gimp_image_get_width (image), height = gimp_image_get_height (image);
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = NULL;
  if (n < 2) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "image: has %d layer; an animation is a stack of layers, one per frame (for a "
                 "still, use Filters > Artistic > DeepDream)",
                 n);
    return NULL;
  }
  if (!(model = dd_model_open (params->model, &card, error)) ||
      !dd_dream_check (model, card, params, width, height,
                       gimp_image_get_base_type (image) == GIMP_GRAY ? 1 : 3, NULL, error))
    return NULL;
  DdImage *frames = g_new0 (DdImage, n);
  char **names = g_new0 (char *, n + 1);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < n; i++) {
    GimpLayer *layer = layers[n - 1 - i];
    names[i] = g_strdup (gimp_item_get_name (GIMP_ITEM (layer)));
    ok = image_io_read_frame (layer, width, height, &frames[i], error);
  }
  GimpImage *result = NULL;
  if (ok) {
    gimp_progress_init ("DeepDream frames");
    gint64 start = g_get_monotonic_time ();
    if (animation_dream_frames (model, card, params, values->blend, frames, n,
                                procedure_show_frame_progress, &start, error))
      result = image_io_new_animation (image, frames, names, n, error);
    gimp_progress_end ();
  }
  for (int i = 0; i < n; i++)
    pixels_clear (&frames[i]);
  g_free (frames);
  g_strfreev (names);
  return result;
}

/* The zoom into the selected part of drawable; NULL with error set, or
 * the new image. */
static GimpImage *
dream_zoom (GimpImage *image, GimpDrawable *drawable, const DdDreamParams *params,
            const AnimationValues *values, GError **error)
{
  GeglRectangle box;
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = NULL;
  if (!image_io_selection_box (drawable, &box, error) ||
      !(model = dd_model_open (params->model, &card, error)) ||
      !dd_dream_check (model, card, params, box.width, box.height,
                       gimp_drawable_is_gray (drawable) ? 1 : 3, NULL, error))
    return NULL;
  const int n = values->frames;
  DdImage first = { 0 }, *frames = g_new0 (DdImage, n);
  GimpImage *result = NULL;
  if (image_io_read (drawable, &box, G_MAXINT, &first, error)) {
    gimp_progress_init ("DeepDream zoom");
    gint64 start = g_get_monotonic_time ();
    if (animation_zoom (model, card, params, values, &first, frames, procedure_show_frame_progress,
                        &start, error)) {
      char **names = g_new0 (char *, n + 1);
      for (int i = 0; i < n; i++)
        names[i] = g_strdup_printf ("DeepDream zoom %d", i + 1);
      result = image_io_new_animation (image, frames, names, n, error);
      g_strfreev (names);
    }
    gimp_progress_end ();
  }
  for (int i = 0; i < n; i++)
    pixels_clear (&frames[i]);
  g_free (frames);
  pixels_clear (&first);
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
    result = kind == ANIMATION_ZOOM ? dream_zoom (image, drawables[0], &params, &values, &error)
                                    : dream_frames (image, &params, &values, &error);
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
