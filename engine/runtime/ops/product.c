/* product.c: the convolutions' matrix products, finished (bias, ReLU) on
 * the way out.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why our own kernel beside OpenBLAS: a convolution's product is short on
 * one side (16 to 256 output channels against thousands of pixels).
 * OpenBLAS packs both operands for every product and leaves bias and ReLU
 * to another pass over the result; on one core it ran a 16-row product
 * (a 5x5_reduce conv) at 70 GFLOP/s, this kernel at 78-93. Here the
 * weights are read where they lie, the pixels too when their rows are
 * close together (an unrolled im2col block) and otherwise packed a panel
 * at a time, a tile of 8 rows by 48 pixels is summed in registers over the
 * whole inner dimension, and the tile leaves with its bias and ReLU
 * applied. Each element is summed in the order of k, whatever the tiles
 * and threads, so the result does not depend on the thread count.
 *
 * CPUs with AVX2 and FMA but no AVX-512 run the same kernel in 256-bit
 * registers (tiles of 6 rows by 16 pixels) rather than OpenBLAS's Haswell
 * kernels: the forwards of GoogLeNet's conv1, 5x5 and 1x1 layers took 7
 * to 14 % less time (measured on an AVX-512 Xeon standing in for an AVX2
 * CPU). CPUs without AVX2 run OpenBLAS.
 */
#include "dd-ops.h"

#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_PRODUCT_KERNELS 1
#endif

/* Rows by 16-float vectors of a tile: 24 accumulators, 3 pixel vectors
 * and a broadcast weight fill the 32 registers. */
#define TILE_ROWS DD_PRODUCT_ROWS
#define TILE_VECTORS 3
#define TILE_COLUMNS (16 * TILE_VECTORS)
G_STATIC_ASSERT (TILE_ROWS == 8 && TILE_COLUMNS == DD_PRODUCT_TILE &&
                 DD_PRODUCT_PANEL % TILE_COLUMNS == 0);

#ifdef HAVE_PRODUCT_KERNELS
#define AVX512 __attribute__ ((target ("avx512f,avx512bw,avx512vl,fma")))

/* One tile: rows [i0, i0 + rows) and the columns of the masks from j0 of
 * C, whose B columns start at b (rows ldb apart). rows is a constant at
 * each call, so that the accumulators stay in registers; so is packed
 * (both operands packed, DdProduct.a_block and b_packed), whose strides
 * are then constants too: the loop's address arithmetic had as many
 * instructions as its loads. */
AVX512 static inline __attribute__ ((always_inline)) void
product_tile (const DdProduct *p, const float *b, int64_t ldb, int64_t i0, const int rows,
              int64_t j0, const __mmask16 *m, const gboolean packed)
{
  const int64_t a_row = packed ? 1 : p->a_row, a_col = packed ? TILE_ROWS : p->a_col;
  const int64_t n_k = p->k;
  if (packed)
    ldb = TILE_COLUMNS;
  __m512 acc[TILE_ROWS][TILE_VECTORS];
  float *c = p->c + i0 * p->ldc + j0;
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 3
    for (int v = 0; v < TILE_VECTORS; v++)
      acc[r][v] = _mm512_setzero_ps ();
  const float *a = p->a + (p->a_block ? i0 / TILE_ROWS * p->a_block : i0 * p->a_row);
  for (int64_t k = 0; k < n_k; k++) {
    __m512 x[TILE_VECTORS];
#pragma GCC unroll 3
    for (int v = 0; v < TILE_VECTORS; v++)
      x[v] = _mm512_maskz_loadu_ps (m[v], b + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
      const __m512 w = _mm512_set1_ps (a[r * a_row]);
#pragma GCC unroll 3
      for (int v = 0; v < TILE_VECTORS; v++)
        acc[r][v] = _mm512_fmadd_ps (w, x[v], acc[r][v]);
    }
    a += a_col;
    b += ldb;
  }
  const __m512 zero = _mm512_setzero_ps ();
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++) {
    const __m512 bias = _mm512_set1_ps (p->bias ? p->bias[i0 + r] : 0.0f);
#pragma GCC unroll 3
    for (int v = 0; v < TILE_VECTORS; v++) {
      const int64_t at = r * p->ldc + 16 * v;
      __m512 y = _mm512_add_ps (acc[r][v], bias);
      if (p->relu_mask) {
        const __mmask16 pos = _mm512_cmp_ps_mask (y, zero, _CMP_GT_OQ);
        y = _mm512_maskz_mov_ps (pos, y);
        _mm_mask_storeu_epi8 (p->relu_mask + (i0 * p->ldc + j0) + at, m[v],
                              _mm_maskz_set1_epi8 (pos, 1));
      }
      if (p->stream && m[v] == 0xffff && (guintptr) (c + at) % 64 == 0)
        _mm512_stream_ps (c + at, y);
      else
        _mm512_mask_storeu_ps (c + at, m[v], y);
    }
  }
}

