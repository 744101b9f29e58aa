#pragma once
// crop_or_pad_to: bring every spatial axis to an exact size, padding axes that are too small (symmetric, constant) and
// centre-cropping axes that are too large. crop_or_pad_to_cube: the same with one side for all axes (the reference's
// 128^3 volumes).
//
// MONAI equivalent: ResizeWithPadOrCrop(spatial_size, method="symmetric") (pad, then centre crop; medssl's centre
// start is floor((n - size) / 2), see crop.h). The affine follows both steps.
#include <array>
#include <vector>

#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor crop_or_pad_to(const torch::Tensor& data, const std::vector<int64_t>& size, double value = 0.0);
Volume crop_or_pad_to(const Volume& volume, const std::array<int64_t, 3>& size, double value = 0.0);
Image2D crop_or_pad_to(const Image2D& image, const std::array<int64_t, 2>& size, double value = 0.0);

Volume crop_or_pad_to_cube(const Volume& volume, int64_t side, double value = 0.0);
Image2D crop_or_pad_to_square(const Image2D& image, int64_t side, double value = 0.0);

}  // namespace medssl
