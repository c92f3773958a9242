/* procedure.c: what plug-in-deepdream is in both GIMPs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GIMP 2.10 and GIMP 3 register procedures through different APIs, but a
 * script must find the same arguments under the same names in both, and a
 * run must give the same layer: the order, names, descriptions and checks
 * live here, once, made from the engine's parameter table.
 */
#include "procedure.h"

#include <string.h>

#include "pixels.h"

const ProcedureArg *
procedure_args (int *n_args, int *n_through_opacity)
{
  static GArray *args;
  static int through_opacity;
  if (g_once_init_enter (&args)) {
    int n;
    const DdParamSpec *specs = dd_dream_param_specs (&n);
    GArray *list = g_array_new (FALSE, FALSE, sizeof (ProcedureArg));
    for (int i = 0; i < n; i++) {
      if (strcmp (specs[i].name, "guide") == 0) {
        const ProcedureArg own[] = { { ARG_GUIDE, "guide", NULL },
                                     { ARG_LAYER_MODE, "layer-mode", NULL },
                                     { ARG_OPACITY, "opacity", NULL } };
        g_array_append_vals (list, own, G_N_ELEMENTS (own));
        through_opacity = list->len;
      } else if (strcmp (specs[i].name, "mask") == 0) {
        ProcedureArg a = { ARG_MASK, "mask", NULL };
        g_array_append_val (list, a);
      } else if (specs[i].use & DD_PARAM_PDB) {
        ProcedureArg a = { ARG_DREAM, specs[i].name, &specs[i] };
        g_array_append_val (list, a);
      }
    }
    ProcedureArg preset = { ARG_PRESET, "preset", NULL };
    g_array_append_val (list, preset);
    g_once_init_leave (&args, list);
  }
  *n_args = args->len;
  if (n_through_opacity)
    *n_through_opacity = through_opacity;
  return (const ProcedureArg *) args->data;
}

int
procedure_n_classic_args (void)
{
  int n_args;
  const ProcedureArg *args = procedure_args (&n_args, NULL);
  for (int i = 0; i < n_args; i++)
    if (args[i].kind == ARG_DREAM && strcmp (args[i].name, "colours") == 0)
      return i;
  return n_args;
}

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

gchar *
procedure_arg_description (const ProcedureArg *arg, const char *none_text)
{
  switch (arg->kind) {
  case ARG_GUIDE:
    return g_strdup_printf ("Guide: amplify what looks like this drawable (%s)", none_text);
  case ARG_LAYER_MODE:
    return g_strdup ("Blend mode of the new layer (GimpLayerMode)");
  case ARG_OPACITY:
    return g_strdup ("Opacity of the new layer (0 to 100)");
  case ARG_MASK:
    return g_strdup_printf ("Strength map: a channel, layer mask or the selection of the image "
                            "whose value scales the dream at each pixel (black = untouched, "
                            "white = full; %s)",
                            none_text);
  case ARG_PRESET:
    return g_strdup ("Preset of the model (its card's or one the user saved): its values "
                     "replace those of the arguments it sets (\"\" = none)");
  case ARG_DREAM:
  case ARG_ANIMATION:
    break;
  }
  return dream_arg_description (arg->spec);
}

gboolean
procedure_apply_preset (DdDreamParams *params, const char *name, GError **error)
{
  if (!name || !*name)
    return TRUE;
  const char *model =
      params->model && *params->model ? params->model : dd_dream_param_find ("model")->def_string;
  g_autoptr (DdModelCard) card = dd_model_card_find (model, error);
  return card && dd_dream_params_apply_preset (params, card, name, error);
}

gboolean
procedure_layer_mode_ok (GimpLayerMode mode)
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

gboolean
procedure_check_layer_values (GimpLayerMode mode, double opacity, GError **error)
{
  if (!procedure_layer_mode_ok (mode)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "layer-mode: %d is not a mode for a layer (painting modes such as behind or "
                 "color erase, and group modes, are not)",
                 mode);
    return FALSE;
  }
  if (!(opacity >= 0 && opacity <= 100)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "opacity: %g is out of range (0 to 100)",
                 opacity);
    return FALSE;
  }
  return TRUE;
}

/* Below this share of the run done, the time left would be a guess from
 * the model's loading and the first, smallest octave. */
