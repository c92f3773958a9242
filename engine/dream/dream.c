/* dream.c: the DeepDream loop: octaves, jittered steps, tiles.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The algorithm of Google's 2015 notebook: an octave pyramid by bilinear
 * zoom, detail carried from octave to octave, and at each step a random
 * roll, the gradient of the objective, a step normalised by the mean
 * absolute gradient, the roll undone and the pixels clipped.
 *
 * Big octaves are cut into tiles that share one plan. A tile is a window of
 * the rolled image; only its core, away from the window's edges by a margin,
 * keeps its gradient. The roll moves the tile grid every step, and the step
 * is normalised once over the whole image, so tiles leave no seams.
 *
 * Memory: the image being dreamed x and its gradient g, both planar floats
 * at full size, the detail of the previous octave, and one plan. Smaller
 * octaves reuse the full-size buffers. Nothing is allocated per step.
 */
#include "dd-blas.h"
#include "dd-controls.h"
#include "dd-model.h"
#include "dd-ops.h"
#include "deepdream.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_MEMORY_MB 900
#define MAX_LAYERS 8
#define GUIDE_EDGE 224
#define MAX_LAYER_WEIGHT 1000.0
#define GUIDE_BLOCK 1024 /* positions scored against the guide at once */

typedef struct {
  int width, height;
} Size;

typedef struct {
  /* What to dream. */
  DdModel *model;
  const DdModelCard *card;
  const DdDreamParams *p;
  const DdImage *image;
  int n_targets;
  char *targets[MAX_LAYERS];
  float weights[MAX_LAYERS];
  gboolean class_mode;
  int channels; /* of x: 3, or 1 for grey images */
  GRand *rand;
  guint32 noise_seed;
  /* Octaves, 0 = full size. */
  int n_octaves, first_octave;
  Size sizes[16];
  /* Buffers. */
  float *x, *g, *detail, *scores, *lap_scratch, *blur_line;
  /* Class visualisation: the crop of x the classifier sees, its gradient,
   * and the colour its decay pulls towards (0..255 per channel of x). */
  float *crop, *crop_g;
  float decay_centre[3];
  gsize pixels_max;
  /* The strength map at full size and at the octave being dreamed (the
   * same buffer at full size), or NULL. */
  const DdImage *mask_image;
  float *mask_full, *mask;
  /* The plan of the octave being dreamed and its tiling. */
  DdPlan *plan;
  Size window, tile;
  int tiles_x, tiles_y, margin;
  int stride; /* pixel spacing of the targets: windows start on multiples */
  /* Guide features per target: channels x positions. */
  float *guide[MAX_LAYERS];
  int guide_n[MAX_LAYERS];
  /* Progress. */
  DdProgressFunc progress;
  gpointer progress_data;
  GCancellable *cancellable;
  int steps_done, steps_total;
  DdDreamInfo info;
  /* Time: when the phase being run began, and each phase's total, in
   * microseconds (summed as integers so that thousands of laps lose no
   * precision). */
  gint64 mark, phase_us[DD_N_PHASES];
} Dream;

/* Charges the time since the last lap to phase: one clock read at each
 * phase's end, which costs some 20 ns against the milliseconds of a phase. */
static void
lap (Dream *d, DdDreamPhase phase)
{
  const gint64 now = g_get_monotonic_time ();
  d->phase_us[phase] += now - d->mark;
  d->mark = now;
}

const char *
dd_dream_phase_name (DdDreamPhase phase)
{
  static const char *const names[DD_N_PHASES] = {
    [DD_PHASE_SETUP] = "setup",         [DD_PHASE_MEMORY] = "memory",
    [DD_PHASE_RESAMPLE] = "resample",   [DD_PHASE_FILL] = "fill",
    [DD_PHASE_FORWARD] = "forward",     [DD_PHASE_OBJECTIVE] = "objective",
    [DD_PHASE_BACKWARD] = "backward",   [DD_PHASE_PASTE] = "paste",
    [DD_PHASE_NORMALISE] = "normalise", [DD_PHASE_PROGRESS] = "progress",
    [DD_PHASE_RESULT] = "result",
  };
  return phase >= 0 && phase < DD_N_PHASES ? names[phase] : NULL;
}

/* ---- Pixels in and out ---------------------------------------------------------- */

/* Colour channel c (0..2, RGB) of the source at (px, py), 0..255. Grey
 * sources have one colour channel. Noise starts are a hash of the place. */
static float
source_value (const Dream *d, int c, int px, int py)
{
  if (d->p->start == DD_START_NOISE) {
    guint32 h = d->noise_seed ^ (guint32) px * 73856093u ^ (guint32) py * 19349663u ^
                (guint32) c * 83492791u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return 96.0f + 64.0f * (float) (h & 0xffff) / 65535.0f;
  }
  const DdImage *im = d->image;
  const char *row = (const char *) im->pixels + (gsize) py * im->stride;
  gsize at = (gsize) px * im->channels + c;
  if (im->type == DD_PIXEL_U8)
    return ((const guint8 *) row)[at];
  /* Float images may hold NaN, infinities or HDR values: the dream works
   * on 0..255 and would spread a single NaN over the whole image. */
  float v = ((const float *) row)[at] * 255.0f;
  return isnan (v) ? 0.0f : CLAMP (v, 0.0f, 255.0f);
}

static void
load_source (const Dream *d, float *x)
{
  const int w = d->image->width, h = d->image->height;
  const gsize plane = (gsize) w * h;
#pragma omp parallel for schedule(static)
  for (int py = 0; py < h; py++)
    for (int c = 0; c < d->channels; c++)
      for (int px = 0; px < w; px++)
        x[c * plane + (gsize) py * w + px] = source_value (d, c, px, py);
}

static void
store_result (const Dream *d, const float *x)
{
  const DdImage *im = d->image;
  const gsize plane = (gsize) im->width * im->height;
#pragma omp parallel for schedule(static)
  for (int py = 0; py < im->height; py++) {
    char *row = (char *) im->pixels + (gsize) py * im->stride;
    for (int px = 0; px < im->width; px++)
      for (int c = 0; c < d->channels; c++) {
        /* Where the map says 0 the source keeps its very bytes. */
        if (d->mask_full && d->mask_full[(gsize) py * im->width + px] == 0)
          continue;
        float v = CLAMP (x[c * plane + (gsize) py * im->width + px], 0.0f, 255.0f);
        gsize at = (gsize) px * im->channels + c;
        if (im->type == DD_PIXEL_U8)
          ((guint8 *) row)[at] = (guint8) lrintf (v);
        else
          ((float *) row)[at] = v / 255.0f;
      }
  }
}

/* ---- Octaves ---------------------------------------------------------------------- */

static gsize
plane_of (Size s)
{
  return (gsize) s.width * s.height;
}

/* A seamless dream's octaves wrap around at the edges like its tiles. */
static void
zoom (const Dream *d, const float *src, Size from, float *dst, Size to, int channels)
{
  if (d->p->seamless)
    dd_resize_bilinear_wrap (src, from.width, from.height, dst, to.width, to.height, channels);
  else
    dd_resize_bilinear (src, from.width, from.height, dst, to.width, to.height, channels);
}

/* Octave i of the source (0 = full size): bilinear zooms chained as in the
 * notebook. Levels alternate between a and b; returns the one holding i. */
static float *
make_base (const Dream *d, int i, float *a, float *b)
{
  load_source (d, a);
  float *cur = a;
  for (int level = 1; level <= i; level++) {
    float *next = cur == a ? b : a;
    zoom (d, cur, d->sizes[level - 1], next, d->sizes[level], d->channels);
    cur = next;
  }
  return cur;
}

