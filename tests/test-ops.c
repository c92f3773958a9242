/* test-ops.c: every op class against plain-loop references.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The ops are driven directly through their DdOpClass, as the executor
 * drives them: attributes filled by hand, infer() for the output shape,
 * saved/work buffers of the sizes the op asks for, then forward() and
 * backward(). Forward is compared with a double-precision loop written here;
 * backward with central finite differences of L = sum_i r_i * y_i, whose
 * gradient with respect to y is r (passed as gy).
 *
 * Every buffer an op must write (y, gx in overwrite mode, work) is filled
 * with NaN first, so an element the op forgets, or scratch it reads before
 * writing, shows up as NaN. Backward is also run with NaN in place of every
 * activation input (and the output) it does not declare reading. Inputs come from a GRand with a
 * fixed seed (override it with DD_TEST_SEED); failure messages print it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dd-ops.h"

#define FD_EPS 1e-2   /* finite-difference step, inputs are O(1) */
#define FD_TOL 1e-2   /* max|gx - fd| / max|fd| */
#define FWD_TOL 1e-5  /* max|y - ref| / max|ref| */
#define SAME_TOL 1e-5 /* one result computed twice, in another mode */
#define N_SHAPES 3    /* random shapes per forward variant; the last is large */

static guint32 seed = 20260417;

/* ---- Cases ------------------------------------------------------------- */

typedef struct _Case Case;
typedef void (*RefFunc) (const Case *c, double *y);

/* One op call to check: the op, its attributes and inputs, the output shape
 * infer() must give, and a reference for the forward pass. */
struct _Case {
  const DdOpClass *k;
  char *label;
  gboolean large; /* draw larger dimensions (forward only) */
  DdAttrs a;
  int n_in;
  DdShape xs[DD_MAX_INPUTS];
  float *x[DD_MAX_INPUTS];
  guint grad_mask; /* bit i: check the gradient of input i */
  DdShape ys;
  RefFunc ref;
};

typedef void (*BuildFunc) (Case *c, GRand *r, int variant);

static void
case_init (Case *c, gboolean large)
{
  memset (c, 0, sizeof *c);
  c->large = large;
  c->a.stride[0] = c->a.stride[1] = 1;
  c->a.dilation[0] = c->a.dilation[1] = 1;
  c->a.kernel[0] = c->a.kernel[1] = 1;
  c->a.group = 1;
}

static void
case_clear (Case *c)
{
  for (int i = 0; i < DD_MAX_INPUTS; i++)
    g_free (c->x[i]);
  g_free (c->label);
}

static DdShape
shape_of (int rank, ...)
{
  DdShape s = { .rank = rank };
  va_list ap;
  va_start (ap, rank);
  for (int i = 0; i < rank; i++)
    s.d[i] = va_arg (ap, int);
  va_end (ap);
  return s;
}

static gboolean
shape_eq (const DdShape *a, const DdShape *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i])
      return FALSE;
  return TRUE;
}

static void
append_shape (GString *s, const DdShape *sh)
{
  g_string_append_c (s, '[');
  for (int i = 0; i < sh->rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", sh->d[i]);
  g_string_append_c (s, ']');
}

/* The case's label: the op, the printf part (fmt may be NULL), then the
 * input shapes. */
static void G_GNUC_PRINTF (2, 3) case_label (Case *c, const char *fmt, ...)
{
  GString *s = g_string_new (c->k->onnx_name);
  va_list ap;
  if (fmt) {
    g_string_append_c (s, ' ');
    va_start (ap, fmt);
    g_string_append_vprintf (s, fmt, ap);
    va_end (ap);
  }
  g_string_append (s, " in");
  for (int i = 0; i < c->n_in; i++) {
    g_string_append_c (s, ' ');
    append_shape (s, &c->xs[i]);
  }
  g_free (c->label);
  c->label = g_string_free (s, FALSE);
}

/* ---- Random data --------------------------------------------------------- */

/* A random integer in [lo, hi]; for large cases in [hi, 3 hi]. */
static int
rdim (const Case *c, GRand *r, int lo, int hi)
{
  if (c->large)
    return g_rand_int_range (r, hi, 3 * hi + 1);
  return g_rand_int_range (r, lo, hi + 1);
}

/* The same, made odd (rounded up). */
static int
rodd (const Case *c, GRand *r, int lo, int hi)
{
  return rdim (c, r, lo, hi) | 1;
}

static void
fill_uniform (GRand *r, float *x, int64_t n, double lo, double hi)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = g_rand_double_range (r, lo, hi);
}

/* Uniform values at least 3 FD_EPS away from every kink, so that no
 * finite-difference step crosses one. */
static void
fill_away (GRand *r, float *x, int64_t n, double lo, double hi, const double *kinks, int n_kinks)
{
  for (int64_t i = 0; i < n; i++) {
    gboolean near;
    do {
      x[i] = g_rand_double_range (r, lo, hi);
      near = FALSE;
      for (int j = 0; j < n_kinks; j++)
        near |= fabs (x[i] - kinks[j]) < 3 * FD_EPS;
    } while (near);
  }
}

/* Distinct values 5 FD_EPS apart in random order: no ties, and no
 * finite-difference step can reorder two of them (MaxPool). */
static void
fill_distinct (GRand *r, float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = (i - n / 2) * 5 * FD_EPS;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = g_rand_int_range (r, 0, i + 1);
    float t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
}

static void
fill_nan (float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = NAN;
}

/* Sets input i to a fresh tensor of shape s and returns its data. */
static float *
case_input (Case *c, int i, DdShape s)
{
  g_free (c->x[i]);
  c->xs[i] = s;
  c->x[i] = g_new (float, MAX (dd_shape_numel (&s), 1));
  c->n_in = MAX (c->n_in, i + 1);
  return c->x[i];
}

static float *
case_uniform_input (Case *c, GRand *r, int i, DdShape s, double lo, double hi)
{
  float *x = case_input (c, i, s);
  fill_uniform (r, x, dd_shape_numel (&s), lo, hi);
  return x;
}

/* A random NCHW shape, or of rank 1 to 4 when any_rank. */
static DdShape
random_shape (const Case *c, GRand *r, gboolean any_rank)
{
  int rank = any_rank ? g_rand_int_range (r, 1, 5) : 4;
  DdShape s =
      shape_of (4, rdim (c, r, 1, 2), rdim (c, r, 1, 5), rodd (c, r, 1, 9), rodd (c, r, 1, 11));
  s.rank = rank;
  if (rank < 4)
    memmove (s.d, s.d + 4 - rank, rank * sizeof s.d[0]);
  return s;
}

/* ---- Running an op ------------------------------------------------------- */

/* The executor's side of one op call: output and op-owned buffers. */
typedef struct {
  float *y, *saved, *work;
  int64_t n_y, n_saved, n_work;
} Run;

static void
run_init (const Case *c, Run *run)
{
  const DdOpClass *k = c->k;
  run->n_y = dd_shape_numel (&c->ys);
  run->n_saved = k->saved_floats ? (int64_t) k->saved_floats (&c->a, c->xs, &c->ys) : 0;
  run->n_work = k->work_floats ? (int64_t) k->work_floats (&c->a, c->xs, &c->ys) : 0;
  run->y = g_new (float, MAX (run->n_y, 1));
  run->saved = g_new (float, MAX (run->n_saved, 1));
  run->work = g_new (float, MAX (run->n_work, 1));
}

static void
run_clear (Run *run)
{
  g_free (run->y);
  g_free (run->saved);
  g_free (run->work);
}

static void
ctx_init (const Case *c, const Run *run, DdOpCtx *ctx)
{
  memset (ctx, 0, sizeof *ctx);
  ctx->a = &c->a;
  ctx->n_in = c->n_in;
  for (int i = 0; i < c->n_in; i++) {
    ctx->x[i] = c->x[i];
    ctx->xs[i] = &c->xs[i];
  }
  ctx->y = run->y;
  ctx->ys = &c->ys;
  ctx->saved = run->saved;
  ctx->work = run->work;
}

static void
run_forward (const Case *c, Run *run)
{
  DdOpCtx ctx;
  ctx_init (c, run, &ctx);
  fill_nan (run->y, run->n_y);
  fill_nan (run->work, run->n_work);
  c->k->forward (&ctx);
}

/* Forward at the case's inputs, then backward into fresh buffers gx[i] for
 * the inputs in mask: NaN-filled (overwrite) or ones (gx_add). With poison,
 * backward sees NaN in the output and in every activation input (those of
 * grad_mask; constants outlive every op) it does not declare reading. */
static void
run_backward (const Case *c, Run *run, const float *gy, guint mask, gboolean add, gboolean poison,
              float **gx)
{
  DdOpCtx ctx;
  float *junk[DD_MAX_INPUTS + 1] = { NULL };

  run_forward (c, run);
  ctx_init (c, run, &ctx);
  ctx.gy = gy;
  for (int i = 0; i < c->n_in; i++) {
    gx[i] = NULL;
    if (!(mask & (1u << i)))
      continue;
    int64_t n = dd_shape_numel (&c->xs[i]);
    gx[i] = g_new (float, MAX (n, 1));
    for (int64_t j = 0; j < n; j++)
      gx[i][j] = add ? 1.0f : NAN;
    ctx.gx[i] = gx[i];
    ctx.gx_add[i] = add;
  }
  if (poison) {
    for (int i = 0; i < c->n_in; i++)
      if ((c->grad_mask & ~c->k->backward_reads_inputs) & (1u << i)) {
        junk[i] = g_new (float, MAX (dd_shape_numel (&c->xs[i]), 1));
        fill_nan (junk[i], dd_shape_numel (&c->xs[i]));
        ctx.x[i] = junk[i];
      }
    if (!c->k->backward_reads_output) {
      junk[DD_MAX_INPUTS] = g_new (float, MAX (run->n_y, 1));
      fill_nan (junk[DD_MAX_INPUTS], run->n_y);
      ctx.y = junk[DD_MAX_INPUTS];
    }
  }
  fill_nan (run->work, run->n_work);
  c->k->backward (&ctx);
  for (int i = 0; i <= DD_MAX_INPUTS; i++)
    g_free (junk[i]);
}

static void
free_grads (float **gx, int n)
{
  for (int i = 0; i < n; i++)
    g_clear_pointer (&gx[i], g_free);
}

/* L = sum_i r_i y_i at the case's current inputs, in double. */
static double
loss (const Case *c, Run *run, const float *r)
{
  double l = 0;
  run_forward (c, run);
  for (int64_t i = 0; i < run->n_y; i++)
    l += (double) r[i] * run->y[i];
  return l;
}

/* dL/dx_i by central differences, element by element. */
static double *
fd_gradient (const Case *c, Run *run, const float *r, int i)
{
  int64_t n = dd_shape_numel (&c->xs[i]);
  double *g = g_new (double, MAX (n, 1));
  float *x = c->x[i];
  for (int64_t k = 0; k < n; k++) {
    float v = x[k], hi = v + FD_EPS, lo = v - FD_EPS;
    x[k] = hi;
    double l_hi = loss (c, run, r);
    x[k] = lo;
    double l_lo = loss (c, run, r);
    x[k] = v;
    g[k] = (l_hi - l_lo) / ((double) hi - lo);
  }
  return g;
}

