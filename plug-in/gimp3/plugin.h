/* plugin.h: what the GIMP 3 plug-in's files share.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libgimp/gimp.h>

#include "procedure.h"

/* The procedure's settings that are not the engine's: where the dream goes
 * and what guides it. The engine's own settings live in DdDreamParams. */
typedef struct {
  GimpDrawable *guide;      /* drawable whose look to amplify, NULL = none; owned */
  GimpLayerMode layer_mode; /* of the new layer */
  gdouble opacity;          /* of the new layer, 0..100 */
  GimpDrawable *mask;       /* strength map (channel, layer mask, selection), NULL = none; owned */
} PlugInValues;

void plug_in_values_clear (PlugInValues *vals);
