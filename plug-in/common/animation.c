/* animation.c: the animation filters of both GIMPs, without GIMP.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The same frame loops as the command line's --video and --zoom-frames,
 * in memory: GIMP's layers are the frames, and nothing is written back
 * before the last frame is dreamed.
 */
#include "animation.h"

#include <stddef.h>
#include <string.h>

#include "pixels.h"

#define FIELD(f) offsetof (AnimationValues, f)
#define USE (DD_PARAM_PDB | DD_PARAM_DIALOG)

static const DdParamSpec frames_specs[] = {
  { "blend", "blend", 0, DD_PARAM_DOUBLE, DD_SEQUENCE_BLEND_DEFAULT, 0, 1, NULL, NULL, "_Blend:",
    "Share of the previous frame's dream carried on along the motion (0 = every frame dreamed "
    "anew); a carried frame is dreamed the remaining share of the iterations",
    "W", FIELD (blend), USE },
};

/* The command line's zoom defaults, and a loop-free animation. */
static const DdParamSpec zoom_specs[] = {
  { "frames", "frames", 0, DD_PARAM_INT, 12, 1, 1000, NULL, NULL,
    "_Frames:", "Frames to make, each a new layer", "N", FIELD (frames), USE },
  { "zoom", "zoom", 0, DD_PARAM_DOUBLE, 1.05, 0.5, 2, NULL, NULL,
    "_Zoom:", "Scale per frame (more than 1 zooms in)", "F", FIELD (zoom), USE },
  { "angle", "angle", 0, DD_PARAM_DOUBLE, 0, -45, 45, NULL, NULL,
    "_Angle:", "Turn per frame, in degrees counter-clockwise", "DEG", FIELD (angle), USE },
  { "loop", "loop", 0, DD_PARAM_INT, 0, 0, 999, NULL, NULL, "Loo_p frames:",
    "Frames at the end cross-faded into the first, so that the animation loops (fewer than the "
    "frames; 0 = none)",
    "N", FIELD (loop), USE },
};

const DdParamSpec *
animation_param_specs (AnimationKind kind, int *n_specs)
{
  if (kind == ANIMATION_FRAMES) {
    *n_specs = G_N_ELEMENTS (frames_specs);
    return frames_specs;
  }
  *n_specs = G_N_ELEMENTS (zoom_specs);
  return zoom_specs;
}

void
animation_values_init (AnimationValues *values)
{
  *values = (AnimationValues){ 0 };
  for (AnimationKind kind = ANIMATION_FRAMES; kind <= ANIMATION_ZOOM; kind++) {
    int n;
    const DdParamSpec *specs = animation_param_specs (kind, &n);
    for (int i = 0; i < n; i++) {
      gpointer field = (char *) values + specs[i].offset;
      if (specs[i].type == DD_PARAM_DOUBLE)
        *(double *) field = specs[i].def;
      else
        *(int *) field = (int) specs[i].def;
    }
  }
}

gboolean
animation_values_check (AnimationKind kind, const AnimationValues *values, GError **error)
{
  int n;
  const DdParamSpec *specs = animation_param_specs (kind, &n);
  for (int i = 0; i < n; i++) {
    gconstpointer field = (const char *) values + specs[i].offset;
    double v = specs[i].type == DD_PARAM_DOUBLE ? *(const double *) field : *(const int *) field;
    if (!(v >= specs[i].min && v <= specs[i].max)) {
      g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s: %g is out of range (%g to %g)",
                   specs[i].name, v, specs[i].min, specs[i].max);
      return FALSE;
    }
  }
  if (kind == ANIMATION_ZOOM && values->loop >= values->frames) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "loop: %d must be fewer than the %d frames",
                 values->loop, values->frames);
    return FALSE;
  }
  return TRUE;
}

/* ---- Progress over the whole run --------------------------------------------------- */

/* Each frame's share of the run is its steps per octave, as every step
 * costs the same. */
typedef struct {
  AnimationProgressFunc func;
  gpointer data;
  double done, frame_weight, total; /* in steps */
  int frame, n_frames;
} Progress;

static void
progress_dream (double fraction, int octave, int n_octaves, int iteration, int n_iterations,
                gpointer data)
{
  Progress *p = data;
  (void) octave, (void) n_octaves, (void) iteration, (void) n_iterations;
  if (p->func)
    p->func (MIN ((p->done + fraction * p->frame_weight) / p->total, 1.0), p->frame, p->n_frames,
             p->data);
}

static void
progress_frame_done (Progress *p)
{
  p->done += p->frame_weight;
}

