/* bench-onednn.c: each convolution of a dream's plan, ours against oneDNN's.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   bench-onednn [--model NAME|FILE] [--layer NAME] [--width W --height H]
 *                [--runs N] [--threads N]
 *
 * Plans the network as a dream does (GoogLeNet to inception_4c/output at
 * 1024x768 by default) and, for every Conv the plan runs, in the plan's
 * order and with the shapes the engine infers for that input, times the
 * engine's forward and backward to the data against oneDNN's on the same
 * shapes and weights. oneDNN gets its own preferred (blocked) layouts,
 * with every reorder done once, outside the timed calls, and the faster of
 * its direct and Winograd algorithms where both exist. Bias is in both
 * forwards; the ReLU that follows each convolution in the network is in
 * neither. The two libraries take turns call by call, so that a change in
 * the machine's load falls on both; the figures are medians. Beside them,
 * each convolution's time in whole steps of the plan, where its data is
 * not in the cache as it is in calls repeated alone. oneDNN's results are
 * checked against ours, to be sure that both solve the same problem (the
 * program fails when they do not). Prints figures only; it asserts
 * nothing about time.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "dd-model.h"
#include "deepdream.h"

#define DEFAULT_LAYER "inception_4c/output"
/* Two fp32 convolutions of the same problem, summed in different orders
 * (Winograd in either), agree to about 1e-5 of the result's magnitude; a
 * wrong pad or layout is off by the order of the result itself. */
#define MAX_RELATIVE_ERROR 1e-3

#define DNNL_TRY(call, what)                                                                       \
  do {                                                                                             \
    dnnl_status_t status_ = (call);                                                                \
    if (status_ != dnnl_success) {                                                                 \
      fprintf (stderr, "bench-onednn: %s: oneDNN status %d\n", what, (int) status_);               \
      exit (1);                                                                                    \
    }                                                                                              \
  } while (0)

/* One convolution of the plan. */
typedef struct {
  const DdNode *node;
  DdShape xs, ws, bs, ys;
  const float *weights, *bias; /* the model's */
  float *x, *y, *gy, *gx, *work;
} Conv;

/* One oneDNN primitive, its memories in the layouts it chose. */
typedef struct {
  dnnl_primitive_t prim;
  dnnl_memory_t mem[4]; /* by role: see run_forward and run_backward */
  int args[4];
  int n;
  char impl[64];
} Prim;

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static float *
random_floats (gsize n, GRand *rand, float scale)
{
  float *p = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (rand, -scale, scale);
  return p;
}

static void
desc_of (const DdShape *s, dnnl_format_tag_t tag, dnnl_memory_desc_t *md)
{
  dnnl_dims_t dims;
  for (int i = 0; i < s->rank; i++)
    dims[i] = s->d[i];
  DNNL_TRY (dnnl_memory_desc_init_by_tag (md, s->rank, dims, dnnl_f32, tag), "memory descriptor");
}

/* A memory of layout md holding plain (nchw/oihw/x) data. */
static dnnl_memory_t
memory_from (const dnnl_memory_desc_t *md, const DdShape *s, dnnl_format_tag_t tag,
             const float *plain)
{
  dnnl_memory_t mem;
  DNNL_TRY (dnnl_memory_create (&mem, md, engine, DNNL_MEMORY_ALLOCATE), "memory");
  if (!plain)
    return mem;
  dnnl_memory_desc_t pmd;
  desc_of (s, tag, &pmd);
  dnnl_memory_t src;
  DNNL_TRY (dnnl_memory_create (&src, &pmd, engine, (void *) plain), "memory");
  dnnl_primitive_desc_t rpd;
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, &pmd, engine, md, engine, NULL), "reorder");
  dnnl_primitive_t r;
  DNNL_TRY (dnnl_primitive_create (&r, rpd), "reorder");
  dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, src }, { DNNL_ARG_TO, mem } };
  DNNL_TRY (dnnl_primitive_execute (r, stream, 2, args), "reorder");
  DNNL_TRY (dnnl_stream_wait (stream), "reorder");
  dnnl_primitive_destroy (r);
  dnnl_primitive_desc_destroy (rpd);
  dnnl_memory_destroy (src);
  return mem;
}

