/* test-cli.c: the deepdream command line, run as a user runs it.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the built program (its path in $DD_CLI) in a temporary folder on
 * images made here with GEGL from the shared test images ($DD_SHARED_DIR),
 * and checks exit codes, messages and the files it writes. Small images and
 * few steps keep each run to seconds.
 */
#include <gegl.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deepdream.h"
#include "testutil.h"

#define SMALL_WIDTH 256
#define SMALL_HEIGHT 192

static const char *cli_path; /* the deepdream program */
static char *shared_images;  /* DD_SHARED_DIR/images */
static gboolean have_data;   /* the model and the test photos are there */
static char *tmp_dir;        /* every file the tests make */
static char *small_rgb;      /* SMALL_WIDTH x SMALL_HEIGHT crop of the sky, RGB */
static char *small_rgb_sum;  /* its sha256, that no run may change */

/* ---- Running the program ------------------------------------------------------------ */

typedef struct {
  int status; /* exit code, or -1 when a signal ended it */
  char *out, *err;
  long max_rss_kb; /* the run's peak resident memory */
} CliRun;

static void
cli_run_clear (CliRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliRun, cli_run_clear)

static int
open_capture (const char *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  int fd = g_open (path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static char *
read_capture (int fd)
{
  GString *text = g_string_new (NULL);
  char chunk[4096];
  ssize_t n;
  lseek (fd, 0, SEEK_SET);
  while ((n = read (fd, chunk, sizeof chunk)) > 0)
    g_string_append_len (text, chunk, n);
  close (fd);
  return g_string_free (text, FALSE);
}

/* Starts deepdream with args (NULL-terminated) in the temporary folder,
 * its output into out_fd and err_fd (-1: /dev/null), setup run in the
 * child before it starts (or NULL); the caller reaps it. With peak_file,
 * GNU time starts it and writes its peak resident memory there: the
 * wait4 of a child forked from this process reports at least this
 * process's own size when it forked, which says nothing of deepdream's. */
static GPid
spawn_cli_measured (const char *const *args, int out_fd, int err_fd, GSpawnChildSetupFunc setup,
                    gpointer setup_data, const char *peak_file)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  if (peak_file) {
    const char *time_args[] = { "/usr/bin/time", "--quiet", "--format=%M", "-o", peak_file };
    for (size_t i = 0; i < G_N_ELEMENTS (time_args); i++)
      g_ptr_array_add (argv, (gpointer) time_args[i]);
  }
  g_ptr_array_add (argv, (gpointer) cli_path);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  GPid pid = 0;
  GSpawnFlags quiet =
      (out_fd < 0 ? G_SPAWN_STDOUT_TO_DEV_NULL : 0) | (err_fd < 0 ? G_SPAWN_STDERR_TO_DEV_NULL : 0);
  g_spawn_async_with_fds (tmp_dir, (char **) argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD | quiet,
                          setup, setup_data, &pid, -1, out_fd, err_fd, &error);
  g_assert_no_error (error);
  return pid;
}

static GPid
spawn_cli (const char *const *args, int out_fd, int err_fd, GSpawnChildSetupFunc setup,
           gpointer setup_data)
{
  return spawn_cli_measured (args, out_fd, err_fd, setup, setup_data, NULL);
}

/* Runs deepdream with args (NULL-terminated) in the temporary folder,
 * under GNU time for its peak memory; its output goes through files. */
static int
run_cliv (CliRun *run, const char *const *args)
{
  int out_fd = open_capture ("stdout.txt"), err_fd = open_capture ("stderr.txt");
  g_autofree char *peak_file = g_build_filename (tmp_dir, "peak-rss.txt", NULL);
  g_remove (peak_file);
  int wait_status = 0;
  cli_run_clear (run);
  GPid pid = spawn_cli_measured (args, out_fd, err_fd, NULL, NULL, peak_file);
  g_assert_cmpint (waitpid (pid, &wait_status, 0), ==, pid);
  run->out = read_capture (out_fd);
  run->err = read_capture (err_fd);
  /* GNU time exits with the program's code, or 128 + the signal that
   * ended it. */
  int code = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  run->status = code > 128 ? -1 : code;
  g_autofree char *peak = NULL;
  g_assert_true (g_file_get_contents (peak_file, &peak, NULL, NULL));
  run->max_rss_kb = strtol (peak, NULL, 10);
  g_assert_cmpint (run->max_rss_kb, >, 0);
  g_test_message ("deepdream exited with %d, peak RSS %ld MB; stderr: %s", run->status,
                  run->max_rss_kb >> 10, run->err);
  return run->status;
}

static G_GNUC_NULL_TERMINATED int
run_cli (CliRun *run, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return run_cliv (run, (const char *const *) args->pdata);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, size);
}

/* No run changed the input most cases dream. */
static void
assert_small_rgb_intact (void)
{
  if (!small_rgb)
    return;
  g_autofree char *sum = file_sha256 (small_rgb);
  g_assert_cmpstr (sum, ==, small_rgb_sum);
}

/* The run failed with status, one line "deepdream: ..." on stderr that
 * mentions mention (unless NULL), and wrote no output. */
static void
assert_failed (const CliRun *run, int status, const char *mention, const char *output)
{
  g_assert_cmpint (run->status, ==, status);
  g_assert_true (g_str_has_prefix (run->err, "deepdream: "));
  g_assert_true (g_str_has_suffix (run->err, "\n"));
  g_assert_cmpint (strchr (run->err, '\n') - run->err, ==, strlen (run->err) - 1);
  if (mention && !strstr (run->err, mention))
    g_test_fail_printf ("the message does not mention '%s': %s", mention, run->err);
  g_assert_false (g_file_test (output, G_FILE_TEST_EXISTS));
  assert_small_rgb_intact ();
}

/* A dream of the small test image with option set to value fails with
 * status 1 and a message that mentions mention. */
static void
assert_option_fails (const char *option, const char *value, const char *mention)
{
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("fail.png");
  run_cli (&run, option, value, small_rgb, output, NULL);
  assert_failed (&run, 1, mention, output);
}

/* ---- Images ----------------------------------------------------------------------------- */

/* The whole image in format, g_free() it. */
static guint8 *
image_pixels (GeglBuffer *buffer, const char *format)
{
  const Babl *f = babl_format (format);
  const GeglRectangle *extent = gegl_buffer_get_extent (buffer);
  guint8 *pixels =
      g_malloc ((gsize) babl_format_get_bytes_per_pixel (f) * extent->width * extent->height);
  gegl_buffer_get (buffer, extent, 1.0, f, pixels, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  return pixels;
}

/* Writes pixels (width x height in format) as an 8-bit PNG. */
static void
save_png (const char *path, const char *format, const guint8 *pixels, int width, int height)
{
  g_assert_true (
      tu_save_image (path, "gegl:png-save", format, pixels, width, height, "bitdepth", 8, NULL));
}

/* The sky image cropped to the aspect ratio of width x height and scaled
 * to that size, R'G'B'A u8. */
static guint8 *
sky_pixels (int width, int height)
{
  g_autofree char *sky = g_build_filename (shared_images, "sky1024px.jpg", NULL);
  g_autoptr (GeglBuffer) full = tu_load_image (sky);
  g_assert_nonnull (full);
  const GeglRectangle *e = gegl_buffer_get_extent (full);
  double scale = MAX ((double) width / e->width, (double) height / e->height);
  GeglRectangle window = { 0, 0, width, height };
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglBuffer *scaled = NULL;
  GeglNode *source =
      gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", full, NULL);
  GeglNode *scale_node =
      gegl_node_new_child (graph, "operation", "gegl:scale-ratio", "x", scale, "y", scale, NULL);
  GeglNode *sink =
      gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &scaled, NULL);
  gegl_node_link_many (source, scale_node, sink, NULL);
  gegl_node_process (sink);
  guint8 *pixels = g_malloc ((gsize) width * height * 4);
  gegl_buffer_get (scaled, &window, 1.0, babl_format ("R'G'B'A u8"), pixels, GEGL_AUTO_ROWSTRIDE,
                   GEGL_ABYSS_CLAMP);
  g_object_unref (scaled);
  return pixels;
}

/* A PNG in the temporary folder: the sky at width x height in format. */
/* Skips the case when the shared model and photos are absent (a source
 * tarball on its own); in CI they are there. */
static gboolean
need_data (void)
{
  if (!have_data)
    g_test_skip ("the shared test data (DD_SHARED_DIR) is absent");
  return have_data;
}

static char *
make_sky_png (const char *name, const char *format, int width, int height)
{
  g_autofree guint8 *rgba = sky_pixels (width, height);
  const Babl *f = babl_format (format);
  g_autofree guint8 *pixels =
      g_malloc ((gsize) babl_format_get_bytes_per_pixel (f) * width * height);
  babl_process (babl_fish (babl_format ("R'G'B'A u8"), f), rgba, pixels, width * height);
  char *path = tmp_path (name);
  save_png (path, format, pixels, width, height);
  return path;
}

/* The file is an image of width x height. */
static void
assert_image_size (const char *path, int width, int height)
{
  g_autoptr (GeglBuffer) buffer = tu_load_image (path);
  g_assert_nonnull (buffer);
  if (!buffer)
    return;
  g_assert_cmpint (gegl_buffer_get_width (buffer), ==, width);
  g_assert_cmpint (gegl_buffer_get_height (buffer), ==, height);
}

/* The run succeeded and wrote output, an image of width x height. */
static void
assert_dreamed (const CliRun *run, const char *output, int width, int height)
{
  g_assert_cmpint (run->status, ==, 0);
  assert_image_size (output, width, height);
}

static gboolean
files_equal (const char *a, const char *b)
{
  g_autofree char *sum_a = file_sha256 (a);
  g_autofree char *sum_b = file_sha256 (b);
  return strcmp (sum_a, sum_b) == 0;
}

/* The two images hold the same pixels; their metadata (the settings,
 * which name the model file) may differ. */
