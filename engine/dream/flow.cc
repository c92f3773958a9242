/* flow.cc: dense optical flow through OpenCV's DIS (Kroeger et al. 2016,
 * "Fast optical flow using dense inverse search"), behind a C interface.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * DIS rather than Farnebaeck: it is the faster of the two at equal
 * accuracy on real video and keeps motion boundaries sharper, which is
 * where a dream carried along the flow would smear.
 */
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>

#include "deepdream.h"
#include "dd-flow.h"

gboolean
dd_flow_available (void)
{
  return TRUE;
}

gboolean
dd_flow_dense (const guint8 *from, const guint8 *to, int width, int height, float *flow,
               GError **error)
{
  try {
    const cv::Mat a (height, width, CV_8UC1, const_cast<guint8 *> (from));
    const cv::Mat b (height, width, CV_8UC1, const_cast<guint8 *> (to));
    /* OpenCV 4.6's DIS reads the output buffer it is given before writing
     * it (valgrind: uninitialised values from the caller's allocation), so
     * its contents would leak into the flow: a run resumed from disk would
     * then differ from one that never stopped. Cleared, the flow depends
     * on the two frames alone. */
    std::memset (flow, 0, sizeof (float) * 2 * (size_t) width * (size_t) height);
    cv::Mat out (height, width, CV_32FC2, flow);
    /* MEDIUM: the finer patches of the presets; FAST misses the small
     * fractional motions of slow pans that coherence depends on. */
    cv::Ptr<cv::DISOpticalFlow> dis =
        cv::DISOpticalFlow::create (cv::DISOpticalFlow::PRESET_MEDIUM);
    dis->calc (a, b, out);
    /* calc writes into out's memory when its size and type fit, as here;
     * copy in case a future OpenCV reallocates. */
    if (out.data != reinterpret_cast<uchar *> (flow))
      std::memcpy (flow, out.data, sizeof (float) * 2 * (size_t) width * (size_t) height);
    return TRUE;
  } catch (const cv::Exception &e) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "optical flow of a %dx%d frame failed: %s",
                 width, height, e.what ());
    return FALSE;
  } catch (const std::exception &e) {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "optical flow of a %dx%d frame failed: %s",
                 width, height, e.what ());
    return FALSE;
  }
}
