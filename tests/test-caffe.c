/* test-caffe.c: the Caffe .caffemodel loader.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Real files (shared/models: GoogLeNet's stem in V1 and V2, the whole
 * GoogLeNet as Caffe's solver saved it, SqueezeNet in V2) against their
 * ONNX twins and float64 references; small nets made here for every layer
 * type, the phase rules and in-place naming; and hostile files, each of
 * which must fail with one message naming the layer or blob at fault.
 */
#include <math.h>
#include <string.h>

#include "caffe.pb-c.h"
#include "deepdream.h"
#include "testutil.h"

#define CODE(c) (1u << (c))

/* ---- Running a model up to tensors ----------------------------------------- */

static DdModel *
load_shared (const char *relative)
{
  g_autofree char *path = tu_shared_path (relative);
  if (!path)
    return NULL;
  g_autoptr (GError) error = NULL;
  DdModel *model = dd_model_new_from_file (path, &error);
  g_assert_no_error (error);
  return model;
}

static TuTensor *
load_tensor (const char *relative)
{
  g_autofree char *path = tu_shared_path (relative);
  if (!path)
    return NULL;
  g_autoptr (GError) error = NULL;
  TuTensor *t = tu_tensor_load (path, &error);
  g_assert_no_error (error);
  return t;
}

/* The targets' values after a forward pass on input (1 x C x H x W), one
 * new block each; info[i] gets their shapes. */
static void
run_forward (DdModel *model, const TuTensor *input, const char *const *targets, int n, float **out,
             DdTensorInfo *info)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DdPlan) plan = dd_plan_new (model, (int) input->dims[3], (int) input->dims[2], targets,
                                         n, DD_PLAN_FORWARD_ONLY, &error);
  g_assert_no_error (error);
  memcpy (dd_plan_get_input (plan), input->data, input->count * sizeof (float));
  dd_plan_forward (plan);
  for (int i = 0; i < n; i++) {
    const float *y = dd_plan_get_target (plan, i, &info[i]);
    out[i] = g_memdup2 (y, dd_tensor_info_numel (&info[i]) * sizeof (float));
  }
}

static void
assert_same_shape (const DdTensorInfo *a, const DdTensorInfo *b)
{
  g_assert_cmpint (a->rank, ==, b->rank);
  for (int i = 0; i < a->rank; i++)
    g_assert_cmpint (a->dims[i], ==, b->dims[i]);
}

/* ---- Real files ------------------------------------------------------------- */

/* The stem in both formats against the float64 reference (its README's
 * tolerance), each other and the same weights in ONNX. */
