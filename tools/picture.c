/* picture.c: images read as the command line reads them.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The file is checked (dd_image_check_file), its size read from its
 * header, and only then decoded by GEGL, with whatever the libraries under
 * GEGL print or warn turned into one error that names the file.
 */
#include "picture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void
picture_clear (Picture *p)
{
  g_free (p->image.pixels);
}

static void
set_not_an_image (GError **error, const char *path)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
               "cannot read '%s': not an image GEGL can load", path);
}

/* Warnings GEGL logged so far, and the last one: its loaders and savers
 * report damaged files and failed writes only so. */
static guint gegl_warnings;
static char last_warning[200];

/* While GEGL decodes a file, what the libraries under it print (libpng's
 * and libjpeg's own lines) goes to a buffer instead of the terminal: any
 * text there, or a warning logged, means the file is damaged, and the user
 * gets one line of ours that names it. */
static struct {
  const char *path; /* the file being decoded, or NULL */
  int saved_stderr, capture;
  guint warnings;
} hush = { NULL, -1, -1, 0 };

static void
hush_begin (const char *path)
{
  fflush (stderr);
  hush.path = path;
  hush.warnings = gegl_warnings;
  hush.capture = memfd_create ("deepdream-decoder-messages", MFD_CLOEXEC);
  hush.saved_stderr = hush.capture >= 0 ? dup (2) : -1;
  if (hush.saved_stderr >= 0)
    dup2 (hush.capture, 2);
}

/* The first line the libraries printed since hush_begin, or "". */
static void
hush_read (char *text, gsize size)
{
  text[0] = 0;
  if (hush.capture < 0)
    return;
  fflush (stderr);
  ssize_t n = pread (hush.capture, text, size - 1, 0);
  text[MAX (n, 0)] = 0;
  text[strcspn (text, "\r\n")] = 0;
  /* GEGL's PNG loader prefixes libpng's own line with a copy of it. */
  const char *libpng = g_strrstr (text, "libpng error: ");
  if (libpng)
    memmove (text, libpng, strlen (libpng) + 1);
}

static void
hush_restore (void)
{
  if (hush.saved_stderr >= 0) {
    fflush (stderr);
    dup2 (hush.saved_stderr, 2);
    close (hush.saved_stderr);
  }
  if (hush.capture >= 0)
    close (hush.capture);
  hush.saved_stderr = hush.capture = -1;
  hush.path = NULL;
}

static void
set_damaged (GError **error, const char *path, const char *why)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
               "cannot read '%s': the file is damaged or truncated (%s)", path,
               *why ? why : "its decoder failed");
}

/* Ends the quiet time; FALSE with an error naming the file when the
 * decoder said anything. */
static gboolean
hush_end (GError **error)
{
  char text[200];
  hush_read (text, sizeof text);
  const char *path = hush.path;
  gboolean warned = gegl_warnings != hush.warnings;
  hush_restore ();
  if (!*text && !warned)
    return TRUE;
  /* GEGL found no loader for the file's type: not damaged, not an image. */
  if (!*text && g_str_has_prefix (last_warning, "No loader for"))
    set_not_an_image (error, path);
  else
    set_damaged (error, path, *text ? text : last_warning);
  return FALSE;
}

/* libjpeg, under GEGL, calls exit() on some damaged files: the one line
 * the user sees is still ours. */
static void
exit_while_decoding (void)
{
  if (!hush.path)
    return;
  char text[200];
  hush_read (text, sizeof text);
  g_autofree char *path = g_strdup (hush.path);
  hush_restore ();
  g_autoptr (GError) error = NULL;
  set_damaged (&error, path, text);
  g_printerr ("deepdream: %s\n", error->message);
  _exit (1);
}

/* Adds the loader of path to graph and reads the image's size from its
 * header; nothing is decoded yet. */
