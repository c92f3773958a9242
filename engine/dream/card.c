/* card.c: model cards, small key files that say how to use a model.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-model.h"
#include "deepdream.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CARD_GROUP "Model"
#define LAYERS_GROUP "Layers"

#ifndef DD_MODEL_DATADIR
#define DD_MODEL_DATADIR "/usr/local/share/gimp-deepdream/models"
#endif

void
dd_model_card_free (DdModelCard *card)
{
  if (!card)
    return;
  g_free (card->name);
  g_free (card->display_name);
  g_free (card->file);
  g_free (card->sha256);
  g_free (card->default_layer);
  g_free (card->preact_suffix);
  g_free (card->classifier);
  g_strfreev (card->layers);
  g_strfreev (card->descriptions);
  g_free (card->license);
  g_free (card->url);
  g_strfreev (card->digests);
  g_free (card);
}

char **
dd_model_path (void)
{
  g_autoptr (GStrvBuilder) dirs = g_strv_builder_new ();
  const char *env = g_getenv ("DEEPDREAM_MODEL_PATH");
  if (env && *env) {
    g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (int i = 0; parts[i]; i++)
      if (*parts[i])
        g_strv_builder_add (dirs, parts[i]);
  }
  g_autofree char *user =
      g_build_filename (g_get_user_data_dir (), "gimp-deepdream", "models", NULL);
  g_strv_builder_add (dirs, user);
  g_strv_builder_add (dirs, DD_MODEL_DATADIR);
  return g_strv_builder_end (dirs);
}

/* A file named name in the card's folder or on the model path. */
static char *
find_on_path (const char *card_dir, const char *name)
{
  if (g_path_is_absolute (name))
    return g_file_test (name, G_FILE_TEST_IS_REGULAR) ? g_strdup (name) : NULL;
  g_autofree char *beside = card_dir ? g_build_filename (card_dir, name, NULL) : NULL;
  if (beside && g_file_test (beside, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&beside);
  g_auto (GStrv) dirs = dd_model_path ();
  for (int i = 0; dirs[i]; i++) {
    char *path = g_build_filename (dirs[i], name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      return path;
    g_free (path);
  }
  return NULL;
}

/* Card values that pass could still drive every pixel to NaN or black,
 * so each is checked against what a network's preprocessing can mean. */
#define MAX_RANGE 65535.0 /* 16-bit pixels */

static gboolean
bad_value (GError **error, const char *key, const char *value, const char *why)
{
  g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "%s=%s: %s", key, value ? value : "", why);
  return FALSE;
}

/* A number; def when the key is absent. */
static gboolean
read_number (GKeyFile *kf, const char *key, double def, double *out, GError **error)
{
  g_autofree char *text = g_key_file_get_value (kf, CARD_GROUP, key, NULL);
  if (!text) {
    *out = def;
    return TRUE;
  }
  char *end = NULL;
  *out = g_ascii_strtod (text, &end);
  if (end == text || *end || !isfinite (*out))
    return bad_value (error, key, text, "not a finite number");
  return TRUE;
}

/* Three numbers, in [lo, hi], written "a;b;c"; def when the key is absent. */
static gboolean
read_triple (GKeyFile *kf, const char *key, float def, double lo, double hi, float out[3],
             GError **error)
{
  g_autofree char *text = g_key_file_get_value (kf, CARD_GROUP, key, NULL);
  if (!text) {
    out[0] = out[1] = out[2] = def;
    return TRUE;
  }
  g_auto (GStrv) parts = g_strsplit (text, ";", -1);
  int n = (int) g_strv_length (parts);
  if (n == 4 && !*g_strstrip (parts[3])) /* GKeyFile lists may end with ';' */
    n = 3;
  if (n != 3)
    return bad_value (error, key, text, "needs three numbers separated by ';' (as 104;117;123)");
  for (int i = 0; i < 3; i++) {
    char *end = NULL;
    double v = g_ascii_strtod (g_strstrip (parts[i]), &end);
    if (end == parts[i] || *end)
      return bad_value (error, key, text, "needs three numbers separated by ';' (as 104;117;123)");
    if (!(v >= lo && v <= hi)) {
      g_autofree char *why = g_strdup_printf ("each must be in %g..%g for this Range", lo, hi);
      return bad_value (error, key, text, why);
    }
    out[i] = (float) v;
  }
  return TRUE;
}

/* The card's files (File: the same weights in several formats, preferred
 * first): the first one found on the path, else the first name, and the
 * checksums the card knows of them, as "sha256:HEX" or "sha1:HEX": [Model]
 * Sha256 and Sha1 for the first file, a group named after each file for any. */
static void
read_files (DdModelCard *card, GKeyFile *kf, const char *dir, char **files)
{
  const char *const kinds[] = { "Sha256", "Sha1" }, *const prefixes[] = { "sha256:", "sha1:" };
  GPtrArray *digests = g_ptr_array_new ();
  for (int i = 0; files[i]; i++) {
    for (int g = i ? 1 : 0; g < 2; g++)
      for (int k = 0; k < 2; k++) {
        g_autofree char *hex =
            g_key_file_get_string (kf, g ? files[i] : CARD_GROUP, kinds[k], NULL);
        if (hex)
          g_ptr_array_add (digests, g_strconcat (prefixes[k], g_strstrip (hex), NULL));
      }
    if (!card->file)
      card->file = find_on_path (dir, files[i]);
  }
  g_ptr_array_add (digests, NULL);
  card->digests = (char **) g_ptr_array_free (digests, FALSE);
  if (!card->file) /* Not installed yet: keep the name for the message. */
    card->file = g_strdup (files[0]);
}

static gboolean
read_preprocessing (DdModelCard *card, GKeyFile *kf, GError **error)
{
  double range, size;
  if (!read_number (kf, "Range", 255, &range, error) ||
      !read_number (kf, "ClassifierSize", 0, &size, error))
    return FALSE;
  if (!(range > 0 && range <= MAX_RANGE)) {
    g_autofree char *text = g_key_file_get_value (kf, CARD_GROUP, "Range", NULL);
    return bad_value (error, "Range", text, "must be above 0 and at most 65535 (255 or 1)");
  }
  if (size < 0 || size > 4096 || size != (int) size) {
    g_autofree char *text = g_key_file_get_value (kf, CARD_GROUP, "ClassifierSize", NULL);
    return bad_value (error, "ClassifierSize", text, "must be a whole number of pixels, 0..4096");
  }
  card->range = (float) range;
  card->classifier_size = (int) size;
  /* A mean outside the pixels' range, or a spread so small or large that
   * inputs reach 10^4 or vanish, is a mistake in the card, not a network. */
  return read_triple (kf, "Mean", 0, -range, range, card->mean, error) &&
         read_triple (kf, "Std", 1, range * 1e-4, range * 1e2, card->std, error);
}

static gboolean
read_card (DdModelCard *card, GKeyFile *kf, const char *dir, GError **error)
{
  g_autofree char *order = g_key_file_get_string (kf, CARD_GROUP, "ChannelOrder", NULL);
  g_auto (GStrv) files = g_key_file_get_string_list (kf, CARD_GROUP, "File", NULL, NULL);

  card->name = g_key_file_get_string (kf, CARD_GROUP, "Name", NULL);
  card->display_name = g_key_file_get_string (kf, CARD_GROUP, "DisplayName", NULL);
  card->sha256 = g_key_file_get_string (kf, CARD_GROUP, "Sha256", NULL);
  card->default_layer = g_key_file_get_string (kf, CARD_GROUP, "DefaultLayer", NULL);
  card->preact_suffix = g_key_file_get_string (kf, CARD_GROUP, "PreactSuffix", NULL);
  card->classifier = g_key_file_get_string (kf, CARD_GROUP, "Classifier", NULL);
  card->license = g_key_file_get_string (kf, CARD_GROUP, "License", NULL);
  card->url = g_key_file_get_string (kf, CARD_GROUP, "Url", NULL);
  if (!card->name || !files || !files[0] || !card->default_layer) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "Name, File and DefaultLayer are required");
    return FALSE;
  }
  if (order && g_ascii_strcasecmp (order, "BGR") != 0 && g_ascii_strcasecmp (order, "RGB") != 0) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "ChannelOrder must be RGB or BGR, not %s",
                 order);
    return FALSE;
  }
  card->bgr = order && g_ascii_strcasecmp (order, "BGR") == 0;
  if (card->sha256 &&
      (strlen (card->sha256) != 64 || strspn (card->sha256, "0123456789abcdefABCDEF") != 64))
    return bad_value (error, "Sha256", card->sha256, "needs 64 hexadecimal digits");
  if (!read_preprocessing (card, kf, error))
    return FALSE;

  gsize n = 0;
  g_auto (GStrv) keys = g_key_file_get_keys (kf, LAYERS_GROUP, &n, NULL);
  card->layers = g_new0 (char *, n + 1);
  card->descriptions = g_new0 (char *, n + 1);
  for (gsize i = 0; i < n; i++) {
    card->layers[i] = g_strdup (keys[i]);
    card->descriptions[i] = g_key_file_get_string (kf, LAYERS_GROUP, keys[i], NULL);
  }
  read_files (card, kf, dir, files);
  return TRUE;
}

