#include "medssl/io/nifti_header.h"

#include <nifti2_io.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "medssl/core/error.h"

namespace medssl::io::detail {
namespace {

// Field offsets of the two header layouts, checked against nifticlib's own structs so a typo cannot slip through.
namespace v1 {
constexpr size_t dim = 40, datatype = 70, bitpix = 72, pixdim = 76, vox_offset = 108, scl_slope = 112,
                 scl_inter = 116, xyzt_units = 123, qform_code = 252, sform_code = 254, quatern_b = 256,
                 qoffset_x = 268, srow_x = 280, magic = 344;
static_assert(offsetof(nifti_1_header, dim) == dim && offsetof(nifti_1_header, datatype) == datatype &&
              offsetof(nifti_1_header, bitpix) == bitpix && offsetof(nifti_1_header, pixdim) == pixdim &&
              offsetof(nifti_1_header, vox_offset) == vox_offset && offsetof(nifti_1_header, scl_slope) == scl_slope &&
              offsetof(nifti_1_header, scl_inter) == scl_inter && offsetof(nifti_1_header, xyzt_units) == xyzt_units &&
              offsetof(nifti_1_header, qform_code) == qform_code && offsetof(nifti_1_header, sform_code) == sform_code &&
              offsetof(nifti_1_header, quatern_b) == quatern_b && offsetof(nifti_1_header, qoffset_x) == qoffset_x &&
              offsetof(nifti_1_header, srow_x) == srow_x && offsetof(nifti_1_header, magic) == magic &&
              sizeof(nifti_1_header) == kNifti1HeaderSize);
}  // namespace v1
namespace v2 {
constexpr size_t magic = 4, datatype = 12, bitpix = 14, dim = 16, pixdim = 104, vox_offset = 168, scl_slope = 176,
                 scl_inter = 184, qform_code = 344, sform_code = 348, quatern_b = 352, qoffset_x = 376, srow_x = 400,
                 xyzt_units = 500;
static_assert(offsetof(nifti_2_header, dim) == dim && offsetof(nifti_2_header, datatype) == datatype &&
              offsetof(nifti_2_header, bitpix) == bitpix && offsetof(nifti_2_header, pixdim) == pixdim &&
              offsetof(nifti_2_header, vox_offset) == vox_offset && offsetof(nifti_2_header, scl_slope) == scl_slope &&
              offsetof(nifti_2_header, scl_inter) == scl_inter && offsetof(nifti_2_header, xyzt_units) == xyzt_units &&
              offsetof(nifti_2_header, qform_code) == qform_code && offsetof(nifti_2_header, sform_code) == sform_code &&
              offsetof(nifti_2_header, quatern_b) == quatern_b && offsetof(nifti_2_header, qoffset_x) == qoffset_x &&
              offsetof(nifti_2_header, srow_x) == srow_x && offsetof(nifti_2_header, magic) == magic &&
              sizeof(nifti_2_header) == kNifti2HeaderSize);
}  // namespace v2

/// Reads a field of type T at `offset`, reversing its bytes if the file's byte order differs.
template <typename T>
T get(const unsigned char* bytes, size_t offset, bool swapped) {
  unsigned char buf[sizeof(T)];
  std::memcpy(buf, bytes + offset, sizeof(T));
  if (swapped)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(buf[i], buf[sizeof(T) - 1 - i]);
  T value;
  std::memcpy(&value, buf, sizeof(T));
  return value;
}

template <typename T>
void put(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

struct DTypeCode {
  DType type;
  int code;
};
constexpr DTypeCode kCodes[] = {
    {DType::uint8, NIFTI_TYPE_UINT8},   {DType::int8, NIFTI_TYPE_INT8},       {DType::int16, NIFTI_TYPE_INT16},
    {DType::uint16, NIFTI_TYPE_UINT16}, {DType::int32, NIFTI_TYPE_INT32},     {DType::uint32, NIFTI_TYPE_UINT32},
    {DType::int64, NIFTI_TYPE_INT64},   {DType::float32, NIFTI_TYPE_FLOAT32}, {DType::float64, NIFTI_TYPE_FLOAT64},
};

/// Largest magnitude accepted for an affine entry, in mm (a light-second is 3e11 mm).
constexpr double kMaxAffineEntry = 1e12;

bool finite_all(const double* values, int n) {
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(values[i])) return false;
  return true;
}

Mat44 qform_affine(const RawNiftiHeader& raw) {
  double qfac = raw.pixdim[0] < 0 ? -1.0 : 1.0;  // nifticlib: anything but a negative pixdim[0] means +1
  nifti_dmat44 m = nifti_quatern_to_dmat44(raw.quatern[0], raw.quatern[1], raw.quatern[2], raw.qoffset[0],
                                           raw.qoffset[1], raw.qoffset[2], raw.pixdim[1], raw.pixdim[2],
                                           raw.pixdim[3], qfac);
  Mat44 a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  return a;
}

}  // namespace

int header_size_from_prefix(const unsigned char* first4, bool& swapped, const std::string& path) {
  int32_t native = get<int32_t>(first4, 0, false);
  int32_t reversed = get<int32_t>(first4, 0, true);
  for (int size : {kNifti1HeaderSize, kNifti2HeaderSize}) {
    if (native == size) {
      swapped = false;
      return size;
    }
    if (reversed == size) {
      swapped = true;
      return size;
    }
  }
  fail("'{}' is not a NIfTI file: sizeof_hdr is {} (expected 348 for NIfTI-1 or 540 for NIfTI-2)", path, native);
}

RawNiftiHeader decode_header(const unsigned char* b, int size, bool swapped) {
  RawNiftiHeader h;
  h.swapped = swapped;
  h.version = size == kNifti2HeaderSize ? 2 : 1;
  if (h.version == 1) {
    for (int i = 0; i < 8; ++i) {
      h.dim[i] = get<int16_t>(b, v1::dim + 2 * i, swapped);
      h.pixdim[i] = get<float>(b, v1::pixdim + 4 * i, swapped);
    }
    h.datatype = get<int16_t>(b, v1::datatype, swapped);
    h.bitpix = get<int16_t>(b, v1::bitpix, swapped);
    h.vox_offset = get<float>(b, v1::vox_offset, swapped);
    h.scl_slope = get<float>(b, v1::scl_slope, swapped);
    h.scl_inter = get<float>(b, v1::scl_inter, swapped);
    h.xyzt_units = b[v1::xyzt_units];
    h.qform_code = get<int16_t>(b, v1::qform_code, swapped);
    h.sform_code = get<int16_t>(b, v1::sform_code, swapped);
    for (int i = 0; i < 3; ++i) {
      h.quatern[i] = get<float>(b, v1::quatern_b + 4 * i, swapped);
      h.qoffset[i] = get<float>(b, v1::qoffset_x + 4 * i, swapped);
      for (int c = 0; c < 4; ++c) h.srow[i][c] = get<float>(b, v1::srow_x + 16 * i + 4 * c, swapped);
    }
    h.magic.assign(reinterpret_cast<const char*>(b + v1::magic), strnlen(reinterpret_cast<const char*>(b + v1::magic), 4));
  } else {
    for (int i = 0; i < 8; ++i) {
      h.dim[i] = get<int64_t>(b, v2::dim + 8 * i, swapped);
      h.pixdim[i] = get<double>(b, v2::pixdim + 8 * i, swapped);
    }
    h.datatype = get<int16_t>(b, v2::datatype, swapped);
    h.bitpix = get<int16_t>(b, v2::bitpix, swapped);
    h.vox_offset = static_cast<double>(get<int64_t>(b, v2::vox_offset, swapped));
    h.scl_slope = get<double>(b, v2::scl_slope, swapped);
    h.scl_inter = get<double>(b, v2::scl_inter, swapped);
    h.xyzt_units = get<int32_t>(b, v2::xyzt_units, swapped);
    h.qform_code = get<int32_t>(b, v2::qform_code, swapped);
    h.sform_code = get<int32_t>(b, v2::sform_code, swapped);
    for (int i = 0; i < 3; ++i) {
      h.quatern[i] = get<double>(b, v2::quatern_b + 8 * i, swapped);
      h.qoffset[i] = get<double>(b, v2::qoffset_x + 8 * i, swapped);
      for (int c = 0; c < 4; ++c) h.srow[i][c] = get<double>(b, v2::srow_x + 32 * i + 8 * c, swapped);
    }
    h.magic.assign(reinterpret_cast<const char*>(b + v2::magic), strnlen(reinterpret_cast<const char*>(b + v2::magic), 4));
    // The rest of the NIfTI-2 magic ("\r\n\032\n") exists to catch text-mode transfers that mangled the file.
    static const unsigned char tail[4] = {'\r', '\n', 0x1a, '\n'};
    if (h.magic == "n+2" && std::memcmp(b + v2::magic + 4, tail, 4) != 0) h.magic = "n+2 (damaged by a text-mode copy)";
  }
  return h;
}

std::string encode_header(const RawNiftiHeader& raw) {
  const bool two = raw.version == 2;
  std::string bytes(two ? kNifti2HeaderSize : kNifti1HeaderSize, '\0');
  if (!two) {
    put<int32_t>(bytes, 0, kNifti1HeaderSize);
    bytes[38] = 'r';  // "regular", as every NIfTI-1 writer sets it
    for (int i = 0; i < 8; ++i) {
      put<int16_t>(bytes, v1::dim + 2 * i, static_cast<int16_t>(raw.dim[i]));
      put<float>(bytes, v1::pixdim + 4 * i, static_cast<float>(raw.pixdim[i]));
    }
    put<int16_t>(bytes, v1::datatype, static_cast<int16_t>(raw.datatype));
    put<int16_t>(bytes, v1::bitpix, static_cast<int16_t>(raw.bitpix));
    put<float>(bytes, v1::vox_offset, static_cast<float>(raw.vox_offset));
    put<float>(bytes, v1::scl_slope, static_cast<float>(raw.scl_slope));
    put<float>(bytes, v1::scl_inter, static_cast<float>(raw.scl_inter));
    bytes[v1::xyzt_units] = static_cast<char>(raw.xyzt_units);
    put<int16_t>(bytes, v1::qform_code, static_cast<int16_t>(raw.qform_code));
    put<int16_t>(bytes, v1::sform_code, static_cast<int16_t>(raw.sform_code));
    for (int i = 0; i < 3; ++i) {
      put<float>(bytes, v1::quatern_b + 4 * i, static_cast<float>(raw.quatern[i]));
      put<float>(bytes, v1::qoffset_x + 4 * i, static_cast<float>(raw.qoffset[i]));
      for (int c = 0; c < 4; ++c) put<float>(bytes, v1::srow_x + 16 * i + 4 * c, static_cast<float>(raw.srow[i][c]));
    }
    std::memcpy(bytes.data() + v1::magic, "n+1\0", 4);
  } else {
    put<int32_t>(bytes, 0, kNifti2HeaderSize);
    std::memcpy(bytes.data() + v2::magic, "n+2\0\r\n\032\n", 8);
    for (int i = 0; i < 8; ++i) {
      put<int64_t>(bytes, v2::dim + 8 * i, raw.dim[i]);
      put<double>(bytes, v2::pixdim + 8 * i, raw.pixdim[i]);
    }
    put<int16_t>(bytes, v2::datatype, static_cast<int16_t>(raw.datatype));
    put<int16_t>(bytes, v2::bitpix, static_cast<int16_t>(raw.bitpix));
    put<int64_t>(bytes, v2::vox_offset, static_cast<int64_t>(raw.vox_offset));
    put<double>(bytes, v2::scl_slope, raw.scl_slope);
    put<double>(bytes, v2::scl_inter, raw.scl_inter);
    put<int32_t>(bytes, v2::xyzt_units, raw.xyzt_units);
    put<int32_t>(bytes, v2::qform_code, raw.qform_code);
    put<int32_t>(bytes, v2::sform_code, raw.sform_code);
    for (int i = 0; i < 3; ++i) {
      put<double>(bytes, v2::quatern_b + 8 * i, raw.quatern[i]);
      put<double>(bytes, v2::qoffset_x + 8 * i, raw.qoffset[i]);
      for (int c = 0; c < 4; ++c) put<double>(bytes, v2::srow_x + 32 * i + 8 * c, raw.srow[i][c]);
    }
  }
  return bytes;
}

int dtype_to_code(DType t) {
  for (const auto& c : kCodes)
    if (c.type == t) return c.code;
  fail("internal error: no NIfTI code for data type {}", dtype_name(t));
}

DType code_to_dtype(int code, const std::string& path) {
  for (const auto& c : kCodes)
    if (c.code == code) return c.type;
  const char* name = nifti_datatype_string(code);
  fail("NIfTI file '{}': unsupported datatype {} ({}); medssl reads uint8, int8, int16, uint16, int32, uint32, int64, "
       "float32 and float64",
       path, code, name ? name : "unknown");
}

CheckedHeader check_header(const RawNiftiHeader& raw, const std::string& path) {
  CheckedHeader h;
  h.swapped = raw.swapped;
  h.header_size = raw.version == 2 ? kNifti2HeaderSize : kNifti1HeaderSize;
  const std::string expected_magic = raw.version == 2 ? "n+2" : "n+1";
  if (raw.magic == (raw.version == 2 ? "ni2" : "ni1"))
    fail("NIfTI file '{}' is the header of a .hdr/.img pair; medssl reads only single-file NIfTI (.nii, .nii.gz)",
         path);
  check(raw.magic == expected_magic, "NIfTI file '{}': wrong magic '{}' (expected '{}')", path, raw.magic,
        expected_magic);

  const int64_t ndim = raw.dim[0];
  check(ndim >= 1 && ndim <= 7, "NIfTI file '{}': dim[0] = {} is outside 1..7", path, ndim);
  uint64_t elements = 1;
  for (int i = 1; i <= ndim; ++i) {
    check(raw.dim[i] > 0, "NIfTI file '{}': dim[{}] = {} must be positive", path, i, raw.dim[i]);
    check(!__builtin_mul_overflow(elements, static_cast<uint64_t>(raw.dim[i]), &elements) &&
              elements <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
          "NIfTI file '{}': the image size (product of dims {}) overflows", path, ndim);
    h.info.dims.push_back(raw.dim[i]);
  }
  h.nx = ndim >= 1 ? raw.dim[1] : 1;
  h.ny = ndim >= 2 ? raw.dim[2] : 1;
  h.nz = ndim >= 3 ? raw.dim[3] : 1;
  h.channels = 1;
  for (int i = 4; i <= ndim; ++i) h.channels *= raw.dim[i];  // cannot overflow: bounded by `elements`
  h.elements = elements;

  h.info.dtype = code_to_dtype(raw.datatype, path);
  const int bytes = dtype_bytes(h.info.dtype);
  check(raw.bitpix == 8 * bytes, "NIfTI file '{}': bitpix {} does not match datatype {} ({} bits)", path, raw.bitpix,
        dtype_name(h.info.dtype), 8 * bytes);
  check(!__builtin_mul_overflow(elements, static_cast<uint64_t>(bytes), &h.data_bytes),
        "NIfTI file '{}': the data size overflows", path);

  check(std::isfinite(raw.vox_offset) && raw.vox_offset == std::floor(raw.vox_offset),
        "NIfTI file '{}': vox_offset {} is not a whole number of bytes", path, raw.vox_offset);
  check(raw.vox_offset >= h.header_size && raw.vox_offset < 9.0e18,
        "NIfTI file '{}': vox_offset {} lies inside the {}-byte header or beyond any file size", path,
        raw.vox_offset, h.header_size);
  h.info.vox_offset = static_cast<int64_t>(raw.vox_offset);
  h.info.version = raw.version;

  for (int i = 1; i <= 3; ++i)
    check(std::isfinite(raw.pixdim[i]), "NIfTI file '{}': pixdim[{}] = {} is not finite", path, i, raw.pixdim[i]);
  h.info.pixdim = {raw.pixdim[1], raw.pixdim[2], raw.pixdim[3]};

  // nibabel's rule: a zero or non-finite slope means "no scaling"; a valid slope with a broken intercept is an error.
  h.scaled = raw.scl_slope != 0 && std::isfinite(raw.scl_slope);
  if (h.scaled) {
    check(std::isfinite(raw.scl_inter), "NIfTI file '{}': scl_slope {} is valid but scl_inter {} is not finite", path,
          raw.scl_slope, raw.scl_inter);
    h.info.scl_slope = raw.scl_slope;
    h.info.scl_inter = raw.scl_inter;
    if (h.info.scl_slope == 1 && h.info.scl_inter == 0) h.scaled = false;
  }

  Mat44 affine = identity44();
  if (raw.sform_code > 0) {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) affine[r][c] = raw.srow[r][c];
    check(all_finite(affine), "NIfTI file '{}': the sform (srow_x/y/z) has NaN or infinite entries", path);
    h.info.affine_source = "sform";
  } else if (raw.qform_code > 0) {
    check(finite_all(raw.quatern.data(), 3) && finite_all(raw.qoffset.data(), 3) && std::isfinite(raw.pixdim[0]),
          "NIfTI file '{}': the qform (quatern_b/c/d, qoffset_x/y/z, pixdim[0]) has NaN or infinite entries", path);
    affine = qform_affine(raw);
    check(all_finite(affine), "NIfTI file '{}': the qform gives a non-finite affine", path);
    h.info.affine_source = "qform";
  } else {
    // NIfTI "method 1" (ANALYZE compatibility): voxel sizes on the diagonal, origin at voxel 0. A zero voxel size
    // (common in single-slice files) is taken as 1 mm so that the affine stays invertible.
    for (int i = 0; i < 3; ++i) affine[i][i] = raw.pixdim[i + 1] != 0 ? raw.pixdim[i + 1] : 1.0;
    h.info.affine_source = "pixdim";
  }
  // Finite is not enough: an sform entry of 1e226 (found by fuzz_nifti) is finite but its voxel size overflows to
  // inf, and everything computed from it (spacing, resampling) becomes inf or NaN. A kilometre-sized voxel or a
  // 10^12 mm offset is no scanner's, so such affines are refused as damaged.
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      check(std::fabs(affine[r][c]) <= kMaxAffineEntry,
            "NIfTI file '{}': the {} has an absurd entry {} at row {}, column {} (more than {} mm; damaged header?)",
            path, h.info.affine_source, affine[r][c], r, c, kMaxAffineEntry);
  double volume = 1;
  for (int c = 0; c < 3; ++c) {
    double norm = std::sqrt(affine[0][c] * affine[0][c] + affine[1][c] * affine[1][c] + affine[2][c] * affine[2][c]);
    check(norm > 0, "NIfTI file '{}': the {} maps voxel axis {} to a zero vector (voxel size 0)", path,
          h.info.affine_source, "ijk"[c]);
    volume *= norm;
  }
  // Voxel axes that are (almost) parallel make the orientation meaningless and unstable (found by fuzz_nifti: an
  // sform whose i and j columns both point along x gave another voxel order after a write and re-read). A scanner's
  // affine is a rotation times voxel sizes (|det| = product of the voxel sizes); modest shears stay far above 1e-6.
  const double det = affine[0][0] * (affine[1][1] * affine[2][2] - affine[1][2] * affine[2][1]) -
                     affine[0][1] * (affine[1][0] * affine[2][2] - affine[1][2] * affine[2][0]) +
                     affine[0][2] * (affine[1][0] * affine[2][1] - affine[1][1] * affine[2][0]);
  check(std::fabs(det) >= 1e-6 * volume,
        "NIfTI file '{}': the {} is singular (its voxel axes are parallel or nearly so: |det| {} for voxel sizes "
        "whose product is {}); damaged header?",
        path, h.info.affine_source, std::fabs(det), volume);
  h.info.affine = affine;
  return h;
}

std::array<double, 3> spacing_from_affine(const Mat44& affine) {
  std::array<double, 3> spacing{};
  for (int c = 0; c < 3; ++c)
    spacing[2 - c] =
        std::sqrt(affine[0][c] * affine[0][c] + affine[1][c] * affine[1][c] + affine[2][c] * affine[2][c]);
  return spacing;
}

}  // namespace medssl::io::detail
