/* dd-ops.h: the contract between the executor and the ops.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every op is a DdOpClass: it reads its attributes once at load time
 * (setup), infers its output shape for a concrete input size (infer), and
 * runs forward and backward-to-inputs on buffers the executor owns. Ops never
 * allocate: anything they need between forward and backward lives in
 * "saved", anything they need only while running lives in "work".
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#define DD_MAX_RANK 6
#define DD_MAX_INPUTS 16

typedef struct {
  int rank;
  int64_t d[DD_MAX_RANK];
} DdShape;

int64_t dd_shape_numel (const DdShape *s);
gboolean dd_shape_equal (const DdShape *a, const DdShape *b);
/* "[1,512,14,18]" into buf. */
const char *dd_shape_format (const DdShape *s, char *buf, gsize size);

/* Attributes of every op, parsed and checked by the op's setup. */
typedef struct {
  /* Conv, MaxPool, AveragePool: spatial (H, W) only. */
  int64_t kernel[2], stride[2], dilation[2];
  int64_t pads[4]; /* top, left, bottom, right */
  int64_t group;
  gboolean ceil_mode, count_include_pad;
  /* LRN (size, alpha, beta, bias), LeakyRelu (alpha), Gemm (alpha, beta) */
  int64_t size;
  float alpha, beta, bias;
  float min, max;            /* Clip */
  float epsilon;             /* BatchNormalization */
  int64_t axis;              /* Concat, Flatten, Softmax */
  gboolean legacy_softmax;   /* opset < 13: coerce to 2-D at axis */
  gboolean trans_a, trans_b; /* Gemm */
  /* Pad: pad_nd[i] pads axis i at its start, pad_nd[DD_MAX_RANK + i] at
   * its end, for the first `size` axes (size must equal the input rank). */
  int64_t pad_nd[2 * DD_MAX_RANK];
  float pad_value;
  DdShape reshape; /* Reshape as written: 0 copies, -1 infers */
  /* Conv on the Winograd path with constant weights: a cell of its own
   * (owned by the model) for those weights transformed, which the first
   * run fills (NULL until then); NULL for other convs. A cell rather than
   * the pointer so that a run can fill it through const attributes, and
   * only convs that run pay for it: GoogLeNet's 3x3 convs beyond
   * inception_4c, never run when dreaming it, would take 63 MB. */
  float **winograd_weights;
} DdAttrs;

/* What an op's setup sees of a node while the model loads, whatever its
 * file format (graph.c). */
typedef struct _DdNodeDesc DdNodeDesc;

gboolean dd_node_attr_int (const DdNodeDesc *n, const char *name, int64_t def, int64_t *out,
                           GError **error);
gboolean dd_node_attr_float (const DdNodeDesc *n, const char *name, float def, float *out,
                             GError **error);
/* Reads up to max ints; *count gets how many there were (0 when absent). */
gboolean dd_node_attr_ints (const DdNodeDesc *n, const char *name, int64_t *out, int max,
                            int *count, GError **error);
/* TRUE when the attribute is present as a string; *out is borrowed. */
gboolean dd_node_attr_string (const DdNodeDesc *n, const char *name, const char **out);
int dd_node_n_inputs (const DdNodeDesc *n); /* including empty optional slots */
gboolean dd_node_has_input (const DdNodeDesc *n, int i);
int dd_node_opset (const DdNodeDesc *n);
const char *dd_node_name (const DdNodeDesc *n);
/* Constant input i (an initializer or a Constant node's value), or FALSE. */
gboolean dd_node_const_floats (const DdNodeDesc *n, int i, const float **data, int64_t *count);
gboolean dd_node_const_ints (const DdNodeDesc *n, int i, const int64_t **data, int64_t *count);
gboolean dd_node_const_shape (const DdNodeDesc *n, int i, DdShape *shape);
/* Declares that only the first n inputs carry data; the rest were parameters
 * that setup folded into the attributes (Clip's min/max, Pad's pads...). */
void dd_node_set_data_inputs (DdNodeDesc *n, int count);
/* Declares that input i must be a constant (Conv weights...). */
void dd_node_require_const (DdNodeDesc *n, int i);

/* One call of an op. Input i is x[i] with shape xs[i]; constants are
 * ordinary inputs. Backward reads gy and writes gx[i] for each i with a
 * non-NULL gx[i]: overwriting it, or adding to it when gx_add[i] is TRUE.
 * Two slots can share one gx buffer (Mul(x, x)): write slots in order. */
