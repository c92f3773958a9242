/* image-io.c: pixels between GIMP 3 drawables and the engine.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GIMP 3's side of it: drawables as objects; the GEGL transfer is shared
 * with 2.10 (pixels.c), and the new layer follows the same rules.
 */
#include "image-io.h"

#include <string.h>

#include "pixels.h"

gboolean
image_io_selection_box (GimpDrawable *drawable, GeglRectangle *box, GError **error)
{
  if (!gimp_drawable_mask_intersect (drawable, &box->x, &box->y, &box->width, &box->height)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "the selection does not touch the layer '%s'",
                 gimp_item_get_name (GIMP_ITEM (drawable)));
    return FALSE;
  }
  return TRUE;
}

gboolean
image_io_read (GimpDrawable *drawable, const GeglRectangle *box, int max_edge, DdImage *out,
               GError **error)
{
  GeglRectangle whole = { 0, 0, gimp_drawable_get_width (drawable),
                          gimp_drawable_get_height (drawable) };
  int channels = (gimp_drawable_is_gray (drawable) ? 1 : 3) + gimp_drawable_has_alpha (drawable);
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  gboolean ok = pixels_read (buffer, box ? box : &whole, channels, max_edge,
                             gimp_item_get_name (GIMP_ITEM (drawable)), out, error);
  g_object_unref (buffer);
  return ok;
}

gboolean
image_io_read_mask (GimpDrawable *mask, GimpDrawable *drawable, const GeglRectangle *box,
                    DdImage *out, GError **error)
{
  gint dx, dy, mx, my;
  gimp_drawable_get_offsets (drawable, &dx, &dy);
  gimp_drawable_get_offsets (mask, &mx, &my);
  const GeglRectangle rect = { dx + box->x - mx, dy + box->y - my, box->width, box->height };
  GeglBuffer *buffer = gimp_drawable_get_buffer (mask);
  gboolean ok = pixels_read_mask (buffer, &rect, gimp_item_get_name (GIMP_ITEM (mask)), out, error);
  g_object_unref (buffer);
  return ok;
}

/* The new layer always has alpha: a layer mask and a position inside a
 * group both need it to composite like the source. */
static GimpLayer *
new_layer_above (GimpDrawable *source, const GeglRectangle *box, const gchar *name,
                 GimpLayerMode mode, gdouble opacity)
{
  GimpImage *image = gimp_item_get_image (GIMP_ITEM (source));
  GimpImageType type = gimp_drawable_is_gray (source) ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
  GimpLayer *layer = gimp_layer_new (image, name, box->width, box->height, type, opacity, mode);
  if (!layer)
    return NULL;
  /* Inserting at the source's position in its parent puts it right above. */
  GimpItem *parent = gimp_item_get_parent (GIMP_ITEM (source));
  if (!gimp_image_insert_layer (image, layer, parent ? GIMP_LAYER (parent) : NULL,
                                gimp_image_get_item_position (image, GIMP_ITEM (source)))) {
    gimp_item_delete (GIMP_ITEM (layer));
    return NULL;
  }
  gint off_x, off_y;
  gimp_drawable_get_offsets (source, &off_x, &off_y);
  gimp_layer_set_offsets (layer, off_x + box->x, off_y + box->y);
  return layer;
}

GimpLayer *
image_io_add_layer (GimpDrawable *source, const GeglRectangle *box, const DdImage *pixels,
                    const gchar *name, GimpLayerMode mode, gdouble opacity, const gchar *settings,
                    GError **error)
{
  GimpImage *image = gimp_item_get_image (GIMP_ITEM (source));
  gimp_image_undo_group_start (image);
  GimpLayer *layer = new_layer_above (source, box, name, mode, opacity);
  if (layer) {
    GeglBuffer *buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
    pixels_write (buffer, pixels);
    g_object_unref (buffer); /* sends the tiles to GIMP */
    /* A mask from an empty selection would be all black. */
    if (!gimp_selection_is_empty (image)) {
      gimp_layer_add_mask (layer, gimp_layer_create_mask (layer, GIMP_ADD_MASK_SELECTION));
      /* Adding a mask makes it the active drawable: Filters > Repeat
       * would then be refused, since it is not a layer. */
      gimp_layer_set_edit_mask (layer, FALSE);
    }
    const GimpLayer *selected[] = { layer, NULL };
    gimp_image_set_selected_layers (image, selected);
    gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, box->width, box->height);
    GimpParasite *parasite =
        gimp_parasite_new (DD_SETTINGS_PARASITE, GIMP_PARASITE_PERSISTENT | GIMP_PARASITE_UNDOABLE,
                           strlen (settings) + 1, settings);
    gimp_item_attach_parasite (GIMP_ITEM (layer), parasite);
    gimp_parasite_free (parasite);
  }
  gimp_image_undo_group_end (image);
  if (!layer)
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not add a layer above '%s': %s",
                 gimp_item_get_name (GIMP_ITEM (source)),
                 gimp_pdb_get_last_error (gimp_get_pdb ()));
  return layer;
}

gboolean
image_io_read_frame (GimpLayer *layer, int width, int height, DdImage *out, GError **error)
{
  GimpDrawable *drawable = GIMP_DRAWABLE (layer);
  gint off_x, off_y;
  gimp_drawable_get_offsets (drawable, &off_x, &off_y);
  GeglRectangle canvas = { -off_x, -off_y, width, height };
  int channels = (gimp_drawable_is_gray (drawable) ? 1 : 3) + 1;
  GeglBuffer *buffer = gimp_drawable_get_buffer (drawable);
  gboolean ok = pixels_read (buffer, &canvas, channels, G_MAXINT,
                             gimp_item_get_name (GIMP_ITEM (layer)), out, error);
  g_object_unref (buffer);
  return ok;
}

GimpImage *
image_io_new_animation (GimpImage *source, const DdImage *frames, char *const *names, int n,
                        GError **error)
{
  const int width = frames[0].width, height = frames[0].height;
  GimpImageBaseType base = gimp_image_get_base_type (source);
  GimpImage *image =
      gimp_image_new_with_precision (width, height, base, gimp_image_get_precision (source));
  if (!image) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not make a new %dx%d image: %s", width,
                 height, gimp_pdb_get_last_error (gimp_get_pdb ()));
    return NULL;
  }
  /* A new image's making is not the user's to undo. */
  gimp_image_undo_disable (image);
  GimpImageType type = base == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
  for (int i = 0; i < n; i++) {
    GimpLayer *layer =
        gimp_layer_new (image, names[i], width, height, type, 100, GIMP_LAYER_MODE_NORMAL);
    /* Each on top: the first frame ends at the bottom. */
    if (!layer || !gimp_image_insert_layer (image, layer, NULL, 0)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "could not add frame %d to the new image: %s",
                   i + 1, gimp_pdb_get_last_error (gimp_get_pdb ()));
      gimp_image_delete (image);
      return NULL;
    }
    GeglBuffer *buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
    pixels_write (buffer, &frames[i]);
    g_object_unref (buffer); /* sends the tiles to GIMP */
  }
  gimp_image_undo_enable (image);
  return image;
}
