/* card.c: model cards, small key files that say how to use a model.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-model.h"

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
  g_free (card->card_path);
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

static gboolean
read_triple (GKeyFile *kf, const char *key, float def, float out[3], GError **error)
{
  gsize n = 0;
  GError *local = NULL;
  g_autofree double *v = g_key_file_get_double_list (kf, CARD_GROUP, key, &n, &local);
  if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)) {
    g_error_free (local);
    out[0] = out[1] = out[2] = def;
    return TRUE;
  }
  if (local || n != 3) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "%s needs three numbers", key);
    g_clear_error (&local);
    return FALSE;
  }
  for (int i = 0; i < 3; i++)
    out[i] = (float) v[i];
  return TRUE;
}

static gboolean
read_card (DdModelCard *card, GKeyFile *kf, const char *dir, GError **error)
{
  g_autofree char *order = g_key_file_get_string (kf, CARD_GROUP, "ChannelOrder", NULL);
  g_autofree char *file = g_key_file_get_string (kf, CARD_GROUP, "File", NULL);
  GError *local = NULL;

  card->name = g_key_file_get_string (kf, CARD_GROUP, "Name", NULL);
  card->display_name = g_key_file_get_string (kf, CARD_GROUP, "DisplayName", NULL);
  card->sha256 = g_key_file_get_string (kf, CARD_GROUP, "Sha256", NULL);
  card->default_layer = g_key_file_get_string (kf, CARD_GROUP, "DefaultLayer", NULL);
  card->preact_suffix = g_key_file_get_string (kf, CARD_GROUP, "PreactSuffix", NULL);
  card->classifier = g_key_file_get_string (kf, CARD_GROUP, "Classifier", NULL);
  card->license = g_key_file_get_string (kf, CARD_GROUP, "License", NULL);
  card->url = g_key_file_get_string (kf, CARD_GROUP, "Url", NULL);
  card->classifier_size = g_key_file_get_integer (kf, CARD_GROUP, "ClassifierSize", NULL);
  card->range = (float) g_key_file_get_double (kf, CARD_GROUP, "Range", &local);
  if (local) {
    g_clear_error (&local);
    card->range = 255;
  }
  if (!card->name || !file || !card->default_layer) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "Name, File and DefaultLayer are required");
    return FALSE;
  }
  if (order && g_ascii_strcasecmp (order, "BGR") != 0 && g_ascii_strcasecmp (order, "RGB") != 0) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "ChannelOrder must be RGB or BGR, not %s",
                 order);
    return FALSE;
  }
  card->bgr = order && g_ascii_strcasecmp (order, "BGR") == 0;
  if (!read_triple (kf, "Mean", 0, card->mean, error) ||
      !read_triple (kf, "Std", 1, card->std, error))
    return FALSE;
  for (int i = 0; i < 3; i++)
    if (card->std[i] <= 0) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "Std must be positive");
      return FALSE;
    }

  gsize n = 0;
  g_auto (GStrv) keys = g_key_file_get_keys (kf, LAYERS_GROUP, &n, NULL);
  card->layers = g_new0 (char *, n + 1);
  card->descriptions = g_new0 (char *, n + 1);
  for (gsize i = 0; i < n; i++) {
    card->layers[i] = g_strdup (keys[i]);
    card->descriptions[i] = g_key_file_get_string (kf, LAYERS_GROUP, keys[i], NULL);
  }
  card->file = find_on_path (dir, file);
  if (!card->file) /* Not installed yet: keep the name for the message. */
    card->file = g_strdup (file);
  return TRUE;
}

DdModelCard *
dd_model_card_load (const char *card_path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (DdModelCard) card = g_new0 (DdModelCard, 1);
  g_autofree char *dir = g_path_get_dirname (card_path);
  GError *local = NULL;

  if (!g_key_file_load_from_file (kf, card_path, G_KEY_FILE_NONE, &local) ||
      !read_card (card, kf, dir, &local)) {
    g_set_error (error, DD_ERROR, local->domain == DD_ERROR ? local->code : DD_ERROR_IO,
                 "model card '%s': %s", card_path, local->message);
    g_error_free (local);
    return NULL;
  }
  card->card_path = g_strdup (card_path);
  return g_steal_pointer (&card);
}

static char *
file_sha256 (const char *path, GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, error);
  if (!file)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (file),
                                      g_mapped_file_get_length (file));
}

/* Calls match on every card on the model path, in path order, until it
 * returns TRUE; returns that card. */
static DdModelCard *
find_card (gboolean (*match) (const DdModelCard *card, gconstpointer data), gconstpointer data)
{
  g_auto (GStrv) dirs = dd_model_path ();
  for (int i = 0; dirs[i]; i++) {
    g_autoptr (GDir) dir = g_dir_open (dirs[i], 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir))) {
      if (!g_str_has_suffix (name, ".card"))
        continue;
      g_autofree char *path = g_build_filename (dirs[i], name, NULL);
      DdModelCard *card = dd_model_card_load (path, NULL);
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
match_sha256 (const DdModelCard *card, gconstpointer sha)
{
  return card->sha256 && g_ascii_strcasecmp (card->sha256, sha) == 0;
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
  return g_str_has_suffix (name, ".onnx") || strchr (name, G_DIR_SEPARATOR) != NULL;
}

DdModelCard *
dd_model_card_find (const char *name_or_file, GError **error)
{
  const char *name = name_or_file && *name_or_file ? name_or_file : "googlenet";

  if (!is_model_file (name)) {
    DdModelCard *card = find_card (match_name, name);
    if (!card)
      g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                   "no model card named '%s' on the model path (give an .onnx file, or install "
                   "the model with models/fetch %s)",
                   name, name);
    return card;
  }
  g_autofree char *sha = file_sha256 (name, NULL);
  if (!sha) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot read model '%s'", name);
    return NULL;
  }
  DdModelCard *card = find_card (match_sha256, sha);
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
  find_card (collect_installed, &in);
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
  DdModel *model = dd_model_new_from_file (card->file, error);
  if (model && card_out)
    *card_out = g_steal_pointer (&card);
  return model;
}
