/* op-conv.c: Conv, forward and backward to the input.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A convolution is a matrix product: weights [O, C*kh*kw] times the
 * unrolled input (im2col) [C*kh*kw, OH*OW]. The gradient to the input is the
 * transposed product folded back (col2im). Both go through dd_product
 * (product.c), which finishes the forward's tiles with bias and ReLU;
 * the unrolled matrix is built a band of output rows at a time so that the
 * work buffer stays small whatever the image size. Pointwise (1x1) convs
 * need no unrolling; depthwise convs run directly; 3x3 stride-1 convs with
 * enough channels take the Winograd path (winograd.c), 4x fewer flops;
 * other stride-1 convs (GoogLeNet's 5x5) are summed straight from a padded
 * copy of their input where dd_direct runs (direct.c), with no unrolling.
 */
#include "dd-ops.h"

#include "dd-blas.h"
#include "dd-runtime.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* Floats of a thread's im2col block (unrolled input and output): 768 KB,
 * so that they stay in a 1 MB L2 cache beside OpenBLAS's packed panels.
 * On GoogLeNet's 3x3 convs as im2col (build/tools/bench --no-winograd):
 * as fast as 512 KB, 1.1-1.3x faster than 4 MB. */
#define BLOCK_FLOATS (3 << 16)
/* Winograd's: 2.25 MB, out of L2 but in L3. Its 36 products a block are
 * small (out x tiles x in), and OpenBLAS packs all of U again for each
 * block; with the 768 KB above, conv2/3x3 (64 in, 192 out: 21 tiles a
 * block) spent as long packing as multiplying. GoogLeNet's step at
 * 1024x768 (build/tools/bench): 366-386 ms at 768 KB, 314-326 ms at
 * 2.25 MB, no better at 4.5 or 12 MB, on L2 caches of 512 KB to 2 MB.
 * On dd_product's kernel, which packs nothing, winograd.c rounds the block
 * to whole panels of the kernel's 48 tiles. */
#define WINOGRAD_BLOCK_FLOATS (9 << 16)
/* Below this many input or output channels the Winograd transforms cost
 * about as much as the multiplies they save. */
#define WINOGRAD_MIN_CHANNELS 32
/* Outputs of more floats than this (8 MB) are written with streaming
 * stores. GoogLeNet's conv2/3x3_reduce at 1024x768 (12.6 MB, written
 * tile by tile straight from dd_product's registers) took 5.1-5.2 ms a
 * step written through the caches, 2.2 ms streamed; conv1 (50 MB) gains
 * too; nothing smaller was measured to. */
#define STREAM_FLOATS (2 << 20)

static gsize budget_floats; /* 0: the defaults above */
static gboolean winograd_enabled = TRUE;
static gboolean direct_enabled = TRUE;

void
dd_conv_configure_direct (gboolean direct)
{
  direct_enabled = direct;
}

void
dd_conv_configure (gsize budget, gboolean winograd)
{
  budget_floats = budget;
  winograd_enabled = winograd;
}

static gsize
block_budget (void)
{
  return budget_floats ? budget_floats : BLOCK_FLOATS;
}

static gsize
winograd_budget (void)
{
  return budget_floats ? budget_floats : WINOGRAD_BLOCK_FLOATS;
}

typedef struct {
  int64_t n, c, h, w;    /* input */
  int64_t o, oh, ow;     /* output */
  int64_t group, cg, og; /* per group */
  int64_t kh, kw, kdim;  /* kdim = cg * kh * kw */
  int64_t block_rows;    /* output rows per thread's block */
  int64_t ld;            /* row length of a block's buffers */
} ConvGeom;

static gboolean
is_pointwise (const DdAttrs *a)
{
  return a->kernel[0] == 1 && a->kernel[1] == 1 && a->stride[0] == 1 && a->stride[1] == 1 &&
         a->pads[0] == 0 && a->pads[1] == 0 && a->pads[2] == 0 && a->pads[3] == 0;
}

static ConvGeom
conv_geom (const DdAttrs *a, const DdShape *x, const DdShape *y)
{
  ConvGeom g = { .n = x->d[0],
                 .c = x->d[1],
                 .h = x->d[2],
                 .w = x->d[3],
                 .o = y->d[1],
                 .oh = y->d[2],
                 .ow = y->d[3],
                 .group = a->group,
                 .kh = a->kernel[0],
                 .kw = a->kernel[1] };
  g.cg = g.c / g.group;
  g.og = g.o / g.group;
  g.kdim = g.cg * g.kh * g.kw;
  /* Backward folds blocks of one parity back in parallel: blocks two apart
   * must not reach the same input row, which takes rows * stride > reach
   * - stride. */
  const int64_t reach = (g.kh - 1) * a->dilation[0], stride = a->stride[0];
  const int64_t apart = reach >= stride ? (reach - stride) / stride + 1 : 1;
  g.block_rows = (int64_t) block_budget () / MAX ((g.kdim + g.og) * g.ow, 1);
  g.block_rows = dd_balanced_block (g.oh, g.block_rows, 2 * dd_thread_slots ());
  g.block_rows = CLAMP (MAX (g.block_rows, apart), 1, g.oh);
  /* A block's rows kept off multiples of 4 KB apart (conv1's rows of 512
   * floats would be 2 KB apart, two of them 4 KB): sgemm into or out of
   * such rows is 15-20 % slower (bench --nodes 60, conv1 and conv2). */
  g.ld = dd_cache_stride (g.block_rows * g.ow);
  return g;
}

static gboolean
is_depthwise (const ConvGeom *g)
{
  return g->cg == 1 && g->og == 1;
}

