/* picture.h: images read as the command line reads them (picture.c).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gegl.h>

#include "deepdream.h"

typedef struct {
  DdImage image;
  const Babl *format;
} Picture;

void picture_clear (Picture *p);

/* Routes GLib's log through the reader, which counts GEGL's warnings and
 * keeps the decoders' quiet, and turns an exit() inside a decoder
 * (libjpeg's) into one line naming the file. Once, at start. */
void picture_setup (void);

/* GEGL warnings logged so far: its savers report failures only so. */
guint picture_warning_count (void);

/* Checks path (dd_image_check_file), adds its loader to graph and reads
 * the image's size from its header into extent; nothing is decoded yet.
 * NULL with one error naming the file. */
GeglNode *open_picture (GeglNode *graph, const char *path, GeglRectangle *extent, GError **error);

/* Decodes the file behind load into out, in 8-bit when the file is 8-bit
 * and in float otherwise, keeping grey grey and alpha; FALSE with one error
 * naming the file when the decoder complained or gave fewer pixels than
 * the header promised. */
gboolean read_picture (GeglNode *load, const char *path, Picture *out, GError **error);
