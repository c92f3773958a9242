/* preset-picker.h: the presets row of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "deepdream.h"

/* A list of card's presets (its own, then the user's) under "None", and a
 * "Save as preset…" button beside it, in one box; *combo is the list. */
GtkWidget *preset_picker_new (GtkWidget **combo, GtkWidget **save_button);
/* Lists card's presets (NULL: none), with "None" chosen. */
void preset_picker_fill (GtkWidget *combo, const DdModelCard *card);
/* The chosen preset's name, or NULL for "None". Free with g_free(). */
gchar *preset_picker_get (GtkWidget *combo);

/* Asks for a name and a description, then saves params as the user's
 * preset of card's model, lists it and chooses it. A failure is shown to
 * the user in a message; FALSE when nothing was saved. */
gboolean preset_picker_save (GtkWidget *combo, GtkWindow *parent, const DdModelCard *card,
                             const DdDreamParams *params);
