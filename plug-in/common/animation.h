/* animation.h: the animation filters of both GIMPs, dreamed frames and the
 * endless zoom, without GIMP.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An animation in GIMP is a stack of layers, the bottom one first. The
 * front ends read the frames into DdImages and write the results as the
 * layers of a new image; everything between, the engine's DdSequence and
 * DdZoom driven frame by frame with one seed, is here, once.
 */
#pragma once

#include "deepdream-video.h"

/* The settings of the two filters that are not the engine's. */
typedef struct {
  double blend; /* frames: share of the previous dream carried on, 0..1 */
  int frames;   /* zoom: frames made */
  double zoom;  /* zoom: scale per frame */
  double angle; /* zoom: turn per frame, degrees counter-clockwise */
  int loop;     /* zoom: last frames cross-faded into the first, 0 = none */
} AnimationValues;

typedef enum { ANIMATION_FRAMES, ANIMATION_ZOOM } AnimationKind;

/* The filter's own settings as rows like the engine's table (offsets into
 * AnimationValues), in argument order. */
const DdParamSpec *animation_param_specs (AnimationKind kind, int *n_specs);
void animation_values_init (AnimationValues *values);
/* Checks the kind's values; the message names the argument at fault. */
gboolean animation_values_check (AnimationKind kind, const AnimationValues *values, GError **error);

/* fraction of the whole run done, and the frame being dreamed (1..n). */
typedef void (*AnimationProgressFunc) (double fraction, int frame, int n_frames,
                                       gpointer user_data);

/* Dreams the n frames (one size and layout, first frame first) in place as
 * a sequence: each starts from the previous frame's dream carried along
 * the motion (deepdream-video.h). One seed for all frames: params'
 * unless it is -1. On failure the frames may be half dreamed: the caller
 * keeps its originals elsewhere. */
gboolean animation_dream_frames (DdModel *model, const DdModelCard *card,
                                 const DdDreamParams *params, double blend, DdImage *frames, int n,
                                 AnimationProgressFunc progress, gpointer progress_data,
                                 GError **error);

/* Fills frames[0 .. values->frames) (zeroed DdImages; the pixels are
 * allocated here, each like first's, and freed by the caller with
 * pixels_clear() whether or not this succeeds) with the endless zoom into
 * first: frame 0 is first dreamed, each next one the one before zoomed
 * and dreamed; with a loop the last values->loop frames run on into the
 * first. */
gboolean animation_zoom (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                         const AnimationValues *values, const DdImage *first, DdImage *frames,
                         AnimationProgressFunc progress, gpointer progress_data, GError **error);