typedef struct {
  const DdAttrs *a;
  int n_in;
  const float *x[DD_MAX_INPUTS];
  const DdShape *xs[DD_MAX_INPUTS];
  float *y;
  const DdShape *ys;
  float *saved; /* saved_floats() floats, kept from forward to backward */
  float *work;  /* work_floats() floats, scratch for this call only */
  /* A ReLU follows in place and the executor skips it. Forward: an op that
   * can (Conv) applies it to y itself and writes the ReLU's mask here (one
   * byte per element, see dd_bias_relu). Backward, when the executor skips
   * the ReLU's backward too (dd_conv_fuses_relu_backward): gy is the
   * ReLU's output gradient, to be multiplied by this mask. */
  guint8 *relu_mask;
  const float *gy;
  float *gx[DD_MAX_INPUTS];
  gboolean gx_add[DD_MAX_INPUTS];
} DdOpCtx;

typedef struct {
  const char *onnx_name;
  int min_inputs, max_inputs;
  gboolean (*setup) (DdAttrs *a, DdNodeDesc *n, GError **error);
  gboolean (*infer) (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error);
  /* NULL means 0. Both in floats. */
  gsize (*saved_floats) (const DdAttrs *a, const DdShape *in, const DdShape *out);
  gsize (*work_floats) (const DdAttrs *a, const DdShape *in, const DdShape *out);
  void (*forward) (const DdOpCtx *c);
  void (*backward) (const DdOpCtx *c);
  guint backward_reads_inputs; /* bit i: backward reads x[i] */
  gboolean backward_reads_output;
  gboolean view; /* y is x[0] reinterpreted: no forward, gx[0] is gy */
  /* forward works with y == x[0], and backward with gx[0] == gy (it reads
   * only y and gy): the executor may then give y the storage of x[0]. */
  gboolean inplace;
} DdOpClass;

const DdOpClass *dd_op_lookup (const char *onnx_name);

/* The op families, one file each in engine/ops/. */
extern const DdOpClass dd_op_conv;
extern const DdOpClass dd_op_relu, dd_op_leaky_relu, dd_op_clip, dd_op_sigmoid;
extern const DdOpClass dd_op_max_pool, dd_op_average_pool, dd_op_global_average_pool;
extern const DdOpClass dd_op_lrn;
extern const DdOpClass dd_op_add, dd_op_mul, dd_op_batch_norm;
extern const DdOpClass dd_op_gemm, dd_op_matmul;
extern const DdOpClass dd_op_concat, dd_op_flatten, dd_op_reshape, dd_op_identity, dd_op_dropout,
    dd_op_pad;
extern const DdOpClass dd_op_softmax;

/* Hot loops are compiled for AVX-512, AVX2 and the baseline, chosen at
 * load time for the CPU at hand (GCC and clang function multi-versioning).
 * Not in sanitizer builds: their ifunc resolvers would run before the
 * sanitizer runtime is up. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DD_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) &&                  \
    !defined(DD_NO_CLONES)
#define DD_VECTOR_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define DD_VECTOR_CLONES
#endif

/* Winograd F(4x4, 3x3) convolution (ops/winograd.c), Conv's path for 3x3
 * stride-1 kernels: out[o][y][x] = sum over i, ky, kx of
 * kernel(o, i)[ky][kx] * in[i][y + dy + ky][x + dx + kx], zero outside in. */
typedef struct {
  int64_t k, n;   /* channels read and written */
  int64_t h, w;   /* plane read */
  int64_t oh, ow; /* plane written */
  int64_t dy, dx;
  /* FALSE: kernel(o, i) = weights[o][i]. TRUE, for Conv's backward:
   * kernel(o, i) = weights[i][o] rotated by 180 degrees. */
  gboolean backward;
  /* The weights as dd_winograd_weights made them (both directions), or
   * NULL: then each run transforms them into its work buffer. */
  const float *transformed;
  /* Forward only, either may be NULL: a bias per output channel, and the
   * mask of a ReLU applied after it (laid out as out). */
  const float *bias;
  guint8 *relu_mask;
} DdWinograd;

/* The transform of weights [planes 3x3 kernels], each rotated by 180
 * degrees when flip is TRUE: 36 * planes floats. */
void dd_winograd_transform (int64_t planes, const float *weights, gboolean flip,
                            float *transformed);