/* Reads mem (of layout md) back into plain, nchw. */
static void
memory_to (dnnl_memory_t mem, const DdShape *s, float *plain)
{
  const dnnl_memory_desc_t *md;
  DNNL_TRY (dnnl_memory_get_memory_desc (mem, &md), "memory");
  dnnl_memory_desc_t pmd;
  desc_of (s, dnnl_nchw, &pmd);
  dnnl_memory_t dst;
  DNNL_TRY (dnnl_memory_create (&dst, &pmd, engine, plain), "memory");
  dnnl_primitive_desc_t rpd;
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, md, engine, &pmd, engine, NULL), "reorder");
  dnnl_primitive_t r;
  DNNL_TRY (dnnl_primitive_create (&r, rpd), "reorder");
  dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, mem }, { DNNL_ARG_TO, dst } };
  DNNL_TRY (dnnl_primitive_execute (r, stream, 2, args), "reorder");
  DNNL_TRY (dnnl_stream_wait (stream), "reorder");
  dnnl_primitive_destroy (r);
  dnnl_primitive_desc_destroy (rpd);
  dnnl_memory_destroy (dst);
}

static void
prim_clear (Prim *p)
{
  if (p->prim)
    dnnl_primitive_destroy (p->prim);
  for (int i = 0; i < p->n; i++)
    dnnl_memory_destroy (p->mem[i]);
  memset (p, 0, sizeof *p);
}

static void
impl_name (const_dnnl_primitive_desc_t pd, char *out, gsize size)
{
  const char *name = NULL;
  dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &name);
  g_strlcpy (out, name ? name : "?", size);
}

static void
conv_geometry (const Conv *c, dnnl_dims_t strides, dnnl_dims_t dilates, dnnl_dims_t pad_l,
               dnnl_dims_t pad_r)
{
  const DdAttrs *a = &c->node->a;
  for (int i = 0; i < 2; i++) {
    strides[i] = a->stride[i];
    dilates[i] = a->dilation[i] - 1; /* oneDNN counts the gaps */
    pad_l[i] = a->pads[i];
    pad_r[i] = a->pads[2 + i];
  }
}

/* oneDNN's forward of c with algorithm alg, inputs reordered into its
 * layouts; FALSE when oneDNN has no such algorithm for these shapes. The
 * primitive descriptor stays in *fwd_pd as the backward's hint. */