/* v (planar, channels x plane) times the octave's strength map. */
static void
scale_by_mask (const Dream *d, float *v, gsize plane)
{
  for (int c = 0; c < d->channels; c++) {
    float *vc = v + c * plane;
#pragma omp parallel for simd schedule(static)
    for (gsize k = 0; k < plane; k++)
      vc[k] *= d->mask[k];
  }
}

/* x = base of octave i + the previous octave's detail zoomed to this size
 * (weakened by the strength map, which is all the detail may grow). Below
 * full size, the base stays in the detail's buffer, free once the detail
 * is added, until end_octave needs it: making it anew there would read the
 * source and zoom it down once more for each octave. */
static void
begin_octave (Dream *d, int i)
{
  const gsize n = plane_of (d->sizes[i]) * d->channels;
  float *base = make_base (d, i, d->x, d->g);
  if (base != d->x)
    memcpy (d->x, base, n * sizeof (float));
  if (i != d->first_octave) {
    zoom (d, d->detail, d->sizes[i + 1], d->g, d->sizes[i], d->channels);
    if (d->mask)
      scale_by_mask (d, d->g, plane_of (d->sizes[i]));
  }
  if (i > 0)
    memcpy (d->detail, d->x, n * sizeof (float));
  if (i == d->first_octave)
    return;
#pragma omp parallel for simd schedule(static)
  for (gsize k = 0; k < n; k++)
    d->x[k] += d->g[k];
}

/* detail = x - base of octave i (which begin_octave kept in the detail's
 * buffer), for the next octave. */
static void
end_octave (Dream *d, int i)
{
  const gsize n = plane_of (d->sizes[i]) * d->channels;
#pragma omp parallel for simd schedule(static)
  for (gsize k = 0; k < n; k++)
    d->detail[k] = d->x[k] - d->detail[k];
}

/* ---- Plans and tiles -------------------------------------------------------------- */

static DdPlan *
make_plan (const Dream *d, Size s, DdPlanFlags flags, GError **error)
{
  return dd_plan_new (d->model, s.width, s.height, (const char *const *) d->targets, d->n_targets,
                      flags, error);
}

static gsize
plan_bytes (const Dream *d, Size s)
{
  g_autoptr (DdPlan) plan = make_plan (d, s, DD_PLAN_MEASURE_ONLY, NULL);
  return plan ? dd_plan_get_memory (plan) : G_MAXSIZE;
}

/* The input edge of the classifier: the size of the crops class
 * visualisation feeds it. */
static int
class_edge (const Dream *d)
{
  return d->card->classifier_size > 0 ? d->card->classifier_size : 224;
}

