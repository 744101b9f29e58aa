#pragma once
// ImageData: a decoded image (NIfTI volume or 2D picture) as float32 plus its geometry. Free of LibTorch so that I/O,
// dataset readers and the synthetic-data generators compile fast; medssl::Volume wraps it as a tensor.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/geometry.h"

namespace medssl::io {

/// On-disk element types medssl reads and writes.
enum class DType { uint8, int8, int16, uint16, int32, uint32, int64, float32, float64 };

std::string dtype_name(DType t);          ///< "uint8", "int16", "float32", ...
DType dtype_from_name(const std::string& name);  ///< throws medssl::Error listing valid names
int dtype_bytes(DType t);

struct ImageData {
  /// Spatial sizes in tensor order: (D, H, W) for volumes, (H, W) for 2D pictures. See core/geometry.h.
  std::vector<int64_t> shape;
  int64_t channels = 1;
  /// Scaled values (scl_slope/scl_inter applied), channel-major: index = ((c*D + d)*H + h)*W + w.
  std::vector<float> data;
  /// Voxel size in mm in tensor order (D, H, W); for 2D pictures (1, 1, 1).
  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  /// Voxel (i, j, k, 1) -> world (RAS mm). For 2D pictures: identity.
  Mat44 affine = identity44();
  std::string affine_source = "none";  ///< "sform", "qform", "pixdim" (NIfTI) or "none" (pictures)
  DType disk_dtype = DType::float32;
  int nifti_version = 0;  ///< 1 or 2 for NIfTI, 0 for pictures
  std::string path;       ///< where it was read from (for error messages)
  /// What read_nifti(to_ras=true) did to reach RAS+; write_nifti can undo it.
  AxisReorientation reorientation;

  int spatial_dims() const { return static_cast<int>(shape.size()); }
  int64_t voxels_per_channel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
};

struct ImageStats {
  double min = 0, max = 0, mean = 0;
  int64_t non_finite = 0;  ///< NaN or inf values (reported, never silently used)
};
ImageStats compute_stats(const ImageData& image);

}  // namespace medssl::io
