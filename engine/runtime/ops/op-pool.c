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

/* ---- MaxPool ----------------------------------------------------------- */

/* Forward keeps, for each output, its winner's place in the window, ky *
 * kw + kx, in a byte: a quarter of the memory and traffic of an offset into
 * the plane. NO_WINNER marks a window of padding only. */
#define NO_WINNER 255

static gboolean
max_pool_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  if (!pool_setup_window (a, n, error))
    return FALSE;
  if (a->kernel[0] * a->kernel[1] >= NO_WINNER)
    return dd_op_fail (error,
                       "node '%s': a %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                       " MaxPool window has more than the %d places supported",
                       dd_node_name (n), a->kernel[0], a->kernel[1], NO_WINNER - 1);
  return TRUE;
}

static gsize
max_pool_saved_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  (void) a;
  (void) in;
  return (dd_shape_numel (out) + sizeof (float) - 1) / sizeof (float);
}

/* A thread's horizontal maxima for one band of output rows: about 128 KB
 * of values and as much of window columns, in cache for the vertical pass. */
#define BAND_CELLS (1 << 15)
/* Input rows ahead of the row pass whose lines are fetched into cache. The
 * stride-2 pools read inputs of 24-50 MB straight from memory, and the
 * hardware prefetcher alone kept too few lines in flight: GoogLeNet's
 * pool1 to pool3 at 1024x768 took 4.8, 3.2 and 2.0 ms a step without, 3.7,
 * 2.3 and 1.5 with 8 rows (2 rows: 3.7, 2.4, 1.7). */
#define POOL_AHEAD 8

/* Input rows that `rows` output rows read, padding included. */
static int64_t
band_input_rows (const PoolGeom *g, int64_t rows)
{
  return (rows - 1) * g->sh + (g->kh - 1) * g->dh + 1;
}

/* Output rows per band, and the input rows a band keeps maxima for. */
static int64_t
max_pool_band (const PoolGeom *g, int64_t *kept_rows)
{
  const int64_t span = band_input_rows (g, 1);
  int64_t rows = CLAMP ((BAND_CELLS / MAX (g->ow, 1) - span) / g->sh + 1, 1, g->oh);
  *kept_rows = MIN (band_input_rows (g, rows), g->h);
  return rows;
}

/* The rows and columns of a plane with its padding around, wide enough
 * that every window lies inside: where a stride-1 backward gathers its
 * gradient (max_pool_backward_plane). */
