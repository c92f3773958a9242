/* blas.c: makes OpenBLAS run the best kernels the CPU supports, and the
 * OpenMP threads wait without spinning.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * OpenBLAS reads OPENBLAS_CORETYPE once, in its constructor. Of the ways to
 * have it read our choice instead, switching in place is the one that costs
 * nothing and works in every program that links libdeepdream: this
 * library's constructor runs after OpenBLAS's (OpenBLAS is one of its
 * dependencies) and before main, while the process has one thread and has
 * made no BLAS call; there it sets OPENBLAS_CORETYPE and asks OpenBLAS's
 * dynamic-architecture dispatcher to choose again (gotoblas_dynamic_quit and
 * gotoblas_dynamic_init, which OpenBLAS exports for exactly this start-up
 * choice and which reinitialise the chosen core's blocking parameters). Its
 * work buffers do not depend on the core, so the result is the process
 * OpenBLAS would have given with the variable set from the start. The
 * alternatives cost more: re-executing the program repeats the whole
 * dynamic loading (and under valgrind would leave the tool behind), and
 * loading OpenBLAS with dlopen would take every cblas call, ours and the
 * test programs', through pointers. A program that loads libdeepdream
 * itself with dlopen, after BLAS calls of its own, should set
 * OPENBLAS_CORETYPE instead: then this file changes nothing.
 */
#include "dd-blas.h"
#include "dd-ops.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "dd-runtime.h"

void
dd_cpu_features_read (DdCpuFeatures *cpu)
{
  memset (cpu, 0, sizeof *cpu);
#if defined(__x86_64__) || defined(__i386__)
  unsigned max = 0, a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid (0, &max, &b, &c, &d))
    return;
  char vendor[13];
  memcpy (vendor, &b, 4);
  memcpy (vendor + 4, &d, 4);
  memcpy (vendor + 8, &c, 4);
  vendor[12] = '\0';
  if (strcmp (vendor, "GenuineIntel") == 0)
    cpu->vendor = DD_CPU_VENDOR_INTEL;
  else if (strcmp (vendor, "AuthenticAMD") == 0 || strcmp (vendor, "HygonGenuine") == 0)
    cpu->vendor = DD_CPU_VENDOR_AMD;

  __get_cpuid (1, &a, &b, &c, &d);
  cpu->family = (a >> 8) & 0xf;
  cpu->model = (a >> 4) & 0xf;
  if (cpu->family == 0xf)
    cpu->family += (a >> 20) & 0xff;
  if (cpu->family == 6 || cpu->family >= 0xf)
    cpu->model += ((a >> 16) & 0xf) << 4;

  /* The registers are usable only where the kernel saves them: XCR0 bits
   * 1-2 for YMM, 5-7 too for ZMM and the mask registers. */
  gboolean osxsave = (c >> 27) & 1;
  unsigned xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = lo;
  }
  gboolean ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;
  cpu->avx = ymm && ((c >> 28) & 1);
  cpu->fma = cpu->avx && ((c >> 12) & 1);

  if (max < 7)
    return;
  __cpuid_count (7, 0, a, b, c, d);
  cpu->avx2 = cpu->avx && ((b >> 5) & 1);
  const unsigned avx512_bits = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
  cpu->avx512 = zmm && (b & avx512_bits) == avx512_bits;
  cpu->avx512_fp16 = cpu->avx512 && ((d >> 23) & 1);
  unsigned subleaves = a;
  if (subleaves >= 1) {
    __cpuid_count (7, 1, a, b, c, d);
    cpu->avx512_bf16 = cpu->avx512 && ((a >> 5) & 1);
  }
#endif
}

/* How good a core's sgemm is, by the instructions its kernels use: cores
 * of one rank are equally good choices for a CPU that has those
 * instructions (Zen's kernels are Haswell's with AMD's cache sizes). */
static int
core_rank (const char *core)
{
  static const struct {
    const char *name;
    int rank;
  } ranks[] = {
    { "SapphireRapids", 5 }, { "Cooperlake", 5 }, { "SkylakeX", 4 },
    { "Haswell", 3 },        { "Zen", 3 },        { "Sandybridge", 2 },
    { "Bulldozer", 2 },      { "Piledriver", 2 }, { "Steamroller", 2 },
    { "Excavator", 2 },
  };
  if (!core)
    return 0;
  for (gsize i = 0; i < G_N_ELEMENTS (ranks); i++)
    if (g_ascii_strcasecmp (core, ranks[i].name) == 0)
      return ranks[i].rank;
  return 1; /* SSE kernels: Prescott, Core2, Nehalem... */
}

