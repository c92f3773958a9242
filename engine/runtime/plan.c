/* plan.c: plan once, run forward and backward many times.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A plan keeps the nodes its targets need, fixes every shape, and gives
 * every activation, gradient and saved buffer a place in one arena. Places
 * are reused: each buffer has a lifetime on a timeline where forward step k
 * is time k, the caller's turn (reading targets, writing their gradients)
 * is time n and backward step k is time 2n - k, and two buffers share memory
 * only when their lifetimes do not meet.
 */
#include "dd-model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN 64

typedef struct {
  gsize bytes, offset;
  int start, end;
  float **where; /* gets the block's address */
} Block;

struct _DdPlan {
  DdModel *model;
  int n, *steps;           /* kept nodes, in order */
  gboolean *run_backward;  /* per step */
  gboolean *in_place;      /* per step: output shares input 0's storage */
  int *relu_of;            /* per step: the step of the in-place ReLU done here, or -1 */
  int *fused_into;         /* per step: the step that does this ReLU, or -1 */
  gboolean *relu_backward; /* per step: the ReLU's backward is done here too */
  gboolean *grad_add;      /* per step and input slot */
  DdShape *shapes;         /* per value */
  int *root;               /* per value: the value whose storage it uses */
  gboolean *needs_grad;    /* per value */
  int *readers;            /* per value: the steps that read it */
  float **act, **grad;     /* per root value */
  int *act_in, *grad_in;   /* per root value: the Concat output holding its data, or -1 */
  int64_t *slab_at;        /* per root value: where in that Concat's output, in floats */
  float **saved;           /* per step */
  int n_targets, *targets;
  float *input, *input_grad, *work, *arena; /* in memory */
  gsize arena_bytes, work_bytes, io_bytes;
  void *memory; /* one block for all four */
  gsize capacity;
  gboolean with_backward, measure_only, profiling;
  double *seconds_forward, *seconds_backward; /* per step */
};

/* A plan's memory, in huge pages (dd_alloc_huge), populated before the
 * first step a huge page per call, the calls shared by the threads. The
 * memory is all used from the first step on. On a 2-core virtual
 * machine, 190 MB of 4 KB pages cost 245 ms populated in one call and
 * 460 ms a fault at a time; in huge pages 20 ms while the host still
 * backed them from a run a moment before, and after a pause 300 ms in one
 * call, 130-220 ms in calls shared by two threads. A one-step 1024x768
 * dream (build/tools/bench-dream --case small) takes 0.53 s in huge pages
 * against 0.69 s in 4 KB pages run after run (medians), 0.69 against
 * 0.71 s after pauses; a 6000x4000 one (--case big) 3 % less. Kernels before 5.14
 * refuse the advice, and the pages come by faults; where the system has
 * not the memory, the plan fails here with a clear error rather than the
 * process later. */
static void *
plan_memory (gsize bytes)
{
  char *p = dd_alloc_huge (bytes);
  if (!p)
    return NULL;
#ifdef MADV_POPULATE_WRITE
  /* Each call starts on a huge page; the kernel rounds the last one's
   * length up to the page that holds the memory's end. */
  const gint64 chunks = (gint64) ((bytes + DD_HUGE_PAGE - 1) / DD_HUGE_PAGE);
  gboolean short_of_memory = FALSE;
#pragma omp parallel for schedule(static, 1)
  for (gint64 i = 0; i < chunks; i++) {
    const gsize at = (gsize) i * DD_HUGE_PAGE, len = MIN (DD_HUGE_PAGE, bytes - at);
    if (madvise (p + at, len, MADV_POPULATE_WRITE) != 0 && errno == ENOMEM)
      short_of_memory = TRUE;
  }
  if (short_of_memory) {
    free (p);
    return NULL;
  }
#endif
  return p;
}

static gsize
round_up (gsize bytes)
{
  return (bytes + ALIGN - 1) / ALIGN * ALIGN;
}

