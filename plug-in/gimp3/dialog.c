/* dialog.c: the DeepDream dialog for GIMP 3.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GimpProcedureDialog makes the controls of the procedure's arguments,
 * which come from the engine's parameter table with their labels, ranges
 * and tooltips; this file adds what a plain control cannot do: the model
 * picker (installed models, or a model file), the layer picker (the
 * card's recommended layers and every other layer of the model, or any
 * "NAME[:WEIGHT],..." typed in) and the live preview with its time
 * estimate (shared with 2.10: common/preview.c), the presets row, the
 * colours and seamless toggles and the strength map's list. The sections
 * are those of 2.10's dialog: what to amplify, how hard, how the new layer
 * blends (under the preview). A preset sets the config's values; the run takes what they are.
 */
#include "dialog.h"

#include <libgimp/gimpui.h>
#include <string.h>

#include "arguments.h"
#include "image-io.h"
#include "layer-modes.h"
#include "pickers.h"
#include "pixels.h"
#include "preset-picker.h"
#include "preview.h"

/* Tensor shapes are listed for this input size; only channels are used. */
#define SHAPE_EDGE 224

typedef struct {
  GimpProcedureConfig *config;
  GtkWidget *dialog, *model_status, *layer_combo, *mode_combo;
  GtkWidget *preset_combo, *preset_save, *mask_combo;
  GimpImage *image;
  gchar *model_id;   /* the model loaded */
  DreamModel *model; /* NULL when it could not be loaded */
  Preview *preview;
  GimpDrawable *preview_guide; /* the guide the preview has */
} Dialog;

/* ---- Models and layers ------------------------------------------------------------- */

/* The installed cards, plus the model of the settings when it is a file. */
static GtkListStore *
model_store (const gchar *current)
{
  GtkListStore *store = model_store_new ();
  g_autoptr (DdModelCard) card = current && *current ? dd_model_card_find (current, NULL) : NULL;
  if (current && *current && !card) {
    g_autofree gchar *label = g_path_get_basename (current);
    gtk_list_store_insert_with_values (store, NULL, -1, MODEL_ID, current, MODEL_LABEL, label, -1);
  }
  return store;
}

/* The layer picker on the "layers" argument; empty means the model's
 * default layer. */
static GtkWidget *
layer_combo_new (Dialog *d)
{
  GtkWidget *entry, *combo = layer_picker_new (&entry);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "the model's default layer");
  g_object_bind_property (d->config, "layers", entry, "text",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  return combo;
}

/* ---- The preview ------------------------------------------------------------------- */

/* Read on the main thread: libgimp talks to GIMP over one pipe. */
static void
update_preview_guide (Dialog *d, GimpDrawable *guide)
{
  if (guide == d->preview_guide)
    return;
  DdImage pixels = { 0 };
  g_set_object (&d->preview_guide, guide);
  if (guide && !image_io_read (guide, NULL, PREVIEW_GUIDE_EDGE, &pixels, NULL))
    g_clear_object (&d->preview_guide);
  preview_set_guide (d->preview, &pixels);
}

/* Loads the model on the main thread (a GoogLeNet takes about 50 ms) and
 * lists its layers. Without a model OK is disabled. */
static void
load_model (Dialog *d, const gchar *id)
{
  g_autoptr (GError) error = NULL;
  dream_model_unref (d->model);
  g_free (d->model_id);
  d->model_id = g_strdup (id);
  d->model = dream_model_open (id, &error);
  model_status_show (d->model_status, d->model, error);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK, d->model != NULL);
  preset_picker_fill (d->preset_combo, d->model ? d->model->card : NULL);
  gtk_widget_set_sensitive (d->preset_save, d->model != NULL);
  g_autoptr (GArray) tensors =
      d->model ? dd_model_list_tensors (d->model->model, SHAPE_EDGE, SHAPE_EDGE, NULL) : NULL;
  layer_picker_fill (d->layer_combo, d->model, tensors);
}