static void
max_pool_padded_plane (const PoolGeom *g, int64_t *rows, int64_t *cols)
{
  *rows = MAX (g->h + g->pt, (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1);
  *cols = MAX (g->w + g->pl, (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1);
}

static gsize
max_pool_work_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  const PoolGeom g = pool_geom (a, in, out);
  int64_t kept, rows = 0, cols = 0;
  max_pool_band (&g, &kept);
  if (g.sw == 1)
    max_pool_padded_plane (&g, &rows, &cols);
  return dd_thread_slots () * MAX ((2 * kept + 1) * g.ow, rows * cols);
}

/* Horizontal maxima of the outputs [lo, hi) whose windows lie inside the
 * row: one window tap at a time over all of them, so the loop vectorises
 * (sw, the stride, is a constant in the calls below). */
static inline void
max_pool_h_taps (const PoolGeom *g, const float *src, int64_t lo, int64_t hi, int64_t sw, float *hv,
                 int32_t *ha)
{
#pragma omp simd
  for (int64_t ox = lo; ox < hi; ox++) {
    hv[ox] = src[ox * sw - g->pl];
    ha[ox] = 0;
  }
  for (int32_t kx = 1; kx < g->kw; kx++) {
    const int64_t base = kx * g->dw - g->pl;
#pragma omp simd
    for (int64_t ox = lo; ox < hi; ox++) {
      const float v = src[base + ox * sw], best = hv[ox];
      const int32_t best_kx = ha[ox];
      /* A bit mask rather than a select: GCC vectorises only this form. */
      const int32_t wins = -(int32_t) (v > best);
      hv[ox] = v > best ? v : best;
      ha[ox] = best_kx ^ ((kx ^ best_kx) & wins);
    }
  }
}

/* The same as max_pool_h_taps for the outputs [from, to) whose windows
 * reach past the row's ends: the first image cell starts the search, so a
 * -inf input still wins a place; a window of padding only (possible only
 * when dilated) gets column -1. Each tap is tested rather than the range
 * found by tap_range: its two divisions, for the two or three edge outputs
 * of every row, cost a third to a half of the row's vectorised taps. */
static void
max_pool_h_edge (const PoolGeom *g, const float *src, int64_t from, int64_t to, float *hv,
                 int32_t *ha)
{
  for (int64_t ox = from; ox < to; ox++) {
    const int64_t x0 = ox * g->sw - g->pl;
    int32_t best = -1;
    float v = 0.0f;
    for (int32_t kx = 0; kx < g->kw; kx++) {
      const int64_t ix = x0 + kx * g->dw;
      if (ix >= 0 && ix < g->w && (best < 0 || src[ix] > v)) {
        v = src[ix];
        best = kx;
      }
    }
    hv[ox] = v;
    ha[ox] = best;
  }
}

/* For every output column, the maximum of its window's taps in one input
 * row and the window column it came from, the first of equal values (-1
 * when the window holds padding only across). [lo, hi):
 * the outputs whose windows lie inside the row. */
DD_VECTOR_CLONES static void
max_pool_row_h (const PoolGeom *g, const float *src, int64_t lo, int64_t hi, float *hv, int32_t *ha)
{
  if (g->sw == 1) /* constant strides vectorise without gathers */
    max_pool_h_taps (g, src, lo, hi, 1, hv, ha);
  else if (g->sw == 2)
    max_pool_h_taps (g, src, lo, hi, 2, hv, ha);
  else
    max_pool_h_taps (g, src, lo, hi, g->sw, hv, ha);
  max_pool_h_edge (g, src, 0, lo, hv, ha);
  max_pool_h_edge (g, src, hi, g->ow, hv, ha);
}

/* Output row oy from the horizontal maxima of the input rows from `first`
 * on (row stride ow): the first row holding the largest value wins, so
 * with the column rule above the winner is the first maximum in row-major
 * window order, as in PyTorch. The winners' places are gathered in `best`,
 * ow ints, and written to arg as bytes at the end. empty_across: whether
 * some window holds padding only across (ha < 0). */
DD_VECTOR_CLONES static void
max_pool_row_v (const PoolGeom *g, const float *hv, const int32_t *ha, int64_t first, int64_t oy,
                gboolean empty_across, int32_t *best, float *y, guint8 *arg)
{
  int64_t y0 = oy * g->sh - g->pt, ky_lo, ky_hi;
  tap_range (y0, g->kh, g->dh, g->h, &ky_lo, &ky_hi);
  for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
    const int64_t iy = y0 + ky * g->dh;
    const float *v = hv + (iy - first) * g->ow;
    const int32_t *kx = ha + (iy - first) * g->ow, row = (int32_t) (ky * g->kw);
    if (ky == ky_lo) {
#pragma omp simd
      for (int64_t ox = 0; ox < g->ow; ox++) {
        y[ox] = v[ox];
        best[ox] = row + kx[ox];
      }
      continue;
    }
#pragma omp simd
    for (int64_t ox = 0; ox < g->ow; ox++) {
      const int32_t wins = -(int32_t) (v[ox] > y[ox]), best_at = best[ox];
      y[ox] = v[ox] > y[ox] ? v[ox] : y[ox];
      best[ox] = best_at ^ (((row + kx[ox]) ^ best_at) & wins);
    }
  }
#pragma omp simd
  for (int64_t ox = 0; ox < g->ow; ox++)
    arg[ox] = (guint8) best[ox];
  /* Windows of padding only, down or across: no winner. */
  if (ky_lo == ky_hi || empty_across)
    for (int64_t ox = 0; ox < g->ow; ox++)
      if (ky_lo == ky_hi || ha[ox] < 0) {
        y[ox] = 0.0f;
        arg[ox] = NO_WINNER;
      }
}