/* Where tile t of a panel starting at column j0 finds its B. */
typedef struct {
  const float *b;
  int64_t ldb, tile_floats; /* from one tile's B to the next */
} PanelB;

/* Every tile of the panel [j0, j0 + len) for rows [i0, i0 + rows): the
 * rows' weights stay in the L1 cache while the panel's B streams past. */
AVX512 static inline __attribute__ ((always_inline)) void
product_rows (const DdProduct *p, const PanelB *pb, int64_t i0, const int rows, int64_t j0,
              int64_t len, const gboolean packed)
{
  for (int64_t t = 0; t * TILE_COLUMNS < len; t++) {
    __mmask16 m[TILE_VECTORS];
    for (int v = 0; v < TILE_VECTORS; v++) {
      const int64_t left = CLAMP (len - t * TILE_COLUMNS - 16 * v, 0, 16);
      m[v] = (__mmask16) ((1u << left) - 1);
    }
    product_tile (p, pb->b + t * pb->tile_floats, pb->ldb, i0, rows, j0 + t * TILE_COLUMNS, m,
                  packed);
  }
}

AVX512 static inline __attribute__ ((always_inline)) void
product_panel_as (const DdProduct *p, const PanelB *pb, int64_t j0, int64_t len,
                  const gboolean packed)
{
  int64_t i0 = 0;
  for (; i0 + TILE_ROWS <= p->m; i0 += TILE_ROWS)
    product_rows (p, pb, i0, TILE_ROWS, j0, len, packed);
    /* The last rows, with as many accumulators as they need. */
#define ROWS(r) product_rows (p, pb, i0, r, j0, len, packed)
  DD_PRODUCT_LAST_ROWS (p->m - i0, ROWS);
#undef ROWS
}

AVX512 static void
product_panel (const DdProduct *p, const PanelB *pb, int64_t j0, int64_t len)
{
  if (p->a_block && p->b_packed)
    product_panel_as (p, pb, j0, len, TRUE);
  else
    product_panel_as (p, pb, j0, len, FALSE);
}

/* B's columns [j0, j0 + len) copied into pack, tile after tile, each
 * tile's k rows of TILE_COLUMNS side by side (zeros past len). */
AVX512 static void
pack_panel (const DdProduct *p, int64_t j0, int64_t len, float *pack)
{
  const int64_t tiles = (len + TILE_COLUMNS - 1) / TILE_COLUMNS;
  for (int64_t k = 0; k < p->k; k++) {
    const float *src = p->b + k * p->ldb + j0;
    for (int64_t t = 0; t < tiles; t++) {
      float *dst = pack + (t * p->k + k) * TILE_COLUMNS;
      for (int v = 0; v < TILE_VECTORS; v++) {
        const int64_t at = t * TILE_COLUMNS + 16 * v, left = CLAMP (len - at, 0, 16);
        _mm512_storeu_ps (dst + 16 * v,
                          _mm512_maskz_loadu_ps ((__mmask16) ((1u << left) - 1), src + at));
      }
    }
  }
}

AVX512 static void
product_avx512 (const DdProduct *p)
{
  /* Unpacked, a tile of B at a time for every row: B is the wider
   * operand, and its tile stays in the L1 cache while the weights stream
   * past. Packed, the panel (in L2) for every row, block after block of
   * rows, whose weights stay in L1. Measured on one core (Xeon, AVX-512):
   * 16 x 192 x 12288 products packed went from 81 to 93 GFLOP/s, a conv1
   * block (64 x 147 x 8192) unpacked fell from 156 to 75 GFLOP/s the
   * other way round. */
  const int64_t panel = p->pack || p->b_packed ? DD_PRODUCT_PANEL : TILE_COLUMNS;
  for (int64_t j0 = 0; j0 < p->n; j0 += panel) {
    const int64_t len = MIN (panel, p->n - j0);
    PanelB pb = { p->b + j0, p->ldb, TILE_COLUMNS };
    if (p->b_packed)
      pb = (PanelB){ p->b + j0 * p->k, TILE_COLUMNS, p->k * TILE_COLUMNS };
    else if (p->pack) {
      pack_panel (p, j0, len, p->pack);
      pb = (PanelB){ p->pack, TILE_COLUMNS, p->k * TILE_COLUMNS };
    }
    product_panel (p, &pb, j0, len);
  }
  if (p->stream)
    _mm_sfence ();
}