#define TIME_LEFT_MIN_FRACTION 0.05

void
procedure_show_progress (double fraction, int octave, int n_octaves, int iteration,
                         int n_iterations, gpointer data)
{
  double elapsed_s = (g_get_monotonic_time () - *(const gint64 *) data) / 1e6;
  if (fraction >= TIME_LEFT_MIN_FRACTION && fraction < 1) {
    double left_s = elapsed_s * (1 - fraction) / fraction;
    gimp_progress_set_text_printf ("DeepDream: octave %d of %d, iteration %d of %d, about %.0f %s "
                                   "left",
                                   octave, n_octaves, iteration, n_iterations,
                                   left_s < 90 ? MAX (left_s, 1) : left_s / 60,
                                   left_s < 90 ? "s" : "min");
  } else {
    gimp_progress_set_text_printf ("DeepDream: octave %d of %d, iteration %d of %d", octave,
                                   n_octaves, iteration, n_iterations);
  }
  gimp_progress_update (fraction);
}

gboolean
procedure_dream (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                 const DdImage *guide, const DdImage *mask, DdImage *pixels, gchar **layer_name,
                 gchar **settings, GError **error)
{
  gimp_progress_init ("DeepDream");
  gint64 start = g_get_monotonic_time ();
  DdDreamInfo info;
  gboolean ok = dd_dream_run_masked (model, card, params, guide, mask, pixels,
                                     procedure_show_progress, &start, NULL, &info, error);
  if (ok) {
    *layer_name = procedure_layer_name (card, params);
    *settings = dd_dream_settings_to_text (params, card, info.seed);
  }
  gimp_progress_end ();
  return ok;
}

/* The model when it is not the default one, then each layer without its
 * weight and without the "/output" every GoogLeNet block ends in. */
gchar *
procedure_layer_name (const DdModelCard *card, const DdDreamParams *params)
{
  GString *name = g_string_new ("DeepDream");
  if (g_strcmp0 (card->name, dd_dream_param_find ("model")->def_string) != 0)
    g_string_append_printf (name, " %s", card->name);
  if (params->class_index >= 0) {
    g_string_append_printf (name, " class %d", params->class_index);
    return g_string_free (name, FALSE);
  }
  const char *layers = params->layers && *params->layers ? params->layers : card->default_layer;
  g_auto (GStrv) parts = g_strsplit (layers, ",", -1);
  for (int i = 0; parts[i]; i++) {
    char *layer = g_strstrip (parts[i]);
    char *colon = strrchr (layer, ':');
    if (colon)
      *colon = 0;
    if (g_str_has_suffix (layer, "/output"))
      layer[strlen (layer) - strlen ("/output")] = 0;
    g_string_append_printf (name, "%s%s", i ? "+" : " ", layer);
  }
  return g_string_free (name, FALSE);
}

/* ---- The animation filters ------------------------------------------------------- */

/* The zoom dreams each frame from the one before: a few steps at two
 * octaves build on the last frame's dream, as the command line's
 * documentation recommends (--iterations 3 --octaves 2), where a still
 * dream's defaults would take ten times as long per frame. */
static const struct {
  const char *name;
  double def;
} zoom_dream_defaults[] = { { "octaves", 2 }, { "iterations", 3 } };

static GArray *
make_animation_args (AnimationKind kind)
{
  GArray *list = g_array_new (FALSE, FALSE, sizeof (ProcedureArg));
  int n;
  const DdParamSpec *own = animation_param_specs (kind, &n);
  for (int i = 0; i < n; i++) {
    ProcedureArg a = { ARG_ANIMATION, own[i].name, &own[i] };
    g_array_append_val (list, a);
  }
  /* The classic rows only: the animations hold colours and tile by their
   * own rules, and scripts written for them keep their argument count. */
  const ProcedureArg *dream = procedure_args (&n, NULL);
  n = procedure_n_classic_args ();
  for (int i = 0; i < n; i++) {
    if (dream[i].kind != ARG_DREAM)
      continue;
    ProcedureArg a = dream[i];
    for (gsize k = 0; kind == ANIMATION_ZOOM && k < G_N_ELEMENTS (zoom_dream_defaults); k++)
      if (strcmp (a.name, zoom_dream_defaults[k].name) == 0) {
        /* A copy of the row with the zoom's default, kept for the process. */
        DdParamSpec *spec = g_memdup2 (a.spec, sizeof *spec);
        spec->def = zoom_dream_defaults[k].def;
        a.spec = spec;
      }
    g_array_append_val (list, a);
  }
  return list;
}