static gboolean
resolve_targets (DdPlan *p, const char *const *names, int count, GError **error)
{
  DdModel *m = p->model;
  if (count < 1) {
    g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "a plan needs at least one target tensor");
    return FALSE;
  }
  p->n_targets = count;
  p->targets = g_new (int, count);
  for (int i = 0; i < count; i++) {
    int v = dd_model_find (m, names[i]);
    if (v < 0 || m->values[v].unusable) {
      g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT, "the model has no tensor '%s'", names[i]);
      return FALSE;
    }
    if (m->values[v].producer < 0) {
      g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                   "'%s' is %s, not an activation of the network", names[i],
                   v == m->input ? "the input image" : "a weight or constant");
      return FALSE;
    }
    p->targets[i] = v;
  }
  return TRUE;
}

/* Marks the nodes the targets depend on; returns the per-node mask. */
static gboolean *
needed_nodes (DdPlan *p)
{
  DdModel *m = p->model;
  gboolean *keep = g_new0 (gboolean, m->n_nodes);
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (int));

  for (int i = 0; i < p->n_targets; i++)
    g_array_append_val (stack, m->values[p->targets[i]].producer);
  while (stack->len) {
    int node = g_array_index (stack, int, stack->len - 1);
    g_array_set_size (stack, stack->len - 1);
    if (keep[node])
      continue;
    keep[node] = TRUE;
    for (int i = 0; i < m->nodes[node].n_in; i++) {
      int v = m->nodes[node].in[i];
      if (v >= 0 && m->values[v].producer >= 0)
        g_array_append_val (stack, m->values[v].producer);
    }
  }
  return keep;
}

static const DdNode *
step_node (const DdPlan *p, int k)
{
  return &p->model->nodes[p->steps[k]];
}

/* An in-place ReLU of a Conv's output (the Conv's only reader) is folded
 * into the Conv's output pass, wherever the ReLU comes in the node order
 * (GoogLeNet's modules list their convs first, then their ReLUs), and into
 * its backward when the Conv can apply the mask on the way in
 * (dd_conv_fuses_relu_backward). Nothing else reads the Conv's output in
 * between, so nothing sees it rectified early. */
static void
fuse_relus (DdPlan *p)
{
  DdModel *m = p->model;
  g_autofree int *step_of = g_new (int, m->n_nodes);
  for (int i = 0; i < m->n_nodes; i++)
    step_of[i] = -1;
  for (int k = 0; k < p->n; k++)
    step_of[p->steps[k]] = k;
  p->relu_of = g_new (int, p->n);
  p->fused_into = g_new (int, p->n);
  p->relu_backward = g_new0 (gboolean, p->n);
  for (int k = 0; k < p->n; k++)
    p->relu_of[k] = p->fused_into[k] = -1;
  for (int r = 0; r < p->n; r++) {
    const DdNode *node = step_node (p, r);
    if (!p->in_place[r] || node->klass != &dd_op_relu)
      continue;
    const int producer = m->values[node->in[0]].producer;
    const int k = producer >= 0 ? step_of[producer] : -1;
    if (k < 0 || step_node (p, k)->klass != &dd_op_conv || p->relu_of[k] >= 0)
      continue;
    const DdNode *conv = step_node (p, k);
    p->relu_of[k] = r;
    p->fused_into[r] = k;
    p->relu_backward[k] =
        p->run_backward[r] && p->run_backward[k] &&
        dd_conv_fuses_relu_backward (&conv->a, &p->shapes[conv->in[0]], &p->shapes[conv->out]);
  }
}

/* Whether another step does step k's forward, or its backward
 * (fuse_relus). */
static gboolean
forward_done_elsewhere (const DdPlan *p, int k)
{
  return p->fused_into[k] >= 0;
}

