#pragma once
// resample_to_spacing: change the voxel size of a volume (or 2D image) to a target spacing in mm.
//
// MONAI equivalent: Spacing(pixdim, mode="bilinear" | "nearest"); nnU-Net: the resampling step of preprocessing
// (resample_data_or_seg_to_spacing, order 3 for images / 0 for segmentations; medssl uses linear / nearest).
//
// Size rule (the same as nnU-Net's): output size per axis = max(1, round(n * old / new)), and the grid is
// cell-centred: output voxel x' samples input coordinate (x' + 0.5) * new/old - 0.5 (edges clamped). The output
// spacing is exactly the target and the affine is updated to match exactly (columns scaled by new/old, origin moved
// by (new/old - 1)/2 old voxels), so the first voxel's outer edge stays at the same world position. MONAI's Spacing
// instead keeps voxel 0's centre fixed and uses round((n - 1) * old/new + 1) voxels (corner-aligned); the two agree
// on the world position of every voxel only to within half an input voxel at the image border.
#include <array>

#include "medssl/data/transforms/interpolate.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

/// Output size on one axis under the rule above.
int64_t resampled_size(int64_t n, double old_spacing, double new_spacing);

/// Resamples an image volume; `interp` linear for intensities, nearest for anything categorical.
/// Throws medssl::Error if a target spacing is not finite and positive.
Volume resample_to_spacing(const Volume& volume, const std::array<double, 3>& target_spacing_dhw,
                           Interp interp = Interp::linear);
/// Resamples a label volume: always nearest, so label values are kept exactly (never blended).
Volume resample_label_to_spacing(const Volume& label, const std::array<double, 3>& target_spacing_dhw);

/// 2D: target spacing in (H, W) order.
Image2D resample_to_spacing(const Image2D& image, const std::array<double, 2>& target_spacing_hw,
                            Interp interp = Interp::linear);
Image2D resample_label_to_spacing(const Image2D& label, const std::array<double, 2>& target_spacing_hw);

}  // namespace medssl
