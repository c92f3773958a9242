/* plugin.h: what the plug-in's files share.
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
  gint32 guide;             /* drawable whose look to amplify, -1 = none */
  GimpLayerMode layer_mode; /* of the new layer */
  gdouble opacity;          /* of the new layer, 0..100 */
  gint32 mask;              /* strength map (channel, layer mask, selection), -1 = none */
} PlugInValues;

#define PLUG_IN_VALUES_DEFAULT                                                                     \
  {                                                                                                \
    -1, PROCEDURE_DEFAULT_LAYER_MODE, PROCEDURE_DEFAULT_OPACITY, -1                                \
  }

/* plug-in-deepdream with every argument, the artists' controls included
 * (see procedure_n_classic_args()). */
#define PLUG_IN_PROC_FULL "plug-in-deepdream-full"

/* Fills the return values of a run: success with the new item of type
 * (a layer or an image) when id is not -1, else the error's message as
 * an execution error (error taken), else a cancel; flushes the displays
 * of an interactive run. */
void plugin_return (GimpRunMode run_mode, GimpPDBArgType type, gint32 id, GError *error,
                    gint *n_return_vals, GimpParam **return_vals);