DdModelCard *
dd_model_card_load (const char *card_path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (DdModelCard) card = g_new0 (DdModelCard, 1);
  g_autofree char *dir = g_path_get_dirname (card_path);
  GError *local = NULL;

  if (!dd_file_check_regular (card_path, &local) ||
      !g_key_file_load_from_file (kf, card_path, G_KEY_FILE_NONE, &local) ||
      !read_card (card, kf, dir, &local)) {
    g_set_error (error, DD_ERROR, local->domain == DD_ERROR ? local->code : DD_ERROR_IO,
                 "model card '%s': %s", card_path, local->message);
    g_error_free (local);
    return NULL;
  }
  return g_steal_pointer (&card);
}

/* Where the checksums of model files are kept between runs. */
static char *
checksum_cache_path (void)
{
  return g_build_filename (g_get_user_cache_dir (), "gimp-deepdream", "checksums", NULL);
}

/* A model file's checksums as cards write them, {"sha256:HEX", "sha1:HEX",
 * NULL}. Hashing GoogLeNet's 28 MB takes a tenth of a second and larger
 * models proportionally more, on every run: the sums are cached by the
 * file's size, modification time and inode, so a file changed in any
 * ordinary way is hashed again. The cache is a convenience: when it cannot
 * be read or written the sums are simply computed. */
