#include "medssl/data/transforms/crop.h"

#include "medssl/core/error.h"
#include "medssl/data/volume/affine_update.h"

namespace medssl {
namespace {

void check_size_fits(const std::vector<int64_t>& shape, const std::vector<int64_t>& size, const char* what) {
  check(size.size() == shape.size(), "{}: crop size has {} axes but the image has {} spatial dims", what, size.size(),
        shape.size());
  for (size_t a = 0; a < shape.size(); ++a) {
    check(size[a] > 0, "{}: crop size {} on axis {} must be positive", what, size[a], a);
    check(size[a] <= shape[a], "{}: crop size {} on axis {} exceeds the image size {} (pad first, or use crop_or_pad_to)",
          what, size[a], a, shape[a]);
  }
}

template <size_t N>
std::vector<int64_t> vec(const std::array<int64_t, N>& a) {
  return std::vector<int64_t>(a.begin(), a.end());
}

}  // namespace

torch::Tensor crop(const torch::Tensor& data, const SpatialBox& box) {
  const std::vector<int64_t> shape = spatial_shape(data, "crop");
  check(box.start.size() == shape.size() && box.size.size() == shape.size(),
        "crop: box has {} start and {} size values but the tensor has {} spatial dims", box.start.size(),
        box.size.size(), shape.size());
  torch::Tensor out = data;
  for (size_t a = 0; a < shape.size(); ++a) {
    check(box.size[a] > 0 && box.start[a] >= 0 && box.start[a] + box.size[a] <= shape[a],
          "crop: box [{}, {}) on spatial axis {} does not fit inside size {}", box.start[a], box.start[a] + box.size[a],
          a, shape[a]);
    out = out.narrow(static_cast<int64_t>(a) + 1, box.start[a], box.size[a]);
  }
  return out.clone(at::MemoryFormat::Contiguous);
}

Volume crop_with_box(const Volume& volume, const SpatialBox& box) {
  check(volume.data.defined() && volume.data.dim() == 4, "crop '{}': volume data must be (C, D, H, W)", volume.path);
  Volume out = volume;
  out.data = crop(volume.data, box);
  out.affine = affine_shift_origin(volume.affine, {static_cast<double>(box.start[0]), static_cast<double>(box.start[1]),
                                                   static_cast<double>(box.start[2])});
  return out;
}

Image2D crop_with_box(const Image2D& image, const SpatialBox& box) {
  check(image.data.defined() && image.data.dim() == 3, "crop '{}': image data must be (C, H, W)", image.path);
  Image2D out = image;
  out.data = crop(image.data, box);
  return out;
}

Volume crop(const Volume& volume, const std::array<int64_t, 3>& start, const std::array<int64_t, 3>& size) {
  return crop_with_box(volume, SpatialBox{vec(start), vec(size)});
}

Image2D crop(const Image2D& image, const std::array<int64_t, 2>& start, const std::array<int64_t, 2>& size) {
  return crop_with_box(image, SpatialBox{vec(start), vec(size)});
}

SpatialBox center_crop_box(const std::vector<int64_t>& shape, const std::vector<int64_t>& size) {
  check_size_fits(shape, size, "center_crop");
  SpatialBox box{{}, size};
  for (size_t a = 0; a < shape.size(); ++a) box.start.push_back((shape[a] - size[a]) / 2);
  return box;
}

SpatialBox random_crop_box(const std::vector<int64_t>& shape, const std::vector<int64_t>& size, Rng& rng) {
  check_size_fits(shape, size, "random_crop");
  SpatialBox box{{}, size};
  for (size_t a = 0; a < shape.size(); ++a) box.start.push_back(rng.uniform_int(0, shape[a] - size[a]));
  return box;
}

torch::Tensor center_crop(const torch::Tensor& data, const std::vector<int64_t>& size) {
  return crop(data, center_crop_box(spatial_shape(data, "center_crop"), size));
}

Volume center_crop(const Volume& volume, const std::array<int64_t, 3>& size) {
  return crop_with_box(volume, center_crop_box(spatial_shape(volume.data, "center_crop"), vec(size)));
}

Image2D center_crop(const Image2D& image, const std::array<int64_t, 2>& size) {
  return crop_with_box(image, center_crop_box(spatial_shape(image.data, "center_crop"), vec(size)));
}

torch::Tensor random_crop(const torch::Tensor& data, const std::vector<int64_t>& size, Rng& rng) {
  return crop(data, random_crop_box(spatial_shape(data, "random_crop"), size, rng));
}

Volume random_crop(const Volume& volume, const std::array<int64_t, 3>& size, Rng& rng) {
  return crop_with_box(volume, random_crop_box(spatial_shape(volume.data, "random_crop"), vec(size), rng));
}

Image2D random_crop(const Image2D& image, const std::array<int64_t, 2>& size, Rng& rng) {
  return crop_with_box(image, random_crop_box(spatial_shape(image.data, "random_crop"), vec(size), rng));
}

}  // namespace medssl
