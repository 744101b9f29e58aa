#pragma once
// Mirror flips of the spatial axes of a (C, *spatial) tensor, fixed or with a probability.
//
// MONAI equivalents: Flip(spatial_axis), RandFlip(prob, spatial_axis). Reference (healthml exemplar 3D):
// `np.flip(x, i)` with p 0.5 for each axis i in turn; albumentations VerticalFlip / HorizontalFlip flip spatial axis
// 0 / 1.
// A flip is an exact permutation of the voxels; results are fresh contiguous tensors.
#include <cstdint>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl {

/// Reverses the given spatial axes (0-based, not counting the channel axis). Throws medssl::Error for an axis out of
/// range.
torch::Tensor flip_spatial(const torch::Tensor& data, const std::vector<int64_t>& spatial_axes);

/// Flips spatial axis `spatial_axis` with probability `p` (exactly one Rng draw); otherwise returns a copy.
torch::Tensor random_flip(const torch::Tensor& data, int64_t spatial_axis, double p, Rng& rng);

}  // namespace medssl
