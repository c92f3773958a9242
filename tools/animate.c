/* animate.c: the command line's animation modes.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   deepdream --video [OPTION...] FRAMES OUTPUT-FOLDER
 *   deepdream --zoom-frames=N [OPTION...] PICTURE OUTPUT-FOLDER
 *
 * Frames are read and written as 8-bit RGB PNG: the frame a resumed run
 * carries on from is then bit for bit the one an uninterrupted run had in
 * memory, so both make the same frames. Every frame is written to a hidden
 * file in the output folder and renamed into place, so a frame that exists
 * is a whole one; a run started again skips them and goes on.
 */
#include <errno.h>
#include <gegl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "animate.h"
#include "deepdream-video.h"

enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

#define STATE_FILE ".deepdream-animation"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DdDreamParams, dd_dream_params_clear)

static gboolean video;
static double blend = DD_SEQUENCE_BLEND_DEFAULT;
static int zoom_frames;
static double zoom_factor = 1.05, zoom_angle;
static int loop_frames;

const GOptionEntry *
animate_option_entries (void)
{
  static const GOptionEntry entries[] = {
    { "video", 0, 0, G_OPTION_ARG_NONE, &video,
      "Dream a sequence: INPUT is a folder or a pattern ('clip/*.png') of frames, OUTPUT a "
      "folder; each frame carries on the previous dream along the motion",
      NULL },
    { "blend", 0, 0, G_OPTION_ARG_DOUBLE, &blend,
      "Video: share of the previous frame's dream carried on, 0..1 (0.75); a carried frame is "
      "dreamed the remaining share of --iterations",
      "W" },
    { "zoom-frames", 0, 0, G_OPTION_ARG_INT, &zoom_frames,
      "Make N frames of an endless zoom into INPUT, written into the folder OUTPUT", "N" },
    { "zoom", 0, 0, G_OPTION_ARG_DOUBLE, &zoom_factor, "Zoom: scale per frame (1.05)", "F" },
    { "zoom-angle", 0, 0, G_OPTION_ARG_DOUBLE, &zoom_angle,
      "Zoom: turn per frame in degrees, counter-clockwise (0)", "DEG" },
    { "loop", 0, 0, G_OPTION_ARG_INT, &loop_frames,
      "Zoom: blend the last N frames into the first, so the animation loops (0)", "N" },
    { NULL },
  };
  return entries;
}

gboolean
animate_requested (void)
{
  return video || zoom_frames != 0;
}

/* ---- Frames on disk ---------------------------------------------------------- */

static void
frame_clear (DdImage *im)
{
  g_clear_pointer (&im->pixels, g_free);
}

/* Reads any picture GEGL can load as 8-bit RGB; a frame of another size
 * than want_width x want_height (when not 0) is an error. */
static gboolean
load_frame (const char *path, DdImage *im, int want_width, int want_height, GError **error)
{
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglBuffer *buffer = NULL;
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglNode *sink =
      gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &buffer, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "cannot read '%s': no such file", path);
    return FALSE;
  }
  gegl_node_link (load, sink);
  gegl_node_process (sink);
  if (!buffer || gegl_buffer_get_width (buffer) < 1 || gegl_buffer_get_height (buffer) < 1) {
    g_clear_object (&buffer);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "cannot read '%s': not an image GEGL can load", path);
    return FALSE;
  }
  int width = gegl_buffer_get_width (buffer), height = gegl_buffer_get_height (buffer);
  if (want_width && (width != want_width || height != want_height)) {
    g_object_unref (buffer);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "'%s' is %dx%d, but the frames before it are %dx%d", path, width, height,
                 want_width, want_height);
    return FALSE;
  }
  frame_clear (im);
  *im = (DdImage){ NULL, width, height, 3, (gsize) width * 3, DD_PIXEL_U8 };
  im->pixels = g_try_malloc (im->stride * height);
  if (!im->pixels) {
    g_object_unref (buffer);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "'%s' is too big for memory", path);
    return FALSE;
  }
  gegl_buffer_get (buffer, NULL, 1.0, babl_format ("R'G'B' u8"), im->pixels, im->stride,
                   GEGL_ABYSS_NONE);
  g_object_unref (buffer);
  return TRUE;
}

