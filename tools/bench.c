/* bench.c: times one DeepDream step (forward + input-gradient backward) and
 * compares its arithmetic rate with a plain OpenBLAS sgemm on the same CPU.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Prints figures only; it asserts nothing about time.
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "dd-ops.h"
#include "deepdream.h"

#define DEFAULT_LAYER "inception_4c/output"
#define DEFAULT_WIDTH 1024
#define DEFAULT_HEIGHT 768
/* One forward + backward of GoogLeNet up to inception_4c/output at 1024x768. */
#define DEFAULT_GFLOP 73.44
#define SGEMM_N 2048
#define SGEMM_RUNS 5

typedef struct {
  char *model;
  char *layer;
  char *product; /* the convolutions' product kernel asked for, or NULL */
  int width, height, runs, warmup;
  double gflop; /* <= 0: not given */
  gboolean no_sgemm, no_winograd, no_direct;
  int nodes; /* slowest nodes to list */
} BenchOptions;

static void
bench_options_clear (BenchOptions *opts)
{
  g_clear_pointer (&opts->model, g_free);
  g_clear_pointer (&opts->layer, g_free);
  g_clear_pointer (&opts->product, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BenchOptions, bench_options_clear)

/* Time spent in an op type, or in one node ("name (op)"). */
typedef struct {
  char *name;
  double forward_s, backward_s;
} OpProfile;

static void
op_profile_clear (gpointer data)
{
  g_free (((OpProfile *) data)->name);
}

static gboolean
parse_options (BenchOptions *opts, int *argc, char ***argv, GError **error)
{
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &opts->model, "ONNX model", "FILE" },
    { "layer", 0, 0, G_OPTION_ARG_STRING, &opts->layer, "Target tensor (" DEFAULT_LAYER ")",
      "NAME" },
    { "width", 0, 0, G_OPTION_ARG_INT, &opts->width, "Input width (1024)", "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &opts->height, "Input height (768)", "PX" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &opts->runs, "Timed runs (7)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &opts->warmup, "Untimed runs first (1)", "N" },
    { "gflop", 0, 0, G_OPTION_ARG_DOUBLE, &opts->gflop,
      "GFLOP in one forward + backward (73.44 for the defaults)", "F" },
    { "no-sgemm", 0, 0, G_OPTION_ARG_NONE, &opts->no_sgemm, "Skip the sgemm reference", NULL },
    { "nodes", 0, 0, G_OPTION_ARG_INT, &opts->nodes, "Also list the N slowest nodes (0)", "N" },
    { "no-winograd", 0, 0, G_OPTION_ARG_NONE, &opts->no_winograd,
      "3x3 convolutions by im2col + sgemm, as before Winograd", NULL },
    { "product", 0, 0, G_OPTION_ARG_STRING, &opts->product,
      "The convolutions' product kernel: avx512, avx2 or openblas (the best this CPU runs)",
      "KERNEL" },
    { "no-direct", 0, 0, G_OPTION_ARG_NONE, &opts->no_direct,
      "Stride-1 convolutions that are not Winograd's by im2col + product", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- benchmark libdeepdream");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  const char *shared_dir = g_getenv ("DD_SHARED_DIR");
  if (opts->model == NULL && shared_dir != NULL)
    opts->model =
        g_build_filename (shared_dir, "models", "bvlc_googlenet", "bvlc_googlenet.onnx", NULL);
  if (opts->model == NULL) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                         "--model FILE is required (or set DD_SHARED_DIR)");
    return FALSE;
  }
  if (opts->layer == NULL)
    opts->layer = g_strdup (DEFAULT_LAYER);
  if (opts->product) {
    static const struct {
      const char *name;
      DdProductKernel kernel;
    } kernels[] = { { "avx512", DD_PRODUCT_AVX512 },
                    { "avx2", DD_PRODUCT_AVX2 },
                    { "openblas", DD_PRODUCT_BLAS } };
    gsize i = 0;
    while (i < G_N_ELEMENTS (kernels) && strcmp (opts->product, kernels[i].name) != 0)
      i++;
    if (i == G_N_ELEMENTS (kernels)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--product must be avx512, avx2 or openblas, not \"%s\"", opts->product);
      return FALSE;
    }
    if (!dd_product_force (kernels[i].kernel)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--product %s: this CPU cannot run that kernel", opts->product);
      return FALSE;
    }
  }
  if (opts->width < 1 || opts->height < 1 || opts->runs < 1 || opts->warmup < 0) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--width, --height and --runs must be >= 1, --warmup >= 0");
    return FALSE;
  }
  gboolean defaults = opts->width == DEFAULT_WIDTH && opts->height == DEFAULT_HEIGHT &&
                      strcmp (opts->layer, DEFAULT_LAYER) == 0;
  if (opts->gflop <= 0 && defaults)
    opts->gflop = DEFAULT_GFLOP;
  return TRUE;
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Sorts values in place. */
static double
median (double *values, int n)
{
  qsort (values, n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static void
fill_input (DdPlan *plan, gsize n)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260101);
  float *input = dd_plan_get_input (plan);
  for (gsize i = 0; i < n; i++)
    input[i] = g_rand_double_range (rand, -120.0, 140.0);
}