/* Whether a conv with these attributes and channels suits Winograd. */
static gboolean
winograd_fits (const DdAttrs *a, int64_t in_channels, int64_t out_channels)
{
  return a->kernel[0] == 3 && a->kernel[1] == 3 && a->stride[0] == 1 && a->stride[1] == 1 &&
         a->dilation[0] == 1 && a->dilation[1] == 1 && a->group == 1 &&
         in_channels >= WINOGRAD_MIN_CHANNELS && out_channels >= WINOGRAD_MIN_CHANNELS;
}

gboolean
dd_conv_uses_winograd (const DdAttrs *a, const DdShape *x, const DdShape *y)
{
  return winograd_enabled && winograd_fits (a, x->d[1], y->d[1]);
}

gboolean
dd_conv_fuses_relu_backward (const DdAttrs *a, const DdShape *x, const DdShape *y)
{
  const ConvGeom g = conv_geom (a, x, y);
  return !dd_conv_uses_winograd (a, x, y) && !is_pointwise (a) && !is_depthwise (&g);
}

/* The Winograd problem of one image: the conv forward, or its backward to
 * the input, the same 3x3 conv with the planes read and written swapped
 * (the gradient of y convolved with the flipped kernels, padded 2 - pad). */
static DdWinograd
winograd_problem (const DdAttrs *a, const ConvGeom *g, gboolean backward)
{
  const int64_t c_in = backward ? g->o : g->c, c_out = backward ? g->c : g->o;
  const int64_t h_in = backward ? g->oh : g->h, w_in = backward ? g->ow : g->w;
  const int64_t h_out = backward ? g->h : g->oh, w_out = backward ? g->w : g->ow;
  return (DdWinograd){ .k = c_in,
                       .n = c_out,
                       .h = h_in,
                       .w = w_in,
                       .oh = h_out,
                       .ow = w_out,
                       .dy = backward ? a->pads[0] - 2 : -a->pads[0],
                       .dx = backward ? a->pads[1] - 2 : -a->pads[1],
                       .backward = backward };
}

/* The conv's Winograd weights transformed, made by the first plan that
 * needs them (once per model, whatever the plans or threads), or NULL when
 * they are not kept or there was not enough memory for them. */
static const float *
winograd_weights (const DdAttrs *a, const ConvGeom *g, const float *weights)
{
  static GMutex lock;
  if (!a->winograd_weights)
    return NULL;
  float *u = g_atomic_pointer_get (a->winograd_weights);
  if (u)
    return u;
  g_mutex_lock (&lock);
  if (!(u = *a->winograd_weights)) {
    u = dd_winograd_weights (g->o, g->c, weights);
    g_atomic_pointer_set (a->winograd_weights, u);
  }
  g_mutex_unlock (&lock);
  return u;
}

gboolean
dd_conv_prepare (const DdAttrs *a, const DdShape *x, const DdShape *y, const float *weights,
                 const char *name, GError **error)
{
  if (!a->winograd_weights || !dd_conv_uses_winograd (a, x, y))
    return TRUE;
  ConvGeom g = conv_geom (a, x, y);
  if (winograd_weights (a, &g, weights))
    return TRUE;
  return dd_fail (error, DD_ERROR_MEMORY,
                  "not enough memory for the Winograd weights of node '%s' (%.0f MB)", name,
                  2.0 * 36 * g.o * g.c * sizeof (float) / 1e6);
}

/* The kept weights, which planning made (dd_conv_prepare): a run's work
 * buffer has no room to transform them. */
static const float *
prepared_weights (const DdAttrs *a, const ConvGeom *g, const float *weights)
{
  const float *u = winograd_weights (a, g, weights);
  if (a->winograd_weights && !u)
    g_error ("Conv run before dd_conv_prepare made its Winograd weights");
  return u;
}

static gboolean
conv_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  DdShape w;
  if (!dd_window_setup (a, n, FALSE, error) || !dd_node_attr_int (n, "group", 1, &a->group, error))
    return FALSE;
  if (!dd_node_const_shape (n, 1, &w) || w.rank != 4)
    return dd_op_fail (error, "node '%s': Conv weights must be a constant O x C x kh x kw tensor",
                       dd_node_name (n));
  if (a->kernel[0] == 0) {
    a->kernel[0] = w.d[2];
    a->kernel[1] = w.d[3];
  }
  if (a->kernel[0] != w.d[2] || a->kernel[1] != w.d[3])
    return dd_op_fail (error, "node '%s': kernel_shape does not match the weights",
                       dd_node_name (n));
  if (a->group < 1)
    return dd_op_fail (error, "node '%s': group must be positive", dd_node_name (n));
  dd_node_require_const (n, 1);
  dd_node_require_const (n, 2);
  /* Weights that Winograd will use are transformed once, on first use
   * (winograd_weights), rather than on every run: at a dream's small
   * octaves that was a fifth of the time of the deep 3x3 convs. */
  const float *weights;
  int64_t count;
  if (winograd_fits (a, w.d[1], w.d[0]) && dd_node_const_floats (n, 1, &weights, &count))
    a->winograd_weights = g_new0 (float *, 1);
  return TRUE;
}

