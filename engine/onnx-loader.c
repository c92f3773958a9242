/* onnx-loader.c: ONNX protobuf to DdModel.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The protobuf is unpacked by protobuf-c code generated from onnx.proto at
 * build time. Everything is checked here, once: ops, attributes, constant
 * types and the graph's wiring, so planning and running never meet an
 * unknown.
 */
#include "dd-model.h"

#include <inttypes.h>
#include <string.h>

#include "onnx.pb-c.h"

/* ONNX TensorProto.DataType values we read. */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };

/* The largest constant we accept, in elements (4 GiB of floats). */
#define MAX_CONST_ELEMENTS (INT64_C (1) << 30)
/* Real CNNs have hundreds of nodes (GoogLeNet 142 after folding, ResNet-152
 * about 500); planning is quadratic in the node count. */
#define MAX_NODES 10000

struct _DdNodeDesc {
  const Onnx__NodeProto *proto;
  DdModel *model;
  DdNode *node;
  int n_data_inputs;
  guint require_const;
};

static const char *const data_type_names[] = {
  "UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",   "INT16",
  "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16",  "DOUBLE",
  "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
};

static const char *
data_type_name (int32_t t)
{
  return t >= 0 && t < (int32_t) G_N_ELEMENTS (data_type_names) ? data_type_names[t] : "unknown";
}

/* ---- Attribute access for the ops' setup ------------------------------------ */

static const Onnx__AttributeProto *
find_attr (const DdNodeDesc *n, const char *name)
{
  for (size_t i = 0; i < n->proto->n_attribute; i++)
    if (g_strcmp0 (n->proto->attribute[i]->name, name) == 0)
      return n->proto->attribute[i];
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
  const Onnx__AttributeProto *a = find_attr (n, name);
  *out = def;
  if (!a)
    return TRUE;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
    return attr_type_error (n, name, "an integer", error);
  *out = a->i;
  return TRUE;
}

gboolean
dd_node_attr_float (const DdNodeDesc *n, const char *name, float def, float *out, GError **error)
{
  const Onnx__AttributeProto *a = find_attr (n, name);
  *out = def;
  if (!a)
    return TRUE;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
    return attr_type_error (n, name, "a float", error);
  *out = a->f;
  return TRUE;
}

gboolean
dd_node_attr_ints (const DdNodeDesc *n, const char *name, int64_t *out, int max, int *count,
                   GError **error)
{
  const Onnx__AttributeProto *a = find_attr (n, name);
  *count = 0;
  if (!a)
    return TRUE;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
    return attr_type_error (n, name, "a list of integers", error);
  if (a->n_ints > (size_t) max)
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
  const Onnx__AttributeProto *a = find_attr (n, name);
  if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
    return FALSE;
  /* Strings are bytes in protobuf; ours are short ASCII enums ("NOTSET"). */
  g_autofree char *s = a->s.len ? g_strndup ((const char *) a->s.data, a->s.len) : g_strdup ("");
  *out = g_intern_string (s);
  return TRUE;
}

int
dd_node_n_inputs (const DdNodeDesc *n)
{
  return (int) n->proto->n_input;
}

gboolean
dd_node_has_input (const DdNodeDesc *n, int i)
{
  return i < (int) n->proto->n_input && n->node->in[i] >= 0;
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

static int
add_value (DdModel *m, const char *name, GError **error)
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

static gboolean
read_dims (const Onnx__TensorProto *t, const char *what, DdShape *shape, GError **error)
{
  if (t->n_dims > DD_MAX_RANK)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "%s '%s' has rank %zu; at most %d is supported",
                    what, t->name ? t->name : "", t->n_dims, DD_MAX_RANK);
  shape->rank = (int) t->n_dims;
  int64_t numel = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0)
      return dd_fail (error, DD_ERROR_INVALID, "%s '%s' has a negative dimension (%" PRId64 ")",
                      what, t->name ? t->name : "", t->dims[i]);
    if (t->dims[i] > 0 && numel > MAX_CONST_ELEMENTS / t->dims[i]) {
      g_autoptr (GString) dims = g_string_new (NULL);
      for (size_t k = 0; k < t->n_dims; k++)
        g_string_append_printf (dims, "%s%" PRId64, k ? "x" : "", t->dims[k]);
      return dd_fail (error, DD_ERROR_INVALID,
                      "%s '%s' is too large: its shape %s holds over 2^30 values", what,
                      t->name ? t->name : "", dims->str);
    }
    shape->d[i] = t->dims[i];
    numel *= t->dims[i];
  }
  return TRUE;
}

