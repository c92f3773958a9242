/* preset-picker.c: the presets row of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GTK calls that GTK 2 (GIMP 2.10) and GTK 3 (GIMP 3) both have. Choosing
 * a preset is the dialogs' business (each sets its own controls from the
 * preset's values); listing and saving them is shared.
 */
#include "preset-picker.h"

#include <gegl.h>
#include <libgimpwidgets/gimpwidgets.h>

enum { PRESET_NAME, PRESET_LABEL, N_PRESET_COLUMNS };

/* The closed list's width in pixels: a name and the start of its
 * description. */
#define PRESET_PICKER_WIDTH 240

/* The id of the "None" row: no preset name is empty. */
#define NO_PRESET ""

GtkWidget *
preset_picker_new (GtkWidget **combo, GtkWidget **save_button)
{
  GtkListStore *store = gtk_list_store_new (N_PRESET_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  *combo = gimp_string_combo_box_new (GTK_TREE_MODEL (store), PRESET_NAME, PRESET_LABEL);
  g_object_unref (store);
  /* Descriptions are sentences: shown whole in the open list, cut short in
   * the closed one so that they do not widen the dialog. */
  g_object_set (*combo, "ellipsize", PANGO_ELLIPSIZE_END, NULL);
  gtk_widget_set_size_request (*combo, PRESET_PICKER_WIDTH, -1);
  gimp_help_set_help_data (*combo,
                           "Sets the dream's controls to a named set of values: the model's own "
                           "presets, then those you saved",
                           NULL);
  *save_button = gtk_button_new_with_mnemonic ("Sa_ve as Preset…");
  gimp_help_set_help_data (*save_button,
                           "Keep the dream's controls as a preset of this model, listed here and "
                           "known to deepdream --preset",
                           NULL);
  GtkWidget *box = gtk_hbox_new (FALSE, 6);
  gtk_box_pack_start (GTK_BOX (box), *combo, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (box), *save_button, FALSE, FALSE, 0);
  return box;
}

void
preset_picker_fill (GtkWidget *combo, const DdModelCard *card)
{
  GtkListStore *store = GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (combo)));
  gtk_list_store_clear (store);
  gtk_list_store_insert_with_values (store, NULL, -1, PRESET_NAME, NO_PRESET, PRESET_LABEL, "None",
                                     -1);
  g_auto (GStrv) descriptions = NULL;
  g_auto (GStrv) names = card ? dd_model_card_list_presets (card, &descriptions) : NULL;
  for (int i = 0; names && names[i]; i++) {
    g_autofree gchar *label = *descriptions[i]
                                  ? g_strdup_printf ("%s — %s", names[i], descriptions[i])
                                  : g_strdup (names[i]);
    gtk_list_store_insert_with_values (store, NULL, -1, PRESET_NAME, names[i], PRESET_LABEL, label,
                                       -1);
  }
  gtk_combo_box_set_active (GTK_COMBO_BOX (combo), 0);
}

gchar *
preset_picker_get (GtkWidget *combo)
{
  gchar *name = gimp_string_combo_box_get_active (GIMP_STRING_COMBO_BOX (combo));
  if (name && !*name)
    g_clear_pointer (&name, g_free);
  return name;
}

/* A labelled entry in row row of table. */
static GtkWidget *
entry_row (GtkWidget *table, int row, const gchar *label)
{
  GtkWidget *entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_entry_set_width_chars (GTK_ENTRY (entry), 32);
  GtkWidget *l = gtk_label_new_with_mnemonic (label);
  gtk_label_set_mnemonic_widget (GTK_LABEL (l), entry);
  gtk_misc_set_alignment (GTK_MISC (l), 0, 0.5);
  gtk_table_attach (GTK_TABLE (table), l, 0, 1, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
  gtk_table_attach (GTK_TABLE (table), entry, 1, 2, row, row + 1, GTK_FILL | GTK_EXPAND, GTK_FILL,
                    0, 0);
  return entry;
}

/* The name and description the user typed; FALSE when cancelled. */
static gboolean
ask_name (GtkWindow *parent, const DdModelCard *card, gchar **name, gchar **description)
{
  GtkWidget *dialog = gtk_dialog_new_with_buttons (
      "Save as Preset", parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, "_Cancel",
      GTK_RESPONSE_CANCEL, "_Save", GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  GtkWidget *table = gtk_table_new (3, 2, FALSE);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_container_set_border_width (GTK_CONTAINER (table), 12);
  g_autofree gchar *intro =
      g_strdup_printf ("A preset of %s, with the dream's controls as they are "
                       "now (not the model, guide or strength map).",
                       card->display_name ? card->display_name : card->name);
  GtkWidget *text = gtk_label_new (intro);
  gtk_label_set_line_wrap (GTK_LABEL (text), TRUE);
  gtk_table_attach (GTK_TABLE (table), text, 0, 2, 0, 1, GTK_FILL, GTK_FILL, 0, 0);
  GtkWidget *name_entry = entry_row (table, 1, "_Name:");
  GtkWidget *description_entry = entry_row (table, 2, "_Description:");
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), table, TRUE,
                      TRUE, 0);
  gtk_widget_show_all (dialog);
  gboolean ok = gtk_dialog_run (GTK_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok) {
    *name = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (name_entry))));
    *description = g_strstrip (g_strdup (gtk_entry_get_text (GTK_ENTRY (description_entry))));
  }
  gtk_widget_destroy (dialog);
  return ok;
}

gboolean
preset_picker_save (GtkWidget *combo, GtkWindow *parent, const DdModelCard *card,
                    const DdDreamParams *params)
{
  g_autofree gchar *name = NULL, *description = NULL;
  if (!ask_name (parent, card, &name, &description))
    return FALSE;
  g_autoptr (GError) error = NULL;
  if (!dd_user_preset_save (card, name, description, params, &error)) {
    g_message ("%s", error->message);
    return FALSE;
  }
  preset_picker_fill (combo, card);
  gimp_string_combo_box_set_active (GIMP_STRING_COMBO_BOX (combo), name);
  return TRUE;
}
