#pragma once
// resize_to: resample a volume / image / tensor to a fixed spatial size (e.g. 128^3 for the 3D pretext tasks).
//
// MONAI equivalent: Resize(spatial_size, mode="trilinear" | "nearest-exact", align_corners=False);
// reference pipelines: skimage.transform.resize (order 1 for images; the reference also used order 1 for labels,
// which blends label values - medssl never does: labels go through resize_label, nearest only).
//
// Grid: cell-centred (align_corners=False); output voxel x' samples input coordinate (x' + 0.5) * n / m - 0.5.
// The spacing becomes old * n / m and the affine is updated exactly (affine_rescale with ratio n / m).
#include <array>
#include <vector>

#include "medssl/data/transforms/interpolate.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

/// Resizes an image volume to (D, H, W) = size. `interp` linear (default) or nearest.
Volume resize_to(const Volume& volume, const std::array<int64_t, 3>& size, Interp interp = Interp::linear);
/// Resizes a label volume: nearest only, so the set of label values is kept exactly.
Volume resize_label(const Volume& label, const std::array<int64_t, 3>& size);

Image2D resize_to(const Image2D& image, const std::array<int64_t, 2>& size, Interp interp = Interp::linear);
Image2D resize_label(const Image2D& label, const std::array<int64_t, 2>& size);

/// Plain (C, *spatial) tensors with 2 or 3 spatial dims.
torch::Tensor resize_to(const torch::Tensor& data, const std::vector<int64_t>& size, Interp interp = Interp::linear);
torch::Tensor resize_label(const torch::Tensor& label, const std::vector<int64_t>& size);

}  // namespace medssl