/* One DeepDream step, the gradient of 0.5 * sum(a^2) being a itself. */
static void
run_step (DdPlan *plan, double *forward_ms, double *backward_ms)
{
  DdTensorInfo info;
  double t0 = now_ms ();
  dd_plan_forward (plan);
  double t1 = now_ms ();
  const float *target = dd_plan_get_target (plan, 0, &info);
  memcpy (dd_plan_get_target_grad (plan, 0), target, dd_tensor_info_numel (&info) * sizeof (float));
  double t2 = now_ms ();
  dd_plan_backward (plan);
  double t3 = now_ms ();
  *forward_ms = t1 - t0;
  *backward_ms = t3 - t2;
}

static double
peak_rss_mb (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* Median GFLOP/s of a square cblas_sgemm, the best this BLAS does here. */
static double
sgemm_gflops (void)
{
  const gsize n = SGEMM_N;
  float *a = g_aligned_alloc (n * n, sizeof (float), 64);
  float *b = g_aligned_alloc (n * n, sizeof (float), 64);
  float *c = g_aligned_alloc0 (n * n, sizeof (float), 64);
  for (gsize i = 0; i < n * n; i++) {
    a[i] = (float) (i % 7) - 3.0f;
    b[i] = (float) (i % 5) - 2.0f;
  }
  double ms[SGEMM_RUNS];
  for (int r = -1; r < SGEMM_RUNS; r++) {
    double t0 = now_ms ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    if (r >= 0)
      ms[r] = now_ms () - t0;
  }
  g_aligned_free (a);
  g_aligned_free (b);
  g_aligned_free (c);
  return 2.0 * n * n * n / (median (ms, SGEMM_RUNS) * 1e6);
}

static void
print_header (const BenchOptions *opts, const DdTensorInfo *target)
{
  g_autoptr (GString) shape = g_string_new (NULL);
  for (int d = 0; d < target->rank; d++)
    g_string_append_printf (shape, "%s%" G_GINT64_FORMAT, d ? "x" : "", target->dims[d]);
  printf ("libdeepdream benchmark\n");
  printf ("  model      %s\n", opts->model);
  printf ("  layer      %s (%s)\n", opts->layer, shape->str);
  printf ("  input      %dx%d, %d timed runs after %d warm-up\n", opts->width, opts->height,
          opts->runs, opts->warmup);
  printf ("  cpus       %u\n", g_get_num_processors ());
  g_autofree char *kernels = dd_blas_describe ();
  printf ("  openblas   %s\n", openblas_get_config ());
  printf ("  kernels    %s\n", kernels);
  printf ("  product    %s (convolutions%s)\n", dd_product_kernel_name (dd_product_kernel ()),
          opts->product ? ", chosen by --product" : "");
  printf ("  threads    OpenBLAS %d, OpenMP %d\n\n", openblas_get_num_threads (),
          omp_get_max_threads ());
}

static void
print_times (double *forward_ms, double *backward_ms, double *step_ms, int runs)
{
  double *rows[] = { forward_ms, backward_ms, step_ms };
  const char *names[] = { "forward", "backward", "fwd+bwd" };
  printf ("time (ms)        median       min       max\n");
  for (int i = 0; i < 3; i++) {
    double med = median (rows[i], runs);
    printf ("  %-12s %9.1f %9.1f %9.1f\n", names[i], med, rows[i][0], rows[i][runs - 1]);
  }
}

static void
print_rates (const BenchOptions *opts, double step_ms)
{
  printf ("\nthroughput\n");
  if (opts->gflop <= 0) {
    printf ("  effective  n/a (give --gflop for this size and layer)\n");
  } else {
    printf ("  effective  %.1f GFLOP/s (%.2f GFLOP per step)\n", opts->gflop / step_ms * 1e3,
            opts->gflop);
  }
  if (opts->no_sgemm)
    return;
  double sgemm = sgemm_gflops ();
  printf ("  sgemm      %.1f GFLOP/s (OpenBLAS %dx%dx%d, median of %d)\n", sgemm, SGEMM_N, SGEMM_N,
          SGEMM_N, SGEMM_RUNS);
  if (opts->gflop > 0)
    printf ("  ratio      %.1f %% of sgemm\n", 100.0 * opts->gflop / step_ms * 1e3 / sgemm);
}

static void
collect_profile (const char *op_type, double forward_s, double backward_s, gpointer user_data)
{
  OpProfile p = { g_strdup (op_type), forward_s, backward_s };
  g_array_append_val ((GArray *) user_data, p);
}

static void
collect_node_profile (const char *node, const char *op_type, double forward_s, double backward_s,
                      gpointer user_data)
{
  OpProfile p = { g_strdup_printf ("%s (%s)", node, op_type), forward_s, backward_s };
  g_array_append_val ((GArray *) user_data, p);
}

static int
compare_profiles (gconstpointer a, gconstpointer b)
{
  const OpProfile *x = a, *y = b;
  double x_s = x->forward_s + x->backward_s, y_s = y->forward_s + y->backward_s;
  return (x_s < y_s) - (x_s > y_s); /* descending */
}

/* The rows of profile, slowest first, at most limit of them, each with its
 * share of the whole; then the total. */
static void
print_profile_table (const char *title, const char *what, GArray *profile, guint limit, int runs)
{
  g_array_sort (profile, compare_profiles);
  double total_fwd = 0, total_bwd = 0;
  for (guint i = 0; i < profile->len; i++) {
    total_fwd += g_array_index (profile, OpProfile, i).forward_s;
    total_bwd += g_array_index (profile, OpProfile, i).backward_s;
  }
  double total = MAX (total_fwd + total_bwd, 1e-12);
  printf ("\n%s (mean ms per run)\n", title);
  printf ("  %-44s %9s %9s %7s\n", what, "forward", "backward", "share");
  for (guint i = 0; i < MIN (profile->len, limit); i++) {
    const OpProfile *p = &g_array_index (profile, OpProfile, i);
    printf ("  %-44s %9.1f %9.1f %6.1f%%\n", p->name, p->forward_s * 1e3 / runs,
            p->backward_s * 1e3 / runs, 100.0 * (p->forward_s + p->backward_s) / total);
  }
  printf ("  %-44s %9.1f %9.1f %6.1f%%\n", "total", total_fwd * 1e3 / runs, total_bwd * 1e3 / runs,
          100.0);
}

static void
print_profile (DdPlan *plan, int runs, int nodes)
{
  g_autoptr (GArray) ops = g_array_new (FALSE, FALSE, sizeof (OpProfile));
  g_array_set_clear_func (ops, op_profile_clear);
  dd_plan_foreach_profile (plan, collect_profile, ops);
  print_profile_table ("per op type", "op", ops, G_MAXUINT, runs);
  if (nodes > 0) {
    g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (OpProfile));
    g_array_set_clear_func (all, op_profile_clear);
    dd_plan_foreach_node_profile (plan, collect_node_profile, all);
    print_profile_table ("slowest nodes", "node", all, nodes, runs);
  }
}