/* The animation's params: the given ones with one seed for every frame,
 * as a dream drawn anew for each would flicker. */
static void
animation_params (DdDreamParams *p, const DdDreamParams *params)
{
  dd_dream_params_copy (p, params);
  if (p->seed < 0)
    p->seed = g_random_int_range (0, G_MAXINT32);
}

/* ---- Dreamed frames ------------------------------------------------------------------ */

gboolean
animation_dream_frames (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                        double blend, DdImage *frames, int n, AnimationProgressFunc progress,
                        gpointer progress_data, GError **error)
{
  if (n < 1) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "an animation needs frames, not %d", n);
    return FALSE;
  }
  DdSequenceParams sp;
  dd_sequence_params_init (&sp);
  sp.blend = blend;
  g_autoptr (DdSequence) seq = dd_sequence_new (frames[0].width, frames[0].height, &sp, error);
  if (!seq)
    return FALSE;
  DdDreamParams p;
  animation_params (&p, params);
  const DdFrameReport carried = { DD_FRAME_CARRIED, 1, 0 };
  Progress pr = { progress, progress_data, 0, 0, 0, 0, n };
  pr.total = p.iterations + (n - 1) * dd_sequence_iterations (&sp, &carried, p.iterations);
  DdImage source;
  pixels_copy (&source, &frames[0]);
  const int iterations = p.iterations;
  gboolean ok = TRUE;
  for (int i = 0; ok && i < n; i++) {
    DdFrameReport report;
    memcpy (source.pixels, frames[i].pixels, source.stride * source.height);
    ok = dd_sequence_prepare (seq, &source, &frames[i], &report, error);
    p.iterations = dd_sequence_iterations (&sp, &report, iterations);
    pr.frame = i + 1;
    pr.frame_weight = p.iterations;
    ok = ok &&
         dd_dream_run (model, card, &p, NULL, &frames[i], progress_dream, &pr, NULL, NULL, error) &&
         dd_sequence_commit (seq, &source, &frames[i], error);
    progress_frame_done (&pr);
  }
  pixels_clear (&source);
  dd_dream_params_clear (&p);
  return ok;
}

/* ---- The endless zoom ------------------------------------------------------------------ */

/* Frame i of the first loop ones becomes a cross-fade from the frame that
 * would follow the last (n + i) to itself, so that the last frame runs on
 * into the first; as the command line's --loop. */
static gboolean
cross_fade_loop (DdImage *frames, int n, int loop, GError **error)
{
  for (int i = 0; i < loop; i++) {
    const double weight_end = 1 - (double) (i + 1) / (loop + 1);
    if (!dd_frame_mix (&frames[i], &frames[n + i], weight_end, &frames[i], error))
      return FALSE;
  }
  return TRUE;
}

gboolean
animation_zoom (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                const AnimationValues *values, const DdImage *first, DdImage *frames,
                AnimationProgressFunc progress, gpointer progress_data, GError **error)
{
  const int n = values->frames, loop = values->loop, total = n + loop;
  if (!animation_values_check (ANIMATION_ZOOM, values, error))
    return FALSE;
  g_autoptr (DdZoom) zoom = dd_zoom_new (first, values->zoom, values->angle, error);
  if (!zoom)
    return FALSE;
  /* The loop's frames past the last are needed only for the cross-fade. */
  g_autofree DdImage *all = g_new0 (DdImage, total);
  gboolean ok = TRUE;
  for (int j = 0; ok && j < total; j++) {
    all[j] = *first;
    all[j].pixels = g_try_malloc (first->stride * first->height);
    if (all[j].pixels && j == 0)
      memcpy (all[j].pixels, first->pixels, first->stride * first->height);
    if (!all[j].pixels) {
      g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "no memory for %d frames of %dx%d", total,
                   first->width, first->height);
      ok = FALSE;
    }
  }
  DdDreamParams p;
  animation_params (&p, params);
  Progress pr = {
    progress, progress_data, 0, p.iterations, (double) total * p.iterations, 0, total
  };
  for (int j = 0; ok && j < total; j++) {
    pr.frame = j + 1;
    ok = (j == 0 || dd_zoom_next (zoom, &all[j - 1], &all[j], error)) &&
         dd_dream_run (model, card, &p, NULL, &all[j], progress_dream, &pr, NULL, NULL, error);
    progress_frame_done (&pr);
  }
  ok = ok && cross_fade_loop (all, n, loop, error);
  for (int j = 0; j < total; j++)
    if (ok && j < n)
      frames[j] = all[j];
    else
      pixels_clear (&all[j]);
  dd_dream_params_clear (&p);
  return ok;
}
