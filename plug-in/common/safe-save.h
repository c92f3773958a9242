/* safe-save.h: plug-in-deepdream-save, a file saved whole or not at all,
 * in both GIMPs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#define SAVE_PROC "plug-in-deepdream-save"
#define SAVE_BLURB "Save an image whole or not at all, with GIMP's own file savers"
#define SAVE_HELP                                                                                  \
  "Saves the image as gimp-file-save does (the format from the file's extension), but to a "       \
  "hidden temporary file in the destination's folder first. The file is checked (the saver's "     \
  "status, a full disk, and for PNG, JPEG, WebP and OpenEXR the file's structure), flushed to "    \
  "the disk and only then renamed over the destination. On any failure the temporary file is "     \
  "removed, the destination is as it was, and the call fails with one line saying why. For "       \
  "batch scripts: GIMP's savers write in place, so a full disk leaves a truncated file."

/* GIMP's saver, writing the image to temp_path; FALSE with error set (the
 * saver's own message) when it reports a failure. */
typedef gboolean (*SafeSaveFunc) (const char *temp_path, gpointer data, GError **error);

/* Saves through save into a temporary file beside path, checks it and
 * renames it over path; FALSE with one line naming path and the cause
 * ("cannot write '/out/a.png': No space left on device"), the temporary
 * file removed and path as it was. */
gboolean safe_save (const char *path, SafeSaveFunc save, gpointer data, GError **error);
