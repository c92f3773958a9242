/* winograd.c: 3x3 stride-1 convolution by Winograd's F(2x2, 3x3).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks"
 * (2016): each 2x2 block of output is Y = A^T [(G g G^T) . (B^T d B)] A,
 * where d is the 4x4 block of input under it and g the 3x3 kernel. With
 * the 16 products of a tile summed over input channels, the convolution is
 * 16 matrix products U[e] (out x in) V[e] (in x tiles) with e the position
 * in the 4x4 tile: 16 multiplies per 2x2 outputs instead of 36, so 2.25x
 * fewer flops than im2col. The transforms only add and halve (exact in
 * binary but for rounding), so the results match the direct product to a
 * few ulps.
 *
 * The backward of a stride-1 3x3 convolution to its input is again a 3x3
 * convolution: of the output gradient, with each kernel flipped and the
 * in/out channel roles swapped. Flipping g permutes the rows of G (rows 0
 * and 3 swap), so the flipped kernel's transform is U with tile positions
 * 0 and 3 swapped in both directions: the same U serves both passes.
 *
 * Tiles are taken a block at a time (in row-major order, a block may span
 * tile rows), and each thread carries its block through all three steps,
 * input transform, the 16 products and output transform, in its own
 * buffers: they stay in the core's cache, the products are small enough to
 * run one per thread, and the work buffer is the same whatever the image
 * size.
 */
#include "dd-ops.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#define TILES 16 /* positions in a 4x4 input tile */

typedef struct {
  int64_t tx, ty, tiles; /* tiles across, down, in all */
  int64_t block;         /* tiles per block */
  int64_t vstride;       /* floats from one tile position to the next in V */
  int64_t mstride;       /* and in M */
  int slots;             /* threads' buffer sets */
} Tiling;

/* Each thread's buffers: V and M of one block, and four deinterleaved
 * padded input rows (even and odd columns) as wide as a block. */
static gsize
slot_floats (const Tiling *t)
{
  return TILES * (t->vstride + t->mstride) + 4 * 2 * (t->block + 1);
}

static Tiling
tiling (const DdWinograd *p, gsize budget)
{
  Tiling t = { .tx = (p->ow + 1) / 2, .ty = (p->oh + 1) / 2 };
  t.tiles = t.tx * t.ty;
  t.slots = dd_thread_slots ();
  t.block = (int64_t) (budget / (TILES * (p->k + p->n)));
  t.block = CLAMP (dd_balanced_block (t.tiles, t.block, t.slots), 16, t.tiles);
  /* The transforms walk all 16 positions at once: at k * block floats
   * apart they could all fall in one cache set. */
  t.vstride = dd_cache_stride (p->k * t.block);
  t.mstride = dd_cache_stride (p->n * t.block);
  return t;
}

gsize
dd_winograd_work_floats (const DdWinograd *p, gsize budget)
{
  Tiling t = tiling (p, budget);
  return (p->transformed ? 0 : TILES * p->k * p->n) + t.slots * slot_floats (&t);
}

/* u[e][o][c] = (G g G^T)[e] for the kernel g = w[o][c]. */
void
dd_winograd_transform (int64_t planes, const float *w, float *u)
{
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < planes; q++) {
    const float *g = w + q * 9;
    float t[4][3];
    for (int j = 0; j < 3; j++) {
      t[0][j] = g[j];
      t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
      t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
      t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
      float *row = u + 4 * i * planes + q;
      row[0] = t[i][0];
      row[planes] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      row[2 * planes] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      row[3 * planes] = t[i][2];
    }
  }
}

/* Columns dx + 2i and dx + 2i + 1 of row src (length w) into even[i] and
 * odd[i] for i in [lo, hi), with zeros outside the row. */
static void
deinterleave_edge (const float *src, int64_t w, int64_t dx, int64_t lo, int64_t hi, float *even,
                   float *odd)
{
  for (int64_t i = lo; i < hi; i++) {
    int64_t x = dx + 2 * i;
    even[i] = x >= 0 && x < w ? src[x] : 0.0f;
    odd[i] = x + 1 >= 0 && x + 1 < w ? src[x + 1] : 0.0f;
  }
}

