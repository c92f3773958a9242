/* dd-blas.h: which OpenBLAS kernels run, and the choice behind them.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * OpenBLAS picks its kernels from a table of CPU models it knew when it was
 * released; on a newer CPU it falls back to its oldest (SSE3) kernels, eight
 * times slower at sgemm on an AVX-512 part. libdeepdream therefore decides
 * from the CPU's features which of OpenBLAS's cores fits, and switches
 * OpenBLAS to it when it loads, unless the user chose a core with
 * OPENBLAS_CORETYPE or OpenBLAS's own choice is as good.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef enum {
  DD_CPU_VENDOR_OTHER,
  DD_CPU_VENDOR_INTEL,
  DD_CPU_VENDOR_AMD, /* AMD and Hygon: OpenBLAS's Zen kernels */
} DdCpuVendor;

/* What the CPU and the operating system support together (an AVX-512 CPU
 * whose kernel does not save the ZMM registers has no usable AVX-512). */
typedef struct {
  DdCpuVendor vendor;
  int family, model; /* with the extended fields added */
  gboolean avx, fma, avx2;
  gboolean avx512;      /* F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels use */
  gboolean avx512_bf16; /* Cooperlake's addition */
  gboolean avx512_fp16;
} DdCpuFeatures;

/* This processor's features, read with cpuid and xgetbv. */
void dd_cpu_features_read (DdCpuFeatures *cpu);

typedef enum {
  DD_BLAS_KEEP_USER,     /* OPENBLAS_CORETYPE is set: the user's choice stands */
  DD_BLAS_KEEP_AS_GOOD,  /* OpenBLAS's own core is as good as the features allow */
  DD_BLAS_KEEP_NO_CORE,  /* no core of this OpenBLAS suits these features better */
  DD_BLAS_SWITCH,        /* switch to the decision's core */
  DD_BLAS_SWITCH_FAILED, /* the switch was due but this OpenBLAS cannot make it */
} DdBlasAction;

typedef struct {
  DdBlasAction action;
  const char *core; /* DD_BLAS_SWITCH: the core to use, as OPENBLAS_CORETYPE names it */
} DdBlasDecision;

/* The decision itself, apart from the process so that tests can give it
 * any CPU: cpu's features, the core OpenBLAS chose (openblas_get_corename),
 * OPENBLAS_CORETYPE's value or NULL, and has_core, which says whether this
 * OpenBLAS build has a core of that name. */
DdBlasDecision dd_blas_decide (const DdCpuFeatures *cpu, const char *openblas_core,
                               const char *env_coretype, gboolean (*has_core) (const char *core));

/* The best core of this OpenBLAS build for cpu, or NULL when none beats its
 * generic ones. */
const char *dd_blas_best_core (const DdCpuFeatures *cpu, gboolean (*has_core) (const char *core));

/* Whether the OpenBLAS linked in has a core of that name. */
gboolean dd_blas_has_core (const char *core);

/* Makes OpenBLAS map n buffers for single-threaded products now, kept for
 * later ones (see dd_parallel_prepare); nothing with another BLAS. */
void dd_blas_reserve_buffers (int n);

/* C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm, with every
 * element of C summed in the same order whatever the number of threads.
 * OpenBLAS's threaded sgemm cuts the inner dimension into other blocks
 * than its single-threaded one once K exceeds its GEMM_Q, so one thread
 * and two disagree in the last bits and a dream drifts apart over its
 * steps. Here OpenBLAS only ever runs single-threaded, on tiles of C whose
 * shapes depend on M and N alone, and the engine's threads share the
 * tiles out (dd_parallel); inside a dd_parallel block, call cblas_sgemm. */
void dd_sgemm (gboolean trans_a, gboolean trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc);