static char **
model_digests (const char *path, GError **error)
{
  GStatBuf st;
  if (!dd_file_check_regular (path, error) || g_stat (path, &st) != 0)
    return NULL;
  g_autofree char *stamp = g_strdup_printf (
      "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT ".%09ld %" G_GUINT64_FORMAT, (gint64) st.st_size,
      (gint64) st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (guint64) st.st_ino);
  g_autofree char *real = realpath (path, NULL);
  /* Group names may not hold every character a path may: a hash of it. */
  g_autofree char *group = g_compute_checksum_for_string (G_CHECKSUM_SHA1, real ? real : path, -1);
  g_autofree char *cache_path = checksum_cache_path ();
  g_autoptr (GKeyFile) cache = g_key_file_new ();
  if (g_file_test (cache_path, G_FILE_TEST_IS_REGULAR))
    g_key_file_load_from_file (cache, cache_path, G_KEY_FILE_NONE, NULL);
  g_autofree char *cached_stamp = g_key_file_get_string (cache, group, "Stamp", NULL);
  g_autofree char *sha256 = g_key_file_get_string (cache, group, "Sha256", NULL);
  g_autofree char *sha1 = g_key_file_get_string (cache, group, "Sha1", NULL);

  if (!sha256 || !sha1 || g_strcmp0 (cached_stamp, stamp) != 0) {
    GError *local = NULL;
    g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
    if (!file) {
      g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot read model '%s': %s", path,
                   local->message);
      g_error_free (local);
      return NULL;
    }
    const guchar *data = (const guchar *) g_mapped_file_get_contents (file);
    gsize length = g_mapped_file_get_length (file);
    g_free (sha256);
    g_free (sha1);
    sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, length);
    sha1 = g_compute_checksum_for_data (G_CHECKSUM_SHA1, data, length);
    g_key_file_set_string (cache, group, "File", real ? real : path);
    g_key_file_set_string (cache, group, "Stamp", stamp);
    g_key_file_set_string (cache, group, "Sha256", sha256);
    g_key_file_set_string (cache, group, "Sha1", sha1);
    g_autofree char *folder = g_path_get_dirname (cache_path);
    gsize size = 0;
    g_autofree char *text = g_key_file_to_data (cache, &size, NULL);
    if (g_mkdir_with_parents (folder, 0700) == 0)
      dd_file_set_contents (cache_path, text, size, NULL);
  }
  char **digests = g_new0 (char *, 3);
  digests[0] = g_strconcat ("sha256:", sha256, NULL);
  digests[1] = g_strconcat ("sha1:", sha1, NULL);
  return digests;
}

