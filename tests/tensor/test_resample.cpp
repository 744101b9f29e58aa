// resample_to_spacing: hand-computed trilinear values, the size rule, exact affine, nearest for labels.
#include <gtest/gtest.h>

#include <set>

#include "medssl/core/error.h"
#include "medssl/data/transforms/resample.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

// Separable product f(d, h, w) = (1 + d)(2 + h)(3 + w): trilinear interpolation reproduces it exactly at the
// (clamped) sample coordinates, so expected values are products of per-axis coordinates.
torch::Tensor product_grid(const std::vector<double>& cd, const std::vector<double>& ch, const std::vector<double>& cw) {
  auto d = torch::tensor(cd, torch::kFloat64) + 1, h = torch::tensor(ch, torch::kFloat64) + 2,
       w = torch::tensor(cw, torch::kFloat64) + 3;
  return (d.view({-1, 1, 1}) * h.view({1, -1, 1}) * w.view({1, 1, -1})).unsqueeze(0);
}

Volume tiny_volume() {
  Volume v;
  v.data = product_grid({0, 1}, {0, 1}, {0, 1}).to(torch::kFloat32);
  v.spacing = {2.0, 2.0, 2.0};
  v.affine = identity44();
  for (int a = 0; a < 3; ++a) v.affine[a][a] = 2.0;
  v.affine[0][3] = 10.0;
  v.affine[1][3] = 20.0;
  v.affine[2][3] = 30.0;
  return v;
}

TEST(Resample, HalfSpacingGivesKnownTrilinearValues) {
  const Volume out = resample_to_spacing(tiny_volume(), {1.0, 1.0, 1.0});
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({1, 4, 4, 4}));
  // Output voxel x samples input coordinate (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
  const std::vector<double> c{0.0, 0.25, 0.75, 1.0};
  EXPECT_TRUE(test::tensors_close(out.data, product_grid(c, c, c)));
  EXPECT_NEAR(out.data[0][0][0][0].item<float>(), 6.0, 1e-5);
  EXPECT_NEAR(out.data[0][1][2][3].item<float>(), 1.25 * 2.75 * 4.0, 1e-5);
  EXPECT_EQ(out.spacing, (std::array<double, 3>{1.0, 1.0, 1.0}));
}

TEST(Resample, HalfSpacingAffineKeepsTheOuterEdge) {
  const Volume out = resample_to_spacing(tiny_volume(), {1.0, 1.0, 1.0});
  // Columns halve; voxel 0's centre moves a quarter of an old voxel (0.5 mm) towards the outer edge.
  Mat44 expected = identity44();
  expected[0][3] = 9.5;
  expected[1][3] = 19.5;
  expected[2][3] = 29.5;
  EXPECT_TRUE(test::affines_close(out.affine, expected));
}

TEST(Resample, DownsamplingAveragesPairs) {
  Volume v;
  v.data = torch::arange(4, torch::kFloat32).reshape({1, 1, 1, 4});
  v.spacing = {1.0, 1.0, 1.0};
  const Volume out = resample_to_spacing(v, {1.0, 1.0, 2.0});
  // Samples at input x = 0.5 and 2.5.
  EXPECT_TRUE(test::tensors_close(out.data, torch::tensor({0.5f, 2.5f}).reshape({1, 1, 1, 2})));
}

TEST(Resample, SizeRuleRoundsNTimesOldOverNew) {
  EXPECT_EQ(resampled_size(5, 1.0, 2.0), 3);   // 2.5 rounds up
  EXPECT_EQ(resampled_size(3, 0.7, 1.0), 2);   // 2.1
  EXPECT_EQ(resampled_size(10, 2.5, 1.0), 25);
  EXPECT_EQ(resampled_size(1, 1.0, 5.0), 1);   // never empty
  Volume v;
  v.data = torch::zeros({2, 5, 3, 10});
  v.spacing = {1.0, 0.7, 2.5};
  const Volume out = resample_to_spacing(v, {2.0, 1.0, 1.0});
  EXPECT_EQ(out.data.sizes(), torch::IntArrayRef({2, 3, 2, 25}));
}