/* ---- Checks -------------------------------------------------------------- */

/* Fails the test and goes on; every message is logged (GLib reports only
 * the last one with the result). */
static void G_GNUC_PRINTF (1, 2) fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_test_message ("FAIL: %s", msg);
  g_test_fail_printf ("%s", msg);
}

/* Fails the test unless max|got - want| <= tol * MAX (max|want|, norm).
 * NaN fails. */
static gboolean
expect_close_norm (const Case *c, const char *what, const float *got, const double *want, int64_t n,
                   double tol, double norm)
{
  double max_err = 0, max_ref = 0;
  int64_t worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs (got[i] - want[i]);
    if (isnan (e))
      e = INFINITY;
    if (e > max_err) {
      max_err = e;
      worst = i;
    }
    max_ref = MAX (max_ref, fabs (want[i]));
  }
  double err = max_err / MAX (MAX (max_ref, norm), 1e-30);
  if (err <= tol)
    return TRUE;
  fail ("%s: %s: error %.3g > %.3g (max|ref| %.3g; worst at %" G_GINT64_FORMAT
        " of %" G_GINT64_FORMAT ": got %.8g, want %.8g; seed %u)",
        c->label, what, err, tol, max_ref, worst, n, n ? got[worst] : 0.0, n ? want[worst] : 0.0,
        seed);
  return FALSE;
}

static gboolean
expect_close (const Case *c, const char *what, const float *got, const double *want, int64_t n,
              double tol)
{
  return expect_close_norm (c, what, got, want, n, tol, 0);
}

static double
max_abs (const float *x, int64_t n)
{
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    m = MAX (m, fabs (x[i]));
  return m;
}

static double *
to_double (const float *x, int64_t n, double plus)
{
  double *d = g_new (double, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    d[i] = x[i] + plus;
  return d;
}

/* infer() must succeed and give the case's expected shape. */
static gboolean
check_infer (const Case *c)
{
  g_autoptr (GError) error = NULL;
  DdShape out = { 0 };

  if (c->k->view || !c->k->forward || !c->k->backward) {
    fail ("%s: view %d, forward %p, backward %p; want a computing op", c->label, c->k->view,
          (void *) c->k->forward, (void *) c->k->backward);
    return FALSE;
  }
  if (!c->k->infer (&c->a, c->n_in, c->xs, &out, &error)) {
    fail ("%s: infer failed: %s", c->label, error ? error->message : "(no error)");
    return FALSE;
  }
  if (!shape_eq (&out, &c->ys)) {
    GString *s = g_string_new (NULL);
    append_shape (s, &out);
    g_string_append (s, ", want ");
    append_shape (s, &c->ys);
    fail ("%s: infer gives %s", c->label, s->str);
    g_string_free (s, TRUE);
    return FALSE;
  }
  return TRUE;
}

static void
check_forward (const Case *c)
{
  Run run;
  if (!check_infer (c))
    return;
  run_init (c, &run);
  run_forward (c, &run);
  g_autofree double *want = g_new0 (double, MAX (run.n_y, 1));
  c->ref (c, want);
  expect_close (c, "forward", run.y, want, run.n_y, FWD_TOL);
  run_clear (&run);
}

/* The gradient of every input in grad_mask against finite differences; then
 * the same gradient in gx_add mode, one input at a time, and with the inputs
 * and output backward does not declare reading replaced by NaN. */
static void
check_backward (const Case *c)
{
  float *g[DD_MAX_INPUTS], *g2[DD_MAX_INPUTS];
  Run run;

  if (!check_infer (c))
    return;
  run_init (c, &run);
  g_autoptr (GRand) r = g_rand_new_with_seed (seed + 1);
  g_autofree float *gy = g_new (float, MAX (run.n_y, 1));
  fill_uniform (r, gy, run.n_y, -1, 1);

  run_backward (c, &run, gy, c->grad_mask, FALSE, FALSE, g);
  for (int i = 0; i < c->n_in; i++) {
    if (!g[i])
      continue;
    int64_t n = dd_shape_numel (&c->xs[i]);
    char what[64];
    g_autofree double *fd = fd_gradient (c, &run, gy, i);
    g_snprintf (what, sizeof what, "gx[%d] vs finite differences", i);
    expect_close (c, what, g[i], fd, n, FD_TOL);
  }

  run_backward (c, &run, gy, c->grad_mask, TRUE, FALSE, g2);
  for (int i = 0; i < c->n_in; i++)
    if (g[i]) {
      int64_t n = dd_shape_numel (&c->xs[i]);
      g_autofree double *want = to_double (g[i], n, 1.0);
      char what[64];
      g_snprintf (what, sizeof what, "gx_add[%d] vs 1 + gx", i);
      /* Adding into 1 rounds at the scale of 1 + |gx|, not of the sum. */
      expect_close_norm (c, what, g2[i], want, n, SAME_TOL, 1 + max_abs (g[i], n));
    }
  free_grads (g2, c->n_in);

  for (int i = 0; i < c->n_in; i++)
    if (g[i] && c->n_in > 1) {
      int64_t n = dd_shape_numel (&c->xs[i]);
      g_autofree double *want = to_double (g[i], n, 0.0);
      char what[80];
      run_backward (c, &run, gy, 1u << i, FALSE, FALSE, g2);
      g_snprintf (what, sizeof what, "gx[%d] alone (other gx NULL) vs all", i);
      expect_close (c, what, g2[i], want, n, SAME_TOL);
      free_grads (g2, c->n_in);
    }

  run_backward (c, &run, gy, c->grad_mask, FALSE, TRUE, g2);
  for (int i = 0; i < c->n_in; i++)
    if (g[i]) {
      int64_t n = dd_shape_numel (&c->xs[i]);
      g_autofree double *want = to_double (g[i], n, 0.0);
      expect_close (c,
                    "backward reads an input or output it does not declare "
                    "(backward_reads_inputs/output)",
                    g2[i], want, n, SAME_TOL);
    }
  free_grads (g2, c->n_in);
  free_grads (g, c->n_in);
  run_clear (&run);
}

/* An op's family of cases: build (c, r, v) for v < n_variants. */
typedef struct {
  const char *path;
  BuildFunc build;
  int n_variants;
} Suite;

static void
test_forward (gconstpointer data)
{
  const Suite *s = data;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  for (int v = 0; v < s->n_variants; v++)
    for (int rep = 0; rep < N_SHAPES; rep++) {
      Case c;
      case_init (&c, rep == N_SHAPES - 1);
      s->build (&c, r, v);
      check_forward (&c);
      case_clear (&c);
    }
}

static void
test_backward (gconstpointer data)
{
  const Suite *s = data;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  for (int v = 0; v < s->n_variants; v++) {
    Case c;
    case_init (&c, FALSE);
    s->build (&c, r, v);
    check_backward (&c);
    case_clear (&c);
  }
}

/* ---- Index helpers for the references ------------------------------------ */

/* Flat index into a tensor of shape xs broadcast (numpy rules) to ys. */
static int64_t
bcast_index (const DdShape *xs, const DdShape *ys, int64_t yi)
{
  int64_t xi = 0, stride = 1;
  for (int d = ys->rank - 1, e = xs->rank - 1; d >= 0; d--, e--) {
    int64_t coord = yi % ys->d[d];
    yi /= ys->d[d];
    if (e < 0)
      continue;
    if (xs->d[e] != 1)
      xi += coord * stride;
    stride *= xs->d[e];
  }
  return xi;
}

static DdShape
bcast_shape (const DdShape *a, const DdShape *b)
{
  DdShape s = { .rank = MAX (a->rank, b->rank) };
  for (int d = 0; d < s.rank; d++) {
    int ea = d - (s.rank - a->rank), eb = d - (s.rank - b->rank);
    int64_t da = ea >= 0 ? a->d[ea] : 1, db = eb >= 0 ? b->d[eb] : 1;
    s.d[d] = da == 1 ? db : da;
  }
  return s;
}

/* Output length of a window along one axis, ONNX/PyTorch rules (a last
 * ceil-mode window that would start in the end padding is dropped). */
static int
window_out (int in, int k, int stride, int dilation, int pad_begin, int pad_end, gboolean ceil_mode)
{
  int room = in + pad_begin + pad_end - ((k - 1) * dilation + 1);
  int out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin)
    out--;
  return out;
}

/* ---- Conv ---------------------------------------------------------------- */

typedef struct {
  int kh, kw, stride, dilation;
  int group; /* 0: depthwise, group = C with weights [C,1,k,k] */
  int pads[4];
  gboolean bias;
  gboolean winograd; /* 32..36 channels: takes the Winograd path */
} ConvCfg;

static const ConvCfg conv_cfgs[] = {
  { 1, 1, 1, 1, 1, { 0, 0, 0, 0 }, TRUE, FALSE },  { 1, 1, 2, 1, 1, { 0, 0, 0, 0 }, FALSE, FALSE },
  { 3, 3, 1, 1, 1, { 1, 1, 1, 1 }, TRUE, FALSE },  { 3, 3, 2, 1, 1, { 1, 1, 1, 1 }, FALSE, FALSE },
  { 3, 3, 3, 1, 1, { 0, 0, 0, 0 }, TRUE, FALSE },  { 3, 3, 2, 1, 1, { 0, 1, 1, 2 }, TRUE, FALSE },
  { 3, 3, 1, 2, 1, { 2, 2, 2, 2 }, TRUE, FALSE },  { 3, 3, 2, 2, 1, { 1, 0, 2, 1 }, FALSE, FALSE },
  { 5, 5, 1, 1, 1, { 2, 2, 2, 2 }, TRUE, FALSE },  { 5, 5, 3, 1, 1, { 1, 2, 0, 1 }, TRUE, FALSE },
  { 7, 7, 2, 1, 1, { 3, 3, 3, 3 }, TRUE, FALSE },  { 1, 7, 1, 1, 1, { 0, 3, 0, 3 }, TRUE, FALSE },
  { 7, 1, 1, 1, 1, { 3, 0, 3, 0 }, FALSE, FALSE }, { 1, 3, 2, 1, 1, { 0, 1, 0, 1 }, TRUE, FALSE },
  { 3, 3, 1, 1, 2, { 1, 1, 1, 1 }, TRUE, FALSE },  { 1, 1, 1, 1, 2, { 0, 0, 0, 0 }, FALSE, FALSE },
  { 3, 3, 1, 1, 0, { 1, 1, 1, 1 }, TRUE, FALSE },  { 3, 3, 2, 1, 0, { 1, 1, 1, 1 }, FALSE, FALSE },
  { 5, 5, 1, 1, 0, { 2, 2, 2, 2 }, TRUE, FALSE },  { 3, 3, 1, 1, 1, { 1, 1, 1, 1 }, TRUE, TRUE },
  { 3, 3, 1, 1, 1, { 0, 0, 0, 0 }, FALSE, TRUE },  { 3, 3, 1, 1, 1, { 2, 0, 1, 2 }, TRUE, TRUE },
  { 3, 3, 1, 1, 1, { 3, 1, 0, 2 }, FALSE, TRUE },
};

