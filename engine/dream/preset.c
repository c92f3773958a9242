/* preset.c: named sets of dream parameters, read from the model's card.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A preset belongs with its model (its layers are that network's), so it
 * lives in the model's card, one [Preset NAME] group per preset, whose
 * keys are the parameter table's names. The card is read again here rather
 * than kept in DdModelCard: presets are wanted once per run at most.
 *
 * A user's own presets live in one key file in the user's configuration
 * folder (XDG's, so that GIMP 2.10, GIMP 3 and the command line share
 * them), in the same groups plus a model key: a preset's layers belong to
 * that model's network, so each model lists only its own.
 */
#include "deepdream.h"

#include <errno.h>
#include <string.h>

#define PRESET_PREFIX "Preset "
#define DESCRIPTION_KEY "Description"
#define MODEL_KEY "model"
#define USER_PRESETS_FILE "presets"

static GKeyFile *
open_card (const DdModelCard *card, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GError *local = NULL;
  if (!card->card_path) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "preset: model '%s' has no card, so no presets", card->name);
    return NULL;
  }
  if (!g_key_file_load_from_file (kf, card->card_path, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "model card '%s': %s", card->card_path,
                 local->message);
    g_error_free (local);
    return NULL;
  }
  return g_steal_pointer (&kf);
}

/* The strings of a NULL-terminated array as a GStrv, also when empty
 * (an array that never grew has no storage to give). */
static char **
steal_strv (GPtrArray *array)
{
  char **strv = (char **) g_ptr_array_steal (array, NULL);
  return strv ? strv : g_new0 (char *, 1);
}

char *
dd_user_presets_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "gimp-deepdream", USER_PRESETS_FILE, NULL);
}

/* The user's presets file; an empty one when there is none yet. */
static GKeyFile *
open_user_presets (GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = dd_user_presets_path ();
  GError *local = NULL;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, &local) &&
      !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "presets file '%s': %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  g_clear_error (&local);
  return g_steal_pointer (&kf);
}

/* A group of the user's file belongs to card's model when its model key
 * names the card. */
static gboolean
is_users_preset_of (GKeyFile *kf, const char *group, const DdModelCard *card)
{
  g_autofree char *model = g_key_file_get_string (kf, group, MODEL_KEY, NULL);
  return g_str_has_prefix (group, PRESET_PREFIX) && g_strcmp0 (model, card->name) == 0;
}

/* Appends the presets of kf's groups (those of card's model when users). */
static void
list_groups (GKeyFile *kf, const DdModelCard *card, gboolean users, GPtrArray *names,
             GPtrArray *texts)
{
  g_auto (GStrv) groups = kf ? g_key_file_get_groups (kf, NULL) : NULL;
  for (int i = 0; groups && groups[i]; i++) {
    if (!g_str_has_prefix (groups[i], PRESET_PREFIX) ||
        (users && !is_users_preset_of (kf, groups[i], card)))
      continue;
    const char *name = groups[i] + strlen (PRESET_PREFIX);
    /* A shipped preset keeps its name. */
    if (g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
      continue;
    g_ptr_array_add (names, g_strdup (name));
    char *text = g_key_file_get_string (kf, groups[i], DESCRIPTION_KEY, NULL);
    g_ptr_array_add (texts, text ? text : g_strdup (""));
  }
}

char **
dd_model_card_list_presets (const DdModelCard *card, char ***descriptions)
{
  g_autoptr (GKeyFile) kf = card->card_path ? open_card (card, NULL) : NULL;
  g_autoptr (GKeyFile) users = open_user_presets (NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  g_autoptr (GPtrArray) texts = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  list_groups (kf, card, FALSE, names, texts);
  list_groups (users, card, TRUE, names, texts);
  if (descriptions)
    *descriptions = steal_strv (texts);
  return steal_strv (names);
}

/* The error for a name the card does not have: it lists those it has. */
static gboolean
no_such_preset (const DdModelCard *card, const char *name, GError **error)
{
  g_auto (GStrv) names = dd_model_card_list_presets (card, NULL);
  g_autofree char *list = g_strjoinv (", ", names);
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "preset: model '%s' has no preset '%s'%s%s%s",
               card->name, name, *list ? " (it has " : "", list, *list ? ")" : "");
  return FALSE;
}

/* Sets p from kf's group (a preset called name, from file). */
static gboolean
apply_group (DdDreamParams *p, GKeyFile *kf, const char *group, gboolean users, const char *name,
             const char *file, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  /* Checked whole before any is set: a bad preset changes nothing. */
  DdDreamParams trial;
  dd_dream_params_copy (&trial, p);
  gboolean ok = TRUE;
  for (int i = 0; ok && keys[i]; i++) {
    if (strcmp (keys[i], DESCRIPTION_KEY) == 0 || (users && strcmp (keys[i], MODEL_KEY) == 0))
      continue;
    const DdParamSpec *spec = dd_dream_param_find (keys[i]);
    g_autofree char *value = g_key_file_get_string (kf, group, keys[i], NULL);
    GError *local = NULL;
    if (!spec || strcmp (spec->name, "model") == 0) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "preset '%s' of '%s': %s '%s'", name, file,
                   spec ? "a preset cannot choose the model:" : "no parameter", keys[i]);
      ok = FALSE;
    } else if (!value || !dd_dream_param_set (&trial, spec, value, &local)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "preset '%s' of '%s': %s", name, file,
                   local ? local->message : keys[i]);
      g_clear_error (&local);
      ok = FALSE;
    }
  }
  if (ok) {
    dd_dream_params_clear (p);
    *p = trial;
  } else {
    dd_dream_params_clear (&trial);
  }
  return ok;
}

