/* animation-dialog.c: the animation filters' dialog in GIMP 2.10.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A plain dialog: the filter's own settings, then what to amplify and how
 * hard, each row made from its table entry (label, tooltip, range). The
 * still filter's dialog has the model browser and the preview; the
 * settings not shown here keep their last values.
 */
#include "animation-dialog.h"

#include <libgimp/gimpui.h>
#include <string.h>

/* How a number is shown: a slider over the values people use
 * (slider_max, 0 = the table's max), its spin button taking the table's
 * whole range. */
typedef struct {
  const char *name;
  double slider_max;
  double step;
  int digits;
} Look;

static const Look looks[] = {
  { "blend", 0, 0.05, 2 },    { "frames", 100, 1, 0 },    { "zoom", 0, 0.01, 3 },
  { "angle", 0, 0.5, 1 },     { "loop", 50, 1, 0 },       { "octaves", 0, 1, 0 },
  { "iterations", 50, 1, 0 }, { "step-size", 6, 0.1, 2 }, { "seed", 0, 1, 0 },
};
/* Text rows of the engine's table shown, besides the numbers above. */
static const char *const text_rows[] = { "model", "layers" };

typedef struct {
  const ProcedureArg *arg;
  GtkWidget *widget; /* GtkEntry */
  GtkAdjustment *adjustment;
} Row;

static const Look *
find_look (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (looks); i++)
    if (strcmp (looks[i].name, name) == 0)
      return &looks[i];
  return NULL;
}

static gboolean
is_text_row (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (text_rows); i++)
    if (strcmp (text_rows[i], name) == 0)
      return TRUE;
  return FALSE;
}

static gpointer
field_of (const Row *row, DdDreamParams *params, AnimationValues *values)
{
  gpointer base = row->arg->kind == ARG_ANIMATION ? (gpointer) values : (gpointer) params;
  return (char *) base + row->arg->spec->offset;
}

static void
add_row (GtkWidget *table, int line, Row *row, DdDreamParams *params, AnimationValues *values)
{
  const DdParamSpec *spec = row->arg->spec;
  gpointer field = field_of (row, params, values);
  if (spec->type == DD_PARAM_STRING) {
    row->widget = gtk_entry_new ();
    gtk_entry_set_text (GTK_ENTRY (row->widget), *(char **) field ? *(char **) field : "");
    gimp_help_set_help_data (row->widget, spec->help, NULL);
    gimp_table_attach_aligned (GTK_TABLE (table), 0, line, spec->label, 0.0, 0.5, row->widget, 2,
                               FALSE);
    return;
  }
  const Look *look = find_look (spec->name);
  double value = spec->type == DD_PARAM_DOUBLE ? *(double *) field : *(int *) field;
  double slider_max = look->slider_max > 0 ? look->slider_max : spec->max;
  GtkObject *adjustment = gimp_scale_entry_new (
      GTK_TABLE (table), 0, line, spec->label, 160, 8, value, spec->min, slider_max, look->step,
      look->step * 10, look->digits, FALSE, spec->min, spec->max, spec->help, NULL);
  row->adjustment = GTK_ADJUSTMENT (adjustment);
}

static void
read_row (const Row *row, DdDreamParams *params, AnimationValues *values)
{
  gpointer field = field_of (row, params, values);
  if (row->widget) {
    g_free (*(char **) field);
    *(char **) field = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (row->widget))));
  } else if (row->arg->spec->type == DD_PARAM_DOUBLE) {
    *(double *) field = gtk_adjustment_get_value (row->adjustment);
  } else {
    *(int *) field = (int) (gtk_adjustment_get_value (row->adjustment) + 0.5);
  }
}

gboolean
animation_dialog (AnimationKind kind, DdDreamParams *params, AnimationValues *values)
{
  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  const char *title = kind == ANIMATION_ZOOM ? "DeepDream Zoom" : "DeepDream Frames";
  const char *proc = kind == ANIMATION_ZOOM ? ZOOM_PROC : FRAMES_PROC;
  GtkWidget *dialog =
      gimp_dialog_new (title, PLUG_IN_ROLE, NULL, 0, gimp_standard_help_func, proc, "_Cancel",
                       GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                           GTK_RESPONSE_CANCEL, -1);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  GtkWidget *table = gtk_table_new (1, 3, FALSE);
  gtk_table_set_row_spacings (GTK_TABLE (table), 4);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_set_border_width (GTK_CONTAINER (table), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), table, TRUE,
                      TRUE, 0);
  int n;
  const ProcedureArg *args = procedure_animation_args (kind, &n);
  g_autofree Row *rows = g_new0 (Row, n);
  int n_rows = 0;
  for (int i = 0; i < n; i++)
    if (find_look (args[i].name) || is_text_row (args[i].name)) {
      rows[n_rows].arg = &args[i];
      add_row (table, n_rows, &rows[n_rows], params, values);
      n_rows++;
    }
  gtk_widget_show_all (dialog);

  gboolean ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok)
    for (int i = 0; i < n_rows; i++)
      read_row (&rows[i], params, values);
  gtk_widget_destroy (dialog);
  return ok;
}
