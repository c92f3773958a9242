/* animation.h: the animation filters in GIMP 3.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "plugin.h"

/* plug-in-deepdream-frames or plug-in-deepdream-zoom; NULL for another name. */
GimpProcedure *animation_procedure_new (GimpPlugIn *plug_in, const gchar *name);