static gboolean
backward_done_elsewhere (const DdPlan *p, int k)
{
  return p->fused_into[k] >= 0 && p->relu_backward[p->fused_into[k]];
}

/* Whether the caller reads or writes the storage of root value r. */
static gboolean
is_target_root (const DdPlan *p, int r)
{
  for (int i = 0; i < p->n_targets; i++)
    if (p->root[p->targets[i]] == r)
      return TRUE;
  return FALSE;
}

/* Whether step k may write its output over its input: the op allows it,
 * and nothing else reads that input (no other node, no caller). */
static gboolean
can_run_in_place (const DdPlan *p, int k)
{
  const DdNode *node = step_node (p, k);
  int v = node->in[0];
  if (!node->klass->inplace || v < 0 || p->model->values[v].producer < 0 ||
      p->model->nodes[p->model->values[v].producer].klass->view)
    return FALSE;
  return !is_target_root (p, p->root[v]) && p->readers[v] == 1;
}

/* Which values depend on the input, and whose storage each value uses. */
static void
trace_values (DdPlan *p)
{
  DdModel *m = p->model;
  p->readers = g_new0 (int, m->n_values);
  p->needs_grad = g_new0 (gboolean, m->n_values);
  p->root = g_new (int, m->n_values);
  for (int v = 0; v < m->n_values; v++)
    p->root[v] = v;
  p->needs_grad[m->input] = TRUE;
  p->run_backward = g_new0 (gboolean, p->n);
  p->in_place = g_new0 (gboolean, p->n);

  for (int k = 0; k < p->n; k++) {
    const DdNode *node = step_node (p, k);
    for (int i = 0; i < node->n_in; i++)
      if (node->in[i] >= 0) {
        p->needs_grad[node->out] |= p->needs_grad[node->in[i]];
        p->readers[node->in[i]]++;
      }
    if (node->klass->view)
      p->root[node->out] = p->root[node->in[0]];
    p->run_backward[k] = p->with_backward && p->needs_grad[node->out] && !node->klass->view;
  }
  /* In-place outputs join the storage of their input; views follow their
   * input's storage, joined or not. */
  for (int k = 0; k < p->n; k++) {
    const DdNode *node = step_node (p, k);
    if (node->klass->view)
      p->root[node->out] = p->root[node->in[0]];
    else if (can_run_in_place (p, k)) {
      p->in_place[k] = TRUE;
      p->root[node->out] = p->root[node->in[0]];
    }
  }
}

/* A Concat copies its inputs into slabs of its output, and backward the
 * slabs of its output's gradient back. When an input's storage is read by
 * the Concat alone (every value sharing it has that one reader), it can be
 * its slab of the output itself, written there by its producer, and its
 * gradient the slab of the output's gradient, into which no other gradient
 * flows: no buffers, no copies. The output's storage then lives from its
 * first input's step on. Inputs whose storage a target shares, the model
 * input and a Concat's output (whose own inputs may sit in it) keep their
 * own. */
static void
share_concat_storage (DdPlan *p)
{
  DdModel *m = p->model;
  p->act_in = g_new (int, m->n_values);
  p->grad_in = g_new (int, m->n_values);
  p->slab_at = g_new0 (int64_t, m->n_values);
  g_autofree gboolean *single = g_new (gboolean, m->n_values);
  for (int v = 0; v < m->n_values; v++) {
    p->act_in[v] = p->grad_in[v] = -1;
    single[v] = TRUE;
  }
  for (int v = 0; v < m->n_values; v++)
    single[p->root[v]] &= p->readers[v] <= 1;

  for (int k = 0; k < p->n; k++) {
    const DdNode *node = step_node (p, k);
    if (node->klass != &dd_op_concat || p->root[node->out] != node->out)
      continue;
    DdShape in[DD_MAX_INPUTS];
    for (int i = 0; i < node->n_in; i++)
      in[i] = p->shapes[node->in[i]];
    for (int i = 0; i < node->n_in; i++) {
      const int v = node->in[i], r = p->root[v], producer = m->values[r].producer;
      int64_t at;
      if (!single[r] || is_target_root (p, r) || r == m->input || producer < 0 ||
          m->nodes[producer].klass == &dd_op_concat ||
          !dd_concat_slab (&node->a, node->n_in, in, &p->shapes[node->out], i, &at))
        continue;
      p->act_in[r] = node->out;
      p->slab_at[r] = at;
      if (p->needs_grad[v] && p->run_backward[k])
        p->grad_in[r] = node->out;
    }
  }
}