gboolean
dd_dream_params_apply_preset (DdDreamParams *p, const DdModelCard *card, const char *name,
                              GError **error)
{
  g_autofree char *group = g_strconcat (PRESET_PREFIX, name, NULL);
  g_autoptr (GKeyFile) kf = card->card_path ? open_card (card, error) : NULL;
  if (card->card_path && !kf)
    return FALSE;
  if (kf && g_key_file_has_group (kf, group))
    return apply_group (p, kf, group, FALSE, name, card->card_path, error);
  g_autoptr (GKeyFile) users = open_user_presets (error);
  if (!users)
    return FALSE;
  if (g_key_file_has_group (users, group) && is_users_preset_of (users, group, card)) {
    g_autofree char *path = dd_user_presets_path ();
    return apply_group (p, users, group, TRUE, name, path, error);
  }
  return no_such_preset (card, name, error);
}

/* What a preset keeps: how the dream looks, not the machine it ran on
 * (tile, memory, threads) nor files of one picture (guide, mask). */
static gboolean
is_preset_key (const DdParamSpec *spec)
{
  static const char *const left_out[] = { "model", "guide", "mask", "tile", "memory", "threads" };
  for (gsize i = 0; i < G_N_ELEMENTS (left_out); i++)
    if (strcmp (spec->name, left_out[i]) == 0)
      return FALSE;
  return TRUE;
}

static gboolean
check_preset_name (const DdModelCard *card, const char *name, GError **error)
{
  if (!name || !*name || strpbrk (name, "[]\n\r") || g_ascii_isspace (name[0]) ||
      g_ascii_isspace (name[strlen (name) - 1]) || !g_utf8_validate (name, -1, NULL) ||
      g_utf8_strlen (name, -1) > 64) {
    /* Escaped: the message stays one line. */
    g_autofree char *shown = g_strescape (name ? name : "", NULL);
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "preset: '%s' is not a name for a preset (1 to 64 characters, no brackets, "
                 "line breaks or spaces at either end)",
                 shown);
    return FALSE;
  }
  g_autoptr (GKeyFile) kf = card->card_path ? open_card (card, NULL) : NULL;
  g_autofree char *group = g_strconcat (PRESET_PREFIX, name, NULL);
  if (kf && g_key_file_has_group (kf, group)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "preset: '%s' is a preset of the model's card; choose another name", name);
    return FALSE;
  }
  return TRUE;
}

gboolean
dd_user_preset_save (const DdModelCard *card, const char *name, const char *description,
                     const DdDreamParams *p, GError **error)
{
  if (!check_preset_name (card, name, error))
    return FALSE;
  /* A file that cannot be read is not overwritten: it may hold presets. */
  g_autoptr (GKeyFile) kf = open_user_presets (error);
  if (!kf)
    return FALSE;
  g_autofree char *group = g_strconcat (PRESET_PREFIX, name, NULL);
  g_key_file_remove_group (kf, group, NULL);
  g_key_file_set_string (kf, group, MODEL_KEY, card->name);
  g_key_file_set_string (kf, group, DESCRIPTION_KEY, description ? description : "");
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  for (int i = 0; i < n; i++) {
    if (!is_preset_key (&specs[i]))
      continue;
    g_autofree char *value = dd_dream_param_get (p, &specs[i]);
    g_key_file_set_string (kf, group, specs[i].name, value);
  }
  g_autofree char *path = dd_user_presets_path ();
  g_autofree char *folder = g_path_get_dirname (path);
  if (g_mkdir_with_parents (folder, 0755) != 0) {
    int errsv = errno;
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot make the folder '%s': %s", folder,
                 g_strerror (errsv));
    return FALSE;
  }
  gsize size = 0;
  g_autofree char *data = g_key_file_to_data (kf, &size, NULL);
  return dd_file_set_contents (path, data, size, error);
}
