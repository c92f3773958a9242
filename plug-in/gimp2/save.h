/* save.h: plug-in-deepdream-save in GIMP 2.10.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libgimp/gimp.h>

#include "safe-save.h"

/* Registers the procedure (from query ()). */
void save_query (void);

/* Runs it: run-mode, image, drawable, filename. */
void save_run (gint n_params, const GimpParam *param, gint *n_return_vals, GimpParam **return_vals);