static void
ref_conv (const Case *c, double *y)
{
  const DdAttrs *a = &c->a;
  const float *x = c->x[0], *w = c->x[1], *b = c->n_in > 2 ? c->x[2] : NULL;
  int64_t N = c->xs[0].d[0], C = c->xs[0].d[1], H = c->xs[0].d[2], W = c->xs[0].d[3];
  int64_t M = c->ys.d[1], OH = c->ys.d[2], OW = c->ys.d[3];
  int64_t KH = a->kernel[0], KW = a->kernel[1], cg = C / a->group, mg = M / a->group;

  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double s = b ? b[m] : 0;
          int64_t c0 = m / mg * cg;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t kh = 0; kh < KH; kh++)
              for (int64_t kw = 0; kw < KW; kw++) {
                int64_t ih = oh * a->stride[0] - a->pads[0] + kh * a->dilation[0];
                int64_t iw = ow * a->stride[1] - a->pads[1] + kw * a->dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue;
                s += (double) x[((n * C + c0 + ci) * H + ih) * W + iw] *
                     w[((m * cg + ci) * KH + kh) * KW + kw];
              }
          y[((n * M + m) * OH + oh) * OW + ow] = s;
        }
}

static void
build_conv (Case *c, GRand *r, int v)
{
  const ConvCfg *cfg = &conv_cfgs[v];
  int group = cfg->group, cin, cout;

  c->k = &dd_op_conv;
  if (group == 0)
    group = cin = cout = rdim (c, r, 2, 5);
  else if (cfg->winograd) {
    cin = rdim (c, r, 32, 36);
    cout = rdim (c, r, 32, 36);
  } else {
    cin = group * rdim (c, r, 1, 3);
    cout = group * rdim (c, r, 1, 3);
  }
  int span_h = (cfg->kh - 1) * cfg->dilation + 1, span_w = (cfg->kw - 1) * cfg->dilation + 1;
  int h = rodd (c, r, MAX (1, span_h - cfg->pads[0] - cfg->pads[2]), span_h + 4);
  int w = rodd (c, r, MAX (1, span_w - cfg->pads[1] - cfg->pads[3]), span_w + 6);
  int n = rdim (c, r, 1, 2);
  if (c->large)
    n = 1;

  c->a.kernel[0] = cfg->kh;
  c->a.kernel[1] = cfg->kw;
  c->a.stride[0] = c->a.stride[1] = cfg->stride;
  c->a.dilation[0] = c->a.dilation[1] = cfg->dilation;
  for (int i = 0; i < 4; i++)
    c->a.pads[i] = cfg->pads[i];
  c->a.group = group;

  case_uniform_input (c, r, 0, shape_of (4, n, cin, h, w), -1, 1);
  double scale = 1.0 / sqrt (cin / group * cfg->kh * cfg->kw);
  case_uniform_input (c, r, 1, shape_of (4, cout, cin / group, cfg->kh, cfg->kw), -scale, scale);
  if (cfg->bias)
    case_uniform_input (c, r, 2, shape_of (1, cout), -1, 1);
  c->ys = shape_of (
      4, n, cout,
      window_out (h, cfg->kh, cfg->stride, cfg->dilation, cfg->pads[0], cfg->pads[2], FALSE),
      window_out (w, cfg->kw, cfg->stride, cfg->dilation, cfg->pads[1], cfg->pads[3], FALSE));
  c->grad_mask = 1;
  c->ref = ref_conv;
  case_label (c, "%dx%d s%d d%d group %d pads [%d,%d,%d,%d] %s%s", cfg->kh, cfg->kw, cfg->stride,
              cfg->dilation, group, cfg->pads[0], cfg->pads[1], cfg->pads[2], cfg->pads[3],
              cfg->bias ? "bias" : "no bias", cfg->winograd ? " winograd" : "");
  g_assert_true (dd_conv_uses_winograd (&c->a, &c->xs[0], &c->ys) == cfg->winograd);
}

/* Stride-1 convs that are not Winograd's, on the direct path where the
 * CPU has it (dd_direct): output rows wider than a tile of 48 and not a
 * multiple of 16, one channel read and several, odd sizes, uneven
 * padding, padding beyond the kernel's reach, dilation, groups. */
typedef struct {
  int kh, kw, dilation, cin, cout, h, w;
  int pads[4];
  int group;
} DirectCfg;

/* Each direction takes the direct path where it has 8 output channels or
 * more (the forward: cout; the backward: cin). */
static const DirectCfg direct_cfgs[] = {
  { 5, 5, 1, 1, 9, 7, 53, { 2, 2, 2, 2 }, 1 },  { 5, 5, 1, 9, 1, 7, 53, { 2, 2, 2, 2 }, 1 },
  { 5, 5, 1, 5, 9, 9, 97, { 2, 2, 2, 2 }, 1 },  { 5, 5, 1, 11, 17, 5, 61, { 1, 2, 0, 3 }, 1 },
  { 3, 3, 1, 8, 8, 11, 50, { 1, 1, 1, 1 }, 1 }, { 3, 3, 2, 9, 5, 9, 49, { 2, 0, 1, 2 }, 1 },
  { 1, 7, 1, 2, 12, 3, 65, { 0, 3, 0, 3 }, 1 }, { 7, 1, 1, 12, 6, 15, 17, { 3, 0, 3, 0 }, 1 },
  { 5, 5, 1, 8, 10, 6, 33, { 4, 4, 4, 4 }, 1 }, { 3, 3, 1, 16, 18, 7, 51, { 1, 1, 1, 1 }, 2 },
};

static void
build_conv_direct (Case *c, GRand *r, int v)
{
  const DirectCfg *cfg = &direct_cfgs[v];
  const int n = c->large ? 2 : 1, group = cfg->group;
  c->k = &dd_op_conv;
  c->a.group = group;
  c->a.kernel[0] = cfg->kh;
  c->a.kernel[1] = cfg->kw;
  c->a.dilation[0] = c->a.dilation[1] = cfg->dilation;
  for (int i = 0; i < 4; i++)
    c->a.pads[i] = cfg->pads[i];
  case_uniform_input (c, r, 0, shape_of (4, n, cfg->cin, cfg->h, cfg->w), -1, 1);
  const double scale = 1.0 / sqrt (cfg->cin * cfg->kh * cfg->kw);
  case_uniform_input (c, r, 1, shape_of (4, cfg->cout, cfg->cin / group, cfg->kh, cfg->kw), -scale,
                      scale);
  case_uniform_input (c, r, 2, shape_of (1, cfg->cout), -1, 1);
  c->ys =
      shape_of (4, n, cfg->cout,
                window_out (cfg->h, cfg->kh, 1, cfg->dilation, cfg->pads[0], cfg->pads[2], FALSE),
                window_out (cfg->w, cfg->kw, 1, cfg->dilation, cfg->pads[1], cfg->pads[3], FALSE));
  c->grad_mask = 1;
  c->ref = ref_conv;
  case_label (c, "%dx%d d%d group %d pads [%d,%d,%d,%d] direct", cfg->kh, cfg->kw, cfg->dilation,
              group, cfg->pads[0], cfg->pads[1], cfg->pads[2], cfg->pads[3]);
  g_assert_false (dd_conv_uses_winograd (&c->a, &c->xs[0], &c->ys));
}

/* A 5x5 conv with a following ReLU, forward and backward (gy through the
 * ReLU's mask, and added to a gradient), by the direct path in blocks of
 * one output row and in its default blocks, against im2col: the forward
 * the same bytes (both sum in the order of k, then add the bias), the
 * backward close. */
static void
test_conv_direct_paths (void)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  Case c;
  case_init (&c, FALSE);
  c.k = &dd_op_conv;
  c.a.kernel[0] = c.a.kernel[1] = 5;
  c.a.pads[0] = c.a.pads[1] = 2;
  c.a.pads[2] = 1;
  c.a.pads[3] = 3;
  case_uniform_input (&c, r, 0, shape_of (4, 2, 11, 13, 71), -1, 1);
  case_uniform_input (&c, r, 1, shape_of (4, 21, 11, 5, 5), -0.06, 0.06);
  case_uniform_input (&c, r, 2, shape_of (1, 21), -0.5, 0.5);
  c.ys = shape_of (4, 2, 21, window_out (13, 5, 1, 1, 2, 1, FALSE),
                   window_out (71, 5, 1, 1, 2, 3, FALSE));
  case_label (&c, "5x5 pads [2,2,1,3]");
  g_assert_true (check_infer (&c));

  const int64_t ny = dd_shape_numel (&c.ys), nx = dd_shape_numel (&c.xs[0]);
  DdShape in[3] = { c.xs[0], c.xs[1], c.xs[2] };
  g_autofree float *gy = g_new (float, ny);
  fill_uniform (r, gy, ny, -1, 1);
  float *want_y = NULL, *want_gx = NULL;
  static const struct {
    gboolean direct;
    gsize band;
  } paths[] = { { FALSE, 0 }, { TRUE, 1 }, { TRUE, 0 } };
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
    dd_conv_configure (paths[i].band, FALSE);
    dd_conv_configure_direct (paths[i].direct);
    g_autofree float *work = g_new0 (float, dd_op_conv.work_floats (&c.a, in, &c.ys) + 1);
    g_autofree guint8 *mask = g_new (guint8, ny);
    float *y = g_new (float, ny), *gx = g_new (float, nx);
    DdOpCtx ctx = { .a = &c.a, .n_in = 3, .y = y, .ys = &c.ys, .work = work, .gy = gy };
    for (int k = 0; k < 3; k++) {
      ctx.x[k] = c.x[k];
      ctx.xs[k] = &c.xs[k];
    }
    ctx.relu_mask = mask;
    ctx.gx[0] = gx;
    dd_op_conv.forward (&ctx);
    dd_op_conv.backward (&ctx);
    /* Added into a gradient of ones. */
    g_autofree float *gx_add = g_new (float, nx);
    for (int64_t e = 0; e < nx; e++)
      gx_add[e] = 1.0f;
    ctx.gx[0] = gx_add;
    ctx.gx_add[0] = TRUE;
    dd_op_conv.backward (&ctx);
    g_autofree double *plus_one = to_double (gx, nx, 1.0);
    expect_close_norm (&c, "direct: gx added to ones vs 1 + gx", gx_add, plus_one, nx, SAME_TOL,
                       1 + max_abs (gx, nx));
    if (!want_y) {
      want_y = y;
      want_gx = gx;
      continue;
    }
    for (int64_t e = 0; e < ny; e++)
      if (memcmp (&y[e], &want_y[e], sizeof *y) != 0)
        g_error ("direct conv, band %zu: y[%" G_GINT64_FORMAT "] is %.9g, im2col's %.9g",
                 paths[i].band, e, y[e], want_y[e]);
    g_autofree double *want = to_double (want_gx, nx, 0.0);
    expect_close (&c, "direct backward vs im2col", gx, want, nx, SAME_TOL);
    g_free (y);
    g_free (gx);
  }
  g_free (want_y);
  g_free (want_gx);
  dd_conv_configure (0, TRUE);
  dd_conv_configure_direct (TRUE);
  case_clear (&c);
}

