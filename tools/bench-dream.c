/* bench-dream.c: times whole dreams through the public API and measures
 * their peak memory, on images generated in memory.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   bench-dream [--model NAME|FILE]          every case, each in its own process
 *   bench-dream --case NAME [--model ...]    one case, one line of figures
 *   bench-dream --load N ...                 the same beside N busy processes
 *
 * Peak RSS (getrusage's ru_maxrss) is a maximum over a process's life, so
 * each case runs in a fresh process: this program runs itself once per case
 * and reads back the figures. Prints figures and targets; asserts nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "deepdream.h"

typedef struct {
  const char *name;
  int width, height, octaves, iterations;
} BenchCase;

/* The default dream; then single steps of a 6000x4000 photo and of
 * 1024x768 (tiling's cost per pixel); then a series from half a megapixel
 * to 24, three steps each, so that planning, done once, weighs as in a
 * real dream. */
static const BenchCase cases[] = {
  { "default", 1024, 768, 4, 10 }, { "big", 6000, 4000, 1, 1 },  { "small", 1024, 768, 1, 1 },
  { "half-mp-3", 816, 612, 1, 3 }, { "1mp-3", 1024, 768, 1, 3 }, { "6mp-3", 3000, 2000, 1, 3 },
  { "24mp-3", 6000, 4000, 1, 3 },
};
#define SERIES_FIRST 3 /* index of the series' first case */
#define SERIES_REF 4   /* the series' 1024x768 case */

/* What one case measured. */
typedef struct {
  double seconds;     /* wall time of dd_dream_run() */
  double cpu_seconds; /* its user + system time, every thread: twice seconds on two free cores */
  double rss_mb;      /* peak RSS of the whole process */
  DdDreamInfo info;
} BenchResult;

#define TARGET_DEFAULT_S 12.0 /* a default dream on 2 cores, any kernels */
#define TARGET_FAST_S 8.0     /* the same with AVX2 or AVX-512 kernels */
#define TARGET_BIG_RSS_GB 1.2
#define TARGET_SPMP_SPREAD 0.15
#define MB (1024.0 * 1024.0)

static const BenchCase *
find_case (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    if (strcmp (cases[i].name, name) == 0)
      return &cases[i];
  return NULL;
}

/* A smooth colourful pattern with rings and stripes on it, so that the
 * network sees edges and shapes everywhere. RGB u8. */
static DdImage
make_image (int width, int height)
{
  DdImage im = { .width = width,
                 .height = height,
                 .channels = 3,
                 .type = DD_PIXEL_U8,
                 .stride = (gsize) width * 3 };
  guint8 *pixels = g_malloc (im.stride * height);
  for (int y = 0; y < height; y++) {
    guint8 *row = pixels + y * im.stride;
    double v = (double) y / height;
    for (int x = 0; x < width; x++) {
      double u = (double) x / width;
      double ring = sin (hypot (x - 0.4 * width, y - 0.6 * height) * 0.08);
      double stripe = sin ((x + 2 * y) * 0.21) * sin (y * 0.05);
      double base[3] = { 0.5 + 0.35 * sin (6.0 * u + 1.0), 0.5 + 0.35 * sin (5.0 * v + 4.0 * u),
                         0.5 + 0.35 * cos (7.0 * u * v + 2.0) };
      for (int c = 0; c < 3; c++) {
        double value = base[c] + 0.12 * ring + 0.08 * stripe * (c == 1 ? -1 : 1);
        row[x * 3 + c] = (guint8) CLAMP (lround (value * 255), 0, 255);
      }
    }
  }
  im.pixels = pixels;
  return im;
}

