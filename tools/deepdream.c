/* deepdream: the command line.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   deepdream [OPTION...] INPUT OUTPUT
 *
 * Its options come from the engine's parameter table; images are read and
 * written through GEGL. Exit status: 0 done, 1 an error (one line on
 * stderr), 2 bad usage.
 */
#include <cblas.h>
#include <errno.h>
#include <gegl.h>
#include <gegl-metadatahash.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "animate.h"
#include "deepdream.h"
#include "picture.h"

enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

static DdDreamParams params;
static gboolean list_layers, list_presets, quiet, verbose, show_version;
static char *preset;
/* --settings-from's file, and the model checksum its settings name. */
static char *settings_from, *settings_sha256;
/* The table's options as given, name and value in turn, for replaying
 * them over a preset. */
static GPtrArray *given;

static gboolean
set_option (const char *option_name, const char *value, gpointer data, GError **error)
{
  const char *name = option_name + (option_name[1] == '-' ? 2 : 1);
  const DdParamSpec *spec = NULL;
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  (void) data;
  for (int i = 0; i < n && !spec; i++)
    if (strcmp (specs[i].cli_name, name) == 0 || (name[1] == 0 && specs[i].cli_short == name[0]))
      spec = &specs[i];
  g_return_val_if_fail (spec, FALSE);
  if (given) {
    g_ptr_array_add (given, g_strdup (option_name));
    g_ptr_array_add (given, g_strdup (value));
  }

  /* --layer repeats: each one adds a layer. */
  if (spec->offset == G_STRUCT_OFFSET (DdDreamParams, layers) && params.layers && *params.layers) {
    g_autofree char *joined = g_strconcat (params.layers, ",", value, NULL);
    return dd_dream_param_set (&params, spec, joined, error);
  }
  GError *local = NULL;
  if (!dd_dream_param_set (&params, spec, value, &local)) {
    /* The engine names the parameter ("step-size: ..."); say the option. */
    const char *reason = local->message;
    if (g_str_has_prefix (reason, spec->name) && reason[strlen (spec->name)] == ':')
      reason += strlen (spec->name) + 2;
    gboolean choice = spec->type == DD_PARAM_CHOICE;
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s=%s: %s%s%s%s",
                 spec->cli_name, value, reason, choice ? " (" : "", choice ? spec->arg : "",
                 choice ? ")" : "");
    g_error_free (local);
    return FALSE;
  }
  return TRUE;
}

/* The options of the parameter table, plus the command's own. */
static GOptionEntry *
make_entries (void)
{
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  GArray *entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  for (int i = 0; i < n; i++) {
    if (!(specs[i].use & DD_PARAM_CLI))
      continue;
    /* Text options (file names, layer names) are taken as the bytes the
     * user typed, as file names are: converting them from the locale's
     * encoding fails on UTF-8 names under a C or Latin-1 locale. */
    GOptionEntry e = { specs[i].cli_name,
                       specs[i].cli_short,
                       specs[i].type == DD_PARAM_STRING ? G_OPTION_FLAG_FILENAME : 0,
                       G_OPTION_ARG_CALLBACK,
                       (gpointer) set_option,
                       specs[i].help,
                       specs[i].arg };
    g_array_append_val (entries, e);
  }
  const GOptionEntry own[] = {
    { "list-layers", 0, 0, G_OPTION_ARG_NONE, &list_layers,
      "Print the dreamable tensors with their shapes, then exit", NULL },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset,
      "Start from the model card's named set of parameters; other options go over it", "NAME" },
    { "settings-from", 0, 0, G_OPTION_ARG_FILENAME, &settings_from,
      "Dream again with the settings a dream left in FILE (its output image, or a key file); "
      "other options go over them",
      "FILE" },
    { "list-presets", 0, 0, G_OPTION_ARG_NONE, &list_presets,
      "Print the model's presets, then exit", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      "Also print where the dream's time went, phase by phase", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &show_version, "Print the version, then exit", NULL },
  };
  g_array_append_vals (entries, own, G_N_ELEMENTS (own));
  return (GOptionEntry *) g_array_free (entries, FALSE);
}

/* ---- Images ------------------------------------------------------------------------- */

/* The dream scales a guide down to a few hundred pixels, but decoding it
 * takes GEGL's copy, ours and a float one (about 24 bytes a pixel): a 24
 * megapixel photo takes 600 MB. Larger guides are refused from the header. */
