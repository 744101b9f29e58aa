// libFuzzer target: the picture reader (PNG, 8- and 16-bit, JPEG, BMP through stb_image). The input is the file.
// An accepted picture must be self-consistent, and PNG must round-trip exactly through medssl's writer.
#include <cmath>

#include "fuzz_support.h"
#include "medssl/io/image2d.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  const std::string path = fuzz::scratch_file("input.png");  // stb detects the format from the bytes, not the name
  fuzz::write_bytes(path, std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::run_one([&] {
    const io::ImageData image = io::read_image2d(path);
    fuzz::require(image.shape.size() == 2 && image.shape[0] > 0 && image.shape[1] > 0, "positive (H, W) shape");
    fuzz::require(image.channels == 1 || image.channels == 3, "1 or 3 channels");
    fuzz::require(image.data.size() == static_cast<size_t>(image.shape[0] * image.shape[1] * image.channels),
                  "data size = H * W * channels");
    const float top = image.disk_dtype == io::DType::uint16 ? 65535.f : 255.f;
    for (float v : image.data) fuzz::require(v >= 0 && v <= top && v == std::floor(v), "integer samples in range");
    if (image.data.size() > 4096) return;
    const std::string copy = fuzz::scratch_file("copy.png");
    io::write_image2d(copy, image);
    const io::ImageData back = io::read_image2d(copy);
    fuzz::require(back.shape == image.shape && back.channels == image.channels && back.data == image.data,
                  "PNG round trip keeps every sample");
  });
  return 0;
}
