/* video.c: frame sequences carried along the optical flow, and the
 * endless zoom (deepdream-video.h).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Frames are worked on as planar floats in grey levels 0..255. The loops
 * that sum over a frame run in one thread: their order, and so the last
 * bit of every mean, must not depend on the thread count, or a resumed run
 * could differ from an uninterrupted one.
 */
#include <math.h>
#include <string.h>

#include "dd-flow.h"
#include "deepdream-video.h"

/* ---- Frames as planar floats ------------------------------------------------ */

/* Colour channels of an image: grey (with or without alpha) has one. */
static int
colour_channels (const DdImage *im)
{
  return im->channels >= 3 ? 3 : 1;
}

static gboolean
check_frame (const DdImage *im, int width, int height, const char *what, GError **error)
{
  if (!im || !im->pixels || im->channels < 1 || im->channels > 4) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "%s frame: no pixels or %d channels", what,
                 im ? im->channels : 0);
    return FALSE;
  }
  if (im->width != width || im->height != height) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "%s frame is %dx%d, but the sequence is %dx%d: every frame must have one size",
                 what, im->width, im->height, width, height);
    return FALSE;
  }
  return TRUE;
}

static gboolean
same_layout (const DdImage *a, const DdImage *b, const char *what, GError **error)
{
  if (a->channels == b->channels && a->type == b->type)
    return TRUE;
  g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
               "%s frame has %d channels of another type than its source's %d", what, b->channels,
               a->channels);
  return FALSE;
}

static void
read_planar (const DdImage *im, float *dst)
{
  const gsize plane = (gsize) im->width * im->height;
  const int nc = colour_channels (im);
  for (int y = 0; y < im->height; y++) {
    const guint8 *row = (const guint8 *) im->pixels + (gsize) y * im->stride;
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < nc; c++) {
        gsize i = (gsize) x * im->channels + c;
        float v = im->type == DD_PIXEL_U8 ? row[i] : ((const float *) (const void *) row)[i] * 255;
        dst[c * plane + (gsize) y * im->width + x] = v;
      }
  }
}

/* Writes the colour channels of src into dst, clipped to the range; the
 * rest of dst (alpha) is left as it is. */
static void
write_planar (const float *src, DdImage *im)
{
  const gsize plane = (gsize) im->width * im->height;
  const int nc = colour_channels (im);
  for (int y = 0; y < im->height; y++) {
    guint8 *row = (guint8 *) im->pixels + (gsize) y * im->stride;
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < nc; c++) {
        gsize i = (gsize) x * im->channels + c;
        float v = CLAMP (src[c * plane + (gsize) y * im->width + x], 0.0f, 255.0f);
        if (im->type == DD_PIXEL_U8)
          row[i] = (guint8) (v + 0.5f);
        else
          ((float *) (void *) row)[i] = v / 255;
      }
  }
}

static void
copy_frame (const DdImage *src, DdImage *dst)
{
  const gsize row_bytes =
      (gsize) src->width * src->channels * (src->type == DD_PIXEL_U8 ? 1 : sizeof (float));
  for (int y = 0; y < src->height; y++)
    memmove ((guint8 *) dst->pixels + (gsize) y * dst->stride,
             (const guint8 *) src->pixels + (gsize) y * src->stride, row_bytes);
}

/* Luma in bytes, what the flow is computed on. */
static void
planar_to_grey (const float *planar, int nc, gsize plane, guint8 *grey)
{
  for (gsize i = 0; i < plane; i++) {
    float v = nc == 3
                  ? 0.299f * planar[i] + 0.587f * planar[plane + i] + 0.114f * planar[2 * plane + i]
                  : planar[i];
    grey[i] = (guint8) (CLAMP (v, 0.0f, 255.0f) + 0.5f);
  }
}

/* Bilinear sample of a width x height field of `step` interleaved values
 * (1 for a plane, 2 for a flow) at (x, y) inside the field. */