static gboolean
pixels_equal (const char *a, const char *b)
{
  g_autoptr (GeglBuffer) image_a = tu_load_image (a);
  g_autoptr (GeglBuffer) image_b = tu_load_image (b);
  const GeglRectangle *ea = gegl_buffer_get_extent (image_a);
  const GeglRectangle *eb = gegl_buffer_get_extent (image_b);
  if (ea->width != eb->width || ea->height != eb->height)
    return FALSE;
  g_autofree guint8 *pa = image_pixels (image_a, "R'G'B'A u8");
  g_autofree guint8 *pb = image_pixels (image_b, "R'G'B'A u8");
  return memcmp (pa, pb, (gsize) ea->width * ea->height * 4) == 0;
}

/* ---- Dreams ------------------------------------------------------------------------------ */

static void
test_end_to_end (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *input = g_build_filename (shared_images, "sky1024px.jpg", NULL);
  g_autofree char *output = tmp_path ("sky-dream.png");
  g_autofree char *sum_before = file_sha256 (input);

  run_cli (&run, "--octaves", "2", "--iterations", "3", input, output, NULL);
  g_autoptr (GeglBuffer) in = tu_load_image (input);
  int width = gegl_buffer_get_width (in), height = gegl_buffer_get_height (in);
  assert_dreamed (&run, output, width, height);
  if (g_test_failed ())
    return;

  g_autoptr (GeglBuffer) out = tu_load_image (output);
  g_autofree guint8 *a = image_pixels (in, "R'G'B' u8");
  g_autofree guint8 *b = image_pixels (out, "R'G'B' u8");
  gsize n = (gsize) width * height * 3;
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += ABS ((int) a[i] - (int) b[i]);
  g_test_message ("mean change %.2f grey levels", sum / n);
  g_assert_cmpfloat (sum / n, >, 1.0);

  g_autofree char *sum_after = file_sha256 (input);
  g_assert_cmpstr (sum_before, ==, sum_after);
}

static void
test_reproducible (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *first = tmp_path ("seed5-a.png");
  g_autofree char *second = tmp_path ("seed5-b.png");
  const char *const common[] = { "--jitter",  "0", "--seed",       "5",
                                 "--octaves", "2", "--iterations", "2" };

  for (int k = 0; k < 2; k++) {
    const char *args[G_N_ELEMENTS (common) + 3] = { 0 };
    memcpy (args, common, sizeof common);
    args[G_N_ELEMENTS (common)] = small_rgb;
    args[G_N_ELEMENTS (common) + 1] = k ? second : first;
    run_cliv (&run, args);
    assert_dreamed (&run, args[G_N_ELEMENTS (common) + 1], SMALL_WIDTH, SMALL_HEIGHT);
    g_assert_nonnull (strstr (run.err, "seed 5"));
  }
  g_assert_true (files_equal (first, second));
}

/* One seed gives one dream whatever the number of threads, to the byte.
 * inception_5b reaches GoogLeNet's 832-channel 1x1 convs, whose products
 * OpenBLAS blocks differently with one thread than with several; the
 * second case crosses tiles, and its several layers sum their gradients. */
static void
test_thread_counts_agree (void)
{
  if (!need_data ())
    return;
  g_autofree char *sky = make_sky_png ("threads-sky.png", "R'G'B' u8", 400, 300);
  const struct {
    const char *input, *layers, *tile;
  } cases[] = {
    { small_rgb, "inception_5b/output", "0" },
    { sky, "inception_4e/output,inception_3b/output:0.5", "160" },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autofree char *first = NULL;
    for (int threads = 1; threads <= 3; threads++) {
      g_auto (CliRun) run = { 0 };
      g_autofree char *count = g_strdup_printf ("%d", threads);
      g_autofree char *name = g_strdup_printf ("threads-%zu-%d.png", c, threads);
      g_autofree char *output = tmp_path (name);
      run_cli (&run, "--quiet", "--seed", "11", "--octaves", "1", "--iterations", "2", "--threads",
               count, "--layer", cases[c].layers, "--tile", cases[c].tile, cases[c].input, output,
               NULL);
      g_assert_cmpint (run.status, ==, 0);
      if (!first)
        first = g_steal_pointer (&output);
      else
        g_assert_true (files_equal (first, output));
    }
  }
}

/* A dream run again from the settings in its own file is the same file,
 * to the byte, even from a random seed; an option given beside them wins. */
static void
test_settings_round_trip (void)
{
  if (!need_data ())
    return;
  const char *const formats[] = { "png", "tif" };
  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++) {
    g_auto (CliRun) run = { 0 };
    g_autofree char *first_name = g_strdup_printf ("settings-a.%s", formats[f]);
    g_autofree char *second_name = g_strdup_printf ("settings-b.%s", formats[f]);
    g_autofree char *first = tmp_path (first_name);
    g_autofree char *second = tmp_path (second_name);
    run_cli (&run, "--quiet", "--octaves", "2", "--iterations", "2", "--step", "1.7", small_rgb,
             first, NULL);
    assert_dreamed (&run, first, SMALL_WIDTH, SMALL_HEIGHT);
    run_cli (&run, "--quiet", "--settings-from", first, small_rgb, second, NULL);
    assert_dreamed (&run, second, SMALL_WIDTH, SMALL_HEIGHT);
    g_assert_true (files_equal (first, second));
  }
  g_auto (CliRun) run = { 0 };
  g_autofree char *first = tmp_path ("settings-a.png");
  g_autofree char *longer = tmp_path ("settings-longer.png");
  run_cli (&run, "--quiet", "--settings-from", first, "--iterations", "3", small_rgb, longer, NULL);
  assert_dreamed (&run, longer, SMALL_WIDTH, SMALL_HEIGHT);
  g_assert_false (files_equal (first, longer));
}

/* Settings that are absent, damaged or for another model: one line naming
 * what is wrong, and no dream. */
static void
test_settings_refused (void)
{
  if (!need_data ())
    return;
  const struct {
    const char *text, *mention;
    int status;
  } cases[] = {
    { "[DeepDream]\noctaves=99\n", "octaves", 2 },
    { "[DeepDream]\nstep-size=abc\n", "step-size", 2 },
    { "[DeepDream]\nseamless=maybe\n", "seamless", 2 },
    { "[DeepDream]\noctavs=2\n", "octavs", 2 },
    { "[DeepDream]\nmodel-sha256=12\n", "model-sha256", 2 },
    { "[DeepDream]\nmodel-sha256="
      "0000000000000000000000000000000000000000000000000000000000000000\n",
      "model-sha256", 1 },
    { "[Other]\noctaves=2\n", "no deepdream settings", 2 },
    { "not a key file\n", "no deepdream settings", 2 },
  };
  g_autofree char *output = tmp_path ("settings-refused.png");
  g_autofree char *settings = tmp_path ("settings.ini");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (CliRun) run = { 0 };
    g_assert_true (g_file_set_contents (settings, cases[i].text, -1, NULL));
    run_cli (&run, "--settings-from", settings, small_rgb, output, NULL);
    assert_failed (&run, cases[i].status, cases[i].mention, output);
  }
  /* An image that no dream wrote. */
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--settings-from", small_rgb, small_rgb, output, NULL);
  assert_failed (&run, 2, "no deepdream settings", output);
}

/* The same dream (no jitter, one seed) from model files of the same
 * weights: the same pixels, byte for byte. */
static void
assert_same_dream (const char *model_a, const char *layer_a, const char *model_b,
                   const char *layer_b)
{
  g_auto (CliRun) run = { 0 };
  g_autofree char *dir = g_path_get_dirname (shared_images);
  const char *models[] = { model_a, model_b }, *layers[] = { layer_a, layer_b };
  char *outputs[2] = { tmp_path ("same-dream-a.png"), tmp_path ("same-dream-b.png") };
  for (int k = 0; k < 2; k++) {
    g_autofree char *model = g_build_filename (dir, "models", models[k], NULL);
    run_cli (&run, "--model", model, "--layer", layers[k], "--jitter", "0", "--seed", "5",
             "--octaves", "2", "--iterations", "2", small_rgb, outputs[k], NULL);
    assert_dreamed (&run, outputs[k], SMALL_WIDTH, SMALL_HEIGHT);
  }
  g_assert_true (pixels_equal (outputs[0], outputs[1]));
  for (int k = 0; k < 2; k++)
    g_free (outputs[k]);
}

/* GoogLeNet's .caffemodel, which no card describes, dreams with the
 * preprocessing its data layer states: as the ONNX file under its card. */
static void
test_caffemodel (void)
{
  if (!need_data ())
    return;
  assert_same_dream ("bvlc_googlenet/bvlc_googlenet.caffemodel", "inception_4c/output",
                     "bvlc_googlenet/bvlc_googlenet.onnx", "inception_4c/output");
  /* The stem as V1 and V2, each ending in conv2/3x3_reduce's ReLU. */
  assert_same_dream ("caffe_small/stem_v1.caffemodel", "conv2/relu_3x3_reduce",
                     "caffe_small/stem_v2.caffemodel", "conv2/relu_3x3_reduce");
  assert_same_dream ("caffe_small/stem_v1.caffemodel", "conv2/relu_3x3_reduce",
                     "caffe_small/stem.onnx", "conv2/3x3_reduce");
}

static void
test_seeds_differ (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *first = tmp_path ("seed1.png");
  g_autofree char *second = tmp_path ("seed2.png");

  run_cli (&run, "--jitter", "32", "--seed", "1", "--octaves", "2", "--iterations", "2", small_rgb,
           first, NULL);
  assert_dreamed (&run, first, SMALL_WIDTH, SMALL_HEIGHT);
  g_assert_nonnull (strstr (run.err, "seed 1"));
  run_cli (&run, "--quiet", "--jitter", "32", "--seed", "2", "--octaves", "2", "--iterations", "2",
           small_rgb, second, NULL);
  assert_dreamed (&run, second, SMALL_WIDTH, SMALL_HEIGHT);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_false (files_equal (first, second));
}

/* A quick dream of input with extra options (NULL-terminated, later
 * options win) that must succeed. */
