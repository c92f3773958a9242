/* graph.c: a model's graph, built from the nodes any loader describes.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loaders turn their file format into DdNodeSpecs (op, inputs, outputs,
 * attributes); everything after that is the same for every format: wiring
 * by tensor name, topological order, each op's setup through the
 * dd_node_* accessors below, and folding views of constants. The ops and
 * the planner never see a file format.
 */
#include "dd-model.h"

#include <string.h>

/* What an op's setup sees of a node. */
struct _DdNodeDesc {
  const DdNodeSpec *spec;
  DdModel *model;
  DdNode *node;
  int n_data_inputs;
  guint require_const;
};

/* ---- Attribute access for the ops' setup ------------------------------------ */

static const DdAttr *
find_attr (const DdNodeDesc *n, const char *name)
{
  for (int i = 0; i < n->spec->n_attrs; i++)
    if (g_strcmp0 (n->spec->attrs[i].name, name) == 0)
      return &n->spec->attrs[i];
  return NULL;
}

static gboolean
attr_type_error (const DdNodeDesc *n, const char *name, const char *want, GError **error)
{
  return dd_fail (error, DD_ERROR_INVALID, "node '%s': attribute %s should be %s", dd_node_name (n),
                  name, want);
}

gboolean
dd_node_attr_int (const DdNodeDesc *n, const char *name, int64_t def, int64_t *out, GError **error)
{
  const DdAttr *a = find_attr (n, name);
  *out = def;
  if (!a)
    return TRUE;
  if (a->type != DD_ATTR_INT)
    return attr_type_error (n, name, "an integer", error);
  *out = a->i;
  return TRUE;
}

gboolean
dd_node_attr_float (const DdNodeDesc *n, const char *name, float def, float *out, GError **error)
{
  const DdAttr *a = find_attr (n, name);
  *out = def;
  if (!a)
    return TRUE;
  if (a->type != DD_ATTR_FLOAT)
    return attr_type_error (n, name, "a float", error);
  *out = a->f;
  return TRUE;
}

gboolean
dd_node_attr_ints (const DdNodeDesc *n, const char *name, int64_t *out, int max, int *count,
                   GError **error)
{
  const DdAttr *a = find_attr (n, name);
  *count = 0;
  if (!a)
    return TRUE;
  if (a->type != DD_ATTR_INTS)
    return attr_type_error (n, name, "a list of integers", error);
  if (a->n_ints > (gsize) max)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "node '%s': attribute %s has %zu values, at most %d "
                    "are supported",
                    dd_node_name (n), name, a->n_ints, max);
  if (a->n_ints)
    memcpy (out, a->ints, a->n_ints * sizeof *out);
  *count = (int) a->n_ints;
  return TRUE;
}

gboolean
dd_node_attr_string (const DdNodeDesc *n, const char *name, const char **out)
{
  const DdAttr *a = find_attr (n, name);
  if (!a || a->type != DD_ATTR_STRING)
    return FALSE;
  *out = a->s;
  return TRUE;
}

int
dd_node_n_inputs (const DdNodeDesc *n)
{
  return n->spec->n_inputs;
}

gboolean
dd_node_has_input (const DdNodeDesc *n, int i)
{
  return i < n->spec->n_inputs && n->node->in[i] >= 0;
}

int
dd_node_opset (const DdNodeDesc *n)
{
  return n->model->opset;
}

const char *
dd_node_name (const DdNodeDesc *n)
{
  return n->node->name;
}

static const DdValue *
const_input (const DdNodeDesc *n, int i)
{
  if (!dd_node_has_input (n, i))
    return NULL;
  const DdValue *v = &n->model->values[n->node->in[i]];
  return v->is_const ? v : NULL;
}

gboolean
dd_node_const_floats (const DdNodeDesc *n, int i, const float **data, int64_t *count)
{
  const DdValue *v = const_input (n, i);
  if (!v || !v->floats)
    return FALSE;
  *data = v->floats;
  *count = dd_shape_numel (&v->shape);
  return TRUE;
}

gboolean
dd_node_const_ints (const DdNodeDesc *n, int i, const int64_t **data, int64_t *count)
{
  const DdValue *v = const_input (n, i);
  if (!v || !v->ints)
    return FALSE;
  *data = v->ints;
  *count = dd_shape_numel (&v->shape);
  return TRUE;
}

gboolean
dd_node_const_shape (const DdNodeDesc *n, int i, DdShape *shape)
{
  const DdValue *v = const_input (n, i);
  if (!v)
    return FALSE;
  *shape = v->shape;
  return TRUE;
}

void
dd_node_set_data_inputs (DdNodeDesc *n, int count)
{
  n->n_data_inputs = count;
}

