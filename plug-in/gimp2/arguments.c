/* arguments.c: the procedure's arguments, made from the engine's parameter table.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * After run-mode, image and drawable come the table's DD_PARAM_PDB rows in
 * table order. The table's guide row is a file for the command line; the
 * procedure takes a drawable in its place and adds the new layer's mode
 * and opacity right after it. Rows added to the table later therefore land
 * after opacity, and scripts written for older versions keep working.
 */
#include "arguments.h"

#include <math.h>
#include <string.h>

#define N_FIXED 3 /* run-mode, image, drawable */

typedef enum { ARG_DREAM, ARG_GUIDE, ARG_LAYER_MODE, ARG_OPACITY } ArgKind;

typedef struct {
  ArgKind kind;
  const DdParamSpec *spec; /* ARG_DREAM only */
} Arg;

/* The arguments after the fixed ones, in procedure order. */
static const Arg *
layout (gint *n_args, gint *n_required)
{
  static GArray *args;
  static gint required;
  if (!args) {
    int n;
    const DdParamSpec *specs = dd_dream_param_specs (&n);
    args = g_array_new (FALSE, FALSE, sizeof (Arg));
    for (int i = 0; i < n; i++) {
      if (strcmp (specs[i].name, "guide") == 0) {
        const Arg own[] = { { ARG_GUIDE, NULL }, { ARG_LAYER_MODE, NULL }, { ARG_OPACITY, NULL } };
        g_array_append_vals (args, own, G_N_ELEMENTS (own));
        required = args->len;
      } else if (specs[i].use & DD_PARAM_PDB) {
        Arg a = { ARG_DREAM, &specs[i] };
        g_array_append_val (args, a);
      }
    }
  }
  *n_args = args->len;
  if (n_required)
    *n_required = N_FIXED + required;
  return (const Arg *) args->data;
}

static GimpPDBArgType
dream_arg_type (const DdParamSpec *spec)
{
  switch (spec->type) {
  case DD_PARAM_DOUBLE:
    return GIMP_PDB_FLOAT;
  case DD_PARAM_STRING:
    return GIMP_PDB_STRING;
  case DD_PARAM_INT:
  case DD_PARAM_CHOICE:
    break;
  }
  return GIMP_PDB_INT32;
}

/* The table's help plus what a script writer needs: the range, what ""
 * means, what the numbers of a choice stand for. */
static gchar *
dream_arg_description (const DdParamSpec *spec)
{
  switch (spec->type) {
  case DD_PARAM_INT:
  case DD_PARAM_DOUBLE:
    return g_strdup_printf ("%s (%g to %g)", spec->help, spec->min, spec->max);
  case DD_PARAM_STRING:
    if (spec->def_string && *spec->def_string)
      return g_strdup_printf ("%s (\"\" = %s)", spec->help, spec->def_string);
    return g_strdup (spec->help);
  case DD_PARAM_CHOICE: {
    GString *text = g_string_new (spec->help);
    for (int i = 0; spec->choices[i]; i++)
      g_string_append_printf (text, "%s%d = %s", i ? ", " : " (", i, spec->choices[i]);
    g_string_append_c (text, ')');
    return g_string_free (text, FALSE);
  }
  }
  return NULL;
}

static GimpParamDef
make_def (const Arg *arg)
{
  switch (arg->kind) {
  case ARG_GUIDE:
    return (GimpParamDef){ GIMP_PDB_DRAWABLE, g_strdup ("guide"),
                           g_strdup ("Guide: amplify what looks like this drawable (-1 = none)") };
  case ARG_LAYER_MODE:
    return (GimpParamDef){ GIMP_PDB_INT32, g_strdup ("layer-mode"),
                           g_strdup ("Blend mode of the new layer (GimpLayerMode)") };
  case ARG_OPACITY:
    return (GimpParamDef){ GIMP_PDB_FLOAT, g_strdup ("opacity"),
                           g_strdup ("Opacity of the new layer (0 to 100)") };
  case ARG_DREAM:
    break;
  }
  return (GimpParamDef){ dream_arg_type (arg->spec), g_strdup (arg->spec->name),
                         dream_arg_description (arg->spec) };
}

GimpParamDef *
arguments_make_defs (gint *n_defs)
{
  gint n_args;
  const Arg *args = layout (&n_args, NULL);
  GimpParamDef *defs = g_new (GimpParamDef, N_FIXED + n_args);
  defs[0] =
      (GimpParamDef){ GIMP_PDB_INT32, g_strdup ("run-mode"),
                      g_strdup ("The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }") };
  defs[1] = (GimpParamDef){ GIMP_PDB_IMAGE, g_strdup ("image"), g_strdup ("Input image") };
  defs[2] = (GimpParamDef){ GIMP_PDB_DRAWABLE, g_strdup ("drawable"),
                            g_strdup ("The layer to dream on") };
  for (gint i = 0; i < n_args; i++)
    defs[N_FIXED + i] = make_def (&args[i]);
  *n_defs = N_FIXED + n_args;
  return defs;
}

