/* caffe-loader.c: Caffe .caffemodel (NetParameter) to DdModel.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The protobuf is unpacked by protobuf-c code generated from our own
 * caffe.proto, which holds only the fields read here. Files of 2014 (V1:
 * NetParameter.layers, types as an enum, 4-D blob headers) and of later
 * years (V2: NetParameter.layer, types as strings, BlobShape) become one
 * list of layers, filtered as Caffe filters a net for its TEST phase, and
 * each layer becomes nodes of the runtime's ops (graph.c). Caffe's blobs
 * are names that in-place layers (a ReLU whose top is its bottom) write
 * again; here every tensor has one producer, named as pycaffe's
 * forward(end=LAYER) sees it: a blob's name is its value as the layer that
 * made it left it (a conv before its in-place ReLU), and an in-place
 * layer's output carries that layer's name.
 */
#include "dd-model.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "caffe.pb-c.h"

enum { PHASE_TEST = 1 };
enum { POOL_MAX = 0, POOL_AVE = 1 };
enum { ELTWISE_PROD = 0, ELTWISE_SUM = 1 };
enum { ROUND_FLOOR = 1 };

/* Caffe's V1 layer type enum and the V2 type name of each (Caffe's
 * upgrade_proto maps them so). */
static const struct {
  int v1;
  const char *name;
} v1_types[] = {
  { 35, "AbsVal" },
  { 1, "Accuracy" },
  { 30, "ArgMax" },
  { 2, "BNLL" },
  { 3, "Concat" },
  { 37, "ContrastiveLoss" },
  { 4, "Convolution" },
  { 5, "Data" },
  { 39, "Deconvolution" },
  { 6, "Dropout" },
  { 32, "DummyData" },
  { 7, "EuclideanLoss" },
  { 25, "Eltwise" },
  { 38, "Exp" },
  { 8, "Flatten" },
  { 9, "HDF5Data" },
  { 10, "HDF5Output" },
  { 28, "HingeLoss" },
  { 11, "Im2col" },
  { 12, "ImageData" },
  { 13, "InfogainLoss" },
  { 14, "InnerProduct" },
  { 15, "LRN" },
  { 29, "MemoryData" },
  { 16, "MultinomialLogisticLoss" },
  { 34, "MVN" },
  { 17, "Pooling" },
  { 26, "Power" },
  { 18, "ReLU" },
  { 19, "Sigmoid" },
  { 27, "SigmoidCrossEntropyLoss" },
  { 36, "Silence" },
  { 20, "Softmax" },
  { 21, "SoftmaxWithLoss" },
  { 22, "Split" },
  { 33, "Slice" },
  { 23, "TanH" },
  { 24, "WindowData" },
  { 31, "Threshold" },
};

/* Layers that feed a training net from a database or files: the first top
 * is the image, the others labels. */
static const char *const data_types[] = { "Data",       "ImageData",  "HDF5Data",
                                          "MemoryData", "WindowData", "DummyData" };

/* One layer of either format. */
typedef struct {
  const char *name;
  const char *type;
  gsize n_bottom, n_top, n_blobs, n_include, n_exclude;
  char **bottom, **top;
  Caffe__BlobProto **blobs;
  Caffe__NetStateRule **include, **exclude;
  const Caffe__ConvolutionParameter *conv;
  const Caffe__PoolingParameter *pool;
  const Caffe__LRNParameter *lrn;
  const Caffe__InnerProductParameter *ip;
  const Caffe__ConcatParameter *concat;
  const Caffe__ReLUParameter *relu;
  const Caffe__EltwiseParameter *eltwise;
  const Caffe__SoftmaxParameter *softmax;
  const Caffe__FlattenParameter *flatten;
  const Caffe__BatchNormParameter *batch_norm;
  const Caffe__ScaleParameter *scale;
  const Caffe__InputParameter *input;
  const Caffe__TransformationParameter *transform;
} Layer;

typedef struct {
  DdModel *m;
  GStringChunk *strings;
  GPtrArray *allocs;       /* freed with the builder: the specs' arrays */
  GArray *specs;           /* DdNodeSpec */
  GHashTable *blobs;       /* Caffe blob -> the tensor holding its current value */
  GHashTable *taken;       /* every tensor name in use */
  GHashTable *labels;      /* blobs of data layers other than the image */
  const char *input;       /* the image blob */
  const char *input_value; /* its tensor */
  int64_t input_channels;
  const Caffe__TransformationParameter *transform;
  gboolean transform_test; /* transform came from a TEST-phase layer */
  const char *output;      /* the tensor last made */
} Builder;