#define GUIDE_MAX_PIXELS (24 << 20)

static gboolean
load_guide (const char *path, Picture *out, GError **error)
{
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglRectangle extent;
  GeglNode *load = open_picture (graph, path, &extent, error);
  if (load && (gint64) extent.width * extent.height > GUIDE_MAX_PIXELS) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "'%s' is %dx%d; a guide may have at most %d megapixels (scale it down)", path,
                 extent.width, extent.height, GUIDE_MAX_PIXELS >> 20);
    return FALSE;
  }
  return load && read_picture (load, path, out, error);
}

/* A strength map is the input's size: a map of another size is refused
 * from its header, before it is decoded. */
static gboolean
load_mask (const char *path, int width, int height, Picture *out, GError **error)
{
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglRectangle extent;
  GeglNode *load = open_picture (graph, path, &extent, error);
  if (load && (extent.width != width || extent.height != height)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                 "'%s' is %dx%d but the image is %dx%d; give a map of the image's size", path,
                 extent.width, extent.height, width, height);
    return FALSE;
  }
  return load && read_picture (load, path, out, error);
}

/* The GEGL operation that writes files named like path, or NULL. GEGL's
 * own gegl:save falls back to PNG for names it does not know. */
static const char *
saver_for (const char *path)
{
  static const char *const savers[][2] = {
    { ".png", "gegl:png-save" },  { ".jpg", "gegl:jpg-save" },   { ".jpeg", "gegl:jpg-save" },
    { ".tif", "gegl:tiff-save" }, { ".tiff", "gegl:tiff-save" }, { ".webp", "gegl:webp-save" },
    { ".exr", "gegl:exr-save" },  { ".ppm", "gegl:ppm-save" },   { ".pfm", "gegl:pfm-save" },
  };
  g_autofree char *lower = g_ascii_strdown (path, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (savers); i++)
    if (g_str_has_suffix (lower, savers[i][0]) && gegl_has_operation (savers[i][1]))
      return savers[i][1];
  return NULL;
}

/* Fails early, before a long dream, when OUTPUT surely cannot be written:
 * opening the temporary file it will be written through checks the folder
 * and the kind of file it replaces. */
static gboolean
check_writable (const char *path, GError **error)
{
  const char *why = NULL;
  if (!saver_for (path))
    why = "unknown image format (use .png, .jpg, .tif, .webp or .exr)";
  else if (g_file_test (path, G_FILE_TEST_IS_REGULAR) && g_access (path, W_OK) != 0)
    why = "the file is read-only";
  if (why) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES, "cannot write '%s': %s", path, why);
    return FALSE;
  }
  g_autoptr (DdSafeFile) file = dd_safe_file_new (path, error);
  return file != NULL;
}

/* Encodes the pixels into memory_fd with GEGL. */
/* The savers that write GEGL's metadata; the settings go in the one free
 * text field that PNG (Description), TIFF (ImageDescription) and JPEG (a
 * comment) all have. GEGL writes no keys of its callers' choosing. */
static gboolean
writes_settings (const char *saver)
{
  return strcmp (saver, "gegl:png-save") == 0 || strcmp (saver, "gegl:tiff-save") == 0 ||
         strcmp (saver, "gegl:jpg-save") == 0;
}

static gboolean
encode_image (const DdImage *im, const Babl *format, const char *saver, const char *settings,
              int memory_fd)
{
  GeglRectangle extent = { 0, 0, im->width, im->height };
  g_autoptr (GeglBuffer) buffer =
      gegl_buffer_linear_new_from_data (im->pixels, format, &extent, (int) im->stride, NULL, NULL);
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglNode *source =
      gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  g_autofree char *memory_path = g_strdup_printf ("/proc/self/fd/%d", memory_fd);
  GeglNode *save = gegl_node_new_child (graph, "operation", saver, "path", memory_path, NULL);
  /* PNG keeps 8-bit sources 8-bit rather than GEGL's default of 16. */
  if (strcmp (saver, "gegl:png-save") == 0)
    gegl_node_set (save, "bitdepth", im->type == DD_PIXEL_U8 ? 8 : 16, NULL);
  g_autoptr (GeglMetadataStore) metadata = NULL;
  if (settings && writes_settings (saver)) {
    metadata = gegl_metadata_hash_new ();
    gegl_metadata_store_set_string (metadata, "description", settings);
    gegl_metadata_store_set_string (metadata, "software", "deepdream " DD_VERSION);
    gegl_node_set (save, "metadata", metadata, NULL);
  }
  gegl_node_link (source, save);
  guint warnings = picture_warning_count ();
  gegl_node_process (save);
  return picture_warning_count () == warnings;
}