static int
min_size (const Dream *d)
{
  if (d->class_mode)
    return class_edge (d);
  int lo = 1, hi = 2048;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    g_autoptr (DdPlan) plan = make_plan (d, (Size){ mid, mid }, DD_PLAN_MEASURE_ONLY, NULL);
    if (plan)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Splits length into the fewest tiles whose windows are at most
 * window_max, all of equal size. A window holds its tile, a margin on each
 * side, and room to start on a multiple of stride; its length is chosen so
 * that the last window, flush with the end, starts on one too. Aligned
 * windows sample the layer at the same places as the untiled image. */
static void
split_axis (int length, int window_max, int margin, int stride, int *count, int *tile, int *window)
{
  if (length <= window_max) {
    *count = 1;
    *tile = *window = length;
    return;
  }
  int core = MAX (window_max - 2 * margin - 2 * stride, stride);
  *count = (length + core - 1) / core;
  *tile = (length + *count - 1) / *count;
  int w = *tile + 2 * margin + stride;
  w += ((length - w) % stride + stride) % stride;
  *window = MIN (w, length);
}

/* The largest square window in [lo, hi] whose plan fits budget (lo when
 * none does). */
static int
largest_square (const Dream *d, int lo, int hi, gsize budget)
{
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (plan_bytes (d, (Size){ mid, mid }) <= budget)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* What a seamless dream's window holds besides its tile: a margin on each
 * side, and room to start on a multiple of stride. */
static int
wrap_pad (const Dream *d)
{
  return 2 * d->margin + d->stride - 1;
}

/* Splits length into the fewest equal tiles whose windows, each its tile
 * and wrap_pad, are at most window_max (and at least min_edge, which the
 * network needs). */
static void
split_wrapped (int length, int window_max, int pad, int stride, int min_edge, int *count, int *tile,
               int *window)
{
  int core = MAX (window_max - pad, stride);
  *count = (length + core - 1) / core;
  *tile = (length + *count - 1) / *count;
  *window = MAX (*tile + pad, min_edge);
}

/* A seamless dream's windows reach past the image's edges into its other
 * side, so that the network sees no edge anywhere; even a single tile is
 * padded so. */
static void
choose_wrapped_tiling (Dream *d, Size s, gsize budget, int min_edge)
{
  const int pad = wrap_pad (d);
  const Size padded = { s.width + pad, s.height + pad };
  int edge_max = MAX (padded.width, padded.height);
  if (d->p->tile > 0)
    edge_max = MIN (edge_max, d->p->tile + pad);
  else if (plan_bytes (d, padded) > budget)
    edge_max = largest_square (d, min_edge, edge_max, budget);
  edge_max = MAX (edge_max, min_edge);
  split_wrapped (s.width, edge_max, pad, d->stride, min_edge, &d->tiles_x, &d->tile.width,
                 &d->window.width);
  split_wrapped (s.height, edge_max, pad, d->stride, min_edge, &d->tiles_y, &d->tile.height,
                 &d->window.height);
}

/* Chooses the window of the octave of size s: the whole octave when it fits
 * the budget, else the largest square window that does (check_memory made
 * sure that a min_edge square one does). */
static void
choose_tiling (Dream *d, Size s, gsize budget, int min_edge)
{
  if (d->class_mode) {
    /* One crop at the classifier's own input size per step (class_step). */
    d->margin = 0;
    d->tiles_x = d->tiles_y = 1;
    d->tile = d->window = (Size){ min_edge, min_edge };
    return;
  }
  if (d->p->seamless) {
    choose_wrapped_tiling (d, s, budget, min_edge);
    return;
  }
  int edge_max = MAX (s.width, s.height);
  if (d->p->tile > 0)
    edge_max = MIN (edge_max, d->p->tile + 2 * d->margin + 2 * d->stride);
  else if (plan_bytes (d, s) > budget)
    edge_max = largest_square (d, min_edge, edge_max, budget);
  edge_max = MAX (edge_max, min_edge);
  split_axis (s.width, edge_max, d->margin, d->stride, &d->tiles_x, &d->tile.width,
              &d->window.width);
  split_axis (s.height, edge_max, d->margin, d->stride, &d->tiles_y, &d->tile.height,
              &d->window.height);
}

/* ---- Objectives ------------------------------------------------------------------- */

/* For each position, the guide's feature vector that best matches it. */
static void
guide_gradient (Dream *d, int t, const float *a, int channels, int positions, float weight,
                float *grad)
{
  const int n = d->guide_n[t];
  const float *y = d->guide[t];
  for (int p0 = 0; p0 < positions; p0 += GUIDE_BLOCK) {
    int count = MIN (GUIDE_BLOCK, positions - p0);
    dd_sgemm (TRUE, FALSE, count, n, channels, 1.0f, a + p0, positions, y, n, 0.0f, d->scores, n);
#pragma omp parallel for schedule(static)
    for (int k = 0; k < count; k++) {
      const float *row = d->scores + (gsize) k * n;
      int best = 0;
      for (int j = 1; j < n; j++)
        if (row[j] > row[best])
          best = j;
      for (int c = 0; c < channels; c++)
        grad[(gsize) c * positions + p0 + k] = weight * y[(gsize) c * n + best];
    }
  }
}

/* Writes the gradient of the objective at every target. */
static void
set_objective (Dream *d)
{
  for (int t = 0; t < d->n_targets; t++) {
    DdTensorInfo info;
    const float *a = dd_plan_get_target (d->plan, t, &info);
    float *grad = dd_plan_get_target_grad (d->plan, t);
    const gsize n = dd_tensor_info_numel (&info);
    const float w = d->weights[t];
    if (d->class_mode) {
      memset (grad, 0, n * sizeof *grad);
      grad[d->p->class_index] = 1.0f;
      continue;
    }
    const int channels = info.rank > 1 ? (int) info.dims[1] : 1;
    const int positions = (int) (n / channels);
    if (d->guide[t]) {
      guide_gradient (d, t, a, channels, positions, w, grad);
    } else if (d->p->channel >= 0) {
      memset (grad, 0, n * sizeof *grad);
      for (int k = 0; k < positions; k++)
        grad[(gsize) d->p->channel * positions + k] = w * a[(gsize) d->p->channel * positions + k];
    } else {
      for (gsize k = 0; k < n; k++)
        grad[k] = w * a[k];
    }
  }
}

/* ---- One step ---------------------------------------------------------------------- */

/* The network channel k reads colour channel rgb_of(k) of x. */
static int
rgb_of (const Dream *d, int k)
{
  if (d->channels == 1)
    return 0;
  return d->card->bgr ? 2 - k : k;
}

static int
wrap (int v, int n)
{
  v %= n;
  return v < 0 ? v + n : v;
}

/* A run of n columns starting at column `first` of a row of width w,
 * wrapping at most once (n <= w): the part before the wrap has `split`
 * columns. */
static int
wrap_split (int first, int n, int w)
{
  return MIN (n, w - first);
}

/* One tile's copy in or out of the plan, shared out by rows. */
typedef struct {
  Dream *d;
  Size s;
  int wx, wy, ox, oy;
  int cx0, cx1, cy0; /* take_gradient's core */
} WindowJob;

static void
fill_window_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const WindowJob *j = data;
  const Dream *d = j->d;
  const Size s = j->s;
  float *in = dd_plan_get_input (d->plan);
  const gsize plane = plane_of (s), wplane = plane_of (d->window);
  const float unit = d->card->range / 255.0f;
  const int width = d->window.width, first = wrap (j->wx - j->ox, s.width);
  (void) slot;
  for (int64_t r = from; r < to; r++) {
    const int k = (int) (r / d->window.height), y = (int) (r % d->window.height);
    const float *src =
        d->x + rgb_of (d, k) * plane + (gsize) wrap (j->wy + y - j->oy, s.height) * s.width;
    float *dst = in + k * wplane + (gsize) y * width;
    const float scale = unit / d->card->std[k], shift = d->card->mean[k] / d->card->std[k];
    /* Runs up to the row's end, then on from its start: seamless
     * windows may be wider than the image. */
    for (int x = 0, col = first; x < width; col = 0) {
      const int run = MIN (width - x, s.width - col);
      for (int i = 0; i < run; i++)
        dst[x + i] = src[col + i] * scale - shift;
      x += run;
    }
  }
}

/* Fills the plan input with the window at (wx, wy) of x rolled by (ox, oy). */
static void
fill_window (Dream *d, Size s, int wx, int wy, int ox, int oy)
{
  WindowJob j = { .d = d, .s = s, .wx = wx, .wy = wy, .ox = ox, .oy = oy };
  dd_parallel_range (3 * (int64_t) d->window.height, dd_stream_items (d->window.width), 1,
                     fill_window_rows, &j);
}

static void
take_gradient_rows (gpointer data, int64_t from, int64_t to, int slot)
{
  const WindowJob *j = data;
  const Dream *d = j->d;
  const Size s = j->s;
  const float *gin = dd_plan_get_input_grad (d->plan);
  const gsize plane = plane_of (s), wplane = plane_of (d->window);
  const float unit = d->card->range / 255.0f;
  const int n = j->cx1 - j->cx0, first = wrap (j->cx0 - j->ox, s.width);
  const int split = wrap_split (first, n, s.width);
  (void) slot;
  for (int y = j->cy0 + (int) from; y < j->cy0 + (int) to; y++) {
    const gsize row = (gsize) wrap (y - j->oy, s.height) * s.width;
    for (int c = 0; c < d->channels; c++) {
      memset (d->g + c * plane + row + first, 0, split * sizeof (float));
      memset (d->g + c * plane + row, 0, (n - split) * sizeof (float));
    }
    /* A grey image gets the sum of the three channels' gradients. */
    for (int k = 0; k < 3; k++) {
      const float scale = unit / d->card->std[k];
      const float *src =
          gin + k * wplane + (gsize) (y - j->wy) * d->window.width + (j->cx0 - j->wx);
      float *dst = d->g + rgb_of (d, k) * plane + row;
      for (int i = 0; i < split; i++)
        dst[first + i] += src[i] * scale;
      for (int i = split; i < n; i++)
        dst[i - split] += src[i] * scale;
    }
  }
}

/* Writes the input gradient of the core [cx0, cx1) x [cy0, cy1) of the
 * window at (wx, wy) into g, undoing the roll. */
static void
take_gradient (Dream *d, Size s, int wx, int wy, int cx0, int cx1, int cy0, int cy1, int ox, int oy)
{
  WindowJob j = {
    .d = d,
    .s = s,
    .wx = wx,
    .wy = wy,
    .ox = ox,
    .oy = oy,
    .cx0 = cx0,
    .cx1 = cx1,
    .cy0 = cy0,
  };
  dd_parallel_range (cy1 - cy0, dd_stream_items (3 * (cx1 - cx0)), 1, take_gradient_rows, &j);
}

/* TRUE, with the error set, when the caller cancelled the dream. */
static gboolean
cancelled (Dream *d, GError **error)
{
  if (!d->cancellable || !g_cancellable_is_cancelled (d->cancellable))
    return FALSE;
  dd_fail (error, DD_ERROR_CANCELLED, "the dream was cancelled");
  return TRUE;
}

/* The multiple of stride at or before want, within [0, last]. */
static int
aligned_start (int want, int stride, int last)
{
  int start = want <= 0 ? 0 : want / stride * stride;
  return CLAMP (start, 0, MAX (last, 0));
}

/* The multiple of stride at or before v, which may be negative. */
static int
floor_to (int v, int stride)
{
  return v >= 0 ? v / stride * stride : -((-v + stride - 1) / stride * stride);
}

/* The gradient of the objective for the whole octave, tile by tile. */
static gboolean
compute_gradient (Dream *d, Size s, int ox, int oy, GError **error)
{
  for (int ty = 0; ty < d->tiles_y; ty++)
    for (int tx = 0; tx < d->tiles_x; tx++) {
      if (cancelled (d, error))
        return FALSE;
      int cx0 = tx * d->tile.width, cx1 = MIN (cx0 + d->tile.width, s.width);
      int cy0 = ty * d->tile.height, cy1 = MIN (cy0 + d->tile.height, s.height);
      int wx = aligned_start (cx0 - d->margin, d->stride, s.width - d->window.width);
      int wy = aligned_start (cy0 - d->margin, d->stride, s.height - d->window.height);
      if (d->p->seamless) {
        wx = floor_to (cx0 - d->margin, d->stride);
        wy = floor_to (cy0 - d->margin, d->stride);
      }
      fill_window (d, s, wx, wy, ox, oy);
      lap (d, DD_PHASE_FILL);
      dd_plan_forward (d->plan);
      lap (d, DD_PHASE_FORWARD);
      set_objective (d);
      lap (d, DD_PHASE_OBJECTIVE);
      dd_plan_backward (d->plan);
      lap (d, DD_PHASE_BACKWARD);
      take_gradient (d, s, wx, wy, cx0, cx1, cy0, cy1, ox, oy);
      lap (d, DD_PHASE_PASTE);
    }
  return TRUE;
}

/* Annealing for class visualisation: 1 at the start of the run, 0 at the end. */
static float
remaining (const Dream *d)
{
  return d->steps_total > 1 ? 1.0f - (float) d->steps_done / (d->steps_total - 1) : 0.0f;
}

/* A gradient that overflowed would turn the picture black or NaN, and one
 * that is zero would leave it as it was: both end the dream with the
 * reason, rather than make a picture that looks like a result. sum is the
 * gradient's L1 norm, which the step needs anyway. */
static gboolean
check_gradient (const Dream *d, double sum, GError **error)
{
  if (!isfinite (sum))
    return dd_fail (error, DD_ERROR_INVALID,
                    "the dream's gradient is not finite at step %d: values overflow in the "
                    "network (its weights, or the layer weights, are too large)",
                    d->steps_done + 1);
  if (sum == 0) {
    g_autofree char *channel =
        d->p->channel >= 0 ? g_strdup_printf (" channel %d", d->p->channel) : g_strdup ("");
    return dd_fail (error, DD_ERROR_INVALID,
                    "the dream's gradient is zero at step %d: %s%s gives nothing to amplify in "
                    "this image (a dead channel, or a layer weight of 0)",
                    d->steps_done + 1, d->targets[0], channel);
  }
  return TRUE;
}

static void lap_normalize (Dream *d, Size s);
static void gaussian_blur (Dream *d, float *img, int w, int h, float sigma);

/* One step's move of x along g, shared out in ranges of pixels (of every
 * channel, for the masked step). */
typedef struct {
  Dream *d;
  gsize plane;
  float rate;
} StepJob;

static void
masked_step_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const StepJob *j = data;
  const float *m = j->d->mask;
  (void) slot;
  for (int c = 0; c < j->d->channels; c++) {
    float *x = j->d->x + c * j->plane;
    const float *g = j->d->g + c * j->plane;
#pragma omp simd
    for (int64_t k = from; k < to; k++)
      x[k] = CLAMP (x[k] + j->rate * m[k] * g[k], 0.0f, 255.0f);
  }
}