static gboolean
conv_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  const DdShape *x = &in[0], *w = &in[1];
  char bx[96], bw[96];
  if (x->rank != 4 || w->rank != 4)
    return dd_op_fail (error, "Conv needs a 4-D input and weights, got %s and %s",
                       dd_shape_format (x, bx, sizeof bx), dd_shape_format (w, bw, sizeof bw));
  if (x->d[1] != w->d[1] * a->group || w->d[0] % a->group != 0)
    return dd_op_fail (error, "input %s does not fit weights %s with group %" G_GINT64_FORMAT,
                       dd_shape_format (x, bx, sizeof bx), dd_shape_format (w, bw, sizeof bw),
                       a->group);
  if (n_in > 2 && in[2].rank > 0 && (in[2].rank != 1 || in[2].d[0] != w->d[0]))
    return dd_op_fail (error, "bias %s does not match %" G_GINT64_FORMAT " output channels",
                       dd_shape_format (&in[2], bx, sizeof bx), w->d[0]);
  *out = (DdShape){ .rank = 4, .d = { x->d[0], w->d[0] } };
  for (int i = 0; i < 2; i++) {
    out->d[2 + i] = dd_window_out (x->d[2 + i], a->kernel[i], a->stride[i], a->dilation[i],
                                   a->pads[i], a->pads[2 + i], FALSE);
    if (out->d[2 + i] < 1)
      return dd_op_fail (
          error, "input %s is smaller than the %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " kernel",
          dd_shape_format (x, bx, sizeof bx), a->kernel[0], a->kernel[1]);
  }
  return TRUE;
}

/* A stride-1 conv summed straight from zero-padded copies of its input
 * (direct.c), a block of output rows at a time: forward from x into y,
 * backward from gy (masked by the following ReLU) into gx, there with the
 * kernels flipped and their channels swapped. */
typedef struct {
  int64_t ch;           /* channels of the padded planes */
  int64_t src_h, src_w; /* the planes they copy (x, or gy) */
  int64_t rows, cols;   /* the output planes (y, or gx) */
  int64_t top, left;    /* padding above and to the left of the source */
  int64_t kh, kw, dh, dw;
  int64_t block_rows; /* output rows per block */
  int64_t pitch;      /* padded row: cols + the kernel's reach */
  int64_t plane;      /* padded plane of a block */
  int64_t k;          /* taps: ch * kh * kw */
} DirectGeom;

/* Whether the shape suits it, whatever the CPU. */
static gboolean
direct_fits (const DdAttrs *a, const ConvGeom *g)
{
  return a->stride[0] == 1 && a->stride[1] == 1 && !is_pointwise (a) && !is_depthwise (g);
}

static DirectGeom
direct_geom (const DdAttrs *a, const ConvGeom *g, gboolean backward)
{
  DirectGeom d = { .kh = g->kh, .kw = g->kw, .dh = a->dilation[0], .dw = a->dilation[1] };
  const int64_t reach_y = (d.kh - 1) * d.dh, reach_x = (d.kw - 1) * d.dw;
  d.ch = backward ? g->og : g->cg;
  d.src_h = backward ? g->oh : g->h;
  d.src_w = backward ? g->ow : g->w;
  d.rows = backward ? g->h : g->oh;
  d.cols = backward ? g->w : g->ow;
  /* Backward, output row iy reads gy rows iy + pad - ky: the flipped
   * kernel's tap ky' = kh - 1 - ky at padded row iy + ky'. */
  d.top = backward ? reach_y - a->pads[0] : a->pads[0];
  d.left = backward ? reach_x - a->pads[1] : a->pads[1];
  d.pitch = d.cols + reach_x;
  d.k = d.ch * d.kh * d.kw;
  const int64_t fit = (int64_t) block_budget () / MAX (d.ch * d.pitch, 1) - reach_y;
  d.block_rows = dd_balanced_block (d.rows, MAX (fit, 1), dd_thread_slots ());
  d.block_rows = CLAMP (d.block_rows, 1, d.rows);
  d.plane = dd_cache_stride ((d.block_rows + reach_y) * d.pitch);
  return d;
}

/* Whether both directions' padded blocks can be addressed by 32-bit
 * offsets (always, but for planes of hundreds of millions of floats). */
static gboolean
direct_addressable (const DdAttrs *a, const ConvGeom *g)
{
  const DirectGeom f = direct_geom (a, g, FALSE), b = direct_geom (a, g, TRUE);
  return f.ch * f.plane < G_MAXINT32 && b.ch * b.plane < G_MAXINT32;
}

/* Whether this direction takes the direct path: where it computes at
 * least one tile's rows of output channels (8). Measured call by call
 * against im2col, taking turns (Intel family 6 model 207, 2 threads):
 * GoogLeNet's five 5x5 convs at 1024x768 take 0.77 of im2col's time
 * forward and 0.79 backward; at 128x96, 3x3 of 16 to 24 channels 0.67 /
 * 0.71 against 0.92 / 1.01 ms, 96 to 128 18.3 / 18.7 against 21.7 /
 * 23.9, 7x7 of 8 to 16 1.00 / 1.06 against 1.83 / 2.00; a 3x3 of 3 to 64
 * channels at 512x384 forward 7.0 against 16.0, but its backward, whose
 * tiles had 3 rows, 16.9 against 15.6. */
static gboolean
uses_direct (const DdAttrs *a, const ConvGeom *g, gboolean backward)
{
  return direct_enabled && direct_fits (a, g) && (backward ? g->cg : g->og) >= 8 &&
         direct_addressable (a, g) && dd_direct_available ();
}

/* The work of either direction: the flipped kernels (backward), the
 * offsets, then a padded block per thread. */
static gsize
direct_work_floats (const DdAttrs *a, const ConvGeom *g)
{
  const DirectGeom f = direct_geom (a, g, FALSE), b = direct_geom (a, g, TRUE);
  const gsize flipped = g->og * g->kdim, offsets = MAX (f.k, b.k);
  return flipped + offsets + dd_thread_slots () * MAX (f.ch * f.plane, b.ch * b.plane);
}

