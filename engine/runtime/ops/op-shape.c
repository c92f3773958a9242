/* op-shape.c: ops that move data without arithmetic: Concat and Pad, and
 * the views Flatten, Reshape, Identity and Dropout (inference).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A view's output is its input's data under another shape: the executor
 * gives both one buffer (and one gradient), so views cost nothing to run.
 */
#include "dd-ops.h"

#include <string.h>

static int64_t
prod (const DdShape *s, int from, int to)
{
  DdShape part = { .rank = to - from };
  for (int i = from; i < to; i++)
    part.d[i - from] = s->d[i];
  return dd_shape_numel (&part);
}

/* Normalises a possibly negative axis against rank (axis == rank allowed
 * when allow_end). */
static gboolean
norm_axis (int64_t axis, int rank, gboolean allow_end, int64_t *out, GError **error)
{
  int64_t a = axis < 0 ? axis + rank : axis;
  *out = 0;
  if (a < 0 || a > rank || (a == rank && !allow_end))
    return dd_op_fail (error, "axis %" G_GINT64_FORMAT " is out of range for rank %d", axis, rank);
  *out = a;
  return TRUE;
}

typedef struct {
  float *dst;
  const float *src;
  gboolean add;
} CopyJob;

static void
copy_or_add_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const CopyJob *j = data;
  (void) slot;
  if (!j->add) {
    memcpy (j->dst + from, j->src + from, (size_t) (to - from) * sizeof *j->dst);
    return;
  }
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    j->dst[i] += j->src[i];
}

/* Copies n floats, or adds them when add is set, using every thread. */
static void
copy_or_add (float *dst, const float *src, int64_t n, gboolean add)
{
  CopyJob j = { dst, src, add };
  dd_parallel_range (n, DD_STREAM_BLOCK, 64, copy_or_add_range, &j);
}

/* ---- Views ------------------------------------------------------------------- */

static gboolean
identity_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  (void) a, (void) n_in, (void) error;
  *out = in[0];
  return TRUE;
}

const DdOpClass dd_op_identity = {
  .onnx_name = "Identity",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer = identity_infer,
  .view = TRUE,
};

static gboolean
dropout_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  const int64_t *training;
  int64_t count;
  (void) a;
  if (dd_node_has_input (n, 2) &&
      (!dd_node_const_ints (n, 2, &training, &count) || count != 1 || training[0] != 0))
    return dd_op_fail (error, "node '%s': Dropout in training mode is not supported",
                       dd_node_name (n));
  dd_node_set_data_inputs (n, 1);
  return TRUE;
}

const DdOpClass dd_op_dropout = {
  .onnx_name = "Dropout",
  .min_inputs = 1,
  .max_inputs = 3,
  .setup = dropout_setup,
  .infer = identity_infer,
  .view = TRUE,
};

static gboolean
flatten_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  return dd_node_attr_int (n, "axis", 1, &a->axis, error);
}

static gboolean
flatten_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  int64_t axis;
  (void) n_in;
  if (!norm_axis (a->axis, in[0].rank, TRUE, &axis, error))
    return FALSE;
  *out = (DdShape){ .rank = 2, .d = { prod (&in[0], 0, axis), prod (&in[0], axis, in[0].rank) } };
  return TRUE;
}

const DdOpClass dd_op_flatten = {
  .onnx_name = "Flatten",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = flatten_setup,
  .infer = flatten_infer,
  .view = TRUE,
};

static gboolean
reshape_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  int64_t allow_zero = 0, count;
  int rank;
  const int64_t *shape;

  if (!dd_node_attr_int (n, "allowzero", 0, &allow_zero, error))
    return FALSE;
  if (allow_zero)
    return dd_op_fail (error, "node '%s': Reshape with allowzero=1 is not supported",
                       dd_node_name (n));
  if (dd_node_opset (n) < 5) {
    if (!dd_node_attr_ints (n, "shape", a->reshape.d, DD_MAX_RANK, &rank, error))
      return FALSE;
    a->reshape.rank = rank;
  } else {
    if (!dd_node_const_ints (n, 1, &shape, &count))
      return dd_op_fail (error, "node '%s': Reshape needs a constant int64 shape input",
                         dd_node_name (n));
    if (count > DD_MAX_RANK)
      return dd_op_fail (
          error, "node '%s': Reshape to rank %" G_GINT64_FORMAT " is not supported (at most %d)",
          dd_node_name (n), count, DD_MAX_RANK);
    a->reshape.rank = (int) count;
    memcpy (a->reshape.d, shape, count * sizeof *shape);
  }
  dd_node_set_data_inputs (n, 1);
  return TRUE;
}