/* Both transforms of weights [out][in][3x3], forward then flipped, in one
 * new block (free) laid out for the products dd_winograd_run will take
 * (dd_product's kernel or OpenBLAS, as chosen now), or NULL when there is
 * not enough memory for it. */
float *dd_winograd_weights (int64_t out, int64_t in, const float *weights);
/* Work floats for dd_winograd_run with `budget` floats for each thread's
 * block of tiles (at least 16 tiles are taken), and transformed: whether
 * p->transformed will be set. */
gsize dd_winograd_work_floats (const DdWinograd *p, gboolean transformed, gsize budget);
/* Writes out, or adds to it when add is TRUE. weights: [3x3 kernels]. */
void dd_winograd_run (const DdWinograd *p, const float *weights, const float *in, float *out,
                      gboolean add, float *work, gsize budget);

/* A convolution's product, single-threaded (ops/product.c): C [m, n] =
 * A B; A's element (i, k) at a[i * a_row + k * a_col]
 * (one of the two strides 1), B [k, n] with rows ldb apart, C's rows ldc
 * apart. Then, per row i, C += bias[i] when bias is not NULL and the ReLU
 * when relu_mask is not NULL (its mask laid out as C, as dd_bias_relu).
 * stream: C is far bigger than the caches (see dd_bias_relu_stream).
 * pack: NULL, or dd_product_pack_floats (k) floats to copy B into, a
 * panel of columns at a time, when its rows lie far apart in memory: rows
 * a multiple of 4 KB apart share cache sets, and the kernel walks k of
 * them side by side..
 * a_block, b_packed: operands already in the layout the AVX-512 kernel
 * reads, made only where dd_product_packs () (Winograd's products, whose
 * operands are made for it), and read by that kernel alone: with a_block not 0, rows [8b, 8b + 8)
 * of A start at a + b * a_block (a_row 1 and a_col 8 then read them as 8 side by side for each k);
 * with b_packed, B is tiles of DD_PRODUCT_TILE columns, each k rows of DD_PRODUCT_TILE floats, k *
 * DD_PRODUCT_TILE floats apart (ldb unused), the tiles' columns past n never read. */
typedef struct {
  int64_t m, n, k;
  const float *a;
  int64_t a_row, a_col;
  const float *b;
  int64_t ldb;
  float *c;
  int64_t ldc;
  gboolean stream;
  const float *bias;
  guint8 *relu_mask;
  float *pack;
  int64_t a_block;
  gboolean b_packed;
} DdProduct;
void dd_product (const DdProduct *p);
/* Columns of B packed at a time, and columns of the kernel's tile (of 8
 * rows of A). */
#define DD_PRODUCT_PANEL 192
#define DD_PRODUCT_TILE 48
#define DD_PRODUCT_ROWS 8
/* The AVX-512 tiles' last rows of a product: ROWS (r) for r = n (1 to
 * DD_PRODUCT_ROWS - 1) as a constant at each call, so that the tile keeps
 * only as many accumulators as it needs, in registers. */
#define DD_PRODUCT_LAST_ROWS(n, ROWS)                                                              \
  do {                                                                                             \
    switch (n) {                                                                                   \
    case 7:                                                                                        \
      ROWS (7);                                                                                    \
      break;                                                                                       \
    case 6:                                                                                        \
      ROWS (6);                                                                                    \
      break;                                                                                       \
    case 5:                                                                                        \
      ROWS (5);                                                                                    \
      break;                                                                                       \
    case 4:                                                                                        \
      ROWS (4);                                                                                    \
      break;                                                                                       \
    case 3:                                                                                        \
      ROWS (3);                                                                                    \
      break;                                                                                       \
    case 2:                                                                                        \
      ROWS (2);                                                                                    \
      break;                                                                                       \
    case 1:                                                                                        \
      ROWS (1);                                                                                    \
      break;                                                                                       \
    default:                                                                                       \
      break;                                                                                       \
    }                                                                                              \
  } while (0)
G_STATIC_ASSERT (DD_PRODUCT_ROWS == 8);
gsize dd_product_pack_floats (int64_t k);
/* dd_product's kernels: its own for AVX-512, its own for AVX2 with FMA
 * (CPUs without AVX-512), or OpenBLAS followed by a pass for bias and
 * ReLU. */
