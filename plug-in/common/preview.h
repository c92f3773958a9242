/* preview.h: a quick, reduced-size dream of the selection, for the dialog.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "deepdream.h"
#include "plugin.h"

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

/* Reads the selected part of drawable, shrunk to fit the preview, and
 * shows it as it is until the first dream is ready. */
Preview *preview_new (gint32 drawable, GError **error);
/* The preview image, its "Computing…" state and the estimated run time. */
GtkWidget *preview_get_widget (Preview *preview);

/* Dreams the preview again with these settings and guide (-1 = none) after
 * a short pause, so that typing or dragging a slider starts one dream, not
 * many; a dream still running is cancelled. Also updates the estimated
 * time of the full-size run. model NULL means there is nothing to dream
 * with: the preview shows the original. */
void preview_update (Preview *preview, DreamModel *model, const DdDreamParams *params,
                     gint32 guide);

/* Cancels the running dream, waits for its thread to end and frees all. */
void preview_free (Preview *preview);
