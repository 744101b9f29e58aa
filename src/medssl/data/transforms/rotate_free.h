#pragma once
// Rotation by an arbitrary angle in the plane of two spatial axes, about the centre of the plane, keeping the shape.
//
// Reference: `scipy.ndimage.rotate(x, angle, axes=(a, b), reshape=False)` (constant fill 0) in the exemplar 3D
// augmentation. Differences, on purpose: bilinear interpolation in the plane (scipy's default is a cubic spline,
// order 3, which overshoots at edges); outside the image the samples blend towards `fill` within one voxel (scipy
// mode "grid-constant"; scipy's default "constant" jumps to the fill value there). scipy with order=1,
// mode="grid-constant" gives exactly this function (peer test). The direction is defined by the ordered pair (a, b)
// as for rotate90 - scipy sorts `axes`, so for a < b the two agree and rotate_in_plane(x, 90, {a, b}) equals
// rotate90(x, 1, {a, b}) (up to float rounding of the sampling grid).
// MONAI equivalent: Rotate(angle, keep_size=True, mode="bilinear", padding_mode="zeros", align_corners=True).
//
// Output voxel (i, j) of the plane samples input point c + R(-angle) ((i, j) - c) with c = ((n_a - 1) / 2,
// (n_b - 1) / 2); points outside the input blend with `fill` (see above). Other axes and channels
// are rotated identically. Returns a floating tensor (integer inputs become float32).
#include <array>
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl {

/// Rotates `degrees` (counter-clockwise from spatial axis plane[0] towards plane[1]); both plane sizes must be >= 2.
torch::Tensor rotate_in_plane(const torch::Tensor& data, double degrees, const std::array<int64_t, 2>& plane,
                              double fill = 0.0);

}  // namespace medssl
