/* test-dream.c: the dream loop (dd_dream_run) on the real BVLC GoogLeNet.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Small crops of the notebook's sky photo, dreamed for a few steps, judged
 * by measured numbers: the objective the step climbs, octaves run, tiled
 * against untiled PSNR, determinism, cancelling, refused parameters, alpha
 * and grey images, the variants of the objective, class visualisation, the
 * model card, and the artists' controls (colours kept, seamless, strength
 * maps, presets). The model is found through its card on
 * DEEPDREAM_MODEL_PATH (set by tests/meson.build); every test skips when the
 * shared data folder is absent.
 */
#include <gegl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "deepdream.h"
#include "testutil.h"

#define LAYER "inception_4c/output"
#define SKY "images/sky1024px.jpg"
#define FLOWERS "images/flowers.jpg"
#define PADDING 16 /* bytes after each row, that a dream must not touch */
#define PAD_BYTE 0xa5

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DdDreamParams, dd_dream_params_clear)

/* ---- The model ------------------------------------------------------------------ */

static DdModel *model;
static DdModelCard *card;

/* Opens googlenet by its card once; FALSE (test skipped) without shared data. */
static gboolean
have_model (void)
{
  g_autofree char *dir = tu_shared_path ("models/bvlc_googlenet");
  if (!dir)
    return FALSE;
  if (!model) {
    g_autoptr (GError) error = NULL;
    model = dd_model_open ("googlenet", &card, &error);
    g_assert_no_error (error);
  }
  return TRUE;
}

/* ---- Test images ---------------------------------------------------------------- */

static void
image_free (DdImage *im)
{
  if (!im)
    return;
  g_free (im->pixels);
  g_free (im);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdImage, image_free)

static gsize
sample_size (const DdImage *im)
{
  return im->type == DD_PIXEL_U8 ? 1 : sizeof (float);
}

static DdImage *
image_alloc (int width, int height, int channels, DdPixelType type)
{
  DdImage *im = g_new0 (DdImage, 1);
  im->width = width;
  im->height = height;
  im->channels = channels;
  im->type = type;
  im->stride = (gsize) width * channels * sample_size (im) + PADDING;
  im->pixels = g_malloc (im->stride * height);
  memset (im->pixels, PAD_BYTE, im->stride * height);
  return im;
}

static DdImage *
image_copy (const DdImage *im)
{
  DdImage *copy = g_memdup2 (im, sizeof *im);
  copy->pixels = g_memdup2 (im->pixels, im->stride * im->height);
  return copy;
}

/* Channel c of pixel (x, y), 0..255. */
static float
image_get (const DdImage *im, int x, int y, int c)
{
  const char *row = (const char *) im->pixels + (gsize) y * im->stride;
  gsize at = (gsize) x * im->channels + c;
  return im->type == DD_PIXEL_U8 ? ((const guint8 *) row)[at] : ((const float *) row)[at] * 255;
}

static void
image_set (DdImage *im, int x, int y, int c, float v)
{
  char *row = (char *) im->pixels + (gsize) y * im->stride;
  gsize at = (gsize) x * im->channels + c;
  if (im->type == DD_PIXEL_U8)
    ((guint8 *) row)[at] = (guint8) lrintf (CLAMP (v, 0, 255));
  else
    ((float *) row)[at] = v / 255;
}

static int
colour_channels (const DdImage *im)
{
  return im->channels >= 3 ? 3 : 1;
}

/* A picture file as planar R'G'B' floats, 0..1. */
static float *
load_planar (const char *relative, int *width, int *height)
{
  g_autofree char *path = tu_shared_path (relative);
  if (!path)
    return NULL;
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglRectangle r = gegl_node_get_bounding_box (load);
  g_assert_cmpint (r.width, >, 0);
  const gsize plane = (gsize) r.width * r.height;
  g_autofree float *rgb = g_new (float, plane * 3);
  gegl_node_blit (load, 1.0, &r, babl_format ("R'G'B' float"), rgb, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);
  float *planar = g_new (float, plane * 3);
  for (gsize i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      planar[c * plane + i] = rgb[i * 3 + c];
  *width = r.width;
  *height = r.height;
  return planar;
}

/* The largest centred crop of a picture file with the aspect of
 * width x height, resized to that: grey for 1 or 2 channels, RGB for 3 or 4,
 * with a varied alpha for 2 and 4. NULL (test skipped) without shared data. */
static DdImage *
image_new (const char *file, int width, int height, int channels, DdPixelType type)
{
  int fw, fh;
  g_autofree float *src = load_planar (file, &fw, &fh);
  if (!src)
    return NULL;
  const double k = MIN ((double) fw / width, (double) fh / height);
  const int cw = (int) (width * k), ch = (int) (height * k);
  const int x0 = (fw - cw) / 2, y0 = (fh - ch) / 2;
  g_autofree float *crop = g_new (float, (gsize) cw *ch * 3);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < ch; y++)
      memcpy (crop + ((gsize) c * ch + y) * cw, src + ((gsize) c * fh + y0 + y) * fw + x0,
              cw * sizeof (float));
  const gsize plane = (gsize) width * height;
  g_autofree float *rgb = g_new (float, plane * 3);
  dd_resize_bilinear (crop, cw, ch, rgb, width, height, 3);

  DdImage *im = image_alloc (width, height, channels, type);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      const gsize i = (gsize) y * width + x;
      float r = rgb[i] * 255, g = rgb[plane + i] * 255, b = rgb[2 * plane + i] * 255;
      if (channels >= 3) {
        image_set (im, x, y, 0, r);
        image_set (im, x, y, 1, g);
        image_set (im, x, y, 2, b);
      } else {
        image_set (im, x, y, 0, 0.2126f * r + 0.7152f * g + 0.0722f * b);
      }
      if (channels % 2 == 0)
        image_set (im, x, y, channels - 1, (float) ((x * 7 + y * 13) % 256) + 0.3f);
    }
  return im;
}

/* ---- Comparisons ------------------------------------------------------------------- */

/* Every byte, row padding included. */
static gboolean
same_bytes (const DdImage *a, const DdImage *b)
{
  g_assert_cmpuint (a->stride, ==, b->stride);
  return memcmp (a->pixels, b->pixels, a->stride * a->height) == 0;
}