static float
sample (const float *field, int width, int height, int step, float x, float y)
{
  int x0 = (int) x, y0 = (int) y;
  int x1 = MIN (x0 + 1, width - 1), y1 = MIN (y0 + 1, height - 1);
  float fx = x - (float) x0, fy = y - (float) y0;
  const float *r0 = field + (gsize) y0 * width * step, *r1 = field + (gsize) y1 * width * step;
  float top = r0[x0 * step] + (r0[x1 * step] - r0[x0 * step]) * fx;
  float bottom = r1[x0 * step] + (r1[x1 * step] - r1[x0 * step]) * fx;
  return top + (bottom - top) * fy;
}

void
dd_frame_mean (const DdImage *im, double mean[3])
{
  const int nc = colour_channels (im);
  double sum[3] = { 0, 0, 0 };
  for (int y = 0; y < im->height; y++) {
    const guint8 *row = (const guint8 *) im->pixels + (gsize) y * im->stride;
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < nc; c++) {
        gsize i = (gsize) x * im->channels + c;
        sum[c] += im->type == DD_PIXEL_U8 ? row[i] : ((const float *) (const void *) row)[i] * 255;
      }
  }
  for (int c = 0; c < 3; c++)
    mean[c] = sum[MIN (c, nc - 1)] / ((double) im->width * im->height);
}

gboolean
dd_frame_mix (const DdImage *a, const DdImage *b, double weight, DdImage *out, GError **error)
{
  if (!check_frame (a, a->width, a->height, "first", error) ||
      !check_frame (b, a->width, a->height, "second", error) ||
      !check_frame (out, a->width, a->height, "mixed", error) ||
      !same_layout (a, b, "second", error) || !same_layout (a, out, "mixed", error))
    return FALSE;
  const float w = (float) CLAMP (weight, 0.0, 1.0);
  const gsize row_values = (gsize) a->width * a->channels;
  for (int y = 0; y < a->height; y++) {
    const guint8 *ra = (const guint8 *) a->pixels + (gsize) y * a->stride;
    const guint8 *rb = (const guint8 *) b->pixels + (gsize) y * b->stride;
    guint8 *ro = (guint8 *) out->pixels + (gsize) y * out->stride;
    for (gsize i = 0; i < row_values; i++)
      if (a->type == DD_PIXEL_U8)
        ro[i] = (guint8) ((1 - w) * ra[i] + w * rb[i] + 0.5f);
      else
        ((float *) (void *) ro)[i] = (1 - w) * ((const float *) (const void *) ra)[i] +
                                     w * ((const float *) (const void *) rb)[i];
  }
  return TRUE;
}

/* ---- Sequences ---------------------------------------------------------------- */

struct _DdSequence {
  int width, height;
  DdSequenceParams params;
  gboolean have_previous;
  /* The previous frame: its source and its dream detail (dream - source). */
  float *previous_source, *previous_detail;
  guint8 *previous_grey;
  /* The frame being prepared. */
  float *source, *start;
  guint8 *grey;
  float *flow_back, *flow_forward; /* 2 floats a pixel */
};

void
dd_sequence_params_init (DdSequenceParams *p)
{
  p->blend = DD_SEQUENCE_BLEND_DEFAULT;
  /* Mismatch allowed besides 1 % of the motion's squared length, as in
   * Sundaram et al. 2010 (dense point trajectories by GPU-accelerated
   * large displacement optical flow): generous enough for subpixel noise. */
  p->consistency_px = 0.7;
  /* Frames of the same scene warped onto each other differ by a few grey
   * levels (noise, interpolation); an occluded or uncovered area by far more. */
  p->difference = 30;
  p->cut_reliable = 0.5;
}

gboolean
dd_sequence_supported (GError **error)
{
  if (dd_flow_available ())
    return TRUE;
  guint8 pixel = 0;
  float flow[2];
  return dd_flow_dense (&pixel, &pixel, 1, 1, flow, error);
}