/* The same for i in [0, half), the inner part without bounds checks. */
DD_VECTOR_CLONES static void
deinterleave_row (const float *src, int64_t w, int64_t dx, int64_t half, float *even, float *odd)
{
  /* Tiles i in [lo, hi) read columns dx + 2i and dx + 2i + 1, both inside. */
  int64_t lo = dx >= 0 ? 0 : (-dx + 1) / 2;
  int64_t hi = w - 2 - dx < 0 ? 0 : (w - 2 - dx) / 2 + 1;
  lo = MIN (lo, half);
  hi = CLAMP (hi, lo, half);
  deinterleave_edge (src, w, dx, 0, lo, even, odd);
  for (int64_t i = lo; i < hi; i++) {
    even[i] = src[dx + 2 * i];
    odd[i] = src[dx + 2 * i + 1];
  }
  deinterleave_edge (src, w, dx, hi, half, even, odd);
}

/* Channels ahead of the one being transformed whose rows are fetched
 * into cache: a block's rows are short (a few hundred bytes), too short
 * for the hardware to see a stream. */
#define PREFETCH_AHEAD 4

/* Fetches columns [from, from + len) of a row of w floats, clipped to it,
 * into cache; write: for writing. */
static inline void
prefetch_span (const float *row, int64_t w, int64_t from, int64_t len, gboolean write)
{
  const int64_t lo = MAX (from, 0), hi = MIN (from + len, w);
  if (hi <= lo)
    return;
  for (int64_t x = lo; x < hi + 15; x += 16) {
    const float *at = row + MIN (x, hi - 1); /* the last line too */
    if (write)
      __builtin_prefetch (at, 1);
    else
      __builtin_prefetch (at, 0);
  }
}

/* B^T d for four values d0..d3, into v[0], v[stride], v[2 stride] and
 * v[3 stride]. */
static inline void
input_transform_1d (float d0, float d1, float d2, float d3, float *v, int64_t stride)
{
  v[0] = d0 - d2;
  v[stride] = d1 + d2;
  v[2 * stride] = d2 - d1;
  v[3 * stride] = d1 - d3;
}

/* v[e][t] (stride `stride` between positions e) = B^T d B for the tiles of
 * one tile row, from the four padded rows under it, each split into even
 * and odd columns (row r: ev + r * prow, ev + r * prow + half). */
DD_VECTOR_CLONES static void
transform_tile_row (const float *restrict ev, int64_t prow, int64_t half, int64_t tx,
                    float *restrict v, int64_t stride)
{
  const float *e0 = ev, *e1 = ev + prow, *e2 = ev + 2 * prow, *e3 = ev + 3 * prow;
  const float *o0 = e0 + half, *o1 = e1 + half, *o2 = e2 + half, *o3 = e3 + half;
#pragma omp simd
  for (int64_t x = 0; x < tx; x++) {
    /* Rows: a_i = (B^T d)_i, for the four columns 2x .. 2x + 3. */
    float a00 = e0[x] - e2[x], a01 = o0[x] - o2[x], a02 = e0[x + 1] - e2[x + 1],
          a03 = o0[x + 1] - o2[x + 1];
    float a10 = e1[x] + e2[x], a11 = o1[x] + o2[x], a12 = e1[x + 1] + e2[x + 1],
          a13 = o1[x + 1] + o2[x + 1];
    float a20 = e2[x] - e1[x], a21 = o2[x] - o1[x], a22 = e2[x + 1] - e1[x + 1],
          a23 = o2[x + 1] - o1[x + 1];
    float a30 = e1[x] - e3[x], a31 = o1[x] - o3[x], a32 = e1[x + 1] - e3[x + 1],
          a33 = o1[x + 1] - o3[x + 1];
    /* Columns: v_i = a_i B. */
    input_transform_1d (a00, a01, a02, a03, v + x, stride);
    input_transform_1d (a10, a11, a12, a13, v + 4 * stride + x, stride);
    input_transform_1d (a20, a21, a22, a23, v + 8 * stride + x, stride);
    input_transform_1d (a30, a31, a32, a33, v + 12 * stride + x, stride);
  }
}

/* V[e][c][j] for tiles [x0, x0 + count) of tile row ty, for every input
 * channel c; v points at j = 0 for tile x0, rows of V are t->block long and
 * positions e t->vstride apart. rows:
 * scratch for four deinterleaved padded input rows. */