/* The step scaled by the strength map at each pixel. The rate stays the
 * one normalised over the whole image, so that full strength is the same
 * step as without a map. */
static void
masked_step (Dream *d, Size s, float rate)
{
  StepJob j = { d, plane_of (s), rate };
  dd_parallel_range ((int64_t) j.plane, DD_STREAM_BLOCK, 64, masked_step_range, &j);
}

static void
plain_step_range (gpointer data, int64_t from, int64_t to, int slot)
{
  const StepJob *j = data;
  float *x = j->d->x;
  const float *g = j->d->g;
  (void) slot;
#pragma omp simd
  for (int64_t k = from; k < to; k++)
    x[k] = CLAMP (x[k] + j->rate * g[k], 0.0f, 255.0f);
}

/* The sum of |v|: in SUM_RUNS fixed runs added up in their order, not in
 * one run per thread, so that the step's rate, and with it the dream, is
 * the same to the last bit whatever the number of threads. 64 runs keep 8
 * threads evenly busy. */
#define SUM_RUNS 64

typedef struct {
  const float *v;
  gsize n;
  double partial[SUM_RUNS];
} SumJob;

static void
sum_abs_run (gpointer data, int64_t r, int slot)
{
  SumJob *j = data;
  const gsize from = j->n * r / SUM_RUNS, to = j->n * (r + 1) / SUM_RUNS;
  double sum = 0;
  (void) slot;
#pragma omp simd reduction(+ : sum)
  for (gsize k = from; k < to; k++)
    sum += fabsf (j->v[k]);
  j->partial[r] = sum;
}

static double
sum_abs (const float *v, gsize n)
{
  SumJob j = { .v = v, .n = n };
  dd_parallel (SUM_RUNS, sum_abs_run, &j);
  double sum = 0;
  for (int r = 0; r < SUM_RUNS; r++)
    sum += j.partial[r];
  return sum;
}

static gboolean
step (Dream *d, Size s, GError **error)
{
  const int j = d->p->jitter;
  const int ox = j ? g_rand_int_range (d->rand, -j, j + 1) : 0;
  const int oy = j ? g_rand_int_range (d->rand, -j, j + 1) : 0;
  const gsize n = plane_of (s) * d->channels;

  if (!compute_gradient (d, s, ox, oy, error))
    return FALSE;
  if (d->p->laplacian > 0)
    lap_normalize (d, s);
  const double sum = sum_abs (d->g, n);
  if (!check_gradient (d, sum, error))
    return FALSE;
  const float rate = (float) (d->p->step_size / (sum / n + 1e-8));
  if (d->mask) {
    masked_step (d, s, rate);
  } else {
    StepJob sj = { d, n, rate };
    dd_parallel_range ((int64_t) n, DD_STREAM_BLOCK, 64, plain_step_range, &sj);
  }
  lap (d, DD_PHASE_NORMALISE);
  return TRUE;
}

/* ---- Class visualisation ----------------------------------------------------------- */

/* Drawing a class: the logit of one class (before the softmax, which could
 * also rise by lowering the others) climbed by steps on crops at the
 * classifier's own input size, anywhere in the octave, so the network sees
 * what it was trained on and every step costs one crop, whatever the size
 * of the image. Octaves from small to large lay the object out first and
 * add detail later; the step and the blur start large and shrink towards
 * the end, and a slight decay pulls every pixel towards the network's mean
 * colour so that only what the class needs moves far from it. */

/* Start and end of the annealed step (times step-size) and blur sigma:
 * with a steady step the last steps still shake the picture, with a steady
 * blur either the early shapes stay noise or the late details are wiped.
 * A first sigma of 4 blurred the objects away at GoogLeNet's 224 px. */
#define CLASS_STEP_START 4.0f
#define CLASS_SIGMA_START 2.5f
#define CLASS_SIGMA_END 0.4f
/* The share of a pixel's distance from the mean colour taken away each
 * step: small against a step, so it only wins where the gradient keeps
 * no colour up (at 0.01 the pictures of 120 steps came out grey, at 0
 * the background keeps its noise). */
#define CLASS_DECAY 0.002f

static gsize
crop_at (Size s, int wx, int wy, int x, int y)
{
  return (gsize) wrap (wy + y, s.height) * s.width + wrap (wx + x, s.width);
}

/* Where the crop of the next step starts: uniform over the octave, a
 * quarter of a crop past its edges taken as the edge itself, so that edge
 * pixels are visited about as often as central ones; then rolled by the
 * jitter, wrapping around. */
static int
crop_start (Dream *d, int length, int edge)
{
  const int room = length - edge, over = edge / 4, j = d->p->jitter;
  int start = 0;
  if (d->p->seamless)
    start = g_rand_int_range (d->rand, 0, length);
  else if (room > 0)
    start = CLAMP (g_rand_int_range (d->rand, -over, room + over + 1), 0, room);
  return start + (j ? g_rand_int_range (d->rand, -j, j + 1) : 0);
}

