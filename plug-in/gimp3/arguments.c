/* arguments.c: the GIMP 3 procedure's arguments, made from the engine's parameter table.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The arguments, their names and order are procedure_args(), as in GIMP
 * 2.10, so that a Script-Fu keyword call names them as 2.10's documentation
 * does. GimpProcedureConfig holds them, and keeps the last values used.
 */
#include "arguments.h"

#include <string.h>

/* The nick is the dialog's label: the table's without the colon GIMP 3's
 * dialogs do not use, and without a mnemonic that GimpProcedureDialog's
 * own buttons (_Reset, _Cancel, _OK, _Help, _Load and _Save settings)
 * already take. */
static gchar *
dialog_label (const DdParamSpec *spec)
{
  gchar *label = g_strdup (spec->label ? spec->label : spec->name);
  if (g_str_has_suffix (label, ":"))
    label[strlen (label) - 1] = 0;
  char *mnemonic = strchr (label, '_');
  if (mnemonic && mnemonic[1] && strchr ("rcohls", g_ascii_tolower (mnemonic[1])))
    memmove (mnemonic, mnemonic + 1, strlen (mnemonic));
  return label;
}

static void
add_dream_arg (GimpProcedure *procedure, const ProcedureArg *arg, const char *blurb)
{
  const DdParamSpec *spec = arg->spec;
  g_autofree gchar *nick = dialog_label (spec);
  switch (spec->type) {
  case DD_PARAM_INT:
    gimp_procedure_add_int_argument (procedure, spec->name, nick, blurb, (int) spec->min,
                                     (int) spec->max, (int) spec->def, G_PARAM_READWRITE);
    break;
  case DD_PARAM_DOUBLE:
    gimp_procedure_add_double_argument (procedure, spec->name, nick, blurb, spec->min, spec->max,
                                        spec->def, G_PARAM_READWRITE);
    break;
  case DD_PARAM_STRING:
    gimp_procedure_add_string_argument (procedure, spec->name, nick, blurb, spec->def_string,
                                        G_PARAM_READWRITE);
    break;
  case DD_PARAM_CHOICE: {
    /* A number, as in 2.10, so that scripts pass the same values. */
    int n = 0;
    while (spec->choices[n])
      n++;
    gimp_procedure_add_int_argument (procedure, spec->name, nick, blurb, 0, n - 1, (int) spec->def,
                                     G_PARAM_READWRITE);
    break;
  }
  }
}

void
arguments_add (GimpProcedure *procedure)
{
  int n_args;
  const ProcedureArg *args = procedure_args (&n_args, NULL);
  for (int i = 0; i < n_args; i++) {
    g_autofree gchar *blurb = procedure_arg_description (&args[i], "none when left out");
    switch (args[i].kind) {
    case ARG_GUIDE:
      gimp_procedure_add_drawable_argument (procedure, args[i].name, "_Guide", blurb, TRUE,
                                            G_PARAM_READWRITE);
      break;
    case ARG_LAYER_MODE:
      gimp_procedure_add_enum_argument (procedure, args[i].name, "_Blend mode", blurb,
                                        GIMP_TYPE_LAYER_MODE, PROCEDURE_DEFAULT_LAYER_MODE,
                                        G_PARAM_READWRITE);
      break;
    case ARG_OPACITY:
      gimp_procedure_add_double_argument (procedure, args[i].name, "O_pacity", blurb, 0, 100,
                                          PROCEDURE_DEFAULT_OPACITY, G_PARAM_READWRITE);
      break;
    case ARG_MASK:
      gimp_procedure_add_drawable_argument (procedure, args[i].name, "Strength _map", blurb, TRUE,
                                            G_PARAM_READWRITE);
      break;
    case ARG_PRESET:
      gimp_procedure_add_string_argument (procedure, args[i].name, "Preset", blurb, "",
                                          G_PARAM_READWRITE);
      break;
    case ARG_DREAM:
    case ARG_ANIMATION:
      add_dream_arg (procedure, &args[i], blurb);
      break;
    }
  }
}