static void
assert_quick_dream_runs (const char *input, int width, int height, const char *const *extra)
{
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("quick.png");
  const char *args[16] = { "--octaves", "2", "--iterations", "2", "--seed", "3" };
  int n = 6;
  for (int i = 0; extra[i]; i++) {
    g_assert_cmpint (n, <, (int) G_N_ELEMENTS (args) - 3);
    args[n++] = extra[i];
  }
  args[n++] = input;
  args[n++] = output;
  run_cliv (&run, args);
  assert_dreamed (&run, output, width, height);
  g_remove (output);
}

/* --verbose adds where the time went: every phase on a line, seconds
 * that add up to the total it names, the network's share among them. */
static void
test_verbose (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("verbose.png");
  run_cli (&run, "--verbose", "--octaves", "2", "--iterations", "2", small_rgb, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  const char *head = strstr (run.err, "deepdream: ");
  head = head ? strstr (head + 1, "deepdream: ") : NULL; /* after "wrote ..." */
  g_assert_nonnull (head);
  double total = 0;
  int steps = 0;
  g_assert_cmpint (sscanf (head, "deepdream: %lf s in %d steps", &total, &steps), ==, 2);
  g_assert_cmpint (steps, ==, 4);
  g_assert_cmpfloat (total, >, 0);
  double sum = 0;
  for (int k = 0; k < DD_N_PHASES; k++) {
    g_autofree char *label = g_strdup_printf ("\n  %-10s ", dd_dream_phase_name (k));
    const char *line = strstr (head, label);
    g_assert_nonnull (line);
    double seconds = -1;
    g_assert_cmpint (sscanf (line + strlen (label), "%lf", &seconds), ==, 1);
    g_assert_cmpfloat (seconds, >=, 0);
    sum += seconds;
  }
  /* Each figure rounded to the millisecond. */
  g_assert_cmpfloat (fabs (sum - total), <=, DD_N_PHASES * 0.0005 + 1e-9);
  g_assert_nonnull (strstr (head, "outside forward and backward: "));
  g_remove (output);

  /* Without it, and with --quiet, none of that. */
  run_cli (&run, "--octaves", "1", "--iterations", "1", small_rgb, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  g_assert_null (strstr (run.err, "outside forward"));
  run_cli (&run, "-q", "-v", "--octaves", "1", "--iterations", "1", small_rgb, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  g_assert_cmpstr (run.err, ==, "");
  g_remove (output);
}

static void
test_guide (void)
{
  if (!need_data ())
    return;
  g_autofree char *guide = g_build_filename (shared_images, "flowers.jpg", NULL);
  const char *const extra[] = { "--guide", guide, NULL };
  assert_quick_dream_runs (small_rgb, SMALL_WIDTH, SMALL_HEIGHT, extra);
}

static void
test_class (void)
{
  if (!need_data ())
    return;
  g_autofree char *input = make_sky_png ("square.png", "R'G'B' u8", 224, 224);
  const char *const extra[] = { "--class", "309", "--octaves", "1", "--iterations", "5", NULL };
  assert_quick_dream_runs (input, 224, 224, extra);
}

static void
test_laplacian (void)
{
  if (!need_data ())
    return;
  const char *const extra[] = { "--laplacian", "4", NULL };
  assert_quick_dream_runs (small_rgb, SMALL_WIDTH, SMALL_HEIGHT, extra);
}

static void
test_several_layers (void)
{
  if (!need_data ())
    return;
  const char *const extra[] = { "--layer", "inception_3b/5x5_reduce", "--layer",
                                "inception_4c/output:0.5", NULL };
  assert_quick_dream_runs (small_rgb, SMALL_WIDTH, SMALL_HEIGHT, extra);
}

/* ---- Formats ----------------------------------------------------------------------------- */

static void
test_extensions (void)
{
  if (!need_data ())
    return;
  const char *const names[] = { "out.png", "out.jpg", "out.tif" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_auto (CliRun) run = { 0 };
    g_autofree char *output = tmp_path (names[i]);
    run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", small_rgb, output, NULL);
    assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  }
}

static void
test_alpha (void)
{
  if (!need_data ())
    return;
  g_autofree guint8 *pixels = sky_pixels (SMALL_WIDTH, SMALL_HEIGHT);
  for (int y = 0; y < SMALL_HEIGHT; y++)
    for (int x = 0; x < SMALL_WIDTH; x++)
      pixels[(y * SMALL_WIDTH + x) * 4 + 3] = (guint8) (x * 255 / (SMALL_WIDTH - 1));
  g_autofree char *input = tmp_path ("rgba.png");
  g_autofree char *output = tmp_path ("rgba-dream.png");
  save_png (input, "R'G'B'A u8", pixels, SMALL_WIDTH, SMALL_HEIGHT);

  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "2", "--iterations", "2", input, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  if (g_test_failed ())
    return;
  g_autoptr (GeglBuffer) in = tu_load_image (input);
  g_autoptr (GeglBuffer) out = tu_load_image (output);
  g_assert_true (babl_format_has_alpha (gegl_buffer_get_format (out)));
  g_autofree guint8 *a = image_pixels (in, "R'G'B'A u8");
  g_autofree guint8 *b = image_pixels (out, "R'G'B'A u8");
  for (int i = 0; i < SMALL_WIDTH * SMALL_HEIGHT; i++)
    g_assert_cmpint (a[i * 4 + 3], ==, b[i * 4 + 3]);
}

static void
test_grey (void)
{
  if (!need_data ())
    return;
  g_autofree char *input = make_sky_png ("grey.png", "Y' u8", SMALL_WIDTH, SMALL_HEIGHT);
  g_autofree char *output = tmp_path ("grey-dream.png");
  g_autoptr (GeglBuffer) in = tu_load_image (input);
  g_assert_cmpint (babl_format_get_n_components (gegl_buffer_get_format (in)), ==, 1);

  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "2", "--iterations", "2", input, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  if (g_test_failed ())
    return;
  g_autoptr (GeglBuffer) out = tu_load_image (output);
  g_assert_cmpint (babl_format_get_n_components (gegl_buffer_get_format (out)), <=, 2);
}

/* ---- Usage errors and failures ---------------------------------------------------------- */

static void
test_unknown_option (void)
{
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("fail.png");
  run_cli (&run, "--sparkles", "in.png", output, NULL);
  assert_failed (&run, 2, "--sparkles", output);
}

static void
test_missing_output (void)
{
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("fail.png");
  run_cli (&run, "in.png", NULL);
  assert_failed (&run, 2, "OUTPUT", output);
}

static void
test_bad_values (void)
{
  const struct {
    const char *option, *value;
  } cases[] = {
    { "--octaves", "0" }, { "--octave-scale", "1.0" }, { "--iterations", "0" },
    { "--memory", "-1" }, { "--step", "abc" },         { "--start", "sideways" },
  };
  g_autofree char *output = tmp_path ("fail.png");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (CliRun) run = { 0 };
    run_cli (&run, cases[i].option, cases[i].value, "in.png", output, NULL);
    assert_failed (&run, 2, cases[i].option, output);
  }
}

static void
test_missing_input (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = tmp_path ("fail.png");
  run_cli (&run, "no-such-image.png", output, NULL);
  assert_failed (&run, 1, "no-such-image.png", output);
}

static void
test_corrupt_input (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *input = tmp_path ("x.png");
  g_autofree char *output = tmp_path ("fail.png");
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  guint8 noise[4096];
  for (gsize i = 0; i < sizeof noise; i++)
    noise[i] = (guint8) g_rand_int_range (rand, 0, 256);
  g_assert_true (g_file_set_contents (input, (const char *) noise, sizeof noise, NULL));
  run_cli (&run, input, output, NULL);
  assert_failed (&run, 1, "x.png", output);
}

static void
test_unknown_layer (void)
{
  if (need_data ())
    assert_option_fails ("--layer", "inception_9z/output", "inception_9z/output");
}

static void
test_missing_model (void)
{
  if (need_data ())
    assert_option_fails ("--model", "/nonexistent.onnx", "/nonexistent.onnx");
}

static void
test_unknown_card (void)
{
  if (need_data ())
    assert_option_fails ("--model", "no-such-net", "no-such-net");
}

static void
test_unwritable_output (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *output = g_build_filename (tmp_dir, "no-such-folder", "out.png", NULL);
  run_cli (&run, "--octaves", "1", "--iterations", "1", small_rgb, output, NULL);
  assert_failed (&run, 1, output, output);
}

static void
test_tiny_image (void)
{
  if (!need_data ())
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = dd_model_open (NULL, &card, &error);
  g_assert_no_error (error);
  if (!model)
    return;
  DdDreamParams params;
  dd_dream_params_init (&params);
  int min_edge = dd_dream_min_size (model, card, &params, &error);
  dd_dream_params_clear (&params);
  g_assert_no_error (error);

  g_autofree char *output = tmp_path ("fail.png");
  g_autofree char *size = g_strdup_printf ("%dx%d", min_edge, min_edge);
  for (int edge = 1; edge <= 8; edge *= 2) {
    g_autofree char *input = make_sky_png ("tiny.png", "R'G'B' u8", edge, edge);
    g_auto (CliRun) run = { 0 };
    run_cli (&run, input, output, NULL);
    assert_failed (&run, 1, size, output);
  }
}

/* ---- Hostile input ---------------------------------------------------------------------- */

/* The CRC-32 of PNG chunks (polynomial 0xedb88320, bits reflected). */
static guint32
png_crc (guint32 crc, const guint8 *data, gsize n)
{
  crc = ~crc;
  for (gsize i = 0; i < n; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

static void
put_be32 (GByteArray *a, guint32 v)
{
  const guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (a, b, 4);
}

static void
png_chunk (GByteArray *png, const char *type, const guint8 *data, gsize n)
{
  put_be32 (png, (guint32) n);
  gsize start = png->len;
  g_byte_array_append (png, (const guint8 *) type, 4);
  g_byte_array_append (png, data, (guint) n);
  put_be32 (png, png_crc (0, png->data + start, n + 4));
}

/* A valid width x height 8-bit grey PNG of one grey level, made without
 * ever holding its pixels: rows are deflated as they are made. */
static char *
make_huge_png (const char *name, int width, int height)
{
  g_autoptr (GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 1);
  g_autoptr (GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr (GOutputStream) deflate = g_converter_output_stream_new (memory, G_CONVERTER (zlib));
  g_autofree guint8 *row = g_malloc (width + 1);
  row[0] = 0; /* filter: none */
  memset (row + 1, 128, width);
  for (int y = 0; y < height; y++)
    g_assert_true (g_output_stream_write_all (deflate, row, width + 1, NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (deflate, NULL, NULL));

  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (GByteArray) header = g_byte_array_new ();
  put_be32 (header, width);
  put_be32 (header, height);
  const guint8 rest[] = { 8, 0, 0, 0, 0 }; /* 8 bits, grey, deflate, no filter, no interlace */
  g_byte_array_append (header, rest, sizeof rest);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_byte_array_append (png, signature, sizeof signature);
  png_chunk (png, "IHDR", header->data, header->len);
  GMemoryOutputStream *m = G_MEMORY_OUTPUT_STREAM (memory);
  png_chunk (png, "IDAT", g_memory_output_stream_get_data (m),
             g_memory_output_stream_get_data_size (m));
  png_chunk (png, "IEND", NULL, 0);
  char *path = tmp_path (name);
  g_assert_true (g_file_set_contents (path, (const char *) png->data, png->len, NULL));
  return path;
}

/* Points XDG_CACHE_HOME at a new empty folder for the runs that follow.
 * babl rebuilds at start-up every conversion its cache lists, which can
 * take hundreds of MB for a moment, more as the cache fills: peak memory
 * says something of one run only from the same empty cache. */
static void
use_fresh_cache (void)
{
  static int made;
  g_autofree char *name = g_strdup_printf ("cache-%d", made++);
  g_autofree char *folder = tmp_path (name);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_setenv ("XDG_CACHE_HOME", folder, TRUE);
}

static void
restore_cache (const char *old_cache)
{
  if (old_cache)
    g_setenv ("XDG_CACHE_HOME", old_cache, TRUE);
  else
    g_unsetenv ("XDG_CACHE_HOME");
}

/* The peak memory of a run that reads only the small photo's header and the
 * model, in an empty cache: what a refusal from a header may add to. */
static long
baseline_peak_kb (void)
{
  g_auto (CliRun) run = { 0 };
  use_fresh_cache ();
  run_cli (&run, "--list-layers", small_rgb, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_test_message ("listing the layers for a small photo peaked at %ld MB", run.max_rss_kb >> 10);
  return run.max_rss_kb;
}

/* 20000x20000 cannot fit the default budget: refused from the header, with
 * what it needs, before the 400 megapixels are decoded. */
static void
test_huge_image (void)
{
  if (!need_data ())
    return;
  g_autofree char *input = make_huge_png ("huge.png", 20000, 20000);
  g_autofree char *output = tmp_path ("fail.png");
  g_autofree char *sum = file_sha256 (input);
  g_autofree char *old_cache = g_strdup (g_getenv ("XDG_CACHE_HOME"));
  long baseline_kb = baseline_peak_kb ();
  g_auto (CliRun) run = { 0 };
  use_fresh_cache ();
  run_cli (&run, input, output, NULL);
  assert_failed (&run, 1, "a 20000x20000 dream needs at least", output);
  g_assert_nonnull (strstr (run.err, "the memory budget is 900 MB"));
  /* Decoding would hold the 400 MB of grey pixels twice (GEGL's buffer and
   * ours). */
  g_test_message ("the refusal peaked at %ld MB", run.max_rss_kb >> 10);
  g_assert_cmpint (run.max_rss_kb, <, baseline_kb + 200 * 1024);
  restore_cache (old_cache);
  g_autofree char *sum_after = file_sha256 (input);
  g_assert_cmpstr (sum, ==, sum_after);
  g_remove (input);
}

/* A float TIFF with NaN, infinities and values far outside 0..1 dreams to
 * finite pixels in 0..1. */
static void
test_non_finite_pixels (void)
{
  if (!need_data ())
    return;
  const int w = SMALL_WIDTH, h = SMALL_HEIGHT;
  g_autofree guint8 *rgba = sky_pixels (w, h);
  g_autofree float *rgb = g_new (float, (gsize) w *h * 3);
  const float odd[] = { NAN, INFINITY, -INFINITY, 1e30f, -5.0f };
  for (gsize i = 0, p = 0; p < (gsize) w * h; p++)
    for (int k = 0; k < 3; k++, i++)
      rgb[i] = p % 97 == 0 ? odd[(p / 97 + k) % G_N_ELEMENTS (odd)] : rgba[p * 4 + k] / 255.0f;
  g_autofree char *input = tmp_path ("odd.tif");
  g_assert_true (tu_save_image (input, "gegl:tiff-save", "R'G'B' float", rgb, w, h, NULL));
  /* The file holds them as they are. */
  g_autoptr (GeglBuffer) back = tu_load_image (input);
  g_assert_nonnull (back);
  if (g_test_failed ())
    return;
  g_autofree float *kept = (float *) image_pixels (back, "R'G'B' float");
  g_assert_true (isnan (kept[0]));
  g_assert_cmpfloat (kept[97 * 3], ==, INFINITY);
  g_assert_cmpfloat (kept[2 * 97 * 3], ==, -INFINITY);

  g_autofree char *output = tmp_path ("odd-dream.tif");
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--octaves", "2", "--iterations", "2", input, output, NULL);
  assert_dreamed (&run, output, w, h);
  g_autoptr (GeglBuffer) out = tu_load_image (output);
  g_assert_nonnull (out);
  if (g_test_failed ())
    return;
  g_autofree float *pixels = (float *) image_pixels (out, "R'G'B' float");
  for (gsize i = 0; i < (gsize) w * h * 3; i++)
    if (!(pixels[i] >= 0 && pixels[i] <= 1)) {
      g_test_fail_printf ("pixel value %g at %zu is outside 0..1", pixels[i], i);
      break;
    }
}

static void
test_channel_past (void)
{
  if (need_data ())
    assert_option_fails ("--channel", "512",
                         "channel: 512 is past the 512 channels of inception_4c/output");
}

/* A layer weight that overflows, and one of 0 (nothing to amplify). */
static void
test_layer_weights (void)
{
  if (!need_data ())
    return;
  assert_option_fails ("--layer", "inception_4c/output:1e34", "is out of range (-1000..1000)");
  assert_option_fails ("--layer", "inception_4c/output:0", "the dream's gradient is zero");
}

static void
test_weight_layer (void)
{
  if (need_data ())
    assert_option_fails ("--layer", "inception_4c_1x1_weights",
                         "'inception_4c_1x1_weights' is a weight or constant");
}

/* A guide of another size and colour model is a valid guide. */
static void
test_guide_grey_other_size (void)
{
  if (!need_data ())
    return;
  g_autofree char *guide = make_sky_png ("guide-grey.png", "Y'A u8", 100, 300);
  const char *const extra[] = { "--guide", guide, NULL };
  assert_quick_dream_runs (small_rgb, SMALL_WIDTH, SMALL_HEIGHT, extra);
}

static void
test_guide_corrupt (void)
{
  if (!need_data ())
    return;
  g_autofree char *guide = tmp_path ("guide.png");
  g_assert_true (g_file_set_contents (guide, "not an image at all", -1, NULL));
  assert_option_fails ("--guide", guide, "guide: cannot read");
}

/* ---- Names ------------------------------------------------------------------------------- */

/* "--" ends the options: an INPUT whose name starts with '-'. */
static void
test_double_dash (void)
{
  if (!need_data ())
    return;
  g_autofree char *dash = tmp_path ("-x.png");
  g_autofree char *output = tmp_path ("dash-out.png");
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (small_rgb, &data, &size, NULL));
  g_assert_true (g_file_set_contents (dash, data, (gssize) size, NULL));
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", "--", "-x.png", "dash-out.png", NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  g_remove (dash);
  g_remove (output);
}

/* Non-ASCII input, guide, output and model paths, a card found by a
 * non-ASCII name in a non-ASCII folder, and a non-ASCII layer name, under
 * a UTF-8 locale and under the C locale. */
static void
test_non_ascii_names (void)
{
  if (!need_data ())
    return;
  g_autofree char *folder = tmp_path ("modèles josé");
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *input = g_build_filename (folder, "été.png", NULL);
  g_autofree char *output = g_build_filename (folder, "rêve.png", NULL);
  g_autofree char *onnx = g_build_filename (folder, "réseau.onnx", NULL);
  g_autofree char *shared = g_path_get_dirname (shared_images);
  g_autofree char *googlenet =
      g_build_filename (shared, "models", "bvlc_googlenet", "bvlc_googlenet.onnx", NULL);
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (small_rgb, &data, &size, NULL));
  g_assert_true (g_file_set_contents (input, data, (gssize) size, NULL));
  g_assert_cmpint (symlink (googlenet, onnx), ==, 0);
  g_autofree char *card_path = g_build_filename (folder, "rêve.card", NULL);
  g_autofree char *card_text =
      g_strdup_printf ("[Model]\nName=rêve\nFile=réseau.onnx\nDefaultLayer=inception_4c/output\n"
                       "ChannelOrder=BGR\nMean=104;117;123\n");
  g_assert_true (g_file_set_contents (card_path, card_text, -1, NULL));
  g_autofree char *old_path = g_strdup (g_getenv ("DEEPDREAM_MODEL_PATH"));
  g_autofree char *model_path = g_strconcat (folder, ":", old_path, NULL);
  g_setenv ("DEEPDREAM_MODEL_PATH", model_path, TRUE);

  const char *const locales[] = { "C.UTF-8", "C" };
  for (gsize i = 0; i < G_N_ELEMENTS (locales); i++) {
    g_setenv ("LC_ALL", locales[i], TRUE);
    g_auto (CliRun) run = { 0 };
    run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", "--guide", input, "--model", onnx,
             input, output, NULL);
    assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
    g_remove (output);
    run_cli (&run, "--model", "rêve", "--list-layers", NULL);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_true (g_regex_match_simple ("^inception_4c/output\\s", run.out, G_REGEX_MULTILINE, 0));
    run_cli (&run, "--layer", "日本語", input, output, NULL);
    assert_failed (&run, 1, "the model has no tensor", output);
    if (i == 0 && !strstr (run.err, "日本語"))
      g_test_fail_printf ("the message does not name the layer: %s", run.err);
  }
  g_unsetenv ("LC_ALL");
  g_setenv ("DEEPDREAM_MODEL_PATH", old_path, TRUE);
  tu_remove_tree (folder);
}

/* ---- Limits ------------------------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void
limit_address_space (gpointer mb)
{
  struct rlimit as = { (rlim_t) GPOINTER_TO_INT (mb) << 20, (rlim_t) GPOINTER_TO_INT (mb) << 20 };
  setrlimit (RLIMIT_AS, &as);
}

/* Runs deepdream under ulimit -v of mb; its exit status, or -1 after a
 * signal, -2 when it had not ended after timeout_s (then killed). */
static int
run_limited (int mb, const char *const *args, int timeout_s, char **err)
{
  int err_fd = open_capture ("stderr-limited.txt");
  GPid pid = spawn_cli (args, -1, err_fd, limit_address_space, GINT_TO_POINTER (mb));
  int status = 0;
  gint64 end = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  while (waitpid (pid, &status, WNOHANG) == 0) {
    if (g_get_monotonic_time () > end) {
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      *err = read_capture (err_fd);
      return -2;
    }
    g_usleep (20000);
  }
  *err = read_capture (err_fd);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Under ulimit -v from far too small to enough, for a small image and a
 * large one: a result or one clean line, never a signal (babl crashed in
 * gegl_init) or a hang (OpenBLAS retried its buffer forever). */
static void
test_address_space_limits (void)
{
  if (!need_data ())
    return;
#ifdef UNDER_ASAN
  g_test_skip ("AddressSanitizer maps terabytes of shadow memory: no ulimit -v can hold it");
  return;
#endif
  g_autofree char *large = make_sky_png ("limits-large.png", "R'G'B' u8", 3000, 2000);
  g_autofree char *output = tmp_path ("limits-out.png");
  const struct {
    int mb;
    const char *input;
  } cases[] = {
    { 200, small_rgb },  { 600, small_rgb }, { 1000, small_rgb }, { 1300, small_rgb },
    { 1600, small_rgb }, { 1300, large },    { 1600, large },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *const args[] = { "-q",   "--octaves", "1", "--iterations",
                                 "1",    "--tile",    "0", cases[i].input,
                                 output, NULL };
    g_autofree char *err = NULL;
    gint64 start = g_get_monotonic_time ();
    int status = run_limited (cases[i].mb, args, 300, &err);
    g_test_message ("ulimit -v %d MB, %s: exit %d after %.1f s: %s", cases[i].mb,
                    cases[i].input == large ? "3000x2000" : "256x192", status,
                    (g_get_monotonic_time () - start) / 1e6, err);
    g_assert_cmpint (status, >=, 0);
    if (status == 0) {
      assert_image_size (output, cases[i].input == large ? 3000 : SMALL_WIDTH,
                         cases[i].input == large ? 2000 : SMALL_HEIGHT);
    } else {
      g_assert_cmpint (status, ==, 1);
      g_assert_true (g_str_has_prefix (err, "deepdream: "));
      g_assert_cmpint (strchr (err, '\n') - err, ==, strlen (err) - 1);
      g_assert_true (strstr (err, "ulimit -v") || strstr (err, "memory"));
      g_assert_false (g_file_test (output, G_FILE_TEST_EXISTS));
    }
    g_remove (output);
  }
  g_remove (large);
}

/* ---- Damaged and special input files --------------------------------------------------- */

/* data[0..size) written to the temporary folder as name. */
static char *
write_bytes (const char *name, const void *data, gsize size)
{
  char *path = tmp_path (name);
  g_assert_true (g_file_set_contents (path, data, (gssize) size, NULL));
  return path;
}

/* The first size bytes of file, as name. */
static char *
write_head (const char *name, const char *file, gsize size)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (file, &data, &length, NULL));
  return write_bytes (name, data, MIN (size, length));
}

/* Where a JPEG's entropy-coded data starts: after its SOS segment. */
static gsize
jpeg_scan_start (const char *file)
{
  g_autofree guint8 *data = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (file, (char **) &data, &length, NULL));
  for (gsize at = 2; at + 4 <= length;) {
    gsize segment = 2 + ((gsize) data[at + 2] << 8 | data[at + 3]);
    if (data[at + 1] == 0xda)
      return at + segment;
    at += segment;
  }
  g_assert_not_reached ();
}

/* Half of a file in each format: refused with one line naming the file,
 * whatever the decoder would have made of the rest. */
static void
test_truncated_images (void)
{
  if (!need_data ())
    return;
  const char *const savers[][2] = {
    { "png", "gegl:png-save" },  { "jpg", "gegl:jpg-save" }, { "webp", "gegl:webp-save" },
    { "tif", "gegl:tiff-save" }, { "exr", "gegl:exr-save" },
  };
  g_autofree guint8 *rgba = sky_pixels (SMALL_WIDTH, SMALL_HEIGHT);
  g_autofree char *output = tmp_path ("fail.png");
  for (gsize i = 0; i < G_N_ELEMENTS (savers); i++) {
    g_autofree char *whole_name = g_strconcat ("whole.", savers[i][0], NULL);
    g_autofree char *half_name = g_strconcat ("half.", savers[i][0], NULL);
    g_autofree char *whole = tmp_path (whole_name);
    g_assert_true (
        tu_save_image (whole, savers[i][1], "R'G'B'A u8", rgba, SMALL_WIDTH, SMALL_HEIGHT, NULL));
    GStatBuf st;
    g_assert_cmpint (g_stat (whole, &st), ==, 0);
    g_autofree char *half = write_head (half_name, whole, (gsize) st.st_size / 2);
    /* --list-layers reads only the header, which a cut PNG, JPEG or WebP
     * shows to be short, GEGL's TIFFs keep at the end, and an EXR's table
     * of chunk offsets shows to point past the end. */
    for (int list = 0; list < 2; list++) {
      g_auto (CliRun) run = { 0 };
      if (list)
        run_cli (&run, "--list-layers", half, NULL);
      else
        run_cli (&run, "--octaves", "1", "--iterations", "1", half, output, NULL);
      assert_failed (&run, 1, half_name, output);
    }
  }
}

/* An OpenEXR file cut anywhere, in its header, its table of chunks or its
 * last byte: --list-layers, which decodes nothing, refuses it too. */
static void
test_truncated_exr (void)
{
  if (!need_data ())
    return;
  g_autofree guint8 *rgba = sky_pixels (SMALL_WIDTH, SMALL_HEIGHT);
  g_autofree char *whole = tmp_path ("whole.exr");
  g_autofree char *never = tmp_path ("never.png"); /* no command here writes */
  g_assert_true (
      tu_save_image (whole, "gegl:exr-save", "R'G'B'A u8", rgba, SMALL_WIDTH, SMALL_HEIGHT, NULL));
  GStatBuf st;
  g_assert_cmpint (g_stat (whole, &st), ==, 0);
  const struct {
    gsize size;
    const char *why;
  } cuts[] = {
    { 20, "it ends in its header" },
    { 420, "it ends in its table of chunks" },
    { (gsize) st.st_size * 2 / 3, "a chunk of pixels is missing" },
    { (gsize) st.st_size - 1, "its last chunk of pixels is cut short" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_autofree char *cut = write_head ("cut.exr", whole, cuts[i].size);
    g_autofree char *expected =
        g_strdup_printf ("cut.exr': the OpenEXR file is damaged or truncated (%s)", cuts[i].why);
    g_auto (CliRun) run = { 0 };
    run_cli (&run, "--list-layers", cut, NULL);
    assert_failed (&run, 1, expected, never);
  }
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--list-layers", whole, NULL);
  g_assert_cmpint (run.status, ==, 0);
}

/* Empty and header-only JPEGs (libjpeg, under GEGL, ends the process on
 * the one and waits forever on the other) and a PNG whose header's
 * checksum is wrong (libpng prints its own lines). */
static void
test_damaged_headers (void)
{
  if (!need_data ())
    return;
  g_autofree char *output = tmp_path ("fail.png");
  g_autofree guint8 *rgba = sky_pixels (SMALL_WIDTH, SMALL_HEIGHT);
  g_autofree char *jpeg = tmp_path ("whole.jpg");
  g_assert_true (
      tu_save_image (jpeg, "gegl:jpg-save", "R'G'B'A u8", rgba, SMALL_WIDTH, SMALL_HEIGHT, NULL));
  g_autofree char *empty = write_bytes ("empty.jpg", "", 0);
  g_autofree char *header_only = write_head ("header-only.jpg", jpeg, jpeg_scan_start (jpeg));
  g_autofree char *png_data = NULL;
  gsize png_size = 0;
  g_assert_true (g_file_get_contents (small_rgb, &png_data, &png_size, NULL));
  png_data[16] ^= 0x40; /* the width in IHDR, its CRC now wrong */
  g_autofree char *bad_png = write_bytes ("bad-header.png", png_data, png_size);
  const char *const files[][2] = {
    { empty, "empty.jpg': the file is empty" },
    { header_only, "header-only.jpg': the JPEG file is damaged or truncated" },
    { bad_png, "bad-header.png': the file is damaged or truncated (libpng error: IHDR: CRC" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_auto (CliRun) run = { 0 };
    run_cli (&run, "--octaves", "1", "--iterations", "1", files[i][0], output, NULL);
    assert_failed (&run, 1, files[i][1], output);
    run_cli (&run, "--guide", files[i][0], "--octaves", "1", "--iterations", "1", small_rgb, output,
             NULL);
    assert_failed (&run, 1, files[i][1], output);
  }
}

/* A FIFO, a device or a folder wherever the command takes a path: refused
 * as what it is, at once (opening a FIFO would wait for a writer). */
static void
test_special_files (void)
{
  if (!need_data ())
    return;
  g_autofree char *fifo = tmp_path ("fifo.png");
  g_autofree char *fifo_onnx = tmp_path ("fifo.onnx");
  g_autofree char *folder = tmp_path ("folder.png");
  g_autofree char *output = tmp_path ("fail.png");
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_cmpint (mkfifo (fifo_onnx, 0644), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const char *const inputs[][2] = {
    { fifo, "it is a FIFO" },
    { "/dev/zero", "it is a device" },
    { folder, "it is a folder" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++) {
    g_auto (CliRun) run = { 0 };
    run_cli (&run, inputs[i][0], output, NULL);
    assert_failed (&run, 1, inputs[i][1], output);
    run_cli (&run, "--guide", inputs[i][0], small_rgb, output, NULL);
    assert_failed (&run, 1, inputs[i][1], output);
    run_cli (&run, "--list-layers", inputs[i][0], NULL);
    assert_failed (&run, 1, inputs[i][1], output);
  }
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--model", fifo_onnx, small_rgb, output, NULL);
  assert_failed (&run, 1, "it is a FIFO", output);
  run_cli (&run, small_rgb, fifo, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "it is a FIFO"));

  /* A FIFO named like a card on the model path: the search passes it by. */
  g_autofree char *cards = tmp_path ("fifo-cards");
  g_assert_cmpint (g_mkdir (cards, 0755), ==, 0);
  g_autofree char *fifo_card = g_build_filename (cards, "trap.card", NULL);
  g_assert_cmpint (mkfifo (fifo_card, 0644), ==, 0);
  g_autofree char *old_path = g_strdup (g_getenv ("DEEPDREAM_MODEL_PATH"));
  g_autofree char *model_path = g_strconcat (cards, ":", old_path, NULL);
  g_setenv ("DEEPDREAM_MODEL_PATH", model_path, TRUE);
  run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", small_rgb, output, NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  run_cli (&run, "--model", "trap", small_rgb, output, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "trap.card': it is a FIFO"));
  g_setenv ("DEEPDREAM_MODEL_PATH", old_path, TRUE);
  g_remove (output);
}

/* A 20000x20000 PNG as the guide and for --list-layers: the guide refused
 * and the layers listed from the header, never the 400 megapixels
 * decoded. */
static void
test_huge_guide (void)
{
  if (!need_data ())
    return;
  g_autofree char *huge = make_huge_png ("huge-guide.png", 20000, 20000);
  g_autofree char *output = tmp_path ("fail.png");
  g_autofree char *old_cache = g_strdup (g_getenv ("XDG_CACHE_HOME"));
  long baseline_kb = baseline_peak_kb ();
  g_auto (CliRun) run = { 0 };
  use_fresh_cache ();
  run_cli (&run, "--guide", huge, small_rgb, output, NULL);
  assert_failed (&run, 1, "huge-guide.png' is 20000x20000; a guide may have at most", output);
  g_test_message ("the guide's refusal peaked at %ld MB", run.max_rss_kb >> 10);
  g_assert_cmpint (run.max_rss_kb, <, baseline_kb + 200 * 1024);
  use_fresh_cache ();
  run_cli (&run, "--list-layers", huge, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "tensors for a 20000x20000 input"));
  g_test_message ("--list-layers peaked at %ld MB", run.max_rss_kb >> 10);
  g_assert_cmpint (run.max_rss_kb, <, baseline_kb + 200 * 1024);
  restore_cache (old_cache);
  g_remove (huge);
}

/* ---- Output written safely ---------------------------------------------------------- */

/* A tmpfs of size_kb mounted on a new folder, or NULL after skipping the
 * case: mounting needs root (CI runs as root), and only a real file system
 * running out of space shows what a full disk does to a write. */
static char *
mount_small_fs (const char *name, int size_kb)
{
  char *folder = tmp_path (name);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *options = g_strdup_printf ("size=%dk,mode=0755", size_kb);
  if (mount ("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
    g_test_skip_printf ("cannot mount a small file system to fill (%s); this case needs root",
                        g_strerror (errno));
    g_rmdir (folder);
    g_free (folder);
    return NULL;
  }
  return folder;
}

static void
unmount_small_fs (char *folder)
{
  g_assert_cmpint (umount2 (folder, MNT_DETACH), ==, 0);
  g_rmdir (folder);
  g_free (folder);
}

/* Fills the file system of folder until about free_kb remain. */
static void
fill_fs (const char *folder, int free_kb)
{
  struct statvfs fs;
  g_assert_cmpint (statvfs (folder, &fs), ==, 0);
  gsize avail = (gsize) fs.f_bavail * fs.f_frsize, keep = (gsize) free_kb << 10;
  g_assert_cmpuint (avail, >, keep);
  g_autofree char *filler = g_build_filename (folder, "filler", NULL);
  g_autofree char *zeros = g_malloc0 (avail - keep);
  g_assert_true (g_file_set_contents (filler, zeros, (gssize) (avail - keep), NULL));
}

/* On a full disk, writing a new file or the input over itself fails with
 * the cause, leaves the input as it was and no file behind, in every
 * format; with room again, the input is replaced by its dream. */
static void
test_full_disk (void)
{
  if (!need_data ())
    return;
  char *disk = mount_small_fs ("full-disk", 2048);
  if (!disk)
    return;
  const char *const formats[][2] = {
    { "png", "gegl:png-save" },
    { "tif", "gegl:tiff-save" },
    { "exr", "gegl:exr-save" },
    { "ppm", "gegl:ppm-save" },
  };
  g_autofree guint8 *rgba = sky_pixels (SMALL_WIDTH, SMALL_HEIGHT);
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++) {
    g_autofree char *name = g_strconcat ("photo.", formats[i][0], NULL);
    g_autofree char *other = g_strconcat ("dream.", formats[i][0], NULL);
    g_autofree char *input = g_build_filename (disk, name, NULL);
    g_autofree char *output = g_build_filename (disk, other, NULL);
    g_autofree char *filler = g_build_filename (disk, "filler", NULL);
    g_assert_true (
        tu_save_image (input, formats[i][1], "R'G'B' u8", rgba, SMALL_WIDTH, SMALL_HEIGHT, NULL));
    g_autofree char *sum = file_sha256 (input);
    g_autofree char *expected_names = g_strconcat ("filler ", name, NULL);
    fill_fs (disk, 8);

    const char *const targets[] = { input, output };
    for (gsize k = 0; k < G_N_ELEMENTS (targets); k++) {
      g_auto (CliRun) run = { 0 };
      run_cli (&run, "--octaves", "1", "--iterations", "1", input, targets[k], NULL);
      g_assert_cmpint (run.status, ==, 1);
      g_assert_true (g_str_has_prefix (run.err, "deepdream: cannot write '"));
      g_assert_nonnull (strstr (run.err, targets[k]));
      g_assert_nonnull (strstr (run.err, g_strerror (ENOSPC)));
      g_autofree char *sum_after = file_sha256 (input);
      g_assert_cmpstr (sum_after, ==, sum);
      g_autofree char *names = tu_folder_names (disk);
      g_assert_cmpstr (names, ==, expected_names);
    }

    g_remove (filler);
    g_auto (CliRun) run = { 0 };
    run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", input, input, NULL);
    assert_dreamed (&run, input, SMALL_WIDTH, SMALL_HEIGHT);
    g_autofree char *sum_dreamed = file_sha256 (input);
    g_assert_cmpstr (sum_dreamed, !=, sum);
    g_remove (input);
  }
  unmount_small_fs (disk);
}

/* Whether process pid has the output it encodes or the file output open,
 * or output exists: it is writing. */
static gboolean
is_writing (GPid pid, const char *output)
{
  if (g_file_test (output, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autofree char *fd_folder = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (fd_folder, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));) {
    g_autofree char *link = g_build_filename (fd_folder, name, NULL);
    g_autofree char *target = g_file_read_link (link, NULL);
    if (target && (g_str_has_prefix (target, "/memfd:") || g_str_has_prefix (target, tmp_dir)))
      return TRUE;
  }
  return FALSE;
}

/* kill -9 while the output is encoded or written, at a few moments:
 * afterwards the output is either absent or the whole file (when the run
 * was done before the kill), and no temporary file is left. */
static void
test_kill_during_write (void)
{
  if (!need_data ())
    return;
  g_autofree char *input = make_sky_png ("big.png", "R'G'B' u8", 1600, 1200);
  g_autofree char *reference = tmp_path ("big-reference.png");
  g_autofree char *output = tmp_path ("big-killed.png");
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "1", "--iterations", "1", "--seed", "9", input, reference,
           NULL);
  assert_dreamed (&run, reference, 1600, 1200);
  g_autofree char *names_before = tu_folder_names (tmp_dir);
  int killed_writing = 0;
  for (int delay_ms = 0; delay_ms <= 200; delay_ms += 100) {
    const char *args[] = { "-q",     "--octaves", "1",   "--iterations", "1",
                           "--seed", "9",         input, output,         NULL };
    GPid pid = spawn_cli (args, -1, -1, NULL, NULL);
    int status = 0;
    while (waitpid (pid, &status, WNOHANG) == 0) {
      if (is_writing (pid, output)) {
        g_usleep (delay_ms * 1000);
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
        break;
      }
      g_usleep (500);
    }
    gboolean killed = WIFSIGNALED (status);
    killed_writing += killed;
    g_test_message ("kill %d ms into the write: %s, the output %s", delay_ms,
                    killed ? "killed" : "already done",
                    g_file_test (output, G_FILE_TEST_EXISTS) ? "exists" : "is absent");
    if (g_file_test (output, G_FILE_TEST_EXISTS))
      g_assert_true (files_equal (output, reference));
    if (killed)
      g_assert_false (g_file_test (output, G_FILE_TEST_EXISTS));
    g_remove (output);
    g_autofree char *names = tu_folder_names (tmp_dir);
    g_assert_cmpstr (names, ==, names_before);
  }
  g_assert_cmpint (killed_writing, >, 0);
  g_remove (input);
  g_remove (reference);
}

/* ---- Information ------------------------------------------------------------------------- */

/* stdout lists inception_4c/output as 512 x height x width with the card's
 * description of it. */
static void
assert_lists_4c (const CliRun *run, int height, int width)
{
  g_assert_cmpint (run->status, ==, 0);
  g_autofree char *pattern = g_strdup_printf ("^inception_4c/output\\s+\\S+\\s+512 x\\s+%d x\\s+%d"
                                              "\\s+Objects: ",
                                              height, width);
  g_assert_true (g_regex_match_simple (pattern, run->out, G_REGEX_MULTILINE, 0));
}

static void
test_list_layers (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--list-layers", NULL);
  assert_lists_4c (&run, 14, 14); /* a 224x224 input */
}

static void
test_list_layers_for_image (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--list-layers", small_rgb, NULL);
  assert_lists_4c (&run, SMALL_HEIGHT / 16, SMALL_WIDTH / 16);
}

static void
test_version (void)
{
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--version", NULL);
  g_assert_cmpint (run.status, ==, 0);
  /* The version, then what runs the products, as the library says it. */
  g_autofree char *kernels = dd_blas_describe ();
  g_autofree char *expected = g_strdup_printf ("deepdream " DD_VERSION "\n%s\n", kernels);
  g_assert_cmpstr (run.out, ==, expected);
  g_assert_nonnull (strstr (run.out, " kernels ("));
}

/* Unless the user chose a wait policy, the program runs again at start with
 * OpenMP threads that sleep while they wait; a user's choice stands. */
static void
test_wait_policy (void)
{
  const struct {
    const char *policy, *expected;
  } cases[] = {
    { NULL, "(waiting: OMP_WAIT_POLICY=passive)" },
    { "active", "(waiting: OMP_WAIT_POLICY=active)" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (GStrv) envp = g_get_environ ();
    envp = g_environ_unsetenv (envp, "OMP_WAIT_POLICY");
    envp = g_environ_unsetenv (envp, "GOMP_SPINCOUNT");
    if (cases[i].policy)
      envp = g_environ_setenv (envp, "OMP_WAIT_POLICY", cases[i].policy, TRUE);
    const char *argv[] = { cli_path, "--version", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr (GError) error = NULL;
    int status = -1;
    g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                 &err, &status, &error));
    g_assert_no_error (error);
    g_test_message ("OMP_WAIT_POLICY %s: %s", cases[i].policy ? cases[i].policy : "unset", out);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, cases[i].expected));
  }
}

static void
test_help (void)
{
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  for (int i = 0; i < n; i++) {
    if (!(specs[i].use & DD_PARAM_CLI))
      continue;
    g_autofree char *option =
        g_strdup_printf ("--%s%s", specs[i].cli_name, specs[i].arg ? "=" : " ");
    g_test_message ("looking for %s", option);
    g_assert_nonnull (strstr (run.out, option));
  }
}

/* ---- Set-up ------------------------------------------------------------------------------ */

/* ---- Artists' controls ---------------------------------------------------------------- */

/* --mask: bytes under the map's black half are the input's; the white
 * half is dreamed. */
static void
test_mask (void)
{
  if (!need_data ())
    return;
  g_autofree guint8 *map = g_malloc ((gsize) SMALL_WIDTH * SMALL_HEIGHT);
  for (int y = 0; y < SMALL_HEIGHT; y++)
    for (int x = 0; x < SMALL_WIDTH; x++)
      map[(gsize) y * SMALL_WIDTH + x] = x < SMALL_WIDTH / 2 ? 0 : 255;
  g_autofree char *mask = tmp_path ("mask.png");
  save_png (mask, "Y' u8", map, SMALL_WIDTH, SMALL_HEIGHT);
  g_autofree char *output = tmp_path ("masked.png");
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "2", "--iterations", "2", "--mask", mask, small_rgb, output,
           NULL);
  assert_dreamed (&run, output, SMALL_WIDTH, SMALL_HEIGHT);
  g_autoptr (GeglBuffer) in = tu_load_image (small_rgb);
  g_autoptr (GeglBuffer) out = tu_load_image (output);
  g_autofree guint8 *a = image_pixels (in, "R'G'B' u8"), *b = image_pixels (out, "R'G'B' u8");
  double changed = 0;
  for (int y = 0; y < SMALL_HEIGHT; y++) {
    const gsize row = (gsize) y * SMALL_WIDTH * 3, half = SMALL_WIDTH / 2 * 3;
    g_assert_cmpmem (a + row, half, b + row, half);
    for (gsize i = half; i < 2 * half; i++)
      changed += abs (a[row + i] - b[row + i]);
  }
  changed /= (double) SMALL_HEIGHT * SMALL_WIDTH / 2 * 3;
  g_test_message ("mean change under white: %.2f grey levels", changed);
  g_assert_cmpfloat (changed, >, 1);
}

