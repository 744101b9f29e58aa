#pragma once
// window_intensity: linear map of an intensity window [a_min, a_max] onto [b_min, b_max], e.g. CT Hounsfield units
// [-1000, 400] -> [0, 1].
//
// MONAI equivalent: ScaleIntensityRange(a_min, a_max, b_min, b_max, clip). nnU-Net's CT normalisation instead clips
// to the foreground's 0.5/99.5 percentiles and z-scores; use normalize_zscore for that.
#include "medssl/core/torch_pch.h"

namespace medssl {

/// y = (x - a_min) / (a_max - a_min) * (b_max - b_min) + b_min, then clamped to [min(b), max(b)] if `clip`.
/// Works on any tensor shape; returns float32. Throws medssl::Error if a_min == a_max or a bound is not finite
/// (MONAI only warns and shifts; an empty window is a configuration mistake).
torch::Tensor window_intensity(const torch::Tensor& data, double a_min, double a_max, double b_min = 0.0,
                               double b_max = 1.0, bool clip = true);

}  // namespace medssl
