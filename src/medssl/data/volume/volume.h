#pragma once
// Volume and Image2D: a decoded image as a LibTorch tensor plus the geometry needed to write predictions back with the
// right position in the world. Every transform in data/transforms/ takes one of these and returns a new one (pure
// functions); geometric transforms keep `affine` exact, so that voxel (i, j, k) of the result still maps to the world
// point it shows.
//
// Axis convention (core/geometry.h): data is (C, D, H, W) with D = k, H = j, W = i of NIfTI; spacing is (D, H, W).
#include <array>
#include <string>

#include "medssl/core/geometry.h"
#include "medssl/core/torch_pch.h"
#include "medssl/io/image_data.h"

namespace medssl {

struct Volume {
  torch::Tensor data;  ///< (C, D, H, W) float32, CPU
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  ///< mm, (D, H, W)
  Mat44 affine = identity44();                   ///< voxel (i, j, k, 1) -> world (RAS mm)
  AxisReorientation reorientation;               ///< what loading did to reach RAS+ (undone when saving)
  std::string path;                              ///< source file, for messages
  io::DType disk_dtype = io::DType::float32;     ///< on-disk type of the source file

  int64_t channels() const { return data.size(0); }
  /// Spatial size (D, H, W).
  std::array<int64_t, 3> shape() const { return {data.size(1), data.size(2), data.size(3)}; }
};

struct Image2D {
  torch::Tensor data;  ///< (C, H, W) float32, CPU
  std::array<double, 2> spacing{1.0, 1.0};  ///< (H, W); (1, 1) for pictures
  std::string path;
  io::DType disk_dtype = io::DType::uint8;  ///< on-disk type (uint8, or uint16 for 16-bit PNG)

  int64_t channels() const { return data.size(0); }
  std::array<int64_t, 2> shape() const { return {data.size(1), data.size(2)}; }
};

/// Wraps decoded 3D image data without copying: the float vector is moved into the tensor's storage (the tensor's
/// deleter owns it), so `image.data` is empty afterwards. Throws medssl::Error unless the image has 3 spatial dims.
Volume to_volume(io::ImageData&& image);
/// Copies a volume back into ImageData (data made float32 and contiguous; dims and spacing checked).
io::ImageData to_image_data(const Volume& volume);

/// Wraps decoded 2D image data without copying. Accepts shape (H, W), or (1, H, W) (a NIfTI file with one slice).
Image2D to_image2d(io::ImageData&& image);
io::ImageData to_image_data(const Image2D& image);

/// Reads a NIfTI volume (3D, or 4D as channels). `to_ras` reorients voxel axes to RAS+ (recorded in reorientation).
Volume load_volume(const std::string& path, bool to_ras = true);
/// Writes a volume as NIfTI with on-disk type `dtype` (integer types round; values that do not fit are an error).
/// `restore_orientation` undoes the reorientation made when loading, so the file matches its source's voxel order.
void save_volume(const std::string& path, const Volume& volume, io::DType dtype = io::DType::float32,
                 bool restore_orientation = true);

/// Reads a picture (PNG/JPEG/BMP) or a single-slice NIfTI as (C, H, W).
Image2D load_image2d(const std::string& path);
/// Writes a picture (.png/.jpg); values are rounded and clamped to the range of `image.disk_dtype`.
void save_image2d(const std::string& path, const Image2D& image);

/// Spatial sizes of a (C, *spatial) tensor with 2 or 3 spatial dims; throws medssl::Error naming `what` otherwise.
std::vector<int64_t> spatial_shape(const torch::Tensor& t, const char* what);

}  // namespace medssl