TEST(Resample, AffineIsExactForObliqueAnisotropicGeometry) {
  Volume v;
  v.data = torch::rand({1, 6, 5, 7});
  v.spacing = {2.5, 0.8, 1.2};
  v.affine = test::oblique_affine();
  const std::array<double, 3> target{1.0, 1.5, 0.7};
  const Volume out = resample_to_spacing(v, target);
  // New voxel x' shows old coordinate (x' + 0.5) * new / old - 0.5 on every axis.
  for (double x : {0.0, 1.0, 3.0, 8.0}) {
    std::array<double, 3> old{};
    for (int a = 0; a < 3; ++a) old[a] = (x + 0.5) * target[a] / v.spacing[a] - 0.5;
    const auto expected = test::world_of(v.affine, old[0], old[1], old[2]);
    const auto got = test::world_of(out.affine, x, x, x);
    for (int r = 0; r < 3; ++r) EXPECT_NEAR(expected[r], got[r], 1e-9) << "x = " << x;
  }
  // And the kernel samples there: a ramp along W gives ramp values at the expected coordinates.
  Volume ramp = v;
  ramp.data = torch::arange(7, torch::kFloat32).view({1, 1, 1, 7}).expand({1, 6, 5, 7}).contiguous();
  const Volume r = resample_to_spacing(ramp, target);
  const double x_old = (2 + 0.5) * 0.7 / 1.2 - 0.5;
  EXPECT_NEAR(r.data[0][3][2][2].item<float>(), x_old, 1e-5);
}

TEST(Resample, NearestKeepsLabelsExact) {
  Volume label;
  label.data = torch::randint(0, 4, {1, 5, 6, 7}).to(torch::kFloat32);
  label.spacing = {3.0, 1.0, 0.9};
  const Volume out = resample_label_to_spacing(label, {1.1, 0.6, 1.7});
  EXPECT_TRUE(torch::equal(out.data, out.data.round()));
  const auto values = std::get<0>(torch::_unique(out.data));
  const auto source = std::get<0>(torch::_unique(label.data));
  for (int64_t i = 0; i < values.numel(); ++i)
    EXPECT_TRUE((source == values[i]).any().item<bool>()) << "new label value " << values[i].item<float>();
  // Upsampling by an exact factor 2 on every axis copies each voxel to a 2x2x2 block.
  label.spacing = {2.0, 2.0, 2.0};
  const Volume up = resample_label_to_spacing(label, {1.0, 1.0, 1.0});
  const torch::Tensor expected =
      label.data.repeat_interleave(2, 1).repeat_interleave(2, 2).repeat_interleave(2, 3);
  EXPECT_TRUE(torch::equal(up.data, expected));
}

TEST(Resample, TwoDimensionalImage) {
  Image2D image;
  image.data = torch::tensor({0.0f, 10.0f}).view({1, 1, 2}).expand({1, 3, 2}).contiguous();
  image.spacing = {1.0, 2.0};
  const Image2D out = resample_to_spacing(image, {1.0, 1.0});
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({1, 3, 4}));
  EXPECT_TRUE(test::tensors_close(out.data[0][1], torch::tensor({0.0f, 2.5f, 7.5f, 10.0f})));
  EXPECT_EQ(out.spacing, (std::array<double, 2>{1.0, 1.0}));
}

TEST(Resample, InvalidTargetSpacingIsAnError) {
  EXPECT_THROW(resample_to_spacing(tiny_volume(), {1.0, 0.0, 1.0}), Error);
  EXPECT_THROW(resample_to_spacing(tiny_volume(), {1.0, -2.0, 1.0}), Error);
  EXPECT_THROW(resample_to_spacing(tiny_volume(), {1.0, std::nan(""), 1.0}), Error);
}

}  // namespace
}  // namespace medssl
