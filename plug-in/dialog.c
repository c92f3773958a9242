/* dialog.c: the DeepDream dialog (a plain form for now).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One row per DD_PARAM_DIALOG row of the engine's parameter table, then the
 * guide and the new layer's mode and opacity.
 */
#include "dialog.h"

#include <libgimp/gimpui.h>

#include "arguments.h"

typedef struct {
  const DdParamSpec *spec;
  GtkWidget *widget;
} Control;

static GtkWidget *
spin_button (double value, double min, double max, double step, int digits)
{
  GtkObject *adjustment = gtk_adjustment_new (value, min, max, step, step * 10, 0);
  GtkWidget *spin = gtk_spin_button_new (GTK_ADJUSTMENT (adjustment), step, digits);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  return spin;
}

static GtkWidget *
make_control (const DdParamSpec *spec, const DdDreamParams *params)
{
  gconstpointer field = (const char *) params + spec->offset;
  GtkWidget *widget = NULL;
  switch (spec->type) {
  case DD_PARAM_INT:
    widget = spin_button (*(const int *) field, spec->min, spec->max, 1, 0);
    break;
  case DD_PARAM_DOUBLE:
    widget = spin_button (*(const double *) field, spec->min, spec->max, 0.05, 2);
    break;
  case DD_PARAM_STRING:
    widget = gtk_entry_new ();
    gtk_entry_set_text (GTK_ENTRY (widget), *(char *const *) field ? *(char *const *) field : "");
    break;
  case DD_PARAM_CHOICE:
    widget = gtk_combo_box_text_new ();
    for (int i = 0; spec->choices[i]; i++)
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (widget), spec->choices[i]);
    gtk_combo_box_set_active (GTK_COMBO_BOX (widget), *(const int *) field);
    break;
  }
  gimp_help_set_help_data (widget, spec->help, NULL);
  return widget;
}

static void
read_control (const Control *control, DdDreamParams *params)
{
  gpointer field = (char *) params + control->spec->offset;
  switch (control->spec->type) {
  case DD_PARAM_INT:
    *(int *) field = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (control->widget));
    break;
  case DD_PARAM_DOUBLE:
    *(double *) field = gtk_spin_button_get_value (GTK_SPIN_BUTTON (control->widget));
    break;
  case DD_PARAM_STRING:
    g_free (*(char **) field);
    *(char **) field = g_strdup (gtk_entry_get_text (GTK_ENTRY (control->widget)));
    break;
  case DD_PARAM_CHOICE:
    *(int *) field = gtk_combo_box_get_active (GTK_COMBO_BOX (control->widget));
    break;
  }
}

/* "grain-extract" -> "Grain extract": libgimp's enum has no descriptions. */
static gchar *
mode_label (const GEnumValue *mode)
{
  gchar *label = g_strdelimit (g_strdup (mode->value_nick), "-", ' ');
  label[0] = g_ascii_toupper (label[0]);
  return label;
}

/* The modes of GIMP's own layer dialog, plus a legacy one if it is set. */
static GtkWidget *
layer_mode_combo (GimpLayerMode active)
{
  GtkWidget *combo = g_object_new (GIMP_TYPE_INT_COMBO_BOX, NULL);
  GEnumClass *modes = g_type_class_ref (GIMP_TYPE_LAYER_MODE);
  for (guint i = 0; i < modes->n_values; i++) {
    GEnumValue *mode = &modes->values[i];
    gboolean legacy = g_str_has_suffix (mode->value_nick, "-legacy");
    if (!arguments_layer_mode_ok (mode->value) || (legacy && mode->value != (gint) active))
      continue;
    g_autofree gchar *label = mode_label (mode);
    gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, mode->value,
                               GIMP_INT_STORE_LABEL, label, -1);
  }
  g_type_class_unref (modes);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), active);
  return combo;
}

static gboolean
guide_ok (gint32 image, gint32 item, gpointer data)
{
  (void) image;
  (void) data;
  return gimp_item_is_layer (item);
}

static GtkWidget *
guide_combo (gint32 active)
{
  GtkWidget *combo = gimp_layer_combo_box_new (guide_ok, NULL);
  gimp_int_combo_box_prepend (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, -1,
                              GIMP_INT_STORE_LABEL, "None", -1);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), active);
  return combo;
}

static GtkWidget *
new_dialog (void)
{
  GtkWidget *dialog =
      gimp_dialog_new ("DeepDream", PLUG_IN_ROLE, NULL, 0, gimp_standard_help_func, PLUG_IN_PROC,
                       "_Cancel", GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  return dialog;
}

gboolean
deepdream_dialog (gint32 image, gint32 drawable, DdDreamParams *params, PlugInValues *vals)
{
  (void) image;
  (void) drawable;
  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  GtkWidget *dialog = new_dialog ();
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  g_autoptr (GArray) controls = g_array_new (FALSE, FALSE, sizeof (Control));
  GtkWidget *table = gtk_table_new (n + 3, 2, FALSE);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_set_border_width (GTK_CONTAINER (table), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), table, TRUE,
                      TRUE, 0);

  int row = 0;
  for (int i = 0; i < n; i++) {
    if (!(specs[i].use & DD_PARAM_DIALOG))
      continue;
    Control c = { &specs[i], make_control (&specs[i], params) };
    gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, specs[i].label, 0.0, 0.5, c.widget, 1,
                               FALSE);
    g_array_append_val (controls, c);
  }
  GtkWidget *guide = guide_combo (vals->guide);
  GtkWidget *mode = layer_mode_combo (vals->layer_mode);
  GtkWidget *opacity = spin_button (vals->opacity, 0, 100, 1, 1);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "_Guide:", 0.0, 0.5, guide, 1, FALSE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "Layer _mode:", 0.0, 0.5, mode, 1, FALSE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, row++, "O_pacity:", 0.0, 0.5, opacity, 1, FALSE);
  gtk_widget_show_all (dialog);

  gboolean ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok) {
    for (guint i = 0; i < controls->len; i++)
      read_control (&g_array_index (controls, Control, i), params);
    gint value;
    if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (guide), &value))
      vals->guide = value;
    if (gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (mode), &value))
      vals->layer_mode = value;
    vals->opacity = gtk_spin_button_get_value (GTK_SPIN_BUTTON (opacity));
  }
  gtk_widget_destroy (dialog);
  return ok;
}