typedef enum {
  DD_PRODUCT_AUTO, /* the best this CPU runs */
  DD_PRODUCT_BLAS,
  DD_PRODUCT_AVX2,
  DD_PRODUCT_AVX512,
} DdProductKernel;
/* The kernel dd_product runs. */
DdProductKernel dd_product_kernel (void);
const char *dd_product_kernel_name (DdProductKernel kernel);
/* Whether that is one of its own kernels rather than OpenBLAS. */
gboolean dd_product_direct (void);
/* Whether it is the one that reads operands packed in its layout
 * (DdProduct.a_block, b_packed): the AVX-512 kernel. */
gboolean dd_product_packs (void);
/* Test and benchmark hook: dd_product runs the kernel given from now on
 * (DD_PRODUCT_AUTO: the best again), so that a CPU with AVX-512 tests and
 * measures the paths the others take. FALSE, changing nothing, for a
 * kernel this CPU cannot run. */
gboolean dd_product_force (DdProductKernel kernel);

/* A stride-1 convolution's product read straight from zero-padded planes
 * (ops/direct.c), single-threaded, where dd_direct_available (): for each
 * of m output channels i, output row r < rows and column x < cols,
 *   C[i * ldc + r * cols + x] = sum over k in order of A (i, k) *
 *                               in[off[k] + r * pitch + x]
 * (A as in DdProduct), then plus bias[i] and the ReLU as dd_product's;
 * with add, C's element plus the sum instead (no bias). off[k] is where
 * tap k reads, its channel's plane and its place in the kernel. */
typedef struct {
  int64_t m, k;
  const float *a;
  int64_t a_row, a_col;
  const float *in;
  const int32_t *off;
  int64_t pitch;
  int64_t rows, cols;
  float *c;
  int64_t ldc;
  gboolean add, stream;
  const float *bias;
  guint8 *relu_mask;
} DdDirect;
void dd_direct (const DdDirect *p);
gboolean dd_direct_available (void);

/* Test and benchmark hooks for Conv, set before planning: the budget in
 * floats of an im2col band or a Winograd block (0: the defaults) and
 * whether 3x3 stride-1 convs may take the Winograd path. */
void dd_conv_configure (gsize budget, gboolean winograd);
/* Test and benchmark hook, set before running: whether stride-1 convs
 * that are not Winograd's may take the direct path (dd_direct) where the
 * CPU has it, rather than im2col and dd_product. */
void dd_conv_configure_direct (gboolean direct);
/* Whether a Conv with these attributes and input takes the Winograd path. */
gboolean dd_conv_uses_winograd (const DdAttrs *a, const DdShape *x, const DdShape *y);
/* Whether its backward applies a following ReLU's mask to gy on the way in
 * (DdOpCtx.relu_mask) rather than in a pass of its own: the im2col path,
 * which masks each block of gy into a cache-sized buffer for sgemm (conv1:
 * -2 ms a step), and the direct path, as it copies gy into padded blocks.
 * Winograd's input transform could too, but measured no faster than the
 * ReLU's pass. */
gboolean dd_conv_fuses_relu_backward (const DdAttrs *a, const DdShape *x, const DdShape *y);
/* Makes a Conv's kept Winograd weights, when it uses them for x -> y, at
 * planning, where running out of memory is an error and not, as in a
 * forward or backward run, the end of the process. */
gboolean dd_conv_prepare (const DdAttrs *a, const DdShape *x, const DdShape *y,
                          const float *weights, const char *name, GError **error);

/* Whether input i of a Concat lies in its output as one run of floats (all
 * axes before the concatenation axis of length 1), and where: offset. */
gboolean dd_concat_slab (const DdAttrs *a, int n_in, const DdShape *in, const DdShape *out, int i,
                         int64_t *offset);

/* Shared helpers for the ops. */
/* How many threads' buffer sets an op reserves in its work buffer: a
 * constant of the process (the processor count), so a plan's buffers fit
 * every later run whatever the thread count is then. */
int dd_thread_slots (void);
#define DD_HUGE_PAGE ((gsize) 2 << 20) /* x86-64's transparent huge page */
/* bytes on a 2 MB boundary, advised to be backed by transparent huge pages
 * (THP in "madvise" mode, Debian's default, gives them only when asked):
 * for the big buffers every step streams through: the plan's, the
 * Winograd weights, a dream's image-sized planes. Freed with free ();
 * NULL when out of memory. */
void *dd_alloc_huge (gsize bytes);
/* Runs fn (data, chunk, slot) for every chunk in [0, n_chunks), shared
 * out among the engine's threads as they come free (pool.c); slot, below
 * dd_thread_slots (), names the thread's own buffers. Returns when every
 * chunk is done. Products inside run single-threaded. */
