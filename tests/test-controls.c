/* test-controls.c: the artist's controls of a dream, judged by measurement.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keeping the source's colours (hue and chroma in CIE Lab against the
 * source's, lightness against the plain dream's), seamless dreams (the seam
 * of the result tiled against every other pair of neighbouring columns and
 * rows) and strength maps (bytes under a black map, the change under grey
 * against white). Every test skips when the shared data folder is absent.
 */
#include <gegl.h>
#include <math.h>
#include <string.h>

#include "deepdream.h"
#include "testutil.h"

#define FLOWERS "images/flowers.jpg"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DdDreamParams, dd_dream_params_clear)

static DdModel *model;
static DdModelCard *card;

static gboolean
have_model (void)
{
  g_autofree char *dir = tu_shared_path ("models/bvlc_googlenet");
  if (!dir) {
    g_test_skip ("no shared data");
    return FALSE;
  }
  if (!model) {
    g_autoptr (GError) error = NULL;
    model = dd_model_open ("googlenet", &card, &error);
    g_assert_no_error (error);
  }
  return TRUE;
}

/* ---- Images ------------------------------------------------------------------------ */

static void
image_free (DdImage *im)
{
  if (im)
    g_free (im->pixels);
  g_free (im);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdImage, image_free)

static DdImage *
image_alloc (int width, int height, int channels, DdPixelType type)
{
  DdImage *im = g_new0 (DdImage, 1);
  im->width = width;
  im->height = height;
  im->channels = channels;
  im->type = type;
  im->stride = (gsize) width * channels * (type == DD_PIXEL_U8 ? 1 : sizeof (float));
  im->pixels = g_malloc0 (im->stride * height);
  return im;
}

static DdImage *
image_copy (const DdImage *im)
{
  DdImage *copy = g_memdup2 (im, sizeof *im);
  copy->pixels = g_memdup2 (im->pixels, im->stride * im->height);
  return copy;
}

/* The flowers photo scaled to width (its aspect kept) through GEGL, in
 * 8-bit or float R'G'B'. */
static DdImage *
flowers (int width, DdPixelType type)
{
  g_autofree char *path = tu_shared_path (FLOWERS);
  g_assert_nonnull (path);
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglRectangle r = gegl_node_get_bounding_box (load);
  const double scale = (double) width / r.width;
  DdImage *im = image_alloc (width, (int) (r.height * scale), 3, type);
  GeglRectangle roi = { 0, 0, im->width, im->height };
  gegl_node_blit (load, scale, &roi,
                  babl_format (type == DD_PIXEL_U8 ? "R'G'B' u8" : "R'G'B' float"), im->pixels,
                  (int) im->stride, GEGL_BLIT_DEFAULT);
  return im;
}

/* Pixel i's colour channel c, 0..255. */
static double
sample (const DdImage *im, gsize i, int c)
{
  gsize at = i * im->channels + c;
  return im->type == DD_PIXEL_U8 ? ((const guint8 *) im->pixels)[at]
                                 : ((const float *) im->pixels)[at] * 255.0;
}

/* CIE Lab of every pixel of an RGB image, interleaved. */
static float *
to_lab (const DdImage *im)
{
  const gsize n = (gsize) im->width * im->height;
  float *lab = g_new (float, n * 3);
  const Babl *rgb = babl_format (im->type == DD_PIXEL_U8 ? "R'G'B' u8" : "R'G'B' float");
  babl_process (babl_fish (rgb, babl_format ("CIE Lab float")), im->pixels, lab, (long) n);
  return lab;
}

/* ---- Dreams -------------------------------------------------------------------------- */

static void
small_params (DdDreamParams *p)
{
  dd_dream_params_init (p);
  p->octaves = 1;
  p->iterations = 4;
  p->jitter = 0;
  p->seed = 1;
}

static void
dream_masked (DdImage *im, const DdDreamParams *p, const DdImage *mask)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean ok =
      dd_dream_run_masked (model, card, p, NULL, mask, im, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_test_message ("dream of %dx%d: %.2f s", im->width, im->height,
                  (g_get_monotonic_time () - start) / 1e6);
}

static void
dream (DdImage *im, const DdDreamParams *p)
{
  dream_masked (im, p, NULL);
}

/* ---- Keeping the source's colours -------------------------------------------------- */

