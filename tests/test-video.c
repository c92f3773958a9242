/* test-video.c: dream sequences and the endless zoom, on frames with
 * known motion made here from the shared photos.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Frames are windows onto the sky photo, panned and zoomed by known
 * amounts, with one cut to the flowers photo. Checked by measured numbers:
 * the optical flow against the known motion, the agreement of a dream
 * carried along the motion with the dream of the next frame against two
 * independent dreams (PSNR of the overlap), the cut, the mean brightness
 * over 100 frames of video and of zoom, and the command line's resume.
 * Dreams are small and shallow (inception_3b/output, few steps) so the
 * whole program stays short under the sanitizers too. Skips without the
 * shared data; the flow tests skip in a build without OpenCV, where the
 * refusal is tested instead.
 */
#include <gegl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "dream/dd-flow.h"
#include "deepdream-video.h"
#include "testutil.h"

#define LAYER "inception_3b/output"
#define W 160
#define H 112

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DdDreamParams, dd_dream_params_clear)

static DdModel *model;
static DdModelCard *card;
static guint8 *sky, *flowers; /* R'G'B' u8 photos */
static int sky_width, sky_height, flowers_width, flowers_height;

static guint8 *
load_photo (const char *relative, int *width, int *height)
{
  g_autofree char *path = tu_shared_path (relative);
  if (!path)
    return NULL;
  GeglBuffer *buffer = tu_load_image (path);
  g_assert_nonnull (buffer);
  *width = gegl_buffer_get_width (buffer);
  *height = gegl_buffer_get_height (buffer);
  guint8 *pixels = g_malloc ((gsize) *width * *height * 3);
  gegl_buffer_get (buffer, NULL, 1.0, babl_format ("R'G'B' u8"), pixels, *width * 3,
                   GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return pixels;
}

/* FALSE (test skipped) without the shared data or, when flow is needed,
 * in a build without optical flow. */
static gboolean
have_data (gboolean need_flow)
{
  if (!sky) {
    sky = load_photo ("images/sky1024px.jpg", &sky_width, &sky_height);
    if (!sky)
      return FALSE;
    flowers = load_photo ("images/flowers.jpg", &flowers_width, &flowers_height);
    g_autoptr (GError) error = NULL;
    model = dd_model_open ("googlenet", &card, &error);
    g_assert_no_error (error);
  }
  if (need_flow && !dd_flow_available ()) {
    g_test_skip ("built without optical flow (OpenCV)");
    return FALSE;
  }
  return TRUE;
}

static DdImage
frame_new (void)
{
  DdImage im = { g_malloc0 (W * H * 3), W, H, 3, W * 3, DD_PIXEL_U8 };
  return im;
}

/* A W x H window onto photo: frame pixel p shows photo point
 * centre + (p - frame centre) / magnification. */
static void
frame_render (DdImage *im, const guint8 *photo, int pw, int ph, double cx, double cy,
              double magnification)
{
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      double sx = cx + (x - (W - 1) / 2.0) / magnification;
      double sy = cy + (y - (H - 1) / 2.0) / magnification;
      sx = CLAMP (sx, 0, pw - 1.001);
      sy = CLAMP (sy, 0, ph - 1.001);
      int x0 = (int) sx, y0 = (int) sy;
      double fx = sx - x0, fy = sy - y0;
      for (int c = 0; c < 3; c++) {
        const guint8 *p = photo + ((gsize) y0 * pw + x0) * 3 + c;
        double v = (1 - fy) * ((1 - fx) * p[0] + fx * p[3]) +
                   fy * ((1 - fx) * p[pw * 3] + fx * p[pw * 3 + 3]);
        ((guint8 *) im->pixels)[(y * W + x) * 3 + c] = (guint8) (v + 0.5);
      }
    }
}

/* The sky seen through a window that moves (vx, vy) photo pixels a frame
 * and magnifies by zoom a frame, from a fixed start. */
static void
frame_sky (DdImage *im, int k, double vx, double vy, double zoom)
{
  frame_render (im, sky, sky_width, sky_height, 420 + k * vx, 240 + k * vy, pow (zoom, k));
}