static gboolean
same_alpha (const DdImage *a, const DdImage *b)
{
  g_assert_true (a->channels % 2 == 0);
  const gsize size = sample_size (a);
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++) {
      gsize at = (gsize) y * a->stride + ((gsize) x * a->channels + a->channels - 1) * size;
      if (memcmp ((const char *) a->pixels + at, (const char *) b->pixels + at, size) != 0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
padding_intact (const DdImage *im)
{
  for (int y = 0; y < im->height; y++) {
    const guint8 *pad = (const guint8 *) im->pixels + (gsize) y * im->stride + im->stride - PADDING;
    for (int i = 0; i < PADDING; i++)
      if (pad[i] != PAD_BYTE)
        return FALSE;
  }
  return TRUE;
}

/* Mean absolute difference and mean squared difference of the colour
 * channels, in grey levels. */
static double
colour_diff (const DdImage *a, const DdImage *b, double *mse)
{
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  double abs_sum = 0, sq_sum = 0;
  const int cc = colour_channels (a);
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++)
      for (int c = 0; c < cc; c++) {
        double d = image_get (a, x, y, c) - image_get (b, x, y, c);
        abs_sum += fabs (d);
        sq_sum += d * d;
      }
  const double n = (double) a->width * a->height * cc;
  if (mse)
    *mse = sq_sum / n;
  return abs_sum / n;
}

static double
colour_mad (const DdImage *a, const DdImage *b)
{
  return colour_diff (a, b, NULL);
}

static double
colour_psnr (const DdImage *a, const DdImage *b)
{
  double mse;
  colour_diff (a, b, &mse);
  return mse > 0 ? 10 * log10 (255.0 * 255.0 / mse) : INFINITY;
}

/* ---- Running dreams ---------------------------------------------------------------- */

/* Defaults made small and reproducible: one octave, three steps, no jitter. */
static void
small_params (DdDreamParams *p)
{
  dd_dream_params_init (p);
  p->octaves = 1;
  p->iterations = 3;
  p->jitter = 0;
  p->seed = 1;
}

static void
set_string (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* Dreams im in place with a strength map (or NULL); the run must succeed. */
static void
dream_masked (DdImage *im, const DdDreamParams *p, const DdImage *guide, const DdImage *mask,
              DdDreamInfo *info)
{
  g_autoptr (GError) error = NULL;
  DdDreamInfo local;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = dd_dream_run_masked (model, card, p, guide, mask, im, NULL, NULL, NULL,
                                     info ? info : &local, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_test_message ("dream of %dx%d, %d channels, %d octaves x %d steps: %.2f s", im->width,
                  im->height, im->channels, p->octaves, p->iterations,
                  (g_get_monotonic_time () - start) / 1e6);
}

/* Dreams im in place; the run must succeed. */
static void
dream (DdImage *im, const DdDreamParams *p, const DdImage *guide, DdDreamInfo *info)
{
  dream_masked (im, p, guide, NULL, info);
}

/* A run that must fail with code, a message holding needle (unless NULL),
 * and im left as it was to the byte. */
static void
dream_fails (DdImage *im, const DdDreamParams *p, DdProgressFunc progress, gpointer data,
             GCancellable *cancellable, DdError code, const char *needle)
{
  g_autoptr (DdImage) before = image_copy (im);
  g_autoptr (GError) error = NULL;
  DdDreamInfo info;
  g_assert_false (
      dd_dream_run (model, card, p, NULL, im, progress, data, cancellable, &info, &error));
  g_assert_error (error, DD_ERROR, (gint) code);
  g_test_message ("refused: %s", error->message);
  if (needle && !strstr (error->message, needle))
    g_test_fail_printf ("the message '%s' does not name '%s'", error->message, needle);
  g_assert_true (same_bytes (im, before));
}

/* ---- The network's view of an image -------------------------------------------------- */

/* A forward-only plan to target with im (RGB) as its input, after forward. */
static DdPlan *
forward (const DdImage *im, const char *target)
{
  g_autoptr (GError) error = NULL;
  DdPlan *plan =
      dd_plan_new (model, im->width, im->height, &target, 1, DD_PLAN_FORWARD_ONLY, &error);
  g_assert_no_error (error);
  float *in = dd_plan_get_input (plan);
  const gsize plane = (gsize) im->width * im->height;
  for (int k = 0; k < 3; k++) {
    const int c = card->bgr ? 2 - k : k;
    const float scale = card->range / 255 / card->std[k], shift = card->mean[k] / card->std[k];
    for (int y = 0; y < im->height; y++)
      for (int x = 0; x < im->width; x++)
        in[k * plane + (gsize) y * im->width + x] = image_get (im, x, y, c) * scale - shift;
  }
  dd_plan_forward (plan);
  return plan;
}

/* 1/2 sum(a^2) at target. */
static double
objective (const DdImage *im, const char *target)
{
  g_autoptr (DdPlan) plan = forward (im, target);
  DdTensorInfo info;
  const float *a = dd_plan_get_target (plan, 0, &info);
  double sum = 0;
  for (gsize i = 0, n = dd_tensor_info_numel (&info); i < n; i++)
    sum += 0.5 * (double) a[i] * a[i];
  return sum;
}

/* Mean activation of channel c of target (c = -1: of every channel). */
static double
mean_activation (const DdImage *im, const char *target, int c)
{
  g_autoptr (DdPlan) plan = forward (im, target);
  DdTensorInfo info;
  const float *a = dd_plan_get_target (plan, 0, &info);
  const gsize n = dd_tensor_info_numel (&info), positions = n / info.dims[1];
  const gsize from = c < 0 ? 0 : c * positions, to = c < 0 ? n : from + positions;
  double sum = 0;
  for (gsize i = from; i < to; i++)
    sum += a[i];
  return sum / (to - from);
}

/* Rank (1 = first) of class among the 1000 of "prob"; best gets the first. */
static int
class_rank (const DdImage *im, int class_index, int *best, float *best_prob)
{
  g_autoptr (DdPlan) plan = forward (im, "prob");
  DdTensorInfo info;
  const float *prob = dd_plan_get_target (plan, 0, &info);
  g_assert_cmpint (info.dims[1], ==, 1000);
  int rank = 1;
  *best = 0;
  for (int i = 0; i < 1000; i++) {
    rank += prob[i] > prob[class_index];
    if (prob[i] > prob[*best])
      *best = i;
  }
  *best_prob = prob[*best];
  g_test_message ("class %d ranks %d (p = %.4f); first is %d (p = %.4f)", class_index, rank,
                  prob[class_index], *best, prob[*best]);
  return rank;
}

/* ---- 1. The objective rises -------------------------------------------------------- */

static void
test_objective_rises (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 224, 160, 3, DD_PIXEL_FLOAT)))
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);

  double last = objective (image, LAYER);
  g_test_message ("objective before: %.6g", last);
  const int steps[] = { 1, 2, 4 };
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++) {
    g_autoptr (DdImage) dreamed = image_copy (image);
    p.iterations = steps[i];
    dream (dreamed, &p, NULL, NULL);
    double value = objective (dreamed, LAYER);
    g_test_message ("objective after %d steps: %.6g (x%.3f)", steps[i], value, value / last);
    if (!(value > last))
      g_test_fail_printf ("after %d steps the objective is %.6g, not above %.6g", steps[i], value,
                          last);
    last = value;
  }
}

/* ---- 2. Octaves and progress ------------------------------------------------------- */

typedef struct {
  double fraction;
  int octave, n_octaves, iteration, n_iterations;
} Progress;

static void
record_progress (double fraction, int octave, int n_octaves, int iteration, int n_iterations,
                 gpointer data)
{
  Progress rec = { fraction, octave, n_octaves, iteration, n_iterations };
  g_array_append_val ((GArray *) data, rec);
}

/* Octaves of width x height whose edges stay at least min_edge, chaining
 * the rounded sizes as the engine does. */
static int
expected_octaves (int width, int height, const DdDreamParams *p, int min_edge)
{
  int n = 1;
  for (; n < p->octaves; n++) {
    width = (int) lround (width / p->octave_scale);
    height = (int) lround (height / p->octave_scale);
    if (width < min_edge || height < min_edge)
      break;
  }
  return n;
}

/* Dreams a width x height sky with p; checks the octaves run and the
 * progress reports; returns the octaves run. */
static int
check_octaves (int width, int height, const DdDreamParams *p, int min_edge)
{
  g_autoptr (DdImage) image = image_new (SKY, width, height, 3, DD_PIXEL_FLOAT);
  g_autoptr (GArray) reports = g_array_new (FALSE, FALSE, sizeof (Progress));
  g_autoptr (GError) error = NULL;
  DdDreamInfo info;
  g_assert_true (
      dd_dream_run (model, card, p, NULL, image, record_progress, reports, NULL, &info, &error));
  g_assert_no_error (error);
  const int n = info.octaves_run;
  g_test_message ("%dx%d: %d of %d octaves", width, height, n, p->octaves);
  g_assert_cmpint (n, ==, expected_octaves (width, height, p, min_edge));
  g_assert_cmpuint (reports->len, ==, (guint) (n * p->iterations));
  for (guint i = 0; i < reports->len; i++) {
    const Progress *r = &g_array_index (reports, Progress, i);
    g_assert_cmpint (r->n_octaves, ==, n);
    g_assert_cmpint (r->octave, ==, (int) i / p->iterations + 1);
    g_assert_cmpint (r->iteration, ==, (int) i % p->iterations + 1);
    g_assert_cmpint (r->n_iterations, ==, p->iterations);
    g_assert_cmpfloat (r->fraction, >, i ? g_array_index (reports, Progress, i - 1).fraction : 0);
  }
  g_assert_cmpfloat (g_array_index (reports, Progress, reports->len - 1).fraction, ==, 1.0);
  return n;
}

static void
test_octaves (void)
{
  if (!have_model ())
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.octaves = 3;
  p.octave_scale = 1.4;
  p.iterations = 2;
  g_autoptr (GError) error = NULL;
  const int min_edge = dd_dream_min_size (model, card, &p, &error);
  g_assert_no_error (error);
  g_test_message ("smallest edge for %s: %d", LAYER, min_edge);
  g_assert_cmpint (min_edge, >, 1);

  g_assert_cmpint (check_octaves (320, 240, &p, min_edge), ==, 3);
  /* The smallest square with two octaves, and one pixel less. */
  int edge = min_edge;
  while (lround (edge / p.octave_scale) < min_edge)
    edge++;
  g_assert_cmpint (check_octaves (edge, edge, &p, min_edge), ==, 2);
  g_assert_cmpint (check_octaves (edge - 1, edge + 40, &p, min_edge), ==, 1);
  g_assert_cmpint (check_octaves (min_edge, min_edge, &p, min_edge), ==, 1);

  /* Below the minimum: refused with the minimum in the message. */
  g_autofree char *needle = g_strdup_printf ("%dx%d", min_edge, min_edge);
  g_autoptr (DdImage) tiny = image_new (SKY, min_edge + 20, min_edge - 1, 3, DD_PIXEL_FLOAT);
  dream_fails (tiny, &p, NULL, NULL, NULL, DD_ERROR_ARGUMENT, needle);
}

/* ---- 3. Tiles agree with the whole ------------------------------------------------- */

