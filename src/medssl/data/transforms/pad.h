#pragma once
// Constant padding of the spatial axes, explicit or up to a target size.
//
// MONAI equivalent of pad_to: SpatialPad(spatial_size, method="symmetric", mode="constant", value): on each axis
// smaller than the target, before = floor((target - n) / 2) and after = the rest; axes already at least as large are
// left unchanged (combine with center_crop or use crop_or_pad_to for an exact size). The reference pads 121 -> 128 as
// 3 before, 4 after, the same rule.
//
// Padding moves the affine's origin back by `before` voxels (affine_shift_origin with -before); spacing is unchanged.
#include <array>
#include <vector>

#include "medssl/data/volume/volume.h"

namespace medssl {

/// Pads a (C, *spatial) tensor with `value`: before[a] voxels in front of spatial axis a and after[a] behind it.
torch::Tensor pad(const torch::Tensor& data, const std::vector<int64_t>& before, const std::vector<int64_t>& after,
                  double value = 0.0);
Volume pad(const Volume& volume, const std::array<int64_t, 3>& before, const std::array<int64_t, 3>& after,
           double value = 0.0);

/// Padding that pad_to applies: before = floor((target - n) / 2) (0 if n >= target); after = the rest.
void pad_to_amounts(const std::vector<int64_t>& shape, const std::vector<int64_t>& target, std::vector<int64_t>& before,
                    std::vector<int64_t>& after);

torch::Tensor pad_to(const torch::Tensor& data, const std::vector<int64_t>& size, double value = 0.0);
Volume pad_to(const Volume& volume, const std::array<int64_t, 3>& size, double value = 0.0);
Image2D pad_to(const Image2D& image, const std::array<int64_t, 2>& size, double value = 0.0);

}  // namespace medssl