/* A map of another size, or no map at all, is refused in one line. */
static void
test_mask_refused (void)
{
  if (!need_data ())
    return;
  g_autofree char *small_map = make_sky_png ("small-map.png", "Y' u8", 64, 48);
  g_autofree char *output = tmp_path ("refused.png");
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--iterations", "1", "--mask", small_map, small_rgb, output, NULL);
  assert_failed (&run, 1, "mask", output);
  run_cli (&run, "--iterations", "1", "--mask", "no-such-map.png", small_rgb, output, NULL);
  assert_failed (&run, 1, "mask", output);
}

/* --colours source: the output's a and b (CIE Lab) are the input's within
 * 8-bit rounding, where a plain dream moves them. */
static void
test_keep_colours (void)
{
  if (!need_data ())
    return;
  g_autofree char *plain = tmp_path ("plain-colours.png"), *kept = tmp_path ("kept.png");
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "-q", "--octaves", "2", "--iterations", "3", "--seed", "4", small_rgb, plain,
           NULL);
  assert_dreamed (&run, plain, SMALL_WIDTH, SMALL_HEIGHT);
  run_cli (&run, "-q", "--octaves", "2", "--iterations", "3", "--seed", "4", "--colours", "source",
           small_rgb, kept, NULL);
  assert_dreamed (&run, kept, SMALL_WIDTH, SMALL_HEIGHT);
  const char *const files[] = { small_rgb, plain, kept };
  float *lab[3];
  for (int f = 0; f < 3; f++) {
    g_autoptr (GeglBuffer) buffer = tu_load_image (files[f]);
    lab[f] = (float *) image_pixels (buffer, "CIE Lab float");
  }
  double off[2] = { 0, 0 }, dl = 0;
  const gsize n = (gsize) SMALL_WIDTH * SMALL_HEIGHT;
  for (gsize i = 0; i < n; i++) {
    for (int f = 1; f < 3; f++)
      off[f - 1] +=
          hypot (lab[f][3 * i + 1] - lab[0][3 * i + 1], lab[f][3 * i + 2] - lab[0][3 * i + 2]);
    dl += fabs (lab[2][3 * i] - lab[0][3 * i]);
  }
  for (int f = 0; f < 3; f++)
    g_free (lab[f]);
  g_test_message ("mean a,b distance from the input: plain %.3f, --colours source %.3f; "
                  "mean |dL| %.3f",
                  off[0] / n, off[1] / n, dl / n);
  g_assert_cmpfloat (off[0] / n, >, 1);
  g_assert_cmpfloat (off[1] / n, <, 0.3);
  g_assert_cmpfloat (dl / n, >, 1);
}

