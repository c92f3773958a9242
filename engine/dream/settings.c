/* settings.c: a dream's settings as text that travels with its result.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GKeyFile of one group holding every parameter of the table under its
 * name but the thread count, the seed the dream really used, the layers the card's default
 * stood for, the model's checksum and the version of libdeepdream that
 * dreamed. The same text goes into an image's metadata and a GIMP layer's
 * parasite, and gives the dream back; a value the table refuses is
 * refused by name.
 */
#include "deepdream.h"

#include <string.h>

#define MODEL_SHA256_KEY "model-sha256"
#define VERSION_KEY "version"

/* The shortest text that reads back as exactly v: the table's own
 * formatting keeps 9 digits, and a step size off in its last bit would
 * not make the same dream. */
static char *
exact_double (double v)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 1; digits < 17; digits++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (text, sizeof text, format, v);
    if (g_ascii_strtod (text, NULL) == v)
      return g_strdup (text);
  }
  return g_strdup (g_ascii_dtostr (text, sizeof text, v));
}

char *
dd_dream_settings_to_text (const DdDreamParams *p, const DdModelCard *card, int seed)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  for (int i = 0; i < n; i++) {
    /* The thread count changes nothing in the picture: left out, so that
     * the same dream made with other threads is the same file. */
    if (strcmp (specs[i].name, "threads") == 0)
      continue;
    g_autofree char *value = dd_dream_param_get (p, &specs[i]);
    if (strcmp (specs[i].name, "seed") == 0) {
      g_free (value);
      value = g_strdup_printf ("%d", seed);
    } else if (specs[i].type == DD_PARAM_DOUBLE) {
      g_free (value);
      value = exact_double (*(const double *) ((const char *) p + specs[i].offset));
    } else if (strcmp (specs[i].name, "layers") == 0 && !*value && card->default_layer) {
      g_free (value);
      value = g_strdup (card->default_layer);
    }
    g_key_file_set_string (kf, DD_SETTINGS_GROUP, specs[i].name, value);
  }
  if (card->sha256)
    g_key_file_set_string (kf, DD_SETTINGS_GROUP, MODEL_SHA256_KEY, card->sha256);
  g_key_file_set_string (kf, DD_SETTINGS_GROUP, VERSION_KEY, DD_VERSION);
  return g_key_file_to_data (kf, NULL, NULL);
}

static gboolean
settings_fail (GError **error, const char *message)
{
  g_set_error_literal (error, DD_ERROR, DD_ERROR_INVALID, message);
  return FALSE;
}

gboolean
dd_dream_settings_from_text (DdDreamParams *p, const char *text, gsize length, char **model_sha256,
                             GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  if (!g_key_file_load_from_data (kf, text, length, G_KEY_FILE_NONE, NULL) ||
      !g_key_file_has_group (kf, DD_SETTINGS_GROUP))
    return settings_fail (error, "no deepdream settings in it");
  g_auto (GStrv) keys = g_key_file_get_keys (kf, DD_SETTINGS_GROUP, NULL, NULL);
  /* Checked whole before any is set: bad settings change nothing. */
  DdDreamParams trial;
  dd_dream_params_init (&trial);
  g_autofree char *sha = NULL;
  for (int i = 0; keys[i]; i++) {
    g_autofree char *value = g_key_file_get_string (kf, DD_SETTINGS_GROUP, keys[i], NULL);
    const DdParamSpec *spec = dd_dream_param_find (keys[i]);
    GError *local = NULL;
    if (strcmp (keys[i], VERSION_KEY) == 0)
      continue;
    if (strcmp (keys[i], MODEL_SHA256_KEY) == 0) {
      if (!value || strlen (value) != 64 || strspn (value, "0123456789abcdef") != 64) {
        dd_dream_params_clear (&trial);
        return settings_fail (error, "settings: " MODEL_SHA256_KEY ": not a sha256 in hex");
      }
      g_free (sha);
      sha = g_steal_pointer (&value);
    } else if (!spec) {
      dd_dream_params_clear (&trial);
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "settings: no parameter named '%s'", keys[i]);
      return FALSE;
    } else if (!value || !dd_dream_param_set (&trial, spec, value, &local)) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "settings: %s",
                   local ? local->message : keys[i]);
      g_clear_error (&local);
      dd_dream_params_clear (&trial);
      return FALSE;
    }
  }
  dd_dream_params_clear (p);
  *p = trial;
  if (model_sha256)
    *model_sha256 = g_steal_pointer (&sha);
  return TRUE;
}