static void
grey_of (const DdImage *im, guint8 *grey)
{
  const guint8 *p = im->pixels;
  for (int i = 0; i < W * H; i++)
    grey[i] = (guint8) (0.299 * p[3 * i] + 0.587 * p[3 * i + 1] + 0.114 * p[3 * i + 2] + 0.5);
}

static void
dream_params (DdDreamParams *p, int octaves, int iterations)
{
  dd_dream_params_init (p);
  p->layers = g_strdup (LAYER);
  p->octaves = octaves;
  p->iterations = iterations;
  p->seed = 7;
}

static void
dream (const DdDreamParams *p, DdImage *im)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (dd_dream_run (model, card, p, NULL, im, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* ---- Flow ------------------------------------------------------------------------- */

/* Mean endpoint error of the flow from frame 0 to frame 1 against the
 * motion the frames were made with, away from the borders. */
static double
flow_error (double vx, double vy, double zoom)
{
  DdImage a = frame_new (), b = frame_new ();
  frame_sky (&a, 0, vx, vy, zoom);
  frame_sky (&b, 1, vx, vy, zoom);
  g_autofree guint8 *ga = g_malloc (W * H), *gb = g_malloc (W * H);
  g_autofree float *flow = g_malloc (sizeof (float) * 2 * W * H);
  grey_of (&a, ga);
  grey_of (&b, gb);
  g_autoptr (GError) error = NULL;
  g_assert_true (dd_flow_dense (ga, gb, W, H, flow, &error));
  double sum = 0;
  int n = 0;
  for (int y = 12; y < H - 12; y++)
    for (int x = 12; x < W - 12; x++) {
      /* Content at p in frame 0 is at centre + (p - centre) * zoom - v * zoom in frame 1. */
      double ex = ((x - (W - 1) / 2.0) * zoom - vx * zoom) + (W - 1) / 2.0 - x;
      double ey = ((y - (H - 1) / 2.0) * zoom - vy * zoom) + (H - 1) / 2.0 - y;
      const float *f = flow + 2 * (y * W + x);
      sum += hypot (f[0] - ex, f[1] - ey);
      n++;
    }
  g_free (a.pixels);
  g_free (b.pixels);
  return sum / n;
}

static void
test_flow_pan (void)
{
  if (!have_data (TRUE))
    return;
  double epe = flow_error (3.5, -1.25, 1);
  g_test_message ("pan (3.5, -1.25) px: mean endpoint error %.3f px", epe);
  g_assert_cmpfloat (epe, <, 0.3);
}

static void
test_flow_zoom (void)
{
  if (!have_data (TRUE))
    return;
  double epe = flow_error (0, 0, 1.04);
  g_test_message ("zoom 1.04: mean endpoint error %.3f px", epe);
  g_assert_cmpfloat (epe, <, 0.5);
}

/* ---- Sequences ---------------------------------------------------------------------- */

static double
psnr (double mse)
{
  return 10 * log10 (255.0 * 255.0 / MAX (mse, 1e-9));
}

/* Mean squared difference of b against a shifted by the content motion
 * (mx, my) (integer pixels), over their overlap. */
static double
overlap_mse (const DdImage *a, const DdImage *b, int mx, int my)
{
  const guint8 *pa = a->pixels, *pb = b->pixels;
  double sum = 0;
  int n = 0;
  for (int y = MAX (0, my); y < H + MIN (0, my); y++)
    for (int x = MAX (0, mx); x < W + MIN (0, mx); x++)
      for (int c = 0; c < 3; c++) {
        double d = (double) pb[(y * W + x) * 3 + c] - pa[((y - my) * W + (x - mx)) * 3 + c];
        sum += d * d;
        n++;
      }
  return sum / n;
}

/* The dream of frame 0 carried along a known pan into frame 1 agrees with
 * frame 1's dream far better than an independent dream of frame 1 does. */
static void
test_coherence (void)
{
  if (!have_data (TRUE))
    return;
  const int vx = 4, vy = 2; /* whole pixels, so the reference warp is exact */
  g_auto (DdDreamParams) p = { 0 };
  dream_params (&p, 2, 6);
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdSequence) seq = dd_sequence_new (W, H, &sp, &error);
  g_assert_no_error (error);
  DdImage f0 = frame_new (), f1 = frame_new (), d0 = frame_new (), d1 = frame_new (),
          i1 = frame_new ();
  frame_sky (&f0, 0, vx, vy, 1);
  frame_sky (&f1, 1, vx, vy, 1);
  DdFrameReport report;
  g_assert_true (dd_sequence_prepare (seq, &f0, &d0, &report, &error));
  g_assert_cmpint (report.kind, ==, DD_FRAME_FIRST);
  dream (&p, &d0);
  g_assert_true (dd_sequence_commit (seq, &f0, &d0, &error));
  g_assert_true (dd_sequence_prepare (seq, &f1, &d1, &report, &error));
  g_assert_no_error (error);
  g_assert_cmpint (report.kind, ==, DD_FRAME_CARRIED);
  g_assert_cmpfloat (report.reliable, >, 0.85);
  const int still_iterations = p.iterations;
  p.iterations = dd_sequence_iterations (&sp, &report, still_iterations);
  g_assert_cmpint (p.iterations, ==, 2);
  dream (&p, &d1);
  p.iterations = still_iterations;
  memcpy (i1.pixels, f1.pixels, W * H * 3);
  dream (&p, &i1);

  double sources = psnr (overlap_mse (&f0, &f1, -vx, -vy));
  double carried = psnr (overlap_mse (&d0, &d1, -vx, -vy));
  double independent = psnr (overlap_mse (&d0, &i1, -vx, -vy));
  g_test_message ("PSNR of the overlap, frame 1 against frame 0 moved by the pan: sources "
                  "%.2f dB, carried dream %.2f dB, independent dream %.2f dB",
                  sources, carried, independent);
  g_assert_cmpfloat (carried, >, independent + 3);
  DdImage *frames[] = { &f0, &f1, &d0, &d1, &i1 };
  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    g_free (frames[i]->pixels);
}

static double
brightness (const DdImage *im)
{
  double mean[3];
  dd_frame_mean (im, mean);
  return (mean[0] + mean[1] + mean[2]) / 3;
}

/* Frames of a pan, then a cut to a pan over another photo: only the cut
 * starts afresh. */
static void
test_cut (void)
{
  if (!have_data (TRUE))
    return;
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdSequence) seq = dd_sequence_new (W, H, &sp, &error);
  DdImage source = frame_new (), start = frame_new ();
  for (int k = 0; k < 6; k++) {
    if (k >= 4)
      frame_render (&source, flowers, flowers_width, flowers_height, 150 + 2 * k, 120, 1);
    else
      frame_sky (&source, k, 2.5, 1.5, 1.01);
    DdFrameReport r;
    g_assert_true (dd_sequence_prepare (seq, &source, &start, &r, &error));
    g_assert_no_error (error);
    g_test_message ("frame %d: kind %d, %.0f %% carried, difference %.1f", k, r.kind,
                    100 * r.reliable, r.difference);
    g_assert_cmpint (r.kind, ==,
                     k == 0   ? DD_FRAME_FIRST
                     : k == 4 ? DD_FRAME_CUT
                              : DD_FRAME_CARRIED);
    if (r.kind == DD_FRAME_CUT)
      g_assert_cmpmem (start.pixels, W * H * 3, source.pixels, W * H * 3);
    /* The previous frame's brightening is carried as detail, not as light. */
    if (r.kind == DD_FRAME_CARRIED)
      g_assert_cmpfloat (fabs (brightness (&start) - brightness (&source)), <, 0.5);
    /* A dream stand-in: the frame brightened, which the carried detail
     * must not pass on as a brightness shift. */
    for (int i = 0; i < W * H * 3; i++)
      ((guint8 *) start.pixels)[i] = (guint8) MIN (((guint8 *) start.pixels)[i] + 20, 255);
    g_assert_true (dd_sequence_commit (seq, &source, &start, &error));
  }
  g_free (source.pixels);
  g_free (start.pixels);
}

