/* mask.c: the strength map of a dream.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-controls.h"

#include <math.h>

/* The grey value of pixel px of a row: the mean of its colour channels. */
static float
mask_value (const DdImage *mask, const char *row, int px)
{
  const int colours = mask->channels >= 3 ? 3 : 1;
  float sum = 0;
  for (int c = 0; c < colours; c++) {
    gsize at = (gsize) px * mask->channels + c;
    sum +=
        mask->type == DD_PIXEL_U8 ? ((const guint8 *) row)[at] / 255.0f : ((const float *) row)[at];
  }
  float v = sum / colours;
  /* Float maps may hold NaN or values past white: a strength beyond 0..1
   * would reverse or overshoot the step. */
  return isnan (v) ? 0.0f : CLAMP (v, 0.0f, 1.0f);
}

gboolean
dd_mask_load (const DdImage *mask, int width, int height, float *plane, GError **error)
{
  if (!mask->pixels || mask->channels < 1 || mask->channels > 4 ||
      mask->stride < (gsize) mask->width * mask->channels * (mask->type == DD_PIXEL_U8 ? 1 : 4)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "mask: not a valid image (%dx%d, %d channels)",
                 mask->width, mask->height, mask->channels);
    return FALSE;
  }
  if (mask->width != width || mask->height != height) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "mask: it is %dx%d but the image is %dx%d; give a map of the image's size",
                 mask->width, mask->height, width, height);
    return FALSE;
  }
#pragma omp parallel for schedule(static)
  for (int py = 0; py < height; py++) {
    const char *row = (const char *) mask->pixels + (gsize) py * mask->stride;
    for (int px = 0; px < width; px++)
      plane[(gsize) py * width + px] = mask_value (mask, row, px);
  }
  return TRUE;
}