const char *
dd_blas_best_core (const DdCpuFeatures *cpu, gboolean (*has_core) (const char *core))
{
  const char *candidates[5];
  int n = 0;
  if (cpu->avx512 && cpu->avx512_bf16)
    candidates[n++] = "Cooperlake";
  if (cpu->avx512)
    candidates[n++] = "SkylakeX";
  if (cpu->avx2 && cpu->fma) {
    if (cpu->vendor == DD_CPU_VENDOR_AMD)
      candidates[n++] = "Zen";
    candidates[n++] = "Haswell";
  }
  if (cpu->avx)
    candidates[n++] = "Sandybridge";
  for (int i = 0; i < n; i++)
    if (has_core (candidates[i]))
      return candidates[i];
  return NULL;
}

DdBlasDecision
dd_blas_decide (const DdCpuFeatures *cpu, const char *openblas_core, const char *env_coretype,
                gboolean (*has_core) (const char *core))
{
  DdBlasDecision d = { DD_BLAS_KEEP_USER, NULL };
  if (env_coretype && *env_coretype)
    return d;
  const char *best = dd_blas_best_core (cpu, has_core);
  if (!best) {
    d.action = DD_BLAS_KEEP_NO_CORE;
    return d;
  }
  if (core_rank (openblas_core) >= core_rank (best)) {
    d.action = DD_BLAS_KEEP_AS_GOOD;
    return d;
  }
  d.action = DD_BLAS_SWITCH;
  d.core = best;
  return d;
}

/* A dynamic-architecture OpenBLAS exports each core's table as gotoblas_NAME
 * in capitals: the list of what force_coretype accepts, which ends the
 * process on a name it does not know. */
gboolean
dd_blas_has_core (const char *core)
{
  char symbol[64] = "gotoblas_";
  gsize len = strlen (symbol);
  for (const char *p = core; *p && len + 1 < sizeof symbol; p++)
    symbol[len++] = g_ascii_toupper (*p);
  symbol[len] = '\0';
  return dlsym (RTLD_DEFAULT, symbol) != NULL;
}

/* What the constructor did, for dd_blas_describe. */
static struct {
  DdBlasAction action;
  char openblas_core[32]; /* OpenBLAS's own choice */
  char wanted[32];        /* the core a switch asked for */
} blas_choice;

__attribute__ ((constructor)) static void
dd_blas_choose (void)
{
  DdCpuFeatures cpu;
  dd_cpu_features_read (&cpu);
  const char *own = openblas_get_corename ();
  g_strlcpy (blas_choice.openblas_core, own ? own : "", sizeof blas_choice.openblas_core);
  DdBlasDecision d = dd_blas_decide (&cpu, own, g_getenv ("OPENBLAS_CORETYPE"), dd_blas_has_core);
  blas_choice.action = d.action;
  if (d.action != DD_BLAS_SWITCH)
    return;
  g_strlcpy (blas_choice.wanted, d.core, sizeof blas_choice.wanted);
  void (*quit) (void) = (void (*) (void)) dlsym (RTLD_DEFAULT, "gotoblas_dynamic_quit");
  void (*init) (void) = (void (*) (void)) dlsym (RTLD_DEFAULT, "gotoblas_dynamic_init");
  if (!quit || !init) {
    blas_choice.action = DD_BLAS_SWITCH_FAILED;
    return;
  }
  /* Set only for OpenBLAS's second look: children and dd_blas_describe
   * must still see the user's environment as it was. */
  setenv ("OPENBLAS_CORETYPE", d.core, 1);
  quit ();
  init ();
  unsetenv ("OPENBLAS_CORETYPE");
  const char *now = openblas_get_corename ();
  if (!now || g_ascii_strcasecmp (now, d.core) != 0)
    blas_choice.action = DD_BLAS_SWITCH_FAILED;
}