/* One conv, forward and backward, four ways: Winograd with its default
 * blocks (several, spanning tile rows), Winograd with the smallest blocks,
 * im2col + sgemm one output row per band and with its default bands. All
 * must agree. 42 output columns make 11 tiles a row, so that the product
 * kernel's panels of 48 tiles begin inside tile rows. */
static void
test_conv_paths (void)
{
  static const struct {
    gsize band;
    gboolean winograd;
    const char *what;
  } paths[] = { { 1, TRUE, "winograd, blocks of 16 tiles" },
                { 1, FALSE, "im2col, one row" },
                { 0, FALSE, "im2col" } };
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  Case c;
  case_init (&c, TRUE);
  c.k = &dd_op_conv;
  c.a.kernel[0] = c.a.kernel[1] = 3;
  c.a.pads[0] = 1;
  c.a.pads[1] = 2;
  c.a.pads[3] = 1;
  case_uniform_input (&c, r, 0, shape_of (4, 2, 40, 37, 41), -1, 1);
  case_uniform_input (&c, r, 1, shape_of (4, 48, 40, 3, 3), -0.05, 0.05);
  case_uniform_input (&c, r, 2, shape_of (1, 48), -1, 1);
  c.ys = shape_of (4, 2, 48, window_out (37, 3, 1, 1, 1, 0, FALSE),
                   window_out (41, 3, 1, 1, 2, 1, FALSE));
  c.grad_mask = 1;
  case_label (&c, "3x3 pads [1,2,0,1]");
  g_assert_true (check_infer (&c));
  g_assert_true (dd_conv_uses_winograd (&c.a, &c.xs[0], &c.ys));

  Run run;
  float *g[DD_MAX_INPUTS];
  run_init (&c, &run);
  g_autofree float *gy = g_new (float, run.n_y);
  fill_uniform (r, gy, run.n_y, -1, 1);
  run_backward (&c, &run, gy, 1, FALSE, FALSE, g);
  g_autofree double *y = to_double (run.y, run.n_y, 0.0);
  g_autofree double *gx = to_double (g[0], dd_shape_numel (&c.xs[0]), 0.0);
  free_grads (g, c.n_in);
  run_clear (&run);

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
    char what[96];
    dd_conv_configure (paths[i].band, paths[i].winograd);
    run_init (&c, &run);
    run_backward (&c, &run, gy, 1, FALSE, FALSE, g);
    g_snprintf (what, sizeof what, "forward by %s vs winograd", paths[i].what);
    expect_close (&c, what, run.y, y, run.n_y, SAME_TOL);
    g_snprintf (what, sizeof what, "backward by %s vs winograd", paths[i].what);
    expect_close (&c, what, g[0], gx, dd_shape_numel (&c.xs[0]), SAME_TOL);
    free_grads (g, c.n_in);
    run_clear (&run);
  }
  dd_conv_configure (0, TRUE);
  case_clear (&c);
}

/* ---- Activations ----------------------------------------------------------- */

static void
ref_relu (const Case *c, double *y)
{
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++)
    y[i] = MAX (c->x[0][i], 0.0);
}

static void
ref_leaky_relu (const Case *c, double *y)
{
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++)
    y[i] = c->x[0][i] >= 0 ? c->x[0][i] : (double) c->a.alpha * c->x[0][i];
}

static void
ref_clip (const Case *c, double *y)
{
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++)
    y[i] = CLAMP ((double) c->x[0][i], c->a.min, c->a.max);
}

static void
ref_sigmoid (const Case *c, double *y)
{
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++)
    y[i] = 1 / (1 + exp (-(double) c->x[0][i]));
}

/* One input of random shape and rank, away from the given kinks. */
static void
unary_case (Case *c, GRand *r, const DdOpClass *k, RefFunc ref, double lo, double hi,
            const double *kinks, int n_kinks)
{
  DdShape s = random_shape (c, r, TRUE);
  c->k = k;
  fill_away (r, case_input (c, 0, s), dd_shape_numel (&s), lo, hi, kinks, n_kinks);
  c->ys = s;
  c->grad_mask = 1;
  c->ref = ref;
}

static void
build_relu (Case *c, GRand *r, int v)
{
  static const double kinks[] = { 0 };
  (void) v;
  unary_case (c, r, &dd_op_relu, ref_relu, -2, 2, kinks, 1);
  case_label (c, NULL);
}

static void
build_leaky_relu (Case *c, GRand *r, int v)
{
  static const float alphas[] = { 0.1f, 0.01f, 0.3f };
  static const double kinks[] = { 0 };
  unary_case (c, r, &dd_op_leaky_relu, ref_leaky_relu, -2, 2, kinks, 1);
  c->a.alpha = alphas[v];
  case_label (c, "alpha %g", c->a.alpha);
}

static void
build_clip (Case *c, GRand *r, int v)
{
  static const double bounds[][2] = { { 0, 6 }, { -1, 1 }, { -0.5, 2.5 } };
  unary_case (c, r, &dd_op_clip, ref_clip, bounds[v][0] - 2, bounds[v][1] + 2, bounds[v], 2);
  c->a.min = bounds[v][0];
  c->a.max = bounds[v][1];
  case_label (c, "[%g,%g]", c->a.min, c->a.max);
}

static void
build_sigmoid (Case *c, GRand *r, int v)
{
  (void) v;
  unary_case (c, r, &dd_op_sigmoid, ref_sigmoid, -4, 4, NULL, 0);
  case_label (c, NULL);
}

/* ---- Pools ----------------------------------------------------------------- */

typedef struct {
  int k, stride, pads[4];
  gboolean ceil_mode, count_include_pad;
  int dilation;
} PoolCfg;

