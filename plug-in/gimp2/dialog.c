/* dialog.c: the DeepDream dialog.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A preview on the left; on the right three sections, in the order people
 * decide things: what to amplify ("Model and layer": model, preset, layer,
 * channel, class, guide), how hard ("Dream": octaves, octave scale,
 * iterations, step size, jitter, seed, Laplacian bands, start, colours,
 * seamless, strength map) and how the new layer blends ("Result"). Every
 * engine setting takes its label, tooltip, range and default from the
 * engine's parameter table; only the guide, strength map, blend mode and
 * opacity, which are GIMP's, are described here. A preset sets the
 * controls; the run takes what they show.
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

#define RESPONSE_RESET 1
/* Tensor shapes are listed for this input size; only channels are used. */
#define SHAPE_EDGE 224

/* How a number of the table is shown. A slider covers the values people
 * use (slider_max, 0 = the table's max); its spin button still takes the
 * table's whole range. Without a slider it is a spin button alone, with a
 * hint after it for the special value. */
typedef struct {
  const char *name;
  gboolean slider;
  double slider_max;
  double step;
  int digits;
  const char *hint;
} NumberLook;

static const NumberLook dream_looks[] = {
  { "octaves", TRUE, 0, 1, 0, NULL },     { "octave-scale", TRUE, 2.5, 0.05, 2, NULL },
  { "iterations", TRUE, 50, 1, 0, NULL }, { "step-size", TRUE, 6, 0.1, 2, NULL },
  { "jitter", TRUE, 128, 1, 0, NULL },
};
static const NumberLook more_looks[] = { { "laplacian", TRUE, 0, 1, 0, NULL } };
static const NumberLook channel_look = { "channel", FALSE, 0, 1, 0, "(−1 = all)" };
static const NumberLook class_look = { "class", FALSE, 0, 1, 0, "(−1 = off)" };

typedef struct {
  const DdParamSpec *spec;
  GtkAdjustment *adjustment;
} Number;

/* The id of the model combo's "Other…" row. */
#define OTHER_MODEL ""

typedef struct {
  GtkWidget *dialog;
  GtkSizeGroup *labels; /* one label column across the sections */
  GArray *numbers;      /* of Number: every plain number of the table */

  gchar *model_id;   /* card name or model file */
  DreamModel *model; /* NULL when it could not be loaded */
  GArray *tensors;   /* of the model, DdTensorInfo; NULL when unknown */

  GtkWidget *model_combo, *model_status;
  GtkWidget *layer_combo, *layer_entry;
  GtkAdjustment *channel, *seed, *opacity;
  GtkWidget *start_combo, *guide_combo, *mode_combo;
  GtkWidget *colours_toggle, *seamless_toggle, *mask_combo;
  GtkWidget *preset_combo, *preset_save;
  Preview *preview;
  gint32 preview_guide; /* the guide the preview has, -1 = none */
  gboolean filling;     /* widgets are being set from code, not by the user */
} Dialog;

/* ---- Reading the settings ---------------------------------------------------------- */

static void
set_field (DdDreamParams *params, const DdParamSpec *spec, double value)
{
  gpointer field = (char *) params + spec->offset;
  if (spec->type == DD_PARAM_DOUBLE)
    *(double *) field = value;
  else
    *(int *) field = (int) value;
}

static void
read_params (const Dialog *d, DdDreamParams *params)
{
  g_free (params->model);
  params->model = g_strdup (d->model_id);
  g_free (params->layers);
  params->layers = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (d->layer_entry))));
  for (guint i = 0; i < d->numbers->len; i++) {
    const Number *n = &g_array_index (d->numbers, Number, i);
    set_field (params, n->spec, gtk_adjustment_get_value (n->adjustment));
  }
  params->start = gtk_combo_box_get_active (GTK_COMBO_BOX (d->start_combo));
  params->colours = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->colours_toggle))
                        ? DD_COLOURS_SOURCE
                        : DD_COLOURS_DREAM;
  params->seamless = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (d->seamless_toggle));
}

