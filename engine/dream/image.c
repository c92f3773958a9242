/* image.c: resampling of planar float images.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "deepdream.h"

/* Source coordinate and weight of destination pixel i when n_src pixels
 * are stretched over n_dst, pixel centres aligned (half-pixel rule). */
static void
bilinear_tap (int i, int n_src, int n_dst, int *i0, int *i1, float *frac)
{
  float pos = ((float) i + 0.5f) * (float) n_src / (float) n_dst - 0.5f;
  if (pos < 0)
    pos = 0;
  *i0 = MIN ((int) pos, n_src - 1);
  *i1 = MIN (*i0 + 1, n_src - 1);
  *frac = pos - (float) *i0;
}

void
dd_resize_bilinear (const float *src, int src_width, int src_height, float *dst, int dst_width,
                    int dst_height, int channels)
{
  const gsize src_plane = (gsize) src_width * src_height,
              dst_plane = (gsize) dst_width * dst_height;
#pragma omp parallel for schedule(static)
  for (int row = 0; row < channels * dst_height; row++) {
    int c = row / dst_height, y = row % dst_height, y0, y1;
    float fy;
    bilinear_tap (y, src_height, dst_height, &y0, &y1, &fy);
    const float *r0 = src + c * src_plane + (gsize) y0 * src_width;
    const float *r1 = src + c * src_plane + (gsize) y1 * src_width;
    float *out = dst + c * dst_plane + (gsize) y * dst_width;
    for (int x = 0; x < dst_width; x++) {
      int x0, x1;
      float fx;
      bilinear_tap (x, src_width, dst_width, &x0, &x1, &fx);
      float top = r0[x0] + (r0[x1] - r0[x0]) * fx;
      float bottom = r1[x0] + (r1[x1] - r1[x0]) * fx;
      out[x] = top + (bottom - top) * fy;
    }
  }
}
