/* pool.c: the engine's own threads, sharing an op's blocks as they come free.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Why not OpenMP's parallel loops, as elsewhere: an OpenMP region ends when
 * every thread of its team has reached the barrier, even one that found no
 * work left. On a machine where another program keeps a core busy, the
 * thread sharing that core waits a scheduler slice for each region before
 * it even starts, and a step has about two hundred regions: GoogLeNet at
 * 1024x768 (build/tools/bench) beside one shell busy loop on 2 cores, two
 * OpenMP threads took 355-385 ms a step, no better than one thread
 * (375-390 ms), where the same step takes 200-210 ms idle. Here the
 * caller waits only for blocks that a thread has taken: a thread that
 * wakes late finds the work gone and holds nobody up.
 *
 * The job is published as one 64-bit ticket, its generation in the high
 * half and the next unclaimed block in the low half, so that a thread
 * claims a block of the job it saw, or of none: a claim that lost a race
 * with the next job fails and is retried on the new ticket.
 */
#include "dd-blas.h"
#include "dd-ops.h"

#include <omp.h>
#include <stdatomic.h>

/* Polls of the ticket before a thread sleeps (tens of microseconds): enough
 * to catch the next op's blocks without a futex wake-up on an idle machine,
 * short enough to give a busy core back at once. */
#define SPIN_POLLS 20000

typedef struct {
  GMutex submit;    /* one job at a time */
  GMutex lock;      /* the sleepers' */
  GCond wake;       /* a new generation */
  GCond finished;   /* the last block of a job is done */
  int threads;      /* made so far, the caller's slot 0 included */
  int reserved;     /* OpenBLAS buffers made */
  guint generation; /* under lock: the newest job */
  /* The job: written before its ticket is published, read after a claim. */
  DdChunkFunc fn;
  gpointer data;
  _Atomic uint32_t n_chunks;
  int slots; /* threads it may use */
  _Atomic uint64_t ticket;
  _Atomic uint32_t done;
} Pool;

static Pool pool;
static _Thread_local int current_slot = -1; /* inside a block: its slot */

/* Claims and runs blocks of the job of generation gen as slot, until none
 * is left or the ticket has moved on to a newer job. */
static void
run_blocks (uint32_t gen, int slot)
{
  uint64_t t = atomic_load_explicit (&pool.ticket, memory_order_acquire);
  for (;;) {
    if ((uint32_t) (t >> 32) != gen)
      return;
    const uint32_t next = (uint32_t) t;
    /* n_chunks may already be the next job's, when the job of t is over:
     * then the claim fails, as the next job closes the ticket (dd_parallel)
     * before it writes n_chunks. */
    if (next >= atomic_load_explicit (&pool.n_chunks, memory_order_relaxed))
      return;
    if (!atomic_compare_exchange_weak_explicit (&pool.ticket, &t, t + 1, memory_order_acq_rel,
                                                memory_order_acquire))
      continue;
    const uint32_t n = atomic_load_explicit (&pool.n_chunks, memory_order_relaxed);
    current_slot = slot;
    pool.fn (pool.data, next, slot);
    current_slot = -1;
    if (atomic_fetch_add_explicit (&pool.done, 1, memory_order_acq_rel) + 1 == n) {
      g_mutex_lock (&pool.lock);
      g_cond_signal (&pool.finished);
      g_mutex_unlock (&pool.lock);
    }
    t = atomic_load_explicit (&pool.ticket, memory_order_acquire);
  }
}

static gpointer
worker (gpointer data)
{
  const int slot = GPOINTER_TO_INT (data);
  uint32_t seen = 0;
  /* OpenBLAS built for OpenMP runs a product on as many threads as OpenMP
   * would give the calling thread: this one's products are its own. */
  omp_set_num_threads (1);
  for (;;) {
    uint32_t gen = seen;
    for (int i = 0; i < SPIN_POLLS && gen == seen; i++)
      gen = (uint32_t) (atomic_load_explicit (&pool.ticket, memory_order_acquire) >> 32);
    if (gen == seen) {
      g_mutex_lock (&pool.lock);
      while (pool.generation == seen)
        g_cond_wait (&pool.wake, &pool.lock);
      gen = pool.generation;
      g_mutex_unlock (&pool.lock);
    }
    seen = gen;
    if (slot < pool.slots)
      run_blocks (gen, slot);
  }
  return NULL;
}

/* Threads for slots [1, wanted), made on first need; they live as long as
 * the process. */
static void
grow (int wanted)
{
  for (; pool.threads < wanted; pool.threads++) {
    char name[16];
    g_snprintf (name, sizeof name, "dd-worker-%d", pool.threads);
    g_thread_unref (g_thread_new (name, worker, GINT_TO_POINTER (pool.threads)));
  }
}

void
dd_parallel_prepare (void)
{
  const int slots = MIN (dd_thread_slots (), omp_get_max_threads ());
  g_mutex_lock (&pool.submit);
  if (pool.reserved < slots) {
    dd_blas_reserve_buffers (slots);
    pool.reserved = slots;
  }
  g_mutex_unlock (&pool.submit);
}

void
dd_parallel (int64_t n_chunks, DdChunkFunc fn, gpointer data)
{
  if (n_chunks <= 0)
    return;
  const int omp_threads = omp_get_max_threads ();
  const int slots = MIN (dd_thread_slots (), omp_threads);
  /* Inline: one block or one thread; a nested call (inside a block, or
   * inside an OpenMP region) keeps its thread's slot; another engine
   * running the pool at the same time gets none of its threads. */
  if (n_chunks == 1 || slots <= 1 || current_slot >= 0 || omp_in_parallel () ||
      !g_mutex_trylock (&pool.submit)) {
    const int slot = MAX (current_slot, 0);
    omp_set_num_threads (1); /* as in worker (): the same sums, alone or not */
    for (int64_t i = 0; i < n_chunks; i++)
      fn (data, i, slot);
    omp_set_num_threads (omp_threads);
    return;
  }
  g_assert (n_chunks < G_MAXUINT32); /* G_MAXUINT32 marks a closed ticket */
  pool.threads = MAX (pool.threads, 1);
  grow (slots);

  g_mutex_lock (&pool.lock);
  /* Closed first: a thread still holding the last job's ticket then cannot
   * claim a block of it against the new job's n_chunks. */
  atomic_exchange_explicit (&pool.ticket, ((uint64_t) pool.generation << 32) | G_MAXUINT32,
                            memory_order_acq_rel);
  const uint32_t gen = ++pool.generation;
  pool.fn = fn;
  pool.data = data;
  atomic_store_explicit (&pool.n_chunks, (uint32_t) n_chunks, memory_order_relaxed);
  pool.slots = slots;
  atomic_store_explicit (&pool.done, 0, memory_order_relaxed);
  atomic_store_explicit (&pool.ticket, (uint64_t) gen << 32, memory_order_release);
  g_cond_broadcast (&pool.wake);
  g_mutex_unlock (&pool.lock);

  omp_set_num_threads (1); /* as in worker () */
  run_blocks (gen, 0);
  omp_set_num_threads (omp_threads);

  for (int i = 0; i < SPIN_POLLS; i++)
    if (atomic_load_explicit (&pool.done, memory_order_acquire) == n_chunks)
      break;
  if (atomic_load_explicit (&pool.done, memory_order_acquire) != n_chunks) {
    g_mutex_lock (&pool.lock);
    while (atomic_load_explicit (&pool.done, memory_order_acquire) != n_chunks)
      g_cond_wait (&pool.finished, &pool.lock);
    g_mutex_unlock (&pool.lock);
  }
  g_mutex_unlock (&pool.submit);
}
