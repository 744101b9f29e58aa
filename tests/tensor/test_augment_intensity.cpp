// Brightness / contrast jitter of the exemplar augmentation (reference 3D colour distortion, albumentations 2D).
#include <gtest/gtest.h>

#include "medssl/data/transforms/intensity_jitter.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

TEST(AugmentIntensity, ContrastAboutTheMeanKeepsTheMeanWithoutBrightness) {
  const torch::Tensor x = torch::rand({2, 5, 6, 7}, torch::kFloat64);
  for (double c : {0.5, 1.0, 1.5}) {
    const torch::Tensor y = shift_brightness_scale_contrast(x, 0.0, c);
    EXPECT_NEAR(y.mean().item<double>(), x.mean().item<double>(), 1e-12) << c;
    EXPECT_NEAR(y.std().item<double>(), c * x.std().item<double>(), 1e-12) << c;
  }
}

TEST(AugmentIntensity, ShiftThenScaleByHand) {
  // x = [0, 1, 2, 5], delta 0.1 -> [0.1, 1.1, 2.1, 5.1], mean 2.1; c = 2 -> [-1.9, 0.1, 2.1, 8.1] (no clipping).
  const torch::Tensor x = torch::tensor({0.0, 1.0, 2.0, 5.0}, torch::kFloat64).reshape({1, 2, 2});
  const torch::Tensor y = shift_brightness_scale_contrast(x, 0.1, 2.0);
  EXPECT_TRUE(
      test::tensors_close(y, torch::tensor({-1.9, 0.1, 2.1, 8.1}, torch::kFloat64).reshape({1, 2, 2}), 0, 1e-12));
}

TEST(AugmentIntensity, AlbumentationsBrightnessContrastByMaxClips) {
  // alpha 1.2, beta -0.1: [0, 0.5, 1] -> [-0.1, 0.5, 1.1] -> clipped [0, 0.5, 1].
  const torch::Tensor x = torch::tensor({0.0f, 0.5f, 1.0f}).reshape({1, 1, 3});
  EXPECT_TRUE(test::tensors_close(brightness_contrast_by_max(x, 1.2, -0.1),
                                  torch::tensor({0.0f, 0.5f, 1.0f}).reshape({1, 1, 3})));
  EXPECT_TRUE(test::tensors_close(brightness_contrast_by_max(x, 1.2, -0.1, 1.0, /*clip=*/false),
                                  torch::tensor({-0.1f, 0.5f, 1.1f}).reshape({1, 1, 3})));
  // beta scales with max_value (brightness_by_max): 0.25 * 4 = 1.
  EXPECT_TRUE(test::tensors_close(brightness_contrast_by_max(x, 1.0, 0.25, 4.0),
                                  torch::tensor({1.0f, 1.5f, 2.0f}).reshape({1, 1, 3})));
}

}  // namespace
}  // namespace medssl