/* Reads spec's field of base (DdDreamParams or AnimationValues). */
static void
read_field (GimpProcedureConfig *config, const DdParamSpec *spec, gpointer base)
{
  gpointer field = (char *) base + spec->offset;
  switch (spec->type) {
  case DD_PARAM_INT:
  case DD_PARAM_CHOICE:
    g_object_get (config, spec->name, (int *) field, NULL);
    break;
  case DD_PARAM_DOUBLE:
    g_object_get (config, spec->name, (double *) field, NULL);
    break;
  case DD_PARAM_STRING: {
    gchar *value = NULL;
    g_object_get (config, spec->name, &value, NULL);
    g_free (*(char **) field);
    *(char **) field = value ? value : g_strdup ("");
    break;
  }
  }
}

void
arguments_read (GimpProcedureConfig *config, DdDreamParams *params, PlugInValues *vals)
{
  int n_args;
  const ProcedureArg *args = procedure_args (&n_args, NULL);
  plug_in_values_clear (vals);
  for (int i = 0; i < n_args; i++) {
    switch (args[i].kind) {
    case ARG_GUIDE:
      g_object_get (config, args[i].name, &vals->guide, NULL);
      break;
    case ARG_LAYER_MODE:
      g_object_get (config, args[i].name, &vals->layer_mode, NULL);
      break;
    case ARG_OPACITY:
      g_object_get (config, args[i].name, &vals->opacity, NULL);
      break;
    case ARG_MASK:
      g_object_get (config, args[i].name, &vals->mask, NULL);
      break;
    case ARG_PRESET:
      break;
    case ARG_DREAM:
      read_field (config, args[i].spec, params);
      break;
    case ARG_ANIMATION:
      break;
    }
  }
}

void
arguments_write (GimpProcedureConfig *config, const DdDreamParams *params)
{
  int n_args;
  const ProcedureArg *args = procedure_args (&n_args, NULL);
  /* One notification for the lot: the dialog's preview dreams on each. */
  g_object_freeze_notify (G_OBJECT (config));
  for (int i = 0; i < n_args; i++) {
    if (args[i].kind != ARG_DREAM)
      continue;
    gconstpointer field = (const char *) params + args[i].spec->offset;
    switch (args[i].spec->type) {
    case DD_PARAM_INT:
    case DD_PARAM_CHOICE:
      g_object_set (config, args[i].name, *(const int *) field, NULL);
      break;
    case DD_PARAM_DOUBLE:
      g_object_set (config, args[i].name, *(const double *) field, NULL);
      break;
    case DD_PARAM_STRING:
      g_object_set (config, args[i].name, *(char *const *) field, NULL);
      break;
    }
  }
  g_object_thaw_notify (G_OBJECT (config));
}

gboolean
arguments_apply_preset (GimpProcedureConfig *config, GError **error)
{
  g_autofree gchar *preset = NULL;
  g_object_get (config, "preset", &preset, NULL);
  if (!preset || !*preset)
    return TRUE;
  DdDreamParams params;
  PlugInValues vals = { 0 };
  dd_dream_params_init (&params);
  arguments_read (config, &params, &vals);
  gboolean ok = procedure_apply_preset (&params, preset, error);
  if (ok) {
    arguments_write (config, &params);
    g_object_set (config, "preset", "", NULL);
  }
  plug_in_values_clear (&vals);
  dd_dream_params_clear (&params);
  return ok;
}

void
plug_in_values_clear (PlugInValues *vals)
{
  g_clear_object (&vals->guide);
  g_clear_object (&vals->mask);
  vals->layer_mode = PROCEDURE_DEFAULT_LAYER_MODE;
  vals->opacity = PROCEDURE_DEFAULT_OPACITY;
}

gboolean
arguments_pick_drawable (GimpImage *image, GimpDrawable **drawables, GimpDrawable **drawable,
                         GError **error)
{
  int n = 0;
  while (drawables && drawables[n])
    n++;
  if (n != 1) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawables: %d are selected; DeepDream works on one layer at a time: select "
                 "only the layer to dream on",
                 n);
    return FALSE;
  }
  if (!gimp_image_is_valid (image)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "image: is not an open image");
    return FALSE;
  }
  *drawable = drawables[0];
  return TRUE;
}