/* The controls the table's params hold, shown as params has them. */
static void
show_params (Dialog *d, const DdDreamParams *params)
{
  gboolean filling = d->filling;
  d->filling = TRUE;
  for (guint i = 0; i < d->numbers->len; i++) {
    const Number *n = &g_array_index (d->numbers, Number, i);
    gconstpointer field = (const char *) params + n->spec->offset;
    gtk_adjustment_set_value (n->adjustment, n->spec->type == DD_PARAM_DOUBLE
                                                 ? *(const double *) field
                                                 : *(const int *) field);
  }
  gtk_entry_set_text (GTK_ENTRY (d->layer_entry), params->layers ? params->layers : "");
  gtk_combo_box_set_active (GTK_COMBO_BOX (d->start_combo), params->start);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->colours_toggle),
                                params->colours == DD_COLOURS_SOURCE);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->seamless_toggle), params->seamless);
  d->filling = filling;
}

static void
read_values (const Dialog *d, PlugInValues *vals)
{
  gint value;
  if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (d->guide_combo), &value))
    vals->guide = value;
  if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (d->mode_combo), &value))
    vals->layer_mode = value;
  if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (d->mask_combo), &value))
    vals->mask = value;
  vals->opacity = gtk_adjustment_get_value (d->opacity);
}

/* Read on the main thread: libgimp talks to GIMP over one pipe. */
static void
preview_guide_changed (Dialog *d, gint32 guide)
{
  if (guide == d->preview_guide)
    return;
  DdImage pixels = { 0 };
  d->preview_guide = guide;
  if (guide != -1 && !image_io_read_scaled (guide, NULL, PREVIEW_GUIDE_EDGE, &pixels, NULL))
    d->preview_guide = -1;
  preview_set_guide (d->preview, &pixels);
}

/* Every change that alters the dream comes here. */
static void
settings_changed (Dialog *d)
{
  if (d->filling || !d->preview)
    return;
  DdDreamParams params;
  PlugInValues vals = PLUG_IN_VALUES_DEFAULT;
  dd_dream_params_init (&params);
  read_params (d, &params);
  read_values (d, &vals);
  preview_guide_changed (d, vals.guide);
  preview_update (d->preview, d->model, &params);
  dd_dream_params_clear (&params);
}

/* ---- Building blocks ----------------------------------------------------------------- */

/* A titled section of parent; returns its table of label, slider and
 * spin button columns. */
static GtkWidget *
section (GtkWidget *parent, const gchar *title)
{
  GtkWidget *frame = gimp_frame_new (title);
  GtkWidget *table = gtk_table_new (1, 3, FALSE);
  gtk_table_set_row_spacings (GTK_TABLE (table), 4);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_add (GTK_CONTAINER (frame), table);
  gtk_box_pack_start (GTK_BOX (parent), frame, FALSE, FALSE, 0);
  return table;
}

/* A labelled row spanning the slider and spin button columns. */
static void
add_row (Dialog *d, GtkWidget *table, int *row, const gchar *label, GtkWidget *widget,
         gboolean left_align)
{
  GtkWidget *l = gimp_table_attach_aligned (GTK_TABLE (table), 0, (*row)++, label, 0.0, 0.5, widget,
                                            2, left_align);
  gtk_size_group_add_widget (d->labels, l);
}

static GtkAdjustment *
spin_only (double value, double min, double max, double step, int digits, GtkWidget **spin)
{
  GtkObject *adjustment = gtk_adjustment_new (value, min, max, step, step * 10, 0);
  *spin = gtk_spin_button_new (GTK_ADJUSTMENT (adjustment), step, digits);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (*spin), TRUE);
  gtk_entry_set_width_chars (GTK_ENTRY (*spin), 8);
  return GTK_ADJUSTMENT (adjustment);
}

