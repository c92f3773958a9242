/* test-loader.c: loading ONNX models, good and bad.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every bad model must give a DD_ERROR whose message names what is wrong (the
 * op, node, tensor, attribute or file), never a crash or a silent success.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deepdream.h"
#include "testutil.h"

#define CODE(c) (1u << (c))

/* ---- A tiny Conv + Relu model, and ways to spoil it ------------------------ */

/* x [1,1,H,W] -> Conv 2x2 (conv_w [2,1,2,2], conv_b [2]) -> conv_out -> Relu -> act_out */
typedef struct {
  TuModel *model;
  Onnx__NodeProto *conv, *act;
  Onnx__TensorProto *weight;
} Tiny;

static const float tiny_weight[] = { 1, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.5f };
static const float tiny_bias[] = { -10, -1 };
/* An input x = 1..9 and what the tiny model makes of it: channel 0 is
 * x[i][j] + x[i+1][j+1] - 10, channel 1 the 2x2 mean times 2 minus 1;
 * then ReLU. */
static const float tiny_x[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const float tiny_y[] = { 0, 0, 2, 4, 5, 7, 11, 13 };

static void
tiny_init (Tiny *t, const char *conv_attrs)
{
  static const int64_t input_dims[] = { 1, 1, -1, -1 };
  static const int64_t weight_dims[] = { 2, 1, 2, 2 };
  static const int64_t bias_dims[] = { 2 };

  t->model = tu_model_new (11);
  tu_model_set_input (t->model, "x", 4, input_dims);
  t->weight = tu_model_add_initializer (t->model, "conv_w", 4, weight_dims, tiny_weight);
  tu_model_add_initializer (t->model, "conv_b", 1, bias_dims, tiny_bias);
  t->conv = tu_model_add_node (t->model, "Conv", "conv1", "x,conv_w,conv_b", "conv_out",
                               conv_attrs ? conv_attrs : "kernel_shape=[2,2]");
  t->act = tu_model_add_node (t->model, "Relu", "relu1", "conv_out", "act_out", NULL);
  tu_model_add_output (t->model, "act_out");
}

static void
tiny_clear (Tiny *t)
{
  g_clear_pointer (&t->model, tu_model_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Tiny, tiny_clear)

/* Replaces a string field of a proto the tiny model owns. */
static void
tiny_set (Tiny *t, char **field, const char *value)
{
  *field = tu_model_own (t->model, g_strdup (value));
}

static DdModel *
load_bytes (GBytes *bytes, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  return dd_model_new_from_data (data, size, error);
}

/* ---- Checking a rejection -------------------------------------------------- */

typedef enum {
  AT_LOAD,         /* the loader must see it */
  AT_LOAD_OR_PLAN, /* graph structure: the loader or the planner may see it */
} Stage;

/* Passes when error is a DD_ERROR with a code in codes and a message holding
 * at least one of the NULL-terminated needles (no needles: any message). */
static void
check_error_va (const GError *error, guint codes, va_list needles)
{
  g_assert_nonnull (error);
  if (error == NULL)
    return;
  g_test_message ("error %d: %s", error->code, error->message);
  g_assert_true (error->domain == DD_ERROR);
  g_assert_true (codes & CODE (error->code));
  g_assert_cmpstr (error->message, !=, "");

  const char *needle = va_arg (needles, const char *);
  if (needle == NULL)
    return;
  for (; needle != NULL; needle = va_arg (needles, const char *))
    if (strstr (error->message, needle) != NULL)
      return;
  g_test_fail_printf ("message \"%s\" names none of the expected items", error->message);
}

static void
check_error (const GError *error, guint codes, ...)
{
  va_list needles;
  va_start (needles, codes);
  check_error_va (error, codes, needles);
  va_end (needles);
}

static void
expect_rejected (GBytes *bytes, Stage stage, guint codes, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = load_bytes (bytes, &error);
  if (model != NULL && stage == AT_LOAD_OR_PLAN) {
    const char *targets[] = { dd_model_get_output_name (model) };
    g_autoptr (DdPlan) plan = dd_plan_new (model, 3, 3, targets, 1, 0, &error);
    g_assert_null (plan);
  }
  va_list needles;
  va_start (needles, codes);
  check_error_va (error, codes, needles);
  va_end (needles);
}

static void
expect_tiny_rejected (Tiny *t, Stage stage, guint codes, const char *needle_a, const char *needle_b)
{
  g_autoptr (GBytes) bytes = tu_model_pack (t->model);
  expect_rejected (bytes, stage, codes, needle_a, needle_b, NULL);
}

/* ---- Not a model at all ---------------------------------------------------- */

static void
test_empty (void)
{
  static const guint8 nothing[1];
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = dd_model_new_from_data (nothing, 0, &error);
  g_assert_null (model);
  check_error (error, CODE (DD_ERROR_PARSE) | CODE (DD_ERROR_INVALID), NULL);
}

static void
test_random_bytes (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260101);
  guint8 junk[4096];
  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = g_rand_int (rand) & 0xff;
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = dd_model_new_from_data (junk, sizeof junk, &error);
  g_assert_null (model);
  check_error (error, CODE (DD_ERROR_PARSE) | CODE (DD_ERROR_INVALID), NULL);
}

static GBytes *
read_googlenet (void)
{
  g_autofree char *path = tu_shared_path ("models/bvlc_googlenet/bvlc_googlenet.onnx");
  if (path == NULL)
    return NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &error);
  g_assert_no_error (error);
  return file ? g_mapped_file_get_bytes (file) : NULL;
}