const ProcedureArg *
procedure_animation_args (AnimationKind kind, int *n_args)
{
  static GArray *args[2];
  if (g_once_init_enter (&args[kind]))
    g_once_init_leave (&args[kind], make_animation_args (kind));
  *n_args = args[kind]->len;
  return (const ProcedureArg *) args[kind]->data;
}

void
procedure_animation_defaults (AnimationKind kind, DdDreamParams *params, AnimationValues *values)
{
  dd_dream_params_init (params);
  animation_values_init (values);
  int n;
  const ProcedureArg *args = procedure_animation_args (kind, &n);
  for (int i = 0; i < n; i++)
    if (args[i].kind == ARG_DREAM && args[i].spec->type == DD_PARAM_INT)
      *(int *) ((char *) params + args[i].spec->offset) = (int) args[i].spec->def;
}

void
procedure_show_frame_progress (double fraction, int frame, int n_frames, gpointer data)
{
  double elapsed_s = (g_get_monotonic_time () - *(const gint64 *) data) / 1e6;
  if (fraction >= TIME_LEFT_MIN_FRACTION && fraction < 1) {
    double left_s = elapsed_s * (1 - fraction) / fraction;
    gimp_progress_set_text_printf ("DeepDream: frame %d of %d, about %.0f %s left", frame, n_frames,
                                   left_s < 90 ? MAX (left_s, 1) : left_s / 60,
                                   left_s < 90 ? "s" : "min");
  } else {
    gimp_progress_set_text_printf ("DeepDream: frame %d of %d", frame, n_frames);
  }
  gimp_progress_update (fraction);
}

gboolean
procedure_animation_begin (AnimationRun *run, AnimationKind kind, const DdDreamParams *params,
                           const AnimationValues *values, int n_layers, int width, int height,
                           int channels, GError **error)
{
  *run = (AnimationRun){ 0 };
  if (kind == ANIMATION_FRAMES && n_layers < 2) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "image: has %d layer; an animation is a stack of layers, one per frame (for a "
                 "still, use Filters > Artistic > DeepDream)",
                 n_layers);
    return FALSE;
  }
  if (!(run->model = dd_model_open (params->model, &run->card, error)) ||
      !dd_dream_check (run->model, run->card, params, width, height, channels, NULL, error))
    return FALSE;
  run->n = kind == ANIMATION_FRAMES ? n_layers : values->frames;
  run->frames = g_new0 (DdImage, run->n);
  run->names = g_new0 (char *, run->n + 1);
  return TRUE;
}

gboolean
procedure_animation_dream (AnimationRun *run, AnimationKind kind, const DdDreamParams *params,
                           const AnimationValues *values, GError **error)
{
  gimp_progress_init (kind == ANIMATION_ZOOM ? "DeepDream zoom" : "DeepDream frames");
  gint64 start = g_get_monotonic_time ();
  gboolean ok =
      kind == ANIMATION_ZOOM
          ? animation_zoom (run->model, run->card, params, values, &run->first, run->frames,
                            procedure_show_frame_progress, &start, error)
          : animation_dream_frames (run->model, run->card, params, values->blend, run->frames,
                                    run->n, procedure_show_frame_progress, &start, error);
  gimp_progress_end ();
  for (int i = 0; ok && kind == ANIMATION_ZOOM && i < run->n; i++)
    run->names[i] = g_strdup_printf ("DeepDream zoom %d", i + 1);
  return ok;
}

void
procedure_animation_end (AnimationRun *run)
{
  for (int i = 0; i < run->n; i++)
    pixels_clear (&run->frames[i]);
  g_clear_pointer (&run->frames, g_free);
  g_clear_pointer (&run->names, g_strfreev);
  pixels_clear (&run->first);
  g_clear_pointer (&run->card, dd_model_card_free);
  g_clear_pointer (&run->model, dd_model_unref);
}
