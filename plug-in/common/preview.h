/* preview.h: a quick, reduced-size dream of the selection, for the dialog.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "deepdream.h"

/* A loaded model with its card, reference-counted so that the dialog can
 * switch models while a preview worker still dreams with the old one. Both
 * are only read once loaded, so threads may share them. */
typedef struct {
  DdModel *model;
  DdModelCard *card;
} DreamModel;

DreamModel *dream_model_open (const char *name_or_file, GError **error);
DreamModel *dream_model_ref (DreamModel *model);
void dream_model_unref (DreamModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DreamModel, dream_model_unref)

typedef struct _Preview Preview;

/* The longest edge of the pixels a preview shows. */
#define PREVIEW_EDGE 256

/* Takes original, the selection shrunk to fit PREVIEW_EDGE (the front end
 * reads it), and shows it as it is until the first dream is ready.
 * full_width x full_height is the selection's size, for the time estimate. */
Preview *preview_new (DdImage *original, int full_width, int full_height);
/* The preview image, its "Computing…" state and the estimated run time. */
GtkWidget *preview_get_widget (Preview *preview);

/* Dreams the preview again with these settings after a short pause, so
 * that typing or dragging a slider starts one dream, not many; a dream
 * still running is cancelled. Also updates the estimated time of the
 * full-size run. model NULL means there is nothing to dream with: the
 * preview shows the original. */
void preview_update (Preview *preview, DreamModel *model, const DdDreamParams *params);
/* The guide of the next updates: takes guide's pixels (NULL = none), which
 * the front end reads on the main thread, as libgimp talks to GIMP over one
 * pipe. */
void preview_set_guide (Preview *preview, DdImage *guide);
/* The engine shrinks guides to 224 pixels anyway: no need to read more. */
#define PREVIEW_GUIDE_EDGE 256

/* Cancels the running dream, waits for its thread to end and frees all. */
void preview_free (Preview *preview);