static gboolean
make_forward (const Conv *c, dnnl_alg_kind_t alg, Prim *p, dnnl_primitive_desc_t *fwd_pd)
{
  dnnl_memory_desc_t src, wei, bias, dst;
  desc_of (&c->xs, dnnl_format_tag_any, &src);
  desc_of (&c->ws, dnnl_format_tag_any, &wei);
  desc_of (&c->bs, dnnl_x, &bias);
  desc_of (&c->ys, dnnl_format_tag_any, &dst);
  dnnl_dims_t strides, dilates, pad_l, pad_r;
  conv_geometry (c, strides, dilates, pad_l, pad_r);
  dnnl_convolution_desc_t d;
  if (dnnl_dilated_convolution_forward_desc_init (&d, dnnl_forward_training, alg, &src, &wei, &bias,
                                                  &dst, strides, dilates, pad_l,
                                                  pad_r) != dnnl_success ||
      dnnl_primitive_desc_create (fwd_pd, &d, NULL, engine, NULL) != dnnl_success)
    return FALSE;
  DNNL_TRY (dnnl_primitive_create (&p->prim, *fwd_pd), "convolution");
  impl_name (*fwd_pd, p->impl, sizeof p->impl);
  const dnnl_memory_desc_t *md_src = dnnl_primitive_desc_query_md (*fwd_pd, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *md_wei =
      dnnl_primitive_desc_query_md (*fwd_pd, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *md_bias =
      dnnl_primitive_desc_query_md (*fwd_pd, dnnl_query_weights_md, 1);
  const dnnl_memory_desc_t *md_dst = dnnl_primitive_desc_query_md (*fwd_pd, dnnl_query_dst_md, 0);
  p->mem[0] = memory_from (md_src, &c->xs, dnnl_nchw, c->x);
  p->mem[1] = memory_from (md_wei, &c->ws, dnnl_oihw, c->weights);
  p->mem[2] = memory_from (md_bias, &c->bs, dnnl_x, c->bias);
  p->mem[3] = memory_from (md_dst, &c->ys, dnnl_nchw, NULL);
  const int args[] = { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST };
  memcpy (p->args, args, sizeof args);
  p->n = 4;
  return TRUE;
}

/* oneDNN's backward to the data of c, hinted by the forward. */
static gboolean
make_backward (const Conv *c, dnnl_alg_kind_t alg, dnnl_primitive_desc_t fwd_pd, Prim *p)
{
  dnnl_memory_desc_t dsrc, wei, ddst;
  desc_of (&c->xs, dnnl_format_tag_any, &dsrc);
  desc_of (&c->ws, dnnl_format_tag_any, &wei);
  desc_of (&c->ys, dnnl_format_tag_any, &ddst);
  dnnl_dims_t strides, dilates, pad_l, pad_r;
  conv_geometry (c, strides, dilates, pad_l, pad_r);
  dnnl_convolution_desc_t d;
  dnnl_primitive_desc_t pd;
  if (dnnl_dilated_convolution_backward_data_desc_init (&d, alg, &dsrc, &wei, &ddst, strides,
                                                        dilates, pad_l, pad_r) != dnnl_success ||
      dnnl_primitive_desc_create (&pd, &d, NULL, engine, fwd_pd) != dnnl_success)
    return FALSE;
  DNNL_TRY (dnnl_primitive_create (&p->prim, pd), "convolution backward");
  impl_name (pd, p->impl, sizeof p->impl);
  const dnnl_memory_desc_t *md_dsrc = dnnl_primitive_desc_query_md (pd, dnnl_query_diff_src_md, 0);
  const dnnl_memory_desc_t *md_wei = dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *md_ddst = dnnl_primitive_desc_query_md (pd, dnnl_query_diff_dst_md, 0);
  p->mem[0] = memory_from (md_ddst, &c->ys, dnnl_nchw, c->gy);
  p->mem[1] = memory_from (md_wei, &c->ws, dnnl_oihw, c->weights);
  p->mem[2] = memory_from (md_dsrc, &c->xs, dnnl_nchw, NULL);
  const int args[] = { DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC };
  memcpy (p->args, args, sizeof args);
  p->n = 3;
  dnnl_primitive_desc_destroy (pd);
  return TRUE;
}

static double
run_prim (const Prim *p)
{
  dnnl_exec_arg_t args[4];
  for (int i = 0; i < p->n; i++)
    args[i] = (dnnl_exec_arg_t){ p->args[i], p->mem[i] };
  const gint64 t0 = g_get_monotonic_time ();
  DNNL_TRY (dnnl_primitive_execute (p->prim, stream, p->n, args), "execute");
  DNNL_TRY (dnnl_stream_wait (stream), "execute");
  return (g_get_monotonic_time () - t0) / 1e3;
}

/* The engine's op, called as the plan calls it, on the same buffers every
 * time. */
static void
context_of (const Conv *c, DdOpCtx *ctx)
{
  *ctx = (DdOpCtx){
    .a = &c->node->a, .n_in = c->node->n_in, .y = c->y, .ys = &c->ys, .work = c->work, .gy = c->gy
  };
  ctx->x[0] = c->x;
  ctx->xs[0] = &c->xs;
  ctx->x[1] = c->weights;
  ctx->xs[1] = &c->ws;
  if (c->node->n_in > 2) {
    ctx->x[2] = c->bias;
    ctx->xs[2] = &c->bs;
  }
  ctx->gx[0] = c->gx;
}

static double
run_ours (const Conv *c, gboolean backward)
{
  DdOpCtx ctx;
  context_of (c, &ctx);
  const gint64 t0 = g_get_monotonic_time ();
  if (backward)
    dd_op_conv.backward (&ctx);
  else
    dd_op_conv.forward (&ctx);
  return (g_get_monotonic_time () - t0) / 1e3;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Largest difference between a and b relative to b's largest magnitude. */
static double
relative_error (const float *a, const float *b, gsize n)
{
  double diff = 0, scale = 1e-30;
  for (gsize i = 0; i < n; i++) {
    diff = MAX (diff, fabs ((double) a[i] - b[i]));
    scale = MAX (scale, fabs ((double) b[i]));
  }
  return diff / scale;
}

static char *
cpu_name (void)
{
  g_autofree char *text = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL)) {
    const char *at = strstr (text, "model name");
    const char *colon = at ? strchr (at, ':') : NULL;
    if (colon) {
      const char *end = strchr (colon, '\n');
      return g_strstrip (g_strndup (colon + 1, end ? (gsize) (end - colon - 1) : strlen (colon)));
    }
  }
  return g_strdup ("unknown CPU");
}

static int
find_node (DdModel *m, const char *name)
{
  for (int i = 0; i < m->n_nodes; i++)
    if (strcmp (m->nodes[i].name, name) == 0)
      return i;
  return -1;
}

/* The nodes of the plan (keep, by node index) and its Conv nodes in its
 * order (convs). */
typedef struct {
  DdModel *model;
  gboolean *keep;
  GArray *convs;
  double *step_fwd, *step_bwd; /* by node index: seconds in the plan's runs */
} PlanNodes;

static void
collect_node (const char *node, const char *op_type, double forward_s, double backward_s,
              gpointer data)
{
  PlanNodes *nodes = data;
  int i = find_node (nodes->model, node);
  if (i < 0)
    return;
  nodes->keep[i] = TRUE;
  nodes->step_fwd[i] = forward_s;
  nodes->step_bwd[i] = backward_s;
  if (strcmp (op_type, "Conv") == 0)
    g_array_append_val (nodes->convs, i);
}

/* Sets c up for node: shapes as the engine infers them for the input,
 * the model's weights, random activations and gradients. */
static gboolean
conv_init (Conv *c, DdModel *m, const DdNode *node, const DdShape *shapes, GRand *rand,
           GError **error)
{
  memset (c, 0, sizeof *c);
  c->node = node;
  c->xs = shapes[node->in[0]];
  c->ys = shapes[node->out];
  const DdValue *w = &m->values[node->in[1]];
  c->ws = w->shape;
  c->weights = w->floats;
  c->bs = (DdShape){ 1, { c->ys.d[1] } };
  c->bias = node->n_in > 2 ? m->values[node->in[2]].floats : NULL;
  if (node->a.group != 1 || c->xs.rank != 4 || !c->weights || (node->n_in > 2 && !c->bias))
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "%s: only ungrouped 2-D convolutions", node->name);
  if (!dd_conv_prepare (&node->a, &c->xs, &c->ys, c->weights, node->name, error))
    return FALSE;
  const gsize nx = dd_shape_numel (&c->xs), ny = dd_shape_numel (&c->ys);
  c->x = random_floats (nx, rand, 1);
  c->gy = random_floats (ny, rand, 1);
  c->y = g_new0 (float, ny);
  c->gx = g_new0 (float, nx);
  const gsize work = dd_op_conv.work_floats (&node->a, &c->xs, &c->ys);
  c->work = g_new0 (float, MAX (work, 1));
  if (!c->bias) {
    /* oneDNN is given a bias in any case: a zero one then. */
    float *zeros = g_new0 (float, c->ys.d[1]);
    c->bias = zeros;
  }
  return TRUE;
}

