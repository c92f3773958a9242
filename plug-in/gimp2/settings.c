/* settings.c: the last values used, kept across GIMP sessions.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * gimp_set_data() forgets everything when GIMP quits, so the values go to a
 * small key file in the user's GIMP folder instead, one key per row of the
 * engine's parameter table (its name), plus the new layer's mode and
 * opacity. The guide is not kept: drawable ids mean nothing in the next
 * session.
 */
#include "settings.h"

#include "arguments.h"

#define SETTINGS_FILE "deepdreamrc"
#define GROUP "DeepDream"
#define KEY_LAYER_MODE "layer-mode"
#define KEY_OPACITY "opacity"

static gchar *
settings_path (void)
{
  return g_build_filename (gimp_directory (), SETTINGS_FILE, NULL);
}

/* What a user of GIMP can set: the procedure's and the dialog's rows. */
static gboolean
is_kept (const DdParamSpec *spec)
{
  return (spec->use & (DD_PARAM_PDB | DD_PARAM_DIALOG)) != 0;
}

static void
load_layer_values (GKeyFile *file, PlugInValues *vals)
{
  g_autofree gchar *nick = g_key_file_get_string (file, GROUP, KEY_LAYER_MODE, NULL);
  GEnumClass *modes = g_type_class_ref (GIMP_TYPE_LAYER_MODE);
  GEnumValue *mode = nick ? g_enum_get_value_by_nick (modes, nick) : NULL;
  if (mode && procedure_layer_mode_ok (mode->value))
    vals->layer_mode = mode->value;
  g_type_class_unref (modes);

  GError *error = NULL;
  gdouble opacity = g_key_file_get_double (file, GROUP, KEY_OPACITY, &error);
  if (!error && opacity >= 0 && opacity <= 100)
    vals->opacity = opacity;
  g_clear_error (&error);
}

void
settings_load (DdDreamParams *params, PlugInValues *vals)
{
  g_autofree gchar *path = settings_path ();
  g_autoptr (GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    return;
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  for (int i = 0; i < n; i++) {
    g_autofree gchar *value = g_key_file_get_string (file, GROUP, specs[i].name, NULL);
    /* A value the table no longer accepts keeps the default. */
    if (value && is_kept (&specs[i]))
      dd_dream_param_set (params, &specs[i], value, NULL);
  }
  load_layer_values (file, vals);
}

gboolean
settings_save (const DdDreamParams *params, const PlugInValues *vals, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  int n;
  const DdParamSpec *specs = dd_dream_param_specs (&n);
  for (int i = 0; i < n; i++) {
    if (!is_kept (&specs[i]))
      continue;
    g_autofree gchar *value = dd_dream_param_get (params, &specs[i]);
    g_key_file_set_string (file, GROUP, specs[i].name, value);
  }
  GEnumClass *modes = g_type_class_ref (GIMP_TYPE_LAYER_MODE);
  GEnumValue *mode = g_enum_get_value (modes, vals->layer_mode);
  if (mode)
    g_key_file_set_string (file, GROUP, KEY_LAYER_MODE, mode->value_nick);
  g_type_class_unref (modes);
  g_key_file_set_double (file, GROUP, KEY_OPACITY, vals->opacity);
  g_key_file_set_comment (file, NULL, NULL,
                          " Last values of DeepDream (plug-in-deepdream), written by the plug-in",
                          NULL);
  g_autofree gchar *path = settings_path ();
  gsize size = 0;
  g_autofree gchar *data = g_key_file_to_data (file, &size, NULL);
  return dd_file_set_contents (path, data, size, error);
}
