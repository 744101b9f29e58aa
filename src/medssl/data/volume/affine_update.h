#pragma once
// How the voxel-to-world affine changes under the geometric transforms, written once so that crop, pad, resample and
// resize agree. Arguments are in tensor order (D, H, W) = (k, j, i); the affine's columns are in (i, j, k) order, so
// tensor axis a (0 = D) corresponds to affine column 2 - a.
#include <array>

#include "medssl/core/geometry.h"

namespace medssl {

/// New voxel 0 sits at old voxel `offset_dhw` (crop: offset = start; pad: offset = -before).
/// translation' = translation + A[:, i] * offset_w + A[:, j] * offset_h + A[:, k] * offset_d.
Mat44 affine_shift_origin(const Mat44& affine, const std::array<double, 3>& offset_dhw);

/// Half-pixel (cell-centred) rescaling: new voxel x' covers old coordinate x = (x' + 0.5) * ratio - 0.5 on each axis,
/// where ratio = new spacing / old spacing (= old size / new size for a resize). So the columns are scaled by the ratio
/// and the origin moves by (ratio - 1) / 2 old voxels; the first voxel's outer edge stays where it was.
Mat44 affine_rescale(const Mat44& affine, const std::array<double, 3>& ratio_dhw);

}  // namespace medssl
