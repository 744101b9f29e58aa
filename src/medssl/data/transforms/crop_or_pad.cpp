#include "medssl/data/transforms/crop_or_pad.h"

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/data/transforms/pad.h"

namespace medssl {

torch::Tensor crop_or_pad_to(const torch::Tensor& data, const std::vector<int64_t>& size, double value) {
  return center_crop(pad_to(data, size, value), size);
}

Volume crop_or_pad_to(const Volume& volume, const std::array<int64_t, 3>& size, double value) {
  return center_crop(pad_to(volume, size, value), size);
}

Image2D crop_or_pad_to(const Image2D& image, const std::array<int64_t, 2>& size, double value) {
  return center_crop(pad_to(image, size, value), size);
}

Volume crop_or_pad_to_cube(const Volume& volume, int64_t side, double value) {
  check(side > 0, "crop_or_pad_to_cube '{}': side {} must be positive", volume.path, side);
  return crop_or_pad_to(volume, {side, side, side}, value);
}

Image2D crop_or_pad_to_square(const Image2D& image, int64_t side, double value) {
  check(side > 0, "crop_or_pad_to_square '{}': side {} must be positive", image.path, side);
  return crop_or_pad_to(image, {side, side}, value);
}

}  // namespace medssl