static gsize
conv_work_floats (const DdAttrs *a, const DdShape *in, const DdShape *out)
{
  ConvGeom g = conv_geom (a, &in[0], out);
  if (dd_conv_uses_winograd (a, &in[0], out)) {
    DdWinograd fwd = winograd_problem (a, &g, FALSE), bwd = winograd_problem (a, &g, TRUE);
    const gboolean kept = a->winograd_weights != NULL;
    return MAX (dd_winograd_work_floats (&fwd, kept, winograd_budget ()),
                dd_winograd_work_floats (&bwd, kept, winograd_budget ()));
  }
  if (is_pointwise (a))
    return dd_thread_slots () * dd_product_pack_floats (MAX (g.cg, g.og));
  if (is_depthwise (&g))
    return 0;
  /* Both, as the path may be switched after planning (test hooks). */
  const gsize im2col = dd_thread_slots () * (g.kdim + g.og) * g.ld;
  return direct_fits (a, &g) && direct_addressable (a, &g)
             ? MAX (im2col, direct_work_floats (a, &g))
             : im2col;
}

/* The output columns [lo, hi) whose tap at offset (k*dilation - pad)
 * lands inside an input row of length len. */
static void
valid_span (int64_t off, int64_t stride, int64_t len, int64_t out_len, int64_t *lo, int64_t *hi)
{
  *lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  *hi = len - 1 - off < 0 ? 0 : (len - 1 - off) / stride + 1;
  *lo = MIN (*lo, out_len);
  *hi = CLAMP (*hi, *lo, out_len);
}

/* One row of col: tap (c, ky, kx) for output rows [r0, r0 + rows). */
DD_VECTOR_CLONES static void
im2col_row (const DdAttrs *a, const ConvGeom *g, const float *x, int64_t row, int64_t r0,
            int64_t rows, float *out)
{
  const int64_t sh = a->stride[0], sw = a->stride[1];
  const int64_t c = row / (g->kh * g->kw), ky = row / g->kw % g->kh, kx = row % g->kw;
  int64_t xoff = kx * a->dilation[1] - a->pads[1], lo, hi;
  valid_span (xoff, sw, g->w, g->ow, &lo, &hi);
  const float *plane = x + c * g->h * g->w;
  for (int64_t r = 0; r < rows; r++) {
    float *dst = out + r * g->ow;
    int64_t iy = (r0 + r) * sh - a->pads[0] + ky * a->dilation[0];
    if (iy < 0 || iy >= g->h) {
      memset (dst, 0, g->ow * sizeof *dst);
      continue;
    }
    const float *src = plane + iy * g->w;
    memset (dst, 0, lo * sizeof *dst);
    if (sw == 1)
      memcpy (dst + lo, src + lo + xoff, (hi - lo) * sizeof *dst);
    else if (sw == 2) /* a constant stride vectorises (GoogLeNet's conv1) */
      for (int64_t ox = lo; ox < hi; ox++)
        dst[ox] = src[ox * 2 + xoff];
    else
      for (int64_t ox = lo; ox < hi; ox++)
        dst[ox] = src[ox * sw + xoff];
    memset (dst + hi, 0, (g->ow - hi) * sizeof *dst);
  }
}

/* Adds into input row iy of channel c everything col (rows g->ld apart)
 * holds for it: the taps (ky, kx) of the output rows of this band that
 * read that row. */
DD_VECTOR_CLONES static void
col2im_row (const DdAttrs *a, const ConvGeom *g, const float *col, int64_t c, int64_t iy,
            int64_t r0, int64_t rows, float *dst)
{
  const int64_t sh = a->stride[0], sw = a->stride[1];
  for (int64_t ky = 0; ky < g->kh; ky++) {
    /* The output row r whose tap ky lands on iy: r * sh - pad + ky * dil = iy. */
    int64_t num = iy + a->pads[0] - ky * a->dilation[0];
    if (num < 0 || num % sh != 0)
      continue;
    int64_t r = num / sh - r0;
    if (r < 0 || r >= rows)
      continue;
    for (int64_t kx = 0; kx < g->kw; kx++) {
      const float *src = col + ((c * g->kh + ky) * g->kw + kx) * g->ld + r * g->ow;
      int64_t xoff = kx * a->dilation[1] - a->pads[1], lo, hi;
      valid_span (xoff, sw, g->w, g->ow, &lo, &hi);
      if (sw == 2) /* a constant stride vectorises, as in im2col_row */
        for (int64_t ox = lo; ox < hi; ox++)
          dst[ox * 2 + xoff] += src[ox];
      else
        for (int64_t ox = lo; ox < hi; ox++)
          dst[ox * sw + xoff] += src[ox];
    }
  }
}

/* Adds col[kdim, rows * ow] for output rows [r0, r0 + rows) back into the
 * input gradient of one group. */
static void
col2im_add (const DdAttrs *a, const ConvGeom *g, const float *col, int64_t r0, int64_t rows,
            float *gx)
{
  /* Input rows these output rows reach. */
  const int64_t span = (g->kh - 1) * a->dilation[0];
  const int64_t first = MAX (r0 * a->stride[0] - a->pads[0], 0);
  const int64_t last = MIN ((r0 + rows - 1) * a->stride[0] - a->pads[0] + span, g->h - 1);
  for (int64_t c = 0; c < g->cg; c++)
    for (int64_t iy = first; iy <= last; iy++)
      col2im_row (a, g, col, c, iy, r0, rows, gx + (c * g->h + iy) * g->w);
}