/* Moves a tensor's data out of the message instead of copying it:
 * protobuf-c unpacked it into a buffer of its own, from malloc (which
 * g_free frees, and which aligns it for any scalar), and free_unpacked
 * passes over the fields left NULL. For GoogLeNet that is a 28 MB copy
 * fewer, and the fresh pages it would have taken: a load went from
 * 165-217 ms to 84-116 ms on this project's virtual machine. */
static void *
take_data (Onnx__TensorProto *t)
{
  void *data;
  if (t->has_raw_data) {
    data = t->raw_data.data;
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
  } else if (t->data_type == ONNX_FLOAT) {
    data = t->float_data;
    t->float_data = NULL;
    t->n_float_data = 0;
  } else {
    data = t->int64_data;
    t->int64_data = NULL;
    t->n_int64_data = 0;
  }
  return data;
}

/* Reads a TensorProto's shape and data into v (floats or int64s). */
static gboolean
read_tensor (Onnx__TensorProto *t, const char *what, DdValue *v, GError **error)
{
  const char *name = v->name;
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "%s '%s' uses external data (a separate weights file); save the model with its "
                    "weights inside the .onnx file",
                    what, name);
  if (!read_dims (t, what, &v->shape, error))
    return FALSE;
  int64_t n = dd_shape_numel (&v->shape);
  gsize width = t->data_type == ONNX_FLOAT ? 4 : 8;

  if (t->data_type != ONNX_FLOAT && t->data_type != ONNX_INT64)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "%s '%s' has data type %s; only float32 (and int64 shapes) are supported", what,
                    name, data_type_name (t->data_type));
  if (t->has_raw_data) {
    if (t->raw_data.len != (gsize) n * width)
      return dd_fail (error, DD_ERROR_INVALID,
                      "%s '%s': raw data holds %zu bytes, its shape needs %" PRId64, what, name,
                      t->raw_data.len, n * (int64_t) width);
  } else {
    size_t have = t->data_type == ONNX_FLOAT ? t->n_float_data : t->n_int64_data;
    if (have != (size_t) n)
      return dd_fail (error, DD_ERROR_INVALID, "%s '%s' holds %zu values, its shape needs %" PRId64,
                      what, name, have, n);
  }
  /* Host order is little-endian on every platform we build for, as in ONNX.
   * An empty tensor may have no data pointer at all. */
  void *data = n > 0 ? take_data (t) : g_malloc0 (width);
  if (t->data_type == ONNX_FLOAT)
    v->floats = data;
  else
    v->ints = data;
  v->is_const = TRUE;
  return TRUE;
}

static gboolean
read_initializers (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  for (size_t i = 0; i < g->n_initializer; i++) {
    Onnx__TensorProto *t = g->initializer[i];
    if (!t->name || !*t->name)
      return dd_fail (error, DD_ERROR_INVALID, "initializer %zu has no name", i);
    int id = add_value (m, t->name, error);
    if (id < 0 || !read_tensor (t, "initializer", &m->values[id], error))
      return FALSE;
  }
  return TRUE;
}

/* The image input: the one graph input that is not an initializer. */
static gboolean
read_input (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (!vi->name || dd_model_find (m, vi->name) >= 0)
      continue;
    if (m->input >= 0)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "the model has several inputs ('%s', '%s'); only single-image models are "
                      "supported",
                      m->values[m->input].name, vi->name);
    const Onnx__TypeProto *type = vi->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
      return dd_fail (error, DD_ERROR_UNSUPPORTED, "input '%s' is not a tensor", vi->name);
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    if (tt->has_elem_type && tt->elem_type != ONNX_FLOAT)
      return dd_fail (error, DD_ERROR_UNSUPPORTED, "input '%s' has data type %s; float32 is needed",
                      vi->name, data_type_name (tt->elem_type));
    if (!tt->shape || tt->shape->n_dim != 4)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "input '%s' must be an image tensor N x C x H x W", vi->name);
    int id = add_value (m, vi->name, error);
    if (id < 0)
      return FALSE;
    DdShape *s = &m->values[id].shape;
    s->rank = 4;
    for (int d = 0; d < 4; d++) {
      const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
      gboolean known = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      s->d[d] = known && dim->dim_value > 0 ? dim->dim_value : -1;
    }
    if (s->d[1] < 1 || s->d[1] > 64)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "input '%s' needs a fixed channel count (has %s)", vi->name,
                      s->d[1] < 1 ? "none" : "too many");
    if (s->d[0] > 1)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "input '%s' has a fixed batch of %" PRId64 "; batch 1 is needed", vi->name,
                      s->d[0]);
    m->input = id;
  }
  if (m->input < 0)
    return dd_fail (error, DD_ERROR_INVALID, "the graph has no image input");
  return TRUE;
}