void
dd_node_require_const (DdNodeDesc *n, int i)
{
  n->require_const |= 1u << i;
}

/* ---- Values ------------------------------------------------------------------ */

int
dd_model_add_value (DdModel *m, const char *name, GError **error)
{
  if (dd_model_find (m, name) >= 0) {
    dd_fail (error, DD_ERROR_INVALID, "tensor '%s' is defined twice", name);
    return -1;
  }
  int id = m->n_values++;
  m->values = g_renew (DdValue, m->values, (guint) m->n_values);
  m->values[id] = (DdValue){ .name = g_strdup (name), .producer = -1 };
  g_hash_table_insert (m->by_name, m->values[id].name, GINT_TO_POINTER (id + 1));
  return id;
}

/* ---- Nodes ------------------------------------------------------------------- */

/* Creates a node and its output values; inputs are resolved later, once
 * every tensor is known, so that node order in the file does not matter. */
static gboolean
declare_node (DdModel *m, const DdNodeSpec *spec, GError **error)
{
  const DdOpClass *klass = dd_op_lookup (spec->op);
  if (!klass)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "unsupported op '%s' (node '%s')", spec->op,
                    spec->name);
  if (spec->n_outputs < 1 || !spec->outputs[0] || !*spec->outputs[0])
    return dd_fail (error, DD_ERROR_INVALID, "node '%s' has no output", spec->name);
  if (spec->n_inputs < klass->min_inputs || spec->n_inputs > klass->max_inputs)
    return dd_fail (error, DD_ERROR_INVALID, "node '%s' (%s) has %d inputs; %d to %d expected",
                    spec->name, spec->op, spec->n_inputs, klass->min_inputs, klass->max_inputs);

  int nid = m->n_nodes++;
  m->nodes = g_renew (DdNode, m->nodes, (guint) m->n_nodes);
  DdNode *node = &m->nodes[nid];
  *node = (DdNode){ .klass = klass, .name = g_strdup (spec->name), .out = -1 };
  for (int i = 0; i < spec->n_outputs; i++) {
    if (!spec->outputs[i] || !*spec->outputs[i])
      continue;
    int id = dd_model_add_value (m, spec->outputs[i], error);
    if (id < 0)
      return FALSE;
    m->values[id].producer = nid;
    /* Secondary outputs (Dropout's mask, MaxPool's indices) are not computed. */
    m->values[id].unusable = i > 0;
    if (i == 0)
      node->out = id;
  }
  return TRUE;
}

static gboolean
resolve_inputs (DdModel *m, const DdNodeSpec *spec, DdNode *node, GError **error)
{
  for (int i = 0; i < spec->n_inputs; i++) {
    const char *in = spec->inputs[i];
    if (!in || !*in) {
      node->in[i] = -1;
      continue;
    }
    int id = dd_model_find (m, in);
    if (id < 0)
      return dd_fail (error, DD_ERROR_INVALID,
                      "tensor '%s' (input %d of node '%s') is missing: no "
                      "initializer, input or node makes it",
                      in, i, node->name);
    if (m->values[id].unusable)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' reads '%s', a secondary output that "
                      "is not supported",
                      node->name, in);
    node->in[i] = id;
  }
  node->n_in = spec->n_inputs;
  return TRUE;
}

static gboolean
setup_node (DdModel *m, const DdNodeSpec *spec, DdNode *node, GError **error)
{
  DdNodeDesc desc = { .spec = spec, .model = m, .node = node, .n_data_inputs = spec->n_inputs };

  /* Inputs past min_inputs are optional; the first ones never are. */
  for (int i = 0; i < node->klass->min_inputs; i++)
    if (node->in[i] < 0)
      return dd_fail (error, DD_ERROR_INVALID, "node '%s' (%s): input %d is missing", node->name,
                      node->klass->onnx_name, i);
  if (node->klass->setup && !node->klass->setup (&node->a, &desc, error))
    return FALSE;
  node->n_in = desc.n_data_inputs;
  for (int i = 0; i < node->n_in; i++)
    if ((desc.require_const >> i & 1) && node->in[i] >= 0 && !m->values[node->in[i]].is_const)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' (%s): input '%s' must be a constant "
                      "(weights computed by the graph are not supported)",
                      node->name, node->klass->onnx_name, spec->inputs[i]);
  for (int i = 0; i < node->n_in; i++)
    if (node->in[i] >= 0 && m->values[node->in[i]].ints && !m->values[node->in[i]].floats)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' (%s): input '%s' is an int64 tensor "
                      "where float data is needed",
                      node->name, node->klass->onnx_name, spec->inputs[i]);
  return TRUE;
}

/* Kahn's algorithm over the declared nodes; reorders m->nodes (and the
 * matching specs) topologically, or names a node on a cycle. */