/* PSNR between the untiled and the tiled (tile edge tile) dreams of image,
 * iterations steps; the tiled run's info goes to info. */
static double
tiled_psnr (const DdImage *image, int iterations, int tile, DdDreamInfo *info)
{
  g_autoptr (DdImage) whole = image_copy (image);
  g_autoptr (DdImage) tiled = image_copy (image);
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.iterations = iterations;
  DdDreamInfo whole_info;
  dream (whole, &p, NULL, &whole_info);
  g_assert_cmpint (whole_info.tiles, ==, 1);
  p.tile = tile;
  dream (tiled, &p, NULL, info);
  const double psnr = colour_psnr (whole, tiled);
  g_test_message ("%d steps: %d tiles of %dx%d windows; tiled vs untiled PSNR %.2f dB (mean "
                  "difference %.3f grey levels, the dream moved pixels by %.2f)",
                  iterations, info->tiles, info->tile_width, info->tile_height, psnr,
                  colour_mad (whole, tiled), colour_mad (whole, image));
  return psnr;
}

static void
test_tiled (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 448, 320, 3, DD_PIXEL_FLOAT)))
    return;
  DdDreamInfo info;
  /* One step: how close the tiled gradient is. Windows start on the
   * layer's pixel grid, so only the margins' truncated context differs. */
  const double one_step = tiled_psnr (image, 1, 160, &info);
  g_assert_cmpint (info.tiles, >, 1);
  if (one_step < 55)
    g_test_fail_printf ("one tiled step differs from the untiled one: PSNR %.2f dB < 55", one_step);

  /* For scale: how far apart two untiled dreams of 10 steps end when their
   * inputs differ by 0.01 grey level. */
  g_autoptr (DdImage) a = image_copy (image);
  g_autoptr (DdImage) b = image_copy (image);
  for (int y = 0; y < b->height; y++)
    for (int x = 0; x < b->width; x++)
      image_set (b, x, y, 0, image_get (b, x, y, 0) + 0.01f);
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.iterations = 10;
  dream (a, &p, NULL, NULL);
  dream (b, &p, NULL, NULL);
  const double chaos = colour_psnr (a, b);
  g_test_message ("untiled, input moved by 0.01 grey level: PSNR %.2f dB after 10 steps", chaos);

  /* A ReLU network's input gradient jumps wherever a unit switches, so
   * after 10 steps any difference, tiling's or a 0.01 grey level nudge's,
   * has grown to about the same size: tiling must do no worse than that. */
  const double psnr = tiled_psnr (image, 10, 160, &info);
  if (psnr < chaos - 3)
    g_test_fail_printf ("tiled and untiled dreams differ: PSNR %.2f dB after 10 steps, worse "
                        "than an untiled dream nudged by 0.01 grey level (%.2f dB)",
                        psnr, chaos);
}

/* The phases a dream reports cover its whole run: each is non-negative,
 * the network's forward and backward are among them, and together they
 * add up to the time the call took, measured here, less only what the call
 * does before its first and after its last clock reading. Tiled, over two
 * octaves, so that every phase has its turn. */
static void
test_phases (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 448, 320, 3, DD_PIXEL_U8)))
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.octaves = 2;
  p.iterations = 2;
  p.jitter = 16;
  p.tile = 160;
  g_autoptr (GError) error = NULL;
  DdDreamInfo info;
  const gint64 start = g_get_monotonic_time ();
  gboolean ok = dd_dream_run (model, card, &p, NULL, image, NULL, NULL, NULL, &info, &error);
  const double wall = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (info.tiles, >, 1);
  g_assert_cmpint (info.steps, ==, info.octaves_run * p.iterations);
  double sum = 0;
  for (int k = 0; k < DD_N_PHASES; k++) {
    g_test_message ("%-10s %8.4f s", dd_dream_phase_name (k), info.seconds[k]);
    g_assert_nonnull (dd_dream_phase_name (k));
    g_assert_cmpfloat (info.seconds[k], >=, 0);
    sum += info.seconds[k];
  }
  g_assert_null (dd_dream_phase_name (DD_N_PHASES));
  g_test_message ("phases add up to %.4f s; the call took %.4f s", sum, wall);
  g_assert_cmpfloat (info.seconds[DD_PHASE_FORWARD], >, 0);
  g_assert_cmpfloat (info.seconds[DD_PHASE_BACKWARD], >, 0);
  /* The network takes most of a dream, even a small one. */
  g_assert_cmpfloat (info.seconds[DD_PHASE_FORWARD] + info.seconds[DD_PHASE_BACKWARD], >, sum / 2);
  g_assert_cmpfloat (sum, <=, wall + 1e-6);
  /* Slack for a preemption in those few instructions on a busy machine. */
  g_assert_cmpfloat (wall - sum, <=, 0.01 * wall + 0.02);
}

/* ---- 4. Seeds ---------------------------------------------------------------------- */

static void
test_seed (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 224, 160, 3, DD_PIXEL_FLOAT)))
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.octaves = 2;
  p.jitter = 32;
  p.seed = 1234;

  g_autoptr (DdImage) a = image_copy (image);
  g_autoptr (DdImage) b = image_copy (image);
  g_autoptr (DdImage) c = image_copy (image);
  DdDreamInfo info;
  dream (a, &p, NULL, &info);
  g_assert_cmpint (info.seed, ==, 1234);
  dream (b, &p, NULL, NULL);
  p.seed = 1235;
  dream (c, &p, NULL, NULL);
  const double other = colour_mad (a, c);
  g_test_message ("same seed: %s; seeds 1234 and 1235 differ by %.3f grey levels",
                  same_bytes (a, b) ? "identical" : "different", other);
  g_assert_true (same_bytes (a, b));
  g_assert_cmpfloat (other, >, 0.5);

  /* Seed -1 draws one and reports it; that seed gives the same dream. */
  g_autoptr (DdImage) d = image_copy (image);
  g_autoptr (DdImage) e = image_copy (image);
  p.seed = -1;
  dream (d, &p, NULL, &info);
  g_assert_cmpint (info.seed, >=, 0);
  p.seed = info.seed;
  dream (e, &p, NULL, NULL);
  g_assert_true (same_bytes (d, e));
}

/* ---- 5. Cancelling ----------------------------------------------------------------- */

typedef struct {
  GCancellable *cancellable;
  int calls;
} CancelState;

static void
cancel_after_first (double fraction, int octave, int n_octaves, int iteration, int n_iterations,
                    gpointer data)
{
  CancelState *s = data;
  (void) fraction, (void) octave, (void) n_octaves, (void) iteration, (void) n_iterations;
  s->calls++;
  g_cancellable_cancel (s->cancellable);
}

static void
test_cancel (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 224, 160, 3, DD_PIXEL_FLOAT)))
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.octaves = 2;

  CancelState state = { g_cancellable_new (), 0 };
  dream_fails (image, &p, cancel_after_first, &state, state.cancellable, DD_ERROR_CANCELLED, NULL);
  g_assert_cmpint (state.calls, ==, 1);
  g_object_unref (state.cancellable);

  /* Cancelled before it starts: no step at all. */
  state = (CancelState){ g_cancellable_new (), 0 };
  g_cancellable_cancel (state.cancellable);
  dream_fails (image, &p, cancel_after_first, &state, state.cancellable, DD_ERROR_CANCELLED, NULL);
  g_assert_cmpint (state.calls, ==, 0);
  g_object_unref (state.cancellable);
}

/* ---- 6. Refused parameters --------------------------------------------------------- */

/* Sets a numeric field to v, the int or double it holds. */
static void
set_number (DdDreamParams *p, const DdParamSpec *s, double v)
{
  if (s->type == DD_PARAM_INT)
    *(int *) ((char *) p + s->offset) = (int) v;
  else
    *(double *) ((char *) p + s->offset) = v;
}

