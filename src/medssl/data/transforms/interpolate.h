#pragma once
// The one interpolation kernel behind resample_to_spacing and resize_to, for (C, *spatial) tensors with 2 or 3
// spatial dims. Both modes use the half-pixel (cell-centred) model: output voxel x' samples input coordinate
//   x = (x' + 0.5) * ratio - 0.5,      ratio = input step per output voxel (new spacing / old spacing)
// which is what affine_rescale (data/volume/affine_update.h) records in the affine.
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl {

enum class Interp {
  linear,   ///< bi/trilinear (images); PyTorch interpolate(mode="trilinear", align_corners=False), edges clamped
  nearest,  ///< nearest voxel (labels); PyTorch mode="nearest-exact": source index floor((x' + 0.5) * ratio)
};

const char* interp_name(Interp interp);

/// Resamples the spatial axes of a (C, *spatial) tensor to `out_size` with the given per-axis ratio.
/// linear: computed in float32 (integer inputs are converted), returns float32.
/// nearest: pure index selection, so the dtype and the exact set of values are kept (labels stay integers).
torch::Tensor interpolate_spatial(const torch::Tensor& input, const std::vector<int64_t>& out_size,
                                  const std::vector<double>& ratio, Interp interp);

}  // namespace medssl