/* A spin button for spec, with extra beside it, in a row of its own. */
static GtkAdjustment *
add_spin_row (Dialog *d, GtkWidget *table, int *row, const DdParamSpec *spec, double value,
              double step, int digits, GtkWidget *extra, GtkWidget **spin)
{
  GtkWidget *box = gtk_hbox_new (FALSE, 6);
  GtkAdjustment *adjustment = spin_only (value, spec->min, spec->max, step, digits, spin);
  gimp_help_set_help_data (*spin, spec->help, NULL);
  gtk_box_pack_start (GTK_BOX (box), *spin, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), extra, FALSE, FALSE, 0);
  add_row (d, table, row, spec->label, box, TRUE);
  return adjustment;
}

/* Reads spec's value from adjustment when settings are taken, and
 * refreshes the preview when it changes. */
static void
track_number (Dialog *d, const DdParamSpec *spec, GtkAdjustment *adjustment)
{
  Number number = { spec, adjustment };
  g_array_append_val (d->numbers, number);
  g_signal_connect_swapped (adjustment, "value-changed", G_CALLBACK (settings_changed), d);
}

/* A number of the table as its look says, in row *row of table. */
static GtkAdjustment *
add_number (Dialog *d, GtkWidget *table, int *row, const NumberLook *look,
            const DdDreamParams *params)
{
  const DdParamSpec *spec = dd_dream_param_find (look->name);
  gconstpointer field = (const char *) params + spec->offset;
  double value = spec->type == DD_PARAM_DOUBLE ? *(const double *) field : *(const int *) field;
  GtkAdjustment *adjustment;
  if (look->slider) {
    double slider_max = look->slider_max > 0 ? look->slider_max : spec->max;
    GtkObject *a = gimp_scale_entry_new (
        GTK_TABLE (table), 0, *row, spec->label, 160, 6, value, spec->min, slider_max, look->step,
        look->step * 10, look->digits, FALSE, spec->min, spec->max, spec->help, NULL);
    gtk_size_group_add_widget (d->labels, GIMP_SCALE_ENTRY_LABEL (a));
    (*row)++;
    adjustment = GTK_ADJUSTMENT (a);
  } else {
    GtkWidget *spin, *hint = gtk_label_new (look->hint);
    adjustment = add_spin_row (d, table, row, spec, value, look->step, look->digits, hint, &spin);
    g_object_set_data (G_OBJECT (adjustment), "hint", hint);
  }
  track_number (d, spec, adjustment);
  return adjustment;
}

/* ---- Models -------------------------------------------------------------------------- */

static GtkListStore *
model_store (GtkWidget *combo)
{
  return GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (combo)));
}

/* "" means the default model, which the list shows by its name. */
static const gchar *
model_or_default (const gchar *id)
{
  return id && *id ? id : dd_dream_param_find ("model")->def_string;
}

/* Selects a model, adding a row (above "Other…") for one not listed yet. */
static void
model_combo_select (GtkWidget *combo, const gchar *id)
{
  if (gimp_string_combo_box_set_active (GIMP_STRING_COMBO_BOX (combo), id))
    return;
  GtkListStore *store = model_store (combo);
  int n = gtk_tree_model_iter_n_children (GTK_TREE_MODEL (store), NULL);
  g_autofree gchar *label = g_path_get_basename (id);
  GtkTreeIter iter;
  gtk_list_store_insert_with_values (store, &iter, n - 1, MODEL_ID, id, MODEL_LABEL, label, -1);
  gtk_combo_box_set_active_iter (GTK_COMBO_BOX (combo), &iter);
}

