// Volume / Image2D conversions and file round trips (NIfTI through medssl_io, cross-checked with nibabel).
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/data/volume/affine_update.h"
#include "medssl/data/volume/volume.h"
#include "tensor_expect.h"
#include "testkit/testkit.h"

namespace medssl {
namespace {

io::ImageData ramp_image(int64_t c, int64_t d, int64_t h, int64_t w) {
  io::ImageData image;
  image.shape = {d, h, w};
  image.channels = c;
  for (int64_t i = 0; i < c * d * h * w; ++i) image.data.push_back(static_cast<float>(i));
  image.spacing = {2.5, 0.8, 1.2};
  image.affine = test::oblique_affine();
  image.path = "ramp.nii.gz";
  image.disk_dtype = io::DType::int16;
  return image;
}

TEST(Volume, ToVolumeAdoptsTheBufferWithoutCopying) {
  io::ImageData image = ramp_image(2, 3, 4, 5);
  const float* buffer = image.data.data();
  const Volume v = to_volume(std::move(image));
  EXPECT_EQ(v.data.data_ptr<float>(), buffer);
  EXPECT_EQ(v.data.sizes(), torch::IntArrayRef({2, 3, 4, 5}));
  // Channel-major index ((c*D + d)*H + h)*W + w.
  EXPECT_EQ(v.data[1][2][3][4].item<float>(), static_cast<float>(((1 * 3 + 2) * 4 + 3) * 5 + 4));
  EXPECT_EQ(v.spacing, (std::array<double, 3>{2.5, 0.8, 1.2}));
  EXPECT_TRUE(test::affines_close(v.affine, test::oblique_affine()));
  EXPECT_EQ(v.disk_dtype, io::DType::int16);
  EXPECT_EQ(v.path, "ramp.nii.gz");
}

TEST(Volume, AdoptedBufferOutlivesTheImageData) {
  Volume v;
  {
    io::ImageData image = ramp_image(1, 2, 2, 2);
    v = to_volume(std::move(image));
  }
  torch::Tensor copy = v.data.clone();  // storage still alive and readable after the ImageData is gone
  EXPECT_EQ(copy.sum().item<float>(), 28.0f);
}

TEST(Volume, ImageDataRoundTrip) {
  const Volume v = to_volume(ramp_image(2, 3, 4, 5));
  const io::ImageData back = to_image_data(v);
  EXPECT_EQ(back.shape, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(back.channels, 2);
  EXPECT_EQ(back.data, ramp_image(2, 3, 4, 5).data);
  EXPECT_EQ(back.spacing, v.spacing);
  EXPECT_TRUE(test::affines_close(back.affine, v.affine));
  // A non-contiguous float64 view converts too.
  Volume t = v;
  t.data = v.data.to(torch::kFloat64).permute({0, 1, 3, 2}).contiguous().permute({0, 1, 3, 2});
  EXPECT_EQ(to_image_data(t).data, back.data);
}

TEST(Volume, WrongDimensionsAreErrors) {
  io::ImageData flat = ramp_image(1, 1, 3, 3);
  flat.shape = {3, 3};
  EXPECT_THROW(to_volume(std::move(flat)), Error);
  io::ImageData short_data = ramp_image(1, 2, 2, 2);
  short_data.data.pop_back();
  EXPECT_THROW(to_volume(std::move(short_data)), Error);
  Volume bad;
  bad.data = torch::zeros({3, 3, 3});
  EXPECT_THROW(to_image_data(bad), Error);
}

TEST(Image2D, ConversionsFrom2DAndSingleSliceData) {
  io::ImageData picture;
  picture.shape = {2, 3};
  picture.channels = 3;
  for (int i = 0; i < 18; ++i) picture.data.push_back(static_cast<float>(i));
  const float* buffer = picture.data.data();
  const Image2D image = to_image2d(std::move(picture));
  EXPECT_EQ(image.data.data_ptr<float>(), buffer);
  EXPECT_EQ(image.data.sizes(), torch::IntArrayRef({3, 2, 3}));
  EXPECT_EQ(image.data[2][1][0].item<float>(), 15.0f);

  io::ImageData slice = ramp_image(1, 1, 4, 5);
  const Image2D from_slice = to_image2d(std::move(slice));
  EXPECT_EQ(from_slice.data.sizes(), torch::IntArrayRef({1, 4, 5}));
  EXPECT_EQ(from_slice.spacing, (std::array<double, 2>{0.8, 1.2}));
  EXPECT_THROW(to_image2d(ramp_image(1, 2, 4, 5)), Error);

  const io::ImageData back = to_image_data(image);
  EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.data[15], 15.0f);
}

TEST(Volume, NiftiRoundTripKeepsDataSpacingAndAffine) {
  testkit::TempDir dir;
  Volume v;
  v.data = torch::arange(2 * 3 * 4 * 5, torch::kFloat32).reshape({2, 3, 4, 5}) * 0.5f - 6.8f;  // no .5 values: rounding ties are not under test
  v.spacing = {2.5, 0.8, 1.2};
  v.affine = identity44();
  v.affine[0][0] = 1.2;  // i (W) along +R
  v.affine[1][1] = 0.8;  // j (H) along +A
  v.affine[2][2] = 2.5;  // k (D) along +S
  v.affine[0][3] = -10;
  v.affine[1][3] = 5;
  v.affine[2][3] = 40;
  const std::string path = dir.file("v.nii.gz");
  save_volume(path, v, io::DType::float32);
  const Volume back = load_volume(path);
  EXPECT_TRUE(test::tensors_close(back.data, v.data, 0, 0));
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(back.spacing[a], v.spacing[a], 1e-6);
  EXPECT_TRUE(test::affines_close(back.affine, v.affine, 1e-5));
  EXPECT_EQ(back.disk_dtype, io::DType::float32);

  // Integer on-disk type rounds.
  save_volume(dir.file("v16.nii"), v, io::DType::int16);
  const Volume back16 = load_volume(dir.file("v16.nii"));
  EXPECT_TRUE(test::tensors_close(back16.data, v.data.round(), 0, 0.0));
  EXPECT_EQ(back16.disk_dtype, io::DType::int16);
}

TEST(Volume, NiftiAxisOrderMatchesNibabelAfterACrop) {
  if (!testkit::python_has("nibabel numpy")) GTEST_SKIP() << "nibabel not available";
  testkit::TempDir dir;
  Volume v;
  v.data = torch::arange(4 * 5 * 6, torch::kFloat32).reshape({1, 4, 5, 6});
  v.spacing = {3.0, 2.0, 1.0};
  v.affine = identity44();
  v.affine[0][0] = 1.0;
  v.affine[1][1] = 2.0;
  v.affine[2][2] = 3.0;
  // A crop with start (d, h, w) = (1, 2, 3) must move the origin to voxel (i, j, k) = (3, 2, 1).
  Volume cropped = v;
  cropped.data = v.data.slice(1, 1, 4).slice(2, 2, 5).slice(3, 3, 6).contiguous();
  cropped.affine = affine_shift_origin(v.affine, {1, 2, 3});
  const std::string path = dir.file("crop.nii.gz");
  save_volume(path, cropped, io::DType::float32);
  const auto r = testkit::run_python(
      "import nibabel as nib, numpy as np\n"
      "img = nib.load('" + path + "')\n"
      "a = np.asanyarray(img.dataobj)\n"
      "print(a.shape, a[2, 1, 0], img.affine[0, 3], img.affine[1, 3], img.affine[2, 3])\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // nibabel's a[i, j, k] = tensor[k][j][i]: tensor voxel (d, h, w) = (0, 1, 2) is original (1, 3, 5).
  const int expected_value = (1 * 5 + 3) * 6 + 5;
  EXPECT_EQ(r.output, fmt::format("(3, 3, 3) {}.0 3.0 4.0 3.0\n", expected_value));
}

TEST(Volume, LoadReorientsToRasAndSaveRestoresTheSourceOrder) {
  testkit::TempDir dir;
  Volume lps;
  lps.data = torch::arange(2 * 3 * 4, torch::kFloat32).reshape({1, 2, 3, 4});
  lps.spacing = {1.0, 1.0, 1.0};
  lps.affine = identity44();
  lps.affine[0][0] = -1.0;  // i towards L
  lps.affine[1][1] = -1.0;  // j towards P
  save_volume(dir.file("lps.nii.gz"), lps, io::DType::float32);

  const Volume ras = load_volume(dir.file("lps.nii.gz"), true);
  EXPECT_EQ(orientation_code(ras.affine), "RAS");
  EXPECT_TRUE(test::tensors_close(ras.data, lps.data.flip({2, 3}), 0, 0));
  const Volume raw = load_volume(dir.file("lps.nii.gz"), false);
  EXPECT_TRUE(test::tensors_close(raw.data, lps.data, 0, 0));

  save_volume(dir.file("back.nii.gz"), ras, io::DType::float32, true);
  const Volume restored = load_volume(dir.file("back.nii.gz"), false);
  EXPECT_TRUE(test::tensors_close(restored.data, lps.data, 0, 0));
  EXPECT_TRUE(test::affines_close(restored.affine, lps.affine, 1e-5));
}

TEST(Image2D, PngRoundTrip) {
  testkit::TempDir dir;
  Image2D image;
  image.data = torch::randint(0, 256, {3, 5, 7}).to(torch::kFloat32);
  save_image2d(dir.file("x.png"), image);
  const Image2D back = load_image2d(dir.file("x.png"));
  EXPECT_TRUE(test::tensors_close(back.data, image.data, 0, 0));
  EXPECT_THROW(load_image2d(dir.file("missing.png")), Error);
}

}  // namespace
}  // namespace medssl
