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
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

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
  int slots;       /* threads it may use */
  gboolean pinned; /* its threads each keep to a CPU of their own */
  _Atomic uint64_t ticket;
  _Atomic uint32_t done;
} Pool;

static Pool pool;
static _Thread_local int current_slot = -1; /* inside a block: its slot */

/* Where another program keeps a core busy, the scheduler puts a job's
 * threads on the same core more often than not: each futex wake-up pulls
 * the woken thread to the waker's core, and two threads on one core
 * against one alone on the other is a balance it does not undo. GoogLeNet
 * at 1024x768 (build/tools/bench) beside one shell busy loop on 2 cores:
 * 374 ms a step with the threads free, 387 ms with only the worker kept to
 * a CPU, 330 ms with the caller and the worker each kept to one for the
 * whole run (331-419 ms, median 376, over eight rounds with the caller
 * kept only while its job runs, as here), against 400 ms on one thread
 * and 207-279 ms idle. So a job that has a thread for every CPU the
 * process may use keeps each of them to one of those CPUs while it runs;
 * a job with fewer threads than CPUs leaves the placement to the
 * scheduler, which then has a free CPU to move them to. */
typedef struct {
  int n;     /* CPUs the process may use */
  int *cpus; /* their numbers, in order */
} Cpus;

static const Cpus *
allowed_cpus (void)
{
  static Cpus cpus;
  static gsize done;
  if (g_once_init_enter (&done)) {
    cpu_set_t set;
    if (sched_getaffinity (0, sizeof set, &set) == 0) {
      cpus.cpus = g_new (int, CPU_COUNT (&set));
      for (int c = 0; c < CPU_SETSIZE && cpus.n < CPU_COUNT (&set); c++)
        if (CPU_ISSET (c, &set))
          cpus.cpus[cpus.n++] = c;
    }
    g_once_init_leave (&done, 1);
  }
  return &cpus;
}

/* Keeps the calling thread to `cpu`, or, for cpu < 0, to every CPU the
 * process may use. */
static void
keep_to_cpu (int cpu)
{
  const Cpus *cpus = allowed_cpus ();
  cpu_set_t set;
  CPU_ZERO (&set);
  if (cpu >= 0)
    CPU_SET (cpu, &set);
  else
    for (int i = 0; i < cpus->n; i++)
      CPU_SET (cpus->cpus[i], &set);
  sched_setaffinity (0, sizeof set, &set);
}

/* Keeps the caller of a pinned job to the first CPU, unless its program
 * keeps it to fewer CPUs than the process may use (its choice, then);
 * *before: its CPUs, given back by the caller afterwards. */
static gboolean
keep_caller (cpu_set_t *before)
{
  if (sched_getaffinity (0, sizeof *before, before) != 0 ||
      CPU_COUNT (before) != allowed_cpus ()->n)
    return FALSE;
  keep_to_cpu (allowed_cpus ()->cpus[0]);
  return TRUE;
}

/* A job ends when its last block does, and the caller waits for it. A
 * thread that shares its CPU with another program is taken off it for a
 * scheduler slice (milliseconds) at a time, and when that happens while it
 * holds one of a job's last blocks, the caller, on a CPU of its own, sits
 * idle until the slice is over. So each thread keeps the share of its wall
 * time it spends on a CPU while it runs blocks (CPU time over wall time, per
 * window of SHARE_WINDOW_US), and a worker whose share is well below the
 * caller's leaves the last quarter of each job's blocks to the caller.
 * GoogLeNet at 1024x768 (build/tools/bench) beside one shell busy loop on 2
 * CPUs: the caller waited 89-125 ms a second for blocks other threads held,
 * 28-53 ms with the tail left to it. On an idle machine the shares are
 * equal and nothing changes. */
#define SHARE_WINDOW_US 10000
#define CONTENDED_SHARE 0.8 /* of the caller's */

static _Atomic int caller_share;                   /* per mille */
static _Thread_local int own_share = 1000;         /* per mille */
static _Thread_local gint64 share_wall, share_cpu; /* this window's, us */

static gint64
thread_cpu_us (void)
{
  struct timespec t;
  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t) != 0)
    return 0;
  return (gint64) t.tv_sec * G_USEC_PER_SEC + t.tv_nsec / 1000;
}

static void
note_share (int slot, gint64 wall_us, gint64 cpu_us)
{
  share_wall += wall_us;
  share_cpu += cpu_us;
  if (share_wall < SHARE_WINDOW_US)
    return;
  own_share = (int) (1000 * MIN (share_cpu, share_wall) / share_wall);
  if (slot == 0)
    atomic_store_explicit (&caller_share, own_share, memory_order_relaxed);
  share_wall = share_cpu = 0;
}

