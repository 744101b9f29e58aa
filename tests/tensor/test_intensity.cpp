// window_intensity, normalize_minmax, normalize_zscore on hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/transforms/intensity_window.h"
#include "medssl/data/transforms/normalize.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

TEST(WindowIntensity, CtHounsfieldWindowToUnitRange) {
  const torch::Tensor hu = torch::tensor({-2000.0f, -1000.0f, -300.0f, 0.0f, 400.0f, 1500.0f});
  const torch::Tensor expected = torch::tensor({0.0f, 0.0f, 0.5f, 1000.0f / 1400.0f, 1.0f, 1.0f});
  EXPECT_TRUE(test::tensors_close(window_intensity(hu, -1000, 400), expected));
}

TEST(WindowIntensity, NoClipAndReversedOutputRange) {
  const torch::Tensor x = torch::tensor({-600.0f, -500.0f, 0.0f, 500.0f, 600.0f});
  EXPECT_TRUE(test::tensors_close(window_intensity(x, -500, 500, 0, 1, false),
                                  torch::tensor({-0.1f, 0.0f, 0.5f, 1.0f, 1.1f})));
  EXPECT_TRUE(test::tensors_close(window_intensity(x, -500, 500, 1, -1, true),
                                  torch::tensor({1.0f, 1.0f, 0.0f, -1.0f, -1.0f})));
  // Integer input (int16 HU) gives float32 output.
  EXPECT_EQ(window_intensity(x.to(torch::kInt16), -500, 500).scalar_type(), torch::kFloat32);
}

TEST(WindowIntensity, EmptyOrNonFiniteWindowIsAnError) {
  const torch::Tensor x = torch::zeros({3});
  EXPECT_THROW(window_intensity(x, 100, 100), Error);
  EXPECT_THROW(window_intensity(x, -INFINITY, 100), Error);
}

TEST(NormalizeMinMax, WholeTensorAndPerChannel) {
  const torch::Tensor x = torch::tensor({2.0f, 4.0f, 6.0f, 10.0f, 20.0f, 30.0f}).view({2, 1, 3});
  EXPECT_TRUE(test::tensors_close(normalize_minmax(x),
                                  torch::tensor({0.0f, 0.25f, 0.5f, 1.0f, 2.25f, 3.5f}).view({2, 1, 3}) / 3.5f));
  EXPECT_TRUE(test::tensors_close(normalize_minmax(x, true),
                                  torch::tensor({0.0f, 0.5f, 1.0f, 0.0f, 0.5f, 1.0f}).view({2, 1, 3})));
}

TEST(NormalizeMinMax, ConstantImageBecomesZerosNotNaN) {
  EXPECT_TRUE(test::tensors_close(normalize_minmax(torch::full({1, 2, 2, 2}, 7.0f)), torch::zeros({1, 2, 2, 2}), 0, 0));
  const torch::Tensor mixed = torch::stack({torch::full({2, 2}, 3.0f), torch::tensor({{0.0f, 1.0f}, {2.0f, 4.0f}})});
  const torch::Tensor out = normalize_minmax(mixed, true);
  EXPECT_TRUE(test::tensors_close(out[0], torch::zeros({2, 2}), 0, 0));
  EXPECT_TRUE(test::tensors_close(out[1], torch::tensor({{0.0f, 0.25f}, {0.5f, 1.0f}})));
}

TEST(NormalizeMinMax, NonFiniteValuesAreAnError) {
  EXPECT_THROW(normalize_minmax(torch::tensor({1.0f, NAN, 2.0f}).view({1, 3})), Error);
  EXPECT_THROW(normalize_minmax(torch::tensor({1.0f, INFINITY}).view({1, 2})), Error);
}

TEST(NormalizeZScore, PopulationStd) {
  const torch::Tensor x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 2, 2});
  const double sd = std::sqrt(1.25);
  const torch::Tensor expected =
      torch::tensor({-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd}, torch::kFloat64).view({1, 2, 2});
  EXPECT_TRUE(test::tensors_close(normalize_zscore(x), expected));
}

TEST(NormalizeZScore, PerChannelVersusJoint) {
  const torch::Tensor x = torch::tensor({0.0f, 2.0f, 10.0f, 30.0f}).view({2, 1, 2});
  // Per channel: each channel becomes (-1, 1).
  EXPECT_TRUE(test::tensors_close(normalize_zscore(x), torch::tensor({-1.0f, 1.0f, -1.0f, 1.0f}).view({2, 1, 2})));
  // Jointly: mean 10.5, population std sqrt(((10.5^2 + 8.5^2 + 0.5^2 + 19.5^2) / 4)).
  const double sd = std::sqrt((10.5 * 10.5 + 8.5 * 8.5 + 0.5 * 0.5 + 19.5 * 19.5) / 4.0);
  const torch::Tensor joint = torch::tensor({-10.5 / sd, -8.5 / sd, -0.5 / sd, 19.5 / sd}, torch::kFloat64);
  EXPECT_TRUE(test::tensors_close(normalize_zscore(x, false, false), joint.view({2, 1, 2})));
}

TEST(NormalizeZScore, ZeroStdIsSafe) {
  const torch::Tensor out = normalize_zscore(torch::full({1, 3, 3}, 5.0f));
  EXPECT_FALSE(torch::isnan(out).any().item<bool>());
  EXPECT_TRUE(test::tensors_close(out, torch::zeros({1, 3, 3}), 0, 0));
}

TEST(NormalizeZScore, NonzeroOnlyLeavesBackgroundAtZero) {
  const torch::Tensor x = torch::tensor({0.0f, 2.0f, 4.0f, 0.0f}).view({1, 1, 4});
  EXPECT_TRUE(test::tensors_close(normalize_zscore(x, true), torch::tensor({0.0f, -1.0f, 1.0f, 0.0f}).view({1, 1, 4})));
  // All-zero channel: unchanged.
  EXPECT_TRUE(test::tensors_close(normalize_zscore(torch::zeros({1, 2, 2}), true), torch::zeros({1, 2, 2}), 0, 0));
  EXPECT_THROW(normalize_zscore(torch::tensor({1.0f, NAN}).view({1, 2})), Error);
}

}  // namespace
}  // namespace medssl