static void
test_truncated (void)
{
  g_autoptr (GBytes) whole = read_googlenet ();
  if (whole == NULL)
    return;
  gsize size = g_bytes_get_size (whole);
  const gsize cuts[] = { 1, 2, 100, 4096, size / 3, size / 2, size - 1000, size - 1 };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++) {
    g_test_message ("googlenet cut to %zu of %zu bytes", cuts[i], size);
    g_autoptr (GBytes) prefix = g_bytes_new_from_bytes (whole, 0, cuts[i]);
    expect_rejected (prefix, AT_LOAD, CODE (DD_ERROR_PARSE) | CODE (DD_ERROR_INVALID), NULL);
  }
}

static void
test_truncated_file (void)
{
  g_autoptr (GBytes) whole = read_googlenet ();
  if (whole == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("dd-truncated-XXXXXX.onnx", &path, &error);
  g_assert_no_error (error);
  if (fd < 0)
    return;
  close (fd);
  gsize half = g_bytes_get_size (whole) / 2;
  g_file_set_contents (path, g_bytes_get_data (whole, NULL), half, &error);
  g_assert_no_error (error);

  g_autoptr (DdModel) model = dd_model_new_from_file (path, &error);
  g_assert_null (model);
  check_error (error, CODE (DD_ERROR_PARSE) | CODE (DD_ERROR_INVALID), path, NULL);
  g_unlink (path);
}

static void
test_no_file (void)
{
  const char *path = "/nonexistent/dd-no-such-model.onnx";
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = dd_model_new_from_file (path, &error);
  g_assert_null (model);
  check_error (error, CODE (DD_ERROR_IO), path, NULL);
}

/* ---- Models with one thing wrong ------------------------------------------- */

static void
test_unknown_op (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  tiny_set (&t, &t.act->op_type, "Frobnicate");
  g_autoptr (GBytes) bytes = tu_model_pack (t.model);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = load_bytes (bytes, &error);
  g_assert_null (model);
  /* Both the op type and the node must be named. */
  check_error (error, CODE (DD_ERROR_UNSUPPORTED), "Frobnicate", NULL);
  check_error (error, CODE (DD_ERROR_UNSUPPORTED), "relu1", NULL);
}

static void
test_missing_initializer (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  tiny_set (&t, &t.conv->input[2], "no_such_bias");
  expect_tiny_rejected (&t, AT_LOAD_OR_PLAN, CODE (DD_ERROR_INVALID), "no_such_bias", NULL);
}

static void
test_undefined_input (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  tiny_set (&t, &t.act->input[0], "ghost_tensor");
  expect_tiny_rejected (&t, AT_LOAD_OR_PLAN, CODE (DD_ERROR_INVALID), "ghost_tensor", NULL);
}

static void
test_external_data (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  Onnx__StringStringEntryProto *where =
      tu_model_own (t.model, g_new0 (Onnx__StringStringEntryProto, 1));
  onnx__string_string_entry_proto__init (where);
  tiny_set (&t, &where->key, "location");
  tiny_set (&t, &where->value, "conv_w.bin");
  Onnx__TensorProto *w = t.weight;
  w->has_raw_data = FALSE;
  w->has_data_location = TRUE;
  w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  w->n_external_data = 1;
  w->external_data = tu_model_own (t.model, g_memdup2 (&where, sizeof where));
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "conv_w", NULL);
}

