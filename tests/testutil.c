/* testutil.c: helpers shared by the test programs.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "testutil.h"

#include <gegl.h>

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static GQuark
tu_error_quark (void)
{
  return g_quark_from_static_string ("tu-error");
}

char *
tu_shared_path (const char *relative)
{
  const char *dir = g_getenv ("DD_SHARED_DIR");
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_autofree char *msg = g_strdup_printf ("shared test data folder %s is absent",
                                            dir ? dir : "(DD_SHARED_DIR unset)");
    g_test_skip (msg);
    return NULL;
  }
  return g_build_filename (dir, relative, NULL);
}

/* ---- Reference tensors ----------------------------------------------------- */

void
tu_tensor_free (TuTensor *t)
{
  if (t == NULL)
    return;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

static gboolean
copy_raw_floats (TuTensor *t, const ProtobufCBinaryData *raw, const char *path, GError **error)
{
  if (raw->len != t->count * sizeof (float)) {
    g_set_error (error, tu_error_quark (), 0, "%s: raw_data holds %zu bytes, the shape needs %zu",
                 path, raw->len, t->count * sizeof (float));
    return FALSE;
  }
  /* raw_data is little-endian whatever the host is. */
  for (gsize i = 0; i < t->count; i++) {
    guint32 bits;
    memcpy (&bits, raw->data + 4 * i, 4);
    bits = GUINT32_FROM_LE (bits);
    memcpy (&t->data[i], &bits, 4);
  }
  return TRUE;
}

static TuTensor *
tensor_from_proto (const Onnx__TensorProto *p, const char *path, GError **error)
{
  if (p->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    g_set_error (error, tu_error_quark (), 0, "%s: data type %d is not FLOAT", path, p->data_type);
    return NULL;
  }
  if (p->n_dims > G_N_ELEMENTS (((TuTensor *) NULL)->dims)) {
    g_set_error (error, tu_error_quark (), 0, "%s: rank %zu is too high", path, p->n_dims);
    return NULL;
  }
  g_autoptr (TuTensor) t = g_new0 (TuTensor, 1);
  t->name = g_strdup (p->name ? p->name : "");
  t->rank = p->n_dims;
  t->count = 1;
  for (int i = 0; i < t->rank; i++) {
    t->dims[i] = p->dims[i];
    t->count *= MAX (p->dims[i], 0);
  }
  t->data = g_new0 (float, MAX (t->count, 1));
  if (p->has_raw_data) {
    if (!copy_raw_floats (t, &p->raw_data, path, error))
      return NULL;
  } else if (p->n_float_data == t->count) {
    memcpy (t->data, p->float_data, t->count * sizeof (float));
  } else {
    g_set_error (error, tu_error_quark (), 0, "%s: holds %zu floats, the shape needs %zu", path,
                 p->n_float_data, t->count);
    return NULL;
  }
  return g_steal_pointer (&t);
}

TuTensor *
tu_tensor_load (const char *path, GError **error)
{
  g_autofree char *bytes = NULL;
  gsize size = 0;
  if (!g_file_get_contents (path, &bytes, &size, error))
    return NULL;
  Onnx__TensorProto *proto = onnx__tensor_proto__unpack (NULL, size, (const uint8_t *) bytes);
  if (proto == NULL) {
    g_set_error (error, tu_error_quark (), 0, "%s: not a serialized onnx.TensorProto", path);
    return NULL;
  }
  TuTensor *t = tensor_from_proto (proto, path, error);
  onnx__tensor_proto__free_unpacked (proto, NULL);
  return t;
}

/* ---- Error measures -------------------------------------------------------- */

/* Both return NaN when a holds a NaN, so that no comparison passes. */
double
tu_max_rel_error (const float *a, const float *b, gsize n)
{
  double max_diff = 0, max_ref = 0;
  for (gsize i = 0; i < n; i++) {
    double d = fabs ((double) a[i] - b[i]);
    if (isnan (d))
      return NAN;
    max_diff = MAX (max_diff, d);
    max_ref = MAX (max_ref, fabs ((double) b[i]));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

double
tu_share_off (const float *a, const float *b, gsize n, double tolerance)
{
  double max_ref = 0;
  for (gsize i = 0; i < n; i++)
    max_ref = MAX (max_ref, fabs ((double) b[i]));
  gsize off = 0;
  for (gsize i = 0; i < n; i++)
    off += !(fabs ((double) a[i] - b[i]) <= tolerance * max_ref); /* NaN is off */
  return n > 0 ? (double) off / n : 0.0;
}

double
tu_rl2_error (const float *a, const float *b, gsize n)
{
  double sum_diff = 0, sum_ref = 0;
  for (gsize i = 0; i < n; i++) {
    double d = (double) a[i] - b[i];
    sum_diff += d * d;
    sum_ref += (double) b[i] * b[i];
  }
  return sum_ref > 0 ? sqrt (sum_diff / sum_ref) : sqrt (sum_diff);
}

/* ---- Model builder --------------------------------------------------------- */

struct _TuModel {
  GPtrArray *owned;
  GPtrArray *nodes, *initializers, *inputs, *outputs;
  Onnx__OperatorSetIdProto opset_id;
  Onnx__OperatorSetIdProto *opset_ids[1];
  Onnx__GraphProto graph;
  Onnx__ModelProto model;
};

gpointer
tu_model_own (TuModel *m, gpointer mem)
{
  g_ptr_array_add (m->owned, mem);
  return mem;
}

static char *
own_string (TuModel *m, const char *s)
{
  return tu_model_own (m, g_strdup (s));
}

/* Hands over a GPtrArray's element vector, which becomes a repeated field. */
static gpointer *
own_vector (TuModel *m, GPtrArray *array, size_t *n)
{
  *n = array->len;
  return tu_model_own (m, g_ptr_array_free (array, FALSE));
}

TuModel *
tu_model_new (int opset)
{
  TuModel *m = g_new0 (TuModel, 1);
  m->owned = g_ptr_array_new_with_free_func (g_free);
  m->nodes = g_ptr_array_new ();
  m->initializers = g_ptr_array_new ();
  m->inputs = g_ptr_array_new ();
  m->outputs = g_ptr_array_new ();

  onnx__operator_set_id_proto__init (&m->opset_id);
  m->opset_id.domain = own_string (m, "");
  m->opset_id.has_version = TRUE;
  m->opset_id.version = opset;
  m->opset_ids[0] = &m->opset_id;

  onnx__graph_proto__init (&m->graph);
  m->graph.name = own_string (m, "test");

  onnx__model_proto__init (&m->model);
  m->model.has_ir_version = TRUE;
  m->model.ir_version = 6;
  m->model.producer_name = own_string (m, "gimp-deepdream tests");
  m->model.n_opset_import = 1;
  m->model.opset_import = m->opset_ids;
  m->model.graph = &m->graph;
  return m;
}

void
tu_model_free (TuModel *m)
{
  if (m == NULL)
    return;
  g_ptr_array_unref (m->nodes);
  g_ptr_array_unref (m->initializers);
  g_ptr_array_unref (m->inputs);
  g_ptr_array_unref (m->outputs);
  g_ptr_array_unref (m->owned);
  g_free (m);
}

Onnx__TensorProto *
tu_model_add_initializer (TuModel *m, const char *name, int rank, const int64_t *dims,
                          const float *data)
{
  Onnx__TensorProto *t = tu_model_own (m, g_new0 (Onnx__TensorProto, 1));
  onnx__tensor_proto__init (t);
  t->name = own_string (m, name);
  t->has_data_type = TRUE;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = rank;
  t->dims = tu_model_own (m, g_memdup2 (dims, rank * sizeof (int64_t)));

  gsize count = 1;
  for (int i = 0; i < rank; i++)
    count *= dims[i];
  guint32 *raw = tu_model_own (m, g_new (guint32, MAX (count, 1)));
  for (gsize i = 0; i < count; i++) {
    memcpy (&raw[i], &data[i], 4);
    raw[i] = GUINT32_TO_LE (raw[i]);
  }
  t->has_raw_data = TRUE;
  t->raw_data.len = count * 4;
  t->raw_data.data = (uint8_t *) raw;
  g_ptr_array_add (m->initializers, t);
  return t;
}

static char **
own_names (TuModel *m, const char *list, size_t *n)
{
  *n = 0;
  if (list == NULL || *list == '\0')
    return NULL;
  char **names = tu_model_own (m, g_strsplit (list, ",", -1));
  for (; names[*n] != NULL; (*n)++)
    tu_model_own (m, names[*n]);
  return names;
}

static void
parse_ints (TuModel *m, Onnx__AttributeProto *a, const char *value)
{
  g_autofree char *inner = g_strndup (value + 1, strlen (value) - 2);
  g_auto (GStrv) items = g_strsplit (inner, ",", -1);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = *inner ? g_strv_length (items) : 0;
  a->ints = tu_model_own (m, g_new0 (int64_t, MAX (a->n_ints, 1)));
  for (size_t i = 0; i < a->n_ints; i++) {
    gboolean ok = g_ascii_string_to_signed (g_strstrip (items[i]), 10, G_MININT64, G_MAXINT64,
                                            &a->ints[i], NULL);
    g_assert (ok);
  }
}

static Onnx__AttributeProto *
parse_attr (TuModel *m, const char *spec)
{
  const char *eq = strchr (spec, '=');
  g_assert (eq != NULL);
  const char *value = eq + 1;
  Onnx__AttributeProto *a = tu_model_own (m, g_new0 (Onnx__AttributeProto, 1));
  onnx__attribute_proto__init (a);
  a->name = tu_model_own (m, g_strndup (spec, eq - spec));
  a->has_type = TRUE;

  gint64 i;
  char *end = NULL;
  double f = g_ascii_strtod (value, &end);
  if (value[0] == '[' && g_str_has_suffix (value, "]")) {
    parse_ints (m, a, value);
  } else if (g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &i, NULL)) {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = TRUE;
    a->i = i;
  } else if (*value != '\0' && *end == '\0') {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = TRUE;
    a->f = f;
  } else {
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = TRUE;
    a->s.len = strlen (value);
    a->s.data = (uint8_t *) own_string (m, value);
  }
  return a;
}

Onnx__NodeProto *
tu_model_add_node (TuModel *m, const char *op_type, const char *name, const char *inputs,
                   const char *outputs, const char *attrs)
{
  Onnx__NodeProto *node = tu_model_own (m, g_new0 (Onnx__NodeProto, 1));
  onnx__node_proto__init (node);
  node->op_type = own_string (m, op_type);
  node->name = own_string (m, name);
  node->input = own_names (m, inputs, &node->n_input);
  node->output = own_names (m, outputs, &node->n_output);

  GPtrArray *list = g_ptr_array_new ();
  g_auto (GStrv) specs = g_strsplit (attrs ? attrs : "", " ", -1);
  for (int i = 0; specs[i] != NULL; i++)
    if (*specs[i] != '\0')
      g_ptr_array_add (list, parse_attr (m, specs[i]));
  node->attribute = (Onnx__AttributeProto **) own_vector (m, list, &node->n_attribute);

  g_ptr_array_add (m->nodes, node);
  return node;
}

static Onnx__ValueInfoProto *
new_value_info (TuModel *m, const char *name, int rank, const int64_t *dims)
{
  Onnx__TypeProto__Tensor *tensor = tu_model_own (m, g_new0 (Onnx__TypeProto__Tensor, 1));
  onnx__type_proto__tensor__init (tensor);
  tensor->has_elem_type = TRUE;
  tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  if (rank >= 0) {
    Onnx__TensorShapeProto *shape = tu_model_own (m, g_new0 (Onnx__TensorShapeProto, 1));
    onnx__tensor_shape_proto__init (shape);
    shape->n_dim = rank;
    shape->dim = tu_model_own (m, g_new0 (Onnx__TensorShapeProto__Dimension *, MAX (rank, 1)));
    for (int i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d =
          tu_model_own (m, g_new0 (Onnx__TensorShapeProto__Dimension, 1));
      onnx__tensor_shape_proto__dimension__init (d);
      if (dims[i] >= 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      } else {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = tu_model_own (m, g_strdup_printf ("d%d", i));
      }
      shape->dim[i] = d;
    }
    tensor->shape = shape;
  }

  Onnx__TypeProto *type = tu_model_own (m, g_new0 (Onnx__TypeProto, 1));
  onnx__type_proto__init (type);
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tensor;

  Onnx__ValueInfoProto *info = tu_model_own (m, g_new0 (Onnx__ValueInfoProto, 1));
  onnx__value_info_proto__init (info);
  info->name = own_string (m, name);
  info->type = type;
  return info;
}

void
tu_model_set_input (TuModel *m, const char *name, int rank, const int64_t *dims)
{
  g_ptr_array_set_size (m->inputs, 0);
  g_ptr_array_add (m->inputs, new_value_info (m, name, rank, dims));
}

void
tu_model_add_output (TuModel *m, const char *name)
{
  g_ptr_array_add (m->outputs, new_value_info (m, name, -1, NULL));
}

GBytes *
tu_model_pack (TuModel *m)
{
  Onnx__GraphProto *g = &m->graph;
  g->n_node = m->nodes->len;
  g->node = (Onnx__NodeProto **) m->nodes->pdata;
  g->n_initializer = m->initializers->len;
  g->initializer = (Onnx__TensorProto **) m->initializers->pdata;
  g->n_input = m->inputs->len;
  g->input = (Onnx__ValueInfoProto **) m->inputs->pdata;
  g->n_output = m->outputs->len;
  g->output = (Onnx__ValueInfoProto **) m->outputs->pdata;

  gsize size = onnx__model_proto__get_packed_size (&m->model);
  guint8 *buf = g_malloc (MAX (size, 1));
  onnx__model_proto__pack (&m->model, buf);
  return g_bytes_new_take (buf, size);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char *
tu_folder_names (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; dir && (name = g_dir_read_name (dir));)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

void
tu_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      tu_remove_tree (child);
    else
      g_remove (child);
  }
  g_rmdir (path);
}

gboolean
tu_save_image (const char *path, const char *saver, const char *format, const void *pixels,
               int width, int height, const char *first_property, ...)
{
  const Babl *f = babl_format (format);
  GeglRectangle extent = { 0, 0, width, height };
  g_autoptr (GeglBuffer) buffer = gegl_buffer_new (&extent, f);
  gegl_buffer_set (buffer, &extent, 0, f, pixels, GEGL_AUTO_ROWSTRIDE);
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglNode *source =
      gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  GeglNode *save = gegl_node_new_child (graph, "operation", saver, "path", path, NULL);
  va_list properties;
  va_start (properties, first_property);
  if (first_property)
    gegl_node_set_valist (save, first_property, properties);
  va_end (properties);
  gegl_node_link (source, save);
  gegl_node_process (save);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

GeglBuffer *
tu_load_image (const char *path)
{
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglBuffer *buffer = NULL;
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglNode *sink =
      gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &buffer, NULL);
  gegl_node_link (load, sink);
  gegl_node_process (sink);
  return buffer;
}
