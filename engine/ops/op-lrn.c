/* op-lrn.c: LRN (local response normalisation across channels), forward and
 * backward.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * ONNX semantics: with lo = floor((size-1)/2) and hi = ceil((size-1)/2),
 *   s[c] = bias + alpha/size * sum of x[c']^2 over c' in [c-lo, c+hi] ∩ [0,C)
 *   y[c] = x[c] * s[c]^-beta
 * For even sizes the window leans forward (hi = lo + 1); PyTorch leans the
 * other way, ONNX is what we follow.
 *
 * Both passes slide a window along the channels of a block of neighbouring
 * positions, so every channel is read a constant number of times whatever
 * the size. The running sums are doubles: they add and later subtract the
 * same terms, and in float a large term would leave its rounding error
 * behind in the small sums after it.
 */
#include "dd-ops.h"

#include <math.h>

/* Positions per block: wide enough to vectorise, small enough that the few
 * channels in flight stay in L1. */
#define LRN_BLOCK 256

static gboolean
lrn_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  if (!dd_node_attr_int (n, "size", 0, &a->size, error) ||
      !dd_node_attr_float (n, "alpha", 1e-4f, &a->alpha, error) ||
      !dd_node_attr_float (n, "beta", 0.75f, &a->beta, error) ||
      !dd_node_attr_float (n, "bias", 1.0f, &a->bias, error))
    return FALSE;
  if (a->size < 1)
    return dd_op_fail (error,
                       "node '%s': LRN size is missing or not positive (%" G_GINT64_FORMAT ")",
                       dd_node_name (n), a->size);
  /* s must stay positive for s^-beta to be a number, whatever x is. */
  if (!(a->bias > 0.0f) || !(a->alpha >= 0.0f))
    return dd_op_fail (error, "node '%s': LRN needs bias > 0 and alpha >= 0 (bias=%g, alpha=%g)",
                       dd_node_name (n), a->bias, a->alpha);
  if (!isfinite (a->beta))
    return dd_op_fail (error, "node '%s': LRN beta=%g is not a number", dd_node_name (n), a->beta);
  return TRUE;
}

static gboolean
lrn_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char buf[128];
  (void) a;
  (void) n_in;

  if (in[0].rank < 2)
    return dd_op_fail (error, "LRN needs an input of rank 2 or more (N, C, ...), not %s",
                       dd_shape_format (&in[0], buf, sizeof buf));
  *out = in[0];
  return TRUE;
}

/* s saved per element for backward. */
static gsize
lrn_saved_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  (void) a;
  (void) out;
  return dd_shape_numel (in);
}

/* s^-beta. The common beta = 0.75 goes by square roots, several times faster
 * than powf and as accurate. */
static inline float
lrn_pow (float s, float beta)
{
  if (beta == 0.75f) {
    float r = sqrtf (s);
    return 1.0f / (r * sqrtf (r));
  }
  return powf (s, -beta);
}

/* Geometry of one call: N batches of C channels of `plane` positions. */
typedef struct {
  int64_t n, c, plane, blocks;
  int64_t lo, hi;
} LrnGeom;

static LrnGeom
lrn_geom (const DdOpCtx *c)
{
  const DdShape *s = c->xs[0];
  LrnGeom g = { .n = s->d[0], .c = s->d[1] };
  g.plane = dd_shape_numel (s) / MAX (g.n * g.c, 1);
  g.blocks = (g.plane + LRN_BLOCK - 1) / LRN_BLOCK;
  g.lo = (c->a->size - 1) / 2;
  g.hi = c->a->size - 1 - g.lo;
  return g;
}