static gboolean
class_step (Dream *d, Size s, GError **error)
{
  const int w = d->window.width, h = d->window.height;
  const gsize plane = plane_of (s), wplane = plane_of (d->window), n = wplane * d->channels;
  const float unit = d->card->range / 255.0f;
  if (cancelled (d, error))
    return FALSE;
  const int wx = crop_start (d, s.width, w), wy = crop_start (d, s.height, h);
  fill_window (d, s, wx, wy, 0, 0);
  dd_plan_forward (d->plan);
  set_objective (d);
  dd_plan_backward (d->plan);

  /* The gradient in pixel units; a grey image gets the sum of the three
   * channels'. */
  const float *gin = dd_plan_get_input_grad (d->plan);
  memset (d->crop_g, 0, n * sizeof (float));
  for (int k = 0; k < 3; k++) {
    const float scale = unit / d->card->std[k];
    float *dst = d->crop_g + rgb_of (d, k) * wplane;
    for (gsize i = 0; i < wplane; i++)
      dst[i] += gin[k * wplane + i] * scale;
  }
  const double sum = sum_abs (d->crop_g, n);
  if (!check_gradient (d, sum, error))
    return FALSE;

  const float left = remaining (d);
  const float step_size = (float) d->p->step_size * (1.0f + (CLASS_STEP_START - 1.0f) * left);
  const float rate = (float) (step_size / (sum / n + 1e-8));
  for (int c = 0; c < d->channels; c++) {
    float *crop = d->crop + c * wplane;
    const float *g = d->crop_g + c * wplane, centre = d->decay_centre[c];
    const float *x = d->x + c * plane;
    for (int y = 0; y < h; y++)
      for (int i = 0; i < w; i++) {
        float v = x[crop_at (s, wx, wy, i, y)] + rate * g[(gsize) y * w + i];
        v = centre + (v - centre) * (1.0f - CLASS_DECAY);
        crop[(gsize) y * w + i] = CLAMP (v, 0.0f, 255.0f);
      }
  }
  gaussian_blur (d, d->crop, w, h, CLASS_SIGMA_END + (CLASS_SIGMA_START - CLASS_SIGMA_END) * left);

  /* Back into the octave; the strength map scales the whole change. */
  for (int c = 0; c < d->channels; c++) {
    const float *crop = d->crop + c * wplane;
    float *x = d->x + c * plane;
    for (int y = 0; y < h; y++)
      for (int i = 0; i < w; i++) {
        const gsize at = crop_at (s, wx, wy, i, y);
        const float v = crop[(gsize) y * w + i];
        x[at] = d->mask ? x[at] + d->mask[at] * (v - x[at]) : v;
      }
  }
  return TRUE;
}

/* The colour the decay pulls towards: what the network takes as zero. */
static void
set_decay_centre (Dream *d)
{
  const float unit = d->card->range / 255.0f;
  float grey = 0;
  for (int k = 0; k < 3; k++) {
    float v = CLAMP (d->card->mean[k] / unit, 0.0f, 255.0f);
    grey += v / 3;
    if (d->channels == 3)
      d->decay_centre[rgb_of (d, k)] = v;
  }
  if (d->channels == 1)
    d->decay_centre[0] = grey;
}

/* ---- Laplacian normalisation and blur ----------------------------------------------------- */

static const float K5[5] = { 1 / 16.f, 4 / 16.f, 6 / 16.f, 4 / 16.f, 1 / 16.f };

/* Index v of a line of n pixels: -1 outside it, unless the line wraps
 * around (seamless dreams). */
static int
tap_at (int v, int n, gboolean wraps)
{
  if (wraps)
    return wrap (v, n);
  return v >= 0 && v < n ? v : -1;
}

/* lo = 5x5 binomial blur of img, taken every other pixel (zero outside,
 * or wrapped around). */
static void
lap_down (const float *img, int w, int h, float *lo, int lw, int lh, gboolean wraps)
{
#pragma omp parallel for schedule(static)
  for (int y = 0; y < lh; y++)
    for (int x = 0; x < lw; x++) {
      float sum = 0;
      for (int i = 0; i < 5; i++) {
        int sy = tap_at (2 * y + i - 2, h, wraps);
        if (sy < 0)
          continue;
        for (int k = 0; k < 5; k++) {
          int sx = tap_at (2 * x + k - 2, w, wraps);
          if (sx >= 0)
            sum += K5[i] * K5[k] * img[(gsize) sy * w + sx];
        }
      }
      lo[(gsize) y * lw + x] = sum;
    }
}

/* img += sign * (lo upsampled by 2 with the same kernel, times 4). */
static void
lap_up_add (const float *lo, int lw, int lh, float *img, int w, int h, float sign, gboolean wraps)
{
#pragma omp parallel for schedule(static)
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float sum = 0;
      for (int i = (y + 2) % 2; i < 5; i += 2) {
        int ly = tap_at ((y + 2 - i) / 2, lh, wraps);
        if (ly < 0)
          continue;
        for (int k = (x + 2) % 2; k < 5; k += 2) {
          int lx = tap_at ((x + 2 - k) / 2, lw, wraps);
          if (lx >= 0)
            sum += 4 * K5[i] * K5[k] * lo[(gsize) ly * lw + lx];
        }
      }
      img[(gsize) y * w + x] += sign * sum;
    }
}

static void
normalize_rms (float *v, gsize n)
{
  double sq = 0;
  for (gsize k = 0; k < n; k++)
    sq += (double) v[k] * v[k];
  float inv = (float) (1.0 / MAX (sqrt (sq / MAX (n, 1)), 1e-10));
  for (gsize k = 0; k < n; k++)
    v[k] *= inv;
}

/* The 2016 TensorFlow notebook's Laplacian pyramid normalisation: each band
 * of the gradient divided by its RMS, then merged back. Per channel, in
 * place, with the low-pass levels in lap_scratch. */
static void
lap_normalize (Dream *d, Size s)
{
  const int bands = d->p->laplacian;
  for (int c = 0; c < d->channels; c++) {
    float *img = d->g + c * plane_of (s);
    float *level[9] = { img };
    int w[9] = { s.width }, h[9] = { s.height };
    float *free_at = d->lap_scratch;
    int n = 1;
    for (; n < bands && w[n - 1] > 1 && h[n - 1] > 1; n++) {
      w[n] = (w[n - 1] + 1) / 2;
      h[n] = (h[n - 1] + 1) / 2;
      level[n] = free_at;
      free_at += (gsize) w[n] * h[n];
      lap_down (level[n - 1], w[n - 1], h[n - 1], level[n], w[n], h[n], d->p->seamless);
      lap_up_add (level[n], w[n], h[n], level[n - 1], w[n - 1], h[n - 1], -1.0f, d->p->seamless);
    }
    for (int i = 0; i < n; i++)
      normalize_rms (level[i], (gsize) w[i] * h[i]);
    for (int i = n - 1; i > 0; i--)
      lap_up_add (level[i], w[i], h[i], level[i - 1], w[i - 1], h[i - 1], 1.0f, d->p->seamless);
  }
}

static void
blur_line (const float *src, gsize stride, int n, const float *kernel, int radius, float *out)
{
  for (int i = 0; i < n; i++) {
    float sum = 0, norm = 0;
    for (int k = -radius; k <= radius; k++)
      if (i + k >= 0 && i + k < n) {
        sum += kernel[k + radius] * src[(gsize) (i + k) * stride];
        norm += kernel[k + radius];
      }
    out[i] = sum / norm;
  }
}

/* Separable Gaussian blur of the channels of img (w x h planes), the class
 * visualisation's prior: the classifier alone is as happy with
 * high-frequency patterns no eye reads as the class, and blurring a little
 * after every step leaves only what the gradient keeps rebuilding, which
 * are larger, smoother shapes. */
static void
gaussian_blur (Dream *d, float *img, int w, int h, float sigma)
{
  const int radius = MIN ((int) ceilf (3 * sigma), 15);
  float kernel[31];
  for (int k = -radius; k <= radius; k++)
    kernel[k + radius] = expf (-0.5f * k * k / (sigma * sigma));
  const int longest = MAX (w, h);
  for (int c = 0; c < d->channels; c++) {
    float *p = img + c * (gsize) w * h;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
      float *line = d->blur_line + (gsize) omp_get_thread_num () * longest;
      blur_line (p + (gsize) y * w, 1, w, kernel, radius, line);
      memcpy (p + (gsize) y * w, line, w * sizeof *line);
    }
#pragma omp parallel for schedule(static)
    for (int x = 0; x < w; x++) {
      float *line = d->blur_line + (gsize) omp_get_thread_num () * longest;
      blur_line (p + x, w, h, kernel, radius, line);
      for (int y = 0; y < h; y++)
        p[(gsize) y * w + x] = line[y];
    }
  }
}