static void
test_stem (void)
{
  g_autoptr (DdModel) v1 = load_shared ("models/caffe_small/stem_v1.caffemodel");
  g_autoptr (DdModel) v2 = load_shared ("models/caffe_small/stem_v2.caffemodel");
  g_autoptr (DdModel) onnx = load_shared ("models/caffe_small/stem.onnx");
  g_autoptr (TuTensor) input = load_tensor ("models/caffe_small/test_data_set_0/input_0.pb");
  g_autoptr (TuTensor) ref = load_tensor ("models/caffe_small/test_data_set_0/output_0.pb");
  if (!v1 || !v2 || !onnx || !input || !ref)
    return;

  /* The net ends in conv2/3x3_reduce's in-place ReLU, a tensor named after
   * that layer; the bare blob name is the conv's output before it. */
  g_assert_cmpstr (dd_model_get_output_name (v1), ==, "conv2/relu_3x3_reduce");
  g_assert_cmpstr (dd_model_get_output_name (v2), ==, "conv2/relu_3x3_reduce");
  g_assert_cmpstr (dd_model_get_input_name (v1), ==, "data");
  g_assert_cmpint (dd_model_get_input_channels (v2), ==, 3);

  const char *caffe_targets[] = { "conv2/relu_3x3_reduce", "conv2/3x3_reduce" };
  const char *onnx_targets[] = { "conv2/3x3_reduce", "conv2/3x3_reduce_preact" };
  float *y1[2], *y2[2], *yo[2];
  DdTensorInfo i1[2], i2[2], io[2];
  run_forward (v1, input, caffe_targets, 2, y1, i1);
  run_forward (v2, input, caffe_targets, 2, y2, i2);
  run_forward (onnx, input, onnx_targets, 2, yo, io);
  for (int t = 0; t < 2; t++) {
    assert_same_shape (&i1[t], &io[t]);
    assert_same_shape (&i2[t], &io[t]);
    const gsize n = dd_tensor_info_numel (&i1[t]);
    /* The same weights through the same ops: the same floats. */
    g_assert_cmpmem (y1[t], n * sizeof (float), y2[t], n * sizeof (float));
    g_assert_cmpmem (y1[t], n * sizeof (float), yo[t], n * sizeof (float));
  }
  g_assert_cmpuint (ref->count, ==, dd_tensor_info_numel (&i1[0]));
  const double err = tu_max_rel_error (y1[0], ref->data, ref->count);
  g_test_message ("stem V1/V2 against the float64 reference: max|d|/max|ref| = %.2g", err);
  g_assert_cmpfloat (err, <=, 1e-4);

  gboolean negative = FALSE;
  for (gsize i = 0; i < dd_tensor_info_numel (&i1[1]); i++)
    negative |= y1[1][i] < 0;
  g_assert_true (negative); /* before the ReLU */
  for (int t = 0; t < 2; t++)
    g_free (y1[t]), g_free (y2[t]), g_free (yo[t]);
}

/* GoogLeNet as Caffe's solver saved it (TRAIN data layer, SPLIT layers,
 * auxiliary heads) against the ONNX file of the same weights and the
 * float64 reference at inception_4c/output. */
static void
test_googlenet (void)
{
  g_autoptr (DdModel) caffe = load_shared ("models/bvlc_googlenet/bvlc_googlenet.caffemodel");
  g_autoptr (DdModel) onnx = load_shared ("models/bvlc_googlenet/bvlc_googlenet.onnx");
  g_autoptr (TuTensor) input = load_tensor ("models/bvlc_googlenet/test_data_set_0/input_0.pb");
  g_autoptr (TuTensor) ref =
      load_tensor ("models/bvlc_googlenet/test_data_set_0/output_inception_4c.pb");
  if (!caffe || !onnx || !input || !ref)
    return;

  g_assert_cmpstr (dd_model_get_input_name (caffe), ==, "data");
  g_assert_cmpint (dd_model_get_input_channels (caffe), ==, 3);
  /* The loss layers are gone: the last tensor made is the main classifier. */
  g_assert_cmpstr (dd_model_get_output_name (caffe), ==, "loss3/classifier");

  /* 224x288: the auxiliary heads' classifiers need 224x224, so a plan
   * that took them in would fail. */
  const char *caffe_targets[] = { "inception_4c/output", "inception_3b/5x5_reduce" };
  const char *onnx_targets[] = { "inception_4c/output", "inception_3b/5x5_reduce_preact" };
  float *yc[2], *yo[2];
  DdTensorInfo ic[2], io[2];
  run_forward (caffe, input, caffe_targets, 2, yc, ic);
  run_forward (onnx, input, onnx_targets, 2, yo, io);
  for (int t = 0; t < 2; t++) {
    assert_same_shape (&ic[t], &io[t]);
    const gsize n = dd_tensor_info_numel (&ic[t]);
    const double d = tu_max_rel_error (yc[t], yo[t], n);
    g_test_message ("%s: caffemodel against ONNX, max|d|/max|ref| = %.2g", caffe_targets[t], d);
    g_assert_cmpfloat (d, <=, 1e-6);
  }
  const double err = tu_max_rel_error (yc[0], ref->data, ref->count);
  g_test_message ("inception_4c/output against the float64 reference: %.2g", err);
  g_assert_cmpfloat (err, <=, 1e-5);
  for (int t = 0; t < 2; t++)
    g_free (yc[t]), g_free (yo[t]);

  DdPreprocessing pre;
  g_assert_true (dd_model_get_preprocessing (caffe, &pre));
  g_assert_true (pre.bgr);
  g_assert_cmpfloat (pre.range, ==, 255);
  g_assert_cmpfloat (pre.mean[0], ==, 104);
  g_assert_cmpfloat (pre.mean[1], ==, 117);
  g_assert_cmpfloat (pre.mean[2], ==, 123);
  g_assert_cmpfloat (pre.std[1], ==, 1);
  g_assert_false (dd_model_get_preprocessing (onnx, &pre));
}

