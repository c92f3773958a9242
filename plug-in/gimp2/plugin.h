/* plugin.h: what the plug-in's files share.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libgimp/gimp.h>

#define PLUG_IN_PROC "plug-in-deepdream"
#define PLUG_IN_BINARY "plug-in-deepdream"
#define PLUG_IN_ROLE "gimp-deepdream"

/* The procedure's settings that are not the engine's: where the dream goes
 * and what guides it. The engine's own settings live in DdDreamParams. */
typedef struct {
  gint32 guide;             /* drawable whose look to amplify, -1 = none */
  GimpLayerMode layer_mode; /* of the new layer */
  gdouble opacity;          /* of the new layer, 0..100 */
} PlugInValues;

#define PLUG_IN_VALUES_DEFAULT                                                                     \
  {                                                                                                \
    -1, GIMP_LAYER_MODE_NORMAL, 100.0                                                              \
  }