void
arguments_free_defs (GimpParamDef *defs, gint n_defs)
{
  for (gint i = 0; i < n_defs; i++) {
    g_free (defs[i].name);
    g_free (defs[i].description);
  }
  g_free (defs);
}

static void
set_dream_field (DdDreamParams *params, const DdParamSpec *spec, const GimpParam *value)
{
  gpointer field = (char *) params + spec->offset;
  switch (spec->type) {
  case DD_PARAM_INT:
  case DD_PARAM_CHOICE:
    *(int *) field = value->data.d_int32;
    break;
  case DD_PARAM_DOUBLE:
    *(double *) field = value->data.d_float;
    break;
  case DD_PARAM_STRING:
    g_free (*(char **) field);
    *(char **) field = g_strdup (value->data.d_string ? value->data.d_string : "");
    break;
  }
}

gboolean
arguments_read (const GimpParam *param, gint n_params, DdDreamParams *params, PlugInValues *vals,
                GError **error)
{
  gint n_args, n_required;
  const Arg *args = layout (&n_args, &n_required);
  if (n_params < n_required) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "%s takes at least %d arguments (up to opacity), not %d", PLUG_IN_PROC, n_required,
                 n_params);
    return FALSE;
  }
  for (gint i = 0; i < n_args && N_FIXED + i < n_params; i++) {
    const GimpParam *value = &param[N_FIXED + i];
    switch (args[i].kind) {
    case ARG_DREAM:
      set_dream_field (params, args[i].spec, value);
      break;
    case ARG_GUIDE:
      vals->guide = value->data.d_drawable;
      break;
    case ARG_LAYER_MODE:
      vals->layer_mode = value->data.d_int32;
      break;
    case ARG_OPACITY:
      vals->opacity = value->data.d_float;
      break;
    }
  }
  return TRUE;
}

gboolean
arguments_layer_mode_ok (GimpLayerMode mode)
{
  switch (mode) {
  case GIMP_LAYER_MODE_BEHIND_LEGACY:
  case GIMP_LAYER_MODE_COLOR_ERASE_LEGACY:
  case GIMP_LAYER_MODE_BEHIND:
  case GIMP_LAYER_MODE_COLOR_ERASE:
    return FALSE; /* painting modes */
  default:
    return mode >= GIMP_LAYER_MODE_NORMAL_LEGACY && mode < GIMP_LAYER_MODE_ERASE;
  }
}

static gboolean
check_image (gint32 image, gint32 drawable, GError **error)
{
  if (!gimp_image_is_valid (image)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "image: %d is not an open image", image);
    return FALSE;
  }
  if (gimp_image_base_type (image) == GIMP_INDEXED) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "image: indexed images are not supported; convert the image to RGB or "
                 "greyscale first (Image > Mode)");
    return FALSE;
  }
  if (!gimp_item_is_valid (drawable) || !gimp_item_is_layer (drawable) ||
      gimp_item_get_image (drawable) != image) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawable: %d is not a layer of this image (DeepDream works on layers, not on "
                 "masks or channels)",
                 drawable);
    return FALSE;
  }
  if (gimp_layer_is_floating_sel (drawable)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawable: is a floating selection; anchor it or make it a new layer first");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_values (const PlugInValues *vals, GError **error)
{
  if (vals->guide != -1 &&
      (!gimp_item_is_valid (vals->guide) || !gimp_item_is_drawable (vals->guide))) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "guide: %d is not a drawable (-1 = none)",
                 vals->guide);
    return FALSE;
  }
  if (!arguments_layer_mode_ok (vals->layer_mode)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "layer-mode: %d is not a mode for a layer (painting modes such as behind or "
                 "color erase, and group modes, are not)",
                 vals->layer_mode);
    return FALSE;
  }
  if (!(vals->opacity >= 0 && vals->opacity <= 100)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "opacity: %g is out of range (0 to 100)",
                 vals->opacity);
    return FALSE;
  }
  return TRUE;
}

gboolean
arguments_check (gint32 image, gint32 drawable, const DdDreamParams *params,
                 const PlugInValues *vals, GError **error)
{
  return check_image (image, drawable, error) && check_values (vals, error) &&
         dd_dream_params_validate (params, error);
}
