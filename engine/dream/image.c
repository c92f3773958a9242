/* image.c: resampling of planar float images.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-controls.h"

#include <math.h>

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

/* The same where pixel -1 is pixel n_src - 1 and pixel n_src is pixel 0. */
static void
bilinear_tap_wrap (int i, int n_src, int n_dst, int *i0, int *i1, float *frac)
{
  float pos = ((float) i + 0.5f) * (float) n_src / (float) n_dst - 0.5f;
  float below = floorf (pos);
  *frac = pos - below;
  *i0 = ((int) below % n_src + n_src) % n_src;
  *i1 = (*i0 + 1) % n_src;
}

typedef void (*TapFunc) (int i, int n_src, int n_dst, int *i0, int *i1, float *frac);

static void
resize (const float *src, int src_width, int src_height, float *dst, int dst_width, int dst_height,
        int channels, TapFunc tap)
{
  const gsize src_plane = (gsize) src_width * src_height,
              dst_plane = (gsize) dst_width * dst_height;
#pragma omp parallel for schedule(static)
  for (int row = 0; row < channels * dst_height; row++) {
    int c = row / dst_height, y = row % dst_height, y0, y1;
    float fy;
    tap (y, src_height, dst_height, &y0, &y1, &fy);
    const float *r0 = src + c * src_plane + (gsize) y0 * src_width;
    const float *r1 = src + c * src_plane + (gsize) y1 * src_width;
    float *out = dst + c * dst_plane + (gsize) y * dst_width;
    for (int x = 0; x < dst_width; x++) {
      int x0, x1;
      float fx;
      tap (x, src_width, dst_width, &x0, &x1, &fx);
      float top = r0[x0] + (r0[x1] - r0[x0]) * fx;
      float bottom = r1[x0] + (r1[x1] - r1[x0]) * fx;
      out[x] = top + (bottom - top) * fy;
    }
  }
}

void
dd_resize_bilinear (const float *src, int src_width, int src_height, float *dst, int dst_width,
                    int dst_height, int channels)
{
  resize (src, src_width, src_height, dst, dst_width, dst_height, channels, bilinear_tap);
}

void
dd_resize_bilinear_wrap (const float *src, int src_width, int src_height, float *dst, int dst_width,
                         int dst_height, int channels)
{
  resize (src, src_width, src_height, dst, dst_width, dst_height, channels, bilinear_tap_wrap);
}
