/* model.c: the loaded model: lifetime, look-ups and shape inference.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-model.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (dd - error - quark, dd_error)

/* No single activation may hold more floats than this (16 GiB). */
#define MAX_TENSOR_FLOATS (INT64_C (1) << 32)

DdModel *
dd_model_alloc (void)
{
  DdModel *m = g_new0 (DdModel, 1);
  m->ref_count = 1;
  m->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  m->input = m->output = -1;
  return m;
}

DdModel *
dd_model_ref (DdModel *model)
{
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
dd_model_unref (DdModel *model)
{
  if (!model || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  for (int i = 0; i < model->n_values; i++) {
    g_free (model->values[i].name);
    g_free (model->values[i].floats);
    g_free (model->values[i].ints);
  }
  for (int i = 0; i < model->n_nodes; i++) {
    g_free (model->nodes[i].name);
    if (model->nodes[i].a.winograd_weights)
      free (*model->nodes[i].a.winograd_weights); /* dd_alloc_huge */
    g_free (model->nodes[i].a.winograd_weights);
  }
  g_free (model->values);
  g_free (model->nodes);
  g_hash_table_destroy (model->by_name);
  g_free (model->doc);
  g_free (model);
}

static gboolean
check_attributes (const DdNode *node, GError **error)
{
  const struct {
    const char *name;
    float value;
  } floats[] = {
    { "alpha", node->a.alpha },     { "beta", node->a.beta }, { "bias", node->a.bias },
    { "min", node->a.min },         { "max", node->a.max },   { "epsilon", node->a.epsilon },
    { "value", node->a.pad_value },
  };
  /* Clip's bounds may be infinite: no bound. */
  for (gsize i = 0; i < G_N_ELEMENTS (floats); i++)
    if (isnan (floats[i].value) ||
        (!isfinite (floats[i].value) && strcmp (floats[i].name, "min") != 0 &&
         strcmp (floats[i].name, "max") != 0))
      return dd_fail (error, DD_ERROR_INVALID, "node '%s' (%s): attribute %s is %g", node->name,
                      node->klass->onnx_name, floats[i].name, floats[i].value);
  return TRUE;
}

/* BatchNormalization divides by sqrt(variance + epsilon). */
static gboolean
check_batch_norm (const DdModel *m, const DdNode *node, GError **error)
{
  const DdValue *var = &m->values[node->in[4]];
  if (!var->floats)
    return TRUE;
  for (int64_t c = 0; c < dd_shape_numel (&var->shape); c++)
    if (!(var->floats[c] + node->a.epsilon > 0))
      return dd_fail (error, DD_ERROR_INVALID,
                      "node '%s' (BatchNormalization): the variance of channel %" G_GINT64_FORMAT
                      " is %g, not above 0",
                      node->name, c, var->floats[c]);
  return TRUE;
}

gboolean
dd_model_check_values (const DdModel *m, GError **error)
{
  for (int i = 0; i < m->n_values; i++) {
    const DdValue *v = &m->values[i];
    if (!v->is_const || !v->floats)
      continue;
    const int64_t n = dd_shape_numel (&v->shape);
    int64_t bad = -1;
#pragma omp parallel for reduction(max : bad) schedule(static)
    for (int64_t k = 0; k < n; k++)
      if (!isfinite (v->floats[k]))
        bad = MAX (bad, k);
    if (bad >= 0)
      return dd_fail (error, DD_ERROR_INVALID,
                      "weight '%s' holds %g at index %" G_GINT64_FORMAT
                      ": a model's values must be finite",
                      v->name, v->floats[bad], bad);
  }
  for (int i = 0; i < m->n_nodes; i++) {
    const DdNode *node = &m->nodes[i];
    if (!check_attributes (node, error))
      return FALSE;
    if (strcmp (node->klass->onnx_name, "BatchNormalization") == 0 && node->n_in >= 5 &&
        !check_batch_norm (m, node, error))
      return FALSE;
  }
  return TRUE;
}

int
dd_model_find (DdModel *m, const char *name)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (m->by_name, name)) - 1;
}

const char *
dd_model_get_input_name (DdModel *model)
{
  return model->values[model->input].name;
}

const char *
dd_model_get_output_name (DdModel *model)
{
  return model->values[model->output].name;
}

int
dd_model_get_input_channels (DdModel *model)
{
  return (int) model->values[model->input].shape.d[1];
}

const char *
dd_model_get_doc (DdModel *model)
{
  return model->doc ? model->doc : "";
}

static gboolean
input_shape (DdModel *m, int height, int width, DdShape *out, GError **error)
{
  const DdValue *in = &m->values[m->input];
  const int64_t want[4] = { 1, in->shape.d[1], height, width };

  if (height < 1 || width < 1) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "input size %dx%d is empty", width, height);
    return FALSE;
  }
  /* A fixed height and width in the file are only the size the exporter
   * traced at (the model zoo's files say 224x224): convolutional layers take
   * any size, and a node that truly needs the traced size (a classifier's
   * Reshape) fails shape inference with its own message. */
  out->rank = 4;
  for (int i = 0; i < 4; i++)
    out->d[i] = want[i];
  return TRUE;
}

