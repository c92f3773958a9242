/* op-pool.c: MaxPool, AveragePool and GlobalAveragePool, forward and backward.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * All three work on NCHW planes, one plane (n, c) at a time. Backward
 * scatters into gx, so a plane belongs to one thread: overlapping windows
 * then never race.
 */
#include "dd-ops.h"

#include <string.h>

/* Window geometry of one 2-D pool call, from the attributes and shapes. */
typedef struct {
  int64_t h, w, oh, ow;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t pt, pl, pb, pr;
} PoolGeom;

static PoolGeom
pool_geom (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  PoolGeom g = {
    .h = in->d[2],
    .w = in->d[3],
    .oh = out->d[2],
    .ow = out->d[3],
    .kh = a->kernel[0],
    .kw = a->kernel[1],
    .sh = a->stride[0],
    .sw = a->stride[1],
    .dh = a->dilation[0],
    .dw = a->dilation[1],
    .pt = a->pads[0],
    .pl = a->pads[1],
    .pb = a->pads[2],
    .pr = a->pads[3],
  };
  return g;
}

/* Taps k in [*lo, *hi) of a window starting at start (k taps, dilation d)
 * that land inside [0, n): lets the loops skip padding without tests. */
static inline void
tap_range (int64_t start, int64_t k, int64_t d, int64_t n, int64_t *lo, int64_t *hi)
{
  *lo = start >= 0 ? 0 : (-start + d - 1) / d;
  *hi = start >= n ? 0 : MIN (k, (n - start + d - 1) / d);
  if (*hi < *lo)
    *hi = *lo;
}

/* Setup checks shared by both windowed pools. */
static gboolean
pool_setup_window (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  if (!dd_window_setup (a, n, TRUE, error))
    return FALSE;
  /* A pad as large as the window could make a window of padding only: its
   * max would be -inf and its mean 0/0. Caffe and PyTorch refuse it too. */
  for (int i = 0; i < 4; i++) {
    int64_t span = (a->kernel[i % 2] - 1) * a->dilation[i % 2] + 1;
    if (a->pads[i] >= span)
      return dd_op_fail (error,
                         "node '%s': pads [%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                         ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                         "] must be smaller than the %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                         " window",
                         dd_node_name (n), a->pads[0], a->pads[1], a->pads[2], a->pads[3],
                         a->kernel[0], a->kernel[1]);
  }
  return TRUE;
}

static gboolean
pool_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char buf[128];
  (void) n_in;

  if (in[0].rank != 4)
    return dd_op_fail (error, "pooling needs an NCHW input of rank 4, not %s",
                       dd_shape_format (&in[0], buf, sizeof buf));
  int64_t oh = dd_window_out (in[0].d[2], a->kernel[0], a->stride[0], a->dilation[0], a->pads[0],
                              a->pads[2], a->ceil_mode);
  int64_t ow = dd_window_out (in[0].d[3], a->kernel[1], a->stride[1], a->dilation[1], a->pads[1],
                              a->pads[3], a->ceil_mode);
  if (oh < 1 || ow < 1)
    return dd_op_fail (error,
                       "a %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                       " pooling window does not fit in the input %s",
                       a->kernel[0], a->kernel[1], dd_shape_format (&in[0], buf, sizeof buf));
  *out = in[0];
  out->d[2] = oh;
  out->d[3] = ow;
  return TRUE;
}

static gsize
pool_saved_per_output (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  (void) a;
  (void) in;
  return dd_shape_numel (out);
}

/* ---- MaxPool ----------------------------------------------------------- */

static gboolean
max_pool_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  return pool_setup_window (a, n, error);
}

static gboolean
max_pool_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char buf[128];

  if (!pool_infer (a, n_in, in, out, error))
    return FALSE;
  /* Backward keeps the argmax as an int32 offset within the input plane. */
  if (in[0].d[2] * in[0].d[3] > G_MAXINT32)
    return dd_op_fail (error, "MaxPool input %s has planes too large",
                       dd_shape_format (&in[0], buf, sizeof buf));
  return TRUE;
}