static gboolean
is_one_of (const char *type, const char *const *list, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (strcmp (type, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_data_layer (const Layer *l)
{
  return is_one_of (l->type, data_types, G_N_ELEMENTS (data_types));
}

/* Layers that only train or measure: a loss, an accuracy, or a sink. */
static gboolean
is_training_layer (const Layer *l)
{
  return g_str_has_suffix (l->type, "Loss") || strcmp (l->type, "Accuracy") == 0 ||
         strcmp (l->type, "Silence") == 0 || strcmp (l->type, "HDF5Output") == 0;
}

/* ---- Reading layers of both formats ---------------------------------------- */

static const char *
v1_type_name (int v1, GStringChunk *strings)
{
  for (gsize i = 0; i < G_N_ELEMENTS (v1_types); i++)
    if (v1_types[i].v1 == v1)
      return v1_types[i].name;
  char buf[48];
  g_snprintf (buf, sizeof buf, "V1 layer type %d", v1);
  return g_string_chunk_insert (strings, buf);
}

static const char *
layer_name (const char *name, gsize index, GStringChunk *strings)
{
  if (name && *name)
    return name;
  char buf[32];
  g_snprintf (buf, sizeof buf, "#%zu", index);
  return g_string_chunk_insert (strings, buf);
}

static Layer
layer_from_v1 (const Caffe__V1LayerParameter *p, gsize index, GStringChunk *strings)
{
  return (Layer){ .name = layer_name (p->name, index, strings),
                  .type = v1_type_name (p->type, strings),
                  .n_bottom = p->n_bottom,
                  .bottom = p->bottom,
                  .n_top = p->n_top,
                  .top = p->top,
                  .n_blobs = p->n_blobs,
                  .blobs = p->blobs,
                  .n_include = p->n_include,
                  .include = p->include,
                  .n_exclude = p->n_exclude,
                  .exclude = p->exclude,
                  .conv = p->convolution_param,
                  .pool = p->pooling_param,
                  .lrn = p->lrn_param,
                  .ip = p->inner_product_param,
                  .concat = p->concat_param,
                  .relu = p->relu_param,
                  .eltwise = p->eltwise_param,
                  .softmax = p->softmax_param,
                  .transform = p->transform_param };
}

static Layer
layer_from_v2 (const Caffe__LayerParameter *p, gsize index, GStringChunk *strings)
{
  return (Layer){ .name = layer_name (p->name, index, strings),
                  .type = p->type ? p->type : "",
                  .n_bottom = p->n_bottom,
                  .bottom = p->bottom,
                  .n_top = p->n_top,
                  .top = p->top,
                  .n_blobs = p->n_blobs,
                  .blobs = p->blobs,
                  .n_include = p->n_include,
                  .include = p->include,
                  .n_exclude = p->n_exclude,
                  .exclude = p->exclude,
                  .conv = p->convolution_param,
                  .pool = p->pooling_param,
                  .lrn = p->lrn_param,
                  .ip = p->inner_product_param,
                  .concat = p->concat_param,
                  .relu = p->relu_param,
                  .eltwise = p->eltwise_param,
                  .softmax = p->softmax_param,
                  .flatten = p->flatten_param,
                  .batch_norm = p->batch_norm_param,
                  .scale = p->scale_param,
                  .input = p->input_param,
                  .transform = p->transform_param };
}

/* Net::StateMeetsRule for the state we run in: phase TEST, level 0, no
 * stages. */
static gboolean
rule_matches (const Caffe__NetStateRule *r)
{
  if (r->has_phase && r->phase != PHASE_TEST)
    return FALSE;
  if (r->has_min_level && r->min_level > 0)
    return FALSE;
  if (r->has_max_level && r->max_level < 0)
    return FALSE;
  return r->n_stage == 0;
}

/* Net::FilterNet: a layer with include rules runs when one matches; one
 * without runs unless an exclude rule matches. */
static gboolean
in_test_phase (const Layer *l, gboolean *keep, GError **error)
{
  if (l->n_include && l->n_exclude)
    return dd_fail (error, DD_ERROR_INVALID,
                    "layer '%s' has both include and exclude rules, which Caffe refuses", l->name);
  *keep = l->n_include == 0;
  for (gsize i = 0; i < l->n_include; i++)
    *keep |= rule_matches (l->include[i]);
  for (gsize i = 0; i < l->n_exclude; i++)
    *keep &= !rule_matches (l->exclude[i]);
  return TRUE;
}

/* ---- Blobs ----------------------------------------------------------------- */

/* Blob::FromProto's shape: the legacy 4-D header when any of its fields is
 * there, else BlobShape. */
static gboolean
blob_shape (const Layer *l, gsize i, DdShape *shape, GError **error)
{
  const Caffe__BlobProto *b = l->blobs[i];
  int64_t dims[DD_MAX_RANK];
  int rank;
  if (b->has_num || b->has_channels || b->has_height || b->has_width) {
    const int64_t legacy[4] = { b->num, b->channels, b->height, b->width };
    memcpy (dims, legacy, sizeof legacy);
    rank = 4;
  } else {
    gsize n = b->shape ? b->shape->n_dim : 0;
    if (n > DD_MAX_RANK)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "layer '%s': blob %zu has rank %zu; at most %d is supported", l->name, i, n,
                      DD_MAX_RANK);
    for (gsize k = 0; k < n; k++)
      dims[k] = b->shape->dim[k];
    rank = (int) n;
  }
  int64_t numel = 1;
  shape->rank = rank;
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0)
      return dd_fail (error, DD_ERROR_INVALID,
                      "layer '%s': blob %zu has a negative dimension (%" PRId64 ")", l->name, i,
                      dims[k]);
    if (dims[k] > 0 && numel > DD_MAX_CONST_ELEMENTS / dims[k])
      return dd_fail (error, DD_ERROR_INVALID,
                      "layer '%s': blob %zu is too large: its shape holds over 2^30 values",
                      l->name, i);
    numel *= dims[k];
    shape->d[k] = dims[k];
  }
  return TRUE;
}

/* A double as the nearest float: out-of-range values become infinite (a
 * plain conversion of them is undefined in C), NaN stays NaN. */
static float
to_float (double v)
{
  if (v > FLT_MAX)
    return INFINITY;
  if (v < -FLT_MAX)
    return -INFINITY;
  return (float) v;
}

/* Values in blob i: float data, or double data when there is none. */
static int64_t
blob_count (const Layer *l, gsize i)
{
  const Caffe__BlobProto *blob = l->blobs[i];
  return (int64_t) (blob->n_data ? blob->n_data : blob->n_double_data);
}

static double
blob_value (const Layer *l, gsize i, int64_t k)
{
  const Caffe__BlobProto *blob = l->blobs[i];
  return blob->n_data ? blob->data[k] : blob->double_data[k];
}

/* A blob's values as a new constant of shape, moving float data out of the
 * message rather than copying it (as the ONNX loader does). */