static const PoolCfg max_pool_cfgs[] = {
  { 3, 2, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
  { 3, 2, { 1, 1, 1, 1 }, FALSE, FALSE, 1 },
  { 2, 2, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
  { 3, 1, { 1, 1, 1, 1 }, FALSE, FALSE, 1 },
  { 3, 2, { 0, 0, 0, 0 }, TRUE, FALSE, 1 },
  { 2, 2, { 0, 0, 0, 0 }, TRUE, FALSE, 1 },
  { 3, 2, { 1, 1, 1, 1 }, TRUE, FALSE, 1 },
  { 3, 2, { 0, 1, 1, 0 }, TRUE, FALSE, 1 },
  { 5, 3, { 2, 1, 2, 1 }, FALSE, FALSE, 1 },
  /* Stride 1 across, whose backward goes one window place at a time:
   * without padding, with uneven padding, and a window past the end. */
  { 3, 1, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
  { 3, 1, { 1, 0, 0, 2 }, FALSE, FALSE, 1 },
  { 2, 1, { 0, 1, 1, 0 }, TRUE, FALSE, 1 },
  /* Dilated: on inputs of one or two columns or rows some windows hold
   * padding only (output 0, no gradient). */
  { 3, 1, { 2, 2, 2, 2 }, FALSE, FALSE, 2 },
  { 2, 2, { 3, 1, 3, 1 }, TRUE, FALSE, 3 },
};

/* With count_include_pad the reference divides by the window clipped to the
 * padded input: a ceil-mode overhang beyond the end padding does not count
 * (PyTorch and Caffe). */
static const PoolCfg average_pool_cfgs[] = {
  { 3, 2, { 1, 1, 1, 1 }, FALSE, FALSE, 1 }, { 3, 2, { 1, 1, 1, 1 }, FALSE, TRUE, 1 },
  { 3, 1, { 1, 1, 1, 1 }, FALSE, TRUE, 1 },  { 3, 1, { 1, 1, 1, 1 }, FALSE, FALSE, 1 },
  { 2, 2, { 0, 0, 0, 0 }, FALSE, FALSE, 1 }, { 3, 2, { 0, 0, 0, 0 }, TRUE, FALSE, 1 },
  { 3, 2, { 0, 0, 0, 0 }, TRUE, TRUE, 1 },   { 3, 2, { 1, 1, 1, 1 }, TRUE, FALSE, 1 },
  { 3, 2, { 1, 1, 1, 1 }, TRUE, TRUE, 1 },   { 5, 3, { 0, 1, 2, 0 }, FALSE, TRUE, 1 },
  { 5, 3, { 2, 2, 2, 2 }, FALSE, FALSE, 1 }, { 1, 1, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
};

static void
ref_pool (const Case *c, double *y, gboolean is_max)
{
  const DdAttrs *a = &c->a;
  const float *x = c->x[0];
  const int64_t d = a->dilation[0]; /* both axes alike; 1 for AveragePool */
  int64_t NC = c->xs[0].d[0] * c->xs[0].d[1], H = c->xs[0].d[2], W = c->xs[0].d[3];
  int64_t OH = c->ys.d[2], OW = c->ys.d[3];

  for (int64_t p = 0; p < NC; p++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = oh * a->stride[0] - a->pads[0], w0 = ow * a->stride[1] - a->pads[1];
        int64_t h1 = h0 + a->kernel[0], w1 = w0 + a->kernel[1];
        double m = -INFINITY, s = 0;
        int64_t count = 0;
        for (int64_t h = h0; h < h0 + (a->kernel[0] - 1) * d + 1; h += d)
          for (int64_t w = w0; w < w0 + (a->kernel[1] - 1) * d + 1; w += d)
            if (h >= 0 && h < H && w >= 0 && w < W) {
              double v = x[(p * H + h) * W + w];
              m = MAX (m, v);
              s += v;
              count++;
            }
        if (a->count_include_pad)
          count = (MIN (h1, H + a->pads[2]) - h0) * (MIN (w1, W + a->pads[3]) - w0);
        /* A max over padding only is 0 (the engine's rule). */
        y[(p * OH + oh) * OW + ow] = is_max ? (count ? m : 0) : s / count;
      }
}

static void
ref_max_pool (const Case *c, double *y)
{
  ref_pool (c, y, TRUE);
}

static void
ref_average_pool (const Case *c, double *y)
{
  ref_pool (c, y, FALSE);
}

/* A side length for a pool window; in ceil mode, one where the last window
 * overhangs the (padded) input. */
static int
pool_side (const Case *c, GRand *r, const PoolCfg *cfg, int pad_sum)
{
  int span = (cfg->k - 1) * cfg->dilation + 1;
  int len = rdim (c, r, MAX (span - pad_sum, 1), span + 8);
  if (cfg->ceil_mode && (len + pad_sum - span) % cfg->stride == 0)
    len++;
  return len;
}

/* A pool case; width 0 draws one. */
static void
pool_case (Case *c, GRand *r, const PoolCfg *cfg, gboolean is_max, int width)
{
  c->k = is_max ? &dd_op_max_pool : &dd_op_average_pool;
  const int d = cfg->dilation;
  int h = pool_side (c, r, cfg, cfg->pads[0] + cfg->pads[2]);
  int w = width ? width : pool_side (c, r, cfg, cfg->pads[1] + cfg->pads[3]);
  /* Dilated windows over one or two columns (as few as fit): some hold
   * padding only. */
  if (d > 1 && !c->large && !width) {
    const int fit = MAX ((cfg->k - 1) * d + 1 - cfg->pads[1] - cfg->pads[3], 1);
    w = rdim (c, r, fit, MAX (fit, 2));
  }
  DdShape s = shape_of (4, rdim (c, r, 1, 2), rdim (c, r, 1, 3), h, w);
  float *x = case_input (c, 0, s);

  if (is_max)
    fill_distinct (r, x, dd_shape_numel (&s));
  else
    fill_uniform (r, x, dd_shape_numel (&s), -1, 1);
  c->a.kernel[0] = c->a.kernel[1] = cfg->k;
  c->a.stride[0] = c->a.stride[1] = cfg->stride;
  c->a.dilation[0] = c->a.dilation[1] = d;
  for (int i = 0; i < 4; i++)
    c->a.pads[i] = cfg->pads[i];
  c->a.ceil_mode = cfg->ceil_mode;
  c->a.count_include_pad = cfg->count_include_pad;
  c->ys =
      shape_of (4, s.d[0], s.d[1],
                window_out (h, cfg->k, cfg->stride, d, cfg->pads[0], cfg->pads[2], cfg->ceil_mode),
                window_out (w, cfg->k, cfg->stride, d, cfg->pads[1], cfg->pads[3], cfg->ceil_mode));
  c->grad_mask = 1;
  c->ref = is_max ? ref_max_pool : ref_average_pool;
  case_label (c, "%dx%d s%d d%d pads [%d,%d,%d,%d] ceil_mode %d count_include_pad %d", cfg->k,
              cfg->k, cfg->stride, d, cfg->pads[0], cfg->pads[1], cfg->pads[2], cfg->pads[3],
              cfg->ceil_mode, cfg->count_include_pad);
}

static void
build_max_pool (Case *c, GRand *r, int v)
{
  pool_case (c, r, &max_pool_cfgs[v], TRUE, 0);
}

/* MaxPool's backward against finite differences for each config over the
 * input widths [from, to]; from 0: the narrowest a window fits. */
static void
check_max_pool_widths (const PoolCfg *cfgs, gsize n, int from, int to)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < n; i++) {
    const int span = (cfgs[i].k - 1) * cfgs[i].dilation + 1;
    const int first = from ? from : MAX (span - cfgs[i].pads[1] - cfgs[i].pads[3], 1);
    for (int w = first; w <= (to ? to : span + 6); w++) {
      Case c;
      case_init (&c, FALSE);
      pool_case (&c, r, &cfgs[i], TRUE, w);
      check_backward (&c);
      case_clear (&c);
    }
  }
}

/* MaxPool with stride 2 across, on every width of a few windows: each
 * parity of width, rows ending with and without padding, windows reaching
 * past the end in ceil mode. */
static void
test_max_pool_stride2_widths (void)
{
  static const PoolCfg cfgs[] = {
    { 3, 2, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
    { 3, 2, { 1, 1, 1, 1 }, TRUE, FALSE, 1 },
    { 2, 2, { 0, 1, 0, 0 }, FALSE, FALSE, 1 },
    { 3, 2, { 0, 2, 0, 1 }, TRUE, FALSE, 2 },
  };
  check_max_pool_widths (cfgs, G_N_ELEMENTS (cfgs), 0, 0);
}

/* MaxPool with stride 1 across, whose backward runs whole 16s of outputs
 * in vector passes and scatters the rest: output widths from 13 to 35, with
 * and without padding, dilated, and past the end in ceil mode. */
static void
test_max_pool_stride1_widths (void)
{
  static const PoolCfg cfgs[] = {
    { 3, 1, { 1, 1, 1, 1 }, FALSE, FALSE, 1 },
    { 3, 1, { 0, 0, 0, 0 }, FALSE, FALSE, 1 },
    { 2, 1, { 0, 1, 1, 0 }, TRUE, FALSE, 1 },
    { 3, 1, { 2, 2, 2, 2 }, FALSE, FALSE, 2 },
  };
  check_max_pool_widths (cfgs, G_N_ELEMENTS (cfgs), 15, 35);
}

static void
build_average_pool (Case *c, GRand *r, int v)
{
  pool_case (c, r, &average_pool_cfgs[v], FALSE, 0);
}

static void
ref_global_average_pool (const Case *c, double *y)
{
  int64_t hw = c->xs[0].d[2] * c->xs[0].d[3];
  for (int64_t p = 0; p < dd_shape_numel (&c->ys); p++) {
    double s = 0;
    for (int64_t i = 0; i < hw; i++)
      s += c->x[0][p * hw + i];
    y[p] = s / hw;
  }
}

static void
build_global_average_pool (Case *c, GRand *r, int v)
{
  (void) v;
  c->k = &dd_op_global_average_pool;
  DdShape s = random_shape (c, r, FALSE);
  case_uniform_input (c, r, 0, s, -1, 1);
  c->ys = shape_of (4, s.d[0], s.d[1], 1, 1);
  c->grad_mask = 1;
  c->ref = ref_global_average_pool;
  case_label (c, NULL);
}

/* ---- LRN ------------------------------------------------------------------- */

/* y = x / (bias + alpha/size * sum x^2)^beta, the sum over channels
 * c - floor((size-1)/2) .. c + ceil((size-1)/2) (ONNX). */
static void
ref_lrn (const Case *c, double *y)
{
  const DdAttrs *a = &c->a;
  int64_t N = c->xs[0].d[0], C = c->xs[0].d[1], HW = dd_shape_numel (&c->xs[0]) / (N * C);
  for (int64_t n = 0; n < N; n++)
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t i = 0; i < HW; i++) {
        double s = 0;
        for (int64_t j = MAX (0, ch - (a->size - 1) / 2); j <= MIN (C - 1, ch + a->size / 2); j++) {
          double v = c->x[0][(n * C + j) * HW + i];
          s += v * v;
        }
        int64_t at = (n * C + ch) * HW + i;
        y[at] = c->x[0][at] / pow (a->bias + (double) a->alpha / a->size * s, a->beta);
      }
}

static void
build_lrn (Case *c, GRand *r, int v)
{
  static const float cfgs[][4] = {
    /* size, alpha, beta, bias */
    { 3, 0.5f, 0.75f, 2 },  { 4, 1.0f, 0.6f, 1.5f }, { 5, 1.5f, 0.75f, 1 },
    { 5, 1e-4f, 0.75f, 1 }, { 5, 1.5f, 0.75f, 1 },
  };
  c->k = &dd_op_lrn;
  c->a.size = cfgs[v][0];
  c->a.alpha = cfgs[v][1];
  c->a.beta = cfgs[v][2];
  c->a.bias = cfgs[v][3];
  /* The last variant's planes span several of the op's blocks of
   * positions, the last one partly filled. */
  if (v == G_N_ELEMENTS (cfgs) - 1)
    case_uniform_input (c, r, 0, shape_of (4, 1, rdim (c, r, 6, 7), 23, 29), -2, 2);
  else
    case_uniform_input (
        c, r, 0,
        shape_of (4, rdim (c, r, 1, 2), rdim (c, r, 3, 9), rodd (c, r, 1, 5), rodd (c, r, 1, 7)),
        -2, 2);
  c->ys = c->xs[0];
  c->grad_mask = 1;
  c->ref = ref_lrn;
  case_label (c, "size %d alpha %g beta %g bias %g", (int) c->a.size, c->a.alpha, c->a.beta,
              c->a.bias);
}

/* ---- Add, Mul, BatchNormalization ---------------------------------------- */

static void
ref_binary (const Case *c, double *y, gboolean mul)
{
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++) {
    double a = c->x[0][bcast_index (&c->xs[0], &c->ys, i)];
    double b = c->x[1][bcast_index (&c->xs[1], &c->ys, i)];
    y[i] = mul ? a * b : a + b;
  }
}

static void
ref_add (const Case *c, double *y)
{
  ref_binary (c, y, FALSE);
}

static void
ref_mul (const Case *c, double *y)
{
  ref_binary (c, y, TRUE);
}

static const char *const binary_variants[] = {
  "same shape",          "[N,C,H,W] by [1,C,1,1]", "[N,C,H,W] by [C,1,1]",
  "[N,C,H,W] by scalar", "[1,C,1,1] by [N,C,H,W]", "[N,C] by [C]",
};

static void
binary_case (Case *c, GRand *r, int v, gboolean mul)
{
  DdShape s = random_shape (c, r, FALSE), t = s;
  c->k = mul ? &dd_op_mul : &dd_op_add;
  switch (v) {
  case 1:
  case 4:
    t = shape_of (4, 1, (int) s.d[1], 1, 1);
    break;
  case 2:
    t = shape_of (3, (int) s.d[1], 1, 1);
    break;
  case 3:
    t = shape_of (0);
    break;
  case 5:
    s = shape_of (2, (int) s.d[0], (int) s.d[1]);
    t = shape_of (1, (int) s.d[1]);
    break;
  default:
    break;
  }
  case_uniform_input (c, r, v == 4, s, -2, 2);
  case_uniform_input (c, r, v != 4, t, -2, 2);
  c->ys = bcast_shape (&c->xs[0], &c->xs[1]);
  c->grad_mask = 3;
  c->ref = mul ? ref_mul : ref_add;
  case_label (c, "%s", binary_variants[v]);
}

static void
build_add (Case *c, GRand *r, int v)
{
  binary_case (c, r, v, FALSE);
}

static void
build_mul (Case *c, GRand *r, int v)
{
  binary_case (c, r, v, TRUE);
}

static void
ref_batch_norm (const Case *c, double *y)
{
  int64_t N = c->xs[0].d[0], C = c->xs[0].d[1], HW = dd_shape_numel (&c->xs[0]) / (N * C);
  const float *x = c->x[0], *scale = c->x[1], *b = c->x[2], *mean = c->x[3], *var = c->x[4];
  for (int64_t i = 0; i < dd_shape_numel (&c->ys); i++) {
    int64_t ch = i / HW % C;
    y[i] = scale[ch] * (x[i] - (double) mean[ch]) / sqrt ((double) var[ch] + c->a.epsilon) + b[ch];
  }
}

static void
build_batch_norm (Case *c, GRand *r, int v)
{
  static const float epsilons[] = { 1e-5f, 1e-3f };
  DdShape s = random_shape (c, r, FALSE);
  DdShape p = shape_of (1, (int) s.d[1]);
  c->k = &dd_op_batch_norm;
  c->a.epsilon = epsilons[v];
  case_uniform_input (c, r, 0, s, -2, 2);
  case_uniform_input (c, r, 1, p, -1.5, 1.5); /* scale */
  case_uniform_input (c, r, 2, p, -1, 1);     /* B */
  case_uniform_input (c, r, 3, p, -1, 1);     /* mean */
  case_uniform_input (c, r, 4, p, 0.2, 2);    /* var */
  c->ys = s;
  c->grad_mask = 1;
  c->ref = ref_batch_norm;
  case_label (c, "epsilon %g", c->a.epsilon);
}

/* ---- Gemm, MatMul ----------------------------------------------------------- */

typedef struct {
  gboolean trans_a, trans_b;
  float alpha, beta;
  int c_rank; /* -1: no C; 1: [N]; 2: [M,N]; 3: [1,N]; 0: scalar */
} GemmCfg;

static const GemmCfg gemm_cfgs[] = {
  { FALSE, TRUE, 1, 1, 1 }, { FALSE, TRUE, 1, 1, 2 },  { FALSE, FALSE, 0.5f, 2, 2 },
  { TRUE, FALSE, 1, 1, 1 }, { FALSE, TRUE, 1, 1, -1 }, { TRUE, TRUE, 1.5f, 0.5f, 3 },
  { FALSE, TRUE, 1, 1, 0 },
};

static void
ref_gemm (const Case *c, double *y)
{
  const DdAttrs *a = &c->a;
  int64_t M = c->ys.d[0], N = c->ys.d[1], K = c->xs[0].d[a->trans_a ? 0 : 1];
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double s = 0;
      for (int64_t k = 0; k < K; k++)
        s += (double) c->x[0][a->trans_a ? k * M + m : m * K + k] *
             c->x[1][a->trans_b ? n * K + k : k * N + n];
      s *= a->alpha;
      if (c->n_in > 2)
        s += (double) a->beta * c->x[2][bcast_index (&c->xs[2], &c->ys, m * N + n)];
      y[m * N + n] = s;
    }
}