/* --preset: the preset's parameters with the user's options over them,
 * byte for byte the same as giving them all; a --layer replaces the
 * preset's. */
static void
test_preset (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  const char *names[] = { "preset.png", "explicit.png", "override.png", "default.png" };
  char *out[4];
  for (int i = 0; i < 4; i++)
    out[i] = tmp_path (names[i]);
  run_cli (&run, "-q", "--preset", "strokes", "--octaves", "1", "--iterations", "2", "--seed", "5",
           small_rgb, out[0], NULL);
  assert_dreamed (&run, out[0], SMALL_WIDTH, SMALL_HEIGHT);
  run_cli (&run, "-q", "--layer", "inception_3b/5x5_reduce", "--octaves", "1", "--iterations", "2",
           "--seed", "5", small_rgb, out[1], NULL);
  run_cli (&run, "-q", "--octaves", "1", "--preset", "strokes", "--layer", "inception_4c/output",
           "--iterations", "2", "--seed", "5", small_rgb, out[2], NULL);
  run_cli (&run, "-q", "--octaves", "1", "--iterations", "2", "--seed", "5", small_rgb, out[3],
           NULL);
  char *sums[4];
  for (int i = 0; i < 4; i++)
    sums[i] = file_sha256 (out[i]);
  g_assert_cmpstr (sums[0], ==, sums[1]);
  g_assert_cmpstr (sums[2], ==, sums[3]);
  g_assert_cmpstr (sums[0], !=, sums[3]);
  for (int i = 0; i < 4; i++) {
    g_free (sums[i]);
    g_free (out[i]);
  }
}

