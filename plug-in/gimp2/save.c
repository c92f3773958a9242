/* save.c: plug-in-deepdream-save in GIMP 2.10: gimp-file-save's arguments,
 * GIMP's own saver, the file saved whole or not at all (safe-save.c).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   (plug-in-deepdream-save RUN-NONINTERACTIVE image drawable "/out/a.png")
 */
#include "save.h"

#include "procedure.h"

void
save_query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "The image to save" },
    { GIMP_PDB_DRAWABLE, "drawable", "The drawable to save (as for gimp-file-save)" },
    { GIMP_PDB_STRING, "filename", "The file to write; its extension names the format" },
  };
  gimp_install_procedure (SAVE_PROC, SAVE_BLURB, SAVE_HELP, PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT,
                          PROCEDURE_DATE, NULL, "*", GIMP_PLUGIN, G_N_ELEMENTS (args), 0, args,
                          NULL);
}

typedef struct {
  GimpRunMode run_mode;
  gint32 image, drawable;
} Target;

static gboolean
gimp_saver (const char *temp_path, gpointer data, GError **error)
{
  const Target *t = data;
  if (gimp_file_save (t->run_mode, t->image, t->drawable, temp_path, temp_path))
    return TRUE;
  g_set_error_literal (error, DD_ERROR, DD_ERROR_IO, gimp_get_pdb_error ());
  return FALSE;
}

void
save_run (gint n_params, const GimpParam *param, gint *n_return_vals, GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar *message;
  GError *error = NULL;
  *n_return_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;
  if (n_params != 4) {
    g_set_error (&error, DD_ERROR, DD_ERROR_ARGUMENT, "%s takes 4 arguments, not %d", SAVE_PROC,
                 n_params);
  } else if (!param[3].data.d_string || !*param[3].data.d_string) {
    g_set_error (&error, DD_ERROR, DD_ERROR_ARGUMENT, "filename: no file named");
  } else {
    Target t = { param[0].data.d_int32, param[1].data.d_image, param[2].data.d_drawable };
    safe_save (param[3].data.d_string, gimp_saver, &t, &error);
  }
  if (error) {
    values[0].data.d_status = error->domain == DD_ERROR && error->code == DD_ERROR_ARGUMENT
                                  ? GIMP_PDB_CALLING_ERROR
                                  : GIMP_PDB_EXECUTION_ERROR;
    g_free (message);
    message = g_strdup (error->message);
    g_error_free (error);
    *n_return_vals = 2;
    values[1].type = GIMP_PDB_STRING;
    values[1].data.d_string = message;
  }
}
