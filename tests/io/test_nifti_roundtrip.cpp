// NIfTI write -> read round trips: every data type, both versions, plain and gzip, 3D and 4D, scaling, oblique affines.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <tuple>

#include "io_test_util.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::io {
namespace {
using test::make_image;

/// Values that the type holds exactly and that float32 represents exactly, spanning the type's sign and magnitude.
float value_for(DType t, int64_t i) {
  switch (t) {
    case DType::uint8: return static_cast<float>((i * 37) % 256);
    case DType::int8: return static_cast<float>((i * 37) % 256 - 128);
    case DType::int16: return static_cast<float>((i * 1237) % 65536 - 32768);
    case DType::uint16: return static_cast<float>((i * 1237) % 65536);
    case DType::int32: return static_cast<float>((i * 104729) % 16000000 - 8000000);
    case DType::uint32: return static_cast<float>((i * 104729) % 16000000);
    case DType::int64: return static_cast<float>((i * 104729) % 16000000 - 8000000);
    case DType::float32: return static_cast<float>(i) * 0.37f - 3.1f;
    case DType::float64: return static_cast<float>(i) * -1.73f + 1e-3f;
  }
  return 0;
}

const DType kAllTypes[] = {DType::uint8, DType::int8,   DType::int16,   DType::uint16, DType::int32,
                           DType::uint32, DType::int64, DType::float32, DType::float64};

using RoundTripParam = std::tuple<DType, int, bool>;  // dtype, NIfTI version, gzip

class NiftiRoundTrip : public ::testing::TestWithParam<RoundTripParam> {};

TEST_P(NiftiRoundTrip, ValuesAffineAndMetadataSurvive) {
  // Named copies, not a structured binding: a C++17 lambda cannot capture a structured binding (clang rejects it).
  const DType dtype = std::get<0>(GetParam());
  const int version = std::get<1>(GetParam());
  const bool gz = std::get<2>(GetParam());
  testkit::TempDir dir;
  const std::string path = dir.file(std::string("img") + (gz ? ".nii.gz" : ".nii"));
  for (int64_t channels : {1, 3}) {
    ImageData image = make_image(4, 5, 6, channels, [&](int64_t i) { return value_for(dtype, i); });
    image.affine = test::oblique_affine();
    NiftiWriteOptions options;
    options.dtype = dtype;
    options.version = version;
    write_nifti(path, image, options);

    NiftiReadOptions read_options;
    read_options.to_ras = false;
    const ImageData back = read_nifti(path, read_options);
    EXPECT_EQ(back.shape, image.shape);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.data, image.data);
    EXPECT_EQ(back.disk_dtype, dtype);
    EXPECT_EQ(back.nifti_version, version);
    EXPECT_EQ(back.affine_source, "sform");
    EXPECT_EQ(back.path, path);
    // NIfTI-1 stores the sform as float32.
    test::expect_affine_near(back.affine, image.affine, version == 1 ? 1e-5 : 1e-12);
    EXPECT_NEAR(back.spacing[0], 2.5, 1e-5);  // D = k
    EXPECT_NEAR(back.spacing[1], 1.25, 1e-5);
    EXPECT_NEAR(back.spacing[2], 0.8, 1e-5);  // W = i
  }
  // Atomic writing leaves no temporary files behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().string(), path);
  }
  EXPECT_EQ(files, 1);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, NiftiRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(kAllTypes), ::testing::Values(1, 2),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<RoundTripParam>& info) {
                           return dtype_name(std::get<0>(info.param)) + "_v" +
                                  std::to_string(std::get<1>(info.param)) + (std::get<2>(info.param) ? "_gz" : "");
                         });

TEST(NiftiIo, GzipIsDetectedByContentNotName) {
  testkit::TempDir dir;
  ImageData image = make_image(2, 3, 4, 1, [](int64_t i) { return static_cast<float>(i); });
  write_nifti(dir.file("a.nii.gz"), image);
  write_nifti(dir.file("b.nii"), image);
  std::filesystem::rename(dir.file("a.nii.gz"), dir.file("compressed_but_named.nii"));
  std::filesystem::rename(dir.file("b.nii"), dir.file("plain_but_named.nii.gz"));
  EXPECT_EQ(read_nifti(dir.file("compressed_but_named.nii")).data, image.data);
  EXPECT_EQ(read_nifti(dir.file("plain_but_named.nii.gz")).data, image.data);
  EXPECT_EQ(test::read_bytes(dir.file("compressed_but_named.nii")).substr(0, 2), "\x1f\x8b");
}

