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
/* Channels ahead whose piece is fetched into cache. */
#define LRN_AHEAD 4

static gboolean
lrn_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  if (!dd_node_attr_int (n, "size", 0, &a->size, error) ||
      !dd_node_attr_float (n, "alpha", 1e-4f, &a->alpha, error) ||
      !dd_node_attr_float (n, "beta", 0.75f, &a->beta, error) ||
      !dd_node_attr_float (n, "bias", 1.0f, &a->bias, error))
    return FALSE;
  if (a->size < 1 || a->size > DD_MAX_WINDOW)
    return dd_op_fail (error,
                       "node '%s': LRN size %" G_GINT64_FORMAT
                       " is missing, not positive or beyond %d channels",
                       dd_node_name (n), a->size, DD_MAX_WINDOW);
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

/* s^-beta, given inv = 1 / s. The common beta = 0.75 goes by square roots,
 * s^0.25 / s, several times faster than powf and as accurate; backward
 * needs inv anyway, so one division serves both. */
static inline float
lrn_pow (float s, float inv, float beta)
{
  if (beta == 0.75f)
    return sqrtf (sqrtf (s)) * inv;
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

/* The sums of squares over the window of channel ch, [ch - lo, ch + hi],
 * for a block of positions: lrn_squares_start readies them for channel 0,
 * lrn_squares_next moves them on to channel ch (for ch = 0, 1, ... in
 * turn). Forward and backward both slide them, so both get the same s. */
static inline void
lrn_squares_start (const LrnGeom *g, const float *x, int64_t len, double *sq)
{
  for (int64_t i = 0; i < len; i++)
    sq[i] = 0.0;
  for (int64_t k = 0; k < MIN (g->hi, g->c); k++)
    for (int64_t i = 0; i < len; i++)
      sq[i] += (double) x[k * g->plane + i] * x[k * g->plane + i];
}

static inline void
lrn_squares_next (const LrnGeom *g, const float *x, int64_t ch, int64_t len, double *sq)
{
  const int64_t in = ch + g->hi, out = ch - g->lo - 1;
  /* A block's piece of a channel is 1 KB, too short for the hardware to
   * see a stream: fetch the one a few channels ahead. */
  if (in + LRN_AHEAD < g->c)
    for (int64_t i = 0; i < len; i += 16)
      __builtin_prefetch (x + (in + LRN_AHEAD) * g->plane + i);
  if (in < g->c)
    for (int64_t i = 0; i < len; i++)
      sq[i] += (double) x[in * g->plane + i] * x[in * g->plane + i];
  if (out >= 0)
    for (int64_t i = 0; i < len; i++)
      sq[i] -= (double) x[out * g->plane + i] * x[out * g->plane + i];
}

/* s from the sum of squares; scale is alpha / size. */
static inline float
lrn_s (float bias, float scale, double sq)
{
  return bias + scale * (float) sq;
}

/* One block of positions through every channel. */
DD_VECTOR_CLONES static void
lrn_forward_block (const DdOpCtx *c, const LrnGeom *g, int64_t base, int64_t len)
{
  const float scale = c->a->alpha / (float) c->a->size;
  const float bias = c->a->bias, beta = c->a->beta;
  const float *x = c->x[0] + base;
  float *y = c->y + base;
  double sq[LRN_BLOCK];

  lrn_squares_start (g, x, len, sq);
  for (int64_t ch = 0; ch < g->c; ch++) {
    lrn_squares_next (g, x, ch, len, sq);
    const int64_t o = ch * g->plane;
    for (int64_t i = 0; i < len; i++) {
      const float s = lrn_s (bias, scale, sq[i]);
      y[o + i] = x[o + i] * lrn_pow (s, 1.0f / s, beta);
    }
  }
}

/* The block of positions `chunk` counts to, over the batch and then the
 * plane. */
static void
lrn_block_at (const LrnGeom *g, int64_t chunk, int64_t *base, int64_t *len)
{
  const int64_t b = chunk / g->blocks, p0 = chunk % g->blocks * LRN_BLOCK;
  *base = b * g->c * g->plane + p0;
  *len = MIN (LRN_BLOCK, g->plane - p0);
}

typedef struct {
  const DdOpCtx *c;
  LrnGeom g;
} LrnJob;

static void
lrn_forward_chunk (gpointer data, int64_t chunk, int slot)
{
  const LrnJob *j = data;
  int64_t base, len;
  (void) slot;
  lrn_block_at (&j->g, chunk, &base, &len);
  lrn_forward_block (j->c, &j->g, base, len);
}

static void
lrn_forward (const DdOpCtx *c)
{
  LrnJob j = { c, lrn_geom (c) };
  dd_parallel (j.g.n * j.g.blocks, lrn_forward_chunk, &j);
}

/* Backward needs, for each channel in the window, s^-beta and its share
 * of the sums, gy x s^-beta / s, with s recomputed from x as forward made
 * it (keeping s would cost a saved copy of the input, the plan's largest
 * buffer at conv2/norm2). Each thread keeps them in a ring of size + 1
 * rows; a row is retired before the channel that reuses it enters. */
static gsize
lrn_work_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  (void) in;
  (void) out;
  return (gsize) dd_thread_slots () * 2 * (a->size + 1) * LRN_BLOCK;
}