/* p with one field out of range must be refused by validate and by a run. */
static void
check_refused (DdImage *image, DdDreamParams *p, const DdParamSpec *s, double v)
{
  g_autoptr (GError) error = NULL;
  g_auto (DdDreamParams) bad = { 0 };
  dd_dream_params_copy (&bad, p);
  set_number (&bad, s, v);
  g_assert_false (dd_dream_params_validate (&bad, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  if (!strstr (error->message, s->name))
    g_test_fail_printf ("%s = %g: the message '%s' does not name it", s->name, v, error->message);
  dream_fails (image, &bad, NULL, NULL, NULL, DD_ERROR_ARGUMENT, s->name);

  /* The same value as text. */
  g_autofree char *text = g_strdup_printf ("%.17g", v);
  g_autofree char *kept = dd_dream_param_get (p, s);
  g_clear_error (&error);
  g_assert_false (dd_dream_param_set (p, s, text, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, s->name));
  g_autofree char *after = dd_dream_param_get (p, s);
  g_assert_cmpstr (after, ==, kept);
}

static void
check_garbage (DdDreamParams *p, const DdParamSpec *s, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kept = dd_dream_param_get (p, s);
  g_assert_false (dd_dream_param_set (p, s, text, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, s->name));
  g_autofree char *after = dd_dream_param_get (p, s);
  g_assert_cmpstr (after, ==, kept);
}

/* A run with the layer, channel or class set to a bad value. */
static void
check_bad_target (DdImage *image, const char *layers, int channel, int class_index,
                  const char *needle)
{
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  set_string (&p.layers, layers);
  p.channel = channel;
  p.class_index = class_index;
  g_autoptr (GError) error = NULL;
  g_assert_true (dd_dream_params_validate (&p, &error));
  dream_fails (image, &p, NULL, NULL, NULL, DD_ERROR_ARGUMENT, needle);
}

/* The memory check refuses, from the size alone, what cannot fit the budget
 * even in the smallest tiles, and says how much it needs; what fits the
 * budget in tiles passes. */
static void
test_memory_check (void)
{
  if (!have_model ())
    return;
  g_auto (DdDreamParams) p = { 0 };
  dd_dream_params_init (&p);
  g_autoptr (GError) error = NULL;
  gsize need = 0;

  /* 20000x20000: 400 Mpx, 4.8 GB per float RGB copy. */
  g_assert_false (dd_dream_check (model, card, &p, 20000, 20000, 3, &need, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_MEMORY);
  g_test_message ("20000x20000: %s", error->message);
  g_assert_nonnull (strstr (error->message, "20000x20000"));
  g_assert_nonnull (strstr (error->message, "needs at least"));
  g_assert_nonnull (strstr (error->message, "budget is 900 MB"));
  g_assert_cmpuint (need, >, (gsize) 2 * 20000 * 20000 * 3 * sizeof (float));
  g_clear_error (&error);

  /* The same job given the memory it asked for passes. */
  p.memory_mb = (int) (need >> 20) + 1;
  g_assert_true (dd_dream_check (model, card, &p, 20000, 20000, 3, NULL, &error));
  g_assert_no_error (error);

  /* A 6000x4000 photo fits the default budget in tiles; grey needs less. */
  p.memory_mb = 0;
  gsize grey = 0;
  g_assert_true (dd_dream_check (model, card, &p, 6000, 4000, 3, &need, &error));
  g_assert_true (dd_dream_check (model, card, &p, 6000, 4000, 1, &grey, &error));
  g_assert_no_error (error);
  g_test_message ("6000x4000 needs at least %zu MB (grey %zu MB)", need >> 20, grey >> 20);
  g_assert_cmpuint (need, <=, (gsize) 900 << 20);
  g_assert_cmpuint (grey, <, need);

  /* Sizes and layers are checked as a run would. */
  g_assert_false (dd_dream_check (model, card, &p, 0, 100, 3, NULL, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dd_dream_check (model, card, &p, 2, 2, 3, NULL, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "needs at least"));
  g_clear_error (&error);

  /* A run under a budget too small for even one tile fails before it
   * starts, the image untouched. */
  g_autoptr (DdImage) image = image_new (SKY, 320, 240, 3, DD_PIXEL_U8);
  dd_dream_params_clear (&p);
  small_params (&p);
  p.memory_mb = 1;
  dream_fails (image, &p, NULL, NULL, NULL, DD_ERROR_MEMORY, "the memory budget is 1 MB");
}

static void
test_bad_params (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 64, 48, 3, DD_PIXEL_FLOAT)))
    return;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  int n_specs, checked = 0;
  const DdParamSpec *specs = dd_dream_param_specs (&n_specs);
  for (int i = 0; i < n_specs; i++) {
    const DdParamSpec *s = &specs[i];
    if (s->type == DD_PARAM_INT || s->type == DD_PARAM_DOUBLE) {
      const double below = s->type == DD_PARAM_INT ? s->min - 1 : s->min - 0.01;
      const double above = s->type == DD_PARAM_INT ? s->max + 1 : s->max + 0.01;
      check_refused (image, &p, s, below);
      if (above <= G_MAXINT || s->type == DD_PARAM_DOUBLE)
        check_refused (image, &p, s, above);
      else
        g_test_message ("%s: its maximum %g is the largest int", s->name, s->max);
      checked++;
    }
    if (s->type != DD_PARAM_STRING) {
      check_garbage (&p, s, "abc");
      check_garbage (&p, s, "1.5x");
      check_garbage (&p, s, "");
    }
  }
  g_test_message ("%d numeric parameters refused below and above their ranges", checked);
  g_assert_cmpint (checked, >=, 10);

  const DdParamSpec *scale = dd_dream_param_find ("octave-scale");
  g_assert_nonnull (scale);
  check_refused (image, &p, scale, 1.0);

  check_bad_target (image, "inception_9z/output", -1, -1, "inception_9z/output");
  check_bad_target (image, "inception_4c_1x1_weights", -1, -1, "inception_4c_1x1_weights");
  check_bad_target (image, LAYER ",data", -1, -1, "data");
  check_bad_target (image, LAYER ":x2", -1, -1, "layers");
  check_bad_target (image, LAYER, 512, -1, "channel");
  check_bad_target (image, "inception_3b/output", 480, -1, "channel");
  check_bad_target (image, "", -1, 1000, "class");
}

/* ---- 7, 8. Alpha, grey, 8-bit ------------------------------------------------------ */

/* Dreams a sky of that layout; checks the colour moved, alpha and row
 * padding did not. */
static void
check_layout (int channels, DdPixelType type)
{
  g_autoptr (DdImage) image = image_new (SKY, 224, 160, channels, type);
  g_autoptr (DdImage) before = image_copy (image);
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  dream (image, &p, NULL, NULL);
  const double change = colour_mad (image, before);
  g_test_message ("%d channels, %s: colour moved by %.2f grey levels", channels,
                  type == DD_PIXEL_U8 ? "8-bit" : "float", change);
  g_assert_cmpfloat (change, >, 1);
  if (channels % 2 == 0)
    g_assert_true (same_alpha (image, before));
  g_assert_true (padding_intact (image));
}

static void
test_alpha (void)
{
  if (!have_model ())
    return;
  check_layout (4, DD_PIXEL_FLOAT);
  check_layout (4, DD_PIXEL_U8);
}

static void
test_grey (void)
{
  if (!have_model ())
    return;
  check_layout (1, DD_PIXEL_FLOAT);
  check_layout (2, DD_PIXEL_FLOAT);
  check_layout (2, DD_PIXEL_U8);
  check_layout (3, DD_PIXEL_U8);
}

/* NaN, infinities and out-of-range values in a float image: the dream runs
 * and every output pixel is a finite value in 0..1 (0..255 here). */
static void
test_non_finite_pixels (void)
{
  g_autoptr (DdImage) image = NULL;
  if (!have_model () || !(image = image_new (SKY, 224, 160, 3, DD_PIXEL_FLOAT)))
    return;
  /* In grey levels, as image_set takes them: 5.0 and -3.0 as floats. */
  const float hostile[] = { NAN, INFINITY, -INFINITY, 5 * 255.0f, -3 * 255.0f };
  for (int i = 0; i < 200; i++)
    image_set (image, (i * 37) % image->width, (i * 11) % image->height, i % 3,
               hostile[i % G_N_ELEMENTS (hostile)]);
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  dream (image, &p, NULL, NULL);
  for (int y = 0; y < image->height; y++)
    for (int x = 0; x < image->width; x++)
      for (int c = 0; c < 3; c++) {
        float v = image_get (image, x, y, c);
        if (!isfinite (v) || v < 0 || v > 255)
          g_test_fail_printf ("pixel (%d, %d) channel %d is %g after the dream", x, y, c, v);
      }
}

/* ---- 9. Variants of the objective -------------------------------------------------- */

static void
test_variants (void)
{
  g_autoptr (DdImage) image = NULL;
  g_autoptr (DdImage) guide = NULL;
  if (!have_model () || !(image = image_new (SKY, 224, 160, 3, DD_PIXEL_FLOAT)) ||
      !(guide = image_new (FLOWERS, 320, 240, 3, DD_PIXEL_FLOAT)))
    return;
  enum { BASE, TWO_LAYERS, CHANNEL, GUIDE, LAPLACIAN, N_VARIANTS };
  const char *names[] = { "baseline", "two layers", "channel 10", "guide", "laplacian 4" };
  DdImage *out[N_VARIANTS];
  for (int v = 0; v < N_VARIANTS; v++) {
    g_auto (DdDreamParams) p = { 0 };
    small_params (&p);
    p.iterations = 5;
    if (v == TWO_LAYERS)
      set_string (&p.layers, LAYER ",inception_3b/output:0.5");
    p.channel = v == CHANNEL ? 10 : -1;
    p.laplacian = v == LAPLACIAN ? 4 : 0;
    out[v] = image_copy (image);
    dream (out[v], &p, v == GUIDE ? guide : NULL, NULL);
  }
  for (int v = 0; v < N_VARIANTS; v++)
    for (int w = 0; w < v; w++) {
      const double mad = colour_mad (out[v], out[w]);
      g_test_message ("%s vs %s: %.3f grey levels", names[v], names[w], mad);
      if (mad < 0.5)
        g_test_fail_printf ("%s and %s dream alike (%.3f grey levels apart)", names[v], names[w],
                            mad);
    }

  /* The one-channel dream raises its channel more than the layer as a whole. */
  const double c_before = mean_activation (image, LAYER, 10);
  const double c_after = mean_activation (out[CHANNEL], LAYER, 10);
  const double all_before = mean_activation (image, LAYER, -1);
  const double all_after = mean_activation (out[CHANNEL], LAYER, -1);
  g_test_message ("channel 10: mean %.4g -> %.4g; all channels: %.4g -> %.4g", c_before, c_after,
                  all_before, all_after);
  g_assert_cmpfloat (c_after - c_before, >, all_after - all_before);
  g_assert_cmpfloat (c_after / c_before, >, all_after / all_before);

  /* The two-layer dream raises inception_3b/output more than the baseline. */
  const double b_base = objective (out[BASE], "inception_3b/output");
  const double b_two = objective (out[TWO_LAYERS], "inception_3b/output");
  g_test_message ("inception_3b/output objective: baseline %.6g, two layers %.6g", b_base, b_two);
  g_assert_cmpfloat (b_two, >, b_base);

  for (int v = 0; v < N_VARIANTS; v++)
    image_free (out[v]);
}

/* ---- 10. Class visualisation ------------------------------------------------------- */

#define CLASS_INDEX 309 /* bee */

static void
check_class (DdStart start, int iterations)
{
  g_autoptr (DdImage) image = image_new (SKY, 224, 224, 3, DD_PIXEL_FLOAT);
  int best;
  float best_prob;
  g_auto (DdDreamParams) p = { 0 };
  small_params (&p);
  p.class_index = CLASS_INDEX;
  p.iterations = iterations;
  p.start = start;
  p.jitter = 8;
  if (start == DD_START_IMAGE)
    class_rank (image, CLASS_INDEX, &best, &best_prob);
  dream (image, &p, NULL, NULL);
  const int rank = class_rank (image, CLASS_INDEX, &best, &best_prob);
  if (rank != 1)
    g_test_fail_printf ("start %s, %d steps: class %d ranks %d; %d is first (p = %.3f)",
                        start == DD_START_NOISE ? "noise" : "image", iterations, CLASS_INDEX, rank,
                        best, best_prob);
}

static void
test_class (void)
{
  if (!have_model ())
    return;
  check_class (DD_START_IMAGE, 100);
  check_class (DD_START_NOISE, 50);
}

/* What a class picture looks like in figures: the class's probability
 * with the picture resized to the classifier's 224x224, the RMS contrast
 * of its luma, and its colourfulness (Hasler and Suesstrunk's M: spread
 * and mean of the opponent channels R-G and (R+G)/2-B), all in 0..255
 * units. */
typedef struct {
  double prob, contrast, colourfulness;
} Looks;

static Looks
looks_of (const DdImage *im, int class_index)
{
  Looks l = { 0 };
  const gsize plane = (gsize) im->width * im->height;
  g_autofree float *rgb = g_new (float, plane * 3);
  g_autoptr (DdImage) small = image_alloc (224, 224, 3, DD_PIXEL_FLOAT);
  g_autofree float *rgb_small = g_new (float, 224 * 224 * 3);
  double sum[3] = { 0 }, sq[3] = { 0 }; /* luma, rg, yb */
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) {
      const gsize i = (gsize) y * im->width + x;
      const float r = image_get (im, x, y, 0), g = image_get (im, x, y, 1),
                  b = image_get (im, x, y, 2);
      const double v[3] = { 0.2126 * r + 0.7152 * g + 0.0722 * b, r - g, 0.5 * (r + g) - b };
      for (int k = 0; k < 3; k++) {
        sum[k] += v[k];
        sq[k] += v[k] * v[k];
      }
      rgb[i] = r;
      rgb[plane + i] = g;
      rgb[2 * plane + i] = b;
    }
  double mean[3], var[3];
  for (int k = 0; k < 3; k++) {
    mean[k] = sum[k] / plane;
    var[k] = MAX (sq[k] / plane - mean[k] * mean[k], 0);
  }
  l.contrast = sqrt (var[0]);
  l.colourfulness = sqrt (var[1] + var[2]) + 0.3 * sqrt (mean[1] * mean[1] + mean[2] * mean[2]);
  dd_resize_bilinear (rgb, im->width, im->height, rgb_small, 224, 224, 3);
  for (int y = 0; y < 224; y++)
    for (int x = 0; x < 224; x++)
      for (int c = 0; c < 3; c++)
        image_set (small, x, y, c, rgb_small[c * 224 * 224 + y * 224 + x]);
  g_autoptr (DdPlan) plan = forward (small, "prob");
  l.prob = dd_plan_get_target (plan, 0, NULL)[class_index];
  return l;
}