/* One output of a max pool, any window: the first image cell starts the
 * search, so a -inf input still wins a place. Returns the winner's offset
 * in the plane, or -1 for a window of padding only (a dilated one). */
static int32_t
max_pool_cell (const PoolGeom *g, const float *x, int64_t y0, int64_t ky_lo, int64_t ky_hi,
               int64_t ox, float *best_out)
{
  int64_t x0 = ox * g->sw - g->pl, kx_lo, kx_hi;
  tap_range (x0, g->kw, g->dw, g->w, &kx_lo, &kx_hi);
  if (ky_lo == ky_hi || kx_lo == kx_hi) {
    *best_out = 0.0f;
    return -1;
  }
  int64_t best_i = (y0 + ky_lo * g->dh) * g->w + x0 + kx_lo * g->dw;
  float best = x[best_i];
  for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
    int64_t row = (y0 + ky * g->dh) * g->w;
    for (int64_t kx = kx_lo; kx < kx_hi; kx++) {
      int64_t i = row + x0 + kx * g->dw;
      gboolean wins = x[i] > best;
      best = wins ? x[i] : best;
      best_i = wins ? i : best_i;
    }
  }
  *best_out = best;
  return (int32_t) best_i;
}

/* The outputs [lo, hi) of a row whose windows lie inside the image across:
 * all taken together, one window tap at a time, so the loop vectorises. sw
 * is the horizontal stride. */
static inline void
max_pool_taps (const PoolGeom *g, const float *x, int64_t y0, int64_t ky_lo, int64_t ky_hi,
               int64_t lo, int64_t hi, int64_t sw, float *y, int32_t *arg)
{
  const int64_t first = (y0 + ky_lo * g->dh) * g->w - g->pl;
#pragma omp simd
  for (int64_t ox = lo; ox < hi; ox++) {
    y[ox] = x[first + ox * sw];
    arg[ox] = (int32_t) (first + ox * sw);
  }
  for (int64_t ky = ky_lo; ky < ky_hi; ky++)
    for (int64_t kx = 0; kx < g->kw; kx++) {
      const int64_t base = (y0 + ky * g->dh) * g->w - g->pl + kx * g->dw;
#pragma omp simd
      for (int64_t ox = lo; ox < hi; ox++) {
        const float v = x[base + ox * sw], best = y[ox];
        const int32_t at = (int32_t) (base + ox * sw), best_at = arg[ox];
        /* A bit mask rather than a select: GCC vectorises only this form. */
        const int32_t wins = -(int32_t) (v > best);
        y[ox] = v > best ? v : best;
        arg[ox] = best_at ^ ((at ^ best_at) & wins);
      }
    }
}

DD_VECTOR_CLONES static void
max_pool_row_interior (const PoolGeom *g, const float *x, int64_t y0, int64_t ky_lo, int64_t ky_hi,
                       int64_t lo, int64_t hi, float *y, int32_t *arg)
{
  /* Constant strides vectorise without gathers (GoogLeNet pools by 1 and 2). */
  if (g->sw == 1)
    max_pool_taps (g, x, y0, ky_lo, ky_hi, lo, hi, 1, y, arg);
  else if (g->sw == 2)
    max_pool_taps (g, x, y0, ky_lo, ky_hi, lo, hi, 2, y, arg);
  else
    max_pool_taps (g, x, y0, ky_lo, ky_hi, lo, hi, g->sw, y, arg);
}

/* Forward keeps, for each output, the offset of its winner within the input
 * plane: backward then needs neither x nor y. The first maximum in row-major
 * window order wins ties (strict >), as in PyTorch. */
static void
max_pool_forward (const DdOpCtx *c)
{
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];
  int32_t *arg_all = (int32_t *) c->saved;
  /* Outputs whose window lies inside the image horizontally. */
  int64_t lo = MIN ((g.pl + g.sw - 1) / g.sw, g.ow);
  int64_t reach = (g.kw - 1) * g.dw - g.pl;
  int64_t hi = g.w - 1 - reach < 0 ? lo : MAX (MIN ((g.w - 1 - reach) / g.sw + 1, g.ow), lo);

