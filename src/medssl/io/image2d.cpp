// 2D pictures through stb_image / stb_image_write (the one translation unit that holds their implementations).
#include "medssl/io/image2d.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <memory>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // medssl reads the bytes itself (one open, clear errors); stb decodes from memory
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/io/nifti.h"
#include "medssl/io/png16.h"

namespace medssl::io {
namespace {

// 2^28 pixels (16384 x 16384) is far beyond any fundus or X-ray picture, yet small enough to decode safely.
constexpr int64_t kMaxPixels = int64_t{1} << 28;

std::string lower_extension(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

/// Interleaved samples (stb's layout) -> channel-major floats, keeping grey or RGB and dropping alpha.
template <typename T>
void deinterleave(const T* pixels, int64_t count, int file_channels, ImageData& image) {
  image.channels = file_channels >= 3 ? 3 : 1;
  image.data.resize(static_cast<size_t>(count * image.channels));
  for (int64_t c = 0; c < image.channels; ++c)
    for (int64_t p = 0; p < count; ++p) image.data[c * count + p] = static_cast<float>(pixels[p * file_channels + c]);
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

ImageData read_image2d(const std::string& path) {
  const std::string bytes = read_file(path);
  check(bytes.size() <= static_cast<size_t>(INT_MAX), "cannot read picture '{}': {} bytes is too large", path,
        bytes.size());
  const auto* buffer = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, file_channels = 0;
  if (!stbi_info_from_memory(buffer, length, &width, &height, &file_channels))
    fail("cannot decode picture '{}': {}", path, stbi_failure_reason());
  check(width > 0 && height > 0 && static_cast<int64_t>(width) * height <= kMaxPixels,
        "picture '{}' is {}x{} pixels, above the limit of {} pixels", path, width, height, kMaxPixels);

  ImageData image;
  image.shape = {height, width};
  image.path = path;
  image.nifti_version = 0;
  image.affine_source = "none";
  const int64_t count = static_cast<int64_t>(width) * height;
  int w = 0, h = 0, n = 0;
  if (stbi_is_16_bit_from_memory(buffer, length)) {
    std::unique_ptr<stbi_us, StbFree> pixels(stbi_load_16_from_memory(buffer, length, &w, &h, &n, 0));
    if (!pixels) fail("cannot decode picture '{}': {}", path, stbi_failure_reason());
    image.disk_dtype = DType::uint16;
    deinterleave(pixels.get(), count, n, image);
  } else {
    std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(buffer, length, &w, &h, &n, 0));
    if (!pixels) fail("cannot decode picture '{}': {}", path, stbi_failure_reason());
    image.disk_dtype = DType::uint8;
    deinterleave(pixels.get(), count, n, image);
  }
  check(w == width && h == height, "picture '{}': decoded size {}x{} differs from its header {}x{}", path, w, h,
        width, height);
  return image;
}

void write_image2d(const std::string& path, const ImageData& image, int jpeg_quality) {
  const bool is_png = lower_extension(path) == ".png";
  const bool is_jpeg = lower_extension(path) == ".jpg" || lower_extension(path) == ".jpeg";
  check(is_png || is_jpeg, "cannot write picture '{}': the name must end in .png, .jpg or .jpeg", path);
  const bool flat = image.shape.size() == 2 || (image.shape.size() == 3 && image.shape[0] == 1);
  check(flat, "cannot write picture '{}': it needs shape (H, W) or (1, H, W)", path);
  const int64_t height = image.shape[image.shape.size() - 2], width = image.shape.back();
  check(height > 0 && width > 0 && height * width <= kMaxPixels, "cannot write picture '{}': size {}x{}", path,
        width, height);
  check(image.channels == 1 || image.channels == 3, "cannot write picture '{}': {} channels (1 or 3 supported)", path,
        image.channels);
  const int64_t count = height * width;
  check(static_cast<int64_t>(image.data.size()) == count * image.channels,
        "cannot write picture '{}': {} values do not match {}x{} with {} channels", path, image.data.size(), width,
        height, image.channels);
  check(jpeg_quality >= 1 && jpeg_quality <= 100, "cannot write '{}': JPEG quality {} is outside 1..100", path,
        jpeg_quality);

  const bool sixteen = is_png && image.disk_dtype == DType::uint16;
  const double top = sixteen ? 65535.0 : 255.0;
  std::vector<uint16_t> samples(static_cast<size_t>(count * image.channels));
  for (int64_t c = 0; c < image.channels; ++c)
    for (int64_t p = 0; p < count; ++p) {
      const float v = image.data[c * count + p];
      check(!std::isnan(v), "cannot write picture '{}': value at pixel {} of channel {} is NaN", path, p, c);
      samples[p * image.channels + c] = static_cast<uint16_t>(std::clamp(std::round(double{v}), 0.0, top));
    }

  std::string encoded;
  const int w = static_cast<int>(width), h = static_cast<int>(height), n = static_cast<int>(image.channels);
  if (sixteen) {
    encoded = detail::encode_png16(samples, w, h, n);
  } else {
    std::vector<unsigned char> bytes(samples.begin(), samples.end());
    const int ok = is_png ? stbi_write_png_to_func(append_to_string, &encoded, w, h, n, bytes.data(), w * n)
                          : stbi_write_jpg_to_func(append_to_string, &encoded, w, h, n, bytes.data(), jpeg_quality);
    check(ok != 0 && !encoded.empty(), "cannot encode picture '{}'", path);
  }
  write_file_atomic(path, encoded);
}

bool is_image2d_path(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

ImageData read_any_image(const std::string& path) {
  if (is_nifti_path(path)) return read_nifti(path);
  if (is_image2d_path(path)) return read_image2d(path);
  fail("cannot read '{}': unknown image type (expected .nii, .nii.gz, .png, .jpg, .jpeg or .bmp)", path);
}

}  // namespace medssl::io
