#pragma once
// Spatial crops: explicit box, centre crop and random crop, for volumes, 2D images and (C, *spatial) tensors.
//
// MONAI equivalents: SpatialCrop(roi_start, roi_end), CenterSpatialCrop(roi_size), RandSpatialCrop(roi_size,
// random_size=False). Offsets follow the reference implementation (healthml `crop`): random start uniform in
// [0, n - size] inclusive on each axis; centre start floor((n - size) / 2). (MONAI's centre crop starts at
// n/2 - size/2, which differs by one voxel when n is even and size odd.)
//
// A crop shifts the affine's origin to the box start (affine_shift_origin); spacing is unchanged. Results are fresh
// contiguous tensors (never views of the input), so transforms stay pure.
#include <array>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

/// A box in tensor order ((D,) H, W): voxels [start, start + size) on each axis.
struct SpatialBox {
  std::vector<int64_t> start;
  std::vector<int64_t> size;
};

/// Crops a (C, *spatial) tensor; throws medssl::Error naming the axis if the box does not fit.
torch::Tensor crop(const torch::Tensor& data, const SpatialBox& box);
Volume crop_with_box(const Volume& volume, const SpatialBox& box);
Image2D crop_with_box(const Image2D& image, const SpatialBox& box);

Volume crop(const Volume& volume, const std::array<int64_t, 3>& start, const std::array<int64_t, 3>& size);
Image2D crop(const Image2D& image, const std::array<int64_t, 2>& start, const std::array<int64_t, 2>& size);

/// The centred box of `size` inside `shape`: start = floor((n - size) / 2). Throws if size > n on an axis.
SpatialBox center_crop_box(const std::vector<int64_t>& shape, const std::vector<int64_t>& size);
/// A random box of `size` inside `shape`: start uniform in [0, n - size] inclusive, drawn for axes in order.
SpatialBox random_crop_box(const std::vector<int64_t>& shape, const std::vector<int64_t>& size, Rng& rng);

torch::Tensor center_crop(const torch::Tensor& data, const std::vector<int64_t>& size);
Volume center_crop(const Volume& volume, const std::array<int64_t, 3>& size);
Image2D center_crop(const Image2D& image, const std::array<int64_t, 2>& size);

/// Random crops. To crop an image and its label identically, draw one random_crop_box and apply crop_with_box to both.
torch::Tensor random_crop(const torch::Tensor& data, const std::vector<int64_t>& size, Rng& rng);
Volume random_crop(const Volume& volume, const std::array<int64_t, 3>& size, Rng& rng);
Image2D random_crop(const Image2D& image, const std::array<int64_t, 2>& size, Rng& rng);

}  // namespace medssl
