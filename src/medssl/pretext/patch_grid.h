#pragma once
// The reference's patch grid (healthml `crop_patches` / `crop_patches_3d`), shared by rpl, jigsaw and cpc.
//
// For an image of side n, `patches_per_side` p and `jitter` j:
//   overlap = -j if j < 0 else 0;  cell = (n - overlap) / p;  patch = cell - j
//   cell (i[, j], k) covers [i * cell, i * cell + cell + overlap) on each axis (raster order, first axis slowest);
//   with positive jitter each cell is cut down to `patch` voxels by a random crop (training) or a centre crop.
// Negative jitter gives overlapping cells of size cell + overlap (CPC 2D: 50 % overlap). Voxels beyond p * cell are
// never used, as in the reference.
#include <cstdint>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl::pretext {

struct PatchGrid {
  int64_t patches_per_side = 3;
  int64_t jitter = 0;

  /// Cell stride and patch side for images of side `side`; throws medssl::Error if the patch would be empty.
  int64_t cell(int64_t side) const;
  int64_t patch(int64_t side) const;
  /// Number of patches: p^2 (2D) or p^3 (3D).
  int64_t count(int spatial_dims) const;

  /// Cuts a (C, *spatial) square/cubic image into its patches, raster order, each (C, patch, ...) and contiguous.
  std::vector<torch::Tensor> cut(const torch::Tensor& image, bool training, Rng& rng) const;
};

}  // namespace medssl::pretext
