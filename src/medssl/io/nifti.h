#pragma once
// NIfTI-1 and NIfTI-2 reading and writing (.nii and .nii.gz). The header is parsed and validated by medssl itself
// (so hostile headers give a clear error, never a crash or a huge allocation); nifticlib supplies the qform
// quaternion <-> matrix conversions; zlib reads and writes gzip.
#include <cstdint>
#include <string>

#include "medssl/io/image_data.h"

namespace medssl::io {

struct NiftiReadOptions {
  /// Permute/flip voxel axes so that i, j, k point to +R, +A, +S (the affine is updated to match).
  bool to_ras = true;
  /// Refuse (before allocating) images whose decoded float32 size exceeds this many bytes; 0 = max_alloc_bytes()
  /// (core/alloc_limit.h: 16 GiB unless the environment variable MEDSSL_MAX_ALLOC says otherwise).
  uint64_t max_bytes = 0;
};

/// Reads a NIfTI file. 3D files give shape (D, H, W) and 1 channel; 4D+ files give channels = dim[4]*...*dim[7]
/// (channel-major, as stored); the affine is the sform if sform_code > 0, else the qform if qform_code > 0, else
/// diag(pixdim) (NIfTI "method 1"; nibabel would centre and mirror it instead); spacing = the affine's column lengths;
/// 2D files (nz == 1) give shape (1, H, W). Throws medssl::Error naming the file and the problem (missing, truncated,
/// wrong magic, bad dims, unsupported datatype, non-finite affine or spacing, too large).
ImageData read_nifti(const std::string& path, const NiftiReadOptions& options = {});

struct NiftiHeaderInfo {
  int version = 1;
  std::vector<int64_t> dims;  ///< dim[1..dim[0]] as stored (i, j, k, t, ...)
  std::array<double, 3> pixdim{1, 1, 1};  ///< pixdim[1..3] (i, j, k)
  DType dtype = DType::float32;
  double scl_slope = 1, scl_inter = 0;
  Mat44 affine = identity44();
  std::string affine_source;
  int64_t vox_offset = 352;
};
/// Reads and validates only the header (cheap; used by dataset validation).
NiftiHeaderInfo read_nifti_header(const std::string& path);

struct NiftiWriteOptions {
  DType dtype = DType::float32;  ///< on-disk type; integer types round to nearest and fail if values do not fit
  int version = 1;               ///< 1 or 2
  /// Undo image.reorientation so the file has the voxel order of the file it was read from.
  bool restore_orientation = true;
  double scl_slope = 1.0, scl_inter = 0.0;  ///< stored value = (value - inter) / slope
};
/// Writes atomically (temporary file, then rename); gzip if the name ends in .gz. sform and qform both hold the affine.
void write_nifti(const std::string& path, const ImageData& image, const NiftiWriteOptions& options = {});

/// True if the path names a NIfTI file by extension (.nii, .nii.gz).
bool is_nifti_path(const std::string& path);

/// Applies a reorientation to data and affine in place (used by read/write; exposed for tests). Only the voxel order
/// changes: every voxel keeps its world position, so a flip along an axis of n voxels moves the origin to the old
/// voxel n-1 of that axis. image.reorientation is composed with `r`, so it always maps the voxel order of the file
/// the image came from to the current one, and write_nifti(restore_orientation) undoes exactly what was done.
void reorient(ImageData& image, const AxisReorientation& r);
/// The reorientation that brings `affine`'s voxel axes closest to RAS+ (like nibabel's io_orientation).
AxisReorientation ras_reorientation(const Mat44& affine);
/// The inverse of a reorientation.
AxisReorientation inverse(const AxisReorientation& r);

}  // namespace medssl::io
