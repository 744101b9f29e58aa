// Reorientation to RAS+ and back: voxel order changes, world positions do not, and writing restores the source file.
#include <gtest/gtest.h>

#include <map>

#include "io_test_util.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::io {
namespace {
using test::make_image;

std::array<double, 3> world(const Mat44& a, int64_t i, int64_t j, int64_t k) {
  std::array<double, 3> w{};
  for (int r = 0; r < 3; ++r) w[r] = a[r][0] * i + a[r][1] * j + a[r][2] * k + a[r][3];
  return w;
}

/// Every voxel of `after` (values are unique voxel ids of `before`) sits at the same world position as in `before`.
void expect_same_world_positions(const ImageData& before, const ImageData& after) {
  ASSERT_EQ(before.data.size(), after.data.size());
  std::map<float, std::array<double, 3>> where;
  const int64_t D = before.shape[0], H = before.shape[1], W = before.shape[2];
  for (int64_t k = 0; k < D; ++k)
    for (int64_t j = 0; j < H; ++j)
      for (int64_t i = 0; i < W; ++i) where[before.data[(k * H + j) * W + i]] = world(before.affine, i, j, k);
  const int64_t d = after.shape[0], h = after.shape[1], w = after.shape[2];
  for (int64_t k = 0; k < d; ++k)
    for (int64_t j = 0; j < h; ++j)
      for (int64_t i = 0; i < w; ++i) {
        const auto expected = where.at(after.data[(k * h + j) * w + i]);
        const auto actual = world(after.affine, i, j, k);
        for (int r = 0; r < 3; ++r) ASSERT_NEAR(actual[r], expected[r], 1e-6) << "voxel " << i << "," << j << "," << k;
      }
}

Mat44 lps_affine() {
  Mat44 a = test::scaled_affine(-0.9, -1.1, 2.0, 40, 55, -70);
  return a;
}

/// i -> S (flipped: I), j -> R, k -> A (flipped: P), slightly rotated.
Mat44 permuted_affine() {
  Mat44 a{};
  a[0] = {0.02, 1.5, 0.0, -10};
  a[1] = {0.0, 0.03, -0.7, 20};
  a[2] = {-2.0, 0.0, 0.01, 5};
  a[3] = {0, 0, 0, 1};
  return a;
}

TEST(Reorient, LpsFileIsReadAsRasAndWrittenBackUnchanged) {
  testkit::TempDir dir;
  const std::string source = dir.file("lps.nii.gz");
  ImageData image = make_image(3, 4, 5, 1, [](int64_t i) { return static_cast<float>(i); });
  image.affine = lps_affine();
  EXPECT_EQ(orientation_code(image.affine), "LPS");
  NiftiWriteOptions options;
  options.dtype = DType::int16;
  write_nifti(source, image, options);

  const ImageData ras = read_nifti(source);
  EXPECT_EQ(orientation_code(ras.affine), "RAS");
  EXPECT_EQ(ras.reorientation.source_axis, (std::array<int, 3>{0, 1, 2}));
  EXPECT_EQ(ras.reorientation.flipped, (std::array<bool, 3>{true, true, false}));
  EXPECT_NEAR(ras.affine[0][0], 0.9, 1e-6);
  EXPECT_NEAR(ras.affine[0][3], 40 - 0.9 * 4, 1e-5);  // flip along i (5 voxels) moves the origin to old voxel 4
  EXPECT_NEAR(ras.affine[1][3], 55 - 1.1 * 3, 1e-5);
  expect_same_world_positions(image, ras);

  const std::string restored = dir.file("restored.nii.gz");
  write_nifti(restored, ras, options);
  NiftiReadOptions as_stored;
  as_stored.to_ras = false;
  const ImageData back = read_nifti(restored, as_stored);
  EXPECT_EQ(back.shape, image.shape);
  EXPECT_EQ(back.data, image.data);
  test::expect_affine_near(back.affine, image.affine, 1e-5);
  // Uncompressed, the restored file is byte-identical to one written from the original image.
  write_nifti(dir.file("a.nii"), image, options);
  write_nifti(dir.file("b.nii"), ras, options);
  EXPECT_EQ(test::read_bytes(dir.file("a.nii")), test::read_bytes(dir.file("b.nii")));

  // Without restore_orientation the file keeps the RAS voxel order.
  options.restore_orientation = false;
  write_nifti(dir.file("ras.nii"), ras, options);
  const ImageData kept = read_nifti(dir.file("ras.nii"), as_stored);
  EXPECT_EQ(kept.data, ras.data);
  EXPECT_EQ(orientation_code(kept.affine), "RAS");
}

TEST(Reorient, PermutedObliqueAxesReachRasAndBack) {
  ImageData image = make_image(3, 4, 5, 2, [](int64_t i) { return static_cast<float>(i); });
  image.affine = permuted_affine();
  EXPECT_EQ(orientation_code(image.affine), "IRP");
  const AxisReorientation r = ras_reorientation(image.affine);
  EXPECT_EQ(r.source_axis, (std::array<int, 3>{1, 2, 0}));
  EXPECT_EQ(r.flipped, (std::array<bool, 3>{false, true, true}));
  ImageData ras = image;
  reorient(ras, r);
  EXPECT_EQ(orientation_code(ras.affine), "RAS");
  EXPECT_EQ(ras.shape, (std::vector<int64_t>{5, 3, 4}));  // (D, H, W) = sizes of source (i, k, j)
  EXPECT_EQ(ras.channels, 2);
  ImageData first_channel = image, ras_first = ras;
  first_channel.channels = ras_first.channels = 1;
  first_channel.data.resize(60);
  ras_first.data.resize(60);
  expect_same_world_positions(first_channel, ras_first);
  EXPECT_NEAR(ras.spacing[0], 2.0, 1e-3);  // k now runs along the old i (2 mm)
  EXPECT_NEAR(ras.spacing[2], 1.5, 1e-3);

  ImageData back = ras;
  reorient(back, inverse(ras.reorientation));
  EXPECT_TRUE(back.reorientation.is_identity());
  EXPECT_EQ(back.shape, image.shape);
  EXPECT_EQ(back.data, image.data);
  test::expect_affine_near(back.affine, image.affine, 1e-12);
}

TEST(Reorient, RepeatedReorientationsCompose) {
  ImageData image = make_image(2, 3, 4, 1, [](int64_t i) { return static_cast<float>(i); });
  image.affine = test::oblique_affine();
  AxisReorientation a;
  a.source_axis = {2, 0, 1};
  a.flipped = {true, false, true};
  AxisReorientation b;
  b.source_axis = {1, 2, 0};
  b.flipped = {false, true, false};
  ImageData moved = image;
  reorient(moved, a);
  reorient(moved, b);
  expect_same_world_positions(image, moved);
  ImageData back = moved;
  reorient(back, inverse(moved.reorientation));
  EXPECT_EQ(back.data, image.data);
  EXPECT_EQ(back.shape, image.shape);
  test::expect_affine_near(back.affine, image.affine, 1e-12);
  const AxisReorientation twice = inverse(inverse(a));
  EXPECT_EQ(twice.source_axis, a.source_axis);
  EXPECT_EQ(twice.flipped, a.flipped);
}

TEST(Reorient, RejectsInvalidPermutations) {
  ImageData image = make_image(2, 2, 2, 1, [](int64_t i) { return static_cast<float>(i); });
  AxisReorientation bad;
  bad.source_axis = {0, 0, 1};
  EXPECT_THROW(reorient(image, bad), Error);
}

TEST(Reorient, RasFileIsLeftAlone) {
  const AxisReorientation r = ras_reorientation(test::oblique_affine());
  EXPECT_TRUE(r.is_identity());
  EXPECT_EQ(orientation_code(test::oblique_affine()), "RAS");
}

}  // namespace
}  // namespace medssl::io