/* ---- Set-up ------------------------------------------------------------------------- */

/* "name[:weight],..." (or the card's default) into resolved targets. */
static gboolean
parse_layers (Dream *d, GError **error)
{
  if (d->class_mode) {
    if (!d->card->classifier)
      return dd_fail (error, DD_ERROR_ARGUMENT, "class: model '%s' has no classifier on its card",
                      d->card->name);
    d->targets[0] = g_strdup (d->card->classifier);
    d->weights[0] = 1;
    d->n_targets = 1;
    return TRUE;
  }
  const char *spec = d->p->layers && *d->p->layers ? d->p->layers : d->card->default_layer;
  if (!spec)
    return dd_fail (error, DD_ERROR_ARGUMENT,
                    "layers: model '%s' has no card to name a default layer; give one "
                    "(deepdream --list-layers shows them)",
                    d->card->name);
  g_auto (GStrv) parts = g_strsplit (spec, ",", -1);
  for (int i = 0; parts[i]; i++) {
    char *name = g_strstrip (parts[i]);
    float weight = 1;
    char *colon = strrchr (name, ':');
    if (colon) {
      char *end;
      weight = (float) g_ascii_strtod (colon + 1, &end);
      if (*end || colon[1] == 0 || !isfinite (weight))
        return dd_fail (error, DD_ERROR_ARGUMENT, "layers: bad weight in '%s'", name);
      /* The step is normalised, so a weight only matters relative to the
       * others; beyond this the activations squared overflow floats. */
      if (fabsf (weight) > MAX_LAYER_WEIGHT)
        return dd_fail (error, DD_ERROR_ARGUMENT,
                        "layers: the weight in '%s' is out of range (-%g..%g)", name,
                        MAX_LAYER_WEIGHT, MAX_LAYER_WEIGHT);
      *colon = 0;
    }
    if (!*name)
      continue;
    if (d->n_targets == MAX_LAYERS)
      return dd_fail (error, DD_ERROR_ARGUMENT, "layers: at most %d layers", MAX_LAYERS);
    d->targets[d->n_targets] = dd_model_card_resolve_layer (d->card, d->model, name);
    d->weights[d->n_targets++] = weight;
  }
  if (d->n_targets == 0)
    return dd_fail (error, DD_ERROR_ARGUMENT, "layers: no layer named in '%s'", spec);
  return TRUE;
}

/* Checks the targets with a small plan, and the channel and class against
 * their shapes. */
static gboolean
check_targets (Dream *d, int edge, GError **error)
{
  GError *local = NULL;
  g_autoptr (DdPlan) plan = make_plan (d, (Size){ edge, edge }, DD_PLAN_MEASURE_ONLY, &local);
  if (!plan) {
    dd_fail (error, local->code == DD_ERROR_ARGUMENT ? DD_ERROR_ARGUMENT : local->code,
             "layers: %s", local->message);
    g_error_free (local);
    return FALSE;
  }
  for (int t = 0; t < d->n_targets; t++) {
    DdTensorInfo info;
    dd_plan_get_target (plan, t, &info);
    if (d->class_mode) {
      gsize classes = dd_tensor_info_numel (&info);
      if ((gsize) d->p->class_index >= classes)
        return dd_fail (error, DD_ERROR_ARGUMENT, "class: %d is past the %zu classes of %s",
                        d->p->class_index, classes, info.name);
    } else if (info.rank != 4) {
      return dd_fail (error, DD_ERROR_ARGUMENT,
                      "layers: '%s' is not an image-shaped activation (rank %d)", info.name,
                      info.rank);
    } else if (d->p->channel >= info.dims[1]) {
      return dd_fail (error, DD_ERROR_ARGUMENT, "channel: %d is past the %d channels of %s",
                      d->p->channel, (int) info.dims[1], info.name);
    }
  }
  return TRUE;
}

/* Sizes of every octave of an image of size s, and the first (smallest)
 * one the network can take. */
static gboolean
plan_octaves (Dream *d, Size s, int min_edge, GError **error)
{
  if (s.width < min_edge || s.height < min_edge)
    return dd_fail (error, DD_ERROR_ARGUMENT, "the image is %dx%d; %s needs at least %dx%d pixels",
                    s.width, s.height, d->targets[0], min_edge, min_edge);
  d->n_octaves = MIN (d->p->octaves, (int) G_N_ELEMENTS (d->sizes));
  d->sizes[0] = s;
  d->first_octave = 0;
  for (int i = 1; i < d->n_octaves; i++) {
    Size o = { (int) lround (d->sizes[i - 1].width / d->p->octave_scale),
               (int) lround (d->sizes[i - 1].height / d->p->octave_scale) };
    if (o.width < min_edge || o.height < min_edge) {
      /* A class is drawn on crops of min_edge, which need no more than
       * that: the smallest octave is the one whose shorter side is a crop,
       * unless the last octave is within 3 % of that already (it would add
       * steps, not a scale). */
      const Size last = d->sizes[i - 1];
      const double f = (double) min_edge / MIN (last.width, last.height);
      if (!d->class_mode || f > 0.97)
        break;
      o = (Size){ MAX ((int) lround (last.width * f), min_edge),
                  MAX ((int) lround (last.height * f), min_edge) };
    }
    d->sizes[i] = o;
    d->first_octave = i;
    if (o.width == min_edge || o.height == min_edge)
      break;
  }
  return TRUE;
}

/* Backs bytes at p with memory now, a huge page per call, the calls shared
 * by the threads: the pages would come anyway by faults, one at a time,
 * in whichever phase touched them first, and memory short of the need
 * is an error here rather than the end of the process mid-dream. FALSE
 * only when the system has not the memory; kernels without
 * MADV_POPULATE_WRITE (before 5.14) leave it to the faults. */
static gboolean
first_touch (char *p, gsize bytes)
{
  gboolean short_of_memory = FALSE;
#ifdef MADV_POPULATE_WRITE
  const gint64 chunks = (gint64) ((bytes + DD_HUGE_PAGE - 1) / DD_HUGE_PAGE);
#pragma omp parallel for schedule(static, 1)
  for (gint64 i = 0; i < chunks; i++) {
    const gsize at = (gsize) i * DD_HUGE_PAGE, len = MIN (DD_HUGE_PAGE, bytes - at);
    if (madvise (p + at, len, MADV_POPULATE_WRITE) != 0 && errno == ENOMEM)
      short_of_memory = TRUE;
  }
#endif
  return !short_of_memory;
}

static float *
try_floats (gsize count, const char *what, GError **error)
{
  const gsize bytes = MAX (count, 1) * sizeof (float);
  float *p = dd_alloc_huge (bytes);
  if (p && !first_touch ((char *) p, bytes))
    g_clear_pointer (&p, free);
  if (!p)
    dd_fail (error, DD_ERROR_MEMORY, "not enough memory for the %s (%zu MB)", what,
             count * sizeof (float) >> 20);
  return p;
}

