/* preset.c: named sets of dream parameters, read from the model's card.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A preset belongs with its model (its layers are that network's), so it
 * lives in the model's card, one [Preset NAME] group per preset, whose
 * keys are the parameter table's names. The card is read again here rather
 * than kept in DdModelCard: presets are wanted once per run at most.
 */
#include "deepdream.h"

#include <string.h>

#define PRESET_PREFIX "Preset "
#define DESCRIPTION_KEY "Description"

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

char **
dd_model_card_list_presets (const DdModelCard *card, char ***descriptions)
{
  g_autoptr (GKeyFile) kf = card->card_path ? open_card (card, NULL) : NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  g_autoptr (GPtrArray) texts = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  g_auto (GStrv) groups = kf ? g_key_file_get_groups (kf, NULL) : NULL;
  for (int i = 0; groups && groups[i]; i++) {
    if (!g_str_has_prefix (groups[i], PRESET_PREFIX))
      continue;
    g_ptr_array_add (names, g_strdup (groups[i] + strlen (PRESET_PREFIX)));
    char *text = g_key_file_get_string (kf, groups[i], DESCRIPTION_KEY, NULL);
    g_ptr_array_add (texts, text ? text : g_strdup (""));
  }
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

gboolean
dd_dream_params_apply_preset (DdDreamParams *p, const DdModelCard *card, const char *name,
                              GError **error)
{
  g_autoptr (GKeyFile) kf = open_card (card, error);
  if (!kf)
    return FALSE;
  g_autofree char *group = g_strconcat (PRESET_PREFIX, name, NULL);
  if (!g_key_file_has_group (kf, group))
    return no_such_preset (card, name, error);
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  /* Checked whole before any is set: a bad preset changes nothing. */
  DdDreamParams trial;
  dd_dream_params_copy (&trial, p);
  gboolean ok = TRUE;
  for (int i = 0; ok && keys[i]; i++) {
    if (strcmp (keys[i], DESCRIPTION_KEY) == 0)
      continue;
    const DdParamSpec *spec = dd_dream_param_find (keys[i]);
    g_autofree char *value = g_key_file_get_string (kf, group, keys[i], NULL);
    GError *local = NULL;
    if (!spec || strcmp (spec->name, "model") == 0) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "preset '%s' of '%s': %s '%s'", name,
                   card->card_path, spec ? "a preset cannot choose the model:" : "no parameter",
                   keys[i]);
      ok = FALSE;
    } else if (!value || !dd_dream_param_set (&trial, spec, value, &local)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "preset '%s' of '%s': %s", name,
                   card->card_path, local ? local->message : keys[i]);
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