/* The result's a and b (hue and chroma) are the source's; its lightness
 * is the plain dream's, or lies between the source's and the dream's where
 * the dream's lightness would leave the gamut with that colour. */
static void
test_keep_colours (void)
{
  if (!have_model ())
    return;
  g_autoptr (DdImage) source = flowers (160, DD_PIXEL_FLOAT);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.step_size = 4; /* lightness changes well past rounding */
  g_autoptr (DdImage) plain = image_copy (source);
  dream (plain, &p);
  p.colours = DD_COLOURS_SOURCE;
  g_autoptr (DdImage) kept = image_copy (source);
  dream (kept, &p);

  g_autofree float *ls = to_lab (source), *lp = to_lab (plain), *lk = to_lab (kept);
  const gsize n = (gsize) source->width * source->height;
  /* float R'G'B' through babl and back: far below a visible difference */
  const double tolerance = 0.02;
  double worst_ab = 0, plain_ab = 0, dream_dl = 0, kept_dl = 0, worst_between = 0;
  double worst_hue = 0, worst_chroma = 0;
  gsize same_l = 0;
  for (gsize i = 0; i < n; i++) {
    const float *s = ls + 3 * i, *d = lp + 3 * i, *k = lk + 3 * i;
    worst_ab = MAX (worst_ab, hypot (k[1] - s[1], k[2] - s[2]));
    plain_ab += hypot (d[1] - s[1], d[2] - s[2]);
    double cs = hypot (s[1], s[2]), ck = hypot (k[1], k[2]);
    worst_chroma = MAX (worst_chroma, fabs (ck - cs));
    if (cs > 5) {
      double dh = fabs (atan2 (k[2], k[1]) - atan2 (s[2], s[1]));
      worst_hue = MAX (worst_hue, MIN (dh, 2 * G_PI - dh) * 180 / G_PI);
    }
    dream_dl += fabs (d[0] - s[0]);
    kept_dl += fabs (k[0] - s[0]);
    same_l += fabs (k[0] - d[0]) <= tolerance;
    /* beyond the segment from the source's lightness to the dream's */
    double lo = MIN (s[0], d[0]), hi = MAX (s[0], d[0]);
    worst_between = MAX (worst_between, MAX (lo - k[0], k[0] - hi));
  }
  g_test_message ("a,b off the source's by at most %.4f (plain dream: %.2f on average); "
                  "chroma by %.4f, hue by %.4f degrees",
                  worst_ab, plain_ab / n, worst_chroma, worst_hue);
  g_test_message ("mean |dL| from the source: plain dream %.3f, kept colours %.3f; "
                  "%.1f %% of pixels with the dream's L exactly; outside the segment by %.4f",
                  dream_dl / n, kept_dl / n, 100.0 * same_l / n, worst_between);
  /* The test can fail: the plain dream moves colours well past rounding. */
  g_assert_cmpfloat (plain_ab / n, >, 1.0);
  g_assert_cmpfloat (worst_ab, <=, tolerance);
  g_assert_cmpfloat (worst_hue, <=, 0.5);
  g_assert_cmpfloat (worst_between, <=, tolerance);
  g_assert_cmpfloat (dream_dl / n, >, 1.0);
  g_assert_cmpfloat (kept_dl / n, >=, 0.8 * dream_dl / n);
  g_assert_cmpfloat ((double) same_l / n, >=, 0.8);
}

/* 8-bit images keep their colours within the rounding of 8-bit R'G'B';
 * grey images have only lightness, and keep it. */