/* Stores the weight as another type, with data of the right size for it. */
static void
spoil_weight_type (Tiny *t, Onnx__TensorProto__DataType type, gsize element_size)
{
  gsize count = G_N_ELEMENTS (tiny_weight);
  guint8 *data = tu_model_own (t->model, g_malloc0 (count * element_size));
  if (type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
    for (gsize i = 0; i < count; i++) {
      double v = tiny_weight[i];
      memcpy (data + i * sizeof v, &v, sizeof v);
    }
  } else {
    for (gsize i = 0; i < count; i++)
      data[i] = (guint8) (gint8) tiny_weight[i];
  }
  t->weight->data_type = type;
  t->weight->raw_data.data = data;
  t->weight->raw_data.len = count * element_size;
}

static void
test_double_weight (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  spoil_weight_type (&t, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, sizeof (double));
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "conv_w", NULL);
}

static void
test_int8_weight (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  spoil_weight_type (&t, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1);
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "conv_w", NULL);
}

static void
test_cycle (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  /* conv reads act's output: conv -> act -> conv. */
  tiny_set (&t, &t.conv->input[0], "act_out");
  expect_tiny_rejected (&t, AT_LOAD_OR_PLAN, CODE (DD_ERROR_INVALID), "cycle", "act_out");
}

static void
test_auto_pad (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, "kernel_shape=[2,2] auto_pad=SAME_UPPER");
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "auto_pad", "SAME_UPPER");
}

/* MaxPool keeps its winners' places in the window as bytes: a window of 256
 * places is refused, by name, rather than miscounted. */
static void
test_max_pool_window (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  tu_model_add_node (t.model, "MaxPool", "pool1", "act_out", "pool_out", "kernel_shape=[16,16]");
  tu_model_add_output (t.model, "pool_out");
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED) | CODE (DD_ERROR_INVALID), "pool1",
                        "16x16");
}

/* ---- What the fuzzer found (tests/fuzz), rebuilt by hand --------------------- */

/* An empty string attribute came back as NULL and crashed strcmp. */
static void
test_empty_string_attribute (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, "kernel_shape=[2,2] auto_pad=");
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "auto_pad", NULL);
}

/* Pads of 10^9 made an output shape whose element count overflowed: such
 * pads are now refused, and a shape merely too big is refused as that. */
static void
test_huge_shape (void)
{
  g_auto (Tiny) absurd = { 0 };
  tiny_init (&absurd, "kernel_shape=[2,2] pads=[1000000000,1000000000,1000000000,1000000000]");
  expect_tiny_rejected (&absurd, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "pads", NULL);
  g_auto (Tiny) big = { 0 };
  tiny_init (&big, "kernel_shape=[2,2] pads=[1000000,1000000,1000000,1000000]");
  expect_tiny_rejected (&big, AT_LOAD_OR_PLAN, CODE (DD_ERROR_MEMORY), "too large", NULL);
}

