/* flow-none.c: optical flow in a build without OpenCV: refuses clearly.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-flow.h"
#include "deepdream.h"

gboolean
dd_flow_available (void)
{
  return FALSE;
}

gboolean
dd_flow_dense (const guint8 *from, const guint8 *to, int width, int height, float *flow,
               GError **error)
{
  (void) from, (void) to, (void) width, (void) height, (void) flow;
  g_set_error_literal (error, DD_ERROR, DD_ERROR_UNSUPPORTED,
                       "this libdeepdream was built without OpenCV, so it has no optical flow "
                       "for video frames (install libopencv-video-dev and rebuild)");
  return FALSE;
}