GeglNode *
open_picture (GeglNode *graph, const char *path, GeglRectangle *extent, GError **error)
{
  if (!dd_image_check_file (path, error))
    return NULL;
  hush_begin (path);
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  *extent = gegl_node_get_bounding_box (load);
  if (!hush_end (error))
    return NULL;
  if (extent->width < 1 || extent->height < 1) {
    set_not_an_image (error, path);
    return NULL;
  }
  return load;
}

/* Decodes the file behind load into memory, in 8-bit when the file is
 * 8-bit and in float otherwise, keeping grey grey and alpha. */
gboolean
read_picture (GeglNode *load, const char *path, Picture *out, GError **error)
{
  GeglBuffer *buffer = NULL;
  GeglNode *sink_node = gegl_node_new_child (gegl_node_get_parent (load), "operation",
                                             "gegl:buffer-sink", "buffer", &buffer, NULL);
  gegl_node_link (load, sink_node);
  GeglRectangle extent = gegl_node_get_bounding_box (load);
  hush_begin (path);
  gegl_node_process (sink_node);
  if (!hush_end (error)) {
    g_clear_object (&buffer);
    return FALSE;
  }
  /* A loader that gives up part way may hand back fewer rows than its
   * header promised. */
  if (buffer && (gegl_buffer_get_width (buffer) != extent.width ||
                 gegl_buffer_get_height (buffer) != extent.height)) {
    g_clear_object (&buffer);
    set_damaged (error, path, "fewer pixels than its header says");
    return FALSE;
  }
  if (!buffer || gegl_buffer_get_width (buffer) < 1 || gegl_buffer_get_height (buffer) < 1) {
    g_clear_object (&buffer);
    set_not_an_image (error, path);
    return FALSE;
  }
  const Babl *src = gegl_buffer_get_format (buffer);
  gboolean alpha = babl_format_has_alpha (src);
  gboolean grey = babl_format_get_n_components (src) - (alpha ? 1 : 0) < 3;
  gboolean u8 = babl_format_get_type (src, 0) == babl_type ("u8");
  const char *names[2][2][2] = { { { "R'G'B' float", "R'G'B'A float" },
                                   { "Y' float", "Y'A float" } },
                                 { { "R'G'B' u8", "R'G'B'A u8" }, { "Y' u8", "Y'A u8" } } };
  DdImage *im = &out->image;
  out->format = babl_format (names[u8][grey][alpha]);
  im->width = gegl_buffer_get_width (buffer);
  im->height = gegl_buffer_get_height (buffer);
  im->channels = babl_format_get_n_components (out->format);
  im->type = u8 ? DD_PIXEL_U8 : DD_PIXEL_FLOAT;
  im->stride = (gsize) babl_format_get_bytes_per_pixel (out->format) * im->width;
  im->pixels = g_try_malloc (im->stride * im->height);
  if (!im->pixels) {
    g_object_unref (buffer);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "'%s' is too big for memory", path);
    return FALSE;
  }
  gegl_buffer_get (buffer, NULL, 1.0, out->format, im->pixels, im->stride, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return TRUE;
}

/* GEGL warns on stderr about files it cannot read or write, which we
 * report in one line of our own: only criticals and errors get through,
 * unless G_MESSAGES_DEBUG asks for more. */
static GLogWriterOutput
write_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & G_LOG_LEVEL_WARNING) {
    gegl_warnings++;
    /* The first warning while decoding says most; later ones follow from it. */
    for (gsize i = 0; i < n_fields && gegl_warnings == hush.warnings + 1; i++)
      if (strcmp (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
        g_strlcpy (last_warning, fields[i].value, sizeof last_warning);
  }
  /* Nothing from the decoders' quiet time reaches the terminal. */
  if (hush.path)
    return G_LOG_WRITER_HANDLED;
  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) && !g_getenv ("G_MESSAGES_DEBUG"))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, data);
}

void
picture_setup (void)
{
  atexit (exit_while_decoding);
  g_log_set_writer_func (write_log, NULL, NULL);
}

guint
picture_warning_count (void)
{
  return gegl_warnings;
}