static const char *
add_blob (Builder *b, const Layer *l, gsize i, const char *what, const DdShape *shape,
          GError **error)
{
  Caffe__BlobProto *blob = l->blobs[i];
  const int64_t n = dd_shape_numel (shape);
  char buf[96];
  float *data;
  if (n > 0 && blob->n_data == (gsize) n) {
    data = blob->data;
    blob->data = NULL;
    blob->n_data = 0;
  } else if (n > 0 && blob->n_data == 0 && blob->n_double_data == (gsize) n) {
    data = g_new (float, (gsize) n);
    for (int64_t k = 0; k < n; k++)
      data[k] = to_float (blob->double_data[k]);
  } else {
    dd_fail (error, DD_ERROR_INVALID,
             "layer '%s': blob %zu (%s) holds %zu values, its shape %s needs %" PRId64, l->name, i,
             what, (gsize) blob_count (l, i), dd_shape_format (shape, buf, sizeof buf), n);
    return NULL;
  }
  g_autofree char *name = g_strconcat (l->name, "#", what, NULL);
  int id = dd_model_add_value (b->m, name, error);
  if (id < 0) {
    g_free (data);
    return NULL;
  }
  b->m->values[id].shape = *shape;
  b->m->values[id].floats = data;
  b->m->values[id].is_const = TRUE;
  g_hash_table_add (b->taken, b->m->values[id].name);
  return b->m->values[id].name;
}

/* A constant made here (BatchNorm's folded statistics...). */
static const char *
add_floats (Builder *b, const Layer *l, const char *what, float *data, int64_t n, GError **error)
{
  g_autofree char *name = g_strconcat (l->name, "#", what, NULL);
  int id = dd_model_add_value (b->m, name, error);
  if (id < 0) {
    g_free (data);
    return NULL;
  }
  DdValue *v = &b->m->values[id];
  v->shape = (DdShape){ .rank = 1, .d = { n } };
  v->floats = data;
  v->is_const = TRUE;
  g_hash_table_add (b->taken, v->name);
  return v->name;
}

/* A vector blob of n values (a bias: [n], or legacy (1, 1, 1, n)). */
static const char *
add_vector (Builder *b, const Layer *l, gsize i, const char *what, int64_t n, GError **error)
{
  DdShape s;
  char buf[96];
  if (!blob_shape (l, i, &s, error))
    return NULL;
  if (dd_shape_numel (&s) != n) {
    dd_fail (error, DD_ERROR_INVALID,
             "layer '%s': blob %zu (%s) has shape %s; %" PRId64 " values are needed", l->name, i,
             what, dd_shape_format (&s, buf, sizeof buf), n);
    return NULL;
  }
  s = (DdShape){ .rank = 1, .d = { n } };
  return add_blob (b, l, i, what, &s, error);
}

static gboolean
expect_blobs (const Layer *l, gsize n, GError **error)
{
  if (l->n_blobs == n)
    return TRUE;
  if (l->n_blobs == 0)
    return dd_fail (error, DD_ERROR_INVALID,
                    "layer '%s' (%s) has no weights: a .prototxt net description, or a "
                    ".caffemodel without them",
                    l->name, l->type);
  return dd_fail (error, DD_ERROR_INVALID, "layer '%s' (%s) has %zu weight blobs; %zu expected",
                  l->name, l->type, l->n_blobs, n);
}

/* ---- Node descriptions ------------------------------------------------------ */

static DdAttr
attr_int (const char *name, int64_t v)
{
  return (DdAttr){ .name = name, .type = DD_ATTR_INT, .i = v };
}

static DdAttr
attr_float (const char *name, float v)
{
  return (DdAttr){ .name = name, .type = DD_ATTR_FLOAT, .f = v };
}

static DdAttr
attr_ints (Builder *b, const char *name, const int64_t *v, gsize n)
{
  int64_t *copy = g_memdup2 (v, n * sizeof *v);
  g_ptr_array_add (b->allocs, copy);
  return (DdAttr){ .name = name, .type = DD_ATTR_INTS, .ints = copy, .n_ints = n };
}

/* A node of op from inputs to the tensor out. */
static void
emit (Builder *b, const char *op, const char *node, const char *out, const char *const *in,
      int n_in, const DdAttr *attrs, int n_attrs)
{
  const char **inputs = g_new (const char *, (gsize) n_in + 1);
  for (int i = 0; i < n_in; i++)
    inputs[i] = in[i];
  const char **outputs = g_new (const char *, 1);
  outputs[0] = out;
  DdAttr *a = g_memdup2 (attrs, (gsize) MAX (n_attrs, 1) * sizeof *a);
  g_ptr_array_add (b->allocs, inputs);
  g_ptr_array_add (b->allocs, outputs);
  g_ptr_array_add (b->allocs, a);
  DdNodeSpec spec = { .op = op,
                      .name = g_string_chunk_insert_const (b->strings, node),
                      .n_inputs = n_in,
                      .inputs = inputs,
                      .n_outputs = 1,
                      .outputs = outputs,
                      .n_attrs = n_attrs,
                      .attrs = a };
  g_array_append_val (b->specs, spec);
}

/* A tensor name of our own, unique: name, else name#2, name#3... */
static const char *
claim_name (Builder *b, const char *name)
{
  g_autoptr (GString) candidate = g_string_new (name);
  for (int k = 2; g_hash_table_contains (b->taken, candidate->str); k++)
    g_string_printf (candidate, "%s#%d", name, k);
  const char *kept = g_string_chunk_insert (b->strings, candidate->str);
  g_hash_table_add (b->taken, (gpointer) kept);
  return kept;
}

/* The tensor holding blob's current value. */
static const char *
read_blob (Builder *b, const Layer *l, const char *blob, GError **error)
{
  const char *t = g_hash_table_lookup (b->blobs, blob);
  if (!t) {
    if (g_hash_table_contains (b->labels, blob))
      dd_fail (error, DD_ERROR_UNSUPPORTED,
               "layer '%s' (%s) reads '%s', labels of the training data, which do not exist "
               "when dreaming",
               l->name, l->type, blob);
    else
      dd_fail (error, DD_ERROR_INVALID,
               "layer '%s' reads blob '%s', which no earlier layer or input makes", l->name, blob);
  }
  return t;
}

