/* arguments.h: the GIMP 3 procedure's arguments, made from the engine's parameter table.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"
#include "plugin.h"

/* Adds every argument after run-mode, image and drawables, each with the
 * table's default, so that a keyword call may leave any of them out. */
void arguments_add (GimpProcedure *procedure);

/* Reads the config's values into params and vals (which it fills whole). */
void arguments_read (GimpProcedureConfig *config, DdDreamParams *params, PlugInValues *vals);
/* Sets the config's dream arguments to params. */
void arguments_write (GimpProcedureConfig *config, const DdDreamParams *params);
/* When the config names a preset: sets the arguments the preset sets to
 * its values, and the preset argument back to "" (it has been applied). */
gboolean arguments_apply_preset (GimpProcedureConfig *config, GError **error);

/* The one drawable to dream on: GIMP 3 passes the selected ones, and a
 * dream is made on one layer. */
gboolean arguments_pick_drawable (GimpImage *image, GimpDrawable **drawables,
                                  GimpDrawable **drawable, GError **error);

/* Checks every setting and the image and drawable a run would use, so that
 * a bad one fails before anything is computed or changed. The message
 * names the argument at fault. */
gboolean arguments_check (GimpImage *image, GimpDrawable *drawable, const DdDreamParams *params,
                          const PlugInValues *vals, GError **error);

/* The same for the animation filters (procedure_animation_args()). */
void arguments_add_animation (GimpProcedure *procedure, AnimationKind kind);
void arguments_read_animation (GimpProcedureConfig *config, AnimationKind kind,
                               DdDreamParams *params, AnimationValues *values);
/* The zoom needs one layer among drawables; the frames take every layer. */
gboolean arguments_check_animation (AnimationKind kind, GimpImage *image, GimpDrawable **drawables,
                                    const DdDreamParams *params, const AnimationValues *values,
                                    GError **error);
