/* safe-save.c: plug-in-deepdream-save's work, the same in both GIMPs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GIMP's file savers write in place and Script-Fu has no rename, so a batch
 * that meets a full disk leaves a truncated file under the final name; and
 * savers that write through stdio learn of the last failed write only at
 * fclose, which they do not check, so such a save even reports success.
 * Here the saver writes a temporary file (DdSafeFile, by name), which is
 * then checked three ways: the saver's status; the file system not full
 * after the save (the one sign of a short write that holds for every
 * format); and, for the formats whose structure the engine can walk, the
 * file whole. Only then is it flushed and renamed over the destination.
 */
#include "safe-save.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "deepdream.h"

/* TRUE when the file system holding path has no block left to give. Some
 * (FUSE and network ones) report no size at all, and are not full. */
static gboolean
disk_full (const char *path)
{
  struct statvfs fs;
  return statvfs (path, &fs) == 0 && fs.f_blocks > 0 && fs.f_bavail == 0;
}

/* The saver's message on one line: GIMP's may span several. */
static char *
one_line (const char *message)
{
  char *line = g_strstrip (g_strdup (message ? message : ""));
  return g_strdelimit (line, "\r\n", ' ');
}

static gboolean
fail (GError **error, const char *path, const char *why)
{
  g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot write '%s': %s", path, why);
  return FALSE;
}

gboolean
safe_save (const char *path, SafeSaveFunc save, gpointer data, GError **error)
{
  g_autoptr (DdSafeFile) file = dd_safe_file_new_named (path, error);
  if (!file)
    return FALSE;
  const char *temp = dd_safe_file_get_temp_path (file);
  g_autoptr (GError) saver_error = NULL;
  gboolean saved = save (temp, data, &saver_error);
  /* Whatever the saver said: a full disk means a short file. */
  if (disk_full (temp))
    return fail (error, path, g_strerror (ENOSPC));
  if (!saved) {
    g_autofree char *why = one_line (saver_error ? saver_error->message : NULL);
    g_autofree char *text =
        g_strdup_printf ("GIMP could not save it (%s)", *why ? why : "its saver gave no reason");
    return fail (error, path, text);
  }
  GStatBuf st;
  if (g_stat (temp, &st) != 0 || st.st_size == 0)
    return fail (error, path, "GIMP's saver wrote nothing");
  g_autoptr (GError) check = NULL;
  if (!dd_image_check_file (temp, &check)) {
    /* Its message names the temporary file: the destination is what
     * the user knows. */
    g_autofree char *prefix = g_strdup_printf ("cannot read '%s': ", temp);
    const char *why = g_str_has_prefix (check->message, prefix) ? check->message + strlen (prefix)
                                                                : check->message;
    g_autofree char *text = g_strdup_printf ("GIMP saved an incomplete file: %s", why);
    return fail (error, path, text);
  }
  return dd_safe_file_commit (file, error);
}
