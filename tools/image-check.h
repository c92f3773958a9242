/* image-check.h: what an image file must be before GEGL decodes it.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

/* Checks that path is a regular file, not empty, and, for PNG, JPEG and
 * WebP, whole: "cannot read 'x.jpg': the JPEG file is damaged or truncated
 * (...)". Other formats pass; their loaders report damage themselves. */
gboolean image_check_file (const char *path, GError **error);
