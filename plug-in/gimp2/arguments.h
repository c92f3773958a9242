/* arguments.h: the procedure's arguments, made from the engine's parameter table.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"
#include "plugin.h"

/* Every argument of the procedure, run-mode first: plug-in-deepdream's
 * (full FALSE) or plug-in-deepdream-full's. Free with arguments_free_defs(). */
GimpParamDef *arguments_make_defs (gboolean full, gint *n_defs);
void arguments_free_defs (GimpParamDef *defs, gint n_defs);

/* Reads a non-interactive call's arguments into params and vals, then
 * applies the preset it names. Arguments added after opacity may be left
 * out by older callers: they keep the values already in params. */
gboolean arguments_read (const GimpParam *param, gint n_params, DdDreamParams *params,
                         PlugInValues *vals, GError **error);

/* Checks every setting and the image and drawable a run would use, so that
 * a bad one fails before anything is computed or changed. The message
 * names the argument at fault. */
gboolean arguments_check (gint32 image, gint32 drawable, const DdDreamParams *params,
                          const PlugInValues *vals, GError **error);

/* The same for the animation filters (procedure_animation_args()). */
GimpParamDef *arguments_make_animation_defs (AnimationKind kind, gint *n_defs);
/* A non-interactive call gives every argument. */
gboolean arguments_read_animation (AnimationKind kind, const GimpParam *param, gint n_params,
                                   DdDreamParams *params, AnimationValues *values, GError **error);
gboolean arguments_check_animation (AnimationKind kind, gint32 image, gint32 drawable,
                                    const DdDreamParams *params, const AnimationValues *values,
                                    GError **error);
