#pragma once
// Internal to medssl_io: the NIfTI-1/-2 header as raw fields, decoded from bytes (either byte order) and encoded back,
// and its validation into the geometry medssl uses. Kept apart from the data path so both reader and writer share it.
#include <array>
#include <cstdint>
#include <string>

#include "medssl/io/nifti.h"

namespace medssl::io::detail {

constexpr int kNifti1HeaderSize = 348;
constexpr int kNifti2HeaderSize = 540;

/// The header fields medssl uses, widened to the NIfTI-2 types.
struct RawNiftiHeader {
  int version = 1;
  bool swapped = false;  ///< the file's byte order differs from this machine's
  std::array<int64_t, 8> dim{};
  std::array<double, 8> pixdim{};
  int datatype = 0;
  int bitpix = 0;
  double vox_offset = 0;  ///< a float in NIfTI-1, so kept as double until validated
  double scl_slope = 0, scl_inter = 0;
  int qform_code = 0, sform_code = 0;
  std::array<double, 3> quatern{};  ///< b, c, d
  std::array<double, 3> qoffset{};  ///< x, y, z
  std::array<std::array<double, 4>, 3> srow{};
  int xyzt_units = 0;
  std::string magic;  ///< "n+1", "ni1", "n+2", ... (up to the first NUL)
};

/// From the first four bytes (sizeof_hdr): the header size (348 or 540) and whether the file is byte-swapped.
/// Throws medssl::Error naming `path` if neither byte order gives a NIfTI header size.
int header_size_from_prefix(const unsigned char* first4, bool& swapped, const std::string& path);

/// Decodes `size` header bytes (size from header_size_from_prefix).
RawNiftiHeader decode_header(const unsigned char* bytes, int size, bool swapped);

/// Encodes a header in this machine's byte order (348 or 540 bytes, by raw.version), magic included.
std::string encode_header(const RawNiftiHeader& raw);

/// NIfTI datatype code <-> DType; code_to_dtype throws naming `path` for unsupported codes.
int dtype_to_code(DType t);
DType code_to_dtype(int code, const std::string& path);

/// A validated header: geometry and sizes checked (magic, dims, overflow, datatype/bitpix, scaling, finite affine).
struct CheckedHeader {
  NiftiHeaderInfo info;
  bool swapped = false;
  int header_size = kNifti1HeaderSize;
  int64_t nx = 1, ny = 1, nz = 1, channels = 1;
  uint64_t elements = 0;   ///< nx*ny*nz*channels
  uint64_t data_bytes = 0; ///< elements * bytes per element, as stored
  bool scaled = false;     ///< scl_slope/scl_inter apply (nibabel's rule: slope finite and non-zero)
};
CheckedHeader check_header(const RawNiftiHeader& raw, const std::string& path);

/// Voxel sizes in tensor order (D, H, W) = lengths of the affine's k, j, i columns.
std::array<double, 3> spacing_from_affine(const Mat44& affine);

}  // namespace medssl::io::detail