/* The same kernel for CPUs with AVX2 and FMA but no AVX-512 (16 registers
 * of 8 floats): tiles of AVX2_ROWS rows by AVX2_VECTORS vectors, whose
 * accumulators, pixel vectors and broadcast weight fit the 16 registers.
 * Each element is the same chain of fused multiply-adds in the order of k
 * as in the AVX-512 kernel, so both give the same bits. 6 x 16 rather
 * than 4 x 24, which loads less per FMA (7 loads for 12 FMAs against 8)
 * but measured slower: GoogLeNet's conv1 forward 50 against 41 ms a step,
 * its 5x5 layers' 32.5 against 30.3 (AVX2 code on an AVX-512 Xeon,
 * medians of three rounds). */
#define AVX2_ROWS 6
#define AVX2_VECTORS 2
#define AVX2_COLUMNS (8 * AVX2_VECTORS)
G_STATIC_ASSERT (AVX2_ROWS *AVX2_VECTORS + AVX2_VECTORS + 1 <= 16 &&
                 DD_PRODUCT_PANEL % AVX2_COLUMNS == 0);

#define AVX2 __attribute__ ((target ("avx2,fma")))

/* One byte (0 or 1) per bit of an 8-bit mask, lowest bit first: each byte
 * takes a copy of the mask, keeps its own bit, which adding 0x7f carries
 * into the byte's top bit (never beyond it). */
static inline guint64
spread_bits (unsigned bits)
{
  const guint64 ones = 0x0101010101010101u;
  const guint64 own = (bits * ones) & 0x8040201008040201u;
  return ((own + 0x7f7f7f7f7f7f7f7fu) >> 7) & ones;
}

/* One tile: rows [i0, i0 + rows) and columns [j0, j0 + MIN (left,
 * AVX2_COLUMNS)) of C, whose B columns start at b (rows ldb apart).
 * masked: the tile's B columns end before AVX2_COLUMNS and must not be
 * read beyond (B unpacked; a packed tile is padded with zeros). rows and
 * masked are constants at each call, so that the accumulators stay in
 * registers. */
AVX2 static inline __attribute__ ((always_inline)) void
product_tile_avx2 (const DdProduct *p, const float *b, int64_t ldb, int64_t i0, const int rows,
                   int64_t j0, int64_t left, const gboolean masked)
{
  __m256 acc[AVX2_ROWS][AVX2_VECTORS];
  __m256i lanes[AVX2_VECTORS];
#pragma GCC unroll 4
  for (int v = 0; v < AVX2_VECTORS; v++)
    lanes[v] = _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) MIN (left - 8 * v, 8)),
                                   _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
    for (int v = 0; v < AVX2_VECTORS; v++)
      acc[r][v] = _mm256_setzero_ps ();
  const float *a = p->a + i0 * p->a_row;
  for (int64_t k = 0; k < p->k; k++) {
    __m256 x[AVX2_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < AVX2_VECTORS; v++)
      x[v] = masked ? _mm256_maskload_ps (b + 8 * v, lanes[v]) : _mm256_loadu_ps (b + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
      const __m256 w = _mm256_broadcast_ss (a + r * p->a_row);
#pragma GCC unroll 4
      for (int v = 0; v < AVX2_VECTORS; v++)
        acc[r][v] = _mm256_fmadd_ps (w, x[v], acc[r][v]);
    }
    a += p->a_col;
    b += ldb;
  }
  /* A partial tile goes out through a buffer, its columns copied: AVX2's
   * masked stores are slow on some CPUs, and there is one such tile per
   * panel and row block. */
  const gboolean full = left >= AVX2_COLUMNS;
  const __m256 zero = _mm256_setzero_ps ();
  float *c = p->c + i0 * p->ldc + j0;
