/* settings.h: the last values used, kept across GIMP sessions.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"
#include "plugin.h"

/* Overwrites params and vals with the saved values that are still valid;
 * the others keep what they held. Never fails: no file means no change. */
void settings_load (DdDreamParams *params, PlugInValues *vals);
gboolean settings_save (const DdDreamParams *params, const PlugInValues *vals, GError **error);