/* The class preset's picture against a class drawn the plain way (OLD_:
 * tiles covering the image every step, a steady step and blur), in as
 * many network passes: 15 steps of 4 tiles at 320x240 from noise
 * (--class 309 --start noise --octaves 1, seed 3) gave p = 0.903,
 * contrast 2.1 and colourfulness 3.7, a grey haze. The preset's picture
 * must be surer of the class and at least three times as contrasted and
 * colourful. */
#define OLD_PROB 0.903
#define OLD_CONTRAST 2.1
#define OLD_COLOURFULNESS 3.7

/* The classifier's p after a run this short hangs on every rounding on the
 * way: summing one layer's gradients in another order took seed 3 from
 * 0.998 to 0.65, and seeds 3, 4, 5 gave 0.947, 0.750, 0.992 with one
 * build. So the median of three seeds is judged, against the old way's p
 * rather than a fixed 0.95. */
static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
test_class_preset (void)
{
#if defined(__SANITIZE_ADDRESS__)
  /* What it judges is the pictures' looks; the class path's memory is
   * checked by the other class tests, and one seed under the sanitizers
   * took 38 s. */
  g_test_skip ("judges looks, not memory: not under AddressSanitizer");
  return;
#endif
  if (!have_model ())
    return;
  g_auto (DdDreamParams) p = { 0 };
  g_autoptr (GError) error = NULL;
  dd_dream_params_init (&p);
  g_assert_true (dd_dream_params_apply_preset (&p, card, "class", &error));
  g_assert_cmpint (p.class_index, >=, 0);
  /* Fewer steps than the preset's, for the test's time; 320x240 gives
   * two octaves, so 60 network passes in all. */
  p.iterations = 30;
  double probs[3], contrasts[3], colours[3];
  for (int i = 0; i < 3; i++) {
    g_autoptr (DdImage) image = image_new (SKY, 320, 240, 3, DD_PIXEL_U8);
    if (!image)
      return;
    p.seed = 3 + i;
    gint64 start = g_get_monotonic_time ();
    dream (image, &p, NULL, NULL);
    const double seconds = (g_get_monotonic_time () - start) / 1e6;
    const Looks looks = looks_of (image, p.class_index);
    g_test_message ("class %d, seed %u, %d steps in %.1f s: p = %.4f, contrast %.1f, "
                    "colourfulness %.1f",
                    p.class_index, p.seed, 2 * p.iterations, seconds, looks.prob, looks.contrast,
                    looks.colourfulness);
    probs[i] = looks.prob;
    contrasts[i] = looks.contrast;
    colours[i] = looks.colourfulness;
  }
  qsort (probs, 3, sizeof *probs, compare_doubles);
  qsort (contrasts, 3, sizeof *contrasts, compare_doubles);
  qsort (colours, 3, sizeof *colours, compare_doubles);
  const Looks l = { .prob = probs[1], .contrast = contrasts[1], .colourfulness = colours[1] };
  g_test_message ("before: p = %.4f, contrast %.1f, colourfulness %.1f", OLD_PROB, OLD_CONTRAST,
                  OLD_COLOURFULNESS);
  if (l.prob <= OLD_PROB)
    g_test_fail_printf ("class %d has a median p = %.4f only (before: %.3f)", p.class_index, l.prob,
                        OLD_PROB);
  if (l.contrast < 3 * OLD_CONTRAST || l.colourfulness < 3 * OLD_COLOURFULNESS)
    g_test_fail_printf (
        "contrast %.1f and colourfulness %.1f: not three times the old %.1f and %.1f", l.contrast,
        l.colourfulness, OLD_CONTRAST, OLD_COLOURFULNESS);
}

