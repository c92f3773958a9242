/* dd-controls.h: the dream's artistic controls, for the dream loop.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "deepdream.h"

/* colour.c: x (planar R'G'B', 0..255, width x height) takes the lightness
 * of x and the hue and chroma of source (same layout), in CIE Lab. */
void dd_keep_source_colours (float *x, const float *source, int width, int height);

/* mask.c: the strength map mask as one plane of 0..1 floats; the error
 * names the mask when it is not an image of width x height. */
gboolean dd_mask_load (const DdImage *mask, int width, int height, float *plane, GError **error);

/* image.c: dd_resize_bilinear for images that wrap around at their edges:
 * the pixel past the last is the first. */
void dd_resize_bilinear_wrap (const float *src, int src_width, int src_height, float *dst,
                              int dst_width, int dst_height, int channels);