/* One block of positions through every channel. */
DD_VECTOR_CLONES static void
lrn_forward_block (const DdOpCtx *c, const LrnGeom *g, int64_t base, int64_t len)
{
  const float scale = c->a->alpha / (float) c->a->size;
  const float bias = c->a->bias, beta = c->a->beta;
  const float *x = c->x[0] + base;
  float *y = c->y + base, *s = c->saved + base;
  double acc[LRN_BLOCK] = { 0.0 };

  /* Prime the window of channel 0 up to, not including, channel hi. */
  for (int64_t k = 0; k < MIN (g->hi, g->c); k++)
    for (int64_t i = 0; i < len; i++)
      acc[i] += (double) x[k * g->plane + i] * x[k * g->plane + i];

  for (int64_t ch = 0; ch < g->c; ch++) {
    const int64_t in = ch + g->hi, out = ch - g->lo - 1;
    if (in < g->c)
      for (int64_t i = 0; i < len; i++)
        acc[i] += (double) x[in * g->plane + i] * x[in * g->plane + i];
    if (out >= 0)
      for (int64_t i = 0; i < len; i++)
        acc[i] -= (double) x[out * g->plane + i] * x[out * g->plane + i];
    const int64_t o = ch * g->plane;
    for (int64_t i = 0; i < len; i++) {
      float sv = bias + scale * (float) acc[i];
      s[o + i] = sv;
      y[o + i] = x[o + i] * lrn_pow (sv, beta);
    }
  }
}

static void
lrn_forward (const DdOpCtx *c)
{
  const LrnGeom g = lrn_geom (c);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t blk = 0; blk < g.blocks; blk++) {
      const int64_t p0 = blk * LRN_BLOCK;
      lrn_forward_block (c, &g, b * g.c * g.plane + p0, MIN (LRN_BLOCK, g.plane - p0));
    }
}

/* The term t = gy * x * s^-beta / s of element i. It is computed again
 * when i leaves the window rather than kept: keeping it would need a buffer
 * the size of the input, and the powers are cheap next to memory. */
static inline double
lrn_term (const float *gy, const float *x, const float *s, float beta, int64_t i)
{
  return (double) (gy[i] * x[i] * lrn_pow (s[i], beta) / s[i]);
}

/* With r = s^-beta and t[c] = gy[c] * x[c] * r[c] / s[c],
 *   gx[j] = gy[j] * r[j] - 2*alpha*beta/size * x[j] * sum of t[c] over the
 *           channels c whose window holds j, that is c in [j-hi, j+lo].
 * The sum runs as a sliding window: channel j+lo enters at step j, channel
 * j-hi-1 leaves. */
DD_VECTOR_CLONES static void
lrn_backward_block (const DdOpCtx *c, const LrnGeom *g, int64_t base, int64_t len)
{
  const float beta = c->a->beta;
  const float k2 = 2.0f * c->a->alpha * beta / (float) c->a->size;
  const gboolean add = c->gx_add[0];
  const float *x = c->x[0] + base, *s = c->saved + base, *gy = c->gy + base;
  float *gx = c->gx[0] + base;
  double acc[LRN_BLOCK] = { 0.0 };

  for (int64_t k = 0; k < MIN (g->lo, g->c); k++)
    for (int64_t i = 0; i < len; i++)
      acc[i] += lrn_term (gy, x, s, beta, k * g->plane + i);

  for (int64_t j = 0; j < g->c; j++) {
    const int64_t in = j + g->lo, out = j - g->hi - 1;
    if (in < g->c)
      for (int64_t i = 0; i < len; i++)
        acc[i] += lrn_term (gy, x, s, beta, in * g->plane + i);
    if (out >= 0)
      for (int64_t i = 0; i < len; i++)
        acc[i] -= lrn_term (gy, x, s, beta, out * g->plane + i);
    const int64_t o = j * g->plane;
    for (int64_t i = 0; i < len; i++) {
      float v = gy[o + i] * lrn_pow (s[o + i], beta) - k2 * x[o + i] * (float) acc[i];
      gx[o + i] = add ? gx[o + i] + v : v;
    }
  }
}

static void
lrn_backward (const DdOpCtx *c)
{
  const LrnGeom g = lrn_geom (c);
  if (c->gx[0] == NULL)
    return;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t blk = 0; blk < g.blocks; blk++) {
      const int64_t p0 = blk * LRN_BLOCK;
      lrn_backward_block (c, &g, b * g.c * g.plane + p0, MIN (LRN_BLOCK, g.plane - p0));
    }
}

const DdOpClass dd_op_lrn = {
  .onnx_name = "LRN",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = lrn_setup,
  .infer = lrn_infer,
  .saved_floats = lrn_saved_floats,
  .forward = lrn_forward,
  .backward = lrn_backward,
  .backward_reads_inputs = 1u << 0,
};
