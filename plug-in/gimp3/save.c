/* save.c: plug-in-deepdream-save in GIMP 3: gimp-file-save's arguments,
 * GIMP's own saver, the file saved whole or not at all (safe-save.c).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   (plug-in-deepdream-save #:run-mode RUN-NONINTERACTIVE #:image img #:file "/out/a.png")
 */
#include "save.h"

#include "procedure.h"

typedef struct {
  GimpRunMode run_mode;
  GimpImage *image;
} Target;

static gboolean
gimp_saver (const char *temp_path, gpointer data, GError **error)
{
  const Target *t = data;
  g_autoptr (GFile) file = g_file_new_for_path (temp_path);
  if (gimp_file_save (t->run_mode, t->image, file, NULL))
    return TRUE;
  g_set_error_literal (error, DD_ERROR, DD_ERROR_IO, gimp_pdb_get_last_error (gimp_get_pdb ()));
  return FALSE;
}

static GimpValueArray *
save_run (GimpProcedure *procedure, GimpProcedureConfig *config, gpointer data)
{
  Target t = { GIMP_RUN_NONINTERACTIVE, NULL };
  g_autoptr (GFile) file = NULL;
  GError *error = NULL;
  (void) data;
  g_object_get (config, "run-mode", &t.run_mode, "image", &t.image, "file", &file, NULL);
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  if (!t.image)
    g_set_error (&error, DD_ERROR, DD_ERROR_ARGUMENT, "image: no image given");
  else if (!path)
    g_set_error (&error, DD_ERROR, DD_ERROR_ARGUMENT, "file: no local file given");
  else
    safe_save (path, gimp_saver, &t, &error);
  g_clear_object (&t.image);
  if (error)
    return gimp_procedure_new_return_values (
        procedure,
        error->code == DD_ERROR_ARGUMENT ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR,
        error);
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

GimpProcedure *
save_procedure_new (GimpPlugIn *plug_in, const gchar *name)
{
  GimpProcedure *procedure =
      gimp_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, save_run, NULL, NULL);
  gimp_procedure_set_documentation (procedure, SAVE_BLURB, SAVE_HELP, name);
  gimp_procedure_set_attribution (procedure, PROCEDURE_AUTHORS, PROCEDURE_COPYRIGHT,
                                  PROCEDURE_DATE);
  gimp_procedure_add_enum_argument (procedure, "run-mode", "Run mode", "The run mode",
                                    GIMP_TYPE_RUN_MODE, GIMP_RUN_NONINTERACTIVE, G_PARAM_READWRITE);
  gimp_procedure_add_image_argument (procedure, "image", "Image", "The image to save", FALSE,
                                     G_PARAM_READWRITE);
  gimp_procedure_add_file_argument (procedure, "file", "File",
                                    "The file to write; its extension names the format",
                                    GIMP_FILE_CHOOSER_ACTION_SAVE, FALSE, NULL, G_PARAM_READWRITE);
  return procedure;
}