/* One output channel of a depthwise conv, computed directly. */
static void
depthwise_plane (const DdAttrs *a, const ConvGeom *g, const float *x, const float *w, float *y)
{
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      float sum = 0;
      for (int64_t ky = 0; ky < g->kh; ky++) {
        int64_t iy = oy * a->stride[0] - a->pads[0] + ky * a->dilation[0];
        if (iy < 0 || iy >= g->h)
          continue;
        for (int64_t kx = 0; kx < g->kw; kx++) {
          int64_t ix = ox * a->stride[1] - a->pads[1] + kx * a->dilation[1];
          if (ix >= 0 && ix < g->w)
            sum += w[ky * g->kw + kx] * x[iy * g->w + ix];
        }
      }
      y[oy * g->ow + ox] = sum;
    }
}

static void
depthwise_plane_backward (const DdAttrs *a, const ConvGeom *g, const float *gy, const float *w,
                          float *gx)
{
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ky = 0; ky < g->kh; ky++) {
      int64_t iy = oy * a->stride[0] - a->pads[0] + ky * a->dilation[0];
      if (iy < 0 || iy >= g->h)
        continue;
      for (int64_t ox = 0; ox < g->ow; ox++)
        for (int64_t kx = 0; kx < g->kw; kx++) {
          int64_t ix = ox * a->stride[1] - a->pads[1] + kx * a->dilation[1];
          if (ix >= 0 && ix < g->w)
            gx[iy * g->w + ix] += w[ky * g->kw + kx] * gy[oy * g->ow + ox];
        }
    }
}

/* Output channels [o0, o0 + count) and columns [at, at + len) of image n
 * from src (rows src_ld apart), or from y itself when src is NULL: y =
 * src + bias, then the following ReLU when the plan fused one. Each path
 * calls it on a block it has just computed, still in cache. */
static void
finish_block (const DdOpCtx *c, const ConvGeom *g, int64_t n, int64_t o0, int64_t count, int64_t at,
              int64_t len, const float *src, int64_t src_ld)
{
  const float *bias = c->n_in > 2 ? c->x[2] : NULL;
  if (!src && !bias && !c->relu_mask)
    return;
  /* An output far bigger than the caches (conv1's, 50 MB at 1024x768) is
   * written around them: from a block buffer, nothing here reads it. */
  const gboolean stream = src && (gsize) (g->n * g->o * g->oh * g->ow) > STREAM_FLOATS;
  for (int64_t o = o0; o < o0 + count; o++) {
    const int64_t off = (n * g->o + o) * g->oh * g->ow + at;
    (stream ? dd_bias_relu_stream : dd_bias_relu) (src ? src + (o - o0) * src_ld : c->y + off,
                                                   c->y + off, len, bias ? bias[o] : 0.0f,
                                                   c->relu_mask ? c->relu_mask + off : NULL);
  }
}

/* Columns of a pointwise conv's chunk: DD_SHARE_BLOCKS chunks a thread,
 * at least 512 columns (a 16-float multiple), so that each single-threaded
 * OpenBLAS product (where dd_product is not ours, and the backward that
 * adds) still packs its weights once for enough work. */
static int64_t
pointwise_chunk (int64_t ohw)
{
  const int64_t chunks = DD_SHARE_BLOCKS * dd_thread_slots ();
  return MIN (ohw, MAX ((ohw / chunks + 15) / 16 * 16, 512));
}

/* Chunk b's first column and length, of a pointwise conv's ohw. */
static void
pointwise_span (int64_t ohw, int64_t b, int64_t *at, int64_t *len)
{
  const int64_t chunk = pointwise_chunk (ohw);
  *at = b * chunk;
  *len = MIN (chunk, ohw - *at);
}

static int64_t
pointwise_chunks (int64_t ohw)
{
  const int64_t chunk = pointwise_chunk (ohw);
  return (ohw + chunk - 1) / chunk;
}

/* One group of one image, shared out in blocks (dd_parallel). */
typedef struct {
  const DdOpCtx *c;
  const ConvGeom *g;
  int64_t n, grp;
  const float *x, *w; /* forward: input, weights; backward: gy, weights */
  float *y;           /* forward: output; backward: gx */
  const guint8 *mask; /* backward: the following ReLU's, or NULL */
  int64_t parity;     /* backward: the blocks of this parity */
  gboolean add;       /* backward: add to gx */
} ConvJob;

/* Where finish_block's work goes into a product's epilogue: the bias and
 * ReLU of output channels [o0, o0 + count) of image n, columns from at. */
static void
product_finish (const DdOpCtx *c, const ConvGeom *g, int64_t n, int64_t o0, int64_t at,
                DdProduct *p)
{
  const int64_t off = (n * g->o + o0) * g->oh * g->ow + at;
  p->bias = c->n_in > 2 ? c->x[2] + o0 : NULL;
  p->relu_mask = c->relu_mask ? c->relu_mask + off : NULL;
  p->c = c->y + off;
  p->ldc = g->oh * g->ow;
  p->stream = (gsize) (g->n * g->o * g->oh * g->ow) > STREAM_FLOATS;
}

static void
pointwise_forward_chunk (gpointer data, int64_t b, int slot)
{
  const ConvJob *j = data;
  const ConvGeom *g = j->g;
  const int64_t ohw = g->oh * g->ow;
  int64_t at, len;
  pointwise_span (ohw, b, &at, &len);
  DdProduct p = { .m = g->og,
                  .n = len,
                  .k = g->cg,
                  .a = j->w,
                  .a_row = g->cg,
                  .a_col = 1,
                  .b = j->x + at,
                  .ldb = ohw,
                  .pack = j->c->work + slot * dd_product_pack_floats (MAX (g->cg, g->og)) };
  product_finish (j->c, g, j->n, j->grp * g->og, at, &p);
  dd_product (&p);
}

