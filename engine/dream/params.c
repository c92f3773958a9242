/* params.c: the one table of dream parameters.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each parameter is declared once here, with its default, range and help.
 * The command line's options, the GIMP procedure's arguments and dialog,
 * and saved settings are all generated from this table, so adding a
 * parameter is one row (and one field in DdDreamParams).
 */
#include "deepdream.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#define ALL (DD_PARAM_CLI | DD_PARAM_PDB | DD_PARAM_DIALOG)
#define FIELD(f) offsetof (DdDreamParams, f)

static const char *const start_choices[] = { "image", "noise", NULL };
static const char *const colours_choices[] = { "dream", "source", NULL };
static const char *const no_yes[] = { "no", "yes", NULL };

/* In the GIMP procedure's argument order (after run-mode, image, drawable). */
static const DdParamSpec specs[] = {
  { "model", "model", 'm', DD_PARAM_STRING, 0, 0, 0, "googlenet", NULL, "_Model:",
    "Model card name, or an .onnx or .caffemodel file", "NAME|FILE", FIELD (model), ALL },
  { "layers", "layer", 'l', DD_PARAM_STRING, 0, 0, 0, "", NULL, "La_yer:",
    "Layer to amplify, NAME[:WEIGHT]; several separated by commas; empty = the model's default",
    "NAME[:WEIGHT]", FIELD (layers), ALL },
  { "channel", "channel", 'c', DD_PARAM_INT, -1, -1, 65535, NULL, NULL,
    "Cha_nnel:", "Amplify one channel (feature map) of the layer only; -1 = all channels", "N",
    FIELD (channel), ALL },
  { "octaves", "octaves", 0, DD_PARAM_INT, 4, 1, 12, NULL, NULL, "Octa_ves:",
    "Number of scales to dream at, from small to full size", "N", FIELD (octaves), ALL },
  { "octave-scale", "octave-scale", 0, DD_PARAM_DOUBLE, 1.4, 1.05, 4, NULL, NULL, "Octave _scale:",
    "Size ratio between one octave and the next (greater than 1)", "F", FIELD (octave_scale), ALL },
  { "iterations", "iterations", 0, DD_PARAM_INT, 10, 1, 1000, NULL, NULL,
    "_Iterations:", "Steps per octave", "N", FIELD (iterations), ALL },
  { "step-size", "step", 's', DD_PARAM_DOUBLE, 1.5, 0.01, 100, NULL, NULL, "S_tep size:",
    "Mean change of a pixel per step, in grey levels (0..255)", "F", FIELD (step_size), ALL },
  { "jitter", "jitter", 'j', DD_PARAM_INT, 32, 0, 1024, NULL, NULL,
    "_Jitter:", "Random shift of the image at each step, in pixels; 0 = none (reproducible)", "N",
    FIELD (jitter), ALL },
  { "seed", "seed", 0, DD_PARAM_INT, -1, -1, G_MAXINT32, NULL, NULL, "S_eed:",
    "Seed of the random shifts and noise; -1 = a new random seed", "N", FIELD (seed), ALL },
  { "guide", "guide", 'g', DD_PARAM_STRING, 0, 0, 0, "", NULL,
    "_Guide:", "Guide image: amplify what looks like it", "IMAGE", FIELD (guide), DD_PARAM_CLI },
  { "class", "class", 0, DD_PARAM_INT, -1, -1, 99999, NULL, NULL, "Cl_ass:",
    "Maximise this class of the model's classifier instead (class visualisation); -1 = off", "N",
    FIELD (class_index), ALL },
  { "laplacian", "laplacian", 0, DD_PARAM_INT, 0, 0, 8, NULL, NULL,
    "_Laplacian bands:", "Normalise the gradient in this many Laplacian bands (smoother); 0 = off",
    "N", FIELD (laplacian), ALL },
  { "start", "start", 0, DD_PARAM_CHOICE, 0, 0, 0, "image", start_choices,
    "Start _from:", "Start from the image or from noise", "image|noise", FIELD (start), ALL },
  { "tile", "tile", 0, DD_PARAM_INT, 0, 0, 16384, NULL, NULL,
    "_Tile edge:", "Edge of the tiles big images are dreamed in, pixels; 0 = automatic", "N",
    FIELD (tile), DD_PARAM_CLI | DD_PARAM_PDB },
  { "memory", "memory", 0, DD_PARAM_INT, 0, 0, 1 << 20, NULL, NULL,
    "_Memory (MB):", "Working memory budget in MB; 0 = automatic", "MB", FIELD (memory_mb),
    DD_PARAM_CLI | DD_PARAM_PDB },
  { "threads", "threads", 0, DD_PARAM_INT, 0, 0, 256, NULL, NULL,
    "T_hreads:", "Threads to use; 0 = every core", "N", FIELD (threads), DD_PARAM_CLI },
  { "colours", "colours", 0, DD_PARAM_CHOICE, 0, 0, 0, "dream", colours_choices, "C_olours:",
    "Colours of the result: the dream's, or the source's with only the dream's lightness",
    "dream|source", FIELD (colours), ALL },
  { "seamless", "seamless", 0, DD_PARAM_CHOICE, 0, 0, 0, "no", no_yes, "Seamless _wrap:",
    "Dream the image as if it wrapped around at its edges, so that the result tiles", "no|yes",
    FIELD (seamless), ALL },
  { "mask", "mask", 0, DD_PARAM_STRING, 0, 0, 0, "", NULL, "Strength _map:",
    "Grey image of the input's size: its value scales the dream at each pixel (black = "
    "untouched, white = full)",
    "IMAGE", FIELD (mask), DD_PARAM_CLI },
};