/* A user's own preset (as GIMP's dialogs save them, in the XDG config
 * folder) is listed and found by --preset, byte for byte the same as its
 * settings given as options. */
static void
test_preset_user (void)
{
  if (!need_data ())
    return;
  g_autofree char *config = tmp_path ("config");
  g_autofree char *folder = g_build_filename (config, "gimp-deepdream", NULL);
  g_autofree char *file = g_build_filename (folder, "presets", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (file,
                                      "[Preset mine]\nmodel=googlenet\nDescription=My strokes\n"
                                      "layers=inception_3b/5x5_reduce\noctaves=1\n",
                                      -1, NULL));
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--list-presets", NULL);
  g_assert_nonnull (strstr (run.out, "mine"));
  g_assert_nonnull (strstr (run.out, "My strokes"));
  g_autofree char *a = tmp_path ("user-preset.png"), *b = tmp_path ("user-explicit.png");
  run_cli (&run, "-q", "--preset", "mine", "--iterations", "2", "--seed", "5", small_rgb, a, NULL);
  assert_dreamed (&run, a, SMALL_WIDTH, SMALL_HEIGHT);
  run_cli (&run, "-q", "--layer", "inception_3b/5x5_reduce", "--octaves", "1", "--iterations", "2",
           "--seed", "5", small_rgb, b, NULL);
  g_unsetenv ("XDG_CONFIG_HOME");
  g_autofree char *sum_a = file_sha256 (a), *sum_b = file_sha256 (b);
  g_assert_cmpstr (sum_a, ==, sum_b);
}

