#pragma once
// Intensity normalisation of a (C, *spatial) tensor: min-max to [0, 1] and z-score.
//
// normalize_minmax - MONAI ScaleIntensity(minv=0, maxv=1, channel_wise); the reference 3D pipelines min-max the whole
//   volume (all channels jointly, per_channel = false, the default here).
// normalize_zscore - MONAI NormalizeIntensity(nonzero, channel_wise=True) (population std, unbiased = false);
//   nnU-Net ZScoreNormalization (per channel; use_mask_for_norm ~ nonzero_only).
#include "medssl/core/torch_pch.h"

namespace medssl {

/// (x - min) / (max - min) over the whole tensor, or per channel (dim 0) if `per_channel`. A constant image (or
/// channel) becomes all zeros instead of dividing by zero. Returns float32. Throws medssl::Error on NaN or inf values.
torch::Tensor normalize_minmax(const torch::Tensor& data, bool per_channel = false);

/// (x - mean) / std per channel (dim 0; the whole tensor if `per_channel` is false), population std.
/// std = 0 -> divides by 1 (the result is x - mean = 0). `nonzero_only`: mean and std are computed over the nonzero
/// voxels only and only those voxels change (zeros stay 0, as for skull-stripped MRI); a channel with no nonzero voxel
/// is left as is. Returns float32. Throws medssl::Error on NaN or inf values.
torch::Tensor normalize_zscore(const torch::Tensor& data, bool nonzero_only = false, bool per_channel = true);

}  // namespace medssl