/* The guide's features at every target, computed once. */
static gboolean
compute_guide (Dream *d, const DdImage *guide, GError **error)
{
  double scale = MIN (1.0, (double) GUIDE_EDGE / MAX (guide->width, guide->height));
  Size s = { MAX ((int) lround (guide->width * scale), 1),
             MAX ((int) lround (guide->height * scale), 1) };
  GError *local = NULL;
  g_autoptr (DdPlan) plan = make_plan (d, s, DD_PLAN_FORWARD_ONLY, &local);
  if (!plan) {
    dd_fail (error, DD_ERROR_ARGUMENT, "guide: the %dx%d guide is too small for the layer: %s",
             guide->width, guide->height, local->message);
    g_error_free (local);
    return FALSE;
  }
  /* The guide through the same preprocessing as the image. */
  Dream g = *d;
  g.image = guide;
  g.channels = guide->channels >= 3 ? 3 : 1;
  DdDreamParams plain = *d->p;
  plain.start = DD_START_IMAGE;
  g.p = &plain;
  g_autofree float *full =
      try_floats ((gsize) guide->width * guide->height * g.channels, "guide", error);
  g_autofree float *small = try_floats (plane_of (s) * g.channels, "guide", error);
  if (!full || !small)
    return FALSE;
  load_source (&g, full);
  dd_resize_bilinear (full, guide->width, guide->height, small, s.width, s.height, g.channels);
  g.x = small;
  g.plan = plan;
  g.window = s;
  fill_window (&g, s, 0, 0, 0, 0);
  dd_plan_forward (plan);
  for (int t = 0; t < d->n_targets; t++) {
    DdTensorInfo info;
    const float *a = dd_plan_get_target (plan, t, &info);
    d->guide_n[t] = (int) (info.dims[2] * info.dims[3]);
    d->guide[t] = g_memdup2 (a, dd_tensor_info_numel (&info) * sizeof (float));
  }
  return TRUE;
}

/* Floats of the Laplacian pyramid's scratch. */
static gsize
lap_floats (const Dream *d)
{
  return plane_of (d->sizes[0]) / 3 + 4 * (gsize) MAX (d->sizes[0].width, d->sizes[0].height) + 64;
}

/* Floats of the image, and of its gradient, at full size. */
static gsize
full_floats (const Dream *d)
{
  return plane_of (d->sizes[0]) * d->channels;
}

/* Floats of the detail carried from octave to octave, 0 for one octave. */
static gsize
detail_floats (const Dream *d)
{
  return d->first_octave > 0 ? plane_of (d->sizes[1]) * d->channels : 0;
}

/* Floats of the strength map at full size and at the octave below. */
static gsize
mask_floats (const Dream *d)
{
  return plane_of (d->sizes[0]) + (d->first_octave > 0 ? plane_of (d->sizes[1]) : 0);
}

/* Bytes the dream keeps for the whole run besides its plans: the image and
 * its gradient at full size, the detail between octaves, the Laplacian
 * pyramid. */
static gsize
working_bytes (const Dream *d)
{
  gsize n = 2 * full_floats (d) + detail_floats (d);
  if (d->p->laplacian > 0)
    n += lap_floats (d);
  if (d->mask_image)
    n += mask_floats (d);
  if (d->class_mode)
    n += 2 * (gsize) class_edge (d) * class_edge (d) * d->channels;
  return n * sizeof (float);
}

static gsize
mb_up (gsize bytes)
{
  return bytes / (1 << 20) + (bytes % (1 << 20) != 0);
}

/* Refuses, before anything big is allocated, a dream that cannot fit the
 * memory budget even with the smallest tiles (plan_octaves made sure the
 * image holds a min_edge square); sets *need to the least it needs and
 * *plan_budget to what the budget leaves for plans. */
static gboolean
check_memory (Dream *d, int min_edge, gsize *need, gsize *plan_budget, GError **error)
{
  gsize budget = (gsize) (d->p->memory_mb ? d->p->memory_mb : DEFAULT_MEMORY_MB) << 20;
  gsize fixed = working_bytes (d);
  gsize tile = plan_bytes (d, (Size){ min_edge, min_edge });
  *need = tile > G_MAXSIZE - fixed ? G_MAXSIZE : fixed + tile;
  if (*need > budget)
    return dd_fail (error, DD_ERROR_MEMORY,
                    "a %dx%d dream needs at least %zu MB (%zu MB for full-size working copies "
                    "of the image, %zu MB for the smallest tile); the memory budget is %zu MB",
                    d->sizes[0].width, d->sizes[0].height, mb_up (*need), mb_up (fixed),
                    mb_up (tile), budget >> 20);
  /* What the system leaves, less an eighth for what the dream's caller
   * and the libraries take around it (threads, OpenBLAS, the output file). */
  const char *limit = NULL;
  gsize available = dd_memory_available (&limit);
  available -= available / 8;
  if (*need > available)
    return dd_fail (error, DD_ERROR_MEMORY,
                    "a %dx%d dream needs at least %zu MB (%zu MB for full-size working copies "
                    "of the image, %zu MB for the smallest tile); %s leaves only %zu MB",
                    d->sizes[0].width, d->sizes[0].height, mb_up (*need), mb_up (fixed),
                    mb_up (tile), limit, available >> 20);
  *plan_budget = MIN (budget, available) - fixed;
  return TRUE;
}

static gboolean
allocate (Dream *d, GError **error)
{
  d->x = try_floats (full_floats (d), "image", error);
  d->g = d->x ? try_floats (full_floats (d), "gradient", error) : NULL;
  if (!d->g)
    return FALSE;
  if (d->first_octave > 0 && !(d->detail = try_floats (detail_floats (d), "octave detail", error)))
    return FALSE;
  if (d->p->laplacian > 0 &&
      !(d->lap_scratch = try_floats (lap_floats (d), "Laplacian pyramid", error)))
    return FALSE;
  if (d->mask_image) {
    if (!(d->mask_full = try_floats (mask_floats (d), "strength map", error)) ||
        !dd_mask_load (d->mask_image, d->sizes[0].width, d->sizes[0].height, d->mask_full, error))
      return FALSE;
  }
  if (d->class_mode) {
    const int edge = class_edge (d);
    const gsize crop = (gsize) edge * edge * d->channels;
    if (!(d->blur_line = try_floats ((gsize) omp_get_max_threads () * edge, "blur", error)) ||
        !(d->crop = try_floats (crop, "class crop", error)) ||
        !(d->crop_g = try_floats (crop, "class crop", error)))
      return FALSE;
    set_decay_centre (d);
  }
  if (d->guide[0]) {
    if (!(d->scores = try_floats ((gsize) GUIDE_BLOCK * d->guide_n[0], "guide scores", error)))
      return FALSE;
    for (int t = 1; t < d->n_targets; t++)
      d->guide_n[t] = MIN (d->guide_n[t], d->guide_n[0]);
  }
  return TRUE;
}

/* The image-sized buffers and the plan. */
static void
release_buffers (Dream *d)
{
  /* try_floats's, from dd_alloc_huge */
  g_clear_pointer (&d->x, free);
  g_clear_pointer (&d->g, free);
  g_clear_pointer (&d->detail, free);
  g_clear_pointer (&d->scores, free);
  g_clear_pointer (&d->lap_scratch, free);
  g_clear_pointer (&d->blur_line, free);
  g_clear_pointer (&d->crop, free);
  g_clear_pointer (&d->crop_g, free);
  g_clear_pointer (&d->mask_full, free);
  g_clear_pointer (&d->plan, dd_plan_free);
}

static void
dream_clear (Dream *d)
{
  for (int t = 0; t < MAX_LAYERS; t++) {
    g_free (d->targets[t]);
    g_free (d->guide[t]);
  }
  release_buffers (d);
  if (d->rand)
    g_rand_free (d->rand);
}

static gboolean
check_image (const DdImage *im, const char *what, GError **error)
{
  if (!im->pixels || im->width < 1 || im->height < 1 || im->channels < 1 || im->channels > 4 ||
      im->stride < (gsize) im->width * im->channels * (im->type == DD_PIXEL_U8 ? 1 : 4))
    return dd_fail (error, DD_ERROR_ARGUMENT, "%s: not a valid image (%dx%d, %d channels)", what,
                    im->width, im->height, im->channels);
  return TRUE;
}