/* Writes im as an 8-bit PNG, whole or not at all (cli_save_image), so a
 * resumed run finds every frame it keeps complete. */
static gboolean
save_frame (const DdImage *im, const char *path, GError **error)
{
  return cli_save_image (im, babl_format ("R'G'B' u8"), path, NULL, error);
}

/* Removes what a stopped run left half written: DdSafeFile's named
 * temporary files (".NAME.XXXXXXXX.part"), made where the file system
 * cannot make unnamed ones. */
static void
remove_partial_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (name[0] == '.' && g_str_has_suffix (name, ".part")) {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      g_unlink (path);
    }
}

static gboolean
make_output_folder (const char *folder, GError **error)
{
  if (g_mkdir_with_parents (folder, 0777) != 0 || !g_file_test (folder, G_FILE_TEST_IS_DIR) ||
      g_access (folder, W_OK) != 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES, "cannot write into the folder '%s': %s",
                 folder, errno ? g_strerror (errno) : "not a writable folder");
    return FALSE;
  }
  remove_partial_files (folder);
  return TRUE;
}

/* The seed of the run: the one given, else the one a stopped run in the
 * same folder drew, else a new one, remembered there for a resume. */
static int
run_seed (const char *folder, int given)
{
  g_autofree char *path = g_build_filename (folder, STATE_FILE, NULL);
  g_autoptr (GKeyFile) state = g_key_file_new ();
  int seed = given;
  if (seed < 0 && g_key_file_load_from_file (state, path, G_KEY_FILE_NONE, NULL)) {
    GError *error = NULL;
    seed = g_key_file_get_integer (state, "animation", "seed", &error);
    if (error || seed < 0)
      seed = -1;
    g_clear_error (&error);
  }
  if (seed < 0)
    seed = g_random_int_range (0, G_MAXINT32);
  g_key_file_set_integer (state, "animation", "seed", seed);
  g_key_file_save_to_file (state, path, NULL);
  return seed;
}

/* ---- Progress ------------------------------------------------------------------ */

typedef struct {
  gint64 started_us;
  int first, done, total;
  gboolean quiet;
} Progress;

static void
report_frame (Progress *p, const char *name, const char *note)
{
  p->done++;
  if (p->quiet)
    return;
  double elapsed = (double) (g_get_monotonic_time () - p->started_us) / G_USEC_PER_SEC;
  double per_frame = elapsed / (p->done - p->first);
  int left = (int) (per_frame * (p->total - p->done) + 0.5);
  g_printerr ("deepdream: frame %d/%d %s, %.1f s/frame, %d:%02d:%02d left%s%s\n", p->done, p->total,
              name, per_frame, left / 3600, left / 60 % 60, left % 60, note ? ", " : "",
              note ? note : "");
}

static int
fail (GError *error)
{
  g_printerr ("deepdream: %s\n", error->message);
  g_error_free (error);
  return EXIT_ERROR;
}

/* ---- Video --------------------------------------------------------------------- */