/* The installed cards by their display names, then "Other…". */
static GtkWidget *
model_combo_new (void)
{
  GtkListStore *store = model_store_new ();
  gtk_list_store_insert_with_values (store, NULL, -1, MODEL_ID, OTHER_MODEL, MODEL_LABEL,
                                     "Other (an .onnx or .caffemodel file)…", -1);
  GtkWidget *combo = gimp_string_combo_box_new (GTK_TREE_MODEL (store), MODEL_ID, MODEL_LABEL);
  g_object_unref (store);
  return combo;
}

static gchar *
choose_model_file (Dialog *d)
{
  GtkWidget *chooser = gtk_file_chooser_dialog_new (
      "Choose a Model", GTK_WINDOW (d->dialog), GTK_FILE_CHOOSER_ACTION_OPEN, "_Cancel",
      GTK_RESPONSE_CANCEL, "_Open", GTK_RESPONSE_ACCEPT, NULL);
  GtkFileFilter *models = gtk_file_filter_new ();
  gtk_file_filter_set_name (models, "ONNX and Caffe models (*.onnx, *.caffemodel)");
  gtk_file_filter_add_pattern (models, "*.onnx");
  gtk_file_filter_add_pattern (models, "*.caffemodel");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), models);
  gchar *file = NULL;
  if (gtk_dialog_run (GTK_DIALOG (chooser)) == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (chooser));
  gtk_widget_destroy (chooser);
  return file;
}

static void fill_layers (Dialog *d);

/* Loads the model on the main thread (a GoogLeNet takes about 50 ms), lists
 * its layers and refreshes the preview. Without a model OK is disabled. */
static void
load_model (Dialog *d, const gchar *id)
{
  g_autoptr (GError) error = NULL;
  dream_model_unref (d->model);
  g_clear_pointer (&d->tensors, g_array_unref);
  g_free (d->model_id);
  d->model_id = g_strdup (id);
  d->model = dream_model_open (id, &error);
  if (d->model)
    d->tensors = dd_model_list_tensors (d->model->model, SHAPE_EDGE, SHAPE_EDGE, NULL);
  model_status_show (d->model_status, d->model, error);
  gtk_dialog_set_response_sensitive (GTK_DIALOG (d->dialog), GTK_RESPONSE_OK, d->model != NULL);
  preset_picker_fill (d->preset_combo, d->model ? d->model->card : NULL);
  gtk_widget_set_sensitive (d->preset_save, d->model != NULL);
  fill_layers (d);
  settings_changed (d);
}

static void
model_changed (GtkWidget *combo, Dialog *d)
{
  if (d->filling)
    return;
  g_autofree gchar *id = gimp_string_combo_box_get_active (GIMP_STRING_COMBO_BOX (combo));
  if (id && g_strcmp0 (id, OTHER_MODEL) == 0) {
    g_free (id);
    id = choose_model_file (d);
    /* Cancelled: back to the model in use. */
    d->filling = TRUE;
    model_combo_select (combo, id ? id : d->model_id);
    d->filling = FALSE;
  }
  if (id && g_strcmp0 (id, d->model_id) != 0)
    load_model (d, id);
}

/* ---- Layers ------------------------------------------------------------------------ */

static const DdTensorInfo *
find_tensor (const Dialog *d, const char *name)
{
  g_autofree char *resolved = dd_model_card_resolve_layer (d->model->card, d->model->model, name);
  for (guint i = 0; d->tensors && i < d->tensors->len; i++) {
    const DdTensorInfo *t = &g_array_index (d->tensors, DdTensorInfo, i);
    if (strcmp (t->name, resolved) == 0)
      return t;
  }
  return NULL;
}

/* Channels every layer of "a:1,b:0.5" has (the fewest), 0 when one of
 * them is unknown. The model's default layer stands for "". */
