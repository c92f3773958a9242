/* ops.c: the op registry and helpers the op families share.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-ops.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dd-runtime.h"

static const DdOpClass *const all_ops[] = {
  &dd_op_conv,    &dd_op_relu,     &dd_op_leaky_relu,   &dd_op_clip,
  &dd_op_sigmoid, &dd_op_max_pool, &dd_op_average_pool, &dd_op_global_average_pool,
  &dd_op_lrn,     &dd_op_add,      &dd_op_mul,          &dd_op_batch_norm,
  &dd_op_gemm,    &dd_op_matmul,   &dd_op_concat,       &dd_op_flatten,
  &dd_op_reshape, &dd_op_identity, &dd_op_dropout,      &dd_op_pad,
  &dd_op_softmax,
};

const DdOpClass *
dd_op_lookup (const char *onnx_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (all_ops); i++)
    if (strcmp (all_ops[i]->onnx_name, onnx_name) == 0)
      return all_ops[i];
  return NULL;
}

/* Asked once: g_get_num_processors reads a sysfs file at every call, and
 * the ops ask at every run (1.4 % of a one-step dream's CPU time). */
int
dd_thread_slots (void)
{
  static gsize slots;
  if (g_once_init_enter (&slots))
    g_once_init_leave (&slots, (gsize) MAX (g_get_num_processors (), 1));
  return (int) slots;
}