static double
peak_rss_mb (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

static double
cpu_seconds (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* The machine is shared: the load average tells how far to trust the times. */
static void
print_load (const char *when)
{
  double load[3];
  if (getloadavg (load, 3) == 3)
    printf ("load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
}

/* A reproducible competing load, as a user's other programs or a batch of
 * several dreams give: n processes that each keep one core busy with
 * arithmetic until this program ends (they die with it). */
static void
start_load (int n)
{
  for (int i = 0; i < n; i++) {
    pid_t pid = fork ();
    if (pid == 0) {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      volatile double x = 1.0;
      for (;;)
        x = x * 1.0000001 + 1e-9;
    }
    if (pid < 0) {
      perror ("bench-dream: fork");
      exit (1);
    }
  }
}

/* Runs one case in this process and prints its figures as one line. */
static gboolean
run_case (const BenchCase *bc, const char *model_name, GError **error)
{
  g_autoptr (DdModelCard) card = NULL;
  g_autoptr (DdModel) model = dd_model_open (model_name, &card, error);
  if (!model)
    return FALSE;
  DdDreamParams params;
  dd_dream_params_init (&params);
  params.octaves = bc->octaves;
  params.iterations = bc->iterations;
  params.seed = 1;
  DdImage image = make_image (bc->width, bc->height);

  BenchResult r = { 0 };
  gint64 start = g_get_monotonic_time ();
  double cpu_start = cpu_seconds ();
  gboolean ok = dd_dream_run (model, card, &params, NULL, &image, NULL, NULL, NULL, &r.info, error);
  r.seconds = (g_get_monotonic_time () - start) / 1e6;
  r.cpu_seconds = cpu_seconds () - cpu_start;
  r.rss_mb = peak_rss_mb ();
  g_free (image.pixels);
  dd_dream_params_clear (&params);
  if (ok) {
    printf ("%.6f %.6f %.3f %d %d %d %" G_GSIZE_FORMAT " %" G_GSIZE_FORMAT "\n", r.seconds,
            r.cpu_seconds, r.rss_mb, r.info.tiles, r.info.tile_width, r.info.tile_height,
            r.info.plan_bytes, r.info.work_bytes);
    /* The phases on a line of their own: steps, then seconds per phase. */
    printf ("%d", r.info.steps);
    for (int k = 0; k < DD_N_PHASES; k++)
      printf (" %.6f", r.info.seconds[k]);
    printf ("\n");
  }
  return ok;
}

/* Runs this program with --case in a fresh process. */
static gboolean
spawn_case (const BenchCase *bc, const char *model_name, BenchResult *r, GError **error)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", error);
  if (!self)
    return FALSE;
  const char *argv[] = { self, "--case", bc->name, "--model", model_name, NULL };
  g_autofree char *out = NULL;
  int wait_status;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &out,
                     NULL, &wait_status, error) ||
      !g_spawn_check_wait_status (wait_status, error))
    return FALSE;
  if (sscanf (out, "%lf %lf %lf %d %d %d %" G_GSIZE_FORMAT " %" G_GSIZE_FORMAT, &r->seconds,
              &r->cpu_seconds, &r->rss_mb, &r->info.tiles, &r->info.tile_width,
              &r->info.tile_height, &r->info.plan_bytes, &r->info.work_bytes) != 8) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "case %s printed '%s'", bc->name, out);
    return FALSE;
  }
  const char *line = strchr (out, '\n');
  char *end = NULL;
  r->info.steps = line ? (int) strtol (line + 1, &end, 10) : 0;
  for (int k = 0; k < DD_N_PHASES && end; k++) {
    const char *at = end;
    r->info.seconds[k] = g_ascii_strtod (at, &end);
    if (end == at)
      end = NULL;
  }
  if (!end) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "case %s printed no phases: '%s'",
                 bc->name, out);
    return FALSE;
  }
  return TRUE;
}

static double
seconds_per_mp (const BenchCase *bc, const BenchResult *r)
{
  return r->seconds / (bc->width * (double) bc->height / 1e6);
}

static const char *
verdict (gboolean met)
{
  return met ? "met" : "MISSED";
}

static void
print_row (const BenchCase *bc, const BenchResult *r)
{
  g_autofree char *size = g_strdup_printf ("%dx%d", bc->width, bc->height);
  g_autofree char *tile = g_strdup_printf ("%dx%d", r->info.tile_width, r->info.tile_height);
  printf ("%-8s %9s %4d %4d %8.2f %8.2f %11.1f %8.3f %5d %8s %8.1f %8.1f\n", bc->name, size,
          bc->octaves, bc->iterations, r->seconds, r->cpu_seconds, r->rss_mb,
          seconds_per_mp (bc, r), r->info.tiles, tile, r->info.plan_bytes / MB,
          r->info.work_bytes / MB);
  fflush (stdout);
}

/* Where each case's time went: ms a step per phase (the first three phases
 * and the result are once a run, spread over its steps), and the share of
 * the run outside the network's forward and backward. */
static void
print_phases (const BenchResult *r, const gboolean *ran)
{
  printf ("\nphases, ms a step\n%-10s", "case");
  for (int k = 0; k < DD_N_PHASES; k++)
    printf (" %9.9s", dd_dream_phase_name (k));
  printf (" %9s %9s\n", "outside", "outside%");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    if (!ran[i])
      continue;
    const int steps = MAX (r[i].info.steps, 1);
    double total = 0;
    printf ("%-10s", cases[i].name);
    for (int k = 0; k < DD_N_PHASES; k++) {
      printf (" %9.2f", 1e3 * r[i].info.seconds[k] / steps);
      total += r[i].info.seconds[k];
    }
    const double outside =
        total - r[i].info.seconds[DD_PHASE_FORWARD] - r[i].info.seconds[DD_PHASE_BACKWARD];
    printf (" %9.2f %9.1f\n", 1e3 * outside / steps, total > 0 ? 100 * outside / total : 0);
  }
}

