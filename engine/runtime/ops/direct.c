/* direct.c: stride-1 convolutions summed straight from zero-padded planes.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why beside im2col + dd_product: with stride 1, the B row of tap
 * k = (c, ky, kx) for the consecutive outputs of one output row is a run
 * of consecutive floats of the padded input, at c * plane + ky * pitch +
 * kx from the row's start. The product's tile (8 output channels by 48
 * pixels in 24 registers) then reads its B rows through a table of those
 * offsets instead of from an unrolled copy: for a 5x5 kernel the tile's
 * B comes from 5 short rows of each channel, in L1, where the unrolled
 * block held 25 of them, and the block is never written. Each element is
 * summed in the order of k as dd_product sums it, then the bias added, so
 * a forward gives the im2col path's bytes, and the result does not
 * depend on the blocks or threads.
 */
#include "dd-ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_DIRECT_AVX512 1
#endif

#define TILE_ROWS 8
#define TILE_VECTORS 3
#define TILE_COLUMNS (16 * TILE_VECTORS)

#ifdef HAVE_DIRECT_AVX512
#define AVX512 __attribute__ ((target ("avx512f,avx512bw,avx512vl,fma")))

/* Rows [i0, i0 + rows) of C at output row r, columns [x0, x0 + 16 *
 * vectors) masked by m. rows and vectors are constants at each call, so
 * that the accumulators stay in registers. */
AVX512 static inline __attribute__ ((always_inline)) void
direct_tile (const DdDirect *p, int64_t i0, const int rows, int64_t r, int64_t x0,
             const int vectors, const __mmask16 *m)
{
  __m512 acc[TILE_ROWS][TILE_VECTORS];
#pragma GCC unroll 8
  for (int i = 0; i < rows; i++)
#pragma GCC unroll 3
    for (int v = 0; v < vectors; v++)
      acc[i][v] = _mm512_setzero_ps ();
  const float *a = p->a + i0 * p->a_row;
  const float *in = p->in + r * p->pitch + x0;
  for (int64_t k = 0; k < p->k; k++) {
    const float *b = in + p->off[k];
    __m512 x[TILE_VECTORS];
#pragma GCC unroll 3
    for (int v = 0; v < vectors; v++)
      x[v] = _mm512_maskz_loadu_ps (m[v], b + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
      const __m512 w = _mm512_set1_ps (a[i * p->a_row]);
#pragma GCC unroll 3
      for (int v = 0; v < vectors; v++)
        acc[i][v] = _mm512_fmadd_ps (w, x[v], acc[i][v]);
    }
    a += p->a_col;
  }
  const __m512 zero = _mm512_setzero_ps ();
  const int64_t at0 = i0 * p->ldc + r * p->cols + x0;
#pragma GCC unroll 8
  for (int i = 0; i < rows; i++) {
    const __m512 bias = _mm512_set1_ps (p->bias ? p->bias[i0 + i] : 0.0f);
#pragma GCC unroll 3
    for (int v = 0; v < vectors; v++) {
      const int64_t at = at0 + i * p->ldc + 16 * v;
      const __m512 y0 = p->add ? _mm512_maskz_loadu_ps (m[v], p->c + at) : bias;
      __m512 y = _mm512_add_ps (acc[i][v], y0);
      if (p->relu_mask) {
        const __mmask16 pos = _mm512_cmp_ps_mask (y, zero, _CMP_GT_OQ);
        y = _mm512_maskz_mov_ps (pos, y);
        _mm_mask_storeu_epi8 (p->relu_mask + at, m[v], _mm_maskz_set1_epi8 (pos, 1));
      }
      if (p->stream && m[v] == 0xffff && (guintptr) (p->c + at) % 64 == 0)
        _mm512_stream_ps (p->c + at, y);
      else
        _mm512_mask_storeu_ps (p->c + at, m[v], y);
    }
  }
}

/* Rows [i0, i0 + rows) of C, every output row's tiles: their weights stay
 * in L1 while the padded block (in L2) streams past. Tiles stay within an
 * output row, the last of a row as narrow as its vectors allow (a row of
 * 128 is 48 + 48 + 32): with tiles running on into the next row, the
 * padding columns between rows would be summed and thrown away. */
AVX512 static inline __attribute__ ((always_inline)) void
direct_rows (const DdDirect *p, int64_t i0, const int rows)
{
  for (int64_t r = 0; r < p->rows; r++)
    for (int64_t x0 = 0; x0 < p->cols; x0 += TILE_COLUMNS) {
      __mmask16 m[TILE_VECTORS];
      for (int v = 0; v < TILE_VECTORS; v++) {
        const int64_t left = CLAMP (p->cols - x0 - 16 * v, 0, 16);
        m[v] = (__mmask16) ((1u << left) - 1);
      }
      const int64_t left = p->cols - x0;
      if (left > 32)
        direct_tile (p, i0, rows, r, x0, 3, m);
      else if (left > 16)
        direct_tile (p, i0, rows, r, x0, 2, m);
      else
        direct_tile (p, i0, rows, r, x0, 1, m);
    }
}

/* Row blocks of C outermost, tiles of pixels inside: GoogLeNet's five 5x5
 * layers took 0.77 (forward) and 0.79 (backward) of im2col's time this
 * way, 0.81 and 0.82 with each tile of pixels taken for every row block in
 * turn (medians of 6 rounds of 15 calls a layer taking turns, Intel family
 * 6 model 207, 2 threads). */
AVX512 static void
direct_avx512 (const DdDirect *p)
{
  int64_t i0 = 0;
  for (; i0 + TILE_ROWS <= p->m; i0 += TILE_ROWS)
    direct_rows (p, i0, TILE_ROWS);
    /* The last rows, with as many accumulators as they need. */
#define ROWS(r) direct_rows (p, i0, r)
  DD_PRODUCT_LAST_ROWS (p->m - i0, ROWS);
#undef ROWS
  if (p->stream)
    _mm_sfence ();
}
#endif

gboolean
dd_direct_available (void)
{
#ifdef HAVE_DIRECT_AVX512
  return dd_product_kernel () == DD_PRODUCT_AVX512;
#else
  return FALSE;
#endif
}

void
dd_direct (const DdDirect *p)
{
  g_return_if_fail (p->a_row == 1 || p->a_col == 1);
  g_return_if_fail (dd_direct_available ());
#ifdef HAVE_DIRECT_AVX512
  if (p->m > 0 && p->rows > 0 && p->cols > 0)
    direct_avx512 (p);
#endif
}
