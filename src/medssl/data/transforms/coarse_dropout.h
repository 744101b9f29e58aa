#pragma once
// Coarse dropout of a (C, H, W) or (C, D, H, W) tensor: MONAI's RandCoarseDropout (monai/transforms/intensity/
// array.py; spec: design/reference/iou_and_monai_ssl.md B.2), the corruption of the MONAI self-supervised tutorial.
//
// Holes (MONAI's RandCoarseTransform.randomize, draw for draw in the same order):
//   count   = holes, or UniformInt[holes, max_holes] when max_holes is set;
//   size_d  = spatial_size_d, or UniformInt[spatial_size_d, max_spatial_size_d] (independently per axis and hole)
//             when max_spatial_size is set; clipped to the image (get_valid_patch_size);
//   start_d = UniformInt[0, n_d - size_d] (get_random_patch). Holes may overlap.
//   Sizes <= 0 mean "the whole axis" (MONAI's fall_back_tuple).
//   MONAI quirk (`monai_growing_sizes`): MONAI overwrites its lower bound with each drawn size, so the k-th hole's
//   size is drawn from [size of hole k-1, max] and sizes never shrink within one call. Off by default (the spec's
//   independent draws); the vit_masked task turns it on with `faithful`.
// Fill (MONAI's fill_value None -> (min, max) of the image, computed once before any hole is filled):
//   dropout_holes = true  (inpainting):  every hole's voxels (all channels) become i.i.d. U[min, max) noise;
//   dropout_holes = false (outpainting): the whole tensor becomes U[min, max) noise and only the holes keep the
//                                        original voxels.
//   A fixed fill_value replaces the noise by that constant.
// All randomness comes from the medssl::Rng passed in; results are fresh tensors (the input is never changed).
#include <cstdint>
#include <optional>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"
#include "medssl/data/transforms/crop.h"

namespace medssl {

/// Where coarse holes go (shared by coarse dropout and coarse shuffle).
struct CoarseHoleOptions {
  int64_t holes = 1;                                      ///< number of holes (>= 1)
  std::vector<int64_t> spatial_size = {1};                ///< one value or one per spatial axis; <= 0: whole axis
  std::optional<std::vector<int64_t>> max_spatial_size;   ///< sizes drawn in [spatial_size, max] when set
  std::optional<int64_t> max_holes;                       ///< count drawn in [holes, max_holes] when set
  bool monai_growing_sizes = false;                       ///< MONAI's lower bound = the previous hole's size
};

/// The holes for an image of spatial shape `shape` (2 or 3 axes). Throws medssl::Error for bad options (naming them).
std::vector<SpatialBox> sample_coarse_holes(const std::vector<int64_t>& shape, const CoarseHoleOptions& options,
                                            Rng& rng);

struct CoarseDropoutOptions {
  /// Default: the tutorial's inpainting (6 holes of 5..32 voxels per axis).
  CoarseHoleOptions holes{6, {5}, std::vector<int64_t>{32}, std::nullopt, false};
  bool dropout_holes = true;          ///< true: fill the holes (inpainting); false: keep only the holes (outpainting)
  std::optional<double> fill_value;   ///< unset: U[min, max) noise of the image's range (MONAI fill_value None)
  double prob = 1.0;                  ///< probability of applying the transform at all

  /// The tutorial's inpainting: holes 6, spatial_size 5, max_spatial_size 32, dropout_holes true, prob 1.
  static CoarseDropoutOptions inpainting();
  /// The tutorial's outpainting: holes 6, spatial_size 20, max_spatial_size 64, dropout_holes false, prob 1.
  static CoarseDropoutOptions outpainting();
};

/// A view (no copy) of `data`'s voxels inside `box`, all channels; throws medssl::Error unless the box fits.
torch::Tensor box_view(const torch::Tensor& data, const SpatialBox& box);

/// Applies the given holes (boxes in spatial coordinates, each inside the image); `rng` draws the noise.
torch::Tensor coarse_dropout(const torch::Tensor& data, const std::vector<SpatialBox>& holes, bool dropout_holes,
                             std::optional<double> fill_value, Rng& rng);

/// RandCoarseDropout: one draw decides (prob), then the holes, then the noise. Returns a copy when not applied.
/// `holes_out` (optional) receives the holes used (empty when not applied).
torch::Tensor random_coarse_dropout(const torch::Tensor& data, const CoarseDropoutOptions& options, Rng& rng,
                                    std::vector<SpatialBox>* holes_out = nullptr);

}  // namespace medssl