/* libgomp spins for a while at every barrier and between parallel regions
 * before it sleeps (GOMP_SPINCOUNT, 300000 pauses by default). On an idle
 * machine that buys nothing measurable: a 1024x768 step took 214-224 ms
 * spinning and 212-229 ms passive, a default dream 4.30-5.11 s and
 * 4.40-5.04 s (bench, bench-dream --case default, alternating). Beside one
 * busy process on two cores, a spinning thread burns the time slice its
 * partner needs: the default dream took 16.8-23.7 s spinning and 8.5-10.6 s
 * passive (bench-dream --case default --load 1). libgomp reads the policy
 * only when it loads, before any code of ours runs, so the only way to set
 * it for the program is to run the program again with the variable set. */
void
dd_process_init (char **argv)
{
  if (g_getenv ("OMP_WAIT_POLICY") || g_getenv ("GOMP_SPINCOUNT"))
    return;
  /* Valgrind does not follow a program into exec by default: the second
   * run would leave the tool behind. */
  const char *preload = g_getenv ("LD_PRELOAD");
  if (preload && strstr (preload, "vgpreload"))
    return;
  if (!argv || !argv[0])
    return;
  setenv ("OMP_WAIT_POLICY", "passive", 1);
  execv ("/proc/self/exe", argv);
  /* No /proc, or the program is gone: run on with libgomp's default. */
  unsetenv ("OMP_WAIT_POLICY");
}

char *
dd_blas_describe (void)
{
  DdCpuFeatures cpu;
  dd_cpu_features_read (&cpu);
  const char *core = openblas_get_corename ();
  /* openblas_get_config () starts "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": its
   * first two words. */
  g_auto (GStrv) words = g_strsplit (openblas_get_config (), " ", 3);
  if (g_strv_length (words) > 2)
    g_clear_pointer (&words[2], g_free);
  g_autofree char *version = g_strjoinv (" ", words);

  g_autofree char *why = NULL;
  switch (blas_choice.action) {
  case DD_BLAS_KEEP_USER:
    why = g_strdup ("set by OPENBLAS_CORETYPE");
    break;
  case DD_BLAS_KEEP_AS_GOOD:
    why = g_strdup ("OpenBLAS's own choice, the best for this CPU");
    break;
  case DD_BLAS_KEEP_NO_CORE:
    why = g_strdup ("OpenBLAS's own choice; none of its cores fits this CPU better");
    break;
  case DD_BLAS_SWITCH:
    why = g_strdup_printf ("chosen: OpenBLAS did not recognise this CPU and picked %s",
                           blas_choice.openblas_core);
    break;
  case DD_BLAS_SWITCH_FAILED:
    why = g_strdup_printf ("OpenBLAS's own choice; %s kernels would be faster but this OpenBLAS "
                           "cannot switch: set OPENBLAS_CORETYPE=%s",
                           blas_choice.wanted, blas_choice.wanted);
    break;
  }

  GString *features = g_string_new (NULL);
  if (cpu.avx512)
    g_string_append_printf (features, "AVX-512%s%s, ", cpu.avx512_bf16 ? " BF16" : "",
                            cpu.avx512_fp16 ? " FP16" : "");
  if (cpu.avx2)
    g_string_append (features, "AVX2, ");
  if (cpu.fma)
    g_string_append (features, "FMA, ");
  if (cpu.avx && !cpu.avx2)
    g_string_append (features, "AVX, ");
  if (features->len == 0)
    g_string_append (features, "no AVX, ");
  g_string_truncate (features, features->len - 2);
  static const char *const vendors[] = { "", "Intel ", "AMD " };

  g_autofree char *feature_text = g_string_free (features, FALSE);
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  const char *spin = g_getenv ("GOMP_SPINCOUNT");
  g_autofree char *waiting = spin     ? g_strdup_printf ("GOMP_SPINCOUNT=%s", spin)
                             : policy ? g_strdup_printf ("OMP_WAIT_POLICY=%s", policy)
                                      : g_strdup ("spinning, OpenMP's default");
  /* The convolutions' products run on the engine's own kernel where the
   * CPU has one (dd_product), the rest of the products on OpenBLAS. */
  const DdProductKernel product = dd_product_kernel ();
  g_autofree char *convolutions = product == DD_PRODUCT_BLAS
                                      ? g_strdup ("")
                                      : g_strdup_printf (", convolutions on the engine's %s kernel",
                                                         dd_product_kernel_name (product));
  return g_strdup_printf ("%s, %s kernels (%s)%s; %d thread%s (waiting: %s); CPU: %sfamily %d "
                          "model %d, %s",
                          version, core ? core : "unknown", why, convolutions,
                          omp_get_max_threads (), omp_get_max_threads () == 1 ? "" : "s", waiting,
                          vendors[cpu.vendor], cpu.family, cpu.model, feature_text);
}

