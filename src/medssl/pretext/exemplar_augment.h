#pragma once
// The exemplar task's augmentation of the anchor (healthml `augment_exemplar_2d` / `augment_exemplar_3d`), for
// (C, H, W) and (C, D, H, W) float tensors with any number of channels. Every random choice comes from `rng`, drawn in
// the reference's order, so a batch is reproducible from its Rng stream.
//
// 3D, in order:
//   1. for spatial axes 0, 1, 2: flip with p 0.5;
//   2. for planes (0,1), (1,2), (0,2): with p 0.5 rotate - with p 0.5 by k * 90 degrees, k uniform in {0..3},
//      otherwise by an angle U(0, 360) (rotate_in_plane: bilinear, zero fill; the reference's scipy default is cubic);
//   3. with p 0.5 colour: x += U(-0.125, 0.125); x = c (x - mean) + mean, c ~ U(0.5, 1.5) (no clipping);
//   4. with p 0.15 zoom: factor U(0.8, 1.2) per axis, zero-pad / random-crop back to the shape.
// 2D (albumentations Compose): RandomRotate90 (p 1, k uniform in {0..3}), VerticalFlip (axis 0, p 0.5),
//   HorizontalFlip (axis 1, p 0.5), RandomBrightnessContrast (p 1): clip(x * (1 + U(-0.2, 0.2)) + U(-0.2, 0.2), 0, 1).
// Rotations by 90 degrees need square planes (the tasks get square / cubic images).
#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl::pretext {

torch::Tensor augment_exemplar_3d(const torch::Tensor& image, Rng& rng);
torch::Tensor augment_exemplar_2d(const torch::Tensor& image, Rng& rng);
/// Dispatches on the number of spatial dims of `image`.
torch::Tensor augment_exemplar(const torch::Tensor& image, Rng& rng);

}  // namespace medssl::pretext