void *
dd_alloc_huge (gsize bytes)
{
  void *p = NULL;
  if (posix_memalign (&p, DD_HUGE_PAGE, MAX (bytes, 1)) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  /* Only the whole huge pages inside can be huge; a refusal leaves the
   * memory as it was, in small pages. */
  if (bytes >= DD_HUGE_PAGE)
    madvise (p, bytes / DD_HUGE_PAGE * DD_HUGE_PAGE, MADV_HUGEPAGE);
#endif
  return p;
}

int64_t
dd_cache_stride (int64_t len)
{
  const int64_t lines = (len + 15) / 16;
  return (lines | 1) * 16;
}

int64_t
dd_balanced_block (int64_t n, int64_t block, int64_t multiple)
{
  block = MAX (block, 1);
  int64_t blocks = MAX ((n + block - 1) / block, DD_SHARE_BLOCKS * dd_thread_slots ());
  blocks = MAX ((blocks + multiple - 1) / multiple * multiple, 1);
  return MAX ((n + blocks - 1) / blocks, 1);
}

typedef struct {
  int64_t n, block;
  DdRangeFunc fn;
  gpointer data;
} RangeJob;

static void
range_chunk (gpointer data, int64_t chunk, int slot)
{
  const RangeJob *j = data;
  const int64_t from = chunk * j->block;
  j->fn (j->data, from, MIN (from + j->block, j->n), slot);
}

void
dd_parallel_range (int64_t n, int64_t block, int64_t align, DdRangeFunc fn, gpointer data)
{
  if (n <= 0)
    return;
  align = MAX (align, 1);
  const int64_t balanced = dd_balanced_block (n, block, 1);
  RangeJob j = { n, (balanced + align - 1) / align * align, fn, data };
  dd_parallel ((n + j.block - 1) / j.block, range_chunk, &j);
}

int64_t
dd_stream_items (int64_t floats)
{
  return MAX (DD_STREAM_BLOCK / MAX (floats, 1), 1);
}

int64_t
dd_stream_planes (const DdShape *x)
{
  return dd_stream_items (dd_shape_numel (x) / MAX (x->d[0] * x->d[1], 1));
}

static gboolean
fail_with (GError **error, int code, const char *fmt, va_list args)
{
  char *msg = g_strdup_vprintf (fmt, args);
  g_set_error_literal (error, DD_ERROR, code, msg);
  g_free (msg);
  return FALSE;
}

gboolean
dd_fail (GError **error, int code, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  fail_with (error, code, fmt, args);
  va_end (args);
  return FALSE;
}

gboolean
dd_op_fail (GError **error, const char *fmt, ...)
{
  va_list args;
  va_start (args, fmt);
  fail_with (error, DD_ERROR_UNSUPPORTED, fmt, args);
  va_end (args);
  return FALSE;
}

int64_t
dd_window_out (int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
               int64_t pad_end, gboolean ceil_mode)
{
  int64_t span = (k - 1) * dilation + 1;
  int64_t room = in + pad_begin + pad_end - span;
  if (room < 0 || stride <= 0)
    return -1;
  int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  /* Caffe and PyTorch drop a last ceil-mode window that would start in the
   * end padding; ONNX has since adopted the same rule. */
  if (ceil_mode && (out - 1) * stride >= in + pad_begin)
    out--;
  return out;
}

gboolean
dd_window_setup (DdAttrs *a, DdNodeDesc *n, gboolean need_kernel, GError **error)
{
  int count;
  const char *auto_pad;

  if (!dd_node_attr_ints (n, "kernel_shape", a->kernel, 2, &count, error))
    return FALSE;
  if (count == 0 && need_kernel)
    return dd_op_fail (error, "node '%s': kernel_shape is missing", dd_node_name (n));
  if (count != 0 && count != 2)
    return dd_op_fail (error,
                       "node '%s': only 2-D windows are supported (kernel_shape has %d values)",
                       dd_node_name (n), count);
  if (count != 0 && (a->kernel[0] < 1 || a->kernel[1] < 1))
    return dd_op_fail (error, "node '%s': kernel_shape must be positive", dd_node_name (n));

  a->stride[0] = a->stride[1] = 1;
  if (!dd_node_attr_ints (n, "strides", a->stride, 2, &count, error))
    return FALSE;
  if (count != 0 && count != 2)
    return dd_op_fail (error, "node '%s': strides needs 2 values, has %d", dd_node_name (n), count);
  a->dilation[0] = a->dilation[1] = 1;
  if (!dd_node_attr_ints (n, "dilations", a->dilation, 2, &count, error))
    return FALSE;
  if (count != 0 && count != 2)
    return dd_op_fail (error, "node '%s': dilations needs 2 values, has %d", dd_node_name (n),
                       count);
  memset (a->pads, 0, sizeof a->pads);
  int64_t pads[4] = { 0 };
  if (!dd_node_attr_ints (n, "pads", pads, 4, &count, error))
    return FALSE;
  if (count != 0 && count != 4)
    return dd_op_fail (error, "node '%s': pads needs 4 values, has %d", dd_node_name (n), count);
  /* ONNX order: x1_begin, x2_begin, x1_end, x2_end; ours: top, left, bottom, right. */
  memcpy (a->pads, pads, sizeof pads);
  for (int i = 0; i < 2; i++)
    if (a->stride[i] < 1 || a->dilation[i] < 1)
      return dd_op_fail (error, "node '%s': strides and dilations must be positive",
                         dd_node_name (n));
  for (int i = 0; i < 4; i++)
    if (a->pads[i] < 0 || a->pads[i] > DD_MAX_WINDOW)
      return dd_op_fail (error, "node '%s': pads must be 0 to %d", dd_node_name (n), DD_MAX_WINDOW);
  for (int i = 0; i < 2; i++)
    if (a->kernel[i] > DD_MAX_WINDOW || a->stride[i] > DD_MAX_WINDOW ||
        a->dilation[i] > DD_MAX_WINDOW)
      return dd_op_fail (error, "node '%s': kernel, strides and dilations must be at most %d",
                         dd_node_name (n), DD_MAX_WINDOW);

  if (dd_node_attr_string (n, "auto_pad", &auto_pad) && strcmp (auto_pad, "NOTSET") != 0 &&
      strcmp (auto_pad, "VALID") != 0)
    return dd_op_fail (error, "node '%s': auto_pad=%s is not supported (use explicit pads)",
                       dd_node_name (n), auto_pad);

  int64_t ceil_mode = 0;
  if (!dd_node_attr_int (n, "ceil_mode", 0, &ceil_mode, error))
    return FALSE;
  a->ceil_mode = ceil_mode != 0;
  return TRUE;
}
