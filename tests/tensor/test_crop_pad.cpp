// Crops, pads and their effect on the affine (tensor order (D, H, W) = NIfTI (k, j, i)).
#include <gtest/gtest.h>

#include <set>

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/data/transforms/crop_or_pad.h"
#include "medssl/data/transforms/pad.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

Volume ramp_volume(int64_t c, int64_t d, int64_t h, int64_t w) {
  Volume v;
  v.data = torch::arange(c * d * h * w, torch::kFloat32).reshape({c, d, h, w});
  v.spacing = {2.5, 0.8, 1.2};
  v.affine = test::oblique_affine();
  v.path = "ramp.nii.gz";
  return v;
}

TEST(Crop, ValuesAndAffineOriginShiftInIjkOrder) {
  const Volume v = ramp_volume(2, 5, 6, 7);
  const Volume out = crop(v, {1, 2, 3}, {2, 3, 4});
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({2, 2, 3, 4}));
  EXPECT_TRUE(test::tensors_close(out.data, v.data.slice(1, 1, 3).slice(2, 2, 5).slice(3, 3, 7)));
  // Start (d, h, w) = (1, 2, 3) is voxel (i, j, k) = (3, 2, 1): translation += A[:, :3] . (3, 2, 1).
  Mat44 expected = v.affine;
  for (int r = 0; r < 3; ++r) expected[r][3] += v.affine[r][0] * 3 + v.affine[r][1] * 2 + v.affine[r][2] * 1;
  EXPECT_TRUE(test::affines_close(out.affine, expected));
  // Every voxel of the crop shows the same world point as before.
  const auto before = test::world_of(v.affine, 1 + 1, 2 + 2, 3 + 3);
  const auto after = test::world_of(out.affine, 1, 2, 3);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(before[r], after[r], 1e-9);
  EXPECT_EQ(out.spacing, v.spacing);
}

TEST(Crop, ResultIsIndependentOfInput) {
  const Volume v = ramp_volume(1, 3, 3, 3);
  Volume out = crop(v, {0, 0, 0}, {2, 2, 2});
  out.data.fill_(-1.0f);
  EXPECT_EQ(v.data[0][0][0][0].item<float>(), 0.0f);
}