/* A Relu whose only input was the empty name read value -1. */
static void
test_missing_first_input (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  tiny_set (&t, &t.act->input[0], "");
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_INVALID), "relu1", "missing");
}

static void
assert_floats (const float *got, const float *want, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], 1e-5);
}

/* ---- Resource checks: refused before anything is allocated ------------------ */

/* A weight that says it holds 10^9 x 1 x 2 x 2 floats (16 GB) but brings 8. */
static void
test_billion_channels (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  t.weight->dims[0] = 1000000000;
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_INVALID) | CODE (DD_ERROR_MEMORY), "conv_w",
                        NULL);
}

static void
test_zero_and_negative_dims (void)
{
  const int64_t bad[] = { 0, -3, -1 };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_auto (Tiny) t = { 0 };
    tiny_init (&t, NULL);
    t.weight->dims[1] = bad[i];
    expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_INVALID), "conv_w", NULL);
  }
}

/* kernel_shape with 10^5 entries. */
static void
test_enormous_attribute (void)
{
  GString *attrs = g_string_new ("kernel_shape=[2");
  for (int i = 1; i < 100000; i++)
    g_string_append (attrs, ",2");
  g_string_append (attrs, "]");
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, attrs->str);
  g_string_free (attrs, TRUE);
  expect_tiny_rejected (&t, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED) | CODE (DD_ERROR_INVALID),
                        "kernel_shape", NULL);
}

/* A chain of depth ReLUs after the tiny model. */
static GBytes *
deep_model (int depth)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  for (int i = 0; i < depth; i++) {
    g_autofree char *name = g_strdup_printf ("deep%d", i);
    g_autofree char *in = i ? g_strdup_printf ("deep%d_out", i - 1) : g_strdup ("act_out");
    g_autofree char *out = g_strdup_printf ("deep%d_out", i);
    tu_model_add_node (t.model, "Relu", name, in, out, NULL);
  }
  return tu_model_pack (t.model);
}

/* 5000 ReLUs in a chain load, plan and run (nothing recurses); 50000 are
 * refused at once, before planning would take quadratic time. */
static void
test_deep_graph (void)
{
  g_autoptr (GBytes) deep = deep_model (5000);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = load_bytes (deep, &error);
  g_assert_no_error (error);
  if (model == NULL)
    return;
  const char *targets[] = { "deep4999_out" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, 3, 3, targets, 1, 0, &error);
  g_assert_no_error (error);
  if (plan == NULL)
    return;
  /* ReLUs after the tiny model's ReLU change nothing. */
  memcpy (dd_plan_get_input (plan), tiny_x, sizeof tiny_x);
  dd_plan_forward (plan);
  assert_floats (dd_plan_get_target (plan, 0, NULL), tiny_y, G_N_ELEMENTS (tiny_y));

  g_autoptr (GBytes) deeper = deep_model (50000);
  expect_rejected (deeper, AT_LOAD, CODE (DD_ERROR_UNSUPPORTED), "50002 nodes", NULL);
}

/* ---- The good path --------------------------------------------------------- */

static DdModel *
load_tiny (void)
{
  g_auto (Tiny) t = { 0 };
  tiny_init (&t, NULL);
  g_autoptr (GBytes) bytes = tu_model_pack (t.model);
  g_autoptr (GError) error = NULL;
  DdModel *model = load_bytes (bytes, &error);
  g_assert_no_error (error);
  return model;
}