DD_VECTOR_CLONES static void
lrn_backward_block (const DdOpCtx *c, const LrnGeom *g, int64_t base, int64_t len, float *ring)
{
  const float scale = c->a->alpha / (float) c->a->size;
  const float bias = c->a->bias, beta = c->a->beta;
  const float k2 = 2.0f * c->a->alpha * beta / (float) c->a->size;
  const gboolean add = c->gx_add[0];
  const int64_t rows = c->a->size + 1;
  const float *x = c->x[0] + base, *gy = c->gy + base;
  float *gx = c->gx[0] + base, *powers = ring, *shares = ring + rows * LRN_BLOCK;
  double sq[LRN_BLOCK], acc[LRN_BLOCK] = { 0.0 };

  lrn_squares_start (g, x, len, sq);
  /* Channel k enters the window of channel j = k - lo. */
  for (int64_t k = 0; k < g->c + g->lo; k++) {
    if (k + LRN_AHEAD < g->c)
      for (int64_t i = 0; i < len; i += 16) {
        __builtin_prefetch (gy + (k + LRN_AHEAD) * g->plane + i);
        __builtin_prefetch (gx + (k + LRN_AHEAD) * g->plane + i, 1);
      }
    if (k < g->c) {
      lrn_squares_next (g, x, k, len, sq);
      float *power = powers + k % rows * LRN_BLOCK, *share = shares + k % rows * LRN_BLOCK;
      const int64_t o = k * g->plane;
      for (int64_t i = 0; i < len; i++) {
        const float sk = lrn_s (bias, scale, sq[i]), inv = 1.0f / sk;
        power[i] = lrn_pow (sk, inv, beta);
        share[i] = gy[o + i] * x[o + i] * power[i] * inv;
        acc[i] += share[i];
      }
    }
    const int64_t j = k - g->lo, out = j - g->hi - 1;
    if (j < 0)
      continue;
    if (out >= 0) {
      const float *share = shares + out % rows * LRN_BLOCK;
      for (int64_t i = 0; i < len; i++)
        acc[i] -= share[i];
    }
    const float *power = powers + j % rows * LRN_BLOCK;
    const int64_t o = j * g->plane;
    for (int64_t i = 0; i < len; i++) {
      float v = gy[o + i] * power[i] - k2 * x[o + i] * (float) acc[i];
      gx[o + i] = add ? gx[o + i] + v : v;
    }
  }
}

static void
lrn_backward_chunk (gpointer data, int64_t chunk, int slot)
{
  const LrnJob *j = data;
  int64_t base, len;
  lrn_block_at (&j->g, chunk, &base, &len);
  lrn_backward_block (j->c, &j->g, base, len,
                      j->c->work + slot * 2 * (j->c->a->size + 1) * LRN_BLOCK);
}

static void
lrn_backward (const DdOpCtx *c)
{
  LrnJob j = { c, lrn_geom (c) };
  if (c->gx[0] == NULL)
    return;
  dd_parallel (j.g.n * j.g.blocks, lrn_backward_chunk, &j);
}

const DdOpClass dd_op_lrn = {
  .onnx_name = "LRN",
  .min_inputs = 1,
  .max_inputs = 1,
  .setup = lrn_setup,
  .infer = lrn_infer,
  .work_floats = lrn_work_floats,
  .forward = lrn_forward,
  .backward = lrn_backward,
  .backward_reads_inputs = 1u << 0,
};
