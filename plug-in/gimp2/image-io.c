/* image-io.c: pixels between GIMP drawables and the engine.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GIMP 2.10's side of it: drawables by id; the GEGL transfer is shared.
 */
#include "image-io.h"

#include <string.h>

#include "pixels.h"

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
  int channels = (gimp_drawable_is_gray (drawable) ? 1 : 3) + gimp_drawable_has_alpha (drawable);
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  gboolean ok = pixels_read (buffer, box ? box : &whole, channels, max_edge,
                             gimp_item_get_name (drawable), out, error);
  g_object_unref (buffer);
  return ok;
}

gboolean
image_io_read (gint32 drawable, const GeglRectangle *box, DdImage *out, GError **error)
{
  return image_io_read_scaled (drawable, box, G_MAXINT, out, error);
}

gboolean
image_io_read_mask (gint32 mask, gint32 drawable, const GeglRectangle *box, DdImage *out,
                    GError **error)
{
  gint dx, dy, mx, my;
  gimp_drawable_offsets (drawable, &dx, &dy);
  gimp_drawable_offsets (mask, &mx, &my);
  const GeglRectangle rect = { dx + box->x - mx, dy + box->y - my, box->width, box->height };
  GeglBuffer *buffer = gimp_drawable_get_buffer (mask);
  gboolean ok = pixels_read_mask (buffer, &rect, gimp_item_get_name (mask), out, error);
  g_object_unref (buffer);
  return ok;
}

static void
write_pixels (gint32 layer, const DdImage *pixels)
{
  GeglBuffer *buffer = gimp_drawable_get_buffer (layer);
  pixels_write (buffer, pixels);
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
                    const gchar *name, GimpLayerMode mode, gdouble opacity, const gchar *settings,
                    GError **error)
{
  gint32 image = gimp_item_get_image (source);
  gimp_image_undo_group_start (image);
  gint32 layer = new_layer_above (source, box, name, mode, opacity);
  if (layer != -1) {
    write_pixels (layer, pixels);
    /* A mask from an empty selection would be all black. */
    if (!gimp_selection_is_empty (image)) {
      gimp_layer_add_mask (layer, gimp_layer_create_mask (layer, GIMP_ADD_MASK_SELECTION));
      /* Adding a mask makes it the active drawable: Filters > Repeat
       * would then be refused, since it is not a layer. */
      gimp_layer_set_edit_mask (layer, FALSE);
    }
    gimp_drawable_update (layer, 0, 0, box->width, box->height);
    GimpParasite *parasite =
        gimp_parasite_new (DD_SETTINGS_PARASITE, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                           strlen (settings) + 1, settings);
    gimp_item_attach_parasite (layer, parasite);
    gimp_parasite_free (parasite);
  }
  gimp_image_undo_group_end (image);
  if (layer == -1)
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not add a layer above '%s': %s",
                 gimp_item_get_name (source), gimp_get_pdb_error ());
  return layer;
}

gboolean
image_io_read_frame (gint32 layer, int width, int height, DdImage *out, GError **error)
{
  gint off_x, off_y;
  gimp_drawable_offsets (layer, &off_x, &off_y);
  GeglRectangle canvas = { -off_x, -off_y, width, height };
  int channels = (gimp_drawable_is_gray (layer) ? 1 : 3) + 1;
  GeglBuffer *buffer = gimp_drawable_get_buffer (layer);
  gboolean ok =
      pixels_read (buffer, &canvas, channels, G_MAXINT, gimp_item_get_name (layer), out, error);
  g_object_unref (buffer);
  return ok;
}

gint32
image_io_new_animation (gint32 source, const DdImage *frames, char *const *names, int n,
                        GError **error)
{
  const int width = frames[0].width, height = frames[0].height;
  GimpImageBaseType base = gimp_image_base_type (source);
  gint32 image =
      gimp_image_new_with_precision (width, height, base, gimp_image_get_precision (source));
  if (image == -1) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not make a new %dx%d image: %s", width,
                 height, gimp_get_pdb_error ());
    return -1;
  }
  /* A new image's making is not the user's to undo. */
  gimp_image_undo_disable (image);
  GimpImageType type = base == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
  for (int i = 0; i < n; i++) {
    gint32 layer =
        gimp_layer_new (image, names[i], width, height, type, 100, GIMP_LAYER_MODE_NORMAL);
    /* Each on top: the first frame ends at the bottom. */
    if (layer == -1 || !gimp_image_insert_layer (image, layer, 0, 0)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not add frame %d to the new image: %s",
                   i + 1, gimp_get_pdb_error ());
      gimp_image_delete (image);
      return -1;
    }
    write_pixels (layer, &frames[i]);
  }
  gimp_image_undo_enable (image);
  return image;
}