static gboolean
check_image_only (GimpImage *image, GError **error)
{
  if (!gimp_image_is_valid (image)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "image: is not an open image");
    return FALSE;
  }
  if (gimp_image_get_base_type (image) == GIMP_INDEXED) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "image: indexed images are not supported; convert the image to RGB or "
                 "greyscale first (Image > Mode)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_image (GimpImage *image, GimpDrawable *drawable, GError **error)
{
  if (!check_image_only (image, error))
    return FALSE;
  if (!gimp_item_is_valid (GIMP_ITEM (drawable)) || !GIMP_IS_LAYER (drawable) ||
      gimp_item_get_image (GIMP_ITEM (drawable)) != image) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawables: %d is not a layer of this image (DeepDream works on layers, not on "
                 "masks or channels)",
                 gimp_item_get_id (GIMP_ITEM (drawable)));
    return FALSE;
  }
  if (gimp_item_is_group (GIMP_ITEM (drawable))) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawables: '%s' is a layer group; choose one of its layers",
                 gimp_item_get_name (GIMP_ITEM (drawable)));
    return FALSE;
  }
  if (gimp_layer_is_floating_sel (GIMP_LAYER (drawable))) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "drawables: is a floating selection; anchor it or make it a new layer first");
    return FALSE;
  }
  return TRUE;
}

gboolean
arguments_check (GimpImage *image, GimpDrawable *drawable, const DdDreamParams *params,
                 const PlugInValues *vals, GError **error)
{
  if (!check_image (image, drawable, error))
    return FALSE;
  if (vals->guide && !gimp_item_is_valid (GIMP_ITEM (vals->guide))) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "guide: is not a drawable");
    return FALSE;
  }
  if (vals->mask && (!gimp_item_is_valid (GIMP_ITEM (vals->mask)) ||
                     gimp_item_get_image (GIMP_ITEM (vals->mask)) != image)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "mask: is not a drawable of this image");
    return FALSE;
  }
  /* A layer's colours are not a strength. */
  if (vals->mask && !GIMP_IS_CHANNEL (vals->mask)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "mask: '%s' is a layer; use a channel, a layer mask or the selection",
                 gimp_item_get_name (GIMP_ITEM (vals->mask)));
    return FALSE;
  }
  return procedure_check_layer_values (vals->layer_mode, vals->opacity, error) &&
         dd_dream_params_validate (params, error);
}

/* ---- The animation filters ------------------------------------------------------- */

void
arguments_add_animation (GimpProcedure *procedure, AnimationKind kind)
{
  int n_args;
  const ProcedureArg *args = procedure_animation_args (kind, &n_args);
  for (int i = 0; i < n_args; i++) {
    g_autofree gchar *blurb = procedure_arg_description (&args[i], "");
    add_dream_arg (procedure, &args[i], blurb);
  }
}

void
arguments_read_animation (GimpProcedureConfig *config, AnimationKind kind, DdDreamParams *params,
                          AnimationValues *values)
{
  int n_args;
  const ProcedureArg *args = procedure_animation_args (kind, &n_args);
  for (int i = 0; i < n_args; i++)
    read_field (config, args[i].spec,
                args[i].kind == ARG_ANIMATION ? (gpointer) values : (gpointer) params);
}

gboolean
arguments_check_animation (AnimationKind kind, GimpImage *image, GimpDrawable **drawables,
                           const DdDreamParams *params, const AnimationValues *values,
                           GError **error)
{
  if (kind == ANIMATION_ZOOM) {
    /* The zoom is made from one layer, the frames from all of them. */
    GimpDrawable *drawable;
    if (!arguments_pick_drawable (image, drawables, &drawable, error) ||
        !check_image (image, drawable, error))
      return FALSE;
  } else if (!check_image_only (image, error)) {
    return FALSE;
  }
  return animation_values_check (kind, values, error) && dd_dream_params_validate (params, error);
}