static void
test_conv_relu (void)
{
  /* With dL/dy = y, each active output sends y * weight to its window. */
  static const float gx[] = { 2.5f, 6, 3.5f, 10, 22, 10, 5.5f, 14, 10.5f };

  g_autoptr (DdModel) model = load_tiny ();
  if (model == NULL)
    return;
  g_assert_cmpstr (dd_model_get_input_name (model), ==, "x");
  g_assert_cmpstr (dd_model_get_output_name (model), ==, "act_out");
  g_assert_cmpint (dd_model_get_input_channels (model), ==, 1);

  g_autoptr (GError) error = NULL;
  const char *targets[] = { "act_out" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, 3, 3, targets, 1, 0, &error);
  g_assert_no_error (error);
  if (plan == NULL)
    return;
  g_assert_cmpint (dd_plan_get_n_targets (plan), ==, 1);
  memcpy (dd_plan_get_input (plan), tiny_x, sizeof tiny_x);
  dd_plan_forward (plan);

  DdTensorInfo info;
  const float *out = dd_plan_get_target (plan, 0, &info);
  g_assert_cmpint (info.rank, ==, 4);
  g_assert_cmpint (info.dims[0] * info.dims[1] * info.dims[2] * info.dims[3], ==, 8);
  g_assert_cmpint (info.dims[1], ==, 2);
  assert_floats (out, tiny_y, G_N_ELEMENTS (tiny_y));

  memcpy (dd_plan_get_target_grad (plan, 0), out, sizeof tiny_y);
  dd_plan_backward (plan);
  assert_floats (dd_plan_get_input_grad (plan), gx, G_N_ELEMENTS (gx));
}

/* Concat(Sigmoid(x), Relu(x)) -> 1x1 Conv summing the two: the Concat's
 * inputs are stored in its output, and the Sigmoid's, which its backward
 * reads, must outlive the Conv (the Concat output's last reader) there. */
static void
test_concat_held_input (void)
{
  static const int64_t x_dims[] = { 1, 1, -1, -1 }, w_dims[] = { 1, 2, 1, 1 };
  static const float w[] = { 1, 1 };
  static const float x[] = { -2, -0.5f, 0, 0.25f, 1, 3 };
  g_autoptr (TuModel) tm = tu_model_new (11);
  tu_model_set_input (tm, "x", 4, x_dims);
  tu_model_add_initializer (tm, "w", 4, w_dims, w);
  tu_model_add_node (tm, "Sigmoid", "sig", "x", "a", NULL);
  tu_model_add_node (tm, "Relu", "relu", "x", "b", NULL);
  tu_model_add_node (tm, "Concat", "cat", "a,b", "c", "axis=1");
  tu_model_add_node (tm, "Conv", "sum", "c,w", "t", "kernel_shape=[1,1]");
  tu_model_add_output (tm, "t");
  g_autoptr (GBytes) bytes = tu_model_pack (tm);
  g_autoptr (GError) error = NULL;
  g_autoptr (DdModel) model = load_bytes (bytes, &error);
  g_assert_no_error (error);
  const char *targets[] = { "t" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, 3, 2, targets, 1, 0, &error);
  g_assert_no_error (error);
  memcpy (dd_plan_get_input (plan), x, sizeof x);
  dd_plan_forward (plan);
  const float *t = dd_plan_get_target (plan, 0, NULL);
  memcpy (dd_plan_get_target_grad (plan, 0), t, sizeof x);
  dd_plan_backward (plan);
  /* The gradient of 1/2 t^2, t = sigmoid(x) + relu(x). */
  float want[G_N_ELEMENTS (x)];
  for (gsize i = 0; i < G_N_ELEMENTS (x); i++) {
    const float a = 1 / (1 + expf (-x[i])), b = MAX (x[i], 0);
    want[i] = (a + b) * (a * (1 - a) + (x[i] > 0));
  }
  assert_floats (dd_plan_get_input_grad (plan), want, G_N_ELEMENTS (x));
}

static const DdTensorInfo *
find_tensor (GArray *tensors, const char *name)
{
  for (guint i = 0; i < tensors->len; i++) {
    const DdTensorInfo *t = &g_array_index (tensors, DdTensorInfo, i);
    if (g_strcmp0 (t->name, name) == 0)
      return t;
  }
  return NULL;
}

static void
assert_tensor (GArray *tensors, const char *name, const char *op_type, const int64_t dims[4])
{
  const DdTensorInfo *t = find_tensor (tensors, name);
  g_assert_nonnull (t);
  if (t == NULL)
    return;
  g_assert_cmpstr (t->op_type, ==, op_type);
  g_assert_cmpint (t->rank, ==, 4);
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (t->dims[i], ==, dims[i]);
}

