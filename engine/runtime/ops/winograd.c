/* winograd.c: 3x3 stride-1 convolution by Winograd's F(4x4, 3x3).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks"
 * (2016): each 4x4 block of output is Y = A^T [(G g G^T) . (B^T d B)] A,
 * where d is the 6x6 block of input under it and g the 3x3 kernel, with
 * the interpolation points 0, 1, -1, 2, -2 and infinity. With the 36
 * products of a tile summed over input channels, the convolution is 36
 * matrix products U[e] (out x in) V[e] (in x tiles), e the position in the
 * 6x6 tile: 36 multiplies per 16 outputs instead of 144, 4x fewer flops
 * than im2col (F(2x2, 3x3), before, saved 2.25x). The transforms' factors
 * (up to 8 and 1/24) cost some precision: GoogLeNet's inception_4c/output
 * agrees with im2col's to 1.5e-6 of its largest value, against 4e-7 with
 * F(2x2, 3x3) (tests/test-googlenet.c, winograd-fidelity).
 *
 * The backward of a stride-1 3x3 convolution to its input is again a 3x3
 * convolution: of the output gradient, with each kernel flipped and the
 * in/out channel roles swapped. Flipping a kernel evaluates its
 * polynomial at 1/p where the forward took p, and 2 and -2 have no
 * counterpart here, so the flipped kernels have a U of their own, read
 * transposed. (The points 0, 1, -1, 2, 1/2, closed under p -> 1/p, let one
 * U serve both ways, scaled by powers of two; they rounded about as well on
 * random tiles but moved GoogLeNet's gradient across more near-ties: on
 * flowers.jpg and against the reference gradient of its test data.)
 *
 * Tiles are taken a block at a time (in row-major order, a block may span
 * tile rows), and each thread carries its block through all three steps,
 * input transform, the 36 products and output transform, in its own
 * buffers: they stay in cache (see WINOGRAD_BLOCK_FLOATS in op-conv.c),
 * the products are small enough to run one per thread, and the work
 * buffer is the same whatever the image size. The products run on
 * dd_product's kernel where it runs, on operands the transforms and the
 * kept weights already lay out as it reads them: OpenBLAS's small-matrix
 * kernels, which it takes for these shapes, reached about half the
 * core's FMA peak; elsewhere they run on OpenBLAS.
 */
#include "dd-ops.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#define TILES 36 /* positions in a 6x6 input tile */
#define IN 6     /* input tile edge */
#define OUT 4    /* output tile edge */

typedef struct {
  int64_t tx, ty, tiles; /* tiles across, down, in all */
  int64_t block;         /* tiles per block */
  /* The products by dd_product's kernel on operands made for it (U packed,
   * V in panels of DD_PRODUCT_TILE tiles), else by OpenBLAS. */
  gboolean direct;
  int64_t panel;   /* tiles of V's rows: DD_PRODUCT_TILE, or the block */
  int64_t vstride; /* floats from one tile position to the next in V */
  int64_t mstride; /* and in M */
  int slots;       /* threads' buffer sets */
} Tiling;

/* Each thread's buffers: V and M of one block, and the transforms'
 * scratch as wide as a block: six padded input rows, each split into its
 * four column phases, and their 36 rows transformed along the rows (the
 * output transform's 24 rows reuse it). */
static gsize
slot_floats (const Tiling *t)
{
  return TILES * (t->vstride + t->mstride) + (IN * OUT + TILES) * (t->block + 1);
}

/* A slot's M, after its V. */
static float *
slot_m (const Tiling *t, float *slot)
{
  return slot + TILES * t->vstride;
}

static Tiling
tiling (const DdWinograd *p, gsize budget, gboolean direct)
{
  Tiling t = { .tx = (p->ow + OUT - 1) / OUT, .ty = (p->oh + OUT - 1) / OUT, .direct = direct };
  t.tiles = t.tx * t.ty;
  t.slots = dd_thread_slots ();
  t.block = (int64_t) (budget / (TILES * (p->k + p->n)));
  t.block = CLAMP (dd_balanced_block (t.tiles, t.block, t.slots), 16, t.tiles);
  t.panel = t.block;
  if (direct) {
    /* Whole tiles of the kernel: a block of 12 or 64 tiles would leave
     * it three quarters or a third idle in its last tile. */
    t.panel = DD_PRODUCT_TILE;
    t.block = MIN (MAX ((t.block + t.panel / 2) / t.panel, 1) * t.panel, t.tiles);
  } else {
    /* Whole 16s of tiles: OpenBLAS's small-matrix kernel leaves the
     * remainder of a product's columns to slower code (GoogLeNet at
     * 731x548, blocks of 62 tiles: the 36 products took 1.9 times the CPU
     * time a tile of 64-tile blocks at 1024x768). */
    t.block = MIN ((t.block + 15) / 16 * 16, t.tiles);
    t.panel = t.block;
  }
  /* The transforms walk all 36 positions at once: at k * block floats
   * apart they could all fall in one cache set. */
  t.vstride = dd_cache_stride (p->k * ((t.block + t.panel - 1) / t.panel * t.panel));
  t.mstride = dd_cache_stride (p->n * t.block);
  return t;
}

