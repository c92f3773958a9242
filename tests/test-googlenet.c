/* test-googlenet.c: the real BVLC GoogLeNet, end to end.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Checks the engine against known figures: the ImageNet classes of a real
 * photo (a PyTorch run of the same weights ranks 986, 989, 325, 309 first)
 * and the input gradient of 1/2 sum(a^2) at inception_4c/output against
 * central finite differences.
 */
#include <gegl.h>
#include <math.h>
#include <string.h>

#include "dd-ops.h"
#include "deepdream.h"
#include "testutil.h"

#define SIZE 224

static DdModel *
load_googlenet (void)
{
  g_autofree char *path = tu_shared_path ("models/bvlc_googlenet/bvlc_googlenet.onnx");
  g_autoptr (GError) error = NULL;
  if (!path)
    return NULL;
  DdModel *model = dd_model_new_from_file (path, &error);
  g_assert_no_error (error);
  return model;
}

/* A test photo as the network wants it: width x height (bilinear), planar
 * BGR, 0..255 minus the Caffe mean. */
static float *
load_photo (const char *name, int width, int height)
{
  g_autofree char *path = tu_shared_path (name);
  if (!path)
    return NULL;
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglRectangle r = gegl_node_get_bounding_box (load);
  g_assert_cmpint (r.width, >, 0);
  g_autofree float *rgb = g_new (float, (gsize) r.width *r.height * 3);
  gegl_node_blit (load, 1.0, &r, babl_format ("R'G'B' float"), rgb, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);

  const gsize plane = (gsize) r.width * r.height;
  g_autofree float *bgr = g_new (float, plane * 3);
  const float mean[3] = { 104, 117, 123 };
  for (gsize i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      bgr[c * plane + i] = rgb[i * 3 + (2 - c)] * 255.0f - mean[c];
  float *out = g_new (float, (gsize) width *height * 3);
  dd_resize_bilinear (bgr, r.width, r.height, out, width, height, 3);
  return out;
}

static float *
load_flowers (void)
{
  return load_photo ("images/flowers.jpg", SIZE, SIZE);
}

static int
by_prob_desc (gconstpointer a, gconstpointer b, gpointer probs)
{
  float pa = ((const float *) probs)[*(const int *) a];
  float pb = ((const float *) probs)[*(const int *) b];
  return pa < pb ? 1 : pa > pb ? -1 : 0;
}

/* Top-5 of the model on flowers.jpg at target: probabilities, or logits
 * (a training snapshot's classifier, its softmax in the loss) turned into
 * them here. */
static void
check_top5 (DdModel *model, const char *target, gboolean logits)
{
  g_autofree float *image = load_flowers ();
  g_autoptr (GError) error = NULL;
  if (!model || !image)
    return;

  const char *targets[] = { target };
  g_autoptr (DdPlan) plan =
      dd_plan_new (model, SIZE, SIZE, targets, 1, DD_PLAN_FORWARD_ONLY, &error);
  g_assert_no_error (error);
  memcpy (dd_plan_get_input (plan), image, sizeof (float) * SIZE * SIZE * 3);
  dd_plan_forward (plan);
  DdTensorInfo info;
  const float *out = dd_plan_get_target (plan, 0, &info);
  g_assert_cmpint (info.rank, ==, 2);
  g_assert_cmpint (info.dims[1], ==, 1000);
  float prob[1000];
  double total = 0, top = out[0];
  for (int i = 0; i < 1000; i++)
    top = MAX (top, out[i]);
  for (int i = 0; i < 1000; i++)
    total += prob[i] = logits ? (float) exp (out[i] - top) : out[i];
  for (int i = 0; logits && i < 1000; i++)
    prob[i] /= (float) total;

  int order[1000];
  for (int i = 0; i < 1000; i++)
    order[i] = i;
  g_qsort_with_data (order, 1000, sizeof order[0], by_prob_desc, prob);
  for (int i = 0; i < 5; i++)
    g_test_message ("top %d: class %d, %.2f%%", i + 1, order[i], 100 * prob[order[i]]);

  const int expected[] = { 986, 989, 325, 309 };
  for (int i = 0; i < 4; i++) {
    gboolean found = FALSE;
    for (int j = 0; j < 4; j++)
      found |= order[i] == expected[j];
    if (!found)
      g_test_fail_printf ("class %d ranks %d; the top 4 should be 986, 989, 325, 309", order[i],
                          i + 1);
  }
}

static void
test_top5 (void)
{
  g_autoptr (DdModel) model = load_googlenet ();
  check_top5 (model, "prob", FALSE);
}

/* The same weights as Caffe's solver saved them: no prob layer (the
 * softmax is in the loss), and the classifier's logits the same. */
static void
test_top5_caffemodel (void)
{
  g_autofree char *path = tu_shared_path ("models/bvlc_googlenet/bvlc_googlenet.caffemodel");
  g_autoptr (GError) error = NULL;
  if (!path)
    return;
  g_autoptr (DdModel) model = dd_model_new_from_file (path, &error);
  g_assert_no_error (error);
  check_top5 (model, "loss3/classifier", TRUE);
}

/* 1/2 sum(a^2) at the plan's target, in double. */
static double
objective (DdPlan *plan)
{
  DdTensorInfo info;
  dd_plan_forward (plan);
  const float *a = dd_plan_get_target (plan, 0, &info);
  gsize n = 1;
  for (int i = 0; i < info.rank; i++)
    n *= info.dims[i];
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += 0.5 * (double) a[i] * a[i];
  return sum;
}

static int
by_abs_desc (gconstpointer a, gconstpointer b, gpointer grad)
{
  float ga = fabsf (((const float *) grad)[*(const int *) a]);
  float gb = fabsf (((const float *) grad)[*(const int *) b]);
  return ga < gb ? 1 : ga > gb ? -1 : 0;
}

/* Plans GoogLeNet to inception_4c/output for the image and runs one
 * DeepDream step's gradient, of 1/2 sum(a^2); returns the plan. */
/* One dream step of plan on image: the gradient of 1/2 sum y^2 at the
 * target, y = inception_4c/output, left in the plan's input gradient. */
static void
dream_step (DdPlan *plan, const float *image, int width, int height)
{
  memcpy (dd_plan_get_input (plan), image, sizeof (float) * width * height * 3);
  DdTensorInfo info;
  dd_plan_forward (plan);
  const float *a = dd_plan_get_target (plan, 0, &info);
  g_assert_cmpint (info.dims[2], ==, height / 16);
  gsize count = (gsize) info.dims[1] * info.dims[2] * info.dims[3];
  memcpy (dd_plan_get_target_grad (plan, 0), a, count * sizeof (float));
  dd_plan_backward (plan);
}

static DdPlan *
dream_gradient (DdModel *model, const float *image, int width, int height)
{
  g_autoptr (GError) error = NULL;
  const char *targets[] = { "inception_4c/output" };
  DdPlan *plan = dd_plan_new (model, width, height, targets, 1, 0, &error);
  g_assert_no_error (error);
  dream_step (plan, image, width, height);
  return plan;
}

static void
test_gradient_finite_differences (void)
{
  g_autoptr (DdModel) model = load_googlenet ();
  g_autofree float *image = load_flowers ();
  if (!model || !image)
    return;

  const int n = SIZE * SIZE * 3;
  g_autoptr (DdPlan) plan = dream_gradient (model, image, SIZE, SIZE);
  float *x = dd_plan_get_input (plan);
  g_autofree float *grad = g_memdup2 (dd_plan_get_input_grad (plan), sizeof (float) * n);

  /* The pixels where the gradient is largest, and a few at random. */
  g_autofree int *order = g_new (int, n);
  for (int i = 0; i < n; i++)
    order[i] = i;
  g_qsort_with_data (order, n, sizeof order[0], by_abs_desc, grad);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  int samples[10];
  for (int i = 0; i < 10; i++)
    samples[i] = i < 6 ? order[i] : order[g_rand_int_range (rand, 0, n / 4)];

  const float eps = 0.05f;
  const double scale = fabs (grad[order[0]]);
  for (int i = 0; i < 10; i++) {
    int p = samples[i];
    float keep = x[p];
    x[p] = keep + eps;
    double up = objective (plan);
    x[p] = keep - eps;
    double down = objective (plan);
    x[p] = keep;
    double fd = (up - down) / (2 * eps);
    g_test_message ("pixel %d: backward %.5g, finite difference %.5g", p, grad[p], fd);
    if (fabs (fd - grad[p]) > 1e-2 * scale + 2e-2 * fabs (grad[p]))
      g_test_fail_printf ("pixel %d: backward %.5g, finite difference %.5g", p, grad[p], fd);
  }
}

/* The Winograd 3x3 convolutions change no result beyond rounding: the
 * layer's activations with them and with im2col + sgemm (the engine before
 * them) agree to 1e-5, and so do the dream gradients on the test photos
 * (relative L2). That gradient is only piecewise continuous, though: where
 * two max-pool candidates nearly tie or a ReLU input is nearly 0, rounding
 * can reroute it. With OpenBLAS's Haswell kernels, sky1024px.jpg at 320x240
 * flips one such decision, which moves the gradient by 1e-2 under one late
 * unit's receptive field, 0.8 % of the pixels. A flip is accepted when the
 * gradient still agrees to 1e-5 of its largest value everywhere but at most
 * 2 % of the pixels and to 5e-2 in relative L2 (testnets/README.md's bound
 * for nets with such ties); a wrong transform moves nearly every pixel. */
static void
winograd_fidelity (gboolean blas)
{
  static const struct {
    const char *name;
    int width, height;
  } photos[] = { { "images/flowers.jpg", 224, 224 }, { "images/sky1024px.jpg", 320, 240 } };
  g_assert_true (dd_product_force (blas ? DD_PRODUCT_BLAS : DD_PRODUCT_AUTO));
  g_autoptr (DdModel) model = load_googlenet ();
  if (!model) {
    dd_product_force (DD_PRODUCT_AUTO);
    return;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (photos); i++) {
    const int w = photos[i].width, h = photos[i].height, n = w * h * 3;
    g_autofree float *image = load_photo (photos[i].name, w, h);
    dd_conv_configure (0, FALSE);
    g_autoptr (DdPlan) before = dream_gradient (model, image, w, h);
    dd_conv_configure (0, TRUE);
    g_autoptr (DdPlan) after = dream_gradient (model, image, w, h);
    const float *g_after = dd_plan_get_input_grad (after),
                *g_before = dd_plan_get_input_grad (before);
    const double err = tu_rl2_error (g_after, g_before, n);
    const double off = tu_share_off (g_after, g_before, n, 1e-5);
    /* Backward reuses the layer's memory: run forward again to see it. */
    dd_conv_configure (0, FALSE);
    dd_plan_forward (before);
    dd_conv_configure (0, TRUE);
    dd_plan_forward (after);
    DdTensorInfo info;
    const float *y_after = dd_plan_get_target (after, 0, &info);
    const double y_err = tu_max_rel_error (y_after, dd_plan_get_target (before, 0, NULL),
                                           dd_tensor_info_numel (&info));
    g_test_message ("%s at %dx%d%s: activations %.3g, gradient relative error %.3g, %.2f %% of "
                    "it off by more than 1e-5",
                    photos[i].name, w, h, blas ? " on OpenBLAS" : "", y_err, err, 100 * off);
    if (!(y_err <= 1e-5))
      g_test_fail_printf ("%s: activations' relative error %.3g > 1e-5", photos[i].name, y_err);
    if (!(err <= 1e-5) && !(off <= 0.02 && err <= 5e-2))
      g_test_fail_printf ("%s: gradient relative error %.3g, %.2f %% of it off by more than 1e-5",
                          photos[i].name, err, 100 * off);
  }
  dd_product_force (DD_PRODUCT_AUTO);
}

/* With the convolutions' own product kernel where the CPU has it, then on
 * OpenBLAS as elsewhere: a model of its own, whose Winograd weights are
 * laid out for OpenBLAS's products. */
static void
test_winograd_fidelity (void)
{
  winograd_fidelity (FALSE);
  winograd_fidelity (TRUE);
}

/* A plan reshaped to another size, down into its own memory or up into
 * new memory, gives what a plan made at that size gives; a reshape that
 * cannot be done leaves the plan as it was. */
static void
test_plan_reshape (void)
{
  g_autoptr (DdModel) model = load_googlenet ();
  g_autofree float *small = load_flowers ();
  g_autofree float *big = load_photo ("images/sky1024px.jpg", 320, 240);
  if (!model || !small || !big)
    return;
  const int n_small = SIZE * SIZE * 3, n_big = 320 * 240 * 3;
  g_autoptr (DdPlan) want_small = dream_gradient (model, small, SIZE, SIZE);
  g_autoptr (DdPlan) want_big = dream_gradient (model, big, 320, 240);

  g_autoptr (GError) error = NULL;
  g_autoptr (DdPlan) plan = dream_gradient (model, big, 320, 240);
  g_assert_true (dd_plan_reshape (plan, SIZE, SIZE, &error));
  g_assert_no_error (error);
  dream_step (plan, small, SIZE, SIZE);
  g_assert_cmpfloat (
      tu_rl2_error (dd_plan_get_input_grad (plan), dd_plan_get_input_grad (want_small), n_small),
      <=, 1e-6);

  g_assert_true (dd_plan_reshape (plan, 320, 240, &error));
  dream_step (plan, big, 320, 240);
  g_assert_cmpfloat (
      tu_rl2_error (dd_plan_get_input_grad (plan), dd_plan_get_input_grad (want_big), n_big), <=,
      1e-6);

  g_assert_false (dd_plan_reshape (plan, 8, 8, &error));
  g_assert_nonnull (error);
  g_test_message ("reshape to 8x8: %s", error->message);
  dream_step (plan, big, 320, 240);
  g_assert_cmpfloat (
      tu_rl2_error (dd_plan_get_input_grad (plan), dd_plan_get_input_grad (want_big), n_big), <=,
      1e-6);
}

static void
sum_node (const char *node, const char *op_type, double forward_s, double backward_s,
          gpointer user_data)
{
  double *sums = g_hash_table_lookup (user_data, op_type);
  g_assert_nonnull (node);
  g_assert_cmpstr (node, !=, "");
  if (!sums) {
    sums = g_new0 (double, 3);
    g_hash_table_insert (user_data, (gpointer) op_type, sums);
  }
  sums[0] += forward_s;
  sums[1] += backward_s;
  sums[2] += 1;
}

static void
check_op_type (const char *op_type, double forward_s, double backward_s, gpointer user_data)
{
  const double *sums = g_hash_table_lookup (user_data, op_type);
  g_assert_nonnull (sums);
  g_assert_cmpfloat_with_epsilon (sums[0], forward_s, 1e-9);
  g_assert_cmpfloat_with_epsilon (sums[1], backward_s, 1e-9);
}

/* The profile bench prints: per node, and per op type as their sums; the
 * convolutions, which run both ways, take time in both. */
static void
test_profile (void)
{
  g_autoptr (DdModel) model = load_googlenet ();
  g_autofree float *image = load_flowers ();
  g_autoptr (GError) error = NULL;
  if (!model || !image)
    return;
  const char *targets[] = { "inception_4c/output" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, SIZE, SIZE, targets, 1, 0, &error);
  g_assert_no_error (error);
  dd_plan_set_profiling (plan, TRUE);
  memcpy (dd_plan_get_input (plan), image, sizeof (float) * SIZE * SIZE * 3);
  dd_plan_forward (plan);
  dd_plan_backward (plan);

  g_autoptr (GHashTable) by_type = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  dd_plan_foreach_node_profile (plan, sum_node, by_type);
  const double *conv = g_hash_table_lookup (by_type, "Conv");
  g_assert_nonnull (conv);
  /* conv1, conv2/3x3_reduce, conv2/3x3, and six in each of 3a to 4c */
  g_assert_cmpfloat (conv[2], ==, 33);
  g_assert_cmpfloat (conv[0], >, 0);
  g_assert_cmpfloat (conv[1], >, 0);
  dd_plan_foreach_profile (plan, check_op_type, by_type);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);
  g_test_add_func ("/googlenet/top5-flowers", test_top5);
  g_test_add_func ("/googlenet/top5-flowers-caffemodel", test_top5_caffemodel);
  g_test_add_func ("/googlenet/gradient-finite-differences", test_gradient_finite_differences);
  g_test_add_func ("/googlenet/winograd-fidelity", test_winograd_fidelity);
  g_test_add_func ("/googlenet/profile", test_profile);
  g_test_add_func ("/googlenet/plan-reshape", test_plan_reshape);
  int status = g_test_run ();
  gegl_exit ();
  return status;
}
