/* op-activation.c: Relu, LeakyRelu, Clip, Sigmoid.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Conventions at the kinks follow the reference data: Relu'(0) = 0,
 * LeakyRelu'(0) = alpha, Clip' = 1 on [min, max] inclusive.
 */
#include "dd-ops.h"

#include <float.h>
#include <math.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_STREAM_AVX512 1
#endif

static gboolean
same_shape_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  (void) a, (void) n_in, (void) error;
  *out = in[0];
  return TRUE;
}

/* Writes or accumulates one gradient element. */
static inline void
put (float *gx, gboolean add, int64_t i, float v)
{
  gx[i] = add ? gx[i] + v : v;
}

/* ---- Relu ------------------------------------------------------------------- */

/* Backward needs only where y > 0: a byte per element kept from forward,
 * a quarter of y, so y itself can go as soon as forward is done with it. */
static gsize
relu_saved_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  (void) a, (void) in;
  return (dd_shape_numel (out) + 3) / 4;
}

DD_VECTOR_CLONES void
dd_bias_relu (const float *x, float *y, gint64 n, float bias, guint8 *relu_mask)
{
  if (!relu_mask) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      y[i] = x[i] + bias;
    return;
  }
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float v = x[i] + bias;
    relu_mask[i] = v > 0;
    y[i] = v > 0 ? v : 0;
  }
}

#ifdef HAVE_STREAM_AVX512
/* dd_bias_relu with stores that bypass the cache, 16 floats (and mask
 * bytes) at a time from where y is 64-byte aligned. */
__attribute__ ((target ("avx512f"))) static void
bias_relu_stream_avx512 (const float *x, float *y, int64_t n, float bias, guint8 *mask)
{
  int64_t head = MIN (n, (int64_t) ((64 - (guintptr) y % 64) % 64 / sizeof *y));
  if ((guintptr) y % sizeof *y || (mask && ((guintptr) mask + head) % 16))
    head = n; /* misaligned: no streaming */
  dd_bias_relu (x, y, head, bias, mask);
  const __m512 b = _mm512_set1_ps (bias), zero = _mm512_setzero_ps ();
  int64_t i = head;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_add_ps (_mm512_loadu_ps (x + i), b);
    if (mask) {
      const __mmask16 pos = _mm512_cmp_ps_mask (v, zero, _CMP_GT_OQ);
      v = _mm512_maskz_mov_ps (pos, v);
      _mm_stream_si128 ((__m128i *) (mask + i),
                        _mm512_cvtepi32_epi8 (_mm512_maskz_set1_epi32 (pos, 1)));
    }
    _mm512_stream_ps (y + i, v);
  }
  _mm_sfence ();
  dd_bias_relu (x + i, y + i, n - i, bias, mask ? mask + i : NULL);
}
#endif

void
dd_bias_relu_stream (const float *x, float *y, gint64 n, float bias, guint8 *relu_mask)
{
#ifdef HAVE_STREAM_AVX512
  if (__builtin_cpu_supports ("avx512f")) {
    bias_relu_stream_avx512 (x, y, n, bias, relu_mask);
    return;
  }
#endif
  dd_bias_relu (x, y, n, bias, relu_mask);
}

static void
relu_forward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  (void) slot;
  dd_bias_relu (c->x[0] + from, c->y + from, to - from, 0.0f, (guint8 *) c->saved + from);
}

static void
relu_forward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, relu_forward_range, (gpointer) c);
}

/* Multiplying by the 0/1 mask, unlike a select, vectorises. */
DD_VECTOR_CLONES void
dd_relu_gradient (const guint8 *mask, const float *gy, float *gx, gboolean add, gint64 n)
{
  if (add)
    for (int64_t i = 0; i < n; i++)
      gx[i] += gy[i] * (float) mask[i];
  else
    for (int64_t i = 0; i < n; i++)
      gx[i] = gy[i] * (float) mask[i];
}

static void
relu_backward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  (void) slot;
  dd_relu_gradient ((const guint8 *) c->saved + from, c->gy + from, c->gx[0] + from, c->gx_add[0],
                    to - from);
}

static void
relu_backward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, relu_backward_range,
                     (gpointer) c);
}

const DdOpClass dd_op_relu = {
  .onnx_name = "Relu",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer = same_shape_infer,
  .saved_floats = relu_saved_floats,
  .forward = relu_forward,
  .backward = relu_backward,
  .inplace = TRUE,
};

/* ---- LeakyRelu ---------------------------------------------------------------- */

