/* image-check.c: what an image file must be before GEGL decodes it.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GEGL's loaders decode a truncated PNG, JPEG or WebP without a word (the
 * missing rows black or grey), and libjpeg, under GEGL, ends the process on
 * a file with no image data or waits forever on one cut after its header.
 * So the structure of those formats is walked here first, reading only
 * their chunk and marker headers: enough to tell a whole file from a cut or
 * empty one, not a decoder. TIFF and OpenEXR loaders do report damage (as
 * warnings, which the command line turns into its error).
 */
#include "image-check.h"

#include <string.h>

#include "deepdream.h"

typedef struct {
  const guint8 *data;
  gsize size;
  const char *path;
} Bytes;

static guint32
be16 (const guint8 *p)
{
  return (guint32) p[0] << 8 | p[1];
}

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[3] << 24 | (guint32) p[2] << 16 | (guint32) p[1] << 8 | p[0];
}

static gboolean
damaged (const Bytes *b, const char *format, const char *why, GError **error)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
               "cannot read '%s': the %s file is damaged or truncated (%s)", b->path, format, why);
  return FALSE;
}

/* Chunks (length, type, data, CRC) from the signature up to IEND. */
static gboolean
check_png (const Bytes *b, GError **error)
{
  gsize at = 8;
  while (at + 12 <= b->size) {
    guint32 length = be32 (b->data + at);
    if (length > G_MAXINT32 || length > b->size - at - 12)
      return damaged (b, "PNG", "a chunk runs past the end of the file", error);
    if (memcmp (b->data + at + 4, "IEND", 4) == 0)
      return TRUE;
    at += 12 + (gsize) length;
  }
  return damaged (b, "PNG", "it ends before its IEND chunk", error);
}

/* Marker segments from SOI to the first scan, then an EOI after it. In
 * entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
 * marker, so FF D9 after the scan's start is the end of the image. */
static gboolean
check_jpeg (const Bytes *b, GError **error)
{
  gsize at = 2;
  for (;;) {
    while (at < b->size && b->data[at] == 0xff && at + 1 < b->size && b->data[at + 1] == 0xff)
      at++; /* fill bytes */
    if (at + 4 > b->size)
      return damaged (b, "JPEG", "it ends before its image data", error);
    if (b->data[at] != 0xff)
      return damaged (b, "JPEG", "a marker is missing", error);
    guint8 marker = b->data[at + 1];
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; /* markers without a length */
      continue;
    }
    if (marker == 0xd9)
      return damaged (b, "JPEG", "it ends before its image data", error);
    guint32 length = be16 (b->data + at + 2);
    if (length < 2 || length > b->size - at - 2)
      return damaged (b, "JPEG", "a segment runs past the end of the file", error);
    at += 2 + length;
    if (marker == 0xda)
      break;
  }
  for (gsize end = b->size; end >= at + 2; end--)
    if (b->data[end - 2] == 0xff && b->data[end - 1] == 0xd9)
      return TRUE;
  return damaged (b, "JPEG", "it ends before the end of its image data", error);
}

/* A RIFF container holds its own size. */
static gboolean
check_webp (const Bytes *b, GError **error)
{
  if (b->size < 20)
    return damaged (b, "WebP", "it ends in its header", error);
  if ((gsize) le32 (b->data + 4) + 8 > b->size)
    return damaged (b, "WebP", "it is shorter than its header says", error);
  return TRUE;
}

gboolean
image_check_file (const char *path, GError **error)
{
  if (!dd_file_check_regular (path, error))
    return FALSE;
  GError *local = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (!file) {
    g_set_error (error, G_FILE_ERROR, local->code, "cannot read '%s': %s", path, local->message);
    g_error_free (local);
    return FALSE;
  }
  Bytes b = { (const guint8 *) g_mapped_file_get_contents (file), g_mapped_file_get_length (file),
              path };
  if (b.size == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot read '%s': the file is empty",
                 path);
    return FALSE;
  }
  static const guint8 png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  if (b.size >= 8 && memcmp (b.data, png, 8) == 0)
    return check_png (&b, error);
  if (b.size >= 2 && b.data[0] == 0xff && b.data[1] == 0xd8)
    return check_jpeg (&b, error);
  if (b.size >= 12 && memcmp (b.data, "RIFF", 4) == 0 && memcmp (b.data + 8, "WEBP", 4) == 0)
    return check_webp (&b, error);
  return TRUE;
}
