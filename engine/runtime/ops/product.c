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
 */
#include "dd-ops.h"

#include <cblas.h>
#include <stdatomic.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_PRODUCT_AVX512 1
#endif

/* Rows by 16-float vectors of a tile: 24 accumulators, 3 pixel vectors
 * and a broadcast weight fill the 32 registers. */
#define TILE_ROWS DD_PRODUCT_ROWS
#define TILE_VECTORS 3
#define TILE_COLUMNS (16 * TILE_VECTORS)
G_STATIC_ASSERT (TILE_ROWS == 8 && TILE_COLUMNS == DD_PRODUCT_TILE &&
                 DD_PRODUCT_PANEL % TILE_COLUMNS == 0);

#ifdef HAVE_PRODUCT_AVX512
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
  switch (p->m - i0) {
  case 7:
    product_rows (p, pb, i0, 7, j0, len, packed);
    break;
  case 6:
    product_rows (p, pb, i0, 6, j0, len, packed);
    break;
  case 5:
    product_rows (p, pb, i0, 5, j0, len, packed);
    break;
  case 4:
    product_rows (p, pb, i0, 4, j0, len, packed);
    break;
  case 3:
    product_rows (p, pb, i0, 3, j0, len, packed);
    break;
  case 2:
    product_rows (p, pb, i0, 2, j0, len, packed);
    break;
  case 1:
    product_rows (p, pb, i0, 1, j0, len, packed);
    break;
  default:
    break;
  }
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

static atomic_bool force_blas;

void
dd_product_force_blas (gboolean blas)
{
  atomic_store (&force_blas, blas);
}

static gboolean
has_kernel (void)
{
#ifdef HAVE_PRODUCT_AVX512
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
         __builtin_cpu_supports ("avx512vl");
#else
  return FALSE;
#endif
}

gboolean
dd_product_direct (void)
{
  return !atomic_load (&force_blas) && has_kernel ();
}

void
dd_product (const DdProduct *p)
{
  g_return_if_fail (p->a_row == 1 || p->a_col == 1);
  if (p->m <= 0 || p->n <= 0)
    return;
  /* Operands made for the kernel (while it was chosen) only it reads. */
  const gboolean packed = p->a_block || p->b_packed;
#ifdef HAVE_PRODUCT_AVX512
  if (packed ? has_kernel () : dd_product_direct ()) {
    product_avx512 (p);
    return;
  }
#endif
  g_return_if_fail (!packed);
  product_blas (p);
}