/* GEGL's savers check few of their writes and never their close, so a full
 * disk would leave a truncated file: the file is encoded into memory first,
 * then written out through DdSafeFile, which checks every byte and replaces
 * the destination only when the whole file is on the disk. */
gboolean
cli_save_image (const DdImage *im, const Babl *format, const char *path, const char *settings,
                GError **error)
{
  g_autoptr (DdSafeFile) file = dd_safe_file_new (path, error);
  if (!file)
    return FALSE;
  int memory_fd = memfd_create ("deepdream-output", MFD_CLOEXEC);
  if (memory_fd < 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot write '%s': %s",
                 path, g_strerror (errno));
    return FALSE;
  }
  gboolean encoded = encode_image (im, format, saver_for (path), settings, memory_fd);
  g_autoptr (GMappedFile) bytes = g_mapped_file_new_from_fd (memory_fd, FALSE, NULL);
  close (memory_fd);
  if (!encoded || !bytes || g_mapped_file_get_length (bytes) == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                 "cannot write '%s': GEGL could not encode the image", path);
    return FALSE;
  }
  return dd_safe_file_write (file, g_mapped_file_get_contents (bytes),
                             g_mapped_file_get_length (bytes), error) &&
         dd_safe_file_commit (file, error);
}

/* ---- Commands ------------------------------------------------------------------------ */

static gboolean
print_layers (DdModel *model, const DdModelCard *card, int width, int height, GError **error)
{
  g_autoptr (GArray) tensors = dd_model_list_tensors (model, width, height, error);
  if (!tensors)
    return FALSE;
  printf ("# %s: tensors for a %dx%d input (channels x height x width)\n",
          card->display_name ? card->display_name : card->name, width, height);
  for (guint i = 0; i < tensors->len; i++) {
    const DdTensorInfo *t = &g_array_index (tensors, DdTensorInfo, i);
    if (t->rank != 4)
      continue;
    const char *note = "";
    for (int k = 0; card->layers && card->layers[k]; k++)
      if (strcmp (card->layers[k], t->name) == 0)
        note = card->descriptions[k];
    printf ("%-36s %-18s %5d x %4d x %4d  %s\n", t->name, t->op_type, (int) t->dims[1],
            (int) t->dims[2], (int) t->dims[3], note);
  }
  return TRUE;
}

static void
show_progress (double fraction, int octave, int n_octaves, int iteration, int n_iterations,
               gpointer data)
{
  const int width = 30, done = (int) (fraction * width + 0.5);
  (void) data;
  fprintf (stderr, "\roctave %d/%d, step %2d/%d [%.*s%*s] %3d%%", octave, n_octaves, iteration,
           n_iterations, done, "##############################", width - done, "",
           (int) (fraction * 100 + 0.5));
  if (fraction >= 1)
    fputc ('\n', stderr);
}

/* The dream's time, phase by phase, and how much of it the network took. */
static void
print_times (const DdDreamInfo *info)
{
  double total = 0;
  for (int k = 0; k < DD_N_PHASES; k++)
    total += info->seconds[k];
  const double network = info->seconds[DD_PHASE_FORWARD] + info->seconds[DD_PHASE_BACKWARD];
  g_printerr ("deepdream: %.3f s in %d steps; per phase, s, %% of the run, ms a step:\n", total,
              info->steps);
  for (int k = 0; k < DD_N_PHASES; k++)
    g_printerr ("  %-10s %8.3f %6.1f %8.2f\n", dd_dream_phase_name (k), info->seconds[k],
                total > 0 ? 100 * info->seconds[k] / total : 0,
                info->steps > 0 ? 1e3 * info->seconds[k] / info->steps : 0);
  g_printerr ("  outside forward and backward: %.3f s (%.1f %%)\n", total - network,
              total > 0 ? 100 * (total - network) / total : 0);
}