/* ---- Nodes ------------------------------------------------------------------- */

/* A Constant node becomes a constant value, like an initializer. */
static gboolean
read_constant_node (DdModel *m, const Onnx__NodeProto *p, const char *name, GError **error)
{
  const Onnx__AttributeProto *value = NULL;
  for (size_t i = 0; i < p->n_attribute; i++)
    if (g_strcmp0 (p->attribute[i]->name, "value") == 0)
      value = p->attribute[i];
  if (p->n_output != 1 || !value || !value->t)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "Constant node '%s': only the tensor 'value' form is supported", name);
  int id = add_value (m, p->output[0], error);
  return id >= 0 && read_tensor (value->t, "constant", &m->values[id], error);
}

/* Creates a node and its output values; inputs are resolved later, once
 * every tensor is known, so that node order in the file does not matter. */
static gboolean
declare_node (DdModel *m, const Onnx__NodeProto *p, int index, GError **error)
{
  g_autofree char *name = p->name && *p->name ? g_strdup (p->name) : g_strdup_printf ("#%d", index);
  const char *op_type = p->op_type ? p->op_type : "";

  if (p->domain && *p->domain && strcmp (p->domain, "ai.onnx") != 0)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "node '%s' uses op '%s' from domain '%s', which is "
                    "not supported",
                    name, op_type, p->domain);
  if (strcmp (op_type, "Constant") == 0)
    return read_constant_node (m, p, name, error);
  const DdOpClass *klass = dd_op_lookup (op_type);
  if (!klass)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "unsupported op '%s' (node '%s')", op_type, name);
  if (p->n_output < 1 || !p->output[0] || !*p->output[0])
    return dd_fail (error, DD_ERROR_INVALID, "node '%s' has no output", name);
  if ((int) p->n_input < klass->min_inputs || (int) p->n_input > klass->max_inputs)
    return dd_fail (error, DD_ERROR_INVALID, "node '%s' (%s) has %zu inputs; %d to %d expected",
                    name, op_type, p->n_input, klass->min_inputs, klass->max_inputs);

  int nid = m->n_nodes++;
  m->nodes = g_renew (DdNode, m->nodes, (guint) m->n_nodes);
  DdNode *node = &m->nodes[nid];
  *node = (DdNode){ .klass = klass, .name = g_steal_pointer (&name), .out = -1 };
  for (size_t i = 0; i < p->n_output; i++) {
    if (!p->output[i] || !*p->output[i])
      continue;
    int id = add_value (m, p->output[i], error);
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
resolve_inputs (DdModel *m, const Onnx__NodeProto *p, DdNode *node, GError **error)
{
  for (size_t i = 0; i < p->n_input; i++) {
    const char *in = p->input[i];
    if (!in || !*in) {
      node->in[i] = -1;
      continue;
    }
    int id = dd_model_find (m, in);
    if (id < 0)
      return dd_fail (error, DD_ERROR_INVALID,
                      "tensor '%s' (input %zu of node '%s') is missing: no "
                      "initializer, input or node makes it",
                      in, i, node->name);
    if (m->values[id].unusable)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' reads '%s', a secondary output that "
                      "is not supported",
                      node->name, in);
    node->in[i] = id;
  }
  node->n_in = (int) p->n_input;
  return TRUE;
}

static gboolean
setup_node (DdModel *m, const Onnx__NodeProto *p, DdNode *node, GError **error)
{
  DdNodeDesc desc = { .proto = p, .model = m, .node = node, .n_data_inputs = (int) p->n_input };

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
                      node->name, node->klass->onnx_name, p->input[i]);
  for (int i = 0; i < node->n_in; i++)
    if (node->in[i] >= 0 && m->values[node->in[i]].ints && !m->values[node->in[i]].floats)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' (%s): input '%s' is an int64 tensor "
                      "where float data is needed",
                      node->name, node->klass->onnx_name, p->input[i]);
  return TRUE;
}

