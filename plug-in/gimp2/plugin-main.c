/* plugin-main.c: registers plug-in-deepdream and runs it.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A run gathers the settings (dialog, last values or arguments), checks
 * them, dreams the selected part of the layer in memory and only then, in
 * one undo group, adds the result as a new layer. GIMP 2.10 cancels a
 * plug-in by killing it, so a run stopped at any point before that leaves
 * the image exactly as it was.
 */
#include "animation.h"
#include "arguments.h"
#include "dialog.h"
#include "image-io.h"
#include "pixels.h"
#include "plugin.h"
#include "save.h"
#include "settings.h"

static void query (void);
static void run (const gchar *name, gint n_params, const GimpParam *param, gint *n_return_vals,
                 GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

/* GIMP's MAIN () with the engine's process set-up first. */
int
main (int argc, char *argv[])
{
  dd_process_init (argv);
  return gimp_main (&PLUG_IN_INFO, argc, argv);
}

static void
query (void)
{
  static const GimpParamDef return_vals[] = {
    { GIMP_PDB_LAYER, "layer", "The new layer holding the dream" },
  };
  gint n_defs;
  GimpParamDef *defs = arguments_make_defs (FALSE, &n_defs);
  gimp_install_procedure (PLUG_IN_PROC, PROCEDURE_BLURB, PROCEDURE_HELP, PROCEDURE_AUTHORS,
                          PROCEDURE_COPYRIGHT, PROCEDURE_DATE, PROCEDURE_MENU_LABEL, "RGB*, GRAY*",
                          GIMP_PLUGIN, n_defs, G_N_ELEMENTS (return_vals), defs, return_vals);
  gimp_plugin_menu_register (PLUG_IN_PROC, PROCEDURE_MENU_PATH);
  arguments_free_defs (defs, n_defs);
  save_query ();
  /* No menu entry: the menu's procedure shows every control already. */
  defs = arguments_make_defs (TRUE, &n_defs);
  gimp_install_procedure (PLUG_IN_PROC_FULL, PROCEDURE_BLURB,
                          PROCEDURE_HELP " This procedure takes every argument: "
                                         "plug-in-deepdream's, then the artists' controls.",
                          PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT, PROCEDURE_DATE, NULL,
                          "RGB*, GRAY*", GIMP_PLUGIN, n_defs, G_N_ELEMENTS (return_vals), defs,
                          return_vals);
  arguments_free_defs (defs, n_defs);
  animation_query ();
}

/* Dreams the selected part of drawable into a new layer; returns it, or
 * -1 with error set and the image untouched. */
static gint32
dream (gint32 drawable, const DdDreamParams *params, const PlugInValues *vals, GError **error)
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
    return -1;

  DdImage pixels = { 0 }, guide = { 0 }, mask = { 0 };
  gint32 layer = -1;
  if (image_io_read (drawable, &box, &pixels, error) &&
      (vals->guide == -1 ||
       image_io_read_scaled (vals->guide, NULL, GUIDE_READ_EDGE, &guide, error)) &&
      (vals->mask == -1 || image_io_read_mask (vals->mask, drawable, &box, &mask, error))) {
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

static void
keep_settings (const DdDreamParams *params, const PlugInValues *vals)
{
  g_autoptr (GError) error = NULL;
  if (!settings_save (params, vals, &error))
    g_printerr ("%s: could not keep the settings: %s\n", PLUG_IN_BINARY, error->message);
}

/* The settings of this run, from the run mode's source. FALSE when there is
 * nothing to run: error is set, or the user cancelled the dialog. */
static gboolean
get_settings (GimpRunMode run_mode, gint32 image, gint32 drawable, const GimpParam *param,
              gint n_params, DdDreamParams *params, PlugInValues *vals, GError **error)
{
  switch (run_mode) {
  case GIMP_RUN_INTERACTIVE:
    settings_load (params, vals);
    /* A layer we cannot dream on is refused before the dialog opens. */
    if (!arguments_check (image, drawable, params, vals, error) ||
        !deepdream_dialog (image, drawable, params, vals))
      return FALSE;
    /* Kept now, so that a failed or cancelled dream does not lose them. */
    keep_settings (params, vals);
    return TRUE;
  case GIMP_RUN_WITH_LAST_VALS:
    settings_load (params, vals);
    return TRUE;
  case GIMP_RUN_NONINTERACTIVE:
    return arguments_read (param, n_params, params, vals, error);
  }
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "run-mode: %d is not a run mode", run_mode);
  return FALSE;
}

void
plugin_return (GimpRunMode run_mode, GimpPDBArgType type, gint32 id, GError *error,
               gint *n_return_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar *message;
  GimpPDBStatusType status = GIMP_PDB_CANCEL;
  *n_return_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  if (id != -1) {
    status = GIMP_PDB_SUCCESS;
    *n_return_vals = 2;
    values[1].type = type;
    values[1].data.d_int32 = id; /* layer and image ids alike */
  } else if (error) {
    /* GIMP shows the message to interactive users; scripts get it as
     * the procedure's error. */
    status = GIMP_PDB_EXECUTION_ERROR;
    g_free (message);
    message = g_strdup (error->message);
    g_error_free (error);
    *n_return_vals = 2;
    values[1].type = GIMP_PDB_STRING;
    values[1].data.d_string = message;
  }
  values[0].data.d_status = status;
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
}

static void
run (const gchar *name, gint n_params, const GimpParam *param, gint *n_return_vals,
     GimpParam **return_vals)
{
  GimpRunMode run_mode = param[0].data.d_int32;
  gint32 image = param[1].data.d_image, drawable = param[2].data.d_drawable;
  DdDreamParams params;
  PlugInValues vals = PLUG_IN_VALUES_DEFAULT;
  GError *error = NULL;
  gint32 layer = -1;

  if (strcmp (name, SAVE_PROC) == 0) {
    save_run (n_params, param, n_return_vals, return_vals);
    return;
  }
  if (strcmp (name, PLUG_IN_PROC) != 0 && strcmp (name, PLUG_IN_PROC_FULL) != 0) {
    animation_run (name, n_params, param, n_return_vals, return_vals);
    return;
  }
  gegl_init (NULL, NULL);
  dd_dream_params_init (&params);
  if (get_settings (run_mode, image, drawable, param, n_params, &params, &vals, &error) &&
      arguments_check (image, drawable, &params, &vals, &error))
    layer = dream (drawable, &params, &vals, &error);

  plugin_return (run_mode, GIMP_PDB_LAYER, layer, error, n_return_vals, return_vals);
  dd_dream_params_clear (&params);
}
