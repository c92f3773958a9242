/* animation.h: the animation filters in GIMP 2.10.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "plugin.h"

/* Registers plug-in-deepdream-frames and plug-in-deepdream-zoom. */
void animation_query (void);
/* Runs one of them, as GIMP's run () is called. */
void animation_run (const gchar *name, gint n_params, const GimpParam *param, gint *n_return_vals,
                    GimpParam **return_vals);