#pragma GCC unroll 8
  for (int r = 0; r < rows; r++) {
    const __m256 bias = _mm256_set1_ps (p->bias ? p->bias[i0 + r] : 0.0f);
    float *cr = c + r * p->ldc;
    float part[AVX2_COLUMNS];
    guint8 part_mask[AVX2_COLUMNS];
#pragma GCC unroll 4
    for (int v = 0; v < AVX2_VECTORS; v++) {
      __m256 y = _mm256_add_ps (acc[r][v], bias);
      if (p->relu_mask) {
        const __m256 pos = _mm256_cmp_ps (y, zero, _CMP_GT_OQ);
        y = _mm256_and_ps (y, pos);
        const guint64 bytes = spread_bits ((unsigned) _mm256_movemask_ps (pos));
        memcpy (full ? p->relu_mask + (i0 + r) * p->ldc + j0 + 8 * v : part_mask + 8 * v, &bytes,
                8);
      }
      if (!full)
        _mm256_storeu_ps (part + 8 * v, y);
      else if (p->stream && (guintptr) (cr + 8 * v) % 32 == 0)
        _mm256_stream_ps (cr + 8 * v, y);
      else
        _mm256_storeu_ps (cr + 8 * v, y);
    }
    if (!full) {
      memcpy (cr, part, left * sizeof *part);
      if (p->relu_mask)
        memcpy (p->relu_mask + (i0 + r) * p->ldc + j0, part_mask, left);
    }
  }
}

/* Every tile of the panel [j0, j0 + len) for rows [i0, i0 + rows), as
 * product_rows. */
AVX2 static inline __attribute__ ((always_inline)) void
product_rows_avx2 (const DdProduct *p, const PanelB *pb, int64_t i0, const int rows, int64_t j0,
                   int64_t len)
{
  int64_t t = 0;
  for (; (t + 1) * AVX2_COLUMNS <= len; t++)
    product_tile_avx2 (p, pb->b + t * pb->tile_floats, pb->ldb, i0, rows, j0 + t * AVX2_COLUMNS,
                       AVX2_COLUMNS, FALSE);
  if (t * AVX2_COLUMNS == len)
    return;
  const int64_t left = len - t * AVX2_COLUMNS;
  if (p->pack)
    product_tile_avx2 (p, pb->b + t * pb->tile_floats, pb->ldb, i0, rows, j0 + t * AVX2_COLUMNS,
                       left, FALSE);
  else
    product_tile_avx2 (p, pb->b + t * pb->tile_floats, pb->ldb, i0, rows, j0 + t * AVX2_COLUMNS,
                       left, TRUE);
}

/* The rows of a panel, AVX2_ROWS at a time, then the last ones with as
 * many accumulators as they need (MIN keeps each count within the tile's
 * should AVX2_ROWS be fewer than 6). */
AVX2 static void
product_panel_avx2 (const DdProduct *p, const PanelB *pb, int64_t j0, int64_t len)
{
  int64_t i0 = 0;
  for (; i0 + AVX2_ROWS <= p->m; i0 += AVX2_ROWS)
    product_rows_avx2 (p, pb, i0, AVX2_ROWS, j0, len);
  switch (p->m - i0) {
  case 5:
    product_rows_avx2 (p, pb, i0, MIN (5, AVX2_ROWS), j0, len);
    break;
  case 4:
    product_rows_avx2 (p, pb, i0, MIN (4, AVX2_ROWS), j0, len);
    break;
  case 3:
    product_rows_avx2 (p, pb, i0, MIN (3, AVX2_ROWS), j0, len);
    break;
  case 2:
    product_rows_avx2 (p, pb, i0, MIN (2, AVX2_ROWS), j0, len);
    break;
  case 1:
    product_rows_avx2 (p, pb, i0, 1, j0, len);
    break;
  default:
    break;
  }
}

/* As pack_panel, in tiles of AVX2_COLUMNS. */
AVX2 static void
pack_panel_avx2 (const DdProduct *p, int64_t j0, int64_t len, float *pack)
{
  const int64_t tiles = (len + AVX2_COLUMNS - 1) / AVX2_COLUMNS;
  const __m256i index = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t k = 0; k < p->k; k++) {
    const float *src = p->b + k * p->ldb + j0;
    for (int64_t t = 0; t < tiles; t++) {
      float *dst = pack + (t * p->k + k) * AVX2_COLUMNS;
      for (int v = 0; v < AVX2_VECTORS; v++) {
        const int64_t at = t * AVX2_COLUMNS + 8 * v, left = CLAMP (len - at, 0, 8);
        const __m256 x =
            left == 8 ? _mm256_loadu_ps (src + at)
                      : _mm256_maskload_ps (
                            src + at, _mm256_cmpgt_epi32 (_mm256_set1_epi32 ((int) left), index));
        _mm256_storeu_ps (dst + 8 * v, x);
      }
    }
  }
}