/* --class alone takes the card's class preset under the options given:
 * byte for byte the same as --preset class with them, and not the same
 * as the class drawn with the layer dream's settings. */
static void
test_class_preset (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  g_autofree char *input = make_sky_png ("class-in.png", "R'G'B' u8", 224, 224);
  const char *names[] = { "class-alone.png", "class-preset.png", "class-plain.png" };
  char *out[3], *sums[3];
  for (int i = 0; i < 3; i++)
    out[i] = tmp_path (names[i]);
  run_cli (&run, "-q", "--class", "130", "--iterations", "2", "--seed", "5", input, out[0], NULL);
  assert_dreamed (&run, out[0], 224, 224);
  run_cli (&run, "-q", "--preset", "class", "--class", "130", "--iterations", "2", "--seed", "5",
           input, out[1], NULL);
  run_cli (&run, "-q", "--preset", "classic", "--class", "130", "--iterations", "2", "--seed", "5",
           input, out[2], NULL);
  assert_dreamed (&run, out[2], 224, 224);
  for (int i = 0; i < 3; i++)
    sums[i] = file_sha256 (out[i]);
  g_assert_cmpstr (sums[0], ==, sums[1]);
  g_assert_cmpstr (sums[0], !=, sums[2]);
  for (int i = 0; i < 3; i++) {
    g_free (sums[i]);
    g_free (out[i]);
  }
}