/* 100 dreamed frames of a slow pan keep the brightness a single dream adds. */
static void
test_video_drift (void)
{
  if (!have_data (TRUE))
    return;
  g_auto (DdDreamParams) p = { 0 };
  dream_params (&p, 1, 2);
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdSequence) seq = dd_sequence_new (W, H, &sp, &error);
  DdImage source = frame_new (), dreamed = frame_new ();
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE, first10 = 0, last10 = 0;
  const int n = 100;
  for (int k = 0; k < n; k++) {
    frame_sky (&source, k, 1.5, 0.5, 1);
    g_assert_true (dd_sequence_prepare (seq, &source, &dreamed, NULL, &error));
    dream (&p, &dreamed);
    g_assert_true (dd_sequence_commit (seq, &source, &dreamed, &error));
    double shift = brightness (&dreamed) - brightness (&source);
    lo = MIN (lo, shift);
    hi = MAX (hi, shift);
    if (k < 10)
      first10 += shift / 10;
    if (k >= n - 10)
      last10 += shift / 10;
  }
  g_test_message ("brightness of the dream minus its source over %d frames: %.2f .. %.2f grey "
                  "levels; first 10 %.2f, last 10 %.2f",
                  n, lo, hi, first10, last10);
  g_assert_cmpfloat (hi - lo, <, 3);
  g_assert_cmpfloat (fabs (last10 - first10), <, 1.5);
  g_free (source.pixels);
  g_free (dreamed.pixels);
}

