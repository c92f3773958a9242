/* save.h: plug-in-deepdream-save in GIMP 3.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libgimp/gimp.h>

#include "safe-save.h"

/* The procedure, for create_procedure (). */
GimpProcedure *save_procedure_new (GimpPlugIn *plug_in, const gchar *name);