static void
transform_input_segment (const DdWinograd *p, const Tiling *t, const float *in, int64_t ty,
                         int64_t x0, int64_t count, float *rows, float *v)
{
  const int64_t half = count + 1, prow = 2 * half;
  for (int64_t c = 0; c < p->k; c++) {
    if (c + PREFETCH_AHEAD < p->k)
      for (int64_t r = 0; r < 4; r++) {
        int64_t iy = 2 * ty + r + p->dy;
        if (iy >= 0 && iy < p->h)
          prefetch_span (in + ((c + PREFETCH_AHEAD) * p->h + iy) * p->w, p->w, p->dx + 2 * x0, prow,
                         FALSE);
      }
    for (int64_t r = 0; r < 4; r++) {
      int64_t iy = 2 * ty + r + p->dy;
      if (iy < 0 || iy >= p->h)
        memset (rows + r * prow, 0, prow * sizeof *rows);
      else
        deinterleave_row (in + (c * p->h + iy) * p->w, p->w, p->dx + 2 * x0, half, rows + r * prow,
                          rows + r * prow + half);
    }
    transform_tile_row (rows, prow, half, count, v + c * t->block, t->vstride);
  }
}

/* Writes (or adds) the 2x2 outputs A^T m A of tile x of a tile row of M:
 * y0[0], y0[1] above y1[0], y1[1]. */
static inline void
output_tile (const float *m, int64_t stride, int64_t x, gboolean add, float *y0, float *y1)
{
  /* Rows: s_i = (m A)_i. */
  float s00 = m[x] + m[stride + x] + m[2 * stride + x];
  float s01 = m[stride + x] - m[2 * stride + x] - m[3 * stride + x];
  float s10 = m[4 * stride + x] + m[5 * stride + x] + m[6 * stride + x];
  float s11 = m[5 * stride + x] - m[6 * stride + x] - m[7 * stride + x];
  float s20 = m[8 * stride + x] + m[9 * stride + x] + m[10 * stride + x];
  float s21 = m[9 * stride + x] - m[10 * stride + x] - m[11 * stride + x];
  float s30 = m[12 * stride + x] + m[13 * stride + x] + m[14 * stride + x];
  float s31 = m[13 * stride + x] - m[14 * stride + x] - m[15 * stride + x];
  /* Columns: A^T s. */
  y0[0] = (add ? y0[0] : 0.0f) + (s00 + s10 + s20);
  y0[1] = (add ? y0[1] : 0.0f) + (s01 + s11 + s21);
  y1[0] = (add ? y1[0] : 0.0f) + (s10 - s20 - s30);
  y1[1] = (add ? y1[1] : 0.0f) + (s11 - s21 - s31);
}

/* Output rows y0 and y1 from the first `tiles` tiles of a tile row of M. */
DD_VECTOR_CLONES static void
output_row_pair (const float *restrict m, int64_t stride, int64_t tiles, gboolean add,
                 float *restrict y0, float *restrict y1)
{
#pragma omp simd
  for (int64_t x = 0; x < tiles; x++)
    output_tile (m, stride, x, add, y0 + 2 * x, y1 + 2 * x);
}

/* Like output_row_pair for tiles cut by the right edge (cols, the columns
 * left from y0 on, may end after the first column of the last tile) or the
 * bottom (y1 NULL): through a 2x2 scratch. */
static void
output_row_edge (const float *m, int64_t stride, int64_t tiles, int64_t cols, gboolean add,
                 float *y0, float *y1)
{
  for (int64_t x = 0; x < tiles; x++) {
    float y[4] = { 0 };
    output_tile (m, stride, x, FALSE, y, y + 2);
    for (int64_t j = 0; j < MIN (2, cols - 2 * x); j++) {
      y0[2 * x + j] = add ? y0[2 * x + j] + y[j] : y[j];
      if (y1)
        y1[2 * x + j] = add ? y1[2 * x + j] + y[2 + j] : y[2 + j];
    }
  }
}

/* Output tiles [x0, x1) of tile row ty for every output channel, from
 * M[e][o][j]; m points at j = 0 for tile x0, laid out as V. */
