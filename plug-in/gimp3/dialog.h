/* dialog.h: the DeepDream dialog for GIMP 3.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "plugin.h"

/* Shows the dialog on config; on OK the config holds the user's choices
 * and TRUE is returned, on Cancel FALSE. */
gboolean deepdream_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image,
                           GimpDrawable *drawable);

/* The animation filters' plain dialog: the kind's own settings, then what
 * to amplify and how hard; the others keep their last values. */
gboolean animation_dialog (GimpProcedure *procedure, GimpProcedureConfig *config,
                           AnimationKind kind);
