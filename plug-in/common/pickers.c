/* pickers.c: the model and layer pickers of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GTK calls that GTK 2 (GIMP 2.10) and GTK 3 (GIMP 3) both have; each
 * dialog binds the pickers to its own settings.
 */
#include "pickers.h"

#include <gegl.h>
#include <libgimpwidgets/gimpwidgets.h>

enum { LAYER_NAME, LAYER_LABEL, N_LAYER_COLUMNS };

GtkListStore *
model_store_new (void)
{
  GtkListStore *store = gtk_list_store_new (N_MODEL_COLUMNS, G_TYPE_STRING, G_TYPE_STRING);
  g_auto (GStrv) names = dd_model_card_list_installed ();
  for (int i = 0; names[i]; i++) {
    g_autoptr (DdModelCard) card = dd_model_card_find (names[i], NULL);
    gtk_list_store_insert_with_values (store, NULL, -1, MODEL_ID, names[i], MODEL_LABEL,
                                       card ? card->display_name : names[i], -1);
  }
  return store;
}

void
model_status_show (GtkWidget *label, const DreamModel *model, const GError *error)
{
  const gchar *text = NULL;
  if (error)
    text = error->message;
  else if (model && model->card->assumed && model->card->stated)
    text = "No model card describes this file: the preprocessing it states is used and no "
           "layers are recommended.";
  else if (model && model->card->assumed)
    text = "No model card describes this file: ImageNet preprocessing is assumed and no "
           "layers are recommended.";
  gtk_label_set_text (GTK_LABEL (label), text ? text : "");
  gtk_widget_set_visible (label, text != NULL);
}

static gboolean
is_separator (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  g_autofree gchar *name = NULL;
  (void) data;
  gtk_tree_model_get (model, iter, LAYER_NAME, &name, -1);
  return name == NULL;
}

GtkWidget *
layer_picker_new (GtkWidget **entry)
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
  *entry = gtk_bin_get_child (GTK_BIN (combo));
  gtk_entry_set_width_chars (GTK_ENTRY (*entry), 24);
  const gchar *help = dd_dream_param_find ("layers")->help;
  gimp_help_set_help_data (combo, help, NULL);
  gimp_help_set_help_data (*entry, help, NULL);
  return combo;
}

static void
add_layer_row (GtkListStore *store, const gchar *name, const gchar *label)
{
  gtk_list_store_insert_with_values (store, NULL, -1, LAYER_NAME, name, LAYER_LABEL, label, -1);
}

void
layer_picker_fill (GtkWidget *combo, const DreamModel *model, const GArray *tensors)
{
  GtkListStore *store = GTK_LIST_STORE (gtk_combo_box_get_model (GTK_COMBO_BOX (combo)));
  gtk_list_store_clear (store);
  if (!model)
    return;
  const DdModelCard *card = model->card;
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
