/* test-blas.c: the choice of OpenBLAS kernels, as a table and on the CPU the
 * tests run on.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "dd-blas.h"
#include "deepdream.h"

/* Debian 12's OpenBLAS 0.3.21: every x86-64 core up to Cooperlake. */
static gboolean
has_up_to_cooperlake (const char *core)
{
  return strcmp (core, "SapphireRapids") != 0;
}

/* An OpenBLAS built before Cooperlake's kernels. */
static gboolean
has_up_to_skylakex (const char *core)
{
  return strcmp (core, "SapphireRapids") != 0 && strcmp (core, "Cooperlake") != 0;
}

typedef struct {
  const char *what;
  DdCpuFeatures cpu;
  const char *openblas_core; /* OpenBLAS's own choice */
  const char *env;           /* OPENBLAS_CORETYPE */
  gboolean (*has_core) (const char *core);
  DdBlasAction action;
  const char *core; /* for DD_BLAS_SWITCH */
} DecisionCase;

/* vendor, family, model, avx, fma, avx2, avx512, bf16, fp16 */
#define EMERALD_RAPIDS                                                                             \
  {                                                                                                \
    DD_CPU_VENDOR_INTEL, 6, 207, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE                                \
  }
#define SKYLAKE_SP                                                                                 \
  {                                                                                                \
    DD_CPU_VENDOR_INTEL, 6, 85, TRUE, TRUE, TRUE, TRUE, FALSE, FALSE                               \
  }
#define ALDER_LAKE                                                                                 \
  {                                                                                                \
    DD_CPU_VENDOR_INTEL, 6, 154, TRUE, TRUE, TRUE, FALSE, FALSE, FALSE                             \
  }
#define ZEN3                                                                                       \
  {                                                                                                \
    DD_CPU_VENDOR_AMD, 25, 1, TRUE, TRUE, TRUE, FALSE, FALSE, FALSE                                \
  }
#define ZEN5                                                                                       \
  {                                                                                                \
    DD_CPU_VENDOR_AMD, 26, 2, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE                                  \
  }
#define SANDY_BRIDGE                                                                               \
  {                                                                                                \
    DD_CPU_VENDOR_INTEL, 6, 42, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE                            \
  }
#define NO_AVX                                                                                     \
  {                                                                                                \
    DD_CPU_VENDOR_OTHER, 6, 15, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE                           \
  }

static const DecisionCase decision_cases[] = {
  { "unknown AVX-512 BF16 Intel, OpenBLAS falls back to SSE3", EMERALD_RAPIDS, "Prescott", NULL,
    has_up_to_cooperlake, DD_BLAS_SWITCH, "Cooperlake" },
  { "the same with a user's OPENBLAS_CORETYPE", EMERALD_RAPIDS, "Haswell", "Haswell",
    has_up_to_cooperlake, DD_BLAS_KEEP_USER, NULL },
  { "the same CPU under an OpenBLAS that knows it", EMERALD_RAPIDS, "Cooperlake", NULL,
    has_up_to_cooperlake, DD_BLAS_KEEP_AS_GOOD, NULL },
  { "a newer OpenBLAS's own SapphireRapids is as good", EMERALD_RAPIDS, "SapphireRapids", NULL,
    has_up_to_cooperlake, DD_BLAS_KEEP_AS_GOOD, NULL },
  { "an OpenBLAS without Cooperlake's kernels", EMERALD_RAPIDS, "Prescott", NULL,
    has_up_to_skylakex, DD_BLAS_SWITCH, "SkylakeX" },
  { "AVX-512 without BF16", SKYLAKE_SP, "Haswell", NULL, has_up_to_cooperlake, DD_BLAS_SWITCH,
    "SkylakeX" },
  { "AVX-512 without BF16, recognised", SKYLAKE_SP, "SkylakeX", NULL, has_up_to_cooperlake,
    DD_BLAS_KEEP_AS_GOOD, NULL },
  { "AVX2 Intel unknown to OpenBLAS", ALDER_LAKE, "Prescott", NULL, has_up_to_cooperlake,
    DD_BLAS_SWITCH, "Haswell" },
  { "AVX2 Intel recognised", ALDER_LAKE, "Haswell", NULL, has_up_to_cooperlake,
    DD_BLAS_KEEP_AS_GOOD, NULL },
  { "Zen 3 recognised", ZEN3, "Zen", NULL, has_up_to_cooperlake, DD_BLAS_KEEP_AS_GOOD, NULL },
  { "Zen 3 taken for Haswell: as good", ZEN3, "Haswell", NULL, has_up_to_cooperlake,
    DD_BLAS_KEEP_AS_GOOD, NULL },
  { "an AVX2 AMD unknown to OpenBLAS", ZEN3, "Prescott", NULL, has_up_to_cooperlake, DD_BLAS_SWITCH,
    "Zen" },
  { "Zen 5 given Zen kernels", ZEN5, "Zen", NULL, has_up_to_cooperlake, DD_BLAS_SWITCH,
    "Cooperlake" },
  { "Zen 5 given Cooperlake", ZEN5, "Cooperlake", NULL, has_up_to_cooperlake, DD_BLAS_KEEP_AS_GOOD,
    NULL },
  { "Zen 5 with the workplace's OPENBLAS_CORETYPE", ZEN5, "Haswell", "Haswell",
    has_up_to_cooperlake, DD_BLAS_KEEP_USER, NULL },
  { "AVX only", SANDY_BRIDGE, "Prescott", NULL, has_up_to_cooperlake, DD_BLAS_SWITCH,
    "Sandybridge" },
  { "no AVX: nothing better than SSE", NO_AVX, "Core2", NULL, has_up_to_cooperlake,
    DD_BLAS_KEEP_NO_CORE, NULL },
  { "OpenBLAS's core unknown to us", ALDER_LAKE, NULL, NULL, has_up_to_cooperlake, DD_BLAS_SWITCH,
    "Haswell" },
  { "an empty OPENBLAS_CORETYPE is no choice", ALDER_LAKE, "Prescott", "", has_up_to_cooperlake,
    DD_BLAS_SWITCH, "Haswell" },
};

