/* layer-modes.h: the blend mode picker of both GIMPs' dialogs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "procedure.h"

/* A GimpIntComboBox of the modes a new layer can have, active selected
 * (a legacy mode is listed only when it is the active one). */
GtkWidget *layer_mode_combo_new (GimpLayerMode active);