/* One MaxPool forward call, shared out by band of output rows. */
typedef struct {
  const DdOpCtx *c;
  PoolGeom g;
  int64_t kept, band, bands, lo, hi;
  gboolean empty_across;
} MaxPoolJob;

static void
max_pool_forward_band (gpointer data, int64_t chunk, int slot)
{
  const MaxPoolJob *j = data;
  const PoolGeom *g = &j->g;
  float *hv = j->c->work + slot * (2 * j->kept + 1) * g->ow;
  int32_t *ha = (int32_t *) (hv + j->kept * g->ow), *best = ha + j->kept * g->ow;
  const int64_t p = chunk / j->bands, b = chunk % j->bands;
  const float *x = j->c->x[0] + p * g->h * g->w;
  const int64_t r0 = b * j->band, r1 = MIN (r0 + j->band, g->oh);
  const int64_t first = MAX (r0 * g->sh - g->pt, 0);
  const int64_t last = MIN ((r1 - 1) * g->sh - g->pt + (g->kh - 1) * g->dh, g->h - 1);
  for (int64_t iy = first; iy <= last; iy++) {
    if (iy + POOL_AHEAD <= last)
      for (int64_t ix = 0; ix < g->w; ix += 16)
        __builtin_prefetch (x + (iy + POOL_AHEAD) * g->w + ix);
    max_pool_row_h (g, x + iy * g->w, j->lo, j->hi, hv + (iy - first) * g->ow,
                    ha + (iy - first) * g->ow);
  }
  for (int64_t oy = r0; oy < r1; oy++)
    max_pool_row_v (g, hv, ha, first, oy, j->empty_across, best, j->c->y + (p * g->oh + oy) * g->ow,
                    (guint8 *) j->c->saved + (p * g->oh + oy) * g->ow);
}

/* Forward keeps, for each output, its winner's place in the window:
 * backward then needs neither x nor y. The window is separable: the
 * maxima along each input row first, then down the rows, which for a 3x3
 * stride-1 pool takes 4 comparisons an output instead of 8. A thread takes
 * a band of output rows of one plane and keeps the band's row maxima in
 * its work buffer. */
static void
max_pool_forward (const DdOpCtx *c)
{
  MaxPoolJob j = { .c = c, .g = pool_geom (c->a, c->xs[0], c->ys) };
  const PoolGeom *g = &j.g;
  const int64_t planes = c->xs[0]->d[0] * c->xs[0]->d[1];
  j.band = max_pool_band (g, &j.kept);
  j.bands = (g->oh + j.band - 1) / j.band;
  /* Outputs whose window lies inside the image horizontally. */
  j.lo = MIN ((g->pl + g->sw - 1) / g->sw, g->ow);
  const int64_t reach = (g->kw - 1) * g->dw - g->pl;
  j.hi = g->w - 1 - reach < 0 ? j.lo : MAX (MIN ((g->w - 1 - reach) / g->sw + 1, g->ow), j.lo);
  for (int64_t ox = 0, kx_lo, kx_hi; ox < g->ow; ox++) {
    tap_range (ox * g->sw - g->pl, g->kw, g->dw, g->w, &kx_lo, &kx_hi);
    j.empty_across |= kx_lo == kx_hi;
  }
  dd_parallel (planes * j.bands, max_pool_forward_band, &j);
}

typedef struct {
  const DdOpCtx *c;
  PoolGeom g;
  int64_t place[NO_WINNER]; /* each window place's offset from its corner */
} MaxPoolBackJob;

