/* bench-load.c: how long loading a model file takes.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   bench-load [--runs N] MODEL...
 *
 * Loads each model file N times (default 9) and prints the median and the
 * fastest wall time, so that file formats can be compared (a .caffemodel
 * against the ONNX file of the same weights).
 */
#include <stdio.h>
#include <stdlib.h>

#include "deepdream.h"

static int
by_value (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int runs = 9;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Loads of each file", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("MODEL...");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 2 || runs < 1) {
    fprintf (stderr, "bench-load: %s\n", error ? error->message : "give one or more model files");
    return 2;
  }
  for (int f = 1; f < argc; f++) {
    g_autofree double *ms = g_new (double, (gsize) runs);
    for (int r = 0; r < runs; r++) {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (DdModel) model = dd_model_new_from_file (argv[f], &error);
      ms[r] = (double) (g_get_monotonic_time () - start) / 1000;
      if (!model) {
        fprintf (stderr, "bench-load: %s\n", error->message);
        return 1;
      }
    }
    qsort (ms, (gsize) runs, sizeof *ms, by_value);
    printf ("%-60s median %7.1f ms, fastest %7.1f ms (%d loads)\n", argv[f], ms[runs / 2], ms[0],
            runs);
  }
  return 0;
}