/* An auxiliary head is there when asked for. */
static void
test_googlenet_aux_head (void)
{
  g_autoptr (DdModel) caffe = load_shared ("models/bvlc_googlenet/bvlc_googlenet.caffemodel");
  if (!caffe)
    return;
  g_autoptr (GError) error = NULL;
  const char *targets[] = { "loss1/classifier" };
  g_autoptr (DdPlan) plan = dd_plan_new (caffe, 224, 224, targets, 1,
                                         DD_PLAN_FORWARD_ONLY | DD_PLAN_MEASURE_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (DdPlan) other = dd_plan_new (caffe, 288, 224, targets, 1,
                                          DD_PLAN_FORWARD_ONLY | DD_PLAN_MEASURE_ONLY, &error);
  g_assert_null (other);
  g_assert_error (error, DD_ERROR, DD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "loss1/"));
}

static void
test_squeezenet (void)
{
  g_autoptr (DdModel) caffe = load_shared ("models/squeezenet_v1.1/squeezenet_v1.1.caffemodel");
  g_autoptr (DdModel) onnx = load_shared ("models/squeezenet_v1.1/squeezenet_v1.1.onnx");
  g_autoptr (TuTensor) input = load_tensor ("models/squeezenet_v1.1/test_data_set_0/input_0.pb");
  g_autoptr (TuTensor) ref = load_tensor ("models/squeezenet_v1.1/test_data_set_0/output_0.pb");
  g_autoptr (TuTensor) ref9 =
      load_tensor ("models/squeezenet_v1.1/test_data_set_0/output_fire9_concat.pb");
  if (!caffe || !onnx || !input || !ref || !ref9)
    return;
  g_assert_cmpstr (dd_model_get_output_name (caffe), ==, "prob");
  const char *targets[] = { "prob", "fire9/concat" };
  float *yc[2], *yo[2];
  DdTensorInfo ic[2], io[2];
  run_forward (caffe, input, targets, 2, yc, ic);
  run_forward (onnx, input, targets, 2, yo, io);
  const TuTensor *refs[] = { ref, ref9 };
  for (int t = 0; t < 2; t++) {
    assert_same_shape (&ic[t], &io[t]);
    const gsize n = dd_tensor_info_numel (&ic[t]);
    g_assert_cmpuint (n, ==, refs[t]->count);
    const double d = tu_max_rel_error (yc[t], yo[t], n);
    const double e = tu_max_rel_error (yc[t], refs[t]->data, n);
    g_test_message ("%s: against ONNX %.2g, against the reference %.2g", targets[t], d, e);
    g_assert_cmpfloat (d, <=, 1e-6);
    g_assert_cmpfloat (e, <=, 1e-5);
    g_free (yc[t]), g_free (yo[t]);
  }
}

/* Every prefix of a real file fails cleanly (or, rarely, loads). */
static void
test_truncated (void)
{
  g_autofree char *path = tu_shared_path ("models/caffe_small/stem_v1.caffemodel");
  if (!path)
    return;
  g_autofree char *contents = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  for (gsize n = 0; n < size; n += n < 400 ? 1 : 997) {
    g_autoptr (GError) error = NULL;
    g_autoptr (DdModel) model = dd_model_new_from_data ((const guint8 *) contents, n, &error);
    g_assert_true (model != NULL || error != NULL);
    if (error)
      g_assert_true (error->domain == DD_ERROR);
  }
}

