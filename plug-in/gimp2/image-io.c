/* image-io.c: pixels between GIMP drawables and the engine.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pixels are read in perceptual (gamma-encoded) float whatever the image's
 * precision: the networks were trained on gamma-encoded 8-bit pictures, and
 * float keeps 16- and 32-bit images from being quantised on the way.
 */
#include "image-io.h"

#include <math.h>

static const Babl *
float_format (int channels)
{
  static const char *const names[] = { "Y' float", "Y'A float", "R'G'B' float", "R'G'B'A float" };
  return babl_format (names[channels - 1]);
}

gboolean
image_io_selection_box (gint32 drawable, GeglRectangle *box, GError **error)
{
  if (!gimp_drawable_mask_intersect (drawable, &box->x, &box->y, &box->width, &box->height)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "the selection does not touch the layer '%s'",
                 gimp_item_get_name (drawable));
    return FALSE;
  }
  return TRUE;
}

gboolean
image_io_read_scaled (gint32 drawable, const GeglRectangle *box, int max_edge, DdImage *out,
                      GError **error)
{
  GeglRectangle whole = { 0, 0, gimp_drawable_width (drawable), gimp_drawable_height (drawable) };
  if (!box)
    box = &whole;
  double scale = MIN (1.0, (double) max_edge / MAX (box->width, box->height));
  /* gegl_buffer_get takes the rectangle in scaled coordinates. */
  GeglRectangle scaled = { (int) floor (box->x * scale), (int) floor (box->y * scale),
                           MAX ((int) lround (box->width * scale), 1),
                           MAX ((int) lround (box->height * scale), 1) };
  int channels = (gimp_drawable_is_gray (drawable) ? 1 : 3) + gimp_drawable_has_alpha (drawable);
  const Babl *format = float_format (channels);
  *out = (DdImage){ .width = scaled.width,
                    .height = scaled.height,
                    .channels = channels,
                    .stride = (gsize) scaled.width * babl_format_get_bytes_per_pixel (format),
                    .type = DD_PIXEL_FLOAT };
  out->pixels = g_try_malloc (out->stride * scaled.height);
  if (!out->pixels) {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "%d x %d pixels of '%s' do not fit in memory",
                 scaled.width, scaled.height, gimp_item_get_name (drawable));
    return FALSE;
  }
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  gegl_buffer_get (buffer, &scaled, scale, format, out->pixels, out->stride, GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return TRUE;
}

gboolean
image_io_read (gint32 drawable, const GeglRectangle *box, DdImage *out, GError **error)
{
  return image_io_read_scaled (drawable, box, G_MAXINT, out, error);
}

void
image_io_clear (DdImage *image)
{
  g_clear_pointer (&image->pixels, g_free);
}

static void
write_pixels (gint32 layer, const DdImage *pixels)
{
  GeglRectangle extent = { 0, 0, pixels->width, pixels->height };
  GeglBuffer *buffer = gimp_drawable_get_buffer (layer);
  /* A source without alpha is written into the new layer's alpha as opaque. */
  gegl_buffer_set (buffer, &extent, 0, float_format (pixels->channels), pixels->pixels,
                   pixels->stride);
  g_object_unref (buffer); /* sends the tiles to GIMP */
}

/* The new layer always has alpha: a layer mask and a position inside a
 * group both need it to composite like the source. */
static gint32
new_layer_above (gint32 source, const GeglRectangle *box, const gchar *name, GimpLayerMode mode,
                 gdouble opacity)
{
  gint32 image = gimp_item_get_image (source);
  GimpImageType type = gimp_drawable_is_gray (source) ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
  gint32 layer = gimp_layer_new (image, name, box->width, box->height, type, opacity, mode);
  if (layer == -1)
    return -1;
  /* Inserting at the source's position in its parent puts it right above. */
  if (!gimp_image_insert_layer (image, layer, gimp_item_get_parent (source),
                                gimp_image_get_item_position (image, source))) {
    gimp_item_delete (layer);
    return -1;
  }
  gint off_x, off_y;
  gimp_drawable_offsets (source, &off_x, &off_y);
  gimp_layer_set_offsets (layer, off_x + box->x, off_y + box->y);
  return layer;
}

gint32
image_io_add_layer (gint32 source, const GeglRectangle *box, const DdImage *pixels,
                    const gchar *name, GimpLayerMode mode, gdouble opacity, GError **error)
{
  gint32 image = gimp_item_get_image (source);
  gimp_image_undo_group_start (image);
  gint32 layer = new_layer_above (source, box, name, mode, opacity);
  if (layer != -1) {
    write_pixels (layer, pixels);
    /* A mask from an empty selection would be all black. */
    if (!gimp_selection_is_empty (image))
      gimp_layer_add_mask (layer, gimp_layer_create_mask (layer, GIMP_ADD_MASK_SELECTION));
    gimp_drawable_update (layer, 0, 0, box->width, box->height);
  }
  gimp_image_undo_group_end (image);
  if (layer == -1)
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not add a layer above '%s': %s",
                 gimp_item_get_name (source), gimp_get_pdb_error ());
  return layer;
}