static void
conv_clear (Conv *c)
{
  g_free (c->x);
  g_free (c->y);
  g_free (c->gy);
  g_free (c->gx);
  g_free (c->work);
  if (c->node && c->node->n_in <= 2)
    g_free ((float *) c->bias);
}

typedef struct {
  double ours_fwd, dnnl_fwd, ours_bwd, dnnl_bwd;
} Times;

/* Times c: warm-up calls, then runs rounds of the four calls in turn. */
static Times
time_conv (const Conv *c, const Prim *fwd, const Prim *bwd, int runs)
{
  double *t[4];
  for (int k = 0; k < 4; k++)
    t[k] = g_new (double, runs);
  run_ours (c, FALSE);
  run_prim (fwd);
  run_ours (c, TRUE);
  run_prim (bwd);
  for (int r = 0; r < runs; r++) {
    t[0][r] = run_ours (c, FALSE);
    t[1][r] = run_prim (fwd);
    t[2][r] = run_ours (c, TRUE);
    t[3][r] = run_prim (bwd);
  }
  Times m = { median (t[0], runs), median (t[1], runs), median (t[2], runs), median (t[3], runs) };
  for (int k = 0; k < 4; k++)
    g_free (t[k]);
  return m;
}

/* oneDNN's forward and backward of c, of its algorithm that does both
 * fastest (two calls each to choose), checked against the engine's. */