/* The fuzzer's kept inputs (tests/fuzz/regressions) load or fail cleanly. */
static void
test_regressions (void)
{
  const char *dir = g_getenv ("DD_REGRESSIONS");
  if (!dir) {
    g_test_skip ("DD_REGRESSIONS is unset");
    return;
  }
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (listing);
  int seen = 0;
  for (const char *name; listing && (name = g_dir_read_name (listing));) {
    if (!g_str_has_suffix (name, ".caffemodel"))
      continue;
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DdModel) model = dd_model_new_from_file (path, &error);
    g_test_message ("%s: %s", name, model ? "loads" : error->message);
    g_assert_true (model != NULL || (error && error->domain == DD_ERROR));
    if (model) {
      const char *targets[] = { dd_model_get_output_name (model) };
      g_autoptr (DdPlan) plan = dd_plan_new (model, 40, 32, targets, 1, DD_PLAN_MEASURE_ONLY, NULL);
      (void) plan;
    }
    seen++;
  }
  g_assert_cmpint (seen, >=, 6);
}

/* ---- Nets made here ---------------------------------------------------------- */

/* A V2 NetParameter under construction; everything it points to belongs to
 * own and is freed with it. */
typedef struct {
  Caffe__NetParameter net;
  GPtrArray *own;
  GPtrArray *layers;
} Net;

static gpointer
own (Net *n, gpointer p)
{
  g_ptr_array_add (n->own, p);
  return p;
}

static Net *
net_new (int64_t channels, int64_t height, int64_t width)
{
  Net *n = g_new0 (Net, 1);
  caffe__net_parameter__init (&n->net);
  n->own = g_ptr_array_new_with_free_func (g_free);
  n->layers = g_ptr_array_new ();
  n->net.n_input = 1;
  n->net.input = own (n, g_new0 (char *, 1));
  n->net.input[0] = "data";
  Caffe__BlobShape *shape = own (n, g_new0 (Caffe__BlobShape, 1));
  caffe__blob_shape__init (shape);
  shape->n_dim = 4;
  shape->dim = own (n, g_new (int64_t, 4));
  const int64_t dims[4] = { 1, channels, height, width };
  memcpy (shape->dim, dims, sizeof dims);
  n->net.n_input_shape = 1;
  n->net.input_shape = own (n, g_new (Caffe__BlobShape *, 1));
  n->net.input_shape[0] = shape;
  return n;
}

static void
net_free (Net *n)
{
  g_ptr_array_unref (n->layers);
  g_ptr_array_unref (n->own);
  g_free (n);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Net, net_free)

static char **
names (Net *n, const char *list, gsize *count)
{
  char **v = g_strsplit (list, ",", -1);
  own (n, v);
  for (char **p = v; *p; p++)
    own (n, *p);
  *count = *list ? g_strv_length (v) : 0;
  return v;
}

static Caffe__LayerParameter *
add_layer (Net *n, const char *name, const char *type, const char *bottom, const char *top)
{
  Caffe__LayerParameter *l = own (n, g_new0 (Caffe__LayerParameter, 1));
  caffe__layer_parameter__init (l);
  l->name = (char *) name;
  l->type = (char *) type;
  l->bottom = names (n, bottom, &l->n_bottom);
  l->top = names (n, top, &l->n_top);
  g_ptr_array_add (n->layers, l);
  return l;
}

/* A blob of shape dims[rank] (BlobShape) holding data. */
static Caffe__BlobProto *
add_blob (Net *n, Caffe__LayerParameter *l, int rank, const int64_t *dims, const float *data)
{
  Caffe__BlobProto *b = own (n, g_new0 (Caffe__BlobProto, 1));
  caffe__blob_proto__init (b);
  b->shape = own (n, g_new0 (Caffe__BlobShape, 1));
  caffe__blob_shape__init (b->shape);
  b->shape->n_dim = (gsize) rank;
  b->shape->dim = own (n, g_memdup2 (dims, (gsize) rank * sizeof *dims));
  gsize count = 1;
  for (int i = 0; i < rank; i++)
    count *= (gsize) dims[i];
  b->n_data = count;
  b->data = own (n, g_memdup2 (data, MAX (count, 1) * sizeof (float)));
  Caffe__BlobProto **blobs = own (n, g_new (Caffe__BlobProto *, l->n_blobs + 1));
  if (l->n_blobs)
    memcpy (blobs, l->blobs, l->n_blobs * sizeof *blobs);
  blobs[l->n_blobs++] = b;
  l->blobs = blobs;
  return b;
}