static void
build_gemm (Case *c, GRand *r, int v)
{
  const GemmCfg *cfg = &gemm_cfgs[v];
  int m = rdim (c, r, 1, 5), k = rdim (c, r, 3, 20), n = rdim (c, r, 2, 13);
  c->k = &dd_op_gemm;
  c->a.trans_a = cfg->trans_a;
  c->a.trans_b = cfg->trans_b;
  c->a.alpha = cfg->alpha;
  c->a.beta = cfg->beta;
  case_uniform_input (c, r, 0, cfg->trans_a ? shape_of (2, k, m) : shape_of (2, m, k), -1, 1);
  case_uniform_input (c, r, 1, cfg->trans_b ? shape_of (2, n, k) : shape_of (2, k, n), -1, 1);
  if (cfg->c_rank >= 0) {
    DdShape cs = cfg->c_rank == 1   ? shape_of (1, n)
                 : cfg->c_rank == 2 ? shape_of (2, m, n)
                 : cfg->c_rank == 3 ? shape_of (2, 1, n)
                                    : shape_of (0);
    case_uniform_input (c, r, 2, cs, -1, 1);
  }
  c->ys = shape_of (2, m, n);
  c->grad_mask = 1;
  c->ref = ref_gemm;
  case_label (c, "trans_a %d trans_b %d alpha %g beta %g", cfg->trans_a, cfg->trans_b, cfg->alpha,
              cfg->beta);
}

static void
ref_matmul (const Case *c, double *y)
{
  const DdShape *as = &c->xs[0], *bs = &c->xs[1];
  int64_t M = as->d[as->rank - 2], K = as->d[as->rank - 1], N = bs->d[bs->rank - 1];
  int64_t batch = dd_shape_numel (&c->ys) / (M * N);
  gboolean a_batched = dd_shape_numel (as) > M * K, b_batched = dd_shape_numel (bs) > K * N;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        const float *pa = c->x[0] + (a_batched ? b * M * K : 0);
        const float *pb = c->x[1] + (b_batched ? b * K * N : 0);
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += (double) pa[m * K + k] * pb[k * N + n];
        y[(b * M + m) * N + n] = s;
      }
}

static void
build_matmul (Case *c, GRand *r, int v)
{
  static const char *const names[] = { "[M,K] x [K,N]", "[B,M,K] x [K,N]", "[B,M,K] x [B,K,N]",
                                       "[1,M,K] x [K,N]" };
  int b = v == 3 ? 1 : rdim (c, r, 2, 4);
  int m = rdim (c, r, 1, 9), k = rdim (c, r, 1, 11), n = rdim (c, r, 1, 9);
  c->k = &dd_op_matmul;
  case_uniform_input (c, r, 0, v == 0 ? shape_of (2, m, k) : shape_of (3, b, m, k), -1, 1);
  case_uniform_input (c, r, 1, v == 2 ? shape_of (3, b, k, n) : shape_of (2, k, n), -1, 1);
  c->ys = v == 0 ? shape_of (2, m, n) : shape_of (3, b, m, n);
  c->grad_mask = 3;
  c->ref = ref_matmul;
  case_label (c, "%s", names[v]);
}

/* ---- Concat, Pad ----------------------------------------------------------- */

static void
ref_concat (const Case *c, double *y)
{
  int axis = c->a.axis;
  int64_t outer = 1, y_chunk = 0;
  for (int d = 0; d < axis; d++)
    outer *= c->ys.d[d];
  y_chunk = dd_shape_numel (&c->ys) / outer;
  for (int64_t o = 0; o < outer; o++) {
    int64_t off = 0;
    for (int i = 0; i < c->n_in; i++) {
      int64_t chunk = dd_shape_numel (&c->xs[i]) / outer;
      for (int64_t j = 0; j < chunk; j++)
        y[o * y_chunk + off + j] = c->x[i][o * chunk + j];
      off += chunk;
    }
  }
}

static void
build_concat (Case *c, GRand *r, int v)
{
  static const int cfgs[][3] = { /* rank, axis, inputs */
                                 { 4, 1, 3 }, { 4, 1, 2 }, { 4, 2, 2 }, { 4, 3, 4 },
                                 { 4, 0, 2 }, { 2, 1, 5 }, { 3, 2, 3 }
  };
  int rank = cfgs[v][0], axis = cfgs[v][1], n_in = cfgs[v][2];
  DdShape s = random_shape (c, r, FALSE);
  s.rank = rank;
  c->k = &dd_op_concat;
  c->a.axis = axis;
  c->ys = s;
  c->ys.d[axis] = 0;
  for (int i = 0; i < n_in; i++) {
    s.d[axis] = rdim (c, r, 1, 5);
    c->ys.d[axis] += s.d[axis];
    case_uniform_input (c, r, i, s, -1, 1);
  }
  c->grad_mask = (1u << n_in) - 1;
  c->ref = ref_concat;
  case_label (c, "axis %d", axis);
}

static void
ref_pad (const Case *c, double *y)
{
  const DdShape *xs = &c->xs[0], *ys = &c->ys;
  for (int64_t i = 0; i < dd_shape_numel (ys); i++) {
    int64_t rest = i, xi = 0, stride = 1;
    gboolean inside = TRUE;
    for (int d = ys->rank - 1; d >= 0; d--) {
      int64_t coord = rest % ys->d[d] - c->a.pad_nd[d];
      rest /= ys->d[d];
      inside &= coord >= 0 && coord < xs->d[d];
      xi += coord * stride;
      stride *= xs->d[d];
    }
    y[i] = inside ? c->x[0][xi] : c->a.pad_value;
  }
}

static void
build_pad (Case *c, GRand *r, int v)
{
  static const int pads[][8] = {
    { 0, 0, 1, 0, 0, 0, 0, 2 }, { 0, 0, 2, 1, 0, 0, 1, 3 }, { 0, 0, 1, 1, 0, 0, 1, 1 },
    { 0, 1, 0, 0, 0, 2, 1, 1 }, { 1, 0, 0, 3, 0, 0, 2, 0 },
  };
  static const float values[] = { 0.5f, 0, 0, -1, 2 };
  DdShape s = random_shape (c, r, FALSE);
  c->k = &dd_op_pad;
  case_uniform_input (c, r, 0, s, -1, 1);
  c->ys = s;
  /* The layout Pad's setup makes: begins in pad_nd[0, DD_MAX_RANK), ends
   * in pad_nd[DD_MAX_RANK, 2 DD_MAX_RANK), the axis count in size. */
  c->a.size = 4;
  for (int d = 0; d < 4; d++) {
    c->a.pad_nd[d] = pads[v][d];
    c->a.pad_nd[DD_MAX_RANK + d] = pads[v][4 + d];
    c->ys.d[d] += pads[v][d] + pads[v][4 + d];
  }
  c->a.pad_value = values[v];
  c->grad_mask = 1;
  c->ref = ref_pad;
  case_label (c, "pads [%d,%d,%d,%d,%d,%d,%d,%d] value %g", pads[v][0], pads[v][1], pads[v][2],
              pads[v][3], pads[v][4], pads[v][5], pads[v][6], pads[v][7], values[v]);
}

/* ---- Softmax --------------------------------------------------------------- */

/* Softmax over `axis` alone, or (legacy, opset < 13) over all of the axes
 * from `axis` on, the input coerced to 2-D there. */
static void
ref_softmax (const Case *c, double *y)
{
  const DdShape *s = &c->xs[0];
  int64_t outer = 1, n = 1, inner = 1, axis = c->a.axis < 0 ? c->a.axis + s->rank : c->a.axis;
  for (int d = 0; d < s->rank; d++) {
    if (d < axis)
      outer *= s->d[d];
    else if (d == axis || c->a.legacy_softmax)
      n *= s->d[d];
    else
      inner *= s->d[d];
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float *x = c->x[0] + o * n * inner + i;
      double m = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; j++)
        m = MAX (m, x[j * inner]);
      for (int64_t j = 0; j < n; j++)
        sum += exp (x[j * inner] - m);
      for (int64_t j = 0; j < n; j++)
        y[o * n * inner + i + j * inner] = exp (x[j * inner] - m) / sum;
    }
}

static void
build_softmax (Case *c, GRand *r, int v)
{
  static const int cfgs[][3] = { /* rank, axis, legacy */
                                 { 2, 1, TRUE },  { 3, 2, TRUE }, { 3, 1, TRUE },  { 4, 1, TRUE },
                                 { 3, 1, FALSE }, { 2, 0, TRUE }, { 4, -1, FALSE }
  };
  DdShape s = random_shape (c, r, FALSE);
  s.rank = cfgs[v][0];
  c->k = &dd_op_softmax;
  c->a.axis = cfgs[v][1];
  c->a.legacy_softmax = cfgs[v][2];
  case_uniform_input (c, r, 0, s, -3, 3);
  c->ys = s;
  c->grad_mask = 1;
  c->ref = ref_softmax;
  case_label (c, "axis %d%s", cfgs[v][1], cfgs[v][2] ? " (legacy 2-D)" : "");
}

/* ---- Views ----------------------------------------------------------------- */

typedef struct {
  const DdOpClass *k;
  int64_t axis;
  DdShape reshape;
  DdShape in;
  DdShape want; /* rank -1: infer must fail */
} ViewCase;