/* ---- The endless zoom ------------------------------------------------------------ */

static void
test_zoom_drift (void)
{
  if (!have_data (FALSE))
    return;
  g_auto (DdDreamParams) p = { 0 };
  dream_params (&p, 1, 2);
  g_autoptr (GError) error = NULL;
  DdImage first = frame_new (), a = frame_new (), b = frame_new ();
  frame_sky (&first, 0, 0, 0, 1);
  g_autoptr (DdZoom) zoom = dd_zoom_new (&first, 1.05, 1, &error);
  g_assert_no_error (error);
  double start[3], lo[3] = { 255, 255, 255 }, hi[3] = { 0, 0, 0 };
  dd_frame_mean (&first, start);
  memcpy (a.pixels, first.pixels, W * H * 3);
  dream (&p, &a);
  const int n = 100;
  for (int k = 1; k < n; k++) {
    g_assert_true (dd_zoom_next (zoom, &a, &b, &error));
    dream (&p, &b);
    double mean[3];
    dd_frame_mean (&b, mean);
    for (int c = 0; c < 3; c++) {
      lo[c] = MIN (lo[c], mean[c] - start[c]);
      hi[c] = MAX (hi[c], mean[c] - start[c]);
    }
    DdImage t = a;
    a = b;
    b = t;
  }
  g_test_message ("zoom, %d frames: channel means minus the first frame's R %.2f..%.2f, "
                  "G %.2f..%.2f, B %.2f..%.2f",
                  n, lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]);
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (MAX (fabs (lo[c]), fabs (hi[c])), <, 4);
  g_free (first.pixels);
  g_free (a.pixels);
  g_free (b.pixels);
}