static Caffe__NetStateRule *
phase_rule (Net *n, int phase)
{
  Caffe__NetStateRule *r = own (n, g_new0 (Caffe__NetStateRule, 1));
  caffe__net_state_rule__init (r);
  r->has_phase = TRUE;
  r->phase = phase;
  return r;
}

static GBytes *
net_pack (Net *n)
{
  n->net.n_layer = n->layers->len;
  n->net.layer = (Caffe__LayerParameter **) n->layers->pdata;
  gsize size = caffe__net_parameter__get_packed_size (&n->net);
  guint8 *buf = g_malloc (MAX (size, 1));
  caffe__net_parameter__pack (&n->net, buf);
  return g_bytes_new_take (buf, size);
}

static DdModel *
net_load (Net *n, GError **error)
{
  g_autoptr (GBytes) bytes = net_pack (n);
  return dd_model_new_from_data (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error);
}

/* A 1x1 convolution of 2 channels in 2 groups, as the layer most tests
 * start from. */
static Caffe__LayerParameter *
add_conv (Net *n, const char *name, const char *bottom, const char *top)
{
  Caffe__LayerParameter *l = add_layer (n, name, "Convolution", bottom, top);
  Caffe__ConvolutionParameter *p = own (n, g_new0 (Caffe__ConvolutionParameter, 1));
  caffe__convolution_parameter__init (p);
  p->has_num_output = p->has_group = TRUE;
  p->num_output = 2;
  p->group = 2;
  p->n_kernel_size = 1;
  p->kernel_size = own (n, g_new (uint64_t, 1));
  p->kernel_size[0] = 1;
  l->convolution_param = p;
  const int64_t wd[4] = { 2, 1, 1, 1 }, bd[1] = { 2 };
  const float w[2] = { 2, -1 }, b[2] = { 0.5f, 0 };
  add_blob (n, l, 4, wd, w);
  add_blob (n, l, 1, bd, b);
  return l;
}

/* Convolution (groups), BatchNorm and Scale and a leaky ReLU in place on
 * one blob, Eltwise SUM, global AVE pooling, InnerProduct and Softmax,
 * against the same arithmetic done here; and the names of the in-place
 * chain's tensors. */