TEST(NiftiIo, ScaledIntegersRoundTripExactly) {
  testkit::TempDir dir;
  for (int version : {1, 2}) {
    const std::string path = dir.file("scaled_v" + std::to_string(version) + ".nii.gz");
    // Values on the grid stored * 0.25 - 10 with stored in int16 range: exact after scaling.
    ImageData image = make_image(3, 4, 5, 1, [](int64_t i) { return static_cast<float>(i * 113 % 4001 - 2000) * 0.25f - 10.f; });
    NiftiWriteOptions options;
    options.dtype = DType::int16;
    options.version = version;
    options.scl_slope = 0.25;
    options.scl_inter = -10;
    write_nifti(path, image, options);
    const NiftiHeaderInfo header = read_nifti_header(path);
    EXPECT_DOUBLE_EQ(header.scl_slope, 0.25);
    EXPECT_DOUBLE_EQ(header.scl_inter, -10);
    EXPECT_EQ(header.dtype, DType::int16);
    EXPECT_EQ(read_nifti(path).data, image.data);
  }
}

TEST(NiftiIo, IntegerOutputRoundsToNearest) {
  testkit::TempDir dir;
  ImageData image = make_image(1, 1, 6, 1, [](int64_t i) {
    const float v[] = {1.4f, 1.6f, -2.5f, 2.5f, -0.4f, 254.6f};
    return v[i];
  });
  NiftiWriteOptions options;
  options.dtype = DType::int16;
  write_nifti(dir.file("r.nii"), image, options);
  EXPECT_EQ(read_nifti(dir.file("r.nii")).data, (std::vector<float>{1, 2, -3, 3, 0, 255}));
}

TEST(NiftiIo, IntegerOutputRefusesValuesThatDoNotFit) {
  testkit::TempDir dir;
  const std::string path = dir.file("overflow.nii");
  ImageData image = make_image(1, 2, 2, 1, [](int64_t i) { return i == 3 ? 300.f : 1.f; });
  NiftiWriteOptions options;
  options.dtype = DType::uint8;
  test::expect_error_naming([&] { write_nifti(path, image, options); }, path, "0..255");
  EXPECT_FALSE(std::filesystem::exists(path));
  image.data[3] = std::numeric_limits<float>::quiet_NaN();
  test::expect_error_naming([&] { write_nifti(path, image, options); }, path, "uint8");
  image.data[3] = -1.f;
  test::expect_error_naming([&] { write_nifti(path, image, options); }, path, "-1");
  // A float type stores NaN as it is.
  image.data[3] = std::numeric_limits<float>::quiet_NaN();
  options.dtype = DType::float32;
  write_nifti(path, image, options);
  EXPECT_EQ(compute_stats(read_nifti(path)).non_finite, 1);
}

TEST(NiftiIo, SingleSliceAndTwoDimensionalImagesGiveOneDeepVolumes) {
  testkit::TempDir dir;
  ImageData flat;
  flat.shape = {3, 4};
  flat.data = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  write_nifti(dir.file("flat.nii"), flat);
  const ImageData back = read_nifti(dir.file("flat.nii"));
  EXPECT_EQ(back.shape, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(back.data, flat.data);
  EXPECT_EQ(read_nifti_header(dir.file("flat.nii")).dims, (std::vector<int64_t>{4, 3, 1}));
}

TEST(NiftiIo, FourDimensionalChannelsAreChannelMajor) {
  testkit::TempDir dir;
  for (int version : {1, 2}) {
    const std::string path = dir.file("four_d_v" + std::to_string(version) + ".nii.gz");
    ImageData image = make_image(2, 3, 4, 5, [](int64_t i) { return static_cast<float>(i); });
    NiftiWriteOptions options;
    options.version = version;
    write_nifti(path, image, options);
    const NiftiHeaderInfo header = read_nifti_header(path);
    EXPECT_EQ(header.dims, (std::vector<int64_t>{4, 3, 2, 5}));
    const ImageData back = read_nifti(path);
    EXPECT_EQ(back.channels, 5);
    EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3, 4}));
    // value at (c=2, d=1, h=2, w=3) = ((2*2 + 1)*3 + 2)*4 + 3
    EXPECT_EQ(back.data[((2 * 2 + 1) * 3 + 2) * 4 + 3], static_cast<float>(((2 * 2 + 1) * 3 + 2) * 4 + 3));
    EXPECT_EQ(back.data, image.data);
  }
}

