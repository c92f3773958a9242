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
 * empty one, not a decoder. An OpenEXR file's header is whole long before
 * its pixels are, so its table of chunk offsets is checked against the
 * file's length too; the OpenEXR and TIFF loaders do report damage when
 * they decode (as warnings, which the command line turns into its error),
 * but a caller that reads only the size from the header would not see it.
 * The same walk tells whether a file that GIMP saved is whole.
 */
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

static guint64
le64 (const guint8 *p)
{
  return (guint64) le32 (p + 4) << 32 | le32 (p);
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

/* ---- OpenEXR ---------------------------------------------------------------- */

/* An OpenEXR file: a header of attributes (name, type, size, value) ended
 * by an empty name, a table of 64-bit offsets, one for each chunk of
 * pixels, then the chunks. The writer fills the table last, so a file cut
 * anywhere has offsets past its end, or zeros. */
typedef struct {
  gint64 width, height;
  int compression; /* -1 when the header has none */
  guint32 tile_w;  /* 0: scan lines */
  guint32 tile_h;
  int level_mode;     /* 0 one level, 1 mipmaps, 2 ripmaps */
  int round_up;       /* level sizes rounded up rather than down */
  gint64 chunk_count; /* -1 unless the header states it */
} ExrHeader;

/* Scan lines per chunk, by compression (NONE, RLE, ZIPS, ZIP, PIZ, PXR24,
 * B44, B44A, DWAA, DWAB, in the format's numbering); 0 for one unknown. */
static int
exr_lines_per_chunk (int compression)
{
  static const int lines[] = { 1, 1, 1, 16, 32, 16, 32, 32, 32, 256 };
  return compression >= 0 && compression < (int) G_N_ELEMENTS (lines) ? lines[compression] : 0;
}

static int
exr_log2 (gint64 x, int round_up)
{
  int n = 0;
  while (((gint64) 1 << (n + 1)) <= x)
    n++;
  return n + (round_up && ((gint64) 1 << n) < x);
}

static gint64
exr_level_size (gint64 size, int level, int round_up)
{
  gint64 s = round_up ? (size + ((gint64) 1 << level) - 1) >> level : size >> level;
  return MAX (s, 1);
}

/* Capped far beyond any file's table, so that sums over levels cannot
 * overflow: the count is only compared with the file's length. */
#define EXR_MANY_CHUNKS ((gint64) 1 << 50)

static gint64
exr_tiles (gint64 width, gint64 height, const ExrHeader *h)
{
  gint64 across = (width + h->tile_w - 1) / h->tile_w, down = (height + h->tile_h - 1) / h->tile_h;
  return across > EXR_MANY_CHUNKS / down ? EXR_MANY_CHUNKS : across * down;
}

/* The number of chunks the header describes, or 0 when it cannot tell:
 * a layout this check does not know is left to the loader. */
static gint64
exr_chunks (const ExrHeader *h)
{
  if (h->chunk_count >= 0)
    return h->chunk_count;
  if (h->width < 1 || h->height < 1)
    return 0;
  if (!h->tile_w) {
    int lines = exr_lines_per_chunk (h->compression);
    return lines ? (h->height + lines - 1) / lines : 0;
  }
  if (!h->tile_h)
    return 0;
  gint64 n = 0;
  if (h->level_mode == 0)
    n = exr_tiles (h->width, h->height, h);
  else if (h->level_mode == 1)
    for (int l = 0; l <= exr_log2 (MAX (h->width, h->height), h->round_up); l++)
      n += exr_tiles (exr_level_size (h->width, l, h->round_up),
                      exr_level_size (h->height, l, h->round_up), h);
  else if (h->level_mode == 2)
    for (int ly = 0; ly <= exr_log2 (h->height, h->round_up); ly++)
      for (int lx = 0; lx <= exr_log2 (h->width, h->round_up); lx++)
        n += exr_tiles (exr_level_size (h->width, lx, h->round_up),
                        exr_level_size (h->height, ly, h->round_up), h);
  return n;
}

/* One attribute's value, when its name and type are the expected ones. */
static void
exr_attribute (ExrHeader *h, const char *name, const char *type, const guint8 *v, guint32 size)
{
  if (strcmp (name, "dataWindow") == 0 && strcmp (type, "box2i") == 0 && size == 16) {
    gint64 x0 = (gint32) le32 (v), y0 = (gint32) le32 (v + 4);
    gint64 x1 = (gint32) le32 (v + 8), y1 = (gint32) le32 (v + 12);
    h->width = x1 - x0 + 1;
    h->height = y1 - y0 + 1;
  } else if (strcmp (name, "compression") == 0 && strcmp (type, "compression") == 0 && size == 1) {
    h->compression = v[0];
  } else if (strcmp (name, "tiles") == 0 && strcmp (type, "tiledesc") == 0 && size == 9) {
    h->tile_w = le32 (v);
    h->tile_h = le32 (v + 4);
    h->level_mode = v[8] & 0xf;
    h->round_up = v[8] >> 4;
  } else if (strcmp (name, "chunkCount") == 0 && strcmp (type, "int") == 0 && size == 4) {
    h->chunk_count = MAX ((gint32) le32 (v), 0);
  }
}

static gboolean
check_exr (const Bytes *b, GError **error)
{
  if (b->size < 8)
    return damaged (b, "OpenEXR", "it ends in its header", error);
  guint32 flags = le32 (b->data + 4);
  gboolean tiled = flags & 0x200, deep = flags & 0x800;
  /* A multi-part file has a header for each part and a table for each:
   * rare, and left to the loader. */
  if (flags & 0x1000)
    return TRUE;
  ExrHeader h = { 0, 0, -1, 0, 0, 0, 0, -1 };
  gsize at = 8;
  /* The header: attributes until an empty name. */
  for (;;) {
    const guint8 *end_name, *end_type;
    if (at >= b->size)
      return damaged (b, "OpenEXR", "it ends in its header", error);
    if (b->data[at] == 0) {
      at++;
      break;
    }
    end_name = memchr (b->data + at, 0, b->size - at);
    end_type = end_name ? memchr (end_name + 1, 0, b->data + b->size - end_name - 1) : NULL;
    if (!end_type || (gsize) (b->data + b->size - end_type) < 5)
      return damaged (b, "OpenEXR", "it ends in its header", error);
    guint32 size = le32 (end_type + 1);
    gsize value_at = (gsize) (end_type + 5 - b->data);
    if (size > b->size - value_at)
      return damaged (b, "OpenEXR", "it ends in its header", error);
    exr_attribute (&h, (const char *) b->data + at, (const char *) end_name + 1, b->data + value_at,
                   size);
    at = value_at + size;
  }
  if (!tiled)
    h.tile_w = h.tile_h = 0;
  gint64 chunks = exr_chunks (&h);
  if (chunks <= 0)
    return TRUE;
  if ((guint64) chunks > (b->size - at) / 8)
    return damaged (b, "OpenEXR", "it ends in its table of chunks", error);
  guint64 last = 0;
  for (gint64 i = 0; i < chunks; i++) {
    guint64 offset = le64 (b->data + at + 8 * i);
    if (offset == 0 || offset >= b->size)
      return damaged (b, "OpenEXR", "a chunk of pixels is missing", error);
    last = MAX (last, offset);
  }
  /* The chunk that comes last: its header (its scan line, or its tile and
   * level), the data's size, then the data. Deep data has a layout of its
   * own: only its start is checked. */
  if (deep)
    return TRUE;
  gsize header = h.tile_w ? 16 : 4;
  if (header + 4 > b->size - last || le32 (b->data + last + header) > b->size - last - header - 4)
    return damaged (b, "OpenEXR", "its last chunk of pixels is cut short", error);
  return TRUE;
}

gboolean
dd_image_check_file (const char *path, GError **error)
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
  static const guint8 exr[] = { 0x76, 0x2f, 0x31, 0x01 };
  if (b.size >= 4 && memcmp (b.data, exr, 4) == 0)
    return check_exr (&b, error);
  return TRUE;
}
