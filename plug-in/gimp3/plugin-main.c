/* plugin-main.c: registers plug-in-deepdream with GIMP 3 and runs it.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * As in GIMP 2.10: a run gathers the settings (dialog, last values or
 * arguments, all through GimpProcedureConfig), checks them, dreams the
 * selected part of the layer in memory and only then, in one undo group,
 * adds the result as a new layer. When the user cancels the progress, GIMP
 * 3 ends the plug-in's connection and the plug-in dies (as in 2.10, no
 * cancel flag reaches it); a run stopped at any point before the undo
 * group therefore leaves the image exactly as it was.
 */
#include "animation.h"
#include "arguments.h"
#include "dialog.h"
#include "image-io.h"
#include "pixels.h"
#include "plugin.h"
#include "save.h"

#define DEEPDREAM_TYPE_PLUG_IN (deepdream_plug_in_get_type ())
G_DECLARE_FINAL_TYPE (DeepDreamPlugIn, deepdream_plug_in, DEEPDREAM, PLUG_IN, GimpPlugIn)

struct _DeepDreamPlugIn {
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (DeepDreamPlugIn, deepdream_plug_in, GIMP_TYPE_PLUG_IN)

/* GIMP_MAIN () with the engine's process set-up first. */
int
main (int argc, char *argv[])
{
  dd_process_init (argv);
  return gimp_main (DEEPDREAM_TYPE_PLUG_IN, argc, argv);
}

/* Dreams the selected part of drawable into a new layer; returns it, or
 * NULL with error set and the image untouched. */
static GimpLayer *
dream (GimpDrawable *drawable, const DdDreamParams *params, const PlugInValues *vals,
       GError **error)
{
  GeglRectangle box;
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = NULL;
  /* Everything that can be checked from the sizes is, before a huge
   * selection is read into memory. */
  if (!image_io_selection_box (drawable, &box, error) ||
      !(model = dd_model_open (params->model, &card, error)) ||
      !dd_dream_check (model, card, params, box.width, box.height,
                       gimp_drawable_is_gray (drawable) ? 1 : 3, NULL, error))
    return NULL;

  DdImage pixels = { 0 }, guide = { 0 }, mask = { 0 };
  GimpLayer *layer = NULL;
  if (image_io_read (drawable, &box, G_MAXINT, &pixels, error) &&
      (!vals->guide || image_io_read (vals->guide, NULL, GUIDE_READ_EDGE, &guide, error)) &&
      (!vals->mask || image_io_read_mask (vals->mask, drawable, &box, &mask, error))) {
    g_autofree gchar *name = NULL, *settings = NULL;
    if (procedure_dream (model, card, params, guide.pixels ? &guide : NULL,
                         mask.pixels ? &mask : NULL, &pixels, &name, &settings, error))
      layer = image_io_add_layer (drawable, &box, &pixels, name, vals->layer_mode, vals->opacity,
                                  settings, error);
  }
  pixels_clear (&pixels);
  pixels_clear (&guide);
  pixels_clear (&mask);
  return layer;
}

static GimpValueArray *
run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image, GimpDrawable **drawables,
     GimpProcedureConfig *config, gpointer data)
{
  GimpDrawable *drawable = NULL;
  DdDreamParams params;
  PlugInValues vals = { 0 };
  GError *error = NULL;
  GimpLayer *layer = NULL;
  (void) data;

  gegl_init (NULL, NULL);
  dd_dream_params_init (&params);
  /* A layer we cannot dream on is refused before the dialog opens. */
  /* A preset the call names is applied to the config first: the dialog
   * opens with its values, and a non-interactive call runs with them. */
  if (arguments_pick_drawable (image, drawables, &drawable, &error) &&
      arguments_apply_preset (config, &error)) {
    arguments_read (config, &params, &vals);
    if (arguments_check (image, drawable, &params, &vals, &error) &&
        run_mode == GIMP_RUN_INTERACTIVE) {
      if (!deepdream_dialog (procedure, config, image, drawable)) {
        plug_in_values_clear (&vals);
        dd_dream_params_clear (&params);
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
      }
      arguments_read (config, &params, &vals);
    }
  }
  if (!error && arguments_check (image, drawable, &params, &vals, &error))
    layer = dream (drawable, &params, &vals, &error);
  plug_in_values_clear (&vals);
  dd_dream_params_clear (&params);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  if (!layer)
    /* GIMP shows the message to interactive users; scripts get it as the
     * procedure's error. */
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  GimpValueArray *values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_LAYER (values, 1, layer);
  return values;
}

static GList *
query_procedures (GimpPlugIn *plug_in)
{
  (void) plug_in;
  GList *names = g_list_append (NULL, g_strdup (PLUG_IN_PROC));
  names = g_list_append (names, g_strdup (SAVE_PROC));
  names = g_list_append (names, g_strdup (FRAMES_PROC));
  return g_list_append (names, g_strdup (ZOOM_PROC));
}

static GimpProcedure *
create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  if (g_strcmp0 (name, SAVE_PROC) == 0)
    return save_procedure_new (plug_in, name);
  if (g_strcmp0 (name, PLUG_IN_PROC) != 0)
    return animation_procedure_new (plug_in, name);
  GimpProcedure *procedure =
      gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, PROCEDURE_MENU_LABEL);
  gimp_procedure_add_menu_path (procedure, PROCEDURE_MENU_PATH);
  gimp_procedure_set_documentation (procedure, PROCEDURE_BLURB, PROCEDURE_HELP, name);
  gimp_procedure_set_attribution (procedure, PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT,
                                  PROCEDURE_DATE);
  arguments_add (procedure);
  gimp_procedure_add_layer_return_value (
      procedure, "layer", "Layer", "The new layer holding the dream", FALSE, G_PARAM_READWRITE);
  return procedure;
}

/* The plug-in has no translations: without this GIMP 3 looks for a locale
 * folder beside it and warns on every start. */
static gboolean
set_i18n (GimpPlugIn *plug_in, const gchar *name, gchar **domain, gchar **catalog)
{
  (void) plug_in, (void) name, (void) domain, (void) catalog;
  return FALSE;
}

static void
deepdream_plug_in_class_init (DeepDreamPlugInClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);
  plug_in_class->query_procedures = query_procedures;
  plug_in_class->create_procedure = create_procedure;
  plug_in_class->set_i18n = set_i18n;
}

static void
deepdream_plug_in_init (DeepDreamPlugIn *self)
{
  (void) self;
}
