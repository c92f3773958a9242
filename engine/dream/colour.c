/* colour.c: the dream's lightness on the source's colours.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The merge works in CIE Lab, where lightness is one axis and hue and
 * chroma the other two: L comes from the dream, a and b from the source.
 * It lives in the engine, not in the front ends, because only the dream
 * loop still holds the source once the image has been dreamed in place;
 * babl does the conversions (it is small, and GEGL and GIMP load it
 * anyway).
 *
 * The dream's lightness on a saturated source colour often leaves the
 * sRGB gamut, and clipping there would shift the hue. The colour wins:
 * such a pixel's lightness moves from the source's towards the dream's
 * only as far as the gamut allows, found by bisection.
 */
#include "dd-controls.h"

#include <babl/babl.h>

#define CHUNK 512     /* pixels converted at once, on the stack */
#define BISECTIONS 12 /* of the lightness step: 1/4096 of it left */
#define GAMUT_SLACK 1e-4f

typedef struct {
  const Babl *to_lab, *to_rgb;
} Fishes;

/* Lightness and gamut-limited merge of n pixels (interleaved R'G'B' 0..1
 * in dream and source); the result replaces dream. */
static void
merge_chunk (const Fishes *f, float *dream, const float *source, int n)
{
  float src_lab[CHUNK * 3], dream_lab[CHUNK * 3], lab[CHUNK * 3], rgb[CHUNK * 3];
  float lo[CHUNK], hi[CHUNK], t[CHUNK];
  babl_process (f->to_lab, source, src_lab, n);
  babl_process (f->to_lab, dream, dream_lab, n);
  for (int i = 0; i < n; i++) {
    lo[i] = 0; /* the source's lightness: in gamut */
    hi[i] = t[i] = 1;
  }
  for (int round = 0; round <= BISECTIONS; round++) {
    for (int i = 0; i < n; i++) {
      lab[3 * i] = src_lab[3 * i] + t[i] * (dream_lab[3 * i] - src_lab[3 * i]);
      lab[3 * i + 1] = src_lab[3 * i + 1];
      lab[3 * i + 2] = src_lab[3 * i + 2];
    }
    babl_process (f->to_rgb, lab, rgb, n);
    if (round == BISECTIONS)
      break;
    for (int i = 0; i < n; i++) {
      const float *p = rgb + 3 * i;
      gboolean inside = TRUE;
      for (int c = 0; c < 3; c++)
        inside &= p[c] >= -GAMUT_SLACK && p[c] <= 1 + GAMUT_SLACK;
      if (inside)
        lo[i] = t[i];
      else
        hi[i] = t[i];
      /* The last round converts the best lightness found in gamut. */
      t[i] = round == BISECTIONS - 1 ? lo[i] : (lo[i] == hi[i] ? lo[i] : 0.5f * (lo[i] + hi[i]));
    }
  }
  for (int i = 0; i < 3 * n; i++)
    dream[i] = CLAMP (rgb[i], 0.0f, 1.0f);
}

void
dd_keep_source_colours (float *x, const float *source, int width, int height)
{
  babl_init ();
  const Babl *rgb = babl_format ("R'G'B' float"), *lab = babl_format ("CIE Lab float");
  const Fishes f = { babl_fish (rgb, lab), babl_fish (lab, rgb) };
  const gsize plane = (gsize) width * height;
  const gsize chunks = (plane + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
  for (gsize k = 0; k < chunks; k++) {
    float dream[CHUNK * 3], src[CHUNK * 3];
    const gsize first = k * CHUNK;
    const int n = (int) MIN ((gsize) CHUNK, plane - first);
    for (int i = 0; i < n; i++)
      for (int c = 0; c < 3; c++) {
        dream[3 * i + c] = x[c * plane + first + i] / 255.0f;
        src[3 * i + c] = source[c * plane + first + i] / 255.0f;
      }
    merge_chunk (&f, dream, src, n);
    for (int i = 0; i < n; i++)
      for (int c = 0; c < 3; c++)
        x[c * plane + first + i] = dream[3 * i + c] * 255.0f;
  }
  babl_exit ();
}
