/* op-softmax.c: Softmax, forward and backward.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Before opset 13 Softmax flattens its input to 2-D at axis (default 1) and
 * normalises each row of prod(d[axis..]) values; from opset 13 on it
 * normalises along the one axis (default -1). Both are a softmax over groups
 * of `len` values spaced `inner` apart, in `outer` blocks:
 *   legacy:  outer = prod(d[..axis)), len = prod(d[axis..]), inner = 1
 *   opset13: outer = prod(d[..axis)), len = d[axis], inner = prod(d[axis+1..])
 */
#include "dd-ops.h"

#include <math.h>

/* Positions per block when groups are strided (inner > 1). */
#define SOFTMAX_BLOCK 128

typedef struct {
  int64_t outer, len, inner;
} SoftmaxGeom;

static gboolean
softmax_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  a->legacy_softmax = dd_node_opset (n) < 13;
  return dd_node_attr_int (n, "axis", a->legacy_softmax ? 1 : -1, &a->axis, error);
}

static gboolean
softmax_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char buf[128];
  (void) n_in;

  if (in[0].rank < 1 || a->axis < -in[0].rank || a->axis >= in[0].rank)
    return dd_op_fail (error, "Softmax axis %" G_GINT64_FORMAT " is out of range for the input %s",
                       a->axis, dd_shape_format (&in[0], buf, sizeof buf));
  *out = in[0];
  return TRUE;
}

static SoftmaxGeom
softmax_geom (const DdAttrs *a, const DdShape *s)
{
  const int axis = (int) (a->axis < 0 ? a->axis + s->rank : a->axis);
  SoftmaxGeom g = { 1, 1, 1 };

  for (int i = 0; i < s->rank; i++) {
    if (i < axis)
      g.outer *= s->d[i];
    else if (i == axis || a->legacy_softmax)
      g.len *= s->d[i];
    else
      g.inner *= s->d[i];
  }
  return g;
}

/* One contiguous group: the common case (a row of class scores). */
static void
softmax_row (const float *x, float *y, int64_t len)
{
  float max = -INFINITY;
  for (int64_t i = 0; i < len; i++)
    max = fmaxf (max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < len; i++) {
    y[i] = expf (x[i] - max);
    sum += y[i];
  }
  const float inv = (float) (1.0 / sum);
  for (int64_t i = 0; i < len; i++)
    y[i] *= inv;
}

/* count groups side by side, each of len values spaced inner apart: the
 * loops run along the contiguous positions so they vectorise. */
static void
softmax_strided (const float *x, float *y, int64_t len, int64_t inner, int64_t count)
{
  float max[SOFTMAX_BLOCK];
  double sum[SOFTMAX_BLOCK];

  for (int64_t k = 0; k < count; k++) {
    max[k] = -INFINITY;
    sum[k] = 0.0;
  }
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < count; k++)
      max[k] = fmaxf (max[k], x[i * inner + k]);
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < count; k++) {
      y[i * inner + k] = expf (x[i * inner + k] - max[k]);
      sum[k] += y[i * inner + k];
    }
  for (int64_t k = 0; k < count; k++)
    max[k] = (float) (1.0 / sum[k]); /* reused as the scale */
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < count; k++)
      y[i * inner + k] *= max[k];
}

static void
softmax_forward (const DdOpCtx *c)
{
  const SoftmaxGeom g = softmax_geom (c->a, c->xs[0]);
  const int64_t blocks = (g.inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK;

  if (g.inner == 1) {
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < g.outer; o++)
      softmax_row (c->x[0] + o * g.len, c->y + o * g.len, g.len);
    return;
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < g.outer; o++)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t base = o * g.len * g.inner + b * SOFTMAX_BLOCK;
      softmax_strided (c->x[0] + base, c->y + base, g.len, g.inner,
                       MIN (SOFTMAX_BLOCK, g.inner - b * SOFTMAX_BLOCK));
    }
}

/* gx = y * (gy - sum(gy * y)) over each group, overwriting or adding. */
static void
softmax_backward_row (const float *y, const float *gy, float *gx, int64_t len, gboolean add)
{
  double dot = 0.0;
  for (int64_t i = 0; i < len; i++)
    dot += (double) gy[i] * y[i];
  const float d = (float) dot;
  if (add)
    for (int64_t i = 0; i < len; i++)
      gx[i] += y[i] * (gy[i] - d);
  else
    for (int64_t i = 0; i < len; i++)
      gx[i] = y[i] * (gy[i] - d);
}

static void
softmax_backward_strided (const float *y, const float *gy, float *gx, int64_t len, int64_t inner,
                          int64_t count, gboolean add)
{
  double dot[SOFTMAX_BLOCK];
  float d[SOFTMAX_BLOCK];

  for (int64_t k = 0; k < count; k++)
    dot[k] = 0.0;
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < count; k++)
      dot[k] += (double) gy[i * inner + k] * y[i * inner + k];
  for (int64_t k = 0; k < count; k++)
    d[k] = (float) dot[k];
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < count; k++) {
      const int64_t j = i * inner + k;
      const float v = y[j] * (gy[j] - d[k]);
      gx[j] = add ? gx[j] + v : v;
    }
}

static void
softmax_backward (const DdOpCtx *c)
{
  const SoftmaxGeom g = softmax_geom (c->a, c->ys);
  const int64_t blocks = (g.inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK;
  const gboolean add = c->gx_add[0];

  if (c->gx[0] == NULL)
    return;
  if (g.inner == 1) {
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < g.outer; o++)
      softmax_backward_row (c->y + o * g.len, c->gy + o * g.len, c->gx[0] + o * g.len, g.len, add);
    return;
  }
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < g.outer; o++)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t base = o * g.len * g.inner + b * SOFTMAX_BLOCK;
      softmax_backward_strided (c->y + base, c->gy + base, c->gx[0] + base, g.len, g.inner,
                                MIN (SOFTMAX_BLOCK, g.inner - b * SOFTMAX_BLOCK), add);
    }
}

const DdOpClass dd_op_softmax = {
  .onnx_name = "Softmax",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = softmax_setup,
  .infer = softmax_infer,
  .forward = softmax_forward,
  .backward = softmax_backward,
  .backward_reads_output = TRUE,
};
