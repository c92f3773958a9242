/* pixels.c: pixels between GIMP's GEGL buffers and the engine, for both GIMPs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pixels are read in perceptual (gamma-encoded) float whatever the image's
 * precision: the networks were trained on gamma-encoded 8-bit pictures, and
 * float keeps 16- and 32-bit images from being quantised on the way. Both
 * GIMPs hand drawables out as GEGL buffers, so this part is written once.
 */
#include "pixels.h"

#include <math.h>

static const Babl *
float_format (int channels)
{
  static const char *const names[] = { "Y' float", "Y'A float", "R'G'B' float", "R'G'B'A float" };
  return babl_format (names[channels - 1]);
}

gboolean
pixels_read (GeglBuffer *buffer, const GeglRectangle *box, int channels, int max_edge,
             const char *name, DdImage *out, GError **error)
{
  double scale = MIN (1.0, (double) max_edge / MAX (box->width, box->height));
  /* gegl_buffer_get takes the rectangle in scaled coordinates. */
  GeglRectangle scaled = { (int) floor (box->x * scale), (int) floor (box->y * scale),
                           MAX ((int) lround (box->width * scale), 1),
                           MAX ((int) lround (box->height * scale), 1) };
  const Babl *format = float_format (channels);
  *out = (DdImage){ .width = scaled.width,
                    .height = scaled.height,
                    .channels = channels,
                    .stride = (gsize) scaled.width * babl_format_get_bytes_per_pixel (format),
                    .type = DD_PIXEL_FLOAT };
  out->pixels = g_try_malloc (out->stride * scaled.height);
  if (!out->pixels) {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "%d x %d pixels of '%s' do not fit in memory",
                 scaled.width, scaled.height, name);
    return FALSE;
  }
  gegl_buffer_get (buffer, &scaled, scale, format, out->pixels, out->stride, GEGL_ABYSS_NONE);
  return TRUE;
}

gboolean
pixels_read_mask (GeglBuffer *buffer, const GeglRectangle *rect, const char *name, DdImage *out,
                  GError **error)
{
  *out = (DdImage){ .width = rect->width,
                    .height = rect->height,
                    .channels = 1,
                    .stride = (gsize) rect->width * sizeof (float),
                    .type = DD_PIXEL_FLOAT };
  out->pixels = g_try_malloc (out->stride * rect->height);
  if (!out->pixels) {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "%d x %d pixels of '%s' do not fit in memory",
                 rect->width, rect->height, name);
    return FALSE;
  }
  gegl_buffer_get (buffer, rect, 1.0, babl_format ("Y float"), out->pixels, out->stride,
                   GEGL_ABYSS_NONE);
  return TRUE;
}

void
pixels_write (GeglBuffer *buffer, const DdImage *pixels)
{
  GeglRectangle extent = { 0, 0, pixels->width, pixels->height };
  gegl_buffer_set (buffer, &extent, 0, float_format (pixels->channels), pixels->pixels,
                   pixels->stride);
}

void
pixels_clear (DdImage *image)
{
  g_clear_pointer (&image->pixels, g_free);
}

void
pixels_copy (DdImage *dst, const DdImage *src)
{
  *dst = *src;
  dst->pixels = src->pixels ? g_memdup2 (src->pixels, src->stride * src->height) : NULL;
}