static void
report_progress (Dream *d, int octave, int iteration)
{
  d->steps_done++;
  if (d->progress)
    d->progress ((double) d->steps_done / d->steps_total, octave, d->first_octave + 1, iteration,
                 d->p->iterations, d->progress_data);
}

/* The strength map at octave i's size, after the full-size one. */
static void
octave_mask (Dream *d, int i)
{
  d->mask = d->mask_full;
  if (i == 0)
    return;
  d->mask = d->mask_full + plane_of (d->sizes[0]);
  zoom (d, d->mask_full, d->sizes[0], d->mask, d->sizes[i], 1);
}

/* Dreams one octave in x. */
static gboolean
run_octave (Dream *d, int i, gsize budget, int min_edge, GError **error)
{
  const Size s = d->sizes[i];
  choose_tiling (d, s, budget, min_edge);
  if (!dd_plan_reshape (d->plan, d->window.width, d->window.height, error))
    return FALSE;
  lap (d, DD_PHASE_SETUP);
  if (i == 0) {
    d->info.tiles = d->tiles_x * d->tiles_y;
    d->info.tile_width = d->window.width;
    d->info.tile_height = d->window.height;
  }
  d->info.plan_bytes = MAX (d->info.plan_bytes, dd_plan_get_memory (d->plan));
  if (d->mask_full)
    octave_mask (d, i);
  begin_octave (d, i);
  lap (d, DD_PHASE_RESAMPLE);
  for (int it = 0; it < d->p->iterations; it++) {
    if (!(d->class_mode ? class_step (d, s, error) : step (d, s, error)))
      return FALSE;
    report_progress (d, d->first_octave - i + 1, it + 1);
    lap (d, DD_PHASE_PROGRESS);
  }
  if (i > 0)
    end_octave (d, i);
  lap (d, DD_PHASE_RESAMPLE);
  return TRUE;
}

/* The plan, made for the full-size octave's window, the largest; each
 * octave reshapes it in the same memory. */
static gboolean
plan_dream (Dream *d, gsize budget, int min_edge, GError **error)
{
  choose_tiling (d, d->sizes[0], budget, min_edge);
  lap (d, DD_PHASE_SETUP);
  d->plan = make_plan (d, d->window, 0, error);
  lap (d, DD_PHASE_MEMORY);
  return d->plan != NULL;
}

/* The margin of tiles. The theoretical receptive field of deep layers is
 * hundreds of pixels, but its weight falls off fast from the centre. With
 * windows on the layer's grid, one tiled step of inception_4c/output
 * matches the untiled step to 55.6 dB at a margin of 16 px, 61.9 dB at 32
 * and 70.7 dB at 64 (tests/test-dream.c prints it): an eighth of the radius
 * costs little time and leaves nothing visible once the roll moves the
 * grid. */
static int
receptive_margin (Dream *d)
{
  d->stride = 1;
  if (d->class_mode)
    return 0;
  int radius = dd_model_receptive_radius (d->model, (const char *const *) d->targets, d->n_targets,
                                          &d->stride);
  return CLAMP (radius / 8, 8, 32);
}

/* Everything that can be checked from the image's size alone. */
static gboolean
prepare (Dream *d, Size s, int *min_edge, GError **error)
{
  if (!dd_dream_params_validate (d->p, error) || !parse_layers (d, error))
    return FALSE;
  /* A layer no size reaches is refused by check_targets with its reason. */
  *min_edge = min_size (d);
  if (!check_targets (d, MAX (*min_edge, 64), error) || !plan_octaves (d, s, *min_edge, error))
    return FALSE;
  d->margin = receptive_margin (d);
  return TRUE;
}

gboolean
dd_dream_run (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
              const DdImage *guide, DdImage *image, DdProgressFunc progress, gpointer progress_data,
              GCancellable *cancellable, DdDreamInfo *info, GError **error)
{
  return dd_dream_run_masked (model, card, params, guide, NULL, image, progress, progress_data,
                              cancellable, info, error);
}

gboolean
dd_dream_run_masked (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                     const DdImage *guide, const DdImage *mask, DdImage *image,
                     DdProgressFunc progress, gpointer progress_data, GCancellable *cancellable,
                     DdDreamInfo *info, GError **error)
{
  Dream d = { .model = model,
              .card = card,
              .p = params,
              .image = image,
              .mask_image = mask,
              .progress = progress,
              .progress_data = progress_data,
              .cancellable = cancellable };
  int min_edge = 0;
  gsize need = 0, budget = 0;
  gboolean ok = FALSE;

  d.mark = g_get_monotonic_time ();
  d.class_mode = params->class_index >= 0;
  d.channels = image->channels >= 3 ? 3 : 1;
  d.info.seed = params->seed >= 0 ? params->seed : g_random_int_range (0, G_MAXINT32);
  d.rand = g_rand_new_with_seed ((guint32) d.info.seed);
  d.noise_seed = g_rand_int (d.rand);
  if (!check_image (image, "image", error) || (guide && !check_image (guide, "guide", error)) ||
      (mask && !check_image (mask, "mask", error)) ||
      !prepare (&d, (Size){ image->width, image->height }, &min_edge, error) ||
      !check_memory (&d, min_edge, &need, &budget, error) ||
      (guide && !compute_guide (&d, guide, error)))
    goto out;
  lap (&d, DD_PHASE_SETUP);
  if (!allocate (&d, error))
    goto out;
  lap (&d, DD_PHASE_MEMORY);
  if (!plan_dream (&d, budget, min_edge, error))
    goto out;

  d.steps_total = (d.first_octave + 1) * params->iterations;
  d.info.octaves_run = d.first_octave + 1;
  for (int i = d.first_octave; i >= 0; i--)
    if (!run_octave (&d, i, budget, min_edge, error))
      goto out;
  if (params->colours == DD_COLOURS_SOURCE && d.channels == 3) {
    load_source (&d, d.g);
    dd_keep_source_colours (d.x, d.g, image->width, image->height);
  }
  store_result (&d, d.x);
  d.info.work_bytes = working_bytes (&d) + d.info.plan_bytes;
  d.info.steps = d.steps_done;
  /* Giving the memory back is part of the run's time too. */
  release_buffers (&d);
  lap (&d, DD_PHASE_RESULT);
  for (int k = 0; k < DD_N_PHASES; k++)
    d.info.seconds[k] = d.phase_us[k] / 1e6;
  if (info)
    *info = d.info;
  ok = TRUE;
out:
  dream_clear (&d);
  return ok;
}

gboolean
dd_dream_check (DdModel *model, const DdModelCard *card, const DdDreamParams *params, int width,
                int height, int channels, gsize *need_bytes, GError **error)
{
  if (width < 1 || height < 1)
    return dd_fail (error, DD_ERROR_ARGUMENT, "the image is empty (%dx%d)", width, height);
  Dream d = { .model = model, .card = card, .p = params };
  int min_edge = 0;
  gsize need = 0, budget = 0;
  d.class_mode = params->class_index >= 0;
  d.channels = channels >= 3 ? 3 : 1;
  gboolean ok = prepare (&d, (Size){ width, height }, &min_edge, error) &&
                check_memory (&d, min_edge, &need, &budget, error);
  if (need_bytes)
    *need_bytes = need;
  dream_clear (&d);
  return ok;
}

int
dd_dream_min_size (DdModel *model, const DdModelCard *card, const DdDreamParams *params,
                   GError **error)
{
  Dream d = { .model = model, .card = card, .p = params };
  d.class_mode = params->class_index >= 0;
  int edge = parse_layers (&d, error) ? min_size (&d) : -1;
  dream_clear (&d);
  return edge;
}
