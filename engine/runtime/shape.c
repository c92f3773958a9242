/* shape.c: small helpers on tensor shapes.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "dd-ops.h"

#include <inttypes.h>
#include <string.h>

/* Saturates at INT64_MAX, so that a hostile shape reads as "too large"
 * instead of overflowing; negative dimensions give a negative count. */
int64_t
dd_shape_numel (const DdShape *s)
{
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    if (__builtin_mul_overflow (n, s->d[i], &n))
      return s->d[i] < 0 ? -1 : INT64_MAX;
  return n;
}

gboolean
dd_shape_equal (const DdShape *a, const DdShape *b)
{
  return a->rank == b->rank && memcmp (a->d, b->d, sizeof a->d[0] * a->rank) == 0;
}

const char *
dd_shape_format (const DdShape *s, char *buf, gsize size)
{
  gsize used = g_strlcpy (buf, "[", size);
  for (int i = 0; i < s->rank && used < size; i++)
    used += g_snprintf (buf + used, size - used, "%s%" PRId64, i ? "," : "", s->d[i]);
  if (used < size)
    g_strlcat (buf, "]", size);
  return buf;
}