static gboolean
reshape_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char bi[96], bs[96];
  int infer_at = -1;
  int64_t known = 1;
  (void) n_in;

  *out = a->reshape;
  for (int i = 0; i < out->rank; i++) {
    if (out->d[i] == 0 && i < in[0].rank)
      out->d[i] = in[0].d[i];
    if (out->d[i] == -1 && infer_at < 0)
      infer_at = i;
    else if (out->d[i] < 1)
      return dd_op_fail (error, "cannot reshape %s to %s", dd_shape_format (&in[0], bi, sizeof bi),
                         dd_shape_format (&a->reshape, bs, sizeof bs));
    else if (__builtin_mul_overflow (known, out->d[i], &known))
      return dd_op_fail (error, "reshape target %s is too large",
                         dd_shape_format (&a->reshape, bs, sizeof bs));
  }
  if (infer_at >= 0)
    out->d[infer_at] = dd_shape_numel (&in[0]) / known;
  if (dd_shape_numel (out) != dd_shape_numel (&in[0]))
    return dd_op_fail (error, "cannot reshape %s to %s", dd_shape_format (&in[0], bi, sizeof bi),
                       dd_shape_format (&a->reshape, bs, sizeof bs));
  return TRUE;
}

const DdOpClass dd_op_reshape = {
  .onnx_name = "Reshape",
  .min_inputs = 1,
  .max_inputs = 2,
  .setup = reshape_setup,
  .infer = reshape_infer,
  .view = TRUE,
};

/* ---- Concat ------------------------------------------------------------------- */

static gboolean
concat_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  for (int i = 0; i < dd_node_n_inputs (n); i++)
    if (!dd_node_has_input (n, i))
      return dd_op_fail (error, "node '%s': Concat input %d is empty", dd_node_name (n), i);
  return dd_node_attr_int (n, "axis", G_MININT64, &a->axis, error) &&
         (a->axis != G_MININT64 ||
          dd_op_fail (error, "node '%s': Concat needs an axis", dd_node_name (n)));
}

static gboolean
concat_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  int64_t axis;
  char b0[96], bi[96];
  if (!norm_axis (a->axis, in[0].rank, FALSE, &axis, error))
    return FALSE;
  *out = in[0];
  for (int i = 1; i < n_in; i++) {
    DdShape s = in[i];
    s.d[axis] = in[0].d[axis];
    if (!dd_shape_equal (&s, &in[0]))
      return dd_op_fail (error, "inputs %s and %s do not concatenate on axis %" G_GINT64_FORMAT,
                         dd_shape_format (&in[0], b0, sizeof b0),
                         dd_shape_format (&in[i], bi, sizeof bi), a->axis);
    out->d[axis] += in[i].d[axis];
  }
  return TRUE;
}

gboolean
dd_concat_slab (const DdAttrs *a, int n_in, const DdShape *in, const DdShape *out, int i,
                int64_t *offset)
{
  int64_t axis;
  *offset = 0;
  if (i >= n_in || !norm_axis (a->axis, out->rank, FALSE, &axis, NULL))
    return FALSE;
  for (int j = 0; j < i; j++)
    *offset += prod (&in[j], axis, in[j].rank);
  return prod (out, 0, axis) == 1;
}

/* Moves every input's slab to or from its place in the output. A slab
 * that the plan placed in the output itself, or whose gradient it placed
 * in the output's gradient (dd_concat_slab), is where it belongs already. */
static void
concat_move (const DdOpCtx *c, gboolean backward)
{
  int64_t axis;
  norm_axis (c->a->axis, c->ys->rank, FALSE, &axis, NULL);
  const int64_t outer = prod (c->ys, 0, axis), out_row = prod (c->ys, axis, c->ys->rank);
  int64_t at = 0;
  for (int i = 0; i < c->n_in; i++) {
    const int64_t row = prod (c->xs[i], axis, c->xs[i]->rank);
    for (int64_t o = 0; o < outer; o++) {
      float *y = c->y + o * out_row + at;
      if (!backward) {
        if (y != c->x[i] + o * row)
          copy_or_add (y, c->x[i] + o * row, row, FALSE);
      } else if (c->gx[i] && c->gx[i] + o * row != c->gy + o * out_row + at) {
        copy_or_add (c->gx[i] + o * row, c->gy + o * out_row + at, row, c->gx_add[i]);
      }
    }
    at += row;
  }
}

static void
concat_forward (const DdOpCtx *c)
{
  concat_move (c, FALSE);
}

static void
concat_backward (const DdOpCtx *c)
{
  concat_move (c, TRUE);
}

const DdOpClass dd_op_concat = {
  .onnx_name = "Concat",
  .min_inputs = 1,
  .max_inputs = DD_MAX_INPUTS,
  .setup = concat_setup,
  .infer = concat_infer,
  .forward = concat_forward,
  .backward = concat_backward,
};

/* ---- Pad (constant mode) ---------------------------------------------------------- */

