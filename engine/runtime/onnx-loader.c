/* onnx-loader.c: ONNX protobuf to DdModel.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The protobuf is unpacked by protobuf-c code generated from onnx.proto at
 * build time. Constants and the input are checked here, nodes become the
 * runtime's node descriptions, which graph.c wires and checks, so planning
 * and running never meet an unknown.
 */
#include "dd-model.h"

#include <inttypes.h>
#include <string.h>

#include "onnx.pb-c.h"

/* ONNX TensorProto.DataType values we read. */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7 };

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

/* ---- Values ------------------------------------------------------------------ */

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
    if (t->dims[i] > 0 && numel > DD_MAX_CONST_ELEMENTS / t->dims[i]) {
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
 * fewer, and the fresh pages it would have taken: a load takes 84-116 ms
 * against 165-217 ms copying (build/tools/bench-load, 2 cores). */
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
    int id = dd_model_add_value (m, t->name, error);
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
    int id = dd_model_add_value (m, vi->name, error);
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
  int id = dd_model_add_value (m, p->output[0], error);
  return id >= 0 && read_tensor (value->t, "constant", &m->values[id], error);
}

/* An ONNX attribute as the ops read it; strings go to the chunk, as
 * protobuf's are bytes without an end. */
static DdAttr
attr_from_proto (const Onnx__AttributeProto *a, GStringChunk *strings)
{
  DdAttr out = { .name = a->name ? a->name : "", .type = DD_ATTR_OTHER };
  switch (a->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    out.type = DD_ATTR_INT;
    out.i = a->i;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    out.type = DD_ATTR_FLOAT;
    out.f = a->f;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    out.type = DD_ATTR_INTS;
    out.ints = a->ints;
    out.n_ints = a->n_ints;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    out.type = DD_ATTR_STRING;
    out.s = g_string_chunk_insert_len (strings, (const char *) a->s.data, (gssize) a->s.len);
    break;
  default:
    break;
  }
  return out;
}

/* Every node but Constants (which become constant values) as the
 * runtime's node descriptions, in file order. */
static gboolean
read_nodes (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  if (g->n_node > DD_MAX_NODES)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "the graph has %zu nodes; at most %d are supported", g->n_node, DD_MAX_NODES);
  g_autofree DdNodeSpec *specs = g_new0 (DdNodeSpec, g->n_node + 1);
  g_autoptr (GPtrArray) attrs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GStringChunk) strings = g_string_chunk_new (256);
  int n = 0;

  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *p = g->node[i];
    char unnamed[32];
    g_snprintf (unnamed, sizeof unnamed, "#%zu", i);
    const char *name = p->name && *p->name ? p->name : g_string_chunk_insert (strings, unnamed);
    const char *op_type = p->op_type ? p->op_type : "";
    if (p->domain && *p->domain && strcmp (p->domain, "ai.onnx") != 0)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "node '%s' uses op '%s' from domain '%s', which is "
                      "not supported",
                      name, op_type, p->domain);
    if (strcmp (op_type, "Constant") == 0) {
      if (!read_constant_node (m, p, name, error))
        return FALSE;
      continue;
    }
    DdAttr *a = g_new0 (DdAttr, p->n_attribute + 1);
    g_ptr_array_add (attrs, a);
    for (size_t k = 0; k < p->n_attribute; k++)
      a[k] = attr_from_proto (p->attribute[k], strings);
    specs[n++] = (DdNodeSpec){ .op = op_type,
                               .name = name,
                               .n_inputs = (int) MIN (p->n_input, G_MAXINT),
                               .inputs = (const char *const *) p->input,
                               .n_outputs = (int) MIN (p->n_output, G_MAXINT),
                               .outputs = (const char *const *) p->output,
                               .n_attrs = (int) MIN (p->n_attribute, G_MAXINT),
                               .attrs = a };
  }
  return dd_model_add_nodes (m, specs, n, error);
}

static gboolean
read_output (DdModel *m, const Onnx__GraphProto *g, GError **error)
{
  if (g->n_output < 1 || !g->output[0]->name)
    return dd_fail (error, DD_ERROR_INVALID, "the graph has no output");
  return dd_model_set_output (m, g->output[0]->name, error);
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
dd_onnx_load (const guint8 *data, gsize size, GError **error)
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
                read_nodes (m, g, error) && read_output (m, g, error);
  onnx__model_proto__free_unpacked (proto, NULL);
  if (!ok) {
    dd_model_unref (m);
    return NULL;
  }
  return m;
}
