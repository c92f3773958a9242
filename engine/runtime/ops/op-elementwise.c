/* op-elementwise.c: Add and Mul with broadcasting, BatchNormalization.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Broadcasting follows numpy: shapes align at the right, and a dimension of
 * 1 (or a missing one) repeats. Each input gets a stride per output axis,
 * 0 where it repeats; loops walk the output one innermost row at a time.
 * The gradient of a repeated input is the sum over its repeats.
 */
#include "dd-ops.h"

#include <math.h>
#include <string.h>

typedef struct {
  int rank;
  int64_t d[DD_MAX_RANK];
  int64_t stride[2][DD_MAX_RANK];
  gboolean full[2]; /* input i has the output's shape */
} Broadcast;

static gboolean
broadcast_shape (const DdShape *a, const DdShape *b, DdShape *out, GError **error)
{
  char ba[96], bb[96];
  out->rank = MAX (a->rank, b->rank);
  for (int i = 0; i < out->rank; i++) {
    int ia = i - (out->rank - a->rank), ib = i - (out->rank - b->rank);
    int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return dd_op_fail (error, "shapes %s and %s do not broadcast",
                         dd_shape_format (a, ba, sizeof ba), dd_shape_format (b, bb, sizeof bb));
    out->d[i] = da == 1 ? db : da;
  }
  return TRUE;
}

static Broadcast
broadcast_plan (const DdShape *a, const DdShape *b, const DdShape *out)
{
  Broadcast bc = { .rank = out->rank };
  const DdShape *in[2] = { a, b };
  memcpy (bc.d, out->d, sizeof bc.d);
  for (int k = 0; k < 2; k++) {
    int64_t stride = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
      int j = i - (out->rank - in[k]->rank);
      int64_t dim = j >= 0 ? in[k]->d[j] : 1;
      bc.stride[k][i] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
    bc.full[k] = dd_shape_equal (in[k], out);
  }
  return bc;
}

/* Offset in input k of the first element of output row `row` (rows run
 * over every axis but the last). */
static int64_t
row_offset (const Broadcast *bc, int k, int64_t row)
{
  int64_t off = 0;
  for (int i = bc->rank - 2; i >= 0; i--) {
    off += row % bc->d[i] * bc->stride[k][i];
    row /= bc->d[i];
  }
  return off;
}

static gboolean
binary_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  (void) a, (void) n_in;
  return broadcast_shape (&in[0], &in[1], out, error);
}

/* One Add or Mul call, forward or to input k, shared out in ranges of
 * elements (both inputs full) or of output rows. */
typedef struct {
  const DdOpCtx *c;
  Broadcast bc;
  int64_t inner;
  int k;
  gboolean mul;
} Binary;

static void
binary_forward_full (gpointer data, int64_t from, int64_t to, int slot)
{
  const Binary *b = data;
  const float *x0 = b->c->x[0], *x1 = b->c->x[1];
  float *y = b->c->y;
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    y[i] = b->mul ? x0[i] * x1[i] : x0[i] + x1[i];
}

static void
binary_forward_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const Binary *b = data;
  const Broadcast *bc = &b->bc;
  const int64_t s0 = bc->rank ? bc->stride[0][bc->rank - 1] : 0;
  const int64_t s1 = bc->rank ? bc->stride[1][bc->rank - 1] : 0;
  (void) slot;
  for (int64_t r = from; r < to; r++) {
    const float *x0 = b->c->x[0] + row_offset (bc, 0, r), *x1 = b->c->x[1] + row_offset (bc, 1, r);
    float *out = b->c->y + r * b->inner;
    for (int64_t j = 0; j < b->inner; j++)
      out[j] = b->mul ? x0[j * s0] * x1[j * s1] : x0[j * s0] + x1[j * s1];
  }
}