/* r holds the results of every case, in the order of cases[]. */
static void
print_targets (const BenchResult *r)
{
  const BenchResult *def = &r[0], *big = &r[1], *small = &r[2];
  double big_gb = big->rss_mb / 1024.0;
  double one_step = seconds_per_mp (&cases[1], big) / seconds_per_mp (&cases[2], small);
  printf ("\ntargets\n");
  const double default_targets[] = { TARGET_DEFAULT_S, TARGET_FAST_S };
  for (gsize i = 0; i < G_N_ELEMENTS (default_targets); i++)
    printf ("  default dream 1024x768      %7.2f s     (<= %.0f s)          %s\n", def->seconds,
            default_targets[i], verdict (def->seconds <= default_targets[i]));
  printf ("  6000x4000 peak RSS          %7.2f GB    (<= %.1f GB)        %s\n", big_gb,
          TARGET_BIG_RSS_GB, verdict (big_gb <= TARGET_BIG_RSS_GB));
  printf ("  s/MP 6000x4000 / 1024x768   %7.2f       (within 1 +- %.2f)  %s\n", one_step,
          TARGET_SPMP_SPREAD, verdict (fabs (one_step - 1) <= TARGET_SPMP_SPREAD));
  for (gsize i = SERIES_FIRST; i < G_N_ELEMENTS (cases); i++) {
    if (i == SERIES_REF)
      continue;
    g_autofree char *label = g_strdup_printf ("%dx%d", cases[i].width, cases[i].height);
    double ratio =
        seconds_per_mp (&cases[i], &r[i]) / seconds_per_mp (&cases[SERIES_REF], &r[SERIES_REF]);
    printf ("  s/MP %-9s / 1024x768, 3 steps  %5.2f  (within 1 +- %.2f)  %s\n", label, ratio,
            TARGET_SPMP_SPREAD, verdict (fabs (ratio - 1) <= TARGET_SPMP_SPREAD));
  }
}

int
main (int argc, char **argv)
{
  dd_process_init (argv);
  g_autofree char *case_name = NULL;
  g_autofree char *model_name = NULL;
  g_autofree char *only = NULL;
  int load = 0;
  const GOptionEntry entries[] = {
    { "load", 0, 0, G_OPTION_ARG_INT, &load,
      "Run beside N processes that each keep a core busy (0)", "N" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_name,
      "Run only this case (default, big, small, half-mp-3, 1mp-3, 6mp-3, 24mp-3)", "NAME" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only,
      "Run these cases, each in its own process, and print their tables (no targets)", "NAME,..." },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model_name, "Model card or .onnx file (googlenet)",
      "NAME|FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- benchmark whole dreams");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "bench-dream: %s\n", error->message);
    return 1;
  }
  if (!model_name)
    model_name = g_strdup ("googlenet");
  if (load < 0 || load > 256) {
    fprintf (stderr, "bench-dream: --load takes 0 to 256 processes\n");
    return 1;
  }
  /* Before any thread exists; every case then runs beside the same load. */
  start_load (load);

  if (case_name) {
    const BenchCase *bc = find_case (case_name);
    if (!bc) {
      fprintf (stderr, "bench-dream: no case named '%s'\n", case_name);
      return 1;
    }
    if (!run_case (bc, model_name, &error)) {
      fprintf (stderr, "bench-dream: %s: %s\n", bc->name, error->message);
      return 1;
    }
    return 0;
  }

  printf ("libdeepdream dream benchmark: model %s, %u cpus, seed 1, each case in a fresh "
          "process, beside %d busy processes\n",
          model_name, g_get_num_processors (), load);
  g_autofree char *kernels = dd_blas_describe ();
  printf ("kernels: %s\n", kernels);
  print_load ("before");
  printf ("\n%-8s %9s %4s %4s %8s %8s %11s %8s %5s %8s %8s %8s\n", "case", "size", "oct", "its",
          "wall s", "cpu s", "peak RSS MB", "s/MP", "tiles", "tile", "plan MB", "work MB");
  fflush (stdout);
  g_auto (GStrv) wanted = only ? g_strsplit (only, ",", -1) : NULL;
  for (int i = 0; wanted && wanted[i]; i++)
    if (!find_case (wanted[i])) {
      fprintf (stderr, "bench-dream: no case named '%s'\n", wanted[i]);
      return 1;
    }
  BenchResult results[G_N_ELEMENTS (cases)] = { 0 };
  gboolean ran[G_N_ELEMENTS (cases)] = { 0 };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    if (wanted && !g_strv_contains ((const char *const *) wanted, cases[i].name))
      continue;
    ran[i] = TRUE;
    if (!spawn_case (&cases[i], model_name, &results[i], &error)) {
      fprintf (stderr, "bench-dream: case %s: %s\n", cases[i].name, error->message);
      return 1;
    }
    print_row (&cases[i], &results[i]);
  }
  print_phases (results, ran);
  if (!wanted)
    print_targets (results);
  print_load ("after");
  return 0;
}
