/* dialog.h: the DeepDream dialog.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"
#include "plugin.h"

/* Shows the dialog with params and vals; on OK stores the user's choices
 * in them and returns TRUE, on Cancel returns FALSE and changes nothing. */
gboolean deepdream_dialog (gint32 image, gint32 drawable, DdDreamParams *params,
                           PlugInValues *vals);
