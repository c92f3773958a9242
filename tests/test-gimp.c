/* test-gimp.c: plug-in-deepdream inside a real GIMP.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each case starts gimp-console-2.10 in batch mode on a copy of the sky
 * picture (scaled to 256x144), in a GIMP profile of its own made once per
 * run with the built plug-in in it. A first Script-Fu command prepares the
 * image, writes a report of its layers and its composite ("before"), and
 * calls the plug-in; a second one writes them again ("after"), so a failed
 * call can be checked to have left the image as it was. gimp-console
 * exits 0 even when a command fails: cases read what it printed.
 *
 * Environment: DD_PLUGIN (the built plug-in), DD_GIMP_HELPERS (the Script-Fu
 * helpers), DD_BATCH_SCRIPT, DD_SHARED_DIR, DEEPDREAM_MODEL_PATH.
 */
#include <gegl.h>
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libgimpbase/gimpbase.h>
#include <errno.h>
#include <math.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deepdream.h"
#include "dream/dd-flow.h"
#include "testutil.h"

/* libgimp's header needs GTK; the test only needs these values of its
 * GimpLayerMode, which are part of the PDB's stable interface. */
enum { LAYER_MODE_OVERLAY = 23, LAYER_MODE_NORMAL = 28, LAYER_MODE_SCREEN = 31 };

#define EDGE_W 256
#define EDGE_H 144

static struct {
  char *gimp;    /* gimp-console-2.10, NULL when not installed */
  char *dir;     /* this program's temporary folder */
  char *profile; /* GIMP2_DIRECTORY */
  gboolean ready, broken;
} env;

/* ---- Running GIMP ---------------------------------------------------------------- */

/* Runs gimp-console on the commands, each after loading the helpers;
 * returns what it printed (stdout, then stderr). */
static char *
run_gimp (const char *const *commands)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (env.gimp));
  for (const char *flag = "idf"; *flag; flag++)
    g_ptr_array_add (argv, g_strdup_printf ("-%c", *flag));
  for (int i = 0; commands && commands[i]; i++) {
    g_ptr_array_add (argv, g_strdup ("-b"));
    g_ptr_array_add (argv, g_strdup_printf ("(begin (load \"%s\") %s)",
                                            g_getenv ("DD_GIMP_HELPERS"), commands[i]));
  }
  g_ptr_array_add (argv, g_strdup ("-b"));
  g_ptr_array_add (argv, g_strdup ("(gimp-quit 0)"));
  g_ptr_array_add (argv, NULL);

  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "GIMP2_DIRECTORY", env.profile, TRUE);
  /* The users' presets of the engine live there. */
  g_autofree char *config = g_build_filename (env.dir, "config", NULL);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (env.dir, (char **) argv->pdata, envp, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                     &out, &err, NULL, &error))
    return g_strdup_printf ("could not start %s: %s", env.gimp, error->message);
  return g_strconcat (out, err, NULL);
}

/* The profile is made by a first start (GIMP wants to create the folder
 * itself); the plug-in copied in then is registered at the next start. */
static gboolean
make_profile (void)
{
  env.profile = g_build_filename (env.dir, "gimp", NULL);
  g_autofree char *output = run_gimp (NULL);
  g_autofree char *plugin_dir =
      g_build_filename (env.profile, "plug-ins", "plug-in-deepdream", NULL);
  g_autofree char *target = g_build_filename (plugin_dir, "plug-in-deepdream", NULL);
  g_autoptr (GFile) src = g_file_new_for_path (g_getenv ("DD_PLUGIN"));
  g_autoptr (GFile) dst = g_file_new_for_path (target);
  g_autoptr (GError) error = NULL;
  if (g_mkdir_with_parents (plugin_dir, 0755) != 0 ||
      !g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error)) {
    g_test_message ("cannot install the plug-in into %s: %s\n%s", plugin_dir,
                    error ? error->message : g_strerror (errno), output);
    return FALSE;
  }
  return TRUE;
}

/* FALSE, with the case skipped or failed, when GIMP cannot be run. */
static gboolean
gimp_ready (void)
{
  if (!env.gimp) {
    g_test_skip ("gimp-console-2.10 is not installed");
    return FALSE;
  }
  if (!env.ready && !env.broken) {
    env.ready = make_profile ();
    env.broken = !env.ready;
  }
  if (env.broken)
    g_test_fail ();
  return env.ready;
}

/* ---- One case ----------------------------------------------------------------------- */

typedef struct {
  char *dir;    /* the case's folder: its copy of the picture, reports, PNGs */
  char *image;  /* the copy */
  char *output; /* what GIMP printed */
} Case;

static char *
case_path (const Case *c, const char *name)
{
  return g_build_filename (c->dir, name, NULL);
}

static gboolean
case_begin (Case *c, const char *picture)
{
  *c = (Case){ 0 };
  if (!gimp_ready ())
    return FALSE;
  /* A bare name is one of the shared test pictures. */
  g_autofree char *shared =
      g_path_is_absolute (picture)
          ? g_strdup (picture)
          : g_build_filename (g_getenv ("DD_SHARED_DIR"), "images", picture, NULL);
  if (!g_file_test (shared, G_FILE_TEST_IS_REGULAR)) {
    g_test_skip ("the test pictures (DD_SHARED_DIR) are absent");
    return FALSE;
  }
  g_autofree char *name = g_strdelimit (g_strdup (g_test_get_path () + 1), "/", '-');
  c->dir = g_build_filename (env.dir, name, NULL);
  g_autofree char *base = g_path_get_basename (picture);
  c->image = case_path (c, base);
  g_mkdir_with_parents (c->dir, 0755);
  g_autoptr (GFile) src = g_file_new_for_path (shared);
  g_autoptr (GFile) dst = g_file_new_for_path (c->image);
  g_assert_true (g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, NULL));
  return TRUE;
}

/* Opens the copy as img with its layer as drw, runs prepare, snapshots
 * "before", runs call; then snapshots "after" in a command of its own. */
static void
case_run (Case *c, const char *prepare, const char *call)
{
  g_autofree char *first = g_strdup_printf (
      "(let* ((img (dd-open \"%s\")) (drw (dd-layer img))) %s (dd-snapshot img \"%s\" "
      "\"before\") %s)",
      c->image, prepare, c->dir, call);
  g_autofree char *second =
      g_strdup_printf ("(dd-snapshot (dd-last-image) \"%s\" \"after\")", c->dir);
  const char *commands[] = { first, second, NULL };
  c->output = run_gimp (commands);
  g_test_message ("%s", c->output);
}

static void
case_end (Case *c)
{
  g_free (c->dir);
  g_free (c->image);
  g_free (c->output);
}

static void
assert_succeeded (const Case *c)
{
  if (strstr (c->output, "execution error") || strstr (c->output, "calling error"))
    g_error ("the batch command failed:\n%s", c->output);
}

/* The call failed with a message containing expected. */
static void
assert_failed_with (const Case *c, const char *expected)
{
  g_assert_nonnull (strstr (c->output, "execution error"));
  g_assert_true (strstr (c->output, "plug-in-deepdream failed") ||
                 strstr (c->output, "plug-in-deepdream-full failed"));
  if (!strstr (c->output, expected))
    g_error ("the error does not say '%s':\n%s", expected, c->output);
}

/* ---- Reports ------------------------------------------------------------------------ */

typedef struct {
  int depth;
  char name[128];
  int mode;
  double opacity;
  int x, y, width, height;
  gboolean mask;
  int type, bpp;
} Layer;

typedef struct {
  int base_type, precision, width, height;
  int n_layers;
  Layer layers[16];
} Report;

static void
report_load (const Case *c, const char *tag, Report *r)
{
  g_autofree char *name = g_strconcat (tag, ".txt", NULL);
  g_autofree char *path = case_path (c, name);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("no report %s:\n%s", path, c->output);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  *r = (Report){ 0 };
  g_assert_cmpint (
      sscanf (lines[0], "%d|%d|%d|%d|", &r->base_type, &r->precision, &r->width, &r->height), ==,
      4);
  for (int i = 1; lines[i] && *lines[i]; i++) {
    g_assert_cmpint (r->n_layers, <, (int) G_N_ELEMENTS (r->layers));
    Layer *l = &r->layers[r->n_layers++];
    g_auto (GStrv) f = g_strsplit (lines[i], "|", -1);
    g_assert_cmpuint (g_strv_length (f), >=, 11);
    l->depth = atoi (f[0]);
    g_strlcpy (l->name, f[1], sizeof l->name);
    l->mode = atoi (f[2]);
    l->opacity = g_ascii_strtod (f[3], NULL);
    l->x = atoi (f[4]);
    l->y = atoi (f[5]);
    l->width = atoi (f[6]);
    l->height = atoi (f[7]);
    l->mask = atoi (f[8]);
    l->type = atoi (f[9]);
    l->bpp = atoi (f[10]);
  }
}

