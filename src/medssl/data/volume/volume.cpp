#include "medssl/data/volume/volume.h"

#include <fmt/format.h>

#include <memory>
#include <utility>

#include "medssl/core/error.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"

namespace medssl {
namespace {

// Moves the vector into heap storage owned by the tensor: no copy of the voxels. The tensor's storage cannot be
// resized, which no medssl code does (every transform returns a new tensor).
torch::Tensor adopt_vector(std::vector<float>&& values, std::vector<int64_t> sizes) {
  auto owner = std::make_unique<std::vector<float>>(std::move(values));
  float* raw = owner->data();
  torch::Tensor t = torch::from_blob(
      raw, sizes, [keep = owner.get()](void*) { delete keep; }, torch::TensorOptions().dtype(torch::kFloat32));
  owner.release();  // the deleter now owns it
  return t;
}

void check_voxel_count(const io::ImageData& image, const std::vector<int64_t>& sizes) {
  int64_t expected = 1;
  for (auto s : sizes) expected *= s;
  check(static_cast<int64_t>(image.data.size()) == expected,
        "image '{}': holds {} values but channels x shape = {} (inconsistent ImageData)", image.path,
        image.data.size(), expected);
}

// Values as a contiguous float32 vector, for handing a tensor back to the I/O layer.
std::vector<float> to_float_vector(const torch::Tensor& data) {
  torch::Tensor t = data.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}

}  // namespace

std::vector<int64_t> spatial_shape(const torch::Tensor& t, const char* what) {
  check(t.defined(), "{}: tensor is undefined", what);
  check(t.dim() == 3 || t.dim() == 4, "{}: expected a (C, H, W) or (C, D, H, W) tensor, got {} dims", what, t.dim());
  return std::vector<int64_t>(t.sizes().begin() + 1, t.sizes().end());
}

Volume to_volume(io::ImageData&& image) {
  check(image.spatial_dims() == 3, "image '{}': expected a 3D volume, got {} spatial dims", image.path,
        image.spatial_dims());
  std::vector<int64_t> sizes{image.channels, image.shape[0], image.shape[1], image.shape[2]};
  check_voxel_count(image, sizes);
  Volume v;
  v.data = adopt_vector(std::move(image.data), sizes);
  image.data.clear();
  v.spacing = image.spacing;
  v.affine = image.affine;
  v.reorientation = image.reorientation;
  v.path = image.path;
  v.disk_dtype = image.disk_dtype;
  return v;
}

io::ImageData to_image_data(const Volume& volume) {
  check(volume.data.defined() && volume.data.dim() == 4, "volume '{}': data must be a (C, D, H, W) tensor",
        volume.path);
  io::ImageData out;
  out.shape = {volume.data.size(1), volume.data.size(2), volume.data.size(3)};
  out.channels = volume.data.size(0);
  out.data = to_float_vector(volume.data);
  out.spacing = volume.spacing;
  out.affine = volume.affine;
  out.affine_source = "sform";
  out.disk_dtype = volume.disk_dtype;
  out.path = volume.path;
  out.reorientation = volume.reorientation;
  return out;
}

Image2D to_image2d(io::ImageData&& image) {
  std::vector<int64_t> hw;
  std::array<double, 2> spacing{1.0, 1.0};
  if (image.spatial_dims() == 2) {
    hw = {image.shape[0], image.shape[1]};
    spacing = {image.spacing[1], image.spacing[2]};
  } else if (image.spatial_dims() == 3 && image.shape[0] == 1) {
    hw = {image.shape[1], image.shape[2]};
    spacing = {image.spacing[1], image.spacing[2]};
  } else {
    fail("image '{}': expected a 2D image (H, W) or a single-slice volume, got {} spatial dims{}", image.path,
         image.spatial_dims(), image.spatial_dims() == 3 ? fmt::format(" with depth {}", image.shape[0]) : "");
  }
  std::vector<int64_t> sizes{image.channels, hw[0], hw[1]};
  check_voxel_count(image, sizes);
  Image2D out;
  out.data = adopt_vector(std::move(image.data), sizes);
  image.data.clear();
  out.spacing = spacing;
  out.path = image.path;
  out.disk_dtype = image.disk_dtype;
  return out;
}

io::ImageData to_image_data(const Image2D& image) {
  check(image.data.defined() && image.data.dim() == 3, "image '{}': data must be a (C, H, W) tensor", image.path);
  io::ImageData out;
  out.shape = {image.data.size(1), image.data.size(2)};
  out.channels = image.data.size(0);
  out.data = to_float_vector(image.data);
  out.spacing = {1.0, image.spacing[0], image.spacing[1]};
  out.disk_dtype = image.disk_dtype;
  out.path = image.path;
  return out;
}

Volume load_volume(const std::string& path, bool to_ras) {
  io::NiftiReadOptions options;
  options.to_ras = to_ras;
  return to_volume(io::read_nifti(path, options));
}

void save_volume(const std::string& path, const Volume& volume, io::DType dtype, bool restore_orientation) {
  io::NiftiWriteOptions options;
  options.dtype = dtype;
  options.restore_orientation = restore_orientation;
  io::ImageData image = to_image_data(volume);
  image.path = path;
  io::write_nifti(path, image, options);
}

Image2D load_image2d(const std::string& path) { return to_image2d(io::read_any_image(path)); }

void save_image2d(const std::string& path, const Image2D& image) {
  io::ImageData data = to_image_data(image);
  data.path = path;
  io::write_image2d(path, data);
}

}  // namespace medssl