DdSequence *
dd_sequence_new (int width, int height, const DdSequenceParams *params, GError **error)
{
  if (!dd_sequence_supported (error))
    return NULL;
  if (width < 8 || height < 8 || (gint64) width * height > G_MAXINT32 / 8) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "frames of %dx%d pixels cannot be a sequence (8x8 at least)", width, height);
    return NULL;
  }
  if (!(params->blend >= 0 && params->blend <= 1) || !(params->consistency_px >= 0) ||
      !(params->difference >= 0) || !(params->cut_reliable >= 0 && params->cut_reliable <= 1)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "sequence: blend %g and cut share %g must be within 0..1, thresholds positive",
                 params->blend, params->cut_reliable);
    return NULL;
  }
  const gsize plane = (gsize) width * height;
  DdSequence *seq = g_try_new0 (DdSequence, 1);
  if (seq) {
    seq->previous_source = g_try_new (float, 3 * plane);
    seq->previous_detail = g_try_new (float, 3 * plane);
    seq->source = g_try_new (float, 3 * plane);
    seq->start = g_try_new (float, 3 * plane);
    seq->flow_back = g_try_new (float, 2 * plane);
    seq->flow_forward = g_try_new (float, 2 * plane);
    seq->previous_grey = g_try_new (guint8, plane);
    seq->grey = g_try_new (guint8, plane);
  }
  if (!seq || !seq->previous_source || !seq->previous_detail || !seq->source || !seq->start ||
      !seq->flow_back || !seq->flow_forward || !seq->previous_grey || !seq->grey) {
    dd_sequence_free (seq);
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "no memory for a sequence of %dx%d frames",
                 width, height);
    return NULL;
  }
  seq->width = width;
  seq->height = height;
  seq->params = *params;
  return seq;
}

void
dd_sequence_free (DdSequence *seq)
{
  if (!seq)
    return;
  g_free (seq->previous_source);
  g_free (seq->previous_detail);
  g_free (seq->source);
  g_free (seq->start);
  g_free (seq->flow_back);
  g_free (seq->flow_forward);
  g_free (seq->previous_grey);
  g_free (seq->grey);
  g_free (seq);
}

void
dd_sequence_reset (DdSequence *seq)
{
  seq->have_previous = FALSE;
}

/* Carries the previous dream detail along the flow into seq->start (the
 * new source plus blend x the detail where the flow is trusted) and
 * returns the share of pixels it trusted. */
static double
carry_detail (DdSequence *seq, int nc, double *mean_difference)
{
  const int w = seq->width, h = seq->height;
  const gsize plane = (gsize) w * h;
  const DdSequenceParams *p = &seq->params;
  const float cons2 = (float) (p->consistency_px * p->consistency_px);
  double difference_sum = 0, detail_sum[3] = { 0, 0, 0 };
  gsize inside = 0, reliable = 0;

  /* First pass: where the flow is trusted, the warped detail goes into
   * start; elsewhere a NaN marks the pixel. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const gsize i = (gsize) y * w + x;
      const float bx = seq->flow_back[2 * i], by = seq->flow_back[2 * i + 1];
      const float qx = (float) x + bx, qy = (float) y + by;
      seq->start[i] = NAN;
      if (!(qx >= 0 && qy >= 0 && qx <= (float) (w - 1) && qy <= (float) (h - 1)))
        continue;
      inside++;
      const float fx = sample (seq->flow_forward, w, h, 2, qx, qy);
      const float fy = sample (seq->flow_forward + 1, w, h, 2, qx, qy);
      const float mismatch = (bx + fx) * (bx + fx) + (by + fy) * (by + fy);
      const gboolean consistent =
          mismatch <= 0.01f * (bx * bx + by * by + fx * fx + fy * fy) + cons2;
      float difference = 0;
      for (int c = 0; c < nc; c++)
        difference += fabsf (sample (seq->previous_source + c * plane, w, h, 1, qx, qy) -
                             seq->source[c * plane + i]);
      difference /= (float) nc;
      difference_sum += difference;
      if (!consistent || difference > p->difference)
        continue;
      reliable++;
      for (int c = 0; c < nc; c++) {
        float d = sample (seq->previous_detail + c * plane, w, h, 1, qx, qy);
        seq->start[c * plane + i] = d;
        detail_sum[c] += d;
      }
    }
  *mean_difference = inside ? difference_sum / (double) inside : 255;

  /* Second pass: the carried detail loses its mean, so that what the
   * dreams add to brightness and colour is never fed back and summed up
   * over the frames (the drift of fed-back dreams). Plane 0 holds the
   * marks, so it goes last. */
  for (int c = nc - 1; c >= 0; c--) {
    const float mean = reliable ? (float) (detail_sum[c] / (double) reliable) : 0;
    const float blend = (float) p->blend;
    float *start = seq->start + c * plane;
    const float *source = seq->source + c * plane;
    for (gsize i = 0; i < plane; i++)
      start[i] = isnan (seq->start[i]) ? source[i] : source[i] + blend * (start[i] - mean);
  }
  return (double) reliable / (double) plane;
}