static gboolean
pad_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  const char *mode = "constant";
  int64_t count = 0;
  int count_attr;

  dd_node_attr_string (n, "mode", &mode);
  if (strcmp (mode, "constant") != 0)
    return dd_op_fail (error, "node '%s': Pad mode '%s' is not supported (only constant)",
                       dd_node_name (n), mode);
  memset (a->pad_nd, 0, sizeof a->pad_nd);
  if (dd_node_opset (n) < 11) {
    if (!dd_node_attr_ints (n, "pads", a->pad_nd, 2 * DD_MAX_RANK, &count_attr, error) ||
        !dd_node_attr_float (n, "value", 0.0f, &a->pad_value, error))
      return FALSE;
    count = count_attr;
  } else {
    const int64_t *pads;
    const float *value;
    int64_t nvalue;
    if (!dd_node_const_ints (n, 1, &pads, &count) || count > 2 * DD_MAX_RANK)
      return dd_op_fail (error, "node '%s': Pad needs constant int64 pads", dd_node_name (n));
    memcpy (a->pad_nd, pads, count * sizeof *pads);
    a->pad_value = 0.0f;
    if (dd_node_has_input (n, 2)) {
      if (!dd_node_const_floats (n, 2, &value, &nvalue) || nvalue != 1)
        return dd_op_fail (error, "node '%s': Pad's constant_value must be a constant scalar",
                           dd_node_name (n));
      a->pad_value = value[0];
    }
  }
  for (int64_t i = 0; i < count; i++)
    if (a->pad_nd[i] < 0 || a->pad_nd[i] > DD_MAX_WINDOW)
      return dd_op_fail (error,
                         "node '%s': pads must be 0 to %d (negative pads, cropping, are "
                         "not supported)",
                         dd_node_name (n), DD_MAX_WINDOW);
  /* pad_nd holds begins then ends for count / 2 axes; spread to our layout. */
  int64_t begins[DD_MAX_RANK] = { 0 }, ends[DD_MAX_RANK] = { 0 };
  a->size = count / 2;
  memcpy (begins, a->pad_nd, a->size * sizeof *begins);
  memcpy (ends, a->pad_nd + a->size, a->size * sizeof *ends);
  memcpy (a->pad_nd, begins, sizeof begins);
  memcpy (a->pad_nd + DD_MAX_RANK, ends, sizeof ends);
  dd_node_set_data_inputs (n, 1);
  return TRUE;
}

static gboolean
pad_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char b[96];
  (void) n_in;
  if (a->size != in[0].rank)
    return dd_op_fail (error, "Pad has pads for %" G_GINT64_FORMAT " axes, input %s has %d",
                       a->size, dd_shape_format (&in[0], b, sizeof b), in[0].rank);
  *out = in[0];
  for (int i = 0; i < out->rank; i++)
    out->d[i] += a->pad_nd[i] + a->pad_nd[DD_MAX_RANK + i];
  return TRUE;
}

/* Offset in the output of the first element of input row `row` (rows run
 * over every axis but the last). */
static int64_t
pad_row_offset (const DdAttrs *a, const DdShape *xs, const DdShape *ys, int64_t row)
{
  int64_t off = 0, stride = ys->d[ys->rank - 1];
  off += a->pad_nd[ys->rank - 1];
  for (int i = ys->rank - 2; i >= 0; i--) {
    off += (row % xs->d[i] + a->pad_nd[i]) * stride;
    row /= xs->d[i];
    stride *= ys->d[i];
  }
  return off;
}

static void
pad_fill_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float value = c->a->pad_value;
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    c->y[i] = value;
}

static void
pad_forward_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t inner = c->xs[0]->d[c->xs[0]->rank - 1];
  (void) slot;
  for (int64_t r = from; r < to; r++)
    memcpy (c->y + pad_row_offset (c->a, c->xs[0], c->ys, r), c->x[0] + r * inner,
            inner * sizeof *c->y);
}

/* Input rows per block: about DD_STREAM_BLOCK floats. */
static int64_t
pad_rows_block (const DdOpCtx *c)
{
  return dd_stream_items (c->xs[0]->d[c->xs[0]->rank - 1]);
}

static void
pad_forward (const DdOpCtx *c)
{
  const int64_t inner = c->xs[0]->d[c->xs[0]->rank - 1];
  const int64_t rows = dd_shape_numel (c->xs[0]) / inner;
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, pad_fill_range, (gpointer) c);
  dd_parallel_range (rows, pad_rows_block (c), 1, pad_forward_rows, (gpointer) c);
}

static void
pad_backward_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t inner = c->xs[0]->d[c->xs[0]->rank - 1];
  const gboolean add = c->gx_add[0];
  (void) slot;
  for (int64_t r = from; r < to; r++) {
    const float *gy = c->gy + pad_row_offset (c->a, c->xs[0], c->ys, r);
    float *gx = c->gx[0] + r * inner;
    for (int64_t j = 0; j < inner; j++)
      gx[j] = add ? gx[j] + gy[j] : gy[j];
  }
}

static void
pad_backward (const DdOpCtx *c)
{
  const int64_t inner = c->xs[0]->d[c->xs[0]->rank - 1];
  dd_parallel_range (dd_shape_numel (c->xs[0]) / inner, pad_rows_block (c), 1, pad_backward_rows,
                     (gpointer) c);
}

const DdOpClass dd_op_pad = {
  .onnx_name = "Pad",
  .min_inputs = 1,
  .max_inputs = 3,
  .setup = pad_setup,
  .infer = pad_infer,
  .forward = pad_forward,
  .backward = pad_backward,
};