/* Every change of the config comes here. */
static void
config_changed (Dialog *d)
{
  DdDreamParams params;
  PlugInValues vals = { 0 };
  dd_dream_params_init (&params);
  arguments_read (d->config, &params, &vals);
  const gchar *id =
      params.model && *params.model ? params.model : dd_dream_param_find ("model")->def_string;
  if (g_strcmp0 (id, d->model_id) != 0)
    load_model (d, id);
  if (d->preview) {
    update_preview_guide (d, vals.guide);
    preview_update (d->preview, d->model, &params);
  }
  plug_in_values_clear (&vals);
  dd_dream_params_clear (&params);
}

static GtkWidget *
preview_column (Dialog *d, GimpDrawable *drawable)
{
  g_autoptr (GError) error = NULL;
  GeglRectangle box;
  DdImage original;
  if (image_io_selection_box (drawable, &box, &error) &&
      image_io_read (drawable, &box, PREVIEW_EDGE, &original, &error)) {
    d->preview = preview_new (&original, box.width, box.height);
    return preview_get_widget (d->preview);
  }
  GtkWidget *label = gtk_label_new (error->message);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  return label;
}

/* ---- GIMP's values: blend mode, start ------------------------------------------------ */

static void
mode_chosen (GtkWidget *combo, Dialog *d)
{
  gint mode;
  if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &mode))
    g_object_set (d->config, "layer-mode", mode, NULL);
}

/* The config changes under the combo on Reset. */
static void
mode_set (Dialog *d)
{
  GimpLayerMode mode;
  g_object_get (d->config, "layer-mode", &mode, NULL);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->mode_combo), mode);
}

/* The shared blend mode list, on the "layer-mode" argument: GIMP 3 would
 * show the enum's bare value names. */
static GtkWidget *
mode_row (Dialog *d)
{
  GimpLayerMode mode;
  g_object_get (d->config, "layer-mode", &mode, NULL);
  d->mode_combo = layer_mode_combo_new (mode);
  g_signal_connect (d->mode_combo, "changed", G_CALLBACK (mode_chosen), d);
  g_signal_connect_swapped (d->config, "notify::layer-mode", G_CALLBACK (mode_set), d);
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 0, "_Blend mode", 0.0, 0.5, d->mode_combo, 1);
  return grid;
}

/* The "start" argument by its choices' names ("Image", "Noise"). */
static GtkWidget *
start_row (Dialog *d)
{
  const DdParamSpec *spec = dd_dream_param_find ("start");
  GtkWidget *combo = gtk_combo_box_text_new ();
  for (int i = 0; spec->choices[i]; i++) {
    g_autofree gchar *label = g_strdup (spec->choices[i]);
    label[0] = g_ascii_toupper (label[0]);
    gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), label);
  }
  g_object_bind_property (d->config, "start", combo, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gimp_help_set_help_data (combo, spec->help, NULL);
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  g_autofree gchar *label = g_strdup (spec->label);
  if (g_str_has_suffix (label, ":"))
    label[strlen (label) - 1] = 0;
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 0, label, 0.0, 0.5, combo, 1);
  return grid;
}

/* ---- Artists' controls: presets, colours, seamless, strength map ------------------------ */

static void
preset_chosen (GtkWidget *combo, Dialog *d)
{
  g_autofree gchar *name = preset_picker_get (combo);
  if (!name || !d->model)
    return;
  DdDreamParams params;
  PlugInValues vals = { 0 };
  dd_dream_params_init (&params);
  arguments_read (d->config, &params, &vals);
  g_autoptr (GError) error = NULL;
  if (dd_dream_params_apply_preset (&params, d->model->card, name, &error))
    arguments_write (d->config, &params);
  else
    g_message ("%s", error->message);
  plug_in_values_clear (&vals);
  dd_dream_params_clear (&params);
}

static void
save_preset (GtkWidget *button, Dialog *d)
{
  (void) button;
  if (!d->model)
    return;
  DdDreamParams params;
  PlugInValues vals = { 0 };
  dd_dream_params_init (&params);
  arguments_read (d->config, &params, &vals);
  preset_picker_save (d->preset_combo, GTK_WINDOW (d->dialog), d->model->card, &params);
  plug_in_values_clear (&vals);
  dd_dream_params_clear (&params);
}

static GtkWidget *
preset_row (Dialog *d)
{
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  GtkWidget *box = preset_picker_new (&d->preset_combo, &d->preset_save);
  gtk_widget_set_hexpand (box, TRUE);
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 0, "_Preset", 0.0, 0.5, box, 1);
  g_signal_connect (d->preset_combo, "changed", G_CALLBACK (preset_chosen), d);
  g_signal_connect (d->preset_save, "clicked", G_CALLBACK (save_preset), d);
  return grid;
}

