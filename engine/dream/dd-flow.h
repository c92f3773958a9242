/* dd-flow.h: dense optical flow, the engine's one use of OpenCV.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Implemented in flow.cc (OpenCV's DIS flow) when the build found OpenCV's
 * video module, and in flow-none.c otherwise, where every call fails with
 * one line saying so.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when this build can compute optical flow. */
gboolean dd_flow_available (void);

/* The motion from one grey frame to the next, both width x height bytes
 * with rows width apart: flow gets 2 floats per pixel, (dx, dy), such that
 * the content at (x, y) of from is found at (x + dx, y + dy) of to. */
gboolean dd_flow_dense (const guint8 *from, const guint8 *to, int width, int height, float *flow,
                        GError **error);

G_END_DECLS