/* ---- 11. The model card ------------------------------------------------------------ */

static void
test_card (void)
{
  g_autofree char *onnx = tu_shared_path ("models/bvlc_googlenet/bvlc_googlenet.onnx");
  if (!onnx || !have_model ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModelCard) c = dd_model_card_find ("googlenet", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "googlenet");
  g_assert_true (c->bgr);
  g_assert_false (c->assumed);
  g_assert_cmpfloat (c->range, ==, 255);
  const float mean[3] = { 104, 117, 123 };
  for (int i = 0; i < 3; i++) {
    g_assert_cmpfloat (c->mean[i], ==, mean[i]);
    g_assert_cmpfloat (c->std[i], ==, 1);
  }
  g_assert_cmpstr (c->default_layer, ==, LAYER);
  g_assert_cmpstr (c->classifier, ==, "loss3/classifier");
  g_assert_cmpint (c->classifier_size, ==, 224);
  g_assert_true (g_path_is_absolute (c->file));
  g_assert_true (g_file_test (c->file, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_strv_contains ((const char *const *) c->layers, "inception_3b/5x5_reduce"));
  g_assert_cmpstr (c->layers[0], ==, LAYER);
  g_assert_cmpuint (g_strv_length (c->layers), ==, g_strv_length (c->descriptions));

  /* By file, through its sha256. */
  g_autoptr (DdModelCard) by_file = dd_model_card_find (onnx, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_file->name, ==, "googlenet");
  g_assert_cmpstr (by_file->file, ==, onnx);
  g_assert_false (by_file->assumed);

  g_auto (GStrv) installed = dd_model_card_list_installed ();
  g_assert_true (g_strv_contains ((const char *const *) installed, "googlenet"));

  /* Unknown names and files. */
  g_autoptr (DdModelCard) unknown = dd_model_card_find ("no-such-net", &error);
  g_assert_null (unknown);
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no-such-net"));
  g_clear_error (&error);
  g_autoptr (DdModelCard) missing = dd_model_card_find ("/nonexistent/net.onnx", &error);
  g_assert_null (missing);
  g_assert_error (error, DD_ERROR, DD_ERROR_IO);
  g_clear_error (&error);
  g_autoptr (DdModel) none = dd_model_open ("no-such-net", NULL, &error);
  g_assert_null (none);
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_clear_error (&error);

  /* A model no card describes gets assumed ImageNet preprocessing. */
  g_autoptr (TuModel) tiny = tu_model_new (11);
  const int64_t dims[] = { 1, 3, -1, -1 };
  tu_model_set_input (tiny, "x", 4, dims);
  tu_model_add_node (tiny, "Relu", "relu", "x", "y", NULL);
  tu_model_add_output (tiny, "y");
  g_autoptr (GBytes) bytes = tu_model_pack (tiny);
  g_autofree char *dir = g_dir_make_tmp ("test-dream-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "tiny.onnx", NULL);
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_assert_true (g_file_set_contents (path, data, size, &error));
  g_autoptr (DdModelCard) assumed = dd_model_card_find (path, &error);
  g_assert_no_error (error);
  g_assert_true (assumed->assumed);
  g_assert_false (assumed->bgr);
  g_assert_cmpfloat (assumed->range, ==, 1);
  g_assert_null (assumed->default_layer);
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);

  /* Bare conv names mean their pre-ReLU tensor; other names stay. */
  const char *const names[][2] = {
    { "inception_3b/5x5_reduce", "inception_3b/5x5_reduce_preact" },
    { "conv2/3x3", "conv2/3x3_preact" },
    { LAYER, LAYER },
    { "inception_3b/5x5_reduce_preact", "inception_3b/5x5_reduce_preact" },
    { "no-such-layer", "no-such-layer" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *resolved = dd_model_card_resolve_layer (c, model, names[i][0]);
    g_assert_cmpstr (resolved, ==, names[i][1]);
  }
}

/* A card in folder from its [Model] lines (each "Key=Value"). */
static char *
write_card (const char *folder, const char *name, const char *const *lines)
{
  g_autofree char *file_name = g_strconcat (name, ".card", NULL);
  char *path = g_build_filename (folder, file_name, NULL);
  g_autofree char *body = g_strjoinv ("\n", (char **) lines);
  g_autofree char *text = g_strconcat ("[Model]\n", body, "\n", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* Card values that would dream black or NaN pictures, or that a careless
 * edit makes: refused when read, naming the card and the key, also when
 * the card is looked up by name. */
static void
test_card_bad_values (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("test-card-XXXXXX", &error);
  g_assert_no_error (error);
  const char *const bad[][2] = {
    { "Mean=104,117,123", "Mean=104,117,123: needs three numbers separated by ';'" },
    { "Mean=1e308;0;0", "Mean=1e308;0;0: each must be in -255..255" },
    { "Mean=nan;0;0", "Mean=nan;0;0: each must be in" },
    { "Std=-1;1;1", "Std=-1;1;1: each must be in" },
    { "Std=0;1;1", "Std=0;1;1: each must be in" },
    { "Std=nan;1;1", "Std=nan;1;1: each must be in" },
    { "Std=1;1", "Std=1;1: needs three numbers" },
    { "Range=0", "Range=0: must be above 0" },
    { "Range=nan", "Range=nan: not a finite number" },
    { "Range=1e30", "Range=1e30: must be above 0 and at most 65535" },
    { "Range=abc", "Range=abc: not a finite number" },
    { "ClassifierSize=-3", "ClassifierSize=-3: must be a whole number" },
    { "Sha256=xyz", "Sha256=xyz: needs 64 hexadecimal digits" },
  };
  g_autofree char *old_path = g_strdup (g_getenv ("DEEPDREAM_MODEL_PATH"));
  g_setenv ("DEEPDREAM_MODEL_PATH", folder, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    const char *lines[] = { "Name=badcard", "File=bad.onnx", "DefaultLayer=y", bad[i][0], NULL };
    g_autofree char *path = write_card (folder, "badcard", lines);
    g_autoptr (DdModelCard) c = dd_model_card_load (path, &error);
    g_assert_null (c);
    g_assert_error (error, DD_ERROR, DD_ERROR_INVALID);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, bad[i][1]));
    g_clear_error (&error);
    g_autoptr (DdModelCard) by_name = dd_model_card_find ("badcard", &error);
    g_assert_null (by_name);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, bad[i][1]));
    g_clear_error (&error);
    g_remove (path);
  }
  g_setenv ("DEEPDREAM_MODEL_PATH", old_path, TRUE);
  g_rmdir (folder);
}

/* A tiny model, a Relu or a Sigmoid, saved as path. */
static void
save_tiny_model (const char *path, const char *op)
{
  g_autoptr (TuModel) tiny = tu_model_new (11);
  const int64_t dims[] = { 1, 3, -1, -1 };
  tu_model_set_input (tiny, "x", 4, dims);
  tu_model_add_node (tiny, op, "act", "x", "y", NULL);
  tu_model_add_output (tiny, "y");
  g_autoptr (GBytes) bytes = tu_model_pack (tiny);
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_assert_true (g_file_set_contents (path, data, (gssize) size, NULL));
}

/* The card's Sha256 is checked whenever the model loads, from a cache
 * while the file's size and time are unchanged. */
static void
test_card_checksum (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("test-card-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *onnx = g_build_filename (folder, "tiny.onnx", NULL);
  save_tiny_model (onnx, "Relu");
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (onnx, &data, &size, NULL));
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, size);
  g_autofree char *sha_line = g_strconcat ("Sha256=", sum, NULL);
  const char *lines[] = { "Name=tiny", "File=tiny.onnx", "DefaultLayer=y", sha_line, NULL };
  g_autofree char *card_path = write_card (folder, "tiny", lines);
  g_autofree char *old_path = g_strdup (g_getenv ("DEEPDREAM_MODEL_PATH"));
  g_setenv ("DEEPDREAM_MODEL_PATH", folder, TRUE);

  g_autoptr (DdModel) good = dd_model_open ("tiny", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (good);

  /* The cache holds the sum: a sum put there for the same size and time
   * is believed (which shows that the file is not hashed again). */
  g_autofree char *cache =
      g_build_filename (g_get_user_cache_dir (), "gimp-deepdream", "checksums", NULL);
  g_autofree char *cached = NULL;
  g_assert_true (g_file_get_contents (cache, &cached, NULL, NULL));
  g_assert_nonnull (strstr (cached, sum));
  g_autofree char *forged = g_strdup (cached);
  memset (strstr (forged, sum), '0', 64);
  g_assert_true (g_file_set_contents (cache, forged, -1, NULL));
  g_autoptr (DdModel) believed = dd_model_open ("tiny", NULL, &error);
  g_assert_null (believed);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "is not the one its card describes"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (cache, cached, -1, NULL));

  /* Another model under the card's file name. */
  save_tiny_model (onnx, "Sigmoid");
  g_autoptr (DdModel) replaced = dd_model_open ("tiny", NULL, &error);
  g_assert_null (replaced);
  g_assert_error (error, DD_ERROR, DD_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "model 'tiny': the file"));
  g_assert_nonnull (strstr (error->message, "install it again with models/fetch tiny"));
  g_clear_error (&error);

  g_setenv ("DEEPDREAM_MODEL_PATH", old_path, TRUE);
  g_remove (onnx);
  g_remove (card_path);
  g_rmdir (folder);
}