/* A check button on a no|yes or dream|source choice of the table. */
static GtkWidget *
choice_toggle (Dialog *d, const char *name, const gchar *label)
{
  GtkWidget *toggle = gtk_check_button_new_with_mnemonic (label);
  g_object_bind_property (d->config, name, toggle, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gimp_help_set_help_data (toggle, dd_dream_param_find (name)->help, NULL);
  return toggle;
}

static void
mask_chosen (GtkWidget *combo, Dialog *d)
{
  gint id;
  if (!gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &id))
    return;
  GimpDrawable *mask = id == -1 ? NULL : gimp_drawable_get_by_id (id);
  g_object_set (d->config, "mask", mask, NULL);
}

/* None, the selection, the image's channels and its layers' masks: the
 * drawables whose values are a strength. */
static GtkWidget *
mask_row (Dialog *d)
{
  GimpSelection *selection = gimp_image_get_selection (d->image);
  d->mask_combo = gimp_int_combo_box_new ("None", -1, "Selection",
                                          gimp_item_get_id (GIMP_ITEM (selection)), NULL);
  GimpIntComboBox *combo = GIMP_INT_COMBO_BOX (d->mask_combo);
  g_autofree GimpChannel **channels = gimp_image_get_channels (d->image);
  for (int i = 0; channels && channels[i]; i++)
    gimp_int_combo_box_append (combo, GIMP_INT_STORE_VALUE,
                               gimp_item_get_id (GIMP_ITEM (channels[i])), GIMP_INT_STORE_LABEL,
                               gimp_item_get_name (GIMP_ITEM (channels[i])), -1);
  g_autofree GimpLayer **layers = gimp_image_get_layers (d->image);
  for (int i = 0; layers && layers[i]; i++) {
    GimpLayerMask *mask = gimp_layer_get_mask (layers[i]);
    if (!mask)
      continue;
    g_autofree gchar *label =
        g_strdup_printf ("Mask of %s", gimp_item_get_name (GIMP_ITEM (layers[i])));
    gimp_int_combo_box_append (combo, GIMP_INT_STORE_VALUE, gimp_item_get_id (GIMP_ITEM (mask)),
                               GIMP_INT_STORE_LABEL, label, -1);
  }
  GimpDrawable *current = NULL;
  g_object_get (d->config, "mask", &current, NULL);
  if (!current || !gimp_int_combo_box_set_active (combo, gimp_item_get_id (GIMP_ITEM (current))))
    gimp_int_combo_box_set_active (combo, -1);
  g_clear_object (&current);
  mask_chosen (d->mask_combo, d);
  g_signal_connect (d->mask_combo, "changed", G_CALLBACK (mask_chosen), d);
  gimp_help_set_help_data (d->mask_combo, dd_dream_param_find ("mask")->help, NULL);
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 0, "Strength _map", 0.0, 0.5, d->mask_combo, 1);
  return grid;
}

/* Packs widget into box at position. */
static void
insert (GtkWidget *box, GtkWidget *widget, int position)
{
  gtk_box_pack_start (GTK_BOX (box), widget, FALSE, FALSE, 0);
  gtk_box_reorder_child (GTK_BOX (box), widget, position);
  gtk_widget_show_all (widget);
}

/* ---- Layout ------------------------------------------------------------------------ */

/* Model and layer pickers in a grid, for the top of the first section. */
static GtkWidget *
pickers (Dialog *d)
{
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);

  g_autofree gchar *current = NULL;
  g_object_get (d->config, "model", &current, NULL);
  g_autoptr (GtkListStore) models = model_store (current);
  GtkWidget *model_combo = gimp_prop_string_combo_box_new (
      G_OBJECT (d->config), "model", GTK_TREE_MODEL (models), MODEL_ID, MODEL_LABEL);
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 0, "_Model", 0.0, 0.5, model_combo, 1);
  d->model_status = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (d->model_status), TRUE);
  gtk_label_set_xalign (GTK_LABEL (d->model_status), 0);
  gtk_widget_set_no_show_all (d->model_status, TRUE);
  gtk_grid_attach (GTK_GRID (grid), d->model_status, 1, 1, 1, 1);

  d->layer_combo = layer_combo_new (d);
  gimp_grid_attach_aligned (GTK_GRID (grid), 0, 2, "La_yer", 0.0, 0.5, d->layer_combo, 1);
  return grid;
}