static void
extend (int *end, int v, int time)
{
  end[v] = MAX (end[v], time);
}

/* The last time each activation's storage is read. */
static int *
activation_ends (DdPlan *p)
{
  DdModel *m = p->model;
  int n = p->n;
  int *end = g_new (int, m->n_values);

  for (int v = 0; v < m->n_values; v++)
    end[v] = -1;
  for (int k = 0; k < n; k++) {
    const DdNode *node = step_node (p, k);
    extend (end, p->root[node->out], k);
    if (node->klass->view)
      continue;
    for (int i = 0; i < node->n_in; i++) {
      if (node->in[i] < 0)
        continue;
      int r = p->root[node->in[i]];
      extend (end, r, k);
      if (p->run_backward[k] && (node->klass->backward_reads_inputs >> i & 1))
        extend (end, r, 2 * n - k);
    }
    if (p->run_backward[k] && node->klass->backward_reads_output)
      extend (end, p->root[node->out], 2 * n - k);
  }
  for (int i = 0; i < p->n_targets; i++)
    extend (end, p->root[p->targets[i]], n);
  return end;
}

/* Decides, for every gradient write, whether it starts the sum (overwrite)
 * or adds to it, and the time each gradient storage is first written. */
static int *
gradient_starts (DdPlan *p)
{
  DdModel *m = p->model;
  int n = p->n;
  int *start = g_new (int, m->n_values);

  for (int v = 0; v < m->n_values; v++)
    start[v] = -1;
  /* The caller writes the targets' gradients first. */
  for (int i = 0; i < p->n_targets; i++)
    start[p->root[p->targets[i]]] = n;
  p->grad_add = g_new0 (gboolean, p->n * DD_MAX_INPUTS);
  for (int k = n - 1; k >= 0; k--) {
    if (!p->run_backward[k])
      continue;
    const DdNode *node = step_node (p, k);
    for (int i = 0; i < node->n_in; i++) {
      if (node->in[i] < 0 || !p->needs_grad[node->in[i]])
        continue;
      /* In place, the gradient is transformed where it lies, not summed. */
      if (p->in_place[k] && i == 0)
        continue;
      int r = p->root[node->in[i]];
      p->grad_add[k * DD_MAX_INPUTS + i] = start[r] >= 0;
      if (start[r] < 0)
        start[r] = 2 * n - k;
    }
  }
  return start;
}

static void
add_block (GArray *blocks, gsize bytes, int start, int end, float **where)
{
  Block b = { .bytes = round_up (bytes), .start = start, .end = end, .where = where };
  g_array_append_val (blocks, b);
}