/* The one dream layer added on top of a plain one-layer image. */
static const Layer *
single_dream_layer (const Case *c, Report *after)
{
  Report before;
  report_load (c, "before", &before);
  report_load (c, "after", after);
  g_assert_cmpint (before.n_layers, ==, 1);
  g_assert_cmpint (after->n_layers, ==, 2);
  g_assert_cmpstr (after->layers[1].name, ==, before.layers[0].name);
  g_assert_true (g_str_has_prefix (after->layers[0].name, "DeepDream "));
  return &after->layers[0];
}

/* ---- Pixels ------------------------------------------------------------------------- */

typedef struct {
  float *rgba;
  int width, height;
} Picture;

static void
picture_load (const Case *c, const char *file, Picture *p)
{
  g_autofree char *path = case_path (c, file);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_error ("GIMP did not write %s:\n%s", path, c->output);
  GeglBuffer *buffer = tu_load_image (path);
  g_assert_nonnull (buffer);
  p->width = gegl_buffer_get_width (buffer);
  p->height = gegl_buffer_get_height (buffer);
  p->rgba = g_new (float, (gsize) p->width * p->height * 4);
  gegl_buffer_get (buffer, NULL, 1.0, babl_format ("R'G'B'A float"), p->rgba, GEGL_AUTO_ROWSTRIDE,
                   GEGL_ABYSS_NONE);
  g_object_unref (buffer);
}

static void
picture_clear (Picture *p)
{
  g_clear_pointer (&p->rgba, g_free);
}

static gboolean
inside (const GeglRectangle *r, int x, int y)
{
  return x >= r->x && x < r->x + r->width && y >= r->y && y < r->y + r->height;
}

/* Largest channel difference outside keep_out (NULL: everywhere) and mean
 * difference inside look (NULL: everywhere). */
static void
compare (const Picture *a, const Picture *b, const GeglRectangle *keep_out,
         const GeglRectangle *look, double *max_outside, double *mean_inside)
{
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  double max = 0, sum = 0;
  gsize n = 0;
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++)
      for (int k = 0; k < 4; k++) {
        gsize i = ((gsize) y * a->width + x) * 4 + k;
        double d = fabs (a->rgba[i] - b->rgba[i]);
        if (!keep_out || !inside (keep_out, x, y))
          max = MAX (max, d);
        if (!look || inside (look, x, y)) {
          sum += d;
          n++;
        }
      }
  *max_outside = max;
  *mean_inside = n ? sum / n : 0;
}

/* The composite changed inside look and nowhere outside keep_out. */
static void
assert_composite_changed (const Case *c, const GeglRectangle *keep_out, const GeglRectangle *look)
{
  Picture before, after;
  double max_outside, mean_inside;
  picture_load (c, "before.png", &before);
  picture_load (c, "after.png", &after);
  compare (&before, &after, keep_out, look, &max_outside, &mean_inside);
  if (keep_out)
    g_assert_cmpfloat (max_outside, ==, 0);
  g_assert_cmpfloat (mean_inside, >, 1.0 / 255);
  picture_clear (&before);
  picture_clear (&after);
}

/* The image has the same layers, modes, offsets and masks as before. */
static void
assert_layers_unchanged (const Case *c)
{
  g_autofree char *before_txt = case_path (c, "before.txt");
  g_autofree char *after_txt = case_path (c, "after.txt");
  g_autofree char *before = NULL, *after = NULL;
  g_assert_true (g_file_get_contents (before_txt, &before, NULL, NULL));
  if (!g_file_get_contents (after_txt, &after, NULL, NULL))
    g_error ("no report after the failed run:\n%s", c->output);
  g_assert_cmpstr (before, ==, after);
}

/* A failed run left the image exactly as it was. */
static void
assert_image_unchanged (const Case *c)
{
  assert_layers_unchanged (c);
  Picture a, b;
  double max_outside, mean_inside;
  picture_load (c, "before.png", &a);
  picture_load (c, "after.png", &b);
  compare (&a, &b, NULL, NULL, &max_outside, &mean_inside);
  g_assert_cmpfloat (max_outside, ==, 0);
  picture_clear (&a);
  picture_clear (&b);
}

/* ---- Cases -------------------------------------------------------------------------- */

#define DREAM_3B(mode, opacity)                                                                    \
  "(dd-dream img drw \"\" \"inception_3b/output\" 1 " mode " " opacity ")"

static void
test_feathered_ellipse (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *prepare = g_strdup_printf (
      "(gimp-image-select-ellipse img CHANNEL-OP-REPLACE 64 24 128 96) "
      "(gimp-selection-feather img 12) (dd-save-layer img drw \"%s/source-before.png\")",
      c.dir);
  g_autofree char *call =
      g_strdup_printf ("(begin " DREAM_3B ("LAYER-MODE-NORMAL", "100") " (dd-save-layer img drw "
                                                                       "\"%s/source-after.png\"))",
                       c.dir);
  case_run (&c, prepare, call);
  assert_succeeded (&c);

  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpstr (dream->name, ==, "DeepDream inception_3b");
  g_assert_true (dream->mask);
  g_assert_cmpint (dream->mode, ==, LAYER_MODE_NORMAL);
  /* The feather reaches about its radius beyond the ellipse. */
  const GeglRectangle selection = { 64 - 12, 24 - 12, 128 + 24, 96 + 24 };
  const GeglRectangle centre = { 64 + 32, 24 + 24, 64, 48 };
  assert_composite_changed (&c, &selection, &centre);

  /* The source layer itself is never written to. */
  Picture a, b;
  double max_diff, mean_diff;
  picture_load (&c, "source-before.png", &a);
  picture_load (&c, "source-after.png", &b);
  compare (&a, &b, NULL, NULL, &max_diff, &mean_diff);
  g_assert_cmpfloat (max_diff, ==, 0);
  picture_clear (&a);
  picture_clear (&b);
  case_end (&c);
}

static void
test_rectangle (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "(gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 20 150 100)",
            DREAM_3B ("LAYER-MODE-NORMAL", "100"));
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpint (dream->x, ==, 40);
  g_assert_cmpint (dream->y, ==, 20);
  g_assert_cmpint (dream->width, ==, 150);
  g_assert_cmpint (dream->height, ==, 100);
  g_assert_true (dream->mask);
  const GeglRectangle box = { 40, 20, 150, 100 };
  assert_composite_changed (&c, &box, &box);
  case_end (&c);
}

/* The new layer carries the dream's settings as a parasite: the ones the
 * procedure was given, the seed it used and the model's checksum. */