static gboolean
is_picture_name (const char *name)
{
  static const char *const suffixes[] = { ".png",  ".jpg", ".jpeg", ".tif", ".tiff",
                                          ".webp", ".exr", ".ppm",  ".pfm" };
  g_autofree char *lower = g_ascii_strdown (name, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (lower, suffixes[i]))
      return TRUE;
  return FALSE;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The frames a folder holds (its pictures) or a pattern names, sorted by
 * name, as frame numbers are zero-padded in every tool that writes them. */
static GPtrArray *
list_frames (const char *input, char **folder_out, GError **error)
{
  gboolean is_folder = g_file_test (input, G_FILE_TEST_IS_DIR);
  g_autofree char *folder = is_folder ? g_strdup (input) : g_path_get_dirname (input);
  g_autofree char *pattern = is_folder ? NULL : g_path_get_basename (input);
  if (pattern && !strpbrk (pattern, "*?")) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                 "'%s' is neither a folder nor a pattern of frames such as 'clip/*.png'", input);
    return NULL;
  }
  g_autoptr (GPatternSpec) spec = pattern ? g_pattern_spec_new (pattern) : NULL;
  g_autoptr (GDir) dir = g_dir_open (folder, 0, error);
  if (!dir)
    return NULL;
  GPtrArray *frames = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir))) {
    g_autofree char *path = g_build_filename (folder, name, NULL);
    if (name[0] != '.' &&
        (spec ? g_pattern_spec_match_string (spec, name) : is_picture_name (name)) &&
        g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (frames, g_steal_pointer (&path));
  }
  if (frames->len == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no frames in '%s'", input);
    g_ptr_array_unref (frames);
    return NULL;
  }
  g_ptr_array_sort (frames, compare_paths);
  *folder_out = g_canonicalize_filename (folder, NULL);
  return frames;
}

/* Output frame names: each input's name as a PNG in the output folder. */
static GPtrArray *
output_names (GPtrArray *frames, const char *folder)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < frames->len; i++) {
    g_autofree char *base = g_path_get_basename (frames->pdata[i]);
    char *dot = strrchr (base, '.');
    if (dot)
      *dot = 0;
    g_autofree char *png = g_strconcat (base, ".png", NULL);
    g_ptr_array_add (names, g_build_filename (folder, png, NULL));
  }
  return names;
}

static gboolean
open_model (DdDreamParams *p, const char *output, DdModel **model, DdModelCard **card,
            GError **error)
{
  if (p->start == DD_START_NOISE) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "animations dream from pictures: --start=noise cannot be used with them");
    return FALSE;
  }
  if (!make_output_folder (output, error))
    return FALSE;
  p->seed = run_seed (output, p->seed);
  *model = dd_model_open (p->model, card, error);
  return *model != NULL;
}