/* As product_avx512. */
AVX2 static void
product_avx2 (const DdProduct *p)
{
  const int64_t panel = p->pack ? DD_PRODUCT_PANEL : AVX2_COLUMNS;
  for (int64_t j0 = 0; j0 < p->n; j0 += panel) {
    const int64_t len = MIN (panel, p->n - j0);
    PanelB pb = { p->b + j0, p->ldb, AVX2_COLUMNS };
    if (p->pack) {
      pack_panel_avx2 (p, j0, len, p->pack);
      pb = (PanelB){ p->pack, AVX2_COLUMNS, p->k * AVX2_COLUMNS };
    }
    product_panel_avx2 (p, &pb, j0, len);
  }
  if (p->stream)
    _mm_sfence ();
}
#endif

/* Elsewhere OpenBLAS, then a pass for the bias and ReLU. */
static void
product_blas (const DdProduct *p)
{
  /* A single row or column has both strides 1, where OpenBLAS still wants
   * a leading dimension of at least k (or m) and computes nothing else. */
  const gboolean trans_a = p->a_col != 1;
  const int64_t lda = trans_a ? MAX (p->a_col, p->m) : MAX (p->a_row, p->k);
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, p->m, p->n, p->k,
               1.0f, p->a, MAX (lda, 1), p->b, p->ldb, 0.0f, p->c, p->ldc);
  if (!p->bias && !p->relu_mask)
    return;
  for (int64_t i = 0; i < p->m; i++)
    dd_bias_relu (p->c + i * p->ldc, p->c + i * p->ldc, p->n, p->bias ? p->bias[i] : 0.0f,
                  p->relu_mask ? p->relu_mask + i * p->ldc : NULL);
}

gsize
dd_product_pack_floats (int64_t k)
{
  return (gsize) MAX (k, 1) * DD_PRODUCT_PANEL;
}

/* DD_PRODUCT_AUTO unless a test or benchmark chose a kernel. */
static atomic_int forced;

static gboolean
kernel_runs_here (DdProductKernel kernel)
{
  switch (kernel) {
#ifdef HAVE_PRODUCT_KERNELS
  case DD_PRODUCT_AVX512:
    return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
           __builtin_cpu_supports ("avx512vl");
  case DD_PRODUCT_AVX2:
    return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#endif
  case DD_PRODUCT_BLAS:
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean
dd_product_force (DdProductKernel kernel)
{
  if (kernel != DD_PRODUCT_AUTO && !kernel_runs_here (kernel))
    return FALSE;
  atomic_store (&forced, kernel);
  return TRUE;
}

DdProductKernel
dd_product_kernel (void)
{
  const DdProductKernel kernel = atomic_load (&forced);
  if (kernel != DD_PRODUCT_AUTO)
    return kernel;
  if (kernel_runs_here (DD_PRODUCT_AVX512))
    return DD_PRODUCT_AVX512;
  if (kernel_runs_here (DD_PRODUCT_AVX2))
    return DD_PRODUCT_AVX2;
  return DD_PRODUCT_BLAS;
}

const char *
dd_product_kernel_name (DdProductKernel kernel)
{
  switch (kernel) {
  case DD_PRODUCT_AVX512:
    return "AVX-512";
  case DD_PRODUCT_AVX2:
    return "AVX2";
  case DD_PRODUCT_BLAS:
    return "OpenBLAS";
  default:
    return "automatic";
  }
}

gboolean
dd_product_direct (void)
{
  return dd_product_kernel () != DD_PRODUCT_BLAS;
}

gboolean
dd_product_packs (void)
{
  return dd_product_kernel () == DD_PRODUCT_AVX512;
}

void
dd_product (const DdProduct *p)
{
  g_return_if_fail (p->a_row == 1 || p->a_col == 1);
  if (p->m <= 0 || p->n <= 0)
    return;
  /* Operands packed for the AVX-512 kernel (while it was chosen) only it
   * reads, whichever kernel is chosen now. */
  if (p->a_block || p->b_packed) {
#ifdef HAVE_PRODUCT_KERNELS
    if (kernel_runs_here (DD_PRODUCT_AVX512)) {
      product_avx512 (p);
      return;
    }
#endif
    g_return_if_reached ();
  }
  switch (dd_product_kernel ()) {
#ifdef HAVE_PRODUCT_KERNELS
  case DD_PRODUCT_AVX512:
    product_avx512 (p);
    break;
  case DD_PRODUCT_AVX2:
    product_avx2 (p);
    break;
#endif
  default:
    product_blas (p);
    break;
  }
}