static int
by_size_desc (gconstpointer a, gconstpointer b)
{
  const Block *x = a, *y = b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int
by_offset (gconstpointer a, gconstpointer b)
{
  const Block *x = *(Block *const *) a, *y = *(Block *const *) b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Greedy placement, largest first: each block goes to the lowest offset
 * where it meets no placed block alive at the same time. */
static gsize
place_blocks (GArray *blocks)
{
  gsize total = 0;
  g_array_sort (blocks, by_size_desc);
  g_autoptr (GPtrArray) live = g_ptr_array_new ();

  for (guint i = 0; i < blocks->len; i++) {
    Block *b = &g_array_index (blocks, Block, i);
    g_ptr_array_set_size (live, 0);
    for (guint j = 0; j < i; j++) {
      Block *o = &g_array_index (blocks, Block, j);
      if (o->start <= b->end && b->start <= o->end)
        g_ptr_array_add (live, o);
    }
    g_ptr_array_sort (live, by_offset);
    gsize offset = 0;
    for (guint j = 0; j < live->len; j++) {
      const Block *o = live->pdata[j];
      if (o->offset >= offset + b->bytes)
        break;
      offset = MAX (offset, o->offset + o->bytes);
    }
    b->offset = offset;
    total = MAX (total, offset + b->bytes);
  }
  return total;
}

/* Places every buffer, in the memory of donor (which then has none) when
 * donor is not NULL and its memory is big enough. */
static gboolean
lay_out (DdPlan *p, DdPlan *donor, GError **error)
{
  DdModel *m = p->model;
  int n = p->n;
  g_autofree int *act_end = activation_ends (p);
  g_autofree int *grad_start = p->with_backward ? gradient_starts (p) : NULL;
  g_autoptr (GArray) blocks = g_array_new (FALSE, FALSE, sizeof (Block));
  /* Per root value: the last backward step reading a gradient held in its
   * gradient (share_concat_storage). */
  g_autofree int *held_until = g_new0 (int, m->n_values);
  /* Per root value: the first step writing data held in it. */
  g_autofree int *held_from = g_new (int, m->n_values);
  for (int v = 0; v < m->n_values; v++)
    held_from[v] = n;
  gsize work_floats = 0;

  p->act = g_new0 (float *, m->n_values);
  p->grad = g_new0 (float *, m->n_values);
  p->saved = g_new0 (float *, n);
  for (int k = 0; k < n; k++) {
    const DdNode *node = step_node (p, k);
    const DdOpClass *c = node->klass;
    DdShape in[DD_MAX_INPUTS] = { 0 };
    for (int i = 0; i < node->n_in; i++)
      if (node->in[i] >= 0)
        in[i] = p->shapes[node->in[i]];
    const DdShape *out = &p->shapes[node->out];
    int v = node->out;

    if (p->root[v] == v && p->act_in[v] >= 0) {
      held_from[p->act_in[v]] = MIN (held_from[p->act_in[v]], k);
      act_end[p->act_in[v]] = MAX (act_end[p->act_in[v]], act_end[v]);
    } else if (p->root[v] == v) {
      add_block (blocks, dd_shape_numel (out) * sizeof (float), MIN (k, held_from[v]), act_end[v],
                 &p->act[v]);
    }
    if (p->run_backward[k] && p->root[v] == v && grad_start[v] >= 0) {
      if (p->grad_in[v] >= 0)
        held_until[p->grad_in[v]] = MAX (held_until[p->grad_in[v]], 2 * n - k);
      else
        add_block (blocks, dd_shape_numel (out) * sizeof (float), grad_start[v],
                   MAX (2 * n - k, held_until[v]), &p->grad[v]);
    }
    gsize saved = c->saved_floats ? c->saved_floats (&node->a, in, out) : 0;
    if (saved) {
      /* A fused ReLU's mask is written by its Conv's step, and read by the
       * Conv's backward when that does the ReLU's too. */
      const int conv = p->fused_into[k];
      int last = backward_done_elsewhere (p, k) ? 2 * n - conv : p->run_backward[k] ? 2 * n - k : k;
      add_block (blocks, saved * sizeof (float), forward_done_elsewhere (p, k) ? conv : k, last,
                 &p->saved[k]);
    }
    if (c->work_floats)
      work_floats = MAX (work_floats, c->work_floats (&node->a, in, out));
  }

  p->arena_bytes = round_up (place_blocks (blocks));
  p->work_bytes = round_up (work_floats * sizeof (float));
  gsize input_bytes = round_up (dd_shape_numel (&p->shapes[m->input]) * sizeof (float));
  p->io_bytes = input_bytes * (p->with_backward ? 2 : 1);
  if (p->measure_only)
    return TRUE;
  const gsize need = dd_plan_get_memory (p);
  if (donor && donor->capacity >= need) {
    p->memory = g_steal_pointer (&donor->memory);
    p->capacity = donor->capacity;
  } else if ((p->memory = plan_memory (need))) {
    p->capacity = need;
  } else {
    g_set_error (error, DD_ERROR, DD_ERROR_MEMORY, "not enough memory for the plan (%.0f MB)",
                 need / 1e6);
    return FALSE;
  }
  p->arena = p->memory;
  p->work = (float *) ((char *) p->arena + p->arena_bytes);
  p->input = (float *) ((char *) p->work + p->work_bytes);
  p->input_grad = p->with_backward ? (float *) ((char *) p->input + input_bytes) : NULL;
  memset (p->input, 0, input_bytes);
  for (guint i = 0; i < blocks->len; i++) {
    const Block *b = &g_array_index (blocks, Block, i);
    *b->where = (float *) ((char *) p->arena + b->offset);
  }
  for (int v = 0; v < m->n_values; v++) {
    if (p->act_in[v] >= 0)
      p->act[v] = p->act[p->act_in[v]] + p->slab_at[v];
    if (p->grad_in[v] >= 0)
      p->grad[v] = p->grad[p->grad_in[v]] + p->slab_at[v];
  }
  return TRUE;
}

/* Points every value at its storage: constants at their data, views at
 * their root's, the input at the input buffer. */
static void
bind_values (DdPlan *p)
{
  DdModel *m = p->model;
  for (int v = 0; v < m->n_values; v++)
    if (m->values[v].is_const)
      p->act[v] = m->values[v].floats;
  p->act[m->input] = p->input;
  p->grad[m->input] = p->input_grad;
  for (int k = 0; k < p->n; k++) {
    const DdNode *node = step_node (p, k);
    if (p->root[node->out] != node->out) {
      p->act[node->out] = p->act[node->in[0]];
      p->grad[node->out] = p->grad[node->in[0]];
    }
  }
}

static gboolean
check_targets_distinct (DdPlan *p, GError **error)
{
  for (int i = 0; i < p->n_targets; i++)
    for (int j = 0; j < i; j++)
      if (p->root[p->targets[i]] == p->root[p->targets[j]]) {
        g_set_error (error, DD_ERROR, DD_ERROR_ARGUMENT,
                     "targets '%s' and '%s' are the same data; give only one",
                     p->model->values[p->targets[j]].name, p->model->values[p->targets[i]].name);
        return FALSE;
      }
  return TRUE;
}

/* dd_plan_new, laid out in the memory of donor when it fits there (donor
 * then has none, and is only good for freeing). */
static DdPlan *
plan_new_from (DdModel *model, int width, int height, const char *const *targets, int n_targets,
               DdPlanFlags flags, DdPlan *donor, GError **error)
{
  g_autoptr (DdPlan) p = g_new0 (DdPlan, 1);
  p->model = dd_model_ref (model);
  p->with_backward = !(flags & DD_PLAN_FORWARD_ONLY);
  p->measure_only = (flags & DD_PLAN_MEASURE_ONLY) != 0;
  if (!p->measure_only)
    dd_parallel_prepare ();
  p->shapes = g_new0 (DdShape, model->n_values);
  if (!resolve_targets (p, targets, n_targets, error))
    return NULL;

  g_autofree gboolean *keep = needed_nodes (p);
  if (!dd_model_infer_shapes (model, height, width, keep, p->shapes, error))
    return NULL;
  p->steps = g_new (int, model->n_nodes);
  for (int i = 0; i < model->n_nodes; i++)
    if (keep[i])
      p->steps[p->n++] = i;
  p->seconds_forward = g_new0 (double, p->n);
  p->seconds_backward = g_new0 (double, p->n);

  trace_values (p);
  fuse_relus (p);
  share_concat_storage (p);
  if (!check_targets_distinct (p, error) || !lay_out (p, donor, error))
    return NULL;
  if (!p->measure_only) {
    bind_values (p);
    for (int k = 0; k < p->n; k++) {
      const DdNode *node = step_node (p, k);
      if (node->klass == &dd_op_conv &&
          !dd_conv_prepare (&node->a, &p->shapes[node->in[0]], &p->shapes[node->out],
                            model->values[node->in[1]].floats, node->name, error))
        return NULL;
    }
  }
  return g_steal_pointer (&p);
}

DdPlan *
dd_plan_new (DdModel *model, int width, int height, const char *const *targets, int n_targets,
             DdPlanFlags flags, GError **error)
{
  return plan_new_from (model, width, height, targets, n_targets, flags, NULL, error);
}

gboolean
dd_plan_reshape (DdPlan *plan, int width, int height, GError **error)
{
  const DdShape *in = &plan->shapes[plan->model->input];
  if (in->d[2] == height && in->d[3] == width)
    return TRUE;
  g_autofree const char **names = g_new (const char *, plan->n_targets);
  for (int i = 0; i < plan->n_targets; i++)
    names[i] = plan->model->values[plan->targets[i]].name;
  DdPlanFlags flags = (plan->with_backward ? 0 : DD_PLAN_FORWARD_ONLY) |
                      (plan->measure_only ? DD_PLAN_MEASURE_ONLY : 0);
  g_autoptr (DdPlan) fresh =
      plan_new_from (plan->model, width, height, names, plan->n_targets, flags, plan, error);
  if (!fresh)
    return FALSE;
  fresh->profiling = plan->profiling;
  DdPlan old = *plan;
  *plan = *fresh;
  *fresh = old; /* freed on return, with its memory if not taken */
  return TRUE;
}

void
dd_plan_free (DdPlan *p)
{
  if (!p)
    return;
  free (p->memory);
  g_free (p->steps);
  g_free (p->run_backward);
  g_free (p->in_place);
  g_free (p->relu_of);
  g_free (p->fused_into);
  g_free (p->relu_backward);
  g_free (p->readers);
  g_free (p->act_in);
  g_free (p->grad_in);
  g_free (p->slab_at);
  g_free (p->grad_add);
  g_free (p->shapes);
  g_free (p->root);
  g_free (p->needs_grad);
  g_free (p->act);
  g_free (p->grad);
  g_free (p->saved);
  g_free (p->targets);
  g_free (p->seconds_forward);
  g_free (p->seconds_backward);
  if (p->model)
    dd_model_unref (p->model);
  g_free (p);
}

gsize
dd_plan_get_memory (DdPlan *plan)
{
  return plan->arena_bytes + plan->work_bytes + plan->io_bytes;
}

float *
dd_plan_get_input (DdPlan *plan)
{
  return plan->input;
}

int
dd_plan_get_n_targets (DdPlan *plan)
{
  return plan->n_targets;
}

const float *
dd_plan_get_target (DdPlan *plan, int i, DdTensorInfo *info)
{
  g_return_val_if_fail (i >= 0 && i < plan->n_targets, NULL);
  int v = plan->targets[i];
  if (info) {
    const DdShape *s = &plan->shapes[v];
    const DdNode *node = &plan->model->nodes[plan->model->values[v].producer];
    *info = (DdTensorInfo){ .name = plan->model->values[v].name,
                            .op_type = node->klass->onnx_name,
                            .rank = s->rank };
    memcpy (info->dims, s->d, sizeof s->d[0] * s->rank);
  }
  return plan->act[v];
}

float *
dd_plan_get_target_grad (DdPlan *plan, int i)
{
  g_return_val_if_fail (i >= 0 && i < plan->n_targets, NULL);
  return plan->grad[plan->targets[i]];
}

const float *
dd_plan_get_input_grad (DdPlan *plan)
{
  return plan->input_grad;
}

static void
fill_context (const DdPlan *p, int k, DdOpCtx *c)
{
  static const DdShape none = { 0 };
  const DdNode *node = step_node (p, k);
  *c = (DdOpCtx){ .a = &node->a,
                  .n_in = node->n_in,
                  .y = p->act[node->out],
                  .ys = &p->shapes[node->out],
                  .saved = p->saved[k],
                  .work = p->work };
  for (int i = 0; i < node->n_in; i++) {
    int v = node->in[i];
    c->x[i] = v >= 0 ? p->act[v] : NULL;
    c->xs[i] = v >= 0 ? &p->shapes[v] : &none;
  }
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

void
dd_plan_forward (DdPlan *plan)
{
  for (int k = 0; k < plan->n; k++) {
    const DdNode *node = step_node (plan, k);
    if (node->klass->view || forward_done_elsewhere (plan, k))
      continue;
    DdOpCtx c;
    fill_context (plan, k, &c);
    c.relu_mask = plan->relu_of[k] >= 0 ? (guint8 *) plan->saved[plan->relu_of[k]] : NULL;
    double t0 = plan->profiling ? now () : 0;
    node->klass->forward (&c);
    if (plan->profiling)
      plan->seconds_forward[k] += now () - t0;
  }
}

void
dd_plan_backward (DdPlan *plan)
{
  g_return_if_fail (plan->with_backward);
  for (int k = plan->n - 1; k >= 0; k--) {
    if (!plan->run_backward[k] || backward_done_elsewhere (plan, k))
      continue;
    const DdNode *node = step_node (plan, k);
    DdOpCtx c;
    fill_context (plan, k, &c);
    c.gy = plan->grad[node->out];
    c.relu_mask = plan->relu_backward[k] ? (guint8 *) plan->saved[plan->relu_of[k]] : NULL;
    for (int i = 0; i < node->n_in; i++) {
      int v = node->in[i];
      gboolean wanted = v >= 0 && plan->needs_grad[v];
      c.gx[i] = wanted ? plan->grad[v] : NULL;
      c.gx_add[i] = plan->grad_add[k * DD_MAX_INPUTS + i];
    }
    double t0 = plan->profiling ? now () : 0;
    node->klass->backward (&c);
    if (plan->profiling)
      plan->seconds_backward[k] += now () - t0;
  }
}

void
dd_plan_set_profiling (DdPlan *plan, gboolean enable)
{
  plan->profiling = enable;
  memset (plan->seconds_forward, 0, plan->n * sizeof (double));
  memset (plan->seconds_backward, 0, plan->n * sizeof (double));
}

void
dd_plan_foreach_profile (DdPlan *plan,
                         void (*fn) (const char *op_type, double forward_s, double backward_s,
                                     gpointer user_data),
                         gpointer user_data)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int k = 0; k < plan->n; k++) {
    const char *op = step_node (plan, k)->klass->onnx_name;
    if (!g_hash_table_add (seen, (gpointer) op))
      continue;
    double fwd = 0, bwd = 0;
    for (int j = k; j < plan->n; j++)
      if (step_node (plan, j)->klass->onnx_name == op) {
        fwd += plan->seconds_forward[j];
        bwd += plan->seconds_backward[j];
      }
    fn (op, fwd, bwd, user_data);
  }
}

void
dd_plan_foreach_node_profile (DdPlan *plan,
                              void (*fn) (const char *node, const char *op_type, double forward_s,
                                          double backward_s, gpointer user_data),
                              gpointer user_data)
{
  for (int k = 0; k < plan->n; k++) {
    const DdNode *node = step_node (plan, k);
    fn (node->name, node->klass->onnx_name, plan->seconds_forward[k], plan->seconds_backward[k],
        user_data);
  }
}