/* The tensor a one-top layer writes: the blob's own name for a new blob,
 * the layer's name for an in-place layer (a second value of the blob). */
static const char *
write_blob (Builder *b, const Layer *l, GError **error)
{
  if (l->n_top != 1 || !l->top[0] || !*l->top[0]) {
    dd_fail (error, DD_ERROR_UNSUPPORTED, "layer '%s' (%s) has %zu tops; one is supported", l->name,
             l->type, l->n_top);
    return NULL;
  }
  const char *top = l->top[0];
  gboolean in_place = FALSE;
  for (gsize i = 0; i < l->n_bottom; i++)
    in_place |= g_strcmp0 (l->bottom[i], top) == 0;
  if (!in_place && g_hash_table_contains (b->blobs, top)) {
    dd_fail (error, DD_ERROR_INVALID,
             "layer '%s' writes blob '%s', which an earlier layer made: Caffe refuses a blob "
             "with two sources",
             l->name, top);
    return NULL;
  }
  const char *out = claim_name (b, in_place ? l->name : top);
  g_hash_table_insert (b->blobs, g_string_chunk_insert_const (b->strings, top), (gpointer) out);
  b->output = out;
  return out;
}

/* Bottom i's tensor, checking the count of bottoms first. */
static gboolean
read_bottoms (Builder *b, const Layer *l, gsize min, gsize max, const char **in, GError **error)
{
  if (l->n_bottom < min || l->n_bottom > max)
    return dd_fail (error, DD_ERROR_INVALID, "layer '%s' (%s) has %zu bottoms; %zu to %zu expected",
                    l->name, l->type, l->n_bottom, min, max);
  for (gsize i = 0; i < l->n_bottom; i++)
    if (!(in[i] = read_blob (b, l, l->bottom[i], error)))
      return FALSE;
  return TRUE;
}

/* ---- Windows (Convolution, Pooling) ---------------------------------------- */

typedef struct {
  int64_t kernel[2], stride[2], pad[2], dilation[2];
} Window;

/* One of Caffe's ways to give a 2-D size: *_h and *_w, or a repeated field
 * of one (both axes) or two (H, W) values, or def. */
static gboolean
window_pair (const Layer *l, const char *what, gboolean has_h, uint64_t h, gboolean has_w,
             uint64_t w, gsize n, const uint64_t *v, int64_t def, int64_t out[2], GError **error)
{
  uint64_t pair[2] = { (uint64_t) def, (uint64_t) def };
  if (has_h || has_w) {
    if (!has_h || !has_w || n)
      return dd_fail (error, DD_ERROR_INVALID,
                      "layer '%s': %s needs both its _h and _w values, and only them", l->name,
                      what);
    pair[0] = h, pair[1] = w;
  } else if (n == 1) {
    pair[0] = pair[1] = v[0];
  } else if (n == 2) {
    pair[0] = v[0], pair[1] = v[1];
  } else if (n > 2) {
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': %s has %zu values; only 2-D windows are supported", l->name, what,
                    n);
  }
  for (int i = 0; i < 2; i++) {
    if (pair[i] > DD_MAX_WINDOW)
      return dd_fail (error, DD_ERROR_UNSUPPORTED, "layer '%s': %s must be at most %d", l->name,
                      what, DD_MAX_WINDOW);
    out[i] = (int64_t) pair[i];
  }
  return TRUE;
}

static int
window_attrs (Builder *b, const Window *w, DdAttr *a)
{
  const int64_t pads[4] = { w->pad[0], w->pad[1], w->pad[0], w->pad[1] };
  a[0] = attr_ints (b, "kernel_shape", w->kernel, 2);
  a[1] = attr_ints (b, "strides", w->stride, 2);
  a[2] = attr_ints (b, "pads", pads, 4);
  a[3] = attr_ints (b, "dilations", w->dilation, 2);
  return 4;
}

/* ---- Layers ------------------------------------------------------------------ */

static gboolean
convolution (Builder *b, const Layer *l, GError **error)
{
  static const Caffe__ConvolutionParameter defaults = CAFFE__CONVOLUTION_PARAMETER__INIT;
  const Caffe__ConvolutionParameter *p = l->conv ? l->conv : &defaults;
  const char *in[3];
  Window w;
  char buf[96];

  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (p->axis != 1)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "layer '%s': convolution axis %d is not supported",
                    l->name, p->axis);
  if (!window_pair (l, "kernel_size", p->has_kernel_h, p->kernel_h, p->has_kernel_w, p->kernel_w,
                    p->n_kernel_size, p->kernel_size, 0, w.kernel, error) ||
      !window_pair (l, "stride", p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w,
                    p->n_stride, p->stride, 1, w.stride, error) ||
      !window_pair (l, "pad", p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, p->n_pad, p->pad, 0,
                    w.pad, error) ||
      !window_pair (l, "dilation", FALSE, 0, FALSE, 0, p->n_dilation, p->dilation, 1, w.dilation,
                    error))
    return FALSE;
  if (p->num_output < 1 || p->num_output > G_MAXINT32 || p->group < 1 ||
      p->num_output % p->group != 0)
    return dd_fail (error, DD_ERROR_INVALID,
                    "layer '%s': num_output (%" PRIu64
                    ") must be a positive multiple of group (%" PRIu64 ")",
                    l->name, p->num_output, p->group);
  if (!expect_blobs (l, p->bias_term ? 2 : 1, error))
    return FALSE;

  DdShape ws;
  if (!blob_shape (l, 0, &ws, error))
    return FALSE;
  const int64_t out_ch = (int64_t) p->num_output;
  if (ws.rank != 4 || ws.d[0] != out_ch || ws.d[1] < 1 || ws.d[2] != w.kernel[0] ||
      ws.d[3] != w.kernel[1])
    return dd_fail (
        error, DD_ERROR_INVALID,
        "layer '%s': weights have shape %s; [%" PRId64 ", C, %" PRId64 ", %" PRId64 "] is needed",
        l->name, dd_shape_format (&ws, buf, sizeof buf), out_ch, w.kernel[0], w.kernel[1]);
  if (g_strcmp0 (l->bottom[0], b->input) == 0 && b->input_channels < 1)
    b->input_channels = ws.d[1] * (int64_t) p->group;
  if (!(in[1] = add_blob (b, l, 0, "weights", &ws, error)))
    return FALSE;
  if (p->bias_term && !(in[2] = add_vector (b, l, 1, "bias", out_ch, error)))
    return FALSE;

  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  DdAttr a[5];
  int n = window_attrs (b, &w, a);
  a[n++] = attr_int ("group", (int64_t) p->group);
  emit (b, "Conv", l->name, out, in, p->bias_term ? 3 : 2, a, n);
  return TRUE;
}