static void
test_layers (void)
{
  g_autoptr (Net) n = net_new (2, 3, 3);
  add_conv (n, "conv", "data", "conv");
  Caffe__LayerParameter *bn = add_layer (n, "bn", "BatchNorm", "conv", "conv");
  const int64_t c2[1] = { 2 }, c1[1] = { 1 };
  const float mean[2] = { 2, 4 }, var[2] = { 8, 18 }, factor[1] = { 2 };
  add_blob (n, bn, 1, c2, mean);
  add_blob (n, bn, 1, c2, var);
  add_blob (n, bn, 1, c1, factor);
  Caffe__LayerParameter *sc = add_layer (n, "sc", "Scale", "conv", "conv");
  sc->scale_param = own (n, g_new0 (Caffe__ScaleParameter, 1));
  caffe__scale_parameter__init (sc->scale_param);
  sc->scale_param->has_bias_term = TRUE;
  sc->scale_param->bias_term = TRUE;
  const float gamma[2] = { 3, 0.5f }, beta[2] = { 1, -1 };
  add_blob (n, sc, 1, c2, gamma);
  add_blob (n, sc, 1, c2, beta);
  Caffe__LayerParameter *relu = add_layer (n, "relu", "ReLU", "conv", "conv");
  relu->relu_param = own (n, g_new0 (Caffe__ReLUParameter, 1));
  caffe__re_luparameter__init (relu->relu_param);
  relu->relu_param->has_negative_slope = TRUE;
  relu->relu_param->negative_slope = 0.1f;
  add_layer (n, "sum", "Eltwise", "conv,data", "sum");
  Caffe__LayerParameter *pool = add_layer (n, "pool", "Pooling", "sum", "pool");
  pool->pooling_param = own (n, g_new0 (Caffe__PoolingParameter, 1));
  caffe__pooling_parameter__init (pool->pooling_param);
  pool->pooling_param->has_pool = TRUE;
  pool->pooling_param->pool = 1;
  pool->pooling_param->has_global_pooling = TRUE;
  pool->pooling_param->global_pooling = TRUE;
  Caffe__LayerParameter *fc = add_layer (n, "fc", "InnerProduct", "pool", "fc");
  fc->inner_product_param = own (n, g_new0 (Caffe__InnerProductParameter, 1));
  caffe__inner_product_parameter__init (fc->inner_product_param);
  fc->inner_product_param->has_num_output = TRUE;
  fc->inner_product_param->num_output = 3;
  const int64_t fw_dims[2] = { 3, 2 }, fb_dims[1] = { 3 };
  const float fw[6] = { 1, 0, 0, 1, 1, -1 }, fb[3] = { 0, 0.25f, 0 };
  add_blob (n, fc, 2, fw_dims, fw);
  add_blob (n, fc, 1, fb_dims, fb);
  add_layer (n, "prob", "Softmax", "fc", "prob");

  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = net_load (n, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dd_model_get_output_name (model), ==, "prob");

  float x[18];
  for (int i = 0; i < 18; i++)
    x[i] = (float) ((i * 7) % 11) - 5;
  TuTensor input = { .rank = 4, .dims = { 1, 2, 3, 3 }, .data = x, .count = 18 };
  const char *targets[] = { "conv", "bn", "sc", "relu", "prob" };
  float *y[5];
  DdTensorInfo info[5];
  run_forward (model, &input, targets, 5, y, info);

  double pooled[2] = { 0 };
  for (int c = 0; c < 2; c++)
    for (int i = 0; i < 9; i++) {
      const double xi = x[c * 9 + i];
      const double conv = (double) (c ? -1 : 2) * xi + (c ? 0 : 0.5);
      const double bnv = (conv - mean[c] / 2) / sqrt (var[c] / 2 + 1e-5);
      const double scv = gamma[c] * bnv + beta[c];
      const double reluv = scv > 0 ? scv : 0.1 * scv;
      g_assert_cmpfloat_with_epsilon (y[0][c * 9 + i], conv, 1e-5);
      g_assert_cmpfloat_with_epsilon (y[1][c * 9 + i], bnv, 1e-4);
      g_assert_cmpfloat_with_epsilon (y[2][c * 9 + i], scv, 1e-4);
      g_assert_cmpfloat_with_epsilon (y[3][c * 9 + i], reluv, 1e-4);
      pooled[c] += (reluv + xi) / 9;
    }
  double logits[3], total = 0;
  for (int k = 0; k < 3; k++) {
    logits[k] = fw[k * 2] * pooled[0] + fw[k * 2 + 1] * pooled[1] + fb[k];
    total += exp (logits[k]);
  }
  g_assert_cmpint (info[4].rank, ==, 2);
  for (int k = 0; k < 3; k++)
    g_assert_cmpfloat_with_epsilon (y[4][k], exp (logits[k]) / total, 1e-5);
  for (int t = 0; t < 5; t++)
    g_free (y[t]);
}