/* Rows of a packed U: whole tiles of the kernel's rows. */
static int64_t
packed_rows (int64_t n)
{
  return (n + DD_PRODUCT_ROWS - 1) / DD_PRODUCT_ROWS * DD_PRODUCT_ROWS;
}

/* Floats of one direction's U, n x k at each position. */
static gsize
u_floats (int64_t n, int64_t k, gboolean packed)
{
  return TILES * (packed ? packed_rows (n) : n) * k;
}

gsize
dd_winograd_work_floats (const DdWinograd *p, gboolean transformed, gsize budget)
{
  /* Room for either way of multiplying, chosen when the run starts. */
  Tiling blas = tiling (p, budget, FALSE), direct = tiling (p, budget, TRUE);
  const gsize slots = blas.slots * MAX (slot_floats (&blas), slot_floats (&direct));
  return (transformed ? 0 : TILES * p->k * p->n + u_floats (p->n, p->k, TRUE)) + slots;
}

/* G g for the three values g[0], g[s], g[2s], into u[0], u[s], .. u[5s].
 * Products with the reciprocals, not divisions: once the stores below went
 * out in whole lines, the divisions were half of what was left. */
static inline void
kernel_transform_1d (const double *g, int s, double *u)
{
  const double sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyfourth = 1.0 / 24;
  u[0] = 0.25 * g[0];
  u[s] = -sixth * (g[0] + g[s] + g[2 * s]);
  u[2 * s] = -sixth * (g[0] - g[s] + g[2 * s]);
  u[3 * s] = twentyfourth * g[0] + twelfth * g[s] + sixth * g[2 * s];
  u[4 * s] = twentyfourth * g[0] - twelfth * g[s] + sixth * g[2 * s];
  u[5 * s] = g[2 * s];
}

/* Planes go in runs of CHUNK: U's 36 positions lie planes floats apart,
 * and one plane's 36 scattered stores, at a power-of-two distance for
 * most layers, all fell in one cache set. A run is made in e and leaves as
 * 36 rows of whole cache lines. */
#define CHUNK 64

void
dd_winograd_transform (int64_t planes, const float *w, gboolean flip, float *u)
{
  const int64_t chunks = (planes + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t q0 = c * CHUNK, n = MIN (CHUNK, planes - q0);
    float e[TILES][CHUNK];
    for (int64_t k = 0; k < n; k++) {
      /* Down the kernel's columns into t (IN x 3), then along t's rows. */
      double g[9], t[IN][3], row[IN];
      for (int j = 0; j < 9; j++)
        g[j] = w[(q0 + k) * 9 + (flip ? 8 - j : j)];
      for (int j = 0; j < 3; j++)
        kernel_transform_1d (g + j, 3, &t[0][j]);
      for (int i = 0; i < IN; i++) {
        kernel_transform_1d (t[i], 1, row);
        for (int j = 0; j < IN; j++)
          e[IN * i + j][k] = (float) row[j];
      }
    }
    for (int x = 0; x < TILES; x++)
      memcpy (u + x * planes + q0, e[x], n * sizeof (float));
  }
}

/* U (n x k at each position, or k x n when transposed) rearranged for
 * dd_product's kernel (DdProduct.a_block): for each block of 8 rows, the 8
 * weights of each k side by side, so that a tile's weights stream from one
 * run of memory rather than 8 rows k floats apart (rows past n zero). */
static void
pack_u (const float *u, int64_t n, int64_t k, gboolean transposed, float *packed)
{
  const int64_t rows = packed_rows (n);
#pragma omp parallel for schedule(static)
  for (int e = 0; e < TILES; e++) {
    const float *ue = u + e * n * k;
    float *to = packed + e * rows * k;
    for (int64_t i = 0; i < rows; i += DD_PRODUCT_ROWS)
      for (int64_t c = 0; c < k; c++)
        for (int64_t r = i; r < i + DD_PRODUCT_ROWS; r++)
          *to++ = r >= n ? 0.0f : transposed ? ue[c * n + r] : ue[r * k + c];
  }
}