static gboolean
pooling (Builder *b, const Layer *l, GError **error)
{
  static const Caffe__PoolingParameter defaults = CAFFE__POOLING_PARAMETER__INIT;
  const Caffe__PoolingParameter *p = l->pool ? l->pool : &defaults;
  const char *in[1];
  Window w = { .dilation = { 1, 1 } };

  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (p->pool != POOL_MAX && p->pool != POOL_AVE)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': only MAX and AVE pooling are supported (pool = %d)", l->name,
                    p->pool);
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  if (p->global_pooling) {
    if (p->pool != POOL_AVE)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "layer '%s': global MAX pooling is not supported", l->name);
    emit (b, "GlobalAveragePool", l->name, out, in, 1, NULL, 0);
    return TRUE;
  }
  if (!window_pair (l, "kernel_size", p->has_kernel_h, p->kernel_h, p->has_kernel_w, p->kernel_w,
                    p->n_kernel_size, p->kernel_size, 0, w.kernel, error) ||
      !window_pair (l, "stride", p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w,
                    p->n_stride, p->stride, 1, w.stride, error) ||
      !window_pair (l, "pad", p->has_pad_h, p->pad_h, p->has_pad_w, p->pad_w, p->n_pad, p->pad, 0,
                    w.pad, error))
    return FALSE;
  if (w.kernel[0] < 1 || w.kernel[1] < 1)
    return dd_fail (error, DD_ERROR_INVALID, "layer '%s': pooling needs a kernel_size", l->name);
  DdAttr a[6];
  int n = window_attrs (b, &w, a);
  /* Caffe rounds output sizes up (its windows may hang over the end). */
  a[n++] = attr_int ("ceil_mode", p->has_round_mode && p->round_mode == ROUND_FLOOR ? 0 : 1);
  /* Caffe's average counts the padding but not what hangs past it, which
   * is the runtime's count_include_pad. */
  if (p->pool == POOL_AVE)
    a[n++] = attr_int ("count_include_pad", 1);
  emit (b, p->pool == POOL_MAX ? "MaxPool" : "AveragePool", l->name, out, in, 1, a, n);
  return TRUE;
}

static gboolean
lrn (Builder *b, const Layer *l, GError **error)
{
  static const Caffe__LRNParameter defaults = CAFFE__LRNPARAMETER__INIT;
  const Caffe__LRNParameter *p = l->lrn ? l->lrn : &defaults;
  const char *in[1];
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (p->norm_region != 0)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': LRN within a channel is not supported (only across channels)",
                    l->name);
  if (p->local_size > DD_MAX_WINDOW)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "layer '%s': local_size must be at most %d",
                    l->name, DD_MAX_WINDOW);
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  /* The same formula as ONNX's LRN: x / (k + alpha / size * sum x^2)^beta. */
  const DdAttr a[] = { attr_int ("size", (int64_t) p->local_size), attr_float ("alpha", p->alpha),
                       attr_float ("beta", p->beta), attr_float ("bias", p->k) };
  emit (b, "LRN", l->name, out, in, 1, a, G_N_ELEMENTS (a));
  return TRUE;
}

static gboolean
relu (Builder *b, const Layer *l, GError **error)
{
  const char *in[1];
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const float slope = l->relu ? l->relu->negative_slope : 0;
  if (slope == 0) {
    emit (b, "Relu", l->name, out, in, 1, NULL, 0);
  } else {
    const DdAttr a[] = { attr_float ("alpha", slope) };
    emit (b, "LeakyRelu", l->name, out, in, 1, a, 1);
  }
  return TRUE;
}

static gboolean
concat (Builder *b, const Layer *l, GError **error)
{
  const char *in[DD_MAX_INPUTS];
  if (!read_bottoms (b, l, 1, DD_MAX_INPUTS, in, error))
    return FALSE;
  int64_t axis = 1;
  if (l->concat)
    axis = l->concat->has_axis ? l->concat->axis : (int64_t) l->concat->concat_dim;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const DdAttr a[] = { attr_int ("axis", axis) };
  emit (b, "Concat", l->name, out, in, (int) l->n_bottom, a, 1);
  return TRUE;
}

/* SUM (coefficients 1) and PROD as a chain of Add or Mul nodes. */
static gboolean
eltwise (Builder *b, const Layer *l, GError **error)
{
  const char *in[DD_MAX_INPUTS];
  if (!read_bottoms (b, l, 2, DD_MAX_INPUTS, in, error))
    return FALSE;
  const int op = l->eltwise ? l->eltwise->operation : ELTWISE_SUM;
  if (op != ELTWISE_SUM && op != ELTWISE_PROD)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': Eltwise MAX is not supported (only SUM and PROD)", l->name);
  for (gsize i = 0; l->eltwise && i < l->eltwise->n_coeff; i++)
    if (l->eltwise->coeff[i] != 1)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "layer '%s': Eltwise coefficients other than 1 are not supported", l->name);
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const char *acc = in[0];
  for (gsize i = 1; i < l->n_bottom; i++) {
    g_autofree char *step = g_strdup_printf ("%s#%zu", out, i);
    const char *to = i + 1 == l->n_bottom ? out : claim_name (b, step);
    const char *pair[2] = { acc, in[i] };
    emit (b, op == ELTWISE_SUM ? "Add" : "Mul", i + 1 == l->n_bottom ? l->name : to, to, pair, 2,
          NULL, 0);
    acc = to;
  }
  return TRUE;
}