static int
layer_channels (const Dialog *d, const gchar *text)
{
  if (!d->model || !d->tensors)
    return 0;
  if (!*text)
    text = d->model->card->default_layer ? d->model->card->default_layer : "";
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  int channels = G_MAXINT;
  for (int i = 0; parts[i]; i++) {
    char *colon = strrchr (parts[i], ':');
    if (colon)
      *colon = 0;
    const DdTensorInfo *t = find_tensor (d, g_strstrip (parts[i]));
    if (!t || t->rank != 4)
      return 0;
    channels = MIN (channels, (int) t->dims[1]);
  }
  return channels == G_MAXINT ? 0 : channels;
}

/* The model's layers in the list. */
static void
fill_layers (Dialog *d)
{
  layer_picker_fill (d->layer_combo, d->model, d->tensors);
  if (!d->model)
    return;
  const DdModelCard *card = d->model->card;
  /* The default layer shows by its name; a layer the new model does not
   * have gives way to it. */
  const gchar *text = gtk_entry_get_text (GTK_ENTRY (d->layer_entry));
  if (!*text || (d->tensors && !layer_channels (d, text)))
    gtk_entry_set_text (GTK_ENTRY (d->layer_entry), card->default_layer ? card->default_layer : "");
}

/* The channel spin button stops at the layer's last channel. */
static void
layer_changed (GtkWidget *entry, Dialog *d)
{
  int channels = layer_channels (d, gtk_entry_get_text (GTK_ENTRY (entry)));
  double upper = channels > 0 ? channels - 1 : dd_dream_param_find ("channel")->max;
  gtk_adjustment_set_upper (d->channel, upper);
  if (gtk_adjustment_get_value (d->channel) > upper)
    gtk_adjustment_set_value (d->channel, upper);
  g_autofree gchar *hint = channels > 0 ? g_strdup_printf ("of %d %s", channels, channel_look.hint)
                                        : g_strdup (channel_look.hint);
  gtk_label_set_text (GTK_LABEL (g_object_get_data (G_OBJECT (d->channel), "hint")), hint);
  settings_changed (d);
}

/* ---- GIMP's widgets: guide and blend mode ------------------------------------------ */

static GtkWidget *
guide_combo (gint32 active)
{
  GtkWidget *combo = gimp_drawable_combo_box_new (NULL, NULL);
  gimp_int_combo_box_prepend (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, -1,
                              GIMP_INT_STORE_LABEL, "None", -1);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), active);
  gimp_help_set_help_data (combo,
                           "Amplify what looks like this layer or channel instead of what the "
                           "network sees most strongly",
                           NULL);
  return combo;
}

/* None, the selection, the image's channels and its layers' masks: the
 * drawables whose values are a strength. */
static GtkWidget *
mask_combo (gint32 image, gint32 active)
{
  GtkWidget *combo =
      gimp_int_combo_box_new ("None", -1, "Selection", gimp_image_get_selection (image), NULL);
  gint n;
  g_autofree gint32 *channels = gimp_image_get_channels (image, &n);
  for (gint i = 0; i < n; i++)
    gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, channels[i],
                               GIMP_INT_STORE_LABEL, gimp_item_get_name (channels[i]), -1);
  g_autofree gint32 *layers = gimp_image_get_layers (image, &n);
  for (gint i = 0; i < n; i++) {
    gint32 mask = gimp_layer_get_mask (layers[i]);
    if (mask == -1)
      continue;
    g_autofree gchar *label = g_strdup_printf ("Mask of %s", gimp_item_get_name (layers[i]));
    gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, mask,
                               GIMP_INT_STORE_LABEL, label, -1);
  }
  if (!gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), active))
    gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), -1);
  gimp_help_set_help_data (combo, dd_dream_param_find ("mask")->help, NULL);
  return combo;
}

/* A toggle for a no|yes or dream|source choice of the table. */
static GtkWidget *
choice_toggle (Dialog *d, GtkWidget *table, int *row, const char *name, const gchar *label,
               gboolean active)
{
  GtkWidget *toggle = gtk_check_button_new_with_mnemonic (label);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (toggle), active);
  gimp_help_set_help_data (toggle, dd_dream_param_find (name)->help, NULL);
  gtk_table_attach (GTK_TABLE (table), toggle, 1, 3, *row, *row + 1, GTK_FILL, GTK_FILL, 0, 0);
  (*row)++;
  g_signal_connect_swapped (toggle, "toggled", G_CALLBACK (settings_changed), d);
  return toggle;
}

