/* animate.h: the command line's animation modes (animate.c).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gegl.h>
#include <glib.h>

#include "deepdream.h"

/* The options of the animation modes, NULL-terminated, for the command's
 * main option group. */
const GOptionEntry *animate_option_entries (void);

/* TRUE when the options asked for an animation (--video or --zoom-frames). */
gboolean animate_requested (void);

/* Runs the mode asked for: INPUT is a folder or a pattern of frames
 * (--video) or one picture (--zoom-frames), OUTPUT a folder. Returns the
 * exit status; errors go to stderr in one line. */
int animate_run (const DdDreamParams *params, const char *input, const char *output,
                 gboolean quiet);

/* deepdream.c's writer, which the frames go through too: im in format,
 * encoded by GEGL into memory and written through DdSafeFile, so a full
 * disk or a kill never leaves a partial file under path; settings, unless
 * NULL, go into the file's metadata where its format has a place. */
gboolean cli_save_image (const DdImage *im, const Babl *format, const char *path,
                         const char *settings, GError **error);
