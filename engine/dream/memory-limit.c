/* memory-limit.c: how much more memory this process may take.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A dream that outgrows what the system allows does not fail politely: an
 * address-space limit (ulimit -v) makes libraries that do not check malloc
 * crash or spin, a cgroup limit brings the OOM killer, and running out of
 * RAM brings swapping. So the memory check compares what a dream needs with
 * the smallest of the three headrooms, read here, before anything big is
 * allocated.
 */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deepdream.h"

/* OpenBLAS 0.3's buffer on x86-64 (its BUFFER_SIZE, 128 MB, and a page),
 * rounded up. */
#define BLAS_BUFFER_BYTES ((gsize) 132 << 20)

/* Address space the process maps now (VmSize), in bytes. */
static gsize
mapped_bytes (void)
{
  unsigned long pages = 0;
  FILE *f = fopen ("/proc/self/statm", "re");
  if (f) {
    if (fscanf (f, "%lu", &pages) != 1)
      pages = 0;
    fclose (f);
  }
  return (gsize) pages * (gsize) sysconf (_SC_PAGESIZE);
}

/* A number of bytes from the first line of a file ("max" or missing:
 * G_MAXSIZE). */
static gsize
read_bytes (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return G_MAXSIZE;
  char *end = NULL;
  guint64 v = g_ascii_strtoull (text, &end, 10);
  return end == text ? G_MAXSIZE : (gsize) MIN (v, G_MAXSIZE);
}

/* The least headroom (memory.max - memory.current) of the process's cgroup
 * (v2) and of its ancestors, whose limits bind it too. */
static gsize
cgroup_headroom (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/cgroup", &text, NULL, NULL))
    return G_MAXSIZE;
  const char *line = strstr (text, "0::");
  if (!line)
    return G_MAXSIZE;
  g_autofree char *path = g_strndup (line + 3, strcspn (line + 3, "\n"));
  gsize least = G_MAXSIZE;
  for (;;) {
    g_autofree char *dir = g_build_filename ("/sys/fs/cgroup", path, NULL);
    g_autofree char *max_path = g_build_filename (dir, "memory.max", NULL);
    g_autofree char *current_path = g_build_filename (dir, "memory.current", NULL);
    gsize max = read_bytes (max_path), current = read_bytes (current_path);
    if (max != G_MAXSIZE && current != G_MAXSIZE)
      least = MIN (least, max > current ? max - current : 0);
    char *slash = strrchr (path, '/');
    if (!slash || path[1] == 0)
      break;
    slash[slash == path ? 1 : 0] = 0;
  }
  return least;
}

/* MemAvailable of /proc/meminfo, in bytes. */
static gsize
available_ram (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
    return G_MAXSIZE;
  const char *line = strstr (text, "MemAvailable:");
  return line ? (gsize) g_ascii_strtoull (line + 13, NULL, 10) << 10 : G_MAXSIZE;
}

gsize
dd_memory_available (const char **limit)
{
  const char *which = NULL;
  gsize least = G_MAXSIZE;
  struct rlimit as;
  if (getrlimit (RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    /* OpenBLAS maps a buffer for each thread that calls it, on its first
     * call, and retries forever when it cannot: room for them is kept. */
    gsize mapped = mapped_bytes () + (gsize) omp_get_max_threads () * BLAS_BUFFER_BYTES;
    least = as.rlim_cur > mapped ? (gsize) as.rlim_cur - mapped : 0;
    which = "the address space limit (ulimit -v)";
  }
  gsize cgroup = cgroup_headroom ();
  if (cgroup < least) {
    least = cgroup;
    which = "the cgroup's memory limit (memory.max)";
  }
  gsize ram = available_ram ();
  if (ram < least) {
    least = ram;
    which = "the available memory (MemAvailable)";
  }
  if (limit)
    *limit = which;
  return least;
}