/* ---- Presets ----------------------------------------------------------------------- */

static void
preset_chosen (GtkWidget *combo, Dialog *d)
{
  g_autofree gchar *name = preset_picker_get (combo);
  if (d->filling || !name || !d->model)
    return;
  DdDreamParams params;
  dd_dream_params_init (&params);
  read_params (d, &params);
  g_autoptr (GError) error = NULL;
  if (dd_dream_params_apply_preset (&params, d->model->card, name, &error))
    show_params (d, &params);
  else
    g_message ("%s", error->message);
  dd_dream_params_clear (&params);
  settings_changed (d);
}

static void
save_preset (GtkWidget *button, Dialog *d)
{
  (void) button;
  if (!d->model)
    return;
  DdDreamParams params;
  dd_dream_params_init (&params);
  read_params (d, &params);
  preset_picker_save (d->preset_combo, GTK_WINDOW (d->dialog), d->model->card, &params);
  dd_dream_params_clear (&params);
}

/* ---- Sections ---------------------------------------------------------------------- */

static void
build_model_section (Dialog *d, GtkWidget *parent, const DdDreamParams *params,
                     const PlugInValues *vals)
{
  GtkWidget *table = section (parent, "Model and layer");
  int row = 0;

  d->model_combo = model_combo_new ();
  gimp_help_set_help_data (d->model_combo, dd_dream_param_find ("model")->help, NULL);
  add_row (d, table, &row, dd_dream_param_find ("model")->label, d->model_combo, FALSE);
  d->model_status = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (d->model_status), TRUE);
  gtk_misc_set_alignment (GTK_MISC (d->model_status), 0, 0.5);
  gimp_label_set_attributes (GTK_LABEL (d->model_status), PANGO_ATTR_STYLE, PANGO_STYLE_ITALIC, -1);
  gtk_widget_set_no_show_all (d->model_status, TRUE);
  gtk_table_attach (GTK_TABLE (table), d->model_status, 1, 3, row, row + 1, GTK_FILL, GTK_FILL, 0,
                    0);
  row++;

  add_row (d, table, &row, "_Preset:", preset_picker_new (&d->preset_combo, &d->preset_save),
           FALSE);

  d->layer_combo = layer_picker_new (&d->layer_entry);
  gtk_entry_set_text (GTK_ENTRY (d->layer_entry), params->layers ? params->layers : "");
  add_row (d, table, &row, dd_dream_param_find ("layers")->label, d->layer_combo, FALSE);

  d->channel = add_number (d, table, &row, &channel_look, params);

  add_number (d, table, &row, &class_look, params);
  d->guide_combo = guide_combo (vals->guide);
  add_row (d, table, &row, "_Guide:", d->guide_combo, FALSE);
  g_signal_connect_swapped (d->guide_combo, "changed", G_CALLBACK (settings_changed), d);
}

static void
new_seed (GtkWidget *button, Dialog *d)
{
  (void) button;
  gtk_adjustment_set_value (d->seed, g_random_int_range (0, G_MAXINT32));
}

static void
add_seed_row (Dialog *d, GtkWidget *table, int *row, const DdDreamParams *params)
{
  const DdParamSpec *spec = dd_dream_param_find ("seed");
  GtkWidget *spin, *button = gtk_button_new_with_mnemonic ("Ran_domise");
  gimp_help_set_help_data (
      button, "Pick a new random seed now (a seed of -1 picks a new one every run)", NULL);
  d->seed = add_spin_row (d, table, row, spec, params->seed, 1, 0, button, &spin);
  gtk_entry_set_width_chars (GTK_ENTRY (spin), 11);
  track_number (d, spec, d->seed);
  g_signal_connect (button, "clicked", G_CALLBACK (new_seed), d);
}