static gboolean
leaky_relu_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  return dd_node_attr_float (n, "alpha", 0.01f, &a->alpha, error);
}

static void
leaky_relu_forward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *x = c->x[0], alpha = c->a->alpha;
  float *y = c->y;
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    y[i] = x[i] > 0 ? x[i] : alpha * x[i];
}

static void
leaky_relu_forward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, leaky_relu_forward_range,
                     (gpointer) c);
}

static void
leaky_relu_backward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *x = c->x[0], *gy = c->gy, alpha = c->a->alpha;
  float *gx = c->gx[0];
  const gboolean add = c->gx_add[0];
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    put (gx, add, i, x[i] > 0 ? gy[i] : alpha * gy[i]);
}

static void
leaky_relu_backward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, leaky_relu_backward_range,
                     (gpointer) c);
}

const DdOpClass dd_op_leaky_relu = {
  .onnx_name = "LeakyRelu",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = leaky_relu_setup,
  .infer = same_shape_infer,
  .forward = leaky_relu_forward,
  .backward = leaky_relu_backward,
  .backward_reads_inputs = 1,
};

/* ---- Clip ------------------------------------------------------------------- */

/* Bound i of Clip: an attribute before opset 11, an optional constant input since. */
static gboolean
clip_bound (DdNodeDesc *n, int input, const char *attr, float def, float *out, GError **error)
{
  if (dd_node_opset (n) < 11)
    return dd_node_attr_float (n, attr, def, out, error);
  *out = def;
  if (!dd_node_has_input (n, input))
    return TRUE;
  const float *v;
  int64_t count;
  if (!dd_node_const_floats (n, input, &v, &count) || count != 1)
    return dd_op_fail (error, "node '%s': Clip's %s must be a constant scalar", dd_node_name (n),
                       attr);
  *out = v[0];
  return TRUE;
}

static gboolean
clip_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  if (!clip_bound (n, 1, "min", -FLT_MAX, &a->min, error) ||
      !clip_bound (n, 2, "max", FLT_MAX, &a->max, error))
    return FALSE;
  dd_node_set_data_inputs (n, 1);
  return TRUE;
}

static void
clip_forward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *x = c->x[0], lo = c->a->min, hi = c->a->max;
  float *y = c->y;
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    y[i] = fminf (fmaxf (x[i], lo), hi);
}

static void
clip_forward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, clip_forward_range, (gpointer) c);
}

static void
clip_backward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *x = c->x[0], *gy = c->gy, lo = c->a->min, hi = c->a->max;
  float *gx = c->gx[0];
  const gboolean add = c->gx_add[0];
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    put (gx, add, i, gy[i] * (float) (x[i] >= lo && x[i] <= hi));
}

static void
clip_backward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, clip_backward_range,
                     (gpointer) c);
}

const DdOpClass dd_op_clip = {
  .onnx_name = "Clip",
  .min_inputs = 1,
  .max_inputs = 3,
  .setup = clip_setup,
  .infer = same_shape_infer,
  .forward = clip_forward,
  .backward = clip_backward,
  .backward_reads_inputs = 1,
};

/* ---- Sigmoid ------------------------------------------------------------------ */

static void
sigmoid_forward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *x = c->x[0];
  float *y = c->y;
  (void) slot;
  for (int64_t i = from; i < to; i++)
    y[i] = 1.0f / (1.0f + expf (-x[i]));
}

static void
sigmoid_forward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, sigmoid_forward_range,
                     (gpointer) c);
}

static void
sigmoid_backward_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const DdOpCtx *c = data;
  const float *y = c->y, *gy = c->gy;
  float *gx = c->gx[0];
  const gboolean add = c->gx_add[0];
  (void) slot;
#pragma omp simd
  for (int64_t i = from; i < to; i++)
    put (gx, add, i, gy[i] * y[i] * (1.0f - y[i]));
}

static void
sigmoid_backward (const DdOpCtx *c)
{
  dd_parallel_range (dd_shape_numel (c->ys), DD_STREAM_BLOCK, 64, sigmoid_backward_range,
                     (gpointer) c);
}

const DdOpClass dd_op_sigmoid = {
  .onnx_name = "Sigmoid",
  .min_inputs = 1,
  .max_inputs = 1,
  .infer = same_shape_infer,
  .forward = sigmoid_forward,
  .backward = sigmoid_backward,
  .backward_reads_output = TRUE,
  .inplace = TRUE,
};