gboolean
dd_sequence_prepare (DdSequence *seq, const DdImage *source, DdImage *start, DdFrameReport *report,
                     GError **error)
{
  if (!check_frame (source, seq->width, seq->height, "source", error) ||
      !check_frame (start, seq->width, seq->height, "start", error) ||
      !same_layout (source, start, "start", error))
    return FALSE;
  const gsize plane = (gsize) seq->width * seq->height;
  const int nc = colour_channels (source);
  DdFrameReport r = { DD_FRAME_FIRST, 0, 0 };
  read_planar (source, seq->source);
  copy_frame (source, start);
  if (seq->have_previous) {
    planar_to_grey (seq->source, nc, plane, seq->grey);
    if (!dd_flow_dense (seq->grey, seq->previous_grey, seq->width, seq->height, seq->flow_back,
                        error) ||
        !dd_flow_dense (seq->previous_grey, seq->grey, seq->width, seq->height, seq->flow_forward,
                        error))
      return FALSE;
    r.reliable = carry_detail (seq, nc, &r.difference);
    r.kind = r.reliable < seq->params.cut_reliable ? DD_FRAME_CUT : DD_FRAME_CARRIED;
    if (r.kind == DD_FRAME_CARRIED)
      write_planar (seq->start, start);
  }
  if (report)
    *report = r;
  return TRUE;
}

int
dd_sequence_iterations (const DdSequenceParams *params, const DdFrameReport *report, int iterations)
{
  if (report->kind != DD_FRAME_CARRIED)
    return iterations;
  return MAX (1, (int) ceil (iterations * (1 - params->blend) - 1e-9));
}

gboolean
dd_sequence_commit (DdSequence *seq, const DdImage *source, const DdImage *dreamed, GError **error)
{
  if (!check_frame (source, seq->width, seq->height, "source", error) ||
      !check_frame (dreamed, seq->width, seq->height, "dreamed", error) ||
      !same_layout (source, dreamed, "dreamed", error))
    return FALSE;
  const gsize plane = (gsize) seq->width * seq->height;
  const int nc = colour_channels (source);
  read_planar (source, seq->previous_source);
  read_planar (dreamed, seq->previous_detail);
  for (gsize i = 0; i < nc * plane; i++)
    seq->previous_detail[i] -= seq->previous_source[i];
  planar_to_grey (seq->previous_source, nc, plane, seq->previous_grey);
  seq->have_previous = TRUE;
  return TRUE;
}

/* ---- The endless zoom ------------------------------------------------------------ */

struct _DdZoom {
  int width, height, channels;
  DdPixelType type;
  double factor, angle_rad;
  double mean[3], deviation[3]; /* of the first frame, per colour channel */
  float *previous, *next;       /* planar */
};

static void
planar_statistics (const float *planar, int nc, gsize plane, double mean[3], double deviation[3])
{
  for (int c = 0; c < nc; c++) {
    double sum = 0, sum2 = 0;
    for (gsize i = 0; i < plane; i++) {
      sum += planar[c * plane + i];
      sum2 += (double) planar[c * plane + i] * planar[c * plane + i];
    }
    mean[c] = sum / (double) plane;
    deviation[c] = sqrt (MAX (sum2 / (double) plane - mean[c] * mean[c], 0));
  }
}