/* Output row oy's gradient into the padded plane (cols wide), for stride
 * 1 across: one pass over the row for each window place, adding gy where
 * that place won, so the loop vectorises; in the padded plane every
 * window lies inside, so the passes need no bounds. The outputs past the
 * last whole 16 are scattered instead, one add each: in the passes they
 * ran one place at a time without vectors, kh * kw times over, and at
 * widths that are not a multiple of 16 (GoogLeNet's inception pools at
 * 46 and 92 outputs for a 731x548 picture) the pass took 3 times as long
 * an output as at 1024x768's 64 and 128. */
DD_VECTOR_CLONES static void
max_pool_row_backward_s1 (const PoolGeom *g, const float *gy, const guint8 *arg, int64_t oy,
                          int64_t cols, float *padded)
{
  const int64_t whole = g->ow / 16 * 16;
  float *top = padded + oy * g->sh * cols;
  for (int64_t ky = 0; ky < g->kh; ky++) {
    float *row = top + ky * g->dh * cols;
    for (int64_t kx = 0; kx < g->kw; kx++) {
      const int64_t shift = kx * g->dw;
      const guint8 place = (guint8) (ky * g->kw + kx);
#pragma omp simd
      for (int64_t ox = 0; ox < whole; ox++)
        row[ox + shift] += arg[ox] == place ? gy[ox] : 0.0f;
    }
  }
  for (int64_t ox = whole; ox < g->ow; ox++)
    if (arg[ox] != NO_WINNER)
      top[arg[ox] / g->kw * g->dh * cols + arg[ox] % g->kw * g->dw + ox] += gy[ox];
}

/* A plane's gradient with stride 1 across, gathered in the slot's padded
 * plane and then moved into gx. */
static void
max_pool_backward_plane_s1 (const MaxPoolBackJob *j, const float *gy, const guint8 *arg, float *gx,
                            int slot)
{
  const PoolGeom *g = &j->g;
  int64_t rows, cols;
  max_pool_padded_plane (g, &rows, &cols);
  float *padded = j->c->work + slot * rows * cols;
  memset (padded, 0, (size_t) (rows * cols) * sizeof *padded);
  for (int64_t oy = 0; oy < g->oh; oy++)
    max_pool_row_backward_s1 (g, gy + oy * g->ow, arg + oy * g->ow, oy, cols, padded);
  for (int64_t iy = 0; iy < g->h; iy++) {
    const float *from = padded + (iy + g->pt) * cols + g->pl;
    float *to = gx + iy * g->w;
    if (j->c->gx_add[0])
      for (int64_t ix = 0; ix < g->w; ix++)
        to[ix] += from[ix];
    else
      memcpy (to, from, (size_t) g->w * sizeof *to);
  }
}

static void
max_pool_backward_plane (gpointer data, int64_t p, int slot)
{
  const MaxPoolBackJob *j = data;
  const PoolGeom *g = &j->g;
  const int64_t out_plane = g->oh * g->ow;
  float *gx = j->c->gx[0] + p * g->h * g->w;
  const float *gy = j->c->gy + p * out_plane;
  const guint8 *arg = (const guint8 *) j->c->saved + p * out_plane;
  if (g->sw == 1) {
    max_pool_backward_plane_s1 (j, gy, arg, gx, slot);
    return;
  }
  if (!j->c->gx_add[0])
    memset (gx, 0, (size_t) (g->h * g->w) * sizeof *gx);
  for (int64_t oy = 0; oy < g->oh; oy++) {
    const int64_t corner = (oy * g->sh - g->pt) * g->w - g->pl;
    for (int64_t ox = 0, o = oy * g->ow; ox < g->ow; ox++, o++)
      if (arg[o] != NO_WINNER)
        gx[corner + ox * g->sw + j->place[arg[o]]] += gy[o];
  }
}

static void
max_pool_backward (const DdOpCtx *c)
{
  MaxPoolBackJob j = { .c = c, .g = pool_geom (c->a, c->xs[0], c->ys) };
  if (c->gx[0] == NULL)
    return;
  for (int64_t i = 0; i < j.g.kh * j.g.kw; i++)
    j.place[i] = i / j.g.kw * j.g.dh * j.g.w + i % j.g.kw * j.g.dw;
  dd_parallel (c->xs[0]->d[0] * c->xs[0]->d[1], max_pool_backward_plane, &j);
}