/* Bad frames are refused by name, before anything is changed. */
static void
test_refused (void)
{
  if (!have_data (FALSE))
    return;
  g_autoptr (GError) error = NULL;
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  if (!dd_flow_available ()) {
    g_assert_null (dd_sequence_new (W, H, &sp, &error));
    g_assert_error (error, DD_ERROR, DD_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "OpenCV"));
    return;
  }
  sp.blend = 1.5;
  g_assert_null (dd_sequence_new (W, H, &sp, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_clear_error (&error);
  dd_sequence_params_init (&sp);
  g_autoptr (DdSequence) seq = dd_sequence_new (W, H, &sp, &error);
  DdImage small = { g_malloc0 (64 * 64 * 3), 64, 64, 3, 64 * 3, DD_PIXEL_U8 }, start = frame_new ();
  g_assert_false (dd_sequence_prepare (seq, &small, &start, NULL, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "64x64"));
  g_clear_error (&error);
  g_assert_null (dd_zoom_new (&start, 3, 0, &error));
  g_assert_error (error, DD_ERROR, DD_ERROR_ARGUMENT);
  g_free (small.pixels);
  g_free (start.pixels);
}

/* ---- The command line ----------------------------------------------------------- */

static char *tmp_dir;

/* Runs DD_CLI with the arguments (NULL-terminated); its stderr goes to
 * *err. Returns the exit status, or -1 when it did not exit (a crash). */
static int
run_cli (char **err, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("DD_CLI"));
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (tmp_dir, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, err, &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static gboolean
have_cli (void)
{
  if (!have_data (FALSE))
    return FALSE;
  if (!g_getenv ("DD_CLI")) {
    g_test_skip ("DD_CLI not set");
    return FALSE;
  }
  if (!tmp_dir)
    tmp_dir = g_dir_make_tmp ("test-video-XXXXXX", NULL);
  return TRUE;
}

static void
write_frames (const char *folder, int n)
{
  g_mkdir_with_parents (folder, 0755);
  DdImage im = frame_new ();
  for (int k = 0; k < n; k++) {
    frame_sky (&im, k, 3, 1, 1.01);
    g_autofree char *name = g_strdup_printf ("%s/in-%03d.png", folder, k);
    g_assert_true (tu_save_image (name, "gegl:png-save", "R'G'B' u8", im.pixels, W, H, NULL));
  }
  g_free (im.pixels);
}

static GBytes *
read_bytes (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, folder, name, NULL);
  char *data;
  gsize size;
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  return g_bytes_new_take (data, size);
}

/* A run stopped after some frames goes on from there and makes the same
 * frames as a run that was never stopped, keeping those it had written. */
static void
test_cli_resume (void)
{
  if (!have_cli () || !have_data (TRUE))
    return;
  g_autofree char *frames = g_build_filename (tmp_dir, "clip", NULL);
  write_frames (frames, 5);
  const char *common[] = { "--video", "--layer=" LAYER, "--iterations=2", "--octaves=1",
                           "--seed=3" };
  g_autofree char *err = NULL;
  g_assert_cmpint (
      run_cli (&err, common[0], common[1], common[2], common[3], common[4], "clip", "whole", NULL),
      ==, 0);
  g_assert_nonnull (strstr (err, "frame 5/5 in-004.png"));
  g_assert_nonnull (strstr (err, "s/frame"));
  g_assert_nonnull (strstr (err, "left"));
  g_clear_pointer (&err, g_free);
  /* The same run stopped after frame 2, with a half-written file left. */
  g_autofree char *stopped = g_build_filename (tmp_dir, "stopped", NULL);
  g_assert_cmpint (run_cli (&err, common[0], common[1], common[2], common[3], common[4], "clip",
                            "stopped", NULL),
                   ==, 0);
  g_clear_pointer (&err, g_free);
  for (int k = 2; k < 5; k++) {
    g_autofree char *path = g_strdup_printf ("%s/in-%03d.png", stopped, k);
    g_assert_cmpint (g_unlink (path), ==, 0);
  }
  g_autofree char *partial = g_build_filename (stopped, ".in-002.png.0badcafe.part", NULL);
  g_assert_true (g_file_set_contents (partial, "half", 4, NULL));
  GStatBuf kept_before, kept_after;
  g_autofree char *kept = g_build_filename (stopped, "in-001.png", NULL);
  g_assert_cmpint (g_stat (kept, &kept_before), ==, 0);
  g_assert_cmpint (run_cli (&err, "--video", "--layer=" LAYER, "--iterations=2", "--octaves=1",
                            "clip", "stopped", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (err, "2 of 5 frames already in stopped"));
  g_assert_nonnull (strstr (err, "(seed 3)")); /* remembered from the first run */
  g_assert_cmpint (g_stat (kept, &kept_after), ==, 0);
  g_assert_cmpint (kept_before.st_ino, ==, kept_after.st_ino);
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
  for (int k = 0; k < 5; k++) {
    g_autofree char *name = g_strdup_printf ("in-%03d.png", k);
    g_autoptr (GBytes) a = read_bytes ("whole", name), b = read_bytes ("stopped", name);
    g_assert_true (g_bytes_equal (a, b));
  }
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&err, "--video", "--layer=" LAYER, "clip", "stopped", NULL), ==, 0);
  g_assert_nonnull (strstr (err, "all 5 frames are already in stopped"));
}

