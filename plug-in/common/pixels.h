/* pixels.h: pixels between GIMP's GEGL buffers and the engine, for both GIMPs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gegl.h>

#include "deepdream.h"

/* Reads box of buffer (in the buffer's coordinates) shrunk to fit
 * max_edge x max_edge (never enlarged; G_MAXINT for full size) as
 * perceptual float with channels channels (1 grey ... 4 RGBA). name, the
 * drawable's, is for the error. Free the pixels with pixels_clear(). */
gboolean pixels_read (GeglBuffer *buffer, const GeglRectangle *box, int channels, int max_edge,
                      const char *name, DdImage *out, GError **error);
/* Reads rect of a strength map's buffer (channel, layer mask, selection;
 * in the buffer's coordinates, outside it 0) as one plane of its values as
 * stored, 0..1, not gamma-encoded: a channel's 50 % is half strength. */
gboolean pixels_read_mask (GeglBuffer *buffer, const GeglRectangle *rect, const char *name,
                           DdImage *out, GError **error);
/* Writes pixels at the buffer's origin; a source without alpha is written
 * as opaque into a buffer with alpha. */
void pixels_write (GeglBuffer *buffer, const DdImage *pixels);
void pixels_clear (DdImage *image);
/* A deep copy (pixels NULL stays NULL). */
void pixels_copy (DdImage *dst, const DdImage *src);