/* Calls match on every card on the model path, in path order, until it
 * returns TRUE; returns that card. The first card that cannot be read is
 * kept in broken (unless NULL) to explain a search that finds nothing. */
static DdModelCard *
find_card (gboolean (*match) (const DdModelCard *card, gconstpointer data), gconstpointer data,
           GError **broken)
{
  g_auto (GStrv) dirs = dd_model_path ();
  for (int i = 0; dirs[i]; i++) {
    g_autoptr (GDir) dir = g_dir_open (dirs[i], 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir))) {
      if (!g_str_has_suffix (name, ".card"))
        continue;
      g_autofree char *path = g_build_filename (dirs[i], name, NULL);
      GError *local = NULL;
      DdModelCard *card = dd_model_card_load (path, &local);
      if (!card && broken && !*broken)
        g_propagate_error (broken, local);
      else
        g_clear_error (&local);
      if (card && match (card, data))
        return card;
      dd_model_card_free (card);
    }
  }
  return NULL;
}

static gboolean
match_name (const DdModelCard *card, gconstpointer name)
{
  return g_strcmp0 (card->name, name) == 0;
}

static gboolean
match_digests (const DdModelCard *card, gconstpointer file_digests)
{
  const char *const *have = file_digests;
  for (int i = 0; card->digests[i]; i++)
    for (int k = 0; have[k]; k++)
      if (g_ascii_strcasecmp (card->digests[i], have[k]) == 0)
        return TRUE;
  return FALSE;
}

typedef struct {
  GHashTable *seen;
  GStrvBuilder *names;
} Installed;

/* Collects the names of cards whose model file was found; matches none. */
static gboolean
collect_installed (const DdModelCard *card, gconstpointer data)
{
  const Installed *in = data;
  if (g_path_is_absolute (card->file) && g_hash_table_add (in->seen, g_strdup (card->name)))
    g_strv_builder_add (in->names, card->name);
  return FALSE;
}

/* A card for a model nobody described: torchvision's ImageNet convention. */
static DdModelCard *
assumed_card (const char *path)
{
  DdModelCard *card = g_new0 (DdModelCard, 1);
  card->name = g_path_get_basename (path);
  card->display_name = g_strdup (card->name);
  card->file = g_strdup (path);
  card->range = 1;
  const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
  memcpy (card->mean, mean, sizeof mean);
  memcpy (card->std, std, sizeof std);
  card->layers = g_new0 (char *, 1);
  card->descriptions = g_new0 (char *, 1);
  card->assumed = TRUE;
  return card;
}