static void
im2col_forward_block (gpointer data, int64_t b, int slot)
{
  const ConvJob *j = data;
  const ConvGeom *g = j->g;
  float *col = j->c->work + slot * (g->kdim + g->og) * g->ld;
  float *out = col + g->kdim * g->ld;
  const int64_t r0 = b * g->block_rows, rows = MIN (g->block_rows, g->oh - r0);
  for (int64_t row = 0; row < g->kdim; row++)
    im2col_row (j->c->a, g, j->x, row, r0, rows, col + row * g->ld);
  DdProduct p = { .m = g->og,
                  .n = rows * g->ow,
                  .k = g->kdim,
                  .a = j->w,
                  .a_row = g->kdim,
                  .a_col = 1,
                  .b = col,
                  .ldb = g->ld };
  if (dd_product_direct ()) {
    product_finish (j->c, g, j->n, j->grp * g->og, r0 * g->ow, &p);
    dd_product (&p);
    return;
  }
  /* OpenBLAS writes rows a plane apart (often a multiple of 4 KB) slowly:
   * into the block's own buffer, finished from there. */
  p.c = out;
  p.ldc = g->ld;
  dd_product (&p);
  finish_block (j->c, g, j->n, j->grp * g->og, g->og, r0 * g->ow, rows * g->ow, out, g->ld);
}

/* Copies source rows [r0 - top, ...) of a block of `rows` output rows
 * into buf, padded with zeros: plane after plane, each of the block's
 * rows plus the kernel's reach, `pitch` floats a row; through the ReLU's
 * mask when there is one (the backward's gy). */
static void
direct_fill (const DirectGeom *d, const float *src, const guint8 *mask, int64_t r0, int64_t rows,
             float *buf)
{
  const int64_t padded_rows = rows + (d->kh - 1) * d->dh, src_plane = d->src_h * d->src_w;
  const int64_t lo = CLAMP (d->left, 0, d->pitch), hi = CLAMP (d->left + d->src_w, lo, d->pitch);
  for (int64_t c = 0; c < d->ch; c++)
    for (int64_t j = 0; j < padded_rows; j++) {
      float *dst = buf + c * d->plane + j * d->pitch;
      const int64_t sy = r0 + j - d->top;
      if (sy < 0 || sy >= d->src_h) {
        memset (dst, 0, d->pitch * sizeof *dst);
        continue;
      }
      const int64_t at = c * src_plane + sy * d->src_w + lo - d->left;
      memset (dst, 0, lo * sizeof *dst);
      if (mask)
        dd_relu_gradient (mask + at, src + at, dst + lo, FALSE, hi - lo);
      else
        memcpy (dst + lo, src + at, (hi - lo) * sizeof *dst);
      memset (dst + hi, 0, (d->pitch - hi) * sizeof *dst);
    }
}

/* Where tap k = (c, ky, kx) reads in a padded block. */
static void
direct_offsets (const DirectGeom *d, int32_t *off)
{
  for (int64_t c = 0; c < d->ch; c++)
    for (int64_t ky = 0; ky < d->kh; ky++)
      for (int64_t kx = 0; kx < d->kw; kx++)
        *off++ = (int32_t) (c * d->plane + ky * d->dh * d->pitch + kx * d->dw);
}

typedef struct {
  const DdOpCtx *c;
  DirectGeom d;
  const float *src;   /* the group's x, or gy */
  const guint8 *mask; /* backward: the following ReLU's on gy, or NULL */
  const float *w;     /* forward: weights [og, kdim]; backward: flipped [cg, og kh kw] */
  const int32_t *off; /* direct_offsets */
  float *blocks;      /* the threads' padded blocks */
  int64_t m;          /* output channels */
  float *out;         /* the group's y, or gx */
  int64_t out_plane;  /* between the output's channels */
  const float *bias;  /* forward */
  guint8 *relu_mask;  /* forward: the following ReLU's, laid out as out */
  gboolean add, stream;
} DirectJob;

static void
direct_block (gpointer data, int64_t b, int slot)
{
  const DirectJob *j = data;
  const DirectGeom *d = &j->d;
  float *buf = j->blocks + slot * d->ch * d->plane;
  const int64_t r0 = b * d->block_rows, rows = MIN (d->block_rows, d->rows - r0);
  direct_fill (d, j->src, j->mask, r0, rows, buf);
  const int64_t at = r0 * d->cols;
  const DdDirect p = { .m = j->m,
                       .k = d->k,
                       .a = j->w,
                       .a_row = d->k,
                       .a_col = 1,
                       .in = buf,
                       .off = j->off,
                       .pitch = d->pitch,
                       .rows = rows,
                       .cols = d->cols,
                       .c = j->out + at,
                       .ldc = j->out_plane,
                       .add = j->add,
                       .stream = j->stream,
                       .bias = j->bias,
                       .relu_mask = j->relu_mask ? j->relu_mask + at : NULL };
  dd_direct (&p);
}

/* The work buffer's parts: flipped kernels, offsets, the threads' blocks. */
static void
direct_job_init (DirectJob *j, const DdOpCtx *c, const ConvGeom *g, gboolean backward)
{
  const DirectGeom f = direct_geom (c->a, g, FALSE), b = direct_geom (c->a, g, TRUE);
  j->c = c;
  j->d = backward ? b : f;
  int32_t *off = (int32_t *) (c->work + g->og * g->kdim);
  direct_offsets (&j->d, off);
  j->off = off;
  j->blocks = c->work + g->og * g->kdim + MAX (f.k, b.k);
}