static gboolean
sort_nodes (DdModel *m, DdNodeSpec *specs, GError **error)
{
  int n = m->n_nodes;
  g_autofree int *pending = g_new0 (int, (guint) n);
  g_autofree int *order = g_new (int, (guint) n);
  int head = 0, tail = 0;

  for (int i = 0; i < n; i++) {
    for (int k = 0; k < m->nodes[i].n_in; k++)
      if (m->nodes[i].in[k] >= 0 && m->values[m->nodes[i].in[k]].producer >= 0)
        pending[i]++;
    if (pending[i] == 0)
      order[tail++] = i;
  }
  while (head < tail) {
    int done = order[head++];
    for (int i = 0; i < n; i++)
      for (int k = 0; k < m->nodes[i].n_in; k++)
        if (m->nodes[i].in[k] >= 0 && m->values[m->nodes[i].in[k]].producer == done &&
            --pending[i] == 0)
          order[tail++] = i;
  }
  if (tail < n) {
    for (int i = 0; i < n; i++)
      if (pending[i] > 0)
        return dd_fail (error, DD_ERROR_INVALID, "the graph has a cycle through node '%s'",
                        m->nodes[i].name);
  }

  g_autofree DdNode *sorted = g_new (DdNode, (guint) n);
  g_autofree DdNodeSpec *sorted_specs = g_new (DdNodeSpec, (guint) n);
  g_autofree int *new_index = g_new (int, (guint) n);
  for (int i = 0; i < n; i++) {
    sorted[i] = m->nodes[order[i]];
    sorted_specs[i] = specs[order[i]];
    new_index[order[i]] = i;
  }
  memcpy (m->nodes, sorted, n * sizeof *sorted);
  memcpy (specs, sorted_specs, n * sizeof *specs);
  for (int v = 0; v < m->n_values; v++)
    if (m->values[v].producer >= 0)
      m->values[v].producer = new_index[m->values[v].producer];
  return TRUE;
}

/* Exporters write Identity(initializer) for shared weights, and Reshape of
 * constants: such a view is a constant itself, so that ops that need
 * constant weights see one. */
static gboolean
fold_constant_view (DdModel *m, int index, GError **error)
{
  DdNode *node = &m->nodes[index];
  if (!node->klass->view || !m->values[node->in[0]].is_const)
    return TRUE;
  const DdValue *src = &m->values[node->in[0]];
  DdValue *out = &m->values[node->out];
  GError *local = NULL;
  if (!node->klass->infer (&node->a, 1, &src->shape, &out->shape, &local)) {
    dd_fail (error, DD_ERROR_INVALID, "node '%s' (%s): %s", node->name, node->klass->onnx_name,
             local->message);
    g_error_free (local);
    return FALSE;
  }
  gsize n = MAX (dd_shape_numel (&src->shape), 1);
  out->floats = src->floats ? g_memdup2 (src->floats, n * sizeof (float)) : NULL;
  out->ints = src->ints ? g_memdup2 (src->ints, n * sizeof (int64_t)) : NULL;
  out->is_const = TRUE;
  out->producer = -1;
  node->out = -1;
  return TRUE;
}

static void
drop_folded_nodes (DdModel *m)
{
  int kept = 0;
  for (int i = 0; i < m->n_nodes; i++) {
    if (m->nodes[i].out < 0) {
      g_free (m->nodes[i].name);
      continue;
    }
    m->nodes[kept] = m->nodes[i];
    m->values[m->nodes[kept].out].producer = kept;
    kept++;
  }
  m->n_nodes = kept;
}

gboolean
dd_model_add_nodes (DdModel *m, DdNodeSpec *specs, int n, GError **error)
{
  g_return_val_if_fail (m->n_nodes == 0, FALSE);
  for (int i = 0; i < n; i++)
    if (!declare_node (m, &specs[i], error))
      return FALSE;
  for (int i = 0; i < m->n_nodes; i++)
    if (!resolve_inputs (m, &specs[i], &m->nodes[i], error))
      return FALSE;
  if (!sort_nodes (m, specs, error))
    return FALSE;
  /* Setup in order: a node may read constants its predecessors folded. */
  for (int i = 0; i < m->n_nodes; i++)
    if (!setup_node (m, &specs[i], &m->nodes[i], error) || !fold_constant_view (m, i, error))
      return FALSE;
  drop_folded_nodes (m);
  return TRUE;
}

gboolean
dd_model_set_output (DdModel *m, const char *name, GError **error)
{
  m->output = dd_model_find (m, name);
  if (m->output < 0 || m->values[m->output].producer < 0)
    return dd_fail (error, DD_ERROR_INVALID, "graph output '%s' is not made by any node", name);
  return TRUE;
}