static gboolean
infer_node (const DdNode *node, DdShape *shapes, GError **error)
{
  DdShape in[DD_MAX_INPUTS] = { 0 };
  GError *local = NULL;
  char buf[96];

  for (int i = 0; i < node->n_in; i++)
    if (node->in[i] >= 0)
      in[i] = shapes[node->in[i]];
  if (!node->klass->infer (&node->a, node->n_in, in, &shapes[node->out], &local)) {
    g_set_error (error, DD_ERROR, DD_ERROR_INVALID, "node '%s' (%s): %s", node->name,
                 node->klass->onnx_name, local->message);
    g_error_free (local);
    return FALSE;
  }
  const DdShape *s = &shapes[node->out];
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] < 1) {
      g_set_error (error, DD_ERROR, DD_ERROR_INVALID,
                   "node '%s' (%s): output shape %s is empty (input too small?)", node->name,
                   node->klass->onnx_name, dd_shape_format (s, buf, sizeof buf));
      return FALSE;
    }
  if (dd_shape_numel (s) > MAX_TENSOR_FLOATS || dd_shape_numel (s) < 0) {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "node '%s' (%s): output shape %s is too large",
                 node->name, node->klass->onnx_name, dd_shape_format (s, buf, sizeof buf));
    return FALSE;
  }
  return TRUE;
}

/* Shapes known before any node runs: the constants' and the input's. */
static gboolean
start_shapes (DdModel *m, int height, int width, DdShape *shapes, GError **error)
{
  for (int v = 0; v < m->n_values; v++)
    shapes[v] = m->values[v].is_const ? m->values[v].shape : (DdShape){ 0 };
  return input_shape (m, height, width, &shapes[m->input], error);
}

gboolean
dd_model_infer_shapes (DdModel *m, int height, int width, const gboolean *keep, DdShape *shapes,
                       GError **error)
{
  if (!start_shapes (m, height, width, shapes, error))
    return FALSE;
  for (int i = 0; i < m->n_nodes; i++)
    if ((!keep || keep[i]) && !infer_node (&m->nodes[i], shapes, error))
      return FALSE;
  return TRUE;
}

gsize
dd_tensor_info_numel (const DdTensorInfo *info)
{
  gsize n = 1;
  for (int i = 0; i < info->rank; i++)
    n *= (gsize) info->dims[i];
  return n;
}

/* Whether every input of node has a shape (constants always do). */
static gboolean
inputs_known (const DdModel *m, const DdNode *node, const gboolean *known)
{
  for (int k = 0; k < node->n_in; k++)
    if (node->in[k] >= 0 && !m->values[node->in[k]].is_const && !known[node->in[k]])
      return FALSE;
  return TRUE;
}

GArray *
dd_model_list_tensors (DdModel *model, int width, int height, GError **error)
{
  g_autofree DdShape *shapes = g_new0 (DdShape, model->n_values);
  g_autofree gboolean *known = g_new0 (gboolean, model->n_values);
  g_autofree gboolean *from_input = g_new0 (gboolean, model->n_values);
  if (!start_shapes (model, height, width, shapes, error))
    return NULL;
  known[model->input] = from_input[model->input] = TRUE;

  /* Every tensor the image flows through whose shape this size allows: a
   * classifier that needs 224x224 is left out of a bigger image's list. */
  GArray *list = g_array_new (FALSE, TRUE, sizeof (DdTensorInfo));
  for (int i = 0; i < model->n_nodes; i++) {
    const DdNode *node = &model->nodes[i];
    for (int k = 0; k < node->n_in; k++)
      if (node->in[k] >= 0 && from_input[node->in[k]])
        from_input[node->out] = TRUE;
    if (!inputs_known (model, node, known) || !infer_node (node, shapes, NULL))
      continue;
    known[node->out] = TRUE;
    if (!from_input[node->out])
      continue;
    const DdShape *s = &shapes[node->out];
    DdTensorInfo info = { .name = model->values[node->out].name,
                          .op_type = node->klass->onnx_name,
                          .rank = s->rank };
    for (int d = 0; d < s->rank; d++)
      info.dims[d] = s->d[d];
    g_array_append_val (list, info);
  }
  return list;
}

int
dd_model_receptive_radius (DdModel *m, const char *const *targets, int n_targets, int *stride)
{
  /* Per value: the spacing of its pixels in input pixels, and how far from
   * a pixel's centre its inputs reach. */
  g_autofree double *jump = g_new0 (double, m->n_values);
  g_autofree double *radius = g_new0 (double, m->n_values);
  jump[m->input] = 1;
  for (int i = 0; i < m->n_nodes; i++) {
    const DdNode *node = &m->nodes[i];
    double j = 0, r = 0;
    for (int k = 0; k < node->n_in; k++)
      if (node->in[k] >= 0 && !m->values[node->in[k]].is_const) {
        j = MAX (j, jump[node->in[k]]);
        r = MAX (r, radius[node->in[k]]);
      }
    const DdOpClass *c = node->klass;
    if (c == &dd_op_conv || c == &dd_op_max_pool || c == &dd_op_average_pool) {
      const DdAttrs *a = &node->a;
      double reach = MAX ((a->kernel[0] - 1) * a->dilation[0], (a->kernel[1] - 1) * a->dilation[1]);
      r += reach / 2 * j;
      j *= MAX (a->stride[0], a->stride[1]);
    } else if (c == &dd_op_global_average_pool) {
      r = G_MAXINT / 4;
    }
    jump[node->out] = j;
    radius[node->out] = r;
  }
  double worst = 0, spacing = 1;
  for (int t = 0; t < n_targets; t++) {
    int v = dd_model_find (m, targets[t]);
    if (v >= 0) {
      worst = MAX (worst, radius[v]);
      spacing = MAX (spacing, jump[v]);
    }
  }
  *stride = (int) MIN (spacing, 1024);
  return (int) MIN (worst, G_MAXINT / 4);
}
