/* layer-modes.c: the blend mode picker of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "layer-modes.h"

#include <gegl.h>
#include <libgimpwidgets/gimpwidgets.h>

/* "grain-extract" -> "Grain extract": libgimp's enum has no descriptions. */
static gchar *
mode_label (const GEnumValue *mode)
{
  gchar *label = g_strdelimit (g_strdup (mode->value_nick), "-", ' ');
  label[0] = g_ascii_toupper (label[0]);
  return label;
}

/* The modes of GIMP's own layer dialog, plus a legacy one if it is set
 * (libgimpui has no GimpLayerModeComboBox, in 2.10 or 3: it lives in GIMP's
 * core, and libgimp's GimpLayerMode has no descriptions). */
GtkWidget *
layer_mode_combo_new (GimpLayerMode active)
{
  GtkWidget *combo = g_object_new (GIMP_TYPE_INT_COMBO_BOX, NULL);
  GEnumClass *modes = g_type_class_ref (GIMP_TYPE_LAYER_MODE);
  for (guint i = 0; i < modes->n_values; i++) {
    GEnumValue *mode = &modes->values[i];
    gboolean legacy = g_str_has_suffix (mode->value_nick, "-legacy");
    if (!procedure_layer_mode_ok (mode->value) || (legacy && mode->value != (gint) active))
      continue;
    g_autofree gchar *label = mode_label (mode);
    gimp_int_combo_box_append (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, mode->value,
                               GIMP_INT_STORE_LABEL, label, -1);
  }
  g_type_class_unref (modes);
  gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), active);
  gimp_help_set_help_data (combo, "Blend mode of the new layer", NULL);
  return combo;
}
