#include "medssl/data/transforms/pad.h"

#include "medssl/core/error.h"
#include "medssl/data/volume/affine_update.h"

namespace medssl {

torch::Tensor pad(const torch::Tensor& data, const std::vector<int64_t>& before, const std::vector<int64_t>& after,
                  double value) {
  const std::vector<int64_t> shape = spatial_shape(data, "pad");
  check(before.size() == shape.size() && after.size() == shape.size(),
        "pad: {} before and {} after amounts for a tensor with {} spatial dims", before.size(), after.size(),
        shape.size());
  // constant_pad_nd lists (before, after) pairs starting from the LAST dimension.
  std::vector<int64_t> amounts;
  for (size_t a = shape.size(); a-- > 0;) {
    check(before[a] >= 0 && after[a] >= 0, "pad: negative padding ({}, {}) on spatial axis {}", before[a], after[a], a);
    amounts.push_back(before[a]);
    amounts.push_back(after[a]);
  }
  return torch::constant_pad_nd(data, amounts, value).contiguous();
}

Volume pad(const Volume& volume, const std::array<int64_t, 3>& before, const std::array<int64_t, 3>& after,
           double value) {
  check(volume.data.defined() && volume.data.dim() == 4, "pad '{}': volume data must be (C, D, H, W)", volume.path);
  Volume out = volume;
  out.data = pad(volume.data, std::vector<int64_t>(before.begin(), before.end()),
                 std::vector<int64_t>(after.begin(), after.end()), value);
  out.affine = affine_shift_origin(volume.affine, {-static_cast<double>(before[0]), -static_cast<double>(before[1]),
                                                   -static_cast<double>(before[2])});
  return out;
}

void pad_to_amounts(const std::vector<int64_t>& shape, const std::vector<int64_t>& target, std::vector<int64_t>& before,
                    std::vector<int64_t>& after) {
  check(target.size() == shape.size(), "pad_to: target size has {} axes but the image has {} spatial dims",
        target.size(), shape.size());
  before.assign(shape.size(), 0);
  after.assign(shape.size(), 0);
  for (size_t a = 0; a < shape.size(); ++a) {
    check(target[a] > 0, "pad_to: target size {} on axis {} must be positive", target[a], a);
    const int64_t missing = std::max<int64_t>(0, target[a] - shape[a]);
    before[a] = missing / 2;
    after[a] = missing - before[a];
  }
}

torch::Tensor pad_to(const torch::Tensor& data, const std::vector<int64_t>& size, double value) {
  std::vector<int64_t> before, after;
  pad_to_amounts(spatial_shape(data, "pad_to"), size, before, after);
  return pad(data, before, after, value);
}

Volume pad_to(const Volume& volume, const std::array<int64_t, 3>& size, double value) {
  std::vector<int64_t> before, after;
  pad_to_amounts(spatial_shape(volume.data, "pad_to"), std::vector<int64_t>(size.begin(), size.end()), before, after);
  return pad(volume, {before[0], before[1], before[2]}, {after[0], after[1], after[2]}, value);
}

Image2D pad_to(const Image2D& image, const std::array<int64_t, 2>& size, double value) {
  check(image.data.defined() && image.data.dim() == 3, "pad_to '{}': image data must be (C, H, W)", image.path);
  Image2D out = image;
  out.data = pad_to(image.data, std::vector<int64_t>(size.begin(), size.end()), value);
  return out;
}

}  // namespace medssl
