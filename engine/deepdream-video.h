/* deepdream-video.h: dreams that move, from libdeepdream.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two kinds of animation, each a small state object fed one frame at a
 * time, so that a command line, a GIMP filter over layers or any other
 * front end drives them with its own frame I/O and dd_dream_run():
 *
 * A DdSequence dreams the frames of a clip so the dream follows the
 * motion. For each new source frame, dd_sequence_prepare() makes the image
 * the dream starts from: the new frame plus the previous frame's dream
 * detail (its dream minus its source) carried along the optical flow
 * between the two source frames, times a blend weight. Where the flow is
 * unreliable (occlusions, by forward-backward consistency and by the
 * difference of the warped frames) nothing is carried, and at a cut the
 * frame starts as it is. After the dream, dd_sequence_commit() hands the
 * dreamed frame on to the next.
 *
 *   DdSequence *seq = dd_sequence_new (width, height, &sp, &error);
 *   for each frame:
 *     dd_sequence_prepare (seq, source, start, &report, &error);
 *     params.iterations = dd_sequence_iterations (&sp, &report, still_iterations);
 *     dd_dream_run (model, card, &params, NULL, start, ...);
 *     dd_sequence_commit (seq, source, start);
 *
 * A DdZoom makes the endless zoom: each frame starts from the previous
 * dreamed frame zoomed in (and turned) about its centre, its colours held
 * to those of the first frame, and is dreamed a few steps.
 *
 * Frames are DdImages of 1 to 4 channels (alpha is taken from the source
 * and never dreamed), all of one size. Nothing here allocates per frame.
 */
#pragma once

#include "deepdream.h"

G_BEGIN_DECLS

/* ---- Frame sequences ------------------------------------------------------- */

typedef struct {
  double blend;          /* share of the previous dream's detail carried on, 0..1 */
  double consistency_px; /* forward-backward flow mismatch allowed, in pixels */
  double difference;     /* warped-frame difference that marks an occlusion, grey levels */
  double cut_reliable;   /* a frame with less than this share carried is a cut */
} DdSequenceParams;

/* Three quarters carried on: a frame then needs a quarter of a still
 * dream's steps (dd_sequence_iterations), and agrees with the frame before
 * it far better than at one half, for the same strength of dream. */
#define DD_SEQUENCE_BLEND_DEFAULT 0.75

/* Fills p with the defaults. */
void dd_sequence_params_init (DdSequenceParams *p);

typedef enum {
  DD_FRAME_FIRST,   /* no previous frame: starts from the source */
  DD_FRAME_CARRIED, /* the previous dream carried along the flow */
  DD_FRAME_CUT,     /* a cut: starts from the source as it is */
} DdFrameKind;

typedef struct {
  DdFrameKind kind;
  double reliable;   /* share of pixels whose flow was trusted, 0..1 */
  double difference; /* mean difference of the frames after warping, grey levels */
} DdFrameReport;

typedef struct _DdSequence DdSequence;

/* TRUE when this libdeepdream was built with optical flow (OpenCV); else
 * FALSE with an error that says so. */
gboolean dd_sequence_supported (GError **error);

DdSequence *dd_sequence_new (int width, int height, const DdSequenceParams *params, GError **error);
void dd_sequence_free (DdSequence *seq);

/* Writes into start (same size and layout as source) the image the dream
 * of source should start from, and what was done into report (may be
 * NULL). The first frame, and every frame after dd_sequence_reset(),
 * starts from the source. */
gboolean dd_sequence_prepare (DdSequence *seq, const DdImage *source, DdImage *start,
                              DdFrameReport *report, GError **error);

/* The steps per octave for a frame that a still dream would give
 * iterations: all of them for a frame that starts afresh, but a carried
 * frame already holds blend x the previous dream, so it gets the
 * (1 - blend) share that remains (at least one). A steady sequence then
 * carries detail of a still dream's strength, d = blend d + (1 - blend) d,
 * and each frame changes no more than that share: the dream follows the
 * motion instead of being dreamed anew on every frame. */
int dd_sequence_iterations (const DdSequenceParams *params, const DdFrameReport *report,
                            int iterations);

/* The dream of source is dreamed: carried to the next frame. A run that
 * resumes calls this with the last frame written and its source. */
gboolean dd_sequence_commit (DdSequence *seq, const DdImage *source, const DdImage *dreamed,
                             GError **error);

/* Forgets the previous frame. */
void dd_sequence_reset (DdSequence *seq);

/* ---- The endless zoom ------------------------------------------------------ */

typedef struct _DdZoom DdZoom;

/* A zoom by factor (> 1 zooms in) and angle_deg (counter-clockwise) per
 * frame, whose frames keep the per-channel mean and contrast of first. */
DdZoom *dd_zoom_new (const DdImage *first, double factor, double angle_deg, GError **error);
void dd_zoom_free (DdZoom *zoom);

/* Writes into next (same size and layout as previous) previous zoomed by
 * one step, its colours held to the first frame's: the image the next
 * dream starts from. */
gboolean dd_zoom_next (DdZoom *zoom, const DdImage *previous, DdImage *next, GError **error);

/* ---- Frames ---------------------------------------------------------------- */

/* out = (1 - weight) * a + weight * b, pixel by pixel, for cross-fades (a
 * looping zoom); all three of one size and layout. */
gboolean dd_frame_mix (const DdImage *a, const DdImage *b, double weight, DdImage *out,
                       GError **error);

/* Per-channel means of the colour channels, in grey levels 0..255. */
void dd_frame_mean (const DdImage *image, double mean[3]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdSequence, dd_sequence_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdZoom, dd_zoom_free)

G_END_DECLS