/* "noise" -> "Noise". */
static GtkWidget *
choice_combo (const DdParamSpec *spec, int active)
{
  GtkWidget *combo = gtk_combo_box_text_new ();
  for (int i = 0; spec->choices[i]; i++) {
    g_autofree gchar *label = g_strdup (spec->choices[i]);
    label[0] = g_ascii_toupper (label[0]);
    gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), label);
  }
  gtk_combo_box_set_active (GTK_COMBO_BOX (combo), active);
  gimp_help_set_help_data (combo, spec->help, NULL);
  return combo;
}

static void
build_dream_section (Dialog *d, GtkWidget *parent, gint32 image, const DdDreamParams *params,
                     const PlugInValues *vals)
{
  GtkWidget *table = section (parent, "Dream");
  int row = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (dream_looks); i++)
    add_number (d, table, &row, &dream_looks[i], params);
  add_seed_row (d, table, &row, params);
  for (gsize i = 0; i < G_N_ELEMENTS (more_looks); i++)
    add_number (d, table, &row, &more_looks[i], params);
  const DdParamSpec *start = dd_dream_param_find ("start");
  d->start_combo = choice_combo (start, params->start);
  add_row (d, table, &row, start->label, d->start_combo, TRUE);
  g_signal_connect_swapped (d->start_combo, "changed", G_CALLBACK (settings_changed), d);
  d->colours_toggle = choice_toggle (d, table, &row, "colours", "Keep the source's c_olours",
                                     params->colours == DD_COLOURS_SOURCE);
  d->seamless_toggle =
      choice_toggle (d, table, &row, "seamless", "Seamless: the result _tiles", params->seamless);
  d->mask_combo = mask_combo (image, vals->mask);
  add_row (d, table, &row, dd_dream_param_find ("mask")->label, d->mask_combo, FALSE);
}

static void
build_result_section (Dialog *d, GtkWidget *parent, const PlugInValues *vals)
{
  GtkWidget *table = section (parent, "Result");
  int row = 0;
  d->mode_combo = layer_mode_combo_new (vals->layer_mode);
  add_row (d, table, &row, "_Blend mode:", d->mode_combo, FALSE);
  GtkObject *opacity =
      gimp_scale_entry_new (GTK_TABLE (table), 0, row++, "O_pacity:", 160, 6, vals->opacity, 0, 100,
                            1, 10, 1, TRUE, 0, 0, "Opacity of the new layer", NULL);
  gtk_size_group_add_widget (d->labels, GIMP_SCALE_ENTRY_LABEL (opacity));
  d->opacity = GTK_ADJUSTMENT (opacity);
}

/* ---- The dialog -------------------------------------------------------------------- */

static GtkWidget *
new_dialog (void)
{
  GtkWidget *dialog = gimp_dialog_new ("DeepDream", PLUG_IN_ROLE, NULL, 0, gimp_standard_help_func,
                                       PLUG_IN_PROC, "_Reset", RESPONSE_RESET, "_Cancel",
                                       GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), RESPONSE_RESET, GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  return dialog;
}

static GtkWidget *
preview_column (Dialog *d, gint32 drawable)
{
  g_autoptr (GError) error = NULL;
  GeglRectangle box;
  DdImage original;
  d->preview_guide = -1;
  if (image_io_selection_box (drawable, &box, &error) &&
      image_io_read_scaled (drawable, &box, PREVIEW_EDGE, &original, &error)) {
    d->preview = preview_new (&original, box.width, box.height);
    return preview_get_widget (d->preview);
  }
  GtkWidget *label = gtk_label_new (error->message);
  gtk_label_set_line_wrap (GTK_LABEL (label), TRUE);
  return label;
}