const DdParamSpec *
dd_dream_param_specs (int *n_specs)
{
  *n_specs = G_N_ELEMENTS (specs);
  return specs;
}

const DdParamSpec *
dd_dream_param_find (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    if (g_strcmp0 (specs[i].name, name) == 0 || g_strcmp0 (specs[i].cli_name, name) == 0)
      return &specs[i];
  return NULL;
}

static void *
field (const DdDreamParams *p, const DdParamSpec *spec)
{
  return (char *) p + spec->offset;
}

void
dd_dream_params_init (DdDreamParams *p)
{
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++) {
    const DdParamSpec *s = &specs[i];
    switch (s->type) {
    case DD_PARAM_INT:
      *(int *) field (p, s) = (int) s->def;
      break;
    case DD_PARAM_DOUBLE:
      *(double *) field (p, s) = s->def;
      break;
    case DD_PARAM_STRING:
      *(char **) field (p, s) = g_strdup (s->def_string);
      break;
    case DD_PARAM_CHOICE:
      *(int *) field (p, s) = 0;
      break;
    }
  }
}

void
dd_dream_params_clear (DdDreamParams *p)
{
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].type == DD_PARAM_STRING)
      g_clear_pointer ((char **) field (p, &specs[i]), g_free);
}

void
dd_dream_params_copy (DdDreamParams *dst, const DdDreamParams *src)
{
  *dst = *src;
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].type == DD_PARAM_STRING)
      *(char **) field (dst, &specs[i]) = g_strdup (*(char **) field (src, &specs[i]));
}

static gboolean
out_of_range (const DdParamSpec *s, const char *value, GError **error)
{
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s: %s is out of range (%g to %g)", s->name,
               value, s->min, s->max);
  return FALSE;
}

gboolean
dd_dream_params_validate (const DdDreamParams *p, GError **error)
{
  char text[64];
  for (gsize i = 0; i < G_N_ELEMENTS (specs); i++) {
    const DdParamSpec *s = &specs[i];
    if (s->type == DD_PARAM_INT) {
      int v = *(int *) field (p, s);
      if (v < s->min || v > s->max)
        return out_of_range (s, g_ascii_dtostr (text, sizeof text, v), error);
    } else if (s->type == DD_PARAM_DOUBLE) {
      double v = *(double *) field (p, s);
      if (!isfinite (v) || v < s->min || v > s->max)
        return out_of_range (s, g_ascii_dtostr (text, sizeof text, v), error);
    } else if (s->type == DD_PARAM_CHOICE) {
      int v = *(int *) field (p, s);
      if (v < 0 || v >= (int) g_strv_length ((char **) s->choices)) {
        g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s: choice %d does not exist", s->name,
                     v);
        return FALSE;
      }
    }
  }
  if (p->tile != 0 && p->tile < 32) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "tile: %d is too small (0 or at least 32)",
                 p->tile);
    return FALSE;
  }
  return TRUE;
}

gboolean
dd_dream_param_set (DdDreamParams *p, const DdParamSpec *s, const char *value, GError **error)
{
  char *end = NULL;
  errno = 0;
  switch (s->type) {
  case DD_PARAM_INT: {
    gint64 v = g_ascii_strtoll (value, &end, 10);
    if (!*value || *end || errno)
      break;
    if (v < s->min || v > s->max)
      return out_of_range (s, value, error);
    *(int *) field (p, s) = (int) v;
    return TRUE;
  }
  case DD_PARAM_DOUBLE: {
    double v = g_ascii_strtod (value, &end);
    if (!*value || *end || errno || !isfinite (v))
      break;
    if (v < s->min || v > s->max)
      return out_of_range (s, value, error);
    *(double *) field (p, s) = v;
    return TRUE;
  }
  case DD_PARAM_STRING:
    g_free (*(char **) field (p, s));
    *(char **) field (p, s) = g_strdup (value);
    return TRUE;
  case DD_PARAM_CHOICE:
    for (int i = 0; s->choices[i]; i++)
      if (g_strcmp0 (s->choices[i], value) == 0) {
        *(int *) field (p, s) = i;
        return TRUE;
      }
    break;
  }
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s: '%s' is not %s", s->name, value,
               s->type == DD_PARAM_CHOICE ? "one of the choices"
               : s->type == DD_PARAM_INT  ? "an integer"
                                          : "a number");
  return FALSE;
}

char *
dd_dream_param_get (const DdDreamParams *p, const DdParamSpec *s)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  switch (s->type) {
  case DD_PARAM_INT:
    return g_strdup_printf ("%d", *(int *) field (p, s));
  case DD_PARAM_DOUBLE:
    /* Short and locale-independent: "1.4", not "1.3999999999999999". */
    return g_strdup (g_ascii_formatd (text, sizeof text, "%.9g", *(double *) field (p, s)));
  case DD_PARAM_STRING:
    return g_strdup (*(char **) field (p, s) ? *(char **) field (p, s) : "");
  case DD_PARAM_CHOICE:
    return g_strdup (s->choices[*(int *) field (p, s)]);
  }
  return NULL;
}