static void
build (Dialog *d, GimpDrawable *drawable)
{
  GimpProcedureDialog *dialog = GIMP_PROCEDURE_DIALOG (d->dialog);
  GtkWidget *what =
      gimp_procedure_dialog_fill_box (dialog, "what-box", "channel", "class", "guide", NULL);
  insert (what, pickers (d), 0);
  insert (what, preset_row (d), 1);
  gimp_procedure_dialog_get_label (dialog, "what-title", "Model and layer", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "what-frame", "what-title", FALSE, "what-box");

  GtkWidget *how =
      gimp_procedure_dialog_fill_box (dialog, "how-box", "octaves", "octave-scale", "iterations",
                                      "step-size", "jitter", "seed", "laplacian", NULL);
  insert (how, start_row (d), -1);
  insert (how, choice_toggle (d, "colours", "Keep the source's c_olours"), -1);
  insert (how, choice_toggle (d, "seamless", "Seamless: the result _tiles"), -1);
  insert (how, mask_row (d), -1);
  gimp_procedure_dialog_get_label (dialog, "how-title", "Dream", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "how-frame", "how-title", FALSE, "how-box");

  GtkWidget *result = gimp_procedure_dialog_fill_box (dialog, "result-box", "opacity", NULL);
  insert (result, mode_row (d), 0);
  gimp_procedure_dialog_get_label (dialog, "result-title", "Result", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "result-frame", "result-title", FALSE, "result-box");

  /* The result's section goes under the preview, where the column has
   * room: in one column the dialog is taller than an 800-pixel screen. */
  GtkWidget *left = gimp_procedure_dialog_fill_box (dialog, "left", "result-frame", NULL);
  gtk_box_set_spacing (GTK_BOX (left), 12);
  insert (left, preview_column (d, drawable), 0);
  gimp_procedure_dialog_fill_box (dialog, "settings", "what-frame", "how-frame", NULL);
  GtkWidget *columns = gimp_procedure_dialog_fill_box (dialog, "columns", "left", "settings", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (columns), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (columns), 12);
  gimp_procedure_dialog_fill (dialog, "columns", NULL);
}

gboolean
deepdream_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image,
                  GimpDrawable *drawable)
{
  Dialog d = { .config = config, .image = image };
  gimp_ui_init (PLUG_IN_BINARY);
  d.dialog = gimp_procedure_dialog_new (procedure, config, "DeepDream");
  build (&d, drawable);
  g_signal_connect_swapped (config, "notify", G_CALLBACK (config_changed), &d);
  config_changed (&d);

  gboolean ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (d.dialog));

  g_signal_handlers_disconnect_by_data (config, &d);
  /* First: the worker's callback must not find the widgets gone. */
  if (d.preview)
    preview_free (d.preview);
  gtk_widget_destroy (d.dialog);
  g_clear_object (&d.preview_guide);
  dream_model_unref (d.model);
  g_free (d.model_id);
  return ok;
}

/* ---- The animation filters' dialog ---------------------------------------------------- */

gboolean
animation_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, AnimationKind kind)
{
  gimp_ui_init (PLUG_IN_BINARY);
  GtkWidget *dialog = gimp_procedure_dialog_new (
      procedure, config, kind == ANIMATION_ZOOM ? "DeepDream Zoom" : "DeepDream Frames");
  GimpProcedureDialog *d = GIMP_PROCEDURE_DIALOG (dialog);
  if (kind == ANIMATION_ZOOM)
    gimp_procedure_dialog_fill (d, "frames", "zoom", "angle", "loop", "model", "layers", "octaves",
                                "iterations", "step-size", "seed", NULL);
  else
    gimp_procedure_dialog_fill (d, "blend", "model", "layers", "octaves", "iterations", "step-size",
                                "seed", NULL);
  gboolean ok = gimp_procedure_dialog_run (d);
  gtk_widget_destroy (dialog);
  return ok;
}
