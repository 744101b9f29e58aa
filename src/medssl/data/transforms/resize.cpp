#include "medssl/data/transforms/resize.h"

#include "medssl/core/error.h"
#include "medssl/data/volume/affine_update.h"

namespace medssl {
namespace {

std::vector<double> ratios(const std::vector<int64_t>& in_size, const std::vector<int64_t>& out_size) {
  std::vector<double> r;
  for (size_t a = 0; a < in_size.size(); ++a) r.push_back(static_cast<double>(in_size[a]) / out_size[a]);
  return r;
}

}  // namespace

torch::Tensor resize_to(const torch::Tensor& data, const std::vector<int64_t>& size, Interp interp) {
  const std::vector<int64_t> in_size = spatial_shape(data, "resize_to");
  check(size.size() == in_size.size(), "resize_to: target size has {} axes but the tensor has {} spatial dims",
        size.size(), in_size.size());
  for (size_t a = 0; a < size.size(); ++a)
    check(size[a] > 0, "resize_to: target size {} on axis {} must be positive", size[a], a);
  return interpolate_spatial(data, size, ratios(in_size, size), interp);
}

torch::Tensor resize_label(const torch::Tensor& label, const std::vector<int64_t>& size) {
  return resize_to(label, size, Interp::nearest);
}

Volume resize_to(const Volume& volume, const std::array<int64_t, 3>& size, Interp interp) {
  check(volume.data.defined() && volume.data.dim() == 4, "resize_to '{}': volume data must be (C, D, H, W)",
        volume.path);
  const std::vector<int64_t> in_size = spatial_shape(volume.data, "resize_to");
  const std::vector<int64_t> out_size(size.begin(), size.end());
  Volume out = volume;
  out.data = resize_to(volume.data, out_size, interp);
  const std::vector<double> r = ratios(in_size, out_size);
  for (int a = 0; a < 3; ++a) out.spacing[a] = volume.spacing[a] * r[a];
  out.affine = affine_rescale(volume.affine, {r[0], r[1], r[2]});
  return out;
}

Volume resize_label(const Volume& label, const std::array<int64_t, 3>& size) {
  return resize_to(label, size, Interp::nearest);
}

Image2D resize_to(const Image2D& image, const std::array<int64_t, 2>& size, Interp interp) {
  check(image.data.defined() && image.data.dim() == 3, "resize_to '{}': image data must be (C, H, W)", image.path);
  const std::vector<int64_t> in_size = spatial_shape(image.data, "resize_to");
  const std::vector<int64_t> out_size(size.begin(), size.end());
  Image2D out = image;
  out.data = resize_to(image.data, out_size, interp);
  const std::vector<double> r = ratios(in_size, out_size);
  for (int a = 0; a < 2; ++a) out.spacing[a] = image.spacing[a] * r[a];
  return out;
}

Image2D resize_label(const Image2D& label, const std::array<int64_t, 2>& size) {
  return resize_to(label, size, Interp::nearest);
}

}  // namespace medssl