/* ---- 12. Results that would be silently wrong ---------------------------------------- */

/* x -> Conv 1x1 (every weight w, bias b) -> Relu -> y, with a card. */
static DdModel *
make_scaling_model (float w, float b, DdModelCard **card_out)
{
  static const int64_t input_dims[] = { 1, 3, -1, -1 };
  static const int64_t weight_dims[] = { 3, 3, 1, 1 };
  static const int64_t bias_dims[] = { 3 };
  const float weights[9] = { w, w, w, w, w, w, w, w, w }, bias[3] = { b, b, b };
  g_autoptr (TuModel) m = tu_model_new (11);
  tu_model_set_input (m, "x", 4, input_dims);
  tu_model_add_initializer (m, "w", 4, weight_dims, weights);
  tu_model_add_initializer (m, "b", 1, bias_dims, bias);
  tu_model_add_node (m, "Conv", "scale", "x,w,b", "z", "kernel_shape=[1,1]");
  tu_model_add_node (m, "Relu", "relu", "z", "y", NULL);
  tu_model_add_output (m, "y");
  g_autoptr (GBytes) bytes = tu_model_pack (m);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autoptr (GError) error = NULL;
  DdModel *model_out = dd_model_new_from_data (data, size, &error);
  g_assert_no_error (error);
  DdModelCard *c = g_new0 (DdModelCard, 1);
  c->name = g_strdup ("scaling");
  c->file = g_strdup ("scaling.onnx");
  c->default_layer = g_strdup ("y");
  c->range = 255;
  c->std[0] = c->std[1] = c->std[2] = 1;
  c->layers = g_new0 (char *, 1);
  c->descriptions = g_new0 (char *, 1);
  *card_out = c;
  return model_out;
}

/* A layer that gives nothing (every activation 0: a dead channel) and one
 * whose gradient overflows: the run stops with the reason, the image as it
 * was, rather than return it unchanged or black. */
static void
test_silently_wrong (void)
{
  const struct {
    float w, b;
    const char *needle;
  } cases[] = {
    { 1, -1000, "the dream's gradient is zero at step 1: y gives nothing" },
    { 1e30f, 0, "the dream's gradient is not finite at step 1" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (DdModelCard) c = NULL;
    g_autoptr (DdModel) m = make_scaling_model (cases[i].w, cases[i].b, &c);
    g_autoptr (DdImage) im = image_alloc (32, 24, 3, DD_PIXEL_U8);
    for (int y = 0; y < im->height; y++)
      for (int x = 0; x < im->width; x++)
        for (int k = 0; k < 3; k++)
          image_set (im, x, y, k, (float) ((x * 7 + y * 3 + k * 50) % 256));
    g_autoptr (DdImage) before = image_copy (im);
    DdDreamParams p;
    dd_dream_params_init (&p);
    p.octaves = 1;
    p.iterations = 2;
    g_autoptr (GError) error = NULL;
    DdDreamInfo info;
    g_assert_false (dd_dream_run (m, c, &p, NULL, im, NULL, NULL, NULL, &info, &error));
    dd_dream_params_clear (&p);
    g_assert_error (error, DD_ERROR, DD_ERROR_INVALID);
    g_test_message ("refused: %s", error ? error->message : "");
    if (error && !strstr (error->message, cases[i].needle))
      g_test_fail_printf ("the message '%s' does not say '%s'", error->message, cases[i].needle);
    g_assert_true (same_bytes (im, before));
  }
}

/* ---- Keeping the source's colours -------------------------------------------------- */

/* CIE Lab of every pixel of an RGB image, interleaved, row after row. */
static float *
to_lab (const DdImage *im)
{
  float *lab = g_new (float, (gsize) im->width * im->height * 3);
  const Babl *rgb = babl_format (im->type == DD_PIXEL_U8 ? "R'G'B' u8" : "R'G'B' float");
  const Babl *fish = babl_fish (rgb, babl_format ("CIE Lab float"));
  for (int y = 0; y < im->height; y++)
    babl_process (fish, (const char *) im->pixels + (gsize) y * im->stride,
                  lab + (gsize) y * im->width * 3, im->width);
  return lab;
}

/* The result's a and b (hue and chroma) are the source's; its lightness
 * is the plain dream's, or lies between the source's and the dream's where
 * the dream's lightness would leave the gamut with that colour. */
static void
test_keep_colours (void)
{
  g_autoptr (DdImage) source = image_new (FLOWERS, 160, 120, 3, DD_PIXEL_FLOAT);
  if (!source || !have_model ())
    return;
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.step_size = 4; /* lightness changes well past rounding */
  g_autoptr (DdImage) plain = image_copy (source);
  dream (plain, &p, NULL, NULL);
  p.colours = DD_COLOURS_SOURCE;
  g_autoptr (DdImage) kept = image_copy (source);
  dream (kept, &p, NULL, NULL);
  g_assert_true (padding_intact (kept));

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
  g_autoptr (DdImage) source = image_new (FLOWERS, 160, 120, 3, DD_PIXEL_U8);
  g_autoptr (DdImage) grey = image_new (FLOWERS, 160, 120, 1, DD_PIXEL_U8);
  if (!source || !have_model ())
    return;
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.colours = DD_COLOURS_SOURCE;
  g_autoptr (DdImage) kept = image_copy (source);
  dream (kept, &p, NULL, NULL);
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

  g_autoptr (DdImage) grey_kept = image_copy (grey);
  dream (grey_kept, &p, NULL, NULL);
  p.colours = DD_COLOURS_DREAM;
  dream (grey, &p, NULL, NULL);
  g_assert_true (same_bytes (grey, grey_kept));
}

/* ---- Seamless dreams ------------------------------------------------------------------ */

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
  const double var_a = saa / n - sa * sa / (n * n), var_b = sbb / n - sb * sb / (n * n);
  return 1 - cov / sqrt (MAX (var_a * var_b, 1e-12));
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
 * of its own. NULL without shared data. */
static DdImage *
periodic_flowers (void)
{
  g_autoptr (DdImage) half = image_new (FLOWERS, 96, 72, 3, DD_PIXEL_FLOAT);
  if (!half)
    return NULL;
  const int w = 2 * half->width, h = 2 * half->height;
  DdImage *im = image_alloc (w, h, 3, DD_PIXEL_FLOAT);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int sx = x < half->width ? x : w - 1 - x, sy = y < half->height ? y : h - 1 - y;
      for (int c = 0; c < 3; c++)
        image_set (im, x, y, c, image_get (half, sx, sy, c));
    }
  return im;
}

/* The seam z-scores, among columns and among rows, of what a dream of a
 * periodic source added to it: with seamless, the network never met an
 * edge, across octaves, jitter, tiles and Laplacian bands alike. */