static int
run_video (const DdDreamParams *params, const char *input, const char *output, gboolean quiet)
{
  GError *error = NULL;
  g_auto (DdDreamParams) p = { 0 };
  dd_dream_params_copy (&p, params);
  g_autofree char *input_folder = NULL;
  if (!(blend >= 0 && blend <= 1)) {
    g_printerr ("deepdream: --blend=%g: must be within 0..1\n", blend);
    return EXIT_USAGE;
  }
  g_autoptr (GPtrArray) frames = list_frames (input, &input_folder, &error);
  if (!frames || !dd_sequence_supported (&error))
    return fail (error);
  g_autofree char *output_folder = g_canonicalize_filename (output, NULL);
  if (strcmp (input_folder, output_folder) == 0) {
    g_printerr ("deepdream: the output folder '%s' is the frames' own: give another\n", output);
    return EXIT_USAGE;
  }
  g_autoptr (GPtrArray) outputs = output_names (frames, output);
  g_autoptr (DdModel) model = NULL;
  g_autoptr (DdModelCard) card = NULL;
  if (!open_model (&p, output, &model, &card, &error))
    return fail (error);

  guint first = 0;
  while (first < outputs->len && g_file_test (outputs->pdata[first], G_FILE_TEST_IS_REGULAR))
    first++;
  if (first == outputs->len) {
    if (!quiet)
      g_printerr ("deepdream: all %u frames are already in %s\n", outputs->len, output);
    return 0;
  }
  DdImage source = { 0 }, dreamed = { 0 };
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  sp.blend = blend;
  g_autoptr (DdSequence) seq = NULL;
  gboolean ok = load_frame (frames->pdata[0], &source, 0, 0, &error) &&
                dd_dream_check (model, card, &p, source.width, source.height, 3, NULL, &error) &&
                (seq = dd_sequence_new (source.width, source.height, &sp, &error));
  const int width = source.width, height = source.height;
  /* A resumed run carries on from the last frame written. */
  if (ok && first > 0)
    ok = load_frame (frames->pdata[first - 1], &source, width, height, &error) &&
         load_frame (outputs->pdata[first - 1], &dreamed, width, height, &error) &&
         dd_sequence_commit (seq, &source, &dreamed, &error);
  if (ok && !dreamed.pixels) {
    dreamed = source;
    dreamed.pixels = g_malloc (source.stride * source.height);
  }
  if (ok && !quiet && first > 0)
    g_printerr ("deepdream: %u of %u frames already in %s, going on from there\n", first,
                outputs->len, output);
  Progress progress = { g_get_monotonic_time (), (int) first, (int) first, (int) outputs->len,
                        quiet };
  DdDreamParams frame_params = p;
  for (guint i = first; ok && i < frames->len; i++) {
    DdFrameReport report = { DD_FRAME_FIRST, 0, 0 };
    g_autofree char *name = g_path_get_basename (outputs->pdata[i]);
    ok = load_frame (frames->pdata[i], &source, width, height, &error) &&
         dd_sequence_prepare (seq, &source, &dreamed, &report, &error);
    frame_params.iterations = dd_sequence_iterations (&sp, &report, p.iterations);
    ok =
        ok &&
        dd_dream_run (model, card, &frame_params, NULL, &dreamed, NULL, NULL, NULL, NULL, &error) &&
        save_frame (&dreamed, outputs->pdata[i], &error) &&
        dd_sequence_commit (seq, &source, &dreamed, &error);
    if (ok)
      report_frame (&progress, name, report.kind == DD_FRAME_CUT ? "cut: started afresh" : NULL);
  }
  frame_clear (&source);
  frame_clear (&dreamed);
  if (!ok)
    return fail (error);
  if (!quiet)
    g_printerr ("deepdream: wrote %u frames into %s (seed %d)\n", outputs->len - first, output,
                p.seed);
  return 0;
}

/* ---- The endless zoom ---------------------------------------------------------- */

/* Zoom frame j of n + loop: the first loop frames and those past n are
 * kept hidden until the loop's cross-fade makes the first frames of it. */
static char *
zoom_frame_path (const char *folder, int j, int n, int loop)
{
  g_autofree char *name = j < loop || j >= n ? g_strdup_printf (".zoom-%05d.png", j)
                                             : g_strdup_printf ("frame-%05d.png", j);
  return g_build_filename (folder, name, NULL);
}

static gboolean
zoom_done (const char *folder, int n)
{
  for (int j = 0; j < n; j++) {
    g_autofree char *path = zoom_frame_path (folder, j, n, 0);
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
      return FALSE;
  }
  return TRUE;
}

/* Frame i of the first loop frames becomes a cross-fade of the frame that
 * would follow the last (n + i) into the i-th, the weight moving from
 * the former to the latter, so that the last frame runs on into the first. */
static gboolean
zoom_loop (const char *folder, int n, int loop, DdImage *a, DdImage *b, GError **error)
{
  for (int i = 0; i < loop; i++) {
    g_autofree char *start_path = zoom_frame_path (folder, i, n, loop);
    g_autofree char *end_path = zoom_frame_path (folder, n + i, n, loop);
    g_autofree char *out_path = zoom_frame_path (folder, i, n, 0);
    const double weight_end = 1 - (double) (i + 1) / (loop + 1);
    if (!load_frame (start_path, a, 0, 0, error) ||
        !load_frame (end_path, b, a->width, a->height, error) ||
        !dd_frame_mix (a, b, weight_end, a, error) || !save_frame (a, out_path, error))
      return FALSE;
  }
  for (int j = 0; j < loop; j++) {
    g_autofree char *start_path = zoom_frame_path (folder, j, n, loop);
    g_autofree char *end_path = zoom_frame_path (folder, n + j, n, loop);
    g_unlink (start_path);
    g_unlink (end_path);
  }
  return TRUE;
}

