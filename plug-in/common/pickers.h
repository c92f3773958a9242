/* pickers.h: the model and layer pickers of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "preview.h"

/* Columns of model_store_new()'s store: a card name (or model file) and
 * what the list shows. */
enum { MODEL_ID, MODEL_LABEL, N_MODEL_COLUMNS };

/* The installed cards by their display names. */
GtkListStore *model_store_new (void);

/* The line under the model picker (label): error's message, a word about a
 * file no card describes, or hidden when there is nothing to say. */
void model_status_show (GtkWidget *label, const DreamModel *model, const GError *error);

/* An editable combo: the list shows layers with descriptions, the entry
 * (in *entry) takes any "NAME[:WEIGHT],..." a user types. */
GtkWidget *layer_picker_new (GtkWidget **entry);

/* Lists model's recommended layers with their descriptions, a separator,
 * then every other 4-D tensor of tensors (DdTensorInfo) with its channel
 * count. model NULL empties the list. */
void layer_picker_fill (GtkWidget *combo, const DreamModel *model, const GArray *tensors);