static void
transform_output_segment (const DdWinograd *p, const Tiling *t, const float *m, int64_t ty,
                          int64_t x0, int64_t x1, gboolean add, float *out)
{
  const int64_t stride = t->mstride;
  for (int64_t o = 0; o < p->n; o++) {
    const float *mo = m + o * t->block;
    float *y0 = out + (o * p->oh + 2 * ty) * p->ow + 2 * x0;
    float *y1 = 2 * ty + 1 < p->oh ? y0 + p->ow : NULL;
    if (o + PREFETCH_AHEAD < p->n) {
      const float *ahead = out + ((o + PREFETCH_AHEAD) * p->oh + 2 * ty) * p->ow;
      prefetch_span (ahead, p->ow, 2 * x0, 2 * (x1 - x0), TRUE);
      if (y1)
        prefetch_span (ahead + p->ow, p->ow, 2 * x0, 2 * (x1 - x0), TRUE);
    }
    /* Whole tiles, then the ones cut by the right or bottom edge. */
    const int64_t whole = y1 ? CLAMP (p->ow / 2, x0, x1) - x0 : 0;
    output_row_pair (mo, stride, whole, add, y0, y1);
    output_row_edge (mo + whole, stride, x1 - x0 - whole, p->ow - 2 * (x0 + whole), add,
                     y0 + 2 * whole, y1 ? y1 + 2 * whole : NULL);
    /* Bias and ReLU while the rows are in cache. */
    if (p->bias || p->relu_mask) {
      const int64_t cols = MIN (2 * (x1 - x0), p->ow - 2 * x0), at = y0 - out;
      const float b = p->bias ? p->bias[o] : 0.0f;
      dd_bias_relu (y0, y0, cols, b, p->relu_mask ? p->relu_mask + at : NULL);
      if (y1)
        dd_bias_relu (y1, y1, cols, b, p->relu_mask ? p->relu_mask + at + p->ow : NULL);
    }
  }
}

/* M[e] = U[e] V[e] for one block of `count` tiles, on this thread (OpenBLAS
 * runs single-threaded inside a parallel region). Backward reads U[e']
 * transposed, e' being e with tile positions 0 and 3 swapped along both
 * axes (the flipped kernel). */
static void
multiply (const DdWinograd *p, const Tiling *t, const float *u, const float *v, int64_t count,
          float *m)
{
  static const int flip[4] = { 3, 1, 2, 0 };
  for (int e = 0; e < TILES; e++) {
    const float *a = u + e * p->n * p->k;
    if (p->backward)
      a = u + (flip[e / 4] * 4 + flip[e % 4]) * p->n * p->k;
    cblas_sgemm (CblasRowMajor, p->backward ? CblasTrans : CblasNoTrans, CblasNoTrans, p->n, count,
                 p->k, 1.0f, a, p->backward ? p->n : p->k, v + e * t->vstride, t->block, 0.0f,
                 m + e * t->mstride, t->block);
  }
}

/* Of `left` tiles from tile t on, those in t's tile row: sets that row and
 * t's column there, returns how many. */
static int64_t
segment (const Tiling *t, int64_t tile, int64_t left, int64_t *ty, int64_t *x0)
{
  *ty = tile / t->tx;
  *x0 = tile % t->tx;
  return MIN (t->tx - *x0, left);
}

/* One block: tiles [t0, t0 + count) in row-major order, a segment of a
 * tile row at a time. */
static void
run_block (const DdWinograd *p, const Tiling *t, const float *u, const float *in, int64_t t0,
           int64_t count, gboolean add, float *slot, float *out)
{
  float *v = slot, *m = v + TILES * t->vstride, *rows = m + TILES * t->mstride;
  int64_t ty, x0, n;
  for (int64_t i = 0; i < count; i += n) {
    n = segment (t, t0 + i, count - i, &ty, &x0);
    transform_input_segment (p, t, in, ty, x0, n, rows, v + i);
  }
  multiply (p, t, u, v, count, m);
  for (int64_t i = 0; i < count; i += n) {
    n = segment (t, t0 + i, count - i, &ty, &x0);
    transform_output_segment (p, t, m + i, ty, x0, x0 + n, add, out);
  }
}

void
dd_winograd_run (const DdWinograd *p, const float *weights, const float *in, float *out,
                 gboolean add, float *work, gsize budget)
{
  const Tiling t = tiling (p, budget);
  const int64_t n_blocks = (t.tiles + t.block - 1) / t.block;
  const float *u = p->transformed;
  float *slots = work;
  if (!u) {
    dd_winograd_transform (p->k * p->n, weights, work);
    u = work;
    slots = work + TILES * p->k * p->n;
  }
#pragma omp parallel num_threads(MIN(t.slots, omp_get_max_threads()))
  {
    float *slot = slots + omp_get_thread_num () * slot_floats (&t);
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < n_blocks; b++)
      run_block (p, &t, u, in, b * t.block, MIN (t.block, t.tiles - b * t.block), add, slot, out);
  }
}