/* y = x W^T + b over the input flattened from axis 1, as Gemm. */
static gboolean
inner_product (Builder *b, const Layer *l, GError **error)
{
  static const Caffe__InnerProductParameter defaults = CAFFE__INNER_PRODUCT_PARAMETER__INIT;
  const Caffe__InnerProductParameter *p = l->ip ? l->ip : &defaults;
  const char *in[3];
  char buf[96];
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (p->axis != 1)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': inner product axis %d is not supported", l->name, p->axis);
  if (p->num_output < 1 || p->num_output > G_MAXINT32)
    return dd_fail (error, DD_ERROR_INVALID, "layer '%s': num_output must be positive", l->name);
  if (!expect_blobs (l, p->bias_term ? 2 : 1, error))
    return FALSE;
  DdShape ws = { 0 };
  if (!blob_shape (l, 0, &ws, error))
    return FALSE;
  /* V1 files store the weights as (1, 1, N, K), later ones as (N, K). */
  const gboolean legacy = ws.rank == 4 && ws.d[0] == 1 && ws.d[1] == 1;
  const int64_t rows = legacy ? ws.d[2] : ws.d[0], cols = legacy ? ws.d[3] : ws.d[1];
  const int64_t n_out = (int64_t) p->num_output;
  if ((!legacy && ws.rank != 2) || (p->transpose ? cols : rows) != n_out)
    return dd_fail (
        error, DD_ERROR_INVALID,
        "layer '%s': weights have shape %s; %" PRId64 " outputs need [%" PRId64 ", K]%s", l->name,
        dd_shape_format (&ws, buf, sizeof buf), n_out, n_out, p->transpose ? " transposed" : "");
  ws = (DdShape){ .rank = 2, .d = { rows, cols } };
  if (!(in[1] = add_blob (b, l, 0, "weights", &ws, error)))
    return FALSE;
  if (p->bias_term && !(in[2] = add_vector (b, l, 1, "bias", n_out, error)))
    return FALSE;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  g_autofree char *flat_name = g_strconcat (l->name, "#flat", NULL);
  const char *flat = claim_name (b, flat_name);
  const DdAttr fa[] = { attr_int ("axis", 1) };
  emit (b, "Flatten", flat, flat, in, 1, fa, 1);
  in[0] = flat;
  const DdAttr ga[] = { attr_int ("transB", p->transpose ? 0 : 1) };
  emit (b, "Gemm", l->name, out, in, p->bias_term ? 3 : 2, ga, 1);
  return TRUE;
}

static gboolean
softmax (Builder *b, const Layer *l, GError **error)
{
  const char *in[1];
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const DdAttr a[] = { attr_int ("axis", l->softmax ? l->softmax->axis : 1) };
  emit (b, "Softmax", l->name, out, in, 1, a, 1);
  return TRUE;
}

static gboolean
flatten (Builder *b, const Layer *l, GError **error)
{
  const char *in[1];
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (l->flatten && (l->flatten->axis != 1 || l->flatten->end_axis != -1))
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': only Flatten from axis 1 to the end is supported", l->name);
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const DdAttr a[] = { attr_int ("axis", 1) };
  emit (b, "Flatten", l->name, out, in, 1, a, 1);
  return TRUE;
}

static float *
filled (int64_t n, float value)
{
  float *v = g_new (float, (gsize) MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    v[i] = value;
  return v;
}

/* A per-channel affine map as BatchNormalization: y = scale (x - mean) /
 * sqrt(var + eps) + bias. */
static void
emit_batch_norm (Builder *b, const Layer *l, const char *const in[5], float eps, const char *out)
{
  const DdAttr a[] = { attr_float ("epsilon", eps) };
  emit (b, "BatchNormalization", l->name, out, in, 5, a, 1);
}

/* Caffe's BatchNorm keeps its sums scaled by a factor (blob 2): mean and
 * variance are blob 0 and 1 divided by it (0 when it is 0). The scale and
 * shift come from a Scale layer after it. */
static gboolean
batch_norm (Builder *b, const Layer *l, GError **error)
{
  const char *in[5];
  if (!read_bottoms (b, l, 1, 1, in, error) || !expect_blobs (l, 3, error))
    return FALSE;
  const int64_t c = blob_count (l, 0);
  if (c < 1 || blob_count (l, 1) != c || blob_count (l, 2) != 1)
    return dd_fail (error, DD_ERROR_INVALID,
                    "layer '%s': BatchNorm needs blobs of C, C and 1 values (has %" PRId64
                    ", %" PRId64 ", %" PRId64 ")",
                    l->name, c, blob_count (l, 1), blob_count (l, 2));
  if (c > DD_MAX_CONST_ELEMENTS)
    return dd_fail (error, DD_ERROR_INVALID, "layer '%s': BatchNorm is too large", l->name);
  const double factor = blob_value (l, 2, 0), inv = factor == 0 ? 0 : 1 / factor;
  float *mean = g_new (float, (gsize) c), *var = g_new (float, (gsize) c);
  for (int64_t i = 0; i < c; i++) {
    mean[i] = to_float (blob_value (l, 0, i) * inv);
    var[i] = to_float (blob_value (l, 1, i) * inv);
  }
  if (!(in[1] = add_floats (b, l, "scale", filled (c, 1), c, error)) ||
      !(in[2] = add_floats (b, l, "shift", filled (c, 0), c, error))) {
    g_free (mean), g_free (var);
    return FALSE;
  }
  if (!(in[3] = add_floats (b, l, "mean", mean, c, error))) {
    g_free (var);
    return FALSE;
  }
  if (!(in[4] = add_floats (b, l, "variance", var, c, error)))
    return FALSE;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  const float eps = l->batch_norm ? l->batch_norm->eps : 1e-5f;
  emit_batch_norm (b, l, in, eps, out);
  return TRUE;
}

static gboolean
scale (Builder *b, const Layer *l, GError **error)
{
  const char *in[5];
  const gboolean bias = l->scale && l->scale->bias_term;
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  if (l->scale && (l->scale->axis != 1 || l->scale->num_axes != 1))
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "layer '%s': only a Scale per channel (axis 1, num_axes 1) is supported",
                    l->name);
  if (!expect_blobs (l, bias ? 2 : 1, error))
    return FALSE;
  const int64_t c = blob_count (l, 0);
  if (c < 1 || c > DD_MAX_CONST_ELEMENTS)
    return dd_fail (error, DD_ERROR_INVALID, "layer '%s': Scale has no values", l->name);
  if (!(in[1] = add_vector (b, l, 0, "scale", c, error)))
    return FALSE;
  if (bias ? !(in[2] = add_vector (b, l, 1, "shift", c, error))
           : !(in[2] = add_floats (b, l, "shift", filled (c, 0), c, error)))
    return FALSE;
  if (!(in[3] = add_floats (b, l, "mean", filled (c, 0), c, error)) ||
      !(in[4] = add_floats (b, l, "variance", filled (c, 1), c, error)))
    return FALSE;
  const char *out = write_blob (b, l, error);
  if (!out)
    return FALSE;
  emit_batch_norm (b, l, in, 0, out);
  return TRUE;
}

