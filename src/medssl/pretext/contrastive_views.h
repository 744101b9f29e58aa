#pragma once
// The per-view augmentations of IoU-constrained contrastive pretraining (get_ssl_rand_transforms of
// dittohed/exploring-ssl-for-ct, MONAI 1.2 semantics; iou_and_monai_ssl.md A.3), applied to each crop of a pair
// independently, in this order:
//   1. zoom, p 0.75: one isotropic factor U(0.8, 1.2), bilinear, shape kept (zoom-out zero-pads, zoom-in centre-crops)
//   2. flip along every spatial axis, p 0.5 each
//   3. rot90 in the plane of the first two spatial axes, p 0.5, k ~ U{1, 2, 3} (only when those axes are equal)
//   4. intensity scale v *= 1 + f, f ~ U(-0.1, 0.1), p 0.75
//   5. intensity shift v += o, o ~ U(-0.1, 0.1), p 0.75
//   6. Gaussian smoothing, p 0.25, sigma per axis ~ U(0.25, 1.5) (sampled kernel, radius ceil(3 sigma), edges
//      replicated; MONAI's default "erf" kernel differs in the third decimal)
//   7. Gaussian noise, p 0.25: sigma ~ U(0, 0.01), N(0, sigma) per voxel
// Every random choice comes from the caller's Rng (the noise through a LibTorch generator seeded from it), so a view
// is a pure function of (crop, rng state).
#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl::pretext {

struct ViewAugmentOptions {
  double zoom_p = 0.75, min_zoom = 0.8, max_zoom = 1.2;
  double flip_p = 0.5;
  double rot90_p = 0.5;
  double scale_p = 0.75, scale = 0.1;
  double shift_p = 0.75, shift = 0.1;
  double smooth_p = 0.25, min_sigma = 0.25, max_sigma = 1.5;
  double noise_p = 0.25, noise_std = 0.01;
};

/// One augmented view of `crop` (C, *spatial) float, 2 or 3 spatial axes.
torch::Tensor augment_view(const torch::Tensor& crop, const ViewAugmentOptions& options, Rng& rng);

/// Separable Gaussian smoothing of (C, *spatial) with one sigma per spatial axis (in voxels; <= 0 skips the axis).
torch::Tensor gaussian_smooth(const torch::Tensor& image, const std::vector<double>& sigmas);

}  // namespace medssl::pretext
