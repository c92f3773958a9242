/* op-linear.c: Gemm and MatMul, through OpenBLAS.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For Y = A B the input gradients are gA = gY B^T and gB = A^T gY; Gemm's
 * transposes and scales carry over, and its bias C gets gY summed over the
 * axes along which C repeats.
 */
#include "dd-ops.h"

#include "dd-blas.h"

#include <string.h>

/* ---- Gemm ------------------------------------------------------------------- */

static gboolean
gemm_setup (DdAttrs *a, DdNodeDesc *n, GError **error)
{
  int64_t ta = 0, tb = 0;
  if (!dd_node_attr_float (n, "alpha", 1.0f, &a->alpha, error) ||
      !dd_node_attr_float (n, "beta", 1.0f, &a->beta, error) ||
      !dd_node_attr_int (n, "transA", 0, &ta, error) ||
      !dd_node_attr_int (n, "transB", 0, &tb, error))
    return FALSE;
  a->trans_a = ta != 0;
  a->trans_b = tb != 0;
  return TRUE;
}

typedef struct {
  int64_t m, k, n;
} GemmDims;

static GemmDims
gemm_dims (const DdAttrs *a, const DdShape *A, const DdShape *B)
{
  return (GemmDims){ .m = a->trans_a ? A->d[1] : A->d[0],
                     .k = a->trans_a ? A->d[0] : A->d[1],
                     .n = a->trans_b ? B->d[0] : B->d[1] };
}

static gboolean
gemm_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  char ba[96], bb[96];
  if (in[0].rank != 2 || in[1].rank != 2)
    return dd_op_fail (error, "Gemm needs 2-D operands, got %s and %s",
                       dd_shape_format (&in[0], ba, sizeof ba),
                       dd_shape_format (&in[1], bb, sizeof bb));
  GemmDims d = gemm_dims (a, &in[0], &in[1]);
  if ((a->trans_b ? in[1].d[1] : in[1].d[0]) != d.k)
    return dd_op_fail (error, "Gemm operands %s and %s do not fit",
                       dd_shape_format (&in[0], ba, sizeof ba),
                       dd_shape_format (&in[1], bb, sizeof bb));
  *out = (DdShape){ .rank = 2, .d = { d.m, d.n } };
  if (n_in > 2 && in[2].rank > 0) {
    const DdShape *cs = &in[2];
    int64_t cm = cs->rank == 2 ? cs->d[0] : 1, cn = cs->d[cs->rank - 1];
    if (cs->rank > 2 || (cm != 1 && cm != d.m) || (cn != 1 && cn != d.n))
      return dd_op_fail (error, "Gemm bias %s does not broadcast to %s",
                         dd_shape_format (cs, ba, sizeof ba), dd_shape_format (out, bb, sizeof bb));
  }
  return TRUE;
}

/* Strides of C over Y's rows and columns (0 where C repeats). */
static void
gemm_bias_strides (const DdShape *cs, int64_t *row_stride, int64_t *col_stride)
{
  int64_t cm = cs->rank == 2 ? cs->d[0] : 1, cn = cs->rank ? cs->d[cs->rank - 1] : 1;
  *col_stride = cn == 1 ? 0 : 1;
  *row_stride = cm == 1 ? 0 : cn;
}

static gboolean
has_bias (const DdOpCtx *c)
{
  /* An absent C comes as x NULL; a present rank-0 C is a scalar. */
  return c->n_in > 2 && c->x[2];
}

static void
gemm_forward (const DdOpCtx *c)
{
  const DdAttrs *a = c->a;
  GemmDims d = gemm_dims (a, c->xs[0], c->xs[1]);
  float beta = 0.0f;

  if (has_bias (c) && a->beta != 0.0f) {
    int64_t rs, cs;
    gemm_bias_strides (c->xs[2], &rs, &cs);
    for (int64_t i = 0; i < d.m; i++)
      for (int64_t j = 0; j < d.n; j++)
        c->y[i * d.n + j] = a->beta * c->x[2][i * rs + j * cs];
    beta = 1.0f;
  }
  dd_sgemm (a->trans_a, a->trans_b, d.m, d.n, d.k, a->alpha, c->x[0], c->xs[0]->d[1], c->x[1],
            c->xs[1]->d[1], beta, c->y, d.n);
}