TEST(Crop, OutOfBoundsBoxIsAnErrorNamingTheAxis) {
  const Volume v = ramp_volume(1, 4, 4, 4);
  try {
    crop(v, {0, 3, 0}, {2, 2, 2});
    FAIL() << "expected medssl::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("axis 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(crop(v, {-1, 0, 0}, {2, 2, 2}), Error);
  EXPECT_THROW(center_crop(v, {5, 2, 2}), Error);
}

TEST(CenterCrop, StartIsFloorOfHalfTheDifference) {
  const SpatialBox box = center_crop_box({7, 8, 5}, {4, 3, 5});
  EXPECT_EQ(box.start, (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(box.size, (std::vector<int64_t>{4, 3, 5}));
  const Volume v = ramp_volume(1, 7, 8, 5);
  const Volume out = center_crop(v, {4, 3, 5});
  EXPECT_TRUE(test::tensors_close(out.data, v.data.slice(1, 1, 5).slice(2, 2, 5)));
}

TEST(CenterCrop, TwoDimensionalTensorsAndImages) {
  const torch::Tensor t = torch::arange(36, torch::kFloat32).reshape({1, 6, 6});
  EXPECT_TRUE(test::tensors_close(center_crop(t, {2, 2}), t.slice(1, 2, 4).slice(2, 2, 4)));
  Image2D image;
  image.data = t;
  EXPECT_EQ(center_crop(image, {3, 4}).data.sizes(), torch::IntArrayRef({1, 3, 4}));
}

TEST(RandomCrop, OffsetsCoverTheInclusiveRangeAndStayInside) {
  Rng rng(42);
  std::set<int64_t> seen_d, seen_w;
  for (int trial = 0; trial < 400; ++trial) {
    const SpatialBox box = random_crop_box({7, 4, 10}, {3, 4, 1}, rng);
    ASSERT_GE(box.start[0], 0);
    ASSERT_LE(box.start[0], 4);
    ASSERT_EQ(box.start[1], 0);  // size == n: only offset 0
    ASSERT_LE(box.start[2], 9);
    seen_d.insert(box.start[0]);
    seen_w.insert(box.start[2]);
  }
  EXPECT_EQ(seen_d, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(seen_w.size(), 10u);
}

TEST(RandomCrop, SameSeedSameCropAndAffineFollows) {
  const Volume v = ramp_volume(1, 6, 6, 6);
  Rng a(7), b(7);
  const Volume x = random_crop(v, {3, 2, 4}, a);
  const Volume y = random_crop(v, {3, 2, 4}, b);
  EXPECT_TRUE(test::tensors_close(x.data, y.data, 0, 0));
  EXPECT_TRUE(test::affines_close(x.affine, y.affine));
  // The crop's first voxel value tells where it came from: value = (d * 6 + h) * 6 + w.
  const auto first = static_cast<int64_t>(x.data[0][0][0][0].item<float>());
  const int64_t d = first / 36, h = (first / 6) % 6, w = first % 6;
  const auto expected = test::world_of(v.affine, d, h, w);
  const auto got = test::world_of(x.affine, 0, 0, 0);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(expected[r], got[r], 1e-9);
}

TEST(Pad, SymmetricAmountsPutTheExtraVoxelAfter) {
  std::vector<int64_t> before, after;
  pad_to_amounts({121, 128, 130}, {128, 128, 128}, before, after);
  EXPECT_EQ(before, (std::vector<int64_t>{3, 0, 0}));
  EXPECT_EQ(after, (std::vector<int64_t>{4, 0, 0}));
}

TEST(Pad, ValuesPositionsAndAffine) {
  const Volume v = ramp_volume(1, 2, 3, 1);
  const Volume out = pad_to(v, {2, 6, 4}, -5.0);
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({1, 2, 6, 4}));
  // H: 3 -> 6 pads 1 before, 2 after; W: 1 -> 4 pads 1 before, 2 after.
  EXPECT_TRUE(test::tensors_close(out.data.slice(2, 1, 4).slice(3, 1, 2), v.data, 0, 0));
  EXPECT_EQ(out.data[0][0][0][0].item<float>(), -5.0f);
  EXPECT_EQ(out.data[0][1][5][3].item<float>(), -5.0f);
  EXPECT_EQ((out.data == -5.0f).sum().item<int64_t>(), 2 * 6 * 4 - 2 * 3);
  // Original voxel (d, h, w) is now at (d, h + 1, w + 1) and shows the same world point.
  const auto before = test::world_of(v.affine, 1, 2, 0);
  const auto after = test::world_of(out.affine, 1, 3, 1);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(before[r], after[r], 1e-9);
}

TEST(Pad, ThenCropBackRestoresDataAndAffine) {
  const Volume v = ramp_volume(2, 3, 4, 5);
  const Volume padded = pad(v, {1, 2, 3}, {0, 1, 2}, 0.0);
  const Volume back = crop(padded, {1, 2, 3}, {3, 4, 5});
  EXPECT_TRUE(test::tensors_close(back.data, v.data, 0, 0));
  EXPECT_TRUE(test::affines_close(back.affine, v.affine));
}

TEST(CropOrPad, CubeFromMixedSizes) {
  const Volume v = ramp_volume(1, 3, 8, 5);
  const Volume out = crop_or_pad_to_cube(v, 5);
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({1, 5, 5, 5}));
  // D: pad 1 before; H: crop from floor((8-5)/2) = 1; W: unchanged.
  EXPECT_TRUE(test::tensors_close(out.data.slice(1, 1, 4), v.data.slice(2, 1, 6), 0, 0));
  EXPECT_EQ(out.data.slice(1, 0, 1).abs().sum().item<float>(), 0.0f);
  const auto before = test::world_of(v.affine, 0, 1, 0);
  const auto after = test::world_of(out.affine, 1, 0, 0);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(before[r], after[r], 1e-9);
  EXPECT_THROW(crop_or_pad_to_cube(v, 0), Error);
}

TEST(CropOrPad, TwoDimensionalTensor) {
  const torch::Tensor t = torch::ones({3, 2, 9});
  const torch::Tensor out = crop_or_pad_to(t, {4, 4});
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({3, 4, 4}));
  EXPECT_EQ(out.sum().item<float>(), 3 * 2 * 4);
}

}  // namespace
}  // namespace medssl