static int
fail (const char *what, GError *error)
{
  g_printerr ("deepdream: %s%s%s\n", what ? what : "", what ? ": " : "", error->message);
  g_error_free (error);
  return EXIT_ERROR;
}

static int
dream (char **args, int n_args)
{
  GError *error = NULL;
  if (!list_layers && !check_writable (args[1], &error))
    return fail (NULL, error);
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = dd_model_open (params.model, &card, &error);
  if (!model)
    return fail (NULL, error);
  if (card->assumed && card->stated && !quiet)
    g_printerr ("deepdream: note: no card for %s; using the preprocessing the file states "
                "(%s, 0..%g, mean %g/%g/%g, std %g)\n",
                card->file, card->bgr ? "BGR" : "RGB", card->range, card->mean[0], card->mean[1],
                card->mean[2], card->std[0]);
  else if (card->assumed && !quiet)
    g_printerr ("deepdream: warning: no card for %s; assuming ImageNet RGB preprocessing "
                "(mean 0.485/0.456/0.406, std 0.229/0.224/0.225)\n",
                card->file);

  if (settings_sha256 && g_strcmp0 (card->sha256, settings_sha256) != 0) {
    g_set_error (&error, DD_ERROR, DD_ERROR_INVALID,
                 "%s: settings: model-sha256: %s, but model %s's is %s", settings_from,
                 settings_sha256, card->name, card->sha256 ? card->sha256 : "unknown");
    return fail (NULL, error);
  }
  Picture input = { 0 }, guide = { 0 }, mask = { 0 };
  if (list_layers) {
    /* Only the image's size matters: read from its header. */
    GeglRectangle extent = { 0, 0, 224, 224 };
    g_autoptr (GeglNode) sizing = gegl_node_new ();
    if (n_args >= 1 && !open_picture (sizing, args[0], &extent, &error))
      return fail (NULL, error);
    return print_layers (model, card, extent.width, extent.height, &error) ? 0 : fail (NULL, error);
  }
  /* A dream that cannot fit the memory budget is refused from the file's
   * header, before a huge image is decoded. Grey images need the least. */
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglRectangle extent;
  GeglNode *load = open_picture (graph, args[0], &extent, &error);
  if (!load ||
      !dd_dream_check (model, card, &params, extent.width, extent.height, 1, NULL, &error) ||
      !read_picture (load, args[0], &input, &error))
    return fail (NULL, error);
  g_clear_object (&graph); /* its loader holds a decoded copy of the image */
  if (params.guide && *params.guide && !load_guide (params.guide, &guide, &error)) {
    picture_clear (&input);
    return fail ("guide", error);
  }
  if (params.mask && *params.mask &&
      !load_mask (params.mask, input.image.width, input.image.height, &mask, &error)) {
    picture_clear (&input);
    picture_clear (&guide);
    return fail ("mask", error);
  }
  DdDreamInfo info;
  gboolean ok =
      dd_dream_run_masked (model, card, &params, guide.image.pixels ? &guide.image : NULL,
                           mask.image.pixels ? &mask.image : NULL, &input.image,
                           quiet || !isatty (2) ? NULL : show_progress, NULL, NULL, &info, &error);
  if (ok) {
    g_autofree char *settings = dd_dream_settings_to_text (&params, card, info.seed);
    ok = cli_save_image (&input.image, input.format, args[1], settings, &error);
  }
  picture_clear (&input);
  picture_clear (&guide);
  picture_clear (&mask);
  if (!ok)
    return fail (NULL, error);
  if (!quiet)
    g_printerr ("deepdream: wrote %s (seed %d, %d octave%s, %d tile%s of %dx%d)\n", args[1],
                info.seed, info.octaves_run, info.octaves_run == 1 ? "" : "s", info.tiles,
                info.tiles == 1 ? "" : "s", info.tile_width, info.tile_height);
  if (verbose && !quiet)
    print_times (&info);
  return 0;
}

/* The card of the model the options name. */
static DdModelCard *
options_card (GError **error)
{
  return dd_model_card_find (params.model && *params.model ? params.model : "googlenet", error);
}

/* The table's options as given, over the parameters a preset or settings
 * set: a --layer replaces their layers, further ones add to it. */