static void
gemm_backward (const DdOpCtx *c)
{
  const DdAttrs *a = c->a;
  GemmDims d = gemm_dims (a, c->xs[0], c->xs[1]);
  const int64_t lda = c->xs[0]->d[1], ldb = c->xs[1]->d[1];

  if (c->gx[0]) {
    float beta = c->gx_add[0] ? 1.0f : 0.0f;
    if (!a->trans_a) /* gA[m,k] = alpha gY B'^T */
      dd_sgemm (FALSE, !a->trans_b, d.m, d.k, d.n, a->alpha, c->gy, d.n, c->x[1], ldb, beta,
                c->gx[0], d.k);
    else /* gA[k,m] = alpha B' gY^T */
      dd_sgemm (a->trans_b, TRUE, d.k, d.m, d.n, a->alpha, c->x[1], ldb, c->gy, d.n, beta, c->gx[0],
                d.m);
  }
  if (c->gx[1]) {
    float beta = c->gx_add[1] ? 1.0f : 0.0f;
    if (!a->trans_b) /* gB[k,n] = alpha A'^T gY */
      dd_sgemm (!a->trans_a, FALSE, d.k, d.n, d.m, a->alpha, c->x[0], lda, c->gy, d.n, beta,
                c->gx[1], d.n);
    else /* gB[n,k] = alpha gY^T A' */
      dd_sgemm (TRUE, a->trans_a, d.n, d.k, d.m, a->alpha, c->gy, d.n, c->x[0], lda, beta, c->gx[1],
                d.k);
  }
  if (has_bias (c) && c->gx[2]) {
    int64_t rs, cs;
    gemm_bias_strides (c->xs[2], &rs, &cs);
    if (!c->gx_add[2])
      memset (c->gx[2], 0, dd_shape_numel (c->xs[2]) * sizeof (float));
    for (int64_t i = 0; i < d.m; i++)
      for (int64_t j = 0; j < d.n; j++)
        c->gx[2][i * rs + j * cs] += a->beta * c->gy[i * d.n + j];
  }
}

const DdOpClass dd_op_gemm = {
  .onnx_name = "Gemm",
  .min_inputs = 2,
  .max_inputs = 3,
  .setup = gemm_setup,
  .infer = gemm_infer,
  .forward = gemm_forward,
  .backward = gemm_backward,
  .backward_reads_inputs = 3,
};

/* ---- MatMul -------------------------------------------------------------------- */

/* Batch axes broadcast like numpy; the last two are the matrices. */
typedef struct {
  int64_t m, k, n, batches;
  int batch_rank;
  int64_t batch[DD_MAX_RANK];
  int64_t stride_a[DD_MAX_RANK], stride_b[DD_MAX_RANK]; /* in matrices */
} MatMulPlan;