/* y = x0 + x1 or x0 * x1. */
static void
binary_forward (const DdOpCtx *c, gboolean mul)
{
  Binary b = { .c = c, .bc = broadcast_plan (c->xs[0], c->xs[1], c->ys), .mul = mul };
  const int64_t n = dd_shape_numel (c->ys);
  if (b.bc.full[0] && b.bc.full[1]) {
    dd_parallel_range (n, DD_STREAM_BLOCK, 64, binary_forward_full, &b);
    return;
  }
  b.inner = b.bc.rank ? b.bc.d[b.bc.rank - 1] : 1;
  dd_parallel_range (n / b.inner, dd_stream_items (b.inner), 1, binary_forward_rows, &b);
}

static void
binary_backward_full (gpointer data, int64_t from, int64_t to, int slot)
{
  const Binary *b = data;
  const float *gy = b->c->gy, *other = b->mul ? b->c->x[1 - b->k] : NULL;
  float *gx = b->c->gx[b->k];
  const gboolean add = b->c->gx_add[b->k];
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++) {
    float v = b->mul ? gy[i] * other[i] : gy[i];
    gx[i] = add ? gx[i] + v : v;
  }
}

/* Only the other input repeats: rows are disjoint. */
static void
binary_backward_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const Binary *b = data;
  const Broadcast *bc = &b->bc;
  const int64_t so = bc->rank ? bc->stride[1 - b->k][bc->rank - 1] : 0, inner = b->inner;
  const float *gy = b->c->gy;
  float *gx = b->c->gx[b->k];
  (void) slot;
  for (int64_t r = from; r < to; r++) {
    const float *o = b->c->x[1 - b->k] + row_offset (bc, 1 - b->k, r);
    for (int64_t j = 0; j < inner; j++)
      gx[r * inner + j] += gy[r * inner + j] * o[j * so];
  }
}

/* Gradient to input k: gy (times the other input for Mul), summed over
 * the axes along which input k repeats. */
static void
binary_backward_input (const DdOpCtx *c, const Broadcast *bc, int k, gboolean mul)
{
  Binary b = { .c = c, .bc = *bc, .k = k, .mul = mul };
  float *gx = c->gx[k];
  const float *gy = c->gy, *other = mul ? c->x[1 - k] : NULL;
  const int64_t n = dd_shape_numel (c->ys);

  if (bc->full[k] && (!mul || bc->full[1 - k])) {
    dd_parallel_range (n, DD_STREAM_BLOCK, 64, binary_backward_full, &b);
    return;
  }
  const int64_t inner = bc->rank ? bc->d[bc->rank - 1] : 1, rows = n / inner;
  const int64_t sk = bc->rank ? bc->stride[k][bc->rank - 1] : 0;
  const int64_t so = bc->rank ? bc->stride[1 - k][bc->rank - 1] : 0;
  if (!c->gx_add[k])
    memset (gx, 0, dd_shape_numel (c->xs[k]) * sizeof *gx);
  if (bc->full[k]) {
    b.inner = inner;
    dd_parallel_range (rows, dd_stream_items (inner), 1, binary_backward_rows, &b);
    return;
  }
  /* Input k repeats: rows add into the same elements, in order. */
  for (int64_t r = 0; r < rows; r++) {
    float *g = gx + row_offset (bc, k, r);
    const float *o = mul ? other + row_offset (bc, 1 - k, r) : NULL;
    for (int64_t j = 0; j < inner; j++)
      g[j * sk] += mul ? gy[r * inner + j] * o[j * so] : gy[r * inner + j];
  }
}

static void
binary_backward (const DdOpCtx *c, gboolean mul)
{
  Broadcast bc = broadcast_plan (c->xs[0], c->xs[1], c->ys);
  for (int k = 0; k < 2; k++)
    if (c->gx[k])
      binary_backward_input (c, &bc, k, mul);
}

static void
add_forward (const DdOpCtx *c)
{
  binary_forward (c, FALSE);
}

static void
add_backward (const DdOpCtx *c)
{
  binary_backward (c, FALSE);
}

static void
mul_forward (const DdOpCtx *c)
{
  binary_forward (c, TRUE);
}

static void
mul_backward (const DdOpCtx *c)
{
  binary_backward (c, TRUE);
}