static gboolean
is_model_file (const char *name)
{
  return g_str_has_suffix (name, ".onnx") || g_str_has_suffix (name, ".caffemodel") ||
         strchr (name, G_DIR_SEPARATOR) != NULL;
}

DdModelCard *
dd_model_card_find (const char *name_or_file, GError **error)
{
  const char *name = name_or_file && *name_or_file ? name_or_file : "googlenet";

  if (!is_model_file (name)) {
    g_autoptr (GError) broken = NULL;
    DdModelCard *card = find_card (match_name, name, &broken);
    if (!card && broken)
      g_set_error (error, DD_ERROR, broken->code,
                   "no readable model card named '%s'; one card on the model path is broken: %s",
                   name, broken->message);
    else if (!card)
      g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                   "no model card named '%s' on the model path (give an .onnx or .caffemodel file, "
                   "or install "
                   "the model with models/fetch %s)",
                   name, name);
    return card;
  }
  g_auto (GStrv) digests = model_digests (name, error);
  if (!digests)
    return NULL;
  DdModelCard *card = find_card (match_digests, digests, NULL);
  if (!card)
    return assumed_card (name);
  g_free (card->file);
  card->file = g_strdup (name);
  return card;
}

char **
dd_model_card_list_installed (void)
{
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Installed in = { seen, names };
  find_card (collect_installed, &in, NULL);
  return g_strv_builder_end (names);
}

char *
dd_model_card_resolve_layer (const DdModelCard *card, DdModel *model, const char *name)
{
  if (card->preact_suffix && *card->preact_suffix) {
    g_autofree char *preact = g_strconcat (name, card->preact_suffix, NULL);
    if (dd_model_find (model, preact) >= 0)
      return g_steal_pointer (&preact);
  }
  return g_strdup (name);
}

/* What a file without a card says of its preprocessing (a Caffe training
 * net's data layer) beats the assumed ImageNet convention. */
static void
use_stated_preprocessing (DdModelCard *card, const DdPreprocessing *p)
{
  card->bgr = p->bgr;
  card->range = p->range;
  memcpy (card->mean, p->mean, sizeof card->mean);
  memcpy (card->std, p->std, sizeof card->std);
  card->stated = TRUE;
}

DdModel *
dd_model_open (const char *name_or_file, DdModelCard **card_out, GError **error)
{
  g_autoptr (DdModelCard) card = dd_model_card_find (name_or_file, error);
  if (!card)
    return NULL;
  if (!g_path_is_absolute (card->file) && !g_file_test (card->file, G_FILE_TEST_EXISTS)) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO,
                 "model '%s' is not installed: its file %s is not on the model path (run "
                 "models/fetch %s)",
                 card->name, card->file, card->name);
    return NULL;
  }
  if (!dd_file_check_regular (card->file, error))
    return NULL;
  /* fetch checks the sum when it installs a model; a file damaged or
   * replaced since would load and dream wrongly, or not at all. */
  if (card->digests && card->digests[0] && !card->assumed) {
    g_auto (GStrv) have = model_digests (card->file, error);
    if (!have)
      return NULL;
    if (!match_digests (card, have)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID,
                   "model '%s': the file %s is not the one its card describes (its %s matches "
                   "no checksum of the card): damaged or replaced; install it again with "
                   "models/fetch %s",
                   card->name, card->file, have[0], card->name);
      return NULL;
    }
  }
  DdModel *model = dd_model_new_from_file (card->file, error);
  DdPreprocessing stated;
  if (model && card->assumed && dd_model_get_preprocessing (model, &stated))
    use_stated_preprocessing (card, &stated);
  if (model && card_out)
    *card_out = g_steal_pointer (&card);
  return model;
}
