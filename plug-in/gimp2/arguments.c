/* arguments.c: the procedure's arguments, made from the engine's parameter table.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * After run-mode, image and drawable come the arguments of procedure_args(),
 * the same in both GIMPs.
 */
#include "arguments.h"

#include <math.h>
#include <string.h>

#define N_FIXED 3 /* run-mode, image, drawable */

static GimpPDBArgType
arg_type (const ProcedureArg *arg)
{
  switch (arg->kind) {
  case ARG_GUIDE:
  case ARG_MASK:
    return GIMP_PDB_DRAWABLE;
  case ARG_PRESET:
    return GIMP_PDB_STRING;
  case ARG_LAYER_MODE:
    return GIMP_PDB_INT32;
  case ARG_OPACITY:
    return GIMP_PDB_FLOAT;
  case ARG_DREAM:
  case ARG_ANIMATION:
    break;
  }
  switch (arg->spec->type) {
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

static GimpParamDef *
make_defs (const ProcedureArg *args, int n_args, const char *drawable_text, gint *n_defs)
{
  GimpParamDef *defs = g_new (GimpParamDef, N_FIXED + n_args);
  defs[0] =
      (GimpParamDef){ GIMP_PDB_INT32, g_strdup ("run-mode"),
                      g_strdup ("The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }") };
  defs[1] = (GimpParamDef){ GIMP_PDB_IMAGE, g_strdup ("image"), g_strdup ("Input image") };
  defs[2] = (GimpParamDef){ GIMP_PDB_DRAWABLE, g_strdup ("drawable"), g_strdup (drawable_text) };
  for (gint i = 0; i < n_args; i++)
    defs[N_FIXED + i] = (GimpParamDef){ arg_type (&args[i]), g_strdup (args[i].name),
                                        procedure_arg_description (&args[i], "-1 = none") };
  *n_defs = N_FIXED + n_args;
  return defs;
}

GimpParamDef *
arguments_make_defs (gboolean full, gint *n_defs)
{
  int n_args;
  const ProcedureArg *args = procedure_args (&n_args, NULL);
  if (!full)
    n_args = procedure_n_classic_args ();
  return make_defs (args, n_args, "The layer to dream on", n_defs);
}

GimpParamDef *
arguments_make_animation_defs (AnimationKind kind, gint *n_defs)
{
  int n_args;
  const ProcedureArg *args = procedure_animation_args (kind, &n_args);
  return make_defs (args, n_args,
                    kind == ANIMATION_ZOOM ? "The layer to zoom into"
                                           : "Any layer of the image (every layer is a frame)",
                    n_defs);
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

/* Sets spec's field of base (DdDreamParams or AnimationValues). */
static void
set_field (gpointer base, const DdParamSpec *spec, const GimpParam *value)
{
  gpointer field = (char *) base + spec->offset;
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
  int n_args, n_required;
  const ProcedureArg *args = procedure_args (&n_args, &n_required);
  n_required += N_FIXED;
  if (n_params < n_required) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "%s takes at least %d arguments (up to opacity), not %d", PLUG_IN_PROC, n_required,
                 n_params);
    return FALSE;
  }
  const gchar *preset = NULL;
  for (int i = 0; i < n_args && N_FIXED + i < n_params; i++) {
    const GimpParam *value = &param[N_FIXED + i];
    switch (args[i].kind) {
    case ARG_MASK:
      vals->mask = value->data.d_drawable;
      break;
    case ARG_PRESET:
      preset = value->data.d_string;
      break;
    case ARG_DREAM:
      set_field (params, args[i].spec, value);
      break;
    case ARG_ANIMATION:
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
  return procedure_apply_preset (params, preset, error);
}

gboolean
arguments_read_animation (AnimationKind kind, const GimpParam *param, gint n_params,
                          DdDreamParams *params, AnimationValues *values, GError **error)
{
  int n_args;
  const ProcedureArg *args = procedure_animation_args (kind, &n_args);
  if (n_params != N_FIXED + n_args) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s takes %d arguments, not %d",
                 kind == ANIMATION_ZOOM ? ZOOM_PROC : FRAMES_PROC, N_FIXED + n_args, n_params);
    return FALSE;
  }
  for (int i = 0; i < n_args; i++)
    set_field (args[i].kind == ARG_ANIMATION ? (gpointer) values : (gpointer) params, args[i].spec,
               &param[N_FIXED + i]);
  return TRUE;
}

static gboolean
check_image_only (gint32 image, GError **error)
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
  return TRUE;
}

static gboolean
check_image (gint32 image, gint32 drawable, GError **error)
{
  if (!check_image_only (image, error))
    return FALSE;
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

/* A channel, layer mask or the selection of image: a layer's colours
 * are not a strength. */
static gboolean
check_mask (gint32 image, gint32 mask, GError **error)
{
  if (mask == -1)
    return TRUE;
  if (!gimp_item_is_valid (mask) || !gimp_item_is_drawable (mask) ||
      gimp_item_get_image (mask) != image) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "mask: %d is not a drawable of this image (-1 = none)", mask);
    return FALSE;
  }
  if (!gimp_item_is_channel (mask) && !gimp_item_is_layer_mask (mask) &&
      !gimp_item_is_selection (mask)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "mask: '%s' is a layer; use a channel, a layer mask or the selection",
                 gimp_item_get_name (mask));
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
  return procedure_check_layer_values (vals->layer_mode, vals->opacity, error);
}

gboolean
arguments_check (gint32 image, gint32 drawable, const DdDreamParams *params,
                 const PlugInValues *vals, GError **error)
{
  return check_image (image, drawable, error) && check_values (vals, error) &&
         check_mask (image, vals->mask, error) && dd_dream_params_validate (params, error);
}

gboolean
arguments_check_animation (AnimationKind kind, gint32 image, gint32 drawable,
                           const DdDreamParams *params, const AnimationValues *values,
                           GError **error)
{
  /* The frames are every layer: the active drawable plays no part. */
  gboolean image_ok = kind == ANIMATION_FRAMES ? check_image_only (image, error)
                                               : check_image (image, drawable, error);
  return image_ok && animation_values_check (kind, values, error) &&
         dd_dream_params_validate (params, error);
}