/* Split copies its bottom to every top, and an inference Dropout passes its
 * bottom on: both only name the bottom's tensor again. */
static gboolean
pass_through (Builder *b, const Layer *l, GError **error)
{
  const char *in[1];
  if (l->n_bottom == 1 && g_hash_table_contains (b->labels, l->bottom[0])) {
    for (gsize i = 0; i < l->n_top; i++)
      g_hash_table_add (b->labels, g_string_chunk_insert_const (b->strings, l->top[i]));
    return TRUE;
  }
  if (!read_bottoms (b, l, 1, 1, in, error))
    return FALSE;
  for (gsize i = 0; i < l->n_top; i++) {
    if (!l->top[i] || g_hash_table_contains (b->blobs, l->top[i])) {
      if (l->top[i] && strcmp (l->top[i], l->bottom[0]) == 0)
        continue;
      return dd_fail (error, DD_ERROR_INVALID,
                      "layer '%s' writes blob '%s', which an earlier layer made", l->name,
                      l->top[i] ? l->top[i] : "");
    }
    g_hash_table_insert (b->blobs, g_string_chunk_insert_const (b->strings, l->top[i]),
                         (gpointer) in[0]);
  }
  return TRUE;
}

typedef gboolean (*LayerFunc) (Builder *b, const Layer *l, GError **error);

static const struct {
  const char *type;
  LayerFunc func;
} layer_funcs[] = {
  { "Convolution", convolution },
  { "Pooling", pooling },
  { "LRN", lrn },
  { "ReLU", relu },
  { "Concat", concat },
  { "Eltwise", eltwise },
  { "InnerProduct", inner_product },
  { "Softmax", softmax },
  { "Flatten", flatten },
  { "BatchNorm", batch_norm },
  { "Scale", scale },
  { "Split", pass_through },
  { "Dropout", pass_through },
};

/* ---- Inputs and preprocessing ------------------------------------------------ */

static gboolean
set_input (Builder *b, const char *blob, int64_t channels, GError **error)
{
  if (b->input) {
    if (strcmp (b->input, blob) == 0)
      return TRUE;
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "the net has several inputs ('%s', '%s'); only single-image nets are "
                    "supported",
                    b->input, blob);
  }
  b->input = g_string_chunk_insert_const (b->strings, blob);
  b->input_channels = channels;
  b->input_value = claim_name (b, blob);
  g_hash_table_insert (b->blobs, (gpointer) b->input, (gpointer) b->input_value);
  return TRUE;
}

/* The deprecated NetParameter.input with input_dim (4 per input) or
 * input_shape. */
static gboolean
read_net_input (Builder *b, const Caffe__NetParameter *net, GError **error)
{
  if (net->n_input == 0)
    return TRUE;
  if (net->n_input > 1)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "the net has %zu inputs; only single-image nets are supported", net->n_input);
  int64_t channels = -1;
  if (net->n_input_dim >= 2)
    channels = net->input_dim[1];
  else if (net->n_input_shape >= 1 && net->input_shape[0]->n_dim >= 2)
    channels = net->input_shape[0]->dim[1];
  return set_input (b, net->input[0] ? net->input[0] : "", channels, error);
}

/* A data layer of any phase names the image: a training snapshot keeps only
 * the TRAIN one. Its other tops are labels; its transform_param is the
 * preprocessing, the TEST phase's when there is one. */
static gboolean
read_data_layer (Builder *b, const Layer *l, gboolean test, GError **error)
{
  if (l->n_top < 1 || !l->top[0])
    return dd_fail (error, DD_ERROR_INVALID, "data layer '%s' has no top", l->name);
  if (!set_input (b, l->top[0], -1, error))
    return FALSE;
  for (gsize i = 1; i < l->n_top; i++)
    if (l->top[i])
      g_hash_table_add (b->labels, g_string_chunk_insert_const (b->strings, l->top[i]));
  if (l->transform && (!b->transform || (test && !b->transform_test))) {
    b->transform = l->transform;
    b->transform_test = test;
  }
  return TRUE;
}

static gboolean
read_input_layer (Builder *b, const Layer *l, GError **error)
{
  if (l->n_top != 1 || !l->top[0])
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "input layer '%s' has %zu tops; only single-image nets are supported", l->name,
                    l->n_top);
  int64_t channels = -1;
  if (l->input && l->input->n_shape >= 1 && l->input->shape[0]->n_dim >= 2)
    channels = l->input->shape[0]->dim[1];
  return set_input (b, l->top[0], channels, error);
}