DdZoom *
dd_zoom_new (const DdImage *first, double factor, double angle_deg, GError **error)
{
  if (!check_frame (first, first ? first->width : 0, first ? first->height : 0, "first", error))
    return NULL;
  if (!(factor >= 0.5 && factor <= 2) || !(fabs (angle_deg) <= 45)) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "zoom: factor %g must be within 0.5..2 and the angle %g within -45..45 degrees",
                 factor, angle_deg);
    return NULL;
  }
  const gsize plane = (gsize) first->width * first->height;
  DdZoom *zoom = g_new0 (DdZoom, 1);
  zoom->previous = g_try_new (float, 3 * plane);
  zoom->next = g_try_new (float, 3 * plane);
  if (!zoom->previous || !zoom->next) {
    dd_zoom_free (zoom);
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "no memory for a zoom of %dx%d frames",
                 first->width, first->height);
    return NULL;
  }
  zoom->width = first->width;
  zoom->height = first->height;
  zoom->channels = first->channels;
  zoom->type = first->type;
  zoom->factor = factor;
  zoom->angle_rad = angle_deg * G_PI / 180;
  read_planar (first, zoom->previous);
  planar_statistics (zoom->previous, colour_channels (first), plane, zoom->mean, zoom->deviation);
  return zoom;
}

void
dd_zoom_free (DdZoom *zoom)
{
  if (!zoom)
    return;
  g_free (zoom->previous);
  g_free (zoom->next);
  g_free (zoom);
}

/* next = previous scaled by factor and turned about the centre; samples
 * beyond the edge (corners of a turned frame, a zoom out) take the
 * nearest edge pixel. */
static void
zoom_planar (const DdZoom *zoom, int nc)
{
  const int w = zoom->width, h = zoom->height;
  const gsize plane = (gsize) w * h;
  const float cx = (float) (w - 1) / 2, cy = (float) (h - 1) / 2;
  /* Output offset d shows the source at R(-angle) d / factor; screen y
   * points down, so a positive angle turns the picture counter-clockwise. */
  const float cs = (float) (cos (zoom->angle_rad) / zoom->factor);
  const float sn = (float) (sin (zoom->angle_rad) / zoom->factor);
#pragma omp parallel for schedule(static)
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const float dx = (float) x - cx, dy = (float) y - cy;
      const float sx = CLAMP (cx + cs * dx - sn * dy, 0.0f, (float) (w - 1));
      const float sy = CLAMP (cy + sn * dx + cs * dy, 0.0f, (float) (h - 1));
      for (int c = 0; c < nc; c++)
        zoom->next[c * plane + (gsize) y * w + x] =
            sample (zoom->previous + c * plane, w, h, 1, sx, sy);
    }
}

gboolean
dd_zoom_next (DdZoom *zoom, const DdImage *previous, DdImage *next, GError **error)
{
  if (!check_frame (previous, zoom->width, zoom->height, "previous", error) ||
      !check_frame (next, zoom->width, zoom->height, "next", error) ||
      !same_layout (previous, next, "next", error))
    return FALSE;
  if (previous->channels != zoom->channels || previous->type != zoom->type) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                 "zoom: previous frame has another layout than the first");
    return FALSE;
  }
  const gsize plane = (gsize) zoom->width * zoom->height;
  const int nc = colour_channels (previous);
  read_planar (previous, zoom->previous);
  zoom_planar (zoom, nc);
  /* Hold each channel's mean and contrast to the first frame's: every
   * dream shifts them a little, and fed back frame after frame the shifts
   * add up to a picture that darkens or burns out. */
  double mean[3], deviation[3];
  planar_statistics (zoom->next, nc, plane, mean, deviation);
  for (int c = 0; c < nc; c++) {
    const float gain = (float) (deviation[c] > 1e-3 ? zoom->deviation[c] / deviation[c] : 1);
    const float from = (float) mean[c], to = (float) zoom->mean[c];
    float *v = zoom->next + c * plane;
    for (gsize i = 0; i < plane; i++)
      v[i] = (v[i] - from) * gain + to;
  }
  copy_frame (previous, next);
  write_planar (zoom->next, next);
  return TRUE;
}