static void
direct_forward_group (const DdOpCtx *c, const ConvGeom *g, int64_t n, int64_t grp)
{
  const int64_t ohw = g->oh * g->ow, off = (n * g->o + grp * g->og) * ohw;
  DirectJob j = { 0 };
  direct_job_init (&j, c, g, FALSE);
  j.src = c->x[0] + (n * g->c + grp * g->cg) * g->h * g->w;
  j.w = c->x[1] + grp * g->og * g->kdim;
  j.m = g->og;
  j.out = c->y + off;
  j.out_plane = ohw;
  j.bias = c->n_in > 2 ? c->x[2] + grp * g->og : NULL;
  j.relu_mask = c->relu_mask ? c->relu_mask + off : NULL;
  j.stream = (gsize) (g->n * g->o * ohw) > STREAM_FLOATS;
  dd_parallel ((j.d.rows + j.d.block_rows - 1) / j.d.block_rows, direct_block, &j);
}

/* The backward's kernels: for input channel c, tap (o, ky', kx') is the
 * forward's weight of o and c at (kh - 1 - ky', kw - 1 - kx'). */
static void
direct_flip (const ConvGeom *g, const float *w, float *flipped)
{
  const int64_t taps = g->kh * g->kw;
  for (int64_t c = 0; c < g->cg; c++)
    for (int64_t o = 0; o < g->og; o++)
      for (int64_t t = 0; t < taps; t++)
        flipped[(c * g->og + o) * taps + t] = w[(o * g->cg + c) * taps + taps - 1 - t];
}

static void
direct_backward_group (const DdOpCtx *c, const ConvGeom *g, const float *gy, const guint8 *mask,
                       const float *w, float *gx, gboolean add)
{
  DirectJob j = { 0 };
  direct_job_init (&j, c, g, TRUE);
  direct_flip (g, w, c->work);
  j.src = gy;
  j.mask = mask;
  j.w = c->work;
  j.m = g->cg;
  j.out = gx;
  j.out_plane = g->h * g->w;
  j.add = add;
  dd_parallel ((j.d.rows + j.d.block_rows - 1) / j.d.block_rows, direct_block, &j);
}

/* Group grp of image n. A pointwise conv is a product straight from x
 * into y, in chunks of columns, each finished (bias, ReLU) while still in
 * cache. Any other conv: a block of output rows at a time, unrolled into
 * the thread's own cache-sized buffer and multiplied there into a second
 * one that finish_block takes to y: neither the unrolled matrix nor the
 * product goes out to memory before it is done. */
static void
conv_forward_group (const DdOpCtx *c, const ConvGeom *g, int64_t n, int64_t grp)
{
  const int64_t ohw = g->oh * g->ow;
  ConvJob j = { .c = c,
                .g = g,
                .n = n,
                .grp = grp,
                .x = c->x[0] + (n * g->c + grp * g->cg) * g->h * g->w,
                .w = c->x[1] + grp * g->og * g->kdim,
                .y = c->y + (n * g->o + grp * g->og) * ohw };
  if (is_pointwise (c->a)) {
    dd_parallel (pointwise_chunks (ohw), pointwise_forward_chunk, &j);
    return;
  }
  if (uses_direct (c->a, g, FALSE)) {
    direct_forward_group (c, g, n, grp);
    return;
  }
  dd_parallel ((g->oh + g->block_rows - 1) / g->block_rows, im2col_forward_block, &j);
}

static void
conv_forward (const DdOpCtx *c)
{
  ConvGeom g = conv_geom (c->a, c->xs[0], c->ys);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;

  for (int64_t n = 0; n < g.n; n++) {
    if (is_depthwise (&g)) {
#pragma omp parallel for schedule(static)
      for (int64_t ch = 0; ch < g.c; ch++) {
        depthwise_plane (c->a, &g, c->x[0] + (n * g.c + ch) * in_plane, c->x[1] + ch * g.kh * g.kw,
                         c->y + (n * g.o + ch) * out_plane);
        finish_block (c, &g, n, ch, 1, 0, out_plane, NULL, 0);
      }
      continue;
    }
    if (dd_conv_uses_winograd (c->a, c->xs[0], c->ys)) {
      DdWinograd p = winograd_problem (c->a, &g, FALSE);
      p.transformed = prepared_weights (c->a, &g, c->x[1]);
      p.bias = c->n_in > 2 ? c->x[2] : NULL;
      p.relu_mask = c->relu_mask ? c->relu_mask + n * g.o * out_plane : NULL;
      dd_winograd_run (&p, c->x[1], c->x[0] + n * g.c * in_plane, c->y + n * g.o * out_plane, FALSE,
                       c->work, winograd_budget ());
      continue;
    }
    for (int64_t grp = 0; grp < g.group; grp++)
      conv_forward_group (c, &g, n, grp);
  }
}

/* Adding to a gradient that other branches wrote (gx_add), OpenBLAS's
 * product reads it back faster than dd_product's kernel does: GoogLeNet's
 * inception 1x1 convs' backward took 21.4 ms a step with OpenBLAS, 23.1
 * with ours (bench --nodes, three rounds); writing it afresh, ours is the
 * faster (the pool_proj convs: 0.5-0.6 ms against 0.8-0.9). */