static void
build (Dialog *d, gint32 image, gint32 drawable, const DdDreamParams *params,
       const PlugInValues *vals)
{
  d->dialog = new_dialog ();
  d->labels = gtk_size_group_new (GTK_SIZE_GROUP_HORIZONTAL);
  d->numbers = g_array_new (FALSE, FALSE, sizeof (Number));
  GtkWidget *columns = gtk_hbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (columns), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (d->dialog))), columns, TRUE,
                      TRUE, 0);
  gtk_box_pack_start (GTK_BOX (columns), preview_column (d, drawable), FALSE, FALSE, 0);
  GtkWidget *sections = gtk_vbox_new (FALSE, 12);
  gtk_box_pack_start (GTK_BOX (columns), sections, TRUE, TRUE, 0);
  build_model_section (d, sections, params, vals);
  build_dream_section (d, sections, image, params, vals);
  build_result_section (d, sections, vals);
}

/* Loads the model the settings name and wires the signals that need it. */
static void
start (Dialog *d, const DdDreamParams *params)
{
  const gchar *id = model_or_default (params->model);
  d->filling = TRUE;
  model_combo_select (d->model_combo, id);
  d->filling = FALSE;
  load_model (d, id);
  g_signal_connect (d->model_combo, "changed", G_CALLBACK (model_changed), d);
  g_signal_connect (d->layer_entry, "changed", G_CALLBACK (layer_changed), d);
  g_signal_connect (d->preset_combo, "changed", G_CALLBACK (preset_chosen), d);
  g_signal_connect (d->preset_save, "clicked", G_CALLBACK (save_preset), d);
  layer_changed (d->layer_entry, d);
}

/* Every control back to the table's defaults (and GIMP's for the layer). */
static void
reset (Dialog *d)
{
  const PlugInValues defaults = PLUG_IN_VALUES_DEFAULT;
  for (guint i = 0; i < d->numbers->len; i++) {
    const Number *n = &g_array_index (d->numbers, Number, i);
    gtk_adjustment_set_value (n->adjustment, n->spec->def);
  }
  gtk_combo_box_set_active (GTK_COMBO_BOX (d->start_combo),
                            (int) dd_dream_param_find ("start")->def);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->colours_toggle), FALSE);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (d->seamless_toggle), FALSE);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->mask_combo), defaults.mask);
  gtk_combo_box_set_active (GTK_COMBO_BOX (d->preset_combo), 0);
  model_combo_select (d->model_combo, model_or_default (NULL));
  gtk_entry_set_text (GTK_ENTRY (d->layer_entry), d->model && d->model->card->default_layer
                                                      ? d->model->card->default_layer
                                                      : "");
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->guide_combo), defaults.guide);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (d->mode_combo), defaults.layer_mode);
  gtk_adjustment_set_value (d->opacity, defaults.opacity);
}

static void
dialog_clear (Dialog *d)
{
  /* First: the worker's callback must not find the widgets gone. */
  if (d->preview)
    preview_free (d->preview);
  gtk_widget_destroy (d->dialog);
  g_object_unref (d->labels);
  g_array_unref (d->numbers);
  g_clear_pointer (&d->tensors, g_array_unref);
  dream_model_unref (d->model);
  g_free (d->model_id);
}

gboolean
deepdream_dialog (gint32 image, gint32 drawable, DdDreamParams *params, PlugInValues *vals)
{
  Dialog d = { 0 };
  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  build (&d, image, drawable, params, vals);
  gtk_widget_show_all (d.dialog);
  start (&d, params);

  gint response;
  while ((response = gimp_dialog_run (GIMP_DIALOG (d.dialog))) == RESPONSE_RESET)
    reset (&d);
  gboolean ok = response == GTK_RESPONSE_OK;
  if (ok) {
    read_params (&d, params);
    read_values (&d, vals);
  }
  dialog_clear (&d);
  return ok;
}