static void
test_settings_parasite (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *path = case_path (&c, "settings.ini");
  g_autofree char *call =
      g_strdup_printf ("(dd-save-parasite " DREAM_3B ("LAYER-MODE-NORMAL", "100") " \"%s\" \"%s\")",
                       DD_SETTINGS_PARASITE, path);
  case_run (&c, "(gimp-selection-none img)", call);
  assert_succeeded (&c);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  DdDreamParams p;
  dd_dream_params_init (&p);
  g_autofree char *sha = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (dd_dream_settings_from_text (&p, text, strlen (text), &sha, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (p.layers, ==, "inception_3b/output");
  g_assert_cmpint (p.octaves, ==, 1);
  g_assert_cmpint (p.iterations, ==, 1);
  g_assert_cmpint (p.seed, ==, 1);
  g_assert_cmpint (p.jitter, ==, 0);
  g_assert_cmpint (strlen (sha), ==, 64);
  dd_dream_params_clear (&p);
  case_end (&c);
}

static void
test_no_selection (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  /* The model's default layer, for the default name. */
  case_run (&c, "(gimp-selection-none img)",
            "(dd-dream img drw \"\" \"\" 1 LAYER-MODE-NORMAL 100)");
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpstr (dream->name, ==, "DeepDream inception_4c");
  g_assert_cmpint (dream->x, ==, 0);
  g_assert_cmpint (dream->y, ==, 0);
  g_assert_cmpint (dream->width, ==, EDGE_W);
  g_assert_cmpint (dream->height, ==, EDGE_H);
  g_assert_false (dream->mask);
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

static void
test_stacked_modes (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "",
            "(let ((first " DREAM_3B (
                "LAYER-MODE-OVERLAY",
                "60") "))"
                      " (dd-dream img first \"\" \"inception_3a/output\" 1 LAYER-MODE-SCREEN 60))");
  assert_succeeded (&c);
  Report after;
  report_load (&c, "after", &after);
  g_assert_cmpint (after.n_layers, ==, 3);
  g_assert_cmpstr (after.layers[0].name, ==, "DeepDream inception_3a");
  g_assert_cmpint (after.layers[0].mode, ==, LAYER_MODE_SCREEN);
  g_assert_cmpfloat_with_epsilon (after.layers[0].opacity, 60, 1e-3);
  g_assert_cmpstr (after.layers[1].name, ==, "DeepDream inception_3b");
  g_assert_cmpint (after.layers[1].mode, ==, LAYER_MODE_OVERLAY);
  g_assert_cmpfloat_with_epsilon (after.layers[1].opacity, 60, 1e-3);
  g_assert_cmpfloat_with_epsilon (after.layers[2].opacity, 100, 1e-3);
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

static void
test_grey (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "(gimp-image-convert-grayscale img)", DREAM_3B ("LAYER-MODE-NORMAL", "100"));
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpint (after.base_type, ==, GIMP_GRAY);
  g_assert_cmpint (dream->type, ==, GIMP_GRAYA_IMAGE);
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

/* A transparent stripe stays transparent in the dream, the rest opaque. */
static void
test_alpha (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *call = g_strdup_printf (
      "(dd-save-layer img " DREAM_3B ("LAYER-MODE-NORMAL", "100") " \"%s/dream.png\")", c.dir);
  case_run (&c,
            "(gimp-layer-add-alpha drw)"
            " (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 64 144)"
            " (gimp-drawable-edit-clear drw) (gimp-selection-none img)",
            call);
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpint (dream->type, ==, GIMP_RGBA_IMAGE);
  Picture p;
  picture_load (&c, "dream.png", &p);
  g_assert_cmpint (p.width, ==, EDGE_W);
  for (int y = 0; y < p.height; y++)
    for (int x = 0; x < p.width; x++) {
      float alpha = p.rgba[((gsize) y * p.width + x) * 4 + 3];
      g_assert_cmpfloat (alpha, ==, x < 64 ? 0.0f : 1.0f);
    }
  picture_clear (&p);
  case_end (&c);
}

/* A smaller copy of the layer, offset inside a group; the selection
 * overlaps part of it. */
static void
test_offset_in_group (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c,
            "(define group (car (gimp-layer-group-new img)))"
            " (gimp-image-insert-layer img group 0 0)"
            " (set! drw (let ((copy (car (gimp-layer-copy drw TRUE))))"
            "   (gimp-image-insert-layer img copy group 0)"
            "   (gimp-layer-resize copy 180 110 0 0)"
            "   (gimp-layer-set-offsets copy 50 30) copy))"
            " (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 20 10 220 110)",
            DREAM_3B ("LAYER-MODE-NORMAL", "100"));
  assert_succeeded (&c);
  Report after;
  report_load (&c, "after", &after);
  /* group, dream, copy (in the group), background */
  g_assert_cmpint (after.n_layers, ==, 4);
  const Layer *dream = &after.layers[1];
  g_assert_cmpint (after.layers[0].depth, ==, 0);
  g_assert_cmpint (dream->depth, ==, 1);
  g_assert_cmpint (after.layers[2].depth, ==, 1);
  g_assert_cmpstr (dream->name, ==, "DeepDream inception_3b");
  /* The layer spans 50..230 x 30..140, the selection 20..240 x 10..120. */
  g_assert_cmpint (dream->x, ==, 50);
  g_assert_cmpint (dream->y, ==, 30);
  g_assert_cmpint (dream->width, ==, 180);
  g_assert_cmpint (dream->height, ==, 90);
  g_assert_true (dream->mask);
  const GeglRectangle box = { 50, 30, 180, 90 };
  assert_composite_changed (&c, &box, &box);
  case_end (&c);
}

static void
test_16_bit (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "(gimp-image-convert-precision img PRECISION-U16-GAMMA)",
            DREAM_3B ("LAYER-MODE-NORMAL", "100"));
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpint (after.precision, ==, GIMP_PRECISION_U16_GAMMA);
  g_assert_cmpint (dream->bpp, ==, 8); /* RGBA, 16 bits each */
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

/* A run that must fail with a message containing expected, leaving the
 * image as it was. */
static void
check_refused (const char *prepare, const char *call, const char *expected)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, prepare, call);
  assert_failed_with (&c, expected);
  assert_image_unchanged (&c);
  case_end (&c);
}

static void
test_error_indexed (void)
{
  check_refused ("(gimp-image-convert-indexed img CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE "
                 "64 FALSE FALSE \"\")",
                 DREAM_3B ("LAYER-MODE-NORMAL", "100"), "indexed");
}

static void
test_error_octaves (void)
{
  check_refused ("", "(dd-dream img drw \"\" \"inception_3b/output\" 0 LAYER-MODE-NORMAL 100)",
                 "octaves: 0");
}

static void
test_error_unknown_layer (void)
{
  check_refused ("", "(dd-dream img drw \"\" \"inception_9z/nothing\" 1 LAYER-MODE-NORMAL 100)",
                 "inception_9z/nothing");
}

static void
test_error_missing_model (void)
{
  check_refused ("",
                 "(dd-dream img drw \"/nonexistent/dream-model.onnx\" \"\" 1 "
                 "LAYER-MODE-NORMAL 100)",
                 "/nonexistent/dream-model.onnx");
}

static void
test_error_layer_mode (void)
{
  check_refused ("", DREAM_3B ("LAYER-MODE-PASS-THROUGH", "100"), "layer-mode");
}

/* ---- Hostile input ------------------------------------------------------------------- */

/* plug-in-deepdream on img's drw with one octave of the given layers,
 * channel, octave scale, iterations, guide drawable and memory budget (MB,
 * 0 = automatic). */
#define CALL(layers, channel, scale, iterations, guide, memory)                                    \
  "(plug-in-deepdream RUN-NONINTERACTIVE img drw \"\" \"" layers "\" " channel " 1 " scale         \
  " " iterations " 1.5 0 1 " guide " LAYER-MODE-NORMAL 100 -1 0 0 0 " memory ")"
#define CALL_3B(channel, scale, iterations)                                                        \
  CALL ("inception_3b/output", channel, scale, iterations, "-1", "0")

static void
test_hostile_octave_scale (void)
{
  check_refused ("", CALL_3B ("-1", "1.0", "1"), "octave-scale");
}

static void
test_hostile_zero_iterations (void)
{
  check_refused ("", CALL_3B ("-1", "1.4", "0"), "iterations");
}

static void
test_hostile_channel_past (void)
{
  check_refused ("", CALL_3B ("480", "1.4", "1"),
                 "channel: 480 is past the 480 channels of inception_3b/output");
}

static void
test_hostile_weight_layer (void)
{
  check_refused ("", CALL ("inception_3b_1x1_weights", "-1", "1.4", "1", "-1", "0"),
                 "'inception_3b_1x1_weights' is a weight or constant");
}

/* The layer shrunk to 100x100 and a selection to its right. */
static void
test_hostile_selection_outside (void)
{
  check_refused ("(gimp-layer-resize drw 100 100 0 0)"
                 " (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 150 20 60 60)",
                 DREAM_3B ("LAYER-MODE-NORMAL", "100"), "the selection does not touch the layer");
}

static void
test_hostile_tiny_selection (void)
{
  check_refused ("(gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 10 2 2)",
                 DREAM_3B ("LAYER-MODE-NORMAL", "100"), "the image is 2x2");
}

/* A guide from another image, grey and of another shape, is a valid guide. */
static void
test_hostile_guide_grey (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c,
            "(define guide-img (car (gimp-image-duplicate img)))"
            " (gimp-image-convert-grayscale guide-img) (gimp-image-scale guide-img 90 200)"
            " (define guide (dd-layer guide-img))",
            "(begin " CALL ("inception_3b/output", "-1", "1.4", "1", "guide",
                            "0") " (gimp-image-delete guide-img))");
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpint (dream->width, ==, EDGE_W);
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

/* A 32-bit float image holding NaN, infinities and 1e30 (a float TIFF made
 * here) dreams to a layer of finite pixels in 0..1. */