static void
pointwise_backward_chunk (gpointer data, int64_t b, int slot)
{
  const ConvJob *j = data;
  const ConvGeom *g = j->g;
  const int64_t ohw = g->oh * g->ow;
  int64_t at, len;
  pointwise_span (ohw, b, &at, &len);
  if (j->add) {
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, g->cg, len, g->og, 1.0f, j->w, g->cg,
                 j->x + at, ohw, 1.0f, j->y + at, ohw);
    return;
  }
  const DdProduct p = { .m = g->cg,
                        .n = len,
                        .k = g->og,
                        .a = j->w,
                        .a_row = 1,
                        .a_col = g->cg,
                        .b = j->x + at,
                        .ldb = ohw,
                        .c = j->y + at,
                        .ldc = ohw,
                        .pack = j->c->work + slot * dd_product_pack_floats (MAX (g->cg, g->og)) };
  dd_product (&p);
}

static void
clear_plane (gpointer data, int64_t ch, int slot)
{
  const ConvJob *j = data;
  (void) slot;
  memset (j->y + ch * j->g->h * j->g->w, 0, j->g->h * j->g->w * sizeof (float));
}

static void
im2col_backward_block (gpointer data, int64_t i, int slot)
{
  const ConvJob *j = data;
  const ConvGeom *g = j->g;
  const int64_t ohw = g->oh * g->ow, b = 2 * i + j->parity;
  float *col = j->c->work + slot * (g->kdim + g->og) * g->ld;
  float *out = col + g->kdim * g->ld;
  const int64_t r0 = b * g->block_rows, rows = MIN (g->block_rows, g->oh - r0);
  const float *by = j->x + r0 * g->ow;
  int64_t ldb = ohw;
  /* The block's gradient, masked, into the output buffer; without a mask
   * copied there for dd_product's kernel all the same, whose rows must
   * not lie a plane apart (see DdProduct.pack). */
  if (j->mask || dd_product_direct ()) {
    for (int64_t o = 0; o < g->og; o++)
      if (j->mask)
        dd_relu_gradient (j->mask + o * ohw + r0 * g->ow, by + o * ohw, out + o * g->ld, FALSE,
                          rows * g->ow);
      else
        memcpy (out + o * g->ld, by + o * ohw, rows * g->ow * sizeof *out);
    by = out;
    ldb = g->ld;
  }
  const DdProduct p = { .m = g->kdim,
                        .n = rows * g->ow,
                        .k = g->og,
                        .a = j->w,
                        .a_row = 1,
                        .a_col = g->kdim,
                        .b = by,
                        .ldb = ldb,
                        .c = col,
                        .ldc = g->ld };
  dd_product (&p);
  col2im_add (j->c->a, g, col, r0, rows, j->y);
}

/* A pointwise conv's gradient is one product, in chunks of columns. Any
 * other: as in forward, a block's gradient is multiplied into the thread's
 * unrolled buffer and folded back; even blocks first, then odd ones, so
 * that no two threads add to the same input row. With a ReLU's mask, the
 * block's gradient goes through the output buffer, masked. */
static void
conv_backward_group (const DdOpCtx *c, const ConvGeom *g, const float *gy, const guint8 *mask,
                     const float *w, float *gx, gboolean add)
{
  const int64_t ohw = g->oh * g->ow;
  ConvJob j = { .c = c, .g = g, .x = gy, .w = w, .y = gx, .mask = mask, .add = add };
  if (is_pointwise (c->a)) {
    dd_parallel (pointwise_chunks (ohw), pointwise_backward_chunk, &j);
    return;
  }
  if (uses_direct (c->a, g, TRUE)) {
    direct_backward_group (c, g, gy, mask, w, gx, add);
    return;
  }
  if (!add)
    dd_parallel (g->cg, clear_plane, &j);
  const int64_t n_blocks = (g->oh + g->block_rows - 1) / g->block_rows;
  for (j.parity = 0; j.parity < 2; j.parity++)
    dd_parallel ((n_blocks - j.parity + 1) / 2, im2col_backward_block, &j);
}

static void
conv_backward (const DdOpCtx *c)
{
  if (!c->gx[0])
    return;
  ConvGeom g = conv_geom (c->a, c->xs[0], c->ys);
  const int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;

  for (int64_t n = 0; n < g.n; n++) {
    const float *gy = c->gy + n * g.o * out_plane;
    const guint8 *mask = c->relu_mask ? c->relu_mask + n * g.o * out_plane : NULL;
    float *gx = c->gx[0] + n * g.c * in_plane;
    if (is_depthwise (&g)) {
#pragma omp parallel for schedule(static)
      for (int64_t ch = 0; ch < g.c; ch++) {
        if (!c->gx_add[0])
          memset (gx + ch * in_plane, 0, in_plane * sizeof *gx);
        depthwise_plane_backward (c->a, &g, gy + ch * out_plane, c->x[1] + ch * g.kh * g.kw,
                                  gx + ch * in_plane);
      }
      continue;
    }
    if (dd_conv_uses_winograd (c->a, c->xs[0], c->ys)) {
      DdWinograd p = winograd_problem (c->a, &g, TRUE);
      p.transformed = prepared_weights (c->a, &g, c->x[1]);
      dd_winograd_run (&p, c->x[1], gy, gx, c->gx_add[0], c->work, winograd_budget ());
      continue;
    }
    for (int64_t grp = 0; grp < g.group; grp++)
      conv_backward_group (c, &g, gy + grp * g.og * out_plane,
                           mask ? mask + grp * g.og * out_plane : NULL,
                           c->x[1] + grp * g.og * g.kdim, gx + grp * g.cg * in_plane, c->gx_add[0]);
  }
}

const DdOpClass dd_op_conv = {
  .onnx_name = "Conv",
  .min_inputs = 2,
  .max_inputs = 3,
  .setup = conv_setup,
  .infer = conv_infer,
  .work_floats = conv_work_floats,
  .forward = conv_forward,
  .backward = conv_backward,
};