#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < g.oh; oy++) {
      const float *x = c->x[0] + p * g.h * g.w;
      float *y = c->y + (p * g.oh + oy) * g.ow;
      int32_t *arg = arg_all + (p * g.oh + oy) * g.ow;
      int64_t y0 = oy * g.sh - g.pt, ky_lo, ky_hi;
      tap_range (y0, g.kh, g.dh, g.h, &ky_lo, &ky_hi);
      if (ky_lo < ky_hi)
        max_pool_row_interior (&g, x, y0, ky_lo, ky_hi, lo, hi, y, arg);
      for (int64_t ox = 0; ox < g.ow; ox++)
        if (ox < lo || ox >= hi || ky_lo == ky_hi)
          arg[ox] = max_pool_cell (&g, x, y0, ky_lo, ky_hi, ox, &y[ox]);
    }
}

static void
max_pool_backward (const DdOpCtx *c)
{
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];
  const int32_t *arg_all = (const int32_t *) c->saved;
  const int64_t out_plane = g.oh * g.ow;

  if (c->gx[0] == NULL)
    return;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float *gx = c->gx[0] + p * g.h * g.w;
    const float *gy = c->gy + p * out_plane;
    const int32_t *arg = arg_all + p * out_plane;
    if (!c->gx_add[0])
      memset (gx, 0, (size_t) (g.h * g.w) * sizeof *gx);
    for (int64_t o = 0; o < out_plane; o++)
      if (arg[o] >= 0)
        gx[arg[o]] += gy[o];
  }
}

const DdOpClass dd_op_max_pool = {
  .onnx_name = "MaxPool",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = max_pool_setup,
  .infer = max_pool_infer,
  .saved_floats = pool_saved_per_output,
  .forward = max_pool_forward,
  .backward = max_pool_backward,
};

/* ---- AveragePool ------------------------------------------------------- */

static gboolean
average_pool_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  int64_t include_pad;

  if (!pool_setup_window (a, n, error))
    return FALSE;
  /* Opset 19 added dilations to AveragePool; no model we know uses them. */
  if (a->dilation[0] != 1 || a->dilation[1] != 1)
    return dd_op_fail (error,
                       "node '%s': AveragePool with dilations %" G_GINT64_FORMAT
                       "x%" G_GINT64_FORMAT " is not supported",
                       dd_node_name (n), a->dilation[0], a->dilation[1]);
  if (!dd_node_attr_int (n, "count_include_pad", 0, &include_pad, error))
    return FALSE;
  if (include_pad != 0 && include_pad != 1)
    return dd_op_fail (error, "node '%s': count_include_pad must be 0 or 1, not %" G_GINT64_FORMAT,
                       dd_node_name (n), include_pad);
  a->count_include_pad = include_pad != 0;
  return TRUE;
}

/* What a window's sum is divided by. With count_include_pad the window is
 * clipped to the padded input [-pad_begin, in + pad_end), so the part of a
 * ceil-mode window hanging past the end padding does not count (PyTorch and
 * Caffe); without it, only image cells count. Setup's pad < kernel rule keeps
 * this at least 1. */
static inline float
average_pool_divisor (const PoolGeom *g, gboolean include_pad, int64_t y0, int64_t x0)
{
  int64_t y1 = y0 + g->kh, x1 = x0 + g->kw;
  if (include_pad)
    return (float) ((MIN (y1, g->h + g->pb) - y0) * (MIN (x1, g->w + g->pr) - x0));
  return (float) ((MIN (y1, g->h) - MAX (y0, 0)) * (MIN (x1, g->w) - MAX (x0, 0)));
}

static void
average_pool_forward (const DdOpCtx *c)
{
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const gboolean include_pad = c->a->count_include_pad;
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];

