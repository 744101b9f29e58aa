// 2D pictures: decoding dispatched on the file's signature (PNG and JPEG: picture_decode.h; BMP: stb_image), writing
// through stb_image_write and png16. The one translation unit that holds the stb implementations.
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
#ifdef __clang__
// stb_image_write's JPEG bit writer shifts negative ints left (`bitBuf <<= 8`): undefined before C++20, two's
// complement on every compiler we support. Exempt only stb's functions from that one sanitizer check, so that the
// sanitizer and fuzz builds (docs/reliability.md) report real problems.
#pragma clang attribute push(__attribute__((no_sanitize("shift-base"))), apply_to = function)
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP  // the other formats stb can decode would be reachable from any file's content otherwise
#define STBI_NO_STDIO  // medssl reads the bytes itself (one open, clear errors); stb decodes from memory
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC diagnostic pop

#include "medssl/core/alloc_limit.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/io/nifti.h"
#include "medssl/io/picture_decode.h"
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

/// BMP through stb_image (8-bit samples).
detail::DecodedPicture decode_bmp(const std::string& bytes, const std::string& path) {
  check(bytes.size() <= static_cast<size_t>(INT_MAX), "cannot read picture '{}': {} bytes is too large", path,
        bytes.size());
  const auto* buffer = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, file_channels = 0;
  if (!stbi_info_from_memory(buffer, length, &width, &height, &file_channels))
    fail("cannot decode picture '{}': {}", path, stbi_failure_reason());
  detail::check_picture_size(width, height, file_channels, 1, path);
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(buffer, length, &w, &h, &n, 0));
  if (!pixels) fail("cannot decode picture '{}': {}", path, stbi_failure_reason());
  check(w == width && h == height && n == file_channels,
        "picture '{}': decoded size {}x{} differs from its header {}x{}", path, w, h, width, height);
  detail::DecodedPicture out;
  out.width = w;
  out.height = h;
  out.channels = n;
  out.samples.assign(pixels.get(), pixels.get() + static_cast<size_t>(w) * h * n);
  return out;
}

/// Interleaved samples -> channel-major floats, keeping grey or RGB and dropping alpha.
void deinterleave(const detail::DecodedPicture& picture, ImageData& image) {
  const int64_t count = picture.width * picture.height;
  const int file_channels = picture.channels;
  image.channels = file_channels >= 3 ? 3 : 1;
  image.data.resize(static_cast<size_t>(count * image.channels));
  for (int64_t c = 0; c < image.channels; ++c)
    for (int64_t p = 0; p < count; ++p)
      image.data[c * count + p] = static_cast<float>(picture.samples[p * file_channels + c]);
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

namespace detail {
void check_picture_size(int64_t width, int64_t height, int channels, int sample_bytes, const std::string& path) {
  check(width > 0 && height > 0 && width <= kMaxPixels && height <= kMaxPixels && width * height <= kMaxPixels,
        "picture '{}' is {}x{} pixels, above the limit of {} pixels", path, width, height, kMaxPixels);
  check(channels >= 1 && channels <= 4, "picture '{}' has {} channels (1 to 4 supported)", path, channels);
  // What decoding allocates: the samples as stored (and as uint16) plus the float32 copy without alpha.
  const uint64_t pixels = static_cast<uint64_t>(width) * static_cast<uint64_t>(height);
  const uint64_t kept = channels >= 3 ? 3 : 1;
  check_alloc(pixels * (static_cast<uint64_t>(channels) * (static_cast<uint64_t>(sample_bytes) + 2) +
                        kept * sizeof(float)),
              max_alloc_bytes(), path, fmt::format("decoding the {}x{} picture", width, height));
}
}  // namespace detail

ImageData read_image2d(const std::string& path) {
  const std::string bytes = read_file(path);
  auto starts_with = [&](std::string_view magic) { return std::string_view(bytes).substr(0, magic.size()) == magic; };
  detail::DecodedPicture picture;
  if (starts_with("\x89PNG\r\n\x1a\n")) picture = detail::decode_png(bytes, path);
  else if (starts_with("\xff\xd8\xff")) picture = detail::decode_jpeg(bytes, path);
  else if (starts_with("BM")) picture = decode_bmp(bytes, path);
  else fail("cannot decode picture '{}': it is not a PNG, JPEG or BMP file (unknown signature)", path);

  ImageData image;
  image.shape = {picture.height, picture.width};
  image.path = path;
  image.nifti_version = 0;
  image.affine_source = "none";
  image.disk_dtype = picture.sixteen_bit ? DType::uint16 : DType::uint8;
  deinterleave(picture, image);
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