void
dd_blas_reserve_buffers (int n)
{
  /* OpenBLAS's own allocator, which a single-threaded product takes its
   * buffer from and gives it back to, mapped, for the next. Looked up, as
   * another BLAS has none. */
  void *(*alloc) (int) = (void *(*) (int) ) dlsym (RTLD_DEFAULT, "blas_memory_alloc");
  void (*release) (void *) = (void (*) (void *)) dlsym (RTLD_DEFAULT, "blas_memory_free");
  if (!alloc || !release || n < 1)
    return;
  /* Under an address-space limit without room for them the allocation
   * itself would retry for ever: left to the plan's own checks, which
   * fail cleanly. OpenBLAS 0.3's buffer is 128 MB and a page. */
  struct rlimit as;
  g_autofree char *statm = NULL;
  if (getrlimit (RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
      return;
    const guint64 mapped = g_ascii_strtoull (statm, NULL, 10) * (guint64) sysconf (_SC_PAGESIZE);
    if (mapped + (guint64) n * (129 << 20) > (guint64) as.rlim_cur)
      return;
  }
  g_autofree void **held = g_new (void *, n);
  for (int i = 0; i < n; i++)
    held[i] = alloc (0);
  for (int i = 0; i < n; i++)
    release (held[i]);
}

/* Tiles of C for dd_sgemm: columns in runs of up to 1024 (a multiple of
 * every sgemm kernel's unroll), and rows split too when there are fewer
 * than 16 runs to share out, down to 64 rows, so that each tile stays a
 * product long enough for OpenBLAS's packing to be a small part of it. */
#define SGEMM_TILE_COLUMNS 1024
#define SGEMM_MIN_TILE_ROWS 64
#define SGEMM_TILES 16

static int64_t
round_up (int64_t v, int64_t multiple)
{
  return (v + multiple - 1) / multiple * multiple;
}

typedef struct {
  gboolean trans_a, trans_b;
  int64_t m, n, k;
  float alpha;
  const float *a;
  int64_t lda;
  const float *b;
  int64_t ldb;
  float beta;
  float *c;
  int64_t ldc, tile_m, tile_n, tiles_n;
} SgemmJob;

static void
sgemm_tile (gpointer data, int64_t tile, int slot)
{
  const SgemmJob *j = data;
  (void) slot;
  const int64_t i0 = tile / j->tiles_n * j->tile_m, j0 = tile % j->tiles_n * j->tile_n;
  const int64_t rows = MIN (j->tile_m, j->m - i0), cols = MIN (j->tile_n, j->n - j0);
  cblas_sgemm (
      CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
      rows, cols, j->k, j->alpha, j->a + (j->trans_a ? i0 : i0 * j->lda), j->lda,
      j->b + (j->trans_b ? j0 * j->ldb : j0), j->ldb, j->beta, j->c + i0 * j->ldc + j0, j->ldc);
}

void
dd_sgemm (gboolean trans_a, gboolean trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
          int64_t ldc)
{
  if (m <= 0 || n <= 0)
    return;
  const int64_t col_tiles = (n + SGEMM_TILE_COLUMNS - 1) / SGEMM_TILE_COLUMNS;
  const int64_t tile_n = round_up ((n + col_tiles - 1) / col_tiles, 16);
  int64_t row_tiles = MAX ((SGEMM_TILES + col_tiles - 1) / col_tiles, 1);
  row_tiles = CLAMP (row_tiles, 1, MAX (m / SGEMM_MIN_TILE_ROWS, 1));
  const int64_t tile_m = round_up ((m + row_tiles - 1) / row_tiles, 16);
  const int64_t tiles_m = (m + tile_m - 1) / tile_m, tiles_n = (n + tile_n - 1) / tile_n;
  SgemmJob j = { trans_a, trans_b, m,    n, k,   alpha,  a,      lda,
                 b,       ldb,     beta, c, ldc, tile_m, tile_n, tiles_n };
  dd_parallel (tiles_m * tiles_n, sgemm_tile, &j);
}