/* Column phases of row src (length w) from column x0 on: phase r holds
 * columns x0 + 4i + r for i in [lo, hi), zero outside the row; phases are
 * `len` floats apart from ph on. */
static void
deinterleave_edge (const float *src, int64_t w, int64_t x0, int64_t lo, int64_t hi, float *ph,
                   int64_t len)
{
  for (int64_t i = lo; i < hi; i++)
    for (int r = 0; r < OUT; r++) {
      int64_t x = x0 + OUT * i + r;
      ph[r * len + i] = x >= 0 && x < w ? src[x] : 0.0f;
    }
}

/* The same for i in [0, len), the inner part without bounds checks. */
DD_VECTOR_CLONES static void
deinterleave_row (const float *src, int64_t w, int64_t x0, int64_t len, float *ph)
{
  /* Groups i in [lo, hi) read columns x0 + 4i .. x0 + 4i + 3, all inside. */
  int64_t lo = x0 >= 0 ? 0 : (-x0 + OUT - 1) / OUT;
  int64_t hi = w - OUT - x0 < 0 ? 0 : (w - OUT - x0) / OUT + 1;
  lo = MIN (lo, len);
  hi = CLAMP (hi, lo, len);
  deinterleave_edge (src, w, x0, 0, lo, ph, len);
  float *p0 = ph, *p1 = ph + len, *p2 = ph + 2 * len, *p3 = ph + 3 * len;
  for (int64_t i = lo; i < hi; i++) {
    const float *s = src + x0 + OUT * i;
    p0[i] = s[0];
    p1[i] = s[1];
    p2[i] = s[2];
    p3[i] = s[3];
  }
  deinterleave_edge (src, w, x0, hi, len, ph, len);
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

/* B^T d for six values, into v0..v5. */
#define INPUT_TRANSFORM_1D(d0, d1, d2, d3, d4, d5, v0, v1, v2, v3, v4, v5)                         \
  do {                                                                                             \
    const float d31_ = (d3) - (d1), d42_ = (d4) - (d2);                                            \
    v0 = -5.0f * (d2) + 4.0f * (d0) + (d4);                                                        \
    v1 = ((d3) + (d4)) - 4.0f * ((d1) + (d2));                                                     \
    v2 = ((d4) - (d3)) + 4.0f * ((d1) - (d2));                                                     \
    v3 = d42_ + 2.0f * d31_;                                                                       \
    v4 = d42_ - 2.0f * d31_;                                                                       \
    v5 = -5.0f * (d3) + 4.0f * (d1) + (d5);                                                        \
  } while (0)

/* Along one padded input row split into its four column phases (phase c
 * at ph + c * len): a[j][x] = (d B)[j] for the six columns under tile x,
 * rows of a `stride` apart. */
DD_VECTOR_CLONES static void
transform_rows (const float *restrict ph, int64_t len, int64_t tx, float *restrict a,
                int64_t stride)
{
  const float *p0 = ph, *p1 = ph + len, *p2 = ph + 2 * len, *p3 = ph + 3 * len;
#pragma omp simd
  for (int64_t x = 0; x < tx; x++)
    INPUT_TRANSFORM_1D (p0[x], p1[x], p2[x], p3[x], p0[x + 1], p1[x + 1], a[x], a[stride + x],
                        a[2 * stride + x], a[3 * stride + x], a[4 * stride + x], a[5 * stride + x]);
}

/* Down the columns: v[i][j][x] = (B^T a)[i][j] with a[r][j][x] as
 * transform_rows left it (rows of a `len` apart, of v `stride`). */
DD_VECTOR_CLONES static void
transform_columns (const float *restrict a, int64_t len, int64_t tx, float *restrict v,
                   int64_t stride)
{
  for (int j = 0; j < IN; j++) {
    const float *c = a + j * len;
    float *o = v + j * stride;
    const int64_t r = IN * len, s = IN * stride;
#pragma omp simd
    for (int64_t x = 0; x < tx; x++)
      INPUT_TRANSFORM_1D (c[x], c[r + x], c[2 * r + x], c[3 * r + x], c[4 * r + x], c[5 * r + x],
                          o[x], o[s + x], o[2 * s + x], o[3 * s + x], o[4 * s + x], o[5 * s + x]);
  }
}

/* V[e][c][j] for tiles [x0, x0 + count) of tile row ty, for every input
 * channel c; v points at j = 0 for tile x0, rows of V are t->panel long and
 * positions e t->vstride apart. rows: scratch for six phase-split padded
 * input rows and their transform along the rows. */
static void
transform_input_segment (const DdWinograd *p, const Tiling *t, const float *in, int64_t ty,
                         int64_t x0, int64_t count, float *rows, float *v)
{
  const int64_t len = count + 1, prow = OUT * len, from = p->dx + OUT * x0;
  float *a = rows + IN * prow;
  for (int64_t c = 0; c < p->k; c++) {
    for (int64_t r = 0; r < IN; r++) {
      const int64_t iy = OUT * ty + r + p->dy;
      if (iy < 0 || iy >= p->h)
        continue;
      if (c + PREFETCH_AHEAD < p->k)
        prefetch_span (in + ((c + PREFETCH_AHEAD) * p->h + iy) * p->w, p->w, from, prow, FALSE);
    }
    for (int64_t r = 0; r < IN; r++) {
      const int64_t iy = OUT * ty + r + p->dy;
      if (iy < 0 || iy >= p->h)
        memset (rows + r * prow, 0, prow * sizeof *rows);
      else
        deinterleave_row (in + (c * p->h + iy) * p->w, p->w, from, len, rows + r * prow);
    }
    for (int64_t r = 0; r < IN; r++)
      transform_rows (rows + r * prow, len, count, a + r * IN * len, len);
    transform_columns (a, len, count, v + c * t->panel, t->vstride);
  }
}

/* A^T m for six values, into y0..y3. */
#define OUTPUT_TRANSFORM_1D(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                \
  do {                                                                                             \
    const float p12_ = (m1) + (m2), n12_ = (m1) - (m2);                                            \
    const float p34_ = (m3) + (m4), n34_ = (m3) - (m4);                                            \
    y0 = (m0) + p12_ + p34_;                                                                       \
    y1 = n12_ + 2.0f * n34_;                                                                       \
    y2 = p12_ + 4.0f * p34_;                                                                       \
    y3 = n12_ + 8.0f * n34_ + (m5);                                                                \
  } while (0)

/* Down the columns of M's tiles: s[i][c][x] = (A^T m)[i][c] for the first
 * `tiles` tiles, m's positions `stride` apart, s's rows `len`. With clear,
 * what it read of m it leaves zero, for the next block's products to add
 * to. */
DD_VECTOR_CLONES static void
output_columns (float *restrict m, int64_t stride, int64_t tiles, gboolean clear, float *restrict s,
                int64_t len)
{
  for (int c = 0; c < IN; c++) {
    float *q = m + c * stride;
    float *o = s + c * len;
    const int64_t r = IN * stride, t = IN * len;
#pragma omp simd
    for (int64_t x = 0; x < tiles; x++) {
      float v[IN];
      for (int k = 0; k < IN; k++) {
        v[k] = q[k * r + x];
        if (clear)
          q[k * r + x] = 0.0f;
      }
      OUTPUT_TRANSFORM_1D (v[0], v[1], v[2], v[3], v[4], v[5], o[x], o[t + x], o[2 * t + x],
                           o[3 * t + x]);
    }
  }
}

/* Along the rows: output row y, 4 columns a tile, from row i of s
 * (s[c][x] at s + c * len): written, or added when add. */
DD_VECTOR_CLONES static void
output_row (const float *restrict s, int64_t len, int64_t tiles, gboolean add, float *restrict y)
{
  const float *s0 = s, *s1 = s + len, *s2 = s + 2 * len, *s3 = s + 3 * len, *s4 = s + 4 * len,
              *s5 = s + 5 * len;
  if (add) {
#pragma omp simd
    for (int64_t x = 0; x < tiles; x++) {
      float a, b, c, d;
      OUTPUT_TRANSFORM_1D (s0[x], s1[x], s2[x], s3[x], s4[x], s5[x], a, b, c, d);
      y[OUT * x] += a;
      y[OUT * x + 1] += b;
      y[OUT * x + 2] += c;
      y[OUT * x + 3] += d;
    }
  } else {
#pragma omp simd
    for (int64_t x = 0; x < tiles; x++)
      OUTPUT_TRANSFORM_1D (s0[x], s1[x], s2[x], s3[x], s4[x], s5[x], y[OUT * x], y[OUT * x + 1],
                           y[OUT * x + 2], y[OUT * x + 3]);
  }
}

/* Like output_row for the last tile when the right edge cuts it: cols of
 * its 4 columns are kept. */
static void
output_row_edge (const float *s, int64_t len, int64_t x, int64_t cols, gboolean add, float *y)
{
  float t[OUT];
  OUTPUT_TRANSFORM_1D (s[x], s[len + x], s[2 * len + x], s[3 * len + x], s[4 * len + x],
                       s[5 * len + x], t[0], t[1], t[2], t[3]);
  for (int64_t j = 0; j < cols; j++)
    y[OUT * x + j] = add ? y[OUT * x + j] + t[j] : t[j];
}

/* Output tiles [x0, x1) of tile row ty for every output channel, from
 * M[e][o][j]; m points at j = 0 for tile x0, laid out as V. scratch:
 * 24 rows of x1 - x0 floats. */
static void
transform_output_segment (const DdWinograd *p, const Tiling *t, float *m, int64_t ty, int64_t x0,
                          int64_t x1, gboolean add, float *scratch, float *out)
{
  const int64_t stride = t->mstride, y_top = OUT * ty;
  const int rows = (int) MIN (OUT, p->oh - y_top);
  const int64_t len = x1 - x0, cols = MIN (OUT * len, p->ow - OUT * x0);
  /* Whole tiles, then the one the right edge cuts. */
  const int64_t whole = CLAMP (p->ow / OUT, x0, x1) - x0;
  for (int64_t o = 0; o < p->n; o++) {
    float *mo = m + o * t->block;
    float *y[OUT];
    for (int i = 0; i < rows; i++)
      y[i] = out + (o * p->oh + y_top + i) * p->ow + OUT * x0;
    if (o + PREFETCH_AHEAD < p->n) {
      const float *ahead = out + ((o + PREFETCH_AHEAD) * p->oh + y_top) * p->ow;
      for (int i = 0; i < rows; i++)
        prefetch_span (ahead + i * p->ow, p->ow, OUT * x0, OUT * len, TRUE);
    }
    output_columns (mo, stride, len, !t->direct, scratch, len);
    for (int i = 0; i < rows; i++) {
      output_row (scratch + i * IN * len, len, whole, add, y[i]);
      if (whole < len)
        output_row_edge (scratch + i * IN * len, len, whole, cols - OUT * whole, add, y[i]);
    }
    /* Bias and ReLU while the rows are in cache. */
    if (p->bias || p->relu_mask) {
      const float b = p->bias ? p->bias[o] : 0.0f;
      for (int i = 0; i < rows; i++)
        dd_bias_relu (y[i], y[i], cols, b, p->relu_mask ? p->relu_mask + (y[i] - out) : NULL);
    }
  }
}

/* M[e] = U[e] V[e] for one block of `count` tiles, on this thread (OpenBLAS
 * runs single-threaded inside a parallel region); backward's U, of the
 * flipped kernels, read transposed. M is zero here (cleared when the run
 * starts and by output_columns after each block), so the products add to
 * it. With beta 0 OpenBLAS clears it in a pass of its own: on an AVX2 Zen
 * 3 that pass took about 500 of a 1024x768 step's 27K CPU samples, the
 * clearing in output_columns, on lines it has just read, at most 160
 * (perf record -F 999 build/tools/bench --runs 20 --no-sgemm). */
static void
multiply (const DdWinograd *p, const Tiling *t, const float *u, const float *v, int64_t count,
          float *m)
{
  if (t->direct) {
    /* Both operands as the kernel reads them: no packing per block. */
    for (int e = 0; e < TILES; e++) {
      const DdProduct d = { .m = p->n,
                            .n = count,
                            .k = p->k,
                            .a = u + e * packed_rows (p->n) * p->k,
                            .a_row = 1,
                            .a_col = DD_PRODUCT_ROWS,
                            .a_block = DD_PRODUCT_ROWS * p->k,
                            .b = v + e * t->vstride,
                            .b_packed = TRUE,
                            .ldb = DD_PRODUCT_TILE,
                            .c = m + e * t->mstride,
                            .ldc = t->block };
      dd_product (&d);
    }
    return;
  }
  for (int e = 0; e < TILES; e++)
    cblas_sgemm (CblasRowMajor, p->backward ? CblasTrans : CblasNoTrans, CblasNoTrans, p->n, count,
                 p->k, 1.0f, u + e * p->n * p->k, p->backward ? p->n : p->k, v + e * t->vstride,
                 t->block, 1.0f, m + e * t->mstride, t->block);
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
  float *v = slot, *m = slot_m (t, slot), *rows = m + TILES * t->mstride;
  int64_t ty, x0, n;
  for (int64_t i = 0; i < count; i += n) {
    /* Within a panel of V. */
    n = MIN (segment (t, t0 + i, count - i, &ty, &x0), t->panel - i % t->panel);
    transform_input_segment (p, t, in, ty, x0, n, rows,
                             v + i / t->panel * t->panel * p->k + i % t->panel);
  }
  multiply (p, t, u, v, count, m);
  for (int64_t i = 0; i < count; i += n) {
    n = segment (t, t0 + i, count - i, &ty, &x0);
    transform_output_segment (p, t, m + i, ty, x0, x0 + n, add, rows, out);
  }
}

typedef struct {
  const DdWinograd *p;
  const Tiling *t;
  const float *u, *in;
  float *out;
  gboolean add;
  float *slots;
} WinogradJob;

static void
clear_m (gpointer data, int64_t i, int slot)
{
  const WinogradJob *j = data;
  (void) slot;
  memset (slot_m (j->t, j->slots + i * slot_floats (j->t)), 0,
          TILES * j->t->mstride * sizeof (float));
}

static void
run_job_block (gpointer data, int64_t b, int slot)
{
  const WinogradJob *j = data;
  const int64_t block = j->t->block;
  run_block (j->p, j->t, j->u, j->in, b * block, MIN (block, j->t->tiles - b * block), j->add,
             j->slots + slot * slot_floats (j->t), j->out);
}

/* Kept weights (dd_winograd_weights) start with a line saying whether
 * they were packed for the kernel: then the products must take it. */
#define HEAD 16

void
dd_winograd_run (const DdWinograd *p, const float *weights, const float *in, float *out,
                 gboolean add, float *work, gsize budget)
{
  const gboolean direct = p->transformed ? p->transformed[0] != 0.0f : dd_product_packs ();
  const Tiling t = tiling (p, budget, direct);
  const int64_t n_blocks = (t.tiles + t.block - 1) / t.block;
  const int64_t planes = p->k * p->n;
  const float *u;
  float *slots = work;
  if (p->transformed) {
    /* The forward's U, of out x in, then the backward's. */
    const int64_t o = p->backward ? p->k : p->n, c = p->backward ? p->n : p->k;
    u = p->transformed + HEAD + (p->backward ? u_floats (o, c, direct) : 0);
  } else {
    dd_winograd_transform (planes, weights, p->backward, work);
    u = work;
    slots = work + TILES * planes;
    if (direct) {
      pack_u (work, p->n, p->k, p->backward, slots);
      u = slots;
      slots += u_floats (p->n, p->k, TRUE);
    }
  }
  WinogradJob j = { .p = p, .t = &t, .u = u, .in = in, .out = out, .add = add, .slots = slots };
  if (!direct)
    dd_parallel (t.slots, clear_m, &j); /* see multiply */
  dd_parallel (n_blocks, run_job_block, &j);
}

float *
dd_winograd_weights (int64_t out, int64_t in, const float *weights)
{
  const gboolean packed = dd_product_packs ();
  const int64_t planes = out * in;
  const gsize fwd = u_floats (out, in, packed), bwd = u_floats (in, out, packed);
  float *u = dd_alloc_huge ((HEAD + fwd + bwd) * sizeof (float));
  if (!u)
    return NULL;
  memset (u, 0, HEAD * sizeof (float));
  u[0] = packed ? 1.0f : 0.0f;
  if (!packed) {
    dd_winograd_transform (planes, weights, FALSE, u + HEAD);
    dd_winograd_transform (planes, weights, TRUE, u + HEAD + fwd);
    return u;
  }
  /* Transformed, then packed; the backward's U is the flipped kernels'
   * read transposed (in x out). */
  float *plain = g_try_new (float, TILES *planes);
  if (!plain) {
    free (u);
    return NULL;
  }
  dd_winograd_transform (planes, weights, FALSE, plain);
  pack_u (plain, out, in, FALSE, u + HEAD);
  dd_winograd_transform (planes, weights, TRUE, plain);
  pack_u (plain, in, out, TRUE, u + HEAD + fwd);
  g_free (plain);
  return u;
}