static void
test_keep_colours_8bit_and_grey (void)
{
  if (!have_model ())
    return;
  g_autoptr (DdImage) source = flowers (160, DD_PIXEL_U8);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.colours = DD_COLOURS_SOURCE;
  g_autoptr (DdImage) kept = image_copy (source);
  dream (kept, &p);
  g_autofree float *ls = to_lab (source), *lk = to_lab (kept);
  const gsize n = (gsize) source->width * source->height;
  double sum_ab = 0, worst_ab = 0;
  for (gsize i = 0; i < n; i++) {
    double e = hypot (lk[3 * i + 1] - ls[3 * i + 1], lk[3 * i + 2] - ls[3 * i + 2]);
    sum_ab += e;
    worst_ab = MAX (worst_ab, e);
  }
  g_test_message ("8-bit: a,b off the source's by %.3f on average, %.3f at most", sum_ab / n,
                  worst_ab);
  /* Half a level of 8-bit R'G'B' moves a and b by up to about 1 in dark
   * colours. */
  g_assert_cmpfloat (sum_ab / n, <=, 0.3);
  g_assert_cmpfloat (worst_ab, <=, 2.5);

  g_autoptr (DdImage) grey = image_alloc (source->width, source->height, 1, DD_PIXEL_U8);
  for (gsize i = 0; i < n; i++)
    ((guint8 *) grey->pixels)[i] = ((guint8 *) source->pixels)[3 * i + 1];
  g_autoptr (DdImage) grey_kept = image_copy (grey);
  dream (grey_kept, &p);
  p.colours = DD_COLOURS_DREAM;
  dream (grey, &p);
  g_assert_cmpmem (grey->pixels, n, grey_kept->pixels, n);
}

/* ---- Seamless ------------------------------------------------------------------------ */

/* How unlike column a and column b (rows when rows) of the planar
 * 3-channel field v are: 1 - their correlation over every row (column) and
 * channel. Neighbours inside a dream's structures correlate strongly; a
 * seam puts unrelated structures side by side. */
static double
pair_step (const float *v, int width, int height, int a, int b, gboolean rows)
{
  const int lines = rows ? width : height;
  const gsize plane = (gsize) width * height;
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (int k = 0; k < lines; k++)
    for (int c = 0; c < 3; c++) {
      gsize ia = rows ? (gsize) a * width + k : (gsize) k * width + a;
      gsize ib = rows ? (gsize) b * width + k : (gsize) k * width + b;
      double va = v[c * plane + ia], vb = v[c * plane + ib];
      sa += va;
      sb += vb;
      saa += va * va;
      sbb += vb * vb;
      sab += va * vb;
    }
  const double n = lines * 3.0;
  const double cov = sab / n - sa * sb / (n * n);
  const double var =
      sqrt (MAX ((saa / n - sa * sa / (n * n)) * (sbb / n - sb * sb / (n * n)), 1e-12));
  return 1 - cov / var;
}

/* How the seam (last column next to the first, as two copies side by side
 * put them) stands among all other neighbouring pairs of v: its z-score,
 * and in *rank the share of pairs that step less than it. */
static double
seam_score (const float *v, int width, int height, gboolean rows, double *rank)
{
  const int n = rows ? height : width;
  double sum = 0, sq = 0, seam = pair_step (v, width, height, n - 1, 0, rows);
  int below = 0;
  for (int i = 0; i + 1 < n; i++) {
    double s = pair_step (v, width, height, i, i + 1, rows);
    sum += s;
    sq += s * s;
    below += s < seam;
  }
  const double mean = sum / (n - 1), sd = sqrt (MAX (sq / (n - 1) - mean * mean, 1e-12));
  *rank = (double) below / (n - 1);
  return (seam - mean) / sd;
}

/* The flowers made periodic by mirroring, so that the source has no seam
 * of its own. */
static DdImage *
periodic_flowers (void)
{
  g_autoptr (DdImage) half = flowers (96, DD_PIXEL_FLOAT);
  const int w = 2 * half->width, h = 2 * half->height;
  DdImage *im = image_alloc (w, h, 3, DD_PIXEL_FLOAT);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int sx = x < half->width ? x : w - 1 - x, sy = y < half->height ? y : h - 1 - y;
      memcpy ((float *) im->pixels + ((gsize) y * w + x) * 3,
              (float *) half->pixels + ((gsize) sy * half->width + sx) * 3, 3 * sizeof (float));
    }
  return im;
}

/* The seam z-scores, among columns and among rows, of what a dream of a
 * periodic source added to it: with seamless, the network never met an
 * edge, across octaves, jitter and tiles alike. */