typedef void (*DdChunkFunc) (gpointer data, int64_t chunk, int slot);
void dd_parallel (int64_t n_chunks, DdChunkFunc fn, gpointer data);
/* Runs fn (data, from, to, slot) over [0, n) cut into ranges of at most
 * `block` items (dd_balanced_block), each a multiple of `align` items but
 * the last, through dd_parallel: for the memory-bound ops, whose items are
 * independent, so the result does not depend on the cut. */
/* Floats in a block of an elementwise op's work (dd_parallel_range):
 * small enough that a thread the scheduler delays late in an op holds the
 * others up only briefly, large enough that a block's claim costs
 * nothing against its memory traffic. GoogLeNet's ReLU backward at
 * 1024x768 (build/tools/bench) beside a shell busy loop on 2 cores took the
 * same with blocks of 16 K to 256 K floats (medians 7.3-7.5 ms a step,
 * spread 5.3-9.5 ms). */
#define DD_STREAM_BLOCK (1 << 16)
typedef void (*DdRangeFunc) (gpointer data, int64_t from, int64_t to, int slot);
void dd_parallel_range (int64_t n, int64_t block, int64_t align, DdRangeFunc fn, gpointer data);
/* Items of `floats` floats each (rows, planes) in a block of about
 * DD_STREAM_BLOCK floats: at least one. */
int64_t dd_stream_items (int64_t floats);
/* The same for the planes of x, its first two dimensions. */
int64_t dd_stream_planes (const DdShape *x);
/* Has OpenBLAS make a buffer for each thread dd_parallel may run a product
 * on at once: it maps one (128 MB) when a product finds none free, and
 * retries forever when it cannot. Called before a plan takes its memory,
 * so that running short is the plan's clean error instead. */
void dd_parallel_prepare (void);
/* Blocks a thread, at least, in work shared out as threads come free: a
 * thread slowed by another program on its core then takes fewer blocks
 * instead of holding the others at the end. */
#define DD_SHARE_BLOCKS 8
/* The size, at most `block`, of blocks that share n items out evenly in a
 * multiple of `multiple` blocks, and in at least DD_SHARE_BLOCKS a thread
 * (when n has that many items): small images then still keep every thread
 * busy to the end. */
int64_t dd_balanced_block (int64_t n, int64_t block, int64_t multiple);
/* The distance in floats to put between rows of len floats that a loop
 * walks side by side: len rounded up to an odd number of 64-byte lines.
 * Rows a multiple of 4 KB apart share one cache set (8 ways), so a loop
 * over 16 of them misses on every access; an odd number of lines sends
 * each of 64 rows in turn to a set of its own. */
int64_t dd_cache_stride (int64_t len);
/* y[i] = x[i] + bias over n elements, then, when relu_mask is not NULL,
 * max(y[i], 0) recording y[i] > 0 there; x may be y. Relu's forward, and a
 * Conv's finish on a block of output while it is still in cache. */
void dd_bias_relu (const float *x, float *y, gint64 n, float bias, guint8 *relu_mask);
/* The same with stores that bypass the cache where the CPU has them
 * (AVX-512): for outputs far bigger than the cache, whose lines would
 * otherwise be read from memory only to be overwritten. */
void dd_bias_relu_stream (const float *x, float *y, gint64 n, float bias, guint8 *relu_mask);
/* gx[i] = gy[i] * mask[i] (or += when add), a ReLU's backward over n
 * elements. */
void dd_relu_gradient (const guint8 *mask, const float *gy, float *gx, gboolean add, gint64 n);
GQuark dd_error_quark (void);
/* Sets a DD_ERROR with code and a printf-style message; returns FALSE. */
gboolean dd_fail (GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
/* dd_fail with DD_ERROR_UNSUPPORTED, for ops' setup and infer. */
gboolean dd_op_fail (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* The largest kernel, stride, dilation or pad any op accepts: far beyond
 * real networks, small enough that no size arithmetic overflows. */
#define DD_MAX_WINDOW (1 << 20)

/* Output length of a pooling or convolution window along one axis;
 * -1 when the window does not fit. */
int64_t dd_window_out (int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                       int64_t pad_end, gboolean ceil_mode);
/* Parses kernel_shape/strides/dilations/pads/auto_pad for 2-D windows. */
gboolean dd_window_setup (DdAttrs *a, DdNodeDesc *n, gboolean need_kernel, GError **error);