static gboolean
replay_options (GPtrArray *options, GError **error)
{
  gboolean layers_given = FALSE;
  for (guint i = 0; i + 1 < options->len; i += 2) {
    const char *name = options->pdata[i], *value = options->pdata[i + 1];
    if (!layers_given && (strcmp (name, "--layer") == 0 || strcmp (name, "-l") == 0)) {
      layers_given = TRUE;
      g_clear_pointer (&params.layers, g_free);
    }
    if (!set_option (name, value, NULL, error))
      return FALSE;
  }
  return TRUE;
}

/* params = the preset, then the options as given over it (a --layer
 * replaces the preset's layers rather than adding to them). */
static gboolean
apply_preset (GError **error)
{
  g_autoptr (DdModelCard) card = options_card (error);
  if (!card)
    return FALSE;
  g_autoptr (GPtrArray) options = g_steal_pointer (&given);
  dd_dream_params_clear (&params);
  dd_dream_params_init (&params);
  if (!dd_dream_params_apply_preset (&params, card, preset, error))
    return FALSE;
  return replay_options (options, error);
}

/* The settings text a dream left in path: an image's description (GEGL
 * reads PNG's and TIFF's), or the file itself as a key file. */
static char *
read_settings_text (const char *path, gsize *length, GError **error)
{
  g_autofree char *head = NULL;
  gsize n = 0;
  if (!g_file_get_contents (path, &head, &n, error))
    return NULL;
  const char *loader = NULL;
  if (n >= 8 && memcmp (head, "\x89PNG\r\n\x1a\n", 8) == 0)
    loader = "gegl:png-load";
  else if (n >= 4 && (memcmp (head, "II*", 4) == 0 || memcmp (head, "MM\0*", 4) == 0))
    loader = "gegl:tiff-load";
  else if (n >= 2 && (guint8) head[0] == 0xff && (guint8) head[1] == 0xd8) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID,
                 "%s: GEGL cannot read a JPEG's comment; give the dream's PNG or TIFF, or its "
                 "settings as a key file",
                 path);
    return NULL;
  }
  if (!loader) {
    *length = n;
    return g_steal_pointer (&head);
  }
  g_autoptr (GeglMetadataStore) metadata = gegl_metadata_hash_new ();
  g_autoptr (GeglNode) graph = gegl_node_new ();
  g_autoptr (GeglBuffer) pixels = NULL;
  GeglNode *load =
      gegl_node_new_child (graph, "operation", loader, "path", path, "metadata", metadata, NULL);
  /* The loaders fill the metadata as they decode. */
  GeglNode *sink =
      gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &pixels, NULL);
  gegl_node_link (load, sink);
  gegl_node_process (sink);
  const char *text = gegl_metadata_store_has_value (metadata, "description")
                         ? gegl_metadata_store_get_string (metadata, "description")
                         : NULL;
  if (!text) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "%s: no deepdream settings in it", path);
    return NULL;
  }
  *length = strlen (text);
  return g_strdup (text);
}

/* params = the settings in --settings-from's file, then the options as
 * given over them. */
static gboolean
apply_settings (GError **error)
{
  gsize length = 0;
  GError *local = NULL;
  g_autofree char *text = read_settings_text (settings_from, &length, error);
  if (!text)
    return FALSE;
  g_autoptr (GPtrArray) options = g_steal_pointer (&given);
  if (!dd_dream_settings_from_text (&params, text, length, &settings_sha256, &local)) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "%s: %s", settings_from, local->message);
    g_error_free (local);
    return FALSE;
  }
  return replay_options (options, error);
}

/* A class drawn with the layer dream's defaults (10 steps of 1.5 on the
 * photo) is a faint haze: --class alone takes the card's "class" preset,
 * when it has one, under the options given. */
static void
choose_class_preset (void)
{
  /* A model that cannot be found is reported by the dream, in its words. */
  g_autoptr (DdModelCard) card = options_card (NULL);
  g_auto (GStrv) names = card ? dd_model_card_list_presets (card, NULL) : NULL;
  if (names && g_strv_contains ((const char *const *) names, "class"))
    preset = g_strdup ("class");
}

static int
print_presets (void)
{
  GError *error = NULL;
  g_autoptr (DdModelCard) card = options_card (&error);
  if (!card)
    return fail (NULL, error);
  g_auto (GStrv) descriptions = NULL;
  g_auto (GStrv) names = dd_model_card_list_presets (card, &descriptions);
  for (int i = 0; names[i]; i++)
    printf ("%-12s %s\n", names[i], descriptions[i]);
  return 0;
}