/* Net::FilterNet for the TEST phase: include and exclude rules, stages. */
static void
test_phases (void)
{
  g_autoptr (Net) n = net_new (2, 3, 3);
  add_conv (n, "conv", "data", "conv");
  Caffe__LayerParameter *train = add_layer (n, "train_only", "ReLU", "conv", "conv");
  train->n_include = 1;
  train->include = own (n, g_new (Caffe__NetStateRule *, 1));
  train->include[0] = phase_rule (n, 0);
  Caffe__LayerParameter *test = add_layer (n, "test_only", "ReLU", "conv", "conv");
  test->n_include = 1;
  test->include = own (n, g_new (Caffe__NetStateRule *, 1));
  test->include[0] = phase_rule (n, 1);
  Caffe__LayerParameter *not_test = add_layer (n, "not_in_test", "ReLU", "conv", "conv");
  not_test->n_exclude = 1;
  not_test->exclude = own (n, g_new (Caffe__NetStateRule *, 1));
  not_test->exclude[0] = phase_rule (n, 1);
  Caffe__LayerParameter *staged = add_layer (n, "staged", "ReLU", "conv", "conv");
  staged->n_include = 1;
  staged->include = own (n, g_new (Caffe__NetStateRule *, 1));
  staged->include[0] = phase_rule (n, 1);
  staged->include[0]->stage = names (n, "deploy", &staged->include[0]->n_stage);
  add_layer (n, "drop", "Dropout", "conv", "conv");
  add_layer (n, "loss", "SoftmaxWithLoss", "conv,label", "loss");

  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = net_load (n, &error);
  g_assert_no_error (error);
  g_autoptr (GArray) tensors = dd_model_list_tensors (model, 3, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tensors->len, ==, 2);
  g_assert_cmpstr (g_array_index (tensors, DdTensorInfo, 0).name, ==, "conv");
  g_assert_cmpstr (g_array_index (tensors, DdTensorInfo, 1).name, ==, "test_only");
  g_assert_cmpstr (dd_model_get_output_name (model), ==, "test_only");
}

/* ---- Hostile files ----------------------------------------------------------- */

static void
expect_error (Net *n, guint codes, const char *needle_a, const char *needle_b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = net_load (n, &error);
  g_assert_null (model);
  g_assert_nonnull (error);
  g_test_message ("error %d: %s", error->code, error->message);
  g_assert_true (error->domain == DD_ERROR);
  g_assert_true (codes & CODE (error->code));
  g_assert_nonnull (strstr (error->message, needle_a));
  if (needle_b)
    g_assert_nonnull (strstr (error->message, needle_b));
  g_assert_null (strchr (error->message, '\n'));
}

static void
test_unsupported_type (void)
{
  g_autoptr (Net) n = net_new (2, 3, 3);
  add_conv (n, "conv", "data", "conv");
  add_layer (n, "odd", "Sigmoid", "conv", "odd");
  expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'odd'", "Sigmoid");
}

static void
test_no_weights (void)
{
  g_autoptr (Net) n = net_new (2, 3, 3);
  Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
  l->n_blobs = 0;
  expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "no weights");
}

static void
test_bad_weights (void)
{
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->blobs[0]->shape->dim[2] = 3; /* a 3x1 kernel for a 1x1 layer */
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "weights have shape");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->blobs[1]->n_data = 1; /* a bias short of a value */
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "holds 1 values");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->blobs[0]->shape->dim[1] = -1;
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "negative");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->blobs[0]->shape->dim[0] = INT64_C (1) << 40;
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "too large");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->convolution_param->kernel_size[0] = UINT64_C (1) << 40;
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'conv'", "at most");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *l = add_conv (n, "conv", "data", "conv");
    l->convolution_param->num_output = 0;
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "num_output");
  }
}