/* --list-presets names them; an unknown one is refused in one line that
 * lists those there are. */
static void
test_preset_listed_and_refused (void)
{
  if (!need_data ())
    return;
  g_auto (CliRun) run = { 0 };
  run_cli (&run, "--list-presets", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "classic"));
  g_assert_nonnull (strstr (run.out, "texture"));
  g_autofree char *output = tmp_path ("no-preset.png");
  run_cli (&run, "--preset", "nope", small_rgb, output, NULL);
  assert_failed (&run, 2, "(it has classic", output);
}

/* A DdSafeFile written by name, as plug-in-deepdream-save has GIMP's savers
 * write it: the temporary file is hidden beside the destination and ends
 * with its name (so its extension names the format); a writer that
 * replaces it with a new file of its own is committed all the same, with
 * the older destination's permissions; without a commit nothing is left
 * and the destination is as it was. */
static void
test_safe_file_by_name (void)
{
  g_autofree char *folder = tmp_path ("by-name");
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *dest = g_build_filename (folder, "dream.png", NULL);
  g_assert_true (g_file_set_contents (dest, "older", -1, NULL));
  g_assert_cmpint (g_chmod (dest, 0600), ==, 0);

  g_autoptr (GError) error = NULL;
  DdSafeFile *file = dd_safe_file_new_named (dest, &error);
  g_assert_no_error (error);
  g_autofree char *temp = g_strdup (dd_safe_file_get_temp_path (file));
  g_autofree char *temp_base = g_path_get_basename (temp);
  g_autofree char *temp_folder = g_path_get_dirname (temp);
  g_assert_cmpstr (temp_folder, ==, folder);
  g_assert_true (temp_base[0] == '.' && g_str_has_suffix (temp_base, "-dream.png"));
  g_assert_true (g_file_test (temp, G_FILE_TEST_IS_REGULAR));
  dd_safe_file_free (file);
  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (dest, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "older");

  file = dd_safe_file_new_named (dest, &error);
  g_assert_no_error (error);
  g_free (temp);
  temp = g_strdup (dd_safe_file_get_temp_path (file));
  /* g_file_set_contents writes a file of its own and renames it over. */
  g_assert_true (g_file_set_contents (temp, "newer", -1, NULL));
  g_assert_true (dd_safe_file_commit (file, &error));
  g_assert_no_error (error);
  dd_safe_file_free (file);
  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
  g_free (text);
  g_assert_true (g_file_get_contents (dest, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "newer");
  GStatBuf st;
  g_assert_cmpint (g_stat (dest, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autofree char *names = tu_folder_names (folder);
  g_assert_cmpstr (names, ==, "dream.png");

  g_autofree char *missing = g_build_filename (folder, "no", "dream.png", NULL);
  g_assert_null (dd_safe_file_new_named (missing, &error));
  g_assert_nonnull (strstr (error->message, "there is no folder"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failed check fails its case and the run goes on, so that every case
   * runs and the temporary folder is removed. */
  g_test_set_nonfatal_assertions ();
  gegl_init (&argc, &argv);
  cli_path = g_getenv ("DD_CLI");
  const char *shared = g_getenv ("DD_SHARED_DIR");
  if (!cli_path || !shared) {
    g_printerr ("test-cli: set DD_CLI to the deepdream program and DD_SHARED_DIR to the "
                "shared folder (meson test does)\n");
    return 1;
  }
  shared_images = g_build_filename (shared, "images", NULL);
  g_autofree char *model =
      g_build_filename (shared, "models", "bvlc_googlenet", "bvlc_googlenet.onnx", NULL);
  g_autofree char *sky = g_build_filename (shared_images, "sky1024px.jpg", NULL);
  have_data = g_file_test (model, G_FILE_TEST_EXISTS) && g_file_test (sky, G_FILE_TEST_EXISTS);
  g_autoptr (GError) error = NULL;
  tmp_dir = g_dir_make_tmp ("test-cli-XXXXXX", &error);
  g_assert_no_error (error);
  if (have_data) {
    small_rgb = make_sky_png ("small.png", "R'G'B' u8", SMALL_WIDTH, SMALL_HEIGHT);
    small_rgb_sum = file_sha256 (small_rgb);
  }

  g_test_add_func ("/cli/dream/end-to-end", test_end_to_end);
  g_test_add_func ("/cli/dream/reproducible", test_reproducible);
  g_test_add_func ("/cli/dream/seeds-differ", test_seeds_differ);
  g_test_add_func ("/cli/dream/thread-counts-agree", test_thread_counts_agree);
  g_test_add_func ("/cli/dream/settings-round-trip", test_settings_round_trip);
  g_test_add_func ("/cli/dream/settings-refused", test_settings_refused);
  g_test_add_func ("/cli/dream/caffemodel", test_caffemodel);
  g_test_add_func ("/cli/dream/verbose", test_verbose);
  g_test_add_func ("/cli/dream/guide", test_guide);
  g_test_add_func ("/cli/dream/class", test_class);
  g_test_add_func ("/cli/dream/laplacian", test_laplacian);
  g_test_add_func ("/cli/dream/several-layers", test_several_layers);
  g_test_add_func ("/cli/format/extensions", test_extensions);
  g_test_add_func ("/cli/format/alpha", test_alpha);
  g_test_add_func ("/cli/format/grey", test_grey);
  g_test_add_func ("/cli/usage/unknown-option", test_unknown_option);
  g_test_add_func ("/cli/usage/missing-output", test_missing_output);
  g_test_add_func ("/cli/usage/bad-values", test_bad_values);
  g_test_add_func ("/cli/error/missing-input", test_missing_input);
  g_test_add_func ("/cli/error/corrupt-input", test_corrupt_input);
  g_test_add_func ("/cli/error/unknown-layer", test_unknown_layer);
  g_test_add_func ("/cli/error/missing-model", test_missing_model);
  g_test_add_func ("/cli/error/unknown-card", test_unknown_card);
  g_test_add_func ("/cli/error/unwritable-output", test_unwritable_output);
  g_test_add_func ("/cli/error/tiny-image", test_tiny_image);
  g_test_add_func ("/cli/hostile/huge-image", test_huge_image);
  g_test_add_func ("/cli/hostile/non-finite-pixels", test_non_finite_pixels);
  g_test_add_func ("/cli/hostile/channel-past", test_channel_past);
  g_test_add_func ("/cli/hostile/weight-layer", test_weight_layer);
  g_test_add_func ("/cli/hostile/layer-weights", test_layer_weights);
  g_test_add_func ("/cli/hostile/guide-grey-other-size", test_guide_grey_other_size);
  g_test_add_func ("/cli/hostile/guide-corrupt", test_guide_corrupt);
  g_test_add_func ("/cli/usage/double-dash", test_double_dash);
  g_test_add_func ("/cli/usage/non-ascii-names", test_non_ascii_names);
  g_test_add_func ("/cli/hostile/truncated-images", test_truncated_images);
  g_test_add_func ("/cli/hostile/truncated-exr", test_truncated_exr);
  g_test_add_func ("/cli/hostile/damaged-headers", test_damaged_headers);
  g_test_add_func ("/cli/hostile/special-files", test_special_files);
  g_test_add_func ("/cli/hostile/huge-guide", test_huge_guide);
  g_test_add_func ("/cli/limits/address-space", test_address_space_limits);
  g_test_add_func ("/cli/safe-output/full-disk", test_full_disk);
  g_test_add_func ("/cli/safe-output/kill-during-write", test_kill_during_write);
  g_test_add_func ("/cli/safe-output/by-name", test_safe_file_by_name);
  g_test_add_func ("/cli/info/list-layers", test_list_layers);
  g_test_add_func ("/cli/info/version", test_version);
  g_test_add_func ("/cli/info/wait-policy", test_wait_policy);
  g_test_add_func ("/cli/info/help", test_help);
  g_test_add_func ("/cli/info/list-layers-for-image", test_list_layers_for_image);
  g_test_add_func ("/cli/controls/mask", test_mask);
  g_test_add_func ("/cli/controls/mask-refused", test_mask_refused);
  g_test_add_func ("/cli/controls/keep-colours", test_keep_colours);
  g_test_add_func ("/cli/controls/preset", test_preset);
  g_test_add_func ("/cli/controls/class-preset", test_class_preset);
  g_test_add_func ("/cli/controls/preset-listed-and-refused", test_preset_listed_and_refused);
  g_test_add_func ("/cli/controls/preset-user", test_preset_user);
  int status = g_test_run ();

  tu_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (small_rgb);
  g_free (small_rgb_sum);
  g_free (shared_images);
  gegl_exit ();
  return status;
}
