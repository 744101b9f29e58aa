// foreground_bbox and crop_to_foreground: a known blob, margins clipped at the border, all-background images.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/data/transforms/foreground.h"
#include "tensor_expect.h"

namespace medssl {
namespace {

// A (1, 6, 7, 8) image with foreground (value 5) at d 2..3, h 1..4, w 3..5 (inclusive) and a faint voxel (0.5)
// that a threshold of 1 must ignore.
torch::Tensor blob() {
  torch::Tensor t = torch::zeros({1, 6, 7, 8});
  t.slice(1, 2, 4).slice(2, 1, 5).slice(3, 3, 6).fill_(5.0f);
  t[0][5][6][0] = 0.5f;
  return t;
}

TEST(ForegroundBbox, InclusiveBoxOfAKnownBlob) {
  const auto box = foreground_bbox(blob(), 1.0);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->start, (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(box->size, (std::vector<int64_t>{2, 4, 3}));  // last foreground plane included
}

TEST(ForegroundBbox, ThresholdIsStrictlyGreater) {
  // Threshold 0: the faint voxel at (5, 6, 0) now counts and the box spans to it.
  const auto box = foreground_bbox(blob(), 0.0);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->start, (std::vector<int64_t>{2, 1, 0}));
  EXPECT_EQ(box->size, (std::vector<int64_t>{4, 6, 6}));
  // Threshold 5: nothing is > 5.
  EXPECT_FALSE(foreground_bbox(blob(), 5.0).has_value());
}

TEST(ForegroundBbox, MarginIsClippedToTheImage) {
  const auto box = foreground_bbox(blob(), 1.0, 2);
  ASSERT_TRUE(box.has_value());
  // d: [2-2, 3+2] = [0, 5]; h: [max(1-2, 0), 4+2] = [0, 6]; w: [1, min(5+2, 7)] = [1, 7].
  EXPECT_EQ(box->start, (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(box->size, (std::vector<int64_t>{6, 7, 7}));
  EXPECT_THROW(foreground_bbox(blob(), 1.0, -1), Error);
}

TEST(ForegroundBbox, AnyChannelCountsAnd2D) {
  torch::Tensor t = torch::zeros({2, 5, 5});
  t[0][1][1] = 1.0f;
  t[1][3][4] = 1.0f;
  const auto box = foreground_bbox(t);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->start, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(box->size, (std::vector<int64_t>{3, 4}));
}

TEST(CropToForeground, CropsImageAndLabelAlikeAndShiftsTheAffine) {
  Volume image;
  image.data = blob();
  image.affine = test::oblique_affine();
  image.path = "case.nii.gz";
  Volume label = image;
  label.data = (blob() > 1.0f).to(torch::kFloat32) * 2.0f;

  const ForegroundCrop result = crop_to_foreground(image, 1.0, 1);
  ASSERT_TRUE(result.found);
  EXPECT_EQ(result.box.start, (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(result.volume.data.sizes(), torch::IntArrayRef({1, 4, 6, 5}));
  const Volume label_crop = crop_with_box(label, result.box);
  EXPECT_TRUE(torch::equal(label_crop.data > 0, result.volume.data > 1.0f));
  EXPECT_TRUE(test::affines_close(label_crop.affine, result.volume.affine));
  const auto before = test::world_of(image.affine, 1, 0, 2);
  const auto after = test::world_of(result.volume.affine, 0, 0, 0);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(before[r], after[r], 1e-9);
}

TEST(CropToForeground, AllBackgroundKeepsTheWholeVolumeAndSaysSo) {
  Volume image;
  image.data = torch::zeros({1, 3, 4, 5});
  image.affine = test::oblique_affine();
  const ForegroundCrop result = crop_to_foreground(image, 0.0);
  EXPECT_FALSE(result.found);
  EXPECT_EQ(result.box.start, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(result.box.size, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(result.volume.data.sizes(), image.data.sizes());
  EXPECT_TRUE(test::affines_close(result.volume.affine, image.affine));
}

TEST(CropToForeground, Image2D) {
  Image2D image;
  image.data = torch::zeros({3, 10, 12});
  image.data.slice(1, 2, 8).slice(2, 1, 11).fill_(100.0f);
  const ForegroundCrop2D result = crop_to_foreground(image, 10.0);
  ASSERT_TRUE(result.found);
  EXPECT_EQ(result.image.data.sizes(), torch::IntArrayRef({3, 6, 10}));
  EXPECT_EQ(result.image.data.min().item<float>(), 100.0f);
}

}  // namespace
}  // namespace medssl