/* The image input's value: its channel count, from the file or the first
 * convolution's weights. */
static gboolean
add_input_value (Builder *b, GError **error)
{
  if (!b->input)
    return dd_fail (error, DD_ERROR_INVALID, "the net has no image input (no input or data layer)");
  if (b->input_channels < 1 || b->input_channels > 64)
    return dd_fail (error, DD_ERROR_UNSUPPORTED,
                    "input '%s' needs a fixed channel count of 1 to 64 (has %s)", b->input,
                    b->input_channels < 1 ? "none" : "too many");
  int id = dd_model_add_value (b->m, b->input_value, error);
  if (id < 0)
    return FALSE;
  b->m->values[id].shape = (DdShape){ .rank = 4, .d = { -1, b->input_channels, -1, -1 } };
  b->m->input = id;
  return TRUE;
}

/* transform_param as the model's preprocessing: Caffe subtracts the mean,
 * then multiplies by scale, on pixels of 0..255 in the order its image
 * reader (OpenCV) gives, BGR. A mean file is an image of its own, which is
 * not read: then the file states no preprocessing. */
static void
read_preprocessing (Builder *b)
{
  const Caffe__TransformationParameter *t = b->transform;
  if (!t || b->input_channels != 3 || (t->mean_file && *t->mean_file) ||
      (t->n_mean_value != 0 && t->n_mean_value != 1 && t->n_mean_value != 3) || t->scale <= 0 ||
      !isfinite (t->scale))
    return;
  DdPreprocessing *p = &b->m->preprocessing;
  p->bgr = TRUE;
  p->range = 255;
  for (int i = 0; i < 3; i++) {
    p->mean[i] = t->n_mean_value == 0 ? 0 : t->mean_value[t->n_mean_value == 1 ? 0 : i];
    p->std[i] = 1 / t->scale;
  }
  b->m->has_preprocessing = TRUE;
}

/* ---- The net ------------------------------------------------------------------ */

static gboolean
read_layer (Builder *b, const Layer *l, GError **error)
{
  gboolean test = FALSE;
  if (!in_test_phase (l, &test, error))
    return FALSE;
  if (is_data_layer (l))
    return read_data_layer (b, l, test, error);
  if (!test || is_training_layer (l))
    return TRUE;
  if (strcmp (l->type, "Input") == 0)
    return read_input_layer (b, l, error);
  for (gsize i = 0; i < G_N_ELEMENTS (layer_funcs); i++)
    if (strcmp (l->type, layer_funcs[i].type) == 0)
      return layer_funcs[i].func (b, l, error);
  return dd_fail (error, DD_ERROR_UNSUPPORTED, "layer '%s' has type %s, which is not supported",
                  l->name, *l->type ? l->type : "(none)");
}

static gboolean
read_layers (Builder *b, const Caffe__NetParameter *net, GError **error)
{
  const gsize n = net->n_layer ? net->n_layer : net->n_layers;
  if (net->n_layer && net->n_layers)
    return dd_fail (error, DD_ERROR_INVALID,
                    "the net has layers in both the V1 and the V2 format, which Caffe refuses");
  if (n > DD_MAX_NODES)
    return dd_fail (error, DD_ERROR_UNSUPPORTED, "the net has %zu layers; at most %d are supported",
                    n, DD_MAX_NODES);
  for (gsize i = 0; i < net->n_layers; i++)
    if (net->layers[i]->layer)
      return dd_fail (error, DD_ERROR_UNSUPPORTED,
                      "this is a Caffe V0 file (from before 2014), which is not supported: "
                      "convert it with Caffe's upgrade_net_proto_binary");
  if (!read_net_input (b, net, error))
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    Layer l = net->n_layer ? layer_from_v2 (net->layer[i], i, b->strings)
                           : layer_from_v1 (net->layers[i], i, b->strings);
    if (!read_layer (b, &l, error))
      return FALSE;
  }
  if (!b->output)
    return dd_fail (error, DD_ERROR_INVALID, "the net has no layer that computes anything");
  return TRUE;
}

DdModel *
dd_caffe_load (const guint8 *data, gsize size, GError **error)
{
  Caffe__NetParameter *net = size ? caffe__net_parameter__unpack (NULL, size, data) : NULL;
  if (!net || (net->n_layer == 0 && net->n_layers == 0)) {
    if (net)
      caffe__net_parameter__free_unpacked (net, NULL);
    dd_fail (error, DD_ERROR_PARSE, "not a Caffe model, or the file is truncated (%zu bytes)",
             size);
    return NULL;
  }
  DdModel *m = dd_model_alloc ();
  m->opset = 13; /* Softmax over one axis, as Caffe's */
  m->doc = g_strdup (net->name ? net->name : "");
  Builder b = { .m = m,
                .strings = g_string_chunk_new (4096),
                .allocs = g_ptr_array_new_with_free_func (g_free),
                .specs = g_array_new (FALSE, FALSE, sizeof (DdNodeSpec)),
                .blobs = g_hash_table_new (g_str_hash, g_str_equal),
                .taken = g_hash_table_new (g_str_hash, g_str_equal),
                .labels = g_hash_table_new (g_str_hash, g_str_equal) };
  gboolean ok =
      read_layers (&b, net, error) && add_input_value (&b, error) &&
      dd_model_add_nodes (m, (DdNodeSpec *) (void *) b.specs->data, (int) b.specs->len, error) &&
      dd_model_set_output (m, b.output, error);
  if (ok)
    read_preprocessing (&b);
  g_hash_table_destroy (b.labels);
  g_hash_table_destroy (b.taken);
  g_hash_table_destroy (b.blobs);
  g_array_free (b.specs, TRUE);
  g_ptr_array_free (b.allocs, TRUE);
  g_string_chunk_free (b.strings);
  caffe__net_parameter__free_unpacked (net, NULL);
  if (!ok) {
    dd_model_unref (m);
    return NULL;
  }
  return m;
}