const DdOpClass dd_op_max_pool = {
  .onnx_name = "MaxPool",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = max_pool_setup,
  .infer = pool_infer,
  .saved_floats = max_pool_saved_floats,
  .work_floats = max_pool_work_floats,
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

/* Output rows (over every plane) of an AveragePool forward. */
static void
average_pool_forward_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const gboolean include_pad = c->a->count_include_pad;
  (void) slot;
  for (int64_t row = from; row < to; row++) {
    const int64_t p = row / g.oh, oy = row % g.oh;
    const float *x = c->x[0] + p * g.h * g.w;
    float *y = c->y + row * g.ow;
    int64_t y0 = oy * g.sh - g.pt, ky_lo, ky_hi;
    tap_range (y0, g.kh, 1, g.h, &ky_lo, &ky_hi);

    for (int64_t ox = 0; ox < g.ow; ox++) {
      int64_t x0 = ox * g.sw - g.pl, kx_lo, kx_hi;
      tap_range (x0, g.kw, 1, g.w, &kx_lo, &kx_hi);
      float sum = 0.0f;
      for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
        const float *in = x + (y0 + ky) * g.w + x0;
        for (int64_t kx = kx_lo; kx < kx_hi; kx++)
          sum += in[kx];
      }
      y[ox] = sum / average_pool_divisor (&g, include_pad, y0, x0);
    }
  }
}

static void
average_pool_forward (const DdOpCtx *c)
{
  const int64_t rows = c->xs[0]->d[0] * c->xs[0]->d[1] * c->ys->d[2];
  dd_parallel_range (rows, dd_stream_items (c->ys->d[3]), 1, average_pool_forward_rows,
                     (gpointer) c);
}

/* One plane of an AveragePool backward: windows overlap, so a plane
 * belongs to one thread. */
static void
average_pool_backward_plane (gpointer data, int64_t p, int slot)
{
  const DdOpCtx *c = data;
  const PoolGeom g = pool_geom (c->a, c->xs[0], c->ys);
  const gboolean include_pad = c->a->count_include_pad;
  float *gx = c->gx[0] + p * g.h * g.w;
  const float *gy = c->gy + p * g.oh * g.ow;
  (void) slot;
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

static void
average_pool_backward (const DdOpCtx *c)
{
  if (c->gx[0] == NULL)
    return;
  dd_parallel (c->xs[0]->d[0] * c->xs[0]->d[1], average_pool_backward_plane, (gpointer) c);
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
global_average_pool_forward_planes (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t size = dd_shape_numel (c->xs[0]) / (c->xs[0]->d[0] * c->xs[0]->d[1]);
  (void) slot;
  for (int64_t p = from; p < to; p++) {
    const float *x = c->x[0] + p * size;
    double sum = 0.0;
    for (int64_t i = 0; i < size; i++)
      sum += x[i];
    c->y[p] = (float) (sum / (double) size);
  }
}

static void
global_average_pool_forward (const DdOpCtx *c)
{
  dd_parallel_range (c->xs[0]->d[0] * c->xs[0]->d[1], dd_stream_planes (c->xs[0]), 1,
                     global_average_pool_forward_planes, (gpointer) c);
}

static void
global_average_pool_backward_planes (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t size = dd_shape_numel (c->xs[0]) / (c->xs[0]->d[0] * c->xs[0]->d[1]);
  const gboolean add = c->gx_add[0];
  (void) slot;
  for (int64_t p = from; p < to; p++) {
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

static void
global_average_pool_backward (const DdOpCtx *c)
{
  if (c->gx[0] == NULL)
    return;
  dd_parallel_range (c->xs[0]->d[0] * c->xs[0]->d[1], dd_stream_planes (c->xs[0]), 1,
                     global_average_pool_backward_planes, (gpointer) c);
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