TEST(NiftiIo, HeaderOnlyReadReportsGeometry) {
  testkit::TempDir dir;
  ImageData image = make_image(2, 3, 4, 1, [](int64_t i) { return static_cast<float>(i); });
  image.affine = test::scaled_affine(0.5, 0.75, 3.0, 10, -20, 30);
  for (int version : {1, 2}) {
    const std::string path = dir.file("h" + std::to_string(version) + ".nii");
    NiftiWriteOptions options;
    options.version = version;
    options.dtype = DType::uint16;
    write_nifti(path, image, options);
    const NiftiHeaderInfo h = read_nifti_header(path);
    EXPECT_EQ(h.version, version);
    EXPECT_EQ(h.dims, (std::vector<int64_t>{4, 3, 2}));
    EXPECT_EQ(h.dtype, DType::uint16);
    EXPECT_EQ(h.vox_offset, version == 1 ? 352 : 544);
    EXPECT_EQ(h.affine_source, "sform");
    EXPECT_NEAR(h.pixdim[0], 0.5, 1e-6);
    EXPECT_NEAR(h.pixdim[1], 0.75, 1e-6);
    EXPECT_NEAR(h.pixdim[2], 3.0, 1e-6);
    test::expect_affine_near(h.affine, image.affine, 1e-6);
  }
}

TEST(NiftiIo, QformAloneGivesTheAffine) {
  // The qform written next to the sform encodes the same rigid+zoom affine: blank the sform code and read again.
  testkit::TempDir dir;
  const std::string path = dir.file("q.nii");
  ImageData image = make_image(2, 3, 4, 1, [](int64_t i) { return static_cast<float>(i); });
  image.affine = test::oblique_affine();
  write_nifti(path, image);
  std::string bytes = test::read_bytes(path);
  test::poke<int16_t>(bytes, 254, 0);  // sform_code
  test::write_bytes(path, bytes);
  NiftiReadOptions options;
  options.to_ras = false;
  const ImageData back = read_nifti(path, options);
  EXPECT_EQ(back.affine_source, "qform");
  test::expect_affine_near(back.affine, image.affine, 1e-5);
  // And without either transform: the pixdim diagonal.
  test::poke<int16_t>(bytes, 252, 0);  // qform_code
  test::write_bytes(path, bytes);
  const ImageData plain = read_nifti(path, options);
  EXPECT_EQ(plain.affine_source, "pixdim");
  test::expect_affine_near(plain.affine, test::scaled_affine(0.8, 1.25, 2.5), 1e-6);
}

TEST(NiftiIo, PathRecognition) {
  EXPECT_TRUE(is_nifti_path("a/b.nii"));
  EXPECT_TRUE(is_nifti_path("a/b.NII.GZ"));
  EXPECT_FALSE(is_nifti_path("a/b.png"));
  EXPECT_FALSE(is_nifti_path("a/b.nii.bak"));
  EXPECT_FALSE(is_nifti_path("a/b.gz"));
}

TEST(ImageData, DTypeHelpers) {
  for (DType t : kAllTypes) EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_EQ(dtype_bytes(DType::int8), 1);
  EXPECT_EQ(dtype_bytes(DType::uint16), 2);
  EXPECT_EQ(dtype_bytes(DType::uint32), 4);
  EXPECT_EQ(dtype_bytes(DType::int64), 8);
  EXPECT_EQ(dtype_bytes(DType::float64), 8);
  try {
    dtype_from_name("float16");
    ADD_FAILURE() << "float16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("float16"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("uint8"), std::string::npos);
  }
}

TEST(ImageData, StatsIgnoreNonFiniteValues) {
  ImageData image;
  image.shape = {5};
  image.data = {1.f, std::numeric_limits<float>::quiet_NaN(), 3.f, -std::numeric_limits<float>::infinity(), -4.f};
  const ImageStats s = compute_stats(image);
  EXPECT_EQ(s.non_finite, 2);
  EXPECT_DOUBLE_EQ(s.min, -4);
  EXPECT_DOUBLE_EQ(s.max, 3);
  EXPECT_DOUBLE_EQ(s.mean, 0);
  image.data = {std::numeric_limits<float>::quiet_NaN()};
  EXPECT_TRUE(std::isnan(compute_stats(image).mean));
}

}  // namespace
}  // namespace medssl::io
