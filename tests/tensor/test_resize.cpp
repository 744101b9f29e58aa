// resize_to / resize_label: known linear values, constants stay constant, labels keep their value set.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/data/transforms/resize.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

TEST(Resize, LinearKnownValuesOneAxis) {
  const torch::Tensor t = torch::tensor({0.0f, 10.0f}).view({1, 1, 1, 2});
  EXPECT_TRUE(test::tensors_close(resize_to(t, {1, 1, 4}), torch::tensor({0.0f, 2.5f, 7.5f, 10.0f}).view({1, 1, 1, 4})));
  // 3 -> 2: ratio 1.5, samples at 0.25 and 1.75.
  const torch::Tensor u = torch::tensor({0.0f, 4.0f, 8.0f}).view({1, 1, 3});
  EXPECT_TRUE(test::tensors_close(resize_to(u, {1, 2}), torch::tensor({1.0f, 7.0f}).view({1, 1, 2})));
}

TEST(Resize, LinearOfAConstantStaysConstant) {
  const torch::Tensor t = torch::full({2, 5, 7, 3}, 3.25f);
  const torch::Tensor out = resize_to(t, {9, 4, 11});
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({2, 9, 4, 11}));
  EXPECT_TRUE(test::tensors_close(out, torch::full({2, 9, 4, 11}, 3.25f)));
}

TEST(Resize, NearestKnownIndices) {
  const torch::Tensor t = torch::tensor({5.0f, 6.0f, 7.0f}).view({1, 1, 3});
  // 3 -> 5: ratio 0.6, source floor((x + 0.5) * 0.6) = 0, 0, 1, 2, 2.
  EXPECT_TRUE(torch::equal(resize_label(t, {1, 5}), torch::tensor({5.0f, 5.0f, 6.0f, 7.0f, 7.0f}).view({1, 1, 5})));
  const torch::Tensor four = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 4});
  EXPECT_TRUE(torch::equal(resize_label(four, {1, 2}), torch::tensor({2.0f, 4.0f}).view({1, 1, 2})));
}

TEST(Resize, LabelKeepsTheSetOfValuesAndStaysInteger) {
  const torch::Tensor label = torch::randint(0, 14, {1, 12, 10, 9}).to(torch::kFloat32);
  for (auto size : {std::vector<int64_t>{24, 20, 18}, std::vector<int64_t>{7, 13, 5}}) {
    const torch::Tensor out = resize_label(label, size);
    EXPECT_TRUE(torch::equal(out, out.round()));
    const auto in_values = std::get<0>(torch::_unique(label));
    const auto out_values = std::get<0>(torch::_unique(out));
    for (int64_t i = 0; i < out_values.numel(); ++i) EXPECT_TRUE((in_values == out_values[i]).any().item<bool>());
    if (size[0] >= 12) {
      EXPECT_TRUE(torch::equal(in_values, out_values));  // upsampling loses no label
    }
  }
  // Integer tensors keep their dtype.
  const torch::Tensor ints = torch::randint(0, 3, {1, 4, 4}, torch::kInt64);
  EXPECT_EQ(resize_label(ints, {7, 3}).scalar_type(), torch::kInt64);
}

TEST(Resize, VolumeSpacingAndAffineFollowTheSize) {
  Volume v;
  v.data = torch::rand({1, 4, 6, 8});
  v.spacing = {2.0, 1.0, 0.5};
  v.affine = test::oblique_affine();
  const Volume out = resize_to(v, {8, 3, 8});
  EXPECT_EQ(out.spacing, (std::array<double, 3>{1.0, 2.0, 0.5}));
  // New voxel x' shows old coordinate (x' + 0.5) * n / m - 0.5.
  const auto expected = test::world_of(v.affine, (1 + 0.5) * 0.5 - 0.5, (2 + 0.5) * 2.0 - 0.5, 5.0);
  const auto got = test::world_of(out.affine, 1, 2, 5);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(expected[r], got[r], 1e-9);
  const Volume label = resize_label(v, {8, 3, 8});
  EXPECT_TRUE(test::affines_close(label.affine, out.affine));
}

TEST(Resize, Image2DLinearAndLabel) {
  Image2D image;
  image.data = torch::arange(4, torch::kFloat32).view({1, 2, 2});
  image.spacing = {1.0, 1.0};
  const Image2D big = resize_to(image, {4, 4});
  EXPECT_EQ(big.spacing, (std::array<double, 2>{0.5, 0.5}));
  // Bilinear at (0.25, 0.75) of [[0, 1], [2, 3]] = 2 * 0.25 + 0.75 = 1.25.
  EXPECT_NEAR(big.data[0][1][2].item<float>(), 1.25, 1e-6);
  const Image2D nearest = resize_label(image, {4, 4});
  EXPECT_TRUE(torch::equal(nearest.data, image.data.repeat_interleave(2, 1).repeat_interleave(2, 2)));
}

TEST(Resize, BadSizesAreErrors) {
  const torch::Tensor t = torch::zeros({1, 3, 3, 3});
  EXPECT_THROW(resize_to(t, {3, 3}), Error);
  EXPECT_THROW(resize_to(t, {3, 0, 3}), Error);
  EXPECT_THROW(resize_to(torch::zeros({3, 3}), {3, 3}), Error);
}

}  // namespace
}  // namespace medssl