/* A zoom with a loop: N frames, nothing hidden left behind. */
static void
test_cli_zoom (void)
{
  if (!have_cli ())
    return;
  DdImage im = frame_new ();
  frame_sky (&im, 0, 0, 0, 1);
  g_autofree char *picture = g_build_filename (tmp_dir, "picture.png", NULL);
  g_assert_true (tu_save_image (picture, "gegl:png-save", "R'G'B' u8", im.pixels, W, H, NULL));
  g_free (im.pixels);
  g_autofree char *err = NULL;
  g_assert_cmpint (run_cli (&err, "--zoom-frames=4", "--loop=2", "--zoom=1.1", "--zoom-angle=2",
                            "--layer=" LAYER, "--iterations=2", "--octaves=1", "picture.png",
                            "zoom", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (err, "frame 6/6"));
  g_autofree char *folder = g_build_filename (tmp_dir, "zoom", NULL);
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  int frames = 0;
  for (const char *name; (name = g_dir_read_name (dir));)
    if (g_str_has_prefix (name, "frame-"))
      frames++;
    else
      g_assert_cmpstr (name, ==, ".deepdream-animation");
  g_assert_cmpint (frames, ==, 4);
}

static void
copy_file (const char *from_folder, const char *from, const char *to_folder, const char *to)
{
  g_autoptr (GBytes) bytes = read_bytes (from_folder, from);
  g_autofree char *path = g_build_filename (tmp_dir, to_folder, to, NULL);
  gsize size;
  gconstpointer data = g_bytes_get_data (bytes, &size);
  g_assert_true (g_file_set_contents (path, data, (gssize) size, NULL));
}

/* A looping zoom stopped and started again makes the same frames, byte for
 * byte, as one that never stopped. The zoom dreams its n + loop frames
 * alike whatever the loop, so a zoom of 6 frames without one gives the
 * files a zoom of 4 + 2 leaves when stopped after k frames: the first loop
 * frames hidden until the cross-fade, the frames past the 4th too. */
static void
test_cli_zoom_resume (void)
{
  if (!have_cli ())
    return;
  DdImage im = frame_new ();
  frame_sky (&im, 0, 0, 0, 1);
  g_autofree char *picture = g_build_filename (tmp_dir, "resume.png", NULL);
  g_assert_true (tu_save_image (picture, "gegl:png-save", "R'G'B' u8", im.pixels, W, H, NULL));
  g_free (im.pixels);
  const char *common[] = { "--zoom=1.1",     "--zoom-angle=2", "--layer=" LAYER,
                           "--iterations=2", "--octaves=1",    "resume.png" };
  g_autofree char *err = NULL;
  g_assert_cmpint (run_cli (&err, "--zoom-frames=6", "--seed=3", common[0], common[1], common[2],
                            common[3], common[4], common[5], "straight", NULL),
                   ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (&err, "--zoom-frames=4", "--loop=2", "--seed=3", common[0], common[1],
                            common[2], common[3], common[4], common[5], "whole", NULL),
                   ==, 0);
  g_clear_pointer (&err, g_free);
  /* The premise: the frames the loop does not touch are the straight ones. */
  for (int j = 2; j < 4; j++) {
    g_autofree char *name = g_strdup_printf ("frame-%05d.png", j);
    g_autoptr (GBytes) a = read_bytes ("straight", name), b = read_bytes ("whole", name);
    g_assert_true (g_bytes_equal (a, b));
  }
  const struct {
    const char *folder;
    int done; /* frames a stopped run had written */
  } stops[] = { { "stopped-3", 3 }, { "stopped-5", 5 } };
  for (gsize s = 0; s < G_N_ELEMENTS (stops); s++) {
    g_autofree char *folder = g_build_filename (tmp_dir, stops[s].folder, NULL);
    g_mkdir_with_parents (folder, 0755);
    copy_file ("whole", ".deepdream-animation", stops[s].folder, ".deepdream-animation");
    for (int j = 0; j < stops[s].done; j++) {
      g_autofree char *from = g_strdup_printf ("frame-%05d.png", j);
      g_autofree char *to = j < 2 || j >= 4 ? g_strdup_printf (".zoom-%05d.png", j)
                                            : g_strdup_printf ("frame-%05d.png", j);
      copy_file ("straight", from, stops[s].folder, to);
    }
    g_assert_cmpint (run_cli (&err, "--zoom-frames=4", "--loop=2", common[0], common[1], common[2],
                              common[3], common[4], common[5], stops[s].folder, NULL),
                     ==, 0);
    g_autofree char *going_on = g_strdup_printf ("%d of 6 frames already in", stops[s].done);
    g_assert_nonnull (strstr (err, going_on));
    g_assert_nonnull (strstr (err, "(seed 3)"));
    g_clear_pointer (&err, g_free);
    g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
    int frames = 0;
    for (const char *name; (name = g_dir_read_name (dir));) {
      if (strcmp (name, ".deepdream-animation") == 0)
        continue;
      g_assert_true (g_str_has_prefix (name, "frame-"));
      g_autoptr (GBytes) a = read_bytes ("whole", name), b = read_bytes (stops[s].folder, name);
      g_assert_true (g_bytes_equal (a, b));
      frames++;
    }
    g_assert_cmpint (frames, ==, 4);
  }
}

/* Bad input: one line naming the problem, and a failure status. */
static void
test_cli_refused (void)
{
  if (!have_cli ())
    return;
  g_autofree char *clip = g_build_filename (tmp_dir, "odd", NULL);
  write_frames (clip, 2);
  DdImage im = { g_malloc0 (64 * 48 * 3), 64, 48, 3, 64 * 3, DD_PIXEL_U8 };
  g_autofree char *odd = g_build_filename (clip, "in-005.png", NULL);
  g_assert_true (tu_save_image (odd, "gegl:png-save", "R'G'B' u8", im.pixels, 64, 48, NULL));
  g_free (im.pixels);
  struct {
    const char *args[4];
    int status;
    const char *says;
  } cases[] = {
    { { "--video", "nothing-here", "out" }, 1, "neither a folder nor a pattern" },
    { { "--video", "odd/*.jpg", "out" }, 1, "no frames in" },
    { { "--video", "odd", "odd" }, 2, "the frames' own" },
    { { "--zoom-frames=3", "--loop=3", "odd/in-005.png", "out" }, 2, "--loop=3" },
    { { "--video", "--blend=2", "odd", "out" }, 2, "--blend=2" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *err = NULL;
    const char *const *a = cases[i].args;
    g_assert_cmpint (run_cli (&err, a[0], a[1], a[2], a[3], NULL), ==, cases[i].status);
    g_assert_nonnull (strstr (err, cases[i].says));
    g_assert_nonnull (strchr (err, '\n'));
    g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");
  }
  if (dd_flow_available ()) {
    g_autofree char *err = NULL;
    g_assert_cmpint (run_cli (&err, "--video", "--layer=" LAYER, "--iterations=1", "--octaves=1",
                              "odd", "odd-out", NULL),
                     ==, 1);
    g_assert_nonnull (strstr (err, "in-005.png' is 64x48, but the frames before it are"));
    g_autofree char *written = g_build_filename (tmp_dir, "odd-out", "in-001.png", NULL);
    g_autofree char *not_written = g_build_filename (tmp_dir, "odd-out", "in-005.png", NULL);
    g_assert_true (g_file_test (written, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (not_written, G_FILE_TEST_EXISTS));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (NULL, NULL);
  g_test_add_func ("/video/flow/pan", test_flow_pan);
  g_test_add_func ("/video/flow/zoom", test_flow_zoom);
  g_test_add_func ("/video/sequence/coherence", test_coherence);
  g_test_add_func ("/video/sequence/cut", test_cut);
  g_test_add_func ("/video/sequence/drift", test_video_drift);
  g_test_add_func ("/video/zoom/drift", test_zoom_drift);
  g_test_add_func ("/video/refused", test_refused);
  g_test_add_func ("/video/cli/resume", test_cli_resume);
  g_test_add_func ("/video/cli/zoom", test_cli_zoom);
  g_test_add_func ("/video/cli/zoom-resume", test_cli_zoom_resume);
  g_test_add_func ("/video/cli/refused", test_cli_refused);
  int status = g_test_run ();
  if (tmp_dir)
    tu_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (sky);
  g_free (flowers);
  g_clear_pointer (&card, dd_model_card_free);
  g_clear_pointer (&model, dd_model_unref);
  gegl_exit ();
  return status;
}