static void
test_hostile_non_finite (void)
{
  if (!gimp_ready ())
    return;
  const int w = EDGE_W, h = EDGE_H;
  const float odd[] = { NAN, INFINITY, -INFINITY, 1e30f };
  g_autofree float *rgb = g_new (float, (gsize) w *h * 3);
  for (gsize i = 0; i < (gsize) w * h * 3; i++)
    rgb[i] = i % 101 == 0 ? odd[(i / 101) % G_N_ELEMENTS (odd)] : (float) (i % 255) / 255;
  g_autofree char *tiff = g_build_filename (env.dir, "non-finite.tif", NULL);
  g_assert_true (tu_save_image (tiff, "gegl:tiff-save", "R'G'B' float", rgb, w, h, NULL));

  Case c;
  if (!case_begin (&c, tiff))
    return;
  /* GIMP's TIFF export wrote the source layer rather than the drawable it
   * was given: the dream goes alone into a copy of the image. */
  g_autofree char *call = g_strdup_printf (
      "(let* ((dream " DREAM_3B (
          "LAYER-MODE-NORMAL",
          "100") ")"
                 "       (copy (car (gimp-image-duplicate img)))"
                 "       (layers (cadr (gimp-image-get-layers copy))))"
                 " (gimp-image-remove-layer copy (vector-ref layers 1))"
                 " (file-tiff-save RUN-NONINTERACTIVE copy (vector-ref layers 0) \"%s/dream.tif\""
                 " \"%s/dream.tif\" 0)"
                 " (gimp-image-delete copy))",
      c.dir, c.dir);
  case_run (&c, "", call);
  assert_succeeded (&c);
  Report after;
  single_dream_layer (&c, &after);
  g_autofree char *path = case_path (&c, "dream.tif");
  g_autoptr (GeglBuffer) dream = tu_load_image (path);
  g_assert_nonnull (dream);
  g_autofree float *pixels = g_new (float, (gsize) w *h * 4);
  gegl_buffer_get (dream, NULL, 1.0, babl_format ("R'G'B'A float"), pixels, GEGL_AUTO_ROWSTRIDE,
                   GEGL_ABYSS_NONE);
  for (gsize i = 0; i < (gsize) w * h * 4; i++)
    if (!(pixels[i] >= 0 && pixels[i] <= 1))
      g_error ("dream pixel value %g at %zu", pixels[i], i);
  case_end (&c);
}

/* A 20000x20000 layer cannot be dreamed in the default budget: refused,
 * with what it needs, before its pixels are read, the image unchanged. */
static void
test_hostile_huge_image (void)
{
  if (!gimp_ready ())
    return;
  g_autofree char *dir = g_build_filename (env.dir, "hostile-huge", NULL);
  g_mkdir_with_parents (dir, 0755);
  g_autofree char *first = g_strdup_printf (
      "(let* ((img (car (gimp-image-new 20000 20000 RGB)))"
      "       (drw (car (gimp-layer-new img 20000 20000 RGBA-IMAGE \"big\" 100 "
      "LAYER-MODE-NORMAL))))"
      " (gimp-image-insert-layer img drw 0 0) (dd-report img \"%s/before.txt\") %s)",
      dir, DREAM_3B ("LAYER-MODE-NORMAL", "100"));
  g_autofree char *second = g_strdup_printf ("(dd-report (dd-last-image) \"%s/after.txt\")", dir);
  const char *commands[] = { first, second, NULL };
  Case c = { .dir = g_strdup (dir), .output = run_gimp (commands) };
  g_test_message ("%s", c.output);
  assert_failed_with (&c, "a 20000x20000 dream needs at least");
  /* Its composite is not compared: flattening 400 megapixels would take
   * longer than the rest of the suite. */
  assert_layers_unchanged (&c);
  case_end (&c);
}

/* "With last values" reads the settings file of the profile. */
static void
test_last_values (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *rc = g_build_filename (env.profile, "deepdreamrc", NULL);
  g_assert_true (g_file_set_contents (rc,
                                      "[DeepDream]\nlayers=inception_3a/output\noctaves=1\n"
                                      "iterations=1\njitter=0\nseed=3\nlayer-mode=screen\n"
                                      "opacity=40\n",
                                      -1, NULL));
  case_run (&c, "",
            "(plug-in-deepdream RUN-WITH-LAST-VALS img drw \"\" \"\" -1 4 1.4 10 1.5 32 -1 -1 "
            "LAYER-MODE-NORMAL 100 -1 0 0 0 0)");
  g_unlink (rc);
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpstr (dream->name, ==, "DeepDream inception_3a");
  g_assert_cmpint (dream->mode, ==, LAYER_MODE_SCREEN);
  g_assert_cmpfloat_with_epsilon (dream->opacity, 40, 1e-3);
  case_end (&c);
}