static void
check_seams (gboolean seamless, int jitter, int laplacian, double *z_cols, double *z_rows)
{
  g_autoptr (DdImage) source = periodic_flowers ();
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.octaves = 2;
  p.iterations = 5;
  p.jitter = jitter;
  p.tile = 96;
  p.seamless = seamless;
  p.laplacian = laplacian;
  dream (im, &p);
  const int w = im->width, h = im->height;
  const gsize plane = (gsize) w * h;
  g_autofree float *change = g_new (float, plane * 3);
  for (gsize i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      change[c * plane + i] = (float) (sample (im, i, c) - sample (source, i, c));
  double rank_cols, rank_rows;
  *z_cols = seam_score (change, w, h, FALSE, &rank_cols);
  *z_rows = seam_score (change, w, h, TRUE, &rank_rows);
  g_test_message (
      "seamless=%d, jitter %d, laplacian %d: seam z-score of the change %.2f among columns "
      "(%.0f %% of pairs step less), %.2f among rows (%.0f %%)",
      seamless, jitter, laplacian, *z_cols, 100 * rank_cols, *z_rows, 100 * rank_rows);
}

static void
test_seamless (void)
{
  if (!have_model ())
    return;
  double z_cols, z_rows;
  /* Two standard deviations: one pair in forty steps that much. */
  for (int jitter = 0; jitter <= 32; jitter += 32) {
    check_seams (TRUE, jitter, 0, &z_cols, &z_rows);
    g_assert_cmpfloat (z_cols, <, 2);
    g_assert_cmpfloat (z_rows, <, 2);
  }
  /* The Laplacian normalisation's blurs wrap around too. */
  check_seams (TRUE, 0, 4, &z_cols, &z_rows);
  g_assert_cmpfloat (z_cols, <, 2);
  g_assert_cmpfloat (z_rows, <, 2);
  /* The test can fail: without the roll of the jitter to hide them, the
   * image's edges leave a seam in a plain dream. */
  check_seams (FALSE, 0, 0, &z_cols, &z_rows);
  g_assert_cmpfloat (MAX (z_cols, z_rows), >, 2);
}

/* ---- Strength maps ------------------------------------------------------------------- */

/* Three vertical bands: 0, half and full strength. */
static DdImage *
band_mask (int width, int height)
{
  g_autoptr (DdImage) mask = image_alloc (width, height, 1, DD_PIXEL_U8);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      ((guint8 *) mask->pixels)[(gsize) y * width + x] = x < width / 3       ? 0
                                                         : x < 2 * width / 3 ? 128
                                                                             : 255;
  return g_steal_pointer (&mask);
}

/* Mean absolute change of the colour channels in columns [x0, x1). */
static double
band_change (const DdImage *a, const DdImage *b, int x0, int x1)
{
  double sum = 0;
  for (int y = 0; y < a->height; y++)
    for (int x = x0; x < x1; x++)
      for (int c = 0; c < 3; c++) {
        gsize i = (gsize) y * a->width + x;
        sum += fabs (sample (a, i, c) - sample (b, i, c));
      }
  return sum / ((double) a->height * (x1 - x0) * 3);
}

static void
check_mask (DdPixelType type)
{
  g_autoptr (DdImage) source = flowers (192, type);
  g_autoptr (DdImage) mask = band_mask (source->width, source->height);
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.octaves = 3;
  p.jitter = 32;
  dream_masked (im, &p, mask);
  const int w = source->width, third = w / 3;
  /* Bit for bit where the map is black, row by row. */
  const gsize black_bytes = (gsize) third * 3 * (type == DD_PIXEL_U8 ? 1 : sizeof (float));
  for (int y = 0; y < source->height; y++)
    g_assert_cmpmem ((char *) source->pixels + y * source->stride, black_bytes,
                     (char *) im->pixels + y * im->stride, black_bytes);
  /* Away from the bands' borders, which octaves below full size blur. */
  const int border = 8;
  double half = band_change (source, im, third + border, 2 * third - border);
  double full = band_change (source, im, 2 * third + border, w);
  g_test_message ("mean change: %.3f grey levels at half strength, %.3f at full (ratio %.2f)", half,
                  full, half / full);
  g_assert_cmpfloat (full, >, 2);
  g_assert_cmpfloat (half / full, >, 0.3);
  g_assert_cmpfloat (half / full, <, 0.7);
}

static void
test_mask (void)
{
  if (!have_model ())
    return;
  check_mask (DD_PIXEL_U8);
  check_mask (DD_PIXEL_FLOAT);
}

static void
test_mask_refused (void)
{
  if (!have_model ())
    return;
  g_autoptr (DdImage) source = flowers (160, DD_PIXEL_U8);
  g_autoptr (DdImage) mask = band_mask (100, 80);
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  g_autoptr (GError) error = NULL;
  g_assert_false (
      dd_dream_run_masked (model, card, &p, NULL, mask, im, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "mask"));
  g_assert_cmpmem (im->pixels, im->stride * im->height, source->pixels,
                   source->stride * source->height);
}

/* ---- Presets ------------------------------------------------------------------------- */

/* Every preset shipped on googlenet's card sets valid parameters that can
 * dream a small picture; a few say what they are for. */
static void
test_presets_shipped (void)
{
  if (!have_model ())
    return;
  g_auto (GStrv) descriptions = NULL;
  g_auto (GStrv) names = dd_model_card_list_presets (card, &descriptions);
  g_assert_cmpuint (g_strv_length (names), >=, 5);
  for (int i = 0; names[i]; i++) {
    g_autoptr (GError) error = NULL;
    g_auto (DdDreamParams) p;
    dd_dream_params_init (&p);
    g_assert_true (dd_dream_params_apply_preset (&p, card, names[i], &error));
    g_assert_no_error (error);
    g_assert_true (dd_dream_params_validate (&p, &error));
    g_assert_true (dd_dream_check (model, card, &p, 320, 240, 3, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (descriptions[i], !=, "");
    g_test_message ("%s: %s (layers %s, %d octaves x %d steps)", names[i], descriptions[i],
                    p.layers, p.octaves, p.iterations);
  }
  g_auto (DdDreamParams) p;
  dd_dream_params_init (&p);
  p.octaves = 2;
  g_assert_true (dd_dream_params_apply_preset (&p, card, "strokes", NULL));
  g_assert_cmpstr (p.layers, ==, "inception_3b/5x5_reduce");
  g_assert_cmpint (p.octaves, ==, 4);
  g_assert_true (dd_dream_params_apply_preset (&p, card, "photo", NULL));
  g_assert_cmpint (p.colours, ==, DD_COLOURS_SOURCE);
  g_assert_true (dd_dream_params_apply_preset (&p, card, "texture", NULL));
  g_assert_true (p.seamless && p.start == DD_START_NOISE);
}

/* A preset applied on a copy of googlenet's card with bad presets added:
 * the error says what is wrong and the parameters stay as they were. */
static void
check_bad_preset (const DdModelCard *bad, const char *name, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_auto (DdDreamParams) p;
  dd_dream_params_init (&p);
  p.octaves = 3;
  g_assert_false (dd_dream_params_apply_preset (&p, bad, name, &error));
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  if (!strstr (error->message, needle))
    g_test_fail_printf ("'%s' does not name '%s'", error->message, needle);
  g_assert_cmpint (p.octaves, ==, 3);
  g_assert_cmpstr (p.layers, ==, "");
}

static void
test_presets_bad (void)
{
  if (!have_model ())
    return;
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (card->card_path, &text, NULL, NULL));
  g_autofree char *dir = g_dir_make_tmp ("test-controls-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.card", NULL);
  g_autofree char *bad_text = g_strconcat (text,
                                           "\n[Preset range]\nlayers=inception_3a/output\n"
                                           "octaves=99\n"
                                           "[Preset typo]\nlayers=inception_3a/output\noctave=3\n"
                                           "[Preset model]\nmodel=vgg16\n",
                                           NULL);
  g_assert_true (g_file_set_contents (path, bad_text, -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModelCard) bad = dd_model_card_load (path, &error);
  g_assert_no_error (error);
  check_bad_preset (bad, "range", "octaves");
  check_bad_preset (bad, "typo", "no parameter 'octave'");
  check_bad_preset (bad, "model", "model");
  check_bad_preset (bad, "nope", "has no preset 'nope' (it has classic");
  tu_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);
  g_test_add_func ("/controls/colours/keep-source", test_keep_colours);
  g_test_add_func ("/controls/colours/8-bit-and-grey", test_keep_colours_8bit_and_grey);
  g_test_add_func ("/controls/seamless", test_seamless);
  g_test_add_func ("/controls/mask/strength", test_mask);
  g_test_add_func ("/controls/mask/refused", test_mask_refused);
  g_test_add_func ("/controls/presets/shipped", test_presets_shipped);
  g_test_add_func ("/controls/presets/bad", test_presets_bad);
  int status = g_test_run ();
  g_clear_pointer (&model, dd_model_unref);
  g_clear_pointer (&card, dd_model_card_free);
  gegl_exit ();
  return status;
}