/* ---- Address space ------------------------------------------------------------------- */

/* Under an address-space limit (ulimit -v) too small for it, OpenBLAS
 * retries a failed allocation of its buffer forever, and babl, inside
 * gegl_init, crashes on a malloc it does not check. So the command refuses
 * such a limit itself, before either runs. Measured (VmPeak of a small
 * dream, OpenBLAS 0.3.21 built with OpenMP, GEGL 0.4.42): 843 MB with one
 * thread, 1114 with two, 1392 with four, 1982 with eight. */
#define START_MB 700       /* the program, GEGL's start-up peak, the model, a small dream */
#define BLAS_BUFFER_MB 132 /* OpenBLAS's buffer, one per thread of its own at load */
#define THREAD_MB 144      /* per OpenMP thread: its OpenBLAS buffer, stack and malloc arena */

/* A positive thread count from an environment variable ("4" or "4,2"), or 0. */
static long
threads_from (char **envp, const char *name)
{
  const size_t length = strlen (name);
  for (char **e = envp; e && *e; e++)
    if (strncmp (*e, name, length) == 0 && (*e)[length] == '=') {
      long n = strtol (*e + length + 1, NULL, 10);
      return n > 0 ? n : 0;
    }
  return 0;
}

/* What the command needs with omp_threads OpenMP threads, OpenBLAS taking
 * blas_threads of its own, in MB. */
static long
address_space_needed_mb (long omp_threads, long blas_threads)
{
  return START_MB + blas_threads * BLAS_BUFFER_MB + omp_threads * THREAD_MB;
}

/* The address-space limit in MB, or 0 when there is none. */
static long
address_space_limit_mb (void)
{
  struct rlimit as;
  if (getrlimit (RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY)
    return 0;
  return (long) (as.rlim_cur >> 20);
}

static void
say_address_space_too_small (long limit_mb, long threads, long need_mb, long one_thread_mb)
{
  char advice[100] = "", line[400];
  if (threads > 1)
    snprintf (advice, sizeof advice, ", or use one thread (OMP_NUM_THREADS=1 needs %ld MB)",
              one_thread_mb);
  snprintf (line, sizeof line,
            "deepdream: the address-space limit (ulimit -v) of %ld MB is below the %ld MB "
            "deepdream needs with %ld thread%s; raise it%s\n",
            limit_mb, need_mb, threads, threads == 1 ? "" : "s", advice);
  if (write (2, line, strlen (line)) < 0)
    return;
}

/* Runs before any library's constructor (OpenBLAS allocates its buffers in
 * its own), so it may use neither GLib nor the command's options: the
 * thread counts are those OpenBLAS and OpenMP take from the environment,
 * which is left as the user set it. */
static void
check_address_space (int argc, char **argv, char **envp)
{
  (void) argc, (void) argv;
  long limit_mb = address_space_limit_mb ();
  if (limit_mb == 0)
    return;
  cpu_set_t cpus;
  long cores = sched_getaffinity (0, sizeof cpus, &cpus) == 0 ? CPU_COUNT (&cpus) : 1;
  long omp = threads_from (envp, "OMP_NUM_THREADS");
  long blas = threads_from (envp, "OPENBLAS_NUM_THREADS");
  if (!blas)
    blas = threads_from (envp, "GOTO_NUM_THREADS");
  if (!blas)
    blas = omp;
  omp = omp ? omp : cores;
  blas = MIN (blas ? blas : cores, cores);
  long need_mb = address_space_needed_mb (omp, blas);
  if (limit_mb < need_mb) {
    say_address_space_too_small (limit_mb, omp, need_mb, address_space_needed_mb (1, 1));
    _exit (EXIT_ERROR);
  }
}

__attribute__ ((section (".preinit_array"),
                used)) static void (*const check_address_space_at_load) (int, char **, char **) =
    check_address_space;

/* --threads N gives OpenBLAS N buffers and OpenMP N threads. */
static gboolean
check_threads_fit (int threads, GError **error)
{
  long limit_mb = address_space_limit_mb (), need_mb = address_space_needed_mb (threads, threads);
  if (limit_mb && limit_mb < need_mb) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                 "the address-space limit (ulimit -v) of %ld MB is below the %ld MB deepdream "
                 "needs with %d threads",
                 limit_mb, need_mb, threads);
    return FALSE;
  }
  return TRUE;
}

