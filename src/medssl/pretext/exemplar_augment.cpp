#include "medssl/pretext/exemplar_augment.h"

#include <array>

#include "medssl/core/error.h"
#include "medssl/data/transforms/intensity_jitter.h"
#include "medssl/data/transforms/random_flip.h"
#include "medssl/data/transforms/random_zoom.h"
#include "medssl/data/transforms/rotate90.h"
#include "medssl/data/transforms/rotate_free.h"

namespace medssl::pretext {

namespace {
// Probabilities and ranges of healthml `augment_exemplar_3d` (alpha, rotate_only_90, beta, gamma, max_delta, ...).
constexpr double kFlipProbability = 0.5;
constexpr double kRotateProbability = 0.5;
constexpr double kRotate90Probability = 0.5;
constexpr double kColourProbability = 0.5;
constexpr double kMaxBrightnessDelta = 0.125;
constexpr double kMinContrast = 0.5, kMaxContrast = 1.5;
constexpr double kZoomProbability = 0.15;
constexpr double kMaxZoomChange = 0.2;
// albumentations RandomBrightnessContrast defaults.
constexpr double kBrightnessLimit = 0.2, kContrastLimit = 0.2;
}  // namespace

torch::Tensor augment_exemplar_3d(const torch::Tensor& image, Rng& rng) {
  check(image.defined() && image.dim() == 4, "exemplar 3D augmentation: expected a (C, D, H, W) image");
  torch::Tensor x = image.to(torch::kFloat32);
  for (int64_t axis = 0; axis < 3; ++axis) x = random_flip(x, axis, kFlipProbability, rng);
  for (const std::array<int64_t, 2> plane : {std::array<int64_t, 2>{0, 1}, {1, 2}, {0, 2}}) {
    if (!rng.bernoulli(kRotateProbability)) continue;
    if (rng.bernoulli(kRotate90Probability)) {
      x = random_rotate90(x, plane, rng);
    } else {
      x = rotate_in_plane(x, rng.uniform(0.0, 360.0), plane);
    }
  }
  if (rng.bernoulli(kColourProbability)) {
    const double delta = rng.uniform(-kMaxBrightnessDelta, kMaxBrightnessDelta);
    const double contrast = rng.uniform(kMinContrast, kMaxContrast);
    x = shift_brightness_scale_contrast(x, delta, contrast);
  }
  if (rng.bernoulli(kZoomProbability)) x = random_zoom(x, kMaxZoomChange, rng);
  return x.contiguous();
}

torch::Tensor augment_exemplar_2d(const torch::Tensor& image, Rng& rng) {
  check(image.defined() && image.dim() == 3, "exemplar 2D augmentation: expected a (C, H, W) image");
  torch::Tensor x = random_rotate90(image.to(torch::kFloat32), {0, 1}, rng);
  x = random_flip(x, 0, kFlipProbability, rng);  // VerticalFlip: rows
  x = random_flip(x, 1, kFlipProbability, rng);  // HorizontalFlip: columns
  const double alpha = 1.0 + rng.uniform(-kContrastLimit, kContrastLimit);
  const double beta = rng.uniform(-kBrightnessLimit, kBrightnessLimit);
  return brightness_contrast_by_max(x, alpha, beta).contiguous();
}

torch::Tensor augment_exemplar(const torch::Tensor& image, Rng& rng) {
  check(image.defined() && (image.dim() == 3 || image.dim() == 4),
        "exemplar augmentation: expected a (C, H, W) or (C, D, H, W) image");
  return image.dim() == 4 ? augment_exemplar_3d(image, rng) : augment_exemplar_2d(image, rng);
}

}  // namespace medssl::pretext