static void
test_list_tensors (void)
{
  g_autoptr (DdModel) model = load_tiny ();
  if (model == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) tensors = dd_model_list_tensors (model, 7, 5, &error);
  g_assert_no_error (error);
  if (tensors == NULL)
    return;
  for (guint i = 0; i < tensors->len; i++) {
    const DdTensorInfo *t = &g_array_index (tensors, DdTensorInfo, i);
    g_test_message ("%s (%s) rank %d", t->name, t->op_type, t->rank);
  }
  const int64_t dims[4] = { 1, 2, 4, 6 };
  assert_tensor (tensors, "conv_out", "Conv", dims);
  assert_tensor (tensors, "act_out", "Relu", dims);
  /* Weights are not activations. */
  g_assert_null (find_tensor (tensors, "conv_w"));
  g_assert_null (find_tensor (tensors, "conv_b"));
}

static void
test_unknown_target (void)
{
  g_autoptr (DdModel) model = load_tiny ();
  if (model == NULL)
    return;
  g_autoptr (GError) error = NULL;
  const char *targets[] = { "no_such_tensor" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, 3, 3, targets, 1, 0, &error);
  g_assert_null (plan);
  check_error (error, CODE (DD_ERROR_ARGUMENT) | CODE (DD_ERROR_INVALID), "no_such_tensor", NULL);
}

/* Sanitizers reserve terabytes of address space, so an address-space
 * limit cannot be set under them: their builds leave this test out. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HAVE_ADDRESS_LIMIT 1
#endif

#ifdef HAVE_ADDRESS_LIMIT
/* A plan the system has not the memory for is refused with an error that
 * says so: here 8000x8000 (over 1 GB) in a process held to 256 MB more
 * address space than it has. */
static void
test_plan_out_of_memory (void)
{
  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    g_test_trap_assert_stdout ("*not enough memory for the plan*");
    return;
  }
  g_autoptr (DdModel) model = load_tiny ();
  if (model == NULL)
    return;
  g_autofree char *statm = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  const rlim_t now = (rlim_t) g_ascii_strtoull (statm, NULL, 10) * (rlim_t) sysconf (_SC_PAGESIZE);
  const struct rlimit limit = { now + ((rlim_t) 256 << 20), now + ((rlim_t) 256 << 20) };
  g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
  g_autoptr (GError) error = NULL;
  const char *targets[] = { "act_out" };
  g_autoptr (DdPlan) plan = dd_plan_new (model, 8000, 8000, targets, 1, 0, &error);
  g_assert_null (plan);
  g_assert_error (error, DD_ERROR, DD_ERROR_MEMORY);
  if (error)
    g_print ("%s\n", error->message);
}
#endif

/* Values that would make every pixel NaN: non-finite weights and
 * attributes, a negative BatchNormalization variance; refused at load,
 * naming the weight or node. */
