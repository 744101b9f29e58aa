#pragma once
// Rotation pretext task (Gidaris et al.; Taleb et al. `rotation`): predict which rotation was applied to the image.
//
// 2D: 4 classes, class k = np.rot90(image, k): k * 90 degrees counter-clockwise in the plane of the spatial axes
//     (axis0, axis1), i.e. for k = 1 out[i, j] = in[j, N-1-i].
// 3D: 10 classes (the reference after its April 2021 fix, class 0 the identity), N = side:
//     1: out[i,j,k] = in[j, N-1-i, k]   2: flip axes 0,1   3: out[i,j,k] = in[N-1-j, i, k]   (plane of axes 0,1)
//     4: out[i,j,k] = in[i, N-1-k, j]   5: flip axes 1,2   6: out[i,j,k] = in[i, k, N-1-j]   (plane of axes 1,2)
//     7: out[i,j,k] = in[N-1-k, j, i]   8: flip axes 0,2   9: out[i,j,k] = in[k, j, N-1-i]   (plane of axes 0,2)
//     Classes 1, 2, 3 (4, 5, 6; 7, 8, 9) are the first, second and third power of one 90-degree rotation.
// Spatial axes are the tensor's (D, H, W) / (H, W) axes, channels first. Images must be square / cubic; a non-square
// image is centre-cropped to its smallest side first (as the reference does in 2D). Training and validation both draw
// random rotations (the reference uses one function for both).
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl::pretext {

/// 4 for 2D, 10 for 3D.
int64_t rotation_classes(int spatial_dims);

/// The image (C, *spatial), square / cubic, rotated as class `rotation` prescribes (a new contiguous tensor).
torch::Tensor rotate_image(const torch::Tensor& image, int64_t rotation, int spatial_dims);

}  // namespace medssl::pretext
