#pragma once
// labels_on_grid: bring per-class scores computed on one voxel grid (e.g. a preprocessed volume: resampled, cropped,
// resized) back onto another grid (the input file's), as a label map.
//
// Both grids are described only by their voxel-to-world affines, so every step of the preprocessing (resampling,
// foreground crop, resize, crop/pad; all of which keep Volume::affine exact) is undone at once, without replaying it:
// target voxel v sits at source voxel inverse(source_affine) * target_affine * v. The scores are interpolated there
// (trilinear, cell-centred as every medssl resampler) and the arg-max class is taken: nnU-Net's order (resample the
// probabilities, then arg-max), which gives smoother borders than resampling a label map.
// Target voxels outside the source grid were cut away by the preprocessing and become class 0 (background): the
// fraction of a voxel's interpolation weight that falls outside is added to class 0.
// Work is done in slabs of target slices so memory stays bounded for large volumes.
#include <array>
#include <cstdint>

#include "medssl/core/geometry.h"
#include "medssl/core/torch_pch.h"

namespace medssl {

/// scores: (K, D', H', W') float, on the source grid (affine `source_affine`). Returns the class map (D, H, W) uint8
/// (K <= 256) on the target grid of `target_shape` (D, H, W) with affine `target_affine`. Affines map (i, j, k) =
/// (W, H, D) indices to world coordinates, as Volume::affine.
torch::Tensor labels_on_grid(const torch::Tensor& scores, const Mat44& source_affine,
                             const std::array<int64_t, 3>& target_shape, const Mat44& target_affine);

}  // namespace medssl
