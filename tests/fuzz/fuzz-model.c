/* fuzz-model.c: libFuzzer target over model loading and planning.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Any bytes go to the loader; a model that loads has its tensors listed and
 * a plan laid out (measured, not allocated) for its output at a small size
 * and at a large one. Nothing may crash, leak or trip a sanitizer; errors
 * are fine.
 */
#include <stdint.h>

#include "deepdream.h"

static void
try_plan (DdModel *model, const char *target, int width, int height)
{
  const char *targets[] = { target };
  g_autoptr (DdPlan) plan =
      dd_plan_new (model, width, height, targets, 1, DD_PLAN_MEASURE_ONLY, NULL);
  if (plan)
    (void) dd_plan_get_memory (plan);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (DdModel) model = dd_model_new_from_data (data, size, NULL);
  if (!model)
    return 0;
  g_autoptr (GArray) tensors = dd_model_list_tensors (model, 40, 32, NULL);
  try_plan (model, dd_model_get_output_name (model), 40, 32);
  try_plan (model, dd_model_get_output_name (model), 1024, 768);
  if (tensors && tensors->len > 0)
    try_plan (model, g_array_index (tensors, DdTensorInfo, tensors->len / 2).name, 64, 64);
  return 0;
}