static gboolean
best_onednn (Conv *c, Prim *fwd, Prim *bwd, double *err_fwd, double *err_bwd)
{
  const dnnl_alg_kind_t algs[] = { dnnl_convolution_direct, dnnl_convolution_winograd };
  double best = INFINITY;
  for (gsize i = 0; i < G_N_ELEMENTS (algs); i++) {
    Prim f = { 0 }, b = { 0 };
    dnnl_primitive_desc_t fpd = NULL;
    if (!make_forward (c, algs[i], &f, &fpd)) {
      prim_clear (&f);
      continue;
    }
    gboolean have_bwd = make_backward (c, algs[i], fpd, &b);
    dnnl_primitive_desc_destroy (fpd);
    if (!have_bwd) {
      prim_clear (&f);
      prim_clear (&b);
      continue;
    }
    run_prim (&f);
    run_prim (&b);
    const double t = MIN (run_prim (&f), run_prim (&f)) + MIN (run_prim (&b), run_prim (&b));
    if (t < best) {
      best = t;
      prim_clear (fwd);
      prim_clear (bwd);
      *fwd = f;
      *bwd = b;
    } else {
      prim_clear (&f);
      prim_clear (&b);
    }
  }
  if (!fwd->prim)
    return FALSE;
  /* Both solve the same problem: oneDNN's results against the engine's. */
  const gsize ny = dd_shape_numel (&c->ys), nx = dd_shape_numel (&c->xs);
  g_autofree float *theirs_y = g_new (float, ny);
  g_autofree float *theirs_gx = g_new (float, nx);
  run_ours (c, FALSE);
  run_ours (c, TRUE);
  run_prim (fwd);
  run_prim (bwd);
  memory_to (fwd->mem[3], &c->ys, theirs_y);
  memory_to (bwd->mem[2], &c->xs, theirs_gx);
  *err_fwd = relative_error (theirs_y, c->y, ny);
  *err_bwd = relative_error (theirs_gx, c->gx, nx);
  return TRUE;
}

/* runs steps of the plan, forward and backward as a dream does them, after
 * one untimed, with the plan's profile on: each node's time in a step. */