static void
test_decision_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (decision_cases); i++) {
    const DecisionCase *c = &decision_cases[i];
    DdBlasDecision d = dd_blas_decide (&c->cpu, c->openblas_core, c->env, c->has_core);
    g_test_message ("%s: action %d, core %s", c->what, d.action, d.core ? d.core : "-");
    g_assert_cmpint (d.action, ==, c->action);
    g_assert_cmpstr (d.core, ==, c->core);
  }
}

/* The cores this OpenBLAS build has are the ones force_coretype accepts. */
static void
test_has_core (void)
{
  g_assert_true (dd_blas_has_core ("Haswell"));
  g_assert_true (dd_blas_has_core ("haswell"));
  g_assert_false (dd_blas_has_core ("NoSuchCore"));
  g_assert_false (dd_blas_has_core (""));
}

/* Whatever CPU runs the tests, the kernels in use are the best ones for its
 * features, unless OPENBLAS_CORETYPE chose them. */
static void
test_core_in_use (void)
{
  const char *env = g_getenv ("OPENBLAS_CORETYPE");
  g_autofree char *description = dd_blas_describe ();
  g_test_message ("%s", description);
  const char *core = openblas_get_corename ();
  g_assert_nonnull (core);
  g_assert_nonnull (strstr (description, core));
  if (env && *env) {
    g_assert_nonnull (strstr (description, "set by OPENBLAS_CORETYPE"));
    g_test_skip ("OPENBLAS_CORETYPE is set: the user's core is in use");
    return;
  }
  DdCpuFeatures cpu;
  dd_cpu_features_read (&cpu);
  DdBlasDecision d = dd_blas_decide (&cpu, core, NULL, dd_blas_has_core);
  const char *best = dd_blas_best_core (&cpu, dd_blas_has_core);
  g_test_message ("in use %s, best for these features %s", core, best ? best : "none");
  g_assert_cmpint (d.action, !=, DD_BLAS_SWITCH);
  g_assert_cmpint (d.action, !=, DD_BLAS_KEEP_USER);
}

/* The switched kernels compute: a small product against the plain sum. */
static void
test_sgemm_after_choice (void)
{
  enum { M = 37, N = 53, K = 129 };
  g_autofree float *a = g_new (float, M *K);
  g_autofree float *b = g_new (float, K *N);
  g_autofree float *c = g_new0 (float, M *N);
  for (int i = 0; i < M * K; i++)
    a[i] = (float) ((i * 7919) % 101) / 101.0f - 0.5f;
  for (int i = 0; i < K * N; i++)
    b[i] = (float) ((i * 104729) % 97) / 97.0f - 0.5f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int k = 0; k < K; k++)
        sum += (double) a[i * K + k] * b[k * N + j];
      g_assert_cmpfloat_with_epsilon (c[i * N + j], sum, 1e-4);
    }
}

/* dd_sgemm's product is right in every transposition, and the same to the
 * bit with one, two and three threads: K = 336 is past the inner block of
 * every OpenBLAS core, where cblas_sgemm's threaded blocking differs from
 * its single-threaded one. */
static void
test_sgemm_thread_counts (void)
{
  enum { M = 150, N = 2100, K = 336 };
  g_autofree float *a = g_new (float, M *K);
  g_autofree float *b = g_new (float, K *N);
  g_autofree float *c = g_new (float, M *N);
  g_autofree float *first = g_new (float, M *N);
  for (int i = 0; i < M * K; i++)
    a[i] = (float) (((gint64) i * 7919) % 101) / 101.0f - 0.5f;
  for (int i = 0; i < K * N; i++)
    b[i] = (float) (((gint64) i * 104729) % 97) / 97.0f - 0.5f;
  const int threads_before = omp_get_max_threads ();
  for (int trans = 0; trans < 4; trans++) {
    const gboolean ta = trans & 1, tb = trans >> 1;
    const int lda = ta ? M : K, ldb = tb ? K : N;
    for (int threads = 1; threads <= 3; threads++) {
      omp_set_num_threads (threads);
      for (int i = 0; i < M * N; i++)
        c[i] = (float) (i % 7);
      dd_sgemm (ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.5f, c, N);
      if (threads == 1)
        memcpy (first, c, sizeof (float) * M * N);
      else
        g_assert_cmpmem (c, sizeof (float) * M * N, first, sizeof (float) * M * N);
    }
    for (int i = 0; i < M; i += 7)
      for (int j = 0; j < N; j += 13) {
        double sum = 0.5 * (double) ((i * N + j) % 7);
        for (int k = 0; k < K; k++)
          sum += (double) a[ta ? k * lda + i : i * lda + k] * b[tb ? j * ldb + k : k * ldb + j];
        g_assert_cmpfloat_with_epsilon (c[i * N + j], sum, 1e-3);
      }
  }
  omp_set_num_threads (threads_before);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/blas/decision-table", test_decision_table);
  g_test_add_func ("/blas/has-core", test_has_core);
  g_test_add_func ("/blas/core-in-use", test_core_in_use);
  g_test_add_func ("/blas/sgemm-after-choice", test_sgemm_after_choice);
  g_test_add_func ("/blas/sgemm-thread-counts", test_sgemm_thread_counts);
  return g_test_run ();
}
