/* image-io.h: pixels between GIMP drawables and the engine.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gegl.h>

#include "deepdream.h"
#include "plugin.h"

/* The part of drawable inside the selection's bounding box, in drawable
 * coordinates; the whole drawable when nothing is selected. */
gboolean image_io_selection_box (gint32 drawable, GeglRectangle *box, GError **error);

/* Reads box of drawable (or all of it when box is NULL) as perceptual
 * float, grey or RGB, with alpha when the drawable has it. Free the pixels
 * with pixels_clear(). */
gboolean image_io_read (gint32 drawable, const GeglRectangle *box, DdImage *out, GError **error);
/* The same, shrunk to fit max_edge x max_edge (never enlarged): for
 * previews, without reading a large layer at full size. */
gboolean image_io_read_scaled (gint32 drawable, const GeglRectangle *box, int max_edge,
                               DdImage *out, GError **error);

/* Reads the strength map mask over box of drawable (whose coordinates box
 * is in) as one plane of box's size; outside the map, 0. */
gboolean image_io_read_mask (gint32 mask, gint32 drawable, const GeglRectangle *box, DdImage *out,
                             GError **error);

/* In one undo group: a new layer called name holding pixels, placed over
 * box of source, directly above it in the same group, masked by the
 * selection when there is one, with its pixels (not its mask) active, as
 * the next run expects, and carrying the dream's settings as a persistent
 * parasite (DD_SETTINGS_PARASITE), saved with it in XCF. Returns the
 * layer, or -1 with error set. */
gint32 image_io_add_layer (gint32 source, const GeglRectangle *box, const DdImage *pixels,
                           const gchar *name, GimpLayerMode mode, gdouble opacity,
                           const gchar *settings, GError **error);

/* Reads layer as one width x height frame of its image's canvas (the
 * layer at its offsets, transparent where it does not reach), as
 * perceptual float, grey or RGB, always with alpha. */
gboolean image_io_read_frame (gint32 layer, int width, int height, DdImage *out, GError **error);

/* A new image like source (base type, precision) of the frames' size,
 * holding frames[i] as a layer called names[i], frames[0] at the bottom as
 * GIMP plays animations; its undo history starts empty. Returns the image,
 * or -1 with error set. */
gint32 image_io_new_animation (gint32 source, const DdImage *frames, char *const *names, int n,
                               GError **error);