static void
check_view (const ViewCase *v)
{
  g_autoptr (GError) error = NULL;
  DdAttrs a = { .axis = v->axis, .reshape = v->reshape };
  DdShape out = { 0 };
  GString *label = g_string_new (v->k->onnx_name);

  g_string_append (label, " in ");
  append_shape (label, &v->in);
  g_string_append_printf (label, " axis %" G_GINT64_FORMAT " shape ", v->axis);
  append_shape (label, &v->reshape);
  if (!v->k->view)
    fail ("%s: view is not set", label->str);
  gboolean ok = v->k->infer (&a, 1, &v->in, &out, &error);
  if (v->want.rank < 0 && ok)
    fail ("%s: infer succeeded, want an error", label->str);
  else if (v->want.rank < 0 && !error)
    fail ("%s: infer failed without setting an error", label->str);
  else if (v->want.rank >= 0 && !ok)
    fail ("%s: infer failed: %s", label->str, error ? error->message : "?");
  else if (v->want.rank >= 0 && !shape_eq (&out, &v->want)) {
    g_string_append (label, ": got ");
    append_shape (label, &out);
    g_string_append (label, ", want ");
    append_shape (label, &v->want);
    fail ("%s", label->str);
  }
  g_string_free (label, TRUE);
}

#define S(...) shape_of (__VA_ARGS__)
#define NO_SHAPE                                                                                   \
  {                                                                                                \
    .rank = -1                                                                                     \
  }

static void
test_views (gconstpointer data)
{
  const DdOpClass *k = data;
  const DdShape in = S (4, 2, 3, 5, 7), none = { 0 };
  const ViewCase cases[] = {
    { &dd_op_identity, 0, none, in, in },
    { &dd_op_identity, 0, none, S (2, 1, 1000), S (2, 1, 1000) },
    { &dd_op_dropout, 0, none, in, in },
    { &dd_op_dropout, 0, none, S (2, 1, 4096), S (2, 1, 4096) },
    { &dd_op_flatten, 0, none, in, S (2, 1, 210) },
    { &dd_op_flatten, 1, none, in, S (2, 2, 105) },
    { &dd_op_flatten, 2, none, in, S (2, 6, 35) },
    { &dd_op_flatten, 4, none, in, S (2, 210, 1) },
    { &dd_op_flatten, 1, none, S (4, 1, 512, 1, 1), S (2, 1, 512) },
    { &dd_op_reshape, 0, S (3, 0, 3, -1), in, S (3, 2, 3, 35) },
    { &dd_op_reshape, 0, S (3, 0, 18, -1), S (4, 1, 18, 5, 7), S (3, 1, 18, 35) },
    { &dd_op_reshape, 0, S (3, 1, 8, 18), S (3, 1, 18, 8), S (3, 1, 8, 18) },
    { &dd_op_reshape, 0, S (1, -1), in, S (1, 210) },
    { &dd_op_reshape, 0, S (2, 0, -1), in, S (2, 2, 105) },
    { &dd_op_reshape, 0, S (4, 0, 0, 35, 1), in, S (4, 2, 3, 35, 1) },
    { &dd_op_reshape, 0, S (3, -1, 5, 7), in, S (3, 6, 5, 7) },
    { &dd_op_reshape, 0, S (2, 4, -1), in, NO_SHAPE },  /* 210 / 4 */
    { &dd_op_reshape, 0, S (2, -1, -1), in, NO_SHAPE }, /* two -1 */
    { &dd_op_reshape, 0, S (2, 5, 5), in, NO_SHAPE },   /* 25 != 210 */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    if (cases[i].k == k)
      check_view (&cases[i]);
}

/* ---- Other tests ------------------------------------------------------------ */

/* Add(x, x) and Mul(x, x) with one shared gx buffer: slot 0 overwrites,
 * slot 1 adds, so gx = 2 gy (Add) or 2 x gy (Mul). */
static void
test_same_input (gconstpointer data)
{
  const DdOpClass *k = data;
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  Case c;
  Run run;
  DdOpCtx ctx;

  case_init (&c, FALSE);
  c.k = k;
  DdShape s = random_shape (&c, r, FALSE);
  int64_t n = dd_shape_numel (&s);
  float *x = case_uniform_input (&c, r, 0, s, -2, 2);
  c.n_in = 2;
  c.x[1] = x;
  c.xs[1] = s;
  c.ys = s;
  case_label (&c, "%s", "(x, x), one shared gx");
  if (check_infer (&c)) {
    g_autofree float *gy = g_new (float, n);
    g_autofree float *gx = g_new (float, n);
    g_autofree double *want = g_new (double, n);
    fill_uniform (r, gy, n, -1, 1);
    fill_nan (gx, n);
    run_init (&c, &run);
    run_forward (&c, &run);
    ctx_init (&c, &run, &ctx);
    ctx.gy = gy;
    ctx.gx[0] = ctx.gx[1] = gx;
    ctx.gx_add[1] = TRUE;
    fill_nan (run.work, run.n_work);
    k->backward (&ctx);
    for (int64_t i = 0; i < n; i++)
      want[i] = 2.0 * gy[i] * (k == &dd_op_mul ? x[i] : 1.0);
    expect_close (&c, "gx", gx, want, n, SAME_TOL);
    run_clear (&run);
  }
  c.x[1] = NULL;
  case_clear (&c);
}

/* Backward of one small input given by hand, with gy = 1, 2, 3...: the
 * gradient must be exactly want. */
static void
check_convention (const DdOpClass *k, const DdAttrs *a, DdShape xs, DdShape ys, const float *x,
                  const float *want)
{
  Case c;
  Run run;
  float *g[DD_MAX_INPUTS];

  case_init (&c, FALSE);
  c.k = k;
  c.a = *a;
  memcpy (case_input (&c, 0, xs), x, dd_shape_numel (&xs) * sizeof *x);
  c.ys = ys;
  c.grad_mask = 1;
  case_label (&c, "%s", "at kinks and ties");
  if (check_infer (&c)) {
    int64_t n = dd_shape_numel (&xs);
    g_autofree float *gy = g_new (float, dd_shape_numel (&ys));
    g_autofree double *want_d = to_double (want, n, 0.0);
    for (int64_t i = 0; i < dd_shape_numel (&ys); i++)
      gy[i] = i + 1;
    run_init (&c, &run);
    run_backward (&c, &run, gy, 1, FALSE, FALSE, g);
    expect_close (&c, "gx", g[0], want_d, n, 1e-6);
    free_grads (g, c.n_in);
    run_clear (&run);
  }
  case_clear (&c);
}

/* The conventions of the reference nets (testnets/README.md): ReLU'(0) = 0,
 * LeakyRelu'(0) = alpha, Clip' = 1 on [min, max] inclusive, and MaxPool
 * sends the gradient to the first maximum in row-major window order. */
static void
test_conventions (void)
{
  static const float x3[] = { -1, 0, 1 }, relu[] = { 0, 0, 3 }, leaky[] = { 0.25f, 0.5f, 3 };
  static const float x5[] = { -1, 0, 3, 6, 7 }, clip[] = { 0, 2, 3, 4, 0 };
  static const float xp[] = { 1, 5, 5, 5, 5, 5 }, pool[] = { 0, 3, 0, 0, 0, 0 };
  DdAttrs a = { .stride = { 1, 1 }, .dilation = { 1, 1 }, .group = 1 };

  check_convention (&dd_op_relu, &a, S (1, 3), S (1, 3), x3, relu);
  a.alpha = 0.25f;
  check_convention (&dd_op_leaky_relu, &a, S (1, 3), S (1, 3), x3, leaky);
  a.min = 0;
  a.max = 6;
  check_convention (&dd_op_clip, &a, S (1, 5), S (1, 5), x5, clip);
  a.kernel[0] = a.kernel[1] = 2;
  check_convention (&dd_op_max_pool, &a, S (4, 1, 1, 2, 3), S (4, 1, 1, 1, 2), xp, pool);
}

/* The streaming variant of Conv's finish (used for outputs bigger than
 * the caches) writes what the plain one does, at any alignment of y and
 * mask and any length, with and without a ReLU. */
static void
test_bias_relu_stream (void)
{
  enum { N = 208 };
  /* 64-byte aligned, so that some shifts line y and mask up for streaming. */
  float *x = aligned_alloc (64, N * sizeof (float));
  float *want = aligned_alloc (64, (N + 16) * sizeof (float));
  float *got = aligned_alloc (64, (N + 16) * sizeof (float));
  guint8 *want_mask = aligned_alloc (64, N + 112), *got_mask = aligned_alloc (64, N + 112);
  for (int i = 0; i < N; i++)
    x[i] = (float) ((i * 37) % 23) - 11.5f;
  for (int relu = 0; relu < 2; relu++)
    for (int shift = 0; shift < 16; shift++)
      for (int n = 0; n <= N - 16; n += 13) {
        memset (want, 0xff, (N + 16) * sizeof (float));
        memset (got, 0xff, (N + 16) * sizeof (float));
        memset (want_mask, 7, N + 112);
        memset (got_mask, 7, N + 112);
        dd_bias_relu (x, want + shift, n, 0.25f, relu ? want_mask + shift : NULL);
        dd_bias_relu_stream (x, got + shift, n, 0.25f, relu ? got_mask + shift : NULL);
        g_assert_cmpmem (got, (N + 16) * sizeof (float), want, (N + 16) * sizeof (float));
        g_assert_cmpmem (got_mask, N + 112, want_mask, N + 112);
      }
  free (x);
  free (want);
  free (got);
  free (want_mask);
  free (got_mask);
}

/* The convolutions' product kernel against a double-precision loop, over
 * shapes that leave partial tiles on every side (rows not a multiple of 8,
 * columns not of 48 nor of a packed panel), A read by rows and by
 * columns, B read in place and packed, with and without bias and ReLU; the cells beyond n in each
 * row of C and of the mask must stay untouched. */
static void
test_product (void)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  static const int64_t shapes[][3] = { { 1, 1, 1 },     { 7, 5, 3 },    { 8, 48, 16 },
                                       { 17, 50, 33 },  { 24, 400, 9 }, { 13, 97, 0 },
                                       { 40, 1000, 70 } };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int variant = 0; variant < 8; variant++) {
      const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      const gboolean by_columns = variant & 1, finish = variant & 2, pack = variant & 4;
      const int64_t ldb = n + 3, ldc = n + 5;
      g_autofree float *a = g_new (float, MAX (m * k, 1));
      g_autofree float *b = g_new (float, MAX (k * ldb, 1));
      g_autofree float *c = g_new (float, m *ldc);
      g_autofree float *bias = g_new (float, m);
      g_autofree guint8 *mask = g_new (guint8, m * ldc);
      g_autofree float *packed = g_new (float, dd_product_pack_floats (k));
      g_autofree double *want = g_new (double, m *ldc);
      fill_uniform (r, a, MAX (m * k, 1), -1, 1);
      fill_uniform (r, b, MAX (k * ldb, 1), -1, 1);
      fill_uniform (r, c, m * ldc, -1, 1);
      fill_uniform (r, bias, m, -1, 1);
      memset (mask, 7, m * ldc);
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldc; j++) {
          double sum = j >= n ? c[i * ldc + j] : 0.0;
          for (int64_t q = 0; q < k && j < n; q++)
            sum += (double) (by_columns ? a[q * m + i] : a[i * k + q]) * b[q * ldb + j];
          if (finish && j < n)
            sum = MAX (sum + bias[i], 0.0);
          want[i * ldc + j] = sum;
        }
      const DdProduct p = { .m = m,
                            .n = n,
                            .k = k,
                            .a = a,
                            .a_row = by_columns ? 1 : k,
                            .a_col = by_columns ? m : 1,
                            .b = b,
                            .ldb = ldb,
                            .c = c,
                            .ldc = ldc,
                            .bias = finish ? bias : NULL,
                            .relu_mask = finish ? mask : NULL,
                            .pack = pack ? packed : NULL,
                            .stream = pack };
      dd_product (&p);
      for (int64_t i = 0; i < m * ldc; i++) {
        const double scale = MAX (1.0, sqrt ((double) k));
        if (fabs (c[i] - want[i]) > 1e-5 * scale)
          g_error ("product %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                   " variant %d: element %" G_GINT64_FORMAT " is %g, want %g (seed %u)",
                   m, n, k, variant, i, c[i], want[i], seed);
        const guint8 want_mask = !finish || i % ldc >= n ? 7 : want[i] > 0;
        if (mask[i] != want_mask)
          g_error ("product variant %d: mask %" G_GINT64_FORMAT " is %d, want %d (seed %u)",
                   variant, i, mask[i], want_mask, seed);
      }
    }
}

