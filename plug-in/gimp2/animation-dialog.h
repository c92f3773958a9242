/* animation-dialog.h: the animation filters' dialog in GIMP 2.10.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "plugin.h"

/* Shows the kind's settings; on OK stores the user's choices and returns
 * TRUE, on Cancel returns FALSE and changes nothing. */
gboolean animation_dialog (AnimationKind kind, DdDreamParams *params, AnimationValues *values);