/* The batch script dreams a folder of two pictures into another folder. */
static void
test_batch_script (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *flowers =
      g_build_filename (g_getenv ("DD_SHARED_DIR"), "images", "flowers.jpg", NULL);
  g_autofree char *in = case_path (&c, "in");
  g_autofree char *out = case_path (&c, "out");
  g_mkdir_with_parents (in, 0755);
  g_mkdir_with_parents (out, 0755);
  g_autofree char *make_inputs =
      g_strdup_printf ("(for-each (lambda (src dst) (let ((img (dd-open src)))"
                       " (dd-save-layer img (dd-layer img) dst) (gimp-image-delete img)))"
                       " (list \"%s\" \"%s\") (list \"%s/a.png\" \"%s/b.png\"))",
                       c.image, flowers, in, in);
  g_autofree char *batch = g_strdup_printf (
      "(load \"%s\") (gimp-message (string-append \"written: \" (number->string"
      " (deepdream-batch \"%s/*.png\" \"%s\" \"\" \"inception_3b/output\" 1 1 1.5 1"
      " LAYER-MODE-NORMAL 100))))",
      g_getenv ("DD_BATCH_SCRIPT"), in, out);
  const char *commands[] = { make_inputs, batch, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  assert_succeeded (&c);
  g_assert_nonnull (strstr (c.output, "written: 2"));
  for (const char *const *name = (const char *const[]){ "a.png", "b.png", NULL }; *name; name++) {
    g_autofree char *src = g_build_filename ("in", *name, NULL);
    g_autofree char *dst = g_build_filename ("out", *name, NULL);
    Picture a, b;
    double max_diff, mean_diff;
    picture_load (&c, src, &a);
    picture_load (&c, dst, &b);
    compare (&a, &b, NULL, NULL, &max_diff, &mean_diff);
    g_assert_cmpfloat (mean_diff, >, 1.0 / 255);
    picture_clear (&a);
    picture_clear (&b);
  }
  case_end (&c);
}

/* A missing output folder is found before any picture is dreamed, and a
 * batch that wrote nothing fails. */
static void
test_batch_missing_folder (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *batch = g_strdup_printf (
      "(load \"%s\") (deepdream-batch \"%s\" \"%s/missing\" \"\" \"inception_3b/output\" 1 1"
      " 1.5 1 LAYER-MODE-NORMAL 100)",
      g_getenv ("DD_BATCH_SCRIPT"), c.image, c.dir);
  const char *commands[] = { batch, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  g_assert_nonnull (strstr (c.output, "execution error"));
  g_assert_nonnull (strstr (c.output, "missing does not exist"));
  g_assert_null (strstr (c.output, "image(s) written"));
  case_end (&c);
}

/* The batch script with its output folder the input folder (more likely a
 * mistyped folder than a wish): it dreams nothing, fails as a batch that
 * wrote nothing, and the originals stay as they were. */
static void
test_batch_same_folder (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *in = case_path (&c, "in");
  g_autofree char *original = g_build_filename (in, "a.png", NULL);
  g_mkdir_with_parents (in, 0755);
  g_autofree char *make_input =
      g_strdup_printf ("(let ((img (dd-open \"%s\"))) (dd-save-layer img (dd-layer img) \"%s\")"
                       " (gimp-image-delete img))",
                       c.image, original);
  g_autofree char *batch = g_strdup_printf (
      "(load \"%s\") (deepdream-batch \"%s/*.png\" \"%s/\" \"\" \"inception_3b/output\" 1 1"
      " 1.5 1 LAYER-MODE-NORMAL 100)",
      g_getenv ("DD_BATCH_SCRIPT"), in, in);
  const char *first[] = { make_input, NULL };
  g_free (run_gimp (first));
  g_autofree char *before = NULL;
  gsize size_before = 0;
  g_assert_true (g_file_get_contents (original, &before, &size_before, NULL));
  const char *commands[] = { batch, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  g_assert_nonnull (strstr (c.output, "the output would replace it"));
  g_assert_nonnull (strstr (c.output, "no image was written"));
  g_autofree char *after = NULL;
  gsize size_after = 0;
  g_assert_true (g_file_get_contents (original, &after, &size_after, NULL));
  g_assert_cmpuint (size_after, ==, size_before);
  g_assert_true (memcmp (before, after, size_before) == 0);
  case_end (&c);
}

/* The batch script into a folder on a full file system (a small tmpfs,
 * filled: only a real file system running out of space shows what GIMP's
 * savers do then; mounting it needs root, the case skips without): each
 * picture is skipped with the reason, an older file of the same name is
 * left as it was, and neither a partial file nor a temporary one is left. With room again the same
 * batch writes both, a PNG and a BMP (a format whose structure nothing checks: the full disk is
 * seen from the file system). */
static void
test_batch_full_disk (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *in = case_path (&c, "in");
  g_autofree char *out = case_path (&c, "out");
  g_mkdir_with_parents (in, 0755);
  g_mkdir_with_parents (out, 0755);
  if (mount ("tmpfs", out, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0755") != 0) {
    g_test_skip_printf ("cannot mount a small file system to fill (%s); this case needs root",
                        g_strerror (errno));
    case_end (&c);
    return;
  }
  /* An older a.png, which the failed batch must leave as it was. */
  g_autofree char *old_png = g_build_filename (out, "a.png", NULL);
  g_assert_true (g_file_set_contents (old_png, "an older a.png", -1, NULL));
  struct statvfs fs;
  g_assert_cmpint (statvfs (out, &fs), ==, 0);
  gsize keep = 16 << 10, fill = (gsize) fs.f_bavail * fs.f_frsize - keep;
  g_autofree char *filler = g_build_filename (out, "filler", NULL);
  g_autofree char *zeros = g_malloc0 (fill);
  g_assert_true (g_file_set_contents (filler, zeros, (gssize) fill, NULL));

  g_autofree char *make_inputs = g_strdup_printf (
      "(let ((img (dd-open \"%s\"))) (dd-save-layer img (dd-layer img) \"%s/a.png\")"
      " (dd-save-layer img (dd-layer img) \"%s/b.bmp\") (gimp-image-delete img))",
      c.image, in, in);
  g_autofree char *batch =
      g_strdup_printf ("(load \"%s\") (gimp-message (string-append \"written: \" (number->string"
                       " (deepdream-batch \"%s/*\" \"%s\" \"\" \"inception_3b/output\" 1 1 1.5 1"
                       " LAYER-MODE-NORMAL 100))))",
                       g_getenv ("DD_BATCH_SCRIPT"), in, out);
  const char *first[] = { make_inputs, NULL };
  g_free (run_gimp (first));
  const char *commands[] = { batch, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  for (const char *const *name = (const char *const[]){ "a.png", "b.bmp", NULL }; *name; name++) {
    g_autofree char *said =
        g_strdup_printf ("skipped %s/%s: Procedure execution of plug-in-deepdream-save failed: "
                         "cannot write '%s/%s': No space left on device",
                         in, *name, out, *name);
    if (!strstr (c.output, said))
      g_error ("the batch did not say '%s':\n%s", said, c.output);
  }
  g_assert_nonnull (strstr (c.output, "no image was written"));
  g_autofree char *left = tu_folder_names (out);
  g_assert_cmpstr (left, ==, "a.png filler");
  g_autofree char *old_text = NULL;
  g_assert_true (g_file_get_contents (old_png, &old_text, NULL, NULL));
  g_assert_cmpstr (old_text, ==, "an older a.png");

  /* Room again: the same batch writes both, whole. */
  g_assert_cmpint (g_unlink (filler), ==, 0);
  g_free (c.output);
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  assert_succeeded (&c);
  g_assert_nonnull (strstr (c.output, "written: 2"));
  g_autofree char *written = tu_folder_names (out);
  g_assert_cmpstr (written, ==, "a.png b.bmp");
  Picture a, b;
  double max_diff, mean_diff;
  picture_load (&c, "in/a.png", &a);
  picture_load (&c, "out/a.png", &b);
  compare (&a, &b, NULL, NULL, &max_diff, &mean_diff);
  g_assert_cmpfloat (mean_diff, >, 1.0 / 255);
  picture_clear (&a);
  picture_clear (&b);
  g_autofree char *bmp = g_build_filename (out, "b.bmp", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (bmp, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, EDGE_W * EDGE_H * 3);
  g_assert_cmpint (umount2 (out, MNT_DETACH), ==, 0);
  case_end (&c);
}

/* plug-in-deepdream-save refused: a missing folder, a folder as the
 * destination, a name whose format GIMP does not know (its saver fails).
 * Each call fails with one line naming the destination, and no temporary
 * file is left. */
static void
test_save_refused (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *out = case_path (&c, "out");
  g_autofree char *folder = case_path (&c, "out/folder.png");
  g_mkdir_with_parents (folder, 0755);
  const char *const calls[][2] = {
    { "missing/a.png", "cannot write '%s/missing/a.png': there is no folder" },
    { "out/folder.png", "cannot write '%s/out/folder.png': it is a folder" },
    { "out/a.unknown-format", "cannot write '%s/out/a.unknown-format': GIMP could not save it (" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (calls); i++) {
    g_autofree char *call = g_strdup_printf (
        "(let ((img (dd-open \"%s\"))) (plug-in-deepdream-save RUN-NONINTERACTIVE img"
        " (dd-layer img) \"%s/%s\"))",
        c.image, c.dir, calls[i][0]);
    const char *commands[] = { call, NULL };
    g_free (c.output);
    c.output = run_gimp (commands);
    g_test_message ("%s", c.output);
    g_autofree char *said = g_strdup_printf (calls[i][1], c.dir);
    g_assert_nonnull (strstr (c.output, "execution error"));
    if (!strstr (c.output, said))
      g_error ("the call did not say '%s':\n%s", said, c.output);
  }
  g_autofree char *left = tu_folder_names (out);
  g_assert_cmpstr (left, ==, "folder.png");
  case_end (&c);
}

/* ---- Artists' controls ------------------------------------------------------------- */

/* The dream layer's and the source layer's pixels, saved by the call as
 * dream.png and source.png. */
#define SAVE_BOTH(call)                                                                            \
  "(let ((dream " call ")) (dd-save-layer img dream \"%s/dream.png\")"                             \
  " (dd-save-layer img drw \"%s/source.png\"))"

/* The old positional call keeps its 20 arguments (dd-dream makes it in
 * every case above); the full procedure has them and four more. */
static void
test_controls_arguments (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "",
            "(begin (dd-say-nargs \"plug-in-deepdream\") (dd-say-nargs \"plug-in-deepdream-full\")"
            " (dd-dream img drw \"\" \"inception_3b/output\" 1 LAYER-MODE-NORMAL 100))");
  assert_succeeded (&c);
  g_assert_nonnull (strstr (c.output, "nargs plug-in-deepdream: 20"));
  g_assert_nonnull (strstr (c.output, "nargs plug-in-deepdream-full: 24"));
  Report after;
  single_dream_layer (&c, &after);
  case_end (&c);
}

/* Keep colours: the dream layer has the source's a and b (CIE Lab) within
 * 8-bit rounding, while its lightness carries the dream (as the command
 * line's test measures it). */
static void
test_controls_keep_colours (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *call = g_strdup_printf (
      SAVE_BOTH ("(dd-dream-full img drw \"inception_3b/output\" 1 0 -1 \"\")"), c.dir, c.dir);
  case_run (&c, "", call);
  assert_succeeded (&c);
  Picture src, dream;
  picture_load (&c, "source.png", &src);
  picture_load (&c, "dream.png", &dream);
  g_assert_cmpint (src.width, ==, dream.width);
  const gsize n = (gsize) src.width * src.height;
  g_autofree float *lab_src = g_new (float, n * 3), *lab_dream = g_new (float, n * 3);
  const Babl *fish = babl_fish (babl_format ("R'G'B'A float"), babl_format ("CIE Lab float"));
  babl_process (fish, src.rgba, lab_src, n);
  babl_process (fish, dream.rgba, lab_dream, n);
  double off = 0, dl = 0;
  for (gsize i = 0; i < n; i++) {
    off += hypot (lab_dream[3 * i + 1] - lab_src[3 * i + 1],
                  lab_dream[3 * i + 2] - lab_src[3 * i + 2]);
    dl += fabs (lab_dream[3 * i] - lab_src[3 * i]);
  }
  g_test_message ("mean a,b distance from the source %.3f, mean |dL| %.3f", off / n, dl / n);
  g_assert_cmpfloat (off / n, <, 0.3);
  g_assert_cmpfloat (dl / n, >, 0.3);
  picture_clear (&src);
  picture_clear (&dream);
  case_end (&c);
}

/* A channel black on the left half and white on the right as the strength
 * map: the left half of the dream layer is the source's, bit for bit. */
static void
test_controls_strength_map (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *call = g_strdup_printf (
      SAVE_BOTH ("(dd-dream-full img drw \"inception_3b/output\" 0 0 map \"\")"), c.dir, c.dir);
  case_run (&c,
            "(define map (car (gimp-channel-new img 256 144 \"map\" 100 '(0 0 0))))"
            " (gimp-image-insert-channel img map 0 0)"
            " (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 128 0 128 144)"
            " (gimp-drawable-edit-fill map FILL-WHITE) (gimp-selection-none img)",
            call);
  assert_succeeded (&c);
  /* Compared as the bytes GIMP wrote (the source has no alpha, the dream
   * has: their float conversions differ in the last bit). */
  guint8 *bytes[2] = { NULL, NULL };
  const char *const files[] = { "source.png", "dream.png" };
  for (int f = 0; f < 2; f++) {
    g_autofree char *path = case_path (&c, files[f]);
    g_autoptr (GeglBuffer) buffer = tu_load_image (path);
    g_assert_nonnull (buffer);
    g_assert_cmpint (gegl_buffer_get_width (buffer), ==, EDGE_W);
    bytes[f] = g_malloc ((gsize) EDGE_W * EDGE_H * 3);
    gegl_buffer_get (buffer, NULL, 1.0, babl_format ("R'G'B' u8"), bytes[f], GEGL_AUTO_ROWSTRIDE,
                     GEGL_ABYSS_NONE);
  }
  double changed = 0;
  for (int y = 0; y < EDGE_H; y++) {
    const gsize row = (gsize) y * EDGE_W * 3, half = EDGE_W / 2 * 3;
    g_assert_cmpmem (bytes[0] + row, half, bytes[1] + row, half);
    for (gsize i = half; i < 2 * half; i++)
      changed += abs (bytes[0][row + i] - bytes[1][row + i]);
  }
  changed /= (double) EDGE_H * EDGE_W / 2 * 3;
  g_test_message ("mean change under white: %.2f grey levels", changed);
  g_assert_cmpfloat (changed, >, 0.5);
  g_free (bytes[0]);
  g_free (bytes[1]);
  case_end (&c);
}

/* A layer is no strength map: refused, the image unchanged. */
static void
test_controls_strength_map_layer (void)
{
  check_refused ("",
                 "(plug-in-deepdream-full RUN-NONINTERACTIVE img drw \"\" \"\" -1 1 1.4 1 1.5 0 1"
                 " -1 LAYER-MODE-NORMAL 100 -1 0 0 0 0 0 0 drw \"\")",
                 "mask: 'Background' is a layer");
}

static void
test_controls_seamless (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  case_run (&c, "", "(dd-dream-full img drw \"inception_3b/output\" 0 1 -1 \"\")");
  assert_succeeded (&c);
  Report after;
  single_dream_layer (&c, &after);
  assert_composite_changed (&c, NULL, NULL);
  case_end (&c);
}

/* A user's preset (as the dialog saves them) wins over the arguments it
 * sets: its layer names the new layer. An unknown one is refused. */
static void
test_controls_preset (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *folder = g_build_filename (env.dir, "config", "gimp-deepdream", NULL);
  g_autofree char *file = g_build_filename (folder, "presets", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (g_file_set_contents (file,
                                      "[Preset quick]\nmodel=googlenet\nDescription=test\n"
                                      "layers=inception_3a/output\noctaves=1\niterations=1\n",
                                      -1, NULL));
  case_run (&c, "", "(dd-dream-full img drw \"inception_3b/output\" 0 0 -1 \"quick\")");
  assert_succeeded (&c);
  Report after;
  const Layer *dream = single_dream_layer (&c, &after);
  g_assert_cmpstr (dream->name, ==, "DeepDream inception_3a");
  case_end (&c);
  check_refused ("", "(dd-dream-full img drw \"\" 0 0 -1 \"no-such-preset\")",
                 "has no preset 'no-such-preset' (it has classic, strokes");
  g_unlink (file);
}

/* ---- Animations ------------------------------------------------------------------- */

/* The panned clip of dd-open-panned: frame k shows at (x, y) what frame
 * k - 1 shows at (x + PAN_X, y + PAN_Y). */
#define PAN_FRAMES 4
#define PAN_X 4
#define PAN_Y 2

/* Mean PSNR, in dB, of each frame of prefix against the frame before it
 * moved by the pan, over their overlap. */
static double
pan_psnr (const Case *c, const char *prefix)
{
  double sum_db = 0;
  for (int k = 1; k < PAN_FRAMES; k++) {
    g_autofree char *a_name = g_strdup_printf ("%s-%d.png", prefix, k - 1);
    g_autofree char *b_name = g_strdup_printf ("%s-%d.png", prefix, k);
    Picture a, b;
    picture_load (c, a_name, &a);
    picture_load (c, b_name, &b);
    double se = 0;
    gsize n = 0;
    for (int y = 0; y + PAN_Y < b.height; y++)
      for (int x = 0; x + PAN_X < b.width; x++)
        for (int ch = 0; ch < 3; ch++) {
          double d = b.rgba[((gsize) y * b.width + x) * 4 + ch] -
                     a.rgba[((gsize) (y + PAN_Y) * a.width + x + PAN_X) * 4 + ch];
          se += d * d;
          n++;
        }
    sum_db += 10 * log10 (1 / MAX (se / n, 1e-12));
    picture_clear (&a);
    picture_clear (&b);
  }
  return sum_db / (PAN_FRAMES - 1);
}

/* Mean of the colour channels and mean difference from another picture. */
static void
picture_means (const Picture *p, const Picture *other, double *mean, double *difference)
{
  double sum = 0, diff = 0;
  gsize n = (gsize) p->width * p->height;
  for (gsize i = 0; i < n; i++)
    for (int ch = 0; ch < 3; ch++) {
      sum += p->rgba[i * 4 + ch];
      diff += fabs (p->rgba[i * 4 + ch] - other->rgba[i * 4 + ch]);
    }
  *mean = sum / (3 * n);
  *difference = diff / (3 * n);
}

/* The layers of a panned photo dreamed as frames, once carried along the
 * motion (blend 0.75) and once each frame anew (blend 0: independent
 * dreams with the same seed and all the steps): new images of four
 * frames, named as their sources, each a real dream; the carried ones
 * agree with the motion far better; the source image is untouched. */
static void
test_animation_frames (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  if (!dd_flow_available ()) {
    g_test_skip ("built without optical flow (OpenCV): /gimp/animation/no-flow checks the refusal");
    case_end (&c);
    return;
  }
  g_autofree char *command = g_strdup_printf (
      "(let* ((img (dd-open-panned \"%s\" %d %d %d)))"
      " (dd-report img \"%s/before.txt\") (dd-save-frames img \"%s/source\")"
      " (let ((carried (dd-frames img 0.75 4)) (independent (dd-frames img 0 4)))"
      "  (dd-report carried \"%s/carried.txt\") (dd-save-frames carried \"%s/carried\")"
      "  (dd-save-frames independent \"%s/independent\")"
      "  (dd-report img \"%s/after.txt\") (dd-save-frames img \"%s/after\")))",
      c.image, PAN_FRAMES, -PAN_X, -PAN_Y, c.dir, c.dir, c.dir, c.dir, c.dir, c.dir, c.dir);
  const char *commands[] = { command, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  assert_succeeded (&c);

  Report carried;
  report_load (&c, "carried", &carried);
  g_assert_cmpint (carried.n_layers, ==, PAN_FRAMES);
  for (int i = 0; i < PAN_FRAMES; i++) {
    g_autofree char *name = g_strdup_printf ("frame %d (100ms)", PAN_FRAMES - 1 - i);
    g_assert_cmpstr (carried.layers[i].name, ==, name);
    g_assert_cmpint (carried.layers[i].width, ==, EDGE_W);
    g_assert_cmpint (carried.layers[i].height, ==, EDGE_H);
  }
  for (int k = 0; k < PAN_FRAMES; k++) {
    g_autofree char *source_name = g_strdup_printf ("source-%d.png", k);
    g_autofree char *dream_name = g_strdup_printf ("carried-%d.png", k);
    g_autofree char *after_name = g_strdup_printf ("after-%d.png", k);
    Picture source, dream, after;
    picture_load (&c, source_name, &source);
    picture_load (&c, dream_name, &dream);
    picture_load (&c, after_name, &after);
    double mean, difference, unused, max_change;
    picture_means (&dream, &source, &mean, &difference);
    g_test_message ("frame %d: mean %.3f, mean difference from its source %.4f", k, mean,
                    difference);
    g_assert_true (isfinite (mean));
    g_assert_cmpfloat (mean, >, 0.1);
    g_assert_cmpfloat (difference, >, 2.0 / 255);
    compare (&source, &after, NULL, NULL, &max_change, &unused);
    g_assert_cmpfloat (max_change, ==, 0);
    picture_clear (&source);
    picture_clear (&dream);
    picture_clear (&after);
  }
  assert_layers_unchanged (&c);

  double psnr_source = pan_psnr (&c, "source");
  double psnr_carried = pan_psnr (&c, "carried");
  double psnr_independent = pan_psnr (&c, "independent");
  g_test_message ("PSNR of each frame against the one before moved by the pan: sources %.1f dB, "
                  "carried %.1f dB, independent dreams %.1f dB",
                  psnr_source, psnr_carried, psnr_independent);
  g_assert_cmpfloat (psnr_source, >, 40);
  g_assert_cmpfloat (psnr_carried, >, psnr_independent + 3);
  case_end (&c);
}

/* The zoom: N new layers of the layer's size in a new image, the first at
 * the bottom, each frame another picture; the source image untouched. */
static void
test_animation_zoom (void)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *command =
      g_strdup_printf ("(let* ((img (dd-open \"%s\")) (drw (dd-layer img)))"
                       " (dd-report img \"%s/before.txt\")"
                       " (let ((zoom (dd-zoom img drw 5 1.1 2 2)))"
                       "  (dd-report zoom \"%s/zoom.txt\") (dd-save-frames zoom \"%s/zoom\")"
                       "  (dd-report img \"%s/after.txt\")))",
                       c.image, c.dir, c.dir, c.dir, c.dir);
  const char *commands[] = { command, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  assert_succeeded (&c);
  assert_layers_unchanged (&c);
  Report zoom;
  report_load (&c, "zoom", &zoom);
  g_assert_cmpint (zoom.n_layers, ==, 5);
  for (int i = 0; i < 5; i++) {
    g_autofree char *name = g_strdup_printf ("DeepDream zoom %d", 5 - i);
    g_assert_cmpstr (zoom.layers[i].name, ==, name);
    g_assert_cmpint (zoom.layers[i].width, ==, EDGE_W);
    g_assert_cmpint (zoom.layers[i].height, ==, EDGE_H);
  }
  for (int k = 1; k < 5; k++) {
    g_autofree char *a_name = g_strdup_printf ("zoom-%d.png", k - 1);
    g_autofree char *b_name = g_strdup_printf ("zoom-%d.png", k);
    Picture a, b;
    picture_load (&c, a_name, &a);
    picture_load (&c, b_name, &b);
    double mean, difference;
    picture_means (&b, &a, &mean, &difference);
    g_test_message ("zoom frame %d: mean %.3f, mean difference from the frame before %.4f", k, mean,
                    difference);
    g_assert_cmpfloat (mean, >, 0.1);
    g_assert_cmpfloat (difference, >, 1.0 / 255);
    picture_clear (&a);
    picture_clear (&b);
  }
  case_end (&c);
}

/* An animation filter's call that must fail with a message containing
 * expected, leaving the image as it was and making no new one. */
static void
check_animation_refused (const char *prepare, const char *call, const char *expected)
{
  Case c;
  if (!case_begin (&c, "sky1024px.jpg"))
    return;
  g_autofree char *command = g_strdup_printf (
      "(let* ((img (dd-open \"%s\")) (drw (dd-layer img)))"
      " %s (dd-snapshot img \"%s\" \"before\")"
      " (gimp-message (string-append \"images before: \" (number->string (dd-image-count))))"
      " (catch #t %s)"
      " (gimp-message (string-append \"images after: \" (number->string (dd-image-count))))"
      " (dd-snapshot img \"%s\" \"after\"))",
      c.image, prepare, c.dir, call, c.dir);
  const char *commands[] = { command, NULL };
  c.output = run_gimp (commands);
  g_test_message ("%s", c.output);
  if (!strstr (c.output, expected))
    g_error ("the error does not say '%s':\n%s", expected, c.output);
  g_assert_nonnull (strstr (c.output, "images before: 1"));
  g_assert_nonnull (strstr (c.output, "images after: 1"));
  assert_image_unchanged (&c);
  case_end (&c);
}

static void
test_animation_one_layer (void)
{
  if (!dd_flow_available ()) {
    g_test_skip ("built without optical flow (OpenCV): refused before the layers are counted");
    return;
  }
  check_animation_refused ("", "(dd-frames img 0.75 1)", "image: has 1 layer");
}

static void
test_animation_zoom_loop (void)
{
  check_animation_refused ("", "(dd-zoom img drw 3 1.1 0 3)", "loop: 3 must be fewer than the 3");
}

static void
test_animation_zoom_factor (void)
{
  check_animation_refused ("", "(dd-zoom img drw 3 2.5 0 0)", "zoom: 2.5 is out of range");
}

/* Without optical flow the frames filter refuses in one line. */
static void
test_animation_no_flow (void)
{
  if (dd_flow_available ()) {
    g_test_skip ("built with optical flow (OpenCV): the frames filter runs");
    return;
  }
  check_animation_refused ("(gimp-image-insert-layer img (car (gimp-layer-copy drw FALSE)) 0 0)",
                           "(dd-frames img 0.75 1)", "built without OpenCV");
}

/* ---- The dialog, on a virtual display ---------------------------------------------- */

/* The plug-in's dialog in the real gimp-2.10 on an Xvfb display of its
 * own: it opens from a RUN-INTERACTIVE call, is photographed (into
 * DD_GUI_SCREENSHOT), and its OK button, clicked with xdotool, adds the
 * layer. There is no window manager: windows cannot be focused, so the
 * pointer clicks the button where the dialog puts it. */

#define GUI_WINDOW_TIMEOUT_S 90 /* a first GUI start builds font caches */
#define GUI_RUN_TIMEOUT_S 120

static gboolean
gui_tools_missing (void)
{
  const char *const tools[] = { "gimp-2.10", "Xvfb", "xdotool", "/usr/bin/import", NULL };
  for (int i = 0; tools[i]; i++) {
    g_autofree char *path = g_find_program_in_path (tools[i]);
    if (!path) {
      g_autofree char *why = g_strdup_printf ("%s is not installed", tools[i]);
      g_test_skip (why);
      return TRUE;
    }
  }
  return FALSE;
}

/* Starts Xvfb on a free display, which it writes to a pipe ("7\n"); the
 * display name, e.g. ":7", or NULL. */
static char *
start_xvfb (GSubprocess **xvfb)
{
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                             G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  g_autoptr (GError) error = NULL;
  *xvfb = g_subprocess_launcher_spawn (launcher, &error, "Xvfb", "-displayfd", "3", "-screen", "0",
                                       "1280x800x24", "-nolisten", "tcp", NULL);
  /* Closes our copy of the pipe's end: the read sees its end if Xvfb dies. */
  g_object_unref (launcher);
  char number[16] = { 0 };
  gsize n = 0;
  while (*xvfb && n < sizeof number - 1 && read (fds[0], number + n, 1) == 1 && number[n] != '\n')
    n++;
  close (fds[0]);
  if (!*xvfb || n == 0) {
    g_test_message ("Xvfb did not start: %s", error ? error->message : "no display number");
    return NULL;
  }
  number[n] = 0;
  return g_strdup_printf (":%s", number);
}

/* Runs an X tool on display; its output, or NULL when it failed. */
static char *
x_tool (char **envp, const char *const *argv)
{
  g_autofree char *out = NULL;
  int status;
  if (!g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

/* The id of the window called title, waiting for it to appear. */
static char *
wait_for_window (char **envp, const char *title, int timeout_s)
{
  g_autofree char *pattern = g_strdup_printf ("^%s$", title);
  const char *const argv[] = { "xdotool", "search", "--name", pattern, NULL };
  for (gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
       g_get_monotonic_time () < end; g_usleep (G_USEC_PER_SEC / 2)) {
    char *ids = x_tool (envp, argv);
    if (ids && *ids) {
      ids[strcspn (ids, "\n")] = 0; /* the first of them */
      return ids;
    }
    g_free (ids);
  }
  return NULL;
}

/* Clicks the dialog's OK button: the last of its buttons, at its bottom
 * right corner inside GIMP's 12-pixel border. */
static gboolean
click_ok (char **envp, const char *window)
{
  const char *const geometry[] = { "xdotool", "getwindowgeometry", "--shell", window, NULL };
  g_autofree char *text = x_tool (envp, geometry);
  int x = -1, y = -1, width = -1, height = -1;
  const char *at = text ? strstr (text, "\nX=") : NULL;
  if (!at || sscanf (at, " X=%d Y=%d WIDTH=%d HEIGHT=%d", &x, &y, &width, &height) != 4)
    return FALSE;
  g_autofree char *px = g_strdup_printf ("%d", x + width - 40);
  g_autofree char *py = g_strdup_printf ("%d", y + height - 28);
  const char *const click[] = { "xdotool", "mousemove", "--sync", px, py, "click", "1", NULL };
  g_autofree char *out = x_tool (envp, click);
  return out != NULL;
}

static void
process_exited (GObject *process, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (process), result, NULL);
  *(gboolean *) data = TRUE;
}

static gboolean
timer_fired (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits for process to end; after timeout_s it is killed, and the result
 * is FALSE. */
static gboolean
wait_or_kill (GSubprocess *process, int timeout_s)
{
  gboolean exited = FALSE, late = FALSE;
  g_subprocess_wait_async (process, NULL, process_exited, &exited);
  guint timer = g_timeout_add_seconds (timeout_s, timer_fired, &late);
  while (!exited && !late)
    g_main_context_iteration (NULL, TRUE);
  gboolean in_time = exited;
  if (in_time)
    g_source_remove (timer);
  else
    g_subprocess_force_exit (process);
  while (!exited)
    g_main_context_iteration (NULL, TRUE);
  return in_time;
}

/* gimp-2.10 on display, running script with the helpers loaded; its
 * output goes to log. */
static GSubprocess *
start_gimp_gui (char **envp, const char *script, const char *log)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_environ (launcher, envp);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_autofree char *batch =
      g_strdup_printf ("(begin (load \"%s\") (load \"%s\"))", g_getenv ("DD_GIMP_HELPERS"), script);
  g_autoptr (GError) error = NULL;
  GSubprocess *gimp =
      g_subprocess_launcher_spawn (launcher, &error, "gimp-2.10", "--no-splash", "-b", batch, NULL);
  if (!gimp)
    g_test_message ("cannot start gimp-2.10: %s", error->message);
  return gimp;
}

/* Opens the dialog on the picture, then reports the layers and quits. The
 * saved settings make the dream quick. */
static void
write_dialog_script (const Case *c, const char *script)
{
  g_autofree char *text = g_strdup_printf (
      "(let* ((img (dd-open \"%s\")) (drw (dd-layer img)))\n"
      "  (gimp-display-new img)\n"
      "  (plug-in-deepdream RUN-INTERACTIVE img drw \"\" \"\" -1 4 1.4 10 1.5 32 -1 -1\n"
      "                     LAYER-MODE-NORMAL 100 -1 0 0 0 0)\n"
      "  (dd-report img \"%s/after.txt\")\n"
      "  (gimp-quit 1))\n",
      c->image, c->dir);
  g_assert_true (g_file_set_contents (script, text, -1, NULL));
  g_autofree char *rc = g_build_filename (env.profile, "deepdreamrc", NULL);
  g_assert_true (g_file_set_contents (
      rc, "[DeepDream]\nlayers=inception_3b/output\noctaves=1\niterations=2\nseed=1\n", -1, NULL));
}

static void
save_screenshot (char **envp, const Case *c)
{
  const char *env_path = g_getenv ("DD_GUI_SCREENSHOT");
  g_autofree char *path = env_path ? g_strdup (env_path) : case_path (c, "gui-dialog.png");
  const char *const argv[] = { "/usr/bin/import", "-window", "root", path, NULL };
  g_autofree char *out = x_tool (envp, argv);
  g_assert_nonnull (out);
  g_test_message ("screenshot of the dialog: %s", path);
}

/* The dialog opens, shows its preview, and OK adds the dream layer. */
static void
test_dialog_ok (void)
{
  Case c;
  /* scripts/readme-pictures shows the dialog on a picture of its own. */
  const char *picture = g_getenv ("DD_GUI_IMAGE");
  if (gui_tools_missing () || !case_begin (&c, picture ? picture : "sky1024px.jpg"))
    return;
  GSubprocess *xvfb = NULL;
  g_autofree char *display = start_xvfb (&xvfb);
  g_assert_nonnull (display);
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "DISPLAY", display, TRUE);
  envp = g_environ_setenv (envp, "GIMP2_DIRECTORY", env.profile, TRUE);
  /* A backup left by a killed GIMP would open a recovery dialog first. */
  g_autofree char *backups = g_build_filename (env.profile, "backups", NULL);
  tu_remove_tree (backups);

  g_autofree char *script = case_path (&c, "dialog.scm");
  g_autofree char *log = case_path (&c, "gimp.log");
  write_dialog_script (&c, script);
  GSubprocess *gimp = start_gimp_gui (envp, script, log);
  g_assert_nonnull (gimp);
  g_autofree char *window = wait_for_window (envp, "DeepDream", GUI_WINDOW_TIMEOUT_S);
  gboolean clicked = FALSE;
  if (window) {
    /* Time for the quick preview (a fraction of a second here) to show. */
    g_usleep (3 * G_USEC_PER_SEC);
    save_screenshot (envp, &c);
    clicked = click_ok (envp, window);
  }
  gboolean exited = wait_or_kill (gimp, GUI_RUN_TIMEOUT_S);
  g_object_unref (gimp);
  g_subprocess_force_exit (xvfb);
  g_object_unref (xvfb);
  g_autofree char *rc = g_build_filename (env.profile, "deepdreamrc", NULL);
  g_unlink (rc);
  g_autofree char *output = NULL;
  g_file_get_contents (log, &output, NULL, NULL);
  g_test_message ("%s", output ? output : "");

  if (!window || !clicked || !exited)
    g_error ("the dialog %s", !window    ? "did not open"
                              : !clicked ? "could not be clicked"
                                         : "did not close, or GIMP did not quit, after OK");
  c.output = g_steal_pointer (&output);
  Report after;
  report_load (&c, "after", &after);
  g_assert_cmpint (after.n_layers, ==, 2);
  g_assert_cmpstr (after.layers[0].name, ==, "DeepDream inception_3b");
  case_end (&c);
}

/* ---- Main --------------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (NULL, NULL);
  env.gimp = g_find_program_in_path ("gimp-console-2.10");
  env.dir = g_dir_make_tmp ("test-gimp-XXXXXX", NULL);
  g_assert_nonnull (env.dir);

  g_test_add_func ("/gimp/selection/feathered-ellipse", test_feathered_ellipse);
  g_test_add_func ("/gimp/selection/rectangle", test_rectangle);
  g_test_add_func ("/gimp/selection/none", test_no_selection);
  g_test_add_func ("/gimp/settings/parasite", test_settings_parasite);
  g_test_add_func ("/gimp/modes/stacked", test_stacked_modes);
  g_test_add_func ("/gimp/image/grey", test_grey);
  g_test_add_func ("/gimp/image/alpha", test_alpha);
  g_test_add_func ("/gimp/image/offset-in-group", test_offset_in_group);
  g_test_add_func ("/gimp/image/16-bit", test_16_bit);
  g_test_add_func ("/gimp/errors/indexed", test_error_indexed);
  g_test_add_func ("/gimp/errors/octaves", test_error_octaves);
  g_test_add_func ("/gimp/errors/unknown-layer", test_error_unknown_layer);
  g_test_add_func ("/gimp/errors/missing-model", test_error_missing_model);
  g_test_add_func ("/gimp/errors/layer-mode", test_error_layer_mode);
  g_test_add_func ("/gimp/hostile/octave-scale", test_hostile_octave_scale);
  g_test_add_func ("/gimp/hostile/zero-iterations", test_hostile_zero_iterations);
  g_test_add_func ("/gimp/hostile/channel-past", test_hostile_channel_past);
  g_test_add_func ("/gimp/hostile/weight-layer", test_hostile_weight_layer);
  g_test_add_func ("/gimp/hostile/selection-outside", test_hostile_selection_outside);
  g_test_add_func ("/gimp/hostile/tiny-selection", test_hostile_tiny_selection);
  g_test_add_func ("/gimp/hostile/guide-grey", test_hostile_guide_grey);
  g_test_add_func ("/gimp/hostile/non-finite-pixels", test_hostile_non_finite);
  g_test_add_func ("/gimp/hostile/huge-image", test_hostile_huge_image);
  g_test_add_func ("/gimp/settings/last-values", test_last_values);
  g_test_add_func ("/gimp/batch/folder", test_batch_script);
  g_test_add_func ("/gimp/batch/missing-folder", test_batch_missing_folder);
  g_test_add_func ("/gimp/batch/same-folder", test_batch_same_folder);
  g_test_add_func ("/gimp/batch/full-disk", test_batch_full_disk);
  g_test_add_func ("/gimp/save/refused", test_save_refused);
  g_test_add_func ("/gimp/controls/arguments", test_controls_arguments);
  g_test_add_func ("/gimp/controls/keep-colours", test_controls_keep_colours);
  g_test_add_func ("/gimp/controls/strength-map", test_controls_strength_map);
  g_test_add_func ("/gimp/controls/strength-map-layer", test_controls_strength_map_layer);
  g_test_add_func ("/gimp/controls/seamless", test_controls_seamless);
  g_test_add_func ("/gimp/controls/preset", test_controls_preset);
  g_test_add_func ("/gimp/animation/frames", test_animation_frames);
  g_test_add_func ("/gimp/animation/zoom", test_animation_zoom);
  g_test_add_func ("/gimp/animation/one-layer", test_animation_one_layer);
  g_test_add_func ("/gimp/animation/zoom-loop", test_animation_zoom_loop);
  g_test_add_func ("/gimp/animation/zoom-factor", test_animation_zoom_factor);
  g_test_add_func ("/gimp/animation/no-flow", test_animation_no_flow);
  g_test_add_func ("/gimp/dialog/ok", test_dialog_ok);

  int status = g_test_run ();
  /* Keep the files of a failed run for a look. */
  if (status == 0 && !g_getenv ("DD_KEEP_TEST_FILES"))
    tu_remove_tree (env.dir);
  else
    g_printerr ("# test files kept in %s\n", env.dir);
  g_free (env.gimp);
  g_free (env.dir);
  g_free (env.profile);
  gegl_exit ();
  return status;
}