static gboolean
run_benchmark (const BenchOptions *opts, GError **error)
{
  g_autoptr (DdModel) model = dd_model_new_from_file (opts->model, error);
  if (model == NULL)
    return FALSE;
  const char *targets[] = { opts->layer };
  g_autoptr (DdPlan) plan = dd_plan_new (model, opts->width, opts->height, targets, 1, 0, error);
  if (plan == NULL)
    return FALSE;
  DdTensorInfo target;
  dd_plan_get_target (plan, 0, &target);
  print_header (opts, &target);
  fill_input (plan, (gsize) dd_model_get_input_channels (model) * opts->height * opts->width);

  double fwd, bwd;
  for (int r = 0; r < opts->warmup; r++)
    run_step (plan, &fwd, &bwd);
  dd_plan_set_profiling (plan, TRUE);
  g_autofree double *forward_ms = g_new (double, opts->runs);
  g_autofree double *backward_ms = g_new (double, opts->runs);
  g_autofree double *step_ms = g_new (double, opts->runs);
  for (int r = 0; r < opts->runs; r++) {
    run_step (plan, &forward_ms[r], &backward_ms[r]);
    step_ms[r] = forward_ms[r] + backward_ms[r];
  }
  double rss_mb = peak_rss_mb (); /* before sgemm's buffers */

  print_times (forward_ms, backward_ms, step_ms, opts->runs);
  print_rates (opts, median (step_ms, opts->runs));
  printf ("\nmemory\n");
  printf ("  peak RSS   %.1f MB\n", rss_mb);
  printf ("  plan       %.1f MB\n", dd_plan_get_memory (plan) / (1024.0 * 1024.0));
  print_profile (plan, opts->runs, opts->nodes);
  return TRUE;
}

int
main (int argc, char **argv)
{
  dd_process_init (argv);
  g_auto (BenchOptions)
      opts = { .width = DEFAULT_WIDTH, .height = DEFAULT_HEIGHT, .runs = 7, .warmup = 1 };
  g_autoptr (GError) error = NULL;
  if (parse_options (&opts, &argc, &argv, &error)) {
    dd_conv_configure (0, !opts.no_winograd);
    dd_conv_configure_direct (!opts.no_direct);
    if (run_benchmark (&opts, &error))
      return 0;
  }
  fprintf (stderr, "bench: %s\n", error->message);
  return 1;
}