static void
check_seams (const DdImage *source, gboolean seamless, int jitter, int laplacian, double *z_cols,
             double *z_rows)
{
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.octaves = 2;
  p.iterations = 5;
  p.jitter = jitter;
  p.tile = 96;
  p.seamless = seamless;
  p.laplacian = laplacian;
  dream (im, &p, NULL, NULL);
  const int w = im->width, h = im->height;
  const gsize plane = (gsize) w * h;
  g_autofree float *change = g_new (float, plane * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        change[c * plane + (gsize) y * w + x] =
            image_get (im, x, y, c) - image_get (source, x, y, c);
  double rank_cols, rank_rows;
  *z_cols = seam_score (change, w, h, FALSE, &rank_cols);
  *z_rows = seam_score (change, w, h, TRUE, &rank_rows);
  g_test_message ("seamless=%d, jitter %d, laplacian %d: seam z-score of the change %.2f among "
                  "columns (%.0f %% of pairs step less), %.2f among rows (%.0f %%)",
                  seamless, jitter, laplacian, *z_cols, 100 * rank_cols, *z_rows, 100 * rank_rows);
}

static void
test_seamless (void)
{
  g_autoptr (DdImage) source = periodic_flowers ();
  if (!source || !have_model ())
    return;
  double z_cols, z_rows;
  /* Two standard deviations: one pair in forty steps that much. */
  for (int jitter = 0; jitter <= 32; jitter += 32) {
    check_seams (source, TRUE, jitter, 0, &z_cols, &z_rows);
    g_assert_cmpfloat (z_cols, <, 2);
    g_assert_cmpfloat (z_rows, <, 2);
  }
  check_seams (source, TRUE, 0, 4, &z_cols, &z_rows);
  g_assert_cmpfloat (z_cols, <, 2);
  g_assert_cmpfloat (z_rows, <, 2);
  /* The test can fail: without the roll of the jitter to hide them, the
   * image's edges leave a seam in a plain dream. */
  check_seams (source, FALSE, 0, 0, &z_cols, &z_rows);
  g_assert_cmpfloat (MAX (z_cols, z_rows), >, 2);
}

/* ---- Strength maps -------------------------------------------------------------------- */

/* Three vertical bands: 0, half and full strength. */
static DdImage *
band_mask (int width, int height, DdPixelType type)
{
  DdImage *mask = image_alloc (width, height, 1, type);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      image_set (mask, x, y, 0, x < width / 3 ? 0 : x < 2 * width / 3 ? 127.5f : 255);
  return mask;
}

/* Mean absolute change of the colour channels in columns [x0, x1). */
static double
band_change (const DdImage *a, const DdImage *b, int x0, int x1)
{
  double sum = 0;
  for (int y = 0; y < a->height; y++)
    for (int x = x0; x < x1; x++)
      for (int c = 0; c < 3; c++)
        sum += fabs (image_get (a, x, y, c) - image_get (b, x, y, c));
  return sum / ((double) a->height * (x1 - x0) * 3);
}

static void
check_mask (DdPixelType type)
{
  g_autoptr (DdImage) source = image_new (FLOWERS, 192, 144, 3, type);
  g_autoptr (DdImage) mask = band_mask (source->width, source->height, type);
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  p.octaves = 3;
  p.iterations = 4;
  p.jitter = 32;
  dream_masked (im, &p, NULL, mask, NULL);
  g_assert_true (padding_intact (im));
  const int w = source->width, third = w / 3;
  /* Bit for bit where the map is black, row by row. */
  const gsize black_bytes = (gsize) third * 3 * sample_size (source);
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
  g_autofree char *data = tu_shared_path (FLOWERS);
  if (!data || !have_model ())
    return;
  check_mask (DD_PIXEL_U8);
  check_mask (DD_PIXEL_FLOAT);
}

/* A float map's NaN counts as black and its infinities as the ends of the
 * range; a map of another size is refused. */
static void
test_mask_hostile (void)
{
  g_autoptr (DdImage) source = image_new (FLOWERS, 160, 120, 3, DD_PIXEL_U8);
  if (!source || !have_model ())
    return;
  g_autoptr (DdImage) mask = image_alloc (160, 120, 1, DD_PIXEL_FLOAT);
  const float odd[] = { NAN, -INFINITY, INFINITY, 1e30f };
  for (int y = 0; y < 120; y++)
    for (int x = 0; x < 160; x++)
      ((float *) ((char *) mask->pixels + y * mask->stride))[x] = odd[x * 4 / 160];
  g_autoptr (DdImage) im = image_copy (source);
  g_auto (DdDreamParams) p;
  small_params (&p);
  dream_masked (im, &p, NULL, mask, NULL);
  for (int y = 0; y < 120; y++)
    g_assert_cmpmem ((char *) source->pixels + y * source->stride, 80 * 3,
                     (char *) im->pixels + y * im->stride, 80 * 3);
  g_assert_cmpfloat (band_change (source, im, 80, 160), >, 1);

  g_autoptr (DdImage) small = band_mask (100, 80, DD_PIXEL_U8);
  g_autoptr (DdImage) before = image_copy (im);
  g_autoptr (GError) error = NULL;
  g_assert_false (
      dd_dream_run_masked (model, card, &p, NULL, small, im, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "mask: it is 100x80 but the image is 160x120"));
  g_assert_true (same_bytes (im, before));
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
  g_autofree char *dir = g_dir_make_tmp ("test-dream-XXXXXX", NULL);
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

/* A user's preset: saved with the look of the parameters, listed after
 * the card's, applied like them, replaced by a save of the same name; a
 * card's own name, a bad name and another model's preset are refused, and
 * a presets file that cannot be read is not overwritten. */
static void
test_presets_user (void)
{
  if (!have_model ())
    return;
  g_autoptr (GError) error = NULL;
  g_auto (DdDreamParams) mine;
  dd_dream_params_init (&mine);
  dd_dream_param_set (&mine, dd_dream_param_find ("layers"), "inception_3a/output", NULL);
  mine.octaves = 2;
  mine.colours = DD_COLOURS_SOURCE;
  mine.threads = 1;
  g_assert_true (dd_user_preset_save (card, "soft", "Soft and small", &mine, &error));
  g_assert_no_error (error);
  mine.octaves = 3;
  g_assert_true (dd_user_preset_save (card, "soft", "Soft and small", &mine, &error));

  g_auto (GStrv) descriptions = NULL;
  g_auto (GStrv) names = dd_model_card_list_presets (card, &descriptions);
  guint n = g_strv_length (names);
  g_assert_cmpstr (names[0], ==, "classic");
  g_assert_cmpstr (names[n - 1], ==, "soft");
  g_assert_cmpstr (descriptions[n - 1], ==, "Soft and small");

  g_auto (DdDreamParams) p;
  dd_dream_params_init (&p);
  g_assert_true (dd_dream_params_apply_preset (&p, card, "soft", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (p.layers, ==, "inception_3a/output");
  g_assert_cmpint (p.octaves, ==, 3);
  g_assert_cmpint (p.colours, ==, DD_COLOURS_SOURCE);
  g_assert_cmpint (p.threads, ==, 0); /* the machine's, not the preset's */

  const char *const refused[] = { "classic", "", " soft", "a]b", "two\nlines" };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_assert_false (dd_user_preset_save (card, refused[i], "", &mine, &error));
    g_test_message ("refused: %s", error->message);
    g_assert_nonnull (strstr (error->message, "preset"));
    g_clear_error (&error);
  }
  g_autoptr (DdModelCard) other = dd_model_card_find ("vgg16", NULL);
  if (other) {
    g_assert_false (dd_dream_params_apply_preset (&p, other, "soft", &error));
    g_clear_error (&error);
  }

  g_autofree char *path = dd_user_presets_path ();
  g_assert_true (g_file_set_contents (path, "[Preset broken\n", -1, NULL));
  g_assert_false (dd_user_preset_save (card, "new", "", &mine, &error));
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_autofree char *kept = NULL;
  g_assert_true (g_file_get_contents (path, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "[Preset broken\n");
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Users' presets go to a folder of the test's own, not the user's. */
  g_autofree char *config = g_dir_make_tmp ("test-dream-config-XXXXXX", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  gegl_init (&argc, &argv);
  g_test_add_func ("/dream/objective-rises", test_objective_rises);
  g_test_add_func ("/dream/octaves", test_octaves);
  g_test_add_func ("/dream/tiled-matches-untiled", test_tiled);
  g_test_add_func ("/dream/phases", test_phases);
  g_test_add_func ("/dream/seed", test_seed);
  g_test_add_func ("/dream/cancel", test_cancel);
  g_test_add_func ("/dream/bad-params", test_bad_params);
  g_test_add_func ("/dream/memory-check", test_memory_check);
  g_test_add_func ("/dream/alpha", test_alpha);
  g_test_add_func ("/dream/non-finite-pixels", test_non_finite_pixels);
  g_test_add_func ("/dream/grey-and-8-bit", test_grey);
  g_test_add_func ("/dream/variants", test_variants);
  g_test_add_func ("/dream/class", test_class);
  g_test_add_func ("/dream/card", test_card);
  g_test_add_func ("/dream/card/bad-values", test_card_bad_values);
  g_test_add_func ("/dream/silently-wrong", test_silently_wrong);
  g_test_add_func ("/dream/card/checksum", test_card_checksum);

  g_test_add_func ("/dream/colours/keep-source", test_keep_colours);
  g_test_add_func ("/dream/colours/8-bit-and-grey", test_keep_colours_8bit_and_grey);
  g_test_add_func ("/dream/seamless", test_seamless);
  g_test_add_func ("/dream/mask/strength", test_mask);
  g_test_add_func ("/dream/mask/hostile", test_mask_hostile);
  g_test_add_func ("/dream/presets/shipped", test_presets_shipped);
  g_test_add_func ("/dream/presets/bad", test_presets_bad);
  g_test_add_func ("/dream/presets/user", test_presets_user);
  g_test_add_func ("/dream/class/preset", test_class_preset);
  int status = g_test_run ();
  tu_remove_tree (config);
  g_clear_pointer (&model, dd_model_unref);
  g_clear_pointer (&card, dd_model_card_free);
  gegl_exit ();
  return status;
}
