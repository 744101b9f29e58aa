#pragma once
// Rotation by multiples of 90 degrees in the plane of two spatial axes of a (C, *spatial) tensor.
//
// Semantics of `np.rot90(x, k, axes=(a, b))` (= torch.rot90): positive k turns axis a towards axis b, i.e. for k = 1
// out[..., i, ..., j, ...] = in[..., j, ..., n_a - 1 - i, ...] on a square plane. The reference uses it in the exemplar
// 3D augmentation (planes (0,1), (1,2), (0,2)) and albumentations RandomRotate90 (plane (0,1) of a 2D image).
// MONAI equivalent: Rotate90(k, spatial_axes=(a, b)). An exact permutation of the voxels; a non-square plane swaps its
// two sizes for odd k.
#include <array>
#include <cstdint>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl {

/// Rotates by k * 90 degrees (any integer k; taken modulo 4) from spatial axis plane[0] towards plane[1].
torch::Tensor rotate90(const torch::Tensor& data, int64_t k, const std::array<int64_t, 2>& plane);

/// k uniform in {0, 1, 2, 3} (one Rng draw), then rotate90.
torch::Tensor random_rotate90(const torch::Tensor& data, const std::array<int64_t, 2>& plane, Rng& rng);

}  // namespace medssl
