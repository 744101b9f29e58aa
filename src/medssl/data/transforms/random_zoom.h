#pragma once
// Zoom in or out per spatial axis while keeping the tensor's shape: resample each axis to round(n * factor) voxels,
// zero-pad (centred: floor before, rest after) every axis that became smaller, then crop every axis back to n at a
// random offset. This is the reference's exemplar `_distort_zoom` (ndimage.zoom -> pad_to_final_size_3d -> crop_3d).
//
// Interpolation: linear on the cell-centred grid of resize_to (the reference uses scipy's cubic spline on a
// corner-aligned grid, ndimage.zoom order 3); sizes round half to even like Python's round.
// MONAI equivalent: RandZoom(min_zoom, max_zoom, keep_size=True, padding_mode="constant"), except that MONAI crops
// centrally while this crops at a random offset, as the reference.
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl {

/// Zooms spatial axis a by factors[a] (> 0), pads/crops back to the input shape (crop offsets drawn from `rng`).
torch::Tensor zoom_keep_shape(const torch::Tensor& data, const std::vector<double>& factors, Rng& rng);

/// Draws one factor U(1 - max_change, 1 + max_change) per spatial axis (axis order), then zoom_keep_shape.
torch::Tensor random_zoom(const torch::Tensor& data, double max_change, Rng& rng);

}  // namespace medssl