/* babl may still crash inside gegl_init when memory runs out otherwise
 * (a cgroup limit, a system out of memory): one line rather than a core. */
static void
crashed_starting_gegl (int signal_number)
{
  static const char line[] =
      "deepdream: out of memory while starting GEGL (babl crashed on a failed allocation)\n";
  (void) signal_number;
  if (write (2, line, sizeof line - 1) < 0)
    _exit (EXIT_ERROR);
  _exit (EXIT_ERROR);
}

static void
start_gegl (void)
{
  static gboolean started;
  if (started)
    return;
  started = TRUE;
  static char alternate_stack[64 << 10];
  stack_t stack = { .ss_sp = alternate_stack, .ss_size = sizeof alternate_stack };
  struct sigaction crash = { .sa_handler = crashed_starting_gegl, .sa_flags = SA_ONSTACK };
  struct sigaction old_segv, old_bus;
  sigemptyset (&crash.sa_mask);
  sigaltstack (&stack, NULL);
  sigaction (SIGSEGV, &crash, &old_segv);
  sigaction (SIGBUS, &crash, &old_bus);
  gegl_init (NULL, NULL);
  sigaction (SIGSEGV, &old_segv, NULL);
  sigaction (SIGBUS, &old_bus, NULL);
}

int
main (int argc, char **argv)
{
  dd_process_init (argv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("INPUT OUTPUT");
  g_autofree GOptionEntry *entries = make_entries ();

  setlocale (LC_ALL, "");
  g_set_prgname ("deepdream");
  picture_setup ();
  dd_dream_params_init (&params);
  g_option_context_set_summary (context, "Dreams INPUT into OUTPUT with DeepDream (GoogLeNet's "
                                         "inception_4c/output unless told otherwise).");
  g_option_context_add_main_entries (context, entries, NULL);
  given = g_ptr_array_new_with_free_func (g_free);
  g_option_context_add_main_entries (context, animate_option_entries (), NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("deepdream: %s (see deepdream --help)\n", error->message);
    return EXIT_USAGE;
  }
  /* GOption keeps "--" when an argument after it looks like an option:
   * it only ends the options, as everywhere else. */
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--") == 0) {
      memmove (argv + i, argv + i + 1, (argc - i) * sizeof *argv);
      argc--;
      break;
    }
  if (list_presets)
    return print_presets ();
  if (preset && settings_from) {
    g_printerr ("deepdream: --preset and --settings-from each set every parameter; give one\n");
    return EXIT_USAGE;
  }
  if (!preset && !settings_from && params.class_index >= 0)
    choose_class_preset ();
  if (preset && !apply_preset (&error)) {
    g_printerr ("deepdream: %s\n", error->message);
    return EXIT_USAGE;
  }
  if (settings_from) {
    start_gegl ();
    if (!apply_settings (&error)) {
      g_printerr ("deepdream: %s\n", error->message);
      return EXIT_USAGE;
    }
  }
  g_clear_pointer (&given, g_ptr_array_unref);
  if (show_version) {
    g_autofree char *kernels = dd_blas_describe ();
    printf ("deepdream %s\n%s\n", DD_VERSION, kernels);
    return 0;
  }
  if (argc != 3 && !(list_layers && argc <= 2)) {
    g_printerr ("deepdream: give an INPUT and an OUTPUT image (see deepdream --help)\n");
    return EXIT_USAGE;
  }
  if (!dd_dream_params_validate (&params, &error)) {
    g_printerr ("deepdream: %s\n", error->message);
    return EXIT_USAGE;
  }
  if (params.threads > 0) {
    if (!check_threads_fit (params.threads, &error)) {
      g_printerr ("deepdream: %s\n", error->message);
      return EXIT_ERROR;
    }
    omp_set_num_threads (params.threads);
    openblas_set_num_threads (params.threads);
  }
  start_gegl ();
  int status = animate_requested () ? animate_run (&params, argv[1], argv[2], quiet)
                                    : dream (argv + 1, argc - 1);
  dd_dream_params_clear (&params);
  g_free (preset);
  g_free (settings_from);
  g_free (settings_sha256);
  gegl_exit ();
  return status;
}