static void
test_bad_wiring (void)
{
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "nowhere", "conv");
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv'", "'nowhere'");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "data", "conv,extra");
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'conv'", "tops");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "data", "conv");
    add_conv (n, "conv_again", "data", "conv");
    expect_error (n, CODE (DD_ERROR_INVALID), "'conv_again'", "'conv'");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__LayerParameter *d = add_layer (n, "feed", "Data", "", "image,label");
    (void) d;
    n->net.n_input = 0;
    n->net.n_input_shape = 0;
    add_conv (n, "conv", "image", "conv");
    add_layer (n, "uses_label", "Concat", "conv,label", "both");
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'uses_label'", "label");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "data", "conv");
    Caffe__LayerParameter *l = add_layer (n, "both_rules", "ReLU", "conv", "conv");
    l->n_include = l->n_exclude = 1;
    l->include = own (n, g_new (Caffe__NetStateRule *, 1));
    l->exclude = own (n, g_new (Caffe__NetStateRule *, 1));
    l->include[0] = phase_rule (n, 1);
    l->exclude[0] = phase_rule (n, 0);
    expect_error (n, CODE (DD_ERROR_INVALID), "'both_rules'", "include and exclude");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_layer (n, "second_input", "Input", "", "other");
    add_conv (n, "conv", "data", "conv");
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'other'", "several inputs");
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "data", "conv");
    Caffe__LayerParameter *pool = add_layer (n, "stochastic", "Pooling", "conv", "pool");
    pool->pooling_param = own (n, g_new0 (Caffe__PoolingParameter, 1));
    caffe__pooling_parameter__init (pool->pooling_param);
    pool->pooling_param->has_pool = TRUE;
    pool->pooling_param->pool = 2;
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "'stochastic'", "MAX and AVE");
  }
}

/* In-place layers of one long name each get a tensor of their own. */
static void
test_long_names (void)
{
  g_autoptr (Net) n = net_new (2, 3, 3);
  add_conv (n, "conv", "data", "conv");
  g_autofree char *name = g_strnfill (1000, 'r');
  add_layer (n, name, "ReLU", "conv", "conv");
  add_layer (n, name, "ReLU", "conv", "conv");
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = net_load (n, &error);
  g_assert_no_error (error);
  g_autofree char *second = g_strconcat (name, "#2", NULL);
  g_assert_cmpstr (dd_model_get_output_name (model), ==, second);
}

/* Formats: V0 refused with its name, V1 and V2 layers together refused. */
static void
test_formats (void)
{
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    Caffe__V1LayerParameter v1 = CAFFE__V1_LAYER_PARAMETER__INIT;
    Caffe__V0LayerParameter v0 = CAFFE__V0_LAYER_PARAMETER__INIT;
    v0.name = "conv1";
    v1.layer = &v0;
    Caffe__V1LayerParameter *list[] = { &v1 };
    n->net.n_layers = 1;
    n->net.layers = list;
    expect_error (n, CODE (DD_ERROR_UNSUPPORTED), "V0", NULL);
  }
  {
    g_autoptr (Net) n = net_new (2, 3, 3);
    add_conv (n, "conv", "data", "conv");
    Caffe__V1LayerParameter v1 = CAFFE__V1_LAYER_PARAMETER__INIT;
    v1.name = "old";
    v1.has_type = TRUE;
    v1.type = 18;
    Caffe__V1LayerParameter *list[] = { &v1 };
    n->net.n_layers = 1;
    n->net.layers = list;
    expect_error (n, CODE (DD_ERROR_INVALID), "V1", "V2");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/caffe/stem-v1-v2-onnx", test_stem);
  g_test_add_func ("/caffe/googlenet", test_googlenet);
  g_test_add_func ("/caffe/googlenet-aux-head", test_googlenet_aux_head);
  g_test_add_func ("/caffe/squeezenet", test_squeezenet);
  g_test_add_func ("/caffe/truncated", test_truncated);
  g_test_add_func ("/caffe/regressions", test_regressions);
  g_test_add_func ("/caffe/layers", test_layers);
  g_test_add_func ("/caffe/phases", test_phases);
  g_test_add_func ("/caffe/hostile/unsupported-type", test_unsupported_type);
  g_test_add_func ("/caffe/hostile/no-weights", test_no_weights);
  g_test_add_func ("/caffe/hostile/bad-weights", test_bad_weights);
  g_test_add_func ("/caffe/hostile/bad-wiring", test_bad_wiring);
  g_test_add_func ("/caffe/hostile/formats", test_formats);
  g_test_add_func ("/caffe/hostile/long-names", test_long_names);
  return g_test_run ();
}
