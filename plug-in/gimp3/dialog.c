/* dialog.c: the DeepDream dialog for GIMP 3.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GimpProcedureDialog makes the controls of the procedure's arguments,
 * which come from the engine's parameter table with their labels, ranges
 * and tooltips; this file adds what a plain control cannot do: the model
 * picker (installed models, or an .onnx file), the layer picker (the
 * card's recommended layers and every other layer of the model, or any
 * "NAME[:WEIGHT],..." typed in) and the live preview with its time
 * estimate (shared with 2.10: common/preview.c). The sections are those of
 * 2.10's dialog: what to amplify, how hard, how the new layer blends.
 */
#include "dialog.h"

#include <libgimp/gimpui.h>
#include <string.h>

#include "arguments.h"
#include "image-io.h"
#include "layer-modes.h"
#include "pixels.h"
#include "preview.h"

/* Tensor shapes are listed for this input size; only channels are used. */
#define SHAPE_EDGE 224

enum { MODEL_ID, MODEL_LABEL, N_MODEL_COLUMNS };
enum { LAYER_NAME, LAYER_LABEL, N_LAYER_COLUMNS };

typedef struct {
  GimpProcedureConfig *config;
  GtkWidget *dialog, *model_status, *layer_combo, *mode_combo;
  gchar *model_id;   /* the model loaded */
  DreamModel *model; /* NULL when it could not be loaded */
  Preview *preview;
  GimpDrawable *preview_guide; /* the guide the preview has */
} Dialog;

/* ---- Models and layers ------------------------------------------------------------- */

/* The installed cards by their display names, plus the model of the
 * settings when it is a file. */
static GtkListStore *
model_store (const gchar *current)
{
  GtkListStore *store = gtk_list_store_new (N_MODEL_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  g_auto (GStrv) names = dd_model_card_list_installed ();
  gboolean listed = FALSE;
  for (int i = 0; names[i]; i++) {
    g_autoptr (DdModelCard) card = dd_model_card_find (names[i], NULL);
    gtk_list_store_insert_with_values (store, NULL, -1, MODEL_ID, names[i], MODEL_LABEL,
                                       card ? card->display_name : names[i], -1);
    listed = listed || g_strcmp0 (names[i], current) == 0;
  }
  if (!listed && current && *current) {
    g_autofree gchar *label = g_path_get_basename (current);
    gtk_list_store_insert_with_values (store, NULL, -1, MODEL_ID, current, MODEL_LABEL, label, -1);
  }
  return store;
}

static void
add_layer_row (GtkListStore *store, const gchar *name, const gchar *label)
{
  gtk_list_store_insert_with_values (store, NULL, -1, LAYER_NAME, name, LAYER_LABEL, label, -1);
}

/* The card's recommended layers with their descriptions, a separator,
 * then every other 4-D tensor with its channel count. */
static void
fill_layers (Dialog *d)
{
  GtkListStore *store = GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (d->layer_combo)));
  gtk_list_store_clear (store);
  if (!d->model)
    return;
  const DdModelCard *card = d->model->card;
  g_autoptr (GArray) tensors =
      dd_model_list_tensors (d->model->model, SHAPE_EDGE, SHAPE_EDGE, NULL);
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; card->layers[i]; i++) {
    g_autofree gchar *label = g_strdup_printf ("%s — %s", card->layers[i], card->descriptions[i]);
    add_layer_row (store, card->layers[i], label);
    g_hash_table_add (listed, card->layers[i]);
  }
  if (card->layers[0] && tensors && tensors->len)
    add_layer_row (store, NULL, NULL);
  for (guint i = 0; tensors && i < tensors->len; i++) {
    const DdTensorInfo *t = &g_array_index (tensors, DdTensorInfo, i);
    if (t->rank != 4 || g_hash_table_contains (listed, t->name))
      continue;
    g_autofree gchar *label = g_strdup_printf ("%s (%d channels)", t->name, (int) t->dims[1]);
    add_layer_row (store, t->name, label);
  }
}

static gboolean
is_separator (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  g_autofree gchar *name = NULL;
  (void) data;
  gtk_tree_model_get (model, iter, LAYER_NAME, &name, -1);
  return name == NULL;
}

/* An editable combo on the "layers" argument: the list shows
 * descriptions, the entry takes any "NAME[:WEIGHT],..." a user types;
 * empty means the model's default layer. */
static GtkWidget *
layer_combo_new (Dialog *d)
{
  GtkListStore *store = gtk_list_store_new (N_LAYER_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  GtkWidget *combo = gtk_combo_box_new_with_model_and_entry (GTK_TREE_MODEL (store));
  g_object_unref (store);
  gtk_combo_box_set_entry_text_column (GTK_COMBO_BOX (combo), LAYER_NAME);
  gtk_cell_layout_clear (GTK_CELL_LAYOUT (combo));
  GtkCellRenderer *cell = gtk_cell_renderer_text_new ();
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (combo), cell, TRUE);
  gtk_cell_layout_add_attribute (GTK_CELL_LAYOUT (combo), cell, "text", LAYER_LABEL);
  gtk_combo_box_set_row_separator_func (GTK_COMBO_BOX (combo), is_separator, NULL, NULL);
  GtkWidget *entry = gtk_bin_get_child (GTK_BIN (combo));
  gtk_entry_set_width_chars (GTK_ENTRY (entry), 24);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "the model's default layer");
  g_object_bind_property (d->config, "layers", entry, "text",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gimp_help_set_help_data (combo, dd_dream_param_find ("layers")->help, NULL);
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

static void
show_model_status (Dialog *d, const GError *error)
{
  const gchar *text = NULL;
  if (error)
    text = error->message;
  else if (d->model->card->assumed)
    text = "No model card describes this file: ImageNet preprocessing is assumed and no "
           "layers are recommended.";
  gtk_label_set_text (GTK_LABEL (d->model_status), text ? text : "");
  gtk_widget_set_visible (d->model_status, text != NULL);
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
  show_model_status (d, error);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK, d->model != NULL);
  fill_layers (d);
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
  gimp_procedure_dialog_get_label (dialog, "what-title", "Model and layer", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "what-frame", "what-title", FALSE, "what-box");

  GtkWidget *how =
      gimp_procedure_dialog_fill_box (dialog, "how-box", "octaves", "octave-scale", "iterations",
                                      "step-size", "jitter", "seed", "laplacian", NULL);
  insert (how, start_row (d), -1);
  gimp_procedure_dialog_get_label (dialog, "how-title", "Dream", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "how-frame", "how-title", FALSE, "how-box");

  GtkWidget *result = gimp_procedure_dialog_fill_box (dialog, "result-box", "opacity", NULL);
  insert (result, mode_row (d), 0);
  gimp_procedure_dialog_get_label (dialog, "result-title", "Result", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame (dialog, "result-frame", "result-title", FALSE, "result-box");

  gimp_procedure_dialog_fill_box (dialog, "settings", "what-frame", "how-frame", "result-frame",
                                  NULL);
  GtkWidget *columns = gimp_procedure_dialog_fill_box (dialog, "columns", "settings", NULL);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (columns), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (columns), 12);
  insert (columns, preview_column (d, drawable), 0);
  gimp_procedure_dialog_fill (dialog, "columns", NULL);
}

gboolean
deepdream_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image,
                  GimpDrawable *drawable)
{
  Dialog d = { .config = config };
  (void) image;
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
