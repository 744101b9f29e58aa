// 2D pictures: PNG (8/16 bit), JPEG and BMP through medssl's image2d layer.
#include <gtest/gtest.h>
#include <stb_image_write.h>  // declarations only; the implementation lives in medssl_io
#include <zlib.h>

#include <cmath>
#include <limits>

#include "io_test_util.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::io {
namespace {

ImageData picture(int64_t h, int64_t w, int64_t channels, DType dtype = DType::uint8) {
  ImageData image;
  image.shape = {h, w};
  image.channels = channels;
  image.disk_dtype = dtype;
  const double top = dtype == DType::uint16 ? 65535 : 255;
  image.data.resize(static_cast<size_t>(h * w * channels));
  // Smooth ramps (JPEG-friendly), different per channel.
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        image.data[(c * h + y) * w + x] =
            static_cast<float>(std::round(top * (0.5 + 0.45 * std::sin(0.11 * x + 0.07 * y + 1.3 * c))));
  return image;
}

void append(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

TEST(Image2d, PngRoundTripsExactly) {
  testkit::TempDir dir;
  for (int64_t channels : {1, 3})
    for (DType dtype : {DType::uint8, DType::uint16}) {
      const std::string path = dir.file("p" + std::to_string(channels) + dtype_name(dtype) + ".png");
      const ImageData image = picture(17, 23, channels, dtype);
      write_image2d(path, image);
      const ImageData back = read_image2d(path);
      EXPECT_EQ(back.shape, (std::vector<int64_t>{17, 23}));
      EXPECT_EQ(back.channels, channels);
      EXPECT_EQ(back.disk_dtype, dtype);
      EXPECT_EQ(back.data, image.data) << path;
      EXPECT_EQ(back.nifti_version, 0);
      EXPECT_EQ(back.affine_source, "none");
    }
}

TEST(Image2d, JpegRoundTripsApproximately) {
  testkit::TempDir dir;
  for (int64_t channels : {1, 3}) {
    const std::string path = dir.file("j" + std::to_string(channels) + ".jpg");
    const ImageData image = picture(32, 40, channels);
    write_image2d(path, image, 95);
    const ImageData back = read_image2d(path);
    // stb_image_write stores every JPEG as YCbCr, so a grey picture comes back as three equal channels.
    ASSERT_EQ(back.channels, 3);
    const size_t plane = 32 * 40;
    ASSERT_EQ(back.data.size(), 3 * plane);
    double error = 0;
    for (size_t c = 0; c < 3; ++c)
      for (size_t i = 0; i < plane; ++i)
        error += std::fabs(back.data[c * plane + i] - image.data[(channels == 1 ? 0 : c) * plane + i]);
    EXPECT_LT(error / (3 * plane), 3.0);
    EXPECT_EQ(test::read_bytes(path).substr(0, 2), "\xff\xd8");  // really a JPEG
  }
}

TEST(Image2d, AlphaIsDroppedAndBmpIsRead) {
  testkit::TempDir dir;
  const unsigned char grey_alpha[2 * 2 * 2] = {10, 255, 20, 0, 30, 128, 40, 255};
  std::string png;
  ASSERT_TRUE(stbi_write_png_to_func(append, &png, 2, 2, 2, grey_alpha, 4));
  test::write_bytes(dir.file("ga.png"), png);
  ImageData ga = read_image2d(dir.file("ga.png"));
  EXPECT_EQ(ga.channels, 1);
  EXPECT_EQ(ga.data, (std::vector<float>{10, 20, 30, 40}));

  const unsigned char rgba[2 * 1 * 4] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::string bmp;
  ASSERT_TRUE(stbi_write_bmp_to_func(append, &bmp, 2, 1, 4, rgba));
  test::write_bytes(dir.file("rgba.bmp"), bmp);
  ImageData rgb = read_any_image(dir.file("rgba.bmp"));
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.data, (std::vector<float>{1, 5, 2, 6, 3, 7}));  // channel-major
}

TEST(Image2d, ValuesAreRoundedAndClamped) {
  testkit::TempDir dir;
  ImageData image;
  image.shape = {1, 4};
  image.data = {-5.f, 12.4f, 12.6f, 300.f};
  write_image2d(dir.file("c.png"), image);
  EXPECT_EQ(read_image2d(dir.file("c.png")).data, (std::vector<float>{0, 12, 13, 255}));
  image.data[1] = std::numeric_limits<float>::quiet_NaN();
  test::expect_error_naming([&] { write_image2d(dir.file("nan.png"), image); }, dir.file("nan.png"), "NaN");
}

TEST(Image2d, UnreadablePicturesNameTheFile) {
  testkit::TempDir dir;
  const std::string garbage = dir.file("garbage.png");
  test::write_bytes(garbage, "this is not a picture, only some text pretending");
  test::expect_error_naming([&] { read_image2d(garbage); }, garbage, "cannot decode");
  const std::string missing = dir.file("missing.png");
  test::expect_error_naming([&] { read_image2d(missing); }, missing, "");

  const ImageData image = picture(20, 20, 3);
  write_image2d(dir.file("whole.png"), image);
  const std::string bytes = test::read_bytes(dir.file("whole.png"));
  const std::string cut = dir.file("cut.png");
  test::write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  test::expect_error_naming([&] { read_image2d(cut); }, cut, "cannot decode");
}

TEST(Image2d, AbsurdPictureSizeIsRefusedBeforeDecoding) {
  // A grey PNG whose IHDR claims 20000 x 20000 pixels (stb itself would accept it), followed by nothing useful.
  auto be32 = [](std::string& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  std::string body = "IHDR";
  be32(body, 20000);
  be32(body, 20000);
  body += std::string("\x08\x00\x00\x00\x00", 5);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  be32(png, 13);
  png += body;
  be32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size())));
  testkit::TempDir dir;
  const std::string path = dir.file("huge.png");
  test::write_bytes(path, png);
  test::expect_error_naming([&] { read_image2d(path); }, path, "limit");
}

TEST(Image2d, WriterRejectsWhatItCannotStore) {
  testkit::TempDir dir;
  ImageData two_channels = picture(4, 4, 2);
  test::expect_error_naming([&] { write_image2d(dir.file("a.png"), two_channels); }, dir.file("a.png"), "channels");
  const ImageData ok = picture(4, 4, 1);
  test::expect_error_naming([&] { write_image2d(dir.file("a.tif"), ok); }, dir.file("a.tif"), ".png");
  ImageData volume = ok;
  volume.shape = {2, 2, 4};
  test::expect_error_naming([&] { write_image2d(dir.file("v.png"), volume); }, dir.file("v.png"), "shape");
}

TEST(Image2d, ReadAnyImageDispatchesByExtension) {
  testkit::TempDir dir;
  const ImageData flat = picture(3, 5, 1);
  write_image2d(dir.file("x.png"), flat);
  write_nifti(dir.file("x.nii.gz"), flat);
  EXPECT_EQ(read_any_image(dir.file("x.png")).shape, (std::vector<int64_t>{3, 5}));
  const ImageData volume = read_any_image(dir.file("x.nii.gz"));
  EXPECT_EQ(volume.shape, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(volume.data, flat.data);
  test::expect_error_naming([&] { read_any_image(dir.file("x.txt")); }, dir.file("x.txt"), "unknown image type");
  EXPECT_TRUE(is_image2d_path("a/B.JPEG"));
  EXPECT_FALSE(is_image2d_path("a.nii.gz"));
}

}  // namespace
}  // namespace medssl::io
