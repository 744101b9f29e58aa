#pragma once
// Brightness / contrast changes of a whole (C, *spatial) tensor (all channels alike), in the two flavours the
// reference's exemplar augmentation uses. Both are deterministic given their parameters; the augmentation pipeline
// draws the parameters from its medssl::Rng.
//
// shift_brightness_scale_contrast - healthml `augment_exemplar_3d._distort_color` (after TF's distort_color):
//   x' = x + delta;  y = contrast * (x' - mean(x')) + mean(x')   (mean over every voxel and channel; no clipping).
//   The reference draws delta ~ U(-0.125, 0.125), contrast ~ U(0.5, 1.5). With delta = 0 the mean is unchanged.
// brightness_contrast_by_max - albumentations RandomBrightnessContrast(brightness_by_max=True) on a float image
//   (`_brightness_contrast_adjust_non_uint` + `@clipped`): y = clip(alpha * x + beta * max_value, 0, max_value),
//   max_value 1 for float images. The transform draws alpha = 1 + U(-0.2, 0.2), beta = U(-0.2, 0.2).
//   MONAI has no exact equivalent (AdjustContrast is a gamma; ShiftIntensity / ScaleIntensity come closest).
#include "medssl/core/torch_pch.h"

namespace medssl {

torch::Tensor shift_brightness_scale_contrast(const torch::Tensor& data, double delta, double contrast);

/// `clip` false skips the final clamp to [0, max_value] (for data that is not scaled to [0, max_value]).
torch::Tensor brightness_contrast_by_max(const torch::Tensor& data, double alpha, double beta, double max_value = 1.0,
                                         bool clip = true);

}  // namespace medssl