/* The convolutions again with dd_product on OpenBLAS, the path of CPUs
 * without AVX2, whatever this one has. */
static void
test_conv_openblas (gconstpointer data)
{
  g_assert_true (dd_product_force (DD_PRODUCT_BLAS));
  test_forward (data);
  test_backward (data);
  test_conv_paths ();
  test_product ();
  dd_product_force (DD_PRODUCT_AUTO);
}

/* And on the AVX2 kernel, the path of CPUs with AVX2 and FMA but no
 * AVX-512. */
static void
test_conv_avx2 (gconstpointer data)
{
  if (!dd_product_force (DD_PRODUCT_AVX2)) {
    g_test_skip ("this CPU has no AVX2 with FMA");
    return;
  }
  g_assert_cmpint (dd_product_kernel (), ==, DD_PRODUCT_AVX2);
  test_forward (data);
  test_backward (data);
  test_conv_paths ();
  test_product ();
  dd_product_force (DD_PRODUCT_AUTO);
}

/* The AVX2 and AVX-512 kernels sum each element in the same order with
 * the same fused multiply-adds: the same bits, whatever their tiles, on
 * shapes that leave partial tiles of both, packed or not, streamed or
 * not, with and without bias and ReLU. */
static void
test_product_kernels_agree (void)
{
  if (!dd_product_force (DD_PRODUCT_AVX512) || !dd_product_force (DD_PRODUCT_AVX2)) {
    dd_product_force (DD_PRODUCT_AUTO);
    g_test_skip ("this CPU lacks AVX-512 or AVX2 with FMA");
    return;
  }
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  static const int64_t shapes[][3] = { { 1, 1, 1 },      { 5, 7, 3 },     { 6, 16, 2 },
                                       { 13, 200, 37 },  { 16, 385, 64 }, { 31, 47, 5 },
                                       { 64, 1000, 147 } };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int variant = 0; variant < 8; variant++) {
      const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ldb = n + 1, ldc = n + 8;
      const gboolean by_columns = variant & 1, finish = variant & 2, pack = variant & 4;
      g_autofree float *a = g_new (float, m *k);
      g_autofree float *b = g_new (float, k *ldb);
      g_autofree float *bias = g_new (float, m);
      g_autofree float *packed = g_new (float, dd_product_pack_floats (k));
      float *c[2] = { g_aligned_alloc (m * ldc, sizeof (float), 64),
                      g_aligned_alloc (m * ldc, sizeof (float), 64) };
      guint8 *mask[2] = { g_malloc (m * ldc), g_malloc (m * ldc) };
      fill_uniform (r, a, m * k, -1, 1);
      fill_uniform (r, b, k * ldb, -1, 1);
      fill_uniform (r, bias, m, -1, 1);
      for (int kernel = 0; kernel < 2; kernel++) {
        g_assert_true (dd_product_force (kernel ? DD_PRODUCT_AVX2 : DD_PRODUCT_AVX512));
        memset (c[kernel], 0xff, m * ldc * sizeof (float));
        memset (mask[kernel], 7, m * ldc);
        const DdProduct p = { .m = m,
                              .n = n,
                              .k = k,
                              .a = a,
                              .a_row = by_columns ? 1 : k,
                              .a_col = by_columns ? m : 1,
                              .b = b,
                              .ldb = ldb,
                              .c = c[kernel],
                              .ldc = ldc,
                              .bias = finish ? bias : NULL,
                              .relu_mask = finish ? mask[kernel] : NULL,
                              .pack = pack ? packed : NULL,
                              .stream = pack };
        dd_product (&p);
      }
      g_assert_cmpmem (c[1], m * ldc * sizeof (float), c[0], m * ldc * sizeof (float));
      g_assert_cmpmem (mask[1], m * ldc, mask[0], m * ldc);
      g_aligned_free (c[0]);
      g_aligned_free (c[1]);
      g_free (mask[0]);
      g_free (mask[1]);
    }
  dd_product_force (DD_PRODUCT_AUTO);
}

static void
test_lookup (void)
{
  static const struct {
    const char *name;
    const DdOpClass *k;
  } ops[] = {
    { "Conv", &dd_op_conv },
    { "Relu", &dd_op_relu },
    { "LeakyRelu", &dd_op_leaky_relu },
    { "Clip", &dd_op_clip },
    { "Sigmoid", &dd_op_sigmoid },
    { "MaxPool", &dd_op_max_pool },
    { "AveragePool", &dd_op_average_pool },
    { "GlobalAveragePool", &dd_op_global_average_pool },
    { "LRN", &dd_op_lrn },
    { "Add", &dd_op_add },
    { "Mul", &dd_op_mul },
    { "BatchNormalization", &dd_op_batch_norm },
    { "Gemm", &dd_op_gemm },
    { "MatMul", &dd_op_matmul },
    { "Concat", &dd_op_concat },
    { "Flatten", &dd_op_flatten },
    { "Reshape", &dd_op_reshape },
    { "Identity", &dd_op_identity },
    { "Dropout", &dd_op_dropout },
    { "Pad", &dd_op_pad },
    { "Softmax", &dd_op_softmax },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ops); i++) {
    g_assert_cmpstr (ops[i].k->onnx_name, ==, ops[i].name);
    g_assert_true (dd_op_lookup (ops[i].name) == ops[i].k);
  }
  g_assert_null (dd_op_lookup ("NoSuchOp"));
}

static const Suite suites[] = {
  { "conv", build_conv, G_N_ELEMENTS (conv_cfgs) },
  { "conv-direct", build_conv_direct, G_N_ELEMENTS (direct_cfgs) },
  { "relu", build_relu, 1 },
  { "leaky-relu", build_leaky_relu, 3 },
  { "clip", build_clip, 3 },
  { "sigmoid", build_sigmoid, 1 },
  { "max-pool", build_max_pool, G_N_ELEMENTS (max_pool_cfgs) },
  { "average-pool", build_average_pool, G_N_ELEMENTS (average_pool_cfgs) },
  { "global-average-pool", build_global_average_pool, 1 },
  { "lrn", build_lrn, 5 },
  { "add", build_add, G_N_ELEMENTS (binary_variants) },
  { "mul", build_mul, G_N_ELEMENTS (binary_variants) },
  { "batch-normalization", build_batch_norm, 2 },
  { "gemm", build_gemm, G_N_ELEMENTS (gemm_cfgs) },
  { "matmul", build_matmul, 4 },
  { "concat", build_concat, 7 },
  { "pad", build_pad, 5 },
  { "softmax", build_softmax, 7 },
};

/* ---- dd_parallel ---------------------------------------------------------------- */

typedef struct {
  gint counts[32];
  int slots_seen[64];
} ParallelCounts;

static void
count_chunk (gpointer data, int64_t chunk, int slot)
{
  ParallelCounts *pc = data;
  g_atomic_int_inc (&pc->counts[chunk]);
  g_atomic_int_set (&pc->slots_seen[slot], 1);
  /* Blocks of different lengths, so that threads finish out of step. */
  volatile int spin = 0;
  for (int i = 0; i < (int) (chunk % 5) * 200; i++)
    spin++;
}

/* Every block runs exactly once, job after job of different sizes, with a
 * slot below dd_thread_slots (): a block claimed twice, or a job ending
 * before its blocks, shows here. */
static void
test_parallel_exactly_once (void)
{
  ParallelCounts pc = { 0 };
  for (int job = 0; job < 300000; job++) {
    const int n = 1 + (int) ((int64_t) job * 7919 % 20);
    memset (pc.counts, 0, sizeof pc.counts);
    dd_parallel (n, count_chunk, &pc);
    for (int i = 0; i < n; i++)
      if (pc.counts[i] != 1)
        g_error ("job %d: block %d of %d ran %d times", job, i, n, pc.counts[i]);
  }
  for (int s = dd_thread_slots (); s < 64; s++)
    g_assert_cmpint (pc.slots_seen[s], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DD_TEST_SEED"))
    seed = strtoul (g_getenv ("DD_TEST_SEED"), NULL, 0);
  g_test_message ("random seed %u (set DD_TEST_SEED to change it)", seed);

  g_test_add_func ("/ops/lookup", test_lookup);
  g_test_add_func ("/ops/parallel/exactly-once", test_parallel_exactly_once);
  for (gsize i = 0; i < G_N_ELEMENTS (suites); i++) {
    g_autofree char *fwd = g_strdup_printf ("/ops/%s/forward", suites[i].path);
    g_autofree char *bwd = g_strdup_printf ("/ops/%s/backward", suites[i].path);
    g_test_add_data_func (fwd, &suites[i], test_forward);
    g_test_add_data_func (bwd, &suites[i], test_backward);
  }
  g_test_add_func ("/ops/conventions/backward", test_conventions);
  g_test_add_func ("/ops/conv/paths", test_conv_paths);
  g_test_add_func ("/ops/conv/direct-paths", test_conv_direct_paths);
  g_test_add_func ("/ops/max-pool/stride2-widths", test_max_pool_stride2_widths);
  g_test_add_func ("/ops/max-pool/stride1-widths", test_max_pool_stride1_widths);
  g_test_add_func ("/ops/conv/bias-relu-stream", test_bias_relu_stream);
  g_test_add_func ("/ops/conv/product", test_product);
  g_test_add_data_func ("/ops/conv/openblas-path", &suites[0], test_conv_openblas);
  g_test_add_data_func ("/ops/conv/avx2-path", &suites[0], test_conv_avx2);
  g_test_add_func ("/ops/conv/product-kernels-agree", test_product_kernels_agree);
  g_test_add_data_func ("/ops/add/backward-same-input", &dd_op_add, test_same_input);
  g_test_add_data_func ("/ops/mul/backward-same-input", &dd_op_mul, test_same_input);
  g_test_add_data_func ("/ops/identity/infer", &dd_op_identity, test_views);
  g_test_add_data_func ("/ops/dropout/infer", &dd_op_dropout, test_views);
  g_test_add_data_func ("/ops/flatten/infer", &dd_op_flatten, test_views);
  g_test_add_data_func ("/ops/reshape/infer", &dd_op_reshape, test_views);
  return g_test_run ();
}