static int
run_zoom (const DdDreamParams *params, const char *input, const char *output, gboolean quiet)
{
  GError *error = NULL;
  g_auto (DdDreamParams) p = { 0 };
  dd_dream_params_copy (&p, params);
  const int n = zoom_frames, loop = loop_frames;
  if (loop < 0 || loop >= n) {
    g_printerr ("deepdream: --loop=%d: must be within 0..%d (fewer than --zoom-frames)\n", loop,
                n - 1);
    return EXIT_USAGE;
  }
  DdImage first = { 0 }, previous = { 0 }, next = { 0 };
  if (!load_frame (input, &first, 0, 0, &error))
    return fail (error);
  g_autoptr (DdZoom) zoom = dd_zoom_new (&first, zoom_factor, zoom_angle, &error);
  g_autoptr (DdModel) model = NULL;
  g_autoptr (DdModelCard) card = NULL;
  gboolean ok = zoom && open_model (&p, output, &model, &card, &error) &&
                dd_dream_check (model, card, &p, first.width, first.height, 3, NULL, &error);
  if (ok && zoom_done (output, n)) {
    if (!quiet)
      g_printerr ("deepdream: all %d frames are already in %s\n", n, output);
    frame_clear (&first);
    return 0;
  }
  int j = 0;
  for (;; j++) {
    g_autofree char *path = zoom_frame_path (output, j, n, loop);
    if (j == n + loop || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
      break;
  }
  if (ok && j > 0) {
    g_autofree char *path = zoom_frame_path (output, j - 1, n, loop);
    ok = load_frame (path, &previous, first.width, first.height, &error);
    if (ok && !quiet)
      g_printerr ("deepdream: %d of %d frames already in %s, going on from there\n", j, n + loop,
                  output);
  }
  next = first;
  next.pixels = g_malloc (first.stride * first.height);
  Progress progress = { g_get_monotonic_time (), j, j, n + loop, quiet };
  for (; ok && j < n + loop; j++) {
    g_autofree char *path = zoom_frame_path (output, j, n, loop);
    g_autofree char *name = g_path_get_basename (path);
    if (j == 0)
      memcpy (next.pixels, first.pixels, first.stride * first.height);
    ok = (j == 0 || dd_zoom_next (zoom, &previous, &next, &error)) &&
         dd_dream_run (model, card, &p, NULL, &next, NULL, NULL, NULL, NULL, &error) &&
         save_frame (&next, path, &error);
    if (ok) {
      report_frame (&progress, name, j >= n ? "for the loop" : NULL);
      DdImage swap = previous.pixels ? previous : first;
      if (!previous.pixels)
        swap.pixels = g_malloc (first.stride * first.height);
      previous = next;
      next = swap;
    }
  }
  ok = ok && zoom_loop (output, n, loop, &previous, &next, &error);
  frame_clear (&first);
  frame_clear (&previous);
  frame_clear (&next);
  if (!ok)
    return fail (error);
  if (!quiet)
    g_printerr ("deepdream: wrote %d zoom frames into %s (seed %d)\n", n, output, p.seed);
  return 0;
}

int
animate_run (const DdDreamParams *params, const char *input, const char *output, gboolean quiet)
{
  if (video && zoom_frames > 0) {
    g_printerr ("deepdream: --video and --zoom-frames are two modes: give one\n");
    return EXIT_USAGE;
  }
  if (zoom_frames < 0) {
    g_printerr ("deepdream: --zoom-frames=%d: must be 1 or more\n", zoom_frames);
    return EXIT_USAGE;
  }
  return video ? run_video (params, input, output, quiet) : run_zoom (params, input, output, quiet);
}