static void
step_plan (DdPlan *plan, gsize n, int runs)
{
  DdTensorInfo info;
  GRand *rand = g_rand_new_with_seed (2);
  for (int r = 0; r <= runs; r++) {
    if (r == 1)
      dd_plan_set_profiling (plan, TRUE);
    float *in = dd_plan_get_input (plan);
    for (gsize i = 0; i < n; i++)
      in[i] = (float) g_rand_double_range (rand, -2, 2);
    dd_plan_forward (plan);
    const float *a = dd_plan_get_target (plan, 0, &info);
    memcpy (dd_plan_get_target_grad (plan, 0), a, dd_tensor_info_numel (&info) * sizeof *a);
    dd_plan_backward (plan);
  }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  dd_process_init (argv);
  g_autofree char *model_name = NULL, *layer = NULL;
  int width = 1024, height = 768, runs = 7, threads = 2;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_name, "Model card or file (googlenet)",
      "NAME|FILE" },
    { "layer", 0, 0, G_OPTION_ARG_STRING, &layer, "Target tensor (" DEFAULT_LAYER ")", "NAME" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Input width (1024)", "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Input height (768)", "PX" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed calls of each, per convolution (7)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads of both libraries (2)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("- each convolution of a plan, the engine's against oneDNN's");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "bench-onednn: %s\n", error->message);
    return 1;
  }
  if (runs < 1 || runs > 1000 || threads < 1 || threads > 1024 || width < 1 || height < 1) {
    fprintf (stderr, "bench-onednn: --runs takes 1 to 1000, --threads 1 to 1024, sizes >= 1\n");
    return 1;
  }
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = dd_model_open (model_name, &card, &error);
  if (!model) {
    fprintf (stderr, "bench-onednn: %s\n", error->message);
    return 1;
  }
  const char *target = layer ? layer : DEFAULT_LAYER;
  /* The plan says which convolutions run and makes their Winograd weights. */
  g_autoptr (DdPlan) plan = dd_plan_new (model, width, height, &target, 1, 0, &error);
  if (!plan) {
    fprintf (stderr, "bench-onednn: %s\n", error->message);
    return 1;
  }
  g_autofree gboolean *keep = g_new0 (gboolean, model->n_nodes);
  g_autofree double *step_fwd = g_new0 (double, model->n_nodes);
  g_autofree double *step_bwd = g_new0 (double, model->n_nodes);
  PlanNodes nodes = { model, keep, g_array_new (FALSE, FALSE, sizeof (int)), step_fwd, step_bwd };
  omp_set_num_threads (threads);
  step_plan (plan, (gsize) dd_model_get_input_channels (model) * width * height, runs);
  dd_plan_foreach_node_profile (plan, collect_node, &nodes);
  g_clear_pointer (&plan, dd_plan_free);
  /* The shapes the plan has, inferred as it infers them. */
  g_autofree DdShape *shapes = g_new0 (DdShape, model->n_values);
  if (!dd_model_infer_shapes (model, height, width, keep, shapes, &error)) {
    fprintf (stderr, "bench-onednn: %s\n", error->message);
    return 1;
  }

  DNNL_TRY (dnnl_engine_create (&engine, dnnl_cpu, 0), "engine");
  DNNL_TRY (dnnl_stream_create (&stream, engine, dnnl_stream_default_flags), "stream");

  g_autofree char *cpu = cpu_name ();
  g_autofree char *kernels = dd_blas_describe ();
  const dnnl_version_t *v = dnnl_version ();
  printf ("convolutions of %s to %s at %dx%d: the engine against oneDNN %d.%d.%d\n", card->name,
          target, width, height, v->major, v->minor, v->patch);
  printf ("CPU: %s; %d threads; medians of %d calls each, taking turns\nengine: %s\n", cpu, threads,
          runs, kernels);
  printf ("\n%-26s %-14s %-9s %8s %8s %5s %8s %8s %5s %9s  %-8s %-22s\n", "convolution", "input",
          "kernel", "fwd ms", "oneDNN", "x", "bwd ms", "oneDNN", "x", "in step", "max err",
          "oneDNN impl fwd/bwd");
  fflush (stdout);
  GRand *rand = g_rand_new_with_seed (1);
  Times total = { 0 };
  double total_step = 0;
  for (guint i = 0; i < nodes.convs->len; i++) {
    const int at = g_array_index (nodes.convs, int, i);
    const DdNode *node = &model->nodes[at];
    const double in_step = 1e3 * (step_fwd[at] + step_bwd[at]) / runs;
    total_step += in_step;
    Conv c;
    Prim fwd = { 0 }, bwd = { 0 };
    double err_fwd = 0, err_bwd = 0;
    if (!conv_init (&c, model, node, shapes, rand, &error)) {
      fprintf (stderr, "bench-onednn: %s\n", error->message);
      return 1;
    }
    if (!best_onednn (&c, &fwd, &bwd, &err_fwd, &err_bwd)) {
      fprintf (stderr, "bench-onednn: %s: oneDNN has no convolution for these shapes\n",
               node->name);
      return 1;
    }
    if (!(MAX (err_fwd, err_bwd) <= MAX_RELATIVE_ERROR)) {
      fprintf (stderr,
               "bench-onednn: %s: oneDNN's results differ from the engine's by %.1e of their "
               "largest magnitude (forward) and %.1e (backward): not the same problem\n",
               node->name, err_fwd, err_bwd);
      return 1;
    }
    Times t = time_conv (&c, &fwd, &bwd, runs);
    total.ours_fwd += t.ours_fwd;
    total.dnnl_fwd += t.dnnl_fwd;
    total.ours_bwd += t.ours_bwd;
    total.dnnl_bwd += t.dnnl_bwd;
    g_autofree char *input =
        g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, c.xs.d[1],
                         c.xs.d[2], c.xs.d[3]);
    g_autofree char *kernel =
        g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, c.ws.d[2],
                         c.ws.d[3], node->a.stride[0]);
    printf ("%-26s %-14s %-9s %8.2f %8.2f %5.2f %8.2f %8.2f %5.2f %9.2f  %-8.1e %s / %s\n",
            node->name, input, kernel, t.ours_fwd, t.dnnl_fwd, t.ours_fwd / t.dnnl_fwd, t.ours_bwd,
            t.dnnl_bwd, t.ours_bwd / t.dnnl_bwd, in_step, MAX (err_fwd, err_bwd), fwd.impl,
            bwd.impl);
    fflush (stdout);
    prim_clear (&fwd);
    prim_clear (&bwd);
    conv_clear (&c);
  }
  printf ("%-26s %-14s %-9s %8.2f %8.2f %5.2f %8.2f %8.2f %5.2f %9.2f\n", "all convolutions", "",
          "", total.ours_fwd, total.dnnl_fwd, total.ours_fwd / total.dnnl_fwd, total.ours_bwd,
          total.dnnl_bwd, total.ours_bwd / total.dnnl_bwd, total_step);
  printf ("(x: the engine's time over oneDNN's; in step: the engine's forward + backward of the "
          "node in whole steps of the plan, its ReLU included, mean of %d; max err: the larger "
          "difference of oneDNN's results from the engine's, relative to their largest "
          "magnitude)\n",
          runs);
  g_rand_free (rand);
  g_array_unref (nodes.convs);
  dnnl_stream_destroy (stream);
  dnnl_engine_destroy (engine);
  return 0;
}