/* Kahn's algorithm over the declared nodes; reorders m->nodes (and the
 * matching protos) topologically, or names a node on a cycle. */
static gboolean
sort_nodes (DdModel *m, const Onnx__NodeProto **protos, GError **error)
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
  g_autofree const Onnx__NodeProto **sorted_protos = g_new (const Onnx__NodeProto *, (guint) n);
  g_autofree int *new_index = g_new (int, (guint) n);
  for (int i = 0; i < n; i++) {
    sorted[i] = m->nodes[order[i]];
    sorted_protos[i] = protos[order[i]];
    new_index[order[i]] = i;
  }
  memcpy (m->nodes, sorted, n * sizeof *sorted);
  memcpy (protos, sorted_protos, n * sizeof *protos);
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

static gboolean
read_nodes (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  if (g->n_node > MAX_NODES)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "the graph has %zu nodes; at most %d are supported", g->n_node, MAX_NODES);
  g_autofree const Onnx__NodeProto **protos = g_new0 (const Onnx__NodeProto *, g->n_node + 1);

  for (size_t i = 0; i < g->n_node; i++) {
    int before = m->n_nodes;
    if (!declare_node (m, g->node[i], (int) i, error))
      return FALSE;
    if (m->n_nodes > before)
      protos[before] = g->node[i];
  }
  for (int i = 0; i < m->n_nodes; i++)
    if (!resolve_inputs (m, protos[i], &m->nodes[i], error))
      return FALSE;
  if (!sort_nodes (m, protos, error))
    return FALSE;
  /* Setup in order: a node may read constants its predecessors folded. */
  for (int i = 0; i < m->n_nodes; i++)
    if (!setup_node (m, protos[i], &m->nodes[i], error) || !fold_constant_view (m, i, error))
      return FALSE;
  drop_folded_nodes (m);
  return TRUE;
}

static gboolean
read_output (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  if (g->n_output < 1 || !g->output[0]->name)
    return dd_fail (error, DD_ERROR_INVALID, "the graph has no output");
  m->output = dd_model_find (m, g->output[0]->name);
  if (m->output < 0 || m->values[m->output].producer < 0)
    return dd_fail (error, DD_ERROR_INVALID, "graph output '%s' is not made by any node",
                    g->output[0]->name);
  return TRUE;
}

static int
read_opset (const Onnx__ModelProto *p)
{
  for (size_t i = 0; i < p->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = p->opset_import[i];
    if (!o->domain || !*o->domain || strcmp (o->domain, "ai.onnx") == 0)
      return (int) o->version;
  }
  return 1;
}

DdModel *
dd_model_new_from_data (const guint8 *data, gsize size, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  Onnx__ModelProto *proto = size ? onnx__model_proto__unpack (NULL, size, data) : NULL;
  if (!proto || !proto->graph || proto->graph->n_node == 0) {
    if (proto)
      onnx__model_proto__free_unpacked (proto, NULL);
    dd_fail (error, DD_ERROR_PARSE, "not an ONNX model, or the file is truncated (%zu bytes)",
             size);
    return NULL;
  }

  DdModel *m = dd_model_alloc ();
  const Onnx__GraphProto *g = proto->graph;
  m->opset = read_opset (proto);
  m->doc = g_strdup (proto->doc_string ? proto->doc_string : "");
  gboolean ok = read_initializers (m, g, error) && read_input (m, g, error) &&
                read_nodes (m, g, error) && read_output (m, g, error) &&
                dd_model_check_values (m, error);
  onnx__model_proto__free_unpacked (proto, NULL);
  if (!ok) {
    dd_model_unref (m);
    return NULL;
  }
  return m;
}

DdModel *
dd_model_new_from_file (const char *path, GError **error)
{
  GError *local = NULL;
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, &local);
  if (!file) {
    dd_fail (error, DD_ERROR_IO, "cannot read model '%s': %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  DdModel *m = dd_model_new_from_data ((const guint8 *) g_mapped_file_get_contents (file),
                                       g_mapped_file_get_length (file), &local);
  if (!m) {
    g_set_error (error, DD_ERROR, local->code, "model '%s': %s", path, local->message);
    g_error_free (local);
  }
  return m;
}