/* Whether slot leaves block `next` of n, and the ones after it, to the
 * caller. */
static gboolean
leaves_tail (int slot, uint32_t next, uint32_t n)
{
  if (slot == 0 ||
      own_share >= CONTENDED_SHARE * atomic_load_explicit (&caller_share, memory_order_relaxed))
    return FALSE;
  return next + MAX (n / 4, 1) >= n;
}

/* Claims and runs blocks of the job of generation gen as slot, until none
 * is left, the rest is left to the caller, or the ticket has moved on to a
 * newer job. Returns whether it ran any. */
static gboolean
claim_blocks (uint32_t gen, int slot)
{
  gboolean ran = FALSE;
  uint64_t t = atomic_load_explicit (&pool.ticket, memory_order_acquire);
  for (;;) {
    if ((uint32_t) (t >> 32) != gen)
      return ran;
    const uint32_t next = (uint32_t) t;
    /* n_chunks may already be the next job's, when the job of t is over:
     * then the claim fails, as the next job closes the ticket (dd_parallel)
     * before it writes n_chunks. */
    const uint32_t seen_n = atomic_load_explicit (&pool.n_chunks, memory_order_relaxed);
    if (next >= seen_n || leaves_tail (slot, next, seen_n))
      return ran;
    if (!atomic_compare_exchange_weak_explicit (&pool.ticket, &t, t + 1, memory_order_acq_rel,
                                                memory_order_acquire))
      continue;
    ran = TRUE;
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

/* claim_blocks, timed for the thread's share. */
static void
run_blocks (uint32_t gen, int slot)
{
  const gint64 wall = g_get_monotonic_time (), cpu = thread_cpu_us ();
  if (claim_blocks (gen, slot))
    note_share (slot, g_get_monotonic_time () - wall, thread_cpu_us () - cpu);
}

static gpointer
worker (gpointer data)
{
  const int slot = GPOINTER_TO_INT (data);
  uint32_t seen = 0;
  gboolean pinned = FALSE;
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
    if (slot >= pool.slots)
      continue;
    if (pool.pinned != pinned) {
      pinned = pool.pinned;
      keep_to_cpu (pinned ? allowed_cpus ()->cpus[slot] : -1);
    }
    run_blocks (gen, slot);
  }
  return NULL;
}

/* Threads for slots [1, wanted), made on first need (dd_parallel_prepare,
 * before a plan takes its memory); they live as long as the process. A
 * thread that cannot be made (its stack's address space taken, under a
 * ulimit -v) leaves the jobs to those there are. */
static void
grow (int wanted)
{
  pool.threads = MAX (pool.threads, 1);
  for (; pool.threads < wanted; pool.threads++) {
    char name[16];
    g_snprintf (name, sizeof name, "dd-worker-%d", pool.threads);
    GThread *thread = g_thread_try_new (name, worker, GINT_TO_POINTER (pool.threads), NULL);
    if (!thread)
      return;
    g_thread_unref (thread);
  }
}

void
dd_parallel_prepare (void)
{
  const int slots = MIN (dd_thread_slots (), omp_get_max_threads ());
  g_mutex_lock (&pool.submit);
  grow (slots);
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
  grow (slots);
  const int threads = MIN (slots, pool.threads);

  g_mutex_lock (&pool.lock);
  /* Closed first: a thread still holding the last job's ticket then cannot
   * claim a block of it against the new job's n_chunks. */
  atomic_exchange_explicit (&pool.ticket, ((uint64_t) pool.generation << 32) | G_MAXUINT32,
                            memory_order_acq_rel);
  const uint32_t gen = ++pool.generation;
  pool.fn = fn;
  pool.data = data;
  atomic_store_explicit (&pool.n_chunks, (uint32_t) n_chunks, memory_order_relaxed);
  pool.slots = threads;
  pool.pinned = threads == allowed_cpus ()->n;
  atomic_store_explicit (&pool.done, 0, memory_order_relaxed);
  atomic_store_explicit (&pool.ticket, (uint64_t) gen << 32, memory_order_release);
  g_cond_broadcast (&pool.wake);
  g_mutex_unlock (&pool.lock);

  omp_set_num_threads (1); /* as in worker () */
  cpu_set_t before;
  const gboolean caller_kept = pool.pinned && keep_caller (&before);
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
  if (caller_kept)
    sched_setaffinity (0, sizeof before, &before);
  g_mutex_unlock (&pool.submit);
}