static gboolean
matmul_plan (const DdShape *A, const DdShape *B, MatMulPlan *p, GError **error)
{
  char ba[96], bb[96];
  if (A->rank < 2 || B->rank < 2 || A->d[A->rank - 1] != B->d[B->rank - 2])
    return dd_op_fail (error, "MatMul operands %s and %s do not fit (both need rank >= 2)",
                       dd_shape_format (A, ba, sizeof ba), dd_shape_format (B, bb, sizeof bb));
  *p = (MatMulPlan){ .m = A->d[A->rank - 2],
                     .k = A->d[A->rank - 1],
                     .n = B->d[B->rank - 1],
                     .batches = 1,
                     .batch_rank = MAX (A->rank, B->rank) - 2 };
  int64_t sa = 1, sb = 1;
  for (int i = p->batch_rank - 1; i >= 0; i--) {
    int ia = i - (p->batch_rank - (A->rank - 2)), ib = i - (p->batch_rank - (B->rank - 2));
    int64_t da = ia >= 0 ? A->d[ia] : 1, db = ib >= 0 ? B->d[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return dd_op_fail (error, "MatMul batch axes of %s and %s do not broadcast",
                         dd_shape_format (A, ba, sizeof ba), dd_shape_format (B, bb, sizeof bb));
    p->batch[i] = MAX (da, db);
    p->stride_a[i] = da == 1 ? 0 : sa;
    p->stride_b[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
    p->batches *= p->batch[i];
  }
  return TRUE;
}

static gboolean
matmul_infer (const DdAttrs *a, int n_in, const DdShape *in, DdShape *out, GError **error)
{
  MatMulPlan p;
  (void) a, (void) n_in;
  if (!matmul_plan (&in[0], &in[1], &p, error))
    return FALSE;
  out->rank = p.batch_rank + 2;
  memcpy (out->d, p.batch, p.batch_rank * sizeof p.batch[0]);
  out->d[p.batch_rank] = p.m;
  out->d[p.batch_rank + 1] = p.n;
  return TRUE;
}

/* Matrix offsets of batch b in A and B. */
static void
batch_offsets (const MatMulPlan *p, int64_t b, int64_t *off_a, int64_t *off_b)
{
  int64_t ia = 0, ib = 0;
  for (int i = p->batch_rank - 1; i >= 0; i--) {
    int64_t idx = b % p->batch[i];
    b /= p->batch[i];
    ia += idx * p->stride_a[i];
    ib += idx * p->stride_b[i];
  }
  *off_a = ia * p->m * p->k;
  *off_b = ib * p->k * p->n;
}

static void
matmul_forward (const DdOpCtx *c)
{
  MatMulPlan p;
  matmul_plan (c->xs[0], c->xs[1], &p, NULL);
  for (int64_t b = 0; b < p.batches; b++) {
    int64_t oa, ob;
    batch_offsets (&p, b, &oa, &ob);
    dd_sgemm (FALSE, FALSE, p.m, p.n, p.k, 1.0f, c->x[0] + oa, p.k, c->x[1] + ob, p.n, 0.0f,
              c->y + b * p.m * p.n, p.n);
  }
}

static void
matmul_backward (const DdOpCtx *c)
{
  MatMulPlan p;
  matmul_plan (c->xs[0], c->xs[1], &p, NULL);
  /* A repeated operand collects from several batches: start from zero and
   * always accumulate. */
  for (int k = 0; k < 2; k++)
    if (c->gx[k] && !c->gx_add[k])
      memset (c->gx[k], 0, dd_shape_numel (c->xs[k]) * sizeof (float));
  for (int64_t b = 0; b < p.batches; b++) {
    int64_t oa, ob;
    batch_offsets (&p, b, &oa, &ob);
    const float *gy = c->gy + b * p.m * p.n;
    if (c->gx[0]) /* gA[m,k] += gY B^T */
      dd_sgemm (FALSE, TRUE, p.m, p.k, p.n, 1.0f, gy, p.n, c->x[1] + ob, p.n, 1.0f, c->gx[0] + oa,
                p.k);
    if (c->gx[1]) /* gB[k,n] += A^T gY */
      dd_sgemm (TRUE, FALSE, p.k, p.n, p.m, 1.0f, c->x[0] + oa, p.k, gy, p.n, 1.0f, c->gx[1] + ob,
                p.n);
  }
}

const DdOpClass dd_op_matmul = {
  .onnx_name = "MatMul",
  .min_inputs = 2,
  .max_inputs = 2,
  .infer = matmul_infer,
  .forward = matmul_forward,
  .backward = matmul_backward,
  .backward_reads_inputs = 3,
};