static void
test_non_finite_values (void)
{
  static const int64_t input_dims[] = { 1, 2, -1, -1 };
  static const int64_t weight_dims[] = { 2, 2, 1, 1 };
  static const int64_t channel_dims[] = { 2 };
  const float ones[] = { 1, 1 }, zeros[] = { 0, 0 };
  const float spoiled[][4] = { { 1, NAN, 0, 1 }, { 1, 0, INFINITY, 1 }, { -INFINITY, 0, 0, 1 } };
  for (gsize i = 0; i < G_N_ELEMENTS (spoiled); i++) {
    g_autoptr (TuModel) m = tu_model_new (11);
    tu_model_set_input (m, "x", 4, input_dims);
    tu_model_add_initializer (m, "mix_w", 4, weight_dims, spoiled[i]);
    tu_model_add_node (m, "Conv", "mix", "x,mix_w", "y", "kernel_shape=[1,1]");
    tu_model_add_output (m, "y");
    g_autoptr (GBytes) bytes = tu_model_pack (m);
    expect_rejected (bytes, AT_LOAD, CODE (DD_ERROR_INVALID), "weight 'mix_w' holds", NULL);
  }

  g_autoptr (TuModel) lrn = tu_model_new (11);
  tu_model_set_input (lrn, "x", 4, input_dims);
  tu_model_add_node (lrn, "LRN", "norm1", "x", "y", "size=3 alpha=1e39 beta=0.75 bias=1.0");
  tu_model_add_output (lrn, "y");
  g_autoptr (GBytes) lrn_bytes = tu_model_pack (lrn);
  expect_rejected (lrn_bytes, AT_LOAD, CODE (DD_ERROR_INVALID),
                   "node 'norm1' (LRN): attribute alpha", NULL);

  const float variance[] = { 1, -2 };
  g_autoptr (TuModel) bn = tu_model_new (11);
  tu_model_set_input (bn, "x", 4, input_dims);
  tu_model_add_initializer (bn, "s", 1, channel_dims, ones);
  tu_model_add_initializer (bn, "b", 1, channel_dims, zeros);
  tu_model_add_initializer (bn, "mean", 1, channel_dims, zeros);
  tu_model_add_initializer (bn, "var", 1, channel_dims, variance);
  tu_model_add_node (bn, "BatchNormalization", "bn1", "x,s,b,mean,var", "y", NULL);
  tu_model_add_output (bn, "y");
  g_autoptr (GBytes) bn_bytes = tu_model_pack (bn);
  expect_rejected (bn_bytes, AT_LOAD, CODE (DD_ERROR_INVALID),
                   "node 'bn1' (BatchNormalization): the variance of channel 1 is -2", NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failed check fails its test case and moves on, so one run counts them all. */
  g_test_set_nonfatal_assertions ();

  g_test_add_func ("/loader/empty", test_empty);
  g_test_add_func ("/loader/random-bytes", test_random_bytes);
  g_test_add_func ("/loader/truncated", test_truncated);
  g_test_add_func ("/loader/truncated-file", test_truncated_file);
  g_test_add_func ("/loader/no-file", test_no_file);
  g_test_add_func ("/loader/unknown-op", test_unknown_op);
  g_test_add_func ("/loader/missing-initializer", test_missing_initializer);
  g_test_add_func ("/loader/undefined-input", test_undefined_input);
  g_test_add_func ("/loader/external-data", test_external_data);
  g_test_add_func ("/loader/double-weight", test_double_weight);
  g_test_add_func ("/loader/int8-weight", test_int8_weight);
  g_test_add_func ("/loader/cycle", test_cycle);
  g_test_add_func ("/loader/auto-pad", test_auto_pad);
  g_test_add_func ("/loader/max-pool-window", test_max_pool_window);
  g_test_add_func ("/loader/fuzz/empty-string-attribute", test_empty_string_attribute);
  g_test_add_func ("/loader/fuzz/huge-shape", test_huge_shape);
  g_test_add_func ("/loader/fuzz/missing-first-input", test_missing_first_input);
  g_test_add_func ("/loader/hostile/billion-channels", test_billion_channels);
  g_test_add_func ("/loader/hostile/zero-and-negative-dims", test_zero_and_negative_dims);
  g_test_add_func ("/loader/hostile/enormous-attribute", test_enormous_attribute);
  g_test_add_func ("/loader/hostile/deep-graph", test_deep_graph);
  g_test_add_func ("/loader/hostile/non-finite-values", test_non_finite_values);
  g_test_add_func ("/loader/conv-relu", test_conv_relu);
  g_test_add_func ("/loader/concat-held-input", test_concat_held_input);
  g_test_add_func ("/loader/list-tensors", test_list_tensors);
  g_test_add_func ("/loader/unknown-target", test_unknown_target);
#ifdef HAVE_ADDRESS_LIMIT
  g_test_add_func ("/loader/plan-out-of-memory", test_plan_out_of_memory);
#endif
  return g_test_run ();
}