#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < g.oh; oy++) {
      const float *x = c->x[0] + p * g.h * g.w;
      float *y = c->y + (p * g.oh + oy) * g.ow;
      int64_t y0 = oy * g.sh - g.pt, ky_lo, ky_hi;
      tap_range (y0, g.kh, 1, g.h, &ky_lo, &ky_hi);

      for (int64_t ox = 0; ox < g.ow; ox++) {
        int64_t x0 = ox * g.sw - g.pl, kx_lo, kx_hi;
        tap_range (x0, g.kw, 1, g.w, &kx_lo, &kx_hi);
        float sum = 0.0f;
        for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
          const float *row = x + (y0 + ky) * g.w + x0;
          for (int64_t kx = kx_lo; kx < kx_hi; kx++)
            sum += row[kx];
        }
        y[ox] = sum / average_pool_divisor (&g, include_pad, y0, x0);
      }
    }
}

static void
average_pool_backward (const DdOpCtx *c)
{
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const gboolean include_pad = c->a->count_include_pad;
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];

  if (c->gx[0] == NULL)
    return;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float *gx = c->gx[0] + p * g.h * g.w;
    const float *gy = c->gy + p * g.oh * g.ow;
    if (!c->gx_add[0])
      memset (gx, 0, (size_t) (g.h * g.w) * sizeof *gx);

    for (int64_t oy = 0; oy < g.oh; oy++) {
      int64_t y0 = oy * g.sh - g.pt, ky_lo, ky_hi;
      tap_range (y0, g.kh, 1, g.h, &ky_lo, &ky_hi);
      for (int64_t ox = 0; ox < g.ow; ox++) {
        int64_t x0 = ox * g.sw - g.pl, kx_lo, kx_hi;
        tap_range (x0, g.kw, 1, g.w, &kx_lo, &kx_hi);
        float share = gy[oy * g.ow + ox] / average_pool_divisor (&g, include_pad, y0, x0);
        for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
          float *row = gx + (y0 + ky) * g.w + x0;
          for (int64_t kx = kx_lo; kx < kx_hi; kx++)
            row[kx] += share;
        }
      }
    }
  }
}

const DdOpClass dd_op_average_pool = {
  .onnx_name = "AveragePool",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = average_pool_setup,
  .infer = pool_infer,
  .forward = average_pool_forward,
  .backward = average_pool_backward,
};

/* ---- GlobalAveragePool ------------------------------------------------- */

static gboolean
global_average_pool_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  (void) a;
  (void) n;
  (void) error;
  return TRUE;
}

/* Any rank >= 3: every axis after N and C collapses to 1. */
static gboolean
global_average_pool_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out,
                           GError **error)
{
  char buf[128];
  (void) a;
  (void) n_in;

  if (in[0].rank < 3)
    return dd_op_fail (error, "GlobalAveragePool needs an input of rank 3 or more, not %s",
                       dd_shape_format (&in[0], buf, sizeof buf));
  *out = in[0];
  for (int i = 2; i < out->rank; i++)
    out->d[i] = 1;
  if (dd_shape_numel (&in[0]) == 0)
    return dd_op_fail (error, "GlobalAveragePool of an empty input %s",
                       dd_shape_format (&in[0], buf, sizeof buf));
  return TRUE;
}

/* The mean of a whole plane: a double sum, since planes can hold a million
 * cells and a float sum would lose digits. */
static void
global_average_pool_forward (const DdOpCtx *c)
{
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];
  const int64_t size = dd_shape_numel (c->xs[0]) / planes;

#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float *x = c->x[0] + p * size;
    double sum = 0.0;
    for (int64_t i = 0; i < size; i++)
      sum += x[i];
    c->y[p] = (float) (sum / (double) size);
  }
}

static void
global_average_pool_backward (const DdOpCtx *c)
{
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];
  const int64_t size = dd_shape_numel (c->xs[0]) / planes;
  const gboolean add = c->gx_add[0];

  if (c->gx[0] == NULL)
    return;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float *gx = c->gx[0] + p * size;
    const float share = (float) (c->gy[p] / (double) size);
    if (add)
      for (int64_t i = 0; i < size; i++)
        gx[i] += share;
    else
      for (int64_t i = 0; i < size; i++)
        gx[i] = share;
  }
}

const DdOpClass dd_op_global_average_pool = {
  .onnx_name = "GlobalAveragePool",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = global_average_pool_setup,
  .infer = global_average_pool_infer,
  .forward = global_average_pool_forward,
  .backward = global_average_pool_backward,
};