const DdOpClass dd_op_add = {
  .onnx_name = "Add",
  .min_inputs = 2,
  .max_inputs = 2,
  .infer = binary_infer,
  .forward = add_forward,
  .backward = add_backward,
};

const DdOpClass dd_op_mul = {
  .onnx_name = "Mul",
  .min_inputs = 2,
  .max_inputs = 2,
  .infer = binary_infer,
  .forward = mul_forward,
  .backward = mul_backward,
  .backward_reads_inputs = 3,
};

/* ---- BatchNormalization (inference) --------------------------------------------- */

static gboolean
batch_norm_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  int64_t training = 0;
  if (!dd_node_attr_float (n, "epsilon", 1e-5f, &a->epsilon, error) ||
      !dd_node_attr_int (n, "training_mode", 0, &training, error))
    return FALSE;
  if (training)
    return dd_op_fail (error, "node '%s': BatchNormalization in training mode is not supported",
                       dd_node_name (n));
  for (int i = 1; i < 5; i++)
    dd_node_require_const (n, i);
  return TRUE;
}

static gboolean
batch_norm_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char b[96];
  (void) a, (void) n_in;
  if (in[0].rank < 2)
    return dd_op_fail (error, "input %s has no channel axis",
                       dd_shape_format (&in[0], b, sizeof b));
  for (int i = 1; i < 5; i++)
    if (in[i].rank != 1 || in[i].d[0] != in[0].d[1])
      return dd_op_fail (error, "parameter %d has shape %s, %" G_GINT64_FORMAT " channels needed",
                         i, dd_shape_format (&in[i], b, sizeof b), in[0].d[1]);
  *out = in[0];
  return TRUE;
}

/* y = x * scale_c + shift_c per channel. */
static void
batch_norm_coefficients (const DdOpCtx *c, int64_t ch, float *scale, float *shift)
{
  *scale = c->x[1][ch] / sqrtf (c->x[4][ch] + c->a->epsilon);
  *shift = c->x[2][ch] - c->x[3][ch] * *scale;
}

static void
batch_norm_forward_planes (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t channels = c->xs[0]->d[1];
  const int64_t plane = dd_shape_numel (c->xs[0]) / (c->xs[0]->d[0] * channels);
  (void) slot;
  for (int64_t p = from; p < to; p++) {
    float scale, shift;
    batch_norm_coefficients (c, p % channels, &scale, &shift);
    const float *x = c->x[0] + p * plane;
    float *y = c->y + p * plane;
    for (int64_t i = 0; i < plane; i++)
      y[i] = x[i] * scale + shift;
  }
}

static void
batch_norm_forward (const DdOpCtx *c)
{
  dd_parallel_range (c->xs[0]->d[0] * c->xs[0]->d[1], dd_stream_planes (c->xs[0]), 1,
                     batch_norm_forward_planes, (gpointer) c);
}

static void
batch_norm_backward_planes (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const int64_t channels = c->xs[0]->d[1];
  const int64_t plane = dd_shape_numel (c->xs[0]) / (c->xs[0]->d[0] * channels);
  const gboolean add = c->gx_add[0];
  (void) slot;
  for (int64_t p = from; p < to; p++) {
    float scale, shift;
    batch_norm_coefficients (c, p % channels, &scale, &shift);
    const float *gy = c->gy + p * plane;
    float *gx = c->gx[0] + p * plane;
    for (int64_t i = 0; i < plane; i++)
      gx[i] = add ? gx[i] + gy[i] * scale : gy[i] * scale;
  }
}

static void
batch_norm_backward (const DdOpCtx *c)
{
  dd_parallel_range (c->xs[0]->d[0] * c->xs[0]->d[1], dd_stream_planes (c->xs[0]), 1,
                     batch_norm_backward_planes, (gpointer) c);
}

const DdOpClass dd_op_batch_norm = {
  .onnx_name = "BatchNormalization",
  .min_inputs = 5,
  .max_inputs = 5,
  .setup = batch_norm_setup,
  .infer = batch_norm_infer,
  .forward = batch_norm_forward,
  .backward = batch_norm_backward,
};
